"""What fuel metering costs in the LLVM tier: per kernel, the compute time of ``run(n)`` jitted
without fuel code and with it (``compile_module(fuel_costs=FuelCosts())``, in a store with
``Config(consume_fuel=True)`` and plenty of fuel), best of ``--repeat`` runs, their ratio, and
the fuel the call consumed (the same as the Python tier's, which ``tests/test_llvm_fuel.py``
checks). Last, the cost of one call of an exported function from Python with and without fuel
(the entry moves the fuel between the store and the native counter).

Usage::

    python tools/bench/llvm_fuel.py [--quick] [--kernel NAME ...] [--repeat K] [--opt N]
"""

from __future__ import annotations

import argparse
import math
import sys
import timeit
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel
from tools.bench.llvm_kernels import BIG_N
from tools.bench.run_kernels import format_table, time_call
from wasm2py.binary.decoder import decode_module
from wasm2py.validate.validator import validate_module

PLENTY = 10**15


def _instance(data: bytes, fuel: bool, opt: int):
    from wasm2py import llvm

    m = decode_module(data)
    validate_module(m)
    costs = wasm2py.FuelCosts() if fuel else None
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(consume_fuel=fuel, cache=False)))
    cm = llvm.compile_module(m, opt, fuel_costs=costs)
    return store, llvm.instantiate(store, cm).exports


def call_cost(opt: int, fuel: bool, number: int = 200_000) -> float:
    store, ex = _instance(build_kernel("calls").read_bytes(), fuel, opt)
    if fuel:
        store.set_fuel(PLENTY)
    add = ex["add"]
    return min(timeit.repeat(lambda: add(1, 2), number=number, repeat=5)) / number


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small n (smoke test)")
    ap.add_argument("--kernel", action="append", choices=list(KERNELS), metavar="NAME")
    ap.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    ap.add_argument("--opt", type=int, default=2, help="LLVM optimisation level (0-3)")
    args = ap.parse_args(argv)
    names = args.kernel or [k for k in KERNELS if k != "simd_filter"]
    rows = []
    ratios = []
    for name in names:
        k = KERNELS[name]
        n = k.quick_n if args.quick else BIG_N.get(name, k.n)
        data = build_kernel(name).read_bytes()
        store0, ex0 = _instance(data, False, args.opt)
        store1, ex1 = _instance(data, True, args.opt)
        t0, r0 = time_call(ex0["run"], n, args.repeat)
        t1, r1 = time_call(ex1["run"], n, args.repeat, partial(store1.set_fuel, PLENTY))
        used = PLENTY - store1.get_fuel()  # by the last run
        ratio = t1 / t0 if t0 > 0 else float("nan")
        ratios.append(ratio)
        rows.append([name, str(n), f"{t0:.4f}", f"{t1:.4f}", f"{ratio:.2f}", f"{used:,}",
                     f"{used / t1 / 1e6:.0f}" if t1 > 0 else "-",
                     "ok" if r0 == r1 else "MISMATCH"])  # fmt: skip
    print(f"LLVM tier at -O{args.opt}, fuel off/on (default FuelCosts); best of {args.repeat}")
    print(format_table(["kernel", "n", "no fuel s", "fuel s", "fuel/none", "fuel used",
                        "Mfuel/s", "check"], rows, right=set(range(1, 7))))  # fmt: skip
    logs = [math.log(r) for r in ratios if r > 0]
    print(f"geomean fuel/none: {math.exp(sum(logs) / len(logs)):.3f}")
    print()
    c0, c1 = call_cost(args.opt, False), call_cost(args.opt, True)
    print(format_table(["exported add(1, 2) from Python", "us per call"],
                       [["no fuel", f"{c0 * 1e6:.2f}"], ["fuel", f"{c1 * 1e6:.2f}"]],
                       right={1}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
