"""The WebAssembly text format: from ``.wat`` text to the binary format, in pure Python.

``wat2wasm(text)`` accepts the whole Wasm 3.0 text syntax: ``(module ...)`` or bare module
fields, folded and plain instructions, every abbreviation (inline imports, exports, ``elem`` and
``data``, type uses with implicit types), identifiers for every index space, every literal form,
``(module binary ...)`` and ``(module quote ...)``, and the ``@custom`` / ``@name`` annotations
(other annotations are ignored, as the spec says). Malformed text raises :class:`ParseError`
with the line and column of the offending token and what was expected.

* :mod:`.lexer` splits text into tokens;
* :mod:`.literals` decodes strings and numbers;
* :mod:`.cursor` reads tokens (identifiers, indices, errors by line and column);
* :mod:`.types` parses types and type uses;
* :mod:`.instructions` is the table of instruction names, opcodes and immediates;
* :mod:`.body` parses instruction sequences;
* :mod:`.parser` parses modules and encodes their sections;
* :mod:`.custom` encodes custom sections and the name section;
* :mod:`.printer` prints a binary module as text (``wasm2wat``);
* :mod:`.encode` writes LEB128 integers, vectors, names and sections.
"""

from __future__ import annotations

import re

from ..errors import ParseError

__all__ = ["ParseError", "as_binary", "looks_like_text", "wasm2wat", "wat2wasm"]


def wat2wasm(text: str | bytes, *, source: str | None = None, version: int = 3) -> bytes:
    """Encode a module written in the text format.

    ``text`` is a ``str``, or UTF-8 ``bytes``. ``source`` (e.g. a file name) prefixes error
    messages. ``version=2`` reads the Wasm 2.0 text format, whose limits and memory offsets are
    32-bit numbers (larger ones are malformed); the default, 3, allows 64-bit ones (too large
    for a 32-bit memory is then a validation error).

    Raises:
        ParseError: the text is malformed (with ``line``, ``column`` and ``reason``).
    """
    from .parser import parse_wat, wat_bytes_to_wasm

    if isinstance(text, bytes | bytearray | memoryview):
        return wat_bytes_to_wasm(bytes(text), source=source, version=version)
    if not isinstance(text, str):
        raise TypeError(f"expected the module's text, got {type(text).__name__}")
    return parse_wat(text, source=source, version=version)


def wasm2wat(wasm: bytes) -> str:
    """Print a binary module in the text format (the Wasm 2.0 feature set that wasm2py's
    decoder reads; see :mod:`.printer`).

    Raises:
        DecodeError: the binary is malformed.
    """
    from .printer import wasm2wat as _print

    return _print(bytes(wasm))


def looks_like_text(data: bytes | str) -> bool:
    """True if ``data`` is to be read as the text format: any ``str``; bytes that, after white
    space, start with ``(`` or ``;`` (a module, a field or a comment). Anything else is a
    binary, which the decoder accepts or rejects (a damaged ``.wasm`` file says "magic header
    not detected" rather than reporting a text syntax error)."""
    if isinstance(data, str):
        return True
    return _TEXT_START.match(data) is not None


_TEXT_START = re.compile(rb"[ \t\r\n]*[(;]")


def as_binary(wasm: bytes | bytearray | memoryview | str, *, source: str | None = None) -> bytes:
    """A module's binary from what a user handed over: text (see :func:`looks_like_text`) is
    parsed with :func:`wat2wasm`, other bytes are returned as they are.

    Raises:
        ParseError: text that is malformed.
        TypeError: neither bytes nor text.
    """
    if isinstance(wasm, str):
        return wat2wasm(wasm, source=source)
    if isinstance(wasm, bytes | bytearray | memoryview):
        data = bytes(wasm)
        return wat2wasm(data, source=source) if looks_like_text(data) else data
    raise TypeError(f"expected the module's bytes or text, got {type(wasm).__name__}")
