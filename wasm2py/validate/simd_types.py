"""Typing of the SIMD (``0xFD``-prefixed) instructions, derived from their text names.

:data:`SIMD_SIGS` maps every SIMD opcode to ``(params, results)``; :data:`SIMD_LANES` gives the
lane count that bounds an instruction's lane-index immediate (extract/replace and the
``load*_lane``/``store*_lane`` forms). Shared by the validator and the Python-tier translator.
"""

from __future__ import annotations

from ..binary.opcodes import SIMD_NAMES
from ..types import ValType

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128

#: The scalar type of a shape's lanes.
SCALAR = {"i8x16": I32, "i16x8": I32, "i32x4": I32, "i64x2": I64, "f32x4": F32, "f64x2": F64}
LANES = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}

_UNARY = ("not", "abs", "neg", "popcnt", "sqrt", "ceil", "floor", "trunc", "nearest", "extend_",
          "extadd_", "convert", "demote", "promote")  # fmt: skip


def _sig(name: str) -> tuple[tuple, tuple]:
    shape, _, op = name.partition(".")
    if shape == "v128" and op.startswith("load"):
        if op.endswith("_lane"):
            return (I32, V128), (V128,)
        return (I32,), (V128,)
    if shape == "v128" and op.startswith("store"):
        return (I32, V128), ()
    if op == "const":
        return (), (V128,)
    if op == "splat":
        return (SCALAR[shape],), (V128,)
    if op.startswith("extract_lane"):
        return (V128,), (SCALAR[shape],)
    if op == "replace_lane":
        return (V128, SCALAR[shape]), (V128,)
    if op in ("any_true", "all_true", "bitmask"):
        return (V128,), (I32,)
    if op in ("shl", "shr_s", "shr_u"):
        return (V128, I32), (V128,)
    if op == "bitselect":
        return (V128, V128, V128), (V128,)
    if op.startswith("relaxed_"):  # relaxed SIMD (Wasm 3.0)
        if op.startswith("relaxed_trunc"):
            return (V128,), (V128,)
        if op.endswith(("madd", "nmadd", "laneselect", "add_s")):
            return (V128, V128, V128), (V128,)
        return (V128, V128), (V128,)
    if op.startswith(_UNARY):
        return (V128,), (V128,)
    return (V128, V128), (V128,)


def _lanes(name: str) -> int | None:
    shape, _, op = name.partition(".")
    if "_lane" not in op or "laneselect" in op:
        return None
    if shape == "v128":  # load8_lane ... store64_lane
        bits = int("".join(c for c in op if c.isdigit()))
        return 128 // bits
    return LANES[shape]


SIMD_SIGS: dict[int, tuple[tuple, tuple]] = {op: _sig(n) for op, n in SIMD_NAMES.items()}
SIMD_LANES: dict[int, int] = {op: k for op, n in SIMD_NAMES.items() if (k := _lanes(n))}
