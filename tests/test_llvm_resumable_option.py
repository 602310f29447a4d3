"""``Config(llvm_resumable=False)``: jitted code without suspend code (smaller and faster; what
``wasm2py run`` uses); resumable calls in such a store run in the Python tier and pause and
resume as they do everywhere else."""

from __future__ import annotations

import argparse

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed (pip install 'wasm2py[test]')")

import wasm2py  # noqa: E402
from wasm2py import Config, Engine, Instance, Module, Store  # noqa: E402

from .wat import wat  # noqa: E402

# outer(x) = (1000 / x) + host(x) + (host(x + 1) * 3): two host calls, so a pause at either
# one leaves work after it; $div traps on zero
PROG = wat("""(module
  (import "env" "host" (func $h (param i32) (result i32)))
  (func $div (param i32) (result i32) i32.const 1000 local.get 0 i32.div_u)
  (func $mid (param i32) (result i32)
    local.get 0 call $div
    local.get 0 call $h i32.add
    local.get 0 i32.const 1 i32.add call $h i32.const 3 i32.mul i32.add)
  (func (export "outer") (param i32) (result i32) local.get 0 call $mid))
""")


class Stop(Exception):
    pass


def _run(config: Config):
    """A resumable call of outer(4) whose first host call fails, resumed with 6 (the host
    then answers x + 1: host(5) = 6), and a plain call outer(5)."""
    calls = []

    def host(x):
        calls.append(x)
        if len(calls) == 1:
            raise Stop
        return x + 1

    store = Store(Engine(config))
    inst = Instance(store, Module(store.engine, PROG), {"env": {"host": host}})
    paused = inst.exports.outer.call_resumable(4)
    assert isinstance(paused, wasm2py.HostTrap) and isinstance(paused.host_error, Stop)
    done = paused.resume(6)
    # 1000 / 4 = 250, + 6 (the resumed host call), + host(5) * 3 = 18
    assert isinstance(done, wasm2py.Finished) and done.results == 250 + 6 + 18
    # 1000 / 5 = 200, + host(5) = 6, + host(6) * 3 = 21
    assert inst.exports.outer(5) == 200 + 6 + 21
    with pytest.raises(wasm2py.Trap) as e:
        inst.exports.outer(0)
    assert e.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert calls == [4, 5, 5, 6]
    return store, inst


@pytest.mark.parametrize("resumable", [True, False])
def test_resumable_calls_give_the_same_results_with_and_without_suspend_code(resumable):
    store, inst = _run(Config(tier="llvm", cache=False, llvm_resumable=resumable))
    assert inst._llvm.compiled.resumable is resumable
    assert store.native.suspending is resumable
    assert store.resumable == 0


def test_tier_up_units_without_suspend_code():
    config = Config(tier="auto", cache=False, tier_up_threshold=10**9, llvm_resumable=False)
    store = Store(Engine(config))
    inst = Instance(store, Module(store.engine, PROG), {"env": {"host": lambda x: x + 1}})
    tu = inst._tierup
    inst._attach_units(tu._compile([], shell=True))
    unit = tu._compile([1, 2, 3])
    inst._add_unit(unit)
    assert not unit.resumable and not store.native.suspending and inst.tier == "llvm"
    assert inst.exports.outer(5) == 200 + 6 + 21
    paused = inst.exports.outer.call_resumable(10)  # (runs in the Python tier, finishes)
    assert isinstance(paused, wasm2py.Finished) and paused.results == 100 + 11 + 36


def test_code_without_suspend_code_is_smaller_and_keyed_apart():
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.jit import cache_key, compile_module, host_target_machine

    m = decode_module(PROG)
    with_code = compile_module(m, 2)
    without = compile_module(m, 2, resumable=False)
    assert with_code.resumable and not without.resumable
    assert len(without.machine_code) < len(with_code.machine_code)
    tm = host_target_machine(2)
    assert cache_key(m, 2, tm, resumable=False) != cache_key(m, 2, tm)
    assert cache_key(m, 2, tm, resumable=True) == cache_key(m, 2, tm)  # (the default's key)


def test_the_cli_runs_without_suspend_code():
    from wasm2py.cli.run import _engine

    engine, _ = _engine(argparse.Namespace(tier="llvm", fuel=None))
    assert engine.config.llvm_resumable is False
