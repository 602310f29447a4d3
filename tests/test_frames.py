"""Paused calls as frame records (issue 14): resuming re-enters only the innermost paused frame
(a trampoline over the records), exceptions and traps cross the records as they would cross
frames, and a paused call keeps only its records.

Expected values are worked out by hand (comments) or come from the same call run in one piece
(a plain call with plenty of fuel), which the spec defines to give the same results.
"""

from __future__ import annotations

import pytest

import wasm2py
from wasm2py import (
    Caller,
    Config,
    Engine,
    Finished,
    HostTrap,
    Instance,
    Module,
    OutOfFuel,
    Store,
    Trap,
)
from wasm2py.runtime import resumable

from .wat import wat

PLENTY = 10**12

PROG = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (tag $boom (param i32))
  ;; rec(n) = n + rec(n - 1), rec(0) = 0
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 local.get 0 i32.const 1 i32.sub call $rec i32.add end)
  ;; down(n): recurse n levels, then throw $boom(ask(n) + 7) at the bottom
  (func $down (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) local.get 0 call $ask i32.const 7 i32.add throw $boom
    else local.get 0 i32.const 1 i32.sub call $down i32.const 1 i32.add end)
  ;; catch(n): 1000 + the thrown value, caught n frames above the throw
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $boom $h) (call $down (local.get 0))))
    i32.const 1000 i32.add)
  ;; trap(n): recurse n levels, then divide by zero
  (func $trap (export "trap") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 1 local.get 0 i32.div_u
    else local.get 0 i32.const 1 i32.sub call $trap end))""")


def make(ask=None, fuel=True, shape="auto"):
    store = Store(Engine(Config(consume_fuel=fuel, cache=False, python_shape=shape)))
    imports = {"env": {"ask": ask or (lambda x: x * 2)}}
    return store, Instance(store, Module(store.engine, PROG), imports)


def run_from_zero(store, func, *args, added=None):
    """``func(*args)`` from fuel 0, adding exactly the required fuel at every pause: the result
    and the number of pauses (``added``: a list that gets the fuel added at each)."""
    store.set_fuel(0)
    r = func.call_resumable(*args)
    pauses = 0
    while isinstance(r, OutOfFuel):
        pauses += 1
        store.set_fuel(store.get_fuel() + r.required_fuel)
        if added is not None:
            added.append(r.required_fuel)
        r = r.resume()
    assert isinstance(r, Finished)
    return r.results, pauses


def test_resuming_re_enters_only_the_innermost_frame(monkeypatch):
    """rec(2000) from fuel 0 pauses at every segment; every record is re-entered once (the
    records of outer frames only when the frame inside returns), so the entries made over the
    whole run are a small multiple of the pauses: linear, not depth x pauses."""
    entered = 0
    real = resumable._entry

    def counting(rec):
        nonlocal entered
        entered += 1
        return real(rec)

    monkeypatch.setattr(resumable, "_entry", counting)
    store, inst = make()
    n = 2000
    results, pauses = run_from_zero(store, inst.exports.rec, n)
    assert results == n * (n + 1) // 2
    assert pauses > 2 * n  # (two segments per level: the entry's and the else arm's)
    assert entered <= 2 * pauses  # each pause leaves the paused callee and at most its caller


def test_resume_entries_are_made_at_a_first_pause_and_kept_in_the_disk_cache(tmp_path,
                                                                           monkeypatch):
    """A function's resume entry is compiled when one of its frames first pauses (not with
    every function), then comes from the disk cache: a new engine resumes without translating."""
    from wasm2py.translate import module as tm

    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WASM2PY_CONFIG_DIR", str(tmp_path / "config"))
    made = []
    real = tm.compile_function

    def spy(gen, index, filename, *, resume=False, body=None):
        made.append((index, resume))
        return real(gen, index, filename, resume=resume, body=body)

    def run():
        store = Store(Engine(Config(consume_fuel=True)))
        inst = Instance(store, Module(store.engine, PROG), {"env": {"ask": lambda x: x}})
        store.set_fuel(PLENTY)
        assert inst.exports.rec(5) == 15 and inst.exports.rec(0) == 0  # 5+4+3+2+1
        return store, inst

    monkeypatch.setattr(tm, "compile_function", spy)
    store, inst = run()
    assert made == [(1, False)]  # rec, translated without its entry: nothing paused
    assert run_from_zero(store, inst.exports.rec, 30)[0] == 465  # 30 * 31 / 2
    assert made == [(1, False), (1, True)]  # the first pause made it, once
    made.clear()
    store, inst = run()
    assert run_from_zero(store, inst.exports.rec, 30)[0] == 465
    assert made == []  # code and entry from the disk cache


def test_fuel_used_across_pauses_equals_the_plain_run():
    store, inst = make()
    store.set_fuel(PLENTY)
    assert inst.exports.rec(300) == 300 * 301 // 2
    plain = PLENTY - store.get_fuel()
    added: list[int] = []
    assert run_from_zero(store, inst.exports.rec, 300, added=added)[0] == 300 * 301 // 2
    assert store.get_fuel() == 0 and sum(added) == plain  # all added was used, nothing more


@pytest.mark.parametrize("shape", ["auto", "flat"])
def test_exception_thrown_after_resuming_is_caught_by_a_paused_outer_frame(shape):
    """catch(50) with a pause at every segment: the throw at the bottom crosses 50 records
    before the try_table of the outermost catches it: 1000 + (ask(0) + 7) = 1007. (In the flat
    shape the handler picks the clauses by the label of the block that raised: a resumed frame
    must have it.)"""
    store, inst = make(shape=shape)
    assert run_from_zero(store, inst.exports.catch, 50)[0] == 1007


@pytest.mark.parametrize("shape", ["auto", "flat"])
def test_exception_thrown_after_a_host_pause_is_caught_across_records(shape):
    """The host function pauses at the bottom of catch(30); resumed with 35, the throw carries
    35 + 7 to the try_table 31 frames up: 1042."""

    def ask(x):
        raise RuntimeError("later")

    store, inst = make(ask=ask, fuel=False, shape=shape)
    paused = inst.exports.catch.call_resumable(30)
    assert isinstance(paused, HostTrap) and paused.depth == 32  # catch, 31 x down
    assert paused.resume(35).results == 1042


def test_trap_after_resuming_reports_every_frame():
    """trap(20) paused at every segment traps at the bottom: the backtrace still holds all 21
    frames of $trap (function 4), innermost first."""
    store, inst = make()
    store.set_fuel(0)
    r = inst.exports.trap.call_resumable(20)
    with pytest.raises(Trap) as e:
        while isinstance(r, OutOfFuel):
            store.set_fuel(store.get_fuel() + r.required_fuel)
            r = r.resume()
    assert e.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert [f.func_index for f in e.value.frames] == [4] * 21


def test_records_hold_plain_values():
    """A host pause two frames deep: rec's records hold its wasm local (the argument) and the
    depth; nothing of the Python frames (or the host function's traceback) is kept."""

    def ask(x):
        raise RuntimeError("pause")

    store, inst = make(ask=ask, fuel=False)
    paused = inst.exports.catch.call_resumable(1)
    records = paused._frames
    assert [(r.func_index, r.kind) for r in records] == [(3, "call"), (2, "call"), (2, "call")]
    assert [r.locals for r in records] == [(1,), (1,), (0,)]
    assert [r.depth for r in records] == sorted(r.depth for r in records)
    assert paused.host_error.__traceback__ is None
    assert paused.resume(1).results == 1008


# -- pickling paused calls -------------------------------------------------------------------------
STATEFUL = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 5))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $sq $ask)
  (type $ii (func (param i32) (result i32)))
  (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  ;; for k < n: mem[4k] = g; g = g * 3 + t[k & 1](k) (sq, or ask through the table)
  (func (export "run") (param $n i32) (result i32) (local $k i32) (local $f funcref)
    ref.func $sq local.set $f
    block
      loop
        local.get $k local.get $n i32.ge_u br_if 1
        local.get $k i32.const 4 i32.mul global.get $g i32.store
        global.get $g i32.const 3 i32.mul
        local.get $k local.get $k i32.const 1 i32.and call_indirect $t (type $ii)
        i32.add global.set $g
        local.get $k i32.const 1 i32.add local.set $k
        br 0
      end
    end
    global.get $g))""")


def triple(x):
    """The host function of STATEFUL (module level: pickled by reference)."""
    return x * 3 + 1


def stateful(fuel: bool, ask=triple, tier: str = "python"):
    store = Store(Engine(Config(consume_fuel=fuel, cache=False, tier=tier)))
    inst = Instance(store, Module(store.engine, STATEFUL), {"env": {"ask": ask}})
    return store, inst


def outcome(inst, result) -> tuple:
    """What a finished run leaves: its result, the global and a digest of the memory."""
    import hashlib

    return (result, inst.exports.g.value,
            hashlib.sha256(inst.exports.mem.read()).hexdigest())  # fmt: skip


RESUME_ELSEWHERE = """
import pickle, sys
import wasm2py
paused = pickle.loads(open(sys.argv[1], "rb").read())
r = paused
store = paused.store
while not isinstance(r, wasm2py.Finished):
    if isinstance(r, wasm2py.HostTrap):
        r = r.resume(int(sys.argv[2]))
    else:
        store.set_fuel(store.get_fuel() + 7)
        r = r.resume()
inst = paused.instance
import hashlib
print(r.results, inst.exports.g.value, hashlib.sha256(inst.exports.mem.read()).hexdigest())
"""


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_paused_call_resumes_in_another_process(tmp_path, tier):
    """Paused for fuel in the middle of run(40), pickled, resumed by a fresh interpreter: the
    same result, global and memory as the uninterrupted run (in the LLVM tier: a call paused in
    jitted code, resumed in jitted code there)."""
    import os
    import pickle
    import subprocess
    import sys

    store, inst = stateful(True)
    store.set_fuel(PLENTY)
    expected = outcome(inst, inst.exports.run(40))
    store, inst = stateful(True, tier=tier)
    store.set_fuel(333)
    paused = inst.exports.run.call_resumable(40)
    assert isinstance(paused, OutOfFuel) and paused.depth >= 1
    assert all((rec.native is not None) == (tier == "llvm") for rec in paused._frames)
    path = tmp_path / "paused.pickle"
    path.write_bytes(pickle.dumps(paused))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", RESUME_ELSEWHERE, str(path), "0"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result, g, digest = proc.stdout.split()
    assert (int(result), int(g), digest) == (expected[0], expected[1], expected[2])
    # the original is untouched by pickling, and resumes to the same outcome here
    r = paused
    while isinstance(r, OutOfFuel):
        store.set_fuel(store.get_fuel() + 7)
        r = r.resume()
    assert outcome(inst, r.results) == expected


def test_host_trap_pickled_mid_call_resumes_with_the_host_result():
    """ask raises at k = 3 (through the table); pickled and loaded, the paused call resumes
    with what ask would have returned (3 * 3 + 1) and finishes like the uninterrupted run."""
    import pickle

    store, inst = stateful(False)
    expected = outcome(inst, inst.exports.run(9))

    def ask(x):
        if x == 3:
            raise LookupError(x)
        return triple(x)

    store, inst = stateful(False, ask)
    paused = inst.exports.run.call_resumable(9)
    assert isinstance(paused, HostTrap)
    # the host function is a closure: pickle's persistent_id hook re-binds it
    import io

    class Saving(pickle.Pickler):
        def persistent_id(self, obj):
            return "ask" if obj is ask else None

    class Loading(pickle.Unpickler):
        def persistent_load(self, pid):
            assert pid == "ask"
            return triple

    buf = io.BytesIO()
    Saving(buf).dump(paused)
    loaded = Loading(io.BytesIO(buf.getvalue())).load()
    assert isinstance(loaded.host_error, LookupError) and loaded.host_error.args == (3,)
    done = loaded.resume(triple(3))
    assert outcome(loaded._func.instance, done.results) == expected


def test_what_cannot_be_pickled_says_so():
    import pickle

    store, inst = stateful(False, lambda x: x)
    paused = inst.exports.run.call_resumable(3)
    assert isinstance(paused, Finished)

    def ask(x):
        raise LookupError(x)

    store, inst = stateful(False, ask)
    paused = inst.exports.run.call_resumable(3)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(paused)  # a local function: pickle cannot store it by reference
    paused.resume(0)
    with pytest.raises(wasm2py.Error, match="already resumed"):
        pickle.dumps(paused)


class Short(Exception):
    """work() pausing: the fuel does not cover its charge."""


def work(caller: Caller, k: int) -> int:
    """test_fuel_pauses' host function (module level: pickled by reference)."""
    from .test_fuel_pauses import work_cost, work_value

    if caller.get_fuel() < work_cost(k):
        raise Short(k)
    caller.consume_fuel(work_cost(k))
    return work_value(k)


@pytest.mark.parametrize("tier", ["python", "llvm"])
@pytest.mark.parametrize("name", ["loops", "calls", "branches", "bulk", "host"])
def test_pickled_at_every_pause_equals_the_plain_run(name, tier):
    """test_fuel_pauses' kernels (loops, calls, br_table, bulk memory and table instructions,
    host calls charging fuel) paused for fuel at random points, and at every pause pickled,
    loaded (a new store and instance each time) and resumed there: the same result, memory,
    global and total fuel as the plain run."""
    import pickle
    import random

    from .test_fuel_pauses import ARGS, KERNELS, work_cost, work_value

    def instance(tier="python"):
        store = Store(Engine(Config(consume_fuel=True, cache=False, tier=tier)))
        return store, Instance(store, Module(store.engine, KERNELS), {"env": {"work": work}})

    store, inst = instance()
    store.set_fuel(PLENTY)
    expected = inst.exports[name](ARGS[name])
    used = PLENTY - store.get_fuel()
    state = (inst.exports.mem.read(), inst.exports.g.value)
    rng = random.Random(name)
    store, inst = instance(tier)
    given = rng.randint(0, 3000)
    store.set_fuel(given)
    r = inst.exports[name].call_resumable(ARGS[name])
    pauses = 0
    while not isinstance(r, Finished):
        pauses += 1
        r = pickle.loads(pickle.dumps(r))
        store, inst = r._func.store, r._func.instance
        if isinstance(r, HostTrap):  # do work()'s work: its charge, then its result
            k = r.host_error.args[0]
            short = work_cost(k) - store.get_fuel()
            given += short
            store.set_fuel(work_cost(k))
            store.consume_fuel(work_cost(k))
            r = r.resume(work_value(k))
            continue
        add = r.required_fuel + rng.randint(0, 3000)
        given += add
        store.set_fuel(store.get_fuel() + add)
        r = r.resume()
    assert isinstance(r, Finished) and pauses >= 2
    assert r.results == expected
    assert given - store.get_fuel() == used
    assert (inst.exports.mem.read(), inst.exports.g.value) == state


def test_a_call_paused_across_two_instances_resumes_and_refuses_pickling():
    """$outer (instance B) calls $inner, imported from instance A, which asks the host: the
    paused call holds frames of both instances; resumed with 5: inner gives 5 + 1, outer
    (6) * 10 = 60. Pickling it is refused with a clear error."""
    import pickle

    inner = wat("""(module (import "env" "ask" (func $ask (param i32) (result i32)))
      (func (export "inner") (param i32) (result i32)
        local.get 0 call $ask i32.const 1 i32.add))""")
    outer = wat("""(module (import "a" "inner" (func $inner (param i32) (result i32)))
      (func (export "outer") (param i32) (result i32)
        local.get 0 call $inner i32.const 10 i32.mul))""")

    def ask(x):
        raise RuntimeError("later")

    store = Store(Engine(Config(cache=False)))
    a = Instance(store, Module(store.engine, inner), {"env": {"ask": ask}})
    b = Instance(store, Module(store.engine, outer), {"a": {"inner": a.exports.inner}})
    paused = b.exports.outer.call_resumable(3)
    assert isinstance(paused, HostTrap) and paused.depth == 2
    with pytest.raises(wasm2py.Error, match="more than one instance"):
        pickle.dumps(paused)
    assert paused.resume(5).results == 60
