"""Reading a token list: the helpers every part of the text parser uses to look at tokens,
decode literals and identifiers, resolve indices, and report errors by line and column."""

from __future__ import annotations

import re

from ..errors import ParseError
from .lexer import Tokens, is_string
from .literals import decode_name, decode_string, parse_nat

_ID_RE = re.compile(r"\$[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+\Z")
_QUOTED_ID_RE = re.compile(r'\$"(?:[^"\\]|\\.)*"\Z', re.S)

# token -> identifier, for the (valid, unquoted) identifiers seen: saves a regex match per use
_IDENT_CACHE: dict[str, str] = {}

class Space:
    """One index space: the identifiers bound in it and how many entries it has."""

    __slots__ = ("what", "names", "count")

    def __init__(self, what: str):
        self.what = what
        self.names: dict[str, int] = {}
        self.count = 0



class Cursor:
    """Token helpers over :class:`~.lexer.Tokens`. Each takes the index of a token and
    returns what it read with the index after it; mistakes raise :class:`ParseError`."""

    def __init__(self, tokens: Tokens, version: int = 3):
        self.tokens = tokens
        self.toks = tokens.toks
        #: 2 or 3: Wasm 2.0 text has 32-bit limits and memory offsets; 3.0 widens them to 64
        #: bits (values too large for a 32-bit memory or table are then validation errors)
        self.version = version

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
        if not is_string(tok):
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
