"""The LLVM tier (``wasm2py.llvm``) against the Python tier: every instruction group on edge
values, control flow, memory (bounds checks never touch outside the memory), host calls and
their exceptions, deep recursion, globals and tables, AArch64 object emission."""

from __future__ import annotations

import itertools
import struct

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

import wasm2py  # noqa: E402
from wasm2py import Caller  # noqa: E402
from wasm2py import llvm as L  # noqa: E402
from wasm2py.types import FuncType, ValType  # noqa: E402

from .llvm_util import edges, fresh_store, in_small_thread, outcome, same  # noqa: E402
from .wat import wat  # noqa: E402

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
T = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}


def both(text: str, imports=None, store=None):
    """(Python-tier instance, LLVM-tier instance) of one module."""
    data = wat(text)
    store = store or fresh_store()
    mod = wasm2py.Module(store.engine, data)
    py = wasm2py.Instance(store, mod, imports or {})
    ll = L.instantiate(store, mod, imports or {})
    return py, ll


# -- numeric instructions -----------------------------------------------------------------

INT_BIN = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
           "shr_s", "shr_u", "rotl", "rotr"]  # fmt: skip
INT_CMP = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
INT_UN = ["clz", "ctz", "popcnt", "extend8_s", "extend16_s"]
FLOAT_BIN = ["add", "sub", "mul", "div", "min", "max", "copysign"]
FLOAT_CMP = ["eq", "ne", "lt", "gt", "le", "ge"]
FLOAT_UN = ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"]

CONVERSIONS = [
    ("i32.wrap_i64", "i64", "i32"), ("i64.extend_i32_s", "i32", "i64"),
    ("i64.extend_i32_u", "i32", "i64"), ("i64.extend32_s", "i64", "i64"),
    ("i32.eqz", "i32", "i32"), ("i64.eqz", "i64", "i32"),
    ("f32.demote_f64", "f64", "f32"), ("f64.promote_f32", "f32", "f64"),
    ("i32.reinterpret_f32", "f32", "i32"), ("i64.reinterpret_f64", "f64", "i64"),
    ("f32.reinterpret_i32", "i32", "f32"), ("f64.reinterpret_i64", "i64", "f64"),
]  # fmt: skip
for _i in ("i32", "i64"):
    for _f in ("f32", "f64"):
        for _s in ("s", "u"):
            CONVERSIONS.append((f"{_i}.trunc_{_f}_{_s}", _f, _i))
            CONVERSIONS.append((f"{_i}.trunc_sat_{_f}_{_s}", _f, _i))
            CONVERSIONS.append((f"{_f}.convert_{_i}_{_s}", _i, _f))


def _cases():
    for t in ("i32", "i64"):
        for op in INT_BIN:
            yield f"{t}.{op}", (t, t), t
        for op in INT_CMP:
            yield f"{t}.{op}", (t, t), "i32"
        for op in INT_UN:
            yield f"{t}.{op}", (t,), t
    for t in ("f32", "f64"):
        for op in FLOAT_BIN:
            yield f"{t}.{op}", (t, t), t
        for op in FLOAT_CMP:
            yield f"{t}.{op}", (t, t), "i32"
        for op in FLOAT_UN:
            yield f"{t}.{op}", (t,), t
    for name, a, r in CONVERSIONS:
        yield name, (a,), r


CASES = list(_cases())


@pytest.fixture(scope="module")
def numeric_pair():
    funcs = []
    for k, (name, params, result) in enumerate(CASES):
        ps = " ".join(params)
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        funcs.append(f'(func (export "f{k}") (param {ps}) (result {result}) ({name} {gets}))')
    return both("(module " + "\n".join(funcs) + ")")


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c[0] for c in CASES])
def test_numeric_instruction(numeric_pair, k):
    py, ll = numeric_pair
    name, params, result = CASES[k]
    fp, fl = py.exports[f"f{k}"], ll.exports[f"f{k}"]
    domains = [edges(T[p]) for p in params]
    bad = []
    for args in itertools.product(*domains):
        a, b = outcome(fp, args), outcome(fl, args)
        # bit for bit, NaNs included (the NaN rule: see tests/test_nan_bits.py)
        if not same(a, b):
            bad.append((args, a, b))
    assert not bad, f"{name}: {len(bad)} mismatches, e.g. {bad[:3]}"


def test_constants_and_float_identities_keep_nan_rules():
    # x*1, x-0, x/-1... must still quiet a signalling NaN (LLVM folds them to x).
    text = """(module
      (func (export "mul1") (param f32) (result i32)
        (i32.reinterpret_f32 (f32.mul (local.get 0) (f32.const 1))))
      (func (export "sub0") (param f64) (result i64)
        (i64.reinterpret_f64 (f64.sub (local.get 0) (f64.const 0))))
      (func (export "pd") (param f32) (result i32)
        (i32.reinterpret_f32 (f32.demote_f64 (f64.promote_f32 (local.get 0)))))
      (func (export "k") (result i32) (i32.reinterpret_f32 (f32.const nan:0x200001)))
      (func (export "k64") (result i64) (i64.reinterpret_f64 (f64.const -nan:0x1234))))"""
    py, ll = both(text)
    snan32 = wasm2py.f32_from_bits(0x7FA00000)
    assert ll.exports.mul1(snan32) & 0x00400000
    assert ll.exports.sub0(wasm2py.f64_from_bits(0x7FF4000000000000)) & (1 << 51)
    assert ll.exports.pd(snan32) & 0x00400000
    assert ll.exports.k() == py.exports.k() == 0x7FA00001
    assert ll.exports.k64() == py.exports.k64()


@pytest.mark.parametrize("level", [0, 2])
def test_f64_constants_keep_their_bits(level):
    # (f64 constants are written as LLVM's hexadecimal literals: their exact bits, a
    # signalling NaN's payload and a negative zero's sign included; the bits are IEEE 754's
    # fields, worked by hand: sign, 11 exponent bits, 52 mantissa bits)
    text = """(module
      (func (export "snan") (result i64) (i64.reinterpret_f64 (f64.const -nan:0x1234)))
      (func (export "qnan") (result i64) (i64.reinterpret_f64 (f64.const nan:0x8000000000001)))
      (func (export "negz") (result i64) (i64.reinterpret_f64 (f64.const -0)))
      (func (export "tiny") (result i64) (i64.reinterpret_f64 (f64.const 0x1p-1074)))
      (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5))))"""
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import lower

    ir_text = lower.build_text(decode_module(wat(text)), quick=level == 0)
    assert ", 0x3FE0000000000000" in ir_text and "to double)" not in ir_text
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(text))
    ex = L.instantiate(store, L.compile_module(mod._module, opt_level=level)).exports
    assert ex["snan"]() == 0xFFF0000000001234 - (1 << 64)  # (i64 results are signed)
    assert ex["qnan"]() == 0x7FF8000000000001
    assert ex["negz"]() == 0x8000000000000000 - (1 << 64)
    assert ex["tiny"]() == 1
    assert ex["half"](3.0) == 1.5


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("expr", [
    "(T.mul (local.get 0) (T.const 1))", "(T.mul (T.const -1) (local.get 0))",
    "(T.div (local.get 0) (T.const 1))", "(T.div (local.get 0) (T.const -1))",
    "(T.add (local.get 0) (T.const -0))", "(T.add (T.const 0) (local.get 0))",
    "(T.sub (local.get 0) (T.const 0))", "(T.sub (T.const -0) (local.get 0))",
    "(T.mul (local.get 0) (T.const 0.5))", "(T.add (local.get 0) (T.const 3))",
    "(T.div (T.const 1) (local.get 0))", "(T.mul (local.get 0) (T.const nan:0x1))",
    "(T.max (T.const -0) (local.get 0))", "(T.min (local.get 0) (T.const -0))",
    "(T.min (local.get 0) (T.const 1))",
])  # fmt: skip
def test_arithmetic_on_a_signalling_nan_gives_a_quiet_nan(t, expr):
    # Whether or not LLVM can fold the operation with its constant (x*1 -> x, -0-x -> -x...),
    # the result of arithmetic on a signalling NaN must be quiet (an arithmetic NaN).
    ity, bits = ("i32", 0x7FA00000) if t == "f32" else ("i64", 0x7FF4000000000000)
    body = expr.replace("T.", f"{t}.")
    _, ll = both(f"""(module (func (export "f") (param {t}) (result {ity})
      ({ity}.reinterpret_{t} {body})))""")
    conv = wasm2py.f32_from_bits if t == "f32" else wasm2py.f64_from_bits
    quiet = 0x00400000 if t == "f32" else 1 << 51
    r = ll.exports.f(conv(bits)) & ((1 << (32 if t == "f32" else 64)) - 1)
    assert r & quiet, hex(r)


# -- control flow -----------------------------------------------------------------------------

CONTROL = """(module
  (func $classify (export "classify") (param i32) (result i32)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 11)))
      (return (i32.const 12)))
    (i32.const 13))
  (func (export "loop_sum") (param i32) (result i64) (local i64)
    (block $out (loop $l
      (br_if $out (i32.eqz (local.get 0)))
      (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func (export "multi") (param i32 i32) (result i32 i32 i32)
    (local.get 1) (local.get 0)
    (block (param i32 i32) (result i32 i32 i32)
      (i32.const 7)))
  (func (export "ifelse") (param i32 f64) (result f64)
    (if (result f64) (local.get 0)
      (then (f64.mul (local.get 1) (f64.const 2)))
      (else (f64.neg (local.get 1)))))
  (func (export "sel") (param i64 i64 i32) (result i64)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "brvalue") (param i32) (result i32)
    (block (result i32)
      (drop (br_if 0 (i32.const 5) (local.get 0)))
      (i32.const 6)))
  (func (export "loopparams") (param i32) (result i32)
    (i32.const 0) (local.get 0)
    (loop (param i32 i32) (result i32)
      (if (param i32 i32) (result i32) (i32.eqz (local.get 0))
        (then (drop))
        (else
          (i32.add)
          (local.get 0)
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (local.get 0)
          (br 1)))))
  (func (export "deadcode") (param i32) (result i32)
    (block (result i32) (br 0 (local.get 0)) (i32.const 1) (i32.add))
    (return) (unreachable) (i32.const 0))
  (func (export "unreach") (unreachable))
  (func (export "nested") (param i32) (result i32) (local i32)
    (block $x
      (loop $y
        (block $z
          (br_table $z $y $x (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.const 100)))
        (local.set 0 (i32.const 2))
        (br $y)))
    (local.get 1))
)"""


def test_control_flow():
    py, ll = both(CONTROL)
    calls = [("classify", (k,)) for k in range(-1, 6)]
    calls += [("loop_sum", (n,)) for n in (0, 1, 10, 1000)]
    calls += [("multi", (1, 2)), ("ifelse", (0, 1.5)), ("ifelse", (1, 1.5)),
              ("sel", (1, 2, 0)), ("sel", (1, 2, 5)), ("brvalue", (0,)), ("brvalue", (1,)),
              ("loopparams", (10,)), ("deadcode", (4,)), ("unreach", ()),
              ("nested", (0,)), ("nested", (2,)), ("nested", (5,))]  # fmt: skip
    for name, args in calls:
        assert outcome(py.exports[name], args) == outcome(ll.exports[name], args), name


BOOLS = """(module
  (func (export "and") (param i32 i32) (result i32)
    (i32.and (i32.lt_s (local.get 0) (i32.const 5)) (i32.ge_u (local.get 1) (i32.const 2))))
  (func (export "or_eqz_branch") (param i32 i32) (result i32)
    (if (result i32) (i32.eqz (i32.or (i32.lt_s (local.get 0) (i32.const 5))
                                      (i32.eq (local.get 1) (i32.const 3))))
      (then (i32.const 10)) (else (i32.const 20))))
  (func (export "xor") (param i32 i32) (result i32)
    (i32.xor (i32.ne (local.get 0) (local.get 1)) (i32.gt_s (local.get 0) (i32.const 0))))
  (func (export "not") (param i32) (result i32) (i32.eqz (i32.lt_s (local.get 0) (i32.const 5))))
  (func (export "and_mixed") (param i32 i32) (result i32)
    (i32.and (i32.lt_s (local.get 0) (i32.const 5)) (local.get 1)))
  (func (export "trunc_guard") (param f64) (result i32)
    (block $out (result i32)
      (br_if $out (i32.const -1)
        (i32.eqz (i32.and (f64.lt (local.get 0) (f64.const 4294967296))
                          (f64.ge (local.get 0) (f64.const 0)))))
      (drop)
      (i32.trunc_f64_u (local.get 0)))))"""


def test_and_or_xor_and_eqz_of_comparisons():
    # the LLVM tier computes these on the comparisons' i1s (FunctionLowerer._op_ibin, _op_eqz);
    # the expected values are worked out by hand
    py, ll = both(BOOLS)
    cases = [
        ("and", (4, 2), 1), ("and", (4, 1), 0), ("and", (5, 9), 0), ("and", (-7, 0xFFFFFFFF), 1),
        ("or_eqz_branch", (9, 4), 10), ("or_eqz_branch", (1, 4), 20),
        ("or_eqz_branch", (9, 3), 20),
        ("xor", (1, 2), 0), ("xor", (1, 1), 1), ("xor", (-1, 2), 1), ("xor", (0, 0), 0),
        ("not", (4,), 0), ("not", (5,), 1), ("not", (-3,), 0),
        ("and_mixed", (1, 3), 1), ("and_mixed", (1, 2), 0), ("and_mixed", (7, 3), 0),
        ("trunc_guard", (7.9,), 7), ("trunc_guard", (-0.5,), 0xFFFFFFFF),
        ("trunc_guard", (4294967296.0,), 0xFFFFFFFF), ("trunc_guard", (float("nan"),), 0xFFFFFFFF),
    ]  # fmt: skip
    for name, args, want in cases:
        want = want - (1 << 32) if want >= 1 << 31 else want  # (results are signed)
        assert ll.exports[name](*args) == want, (name, args)
        assert py.exports[name](*args) == want, (name, args)


# -- memory -------------------------------------------------------------------------------

MEMORY = """(module
  (memory (export "mem") 1 3)
  (data (i32.const 8) "\\01\\02\\03\\04\\05\\06\\07\\08\\ff\\fe\\fd\\fc")
  (func (export "i32.load") (param i32) (result i32) (i32.load offset=1 (local.get 0)))
  (func (export "i64.load") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "f32.load") (param i32) (result f32) (f32.load (local.get 0)))
  (func (export "f64.load") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "i32.load8_s") (param i32) (result i32) (i32.load8_s (local.get 0)))
  (func (export "i32.load8_u") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "i32.load16_s") (param i32) (result i32) (i32.load16_s (local.get 0)))
  (func (export "i32.load16_u") (param i32) (result i32) (i32.load16_u (local.get 0)))
  (func (export "i64.load8_s") (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func (export "i64.load16_u") (param i32) (result i64) (i64.load16_u (local.get 0)))
  (func (export "i64.load32_s") (param i32) (result i64) (i64.load32_s (local.get 0)))
  (func (export "i64.load32_u") (param i32) (result i64) (i64.load32_u (local.get 0)))
  (func (export "far") (param i32) (result i32) (i32.load offset=0xffffffff (local.get 0)))
  (func (export "store") (param i32 i64) (i64.store offset=3 (local.get 0) (local.get 1)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store16") (param i32 i64) (i64.store16 (local.get 0) (local.get 1)))
  (func (export "store32") (param i32 i64) (i64.store32 (local.get 0) (local.get 1)))
  (func (export "fstore") (param i32 f32) (f32.store (local.get 0) (local.get 1)))
  (func (export "dstore") (param i32 f64) (f64.store (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (data $p "passive-segment")
  (func (export "init") (param i32 i32 i32) (memory.init $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (data.drop $p))
)"""

ADDRS = [0, 1, 7, 8, 9, 65528, 65529, 65531, 65532, 65533, 65535, 65536, 65537, 0x7FFFFFFF,
         0xFFFFFFFF, 0xFFFFFFF8]  # fmt: skip


def test_memory_instructions():
    py, ll = both(MEMORY)
    loads = ["i32.load", "i64.load", "f32.load", "f64.load", "i32.load8_s", "i32.load8_u",
             "i32.load16_s", "i32.load16_u", "i64.load8_s", "i64.load16_u", "i64.load32_s",
             "i64.load32_u", "far"]  # fmt: skip
    stores = [("store", 0x1122334455667788), ("store8", 0x1FF), ("store16", 0xABCDEF),
              ("store32", 0x8765432112345678), ("fstore", wasm2py.f32_from_bits(0x7FA00001)),
              ("dstore", wasm2py.f64_from_bits(0x7FF4000000000001))]  # fmt: skip
    for addr in ADDRS:
        for name, v in stores:
            assert outcome(py.exports[name], (addr, v)) == outcome(ll.exports[name], (addr, v))
        for name in loads:
            assert outcome(py.exports[name], (addr,)) == outcome(ll.exports[name], (addr,))
    for args in [(0, 0x55, 10), (65530, 1, 6), (65530, 1, 7), (65536, 0, 0), (65537, 0, 0)]:
        assert outcome(py.exports.fill, args) == outcome(ll.exports.fill, args)
    for args in [(0, 4, 20), (4, 0, 20), (65500, 0, 36), (65500, 0, 37), (0, 65536, 0)]:
        assert outcome(py.exports.copy, args) == outcome(ll.exports.copy, args)
    for args in [(100, 0, 15), (100, 1, 15), (65530, 0, 7), (0, 15, 0), (0, 16, 0)]:
        assert outcome(py.exports.init, args) == outcome(ll.exports.init, args)
    ll.exports.drop()
    py.exports.drop()
    assert outcome(py.exports.init, (0, 0, 1)) == outcome(ll.exports.init, (0, 0, 1))
    assert outcome(py.exports.init, (0, 0, 0)) == outcome(ll.exports.init, (0, 0, 0))
    assert py.exports.mem.read(0, 65536) == ll.exports.mem.read(0, 65536)
    for delta in (0, 1, 5, 1):
        assert py.exports.grow(delta) == ll.exports.grow(delta)
        assert py.exports.size() == ll.exports.size()
        assert outcome(py.exports["i32.load"], (65536 * 2,)) == outcome(
            ll.exports["i32.load"], (65536 * 2,))


def test_out_of_bounds_never_touches_outside_memory():
    # Max 2 pages, 1 accessible: the second page is reserved (mapped) but out of bounds; a
    # store that slipped past the check would show up there after growing.
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat("""(module (memory (export "mem") 1 2)
      (func (export "st") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
      (func (export "st8") (param i32) (i32.store8 offset=7 (local.get 0) (i32.const 255)))
      (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 7) (local.get 1)))
      (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
      (func (export "grow") (result i32) (memory.grow (i32.const 1))))"""))
    ll = L.instantiate(store, mod)
    ex = ll.exports
    for addr in [65529, 65530, 65535, 65536, 65540, 131064, 0xFFFFFFF8, 0xFFFFFFFF]:
        with pytest.raises(wasm2py.Trap) as e:
            ex.st(addr, -1)
        assert e.value.code is wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    for addr in [65529, 65535, 0xFFFFFFFF]:
        with pytest.raises(wasm2py.Trap):
            ex.st8(addr)
    for d, n in [(65000, 537), (65536, 1), (0, 65537), (0xFFFFFFFF, 2)]:
        with pytest.raises(wasm2py.Trap):
            ex.fill(d, n)
    with pytest.raises(wasm2py.Trap):
        ex.copy(65000, 0, 600)
    ex.st(65528, -1)  # the last in-bounds word
    assert ex.grow() == 1
    assert ex.mem.read(65536, 131072) == bytes(65536)
    assert ex.mem.read(65528, 65536) == b"\xff" * 8


def test_memory_growth_is_seen_by_jitted_code():
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat("""(module (memory (export "m") 1 4)
      (func (export "ld") (param i32) (result i32) (i32.load (local.get 0))))"""))
    ll = L.instantiate(store, mod)
    with pytest.raises(wasm2py.Trap):
        ll.exports.ld(70000)
    ll.exports.m.grow(1)  # growth from Python updates the size jitted code reads
    assert ll.exports.ld(70000) == 0
    # an imported memory shared with a Python-tier instance
    other = wasm2py.Instance(store, wasm2py.Module(store.engine, wat(
        """(module (import "e" "m" (memory 1)) (func (export "g") (result i32)
           (memory.grow (i32.const 1))) (func (export "st") (param i32 i32)
           (i32.store (local.get 0) (local.get 1))))""")), {"e": {"m": ll.exports.m}})
    other.exports.g()
    other.exports.st(140000, 1234)
    assert ll.exports.ld(140000) == 1234


# -- calls, host functions, traps, recursion ----------------------------------------------------

def test_host_calls_and_exceptions():
    class Boom(Exception):
        pass

    seen = []

    def log(x: int, y: float) -> int:
        seen.append((x, y))
        if x == 13:
            raise Boom("host failure")
        return x * 2

    def caller_mem(caller: Caller, p: int) -> int:
        return caller.memory.read(p, p + 1)[0]

    text = """(module
      (import "env" "log" (func $log (param i32 f64) (result i32)))
      (import "env" "peek" (func $peek (param i32) (result i32)))
      (import "env" "pair" (func $pair (param f32) (result f32 i64)))
      (memory 1) (data (i32.const 5) "\\2a")
      (func (export "call") (param i32) (result i32)
        (i32.add (call $log (local.get 0) (f64.const 0.5)) (i32.const 1)))
      (func (export "peek") (param i32) (result i32) (call $peek (local.get 0)))
      (func (export "pair") (param f32) (result i64 f32) (local i64 f32)
        (call $pair (local.get 0)) (local.set 1) (local.set 2)
        (local.get 1) (f32.neg (local.get 2)))
      (func (export "nested") (param i32) (result i32)
        (call $log (local.get 0) (f64.const 1)) (call $log (i32.const 13) (f64.const 2))
        (i32.add)))"""
    pair = lambda x: (x * 2, 7)  # noqa: E731
    imports = {"env": {"log": log, "peek": caller_mem, "pair": pair}}
    py, ll = both(text, imports)
    assert ll.exports.call(20) == py.exports.call(20) == 41
    assert ll.exports.peek(5) == py.exports.peek(5) == 42
    x = wasm2py.f32_from_bits(0x7FA12345)
    assert outcome(ll.exports.pair, (x,)) == outcome(py.exports.pair, (x,))
    assert outcome(ll.exports.pair, (1.5,)) == ("ok", (7, ("f32", 0xC0400000)))
    with pytest.raises(Boom) as e:
        ll.exports.call(13)
    assert str(e.value) == "host failure"
    with pytest.raises(Boom):
        ll.exports.nested(3)
    assert ll.exports.call(1) == 3  # the runtime is usable after a host exception
    assert seen[-1] == (1, 0.5)


def test_trap_inside_host_callback_keeps_its_code():
    store = wasm2py.Store()
    inner = L.instantiate(store, wasm2py.Module(store.engine, wat(
        '(module (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))')))  # fmt: skip

    def host(x):
        return inner.exports.div(x)

    outer = L.instantiate(store, wasm2py.Module(store.engine, wat(
        """(module (import "e" "h" (func $h (param i32) (result i32)))
           (func (export "f") (param i32) (result i32) (call $h (local.get 0))))""")),
        {"e": {"h": host}})  # fmt: skip
    assert outer.exports.f(1) == 1
    with pytest.raises(wasm2py.Trap) as e:
        outer.exports.f(0)
    assert e.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO


RECURSION = """(module
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $inf (export "inf") (param i64) (result i64)
    (i64.add (call $inf (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func $fat (export "fat") (param i32) (result f64)
    (local f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
    (local.set 1 (f64.convert_i32_u (local.get 0)))
    (local.set 2 (f64.mul (local.get 1) (local.get 1)))
    (local.set 3 (f64.mul (local.get 2) (local.get 1)))
    (if (result f64) (i32.eqz (local.get 0)) (then (local.get 3))
      (else (f64.add (local.get 2) (f64.add (local.get 3)
        (call $fat (i32.sub (local.get 0) (i32.const 1))))))))
)"""


def test_deep_recursion_matches_python_tier():
    py, ll = both(RECURSION)
    for n in (0, 100, 5000, 9999, 10000, 10001, 10_000_000):
        assert outcome(py.exports.down, (n,)) == outcome(ll.exports.down, (n,)), n
    with pytest.raises(wasm2py.Trap) as e:
        ll.exports.inf(0)
    assert e.value.code is wasm2py.TrapCode.CALL_STACK_EXHAUSTED
    assert ll.exports.down(9999) == 9999  # still usable
    assert outcome(py.exports.fat, (9000,)) == outcome(ll.exports.fat, (9000,))


def test_recursion_in_a_small_thread_stack_traps_instead_of_crashing():
    store = wasm2py.Store()
    ll = L.instantiate(store, wasm2py.Module(store.engine, wat(RECURSION)))
    results = []

    def run():
        try:
            ll.exports.inf(0)
        except wasm2py.Trap as e:
            results.append(e.code)
        try:
            results.append(ll.exports.down(100))
        except wasm2py.Trap as e:
            results.append(e.code)

    in_small_thread(run)
    assert results == [wasm2py.TrapCode.CALL_STACK_EXHAUSTED, 100]


def test_call_depth_limit_is_configurable():
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(max_call_depth=50)))
    ll = L.instantiate(store, wasm2py.Module(store.engine, wat(RECURSION)))
    assert ll.exports.down(49) == 49
    with pytest.raises(wasm2py.Trap):
        ll.exports.down(51)


# -- globals and tables ------------------------------------------------------------------------

TABLES = """(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (import "env" "host" (func $host (param i32) (result i32)))
  (table $t (export "t") 4 10 funcref)
  (table $x 2 externref)
  (global $g (export "g") (mut i64) (i64.const -5))
  (global $f (export "f") (mut f32) (f32.const nan:0x12345))
  (global $c i32 (i32.const 77))
  (elem (table $t) (i32.const 0) func $double $host $nop)
  (elem $later func $double $nop)
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $nop)
  (func (export "ci") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 0) (local.get 1)))
  (func (export "gget") (result i64) (global.get $g))
  (func (export "gset") (param i64) (global.set $g (local.get 0)))
  (func (export "fbits") (result i32) (i32.reinterpret_f32 (global.get $f)))
  (func (export "c") (result i32) (global.get $c))
  (func (export "size") (result i32) (table.size $t))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $double) (local.get 0)))
  (func (export "fill") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (table.init $t $later (local.get 0) (local.get 1) (local.get 2)))
  (func (export "edrop") (elem.drop $later))
  (func (export "isnull") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "xset") (param i32 externref) (table.set $x (local.get 0) (local.get 1)))
  (func (export "xget") (param i32) (result externref) (table.get $x (local.get 0)))
)"""


def test_globals_and_tables():
    imports = {"env": {"host": lambda x: x + 1000}}
    py, ll = both(TABLES, imports)
    script = [("ci", (5, 0)), ("ci", (5, 1)), ("ci", (5, 2)), ("ci", (5, 3)), ("ci", (5, 4)),
              ("ci", (5, -1)), ("gget", ()), ("gset", (2**63 - 1,)), ("gget", ()), ("fbits", ()),
              ("c", ()), ("size", ()), ("grow", (2,)), ("size", ()), ("ci", (3, 5)),
              ("grow", (100,)), ("fill", (1, 2)), ("ci", (1, 1)), ("fill", (5, 2)),
              ("copy", (0, 4, 2)), ("ci", (1, 0)), ("copy", (5, 0, 2)), ("init", (2, 0, 2)),
              ("ci", (7, 2)), ("isnull", (3,)), ("init", (0, 1, 2)), ("edrop", ()),
              ("init", (0, 0, 1)), ("init", (0, 0, 0)), ("isnull", (9,))]  # fmt: skip
    for name, args in script:
        assert outcome(py.exports[name], args) == outcome(ll.exports[name], args), (name, args)
    obj = object()
    ll.exports.xset(1, obj)
    assert ll.exports.xget(1) is obj and ll.exports.xget(0) is None
    assert ll.exports.g.value == py.exports.g.value
    assert ll.exports.t.size == py.exports.t.size
    f = ll.exports.t.get(0)
    assert isinstance(f, wasm2py.Func) and f(21) == 42


def test_instances_share_globals_tables_and_functions():
    store = wasm2py.Store()
    a = L.instantiate(store, wasm2py.Module(store.engine, wat(TABLES)),
                      {"env": {"host": lambda x: -x}})  # fmt: skip
    b = L.instantiate(store, wasm2py.Module(store.engine, wat("""(module
      (type $ii (func (param i32) (result i32)))
      (import "a" "t" (table 4 funcref))
      (import "a" "g" (global $g (mut i64)))
      (import "a" "ci" (func $ci (param i32 i32) (result i32)))
      (func (export "via_table") (param i32) (result i32)
        (call_indirect (type $ii) (local.get 0) (i32.const 1)))
      (func (export "bump") (global.set $g (i64.add (global.get $g) (i64.const 1))))
      (func (export "direct") (param i32) (result i32) (call $ci (local.get 0) (i32.const 0))))""")),
        {"a": dict(a.exports)})  # fmt: skip
    assert b.exports.via_table(5) == -5
    b.exports.bump()
    assert a.exports.gget() == -4
    assert b.exports.direct(4) == 8


# -- compile options and other targets ----------------------------------------------------------

@pytest.mark.parametrize("level", [0, 1, 3])
def test_opt_levels_agree(level):
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(CONTROL))
    ll = L.instantiate(store, L.compile_module(mod._module, opt_level=level))
    ref = L.instantiate(store, mod)
    for name, args in [("classify", (2,)), ("loop_sum", (50,)), ("loopparams", (5,)),
                       ("nested", (0,))]:  # fmt: skip
        assert outcome(ll.exports[name], args) == outcome(ref.exports[name], args)


def test_aarch64_objects():
    from tools.bench.build import KERNELS, ToolMissing, build_kernel
    from wasm2py.binary.decoder import decode_module
    from wasm2py.validate.validator import validate_module

    modules = [wat(t) for t in (CONTROL, MEMORY, TABLES, RECURSION)]
    try:
        modules += [build_kernel(name).read_bytes() for name in KERNELS]
    except ToolMissing:
        pass
    for data in modules:
        m = decode_module(data)
        validate_module(m)
        obj = L.emit_object(m, L.AARCH64_TRIPLE)
        assert obj[:4] == b"\x7fELF"
        assert obj[4] == 2  # 64-bit
        (machine,) = struct.unpack_from("<H", obj, 18)
        assert machine == 183  # EM_AARCH64


def test_call_from_python_is_cheap():
    """A call from Python into jitted code (argument checks, ctypes, result) costs a few plain
    Python calls' worth, not a slow path: measured against a plain Python function of the same
    arity in the same run, in CPU time and interleaved, so a loaded machine slows both alike
    (~25x here; a Python-level function call is ~0.07 us, ours ~1.9 us)."""
    store = wasm2py.Store()
    ll = L.instantiate(store, wasm2py.Module(store.engine, wat(
        '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))')))  # fmt: skip
    add = ll.exports.add

    def plain(a, b):
        return (a + b) & 0xFFFFFFFF

    n = 20000
    ours, ref = [], []
    for _ in range(5):
        ours.append(_cpu_timed(add, n))
        ref.append(_cpu_timed(plain, n))
    ratio = min(ours) / max(min(ref), 1e-9)
    assert ratio < 100, f"{min(ours) / n * 1e6:.2f} us per call, {ratio:.0f}x a Python call"


def _cpu_timed(f, n):
    import time

    t = time.process_time()
    for _ in range(n):
        f(1, 2)
    return time.process_time() - t


def test_unsupported_input_types_are_rejected_clearly():
    store = wasm2py.Store()
    ll = L.instantiate(store, wasm2py.Module(store.engine, wat(
        '(module (func (export "f") (param i32) (result i32) (local.get 0)))')))  # fmt: skip
    with pytest.raises(OverflowError):
        ll.exports.f(2**40)
    assert ll.exports.f(-1) == -1
    assert isinstance(ll.exports.f, wasm2py.Func)
    assert ll.exports.f.type == FuncType([I32], [I32])


def test_reentrant_calls_through_the_host():
    store = wasm2py.Store()
    holder = {}

    def back(n: int) -> int:
        return holder["inst"].exports.tri(n - 1) if n > 0 else 0

    text = """(module (import "e" "back" (func $back (param i32) (result i32)))
      (func (export "tri") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (local.get 0) (call $back (local.get 0)))))))"""
    mod = wasm2py.Module(store.engine, wat(text))
    holder["inst"] = L.instantiate(store, mod, {"e": {"back": back}})
    assert holder["inst"].exports.tri(50) == 50 * 51 // 2
    py = wasm2py.Instance(store, mod, {"e": {"back": back}})
    assert py.exports.tri(50) == holder["inst"].exports.tri(50)


def test_python_tier_spill_of_grow():
    # Found by tests/test_llvm_diff.py. The Python tier generates
    #   s2 = mem_grow(MEM, 0); s1 = i32_div_s(l0, s2); s2 = (G0[0] == 0) & 255
    #   mem_fill(MEM, 0, i32_div_s(l0, s2), ...)        <- s2 was overwritten: uses s1 instead
    py, ll = both("""(module (memory 1 2) (global $g0 (mut i32) (i32.const 7))
      (func (export "a") (param i32) (result i32)
        (memory.fill (i32.const 0) (i32.div_s (local.get 0) (memory.grow (i32.const 0)))
          (i32.and (i32.eq (global.get $g0) (i32.const 0)) (i32.const 0xff)))
        (i32.const 0)))""")
    assert outcome(ll.exports.a, (5,)) == ("ok", (0,))
    assert outcome(py.exports.a, (5,)) == outcome(ll.exports.a, (5,))


def test_python_tier_dropped_load_after_if():
    # Found by tests/test_llvm_diff.py. The Python tier generates
    #   s0 = LF64(M, s0 & 65532)[0]; LF64(M, s0 & 65532)[0]      <- s0 is a float by then
    py, ll = both("""(module (memory 1) (global $g0 (mut i32) (i32.const 7))
      (func (export "f") (result i32)
        (drop (f64.load (i32.and (if (result i32) (i32.const 227) (then (global.get $g0))
                                   (else (i32.const 32))) (i32.const 0xfffc))))
        (i32.const 1)))""")
    assert outcome(ll.exports.f, ()) == ("ok", (1,))
    assert outcome(py.exports.f, ()) == outcome(ll.exports.f, ())


@pytest.mark.parametrize("text", [
    '(module (func (export "f") (result i32) v128.const i32x4 1 2 3 4 i32x4.extract_lane 0))',
    '(module (func (export "f") (param v128)))',
    '(module (func (export "f") (local v128)))',
    '(module (global (export "f") v128 (v128.const i64x2 0 0)))',
])  # fmt: skip
def test_simd_modules_compile_in_the_llvm_tier(text):
    # SIMD runs in this tier too (tests/test_llvm_simd.py compares it with the Python tier).
    store = wasm2py.Store()
    module = wasm2py.Module(store.engine, wat(text))
    assert "f" in L.instantiate(store, module, {}).exports


def test_object_cache_reload(tmp_path):
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(CONTROL))
    first = L.compile_module(mod._module, cache_dir=tmp_path)
    assert "optimize" in first.timings and len(list(tmp_path.glob("llvm-*.o"))) == 1
    again = L.compile_module(mod._module, cache_dir=tmp_path)
    assert set(again.timings) == {"load"} and again.timings["load"] < 0.5
    a, b = L.instantiate(store, first), L.instantiate(store, again)
    for name, args in [("classify", (3,)), ("loop_sum", (99,)), ("multi", (4, 5))]:
        assert outcome(a.exports[name], args) == outcome(b.exports[name], args)
    other = L.compile_module(mod._module, opt_level=1, cache_dir=tmp_path)
    assert "optimize" in other.timings  # another level is another entry


def test_object_cache_never_loads_foreign_machine_code(tmp_path, monkeypatch):
    # The object file is machine code run in-process: like the Python tier's cache, an entry
    # this wasm2py did not write (or one damaged later) is discarded and rebuilt, never loaded.
    monkeypatch.setenv("WASM2PY_CONFIG_DIR", str(tmp_path / "config"))
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(CONTROL))
    L.compile_module(mod._module, cache_dir=tmp_path)
    (path,) = tmp_path.glob("llvm-*.o")
    blob = bytearray(path.read_bytes())
    blob[-100] ^= 0xFF  # a flipped byte in the code
    path.write_bytes(bytes(blob))
    again = L.compile_module(mod._module, cache_dir=tmp_path)
    assert "optimize" in again.timings  # compiled afresh
    assert outcome(L.instantiate(store, again).exports["classify"], (3,)) == \
        outcome(wasm2py.Instance(store, mod).exports["classify"], (3,))
    path.write_bytes(b"\x7fELF" + b"\0" * 200)  # a plausible object without our tag
    assert "optimize" in L.compile_module(mod._module, cache_dir=tmp_path).timings


SPLIT = """(module
  (type $ii (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $twice $fails)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $add2 (local.get 0))))))
  (func $add2 (param i32) (result i32)
    (call $fib (i32.sub (local.get 0) (i32.const 2))))
  (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $fails (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0))))"""


@pytest.mark.parametrize("level", [2, 0])
def test_big_modules_compile_in_parallel_parts(monkeypatch, tmp_path, level):
    # Parts are compiled in child processes and linked when loaded: same behaviour as one
    # module (calls across parts, recursion, tables, trap backtraces, the cache), checked on a
    # small module split into a part per function. The module makes no tail calls, so every
    # function has a C-convention body, which direct calls across parts reach by name (O2) or
    # through the module's table of bodies (level 0: lower.ModuleBuilder.bodies).
    from wasm2py.llvm import facts, jit

    monkeypatch.setattr(jit, "PART_INSTRUCTIONS", 1)
    monkeypatch.setattr(jit.os, "cpu_count", lambda: 5)
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(SPLIT))
    assert len(jit.plan_parts(facts.with_bodies(mod._module))) == 5
    split = L.compile_module(mod._module, level, cache_dir=tmp_path)
    assert set(split.timings) == {"parallel", "link"}
    again = L.compile_module(mod._module, level, cache_dir=tmp_path)  # the five objects, cached
    assert set(again.timings) == {"load"}
    for cm in (split, again):
        assert cm.body_table and set(cm.bodies) == set(range(5))
        # $add2 (1) is named nowhere outside the code, so no record of it can be called: its
        # body is its only function; the others' records hold a tailcc function
        assert [cm.funcs[i] == cm.bodies[i] for i in range(5)] == [False, True, False, False,
                                                                   False]  # fmt: skip
        ll = L.instantiate(store, cm).exports
        assert ll.fib(20) == 6765
        assert ll.indirect(0, 21) == 42
        with pytest.raises(wasm2py.Trap) as e:
            ll.indirect(1, 5)
        assert e.value.code == wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
        assert [name for _, name, _ in e.value.frames] == ["fails", "indirect"]


def test_tailcc_functions_only_where_a_record_may_be_called():
    # A module without tail calls: every function's code is a C-convention body (what LLVM's
    # fast instruction selector can call and return from); only functions whose reference
    # wasm code can take (exported: fib, indirect; in a segment: twice, fails) get the tailcc
    # function that records hold, which calls the body. Direct calls of quick code go
    # through the context's table of bodies (a call by name is a 64-bit constant under the
    # JIT's large code model, which that selector does not make); O2 code calls by name.
    import re

    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.lower import build_text

    module = decode_module(wat(SPLIT))
    assert module.func_refs() == {0, 2, 3, 4}
    for quick in (False, True):
        text = build_text(module, quick=quick)
        heads = re.findall(r'^define internal (tailcc )?i32 @"(w[^"]+)"', text, re.M)
        assert heads == [("tailcc ", "w0"), ("", "w0.body"), ("", "w1"), ("tailcc ", "w2"),
                         ("", "w2.body"), ("tailcc ", "w3"), ("", "w3.body"),
                         ("tailcc ", "w4"), ("", "w4.body")]  # fmt: skip
        named = re.findall(r'call (?:tailcc )?i32 @"(w[^"]+)"', text)
        forwards = ["w0.body", "w2.body", "w3.body", "w4.body"]
        # fib calls itself and add2, add2 calls fib: by name at O2
        assert named == (forwards if quick else ["w0.body", "w0.body", "w1", "w0.body",
                                                  *forwards[1:]])  # fmt: skip
        # the one tailcc call left: call_indirect, through a record
        assert len(re.findall(r"call tailcc", text)) == 1


def test_fast_isel_selects_the_calls_and_returns_of_bodies(tmp_path):
    # At level 0 LLVM's fast instruction selector hands a block it cannot select to
    # SelectionDAG (much slower to compile), and says so with -pass-remarks-missed=sdagisel
    # (in a child: the option is process-wide). The bodies' arguments, returns and direct
    # calls are all selected; what is left in the wasm functions is the tailcc functions of
    # the functions in C.refs and call_indirect's tailcc call through a record (in $indirect).
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "split.wasm"
    path.write_bytes(wat(SPLIT))
    script = f"""if True:
        import llvmlite.binding as llvm
        from wasm2py.binary.decoder import decode_module
        from wasm2py.llvm import jit
        from wasm2py.llvm.lower import build_text
        jit._init()
        llvm.set_option("", "-pass-remarks-missed=sdagisel")
        tm = jit.host_target_machine(0)
        module = decode_module(open({str(path)!r}, "rb").read())
        tm.emit_object(jit.parse(build_text(module, quick=True), tm))
    """
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120, check=True)  # fmt: skip
    missed: dict[str, list[str]] = {}
    for line in proc.stderr.splitlines():
        m = re.search(r"FastISel (.*) \(in function: (w\d+(?:\.body)?)\)$", line)
        if m:
            missed.setdefault(m.group(2), []).append(m.group(1))
    assert set(missed) == {"w0", "w2", "w3", "w4", "w4.body"}
    assert len(missed["w4.body"]) == 1 and "call tailcc" in missed["w4.body"][0]


def test_min_max_of_a_signalling_nan_and_minus_zero_is_quiet():
    # the spec: min/max with a NaN operand give an arithmetic NaN (quiet bit set). The LLVM
    # tier once returned x + y for it, which LLVM folds to x when y is -0: the signalling NaN
    store = fresh_store(tier="llvm")
    inst = wasm2py.Instance(store, wasm2py.Module(store.engine, wat("""(module
      (func (export "f32min") (param f32) (result f32) local.get 0 f32.const -0 f32.min)
      (func (export "f32max") (param f32) (result f32) local.get 0 f32.const -0 f32.max)
      (func (export "f64min") (param f64) (result f64) local.get 0 f64.const -0 f64.min)
      (func (export "f32x4min") (param v128) (result v128)
        local.get 0 v128.const f32x4 -0 -0 -0 -0 f32x4.min))""")))
    ex = inst.exports
    snan32 = wasm2py.f32_from_bits(0x7FA00001)
    for name in ("f32min", "f32max"):
        bits = wasm2py.f32_to_bits(ex[name](snan32))
        assert bits & 0x7FC00000 == 0x7FC00000, (name, hex(bits))
    bits = wasm2py.f64_to_bits(ex.f64min(wasm2py.f64_from_bits(0x7FF4000000000001)))
    assert bits & 0x7FF8000000000000 == 0x7FF8000000000000, hex(bits)
    lanes = ex.f32x4min(0x7FA00001)
    assert lanes & 0x7FC00000 == 0x7FC00000, hex(lanes)
    assert lanes >> 32 == 0x800000008000000080000000  # min(+0, -0) = -0 in the other lanes


QUICK_WAT = """(module
  (func (export "seven") (result i32) i32.const 7)
  (func (export "sum") (param i32) (result i64) (local i64)
    (block (loop
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br 0)))
    local.get 1)
  (func (export "nan") (param f32) (result i32)
    (i32.reinterpret_f32 (f32.div (local.get 0) (local.get 0)))))"""


def test_code_bytes_reads_the_code_section_size():
    from wasm2py.llvm.jit import code_bytes

    # one body: count 1, size 4, [0 locals, i32.const 7, end] -> 1 + 1 + 4 bytes
    assert code_bytes(wat('(module (func (result i32) i32.const 7))')) == 6
    assert code_bytes(wat("(module)")) == 0


def test_modules_with_more_code_than_llvm_quick_bytes_get_a_cheap_level():
    """Level 0 (no IR pass, the fast code generator); the quick pipeline when a function has
    more than BIG_FRAME_LOCALS locals (level 0 would give it a native frame as big as its
    wasm frame: see jit.big_frames)."""
    from wasm2py.llvm.jit import QUICK, code_bytes
    from wasm2py.llvm.lower import BIG_FRAME_LOCALS

    data = wat(QUICK_WAT)
    size = code_bytes(data)
    # the same functions and one more with BIG_FRAME_LOCALS + 1 locals (never called)
    big = wat(QUICK_WAT[:-1] + f"\n  (func (local {'i32 ' * (BIG_FRAME_LOCALS + 1)})))")
    cases = [({"llvm_quick_bytes": size - 1}, 0), ({"llvm_quick_bytes": size}, 2),
             ({"llvm_quick_bytes": None}, 2),
             ({"llvm_quick_bytes": 0, "llvm_opt_level": 0}, 0),  # (O0 asked for: kept)
             ({"llvm_quick_bytes": 0, "llvm_opt_level": 3}, 0)]  # fmt: skip
    cases = [(data, *c) for c in cases] + [(big, {"llvm_quick_bytes": 0}, QUICK),
                                           (big, {"llvm_quick_bytes": None}, 2)]  # fmt: skip
    for data, options, level in cases:
        engine = wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False, **options))
        module = wasm2py.Module(engine, data)
        assert module._llvm.opt_level == level, options
        inst = wasm2py.Instance(wasm2py.Store(engine), module)
        assert inst.exports["seven"]() == 7
        assert inst.exports["sum"](100_000) == 100_000 * 100_001 // 2
        # 0/0 is a NaN: the positive canonical one by the NaN rule (README, "NaN results")
        assert inst.exports["nan"](0.0) == 0x7FC00000
        # wasm2py.llvm.instantiate takes the same compile (no second one at another level)
        assert L.instantiate(wasm2py.Store(engine), module).exports["seven"]() == 7
        assert len(engine._llvm) == 1
    with pytest.raises(wasm2py.ConfigError):
        wasm2py.Config(llvm_quick_bytes=-1)


SELECT_LOOP_WAT = """(module
  (memory (export "mem") 1)
  ;; the larger child of a binary heap in memory, as heapsort's sift-down picks it: a select
  ;; on two loaded values in a loop (clang emits this select for C's `if (a < b) child++`)
  (func (export "walk") (param $i i32) (param $end i32) (result i32) (local $c i32)
    (block $done (loop $l
      (local.set $c (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
      (br_if $done (i32.ge_s (local.get $c) (local.get $end)))
      (local.set $i (select
        (i32.add (local.get $c) (i32.const 1)) (local.get $c)
        (i32.lt_s (i32.load (i32.shl (local.get $c) (i32.const 2)))
                  (i32.load offset=4 (i32.shl (local.get $c) (i32.const 2))))))
      (br $l)))
    (local.get $i)))"""


def test_wasm_select_stays_a_conditional_move():
    # A wasm select is lowered to an `!unpredictable` select, which LLVM's x86 back end keeps
    # as a cmov; without the mark its cmov conversion made this loop's select a branch, taken
    # half the time on random data (heapsort in tools/bench/kernels/sort.c: 1.17x wasmtime).
    import platform

    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import jit
    from wasm2py.llvm.lower import build_text

    module = decode_module(wat(SELECT_LOOP_WAT))
    text = build_text(module)
    assert text.count("!unpredictable") == 1
    ir_text = jit.optimized_ir(module, 2)
    assert "!unpredictable" in ir_text.split("define internal tailcc i32 @w0")[1]
    if platform.machine() in ("x86_64", "AMD64"):
        import llvmlite.binding as llvm

        tm = jit.host_target_machine(2)
        asm = tm.emit_assembly(llvm.parse_assembly(ir_text))
        body = asm.split("\nw0:")[1].split(".Lfunc_end")[0]
        assert "cmov" in body, body
    # (and it picks what the select says: the child with the larger value)
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False)))
    ex = L.instantiate(store, wasm2py.Module(store.engine, wat(SELECT_LOOP_WAT))).exports
    assert ex["walk"](0, 1) == 0  # no child: the root itself
    assert ex["walk"](0, 3) == 1  # children 1 and 2 hold 0 and 0: not a < b
    ex["mem"].write(struct.pack("<3i", 7, 5, 9), 0)
    assert ex["walk"](0, 3) == 2  # 5 < 9


def _br_table_module(labels: list[int], default: int) -> str:
    """``f(x)``: a ``br_table`` over ``labels`` (depths) and ``default`` out of
    ``max + 1`` nested blocks; leaving block ``d`` returns ``100 + d``."""
    n = max([*labels, default]) + 1
    inner = f"(br_table {' '.join(map(str, labels))} {default} (local.get 0))"
    for d in range(n):
        inner = f"(block {inner}) (return (i32.const {100 + d}))"
    return f'(module (func (export "f") (param i32) (result i32) {inner} (i32.const -1)))'


@pytest.mark.parametrize("labels, default", [
    ([], 0),  # the default only
    ([0], 1),
    ([1, 1, 0], 1),  # a run of equal targets
    ([2, 1, 0, 0], 3),  # 4 runs: the most a search takes
    ([0, 0, 1, 1, 1, 2, 0, 3], 2),  # runs of equal targets, the default among them
    ([2, 1, 0, 1, 2, 3, 3], 3),  # the last run is the default's
    (list(range(40)), 40),
])  # fmt: skip
def test_br_table_at_level_0(labels, default):
    # Level 0 lowers small br_tables as a binary search of unsigned compares (the fast
    # instruction selector has no switch: lower.QUICK_SEARCH_RUNS), bigger ones as a switch
    # alone in its block. The expected target is the br_table rule itself: labels[x] if
    # x < len(labels), else the default, x unsigned.
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import lower

    text = _br_table_module(labels, default)
    runs = len([k for k in range(len(labels)) if k == 0 or labels[k] != labels[k - 1]])
    runs += not labels or labels[-1] != default
    ir_text = lower.build_text(decode_module(wat(text)), quick=True)
    switch = runs > lower.QUICK_SEARCH_RUNS
    assert ir_text.count("switch") == switch
    if switch:  # (alone in its block: the line before it is its block's label)
        lines = ir_text.splitlines()
        k = next(k for k, line in enumerate(lines) if "switch" in line)
        assert lines[k - 1].endswith(":"), lines[k - 1]
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(text))
    f = L.instantiate(store, L.compile_module(mod._module, opt_level=0)).exports["f"]
    for x in [*range(len(labels) + 3), 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]:
        want = 100 + (labels[x] if x < len(labels) else default)
        assert f(x - (1 << 32) if x >= 1 << 31 else x) == want, x
