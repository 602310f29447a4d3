"""Calls in level-0 (quick) code: the stack checks, the status check after a call and the
trap trace, with the cold edges of ``FunctionLowerer._cold_edge`` and the two stack-check
branches, agree with the Python tier."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("llvmlite")

import wasm2py  # noqa: E402
from wasm2py import llvm as L  # noqa: E402

from .llvm_util import in_small_thread, outcome  # noqa: E402
from .test_llvm import RECURSION  # noqa: E402
from .wat import wat  # noqa: E402

# $outer calls $mid twice (the second call traps when $mid's divisor is 0), $mid calls $inner,
# which divides: the trap's frames carry the offsets of the division and of both calls
TRAPS = """(module
  (func $inner (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $mid (param i32 i32) (result i32)
    (local i32)
    (local.set 2 (i32.mul (local.get 0) (i32.const 3)))
    (i32.add (call $inner (local.get 2) (local.get 1)) (local.get 2)))
  (func $outer (export "outer") (param i32 i32) (result i32)
    (local i32)
    (local.set 2 (call $mid (local.get 0) (i32.const 1)))
    (i32.add (local.get 2) (call $mid (local.get 0) (local.get 1))))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
)"""


def level0(text: str):
    """(Python-tier instance, level-0 LLVM instance) of one module, in one store."""
    store = wasm2py.Store()
    mod = wasm2py.Module(store.engine, wat(text))
    py = wasm2py.Instance(store, mod, {})
    ll = L.instantiate(store, L.compile_module(mod._module, opt_level=0))
    return py, ll


def test_depth_limit_is_exact_at_level_0():
    py, ll = level0(RECURSION)
    # (the Python tier's limit lies between these: both tiers trap from the same n on)
    for n in (0, 100, 5000, 9999, 10000, 10001, 10_000_000):
        assert outcome(py.exports.down, (n,)) == outcome(ll.exports.down, (n,)), n
    assert outcome(ll.exports.inf, (0,)) == ("trap", wasm2py.TrapCode.CALL_STACK_EXHAUSTED)
    assert ll.exports.down(9999) == 9999  # still usable after the trap


def test_native_stack_check_at_level_0_traps_in_a_small_thread_stack():
    py, ll = level0(RECURSION)
    results = []

    def run():
        for f, arg in ((ll.exports.inf, 0), (ll.exports.down, 100)):
            try:
                results.append(f(arg))
            except wasm2py.Trap as e:
                results.append(e.code)

    in_small_thread(run)
    # (384 KiB hold far fewer than the wasm bound's frames: the native check trapped)
    assert results == [wasm2py.TrapCode.CALL_STACK_EXHAUSTED, 100]


def test_trap_frames_and_results_agree_with_the_python_tier_at_level_0():
    py, ll = level0(TRAPS)
    # 7*3 / 1 + 21 = 42, twice
    assert py.exports.outer(7, 1) == ll.exports.outer(7, 1) == 84
    assert ll.exports.fib(20) == 6765  # (fib(20), by hand from the recurrence)
    traps = []
    for inst in (py, ll):
        with pytest.raises(wasm2py.Trap) as e:
            inst.exports.outer(7, 0)
        traps.append(e.value)
    assert traps[0].code == traps[1].code == wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
    names = ["inner", "mid", "outer"]
    assert [name for _, name, _ in traps[1].frames] == names
    # the calls' offsets (through the propagate block's edges) are the Python tier's; the
    # division's is the one the optimised LLVM code records (the two tiers name different
    # bytes of a trapping instruction: see the report of branch l0call)
    assert traps[1].frames[1:] == traps[0].frames[1:]
    store = wasm2py.Store()
    o2 = L.instantiate(store, L.compile_module(py.module._module, opt_level=2))
    with pytest.raises(wasm2py.Trap) as e:
        o2.exports.outer(7, 0)
    assert traps[1].frames == e.value.frames


def test_quick_code_reaches_the_call_paths_exits_through_edges_of_their_own():
    """Every incoming value of the ``offset`` phi of the propagate block (where a call's
    status check goes) and of the stack check's trap block comes from a block ending in an
    unconditional branch: the fast instruction selector writes a phi's incoming values at
    the end of the predecessor, so from a checking block they would be written on the
    path that goes on."""
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import lower

    text = lower.build_text(decode_module(wat(TRAPS)), quick=True)
    checked = phis = 0
    for func in text.split("\ndefine ")[1:]:  # (block names are per function)
        terminators: dict[str, str] = {}
        wanted = []
        label = None
        for line in func.splitlines():
            m = re.match(r"^([\w.]+):", line)
            if m:
                label = m.group(1)
            elif line.startswith("  ") and label is not None:
                terminators[label] = line.strip()  # (a block's last line: its terminator)
                if label.startswith(("propagate", "trap_call_stack")) and " = phi " in line:
                    wanted.append(line)
        phis += len(wanted)
        for line in wanted:
            for pred in re.findall(r"\[[^,\]]+, %([\w.]+)\]", line):
                assert terminators[pred].startswith("br label"), (line, terminators[pred])
                checked += 1
    assert phis >= 6  # (three functions that call, each with both blocks)
    assert checked >= 8  # (the stack checks and the four calls' status checks at least)
