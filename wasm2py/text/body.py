"""Instruction sequences: plain (``i32.add``) and folded (``(i32.add (...) (...))``)
instructions, structured blocks with labels, and every immediate form, written straight into
the binary encoding.

:func:`parse_instrs` and :func:`parse_folded` run the parser's hot loop: it keeps the token list
and the output in locals, the open blocks on a list (not on Python's stack), and dispatches on
the immediate kind of :data:`~.instructions.INSTRUCTIONS`.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from . import instructions as I
from .encode import sleb, uleb
from .literals import parse_float, parse_int, parse_lane_int, parse_nat

if TYPE_CHECKING:
    from .parser import ModuleParser

_INSTRUCTIONS = I.INSTRUCTIONS
_pack_f32 = struct.Struct("<I").pack
_pack_f64 = struct.Struct("<Q").pack
# block type of a block without type use: empty
_EMPTY_BLOCK = b"\x40"
_BLOCK_KINDS = frozenset({I.BLOCK, I.IF, I.TRY_TABLE})
_CATCH_KINDS = {"catch": 0, "catch_ref": 1, "catch_all": 2, "catch_all_ref": 3}


#: How deep blocks and folded instructions may nest. The parser keeps open constructs on a
#: list rather than the Python stack, so this bounds memory, not recursion.
MAX_NESTING = 10_000

_SMALL = [bytes([n]) for n in range(128)]

# memory 0, offset 0, natural alignment
_DEFAULT_MEMARG = {name: bytes([align.bit_length() - 1, 0])
                   for name, align in I.NATURAL_ALIGN.items()}


class FuncContext:
    """What the instructions of one function (or constant expression) resolve names against:
    locals and the label stack."""

    __slots__ = ("m", "func_index", "locals", "local_tokens", "nlocals", "shown_locals",
                 "labels", "shown_labels", "label_count", "nparams_unknown")

    def __init__(self, m: ModuleParser, func_index: int | None):
        self.m = m
        self.func_index = func_index
        self.locals: dict[str, int] = {}
        #: the same by the token that names them (``$x``): one dict lookup per use
        self.local_tokens: dict[str, int] = {}
        self.nlocals = 0
        self.shown_locals: dict[int, str] = {}
        # the function body is itself an (unnamed) label
        self.labels: list[str | None] = [None]
        self.shown_labels: dict[int, str] = {}
        self.label_count = 0
        self.nparams_unknown = False


def _label(ctx: FuncContext, i: int) -> tuple[int, int]:
    """A label reference (numeric depth or identifier) -> (depth, next index)."""
    m = ctx.m
    tok = m.toks[i]
    if tok.startswith("$"):
        name = m.ident(i)
        labels = ctx.labels
        for k in range(len(labels) - 1, -1, -1):
            if labels[k] == name:
                return len(labels) - 1 - k, i + 1
        raise m.error(i, f"unknown label {tok}")
    n = parse_nat(tok)
    if n is None:
        raise m.unexpected(i, "a label")
    if n >> 32:
        raise m.error(i, "i32 constant out of range")
    return n, i + 1


def _local(ctx: FuncContext, i: int) -> tuple[int, int]:
    m = ctx.m
    tok = m.toks[i]
    if tok.startswith("$"):
        n = ctx.locals.get(m.ident(i))  # type: ignore[arg-type]
        if n is None:
            raise m.error(i, f"unknown local {tok}")
        return n, i + 1
    n = parse_nat(tok)
    if n is None:
        raise m.unexpected(i, "a local index")
    if n >> 32:
        raise m.error(i, "i32 constant out of range")
    return n, i + 1


def _opt_index(m: ModuleParser, i: int, space) -> tuple[int, int, bool]:
    """An optional index: (index or 0, next index, whether one was given)."""
    if m.is_index(i):
        n, i = m.index(i, space)
        return n, i, True
    return 0, i, False


def _memarg(m: ModuleParser, i: int, name: str, lane: bool) -> tuple[bytes, int]:
    """``memory? offset=n? align=n?`` (and a lane index for lane accesses)."""
    toks = m.toks
    memory = 0
    tok = toks[i]
    if not lane and not (tok[:1] == "$" or tok[:1].isdigit() or tok[:7] == "offset=" or
                         tok[:6] == "align="):
        return _DEFAULT_MEMARG[name], i
    if tok.startswith("$"):
        memory, i = m.index(i, m.memories)
    elif tok[:1].isdigit():
        nxt = toks[i + 1]
        if not lane or nxt[:1].isdigit() or nxt.startswith(("offset=", "align=")):
            memory, i = m.index(i, m.memories)
    offset = 0
    tok = toks[i]
    if tok.startswith("offset="):
        n = parse_nat(tok[7:])
        if n is None:
            raise m.unexpected(i, "offset=<natural number>")
        if n >> (64 if m.version >= 3 else 32):
            raise m.error(i, f"i{64 if m.version >= 3 else 32} constant out of range")
        offset = n
        i += 1
        tok = toks[i]
    align = I.NATURAL_ALIGN[name]
    if tok.startswith("align="):
        n = parse_nat(tok[6:])
        if n is None:
            raise m.unexpected(i, "align=<natural number>")
        if n == 0 or n & (n - 1):
            raise m.error(i, "alignment must be a power of two")
        if n >> 64:
            raise m.error(i, "i64 constant out of range")
        align = n
        i += 1
    log2 = align.bit_length() - 1
    if memory:
        out = uleb(log2 | 0x40) + uleb(memory) + uleb(offset)
    else:
        out = uleb(log2) + uleb(offset)
    if lane:
        n = parse_nat(toks[i])
        if n is None:
            raise m.unexpected(i, "a lane index")
        if n > 255:
            raise m.error(i, "i8 constant out of range")
        out += bytes([n])
        i += 1
    return out, i


def _v128(m: ModuleParser, i: int) -> tuple[bytes, int]:
    toks = m.toks
    shape = toks[i]
    info = I.SHAPES.get(shape)
    if info is None:
        raise m.unexpected(i, "a vector shape (i8x16, i16x8, i32x4, i64x2, f32x4, f64x2)")
    lanes, bits = info
    start = i
    i += 1
    value = 0
    for k in range(lanes):
        tok = toks[i]
        if tok in ("", ")", "("):
            raise m.error(start, f"wrong number of lane literals: {shape} needs {lanes}")
        try:
            if shape[0] == "f":
                lane = parse_float(tok, bits)
            else:
                lane = parse_lane_int(tok, bits)
        except ValueError as e:
            raise m.error(i, str(e)) from None
        value |= lane << (k * bits)
        i += 1
    return value.to_bytes(16, "little"), i


def blocktype(ctx: FuncContext, i: int) -> tuple[bytes, int]:
    """``(type x)? (param t*)* (result t*)*`` of a block: the empty type byte, one value type,
    or a type index."""
    m = ctx.m
    toks = m.toks
    if toks[i] != "(":
        return _EMPTY_BLOCK, i
    kw = toks[i + 1]
    if kw == "result" and toks[i + 2] != ")" and toks[i + 3] == ")" and not (
            toks[i + 4] == "(" and toks[i + 5] in ("result", "param")):
        # the common case: one result
        t, j = m.valtype(i + 2)
        return t, j + 1
    if kw == "type":
        idx, _, _, _, _, i = m.typeuse(i)
        return sleb(idx), i
    if kw != "param" and kw != "result":
        return _EMPTY_BLOCK, i
    params, results, _, i = m.functype_body(i, False)
    if not params and len(results) <= 1:
        return (results[0] if results else _EMPTY_BLOCK), i
    return sleb(m.implicit_type(params, results)), i


def _push_label(ctx: FuncContext, i: int) -> int:
    """Bind the optional label identifier at ``i``; return the index after it."""
    m = ctx.m
    name = m.ident(i) if m.toks[i].startswith("$") else None
    ctx.labels.append(name)
    if name is not None:
        ctx.shown_labels[ctx.label_count] = name
        i += 1
    ctx.label_count += 1
    return i


def _end_label(ctx: FuncContext, i: int, name: str | None) -> int:
    """An optional identifier after ``end``/``else``: must repeat the block's label."""
    m = ctx.m
    if m.toks[i].startswith("$"):
        if m.ident(i) != name:
            raise m.error(i, f"mismatching label {m.toks[i]}")
        return i + 1
    return i


def _catches(ctx: FuncContext, i: int) -> tuple[bytes, int]:
    """The ``(catch ...)`` clauses of a ``try_table`` (labels resolved outside the block)."""
    m = ctx.m
    toks = m.toks
    out = []
    while toks[i] == "(" and toks[i + 1] in _CATCH_KINDS:
        flag = _CATCH_KINDS[toks[i + 1]]
        i += 2
        clause = bytes([flag])
        if flag < 2:
            tag, i = m.index(i, m.tags)
            clause += uleb(tag)
        depth, i = _label(ctx, i)
        out.append(clause + uleb(depth))
        i = m.expect(i, ")")
    return uleb(len(out)) + b"".join(out), i


def _select(ctx: FuncContext, i: int) -> tuple[bytes, int]:
    m = ctx.m
    toks = m.toks
    types: list[bytes] = []
    typed = False
    while toks[i] == "(" and toks[i + 1] == "result":
        typed = True
        ts, i = m.valtypes(i + 2)
        types += ts
        i += 1
    if typed:
        return b"\x1c" + uleb(len(types)) + b"".join(types), i
    return b"\x1b", i


def immediates(ctx: FuncContext, name: str, kind: int, i: int) -> tuple[bytes, int]:
    """The immediates of a non-block instruction starting at token ``i``."""
    m = ctx.m
    toks = m.toks
    if kind == I.LOCAL:
        n, i = _local(ctx, i)
        return uleb(n), i
    if kind == I.I32 or kind == I.I64:
        try:
            v = parse_int(toks[i], 32 if kind == I.I32 else 64)
        except ValueError as e:
            if toks[i] in ("", ")", "("):
                raise m.unexpected(i, "an integer") from None
            raise m.error(i, str(e)) from None
        return sleb(v), i + 1
    if kind == I.GLOBAL:
        n, i = m.index(i, m.globals)
        return uleb(n), i
    if kind == I.MEMARG:
        return _memarg(m, i, name, False)
    if kind == I.FUNC:
        n, i = m.index(i, m.funcs)
        return uleb(n), i
    if kind == I.LABEL:
        n, i = _label(ctx, i)
        return uleb(n), i
    if kind == I.F32 or kind == I.F64:
        try:
            if kind == I.F32:
                return _pack_f32(parse_float(toks[i], 32)), i + 1
            return _pack_f64(parse_float(toks[i], 64)), i + 1
        except ValueError as e:
            if toks[i] in ("", ")", "("):
                raise m.unexpected(i, "a float") from None
            raise m.error(i, str(e)) from None
    if kind == I.BR_TABLE:
        depths = []
        while True:
            tok = toks[i]
            if not (tok.startswith("$") or tok[:1].isdigit()):
                break
            n, i = _label(ctx, i)
            depths.append(uleb(n))
        if not depths:
            raise m.unexpected(i, "a label")
        return uleb(len(depths) - 1) + b"".join(depths), i
    if kind == I.CALL_INDIRECT:
        table, i, _ = _opt_index(m, i, m.tables)
        idx, _, _, _, _, i = m.typeuse(i)
        return uleb(idx) + uleb(table), i
    if kind == I.TYPE:
        n, i = m.index(i, m.types)
        return uleb(n), i
    if kind == I.TABLE or kind == I.MEMORY:
        n, i, _ = _opt_index(m, i, m.tables if kind == I.TABLE else m.memories)
        return uleb(n), i
    if kind == I.SELECT:
        raise AssertionError("select is handled by the caller")
    if kind == I.HEAPTYPE:
        ht, i = m.heaptype(i)
        return ht, i
    if kind == I.V128:
        return _v128(m, i)
    if kind == I.LANE:
        n = parse_nat(toks[i])
        if n is None:
            raise m.unexpected(i, "a lane index")
        if n > 255:
            raise m.error(i, "i8 constant out of range")
        return bytes([n]), i + 1
    if kind == I.MEMARG_LANE:
        return _memarg(m, i, name, True)
    if kind == I.SHUFFLE:
        lanes = bytearray()
        start = i
        while parse_nat(toks[i]) is not None:
            n = parse_nat(toks[i])
            if n > 255:  # type: ignore[operator]
                raise m.error(i, "i8 constant out of range")
            lanes.append(n)  # type: ignore[arg-type]
            i += 1
        if len(lanes) != 16:
            raise m.error(start, f"invalid lane length: i8x16.shuffle needs 16 lane indices, "
                                 f"found {len(lanes)}")
        return bytes(lanes), i
    if kind == I.STRUCT_FIELD:
        t, i = m.index(i, m.types)
        tok = toks[i]
        if tok.startswith("$"):
            fields = m.field_names.get(t, {})
            fld = fields.get(m.ident(i))  # type: ignore[arg-type]
            if fld is None:
                raise m.error(i, f"unknown field {tok}")
            i += 1
        else:
            fld, i = m.nat(i, "a field index")
        return uleb(t) + uleb(fld), i
    if kind == I.TYPE_TYPE:
        a, i = m.index(i, m.types)
        b, i = m.index(i, m.types)
        return uleb(a) + uleb(b), i
    if kind == I.TYPE_DATA or kind == I.TYPE_ELEM:
        a, i = m.index(i, m.types)
        b, i = m.index(i, m.datas if kind == I.TYPE_DATA else m.elems)
        if kind == I.TYPE_DATA and ctx.func_index is not None:
            # as wasm-tools: constant expressions do not ask for a data count section
            m.uses_data_count = True
        return uleb(a) + uleb(b), i
    if kind == I.TYPE_U32:
        a, i = m.index(i, m.types)
        n, i = m.nat(i, "an array length")
        return uleb(a) + uleb(n), i
    if kind == I.TAG:
        n, i = m.index(i, m.tags)
        return uleb(n), i
    if kind == I.TABLE_COPY:
        if m.is_index(i):
            a, i = m.index(i, m.tables)
            b, i = m.index(i, m.tables)
            return uleb(a) + uleb(b), i
        return b"\x00\x00", i
    if kind == I.MEMORY_COPY:
        if m.is_index(i):
            a, i = m.index(i, m.memories)
            b, i = m.index(i, m.memories)
            return uleb(a) + uleb(b), i
        return b"\x00\x00", i
    if kind == I.TABLE_INIT:
        return _space_then_segment(m, i, m.tables, m.elems)
    if kind == I.MEMORY_INIT:
        if ctx.func_index is not None:
            m.uses_data_count = True
        return _space_then_segment(m, i, m.memories, m.datas)
    if kind == I.DATA:
        if ctx.func_index is not None:
            m.uses_data_count = True
        n, i = m.index(i, m.datas)
        return uleb(n), i
    if kind == I.ELEM:
        n, i = m.index(i, m.elems)
        return uleb(n), i
    if kind == I.BR_ON_CAST:
        depth, i = _label(ctx, i)
        null1, ht1, i = m.reftype(i)
        null2, ht2, i = m.reftype(i)
        return bytes([null1 | (null2 << 1)]) + uleb(depth) + ht1 + ht2, i
    raise AssertionError(f"unhandled immediate kind {kind} of {name}")


def _ref_test(ctx: FuncContext, code: bytes, i: int) -> tuple[bytes, int]:
    """ref.test / ref.cast: the nullable form is the next sub-opcode."""
    nullable, ht, i = ctx.m.reftype(i)
    if nullable:
        code = code[:-1] + bytes([code[-1] + 1])
    return code + ht, i


# What an open construct on the parser's stack is. The first two take only folded operands
# ``( ... )`` before their ``)``; the others hold instruction sequences.
_OPERANDS = 0  # [_OPERANDS, bytes emitted at ')']: a folded plain instruction
_CONDITION = 1  # [_CONDITION, name, label token, opcode + block type, outer labels]: (if ...
_PLAIN = 2  # [_PLAIN, name, kind, label, outer labels, else seen]: block ... end
_FOLDED = 3  # [_FOLDED, name, outer labels]: (block ...), (loop ...), (try_table ...)
_THEN = 4  # [_THEN, name, outer labels]: (then ...) of a folded if
_ELSE = 5  # [_ELSE, name, outer labels]: (else ...) of a folded if


def parse_instrs(ctx: FuncContext, i: int, out: bytearray, stop: str) -> int:
    """Parse instructions from token ``i`` into ``out`` until a token that cannot start one
    (``)``, ``end``, ``else``, ``stop``, the end of input); return its index."""
    return _parse(ctx, i, out, stop, False)


def parse_folded(ctx: FuncContext, i: int, out: bytearray) -> int:
    """One folded instruction ``( ... )`` at token ``i``: operands first, then the
    instruction. Returns the index after its ``)``."""
    return _parse(ctx, i, out, "", True)


def _parse(ctx: FuncContext, i: int, out: bytearray, stop: str, single: bool) -> int:
    """The parser's hot loop. Nesting lives on ``stack`` (innermost last), not in Python
    frames, so a deep program cannot exhaust the interpreter's recursion limit. ``single``:
    stop after the one folded instruction at ``i``."""
    m = ctx.m
    toks = m.toks
    table = _INSTRUCTIONS
    none = I.NONE
    local = I.LOCAL
    i32 = I.I32
    local_tokens = ctx.local_tokens
    small = _SMALL
    stack: list[list] = []
    operands = False  # the innermost construct takes only folded operands
    while True:
        tok = toks[i]
        if tok == "(":
            if operands and toks[i + 1] == "then" and stack[-1][0] == _CONDITION:
                frame = stack[-1]
                _push_label(ctx, frame[2])
                out += frame[3]
                stack[-1] = [_THEN, frame[1], frame[4]]
                operands = False
                i += 2
                continue
            if len(stack) >= MAX_NESTING:
                raise m.error(i, f"instructions nested more than {MAX_NESTING} deep")
            frame, i = _open_folded(ctx, i, out)
            stack.append(frame)
            operands = frame[0] <= _CONDITION
            continue
        if operands:
            frame = stack[-1]
            if frame[0] == _CONDITION:
                raise m.unexpected(i, "(then ...)")
            if tok != ")":
                raise m.unexpected(i, "')' or a folded operand")
            out += frame[1]
            i += 1
            stack.pop()
            if not stack:
                if single:
                    return i
                operands = False
            else:
                operands = stack[-1][0] <= _CONDITION
            continue
        info = table.get(tok)
        if info is None:
            if not stack:
                if tok == ")" or tok == "" or tok == stop:
                    return i
                raise m.error(i, f"unknown operator {tok!r}")
            frame = stack[-1]
            if tok != ")" and tok != "":
                raise m.error(i, f"unknown operator {tok!r}")
            tag = frame[0]
            if tag == _PLAIN:
                raise m.unexpected(i, f"'end' closing the {frame[1]}")
            if tok == "":
                raise m.unexpected(i, f"')' closing the {frame[1]}")
            i += 1
            if tag == _THEN and toks[i] == "(" and toks[i + 1] == "else":
                out.append(0x05)
                stack[-1] = [_ELSE, frame[1], frame[2]]
                i += 2
                continue
            if tag != _FOLDED:  # then or else: the if's own ')' follows
                if toks[i] != ")":
                    raise m.unexpected(i, f"')' closing the {frame[1]}")
                i += 1
            out.append(0x0B)
            del ctx.labels[frame[2]:]
            stack.pop()
            if not stack:
                if single:
                    return i
                operands = False
            else:
                operands = stack[-1][0] <= _CONDITION
            continue
        code, kind = info
        if kind == none:
            out += code
            i += 1
        elif kind == local:
            n = local_tokens.get(toks[i + 1])
            if n is None:
                n, _ = _local(ctx, i + 1)
            out += code
            out += small[n] if n < 128 else uleb(n)
            i += 2
        elif kind == i32 and toks[i + 1].isdigit() and len(toks[i + 1]) < 10:
            # common case: a small decimal constant (below 10**9 < 2**31)
            out += code
            out += sleb(int(toks[i + 1]))
            i += 2
        elif kind in _BLOCK_KINDS:
            if len(stack) >= MAX_NESTING:
                raise m.error(i, f"blocks nested more than {MAX_NESTING} deep")
            frame, i = _open_plain(ctx, tok, code, kind, i + 1, out)
            stack.append(frame)
        elif kind == I.ELSE or kind == I.END:
            if not stack:
                return i
            frame = stack[-1]
            if frame[0] != _PLAIN:
                raise m.unexpected(i, f"')' closing the {frame[1]}")
            if kind == I.ELSE:
                if frame[2] != I.IF or frame[5]:
                    raise m.unexpected(i, f"'end' closing the {frame[1]}")
                frame[5] = True
                i = _end_label(ctx, i + 1, frame[3])
                out.append(0x05)
                continue
            i = _end_label(ctx, i + 1, frame[3])
            out.append(0x0B)
            del ctx.labels[frame[4]:]
            stack.pop()  # a plain block sits only in a sequence: operands stays False
        elif kind == I.SELECT:
            sel, i = _select(ctx, i + 1)
            out += sel
        elif kind == I.REF_TEST:
            imm, i = _ref_test(ctx, code, i + 1)
            out += imm
        else:
            imm, i = immediates(ctx, tok, kind, i + 1)
            out += code
            out += imm


def _open_plain(ctx: FuncContext, name: str, code: bytes, kind: int, i: int,
                out: bytearray) -> tuple[list, int]:
    """The head of ``block``/``loop``/``if``/``try_table`` in the plain syntax (label, block
    type, catches): write it and return the open construct."""
    m = ctx.m
    outer_labels = len(ctx.labels)
    label_tok = i
    label_name = m.ident(i) if m.toks[i].startswith("$") else None
    j = i + 1 if label_name is not None else i
    bt, j = blocktype(ctx, j)
    catches = b""
    if kind == I.TRY_TABLE:
        catches, j = _catches(ctx, j)
    _push_label(ctx, label_tok)
    out += code
    out += bt
    out += catches
    return [_PLAIN, name, kind, label_name, outer_labels, False], j


def _open_folded(ctx: FuncContext, i: int, out: bytearray) -> tuple[list, int]:
    """The head of the folded instruction at token ``i`` (its ``(``): write what comes
    before its operands or body and return the open construct."""
    m = ctx.m
    toks = m.toks
    tok = toks[i + 1]
    info = _INSTRUCTIONS.get(tok)
    if info is None:
        if tok in ("", ")", "("):
            raise m.unexpected(i + 1, "an instruction")
        raise m.error(i + 1, f"unknown operator {tok!r}")
    code, kind = info
    i += 2
    if kind == I.NONE:
        return [_OPERANDS, code], i
    if kind == I.BLOCK or kind == I.IF or kind == I.TRY_TABLE:
        outer_labels = len(ctx.labels)
        label_tok = i
        if toks[i].startswith("$"):
            m.ident(i)
            i += 1
        bt, i = blocktype(ctx, i)
        if kind == I.IF:
            # the conditions (folded operands before (then ...)) are outside the if's label
            return [_CONDITION, tok, label_tok, code + bt, outer_labels], i
        catches = b""
        if kind == I.TRY_TABLE:
            catches, i = _catches(ctx, i)
        _push_label(ctx, label_tok)
        out += code
        out += bt
        out += catches
        return [_FOLDED, tok, outer_labels], i
    if kind == I.ELSE or kind == I.END:
        raise m.error(i - 1, f"unexpected {tok!r} in a folded instruction")
    if kind == I.SELECT:
        imm, i = _select(ctx, i)
        return [_OPERANDS, imm], i
    if kind == I.REF_TEST:
        imm, i = _ref_test(ctx, code, i)
        return [_OPERANDS, imm], i
    imm, i = immediates(ctx, tok, kind, i)
    return [_OPERANDS, code + imm], i


def _space_then_segment(m, i: int, spaces, segments):
    """``table.init``/``memory.init`` immediates: an optional table or memory index (present when
    two indices follow), then a segment index; encoded segment first, then the space (0 if
    omitted)."""
    if m.is_index(i + 1):
        a, i = m.index(i, spaces)
        b, i = m.index(i, segments)
        return uleb(b) + uleb(a), i
    b, i = m.index(i, segments)
    return uleb(b) + b"\x00", i
