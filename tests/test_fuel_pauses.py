"""Fuel stays exact across pauses: a resumable call that pauses for fuel (or for a host function)
any number of times, at any points, uses exactly the fuel of the same call run in one piece.

Metering is a security boundary, so this is checked on every kind of code a pause can land in:
loops (nested, with ``br_if``), direct, indirect and recursive calls, ``br_table``, bulk memory
and table instructions (whose charge depends on their operands), and host calls that charge fuel
themselves. Pause points are random (seeded, through hypothesis): each run starts with a random
amount of fuel and adds a random amount at each pause; host functions pause at random too.
Only the public API is used (``call_resumable``, ``OutOfFuel``, ``HostTrap``, ``Store`` fuel),
in each tier: an instance of the LLVM tier runs its plain calls jitted (metered the same way),
its resumable calls wherever the runtime runs them.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasm2py import (
    Caller,
    Config,
    Engine,
    Finished,
    FuelCosts,
    HostTrap,
    Instance,
    Module,
    OutOfFuel,
    Store,
    Trap,
    WasmException,
)
from wasm2py.binary.opcodes import Op
from wasm2py.config import TIERS
from wasm2py.errors import TrapCode

from .llvm_util import encode, outcome
from .test_llvm_diff import FUEL_COSTS as DIFF_COSTS
from .test_llvm_diff import NFUNCS
from .test_llvm_diff import modules as diff_modules
from .wat import wat

KERNELS = wat("""
(module
  (import "env" "work" (func $work (param i32) (result i32)))
  (type $ii (func (param i32) (result i32)))
  (memory (export "mem") 1 3)
  (table $t 8 funcref)
  (table $u 8 funcref)
  (global $g (export "g") (mut i32) (i32.const 1))
  (data $d "The quick brown fox jumps over the lazy dog, again and again and again.")
  (elem $e func $sq $xor $tri $host)
  (elem (table $t) (i32.const 0) func $sq $xor $tri $host)

  (func $sq (type $ii) local.get 0 local.get 0 i32.mul)
  (func $xor (type $ii) local.get 0 i32.const 0x5bd1e995 i32.xor)
  ;; a loop inside a callee: 0 + 1 + ... + (n & 15)
  (func $tri (type $ii) (local $i i32) (local $s i32)
    block
      loop
        local.get $i local.get 0 i32.const 15 i32.and i32.gt_u br_if 1
        local.get $s local.get $i i32.add local.set $s
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $s)
  (func $host (type $ii) local.get 0 call $work)
  (func $fib (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib i32.add
    end)

  ;; nested loops over memory, with br_if exits and a global
  (func (export "loops") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $acc i32)
    loop $outer
      i32.const 0 local.set $j
      block $done
        loop $inner
          local.get $j i32.const 12 i32.ge_u br_if $done
          local.get $j i32.const 4 i32.mul
          local.get $acc local.get $i i32.add local.get $j i32.mul
          i32.store
          local.get $acc local.get $j i32.const 4 i32.mul i32.load i32.add local.set $acc
          local.get $j i32.const 1 i32.add local.set $j
          br $inner
        end
      end
      global.get $g local.get $acc i32.add global.set $g
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $outer
    end
    local.get $acc)

  ;; direct, indirect and recursive calls from a loop
  (func (export "calls") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        local.get $acc
        local.get $i call $sq i32.add
        local.get $i local.get $i i32.const 3 i32.and call_indirect $t (type $ii) i32.add
        local.get $i i32.const 7 i32.and call $fib i32.add
        local.get $i call $tri i32.add
        local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $acc)

  ;; br_table dispatch in a loop, arms of different lengths
  (func (export "branches") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    loop $top
      block $b4
        block $b3
          block $b2
            block $b1
              block $b0
                local.get $i i32.const 5 i32.rem_u
                br_table $b0 $b1 $b2 $b3 $b4
              end
              local.get $acc i32.const 3 i32.add local.set $acc
              br $b4
            end
            local.get $acc local.get $i i32.mul i32.const 1 i32.add local.set $acc
            br $b3
          end
          local.get $acc i32.const 13 i32.rotl local.set $acc
        end
        local.get $acc local.get $i i32.xor local.set $acc
      end
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $top
    end
    local.get $acc)

  ;; bulk memory and table instructions with operand-dependent sizes
  (func (export "bulk") (param $n i32) (result i32) (local $i i32) (local $k i32) (local $acc i32)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        local.get $i i32.const 149 i32.mul i32.const 1023 i32.and local.set $k
        (memory.fill (i32.const 4096) (local.get $i) (local.get $k))
        (memory.copy (i32.const 9000) (i32.const 4096) (i32.add (local.get $k) (i32.const 70)))
        (memory.init $d (i32.const 20000) (i32.const 3) (i32.rem_u (local.get $i) (i32.const 60)))
        (table.fill $u (i32.const 0) (ref.null func) (i32.rem_u (local.get $i) (i32.const 9)))
        (table.copy $u $t (i32.const 2) (i32.const 0) (i32.const 4))
        (table.init $u $e (i32.const 4) (i32.const 1) (i32.const 3))
        local.get $acc
        (i32.load8_u (i32.add (i32.const 9000) (local.get $k))) i32.add
        (i32.load8_u (i32.add (i32.const 20000) (local.get $i))) i32.add
        (call_indirect $u (type $ii) (local.get $i) (i32.add (i32.const 4) (i32.rem_u (local.get $i) (i32.const 3))))
        i32.add
        local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $acc)

  ;; host calls (which charge fuel themselves) in a loop, and through a table
  (func (export "host") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    loop
      local.get $acc local.get $i call $work i32.add
      local.get $i i32.const 3 call_indirect $t (type $ii) i32.add
      local.set $acc
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if 0
    end
    local.get $acc)
)
""")

#: kernel -> argument (plain runs of a few thousand to ~25,000 fuel)
ARGS = {"loops": 40, "calls": 40, "branches": 400, "bulk": 60, "host": 60}

COSTS = {
    "default": FuelCosts(),
    "weighted": FuelCosts(instruction=2, bulk_per_64=5,
                          per_opcode=((Op.CALL, 9), (Op.CALL_INDIRECT, 13), (Op.BR_TABLE, 4),
                                      (Op.LOOP, 0), (Op.MEMORY_FILL, 3), (Op.BR_IF, 0))),
}  # fmt: skip


def work_value(k: int) -> int:
    return (k * 2654435761 >> 7) & 0xFFFF


def work_cost(k: int) -> int:
    return 3 * (k % 5)


class Pause(Exception):
    """A host function pausing the call (it has not done its work yet)."""

    def __init__(self, k: int):
        super().__init__(k)
        self.k = k


class Setup:
    """A metered store of one tier with the kernels instantiated."""

    def __init__(self, tier: str, costs: str):
        self.store = Store(Engine(Config(tier=tier, consume_fuel=True, fuel_costs=COSTS[costs])))
        self.pause_next = None  # a random.Random while a paused run wants host pauses

        def work(caller: Caller, k: int) -> int:
            rng = self.pause_next
            if rng is not None and (rng.random() < 0.3 or caller.get_fuel() < work_cost(k)):
                raise Pause(k)
            caller.consume_fuel(work_cost(k))
            return work_value(k)

        module = Module(self.store.engine, KERNELS)
        self.exports = Instance(self.store, module, {"env": {"work": work}}).exports

    def state(self):
        return bytes(self.exports.mem.buffer), self.exports.g.value

    def plain(self, name: str, arg: int):
        """(result, fuel used, memory, global) of a call run in one piece."""
        before = self.state()
        start = 10**9
        self.store.set_fuel(start)
        r = self.exports[name](arg)
        out = (r, start - self.store.get_fuel(), *self.state())
        self._restore(before)
        return out

    def paused(self, name: str, arg: int, seed: int, slice_max: int):
        """The same with random pauses: (result, fuel used, memory, global, pauses)."""
        before = self.state()
        rng = random.Random(seed)
        self.pause_next = rng
        given = rng.randint(0, slice_max)
        self.store.set_fuel(given)
        pauses = 0
        try:
            r = self.exports[name].call_resumable(arg)
            while not isinstance(r, Finished):
                pauses += 1
                if isinstance(r, OutOfFuel):
                    assert r.required_fuel > self.store.get_fuel()
                    add = r.required_fuel + rng.randint(0, slice_max)
                    self.store.set_fuel(self.store.get_fuel() + add)
                    given += add
                    r = r.resume()
                else:
                    assert isinstance(r, HostTrap) and isinstance(r.host_error, Pause)
                    k = r.host_error.k
                    # do the host function's work for it: its charge, then its result
                    short = max(0, work_cost(k) - self.store.get_fuel())
                    self.store.set_fuel(self.store.get_fuel() + short)
                    given += short
                    self.store.consume_fuel(work_cost(k))
                    r = r.resume(work_value(k))
        finally:
            self.pause_next = None
        out = (r.results, given - self.store.get_fuel(), *self.state(), pauses)
        self._restore(before)
        return out

    def _restore(self, state) -> None:
        mem, g = state
        self.exports.mem.write(mem)
        self.exports.g.value = g


_SETUPS: dict[tuple[str, str], Setup] = {}


def setup(tier: str, costs: str) -> Setup:
    key = (tier, costs)
    if key not in _SETUPS:
        _SETUPS[key] = Setup(tier, costs)
    return _SETUPS[key]


TIER_PAIRS = [t for t in TIERS if t != "auto"]  # auto starts as the Python tier


@pytest.mark.parametrize("costs", COSTS)
@pytest.mark.parametrize("name", ARGS)
def test_plain_runs_use_the_same_fuel_in_every_tier(name, costs):
    outs = {tier: setup(tier, costs).plain(name, ARGS[name]) for tier in TIER_PAIRS}
    assert len(set(outs.values())) == 1, {t: o[:2] for t, o in outs.items()}


@pytest.mark.parametrize("tier", TIER_PAIRS)
@pytest.mark.parametrize("costs", COSTS)
@pytest.mark.parametrize("name", ARGS)
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(seed=st.integers(0, 2**32 - 1), slice_max=st.sampled_from([0, 3, 40, 700, 5000]))
def test_random_pauses_use_exactly_the_fuel_of_a_plain_run(tier, costs, name, seed, slice_max):
    s = setup(tier, costs)
    result, used, mem, g = s.plain(name, ARGS[name])
    p_result, p_used, p_mem, p_g, pauses = s.paused(name, ARGS[name], seed, slice_max)
    assert (p_result, p_mem, p_g) == (result, mem, g)
    assert p_used == used, f"{pauses} pauses"


@pytest.mark.parametrize("tier", TIER_PAIRS)
def test_a_pause_inside_a_long_loop_charges_the_rest_of_the_loop(tier):
    # The case, scaled down: a loop whose plain run uses ~100,000 fuel, run in slices
    # of 10,000, pauses about ten times and must be charged exactly as much in total.
    s = setup(tier, "default")
    result, used, *_ = s.plain("loops", 600)
    assert used > 90_000
    s.store.set_fuel(10_000)
    given, pauses = 10_000, 0
    r = s.exports.loops.call_resumable(600)
    while isinstance(r, OutOfFuel):
        s.store.set_fuel(s.store.get_fuel() + 10_000)
        given += 10_000
        pauses += 1
        r = r.resume()
    assert r.results == result
    assert given - s.store.get_fuel() == used
    assert pauses >= used // 10_000 - 1


# -- generated modules ------------------------------------------------------------------------
#: the fuel of a plain call in _run_calls (a resumable one is given no more in total)
PLENTY = 10**9


def _run_calls(module: Module, calls, seed: int | None, slice_max: int = 0):
    """Each function of a generated module (tests/test_llvm_diff.py) called with each argument
    tuple, in a fresh store: per call (outcome, fuel used); then the globals and memory.
    ``seed`` None: plain calls with plenty of fuel; else resumable calls paused at random
    points."""
    store = Store(module.engine)
    ex = Instance(store, module, {}).exports
    rng = random.Random(seed)
    out = []
    for args in calls:
        for i in range(NFUNCS):
            f = ex[f"f{i}"]
            if seed is None:
                store.set_fuel(PLENTY)
                given = PLENTY
                got = outcome(f, args)
            else:
                given = rng.randint(0, slice_max)
                store.set_fuel(given)
                try:
                    r = f.call_resumable(*args)
                    while isinstance(r, OutOfFuel):
                        if given - store.get_fuel() + r.required_fuel > PLENTY:
                            break  # where the plain call runs out (a bulk op's charge)
                        add = r.required_fuel + rng.randint(0, slice_max)
                        store.set_fuel(store.get_fuel() + add)
                        given += add
                        r = r.resume()
                    if isinstance(r, OutOfFuel):
                        got = ("trap", TrapCode.OUT_OF_FUEL)
                    else:
                        got = ("ok", tuple(encode(v, t) for v, t in
                                           zip(_as_tuple(r.results), f.type.results)))  # fmt: skip
                except Trap as t:
                    got = ("trap", t.code)
                except WasmException as e:  # uncaught: as ``outcome`` reports it
                    params = e.tag.type.params
                    got = ("exn", params, tuple(encode(v, t) for v, t in zip(e.values, params)))
            out.append((got, given - store.get_fuel()))
    store.set_fuel(10**9)
    out.append(outcome(ex.globals, ()))
    out.append(bytes(ex.mem.buffer))
    return out


def _as_tuple(r):
    return () if r is None else r if isinstance(r, tuple) else (r,)


@pytest.mark.parametrize("tier", TIER_PAIRS)
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(case=diff_modules(), seed=st.integers(0, 2**32 - 1),
       slice_max=st.sampled_from([0, 5, 60]), k=st.sampled_from(range(len(DIFF_COSTS))))  # fmt: skip
def test_random_pauses_on_generated_modules(tier, case, seed, slice_max, k):
    text, calls = case
    engine = Engine(Config(tier=tier, consume_fuel=True, fuel_costs=DIFF_COSTS[k], cache=False))
    module = Module(engine, wat(text))  # compiled once, instantiated in two stores
    assert _run_calls(module, calls, seed, slice_max) == _run_calls(module, calls, None)
