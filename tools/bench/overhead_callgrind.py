"""Fuel, resumable-call and tier-up-counting overhead in CPU instructions (valgrind callgrind),
which unlike wall time does not depend on what else the machine is doing.

For each kernel and mode (plain call, fuel, call_resumable, and ``tier="auto"`` with a threshold
never reached: the Python tier with its call/loop counting), runs ``run(n)`` ``k`` and ``0``
times in a child process under callgrind and takes the difference, so process start-up and
translation cancel out. Prints instructions per ``run(n)`` and the ratios to plain.

Usage::

    python tools/bench/overhead_callgrind.py [--kernel NAME ...] [--n N]

(slow: each measurement runs the interpreter under valgrind; default n is the kernel's test size)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bench.build import KERNELS, build_kernel

CHILD = r"""
import sys, wasm2py
path, mode, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
engine = wasm2py.Engine(wasm2py.Config(consume_fuel=(mode == "fuel"), cache=False,
                                       tier="auto" if mode == "auto" else "python",
                                       tier_up_threshold=10**18))
store = wasm2py.Store(engine)
run = wasm2py.Instance(store, wasm2py.Module.from_file(engine, path), {}).exports["run"]
if mode == "fuel":
    store.set_fuel(10**15)
call = run.call_resumable if mode == "resumable" else run
call(1)  # warm-up: one-time imports and caches are not part of the measurement
for _ in range(reps):
    call(n)
"""


def instructions(args: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                               *args], capture_output=True, text=True)  # fmt: skip
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode or not m:
            raise SystemExit(proc.stderr[-2000:])
        return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append", choices=list(KERNELS), metavar="NAME")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CHILD)
        child = f.name
    print(f"{'kernel':<9} {'n':>6} {'plain Ir/run':>14} {'fuel x':>7} {'resumable x':>11} "
          f"{'auto x':>7}")  # fmt: skip
    for name in args.kernel or list(KERNELS):
        k = KERNELS[name]
        n = args.n or k.test_n
        wasm = str(build_kernel(name))
        per = {}
        for mode in ("plain", "fuel", "resumable", "auto"):
            base = instructions([sys.executable, child, wasm, mode, str(n), "0"])
            full = instructions([sys.executable, child, wasm, mode, str(n), str(args.reps)])
            per[mode] = (full - base) / args.reps
        p = per["plain"]
        print(f"{name:<9} {n:>6} {p:14,.0f} {per['fuel'] / p:6.3f}x {per['resumable'] / p:10.3f}x "
              f"{per['auto'] / p:6.3f}x", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
