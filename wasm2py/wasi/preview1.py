"""The host side of ``wasi_snapshot_preview1`` (and the older ``wasi_unstable``).

A :class:`Wasi` holds one program's state (descriptor table, arguments, environment) and turns
it into host functions with :meth:`Wasi.imports` or :meth:`Wasi.add_to_linker`. Every function
returns a WASI errno:

- :class:`~wasm2py.wasi.sandbox.WasiError` raised inside carries the errno directly;
- a host ``OSError`` is mapped by its ``errno`` (:func:`~wasm2py.wasi.constants.from_host`);
- a guest pointer or length outside linear memory traps with ``MEMORY_OUT_OF_BOUNDS``, as in
  wasmtime (``struct`` raises for out-of-range packing; slices are bounds-checked explicitly,
  since a ``memoryview`` slice would silently truncate). Invalid enum values (a clock id, a
  ``whence``, an ``advice``) give ``Errno.INVAL`` (wasmtime traps there too).

``proc_exit`` raises :class:`WasiExit`, which travels through the wasm frames unchanged to
whoever called the export (see :func:`wasm2py.wasi.run`).

The differences of ``wasi_unstable`` are three layouts and one numbering: ``filestat`` has a
32-bit ``nlink`` (56 bytes), ``subscription_clock`` has an extra leading ``identifier`` (56-byte
subscriptions), and ``whence`` counts CUR=0, END=1, SET=2. ``sock_accept`` does not exist there.
"""

from __future__ import annotations

import os
import select
import struct
import time
from collections.abc import Callable

from ..errors import Error, Trap, TrapCode
from ..runtime.func import Func
from ..types import FuncType, ValType
from .config import WasiConfig, encode, open_stdio
from .constants import (
    LOOKUP_SYMLINK_FOLLOW,
    SUBCLOCK_ABSTIME,
    Clock,
    Errno,
    EventType,
    FdFlags,
    Filetype,
    FstFlags,
    OFlags,
    Rights,
    from_host,
)
from .files import Descriptor, FdTable, filetype_of
from .sandbox import WasiError, resolve

PREVIEW1 = "wasi_snapshot_preview1"
UNSTABLE = "wasi_unstable"

_U64_MAX = (1 << 64) - 1
_S64_MAX = (1 << 63) - 1
_M32 = 0xFFFFFFFF

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_IOVEC = struct.Struct("<II")
_FDSTAT = struct.Struct("<BxHxxxxQQ")
_PRESTAT = struct.Struct("<BxxxI")
_DIRENT = struct.Struct("<QQIBxxx")
_FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")  # preview1: nlink u64
_FILESTAT0 = struct.Struct("<QQBxxxIQQQQ")  # wasi_unstable: nlink u32
_EVENT = struct.Struct("<QHBxxxxxQHxxxxxx")
_SUB_HEAD = struct.Struct("<QB")  # userdata, tag
_SUB_CLOCK = struct.Struct("<IxxxxQQH")  # at +16 (preview1)
_SUB_CLOCK0 = struct.Struct("<xxxxxxxxIxxxxQQH")  # at +16 (wasi_unstable: identifier first)
_SUB_FD = struct.Struct("<I")  # at +16

_SEEK = {0: os.SEEK_SET, 1: os.SEEK_CUR, 2: os.SEEK_END}
_SEEK0 = {0: os.SEEK_CUR, 1: os.SEEK_END, 2: os.SEEK_SET}

_ADVICE = {
    0: getattr(os, "POSIX_FADV_NORMAL", 0),
    1: getattr(os, "POSIX_FADV_SEQUENTIAL", 2),
    2: getattr(os, "POSIX_FADV_RANDOM", 1),
    3: getattr(os, "POSIX_FADV_WILLNEED", 3),
    4: getattr(os, "POSIX_FADV_DONTNEED", 4),
    5: getattr(os, "POSIX_FADV_NOREUSE", 5),
}

_CLOCKS: dict[int, Callable[[], int]] = {
    Clock.REALTIME: time.time_ns,
    Clock.MONOTONIC: time.monotonic_ns,
    Clock.PROCESS_CPUTIME_ID: time.process_time_ns,
    Clock.THREAD_CPUTIME_ID: time.thread_time_ns,
}
_CLOCK_IDS = {
    Clock.REALTIME: time.CLOCK_REALTIME,
    Clock.MONOTONIC: time.CLOCK_MONOTONIC,
    Clock.PROCESS_CPUTIME_ID: getattr(time, "CLOCK_PROCESS_CPUTIME_ID", time.CLOCK_MONOTONIC),
    Clock.THREAD_CPUTIME_ID: getattr(time, "CLOCK_THREAD_CPUTIME_ID", time.CLOCK_MONOTONIC),
}

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_RSYNC = getattr(os, "O_RSYNC", 0)
_O_DSYNC = getattr(os, "O_DSYNC", 0)
_O_SYNC = getattr(os, "O_SYNC", 0)

#: rights that need the host descriptor open for reading / writing
_READ_RIGHTS = Rights.FD_READ | Rights.FD_READDIR
_WRITE_RIGHTS = (Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE
                 | Rights.FD_DATASYNC)  # fmt: skip


class WasiExit(Error):
    """Raised by ``proc_exit``: the program asked to exit (a :class:`wasm2py.Error`, not a
    :class:`~wasm2py.Trap`: catch it before ``Error`` to read the status).

    Attributes:
        code: the exit status (0..2**32-1; the host's exit status keeps its low 8 bits).
    """

    def __init__(self, code: int):
        super().__init__(f"exit status {code}")
        self.code = code


def _fault(name: str) -> Trap:
    # wasmtime traps ("pointer out of bounds") rather than returning EFAULT: so do we.
    return Trap(TrapCode.MEMORY_OUT_OF_BOUNDS,
                f"out of bounds memory access (a pointer passed to WASI {name})")  # fmt: skip


# -- linear-memory helpers --------------------------------------------------------------------
def _slice(mem: memoryview, ptr: int, n: int) -> memoryview:
    end = ptr + n
    if end > len(mem):
        raise WasiError(Errno.FAULT)
    return mem[ptr:end]


def _get_bytes(mem: memoryview, ptr: int, n: int) -> bytes:
    ptr &= _M32
    end = ptr + (n & _M32)
    if end > len(mem):
        raise WasiError(Errno.FAULT)
    return mem[ptr:end].tobytes()


def _put_bytes(mem: memoryview, ptr: int, data: bytes) -> None:
    end = ptr + len(data)
    if end > len(mem):
        raise WasiError(Errno.FAULT)
    mem[ptr:end] = data


def _iovecs(mem: memoryview, ptr: int, count: int) -> list[memoryview]:
    ptr &= _M32
    count &= _M32
    size = len(mem)
    if ptr + 8 * count > size:
        raise WasiError(Errno.FAULT)
    unpack = _IOVEC.unpack_from
    out = []
    for i in range(count):
        base, length = unpack(mem, ptr + 8 * i)
        end = base + length
        if end > size:
            raise WasiError(Errno.FAULT)
        out.append(mem[base:end])
    return out


def _times(fst: int, atim: int, mtim: int, current: Callable[[], os.stat_result]):
    """The ``(atime_ns, mtime_ns)`` pair for ``utime`` from ``fstflags`` (None: change nothing)."""
    if fst & ~0xF:
        raise WasiError(Errno.INVAL)
    if (fst & FstFlags.ATIM and fst & FstFlags.ATIM_NOW) or (
        fst & FstFlags.MTIM and fst & FstFlags.MTIM_NOW
    ):
        raise WasiError(Errno.INVAL)
    if not fst:
        return None
    now = time.time_ns()
    st = None
    if fst & FstFlags.ATIM:
        a = atim & _U64_MAX
    elif fst & FstFlags.ATIM_NOW:
        a = now
    else:
        st = current()
        a = st.st_atime_ns
    if fst & FstFlags.MTIM:
        m = mtim & _U64_MAX
    elif fst & FstFlags.MTIM_NOW:
        m = now
    else:
        st = st or current()
        m = st.st_mtime_ns
    return (a, m)


#: (params, results) of every function, as strings of "i" (i32) and "I" (i64)
SIGNATURES: dict[str, tuple[str, str]] = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
    "fd_advise": ("iIIi", "i"),
    "fd_allocate": ("iII", "i"),
    "fd_close": ("i", "i"),
    "fd_datasync": ("i", "i"),
    "fd_fdstat_get": ("ii", "i"),
    "fd_fdstat_set_flags": ("ii", "i"),
    "fd_fdstat_set_rights": ("iII", "i"),
    "fd_filestat_get": ("ii", "i"),
    "fd_filestat_set_size": ("iI", "i"),
    "fd_filestat_set_times": ("iIIi", "i"),
    "fd_pread": ("iiiIi", "i"),
    "fd_prestat_get": ("ii", "i"),
    "fd_prestat_dir_name": ("iii", "i"),
    "fd_pwrite": ("iiiIi", "i"),
    "fd_read": ("iiii", "i"),
    "fd_readdir": ("iiiIi", "i"),
    "fd_renumber": ("ii", "i"),
    "fd_seek": ("iIii", "i"),
    "fd_sync": ("i", "i"),
    "fd_tell": ("ii", "i"),
    "fd_write": ("iiii", "i"),
    "path_create_directory": ("iii", "i"),
    "path_filestat_get": ("iiiii", "i"),
    "path_filestat_set_times": ("iiiiIIi", "i"),
    "path_link": ("iiiiiii", "i"),
    "path_open": ("iiiiiIIii", "i"),
    "path_readlink": ("iiiiii", "i"),
    "path_remove_directory": ("iii", "i"),
    "path_rename": ("iiiiii", "i"),
    "path_symlink": ("iiiii", "i"),
    "path_unlink_file": ("iii", "i"),
    "poll_oneoff": ("iiii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
    "random_get": ("ii", "i"),
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}
_VT = {"i": ValType.I32, "I": ValType.I64}


def functype(name: str) -> FuncType:
    """The core-wasm type of WASI function ``name``."""
    params, results = SIGNATURES[name]
    return FuncType([_VT[c] for c in params], [_VT[c] for c in results])


class Wasi:
    """The state of one WASI program, and its host functions.

    Args:
        config: a :class:`~wasm2py.wasi.WasiConfig`.

    Raises:
        OSError: a preopened directory or a stdio path could not be opened.
        TypeError: a stdio setting is not one of the accepted kinds.

    Call :meth:`close` when done (or use it as a context manager): it flushes stream objects and
    closes the host descriptors the program left open.
    """

    def __init__(self, config: WasiConfig | None = None):
        config = config if config is not None else WasiConfig()
        self.config = config
        self.args = [encode(a) for a in config.argv]
        self.environ = [encode(k) + b"=" + encode(v) for k, v in config.env_items()]
        self.table = FdTable()
        try:
            for i, source in enumerate((config.stdin, config.stdout, config.stderr)):
                target, owned = open_stdio(source, i)
                desc = Descriptor.for_stdio(target, readable=(i == 0))
                desc.owned = owned
                self.table.insert(desc, i)
            for guest, host in config.preopens.items():
                hfd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
                self.table.insert(Descriptor.for_host_fd(hfd, preopen=encode(guest)))
        except BaseException:
            self.table.close_all()
            raise

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Flush stdio stream objects and close the host descriptors still open."""
        self.table.close_all()

    def flush(self) -> None:
        """Flush stdio stream objects (``write`` already reached host descriptors)."""
        for _, desc in self.table.items():
            desc.flush()

    def __enter__(self) -> Wasi:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- binding -------------------------------------------------------------------------------
    def _host(self, name: str, namespace: str) -> Callable:
        impl = getattr(self, ("u_" if namespace == UNSTABLE and hasattr(self, "u_" + name)
                              else "") + name)  # fmt: skip
        if name in ("proc_exit", "sched_yield"):
            return impl  # no memory, nothing to map

        def host(caller, *args):
            try:
                try:
                    mem = caller.memory.buffer
                except AttributeError:  # caller.memory is None
                    raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS,
                               f"WASI {name} called by a module without memory") from None  # fmt: skip
                return impl(mem, *args)
            except WasiError as e:
                if e.errno == Errno.FAULT:
                    raise _fault(name) from None
                return e.errno
            except OSError as e:
                return from_host(e.errno)
            except struct.error:
                raise _fault(name) from None

        host.__name__ = name
        return host

    def func(self, store, name: str, namespace: str = PREVIEW1) -> Func:
        """The host :class:`~wasm2py.Func` for WASI function ``name``.

        Raises:
            KeyError: no such WASI function in that namespace.
        """
        if name not in SIGNATURES or (namespace == UNSTABLE and name == "sock_accept"):
            raise KeyError(f"{namespace}.{name}")
        access = name not in ("proc_exit", "sched_yield")
        return Func(store, functype(name), self._host(name, namespace), access_caller=access)

    def imports(self, store, module=None) -> dict[str, dict[str, Func]]:
        """``{namespace: {name: Func}}`` for both namespaces (only what ``module`` imports from
        them, if a module is given)."""
        out: dict[str, dict[str, Func]] = {}
        if module is not None:
            for imp in module.imports:
                if imp.module in (PREVIEW1, UNSTABLE):
                    try:
                        f = self.func(store, imp.name, imp.module)
                    except KeyError:
                        continue
                    out.setdefault(imp.module, {})[imp.name] = f
            return out
        for ns in (PREVIEW1, UNSTABLE):
            out[ns] = {n: self.func(store, n, ns) for n in SIGNATURES
                       if not (ns == UNSTABLE and n == "sock_accept")}  # fmt: skip
        return out

    def add_to_linker(self, linker, store) -> None:
        """Define every WASI function of both namespaces in a :class:`~wasm2py.Linker`."""
        for ns, funcs in self.imports(store).items():
            for name, f in funcs.items():
                linker.define(store, ns, name, f)

    # -- args, environ -------------------------------------------------------------------------
    @staticmethod
    def _strings_get(mem, items: list[bytes], ptrs: int, buf: int) -> int:
        ptrs &= _M32
        buf &= _M32
        pack = _U32.pack_into
        for i, s in enumerate(items):
            pack(mem, ptrs + 4 * i, buf)
            data = s + b"\0"
            _put_bytes(mem, buf, data)
            buf += len(data)
        return 0

    @staticmethod
    def _sizes_get(mem, items: list[bytes], count_ptr: int, size_ptr: int) -> int:
        _U32.pack_into(mem, count_ptr & _M32, len(items))
        _U32.pack_into(mem, size_ptr & _M32, sum(len(s) + 1 for s in items))
        return 0

    def args_get(self, mem, argv, argv_buf):
        return self._strings_get(mem, self.args, argv, argv_buf)

    def args_sizes_get(self, mem, argc, argv_buf_size):
        return self._sizes_get(mem, self.args, argc, argv_buf_size)

    def environ_get(self, mem, environ, environ_buf):
        return self._strings_get(mem, self.environ, environ, environ_buf)

    def environ_sizes_get(self, mem, count, size):
        return self._sizes_get(mem, self.environ, count, size)

    # -- clocks, random, scheduling, process ---------------------------------------------------
    def clock_res_get(self, mem, clock_id, res_ptr):
        cid = _CLOCK_IDS.get(clock_id & _M32)
        if cid is None:
            return Errno.INVAL
        res = max(1, round(time.clock_getres(cid) * 1e9))
        _U64.pack_into(mem, res_ptr & _M32, res)
        return 0

    def clock_time_get(self, mem, clock_id, precision, time_ptr):
        now = _CLOCKS.get(clock_id & _M32)
        if now is None:
            return Errno.INVAL
        _U64.pack_into(mem, time_ptr & _M32, now())
        return 0

    def random_get(self, mem, buf, buf_len):
        buf &= _M32
        buf_len &= _M32
        _slice(mem, buf, buf_len)[:] = os.urandom(buf_len)
        return 0

    def sched_yield(self):
        return 0

    def proc_exit(self, code):
        raise WasiExit(code & _M32)

    def proc_raise(self, mem, sig):
        return Errno.NOTSUP

    # -- descriptors: I/O ----------------------------------------------------------------------
    def fd_read(self, mem, fd, iovs, iovs_len, nread_ptr):
        desc = self.table.get(fd)
        if not desc.rights_base & Rights.FD_READ:
            return Errno.BADF
        n = desc.readv(_iovecs(mem, iovs, iovs_len))
        _U32.pack_into(mem, nread_ptr & _M32, n)
        return 0

    def fd_write(self, mem, fd, iovs, iovs_len, nwritten_ptr):
        desc = self.table.get(fd)
        if not desc.rights_base & Rights.FD_WRITE:
            return Errno.BADF
        n = desc.writev(_iovecs(mem, iovs, iovs_len))
        _U32.pack_into(mem, nwritten_ptr & _M32, n)
        return 0

    def fd_pread(self, mem, fd, iovs, iovs_len, offset, nread_ptr):
        desc = self.table.get(fd)
        if not desc.rights_base & Rights.FD_READ:
            return Errno.BADF
        host = desc.require_host()
        offset &= _U64_MAX
        if offset > _S64_MAX:
            return Errno.INVAL
        n = os.preadv(host, _iovecs(mem, iovs, iovs_len), offset)
        _U32.pack_into(mem, nread_ptr & _M32, n)
        return 0

    def fd_pwrite(self, mem, fd, iovs, iovs_len, offset, nwritten_ptr):
        desc = self.table.get(fd)
        if not desc.rights_base & Rights.FD_WRITE:
            return Errno.BADF
        host = desc.require_host()
        offset &= _U64_MAX
        if offset > _S64_MAX:
            return Errno.INVAL
        n = os.pwritev(host, _iovecs(mem, iovs, iovs_len), offset)
        _U32.pack_into(mem, nwritten_ptr & _M32, n)
        return 0

    def _seek(self, mem, fd, offset, whence, newoffset_ptr, table):
        desc = self.table.get(fd)
        how = table.get(whence & _M32)
        if how is None:
            return Errno.INVAL
        host = desc.require_host()
        if desc.filetype == Filetype.DIRECTORY:
            return Errno.BADF
        pos = os.lseek(host, offset, how)
        _U64.pack_into(mem, newoffset_ptr & _M32, pos)
        return 0

    def fd_seek(self, mem, fd, offset, whence, newoffset_ptr):
        return self._seek(mem, fd, offset, whence, newoffset_ptr, _SEEK)

    def u_fd_seek(self, mem, fd, offset, whence, newoffset_ptr):
        return self._seek(mem, fd, offset, whence, newoffset_ptr, _SEEK0)

    def fd_tell(self, mem, fd, offset_ptr):
        desc = self.table.get(fd)
        host = desc.require_host()
        if desc.filetype == Filetype.DIRECTORY:
            return Errno.BADF
        _U64.pack_into(mem, offset_ptr & _M32, os.lseek(host, 0, os.SEEK_CUR))
        return 0

    def fd_close(self, mem, fd):
        desc = self.table.pop(fd)
        desc.flush()
        desc.close()
        return 0

    def fd_renumber(self, mem, fd, to):
        self.table.get(fd)  # both must be open (BADF otherwise), as in wasmtime
        self.table.get(to)
        if fd == to:
            return 0
        old = self.table.pop(to)
        old.flush()
        old.close()
        self.table.insert(self.table.pop(fd), to)
        return 0

    def fd_sync(self, mem, fd):
        desc = self.table.get(fd)
        if desc.host_fd is None:
            desc.flush()
            return 0
        os.fsync(desc.host_fd)
        return 0

    def fd_datasync(self, mem, fd):
        desc = self.table.get(fd)
        if desc.host_fd is None:
            desc.flush()
            return 0
        getattr(os, "fdatasync", os.fsync)(desc.host_fd)
        return 0

    def fd_advise(self, mem, fd, offset, length, advice):
        desc = self.table.get(fd)
        adv = _ADVICE.get(advice & _M32)
        if adv is None:
            return Errno.INVAL
        host = desc.require_host()
        if desc.filetype == Filetype.DIRECTORY:
            return Errno.BADF
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(host, offset & _S64_MAX, length & _S64_MAX, adv)
        return 0

    def fd_allocate(self, mem, fd, offset, length):
        desc = self.table.get(fd)
        host = desc.require_host()
        if desc.filetype == Filetype.DIRECTORY:
            return Errno.BADF
        offset &= _U64_MAX
        length &= _U64_MAX
        if offset > _S64_MAX or length > _S64_MAX or offset + length > _S64_MAX:
            return Errno.INVAL
        if length == 0:
            return Errno.INVAL
        try:
            os.posix_fallocate(host, offset, length)
        except OSError as e:
            if e.errno not in (95, 22):  # EOPNOTSUPP/EINVAL: file system without fallocate
                raise
            if os.fstat(host).st_size < offset + length:
                os.ftruncate(host, offset + length)
        return 0

    # -- descriptors: attributes ---------------------------------------------------------------
    def fd_fdstat_get(self, mem, fd, buf):
        desc = self.table.get(fd)
        _FDSTAT.pack_into(mem, buf & _M32, desc.filetype, desc.fdflags, desc.rights_base,
                          desc.rights_inheriting)  # fmt: skip
        return 0

    def fd_fdstat_set_flags(self, mem, fd, flags):
        desc = self.table.get(fd)
        flags &= _M32
        if flags & ~0x1F:
            return Errno.INVAL
        if desc.host_fd is not None and not desc.is_stdio:
            import fcntl

            cur = fcntl.fcntl(desc.host_fd, fcntl.F_GETFL)
            new = cur & ~(os.O_APPEND | os.O_NONBLOCK)
            if flags & FdFlags.APPEND:
                new |= os.O_APPEND
            if flags & FdFlags.NONBLOCK:
                new |= os.O_NONBLOCK
            fcntl.fcntl(desc.host_fd, fcntl.F_SETFL, new)
        desc.fdflags = flags
        return 0

    def fd_fdstat_set_rights(self, mem, fd, base, inheriting):
        desc = self.table.get(fd)
        base &= _U64_MAX
        inheriting &= _U64_MAX
        if base & ~desc.rights_base or inheriting & ~desc.rights_inheriting:
            return Errno.NOTCAPABLE
        desc.rights_base = base
        desc.rights_inheriting = inheriting
        return 0

    def _pack_filestat(self, mem, buf, st: os.stat_result | None, filetype=None, old=False):
        s = _FILESTAT0 if old else _FILESTAT
        if st is None:
            s.pack_into(mem, buf & _M32, 0, 0, filetype or 0, 0, 0, 0, 0, 0)
            return 0
        ft = filetype_of(st.st_mode) if filetype is None else filetype
        s.pack_into(mem, buf & _M32, st.st_dev & _U64_MAX, st.st_ino & _U64_MAX, ft,
                    min(st.st_nlink, _M32 if old else _U64_MAX), st.st_size,
                    max(st.st_atime_ns, 0), max(st.st_mtime_ns, 0),
                    max(st.st_ctime_ns, 0))  # fmt: skip
        return 0

    def _fd_filestat_get(self, mem, fd, buf, old):
        desc = self.table.get(fd)
        if desc.host_fd is None:
            return self._pack_filestat(mem, buf, None, desc.filetype, old)
        st = os.fstat(desc.host_fd)
        ft = desc.filetype if desc.is_stdio else None
        return self._pack_filestat(mem, buf, st, ft, old)

    def fd_filestat_get(self, mem, fd, buf):
        return self._fd_filestat_get(mem, fd, buf, False)

    def u_fd_filestat_get(self, mem, fd, buf):
        return self._fd_filestat_get(mem, fd, buf, True)

    def fd_filestat_set_size(self, mem, fd, size):
        desc = self.table.get(fd)
        host = desc.require_host()
        size &= _U64_MAX
        if size > _S64_MAX:
            return Errno.INVAL
        os.ftruncate(host, size)
        return 0

    def fd_filestat_set_times(self, mem, fd, atim, mtim, fst):
        desc = self.table.get(fd)
        host = desc.host_fd
        if host is None:
            return Errno.BADF
        ns = _times(fst & _M32, atim, mtim, lambda: os.fstat(host))
        if ns is not None:
            os.utime(host, ns=ns)
        return 0

    # -- preopens and directories --------------------------------------------------------------
    def fd_prestat_get(self, mem, fd, buf):
        desc = self.table.get(fd)
        if desc.preopen is None:
            return Errno.BADF
        _PRESTAT.pack_into(mem, buf & _M32, 0, len(desc.preopen))
        return 0

    def fd_prestat_dir_name(self, mem, fd, path, path_len):
        desc = self.table.get(fd)
        if desc.preopen is None:
            return Errno.BADF
        if (path_len & _M32) < len(desc.preopen):
            return Errno.NAMETOOLONG
        _put_bytes(mem, path & _M32, desc.preopen)
        return 0

    def fd_readdir(self, mem, fd, buf, buf_len, cookie, bufused_ptr):
        desc = self.table.get(fd)
        host = desc.require_dir()
        buf &= _M32
        buf_len &= _M32
        cookie &= _U64_MAX
        _slice(mem, buf, buf_len)
        entries = desc.dir_cache
        if cookie == 0 or entries is None:
            entries = desc.dir_cache = self._list_dir(host)
        out = bytearray()
        for i in range(cookie, len(entries)):
            name, ino, ft = entries[i]
            out += _DIRENT.pack(i + 1, ino, len(name), ft)
            out += name
            if len(out) >= buf_len:
                break
        data = bytes(out[:buf_len])
        mem[buf : buf + len(data)] = data
        _U32.pack_into(mem, bufused_ptr & _M32, len(data))
        return 0

    @staticmethod
    def _list_dir(host: int) -> list[tuple[bytes, int, int]]:
        ino = os.fstat(host).st_ino
        entries: list[tuple[bytes, int, int]] = [(b".", ino, Filetype.DIRECTORY),
                                                 (b"..", ino, Filetype.DIRECTORY)]  # fmt: skip
        with os.scandir(host) as it:
            for e in it:
                try:
                    if e.is_symlink():
                        ft: int = Filetype.SYMBOLIC_LINK
                    elif e.is_dir(follow_symlinks=False):
                        ft = Filetype.DIRECTORY
                    elif e.is_file(follow_symlinks=False):
                        ft = Filetype.REGULAR_FILE
                    else:
                        ft = filetype_of(e.stat(follow_symlinks=False).st_mode)
                except OSError:
                    ft = Filetype.UNKNOWN
                entries.append((os.fsencode(e.name), e.inode(), ft))
        return entries

    # -- paths ---------------------------------------------------------------------------------
    def _dir(self, fd) -> int:
        return self.table.get(fd).require_dir()

    def path_open(self, mem, fd, dirflags, path, path_len, oflags, rights_base,
                  rights_inheriting, fdflags, fd_ptr):  # fmt: skip
        parent = self.table.get(fd)
        base = parent.require_dir()
        name = _get_bytes(mem, path, path_len)
        oflags &= 0xFFFF
        fdflags &= 0xFFFF
        rights_base &= _U64_MAX
        rights_inheriting &= _U64_MAX
        if oflags & ~0xF or fdflags & ~0x1F:
            return Errno.INVAL
        flags = os.O_NOFOLLOW | _O_CLOEXEC
        if oflags & OFlags.CREAT:
            flags |= os.O_CREAT
        if oflags & OFlags.EXCL:
            flags |= os.O_EXCL
        if oflags & OFlags.TRUNC:
            flags |= os.O_TRUNC
        if oflags & OFlags.DIRECTORY:
            flags |= os.O_DIRECTORY
        read = bool(rights_base & _READ_RIGHTS)
        write = bool(rights_base & _WRITE_RIGHTS) or bool(fdflags & FdFlags.APPEND)
        if oflags & OFlags.DIRECTORY:
            if oflags & (OFlags.CREAT | OFlags.TRUNC):
                return Errno.INVAL
            write = False
        if oflags & OFlags.TRUNC:
            write = True
        if read and write:
            flags |= os.O_RDWR
        elif write:
            flags |= os.O_WRONLY
        else:
            flags |= os.O_RDONLY
        if fdflags & FdFlags.APPEND:
            flags |= os.O_APPEND
        if fdflags & FdFlags.NONBLOCK:
            flags |= os.O_NONBLOCK
        if fdflags & FdFlags.SYNC:
            flags |= _O_SYNC
        elif fdflags & FdFlags.DSYNC:
            flags |= _O_DSYNC
        if fdflags & FdFlags.RSYNC:
            flags |= _O_RSYNC
        with resolve(base, name, bool(dirflags & LOOKUP_SYMLINK_FOLLOW)) as r:
            if r.must_be_dir:
                flags |= os.O_DIRECTORY
            hfd = os.open(r.name, flags, 0o666, dir_fd=r.fd)
        try:
            desc = Descriptor.for_host_fd(
                hfd, fdflags=fdflags, rights_base=rights_base & parent.rights_inheriting,
                rights_inheriting=rights_inheriting & parent.rights_inheriting)  # fmt: skip
            _U32.pack_into(mem, fd_ptr & _M32, 0)  # fault before the table changes
        except BaseException:
            os.close(hfd)
            raise
        _U32.pack_into(mem, fd_ptr & _M32, self.table.insert(desc))
        return 0

    def _path_filestat_get(self, mem, fd, flags, path, path_len, buf, old):
        base = self._dir(fd)
        name = _get_bytes(mem, path, path_len)
        with resolve(base, name, bool(flags & LOOKUP_SYMLINK_FOLLOW)) as r:
            st = os.stat(r.name, dir_fd=r.fd, follow_symlinks=False)
        return self._pack_filestat(mem, buf, st, None, old)

    def path_filestat_get(self, mem, fd, flags, path, path_len, buf):
        return self._path_filestat_get(mem, fd, flags, path, path_len, buf, False)

    def u_path_filestat_get(self, mem, fd, flags, path, path_len, buf):
        return self._path_filestat_get(mem, fd, flags, path, path_len, buf, True)

    def path_filestat_set_times(self, mem, fd, flags, path, path_len, atim, mtim, fst):
        base = self._dir(fd)
        name = _get_bytes(mem, path, path_len)
        with resolve(base, name, bool(flags & LOOKUP_SYMLINK_FOLLOW)) as r:
            ns = _times(fst & _M32, atim, mtim,
                        lambda: os.stat(r.name, dir_fd=r.fd, follow_symlinks=False))  # fmt: skip
            if ns is not None:
                os.utime(r.name, ns=ns, dir_fd=r.fd, follow_symlinks=False)
        return 0

    def path_create_directory(self, mem, fd, path, path_len):
        base = self._dir(fd)
        name = _get_bytes(mem, path, path_len)
        with resolve(base, name, False) as r:
            os.mkdir(r.name, 0o777, dir_fd=r.fd)
        return 0

    def path_remove_directory(self, mem, fd, path, path_len):
        base = self._dir(fd)
        name = _get_bytes(mem, path, path_len)
        with resolve(base, name, False) as r:
            os.rmdir(r.name, dir_fd=r.fd)
        return 0

    def path_unlink_file(self, mem, fd, path, path_len):
        base = self._dir(fd)
        name = _get_bytes(mem, path, path_len)
        with resolve(base, name, False) as r:
            if r.must_be_dir:  # "x/": resolve() checked that x, if it exists, is a directory
                return Errno.ISDIR if _exists(r) else Errno.NOENT
            os.unlink(r.name, dir_fd=r.fd)
        return 0

    def path_rename(self, mem, fd, old_path, old_len, new_fd, new_path, new_len):
        old_base = self._dir(fd)
        new_base = self._dir(new_fd)
        old = _get_bytes(mem, old_path, old_len)
        new = _get_bytes(mem, new_path, new_len)
        with resolve(old_base, old, False) as a, resolve(new_base, new, False) as b:
            os.rename(a.name, b.name, src_dir_fd=a.fd, dst_dir_fd=b.fd)
        return 0

    def path_link(self, mem, old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len):
        old_base = self._dir(old_fd)
        new_base = self._dir(new_fd)
        old = _get_bytes(mem, old_path, old_len)
        new = _get_bytes(mem, new_path, new_len)
        follow = bool(old_flags & LOOKUP_SYMLINK_FOLLOW)
        with resolve(old_base, old, follow) as a, resolve(new_base, new, False) as b:
            if b.must_be_dir:
                return Errno.NOENT if not _exists(b) else Errno.EXIST
            os.link(a.name, b.name, src_dir_fd=a.fd, dst_dir_fd=b.fd, follow_symlinks=False)
        return 0

    def path_symlink(self, mem, old_path, old_len, fd, new_path, new_len):
        target = _get_bytes(mem, old_path, old_len)
        base = self._dir(fd)
        new = _get_bytes(mem, new_path, new_len)
        if b"\0" in target:
            return Errno.ILSEQ
        if target[:1] == b"/":
            return Errno.PERM  # an absolute link could never be followed inside the sandbox
        with resolve(base, new, False) as r:
            os.symlink(target, r.name, dir_fd=r.fd)
        return 0

    def path_readlink(self, mem, fd, path, path_len, buf, buf_len, bufused_ptr):
        base = self._dir(fd)
        name = _get_bytes(mem, path, path_len)
        buf &= _M32
        buf_len &= _M32
        with resolve(base, name, False) as r:
            target = os.readlink(r.name, dir_fd=r.fd)
        data = target[:buf_len]
        _put_bytes(mem, buf, data)
        _U32.pack_into(mem, bufused_ptr & _M32, len(data))
        return 0

    # -- poll ----------------------------------------------------------------------------------
    def _poll(self, mem, in_ptr, out_ptr, nsubs, nevents_ptr, old):
        in_ptr &= _M32
        out_ptr &= _M32
        nsubs &= _M32
        if nsubs == 0:
            return Errno.INVAL
        size = 56 if old else 48
        clock_s = _SUB_CLOCK0 if old else _SUB_CLOCK
        if in_ptr + size * nsubs > len(mem) or out_ptr + 32 * nsubs > len(mem):
            raise WasiError(Errno.FAULT)
        events: list[tuple[int, int, int, int, int]] = []  # userdata, error, type, nbytes, flags
        timers: list[tuple[int, int]] = []  # (deadline in monotonic ns, userdata)
        readers: dict[int, list[int]] = {}
        writers: dict[int, list[int]] = {}
        now = time.monotonic_ns()
        for i in range(nsubs):
            p = in_ptr + size * i
            userdata, tag = _SUB_HEAD.unpack_from(mem, p)
            if tag == EventType.CLOCK:
                cid, timeout, _precision, flags = clock_s.unpack_from(mem, p + 16)
                clock = _CLOCKS.get(cid)
                if clock is None:
                    events.append((userdata, Errno.INVAL, tag, 0, 0))
                    continue
                if flags & SUBCLOCK_ABSTIME:
                    delta = timeout - clock()
                else:
                    delta = timeout
                timers.append((now + max(delta, 0), userdata))
            elif tag in (EventType.FD_READ, EventType.FD_WRITE):
                (fd,) = _SUB_FD.unpack_from(mem, p + 16)
                desc = self.table.get(fd)  # a bad descriptor fails the call (as in wasmtime)
                reading = tag == EventType.FD_READ
                if desc.host_fd is not None and (desc.is_stdio or desc.filetype not in (
                        Filetype.REGULAR_FILE, Filetype.DIRECTORY)):  # fmt: skip
                    (readers if reading else writers).setdefault(desc.host_fd, []).append(userdata)
                    continue
                nbytes = 0
                if reading and desc.host_fd is not None:
                    try:
                        st = os.fstat(desc.host_fd)
                        nbytes = max(0, st.st_size - os.lseek(desc.host_fd, 0, os.SEEK_CUR))
                    except OSError:
                        nbytes = 0
                events.append((userdata, 0, tag, nbytes, 0))
            else:
                events.append((userdata, Errno.INVAL, tag, 0, 0))
        if not events:
            timeout_ns = min(d for d, _ in timers) - now if timers else None
            if readers or writers:
                timeout = None if timeout_ns is None else max(timeout_ns, 0) / 1e9
                try:
                    r, w, _ = select.select(list(readers), list(writers), [], timeout)
                except (OSError, ValueError):
                    r, w = list(readers), list(writers)
                for hfd in r:
                    events.extend((u, 0, EventType.FD_READ, 0, 0) for u in readers[hfd])
                for hfd in w:
                    events.extend((u, 0, EventType.FD_WRITE, 0, 0) for u in writers[hfd])
            elif timeout_ns is not None and timeout_ns > 0:
                time.sleep(timeout_ns / 1e9)
        now = time.monotonic_ns()
        for deadline, userdata in timers:
            if deadline <= now:
                events.append((userdata, 0, EventType.CLOCK, 0, 0))
        for i, ev in enumerate(events):
            _EVENT.pack_into(mem, out_ptr + 32 * i, *ev)
        _U32.pack_into(mem, nevents_ptr & _M32, len(events))
        return 0

    def poll_oneoff(self, mem, in_ptr, out_ptr, nsubs, nevents_ptr):
        return self._poll(mem, in_ptr, out_ptr, nsubs, nevents_ptr, False)

    def u_poll_oneoff(self, mem, in_ptr, out_ptr, nsubs, nevents_ptr):
        return self._poll(mem, in_ptr, out_ptr, nsubs, nevents_ptr, True)

    # -- sockets: none can exist, so every descriptor is "not a socket" ------------------------
    def _not_socket(self, fd) -> int:
        self.table.get(fd)
        return Errno.NOTSOCK

    def sock_accept(self, mem, fd, flags, fd_ptr):
        return self._not_socket(fd)

    def sock_recv(self, mem, fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags):
        return self._not_socket(fd)

    def sock_send(self, mem, fd, si_data, si_data_len, si_flags, so_datalen):
        return self._not_socket(fd)

    def sock_shutdown(self, mem, fd, how):
        return self._not_socket(fd)


def _exists(r) -> bool:
    try:
        os.stat(r.name, dir_fd=r.fd, follow_symlinks=False)
        return True
    except OSError:
        return False
