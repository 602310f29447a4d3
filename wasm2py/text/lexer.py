"""Splitting WebAssembly text into tokens.

A token list is a plain ``list[str]`` of the tokens' source text, ending with ``""`` (the end of
input), so the parser can look ahead without bounds checks. The parser tells tokens apart by
their first character: ``(`` and ``)``, ``"`` (a string), ``$`` (an identifier), anything else an
*atom* (a keyword, a number, or a reserved token that only becomes an error if the parser gets to
it). White space, comments and annotations are dropped: annotations the parser understands
(``@custom``, ``@name``, ``@producers``) are kept aside in :attr:`Tokens.annotations`, keyed by
the index of the token that follows them.

Most text (all that ``wasm-tools print`` writes, for instance) is split by one
``re.findall`` call. Text with nested block comments or annotations, which no regular expression
can skip, goes through a slower loop that handles them by hand; both produce the same tokens.
Token positions (for error messages) are recomputed only when an error is reported.
"""

from __future__ import annotations

import bisect
import re
from itertools import islice

from ..errors import ParseError

#: Characters that may appear in keywords, numbers and identifiers.
IDCHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
#: A string literal: no control characters, escapes checked when the string is decoded.
STRING = r'"[^"\\\x00-\x1f\x7f]*(?:\\[^\x00-\x1f\x7f][^"\\\x00-\x1f\x7f]*)*"'
# white space, line comments and block comments without nested ones
_SKIP = r"(?:[ \t\n\r]++|;;[^\n\r]*+|\(;[^(;]*+(?:(?:;(?!\))|\((?!;))[^(;]*+)*+;\))*+"
_ATOM = r"(?:[" + IDCHARS + r"]++|" + STRING + r")++"
_PUNCT = r"[,;\[\]{}]"


def _annotation_pattern(depth: int) -> str:
    """An annotation whose parentheses nest at most ``depth`` deep and that holds no nested
    block comment (anything else is left to :func:`_annotation`). Possessive: no backtracking."""
    inner = "(?:" + _SKIP + "(?:" + _ATOM + "|" + _PUNCT + "))*+" + _SKIP
    for _ in range(depth):
        group = r"\((?![;@])" + inner + r"\)"
        inner = "(?:" + _SKIP + "(?:" + _ATOM + "|" + _PUNCT + "|" + group + "))*+" + _SKIP
    return r"\(@(?:[" + IDCHARS + r"]++|" + STRING + ")" + inner + r"\)"


# One token after skipping space and comments. A whole annotation is one token (dropped or kept
# by :func:`tokenize`); a bare ``(@`` (an annotation too deep or malformed for the pattern) and
# ``(;`` (a nested or unclosed block comment) are handled one by one; a lone ``"`` is an
# unclosed string; ``.`` catches any other character so that nothing is silently skipped;
# ``\Z`` yields the final "".
_TOKEN_RE = re.compile(
    _SKIP + r"(\((?![@;])|\)|" + _ATOM + "|" + _annotation_pattern(3) + r"|\(@|\(;|"
    + _PUNCT + r'|"|.|\Z)', re.S
)
_STRING_RE = re.compile(STRING + r"\Z")
_ANNOT_ID_RE = re.compile(r"[" + IDCHARS + r"]+|" + STRING)
_COMMENT_DELIM_RE = re.compile(r"\(;|;\)")

#: Annotations whose contents the parser uses; all others are white space.
KEPT_ANNOTATIONS = frozenset({"custom", "name", "producers"})


def is_string(tok: str) -> bool:
    """True if ``tok`` is exactly one string literal (not a reserved run like ``"a""b"``)."""
    return _STRING_RE.match(tok) is not None


class Annotation:
    """An annotation the parser may use: its id, its tokens (a nested token list ending with
    ``""``), and where its ``(@`` is: a text offset, or (until :meth:`Tokens.annotation_offset`
    works it out) the index of the annotation among all lexed tokens."""

    __slots__ = ("name", "tokens", "offset", "raw_index")

    def __init__(self, name: str, tokens: list[str], offset: int | None, raw_index: int = -1):
        self.name = name
        self.tokens = tokens
        self.offset = offset
        self.raw_index = raw_index


class Tokens:
    """The tokens of a text, with what is needed to report errors by line and column.

    Attributes:
        text: the source text.
        toks: the tokens, ending with ``""``.
        annotations: kept annotations by the index of the token that follows them.
        source: a description of the text for error messages (file name), or ``None``.
    """

    __slots__ = ("text", "toks", "annotations", "source", "_starts", "_removed", "_raw_starts",
                 "_lines")

    def __init__(self, text: str, toks: list[str], starts: list[int] | None,
                 annotations: dict[int, list[Annotation]], source: str | None,
                 removed: list[int] | None = None):
        self.text = text
        self.toks = toks
        self.annotations = annotations
        self.source = source
        self._starts = starts
        # indices (among all lexed tokens) of the annotation tokens left out of ``toks``
        self._removed = removed or []
        self._raw_starts: list[int] | None = None
        self._lines: list[int] | None = None

    def _all_starts(self) -> list[int]:
        if self._raw_starts is None:
            self._raw_starts = [m.start(1) for m in _TOKEN_RE.finditer(self.text)]
        return self._raw_starts

    def offset(self, index: int) -> int:
        """The offset in :attr:`text` of token ``index``."""
        if self._starts is None:
            raw = self._all_starts()
            removed = set(self._removed)
            self._starts = [s for r, s in enumerate(raw) if r not in removed]
        starts = self._starts
        return starts[index] if 0 <= index < len(starts) else len(self.text)

    def annotation_offset(self, ann: Annotation) -> int:
        """The offset in :attr:`text` of an annotation's ``(@``."""
        if ann.offset is None:
            ann.offset = self._all_starts()[ann.raw_index]
        return ann.offset

    def annotation_error(self, ann: Annotation, reason: str) -> ParseError:
        """A :class:`ParseError` at an annotation."""
        return self.error_at_offset(self.annotation_offset(ann), reason)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a text offset."""
        if self._lines is None:
            self._lines = [m.end() for m in re.finditer(r"\n", self.text)]
        line = bisect.bisect_right(self._lines, offset)
        start = self._lines[line - 1] if line else 0
        return line + 1, offset - start + 1

    def error(self, index: int, reason: str) -> ParseError:
        """A :class:`ParseError` at token ``index``."""
        return self.error_at_offset(self.offset(index), reason)

    def error_at_offset(self, offset: int, reason: str) -> ParseError:
        """A :class:`ParseError` at a text offset."""
        line, col = self.line_col(offset)
        return ParseError(reason, line, col, self.source)


def tokenize(text: str, source: str | None = None) -> Tokens:
    """Split ``text`` into :class:`Tokens`.

    Raises:
        ParseError: an unclosed block comment or annotation, or a malformed annotation id.
            (Other malformed tokens are reported when the parser reaches them.)
    """
    toks = _TOKEN_RE.findall(text)
    if len(toks) > 1 and toks[-2] == "":
        # trailing white space: findall matched it with the end, then the empty end again
        toks.pop()
    if "(;" in toks or "(@" in toks:
        return _tokenize_slowly(text, source)
    if "(@" not in text:
        return Tokens(text, toks, None, {}, source)
    # Whole annotations are single tokens: find them (few distinct ones) and take them out.
    removed = sorted(k for t in set(toks) if t[:2] == "(@" for k in _indices(toks, t))
    if not removed:
        return Tokens(text, toks, None, {}, source)
    out: list[str] = []
    annotations: dict[int, list[Annotation]] = {}
    prev = 0
    for k in removed:
        out += toks[prev:k]
        prev = k + 1
        try:
            _, ann = _annotation(toks[k], 0, None)
        except ParseError:  # report it where it is in the text
            _annotation(text, next(islice(_TOKEN_RE.finditer(text), k, None)).start(1), source)
            raise
        if ann is not None:
            ann.offset, ann.raw_index = None, k
            annotations.setdefault(len(out), []).append(ann)
    out += toks[prev:]
    return Tokens(text, out, None, annotations, source, removed)


def _indices(toks: list[str], tok: str) -> list[int]:
    out = []
    k = -1
    try:
        while True:
            k = toks.index(tok, k + 1)
            out.append(k)
    except ValueError:
        return out


def _error_at(text: str, offset: int, reason: str, source: str | None) -> ParseError:
    return Tokens(text, [""], [], {}, source).error_at_offset(offset, reason)


def _skip_block_comment(text: str, start: int, source: str | None) -> int:
    """The offset after the (possibly nested) block comment opened at ``start``."""
    depth = 1
    pos = start + 2
    search = _COMMENT_DELIM_RE.search
    while depth:
        m = search(text, pos)
        if m is None:
            raise _error_at(text, start, "unclosed block comment", source)
        depth += 1 if m.group() == "(;" else -1
        pos = m.end()
    return pos


def _annotation(text: str, start: int, source: str | None) -> tuple[int, Annotation | None]:
    """Read the annotation whose ``(@`` is at ``start``: the offset after its ``)``, and the
    annotation if the parser keeps it (:data:`KEPT_ANNOTATIONS`)."""
    idm = _ANNOT_ID_RE.match(text, start + 2)
    if idm is None:
        raise _error_at(text, start, "empty annotation id", source)
    name = idm.group()
    if name.startswith('"'):
        from .literals import decode_string  # a string id: decoded, must be UTF-8

        try:
            name = decode_string(name).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise _error_at(text, start, "malformed UTF-8 encoding in annotation id",
                            source) from None
        if not name:
            raise _error_at(text, start, "empty annotation id", source)
    pos = idm.end()
    items: list[str] = []
    depth = 0
    match = _TOKEN_RE.match
    while True:
        m = match(text, pos)
        tok = m.group(1)
        tstart = m.start(1)
        pos = m.end(1)
        if tok == "(;":
            pos = _skip_block_comment(text, tstart, source)
            continue
        if tok[:2] == "(@":
            # inside an annotation, (@...) is just a parenthesised group
            tok = "("
            pos = tstart + 1
        if tok == "":
            raise _error_at(text, start, "unclosed annotation", source)
        if tok == ")":
            if depth == 0:
                kept = Annotation(name, items + [""], start) if name in KEPT_ANNOTATIONS else None
                return pos, kept
            depth -= 1
        elif tok == "(":
            depth += 1
        elif tok == '"':
            raise _error_at(text, tstart, "unclosed string", source)
        elif len(tok) == 1 and (ord(tok) > 0x7E or (ord(tok) < 0x20 and tok not in "\t\n\r")):
            raise _error_at(text, tstart, "illegal character in annotation", source)
        items.append(tok)


def _tokenize_slowly(text: str, source: str | None) -> Tokens:
    """One token at a time, for text with many nested comments or annotations."""
    toks: list[str] = []
    starts: list[int] = []
    annotations: dict[int, list[Annotation]] = {}
    match = _TOKEN_RE.match
    pos = 0
    while True:
        m = match(text, pos)
        tok = m.group(1)
        start = m.start(1)
        pos = m.end(1)
        if tok == "(;":
            pos = _skip_block_comment(text, start, source)
            continue
        if tok[:2] == "(@":
            pos, ann = _annotation(text, start, source)
            if ann is not None:
                annotations.setdefault(len(toks), []).append(ann)
            continue
        toks.append(tok)
        starts.append(start)
        if tok == "":
            return Tokens(text, toks, starts, annotations, source)
