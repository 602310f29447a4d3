"""``wasm2py run`` as a user runs it (a subprocess): WASI programs with arguments, environment,
preopens, pipes and exit statuses; traps; reactors and ``--invoke``; user errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import wasm2py
from tests.c.build import ToolchainMissing, build
from tests.wat import wat
from wasm2py.config import TIERS

CLI = [sys.executable, "-c", "import sys; from wasm2py.cli import main; sys.exit(main())"]


def wasm(name: str) -> str:
    try:
        return str(build(name))
    except ToolchainMissing as e:
        pytest.fail(str(e), pytrace=False)


def cli(*args, stdin: bytes = b"", cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "run", *map(str, args)], input=stdin, capture_output=True,
                          cwd=cwd, timeout=120)  # fmt: skip


@pytest.fixture(params=TIERS)
def tier(request) -> str:
    return request.param


def test_args_env_and_exit_status(tier):
    os.environ["WASM2PY_TEST_INHERITED"] = "from host"
    p = cli(wasm("args"), "--tier", tier, "--env", "EXIT_STATUS=7", "--env",
            "WASM2PY_TEST_INHERITED", "--env", "NOT_SET_ANYWHERE_XYZ", "--", "-x", "--y", "z")  # fmt: skip
    assert p.returncode == 7, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "argc=4"
    assert lines[2:5] == ["argv[1]=-x", "argv[2]=--y", "argv[3]=z"]
    assert "env WASM2PY_TEST_INHERITED=from host" in lines
    assert not any("NOT_SET_ANYWHERE_XYZ" in line for line in lines)


def test_stdin_pipe_to_stdout(tier):
    data = os.urandom(1 << 20)
    p = cli(wasm("cat"), "--tier", tier, "--", "-r", stdin=data)
    assert p.returncode == 0 and p.stdout == data and p.stderr == b""


def test_dir_with_and_without_guest_name(tier, tmp_path):
    (tmp_path / "f.txt").write_bytes(b"content")
    p = cli(wasm("cat"), "--dir", f"{tmp_path}::/data", "/data/f.txt")
    assert (p.returncode, p.stdout) == (0, b"content")
    p = cli(wasm("cat"), "--dir", ".", "f.txt", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, b"content")
    p = cli(wasm("cat"), "/data/f.txt")  # nothing preopened
    assert p.returncode == 1 and b"Capabilities insufficient" in p.stderr


def test_trap_prints_backtrace(tier):
    p = cli(wasm("exit"), "--tier", tier, "abort")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.startswith("wasm2py: trap: unreachable\nwasm backtrace:\n")
    assert " main (func " in err and "Traceback" not in err
    assert p.stdout == b"ending with abort 0\n"


def test_exit_status_is_truncated_like_native(tier):
    assert cli(wasm("exit"), "exit", "300").returncode == 300 & 0xFF


def test_reactor_invoke(tier):
    p = cli(wasm("reactor"), "--env", "BASE=10", "--invoke", "add", "4", "-3")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"add(4, -3) with base 10\n11\n"
    p = cli(wasm("reactor"), "--invoke", "quit", "5")
    assert (p.returncode, p.stdout) == (5, b"")


def test_non_wasi_module_still_works(tmp_path):
    path = tmp_path / "add.wasm"
    path.write_bytes(wat('(module (func (export "add") (param i32 i32) (result i32)'
                         " local.get 0 local.get 1 i32.add))"))  # fmt: skip
    p = cli(path, "--invoke", "add", "40", "2")
    assert (p.returncode, p.stdout) == (0, b"42\n")


def test_fuel():
    names = {f.name for f in __import__("dataclasses").fields(wasm2py.Config)}
    p = cli(wasm("cat"), "--fuel", "1000", "--", "-c", stdin=b"x" * 100000)
    if "consume_fuel" not in names:
        assert p.returncode == 2 and b"no fuel support" in p.stderr
        return
    assert p.returncode == 1 and b"all fuel consumed" in p.stderr
    p = cli(wasm("args"), "--fuel", "10000000", "a")
    assert p.returncode == 0 and b"argv[1]=a" in p.stdout


@pytest.mark.parametrize("args, message", [
    (["missing.wasm"], "no such file: missing.wasm"),
    (["{args}", "--dir", "/no/such/dir"], "--dir '/no/such/dir': no such directory"),
    (["{args}", "--env", "=x"], "--env '=x': expected NAME=VALUE"),
    (["{reactor}", "--invoke", "nope"], "unknown export 'nope'"),
    (["{reactor}", "--invoke", "add", "1"], "add expects 2 argument(s)"),
    (["{reactor}", "--invoke", "add", "1", "x"], "cannot parse 'x' as i32"),
    (["{reactor}"], "neither _start nor _initialize"),
])  # fmt: skip
def test_user_errors_are_one_line(args, message, tmp_path):
    if args == ["{reactor}"]:
        mod = tmp_path / "lib.wasm"
        mod.write_bytes(wat('(module (import "wasi_snapshot_preview1" "sched_yield"'
                            ' (func (result i32))))'))  # fmt: skip
        args = [str(mod)]
        message = "neither _start nor _initialize"
    args = [a.format(args=wasm("args"), reactor=wasm("reactor")) for a in args]
    p = cli(*args, cwd=tmp_path)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_unknown_wasi_import_is_a_user_error(tmp_path):
    mod = tmp_path / "bad.wasm"
    mod.write_bytes(wat('(module (import "wasi_snapshot_preview1" "fd_frobnicate" (func)))'))
    p = cli(mod)
    assert p.returncode == 2 and b"fd_frobnicate" in p.stderr and p.stderr.count(b"\n") == 1
