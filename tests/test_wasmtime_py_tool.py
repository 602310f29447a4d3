"""``tools/wasmtime_py_tests.py`` on a stand-in checkout: the alias wins over the checkout's own
``wasmtime/`` package, and results are reported per file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_runs_a_checkout_through_the_alias(tmp_path):
    checkout = tmp_path / "wasmtime-py"
    (checkout / "wasmtime").mkdir(parents=True)
    (checkout / "wasmtime" / "__init__.py").write_text("raise ImportError('the real one')\n")
    tests = checkout / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "test_a.py").write_text(
        "from wasmtime import *\n\n"
        "def test_drop_in():\n"
        "    store = Store()\n"
        "    inst = Instance(store, Module(store.engine, '(module (func (export \"f\") "
        "(result i32) i32.const 7))'), [])\n"
        "    assert inst.exports(store)['f'](store) == 7\n\n"
        "def test_fails():\n"
        "    assert Val.i32(1).as_i32() == 2\n")
    (checkout / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "wasmtime_py_tests.py"),
                        str(checkout)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("import wasmtime -> wasm2py.wasmtime ")
    assert any(line.split() == ["tests/test_a.py", "1", "1", "0", "0"] for line in lines), p.stdout
    assert "tests/test_a.py::test_fails: failed:" in p.stdout
