"""The C-to-wasm builds of the tests and tools do not depend on binaryen being installed.

clang runs ``wasm-opt`` after an optimised wasm link when it finds one; with binaryen installed
that rewrote our test programs (``main`` inlined into ``_start``) and broke the backtrace tests.
A fake ``wasm-opt`` that records its use and fails stands in for binaryen here: clang finds it
first (``COMPILER_PATH`` is searched before clang's own directory and ``PATH``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import wasm2py
from tests.c.build import FLAGS, ToolchainMissing, build, toolchain
from tools.bench.build import build_kernel, clang_missing
from wasm2py.wasi import WasiConfig, run


@pytest.fixture
def fake_wasm_opt(tmp_path, monkeypatch) -> Path:
    _clang()  # checked (and cached) while the real toolchain is on the path
    """A ``wasm-opt`` that fails and leaves a log behind; returns the log's path."""
    bin_dir = tmp_path / "fake-binaryen"
    bin_dir.mkdir()
    log = tmp_path / "wasm-opt.log"
    script = bin_dir / "wasm-opt"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexit 7\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("COMPILER_PATH", str(bin_dir))
    return log


def _clang() -> str:
    try:
        return toolchain()[0]
    except ToolchainMissing as e:
        pytest.fail(str(e), pytrace=False)


def test_the_fake_would_break_a_plain_optimised_build(fake_wasm_opt, tmp_path):
    # The premise: a one-step `clang -O2 ... -o x.wasm` runs the fake (and fails).
    src = tmp_path / "p.c"
    src.write_text("int main(void) { return 0; }\n")
    proc = subprocess.run([shutil.which("clang"), *FLAGS, str(src), "-o", str(tmp_path / "p.wasm")],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0
    assert fake_wasm_opt.exists()


def test_wasi_test_programs_build_without_wasm_opt(fake_wasm_opt, tmp_path):
    _clang()
    wasm = build("exit", cache_dir=tmp_path / "cache")
    assert not fake_wasm_opt.exists()
    # main stays a function of its own (wasm-opt inlined it into _start)
    engine = wasm2py.Engine()
    module = wasm2py.Module.from_file(engine, wasm)
    with pytest.raises(wasm2py.Trap) as info:
        run(module, WasiConfig(argv=["exit", "abort"]), wasm2py.Store(engine))
    names = [name for _, name, _ in info.value.frames]
    assert "main" in names and "_start" in names


def test_bench_kernels_build_without_wasm_opt(fake_wasm_opt, tmp_path):
    if clang_missing():
        pytest.fail(clang_missing(), pytrace=False)
    wasm = build_kernel("fib", cache_dir=tmp_path / "cache", force=True)
    assert not fake_wasm_opt.exists()
    engine = wasm2py.Engine()
    inst = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module.from_file(engine, wasm))
    assert inst.exports.run(20) == 6765  # fib(20), by hand: the 20th Fibonacci number
