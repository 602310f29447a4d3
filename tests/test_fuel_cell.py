"""The store's fuel cell (:mod:`wasm2py.runtime.fuelcell`): every Python-tier function of a
store charges the one cell in place (its free variable ``fuel``), so code of several instances
of a store draws on one fuel, stores do not share it, and it is exact at every stop.

Costs are read off the ``.wat`` by the rule of :mod:`wasm2py.fuel` (1 per instruction, ``end``
free; a function body is one segment when it has no branch)."""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode
from wasm2py.runtime import fuelcell

from .wat import wat

# inc(x) = x + 1: local.get, i32.const, i32.add (3)
LIB = wat("""(module (func (export "inc") (param i32) (result i32)
                       local.get 0 i32.const 1 i32.add))""")
# twice(x) = inc(inc(x)): local.get, call, call (3) in its one segment, then 3 per inc
USER = wat("""(module (import "lib" "inc" (func $inc (param i32) (result i32)))
                (func (export "twice") (param i32) (result i32)
                  local.get 0 call $inc call $inc))""")


def linked(engine: Engine):
    """A store holding an instance of LIB and one of USER that imports its ``inc``."""
    store = Store(engine)
    lib = Instance(store, Module(engine, LIB), {})
    user = Instance(store, Module(engine, USER), {"lib": {"inc": lib.exports["inc"]}})
    return store, lib, user


@pytest.mark.parametrize("shape", ["auto", "flat"])
def test_instances_of_a_store_draw_on_one_fuel(shape):
    engine = Engine(Config(consume_fuel=True, python_shape=shape))
    store, lib, user = linked(engine)
    store.set_fuel(100)
    assert user.exports.twice(5) == 7
    assert store.get_fuel() == 100 - 3 - 2 * 3
    assert lib.exports.inc(1) == 2
    assert store.get_fuel() == 91 - 3


@pytest.mark.parametrize(("start", "left"), [(5, 2), (6, 0), (8, 2)])
def test_a_call_across_instances_stops_where_the_segments_say(start, left):
    """twice's segment (3) is taken first; each inc then needs 3: fuel 5 stops at the first
    inc with 2 left, 6 at the second with 0, 8 at the second with 2 (stopping takes
    nothing for the segment that does not fit)."""
    store, _, user = linked(Engine(Config(consume_fuel=True)))
    store.set_fuel(start)
    with pytest.raises(Trap) as e:
        user.exports.twice(5)
    assert e.value.code is TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == left
    store.set_fuel(9)
    assert user.exports.twice(5) == 7 and store.get_fuel() == 0


def test_stores_do_not_share_fuel():
    """The same module's code in two stores of one engine charges each store's own cell."""
    engine = Engine(Config(consume_fuel=True))
    s1, _, u1 = linked(engine)
    s2, _, u2 = linked(engine)
    s1.set_fuel(50)
    s2.set_fuel(70)
    assert u1.exports.twice(1) == 3
    assert (s1.get_fuel(), s2.get_fuel()) == (41, 70)
    assert u2.exports.twice(2) == 4
    assert (s1.get_fuel(), s2.get_fuel()) == (41, 61)


def test_the_cell_holds_what_the_bank_does_not(monkeypatch):
    """Above CELL_MAX the rest waits in the bank; a check that finds the cell short fills it
    from there, and the sum is what the calls left."""
    monkeypatch.setattr(fuelcell, "CELL_MAX", 4)
    store, _, user = linked(Engine(Config(consume_fuel=True)))
    store.set_fuel(20)
    assert fuelcell.cell(store.fuel) == 4 and store.fuel[1] == 16
    assert user.exports.twice(5) == 7
    assert store.get_fuel() == 11
    assert fuelcell.cell(store.fuel) <= 4
