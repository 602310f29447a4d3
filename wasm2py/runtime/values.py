"""Conversion between embedder-facing Python values and the canonical internal representation.

Internally (in generated code and the runtime): i32/i64 are unsigned ints in ``[0, 2**N)``; f64 is a
float; f32 is a float holding an exact f32 value (an f32 NaN with payload ``p`` is the double NaN
with payload ``p << 29``, so every f32 bit pattern round-trips); references are ``None`` (null), a
:class:`~wasm2py.runtime.func.Func`, or any Python object (externref).

v128 is an unsigned int in ``[0, 2**128)`` (lane 0 in the low bits: the little-endian reading of
its 16 bytes).

Externally: i32/i64 are accepted signed or unsigned and returned signed; floats as Python floats.
v128 is accepted as an ``int`` (``0 <= v < 2**128``, or negative down to ``-2**127``, taken as
two's complement) or as 16 little-endian ``bytes`` (``bytes``/``bytearray``/``memoryview``), and
returned as the unsigned ``int``.
"""

from __future__ import annotations

import operator
import struct
from array import array
from collections.abc import Callable
from typing import Any

from ..errors import ArgumentError, ValueRangeError
from ..types import ValType

_pack_d = struct.Struct("<d").pack
_unpack_d = struct.Struct("<d").unpack
_pack_q = struct.Struct("<Q").pack
_unpack_q = struct.Struct("<Q").unpack
_f32 = array("f", [0.0])

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def f32_from_bits(bits: int) -> float:
    """The f32 value with bit pattern ``bits`` (exact, including NaN payloads and sNaNs)."""
    bits &= M32
    sign = (bits >> 31) << 63
    exp = (bits >> 23) & 0xFF
    mant = bits & 0x7FFFFF
    if exp == 0xFF:
        return _unpack_d(_pack_q(sign | (0x7FF << 52) | (mant << 29)))[0]
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f32_to_bits(x: float) -> int:
    """The f32 bit pattern of an f32 value (exact, including NaN payloads and sNaNs)."""
    if x != x:
        b = _unpack_q(_pack_d(x))[0]
        return ((b >> 63) << 31) | 0x7F800000 | ((b >> 29) & 0x7FFFFF)
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_from_bits(bits: int) -> float:
    """The f64 value with bit pattern ``bits`` (exact)."""
    return _unpack_d(_pack_q(bits & M64))[0]


def f64_to_bits(x: float) -> int:
    """The f64 bit pattern of a float (exact)."""
    return _unpack_q(_pack_d(x))[0]


def to_f32(v: object) -> float:
    """Convert a Python number to an f32 value: round to nearest f32, keep NaN payloads that fit."""
    x = float(v)  # type: ignore[arg-type]
    if x != x:
        b = _unpack_q(_pack_d(x))[0]
        if b & ((1 << 29) - 1) == 0:
            return x
        return f32_from_bits(((b >> 63) << 31) | 0x7FC00000 | ((b >> 29) & 0x7FFFFF))
    _f32[0] = x
    return _f32[0]


def _index(v: object, what: str) -> int:
    try:
        return operator.index(v)  # type: ignore[arg-type]
    except TypeError:
        raise ArgumentError(f"expected an int for {what}, got {type(v).__name__}") from None


def _arg_i32(v: object) -> int:
    if type(v) is not int:
        v = _index(v, "i32")
    if 0 <= v <= M32:  # type: ignore[operator]
        return v  # type: ignore[return-value]
    if -0x80000000 <= v < 0:  # type: ignore[operator]
        return v + 0x100000000  # type: ignore[operator]
    raise ValueRangeError(f"{v} does not fit in i32")


def _arg_i64(v: object) -> int:
    if type(v) is not int:
        v = _index(v, "i64")
    if 0 <= v <= M64:  # type: ignore[operator]
        return v  # type: ignore[return-value]
    if -0x8000000000000000 <= v < 0:  # type: ignore[operator]
        return v + 0x10000000000000000  # type: ignore[operator]
    raise ValueRangeError(f"{v} does not fit in i64")


def _arg_v128(v: object) -> int:
    if isinstance(v, bytes | bytearray | memoryview):
        b = bytes(v)
        if len(b) != 16:
            raise ValueRangeError(f"a v128 needs 16 bytes, got {len(b)}")
        return int.from_bytes(b, "little")
    if type(v) is not int:
        v = _index(v, "v128")
    if 0 <= v < 1 << 128:  # type: ignore[operator]
        return v  # type: ignore[return-value]
    if -(1 << 127) <= v < 0:  # type: ignore[operator]
        return v + (1 << 128)  # type: ignore[operator]
    raise ValueRangeError(f"{v} does not fit in v128")


def _arg_f64(v: object) -> float:
    if type(v) is float:
        return v
    if isinstance(v, bool) or not isinstance(v, int | float):
        if not hasattr(v, "__float__"):
            raise ArgumentError(f"expected a float, got {type(v).__name__}")
    return float(v)  # type: ignore[arg-type]


def _arg_f32(v: object) -> float:
    if not isinstance(v, int | float) and not hasattr(v, "__float__"):
        raise ArgumentError(f"expected a float, got {type(v).__name__}")
    return to_f32(v)


def _arg_funcref(v: object) -> object:
    from .func import Func

    if v is None or isinstance(v, Func):
        return v
    raise ArgumentError(f"expected a Func or None for funcref, got {type(v).__name__}")


def _arg_externref(v: object) -> object:
    return v


def _ret_i32(v: int) -> int:
    return v - 0x100000000 if v & 0x80000000 else +v


def _ret_i64(v: int) -> int:
    return v - 0x10000000000000000 if v & 0x8000000000000000 else +v


def _ret_same(v: object) -> object:
    return v


#: ValType -> converter from an external Python value to the internal representation.
TO_INTERNAL: dict[ValType, Callable[[object], object]] = {
    ValType.I32: _arg_i32,
    ValType.I64: _arg_i64,
    ValType.F32: _arg_f32,
    ValType.F64: _arg_f64,
    ValType.V128: _arg_v128,
    ValType.FUNCREF: _arg_funcref,
    ValType.EXTERNREF: _arg_externref,
}

#: ValType -> converter from the internal representation to the external Python value.
TO_EXTERNAL: dict[ValType, Callable[[Any], object]] = {
    ValType.I32: _ret_i32,
    ValType.I64: _ret_i64,
    ValType.F32: _ret_same,
    ValType.F64: _ret_same,
    ValType.V128: _ret_same,
    ValType.FUNCREF: _ret_same,
    ValType.EXTERNREF: _ret_same,
}


def default_value(t: ValType) -> object:
    """The zero value of a type (0, 0.0 or null; 0 for v128)."""
    if t is ValType.I32 or t is ValType.I64 or t is ValType.V128:
        return 0
    if t is ValType.F32 or t is ValType.F64:
        return 0.0
    return None
