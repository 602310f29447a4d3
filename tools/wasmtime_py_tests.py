"""Run wasmtime-py's own test suite against ``wasm2py.wasmtime`` and print passed/failed per file.

Nothing is fetched and nothing is copied: give it a checkout of
https://github.com/bytecodealliance/wasmtime-py. It makes a directory holding a two-line alias
module ``wasmtime.py`` (``import wasm2py.wasmtime`` and put it in ``sys.modules["wasmtime"]``)
and a link to this checkout's ``wasm2py`` package, puts that directory first on ``PYTHONPATH`` (ahead of the checkout's own ``wasmtime/`` package
and of an installed ``wasmtime``), checks that ``import wasmtime`` finds wasm2py's drop-in,
and runs ``pytest`` on the checkout's ``tests/test_*.py`` (the core API; ``--component`` adds
``tests/component``) from the checkout's root, as its CI does.

Usage::

    python tools/wasmtime_py_tests.py /path/to/wasmtime-py [--component] [-v] [-- PYTEST ARGS]

Exit status: 0 if every test passed, 1 otherwise, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ALIAS = """import sys, wasm2py.wasmtime
sys.modules[__name__] = wasm2py.wasmtime
"""

#: a pytest plugin that stops the run if ``import wasmtime`` is not the drop-in
CHECK = """import wasmtime

def pytest_sessionstart(session):
    if wasmtime.__name__ != "wasm2py.wasmtime":
        raise SystemExit(f"import wasmtime found {wasmtime.__file__}, not wasm2py.wasmtime")
"""


def environment(alias_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # (not this checkout's root: its own tests/ package would shadow wasmtime-py's)
    parts = [str(alias_dir), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
    return env


def which_wasmtime(checkout: Path, env: dict[str, str]) -> str:
    """What ``import wasmtime`` finds with the alias, from the checkout's root."""
    code = "import wasmtime; print(wasmtime.__name__, wasmtime.__file__)"
    p = subprocess.run([sys.executable, "-P", "-c", code], cwd=checkout, env=env,
                       capture_output=True, text=True)  # fmt: skip
    return (p.stdout or p.stderr).strip()


def run(checkout: Path, component: bool, verbose: bool, extra: list[str]) -> int:
    tests = sorted((checkout / "tests").glob("test_*.py"))
    if component:
        tests += sorted((checkout / "tests" / "component").glob("test_*.py"))
    if not tests:
        print(f"error: no tests/test_*.py under {checkout}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="w2p-wasmtime-alias-") as tmp:
        alias_dir = Path(tmp)
        (alias_dir / "wasmtime.py").write_text(ALIAS)
        (alias_dir / "w2p_alias_check.py").write_text(CHECK)
        (alias_dir / "wasm2py").symlink_to(ROOT / "wasm2py", target_is_directory=True)
        env = environment(alias_dir)
        found = which_wasmtime(checkout, env)
        print(f"import wasmtime -> {found}")
        if not found.startswith("wasm2py.wasmtime "):
            print("error: the alias does not take precedence", file=sys.stderr)
            return 2
        report = alias_dir / "report.xml"
        # -P: the current directory (the checkout, with its own wasmtime/ package) is not put
        # first on sys.path; --import-mode=importlib: neither is the tests' rootdir (and a `tests`
        # package elsewhere on the path cannot shadow theirs)
        cmd = [sys.executable, "-P", "-m", "pytest", "-p", "w2p_alias_check",
               "-p", "no:cacheprovider", "-o", "addopts=", "--import-mode=importlib", "-q",
               "-o", "junit_family=xunit1", f"--junitxml={report}", *[str(t.relative_to(checkout)) for t in tests], *extra]  # fmt: skip
        proc = subprocess.run(cmd, cwd=checkout, env=env, capture_output=not verbose, text=True)
        if not report.exists():
            if not verbose:
                print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
            print("error: pytest wrote no report", file=sys.stderr)
            return 2
        return summarize(ET.parse(report).getroot())


def summarize(root: ET.Element) -> int:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: list[tuple[str, str, str]] = []
    for case in root.iter("testcase"):
        path = case.get("file") or "?"
        outcome = "passed"
        message = ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "").strip().splitlines()[0:1]
                message = message[0] if message else ""
                break
        counts[path][outcome] += 1
        if outcome != "passed":
            failures.append((path, case.get("name") or "", f"{outcome}: {message}"[:200]))
    width = max((len(p) for p in counts), default=10)
    print(f"{'file':<{width}}  passed  failed  error  skipped")
    total: dict[str, int] = defaultdict(int)
    for path in sorted(counts):
        c = counts[path]
        for k, v in c.items():
            total[k] += v
        print(f"{path:<{width}}  {c['passed']:>6}  {c['failed']:>6}  {c['error']:>5}  "
              f"{c['skipped']:>7}")  # fmt: skip
    n = sum(total.values())
    print(f"{'total':<{width}}  {total['passed']:>6}  {total['failed']:>6}  {total['error']:>5}  "
          f"{total['skipped']:>7}   ({total['passed']} of {n} passed)")  # fmt: skip
    if failures:
        print("\nnot passing:")
        for path, name, what in failures:
            print(f"  {path}::{name}: {what}")
    return 0 if total["passed"] == n else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="a wasmtime-py checkout (its root directory)")
    ap.add_argument("--component", action="store_true", help="also run tests/component")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output")
    ap.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = ap.parse_args(argv)
    return run(args.checkout.resolve(), args.component, args.verbose, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
