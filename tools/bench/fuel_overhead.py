"""What fuel metering and resumability cost: per kernel, the CPU time of ``run(n)``

* plain: default configuration, a normal call;
* fuel: ``Config(consume_fuel=True)`` with plenty of fuel, a normal call;
* resumable: default configuration, ``call_resumable`` (nothing pauses);
* fuel+resumable: both;

each the best of ``--repeat`` runs, the four variants timed in turns (so that load from elsewhere
hits them alike), and the ratios to plain. Targets: issue 5, fuel <= 1.25x and resumable <=
1.05x; issue 20 asks fuel <= 1.1x (``python_speed.py``'s table 2 measures the same ratio).

Usage::

    python tools/bench/fuel_overhead.py [--quick] [--kernel NAME ...] [--repeat K]
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel
from tools.bench.run_kernels import geomean, time_turns

PLENTY = 10**15


def _instance(wasm: Path, fuel: bool):
    engine = wasm2py.Engine(wasm2py.Config(consume_fuel=fuel))
    store = wasm2py.Store(engine)
    inst = wasm2py.Instance(store, wasm2py.Module.from_file(engine, wasm), {})
    return store, inst.exports["run"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small n")
    ap.add_argument("--kernel", action="append", choices=list(KERNELS), metavar="NAME")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for name in args.kernel or list(KERNELS):
        k = KERNELS[name]
        n = k.quick_n if args.quick else k.n
        wasm = build_kernel(name)
        _, plain = _instance(wasm, False)
        fstore, fueled = _instance(wasm, True)
        refill = partial(fstore.set_fuel, PLENTY)
        (t_plain, r0), (t_fuel, r1), (t_res, r2), (t_both, r3) = time_turns(
            [(plain, None), (fueled, refill), (plain.call_resumable, None),
             (fueled.call_resumable, refill)], n, args.repeat)  # fmt: skip
        assert r0 == r1 == r2.results == r3.results, (name, r0, r1, r2, r3)
        rows.append((name, n, t_plain, t_fuel, t_res, t_both))
        print(f"  {name:<9} done", file=sys.stderr, flush=True)
    print(f"wasm2py {wasm2py.__version__}, Python tier, Python {sys.version.split()[0]}; "
          f"CPU time, best of {args.repeat}, variants in turns")  # fmt: skip
    print(f"{'kernel':<9} {'n':>7} {'plain s':>8} {'fuel s':>8} {'fuel x':>7} "
          f"{'resum. s':>8} {'resum. x':>8} {'both s':>8} {'both x':>7}")  # fmt: skip
    fx, rx = [], []
    for name, n, tp, tf, tr, tb in rows:
        fx.append(tf / tp)
        rx.append(tr / tp)
        print(f"{name:<9} {n:>7} {tp:8.3f} {tf:8.3f} {tf / tp:6.2f}x {tr:8.3f} {tr / tp:7.3f}x "
              f"{tb:8.3f} {tb / tp:6.2f}x")  # fmt: skip
    print(f"geomean: fuel {geomean(fx):.3f}x, resumable {geomean(rx):.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
