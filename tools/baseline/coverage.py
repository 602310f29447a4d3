"""The baseline emitter on a real program's called functions: emit cost and refusals.

    PYTHONPATH=. python tools/baseline/coverage.py TRACE.json PROGRAM.wasm [--repeat N]

``TRACE.json`` is ``tools/bench/tier_up_trace.py LABEL --count --json TRACE.json``: its
``cold.funcs`` are the functions that ran in a cold ``tier="auto"`` run, its ``counts`` the
events (calls + loop iterations) of the busiest. Compiles them all with
:func:`wasm2py.baseline.emit.compile_functions` (best CPU time of ``--repeat`` runs; body
decoding included, and also given alone), then prints the share of functions and bytes it
refused (also weighted by events) and why.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wasm2py.baseline.emit import compile_functions  # noqa: E402
from wasm2py.binary.decoder import decode_module  # noqa: E402
from wasm2py.llvm.abi import Layout  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("wasm")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    d = json.loads(Path(args.trace).read_text())
    called = sorted(int(k) for k in d["cold"]["funcs"])
    events = {int(k): v for k, v in d["counts"].items()}
    raw = Path(args.wasm).read_bytes()
    m = decode_module(raw)
    nimp = m.num_imported_funcs
    layout = Layout(m)
    size = {i: m.codes[i - nimp].end - m.codes[i - nimp].start for i in called}
    nbytes = sum(size.values())
    best_emit = best_dec = float("inf")
    for _ in range(args.repeat):
        t0 = time.process_time()
        for i in called:
            m.codes[i - nimp].body  # noqa: B018 - decoded afresh on each read
        best_dec = min(best_dec, time.process_time() - t0)
        t0 = time.process_time()
        blob = compile_functions(m, called, layout)
        best_emit = min(best_emit, time.process_time() - t0)
    ok = set(blob.funcs)
    okb = sum(size[i] for i in ok)
    print(f"{len(called)} called functions, {nbytes} bytes of wasm")
    print(f"emit (decode included), best of {args.repeat}: {best_emit * 1e3:.0f} CPU ms = "
          f"{best_emit / nbytes * 1024e3:.2f} ms/KB of called code; decode alone "
          f"{best_dec * 1e3:.0f} ms = {best_dec / nbytes * 1024e3:.2f} ms/KB")
    print(f"machine code: {len(blob.code)} bytes ({len(blob.code) / max(okb, 1):.1f} per wasm byte "
          f"compiled)")
    w_all = sum(max(events.get(i, 0), 1) for i in called)
    w_ok = sum(max(events.get(i, 0), 1) for i in ok)
    print(f"compiled: {len(ok)} functions ({100 * len(ok) / len(called):.1f}%), {okb} bytes "
          f"({100 * okb / nbytes:.1f}%), {100 * w_ok / w_all:.1f}% of the events")
    reasons: Counter = Counter()
    rbytes: Counter = Counter()
    for i, why in blob.refused.items():
        k = re.sub(r" at 0x[0-9a-f]+$", "", why)
        reasons[k] += 1
        rbytes[k] += size[i]
    print(f"refused: {len(blob.refused)} functions, {nbytes - okb} bytes; first reason met:")
    for k, n in reasons.most_common():
        print(f"  {n:5} functions {rbytes[k]:8} bytes  {k}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
