# ruff: noqa: B023 - the timed lambdas run inside the loop iteration that makes them
"""The cost of fuel metering in the baseline tier (and, for comparison, in the LLVM tier).

    PYTHONPATH=. python tools/baseline/fuel_overhead.py [--kernels fib,sieve] [--repeat 3]
                                                        [--no-llvm]

Each kernel's ``run(BIG_N)`` (``tools/bench/llvm_kernels.BIG_N``) in CPU seconds
(``time.process_time``), best of ``--repeat``, the variants alternated: baseline code
(``tier="auto"``, no tier-up) without and with ``consume_fuel``, and ``tier="llvm"`` level 0
(in-process, explicit bounds checks like the baseline's) without and with it. Results and
fuel used must agree between the metered variants.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import wasm2py  # noqa: E402
from tools.bench.build import build_kernel  # noqa: E402
from tools.bench.llvm_kernels import BIG_N  # noqa: E402

CLOCK = time.process_time
FUEL = 1 << 62


def instance(data: bytes, tier: str, fuel: bool):
    if tier == "baseline":
        cfg = wasm2py.Config(tier="auto", baseline=True, tier_up_threshold=1 << 62,
                             consume_fuel=fuel, cache=False)  # fmt: skip
    else:
        cfg = wasm2py.Config(tier="llvm", llvm_opt_level=0, llvm_isolated=False, cache=False,
                             consume_fuel=fuel, llvm_guard_pages=False)  # fmt: skip
    engine = wasm2py.Engine(cfg)
    store = wasm2py.Store(engine)
    return store, wasm2py.Instance(store, wasm2py.Module(engine, data), {})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default="fib,sieve,memloops,hash,sort,calls,nbody,mandel")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-llvm", action="store_true")
    args = ap.parse_args()
    tiers = ["baseline"] if args.no_llvm else ["baseline", "llvm"]
    head = f"{'kernel':10}" + "".join(f" {t + ' s':>11} {t + '+fuel':>11} {'ratio':>6}"
                                      for t in tiers)
    print(head)
    for name in args.kernels.split(","):
        data = build_kernel(name).read_bytes()
        n = BIG_N[name]
        insts = {(t, f): instance(data, t, f) for t in tiers for f in (False, True)}
        best = {k: float("inf") for k in insts}
        results = {}
        used = {}
        for _ in range(args.repeat):
            for k, (store, inst) in insts.items():
                if k[1]:
                    store.set_fuel(FUEL)
                t0 = CLOCK()
                results[k] = inst.exports.run(n)
                best[k] = min(best[k], CLOCK() - t0)
                if k[1]:
                    used[k] = FUEL - store.get_fuel()
        assert len(set(results.values())) == 1, (name, results)
        assert len(set(used.values())) == 1, (name, used)
        tiers_of = insts[("baseline", True)][1].function_tiers()
        line = f"{name:10}"
        for t in tiers:
            a, b = best[(t, False)], best[(t, True)]
            line += f" {a:11.4f} {b:11.4f} {b / a:6.2f}"
        nb = sum(v == "baseline" for v in tiers_of.values())
        print(line + f"   ({nb}/{len(tiers_of)} baseline)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
