"""``tier="auto"`` on the compute kernels: what counting costs before tier-up, and when the
jitted code takes over.

For each kernel (``kernels/*.c``) at the Python tier's full size, wall time of ``run(n)``:

* ``python``: the Python tier;
* ``auto, cold``: ``tier="auto"`` with a threshold never reached (the counting code only) and
  its ratio to ``python`` (the price of being ready to tier up);
* ``auto 1st``: the first call with the default threshold, the LLVM compile starting in the
  background during it (no disk cache): a call switches at *call boundaries*, so a kernel whose
  hot loop sits in one long-running frame finishes that call in the Python tier;
* ``auto 2nd``: the next call (jitted if the compile finished);
* ``llvm``: ``tier="llvm"`` (compile excluded), and ``compile`` its compile time.

Usage::

    python tools/bench/tier_up.py [--kernel NAME ...] [--repeat K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel
from tools.bench.run_kernels import format_table, time_call


def instance(wasm: bytes, **config):
    engine = wasm2py.Engine(wasm2py.Config(cache=False, **config))
    store = wasm2py.Store(engine)
    t0 = time.perf_counter()
    module = wasm2py.Module(engine, wasm)
    compile_s = time.perf_counter() - t0
    return wasm2py.Instance(store, module, {}), compile_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append", help="only this kernel (repeatable)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = ap.parse_args(argv)
    rows = []
    for name in args.kernel or list(KERNELS):
        k = KERNELS[name]
        wasm = build_kernel(name).read_bytes()
        py, _ = instance(wasm)
        t_py, expect = time_call(py.exports["run"], k.n, args.repeat)
        cold, _ = instance(wasm, tier="auto", tier_up_threshold=10**15)
        t_cold, r1 = time_call(cold.exports["run"], k.n, args.repeat)
        auto, _ = instance(wasm, tier="auto")
        t1, r2 = time_call(auto.exports["run"], k.n, 1)
        tier_after_first = auto.tier
        time.sleep(0)  # let a finished background compile be noticed at the next poll
        t2, r3 = time_call(auto.exports["run"], k.n, 1)
        ll, t_compile = instance(wasm, tier="llvm")
        t_ll, r4 = time_call(ll.exports["run"], k.n, args.repeat)
        ok = expect == r1 == r2 == r3 == r4
        rows.append([name, str(k.n), f"{t_py:.3f}", f"{t_cold:.3f}", f"{t_cold / t_py:.2f}x",
                     f"{t1:.3f} ({tier_after_first})", f"{t2:.4f} ({auto.tier})",
                     f"{t_ll:.4f}", f"{t_compile:.2f}", "ok" if ok else "MISMATCH"])  # fmt: skip
    print(f"wasm2py {wasm2py.__version__}: seconds per run(n); tier_up_threshold "
          f"{wasm2py.Config().tier_up_threshold:,} (default)")
    print(format_table(["kernel", "n", "python", "auto, cold", "ratio", "auto 1st", "auto 2nd",
                        "llvm", "compile", "check"], rows, set(range(1, 9))))  # fmt: skip
    return 0 if all(r[-1] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
