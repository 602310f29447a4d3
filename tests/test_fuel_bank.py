"""The store's fuel above what its cell holds (:mod:`wasm2py.runtime.fuelcell`): the rest
waits in the bank, and a segment's check that finds the cell short fills it from there. None of
that may show: fuel stays exact at every stop, pause and trap, as the segment model of
``tests/test_fuel_carry.py`` (read off the ``.wat`` text) says.

The cell's limit is lowered here (``CELL_MAX``) so that calls of a few hundred fuel draw on the
bank many times, some of them for a segment that costs more than the cell holds.
"""

from __future__ import annotations

import pytest

from wasm2py import (
    Config,
    Engine,
    Finished,
    Func,
    FuncType,
    Instance,
    Module,
    OutOfFuel,
    Store,
    Trap,
    TrapCode,
    ValType,
)
from wasm2py.runtime import fuelcell

from .test_fuel_carry import WAT, divide_segments, fib_segments, run_model, total


@pytest.fixture(params=[7, 40])
def small_cell(request, monkeypatch):
    monkeypatch.setattr(fuelcell, "CELL_MAX", request.param)
    return request.param


def make(shape: str = "auto"):
    store = Store(Engine(Config(consume_fuel=True, python_shape=shape, cache=False)))
    return store, Instance(store, Module(store.engine, WAT), {})


@pytest.mark.parametrize("shape", ["auto", "flat"])
def test_fib_stops_where_the_segments_say_with_the_fuel_banked(small_cell, shape):
    store, inst = make(shape)
    n = 6
    need = total(fib_segments(n))
    for fuel in range(need + 2):
        result, left, required = run_model(fib_segments(n), fuel)
        store.set_fuel(fuel)
        if required is None:
            assert inst.exports.fib(n) == result
        else:
            with pytest.raises(Trap) as info:
                inst.exports.fib(n)
            assert info.value.code is TrapCode.OUT_OF_FUEL
        assert store.get_fuel() == left, fuel
        # the cell never holds more than its limit (or than a segment that needs more)
        assert fuelcell.cell(store.fuel) <= max(small_cell, 18)


def test_fib_pauses_and_resumes_exactly_with_the_fuel_banked(small_cell):
    store, inst = make()
    n = 5
    need = total(fib_segments(n))
    for fuel in range(0, need + 1, 3):
        result, left, required = run_model(fib_segments(n), fuel)
        store.set_fuel(fuel)
        r = inst.exports.fib.call_resumable(n)
        if required is None:
            assert isinstance(r, Finished) and r.results == result
            continue
        assert isinstance(r, OutOfFuel) and r.required_fuel == required
        assert store.get_fuel() == left
        store.set_fuel(left + 1000)
        r = r.resume()
        assert isinstance(r, Finished)
        assert fuel + 1000 - store.get_fuel() == need


@pytest.mark.parametrize("args", [(7, 2), (7, 0)])
def test_a_trap_leaves_the_exact_fuel_with_the_fuel_banked(small_cell, args):
    store, inst = make()
    need = total(divide_segments(*args))
    for fuel in range(need + 2):
        result, left, required = run_model(divide_segments(*args), fuel)
        store.set_fuel(fuel)
        if required is not None or result is None:
            with pytest.raises(Trap):
                inst.exports.divide(*args)
        else:
            assert inst.exports.divide(*args) == result
        assert store.get_fuel() == left, fuel


def test_get_set_and_consume_see_cell_and_bank_as_one():
    store = Store(Engine(Config(consume_fuel=True)))
    store.set_fuel(10**15)
    assert store.get_fuel() == 10**15 and fuelcell.cell(store.fuel) <= fuelcell.CELL_MAX
    store.consume_fuel(10**15 - 5)
    assert store.get_fuel() == 5 and (fuelcell.cell(store.fuel), store.fuel[1]) == (5, 0)
    with pytest.raises(Trap):
        store.consume_fuel(6)
    assert store.get_fuel() == 5


# ``run`` calls the host function ``h`` (segment A: i32.const, call = 2), then returns 1
# (segment A also: i32.const; 3 in all). ``h`` changes the store's fuel and raises.
HOST = """(module (import "env" "h" (func $h (param i32)))
  (func (export "run") (result i32) (call $h (i32.const 0)) (i32.const 1)))"""


@pytest.mark.parametrize(("tier", "cell"), [("python", 7), ("python", fuelcell.CELL_MAX),
                                            ("llvm", fuelcell.CELL_MAX)])  # fmt: skip
def test_fuel_a_host_function_sets_before_it_raises_stays(monkeypatch, tier, cell):
    """The caller's own copy of the fuel is stale once the host function runs: the trap
    leaves the fuel the host function set (the caller charges nothing after the call), in
    both tiers (the Python tier's caller used to write its stale copy back)."""
    if tier == "llvm":
        pytest.importorskip("llvmlite")
    monkeypatch.setattr(fuelcell, "CELL_MAX", cell)
    store = Store(Engine(Config(consume_fuel=True, cache=False, tier=tier)))

    def h(x):
        store.set_fuel(12345)
        raise RuntimeError("host")

    func = Func(store, FuncType([ValType.I32], []), h)
    inst = Instance(store, Module(store.engine, HOST), {"env": {"h": func}})
    store.set_fuel(100)
    with pytest.raises(RuntimeError):
        inst.exports.run()
    assert store.get_fuel() == 12345


# Two calls in a row (the local is not read back between them): ``two(x)`` is
# ``div(inc(x))``, 3 fuel each (``two``: local.get, call, call; ``inc``: local.get, i32.const,
# i32.add; ``div``: i32.const, local.get, i32.div_u), ``div`` trapping on 0 after its charge.
TWO = """(module
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $div (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
  (func (export "two") (param i32) (result i32) (call $div (call $inc (local.get 0)))))"""


def two_model(x: int, fuel: int):
    """(outcome, fuel left): ``("fuel", cost)`` at the first segment not covered, ``("trap",
    None)`` or ``("done", result)``."""
    for cost in (3, 3, 3):
        if fuel < cost:
            return ("fuel", cost), fuel
        fuel -= cost
    y = (x + 1) & 0xFFFFFFFF
    return (("trap", None) if y == 0 else ("done", 100 // y)), fuel


@pytest.mark.parametrize("cell", [2, 5, 40])
@pytest.mark.parametrize("x", [3, 0xFFFFFFFF])
def test_calls_in_a_row_stop_pause_and_trap_exactly_with_the_fuel_banked(monkeypatch, cell, x):
    monkeypatch.setattr(fuelcell, "CELL_MAX", cell)
    store = Store(Engine(Config(consume_fuel=True, cache=False)))
    two = Instance(store, Module(store.engine, TWO), {}).exports.two
    for fuel in range(12):
        (kind, v), left = two_model(x, fuel)
        store.set_fuel(fuel)
        if kind == "done":
            assert two(x) == v
        else:
            with pytest.raises(Trap) as info:
                two(x)
            want = TrapCode.OUT_OF_FUEL if kind == "fuel" else TrapCode.INTEGER_DIVIDE_BY_ZERO
            assert info.value.code is want
        assert store.get_fuel() == left, fuel
        # resumable: pauses where the plain call stops, then goes on with more fuel
        store.set_fuel(fuel)
        try:
            r = two.call_resumable(x)
        except Trap as e:
            assert kind == "trap" and e.code is TrapCode.INTEGER_DIVIDE_BY_ZERO
            assert store.get_fuel() == left
            continue
        if kind == "fuel":
            assert isinstance(r, OutOfFuel) and r.required_fuel == v
            assert store.get_fuel() == left
            store.set_fuel(left + 100)
            if x == 0xFFFFFFFF:
                with pytest.raises(Trap):
                    r.resume()
                assert fuel + 100 - store.get_fuel() == 9
                continue
            r = r.resume()
            assert isinstance(r, Finished) and r.results == 25
            assert fuel + 100 - store.get_fuel() == 9
        else:
            assert kind == "done" and isinstance(r, Finished) and r.results == v
            assert store.get_fuel() == left
