"""The binary format's primitive encodings: LEB128 integers, names, vectors, types, sections.

Every function returns ``bytes`` and checks its range, raising :class:`~wasm2py.errors.BuildError`
for a value the format cannot hold (instead of writing a malformed module).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import BuildError
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"


def _unsigned(n: int, bits: int) -> bytes:
    if not isinstance(n, int) or not 0 <= n < (1 << bits):
        raise BuildError(f"{n!r} does not fit an unsigned {bits}-bit integer")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _signed(n: int, bits: int) -> bytes:
    if not isinstance(n, int) or not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
        raise BuildError(f"{n!r} does not fit a signed {bits}-bit integer")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7  # arithmetic shift: stays -1 for negative numbers
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def u32(n: int) -> bytes:
    """Unsigned 32-bit LEB128."""
    return _unsigned(n, 32)


def u64(n: int) -> bytes:
    """Unsigned 64-bit LEB128."""
    return _unsigned(n, 64)


def s32(n: int) -> bytes:
    """Signed 32-bit LEB128 (``n`` in ``[-2**31, 2**31)``)."""
    return _signed(n, 32)


def s33(n: int) -> bytes:
    """Signed 33-bit LEB128 (block types that are type indices)."""
    return _signed(n, 33)


def s64(n: int) -> bytes:
    """Signed 64-bit LEB128 (``n`` in ``[-2**63, 2**63)``)."""
    return _signed(n, 64)


def wrap_i32(n: int) -> int:
    """An i32 given signed or unsigned, as the signed value ``i32.const`` encodes."""
    if not isinstance(n, int) or not -(1 << 31) <= n < (1 << 32):
        raise BuildError(f"{n!r} is not an i32")
    return n - (1 << 32) if n >= (1 << 31) else n


def wrap_i64(n: int) -> int:
    """An i64 given signed or unsigned, as the signed value ``i64.const`` encodes."""
    if not isinstance(n, int) or not -(1 << 63) <= n < (1 << 64):
        raise BuildError(f"{n!r} is not an i64")
    return n - (1 << 64) if n >= (1 << 63) else n


def name(text: str) -> bytes:
    """A length-prefixed UTF-8 name."""
    if not isinstance(text, str):
        raise BuildError(f"a name must be a str, got {type(text).__name__}")
    data = text.encode("utf-8")
    return u32(len(data)) + data


def byte_vec(data: bytes) -> bytes:
    """A length-prefixed byte vector."""
    data = bytes(data)
    return u32(len(data)) + data


def vec(items: Iterable[bytes]) -> bytes:
    """A vector: the count, then the already-encoded items."""
    items = list(items)
    return u32(len(items)) + b"".join(items)


def valtype(t: ValType) -> bytes:
    """One value type."""
    if not isinstance(t, ValType):
        raise BuildError(f"expected a ValType, got {t!r}")
    return bytes((t.value,))


def functype(ft: FuncType) -> bytes:
    """A function type (``0x60`` params results)."""
    if not isinstance(ft, FuncType):
        raise BuildError(f"expected a FuncType, got {ft!r}")
    return b"\x60" + vec(map(valtype, ft.params)) + vec(map(valtype, ft.results))


def limits(lim: Limits) -> bytes:
    """Limits: ``0x00 min`` or ``0x01 min max``."""
    if lim.max is None:
        return b"\x00" + u32(lim.min)
    return b"\x01" + u32(lim.min) + u32(lim.max)


def tabletype(tt: TableType) -> bytes:
    """A table type (reference type, limits)."""
    if not tt.elem.is_ref:
        raise BuildError(f"a table holds references, not {tt.elem}")
    return valtype(tt.elem) + limits(tt.limits)


def memtype(mt: MemoryType) -> bytes:
    """A memory type (limits in pages)."""
    return limits(mt.limits)


def globaltype(gt: GlobalType) -> bytes:
    """A global type (value type, mutability)."""
    return valtype(gt.valtype) + (b"\x01" if gt.mutable else b"\x00")


def section(section_id: int, payload: bytes) -> bytes:
    """A section: id, payload size, payload."""
    return bytes((section_id,)) + u32(len(payload)) + payload
