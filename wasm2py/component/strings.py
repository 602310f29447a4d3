"""Strings in linear memory: decoding (with validation) and encoding with transcoding between
``utf8``, ``utf16`` and ``latin1+utf16`` (``CanonicalABI.md``, *Loading* / *Storing* strings).

Encoding follows the spec's allocation sequence exactly (the first ``realloc`` guesses from the
source's code units, later ones grow or shrink), since a component can observe its ``realloc``
calls. Every range check traps as the spec requires.
"""

from __future__ import annotations

from ..errors import TrapCode
from .abi import align_to
from .handles import trap
from .values import WasmString

#: the largest string in bytes
MAX_STRING_BYTE_LENGTH = (1 << 28) - 1


def utf16_tag(ptr: int) -> int:
    """The bit of the code-unit count that marks a ``latin1+utf16`` string as UTF-16."""
    return 1 << (ptr * 8 - 1)


def _bad(msg: str):
    return trap(TrapCode.BAD_POINTER, msg)


def load_string_from_range(cx, ptr: int, tagged_code_units: int) -> WasmString:
    """Decode the string at ``ptr`` (code units, tagged for ``latin1+utf16``)."""
    enc = cx.opts.encoding
    units = tagged_code_units
    if enc == "utf8":
        align, nbytes, codec, simple = 1, units, "utf-8", "utf8"
    elif enc == "utf16":
        align, nbytes, codec, simple = 2, 2 * units, "utf-16-le", "utf16"
    else:
        tag = utf16_tag(cx.opts.ptr)
        align = 2
        if units & tag:
            units ^= tag
            nbytes, codec, simple = 2 * units, "utf-16-le", "utf16"
        else:
            nbytes, codec, simple = units, "latin-1", "latin1"
    if nbytes > MAX_STRING_BYTE_LENGTH:
        raise _bad("string content out-of-bounds")
    if ptr != align_to(ptr, align):
        raise _bad("unaligned pointer")
    mem = cx.opts.memory.view
    if ptr + nbytes > len(mem):
        raise _bad("string content out-of-bounds")
    try:
        s = bytes(mem[ptr : ptr + nbytes]).decode(codec)
    except UnicodeDecodeError as e:
        raise trap(TrapCode.INVALID_VALUE, f"invalid {codec} string: {e.reason}") from None
    return WasmString(s, enc, simple, units)


def source_of(v: str) -> tuple[str, str, str, int]:
    """(text, source encoding option, simple encoding, code units) of a string value; strings
    from Python count as UTF-8."""
    if isinstance(v, WasmString):
        return v, v.encoding, v.simple, v.code_units
    if not isinstance(v, str):
        raise TypeError(f"expected a str, got {type(v).__name__}")
    try:
        n = len(v.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("string contains surrogate code points") from None
    return v, "utf8", "utf8", n


def store_string_into_range(cx, v) -> tuple[int, int]:
    """Encode string ``v`` into newly allocated memory; returns (pointer, tagged code units)."""
    src, src_enc, simple, units = source_of(v)
    dst = cx.opts.encoding
    if dst == "utf8":
        if simple == "utf8":
            return _copy(cx, src, units, 1, 1, "utf-8")
        if simple == "utf16":
            return _to_utf8(cx, src, units, units * 3)
        return _to_utf8(cx, src, units, units * 2)
    if dst == "utf16":
        if simple == "utf8":
            return _utf8_to_utf16(cx, src, units)
        return _copy(cx, src, units, 2, 2, "utf-16-le")
    if src_enc in ("utf8", "utf16"):
        return _to_latin1_or_utf16(cx, src, units)
    if simple == "latin1":
        return _copy(cx, src, units, 1, 2, "latin-1")
    return _probably_utf16(cx, src, units)


def _check(cx, ptr: int, size: int, align: int = 1) -> None:
    if ptr != align_to(ptr, align):
        raise _bad("unaligned pointer")
    if ptr + size > len(cx.opts.memory.view):
        raise _bad("string pointer/length out of bounds of memory")


def _copy(cx, src: str, units: int, unit_size: int, align: int, codec: str):
    nbytes = unit_size * units
    ptr = cx.allocate(align, nbytes)
    _check(cx, ptr, nbytes, align)
    data = src.encode(codec, "surrogatepass")
    cx.opts.memory.view[ptr : ptr + len(data)] = data
    return ptr, units


def _to_utf8(cx, src: str, units: int, worst: int):
    ptr = cx.allocate(1, units)
    _check(cx, ptr, units)
    mem = cx.opts.memory.view
    for i, c in enumerate(src):
        o = ord(c)
        if o < 0x80:
            mem[ptr + i] = o
            continue
        ptr = cx.reallocate(ptr, units, 1, worst)
        _check(cx, ptr, worst)
        data = src.encode("utf-8")
        cx.opts.memory.view[ptr + i : ptr + len(data)] = data[i:]
        if worst > len(data):
            ptr = cx.reallocate(ptr, worst, 1, len(data))
            _check(cx, ptr, len(data))
        return ptr, len(data)
    return ptr, units


def _utf8_to_utf16(cx, src: str, units: int):
    worst = 2 * units
    ptr = cx.allocate(2, worst)
    _check(cx, ptr, worst, 2)
    data = src.encode("utf-16-le")
    cx.opts.memory.view[ptr : ptr + len(data)] = data
    if len(data) < worst:
        ptr = cx.reallocate(ptr, worst, 2, len(data))
        _check(cx, ptr, len(data), 2)
    return ptr, len(data) // 2


def _to_latin1_or_utf16(cx, src: str, units: int):
    ptr = cx.allocate(2, units)
    _check(cx, ptr, units, 2)
    n = 0
    for c in src:
        o = ord(c)
        if o < 0x100:
            cx.opts.memory.view[ptr + n] = o
            n += 1
            continue
        worst = 2 * units
        ptr = cx.reallocate(ptr, units, 2, worst)
        _check(cx, ptr, worst, 2)
        mem = cx.opts.memory.view
        # widen the Latin-1 prefix in place, back to front
        for j in range(n - 1, -1, -1):
            mem[ptr + 2 * j] = mem[ptr + j]
            mem[ptr + 2 * j + 1] = 0
        data = src.encode("utf-16-le")
        mem[ptr + 2 * n : ptr + len(data)] = data[2 * n :]
        if worst > len(data):
            ptr = cx.reallocate(ptr, worst, 2, len(data))
            _check(cx, ptr, len(data), 2)
        return ptr, (len(data) // 2) | utf16_tag(cx.opts.ptr)
    if n < units:
        ptr = cx.reallocate(ptr, units, 2, n)
        _check(cx, ptr, n, 2)
    return ptr, n


def _probably_utf16(cx, src: str, units: int):
    nbytes = 2 * units
    ptr = cx.allocate(2, nbytes)
    _check(cx, ptr, nbytes, 2)
    data = src.encode("utf-16-le")
    mem = cx.opts.memory.view
    mem[ptr : ptr + len(data)] = data
    if any(ord(c) >= 0x100 for c in src):
        return ptr, (len(data) // 2) | utf16_tag(cx.opts.ptr)
    n = len(data) // 2
    for i in range(n):
        mem[ptr + i] = mem[ptr + 2 * i]
    ptr = cx.reallocate(ptr, nbytes, 1, n)
    _check(cx, ptr, n)
    return ptr, n
