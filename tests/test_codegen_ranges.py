"""Sums and differences the Python tier leaves unwrapped because the guards before them bound
their operands (:mod:`wasm2py.translate.ranges`), and signed comparisons of operands known to be
non-negative made unsigned. The values are those of the wasm definition, worked out by hand at
the edges of the ranges (0, 1, 2**31 - 1, 2**31, 2**32 - 1), and where a guard does not bound
an operand the wrap must stay."""

from __future__ import annotations

import pytest

from .test_codegen_masks import _exports, _source

GUARDED = """(module
  (func $dec (export "dec") (param $n i32) (result i32)
    (if (result i32) (i32.ge_s (local.get $n) (i32.const 2))
      (then (i32.sub (local.get $n) (i32.const 1)))
      (else (i32.sub (local.get $n) (i32.const 1)))))
  (func $inc (export "inc") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const -1))
      (then (i32.add (local.get $n) (i32.const 1)))
      (else (i32.add (local.get $n) (i32.const 1)))))
  (func $add_m1 (export "add_m1") (param $n i32) (result i32)
    (block (br_if 0 (i32.eqz (local.get $n)))
      (return (i32.add (local.get $n) (i32.const -1))))
    (i32.const 77))
  (func $lt50 (export "lt50") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 100))
      (then (i32.lt_s (local.get $n) (i32.const 50)))
      (else (i32.const 7))))
  (func $dec64 (export "dec64") (param $n i64) (result i64)
    (if (result i64) (i64.gt_u (local.get $n) (i64.const 10))
      (then (i64.sub (local.get $n) (i64.const 1)))
      (else (i64.sub (local.get $n) (i64.const 1))))))"""


def test_a_guarded_decrement_is_plain_and_the_unguarded_one_wraps():
    src = _source(GUARDED, "dec")
    then, other = src.split("else", 1)
    assert "l0 - 1" in then and "if l0 >= 1" not in then, src
    assert "l0 + 4294967295" in other, src
    ex = _exports(GUARDED)
    assert ex.dec(2) == 1
    assert ex.dec(2**31 - 1) == 2**31 - 2
    assert ex.dec(1) == 0
    assert ex.dec(0) == -1  # 0 - 1 wraps to 0xffffffff
    assert ex.dec(-(2**31)) == 2**31 - 1  # 0x80000000 - 1 (signed: below 2, the else arm)
    assert ex.dec(-1) == -2  # 0xffffffff - 1


def test_an_increment_below_the_top_is_plain():
    src = _source(GUARDED, "inc")
    assert "4294967295 else" in src.split("else", 1)[1], src  # (the else arm wraps)
    ex = _exports(GUARDED)
    assert ex.inc(0) == 1
    assert ex.inc(2**31 - 1) == -(2**31)  # 0x80000000
    assert ex.inc(2**32 - 2) == -1  # 0xffffffff: the largest the guard lets through
    assert ex.inc(-1) == 0  # 0xffffffff + 1 wraps (the else arm)


def test_a_nonzero_local_steps_down_by_a_negative_constant_without_wrap():
    src = _source(GUARDED, "add_m1")
    assert "l0 - 1" in src and "l0 >= 1" not in src, src
    ex = _exports(GUARDED)
    assert ex.add_m1(0) == 77
    assert ex.add_m1(1) == 0
    assert ex.add_m1(2**31) == 2**31 - 1  # 0x80000000 - 1
    assert ex.add_m1(-1) == -2  # 0xffffffff - 1


def test_a_signed_comparison_of_a_bounded_value_is_unsigned():
    src = _source(GUARDED, "lt50")
    assert "2147483648" not in src, src
    ex = _exports(GUARDED)
    assert [ex.lt50(n) for n in (0, 49, 50, 99, 100, 2**31 - 1, -(2**31), -1)] == \
        [1, 1, 0, 0, 7, 7, 7, 7]  # fmt: skip


def test_i64_guarded_decrement():
    src = _source(GUARDED, "dec64")
    then = src.split("else", 1)[0]
    assert "l0 - 1" in then and "l0 >= 1" not in then, src
    ex = _exports(GUARDED)
    assert ex.dec64(11) == 10
    assert ex.dec64(2**63) == 2**63 - 1  # 0x8000000000000000 - 1
    assert ex.dec64(-1) == -2
    assert ex.dec64(0) == -1  # the else arm: 0 - 1 wraps


# clang's fib: the condition ``n >u 3`` is computed into a local before ``n -= 2``, and the
# loop's back edge is taken on it
FIB = """(module
  (func $fib (export "fib") (param i32) (result i32) (local i32 i32 i32)
    (block
      (br_if 0 (i32.ge_s (local.get 0) (i32.const 2)))
      (return (i32.add (local.get 0) (i32.const 0))))
    (local.set 1 (i32.const 0))
    (loop
      (local.set 1 (i32.add (call $fib (i32.add (local.get 0) (i32.const -1))) (local.get 1)))
      (local.set 2 (i32.gt_u (local.get 0) (i32.const 3)))
      (local.set 0 (local.tee 3 (i32.add (local.get 0) (i32.const -2))))
      (br_if 0 (local.get 2)))
    (i32.add (local.get 3) (local.get 1))))"""


def test_fib_loop_keeps_its_guard_across_the_back_edge():
    src = _source(FIB, "fib")
    assert "fib(l0 - 1," in src and "l3 = l0 - 2\n" in src + "\n", src
    assert "4294967295 else" not in src and "4294967294" not in src, src
    ex = _exports(FIB)
    assert [ex.fib(n) for n in range(11)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]
    assert ex.fib(25) == 75025
    assert ex.fib(-1) == -1  # negative: below 2, returned as it is
    assert ex.fib(-(2**31)) == -(2**31)


# a counter that starts at 3 and steps down past 0: the entry's fact (i = 3) does not hold at
# the loop's head, and i - 1 must wrap to 0xffffffff (a counter k stops a wrong translation)
DOWN = """(module
  (func $down (export "down") (param $n i32) (result i32) (local $i i32) (local $k i32)
    (local.set $i (i32.const 3))
    (block
      (loop
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br_if 1 (i32.eq (local.get $i) (local.get $n)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if 0 (i32.lt_u (local.get $k) (i32.const 10)))
        (return (i32.const 12345))))
    (local.get $i))
  (func $merge (export "merge") (param $c i32) (param $n i32) (result i32) (local $x i32)
    (if (local.get $c) (then (local.set $x (i32.const 5))) (else (local.set $x (local.get $n))))
    (i32.sub (local.get $x) (i32.const 1))))"""


def test_a_counter_stepping_past_zero_still_wraps():
    src = _source(DOWN, "down")
    assert "l1 - 1 if l1 >= 1 else l1 + 4294967295" in src, src
    ex = _exports(DOWN)
    assert ex.down(1) == 1
    assert ex.down(0) == 0
    assert ex.down(-1) == -1  # 0 - 1 wraps to 0xffffffff
    assert ex.down(-2) == -2  # 0xfffffffe
    assert ex.down(100) == 12345  # never reached in 10 steps


@pytest.mark.parametrize(("c", "n", "expected"), [
    (1, 0, 4),  # x = 5
    (0, 1, 0),
    (0, 0, -1),  # x = 0: 0 - 1 wraps
    (0, 2**31, 2**31 - 1),
    (0, -1, -2),
])  # fmt: skip
def test_paths_meeting_keep_only_what_both_know(c, n, expected):
    assert "l2 >= 1" in _source(DOWN, "merge")
    assert _exports(DOWN).merge(c, n) == expected
