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

from ..errors import ParseError

#: Characters that may appear in keywords, numbers and identifiers.
IDCHARS = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
#: A string literal: no control characters, escapes checked when the string is decoded.
STRING = r'"(?:[^"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*"'
_SKIP = r"(?:[ \t\n\r]+|;;[^\n\r]*|\(;(?:[^(;]|;(?!\))|\((?!;))*;\))*"
# One token after skipping space and comments. ``(@`` and ``(;`` (a nested or unclosed block
# comment) send the text to the slow path; a lone ``"`` is an unclosed string; ``.`` catches any
# other character so that nothing is silently skipped; ``\Z`` yields the final "".
_TOKEN_RE = re.compile(
    _SKIP + r"(\(@|\(;|[()]|(?:[" + IDCHARS + r"]+|" + STRING + r')+|[,;\[\]{}]|"|.|\Z)', re.S
)
_STRING_RE = re.compile(STRING)
_ANNOT_ID_RE = re.compile(r"[" + IDCHARS + r"]+|" + STRING)
_COMMENT_DELIM_RE = re.compile(r"\(;|;\)")

#: Annotations whose contents the parser uses; all others are white space.
KEPT_ANNOTATIONS = frozenset({"custom", "name", "producers"})


class Annotation:
    """An annotation the parser may use: its id, its tokens (a nested token list without the
    final ``""``) and the offset of its ``(@``."""

    __slots__ = ("name", "tokens", "offset")

    def __init__(self, name: str, tokens: list[str], offset: int):
        self.name = name
        self.tokens = tokens
        self.offset = offset


class Tokens:
    """The tokens of a text, with what is needed to report errors by line and column.

    Attributes:
        text: the source text.
        toks: the tokens, ending with ``""``.
        annotations: kept annotations by the index of the token that follows them.
        source: a description of the text for error messages (file name), or ``None``.
    """

    __slots__ = ("text", "toks", "annotations", "source", "_starts", "_lines")

    def __init__(self, text: str, toks: list[str], starts: list[int] | None,
                 annotations: dict[int, list[Annotation]], source: str | None):
        self.text = text
        self.toks = toks
        self.annotations = annotations
        self.source = source
        self._starts = starts
        self._lines: list[int] | None = None

    def offset(self, index: int) -> int:
        """The offset in :attr:`text` of token ``index``."""
        if self._starts is None:
            self._starts = [m.start(1) for m in _TOKEN_RE.finditer(self.text)]
        starts = self._starts
        return starts[index] if 0 <= index < len(starts) else len(self.text)

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
    if "(;" in toks or "(@" in toks:
        return _tokenize_slowly(text, source)
    return Tokens(text, toks, None, {}, source)


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


def _tokenize_slowly(text: str, source: str | None) -> Tokens:
    """The general tokenizer: nested block comments and annotations handled one by one."""
    toks: list[str] = []
    starts: list[int] = []
    annotations: dict[int, list[Annotation]] = {}
    match = _TOKEN_RE.match
    pos = 0
    # Open annotations: (name, tokens so far, offset of "(@", paren depth inside it).
    stack: list[tuple[str, list[str], int]] = []
    depths: list[int] = []
    while True:
        m = match(text, pos)
        tok = m.group(1)
        start = m.start(1)
        pos = m.end(1)
        if tok == "(;":
            pos = _skip_block_comment(text, start, source)
            continue
        if tok == "(@" and stack:
            # inside an annotation, (@...) is just a parenthesised group
            depths[-1] += 1
            pos = start + 1
            continue
        if tok == "(@":
            idm = _ANNOT_ID_RE.match(text, pos)
            if idm is None:
                raise _error_at(text, start, "empty annotation id", source)
            name = idm.group()
            if name.startswith('"'):
                from .literals import decode_string  # a string id: decoded, must be UTF-8

                try:
                    raw = decode_string(name)
                    name = raw.decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    raise _error_at(text, start, "malformed UTF-8 encoding in annotation id",
                                    source) from None
                if not name:
                    raise _error_at(text, start, "empty annotation id", source)
            pos = idm.end()
            stack.append((name, [], start))
            depths.append(0)
            continue
        if stack:
            name, items, astart = stack[-1]
            if tok == "":
                raise _error_at(text, astart, "unclosed annotation", source)
            if tok == ")":
                if depths[-1] == 0:
                    stack.pop()
                    depths.pop()
                    if name in KEPT_ANNOTATIONS and not stack:
                        annotations.setdefault(len(toks), []).append(
                            Annotation(name, items + [""], astart))
                    continue
                depths[-1] -= 1
            elif tok == "(":
                depths[-1] += 1
            elif len(tok) == 1 and not tok.isprintable() and tok not in "\t\n\r" or (
                    len(tok) == 1 and ord(tok) > 0x7E):
                raise _error_at(text, start, "illegal character in annotation", source)
            elif tok == '"':
                raise _error_at(text, start, "unclosed string", source)
            items.append(tok)
            continue
        toks.append(tok)
        starts.append(start)
        if tok == "":
            return Tokens(text, toks, starts, annotations, source)
