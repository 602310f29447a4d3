"""WASI programs written in C (``tests/c/*.c``), compiled to wasm32-wasi with clang and run in
every tier: arguments, environment, exit statuses, traps, stdin to stdout, large reads and
writes, files, directories, symlinks, clocks, poll, and attempts to leave the sandbox.

Programs whose whole output is pinned down have it in ``tests/c/<name>.expected`` (regenerate
after a deliberate change with ``WASI_UPDATE_EXPECTED=1 pytest tests/test_wasi_programs.py``,
then review the diff). Without clang and wasi-libc these tests fail, saying what to install.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

import wasm2py
from tests.c.build import C_DIR, ToolchainMissing, build
from wasm2py.config import TIERS
from wasm2py.wasi import Wasi, WasiConfig, WasiExit, call_entry, instantiate, run

_ENGINES: dict[str, wasm2py.Engine] = {}
_MODULES: dict[tuple[str, str], wasm2py.Module] = {}


@pytest.fixture(params=TIERS)
def tier(request) -> str:
    return request.param


def program(name: str, tier: str) -> wasm2py.Module:
    """The compiled, translated test program (cached per tier for the session)."""
    try:
        path = build(name)
    except ToolchainMissing as e:
        pytest.fail(str(e), pytrace=False)
    key = (str(path), tier)
    if key not in _MODULES:
        engine = _ENGINES.setdefault(tier, wasm2py.Engine(wasm2py.Config(tier=tier)))
        _MODULES[key] = wasm2py.Module.from_file(engine, path)
    return _MODULES[key]


def execute(name: str, tier: str, argv=(), env=None, preopens=None, stdin: bytes = b""):
    """Run a test program; returns ``(status, stdout bytes, stderr bytes)``."""
    module = program(name, tier)
    out, err = io.BytesIO(), io.BytesIO()
    config = WasiConfig(argv=[name, *argv], env=env or {}, preopens=preopens or {},
                        stdin=io.BytesIO(stdin), stdout=out, stderr=err)  # fmt: skip
    status = run(module, config, wasm2py.Store(module.engine))
    return status, out.getvalue(), err.getvalue()


def expect(name: str, text: str) -> None:
    """Compare with ``tests/c/<name>.expected`` (or write it, when updating)."""
    path = C_DIR / f"{name}.expected"
    if os.environ.get("WASI_UPDATE_EXPECTED"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.fixture
def sandbox(tmp_path) -> Path:
    """``tmp_path/sb`` (to be preopened) with hostile symlinks, beside ``tmp_path/outside``."""
    sb, outside = tmp_path / "sb", tmp_path / "outside"
    (sb / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (sb / "inside.txt").write_text("inside\n")
    os.symlink(outside, sb / "out-abs")
    os.symlink("../outside", sb / "out-rel")
    os.symlink("../../outside/secret.txt", sb / "sub" / "deep")
    os.symlink("../inside.txt", sb / "sub" / "ok")
    os.symlink("loop", sb / "loop")
    return sb


def test_toolchain_present():
    """The WASI tests need clang + wasi-libc: say so clearly instead of skipping."""
    try:
        build("args")
    except ToolchainMissing as e:
        pytest.fail(str(e), pytrace=False)


# -- args, environment, exit ------------------------------------------------------------------
def test_args_and_environment(tier):
    argv = ["plain", "with space", "ünïcødé ✓", "", "--flag=1"]
    env = {"HOME": "/home/guest", "EMPTY": "", "EQ": "a=b=c"}
    status, out, _ = execute("args", tier, argv, env)
    assert status == 0
    assert out.decode().splitlines() == [
        "argc=6", "argv[0]=args", "argv[1]=plain", "argv[2]=with space",
        "argv[3]=ünïcødé ✓", "argv[4]=", "argv[5]=--flag=1",
        "env EMPTY=", "env EQ=a=b=c", "env HOME=/home/guest", "HOME=/home/guest",
    ]  # fmt: skip


def test_no_arguments_no_environment(tier):
    module = program("args", tier)
    out = io.BytesIO()
    assert run(module, WasiConfig(stdout=out), wasm2py.Store(module.engine)) == 0
    assert out.getvalue() == b"argc=0\nHOME=(unset)\n"


@pytest.mark.parametrize("status", [0, 1, 42, 255])
def test_exit_status_from_main(tier, status):
    assert execute("args", tier, env={"EXIT_STATUS": str(status)})[0] == status


@pytest.mark.parametrize("how, n", [("exit", 3), ("return", 9), ("_Exit", 250), ("exit", 0)])
def test_exit_paths_flush_and_report_status(tier, how, n):
    status, out, _ = execute("exit", tier, [how, str(n)])
    assert status == n
    assert out == f"ending with {how} {n}\n".encode()


@pytest.mark.parametrize("how, code", [
    ("abort", wasm2py.TrapCode.UNREACHABLE),
    ("trap", wasm2py.TrapCode.UNREACHABLE),
    ("oob", wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS),
])  # fmt: skip
def test_traps_surface_with_backtrace(tier, how, code):
    with pytest.raises(wasm2py.Trap) as info:
        execute("exit", tier, [how])
    assert info.value.code == code
    names = [name for _, name, _ in info.value.frames]
    assert "main" in names and "_start" in names


# -- stdin / stdout ---------------------------------------------------------------------------
def test_stdin_to_stdout_stdio(tier):
    data = os.urandom(300_000)
    status, out, _ = execute("cat", tier, stdin=data)
    assert status == 0 and out == data


def test_large_raw_reads_and_writes(tier):
    # read(2)/write(2) with a 1 MiB buffer: each call moves up to 1 MiB in one fd_read/fd_write
    data = os.urandom(6 * 1024 * 1024 + 123)
    status, out, _ = execute("cat", tier, ["-r"], stdin=data)
    assert status == 0 and out == data


def test_large_input_checksum(tier):
    data = bytes(range(256)) * 2000
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    status, out, _ = execute("cat", tier, ["-c"], stdin=data)
    assert out.decode() == f"{len(data)} {h:08x}\n"


def test_files_through_preopen(tier, tmp_path):
    (tmp_path / "one.txt").write_bytes(b"first\n")
    (tmp_path / "two.bin").write_bytes(bytes(range(256)) * 4096)
    want = (tmp_path / "one.txt").read_bytes() + (tmp_path / "two.bin").read_bytes()
    for mode in ([], ["-r"]):
        status, out, _ = execute("cat", tier, [*mode, "/d/one.txt", "/d/two.bin"],
                                 preopens={"/d": tmp_path})  # fmt: skip
        assert status == 0 and out == want
    status, out, err = execute("cat", tier, ["/d/missing"], preopens={"/d": tmp_path})
    assert status == 1 and err == b"/d/missing: No such file or directory\n"


def test_stdio_to_paths(tier, tmp_path):
    (tmp_path / "in.txt").write_bytes(b"from a file\n" * 1000)
    module = program("cat", tier)
    config = WasiConfig(argv=["cat"], stdin=tmp_path / "in.txt", stdout=tmp_path / "out.txt",
                        stderr=str(tmp_path / "err.txt"))  # fmt: skip
    assert run(module, config, wasm2py.Store(module.engine)) == 0
    assert (tmp_path / "out.txt").read_bytes() == b"from a file\n" * 1000
    assert (tmp_path / "err.txt").read_bytes() == b""


# -- files and directories --------------------------------------------------------------------
def test_files_and_directories(tier, sandbox):
    status, out, err = execute("files", tier, env={"ROOT": "/sandbox"},
                               preopens={"/sandbox": sandbox})  # fmt: skip
    assert (status, err) == (0, b"")
    expect("files", out.decode())
    # the host sees what the guest did
    assert sorted(p.name for p in sandbox.iterdir()) == [
        "a.txt", "inside.txt", "loop", "out-abs", "out-rel", "renamed", "sub"]  # fmt: skip
    assert (sandbox / "a.txt").read_bytes() == b"HELLO+tail!"
    renamed = sandbox / "renamed"
    st = os.stat(renamed / "g.txt")  # before reading it updates the access time
    assert (st.st_atime_ns, st.st_mtime_ns) == (1_400_000_000 * 10**9, 1_500_000_000 * 10**9 + 250)
    assert (renamed / "g.txt").read_bytes() == b"f"
    assert os.readlink(renamed / "esym") == "e"


def test_hostile_paths_stay_inside(tier, sandbox):
    outside = sandbox.parent / "outside"
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    mtime = (outside / "secret.txt").stat().st_mtime_ns
    status, out, err = execute("hostile", tier, env={"ROOT": "/sandbox"},
                               preopens={"/sandbox": sandbox})  # fmt: skip
    assert (status, err) == (0, b"")
    text = out.decode()
    assert "read: secret" not in text  # the outside file's content never shows
    expect("hostile", text)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    assert (outside / "secret.txt").stat().st_mtime_ns == mtime
    assert not (sandbox.parent / "newdir").exists()
    assert (sandbox / "inside.txt").read_bytes() == b"inside\n"
    assert not (sandbox / "stolen.txt").exists()
    assert not (sandbox / "abs-link").exists()


def test_two_preopens_and_nested_guest_names(tier, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"A")
    (tmp_path / "b" / "x.txt").write_bytes(b"B")
    status, out, _ = execute("cat", tier, ["/data/x.txt", "/data/more/x.txt", "x.txt"],
                             preopens={"/data": tmp_path / "a", "/data/more": tmp_path / "b",
                                       ".": tmp_path / "b"})  # fmt: skip
    assert (status, out) == (0, b"ABB")


# -- the rest ---------------------------------------------------------------------------------
def test_misc(tier, sandbox):
    status, out, err = execute("misc", tier, env={"FILE": "/sandbox/inside.txt"},
                               preopens={"/sandbox": sandbox})  # fmt: skip
    assert (status, err) == (0, b"")
    expect("misc", out.decode())


def test_invalid_enum_values_are_einval(tier, sandbox):
    status, out, _ = execute("misc", tier, env={"FILE": "/sandbox/inside.txt", "BAD_ENUMS": "1"},
                             preopens={"/sandbox": sandbox})  # fmt: skip
    lines = out.decode().splitlines()
    assert "fd_advise bad advice 28" in lines
    assert "seek bad whence 28" in lines
    assert "clock bad id 28" in lines


@pytest.mark.parametrize("where", ["random", "write"])
def test_out_of_bounds_pointer_traps(tier, sandbox, where):
    with pytest.raises(wasm2py.Trap) as info:
        execute("misc", tier, env={"FILE": "/sandbox/inside.txt", "FAULT": where},
                preopens={"/sandbox": sandbox})  # fmt: skip
    assert info.value.code == wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    assert "WASI" in str(info.value)


def test_clocks(tier):
    before = time.time()
    status, out, _ = execute("clocks", tier)
    after = time.time()
    lines = dict(line.split(" ", 1) for line in out.decode().splitlines())
    assert status == 0
    for key in ("realtime", "gettimeofday", "time"):
        assert int(before) - 1 <= int(lines[key]) <= after + 1
    for key in ("monotonic", "res", "usleep", "cputime"):
        assert lines[key] == "ok", key
    assert lines["nanosleep"] == "0 ok"


def test_poll(tier, sandbox):
    status, out, _ = execute("poll", tier, ["/sandbox/inside.txt"], stdin=b"some input\n",
                             preopens={"/sandbox": sandbox})  # fmt: skip
    assert status == 0
    assert out.decode().splitlines() == [
        "timeout only: 0 waited>=30ms 1",
        "stdin: 1 revents POLLIN 1",
        "read 11: some input",
        "file: 2 in 1",
        "bad fd: -1 revents other",
    ]


def test_reactor(tier):
    module = program("reactor", tier)
    store = wasm2py.Store(module.engine)
    out = io.BytesIO()
    with Wasi(WasiConfig(env={"BASE": "1000"}, stdout=out)) as wasi:
        instance = instantiate(store, module, wasi)
        assert "_start" not in instance.exports
        assert call_entry(instance, "_initialize") == 0
        assert instance.exports.add(2, 3) == 1005
        with pytest.raises(WasiExit) as info:
            instance.exports.quit(7)
        assert info.value.code == 7
    assert out.getvalue() == b"add(2, 3) with base 1000\n"
