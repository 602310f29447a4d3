"""The baseline emitter's float instructions: f32/f64 arithmetic, comparisons and conversions
(every scalar float instruction of Wasm 2.0; loads, stores, constants, ``select`` and
``reinterpret`` move bits and live in :mod:`.emit`). Importing the module registers its
handlers in :data:`emit.HANDLERS` (with ``emit.handler``; ``emit`` imports it last).

Operands come and go through the emitter's interface (``pop_to_xmm``/``push_xmm``, scratch
``rax, rcx, rdx, xmm0-xmm7``). Arithmetic is SSE2 scalar code; ``ceil``/``floor``/``trunc``/
``nearest`` need SSE4.1's ``roundss``/``roundsd`` (a function using them is refused on a CPU
without it).

**The NaN rule** (``wasm2py/llvm/README.md``, "NaN results"): a NaN result of ``add``..``div``,
``sqrt``, ``min``/``max``, rounding, ``promote`` and ``demote`` is the positive canonical NaN
(``abi.CANON_NAN_F32``/``CANON_NAN_F64``, what the LLVM tier loads from ``rt``; here an
immediate, as nothing folds it). Each such result is tested on its integer bits as it moves to
``rax`` (:func:`_push_canonical`) and replaced when it is a NaN; a float instruction right
after it takes the unchecked value from its xmm register instead (:func:`_pop_x`). ``abs``,
``neg`` and ``copysign`` are bit operations on the integer registers and keep every bit, NaN
payloads included.

**Float -> integer.** Trapping truncations test as the LLVM tier does: a NaN traps with
``INVALID_CONVERSION_TO_INTEGER``, a value outside ``(lo, hi)`` with ``INTEGER_OVERFLOW`` (the
bounds of ``lower._trunc_bounds``); an f32 operand is first widened to f64 (exact), so one set
of f64 bounds serves both widths. ``trunc_sat`` takes the same tests to 0 / the minimum / the
maximum instead of a trap.
"""

from __future__ import annotations

import struct

from ..binary.opcodes import Op as O
from ..errors import TrapCode
from ..llvm import abi
from . import x86 as X
from .emit import _FLAGS, C, FuncEmitter, L, R, S, Unsupported, handler
from .x86 import RAX, RBP, RCX, RDX

#: SSE4.1 (``roundss``/``roundsd``)
HAS_SSE41 = "sse4_1" in _FLAGS

_SD, _SS, _PD = b"\xf2", b"\xf3", b"\x66"


def _bits64(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


# -- encodings ---------------------------------------------------------------------------------


def sse(opc: bytes, dst: int, src: int, f64: bool) -> bytes:
    """A scalar SSE instruction ``opc`` (``0x0f ..``) ``xmm dst, xmm src``: the ``sd`` form when
    ``f64``, else ``ss``."""
    return X.rr(opc, dst, src, False, pre=_SD if f64 else _SS)


def sse_m(opc: bytes, dst: int, base: int, disp: int, f64: bool) -> bytes:
    """Like :func:`sse` with ``[base + disp]`` as the source."""
    return X.rm(opc, dst, base, disp, False, pre=_SD if f64 else _SS)


def ucomis(a: int, b: int, f64: bool) -> bytes:
    """``ucomisd``/``ucomiss a, b``: ZF, PF, CF = 1, 1, 1 unordered; 0, 0, 1 ``a < b``;
    1, 0, 0 equal; 0, 0, 0 ``a > b``."""
    return X.rr(b"\x0f\x2e", a, b, False, pre=_PD if f64 else b"")


def cmps(dst: int, src: int, pred: int, f64: bool) -> bytes:
    """``cmpsd``/``cmpss dst, src, pred`` (0: equal, ordered; 4: not equal, unordered too):
    ``dst``'s low lane all ones or all zeros."""
    return sse(b"\x0f\xc2", dst, src, f64) + bytes((pred,))


def rounds(dst: int, src: int, mode: int, f64: bool) -> bytes:
    """``roundsd``/``roundss dst, src, mode`` (SSE4.1; mode 0 nearest-even, 1 floor, 2 ceil,
    3 toward zero; bit 3 keeps the inexact exception quiet)."""
    return X.rr(b"\x0f\x3a\x0b" if f64 else b"\x0f\x3a\x0a", dst, src, False, pre=_PD) + \
        bytes((mode | 8,))  # fmt: skip


def bitwise(opc: int, dst: int, src: int) -> bytes:
    """``andps`` (0x54), ``orps`` (0x56) or ``xorps`` (0x57) ``dst, src`` (all 128 bits)."""
    return X.rr(bytes((0x0F, opc)), dst, src, False)


def cvtsi2s(x: int, r: int, w: bool, f64: bool) -> bytes:
    """``cvtsi2sd``/``cvtsi2ss xmm x, r`` (``w``: ``r`` is a signed 64-bit integer, else 32)."""
    return X.rr(b"\x0f\x2a", x, r, w, pre=_SD if f64 else _SS)


def cvtts2si(r: int, x: int, w: bool, f64: bool) -> bytes:
    """``cvttsd2si``/``cvttss2si r, xmm x`` (toward zero; ``w``: to 64 bits)."""
    return X.rr(b"\x0f\x2c", r, x, w, pre=_SD if f64 else _SS)


def bt(op: int, r: int, n: int, w: bool = True) -> bytes:
    """``bts`` (5), ``btr`` (6) or ``btc`` (7) ``r, n``."""
    return X.rr(b"\x0f\xba", op, r, w) + bytes((n,))


_BTR, _BTC = 6, 7


def _load_const(fe: FuncEmitter, x: int, bits: int, f64: bool) -> None:
    """``xmm x`` = the float whose bits are ``bits`` (through ``rax``)."""
    fe.code += X.mov_imm(RAX, bits, f64) + (X.movq_xr(x, RAX) if f64 else X.movd_xr(x, RAX))


def _push_canonical(fe: FuncEmitter, x: int, f64: bool) -> None:
    """Push the float in ``xmm x`` as the result, a NaN replaced by the canonical NaN.

    The result moves to ``rax`` and is tested there on its integer bits (``|bits| >
    bits(inf)``), a branch over the replacement: no floating-point operation is added, and
    the branch keeps the test off the value's path. (nbody, ``tools/baseline/float_kernels.py``,
    with every result tested: ``ucomis`` + ``jp`` in the xmm register 54.8 ms, this 52.0, a
    ``cmov`` instead of the branch 71.6: the spilled value waits for it.) If the next
    instruction is a float instruction that takes the result as an operand, the move and the
    test are taken back (:func:`_pop_x`): the test is made where a value leaves float
    arithmetic, as in the LLVM tier."""
    fe.push_r()
    a = fe.asm
    c = fe.code
    start = len(c)
    ok = X.Label()
    if f64:
        c += X.movq_rx(RAX, x) + X.mov_rr(RCX, RAX) + X.alu_rr(X.ADD, RCX, RCX)
        c += X.mov_imm(RDX, 0x7FF0000000000000 << 1) + X.alu_rr(X.CMP, RCX, RDX)
    else:
        c += X.movd_rx(RAX, x) + X.mov_rr(RCX, RAX, False) + X.alu_rr(X.ADD, RCX, RCX, False)
        c += X.alu_ri(X.CMP, RCX, -(1 << 24), False)  # 0x7f800000 << 1
    a.jcc(X.CC_BE, ok)
    c += X.mov_imm(RAX, abi.CANON_NAN_F64 if f64 else abi.CANON_NAN_F32, f64)
    a.bind(ok)
    _remember(fe, x, f64, start)


def _remember(fe: FuncEmitter, x: int, f64: bool, start: int) -> None:
    """The top operand was just pushed from ``xmm x`` by the code from ``start`` on (moving it
    to ``rax``; self-contained: no label outside it refers into it): while no other code
    follows, a float consumer may take the operand from ``xmm x`` and drop that code
    (:func:`_pop_x`)."""
    ctl = fe.ctl[-1]
    fe.float_top = (len(fe.code), len(fe.st), f64, x, start, ctl, ctl.kind, len(fe.ctl))


def _taken_back(fe: FuncEmitter, t) -> bool:
    """Whether the code remembered in ``t`` (:func:`_remember`) is still in the construct it
    was emitted in: then no label has been bound since (a block's end, a loop's head or an
    else would put a join after it, where the code cannot be taken back)."""
    ctl = fe.ctl
    return ctl[-1] is t[5] and ctl[-1].kind == t[6] and len(ctl) == t[7]


def _pop_x(fe: FuncEmitter, want: int, f64: bool) -> int:
    """Pop the top float operand into an xmm register for a consumer that treats every NaN
    alike (arithmetic, comparisons, conversions); returns the register: ``want``, or, if this
    module pushed the operand and no code has been emitted since, the register it was
    computed in (its move to ``rax`` and NaN test are dropped: nothing has read ``rax``, and
    this consumer does not need the canonical NaN)."""
    t = getattr(fe, "float_top", None)
    st = fe.st
    c = fe.code
    if t is not None and t[0] == len(c) and t[1] == len(st) and t[2] == f64 and \
            st[-1][0] == R and _taken_back(fe, t):  # fmt: skip
        st.pop()
        fe.float_top = None
        del c[t[4] :]
        return t[3]
    fe.pop_to_xmm(want, f64)
    return want


def _pop2(fe: FuncEmitter, f64: bool) -> tuple[int, int]:
    """Pop two float operands (NaN-agnostic consumer) into xmm registers: ``(a, b)``, ``b``
    the top. Besides :func:`_pop_x`'s case for ``b``: if ``a`` is this module's result
    spilled to its slot only because a local or a constant was pushed on it (``x * y + z``),
    and nothing else has happened since, ``a`` is taken from its xmm register and its move
    to ``rax``, NaN test and spill are taken back."""
    t = getattr(fe, "float_top", None)
    st = fe.st
    c = fe.code
    if t is not None and t[2] == f64 and len(st) == t[1] + 1 and st[-2] == (S, None) and \
            st[-1][0] in (L, C) and c[t[0] :] == X.mov_store(RBP, fe.slot(t[1] - 1), RAX) \
            and _taken_back(fe, t):
        # (the push of the local/constant emitted nothing but the spill)  # fmt: skip
        fe.float_top = None
        del c[t[4] :]
        a = t[3]
        b = 1 - a
        fe.pop_to_xmm(b, f64)  # (through rax: xmm a stays)
        st.pop()
        return a, b
    b = _pop_x(fe, 1, f64)
    a = 0 if b else 1
    fe.pop_to_xmm(a, f64)
    return a, b


# -- arithmetic --------------------------------------------------------------------------------

_ARITH: dict[int, tuple[bytes, bool]] = {
    O.F32_ADD: (b"\x0f\x58", False), O.F32_SUB: (b"\x0f\x5c", False),
    O.F32_MUL: (b"\x0f\x59", False), O.F32_DIV: (b"\x0f\x5e", False),
    O.F64_ADD: (b"\x0f\x58", True), O.F64_SUB: (b"\x0f\x5c", True),
    O.F64_MUL: (b"\x0f\x59", True), O.F64_DIV: (b"\x0f\x5e", True),
}  # fmt: skip


@handler(*_ARITH)
def _arith(fe: FuncEmitter, imm) -> None:
    opc, f64 = _ARITH[fe.op]
    st = fe.st
    if st[-1][0] == S:  # the right operand straight from its slot
        k = len(st) - 1
        st.pop()
        fe.pop_to_xmm(0, f64)
        fe.code += sse_m(opc, 0, RBP, fe.slot(k), f64)
        x = 0
    else:
        x, b = _pop2(fe, f64)
        fe.code += sse(opc, x, b, f64)
    _push_canonical(fe, x, f64)


_ROUND: dict[int, tuple[int, bool]] = {
    O.F32_NEAREST: (0, False), O.F32_FLOOR: (1, False), O.F32_CEIL: (2, False),
    O.F32_TRUNC: (3, False),
    O.F64_NEAREST: (0, True), O.F64_FLOOR: (1, True), O.F64_CEIL: (2, True),
    O.F64_TRUNC: (3, True),
}  # fmt: skip


@handler(*_ROUND)
def _round(fe: FuncEmitter, imm) -> None:
    mode, f64 = _ROUND[fe.op]
    if not HAS_SSE41:
        raise Unsupported("the CPU lacks SSE4.1 (roundss/roundsd)")
    x = _pop_x(fe, 0, f64)
    fe.code += rounds(x, x, mode, f64)
    _push_canonical(fe, x, f64)


@handler(O.F32_SQRT, O.F64_SQRT)
def _sqrt(fe: FuncEmitter, imm) -> None:
    f64 = fe.op == O.F64_SQRT
    x = _pop_x(fe, 0, f64)
    fe.code += sse(b"\x0f\x51", x, x, f64)
    _push_canonical(fe, x, f64)  # (x86's NaN for sqrt(-1) is negative)


@handler(O.F32_MIN, O.F32_MAX, O.F64_MIN, O.F64_MAX)
def _min_max(fe: FuncEmitter, imm) -> None:
    op = fe.op
    f64 = op in (O.F64_MIN, O.F64_MAX)
    is_min = op in (O.F32_MIN, O.F64_MIN)
    a = fe.asm
    c = fe.code
    x, y = _pop2(fe, f64)
    nan, ne, done = X.Label(), X.Label(), X.Label()
    c += ucomis(x, y, f64)
    a.jcc(X.CC_P, nan)  # a NaN operand: the canonical NaN (the NaN rule)
    a.jcc(X.CC_NE, ne)
    # equal: the same value but for the signs of zeros; min: -0 if either is, max: +0
    c += bitwise(0x56 if is_min else 0x54, x, y)
    a.jmp(done)
    a.bind(ne)
    c += sse(b"\x0f\x5d" if is_min else b"\x0f\x5f", x, y, f64)
    a.jmp(done)
    a.bind(nan)
    _load_const(fe, x, abi.CANON_NAN_F64 if f64 else abi.CANON_NAN_F32, f64)
    a.bind(done)
    fe.push_r()
    start = len(c)
    c += X.movq_rx(RAX, x) if f64 else X.movd_rx(RAX, x)
    _remember(fe, x, f64, start)


# -- bit operations ------------------------------------------------------------------------------


@handler(O.F32_ABS, O.F32_NEG, O.F64_ABS, O.F64_NEG)
def _abs_neg(fe: FuncEmitter, imm) -> None:
    op = fe.op
    f64 = op in (O.F64_ABS, O.F64_NEG)
    fe.pop_to(RAX, f64)
    if f64:
        fe.code += bt(_BTR if op == O.F64_ABS else _BTC, RAX, 63)
    elif op == O.F32_ABS:
        fe.code += X.alu_ri(X.AND, RAX, 0x7FFFFFFF, False)
    else:
        fe.code += X.alu_ri(X.XOR, RAX, -(1 << 31), False)
    fe.push_r()


@handler(O.F32_COPYSIGN, O.F64_COPYSIGN)
def _copysign(fe: FuncEmitter, imm) -> None:
    f64 = fe.op == O.F64_COPYSIGN
    c = fe.code
    fe.pop_to(RCX, f64)  # the sign's source
    fe.pop_to(RAX, f64)
    if f64:
        c += bt(_BTR, RAX, 63) + X.shift_ri(X.SHR, RCX, 63) + X.shift_ri(X.SHL, RCX, 63)
        c += X.alu_rr(X.OR, RAX, RCX)
    else:
        c += X.alu_ri(X.AND, RCX, -(1 << 31), False) + X.alu_ri(X.AND, RAX, 0x7FFFFFFF, False)
        c += X.alu_rr(X.OR, RAX, RCX, False)
    fe.push_r()


# -- comparisons -------------------------------------------------------------------------------

# (condition code, operands swapped, f64): after ``ucomis a, b`` "above" (CF = ZF = 0) is
# ``a > b`` and false when unordered, so lt/le compare the operands the other way round
_FCMP: dict[int, tuple[int, bool, bool]] = {
    O.F32_LT: (X.CC_A, True, False), O.F32_GT: (X.CC_A, False, False),
    O.F32_LE: (X.CC_AE, True, False), O.F32_GE: (X.CC_AE, False, False),
    O.F64_LT: (X.CC_A, True, True), O.F64_GT: (X.CC_A, False, True),
    O.F64_LE: (X.CC_AE, True, True), O.F64_GE: (X.CC_AE, False, True),
}  # fmt: skip


@handler(*_FCMP)
def _fcmp(fe: FuncEmitter, imm) -> None:
    cc, swap, f64 = _FCMP[fe.op]
    x, y = _pop2(fe, f64)
    fe.code += ucomis(y, x, f64) if swap else ucomis(x, y, f64)
    fe.push_flags(cc)


@handler(O.F32_EQ, O.F32_NE, O.F64_EQ, O.F64_NE)
def _feq(fe: FuncEmitter, imm) -> None:
    # equal is ZF = 1 and PF = 0, no one condition code: cmpsd's mask instead
    op = fe.op
    f64 = op in (O.F64_EQ, O.F64_NE)
    x, y = _pop2(fe, f64)
    fe.push_r()
    c = fe.code
    c += cmps(x, y, 0 if op in (O.F32_EQ, O.F64_EQ) else 4, f64)
    c += X.movd_rx(RAX, x) + X.alu_ri(X.AND, RAX, 1, False)


# -- conversions -------------------------------------------------------------------------------


@handler(O.F64_PROMOTE_F32, O.F32_DEMOTE_F64)
def _promote_demote(fe: FuncEmitter, imm) -> None:
    to64 = fe.op == O.F64_PROMOTE_F32
    x = _pop_x(fe, 0, not to64)
    fe.code += sse(b"\x0f\x5a", x, x, not to64)  # cvtss2sd / cvtsd2ss
    _push_canonical(fe, x, to64)


# opcode -> (source 64-bit, source unsigned, result f64)
_CONVERT: dict[int, tuple[bool, bool, bool]] = {
    O.F32_CONVERT_I32_S: (False, False, False), O.F32_CONVERT_I32_U: (False, True, False),
    O.F32_CONVERT_I64_S: (True, False, False), O.F32_CONVERT_I64_U: (True, True, False),
    O.F64_CONVERT_I32_S: (False, False, True), O.F64_CONVERT_I32_U: (False, True, True),
    O.F64_CONVERT_I64_S: (True, False, True), O.F64_CONVERT_I64_U: (True, True, True),
}  # fmt: skip


@handler(*_CONVERT)
def _convert(fe: FuncEmitter, imm) -> None:
    w, unsigned, f64 = _CONVERT[fe.op]
    c = fe.code
    if unsigned and not w:
        fe.pop_u32(RAX)  # a u32 is a non-negative i64
    else:
        fe.pop_to(RAX, w)
    c += bitwise(0x57, 0, 0)  # (cvtsi2s* writes the low lane only: no wait for xmm0's last)
    if not (unsigned and w):
        c += cvtsi2s(0, RAX, w or unsigned, f64)
    else:
        # a u64 with the top bit set: convert half of it, its lowest bit kept as a sticky bit
        # (so the one rounding is that of the whole value), then double
        a = fe.asm
        big, done = X.Label(), X.Label()
        c += X.test_rr(RAX, RAX)
        a.jcc(X.CC_S, big)
        c += cvtsi2s(0, RAX, True, f64)
        a.jmp(done)
        a.bind(big)
        c += X.mov_rr(RCX, RAX) + X.shift_ri(X.SHR, RCX, 1)
        c += X.alu_ri(X.AND, RAX, 1, False) + X.alu_rr(X.OR, RCX, RAX)
        c += cvtsi2s(0, RCX, True, f64) + sse(b"\x0f\x58", 0, 0, f64)
        a.bind(done)
    fe.push_xmm(0, f64)


_TWO63 = _bits64(2.0**63)
# (bits, signed) -> (lo, lo is a valid value, hi): x converts iff lo < x (lo <= x) and x < hi
_BOUNDS = {
    (32, True): (_bits64(-2147483649.0), False, _bits64(2147483648.0)),
    (32, False): (_bits64(-1.0), False, _bits64(4294967296.0)),
    (64, True): (_bits64(-(2.0**63)), True, _TWO63),
    (64, False): (_bits64(-1.0), False, _bits64(2.0**64)),
}
# opcode -> (bits, signed, source f64, saturating)
_TRUNC: dict[int, tuple[int, bool, bool]] = {
    O.I32_TRUNC_F32_S: (32, True, False), O.I32_TRUNC_F32_U: (32, False, False),
    O.I32_TRUNC_F64_S: (32, True, True), O.I32_TRUNC_F64_U: (32, False, True),
    O.I64_TRUNC_F32_S: (64, True, False), O.I64_TRUNC_F32_U: (64, False, False),
    O.I64_TRUNC_F64_S: (64, True, True), O.I64_TRUNC_F64_U: (64, False, True),
}  # fmt: skip
_TRUNC_SAT: dict[int, tuple[int, bool, bool]] = {
    O.I32_TRUNC_SAT_F32_S: (32, True, False), O.I32_TRUNC_SAT_F32_U: (32, False, False),
    O.I32_TRUNC_SAT_F64_S: (32, True, True), O.I32_TRUNC_SAT_F64_U: (32, False, True),
    O.I64_TRUNC_SAT_F32_S: (64, True, False), O.I64_TRUNC_SAT_F32_U: (64, False, False),
    O.I64_TRUNC_SAT_F64_S: (64, True, True), O.I64_TRUNC_SAT_F64_U: (64, False, True),
}  # fmt: skip


@handler(*_TRUNC, *_TRUNC_SAT)
def _trunc(fe: FuncEmitter, imm) -> None:
    sat = fe.op in _TRUNC_SAT
    bits, signed, f64 = (_TRUNC_SAT if sat else _TRUNC)[fe.op]
    lo, lo_ok, hi = _BOUNDS[bits, signed]
    a = fe.asm
    c = fe.code
    x = _pop_x(fe, 0, f64)
    if not f64:
        c += sse(b"\x0f\x5a", 0, x, False)  # cvtss2sd: exact, so the f64 bounds serve
    elif x:
        c += X.movaps_rr(0, x)
    fe.push_r()
    if sat:
        zero, low, high, done = X.Label(), X.Label(), X.Label(), X.Label()
        c += ucomis(0, 0, True)
        a.jcc(X.CC_P, zero)
        _load_const(fe, 1, hi, True)
        c += ucomis(0, 1, True)
        a.jcc(X.CC_AE, high)
        _load_const(fe, 1, lo, True)
        c += ucomis(0, 1, True)
        a.jcc(X.CC_B if lo_ok else X.CC_BE, low if signed else zero)
    else:
        c += ucomis(0, 0, True)
        fe.trap_if(X.CC_P, TrapCode.INVALID_CONVERSION_TO_INTEGER)
        _load_const(fe, 1, hi, True)
        c += ucomis(0, 1, True)
        fe.trap_if(X.CC_AE, TrapCode.INTEGER_OVERFLOW)
        _load_const(fe, 1, lo, True)
        c += ucomis(0, 1, True)
        fe.trap_if(X.CC_B if lo_ok else X.CC_BE, TrapCode.INTEGER_OVERFLOW)
    # in range
    if signed or bits == 32:  # (a u32 is exact as an i64)
        c += cvtts2si(RAX, 0, bits == 64 or not signed, True)
    else:
        big, fin = X.Label(), X.Label()
        _load_const(fe, 1, _TWO63, True)
        c += ucomis(0, 1, True)
        a.jcc(X.CC_AE, big)
        c += cvtts2si(RAX, 0, True, True)
        a.jmp(fin)
        a.bind(big)
        c += sse(b"\x0f\x5c", 0, 1, True) + cvtts2si(RAX, 0, True, True) + bt(_BTC, RAX, 63)
        a.bind(fin)
    if sat:
        a.jmp(done)
        a.bind(zero)
        c += X.mov_imm(RAX, 0, False)
        a.jmp(done)
        a.bind(high)
        top = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        c += X.mov_imm(RAX, top, bits == 64)
        if signed:
            a.jmp(done)
            a.bind(low)
            c += X.mov_imm(RAX, -(1 << (bits - 1)), bits == 64)
        a.bind(done)
