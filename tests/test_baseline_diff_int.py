"""Differential test: hypothesis generates valid integer modules; their functions run as
baseline code and in the Python tier, and every result, trap code, final memory and global
must agree, with the busiest locals in registers and with every local in its slot.

The modules are text, valid by construction: four functions (each calls only later ones, so
every call ends; the last two are leaves also reachable through a table with a null slot),
typed i32/i64 expression trees with edge-value constants, locals (``local.tee`` too),
globals, ``select``, ``if``/``else``, blocks with ``br_if`` and ``br_table``, loops with a
bounded counter, loads and stores in and out of bounds, ``memory.size``/``grow``, direct and
indirect calls (a type mismatch now and then) and traps (division, ``unreachable``, bounds).
Every function must be compiled (nothing in them is outside the emitter's subset).

Examples: 25 by default (derandomized); ``WASM2PY_BASELINE_DIFF_EXAMPLES=500`` runs more, new
ones each time.
"""

from __future__ import annotations

import os
import platform

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasm2py.baseline import emit

from .baseline_util import baseline_instance, python_instance
from .llvm_util import outcome

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="x86-64 machine code")  # fmt: skip

EXAMPLES_FROM_ENV = os.environ.get("WASM2PY_BASELINE_DIFF_EXAMPLES")
EXAMPLES = int(EXAMPLES_FROM_ENV or 25)

NFUNCS = 4
LEAVES = (2, 3)
# (six: the last two are passed on the stack)
PARAMS = "(param $p0 i32) (param $p1 i64) (param $p2 i32) (param $p3 i64) (param $p4 i32) " \
         "(param $p5 i64)"  # fmt: skip
LOCALS = "(local $a i32) (local $b i64) (local $c i32) (local $k1 i32) (local $k2 i32)"
VARS = {"i32": ["$p0", "$p2", "$p4", "$a", "$c"], "i64": ["$p1", "$p3", "$p5", "$b"]}
GLOBALS = {"i32": "$g0", "i64": "$g1"}
CONSTS = {
    "i32": ["0", "1", "-1", "2", "7", "31", "32", "33", "0x7fffffff", "0x80000000", "0xffff",
            "100", "-100", "65532", "65536"],
    "i64": ["0", "1", "-1", "63", "64", "0x7fffffffffffffff", "0x8000000000000000",
            "0xffffffff", "0x100000000", "-4096", "65528"],
}  # fmt: skip
_IB = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
       "shr_s", "shr_u", "rotl", "rotr"]  # fmt: skip
UN = {"i32": ["i32.clz", "i32.ctz", "i32.popcnt", "i32.extend8_s", "i32.extend16_s"],
      "i64": ["i64.clz", "i64.ctz", "i64.popcnt", "i64.extend8_s", "i64.extend16_s",
              "i64.extend32_s"]}  # fmt: skip
CMP = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
LOADS = {"i32": ["i32.load", "i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u"],
         "i64": ["i64.load", "i64.load8_s", "i64.load16_u", "i64.load32_s", "i64.load32_u"]}
STORES = {"i32": ["i32.store", "i32.store8", "i32.store16"],
          "i64": ["i64.store", "i64.store8", "i64.store16", "i64.store32"]}  # fmt: skip
ADDRS = ["0", "4", "8", "100", "1000", "65528", "65532", "65535", "65536", "-1", "-8"]
OFFSETS = ["", "offset=1", "offset=4", "offset=65535"]


class Gen:
    def __init__(self, draw, results):
        self.draw = draw
        self.results = results
        self.func = 0
        self.loops = 0  # loop counters in use

    def pick(self, seq):
        return self.draw(st.sampled_from(seq))

    def chance(self, n: int) -> bool:
        return self.draw(st.integers(0, 9)) < n

    def addr(self, d: int) -> str:
        if d > 0 and self.chance(5):
            return f"(i32.and {self.expr('i32', d - 1)} (i32.const 0xfff8))"
        return f"(i32.const {self.pick(ADDRS)})"

    def args(self, d: int) -> str:
        return " ".join(self.expr(t, d) for t in ("i32", "i64", "i32", "i64", "i32", "i64"))

    def expr(self, t: str, d: int) -> str:
        o = "i64" if t == "i32" else "i32"
        k = self.draw(st.integers(0, 17 if d > 0 else 2))
        if k == 0:
            return f"({t}.const {self.pick(CONSTS[t])})"
        if k == 1:
            return f"(local.get {self.pick(VARS[t])})"
        if k == 2:
            return f"(global.get {GLOBALS[t]})"
        if k == 3:
            return f"({t}.{self.pick(_IB)} {self.expr(t, d - 1)} {self.expr(t, d - 1)})"
        if k == 4:
            return f"({self.pick(UN[t])} {self.expr(t, d - 1)})"
        if k == 5:
            c = f"({o}.{self.pick(CMP)} {self.expr(o, d - 1)} {self.expr(o, d - 1)})"
            c = f"(i32.{self.pick(CMP)} {self.expr('i32', d - 1)} {self.expr('i32', d - 1)})" \
                if self.chance(5) else c  # fmt: skip
            return c if t == "i32" else f"(i64.extend_i32_u {c})"
        if k == 6:
            if t == "i32":
                return self.pick([f"(i32.wrap_i64 {self.expr('i64', d - 1)})",
                                  f"(i64.eqz {self.expr('i64', d - 1)})",
                                  f"(i32.eqz {self.expr('i32', d - 1)})"])  # fmt: skip
            return self.pick([f"(i64.extend_i32_s {self.expr('i32', d - 1)})",
                              f"(i64.extend_i32_u {self.expr('i32', d - 1)})"])  # fmt: skip
        if k == 7:
            return f"({self.pick(LOADS[t])} {self.pick(OFFSETS)} {self.addr(d)})"
        if k == 8:
            return (f"(select {self.expr(t, d - 1)} {self.expr(t, d - 1)} "
                    f"{self.expr('i32', d - 1)})")  # fmt: skip
        if k == 9:
            return (f"(if (result {t}) {self.expr('i32', d - 1)} (then {self.expr(t, d - 1)}) "
                    f"(else {self.expr(t, d - 1)}))")  # fmt: skip
        if k == 10:
            return (f"(block (result {t}) (drop (br_if 0 {self.expr(t, d - 1)} "
                    f"{self.expr('i32', d - 1)})) {self.expr(t, d - 1)})")  # fmt: skip
        if k == 11:
            return f"(local.tee {self.pick(VARS[t])} {self.expr(t, d - 1)})"
        if k == 12:
            callees = [j for j in range(self.func + 1, NFUNCS) if self.results[j] == t]
            if callees:
                return f"(call $f{self.pick(callees)} {self.args(d - 1)})"
            return f"({t}.const 5)"
        if k == 13 and self.results[LEAVES[0]] == t and self.func < LEAVES[0]:
            return (f"(call_indirect (type $sig_{t}) {self.args(d - 1)} "
                    f"(i32.and {self.expr('i32', d - 1)} (i32.const 3)))")  # fmt: skip
        if k == 14:
            s = self.stmt(d - 1)
            return f"(block (result {t}) {s} {self.expr(t, d - 1)})"
        if k == 15:
            e = f"(memory.grow (i32.and {self.expr('i32', d - 1)} (i32.const 1)))" \
                if self.chance(3) else "(memory.size)"  # fmt: skip
            return e if t == "i32" else f"(i64.extend_i32_s {e})"
        if k == 16:
            # a br_table choosing among three blocks, each adding its own constant
            idx = self.expr("i32", d - 1)
            return (f"(block (result {t}) (block (block (block (br_table 0 1 2 1 {idx})) "
                    f"(br 2 ({t}.const 11))) (br 1 ({t}.const 22))) ({t}.const 33))")  # fmt: skip
        return f"({t}.const {self.pick(CONSTS[t])})"

    def stmt(self, d: int) -> str:
        k = self.draw(st.integers(0, 7))
        t = self.pick(["i32", "i64"])
        if k == 0:
            return f"(local.set {self.pick(VARS[t])} {self.expr(t, d)})"
        if k == 1:
            return f"(global.set {GLOBALS[t]} {self.expr(t, d)})"
        if k == 2:
            return f"({self.pick(STORES[t])} {self.pick(OFFSETS)} {self.addr(d)} {self.expr(t, d)})"
        if k == 3:
            return f"(if {self.expr('i32', d)} (then {self.stmt(d - 1) if d else ''}) " \
                   f"(else {self.stmt(d - 1) if d else ''}))"  # fmt: skip
        if k == 4 and d > 0 and self.loops < 2:
            self.loops += 1
            c = f"$k{self.loops}"
            body = " ".join(self.stmt(d - 1) for _ in range(2))
            self.loops -= 1
            return (f"(local.set {c} (i32.const 0)) (loop $l{self.loops + 1} {body} "
                    f"(br_if $l{self.loops + 1} (i32.lt_u (local.tee {c} (i32.add "
                    f"(local.get {c}) (i32.const 1))) (i32.const 3))))")  # fmt: skip
        if k == 5 and self.chance(1):
            return f"(if {self.expr('i32', d)} (then (unreachable)))"
        if k == 6:
            return (f"(block (br_if 0 {self.expr('i32', d)}) "
                    f"(local.set {self.pick(VARS[t])} {self.expr(t, d)}))")  # fmt: skip
        return f"(drop {self.expr(t, d)})"

    def function(self, i: int) -> str:
        self.func = i
        t = self.results[i]
        n = self.draw(st.integers(0, 4))
        body = " ".join(self.stmt(2) for _ in range(n))
        return (f'(func $f{i} (export "f{i}") (type $sig_{t}) {PARAMS} (result {t}) {LOCALS} '
                f"{body} {self.expr(t, 3)})")  # fmt: skip


@st.composite
def modules(draw):
    results = [draw(st.sampled_from(["i32", "i64"])) for _ in range(NFUNCS)]
    results[LEAVES[1]] = results[LEAVES[0]]
    if draw(st.booleans()):
        results[LEAVES[1]] = draw(st.sampled_from(["i32", "i64"]))  # a type mismatch
    g = Gen(draw, results)
    funcs = [g.function(i) for i in range(NFUNCS)]
    types = " ".join(f"(type $sig_{t} (func (param i32 i64 i32 i64 i32 i64) (result {t})))"
                     for t in ("i32", "i64"))  # fmt: skip
    text = f"""(module {types}
      (memory (export "mem") 1 3)
      (data (i32.const 0) "\\01\\02\\03\\04\\fe\\ff\\00\\80baseline\\7f\\80\\00\\00")
      (global $g0 (export "g0") (mut i32) (i32.const 7))
      (global $g1 (export "g1") (mut i64) (i64.const -9))
      (table 4 funcref) (elem (i32.const 0) $f{LEAVES[0]} $f{LEAVES[1]} $f{LEAVES[0]})
      {" ".join(funcs)})"""
    args = draw(st.lists(st.tuples(
        st.sampled_from([0, 1, -1, 5, 0x7FFFFFFF, -0x80000000, 65536, 12345]),
        st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 99]),
        st.sampled_from([0, 3, -7, 65532, 31]),
        st.sampled_from([0, 2, -1, 1 << 32, 64]),
        st.sampled_from([0, -5, 65535]),
        st.sampled_from([0, 7, -(2**40)])), min_size=1, max_size=3))  # fmt: skip
    return text, args


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES_FROM_ENV is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(modules())
def test_baseline_agrees_with_the_python_tier(case):
    text, calls = case
    # (with the busiest locals in registers, and with every local in its slot)
    for pins in (True, False):
        saved = emit.FuncEmitter.pin_locals
        emit.FuncEmitter.pin_locals = pins
        try:
            inst, blob = baseline_instance(text)
        finally:
            emit.FuncEmitter.pin_locals = saved
        assert not blob.refused, blob.refused
        ref = python_instance(text)
        for args in calls:
            for i in range(NFUNCS):
                a = outcome(ref.exports[f"f{i}"], args)
                b = outcome(inst.exports[f"f{i}"], args)
                assert a == b, (pins, i, args, a, b)
        for name in ("g0", "g1"):
            assert inst.exports[name].value == ref.exports[name].value
        m1, m2 = inst.exports["mem"], ref.exports["mem"]
        assert bytes(m1.read(0, len(m1.buffer))) == bytes(m2.read(0, len(m2.buffer)))
