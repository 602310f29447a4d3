"""The binary format's primitive encodings: LEB128 integers, names, vectors, types, sections.

Every function returns ``bytes`` and checks its range, raising :class:`~wasm2py.errors.BuildError`
for a value the format cannot hold (instead of writing a malformed module).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..binary.leb128 import sleb, uleb
from ..errors import BuildError
from ..types import FuncType, GlobalType, HeapType, Limits, MemoryType, RefType, TableType, ValType

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"


def _unsigned(n: int, bits: int) -> bytes:
    if not isinstance(n, int) or not 0 <= n < (1 << bits):
        raise BuildError(f"{n!r} does not fit an unsigned {bits}-bit integer")
    return uleb(n)


def _signed(n: int, bits: int) -> bytes:
    if not isinstance(n, int) or not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
        raise BuildError(f"{n!r} does not fit a signed {bits}-bit integer")
    return sleb(n)


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


def valtype(t: ValType | RefType) -> bytes:
    """One value type: a :class:`ValType` byte, or ``0x63``/``0x64`` and the heap type of a
    :class:`RefType` whose heap type is abstract or a type index."""
    if isinstance(t, ValType):
        return bytes((t.value,))
    if isinstance(t, RefType):
        return (b"\x63" if t.nullable else b"\x64") + heaptype(t.heap)
    raise BuildError(f"expected a ValType or RefType, got {t!r}")


def heaptype(h) -> bytes:
    """A heap type: an abstract one's byte, or a type index (s33); a reference type's
    shorthand (``ValType.FUNCREF``) stands for its heap type."""
    if isinstance(h, ValType) and h.is_ref:
        return bytes((h.value,))
    if isinstance(h, RefType):
        h = h.heap
    if isinstance(h, HeapType) and h is not HeapType.BOT:
        return bytes((h.value,))
    if isinstance(h, int) and not isinstance(h, bool) and h >= 0:
        return s33(h)
    raise BuildError(f"expected a heap type (HeapType or type index), got {h!r}")


def functype(ft: FuncType) -> bytes:
    """A function type (``0x60`` params results)."""
    if not isinstance(ft, FuncType):
        raise BuildError(f"expected a FuncType, got {ft!r}")
    return b"\x60" + vec(map(valtype, ft.params)) + vec(map(valtype, ft.results))


def limits(lim: Limits, is_64: bool = False) -> bytes:
    """Limits: ``0x00 min`` or ``0x01 min max``; flag bit 2 and u64 bounds when 64-bit."""
    flag, n = (0x04, u64) if is_64 else (0x00, u32)
    if lim.max is None:
        return bytes((flag,)) + n(lim.min)
    return bytes((flag | 1,)) + n(lim.min) + n(lim.max)


def tabletype(tt: TableType) -> bytes:
    """A table type (reference type, limits)."""
    if not tt.elem.is_ref:
        raise BuildError(f"a table holds references, not {tt.elem}")
    return valtype(tt.elem) + limits(tt.limits, tt.is_64)


def memtype(mt: MemoryType) -> bytes:
    """A memory type (limits in pages)."""
    return limits(mt.limits, mt.is_64)


def globaltype(gt: GlobalType) -> bytes:
    """A global type (value type, mutability)."""
    return valtype(gt.valtype) + (b"\x01" if gt.mutable else b"\x00")


def section(section_id: int, payload: bytes) -> bytes:
    """A section: id, payload size, payload."""
    return bytes((section_id,)) + u32(len(payload)) + payload
