"""The ``wasm2py`` command: ``--help`` everywhere, ``run --invoke`` with parsed arguments, one-line
user errors, traps with a wasm backtrace, ``compile``, ``validate``, ``inspect``, ``wast`` and
``cache info|trim|clear``.

Most cases call :func:`wasm2py.cli.main` in-process (an exception escaping it would be the
traceback a user sees); a few run the real command in a subprocess.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wasm2py
from tests.wat import wat
from wasm2py.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys; from wasm2py.cli import main; sys.exit(main())"]

CALC = wat("""
(module
  (memory (export "memory") 1)
  (global (export "g") i32 (i32.const 3))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "mulf") (param f64 f32) (result f64)
    local.get 0 local.get 1 f64.promote_f32 f64.mul)
  (func (export "f32id") (param f32) (result f32) local.get 0)
  (func (export "pair") (param i32) (result i32 f64) local.get 0 f64.const 0.5)
  (func (export "nothing"))
  (func (export "ref") (param externref))
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add
    end)
  (func $inner (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)
  (func $outer (export "divzero") (param i32) (result i32) local.get 0 call $inner)
  (func $rec (export "rec") (param i32) (result i32) local.get 0 call $rec)
  (func $oob (export "oob") (result i32) i32.const 70000 i32.load))
""")

INVALID = wat("(module (func (result i32) i64.const 1))")
NEEDS_IMPORT = wat('(module (import "env" "f" (func)) (func (export "g") call 0))')  # calls the import
START_TRAPS = wat('(module (func $boom unreachable) (start $boom) (func (export "x")))')


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """The translation cache and its key live in the test's directory (also for children)."""
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WASM2PY_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "calc.wasm").write_bytes(CALC)
    (tmp_path / "invalid.wasm").write_bytes(INVALID)
    (tmp_path / "needs_import.wasm").write_bytes(NEEDS_IMPORT)
    (tmp_path / "start_traps.wasm").write_bytes(START_TRAPS)
    (tmp_path / "garbage.wasm").write_bytes(b"this is not wasm")
    (tmp_path / "empty.wasm").write_bytes(b"")
    (tmp_path / "truncated.wasm").write_bytes(CALC[:40])
    (tmp_path / "adir.wasm").mkdir()
    return tmp_path


def run_main(capsys, *args) -> tuple[int, str, str]:
    """``wasm2py ARGS`` in-process: (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    cap = capsys.readouterr()
    return status, cap.out, cap.err


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """``wasm2py ARGS`` in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)  # fmt: skip


def assert_one_line_error(status: int, out: str, err: str) -> None:
    assert status not in (0, None), (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected one line on stderr, got {err!r}"
    assert out == ""


# -- --help ---------------------------------------------------------------------------------


def subcommands() -> list[str]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(action.choices)


def test_subcommands_are_the_documented_ones():
    assert {"run", "compile", "validate", "inspect", "wast", "cache"} <= set(subcommands())


@pytest.mark.parametrize("command", subcommands())
def test_subcommand_help(capsys, command):
    status, out, err = run_main(capsys, command, "--help")
    assert status == 0, err
    assert f"usage: wasm2py {command}" in out
    assert err == ""


def test_top_level_help_in_a_subprocess():
    p = run_cli("--help")
    assert p.returncode == 0, p.stderr
    for command in ("run", "compile", "validate", "inspect", "wast", "cache"):
        assert command in p.stdout
    assert p.stderr == ""


def test_console_script():
    exe = shutil.which("wasm2py")
    assert exe, "the wasm2py console script is not installed (pip install -e .)"
    p = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "usage: wasm2py" in p.stdout


def test_python_dash_m():
    """``wasm2py/cli/__init__.py`` has an ``if __name__ == "__main__"`` guard, so
    ``python -m wasm2py.cli`` is meant to work."""
    p = subprocess.run([sys.executable, "-m", "wasm2py.cli", "--help"], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "usage: wasm2py" in p.stdout


def test_no_command(capsys):
    status, out, err = run_main(capsys)
    assert status == 2 and "Traceback" not in err and "usage: wasm2py" in err


# -- run ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (["add", "2", "40"], "42"),
        (["add", "-1", "-2"], "-3"),
        (["add", "0x10", "1"], "17"),
        (["add", "4294967295", "1"], "0"),  # unsigned input, wraps, printed signed
        (["add", "2147483647", "1"], "-2147483648"),
        (["add64", "-9223372036854775808", "-1"], "9223372036854775807"),
        (["add64", "4294967296", "4294967296"], "8589934592"),
        (["mulf", "1.5", "-2.25"], "-3.375"),
        (["mulf", "1", "2"], "2.0"),  # ints are accepted for floats; f64 results print as floats
        (["mulf", "-inf", "0.5"], "-inf"),
        (["mulf", "nan", "1"], "nan"),
        (["f32id", "0.1"], repr(0.10000000149011612)),  # rounded to f32
        (["f32id", "-0.0"], "-0.0"),
        (["pair", "7"], "7 0.5"),
        (["fib", "20"], "6765"),
        (["nothing"], ""),
    ],
)
def test_run_invoke(capsys, files, args, expected):
    status, out, err = run_main(capsys, "run", files / "calc.wasm", "--invoke", *args)
    assert (status, err) == (0, "")
    assert out.strip() == expected


def test_run_invoke_v128(capsys, tmp_path):
    # v128 arguments are int literals (hex, or negative two's complement); results print in hex.
    path = tmp_path / "simd.wasm"
    path.write_bytes(wat("""(module (func (export "add") (param v128 v128) (result v128 i32)
        (i32x4.add (local.get 0) (local.get 1)) (i32x4.extract_lane 3 (local.get 1))))"""))
    status, out, err = run_main(capsys, "run", path, "--invoke", "add", "0x1_00000001", "-1")
    assert (status, err) == (0, "")
    assert out.strip() == "0xffffffffffffffff0000000000000000 -1"


def test_run_invoke_in_a_subprocess(files):
    p = run_cli("run", files / "calc.wasm", "--invoke", "add", "-5", "3")
    assert (p.returncode, p.stdout, p.stderr) == (0, "-2\n", "")
    p = run_cli("run", files / "calc.wasm", "--invoke", "mulf", "--", "-1.5", "2")
    assert (p.returncode, p.stdout, p.stderr) == (0, "-3.0\n", "")


def test_run_main_by_default(capsys, tmp_path):
    (tmp_path / "m.wasm").write_bytes(
        wat('(module (func (export "main") (result i32) i32.const 5))')
    )
    assert run_main(capsys, "run", tmp_path / "m.wasm") == (0, "5\n", "")


def test_run_readme_example(capsys):
    """README: ``wasm2py run examples/demo.wasm --invoke fib 20`` (demo.wasm imports env.log,
    which fib does not call)."""
    status, out, err = run_main(
        capsys, "run", ROOT / "examples" / "demo.wasm", "--invoke", "fib", "20"
    )
    assert (status, out, err) == (0, "6765\n", "")


@pytest.mark.parametrize(
    "args, message",
    [
        (["calc.wasm", "--invoke", "add", "1"], "argument"),  # too few
        (["calc.wasm", "--invoke", "add", "1", "2", "3"], "argument"),  # too many
        (["calc.wasm", "--invoke", "nothing", "1"], "argument"),
        (["calc.wasm", "--invoke", "nope"], "nope"),
        (["calc.wasm", "--invoke", "g"], "g"),  # a global, not a function
        (["calc.wasm", "--invoke", "add", "x", "1"], "x"),
        (["calc.wasm", "--invoke", "add", "1.5", "1"], "1.5"),
        (["calc.wasm", "--invoke", "add", "4294967296", "1"], "4294967296"),
        (["calc.wasm", "--invoke", "add64", "-9223372036854775809", "1"], "9223372036854775809"),
        (["calc.wasm", "--invoke", "mulf", "abc", "1"], "abc"),
        (["calc.wasm", "--invoke", "ref", "1"], "externref"),
        (["calc.wasm"], "invoke"),  # no _start or main
        (["missing.wasm", "--invoke", "f"], "missing.wasm"),
        (["adir.wasm", "--invoke", "f"], "adir.wasm"),
        (["garbage.wasm"], "garbage.wasm"),
        (["empty.wasm"], "empty.wasm"),
        (["truncated.wasm"], "truncated.wasm"),
        (["invalid.wasm"], "invalid.wasm"),
        (["needs_import.wasm", "--invoke", "g"], "env.f"),
    ],
)
def test_run_user_errors_are_one_line(capsys, files, monkeypatch, args, message):
    monkeypatch.chdir(files)
    status, out, err = run_main(capsys, "run", *args)
    assert_one_line_error(status, out, err)
    assert message in err


def test_run_user_errors_in_a_subprocess(files):
    for args in (["missing.wasm", "--invoke", "f"], ["garbage.wasm"], ["invalid.wasm"],
                 ["calc.wasm", "--invoke", "add", "1"], ["calc.wasm", "--invoke", "nope"],
                 ["adir.wasm"]):  # fmt: skip
        p = run_cli("run", *args, cwd=files)
        assert_one_line_error(p.returncode, p.stdout, p.stderr)


def test_run_without_module_names_only_what_is_missing(capsys):
    status, out, err = run_main(capsys, "run")
    assert status == 2 and "Traceback" not in err
    error = err.strip().splitlines()[-1]
    assert "module" in error
    assert "args" not in error, f"the export arguments are optional: {error!r}"


def test_trap_prints_trap_and_backtrace(capsys, files):
    status, out, err = run_main(capsys, "run", files / "calc.wasm", "--invoke", "divzero", "5")
    assert status not in (0, 2), err
    assert "Traceback" not in err and out == ""
    assert "integer divide by zero" in err
    backtrace = err.split("wasm backtrace:", 1)[1]
    assert backtrace.index("inner") < backtrace.index("outer")


def test_trap_in_a_subprocess(files):
    p = run_cli("run", files / "calc.wasm", "--invoke", "oob")
    assert p.returncode not in (0, 2)
    assert "Traceback" not in p.stderr
    assert "out of bounds memory access" in p.stderr
    assert "wasm backtrace:" in p.stderr and "oob" in p.stderr.split("wasm backtrace:")[1]


def test_trap_in_start_function(capsys, files):
    status, out, err = run_main(capsys, "run", files / "start_traps.wasm", "--invoke", "x")
    assert status not in (0, 2) and "Traceback" not in err
    assert "unreachable" in err and "wasm backtrace:" in err and "boom" in err


def test_stack_exhaustion_backtrace_is_bounded(capsys, files):
    status, out, err = run_main(capsys, "run", files / "calc.wasm", "--invoke", "rec", "1")
    assert status not in (0, 2) and "Traceback" not in err and "RecursionError" not in err
    assert "call stack exhausted" in err and "wasm backtrace:" in err and "rec" in err
    assert len(err.splitlines()) < 1000


# -- compile --------------------------------------------------------------------------------


def test_compile_then_import(files):
    p = run_cli("compile", "calc.wasm", "-o", "calc_aot.py", cwd=files)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "calc_aot.py" in p.stdout
    src = (files / "calc_aot.py").read_text(encoding="ascii")
    assert "from wasm2py.runtime" in src
    code = ("import sys; sys.path.insert(0, '.'); import calc_aot\n"
            "ex = calc_aot.instantiate().exports\n"
            "print(ex.add(2, 40), ex['fib'](20), ex.pair(3), ex.g.value)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('wasm2py.translate', "
            "'wasm2py.validate', 'wasm2py.binary.decoder', 'llvmlite'))))")  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], cwd=files, capture_output=True, text=True,
                       env=env, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["42 6765 (3, 0.5) 3", "[]"]


def test_compile_fuel_writes_a_metered_module(capsys, files, monkeypatch):
    """``--fuel``: fib(20) from fuel 0, resumed at every pause, in the file's instance."""
    monkeypatch.chdir(files)
    status, out, err = run_main(capsys, "compile", "calc.wasm", "--fuel", "-o", "calc_fuel.py")
    assert (status, err) == (0, "")
    spec = importlib.util.spec_from_file_location("calc_fuel", files / "calc_fuel.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod._FUEL is True
    inst = mod.instantiate()
    inst.store.set_fuel(0)
    r = inst.exports.fib.call_resumable(20)
    pauses = 0
    while isinstance(r, wasm2py.OutOfFuel):
        pauses += 1
        inst.store.set_fuel(r.required_fuel)
        r = r.resume()
    assert r.results == 6765 and pauses > 20


def test_compile_no_resume_leaves_the_resume_entries_out(capsys, files, monkeypatch):
    monkeypatch.chdir(files)
    for args, name in (((), "calc_r.py"), (("--no-resume",), "calc_nr.py")):
        status, out, err = run_main(capsys, "compile", "calc.wasm", *args, "-o", name)
        assert (status, err) == (0, "")
    with_entries = (files / "calc_r.py").read_text(encoding="ascii")
    without = (files / "calc_nr.py").read_text(encoding="ascii")
    assert "__resume(" in with_entries and "__resume(" not in without
    assert len(without) < len(with_entries)


def test_compile_default_output_name(capsys, files, monkeypatch):
    monkeypatch.chdir(files)
    status, out, err = run_main(capsys, "compile", "calc.wasm")
    assert (status, err) == (0, "")
    assert (files / "calc.py").is_file()
    compile((files / "calc.py").read_text(encoding="ascii"), "calc.py", "exec")


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.wasm", "-o", "x.py"], "missing.wasm"),
        (["adir.wasm", "-o", "x.py"], "adir.wasm"),
        (["garbage.wasm", "-o", "x.py"], "garbage.wasm"),
        (["invalid.wasm", "-o", "x.py"], "invalid.wasm"),
        (["calc.wasm", "-o", "x.txt"], "x.txt"),
    ],
)
def test_compile_user_errors(capsys, files, monkeypatch, args, message):
    monkeypatch.chdir(files)
    status, out, err = run_main(capsys, "compile", *args)
    assert_one_line_error(status, out, err)
    assert message in err
    assert not (files / "x.py").exists() and not (files / "x.txt").exists()


# -- validate and inspect -------------------------------------------------------------------


def test_validate_good(capsys, files):
    status, out, err = run_main(capsys, "validate", files / "calc.wasm")
    assert (status, err) == (0, "")
    assert "valid" in out


@pytest.mark.parametrize("command", ["validate", "inspect"])
@pytest.mark.parametrize(
    "name, message",
    [
        ("invalid.wasm", "type mismatch"),
        ("garbage.wasm", "magic"),
        ("truncated.wasm", "truncated.wasm"),
        ("empty.wasm", "empty.wasm"),
        ("missing.wasm", "missing.wasm"),
        ("adir.wasm", "adir.wasm"),
    ],
)
def test_validate_and_inspect_bad(capsys, files, monkeypatch, command, name, message):
    monkeypatch.chdir(files)
    status, out, err = run_main(capsys, command, name)
    assert_one_line_error(status, out, err)
    assert message in err


def test_validate_bad_in_a_subprocess(files):
    p = run_cli("validate", "invalid.wasm", cwd=files)
    assert_one_line_error(p.returncode, p.stdout, p.stderr)
    assert "type mismatch" in p.stderr


def test_inspect_lists_imports_and_exports(capsys):
    status, out, err = run_main(capsys, "inspect", ROOT / "examples" / "demo.wasm")
    assert (status, err) == (0, "")
    assert "env.log" in out and "[i32] -> []" in out
    for name in ("memory", "add", "fib", "checksum", "crash"):
        assert f"{name}:" in out
    assert "[i32 i32] -> [i32]" in out
    assert "4 defined" in out and "1 imported" in out


SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount"}  # fmt: skip


def sections(data: bytes) -> list[tuple[int, int]]:
    """(id, payload size) of every section."""
    pos, out = 8, []
    while pos < len(data):
        sid = data[pos]
        pos += 1
        size = shift = 0
        while True:
            b = data[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append((sid, size))
        pos += size
    return out


def test_inspect_lists_sections_and_sizes(capsys):
    """The issue: ``inspect`` shows imports, exports, sections, sizes and the function count."""
    path = ROOT / "examples" / "demo.wasm"
    status, out, err = run_main(capsys, "inspect", path)
    assert status == 0, err
    lines = out.lower().splitlines()
    for sid, size in sections(path.read_bytes()):
        name = SECTION_NAMES[sid]
        assert any(name in line and str(size) in line for line in lines), (
            f"no line names the {name} section with its size {size}:\n{out}"
        )


# -- wast -----------------------------------------------------------------------------------

PASSING_WAST = """
(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const -1) (i32.const 1)) (i32.const 0))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_invalid (module (func (result i32) i64.const 1)) "type mismatch")
"""

FAILING_WAST = """
(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (i32.const 4))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
"""


def test_wast_passing(tmp_path):
    (tmp_path / "ok.wast").write_text(PASSING_WAST)
    p = run_cli("wast", tmp_path / "ok.wast")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "passed" in p.stdout and "Traceback" not in p.stderr
    assert "0 failing" in p.stdout


def test_wast_failing_assertion(capsys, tmp_path):
    (tmp_path / "bad.wast").write_text(FAILING_WAST)
    status, out, err = run_main(capsys, "wast", tmp_path / "bad.wast")
    assert status == 1
    assert "Traceback" not in err
    assert "bad.wast:4" in err  # the failing command, by line
    assert "got 3" in err
    assert "1 failing" in out


@pytest.mark.parametrize("what", ["missing", "directory", "syntax"])
def test_wast_user_errors(capsys, tmp_path, what):
    path = tmp_path / "s.wast"
    if what == "directory":
        path.mkdir()
    elif what == "syntax":
        path.write_text("(module (func")
    status, out, err = run_main(capsys, "wast", path)
    assert status not in (0, None) and "Traceback" not in err and out == ""
    assert err.startswith("wasm2py: error:") and "s.wast" in err


# -- cache ----------------------------------------------------------------------------------


def test_cache_info_and_clear(capsys, files, tmp_path):
    cache = tmp_path / "cache"
    status, out, err = run_main(capsys, "cache", "info")
    assert (status, err) == (0, "")
    assert str(cache) in out and "python:    0 entries" in out
    # a run validates the module and translates what it calls: two entries (the module's
    # validated mark, the log of its translated functions)
    assert run_main(capsys, "run", files / "calc.wasm", "--invoke", "add", "1", "2")[:2] == (
        0,
        "3\n",
    )
    status, out, err = run_main(capsys, "cache", "info")
    assert status == 0 and "python:    2 entries" in out
    assert any(cache.iterdir())
    assert not (cache / "cache.key").exists()  # the HMAC key is kept outside the cache
    assert (tmp_path / "config" / "cache.key").is_file()
    status, out, err = run_main(capsys, "cache", "clear")
    assert (status, err) == (0, "")
    assert "removed 2" in out
    assert not [p for p in cache.iterdir() if p.is_file()]
    status, out, err = run_main(capsys, "cache", "info")
    assert status == 0 and "python:    0 entries" in out


def test_cache_in_a_subprocess(files, tmp_path):
    cache = tmp_path / "cache"
    assert run_cli("run", files / "calc.wasm", "--invoke", "fib", "10").stdout == "55\n"
    p = run_cli("cache", "info")
    assert p.returncode == 0 and str(cache) in p.stdout and "python:    2 entries" in p.stdout
    p = run_cli("cache", "clear")
    assert p.returncode == 0 and "removed 2" in p.stdout and p.stderr == ""


def test_cache_clear_when_missing(capsys, tmp_path):
    assert not (tmp_path / "cache").exists()
    status, out, err = run_main(capsys, "cache", "clear")
    assert (status, err) == (0, "")
    status, out, err = run_main(capsys, "cache", "info")
    assert status == 0 and "python:    0 entries" in out


def test_cache_counts_trims_and_clears_machine_code(capsys, files, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert run_main(capsys, "run", files / "calc.wasm", "--tier", "llvm", "--invoke", "fib",
                    "10")[:2] == (0, "55\n")  # fmt: skip
    machine = list(cache.glob("llvm-*.o"))
    assert len(machine) == 1
    status, out, _ = run_main(capsys, "cache")  # info is the default
    assert status == 0 and "llvm:      1 entries" in out and "python:    1 entries" in out
    # trimming to a cap smaller than both files removes the least recently used first
    os.utime(machine[0], (1, 1))
    status, out, _ = run_main(capsys, "cache", "trim", "--max-size", "1")
    assert status == 0 and "removed 2 entries" in out
    assert not list(cache.glob("llvm-*.o")) and not list(cache.glob("*.w2p"))
    assert run_main(capsys, "run", files / "calc.wasm", "--tier", "llvm", "--invoke", "fib",
                    "10")[:2] == (0, "55\n")  # fmt: skip
    status, out, _ = run_main(capsys, "cache", "clear")
    assert status == 0 and "removed 2 entries" in out
    status, out, err = run_main(capsys, "cache", "info", "--max-size", "1")
    assert status == 2 and "trim" in err


def test_cache_clear_and_trim_take_the_tier_up_manifests(capsys, tmp_path):
    """A module's tier-up manifest (``llvm-units-*.log``, ``.txt`` from older versions) is the
    cache's too: ``clear`` removes it and ``trim`` may evict it (they were never removed)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    for name in ("llvm-units-1.log", "llvm-units-2.txt"):
        (cache / name).write_bytes(b"x" * 100)
    status, out, _ = run_main(capsys, "cache", "trim", "--max-size", "150")
    assert status == 0 and "removed 1 entries" in out
    assert len(list(cache.glob("llvm-units-*"))) == 1
    status, out, _ = run_main(capsys, "cache", "clear")
    assert status == 0 and "removed 1 entries" in out and not list(cache.iterdir())


def test_cache_cap_evicts_least_recently_used(tmp_path, monkeypatch):
    """Writes beyond the cap remove the oldest entries (validated marks and function logs
    alike): the cache never grows without bound."""
    from wasm2py import Engine, Instance, Module, Store, cache

    mods = [wat(f"(module (func (export \"f\") (result i32) i32.const {i}))") for i in range(6)]

    def use(wasm):
        engine = Engine()
        assert Instance(Store(engine), Module(engine, wasm)).exports.f() == mods.index(wasm)

    use(mods[0])
    one = cache.info()["bytes"]  # the module's validated mark and the log of its function
    assert cache.info()["entries"] == 2
    monkeypatch.setenv("WASM2PY_CACHE_MAX_BYTES", str(3 * one))
    for m in mods[1:]:
        use(m)
        assert cache.info()["total_bytes"] <= 3 * one
    # the newest entries survive; the first (least recently used) are gone
    assert cache.info()["entries"] < 12
    validated, logged = [], []
    real_valid, real_read = cache.is_validated, cache.FunctionLog.read

    def spy_valid(wasm, *features):
        validated.append(real_valid(wasm, *features))
        return validated[-1]

    def spy_read(log):
        logged.append(len(real_read(log)))
        return real_read(log)

    monkeypatch.setattr(cache, "is_validated", spy_valid)
    monkeypatch.setattr(cache.FunctionLog, "read", spy_read)
    use(mods[-1])
    use(mods[0])
    assert validated == [True, False] and logged == [1, 0]


def test_cache_size_parsing():
    from wasm2py.cache import parse_size

    assert parse_size("512") == 512
    assert parse_size("100K") == 102400
    assert parse_size("64M") == 64 << 20
    assert parse_size("2g") == 2 << 30
    with pytest.raises(ValueError):
        parse_size("lots")


def test_cache_bad_action(capsys):
    status, out, err = run_main(capsys, "cache", "bogus")
    assert status == 2 and "Traceback" not in err and "bogus" in err


def test_version_and_module_entry_point():
    import wasm2py

    for cmd in ([sys.executable, "-m", "wasm2py", "--version"],
                [sys.executable, "-m", "wasm2py.cli", "--version"]):  # fmt: skip
        p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        assert p.returncode == 0 and p.stdout.startswith(f"wasm2py {wasm2py.__version__} ")
    p = subprocess.run([sys.executable, "-m", "wasm2py"], capture_output=True, text=True)
    assert p.returncode == 2 and "usage: wasm2py" in p.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_only():
    """A slow step shows its label and the seconds so far on a terminal, then erases the line;
    a quick one, or any step on a non-terminal, writes nothing."""
    from wasm2py.cli.progress import Progress

    term = _Terminal()
    with Progress("compiling x.wasm", stream=term, delay=0.01, interval=0.01):
        time.sleep(0.2)
    out = term.getvalue()
    assert out.startswith("\rcompiling x.wasm (") and " s)" in out
    width = max(len(line) for line in out.split("\r") if line.strip())
    assert out.endswith("\r" + " " * width + "\r")
    quick = _Terminal()
    with Progress("compiling", stream=quick, delay=5):
        pass
    assert quick.getvalue() == ""
    pipe = io.StringIO()
    with Progress("compiling", stream=pipe, delay=0.0, interval=0.01):
        time.sleep(0.05)
    assert pipe.getvalue() == ""


def test_translate_prints_the_generated_code_and_names_bad_files(capsys, tmp_path):
    from wasm2py.translate.__main__ import main as translate_main

    good = tmp_path / "m.wasm"
    good.write_bytes(wat('(module (func (export "f") (param i32) (result i32) local.get 0))'))
    assert translate_main([str(good)]) == 0
    assert "def " in capsys.readouterr().out
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"garbage")
    for path in (bad, tmp_path / "missing.wasm"):
        assert translate_main([str(path)]) == 1
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        translate_main(["--help"])
    assert "MODULE.wasm" in capsys.readouterr().out


def test_run_freezes_the_startup_objects_while_the_program_runs_only():
    import gc

    from wasm2py.cli.run import _startup_frozen

    assert gc.get_freeze_count() == 0
    with _startup_frozen():
        assert gc.get_freeze_count() > 0  # (the objects that exist now)
    assert gc.get_freeze_count() == 0  # given back to the collector at the end
    # something else froze objects first: left as it was
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with _startup_frozen():
            pass
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()
