"""The quick translation (``tier="auto"``, ``ModuleGen.quick``) folds a block's only ``brk``
branch where the block ends (``FuncGen.fold_end``, :func:`wasm2py.translate.peephole.fold_at_end`):
the same rewrite as :func:`~wasm2py.translate.peephole.fold_skips`, which the quick translation
does not run. It also puts what follows a branch's ``if`` in that ``if``'s ``else`` instead of
a guard (``FuncGen.open_guard``), puts a guard after a block's reset in the reset, resets
``brk`` without a test where no other branch passes a block's end, and drops the ``brk = K``
that nothing reads (``FuncGen.drop_unread``). These check which blocks it folds, and that the folded code computes what the
full translation and the LLVM tier compute (expected values worked out by hand from the wat).
"""

from __future__ import annotations

import ast

import pytest

from wasm2py import Config, Engine, Instance, Module, Store
from wasm2py.binary.decoder import decode_module
from wasm2py.translate.codegen import translate_function
from wasm2py.translate.module import ModuleGen, set_locations

from .wat import wat

_WAT = """(module
  ;; skip: a br_if that skips the rest of its block (folded: no brk left at all)
  (func (export "skip") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 7))
    (block
      (br_if 0 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0))))
    (local.get 1))
  ;; pre: the branch carries a value (written to its slot before it jumps: if x: s = 100
  ;; else: s = 200)
  (func (export "pre") (param i32) (result i32)
    (block (result i32)
      (br_if 0 (i32.const 100) (local.get 0))
      (drop)
      (i32.const 200)))
  ;; two: two branches to one block (not folded; each one's else holds what follows it)
  (func (export "two") (param i32) (result i32) (local i32)
    (block
      (br_if 0 (i32.eq (local.get 0) (i32.const 1)))
      (local.set 1 (i32.const 5))
      (br_if 0 (i32.eq (local.get 0) (i32.const 2)))
      (local.set 1 (i32.const 9)))
    (local.get 1))
  ;; inner: a branch out of both blocks comes first, so the inner block's branch sits in
  ;; its else, not at the level where the inner block ends: neither is folded (nor by
  ;; fold_skips)
  (func (export "inner") (param i32) (result i32) (local i32)
    (block $outer
      (block $inner
        (br_if $outer (i32.eq (local.get 0) (i32.const 1)))
        (local.set 1 (i32.const 3))
        (br_if $inner (i32.eq (local.get 0) (i32.const 2)))
        (local.set 1 (i32.const 4)))
      (local.set 1 (i32.add (local.get 1) (local.get 0))))
    (local.get 1))
  ;; nested: each block's branch is at its own level: both folded
  (func (export "nested") (param i32) (result i32) (local i32)
    (block $outer
      (block $inner
        (br_if $inner (i32.eq (local.get 0) (i32.const 2)))
        (local.set 1 (i32.const 3)))
      (br_if $outer (i32.eq (local.get 0) (i32.const 1)))
      (local.set 1 (i32.add (local.get 1) (i32.const 10))))
    (local.get 1))
  ;; dead: block $a's branch is folded; the br_if out of $k sits after a return (dead code,
  ;; not emitted), but the if and $inner it would leave still get guards and $k a reset,
  ;; which read brk: its initialisation must stay
  (func (export "dead") (param i32) (result i32) (local i32)
    (block $a
      (br_if $a (local.get 0))
      (local.set 1 (i32.const 1)))
    (block $k
      (block $inner
        (if (i32.eq (local.get 0) (i32.const 7))
          (then (return (i32.const 5)) (br_if $k (local.get 0)))))
      (local.set 1 (i32.add (local.get 1) (i32.const 10))))
    (local.get 1))
  ;; arms: the if's only arm ends with brk = 1 in both ways through it (the br_if's site
  ;; and its else), so what follows the if is its else, and no guard is left; the block's
  ;; end, which no other branch passes, resets brk without a test
  (func (export "arms") (param i32) (result i32) (local i32)
    (block $b
      (if (i32.lt_u (local.get 0) (i32.const 10))
        (then
          (br_if $b (i32.eq (local.get 0) (i32.const 5)))
          (local.set 1 (i32.const 3))
          (br $b)))
      (local.set 1 (i32.const 4)))
    (local.get 1))
  ;; half: one way through the if's arm falls through without brk set: the guard stays
  (func (export "half") (param i32) (result i32) (local i32)
    (block $b
      (if (i32.lt_u (local.get 0) (i32.const 10))
        (then
          (br_if $b (i32.eq (local.get 0) (i32.const 5)))
          (local.set 1 (i32.const 3))))
      (local.set 1 (i32.add (local.get 1) (i32.const 4))))
    (local.get 1))
  ;; loop: a branch out of a loop sets brk and breaks (its if ends with the break, not
  ;; with brk = K): the check after the loop reads brk, and what follows it is guarded
  (func (export "loop") (param i32) (result i32) (local i32)
    (block $b
      (loop $l
        (br_if $b (i32.eq (local.get 0) (i32.const 3)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br_if $l (i32.ne (local.get 0) (i32.const 0))))
      (local.set 1 (i32.add (local.get 1) (i32.const 100))))
    (local.get 1))
  ;; table (the spec's br_table.wast nested-br_if-value-cond): a br_table's arms with one
  ;; target share a statement list, so its one brk = 2 sits in two ifs: the inner block's
  ;; end is not folded (it was once: table(2) then skipped the add and left s0 unset)
  (func (export "table") (param i32) (result i32)
    (block (result i32)
      (i32.add
        (i32.const 1)
        (block (result i32)
          (drop (i32.const 2))
          (drop (br_if 0 (i32.const 4) (br_table 0 1 0 (i32.const 8) (local.get 0))))
          (i32.const 16))))))"""

# by hand: skip(x) = 7 + x (mod 2**32) unless x == 0 (then 7); pre(x) = 100 if x else 200;
# two(1) = 0, two(2) = 5, else 9; inner(1) = 0 (leaves both blocks), inner(2) = 3 + 2,
# else 4 + x (mod 2**32; an operand without bounds, so that the full translation's range
# facts leave the add as the quick translation does); nested(2) = 0 + 10 (skips the inner
# set), nested(1) = 3 (leaves), else 3 + 10;
# dead(0) = 1 + 10, dead(7) = 5 (returns), else 0 + 10;
# arms(5) = 0 (leaves at the br_if), arms(x < 10) = 3, else 4;
# half(5) = 0, half(x < 10) = 3 + 4, else 0 + 4;
# loop(x): counts down from x, leaving when it reaches 3 (no +100) or 0 (+100): loop(0) =
# 2**32 iterations would be needed, not tested; loop(1) = 1 + 100, loop(2) = 2 + 100,
# loop(3) = 0, loop(5) = 2 (5, 4 counted);
# table(x): the br_table sends 8 to the inner block (x = 0, or x >= 2: the default), whose
# result is added to 1: 9; or to the outer block (x = 1): 8 (the br_if is never reached)
EXPECTED = {
    "skip": {0: 7, 5: 12, 0xFFFFFFFF: 6},
    "pre": {0: 200, 3: 100},
    "two": {1: 0, 2: 5, 3: 9},
    "inner": {1: 0, 2: 5, 3: 7, 0xFFFFFFFF: 3},
    "nested": {1: 3, 2: 10, 3: 13},
    "dead": {0: 11, 1: 10, 7: 5},
    "arms": {5: 0, 3: 3, 0: 3, 10: 4, 20: 4},
    "half": {5: 0, 3: 7, 10: 4, 20: 4},
    "loop": {1: 101, 2: 102, 3: 0, 5: 2},
    "table": {0: 9, 1: 8, 2: 9, 3: 9, 0xFFF0BDC0: 9},
}


def _sources(quick: bool) -> list[str]:
    m = decode_module(wat(_WAT))
    gen = ModuleGen(m, hot=True)
    gen.quick = quick
    out = []
    for i, code in enumerate(m.codes):
        fn = translate_function(gen, i, gen.func_types[i], code.locals, code.body, f"f{i}")
        set_locations(fn)  # (ast.unparse reads statements' lines)
        out.append(ast.unparse(fn))
    return out


def test_quick_translation_folds_a_blocks_only_brk_branch():
    skip, pre, two, inner, nested, dead, *_ = _sources(quick=True)
    for src in (skip, pre, nested):  # (nothing reads brk: not even the prologue sets it)
        assert "brk" not in src
    assert "if l0 != 0:" in skip and "else:" in pre  # (not l0 == 0, made plain)
    assert "if l0 != 1:" in nested and "if l0 != 2:" in nested
    assert "if not l0:" in dead and "if not brk:" in dead and "    brk = 0\n" in dead


def test_quick_translation_makes_a_guard_after_a_branch_its_else():
    _, _, two, inner, _, _, arms, half, loop, _ = _sources(quick=True)
    # two: the code after each br_if is its else; then nothing reads brk, so it is never
    # set (and the block's end needs no reset), and each if with nothing but its else left
    # tests the negation (exact for ==)
    assert "brk" not in two
    assert "    if l0 != 1:\n        l1 = 5\n        if l0 != 2:\n            l1 = 9\n    return" in two
    # inner: the outer branch passes the inner block's end: that reset tests, and holds
    # what follows the inner end (``if brk == 2: brk = 0`` and ``if not brk:`` in one);
    # the outer one does not test
    assert "    if brk in (0, 2):\n        brk = 0\n        l1 = l1 + l0\n" in inner
    assert inner.endswith("    brk = 0\n    return l1") and "if brk == 1" not in inner
    # arms: the code after the if is its else (its arm ends with brk = 1 both ways)
    assert "brk" not in arms and "    else:\n        l1 = 4\n    return l1" in arms
    assert "        if l0 != 5:\n            l1 = 3\n" in arms
    # half: one way through the arm falls through: the guard stays
    assert "if not brk:" in half
    # loop: the branch out of the loop breaks; after the loop, brk is read
    assert "brk = 1\n" in loop and "break" in loop and "if not brk:" in loop
    # the full translation keeps its guards (fold_skips works on them)
    full = _sources(quick=False)
    assert "if not brk:" in full[3] and "if brk == 1:" in full[3]


def test_full_translation_is_unchanged_by_the_fold():
    # fold_skips (the full translation's pass) runs on code without the quick fold: the
    # translation it starts from still has every brk branch before it runs
    from wasm2py.translate import peephole

    seen = []
    real = peephole.fold_skips

    def spy(fn):
        set_locations(fn)
        seen.append(ast.unparse(fn).count("brk"))
        return real(fn)

    peephole.fold_skips = spy
    try:
        _sources(quick=False)
    finally:
        peephole.fold_skips = real
    assert seen and seen[0] > 0  # skip: its brk = 0, brk = 1, guard and reset are there


@pytest.mark.parametrize("tier", ["auto", "python", "llvm"])
def test_folded_code_computes_the_same(tier):
    config = Config(tier=tier, cache=False, tier_up_threshold=1_000_000, baseline=False)
    inst = Instance(Store(Engine(config)), Module(Engine(config), wat(_WAT)))
    for name, cases in EXPECTED.items():
        f = getattr(inst.exports, name)
        assert {x: f(x) for x in cases} == cases, name
    if tier == "auto":
        assert inst.tier == "python"  # (never hot: the quick translation ran it all)


@pytest.mark.parametrize("test", ["a == b", "a != b", "a < b", "a >= b", "not a", "a",
                                  "a is b", "a in (b, 1)", "a not in (b,)", "a < b < 2"])
def test_negation_is_exact(test):
    from wasm2py.translate.peephole import negation

    neg = ast.Expression(negation(ast.parse(test, mode="eval").body))
    neg = compile(ast.fix_missing_locations(neg), "<neg>", "eval")
    nan = float("nan")
    for a in (0, 1, 2, -1, 0.5, nan, float("inf")):
        for b in (0, 1, 2, 0.5, nan, a):
            assert bool(eval(neg, {"a": a, "b": b})) == (not eval(test, {"a": a, "b": b}))


@pytest.mark.parametrize("tier", ["auto", "python", "llvm"])
def test_a_second_guard_after_a_reset_is_its_own(tier):
    # (fuzzer seeds 1412 and 1698) $k's end resets brk and the guard after it is put in the
    # reset: ``if brk in (0, K): brk = 0; a = 1``. A dead branch to $outer makes $mid leak, so
    # a second guard follows $mid's end, right after that same statement: it was put in it
    # once more, testing ``brk in (0, (0, K))``, which is false when $k was branched to, and
    # both assignments were skipped. By hand (and wasmtime): br $k, then a = 1, then
    # a = 1 + 10.
    text = """(module
      (func (export "f") (result i32)
        (local $a i32)
        (block $outer
          (block $mid
            (block $k
              (br $k)
              (br $outer))
            (local.set $a (i32.const 1)))
          (local.set $a (i32.add (local.get $a) (i32.const 10))))
        (local.get $a)))"""
    config = Config(tier=tier, cache=False, tier_up_threshold=1_000_000, baseline=False)
    inst = Instance(Store(Engine(config)), Module(Engine(config), wat(text)))
    assert inst.exports.f() == 11
