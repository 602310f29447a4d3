"""Exact-semantics numeric helpers called by generated Python code.

Value representation (shared with the translator):

* ``i32``: ``int`` in ``[0, 2**32)`` (unsigned canonical form); ``i64``: ``int`` in ``[0, 2**64)``.
* ``f64``: a Python ``float``, bit-exact (NaN payloads and signalling NaNs included).
* ``f32``: a Python ``float`` whose value is exactly an f32 value.  An f32 NaN with sign ``s``
  and 23-bit payload ``p`` is the double with sign ``s``, exponent all ones and mantissa
  ``p << 29``; this is what the hardware f32->f64 conversion produces for quiet NaNs, and
  :func:`f32_from_bits` builds it from bits for signalling NaNs too (a C ``float -> double``
  cast would quiet them), so every f32 bit pattern round-trips through
  :func:`f32_from_bits` / :func:`f32_to_bits`.

All helpers take and return values in those forms; traps raise
:class:`wasm2py.errors.Trap` with the matching :class:`~wasm2py.errors.TrapCode`.

f32 arithmetic
--------------
``f32_round(a op b)`` for ``op`` in ``+ - * /`` and ``f32_round(sqrt(a))``, computed in double
precision on f32 operands, is *exactly* the correctly rounded f32 result: double rounding
through a p-bit format is innocuous for these operations when ``p >= 2q + 2`` (Figueroa, "When
is double rounding innocuous?", 1995); here ``p = 53 >= 2*24 + 2 = 50``.  The exponent range
of f64 is wide enough that f32 overflow, underflow and subnormal results are not affected
(``tests/test_numeric.py`` checks this against numpy float32 arithmetic).  So the translator
emits ``f32.add`` as ``f32_round(a + b)`` (better: the inline form below), ``f32.div`` as
:func:`f32_div` (Python raises on ``/ 0.0``) and ``f32.sqrt`` as :func:`f32_sqrt`.

NaN results: CPython float arithmetic is plain C double arithmetic, whose NaN results depend on
the hardware (x86-64 propagates a NaN operand's payload and gives a *negative* default NaN for
an invalid operation; AArch64's default NaN is positive). wasm2py's rule, the same in both tiers
and on every host (see ``README.md``, "NaN results"): every arithmetic float instruction whose
result is a NaN returns the positive canonical NaN, :data:`NAN` -- the f64 ``0x7ff8000000000000``,
which is also the f32 representation of ``0x7fc00000``. The helpers here return it for every NaN
result; the translator emits ``f64.add/sub/mul`` inline and canonicalises where the value
leaves the arithmetic (see ``wasm2py.translate.codegen``). ``abs``, ``neg``, ``copysign``,
loads, stores and ``reinterpret`` are bitwise and keep every bit.

f32 rounding (``f32_round``), measured
--------------------------------------
How the figures were taken (here and in "Inline forms"): CPython 3.11.7 on x86-64 (a shared
2-vCPU VM), ``python -m wasm2py.runtime.numeric``, which re-measures everything quoted in
this docstring.  Each expression runs as ``r = EXPR`` in a 10x-unrolled loop inside a function
whose operands are locals and whose helper names are module globals (as in generated code);
figures are ns per evaluation *net of* the ``r = a`` loop overhead, minimum over 150 repeats
and 3 passes.  Expect +-10 % between runs; the ranking is what matters.  Rounding
``x = 1.2345678901234567``::

    f32_unpack(f32_pack(x))[0]   50 ns  native Struct('f'): plain C (float) cast, inf on
                                        overflow, thread-safe  <- f32_round uses this
    f32_round(x)                 64 ns  the same behind a function call
    _up_le(_pk_le(x))[0]         53 ns  Struct('<f'): raises OverflowError past FLT_MAX
    round_le(x)                  69 ns  ... wrapped in try/except OverflowError -> +-inf
    _a[0] = x; r = _a[0]         35 ns  array('f') store + load: two *statements*, one
                                        shared buffer
    _aset(0, x) or _a[0]         58 ns  array('f') as an expression (bound __setitem__)
    _mset(0, x) or _m[0]         48 ns  memoryview(bytearray(4)).cast('f') as an expression
    c_float(x).value             69 ns  ctypes
    float(np.float32(x))        167 ns  numpy scalar

``f32_pack``/``f32_unpack`` are public globals of this module (``Struct('f').pack/.unpack``),
so the translator should inline ``f32_unpack(f32_pack(EXPR))[0]``: the fastest *expression*
that is also thread-safe.  The native ``'f'`` format packs with a C ``(float)`` cast (round to
nearest even, ``inf`` on overflow, NaN stays NaN); the standard ``'<f'`` format checks the
range and raises ``OverflowError``.  The array statement pair is faster still, but it reuses
one module-wide buffer between the store and the load: it is correct under the GIL of CPython
3.11 only because no eval-breaker check (thread switch) falls between a ``STORE_SUBSCR`` and
the next ``BINARY_SUBSCR`` -- an implementation detail, and a data race on free-threaded
builds -- so it is not the recommended form.

Inline forms
------------
Forms for the ops a translator should emit inline instead of calling a helper.  The complete
per-instruction table is :data:`INLINE` (every wasm 2.0 numeric instruction -> a template with
``{a}``/``{b}`` slots, either an inline expression or a helper call; all names it uses are in
``__all__``), and :data:`INLINE_BOOL` gives tests/comparisons as ``bool`` for ``if``/``br_if``/
``select`` conditions.  Operands must be side-effect-free atoms (locals, constants): several
templates mention an operand twice.  Figures as above (ns); for i32 ops three operand sets:
``a=123456789, b=5`` / ``a=0xFEDCBA98, b=5`` (a "negative") / ``a=5, b=0xFFFFFFFD`` ("negative"
b; CPython ints >= 2**30 take two digits and negative ints are slower, hence the spread)::

    op               chosen form                                          ns          alternatives (ns)
    i32.add          (a + b) & 0xFFFFFFFF                                 22/23/29    a + b if a + b < 2**32 else a + b - 2**32: 22/28/41
    i32.sub          (a - b) & 0xFFFFFFFF                                 21/22/31
    i32.mul          (a * b) & 0xFFFFFFFF                                 20/29/29
    i32.shl          (a << (b & 31)) & 0xFFFFFFFF                         32/32/39    (a & (0xFFFFFFFF >> (b & 31))) << (b & 31): 47/55/58
    i32.shr_u        a >> (b & 31)                                        17/20/20
    i32.shr_s        a >> (b & 31) if a < 0x80000000                      25/59/27    ((a ^ 0x80000000) - 0x80000000 >> (b & 31)) & M: 59/67/62
                       else (a - 0x100000000 >> (b & 31)) & 0xFFFFFFFF                (s32(a) >> (b & 31)) & M: 79/81/81; i32_shr_s(a, b): 37/74/41
    i32.rotl         ((a << (b & 31)) | (a >> (-b & 31))) & 0xFFFFFFFF    64/76/94    ... (a >> (32 - (b & 31))) ...: 65/74/81; i32_rotl: 85/98/110
    i32.lt_u         a < b                                                6/6/7
    i32.lt_s         a < b if (a ^ b) < 0x80000000 else a > b             21/26/28    (a ^ 0x80000000) < (b ^ 0x80000000): 36/33/34
                                                                                      ((a < b) != (a > 0x7FFFFFFF)) != (b > 0x7FFFFFFF): 25/26/27
                                                                                      s32(a) < s32(b): 83/84/86
    bool -> i32      1 if COND else 0                                     +5/+7/+8    (COND) + 0: +12; int(COND): +33
    i32.eqz          a == 0                                               6           not a: 2-3 (bool, for conditions)
    i32.clz          32 - a.bit_length()                                  11          i32_clz(a): 25
    i32.ctz          (a ^ (a - 1)).bit_length() - 1 if a else 32          28/38/25    (a & -a).bit_length() - 1 if a else 32: 27/46/24
                                                                                      ((a ^ (a - 1)) & 0x1FFFFFFFF).bit_length() - 1: 41/50/37
    i32.popcnt       a.bit_count()                                        10          bin(a).count('1'): 59-79
    i32.extend8_s    (a & 0xFF) | 0xFFFFFF00 if a & 0x80 else a & 0xFF    14/46/16    ((a & 0xFF) ^ 0x80) - 0x80 & M: 28/47/28; helper: 26/62/28
    i64.extend_i32_s a | 0xFFFFFFFF00000000 if a & 0x80000000 else a      19/33/18    (a ^ 0x80000000) - 0x80000000 & M64: 40/47/43
    i32.div_u        a // b if b else i32_div_u(a, b)                     16/21/14    i32_div_u(a, b): 29/34/25
    i32.div_s        i32_div_s(a, b)  (helper)                            46/83/86
    i32.rem_s        i32_rem_s(a, b)  (helper)                            46/90/67
    i64.add          (a + b) & 0xFFFFFFFFFFFFFFFF                         24          (a = 0x123456789ABCDEF0, b = 7)
    i64.mul          (a * b) & 0xFFFFFFFFFFFFFFFF                         31
    i32.wrap_i64     a & 0xFFFFFFFF                                       14
    i64.div_s        i64_div_s(a, b)  (helper)                            60
    f64.add          nan_t if (nan_t := a + b) == nan_t else NAN          17          a + b: 7 (floats: a=1.5, b=2.25 / a=-0.75, b=3.0);
                                                                                      the translator checks once per arithmetic expression
    f32.add          f32_add(a, b)                                        71          f32_unpack(f32_pack(a + b))[0]: 56 (no NaN rule)
    f64.div          fdiv(a, b)                                           24          a / b if b else fdiv(a, b): 13 (no NaN rule)
    f32.div          f32_div(a, b)                                        74
    f64.sqrt         fsqrt(a)                                             25-28
    f32.sqrt         f32_sqrt(a)                                          76 (22 for a < 0)
    fN.neg           -a                                                   7           fneg(a): 19
    fN.abs           abs(a)                                               9           fabs(a): 22
    fN.copysign      copysign(a, b)  (math.copysign)                      14          fcopysign(a, b): 29
    fN.min / max     fmin(a, b) / fmax(a, b)                              21
    fN.ceil/floor/trunc  fceil(a) etc.                                    49-58
    fN.nearest       fnearest(a)                                          39/55
    fN.lt etc.       a < b  (IEEE: False with a NaN; ne: True)            7
    f32.convert_i32_u  f32_unpack(f32_pack(a))[0]                         59          f32_convert_u32(a): 72
    f64.convert_i32_u  float(a)                                           13
    f64.convert_i64_s  f64_convert_s64(a)                                 63
    f32.convert_i64_u  f32_convert_u64(a)                                 221 (a >= 2**53: sticky-bit path)
    i32.trunc_fN_s   trunc_s32(a)                                         50          (other truncations alike)
    f32.demote_f64   f32_demote(a)                                        67
    reinterpret      f32_to_bits 67, f64_to_bits 61, f32_from_bits 76, f64_from_bits 67

``M``/``M64`` above abbreviate the 32-/64-bit masks.  Kept as helpers because Python's own
semantics differ from wasm's: signed division/remainder (truncation, traps), float division
(Python raises on a zero divisor), sqrt (``math.sqrt`` raises on negatives), min/max (NaN,
signed zeros), ceil/floor/trunc/nearest (Python returns ints and loses ``-0.0``), float->int
truncation (traps, exact boundaries) and 64-bit int->f32 (double rounding).

Sign-bit operations
-------------------
On x86-64 CPython, ``-x`` (``xorpd``), ``abs(x)`` (``fabs`` -> ``andpd``) and
``math.copysign(x, y)`` only touch the sign bit and keep every other bit of a NaN, including
signalling NaNs (doubles move through SSE registers, never through the x87 stack).
:func:`fneg`, :func:`fabs` and :func:`fcopysign` use those operators when an import-time probe
(:data:`SIGN_OPS_BIT_EXACT`) confirms they are bit-exact on this platform, and a struct-based
bit manipulation otherwise.
"""

from __future__ import annotations

import math
import sys
from struct import Struct

from wasm2py.errors import Trap, TrapCode

__all__ = [
    "INLINE",
    "INLINE_BOOL",
    "SIGN_OPS_BIT_EXACT",
    "f32_pack",
    "f32_unpack",
    "f32_from_bits",
    "f32_to_bits",
    "f64_from_bits",
    "f64_to_bits",
    "f32_round",
    "NAN",
    "fdiv",
    "f32_div",
    "fsqrt",
    "f32_sqrt",
    "fmin",
    "fmax",
    "fceil",
    "ffloor",
    "ftrunc",
    "fnearest",
    "f32_ceil",
    "f32_floor",
    "f32_trunc",
    "f32_nearest",
    "f64_ceil",
    "f64_floor",
    "f64_trunc",
    "f64_nearest",
    "fcopysign",
    "fabs",
    "fneg",
    "f32_add",
    "f32_sub",
    "f32_mul",
    "trunc_s32",
    "trunc_u32",
    "trunc_s64",
    "trunc_u64",
    "trunc_sat_s32",
    "trunc_sat_u32",
    "trunc_sat_s64",
    "trunc_sat_u64",
    "f32_convert_s32",
    "f32_convert_u32",
    "f32_convert_s64",
    "f32_convert_u64",
    "f64_convert_s32",
    "f64_convert_u32",
    "f64_convert_s64",
    "f64_convert_u64",
    "f32_demote",
    "f64_promote",
    "i32_div_s",
    "i32_div_u",
    "i32_rem_s",
    "i32_rem_u",
    "i64_div_s",
    "i64_div_u",
    "i64_rem_s",
    "i64_rem_u",
    "i32_clz",
    "i32_ctz",
    "i32_popcnt",
    "i64_clz",
    "i64_ctz",
    "i64_popcnt",
    "i32_rotl",
    "i32_rotr",
    "i64_rotl",
    "i64_rotr",
    "i32_shr_s",
    "i64_shr_s",
    "i32_extend8_s",
    "i32_extend16_s",
    "i64_extend8_s",
    "i64_extend16_s",
    "i64_extend32_s",
    "i64_extend_i32_s",
    "i32_wrap_i64",
    "s32",
    "s64",
    "copysign",
]

# --------------------------------------------------------------------------------------------
# Constants and pre-bound struct methods (module globals: no attribute lookups in hot bodies)
# --------------------------------------------------------------------------------------------

_F32 = Struct("f")  # native format: packing is a plain C (float) cast, no overflow check
_F64 = Struct("<d")
_U64 = Struct("<Q")

#: ``f32_pack(x)``: the 4 native-order bytes of ``(float)x`` (rounds to nearest even,
#: ``inf`` on overflow).  Public so that generated code can inline ``f32_unpack(f32_pack(x))[0]``.
f32_pack = _F32.pack
#: ``f32_unpack(b)``: ``(x,)`` for 4 native-order f32 bytes (a ``float -> double`` cast).
f32_unpack = _F32.unpack
_f64_pack = _F64.pack
_f64_unpack = _F64.unpack
_u64_pack = _U64.pack
_u64_unpack = _U64.unpack
_from_bytes = int.from_bytes
try:
    f32_pack(1e300)
except OverflowError:  # pragma: no cover - CPython 3.11's native 'f' packing has no check
    _f32_pack_checked = _F32.pack

    def f32_pack(x: float) -> bytes:
        """Native f32 bytes of ``(float)x``: ``±inf`` past the f32 range instead of raising."""
        try:
            return _f32_pack_checked(x)
        except OverflowError:
            return _f32_pack_checked(math.copysign(math.inf, x))


_NATIVE = sys.byteorder  # byte order of the native-format f32_pack/f32_unpack

#: ``math.copysign``, re-exported for generated code (bit-exact on NaNs on x86-64).
copysign = math.copysign
_ceil = math.ceil
_floor = math.floor
_trunc = math.trunc
_sqrt = math.sqrt

_INF = math.inf
_NAN = _f64_unpack(_u64_pack(0x7FF8000000000000))[0]  # positive canonical NaN
#: the positive canonical NaN: every NaN result of float arithmetic (f64 ``0x7ff8000000000000``,
#: which is also the f32 representation of ``0x7fc00000``)
NAN = _NAN
_TWO52 = 4503599627370496.0  # 2**52: doubles at least this large are integers

_DIV0 = TrapCode.INTEGER_DIVIDE_BY_ZERO
_OVERFLOW = TrapCode.INTEGER_OVERFLOW
_INVALID = TrapCode.INVALID_CONVERSION_TO_INTEGER

# --------------------------------------------------------------------------------------------
# Bit patterns
# --------------------------------------------------------------------------------------------


def f64_from_bits(u: int) -> float:
    """Return the double whose IEEE 754 bit pattern is the u64 ``u`` (exact, sNaN included)."""
    return _f64_unpack(u.to_bytes(8, "little"))[0]


def f64_to_bits(x: float) -> int:
    """Return the IEEE 754 bit pattern of the double ``x`` as a u64 (exact, sNaN included)."""
    return _from_bytes(_f64_pack(x), "little")


def f32_from_bits(u: int) -> float:
    """Return the f32 representation (a float) of the f32 bit pattern ``u`` (a u32).

    Exact for every pattern: NaNs (signalling ones included) become the double with the same
    sign, exponent all ones and mantissa ``payload << 29``, built from bits rather than with a
    C ``float -> double`` cast, which would quiet a signalling NaN.
    """
    x = f32_unpack(u.to_bytes(4, _NATIVE))[0]  # float -> double cast: exact unless NaN
    if x == x:
        return x
    return _f64_unpack(
        _u64_pack(((u & 0x80000000) << 32) | 0x7FF0000000000000 | ((u & 0x7FFFFF) << 29))
    )[0]


def f32_to_bits(x: float) -> int:
    """Return the f32 bit pattern (a u32) of the f32 representation ``x``.

    Inverse of :func:`f32_from_bits`.  A NaN maps to sign and ``mantissa >> 29`` (exact for
    f32 representations); a foreign double NaN whose payload lives only in the low 29 bits
    maps to a quiet NaN rather than to infinity.  A non-NaN that is not an f32 value is
    rounded to nearest (ties to even).
    """
    if x == x:
        return _from_bytes(f32_pack(x), _NATIVE)
    b = _from_bytes(_f64_pack(x), "little")
    p = (b >> 29) & 0x7FFFFF
    return ((b >> 32) & 0x80000000) | 0x7F800000 | (p if p else 0x400000)


# --------------------------------------------------------------------------------------------
# f32 rounding and arithmetic
# --------------------------------------------------------------------------------------------


def f32_round(x: float) -> float:
    """Round the double ``x`` to the nearest f32 value (ties to even), ``±inf`` on overflow.

    A NaN gives a NaN (payload unspecified; on x86-64 the top 23 payload bits, quieted).
    Inline form: ``f32_unpack(f32_pack(x))[0]``.
    """
    return f32_unpack(f32_pack(x))[0]


def f32_add(a: float, b: float) -> float:
    """f32.add: ``f32_round(a + b)`` (exact: double rounding is innocuous, see module doc); a
    NaN result is :data:`NAN`."""
    r = a + b
    return f32_unpack(f32_pack(r))[0] if r == r else _NAN


def f32_sub(a: float, b: float) -> float:
    """f32.sub: ``f32_round(a - b)`` (exact: double rounding is innocuous, see module doc); a
    NaN result is :data:`NAN`."""
    r = a - b
    return f32_unpack(f32_pack(r))[0] if r == r else _NAN


def f32_mul(a: float, b: float) -> float:
    """f32.mul: ``f32_round(a * b)`` (exact: the product of two f32 values fits in a double); a
    NaN result is :data:`NAN`."""
    r = a * b
    return f32_unpack(f32_pack(r))[0] if r == r else _NAN


def fdiv(a: float, b: float) -> float:
    """IEEE division (f64.div): ``x / ±0`` is a signed infinity; a NaN result (``0 / 0``,
    ``inf / inf``, a NaN operand) is :data:`NAN`.

    Python raises ``ZeroDivisionError`` for a zero divisor; this returns what the hardware
    would.  Valid for f32 representations too, but f32.div needs :func:`f32_div`.
    """
    try:
        r = a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return _NAN
        return copysign(_INF, a) * copysign(1.0, b)
    return r if r == r else _NAN


def f32_div(a: float, b: float) -> float:
    """f32.div on f32 representations: correctly rounded f32 quotient, IEEE zero divisors; a
    NaN result is :data:`NAN`."""
    try:
        r = a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return _NAN
        return copysign(_INF, a) * copysign(1.0, b)
    return f32_unpack(f32_pack(r))[0] if r == r else _NAN


def fsqrt(x: float) -> float:
    """f64.sqrt: correctly rounded square root, ``-0.0`` itself; a negative number (``-inf``
    included) or a NaN gives :data:`NAN`."""
    if x >= 0.0:  # -0.0 included: sqrt(-0.0) == -0.0
        return _sqrt(x)
    return _NAN


def f32_sqrt(x: float) -> float:
    """f32.sqrt on an f32 representation (correctly rounded: double rounding is innocuous)."""
    if x >= 0.0:
        return f32_unpack(f32_pack(_sqrt(x)))[0]
    return _NAN


def fmin(a: float, b: float) -> float:
    """wasm ``fN.min``: :data:`NAN` if either operand is NaN, and ``-0.0 < +0.0``.

    Valid for f32 and f64 representations (the result of f32 inputs is an f32 representation).
    """
    if a < b:
        return a
    if b < a:
        return b
    if a == b:
        if a:
            return a
        return -(-a - b)  # zeros: -0.0 unless both are +0.0
    return _NAN


def fmax(a: float, b: float) -> float:
    """wasm ``fN.max``: :data:`NAN` if either operand is NaN, and ``-0.0 < +0.0``.

    Valid for f32 and f64 representations (see :func:`fmin`).
    """
    if a > b:
        return a
    if b > a:
        return b
    if a == b:
        if a:
            return a
        return a + b  # zeros: +0.0 unless both are -0.0
    return _NAN


def fceil(x: float) -> float:
    """wasm ``fN.ceil`` for both widths: keeps the sign of zero (``ceil(-0.5) == -0.0``).

    ``±inf`` and values with ``|x| >= 2**52`` (already integral) are returned unchanged; a NaN
    gives :data:`NAN`.  A zero result takes the sign of ``x`` (``x * 0.0``).
    """
    if -_TWO52 < x < _TWO52:
        return float(_ceil(x)) or x * 0.0
    return _NAN if x != x else x


def ffloor(x: float) -> float:
    """wasm ``fN.floor`` for both widths: keeps the sign of zero, inf/NaN as in :func:`fceil`."""
    if -_TWO52 < x < _TWO52:
        return float(_floor(x)) or x * 0.0
    return _NAN if x != x else x


def ftrunc(x: float) -> float:
    """wasm ``fN.trunc`` for both widths: keeps the sign of zero, inf/NaN as in :func:`fceil`."""
    if -_TWO52 < x < _TWO52:
        return float(_trunc(x)) or x * 0.0
    return _NAN if x != x else x


def fnearest(x: float) -> float:
    """wasm ``fN.nearest`` (round half to even) for both widths; keeps the sign of zero.

    Uses ``(x + 2**52) - 2**52``, which rounds to an integer in the default rounding mode
    (ties to even).  inf/NaN as in :func:`fceil`.
    """
    if 0.0 < x < _TWO52:
        return (x + _TWO52) - _TWO52
    if -_TWO52 < x < 0.0:
        return (x - _TWO52) + _TWO52 or -0.0
    return _NAN if x != x else x


# The rounding operations are exact and width-agnostic: an integer-valued result of an f32
# value is an f32 value, and NAN is an f32 representation.
f32_ceil = f64_ceil = fceil
f32_floor = f64_floor = ffloor
f32_trunc = f64_trunc = ftrunc
f32_nearest = f64_nearest = fnearest


def _fneg_bits(x: float) -> float:
    """Negate by flipping the sign bit (portable fallback for :func:`fneg`)."""
    return _f64_unpack(_u64_pack(_u64_unpack(_f64_pack(x))[0] ^ 0x8000000000000000))[0]


def _fabs_bits(x: float) -> float:
    """Clear the sign bit (portable fallback for :func:`fabs`)."""
    return _f64_unpack(_u64_pack(_u64_unpack(_f64_pack(x))[0] & 0x7FFFFFFFFFFFFFFF))[0]


def _fcopysign_bits(a: float, b: float) -> float:
    """Copy the sign bit of ``b`` onto ``a`` (portable fallback for :func:`fcopysign`)."""
    return _f64_unpack(
        _u64_pack(
            (_u64_unpack(_f64_pack(a))[0] & 0x7FFFFFFFFFFFFFFF)
            | (_u64_unpack(_f64_pack(b))[0] & 0x8000000000000000)
        )
    )[0]


def _probe_sign_ops() -> bool:
    """Check that ``-x``, ``abs(x)`` and ``math.copysign`` keep NaN payloads bit-exactly."""
    patterns = (
        0x7FF0000000000001,  # sNaN, minimal payload
        0xFFF4000000000000,  # negative sNaN
        0x7FF8000000000000,  # canonical qNaN
        0x7FFA5A5A5A5A5A5A,  # qNaN with payload
        0x7FF4000020000001,  # sNaN with high and low payload bits
        f64_to_bits(f32_from_bits(0x7FA00000)),  # f32 sNaN representation
    )
    for bits in patterns:
        x = f64_from_bits(bits)
        if f64_to_bits(-x) != bits ^ 0x8000000000000000:
            return False
        if f64_to_bits(abs(x)) != bits & 0x7FFFFFFFFFFFFFFF:
            return False
        if f64_to_bits(copysign(x, -1.0)) != bits | 0x8000000000000000:
            return False
        if f64_to_bits(copysign(x, 1.0)) != bits & 0x7FFFFFFFFFFFFFFF:
            return False
        if f64_to_bits(copysign(1.0, x)) != (bits & 0x8000000000000000) | 0x3FF0000000000000:
            return False
    return True


#: ``True`` when plain ``-x``, ``abs(x)`` and ``math.copysign`` are bit-exact on NaNs here
#: (they are on x86-64); generated code may then inline them for neg/abs/copysign.
SIGN_OPS_BIT_EXACT: bool = _probe_sign_ops()

if SIGN_OPS_BIT_EXACT:

    def fneg(x: float) -> float:
        """wasm ``fN.neg``: flip the sign bit only (bit-exact on NaNs, both widths)."""
        return -x

    def fabs(x: float) -> float:
        """wasm ``fN.abs``: clear the sign bit only (bit-exact on NaNs, both widths)."""
        return abs(x)

    def fcopysign(a: float, b: float) -> float:
        """wasm ``fN.copysign``: ``a`` with the sign bit of ``b`` (bit-exact, both widths)."""
        return copysign(a, b)

else:  # pragma: no cover - not reached on x86-64
    fneg = _fneg_bits
    fabs = _fabs_bits
    fcopysign = _fcopysign_bits


# --------------------------------------------------------------------------------------------
# Float -> integer truncation (f32 or f64 inputs; results canonical unsigned)
# --------------------------------------------------------------------------------------------


def trunc_s32(x: float) -> int:
    """i32.trunc_fN_s: truncate toward zero to a signed i32 (canonical unsigned result).

    Traps with INVALID_CONVERSION_TO_INTEGER on NaN and INTEGER_OVERFLOW unless
    ``-2**31 - 1 < x < 2**31``.
    """
    if -1.0 < x < 2147483648.0:
        return int(x)
    if -2147483649.0 < x <= -1.0:
        return int(x) + 0x100000000
    if x != x:
        raise Trap(_INVALID)
    raise Trap(_OVERFLOW)


def trunc_u32(x: float) -> int:
    """i32.trunc_fN_u: truncate toward zero to an unsigned i32; valid for ``-1 < x < 2**32``."""
    if -1.0 < x < 4294967296.0:
        return int(x)
    if x != x:
        raise Trap(_INVALID)
    raise Trap(_OVERFLOW)


def trunc_s64(x: float) -> int:
    """i64.trunc_fN_s: truncate toward zero to a signed i64; valid for ``-2**63 <= x < 2**63``.

    (No double lies strictly between ``-2**63 - 1`` and ``-2**63``.)
    """
    if -1.0 < x < 9223372036854775808.0:
        return int(x)
    if -9223372036854775808.0 <= x <= -1.0:
        return int(x) + 0x10000000000000000
    if x != x:
        raise Trap(_INVALID)
    raise Trap(_OVERFLOW)


def trunc_u64(x: float) -> int:
    """i64.trunc_fN_u: truncate toward zero to an unsigned i64; valid for ``-1 < x < 2**64``."""
    if -1.0 < x < 18446744073709551616.0:
        return int(x)
    if x != x:
        raise Trap(_INVALID)
    raise Trap(_OVERFLOW)


def trunc_sat_s32(x: float) -> int:
    """i32.trunc_sat_fN_s: like :func:`trunc_s32` but saturating; NaN gives 0."""
    if -1.0 < x < 2147483648.0:
        return int(x)
    if -2147483649.0 < x <= -1.0:
        return int(x) + 0x100000000
    if x > 0.0:
        return 0x7FFFFFFF
    if x < 0.0:
        return 0x80000000
    return 0


def trunc_sat_u32(x: float) -> int:
    """i32.trunc_sat_fN_u: like :func:`trunc_u32` but saturating; NaN gives 0."""
    if -1.0 < x < 4294967296.0:
        return int(x)
    if x > 0.0:
        return 0xFFFFFFFF
    return 0


def trunc_sat_s64(x: float) -> int:
    """i64.trunc_sat_fN_s: like :func:`trunc_s64` but saturating; NaN gives 0."""
    if -1.0 < x < 9223372036854775808.0:
        return int(x)
    if -9223372036854775808.0 <= x <= -1.0:
        return int(x) + 0x10000000000000000
    if x > 0.0:
        return 0x7FFFFFFFFFFFFFFF
    if x < 0.0:
        return 0x8000000000000000
    return 0


def trunc_sat_u64(x: float) -> int:
    """i64.trunc_sat_fN_u: like :func:`trunc_u64` but saturating; NaN gives 0."""
    if -1.0 < x < 18446744073709551616.0:
        return int(x)
    if x > 0.0:
        return 0xFFFFFFFFFFFFFFFF
    return 0


# --------------------------------------------------------------------------------------------
# Integer -> float conversions (inputs canonical unsigned)
# --------------------------------------------------------------------------------------------


def _u64_to_f32(a: int) -> float:
    """Round the integer ``0 <= a < 2**64`` to the nearest f32, ties to even.

    Rounds once, directly from the integer: ``float(a)`` would first round to 53 bits, and
    rounding that again to 24 bits can differ from rounding ``a`` (double rounding).
    """
    if a <= 9007199254740992:  # 2**53: float(a) is exact
        return f32_unpack(f32_pack(float(a)))[0]
    s = a.bit_length() - 26
    # Keep 26 bits (24 significant + the round bit + one more) and fold every lower bit into
    # the last one (sticky): rounding that exactly representable value to 24 bits gives the
    # same result as rounding ``a``.
    w = a >> s
    if (w << s) != a:
        w |= 1
    return f32_unpack(f32_pack(float(w << s)))[0]


def f32_convert_s32(u: int) -> float:
    """f32.convert_i32_s: the i32 ``u`` (canonical unsigned) read as signed, to nearest f32."""
    return f32_unpack(f32_pack(float((u ^ 0x80000000) - 0x80000000)))[0]


def f32_convert_u32(u: int) -> float:
    """f32.convert_i32_u: the i32 ``u`` read as unsigned, rounded to the nearest f32."""
    return f32_unpack(f32_pack(float(u)))[0]


def f32_convert_s64(u: int) -> float:
    """f32.convert_i64_s: the i64 ``u`` read as signed, correctly rounded (no double rounding)."""
    if u < 0x8000000000000000:
        return _u64_to_f32(u)
    return -_u64_to_f32(0x10000000000000000 - u)


def f32_convert_u64(u: int) -> float:
    """f32.convert_i64_u: the i64 ``u`` read as unsigned, correctly rounded (no double rounding)."""
    return _u64_to_f32(u)


def f64_convert_s32(u: int) -> float:
    """f64.convert_i32_s: the i32 ``u`` read as signed (exact)."""
    return float((u ^ 0x80000000) - 0x80000000)


def f64_convert_u32(u: int) -> float:
    """f64.convert_i32_u: the i32 ``u`` read as unsigned (exact)."""
    return float(u)


def f64_convert_s64(u: int) -> float:
    """f64.convert_i64_s: the i64 ``u`` read as signed (``float(int)`` rounds correctly)."""
    return float((u ^ 0x8000000000000000) - 0x8000000000000000)


def f64_convert_u64(u: int) -> float:
    """f64.convert_i64_u: the i64 ``u`` read as unsigned (``float(int)`` rounds correctly)."""
    return float(u)


def f32_demote(x: float) -> float:
    """f32.demote_f64: round to the nearest f32; a NaN gives :data:`NAN`."""
    if x == x:
        return f32_unpack(f32_pack(x))[0]
    return _NAN


def f64_promote(x: float) -> float:
    """f64.promote_f32: the f32 representation as an f64 (exact); a NaN gives :data:`NAN`."""
    if x == x:
        return x
    return _NAN


# --------------------------------------------------------------------------------------------
# Integers (inputs and outputs canonical unsigned)
# --------------------------------------------------------------------------------------------


def s32(u: int) -> int:
    """The i32 ``u`` (canonical unsigned) as a signed int in ``[-2**31, 2**31)``."""
    return (u ^ 0x80000000) - 0x80000000


def s64(u: int) -> int:
    """The i64 ``u`` (canonical unsigned) as a signed int in ``[-2**63, 2**63)``."""
    return (u ^ 0x8000000000000000) - 0x8000000000000000


def i32_wrap_i64(u: int) -> int:
    """i32.wrap_i64: the low 32 bits."""
    return u & 0xFFFFFFFF


def i32_div_s(a: int, b: int) -> int:
    """i32.div_s: signed division truncating toward zero.

    Traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0`` and INTEGER_OVERFLOW for
    ``-2**31 / -1``.  Works on magnitudes, with non-negative Python ints only (negative
    ints are slower in CPython).
    """
    if a < 0x80000000:
        if 0 < b < 0x80000000:
            return a // b
        if not b:
            raise Trap(_DIV0)
        return (0x100000000 - a // (0x100000000 - b)) & 0xFFFFFFFF
    a = 0x100000000 - a  # |a|
    if b < 0x80000000:
        if not b:
            raise Trap(_DIV0)
        return (0x100000000 - a // b) & 0xFFFFFFFF
    q = a // (0x100000000 - b)
    if q == 0x80000000:
        raise Trap(_OVERFLOW)
    return q


def i32_rem_s(a: int, b: int) -> int:
    """i32.rem_s: signed remainder with the sign of the dividend (``-2**31 % -1 == 0``).

    Traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0``.
    """
    if 0 < b < 0x80000000:
        if a < 0x80000000:
            return a % b
    elif b:
        b = 0x100000000 - b  # |b|
    else:
        raise Trap(_DIV0)
    if a < 0x80000000:
        return a % b
    return (0x100000000 - (0x100000000 - a) % b) & 0xFFFFFFFF


def i32_div_u(a: int, b: int) -> int:
    """i32.div_u: unsigned division; traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0``."""
    if not b:
        raise Trap(_DIV0)
    return a // b


def i32_rem_u(a: int, b: int) -> int:
    """i32.rem_u: unsigned remainder; traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0``."""
    if not b:
        raise Trap(_DIV0)
    return a % b


def i64_div_s(a: int, b: int) -> int:
    """i64.div_s: signed division truncating toward zero.

    Traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0`` and INTEGER_OVERFLOW for
    ``-2**63 / -1``.  Works on magnitudes, with non-negative Python ints only (negative
    ints are slower in CPython).
    """
    if a < 0x8000000000000000:
        if 0 < b < 0x8000000000000000:
            return a // b
        if not b:
            raise Trap(_DIV0)
        return (0x10000000000000000 - a // (0x10000000000000000 - b)) & 0xFFFFFFFFFFFFFFFF
    a = 0x10000000000000000 - a  # |a|
    if b < 0x8000000000000000:
        if not b:
            raise Trap(_DIV0)
        return (0x10000000000000000 - a // b) & 0xFFFFFFFFFFFFFFFF
    q = a // (0x10000000000000000 - b)
    if q == 0x8000000000000000:
        raise Trap(_OVERFLOW)
    return q


def i64_rem_s(a: int, b: int) -> int:
    """i64.rem_s: signed remainder with the sign of the dividend (``-2**63 % -1 == 0``).

    Traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0``.
    """
    if 0 < b < 0x8000000000000000:
        if a < 0x8000000000000000:
            return a % b
    elif b:
        b = 0x10000000000000000 - b  # |b|
    else:
        raise Trap(_DIV0)
    if a < 0x8000000000000000:
        return a % b
    return (0x10000000000000000 - (0x10000000000000000 - a) % b) & 0xFFFFFFFFFFFFFFFF


def i64_div_u(a: int, b: int) -> int:
    """i64.div_u: unsigned division; traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0``."""
    if not b:
        raise Trap(_DIV0)
    return a // b


def i64_rem_u(a: int, b: int) -> int:
    """i64.rem_u: unsigned remainder; traps with INTEGER_DIVIDE_BY_ZERO if ``b == 0``."""
    if not b:
        raise Trap(_DIV0)
    return a % b


def i32_clz(a: int) -> int:
    """i32.clz: number of leading zero bits (32 for 0)."""
    return 32 - a.bit_length()


def i32_ctz(a: int) -> int:
    """i32.ctz: number of trailing zero bits (32 for 0)."""
    return (a ^ (a - 1)).bit_length() - 1 if a else 32


def i32_popcnt(a: int) -> int:
    """i32.popcnt: number of one bits."""
    return a.bit_count()


def i64_clz(a: int) -> int:
    """i64.clz: number of leading zero bits (64 for 0)."""
    return 64 - a.bit_length()


def i64_ctz(a: int) -> int:
    """i64.ctz: number of trailing zero bits (64 for 0)."""
    return (a ^ (a - 1)).bit_length() - 1 if a else 64


def i64_popcnt(a: int) -> int:
    """i64.popcnt: number of one bits."""
    return a.bit_count()


def i32_rotl(a: int, b: int) -> int:
    """i32.rotl: rotate left by ``b mod 32``."""
    return ((a << (b & 31)) | (a >> (-b & 31))) & 0xFFFFFFFF


def i32_rotr(a: int, b: int) -> int:
    """i32.rotr: rotate right by ``b mod 32``."""
    return ((a >> (b & 31)) | (a << (-b & 31))) & 0xFFFFFFFF


def i64_rotl(a: int, b: int) -> int:
    """i64.rotl: rotate left by ``b mod 64``."""
    return ((a << (b & 63)) | (a >> (-b & 63))) & 0xFFFFFFFFFFFFFFFF


def i64_rotr(a: int, b: int) -> int:
    """i64.rotr: rotate right by ``b mod 64``."""
    return ((a >> (b & 63)) | (a << (-b & 63))) & 0xFFFFFFFFFFFFFFFF


def i32_shr_s(a: int, b: int) -> int:
    """i32.shr_s: arithmetic shift right by ``b mod 32``."""
    if a < 0x80000000:
        return a >> (b & 31)
    return (a - 0x100000000 >> (b & 31)) & 0xFFFFFFFF


def i64_shr_s(a: int, b: int) -> int:
    """i64.shr_s: arithmetic shift right by ``b mod 64``."""
    if a < 0x8000000000000000:
        return a >> (b & 63)
    return (a - 0x10000000000000000 >> (b & 63)) & 0xFFFFFFFFFFFFFFFF


def i32_extend8_s(a: int) -> int:
    """i32.extend8_s: sign-extend the low 8 bits to 32 bits."""
    return (a & 0xFF) | 0xFFFFFF00 if a & 0x80 else a & 0xFF


def i32_extend16_s(a: int) -> int:
    """i32.extend16_s: sign-extend the low 16 bits to 32 bits."""
    return (a & 0xFFFF) | 0xFFFF0000 if a & 0x8000 else a & 0xFFFF


def i64_extend8_s(a: int) -> int:
    """i64.extend8_s: sign-extend the low 8 bits to 64 bits."""
    return (a & 0xFF) | 0xFFFFFFFFFFFFFF00 if a & 0x80 else a & 0xFF


def i64_extend16_s(a: int) -> int:
    """i64.extend16_s: sign-extend the low 16 bits to 64 bits."""
    return (a & 0xFFFF) | 0xFFFFFFFFFFFF0000 if a & 0x8000 else a & 0xFFFF


def i64_extend32_s(a: int) -> int:
    """i64.extend32_s: sign-extend the low 32 bits to 64 bits."""
    return (a & 0xFFFFFFFF) | 0xFFFFFFFF00000000 if a & 0x80000000 else a & 0xFFFFFFFF


def i64_extend_i32_s(a: int) -> int:
    """i64.extend_i32_s: sign-extend the i32 ``a`` (canonical unsigned) to an i64."""
    return a | 0xFFFFFFFF00000000 if a & 0x80000000 else a


# --------------------------------------------------------------------------------------------
# Inline forms for the translator
# --------------------------------------------------------------------------------------------


def _build_inline() -> tuple[dict[str, str], dict[str, str]]:
    """Build :data:`INLINE` and :data:`INLINE_BOOL` (see the module docstring)."""
    forms: dict[str, str] = {}
    tests: dict[str, str] = {}
    for w, m, sign, two, sh in (
        (32, "0xFFFFFFFF", "0x80000000", "0x100000000", 31),
        (64, "0xFFFFFFFFFFFFFFFF", "0x8000000000000000", "0x10000000000000000", 63),
    ):
        t = f"i{w}"
        forms[f"{t}.add"] = f"(({{a}} + {{b}}) & {m})"
        forms[f"{t}.sub"] = f"(({{a}} - {{b}}) & {m})"
        forms[f"{t}.mul"] = f"(({{a}} * {{b}}) & {m})"
        forms[f"{t}.and"] = "({a} & {b})"
        forms[f"{t}.or"] = "({a} | {b})"
        forms[f"{t}.xor"] = "({a} ^ {b})"
        forms[f"{t}.shl"] = f"(({{a}} << ({{b}} & {sh})) & {m})"
        forms[f"{t}.shr_u"] = f"({{a}} >> ({{b}} & {sh}))"
        forms[f"{t}.shr_s"] = (f"({{a}} >> ({{b}} & {sh}) if {{a}} < {sign} "
                               f"else ({{a}} - {two} >> ({{b}} & {sh})) & {m})")
        forms[f"{t}.rotl"] = f"((({{a}} << ({{b}} & {sh})) | ({{a}} >> (-{{b}} & {sh}))) & {m})"
        forms[f"{t}.rotr"] = f"((({{a}} >> ({{b}} & {sh})) | ({{a}} << (-{{b}} & {sh}))) & {m})"
        forms[f"{t}.clz"] = f"({w} - {{a}}.bit_length())"
        forms[f"{t}.ctz"] = f"(({{a}} ^ ({{a}} - 1)).bit_length() - 1 if {{a}} else {w})"
        forms[f"{t}.popcnt"] = "{a}.bit_count()"
        for op in ("div_s", "div_u", "rem_s", "rem_u"):
            forms[f"{t}.{op}"] = f"{t}_{op}({{a}}, {{b}})"
        hi8, hi16 = f"{m}"[:-2] + "00", f"{m}"[:-4] + "0000"
        forms[f"{t}.extend8_s"] = f"(({{a}} & 0xFF) | {hi8} if {{a}} & 0x80 else {{a}} & 0xFF)"
        forms[f"{t}.extend16_s"] = (f"(({{a}} & 0xFFFF) | {hi16} if {{a}} & 0x8000 "
                                    f"else {{a}} & 0xFFFF)")
        tests[f"{t}.eqz"] = "({a} == 0)"
        tests[f"{t}.eq"] = "({a} == {b})"
        tests[f"{t}.ne"] = "({a} != {b})"
        for op, py, flip in (("lt", "<", ">"), ("gt", ">", "<"), ("le", "<=", ">"),
                             ("ge", ">=", "<")):
            tests[f"{t}.{op}_u"] = f"({{a}} {py} {{b}})"
            # same sign: the unsigned order is the signed order; signs differ: it is reversed
            tests[f"{t}.{op}_s"] = (f"({{a}} {py} {{b}} if ({{a}} ^ {{b}}) < {sign} "
                                    f"else {{a}} {flip} {{b}})")
    forms["i64.extend32_s"] = ("(({a} & 0xFFFFFFFF) | 0xFFFFFFFF00000000 if {a} & 0x80000000 "
                              "else {a} & 0xFFFFFFFF)")
    forms["i32.wrap_i64"] = "({a} & 0xFFFFFFFF)"
    forms["i64.extend_i32_u"] = "{a}"
    forms["i64.extend_i32_s"] = "({a} | 0xFFFFFFFF00000000 if {a} & 0x80000000 else {a})"

    for t in ("f32", "f64"):
        forms[f"{t}.neg"] = "(-{a})" if SIGN_OPS_BIT_EXACT else "fneg({a})"
        forms[f"{t}.abs"] = "abs({a})" if SIGN_OPS_BIT_EXACT else "fabs({a})"
        forms[f"{t}.copysign"] = "copysign({a}, {b})" if SIGN_OPS_BIT_EXACT else "fcopysign({a}, {b})"
        for op in ("ceil", "floor", "trunc", "nearest"):
            forms[f"{t}.{op}"] = f"f{op}({{a}})"
        forms[f"{t}.min"] = "fmin({a}, {b})"
        forms[f"{t}.max"] = "fmax({a}, {b})"
        for op, py in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("gt", ">"), ("le", "<="),
                       ("ge", ">=")):
            tests[f"{t}.{op}"] = f"({{a}} {py} {{b}})"
        for it, iw in (("i32", 32), ("i64", 64)):
            for sx in ("s", "u"):
                forms[f"{it}.trunc_{t}_{sx}"] = f"trunc_{sx}{iw}({{a}})"
                forms[f"{it}.trunc_sat_{t}_{sx}"] = f"trunc_sat_{sx}{iw}({{a}})"
                forms[f"{t}.convert_{it}_{sx}"] = f"{t}_convert_{sx}{iw}({{a}})"
    # a NaN result is NAN (the translator checks once where an arithmetic expression ends)
    forms["f64.add"] = "(nan_t if (nan_t := {a} + {b}) == nan_t else NAN)"
    forms["f64.sub"] = "(nan_t if (nan_t := {a} - {b}) == nan_t else NAN)"
    forms["f64.mul"] = "(nan_t if (nan_t := {a} * {b}) == nan_t else NAN)"
    forms["f64.div"] = "fdiv({a}, {b})"
    forms["f64.sqrt"] = "fsqrt({a})"
    forms["f32.add"] = "f32_add({a}, {b})"
    forms["f32.sub"] = "f32_sub({a}, {b})"
    forms["f32.mul"] = "f32_mul({a}, {b})"
    forms["f32.div"] = "f32_div({a}, {b})"
    forms["f32.sqrt"] = "f32_sqrt({a})"
    forms["f32.convert_i32_u"] = "f32_unpack(f32_pack({a}))[0]"
    forms["f64.convert_i32_u"] = "float({a})"
    forms["f64.convert_i64_u"] = "float({a})"
    forms["f32.demote_f64"] = "f32_demote({a})"
    forms["f64.promote_f32"] = "f64_promote({a})"
    forms["i32.reinterpret_f32"] = "f32_to_bits({a})"
    forms["i64.reinterpret_f64"] = "f64_to_bits({a})"
    forms["f32.reinterpret_i32"] = "f32_from_bits({a})"
    forms["f64.reinterpret_i64"] = "f64_from_bits({a})"
    for op, cond in tests.items():
        forms[op] = f"(1 if {cond} else 0)"
    return forms, tests


#: ``INLINE[op]``: a Python expression template for every wasm numeric instruction ``op``
#: (``"i32.add"``, ``"f32.convert_i64_s"``, ``"f64.reinterpret_i64"``, ...), with operand slots
#: ``{a}`` and ``{b}`` (fill with ``str.format``), computing the result in canonical form (i32
#: results of tests are ``1``/``0``).  Either an inline expression or a call of a helper of this
#: module; names used are all in ``__all__``.  Operands must be side-effect-free atoms.
#: ``INLINE_BOOL[op]``: for the test/compare instructions, the same as a ``bool`` (for ``if``,
#: ``br_if``, ``select`` conditions, which do not need the ``1 if ... else 0`` wrapping).
INLINE, INLINE_BOOL = _build_inline()


# --------------------------------------------------------------------------------------------
# Benchmark (``python -m wasm2py.runtime.numeric``): re-measures the module docstring figures
# --------------------------------------------------------------------------------------------


def _bench_ns(expr: str, a: object, b: object, extra: dict | None = None,
              number: int = 2_000, repeat: int = 150) -> float:
    """ns per evaluation of ``expr`` minus the ``r = a`` loop baseline (min over repeats).

    ``expr`` is an expression (run as ``r = expr``) or, if it contains ``;``, statements.  It
    runs in a function whose operands ``a``/``b`` are locals and whose globals are this
    module's (plus ``extra``), as in generated code.  The 10x-unrolled loop body and the
    minimum over many short repeats keep the figure stable on a shared machine.
    """
    import time

    ns = dict(globals())
    if extra:
        ns.update(extra)

    def timed(body: str) -> float:
        src = "def _f(a, b, n):\n    for _ in range(n):\n" + f"        {body}\n" * 10
        exec(compile(src, "<bench>", "exec"), ns)
        f = ns["_f"]
        best = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            f(a, b, number)
            best = min(best, time.perf_counter() - t0)
        return best / number / 10 * 1e9

    body = expr if ";" in expr else f"r = {expr}"
    return timed(body) - timed("r = a")


_BENCH_INT_ROWS = (
    # (op, candidate expressions; the first is the form INLINE uses)
    ("i32.add", "(a + b) & 0xFFFFFFFF", "a + b if a + b < 0x100000000 else a + b - 0x100000000"),
    ("i32.sub", "(a - b) & 0xFFFFFFFF"),
    ("i32.mul", "(a * b) & 0xFFFFFFFF"),
    ("i32.shl", "(a << (b & 31)) & 0xFFFFFFFF", "(a & (0xFFFFFFFF >> (b & 31))) << (b & 31)"),
    ("i32.shr_u", "a >> (b & 31)"),
    ("i32.shr_s", "a >> (b & 31) if a < 0x80000000 else (a - 0x100000000 >> (b & 31)) & 0xFFFFFFFF",
     "((a ^ 0x80000000) - 0x80000000 >> (b & 31)) & 0xFFFFFFFF",
     "(s32(a) >> (b & 31)) & 0xFFFFFFFF", "i32_shr_s(a, b)"),
    ("i32.rotl", "((a << (b & 31)) | (a >> (-b & 31))) & 0xFFFFFFFF",
     "((a << (b & 31)) | (a >> (32 - (b & 31)))) & 0xFFFFFFFF",
     "((a & (0xFFFFFFFF >> (b & 31))) << (b & 31)) | (a >> (32 - (b & 31)))", "i32_rotl(a, b)"),
    ("i32.lt_u", "a < b"),
    ("i32.lt_s", "a < b if (a ^ b) < 0x80000000 else a > b",
     "(a ^ 0x80000000) < (b ^ 0x80000000)",
     "((a < b) != (a > 0x7FFFFFFF)) != (b > 0x7FFFFFFF)", "s32(a) < s32(b)"),
    ("bool->i32", "1 if a < b else 0", "(a < b) + 0", "int(a < b)"),
    ("i32.eqz", "a == 0", "not a"),
    ("i32.clz", "32 - a.bit_length()", "i32_clz(a)"),
    ("i32.ctz", "(a ^ (a - 1)).bit_length() - 1 if a else 32",
     "(a & -a).bit_length() - 1 if a else 32", "((a ^ (a - 1)) & 0x1FFFFFFFF).bit_length() - 1",
     "i32_ctz(a)"),
    ("i32.popcnt", "a.bit_count()", "bin(a).count('1')"),
    ("i32.extend8_s", "(a & 0xFF) | 0xFFFFFF00 if a & 0x80 else a & 0xFF",
     "((a & 0xFF) ^ 0x80) - 0x80 & 0xFFFFFFFF", "i32_extend8_s(a)"),
    ("i64.extend_i32_s", "a | 0xFFFFFFFF00000000 if a & 0x80000000 else a",
     "(a ^ 0x80000000) - 0x80000000 & 0xFFFFFFFFFFFFFFFF", "i64_extend_i32_s(a)"),
    ("i32.div_u", "a // b if b else i32_div_u(a, b)", "i32_div_u(a, b)"),
    ("i32.div_s", "i32_div_s(a, b)"),
    ("i32.rem_s", "i32_rem_s(a, b)"),
)

_BENCH_I64_ROWS = (
    ("i64.add", "(a + b) & 0xFFFFFFFFFFFFFFFF"),
    ("i64.mul", "(a * b) & 0xFFFFFFFFFFFFFFFF"),
    ("i32.wrap_i64", "a & 0xFFFFFFFF"),
    ("i64.div_s", "i64_div_s(a, b)"),
    ("f32.convert_i64_u", "f32_convert_u64(a)"),
    ("f64.convert_i64_s", "f64_convert_s64(a)"),
    ("f64.reinterpret_i64", "f64_from_bits(a)"),
)

_BENCH_FLOAT_ROWS = (
    ("f64.add", "nan_t if (nan_t := a + b) == nan_t else NAN", "a + b"),
    ("f32.add", "f32_add(a, b)", "f32_unpack(f32_pack(a + b))[0]", "f32_round(a + b)"),
    ("f64.div", "fdiv(a, b)", "a / b if b else fdiv(a, b)"),
    ("f32.div", "f32_div(a, b)"),
    ("f64.sqrt", "fsqrt(a)"),
    ("f32.sqrt", "f32_sqrt(a)"),
    ("fN.neg", "-a", "fneg(a)"),
    ("fN.abs", "abs(a)", "fabs(a)"),
    ("fN.copysign", "copysign(a, b)", "fcopysign(a, b)"),
    ("fN.min", "fmin(a, b)"),
    ("fN.ceil", "fceil(a)"),
    ("fN.floor", "ffloor(a)"),
    ("fN.trunc", "ftrunc(a)"),
    ("fN.nearest", "fnearest(a)"),
    ("fN.lt", "a < b"),
    ("i32.trunc_fN_s", "trunc_s32(a)"),
    ("i64.trunc_fN_u", "trunc_u64(a)"),
    ("f32.demote_f64", "f32_demote(a)"),
    ("i32.reinterpret_f32", "f32_to_bits(a)"),
    ("i64.reinterpret_f64", "f64_to_bits(a)"),
)


def _benchmark(rounds: int = 3) -> None:  # pragma: no cover - manual tool
    """Print the f32 rounding and inline-form timings quoted in the module docstring.

    Every figure is the minimum over ``rounds`` passes over the whole table (spread in time,
    which filters out bursts of load from other processes).
    """
    import ctypes
    from array import array

    arr = array("f", [0.0])
    mv = memoryview(bytearray(4)).cast("f")
    le = Struct("<f")
    pk_le, up_le = le.pack, le.unpack

    def round_le(x: float) -> float:
        try:
            return up_le(pk_le(x))[0]
        except OverflowError:
            return copysign(_INF, x)

    extra: dict = {"_a": arr, "_aset": arr.__setitem__, "_m": mv, "_mset": mv.__setitem__,
                   "_pk_le": pk_le, "_up_le": up_le, "c_float": ctypes.c_float,
                   "round_le": round_le}
    rounding = [
        "f32_unpack(f32_pack(a))[0]",
        "f32_round(a)",
        "_up_le(_pk_le(a))[0]",
        "round_le(a)",
        "_aset(0, a) or _a[0]",
        "_a[0] = a; r = _a[0]",
        "_mset(0, a) or _m[0]",
        "c_float(a).value",
    ]
    try:
        import numpy

        extra["np"] = numpy
        rounding.append("float(np.float32(a))")
    except ImportError:
        pass
    x = 1.2345678901234567
    i32_args = ((123456789, 5), (0xFEDCBA98, 5), (5, 0xFFFFFFFD))
    float_args = ((1.5, 2.25), (-0.75, 3.0))
    # (section title, [(label, expr, [(a, b), ...])])
    sections = [
        ("f32 rounding of a double (x = 1.2345678901234567)",
         [("", e, [(x, x)]) for e in rounding]),
        ("i32 ops; columns: a=123456789,b=5 | a=0xFEDCBA98 ('negative'),b=5 | "
         "a=5,b=0xFFFFFFFD ('negative')",
         [(op if i == 0 else "", e, list(i32_args))
          for op, *cands in _BENCH_INT_ROWS for i, e in enumerate(cands)]),
        ("i64 ops; a=0x123456789ABCDEF0, b=7",
         [(op if i == 0 else "", e, [(0x123456789ABCDEF0, 7)])
          for op, *cands in _BENCH_I64_ROWS for i, e in enumerate(cands)]),
        ("float ops; columns: a=1.5,b=2.25 | a=-0.75,b=3.0",
         [(op if i == 0 else "", e, list(float_args))
          for op, *cands in _BENCH_FLOAT_ROWS for i, e in enumerate(cands)]),
        ("other", [("", "f32_unpack(f32_pack(a))[0]", [(123456789, 0)]),
                   ("", "f32_convert_u32(a)", [(123456789, 0)]),
                   ("", "f32_from_bits(a)", [(0x3FC00000, 0)]),
                   ("", "float(a)", [(123456789, 0)])]),
    ]
    best: dict = {}
    for _ in range(rounds):
        for _title, rows in sections:
            for _label, e, args in rows:
                for a, b in args:
                    t = _bench_ns(e, a, b, extra)
                    key = (e, a, b)
                    best[key] = min(best.get(key, math.inf), t)
    print(f"ns per evaluation, net of the `r = a` loop baseline; min over repeats and {rounds} "
          "rounds")
    for title, rows in sections:
        print(f"\n{title}:")
        for label, e, args in rows:
            figures = " ".join(f"{best[(e, a, b)]:6.1f}" for a, b in args)
            print(f"  {label:18s} {e:82s} {figures}")


if __name__ == "__main__":  # pragma: no cover
    _benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
