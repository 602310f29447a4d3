"""WASI preview1 constants: errno values, file types, flags and rights (from the witx).

The numbers are part of the ABI: guests compare against them, so they must be exact. They are
plain ``IntEnum``/``IntFlag`` classes so host code reads ``Errno.BADF`` and passes ints.
"""

from __future__ import annotations

import enum
import errno as _host


class Errno(enum.IntEnum):
    """``$errno`` of wasi_snapshot_preview1 (and wasi_unstable, which has the same values)."""

    SUCCESS = 0
    TOOBIG = 1  # E2BIG
    ACCES = 2
    ADDRINUSE = 3
    ADDRNOTAVAIL = 4
    AFNOSUPPORT = 5
    AGAIN = 6
    ALREADY = 7
    BADF = 8
    BADMSG = 9
    BUSY = 10
    CANCELED = 11
    CHILD = 12
    CONNABORTED = 13
    CONNREFUSED = 14
    CONNRESET = 15
    DEADLK = 16
    DESTADDRREQ = 17
    DOM = 18
    DQUOT = 19
    EXIST = 20
    FAULT = 21
    FBIG = 22
    HOSTUNREACH = 23
    IDRM = 24
    ILSEQ = 25
    INPROGRESS = 26
    INTR = 27
    INVAL = 28
    IO = 29
    ISCONN = 30
    ISDIR = 31
    LOOP = 32
    MFILE = 33
    MLINK = 34
    MSGSIZE = 35
    MULTIHOP = 36
    NAMETOOLONG = 37
    NETDOWN = 38
    NETRESET = 39
    NETUNREACH = 40
    NFILE = 41
    NOBUFS = 42
    NODEV = 43
    NOENT = 44
    NOEXEC = 45
    NOLCK = 46
    NOLINK = 47
    NOMEM = 48
    NOMSG = 49
    NOPROTOOPT = 50
    NOSPC = 51
    NOSYS = 52
    NOTCONN = 53
    NOTDIR = 54
    NOTEMPTY = 55
    NOTRECOVERABLE = 56
    NOTSOCK = 57
    NOTSUP = 58
    NOTTY = 59
    NXIO = 60
    OVERFLOW = 61
    OWNERDEAD = 62
    PERM = 63
    PIPE = 64
    PROTO = 65
    PROTONOSUPPORT = 66
    PROTOTYPE = 67
    RANGE = 68
    ROFS = 69
    SPIPE = 70
    SRCH = 71
    STALE = 72
    TIMEDOUT = 73
    TXTBSY = 74
    XDEV = 75
    NOTCAPABLE = 76


def _host_map() -> dict[int, int]:
    table: dict[int, int] = {}
    for e in Errno:
        name = "E2BIG" if e is Errno.TOOBIG else "E" + e.name
        code = getattr(_host, name, None)
        if code is not None and e is not Errno.SUCCESS:
            table.setdefault(code, int(e))
    # Aliases the loop cannot see (same number on Linux, different names elsewhere).
    for name, e in (("EOPNOTSUPP", Errno.NOTSUP), ("EWOULDBLOCK", Errno.AGAIN),
                    ("EDEADLOCK", Errno.DEADLK)):  # fmt: skip
        code = getattr(_host, name, None)
        if code is not None:
            table.setdefault(code, int(e))
    return table


#: host ``errno`` value -> WASI errno
HOST_ERRNO: dict[int, int] = _host_map()


def from_host(code: int | None) -> int:
    """The WASI errno for a host errno (``EIO`` for anything without a WASI equivalent)."""
    return HOST_ERRNO.get(code, Errno.IO) if code is not None else Errno.IO


class Filetype(enum.IntEnum):
    UNKNOWN = 0
    BLOCK_DEVICE = 1
    CHARACTER_DEVICE = 2
    DIRECTORY = 3
    REGULAR_FILE = 4
    SOCKET_DGRAM = 5
    SOCKET_STREAM = 6
    SYMBOLIC_LINK = 7


class Clock(enum.IntEnum):
    REALTIME = 0
    MONOTONIC = 1
    PROCESS_CPUTIME_ID = 2
    THREAD_CPUTIME_ID = 3


class Whence(enum.IntEnum):
    """preview1 numbering; wasi_unstable numbers them CUR=0, END=1, SET=2."""

    SET = 0
    CUR = 1
    END = 2


class FdFlags(enum.IntFlag):
    APPEND = 1
    DSYNC = 2
    NONBLOCK = 4
    RSYNC = 8
    SYNC = 16


class OFlags(enum.IntFlag):
    CREAT = 1
    DIRECTORY = 2
    EXCL = 4
    TRUNC = 8


class FstFlags(enum.IntFlag):
    ATIM = 1
    ATIM_NOW = 2
    MTIM = 4
    MTIM_NOW = 8


LOOKUP_SYMLINK_FOLLOW = 1
SUBCLOCK_ABSTIME = 1


class EventType(enum.IntEnum):
    CLOCK = 0
    FD_READ = 1
    FD_WRITE = 2


class Rights(enum.IntFlag):
    FD_DATASYNC = 1 << 0
    FD_READ = 1 << 1
    FD_SEEK = 1 << 2
    FD_FDSTAT_SET_FLAGS = 1 << 3
    FD_SYNC = 1 << 4
    FD_TELL = 1 << 5
    FD_WRITE = 1 << 6
    FD_ADVISE = 1 << 7
    FD_ALLOCATE = 1 << 8
    PATH_CREATE_DIRECTORY = 1 << 9
    PATH_CREATE_FILE = 1 << 10
    PATH_LINK_SOURCE = 1 << 11
    PATH_LINK_TARGET = 1 << 12
    PATH_OPEN = 1 << 13
    FD_READDIR = 1 << 14
    PATH_READLINK = 1 << 15
    PATH_RENAME_SOURCE = 1 << 16
    PATH_RENAME_TARGET = 1 << 17
    PATH_FILESTAT_GET = 1 << 18
    PATH_FILESTAT_SET_SIZE = 1 << 19
    PATH_FILESTAT_SET_TIMES = 1 << 20
    FD_FILESTAT_GET = 1 << 21
    FD_FILESTAT_SET_SIZE = 1 << 22
    FD_FILESTAT_SET_TIMES = 1 << 23
    PATH_SYMLINK = 1 << 24
    PATH_REMOVE_DIRECTORY = 1 << 25
    PATH_UNLINK_FILE = 1 << 26
    POLL_FD_READWRITE = 1 << 27
    SOCK_SHUTDOWN = 1 << 28
    SOCK_ACCEPT = 1 << 29


ALL_RIGHTS = (1 << 30) - 1

#: what a regular file descriptor may do
FILE_RIGHTS = (
    Rights.FD_DATASYNC | Rights.FD_READ | Rights.FD_SEEK | Rights.FD_FDSTAT_SET_FLAGS
    | Rights.FD_SYNC | Rights.FD_TELL | Rights.FD_WRITE | Rights.FD_ADVISE | Rights.FD_ALLOCATE
    | Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_SIZE | Rights.FD_FILESTAT_SET_TIMES
    | Rights.POLL_FD_READWRITE
)  # fmt: skip

#: what a directory descriptor may do
DIR_RIGHTS = (
    Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_SYNC | Rights.FD_ADVISE
    | Rights.PATH_CREATE_DIRECTORY | Rights.PATH_CREATE_FILE | Rights.PATH_LINK_SOURCE
    | Rights.PATH_LINK_TARGET | Rights.PATH_OPEN | Rights.FD_READDIR | Rights.PATH_READLINK
    | Rights.PATH_RENAME_SOURCE | Rights.PATH_RENAME_TARGET | Rights.PATH_FILESTAT_GET
    | Rights.PATH_FILESTAT_SET_SIZE | Rights.PATH_FILESTAT_SET_TIMES | Rights.FD_FILESTAT_GET
    | Rights.FD_FILESTAT_SET_TIMES | Rights.PATH_SYMLINK | Rights.PATH_REMOVE_DIRECTORY
    | Rights.PATH_UNLINK_FILE | Rights.POLL_FD_READWRITE
)  # fmt: skip

#: what a stdio stream may do (no seek/tell: wasi-libc's isatty() looks for their absence)
STREAM_RIGHTS = (
    Rights.FD_READ | Rights.FD_WRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_SYNC
    | Rights.FD_DATASYNC | Rights.FD_FILESTAT_GET | Rights.POLL_FD_READWRITE
)  # fmt: skip
