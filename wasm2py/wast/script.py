"""Reading ``.wast`` scripts with wasm2py's own text parser.

:func:`parse_script` turns a script into the command list the runner executes. The commands use
the JSON layout of ``wasm-tools json-from-wast`` (``{"type": "assert_return", "line": 12,
"action": {...}, "expected": [...]}``; every number a decimal string: signed integers, float
bit patterns, ``nan:canonical``/``nan:arithmetic``), so the runner reads converted and parsed
scripts alike. Module commands name their module by a ``filename`` key that
:class:`ScriptModules` resolves: the module is encoded (or, for ``module quote``, parsed) only
when the runner asks for it, so a malformed text module fails its own command, not the script.

References differ in one respect from ``wasm-tools`` output: a null reference of any heap type
is ``{"type": <abbreviation>, "value": "null"}`` (``wasm-tools`` drops the value for ``eq``,
``i31``, ``struct``, ``array`` and the bottom types, which then reads like a non-null pattern).
``(ref.null)`` is ``{"type": "refnull"}`` (any null), ``(ref.host N)`` is ``{"type": "anyref",
"value": "N"}``, and the non-null patterns ``(ref.func)``, ``(ref.i31)``, ... have no value.
"""

from __future__ import annotations

from ..errors import ParseError
from ..text.cursor import Cursor
from ..text.instructions import SHAPES
from ..text.lexer import Tokens, tokenize
from ..text.literals import decode_name, parse_float, parse_int
from ..text.parser import module_from_tokens, parse_module_fields, wat_bytes_to_wasm

# keywords that start a module field: a script made of them is one inline module
_FIELD_KEYWORDS = frozenset({"type", "rec", "import", "func", "table", "memory", "global",
                             "tag", "export", "start", "elem", "data"})  # fmt: skip
_NULL_REF_TYPES = {
    "func": "funcref", "extern": "externref", "any": "anyref", "eq": "eqref", "i31": "i31ref",
    "struct": "structref", "array": "arrayref", "exn": "exnref", "none": "nullref",
    "nofunc": "nullfuncref", "noextern": "nullexternref", "noexn": "nullexnref",
}  # fmt: skip
_NON_NULL_PATTERNS = {
    "ref": "anyref", "ref.func": "funcref", "ref.extern": "externref", "ref.i31": "i31ref",
    "ref.struct": "structref", "ref.array": "arrayref", "ref.eq": "eqref", "ref.exn": "exnref",
}  # fmt: skip
_NAN_PATTERNS = ("nan:canonical", "nan:arithmetic")


class UnsupportedScript(Exception):
    """The script uses syntax this parser does not handle (component-model scripts)."""


class ModuleSource:
    """A module of a script, encoded on demand: text (tokens of ``(module ...)``), ``binary``
    (its bytes) or ``quote`` (text to parse)."""

    __slots__ = ("kind", "tokens", "start", "data", "version")

    def __init__(self, kind: str, tokens: Tokens, start: int, data: bytes = b"",
                 version: int = 3):
        self.kind = kind
        self.tokens = tokens
        self.start = start
        self.data = data
        self.version = version

    def encode(self) -> bytes:
        """The module's binary.

        Raises:
            ParseError: a text or quoted module is malformed.
        """
        if self.kind == "binary":
            return self.data
        if self.kind == "quote":
            return wat_bytes_to_wasm(self.data, source=self.tokens.source,
                                     version=self.version)
        return module_from_tokens(self.tokens, self.start, self.version)[0]


class ScriptModules(dict):
    """The modules of a parsed script by the ``filename`` their commands give."""

    def module_bytes(self, filename: str) -> bytes:
        return self[filename].encode()


class _ScriptParser:
    def __init__(self, text: str, source: str | None, version: int):
        self.version = version
        self.tokens = tokenize(text, source)
        self.toks = self.tokens.toks
        self.m = Cursor(self.tokens)
        self.modules = ScriptModules()

    def error(self, i: int, reason: str) -> ParseError:
        return self.tokens.error(i, reason)

    def line(self, i: int) -> int:
        return self.tokens.line_col(self.tokens.offset(i))[0]

    def string(self, i: int) -> tuple[str, int]:
        return self.m.utf8_name(i)

    def ident(self, i: int) -> tuple[str | None, int]:
        name = self.m.ident(i)
        return name, (i + 1 if name is not None else i)

    # --- modules ------------------------------------------------------------------------------

    def module(self, i: int) -> tuple[dict, int]:
        """``(module ...)`` in any script form: the command's module keys, the index after it."""
        toks = self.toks
        if toks[i] != "(" or toks[i + 1] != "module":
            if toks[i] == "(" and toks[i + 1] == "component":
                raise UnsupportedScript("component-model scripts are converted by wasm-tools")
            raise self.m.unexpected(i, "(module ...)")
        end = self.m.skip(i)
        j = i + 2
        definition = toks[j] == "definition"
        if definition:
            j += 1
        name, j = self.ident(j)
        key = str(len(self.modules))
        if toks[j] == "binary":
            data, k = self.m.strings(j + 1)
            self.m.expect(k, ")")
            self.modules[key + ".wasm"] = ModuleSource("binary", self.tokens, i, data, self.version)
            info = {"filename": key + ".wasm", "module_type": "binary"}
        elif toks[j] == "quote":
            data, k = self.m.strings(j + 1)
            self.m.expect(k, ")")
            self.modules[key + ".wat"] = ModuleSource("quote", self.tokens, i, data, self.version)
            info = {"filename": key + ".wat", "module_type": "text"}
        else:
            self.modules[key + ".wasm"] = ModuleSource("text", self.tokens, i, version=self.version)
            info = {"filename": key + ".wasm", "module_type": "binary"}
        if name is not None:
            info["name"] = name
        if definition:
            info["definition"] = True
        return info, end

    # --- values -------------------------------------------------------------------------------

    def const(self, i: int, result: bool) -> tuple[dict, int]:
        """One ``(t.const ...)`` / reference literal, or (results only) a NaN or reference
        pattern or ``(either ...)``."""
        toks = self.toks
        m = self.m
        if toks[i] != "(":
            raise m.unexpected(i, "a constant")
        op = toks[i + 1]
        j = i + 2
        try:
            if op in ("i32.const", "i64.const"):
                bits = 32 if op[1] == "3" else 64
                value = {"type": op[:3], "value": str(parse_int(toks[j], bits))}
                j += 1
            elif op in ("f32.const", "f64.const"):
                tok = toks[j]
                if result and tok in _NAN_PATTERNS:
                    text = tok
                else:
                    text = str(parse_float(tok, 32 if op[1] == "3" else 64))
                value = {"type": op[:3], "value": text}
                j += 1
            elif op == "v128.const":
                value, j = self.v128(j, result)
            elif op == "ref.null":
                if toks[j] == ")":
                    if not result:
                        raise m.unexpected(j, "a heap type")
                    value = {"type": "refnull"}
                else:
                    typ = _NULL_REF_TYPES.get(toks[j])
                    if typ is None:
                        raise m.unexpected(j, "an abstract heap type")
                    value = {"type": typ, "value": "null"}
                    j += 1
            elif op in ("ref.extern", "ref.host") and toks[j] != ")":
                n, j = m.nat(j, "a reference number")
                value = {"type": "externref" if op == "ref.extern" else "anyref",
                         "value": str(n)}
            elif result and op in _NON_NULL_PATTERNS and toks[j] == ")":
                value = {"type": _NON_NULL_PATTERNS[op]}
            elif result and op == "either":
                options = []
                while toks[j] == "(":
                    option, j = self.const(j, True)
                    options.append(option)
                if not options:
                    raise m.unexpected(j, "a result")
                value = {"type": "either", "values": options}
            else:
                raise m.error(i + 1, f"unexpected {op!r}: expected a constant")
        except ValueError as e:
            raise self.error(j, str(e)) from None
        return value, m.expect(j, ")")

    def v128(self, j: int, result: bool) -> tuple[dict, int]:
        toks = self.toks
        shape = toks[j]
        info = SHAPES.get(shape)
        if info is None:
            raise self.m.unexpected(j, "a vector shape")
        lanes, bits = info
        out = []
        j += 1
        for _ in range(lanes):
            tok = toks[j]
            if tok in (")", "(", ""):
                raise self.error(j, f"wrong number of lane literals: {shape} needs {lanes}")
            if shape[0] == "f":
                if result and tok in _NAN_PATTERNS:
                    out.append(tok)
                else:
                    out.append(str(parse_float(tok, bits)))
            else:
                v = parse_int(tok, bits) & ((1 << bits) - 1)
                out.append(str(v - (1 << bits) if v >> (bits - 1) else v))
            j += 1
        return {"type": "v128", "lane_type": shape[:3].rstrip("x"), "value": out}, j

    # --- actions and commands -----------------------------------------------------------------

    def action(self, i: int) -> tuple[dict, int]:
        toks = self.toks
        m = self.m
        if toks[i] != "(" or toks[i + 1] not in ("invoke", "get"):
            raise m.unexpected(i, "(invoke ...) or (get ...)")
        kind = toks[i + 1]
        j = i + 2
        name, j = self.ident(j)
        field, j = self.string(j)
        action: dict = {"type": kind}
        if name is not None:
            action["module"] = name
        action["field"] = field
        if kind == "invoke":
            args = []
            while toks[j] == "(":
                value, j = self.const(j, False)
                args.append(value)
            action["args"] = args
        return action, m.expect(j, ")")

    def message(self, j: int) -> tuple[str, int]:
        text, j = self.string(j)
        return text, j

    def command(self, i: int) -> tuple[list[dict], int]:
        toks = self.toks
        m = self.m
        kw = toks[i + 1]
        line = self.line(i + 1)  # as wasm-tools: the keyword's line
        if kw == "module":
            if toks[i + 2] == "instance":
                j = i + 3
                inst, j = self.ident(j)
                mod, j = self.ident(j)
                cmd: dict = {"type": "module_instance", "line": line}
                if inst is not None:
                    cmd["instance"] = inst
                if mod is not None:
                    cmd["module"] = mod
                return [cmd], m.expect(j, ")")
            info, j = self.module(i)
            kind = "module_definition" if info.pop("definition", False) else "module"
            return [{"type": kind, "line": line, **info}], j
        if kw in ("invoke", "get"):
            action, j = self.action(i)
            return [{"type": "action", "line": line, "action": action}], j
        if kw == "register":
            name, j = self.string(i + 2)
            mod, j = self.ident(j)
            cmd = {"type": "register", "line": line}
            if mod is not None:
                cmd["name"] = mod
            cmd["as"] = name
            return [cmd], m.expect(j, ")")
        if kw == "assert_return":
            line = self.line(i + 3)  # as wasm-tools: the action's line
            action, j = self.action(i + 2)
            expected = []
            while toks[j] == "(":
                value, j = self.const(j, True)
                expected.append(value)
            cmd = {"type": kw, "line": line, "action": action, "expected": expected}
            return [cmd], m.expect(j, ")")
        if toks[i + 2] == "(" and toks[i + 3] == "component":
            raise UnsupportedScript("component-model scripts are converted by wasm-tools")
        if kw in ("assert_trap", "assert_exhaustion", "assert_exception"):
            if toks[i + 2] == "(" and toks[i + 3] == "module":
                if kw != "assert_trap":
                    raise m.unexpected(i + 2, "an action")
                line = self.line(i + 3)  # as wasm-tools: the module's line
                info, j = self.module(i + 2)
                info.pop("name", None)
                text, j = self.message(j)
                cmd = {"type": "assert_uninstantiable", "line": line, **info, "text": text}
                return [cmd], m.expect(j, ")")
            line = self.line(i + 3)
            action, j = self.action(i + 2)
            cmd = {"type": kw, "line": line, "action": action}
            if kw != "assert_exception":
                cmd["text"], j = self.message(j)
            return [cmd], m.expect(j, ")")
        if kw in ("assert_malformed", "assert_invalid", "assert_unlinkable",
                  "assert_malformed_custom", "assert_invalid_custom"):
            line = self.line(i + 3)
            info, j = self.module(i + 2)
            info.pop("name", None)
            info.pop("definition", None)
            text, j = self.message(j)
            return [{"type": kw, "line": line, **info, "text": text}], m.expect(j, ")")
        if kw == "component":
            raise UnsupportedScript("component-model scripts are converted by wasm-tools")
        raise self.error(i + 1, f"unknown script command {kw!r}")

    def script(self) -> list[dict]:
        toks = self.toks
        if toks[0] == "(" and toks[1] in _FIELD_KEYWORDS:
            # the whole script is one module written without (module ...)
            key = "0.wasm"
            self.modules[key] = _InlineModule(self.tokens, self.version)
            return [{"type": "module", "line": self.line(0), "filename": key,
                     "module_type": "binary"}]
        commands: list[dict] = []
        i = 0
        while toks[i] == "(":
            cmds, i = self.command(i)
            commands += cmds
        if toks[i] != "":
            raise self.m.unexpected(i, "a command")
        return commands


class _InlineModule(ModuleSource):
    def __init__(self, tokens: Tokens, version: int):
        super().__init__("text", tokens, 0, version=version)

    def encode(self) -> bytes:
        return parse_module_fields(self.tokens, 0, "", None, 0, self.version)[0]


def parse_script(text: str, source: str | None = None, version: int = 3
                 ) -> tuple[list[dict], ScriptModules]:
    """Parse a ``.wast`` script: its commands (``json-from-wast`` layout) and its modules.
    ``version`` is the text format's (see :func:`wasm2py.text.wat2wasm`).

    Raises:
        ParseError: the script's structure (outside the text of its modules) is malformed.
        UnsupportedScript: the script uses component-model syntax.
    """
    p = _ScriptParser(text, source, version)
    return p.script(), p.modules


def read_script(data: bytes, source: str | None = None, version: int = 3
                ) -> tuple[list[dict], ScriptModules]:
    """:func:`parse_script` on the bytes of a file (which must be UTF-8)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"malformed UTF-8 encoding at byte {e.start}", source=source) from None
    return parse_script(text, source, version)


__all__ = ["ModuleSource", "ScriptModules", "UnsupportedScript", "decode_name", "parse_script",
           "read_script"]
