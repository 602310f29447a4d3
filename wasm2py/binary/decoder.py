"""Decoding of the WebAssembly binary format (Wasm 3.0) into a
:class:`~wasm2py.binary.module.Module`.

Entry point: :func:`decode_module`. Every section is decoded; function bodies are
only framed (their byte ranges), and decoded on demand into lists of
:class:`~wasm2py.binary.module.Instr` (:func:`decode_locals`, :func:`decode_body`; or as plain
``(op, imm, offset)`` tuples: ``Code.triples``). Validation decodes every body once, in its
own loop (``validate.validator._validate_function``, whose inline decoding of the frequent
instruction classes must stay as strict as :func:`decode_instrs`:
``tests/test_validator_diff.py`` compares the two on the spec corpus and on mutated bodies).
Malformed input always raises :class:`~wasm2py.errors.DecodeError` with the byte offset of the problem; the messages
follow the wording of the spec's reference interpreter (``assert_malformed`` in the spec tests).

The decoder only checks what the binary grammar requires (plus a few implementation limits,
such as :data:`MAX_LOCALS`); index ranges, types and constant-expression rules are left to the
validator.
"""

from __future__ import annotations

from itertools import repeat

from ..errors import DecodeError, UnsupportedFeature
from ..features import ALL, Features
from ..gcpause import gc_paused
from ..types import (
    ArrayType,
    FieldType,
    FuncType,
    GlobalType,
    HeapType,
    Limits,
    MemoryType,
    PackedType,
    RefType,
    StructType,
    TableType,
    ValType,
)
from .module import (
    Code,
    Data,
    Elem,
    Export,
    ExternKind,
    Global,
    Import,
    Instr,
    Module,
    Names,
    SegmentMode,
)
from .opcodes import IMM, PROPOSAL_OPS, SIMD_BASE, SIMD_IMM, Catch, CatchKind, Imm, Op
from .reader import (
    TOO_LARGE,
    TOO_LONG,
    Reader,
    read_s32,
    read_s33,
    read_s64,
    read_u32,
    read_u64,
)

__all__ = ["decode_module", "decode_instrs", "decode_locals", "decode_body", "parse_name_section", "MAX_LOCALS", "MAGIC", "VERSION"]

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

#: Implementation limit on the number of locals of one function (parameters excluded). The spec
#: allows up to 2**32-1, but locals are expanded into a tuple; 50 000 is the limit of the JS
#: embedding and of wasm-tools/wasmtime, so no real module exceeds it.
MAX_LOCALS = 50_000

# Order of the non-custom sections (id -> rank): the tag section (13) sits between the memory
# (5) and global (6) sections, the data count section (12) between the element (9) and code (10)
# sections.
_SECTION_RANK = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12,
                 11: 13}  # fmt: skip

_MISSING = object()

# Fast-dispatch class of every single-byte opcode, for the hot loop in decode_instrs.
_F_NONE = 0  # no immediate
_F_IDX = 1  # one u32 index (local, global, function, label, table)
_F_I32 = 2  # i32.const
_F_MEMARG = 3  # loads and stores
_F_END = 4
_F_BLOCK = 5  # block, loop, if
_F_ELSE = 6
_F_SLOW = 7  # everything else, including the prefixes: see _decode_slow
_F_ILLEGAL = 8
_F_TRY = 9  # try_table: a block with catch clauses

_WASM2_VALTYPES = (0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F)
_GC_HEAPS = frozenset({HeapType.ANY, HeapType.EQ, HeapType.I31, HeapType.STRUCT, HeapType.ARRAY,
                       HeapType.NONE, HeapType.NOFUNC, HeapType.NOEXTERN})  # fmt: skip
_EXN_HEAPS = frozenset({HeapType.EXN, HeapType.NOEXN})


class _Tables:
    """The decoding tables of one feature set (see :mod:`wasm2py.features`)."""

    __slots__ = ("feats", "valtypes", "heaps", "blocktype1", "fast", "fc", "simd_limit")

    def __init__(self, feats: Features):
        self.feats = feats
        heaps = {HeapType.FUNC, HeapType.EXTERN}
        if feats.gc:
            heaps |= _GC_HEAPS
        elif feats.function_references:
            heaps |= {HeapType.NOFUNC, HeapType.NOEXTERN}
        if feats.exceptions:
            heaps |= _EXN_HEAPS
        #: abstract heap types by encoding byte
        self.heaps: dict[int, HeapType] = {h.value: h for h in heaps}
        #: one-byte value types by encoding byte
        self.valtypes: dict[int, ValType] = {b: ValType(b) for b in _WASM2_VALTYPES}
        if feats.function_references or feats.gc or feats.exceptions:
            self.valtypes.update({h.value: ValType(h.value) for h in heaps})
        # Block types that fit in one byte: the empty type and the one-byte value types.
        self.blocktype1: dict[int, object] = {0x40: None, **self.valtypes}
        fast = [_F_ILLEGAL] * 256
        for op, kind in IMM.items():
            if op > 0xFF:
                continue
            need = PROPOSAL_OPS.get(op)
            if need is not None and not getattr(feats, need):
                continue
            if kind is Imm.NONE:
                fast[op] = _F_NONE
            elif kind in (Imm.LABEL, Imm.FUNC, Imm.LOCAL, Imm.GLOBAL, Imm.TABLE, Imm.TAG,
                          Imm.TYPE):  # fmt: skip
                fast[op] = _F_IDX
            elif kind is Imm.MEMARG:
                fast[op] = _F_MEMARG
            elif kind is Imm.BLOCK:
                fast[op] = _F_BLOCK
            else:
                fast[op] = _F_SLOW
        fast[Op.I32_CONST] = _F_I32
        fast[Op.END] = _F_END
        fast[Op.ELSE] = _F_ELSE
        if feats.exceptions:
            fast[Op.TRY_TABLE] = _F_TRY
        fast[0xFC] = _F_SLOW
        fast[0xFD] = _F_SLOW
        if feats.gc:
            fast[0xFB] = _F_SLOW
        self.fast = fast
        #: the 0xFC sub-opcodes: all of Wasm 2.0
        self.fc = 0x12
        #: SIMD sub-opcodes below this exist
        self.simd_limit = 0x114 if feats.relaxed_simd else 0x100


_TABLES: dict[Features, _Tables] = {}
#: (features, their tables) of the last call of _tables: the features of one module's bodies
#: are the same object, and a Features hashes at Python speed (~1 us, a few times per body)
#: (one tuple: read in one step, whatever other threads do)
_LAST_TABLES: list = [(object(), None)]


def _tables(feats: Features | None) -> _Tables:
    last = _LAST_TABLES[0]
    if feats is last[0]:
        return last[1]
    key = ALL if feats is None else feats
    t = _TABLES.get(key)
    if t is None:
        t = _TABLES[key] = _Tables(key)
    _LAST_TABLES[0] = (feats, t)
    return t


_MEMORY_INIT = int(Op.MEMORY_INIT)
_DATA_DROP = int(Op.DATA_DROP)
_END = int(Op.END)
_IF = int(Op.IF)
_REF_FUNC = int(Op.REF_FUNC)


def _eof(data: bytes) -> DecodeError:
    return DecodeError("unexpected end of section or function", len(data))


def _memarg(data: bytes, p: int, feats: Features) -> tuple[tuple[int, int, int], int]:
    """Decode a memarg (align exponent, offset, memory index) at ``data[p]``."""
    at = p
    flags = data[p]
    if flags < 0x80:
        p += 1
    else:
        flags, p = read_u32(data, p)
    memory = 0
    if feats.multi_memory:
        # bit 6 of the flags says a memory index follows; larger flags are malformed
        if flags >= 0x80:
            raise DecodeError("malformed memop flags", at)
        if flags & 0x40:
            flags -= 0x40
            memory, p = _u32(data, p)
    elif flags >= 32:
        # Wasm 2.0 has a single memory: an alignment exponent of 32 or more (in particular bit
        # 6, the multi-memory flag) is malformed.
        raise DecodeError("malformed memop flags", p - 1)
    offset = data[p]
    if offset < 0x80:
        p += 1
    elif feats.memory64:
        offset, p = read_u64(data, p)
    else:
        offset, p = read_u32(data, p)
    return (flags, offset, memory), p


def _memory_index(data: bytes, p: int, feats: Features) -> tuple[int, int]:
    """A memory index immediate: any u32 with multiple memories, else the zero byte."""
    if feats.multi_memory:
        return _u32(data, p)
    if data[p] != 0:
        raise DecodeError("zero byte expected", p)
    return 0, p + 1


def _heap_type(data: bytes, p: int, tables: _Tables) -> tuple[object, int]:
    """Decode a heap type: an abstract one (one byte) or a type index (a non-negative s33)."""
    b = data[p]
    h = tables.heaps.get(b)
    if h is not None:
        return h, p + 1
    index, p2 = read_s33(data, p)
    if index < 0:
        raise DecodeError("malformed heap type", p)
    return index, p2


def _val_type(data: bytes, p: int, tables: _Tables, what: str = "value") -> tuple[object, int]:
    """Decode a value type (``what``: "value" or "reference", for the message)."""
    b = data[p]
    t = tables.valtypes.get(b)
    if t is not None:
        if what == "reference" and not t.is_ref:
            raise DecodeError("malformed reference type", p)
        return t, p + 1
    if (b == 0x63 or b == 0x64) and tables.feats.function_references:
        heap, p2 = _heap_type(data, p + 1, tables)
        return RefType(b == 0x63, heap), p2
    raise DecodeError(f"malformed {what} type", p)


def _block_type(data: bytes, p: int, tables: _Tables) -> tuple[object, int]:
    """Decode a block type that is not a single-byte value type: a reference type or an s33
    type index."""
    b = data[p]
    if b == 0x63 or b == 0x64:
        return _val_type(data, p, tables)
    index, p2 = read_s33(data, p)
    if index < 0:
        raise DecodeError("malformed block type", p)
    return index, p2


def _u32(data: bytes, p: int) -> tuple[int, int]:
    v = data[p]
    if v < 0x80:
        return v, p + 1
    return read_u32(data, p)


def _catches(data: bytes, p: int) -> tuple[tuple[Catch, ...], int]:
    n, p = _u32(data, p)
    if n > len(data) - p:
        raise DecodeError("length out of bounds", p)
    out = []
    for _ in range(n):
        at = p
        kind = data[p]
        p += 1
        if kind > 3:
            raise DecodeError("malformed catch clause", at)
        tag = None
        if kind < 2:
            tag, p = _u32(data, p)
        label, p = _u32(data, p)
        out.append(Catch(CatchKind(kind), tag, label))
    return tuple(out), p


def _decode_slow(b: int, data: bytes, at: int, has_data_count: bool,
                 tables: _Tables) -> tuple[int, object, int]:  # fmt: skip
    """Decode an instruction outside the hot loop's fast classes. ``b`` is the opcode byte at
    ``data[at]``. Returns (opcode, immediate, position after the instruction)."""
    p = at + 1
    op = b
    feats = tables.feats
    if b == 0xFC:
        sub, p = _u32(data, p)
        kind = IMM.get(0xFC00 | sub) if sub < tables.fc else None
        if kind is None:
            raise DecodeError("illegal opcode", at)
        op = 0xFC00 | sub
        if (op == _MEMORY_INIT or op == _DATA_DROP) and not has_data_count:
            raise DecodeError("data count section required", at)
    elif b == 0xFD:
        sub, p = _u32(data, p)
        kind = SIMD_IMM.get(SIMD_BASE | sub) if sub < tables.simd_limit else None
        if kind is None:
            raise DecodeError("illegal opcode", at)
        op = SIMD_BASE | sub
    elif b == 0xFB:
        sub, p = _u32(data, p)
        raise UnsupportedFeature(f"GC instruction 0xfb {sub:#x}: the GC proposal's instructions "
                                 f"are not implemented", None, at)  # fmt: skip
    else:
        kind = IMM[b]

    if kind is Imm.NONE:
        return op, None, p
    if kind is Imm.I64:
        v, p = read_s64(data, p)
        return op, v, p
    if kind is Imm.F32:
        if p + 4 > len(data):
            raise _eof(data)
        return op, int.from_bytes(data[p : p + 4], "little"), p + 4
    if kind is Imm.F64:
        if p + 8 > len(data):
            raise _eof(data)
        return op, int.from_bytes(data[p : p + 8], "little"), p + 8
    if kind is Imm.BR_TABLE:
        n, p = _u32(data, p)
        if n > len(data) - p:  # every label takes at least one byte: fail before allocating
            raise DecodeError("length out of bounds", p)
        labels = []
        append = labels.append
        for _ in range(n):
            v = data[p]
            if v < 0x80:
                p += 1
            else:
                v, p = read_u32(data, p)
            append(v)
        default, p = _u32(data, p)
        return op, (tuple(labels), default), p
    if kind is Imm.CALL_INDIRECT:
        type_index, p = _u32(data, p)
        table_index, p = _u32(data, p)
        return op, (type_index, table_index), p
    if kind is Imm.MEMORY:  # memory.size, memory.grow, memory.fill
        return (op, *_memory_index(data, p, feats))
    if kind is Imm.REFTYPE:
        if feats.function_references or feats.exceptions or feats.gc:
            heap, p2 = _heap_type(data, p, tables)
            return op, RefType(True, heap), p2
        t = tables.valtypes.get(data[p])
        if t is None or not t.is_ref:
            raise DecodeError("malformed reference type", p)
        return op, t, p + 1
    if kind is Imm.SELECT_T:
        n, p = _u32(data, p)
        if n > len(data) - p:
            raise DecodeError("length out of bounds", p)
        types = []
        for _ in range(n):
            t, p = _val_type(data, p, tables)
            types.append(t)
        return op, tuple(types), p
    if kind is Imm.MEMORY_INIT:
        index, p = _u32(data, p)
        memory, p = _memory_index(data, p, feats)
        return op, (index, memory), p
    if kind is Imm.MEMORY_COPY:
        dst, p = _memory_index(data, p, feats)
        src, p = _memory_index(data, p, feats)
        return op, (dst, src), p
    if kind is Imm.TABLE_INIT or kind is Imm.TABLE_COPY:
        a, p = _u32(data, p)
        c, p = _u32(data, p)
        return op, (a, c), p
    if kind is Imm.DATA or kind is Imm.ELEM or kind is Imm.TABLE:
        v, p = _u32(data, p)
        return op, v, p
    if kind is Imm.MEMARG:
        m, p = _memarg(data, p, feats)
        return op, m, p
    if kind is Imm.MEMARG_LANE:
        (align, offset, memory), p = _memarg(data, p, feats)
        return op, (align, offset, data[p], memory), p + 1
    if kind is Imm.V128 or kind is Imm.SHUFFLE:
        if p + 16 > len(data):
            raise _eof(data)
        return op, data[p : p + 16], p + 16
    if kind is Imm.LANE:
        return op, data[p], p + 1
    if kind is Imm.TRY_TABLE:
        bt = tables.blocktype1.get(data[p], _MISSING)
        if bt is _MISSING:
            bt, p = _block_type(data, p, tables)
        else:
            p += 1
        catches, p = _catches(data, p)
        return op, (bt, catches), p
    raise AssertionError(f"unhandled immediate kind {kind}")  # pragma: no cover


# (the validator's loop decodes the classes above inline, as this loop does: keep them alike)
def decode_instrs(data: bytes, pos: int, has_data_count: bool = True,
                  feats: Features | None = None, plain: bool = False) -> tuple[list, int]:  # fmt: skip
    """Decode the instruction sequence starting at ``data[pos]`` up to and including the ``end``
    that closes it (the function's or the constant expression's final ``end``).

    Nested ``block``/``loop``/``if`` are tracked with an explicit stack (no recursion), and
    ``else`` is only accepted directly inside an ``if``.

    The sequence is not bounded by its section: like the reference interpreter, decoding runs
    on until the closing ``end`` and the caller compares the final position with the declared
    size.

    Args:
        data: the module bytes.
        pos: offset of the first instruction.
        has_data_count: whether the module has a data count section; ``memory.init`` and
            ``data.drop`` are malformed without one.
        feats: the enabled proposals (default: all); instructions of the others are
            malformed.
        plain: give each instruction as a plain ``(op, imm, offset)`` tuple rather than an
            :class:`~wasm2py.binary.module.Instr` (for whoever only unpacks them, such as the
            validator: making the plain tuple costs ~0.1 us less per instruction).

    Returns:
        The instructions (each with the module offset of its opcode, the final ``end``
        included) and the position just after the final ``end``.

    Raises:
        DecodeError: malformed instructions, or the data ends first.
    """
    # (plain tuples here, made Instrs at the end if asked: one loop for both)
    out: list = []
    append = out.append
    tables = _tables(feats)
    fast = tables.fast
    blocktype1 = tables.blocktype1
    missing = _MISSING
    # One entry per open block: True for an ``if`` still without its ``else``.
    stack: list[bool] = []
    push = stack.append
    pop = stack.pop
    try:
        while True:
            b = data[pos]
            f = fast[b]
            if f == 0:  # _F_NONE
                append((b, None, pos))
                pos += 1
            elif f == 1:  # _F_IDX
                v = data[pos + 1]
                if v < 0x80:
                    append((b, v, pos))
                    pos += 2
                elif data[pos + 2] < 0x80:  # two bytes (function indices, mostly)
                    append((b, (v & 0x7F) | (data[pos + 2] << 7), pos))
                    pos += 3
                else:
                    v, p = read_u32(data, pos + 1)
                    append((b, v, pos))
                    pos = p
            elif f == 2:  # _F_I32
                v = data[pos + 1]
                if v < 0x40:
                    append((b, v, pos))
                    pos += 2
                elif v < 0x80:
                    append((b, v - 0x80, pos))
                    pos += 2
                elif data[pos + 2] < 0x80:  # two bytes: bit 13 is the sign
                    v = (v & 0x7F) | (data[pos + 2] << 7)
                    append((b, v - 0x4000 if v & 0x2000 else v, pos))
                    pos += 3
                else:
                    v, p = read_s32(data, pos + 1)
                    append((b, v, pos))
                    pos = p
            elif f == 3:  # _F_MEMARG
                align = data[pos + 1]
                offset = data[pos + 2]
                if align < 32 and offset < 0x80:
                    append((b, (align, offset, 0), pos))
                    pos += 3
                else:
                    m, p = _memarg(data, pos + 1, tables.feats)
                    append((b, m, pos))
                    pos = p
            elif f == 4:  # _F_END
                append((_END, None, pos))
                pos += 1
                if not stack:
                    return (out if plain else list(map(tuple.__new__, repeat(Instr), out))), pos
                pop()
            elif f == 5:  # _F_BLOCK
                bt = blocktype1.get(data[pos + 1], missing)
                if bt is missing:
                    bt, p = _block_type(data, pos + 1, tables)
                else:
                    p = pos + 2
                append((b, bt, pos))
                push(b == _IF)
                pos = p
            elif f == 6:  # _F_ELSE
                if not stack or not stack[-1]:
                    raise DecodeError("END opcode expected", pos)
                stack[-1] = False
                append((b, None, pos))
                pos += 1
            elif f == 7:  # _F_SLOW
                op, imm, p = _decode_slow(b, data, pos, has_data_count, tables)
                append((op, imm, pos))
                pos = p
            elif f == 9:  # _F_TRY
                op, imm, p = _decode_slow(b, data, pos, has_data_count, tables)
                append((op, imm, pos))
                push(False)
                pos = p
            else:
                raise DecodeError("illegal opcode", pos)
    except IndexError:
        raise _eof(data) from None


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


class _Reader(Reader):
    """A section reader that also knows the decoding tables of the enabled proposals."""

    __slots__ = ("t",)

    def __init__(self, data: bytes, pos: int, tables: _Tables):
        super().__init__(data, pos)
        self.t = tables

    def typed(self, decode, *args):
        """Run a position-based decoder (``decode(data, pos, *args) -> (value, pos)``) here."""
        try:
            v, p = decode(self.data, self.pos, *args)
        except IndexError:
            raise self.eof_error() from None
        if p > self.end:
            raise self.eof_error()
        self.pos = p
        return v


def _tables_of(r: Reader) -> _Tables:
    """The decoding tables of a reader (every proposal for a plain :class:`Reader`, as the
    component decoder uses)."""
    t = getattr(r, "t", None)
    return t if t is not None else _tables(None)


def _typed(r: Reader, decode, *args):
    """Run a position-based decoder (``decode(data, pos, *args) -> (value, pos)``) at ``r``."""
    try:
        v, p = decode(r.data, r.pos, *args)
    except IndexError:
        raise r.eof_error() from None
    if p > r.end:
        raise r.eof_error()
    r.pos = p
    return v


def _valtype(r: Reader):
    if r.pos >= r.end:
        raise r.eof_error()
    return _typed(r, _val_type, _tables_of(r))


def _reftype(r: Reader):
    if r.pos >= r.end:
        raise r.eof_error()
    return _typed(r, _val_type, _tables_of(r), "reference")


def _limits(r: Reader) -> Limits:
    """32-bit limits (the component decoder's core memory types)."""
    limits, is64 = _limits64(r, "memory")
    return limits


def _limits64(r: Reader, what: str) -> tuple[Limits, bool]:
    """Limits and whether they are 64-bit (memory64's flag 0x04)."""
    at = r.pos
    # The flags field is a 1-bit LEB128 integer in Wasm 2.0 (0: min only, 1: min and max);
    # memory64 adds bit 2 (64-bit limits).
    flags = r.byte()
    if flags & 0x80:
        raise DecodeError(TOO_LONG, at)
    memory64 = _tables_of(r).feats.memory64
    allowed = (0, 1, 4, 5) if memory64 else (0, 1)
    if flags not in allowed:
        raise DecodeError(TOO_LARGE, at)
    is64 = bool(flags & 4)
    # Wasm 3.0 reads every limit as a u64: a 32-bit one beyond 2**32 is invalid, not malformed
    read = r.u64 if memory64 else r.u32
    lo = read()
    hi = read() if flags & 1 else None
    return Limits(lo, hi), is64


def _table_type(r: Reader) -> TableType:
    elem = _reftype(r)
    limits, is64 = _limits64(r, "table")
    return TableType(elem, limits, is64)


def _memory_type(r: Reader) -> MemoryType:
    limits, is64 = _limits64(r, "memory")
    return MemoryType(limits, is64)


def _global_type(r: Reader) -> GlobalType:
    t = _valtype(r)
    at = r.pos
    mut = r.byte()
    if mut > 1:
        raise DecodeError("malformed mutability", at)
    return GlobalType(t, bool(mut))


def _tag_type(r: _Reader) -> int:
    """A tag's type index (after the attribute byte, which must be 0: an exception)."""
    at = r.pos
    if r.byte() != 0:
        raise DecodeError("malformed tag attribute", at)
    return r.u32()


def _const_expr(r: _Reader) -> tuple[Instr, ...]:
    """Decode a constant expression (any instruction sequence; the validator checks constness)
    and return it without its final ``end``."""
    try:
        instrs, p = decode_instrs(r.data, r.pos, True, r.t.feats)
    except IndexError:  # pragma: no cover - decode_instrs reports running off the data
        raise r.eof_error() from None
    if p > r.end:
        raise r.eof_error()
    r.pos = p
    instrs.pop()
    return tuple(instrs)


def _func_indices_as_exprs(r: _Reader) -> tuple[tuple[Instr, ...], ...]:
    """Read a vector of function indices as ``ref.func`` constant expressions."""
    items = []
    for _ in range(r.length()):
        at = r.pos
        items.append((Instr(_REF_FUNC, r.u32(), at),))
    return tuple(items)


def _elem_kind(r: _Reader):
    at = r.pos
    if r.byte() != 0x00:
        raise DecodeError("malformed element kind", at)
    return _FUNC_INDEX_TYPE if r.t.feats.function_references else ValType.FUNCREF


#: the type of element segments given as function indices (Wasm 3.0: not null)
_FUNC_INDEX_TYPE = RefType(False, HeapType.FUNC)


def _elem(r: _Reader) -> Elem:
    at = r.pos
    flags = r.u32()
    if flags > 7:
        raise DecodeError("malformed elements segment kind", at)
    # Bit 0: passive or declarative (else active); bit 1: declarative if bit 0, else active with
    # an explicit table index; bit 2: elements are expressions (else function indices).
    table = 0
    offset = None
    if flags & 1:
        mode = SegmentMode.DECLARATIVE if flags & 2 else SegmentMode.PASSIVE
    else:
        mode = SegmentMode.ACTIVE
        if flags & 2:
            table = r.u32()
        offset = _const_expr(r)
    if flags & 4:
        # Flags 4 has no type byte: the type is funcref.
        etype = _reftype(r) if flags & 3 else ValType.FUNCREF
        items = tuple(_const_expr(r) for _ in range(r.length()))
    else:
        if flags & 3:
            etype = _elem_kind(r)
        else:
            etype = _FUNC_INDEX_TYPE if r.t.feats.function_references else ValType.FUNCREF
        items = _func_indices_as_exprs(r)
    return Elem(mode, etype, items, table, offset)


def _data(r: _Reader) -> Data:
    at = r.pos
    flags = r.u32()
    if flags == 1:
        return Data(SegmentMode.PASSIVE, r.vec_bytes())
    if flags == 0:
        memory = 0
    elif flags == 2:
        memory = r.u32()
    else:
        raise DecodeError("malformed data segment kind", at)
    offset = _const_expr(r)
    return Data(SegmentMode.ACTIVE, r.vec_bytes(), memory, offset)


def _code(r: _Reader, has_data_count: bool) -> Code:
    """Frame one code section entry; its locals and instructions are decoded on demand."""
    size = r.u32()
    start = r.pos
    end = start + size
    if end > r.end:
        raise r.eof_error()
    r.pos = end
    return Code.framed(r.data, start, end, has_data_count, r.t.feats)


def decode_locals(data: bytes, start: int, end: int,
                  features: Features | None = None) -> tuple[tuple, int]:  # fmt: skip
    """The local declarations of the body framed at ``data[start:end]``: one value type per
    local, and the position of the first instruction (``features``: the enabled proposals,
    default all).

    Raises:
        DecodeError: malformed declarations, or more than :data:`MAX_LOCALS` locals.
    """
    r = _Reader(data, start, _tables(features))
    r.end = end
    total = 0
    decls = []
    try:
        for _ in range(r.length()):
            at = r.pos
            count = r.u32()
            total += count
            if total > 0xFFFF_FFFF:
                raise DecodeError("too many locals", at)
            decls.append((count, _valtype(r)))
    except IndexError:  # pragma: no cover - every read is guarded; this is a safety net
        raise DecodeError("unexpected end", len(data)) from None
    if total > MAX_LOCALS:
        raise DecodeError("too many locals", start)
    locals_: list = []
    for count, t in decls:
        locals_.extend([t] * count)
    return tuple(locals_), r.pos


def decode_body(data: bytes, pos: int, end: int, has_data_count: bool = True,
                features: Features | None = None, plain: bool = False) -> list[Instr]:  # fmt: skip
    """The instructions of a function body from ``data[pos]`` (after its locals) to its final
    ``end``, which must be the last byte before ``end`` (``features``: the enabled proposals,
    default all; ``plain``: as plain tuples, see :func:`decode_instrs`).

    Raises:
        DecodeError: malformed instructions, or a body that runs past ``end`` (a missing final
            ``end``) or stops short of it (trailing bytes).
    """
    body, p = decode_instrs(data, pos, has_data_count, features, plain)
    # The body may run past its declared size (a missing final ``end``) or stop short of it
    # (trailing bytes after the final ``end``); both are a size mismatch, as in the spec.
    if p != end:
        raise DecodeError("section size mismatch", min(p, end))
    return body


def _table(r: _Reader) -> tuple[TableType, tuple[Instr, ...] | None]:
    """A table definition: its type and, in the 0x40 0x00 form, its initialiser expression."""
    if r.pos < r.end and r.data[r.pos] == 0x40 and r.t.feats.function_references:
        r.pos += 1
        at = r.pos
        if r.byte() != 0:
            raise DecodeError("malformed table", at)
        tt = _table_type(r)
        return tt, _const_expr(r)
    return _table_type(r), None


def _import(r: _Reader) -> Import:
    module = r.name()
    name = r.name()
    at = r.pos
    kind = r.byte()
    if kind == 0:
        desc: object = r.u32()
    elif kind == 1:
        desc = _table_type(r)
    elif kind == 2:
        desc = _memory_type(r)
    elif kind == 3:
        desc = _global_type(r)
    elif kind == 4 and r.t.feats.exceptions:
        desc = _tag_type(r)
    else:
        raise DecodeError("malformed import kind", at)
    return Import(module, name, ExternKind(kind), desc)  # type: ignore[arg-type]


def _export(r: _Reader) -> Export:
    name = r.name()
    at = r.pos
    kind = r.byte()
    if kind > (4 if r.t.feats.exceptions else 3):
        raise DecodeError("malformed export kind", at)
    return Export(name, ExternKind(kind), r.u32())


def _storage_type(r: _Reader):
    b = r.data[r.pos] if r.pos < r.end else None
    if b == 0x78 or b == 0x77:
        r.pos += 1
        return PackedType(b)
    return _valtype(r)


def _field_type(r: _Reader) -> FieldType:
    t = _storage_type(r)
    at = r.pos
    mut = r.byte()
    if mut > 1:
        raise DecodeError("malformed mutability", at)
    return FieldType(t, bool(mut))


def _func_type(r: Reader) -> FuncType:
    """A function type (0x60 and its parameter and result types)."""
    at = r.pos
    tag = r.byte()
    if tag != 0x60:
        raise DecodeError(TOO_LONG if tag & 0x80 else "malformed function type", at)
    params = tuple(_valtype(r) for _ in range(r.length()))
    results = tuple(_valtype(r) for _ in range(r.length()))
    return FuncType(params, results)


def _comp_type(r: _Reader):
    at = r.pos
    tag = r.byte()
    if tag == 0x60:
        params = tuple(_valtype(r) for _ in range(r.length()))
        results = tuple(_valtype(r) for _ in range(r.length()))
        return FuncType(params, results)
    if r.t.feats.gc:
        if tag == 0x5F:
            return StructType(tuple(_field_type(r) for _ in range(r.length())))
        if tag == 0x5E:
            return ArrayType(_field_type(r))
    # The tag is an s7 LEB128 integer in the reference interpreter: a continuation bit
    # makes it over-long rather than an unknown type constructor.
    raise DecodeError(TOO_LONG if tag & 0x80 else "malformed function type", at)


def _sub_type(r: _Reader, m: Module) -> None:
    """One type definition, with its ``sub``/``sub final`` header if it has one."""
    b = r.data[r.pos] if r.pos < r.end else None
    if (b == 0x50 or b == 0x4F) and r.t.feats.gc:
        r.pos += 1
        supers = tuple(r.u32() for _ in range(r.length()))
        m.subtypes.append((b == 0x4F, supers))
    else:
        m.subtypes.append((True, ()))
    m.types.append(_comp_type(r))


def _type_section(r: _Reader, m: Module) -> None:
    m.types = []
    m.subtypes = []
    m.rec_sizes = []
    for _ in range(r.length()):
        if r.pos < r.end and r.data[r.pos] == 0x4E and r.t.feats.gc:
            r.pos += 1
            n = r.length()
            for _ in range(n):
                _sub_type(r, m)
            m.rec_sizes.append(n)
        else:
            _sub_type(r, m)
            m.rec_sizes.append(1)


def _name_map(r: Reader) -> dict[int, str]:
    out = {}
    for _ in range(r.length()):
        index = r.u32()
        out[index] = r.name()
    return out


def parse_name_section(data: bytes, pos: int, end: int) -> Names:
    """Parse the payload ``data[pos:end]`` of a ``name`` custom section.

    Never raises for malformed content (the spec says a malformed name section must be
    ignored): each of the module-name, function-names and local-names subsections is kept only
    if it is well formed; unknown subsections are skipped, and a broken subsection header ends
    the parse.
    """
    names = Names()
    r = Reader(data, pos, end)
    try:
        while not r.at_end():
            sub_id = r.byte()
            size = r.u32()
            sub_end = r.pos + size
            if sub_end > end:
                break
            sub = Reader(data, r.pos, sub_end)
            r.pos = sub_end
            try:
                if sub_id == 0:
                    module_name = sub.name()
                    if sub.at_end():
                        names.module = module_name
                elif sub_id == 1:
                    functions = _name_map(sub)
                    if sub.at_end():
                        names.functions = functions
                elif sub_id == 2:
                    locals_ = {}
                    for _ in range(sub.length()):
                        index = sub.u32()
                        locals_[index] = _name_map(sub)
                    if sub.at_end():
                        names.locals = locals_
            except DecodeError:
                pass
    except DecodeError:
        pass
    return names


def decode_module(data: bytes | bytearray | memoryview, features: Features | None = None,
                  check_bodies: bool = True) -> Module:  # fmt: skip
    """Decode a WebAssembly binary module (Wasm 3.0, or less: see ``features``).

    Args:
        data: the module bytes.
        features: the enabled proposals (default: all); modules using others are malformed
            where Wasm 2.0 would say so (the validator refuses the rest).
        check_bodies: decode every function body once, so that a malformed one raises here
            (the bodies are not kept: :class:`~wasm2py.binary.module.Code` decodes them again
            on demand). False: bodies are only framed, and a malformed one raises when it is
            first decoded (:func:`~wasm2py.validate.validator.validate_module` decodes them
            all, and reports malformed bodies before invalid ones).

    Returns:
        The decoded :class:`Module` (``raw`` holds the bytes).

    Raises:
        DecodeError: the binary is malformed (``offset`` says where).
        UnsupportedFeature: the module uses GC instructions (not implemented).
        TypeError: ``data`` is not bytes-like.
    """
    if not isinstance(data, bytes):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        else:
            raise TypeError(f"expected bytes, got {type(data).__name__}")
    # (one small tuple per instruction, none of them in a cycle: see wasm2py.gcpause)
    with gc_paused():
        try:
            m = _decode_module(data, _tables(features))
            if check_bodies:
                for code in m.codes:
                    code.triples  # noqa: B018 - decoded to check it, then dropped
            return m
        except IndexError:  # pragma: no cover - every read is guarded; this is a safety net
            raise DecodeError("unexpected end", len(data)) from None


def _decode_module(data: bytes, tables: _Tables) -> Module:
    n = len(data)
    if n < 4:
        raise DecodeError("unexpected end", n)
    if data[:4] != MAGIC:
        raise DecodeError("magic header not detected", 0)
    if n < 8:
        raise DecodeError("unexpected end", n)
    if data[4:8] != VERSION:
        raise DecodeError("unknown binary version", 4)

    m = Module(raw=data)
    r = _Reader(data, 8, tables)
    last_rank = 0
    exceptions = tables.feats.exceptions
    while r.pos < n:
        id_at = r.pos
        section_id = r.byte()
        size = r.u32()
        start = r.pos
        if size > n - start:
            raise DecodeError("length out of bounds", start)
        end = start + size
        r.end = end
        if section_id == 0:
            name = r.name()
            m.customs.append((name, data[r.pos : end]))
            if name == "name":
                m.names = parse_name_section(data, r.pos, end)
            r.pos = end
        else:
            rank = _SECTION_RANK.get(section_id)
            if rank is None or (section_id == 13 and not exceptions):
                raise DecodeError("malformed section id", id_at)
            if rank <= last_rank:
                raise DecodeError("unexpected content after last section", id_at)
            last_rank = rank
            _decode_section(section_id, r, m)
        if r.pos != end:
            raise DecodeError("section size mismatch", r.pos)
        r.end = n

    if len(m.funcs) != len(m.codes):
        raise DecodeError("function and code section have inconsistent lengths", n)
    if m.data_count is not None and m.data_count != len(m.datas):
        raise DecodeError("data count and data section have inconsistent lengths", n)
    return m


def _decode_section(section_id: int, r: _Reader, m: Module) -> None:
    if section_id == 1:
        _type_section(r, m)
    elif section_id == 2:
        m.imports = [_import(r) for _ in range(r.length())]
    elif section_id == 3:
        m.funcs = [r.u32() for _ in range(r.length())]
    elif section_id == 4:
        tables = [_table(r) for _ in range(r.length())]
        m.tables = [t for t, _ in tables]
        m.table_inits = [init for _, init in tables]
    elif section_id == 5:
        m.memories = [_memory_type(r) for _ in range(r.length())]
    elif section_id == 13:
        m.tags = [_tag_type(r) for _ in range(r.length())]
    elif section_id == 6:
        m.globals = [Global(_global_type(r), _const_expr(r)) for _ in range(r.length())]
    elif section_id == 7:
        m.exports = [_export(r) for _ in range(r.length())]
    elif section_id == 8:
        m.start = r.u32()
    elif section_id == 9:
        m.elems = [_elem(r) for _ in range(r.length())]
    elif section_id == 12:
        m.data_count = r.u32()
    elif section_id == 10:
        has_data_count = m.data_count is not None
        m.codes = [_code(r, has_data_count) for _ in range(r.length())]
    elif section_id == 11:
        m.datas = [_data(r) for _ in range(r.length())]
