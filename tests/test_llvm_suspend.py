"""Jitted frames suspend natively (issue 14, item 2): a resumable call on a jitted instance
runs jitted from start to finish; a pausing host call makes every jitted frame spill itself
into a frame record, and resuming re-enters the innermost one at its call site.

Expected values are worked out by hand (comments); each is also checked against the Python
tier, which pauses through Python frames.
"""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Finished, HostTrap, Instance, Module, Store, Trap

from .wat import wat

PROG = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (tag $boom (param i32))
  ;; deep(n): n + deep(n - 1), deep(0) = ask(0) * 2 + ask(1)
  (func $deep (export "deep") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32)
      i32.const 0 call $ask i32.const 2 i32.mul i32.const 1 call $ask i32.add
    else local.get 0 local.get 0 i32.const 1 i32.sub call $deep i32.add end)
  ;; loop(n): x = 1; n times x = ask(x) + 3 * x; then x + 1000 (operands live across calls)
  (func (export "loop") (param i32) (result i32) (local i32)
    i32.const 1 local.set 1
    block loop
      local.get 0 i32.eqz br_if 1
      local.get 1 call $ask local.get 1 i32.const 3 i32.mul i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.set 0
      br 0
    end end
    i32.const 1000 local.get 1 i32.add)
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
  ;; after(n): ask(n), then divide 1 by (ask's result - 5)
  (func (export "after") (param i32) (result i32)
    i32.const 1 local.get 0 call $ask i32.const 5 i32.sub i32.div_u)
  ;; indirect(n): ask through the table, plus n
  (table funcref (elem $ask))
  (type $t (func (param i32) (result i32)))
  (func (export "indirect") (param i32) (result i32)
    local.get 0 local.get 0 i32.const 0 call_indirect (type $t) i32.add))""")


def make(tier: str):
    store = Store(Engine(Config(tier=tier, cache=False)))

    def ask(x):
        raise RuntimeError(f"ask({x})")

    inst = Instance(store, Module(store.engine, PROG), {"env": {"ask": ask}})
    return store, inst


def run(func, answer, *args):
    """Call ``func`` resumably, answering every pause with ``answer(n)`` (n: pauses so far):
    the outcome and the number of paused frames at each pause."""
    r = func.call_resumable(*args)
    seen = []
    while isinstance(r, HostTrap):
        seen.append(r.depth)
        r = r.resume(answer(len(seen) - 1))
    return r, seen


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_deep_pauses_resume_every_frame(tier):
    """deep(50) pauses twice at the bottom with 51 wasm frames; answers 10 and 20 give
    10 * 2 + 20 + (1 + ... + 50) = 40 + 1275."""
    store, inst = make(tier)
    r, seen = run(inst.exports.deep, lambda k: (10, 20)[k], 50)
    assert r.results == 40 + 1275
    assert seen == [51, 51]  # (the second: 50 records not resumed yet, the innermost again)
    if tier == "llvm":
        assert store.native.suspending  # (it ran jitted)


def test_jitted_frames_are_spilled_natively():
    """The records of a pause in jitted code come from the frames' spill code (raw words),
    not from Python frames running the function."""
    store, inst = make("llvm")
    p = inst.exports.deep.call_resumable(3)
    assert isinstance(p, HostTrap) and p.depth == 4
    assert all(rec.native is not None for rec in p._frames)
    assert [rec.func_index for rec in p._frames] == [1] * 4
    # the innermost frame waits at `0 call $ask`, its locals: n = 0
    assert p._frames[-1].locals == (0,)
    q = p.resume(4)  # pauses again at ask(1), in the resumed innermost frame (3 not resumed yet)
    assert isinstance(q, HostTrap) and q.depth == 4 and q._frames[-1].native is not None
    assert q.resume(1).results == 4 * 2 + 1 + 3 + 2 + 1


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_operands_live_across_paused_calls(tier):
    """loop(20): x(k+1) = ask(x(k)) + 3 x(k) with ask answering k + 1 at the k-th pause
    (k from 0), x(0) = 1; the operand 3 x is computed after the call, x itself is on the stack
    as ask's argument: computed by hand below."""
    store, inst = make(tier)
    x = 1
    for k in range(20):
        x = (k + 1 + 3 * x) & 0xFFFFFFFF
    r, seen = run(inst.exports.loop, lambda k: k + 1, 20)
    assert len(seen) == 20
    expected = (1000 + x) & 0xFFFFFFFF
    assert r.results == (expected - (1 << 32) if expected >= 1 << 31 else expected)


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_exception_after_resume_is_caught_across_paused_frames(tier):
    """catch(30): ask(0) answered 5 at the bottom, 30 frames down: throws 5 + 7, caught at
    the top: 1000 + 12."""
    _, inst = make(tier)
    r, seen = run(inst.exports.catch, lambda k: 5, 30)
    assert seen == [32]
    assert isinstance(r, Finished) and r.results == 1012


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_trap_after_resume_and_indirect_calls(tier):
    """after(3) answered 5 divides by zero after resuming; answered 6, 1 // 1 = 1; indirect(4)
    pauses in the host function reached through the table: 4 + answer 9 = 13."""
    _, inst = make(tier)
    p = inst.exports.after.call_resumable(3)
    with pytest.raises(Trap):
        p.resume(5)
    assert inst.exports.after.call_resumable(3).resume(6).results == 1
    r, seen = run(inst.exports.indirect, lambda k: 9, 4)
    assert len(seen) == 1 and r.results == 13


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_operands_below_blocks_are_restored(tier):
    """Calls with operands kept below enclosing blocks (and loops) resume with those operands:
    f() = 5 + (answer 7 + 1) = 13; g(3) = 100 + sum over 3 iterations of (answer k + 2)
    with answers 1, 2, 3 = 100 + 3 + 4 + 5 = 112."""
    src = wat("""(module (import "env" "h" (func $h (param i32) (result i32)))
      (func (export "f") (result i32)
        i32.const 5
        (block (result i32) (call $h (i32.const 1)) i32.const 1 i32.add)
        i32.add)
      (func (export "g") (param i32) (result i32) (local i32)
        i32.const 100
        (block (result i32)
          (loop
            (local.set 1 (i32.add (local.get 1) (i32.add (call $h (local.get 0)) (i32.const 2))))
            (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
          local.get 1)
        i32.add))""")
    store = Store(Engine(Config(tier=tier, cache=False)))

    def h(x):
        raise RuntimeError

    inst = Instance(store, Module(store.engine, src), {"env": {"h": h}})
    p = inst.exports.f.call_resumable()
    assert all((rec.native is not None) == (tier == "llvm") for rec in p._frames)
    assert p.resume(7).results == 13
    r, seen = run(inst.exports.g, lambda k: k + 1, 3)
    assert seen == [1, 1, 1] and r.results == 112


FUELED = wat("""
(module
  ;; rec(n) = n + rec(n - 1), rec(0) = 0
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 local.get 0 i32.const 1 i32.sub call $rec i32.add end)
  (memory 1)
  ;; fill(n): memory.fill of n bytes (a bulk charge), then the byte at n - 1
  (func (export "fill") (param i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 7) (local.get 0))
    (i32.load8_u (i32.sub (local.get 0) (i32.const 1)))))""")


@pytest.mark.parametrize("tier", ["python", "llvm"])
@pytest.mark.parametrize("step", [1, 3, 17])
def test_fuel_pauses_use_the_fuel_of_a_plain_run(tier, step):
    """rec(40) = 820 and fill(5000) = 7 started with ``step`` fuel and given ``step`` more at
    each pause (at least what the pause requires) use exactly the fuel of the plain calls; in
    the LLVM tier the paused frames are jitted ones."""
    store = Store(Engine(Config(tier=tier, consume_fuel=True, cache=False)))
    inst = Instance(store, Module(store.engine, FUELED))
    for name, arg, want in (("rec", 40, 820), ("fill", 5000, 7)):
        func = getattr(inst.exports, name)
        store.set_fuel(10**9)
        assert func(arg) == want
        plain = 10**9 - store.get_fuel()
        store.set_fuel(step)
        given = step
        r = func.call_resumable(arg)
        pauses = 0
        while not isinstance(r, Finished):
            pauses += 1
            assert all((rec.native is not None) == (tier == "llvm") for rec in r._frames)
            add = max(step, r.required_fuel)
            given += add
            store.set_fuel(store.get_fuel() + add)
            r = r.resume()
        assert r.results == want and pauses > 0
        assert given - store.get_fuel() == plain


# -- frames cross tiers (issue 14, item 3) ----------------------------------------------------
CROSS = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; f(n) = 100 + (5 n + ask(n)): 100 and 5 n are operands under the call (in the Python tier
  ;; an expression over the local, in jitted code values)
  (func (export "f") (param i32) (result i32)
    i32.const 100
    local.get 0 i32.const 5 i32.mul
    (call $ask (local.get 0))
    i32.add i32.add)
  ;; rec(n) = n + rec(n - 1) + ask(n) mod 3, rec(0) = 0, storing each level's value at 4 n
  (func $rec (export "rec") (param i32) (result i32) (local i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else
      local.get 0
      local.get 0 i32.const 1 i32.sub call $rec
      i32.add
      (i32.rem_u (call $ask (local.get 0)) (i32.const 3))
      i32.add
      local.tee 1
      (i32.store (i32.mul (local.get 0) (i32.const 4)) (local.get 1))
    end))""")


def raising(x):
    """CROSS's host function while paused runs are wanted (module level: pickled by name)."""
    raise RuntimeError(x)


def cross(tier: str, fuel: bool):
    store = Store(Engine(Config(tier=tier, consume_fuel=fuel, cache=False)))
    return store, Instance(store, Module(store.engine, CROSS), {"env": {"ask": raising}})


def other(tier: str) -> str:
    return "llvm" if tier == "python" else "python"


@pytest.mark.parametrize("start", ["python", "llvm"])
def test_host_pause_moves_to_the_other_tier(start):
    """f(7) paused at ask in one tier, loaded into the other, resumed with 9:
    100 + 35 + 9 = 144; the frame resumes in the tier it was loaded into."""
    import pickle

    from wasm2py.runtime import snapshot

    _, inst = cross(start, False)
    p = inst.exports.f.call_resumable(7)
    assert [rec.native is not None for rec in p._frames] == [start == "llvm"]
    to = other(start)
    q = snapshot.loads(pickle.dumps(p), Config(tier=to, cache=False))
    assert q.instance.tier == to
    assert q.resume(9).results == 144


@pytest.mark.parametrize("start", ["python", "llvm"])
def test_pauses_alternating_tiers_use_the_fuel_of_a_plain_run(start):
    """rec(6) with ask answering n + 1 at each host pause, from fuel 0 plus 5 at each fuel
    pause, moved to the other tier at every pause (pickled and loaded): the result (hand:
    sum of n + (n + 1) mod 3 for n = 1..6), memory and total fuel of a plain run."""
    import pickle

    from wasm2py.runtime import snapshot

    n = 6
    expected = sum(k + (k + 1) % 3 for k in range(1, n + 1))
    store = Store(Engine(Config(tier="python", consume_fuel=True, cache=False)))
    plain = Instance(store, Module(store.engine, CROSS), {"env": {"ask": lambda x: x + 1}})
    store.set_fuel(10**9)
    assert plain.exports.rec(n) == expected
    used = 10**9 - store.get_fuel()
    memory = plain.exports.memory.read()
    store, inst = cross(start, True)
    store.set_fuel(0)
    given = 0
    r = inst.exports.rec.call_resumable(n)
    tier = start
    seen = set()
    while not isinstance(r, Finished):
        seen.update(rec.native is not None for rec in r._frames[-1:])
        tier = other(tier)
        fuel = r.store.get_fuel()
        r = snapshot.loads(pickle.dumps(r), Config(tier=tier, consume_fuel=True, cache=False))
        assert r.store.get_fuel() == fuel and r.instance.tier == tier
        store, inst = r.store, r.instance
        if isinstance(r, HostTrap):
            r = r.resume(r.host_error.args[0] + 1)
        else:
            given += 5
            r.store.set_fuel(r.store.get_fuel() + 5)
            r = r.resume()
    assert r.results == expected
    assert given - store.get_fuel() == used
    assert seen == {True, False}  # (frames paused in both tiers)
    assert inst.exports.memory.read() == memory


def test_a_paused_python_frame_continues_jitted_once_its_instance_is(monkeypatch):
    """A call paused in the Python tier whose instance then moves to the LLVM tier (as tier-up
    does, at a call boundary) continues in jitted code: f(3) = 100 + 15 + 4."""
    from wasm2py.llvm import paused as llvm_paused  # (LLVMInstance.place imports it lazily)

    moved = []
    real = llvm_paused.from_python

    def spy(inst, rec):
        out = real(inst, rec)
        moved.append(out.native is not None)
        return out

    monkeypatch.setattr(llvm_paused, "from_python", spy)
    store, inst = cross("python", False)
    p = inst.exports.f.call_resumable(3)
    assert p._frames[0].native is None
    inst._attach_llvm(store.engine.load_llvm(inst.module._module))
    assert p.resume(4).results == 119
    assert moved == [True]


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_pauses_under_tail_calls(tier):
    """A frame that tail-called is gone: a pause in its callee resumes the callee, whose
    result goes to the tail caller's caller. top(n) = 1 + mid(n); mid tail-calls leaf; leaf(n)
    = 2 * ask(n): answered 21, top(5) = 43; tail(n) tail-calls ask itself: answered 8, 1 + 8."""
    src = wat("""(module (import "env" "ask" (func $ask (param i32) (result i32)))
      (func $leaf (param i32) (result i32) (i32.mul (i32.const 2) (call $ask (local.get 0))))
      (func $mid (param i32) (result i32) (return_call $leaf (local.get 0)))
      (func (export "top") (param i32) (result i32) (i32.add (i32.const 1) (call $mid (local.get 0))))
      (func $t (param i32) (result i32) (return_call $ask (local.get 0)))
      (func (export "tail") (param i32) (result i32) (i32.add (i32.const 1) (call $t (local.get 0)))))""")
    store = Store(Engine(Config(tier=tier, cache=False)))
    inst = Instance(store, Module(store.engine, src), {"env": {"ask": raising}})
    p = inst.exports.top.call_resumable(5)
    assert isinstance(p, HostTrap) and p.depth == 2  # top and leaf (mid is gone)
    assert p.resume(21).results == 43
    p = inst.exports.tail.call_resumable(5)
    assert isinstance(p, HostTrap)
    assert p.resume(8).results == 9


def test_a_frame_that_cannot_move_to_the_python_tier_says_so():
    """h() = 2 * (block result 7) + ask(): in the Python tier the operand 2 * 7 is an
    expression over the block's slot, which the operand value does not give back; a jitted
    pause there loaded into the Python tier raises Error, into the LLVM tier resumes:
    14 + 5 = 19."""
    import pickle

    from wasm2py import Error
    from wasm2py.runtime import snapshot

    src = wat("""(module (import "env" "ask" (func $ask (result i32)))
      (func (export "h") (result i32)
        (i32.add (i32.mul (block (result i32) (i32.const 7)) (i32.const 2)) (call $ask))))""")
    store = Store(Engine(Config(tier="llvm", cache=False)))
    inst = Instance(store, Module(store.engine, src), {"env": {"ask": raising}})
    p = inst.exports.h.call_resumable()
    blob = pickle.dumps(p)
    with pytest.raises(Error, match="cannot continue in the Python tier"):
        snapshot.loads(blob, Config(tier="python", cache=False))
    assert snapshot.loads(blob, Config(tier="llvm", cache=False)).resume(5).results == 19


@pytest.mark.parametrize("to", ["python", "llvm"])
def test_a_nan_local_of_a_jitted_frame_moves_as_local_get_reads_it(to):
    """n(x): local 1 = reinterpret(x) + 0.0, then a paused call, then local 1's bits. The
    README's NaN rule makes a NaN result of arithmetic the positive canonical NaN,
    0x7ff8000000000000, whatever the signalling input's payload (0x7ff4000000000001); the
    jitted frame keeps the unchecked sum in its local, so its record must carry the checked
    value, or the Python tier would return the payload."""
    import pickle

    from wasm2py.runtime import snapshot

    src = wat("""(module (import "env" "ask" (func $ask (param i32) (result i32)))
      (func (export "n") (param i64) (result i64) (local f64)
        (local.set 1 (f64.add (f64.reinterpret_i64 (local.get 0)) (f64.const 0)))
        (drop (call $ask (i32.const 0)))
        (i64.reinterpret_f64 (local.get 1))))""")
    store = Store(Engine(Config(tier="llvm", cache=False)))
    inst = Instance(store, Module(store.engine, src), {"env": {"ask": raising}})
    p = inst.exports.n.call_resumable(0x7FF4000000000001)
    q = snapshot.loads(pickle.dumps(p), Config(tier=to, cache=False))
    assert q.resume(1).results & (2**64 - 1) == 0x7FF8000000000000


# -- which functions get suspend code: only those that can reach a host function ---------

def _pausable(text: str) -> set[int]:
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.facts import pausable_funcs

    return set(pausable_funcs(decode_module(wat(text))))


TABLED = """(module {imp}
  (type $t (func (result i32)))
  (table {exp} funcref (elem $a $b))
  (func $a (result i32) {body_a})
  (func $b (result i32) (i32.const 2))
  (func $viat (export "viat") (result i32) (call_indirect (type $t) (i32.const 0)))
  (func (export "top") (result i32) (i32.add (call $viat) (i32.const 1)))
  (func (export "plain") (result i32) (i32.const 3)) {extra})"""
ASK = '(import "env" "ask" (func $ask (result i32)))'


def test_a_private_table_of_functions_without_host_calls_needs_no_suspend_code():
    """No import, the table neither imported nor exported: nothing can reach a host."""
    assert _pausable(TABLED.format(imp="", exp="", body_a="(i32.const 1)", extra="")) == set()


def test_a_function_in_the_table_that_calls_the_host_makes_indirect_calls_pausable():
    """$a (1) calls the import (0), and the table holds $a: $viat (3) and its caller (4)
    can reach the host; $b (2) and plain (5) cannot. A host call from a function no table
    holds (h, 6) keeps call_indirect plain."""
    assert _pausable(TABLED.format(imp=ASK, exp="", body_a="(call $ask)", extra="")) == {1, 3, 4}
    h = '(func (export "h") (result i32) (call $ask))'
    assert _pausable(TABLED.format(imp=ASK, exp="", body_a="(i32.const 1)", extra=h)) == {6}


def test_an_exported_table_may_hold_host_functions():
    """The host can put its own functions in an exported table: every call_indirect and its
    callers get suspend code (here $viat, 2, and top, 3)."""
    src = TABLED.format(imp="", exp='(export "t")', body_a="(i32.const 1)", extra="")
    assert _pausable(src) == {2, 3}


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_a_pause_in_a_function_called_through_a_private_table(tier):
    """top() = 1 + viat(), viat() calls $a through the table, $a returns ask(): answering
    the pause with 41 gives 42 in both tiers, with every frame jitted in the LLVM tier."""
    src = wat(TABLED.format(imp=ASK, exp="", body_a="(call $ask)", extra=""))
    store = Store(Engine(Config(tier=tier, cache=False)))
    inst = Instance(store, Module(store.engine, src), {"env": {"ask": raising}})
    p = inst.exports.top.call_resumable()
    assert isinstance(p, HostTrap)
    if tier == "llvm":
        assert [rec.native is not None for rec in p._frames] == [True, True, True]
    assert p.resume(41).results == 42


def test_an_externref_held_only_by_a_paused_jitted_frame_survives_store_gc():
    """keep(x) keeps x in a local across a paused call and returns it: Store.gc() during the
    pause must not release x (resuming returns the very object); once the paused call is
    gone, nothing holds x and gc releases it."""
    import gc

    src = wat("""(module (import "env" "ask" (func $ask (param i32) (result i32)))
      (func (export "keep") (param externref) (result externref) (local externref)
        (local.set 1 (local.get 0))
        (drop (call $ask (i32.const 0)))
        (local.get 1)))""")
    store = Store(Engine(Config(tier="llvm", cache=False)))
    inst = Instance(store, Module(store.engine, src), {"env": {"ask": raising}})
    obj = object()
    p = inst.exports.keep.call_resumable(obj)
    assert [rec.native is not None for rec in p._frames] == [True]
    assert store.gc() == 0
    assert p.resume(1).results is obj
    q = inst.exports.keep.call_resumable(obj)
    del q
    gc.collect()
    assert store.gc() == 1


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_an_operand_below_a_loop_with_a_paused_call_inside(tier):
    """f(n) keeps 3n below a loop that runs n times and asks inside a block: a resume inside
    the body reaches the loop header again by its back edge, so the operand below must come
    from where resumes put it (the fuzzer found IR that LLVM rejected: "Instruction does not
    dominate all uses"). f(4) answered 10, 20, 30, 40: 12 + 100 = 112."""
    src = wat("""(module (import "env" "ask" (func $ask (param i32) (result i32)))
      (func (export "f") (param i32) (result i32) (local i32)
        (i32.mul (local.get 0) (i32.const 3))
        (loop $l
          (block (local.set 1 (i32.add (local.get 1) (call $ask (local.get 0)))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if $l (local.get 0)))
        (i32.add (local.get 1))))""")
    store = Store(Engine(Config(tier=tier, cache=False)))
    inst = Instance(store, Module(store.engine, src), {"env": {"ask": raising}})
    r, seen = run(inst.exports.f, lambda n: 10 * (n + 1), 4)
    assert r.results == 112 and seen == [1, 1, 1, 1]


PURE_CALLS = wat("""(module (import "env" "ask" (func $ask (param i32) (result i32)))
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "g") (param i32) (result i32)
    (i32.add (i32.add (call $sq (local.get 0)) (call $ask (local.get 0)))
             (call $sq (i32.add (local.get 0) (i32.const 1))))))""")


def test_only_calls_that_can_pause_get_resume_points():
    """g (pausable: it calls the import) calls $sq twice, which reaches no host call and so
    cannot pause: only the call of ask is a resume point (one resume block, one spill)."""
    import re

    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.lower import build_text

    text = build_text(decode_module(PURE_CALLS))
    labels = [ln[:-1] for ln in text.splitlines() if ln.endswith(":")]
    assert [ln for ln in labels if re.fullmatch(r"resume(\.\d+)?", ln)] == ["resume"]
    assert [ln for ln in labels if re.fullmatch(r"spill(\.\d+)?", ln)] == ["spill"]


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_a_pause_between_calls_that_cannot_pause(tier):
    """g(5) = sq(5) + ask(5) + sq(6): answered 7, 25 + 7 + 36 = 68 (sq's first result, an
    operand below the paused call, survives the pause)."""
    store = Store(Engine(Config(tier=tier, cache=False)))
    inst = Instance(store, Module(store.engine, PURE_CALLS), {"env": {"ask": raising}})
    r, seen = run(inst.exports.g, lambda n: 7, 5)
    assert r.results == 68 and seen == [1]


VOID_ASK = wat("""(module (import "env" "note" (func $note (param i32)))
  (func (export "v") (param i32) (result i32) (local i32)
    (call $note (local.get 0))
    (local.set 1 (i32.mul (local.get 0) (i32.const 3)))
    (call $note (local.get 1))
    (i32.add (local.get 1) (i32.const 1))))""")


@pytest.mark.parametrize("tier", ["python", "llvm"])
def test_pauses_at_calls_with_nothing_to_restore_but_locals(tier):
    """v(5): two pauses at void host calls with an empty operand stack (in the LLVM tier,
    resumes join the code after the call directly); the local set between them survives:
    3 * 5 + 1 = 16."""
    store = Store(Engine(Config(tier=tier, cache=False)))
    inst = Instance(store, Module(store.engine, VOID_ASK), {"env": {"note": raising}})
    r = inst.exports.v.call_resumable(5)
    seen = []
    while isinstance(r, HostTrap):
        seen.append(r.depth)
        r = r.resume()  # (the host function returns nothing)
    assert r.results == 16 and seen == [1, 1]
