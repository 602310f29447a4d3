"""Decoding and matching of the values found in ``json-from-wast`` output.

Everything here is pure Python on integers and strings: it does not import :mod:`wasm2py`, so it
can be unit-tested on its own. The runner converts between wasm2py's runtime values and bit
patterns (``f32_to_bits`` etc.) and calls into this module for the rest.

In the JSON, every numeric value is a decimal string: i32/i64 give the integer (usually the
unsigned bit pattern, sometimes a negative number), f32/f64 give the unsigned bit pattern of the
float, or one of the NaN patterns ``nan:canonical`` / ``nan:arithmetic`` in expected results.
References are ``"null"`` or (for externref) a small integer ``N`` standing for ``ref.extern N``;
an expected reference without a ``value`` means "any non-null reference".
"""

from __future__ import annotations

from dataclasses import dataclass

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1

F32_SIGN = 1 << 31
F32_EXP = 0x7F800000
F32_QUIET = 0x00400000
F32_FRAC = 0x007FFFFF
F64_SIGN = 1 << 63
F64_EXP = 0x7FF0000000000000
F64_QUIET = 0x0008000000000000
F64_FRAC = 0x000FFFFFFFFFFFFF

NAN_CANONICAL = "nan:canonical"
NAN_ARITHMETIC = "nan:arithmetic"

INT_BITS = {"i32": 32, "i64": 64}
FLOAT_TYPES = ("f32", "f64")
REF_TYPES = ("funcref", "externref", "exnref", "anyref", "eqref", "i31ref", "structref",
             "arrayref")  # fmt: skip


class UnsupportedValue(Exception):
    """A value whose type the harness (or the runtime's API) cannot handle."""


@dataclass(frozen=True, slots=True)
class ExternRef:
    """The host value standing for the spec's ``ref.extern N``: equal iff the numbers are equal."""

    n: int

    def __repr__(self) -> str:
        return f"ref.extern {self.n}"


def to_signed(value: int, bits: int) -> int:
    """Interpret the low ``bits`` bits of ``value`` as a two's-complement signed integer."""
    mask = (1 << bits) - 1
    value &= mask
    return value - (1 << bits) if value >> (bits - 1) else value


def to_unsigned(value: int, bits: int) -> int:
    """The low ``bits`` bits of ``value`` as an unsigned integer."""
    return value & ((1 << bits) - 1)


def parse_int(text: str, bits: int) -> int:
    """Parse a JSON integer value (decimal, either signed or the unsigned bit pattern) to the
    *signed* value of that width."""
    return to_signed(int(text, 10), bits)


def parse_float_bits(text: str, bits: int) -> int:
    """Parse a JSON float value (decimal string of the bit pattern) to the unsigned bit pattern."""
    if text in (NAN_CANONICAL, NAN_ARITHMETIC):
        raise ValueError(f"{text} is only allowed in expected results")
    return to_unsigned(int(text, 10), bits)


def is_canonical_nan(bits: int, width: int) -> bool:
    """True if ``bits`` is a canonical NaN (either sign): exponent all ones, only the quiet bit set
    in the fraction."""
    if width == 32:
        return bits & ~F32_SIGN & MASK32 == F32_EXP | F32_QUIET
    return bits & ~F64_SIGN & MASK64 == F64_EXP | F64_QUIET


def is_arithmetic_nan(bits: int, width: int) -> bool:
    """True if ``bits`` is an arithmetic NaN (either sign): exponent all ones and the quiet bit set
    (any payload)."""
    if width == 32:
        return bits & (F32_EXP | F32_QUIET) == F32_EXP | F32_QUIET
    return bits & (F64_EXP | F64_QUIET) == F64_EXP | F64_QUIET


def float_bits_match(actual_bits: int, expected: str, width: int) -> bool:
    """Compare a float result (as its bit pattern) with an expected JSON float value."""
    if expected == NAN_CANONICAL:
        return is_canonical_nan(actual_bits, width)
    if expected == NAN_ARITHMETIC:
        return is_arithmetic_nan(actual_bits, width)
    return to_unsigned(actual_bits, width) == parse_float_bits(expected, width)


def int_match(actual: object, expected: str, bits: int) -> bool:
    """Compare an integer result (signed or unsigned) with an expected JSON integer value."""
    if not isinstance(actual, int) or isinstance(actual, bool):
        return False
    return to_unsigned(actual, bits) == to_unsigned(int(expected, 10), bits)


def describe_float_bits(bits: int, width: int) -> str:
    """A readable rendering of a float bit pattern, for failure messages."""
    import struct

    if width == 32:
        exp, frac, sign = bits & F32_EXP, bits & F32_FRAC, bits >> 31
        if exp == F32_EXP and frac:
            kind = "nan" if frac & F32_QUIET else "snan"
            return f"{'-' if sign else ''}{kind}:{frac:#x} ({bits:#010x})"
        (value,) = struct.unpack("<f", struct.pack("<I", bits & MASK32))
        return f"{value!r} ({bits:#010x})"
    exp, frac, sign = bits & F64_EXP, bits & F64_FRAC, bits >> 63
    if exp == F64_EXP and frac:
        kind = "nan" if frac & F64_QUIET else "snan"
        return f"{'-' if sign else ''}{kind}:{frac:#x} ({bits:#018x})"
    (value,) = struct.unpack("<d", struct.pack("<Q", bits & MASK64))
    return f"{value!r} ({bits:#018x})"


#: lane type of a v128 value -> lane width in bits
V128_LANE_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "f32": 32, "f64": 64}


def parse_v128(value: dict) -> int:
    """A JSON v128 argument (``lane_type`` and a list of lane strings) as an unsigned 128-bit int
    (lane 0 in the low bits)."""
    lt = value.get("lane_type")
    w = V128_LANE_BITS[lt]
    out = 0
    for i, text in enumerate(value["value"]):
        if lt in FLOAT_TYPES:
            lane = parse_float_bits(text, w)
        else:
            lane = to_unsigned(int(text, 10), w)
        out |= lane << (i * w)
    return out


def v128_match(actual: object, value: dict) -> bool:
    """Compare a v128 result (an int) with an expected JSON v128 value, lane by lane (NaN
    patterns per float lane)."""
    if not isinstance(actual, int) or isinstance(actual, bool):
        return False
    lt = value.get("lane_type")
    w = V128_LANE_BITS[lt]
    mask = (1 << w) - 1
    for i, text in enumerate(value["value"]):
        lane = (actual >> (i * w)) & mask
        if lt in FLOAT_TYPES:
            if not float_bits_match(lane, text, w):
                return False
        elif lane != to_unsigned(int(text, 10), w):
            return False
    return True


def describe_expected(value: dict) -> str:
    """Render an expected JSON value for failure messages."""
    typ = value.get("type")
    text = value.get("value")
    if typ in INT_BITS and isinstance(text, str):
        bits = INT_BITS[typ]
        return f"{typ}:{parse_int(text, bits)}"
    if typ in FLOAT_TYPES and isinstance(text, str):
        if text in (NAN_CANONICAL, NAN_ARITHMETIC):
            return f"{typ}:{text}"
        width = 32 if typ == "f32" else 64
        return f"{typ}:{describe_float_bits(parse_float_bits(text, width), width)}"
    if typ == "v128" and isinstance(text, list):
        return f"v128:{value.get('lane_type')}x[{' '.join(text)}]"
    if typ in REF_TYPES:
        if text is None:
            return f"{typ}:<non-null>"
        return f"{typ}:{text}"
    return repr(value)


# --- trap messages ----------------------------------------------------------------------------

#: Expected trap texts of the spec suite whose wording differs from the runtime's (the spec's
#: reference interpreter says "undefined element" for a call_indirect index past the table end;
#: engines, wasm2py included, report that as an out-of-bounds table access).
TRAP_ALIASES: dict[str, tuple[str, ...]] = {
    "undefined element": ("out of bounds table access",),
}


def trap_message_matches(expected: str, actual: str) -> bool:
    """Loose comparison of an expected trap text with the runtime's trap message.

    Matches when the expected text occurs in the message; when the expected text is the message
    followed by extra detail (``"uninitialized element 2"`` vs ``"uninitialized element"``); or
    through :data:`TRAP_ALIASES`.
    """
    expected = expected.strip()
    actual = actual.strip()
    if not expected:
        return True
    if expected in actual:
        return True
    first_line = actual.splitlines()[0] if actual else ""
    if first_line and expected.startswith(first_line):
        return True
    return any(alias in actual for alias in TRAP_ALIASES.get(expected, ()))
