"""The lowering's cheaper IR builder (``wasm2py.llvm.builder``) writes exactly the IR text
llvmlite's own ``IRBuilder`` writes for the same module: llvmlite is the reference."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

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


@pytest.mark.parametrize("part", [None, (range(2, 3), False)], ids=["whole", "part"])
@pytest.mark.parametrize("fuel", [None, FuelCosts()], ids=["plain", "fuel"])
def test_the_fast_builder_writes_llvmlites_text(monkeypatch, fuel, part):
    # (a part declares the other functions: function heads without bodies)
    module = decode_module(wat(MODULE))
    validate_module(module)
    texts = []
    # llvmlite's own builder and functions (with llvmlite's blocks) are the reference
    for builder, function in ((ir.IRBuilder, ir.Function), (lower.Builder, lower.Function)):
        monkeypatch.setattr(lower, "Builder", builder)
        monkeypatch.setattr(lower, "Function", function)
        texts.append(str(lower.build_module(module, fuel_costs=fuel, simd_isa="x86", part=part)))
    assert ("declare tailcc i32 @" in texts[0]) == (part is not None)
    assert "getelementptr" in texts[0] and "fcmp" in texts[0] and "br i1" in texts[0]
    assert texts[1] == texts[0]
