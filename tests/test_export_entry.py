"""Each exported function's own entry (``wasm2py.runtime.entry``): its one-test fast path for
small ints, the fall-backs that must behave as the generic path, ``Func._call`` (the API
docs: i32/i64 arguments accept signed or unsigned ints, a value out of range is an
``OverflowError``, a wrong kind a ``TypeError``, a wrong count a ``SignatureError``), and small
bodies inlined into it, which must trap, meter fuel and count call depth as the function itself
would."""

from __future__ import annotations

import copy
import importlib.util
import pickle
import sys

import pytest

import wasm2py
import wasm2py.translate.module
from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode
from wasm2py.errors import ArgumentError, SignatureError, ValueRangeError
from wasm2py.runtime.func import _retarget
from wasm2py.types import FuncType

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


def test_f64_arguments_as_the_generic_converter_takes_them(ex):
    # a float passes as it is (inline); anything else goes through the converter
    import math

    class F(float):
        pass

    for _ in range(2):  # (the first call translates, the next ones run the entry)
        assert ex.neg(2.5) == -2.5
        assert math.copysign(1.0, ex.neg(0.0)) == -1.0 and ex.neg(-0.0) == 0.0
        assert math.isnan(ex.neg(math.nan)) and ex.neg(-math.inf) == math.inf
        for arg, want in ((2, -2.0), (True, -1.0), (F(1.5), -1.5)):
            got = ex.neg(arg)
            assert got == want and type(got) is float, arg
        assert ex.scale(3, F(0.5)) == 1.5
        for bad in ("1.0", None, [1.0]):
            with pytest.raises(ArgumentError):
                ex.neg(bad)
        with pytest.raises(ArgumentError):
            ex.scale(1, "2")


# -- each export's own entry: small Python-tier bodies inlined, the rest called ---------------

BODIES = wat("""
(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (memory 1)
  (func $leaf (export "leaf") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "calls") (param i32) (result i32) local.get 0 call $h i32.const 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "boom") unreachable)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "cmp") (param i32) (result i32) local.get 0 i32.const 5 i32.lt_u)
  (func (export "big") (param i64) (result i64)
    (local $i i32)
    (loop $l
      local.get 0 i64.const 3 i64.mul i64.const 1 i64.add local.set 0
      local.get $i i32.const 1 i32.add local.tee $i i32.const 10 i32.lt_u br_if $l)
    local.get 0)
)""")


def _bodies(config=None, h=lambda x: x * 2):
    engine = Engine(config or Config())
    store = Store(engine)
    return store, Instance(store, Module(engine, BODIES), {"env": {"h": h}}).exports


def _inlined(f) -> bool:
    # white box: an inlined entry runs as generated code (its file is the module's wasm://...)
    return f.func.__code__.co_filename.startswith("wasm://")


def test_entries_inline_small_bodies_and_call_large_ones(monkeypatch):
    # (the loop of "big" takes more bytes than this, the others fewer)
    monkeypatch.setattr(wasm2py.translate.module, "INLINE_ENTRY_BYTES", 24)
    _, ex = _bodies()
    for _ in range(2):  # the first call translates, the next ones run the function's own entry
        assert ex.leaf(2, 3) == 5
        assert ex.leaf(0x7FFFFFFF, 1) == -0x80000000  # i32.add wraps; the result reads signed
        assert ex.leaf(0x40000000, 0x40000000) == -0x80000000  # beyond the inline test's range
        assert ex.calls(20) == 41
        assert ex.cmp(4) == 1 and ex.cmp(5) == 0
        assert type(ex.cmp(4)) is int  # not the bool of the comparison
        # x -> 3x + 1 ten times from 0: (3**10 - 1) / 2
        assert ex.big(0) == 29524
    assert _inlined(ex.leaf) and _inlined(ex.calls) and _inlined(ex.cmp)
    assert not _inlined(ex.big)
    for f in (ex.leaf, ex.big):
        assert isinstance(f, wasm2py.Func)
        assert str(f.type) == str(FuncType(f.type.params, f.type.results))


def test_inlined_entries_trap_as_the_function_would():
    _, ex = _bodies()
    for _ in range(2):
        with pytest.raises(Trap) as e:
            ex.div(1, 0)
        assert e.value.code == TrapCode.INTEGER_DIVIDE_BY_ZERO
        with pytest.raises(Trap) as e:
            ex.div(-0x80000000, -1)
        assert e.value.code == TrapCode.INTEGER_OVERFLOW
        with pytest.raises(Trap) as e:
            ex.boom()
        assert e.value.code == TrapCode.UNREACHABLE
        # one wasm frame: function 4 (after the import), at the offset of its unreachable (the
        # byte before its end)
        [(index, name, offset)] = e.value.frames
        assert (
            (index, name) == (4, "boom") and BODIES[offset] == 0x00 and BODIES[offset + 1] == 0x0B
        )
        assert ex.load(65535) == 0
        with pytest.raises(Trap) as e:
            ex.load(65536)  # one past the single page
        assert e.value.code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert _inlined(ex.div) and _inlined(ex.boom) and _inlined(ex.load)


def test_host_errors_pass_through_inlined_entries_unchanged():
    class Oops(Exception):
        pass

    def h(x):
        raise Oops(x)

    _, ex = _bodies(h=h)
    for _ in range(2):
        with pytest.raises(Oops):
            ex.calls(1)


def test_inlined_entries_charge_fuel_exactly():
    store, ex = _bodies(Config(consume_fuel=True))
    for _ in range(2):
        store.set_fuel(100)
        assert ex.leaf(2, 3) == 5
        assert store.get_fuel() == 97  # local.get, local.get, i32.add: 1 each (end is free)
        store.set_fuel(2)
        with pytest.raises(Trap) as e:
            ex.leaf(2, 3)
        assert e.value.code == TrapCode.OUT_OF_FUEL
        assert store.get_fuel() == 2  # the segment is not started
    assert _inlined(ex.leaf)


def test_entries_from_host_functions_keep_the_call_depth():
    # a leaf export called from a host function runs at the caller's depth: the generic path
    engine = Engine(Config(max_call_depth=100))
    store = Store(engine)
    seen = []

    def h(x):
        seen.append(x)
        return inst.exports.leaf(x, 1) if x < 3 else x

    inst = Instance(store, Module(engine, BODIES), {"env": {"h": h}})
    for _ in range(2):
        assert inst.exports.leaf(1, 1) == 2
        assert inst.exports.calls(1) == 3  # h(1) -> leaf(1, 1) = 2, + 1
    assert seen == [1, 1]


def test_a_function_moved_to_another_raw_gets_a_new_entry():
    _, ex = _bodies()
    f = ex.leaf
    assert f(1, 2) == 3 and f(1, 2) == 3
    assert _inlined(f)
    calls = []

    def other(a, b, d):
        calls.append((a, b))
        return 40

    f.set_raw(other)
    assert f(1, 2) == 40
    assert f(-1, 2) == 40 and calls[-1] == (0xFFFFFFFF, 2)  # converted as for any raw
    assert not _inlined(f)


def test_ahead_of_time_files_carry_the_inlined_entries(tmp_path):
    out = tmp_path / "bodies.py"
    wasm2py.compile(BODIES, out, name="bodies.wasm")
    spec = importlib.util.spec_from_file_location("bodies_aot", out)
    aot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aot)
    ex = aot.instantiate({"env": {"h": lambda x: x * 2}}).exports
    for _ in range(2):
        assert ex.leaf(0x7FFFFFFF, 1) == -0x80000000
        assert ex.calls(20) == 41
        with pytest.raises(Trap) as e:
            ex.boom()
        # named by its export, as in-memory code names it (the module has no name section)
        [(index, name, offset)] = e.value.frames
        assert (index, name) == (4, "boom") and BODIES[offset] == 0x00  # the unreachable
        with pytest.raises(SignatureError):
            ex.leaf(1)
    assert ex.leaf.func.__code__.co_filename == str(out)
    assert ex.boom.func.__code__.co_name == "f4__entry"


# -- the call path: Func is a functools.partial whose target is the entry -------------------

ADDS = wat("""
(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
)""")


def _adds(config=None):
    engine = Engine(config or Config())
    store = Store(engine)
    return store, Instance(store, Module(engine, ADDS), {}).exports


def _signed_sum(a: int, b: int, bits: int) -> int:
    """i32.add / i64.add of the two's-complement values of ``a`` and ``b``, read signed (the
    spec: the sum modulo 2**bits)."""
    s = (a + b) % (1 << bits)
    return s - (1 << bits) if s >= 1 << (bits - 1) else s


# each branch of the returned sum's conversion (below 2**30, up to 2**32, up to 3 * 2**31,
# beyond), both signs of arguments, both ends of both ranges
EDGES32 = [0, 1, 2, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x80000000, 0xA0000000, 0xC0000000,
           0xFFFFFFFE, 0xFFFFFFFF, -1, -2, -0x40000000, -0x7FFFFFFF, -0x80000000]


def test_a_returned_sum_reads_signed_at_every_edge():
    _, ex = _adds()
    ex.add(0, 0)  # (translates)
    ex.add(0, 0)  # (makes the entry)
    assert _inlined(ex.add)
    # white box: the sum is returned unwrapped, its conversion wraps (3 * 2**31 is its bound)
    assert 0x180000000 in ex.add.func.__code__.co_consts
    for a in EDGES32:
        for b in EDGES32:
            got = ex.add(a, b)
            assert got == _signed_sum(a, b, 32) and type(got) is int, (a, b)
    # by hand: 2**31 - 1 + 1 wraps to -2**31; 0xA0000000 * 2 = 0x140000000 -> 0x40000000
    assert ex.add(0x7FFFFFFF, 1) == -0x80000000
    assert ex.add(0xA0000000, 0xA0000000) == 0x40000000
    assert ex.add(0xC0000000, 0xC0000000) == -0x80000000  # 0x180000000 -> 0x80000000
    assert ex.add(0xFFFFFFFF, 0xFFFFFFFF) == -2
    assert ex.add(0x3FFFFFFF, 1) == 0x40000000
    edges64 = [0, 1, 0x3FFFFFFF, 0x40000000, (1 << 63) - 1, 1 << 63, 0xA000000000000000,
               0xC000000000000000, (1 << 64) - 1, -1, -(1 << 63)]
    for a in edges64:
        for b in edges64:
            assert ex.add64(a, b) == _signed_sum(a, b, 64), (a, b)
    assert ex.add64((1 << 63) - 1, 1) == -(1 << 63)
    assert ex.add64(0xA000000000000000, 0xA000000000000000) == 1 << 62


IDS = wat("""
(module
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "xor32") (param i32 i32) (result i32) local.get 0 local.get 1 i32.xor)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "xor64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.xor)
)""")


@pytest.mark.parametrize("inline", [True, False])
def test_results_and_arguments_convert_at_every_edge(monkeypatch, inline):
    # a returned parameter (a plain local) and a returned expression, in inlined entries and
    # in entries that call the function; an argument's canonical value is itself when
    # unsigned, plus 2**N when negative; a result reads signed: minus 2**N from 2**(N-1) on
    if not inline:
        monkeypatch.setattr(wasm2py.translate.module, "INLINE_ENTRY_BYTES", 0)
    engine = Engine()
    ex = Instance(Store(engine), Module(engine, IDS), {}).exports
    for f in ex.values():  # the first call translates, the second makes the entry
        f(*[0] * len(f.type.params))
        f(*[0] * len(f.type.params))
        assert _inlined(f) is inline
    for bits, ident, xor in ((32, ex.id32, ex.xor32), (64, ex.id64, ex.xor64)):
        half, full = 1 << (bits - 1), 1 << bits
        for v in (0, 1, 0x3FFFFFFF, 0x40000000, half - 1, half, half + 1, full - 1,
                  -1, -0x40000000, -0x40000001, -half):  # fmt: skip
            signed = v - full if v >= half else v
            assert ident(v) == signed and type(ident(v)) is int, (bits, v)
            assert xor(v, 0) == signed and xor(0, v) == signed, (bits, v)
            assert xor(v, -1) == -1 - signed, (bits, v)  # all bits flipped: ~signed
        for bad in (full, -half - 1):
            with pytest.raises(ValueRangeError):
                ident(bad)
            with pytest.raises(ValueRangeError):
                xor(0, bad)


def test_the_entry_rejects_what_the_generic_path_rejects():
    _, ex = _adds()
    ex.add(0, 0)
    ex.add(0, 0)
    assert _inlined(ex.add)
    for bad in ((0x100000000, 0), (0, 0x100000000), (-0x80000001, 0), (0, -0x80000001)):
        with pytest.raises(ValueRangeError):
            ex.add(*bad)
    for bad in ((1.0, 2), (1, 2.0), ("1", 2), (None, 1), (1, None)):
        with pytest.raises(ArgumentError):
            ex.add(*bad)
    assert ex.add(True, True) == 2 and type(ex.add(True, False)) is int
    for args in ((), (1,), (1, 2, 3)):
        with pytest.raises(SignatureError) as e:
            ex.add(*args)
        assert "'add'" in str(e.value)  # named as the generic path names it
    with pytest.raises(TypeError):
        ex.add(1, l1=2)  # keywords are not part of the API: refused, as by Func(...)
    with pytest.raises(Trap) as t:
        ex.div(1, 0)
    assert t.value.code == TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert ex.div(0xFFFFFFFF, 2) == 0x7FFFFFFF  # unsigned division, read signed


def test_func_keeps_its_api_on_the_partial_call_path():
    store, ex = _adds(Config(consume_fuel=True))
    store.set_fuel(1000)
    f = ex.add
    assert f(2, 3) == 5 and f(2, 3) == 5
    assert _inlined(f)
    assert type(f) is wasm2py.Func and isinstance(f, wasm2py.Func)
    assert repr(f) == "<wasm2py.Func function 'add' [i32 i32] -> [i32]>"
    assert f.type == FuncType([wasm2py.ValType.I32] * 2, [wasm2py.ValType.I32])
    done = f.call_resumable(0x7FFFFFFF, 1)
    assert isinstance(done, wasm2py.Finished) and done.results == -0x80000000
    before = store.get_fuel()
    assert f(1, 1) == 2
    assert before - store.get_fuel() == 3  # local.get, local.get, i32.add
    # a Func is a function reference with an identity: copies are the same Func (as for
    # Python functions), pickling refuses clearly, a class attribute is not bound
    assert copy.copy(f) is f and copy.deepcopy(f) is f
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(f)

    class Holder:
        g = f

    assert Holder().g is f and Holder.g(4, 5) == 9


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="a CPython type flag")
def test_calls_take_the_partials_vectorcall():
    # CPython 3.12 and later inherit the flag; on 3.11 wasm2py sets it (runtime.func)
    assert wasm2py.Func.__flags__ & (1 << 11)  # Py_TPFLAGS_HAVE_VECTORCALL
    _, ex = _adds()
    f = ex.add
    assert f(1, 2) == 3 and f(1, 2) == 3 and _inlined(f)
    with pytest.raises(TypeError):
        f(1, b=2)  # keywords reach the entry, which refuses them
    with pytest.raises(SignatureError):
        f(1, 2, 3)

    class Target:  # a callable without a vectorcall of its own: the partial's still calls it
        def __call__(self, *args, **kwargs):
            return args, kwargs

    _retarget(f, Target())
    assert f(1, 2) == ((1, 2), {}) and f(x=1) == ((), {"x": 1})
    f.set_raw(f.raw)  # back to the first call, which makes the entry anew
    assert f(2, 3) == 5 and f(2, 3) == 5 and _inlined(f)


def test_export_names_are_interned(ex):
    # as the names in code are: CPython 3.11 finds ``exports.sub`` in about half the time
    assert list(ex) == ["sub", "sub64", "second", "scale", "neg", "seven", "pick"]
    assert all(name is sys.intern(name) for name in ex)
    assert ex.sub is ex["sub"] and ex.sub(5, 3) == 2


def test_a_func_made_without_init_refuses_calls():
    with pytest.raises(TypeError, match="not set up"):
        wasm2py.Func.__new__(wasm2py.Func)(1)


def test_host_functions_take_the_generic_path():
    store = Store(Engine())
    seen = []

    def h(a, b):
        seen.append((a, b))
        return a - b

    i32 = wasm2py.ValType.I32
    f = wasm2py.Func(store, FuncType([i32, i32], [i32]), h)
    assert f(5, 7) == -2 and seen == [(5, 7)]
    assert f(0xFFFFFFFF, 1) == -2 and seen[-1] == (-1, 1)  # the host sees signed values
    with pytest.raises(SignatureError):
        f(1)
    with pytest.raises(ZeroDivisionError):
        wasm2py.Func(store, FuncType([], []), lambda: 1 // 0)()


def test_a_tier_move_brings_back_the_first_call():
    _, ex = _adds()
    f = ex.add
    assert f(1, 2) == 3 and f(1, 2) == 3
    entry = f.func
    assert _inlined(f)
    f.set_raw(lambda a, b, d: (a * b) & 0xFFFFFFFF)  # another back end's raw (internal form)
    assert f.func is not entry and not _inlined(f)
    assert f(6, 7) == 42 and f(6, 7) == 42  # the new entry calls the new raw
    assert f(-1, 1) == -1  # arguments converted for it as for any raw
    assert type(f) is wasm2py.Func and not _inlined(f)


def test_a_sum_after_a_call_and_many_parameters():
    text = wat("""
    (module
      (import "env" "h" (func $h (param i32) (result i32)))
      (func (export "triple") (param i32) (result i32)
        local.get 0 call $h local.get 0 i32.add)
      (func (export "nine") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
        local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add
        local.get 4 i32.add local.get 5 i32.add local.get 6 i32.add local.get 7 i32.add
        local.get 8 i32.add))""")
    engine = Engine()
    ex = Instance(Store(engine), Module(engine, text), {"env": {"h": lambda x: 2 * x}}).exports
    for _ in range(3):
        # h doubles (the host sees the signed value); 3 * 0x7FFFFFFF = 0x17FFFFFFD wraps to
        # 0x7FFFFFFD; 3 * -0x40000000 = -0xC0000000 wraps to 0x40000000
        assert ex.triple(5) == 15
        assert ex.triple(0x7FFFFFFF) == 0x7FFFFFFD
        assert ex.triple(-0x40000000) == 0x40000000
        # more parameters than an entry takes: the generic path, bound as the target
        assert ex.nine(*range(1, 10)) == 45
        assert ex.nine(0xFFFFFFFF, *[0] * 7, 2) == 1
        with pytest.raises(SignatureError):
            ex.nine(1)
    assert _inlined(ex.triple) and not _inlined(ex.nine)
    assert 0x180000000 in ex.triple.func.__code__.co_consts  # (returned unwrapped, as above)


def test_inspect_signature_shows_the_wasm_type():
    # inspect.signature (help, IDEs) found no signature on the partial-based Func: the wasm
    # type gives one, positional-only as calls are
    import inspect

    store = wasm2py.Store(wasm2py.Engine())
    inst = wasm2py.Instance(store, wasm2py.Module(store.engine, wat(
        """(module (func (export "add") (param i32 i64) (result i32) local.get 0)
                   (func (export "none"))
                   (func (export "two") (param f64) (result i32 f32)
                     i32.const 0 f32.const 0))""")))  # fmt: skip
    assert str(inspect.signature(inst.exports.add)) == "(p0: 'i32', p1: 'i64', /) -> 'i32'"
    assert str(inspect.signature(inst.exports.none)) == "() -> None"
    assert str(inspect.signature(inst.exports.two)) == "(p0: 'f64', /) -> 'tuple[i32, f32]'"
    assert inst.exports.add(5, 6) == 5  # (the same after the entry is made)
    assert str(inspect.signature(inst.exports.add)) == "(p0: 'i32', p1: 'i64', /) -> 'i32'"
