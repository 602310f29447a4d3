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

Instruction sequences are parsed by :mod:`.body`, tables, memories and segments by
:mod:`.segments`, type grammar by :mod:`.types`. Every error is a
:class:`~wasm2py.errors.ParseError` naming the line and column of the offending token and what
was expected. The binary has the sections in the standard order (only non-empty ones), a data
count section when a function uses ``memory.init``/``data.drop``/``array.*_data``, and a
``name`` section for the identifiers used, as ``wasm-tools parse`` writes them.
"""

from __future__ import annotations

from ..errors import ParseError
from . import body
from .cursor import Space
from .custom import CustomSections
from .encode import (
    SEC_CODE,
    SEC_CUSTOM,
    SEC_DATA,
    SEC_DATACOUNT,
    SEC_ELEM,
    SEC_EXPORT,
    SEC_FUNC,
    SEC_GLOBAL,
    SEC_IMPORT,
    SEC_MEMORY,
    SEC_START,
    SEC_TABLE,
    SEC_TAG,
    SEC_TYPE,
    section,
    uleb,
    vec,
)
from .encode import name as enc_name
from .lexer import Tokens, tokenize
from .segments import Segments
from .types import TypeParser

# external kinds (import/export descriptors)
KIND_FUNC, KIND_TABLE, KIND_MEMORY, KIND_GLOBAL, KIND_TAG = range(5)
_KIND_OF = {"func": KIND_FUNC, "table": KIND_TABLE, "memory": KIND_MEMORY, "global": KIND_GLOBAL,
            "tag": KIND_TAG}  # fmt: skip

# binary section order (tags between memories and globals; data count before code)
_SECTION_ORDER = (SEC_TYPE, SEC_IMPORT, SEC_FUNC, SEC_TABLE, SEC_MEMORY, SEC_TAG, SEC_GLOBAL,
                  SEC_EXPORT, SEC_START, SEC_ELEM, SEC_DATACOUNT, SEC_CODE, SEC_DATA)



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


class ModuleParser(TypeParser, CustomSections, Segments):
    """Parses the fields of one module (tokens ``start`` up to the closing ``)`` of the module,
    or the end of input for a module without ``(module ...)``) and encodes the binary."""

    def __init__(self, tokens: Tokens, version: int = 3):
        super().__init__(tokens, version)
        self.funcs = Space("function")
        self.tables = Space("table")
        self.memories = Space("memory")
        self.globals = Space("global")
        self.tags = Space("tag")
        self.elems = Space("elem segment")
        self.datas = Space("data segment")
        self.spaces = (self.funcs, self.tables, self.memories, self.globals, self.tags)
        #: type index -> field names of a struct type
        self.field_names: dict[int, dict[str, int]] = {}
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
    except RecursionError:  # a safety net: the parser nests no deeper than the text's quotes
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
