"""Fuel stays exact where the Python tier defers its subtractions (a segment's charge carried
into the fallthrough of a ``br_if``, taken at a call's or a return's write to the store, or
before an instruction that may trap).

The expected figures do not come from wasm2py: each function below is written out in the
``.wat`` text, its straight-line segments are read off that text by the rule of
:mod:`wasm2py.fuel` (1 fuel per instruction, ``end`` free), and a small Python model of each
function yields the costs of the segments a call executes, in order. For every starting fuel
from 0 to past the total, a plain call must then stop with ``OUT_OF_FUEL`` at the first segment
the fuel does not cover, leaving exactly what the segments before it left; a resumable call must
pause there asking for that segment's cost, and finish with the right result and fuel once it
gets more. A trap must leave the fuel of the segments charged up to and including its own.
"""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Finished, Instance, Module, OutOfFuel, Store, Trap, TrapCode

WAT = """
(module
  (func $fib (export "fib") (param i32) (result i32)
    (local i32 i32 i32)
    block                 ;; segment A (5): block .. br_if
      local.get 0
      i32.const 2
      i32.ge_s
      br_if 0
      local.get 0         ;; segment B (4), after the br_if: local.get .. return
      i32.const 0
      i32.add
      return
    end
    i32.const 0           ;; segment C (3): i32.const, local.set, loop
    local.set 1
    loop                  ;; segment D (18): the loop body, the call in it
      local.get 0
      i32.const -1
      i32.add
      call $fib
      local.get 1
      i32.add
      local.set 1
      local.get 0
      i32.const 3
      i32.gt_u
      local.set 2
      local.get 0
      i32.const -2
      i32.add
      local.tee 3
      local.set 0
      local.get 2
      br_if 0
    end
    local.get 3           ;; segment E (3)
    local.get 1
    i32.add)
  (func (export "divide") (param i32 i32) (result i32)
    block                 ;; segment A (4): block, local.get, i32.eqz, br_if
      local.get 1
      i32.eqz
      br_if 0
      local.get 0         ;; segment B (4): local.get, local.get, i32.div_u, return
      local.get 1
      i32.div_u
      return
    end
    local.get 0           ;; segment C (5): local.get .. local.get (i32.div_u traps: by 0)
    local.get 1
    i32.div_u
    local.set 0
    local.get 0))
"""


def fib_segments(n: int):
    """The costs of the segments ``fib(n)`` executes, in order (read off the text above); the
    generator's value is fib(n)."""
    yield 5
    if n < 2:
        yield 4
        return n
    yield 3
    acc = 0
    while True:
        yield 18
        acc += yield from fib_segments(n - 1)
        more = n > 3
        n -= 2
        if not more:
            break
    yield 3
    return n + acc


def divide_segments(a: int, b: int):
    """``divide(a, b)``: its segments, then what it gives (a quotient, or None for the trap)."""
    yield 4
    if b != 0:
        yield 4
        return a // b
    yield 5
    return None


def run_model(segments, fuel: int):
    """Walk ``segments`` with ``fuel``: (result, fuel left, None) when it covers them all, or
    (None, fuel left at the first segment it does not cover, that segment's cost)."""
    gen = segments
    try:
        cost = next(gen)
        while True:
            if fuel < cost:
                return None, fuel, cost
            fuel -= cost
            cost = gen.send(None)
    except StopIteration as stop:
        return stop.value, fuel, None


def total(segments) -> int:
    gen, spent = segments, 0
    try:
        spent += next(gen)
        while True:
            spent += gen.send(None)
    except StopIteration:
        return spent


def check_stops(store, func, args, segments, fuels, trap: TrapCode) -> None:
    """For each starting fuel in ``fuels``, a call ``func(*args)`` stops with ``OUT_OF_FUEL``
    at the first of ``segments(*args)`` the fuel does not cover, traps with ``trap`` where the
    model does (its result None), or returns the model's result; and leaves the model's fuel."""
    for fuel in fuels:
        result, left, required = run_model(segments(*args), fuel)
        store.set_fuel(fuel)
        if required is not None:
            with pytest.raises(Trap) as info:
                func(*args)
            assert info.value.code is TrapCode.OUT_OF_FUEL
        elif result is None:
            with pytest.raises(Trap) as info:
                func(*args)
            assert info.value.code is trap
        else:
            assert func(*args) == result
        assert store.get_fuel() == left, (fuel, required)


def check_resumes(store, func, args, segments, fuels) -> None:
    """For each starting fuel in ``fuels``, a resumable call ``func.call_resumable(*args)``
    pauses at the first of ``segments(*args)`` the fuel does not cover (asking for that
    segment's cost, leaving the model's fuel) or finishes; resumed with just what each pause
    asks for, it finishes with the results of a call in one piece, having used what that
    needs."""
    need = total(segments(*args))
    expected = run_model(segments(*args), 10**9)[0]
    for fuel in fuels:
        _, left, required = run_model(segments(*args), fuel)
        store.set_fuel(fuel)
        r, given = func.call_resumable(*args), 0
        assert store.get_fuel() == left
        assert (r.required_fuel if isinstance(r, OutOfFuel) else None) == required
        while isinstance(r, OutOfFuel):
            given += r.required_fuel
            store.set_fuel(store.get_fuel() + r.required_fuel)
            r = r.resume()
        assert isinstance(r, Finished) and r.results == expected
        assert fuel + given - store.get_fuel() == need


SHAPES = ["auto", "flat"]


def make(shape: str):
    store = Store(Engine(Config(consume_fuel=True, python_shape=shape, cache=False)))
    return store, Instance(store, Module(store.engine, WAT), {})


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_fib_stops_where_the_segments_say(shape, n):
    store, inst = make(shape)
    fib = inst.exports.fib
    need = total(fib_segments(n))
    for fuel in range(need + 2):
        result, left, required = run_model(fib_segments(n), fuel)
        store.set_fuel(fuel)
        if required is None:
            assert fib(n) == result
            assert store.get_fuel() == left == fuel - need
            continue
        with pytest.raises(Trap) as info:
            fib(n)
        assert info.value.code is TrapCode.OUT_OF_FUEL
        assert store.get_fuel() == left, (fuel, required)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n", [1, 4])
def test_fib_pauses_where_the_segments_say_and_resumes_exactly(shape, n):
    store, inst = make(shape)
    fib = inst.exports.fib
    need = total(fib_segments(n))
    for fuel in range(need + 1):
        result, left, required = run_model(fib_segments(n), fuel)
        store.set_fuel(fuel)
        r = fib.call_resumable(n)
        if required is None:
            assert isinstance(r, Finished) and r.results == result
            continue
        assert isinstance(r, OutOfFuel)
        assert r.required_fuel == required
        assert store.get_fuel() == left
        # the rest, given just what each pause asks for: in all, the model's total is spent
        given = 0
        while isinstance(r, OutOfFuel):
            assert store.get_fuel() < r.required_fuel
            given += r.required_fuel
            store.set_fuel(store.get_fuel() + r.required_fuel)
            r = r.resume()
        assert isinstance(r, Finished) and r.results == fib_model_value(n)
        assert fuel + given - store.get_fuel() == need


def fib_model_value(n: int) -> int:
    value, _, required = run_model(fib_segments(n), 10**9)
    assert required is None
    return value


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("args", [(7, 2), (7, 0)])
def test_a_trap_after_a_carried_charge_leaves_the_exact_fuel(shape, args):
    store, inst = make(shape)
    divide = inst.exports.divide
    need = total(divide_segments(*args))
    check_stops(store, divide, args, divide_segments, range(need + 2),
                TrapCode.INTEGER_DIVIDE_BY_ZERO)  # fmt: skip


def test_the_model_reads_the_text_right():
    """The models' segment costs add up to what a counting instance counts (instructions
    executed, ``end`` excluded: what 1 fuel per instruction charges)."""
    store = Store(Engine(Config(count_instructions=True, cache=False)))
    inst = Instance(store, Module(store.engine, WAT), {})
    for n in (0, 1, 2, 6):
        store.instructions = 0
        assert inst.exports.fib(n) == fib_model_value(n)
        assert store.instructions == total(fib_segments(n))
    store.instructions = 0
    assert inst.exports.divide(9, 2) == 4
    assert store.instructions == total(divide_segments(9, 2))


def test_a_block_reached_only_by_the_taken_way_takes_the_charge_carried():
    """``fib``'s block is left by its ``br_if`` only (its fallthrough returns): the taken way
    leaves segment A's 5 pending and segment C's check covers both, as a fallthrough after a
    ``br_if`` does (the tests above hold its fuel exact)."""
    from wasm2py.aot import compile

    from .wat import wat

    src = compile(wat(WAT), fuel=True)
    fib = src[src.index("def f0_fib"):src.index("def ", src.index("def f0_fib") + 1)]
    assert "out_of_fuel(F, fuel - 5, 3)" in fib and "fuel -= 5" not in fib
