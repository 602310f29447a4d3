"""The call-depth limit: exact, configurable, and a million frames deep without harm."""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode

from .wat import wat

REC = wat("""
(module
  (func $r (export "r") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))
""")


def _r(config: Config):
    engine = Engine(config)
    return Instance(Store(engine), Module(engine, REC), {}).exports.r


def test_default_limit_is_documented_and_exact():
    assert Config().max_call_depth == 10_000
    r = _r(Config())
    assert r(9_999) == 9_999  # 10,000 nested calls
    with pytest.raises(Trap) as e:
        r(10_000)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED


def test_a_million_frames_deep_and_the_process_survives():
    r = _r(Config(max_call_depth=1_000_000))
    assert r(999_999) == 999_999
    with pytest.raises(Trap) as e:
        r(2_000_000)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    assert len(e.value.frames) <= 200  # the backtrace keeps the innermost frames
    assert r(10) == 10  # still usable afterwards


def test_limit_applies_with_fuel_and_resumable_calls():
    engine = Engine(Config(max_call_depth=100, consume_fuel=True))
    store = Store(engine)
    r = Instance(store, Module(engine, REC), {}).exports.r
    store.set_fuel(10**9)
    with pytest.raises(Trap) as e:
        r.call_resumable(100)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    assert r.call_resumable(99).results == 99
