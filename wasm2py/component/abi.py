"""Canonical ABI layout: alignment, size in memory and flattening of component value types to
core value types (``CanonicalABI.md``: *Alignment*, *Element Size*, *Flattening*).

Results are cached per type object and pointer size (4 for 32-bit memories, 8 for 64-bit).
"""

from __future__ import annotations

from ..types import FuncType as CoreFuncType
from ..types import ValType
from .types import (
    BorrowType,
    FlagsType,
    FuncType,
    FutureType,
    ListType,
    OwnType,
    Prim,
    RecordType,
    StreamType,
    VariantType,
    despecialize,
)

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

MAX_FLAT_PARAMS = 16
MAX_FLAT_ASYNC_PARAMS = 4
MAX_FLAT_RESULTS = 1

_PRIM_SIZE = {Prim.BOOL: 1, Prim.S8: 1, Prim.U8: 1, Prim.S16: 2, Prim.U16: 2, Prim.S32: 4,
              Prim.U32: 4, Prim.S64: 8, Prim.U64: 8, Prim.F32: 4, Prim.F64: 8, Prim.CHAR: 4,
              Prim.ERROR_CONTEXT: 4}  # fmt: skip
_PRIM_FLAT = {Prim.BOOL: I32, Prim.S8: I32, Prim.U8: I32, Prim.S16: I32, Prim.U16: I32,
              Prim.S32: I32, Prim.U32: I32, Prim.S64: I64, Prim.U64: I64, Prim.F32: F32,
              Prim.F64: F64, Prim.CHAR: I32, Prim.ERROR_CONTEXT: I32}  # fmt: skip

_align_cache: dict = {}
_size_cache: dict = {}
_flat_cache: dict = {}


def align_to(ptr: int, alignment: int) -> int:
    """``ptr`` rounded up to a multiple of ``alignment``."""
    return -(-ptr // alignment) * alignment


def discriminant_size(n: int) -> int:
    """Bytes of the discriminant of a variant with ``n`` cases."""
    if n <= 1 << 8:
        return 1
    if n <= 1 << 16:
        return 2
    return 4


def flags_size(n: int) -> int:
    """Bytes of a flags value with ``n`` labels."""
    if n <= 8:
        return 1
    if n <= 16:
        return 2
    return 4


def alignment(t, ptr: int = 4) -> int:
    """Alignment in bytes of values of type ``t`` in linear memory."""
    key = (t, ptr)
    a = _align_cache.get(key)
    if a is None:
        a = _align_cache[key] = _alignment(despecialize(t), ptr)
    return a


def _alignment(t, ptr: int) -> int:
    if isinstance(t, Prim):
        return ptr if t is Prim.STRING else _PRIM_SIZE[t]
    if isinstance(t, ListType):
        return alignment(t.elem, ptr) if t.length is not None else ptr
    if isinstance(t, RecordType):
        return max((alignment(u, ptr) for _, u in t.fields), default=1)
    if isinstance(t, VariantType):
        return max(discriminant_size(len(t.cases)), max_case_alignment(t, ptr))
    if isinstance(t, FlagsType):
        return flags_size(len(t.labels))
    if isinstance(t, OwnType | BorrowType | StreamType | FutureType):
        return 4
    raise TypeError(f"not a value type: {t!r}")


def max_case_alignment(t: VariantType, ptr: int = 4) -> int:
    """The largest alignment among a variant's payload types (1 if none)."""
    return max((alignment(u, ptr) for _, u in t.cases if u is not None), default=1)


def elem_size(t, ptr: int = 4) -> int:
    """Size in bytes of values of type ``t`` in linear memory."""
    key = (t, ptr)
    s = _size_cache.get(key)
    if s is None:
        s = _size_cache[key] = _elem_size(despecialize(t), ptr)
    return s


def _elem_size(t, ptr: int) -> int:
    if isinstance(t, Prim):
        return 2 * ptr if t is Prim.STRING else _PRIM_SIZE[t]
    if isinstance(t, ListType):
        if t.length is not None:
            return t.length * elem_size(t.elem, ptr)
        return 2 * ptr
    if isinstance(t, RecordType):
        s = 0
        for _, u in t.fields:
            s = align_to(s, alignment(u, ptr)) + elem_size(u, ptr)
        return align_to(s, alignment(t, ptr))
    if isinstance(t, VariantType):
        s = align_to(discriminant_size(len(t.cases)), max_case_alignment(t, ptr))
        s += max((elem_size(u, ptr) for _, u in t.cases if u is not None), default=0)
        return align_to(s, alignment(t, ptr))
    if isinstance(t, FlagsType):
        return flags_size(len(t.labels))
    if isinstance(t, OwnType | BorrowType | StreamType | FutureType):
        return 4
    raise TypeError(f"not a value type: {t!r}")


def field_offsets(t: RecordType, ptr: int = 4) -> list[int]:
    """Byte offset of each field of a (despecialized) record."""
    out = []
    s = 0
    for _, u in t.fields:
        s = align_to(s, alignment(u, ptr))
        out.append(s)
        s += elem_size(u, ptr)
    return out


def payload_offset(t: VariantType, ptr: int = 4) -> int:
    """Byte offset of a (despecialized) variant's payload."""
    return align_to(discriminant_size(len(t.cases)), max_case_alignment(t, ptr))


def _join(a: ValType, b: ValType) -> ValType:
    if a is b:
        return a
    if {a, b} == {I32, F32}:
        return I32
    return I64


def flatten_type(t, ptr: int = 4) -> tuple[ValType, ...]:
    """The core value types a value of type ``t`` flattens to."""
    key = (t, ptr)
    f = _flat_cache.get(key)
    if f is None:
        f = _flat_cache[key] = _flatten(despecialize(t), ptr)
    return f


def _flatten(t, ptr: int) -> tuple[ValType, ...]:
    pt = I64 if ptr == 8 else I32
    if isinstance(t, Prim):
        return (pt, pt) if t is Prim.STRING else (_PRIM_FLAT[t],)
    if isinstance(t, ListType):
        if t.length is not None:
            return flatten_type(t.elem, ptr) * t.length
        return (pt, pt)
    if isinstance(t, RecordType):
        return tuple(v for _, u in t.fields for v in flatten_type(u, ptr))
    if isinstance(t, VariantType):
        flat: list[ValType] = []
        for _, u in t.cases:
            if u is None:
                continue
            for i, v in enumerate(flatten_type(u, ptr)):
                if i < len(flat):
                    flat[i] = _join(flat[i], v)
                else:
                    flat.append(v)
        return (I32, *flat)
    if isinstance(t, FlagsType | OwnType | BorrowType | StreamType | FutureType):
        return (I32,)
    raise TypeError(f"not a value type: {t!r}")


def flatten_types(ts, ptr: int = 4) -> list[ValType]:
    """The concatenated flattening of several types."""
    return [v for t in ts for v in flatten_type(t, ptr)]


def flatten_functype(ft: FuncType, context: str, *, is_async: bool = False,
                     callback: bool = False, ptr: int = 4) -> CoreFuncType:  # fmt: skip
    """The core function type of a lifted (``context="lift"``) or lowered (``"lower"``) function
    with the given options."""
    pt = I64 if ptr == 8 else I32
    params = flatten_types(ft.param_types, ptr)
    results = flatten_types(ft.result_types, ptr)
    if not is_async:
        if len(params) > MAX_FLAT_PARAMS:
            params = [pt]
        if len(results) > MAX_FLAT_RESULTS:
            if context == "lift":
                results = [pt]
            else:
                params = [*params, pt]
                results = []
        return CoreFuncType(params, results)
    if context == "lift":
        if len(params) > MAX_FLAT_PARAMS:
            params = [pt]
        results = [I32] if callback else []
    else:
        if len(params) > MAX_FLAT_ASYNC_PARAMS:
            params = [pt]
        if results:
            params = [*params, pt]
        results = [I32]
    return CoreFuncType(params, results)
