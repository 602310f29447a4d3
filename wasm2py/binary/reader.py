"""Low-level reading of the WebAssembly binary format: LEB128 integers, bytes, names.

The LEB128 functions take the module bytes and a position and return ``(value, new_position)``.
They enforce the spec's size rules (at most ``ceil(N / 7)`` bytes for an N-bit integer, and the
unused bits of the last byte must be zero, or a sign extension for signed integers) and raise
:class:`~wasm2py.errors.DecodeError` otherwise. Running off the end of ``data`` raises
``IndexError``, which the decoder turns into a ``DecodeError`` at the outermost level: this keeps
the hot paths free of explicit bounds checks.

:class:`Reader` wraps them for the section-level decoder, with a current section limit so that
reading past the end of a section is reported even when more bytes follow in the module.
"""

from __future__ import annotations

from ..errors import DecodeError

TOO_LONG = "integer representation too long"
TOO_LARGE = "integer too large"


def read_u32(data: bytes, p: int) -> tuple[int, int]:
    """Decode an unsigned 32-bit LEB128 integer at ``data[p]``.

    Raises:
        DecodeError: more than 5 bytes, or bits beyond 32 set in the 5th byte.
        IndexError: the data ends inside the integer.
    """
    b = data[p]
    if b < 0x80:
        return b, p + 1
    result = b & 0x7F
    shift = 7
    p += 1
    while True:
        b = data[p]
        if shift == 28:
            if b & 0x80:
                raise DecodeError(TOO_LONG, p)
            if b & 0x70:
                raise DecodeError(TOO_LARGE, p)
            return result | (b << 28), p + 1
        result |= (b & 0x7F) << shift
        p += 1
        if b < 0x80:
            return result, p
        shift += 7


def read_s32(data: bytes, p: int) -> tuple[int, int]:
    """Decode a signed 32-bit LEB128 integer at ``data[p]``.

    Raises:
        DecodeError: more than 5 bytes, or the unused bits of the 5th byte are not a sign
            extension of bit 31.
        IndexError: the data ends inside the integer.
    """
    result = 0
    shift = 0
    while True:
        b = data[p]
        if shift == 28:
            if b & 0x80:
                raise DecodeError(TOO_LONG, p)
            # Bits 4..6 of the last byte lie beyond bit 31 and must repeat the sign (bit 3).
            high = b & 0x78
            if high != 0 and high != 0x78:
                raise DecodeError(TOO_LARGE, p)
            result |= (b & 0x0F) << 28
            if result & 0x80000000:
                result -= 1 << 32
            return result, p + 1
        result |= (b & 0x7F) << shift
        p += 1
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, p


def read_s33(data: bytes, p: int) -> tuple[int, int]:
    """Decode a signed 33-bit LEB128 integer (the block type encoding) at ``data[p]``.

    Raises:
        DecodeError: more than 5 bytes, or the unused bits of the 5th byte are not a sign
            extension of bit 32.
        IndexError: the data ends inside the integer.
    """
    result = 0
    shift = 0
    while True:
        b = data[p]
        if shift == 28:
            if b & 0x80:
                raise DecodeError(TOO_LONG, p)
            high = b & 0x70  # bits 32..34: sign bit and its extension
            if high != 0 and high != 0x70:
                raise DecodeError(TOO_LARGE, p)
            result |= (b & 0x1F) << 28
            if result & (1 << 32):
                result -= 1 << 33
            return result, p + 1
        result |= (b & 0x7F) << shift
        p += 1
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, p


def read_s64(data: bytes, p: int) -> tuple[int, int]:
    """Decode a signed 64-bit LEB128 integer at ``data[p]``.

    Raises:
        DecodeError: more than 10 bytes, or the unused bits of the 10th byte are not a sign
            extension of bit 63.
        IndexError: the data ends inside the integer.
    """
    result = 0
    shift = 0
    while True:
        b = data[p]
        if shift == 63:
            if b & 0x80:
                raise DecodeError(TOO_LONG, p)
            high = b & 0x7F  # bit 0 is bit 63 (the sign); bits 1..6 must repeat it
            if high != 0 and high != 0x7F:
                raise DecodeError(TOO_LARGE, p)
            if high:
                result -= 1 << 63
            return result, p + 1
        result |= (b & 0x7F) << shift
        p += 1
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, p


def read_u64(data: bytes, p: int) -> tuple[int, int]:
    """Decode an unsigned 64-bit LEB128 integer at ``data[p]`` (memory64's limits and
    offsets).

    Raises:
        DecodeError: more than 10 bytes, or bits beyond 64 set in the 10th byte.
        IndexError: the data ends inside the integer.
    """
    result = 0
    shift = 0
    while True:
        b = data[p]
        if shift == 63:
            if b & 0x80:
                raise DecodeError(TOO_LONG, p)
            if b & 0x7E:
                raise DecodeError(TOO_LARGE, p)
            return result | (b << 63), p + 1
        result |= (b & 0x7F) << shift
        p += 1
        if b < 0x80:
            return result, p
        shift += 7


class Reader:
    """A cursor over the module bytes for the section-level decoder.

    ``end`` is the current limit (the end of the section being read); reads that would cross it
    raise ``DecodeError("unexpected end of section or function")`` (or ``"unexpected end"`` when the
    limit is the end of the module). LEB128 reads may peek past the limit before noticing; that
    is harmless because an integer is never used once it is known to cross the limit.
    """

    __slots__ = ("data", "pos", "end", "size")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data = data
        self.size = len(data)
        self.pos = pos
        self.end = self.size if end is None else end

    # -- errors --------------------------------------------------------------------------------
    def eof_error(self, at: int | None = None) -> DecodeError:
        """The error for a read past the current limit."""
        if self.end >= self.size:
            return DecodeError("unexpected end", self.size if at is None else at)
        return DecodeError("unexpected end of section or function", self.end if at is None else at)

    def _check(self, p: int) -> int:
        if p > self.end:
            raise self.eof_error()
        return p

    # -- primitives ----------------------------------------------------------------------------
    def at_end(self) -> bool:
        """True when the cursor is at (or past) the current limit."""
        return self.pos >= self.end

    def byte(self) -> int:
        """Read one byte."""
        p = self.pos
        if p >= self.end:
            raise self.eof_error()
        self.pos = p + 1
        return self.data[p]

    def u32(self) -> int:
        """Read an unsigned 32-bit LEB128 integer."""
        try:
            v, p = read_u32(self.data, self.pos)
        except IndexError:
            raise self.eof_error() from None
        self.pos = self._check(p)
        return v

    def u64(self) -> int:
        """Read an unsigned 64-bit LEB128 integer."""
        try:
            v, p = read_u64(self.data, self.pos)
        except IndexError:
            raise self.eof_error() from None
        self.pos = self._check(p)
        return v

    def s32(self) -> int:
        """Read a signed 32-bit LEB128 integer."""
        try:
            v, p = read_s32(self.data, self.pos)
        except IndexError:
            raise self.eof_error() from None
        self.pos = self._check(p)
        return v

    def s64(self) -> int:
        """Read a signed 64-bit LEB128 integer."""
        try:
            v, p = read_s64(self.data, self.pos)
        except IndexError:
            raise self.eof_error() from None
        self.pos = self._check(p)
        return v

    def length(self) -> int:
        """Read a u32 count of items (or bytes), failing fast (before anything is allocated)
        when that many items of at least one byte cannot fit in the rest of the section."""
        n = self.u32()
        if n > self.end - self.pos:
            raise self.eof_error()
        return n

    def bytes(self, n: int) -> bytes:
        """Read ``n`` raw bytes."""
        p = self.pos
        if n > self.end - p:
            raise self.eof_error()
        self.pos = p + n
        return self.data[p : p + n]

    def vec_bytes(self) -> bytes:
        """Read a length-prefixed byte vector."""
        return self.bytes(self.length())

    def name(self) -> str:
        """Read a length-prefixed UTF-8 name."""
        n = self.length()
        start = self.pos
        raw = self.bytes(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError("malformed UTF-8 encoding", start + e.start) from None
