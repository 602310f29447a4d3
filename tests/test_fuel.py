"""Fuel metering: costs, exhaustion traps, host access, and configuration errors."""

from __future__ import annotations

import pytest

import wasm2py
from wasm2py import Caller, Config, Engine, FuelCosts, Instance, Module, Store, Trap, TrapCode
from wasm2py.binary.opcodes import Op

from .wat import wat

LOOP = wat("""
(module
  (memory (export "mem") 1)
  (func (export "count") (param i32) (result i32) (local i32)
    block
      loop
        local.get 0 i32.eqz br_if 1
        local.get 1 local.get 0 i32.add local.set 1
        local.get 0 i32.const 1 i32.sub local.set 0
        br 0
      end
    end
    local.get 1)
  (func (export "fill") (param i32)
    i32.const 0 i32.const 7 local.get 0 memory.fill)
  (func $spin (export "spin") (loop $l br $l))
)""")

# Executed instructions of count(n): block, loop (2); per iteration: 3 + 9; the last test: 3;
# after the loop: local.get (1).  ``end`` is free.
def count_cost(n: int) -> int:
    return 2 + 12 * n + 3 + 1


def setup(config: Config, data: bytes = LOOP, imports=None):
    engine = Engine(config)
    store = Store(engine)
    return store, Instance(store, Module(engine, data), imports or {}).exports


def test_fuel_is_charged_per_instruction():
    store, ex = setup(Config(consume_fuel=True))
    store.set_fuel(1000)
    assert ex.count(10) == 55
    assert store.get_fuel() == 1000 - count_cost(10)


def test_fuel_equals_instruction_count():
    store, ex = setup(Config(consume_fuel=True))
    counting_store, counting = setup(Config(count_instructions=True))
    store.set_fuel(10**9)
    ex.count(37)
    counting.count(37)
    assert 10**9 - store.get_fuel() == counting_store.instructions == count_cost(37)


def test_running_out_traps_and_takes_nothing_for_the_failed_segment():
    store, ex = setup(Config(consume_fuel=True))
    store.set_fuel(count_cost(10) - 1)
    with pytest.raises(Trap) as e:
        ex.count(10)
    assert e.value.code is TrapCode.OUT_OF_FUEL
    # everything before the last segment (local.get, 1 instruction) was paid for
    assert store.get_fuel() == 0
    store.set_fuel(50)
    with pytest.raises(Trap) as e:
        ex.spin()  # an infinite loop stops
    assert e.value.code is TrapCode.OUT_OF_FUEL


def test_custom_costs_and_bulk_charges():
    costs = FuelCosts(instruction=2, per_opcode=((Op.I32_ADD, 10),), bulk_per_64=3)
    store, ex = setup(Config(consume_fuel=True, fuel_costs=costs))
    store.set_fuel(10_000)
    ex.count(1)
    # 6 plain instructions per iteration + i32.add; 2 + 3 + 1 around: all at 2 except the add
    assert 10_000 - store.get_fuel() == 2 * (count_cost(1) - 1) + 10
    store.set_fuel(10_000)
    ex.fill(640)  # 4 instructions, plus 640 // 64 = 10 units of 3
    assert 10_000 - store.get_fuel() == 4 * 2 + 10 * 3
    assert ex.mem.read(0, 640) == b"\x07" * 640


def test_host_functions_read_and_charge_fuel():
    seen = []

    def work(caller: Caller, n):
        seen.append(caller.get_fuel())
        caller.consume_fuel(n)

    data = wat("""(module (import "env" "work" (func $w (param i32)))
                 (func (export "go") (param i32) local.get 0 call $w))""")
    store, ex = setup(Config(consume_fuel=True), data, {"env": {"work": work}})
    store.set_fuel(100)
    ex.go(40)
    assert seen == [98]  # local.get + call were charged before the call
    assert store.get_fuel() == 58
    with pytest.raises(Trap) as e:
        ex.go(1000)
    assert e.value.code is TrapCode.OUT_OF_FUEL


def test_fuel_api_needs_fuel_enabled_and_no_fuel_code_otherwise():
    store, ex = setup(Config())
    with pytest.raises(wasm2py.Error):
        store.set_fuel(10)
    with pytest.raises(wasm2py.Error):
        store.get_fuel()
    # the plain translation contains no fuel code at all
    import ast

    from wasm2py.binary.decoder import decode_module
    from wasm2py.translate.module import translate_module

    decoded = decode_module(LOOP)
    plain = ast.unparse(translate_module(decoded, Config())[0])
    metered = ast.unparse(translate_module(decoded, Config(consume_fuel=True))[0])
    assert "fuel" not in plain and "out_of_fuel" in metered
    with pytest.raises(ValueError):
        Config(consume_fuel=True, count_instructions=True)
    fuel_store = Store(Engine(Config(consume_fuel=True)))
    with pytest.raises(ValueError):
        fuel_store.set_fuel(-1)
