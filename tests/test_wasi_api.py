"""WASI host functions called from small wasm modules written in the text format: struct layouts
(including ``wasi_unstable``'s), errno values, descriptor bookkeeping, the embedding API."""

from __future__ import annotations

import io
import os
import struct

import pytest

import wasm2py
from tests.wat import wat
from wasm2py.config import TIERS
from wasm2py.wasi import (
    PREVIEW1,
    SIGNATURES,
    UNSTABLE,
    Errno,
    Wasi,
    WasiConfig,
    WasiExit,
    functype,
    instantiate,
)

_T = {"i": "i32", "I": "i64"}


def forwarder(namespace: str, names: list[str]) -> bytes:
    """A module that imports ``names`` from ``namespace`` and exports each unchanged as
    ``NAME``, plus a one-page memory ``memory``."""
    parts = ["(module"]
    for n in names:
        params, results = SIGNATURES[n]
        p = " ".join(_T[c] for c in params)
        r = f"(result {' '.join(_T[c] for c in results)})" if results else ""
        parts.append(f'(import "{namespace}" "{n}" (func ${n} (param {p}) {r}))')
    parts.append('(memory (export "memory") 1)')
    for n in names:
        params, results = SIGNATURES[n]
        p = " ".join(_T[c] for c in params)
        r = f"(result {' '.join(_T[c] for c in results)})" if results else ""
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        parts.append(f'(func (export "{n}") (param {p}) {r} (call ${n} {gets}))')
    parts.append(")")
    return wat("\n".join(parts))


@pytest.fixture(params=TIERS)
def tier(request) -> str:
    return request.param


class Guest:
    """An instance of the forwarder module with a WASI context; ``g.call(name, *args)``."""

    def __init__(self, tier, config, namespace=PREVIEW1, names=None):
        names = names or [n for n in SIGNATURES if not (namespace == UNSTABLE
                                                         and n == "sock_accept")]  # fmt: skip
        engine = wasm2py.Engine(wasm2py.Config(tier=tier))
        self.store = wasm2py.Store(engine)
        self.module = wasm2py.Module(engine, forwarder(namespace, names))
        self.wasi = Wasi(config)
        self.instance = instantiate(self.store, self.module, self.wasi)
        self.mem = self.instance.exports.memory

    def call(self, name, *args):
        return self.instance.exports[name](*args)

    def put(self, addr, data: bytes):
        self.mem.write(data, addr)

    def get(self, addr, n) -> bytes:
        return self.mem.read(addr, addr + n)

    def u32(self, addr) -> int:
        return struct.unpack("<I", self.get(addr, 4))[0]

    def u64(self, addr) -> int:
        return struct.unpack("<Q", self.get(addr, 8))[0]

    def path(self, addr, text: str) -> tuple[int, int]:
        data = text.encode()
        self.put(addr, data)
        return addr, len(data)

    def open(self, dirfd, path, oflags=0, rights=(1 << 30) - 1, fdflags=0, follow=1) -> int:
        p, n = self.path(2000, path)
        err = self.call("path_open", dirfd, follow, p, n, oflags, rights, rights, fdflags, 100)
        if err:
            raise AssertionError(f"path_open({path!r}) -> errno {err}")
        return self.u32(100)


@pytest.fixture
def guest_dir(tmp_path):
    (tmp_path / "hello.txt").write_bytes(b"hello, world")
    (tmp_path / "sub").mkdir()
    return tmp_path


def test_signatures_match_witx():
    assert str(functype("fd_write")) == str(wasm2py.FuncType([wasm2py.i32] * 4, [wasm2py.i32]))
    assert functype("proc_exit").results == [] or tuple(functype("proc_exit").results) == ()
    assert tuple(functype("path_open").params)[5] == wasm2py.i64
    assert len(SIGNATURES) == 46


def test_args_and_environ_layout(tier):
    g = Guest(tier, WasiConfig(argv=["prog", "é"], env={"A": "1", "BB": ""}))
    assert g.call("args_sizes_get", 0, 4) == 0
    assert (g.u32(0), g.u32(4)) == (2, len(b"prog\0\xc3\xa9\0"))
    assert g.call("args_get", 100, 200) == 0
    assert (g.u32(100), g.u32(104)) == (200, 205)
    assert g.get(200, 8) == b"prog\0\xc3\xa9\0"
    assert g.call("environ_sizes_get", 0, 4) == 0
    assert (g.u32(0), g.u32(4)) == (2, 8)
    assert g.call("environ_get", 100, 200) == 0
    assert g.get(200, 8) == b"A=1\0BB=\0"


def test_fd_write_gathers_iovecs_to_a_stream(tier):
    out = io.BytesIO()
    g = Guest(tier, WasiConfig(stdout=out))
    g.put(300, b"Hello")
    g.put(400, b", wasm")
    g.put(0, struct.pack("<IIIIII", 300, 5, 400, 6, 500, 0))
    assert g.call("fd_write", 1, 0, 3, 50) == 0
    assert g.u32(50) == 11 and out.getvalue() == b"Hello, wasm"
    assert g.call("fd_write", 0, 0, 1, 50) == Errno.BADF  # stdin is not writable
    assert g.call("fd_read", 1, 0, 1, 50) == Errno.BADF  # stdout is not readable
    assert g.call("fd_write", 9, 0, 1, 50) == Errno.BADF


def test_fd_read_scatters_from_a_stream(tier):
    g = Guest(tier, WasiConfig(stdin=io.BytesIO(b"abcdefgh")))
    g.put(0, struct.pack("<IIII", 300, 3, 400, 10))
    assert g.call("fd_read", 0, 0, 2, 50) == 0
    assert g.u32(50) == 8 and g.get(300, 3) == b"abc" and g.get(400, 5) == b"defgh"
    assert g.call("fd_read", 0, 0, 2, 50) == 0 and g.u32(50) == 0  # end of file


def test_stdio_host_descriptor(tier):
    r, w = os.pipe()
    try:
        g = Guest(tier, WasiConfig(stdout=w))
        g.put(300, b"via a pipe")
        g.put(0, struct.pack("<II", 300, 10))
        assert g.call("fd_write", 1, 0, 1, 50) == 0
        assert os.read(r, 100) == b"via a pipe"
        g.wasi.close()
        os.write(w, b"!")  # the host descriptor was not closed
    finally:
        os.close(r)
        os.close(w)


def test_out_of_bounds_pointers_trap(tier):
    g = Guest(tier, WasiConfig(stdout=io.BytesIO()))
    for args in [(1, 65530, 1, 0), (1, 0, 100000, 0)]:
        with pytest.raises(wasm2py.Trap) as info:
            g.call("fd_write", *args)
        assert info.value.code == wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    g.put(0, struct.pack("<II", 65530, 100))  # the buffer itself runs past the end
    with pytest.raises(wasm2py.Trap):
        g.call("fd_write", 1, 0, 1, 50)
    with pytest.raises(wasm2py.Trap):
        g.call("args_sizes_get", 0, -1)


def test_files_seek_tell_pread(tier, guest_dir):
    g = Guest(tier, WasiConfig(preopens={"/d": guest_dir}))
    assert g.call("fd_prestat_get", 3, 0) == 0 and g.get(0, 8) == struct.pack("<BxxxI", 0, 2)
    assert g.call("fd_prestat_dir_name", 3, 10, 2) == 0 and g.get(10, 2) == b"/d"
    assert g.call("fd_prestat_dir_name", 3, 10, 1) == Errno.NAMETOOLONG
    assert g.call("fd_prestat_get", 4, 0) == Errno.BADF
    fd = g.open(3, "hello.txt")
    assert fd == 4
    assert g.call("fd_prestat_get", fd, 0) == Errno.BADF
    assert g.call("fd_seek", fd, -5, 2, 8) == 0 and g.u64(8) == 7  # END
    g.put(0, struct.pack("<II", 300, 100))
    assert g.call("fd_read", fd, 0, 1, 50) == 0 and g.get(300, g.u32(50)) == b"world"
    assert g.call("fd_pread", fd, 0, 1, 0, 50) == 0 and g.u32(50) == 12
    assert g.call("fd_tell", fd, 8) == 0 and g.u64(8) == 12  # pread left the offset alone
    assert g.call("fd_seek", fd, 0, 0, 8) == 0 and g.u64(8) == 0  # SET
    assert g.call("fd_seek", fd, -1, 0, 8) == Errno.INVAL
    assert g.call("fd_seek", 3, 0, 0, 8) == Errno.BADF  # a directory
    assert g.call("fd_seek", 1, 0, 1, 8) == Errno.SPIPE  # stdio
    # filestat (preview1: 64 bytes, nlink u64 at 24, size at 32)
    assert g.call("fd_filestat_get", fd, 600) == 0
    dev, ino, ft, nlink, size = struct.unpack_from("<QQBxxxxxxxQQ", g.get(600, 40))
    st = os.stat(guest_dir / "hello.txt")
    assert (dev, ino, ft, nlink, size) == (st.st_dev, st.st_ino, 4, 1, 12)
    assert g.call("fd_close", fd) == 0 and g.call("fd_close", fd) == Errno.BADF
    p, n = g.path(2000, "hello.txt")
    assert g.call("path_open", 1, 1, p, n, 0, 2, 2, 0, 100) == Errno.NOTDIR
    assert g.call("path_open", 3, 1, p, n, 99, 2, 2, 0, 100) == Errno.INVAL


def test_wasi_unstable_layouts(tier, guest_dir):
    g = Guest(tier, WasiConfig(preopens={"/d": guest_dir}), namespace=UNSTABLE)
    fd = g.open(3, "hello.txt")
    # whence: CUR=0, END=1, SET=2
    assert g.call("fd_seek", fd, 3, 2, 8) == 0 and g.u64(8) == 3
    assert g.call("fd_seek", fd, 2, 0, 8) == 0 and g.u64(8) == 5
    assert g.call("fd_seek", fd, -2, 1, 8) == 0 and g.u64(8) == 10
    # filestat: 56 bytes, nlink u32 at 20, size at 24
    assert g.call("fd_filestat_get", fd, 600) == 0
    dev, ino, ft, nlink, size = struct.unpack_from("<QQBxxxIQ", g.get(600, 32))
    assert (ft, nlink, size) == (4, 1, 12)
    p, n = g.path(2000, "hello.txt")
    assert g.call("path_filestat_get", 3, 0, p, n, 600) == 0
    assert struct.unpack_from("<Q", g.get(600 + 24, 8))[0] == 12
    # poll_oneoff: subscription_clock has a leading identifier; subscriptions are 56 bytes
    sub = struct.pack("<QB7xQIxxxxQQH6x", 77, 0, 999, 1, 1000, 0, 0)
    assert len(sub) == 56
    g.put(1000, sub)
    assert g.call("poll_oneoff", 1000, 3000, 1, 90) == 0
    assert g.u32(90) == 1
    userdata, error, etype = struct.unpack_from("<QHB", g.get(3000, 11))
    assert (userdata, error, etype) == (77, 0, 0)
    with pytest.raises(wasm2py.LinkError):
        Guest(tier, WasiConfig(), namespace=UNSTABLE, names=["sock_accept"])


def test_poll_oneoff_preview1(tier, guest_dir):
    g = Guest(tier, WasiConfig(preopens={"/d": guest_dir}, stdin=io.BytesIO(b"x")))
    fd = g.open(3, "hello.txt")
    subs = (struct.pack("<QB7xIxxxxQQH6x", 1, 0, 1, 5_000_000, 0, 0)  # clock, 5 ms
            + struct.pack("<QB7xI28x", 2, 1, fd)  # fd_read on a file: ready at once
            + struct.pack("<QB7xI28x", 3, 2, 0))  # fd_write on stdin (a stream): ready  # fmt: skip
    g.put(1000, subs)
    assert g.call("poll_oneoff", 1000, 3000, 3, 90) == 0
    events = [struct.unpack_from("<QHBxxxxxQH", g.get(3000 + 32 * i, 26)) for i in range(g.u32(90))]
    assert (2, 0, 1, 12, 0) in events and (3, 0, 2, 0, 0) in events
    assert all(e[0] != 1 for e in events)  # the timer had not expired yet
    g.put(1000, subs[:48])
    assert g.call("poll_oneoff", 1000, 3000, 1, 90) == 0
    assert g.u32(90) == 1 and struct.unpack_from("<QHB", g.get(3000, 11)) == (1, 0, 0)
    assert g.call("poll_oneoff", 1000, 3000, 0, 90) == Errno.INVAL
    g.put(1000, struct.pack("<QB7xI28x", 4, 1, 55))
    assert g.call("poll_oneoff", 1000, 3000, 1, 90) == Errno.BADF


def test_readdir_cookies_and_small_buffers(tier, tmp_path):
    names = sorted(f"entry-{i:03d}" for i in range(40))
    for n in names:
        (tmp_path / n).write_bytes(b"")
    g = Guest(tier, WasiConfig(preopens={"/d": tmp_path}))
    seen, cookie = [], 0
    while True:
        assert g.call("fd_readdir", 3, 4000, 100, cookie, 90) == 0  # room for ~2 entries
        used = g.u32(90)
        data, pos, progressed = g.get(4000, used), 0, False
        while pos + 24 <= used:
            d_next, _ino, namlen, _type = struct.unpack_from("<QQIB", data, pos)
            if pos + 24 + namlen > used:
                break  # truncated: read again from this entry's cookie
            seen.append(data[pos + 24 : pos + 24 + namlen].decode())
            cookie, pos, progressed = d_next, pos + 24 + namlen, True
        if used < 100:
            break
        assert progressed
    assert sorted(seen) == sorted([".", "..", *names])


def test_path_operations_errno(tier, guest_dir):
    g = Guest(tier, WasiConfig(preopens={"/d": guest_dir}))

    def call(name, *paths, pre=(), post=()):
        args = list(pre)
        for i, p in enumerate(paths):
            args += g.path(2000 + 500 * i, p)
        return g.call(name, *args, *post)

    assert call("path_create_directory", "new", pre=[3]) == 0
    assert call("path_create_directory", "new", pre=[3]) == Errno.EXIST
    assert call("path_create_directory", "../x", pre=[3]) == Errno.PERM
    assert call("path_remove_directory", "hello.txt", pre=[3]) == Errno.NOTDIR
    assert call("path_unlink_file", "sub", pre=[3]) == Errno.ISDIR
    assert call("path_unlink_file", "nope", pre=[3]) == Errno.NOENT
    # path_symlink(old, old_len, fd, new, new_len)
    old = g.path(2000, "hello.txt")
    new = g.path(2500, "link")
    assert g.call("path_symlink", *old, 3, *new) == 0
    absolute = g.path(2000, "/etc/passwd")
    assert g.call("path_symlink", *absolute, 3, *g.path(2500, "abs")) == Errno.PERM
    assert call("path_readlink", "link", pre=[3], post=[700, 4, 90]) == 0
    assert g.u32(90) == 4 and g.get(700, 4) == b"hell"  # truncated to the buffer
    assert call("path_readlink", "hello.txt", pre=[3], post=[700, 100, 90]) == Errno.INVAL
    assert call("path_filestat_get", "link", pre=[3, 0], post=[600]) == 0
    assert g.get(600 + 16, 1) == b"\x07"  # symbolic link
    assert call("path_filestat_get", "link", pre=[3, 1], post=[600]) == 0
    assert g.get(600 + 16, 1) == b"\x04"  # followed: regular file
    # path_rename(fd, old, old_len, new_fd, new, new_len)
    assert g.call("path_rename", 3, *g.path(2000, "link"), 3, *g.path(2500, "sub/l2")) == 0
    assert os.readlink(guest_dir / "sub" / "l2") == "hello.txt"
    # path_link(old_fd, flags, old, old_len, new_fd, new, new_len)
    assert g.call("path_link", 3, 0, *g.path(2000, "hello.txt"), 3, *g.path(2500, "hard")) == 0
    assert os.stat(guest_dir / "hard").st_nlink == 2
    assert (
        g.call("path_link", 3, 0, *g.path(2000, "hello.txt"), 3, *g.path(2500, "hard"))
        == Errno.EXIST
    )
    # times: ATIM | MTIM
    assert (
        call("path_filestat_set_times", "hello.txt", pre=[3, 1], post=[5 * 10**9, 7 * 10**9, 5])
        == 0
    )
    st = os.stat(guest_dir / "hello.txt")
    assert (st.st_atime_ns, st.st_mtime_ns) == (5 * 10**9, 7 * 10**9)
    assert call("path_filestat_set_times", "hello.txt", pre=[3, 1], post=[0, 0, 3]) == Errno.INVAL


def test_descriptor_flags_rights_renumber(tier, guest_dir):
    g = Guest(tier, WasiConfig(preopens={"/d": guest_dir}))
    fd = g.open(3, "hello.txt", rights=(1 << 1) | (1 << 6) | (1 << 2))  # read, write, seek
    assert g.call("fd_fdstat_get", fd, 600) == 0
    ft, flags, base, inh = struct.unpack_from("<BxHxxxxQQ", g.get(600, 24))
    assert (ft, flags, base) == (4, 0, (1 << 1) | (1 << 6) | (1 << 2))
    assert g.call("fd_fdstat_set_flags", fd, 1) == 0  # APPEND
    g.put(300, b"!")
    g.put(0, struct.pack("<II", 300, 1))
    assert g.call("fd_write", fd, 0, 1, 50) == 0
    assert (guest_dir / "hello.txt").read_bytes() == b"hello, world!"
    assert g.call("fd_fdstat_get", fd, 600) == 0 and g.get(602, 2) == b"\x01\x00"
    assert g.call("fd_fdstat_set_rights", fd, 1 << 1, 0) == 0
    assert g.call("fd_fdstat_set_rights", fd, (1 << 1) | (1 << 6), 0) == Errno.NOTCAPABLE
    assert g.call("fd_write", fd, 0, 1, 50) == Errno.BADF  # the write right was dropped
    assert g.call("fd_renumber", fd, 0) == 0  # replaces stdin
    assert g.call("fd_fdstat_get", fd, 600) == Errno.BADF
    assert g.call("fd_fdstat_get", 0, 600) == 0 and g.get(600, 1) == b"\x04"
    assert g.call("fd_renumber", 0, 99) == Errno.BADF
    assert g.call("fd_filestat_set_size", 0, 5) == 0
    assert (guest_dir / "hello.txt").read_bytes() == b"hello"
    assert g.call("fd_allocate", 0, 0, 100) == 0
    assert (guest_dir / "hello.txt").stat().st_size == 100
    assert g.call("fd_advise", 0, 0, 0, 2) == 0
    assert g.call("fd_sync", 0) == 0 and g.call("fd_datasync", 0) == 0
    assert g.call("fd_filestat_set_times", 0, 0, 3 * 10**9, 4) == 0
    assert os.stat(guest_dir / "hello.txt").st_mtime_ns == 3 * 10**9


def test_clocks_random_sockets_exit(tier):
    g = Guest(tier, WasiConfig())
    assert g.call("clock_time_get", 0, 1, 0) == 0
    assert g.call("clock_res_get", 1, 8) == 0 and g.u64(8) >= 1
    assert g.call("clock_time_get", 4, 1, 0) == Errno.INVAL
    assert g.call("random_get", 100, 64) == 0 and g.get(100, 64) != bytes(64)
    assert g.call("sched_yield") == 0
    assert g.call("sock_recv", 0, 0, 0, 0, 0, 0) == Errno.NOTSOCK
    assert g.call("sock_send", 1, 0, 0, 0, 0) == Errno.NOTSOCK
    assert g.call("sock_shutdown", 1, 3) == Errno.NOTSOCK
    assert g.call("sock_accept", 50, 0, 0) == Errno.BADF
    assert g.call("proc_raise", 15) == Errno.NOTSUP
    with pytest.raises(WasiExit) as info:
        g.call("proc_exit", 3)
    assert info.value.code == 3


def test_unknown_wasi_function_is_a_link_error(tier):
    engine = wasm2py.Engine(wasm2py.Config(tier=tier))
    module = wasm2py.Module(engine, wat('(module (import "wasi_snapshot_preview1" "nope" (func)))'))
    with Wasi() as wasi, pytest.raises(wasm2py.LinkError, match="nope"):
        instantiate(wasm2py.Store(engine), module, wasi)


def test_linker(tier):
    engine = wasm2py.Engine(wasm2py.Config(tier=tier))
    store = wasm2py.Store(engine)
    linker = wasm2py.Linker(engine)
    out = io.BytesIO()
    with Wasi(WasiConfig(stdout=out)) as wasi:
        wasi.add_to_linker(linker, store)
        module = wasm2py.Module(engine, forwarder(PREVIEW1, ["fd_write"]))
        inst = linker.instantiate(store, module)
        inst.exports.memory.write(struct.pack("<II", 8, 2) + b"ok", 0)
        assert inst.exports.fd_write(1, 0, 1, 100) == 0
    assert out.getvalue() == b"ok"


def test_config_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Wasi(WasiConfig(preopens={"/x": tmp_path / "missing"}))
    with pytest.raises(TypeError):
        Wasi(WasiConfig(stdout=object()))


def test_module_without_memory_traps(tier):
    engine = wasm2py.Engine(wasm2py.Config(tier=tier))
    module = wasm2py.Module(
        engine,
        wat("""(module
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $f (param i32 i32) (result i32)))
      (func (export "go") (result i32) (call $f (i32.const 0) (i32.const 4))))"""),
    )
    with Wasi() as wasi:
        instance = instantiate(wasm2py.Store(engine), module, wasi)
        with pytest.raises(wasm2py.Trap, match="without memory"):
            instance.exports.go()
