"""Executable memory for machine code made in this process (the baseline tier's blobs).

Memory is never writable and executable at once, and a page that may be running is never
flipped: :class:`CodeMemory` maps one ``memfd`` file twice, a read-write view where code is
written and a read-execute view where it runs, and hands out fresh space only (code once
placed is never written again). Where a memfd cannot be mapped executable (no
``memfd_create``, a ``noexec`` policy), each placement gets fresh anonymous pages, written
and then made read-execute with ``mprotect`` before anything can run them.

The memory lives as long as its :class:`CodeMemory`: the caller keeps that object for as
long as any placed code may run (``Unit.engine`` does that for units).
"""

from __future__ import annotations

import ctypes
import mmap
import os

_PAGE = mmap.PAGESIZE
_CHUNK = 1 << 20  # bytes of one memfd chunk (bigger placements get a chunk of their own)
_ALIGN = 16

_libc = ctypes.CDLL(None, use_errno=True)
_mmap = _libc.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                  ctypes.c_long]  # fmt: skip
_munmap = _libc.munmap
_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_mprotect = _libc.mprotect
_mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_MAP_FAILED = ctypes.c_void_p(-1).value

_PROT_R, _PROT_W, _PROT_X = mmap.PROT_READ, mmap.PROT_WRITE, mmap.PROT_EXEC
_MAP_SHARED, _MAP_PRIVATE = mmap.MAP_SHARED, mmap.MAP_PRIVATE
_MAP_ANON = mmap.MAP_ANONYMOUS


def _map(size: int, prot: int, flags: int, fd: int) -> int:
    addr = _mmap(None, size, prot, flags, fd, 0)
    if addr in (None, _MAP_FAILED):
        e = ctypes.get_errno()
        raise OSError(e, f"mmap: {os.strerror(e)}")
    return addr


class _Chunk:
    """One memfd mapped twice: ``rw`` (written) and ``rx`` (run) views of ``size`` bytes."""

    __slots__ = ("fd", "size", "rw", "rx", "used")

    def __init__(self, size: int):
        self.fd = os.memfd_create("wasm2py-baseline", os.MFD_CLOEXEC)
        self.rw = self.rx = 0
        try:
            os.ftruncate(self.fd, size)
            self.size = size
            self.rw = _map(size, _PROT_R | _PROT_W, _MAP_SHARED, self.fd)
            self.rx = _map(size, _PROT_R | _PROT_X, _MAP_SHARED, self.fd)
        except BaseException:
            self.free()
            raise
        self.used = 0

    def free(self) -> None:
        if self.rw:
            _munmap(self.rw, self.size)
        if self.rx:
            _munmap(self.rx, self.size)
        self.rw = self.rx = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


#: whether memfd double mapping works here (found on first use)
_dual: bool | None = None


class CodeMemory:
    """Owner of executable memory: :meth:`place` copies code in and returns its address,
    valid until :meth:`free` (or until the object is collected)."""

    def __init__(self) -> None:
        self._chunks: list[_Chunk] = []
        self._pages: list[tuple[int, int]] = []  # (address, size) of mprotect'ed mappings

    def place(self, code: bytes) -> int:
        """Copy ``code`` into fresh executable memory; returns its address (16-byte aligned)."""
        global _dual
        if _dual is not False:
            try:
                addr = self._place_dual(code)
                _dual = True
                return addr
            except OSError:
                if _dual:
                    raise
                _dual = False
        return self._place_pages(code)

    def _place_dual(self, code: bytes) -> int:
        n = len(code)
        ch = self._chunks[-1] if self._chunks else None
        if ch is None or ch.used + n > ch.size:
            ch = _Chunk(max(_CHUNK, (n + _PAGE - 1) // _PAGE * _PAGE))
            self._chunks.append(ch)
        off = ch.used
        ctypes.memmove(ch.rw + off, code, n)
        ch.used = (off + n + _ALIGN - 1) // _ALIGN * _ALIGN
        return ch.rx + off

    def _place_pages(self, code: bytes) -> int:
        size = max((len(code) + _PAGE - 1) // _PAGE * _PAGE, _PAGE)
        addr = _map(size, _PROT_R | _PROT_W, _MAP_PRIVATE | _MAP_ANON, -1)
        ctypes.memmove(addr, code, len(code))
        if _mprotect(addr, size, _PROT_R | _PROT_X) != 0:
            e = ctypes.get_errno()
            _munmap(addr, size)
            raise OSError(e, f"mprotect: {os.strerror(e)}")
        self._pages.append((addr, size))
        return addr

    def free(self) -> None:
        """Unmap everything placed (no code placed here may run any more)."""
        for ch in self._chunks:
            ch.free()
        self._chunks = []
        for addr, size in self._pages:
            _munmap(addr, size)
        self._pages = []

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # (interpreter shutdown: the modules may be gone)
            pass
