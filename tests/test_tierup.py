"""``tier="auto"`` function by function: per-function counters, compilation units of hot
functions patched into running instances, calls crossing between jitted and Python-tier
functions (traps, resumable calls, fuel), the per-unit machine-code cache."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed (pip install 'wasm2py[test]')")

import wasm2py  # noqa: E402
from wasm2py import Config, Engine, Instance, Module, Store  # noqa: E402
from wasm2py.llvm.jit import QUICK  # noqa: E402

from .wat import wat  # noqa: E402

# $fib is recursive (calls itself: a unit calls itself directly), $sum loops and calls $sq
# (possibly in another unit, or in the Python tier), $div traps on zero, $host calls the host
CHAIN = """(module
  (import "env" "host" (func $h (param i32) (result i32)))
  (table 3 funcref) (elem (i32.const 0) $sq $div)
  (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func $div (param i32) (result i32) i32.const 1000 local.get 0 i32.div_u)
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    block $out loop $l
      local.get 0 i32.eqz br_if $out
      local.get 1 local.get 0 call $sq i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.set 0
      br $l
    end end
    local.get 1)
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u if (result i32) local.get 0 else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib i32.add end)
  (func $via (export "via") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect (param i32) (result i32))
  (func $host (export "host") (param i32) (result i32)
    local.get 0 call $div local.get 0 call $h i32.add)
  (func (export "outer") (param i32) (result i32) local.get 0 call $host))
"""
SQ, DIV, SUM, FIB, VIA, HOST, OUTER = range(1, 8)


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def store_for(**config) -> Store:
    return Store(Engine(Config(tier="auto", baseline=False, cache=False, **config)))


def jit(inst, *units, level=None) -> None:
    """Attach the shell and ``units`` (lists of function indices) to ``inst``."""
    engine = inst.store.engine
    m = inst.module._module
    if inst._llvm is None:
        inst._attach_units(engine.load_unit(m, (), shell=True))
    for funcs in units:
        inst._add_unit(engine.load_unit(m, funcs, opt_level=level))


@pytest.mark.parametrize("level", [None, QUICK], ids=["O2", "quick"])
def test_mixed_instances_compute_what_the_python_tier_computes(level):
    store = store_for(tier_up_threshold=10**9)
    module = Module(store.engine, wat(CHAIN))
    for units in ([[SUM]], [[SQ]], [[SUM, SQ]], [[FIB]], [[VIA], [SQ]], [[HOST, DIV]],
                  [[OUTER], [DIV]]):  # fmt: skip
        inst = Instance(store, module, {"env": {"host": lambda x: x + 1}})
        jit(inst, *units, level=level)
        assert inst.tier == "mixed"
        e = inst.exports
        assert e.sum(100) == sum(k * k for k in range(1, 101)), units
        assert e.fib(15) == _fib(15)
        assert e.via(0, 12) == 144 and e.via(1, 8) == 125
        assert e.host(10) == 100 + 11 and e.outer(7) == 142 + 8
        with pytest.raises(wasm2py.Trap) as err:
            e.via(2, 1)  # null slot
        assert err.value.code is wasm2py.TrapCode.UNINITIALIZED_ELEMENT


def test_traps_cross_the_boundary_with_their_backtrace():
    # division by zero in $div, called by $host, called by `outer`: every split of the three
    # between the tiers traps with the same code and the same wasm frames
    store = store_for(tier_up_threshold=10**9)
    module = Module(store.engine, wat(CHAIN))
    expected = [DIV, HOST, OUTER]
    for units in ([], [[DIV]], [[HOST]], [[OUTER]], [[DIV], [OUTER]], [[HOST, OUTER]],
                  [[DIV, HOST, OUTER]]):  # fmt: skip
        inst = Instance(store, module, {"env": {"host": lambda x: x}})
        jit(inst, *units)
        with pytest.raises(wasm2py.Trap) as err:
            inst.exports.outer(0)
        assert err.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
        assert [i for i, _, _ in err.value.frames] == expected, units


def test_host_exceptions_cross_the_boundary_unchanged():
    class Boom(Exception):
        pass

    def host(x):
        raise Boom(x)

    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": host}})
    jit(inst, [OUTER])  # jitted `outer` -> Python-tier $host -> host function
    with pytest.raises(Boom) as err:
        inst.exports.outer(5)
    assert err.value.args == (5,)


def test_resumable_calls_on_mixed_instances_run_in_the_python_tier():
    class Stop(Exception):
        pass

    calls = []

    def host(x):
        calls.append(x)
        if len(calls) == 1:
            raise Stop
        return 1

    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": host}})
    jit(inst, [OUTER, DIV])
    paused = inst.exports.outer.call_resumable(4)  # jitted `outer` runs in Python now
    assert isinstance(paused, wasm2py.HostTrap) and isinstance(paused.host_error, Stop)
    assert paused.depth == 2  # `outer` and $host are paused Python frames
    done = paused.resume(6)
    assert isinstance(done, wasm2py.Finished) and done.results == 250 + 6
    assert store.resumable == 0 and inst.exports.outer(4) == 250 + 1  # jitted again


def test_fuel_runs_out_at_the_same_place_in_every_split():
    costs = wasm2py.FuelCosts()
    results = {}
    for units in ([], [[SUM]], [[SQ]], [[SUM, SQ]], [[SUM], [SQ]]):
        store = store_for(tier_up_threshold=10**9, consume_fuel=True, fuel_costs=costs)
        inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
        jit(inst, *units)
        seen = []
        for fuel in (0, 7, 100, 333, 10_000):
            store.set_fuel(fuel)
            try:
                seen.append((inst.exports.sum(20), store.get_fuel()))
            except wasm2py.Trap as t:
                seen.append((t.code, store.get_fuel()))
        results[str(units)] = seen
    first = results["[]"]  # the Python tier alone
    assert all(r == first for r in results.values()), results
    assert first[-1] == (2870, first[-1][1]) and first[0][0] is wasm2py.TrapCode.OUT_OF_FUEL


def test_hot_functions_are_compiled_and_patched_into_the_running_instance():
    store = store_for(tier_up_threshold=300, tier_up_batch=4)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
    e = inst.exports
    assert e.fib(12) == _fib(12)  # 465 calls of $fib: hot, queued
    assert inst.tier == "python"
    assert inst._tierup.wait(120)
    deadline = time.monotonic() + 120
    while inst.function_tiers()[FIB] == "python" and time.monotonic() < deadline:
        assert e.fib(12) == _fib(12)  # a check every 1,000 events attaches the unit
    tiers = inst.function_tiers()
    assert tiers[FIB] == "llvm" and tiers[SUM] == tiers[SQ] == "python"
    assert inst.tier == "mixed"
    assert e.sum(10) == 385  # 11 iterations and 10 calls: below the threshold
    assert inst.function_tiers()[SUM] == "python"
    assert [sorted(u.funcs) for u in inst._tierup.units] == [[], [FIB]]
    assert inst._tierup.error is None


def test_counters_count_each_function_separately():
    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
    counts: dict[int, int] = {}
    ns = inst._state.ns
    inst._state.slots.on_bind = lambda i: ns.__setitem__(
        f"HOT{i}", lambda: counts.__setitem__(i, counts.get(i, 0) + 1))
    inst.exports.sum(10)
    # $sum: its call and 11 loop iterations; $sq: 10 calls (no loop)
    assert counts == {SUM: 1 + 11, SQ: 10}


def test_a_second_run_starts_with_the_units_of_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    data = wat(CHAIN)

    def run():
        engine = Engine(Config(tier="auto", baseline=False, tier_up_threshold=300))
        inst = Instance(Store(engine), Module(engine, data), {"env": {"host": abs}})
        return inst

    first = run()
    assert first.tier == "python"
    first.exports.fib(12)
    assert first._tierup.wait(120)
    first._tierup.attach_ready()
    assert first.function_tiers()[FIB] == "llvm"
    second = run()  # a new engine (as a new process would have): from the cache
    assert second.function_tiers()[FIB] == "llvm" and second.tier == "mixed"
    assert all("load" in u.seconds for u in second._tierup.units)
    assert second.exports.fib(20) == _fib(20)


def test_cached_units_of_another_compile_policy_are_not_loaded(tmp_path, monkeypatch):
    # The manifest's key covers tierup.py, whose policy chose the units (which functions, at
    # which level): after a change of policy (here: level 0 where the quick pipeline was, and
    # another source), the units of the old one are not loaded; the functions are compiled
    # anew when hot, and the next run loads those.
    from wasm2py import tierup
    from wasm2py.llvm import units

    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    data = wat(CHAIN)

    def run():
        engine = Engine(Config(tier="auto", baseline=False, tier_up_threshold=300))
        return Instance(Store(engine), Module(engine, data), {"env": {"host": abs}})

    first = run()
    first.exports.fib(12)
    assert first._tierup.wait(120)
    first._tierup.attach_ready()
    assert first.function_tiers()[FIB] == "llvm"
    monkeypatch.setattr(tierup.TierUp, "_level", lambda self, funcs: QUICK if funcs else tierup.LEVEL)
    monkeypatch.setattr(units, "policy_digest", lambda: b"another tierup.py")
    second = run()
    assert second.function_tiers()[FIB] == "python"
    assert second.exports.fib(20) == _fib(20)
    assert second._tierup.wait(120)
    second._tierup.attach_ready()
    assert second.function_tiers()[FIB] == "llvm"
    third = run()  # the unit compiled under the new policy is loaded
    assert third.function_tiers()[FIB] == "llvm" and third.exports.fib(20) == _fib(20)
    assert all(u.seconds.keys() == {"load"} for u in third._tierup.units)


def test_idle_compile_threads_end_and_hot_functions_start_them_again(monkeypatch):
    from wasm2py import tierup

    monkeypatch.setattr(tierup, "IDLE_SECONDS", 0.5)
    store = store_for(tier_up_threshold=50)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
    up = inst._tierup
    assert inst.exports.fib(10) == 55
    assert up.wait(120) and up._threads
    deadline = time.monotonic() + 30
    while up._threads and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not up._threads  # the instance is alive, its idle thread is gone
    assert inst.exports.sum(100) == 338350  # $sum and $sq get hot: a thread compiles them
    assert up.wait(120)
    up.attach_ready()
    assert inst.function_tiers()[SUM] == "llvm"


def test_a_unit_that_fails_to_compile_leaves_its_functions_in_python(monkeypatch):
    from wasm2py.llvm import units as U

    real = U.compile_unit

    def failing(module, funcs, *a, **kw):
        if FIB in funcs:
            raise wasm2py.CompileError("no")
        return real(module, funcs, *a, **kw)

    monkeypatch.setattr(U, "compile_unit", failing)
    store = store_for(tier_up_threshold=50, tier_up_batch=8)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
    for _ in range(3):
        assert inst.exports.fib(10) == 55 and inst.exports.sum(100) == 338350
    assert inst._tierup.wait(120)
    inst._tierup.attach_ready()
    tiers = inst.function_tiers()
    assert tiers[FIB] == "python" and tiers[SQ] == "llvm"
    assert isinstance(inst._tierup.error, wasm2py.CompileError)
    assert inst.exports.fib(10) == 55 and inst.exports.sum(100) == 338350


def test_functions_of_a_failed_instantiation_run_from_a_shared_table():
    # The spec (linking.wast): an active segment written before a later one fails stays in
    # the table; the function it holds is callable although its instance never finished.
    store = store_for()
    owner = Instance(store, Module(store.engine, wat(
        """(module (table (export "tab") 10 funcref)
             (func (export "call") (param i32) (result i32)
               local.get 0 call_indirect (result i32)))""")))
    failing = Module(store.engine, wat(
        """(module (table (import "m" "tab") 10 funcref)
             (func $f (result i32) i32.const 42)
             (elem (i32.const 7) $f) (elem (i32.const 8) $f $f $f $f $f))"""))
    with pytest.raises(wasm2py.Trap):
        Instance(store, failing, {"m": {"tab": owner.exports["tab"]}})
    assert owner.exports["call"](7) == 42


# $big has more code than tierup.EAGER_BYTES: a loop over REPS additions (acc += r % 50 + 1),
# n times, then acc / host(d)
REPS = 2_600
ADDS = "\n      ".join(f"local.get $acc i32.const {r % 50 + 1} i32.add local.set $acc"
                      for r in range(REPS))  # fmt: skip
BIG_WAT = """(module
  (import "env" "host" (func $h (param i32) (result i32)))
  (func $big (export "big") (param $n i32) (param $d i32) (result i32) (local $acc i32)
    block $out loop $l
      local.get $n i32.eqz br_if $out
      ADDS
      local.get $n i32.const 1 i32.sub local.set $n
      br $l
    end end
    local.get $acc local.get $d call $h i32.div_u)
  (func (export "call_big") (param i32 i32) (result i32) local.get 0 local.get 1 call $big))
""".replace("ADDS", ADDS)
BIG, CALL_BIG = 1, 2
BIG_SUM = sum(r % 50 + 1 for r in range(REPS))  # one iteration's additions


def big_instance(host=lambda d: d, **config):
    from wasm2py.tierup import EAGER_BYTES

    store = store_for(tier_up_threshold=10**9, **config)
    module = Module(store.engine, wat(BIG_WAT))
    code = module._module.codes[BIG - 1]
    assert code.end - code.start > EAGER_BYTES  # (else this tests nothing)
    return Instance(store, module, {"env": {"host": host}})


@pytest.mark.parametrize("via", ["big", "call_big"])
def test_big_functions_run_jitted_from_their_first_call(via):
    inst = big_instance()
    assert inst.tier == "python"
    # the embedder calls it, or a Python-tier caller does
    assert inst.exports[via](3, 7) == 3 * BIG_SUM // 7
    assert inst.function_tiers()[BIG] == "llvm"
    assert not inst._state.slots.translated(BIG)  # never ran in the Python tier
    assert [sorted(u.funcs) for u in inst._tierup.units] == [[], [BIG]]
    assert inst.exports.call_big(5, 1) == 5 * BIG_SUM and inst.exports.big(0, 1) == 0
    with pytest.raises(wasm2py.Trap) as err:
        inst.exports.call_big(2, 0)
    assert err.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert [i for i, _, _ in err.value.frames] == [BIG, CALL_BIG]
    assert inst._tierup.error is None


def test_a_big_function_that_fails_to_compile_runs_in_the_python_tier(monkeypatch):
    from wasm2py.llvm import units as U

    def failing(*a, **kw):
        raise wasm2py.CompileError("no")

    monkeypatch.setattr(U, "compile_unit", failing)
    inst = big_instance()
    assert inst.exports.call_big(3, 7) == 3 * BIG_SUM // 7
    assert inst.function_tiers()[BIG] == "python" and inst._state.slots.translated(BIG)
    assert isinstance(inst._tierup.error, wasm2py.CompileError)
    assert inst.exports.big(2, 2) == BIG_SUM


def test_a_resumable_call_pauses_and_resumes_in_a_big_function():
    class Stop(Exception):
        pass

    calls = []

    def host(d):
        calls.append(d)
        if len(calls) == 1:
            raise Stop
        return d

    inst = big_instance(host)
    # its first call: compiled, then run in the Python tier (a resumable call needs Python
    # frames where jitted ones cannot pause)
    paused = inst.exports.call_big.call_resumable(4, 3)
    assert isinstance(paused, wasm2py.HostTrap) and isinstance(paused.host_error, Stop)
    assert paused.depth == 2  # $big and call_big
    done = paused.resume(5)  # host(3) "returned" 5
    assert isinstance(done, wasm2py.Finished) and done.results == 4 * BIG_SUM // 5
    assert inst.function_tiers()[BIG] == "llvm"
    assert inst.exports.call_big(4, 3) == 4 * BIG_SUM // 3 and calls == [3, 3]


def test_a_big_function_with_tail_calls_starts_in_the_python_tier():
    # (its unit would need the full pipeline, too slow to wait for at a first call)
    from wasm2py.tierup import EAGER_BYTES

    src = BIG_WAT.replace("local.get $acc local.get $d call $h i32.div_u)",
                          "local.get $acc local.get $d return_call $div)").replace(
        '(func (export "call_big")',
        '(func $div (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)\n'
        '  (func (export "call_big")')  # fmt: skip
    store = store_for(tier_up_threshold=10**9)
    module = Module(store.engine, wat(src))
    code = module._module.codes[BIG - 1]
    assert code.end - code.start > EAGER_BYTES
    inst = Instance(store, module, {"env": {"host": abs}})
    assert inst.exports.big(3, 7) == 3 * BIG_SUM // 7
    assert inst.function_tiers()[BIG] == "python" and inst._state.slots.translated(BIG)
    assert inst._tierup.units == [] and inst._tierup.error is None
    with pytest.raises(wasm2py.Trap) as err:
        inst.exports.big(1, 0)
    assert err.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO


# a counted loop (the Python tier's stretches), a br_if that skips the rest of its block and a
# br_table over nested blocks (the peephole's two rewrites)
REWRITTEN = """(module
  (func $tri (export "tri") (param i32) (result i32) (local i32 i32)
    block $out loop $l
      local.get 1 local.get 0 i32.ge_u br_if $out
      local.get 2 local.get 1 i32.add local.set 2
      local.get 1 i32.const 1 i32.add local.set 1
      br $l
    end end
    local.get 2)
  (func $pick (export "pick") (param i32) (result i32) (local i32)
    block $d block $c block $b block $a
      local.get 0 br_table $a $b $c $d
    end i32.const 10 local.set 1 br $d
    end i32.const 20 local.set 1
        local.get 0 i32.const 1 i32.eq br_if $d
        i32.const 21 local.set 1 br $d
    end i32.const 30 local.set 1
    end local.get 1))"""


def test_the_auto_tier_translates_without_the_optional_rewrites(monkeypatch):
    from wasm2py.binary.decoder import decode_module
    from wasm2py.translate import peephole
    from wasm2py.translate.module import ModuleGen, compile_function

    data = wat(REWRITTEN)
    m = decode_module(data)
    # the same functions translated for tier="auto" (quick) and without ``quick``
    quick, full = ModuleGen(m, hot=True), ModuleGen(m, hot=True)
    full.quick = False
    assert quick.quick and not ModuleGen(m).quick
    seen = []
    for name in ("fold_skips", "group_resets"):
        real = getattr(peephole, name)
        monkeypatch.setattr(peephole, name,
                            lambda *a, _real=real, _name=name: seen.append(_name) or _real(*a))
    for index in (0, 1):
        compile_function(quick, index, "x")
    assert seen == []
    for index in (0, 1):
        compile_function(full, index, "x")
    assert seen == ["fold_skips", "group_resets"] * 2
    # and it computes what the Python tier computes: tri(n) = 0 + 1 + ... + (n - 1); pick:
    # br_table index 0 -> $a's end sets 10; 1 -> $b's end sets 20 and br_if 1 == 1 leaves;
    # 2 -> $c's end sets 30; anything else -> $d, the local still 0
    expected_tri = {0: 0, 1: 0, 5: 10, 100: 4950}
    expected_pick = {0: 10, 1: 20, 2: 30, 3: 0, 99: 0}
    for tier in ("python", "auto"):
        config = Config(tier=tier, cache=False, tier_up_threshold=1_000_000, baseline=False)
        inst = Instance(Store(Engine(config)), Module(Engine(config), data))
        assert {n: inst.exports.tri(n) for n in expected_tri} == expected_tri
        assert {n: inst.exports.pick(n) for n in expected_pick} == expected_pick
        if tier == "auto":
            assert inst.tier == "python"  # (never hot: the quick translation ran it all)


def test_a_cold_load_finds_the_body_facts_in_the_validators_pass(monkeypatch):
    """The validator hands every body to the LLVM tiers' scan (``facts.FactsScan``): the
    facts are there without another decode of the bodies, and equal those of a decode."""
    from wasm2py.binary import module as binmod
    from wasm2py.llvm import facts as llvm_facts

    engine = Engine(Config(tier="auto", baseline=False, cache=False))
    m = Module(engine, wat(CHAIN))._module

    def no_decode(self):
        raise AssertionError("a body was decoded again")

    with monkeypatch.context() as mp:
        mp.setattr(binmod.Code, "body", property(no_decode))
        facts = llvm_facts.body_facts(m)
    # by hand from CHAIN: $sum loops and calls $sq; $fib calls itself; $via calls through
    # the table; $host calls $div and the import; outer calls $host; only $host and outer
    # can reach the host (the private table holds $sq and $div, which cannot)
    assert facts.long == bytes([0, 0, 1, 1, 1, 1, 1])
    assert facts.pausable == {HOST, OUTER}
    assert not any(facts.tail_calls)
    assert facts.loops == bytes([0, 0, 1, 0, 0, 0, 0])
    llvm_facts._LAST_FACTS[0] = None
    assert llvm_facts.body_facts(m) == facts  # (decoded: the same facts)


def test_the_manifest_lists_each_unit_once_in_the_order_compiled(tmp_path):
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.units import cached_units, record_unit

    m = decode_module(wat(CHAIN))
    for funcs, level in (((), 0), ((SUM, SQ), 0), ((FIB,), QUICK), ((SQ, SUM), 0)):
        record_unit(m, tmp_path, 2, None, funcs, level)
    assert cached_units(m, tmp_path, 2, None) == [(0, frozenset()), (0, {SUM, SQ}),
                                                 (QUICK, {FIB})]  # fmt: skip
    assert cached_units(m, tmp_path, 1, None) == []  # (other options: another manifest)


MIXED = """(module
  (global $g (mut i32) (i32.const 0))
  (func $mix (param i32 i64) (result i64)
    local.get 1 local.get 0 i64.extend_i32_u i64.xor)
  (func $keep (param i32) local.get 0 global.set $g)
  (func $neg (result i32) i32.const -2)
  (func (export "caller") (param i32 i64) (result i64)
    local.get 0 call $keep
    local.get 0 local.get 1 call $mix call $neg i64.extend_i32_u i64.add)
  (func (export "g") (result i32) global.get $g))
"""


def test_integer_values_cross_from_jitted_code_into_the_python_tier_unchanged():
    """Jitted caller (3) -> Python-tier $mix (i32, i64 -> i64), $keep (no result) and $neg
    (no parameter): the high bits of every value survive both ways (by hand:
    0xFFFFFFFFFFFFFFFF xor 0x80000000 = 0xFFFFFFFF7FFFFFFF, plus 0xFFFFFFFE wraps to
    0x7FFFFFFD)."""
    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(MIXED)))
    jit(inst, [3], level=0)
    assert inst.function_tiers() == {0: "python", 1: "python", 2: "python", 3: "llvm", 4: "python"}
    got = inst.exports.caller(0x80000000, -1)
    assert got & (2**64 - 1) == 0x7FFFFFFD
    assert inst.exports.g() & 0xFFFFFFFF == 0x80000000


def test_callbacks_into_the_python_tier_are_made_at_the_first_crossing(monkeypatch):
    """Attaching makes no ctypes callback for the functions left in the Python tier (nor
    for the host import): jitted code's first call of one makes it, for that function
    only. Values by hand: sum(5) = 1 + 4 + 9 + 16 + 25 = 55; host(10) = 1000 // 10 +
    (10 + 1) = 111, host(4) = 250 + 5 = 255."""
    from wasm2py.llvm.native import NativeRuntime

    made = []
    callback = NativeRuntime.callback

    def counted(self, f, caller=None):
        made.append(f)
        return callback(self, f, caller)

    monkeypatch.setattr(NativeRuntime, "callback", counted)
    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": lambda x: x + 1}})
    jit(inst, [SUM], [HOST])
    funcs = inst._state.funcs
    assert made == []
    assert inst.exports.sum(5) == 55 and inst.exports.sum(5) == 55
    assert made == [funcs[SQ]]  # once, at the first crossing
    assert inst.exports.host(10) == 111 and inst.exports.host(4) == 255
    assert made == [funcs[SQ], funcs[DIV], funcs[0]]
    assert inst.exports.fib(10) == 55  # (jitted code calling jitted code: no crossing)
    assert len(made) == 3


def test_a_failed_first_crossing_raises_and_the_next_call_makes_it(monkeypatch):
    """An error while the first crossing makes its callback leaves to the embedder
    unchanged, like a host exception, and the function stays deferred: the next call makes
    its callback and runs (sum(5) = 55 by hand)."""
    from wasm2py.llvm.native import NativeRuntime

    class Boom(Exception):
        pass

    def failing(self, f, caller=None):
        raise Boom

    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
    jit(inst, [SUM])
    with monkeypatch.context() as m:
        m.setattr(NativeRuntime, "callback", failing)
        with pytest.raises(Boom):
            inst.exports.sum(5)
    assert inst.exports.sum(5) == 55
    assert inst.exports.sum(0) == 0  # (no crossing: the loop ends at once)


# two modules with the same function indices and types, different code (a unit of each
# defines `functable` and `entry_0`/`entry_1`)
TWINS = [f"""(module
  (func $f (export "f") (param i32) (result i32) local.get 0 i32.const {k} i32.mul)
  (func (export "g") (param i32) (result i32) local.get 0 call $f i32.const {k} i32.add))
""" for k in (3, 5)]  # fmt: skip


def test_units_of_an_engine_share_one_execution_engine_without_name_clashes(tmp_path,
                                                                           monkeypatch):  # fmt: skip
    """Units of two modules with the same function indices (and one function in two units
    of one module) go into one engine; each unit calls its own code: by hand, g(x) = 3x + 3
    in the first module, 5x + 5 in the second. A second engine loads them from the cache,
    with the names they were compiled with."""
    from wasm2py.llvm.units import UnitEngine

    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    for _ in range(2):  # compiled, then from the cache
        store = Store(Engine(Config(tier="auto", baseline=False, tier_up_threshold=10**9)))
        got = []
        for text in TWINS:
            for units in ([[0, 1]], [[0], [1]]):
                inst = Instance(store, Module(store.engine, wat(text)))
                jit(inst, *units, level=0)
                assert inst.tier == "llvm"
                got.append((inst.exports.g(7), inst.exports.f(-1) & 0xFFFFFFFF))
        assert got == [(24, 2**32 - 3)] * 2 + [(40, 2**32 - 5)] * 2
        engines = {id(u.engine) for u in store.engine._units.values()}
        assert len(engines) == 1 and isinstance(store.engine._unit_engine, UnitEngine)
        # 3 units per module and one shell: the shell is made of the module's interface
        # (types, imports, exports...), the same in both
        assert len(store.engine._units) == 1 + 2 * 3


def test_a_tagged_unit_object_defines_only_tagged_names():
    import llvmlite.binding as llvm

    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import abi
    from wasm2py.llvm import jit as J

    m = decode_module(wat(CHAIN))
    for batch in ((frozenset((SUM, SQ)), False), (frozenset(), True)):
        obj = J.compile_part(m, 0, None, None, batch, tag="t1")
        engine = llvm.create_mcjit_compiler(J.parse("", J.host_target_machine()),
                                            J.host_target_machine())  # fmt: skip
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        assert engine.get_global_value_address("functable.t1")
        assert not engine.get_global_value_address("functable")
        if batch[1]:
            assert engine.get_global_value_address("tramptable.t1")
            assert engine.get_function_address("tramp_0.t1")
        else:
            entry = abi.entry_name(m.func_type_indices()[SUM])  # (SUM's type's entry)
            assert engine.get_function_address(f"{entry}.t1")
            assert not engine.get_function_address(entry)


COLD_RUN = r"""
import json, sys
import wasm2py
from wasm2py import Config, Engine, Instance, Module, Store
from wasm2py.llvm import abi

LLVM = ("llvmlite.binding", "llvmlite.ir", "wasm2py.llvm.jit", "wasm2py.llvm.suspend")
engine = Engine(Config(tier="auto", baseline=False, tier_up_threshold=300))
store = Store(engine)
inst = Instance(store, Module(engine, bytes.fromhex(sys.argv[1])), {"env": {"host": abs}})
out = {"sum": inst.exports.sum(10)}  # 11 iterations and 10 calls: never hot
out["cold"] = [m for m in LLVM if m in sys.modules]
out["cold_rt"] = [store.native.rt[abi.RT_RECORD], store.native.rt[abi.RT_SUSPEND_CB]]
inst.exports.fib(12)  # 465 calls of $fib: hot
assert inst._tierup.wait(120)
inst._tierup.attach_ready()
out["tiers"] = [inst.function_tiers()[i] for i in (4, 3)]  # $fib, $sum
out["hot"] = [m for m in LLVM if m in sys.modules]
out["hot_rt"] = [store.native.rt[abi.RT_RECORD], store.native.rt[abi.RT_SUSPEND_CB]]
print(json.dumps(out))
"""


def test_a_cold_run_loads_llvm_only_once_a_function_is_hot(tmp_path):
    """A ``tier="auto"`` instance of a module with no cached units loads none of LLVM (its
    bindings, the lowering, the trap-trace recorder that ``rt`` points jitted code at) until
    a function gets hot; then its unit runs jitted, with the recorder and the suspend
    callback in place. (A fresh process: this one has LLVM loaded already.)"""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "WASM2PY_CACHE_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", COLD_RUN, wat(CHAIN).hex()], env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    assert out["sum"] == 385  # 1 + 4 + ... + 100
    assert out["cold"] == [] and out["cold_rt"] == [0, 0]
    assert (FIB, SUM) == (4, 3) and out["tiers"] == ["llvm", "python"]
    assert "llvmlite.binding" in out["hot"] and all(out["hot_rt"])


def test_a_module_without_cached_units_is_told_without_the_compilers_digest(tmp_path,
                                                                             monkeypatch):  # fmt: skip
    """``cached_units`` of a module that never had a unit recorded (whatever the options)
    answers without a manifest key, whose compiler digest needs LLVM; once a unit is
    recorded, its manifest is read as before."""
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import units

    m = decode_module(wat(CHAIN))
    real = units.compiler_digest

    def no_digest(*args, **kwargs):
        raise AssertionError("the compiler's digest was computed")

    monkeypatch.setattr(units, "compiler_digest", no_digest)
    assert units.cached_units(m, tmp_path, 2, None) == []
    monkeypatch.setattr(units, "compiler_digest", real)
    units.record_unit(m, tmp_path, 1, None, (), 0)  # (a unit of other options)
    units.record_unit(m, tmp_path, 2, None, (FIB,), 0)
    assert units.cached_units(m, tmp_path, 2, None) == [(0, frozenset({FIB}))]
    assert units.cached_units(m, tmp_path, 1, None) == [(0, frozenset())]
    other = decode_module(wat(MIXED))
    monkeypatch.setattr(units, "compiler_digest", no_digest)
    assert units.cached_units(other, tmp_path, 2, None) == []
