"""wasmtime-py's ``Val`` and its value conversions: what a wasmtime-py program passes for a
parameter, result, global or table element becomes a wasm2py value (strictly: an ``int`` for an
integer, a ``float`` for a float, a ``Func`` or ``None`` for a funcref, anything for an
externref), and wasm2py's values come back with drop-in ``Func`` objects for funcrefs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..runtime.func import Func as _NativeFunc
from ..runtime.values import to_f32
from ._errors import WasmtimeError
from ._types import ValType

_I32, _I64, _F32, _F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
_FUNCREF, _EXTERNREF, _V128 = ValType.FUNCREF, ValType.EXTERNREF, ValType.V128


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


class Val:
    """A typed wasm value (wasmtime-py's ``Val``): ``Val.i32(1)``, ``Val.f64(0.5)``,
    ``Val.externref(obj)``, ``Val.funcref(func)``..."""

    __slots__ = ("_kind", "_val")

    def __init__(self, kind: ValType, val: Any):
        self._kind = kind
        self._val = val

    @classmethod
    def i32(cls, val: int) -> Val:
        """An i32 (wrapped to 32 bits, signed)."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        return cls(_I32, _signed(val, 32))

    @classmethod
    def i64(cls, val: int) -> Val:
        """An i64 (wrapped to 64 bits, signed)."""
        if not isinstance(val, int):
            raise TypeError("expected an integer")
        return cls(_I64, _signed(val, 64))

    @classmethod
    def f32(cls, val: float) -> Val:
        """An f32 (rounded to single precision)."""
        if not isinstance(val, float):
            raise TypeError("expected a float")
        return cls(_F32, to_f32(val))

    @classmethod
    def f64(cls, val: float) -> Val:
        """An f64."""
        if not isinstance(val, float):
            raise TypeError("expected a float")
        return cls(_F64, val)

    @classmethod
    def externref(cls, extern: Any) -> Val:
        """An externref to any Python object (None: null)."""
        return cls(_EXTERNREF, extern)

    @classmethod
    def funcref(cls, f: Any) -> Val:
        """A funcref to a :class:`Func` (None: null)."""
        return cls(_FUNCREF, f)

    @classmethod
    def ref_null(cls, ty: ValType) -> Val:
        """The null reference of a reference type."""
        if ty == _EXTERNREF:
            return cls.externref(None)
        if ty == _FUNCREF:
            return cls.funcref(None)
        raise WasmtimeError(f"Invalid reference type for `ref_null`: {ty}")

    def __eq__(self, rhs: object) -> bool:
        if isinstance(rhs, Val):
            return self._kind == rhs._kind and self._val == rhs._val
        return bool(self._val == rhs)

    def __hash__(self) -> int:
        return hash((self._kind, id(self._val) if self._kind.is_ref else self._val))

    def __repr__(self) -> str:
        return f"Val.{self._kind}({self._val!r})"

    @property
    def value(self) -> Any:
        """The Python value."""
        return self._val

    @property
    def type(self) -> ValType:
        """The value's type."""
        return self._kind

    def _as(self, kind: ValType) -> Any:
        return self._val if self._kind == kind else None

    def as_i32(self) -> int | None:
        """The value if an i32, else None."""
        return self._as(_I32)

    def as_i64(self) -> int | None:
        """The value if an i64, else None."""
        return self._as(_I64)

    def as_f32(self) -> float | None:
        """The value if an f32, else None."""
        return self._as(_F32)

    def as_f64(self) -> float | None:
        """The value if an f64, else None."""
        return self._as(_F64)

    def as_externref(self) -> Any:
        """The object if an externref, else None."""
        return self._as(_EXTERNREF)

    def as_funcref(self) -> Any:
        """The :class:`Func` if a non-null funcref, else None."""
        return self._as(_FUNCREF)


def to_native(ty: ValType, val: Any) -> Any:
    """A wasmtime-py value of type ``ty`` as wasm2py wants it.

    Raises:
        TypeError: the value does not fit the type.
    """
    if isinstance(val, Val):
        if val._kind != ty:
            raise TypeError("wrong type of `Val` provided")
        val = val._val
    if ty is _EXTERNREF:
        return val
    if ty is _FUNCREF:
        if val is None:
            return None
        native = getattr(val, "_native", None)
        if isinstance(native, _NativeFunc):
            return native
    elif isinstance(val, int):
        if ty is _I32:
            return val & 0xFFFFFFFF
        if ty is _I64:
            return val & 0xFFFFFFFFFFFFFFFF
        if ty is _V128:
            return val & ((1 << 128) - 1)
    elif isinstance(val, float):
        if ty is _F32 or ty is _F64:
            return val
    elif ty is _V128 and isinstance(val, bytes | bytearray) and len(val) == 16:
        return bytes(val)
    raise TypeError(f"don't know how to convert {val!r} to {ty}")


def _int_converter(ty: ValType, mask: int) -> Callable[[Any], Any]:
    def conv(v: Any) -> Any:
        if type(v) is int:  # the common case first
            return v & mask
        return to_native(ty, v)

    return conv


def _float_converter(ty: ValType) -> Callable[[Any], Any]:
    def conv(v: Any) -> Any:
        if type(v) is float:
            return v
        return to_native(ty, v)

    return conv


#: ValType -> a fast :func:`to_native` for that type
CONVERTERS: dict[ValType, Callable[[Any], Any]] = {
    _I32: _int_converter(_I32, 0xFFFFFFFF),
    _I64: _int_converter(_I64, 0xFFFFFFFFFFFFFFFF),
    _F32: _float_converter(_F32),
    _F64: _float_converter(_F64),
    _V128: lambda v: to_native(_V128, v),
    _FUNCREF: lambda v: to_native(_FUNCREF, v),
    _EXTERNREF: lambda v: to_native(_EXTERNREF, v),
}


def from_native(ty: ValType, val: Any) -> Any:
    """A wasm2py value (as the embedding API returns it) as wasmtime-py returns it."""
    if ty is _FUNCREF and val is not None:
        from ._func import Func

        return Func._wrap(val)
    return val

