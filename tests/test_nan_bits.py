"""NaN results are the same bits in every tier and on every host: the positive canonical NaN.

The spec lets a float instruction whose result is a NaN return any arithmetic NaN (any quiet NaN
of either sign, when an operand is a non-canonical NaN). Left to the hardware, the bits then
depend on the host (x86's default NaN is negative, AArch64's positive), on which operand a NaN
came from (and LLVM may swap the operands of commutative instructions), and on the tier, so
values would change when an instance tiers up. wasm2py's rule, that of the deterministic profile
of Wasm 3.0: every arithmetic float instruction, scalar or SIMD lane, whose result is a NaN
returns the positive canonical NaN (``0x7fc00000``, ``0x7ff8000000000000``). ``abs``, ``neg``,
``copysign``, ``pmin``/``pmax``, loads, stores, ``select`` and ``reinterpret`` are bitwise and
keep every bit.

Every float and SIMD float instruction runs in each tier on edge operands (NaNs of both signs
with payloads, signalling ones, ±0, ±inf, subnormals, ties, negative square roots...), all pairs
for binary instructions; results must equal a reference computed with numpy (IEEE single and
double arithmetic) for the value, the spec for min/max/pmin/pmax and the bitwise instructions,
and the rule for NaNs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import wasm2py
from wasm2py.config import TIERS

from .wat import wat

CANON = {32: 0x7FC00000, 64: 0x7FF8000000000000}
SIGN = {32: 1 << 31, 64: 1 << 63}
NP = {32: (np.float32, np.uint32), 64: (np.float64, np.uint64)}

EDGES = {
    32: [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x3F800000, 0xBF800000,
         0x3F000000, 0xBF000000, 0x3FC00000, 0x40200000, 0xC0200000, 0x40400000, 0xC0400000,
         0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FC12345,
         0xFFE54321, 0x7FA00000, 0xFF800001, 0x4B000001],
    64: [0x0000000000000000, 0x8000000000000000, 0x0000000000000001, 0x8000000000000001,
         0x3FF0000000000000, 0xBFF0000000000000, 0x3FE0000000000000, 0xBFE0000000000000,
         0x3FF8000000000000, 0x4004000000000000, 0xC004000000000000, 0x4008000000000000,
         0xC008000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x7FF0000000000000,
         0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000012345,
         0xFFFC000000054321, 0x7FF4000000000000, 0xFFF0000000000001, 0x47EFFFFFF0000000,
         0x36A0000000000000, 0x3810000000000000],
}  # fmt: skip


# -- the reference --------------------------------------------------------------------------
def _f(bits: int, w: int):
    ft, ut = NP[w]
    return np.array([bits], dtype=ut).view(ft)[0]


def _bits(x, w: int) -> int:
    ft, ut = NP[w]
    return int(np.array([x], dtype=ft).view(ut)[0])


def _is_nan(bits: int, w: int) -> bool:
    return bool(np.isnan(_f(bits, w)))


def _arith(bits: int | None, w: int, value) -> int:
    """The rule: a NaN result is the positive canonical NaN."""
    return CANON[w] if np.isnan(value) else _bits(value, w)


def _minmax(a: int, b: int, w: int, is_min: bool) -> int:
    x, y = _f(a, w), _f(b, w)
    if np.isnan(x) or np.isnan(y):
        return CANON[w]
    if x == y == 0:  # -0 < +0
        neg = bool(a & SIGN[w]) or bool(b & SIGN[w]) if is_min else bool(a & SIGN[w]) and bool(
            b & SIGN[w])  # fmt: skip
        return SIGN[w] if neg else 0
    return _bits(min(x, y) if is_min else max(x, y), w)


def reference(op: str, w: int, a: int, b: int | None = None) -> int:
    ft = NP[w][0]
    with np.errstate(all="ignore"):
        x = _f(a, w)
        y = _f(b, w) if b is not None else None
        if op == "abs":
            return a & ~SIGN[w]
        if op == "neg":
            return a ^ SIGN[w]
        if op == "copysign":
            return (a & ~SIGN[w]) | (b & SIGN[w])
        if op == "pmin":  # b < a ? b : a, bit for bit
            return b if y < x else a
        if op == "pmax":  # a < b ? b : a
            return b if x < y else a
        if op in ("min", "max"):
            return _minmax(a, b, w, op == "min")
        fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}.get(op)
        if fn is not None:
            return _arith(None, w, ft(fn(x, y)))
        fn = {"sqrt": np.sqrt, "ceil": np.ceil, "floor": np.floor, "trunc": np.trunc,
              "nearest": np.rint}[op]  # fmt: skip
        return _arith(None, w, ft(fn(x)))


def reference_convert(op: str, a: int) -> int:
    with np.errstate(all="ignore"):
        if op == "demote":
            return _arith(None, 32, np.float32(_f(a, 64)))
        return _arith(None, 64, np.float64(_f(a, 32)))


BINARY = ["add", "sub", "mul", "div", "min", "max", "copysign"]
UNARY = ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"]
SIMD_BINARY = ["add", "sub", "mul", "div", "min", "max", "pmin", "pmax"]
SIMD_UNARY = ["abs", "neg", "sqrt", "ceil", "floor", "trunc", "nearest"]


# -- the module -----------------------------------------------------------------------------
def _module() -> bytes:
    fs = []
    for w, i in ((32, "i32"), (64, "i64")):
        f = f"f{w}"
        arg = f"({f}.reinterpret_{i} (local.get {{}}))"
        for op in BINARY:
            fs.append(f'(func (export "{f}.{op}") (param {i} {i}) (result {i}) '
                      f'({i}.reinterpret_{f} ({f}.{op} {arg.format(0)} {arg.format(1)})))')
        for op in UNARY:
            fs.append(f'(func (export "{f}.{op}") (param {i}) (result {i}) '
                      f'({i}.reinterpret_{f} ({f}.{op} {arg.format(0)})))')
        sh = "f32x4" if w == 32 else "f64x2"
        for op in SIMD_BINARY:
            fs.append(f'(func (export "{sh}.{op}") (param v128 v128) (result v128) '
                      f'({sh}.{op} (local.get 0) (local.get 1)))')
        for op in SIMD_UNARY:
            fs.append(f'(func (export "{sh}.{op}") (param v128) (result v128) '
                      f'({sh}.{op} (local.get 0)))')
    fs.append('(func (export "demote") (param i64) (result i32) '
              '(i32.reinterpret_f32 (f32.demote_f64 (f64.reinterpret_i64 (local.get 0)))))')
    fs.append('(func (export "promote") (param i32) (result i64) '
              '(i64.reinterpret_f64 (f64.promote_f32 (f32.reinterpret_i32 (local.get 0)))))')
    fs.append('(func (export "f32x4.demote") (param v128) (result v128) '
              '(f32x4.demote_f64x2_zero (local.get 0)))')
    fs.append('(func (export "f64x2.promote") (param v128) (result v128) '
              '(f64x2.promote_low_f32x4 (local.get 0)))')
    return wat("(module " + "\n".join(fs) + ")")


_EXPORTS: dict[str, object] = {}


def exports(tier: str):
    if tier not in _EXPORTS:
        if tier == "python-flat":  # the Python tier's flat shape (same expressions)
            config = wasm2py.Config(python_shape="flat", cache=False)
        else:
            config = wasm2py.Config(tier=tier, cache=False)
        engine = wasm2py.Engine(config)
        inst = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, _module()))
        _EXPORTS[tier] = inst.exports
    return _EXPORTS[tier]


def _u(x: int, w: int) -> int:
    return x & ((1 << w) - 1)


def _join(lanes, w: int) -> int:
    return sum(x << (k * w) for k, x in enumerate(lanes))


def _split(v: int, w: int) -> list[int]:
    return [(v >> (k * w)) & ((1 << w) - 1) for k in range(128 // w)]


# auto runs the Python tier's code
@pytest.fixture(params=[*(t for t in TIERS if t != "auto"), "python-flat"])
def ex(request):
    return exports(request.param)


@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", BINARY)
def test_scalar_binary(ex, op, w):
    f = ex[f"f{w}.{op}"]
    bad = [(hex(a), hex(b), hex(_u(f(a, b), w)), hex(reference(op, w, a, b)))
           for a, b in itertools.product(EDGES[w], repeat=2)
           if _u(f(a, b), w) != reference(op, w, a, b)]  # fmt: skip
    assert not bad, bad[:10]


@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", UNARY)
def test_scalar_unary(ex, op, w):
    f = ex[f"f{w}.{op}"]
    bad = [(hex(a), hex(_u(f(a), w)), hex(reference(op, w, a)))
           for a in EDGES[w] if _u(f(a), w) != reference(op, w, a)]  # fmt: skip
    assert not bad, bad


def test_scalar_demote_and_promote(ex):
    bad = [("demote", hex(a)) for a in EDGES[64]
           if _u(ex.demote(a), 32) != reference_convert("demote", a)]  # fmt: skip
    bad += [("promote", hex(a)) for a in EDGES[32]
            if _u(ex.promote(a), 64) != reference_convert("promote", a)]  # fmt: skip
    assert not bad, bad


@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", SIMD_BINARY)
def test_simd_binary(ex, op, w):
    n = 128 // w
    f = ex[f"{'f32x4' if w == 32 else 'f64x2'}.{op}"]
    pairs = list(itertools.product(EDGES[w], repeat=2))
    bad = []
    for k in range(0, len(pairs), n):
        chunk = pairs[k : k + n]
        chunk += [(0, 0)] * (n - len(chunk))
        got = _split(f(_join([a for a, _ in chunk], w), _join([b for _, b in chunk], w)), w)
        want = [reference(op, w, a, b) for a, b in chunk]
        bad += [(hex(a), hex(b), hex(g), hex(e)) for (a, b), g, e in zip(chunk, got, want)
                if g != e]  # fmt: skip
    assert not bad, bad[:10]


@pytest.mark.parametrize("w", [32, 64])
@pytest.mark.parametrize("op", SIMD_UNARY)
def test_simd_unary(ex, op, w):
    n = 128 // w
    f = ex[f"{'f32x4' if w == 32 else 'f64x2'}.{op}"]
    edges = EDGES[w] + [0] * (-len(EDGES[w]) % n)
    bad = []
    for k in range(0, len(edges), n):
        chunk = edges[k : k + n]
        got = _split(f(_join(chunk, w)), w)
        bad += [(hex(a), hex(g), hex(reference(op, w, a))) for a, g in zip(chunk, got)
                if g != reference(op, w, a)]  # fmt: skip
    assert not bad, bad


def test_simd_demote_and_promote(ex):
    bad = []
    for a, b in zip(EDGES[64], EDGES[64][1:] + EDGES[64][:1]):
        got = _split(ex["f32x4.demote"](_join([a, b], 64)), 32)
        if got != [reference_convert("demote", a), reference_convert("demote", b), 0, 0]:
            bad.append(("demote", hex(a), hex(b), [hex(g) for g in got]))
    for k in range(0, len(EDGES[32]) - 1):
        a, b = EDGES[32][k], EDGES[32][k + 1]
        got = _split(ex["f64x2.promote"](_join([a, b, 0x7FA00000, 0xFFFFFFFF], 32)), 64)
        if got != [reference_convert("promote", a), reference_convert("promote", b)]:
            bad.append(("promote", hex(a), hex(b), [hex(g) for g in got]))
    assert not bad, bad


_LOCALS = wat("""(module
  (func (export "via_local") (param i64 i64) (result i64) (local f64)
    (local.set 2 (f64.add (f64.reinterpret_i64 (local.get 0)) (f64.reinterpret_i64 (local.get 1))))
    (i64.reinterpret_f64 (f64.neg (f64.neg (local.get 2)))))
  (func (export "in_loop") (param i64 i64) (result i64) (local f64 i32)
    (local.set 2 (f64.reinterpret_i64 (local.get 1)))
    (loop $l
      (local.set 2 (f64.mul (f64.reinterpret_i64 (local.get 0)) (local.get 2)))
      (br_if $l (i32.lt_u (local.tee 3 (i32.add (local.get 3) (i32.const 1))) (i32.const 3))))
    (i64.reinterpret_f64 (local.get 2)))
  (func (export "mixed") (param i64 i32) (result i64) (local f64)
    (local.set 2 (f64.reinterpret_i64 (local.get 0)))
    (if (local.get 1) (then (local.set 2 (f64.add (local.get 2) (f64.const 1)))))
    (i64.reinterpret_f64 (local.get 2))))""")


@pytest.mark.parametrize("tier", [t for t in TIERS if t != "auto"])
def test_nan_rule_through_locals(tier):
    """A local that only receives arithmetic results (the LLVM tier keeps them unchecked
    there and applies the rule where they are read) gives the same bits as the rule; one that
    also receives a load-like value keeps that value's bits."""
    engine = wasm2py.Engine(wasm2py.Config(tier=tier, cache=False))
    ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, _LOCALS)).exports
    one = 0x3FF0000000000000
    bad = []
    for a, b in itertools.product(EDGES[64], repeat=2):
        if _u(ex.via_local(a, b), 64) != reference("add", 64, a, b):
            bad.append(("via_local", hex(a), hex(b)))
    for a in EDGES[64]:
        want = reference("mul", 64, a, reference("mul", 64, a, reference("mul", 64, a, one)))
        if _u(ex.in_loop(a, one), 64) != want:
            bad.append(("in_loop", hex(a)))
        if _u(ex.mixed(a, 0), 64) != a or _u(ex.mixed(a, 1), 64) != reference("add", 64, a, one):
            bad.append(("mixed", hex(a)))
    assert not bad, bad[:10]


def test_aarch64_code_replaces_nan_results():
    # The rule must not depend on the host: AArch64's default NaN is positive, x86's negative,
    # and LLVM's folds treat NaN constants as interchangeable (select(x < 0, NaN, sqrt(x))
    # becomes sqrt(x) on x86). Compiled for AArch64, every arithmetic function must still load
    # the canonical NaN from the runtime struct (rt[4] at offset 32: f32, rt[5] at 40: f64) and
    # select it (fcsel; bif/bit/bsl for vectors).
    from wasm2py import llvm as L
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.jit import optimize, parse, target_machine
    from wasm2py.llvm.lower import build_module

    module = decode_module(_module())
    tm = target_machine(L.AARCH64_TRIPLE, 2)
    mod = parse(str(build_module(module, simd_isa="aarch64")), tm)
    optimize(mod, tm, 2)
    asm = tm.emit_assembly(mod)
    bodies = {}
    for chunk in asm.split("\nw")[1:]:
        name, _, body = chunk.partition(":")
        if name.isdigit():
            bodies[int(name)] = body.split(".Lfunc_end")[0]
    arithmetic = {"add", "sub", "mul", "div", "min", "max", "sqrt", "ceil", "floor", "trunc",
                  "nearest", "demote", "promote"}  # fmt: skip
    checked = 0
    for e in module.exports:
        op = e.name.split(".")[-1]
        if op not in arithmetic:
            continue
        body = bodies[e.index]
        f64_result = e.name.startswith(("f64", "promote")) or e.name == "f64x2.promote"
        assert (f"#{40 if f64_result else 32}]" in body or "ld1r" in body), (e.name, body)
        assert any(f"{i}\t" in body for i in ("fcsel", "bif", "bit", "bsl")), (e.name, body)
        checked += 1
    assert checked == 2 * (6 + 5 + 6 + 5) + 4  # every arithmetic export of the module


# -- results stored to memory ----------------------------------------------------------------
# The LLVM tier stores an arithmetic result as it is and then, if it is a NaN, the canonical NaN
# over it (lower.FunctionLowerer.store_canonical; the check is ``fcmp uno`` or, on the CPUs of
# jit.nan_bits, the integer bits): memory must hold exactly the rule's bits, with guard pages
# (volatile accesses) and with explicit bounds checks, in both forms.
STORE_BINARY = ["add", "sub", "mul", "div", "min", "max"]
STORE_UNARY = ["sqrt", "nearest"]


def _store_module() -> bytes:
    fs = ['(memory (export "mem") 1)']
    for w, i in ((32, "i32"), (64, "i64")):
        f = f"f{w}"
        arg = f"({f}.reinterpret_{i} (local.get {{}}))"
        for op in STORE_BINARY:
            fs.append(f'(func (export "st.{f}.{op}") (param {i} {i}) '
                      f'({f}.store offset=8 (i32.const 0) ({f}.{op} {arg.format(0)} {arg.format(1)})))')
        for op in STORE_UNARY:
            fs.append(f'(func (export "st.{f}.{op}") (param {i}) '
                      f'({f}.store offset=8 (i32.const 0) ({f}.{op} {arg.format(0)})))')
    fs.append('(func (export "st.demote") (param i64) (f32.store offset=8 (i32.const 0) '
              '(f32.demote_f64 (f64.reinterpret_i64 (local.get 0)))))')
    fs.append('(func (export "st.promote") (param i32) (f64.store offset=8 (i32.const 0) '
              '(f64.promote_f32 (f32.reinterpret_i32 (local.get 0)))))')
    return wat("(module " + "\n".join(fs) + ")")


STORE_TIERS = ["python", "llvm", "llvm-explicit-checks", "llvm-bits", "llvm-bits-explicit-checks"]


@pytest.mark.parametrize("tier", STORE_TIERS)
def test_stored_results_follow_the_nan_rule(tier, monkeypatch):
    from wasm2py.llvm import jit

    # each form of the check, whatever the host's (compiled in this process, so that the
    # patched choice applies)
    monkeypatch.setattr(jit, "nan_bits", lambda tm: "bits" in tier)
    options = {"cache": False, "llvm_isolated": False}
    if tier.endswith("explicit-checks"):
        config = wasm2py.Config(tier="llvm", llvm_guard_pages=False, **options)
    else:
        config = wasm2py.Config(tier=tier.split("-")[0], **options)
    engine = wasm2py.Engine(config)
    store = wasm2py.Store(engine)
    ex = wasm2py.Instance(store, wasm2py.Module(engine, _store_module())).exports
    mem = ex.mem

    def stored(w: int) -> int:
        return int.from_bytes(mem.read(8, 8 + w // 8), "little")

    bad = []
    for w in (32, 64):
        f = f"f{w}"
        for op in STORE_BINARY:
            for a, b in itertools.product(EDGES[w], repeat=2):
                mem.write(b"\xa5" * 8, 8)  # (not a value any case stores)
                ex[f"st.{f}.{op}"](a, b)
                if stored(w) != reference(op, w, a, b):
                    bad.append((op, w, hex(a), hex(b), hex(stored(w))))
        for op in STORE_UNARY:
            for a in EDGES[w]:
                ex[f"st.{f}.{op}"](a)
                if stored(w) != reference(op, w, a):
                    bad.append((op, w, hex(a), hex(stored(w))))
    for a in EDGES[64]:
        ex["st.demote"](a)
        if stored(32) != reference_convert("demote", a):
            bad.append(("demote", hex(a), hex(stored(32))))
    for a in EDGES[32]:
        ex["st.promote"](a)
        if stored(64) != reference_convert("promote", a):
            bad.append(("promote", hex(a), hex(stored(64))))
    assert not bad, bad[:10]


@pytest.mark.parametrize("nan_bits", [False, True])
@pytest.mark.parametrize("guard", [True, False])
def test_stored_results_take_the_store_then_fix_form(guard, nan_bits):
    # every float store of the module above stores an arithmetic result: each must be lowered
    # as the raw store plus the never-taken fix-up store of the canonical bits (an integer
    # constant), none as a store of a selected value; the branch tests the stored value
    # itself (fcmp uno) or its integer bits
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.lower import build_text

    text = build_text(decode_module(_store_module()), guard=guard, nan_bits=nan_bits)
    stores = len(STORE_BINARY) + len(STORE_UNARY)
    assert text.count("nan_store:") == 2 * stores + 2
    uno = text.count("fcmp uno")
    ugt = text.count("icmp ugt i64 %") + text.count("icmp ugt i32 %")
    if nan_bits:
        assert ugt >= 2 * stores + 2
    else:
        # (min/max compare their operands with fcmp uno too: at least one per store)
        assert uno >= 2 * stores + 2 and ugt == 0
    assert text.count(f"i64 {CANON[64]}, ptr") == stores + 1
    assert text.count(f"i32 {CANON[32]}, ptr") == stores + 1
