"""Epoch interruption (``Config(epoch_interruption=True)``): a watchdog thread stops a call that
would never return, in every tier; deadlines count increments exactly; nothing is generated
when the option is off."""

from __future__ import annotations

import threading
import time

import pytest

import wasm2py
from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode

from .wat import wat

#: "python-flat": the Python tier with every function in the flat shape (its loops are jumps
#: back to a header block, which must check the deadline as ``while RUN`` does); "auto": the
#: Python tier tiering up to LLVM; "baseline": ``tier="auto"`` with the baseline tier (every
#: function compiled to machine code at its first call)
TIERS = ["python", "python-flat", "llvm", "auto", "baseline"]


def tier_config(tier: str, **kw) -> Config:
    if tier == "python-flat":
        return Config(python_shape="flat", epoch_interruption=True, cache=False, **kw)
    if tier in ("auto", "baseline"):
        return Config(tier="auto", baseline=tier == "baseline", epoch_interruption=True,
                      cache=False, **kw)  # fmt: skip
    return Config(tier=tier, epoch_interruption=True, cache=False, **kw)

SPIN = wat("""(module
  (import "env" "tick" (func $tick))
  (global $n (export "n") (mut i32) (i32.const 0))
  ;; an infinite loop with nothing in it
  (func (export "spin") (loop br 0))
  ;; an infinite loop that calls the host every iteration
  (func (export "ticking") (loop call $tick global.get $n i32.const 1 i32.add global.set $n br 0))
  ;; calls and no loop: exponential work, about 2**n calls
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 1 else
      local.get 0 i32.const 1 i32.sub call $rec
      local.get 0 i32.const 1 i32.sub call $rec i32.add end)
  ;; a finite loop, hot enough to tier up in the auto tier
  (func (export "count") (param i32) (result i32) (local i32)
    (loop local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_u br_if 0)
    local.get 1)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))""")


def setup(tier: str, tick=None, **kw):
    engine = Engine(tier_config(tier, **kw))
    store = Store(engine)
    calls = []

    def default_tick():
        calls.append(1)

    inst = Instance(store, Module(engine, SPIN), {"env": {"tick": tick or default_tick}})
    return engine, store, inst


#: the functions of SPIN that warm_up makes hot: rec, count, add (tick is import 0)
WARM = (3, 4, 5)


def warm_up(inst) -> None:
    """tier="auto": run ``rec``, ``count`` and ``add`` until they run jitted (tier-up is per
    function: the compiles run in child processes, at most ~60 s on a loaded machine); the
    infinite loops stay in the Python tier, so the instance is a mixed one."""
    deadline = time.monotonic() + 120
    while not all(inst.function_tiers()[i] == "llvm" for i in WARM):
        assert time.monotonic() < deadline, "tier-up did not happen"
        inst.exports.count(2_000)
        inst.exports.rec(8)
        inst.exports.add(1, 2)
        time.sleep(0.01)
    assert inst.tier == "mixed"


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("export, args", [("spin", ()), ("rec", (60,))])
def test_watchdog_interrupts_a_call_that_never_returns(tier, export, args):
    engine, store, inst = setup(tier, tier_up_threshold=1000)
    store.set_epoch_deadline(1)
    if tier == "auto":
        warm_up(inst)
    fired = threading.Event()

    def watchdog():
        time.sleep(0.2)
        fired.set()
        engine.increment_epoch()

    t = threading.Thread(target=watchdog, daemon=True)
    t.start()
    with pytest.raises(Trap) as info:
        inst.exports[export](*args)
    t.join()
    assert fired.is_set()
    assert info.value.code is TrapCode.INTERRUPT
    assert info.value.frames, "the trap has a wasm backtrace"
    if tier == "llvm":
        assert inst.tier == "llvm"
    elif tier == "auto":
        assert all(inst.function_tiers()[i] == "llvm" for i in WARM)
    elif tier == "baseline":  # (the interrupted function ran as baseline code)
        assert inst.function_tiers()[{"spin": 1, "rec": 3}[export]] == "baseline"
    # the deadline stays passed: calls trap at their first check until it is moved
    with pytest.raises(Trap) as again:
        inst.exports.add(1, 2)
    assert again.value.code is TrapCode.INTERRUPT
    store.set_epoch_deadline(5)
    assert inst.exports.add(1, 2) == 3
    assert inst.exports.rec(3) == 8


@pytest.mark.parametrize("tier", TIERS)
def test_deadline_counts_increments_exactly(tier):
    """A host function advances the epoch once per loop iteration: with deadline k the loop
    runs exactly k host calls (the check after the k-th call traps). Independent reason: the
    deadline is ``k`` increments after the current epoch (wasmtime's definition)."""
    engine = None

    def tick():
        engine.increment_epoch()

    engine, store, inst = setup(tier, tick=tick, tier_up_threshold=1000)
    if tier == "auto":
        store.set_epoch_deadline(10**9)
        warm_up(inst)
    for k in (1, 3, 7):
        inst.exports.n.value = 0
        store.set_epoch_deadline(k)
        with pytest.raises(Trap) as info:
            inst.exports.ticking()
        assert info.value.code is TrapCode.INTERRUPT
        # the host call that reached the deadline finished, the loop did not go round again
        assert inst.exports.n.value == k
    if tier == "baseline":
        assert inst.function_tiers()[2] == "baseline"


@pytest.mark.parametrize("tier", TIERS)
def test_new_store_traps_until_a_deadline_is_set(tier):
    engine, store, inst = (None, None, None)
    engine = Engine(tier_config(tier))
    engine.increment_epoch()
    store = Store(engine)
    # instantiation itself runs no function: it succeeds
    inst = Instance(store, Module(engine, SPIN), {"env": {"tick": lambda: None}})
    with pytest.raises(Trap) as info:
        inst.exports.add(1, 2)
    assert info.value.code is TrapCode.INTERRUPT
    store.set_epoch_deadline(1)
    assert inst.exports.add(2, 3) == 5
    store.set_epoch_deadline(0)
    with pytest.raises(Trap):
        inst.exports.add(2, 3)


def test_start_function_is_interrupted():
    engine = Engine(Config(epoch_interruption=True, cache=False))
    store = Store(engine)
    store.set_epoch_deadline(1)
    hits = []
    module = Module(engine, wat("""(module
      (import "" "hit" (func $hit)) (import "" "bump" (func $bump))
      (func $start call $hit call $bump (loop br 0)) (start $start))"""))
    with pytest.raises(Trap) as info:
        Instance(store, module, {"": {"hit": lambda: hits.append(1), "bump": engine.increment_epoch}})
    assert info.value.code is TrapCode.INTERRUPT and hits == [1]


def test_stores_have_their_own_deadlines():
    engine = Engine(Config(epoch_interruption=True, cache=False))
    module = Module(engine, SPIN)
    a, b = Store(engine), Store(engine)
    ia = Instance(a, module, {"env": {"tick": lambda: None}})
    ib = Instance(b, module, {"env": {"tick": lambda: None}})
    a.set_epoch_deadline(1)
    b.set_epoch_deadline(2)
    engine.increment_epoch()
    with pytest.raises(Trap):
        ia.exports.add(1, 1)
    assert ib.exports.add(1, 1) == 2
    engine.increment_epoch()
    with pytest.raises(Trap):
        ib.exports.add(1, 1)


def test_call_stack_exhaustion_is_still_reported():
    engine = Engine(Config(epoch_interruption=True, max_call_depth=100, cache=False))
    store = Store(engine)
    store.set_epoch_deadline(1)
    inst = Instance(store, Module(engine, wat(
        "(module (func $f (export \"f\") call $f))")))  # fmt: skip
    with pytest.raises(Trap) as info:
        inst.exports.f()
    assert info.value.code is TrapCode.CALL_STACK_EXHAUSTED


def test_off_means_no_checks_and_no_deadlines():
    from wasm2py.binary.decoder import decode_module
    from wasm2py.translate.module import translate_module

    store = Store(Engine(Config(cache=False)))
    with pytest.raises(wasm2py.Error):
        store.set_epoch_deadline(1)
    m = decode_module(SPIN)
    plain = ast_source(translate_module(m, Config())[0])
    checked = ast_source(translate_module(m, Config(epoch_interruption=True))[0])
    assert "RUN" not in plain and "while True" in plain
    assert "while RUN" in checked


def ast_source(tree) -> str:
    import ast

    return ast.unparse(tree)


def test_bad_deadline():
    store = Store(Engine(Config(epoch_interruption=True)))
    with pytest.raises(wasm2py.ConfigError):
        store.set_epoch_deadline(-1)


def test_ahead_of_time_modules_refuse_epoch_stores(tmp_path, monkeypatch):
    """AOT code has no loop checks: it must not pretend to be interruptible."""
    import importlib

    wasm2py.compile(SPIN, tmp_path / "spin_aot.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("spin_aot")
    with pytest.raises(ValueError):
        mod.instantiate({"env": {"tick": lambda: None}}, epoch_interruption=True)
    store = Store(Engine(Config(epoch_interruption=True)))
    with pytest.raises(ValueError):
        mod.instantiate({"env": {"tick": lambda: None}}, store=store)
    assert mod.instantiate({"env": {"tick": lambda: None}}).exports.add(1, 2) == 3
