"""``wasm2py.wasmtime``: wasmtime-py's API over wasm2py. Expected behaviour: wasmtime-py's
documented conventions (the store passed to every call, lists for several results, strict value
types, ``WasmtimeError``/``Trap``/``ExitTrap``), checked on wasm2py's objects underneath."""

from __future__ import annotations

import threading
import time

import pytest

import wasm2py
import wasm2py.wasmtime as wt
from wasm2py.wasmtime import (
    Caller,
    Config,
    Engine,
    ExitTrap,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Limits,
    Linker,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    TrapCode,
    Val,
    ValType,
    WasiConfig,
    WasmtimeError,
)

I32, I64, F32, F64 = ValType.i32(), ValType.i64(), ValType.f32(), ValType.f64()

CALC = """(module $calc
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "swap") (param i64 f64) (result f64 i64) local.get 1 local.get 0)
  (func $boom (export "boom") (param i32) (result i32) local.get 0 call $deep)
  (func $deep (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
  (func (export "spin") (loop br 0))
  (memory (export "mem") 1)
  (global (export "g") (mut i64) (i64.const -5))
  (table (export "tab") 2 funcref)
  (data (i32.const 16) "wasm2py"))"""


def calc(config: Config | None = None):
    engine = Engine(config)
    store = Store(engine)
    inst = Instance(store, Module(engine, CALC), [])
    return store, inst, inst.exports(store)


def test_calls_take_the_store_and_convert_values():
    store, inst, ex = calc()
    assert ex["add"](store, 2, 40) == 42
    assert ex["add"](store, Val.i32(0xFFFFFFFF), 1) == 0  # wraps as an i32
    assert ex["add"](store, 0x7FFFFFFF, 1) == -0x80000000  # results are signed
    assert ex["swap"](store, 3, 0.5) == [0.5, 3]  # several results: a list
    assert [e for e in ex] == ["add", "swap", "boom", "spin", "mem", "g", "tab"]
    assert ex.by_index[0] == ex["add"] and isinstance(ex.by_index[4], Memory)
    with pytest.raises(WasmtimeError):
        ex["add"](store, 1)
    with pytest.raises(TypeError):
        ex["add"](store, 1.0, 2)  # no float for an i32
    with pytest.raises(TypeError):
        ex["swap"](store, Val.i32(1), 0.5)  # a Val of the wrong type
    # the objects underneath are wasm2py's
    assert isinstance(ex["add"]._native, wasm2py.Func)
    assert issubclass(WasmtimeError, wasm2py.Error) and WasmtimeError is wasm2py.Error


def test_traps_speak_wasmtime():
    store, inst, ex = calc()
    with pytest.raises(Trap) as info:
        ex["boom"](store, 1)
    t = info.value
    assert isinstance(t, wasm2py.Trap)
    assert t.trap_code is TrapCode.INTEGER_DIVISION_BY_ZERO
    frames = t.frames
    assert [f.func_index for f in frames] == [3, 2]
    assert [f.func_name for f in frames] == ["deep", "boom"]
    assert {f.module_name for f in frames} == {"calc"}
    lines = str(t).splitlines()
    assert lines[0] == "error while executing at wasm backtrace:"
    assert lines[1] == f"    0: {frames[0].module_offset:#8x} - calc!deep"
    assert lines[2] == f"    1: {frames[1].module_offset:#8x} - calc!boom"
    assert lines[-2:] == ["Caused by:", "    wasm trap: integer divide by zero"]
    assert Trap("custom").message == "custom" and Trap("custom").trap_code is None


def test_host_functions():
    store = Store()
    seen = []

    def host(caller: Caller, a: int, f: Func | None) -> list:
        seen.append((type(caller).__name__, a))
        return [a * 2, f]

    ty = FuncType([I32, ValType.funcref()], [I64, ValType.funcref()])
    double = Func(store, ty, host, access_caller=True)
    other = Func(store, FuncType([], [I32]), lambda: 7)
    r = double(store, 21, other)
    assert r[0] == 42 and isinstance(r[1], Func) and r[1](store) == 7 and r[1] == other
    assert seen == [("Caller", 21)]
    with pytest.raises(WasmtimeError):
        Func(store, FuncType([], []), lambda: 1)(store)  # a result where none is declared
    with pytest.raises(WasmtimeError):
        Func(store, FuncType([], [I32, I32]), lambda: [1])(store)

    class Stop(BaseException):
        pass

    def stop():
        raise Stop

    with pytest.raises(Stop):
        Func(store, FuncType([], []), stop)(store)


def test_caller_sees_the_calling_instance_only_while_called():
    store = Store()
    kept = []

    def probe(caller: Caller) -> int:
        kept.append(caller)
        mem = caller["mem"]
        return mem.data_ptr(caller)[16] + caller.get("g").value(caller)

    module = Module(store.engine, """(module
      (import "" "probe" (func $p (result i32)))
      (func (export "run") (result i32) call $p)
      (memory (export "mem") 1) (global (export "g") i32 (i32.const 100))
      (data (i32.const 16) "\\05"))""")
    inst = Instance(store, module, [Func(store, FuncType([], [I32]), probe, access_caller=True)])
    assert inst.exports(store)["run"](store) == 105
    assert kept[0].get("mem") is None  # invalid after the call
    with pytest.raises(ValueError):
        Memory(kept[0], MemoryType(Limits(1, None)))


def test_memory_table_global():
    store, inst, ex = calc()
    mem = ex["mem"]
    assert mem.read(store, 16, 23) == bytearray(b"wasm2py")
    assert mem.read(store, -3) == bytearray(3)
    assert mem.write(store, b"xyz", -3) == 3 and mem.read(store, -3) == bytearray(b"xyz")
    assert mem.data_ptr(store)[65535] == ord("z")
    with pytest.raises(IndexError):
        mem.write(store, b"abcd", 65533)
    assert mem.grow(store, 2) == 1 and mem.size(store) == 3 and mem.data_len(store) == 3 * 65536
    with pytest.raises(WasmtimeError):
        mem.grow(store, -1)
    g = ex["g"]
    assert g.value(store) == -5 and g.type(store).content == I64 and g.type(store).mutable
    g.set_value(store, Val.i64(9))
    assert g.value(store) == 9
    tab = ex["tab"]
    assert tab.size(store) == 2 and tab.get(store, 0) is None and tab.get(store, 5) is None
    tab.set(store, 1, ex["add"])
    assert tab.get(store, 1)(store, 1, 1) == 2
    with pytest.raises(WasmtimeError):
        tab.set(store, 2, None)
    ext = Table(store, TableType(ValType.externref(), Limits(1, 3)), "x")
    assert ext.grow(store, 2, {"k": 1}) == 1 and ext.get(store, 2) == {"k": 1}
    with pytest.raises(WasmtimeError):
        ext.grow(store, 1, None)
    const = Global(store, GlobalType(F64, False), 1.5)
    with pytest.raises(WasmtimeError):
        const.set_value(store, 2.0)
    assert Global(store, GlobalType(F32, True), Val.f32(0.1)).value(store) == Val.f32(0.1).value


def test_module_types_and_validation():
    engine = Engine()
    module = Module(engine, CALC)
    names = [(e.name, type(e.type).__name__) for e in module.exports]
    assert names[:2] == [("add", "FuncType"), ("swap", "FuncType")]
    assert module.exports[1].type.params == [I64, F64]
    assert module.exports[1].type.results == [F64, I64]
    mem_type = module.exports[4].type
    assert isinstance(mem_type, MemoryType) and mem_type.limits == Limits(1, None)
    with pytest.raises(WasmtimeError):
        Module(engine, "(module (func (result i32)))")  # does not validate
    with pytest.raises(WasmtimeError):
        wt.wat2wasm("(module")
    Module.validate(engine, wt.wat2wasm("(module)"))
    with pytest.raises(WasmtimeError):
        MemoryType(Limits(1, None), shared=True)  # shared memories need a maximum


def test_linker_wasi_and_exit():
    linker = Linker(Engine())
    linker.define_wasi()
    out = []
    module = Module(linker.engine, """(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 8) "\\10\\00\\00\\00\\03\\00\\00\\00")
      (data (i32.const 16) "hi\\n")
      (func (export "run") (param i32)
        (drop (call $w (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 32)))
        (call $exit (local.get 0))))""")
    store = Store(linker.engine)
    with pytest.raises(WasmtimeError):
        linker.instantiate(store, module)  # no WASI context yet
    config = WasiConfig()
    config.stdout_custom = out.append
    store.set_wasi(config)
    inst = linker.instantiate(store, module)
    with pytest.raises(ExitTrap) as info:
        inst.exports(store)["run"](store, 3)
    assert info.value.code == 3 and "exit status 3" in str(info.value)
    assert isinstance(info.value, WasmtimeError)
    assert b"".join(out) == b"hi\n"
    with pytest.raises(WasmtimeError):
        WasiConfig().preopen_dir(".", "/", wt.DirPerms.READ_ONLY, wt.FilePerms.READ_ONLY)


def test_linker_definitions():
    engine = Engine()
    linker = Linker(engine)
    calls = []
    linker.define_func("env", "log", FuncType([I32], []), calls.append)
    user = Module(engine, """(module
      (import "env" "log" (func $log (param i32)))
      (import "env" "missing" (func $m (result i32)))
      (func (export "go") (call $log (i32.const 5)) (call $log (call $m))))""")
    with pytest.raises(WasmtimeError):
        linker.instantiate(Store(engine), user)
    linker.define_unknown_imports_as_traps(user)
    store = Store(engine)
    with pytest.raises(Trap):
        linker.instantiate(store, user).exports(store)["go"](store)
    assert calls == [5]
    pre = Linker(engine)
    pre.define_func("env", "log", FuncType([I32], []), calls.append)
    s1, s2 = Store(engine), Store(engine)
    pre.define_unknown_imports_as_default_values(s1, user)
    ip = pre.instantiate_pre(user)
    ip.instantiate(s1).exports(s1)["go"](s1)
    assert calls == [5, 5, 0]
    with pytest.raises(WasmtimeError):
        linker.define_func("env", "log", FuncType([], []), print)  # no shadowing by default
    assert linker.get_default(s2, "nothing")(s2) is None


def test_define_module_command_and_reactor():
    engine = Engine()
    linker = Linker(engine)
    store = Store(engine)
    counter = """(module
      (global $n (mut i32) (i32.const 0))
      (func (export "bump") (result i32)
        global.get $n i32.const 1 i32.add global.set $n global.get $n)
      %s)"""
    linker.define_module(store, "reactor", Module(engine, counter % ""))
    linker.define_module(store, "command", Module(engine, counter % '(func (export "_start"))'))
    user = Module(engine, """(module
      (import "reactor" "bump" (func $r (result i32)))
      (import "command" "bump" (func $c (result i32)))
      (func (export "r") (result i32) call $r) (func (export "c") (result i32) call $c))""")
    ex = linker.instantiate(store, user).exports(store)
    assert [ex["r"](store) for _ in range(3)] == [1, 2, 3]  # one instance
    assert [ex["c"](store) for _ in range(3)] == [1, 1, 1]  # a fresh instance per call


def test_config_fuel_limits_and_epochs():
    config = Config()
    config.consume_fuel = True
    config.strategy = "winch"  # the Python tier
    store, inst, ex = calc(config)
    store.set_fuel(1000)
    assert ex["add"](store, 1, 2) == 3 and store.get_fuel() < 1000
    store.set_fuel(0)
    with pytest.raises(Trap) as info:
        ex["add"](store, 1, 2)
    assert info.value.trap_code is TrapCode.OUT_OF_FUEL
    with pytest.raises(ValueError):
        Engine(config)  # an engine took the config over
    with pytest.raises(WasmtimeError):
        Config().strategy = "fastest"

    store = Store()
    store.set_limits(memory_size=65536)
    with pytest.raises(WasmtimeError):
        Instance(store, Module(store.engine, "(module (memory 2))"), [])
    store.set_limits(instances=0)
    with pytest.raises(WasmtimeError):
        Instance(store, Module(store.engine, "(module)"), [])

    config = Config()
    config.epoch_interruption = True
    store, inst, ex = calc(config)
    store.set_epoch_deadline(1)
    threading.Timer(0.2, store.engine.increment_epoch).start()
    t0 = time.monotonic()
    with pytest.raises(Trap) as info:
        ex["spin"](store)
    assert info.value.trap_code is TrapCode.INTERRUPT and time.monotonic() - t0 < 30


@pytest.mark.parametrize("strategy, tier", [("auto", "auto"), ("cranelift", "llvm"),
                                            ("winch", "python")])  # fmt: skip
def test_strategy_picks_the_tier(strategy, tier):
    config = Config()
    config.strategy = strategy
    engine = Engine(config)
    assert engine._native.config.tier == tier
    store = Store(engine)
    assert Instance(store, Module(engine, CALC), []).exports(store)["add"](store, 1, 2) == 3


def test_serialize_round_trip(tmp_path):
    engine = Engine()
    data = Module(engine, CALC).serialize()
    assert isinstance(data, bytearray)
    store = Store(engine)
    m = Module.deserialize(engine, data)
    assert Instance(store, m, []).exports(store)["add"](store, 4, 5) == 9
    path = tmp_path / "calc.bin"
    path.write_bytes(data)
    with Module.deserialize_file(engine, str(path)) as m2:
        assert [e.name for e in m2.exports] == [e.name for e in m.exports]
    with pytest.raises(WasmtimeError):
        Module.deserialize(engine, b"not a module")


def test_shared_memory_is_host_side():
    mem = wt.SharedMemory(Engine(), MemoryType(Limits(1, 2), shared=True))
    assert mem.grow(1) == 1 and mem.data_len() == 2 * 65536
    with pytest.raises(WasmtimeError):
        mem.grow(1)
    store = Store()
    module = Module(store.engine, '(module (import "" "m" (memory 1 2)))')
    with pytest.raises(WasmtimeError):
        Instance(store, module, [mem])  # wasm2py modules cannot import shared memories
