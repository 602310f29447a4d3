"""Literals of the text format: strings, integers and floats (as the bits they encode to).

Each function takes a token's text and returns the value, or raises :class:`ValueError` with the
reason (the parser turns it into a :class:`~wasm2py.errors.ParseError` at the token). Floats are
rounded to nearest, ties to even, exactly as the spec requires for every literal form: decimal
and hexadecimal mantissas, ``inf``, ``nan`` and ``nan:0x...`` payloads.
"""

from __future__ import annotations

import codecs
import math
import re
import struct

_NUM = r"[0-9](?:_?[0-9])*"
_HEXNUM = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_NAT_RE = re.compile(rf"(?:({_NUM})|0x({_HEXNUM}))\Z")
_INT_RE = re.compile(rf"([+-]?)(?:({_NUM})|0x({_HEXNUM}))\Z")
_FLOAT_RE = re.compile(
    rf"([+-]?)(?:"
    rf"({_NUM})(?:\.({_NUM})?)?(?:[eE]([+-]?{_NUM}))?"
    rf"|0x({_HEXNUM})(?:\.({_HEXNUM})?)?(?:[pP]([+-]?{_NUM}))?"
    rf"|(inf)|(nan)(?::0x({_HEXNUM}))?"
    rf")\Z"
)
_ESCAPE_RE = re.compile(
    r"\\(?:([0-9a-fA-F]{2})|u\{(" + _HEXNUM + r")\}|([nrt\\'\"]))|([^\\]+)|(\\.?)", re.S
)
_SIMPLE_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "'": b"'", '"': b'"'}

OUT_OF_RANGE = "constant out of range"


# --- strings ---------------------------------------------------------------------------------


_HEX_ESCAPE = re.compile(r"\\([0-9a-fA-F]{2})")
_OTHER_ESCAPE = re.compile(r"\\(?![0-9a-fA-F]{2}|[nrt'\"])")


def decode_string(tok: str) -> bytes:
    """The bytes a string token (quotes included) stands for.

    Raises:
        ValueError: an illegal escape, or a ``\\u{...}`` that is not a Unicode scalar value.
    """
    inner = tok[1:-1]
    if "\\" not in inner:
        return inner.encode("utf-8")
    # Escaped backslashes become NUL (never raw in a string token), so that each remaining
    # backslash starts an escape; byte escapes become Python's \\xhh, and the codec that reads
    # Python's escapes does the rest (n, r, t, quotes; UTF-8 bytes pass through).
    s = inner.replace("\\\\", "\0")
    if _OTHER_ESCAPE.search(s) is None:
        s = _HEX_ESCAPE.sub(r"\\x\1", s).replace("\0", "\\x5c")
        return codecs.escape_decode(s.encode("utf-8"))[0]
    return _decode_escapes(inner)


def _decode_escapes(inner: str) -> bytes:
    """String escapes one by one (``\\u{...}``, and errors)."""
    out = bytearray()
    for m in _ESCAPE_RE.finditer(inner):
        hexbyte, code, simple, plain, bad = m.groups()
        if plain is not None:
            out += plain.encode("utf-8")
        elif hexbyte is not None:
            out.append(int(hexbyte, 16))
        elif simple is not None:
            out += _SIMPLE_ESCAPES[simple]
        elif code is not None:
            n = int(code.replace("_", ""), 16)
            if n >= 0x110000 or 0xD800 <= n < 0xE000:
                raise ValueError(f"malformed Unicode escape \\u{{{code}}}")
            out += chr(n).encode("utf-8")
        else:
            raise ValueError(f"illegal escape {bad!r}")
    return bytes(out)


def decode_name(tok: str) -> str:
    """A string token that must be valid UTF-8 (import/export names, identifiers)."""
    raw = decode_string(tok)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("malformed UTF-8 encoding") from None


# --- integers --------------------------------------------------------------------------------


def parse_nat(tok: str) -> int | None:
    """An unsigned literal (``123``, ``0x7b``, underscores between digits), or ``None`` if
    ``tok`` is not one."""
    if tok.isdigit():  # tokens are ASCII: plain decimal digits
        return int(tok)
    m = _NAT_RE.match(tok)
    if m is None:
        return None
    dec, hexa = m.groups()
    if dec is not None:
        return int(dec) if "_" not in dec else int(dec.replace("_", ""))
    return int(hexa.replace("_", ""), 16)


def parse_int(tok: str, bits: int) -> int:
    """An ``i32``/``i64`` literal as its *signed* value: accepted from ``-2**(bits-1)`` to
    ``2**bits - 1``, the upper half wrapping to negative.

    Raises:
        ValueError: not an integer literal, or out of range.
    """
    m = _INT_RE.match(tok)
    if m is None:
        raise ValueError(f"expected an i{bits} literal, found {tok!r}")
    sign, dec, hexa = m.groups()
    n = int(dec.replace("_", "")) if dec is not None else int(hexa.replace("_", ""), 16)
    if sign == "-":
        if n > 1 << (bits - 1):
            raise ValueError(f"i{bits} constant out of range: {tok}")
        return -n
    if n >> bits:
        raise ValueError(f"i{bits} constant out of range: {tok}")
    return n - (1 << bits) if n >> (bits - 1) else n


def parse_lane_int(tok: str, bits: int) -> int:
    """A vector lane integer (``i8``..``i64``) as its unsigned bit pattern."""
    return parse_int(tok, bits) & ((1 << bits) - 1)


# --- floats ----------------------------------------------------------------------------------

# (mantissa bits, exponent bits) of the two formats
_F32 = (23, 8)
_F64 = (52, 11)


def _round_to_bits(num: int, den: int, exp2: int, fmt: tuple[int, int]) -> int:
    """The bits (sign excluded) of the float nearest to ``num / den * 2**exp2`` (ties to even).

    Raises:
        ValueError: the value rounds to infinity.
    """
    mant, expw = fmt
    if num == 0:
        return 0
    bias = (1 << (expw - 1)) - 1
    b = num.bit_length() - den.bit_length()
    if (num >= den << b) if b >= 0 else (num << -b >= den):
        e = b + exp2
    else:
        e = b - 1 + exp2
    e = max(e, 1 - bias)  # subnormals share the smallest normal exponent's scale
    shift = exp2 - (e - mant)
    if shift >= 0:
        q, r = divmod(num << shift, den)
        d = den
    else:
        d = den << -shift
        q, r = divmod(num, d)
    if 2 * r > d or (2 * r == d and q & 1):
        q += 1
    if q >> (mant + 1):
        q >>= 1
        e += 1
    if e + bias >= (1 << expw) - 1:
        raise ValueError(OUT_OF_RANGE)
    if q >> mant == 0:  # subnormal (or zero)
        return q
    return ((e + bias) << mant) | (q & ((1 << mant) - 1))


def _decimal_bits(digits: str, exp10: int, fmt: tuple[int, int]) -> int:
    d = int(digits)
    if d == 0:
        return 0
    # Far outside any float's range: skip the huge powers of ten.
    if exp10 + len(digits) > 400:
        raise ValueError(OUT_OF_RANGE)
    if exp10 + len(digits) < -400:
        return 0
    if exp10 >= 0:
        return _round_to_bits(d * 10**exp10, 1, 0, fmt)
    return _round_to_bits(d, 10**-exp10, 0, fmt)


def _is_f32_midpoint(x: float) -> bool:
    """True if the (positive, finite) double ``x`` lies exactly halfway between two floats."""
    e = math.frexp(x)[1]
    scaled = math.ldexp(x, 25 - e) if e - 1 >= -126 else math.ldexp(x, 150)
    return scaled.is_integer() and int(scaled) & 1 == 1


def _f32_bits(x: float, sign_bit: int) -> int | None:
    """The f32 bits of the (non-negative) double ``x`` when rounding it again gives the right
    answer, i.e. ``x`` is not exactly halfway between two floats; ``None`` otherwise.

    Raises:
        ValueError: ``x`` rounds to infinity.
    """
    if x != 0.0 and _is_f32_midpoint(x):
        return None
    try:
        return _unpack_u32(_pack_f32(x))[0] | sign_bit
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None


_pack_f32 = struct.Struct("<f").pack
_pack_f64 = struct.Struct("<d").pack
_unpack_u32 = struct.Struct("<I").unpack
_unpack_u64 = struct.Struct("<Q").unpack


def parse_float(tok: str, bits: int) -> int:
    """An ``f32``/``f64`` literal as its bit pattern (integers are accepted too).

    Decimal and hexadecimal literals are first rounded to a double by ``float`` /
    ``float.fromhex`` (both round correctly); for ``f32`` that double is rounded again, which
    is exact unless the double lies exactly halfway between two ``f32`` values: those (rare)
    literals are rounded from their exact value.

    Raises:
        ValueError: not a float literal, a NaN payload out of range, or a value that rounds to
            infinity.
    """
    m = _FLOAT_RE.match(tok)
    if m is None:
        raise ValueError(f"expected an f{bits} literal, found {tok!r}")
    sign, dint, dfrac, dexp, hint, hfrac, hexp, inf, nan, payload = m.groups()
    fmt = _F32 if bits == 32 else _F64
    mant, expw = fmt
    sign_bit = (1 << (bits - 1)) if sign == "-" else 0
    clean = tok.replace("_", "") if "_" in tok else tok
    if dint is not None or hint is not None:
        if sign:
            clean = clean[1:]
        try:
            x = float(clean) if dint is not None else float.fromhex(clean)
        except OverflowError:
            raise ValueError(f"f{bits} constant out of range: {tok}") from None
        if x == math.inf:
            raise ValueError(f"f{bits} constant out of range: {tok}")
        if bits == 64:
            return _unpack_u64(_pack_f64(x))[0] | sign_bit
        try:
            out = _f32_bits(x, sign_bit)
        except ValueError:
            raise ValueError(f"f32 constant out of range: {tok}") from None
        if out is not None:
            return out
        # exactly halfway after the first rounding: round the exact value instead
        try:
            if dint is not None:
                frac = (dfrac or "").replace("_", "")
                exp10 = int(dexp.replace("_", "")) if dexp else 0
                return (_decimal_bits(dint.replace("_", "") + frac, exp10 - len(frac), fmt)
                        | sign_bit)
            frac = (hfrac or "").replace("_", "")
            n = int(hint.replace("_", "") + frac, 16)
            exp2 = (int(hexp.replace("_", "")) if hexp else 0) - 4 * len(frac)
            return _round_to_bits(n, 1, exp2, fmt) | sign_bit
        except ValueError:
            raise ValueError(f"f32 constant out of range: {tok}") from None
    all_ones = ((1 << expw) - 1) << mant
    if inf is not None:
        return all_ones | sign_bit
    if payload is None:
        return all_ones | (1 << (mant - 1)) | sign_bit
    p = int(payload.replace("_", ""), 16)
    if p == 0 or p >> mant:
        raise ValueError(f"NaN payload out of range for f{bits} (1 to 2**{mant}-1): {tok}")
    return all_ones | p | sign_bit
