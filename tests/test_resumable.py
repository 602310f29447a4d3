"""Resumable calls: host-error and out-of-fuel pauses, resumed at any depth, any number of
times, with state changed in between."""

from __future__ import annotations

import gc
import weakref

import pytest

import wasm2py
from wasm2py import (
    Config,
    Engine,
    Finished,
    HostTrap,
    Instance,
    Module,
    OutOfFuel,
    Store,
    Trap,
    TrapCode,
)

from .wat import wat

PROG = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (import "env" "note" (func $note (param i32)))
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  ;; sum over k < n of ask(k) + mem[k*4] + g
  (func (export "loop") (param $n i32) (result i32) (local $k i32) (local $acc i32)
    block
      loop
        local.get $k local.get $n i32.ge_u br_if 1
        local.get $acc
        local.get $k call $ask i32.add
        local.get $k i32.const 4 i32.mul i32.load i32.add
        global.get $g i32.add
        local.set $acc
        local.get $k i32.const 1 i32.add local.set $k
        br 0
      end
    end
    local.get $acc)
  ;; recurse n levels, ask at the bottom, add the level on the way back
  (func $deep (export "deep") (param $n i32) (result i32)
    local.get $n i32.eqz
    if (result i32)
      i32.const 0 call $ask
    else
      local.get $n i32.const 1 i32.sub call $deep local.get $n i32.add
    end)
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add
    end)
  (func (export "twice") (param i32) (result i32 i64)
    local.get 0 call $ask local.get 0 call $ask i64.extend_i32_s)
  (func (export "trap") (result i32) i32.const 0 call $ask drop unreachable)
  (func (export "callback") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "viahost") (param i32) (result i32) local.get 0 call $note local.get 0 call $ask)
)""")


class Ask(Exception):
    pass


def make(config=None, ask=None, note=None):
    engine = Engine(config or Config())
    store = Store(engine)

    def default_ask(k):
        raise Ask(k)

    imports = {"env": {"ask": ask or default_ask, "note": note or (lambda v: None)}}
    return store, Instance(store, Module(engine, PROG), imports)


def test_finished_when_nothing_pauses():
    store, inst = make(ask=lambda k: 10 * k)
    r = inst.exports.loop.call_resumable(4)
    assert isinstance(r, Finished) and r.results == 60
    assert inst.exports.loop.call_resumable(0).results == 0


def test_many_host_pauses_inside_a_loop_with_state_changes_between():
    store, inst = make()
    ex = inst.exports
    r = ex.loop.call_resumable(5)
    seen = []
    while isinstance(r, HostTrap):
        k = r.host_error.args[0]
        assert isinstance(r.host_error, Ask) and r.host_func.name == "default_ask"
        seen.append(k)
        ex.mem.write((k * 1000 + 7).to_bytes(4, "little"), 4 * k)  # the next load sees this
        ex.g.value = k  # and this global
        r = r.resume(k * 10)
    assert seen == [0, 1, 2, 3, 4]
    # each step adds ask(k) = 10k, mem[k] = 1000k + 7, g = k (set just before resuming)
    assert r.results == sum(10 * k + 1000 * k + 7 + k for k in range(5))


def test_pause_at_depth_and_resume_unwinds_every_frame():
    store, inst = make()
    r = inst.exports.deep.call_resumable(300)
    assert isinstance(r, HostTrap) and r.depth == 301
    r = r.resume(1000)
    assert r.results == 1000 + sum(range(1, 301))


def test_resume_checks_values_and_only_once():
    store, inst = make()
    r = inst.exports.deep.call_resumable(3)
    with pytest.raises(TypeError):
        r.resume()
    with pytest.raises(TypeError):
        r.resume(1, 2)
    with pytest.raises(OverflowError):
        r.resume(2**40)
    done = r.resume(-1)
    assert done.results == -1 + 6
    with pytest.raises(wasm2py.Error):
        r.resume(0)


def test_multi_value_results_and_repeated_pauses():
    store, inst = make()
    r = inst.exports.twice.call_resumable(5)
    r = r.resume(7)
    assert isinstance(r, HostTrap)
    assert r.resume(-8).results == (7, -8)


def test_genuine_traps_raise_and_root_host_functions_are_not_resumable():
    store, inst = make(ask=lambda k: 0)
    with pytest.raises(Trap) as e:
        inst.exports.trap.call_resumable()
    assert e.value.code is TrapCode.UNREACHABLE
    host = wasm2py.Func(store, wasm2py.FuncType([], []), lambda: (_ for _ in ()).throw(Ask(1)))
    with pytest.raises(Ask):
        host.call_resumable()


def test_nested_wasm_host_wasm_calls():
    state = {}

    def note(v):
        # the host calls back into wasm (a plain nested call) before the outer call pauses
        state["inner"] = state["callback"](v)

    store, inst = make(note=note)
    state["callback"] = inst.exports.callback
    r = inst.exports.viahost.call_resumable(41)
    assert state["inner"] == 42
    assert isinstance(r, HostTrap)
    assert r.resume(5).results == 5


def test_out_of_fuel_pauses_and_resumes_to_the_same_result_and_fuel():
    store, inst = make(Config(consume_fuel=True), ask=lambda k: k)
    store.set_fuel(10**9)
    expected = inst.exports.fib(14)
    plain_cost = 10**9 - store.get_fuel()
    store.set_fuel(0)
    r = inst.exports.fib.call_resumable(14)
    pauses = total = 0
    while isinstance(r, OutOfFuel):
        assert r.required_fuel > 0
        store.set_fuel(store.get_fuel() + r.required_fuel)
        total += r.required_fuel
        pauses += 1
        r = r.resume()
    assert r.results == expected == 377
    assert total == plain_cost and store.get_fuel() == 0
    assert pauses > 100


def test_switching_between_pause_kinds():
    store, inst = make(Config(consume_fuel=True))
    store.set_fuel(0)
    r = inst.exports.loop.call_resumable(3)
    kinds = []
    while not isinstance(r, Finished):
        if isinstance(r, OutOfFuel):
            kinds.append("fuel")
            store.set_fuel(r.required_fuel)
            r = r.resume()
        else:
            kinds.append("host")
            r = r.resume(1)
    assert r.results == 3
    assert kinds.count("host") == 3 and "fuel" in kinds


def test_dropping_a_paused_call_frees_its_frames():
    class Marker:
        pass

    data = wat("""(module (import "env" "ask" (func $ask (param externref) (result i32)))
                 (func (export "hold") (param externref) (result i32)
                   local.get 0 call $ask))""")
    engine = Engine()
    store = Store(engine)

    def ask(ref):
        raise Ask()

    inst = Instance(store, Module(engine, data), {"env": {"ask": ask}})
    marker = Marker()
    ref = weakref.ref(marker)
    r = inst.exports.hold.call_resumable(marker)
    del marker
    gc.collect()
    assert ref() is not None  # the paused frame holds it
    del r
    gc.collect()
    assert ref() is None
