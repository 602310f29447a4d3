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


def test_entry_checks_split_and_exact_at_every_fuel():
    """fib's first statements (the entry segment's check, then the check of whichever way its
    br_if goes: 5, then 5 + 4 or 5 + 3) and the first check of its loop (segment D, 18, moved
    before the loop by ``peephole.rotate_entry_loop``: 5 + 3 + 18) run unchecked when the cell
    holds 26 (``peephole.split_entry_checks``), charging C and D at once (3 + 5 + 18); every
    stop and pause is still where the segment model of tests/test_fuel_carry.py puts it, and a
    paused call resumed with the fuel it asks for ends with fib's value and the model's fuel."""
    import ast

    from wasm2py.binary.decoder import decode_module
    from wasm2py.translate.module import translate_module

    from .test_fuel_carry import WAT, fib_segments, run_model, total

    tree = translate_module(decode_module(wat(WAT)), Config(consume_fuel=True))[0]
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    text = ast.unparse(fn)
    assert "if fuel >= 26:" in text and "fuel -= 26" in text
    engine = Engine(Config(consume_fuel=True))
    store = Store(engine)
    fib = Instance(store, Module(engine, wat(WAT)), {}).exports.fib
    n = 6
    need = total(fib_segments(n))
    for fuel in range(need + 2):
        result, left, required = run_model(fib_segments(n), fuel)
        store.set_fuel(fuel)
        r = fib.call_resumable(n)
        assert store.get_fuel() == left, fuel
        if required is None:
            assert r.results == result == 8
            continue
        assert r.required_fuel == required
        # resumed with what each pause asks for added: it uses fib's fuel in all
        given = fuel
        while not hasattr(r, "results"):
            given += r.required_fuel
            store.set_fuel(store.get_fuel() + r.required_fuel)
            r = r.resume()
        assert r.results == 8 and given - store.get_fuel() == need, fuel
