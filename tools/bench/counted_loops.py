"""What counted loops (``wasm2py/translate/counted.py``) give each benchmark kernel: the
Python tier's ``run(n)`` with them and without them (the translator told to find none), CPU
time, best of ``--repeat``, the two variants timed in turns in this one process.

The translated ``run`` function is called directly (``f<i>_run(n, 0)``): the export's entry may
inline a small body, and both variants must run their own translation.

Usage::

    python tools/bench/counted_loops.py [--kernel NAME ...] [--repeat K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel
from tools.bench.run_kernels import format_table
from wasm2py.translate import codegen


def translated_run(wasm: Path, counted: bool):
    """The Python function of export ``run`` in a new instance, translated with or without
    counted loops."""
    found = codegen.find_counted
    if not counted:
        codegen.find_counted = lambda *args: None
    try:
        engine = wasm2py.Engine(wasm2py.Config(cache=False))
        inst = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module.from_file(engine, wasm), {})
        inst.exports["run"](1)  # translates what run calls
        ns = inst._state.ns
        return next(f for name, f in ns.items() if name.startswith("f") and name.endswith("_run"))
    finally:
        codegen.find_counted = found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", action="append", help="kernels to run (default: all)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    rows = []
    for kernel in KERNELS.values():
        if args.kernel and kernel.name not in args.kernel:
            continue
        if kernel.name in ("calls", "simd_filter"):
            continue  # no loop of its own / SIMD
        wasm = build_kernel(kernel.name)
        with_, without = translated_run(wasm, True), translated_run(wasm, False)
        best = [float("inf"), float("inf")]
        for _ in range(args.repeat):
            for i, f in enumerate((with_, without)):
                t = time.process_time()
                f(kernel.n, 0)
                best[i] = min(best[i], time.process_time() - t)
        rows.append([kernel.name, str(kernel.n), f"{best[1]:.3f}", f"{best[0]:.3f}",
                     f"{best[1] / best[0]:.2f}x"])  # fmt: skip
    print("Python tier, CPU seconds, best of", args.repeat, "(variants in turns, one process)")
    print(format_table(["kernel", "n", "without s", "with s", "speed-up"], rows, {1, 2, 3, 4}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
