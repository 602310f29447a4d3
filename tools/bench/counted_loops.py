"""What counted loops (``wasm2py/translate/counted.py``) give each benchmark kernel: the
Python tier's ``run(n)`` with them and without them (the translator told to find none), CPU
time, best of ``--repeat``, the two variants timed in turns in this one process.

The translated ``run`` function is called directly (``f<i>_run(n, 0)``): the export's entry may
inline a small body, and both variants must run their own translation.

With ``--fuel``, both variants are metered (``Config(consume_fuel=True)``, plenty of fuel) and
must use the same fuel; the table adds the unmetered run with counted loops, and each metered
variant's time relative to it.

Usage::

    python tools/bench/counted_loops.py [--kernel NAME ...] [--repeat K] [--fuel]
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

#: the fuel each metered call starts with
PLENTY = 10**15


def translated_run(wasm: Path, counted: bool, fuel: bool = False):
    """The Python function of export ``run`` in a new instance, translated with or without
    counted loops, and the instance's store (``fuel``: metered, the store refilled to
    :data:`PLENTY`)."""
    found = codegen.find_counted
    if not counted:
        codegen.find_counted = lambda *args: None
    try:
        engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=fuel))
        store = wasm2py.Store(engine)
        inst = wasm2py.Instance(store, wasm2py.Module.from_file(engine, wasm), {})
        if fuel:
            store.set_fuel(PLENTY)
        inst.exports["run"](1)  # translates what run calls
        ns = inst._state.ns
        run = next(f for name, f in ns.items() if name.startswith("f") and name.endswith("_run"))
        return run, store
    finally:
        codegen.find_counted = found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", action="append", help="kernels to run (default: all)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--fuel", action="store_true", help="metered variants (and the plain run)")
    args = p.parse_args(argv)
    rows = []
    for kernel in KERNELS.values():
        if args.kernel and kernel.name not in args.kernel:
            continue
        if kernel.name in ("calls", "simd_filter"):
            continue  # no loop of its own / SIMD
        wasm = build_kernel(kernel.name)
        variants = [translated_run(wasm, True, args.fuel), translated_run(wasm, False, args.fuel)]
        if args.fuel:
            variants.append(translated_run(wasm, True))
        best = [float("inf")] * len(variants)
        seen: list[set] = [set() for _ in variants]
        for _ in range(args.repeat):
            for i, (f, store) in enumerate(variants):
                if i < 2 and args.fuel:
                    store.set_fuel(PLENTY)
                t = time.process_time()
                r = f(kernel.n, 0)
                best[i] = min(best[i], time.process_time() - t)
                seen[i].add((r, PLENTY - store.get_fuel() if i < 2 and args.fuel else None))
        if len(seen[0] | seen[1]) != 1:
            raise SystemExit(f"{kernel.name}: the variants differ: {seen[0]} {seen[1]}")
        row = [kernel.name, str(kernel.n), f"{best[1]:.3f}", f"{best[0]:.3f}",
               f"{best[1] / best[0]:.2f}x"]  # fmt: skip
        if args.fuel:
            row += [f"{best[2]:.3f}", f"{best[1] / best[2]:.2f}x", f"{best[0] / best[2]:.2f}x"]
        rows.append(row)
    print("Python tier, CPU seconds, best of", args.repeat, "(variants in turns, one process)"
          + (", metered (the same fuel used in both variants)" if args.fuel else ""))
    head = ["kernel", "n", "without s", "with s", "speed-up"]
    if args.fuel:
        head += ["unmetered s", "without/unm.", "with/unm."]
    print(format_table(head, rows, set(range(1, len(head)))))
    return 0

if __name__ == "__main__":
    sys.exit(main())
