"""The bounds on the wasm call stack, by count and by size: exact, the same in every tier,
configurable, and a million frames deep without harm."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode

from .wat import wat

REC = wat("""
(module
  (func $r (export "r") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))
""")


def _r(config: Config, module: bytes = REC):
    engine = Engine(config)
    return Instance(Store(engine), Module(engine, module), {}).exports.r


def test_default_limit_is_documented_and_exact():
    assert Config().max_call_depth == 10_000
    r = _r(Config())
    assert r(9_999) == 9_999  # 10,000 nested calls
    with pytest.raises(Trap) as e:
        r(10_000)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED


def test_a_million_frames_deep_and_the_process_survives():
    # each frame counts at least 1 KiB against max_wasm_stack: a million need ~1 GiB of it
    r = _r(Config(max_call_depth=1_000_000, max_wasm_stack=1 << 30))
    assert r(999_999) == 999_999
    with pytest.raises(Trap) as e:
        r(2_000_000)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    assert len(e.value.frames) <= 200  # the backtrace keeps the innermost frames
    assert r(10) == 10  # still usable afterwards


def test_limit_applies_with_fuel_and_resumable_calls():
    engine = Engine(Config(max_call_depth=100, consume_fuel=True))
    store = Store(engine)
    r = Instance(store, Module(engine, REC), {}).exports.r
    store.set_fuel(10**9)
    with pytest.raises(Trap) as e:
        r.call_resumable(100)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    assert r.call_resumable(99).results == 99


# -- the bound by size ------------------------------------------------------------------------
# A frame counts 8 bytes per parameter, local and operand slot (the highest operand stack the
# body reaches) plus 64, and at least 1 KiB (wasm2py.validate.frames); the frames below a call
# may take min(max_wasm_stack, max_call_depth * 1 KiB). The expected depths below are worked
# out by hand from that rule.


def _big(nlocals: int) -> bytes:
    """$r of REC with ``nlocals`` i64 locals; its highest operand stack holds 2 values
    (``local.get 0 i32.const 1`` in the else arm, ``call`` then ``i32.const 1``)."""
    return wat(f"""
(module
  (func $r (export "r") (param i32) (result i32) {"(local i64) " * nlocals}
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))
""")


def _deepest(frame_bytes: int, budget_bytes: int) -> int:
    """The largest n for which r(n) (n + 1 nested frames) runs: frame k is entered with k - 1
    frames below it and traps once they take the whole budget."""
    return -(-budget_bytes // frame_bytes) - 1


TIERS = ("python", "llvm", "auto")


def test_defaults_are_documented():
    c = Config()
    assert (c.max_call_depth, c.max_wasm_stack) == (10_000, 16 << 20)


@pytest.mark.parametrize("tier", TIERS)
def test_big_frames_are_bounded_by_size_identically_in_every_tier(tier):
    frame = 8 * (1 + 1500 + 2) + 64  # 12,088 bytes
    budget = min(16 << 20, 10_000 * 1024)  # the defaults: the count bound, 10,000 KiB
    n = _deepest(frame, budget)
    assert n == 847
    r = _r(Config(tier=tier), _big(1500))
    assert r(n) == n
    with pytest.raises(Trap) as e:
        r(n + 1)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    # a raised count alone leaves the size bound (16 MiB) in force
    r = _r(Config(tier=tier, max_call_depth=1_000_000), _big(1500))
    n = _deepest(frame, 16 << 20)
    assert n == 1387
    assert r(n) == n
    with pytest.raises(Trap):
        r(n + 1)


@pytest.mark.parametrize("tier", TIERS)
def test_small_frames_keep_the_exact_count(tier):
    # REC's frame: 8 * (1 + 0 + 2) + 64 = 88 bytes, counted as 1 KiB
    r = _r(Config(tier=tier, max_call_depth=3_000, max_wasm_stack=64 << 20))
    assert r(2_999) == 2_999
    with pytest.raises(Trap):
        r(3_000)
    # and the size bound when it is the smaller one: 1 MiB / 1 KiB = 1,024 frames
    r = _r(Config(tier=tier, max_call_depth=3_000, max_wasm_stack=1 << 20))
    assert r(1_023) == 1_023
    with pytest.raises(Trap):
        r(1_024)


MIXED = wat(f"""
(module
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $small $big)
  ;; a small frame and a big one (300 f64 locals) alternate, calling each other through the table
  (func $small (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub i32.const 1 call_indirect (type $t) i32.const 1 i32.add end)
  (func $big (param i32) (result i32) (local {" f64" * 300})
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub i32.const 0 call_indirect (type $t) i32.const 1 i32.add end)
  (func (export "r") (param i32) (result i32) local.get 0 call $small))
""")


@pytest.mark.parametrize("tier", TIERS)
def test_mixed_frames_trap_at_the_same_call_in_every_tier(tier):
    # The export's frame: 8 * (1 + 0 + 1) + 64 bytes -> 1 KiB; $small's: 8 * (1 + 0 + 2) + 64
    # -> 1 KiB; $big's: 8 * (1 + 300 + 2) + 64 = 2,488 bytes (highest operand stacks: 1, 2, 2).
    # r(n) runs the export, then n + 1 frames alternating $small, $big, ... The budget is 1 MiB
    # (max_wasm_stack 1 MiB < 10,000 KiB).
    sizes = [1024]  # the frames' sizes until they take the whole budget
    while sum(sizes) < 1 << 20:
        sizes.append(1024 if len(sizes) % 2 else 2488)
    # a frame with all of ``sizes`` below it traps; r(n) enters n + 2 frames
    deepest = len(sizes) - 2
    assert deepest == 596
    r = _r(Config(tier=tier, max_wasm_stack=1 << 20), MIXED)
    assert r(deepest) == deepest
    with pytest.raises(Trap) as e:
        r(deepest + 1)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED


def test_runaway_recursion_of_big_frames_stays_small_in_memory():
    # The case: max_call_depth=10**6 and 1,500-local frames grew the Python tier past
    # 10 GB. Now the size bound stops it near 16 MiB of frames. (Under a 2 GiB data limit, so
    # that a regression fails instead of exhausting the machine.)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_DATA, (2 << 30, 2 << 30))
        import wasm2py
        from tests.test_stack_limits import _big
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        engine = wasm2py.Engine(wasm2py.Config(max_call_depth=1_000_000))
        r = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, _big(1500))).exports.r
        try:
            r(1_000_000)
        except wasm2py.Trap as t:
            print(t.code.name)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(grown < 200 * 1024)  # KiB
    """)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["CALL_STACK_EXHAUSTED", "True"]


# -- the operand stack: the frame cost's model and the LLVM lowering's agree ------------------


def _lowering_heights(module) -> dict[int, tuple[int, bool]]:
    """For every defined function of ``module``: the highest operand stack of the LLVM
    lowering's symbolic stack (its length after each instruction it lowers), and whether it
    skipped code that validation types as reachable: an instruction other than ``else``/``end``
    right after the end of a construct that no path reaches (a loop whose body never falls
    off its end, a block whose body ends in ``unreachable`` and that no branch targets). The
    lowering emits nothing for such code, which never runs; the frame cost still counts its
    operands (:func:`wasm2py.validate.frames.max_operand_height`, the spec's typing)."""
    from wasm2py.binary.opcodes import Op
    from wasm2py.llvm import lower

    found: dict[int, list] = {}
    handlers = dict(lower._HANDLERS)
    other = lower.FunctionLowerer.op_other

    def watch(handler):
        def run(self, ins):
            handler(self, ins)
            if not self.ctl:
                return
            seen = found.setdefault(self.index, [0, False])
            seen[0] = max(seen[0], len(self.stack))
            if ins.op == Op.END and self.ctl[-1].unreachable:
                after = self.body[self.pos + 1].op if self.pos + 1 < len(self.body) else None
                if after not in (Op.END, Op.ELSE):
                    seen[1] = True

        return run

    try:
        for op, handler in handlers.items():
            lower._HANDLERS[op] = watch(handler)
        lower.FunctionLowerer.op_other = watch(other)
        lower.build_module(module, simd_isa="x86")
    finally:
        lower._HANDLERS.update(handlers)
        lower.FunctionLowerer.op_other = other
    return {index: (top, skipped) for index, (top, skipped) in found.items()}


def test_frame_costs_operand_heights_agree_with_the_llvm_lowering_on_the_spec_suite():
    """The frame cost counts the highest operand stack of a body as validation types it
    (:func:`~wasm2py.validate.frames.max_operand_height`); the LLVM lowering keeps the operand
    stack as a list of values. Over every function of the spec modules (both suites, SIMD
    included) the two reach the same height, except where the lowering skips typed code after
    a construct whose end nothing reaches; and the lowering never holds more operands than the
    frame counts (else a frame would cost less than what its code keeps)."""
    pytest.importorskip("llvmlite")
    from wasm2py.errors import UnsupportedFeature
    from wasm2py.validate.frames import max_operand_height
    from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files

    from .spec_modules import valid_modules

    try:
        files = [*list_wast_files(include_simd=True),
                 *list_wast_files(include_simd=True, suite="3.0")]  # fmt: skip
    except SpecSuiteMissing:
        pytest.skip("spec suite missing")
    checked = skipped_code = 0
    seen = set()
    for f, name, data, m in valid_modules(files):
        if data in seen:
            continue
        seen.add(data)
        try:
            heights = _lowering_heights(m)
        except UnsupportedFeature:
            continue
        nimp = m.num_imported_funcs
        for index, (top, skipped) in heights.items():
            want = max_operand_height(m, m.codes[index - nimp].body)
            assert top <= want, (f.name, name, index, top, want)
            if skipped:
                skipped_code += 1
            else:
                assert top == want, (f.name, name, index, top, want)
            checked += 1
    assert checked > 5_000
    assert skipped_code > 0  # (the suite has such functions: the exemption is exercised)


# A big frame whose highest operand stack (as validation types it) lies in code that never runs:
# after a loop whose end no path reaches, in an arm no call takes. ``$r`` of REC with 300 f64
# locals, then (if n == -1, never) an endless loop followed by 20 constants.
DEAD_HIGH = wat(f"""
(module
  (func $r (export "r") (param i32) (result i32) (local {" f64" * 300})
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end
    local.get 0 i32.const -1 i32.eq
    if
      loop $l br $l end
      {"i32.const 7 " * 20}
      {"drop " * 20}
    end))
""")


@pytest.mark.parametrize("tier", TIERS)
def test_operands_of_code_that_never_runs_count_in_every_tier(tier):
    # The frame: 8 * (1 + 300 + 21) + 64 = 2,640 bytes. Highest operand stack 21: the if/else's
    # result stays below the second if, whose arm pushes 20 constants after the loop (validation
    # types that code: the loop's end gives the arm's stack back). Budget 1 MiB.
    frame = 8 * (1 + 300 + 21) + 64
    n = _deepest(frame, 1 << 20)
    assert n == 397
    r = _r(Config(tier=tier, max_wasm_stack=1 << 20), DEAD_HIGH)
    assert r(n) == n
    with pytest.raises(Trap) as e:
        r(n + 1)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
