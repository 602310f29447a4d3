"""Module fields that hold constant expressions and segments: tables (with their inline
``elem`` abbreviation), memories (inline ``data``), element and data segments, encoded as
``wasm-tools`` (``wasm-encoder``) encodes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import body
from .cursor import Space
from .encode import uleb, vec
from .types import REF_ABBREVIATIONS

if TYPE_CHECKING:
    from .parser import Field


class Segments:
    """Mixin of :class:`~.parser.ModuleParser`: constant expressions, tables, memories,
    element and data segments."""

    toks: list[str]
    out: dict[str, list[bytes]]
    funcs: Space
    tables: Space
    memories: Space

    def const_expr(self, i: int, stop: str) -> tuple[bytes, int]:
        """Instructions up to ``stop`` (not consumed), as a constant expression (with ``end``)."""
        ctx = body.FuncContext(self, None)
        code = bytearray()
        i = body.parse_instrs(ctx, i, code, stop)
        code.append(0x0B)
        return bytes(code), i

    def offset_expr(self, i: int) -> tuple[bytes, int]:
        """``(offset instr*)`` or one folded instruction."""
        toks = self.toks
        if toks[i] != "(":
            raise self.unexpected(i, "an offset expression")
        if toks[i + 1] == "offset":
            code, i = self.const_expr(i + 2, ")")
            return code, i + 1
        ctx = body.FuncContext(self, None)
        out = bytearray()
        i = body.parse_folded(ctx, i, out)
        out.append(0x0B)
        return bytes(out), i

    def encode_table(self, f: Field) -> None:
        toks = self.toks
        i = f.body
        is64, j = self.address_type(i)
        self.name_entry("table", f)
        if toks[j] in REF_ABBREVIATIONS or (toks[j] == "(" and toks[j + 1] == "ref"):
            # abbreviation: reftype (elem ...)
            nullable, ht, j = self.reftype(j)
            rt = self.encode_reftype(nullable, ht)
            if not (toks[j] == "(" and toks[j + 1] == "elem"):
                raise self.unexpected(j, "(elem ...)")
            j += 2
            if toks[j] == "(":
                items, j = self.elem_exprs(j)
                n = len(items)
                payload = ("exprs", rt, items)
            else:
                idxs = []
                while toks[j] != ")":
                    k, j = self.index(j, self.funcs)
                    idxs.append(k)
                n = len(idxs)
                if rt == b"\x70":
                    payload = ("funcs", rt, idxs)
                else:  # only funcref tables take a plain index list in the binary format
                    payload = ("exprs", rt, [b"\xd2" + uleb(k) + b"\x0b" for k in idxs])
            j = self.expect(j, ")")
            self.expect(j, ")")
            limits = bytes([0x05 if is64 else 0x01]) + uleb(n) + uleb(n)
            self.out["tables"].append(rt + limits)
            offset = (b"\x42\x00\x0b" if is64 else b"\x41\x00\x0b")
            self.out["elems"].append(self._elem_segment(("active", f.index, offset), payload))
            return
        t, i = self.tabletype(i)
        if toks[i] != ")":
            init, i = self.const_expr(i, ")")
            self.out["tables"].append(b"\x40\x00" + t + init)
        else:
            self.out["tables"].append(t)
        self.expect(i, ")")

    def encode_memory(self, f: Field) -> None:
        toks = self.toks
        i = f.body
        self.name_entry("memory", f)
        is64, j = self.address_type(i)
        if toks[j] == "(" and toks[j + 1] == "data":
            data, j = self.strings(j + 2)
            j = self.expect(j, ")")
            self.expect(j, ")")
            pages = (len(data) + 0xFFFF) >> 16
            flags = 0x05 if is64 else 0x01
            self.out["memories"].append(bytes([flags]) + uleb(pages) + uleb(pages))
            offset = b"\x42\x00\x0b" if is64 else b"\x41\x00\x0b"
            head = b"\x00" if f.index == 0 else b"\x02" + uleb(f.index)
            self.out["datas"].append(head + offset + uleb(len(data)) + data)
            return
        t, i = self.memtype(i)
        self.expect(i, ")")
        self.out["memories"].append(t)

    def elem_exprs(self, i: int) -> tuple[list[bytes], int]:
        """Element expressions: ``(item instr*)`` or single folded instructions."""
        toks = self.toks
        items = []
        while toks[i] == "(":
            if toks[i + 1] == "item":
                code, i = self.const_expr(i + 2, ")")
                i += 1
            else:
                ctx = body.FuncContext(self, None)
                out = bytearray()
                i = body.parse_folded(ctx, i, out)
                out.append(0x0B)
                code = bytes(out)
            items.append(code)
        return items, i

    def encode_elem(self, f: Field) -> None:
        toks = self.toks
        i = f.body
        self.name_entry("elem", f)
        table_given = False
        bare_indices = False  # a list of function indices without "func" is allowed
        if toks[i] == "declare":
            mode = ("declare",)
            i += 1
        elif toks[i] == "(" and toks[i + 1] != "ref":
            table = 0
            if toks[i + 1] == "table":
                table, i = self.index(i + 2, self.tables)
                i = self.expect(i, ")")
                table_given = True
            offset, i = self.offset_expr(i)
            mode = ("active", table if table_given else None, offset)
            bare_indices = not table_given
        elif self.is_index(i) and toks[i + 1] == "(":
            # legacy: (elem 0 (offset ...) ...) with a bare table index
            table, i = self.index(i, self.tables)
            offset, i = self.offset_expr(i)
            mode = ("active", table, offset)
            bare_indices = True
        else:
            mode = ("passive",)
        if toks[i] == "func":
            i += 1
            idxs = []
            while toks[i] != ")":
                k, i = self.index(i, self.funcs)
                idxs.append(k)
            payload = ("funcs", None, idxs)
        elif bare_indices and (toks[i] == ")" or self.is_index(i)):
            idxs = []
            while toks[i] != ")":
                k, i = self.index(i, self.funcs)
                idxs.append(k)
            payload = ("funcs", None, idxs)
        else:
            nullable, ht, i = self.reftype(i)
            rt = self.encode_reftype(nullable, ht)
            items, i = self.elem_exprs(i)
            payload = ("exprs", rt, items)
        self.expect(i, ")")
        self.out["elems"].append(self._elem_segment(mode, payload))

    @staticmethod
    def _elem_segment(mode, payload) -> bytes:
        """Encode an element segment the way ``wasm-encoder`` chooses its flags."""
        kind, rt, items = payload
        exprs = kind == "exprs"
        expr_bit = 4 if exprs else 0
        typed = True
        if mode[0] == "passive":
            head = bytes([1 | expr_bit])
        elif mode[0] == "declare":
            head = bytes([3 | expr_bit])
        else:
            _, table, offset = mode
            if table is None and (not exprs or rt == b"\x70"):
                head = bytes([expr_bit]) + offset
                typed = False
            else:
                head = bytes([2 | expr_bit]) + uleb(table or 0) + offset
        if exprs:
            return head + (rt if typed else b"") + vec(items)
        return head + (b"\x00" if typed else b"") + vec([uleb(k) for k in items])

    def encode_data(self, f: Field) -> None:
        toks = self.toks
        i = f.body
        self.name_entry("data", f)
        if toks[i] == "(":
            memory = 0
            if toks[i + 1] == "memory":
                memory, i = self.index(i + 2, self.memories)
                i = self.expect(i, ")")
            offset, i = self.offset_expr(i)
            data, i = self.strings(i)
            head = (b"\x00" if memory == 0 else b"\x02" + uleb(memory)) + offset
        else:
            data, i = self.strings(i)
            head = b"\x01"
        self.expect(i, ")")
        self.out["datas"].append(head + uleb(len(data)) + data)
