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


_TRAPS = """(module
  (func (export "div_s") (param i32 i32) (result i32)
    (i32.add (i32.const 1) (i32.div_s (local.get 0) (local.get 1))))
  (func (export "rem_u") (param i64 i64) (result i64)
    (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32)
    (i32.add (i32.trunc_f64_s (local.get 0)) (i32.const 2))))"""


@pytest.mark.parametrize("tier", ["python", "auto", "llvm"])
@pytest.mark.parametrize("name, args, op", [
    ("div_s", (1, 0), "I32_DIV_S"), ("rem_u", (1, 0), "I64_REM_U"),
    ("trunc", (1e30,), "I32_TRUNC_F64_S")])  # fmt: skip
def test_a_trap_is_reported_at_its_instructions_offset(tier, name, args, op):
    # Frame.offset is the byte offset of the trapping instruction (as wasmtime reports it),
    # not of the instruction after it or of the one whose statement the Python tier folded
    # it into. The expected offset is the decoder's offset of that instruction's opcode.
    from wasm2py.binary.decoder import decode_module
    from wasm2py.binary.opcodes import Op

    data = wat(_TRAPS)
    m = decode_module(data)
    index = [e.index for e in m.exports if e.name == name][0]
    expected = [ins.offset for ins in m.codes[index].body if ins.op == getattr(Op, op)]
    engine = wasm2py.Engine(wasm2py.Config(tier=tier, cache=False, baseline=False,
                                           tier_up_threshold=1 << 62))  # fmt: skip
    inst = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, data), {})
    with pytest.raises(wasm2py.Trap) as e:
        getattr(inst.exports, name)(*args)
    assert [e.value.frames[0].offset] == expected
