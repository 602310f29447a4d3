"""Errors of the embedding API derive from ``wasm2py.Error`` and keep the built-in base Python
code expects; ``Trap("message")``; backtrace frames; ``WasiExit`` is an ``Error``;
``Caller.get`` returns every kind of export."""

from __future__ import annotations

import pytest

import wasm2py
from wasm2py import (
    Caller,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Limits,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    ValType,
)
from wasm2py.wasi import WasiExit

from .wat import wat

I32 = ValType.I32


@pytest.mark.parametrize("action, error, builtin", [
    (lambda s: Memory(s, MemoryType(Limits(1, 1))).grow(1), wasm2py.GrowError, ValueError),
    (lambda s: Memory(s, MemoryType(Limits(1))).read(65530, 65540), wasm2py.OutOfBoundsError,
     IndexError),
    (lambda s: Memory(s, MemoryType(Limits(1))).write(b"abc", 65534), wasm2py.OutOfBoundsError,
     IndexError),
    (lambda s: Table(s, TableType(ValType.FUNCREF, Limits(1))).get(1), wasm2py.OutOfBoundsError,
     IndexError),
    (lambda s: Table(s, TableType(ValType.FUNCREF, Limits(1, 1))).grow(1),
     wasm2py.GrowError, ValueError),
    (lambda s: setattr(Global(s, GlobalType(I32), 1), "value", 2), wasm2py.ImmutableGlobalError,
     AttributeError),
    (lambda s: Func(s, FuncType([I32], []), lambda x: None)(), wasm2py.SignatureError,
     TypeError),
    (lambda s: Func(s, FuncType([], [I32, I32]), lambda: (1, 2, 3))(), wasm2py.SignatureError,
     TypeError),
    (lambda s: Func(s, FuncType([I32], []), lambda x: None)("x"), wasm2py.ArgumentError,
     TypeError),
    (lambda s: Func(s, FuncType([I32], []), lambda x: None)(2**40), wasm2py.ValueRangeError,
     OverflowError),
    (lambda s: s.set_fuel(1), wasm2py.Error, Exception),
    (lambda s: wasm2py.Config(tier="fast"), wasm2py.ConfigError, ValueError),
    (lambda s: Memory(s, 1), wasm2py.ArgumentError, TypeError),
])  # fmt: skip
def test_misuse_raises_a_wasm2py_error_with_the_builtin_base(action, error, builtin):
    with pytest.raises(error) as info:
        action(Store())
    assert isinstance(info.value, wasm2py.Error)
    assert isinstance(info.value, builtin)


def test_trap_from_a_message():
    t = Trap("stop here")
    assert t.code is None and t.message == "stop here" and str(t) == "stop here"
    store = Store()

    def host():
        raise Trap("the host says no")

    inst = Instance(store, Module(store.engine, wat(
        '(module (import "" "h" (func $h)) (func (export "f") call $h))')), {"": {"h": host}})  # fmt: skip
    with pytest.raises(Trap) as info:
        inst.exports.f()
    assert info.value.message == "the host says no" and info.value.code is None


def test_frames_name_their_module_and_name_section_names():
    store = Store()
    inst = Instance(store, Module(store.engine, wat("""(module $mod
      (func (export "outer") call $inner)
      (func $inner unreachable))""")))
    with pytest.raises(Trap) as info:
        inst.exports.outer()
    inner, outer = info.value.frames
    assert inner == (1, "inner", inner.offset) and outer[0] == 0
    assert outer.func_name == "outer"  # the export name, for display
    assert outer.section_name is None  # ... but the name section has none
    assert inner.section_name == "inner"
    assert inner.module_name == outer.module_name == "mod"
    assert isinstance(inner.offset, int) and inner.offset > outer.offset


def test_wasi_exit_is_an_error():
    assert issubclass(WasiExit, wasm2py.Error) and not issubclass(WasiExit, Trap)
    e = WasiExit(3)
    assert e.code == 3


EXPORTS = wat("""(module
  (import "" "probe" (func $probe))
  (func (export "f") (result i32) i32.const 7)
  (memory (export "m") 1)
  (table (export "t") 2 funcref)
  (global (export "g") (mut i32) (i32.const 5))
  (func (export "run") call $probe))""")


def test_caller_get_returns_every_kind_of_export():
    store = Store()
    seen = {}

    def probe(caller: Caller) -> None:
        for name in ("f", "m", "t", "g", "nope"):
            seen[name] = caller.get(name)

    inst = Instance(store, Module(store.engine, EXPORTS), {"": {"probe": probe}})
    inst.exports.run()
    assert isinstance(seen["f"], Func) and seen["f"]() == 7
    assert isinstance(seen["m"], Memory) and seen["m"] == inst.exports.m
    assert isinstance(seen["t"], Table) and seen["t"].size == 2
    assert isinstance(seen["g"], Global) and seen["g"].value == 5
    assert seen["nope"] is None
