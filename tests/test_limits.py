"""Store limits (``Store.set_limits``) with wasmtime's semantics: sizes bound each memory and
table (creation fails, growth returns -1), counts bound what instantiation creates. Expected
values: wasmtime's documented behaviour (the growth sequence of ``test_growth_in_wasm_stops_at_
the_limit`` gives the same results under the ``wasmtime`` package 51)."""

from __future__ import annotations

import pytest

import wasm2py
from wasm2py import (
    Config,
    Engine,
    GrowError,
    Instance,
    Limits,
    Memory,
    MemoryType,
    Module,
    ResourceLimitError,
    Store,
    Table,
    TableType,
    ValType,
)

from .wat import wat

GROW = wat("""(module
  (memory (export "mem") 1)
  (table (export "tab") 1 funcref)
  (func (export "mgrow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "tgrow") (param i32) (result i32) ref.null func local.get 0 table.grow))""")


def store_for(tier: str) -> Store:
    return Store(Engine(Config(tier=tier, cache=False)))


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_growth_in_wasm_stops_at_the_limit(tier):
    store = store_for(tier)
    store.set_limits(memory_size=3 * 65536, table_elements=5)
    ex = Instance(store, Module(store.engine, GROW)).exports
    assert ex.mgrow(1) == 1
    assert ex.mgrow(2) == -1  # 4 pages > 3 pages' bytes
    assert ex.mgrow(1) == 2
    assert ex.mgrow(1) == -1
    assert ex.mem.size == 3
    assert ex.tgrow(4) == 1
    assert ex.tgrow(1) == -1
    assert ex.tab.size == 5
    # limits can be raised later: they are checked at growth time
    store.set_limits()
    assert ex.mgrow(1) == 3
    assert ex.tgrow(1) == 5


def test_host_memories_and_tables():
    store = Store()
    store.set_limits(memory_size=0)
    with pytest.raises(ResourceLimitError):
        Memory(store, MemoryType(Limits(1)))
    Memory(store, MemoryType(Limits(0)))  # zero pages fit in zero bytes
    store.set_limits(memory_size=100_000)
    mem = Memory(store, MemoryType(Limits(1)))
    with pytest.raises(GrowError):
        mem.grow(1)  # 131072 > 100000
    store = Store()
    store.set_limits(table_elements=1)
    Table(store, TableType(ValType.FUNCREF, Limits(1)), None)
    with pytest.raises(ResourceLimitError):
        Table(store, TableType(ValType.FUNCREF, Limits(2)), None)


def test_module_memory_over_the_limit_fails_instantiation():
    store = Store()
    store.set_limits(memory_size=65536)
    with pytest.raises(ResourceLimitError):
        Instance(store, Module(store.engine, wat("(module (memory 2))")))


def test_counts():
    store = Store()
    store.set_limits(instances=2, memories=1, tables=2)
    empty = Module(store.engine, wat("(module)"))
    with_mem = Module(store.engine, GROW)  # one memory, one table
    Instance(store, with_mem)
    with pytest.raises(ResourceLimitError):
        Instance(store, with_mem)  # a second memory
    Instance(store, empty)  # the failed attempt created and counted nothing
    with pytest.raises(ResourceLimitError):
        Instance(store, empty)  # a third instance
    # imported memories do not count
    store = Store()
    store.set_limits(memories=0)
    mem = Memory(store, MemoryType(Limits(1)))
    Instance(store, Module(store.engine, wat('(module (import "" "m" (memory 1)))')),
             {"": {"m": mem}})  # fmt: skip


def test_bad_limits():
    with pytest.raises(wasm2py.ConfigError):
        Store().set_limits(memory_size=-1)
    with pytest.raises(ValueError):
        Store().set_limits(instances="many")  # type: ignore[arg-type]
