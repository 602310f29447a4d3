"""Decoding of the WebAssembly 2.0 binary format into a :class:`~wasm2py.binary.module.Module`.

Entry point: :func:`decode_module`. Every section of Wasm 2.0 is decoded; function bodies are
only framed (their byte ranges), and decoded on demand into lists of
:class:`~wasm2py.binary.module.Instr` (:func:`decode_locals`, :func:`decode_body`; validation
decodes every body once). Malformed input always
raises :class:`~wasm2py.errors.DecodeError` with the byte offset of the problem; the messages
follow the wording of the spec's reference interpreter (``assert_malformed`` in the spec tests).

The decoder only checks what the binary grammar requires (plus a few implementation limits,
such as :data:`MAX_LOCALS`); index ranges, types and constant-expression rules are left to the
validator.
"""

from __future__ import annotations

import gc

from ..errors import DecodeError
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType
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
from .opcodes import IMM, SIMD_BASE, SIMD_IMM, Imm, Op
from .reader import TOO_LARGE, TOO_LONG, Reader, read_s32, read_s33, read_s64, read_u32

__all__ = ["decode_module", "decode_instrs", "decode_locals", "decode_body", "parse_name_section", "MAX_LOCALS", "MAGIC", "VERSION"]

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

#: Implementation limit on the number of locals of one function (parameters excluded). The spec
#: allows up to 2**32-1, but locals are expanded into a tuple; 50 000 is the limit of the JS
#: embedding and of wasm-tools/wasmtime, so no real module exceeds it.
MAX_LOCALS = 50_000

_VALTYPES: dict[int, ValType] = {t.value: t for t in ValType}
_REFTYPES: dict[int, ValType] = {0x70: ValType.FUNCREF, 0x6F: ValType.EXTERNREF}

# Block types that fit in one byte: the empty type and the value types. Anything else is an s33
# type index.
_MISSING = object()
_BLOCKTYPE1: dict[int, object] = {0x40: None, **_VALTYPES}

# Order of the non-custom sections (id -> rank): the data count section (12) sits between the
# element (9) and code (10) sections.
_SECTION_RANK = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

# ---------------------------------------------------------------------------------------------
# Instruction decoding
# ---------------------------------------------------------------------------------------------

# Fast-dispatch class of every single-byte opcode, for the hot loop in decode_instrs.
_F_NONE = 0  # no immediate
_F_IDX = 1  # one u32 index (local, global, function, label, table)
_F_I32 = 2  # i32.const
_F_MEMARG = 3  # loads and stores
_F_END = 4
_F_BLOCK = 5  # block, loop, if
_F_ELSE = 6
_F_SLOW = 7  # everything else, including the 0xFC and 0xFD prefixes: see _decode_slow
_F_ILLEGAL = 8

_FAST: list[int] = [_F_ILLEGAL] * 256
for _op, _kind in IMM.items():
    if _op > 0xFF:
        continue
    if _kind is Imm.NONE:
        _FAST[_op] = _F_NONE
    elif _kind in (Imm.LABEL, Imm.FUNC, Imm.LOCAL, Imm.GLOBAL, Imm.TABLE):
        _FAST[_op] = _F_IDX
    elif _kind is Imm.MEMARG:
        _FAST[_op] = _F_MEMARG
    elif _kind is Imm.BLOCK:
        _FAST[_op] = _F_BLOCK
    else:
        _FAST[_op] = _F_SLOW
_FAST[Op.I32_CONST] = _F_I32
_FAST[Op.END] = _F_END
_FAST[Op.ELSE] = _F_ELSE
_FAST[0xFC] = _F_SLOW
_FAST[0xFD] = _F_SLOW

_MEMORY_INIT = int(Op.MEMORY_INIT)
_DATA_DROP = int(Op.DATA_DROP)
_END = int(Op.END)
_IF = int(Op.IF)
_REF_FUNC = int(Op.REF_FUNC)


def _eof(data: bytes) -> DecodeError:
    return DecodeError("unexpected end of section or function", len(data))


def _memarg(data: bytes, p: int) -> tuple[tuple[int, int], int]:
    """Decode a memarg (align exponent, offset) at ``data[p]``."""
    align = data[p]
    if align < 0x80:
        p += 1
    else:
        align, p = read_u32(data, p)
    # Wasm 2.0 has a single memory and 32-bit offsets: an alignment exponent of 32 or more (in
    # particular bit 6, the multi-memory flag) is malformed.
    if align >= 32:
        raise DecodeError("malformed memop flags", p - 1)
    offset = data[p]
    if offset < 0x80:
        p += 1
    else:
        offset, p = read_u32(data, p)
    return (align, offset), p


def _zero_byte(data: bytes, p: int) -> int:
    """Check the reserved 0x00 memory-index byte at ``data[p]`` and skip it."""
    if data[p] != 0:
        raise DecodeError("zero byte expected", p)
    return p + 1


def _block_type(data: bytes, p: int) -> tuple[object, int]:
    """Decode a block type that is not a single-byte value type: an s33 type index."""
    index, p2 = read_s33(data, p)
    if index < 0:
        raise DecodeError("malformed block type", p)
    return index, p2


def _u32(data: bytes, p: int) -> tuple[int, int]:
    v = data[p]
    if v < 0x80:
        return v, p + 1
    return read_u32(data, p)


def _decode_slow(b: int, data: bytes, at: int, has_data_count: bool) -> tuple[int, object, int]:
    """Decode an instruction outside the hot loop's fast classes. ``b`` is the opcode byte at
    ``data[at]``. Returns (opcode, immediate, position after the instruction)."""
    p = at + 1
    op = b
    if b == 0xFC:
        sub, p = _u32(data, p)
        kind = IMM.get(0xFC00 | sub) if sub < 0x100 else None
        if kind is None:
            raise DecodeError("illegal opcode", at)
        op = 0xFC00 | sub
        if (op == _MEMORY_INIT or op == _DATA_DROP) and not has_data_count:
            raise DecodeError("data count section required", at)
    elif b == 0xFD:
        sub, p = _u32(data, p)
        kind = SIMD_IMM.get(SIMD_BASE | sub) if sub < 0x100 else None
        if kind is None:
            raise DecodeError("illegal opcode", at)
        op = SIMD_BASE | sub
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
        return op, 0, _zero_byte(data, p)
    if kind is Imm.REFTYPE:
        t = _REFTYPES.get(data[p])
        if t is None:
            raise DecodeError("malformed reference type", p)
        return op, t, p + 1
    if kind is Imm.SELECT_T:
        n, p = _u32(data, p)
        if n > len(data) - p:
            raise DecodeError("length out of bounds", p)
        types = []
        for _ in range(n):
            t = _VALTYPES.get(data[p])
            if t is None:
                raise DecodeError("malformed value type", p)
            types.append(t)
            p += 1
        return op, tuple(types), p
    if kind is Imm.MEMORY_INIT:
        index, p = _u32(data, p)
        return op, (index, 0), _zero_byte(data, p)
    if kind is Imm.MEMORY_COPY:
        p = _zero_byte(data, p)
        return op, (0, 0), _zero_byte(data, p)
    if kind is Imm.TABLE_INIT or kind is Imm.TABLE_COPY:
        a, p = _u32(data, p)
        c, p = _u32(data, p)
        return op, (a, c), p
    if kind is Imm.DATA or kind is Imm.ELEM or kind is Imm.TABLE:
        v, p = _u32(data, p)
        return op, v, p
    if kind is Imm.MEMARG:
        m, p = _memarg(data, p)
        return op, m, p
    if kind is Imm.MEMARG_LANE:
        (align, offset), p = _memarg(data, p)
        return op, (align, offset, data[p]), p + 1
    if kind is Imm.V128 or kind is Imm.SHUFFLE:
        if p + 16 > len(data):
            raise _eof(data)
        return op, data[p : p + 16], p + 16
    if kind is Imm.LANE:
        return op, data[p], p + 1
    raise AssertionError(f"unhandled immediate kind {kind}")  # pragma: no cover


def decode_instrs(data: bytes, pos: int, has_data_count: bool = True) -> tuple[list[Instr], int]:
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

    Returns:
        The instructions (each with the module offset of its opcode, the final ``end``
        included) and the position just after the final ``end``.

    Raises:
        DecodeError: malformed instructions, or the data ends first.
    """
    out: list[Instr] = []
    append = out.append
    new = tuple.__new__
    I = Instr  # local alias: cheaper than a global lookup per instruction
    fast = _FAST
    blocktype1 = _BLOCKTYPE1
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
                append(new(I, (b, None, pos)))
                pos += 1
            elif f == 1:  # _F_IDX
                v = data[pos + 1]
                if v < 0x80:
                    append(new(I, (b, v, pos)))
                    pos += 2
                else:
                    v, p = read_u32(data, pos + 1)
                    append(new(I, (b, v, pos)))
                    pos = p
            elif f == 2:  # _F_I32
                v = data[pos + 1]
                if v < 0x40:
                    append(new(I, (b, v, pos)))
                    pos += 2
                elif v < 0x80:
                    append(new(I, (b, v - 0x80, pos)))
                    pos += 2
                else:
                    v, p = read_s32(data, pos + 1)
                    append(new(I, (b, v, pos)))
                    pos = p
            elif f == 3:  # _F_MEMARG
                align = data[pos + 1]
                offset = data[pos + 2]
                if align < 32 and offset < 0x80:
                    append(new(I, (b, (align, offset), pos)))
                    pos += 3
                else:
                    m, p = _memarg(data, pos + 1)
                    append(new(I, (b, m, pos)))
                    pos = p
            elif f == 4:  # _F_END
                append(new(I, (_END, None, pos)))
                pos += 1
                if not stack:
                    return out, pos
                pop()
            elif f == 5:  # _F_BLOCK
                bt = blocktype1.get(data[pos + 1], missing)
                if bt is missing:
                    bt, p = _block_type(data, pos + 1)
                else:
                    p = pos + 2
                append(new(I, (b, bt, pos)))
                push(b == _IF)
                pos = p
            elif f == 6:  # _F_ELSE
                if not stack or not stack[-1]:
                    raise DecodeError("END opcode expected", pos)
                stack[-1] = False
                append(new(I, (b, None, pos)))
                pos += 1
            elif f == 7:  # _F_SLOW
                op, imm, p = _decode_slow(b, data, pos, has_data_count)
                append(new(I, (op, imm, pos)))
                pos = p
            else:
                raise DecodeError("illegal opcode", pos)
    except IndexError:
        raise _eof(data) from None


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def _valtype(r: Reader) -> ValType:
    at = r.pos
    t = _VALTYPES.get(r.byte())
    if t is None:
        raise DecodeError("malformed value type", at)
    return t


def _reftype(r: Reader) -> ValType:
    at = r.pos
    t = _REFTYPES.get(r.byte())
    if t is None:
        raise DecodeError("malformed reference type", at)
    return t


def _limits(r: Reader) -> Limits:
    at = r.pos
    # The flags field is a 1-bit LEB128 integer in Wasm 2.0 (0: min only, 1: min and max).
    flags = r.byte()
    if flags & 0x80:
        raise DecodeError(TOO_LONG, at)
    if flags > 1:
        raise DecodeError(TOO_LARGE, at)
    lo = r.u32()
    hi = r.u32() if flags else None
    return Limits(lo, hi)


def _table_type(r: Reader) -> TableType:
    elem = _reftype(r)
    return TableType(elem, _limits(r))


def _global_type(r: Reader) -> GlobalType:
    t = _valtype(r)
    at = r.pos
    mut = r.byte()
    if mut > 1:
        raise DecodeError("malformed mutability", at)
    return GlobalType(t, bool(mut))


def _const_expr(r: Reader) -> tuple[Instr, ...]:
    """Decode a constant expression (any instruction sequence; the validator checks constness)
    and return it without its final ``end``."""
    instrs, p = decode_instrs(r.data, r.pos)
    if p > r.end:
        raise r.eof_error()
    r.pos = p
    instrs.pop()
    return tuple(instrs)


def _func_indices_as_exprs(r: Reader) -> tuple[tuple[Instr, ...], ...]:
    """Read a vector of function indices as ``ref.func`` constant expressions."""
    items = []
    for _ in range(r.length()):
        at = r.pos
        items.append((Instr(_REF_FUNC, r.u32(), at),))
    return tuple(items)


def _elem_kind(r: Reader) -> ValType:
    at = r.pos
    if r.byte() != 0x00:
        raise DecodeError("malformed element kind", at)
    return ValType.FUNCREF


def _elem(r: Reader) -> Elem:
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
        etype = _elem_kind(r) if flags & 3 else ValType.FUNCREF
        items = _func_indices_as_exprs(r)
    return Elem(mode, etype, items, table, offset)


def _data(r: Reader) -> Data:
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


def _code(r: Reader, has_data_count: bool) -> Code:
    """Frame one code section entry; its locals and instructions are decoded on demand."""
    size = r.u32()
    start = r.pos
    end = start + size
    if end > r.end:
        raise r.eof_error()
    r.pos = end
    return Code.framed(r.data, start, end, has_data_count)


def decode_locals(data: bytes, start: int, end: int) -> tuple[tuple[ValType, ...], int]:
    """The local declarations of the body framed at ``data[start:end]``: one ValType per
    local, and the position of the first instruction.

    Raises:
        DecodeError: malformed declarations, or more than :data:`MAX_LOCALS` locals.
    """
    r = Reader(data, start, end)
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
    locals_: list[ValType] = []
    for count, t in decls:
        locals_.extend([t] * count)
    return tuple(locals_), r.pos


def decode_body(data: bytes, pos: int, end: int, has_data_count: bool = True) -> list[Instr]:
    """The instructions of a function body from ``data[pos]`` (after its locals) to its final
    ``end``, which must be the last byte before ``end``.

    Raises:
        DecodeError: malformed instructions, or a body that runs past ``end`` (a missing final
            ``end``) or stops short of it (trailing bytes).
    """
    body, p = decode_instrs(data, pos, has_data_count)
    # The body may run past its declared size (a missing final ``end``) or stop short of it
    # (trailing bytes after the final ``end``); both are a size mismatch, as in the spec.
    if p != end:
        raise DecodeError("section size mismatch", min(p, end))
    return body


def _import(r: Reader) -> Import:
    module = r.name()
    name = r.name()
    at = r.pos
    kind = r.byte()
    if kind == 0:
        desc: object = r.u32()
    elif kind == 1:
        desc = _table_type(r)
    elif kind == 2:
        desc = MemoryType(_limits(r))
    elif kind == 3:
        desc = _global_type(r)
    else:
        raise DecodeError("malformed import kind", at)
    return Import(module, name, ExternKind(kind), desc)  # type: ignore[arg-type]


def _export(r: Reader) -> Export:
    name = r.name()
    at = r.pos
    kind = r.byte()
    if kind > 3:
        raise DecodeError("malformed export kind", at)
    return Export(name, ExternKind(kind), r.u32())


def _func_type(r: Reader) -> FuncType:
    at = r.pos
    tag = r.byte()
    if tag != 0x60:
        # The tag is an s7 LEB128 integer in the reference interpreter: a continuation bit
        # makes it over-long rather than an unknown type constructor.
        raise DecodeError(TOO_LONG if tag & 0x80 else "malformed function type", at)
    params = tuple(_valtype(r) for _ in range(r.length()))
    results = tuple(_valtype(r) for _ in range(r.length()))
    return FuncType(params, results)


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


def decode_module(data: bytes | bytearray | memoryview, check_bodies: bool = True) -> Module:
    """Decode a WebAssembly 2.0 binary module.

    Args:
        data: the module bytes.
        check_bodies: decode every function body once, so that a malformed one raises here
            (the bodies are not kept: :class:`~wasm2py.binary.module.Code` decodes them again
            on demand). False: bodies are only framed, and a malformed one raises when it is
            first decoded (:func:`~wasm2py.validate.validator.validate_module` decodes them
            all, and reports malformed bodies before invalid ones).

    Returns:
        The decoded :class:`Module` (``raw`` holds the bytes).

    Raises:
        DecodeError: the binary is malformed (``offset`` says where).
        TypeError: ``data`` is not bytes-like.
    """
    if not isinstance(data, bytes):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        else:
            raise TypeError(f"expected bytes, got {type(data).__name__}")
    # Decoding allocates one small tuple per instruction, none of which can be part of a cycle.
    # Left on, the cyclic GC would keep rescanning the instruction lists (it made decoding four
    # to five times slower), so it is paused for the duration.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        m = _decode_module(data)
        if check_bodies:
            for code in m.codes:
                code.body  # noqa: B018 - decoded to check it, then dropped
        return m
    except IndexError:  # pragma: no cover - every read is guarded; this is a safety net
        raise DecodeError("unexpected end", len(data)) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _decode_module(data: bytes) -> Module:
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
    r = Reader(data, 8)
    last_rank = 0
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
            if rank is None:
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


def _decode_section(section_id: int, r: Reader, m: Module) -> None:
    if section_id == 1:
        m.types = [_func_type(r) for _ in range(r.length())]
    elif section_id == 2:
        m.imports = [_import(r) for _ in range(r.length())]
    elif section_id == 3:
        m.funcs = [r.u32() for _ in range(r.length())]
    elif section_id == 4:
        m.tables = [_table_type(r) for _ in range(r.length())]
    elif section_id == 5:
        m.memories = [MemoryType(_limits(r)) for _ in range(r.length())]
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
