"""Spike: how much of a real program's called code the baseline subset covers, and what the
emitter costs on it.

    PYTHONPATH=. python tools/spike/baseline/coverage.py TRACE.json PROGRAM.wasm [--emit]

``TRACE.json`` is ``tools/bench/tier_up_trace.py LABEL --count --json TRACE.json``: its
``cold.funcs`` are the functions that ran in a cold ``tier="auto"`` run, its ``counts`` the
events (calls + loop iterations, in steps of 50) of those with >= 50 in a counting run.
Prints: instructions of the called functions by category (static), the share the subset
covers, weighted by events too, how many functions are entirely inside the subset, and with
``--emit``, the emitter's CPU per instruction and per KB on those functions (decode apart).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from compiler import SUPPORTED, Compiler, Unsupported  # noqa: E402

from wasm2py.binary.decoder import decode_module  # noqa: E402
from wasm2py.binary.opcodes import Op  # noqa: E402

FLOAT = {o for o in Op if o.name.startswith(("F32", "F64")) or "_F32" in o.name or "_F64" in o.name}


def category(op: int, imm, nimp: int) -> str:
    if op == Op.CALL and imm < nimp:
        return "call (import)"
    if op in SUPPORTED:
        return "subset"
    if op in FLOAT:
        return "float"
    name = Op(op).name
    if name in ("CALL_INDIRECT", "BR_TABLE", "MEMORY_GROW", "SELECT_T"):
        return name.lower()
    if name.startswith(("MEMORY_", "DATA_")):
        return "bulk memory"
    return name.lower()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("wasm")
    ap.add_argument("--emit", action="store_true")
    ap.add_argument("--no-pins", action="store_true")
    ap.add_argument("--all", action="store_true",
                    help="--emit over every called function, placeholder code for the rest")
    args = ap.parse_args()
    Compiler.pin_locals = not args.no_pins
    d = json.loads(Path(args.trace).read_text())
    called = sorted(int(k) for k in d["cold"]["funcs"])
    events = {int(k): v for k, v in d["counts"].items()}
    m = decode_module(Path(args.wasm).read_bytes())
    nimp = m.num_imported_funcs
    ftypes = m.func_types()
    t0 = time.process_time()
    bodies = {fi: m.codes[fi - nimp].body for fi in called}
    t_dec = time.process_time() - t0
    static = Counter()
    weighted = Counter()
    full = []
    missing_funcs = Counter()  # category -> functions it keeps out
    for fi in called:
        cats = Counter(category(i.op, i.imm, nimp) for i in bodies[fi])
        if len(ftypes[fi].results) > 1:
            cats["multi-value"] += 1
        static.update(cats)
        w = max(events.get(fi, 0), 1)
        for k, v in cats.items():
            weighted[k] += v * w
        bad = [k for k in cats if k != "subset"]
        if not bad:
            full.append(fi)
        for k in bad:
            missing_funcs[k] += 1
    total = sum(static.values())
    wtotal = sum(weighted.values())
    nbytes = sum(m.codes[fi - nimp].end - m.codes[fi - nimp].start for fi in called)
    fbytes = sum(m.codes[fi - nimp].end - m.codes[fi - nimp].start for fi in full)
    print(f"{len(called)} called functions, {nbytes} bytes, {total} instructions "
          f"(decode {t_dec * 1e3:.0f} ms = {t_dec / nbytes * 1024e3:.2f} ms/KB)")
    print(f"entirely in the subset: {len(full)} functions, {fbytes} bytes "
          f"({100 * fbytes / nbytes:.1f}% of the bytes)")
    print(f"{'category':24} {'instrs':>8} {'static %':>9} {'event-weighted %':>17} {'functions':>10}")
    for k, v in static.most_common():
        print(f"{k:24} {v:8} {100 * v / total:9.2f} {100 * weighted[k] / wtotal:17.2f} "
              f"{missing_funcs.get(k, '') if k != 'subset' else '':>10}")
    if args.emit:
        comp = Compiler(m)
        ok = []
        t0 = time.process_time()
        Compiler.stub_unsupported = args.all
        for fi in (called if args.all else full):
            mark = len(comp.code)
            try:
                comp.compile_func(fi, bodies[fi])
                ok.append(fi)
            except Unsupported:
                del comp.code[mark:]
        t = time.process_time() - t0
        n = comp.ninstrs
        b = sum(m.codes[fi - nimp].end - m.codes[fi - nimp].start for fi in ok)
        print(f"{'with placeholders: ' if args.all else ''}emitted {len(ok)} functions, {n} instructions, {b} bytes of wasm -> "
              f"{len(comp.code)} bytes of x86-64 in {t * 1e3:.1f} CPU ms: "
              f"{t / n * 1e6:.2f} us/instr, {t / b * 1024e3:.2f} ms/KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
