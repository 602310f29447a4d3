"""The instruction sink: one method per WebAssembly instruction, each appending its encoding.

::

    sink = InstructionSink()
    sink.local_get(0).local_get(1).i32_add()          # methods return the sink
    sink.i32_load(offset=8)                           # memarg: offset, alignment exponent
    sink.block(ValType.I32).i32_const(7).end()
    sink.encode()                                     # the bytes, as in a code section body

The methods are made from the decoder's opcode table (:mod:`wasm2py.binary.opcodes`), so the
builder knows exactly the instructions the decoder does (Wasm 2.0, SIMD included). A method is
named after the instruction's text name with ``.`` and ``/`` turned into ``_``: ``i32.add`` is
:meth:`i32_add`, ``v128.load8x8_s`` is ``v128_load8x8_s``, the typed ``select`` is
``select_t``. Immediates are the method's arguments:

=====================  =========================================================================
kind                   arguments
=====================  =========================================================================
block type             ``block(type=None)``: None (no result), a ValType, a type index, or a
                       FuncType (with a module: see :class:`~wasm2py.build.FunctionBuilder`)
label                  ``br(depth)``; ``br_table(labels, default)``
index                  ``call(func)``, ``local_get(i)``, ``global_get(g)``, ``table_get(t=0)``
                       ... (an int, or anything with an ``index`` attribute)
memory access          ``i32_load(offset=0, align=None)``: ``align`` is the exponent
                       (log2 of bytes), the natural one by default
constants              ``i32_const(v)`` / ``i64_const(v)`` (signed or unsigned),
                       ``f32_const(x)`` / ``f64_const(x)`` (or ``bits=`` for exact patterns),
                       ``v128_const(v)`` (a 128-bit int, lane 0 low, or 16 bytes)
others                 ``call_indirect(type, table=0)``, ``ref_null(ValType.FUNCREF)``,
                       ``select_t(types)``, ``memory_init(data, memory=0)``,
                       ``table_init(elem, table=0)``, ``table_copy(dst=0, src=0)``,
                       ``i8x16_shuffle(lanes)``, lane indices ``i32x4_extract_lane(lane)``,
                       ``v128_load8_lane(lane, offset=0, align=None)``
=====================  =========================================================================

Raises:
    BuildError: an immediate out of range for its encoding (checked when the method is called).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from ..binary.opcodes import (
    IMM,
    NATURAL_ALIGN,
    SIMD_BASE,
    SIMD_IMM,
    SIMD_NATURAL_ALIGN,
    Imm,
    Op,
    opcode_name,
)
from ..errors import BuildError
from ..types import FuncType, ValType
from .encoding import s32, s33, s64, u32, valtype, vec, wrap_i32, wrap_i64


def index_of(item) -> int:
    """An index given as an int or as an object with an ``index`` attribute (a
    :class:`~wasm2py.build.FunctionBuilder`, an import handle ...)."""
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    index = getattr(item, "index", None)
    if isinstance(index, int):
        return index
    raise BuildError(f"expected an index (int or an object with .index), got {item!r}")


def opcode_bytes(op: int) -> bytes:
    """The encoding of an opcode (with its ``0xFC``/``0xFD`` prefix)."""
    if op < 0x100:
        return bytes((op,))
    if op >= SIMD_BASE:
        return b"\xfd" + u32(op - SIMD_BASE)
    return b"\xfc" + u32(op & 0xFF)


def method_name(op: int) -> str:
    """The sink method of an opcode: its text name with ``.`` and ``/`` as ``_``."""
    if op == Op.SELECT_T:
        return "select_t"
    return opcode_name(op).replace(".", "_").replace("/", "_")


class InstructionSink:
    """Collects encoded instructions; every instruction is a method returning the sink.

    Attributes:
        depth: blocks opened (``block``/``loop``/``if``) and not yet closed by ``end``.
        uses_data_count: whether ``memory.init`` or ``data.drop`` was emitted (a module using
            them needs the data count section).
    """

    __slots__ = ("_code", "depth", "uses_data_count", "_types")

    def __init__(self, types: Callable[[FuncType], int] | None = None):
        self._code = bytearray()
        self.depth = 0
        self.uses_data_count = False
        #: turns a FuncType into a type index (given by a module builder)
        self._types = types

    def raw(self, data: bytes) -> InstructionSink:
        """Append already-encoded bytes."""
        self._code += data
        return self

    def encode(self) -> bytes:
        """The instructions emitted so far."""
        return bytes(self._code)

    def __len__(self) -> int:
        return len(self._code)

    def _type_index(self, t) -> int:
        if isinstance(t, FuncType):
            if self._types is None:
                raise BuildError("a FuncType immediate needs a module builder to index it; "
                                 "pass a type index")  # fmt: skip
            return self._types(t)
        return index_of(t)

    def _block_type(self, t) -> bytes:
        if t is None:
            return b"\x40"
        if isinstance(t, ValType):
            return valtype(t)
        if isinstance(t, FuncType) and not t.params and len(t.results) <= 1:
            return valtype(t.results[0]) if t.results else b"\x40"
        return s33(self._type_index(t))


def _memarg(op: int, offset: int, align: int | None) -> bytes:
    if align is None:
        align = NATURAL_ALIGN[op] if op in NATURAL_ALIGN else SIMD_NATURAL_ALIGN[op]
    return u32(align) + u32(offset)


def _f32(value, bits) -> bytes:
    if bits is not None:
        return struct.pack("<I", bits)
    try:
        return struct.pack("<f", value)
    except (OverflowError, struct.error) as e:
        raise BuildError(f"f32.const {value!r}: {e}") from None


def _f64(value, bits) -> bytes:
    if bits is not None:
        return struct.pack("<Q", bits)
    try:
        return struct.pack("<d", value)
    except struct.error as e:
        raise BuildError(f"f64.const {value!r}: {e}") from None


def _v128(value) -> bytes:
    if isinstance(value, bytes | bytearray):
        if len(value) != 16:
            raise BuildError("v128.const takes 16 bytes")
        return bytes(value)
    if not isinstance(value, int) or not -(1 << 127) <= value < (1 << 128):
        raise BuildError(f"{value!r} is not a v128")
    return (value & ((1 << 128) - 1)).to_bytes(16, "little")


def _lane(lane: int) -> bytes:
    if not isinstance(lane, int) or not 0 <= lane < 256:
        raise BuildError(f"lane index {lane!r} out of range")
    return bytes((lane,))


def _make(op: int, kind: Imm) -> Callable:
    """The sink method of one instruction."""
    code = opcode_bytes(op)
    text = opcode_name(op)
    opens = op in (Op.BLOCK, Op.LOOP, Op.IF)

    if kind is Imm.NONE:
        if op == Op.END:

            def m(self):
                self._code += code
                self.depth -= 1
                return self

        else:

            def m(self):
                self._code += code
                return self

    elif kind is Imm.BLOCK:

        def m(self, type=None):
            self._code += code + self._block_type(type)
            if opens:
                self.depth += 1
            return self

    elif kind is Imm.BR_TABLE:

        def m(self, labels, default):
            self._code += code + vec(u32(x) for x in labels) + u32(default)
            return self

    elif kind in (Imm.LABEL, Imm.LOCAL, Imm.DATA, Imm.ELEM):

        def m(self, index):
            if kind is Imm.DATA:
                self.uses_data_count = True
            self._code += code + u32(index_of(index))
            return self

    elif kind in (Imm.FUNC, Imm.GLOBAL):

        def m(self, item):
            self._code += code + u32(index_of(item))
            return self

    elif kind in (Imm.TABLE, Imm.MEMORY):

        def m(self, index=0):
            self._code += code + u32(index_of(index))
            return self

    elif kind is Imm.CALL_INDIRECT:

        def m(self, type, table=0):
            self._code += code + u32(self._type_index(type)) + u32(index_of(table))
            return self

    elif kind is Imm.MEMARG:

        def m(self, offset=0, align=None):
            self._code += code + _memarg(op, offset, align)
            return self

    elif kind is Imm.MEMARG_LANE:

        def m(self, lane, offset=0, align=None):
            self._code += code + _memarg(op, offset, align) + _lane(lane)
            return self

    elif kind is Imm.I32:

        def m(self, value):
            self._code += code + s32(wrap_i32(value))
            return self

    elif kind is Imm.I64:

        def m(self, value):
            self._code += code + s64(wrap_i64(value))
            return self

    elif kind is Imm.F32:

        def m(self, value=0.0, *, bits=None):
            self._code += code + _f32(value, bits)
            return self

    elif kind is Imm.F64:

        def m(self, value=0.0, *, bits=None):
            self._code += code + _f64(value, bits)
            return self

    elif kind is Imm.REFTYPE:

        def m(self, type):
            if not isinstance(type, ValType) or not type.is_ref:
                raise BuildError(f"ref.null takes a reference type, got {type!r}")
            self._code += code + valtype(type)
            return self

    elif kind is Imm.SELECT_T:

        def m(self, types):
            self._code += code + vec(valtype(t) for t in types)
            return self

    elif kind is Imm.MEMORY_INIT:

        def m(self, data, memory=0):
            self.uses_data_count = True
            self._code += code + u32(index_of(data)) + u32(index_of(memory))
            return self

    elif kind is Imm.TABLE_INIT:

        def m(self, elem, table=0):
            self._code += code + u32(index_of(elem)) + u32(index_of(table))
            return self

    elif kind in (Imm.MEMORY_COPY, Imm.TABLE_COPY):

        def m(self, dst=0, src=0):
            self._code += code + u32(index_of(dst)) + u32(index_of(src))
            return self

    elif kind is Imm.V128:

        def m(self, value):
            self._code += code + _v128(value)
            return self

    elif kind is Imm.SHUFFLE:

        def m(self, lanes):
            lanes = bytes(lanes)
            if len(lanes) != 16:
                raise BuildError("i8x16.shuffle takes 16 lane indices")
            self._code += code + lanes
            return self

    elif kind is Imm.LANE:

        def m(self, lane):
            self._code += code + _lane(lane)
            return self

    else:  # pragma: no cover - every kind of the opcode table is handled above
        raise AssertionError(kind)

    m.__name__ = m.__qualname__ = method_name(op)
    m.__doc__ = f"Append ``{text}``."
    return m


for _op, _kind in [*IMM.items(), *SIMD_IMM.items()]:
    setattr(InstructionSink, method_name(_op), _make(_op, _kind))
del _op, _kind


class ConstExpr(InstructionSink):
    """A constant expression (global initialisers, segment offsets, element items): build it
    with the sink methods (``ConstExpr().i32_const(1024)``); :meth:`encode` adds the final
    ``end``. :meth:`of` makes the usual one-instruction expressions from a value."""

    __slots__ = ()

    def encode(self) -> bytes:
        """The expression with its final ``end``."""
        return bytes(self._code) + b"\x0b"

    @classmethod
    def of(cls, value, type: ValType = ValType.I32) -> ConstExpr:
        """``t.const value`` (``ref.null t`` for None of a reference type; ``ref.func i`` for
        an index of a funcref)."""
        e = cls()
        if type is ValType.I32:
            return e.i32_const(value)
        if type is ValType.I64:
            return e.i64_const(value)
        if type is ValType.F32:
            return e.f32_const(value)
        if type is ValType.F64:
            return e.f64_const(value)
        if type is ValType.V128:
            return e.v128_const(value)
        if value is None:
            return e.ref_null(type)
        if type is ValType.FUNCREF:
            return e.ref_func(value)
        raise BuildError(f"no constant expression for a {type} value {value!r}")


def const_expr(value, type: ValType = ValType.I32) -> bytes:
    """Encoded constant expression: a :class:`ConstExpr` as is, an int/float/None as
    :meth:`ConstExpr.of`."""
    if isinstance(value, InstructionSink):
        return value.encode() if isinstance(value, ConstExpr) else value.encode() + b"\x0b"
    return ConstExpr.of(value, type).encode()


__all__ = ["ConstExpr", "InstructionSink", "const_expr", "index_of", "method_name",
           "opcode_bytes"]  # fmt: skip
