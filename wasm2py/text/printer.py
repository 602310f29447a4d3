"""Printing a module in the text format (``wasm2wat``): what wasm2py's decoder reads (the Wasm
2.0 feature set), one field per line and one plain instruction per line, in the layout of
``wasm-tools print``.

Function and local names of the ``name`` section become identifiers, used where the function
or local is referred to (quoted, ``$"..."``, when they are not plain identifier characters; left
out when two items share a name); other custom sections become ``@custom`` annotations. Floats print as exact hexadecimal literals (NaN
payloads included), so ``wat2wasm(wasm2wat(b))`` decodes to the same module as ``b``.
"""

from __future__ import annotations

import re
import struct

from ..binary.module import ExternKind, Instr, Module, SegmentMode
from ..binary.opcodes import IMM, Imm, Op, opcode_name
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

_PLAIN_ID = re.compile(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+\Z")
_KIND_NAMES = {ExternKind.FUNC: "func", ExternKind.TABLE: "table",
               ExternKind.MEMORY: "memory", ExternKind.GLOBAL: "global"}  # fmt: skip
_BLOCK_OPS = frozenset({Op.BLOCK, Op.LOOP, Op.IF})


def wasm2wat(data: bytes) -> str:
    """The text format of a binary module.

    Raises:
        DecodeError: the binary is malformed (or uses features wasm2py's decoder does not read).
    """
    from ..binary.decoder import decode_module

    return print_module(decode_module(data))


def string(data: bytes) -> str:
    """A string literal for ``data``: printable ASCII as is, everything else ``\\hh``."""
    out = []
    for b in data:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:02x}")
    return '"' + "".join(out) + '"'


def _id(name: str | None) -> str:
    if name is None:
        return ""
    if _PLAIN_ID.match(name):
        return f" ${name}"
    return " $" + string(name.encode("utf-8"))


def _unique(names: dict[int, str]) -> dict[int, str]:
    """Names given to one item only (identifiers must be unique in their index space)."""
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    return {k: v for k, v in names.items() if seen[v] == 1 and v}


def float_literal(bits: int, width: int) -> str:
    """An exact literal for the float with these bits (``nan:0x...`` keeps the payload)."""
    mant_bits = 23 if width == 32 else 52
    sign = "-" if bits >> (width - 1) else ""
    exp_all = ((1 << (width - 1)) - 1) >> mant_bits
    exponent = (bits >> mant_bits) & exp_all
    mantissa = bits & ((1 << mant_bits) - 1)
    if exponent == exp_all:
        if mantissa == 0:
            return f"{sign}inf"
        return f"{sign}nan:{mantissa:#x}"
    if width == 32:
        value = struct.unpack("<f", struct.pack("<I", bits))[0]
    else:
        value = struct.unpack("<d", struct.pack("<Q", bits))[0]
    text = abs(value).hex()
    return sign + text


def _limits(limits: Limits) -> str:
    return f"{limits.min}" if limits.max is None else f"{limits.min} {limits.max}"


def _functype(t: FuncType) -> str:
    out = ""
    if t.params:
        out += " (param " + " ".join(map(str, t.params)) + ")"
    if t.results:
        out += " (result " + " ".join(map(str, t.results)) + ")"
    return out


def _extern_desc(kind: ExternKind, t, index: int, name: str = "") -> str:
    head = f"({_KIND_NAMES[kind]}{name} (;{index};)"
    if kind == ExternKind.FUNC:
        return f"{head} (type {t}))"
    if isinstance(t, TableType):
        return f"{head} {_limits(t.limits)} {t.elem})"
    if isinstance(t, MemoryType):
        return f"{head} {_limits(t.limits)})"
    assert isinstance(t, GlobalType)
    return f"{head} {_globaltype(t)})"


def _globaltype(t: GlobalType) -> str:
    return f"(mut {t.valtype})" if t.mutable else str(t.valtype)


def instruction(instr: Instr, func_names: dict[int, str], local_names: dict[int, str]) -> str:
    """One instruction in the plain syntax."""
    op, imm = instr.op, instr.imm
    name = opcode_name(op)
    if op == Op.SELECT_T:
        return "select (result " + " ".join(map(str, imm)) + ")"  # type: ignore[call-overload]
    kind = IMM.get(op) if op < 0xFD000 else _simd_kind(op)
    if kind is Imm.NONE or kind is Imm.MEMORY or imm is None:
        return name
    if kind is Imm.BLOCK:
        if isinstance(imm, ValType):
            return f"{name} (result {imm})"
        return f"{name} (type {imm})"
    if kind is Imm.FUNC:
        return f"{name}{_id(func_names[imm])}" if imm in func_names else f"{name} {imm}"
    if kind is Imm.LOCAL:
        return f"{name}{_id(local_names[imm])}" if imm in local_names else f"{name} {imm}"
    if kind in (Imm.LABEL, Imm.GLOBAL, Imm.TABLE, Imm.DATA, Imm.ELEM, Imm.LANE, Imm.I32,
                Imm.I64):
        return f"{name} {imm}"
    if kind is Imm.F32:
        return f"{name} {float_literal(imm, 32)}"  # type: ignore[arg-type]
    if kind is Imm.F64:
        return f"{name} {float_literal(imm, 64)}"  # type: ignore[arg-type]
    if kind is Imm.BR_TABLE:
        labels, default = imm  # type: ignore[misc]
        return " ".join([name, *map(str, labels), str(default)])
    if kind is Imm.CALL_INDIRECT:
        type_index, table = imm  # type: ignore[misc]
        return f"{name} {table} (type {type_index})"
    if kind is Imm.REFTYPE:
        return f"{name} {'func' if imm is ValType.FUNCREF else 'extern'}"
    if kind is Imm.MEMORY_INIT or kind is Imm.TABLE_INIT:
        segment, target = imm  # type: ignore[misc]
        return f"{name} {target} {segment}"
    if kind is Imm.MEMORY_COPY or kind is Imm.TABLE_COPY:
        return f"{name} {imm[0]} {imm[1]}"  # type: ignore[index]
    if kind is Imm.MEMARG or kind is Imm.MEMARG_LANE:
        align, offset = imm[0], imm[1]  # type: ignore[index]
        text = f"{name} offset={offset} align={1 << align}"
        return text + (f" {imm[2]}" if kind is Imm.MEMARG_LANE else "")  # type: ignore[index]
    if kind is Imm.V128:
        lanes = struct.unpack("<4I", imm)  # type: ignore[arg-type]
        return f"{name} i32x4 " + " ".join(f"{v:#010x}" for v in lanes)
    if kind is Imm.SHUFFLE:
        return name + " " + " ".join(str(b) for b in imm)  # type: ignore[union-attr]
    raise AssertionError(f"unhandled immediate of {name}")  # pragma: no cover


def _simd_kind(op: int) -> Imm:
    from ..binary.opcodes import SIMD_IMM

    return SIMD_IMM[op]


def _expr(instrs, func_names: dict[int, str]) -> str:
    """A constant expression on one line (its final ``end`` left out)."""
    return " ".join(instruction(i, func_names, {}) for i in instrs if i.op != Op.END)


def print_module(m: Module) -> str:
    """The text format of a decoded module."""
    func_names = _unique(m.names.functions)
    lines = ["(module" + _id(m.names.module)]
    for k, t in enumerate(m.types):
        lines.append(f"  (type (;{k};) (func{_functype(t)}))")
    counters = dict.fromkeys(ExternKind, 0)
    for imp in m.imports:
        index = counters[imp.kind]
        counters[imp.kind] += 1
        name = _id(func_names.get(index)) if imp.kind == ExternKind.FUNC else ""
        lines.append(f"  (import {string(imp.module.encode())} {string(imp.name.encode())} "
                     f"{_extern_desc(imp.kind, imp.type, index, name)})")
    for k, t in enumerate(m.tables, start=counters[ExternKind.TABLE]):
        lines.append(f"  (table (;{k};) {_limits(t.limits)} {t.elem})")
    for k, t in enumerate(m.memories, start=counters[ExternKind.MEMORY]):
        lines.append(f"  (memory (;{k};) {_limits(t.limits)})")
    for k, g in enumerate(m.globals, start=counters[ExternKind.GLOBAL]):
        lines.append(f"  (global (;{k};) {_globaltype(g.type)} {_expr(g.init, func_names)})")
    for e in m.exports:
        lines.append(f"  (export {string(e.name.encode())} ({_KIND_NAMES[e.kind]} {e.index}))")
    if m.start is not None:
        lines.append(f"  (start {m.start})")
    for k, seg in enumerate(m.elems):
        items = " ".join(f"(item {_expr(item, func_names)})" for item in seg.items)
        if seg.mode is SegmentMode.ACTIVE:
            head = f"(table {seg.table}) (offset {_expr(seg.offset, func_names)})"
        elif seg.mode is SegmentMode.DECLARATIVE:
            head = "declare"
        else:
            head = ""
        lines.append(f"  (elem (;{k};) {head} {seg.type} {items})".replace("  )", ")"))
    first_defined = counters[ExternKind.FUNC]
    for k, code in enumerate(m.codes):
        index = first_defined + k
        lines += _func(m, index, m.funcs[k], code, func_names)
    for k, d in enumerate(m.datas):
        if d.mode is SegmentMode.ACTIVE:
            head = f" (memory {d.memory}) (offset {_expr(d.offset, func_names)})"
        else:
            head = ""
        lines.append(f"  (data (;{k};){head} {string(d.data)})")
    for name, payload in m.customs:
        if name != "name":
            lines.append(f"  (@custom {string(name.encode())} {string(payload)})")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _func(m: Module, index: int, type_index: int, code, func_names: dict[int, str]
          ) -> list[str]:
    t = m.types[type_index] if type_index < len(m.types) else None
    local_names = _unique(m.names.locals.get(index, {}))
    head = f"  (func{_id(func_names.get(index))} (;{index};) (type {type_index})"
    if t is not None:
        for k, p in enumerate(t.params):
            head += f" (param{_id(local_names.get(k))} {p})"
        if t.results:
            head += " (result " + " ".join(map(str, t.results)) + ")"
    lines = [head]
    base = len(t.params) if t is not None else 0
    for k, v in enumerate(code.locals, start=base):
        lines.append(f"    (local{_id(local_names.get(k))} {v})")
    depth = 0
    body = code.body[:-1]  # the function's final end is the closing parenthesis
    for instr in body:
        if instr.op in (Op.END, Op.ELSE):
            depth -= 1
        lines.append("    " + "  " * depth + instruction(instr, func_names, local_names))
        if instr.op in _BLOCK_OPS or instr.op == Op.ELSE:
            depth += 1
    lines.append("  )")
    return lines
