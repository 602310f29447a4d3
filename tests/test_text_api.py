"""Text wherever a binary is accepted: ``wasm2py.wat2wasm``, ``Module(engine, text)``,
``Module.from_file("x.wat")``, ``Module.validate``, ``wasm2py.compile`` and the CLI commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import wasm2py

from .wat import wat

ADDER = """(module
  (func $add (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))
  (memory (export "mem") 1)
  (data (i32.const 8) "hi"))
"""
ROOT = Path(__file__).resolve().parent.parent


def _call_add(module: wasm2py.Module) -> int:
    instance = wasm2py.Instance(wasm2py.Store(module.engine), module, {})
    return instance.exports.add(2, 40)


def test_wat2wasm_is_exported():
    assert wasm2py.wat2wasm(ADDER) == wat(ADDER)
    assert issubclass(wasm2py.ParseError, wasm2py.Error)


def test_module_from_text():
    engine = wasm2py.Engine()
    assert _call_add(wasm2py.Module(engine, ADDER)) == 42
    assert _call_add(wasm2py.Module(engine, ADDER.encode())) == 42  # bytes not starting with \0
    assert _call_add(wasm2py.Module(ADDER)) == 42


def test_module_from_wat_file(tmp_path):
    path = tmp_path / "adder.wat"
    path.write_text(ADDER)
    module = wasm2py.Module.from_file(wasm2py.Engine(), path)
    assert module.name == "adder"
    assert _call_add(module) == 42
    assert [e.name for e in module.exports] == ["add", "mem"]


def test_malformed_text_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.wat"
    path.write_text("(module\n  (func (result i32)\n    (i32.const 1) (i32.nope)))\n")
    with pytest.raises(wasm2py.ParseError) as info:
        wasm2py.Module.from_file(path)
    err = info.value
    assert (err.line, err.column) == (3, 20)
    assert "unknown operator 'i32.nope'" in str(err) and str(path) in str(err)


def test_validate_text():
    wasm2py.Module.validate(wasm2py.Engine(), ADDER)
    with pytest.raises(wasm2py.ValidationError):
        wasm2py.Module.validate(wasm2py.Engine(), "(module (func (result i32) (i64.const 1)))")
    with pytest.raises(wasm2py.ParseError):
        wasm2py.Module.validate(wasm2py.Engine(), "(module (func (result i32) (i64.const)))")


def test_binary_still_binary():
    data = wat(ADDER)
    assert _call_add(wasm2py.Module(data)) == 42
    with pytest.raises(wasm2py.DecodeError):
        wasm2py.Module(b"\0asm\x02\0\0\0")  # starts with \0: read as a binary


def test_neither_format():
    """Bytes that do not start (after white space) with "(" or ";" are a binary."""
    with pytest.raises(wasm2py.DecodeError, match="magic"):
        wasm2py.Module(b"\x7fELF not wasm")
    with pytest.raises(wasm2py.DecodeError):
        wasm2py.Module(b"")
    assert _call_add(wasm2py.Module(b"\n\t ;; a comment first\n" + ADDER.encode())) == 42
    with pytest.raises(TypeError):
        wasm2py.Module(wasm2py.Engine(), 42)


def test_compile_ahead_of_time_from_text(tmp_path):
    path = tmp_path / "adder.wat"
    path.write_text(ADDER)
    source = wasm2py.compile(path)
    assert "adder.wat" in source and "def " in source
    assert wasm2py.compile(ADDER.encode(), name="x.wasm") == wasm2py.compile(wat(ADDER),
                                                                                name="x.wasm")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wasm2py.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip


def test_cli_commands_read_wat(tmp_path):
    path = tmp_path / "adder.wat"
    path.write_text(ADDER)
    run = _cli("run", path, "--invoke", "add", "20", "22")
    assert run.returncode == 0 and run.stdout.strip() == "42", run.stderr
    assert "valid" in _cli("validate", path).stdout
    inspect = _cli("inspect", path)
    assert inspect.returncode == 0 and "add: func" in inspect.stdout
    assert f"size: {len(wat(ADDER))} bytes" in inspect.stdout
    out = tmp_path / "adder.py"
    assert _cli("compile", path, "-o", out).returncode == 0 and out.is_file()


def test_cli_reports_parse_errors_on_one_line(tmp_path):
    path = tmp_path / "bad.wat"
    path.write_text("(module (func $f) (func $f))")
    for command in ("run", "validate", "inspect", "compile"):
        p = _cli(command, path)
        assert p.returncode == 2, (command, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in p.stderr
        assert f"{path}:1:25: duplicate function $f" in lines[0]


def test_import_hook_finds_wat(tmp_path, monkeypatch):
    (tmp_path / "hooked_adder.wat").write_text(ADDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    wasm2py.install_import_hook()
    try:
        import hooked_adder  # type: ignore[import-not-found]

        assert hooked_adder.instantiate().exports.add(1, 2) == 3
    finally:
        wasm2py.uninstall_import_hook()
        sys.modules.pop("hooked_adder", None)
