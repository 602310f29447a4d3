"""Real programs in the Python tier, one source tree against another (issue 20's before/after).

Each run is a child process that imports ``wasm2py`` from one tree (``--before REV``: that
commit, exported with ``git archive`` into a temporary directory; the other side: this
checkout, or ``--after REV``), loads the program built by ``tools/realworld/build.py`` without
the disk cache, runs one of ``tools/realworld/run.py``'s cases twice in that process and reports
the CPU time (``time.process_time``) of the second run: execution alone, every function it uses
already translated. The two trees' children run in turns (before, after, before, ...), so that
load from elsewhere hits them alike; the table gives the best of ``--repeat`` per side and the
speed-up. Both sides' output and exit status must equal the native build's (exit 1 otherwise).

Usage::

    python tools/realworld/build.py minigzip duk      # once
    python tools/bench/python_realworld.py --before fd08667 [--repeat K] [CASE ...]

A case is ``program`` or ``program:label`` as in ``run.py`` (default: ``minigzip:compress``
and ``duk``).
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    # Import wasm2py from the tree under test before this checkout lands on sys.path.
    sys.path.insert(0, sys.argv[2])
    import wasm2py  # noqa: F401

    del sys.path[0]  # ``tools`` comes from this checkout

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.bench.run_kernels import format_table  # noqa: E402
from tools.realworld.run import Case, cases, run_native  # noqa: E402

DEFAULT_CASES = ["minigzip:compress", "duk"]


def select(spec: str) -> Case:
    """The case named ``program`` or ``program:label-prefix``."""
    program, _, label = spec.partition(":")
    for case in cases():
        if case.program == program and case.label.startswith(label):
            return case
    raise SystemExit(f"no case {spec!r} (is {program} built? tools/realworld/build.py {program})")


def child(tree: str, spec: str) -> None:
    """Run ``spec`` twice with the ``wasm2py`` of ``tree``; print a JSON line."""
    import wasm2py
    from tools.realworld import run

    assert Path(wasm2py.__file__).resolve().is_relative_to(Path(tree).resolve()), wasm2py.__file__
    case = select(spec)
    run.load(case.program, "python")
    run.cpu = time.process_time  # this process only
    first = run.run_inprocess(case)
    again = run.run_inprocess(case)
    print(json.dumps({"first": first[0], "again": again[0], "status": again[1],
                      "out": hashlib.sha256(again[2]).hexdigest(),
                      "files": hashlib.sha256(repr(sorted(again[3].items())).encode()).hexdigest(),
                      "same": first[1:] == again[1:]}))  # fmt: skip


def run_child(tree: str, spec: str) -> dict:
    env = {**os.environ, "PYTHONPATH": tree, "WASM2PY_CACHE_DIR": tempfile.mkdtemp(prefix="w2p-")}
    try:
        p = subprocess.run([sys.executable, __file__, "--child", tree, spec], env=env,
                           capture_output=True, text=True)  # fmt: skip
    finally:
        shutil.rmtree(env["WASM2PY_CACHE_DIR"])
    if p.returncode != 0:
        raise SystemExit(f"{spec} under {tree} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def export_tree(rev: str, into: str) -> str:
    """``rev`` of this repository, extracted into ``into``; returns the directory."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision of the 'before' tree")
    ap.add_argument("--after", help="git revision of the 'after' tree (default: this checkout)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per side (best of)")
    ap.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="w2p-trees-")
    try:
        before = export_tree(args.before, tempfile.mkdtemp(dir=tmp))
        after = export_tree(args.after, tempfile.mkdtemp(dir=tmp)) if args.after else str(ROOT)
        print(f"Python tier, CPU seconds of a second run in one process (execution only), best "
              f"of {args.repeat}, before/after in turns; before = {args.before}, after = "
              f"{args.after or 'this checkout'}")  # fmt: skip
        rows, bad = [], []
        for spec in args.cases:
            case = select(spec)
            _, status, out, files = run_native(case)
            want = (status, hashlib.sha256(out).hexdigest(),
                    hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())  # fmt: skip
            best = {before: float("inf"), after: float("inf")}
            for _ in range(args.repeat):
                for tree in (before, after):
                    r = run_child(tree, spec)
                    if (r["status"], r["out"], r["files"]) != want or not r["same"]:
                        bad.append(f"{spec} ({'before' if tree == before else 'after'})")
                    best[tree] = min(best[tree], r["again"])
            rows.append([case.program, case.label, f"{best[before]:.2f}", f"{best[after]:.2f}",
                         f"{best[before] / best[after]:.2f}x"])  # fmt: skip
            print(f"  {spec} done", file=sys.stderr, flush=True)
        print(format_table(["program", "workload", "before s", "after s", "speed-up"], rows,
                           {2, 3, 4}))  # fmt: skip
        if bad:
            print(f"OUTPUT DIFFERS FROM THE NATIVE BUILD: {', '.join(bad)}")
            return 1
        return 0
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
