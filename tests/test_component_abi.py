"""The canonical ABI at the unit level: layout, flattening, loading and storing, string
transcoding with its exact ``realloc`` sequence, and the traps on bad values. Expected layouts,
bytes and call sequences are worked out by hand from CanonicalABI.md."""

from __future__ import annotations

import math
import struct

import pytest

from wasm2py import Trap, TrapCode
from wasm2py.component import abi
from wasm2py.component.canonical import (
    Context,
    CoreValues,
    Options,
    lift_flat,
    lift_flat_values,
    load,
    lower_flat,
    lower_flat_values,
    store,
)
from wasm2py.component.tasks import InstanceState, Scheduler
from wasm2py.component.types import (
    EnumType,
    FlagsType,
    FuncType,
    ListType,
    OptionType,
    Prim,
    RecordType,
    ResultType,
    TupleType,
    VariantType,
)
from wasm2py.component.values import Err, Ok, Some, Variant, WasmString
from wasm2py.runtime.memory import LinearMemory
from wasm2py.types import Limits, MemoryType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
REC = RecordType((("a", Prim.U8), ("b", Prim.U32), ("c", Prim.U16)))


class Heap:
    """A bump allocator standing in for a component's ``realloc``, logging its calls."""

    def __init__(self, start: int = 1024):
        self.next = start
        self.calls: list[tuple[int, int, int, int]] = []
        self.memory = None

    def __call__(self, old, old_size, align, new_size):
        self.calls.append((old, old_size, align, new_size))
        if old and new_size <= old_size:
            return old  # shrinking in place
        p = -(-self.next // align) * align
        self.next = p + new_size
        if old:  # like any realloc, moving keeps the old contents
            view = self.memory.view
            view[p : p + old_size] = view[old : old + old_size]
        return p


def ctx(encoding: str = "utf8", heap: Heap | None = None) -> Context:
    mem = LinearMemory(MemoryType(Limits(1)))
    heap = heap or Heap()
    heap.memory = mem
    opts = Options(encoding=encoding, memory=mem, realloc=heap)
    return Context(opts, InstanceState(Scheduler()))


def mem_bytes(cx: Context, start: int, n: int) -> bytes:
    return bytes(cx.opts.memory.view[start : start + n])


# --- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("t", "size", "align"), [
    (REC, 12, 4),
    (TupleType((Prim.U8, Prim.U64)), 16, 8),
    (OptionType(Prim.U32), 8, 4),
    (ResultType(Prim.U8, Prim.U64), 16, 8),
    (ResultType(None, None), 1, 1),
    (FlagsType(tuple(f"f{i}" for i in range(8))), 1, 1),
    (FlagsType(tuple(f"f{i}" for i in range(9))), 2, 2),
    (FlagsType(tuple(f"f{i}" for i in range(17))), 4, 4),
    (EnumType(tuple(f"e{i}" for i in range(256))), 1, 1),
    (EnumType(tuple(f"e{i}" for i in range(257))), 2, 2),
    (Prim.STRING, 8, 4),
    (ListType(Prim.U16), 8, 4),
    (ListType(Prim.U16, 3), 6, 2),
    (Prim.CHAR, 4, 4),
])  # fmt: skip
def test_size_and_alignment(t, size, align):
    assert abi.elem_size(t) == size
    assert abi.alignment(t) == align


def test_sizes_with_64_bit_pointers():
    assert abi.elem_size(Prim.STRING, 8) == 16
    assert abi.alignment(ListType(Prim.U8), 8) == 8


@pytest.mark.parametrize(("t", "flat"), [
    (VariantType((("a", Prim.F32), ("b", Prim.U32))), (I32, I32)),
    (VariantType((("a", Prim.F32), ("b", Prim.U64))), (I32, I64)),
    (VariantType((("a", Prim.F64), ("b", Prim.U32))), (I32, I64)),
    (VariantType((("a", Prim.F32), ("b", Prim.F32))), (I32, F32)),
    (RecordType((("a", Prim.U8), ("b", Prim.STRING))), (I32, I32, I32)),
    (OptionType(TupleType((Prim.U8, Prim.F64))), (I32, I32, F64)),
    (ListType(Prim.U8, 3), (I32, I32, I32)),
])  # fmt: skip
def test_flattening(t, flat):
    assert abi.flatten_type(t) == flat


def test_flatten_functype_spills_to_memory():
    many = FuncType(tuple((f"p{i}", Prim.U32) for i in range(17)), None)
    assert abi.flatten_functype(many, "lift").params == (I32,)
    two = FuncType((), TupleType((Prim.U32, Prim.U32)))
    assert abi.flatten_functype(two, "lift").results == (I32,)
    lowered = abi.flatten_functype(two, "lower")
    assert lowered.params == (I32,) and lowered.results == ()
    # async lower: at most 4 flat params, the result through a pointer, an i32 status returned
    five = FuncType(tuple((f"p{i}", Prim.U8) for i in range(5)), Prim.U8)
    low = abi.flatten_functype(five, "lower", is_async=True)
    assert low.params == (I32, I32) and low.results == (I32,)


# --- storing and loading ----------------------------------------------------------------------


def test_record_bytes():
    cx = ctx()
    store(cx, {"a": 1, "b": 0x01020304, "c": 5}, REC, 16)
    assert mem_bytes(cx, 16, 12) == bytes([1, 0, 0, 0, 4, 3, 2, 1, 5, 0, 0, 0])
    assert load(cx, 16, REC) == {"a": 1, "b": 0x01020304, "c": 5}


def test_record_accepts_a_dataclass():
    from dataclasses import dataclass

    @dataclass
    class R:
        a: int
        b: int
        c: int

    cx = ctx()
    store(cx, R(2, 3, 4), REC, 0)
    assert load(cx, 0, REC) == {"a": 2, "b": 3, "c": 4}


@pytest.mark.parametrize(("t", "v", "raw"), [
    (OptionType(Prim.U32), None, b"\x00"),
    (OptionType(Prim.U32), 7, b"\x01\x00\x00\x00\x07\x00\x00\x00"),
    (OptionType(OptionType(Prim.U8)), Some(None), b"\x01\x00"),
    (ResultType(Prim.U8, Prim.U64), Err(9), b"\x01" + b"\x00" * 7 + b"\x09" + b"\x00" * 7),
    (ResultType(None, None), Ok(), b"\x00"),
    (EnumType(("x", "y", "z")), "z", b"\x02"),
    (VariantType((("a", None), ("b", Prim.U16))), Variant("b", 0x0102), b"\x01\x00\x02\x01"),
    (FlagsType(tuple("abcdefghij")), frozenset({"a", "j"}), b"\x01\x02"),
    (TupleType((Prim.S8, Prim.S16)), (-1, -2), b"\xff\x00\xfe\xff"),
    (Prim.CHAR, "€", b"\xac\x20\x00\x00"),
    (Prim.BOOL, True, b"\x01"),
    (Prim.F32, 1.5, struct.pack("<f", 1.5)),
])  # fmt: skip
def test_store_then_load(t, v, raw):
    cx = ctx()
    store(cx, v, t, 0)
    assert mem_bytes(cx, 0, len(raw)) == raw
    assert load(cx, 0, t) == v


def test_list_store_uses_realloc_with_element_alignment():
    heap = Heap()
    cx = ctx(heap=heap)
    store(cx, [1, 2, 3], ListType(Prim.U32), 0)
    assert heap.calls == [(0, 0, 4, 12)]
    ptr, n = struct.unpack_from("<II", cx.opts.memory.view, 0)
    assert (ptr, n) == (1024, 3)
    assert struct.unpack_from("<3I", cx.opts.memory.view, ptr) == (1, 2, 3)
    assert load(cx, 0, ListType(Prim.U32)) == [1, 2, 3]


def test_nonzero_bool_byte_is_true():
    cx = ctx()
    cx.opts.memory.view[0] = 2
    assert load(cx, 0, Prim.BOOL) is True


def test_nan_is_canonicalized_on_load():
    cx = ctx()
    struct.pack_into("<I", cx.opts.memory.view, 0, 0x7FC00001)
    v = load(cx, 0, Prim.F32)
    assert math.isnan(v)
    store(cx, v, Prim.F32, 4)
    assert struct.unpack_from("<I", cx.opts.memory.view, 4)[0] == 0x7FC00000


@pytest.mark.parametrize(("t", "raw", "code"), [
    (OptionType(Prim.U8), b"\x02", TrapCode.INVALID_VALUE),  # discriminant out of range
    (Prim.CHAR, struct.pack("<I", 0xD800), TrapCode.INVALID_VALUE),  # surrogate
    (Prim.CHAR, struct.pack("<I", 0x110000), TrapCode.INVALID_VALUE),
    (Prim.STRING, struct.pack("<II", 100, 2), TrapCode.INVALID_VALUE),  # bytes ff fe: bad UTF-8
    (Prim.STRING, struct.pack("<II", 65535, 2), TrapCode.BAD_POINTER),  # past the end
    (ListType(Prim.U32), struct.pack("<II", 2, 1), TrapCode.BAD_POINTER),  # unaligned
])  # fmt: skip
def test_load_traps(t, raw, code):
    cx = ctx()
    cx.opts.memory.view[0 : len(raw)] = raw
    cx.opts.memory.view[100:102] = b"\xff\xfe"
    with pytest.raises(Trap) as info:
        load(cx, 0, t)
    assert info.value.code is code


def test_utf16_pointer_must_be_aligned():
    cx = ctx("utf16")
    struct.pack_into("<II", cx.opts.memory.view, 0, 101, 1)
    with pytest.raises(Trap) as info:
        load(cx, 0, Prim.STRING)
    assert info.value.code is TrapCode.BAD_POINTER


# --- flat lifting and lowering ----------------------------------------------------------------


@pytest.mark.parametrize(("t", "core", "value"), [
    (Prim.U8, 0x1FF, 0xFF),  # high bits are dropped
    (Prim.S8, 0x80, -128),
    (Prim.S32, 0xFFFFFFFF, -1),
    (Prim.S64, 0xFFFFFFFFFFFFFFFF, -1),
    (Prim.BOOL, 7, True),
])  # fmt: skip
def test_lift_flat_integers(t, core, value):
    assert lift_flat(ctx(), CoreValues([core]), t) == value


def test_variant_payload_joins():
    t = VariantType((("f", Prim.F32), ("i", Prim.U64)))
    cx = ctx()
    flat = lower_flat(cx, Variant("f", 2.0), t)
    assert flat == [0, struct.unpack("<I", struct.pack("<f", 2.0))[0]]  # f32 bits in an i64 slot
    assert lift_flat(cx, CoreValues(flat), t) == Variant("f", 2.0)
    assert lower_flat(cx, Variant("i", 1 << 40), t) == [1, 1 << 40]


def test_many_values_go_through_memory():
    heap = Heap()
    cx = ctx(heap=heap)
    ts = [Prim.U64] * 3
    flat = lower_flat_values(cx, 1, [1, 2, 3], ts)
    assert heap.calls == [(0, 0, 8, 24)]
    assert flat == [1024]
    assert lift_flat_values(cx, 1, CoreValues(flat), ts) == [1, 2, 3]


# --- strings: encodings and transcoding (the spec's allocation sequences) ----------------------


def lower_string(cx: Context, v) -> tuple[int, int]:
    ptr, units = lower_flat(cx, v, Prim.STRING)
    return ptr, units


def test_utf8_to_utf16_allocates_worst_case_then_shrinks():
    heap = Heap()
    cx = ctx("utf16", heap)
    ptr, units = lower_string(cx, WasmString("aé", "utf8", "utf8", 3))
    assert heap.calls == [(0, 0, 2, 6), (ptr, 6, 2, 4)]
    assert units == 2
    assert mem_bytes(cx, ptr, 4) == "aé".encode("utf-16-le")


def test_utf8_to_latin1_fits_latin1():
    heap = Heap()
    cx = ctx("latin1+utf16", heap)
    ptr, units = lower_string(cx, "aé")
    assert heap.calls == [(0, 0, 2, 3), (ptr, 3, 2, 2)]
    assert units == 2
    assert mem_bytes(cx, ptr, 2) == b"a\xe9"


def test_utf8_to_latin1_falls_back_to_utf16():
    heap = Heap()
    cx = ctx("latin1+utf16", heap)
    ptr, units = lower_string(cx, "a€")
    first = heap.calls[0]
    assert first == (0, 0, 2, 4)
    assert heap.calls[1] == (1024, 4, 2, 8)
    assert heap.calls[2][1:] == (8, 2, 4)
    assert units == 2 | (1 << 31)
    assert mem_bytes(cx, ptr, 4) == "a€".encode("utf-16-le")


def test_utf16_to_utf8():
    heap = Heap()
    cx = ctx("utf8", heap)
    ptr, units = lower_string(cx, WasmString("a😀", "utf16", "utf16", 3))
    assert heap.calls[0] == (0, 0, 1, 3)
    assert heap.calls[1][1:] == (3, 1, 9)
    assert heap.calls[2][1:] == (9, 1, 5)
    assert units == 5
    assert mem_bytes(cx, ptr, 5) == "a😀".encode()


def test_latin1_to_utf8():
    heap = Heap()
    cx = ctx("utf8", heap)
    ptr, units = lower_string(cx, WasmString("é", "latin1+utf16", "latin1", 1))
    assert heap.calls == [(0, 0, 1, 1), (1024, 1, 1, 2)]
    assert units == 2 and mem_bytes(cx, ptr, 2) == "é".encode()


def test_decoding_each_encoding():
    cx8, cx16, cxl = ctx("utf8"), ctx("utf16"), ctx("latin1+utf16")
    for cx, data, units, text in (
        (cx8, "h€".encode(), 4, "h€"),
        (cx16, "h😀".encode("utf-16-le"), 3, "h😀"),
        (cxl, b"h\xe9", 2, "hé"),
        (cxl, "h€".encode("utf-16-le"), 2 | (1 << 31), "h€"),
    ):  # fmt: skip
        cx.opts.memory.view[64 : 64 + len(data)] = data
        s = lift_flat(cx, CoreValues([64, units]), Prim.STRING)
        assert s == text
        assert isinstance(s, WasmString)


# --- handle tables ----------------------------------------------------------------------------


def test_handle_table_order_and_limits(monkeypatch):
    from wasm2py.component.handles import HandleTable

    t = HandleTable()
    assert [t.add(x) for x in "abc"] == [1, 2, 3]  # sequential from 1
    assert t.remove(1) == "a" and t.remove(3) == "c"
    assert [t.add("d"), t.add("e"), t.add("f")] == [3, 1, 4]  # last freed first
    for bad in (0, 5, 2**32 - 1):
        with pytest.raises(Trap) as info:
            t.get(bad)
        assert info.value.code is TrapCode.INVALID_HANDLE
    monkeypatch.setattr(HandleTable, "MAX_LENGTH", 5)
    t.add("g")
    with pytest.raises(Trap):
        t.add("h")
