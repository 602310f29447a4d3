"""``Module.serialize`` / ``Module.deserialize``: both tiers' compiled code travels, loading
skips compilation when the options match, and only authentic bytes are accepted."""

from __future__ import annotations

import pytest

import wasm2py
from wasm2py import Config, Engine, Instance, Module, Store

from .wat import wat

FIB = wat("""(module $m
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib
         i32.add end)
  (memory (export "mem") 1) (data (i32.const 8) "hi"))""")


def no_compiling(monkeypatch, python: bool = True) -> None:
    import wasm2py.llvm.jit
    import wasm2py.translate.module

    def refuse(*a, **k):
        raise AssertionError("compiled again")

    if python:
        monkeypatch.setattr(wasm2py.translate.module, "compile_function", refuse)
    monkeypatch.setattr(wasm2py.llvm.jit, "compile_module", refuse)


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_round_trip_without_compiling(tier, monkeypatch, tmp_path):
    data = Module(Engine(Config(tier=tier, cache=False)), FIB).serialize()
    no_compiling(monkeypatch)
    engine = Engine(Config(tier=tier, cache=False))
    m = Module.deserialize(engine, data)
    assert [e.name for e in m.exports] == ["fib", "mem"]
    store = Store(engine)
    inst = Instance(store, m)
    assert inst.tier == tier
    assert inst.exports.fib(20) == 6765  # the 20th Fibonacci number
    assert inst.exports.mem.read(8, 10) == b"hi"
    path = tmp_path / "fib.bin"
    path.write_bytes(data)
    assert Instance(Store(engine), Module.deserialize_file(engine, path)).exports.fib(10) == 55


def test_llvm_code_of_a_tiered_up_module_travels(monkeypatch):
    engine = Engine(Config(tier="auto", tier_up_threshold=0, cache=False))
    m = Module(engine, FIB)
    engine.load_llvm(m._module)  # what tier-up would have done
    data = m.serialize()
    # (the auto tier's Python code counts calls: another translation than tier="llvm"'s)
    no_compiling(monkeypatch, python=False)
    llvm_engine = Engine(Config(tier="llvm", cache=False))
    inst = Instance(Store(llvm_engine), Module.deserialize(llvm_engine, data))
    assert inst.tier == "llvm" and inst.exports.fib(15) == 610


def test_other_options_compile_again():
    """Code for other options is not used: a fuel-metered engine translates again (and
    meters)."""
    data = Module(Engine(Config(cache=False)), FIB).serialize()
    engine = Engine(Config(consume_fuel=True, cache=False))
    store = Store(engine)
    store.set_fuel(10)
    inst = Instance(store, Module.deserialize(engine, data))
    with pytest.raises(wasm2py.Trap) as info:
        inst.exports.fib(20)
    assert info.value.code is wasm2py.TrapCode.OUT_OF_FUEL


def test_only_authentic_bytes_load():
    data = Module(Engine(Config(cache=False)), FIB).serialize()
    engine = Engine()
    for bad in (b"", FIB, data[:-1], data[:20] + bytes([data[20] ^ 1]) + data[21:],
                data + b"x"):  # fmt: skip
        with pytest.raises(wasm2py.Error):
            Module.deserialize(engine, bad)


def test_another_users_key_is_refused(monkeypatch, tmp_path):
    data = Module(Engine(Config(cache=False)), FIB).serialize()
    monkeypatch.setenv("WASM2PY_CONFIG_DIR", str(tmp_path))  # a fresh key
    with pytest.raises(wasm2py.Error):
        Module.deserialize(Engine(), data)
