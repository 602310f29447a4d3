"""Real programs cold with fuel: ``wasm2py run --tier auto --fuel N`` in fresh cache
directories (LLVM compiles in threads, not worker processes, so that all of it is counted),
CPU time of the whole run, trees alternated.

    python tools/baseline/cold_fuel.py [--repeat 3] [--fuel N] [--no-fuel-too] TREE...

Each TREE is a checkout of wasm2py (``PYTHONPATH=TREE``), e.g. a "before" worktree and this
one. Cases: lua ``bench.lua``, sqlite3 ``memory.sql``. Outputs must be equal across trees.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".cache" / "realworld" / "bin"
WORK = ROOT / "tools" / "realworld" / "workloads"
CASES = {
    "lua bench.lua": (["lua.wasm", "--dir", f"{WORK}::/w", "--", "/w/bench.lua"], None),
    "sqlite3 memory.sql": (["sqlite3.wasm", "--", "-batch"], WORK / "memory.sql"),
}


#: ``wasm2py run`` with LLVM compiles in threads of the process (``llvm_isolated=False``): the
#: CPU time of worker processes, which the run does not wait for, would not be counted
_IN_PROCESS = """
import dataclasses
import sys
import wasm2py
import wasm2py.cli.run as R
R.Engine = lambda config: wasm2py.Engine(dataclasses.replace(config, llvm_isolated=False))
from wasm2py.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(tree: str, case: str, fuel: int | None) -> tuple[float, bytes]:
    argv, stdin = CASES[case]
    cmd = [sys.executable, "-c", _IN_PROCESS, "run", "--tier", "auto", str(BIN / argv[0])]
    if fuel is not None:
        cmd += ["--fuel", str(fuel)]
    cmd += argv[1:]
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, PYTHONPATH=tree, WASM2PY_CACHE_DIR=cache)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as f:
            # (cwd: not a tree, whose wasm2py "python -c" would import first)
            out = subprocess.run(cmd, env=env, stdin=f, capture_output=True, check=True,
                                 cwd=cache).stdout  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fuel", type=int, default=10**13)
    ap.add_argument("--no-fuel-too", action="store_true",
                    help="also run the last tree without fuel")  # fmt: skip
    args = ap.parse_args()
    variants = [(t, args.fuel) for t in args.trees]
    if args.no_fuel_too:
        variants.append((args.trees[-1], None))
    for case in CASES:
        best: dict = {}
        outs = set()
        for _ in range(args.repeat):
            for v in variants:
                cpu, out = run(v[0], case, v[1])
                best[v] = min(best.get(v, float("inf")), cpu)
                outs.add(out)
        assert len(outs) == 1, f"{case}: outputs differ"
        for (tree, fuel), cpu in best.items():
            print(f"{case:20} {tree:28} fuel={fuel!s:15} {cpu:7.2f} CPU s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
