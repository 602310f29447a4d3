"""The baseline tier as users get it (``tier="auto"``, ``Config.baseline``): regressions found
by ``tests/test_baseline_diff.py`` and the spec suite, and robustness (threads, instances
dropped while others run, exceptions and traps through baseline frames, deep recursion).

Expected values are worked by hand or come from the Python tier (``tier="python"``)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import pytest

from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode
from wasm2py.baseline.unit import available

from .wat import wat

pytestmark = pytest.mark.skipif(not available(), reason="the baseline tier needs x86-64 Linux")

ROOT = Path(__file__).resolve().parent.parent


def auto(src, imports=None, **config):
    """An instance of ``src`` in ``tier="auto"`` with the baseline tier (tier-up out of reach:
    what runs is baseline code or the Python tier)."""
    cfg = dict(tier="auto", baseline=True, cache=False, tier_up_threshold=1 << 62)
    cfg.update(config)
    engine = Engine(Config(**cfg))
    data = wat(src) if isinstance(src, str) else src
    return Instance(Store(engine), Module(engine, data), imports or {})


# -- tail calls in functions the baseline refuses --------------------------------------------

TAIL_REF = """(module (type $t (func (param i64) (result i64)))
  (global $count (ref $t) (ref.func $count))
  (global $even (ref $t) (ref.func $even)) (global $odd (ref $t) (ref.func $odd))
  (elem declare func $count $even $odd)
  (func $count (export "count") (type $t) (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 0))
      (else (return_call_ref $t (i64.sub (local.get 0) (i64.const 1)) (global.get $count)))))
  (func $even (export "even") (type $t) (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 44))
      (else (return_call_ref $t (i64.sub (local.get 0) (i64.const 1)) (global.get $odd)))))
  (func $odd (export "odd") (type $t) (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 99))
      (else (return_call_ref $t (i64.sub (local.get 0) (i64.const 1)) (global.get $even))))))"""


def test_tail_calls_of_refused_functions_run_in_constant_stack():
    # (the spec suite's return_call_ref.wast: the baseline refuses these functions (typed
    # reference globals); in the Python tier their tail calls must not nest, however deep)
    inst = auto(TAIL_REF)
    n = 50_000  # (well past max_call_depth = 10,000)
    assert inst.exports.count(n) == 0
    assert inst.exports.even(n) == 44 and inst.exports.odd(n) == 99
    assert inst.exports.even(n + 1) == 99
    assert set(inst.function_tiers().values()) == {"python"}


@pytest.mark.parametrize("baseline", [True, False])
def test_tail_calls_of_big_functions_run_in_constant_stack(baseline):
    # a function over EAGER_BYTES with tail calls stays in the Python tier (first-call LLVM
    # compiles skip tail calls): same rule, with and without the baseline tier
    from wasm2py.tierup import EAGER_BYTES

    pad = " (drop (i64.const 0))" * (EAGER_BYTES // 3 + 1)  # (3 bytes each)
    src = TAIL_REF.replace(
        "(param i64) (result i64)\n    (if", f"(param i64) (result i64){pad}\n    (if", 1
    )
    inst = auto(src, baseline=baseline)
    assert inst.exports.count(50_000) == 0
    assert inst.exports.even(50_001) == 99


# -- robustness ------------------------------------------------------------------------------

PROG = """(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory (export "mem") 1)
  ;; sum of k for i < n, in a loop
  (func $sum (export "sum") (param $n i32) (param $k i32) (result i32) (local $i i32) (local $acc i32)
    (block (loop (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (local.get $k)))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br 0)))
    (local.get $acc))
  ;; n nested calls, then 0
  (func $rec (export "rec") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get $n) (i32.const 1)))))))
  ;; n nested calls with big frames (40 live i64 locals each), then host(depth)
  (func $fat (export "fat") (param $n i32) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.set 1 (i64.extend_i32_u (local.get $n))) (local.set 40 (local.get 1))
    (if (result i64) (i32.eqz (local.get $n)) (then (i64.extend_i32_u (call $host (i32.const 0))))
      (else (i64.add (i64.add (local.get 1) (local.get 40))
                     (call $fat (i32.sub (local.get $n) (i32.const 1)))))))
  ;; host(x) from three baseline frames deep, plus x
  (func $via (export "via") (param $x i32) (result i32)
    (i32.add (call $mid (local.get $x)) (local.get $x)))
  (func $mid (param $x i32) (result i32) (i32.add (call $host (local.get $x)) (i32.const 1)))
  (func (export "trap") (param $x i32) (result i32)
    (if (i32.eq (local.get $x) (i32.const 13)) (then unreachable))
    (i32.div_u (i32.const 100) (local.get $x))))"""


def prog(host=lambda x: x, **config):
    return auto(PROG, {"env": {"host": host}}, **config)


def test_two_threads_two_stores_run_baseline_code_at_once():
    insts = [prog(), prog()]
    errors = []

    def work(inst, k):
        try:
            for j in range(30):
                n = 100_000 + j
                assert inst.exports.sum(n, k) == n * k  # (hand: n additions of k)
                assert inst.exports.rec(2_000 + j) == 2_000 + j
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(inst, k)) for inst, k in zip(insts, (3, 5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for inst in insts:
        assert inst.function_tiers()[1] == "baseline"


def test_threads_taking_turns_in_one_store():
    # each thread enters the store's baseline code in turn (a lock between calls): the
    # native stack limit follows the thread that enters, so deep recursion works in each
    inst = prog()
    lock = threading.Lock()
    errors = []

    def work(k):
        try:
            for _ in range(20):
                with lock:
                    assert inst.exports.rec(9_000) == 9_000
                    assert inst.exports.sum(1_000, k) == 1_000 * k
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in (3, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_an_instance_dropped_while_another_of_the_module_runs():
    engine = Engine(Config(tier="auto", baseline=True, cache=False, tier_up_threshold=1 << 62))
    module = Module(engine, wat(PROG))
    cell = {}

    def host(x):
        # inside baseline code of instance b: drop instance a (its code and memory go)
        if "a" in cell:
            ref = weakref.ref(cell.pop("a"))
            gc.collect()
            assert ref() is None
        return x * 2

    a = Instance(Store(engine), module, {"env": {"host": host}})
    b = Instance(Store(engine), module, {"env": {"host": host}})
    assert a.exports.via(5) == 5 * 2 + 1 + 5 and a.exports.sum(10, 2) == 20
    cell["a"] = a
    del a
    assert b.exports.via(7) == 7 * 2 + 1 + 7  # a goes in this call
    assert "a" not in cell
    for _ in range(3):
        gc.collect()
        assert b.exports.via(9) == 9 * 2 + 1 + 9
        assert b.exports.rec(1_000) == 1_000
        assert b.exports.sum(1_000, 7) == 7_000


@pytest.mark.parametrize("exc", [KeyboardInterrupt, ValueError])
def test_python_exceptions_pass_through_baseline_frames(exc):
    def host(x):
        if x == 4:
            raise exc("from the host")
        return x

    inst = prog(host)
    assert inst.exports.via(3) == 3 + 1 + 3
    with pytest.raises(exc, match="from the host"):
        inst.exports.via(4)
    assert inst.exports.via(3) == 7  # still usable
    assert inst.function_tiers()[4] == "baseline"  # ($via, frames the exception crossed)


def test_deep_recursion_traps_instead_of_crashing():
    # the call depth limit is far away: the native stack runs out first, and must trap
    code = f"""
import sys, threading
sys.path.insert(0, {str(ROOT)!r})
from tests.test_baseline_robust import prog
from wasm2py import Trap
inst = prog(max_call_depth=1 << 24)
for n in (10, 100_000, 10_000_000):
    try:
        print(n, inst.exports.fat(n), flush=True)
    except Trap as e:
        print(n, e.code.name, flush=True)
print(inst.exports.rec(1_000), inst.function_tiers()[3], flush=True)
threading.stack_size(512 * 1024)
def small():
    try:
        print("thread", inst.exports.rec(10_000_000))
    except Trap as e:
        print("thread", e.code.name)
    print("thread", inst.exports.rec(100))
t = threading.Thread(target=small); t.start(); t.join()
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    # fat(10) by hand: sum over k = 1..10 of 2k, then host(0) = 0
    assert p.stdout.split("\n") == [
        "10 110", "100000 CALL_STACK_EXHAUSTED", "10000000 CALL_STACK_EXHAUSTED",
        "1000 baseline", "thread CALL_STACK_EXHAUSTED", "thread 100", ""]  # fmt: skip


def test_trap_inside_a_host_call_inside_baseline_code_inside_a_host_call():
    cell = {}

    def host(x):
        # (called by baseline code, itself called by this host function one level up)
        if x >= 100:
            return cell["inst"].exports.via(x - 100)  # host -> baseline -> host -> ...
        if x in (0, 13):
            return cell["inst"].exports.trap(x)  # traps: divide by zero / unreachable
        if x == 7:
            try:
                cell["inst"].exports.trap(0)
            except Trap as e:  # caught by the host: the baseline caller goes on
                assert e.code is TrapCode.INTEGER_DIVIDE_BY_ZERO
            return 70
        return x

    inst = cell["inst"] = prog(host)
    for x, code in ((100, TrapCode.INTEGER_DIVIDE_BY_ZERO), (113, TrapCode.UNREACHABLE),
                    (0, TrapCode.INTEGER_DIVIDE_BY_ZERO)):  # fmt: skip
        with pytest.raises(Trap) as e:
            inst.exports.via(x)
        assert e.value.code is code
    # via(107) = host(107) + 1 + 107, host(107) = via(7) = host(7) + 1 + 7 = 78
    assert inst.exports.via(107) == 78 + 1 + 107
    assert inst.exports.via(5) == 5 + 1 + 5
    assert inst.exports.trap(4) == 25
    tiers = inst.function_tiers()
    assert [tiers[i] for i in (4, 5, 6)] == ["baseline"] * 3  # ($via, $mid, trap)


def test_a_block_type_with_two_results_leaves_the_module_in_the_baseline_tier():
    # (found by test_baseline_diff: the type of a multi-value block is in the type section,
    # but no function has it, so no record needs its trampoline)
    src = """(module
      (func (export "swap") (param i32 i32) (result i32)
        (block (result i32 i32) (local.get 1) (local.get 0))
        (i32.sub)))"""
    inst = auto(src)
    assert inst.exports.swap(10, 3) == 3 - 10
    assert inst.function_tiers() == {0: "baseline"}
