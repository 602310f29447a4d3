"""The float kernels (nbody, mandel of ``tools/bench/kernels``) as baseline code, next to LLVM's
level 0 and the Python tier: CPU time of ``run(n)``, best of ``--repeat``, the tiers timed in
turns; checksums compared.

``PYTHONPATH=. python tools/baseline/float_kernels.py [--repeat 5] [--n-python N] [--n N]``

``--n`` (default: the compiled-code sizes of ``llvm_kernels.BIG_N`` / 10) is used for the
baseline and LLVM; the Python tier runs ``--n-python`` (default: the kernel's ``quick_n``,
``build.KERNELS``) and the baseline and LLVM run that size too, for a ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from baseline_util import baseline_instance  # noqa: E402

import wasm2py  # noqa: E402
from tools.bench.build import KERNELS, build_kernel  # noqa: E402
from tools.bench.llvm_kernels import BIG_N  # noqa: E402
from tools.bench.run_kernels import time_turns, use_cpu_clock  # noqa: E402


def instances(name: str):
    data = build_kernel(name).read_bytes()
    t = time.process_time()
    inst, blob = baseline_instance(data)
    emit_s = time.process_time() - t
    llvm = wasm2py.Engine(wasm2py.Config(tier="llvm", llvm_opt_level=0, cache=False,
                                         llvm_isolated=False))  # fmt: skip
    li = wasm2py.Instance(wasm2py.Store(llvm), wasm2py.Module(llvm, data))
    py = wasm2py.Engine(wasm2py.Config(tier="python", cache=False))
    pi = wasm2py.Instance(wasm2py.Store(py), wasm2py.Module(py, data))
    return inst, blob, li, pi, emit_s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--n-python", type=int, default=0)
    ap.add_argument("--kernel", action="append")
    args = ap.parse_args(argv)
    use_cpu_clock()
    for name in args.kernel or ["nbody", "mandel"]:
        bi, blob, li, pi, emit_s = instances(name)
        print(f"{name}: baseline functions {len(blob.funcs)}, refused {blob.refused}, "
              f"code {len(blob.code)} B, compile+attach {emit_s * 1e3:.1f} ms CPU")
        n_py = args.n_python or KERNELS[name].quick_n
        variants = [(bi.exports["run"], None), (li.exports["run"], None), (pi.exports["run"], None)]
        res = time_turns(variants, n_py, max(1, args.repeat // 2))
        sums = {r for _, r in res}
        print(f"  n={n_py}: baseline {res[0][0] * 1e3:.2f} ms, llvm-O0 {res[1][0] * 1e3:.2f} ms, "
              f"python {res[2][0] * 1e3:.1f} ms; baseline/llvm {res[0][0] / res[1][0]:.2f}, "
              f"python/baseline {res[2][0] / res[0][0]:.0f}; checksums agree: {len(sums) == 1}")
        n = args.n or max(1, BIG_N[name] // 10)
        res = time_turns(variants[:2], n, args.repeat)
        print(f"  n={n}: baseline {res[0][0] * 1e3:.1f} ms, llvm-O0 {res[1][0] * 1e3:.1f} ms; "
              f"baseline/llvm {res[0][0] / res[1][0]:.2f}; checksums agree: {res[0][1] == res[1][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
