"""On-stack replacement on the compute kernels (``tools/bench/kernels``, built with clang):
every function with loops has its unit attached at its ``K``-th ``HOT`` call, so its running
Python frame moves into jitted code there; the result of ``run(n)`` and, with ``--fuel``, the
fuel it consumed must equal a pure Python-tier run's. Prints a line per kernel and ``K``;
exit status 1 on any mismatch.

    python tools/stress/osr.py [--kernel NAME ...] [--at 2 9 100] [--fuel] [--scale 0.05]

(The cheap checks are in ``tests/test_osr.py``; this one needs the kernels built.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel
from wasm2py.llvm.facts import has_loops

FUEL = 10**12


def _instance(engine, wasm: bytes, fuel: bool):
    inst = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wasm), {})
    if fuel:
        inst.store.set_fuel(FUEL)
    return inst


def force_moves(inst, engine, at: int) -> None:
    """Attach each looping function's unit at its ``at``-th counter call (as the tier-up would
    once compiled), whenever its Python-tier code gets bound."""
    tu = inst._tierup
    ns = inst._state.ns
    slots = inst._state.slots
    m = inst.module._module
    nimp = m.num_imported_funcs
    loops = {nimp + i for i, c in enumerate(m.codes) if has_loops(c.body)}
    counts: dict[int, int] = {}

    def counter(index: int):
        def hot():
            counts[index] = counts.get(index, 0) + 1
            if counts[index] != at:
                return None
            if inst._llvm is None:
                tu._ready.append(engine.load_unit(m, (), shell=True))
            tu._ready.append(engine.load_unit(m, [index]))
            tu.attach_ready()
            return ns[f"HOT{index}"]()

        return hot

    bind = slots.on_bind

    def on_bind(index: int) -> None:
        bind(index)
        if index in loops:
            ns[f"HOT{index}"] = counter(index)

    slots.on_bind = on_bind
    for index, fn in enumerate(slots.python):
        if fn is not None and index in loops:
            ns[f"HOT{index}"] = counter(index)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", nargs="*", default=None)
    ap.add_argument("--at", nargs="*", type=int, default=[2, 9, 100])
    ap.add_argument("--fuel", action="store_true", help="meter fuel and compare it too")
    ap.add_argument("--scale", type=float, default=0.05, help="of each kernel's n")
    args = ap.parse_args(argv)
    bad = 0
    for name in args.kernel or [k for k in KERNELS if k != "simd_filter"]:
        k = KERNELS[name]
        wasm = build_kernel(name).read_bytes()
        n = max(1, int(k.n * args.scale))
        config = {"consume_fuel": args.fuel}
        py = _instance(wasm2py.Engine(wasm2py.Config(tier="python", **config)), wasm, args.fuel)
        expect = (py.exports.run(n), FUEL - py.store.get_fuel() if args.fuel else None)
        engine = wasm2py.Engine(wasm2py.Config(tier="auto", cache=False,
                                               tier_up_threshold=10**9, **config))  # fmt: skip
        for at in args.at:
            inst = _instance(engine, wasm, args.fuel)
            force_moves(inst, engine, at)
            got = (inst.exports.run(n), FUEL - inst.store.get_fuel() if args.fuel else None)
            ok = got == expect and inst._tierup.error is None
            bad += not ok
            print(f"{name:9} n={n:<7} at={at:<4} moved={inst._tierup.moved:<3} "
                  f"{'ok' if ok else f'MISMATCH: {got} != {expect} ({inst._tierup.error!r})'}")
    print(f"{bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
