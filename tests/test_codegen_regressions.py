"""Python-tier translation bugs found by differential testing, kept as regression tests."""

from __future__ import annotations

import wasm2py

from .wat import wat


def _exports(text: str):
    return wasm2py.Instance(wasm2py.Store(), wasm2py.Module(wat(text)), {}).exports


def test_dropped_trapping_load_is_evaluated_once_from_its_own_operands():
    # The dropped f64.load was spilled to its slot and then emitted a second time, reading its
    # address from the slot it had just overwritten with a float.
    ex = _exports("""(module (memory 1) (global $g0 (mut i32) (i32.const 7))
      (func (export "f") (result i32)
        (drop (f64.load (i32.and (if (result i32) (i32.const 227) (then (global.get $g0))
                                   (else (i32.const 32))) (i32.const 0xfffc))))
        (i32.const 1)))""")
    assert ex.f() == 1


def test_dropped_out_of_bounds_load_still_traps():
    ex = _exports("""(module (memory 1)
      (func (export "f") (param i32) (result i32)
        (drop (i32.load (local.get 0))) (i32.const 1)))""")
    assert ex.f(0) == 1
    try:
        ex.f(65535)
    except wasm2py.Trap as e:
        assert e.code is wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    else:
        raise AssertionError("expected a trap")


def test_branch_out_of_two_loops_whose_outer_end_is_unreachable_leaves_both():
    # (fuzzer seed 48) ``br 2`` from the inner loop to the block: the translation took it for
    # a ``break`` of the inner ``while`` followed by nothing but ends, but the outer loop's
    # end is never reached by falling through (the inner loop never ends), so no ``break``
    # closed the outer ``while`` and it ran again into the ``unreachable``. The dead branches
    # make both loops Python loops. By the spec the first iteration leaves the block with
    # $n = 1 (wasmtime returns 1).
    text = """(module
      (func (export "f") (result i32)
        (local $n i32)
        (block
          (loop $outer
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (if (i32.gt_u (local.get $n) (i32.const 5)) (then unreachable))
            (loop $inner
              (br 2)
              (br_if $inner (i32.const 0))
              (br $outer))))
        (local.get $n)))"""
    for config in (dict(tier="python"), dict(tier="auto", baseline=False, tier_up_threshold=1 << 62)):
        engine = wasm2py.Engine(wasm2py.Config(cache=False, **config))
        ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(text)), {}).exports
        assert ex.f() == 1, config
