"""The guest's file descriptors: host descriptors, directories, and stdio streams.

Every guest descriptor is a :class:`Descriptor` in a :class:`FdTable`. Files and directories are
host descriptors (``os.open``), so reads and writes go straight from and to linear memory with
``os.readv``/``os.writev``. Standard streams are either host descriptors (inherited ones, not
closed by the guest's ``close``) or Python binary file objects (``io.BytesIO``, an open file),
read with ``readinto`` and written with ``write``.
"""

from __future__ import annotations

import os
import stat

from .constants import (
    ALL_RIGHTS,
    DIR_RIGHTS,
    FILE_RIGHTS,
    STREAM_RIGHTS,
    Errno,
    Filetype,
    Rights,
)
from .sandbox import WasiError


def filetype_of(mode: int) -> int:
    """The WASI file type of a host ``st_mode``."""
    if stat.S_ISREG(mode):
        return Filetype.REGULAR_FILE
    if stat.S_ISDIR(mode):
        return Filetype.DIRECTORY
    if stat.S_ISLNK(mode):
        return Filetype.SYMBOLIC_LINK
    if stat.S_ISCHR(mode):
        return Filetype.CHARACTER_DEVICE
    if stat.S_ISBLK(mode):
        return Filetype.BLOCK_DEVICE
    if stat.S_ISSOCK(mode):
        return Filetype.SOCKET_STREAM
    return Filetype.UNKNOWN


class Descriptor:
    """One open guest descriptor.

    Attributes:
        filetype: the WASI file type reported by ``fd_fdstat_get``.
        host_fd: the host descriptor, or None for a Python stream.
        stream: a Python binary file object (stdio only), or None.
        owned: whether closing the guest descriptor closes ``host_fd``.
        is_stdio: a standard stream (not seekable, as in wasmtime).
        rights_base, rights_inheriting: the WASI rights (reported, and narrowed on request).
        fdflags: the WASI ``fdflags`` in effect.
        preopen: the guest name of a preopened directory (bytes), else None.
        dir_cache: the listing being read by ``fd_readdir`` (rebuilt at cookie 0).
    """

    __slots__ = ("filetype", "host_fd", "stream", "owned", "is_stdio", "rights_base",
                 "rights_inheriting", "fdflags", "preopen", "dir_cache")  # fmt: skip

    def __init__(self, filetype: int, host_fd: int | None = None, stream=None, *,
                 owned: bool = True, is_stdio: bool = False, rights_base: int = ALL_RIGHTS,
                 rights_inheriting: int = 0, fdflags: int = 0, preopen: bytes | None = None):  # fmt: skip
        self.filetype = filetype
        self.host_fd = host_fd
        self.stream = stream
        self.owned = owned
        self.is_stdio = is_stdio
        self.rights_base = rights_base
        self.rights_inheriting = rights_inheriting
        self.fdflags = fdflags
        self.preopen = preopen
        self.dir_cache: list | None = None

    @classmethod
    def for_host_fd(cls, host_fd: int, *, owned: bool = True, fdflags: int = 0,
                    rights_base: int = ALL_RIGHTS, rights_inheriting: int = ALL_RIGHTS,
                    preopen: bytes | None = None) -> Descriptor:  # fmt: skip
        """A descriptor over an opened host file or directory (type from ``fstat``)."""
        ft = filetype_of(os.fstat(host_fd).st_mode)
        limit = DIR_RIGHTS if ft == Filetype.DIRECTORY else FILE_RIGHTS
        inherit = ALL_RIGHTS if ft == Filetype.DIRECTORY else 0
        return cls(ft, host_fd, owned=owned, fdflags=fdflags, preopen=preopen,
                   rights_base=rights_base & limit,
                   rights_inheriting=rights_inheriting & inherit)  # fmt: skip

    @classmethod
    def for_stdio(cls, source, readable: bool) -> Descriptor:
        """A standard stream: a host descriptor (int) or a Python binary file object."""
        rights = STREAM_RIGHTS & ~(Rights.FD_WRITE if readable else Rights.FD_READ)
        if isinstance(source, int):
            tty = os.isatty(source)
            ft = Filetype.CHARACTER_DEVICE if tty else Filetype.UNKNOWN
            return cls(ft, source, owned=False, is_stdio=True, rights_base=rights)
        return cls(Filetype.UNKNOWN, None, source, owned=False, is_stdio=True,
                   rights_base=rights)  # fmt: skip

    def close(self) -> None:
        """Release the host side (only what this descriptor owns)."""
        if self.owned and self.host_fd is not None:
            fd, self.host_fd = self.host_fd, None
            os.close(fd)

    # -- I/O used by fd_read / fd_write --------------------------------------------------------
    def readv(self, bufs: list[memoryview]) -> int:
        """Fill ``bufs`` in order; returns the byte count (short at end of file)."""
        fd = self.host_fd
        if fd is not None:
            return os.readv(fd, bufs)
        stream = self.stream
        if stream is None:
            raise WasiError(Errno.BADF)
        total = 0
        for b in bufs:
            if not len(b):
                continue
            readinto = getattr(stream, "readinto", None)
            if readinto is not None:
                n = readinto(b) or 0
            else:
                data = stream.read(len(b)) or b""
                n = len(data)
                b[:n] = data
            total += n
            if n < len(b):
                break
        return total

    def writev(self, bufs: list[memoryview]) -> int:
        """Write ``bufs`` in order; returns the byte count."""
        fd = self.host_fd
        if fd is not None:
            return os.writev(fd, bufs)
        stream = self.stream
        if stream is None:
            raise WasiError(Errno.BADF)
        total = 0
        for b in bufs:
            if len(b):
                n = stream.write(b.tobytes())
                total += len(b) if n is None else n
        return total

    def flush(self) -> None:
        if self.stream is not None:
            flush = getattr(self.stream, "flush", None)
            if flush is not None:
                flush()

    def require_host(self) -> int:
        """The host descriptor of a file or directory (streams: ``SPIPE``)."""
        if self.host_fd is None or self.is_stdio:
            raise WasiError(Errno.SPIPE)
        return self.host_fd

    def require_dir(self) -> int:
        """The host descriptor of a directory (others: ``NOTDIR``)."""
        if self.filetype != Filetype.DIRECTORY or self.host_fd is None:
            raise WasiError(Errno.NOTDIR)
        return self.host_fd


class FdTable:
    """Guest descriptor numbers -> :class:`Descriptor`; new numbers are the lowest free ones."""

    __slots__ = ("_fds",)

    def __init__(self):
        self._fds: dict[int, Descriptor] = {}

    def get(self, fd: int) -> Descriptor:
        """The descriptor ``fd`` (``BADF`` if not open)."""
        try:
            return self._fds[fd]
        except KeyError:
            raise WasiError(Errno.BADF) from None

    def __contains__(self, fd: int) -> bool:
        return fd in self._fds

    def insert(self, desc: Descriptor, fd: int | None = None) -> int:
        """Add a descriptor at ``fd`` or at the lowest free number; returns the number."""
        if fd is None:
            fd = 0
            while fd in self._fds:
                fd += 1
        self._fds[fd] = desc
        return fd

    def pop(self, fd: int) -> Descriptor:
        """Remove and return ``fd`` (``BADF`` if not open)."""
        try:
            return self._fds.pop(fd)
        except KeyError:
            raise WasiError(Errno.BADF) from None

    def items(self):
        return self._fds.items()

    def close_all(self) -> None:
        """Flush streams and close every owned host descriptor."""
        for desc in self._fds.values():
            try:
                desc.flush()
                desc.close()
            except OSError:
                pass
        self._fds.clear()
