# ruff: noqa: B023 - the timed lambdas run inside the loop iteration that makes them
"""Bench kernels as baseline code against the LLVM tier at level 0 (and O2 with ``--o2``).

    PYTHONPATH=. python tools/baseline/kernels.py [--kernels fib,sieve] [--repeat 3]

Each kernel's ``run(BIG_N)`` (``tools/bench/llvm_kernels.BIG_N``) in CPU seconds
(``time.process_time``), best of ``--repeat``, the tiers alternated (A B A B); the results
must agree. The baseline instance is ``tests/baseline_util.baseline_instance`` (every
function the emitter takes as baseline code, the rest in the Python tier: a kernel with
refused functions is reported and skipped); the LLVM ones are ``tier="llvm"`` at level 0
/ 2, in this process, default guard pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from baseline_util import baseline_instance  # noqa: E402

import wasm2py  # noqa: E402
from tools.bench.build import build_kernel  # noqa: E402
from tools.bench.llvm_kernels import BIG_N  # noqa: E402

CLOCK = time.process_time


def llvm_instance(data: bytes, opt: int):
    cfg = wasm2py.Config(tier="llvm", llvm_opt_level=opt, llvm_isolated=False, cache=False)
    engine = wasm2py.Engine(cfg)
    return wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, data), {})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default="fib,sieve,memloops,hash,sort,calls,nbody,mandel")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--o2", action="store_true")
    args = ap.parse_args()
    print(f"{'kernel':10} {'n':>10} {'baseline s':>11} {'llvm0 s':>9} {'ratio':>6}"
          + (f" {'llvm2 s':>9} {'ratio':>6}" if args.o2 else ""))
    for name in args.kernels.split(","):
        data = build_kernel(name).read_bytes()
        inst, blob = baseline_instance(data)
        if blob.refused:
            print(f"{name:10} skipped: refused {blob.refused}")
            continue
        tiers = {"baseline": inst, "llvm0": llvm_instance(data, 0)}
        if args.o2:
            tiers["llvm2"] = llvm_instance(data, 2)
        n = BIG_N[name]
        best = {k: float("inf") for k in tiers}
        results = {}
        for _ in range(args.repeat):
            for k, i in tiers.items():
                t0 = CLOCK()
                results[k] = i.exports.run(n)
                best[k] = min(best[k], CLOCK() - t0)
        assert len(set(results.values())) == 1, results
        line = (f"{name:10} {n:10} {best['baseline']:11.4f} {best['llvm0']:9.4f} "
                f"{best['baseline'] / best['llvm0']:6.2f}")
        if args.o2:
            line += f" {best['llvm2']:9.4f} {best['baseline'] / best['llvm2']:6.2f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
