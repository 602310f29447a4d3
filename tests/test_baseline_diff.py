"""Differential test of the baseline tier: generated modules with their functions as baseline
machine code must behave as in the Python tier (results, traps and their codes, memory and
globals after), and instances mixing baseline, LLVM and Python-tier functions as in both pure
tiers.

The modules come from :func:`tests.test_llvm_diff.modules` (its generator, in its one-memory
form: the baseline compiles functions using one 32-bit memory only), with the Wasm 3.0
expressions replaced by constructs the emitter special-cases (:class:`Biased`): lazy operands
(constants, locals and compares feeding ``br_if``/``select``/``if``), shifts and rotates by
variable counts, division and remainder at their edges, ``br_table`` with many targets carrying
a value, calls of a function with 19 mixed integer/float parameters (some on the stack) with
locals live across them, ``memory.grow`` followed by accesses near the new end, and recursion
(shallow, and deep enough to exhaust the call depth).

Each generated function must be compiled (:data:`ALLOWED_REFUSALS` lists the reasons the
baseline may refuse one of them; none so far), so the test cannot pass by refusing.

Examples: 20 by default (derandomized); ``WASM2PY_BASELINE_DIFF_EXAMPLES=5000`` runs more, new
ones each time (``tools/baseline/fuzz.py`` runs the same checks in a loop, printing failures).
"""

from __future__ import annotations

import os
import re
import struct

import pytest

pytest.importorskip("llvmlite", reason="the mixed instances need the LLVM tier")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import wasm2py  # noqa: E402
from wasm2py import llvm as L  # noqa: E402
from wasm2py.baseline.unit import available  # noqa: E402
from wasm2py.types import ValType  # noqa: E402

from .baseline_util import auto_store, baseline_instance, to_baseline  # noqa: E402
from .llvm_util import encode, fresh_store, outcome, same  # noqa: E402
from .test_llvm_diff import CMP, NFUNCS, VARS, Gen, memory_bytes, modules  # noqa: E402
from .wat import wat  # noqa: E402

pytestmark = pytest.mark.skipif(not available(), reason="the baseline tier needs x86-64 Linux")

EXAMPLES_FROM_ENV = os.environ.get("WASM2PY_BASELINE_DIFF_EXAMPLES")
EXAMPLES = int(EXAMPLES_FROM_ENV or "20")

#: reasons the baseline may refuse a generated function (substrings of ``Blob.refused``)
ALLOWED_REFUSALS: tuple[str, ...] = ()

INTS = ("i32", "i64")
#: the parameters of ``$many``: more integers than registers (8 + env, rem: 4 on the stack)
#: and more floats than xmm registers (11: 3 on the stack), interleaved
MANY = ("i32", "f64", "i64", "f32", "i32", "i32", "f64", "i64", "i32", "f32", "i64", "f64",
        "f64", "f64", "f64", "f64", "f64", "f32", "i32")  # fmt: skip


def _many_func() -> str:
    """``$many``: a hash of all its parameters (floats by their bits, NaNs made canonical, so
    every tier's result is the same bits)."""
    params = " ".join(f"(param $q{i} {t})" for i, t in enumerate(MANY))
    acc = "(i64.const 17)"
    for i, t in enumerate(MANY):
        v = f"(local.get $q{i})"
        if t == "i32":
            v = f"(i64.extend_i32_u {v})"
        elif t == "f32":
            v = (f"(i64.extend_i32_u (i32.reinterpret_f32 (select {v} (f32.const nan) "
                 f"(f32.eq {v} {v}))))")  # fmt: skip
        elif t == "f64":
            v = f"(i64.reinterpret_f64 (select {v} (f64.const nan) (f64.eq {v} {v})))"
        acc = f"(i64.add (i64.mul {acc} (i64.const 31)) {v})"
    return f"(func $many {params} (result i64) {acc})"


EXTRA = (
    _many_func()
    + """
  (func $fill (param $d i32) (param $v i32) (param $n i32)
    ;; memory.fill: out of bounds (trapping before any write) if d + n > the memory's size
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $d)) (i64.extend_i32_u (local.get $n)))
                  (i64.mul (i64.extend_i32_u (memory.size)) (i64.const 65536)))
      (then (drop (i32.load (i32.const -1)))))
    (block (loop (br_if 1 (i32.eqz (local.get $n)))
      (i32.store8 (local.get $d) (local.get $v))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br 0))))
  (func $rec (param $n i32) (param $x i64) (result i64)
    (if (result i64) (i32.eqz (local.get $n)) (then (local.get $x))
      (else (i64.add (call $rec (i32.sub (local.get $n) (i32.const 1))
                               (i64.mul (local.get $x) (i64.const 3)))
                     (i64.extend_i32_u (local.get $n))))))"""
)

LOADS_NEAR_END = {"i32": ["i32.load", "i32.load8_u", "i32.load16_s"],
                  "i64": ["i64.load", "i64.load32_u", "i64.load16_u"],
                  "f32": ["f32.load"], "f64": ["f64.load"]}  # fmt: skip


class Biased(Gen):
    """The generator of ``test_llvm_diff`` in its one-memory form, its Wasm 3.0 expressions
    replaced by what the baseline emitter special-cases."""

    WASM3 = False

    def leaf(self, t: str) -> str:
        """A lazy operand: a constant or a local."""
        if self.chance(4):
            return self.const(t)
        return f"(local.get {self.choice(VARS[t] + VARS[t][1:])})"

    def operand(self, t: str, d: int) -> str:
        return self.leaf(t) if self.chance(5) else self.expr(t, d)

    def cond(self, d: int) -> str:
        """An i32 condition as the emitter fuses it (a compare, ``eqz``) or not."""
        k = self.draw(st.integers(0, 4))
        if k <= 1:
            op, ot = self.choice(CMP)
            left = self.leaf(ot) if k == 0 else self.expr(ot, d)
            return f"({op} {left} {self.leaf(ot)})"
        if k == 2:
            op, ot = self.choice(CMP)
            return f"({op} {self.leaf(ot)} {self.expr(ot, d)})"
        if k == 3:
            t = self.choice(INTS)
            return f"({t}.eqz {self.operand(t, d)})"
        return self.leaf("i32")

    def call_many(self, d: int) -> str:
        args = " ".join(self.operand(t, d - 1) for t in MANY)
        return f"(call $many {args})"

    def as_type(self, t: str, e64: str) -> str:
        """An i64 expression as a ``t`` one."""
        return {"i32": f"(i32.wrap_i64 {e64})", "i64": e64, "f32": f"(f32.convert_i64_s {e64})",
                "f64": f"(f64.convert_i64_u {e64})"}[t]  # fmt: skip

    def expr3(self, t: str, k: int, d: int) -> str:
        if k == 14:
            return f"(select {self.operand(t, d)} {self.operand(t, d)} {self.cond(d)})"
        if k == 15:
            v = self.draw(st.integers(0, 3))
            if v == 2:
                # two values carried by br_if out of a block (values in slots)
                return (f"(block (result {t}) (block (result {t} i32) {self.operand(t, d)} "
                        f"{self.operand('i32', d)} (br_if 0 {self.cond(d)}) (drop) (drop) "
                        f"{self.operand(t, d)} {self.operand('i32', d)}) (local.set $k1))")  # fmt: skip
            if v == 3:
                # a block with a parameter, left by br_if or by its end
                return (f"(block (result {t}) {self.operand(t, d)} (block (param {t}) "
                        f"(result {t}) (br_if 0 {self.cond(d)}) (local.set {self.tmp(t)}) "
                        f"{self.operand(t, d)}))")  # fmt: skip
            if self.chance(4):
                return (f"(if (result {t}) {self.cond(d)} (then {self.operand(t, d)}) "
                        f"(else {self.operand(t, d)}))")  # fmt: skip
            return (f"(block (result {t}) (br_if 0 {self.operand(t, d)} {self.cond(d)}) "
                    f"(drop) {self.operand(t, d)})")  # fmt: skip
        if k == 16 and t in INTS:
            op = self.choice(["shl", "shr_s", "shr_u", "rotl", "rotr"])
            count = (
                self.operand(t, d)
                if self.chance(6)
                else f"({t}.const {self.choice([0, 1, 31, 32, 33, 63, 64, 65, -1])})"
            )
            return f"({t}.{op} {self.operand(t, d)} {count})"
        if k == 17 and t in INTS:
            op = self.choice(["div_s", "div_u", "rem_s", "rem_u"])
            edge = {"i32": ["0x80000000", "-1", "0", "1", "7", "-7"],
                    "i64": ["0x8000000000000000", "-1", "0", "1", "7", "-7"]}[t]  # fmt: skip
            a = f"({t}.const {self.choice(edge)})" if self.chance(4) else self.operand(t, d)
            b = f"({t}.const {self.choice(edge)})" if self.chance(4) else self.operand(t, d)
            return f"({t}.{op} {a} {b})"
        if k == 18 and self.chance(2):
            # a loop with a parameter: the value goes round it (a bounded count of its own)
            n = self.draw(st.integers(0, 5))
            return (f"(block (result {t}) (local.set $k2 (i32.const 0)) {self.operand(t, d)} "
                    f"(loop $lp (param {t}) (result {t}) {self.leaf(t)} ({self.plus(t)}) "
                    f"(br_if $lp (i32.lt_u (local.tee $k2 (i32.add (local.get $k2) "
                    f"(i32.const 1))) (i32.const {n})))))")  # fmt: skip
        if k == 18:
            # br_table to one of three blocks (many entries), carrying a value; each block's
            # end adds a different constant so the target shows in the result
            n = self.draw(st.integers(1, 40))
            targets = " ".join(str(self.draw(st.integers(0, 2))) for _ in range(n))
            idx = self.operand("i32", d)
            if self.chance(4):
                idx = f"(i32.and {idx} (i32.const 63))"
            inner = (f"(block (result {t}) (br_table {targets} {self.draw(st.integers(0, 2))} "
                     f"{self.operand(t, d)} {idx}))")  # fmt: skip
            for c in (4, 1, 2):  # blocks 0, 1, 2 deep: each end adds its constant
                inner = f"({t}.add (block (result {t}) {inner}) ({t}.const {c}))"
            return inner
        if k == 19:
            if t in INTS and self.chance(4):
                # locals live across a call (pinned in registers the call clobbers)
                v = self.choice(VARS[t][1:])
                return (f"(block (result {t}) (local.set {v} {self.operand(t, d)}) "
                        f"(local.set $k3 (i32.wrap_i64 {self.call_many(d)})) "
                        f"({t}.add ({t}.mul (local.get {v}) (local.get {v})) "
                        f"({t}.add (local.get {v}) {self.as_int(t, '(local.get $k3)')})))")  # fmt: skip
            return self.as_type(t, self.call_many(d))
        if k == 20 and self.chance(3):
            # the host grows the memory under this function (its base and size reloaded
            # after the call), then an access near the new end
            c = self.choice([1, 2, 4, 8])
            return (f"(block (result {t}) (local.set $k3 (call $hgrow {self.operand('i32', d)})) "
                    f"({self.choice(LOADS_NEAR_END[t])} (i32.sub (i32.mul (memory.size) "
                    f"(i32.const 65536)) (i32.const {c}))))")  # fmt: skip
        if k == 20:
            c = self.choice([1, 2, 3, 4, 7, 8, 9, 16])
            off = self.choice([0, 0, 4])
            grow = self.choice([0, 1, 1])
            return (f"(block (result {t}) (drop (memory.grow (i32.const {grow}))) "
                    f"({self.choice(LOADS_NEAR_END[t])} offset={off} (i32.sub (i32.mul "
                    f"(memory.size) (i32.const 65536)) (i32.const {c}))))")  # fmt: skip
        if k == 21:
            n = (f"(i32.and {self.operand('i32', d)} (i32.const 255))" if self.chance(7)
                 else "(i32.const 1000000)")  # fmt: skip
            return self.as_type(t, f"(call $rec {n} {self.operand('i64', d)})")
        if k == 16 or k == 17:
            # a long right-nested chain: a deep operand stack (many slots)
            chain = self.operand(t, d)
            for _ in range(self.draw(st.integers(3, 16))):
                chain = f"({self.plus(t)} {self.leaf(t) if self.chance(6) else self.expr(t, 1)} {chain})"
            return chain
        return self.leaf(t)

    @staticmethod
    def plus(t: str) -> str:
        return f"{t}.add" if t in INTS else f"{t}.sub"

    @staticmethod
    def tmp(t: str) -> str:
        """A local of type ``t`` that nothing reads as an operand."""
        return {"i32": "$k1", "i64": "$b", "f32": "$t32", "f64": "$t64"}[t]

    def stmt(self, depth: int) -> str:
        # memory.fill as a function of its own (the baseline refuses memory.fill, and a
        # function using it would stay in the Python tier)
        return super().stmt(depth).replace("(memory.fill ", "(call $fill ")

    @staticmethod
    def as_int(t: str, e32: str) -> str:
        return e32 if t == "i32" else f"(i64.extend_i32_s {e32})"


IMPORTS = '(import "env" "grow" (func $hgrow (param i32) (result i32)))'


def biased_modules():
    """Modules of :class:`Biased` functions (imports first, as the text format wants)."""
    return modules(gen=Biased, wasm3=False, extra=EXTRA).map(
        lambda case: (case[0].replace("(module ", f"(module {IMPORTS} ", 1), case[1])
    )


def generated(inst) -> list[int]:
    """The indices of ``f0``...``f3`` (the generated functions)."""
    m = inst.module._module
    return [
        i
        for i in range(m.num_imported_funcs, m.num_imported_funcs + len(m.funcs))
        if m.func_name(i) in {f"f{j}" for j in range(NFUNCS)}
    ]


def check_refusals(refused: dict[int, str], indices, allowed=ALLOWED_REFUSALS) -> None:
    bad = {i: why for i, why in refused.items() if i in indices
           and not any(a in why for a in allowed)}  # fmt: skip
    assert not bad, f"the baseline refused generated functions: {bad}"


def single_results(text: str) -> str:
    """``text`` (from :func:`modules`) with its ``globals`` function (several results: the
    baseline's shell serves no such type, and a module with one runs in the Python tier)
    replaced by the globals' exports."""
    out, n = re.subn(r'\(func \(export "globals"\).*?\(global\.get \$g3\)\)\)',
                     " ".join(f'(export "g{k}" (global $g{k}))' for k in range(4)), text,
                     count=1, flags=re.S)  # fmt: skip
    assert n == 1
    return out


def globals_of(inst):
    if "globals" in inst.exports:
        return outcome(inst.exports.globals, ())
    return [encode(inst.exports[f"g{k}"].value, t) for k, t in
            enumerate((ValType.I32, ValType.I64, ValType.F32, ValType.F64))]  # fmt: skip


def compare(py, other, calls, ll=None) -> None:
    """Call ``f0``...``f3`` with each argument tuple of ``calls`` in ``other`` and in the
    references (the Python-tier instance ``py``, the LLVM-tier one ``ll`` if given, whose NaN
    results may be any arithmetic NaN) in turn; then compare globals and memories."""
    for args in calls:
        for i in range(NFUNCS):
            a = outcome(py.exports[f"f{i}"], args)
            b = outcome(other.exports[f"f{i}"], args)
            assert same(a, b), (i, args, a, b)
            if ll is not None:
                c = outcome(ll.exports[f"f{i}"], args)
                assert same(c, b, loose_nan=True), (i, args, "llvm:", c, b)
    for ref in (py, ll) if ll is not None else (py,):
        assert globals_of(ref) == globals_of(other)
        assert memory_bytes(ref.exports.mem) == memory_bytes(other.exports.mem)


def host_imports() -> tuple[dict, dict]:
    """(imports, cell): ``env.grow(n)`` grows the memory of ``cell["inst"]`` by ``n & 1``
    pages, returning the old size in pages or -1 (as ``memory.grow``)."""
    cell: dict = {}

    def grow(n):
        mem = cell["inst"].exports.mem
        try:
            return mem.grow(n & 1)
        except Exception:  # noqa: BLE001 - over the maximum (2 pages)
            return -1

    return {"env": {"grow": grow}}, cell


def instance(store, data: bytes, make=None):
    """An instance of ``data`` in ``store`` (made by ``make(store, module, imports)``, default
    ``wasm2py.Instance``) with :func:`host_imports` of its own."""
    imports, cell = host_imports()
    module = wasm2py.Module(store.engine, data)
    cell["inst"] = inst = (make or wasm2py.Instance)(store, module, imports)
    return inst


def run_baseline_vs_python(text: str, calls) -> None:
    """Every function as baseline code (the emitter directly) against the Python tier."""
    data = wat(text)
    py = instance(fresh_store(), data)
    inst = instance(auto_store(), data)
    blob = to_baseline(inst)
    check_refusals(blob.refused, generated(inst))
    compare(py, inst, calls)


def run_wired_vs_python(text: str, calls) -> None:
    """``tier="auto"`` as users get it (each function compiled at its first call) against
    the Python tier."""
    data = wat(single_results(text))
    py = instance(fresh_store(), data)
    inst = instance(fresh_store(tier="auto", baseline=True, tier_up_threshold=1 << 62), data)
    compare(py, inst, calls)
    tiers = inst.function_tiers()
    check_refusals({i: f"left in {tiers[i]}" for i in generated(inst)
                    if tiers[i] != "baseline"}, generated(inst))  # fmt: skip


def run_mixed(text: str, calls, tiers: list[int], allowed=ALLOWED_REFUSALS) -> None:
    """An instance whose defined functions run as baseline (0), LLVM (1) or Python-tier (2)
    code as ``tiers`` says, against the Python tier and the LLVM tier."""
    data = wat(text)
    py = instance(fresh_store(), data)
    ll = instance(fresh_store(), data, lambda s, mod, imp: L.instantiate(s, mod, imp))
    mixed = instance(auto_store(), data)
    m = mixed.module._module
    nimp = m.num_imported_funcs
    defined = range(nimp, nimp + len(m.funcs))
    pick = {i: tiers[k % len(tiers)] for k, i in enumerate(defined)}
    base = [i for i in defined if pick[i] == 0]
    llvm = [i for i in defined if pick[i] == 1]
    blob = to_baseline(mixed, base, llvm)
    check_refusals(blob.refused, generated(mixed), allowed)
    got = mixed.function_tiers()  # (the test's units say "llvm" for baseline code too)
    assert {i for i in defined if got[i] != "python"} == set(llvm) | (set(base) - set(blob.refused))
    compare(py, mixed, calls, ll)


SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    derandomize=EXAMPLES_FROM_ENV is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip


@SETTINGS
@given(biased_modules())
def test_baseline_agrees_with_the_python_tier(case):
    run_baseline_vs_python(*case)


@SETTINGS
@given(biased_modules())
def test_wired_auto_tier_agrees_with_the_python_tier(case):
    run_wired_vs_python(*case)


@SETTINGS
@given(biased_modules(), st.lists(st.integers(0, 2), min_size=1, max_size=7))
def test_mixed_biased_instances_agree_with_both_tiers(case, tiers):
    run_mixed(*case, tiers)


def test_every_construct_is_drawn_and_compiled():
    """The biased constructs reach the emitter: a module using each of them compiles fully."""
    text = f"""(module (memory (export "mem") 1 2)
      (global $g0 (mut i32) (i32.const 0))
      (func (export "globals") (result i32) (global.get $g0))
      {EXTRA}
      (func (export "f0") (param $p0 i32) (param $p1 i64) (result i64) (local $a i32)
        (local.set $a (i32.add (local.get $p0) (i32.const 1)))
        (i64.add (call $many {" ".join(f"({t}.const {j})" for j, t in enumerate(MANY))})
                 (i64.add (call $rec (i32.const 5) (local.get $p1))
                          (i64.extend_i32_u (local.get $a)))))
      (func (export "f1") (param i32 i64) (result i64) (local.get 1))
      (func (export "f2") (param i32 i64) (result i64) (local.get 1))
      (func (export "f3") (param i32 i64) (result i64) (local.get 1)))"""
    calls = [(3, 4), (-1, 2**63 - 1)]
    run_baseline_vs_python(text, calls)
    # f0(3, 4) by hand: $many's fold over 0, 1, 2, ... (floats by their bits), $rec(5, 4) =
    # 4 * 3**5 + (5 + 4 + 3 + 2 + 1) = 987, and $a = 4
    h = 17
    for j, t in enumerate(MANY):
        bits = {"f32": lambda v: struct.unpack("<I", struct.pack("<f", v))[0],
                "f64": lambda v: struct.unpack("<Q", struct.pack("<d", v))[0]}.get(t, int)(j)  # fmt: skip
        h = (h * 31 + bits) % 2**64
    inst, blob = baseline_instance(text)
    assert not blob.refused
    assert inst.exports.f0(3, 4) % 2**64 == (h + 987 + 4) % 2**64
