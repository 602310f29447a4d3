"""The per-signature entry of exported functions (``wasm2py.runtime.entry``): its one-test fast
path for ints already in the unsigned range, and the fall-backs that must behave as the generic
``Func.__call__`` (the API docs: i32/i64 arguments accept signed or unsigned ints, a value out of
range is an ``OverflowError``, a wrong kind a ``TypeError``, a wrong count a ``SignatureError``)."""

from __future__ import annotations

import pytest

from wasm2py import Engine, Instance, Module, Store
from wasm2py.errors import ArgumentError, SignatureError, ValueRangeError

from .wat import wat

MOD = wat("""
(module
  (func (export "sub") (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
  (func (export "sub64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.sub)
  (func (export "second") (param i32 i64) (result i64) local.get 1)
  (func (export "scale") (param i32 f64) (result f64) local.get 0 f64.convert_i32_s local.get 1 f64.mul)
  (func (export "neg") (param f64) (result f64) local.get 0 f64.neg)
  (func (export "seven") (result i32) i32.const 7)
  (func (export "pick") (param i64 externref i32) (result externref) local.get 1)
)""")


@pytest.fixture(scope="module")
def ex():
    engine = Engine()
    return Instance(Store(engine), Module(engine, MOD), {}).exports


def test_i32_arguments_at_the_edges_of_both_ranges(ex):
    # sub(a, b) = a - b mod 2**32, read back signed (i32.sub in the spec)
    assert ex.sub(0, 0) == 0
    assert ex.sub(0xFFFFFFFF, 0) == -1  # the unsigned maximum: the fast path
    assert ex.sub(0, 0xFFFFFFFF) == 1
    assert ex.sub(-1, 0) == -1  # signed: the fall-back converter
    assert ex.sub(-0x80000000, 1) == 0x7FFFFFFF
    assert ex.sub(5, -3) == 8  # only the second argument negative
    assert ex.sub(0x7FFFFFFF, -1) == -0x80000000
    for bad in ((0x100000000, 0), (0, 0x100000000), (-0x80000001, 0), (0, -0x80000001)):
        with pytest.raises(ValueRangeError):
            ex.sub(*bad)


def test_i64_arguments_at_the_edges_of_both_ranges(ex):
    assert ex.sub64(0xFFFFFFFFFFFFFFFF, 0) == -1
    assert ex.sub64(0, 0xFFFFFFFFFFFFFFFF) == 1
    assert ex.sub64(-0x8000000000000000, 1) == 0x7FFFFFFFFFFFFFFF
    assert ex.sub64(0x100000000, 1) == 0xFFFFFFFF  # beyond i32, within i64
    with pytest.raises(ValueRangeError):
        ex.sub64(0x10000000000000000, 0)
    with pytest.raises(ValueRangeError):
        ex.sub64(0, -0x8000000000000001)
    # each parameter is checked against its own type's range
    assert ex.second(0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF) == -1
    with pytest.raises(ValueRangeError):
        ex.second(0x100000000, 0)


def test_other_kinds_of_int_arguments(ex):
    assert ex.sub(True, False) == 1  # bool is an int (operator.index)
    assert ex.sub(3, True) == 2

    class Index:
        def __index__(self):
            return 9

    assert ex.sub(Index(), 4) == 5
    assert ex.sub(4, Index()) == -5
    for bad in (("1", 2), (1, "2"), (1.0, 2), (1, None)):
        with pytest.raises(ArgumentError):
            ex.sub(*bad)


def test_argument_count(ex):
    for args in ((), (1,), (1, 2, 3)):
        with pytest.raises(SignatureError):
            ex.sub(*args)
    with pytest.raises(SignatureError):
        ex.scale(2)  # the missing last argument is an f64
    with pytest.raises(SignatureError):
        ex.neg()
    with pytest.raises(SignatureError):
        ex.seven(1)
    with pytest.raises(SignatureError):
        ex.pick(1, None)


def test_mixed_signatures(ex):
    assert ex.scale(-3, 0.5) == -1.5
    assert ex.scale(0xFFFFFFFF, 2) == -2.0  # the i32 is signed in f64.convert_i32_s
    assert ex.neg(2.5) == -2.5
    assert ex.seven() == 7
    marker = object()
    assert ex.pick(0xFFFFFFFFFFFFFFFF, marker, 1) is marker  # externref passes unchanged
    assert ex.pick(-1, None, -1) is None
    with pytest.raises(ValueRangeError):
        ex.pick(0, marker, 0x100000000)
