"""LLVM-tier compile time of a large module, and its cached reload (issue 4).

Builds the ~450 KB, ~600-function module of ``tools/bigmodule/generate.py`` and prints, per
optimisation level (default: the engine's default level):

* first ``Module(engine, bytes)`` with ``Config(tier="llvm")`` and an empty cache directory:
  decode + validate + Python-tier translation + LLVM lowering, optimisation and code generation,
  with LLVM's part broken down (``CompiledModule.timings``);
* cached: a new engine (empty memory cache) loading the same module from the disk cache;
* that ``run(n)`` gives the same result as the Python tier.

Usage::

    python tools/bench/llvm_compile.py [--functions N] [--opt 0 1 2 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bigmodule.generate import build  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=600)
    ap.add_argument("--opt", type=int, nargs="*", default=None, help="optimisation levels")
    ap.add_argument("--n", type=int, default=300, help="argument of run(n)")
    args = ap.parse_args(argv)
    data = build(args.functions).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WASM2PY_CACHE_DIR"] = tmp  # before wasm2py reads it
        import wasm2py

        levels = args.opt if args.opt else [wasm2py.Config().llvm_opt_level]
        py = wasm2py.Instance(wasm2py.Store(), wasm2py.Module(data))
        expect = py.exports["run"](args.n)
        print(f"module: {len(data) / 1024:.0f} KiB, {args.functions} generated functions; "
              f"cache in {tmp}")  # fmt: skip
        ok = True
        for level in levels:
            config = wasm2py.Config(tier="llvm", llvm_opt_level=level)
            t0 = time.perf_counter()
            module = wasm2py.Module(wasm2py.Engine(config), data)
            first = time.perf_counter() - t0
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in module._llvm.timings.items())
            t0 = time.perf_counter()
            again = wasm2py.Module(wasm2py.Engine(config), data)
            cached = time.perf_counter() - t0
            store = wasm2py.Store(again.engine)
            got = wasm2py.Instance(store, again).exports["run"](args.n)
            same = got == expect
            ok &= same
            print(f"O{level}: first Module() {first:.1f} s (LLVM: {parts}); cached reload "
                  f"{cached:.3f} s; run({args.n}) {'same as' if same else 'DIFFERS from'} "
                  f"the Python tier")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
