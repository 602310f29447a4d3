"""The lowering's cheaper IR builder (``wasm2py.llvm.builder``) writes exactly the IR text
llvmlite's own ``IRBuilder`` writes for the same module: llvmlite is the reference."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

import re  # noqa: E402

from llvmlite import ir  # noqa: E402

from wasm2py.binary.decoder import decode_module  # noqa: E402
from wasm2py.config import FuelCosts  # noqa: E402
from wasm2py.llvm import lower  # noqa: E402
from wasm2py.validate.validator import validate_module  # noqa: E402

from .wat import wat  # noqa: E402

MODULE = r"""(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "host" (func $host (param i64 f32) (result f64)))
  (memory 1 2)
  (table 4 funcref)
  (global $g (mut i64) (i64.const 5))
  (tag $t (param i32))
  (elem (i32.const 0) $sq $sq)
  (data "hello")
  (func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func (export "mix") (param i32 i64 f32 f64) (result i64) (local i32 v128)
    (local.set 4 (i32.load8_s offset=3 (local.get 0)))
    (local.set 4 (i32.add (local.get 4) (i32.and (i32.lt_u (local.get 4) (i32.const 9))
                                                 (i32.eqz (i32.ge_s (local.get 0) (i32.const 2))))))
    (i64.store16 (local.get 0) (i64.rotl (local.get 1) (i64.const 7)))
    (if (i32.lt_u (local.get 4) (i32.const 9))
      (then (local.set 4 (i32.div_s (local.get 4) (i32.const 3))))
      (else (local.set 4 (i32.rem_u (local.get 4) (i32.const 5)))))
    (block $out (loop $l
      (br_if $out (f32.ge (local.get 2) (f32.const 100)))
      (local.set 2 (f32.add (f32.mul (local.get 2) (f32.const 1.5)) (f32.const 1)))
      (br_table $l $out $l (i32.and (local.get 4) (i32.const 3)))))
    (local.set 5 (i32x4.add (v128.load (i32.const 16)) (i32x4.splat (local.get 4))))
    (drop (select (local.get 3) (f64.sqrt (local.get 3)) (f64.ne (local.get 3) (local.get 3))))
    (drop (call $host (global.get $g) (local.get 2)))
    (drop (call_indirect (type $ii) (local.get 4) (i32.const 1)))
    (drop (memory.grow (i32.const 1)))
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 3))
    (block $c (result i32) (try_table (catch $t $c) (throw $t (i32.trunc_f64_s (local.get 3)))) (return (i64.const 1)))
    (drop)
    (i64.add (i64.extend_i32_u (i32x4.extract_lane 2 (local.get 5)))
             (i64.trunc_sat_f32_u (local.get 2)))))"""


class _Reference(ir.IRBuilder):
    """llvmlite's builder, with the NaN check the lowering asks for (``Builder.nan_check``)
    made of its plain ``select`` and ``fcmp``."""

    def nan_check(self, r, nan):
        return self.select(self.fcmp_unordered("uno", r, r), nan, r)

    def load_alloca(self, ptr):
        return self.load(ptr)

    def store_alloca(self, value, ptr):
        self.store(value, ptr)

    def int_binop(self, name, head, lhs, rhs):
        return getattr(self, name)(lhs, rhs)

    def int_compare(self, cmpop, signed, head, lhs, rhs):
        return (self.icmp_signed if signed else self.icmp_unsigned)(cmpop, lhs, rhs)

    def bool_i32(self, c):
        return self.zext(c, ir.IntType(32))


def _without_unused_checks(text: str) -> str:
    """``text`` without the NaN checks (``select`` of an ``fcmp uno``) whose value nothing
    uses, then without the allocas nothing loads from (or uses otherwise) and the stores into
    them, function by function: what the fast builder leaves out."""
    out = []
    for chunk in re.split(r"(?m)^(?=define )", text):
        lines = chunk.split("\n")
        dead = set()
        for ln in lines:
            m = re.match(r'  (%"[^"]+") = select  i1 (%"[^"]+"), ', ln)
            if m and chunk.count(m.group(1)) == 1 and re.search(
                    "(?m)^  " + re.escape(m.group(2)) + " = fcmp uno ", chunk):
                dead.update((m.group(1), m.group(2)))
            # (and the i32 extensions of comparisons that nothing takes)
            m = re.match(r'  (%"[^"]+") = zext i1 ', ln)
            if m and chunk.count(m.group(1)) == 1:
                dead.add(m.group(1))
        lines = [ln for ln in lines
                 if not (ln.startswith("  %") and ln.split(" = ")[0][2:] in dead)]
        # then the allocas nothing reads (or takes the address of), with the stores into them
        chunk = "\n".join(lines)
        drop = set()
        for ln in lines:
            m = re.match(r'  (%"[^"]+") = alloca ', ln)
            if m:
                a = m.group(1)
                stores = [k for k, s in enumerate(lines)
                          if re.fullmatch(r"  store [^,]+, [^ ]+\* " + re.escape(a), s)]
                if chunk.count(a) == 1 + len(stores):
                    drop.add(ln)
                    drop.update(lines[k] for k in stores)
        out.append("\n".join(ln for ln in lines if ln not in drop))
    return "".join(out)


def _unquoted(text: str) -> str:
    """``text`` with the quotes of local names LLVM reads without them (``%"x.1"`` is ``%x.1``:
    a letter, ``-$._``, then digits too) taken off."""
    return re.sub(r'%"([-a-zA-Z$._][-a-zA-Z$._0-9]*)"', r"%\1", text)


@pytest.mark.parametrize("part", [None, (range(2, 3), False)], ids=["whole", "part"])
@pytest.mark.parametrize("fuel", [None, FuelCosts()], ids=["plain", "fuel"])
def test_the_fast_builder_writes_llvmlites_text(monkeypatch, fuel, part):
    # (a part declares the other functions: function heads without bodies)
    module = decode_module(wat(MODULE))
    validate_module(module)
    texts = []
    # llvmlite's own builder and functions (with llvmlite's blocks) are the reference
    for builder, function in ((_Reference, ir.Function), (lower.Builder, lower.Function)):
        monkeypatch.setattr(lower, "Builder", builder)
        monkeypatch.setattr(lower, "Function", function)
        texts.append(str(lower.build_module(module, fuel_costs=fuel, simd_isa="x86", part=part)))
    assert ("declare tailcc i32 @" in texts[0]) == (part is not None)
    assert "getelementptr" in texts[0] and "fcmp" in texts[0] and "br i1" in texts[0]
    # the fast builder leaves out the NaN checks whose value goes unused (the module has
    # both kinds: f32.mul's result is stored as it is, f64.sqrt's goes into a select)
    reference = _without_unused_checks(texts[0])
    assert reference.count("fcmp uno") < texts[0].count("fcmp uno")
    # (and allocas read by no load: the result slots of the functions' bodies, whose ends
    # only return branches reach)
    assert reference.count(" = alloca ") < texts[0].count(" = alloca ")
    # (and the extensions of comparisons taken by an and, as i1s: i32.and's operands)
    assert reference.count(" = zext i1 ") < texts[0].count(" = zext i1 ")
    assert re.search(r'(?m)^  %"[^"]+" = and i1 ', reference)
    assert re.search(r'(?m)^  %"[^"]+" = call double @"llvm\.sqrt\.f64"', reference)
    assert len(re.findall(r'(?m)^  %"[^"]+" = select  i1 %"[^"]+", double', reference)) == 2
    # (the fast builder writes simple local names without quotes, as LLVM reads them too; the
    # texts are compared in one notation, llvmlite's own helpers keep theirs)
    assert re.search(r"(?m)^  %\.[0-9]+ = ", texts[1]) and re.search(r"label %\.[0-9]+", texts[1])
    assert _unquoted(texts[1]) == _unquoted(reference)
