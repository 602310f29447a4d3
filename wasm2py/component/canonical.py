"""Lifting and lowering component values to and from core values and linear memory
(``CanonicalABI.md``: *Loading*, *Storing*, *Flat Lifting*, *Flat Lowering*, *Lifting and
Lowering Values*).

Values take the Python forms of :mod:`.values`, except handles: an ``own``/``borrow`` value is the
resource's representation (an ``int``), a ``stream``/``future`` the shared stream or future
object, as in the spec. :mod:`.api` converts those to Python objects at the host boundary.

Every check the spec makes (alignment, bounds, discriminants, ``char`` and UTF-8 validity,
handle states) traps with :class:`~wasm2py.Trap` at the same point.
"""

from __future__ import annotations

import math
import struct

from ..errors import TrapCode
from ..runtime.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from ..types import ValType
from . import abi
from .abi import align_to, alignment, elem_size, flatten_type
from .handles import ResourceHandle, trap, wrong_type
from .strings import load_string_from_range, store_string_into_range
from .types import (
    BorrowType,
    EnumType,
    FlagsType,
    FutureType,
    ListType,
    MapType,
    OptionType,
    OwnType,
    Prim,
    RecordType,
    ResultType,
    StreamType,
    TupleType,
    VariantType,
    despecialize,
)
from .values import Err, ErrorContext, Ok, Some, Variant

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
CANONICAL_NAN32 = 0x7FC00000
CANONICAL_NAN64 = 0x7FF8000000000000
MAX_LIST_BYTE_LENGTH = (1 << 28) - 1


class Options:
    """Run-time canonical options: string encoding, memory (a runtime linear memory), realloc,
    post-return and callback (core functions taking and returning unsigned ints), async."""

    __slots__ = ("encoding", "memory", "realloc", "post_return", "is_async", "callback", "ptr")

    def __init__(self, encoding: str = "utf8", memory=None, realloc=None, post_return=None,
                 is_async: bool = False, callback=None, ptr: int = 4):  # fmt: skip
        self.encoding = encoding
        self.memory = memory
        self.realloc = realloc
        self.post_return = post_return
        self.is_async = is_async
        self.callback = callback
        self.ptr = ptr

    def same_lift(self, other: Options, t=None) -> bool:
        """Whether two option sets lift values of type ``t`` identically (``task.return``
        checks it; only the options ``t`` needs are compared)."""
        if t is None:
            return True
        from .canon_check import contains_ptr
        from .types import contains

        if contains(t, lambda u: u is Prim.STRING) and self.encoding != other.encoding:
            return False
        needs_memory = contains_ptr(t) or len(abi.flatten_type(t, self.ptr)) > 16
        return not needs_memory or self.memory is other.memory


class Context:
    """The context of one lift or lower: options, the instance whose tables handles live in,
    and the task or subtask borrows are scoped to."""

    __slots__ = ("opts", "inst", "borrow_scope")

    def __init__(self, opts: Options, inst, borrow_scope=None):
        self.opts = opts
        self.inst = inst
        self.borrow_scope = borrow_scope

    def reallocate(self, old: int, old_size: int, align: int, new_size: int) -> int:
        """Call the ``realloc`` option (no leaving the instance meanwhile)."""
        inst = self.inst
        inst.may_leave = False
        try:
            return self.opts.realloc(old, old_size, align, new_size)
        finally:
            inst.may_leave = True

    def allocate(self, align: int, size: int) -> int:
        """Allocate ``size`` bytes aligned to ``align`` with ``realloc``."""
        return self.reallocate(0, 0, align, size)


def _bad(msg: str):
    return trap(TrapCode.BAD_POINTER, msg)


def _invalid(msg: str):
    return trap(TrapCode.INVALID_VALUE, msg)


_INT_FMT = {(1, False): "<B", (1, True): "<b", (2, False): "<H", (2, True): "<h",
            (4, False): "<I", (4, True): "<i", (8, False): "<Q", (8, True): "<q"}  # fmt: skip
_STRUCTS = {k: struct.Struct(f) for k, f in _INT_FMT.items()}
_PRIM_INT = {Prim.U8: (1, False), Prim.S8: (1, True), Prim.U16: (2, False), Prim.S16: (2, True),
             Prim.U32: (4, False), Prim.S32: (4, True), Prim.U64: (8, False),
             Prim.S64: (8, True)}  # fmt: skip
_PRIM_RANGE = {p: ((-(1 << (8 * n - 1)), 1 << (8 * n - 1)) if s else (0, 1 << (8 * n)))
               for p, (n, s) in _PRIM_INT.items()}  # fmt: skip


def load_int(cx: Context, ptr: int, n: int, signed: bool = False) -> int:
    """An integer of ``n`` bytes at ``ptr``."""
    return _STRUCTS[(n, signed)].unpack_from(cx.opts.memory.view, ptr)[0]


def store_int(cx: Context, v: int, ptr: int, n: int, signed: bool = False) -> None:
    """Store integer ``v`` in ``n`` bytes at ``ptr``."""
    _STRUCTS[(n, signed)].pack_into(cx.opts.memory.view, ptr, v)


def canonical_f32(bits: int) -> float:
    """An f32 from its bits, with every NaN made the canonical NaN."""
    if (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF:
        bits = CANONICAL_NAN32
    return f32_from_bits(bits)


def canonical_f64(bits: int) -> float:
    """An f64 from its bits, with every NaN made the canonical NaN."""
    if (bits & 0x7FF0000000000000) == 0x7FF0000000000000 and bits & 0xFFFFFFFFFFFFF:
        bits = CANONICAL_NAN64
    return f64_from_bits(bits)


def f32_bits(v: float) -> int:
    """The bits an f32 value is stored as (NaN: canonical)."""
    if v != v:
        return CANONICAL_NAN32
    return f32_to_bits(_to_f32(v))


def f64_bits(v: float) -> int:
    """The bits an f64 value is stored as (NaN: canonical)."""
    if v != v:
        return CANONICAL_NAN64
    return f64_to_bits(float(v))


def _to_f32(v) -> float:
    from ..runtime.values import to_f32

    return to_f32(float(v))


def char_from_i32(i: int) -> str:
    """A ``char`` from its code point; traps on surrogates and values past U+10FFFF."""
    if i >= 0x110000 or 0xD800 <= i <= 0xDFFF:
        raise _invalid("invalid `char` bit pattern")
    return chr(i)


def char_to_i32(c) -> int:
    """The code point of a ``char`` value."""
    if not isinstance(c, str) or len(c) != 1:
        raise TypeError(f"expected a single character, got {c!r}")
    i = ord(c)
    if 0xD800 <= i <= 0xDFFF:
        raise ValueError("a char cannot be a surrogate code point")
    return i


def check_int(v, t: Prim) -> int:
    """A Python int for a component integer type (TypeError/OverflowError otherwise)."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an int for {t}, got {type(v).__name__}")
    lo, hi = _PRIM_RANGE[t]
    if not lo <= v < hi:
        raise OverflowError(f"{v} is out of range for {t}")
    return v


# --- loading ----------------------------------------------------------------------------------


def load(cx: Context, ptr: int, t):
    """The value of type ``t`` stored at ``ptr`` (already checked to be in bounds)."""
    if isinstance(t, Prim):
        ni = _PRIM_INT.get(t)
        if ni is not None:
            return load_int(cx, ptr, *ni)
        if t is Prim.BOOL:
            return load_int(cx, ptr, 1) != 0
        if t is Prim.F32:
            return canonical_f32(load_int(cx, ptr, 4))
        if t is Prim.F64:
            return canonical_f64(load_int(cx, ptr, 8))
        if t is Prim.CHAR:
            return char_from_i32(load_int(cx, ptr, 4))
        if t is Prim.STRING:
            p = cx.opts.ptr
            return load_string_from_range(cx, load_int(cx, ptr, p), load_int(cx, ptr + p, p))
        return lift_error_context(cx, load_int(cx, ptr, 4))
    if isinstance(t, ListType):
        if t.length is not None:
            return load_list_valid(cx, ptr, t.length, t.elem)
        p = cx.opts.ptr
        return load_list(cx, load_int(cx, ptr, p), load_int(cx, ptr + p, p), t.elem)
    if isinstance(t, RecordType):
        offs = abi.field_offsets(t, cx.opts.ptr)
        return {n: load(cx, ptr + o, u) for (n, u), o in zip(t.fields, offs)}
    if isinstance(t, TupleType):
        d = despecialize(t)
        offs = abi.field_offsets(d, cx.opts.ptr)
        return tuple(load(cx, ptr + o, u) for u, o in zip(t.types, offs))
    if isinstance(t, VariantType | EnumType | OptionType | ResultType):
        d = despecialize(t)
        n = abi.discriminant_size(len(d.cases))
        case = load_int(cx, ptr, n)
        if case >= len(d.cases):
            raise _invalid("invalid variant discriminant")
        label, u = d.cases[case]
        payload = None if u is None else load(cx, ptr + abi.payload_offset(d, cx.opts.ptr), u)
        return _make_case(t, case, label, payload)
    if isinstance(t, FlagsType):
        return unpack_flags(load_int(cx, ptr, abi.flags_size(len(t.labels))), t.labels)
    if isinstance(t, MapType):
        p = cx.opts.ptr
        return load_list(cx, load_int(cx, ptr, p), load_int(cx, ptr + p, p),
                         despecialize(t).elem)  # fmt: skip
    if isinstance(t, OwnType):
        return lift_own(cx, load_int(cx, ptr, 4), t)
    if isinstance(t, BorrowType):
        return lift_borrow(cx, load_int(cx, ptr, 4), t)
    if isinstance(t, StreamType | FutureType):
        from .streams import lift_async_value

        return lift_async_value(cx, load_int(cx, ptr, 4), t)
    raise TypeError(f"cannot load a value of type {t}")


def _make_case(t, case: int, label: str, payload):
    """The Python value of a variant-like type's case."""
    if isinstance(t, VariantType):
        return Variant(label, payload)
    if isinstance(t, EnumType):
        return label
    if isinstance(t, OptionType):
        if case == 0:
            return None
        return Some(payload) if _needs_some(t) else payload
    return Ok(payload) if case == 0 else Err(payload)


def _needs_some(t: OptionType) -> bool:
    """Whether ``some`` payloads of an option are wrapped in :class:`Some` (its payload type has a
    value represented by None)."""
    return isinstance(t.type, OptionType)


def load_list(cx: Context, ptr: int, length: int, elem) -> list:
    """The list at (``ptr``, ``length``), after checking bounds and alignment."""
    p = cx.opts.ptr
    size = elem_size(elem, p)
    if length * size > MAX_LIST_BYTE_LENGTH:
        raise _bad("list content out-of-bounds")
    if ptr != align_to(ptr, alignment(elem, p)):
        raise _bad("unaligned pointer")
    if ptr + length * size > len(cx.opts.memory.view):
        raise _bad("list content out-of-bounds")
    return load_list_valid(cx, ptr, length, elem)


def load_list_valid(cx: Context, ptr: int, length: int, elem) -> list:
    """The list of ``length`` elements at ``ptr`` (bounds already checked)."""
    if elem is Prim.U8:
        return list(cx.opts.memory.view[ptr : ptr + length])
    size = elem_size(elem, cx.opts.ptr)
    ni = _PRIM_INT.get(elem) if isinstance(elem, Prim) else None
    if ni is not None:
        fmt = _INT_FMT[ni][1]
        return list(struct.unpack_from(f"<{length}{fmt}", cx.opts.memory.view, ptr))
    return [load(cx, ptr + i * size, elem) for i in range(length)]


def unpack_flags(i: int, labels) -> frozenset:
    """The set of labels whose bit is set in ``i``."""
    return frozenset(label for k, label in enumerate(labels) if i >> k & 1)


def lift_error_context(cx: Context, i: int) -> ErrorContext:
    """The error context at handle ``i``."""
    e = cx.inst.handles.get(i)
    if not isinstance(e, ErrorContext):
        raise wrong_type(i, "error-context")
    return e


def lift_own(cx: Context, i: int, t: OwnType) -> int:
    """Take the owning handle ``i`` out of the table; its representation."""
    h = cx.inst.handles.get(i)
    if not isinstance(h, ResourceHandle):
        raise wrong_type(i, "resource")
    if h.rt is not t.resource:
        raise trap(TrapCode.INVALID_HANDLE, f"handle index {i} used with the wrong type, "
                   "expected guest-defined resource but found a different guest-defined resource")  # fmt: skip
    if h.num_lends:
        raise trap(TrapCode.INVALID_HANDLE, "cannot remove owned resource while borrowed")
    if not h.own:
        raise trap(TrapCode.INVALID_HANDLE, f"handle index {i} is a borrow, expected an own")
    cx.inst.handles.remove(i)
    return h.rep


def lift_borrow(cx: Context, i: int, t: BorrowType) -> int:
    """The representation behind handle ``i``, lent for the current call."""
    h = cx.inst.handles.get(i)
    if not isinstance(h, ResourceHandle):
        raise wrong_type(i, "resource")
    if h.rt is not t.resource:
        raise trap(TrapCode.INVALID_HANDLE, f"handle index {i} used with the wrong type, "
                   "expected guest-defined resource but found a different guest-defined resource")  # fmt: skip
    cx.borrow_scope.add_lender(h)
    return h.rep


# --- storing ----------------------------------------------------------------------------------


def store(cx: Context, v, t, ptr: int) -> None:
    """Store value ``v`` of type ``t`` at ``ptr`` (already checked to be in bounds)."""
    if isinstance(t, Prim):
        ni = _PRIM_INT.get(t)
        if ni is not None:
            store_int(cx, check_int(v, t), ptr, *ni)
        elif t is Prim.BOOL:
            store_int(cx, 1 if v else 0, ptr, 1)
        elif t is Prim.F32:
            store_int(cx, f32_bits(v), ptr, 4)
        elif t is Prim.F64:
            store_int(cx, f64_bits(v), ptr, 8)
        elif t is Prim.CHAR:
            store_int(cx, char_to_i32(v), ptr, 4)
        elif t is Prim.STRING:
            begin, units = store_string_into_range(cx, v)
            p = cx.opts.ptr
            store_int(cx, begin, ptr, p)
            store_int(cx, units, ptr + p, p)
        else:
            store_int(cx, lower_error_context(cx, v), ptr, 4)
        return
    if isinstance(t, ListType):
        if t.length is not None:
            items = _items(v, t.length)
            store_list_valid(cx, items, ptr, t.elem)
            return
        begin, n = store_list(cx, v, t.elem)
        p = cx.opts.ptr
        store_int(cx, begin, ptr, p)
        store_int(cx, n, ptr + p, p)
        return
    if isinstance(t, RecordType):
        offs = abi.field_offsets(t, cx.opts.ptr)
        for (n, u), o in zip(t.fields, offs):
            store(cx, record_field(v, n), u, ptr + o)
        return
    if isinstance(t, TupleType):
        vs = _items(v, len(t.types))
        offs = abi.field_offsets(despecialize(t), cx.opts.ptr)
        for x, u, o in zip(vs, t.types, offs):
            store(cx, x, u, ptr + o)
        return
    if isinstance(t, VariantType | EnumType | OptionType | ResultType):
        d = despecialize(t)
        case, payload = match_case(v, t)
        store_int(cx, case, ptr, abi.discriminant_size(len(d.cases)))
        u = d.cases[case][1]
        if u is not None:
            store(cx, payload, u, ptr + abi.payload_offset(d, cx.opts.ptr))
        return
    if isinstance(t, FlagsType):
        store_int(cx, pack_flags(v, t.labels), ptr, abi.flags_size(len(t.labels)))
        return
    if isinstance(t, MapType):
        begin, n = store_list(cx, _map_items(v), despecialize(t).elem)
        p = cx.opts.ptr
        store_int(cx, begin, ptr, p)
        store_int(cx, n, ptr + p, p)
        return
    if isinstance(t, OwnType):
        store_int(cx, lower_own(cx, v, t), ptr, 4)
        return
    if isinstance(t, BorrowType):
        store_int(cx, lower_borrow(cx, v, t), ptr, 4)
        return
    if isinstance(t, StreamType | FutureType):
        from .streams import lower_async_value

        store_int(cx, lower_async_value(cx, v, t), ptr, 4)
        return
    raise TypeError(f"cannot store a value of type {t}")


def _items(v, n: int) -> list:
    items = list(v)
    if len(items) != n:
        raise ValueError(f"expected {n} elements, got {len(items)}")
    return items


def _map_items(v) -> list:
    if isinstance(v, dict):
        return list(v.items())
    return [tuple(p) for p in v]


def record_field(v, name: str):
    """Field ``name`` of a record value (a dict, or an object with the field as attribute:
    dashes become underscores)."""
    if isinstance(v, dict):
        try:
            return v[name]
        except KeyError:
            raise ValueError(f"record value has no field {name!r}") from None
    attr = name.replace("-", "_")
    try:
        return getattr(v, attr)
    except AttributeError:
        raise ValueError(f"record value {v!r} has no field {name!r}") from None


def match_case(v, t) -> tuple[int, object]:
    """(case index, payload) of a value of a variant-like type."""
    if isinstance(t, VariantType):
        if not isinstance(v, Variant):
            raise TypeError(f"expected a Variant for {t}, got {v!r}")
        for i, (label, _) in enumerate(t.cases):
            if label == v.case:
                return i, v.value
        raise ValueError(f"{v.case!r} is not a case of {t}")
    if isinstance(t, EnumType):
        try:
            return t.labels.index(v), None
        except ValueError:
            raise ValueError(f"{v!r} is not a case of {t}") from None
    if isinstance(t, OptionType):
        if v is None:
            return 0, None
        if _needs_some(t):
            if not isinstance(v, Some):
                raise TypeError(f"expected None or Some(...) for {t}, got {v!r}")
            return 1, v.value
        return 1, v
    if isinstance(v, Ok):
        return 0, v.value
    if isinstance(v, Err):
        return 1, v.value
    raise TypeError(f"expected Ok(...) or Err(...) for {t}, got {v!r}")


def pack_flags(v, labels) -> int:
    """The bits of a flags value (a set of labels, or a dict of label -> bool)."""
    if isinstance(v, dict):
        v = [k for k, b in v.items() if b]
    out = 0
    names = set(v)
    for k, label in enumerate(labels):
        if label in names:
            out |= 1 << k
            names.discard(label)
    if names:
        raise ValueError(f"unknown flags {sorted(names)!r}")
    return out


def store_list(cx: Context, v, elem) -> tuple[int, int]:
    """Allocate and store a list; returns (pointer, length)."""
    if isinstance(v, bytes | bytearray) and elem is Prim.U8:
        items = v
    else:
        items = list(v)
    p = cx.opts.ptr
    nbytes = len(items) * elem_size(elem, p)
    align = alignment(elem, p)
    ptr = cx.allocate(align, nbytes)
    if ptr != align_to(ptr, align):
        raise _bad("unaligned pointer")
    if ptr + nbytes > len(cx.opts.memory.view):
        raise _bad("list pointer/length out of bounds of memory")
    store_list_valid(cx, items, ptr, elem)
    return ptr, len(items)


def store_list_valid(cx: Context, items, ptr: int, elem) -> None:
    """Store list elements at ``ptr`` (bounds already checked)."""
    if elem is Prim.U8:
        data = bytes(check_int(x, Prim.U8) for x in items) if not isinstance(
            items, bytes | bytearray) else bytes(items)  # fmt: skip
        cx.opts.memory.view[ptr : ptr + len(data)] = data
        return
    size = elem_size(elem, cx.opts.ptr)
    for i, x in enumerate(items):
        store(cx, x, elem, ptr + i * size)


def lower_error_context(cx: Context, v) -> int:
    """Put an error context into the table; its index."""
    if not isinstance(v, ErrorContext):
        raise TypeError(f"expected an ErrorContext, got {v!r}")
    return cx.inst.handles.add(v)


def lower_own(cx: Context, rep: int, t: OwnType) -> int:
    """Put an owning handle for ``rep`` into the table; its index."""
    return cx.inst.handles.add(ResourceHandle(t.resource, rep, True))


def lower_borrow(cx: Context, rep: int, t: BorrowType) -> int:
    """A borrowed handle for ``rep`` (the representation itself in the defining instance)."""
    if cx.inst is t.resource.instance:
        return rep
    h = ResourceHandle(t.resource, rep, False, cx.borrow_scope)
    cx.borrow_scope.num_borrows += 1
    return cx.inst.handles.add(h)


# --- flat lifting -----------------------------------------------------------------------------


class CoreValues:
    """An iterator over flat core values (unsigned ints, floats)."""

    __slots__ = ("values", "i")

    def __init__(self, values):
        self.values = values
        self.i = 0

    def next(self, t=None):
        """The next flat value."""
        v = self.values[self.i]
        self.i += 1
        return v


def _wrap(vi: CoreValues, have: list):
    """A value iterator over a variant payload, converting joined flat slots back."""

    class Coerce:
        __slots__ = ()

        def next(self, want):
            h = have.pop(0)
            x = vi.next(h)
            if h is want:
                return x
            if h is I32 and want is F32:
                return _f32_from_i32(x)
            if h is I64 and want is I32:
                return x & M32
            if h is I64 and want is F32:
                return _f32_from_i32(x & M32)
            if h is I64 and want is F64:
                return canonical_f64(x & M64)
            return x

    return Coerce()


def _f32_from_i32(x: int) -> float:
    return canonical_f32(x & M32)


def lift_flat(cx: Context, vi, t):
    """Lift a value of type ``t`` from flat core values."""
    if isinstance(t, Prim):
        if t is Prim.BOOL:
            return (vi.next(I32) & M32) != 0
        ni = _PRIM_INT.get(t)
        if ni is not None:
            n, signed = ni
            x = vi.next(I64 if n == 8 else I32)
            bits = 8 * n
            x &= (1 << bits) - 1
            if signed and x >> (bits - 1):
                x -= 1 << bits
            return x
        if t is Prim.F32:
            x = vi.next(F32)
            return canonical_f32(f32_to_bits(x)) if isinstance(x, float) else canonical_f32(x)
        if t is Prim.F64:
            x = vi.next(F64)
            return canonical_f64(f64_to_bits(x)) if isinstance(x, float) else canonical_f64(x)
        if t is Prim.CHAR:
            return char_from_i32(vi.next(I32) & M32)
        if t is Prim.STRING:
            m = _ptr_mask(cx)
            ptr = vi.next() & m
            return load_string_from_range(cx, ptr, vi.next() & m)
        return lift_error_context(cx, vi.next(I32) & M32)
    if isinstance(t, ListType):
        if t.length is not None:
            return [lift_flat(cx, vi, t.elem) for _ in range(t.length)]
        m = _ptr_mask(cx)
        ptr = vi.next() & m
        return load_list(cx, ptr, vi.next() & m, t.elem)
    if isinstance(t, RecordType):
        return {n: lift_flat(cx, vi, u) for n, u in t.fields}
    if isinstance(t, TupleType):
        return tuple(lift_flat(cx, vi, u) for u in t.types)
    if isinstance(t, VariantType | EnumType | OptionType | ResultType):
        d = despecialize(t)
        flat = list(flatten_type(d, cx.opts.ptr))[1:]
        case = vi.next(I32) & M32
        if case >= len(d.cases):
            raise _invalid("invalid variant discriminant")
        label, u = d.cases[case]
        have = list(flat)
        if u is None:
            payload = None
        else:
            payload = lift_flat(cx, _wrap(vi, have), u)
        for h in have:
            vi.next(h)
        return _make_case(t, case, label, payload)
    if isinstance(t, FlagsType):
        return unpack_flags(vi.next(I32) & M32, t.labels)
    if isinstance(t, MapType):
        m = _ptr_mask(cx)
        ptr = vi.next() & m
        return load_list(cx, ptr, vi.next() & m, despecialize(t).elem)
    if isinstance(t, OwnType):
        return lift_own(cx, vi.next(I32) & M32, t)
    if isinstance(t, BorrowType):
        return lift_borrow(cx, vi.next(I32) & M32, t)
    if isinstance(t, StreamType | FutureType):
        from .streams import lift_async_value

        return lift_async_value(cx, vi.next(I32) & M32, t)
    raise TypeError(f"cannot lift a value of type {t}")


def _ptr_mask(cx: Context) -> int:
    return M64 if cx.opts.ptr == 8 else M32


# --- flat lowering ----------------------------------------------------------------------------


def lower_flat(cx: Context, v, t) -> list:
    """The flat core values of value ``v`` of type ``t`` (ints unsigned)."""
    if isinstance(t, Prim):
        ni = _PRIM_INT.get(t)
        if ni is not None:
            x = check_int(v, t)
            return [x & (M64 if ni[0] == 8 else M32)]
        if t is Prim.BOOL:
            return [1 if v else 0]
        if t is Prim.F32:
            return [f32_from_bits(f32_bits(v))]
        if t is Prim.F64:
            return [f64_from_bits(f64_bits(v))]
        if t is Prim.CHAR:
            return [char_to_i32(v)]
        if t is Prim.STRING:
            return list(store_string_into_range(cx, v))
        return [lower_error_context(cx, v)]
    if isinstance(t, ListType):
        if t.length is not None:
            out = []
            for x in _items(v, t.length):
                out += lower_flat(cx, x, t.elem)
            return out
        return list(store_list(cx, v, t.elem))
    if isinstance(t, RecordType):
        out = []
        for n, u in t.fields:
            out += lower_flat(cx, record_field(v, n), u)
        return out
    if isinstance(t, TupleType):
        out = []
        for x, u in zip(_items(v, len(t.types)), t.types):
            out += lower_flat(cx, x, u)
        return out
    if isinstance(t, VariantType | EnumType | OptionType | ResultType):
        d = despecialize(t)
        case, payload = match_case(v, t)
        want = list(flatten_type(d, cx.opts.ptr))[1:]
        u = d.cases[case][1]
        out: list = []
        if u is not None:
            vals = lower_flat(cx, payload, u)
            for x, h in zip(vals, flatten_type(u, cx.opts.ptr)):
                w = want.pop(0)
                if h is w:
                    out.append(x)
                elif h is F32 and w is I32:
                    out.append(f32_to_bits(x))
                elif h is I32 and w is I64:
                    out.append(x)
                elif h is F32 and w is I64:
                    out.append(f32_to_bits(x))
                elif h is F64 and w is I64:
                    out.append(f64_to_bits(x))
                else:
                    out.append(x)
        for w in want:
            out.append(0.0 if w in (F32, F64) else 0)
        return [case, *out]
    if isinstance(t, FlagsType):
        return [pack_flags(v, t.labels)]
    if isinstance(t, MapType):
        return list(store_list(cx, _map_items(v), despecialize(t).elem))
    if isinstance(t, OwnType):
        return [lower_own(cx, v, t)]
    if isinstance(t, BorrowType):
        return [lower_borrow(cx, v, t)]
    if isinstance(t, StreamType | FutureType):
        from .streams import lower_async_value

        return [lower_async_value(cx, v, t)]
    raise TypeError(f"cannot lower a value of type {t}")


# --- whole parameter / result lists -----------------------------------------------------------


def lift_flat_values(cx: Context, max_flat: int, vi: CoreValues, ts: list) -> list:
    """Lift values of types ``ts`` from flat values, or from memory through a pointer when
    they flatten to more than ``max_flat`` values."""
    p = cx.opts.ptr
    if len(abi.flatten_types(ts, p)) > max_flat:
        ptr = vi.next() & _ptr_mask(cx)
        tt = TupleType(tuple(ts))
        if ptr != align_to(ptr, alignment(tt, p)):
            raise _bad("unaligned pointer")
        if ptr + elem_size(tt, p) > len(cx.opts.memory.view):
            raise _bad("pointer out of bounds of memory")
        return list(load(cx, ptr, tt))
    return [lift_flat(cx, vi, t) for t in ts]


def lower_flat_values(cx: Context, max_flat: int, vs: list, ts: list, out_param=None) -> list:
    """Lower values of types ``ts``: flat, or (when more than ``max_flat`` flat values) into
    memory allocated with ``realloc`` (or at the pointer ``out_param`` yields)."""
    p = cx.opts.ptr
    if len(abi.flatten_types(ts, p)) > max_flat:
        tt = TupleType(tuple(ts))
        if out_param is None:
            ptr = cx.allocate(alignment(tt, p), elem_size(tt, p))
            flat = [ptr]
        else:
            ptr = out_param.next() & _ptr_mask(cx)
            flat = []
        if ptr != align_to(ptr, alignment(tt, p)):
            raise _bad("unaligned pointer")
        if ptr + elem_size(tt, p) > len(cx.opts.memory.view):
            raise _bad("pointer out of bounds of memory")
        store(cx, tuple(vs), tt, ptr)
        return flat
    out: list = []
    for v, t in zip(vs, ts):
        out += lower_flat(cx, v, t)
    return out


def to_core(values: list, types) -> list:
    """Flat values as core function arguments (i32/i64 as unsigned ints, floats as floats)."""
    return values


def from_core(values, types) -> list:
    """Core function results as flat values: unsigned ints, floats."""
    out = []
    for v, t in zip(values, types):
        if t is I32:
            out.append(v & M32)
        elif t is I64:
            out.append(v & M64)
        else:
            out.append(v)
    return out


__all__ = ["Context", "Options", "CoreValues", "lift_flat_values", "lower_flat_values", "load",
           "store", "lift_flat", "lower_flat", "math"]  # fmt: skip
