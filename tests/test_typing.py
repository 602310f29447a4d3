"""The public API's type hints: the package ships them (``py.typed``), mypy accepts them, and a
program using the API type-checks under ``mypy --strict`` (while misuse is caught)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import wasm2py

ROOT = Path(__file__).resolve().parents[1]


def mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", *args], cwd=cwd,
                          env=env, capture_output=True, text=True)  # fmt: skip


def test_py_typed_is_shipped():
    assert (Path(wasm2py.__file__).parent / "py.typed").is_file()
    assert 'wasm2py = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()


def test_mypy_accepts_the_package(tmp_path):
    p = mypy("--cache-dir", str(tmp_path / "cache"), "-p", "wasm2py", cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr


def test_a_client_program_type_checks_strictly(tmp_path):
    """``typing/client.py`` uses the embedding API and the wasmtime drop-in; a wrong argument
    type is reported where it is."""
    client = ROOT / "tests" / "typing" / "client.py"
    strict = ("--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"))
    p = mypy(*strict, str(client), cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("import wasm2py\n\nstore = wasm2py.Store()\nstore.set_fuel('lots')\n")
    p = mypy(*strict, str(bad), cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout.strip().splitlines() == [
        "bad.py:4: error: Argument 1 to \"set_fuel\" of \"Store\" has incompatible type \"str\"; "
        "expected \"int\"  [arg-type]"]  # fmt: skip
