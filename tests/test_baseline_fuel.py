"""Fuel metering and epoch interruption in the baseline tier (``tier="auto"`` with
``Config.baseline``: every function compiled to machine code at its first call).

The baseline charges the segments of :mod:`wasm2py.fuel` like the two other tiers, so from the
same starting fuel every call must give the same result or trap and leave the same fuel as in
the Python tier and in the LLVM tier (the stop points are identical); out-of-fuel and epoch traps
must have the LLVM tier's backtrace. The expected values come from the other tiers, or, for the
hand-read functions of ``tests/test_fuel_carry.py``, from a model of their segments read off
their text.
"""

from __future__ import annotations

import os
import platform
import random
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("llvmlite", reason="llvmlite is not installed: the LLVM tier is the reference")

from wasm2py import Config, Engine, FuelCosts, Instance, Module, Store, Trap  # noqa: E402
from wasm2py import llvm as L  # noqa: E402
from wasm2py.baseline import emit  # noqa: E402
from wasm2py.baseline.unit import available  # noqa: E402
from wasm2py.errors import TrapCode  # noqa: E402

from . import test_baseline_diff_int as BD  # noqa: E402
from . import test_llvm_diff as LD  # noqa: E402
from . import test_llvm_fuel as LF  # noqa: E402
from .llvm_util import outcome, same  # noqa: E402
from .test_fuel import LOOP, count_cost  # noqa: E402
from .test_fuel_carry import WAT as CARRY  # noqa: E402
from .test_fuel_carry import check_resumes, check_stops, divide_segments, fib_segments, total  # noqa: E402
from .test_llvm_fuel import COSTS, HOST, host_imports  # noqa: E402
from .wat import wat  # noqa: E402

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or not available(),
                                reason="x86-64 machine code")  # fmt: skip

EXAMPLES_FROM_ENV = os.environ.get("WASM2PY_BASELINE_FUEL_EXAMPLES")
EXAMPLES = int(EXAMPLES_FROM_ENV or 20)


def baseline_store(**config) -> Store:
    """A ``tier="auto"`` store with the baseline tier and no tier-up to LLVM."""
    cfg = dict(tier="auto", baseline=True, cache=False, llvm_isolated=False,
               tier_up_threshold=1 << 62)  # fmt: skip
    cfg.update(config)
    return Store(Engine(Config(**cfg)))


class Trio:
    """A module in the Python tier and the LLVM tier (one store) and in the baseline tier (a
    store of its own), all metering fuel with ``costs``."""

    def __init__(self, data: bytes, costs: FuelCosts, imports=None):
        self.store = Store(Engine(Config(consume_fuel=True, fuel_costs=costs, cache=False)))
        mod = Module(self.store.engine, data)
        self.py = Instance(self.store, mod, imports(self.store) if imports else {}).exports
        cm = L.compile_module(mod._module, fuel_costs=costs)
        self.ll = L.instantiate(self.store, cm, imports(self.store) if imports else {}).exports
        self.bstore = baseline_store(consume_fuel=True, fuel_costs=costs)
        self.binst = Instance(self.bstore, Module(self.bstore.engine, data),
                              imports(self.bstore) if imports else {})  # fmt: skip
        self.bl = self.binst.exports

    def run(self, which: str, name: str, args, fuel: int):
        store = self.bstore if which == "bl" else self.store
        exports = getattr(self, which)
        store.set_fuel(fuel)
        try:
            r = ("ok", exports[name](*args))
        except Trap as t:
            r = ("trap", t.code, [(i, off) for i, _, off in t.frames])
        mem = bytes(exports["mem"].buffer) if "mem" in exports else b""
        return r, store.get_fuel(), mem

    def agree(self, name: str, args=(), fuels=None, plenty: int = 10**9) -> int:
        """The three agree for each starting fuel (the LLVM and baseline tiers also on the
        trap's backtrace); returns the fuel a full call takes."""
        a = self.run("py", name, args, plenty)
        c = self.run("bl", name, args, plenty)
        # (the Python tier's trap offsets differ: it names the instruction before a segment)
        assert a[0][:2] == c[0][:2] and a[1:] == c[1:], (name, args, plenty, a[:2], c[:2])
        used = plenty - a[1]
        for fuel in LF.fuel_limits(used, 60) if fuels is None else fuels:
            a = self.run("py", name, args, fuel)
            b = self.run("ll", name, args, fuel)
            c = self.run("bl", name, args, fuel)
            assert b == c, (name, args, fuel, b[:2], c[:2])  # (backtraces too)
            assert a[0][:2] == c[0][:2] and a[1:] == c[1:], (name, args, fuel, a[:2], c[:2])
        return used

    def baseline_funcs(self) -> set[int]:
        return {i for i, t in self.binst.function_tiers().items() if t == "baseline"}


@pytest.fixture(params=sorted(COSTS))
def costs(request):
    return COSTS[request.param]


def test_loop_stops_where_the_other_tiers_stop(costs):
    t = Trio(LOOP, costs)
    for n in (0, 1, 7, 40):
        used = t.agree("count", (n,))
        if costs == FuelCosts():
            assert used == count_cost(n)  # (test_fuel.py's hand count)
    assert t.baseline_funcs() == {0}


def test_host_functions_see_and_change_the_fuel(costs):
    t = Trio(HOST, costs, host_imports)
    for n in (0, 3, 40):
        t.agree("work", (n,))
    t.agree("refilled", (1000,))
    t.agree("refilled", (0,))
    assert {3, 4, 5} <= t.baseline_funcs()  # count, work, refilled


def test_kernels_meter_fuel_like_both_tiers():
    from tools.bench.build import KERNELS, ToolMissing, build_kernel

    for name, k in KERNELS.items():
        if name == "simd_filter":
            continue
        try:
            data = build_kernel(name).read_bytes()
        except ToolMissing as e:
            pytest.skip(str(e))
        t = Trio(data, FuelCosts())
        used = t.agree("run", (k.quick_n,), fuels=[])
        assert used > 0
        rnd = random.Random(name)
        t.agree("run", (k.quick_n,), fuels=[0, 1, used - 1, used] + sorted(
            rnd.randrange(used) for _ in range(12)))  # fmt: skip
        tiers = t.binst.function_tiers()
        assert tiers[t.binst.exports["run"].index] == "baseline", name
        assert set(tiers.values()) <= {"baseline", "python"}, (name, tiers)


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_fib_stops_where_the_segments_say(n):
    """tests/test_fuel_carry.py's hand-read segments, in baseline code."""
    store = baseline_store(consume_fuel=True)
    inst = Instance(store, Module(store.engine, CARRY), {})
    fib = inst.exports.fib
    check_stops(store, fib, (n,), fib_segments, range(total(fib_segments(n)) + 2), None)
    check_stops(store, inst.exports.divide, (7, 2), divide_segments, range(11), None)
    check_stops(store, inst.exports.divide, (7, 0), divide_segments, range(11),
                TrapCode.INTEGER_DIVIDE_BY_ZERO)  # fmt: skip
    assert set(inst.function_tiers().values()) == {"baseline"}


@pytest.mark.parametrize("n", [1, 4])
def test_fuel_paused_resumable_calls_resume_exactly(n):
    """Baseline frames cannot pause: a resumable call in a store whose functions already run
    as baseline code runs in the Python tier, and pauses and resumes where the segments say;
    plain calls after it run baseline code again."""
    store = baseline_store(consume_fuel=True)
    inst = Instance(store, Module(store.engine, CARRY), {})
    fib = inst.exports.fib
    store.set_fuel(10**6)
    fib(n)  # (compiled at the first call)
    assert inst.function_tiers() == {0: "baseline", 1: "python"}
    check_resumes(store, fib, (n,), fib_segments, range(total(fib_segments(n)) + 1))
    check_stops(store, fib, (n,), fib_segments, range(total(fib_segments(n)) + 2), None)
    assert inst.function_tiers()[0] == "baseline"


def test_huge_segment_costs_and_fuel_beyond_64_bits():
    """Segment costs over 2**31 (a 64-bit immediate) and fuel over 2**64 (the part the native
    counter cannot hold waits in the runtime)."""
    big = FuelCosts(instruction=2**33 + 7)
    t = Trio(LOOP, big)
    for n in (0, 3):
        used = t.agree("count", (n,), fuels=[], plenty=2**70)
        rnd = random.Random(n)
        t.agree("count", (n,), plenty=2**70,
                fuels=sorted({used - 1, used, used + 1, 2**33 + 6, 2**33 + 7,
                              *(rnd.randrange(used) for _ in range(20))}))  # fmt: skip
    t.bstore.set_fuel(2**70 + 5)
    assert t.bl["count"](10) == 55
    assert t.bstore.get_fuel() == 2**70 + 5 - count_cost(10) * (2**33 + 7)


def test_code_cache_keeps_metered_code_apart(tmp_path, monkeypatch):
    """Baseline code cached by a store with fuel (or other costs, or epoch checks) is not the
    code of a store without: each store gets code metering as it says."""
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    custom = COSTS["custom"]
    runs = [dict(consume_fuel=True), dict(), dict(consume_fuel=True, fuel_costs=custom),
            dict(epoch_interruption=True), dict(consume_fuel=True)]  # fmt: skip
    for config in runs:
        store = baseline_store(cache=True, **config)
        if config.get("consume_fuel"):
            store.set_fuel(10**6)
        if config.get("epoch_interruption"):
            store.set_epoch_deadline(1)
        inst = Instance(store, Module(store.engine, LOOP), {})
        assert inst.exports.count(10) == 55
        assert inst.function_tiers()[0] == "baseline"
        if config.get("consume_fuel"):
            ref = Trio(LOOP, config.get("fuel_costs", FuelCosts()))
            ref.store.set_fuel(10**6)
            assert ref.py["count"](10) == 55
            assert store.get_fuel() == ref.store.get_fuel(), config
        if config.get("epoch_interruption"):
            store.engine.increment_epoch()
            with pytest.raises(Trap) as info:
                inst.exports.count(10)
            assert info.value.code is TrapCode.INTERRUPT


# -- epochs ----------------------------------------------------------------------------------

SPIN = wat("""(module
  (memory (export "mem") 1)
  (func (export "spin") (param i32) (result i32)
    (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br 0))
    (local.get 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))""")


@pytest.mark.parametrize("fuel", [False, True])
def test_increment_epoch_stops_a_spinning_baseline_loop(fuel):
    """Another thread's ``Engine.increment_epoch`` stops a loop that never ends, at its
    header, with the LLVM tier's backtrace; the deadline passed, calls trap at entry."""
    store = baseline_store(epoch_interruption=True, consume_fuel=fuel)
    if fuel:
        store.set_fuel(1 << 62)
    store.set_epoch_deadline(1)
    inst = Instance(store, Module(store.engine, SPIN), {})
    assert inst.exports.add(1, 2) == 3
    fired = threading.Event()

    def watchdog():
        time.sleep(0.2)
        fired.set()
        store.engine.increment_epoch()

    w = threading.Thread(target=watchdog, daemon=True)
    w.start()
    with pytest.raises(Trap) as info:
        inst.exports.spin(0)
    w.join()
    assert fired.is_set() and info.value.code is TrapCode.INTERRUPT
    assert inst.function_tiers() == {0: "baseline", 1: "baseline"}
    with pytest.raises(Trap) as entry:
        inst.exports.add(1, 2)
    assert entry.value.code is TrapCode.INTERRUPT
    # the LLVM tier's backtraces: the loop header, and the entry
    ls = Store(Engine(Config(tier="llvm", epoch_interruption=True, cache=False,
                             consume_fuel=fuel)))  # fmt: skip
    if fuel:
        ls.set_fuel(1 << 62)
    ls.set_epoch_deadline(1)
    li = Instance(ls, Module(ls.engine, SPIN), {})
    threading.Timer(0.2, ls.engine.increment_epoch).start()
    with pytest.raises(Trap) as lt:
        li.exports.spin(0)
    with pytest.raises(Trap) as le:
        li.exports.add(1, 2)
    frames = [(i, off) for i, _, off in info.value.frames]
    assert frames == [(i, off) for i, _, off in lt.value.frames] and frames[0][1] > 0
    assert [(i, off) for i, _, off in entry.value.frames] == \
        [(i, off) for i, _, off in le.value.frames]  # fmt: skip
    store.set_epoch_deadline(5)
    assert inst.exports.add(2, 3) == 5


# -- generated modules -------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES_FROM_ENV is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(BD.modules(), st.integers(0, 600), st.sampled_from(range(len(LD.FUEL_COSTS))),
       st.booleans())  # fmt: skip
def test_generated_integer_modules_meter_like_the_python_tier(case, fuel, k, pins):
    """``tests/test_baseline_diff_int.py``'s modules (every function compiles), each call from
    the same starting fuel: the same outcome and fuel left as the Python tier, with the
    busiest locals in registers and without."""
    text, calls = case
    costs = LD.FUEL_COSTS[k]
    data = wat(text)
    ref = Store(Engine(Config(consume_fuel=True, fuel_costs=costs, cache=False)))
    py = Instance(ref, Module(ref.engine, data), {}).exports
    bs = baseline_store(consume_fuel=True, fuel_costs=costs)
    bi = Instance(bs, Module(bs.engine, data), {})
    saved = emit.FuncEmitter.pin_locals
    emit.FuncEmitter.pin_locals = pins
    try:
        for args in calls:
            for i in range(BD.NFUNCS):
                seen = []
                for store, ex in ((ref, py), (bs, bi.exports)):
                    store.set_fuel(fuel)
                    seen.append((outcome(ex[f"f{i}"], args), store.get_fuel()))
                assert seen[0] == seen[1], (i, args, fuel, seen)
    finally:
        emit.FuncEmitter.pin_locals = saved
    assert set(bi.function_tiers().values()) == {"baseline"}
    for name in ("g0", "g1"):
        assert bi.exports[name].value == py[name].value
    m1, m2 = bi.exports["mem"], py["mem"]
    assert bytes(m1.read(0, len(m1.buffer))) == bytes(m2.read(0, len(m2.buffer)))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES_FROM_ENV is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(LD.modules(), st.integers(0, 600), st.sampled_from(range(len(LD.FUEL_COSTS))))
def test_generated_modules_meter_like_both_tiers(case, fuel, k):
    """``tests/test_llvm_diff.py``'s modules (floats, memory64, bulk memory...: what the
    baseline refuses runs in the Python tier of the same instance): the Python tier, the
    LLVM tier and the baseline store agree on every call's outcome and fuel left."""
    text, calls = case
    costs = LD.FUEL_COSTS[k]
    t = Trio(wat(text), costs)
    for args in calls:
        for i in range(LD.NFUNCS):
            seen = []
            for store, ex in ((t.store, t.py), (t.store, t.ll), (t.bstore, t.bl)):
                store.set_fuel(fuel)
                seen.append((outcome(ex[f"f{i}"], args), store.get_fuel()))
            (a, fa), (b, fb), (c, fc) = seen
            assert same(a, c, loose_nan=True) and same(b, c, loose_nan=True), (i, seen)
            assert fa == fb == fc, (i, args, fuel, seen)
    t.store.set_fuel(10**9)
    t.bstore.set_fuel(10**9)
    assert outcome(t.py["globals"], ()) == outcome(t.bl["globals"], ())
    for mem in ("mem", "mem64"):
        assert LD.memory_bytes(t.py[mem]) == LD.memory_bytes(t.bl[mem]), mem
