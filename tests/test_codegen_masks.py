"""Masks the Python tier leaves out or writes as a statement (codegen's ``_bits`` and
``_small_sum``): the values stay those of the wasm definition, worked out by hand here, and
the generated code has the shape the change is for."""

from __future__ import annotations

import ast

import pytest

import wasm2py
from wasm2py.binary.decoder import decode_module
from wasm2py.translate.module import translate_module
from wasm2py.validate.validator import validate_module

from .wat import wat


def _exports(text: str):
    return wasm2py.Instance(wasm2py.Store(), wasm2py.Module(wat(text)), {}).exports


def _source(text: str, name: str) -> str:
    """The generated Python of the function whose def name ends with ``name``."""
    module = decode_module(wat(text))
    validate_module(module)
    tree, _ = translate_module(module)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.endswith(name):
            return ast.unparse(node)
    raise AssertionError(f"no function {name}")


COPY16 = """(module (memory 1)
  (func $copy16 (export "copy16") (param $from i32) (param $to i32)
    (i32.store16 (local.get $to) (i32.load16_u (local.get $from))))
  (func $copy8 (export "copy8") (param $from i32) (param $to i32)
    (i32.store8 (local.get $to) (i32.and (i32.load (local.get $from)) (i32.const 0x7f))))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"""


def test_narrow_stores_of_values_that_fit_have_no_mask():
    src = _source(COPY16, "copy16")
    assert "PU16(M, l1, LU16(M, l0)[0])" in src, src
    assert "& 255" not in _source(COPY16, "copy8").split("M[l1] =")[1]
    ex = _exports(COPY16)
    ex.store32(0, 0x12345678)
    ex.store32(8, -1)
    ex.copy16(0, 8)  # the low half 0x5678 over 0xffff: 0xffff5678
    assert ex.load32(8) == 0xFFFF5678 - 2**32
    ex.copy8(0, 8)  # 0x78 & 0x7f = 0x78 into the lowest byte: 0xffff5678
    assert ex.load32(8) == 0xFFFF5678 - 2**32
    ex.store32(0, 0xFF)
    ex.copy8(0, 9)  # 0xff & 0x7f = 0x7f into byte 9: 0xffff7f78
    assert ex.load32(8) == 0xFFFF7F78 - 2**32


EXTEND = """(module
  (func $ext (export "ext") (param i32) (result i64) (i64.extend_i32_s (local.get 0))))"""


def test_sign_extension_of_a_canonical_i32_has_no_mask():
    src = _source(EXTEND, "ext")
    assert "4294967295" not in src, src
    ex = _exports(EXTEND)
    assert ex.ext(0) == 0
    assert ex.ext(0x7FFFFFFF) == 0x7FFFFFFF
    assert ex.ext(-(2**31)) == -(2**31)  # 0x80000000
    assert ex.ext(-1) == -1  # 0xffffffff


SUMS = """(module (memory 1)
  (func $addr (export "addr") (param $base i32) (param $i i32) (result i32) (local $p i32)
    (local.set $p (i32.add (local.get $base) (i32.mul (local.get $i) (i32.const 40))))
    (local.get $p))
  (func $next (export "next") (result i32) (local $p i32)
    (local.set $p (i32.add (i32.load (i32.const 0)) (i32.const 4)))
    (local.get $p))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"""


def test_sums_of_non_negative_terms_wrap_by_a_statement():
    src = _source(SUMS, "addr")
    assert "if l2 > 4294967295:" in src and "l2 &= 4294967295" in src, src
    assert "if l0 > 4294967295:" in _source(SUMS, "next")
    ex = _exports(SUMS)
    assert ex.addr(100, 3) == 220
    assert ex.addr(-16, 1) == 24  # 0xfffffff0 + 40 wraps to 0x18
    # (2**31 - 1) * 40 = 20 * 2**32 - 40: -40 modulo 2**32
    assert ex.addr(0, 0x7FFFFFFF) == -40
    assert ex.addr(-1, -1) == -41  # 0xffffffff + 0xffffffff * 40 = 41 * 2**32 - 41
    ex.store32(0, -2)  # 0xfffffffe + 4 wraps to 2
    assert ex.next() == 2
    ex.store32(0, 7)
    assert ex.next() == 11


DIFFS = """(module (memory 1)
  (func $low (export "low") (param $p i32) (result i32) (local $r i32)
    (local.set $r (i32.sub (i32.load8_u (local.get $p)) (i32.const 3)))
    (local.get $r))
  (func $both (export "both") (param $a i32) (param $b i32) (result i32) (local $r i32)
    (local.set $r (i32.sub (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const 8)))
                           (i32.const 16)))
    (local.get $r))
  (func $switch (export "switch") (param $p i32) (result i32)
    (block $default (block $c1 (block $c0
      (br_table $c0 $c1 $default (i32.sub (i32.load8_u (local.get $p)) (i32.const 3))))
      (return (i32.const 10)))
      (return (i32.const 11)))
    (i32.const 12))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"""


def test_differences_wrap_by_a_statement():
    assert "if l1 < 0:" in _source(DIFFS, "low")  # a byte minus 3 is above -2**32
    assert "if not 0 <= l2 <= 4294967295:" in _source(DIFFS, "both")
    assert "brt += 4294967296" in _source(DIFFS, "switch")
    ex = _exports(DIFFS)
    ex.store8(0, 1)
    ex.store8(1, 200)
    assert ex.low(0) == -2  # 1 - 3 = 0xfffffffe
    assert ex.low(1) == 197
    assert ex.both(100, 2) == 100
    assert ex.both(0, 1) == -8
    # 0xffffffff + 0x7fffffff * 8 - 16 = 2**34 + 2**32 - 25: -25 modulo 2**32
    assert ex.both(-1, 0x7FFFFFFF) == -25
    for byte, label in ((3, 10), (4, 11), (5, 12), (200, 12), (2, 12), (0, 12)):
        ex.store8(2, byte)  # byte - 3: 0 and 1 are cases, the rest (below 3: wrapped) default
        assert ex.switch(2) == label, byte


SUB64 = """(module (memory 1)
  (func $sub64 (export "sub64") (result i64) (local $r i64)
    (local.set $r (i64.sub (i64.load (i32.const 0)) (i64.load (i32.const 8))))
    (local.get $r))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1))))"""


def test_i64_difference_of_loads_wraps_by_a_statement():
    assert "if l0 < 0:" in _source(SUB64, "sub64")
    ex = _exports(SUB64)
    for a, b, want in ((7, 5, 2), (5, 7, -2), (0, -(2**63), -(2**63)), (-1, 1, -2),
                       (-(2**63), 1, 2**63 - 1)):  # fmt: skip
        ex.store64(0, a)
        ex.store64(8, b)
        assert ex.sub64() == want, (a, b)


SHR_S = """(module
  (func $shr3 (export "shr3") (param i32) (result i32) (i32.shr_s (local.get 0) (i32.const 3)))
  (func (export "shr35") (param i32) (result i32) (i32.shr_s (local.get 0) (i32.const 35)))
  (func (export "shr31") (param i32) (result i32) (i32.shr_s (local.get 0) (i32.const 31)))
  (func (export "shr_sum") (param i32 i32) (result i32)
    (i32.shr_s (i32.add (local.get 0) (local.get 1)) (i32.const 4)))
  (func (export "shr64") (param i64) (result i64) (i64.shr_s (local.get 0) (i64.const 3)))
  (func (export "shr64_63") (param i64) (result i64) (i64.shr_s (local.get 0) (i64.const 63))))"""


def test_arithmetic_shift_by_a_constant_ors_in_the_sign():
    assert "l0 >> 3 if l0 < 2147483648 else l0 >> 3 | 3758096384" in _source(SHR_S, "shr3")
    ex = _exports(SHR_S)
    # signed values shifted with the sign copied in (floor division by 2**k)
    assert ex.shr3(1000) == 125
    assert ex.shr3(-1000) == -125
    assert ex.shr3(-1) == -1
    assert ex.shr3(-(2**31)) == -(2**28)  # 0x80000000 -> 0xf0000000
    assert ex.shr3(-9) == -2  # floor(-9 / 8)
    assert ex.shr35(-(2**31)) == -(2**28)  # the count is taken modulo 32
    assert ex.shr31(2**31 - 1) == 0
    assert ex.shr31(-(2**31)) == -1
    assert ex.shr_sum(-1, -1) == -1  # 0xfffffffe >> 4 (signed): -2 // 16 = -1
    assert ex.shr_sum(2**31 - 1, 1) == -(2**27)  # the sum wraps to 0x80000000
    assert ex.shr_sum(100, 60) == 10
    assert ex.shr64(-1000) == -125
    assert ex.shr64(2**63 - 1) == 2**60 - 1
    assert ex.shr64_63(-(2**63)) == -1
    assert ex.shr64_63(2**63 - 1) == 0


SIGNED = """(module (memory 1)
  (func $s8 (export "s8") (param i32) (result i32) (local $r i32)
    (local.set $r (i32.load8_s (local.get 0))) (local.get $r))
  (func (export "s16") (param i32) (result i32) (i32.load16_s (local.get 0)))
  (func (export "s8_64") (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func (export "ext8") (param i32) (result i32) (i32.extend8_s (local.get 0)))
  (func (export "ext32") (param i32) (result i64) (i64.extend_i32_s (local.get 0)))
  (func (export "store16") (param i32 i32) (i32.store16 (local.get 0) (local.get 1))))"""


def test_sign_extensions_or_in_the_high_bits():
    assert "l1 = ma if (ma := M[l0]) < 128 else ma | 4294967040" in _source(SIGNED, "s8")
    ex = _exports(SIGNED)
    ex.store16(0, 0x807F)  # bytes 0x7f, 0x80
    assert ex.s8(0) == 0x7F
    assert ex.s8(1) == -128
    assert ex.s16(0) == 0x807F - 2**16
    ex.store16(2, 0x7FFF)
    assert ex.s16(2) == 0x7FFF
    assert ex.s8_64(1) == -128
    assert ex.s8_64(0) == 0x7F
    assert ex.ext8(0x17F) == 0x7F
    assert ex.ext8(0x180) == -128
    assert ex.ext8(-1) == -1
    assert ex.ext32(-5) == -5
    assert ex.ext32(2**31 - 1) == 2**31 - 1


NARROW = """(module (memory 1)
  (func $narrow (export "narrow") (param i32) (result i32)
    (i32.load (i32.add (i32.shl (i32.and (local.get 0) (i32.const 127)) (i32.const 2))
                       (i32.const 1024))))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"""


def test_sums_of_narrow_terms_need_no_wrap():
    # (x & 127) << 2 is below 2**9, plus 1024 below 2**12: never wraps
    assert "LU32(M, ((l0 & 127) << 2) + 1024)[0]" in _source(NARROW, "narrow")
    ex = _exports(NARROW)
    ex.store32(1024 + 4 * 5, 77)
    assert ex.narrow(5) == 77
    assert ex.narrow(-123) == 77  # 0xffffff85 & 127 = 5


# ``i32.wrap_i64`` of a value already in its stack slot (a call's result, a block's i64
# result) is that slot unmasked: the mask must still be written where the i32 reaches a label
# (a block's, if's or loop's result or parameter, a branch's value) or is spilled. x below is
# 0x1_0000_0005 (low 32 bits 5); the baseline tier's fuzzer found the first of these.
_WRAP = "(i32.wrap_i64 (call $id (local.get 1)))"
WRAPS = f"""(module (memory 1) (global $g (mut i32) (i32.const 0))
  (func $id (param i64) (result i64) (local.get 0))
  (func $c6 (result i32) (i32.const 6))
  (func (export "block") (param i32 i64) (result i32) (block (result i32) {_WRAP}))
  (func (export "nested") (param i32 i64) (result i32)
    (block (result i32) (block (result i32) {_WRAP})))
  (func (export "if") (param i32 i64) (result i32)
    (if (result i32) (local.get 0) (then {_WRAP}) (else (i32.const 0))))
  (func (export "loop") (param i32 i64) (result i32) (loop (result i32) {_WRAP}))
  (func (export "br") (param i32 i64) (result i32) (block (result i32) (br 0 {_WRAP})))
  (func (export "br_if") (param i32 i64) (result i32)
    (block (result i32) (drop (br_if 0 {_WRAP} (local.get 0))) (i32.const 9)))
  (func (export "br_table") (param i32 i64) (result i32)
    (i32.add (block (result i32) (block (result i32) (br_table 0 1 {_WRAP} (local.get 0)))
                                 (i32.const 100) (i32.add))
             (i32.const 1)))
  (func (export "select") (param i32 i64) (result i32)
    (block (result i32) (select {_WRAP} (i32.const 3) (local.get 0))))
  (func (export "i64_block") (param i32 i64) (result i32)
    (block (result i32) (i32.wrap_i64 (block (result i64) (local.get 1)))))
  (func (export "load") (param i32 i64) (result i32)
    (i64.store (i32.const 0) (local.get 1))
    (block (result i32) (i32.wrap_i64 (block (result i64) (i64.load (i32.const 0))))))
  (func (export "lt_u") (param i32 i64) (result i32)
    (i32.lt_u (block (result i32) {_WRAP}) (i32.const 6)))
  (func (export "spilled") (param i32 i64) (result i32)
    (i32.lt_u (block (result i32) {_WRAP} (call $c6) (drop)) (call $c6)))
  (func (export "global") (param i32 i64) (result i32)
    (global.set $g (block (result i32) {_WRAP}))
    (i32.lt_u (global.get $g) (i32.const 6)))
  (func (export "store") (param i32 i64) (result i32)
    (i32.store (i32.const 8) (block (result i32) {_WRAP}))
    (i32.load (i32.const 12)))
  (func (export "extend") (param i32 i64) (result i64)
    (i64.extend_i32_u (block (result i32) {_WRAP})))
  (func (export "param_block") (param i32 i64) (result i32)
    {_WRAP} (block (param i32) (result i32) (i32.const 6) (i32.lt_u)))
  (func (export "param_else") (param i32 i64) (result i32)
    {_WRAP} (if (param i32) (result i32) (i32.eqz (local.get 0))
                (then (drop) (i32.const 0)) (else (i32.const 6) (i32.lt_u))))
  (func (export "param_loop") (param i32 i64) (result i32) {_WRAP} (loop (param i32) (result i32)))
  (func (export "two") (param i32 i64) (result i32)
    (block (result i32 i32) {_WRAP} {_WRAP}) (i32.add))
  (func (export "below") (param i32 i64) (result i32)
    (block (result i32 i32) (i32.const 1) {_WRAP}) (i32.sub)))"""

#: export -> {first argument: result}, worked out by hand from x's low 32 bits 5 (and checked
#: with wasmtime): br_table with 1 takes the outer label (5 + 1 = 6), with 0 the inner one
#: (5 + 100 + 1); "store" writes 5 at 8..11 and reads the zeros at 12..15; "below" is 1 - 5;
#: "param_else" takes its else arm (5 < 6) only when the first argument is not 0
WRAP_EXPECTED = {
    "block": {0: 5, 1: 5}, "nested": {0: 5, 1: 5}, "if": {0: 0, 1: 5}, "loop": {0: 5, 1: 5},
    "br": {0: 5, 1: 5}, "br_if": {0: 9, 1: 5}, "br_table": {0: 106, 1: 6},
    "select": {0: 3, 1: 5}, "i64_block": {0: 5, 1: 5}, "load": {0: 5, 1: 5},
    "lt_u": {0: 1, 1: 1}, "spilled": {0: 1, 1: 1}, "global": {0: 1, 1: 1},
    "store": {0: 0, 1: 0}, "extend": {0: 5, 1: 5}, "param_block": {0: 1, 1: 1},
    "param_else": {0: 0, 1: 1}, "param_loop": {0: 5, 1: 5}, "two": {0: 10, 1: 10},
    "below": {0: -4, 1: -4},
}


@pytest.mark.parametrize("config", [dict(tier="python"), dict(tier="python", python_shape="flat"),
                                    dict(tier="auto", tier_up_threshold=1_000_000, baseline=False),
                                    dict(tier="llvm")],
                         ids=["python", "flat", "auto-quick", "llvm"])  # fmt: skip
def test_wrap_of_a_value_in_its_slot_is_masked_at_labels(config):
    engine = wasm2py.Engine(wasm2py.Config(cache=False, **config))
    ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(WRAPS)), {}).exports
    got = {name: {a: getattr(ex, name)(a, 0x1_0000_0005) for a in cases}
           for name, cases in WRAP_EXPECTED.items()}  # fmt: skip
    assert got == WRAP_EXPECTED
