"""The baseline emitter's float instructions (``wasm2py/baseline/floats.py``).

Every scalar float instruction of Wasm 2.0 runs as baseline code on edge operands (NaNs of both
signs with payloads, signalling NaNs, ±0, ±inf, subnormals, max/min, rounding ties, the
truncation boundaries), in the operand forms the emitter treats apart (locals pinned in
registers, operands in frame slots, constants, call results in ``xmm0``), and must give the
Python tier's results bit for bit (NaN bits included: the NaN rule) and its traps. Independent
references check the same values: numpy's IEEE arithmetic and the NaN rule for arithmetic
(``test_nan_bits.reference``), Python floats for comparisons, exact integer rounding for
integer -> float conversions, and ``math.trunc`` with the spec's ranges for truncations.
"""

from __future__ import annotations

import itertools
import math
import struct

import numpy as np
import pytest

import wasm2py
from wasm2py.baseline import floats as FL
from wasm2py.baseline import x86 as X
from wasm2py.errors import TrapCode

from .baseline_util import baseline_instance, python_instance
from .test_nan_bits import EDGES, reference, reference_convert

pytestmark = pytest.mark.skipif(
    __import__("platform").machine() not in ("x86_64", "AMD64"), reason="x86-64 code")

IT = {32: "i32", 64: "i64"}
BINARY = ["add", "sub", "mul", "div", "min", "max", "copysign"]
UNARY = ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"]
COMPARE = ["eq", "ne", "lt", "gt", "le", "ge"]
# operand forms: parameters (pinned or in slots), operands in slots (block results), call
# results (xmm0, then spilled), a constant right operand
FORMS = ["p", "s", "c"]


def _u(x: int, w: int) -> int:
    return x & ((1 << w) - 1)


def _f(bits: int, w: int) -> float:
    return struct.unpack("<f" if w == 32 else "<d", struct.pack("<I" if w == 32 else "<Q", bits))[0]


def _arg(w: int, k: int, form: str) -> str:
    """Operand ``k`` (the float in parameter ``k``'s bits) in ``form``."""
    f, i = f"f{w}", IT[w]
    a = f"({f}.reinterpret_{i} (local.get {k}))"
    if form == "s":
        return f"(block (result {f}) {a})"
    if form == "c":
        return f"(call $id{w} {a})"
    return a


def _module() -> str:
    fs = ["(func $id32 (param f32) (result f32) (local.get 0))",
          "(func $id64 (param f64) (result f64) (local.get 0))"]
    for w in (32, 64):
        f, i = f"f{w}", IT[w]
        for form in FORMS:
            for op in BINARY:
                fs.append(f'(func (export "{f}.{op}.{form}") (param {i} {i}) (result {i}) '
                          f'({i}.reinterpret_{f} ({f}.{op} {_arg(w, 0, form)} '
                          f'{_arg(w, 1, form)})))')
            for op in UNARY:
                fs.append(f'(func (export "{f}.{op}.{form}") (param {i}) (result {i}) '
                          f'({i}.reinterpret_{f} ({f}.{op} {_arg(w, 0, form)})))')
            for op in COMPARE:
                a, b = _arg(w, 0, form), _arg(w, 1, form)
                fs.append(f'(func (export "{f}.{op}.{form}") (param {i} {i}) (result i32) '
                          f'({f}.{op} {a} {b}))')
                # fused with if / select / br_if
                fs.append(f'(func (export "{f}.{op}.{form}.if") (param {i} {i}) (result i32) '
                          f'(if (result i32) ({f}.{op} {a} {b}) (then (i32.const 7)) '
                          f'(else (i32.const 9))))')
                fs.append(f'(func (export "{f}.{op}.{form}.select") (param {i} {i}) (result i32) '
                          f'(select (i32.const 7) (i32.const 9) ({f}.{op} {a} {b})))')
                fs.append(f'(func (export "{f}.{op}.{form}.br_if") (param {i} {i}) (result i32) '
                          f'(block (result i32) (drop (br_if 0 (i32.const 7) ({f}.{op} {a} {b}))) '
                          f'(i32.const 9)))')
        for op in ("add", "mul", "min", "copysign"):  # constant right operands
            for k, cbits in enumerate(EDGES[w][::4]):
                fs.append(f'(func (export "{f}.{op}.k{k}") (param {i}) (result {i}) '
                          f'({i}.reinterpret_{f} ({f}.{op} {_arg(w, 0, "p")} '
                          f'({f}.reinterpret_{i} ({i}.const {cbits})))))')
    for form in FORMS:
        fs.append(f'(func (export "demote.{form}") (param i64) (result i32) '
                  f'(i32.reinterpret_f32 (f32.demote_f64 {_arg(64, 0, form)})))')
        fs.append(f'(func (export "promote.{form}") (param i32) (result i64) '
                  f'(i64.reinterpret_f64 (f64.promote_f32 {_arg(32, 0, form)})))')
    return "(module " + "\n".join(fs) + ")"


_CONV = [f"{i}.trunc_{s}f{w}_{u}" for i in ("i32", "i64") for s in ("", "sat_")
         for w in (32, 64) for u in ("s", "u")]  # fmt: skip
_FROM_INT = [f"f{w}.convert_{i}_{u}" for w in (32, 64) for i in ("i32", "i64") for u in ("s", "u")]


def _conv_module() -> str:
    fs = []
    for name in _CONV:
        i, rest = name.split(".")
        w = int(rest.split("f")[1][:2])
        for form in ("p", "c"):
            fs.append(f'(func (export "{name}.{form}") (param {IT[w]}) (result {i}) '
                      f'({name} {_arg(w, 0, form)}))')
    for name in _FROM_INT:
        f, rest = name.split(".")
        i = rest.split("_")[1]
        w = int(f[1:])
        fs.append(f'(func (export "{name}") (param {i}) (result {IT[w]}) '
                  f'({IT[w]}.reinterpret_{f} ({name} (local.get 0))))')
        fs.append(f'(func (export "{name}.r") (param {i}) (result {IT[w]}) '  # operand in rax
                  f'({IT[w]}.reinterpret_{f} ({name} ({i}.add (local.get 0) ({i}.const 0)))))')
    fs.append("(func $id32 (param f32) (result f32) (local.get 0))")
    fs.append("(func $id64 (param f64) (result f64) (local.get 0))")
    return "(module " + "\n".join(fs) + ")"


@pytest.fixture(scope="module")
def ops():
    inst, blob = baseline_instance(_module())
    assert not blob.refused, blob.refused
    return inst.exports, python_instance(_module()).exports


@pytest.fixture(scope="module")
def conv():
    inst, blob = baseline_instance(_conv_module())
    assert not blob.refused, blob.refused
    return inst.exports, python_instance(_conv_module()).exports


def _outcome(fn, *args):
    try:
        return fn(*args)
    except wasm2py.Trap as e:
        return ("trap", e.code)


# -- encodings (against GNU objdump, as tests/test_baseline_x86.py) -------------------------
ENCODINGS = [
    (FL.sse(b"\x0f\x58", 0, 1, True), "addsd xmm0,xmm1"),
    (FL.sse(b"\x0f\x5e", X.XMM9, X.XMM2, False), "divss xmm9,xmm2"),
    (FL.sse(b"\x0f\x51", 1, X.XMM12, True), "sqrtsd xmm1,xmm12"),
    (FL.sse(b"\x0f\x5a", 0, 1, False), "cvtss2sd xmm0,xmm1"),
    (FL.sse(b"\x0f\x5a", 0, 0, True), "cvtsd2ss xmm0,xmm0"),
    (FL.sse(b"\x0f\x5d", 1, 0, True), "minsd xmm1,xmm0"),
    (FL.sse_m(b"\x0f\x59", 0, X.RBP, -0xC8, True), "mulsd xmm0,QWORD PTR [rbp-0xc8]"),
    (FL.sse_m(b"\x0f\x5c", 3, X.R12, 8, False), "subss xmm3,DWORD PTR [r12+0x8]"),
    (FL.ucomis(0, 1, True), "ucomisd xmm0,xmm1"),
    (FL.ucomis(X.XMM10, 1, False), "ucomiss xmm10,xmm1"),
    (FL.cmps(0, 1, 4, True), "cmpneqsd xmm0,xmm1"),
    (FL.cmps(1, 0, 0, False), "cmpeqss xmm1,xmm0"),
    (FL.rounds(0, 0, 1, True), "roundsd xmm0,xmm0,0x9"),
    (FL.rounds(1, X.XMM8, 2, False), "roundss xmm1,xmm8,0xa"),
    (FL.bitwise(0x56, 0, 1), "orps xmm0,xmm1"),
    (FL.bitwise(0x54, 1, 0), "andps xmm1,xmm0"),
    (FL.bitwise(0x57, 0, 0), "xorps xmm0,xmm0"),
    (FL.cvtsi2s(0, X.RAX, True, True), "cvtsi2sd xmm0,rax"),
    (FL.cvtsi2s(0, X.RCX, False, False), "cvtsi2ss xmm0,ecx"),
    (FL.cvtsi2s(X.XMM9, X.R9, True, False), "cvtsi2ss xmm9,r9"),
    (FL.cvtts2si(X.RAX, 0, True, True), "cvttsd2si rax,xmm0"),
    (FL.cvtts2si(X.RAX, 1, False, False), "cvttss2si eax,xmm1"),
    (FL.bt(7, X.RAX, 63), "btc rax,0x3f"),
    (FL.bt(6, X.R10, 31, False), "btr r10d,0x1f"),
]  # fmt: skip


def test_encodings(tmp_path):
    from .test_baseline_x86 import disassemble

    got = disassemble(b"".join(code for code, _ in ENCODINGS), tmp_path)
    assert got == [text for _, text in ENCODINGS]


# -- arithmetic -----------------------------------------------------------------------------
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", BINARY)
def test_binary(ops, op, w, form):
    bl, py = ops
    name = f"f{w}.{op}.{form}"
    bad = []
    for a, b in itertools.product(EDGES[w], repeat=2):
        got = _u(bl[name](a, b), w)
        if got != _u(py[name](a, b), w) or got != reference(op, w, a, b):
            bad.append((hex(a), hex(b), hex(got), hex(reference(op, w, a, b))))
    assert not bad, bad[:10]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", UNARY)
def test_unary(ops, op, w, form):
    bl, py = ops
    name = f"f{w}.{op}.{form}"
    # (ties for nearest: 0.5, 1.5, 2.5, -2.5 are among the edges)
    bad = [(hex(a), hex(_u(bl[name](a), w)), hex(reference(op, w, a))) for a in EDGES[w]
           if not _u(bl[name](a), w) == _u(py[name](a), w) == reference(op, w, a)]  # fmt: skip
    assert not bad, bad


@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", ["add", "mul", "min", "copysign"])
def test_constant_right_operand(ops, op, w):
    bl, py = ops
    bad = []
    for k, cbits in enumerate(EDGES[w][::4]):
        for a in EDGES[w]:
            got = _u(bl[f"f{w}.{op}.k{k}"](a), w)
            if got != reference(op, w, a, cbits) or got != _u(py[f"f{w}.{op}.k{k}"](a), w):
                bad.append((hex(a), hex(cbits), hex(got)))
    assert not bad, bad[:10]


@pytest.mark.parametrize("form", FORMS)
def test_demote_promote(ops, form):
    bl, py = ops
    bad = [("demote", hex(a)) for a in EDGES[64]
           if not _u(bl[f"demote.{form}"](a), 32) == _u(py[f"demote.{form}"](a), 32)
           == reference_convert("demote", a)]  # fmt: skip
    bad += [("promote", hex(a)) for a in EDGES[32]
            if not _u(bl[f"promote.{form}"](a), 64) == _u(py[f"promote.{form}"](a), 64)
            == reference_convert("promote", a)]  # fmt: skip
    assert not bad, bad


# -- comparisons ----------------------------------------------------------------------------
_PYCMP = {"eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
          "gt": lambda x, y: x > y, "le": lambda x, y: x <= y, "ge": lambda x, y: x >= y}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", COMPARE)
def test_compare(ops, op, w, form):
    """Unordered operands compare false except for ``ne``; -0 == +0; the boolean alone and
    fused with ``if``, ``select`` and ``br_if``."""
    bl, py = ops
    base = f"f{w}.{op}.{form}"
    bad = []
    for a, b in itertools.product(EDGES[w], repeat=2):
        want = int(_PYCMP[op](_f(a, w), _f(b, w)))
        fused = 7 if want else 9
        got = (bl[base](a, b), bl[base + ".if"](a, b), bl[base + ".select"](a, b),
               bl[base + ".br_if"](a, b))
        if got != (want, fused, fused, fused) or py[base](a, b) != want:
            bad.append((hex(a), hex(b), got, want))
    assert not bad, bad[:10]


# -- float -> integer -----------------------------------------------------------------------
def _trunc_edges(w: int) -> list[int]:
    """EDGES plus the values around each truncation boundary (exactly representable ones)."""
    pack = (lambda x: struct.unpack("<I", struct.pack("<f", x))[0]) if w == 32 else \
        (lambda x: struct.unpack("<Q", struct.pack("<d", x))[0])  # fmt: skip
    out = set(EDGES[w])
    for v in (2.0**31, 2.0**32, 2.0**63, 2.0**64, 1.0, 0.0):
        for s in (1, -1):
            bits = pack(s * v)
            out.update(b for b in (_u(bits - 1, w), bits, bits + 1) if _f(b, w) == _f(b, w))
    for x in (-0.9, -0.5, 0.99, 1.5, -1.5, -2147483648.5, -2147483649.0, -2147483648.9,
              4294967295.5, 2147483647.5, -9223372036854775808.0, 1e10, -1e10, 1e30, -1e30):
        try:
            out.add(pack(x))
        except OverflowError:
            pass
    return sorted(out)


_RANGE = {("i32", "s"): (-(1 << 31), (1 << 31) - 1), ("i32", "u"): (0, (1 << 32) - 1),
          ("i64", "s"): (-(1 << 63), (1 << 63) - 1), ("i64", "u"): (0, (1 << 64) - 1)}


def _trunc_reference(name: str, bits: int):
    i, rest = name.split(".")
    sat = "sat" in rest
    w = int(rest.split("f")[1][:2])
    lo, hi = _RANGE[i, rest[-1]]
    x = _f(bits, w)
    n = int(i[1:])
    if math.isnan(x):
        return 0 if sat else ("trap", TrapCode.INVALID_CONVERSION_TO_INTEGER)
    t = math.trunc(x) if math.isfinite(x) else (hi + 1 if x > 0 else lo - 1)
    if lo <= t <= hi:
        return _u(t, n)
    if sat:
        return _u(hi if t > hi else lo, n)
    return ("trap", TrapCode.INTEGER_OVERFLOW)


@pytest.mark.parametrize("form", ["p", "c"])
@pytest.mark.parametrize("name", _CONV)
def test_float_to_int(conv, name, form):
    bl, py = conv
    w = int(name.split(".")[1].split("f")[1][:2])
    n = int(name[1:3])
    bad = []
    for a in _trunc_edges(w):
        want = _trunc_reference(name, a)
        got = _outcome(bl[f"{name}.{form}"], a)
        ref = _outcome(py[f"{name}.{form}"], a)
        if isinstance(got, int):
            got, ref = _u(got, n), _u(ref, n) if isinstance(ref, int) else ref
        if not got == ref == want:
            bad.append((hex(a), _f(a, w), got, ref, want))
    assert not bad, bad[:10]


def test_trap_frames(conv):
    """A truncation trap names the function and the instruction's offset (the decoder's, as
    the LLVM tier records it)."""
    from wasm2py.binary.decoder import decode_module
    from wasm2py.binary.opcodes import Op

    bl, py = conv
    name = "i32.trunc_f64_s.p"
    nan = 0x7FF8000000000000
    with pytest.raises(wasm2py.Trap) as got:
        bl[name](nan)
    with pytest.raises(wasm2py.Trap) as ref:
        py[name](nan)
    assert got.value.code == ref.value.code == TrapCode.INVALID_CONVERSION_TO_INTEGER
    index = got.value.frames[0][0]
    assert index == ref.value.frames[0][0]
    m = decode_module(wasm2py.wat2wasm(_conv_module()))
    body = m.codes[index - m.num_imported_funcs].body
    (offset,) = [ins.offset for ins in body if ins.op == Op.I32_TRUNC_F64_S]
    assert got.value.frames[0][2] == offset


# -- integer -> float -----------------------------------------------------------------------
def _round_int(n: int, p: int) -> int:
    """``n`` rounded to ``p`` significant bits, ties to even (exact integer arithmetic)."""
    m = abs(n)
    e = m.bit_length() - p
    if e > 0:
        q, r = divmod(m, 1 << e)
        half = 1 << (e - 1)
        if r > half or (r == half and q & 1):
            q += 1
        m = q << e
    return -m if n < 0 else m


def _int_edges(bits: int) -> list[int]:
    vals = {0, 1, 2, 3, (1 << 24) + 1, (1 << 24) + 3, (1 << 53) + 1, (1 << 53) + 3,
            (1 << 31) - 1, 1 << 31, (1 << 31) + 1, (1 << 32) - 1, (1 << 32) - 129,
            (1 << 63) - 1, 1 << 63, (1 << 63) + 1, (1 << 64) - 1, (1 << 64) - 1024,
            (1 << 64) - 1025, (1 << 64) - 2048, 0x8000000000000401, 0x8000000000000C01,
            0x8000000000000400, 0x8000000000000C00, 0x8000008000000001, 0x8000008000000000,
            0x8000018000000000, 0xFFFFFF7FFFFFFFFF, 0xFFFFFF8000000000, 0x1000000800000001,
            0x7FFFFFBFFFFFFFFF, 0x7FFFFFC000000000}  # fmt: skip
    return sorted(v & ((1 << bits) - 1) for v in vals)


@pytest.mark.parametrize("name", _FROM_INT)
def test_int_to_float(conv, name):
    """Correctly rounded (ties to even), unsigned 64-bit values with the top bit set too."""
    bl, py = conv
    f, rest = name.split(".")
    _, i, u = rest.split("_")
    w = int(f[1:])
    n = int(i[1:])
    p = 24 if w == 32 else 53
    bad = []
    for v in _int_edges(n):
        x = v - (1 << n) if u == "s" and v >> (n - 1) else v
        r = float(_round_int(x, p))  # exact: at most p significant bits
        want = struct.unpack("<I", struct.pack("<f", r))[0] if w == 32 else \
            struct.unpack("<Q", struct.pack("<d", r))[0]  # fmt: skip
        for sfx in ("", ".r"):
            got = _u(bl[name + sfx](v), w)
            if not got == _u(py[name + sfx](v), w) == want:
                bad.append((name + sfx, hex(v), hex(got), hex(want)))
    assert not bad, bad


# -- in context -----------------------------------------------------------------------------
_KERNEL = """(module
  (func (export "poly") (param f64 i32) (result f64) (local f64 f32 i32)
    ;; a loop carrying floats in locals (pinned), f32 and f64 mixed, a compare in br_if
    (loop $l
      (local.set 2 (f64.add (f64.mul (local.get 2) (local.get 0)) (f64.convert_i32_s (local.get 4))))
      (local.set 3 (f32.demote_f64 (f64.sqrt (f64.abs (local.get 2)))))
      (local.set 4 (i32.add (local.get 4) (i32.const 1)))
      (br_if $l (f64.lt (f64.convert_i32_u (local.get 4)) (f64.convert_i32_u (local.get 1)))))
    (f64.add (local.get 2) (f64.promote_f32 (local.get 3))))
  (func (export "many") (param f64 f64 f64 f64 f64 f64 f64 f64 f64 f32) (result f64)
    ;; arguments in xmm0-7 and on the stack
    (f64.sub (f64.add (f64.add (f64.add (local.get 0) (local.get 1)) (f64.add (local.get 2) (local.get 3)))
                      (f64.add (f64.add (local.get 4) (local.get 5)) (f64.add (local.get 6) (local.get 7))))
             (f64.mul (local.get 8) (f64.promote_f32 (local.get 9)))))
  (func (export "calls") (param f64) (result f64)
    (f64.add (call 1 (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4) (f64.const 5)
                     (f64.const 6) (f64.const 7) (f64.const 8) (local.get 0) (f32.const 0.5))
             (call 0 (local.get 0) (i32.const 5)))))"""


def test_in_context():
    inst, blob = baseline_instance(_KERNEL)
    assert not blob.refused, blob.refused
    py = python_instance(_KERNEL).exports
    bl = inst.exports
    for x in (0.5, -1.25, 3.0, 1e300, float("nan"), float("inf"), -0.0):
        for n in (0, 1, 7):
            got, want = bl.poly(x, n), py.poly(x, n)
            assert struct.pack("<d", got) == struct.pack("<d", want), (x, n, got, want)
        got, want = bl.calls(x), py.calls(x)
        assert struct.pack("<d", got) == struct.pack("<d", want), (x, got, want)
    args = [1.5, 2.25, -3.0, 4.0, 5.5, -6.0, 7.0, 8.125, 9.0]
    assert bl.many(*args, 2.0) == py.many(*args, 2.0) == sum(args[:8]) - 18.0
    assert np.isnan(bl.many(*args[:8], float("nan"), 2.0))


# -- chains: a result taken straight from the register it was computed in -------------------
# (floats._pop_x: the next float instruction takes the xmm register, where a NaN result is
# not yet the canonical one; rax, which everything else reads, has the canonical NaN)
_CHAINS = {
    "add_mul": "(f64.add (local.get 0) (f64.mul (local.get 1) (local.get 1)))",
    "sub_div": "(f64.sub (local.get 0) (f64.div (local.get 1) (local.get 0)))",
    "sqrt_sub": "(f64.sqrt (f64.sub (local.get 0) (local.get 1)))",
    "nearest_add": "(f64.nearest (f64.add (local.get 0) (local.get 1)))",
    "min_add": "(f64.min (local.get 0) (f64.add (local.get 1) (local.get 1)))",
    "max_min": "(f64.max (local.get 0) (f64.min (local.get 1) (local.get 0)))",
    "add_max": "(f64.add (local.get 1) (f64.max (local.get 0) (local.get 1)))",
    "abs_add": "(f64.abs (f64.add (local.get 0) (local.get 1)))",
    "neg_mul": "(f64.neg (f64.mul (local.get 0) (local.get 1)))",
    "copysign_sub": "(f64.copysign (f64.sub (local.get 0) (local.get 1)) (local.get 0))",
    "sign_of_sub": "(f64.copysign (local.get 1) (f64.sub (local.get 0) (local.get 1)))",
    "promote_demote": "(f64.promote_f32 (f32.demote_f64 (f64.add (local.get 0) (local.get 1))))",
    "via_bits": "(f64.add (local.get 1) (f64.reinterpret_i64 (i64.reinterpret_f64 "
                "(f64.sub (local.get 0) (local.get 1)))))",
    "f32_of_low_bits": "(f64.promote_f32 (f32.add (f32.const 0) (f32.reinterpret_i32 "
                       "(i32.wrap_i64 (i64.reinterpret_f64 (f64.add (local.get 0) (local.get 1)))))))",
    "bits_of_sum": "(f64.reinterpret_i64 (i64.add (i64.const 0) (i64.reinterpret_f64 "
                   "(f64.add (local.get 0) (local.get 1)))))",
    # a result spilled by the push of a local or a constant (floats._pop2)
    "mul_add_local": "(f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 0))",
    "div_sub_const": "(f64.sub (f64.div (local.get 0) (local.get 1)) (f64.const 2.5))",
    "sub_min_local": "(f64.min (f64.sub (local.get 0) (local.get 1)) (local.get 1))",
    "f32_const": "(f64.promote_f32 (f32.mul (f32.demote_f64 (f64.add (local.get 0) "
                 "(local.get 1))) (f32.const -3)))",
    "spilled_twice": "(f64.add (f64.mul (local.get 0) (local.get 1)) "
                     "(f64.sub (local.get 1) (local.get 0)))",
    "spill_kept": "(f64.add (f64.mul (local.get 0) (local.get 0)) (select (local.get 1) "
                  "(f64.const 1) (i32.const 1)))",
}  # fmt: skip
_CHAINS_I = {
    "lt_mul": "(f64.lt (local.get 0) (f64.mul (local.get 1) (local.get 1)))",
    "ne_add": "(f64.ne (local.get 0) (f64.add (local.get 1) (local.get 0)))",
    "ge_add_if": "(if (result i32) (f64.ge (f64.add (local.get 0) (local.get 1)) (local.get 1)) "
                 "(then (i32.const 7)) (else (i32.const 9)))",
    "trunc_sat_mul": "(i32.wrap_i64 (i64.trunc_sat_f64_s (f64.mul (local.get 0) (local.get 1))))",
    "trunc_u_add": "(i32.trunc_f64_u (f64.add (local.get 0) (local.get 1)))",
    "le_add_const": "(f64.le (f64.add (local.get 0) (local.get 1)) (f64.const 4))",
    "gt_mul_local_br_if": "(block (result i32) (drop (br_if 0 (i32.const 7) (f64.gt "
                          "(f64.mul (local.get 0) (local.get 1)) (local.get 1)))) (i32.const 9))",
}  # fmt: skip


def _chains_module() -> str:
    # (the operands are passed as their bits: a Python float might not keep a signalling NaN)
    def bits(v: str) -> str:
        return v.replace("(local.get 0)", "(f64.reinterpret_i64 (local.get 0))").replace(
            "(local.get 1)", "(f64.reinterpret_i64 (local.get 1))")

    fs = [f'(func (export "{k}") (param i64 i64) (result i64) (i64.reinterpret_f64 {bits(v)}))'
          for k, v in _CHAINS.items()]  # fmt: skip
    fs += [f'(func (export "{k}") (param i64 i64) (result i32) {bits(v)})'
           for k, v in _CHAINS_I.items()]  # fmt: skip
    return "(module " + "\n".join(fs) + ")"


@pytest.mark.parametrize("name", [*_CHAINS, *_CHAINS_I])
def test_chains(name):
    """Bit for bit the Python tier's results (NaN bits, traps), on all pairs of edges."""
    inst, blob = baseline_instance(_chains_module())
    assert not blob.refused, blob.refused
    bl, py = inst.exports[name], python_instance(_chains_module()).exports[name]
    bad = []
    for a, b in itertools.product(EDGES[64], repeat=2):
        got, want = _outcome(bl, a, b), _outcome(py, a, b)
        if isinstance(got, int) and isinstance(want, int):
            got, want = _u(got, 64), _u(want, 64)
        if got != want:
            bad.append((hex(a), hex(b), got, want))
    assert not bad, bad[:10]


def test_rounding_refused_without_sse41(monkeypatch):
    """On a CPU without SSE4.1 a function using ceil/floor/trunc/nearest stays in another tier
    (the others still compile)."""
    monkeypatch.setattr(FL, "HAS_SSE41", False)
    text = """(module
      (func (export "floor") (param f64) (result f64) (f64.floor (local.get 0)))
      (func (export "add") (param f64) (result f64) (f64.add (local.get 0) (local.get 0))))"""
    inst, blob = baseline_instance(text)
    assert list(blob.refused) == [0] and "SSE4.1" in blob.refused[0]
    assert list(blob.funcs) == [1]
    assert inst.exports.floor(-1.5) == -2.0 and inst.exports.add(1.25) == 2.5


_JOINS = """(module
  (func (export "block_end") (param f64 f64 i32) (result f64)
    ;; the product is spilled at the block's end, where the br_if's value joins it
    (f64.add
      (block (result f64)
        (br_if 0 (local.get 0) (local.get 2))
        drop
        (f64.mul (local.get 1) (local.get 1)))
      (local.get 1)))
  (func (export "if_else") (param f64 f64 i32) (result f64)
    (f64.sub
      (if (result f64) (local.get 2)
        (then (f64.mul (local.get 0) (local.get 1)))
        (else (f64.div (local.get 0) (local.get 1))))
      (f64.const 0.5)))
  (func (export "empty_block") (param f64 f64 i32) (result f64)
    (f64.mul (local.get 0) (local.get 1))
    (block)
    (local.get 1)
    (f64.add))
  (func (export "loop_value") (param f64 f64 i32) (result f64)
    (f64.mul
      (loop (result f64)
        (local.set 0 (f64.add (local.get 0) (local.get 1)))
        (br_if 0 (i32.gt_s (local.tee 2 (i32.sub (local.get 2) (i32.const 1))) (i32.const 0)))
        (f64.sqrt (local.get 0)))
      (local.get 1))))"""


@pytest.mark.parametrize("name", ["block_end", "if_else", "empty_block", "loop_value"])
def test_results_at_joins(name):
    """A float result that reaches a join (block end, if/else, loop) with other paths' values
    is read from its slot, not from the register of one path (floats._taken_back)."""
    inst, blob = baseline_instance(_JOINS)
    assert not blob.refused, blob.refused
    bl, py = inst.exports[name], python_instance(_JOINS).exports[name]
    for a, b, c in itertools.product((10.0, -2.5, float("inf")), (3.0, 0.25), (0, 1, 3)):
        got, want = bl(a, b, c), py(a, b, c)
        assert struct.pack("<d", got) == struct.pack("<d", want), (a, b, c, got, want)
