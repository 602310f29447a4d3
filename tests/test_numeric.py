"""Tests of wasm2py.runtime.numeric against independent references.

References used (never the implementation's own output):

* the official spec testsuite's single-instruction assertions (``conversions.wast``,
  ``f32.wast``, ``f64.wast``, ``float_misc.wast``, ``i32.wast``, ``i64.wast``), parsed here,
  with float literals rounded exactly from :class:`fractions.Fraction` values;
* numpy float32/float64 arithmetic, rounding and conversions;
* ``struct`` bit patterns;
* exact rational arithmetic (``fractions``) for correctly rounded int -> float conversions and
  for float -> int truncation bounds;
* straightforward bit-string reformulations of the integer operations.
"""

from __future__ import annotations

import builtins
import inspect
import math
import re
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from wasm2py.errors import Trap, TrapCode
from wasm2py.runtime import numeric as N

SPEC_DIR = Path("/work/shared/spec/wasm-2.0")

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

# ------------------------------------------------------------------------------------------
# Independent bit-level helpers (struct only)
# ------------------------------------------------------------------------------------------


def d2b(x: float) -> int:
    """The bits of a double (struct: memcpy, exact)."""
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def b2d(u: int) -> float:
    """The double with bits ``u`` (struct: memcpy, exact)."""
    return struct.unpack("<d", struct.pack("<Q", u))[0]


def f32repr(u: int) -> float:
    """The specified f32 representation of the f32 bit pattern ``u`` (a u32)."""
    if (u & 0x7F800000) == 0x7F800000 and u & 0x7FFFFF:
        return b2d(((u >> 31) << 63) | 0x7FF0000000000000 | ((u & 0x7FFFFF) << 29))
    return float(np.array([u], dtype=np.uint32).view(np.float32)[0])


def f32bits(x: float) -> int:
    """The f32 bit pattern of an f32 representation, checking the representation invariant."""
    b = d2b(x)
    if x != x:
        assert b & ((1 << 29) - 1) == 0, f"f32 NaN representation with low bits: {b:#x}"
        return ((b >> 63) << 31) | 0x7F800000 | ((b >> 29) & 0x7FFFFF)
    f = np.float64(x).astype(np.float32)
    assert float(f) == x, f"{x!r} is not an f32 value"
    return int(np.array([f], dtype=np.float32).view(np.uint32)[0])


def np_f32(u: int) -> np.float32:
    """numpy float32 scalar with bit pattern ``u``."""
    return np.array([u], dtype=np.uint32).view(np.float32)[0]


def np_f32_bits(f: np.float32) -> int:
    """The bit pattern of a numpy float32 scalar."""
    return int(np.array([f], dtype=np.float32).view(np.uint32)[0])


def is_quiet_f64(b: int) -> bool:
    """Is the double bit pattern a quiet NaN?"""
    return (b & 0x7FF0000000000000) == 0x7FF0000000000000 and bool(b & 0x0008000000000000)


# ------------------------------------------------------------------------------------------
# Exact rounding of rationals to IEEE formats (reference for literals and int -> float)
# ------------------------------------------------------------------------------------------


def round_to_bits(q: Fraction, negative: bool, p: int, ebits: int) -> int:
    """Round the rational ``|q|`` to the IEEE binary format with ``p`` significand bits (hidden
    bit included) and ``ebits`` exponent bits, ties to even, overflow to infinity, and return
    the bit pattern (with the sign given by ``negative``)."""
    sign = (1 << (p - 1 + ebits)) if negative else 0
    a = abs(q)
    if a == 0:
        return sign
    emax = (1 << (ebits - 1)) - 1
    emin = 1 - emax
    e = a.numerator.bit_length() - a.denominator.bit_length()
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    e = max(e, emin)
    m = round(a / Fraction(2) ** (e - (p - 1)))  # Fraction.__round__: ties to even
    if m == 1 << p:
        m >>= 1
        e += 1
    if e > emax:
        return sign | (((1 << ebits) - 1) << (p - 1))
    if m < 1 << (p - 1):  # subnormal (e == emin)
        return sign | m
    return sign | ((e + emax) << (p - 1)) | (m - (1 << (p - 1)))


def ref_f32_bits(q: Fraction) -> int:
    """Correctly rounded f32 bits of a rational."""
    return round_to_bits(q, q < 0, 24, 8)


def ref_f64_bits(q: Fraction) -> int:
    """Correctly rounded f64 bits of a rational."""
    return round_to_bits(q, q < 0, 53, 11)


def test_reference_rounder_sanity():
    """The reference rounder agrees with known encodings."""
    assert ref_f32_bits(Fraction(1)) == 0x3F800000
    assert ref_f32_bits(Fraction(-2)) == 0xC0000000
    assert ref_f32_bits(Fraction(1, 2**149)) == 1
    assert ref_f32_bits(Fraction(1, 2**150)) == 0  # tie -> even (zero)
    assert ref_f32_bits(Fraction(3, 2**151)) == 1
    assert ref_f32_bits(Fraction(2**128)) == 0x7F800000
    assert ref_f32_bits(Fraction(2**128 - 2**104)) == 0x7F7FFFFF  # FLT_MAX
    assert ref_f32_bits(Fraction(2**128 - 2**103)) == 0x7F800000  # halfway: ties to even
    assert ref_f32_bits(Fraction(2**128 - 2**103 - 1)) == 0x7F7FFFFF
    assert ref_f64_bits(Fraction(1, 10)) == d2b(0.1)
    assert ref_f64_bits(Fraction(2**53 + 1)) == d2b(2.0**53)
    assert ref_f32_bits(Fraction(16777217)) == 0x4B800000  # 2**24 + 1 -> 2**24 (tie, even)
    assert ref_f32_bits(Fraction(16777219)) == 0x4B800002  # 2**24 + 3 -> 2**24 + 4


# ------------------------------------------------------------------------------------------
# A small .wast reader for the single-instruction spec assertions
# ------------------------------------------------------------------------------------------

_TOKEN = re.compile(r'\(;|;;[^\n]*|\(|\)|"(?:[^"\\]|\\.)*"|[^\s()";]+|\s+')


def _parse_sexprs(text: str) -> list:
    """Parse a .wast file into nested lists of atoms (comments dropped)."""
    stack: list[list] = [[]]
    i = 0
    while i < len(text):
        if text.startswith("(;", i):
            depth, i = 1, i + 2
            while depth:
                if text.startswith("(;", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith(";)", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        m = _TOKEN.match(text, i)
        assert m, text[i : i + 40]
        tok = m.group()
        i = m.end()
        if tok.isspace() or tok.startswith(";;"):
            continue
        if tok == "(":
            stack.append([])
        elif tok == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    assert len(stack) == 1
    return stack[0]


def _parse_int(tok: str, bits: int) -> int:
    tok = tok.replace("_", "")
    neg = tok.startswith("-")
    tok = tok.lstrip("+-")
    v = int(tok, 16) if tok.lower().startswith("0x") else int(tok)
    return (-v if neg else v) & ((1 << bits) - 1)


def _parse_float_fraction(tok: str) -> Fraction:
    """The exact rational value of a finite wasm float literal (without sign)."""
    tok = tok.replace("_", "")
    if tok.lower().startswith("0x"):
        body = tok[2:]
        exp = 0
        if "p" in body.lower():
            body, e = re.split("[pP]", body)
            exp = int(e)
        if "." in body:
            ip, fp = body.split(".")
        else:
            ip, fp = body, ""
        mant = int((ip or "0") + fp, 16)
        return Fraction(mant) * Fraction(2) ** (exp - 4 * len(fp))
    return Fraction(tok)


def _parse_float(tok: str, kind: str):
    """Parse an f32/f64 literal: returns the bit pattern, or 'canonical'/'arithmetic'."""
    p, ebits = (24, 8) if kind == "f32" else (53, 11)
    neg = tok.startswith("-")
    body = tok.lstrip("+-")
    sign = (1 << (p - 1 + ebits)) if neg else 0
    exp_all = ((1 << ebits) - 1) << (p - 1)
    if body == "inf":
        return sign | exp_all
    if body.startswith("nan"):
        if body == "nan:canonical":
            return "canonical"
        if body == "nan:arithmetic":
            return "arithmetic"
        payload = int(body[6:].replace("_", ""), 16) if body.startswith("nan:0x") else 1 << (p - 2)
        return sign | exp_all | payload
    return round_to_bits(_parse_float_fraction(body), neg, p, ebits)


def _parse_const(form: list):
    """``(t.const lit)`` -> (type, value bits or NaN class)."""
    head, lit = form[0], form[1]
    kind = head.split(".")[0]
    if kind in ("i32", "i64"):
        return kind, _parse_int(lit, int(kind[1:]))
    return kind, _parse_float(lit, kind)


def _arg_value(kind: str, v):
    if kind in ("i32", "i64"):
        return v
    return f32repr(v) if kind == "f32" else b2d(v)


def load_spec_cases(filename: str) -> list:
    """[(export name, [(kind, arg value)], expected)] of a .wast file, where expected is
    ``("return", kind, bits-or-class)`` or ``("trap", message)``."""
    forms = _parse_sexprs((SPEC_DIR / filename).read_text())
    cases = []
    for f in forms:
        if not f or f[0] not in ("assert_return", "assert_trap"):
            continue
        action = f[1]
        if action[0] != "invoke":
            continue
        name = action[1].strip('"')
        args = [_parse_const(a) for a in action[2:]]
        if f[0] == "assert_trap":
            cases.append((name, args, ("trap", f[2].strip('"'))))
        else:
            assert len(f) == 3, f
            kind, v = _parse_const(f[2])
            cases.append((name, args, ("return", kind, v)))
    return cases


# Helpers for each wasm op (where one exists); every op also has an INLINE form.
HELPERS = {
    "i32.div_s": N.i32_div_s, "i32.div_u": N.i32_div_u,
    "i32.rem_s": N.i32_rem_s, "i32.rem_u": N.i32_rem_u,
    "i64.div_s": N.i64_div_s, "i64.div_u": N.i64_div_u,
    "i64.rem_s": N.i64_rem_s, "i64.rem_u": N.i64_rem_u,
    "i32.clz": N.i32_clz, "i32.ctz": N.i32_ctz, "i32.popcnt": N.i32_popcnt,
    "i64.clz": N.i64_clz, "i64.ctz": N.i64_ctz, "i64.popcnt": N.i64_popcnt,
    "i32.rotl": N.i32_rotl, "i32.rotr": N.i32_rotr,
    "i64.rotl": N.i64_rotl, "i64.rotr": N.i64_rotr,
    "i32.shr_s": N.i32_shr_s, "i64.shr_s": N.i64_shr_s,
    "i32.extend8_s": N.i32_extend8_s, "i32.extend16_s": N.i32_extend16_s,
    "i64.extend8_s": N.i64_extend8_s, "i64.extend16_s": N.i64_extend16_s,
    "i64.extend32_s": N.i64_extend32_s, "i64.extend_i32_s": N.i64_extend_i32_s,
    "i32.wrap_i64": N.i32_wrap_i64,
    "f32.add": N.f32_add, "f32.sub": N.f32_sub, "f32.mul": N.f32_mul,
    "f32.div": N.f32_div, "f64.div": N.fdiv,
    "f32.sqrt": N.f32_sqrt, "f64.sqrt": N.fsqrt,
    "f32.min": N.fmin, "f64.min": N.fmin, "f32.max": N.fmax, "f64.max": N.fmax,
    "f32.ceil": N.f32_ceil, "f64.ceil": N.f64_ceil,
    "f32.floor": N.f32_floor, "f64.floor": N.f64_floor,
    "f32.trunc": N.f32_trunc, "f64.trunc": N.f64_trunc,
    "f32.nearest": N.f32_nearest, "f64.nearest": N.f64_nearest,
    "f32.abs": N.fabs, "f64.abs": N.fabs, "f32.neg": N.fneg, "f64.neg": N.fneg,
    "f32.copysign": N.fcopysign, "f64.copysign": N.fcopysign,
    "i32.trunc_f32_s": N.trunc_s32, "i32.trunc_f64_s": N.trunc_s32,
    "i32.trunc_f32_u": N.trunc_u32, "i32.trunc_f64_u": N.trunc_u32,
    "i64.trunc_f32_s": N.trunc_s64, "i64.trunc_f64_s": N.trunc_s64,
    "i64.trunc_f32_u": N.trunc_u64, "i64.trunc_f64_u": N.trunc_u64,
    "i32.trunc_sat_f32_s": N.trunc_sat_s32, "i32.trunc_sat_f64_s": N.trunc_sat_s32,
    "i32.trunc_sat_f32_u": N.trunc_sat_u32, "i32.trunc_sat_f64_u": N.trunc_sat_u32,
    "i64.trunc_sat_f32_s": N.trunc_sat_s64, "i64.trunc_sat_f64_s": N.trunc_sat_s64,
    "i64.trunc_sat_f32_u": N.trunc_sat_u64, "i64.trunc_sat_f64_u": N.trunc_sat_u64,
    "f32.convert_i32_s": N.f32_convert_s32, "f32.convert_i32_u": N.f32_convert_u32,
    "f32.convert_i64_s": N.f32_convert_s64, "f32.convert_i64_u": N.f32_convert_u64,
    "f64.convert_i32_s": N.f64_convert_s32, "f64.convert_i32_u": N.f64_convert_u32,
    "f64.convert_i64_s": N.f64_convert_s64, "f64.convert_i64_u": N.f64_convert_u64,
    "f32.demote_f64": N.f32_demote, "f64.promote_f32": N.f64_promote,
    "f32.reinterpret_i32": N.f32_from_bits, "f64.reinterpret_i64": N.f64_from_bits,
    "i32.reinterpret_f32": N.f32_to_bits, "i64.reinterpret_f64": N.f64_to_bits,
}  # fmt: skip

_PUBLIC_NS = {name: getattr(N, name) for name in N.__all__}


def inline_callable(op: str):
    """Compile ``INLINE[op]`` into a function of (a, b) over the module's public names."""
    src = N.INLINE[op].format(a="a", b="b")
    return eval(f"lambda a, b=None: {src}", dict(_PUBLIC_NS))


SPEC_FILES = {
    # file: prefix for export names ("" when names are already full mnemonics)
    "conversions.wast": "",
    "float_misc.wast": "",
    "f32.wast": "f32.",
    "f64.wast": "f64.",
    "i32.wast": "i32.",
    "i64.wast": "i64.",
}


def _check_result(op: str, got, expected, args) -> None:
    what = f"{op}{tuple(args)!r}"
    if expected[0] == "trap":
        raise AssertionError(f"{what}: expected trap {expected[1]!r}, got {got!r}")
    _, kind, want = expected
    if kind in ("i32", "i64"):
        assert type(got) is int, f"{what}: result {got!r} is not an int"
        assert got == want, f"{what}: got {got:#x}, want {want:#x}"
        return
    assert type(got) is float, f"{what}: result {got!r} is not a float"
    bits = f32bits(got) if kind == "f32" else d2b(got)
    if kind == "f32":
        quiet, payload_mask = 0x400000, 0x7FFFFF
        is_nan = (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF
    else:
        quiet, payload_mask = 1 << 51, (1 << 52) - 1
        is_nan = got != got
    if want == "canonical":
        assert is_nan and (bits & payload_mask) == quiet, f"{what}: {bits:#x} not canonical NaN"
    elif want == "arithmetic":
        assert is_nan and bits & quiet, f"{what}: {bits:#x} not an arithmetic NaN"
    else:
        assert bits == want, f"{what}: got {bits:#x}, want {want:#x}"


def _spec_params():
    params = []
    for filename, prefix in SPEC_FILES.items():
        cases = load_spec_cases(filename)
        assert len(cases) > 300, filename
        for source in ("helper", "inline"):
            params.append(pytest.param(filename, prefix, source, cases,
                                       id=f"{filename}-{source}"))
    return params


@pytest.mark.parametrize("filename, prefix, source, cases", _spec_params())
def test_spec_assertions(filename, prefix, source, cases):
    """Every single-instruction assert_return/assert_trap of the spec file holds."""
    checked = 0
    for name, args, expected in cases:
        op = prefix + name
        if source == "helper":
            fn = HELPERS.get(op)
            if fn is None:
                continue
        else:
            fn = inline_callable(op)
        values = [_arg_value(k, v) for k, v in args]
        try:
            got = fn(*values)
        except Trap as trap:
            assert expected[0] == "trap", f"{op}{values!r}: unexpected {trap.code}"
            assert trap.code is TrapCode(expected[1]), (op, values, trap.code, expected)
            checked += 1
            continue
        _check_result(op, got, expected, values)
        checked += 1
    assert checked > (50 if source == "helper" else 300)


# ------------------------------------------------------------------------------------------
# Module hygiene
# ------------------------------------------------------------------------------------------


def test_public_names_have_docstrings():
    for name in N.__all__:
        obj = getattr(N, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name


def test_inline_table_covers_all_numeric_ops_and_only_public_names():
    ops = set(N.INLINE)
    for t in ("i32", "i64"):
        for op in ("clz ctz popcnt add sub mul div_s div_u rem_s rem_u and or xor shl shr_s "
                   "shr_u rotl rotr eqz eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u "
                   "extend8_s extend16_s").split():
            assert f"{t}.{op}" in ops
    for t in ("f32", "f64"):
        for op in ("abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign "
                   "eq ne lt gt le ge").split():
            assert f"{t}.{op}" in ops
    assert len(ops) == 136
    # nan_t: the temporary of the NaN check (a local of generated code)
    allowed = set(N.__all__) | set(dir(builtins)) | {"bit_length", "bit_count", "nan_t"}
    for op, template in N.INLINE.items():
        code = compile(template.format(a="a", b="b"), op, "eval")
        assert set(code.co_names) - {"a", "b"} <= allowed, (op, code.co_names)
    for op, template in N.INLINE_BOOL.items():
        assert N.INLINE[op] == f"(1 if {template} else 0)"


def test_sign_ops_probe_on_x86_64():
    import platform

    if platform.machine().lower() in ("x86_64", "amd64"):
        assert N.SIGN_OPS_BIT_EXACT


# ------------------------------------------------------------------------------------------
# Bit patterns
# ------------------------------------------------------------------------------------------

u32s = st.integers(0, M32)
u64s = st.integers(0, M64)
# f32 NaN patterns and other special bit patterns get extra weight
f32_special_bits = st.sampled_from([
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x3F800000,
    0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
    0xFF800001, 0x7FA00000, 0x7FBFFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FC00001, 0x4B800000,
])  # fmt: skip
f32_bit_patterns = st.one_of(u32s, f32_special_bits, st.integers(0x7F800001, 0x7FFFFFFF),
                             st.integers(0xFF800001, 0xFFFFFFFF))
f64_special_bits = st.sampled_from([
    0, 1 << 63, 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF,
    0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
    0x7FF0000000000001, 0x7FF4000000000000, 0x7FFFFFFFFFFFFFFF, 0xFFF7FFFFFFFFFFFF,
])  # fmt: skip
f64_bit_patterns = st.one_of(u64s, f64_special_bits,
                             st.integers(0x7FF0000000000001, 0x7FFFFFFFFFFFFFFF))


@given(f64_bit_patterns)
def test_f64_bits_roundtrip(u):
    x = N.f64_from_bits(u)
    assert d2b(x) == u
    assert N.f64_to_bits(x) == u
    assert N.f64_to_bits(b2d(u)) == u


@given(f32_bit_patterns)
def test_f32_bits_roundtrip(u):
    x = N.f32_from_bits(u)
    assert type(x) is float
    assert d2b(x) == d2b(f32repr(u))  # the specified representation, bit for bit
    assert N.f32_to_bits(x) == u
    assert f32bits(x) == u


def test_f32_signalling_nan_not_quieted():
    x = N.f32_from_bits(0x7FA00000)
    assert d2b(x) == 0x7FF4000000000000  # payload 0x200000 << 29, quiet bit clear
    assert N.f32_to_bits(x) == 0x7FA00000
    assert N.f32_to_bits(N.f32_from_bits(0xFF800001)) == 0xFF800001
    assert N.f64_to_bits(N.f64_from_bits(0x7FF0000000000001)) == 0x7FF0000000000001


@given(f32_bit_patterns)
def test_f32_from_bits_matches_numpy_for_non_nan(u):
    f = np_f32(u)
    assume(not np.isnan(f))
    assert d2b(N.f32_from_bits(u)) == d2b(float(f))


def test_f32_to_bits_foreign_nan_is_not_infinity():
    # a double NaN whose payload is only in the low 29 bits must not become an f32 infinity
    b = N.f32_to_bits(b2d(0x7FF0000000000001))
    assert (b & 0x7F800000) == 0x7F800000 and b & 0x7FFFFF


# ------------------------------------------------------------------------------------------
# f32 rounding and f32 arithmetic (double rounding is innocuous)
# ------------------------------------------------------------------------------------------

doubles = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.builds(b2d, f64_bit_patterns))


@given(doubles)
@example(3.4028235677973366e38)  # halfway between FLT_MAX and 2**128: ties to even -> inf
@example(3.4028235677973362e38)  # just below halfway -> FLT_MAX
@example(1e300)
@example(-1e300)
@example(2.0**-150)  # tie between 0 and the smallest subnormal -> 0
@example(2.0**-150 * 1.0000001)
@example(-(2.0**-150))
def test_f32_round_matches_exact_reference_and_numpy(x):
    r = N.f32_round(x)
    assert type(r) is float
    if x != x:
        assert r != r
        return
    if math.isinf(x):
        assert r == x
        return
    want = ref_f32_bits(Fraction(x)) if x != 0 else (0x80000000 if d2b(x) >> 63 else 0)
    assert f32bits(r) == want
    with np.errstate(all="ignore"):
        assert f32bits(r) == np_f32_bits(np.float32(x))


def test_f32_round_inline_form_is_f32_round():
    ns = dict(_PUBLIC_NS)
    form = eval("lambda x: f32_unpack(f32_pack(x))[0]", ns)
    for x in (1.1, -1e300, 1e300, 3.4028235677973366e38, 2.0**-149, 2.0**-150, -0.0, math.inf):
        assert d2b(form(x)) == d2b(N.f32_round(x))


f32_values = st.one_of(st.floats(width=32), st.builds(f32repr, f32_bit_patterns))


def _np_binop(op, a, b):
    fa, fb = np.float32(a), np.float32(b)
    with np.errstate(all="ignore"):
        return {"+": fa + fb, "-": fa - fb, "*": fa * fb, "/": fa / fb}[op]


def _assert_same_f32(got, want: np.float32):
    if np.isnan(want):
        assert got != got
        b = d2b(got)
        assert b & ((1 << 29) - 1) == 0  # stays an f32 representation
    else:
        assert f32bits(got) == np_f32_bits(want)


@settings(max_examples=600)
@given(f32_values, f32_values)
def test_f32_arithmetic_matches_numpy_float32(a, b):
    """f32_round(a op b) computed in double equals float32 arithmetic for + - * / sqrt."""
    _assert_same_f32(N.f32_round(a + b), _np_binop("+", a, b))
    _assert_same_f32(N.f32_round(a - b), _np_binop("-", a, b))
    _assert_same_f32(N.f32_round(a * b), _np_binop("*", a, b))
    _assert_same_f32(N.f32_add(a, b), _np_binop("+", a, b))
    _assert_same_f32(N.f32_sub(a, b), _np_binop("-", a, b))
    _assert_same_f32(N.f32_mul(a, b), _np_binop("*", a, b))
    _assert_same_f32(N.f32_div(a, b), _np_binop("/", a, b))
    with np.errstate(all="ignore"):
        _assert_same_f32(N.f32_sqrt(a), np.sqrt(np.float32(a)))
    if b:
        _assert_same_f32(N.f32_round(a / b), _np_binop("/", a, b))


def test_f32_arithmetic_bulk_random_bit_patterns():
    """Same as above over 50000 random f32 bit pattern pairs, vectorised reference."""
    rng = np.random.default_rng(12345)
    au = rng.integers(0, 2**32, size=50000, dtype=np.uint64).astype(np.uint32)
    # bias half the b operands to exponents near a's, where rounding is most delicate
    bu = rng.integers(0, 2**32, size=50000, dtype=np.uint64).astype(np.uint32)
    bu[::2] = (au[::2] & 0xFF800000) | (bu[::2] & 0x007FFFFF)
    fa, fb = au.view(np.float32), bu.view(np.float32)
    with np.errstate(all="ignore"):
        refs = {"+": fa + fb, "-": fa - fb, "*": fa * fb, "/": fa / fb, "sqrt": np.sqrt(fa)}
    ops = {"+": N.f32_add, "-": N.f32_sub, "*": N.f32_mul, "/": N.f32_div}
    for i in range(len(au)):
        a, b = f32repr(int(au[i])), f32repr(int(bu[i]))
        for op, fn in ops.items():
            _assert_same_f32(fn(a, b), refs[op][i])
        _assert_same_f32(N.f32_sqrt(a), refs["sqrt"][i])


@pytest.mark.parametrize("a, b, want", [
    (0x4F000000, 0x44800800, 0x4F000004),  # 2**31 + 1024.25: Muller's double rounding example
    (0x3F800000, 0x33800000, 0x3F800000),  # 1 + 2**-24 -> 1 (tie to even)
    (0x3F800000, 0x33800001, 0x3F800001),
    (0x00000001, 0x007FFFFE, 0x007FFFFF),  # subnormals add exactly
    (0x7F7FFFFF, 0x73000000, 0x7F800000),  # FLT_MAX + 2**103 (half an ulp): tie -> inf
    (0x7F7FFFFF, 0x72FFFFFF, 0x7F7FFFFF),  # just below the tie -> FLT_MAX
])  # fmt: skip
def test_f32_add_edge_cases(a, b, want):
    assert f32bits(N.f32_add(f32repr(a), f32repr(b))) == want


# ------------------------------------------------------------------------------------------
# f64 division, sqrt, min/max, sign operations
# ------------------------------------------------------------------------------------------

f64_values = st.one_of(st.floats(), st.builds(b2d, f64_bit_patterns))


@given(f64_values, f64_values)
@example(1.0, 0.0)
@example(-1.0, 0.0)
@example(1.0, -0.0)
@example(-math.inf, -0.0)
@example(0.0, 0.0)
@example(-0.0, -0.0)
@example(math.nan, 0.0)
def test_fdiv_matches_numpy(a, b):
    with np.errstate(all="ignore"):
        want = np.float64(a) / np.float64(b)
    got = N.fdiv(a, b)
    if np.isnan(want):
        assert got != got
    else:
        assert d2b(got) == d2b(float(want))


def test_fdiv_zero_divisor_cases():
    assert d2b(N.fdiv(1.0, 0.0)) == d2b(math.inf)
    assert d2b(N.fdiv(1.0, -0.0)) == d2b(-math.inf)
    assert d2b(N.fdiv(-1.0, -0.0)) == d2b(math.inf)
    assert d2b(N.fdiv(-5.0, 0.0)) == d2b(-math.inf)
    assert N.fdiv(0.0, 0.0) != N.fdiv(0.0, 0.0)
    nan_payload = b2d(0x7FF0000000000123)  # sNaN / 0 -> NaN, quieted
    r = d2b(N.fdiv(nan_payload, 0.0))
    assert is_quiet_f64(r)
    assert d2b(N.f32_div(1.0, -0.0)) == d2b(-math.inf)
    assert N.f32_div(-0.0, 0.0) != N.f32_div(-0.0, 0.0)
    # f32 overflow through division
    assert N.f32_div(3.0e38, 1e-10) == math.inf


@given(f64_values)
@example(-0.0)
@example(-1.0)
@example(-math.inf)
@example(math.inf)
@example(-5e-324)
def test_fsqrt_matches_numpy(x):
    with np.errstate(all="ignore"):
        want = np.sqrt(np.float64(x))
    got = N.fsqrt(x)
    if np.isnan(want):
        assert got != got
    else:
        assert d2b(got) == d2b(float(want))
    if x != x:
        assert is_quiet_f64(d2b(got))


def test_fsqrt_special():
    assert d2b(N.fsqrt(-0.0)) == d2b(-0.0)
    assert d2b(N.f32_sqrt(-0.0)) == d2b(-0.0)
    assert N.fsqrt(-1.0) != N.fsqrt(-1.0)
    assert N.f32_sqrt(-math.inf) != N.f32_sqrt(-math.inf)


def _ref_min(a, b):
    if a != a or b != b:
        return None
    if a == b == 0:
        return -0.0 if (d2b(a) >> 63 or d2b(b) >> 63) else 0.0
    return a if a < b else b


def _ref_max(a, b):
    if a != a or b != b:
        return None
    if a == b == 0:
        return -0.0 if (d2b(a) >> 63 and d2b(b) >> 63) else 0.0
    return a if a > b else b


@given(f64_values, f64_values)
@example(0.0, -0.0)
@example(-0.0, 0.0)
@example(math.nan, 1.0)
@example(1.0, b2d(0x7FF0000000000001))
def test_fmin_fmax_f64(a, b):
    for fn, ref in ((N.fmin, _ref_min), (N.fmax, _ref_max)):
        got, want = fn(a, b), ref(a, b)
        if want is None:
            assert got != got and is_quiet_f64(d2b(got))
        else:
            assert d2b(got) == d2b(want)


@given(f32_values, f32_values)
def test_fmin_fmax_f32_representation(a, b):
    for fn, ref in ((N.fmin, _ref_min), (N.fmax, _ref_max)):
        got, want = fn(a, b), ref(a, b)
        if want is None:
            assert got != got
            assert f32bits(got) & 0x400000  # quiet, and an f32 representation
        else:
            assert f32bits(got) == f32bits(want)


@given(f64_bit_patterns, f64_bit_patterns)
def test_sign_ops_are_bit_exact(u, v):
    x, y = b2d(u), b2d(v)
    assert d2b(N.fneg(x)) == u ^ (1 << 63)
    assert d2b(N.fabs(x)) == u & ~(1 << 63)
    assert d2b(N.fcopysign(x, y)) == (u & ~(1 << 63)) | (v & (1 << 63))
    # the documented claim: plain Python operators are bit-exact too (x86-64)
    if N.SIGN_OPS_BIT_EXACT:
        assert d2b(-x) == u ^ (1 << 63)
        assert d2b(abs(x)) == u & ~(1 << 63)
        assert d2b(math.copysign(x, y)) == (u & ~(1 << 63)) | (v & (1 << 63))


@given(f64_bit_patterns, f64_bit_patterns)
def test_sign_op_fallbacks_are_bit_exact(u, v):
    x, y = b2d(u), b2d(v)
    assert d2b(N._fneg_bits(x)) == u ^ (1 << 63)
    assert d2b(N._fabs_bits(x)) == u & ~(1 << 63)
    assert d2b(N._fcopysign_bits(x, y)) == (u & ~(1 << 63)) | (v & (1 << 63))


@given(f32_bit_patterns)
def test_sign_ops_keep_f32_signalling_nans(u):
    x = f32repr(u)
    assert f32bits(N.fneg(x)) == u ^ 0x80000000
    assert f32bits(N.fabs(x)) == u & 0x7FFFFFFF
    assert f32bits(N.fcopysign(x, -1.0)) == u | 0x80000000


# ------------------------------------------------------------------------------------------
# ceil / floor / trunc / nearest
# ------------------------------------------------------------------------------------------

_ROUNDERS = [
    (N.fceil, np.ceil), (N.ffloor, np.floor), (N.ftrunc, np.trunc), (N.fnearest, np.rint),
]  # fmt: skip


@given(f64_values)
@example(-0.5)
@example(0.5)
@example(1.5)
@example(2.5)
@example(-2.5)
@example(-0.0)
@example(4503599627370495.5)
@example(-4503599627370495.5)
@example(4503599627370496.0)
@example(0.49999999999999994)
@example(-0.49999999999999994)
@example(5e-324)
@example(-5e-324)
def test_rounding_f64_matches_numpy(x):
    for fn, ref in _ROUNDERS:
        got = fn(x)
        with np.errstate(all="ignore"):
            want = ref(np.float64(x))
        if np.isnan(want):  # the NaN rule: the positive canonical NaN
            assert d2b(got) == 0x7FF8000000000000
        else:
            assert d2b(got) == d2b(float(want)), (fn.__name__, x)


@given(f32_values)
@example(-0.5)
@example(8388607.5)
@example(-8388607.5)
@example(8388608.0)
@example(0.49999997)
def test_rounding_f32_matches_numpy(x):
    for fn, ref in _ROUNDERS:
        got = fn(x)
        with np.errstate(all="ignore"):
            want = ref(np.float32(x))
        if np.isnan(want):  # the NaN rule: the positive canonical NaN
            assert f32bits(got) == 0x7FC00000
        else:
            assert f32bits(got) == np_f32_bits(want), (fn.__name__, x)


def test_rounding_sign_of_zero():
    assert d2b(N.fceil(-0.5)) == d2b(-0.0)
    assert d2b(N.fceil(-0.0)) == d2b(-0.0)
    assert d2b(N.ffloor(0.5)) == d2b(0.0)
    assert d2b(N.ftrunc(-0.9)) == d2b(-0.0)
    assert d2b(N.fnearest(-0.5)) == d2b(-0.0)
    assert d2b(N.fnearest(0.5)) == d2b(0.0)
    assert N.fnearest(1.5) == 2.0 and N.fnearest(2.5) == 2.0 and N.fnearest(-3.5) == -4.0
    assert N.ffloor(-math.inf) == -math.inf and N.fceil(math.inf) == math.inf


# ------------------------------------------------------------------------------------------
# float -> int truncation
# ------------------------------------------------------------------------------------------

_TRUNCS = [
    # trapping, saturating, lo, hi (inclusive integer range), result mask
    (N.trunc_s32, N.trunc_sat_s32, -(2**31), 2**31 - 1, M32),
    (N.trunc_u32, N.trunc_sat_u32, 0, 2**32 - 1, M32),
    (N.trunc_s64, N.trunc_sat_s64, -(2**63), 2**63 - 1, M64),
    (N.trunc_u64, N.trunc_sat_u64, 0, 2**64 - 1, M64),
]  # fmt: skip

_trunc_edges = [
    -2147483648.9, -2147483649.0, -2147483648.0, 2147483647.9, 2147483648.0, 2147483647.0,
    -0.9, -1.0, -0.0, 0.0, 0.9, 4294967295.9, 4294967296.0, 4294967295.0,
    -9223372036854775808.0, 9223372036854775808.0, -9223372036854777856.0,
    9223372036854774784.0, 18446744073709551616.0, 18446744073709549568.0,
    math.inf, -math.inf, math.nan, -math.nan, 5e-324, -5e-324, 1e300, -1e300,
    f32repr(0xCF000000), f32repr(0xCF000001), f32repr(0x4F000000), f32repr(0x4EFFFFFF),
    f32repr(0x5F000000), f32repr(0xDF000000), f32repr(0xDF000001), f32repr(0x5F800000),
    f32repr(0x5F7FFFFF), f32repr(0x7FA00000),
]  # fmt: skip


def _check_trunc(x):
    for trapping, saturating, lo, hi, mask in _TRUNCS:
        if x != x:
            with pytest.raises(Trap) as info:
                trapping(x)
            assert info.value.code is TrapCode.INVALID_CONVERSION_TO_INTEGER
            assert saturating(x) == 0
            continue
        t = math.trunc(Fraction(x)) if not math.isinf(x) else (hi + 1 if x > 0 else lo - 1)
        if lo <= t <= hi:
            assert trapping(x) == t & mask
            assert type(trapping(x)) is int
        else:
            with pytest.raises(Trap) as info:
                trapping(x)
            assert info.value.code is TrapCode.INTEGER_OVERFLOW
        assert saturating(x) == min(max(t, lo), hi) & mask


@pytest.mark.parametrize("x", _trunc_edges)
def test_trunc_edges(x):
    _check_trunc(x)


@given(st.one_of(f64_values, f32_values,
                 st.integers(-(2**65), 2**65).map(float),
                 st.integers(-(2**65), 2**65).map(lambda i: float(i) + 0.5)))
def test_trunc_random(x):
    _check_trunc(x)


def test_trunc_specific_brief_values():
    assert N.trunc_s32(-2147483648.9) == 0x80000000
    assert N.trunc_u32(-0.9) == 0
    with pytest.raises(Trap) as info:
        N.trunc_u32(-1.0)
    assert info.value.code is TrapCode.INTEGER_OVERFLOW
    with pytest.raises(Trap):
        N.trunc_s32(2147483648.0)


# ------------------------------------------------------------------------------------------
# int -> float conversions
# ------------------------------------------------------------------------------------------


def _tricky_ints(bits: int):
    """Integers near f32 rounding midpoints (where double rounding would bite)."""
    def build(top, shift, low):
        return ((top << shift) + low) % (1 << bits)

    def midpoint(top, shift, delta):
        # exactly between two f32 values, plus a perturbation below the double's precision:
        # float() rounds these onto the f32 midpoint, so f32(float(u)) is wrong half the time
        return ((top << shift) + (1 << (shift - 1)) + delta) % (1 << bits)

    near = st.builds(build, st.integers(1 << 23, (1 << 25) - 1), st.integers(0, bits - 25),
                     st.integers(-(2**12), 2**12))
    if bits < 64:  # float() is exact for 32-bit integers: no double rounding possible
        return near
    return st.one_of(near, st.builds(midpoint, st.integers(1 << 23, (1 << 24) - 1),
                                     st.integers(31, bits - 24), st.integers(-3, 3)))


@settings(max_examples=1000)
@given(st.one_of(u64s, _tricky_ints(64), st.sampled_from([
    0, 1, M64, 1 << 63, (1 << 63) - 1, (1 << 63) + 1, 0x20000000000001, 0x7FFFFF4000000001,
    0x8000008000000001, 0xFFFFFF7FFFFFFFFF, 0xFFFFFF8000000000, 0x0020000020000001,
    (1 << 53) + 1, (1 << 54) + 3, 0x1000001000000001,
])))  # fmt: skip
def test_convert_64bit_correctly_rounded(u):
    s = u - (1 << 64) if u >> 63 else u
    assert f32bits(N.f32_convert_u64(u)) == ref_f32_bits(Fraction(u))
    assert f32bits(N.f32_convert_s64(u)) == ref_f32_bits(Fraction(s))
    assert d2b(N.f64_convert_u64(u)) == ref_f64_bits(Fraction(u))
    assert d2b(N.f64_convert_s64(u)) == ref_f64_bits(Fraction(s))
    # numpy's C casts as a second opinion
    assert f32bits(N.f32_convert_s64(u)) == np_f32_bits(np.int64(s).astype(np.float32))
    assert d2b(N.f64_convert_s64(u)) == d2b(float(np.int64(s).astype(np.float64)))


def test_convert_u64_double_rounding_case():
    # 2**63 + 2**39 + 1: float() rounds to 2**63 + 2**39 (an f32 tie), which then rounds to even
    # 2**63; the exact value is above the tie, so the correct f32 is 2**63 + 2**40.
    u = (1 << 63) + (1 << 39) + 1
    assert f32bits(N.f32_convert_u64(u)) == 0x5F000001
    assert f32bits(N.f32_round(float(u))) == 0x5F000000  # the double-rounded (wrong) value


@given(st.one_of(u32s, _tricky_ints(32), st.sampled_from([0, 1, M32, 1 << 31, (1 << 31) - 1,
                                                           0x01000001, 0x7FFFFFBF, 0x7FFFFFC0])))
def test_convert_32bit(u):
    s = u - (1 << 32) if u >> 31 else u
    assert f32bits(N.f32_convert_u32(u)) == ref_f32_bits(Fraction(u))
    assert f32bits(N.f32_convert_s32(u)) == ref_f32_bits(Fraction(s))
    assert d2b(N.f64_convert_u32(u)) == d2b(float(np.uint32(u)))
    assert d2b(N.f64_convert_s32(u)) == d2b(float(np.uint32(u).view(np.int32)))


@given(f64_values)
@example(b2d(0x7FF0000000000001))  # sNaN with payload only in low bits
@example(b2d(0xFFF4000000000000))
@example(3.4028235677973366e38)
@example(1e-46)
def test_demote(x):
    got = N.f32_demote(x)
    if x != x:
        assert f32bits(got) == 0x7FC00000  # the NaN rule: the positive canonical NaN
        return
    with np.errstate(all="ignore"):
        assert f32bits(got) == np_f32_bits(np.float64(x).astype(np.float32))


@given(f32_bit_patterns)
def test_promote(u):
    x = f32repr(u)
    got = N.f64_promote(x)
    f = np_f32(u)
    if np.isnan(f):
        assert d2b(got) == 0x7FF8000000000000  # the NaN rule: the positive canonical NaN
    else:
        assert d2b(got) == d2b(float(f.astype(np.float64)))


# ------------------------------------------------------------------------------------------
# Integer operations
# ------------------------------------------------------------------------------------------


def _signed(u, bits):
    return u - (1 << bits) if u >> (bits - 1) else u


def _edge_ints(bits):
    m = (1 << bits) - 1
    return st.one_of(st.integers(0, m), st.sampled_from(
        [0, 1, 2, 3, m, m - 1, 1 << (bits - 1), (1 << (bits - 1)) - 1, (1 << (bits - 1)) + 1,
         7, m - 6]))


@pytest.mark.parametrize("bits", [32, 64])
@settings(max_examples=500)
@given(data=st.data())
def test_div_rem(bits, data):
    a = data.draw(_edge_ints(bits))
    b = data.draw(_edge_ints(bits))
    m = (1 << bits) - 1
    fns = {32: (N.i32_div_s, N.i32_rem_s, N.i32_div_u, N.i32_rem_u),
           64: (N.i64_div_s, N.i64_rem_s, N.i64_div_u, N.i64_rem_u)}[bits]
    div_s, rem_s, div_u, rem_u = fns
    if b == 0:
        for fn in fns:
            with pytest.raises(Trap) as info:
                fn(a, b)
            assert info.value.code is TrapCode.INTEGER_DIVIDE_BY_ZERO
        return
    sa, sb = _signed(a, bits), _signed(b, bits)
    q = int(Fraction(sa, sb))  # truncation toward zero
    if q == 1 << (bits - 1):
        with pytest.raises(Trap) as info:
            div_s(a, b)
        assert info.value.code is TrapCode.INTEGER_OVERFLOW
    else:
        assert div_s(a, b) == q & m
    assert rem_s(a, b) == (sa - q * sb) & m
    assert div_u(a, b) == int(Fraction(a, b))
    assert rem_u(a, b) == a - b * int(Fraction(a, b))


def test_div_rem_numpy_int32():
    """C semantics of numpy's fmod (sign of dividend) as an independent rem_s reference."""
    rng = np.random.default_rng(7)
    a = rng.integers(-(2**31), 2**31, size=5000, dtype=np.int64).astype(np.int32)
    b = rng.integers(-(2**31), 2**31, size=5000, dtype=np.int64).astype(np.int32)
    b[b == 0] = 3
    b[::7] = rng.integers(-9, 10, size=len(b[::7])).astype(np.int32)
    b[b == 0] = -1
    with np.errstate(all="ignore"):
        r = np.fmod(a, b)
    for i in range(len(a)):
        ua, ub = int(a[i]) & M32, int(b[i]) & M32
        assert N.i32_rem_s(ua, ub) == int(r[i]) & M32


def test_int_min_div_minus_one():
    with pytest.raises(Trap) as info:
        N.i32_div_s(0x80000000, M32)
    assert info.value.code is TrapCode.INTEGER_OVERFLOW
    with pytest.raises(Trap) as info:
        N.i64_div_s(1 << 63, M64)
    assert info.value.code is TrapCode.INTEGER_OVERFLOW
    assert N.i32_rem_s(0x80000000, M32) == 0
    assert N.i64_rem_s(1 << 63, M64) == 0
    assert N.i32_div_s(0x80000000, 1) == 0x80000000
    assert N.i32_div_s(0xFFFFFFF9, 2) == 0xFFFFFFFD  # -7 / 2 == -3
    assert N.i32_rem_s(0xFFFFFFF9, 2) == M32  # -7 % 2 == -1


@pytest.mark.parametrize("bits", [32, 64])
@given(data=st.data())
def test_bit_counts_rotates_shifts_extends(bits, data):
    a = data.draw(_edge_ints(bits))
    k = data.draw(st.one_of(st.integers(0, 2 * bits + 3), _edge_ints(bits)))
    m = (1 << bits) - 1
    p = "i32" if bits == 32 else "i64"
    s = format(a, f"0{bits}b")
    assert getattr(N, f"{p}_clz")(a) == len(s) - len(s.lstrip("0"))
    assert getattr(N, f"{p}_ctz")(a) == len(s) - len(s.rstrip("0"))
    assert getattr(N, f"{p}_popcnt")(a) == s.count("1")
    r = k % bits
    assert getattr(N, f"{p}_rotl")(a, k) == int(s[r:] + s[:r], 2)
    assert getattr(N, f"{p}_rotr")(a, k) == int(s[bits - r:] + s[:bits - r], 2)
    # arithmetic shift: numpy signed right shift
    dt = np.int32 if bits == 32 else np.int64
    want = int(dt(_signed(a, bits)) >> dt(r)) & m
    assert getattr(N, f"{p}_shr_s")(a, k) == want
    assert int(s[0] * r + s[: bits - r], 2) == want  # bit-string reformulation agrees
    for n, dtn in ((8, np.int8), (16, np.int16), (32, np.int32)):
        if n == bits:
            continue
        low = a & ((1 << n) - 1)
        want = int(np.array([low], dtype=np.uint64).astype(
            {8: np.uint8, 16: np.uint16, 32: np.uint32}[n]).view(dtn)[0]) & m
        assert getattr(N, f"{p}_extend{n}_s")(a) == want


@given(_edge_ints(32))
def test_extend_wrap_signed(u):
    assert N.i64_extend_i32_s(u) == int(np.uint32(u).view(np.int32).astype(np.int64).view(
        np.uint64))
    assert N.s32(u) == int(np.uint32(u).view(np.int32))
    assert N.i32_wrap_i64(u | 0xABCD00000000) == u


@given(_edge_ints(64))
def test_s64(u):
    assert N.s64(u) == int(np.uint64(u).view(np.int64))


# ------------------------------------------------------------------------------------------
# Inline forms agree with the helpers' semantics on random inputs
# ------------------------------------------------------------------------------------------

_INT_REFS = {
    "add": lambda a, b, m: (a + b) & m,
    "sub": lambda a, b, m: (a - b) & m,
    "mul": lambda a, b, m: (a * b) & m,
    "shl": lambda a, b, m: (a << (b % (m.bit_length()))) & m,
    "shr_u": lambda a, b, m: a >> (b % (m.bit_length())),
}


@pytest.mark.parametrize("bits", [32, 64])
@given(data=st.data())
def test_inline_int_forms_random(bits, data):
    a = data.draw(_edge_ints(bits))
    b = data.draw(_edge_ints(bits))
    p = f"i{bits}"
    m = (1 << bits) - 1
    sa, sb = _signed(a, bits), _signed(b, bits)
    for name, ref in _INT_REFS.items():
        assert inline_callable(f"{p}.{name}")(a, b) == ref(a, b, m)
    cmp = {"lt": sa < sb, "gt": sa > sb, "le": sa <= sb, "ge": sa >= sb}
    for name, want in cmp.items():
        got = inline_callable(f"{p}.{name}_s")(a, b)
        assert type(got) is int and got == int(want)
        assert inline_callable(f"{p}.{name}_u")(a, b) == int(
            {"lt": a < b, "gt": a > b, "le": a <= b, "ge": a >= b}[name])
    for op in ("shr_s", "rotl", "rotr"):
        assert inline_callable(f"{p}.{op}")(a, b) == getattr(N, f"{p}_{op}")(a, b)
    for op in ("clz", "ctz", "popcnt", "extend8_s", "extend16_s"):
        assert inline_callable(f"{p}.{op}")(a) == getattr(N, f"{p}_{op}")(a)
    if bits == 32:
        assert inline_callable("i64.extend_i32_s")(a) == N.i64_extend_i32_s(a)
    else:
        assert inline_callable("i32.wrap_i64")(a) == a & M32
        assert inline_callable("i64.extend32_s")(a) == N.i64_extend32_s(a)


@given(f64_values, f64_values)
def test_inline_float_forms_random(a, b):
    for op in ("f64.div", "f64.add", "f64.mul"):
        got = inline_callable(op)(a, b)
        with np.errstate(all="ignore"):
            want = {"f64.div": np.float64(a) / np.float64(b),
                    "f64.add": np.float64(a) + np.float64(b),
                    "f64.mul": np.float64(a) * np.float64(b)}[op]
        if np.isnan(want):
            assert got != got
        else:
            assert d2b(got) == d2b(float(want))
    fa, fb = N.f32_round(a), N.f32_round(b)
    got = inline_callable("f32.div")(fa, fb)
    _assert_same_f32(got, _np_binop("/", fa, fb))
    for op in ("lt", "le", "eq", "ne", "gt", "ge"):
        want = {"lt": a < b, "le": a <= b, "eq": a == b, "ne": a != b, "gt": a > b,
                "ge": a >= b}[op]
        assert inline_callable(f"f64.{op}")(a, b) == int(want)


def test_native_f32_pack_rounds_and_saturates_to_infinity():
    """The property f32_round (and the inline form) relies on: no OverflowError, ties to even."""
    up = N.f32_unpack
    assert up(N.f32_pack(1e300))[0] == math.inf
    assert up(N.f32_pack(-1e300))[0] == -math.inf
    assert up(N.f32_pack(3.4028235677973366e38))[0] == math.inf  # the tie above FLT_MAX
    assert up(N.f32_pack(3.4028235677973362e38))[0] == 3.4028234663852886e38
    assert up(N.f32_pack(2.0**-150))[0] == 0.0
    assert up(N.f32_pack(7))[0] == 7.0  # ints are accepted (f32.convert_i32_u inline form)
