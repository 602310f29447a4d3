"""Every WebAssembly 3.0 instruction the text format names: its binary opcode and the kind of
immediates it takes (:data:`INSTRUCTIONS`).

The opcodes are the spec's binary format (wasm2py's decoder has the 2.0 subset in
:mod:`wasm2py.binary.opcodes`; a test checks the two agree). Prefixed opcodes are the prefix
byte followed by the sub-opcode as an unsigned LEB128.
"""

from __future__ import annotations

from ..binary.leb128 import uleb

# Immediate kinds: what follows the instruction name in the text.
NONE = 0
BLOCK = 1  # block, loop: label? blocktype
IF = 2  # if: label? blocktype
ELSE = 3  # label?
END = 4  # label?
TRY_TABLE = 5  # label? blocktype catch*
LABEL = 6  # br, br_if, br_on_null, br_on_non_null
BR_TABLE = 7  # label+
BR_ON_CAST = 8  # label reftype reftype
FUNC = 9  # call, return_call, ref.func
CALL_INDIRECT = 10  # table? typeuse
TYPE = 11  # a type index: call_ref, struct.new, array.get, ...
STRUCT_FIELD = 12  # type field
TYPE_TYPE = 13  # array.copy
TYPE_DATA = 14  # array.new_data, array.init_data
TYPE_ELEM = 15  # array.new_elem, array.init_elem
TYPE_U32 = 16  # array.new_fixed
TAG = 17  # throw
LOCAL = 18
GLOBAL = 19
TABLE = 20  # table? (table.get/set/size/grow/fill)
TABLE_COPY = 21  # (table table)?
TABLE_INIT = 22  # table? elem
ELEM = 23  # elem.drop
DATA = 24  # data.drop
MEMARG = 25  # memory? offset=? align=?
MEMARG_LANE = 26  # memory? offset=? align=? lane
MEMORY = 27  # memory? (memory.size/grow/fill)
MEMORY_COPY = 28  # (memory memory)?
MEMORY_INIT = 29  # memory? data
I32 = 30
I64 = 31
F32 = 32
F64 = 33
V128 = 34  # shape lane*
SHUFFLE = 35  # 16 lane indices
LANE = 36  # lane index
HEAPTYPE = 37  # ref.null
REF_TEST = 38  # reftype: ref.test, ref.cast (opcode depends on nullability)
SELECT = 39  # (result t*)*


#: name -> (opcode bytes, immediate kind)
INSTRUCTIONS: dict[str, tuple[bytes, int]] = {}
#: memory access name -> natural alignment in bytes
NATURAL_ALIGN: dict[str, int] = {}


def _add(name: str, code: int | tuple[int, int], kind: int = NONE) -> None:
    raw = bytes([code]) if isinstance(code, int) else bytes([code[0]]) + uleb(code[1])
    INSTRUCTIONS[name] = (raw, kind)


for _name, _code, _kind in (
    ("unreachable", 0x00, NONE), ("nop", 0x01, NONE), ("block", 0x02, BLOCK),
    ("loop", 0x03, BLOCK), ("if", 0x04, IF), ("else", 0x05, ELSE),
    ("throw", 0x08, TAG), ("throw_ref", 0x0A, NONE), ("end", 0x0B, END),
    ("br", 0x0C, LABEL), ("br_if", 0x0D, LABEL), ("br_table", 0x0E, BR_TABLE),
    ("return", 0x0F, NONE), ("call", 0x10, FUNC), ("call_indirect", 0x11, CALL_INDIRECT),
    ("return_call", 0x12, FUNC), ("return_call_indirect", 0x13, CALL_INDIRECT),
    ("call_ref", 0x14, TYPE), ("return_call_ref", 0x15, TYPE),
    ("drop", 0x1A, NONE), ("select", 0x1B, SELECT), ("try_table", 0x1F, TRY_TABLE),
    ("local.get", 0x20, LOCAL), ("local.set", 0x21, LOCAL), ("local.tee", 0x22, LOCAL),
    ("global.get", 0x23, GLOBAL), ("global.set", 0x24, GLOBAL),
    ("table.get", 0x25, TABLE), ("table.set", 0x26, TABLE),
    ("memory.size", 0x3F, MEMORY), ("memory.grow", 0x40, MEMORY),
    ("i32.const", 0x41, I32), ("i64.const", 0x42, I64),
    ("f32.const", 0x43, F32), ("f64.const", 0x44, F64),
    ("ref.null", 0xD0, HEAPTYPE), ("ref.is_null", 0xD1, NONE), ("ref.func", 0xD2, FUNC),
    ("ref.eq", 0xD3, NONE), ("ref.as_non_null", 0xD4, NONE),
    ("br_on_null", 0xD5, LABEL), ("br_on_non_null", 0xD6, LABEL),
):  # fmt: skip
    _add(_name, _code, _kind)

for _code, (_name, _align) in enumerate(
    [("i32.load", 4), ("i64.load", 8), ("f32.load", 4), ("f64.load", 8),
     ("i32.load8_s", 1), ("i32.load8_u", 1), ("i32.load16_s", 2), ("i32.load16_u", 2),
     ("i64.load8_s", 1), ("i64.load8_u", 1), ("i64.load16_s", 2), ("i64.load16_u", 2),
     ("i64.load32_s", 4), ("i64.load32_u", 4),
     ("i32.store", 4), ("i64.store", 8), ("f32.store", 4), ("f64.store", 8),
     ("i32.store8", 1), ("i32.store16", 2), ("i64.store8", 1), ("i64.store16", 2),
     ("i64.store32", 4)],
    start=0x28,
):  # fmt: skip
    _add(_name, _code, MEMARG)
    NATURAL_ALIGN[_name] = _align

# Numeric instructions without immediates, 0x45 (i32.eqz) .. 0xC4 (i64.extend32_s), in order.
_NUMERIC = """
i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u
i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u
f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u
i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u
i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt f32.add f32.sub f32.mul
f32.div f32.min f32.max f32.copysign
f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt f64.add f64.sub f64.mul
f64.div f64.min f64.max f64.copysign
i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s
i64.trunc_f64_u f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u
f32.demote_f64 f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u
f64.promote_f32 i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32
f64.reinterpret_i64 i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s
""".split()
for _code, _name in enumerate(_NUMERIC, start=0x45):
    _add(_name, _code)
assert _code == 0xC4

# 0xFB: garbage collection
for _sub, _name, _kind in (
    (0, "struct.new", TYPE), (1, "struct.new_default", TYPE), (2, "struct.get", STRUCT_FIELD),
    (3, "struct.get_s", STRUCT_FIELD), (4, "struct.get_u", STRUCT_FIELD),
    (5, "struct.set", STRUCT_FIELD), (6, "array.new", TYPE), (7, "array.new_default", TYPE),
    (8, "array.new_fixed", TYPE_U32), (9, "array.new_data", TYPE_DATA),
    (10, "array.new_elem", TYPE_ELEM), (11, "array.get", TYPE), (12, "array.get_s", TYPE),
    (13, "array.get_u", TYPE), (14, "array.set", TYPE), (15, "array.len", NONE),
    (16, "array.fill", TYPE), (17, "array.copy", TYPE_TYPE), (18, "array.init_data", TYPE_DATA),
    (19, "array.init_elem", TYPE_ELEM), (20, "ref.test", REF_TEST), (22, "ref.cast", REF_TEST),
    (24, "br_on_cast", BR_ON_CAST), (25, "br_on_cast_fail", BR_ON_CAST),
    (26, "any.convert_extern", NONE), (27, "extern.convert_any", NONE), (28, "ref.i31", NONE),
    (29, "i31.get_s", NONE), (30, "i31.get_u", NONE),
):  # fmt: skip
    _add(_name, (0xFB, _sub), _kind)

# 0xFC: saturating truncation, bulk memory and tables
for _sub, _name, _kind in (
    (0, "i32.trunc_sat_f32_s", NONE), (1, "i32.trunc_sat_f32_u", NONE),
    (2, "i32.trunc_sat_f64_s", NONE), (3, "i32.trunc_sat_f64_u", NONE),
    (4, "i64.trunc_sat_f32_s", NONE), (5, "i64.trunc_sat_f32_u", NONE),
    (6, "i64.trunc_sat_f64_s", NONE), (7, "i64.trunc_sat_f64_u", NONE),
    (8, "memory.init", MEMORY_INIT), (9, "data.drop", DATA), (10, "memory.copy", MEMORY_COPY),
    (11, "memory.fill", MEMORY), (12, "table.init", TABLE_INIT), (13, "elem.drop", ELEM),
    (14, "table.copy", TABLE_COPY), (15, "table.grow", TABLE), (16, "table.size", TABLE),
    (17, "table.fill", TABLE),
):  # fmt: skip
    _add(_name, (0xFC, _sub), _kind)

# 0xFD: vector instructions. Memory accesses first (sub-opcode, name, natural alignment).
for _sub, _name, _align, _kind in (
    (0, "v128.load", 16, MEMARG), (1, "v128.load8x8_s", 8, MEMARG),
    (2, "v128.load8x8_u", 8, MEMARG), (3, "v128.load16x4_s", 8, MEMARG),
    (4, "v128.load16x4_u", 8, MEMARG), (5, "v128.load32x2_s", 8, MEMARG),
    (6, "v128.load32x2_u", 8, MEMARG), (7, "v128.load8_splat", 1, MEMARG),
    (8, "v128.load16_splat", 2, MEMARG), (9, "v128.load32_splat", 4, MEMARG),
    (10, "v128.load64_splat", 8, MEMARG), (11, "v128.store", 16, MEMARG),
    (84, "v128.load8_lane", 1, MEMARG_LANE), (85, "v128.load16_lane", 2, MEMARG_LANE),
    (86, "v128.load32_lane", 4, MEMARG_LANE), (87, "v128.load64_lane", 8, MEMARG_LANE),
    (88, "v128.store8_lane", 1, MEMARG_LANE), (89, "v128.store16_lane", 2, MEMARG_LANE),
    (90, "v128.store32_lane", 4, MEMARG_LANE), (91, "v128.store64_lane", 8, MEMARG_LANE),
    (92, "v128.load32_zero", 4, MEMARG), (93, "v128.load64_zero", 8, MEMARG),
):  # fmt: skip
    _add(_name, (0xFD, _sub), _kind)
    NATURAL_ALIGN[_name] = _align

_add("v128.const", (0xFD, 12), V128)
_add("i8x16.shuffle", (0xFD, 13), SHUFFLE)
for _sub, _name in (
    (21, "i8x16.extract_lane_s"), (22, "i8x16.extract_lane_u"), (23, "i8x16.replace_lane"),
    (24, "i16x8.extract_lane_s"), (25, "i16x8.extract_lane_u"), (26, "i16x8.replace_lane"),
    (27, "i32x4.extract_lane"), (28, "i32x4.replace_lane"), (29, "i64x2.extract_lane"),
    (30, "i64x2.replace_lane"), (31, "f32x4.extract_lane"), (32, "f32x4.replace_lane"),
    (33, "f64x2.extract_lane"), (34, "f64x2.replace_lane"),
):  # fmt: skip
    _add(_name, (0xFD, _sub), LANE)

# Vector instructions without immediates: (first sub-opcode, names in order); "-" is a gap.
_VECTOR = (
    (14, "i8x16.swizzle i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat "
         "f64x2.splat"),
    (35, "i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s i8x16.gt_u i8x16.le_s i8x16.le_u "
         "i8x16.ge_s i8x16.ge_u i16x8.eq i16x8.ne i16x8.lt_s i16x8.lt_u i16x8.gt_s i16x8.gt_u "
         "i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u i32x4.eq i32x4.ne i32x4.lt_s i32x4.lt_u "
         "i32x4.gt_s i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s i32x4.ge_u f32x4.eq f32x4.ne "
         "f32x4.lt f32x4.gt f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le "
         "f64x2.ge v128.not v128.and v128.andnot v128.or v128.xor v128.bitselect "
         "v128.any_true"),
    (94, "f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 i8x16.abs i8x16.neg i8x16.popcnt "
         "i8x16.all_true i8x16.bitmask i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u f32x4.ceil "
         "f32x4.floor f32x4.trunc f32x4.nearest i8x16.shl i8x16.shr_s i8x16.shr_u i8x16.add "
         "i8x16.add_sat_s i8x16.add_sat_u i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u f64x2.ceil "
         "f64x2.floor i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u "
         "i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u "
         "i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u i16x8.abs i16x8.neg "
         "i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask i16x8.narrow_i32x4_s "
         "i16x8.narrow_i32x4_u i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s "
         "i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u i16x8.shl i16x8.shr_s i16x8.shr_u "
         "i16x8.add i16x8.add_sat_s i16x8.add_sat_u i16x8.sub i16x8.sub_sat_s i16x8.sub_sat_u "
         "f64x2.nearest i16x8.mul i16x8.min_s i16x8.min_u i16x8.max_s i16x8.max_u - "
         "i16x8.avgr_u i16x8.extmul_low_i8x16_s i16x8.extmul_high_i8x16_s "
         "i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u i32x4.abs i32x4.neg - "
         "i32x4.all_true i32x4.bitmask - - i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s "
         "i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u i32x4.shl i32x4.shr_s i32x4.shr_u "
         "i32x4.add - - i32x4.sub - - - i32x4.mul i32x4.min_s i32x4.min_u i32x4.max_s "
         "i32x4.max_u i32x4.dot_i16x8_s - i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s "
         "i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u i64x2.abs i64x2.neg - "
         "i64x2.all_true i64x2.bitmask - - i64x2.extend_low_i32x4_s i64x2.extend_high_i32x4_s "
         "i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u i64x2.shl i64x2.shr_s i64x2.shr_u "
         "i64x2.add - - i64x2.sub - - - i64x2.mul i64x2.eq i64x2.ne i64x2.lt_s i64x2.gt_s "
         "i64x2.le_s i64x2.ge_s i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s "
         "i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u f32x4.abs f32x4.neg - f32x4.sqrt "
         "f32x4.add f32x4.sub f32x4.mul f32x4.div f32x4.min f32x4.max f32x4.pmin f32x4.pmax "
         "f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub f64x2.mul f64x2.div f64x2.min "
         "f64x2.max f64x2.pmin f64x2.pmax i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u "
         "f32x4.convert_i32x4_s f32x4.convert_i32x4_u i32x4.trunc_sat_f64x2_s_zero "
         "i32x4.trunc_sat_f64x2_u_zero f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u "
         # relaxed SIMD
         "i8x16.relaxed_swizzle i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u "
         "i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero f32x4.relaxed_madd "
         "f32x4.relaxed_nmadd f64x2.relaxed_madd f64x2.relaxed_nmadd i8x16.relaxed_laneselect "
         "i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect "
         "f32x4.relaxed_min f32x4.relaxed_max f64x2.relaxed_min f64x2.relaxed_max "
         "i16x8.relaxed_q15mulr_s i16x8.relaxed_dot_i8x16_i7x16_s "
         "i32x4.relaxed_dot_i8x16_i7x16_add_s"),
)  # fmt: skip
for _first, _names in _VECTOR:
    for _sub, _name in enumerate(_names.split(), start=_first):
        if _name != "-":
            _add(_name, (0xFD, _sub))
assert INSTRUCTIONS["i32x4.relaxed_dot_i8x16_i7x16_add_s"][0] == b"\xfd\x93\x02"

#: Lane count and lane width in bits of each vector shape.
SHAPES: dict[str, tuple[int, int]] = {
    "i8x16": (16, 8), "i16x8": (8, 16), "i32x4": (4, 32), "i64x2": (2, 64),
    "f32x4": (4, 32), "f64x2": (2, 64),
}  # fmt: skip

#: How many lanes a lane-index immediate may address, by instruction.
LANES: dict[str, int] = {
    name: SHAPES[name.split(".")[0]][0]
    for name, (_, kind) in INSTRUCTIONS.items() if kind == LANE
}
LANES.update({name: 16 // NATURAL_ALIGN[name] for name, (_, kind) in INSTRUCTIONS.items()
              if kind == MEMARG_LANE})

#: Instructions that need a data count section when a function uses them.
USES_DATA_COUNT = frozenset({"memory.init", "data.drop", "array.new_data", "array.init_data"})
