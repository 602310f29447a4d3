"""Types in the text format: value, reference, heap, storage and field types, limits, table
and memory types, function signatures and type uses (with the implicit function types their
abbreviations define)."""

from __future__ import annotations

from .cursor import Cursor, Space
from .encode import sleb, uleb, vec
from .lexer import Tokens
from .literals import parse_nat

# value types: keyword -> encoding
NUM_TYPES = {"i32": b"\x7f", "i64": b"\x7e", "f32": b"\x7d", "f64": b"\x7c", "v128": b"\x7b"}
PACKED_TYPES = {"i8": b"\x78", "i16": b"\x77"}
# abstract heap types: keyword -> encoding byte
HEAP_TYPES = {
    "func": 0x70, "extern": 0x6F, "any": 0x6E, "eq": 0x6D, "i31": 0x6C, "struct": 0x6B,
    "array": 0x6A, "exn": 0x69, "noexn": 0x74, "none": 0x71, "nofunc": 0x73, "noextern": 0x72,
}  # fmt: skip
# reference type abbreviations: keyword -> heap type (always nullable)
REF_ABBREVIATIONS = {
    "funcref": "func", "externref": "extern", "anyref": "any", "eqref": "eq", "i31ref": "i31",
    "structref": "struct", "arrayref": "array", "exnref": "exn", "nullexnref": "noexn",
    "nullref": "none", "nullfuncref": "nofunc", "nullexternref": "noextern",
}  # fmt: skip
VALTYPE_TOKENS: dict[str, bytes] = dict(NUM_TYPES)
VALTYPE_TOKENS.update({k: bytes([HEAP_TYPES[v]]) for k, v in REF_ABBREVIATIONS.items()})



class TypeParser(Cursor):
    """The type grammar, with the module's type index space and function signatures."""

    def __init__(self, tokens: Tokens, version: int = 3):
        super().__init__(tokens, version)
        self.types = Space("type")
        #: type index -> (param types, result types) of every function type
        self.func_sigs: dict[int, tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {}
        #: (params, results) -> index of the first plain function type with that signature
        self.implicit_types: dict[tuple[tuple[bytes, ...], tuple[bytes, ...]], int] = {}
        self.type_entries: list[bytes] = []  # encoded recursion groups / types, in order

    def heaptype(self, i: int) -> tuple[bytes, int]:
        tok = self.toks[i]
        code = HEAP_TYPES.get(tok)
        if code is not None:
            return bytes([code]), i + 1
        if self.is_index(i):
            n, i = self.index(i, self.types)
            return sleb(n), i
        raise self.unexpected(i, "a heap type")

    def reftype(self, i: int) -> tuple[bool, bytes, int]:
        """A reference type: (nullable, heap type encoding, next index)."""
        toks = self.toks
        tok = toks[i]
        abbrev = REF_ABBREVIATIONS.get(tok)
        if abbrev is not None:
            return True, bytes([HEAP_TYPES[abbrev]]), i + 1
        if tok == "(" and toks[i + 1] == "ref":
            i += 2
            nullable = toks[i] == "null"
            if nullable:
                i += 1
            ht, i = self.heaptype(i)
            return nullable, ht, self.expect(i, ")")
        raise self.unexpected(i, "a reference type")

    @staticmethod
    def encode_reftype(nullable: bool, ht: bytes) -> bytes:
        if nullable:
            return ht if len(ht) == 1 and ht[0] >= 0x69 else b"\x63" + ht
        return b"\x64" + ht

    def valtype(self, i: int) -> tuple[bytes, int]:
        t = VALTYPE_TOKENS.get(self.toks[i])
        if t is not None:
            return t, i + 1
        if self.toks[i] == "(" and self.toks[i + 1] == "ref":
            nullable, ht, i = self.reftype(i)
            return self.encode_reftype(nullable, ht), i
        raise self.unexpected(i, "a value type")

    def valtypes(self, i: int, end_tok: str = ")") -> tuple[list[bytes], int]:
        out = []
        toks = self.toks
        while toks[i] != end_tok:
            t, i = self.valtype(i)
            out.append(t)
        return out, i

    def storagetype(self, i: int) -> tuple[bytes, int]:
        t = PACKED_TYPES.get(self.toks[i])
        if t is not None:
            return t, i + 1
        return self.valtype(i)

    def fieldtype(self, i: int) -> tuple[bytes, int]:
        toks = self.toks
        if toks[i] == "(" and toks[i + 1] == "mut":
            t, i = self.storagetype(i + 2)
            return t + b"\x01", self.expect(i, ")")
        t, i = self.storagetype(i)
        return t + b"\x00", i

    def globaltype(self, i: int) -> tuple[bytes, int]:
        toks = self.toks
        if toks[i] == "(" and toks[i + 1] == "mut":
            t, i = self.valtype(i + 2)
            return t + b"\x01", self.expect(i, ")")
        t, i = self.valtype(i)
        return t + b"\x00", i

    def limits(self, i: int, is64: bool) -> tuple[bytes, int, int]:
        """``min max?``: (flags & encoded bounds, the minimum, next index)."""
        bits = 64 if is64 or self.version >= 3 else 32
        lo, i = self.nat(i, "the limits' minimum", bits)
        flags = 0x04 if is64 else 0
        if parse_nat(self.toks[i]) is not None:
            hi, i = self.nat(i, "the limits' maximum", bits)
            return bytes([flags | 1]) + uleb(lo) + uleb(hi), lo, i
        return bytes([flags]) + uleb(lo), lo, i

    def address_type(self, i: int) -> tuple[bool, int]:
        tok = self.toks[i]
        if tok == "i64":
            return True, i + 1
        if tok == "i32":
            return False, i + 1
        return False, i

    def tabletype(self, i: int) -> tuple[bytes, int]:
        is64, i = self.address_type(i)
        lim, _, i = self.limits(i, is64)
        nullable, ht, i = self.reftype(i)
        return self.encode_reftype(nullable, ht) + lim, i

    def memtype(self, i: int) -> tuple[bytes, int]:
        is64, i = self.address_type(i)
        lim, _, i = self.limits(i, is64)
        return lim, i

    def functype_body(self, i: int, allow_names: bool):
        """``(param ...)* (result ...)*``: (params, results, (identifier, name shown) or None
        per parameter, next index)."""
        toks = self.toks
        params: list[bytes] = []
        names: list[tuple[str, str] | None] = []  # (identifier, name shown) of each parameter
        results: list[bytes] = []
        while toks[i] == "(" and toks[i + 1] == "param":
            i += 2
            if toks[i].startswith("$"):
                if not allow_names:
                    raise self.error(i, "unexpected token: identifiers are not allowed here")
                ident = self.ident(i)
                shown = self.annotation_name(i + 1) or ident
                t, i = self.valtype(i + 1)
                params.append(t)
                names.append((ident, shown))
                if toks[i] != ")":
                    raise self.unexpected(i, "')' after a named parameter")
            else:
                ts, i = self.valtypes(i)
                params += ts
                names += [None] * len(ts)
            i = self.expect(i, ")")
        while toks[i] == "(" and toks[i + 1] == "result":
            i += 2
            if toks[i].startswith("$"):
                raise self.error(i, "unexpected token: results have no identifiers")
            ts, i = self.valtypes(i)
            results += ts
            i += 1
        if toks[i] == "(" and toks[i + 1] == "param":
            raise self.error(i, "unexpected token: (param) after (result)")
        return params, results, names, i

    def typeuse(self, i: int, allow_names: bool = False):
        """``(type x)? (param ...)* (result ...)*`` -> (type index, params, results, param
        identifiers, explicit, next index). Without ``(type x)`` the first matching function
        type is used or a new one appended."""
        toks = self.toks
        explicit = toks[i] == "(" and toks[i + 1] == "type"
        if explicit:
            start = i
            idx, i = self.index(i + 2, self.types)
            i = self.expect(i, ")")
        params, results, names, i = self.functype_body(i, allow_names)
        if explicit:
            if params or results:
                sig = self.func_sigs.get(idx)
                if sig is None or sig != (tuple(params), tuple(results)):
                    raise self.error(start, "inline function type does not match explicit type")
            return idx, params, results, names, True, i
        return self.implicit_type(params, results), params, results, names, False, i

    def implicit_type(self, params, results) -> int:
        key = (tuple(params), tuple(results))
        idx = self.implicit_types.get(key)
        if idx is None:
            idx = self.types.count
            self.types.count += 1
            self.type_entries.append(b"\x60" + vec(list(params)) + vec(list(results)))
            self.implicit_types[key] = idx
            self.func_sigs[idx] = key
        return idx

    def type_params(self, idx: int) -> tuple[bytes, ...] | None:
        sig = self.func_sigs.get(idx)
        return None if sig is None else sig[0]
