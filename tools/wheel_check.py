"""Build wasm2py's wheel, install it in a fresh virtual environment and run a WASI program with it.

What a new user gets from ``pip install wasm2py``: the wheel is built from the committed tree
(``git archive HEAD``, so nothing uncommitted or git-ignored slips in), installed with its
dependencies from the package index into a new venv (no system site-packages), and the venv's
``wasm2py`` command then has to print its version, run a small WASI program in every tier (its
output and exit status are checked against what the program's text says), and show its cache.
The run needs the package index (llvmlite, tqdm), so it is a tool rather than a test.

Usage::

    python tools/wheel_check.py [--keep DIR]

Exit status: 0 if every step worked, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: writes a line to stdout with WASI's fd_write, then exits with status 3
PROGRAM = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from a wheel\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))   ;; iovec: base
    (i32.store (i32.const 4) (i32.const 19))   ;; iovec: length
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))
"""
EXPECTED_OUTPUT = "hello from a wheel\n"
EXPECTED_STATUS = 3


def step(what: str, cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    print(f"$ {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).strip()
    if out:
        print("  " + out.replace("\n", "\n  "))
    return proc


def check(work: Path) -> int:
    from wasm2py.wasmtime import wat2wasm  # the dev environment's wasm-tools, not the venv's

    src = work / "src"
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"],
                             capture_output=True, check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(src, filter="data")
    # a clean environment: no PYTHONPATH (it would find the checkout), a private cache
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["WASM2PY_CACHE_DIR"] = str(work / "cache")
    dist, venv = work / "dist", work / "venv"
    bindir = venv / "bin"
    prog = work / "hello.wasm"
    prog.write_bytes(bytes(wat2wasm(PROGRAM)))

    failures = []
    p = step("wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
                       str(src)], env, work)  # fmt: skip
    wheels = sorted(dist.glob("wasm2py-*.whl"))
    if p.returncode or not wheels:
        print("FAILED: building the wheel")
        return 1
    step("venv", [sys.executable, "-m", "venv", str(venv)], env, work)
    p = step("install", [str(bindir / "pip"), "install", "-q", str(wheels[0])], env, work)
    if p.returncode:
        print("FAILED: installing the wheel")
        return 1
    p = step("where", [str(bindir / "python"), "-c",
                       "import wasm2py, importlib.resources as r; print(wasm2py.__file__); "
                       "print('py.typed', r.files('wasm2py').joinpath('py.typed').is_file())"],
             env, work)  # fmt: skip
    if p.returncode or str(venv) not in p.stdout or "py.typed True" not in p.stdout:
        failures.append("the venv does not import its own wasm2py with py.typed")
    for cmd in ([str(bindir / "wasm2py"), "--version"],
                [str(bindir / "python"), "-m", "wasm2py", "--version"]):  # fmt: skip
        p = step("version", cmd, env, work)
        if p.returncode or not p.stdout.startswith("wasm2py "):
            failures.append(f"{' '.join(cmd[-2:])} did not print the version")
    for tier in ("python", "llvm", "auto"):
        p = step("run", [str(bindir / "wasm2py"), "run", "--tier", tier, str(prog)], env, work)
        if p.stdout != EXPECTED_OUTPUT or p.returncode != EXPECTED_STATUS:
            failures.append(f"wasm2py run --tier {tier}: output {p.stdout!r}, "
                            f"status {p.returncode}")  # fmt: skip
    p = step("cache", [str(bindir / "wasm2py"), "cache", "info"], env, work)
    if p.returncode:
        failures.append("wasm2py cache info failed")
    print()
    for f in failures:
        print(f"FAILED: {f}")
    if not failures:
        print(f"ok: {wheels[0].name} installed in a fresh venv runs `wasm2py run` in every tier")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="work in DIR (kept) instead of a temporary one")
    args = ap.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return check(args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="w2p-wheel-") as tmp:
        return check(Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
