"""Do ahead-of-time compiled ``.py`` files run as fast as the in-memory Python tier?

For each benchmark kernel: wall time of ``run(n)`` in a module loaded with ``wasm2py.Module``
and in the same module compiled with ``wasm2py.compile`` and imported, best of ``--repeat``,
and the ratio.

Usage::

    python tools/bench/aot_speed.py [--quick] [--kernel NAME ...] [--repeat K]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel
from tools.bench.run_kernels import time_call


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--kernel", action="append", choices=list(KERNELS), metavar="NAME")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.kernel or list(KERNELS):
            k = KERNELS[name]
            n = k.quick_n if args.quick else k.n
            wasm = build_kernel(name)
            live = wasm2py.Instance(wasm2py.Store(), wasm2py.Module.from_file(wasm), {})
            out = Path(tmp) / f"aot_{name}.py"
            wasm2py.compile(wasm, out)
            spec = importlib.util.spec_from_file_location(f"aot_{name}", out)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            aot = mod.instantiate()
            t_live, r_live = time_call(live.exports["run"], n, args.repeat)
            t_aot, r_aot = time_call(aot.exports["run"], n, args.repeat)
            assert r_live == r_aot, (name, r_live, r_aot)
            rows.append((name, n, t_live, t_aot))
    print(f"wasm2py {wasm2py.__version__}, Python {sys.version.split()[0]}; best of {args.repeat}")
    print(f"{'kernel':<9} {'n':>7} {'in-memory s':>11} {'AOT .py s':>10} {'ratio':>6}")
    for name, n, tl, ta in rows:
        print(f"{name:<9} {n:>7} {tl:11.3f} {ta:10.3f} {ta / tl:5.2f}x")
    geo = math.exp(sum(math.log(ta / tl) for _, _, tl, ta in rows) / len(rows))
    print(f"geomean AOT/in-memory: {geo:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
