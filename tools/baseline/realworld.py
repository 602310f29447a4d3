"""Run the real programs of ``tools/realworld`` with every function the baseline emitter
takes as baseline code, and check their output against the native build's.

    PYTHONPATH=. python tools/baseline/realworld.py [LABEL ...] [--heavy] [--no-pins]

Each case: a ``tier="auto"`` instance (tier-up off) whose defined functions are swapped to
baseline code right after instantiation (``tests/baseline_util.to_baseline``; refused ones
stay in the Python tier), then ``_start``. Prints per case: functions compiled/refused,
emit CPU seconds, run CPU seconds, and whether stdout, exit status and files equal the
native run's.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from baseline_util import auto_store, to_baseline  # noqa: E402

import wasm2py  # noqa: E402
from tools.realworld.build import BIN  # noqa: E402
from tools.realworld.run import (  # noqa: E402
    _scratch,
    _snapshot,
    cases,
    heavy_cases,
    run_native,
    wasi_config,
)
from wasm2py.wasi.command import Wasi, call_entry, instantiate  # noqa: E402


def run_baseline(case):
    store = auto_store()
    module = wasm2py.Module.from_file(store.engine, BIN / f"{case.program}.wasm")
    d = _scratch(case)
    try:
        out = io.BytesIO()
        config = wasi_config(case, d, out)
        with Wasi(config) as wasi:
            inst = instantiate(store, module, wasi, None)
            t0 = time.process_time()
            blob = to_baseline(inst)
            t_swap = time.process_time() - t0
            t0 = time.process_time()
            status = call_entry(inst, "_start")
            t_run = time.process_time() - t0
        return blob, t_swap, t_run, status, out.getvalue(), _snapshot(d)
    finally:
        shutil.rmtree(d)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels", nargs="*")
    ap.add_argument("--heavy", action="store_true")
    ap.add_argument("--no-pins", action="store_true")
    args = ap.parse_args()
    if args.no_pins:
        from wasm2py.baseline.emit import FuncEmitter

        FuncEmitter.pin_locals = False
    ok = True
    for case in heavy_cases() if args.heavy else cases():
        if args.labels and case.label not in args.labels:
            continue
        if not (BIN / f"{case.program}.wasm").exists():
            continue
        _, n_status, n_out, n_files = run_native(case)
        blob, t_swap, t_run, status, out, files = run_baseline(case)
        same = (status, out, files) == (n_status, n_out, n_files)
        ok &= same
        print(f"{case.label:24} compiled {len(blob.funcs):5} refused {len(blob.refused):4} "
              f"swap {t_swap:6.2f} s run {t_run:6.2f} s  {'ok' if same else 'DIFFERENT'}",
              flush=True)  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
