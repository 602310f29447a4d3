"""Parsing a module in the text format and encoding it in the binary format.

:class:`ModuleParser` works in three passes over the module's fields:

1. *scan*: find each field's extent and kind, bind every identifier of every index space
   (types, functions, tables, memories, globals, tags, element and data segments), counting
   imports first, and check that no import follows a definition;
2. *types*: encode the type definitions (recursion groups, subtypes, struct field names);
3. *fields*: encode everything else in source order. Type uses without an explicit type
   (``(func (param i32))``, multi-value block types, ``call_indirect``) reuse the first
   matching function type or append a new one, in the order they occur, as the spec's
   abbreviation rules say.

Instruction sequences are parsed by :mod:`.body`. Every error is a
:class:`~wasm2py.errors.ParseError` naming the line and column of the offending token and what
was expected. The binary has the sections in the standard order (only non-empty ones), a data
count section when a function uses ``memory.init``/``data.drop``/``array.*_data``, and a
``name`` section for the identifiers used, as ``wasm-tools parse`` writes them.
"""

from __future__ import annotations

import re

from ..errors import ParseError
from . import body
from .encode import name as enc_name
from .encode import section, sleb, uleb, vec
from .lexer import Tokens, tokenize
from .literals import decode_name, decode_string, parse_nat

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

_ID_RE = re.compile(r"\$[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+\Z")
_QUOTED_ID_RE = re.compile(r'\$"(?:[^"\\]|\\.)*"\Z', re.S)

# section ids
SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNC, SEC_TABLE, SEC_MEMORY, SEC_GLOBAL = range(7)
SEC_EXPORT, SEC_START, SEC_ELEM, SEC_CODE, SEC_DATA, SEC_DATACOUNT, SEC_TAG = range(7, 14)

# external kinds (import/export descriptors)
KIND_FUNC, KIND_TABLE, KIND_MEMORY, KIND_GLOBAL, KIND_TAG = range(5)
_KIND_OF = {"func": KIND_FUNC, "table": KIND_TABLE, "memory": KIND_MEMORY, "global": KIND_GLOBAL,
            "tag": KIND_TAG}  # fmt: skip
# what each space is called in "unknown ..." / "duplicate ..." messages
SPACE_NAMES = ("function", "table", "memory", "global", "tag")

# anchors of @custom placement -> the section id they stand for
_CUSTOM_ANCHORS = {"type": SEC_TYPE, "import": SEC_IMPORT, "func": SEC_FUNC,
                   "table": SEC_TABLE, "memory": SEC_MEMORY, "global": SEC_GLOBAL,
                   "export": SEC_EXPORT, "start": SEC_START, "elem": SEC_ELEM,
                   "code": SEC_CODE, "data": SEC_DATA, "tag": SEC_TAG}  # fmt: skip
# binary section order (tags between memories and globals; data count before code)
_SECTION_ORDER = (SEC_TYPE, SEC_IMPORT, SEC_FUNC, SEC_TABLE, SEC_MEMORY, SEC_TAG, SEC_GLOBAL,
                  SEC_EXPORT, SEC_START, SEC_ELEM, SEC_DATACOUNT, SEC_CODE, SEC_DATA)


# token -> identifier, for the (valid, unquoted) identifiers seen: saves a regex match per use
_IDENT_CACHE: dict[str, str] = {}


class Space:
    """One index space: the identifiers bound in it and how many entries it has."""

    __slots__ = ("what", "names", "count")

    def __init__(self, what: str):
        self.what = what
        self.names: dict[str, int] = {}
        self.count = 0


class Field:
    """A module field found by the scan: its keyword, token range and identifier."""

    __slots__ = ("kind", "start", "end", "body", "ident", "index", "imported", "import_kind",
                 "exports", "name", "plain", "inner")

    def __init__(self, kind: str, start: int, end: int):
        self.kind = kind
        self.start = start  # index of "("
        self.end = end  # index after ")"
        self.body = start + 2  # first token after the keyword and header
        self.ident: str | None = None
        self.index = -1
        self.imported: tuple[str, str] | None = None
        self.import_kind = kind  # the kind of item an (import ...) field imports
        self.exports: list[tuple[str, int]] = []  # (name, token index)
        self.name: str | None = None  # @name annotation
        self.plain: tuple | None = None  # signature of a plain function type definition
        self.inner: list[Field] = []  # the types of a recursion group


class ModuleParser:
    """Parses the fields of one module (tokens ``start`` up to the closing ``)`` of the module,
    or the end of input for a module without ``(module ...)``) and encodes the binary."""

    def __init__(self, tokens: Tokens, version: int = 3):
        self.tokens = tokens
        self.toks = tokens.toks
        #: 2 or 3: Wasm 2.0 text has 32-bit limits and memory offsets; 3.0 widens them to 64
        #: bits (values too large for a 32-bit memory or table are then validation errors)
        self.version = version
        self.types = Space("type")
        self.funcs = Space("function")
        self.tables = Space("table")
        self.memories = Space("memory")
        self.globals = Space("global")
        self.tags = Space("tag")
        self.elems = Space("elem segment")
        self.datas = Space("data segment")
        self.spaces = (self.funcs, self.tables, self.memories, self.globals, self.tags)
        #: type index -> (param types, result types) of every function type
        self.func_sigs: dict[int, tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {}
        #: (params, results) -> index of the first plain function type with that signature
        self.implicit_types: dict[tuple[tuple[bytes, ...], tuple[bytes, ...]], int] = {}
        #: type index -> field names of a struct type
        self.field_names: dict[int, dict[str, int]] = {}
        self.type_entries: list[bytes] = []  # encoded recursion groups / types, in order
        self.uses_data_count = False
        self.fields: list[Field] = []
        self.module_name: str | None = None
        self.customs: list[tuple[str, int, bytes]] = []  # (placement, section id, bytes)
        # name section content
        self.names: dict[str, dict[int, str]] = {}
        self.local_names: dict[int, dict[int, str]] = {}
        self.label_names: dict[int, dict[int, str]] = {}
        self.struct_field_names: dict[int, dict[int, str]] = {}
        self.type_param_names: dict[int, dict[int, str]] = {}
        self.tag_param_names: dict[int, dict[int, str]] = {}

    # --- token helpers ------------------------------------------------------------------------

    def error(self, i: int, reason: str) -> ParseError:
        """A :class:`ParseError` at token ``i``."""
        return self.tokens.error(i, reason)

    def describe(self, i: int) -> str:
        tok = self.toks[i]
        if tok == "":
            return "end of input"
        if tok == '"':
            return "an unclosed string"
        return repr(tok)

    def unexpected(self, i: int, expected: str) -> ParseError:
        return self.error(i, f"expected {expected}, found {self.describe(i)}")

    def expect(self, i: int, tok: str) -> int:
        if self.toks[i] != tok:
            raise self.unexpected(i, repr(tok))
        return i + 1

    def skip(self, i: int) -> int:
        """The index after the parenthesised group that starts at ``i`` (``toks[i] == "("``)."""
        toks = self.toks
        start = i
        depth = 0
        while True:
            t = toks[i]
            i += 1
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
                if depth == 0:
                    return i
            elif t == "":
                raise self.error(start, "unclosed '(': the input ends before its ')'")

    def ident(self, i: int) -> str | None:
        """The identifier at token ``i`` (without ``$``), or ``None`` if it is not one."""
        tok = self.toks[i]
        if not tok.startswith("$"):
            return None
        name = _IDENT_CACHE.get(tok)
        if name is not None:
            return name
        if _ID_RE.match(tok):
            if len(_IDENT_CACHE) > 100_000:
                _IDENT_CACHE.clear()
            _IDENT_CACHE[tok] = tok[1:]
            return tok[1:]
        if _QUOTED_ID_RE.match(tok):
            try:
                text = decode_name(tok[1:])
            except ValueError as e:
                raise self.error(i, str(e)) from None
            if not text:
                raise self.error(i, "empty identifier")
            return text
        if tok == "$":
            raise self.error(i, "empty identifier")
        raise self.error(i, f"unknown operator {tok!r}")

    def string(self, i: int) -> tuple[bytes, int]:
        tok = self.toks[i]
        if tok == '"':
            raise self.error(i, "unclosed string literal (or a control character in it)")
        if not tok.startswith('"'):
            raise self.unexpected(i, "a string")
        if not body.is_string(tok):
            raise self.error(i, f"unknown operator {tok!r}")
        try:
            return decode_string(tok), i + 1
        except ValueError as e:
            raise self.error(i, str(e)) from None

    def utf8_name(self, i: int) -> tuple[str, int]:
        raw, j = self.string(i)
        try:
            return raw.decode("utf-8"), j
        except UnicodeDecodeError:
            raise self.error(i, "malformed UTF-8 encoding") from None

    def strings(self, i: int) -> tuple[bytes, int]:
        """Zero or more strings, concatenated."""
        parts = []
        while self.toks[i].startswith('"'):
            raw, i = self.string(i)
            parts.append(raw)
        return b"".join(parts), i

    def nat(self, i: int, what: str = "a natural number", bits: int = 32) -> tuple[int, int]:
        tok = self.toks[i]
        n = parse_nat(tok)
        if n is None:
            raise self.unexpected(i, what)
        if n >> bits:
            raise self.error(i, f"i{bits} constant out of range")
        return n, i + 1

    def index(self, i: int, space: Space) -> tuple[int, int]:
        """A numeric or symbolic index into ``space``."""
        tok = self.toks[i]
        if tok.startswith("$"):
            name = self.ident(i)
            n = space.names.get(name)  # type: ignore[arg-type]
            if n is None:
                raise self.error(i, f"unknown {space.what} {tok}")
            return n, i + 1
        n = parse_nat(tok)
        if n is None:
            raise self.unexpected(i, f"a {space.what} index")
        if n >> 32:
            raise self.error(i, "i32 constant out of range")
        return n, i + 1

    def is_index(self, i: int) -> bool:
        tok = self.toks[i]
        return tok.startswith("$") or (tok[:1].isdigit() and parse_nat(tok) is not None)

    def annotation_name(self, i: int) -> str | None:
        """The string of an ``(@name "...")`` annotation just before token ``i``."""
        anns = self.tokens.annotations.get(i)
        if not anns:
            return None
        for ann in anns:
            if ann.name == "name":
                items = ann.tokens
                if len(items) != 2 or not items[0].startswith('"'):
                    raise self.tokens.annotation_error(ann, "malformed @name annotation")
                try:
                    return decode_name(items[0])
                except ValueError as e:
                    raise self.tokens.annotation_error(ann, str(e)) from None
        return None

    # --- types --------------------------------------------------------------------------------

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

    # --- pass 1: scan -------------------------------------------------------------------------

    def scan(self, i: int, closing: str) -> int:
        """Find the fields from token ``i`` up to ``closing`` (``)`` or ``""``), bind their
        identifiers; return the index of ``closing``."""
        toks = self.toks
        fields = self.fields
        anns = self.tokens.annotations
        seen_definition: str | None = None
        while toks[i] == "(":
            kind = toks[i + 1]
            if kind == "(" or kind == ")" or kind == "":
                raise self.unexpected(i + 1, "a module field")
            end = self.skip(i)
            f = Field(kind, i, end)
            if anns and i in anns:
                self._custom(i)
            handler = _SCANNERS.get(kind)
            if handler is None:
                raise self.error(i + 1, f"unknown module field {kind!r}")
            handler(self, f)
            if f.kind in ("func", "table", "memory", "global", "tag"):
                if f.imported is None:
                    seen_definition = seen_definition or f.kind
                elif seen_definition is not None:
                    raise self.error(i, f"import after {seen_definition} definition")
            elif f.kind == "import" and seen_definition is not None:
                raise self.error(i, f"import after {seen_definition} definition")
            fields.append(f)
            i = end
        if anns and i in anns:
            self._custom(i)
        if toks[i] != closing:
            raise self.unexpected(i, "a module field or ')'" if closing == ")" else
                                  "a module field")
        return i

    def bind(self, space: Space, f: Field, i: int) -> int:
        """Assign the next index of ``space`` to field ``f`` whose optional identifier is at
        token ``i``; return the token index after the identifier (and any @name)."""
        name = self.ident(i)
        idx = space.count
        space.count += 1
        if name is not None:
            if name in space.names:
                raise self.error(i, f"duplicate {space.what} ${name}")
            space.names[name] = idx
            i += 1
        f.ident = name
        f.index = idx
        f.name = self.annotation_name(i)
        return i

    def _header(self, f: Field, i: int, space: Space) -> int:
        """identifier, inline exports and an inline import of a func/table/memory/global/tag."""
        i = self.bind(space, f, i)
        toks = self.toks
        while toks[i] == "(" and toks[i + 1] == "export":
            nm, j = self.utf8_name(i + 2)
            f.exports.append((nm, i))
            i = self.expect(j, ")")
        if toks[i] == "(" and toks[i + 1] == "import":
            mod, j = self.utf8_name(i + 2)
            nm, j = self.utf8_name(j)
            f.imported = (mod, nm)
            i = self.expect(j, ")")
            if toks[i] == "(" and toks[i + 1] == "export":
                raise self.error(i, "unexpected token: inline export after inline import")
        f.body = i
        return i

    def _scan_type(self, f: Field) -> None:
        f.body = self.bind(self.types, f, f.start + 2)

    def _scan_rec(self, f: Field) -> None:
        toks = self.toks
        i = f.start + 2
        inner = []
        while toks[i] == "(":
            if toks[i + 1] != "type":
                raise self.unexpected(i + 1, "'type' in a recursion group")
            g = Field("type", i, self.skip(i))
            g.body = self.bind(self.types, g, i + 2)
            inner.append(g)
            i = g.end
        self.expect(i, ")")
        f.inner = inner

    def _scan_import(self, f: Field) -> None:
        toks = self.toks
        mod, i = self.utf8_name(f.start + 2)
        nm, i = self.utf8_name(i)
        if toks[i] != "(":
            raise self.unexpected(i, "an import description")
        kind = toks[i + 1]
        space_kind = _KIND_OF.get(kind)
        if space_kind is None:
            raise self.unexpected(i + 1, "func, table, memory, global or tag")
        f.imported = (mod, nm)
        f.import_kind = kind
        f.body = self.bind(self.spaces[space_kind], f, i + 2)

    def _scan_func(self, f: Field) -> None:
        self._header(f, f.start + 2, self.funcs)

    def _scan_table(self, f: Field) -> None:
        i = self._header(f, f.start + 2, self.tables)
        if f.imported is None:
            # an inline (elem ...) defines an element segment here
            toks = self.toks
            while i < f.end - 1:
                if toks[i] == "(":
                    if toks[i + 1] == "elem":
                        self.elems.count += 1
                        break
                    i = self.skip(i)
                else:
                    i += 1

    def _scan_memory(self, f: Field) -> None:
        i = self._header(f, f.start + 2, self.memories)
        if f.imported is None:
            toks = self.toks
            is64, i = self.address_type(i)
            if toks[i] == "(" and toks[i + 1] == "data":
                self.datas.count += 1

    def _scan_global(self, f: Field) -> None:
        self._header(f, f.start + 2, self.globals)

    def _scan_tag(self, f: Field) -> None:
        self._header(f, f.start + 2, self.tags)

    def _scan_elem(self, f: Field) -> None:
        f.body = self.bind(self.elems, f, f.start + 2)

    def _scan_data(self, f: Field) -> None:
        f.body = self.bind(self.datas, f, f.start + 2)

    def _scan_other(self, f: Field) -> None:
        f.body = f.start + 2

    # --- pass 2: types ------------------------------------------------------------------------

    def encode_types(self) -> None:
        for f in self.fields:
            if f.kind == "type":
                sub, plain = self.subtype(f)
                self.type_entries.append(sub)
                if plain is not None:
                    self.implicit_types.setdefault(plain, f.index)
            elif f.kind == "rec":
                subs = [self.subtype(g)[0] for g in f.inner]
                self.type_entries.append(b"\x4e" + vec(subs))
                if len(subs) == 1 and f.inner[0].plain is not None:
                    self.implicit_types.setdefault(f.inner[0].plain, f.inner[0].index)

    def subtype(self, f: Field) -> tuple[bytes, tuple | None]:
        """A ``(type ...)`` definition: its encoding, and its signature if it is a final
        function type without supertypes (which implicit type uses may match)."""
        toks = self.toks
        i = f.body
        if toks[i] != "(":
            raise self.unexpected(i, "a type definition")
        if toks[i + 1] == "sub":
            i += 2
            final = toks[i] == "final"
            if final:
                i += 1
            supers = []
            while self.is_index(i):
                n, i = self.index(i, self.types)
                supers.append(uleb(n))
            comp, sig, i = self.comptype(i, f.index)
            i = self.expect(i, ")")
            self.expect(i, ")")
            if final and not supers:
                enc, plain = comp, sig
            else:
                enc = (b"\x4f" if final else b"\x50") + vec(supers) + comp
                plain = None
        else:
            comp, sig, i = self.comptype(i, f.index)
            self.expect(i, ")")
            enc, plain = comp, sig
        f.plain = plain
        return enc, plain

    def comptype(self, i: int, index: int) -> tuple[bytes, tuple | None, int]:
        toks = self.toks
        if toks[i] != "(":
            raise self.unexpected(i, "func, struct or array")
        kind = toks[i + 1]
        i += 2
        if kind == "func":
            params, results, pnames, i = self.functype_body(i, True)
            shown = {k: n[1] for k, n in enumerate(pnames) if n is not None}
            if shown:
                self.type_param_names[index] = shown
            sig = (tuple(params), tuple(results))
            self.func_sigs[index] = sig
            return b"\x60" + vec(params) + vec(results), sig, self.expect(i, ")")
        if kind == "struct":
            fields: list[bytes] = []
            names: dict[str, int] = {}
            shown: dict[int, str] = {}
            while toks[i] == "(" and toks[i + 1] == "field":
                i += 2
                if toks[i].startswith("$"):
                    fname = self.ident(i)
                    if fname in names:
                        raise self.error(i, f"duplicate field ${fname}")
                    names[fname] = shown_idx = len(fields)  # type: ignore[index]
                    shown[shown_idx] = fname  # type: ignore[assignment]
                    ft, i = self.fieldtype(i + 1)
                    fields.append(ft)
                else:
                    while toks[i] != ")":
                        ft, i = self.fieldtype(i)
                        fields.append(ft)
                i = self.expect(i, ")")
            self.field_names[index] = names
            if shown:
                self.struct_field_names[index] = shown
            return b"\x5f" + vec(fields), None, self.expect(i, ")")
        if kind == "array":
            ft, i = self.fieldtype(i)
            return b"\x5e" + ft, None, self.expect(i, ")")
        raise self.unexpected(i - 1, "func, struct or array")

    # --- pass 3: everything else --------------------------------------------------------------

    def encode(self, module_ident: str | None, name_at: int) -> bytes:
        self.module_name = self.annotation_name(name_at) or module_ident
        self.encode_types()
        imports: list[bytes] = []
        funcs: list[bytes] = []
        codes: list[bytes] = []
        tables: list[bytes] = []
        memories: list[bytes] = []
        globals_: list[bytes] = []
        tags: list[bytes] = []
        exports: list[bytes] = []
        start: list[bytes] = []
        elems: list[bytes] = []
        datas: list[bytes] = []
        self.out = {"imports": imports, "funcs": funcs, "codes": codes, "tables": tables,
                    "memories": memories, "globals": globals_, "tags": tags, "elems": elems,
                    "datas": datas}  # fmt: skip
        for f in self.fields:
            kind = f.kind
            if kind in ("type", "rec"):
                continue
            for nm, _ in f.exports:
                exports.append(enc_name(nm) + bytes([_KIND_OF[kind]]) + uleb(f.index))
            if f.imported is not None:
                self.encode_import(f)
            elif kind == "func":
                self.encode_func(f)
            elif kind == "table":
                self.encode_table(f)
            elif kind == "memory":
                self.encode_memory(f)
            elif kind == "global":
                globaltype, i = self.globaltype(f.body)
                init, i = self.const_expr(i, ")")
                globals_.append(globaltype + init)
                self.name_entry("global", f)
            elif kind == "tag":
                idx, _, _, pnames, _, i = self.typeuse(f.body, allow_names=True)
                self.expect(i, ")")
                tags.append(b"\x00" + uleb(idx))
                self.name_entry("tag", f)
                self._record_params(self.tag_param_names, f.index, pnames)
            elif kind == "export":
                nm, i = self.utf8_name(f.body)
                toks = self.toks
                if toks[i] != "(" or toks[i + 1] not in _KIND_OF:
                    raise self.unexpected(i, "(func|table|memory|global|tag index)")
                k = _KIND_OF[toks[i + 1]]
                idx, j = self.index(i + 2, self.spaces[k])
                j = self.expect(j, ")")
                self.expect(j, ")")
                exports.append(enc_name(nm) + bytes([k]) + uleb(idx))
            elif kind == "start":
                if start:
                    raise self.error(f.start, "multiple start sections")
                idx, i = self.index(f.body, self.funcs)
                self.expect(i, ")")
                start.append(uleb(idx))
            elif kind == "elem":
                self.encode_elem(f)
            elif kind == "data":
                self.encode_data(f)
        sections = {
            SEC_TYPE: self.type_entries, SEC_IMPORT: imports, SEC_FUNC: funcs,
            SEC_TABLE: tables, SEC_MEMORY: memories, SEC_TAG: tags, SEC_GLOBAL: globals_,
            SEC_EXPORT: exports, SEC_ELEM: elems, SEC_CODE: codes, SEC_DATA: datas,
        }  # fmt: skip
        out = [b"\x00asm\x01\x00\x00\x00"]
        customs = self.customs
        out += [c for p, _, c in customs if p == "first"]
        for sid in _SECTION_ORDER:
            out += [c for p, s, c in customs if p == "before" and s == sid]
            if sid == SEC_START:
                if start:
                    out.append(section(SEC_START, start[0]))
            elif sid == SEC_DATACOUNT:
                if self.uses_data_count:
                    out.append(section(SEC_DATACOUNT, uleb(len(datas))))
            elif sections[sid]:
                out.append(section(sid, vec(sections[sid])))
            out += [c for p, s, c in customs if p == "after" and s == sid]
        out += [c for p, _, c in customs if p == "last"]
        names = self.name_section()
        if names:
            out.append(section(SEC_CUSTOM, enc_name("name") + names))
        return b"".join(out)

    def name_entry(self, space: str, f: Field) -> None:
        shown = f.name if f.name is not None else f.ident
        if shown is not None:
            self.names.setdefault(space, {})[f.index] = shown

    def encode_import(self, f: Field) -> None:
        mod, nm = f.imported  # type: ignore[misc]
        head = enc_name(mod) + enc_name(nm)
        kind = f.import_kind
        i = f.body
        if kind == "func":
            idx, _, _, pnames, _, i = self.typeuse(i, allow_names=True)
            desc = b"\x00" + uleb(idx)
            self.name_entry("func", f)
            self._record_params(self.local_names, f.index, pnames)
        elif kind == "table":
            t, i = self.tabletype(i)
            desc = b"\x01" + t
            self.name_entry("table", f)
        elif kind == "memory":
            t, i = self.memtype(i)
            desc = b"\x02" + t
            self.name_entry("memory", f)
        elif kind == "global":
            t, i = self.globaltype(i)
            desc = b"\x03" + t
            self.name_entry("global", f)
        else:
            idx, _, _, pnames, _, i = self.typeuse(i, allow_names=True)
            desc = b"\x04\x00" + uleb(idx)
            self.name_entry("tag", f)
            self._record_params(self.tag_param_names, f.index, pnames)
        i = self.expect(i, ")")
        if f.kind == "import":
            self.expect(i, ")")
        self.out["imports"].append(head + desc)

    @staticmethod
    def _record_params(table: dict[int, dict[int, str]], index: int, pnames) -> None:
        shown = {k: n[1] for k, n in enumerate(pnames) if n is not None}
        if shown:
            table[index] = shown

    def encode_func(self, f: Field) -> None:
        idx, params, results, pnames, explicit, i = self.typeuse(f.body, allow_names=True)
        self.out["funcs"].append(uleb(idx))
        self.name_entry("func", f)
        ctx = body.FuncContext(self, f.index)
        if explicit and not params and not results:
            type_params = self.type_params(idx)
            if type_params is None:
                ctx.nparams_unknown = True
                ctx.nlocals = 0
            else:
                ctx.nlocals = len(type_params)
        else:
            for k, pname in enumerate(pnames):
                if pname is not None:
                    ident, shown = pname
                    if ident in ctx.locals:
                        raise self.error(f.body, f"duplicate local ${ident}")
                    ctx.locals[ident] = k
                    ctx.local_tokens["$" + ident] = k
                    ctx.shown_locals[k] = shown
            ctx.nlocals = len(params)
        toks = self.toks
        local_types: list[bytes] = []
        while toks[i] == "(" and toks[i + 1] == "local":
            i += 2
            if toks[i].startswith("$"):
                lname = self.ident(i)
                shown_name = self.annotation_name(i + 1) or lname
                if ctx.nparams_unknown:
                    raise self.error(i, f"unknown type {idx}: cannot number local ${lname}")
                if lname in ctx.locals:
                    raise self.error(i, f"duplicate local ${lname}")
                t, i = self.valtype(i + 1)
                ctx.locals[lname] = ctx.nlocals  # type: ignore[index]
                ctx.local_tokens["$" + lname] = ctx.nlocals  # type: ignore[operator]
                ctx.shown_locals[ctx.nlocals] = shown_name  # type: ignore[assignment]
                local_types.append(t)
                ctx.nlocals += 1
            else:
                ts, i = self.valtypes(i)
                local_types += ts
                ctx.nlocals += len(ts)
            i = self.expect(i, ")")
        code = bytearray()
        # locals: runs of equal types
        runs: list[bytes] = []
        k = 0
        n = len(local_types)
        while k < n:
            t = local_types[k]
            j = k + 1
            while j < n and local_types[j] == t:
                j += 1
            runs.append(uleb(j - k) + t)
            k = j
        code += vec(runs)
        i = body.parse_instrs(ctx, i, code, ")")
        self.expect(i, ")")
        code.append(0x0B)
        self.out["codes"].append(uleb(len(code)) + code)
        if ctx.shown_locals and not ctx.nparams_unknown:
            self.local_names[f.index] = ctx.shown_locals
        if ctx.shown_labels:
            self.label_names[f.index] = ctx.shown_labels

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

    # --- custom sections and names ------------------------------------------------------------

    def _custom(self, i: int) -> None:
        """The ``@custom`` and ``@producers`` annotations between module fields."""
        for ann in self.tokens.annotations.get(i, ()):
            if ann.name == "producers":
                self._producers(ann)
                continue
            if ann.name != "custom":
                continue
            items = ann.tokens
            k = 0

            def bad(reason: str, ann=ann) -> ParseError:
                return self.tokens.annotation_error(ann, f"malformed @custom annotation: {reason}")

            if not items[k].startswith('"'):
                raise bad("expected the section name")
            try:
                nm = decode_name(items[k])
            except ValueError as e:
                raise bad(str(e)) from None
            k += 1
            place, sid = "last", 0
            if items[k] == "(":
                word, anchor = items[k + 1], items[k + 2]
                if word == "before" and anchor == "first":
                    place = "first"
                elif word == "after" and anchor == "last":
                    place = "last"
                elif word in ("before", "after") and anchor in _CUSTOM_ANCHORS:
                    place, sid = word, _CUSTOM_ANCHORS[anchor]
                else:
                    raise bad("expected (before|after section)")
                if items[k + 3] != ")":
                    raise bad("expected ')'")
                k += 4
            data = []
            while items[k] != "":
                if not items[k].startswith('"') or not body.is_string(items[k]):
                    raise bad("expected a string")
                try:
                    data.append(decode_string(items[k]))
                except ValueError as e:
                    raise bad(str(e)) from None
                k += 1
            self.customs.append((place, sid, section(SEC_CUSTOM, enc_name(nm) + b"".join(data))))

    def _producers(self, ann) -> None:
        """``(@producers (language|sdk|processed-by "name" "version")*)``: the ``producers``
        custom section, its fields in the order language, sdk, processed-by."""
        items = ann.tokens
        fields: dict[str, list[bytes]] = {"language": [], "sdk": [], "processed-by": []}
        k = 0
        while items[k] == "(":
            kind = items[k + 1]
            value = items[k + 2:k + 4]
            if kind not in fields or items[k + 4] != ")" or not all(
                    v.startswith('"') and body.is_string(v) for v in value):
                raise self.tokens.annotation_error(
                    ann, "malformed @producers annotation: expected "
                    '(language|sdk|processed-by "name" "version")')
            try:
                fields[kind].append(b"".join(enc_name(decode_name(v)) for v in value))
            except ValueError as e:
                raise self.tokens.annotation_error(ann, str(e)) from None
            k += 5
        if items[k] != "":
            raise self.tokens.annotation_error(ann, "malformed @producers annotation")
        payload = vec([enc_name(kind) + vec(entries) for kind, entries in fields.items()
                       if entries])
        self.customs.append(("last", 0, section(SEC_CUSTOM, enc_name("producers") + payload)))

    def name_section(self) -> bytes:
        subs = []

        def name_map(m: dict[int, str]) -> bytes:
            return vec([uleb(k) + enc_name(v) for k, v in sorted(m.items())])

        def indirect(m: dict[int, dict[int, str]]) -> bytes:
            return vec([uleb(k) + name_map(v) for k, v in sorted(m.items()) if v])

        if self.module_name is not None:
            subs.append((0, enc_name(self.module_name)))
        for sid, key in ((1, "func"),):
            if self.names.get(key):
                subs.append((sid, name_map(self.names[key])))
        if self.local_names:
            subs.append((2, indirect(self.local_names)))
        if self.label_names:
            subs.append((3, indirect(self.label_names)))
        for sid, key in ((4, "type"), (5, "table"), (6, "memory"), (7, "global"), (8, "elem"),
                         (9, "data")):
            if self.names.get(key):
                subs.append((sid, name_map(self.names[key])))
        if self.struct_field_names:
            subs.append((10, indirect(self.struct_field_names)))
        if self.names.get("tag"):
            subs.append((11, name_map(self.names["tag"])))
        # wasm-tools' extension: parameter names of function types and of tags
        if self.type_param_names:
            subs.append((12, indirect(self.type_param_names)))
        if self.tag_param_names:
            subs.append((13, indirect(self.tag_param_names)))
        return b"".join(bytes([sid]) + uleb(len(p)) + p for sid, p in subs)


_SCANNERS = {
    "type": ModuleParser._scan_type, "rec": ModuleParser._scan_rec,
    "import": ModuleParser._scan_import, "func": ModuleParser._scan_func,
    "table": ModuleParser._scan_table, "memory": ModuleParser._scan_memory,
    "global": ModuleParser._scan_global, "tag": ModuleParser._scan_tag,
    "elem": ModuleParser._scan_elem, "data": ModuleParser._scan_data,
    "export": ModuleParser._scan_other, "start": ModuleParser._scan_other,
}  # fmt: skip


def _type_names(p: ModuleParser) -> None:
    for f in p.fields:
        if f.kind == "type":
            p.name_entry("type", f)
        elif f.kind == "rec":
            for g in f.inner:
                p.name_entry("type", g)


def parse_module_fields(tokens: Tokens, i: int, closing: str, ident: str | None,
                        name_at: int, version: int = 3) -> tuple[bytes, int]:
    """Encode the module whose fields start at token ``i`` and end at ``closing``; return the
    binary and the index of ``closing``."""
    body.ensure_recursion_limit()
    p = ModuleParser(tokens, version)
    end = p.scan(i, closing)
    _type_names(p)
    return p.encode(ident, name_at), end


def module_from_tokens(tokens: Tokens, i: int, version: int = 3) -> tuple[bytes, int]:
    """Parse the module at token ``i``: ``(module $id? field*)``, ``(module $id? binary
    "..."*)`` or ``(module $id? quote "..."*)`` (scripts may add ``definition`` after
    ``module``); return the binary and the index after it."""
    toks = tokens.toks
    if toks[i] != "(" or toks[i + 1] != "module":
        raise tokens.error(i, f"expected '(module', found {toks[i]!r}")
    p = ModuleParser(tokens)
    j = i + 2
    if toks[j] == "definition":
        j += 1
    ident = p.ident(j)
    if ident is not None:
        j += 1
    if toks[j] == "binary":
        data, j = p.strings(j + 1)
        return data, p.expect(j, ")")
    if toks[j] == "quote":
        text, j = p.strings(j + 1)
        return (wat_bytes_to_wasm(text, source=tokens.source, version=version),
                p.expect(j, ")"))
    data, end = parse_module_fields(tokens, j, ")", ident, j, version)
    return data, end + 1


def wat_bytes_to_wasm(text: bytes, source: str | None = None, version: int = 3) -> bytes:
    """Text given as bytes (a file, a module quoted in a script): they must be UTF-8 text of a
    module or of module fields."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"malformed UTF-8 encoding at byte {e.start}", source=source) from None
    return parse_wat(decoded, source=source, version=version)


def parse_wat(text: str, source: str | None = None, version: int = 3) -> bytes:
    """Encode a text module: ``(module ...)``, or bare module fields."""
    try:
        return _parse_wat(text, source, version)
    except RecursionError:  # a safety net: nesting is bounded by body.MAX_NESTING
        raise ParseError("nesting too deep", source=source) from None


def _parse_wat(text: str, source: str | None, version: int) -> bytes:
    tokens = tokenize(text, source)
    toks = tokens.toks
    if toks[0] == "(" and toks[1] == "module":
        data, i = module_from_tokens(tokens, 0, version)
        if toks[i] != "":
            raise tokens.error(i, f"unexpected token {toks[i]!r} after the module")
        return data
    data, _ = parse_module_fields(tokens, 0, "", None, 0, version)
    return data
