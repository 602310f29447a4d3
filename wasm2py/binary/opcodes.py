"""The WebAssembly instruction set: opcode numbers and the kind of immediate each takes.

Single-byte opcodes keep their byte value; ``0xFC``-prefixed opcodes are ``0xFC00 | sub`` and
``0xFD``-prefixed (SIMD) opcodes are ``0xFD000 | sub``.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Imm(enum.Enum):
    """Immediate operand kinds. The decoded immediate for each kind is documented beside it."""

    NONE = 0  # None
    BLOCK = 1  # block type: None (empty) | ValType (single result) | int (type index)
    LABEL = 2  # int label depth
    BR_TABLE = 3  # (tuple[int, ...] labels, int default)
    FUNC = 4  # int function index
    CALL_INDIRECT = 5  # (type index, table index)
    LOCAL = 6  # int local index
    GLOBAL = 7  # int global index
    TABLE = 8  # int table index
    MEMARG = 9  # (align exponent, offset, memory index)
    MEMORY = 10  # int memory index
    I32 = 11  # int, signed
    I64 = 12  # int, signed
    F32 = 13  # int, the raw 32 bits
    F64 = 14  # int, the raw 64 bits
    REFTYPE = 15  # the nullable reference type of ``ref.null ht``: ValType | RefType
    SELECT_T = 16  # tuple[ValType | RefType, ...]
    MEMORY_INIT = 17  # (data index, memory index)
    DATA = 18  # int data segment index
    MEMORY_COPY = 19  # (dst memory, src memory)
    TABLE_INIT = 20  # (elem index, table index)
    ELEM = 21  # int element segment index
    TABLE_COPY = 22  # (dst table, src table)
    V128 = 23  # bytes, 16 bytes little-endian
    SHUFFLE = 24  # bytes, 16 lane indices
    LANE = 25  # int lane index
    MEMARG_LANE = 26  # (align exponent, offset, lane, memory index)
    TAG = 27  # int tag index
    TYPE = 28  # int type index (call_ref, return_call_ref)
    TRY_TABLE = 29  # (block type, tuple of Catch)


class Op(enum.IntEnum):
    """Every opcode wasm2py decodes."""

    UNREACHABLE = 0x00
    NOP = 0x01
    BLOCK = 0x02
    LOOP = 0x03
    IF = 0x04
    ELSE = 0x05
    THROW = 0x08
    THROW_REF = 0x0A
    END = 0x0B
    BR = 0x0C
    BR_IF = 0x0D
    BR_TABLE = 0x0E
    RETURN = 0x0F
    CALL = 0x10
    CALL_INDIRECT = 0x11
    RETURN_CALL = 0x12
    RETURN_CALL_INDIRECT = 0x13
    CALL_REF = 0x14
    RETURN_CALL_REF = 0x15
    DROP = 0x1A
    SELECT = 0x1B
    SELECT_T = 0x1C
    TRY_TABLE = 0x1F
    LOCAL_GET = 0x20
    LOCAL_SET = 0x21
    LOCAL_TEE = 0x22
    GLOBAL_GET = 0x23
    GLOBAL_SET = 0x24
    TABLE_GET = 0x25
    TABLE_SET = 0x26
    I32_LOAD = 0x28
    I64_LOAD = 0x29
    F32_LOAD = 0x2A
    F64_LOAD = 0x2B
    I32_LOAD8_S = 0x2C
    I32_LOAD8_U = 0x2D
    I32_LOAD16_S = 0x2E
    I32_LOAD16_U = 0x2F
    I64_LOAD8_S = 0x30
    I64_LOAD8_U = 0x31
    I64_LOAD16_S = 0x32
    I64_LOAD16_U = 0x33
    I64_LOAD32_S = 0x34
    I64_LOAD32_U = 0x35
    I32_STORE = 0x36
    I64_STORE = 0x37
    F32_STORE = 0x38
    F64_STORE = 0x39
    I32_STORE8 = 0x3A
    I32_STORE16 = 0x3B
    I64_STORE8 = 0x3C
    I64_STORE16 = 0x3D
    I64_STORE32 = 0x3E
    MEMORY_SIZE = 0x3F
    MEMORY_GROW = 0x40
    I32_CONST = 0x41
    I64_CONST = 0x42
    F32_CONST = 0x43
    F64_CONST = 0x44
    I32_EQZ = 0x45
    I32_EQ = 0x46
    I32_NE = 0x47
    I32_LT_S = 0x48
    I32_LT_U = 0x49
    I32_GT_S = 0x4A
    I32_GT_U = 0x4B
    I32_LE_S = 0x4C
    I32_LE_U = 0x4D
    I32_GE_S = 0x4E
    I32_GE_U = 0x4F
    I64_EQZ = 0x50
    I64_EQ = 0x51
    I64_NE = 0x52
    I64_LT_S = 0x53
    I64_LT_U = 0x54
    I64_GT_S = 0x55
    I64_GT_U = 0x56
    I64_LE_S = 0x57
    I64_LE_U = 0x58
    I64_GE_S = 0x59
    I64_GE_U = 0x5A
    F32_EQ = 0x5B
    F32_NE = 0x5C
    F32_LT = 0x5D
    F32_GT = 0x5E
    F32_LE = 0x5F
    F32_GE = 0x60
    F64_EQ = 0x61
    F64_NE = 0x62
    F64_LT = 0x63
    F64_GT = 0x64
    F64_LE = 0x65
    F64_GE = 0x66
    I32_CLZ = 0x67
    I32_CTZ = 0x68
    I32_POPCNT = 0x69
    I32_ADD = 0x6A
    I32_SUB = 0x6B
    I32_MUL = 0x6C
    I32_DIV_S = 0x6D
    I32_DIV_U = 0x6E
    I32_REM_S = 0x6F
    I32_REM_U = 0x70
    I32_AND = 0x71
    I32_OR = 0x72
    I32_XOR = 0x73
    I32_SHL = 0x74
    I32_SHR_S = 0x75
    I32_SHR_U = 0x76
    I32_ROTL = 0x77
    I32_ROTR = 0x78
    I64_CLZ = 0x79
    I64_CTZ = 0x7A
    I64_POPCNT = 0x7B
    I64_ADD = 0x7C
    I64_SUB = 0x7D
    I64_MUL = 0x7E
    I64_DIV_S = 0x7F
    I64_DIV_U = 0x80
    I64_REM_S = 0x81
    I64_REM_U = 0x82
    I64_AND = 0x83
    I64_OR = 0x84
    I64_XOR = 0x85
    I64_SHL = 0x86
    I64_SHR_S = 0x87
    I64_SHR_U = 0x88
    I64_ROTL = 0x89
    I64_ROTR = 0x8A
    F32_ABS = 0x8B
    F32_NEG = 0x8C
    F32_CEIL = 0x8D
    F32_FLOOR = 0x8E
    F32_TRUNC = 0x8F
    F32_NEAREST = 0x90
    F32_SQRT = 0x91
    F32_ADD = 0x92
    F32_SUB = 0x93
    F32_MUL = 0x94
    F32_DIV = 0x95
    F32_MIN = 0x96
    F32_MAX = 0x97
    F32_COPYSIGN = 0x98
    F64_ABS = 0x99
    F64_NEG = 0x9A
    F64_CEIL = 0x9B
    F64_FLOOR = 0x9C
    F64_TRUNC = 0x9D
    F64_NEAREST = 0x9E
    F64_SQRT = 0x9F
    F64_ADD = 0xA0
    F64_SUB = 0xA1
    F64_MUL = 0xA2
    F64_DIV = 0xA3
    F64_MIN = 0xA4
    F64_MAX = 0xA5
    F64_COPYSIGN = 0xA6
    I32_WRAP_I64 = 0xA7
    I32_TRUNC_F32_S = 0xA8
    I32_TRUNC_F32_U = 0xA9
    I32_TRUNC_F64_S = 0xAA
    I32_TRUNC_F64_U = 0xAB
    I64_EXTEND_I32_S = 0xAC
    I64_EXTEND_I32_U = 0xAD
    I64_TRUNC_F32_S = 0xAE
    I64_TRUNC_F32_U = 0xAF
    I64_TRUNC_F64_S = 0xB0
    I64_TRUNC_F64_U = 0xB1
    F32_CONVERT_I32_S = 0xB2
    F32_CONVERT_I32_U = 0xB3
    F32_CONVERT_I64_S = 0xB4
    F32_CONVERT_I64_U = 0xB5
    F32_DEMOTE_F64 = 0xB6
    F64_CONVERT_I32_S = 0xB7
    F64_CONVERT_I32_U = 0xB8
    F64_CONVERT_I64_S = 0xB9
    F64_CONVERT_I64_U = 0xBA
    F64_PROMOTE_F32 = 0xBB
    I32_REINTERPRET_F32 = 0xBC
    I64_REINTERPRET_F64 = 0xBD
    F32_REINTERPRET_I32 = 0xBE
    F64_REINTERPRET_I64 = 0xBF
    I32_EXTEND8_S = 0xC0
    I32_EXTEND16_S = 0xC1
    I64_EXTEND8_S = 0xC2
    I64_EXTEND16_S = 0xC3
    I64_EXTEND32_S = 0xC4
    REF_NULL = 0xD0
    REF_IS_NULL = 0xD1
    REF_FUNC = 0xD2
    REF_EQ = 0xD3
    REF_AS_NON_NULL = 0xD4
    BR_ON_NULL = 0xD5
    BR_ON_NON_NULL = 0xD6
    # 0xFC prefix
    I32_TRUNC_SAT_F32_S = 0xFC00
    I32_TRUNC_SAT_F32_U = 0xFC01
    I32_TRUNC_SAT_F64_S = 0xFC02
    I32_TRUNC_SAT_F64_U = 0xFC03
    I64_TRUNC_SAT_F32_S = 0xFC04
    I64_TRUNC_SAT_F32_U = 0xFC05
    I64_TRUNC_SAT_F64_S = 0xFC06
    I64_TRUNC_SAT_F64_U = 0xFC07
    MEMORY_INIT = 0xFC08
    DATA_DROP = 0xFC09
    MEMORY_COPY = 0xFC0A
    MEMORY_FILL = 0xFC0B
    TABLE_INIT = 0xFC0C
    ELEM_DROP = 0xFC0D
    TABLE_COPY = 0xFC0E
    TABLE_GROW = 0xFC0F
    TABLE_SIZE = 0xFC10
    TABLE_FILL = 0xFC11


class OpCode:
    """The members of :class:`Op` as plain ints (``OpCode.LOCAL_GET == Op.LOCAL_GET``), for
    loops over every instruction: reading ``Op.LOCAL_GET`` goes through the enum's machinery,
    about seven times as slow as reading a class attribute (180 vs 26 ns), and a chain of
    comparisons per instruction adds up."""


for _member in Op:
    setattr(OpCode, _member.name, int(_member))
del _member

SIMD_BASE = 0xFD000


class CatchKind(enum.IntEnum):
    """The kinds of ``try_table`` catch clauses (their binary encoding)."""

    CATCH = 0
    CATCH_REF = 1
    CATCH_ALL = 2
    CATCH_ALL_REF = 3


class Catch(NamedTuple):
    """A ``try_table`` catch clause: its kind, the tag (None for ``catch_all``) and the label
    it branches to."""

    kind: CatchKind
    tag: int | None
    label: int


#: the instructions each proposal adds (opcode -> proposal field of :class:`~wasm2py.features.
#: Features`), refused when the proposal is switched off
PROPOSAL_OPS: dict[int, str] = {
    Op.RETURN_CALL: "tail_call", Op.RETURN_CALL_INDIRECT: "tail_call",
    Op.RETURN_CALL_REF: "tail_call",
    Op.CALL_REF: "function_references", Op.REF_AS_NON_NULL: "function_references",
    Op.BR_ON_NULL: "function_references", Op.BR_ON_NON_NULL: "function_references",
    Op.THROW: "exceptions", Op.THROW_REF: "exceptions", Op.TRY_TABLE: "exceptions",
    Op.REF_EQ: "gc",
}  # fmt: skip

_LOADS_STORES = range(Op.I32_LOAD, Op.I64_STORE32 + 1)

#: Immediate kind of every non-SIMD opcode. SIMD opcodes are listed in ``SIMD_IMM``.
IMM: dict[int, Imm] = {op: Imm.NONE for op in Op}
IMM.update(
    {
        Op.BLOCK: Imm.BLOCK,
        Op.LOOP: Imm.BLOCK,
        Op.IF: Imm.BLOCK,
        Op.BR: Imm.LABEL,
        Op.BR_IF: Imm.LABEL,
        Op.BR_TABLE: Imm.BR_TABLE,
        Op.CALL: Imm.FUNC,
        Op.CALL_INDIRECT: Imm.CALL_INDIRECT,
        Op.RETURN_CALL: Imm.FUNC,
        Op.RETURN_CALL_INDIRECT: Imm.CALL_INDIRECT,
        Op.CALL_REF: Imm.TYPE,
        Op.RETURN_CALL_REF: Imm.TYPE,
        Op.THROW: Imm.TAG,
        Op.TRY_TABLE: Imm.TRY_TABLE,
        Op.BR_ON_NULL: Imm.LABEL,
        Op.BR_ON_NON_NULL: Imm.LABEL,
        Op.SELECT_T: Imm.SELECT_T,
        Op.LOCAL_GET: Imm.LOCAL,
        Op.LOCAL_SET: Imm.LOCAL,
        Op.LOCAL_TEE: Imm.LOCAL,
        Op.GLOBAL_GET: Imm.GLOBAL,
        Op.GLOBAL_SET: Imm.GLOBAL,
        Op.TABLE_GET: Imm.TABLE,
        Op.TABLE_SET: Imm.TABLE,
        Op.MEMORY_SIZE: Imm.MEMORY,
        Op.MEMORY_GROW: Imm.MEMORY,
        Op.I32_CONST: Imm.I32,
        Op.I64_CONST: Imm.I64,
        Op.F32_CONST: Imm.F32,
        Op.F64_CONST: Imm.F64,
        Op.REF_NULL: Imm.REFTYPE,
        Op.REF_FUNC: Imm.FUNC,
        Op.MEMORY_INIT: Imm.MEMORY_INIT,
        Op.DATA_DROP: Imm.DATA,
        Op.MEMORY_COPY: Imm.MEMORY_COPY,
        Op.MEMORY_FILL: Imm.MEMORY,
        Op.TABLE_INIT: Imm.TABLE_INIT,
        Op.ELEM_DROP: Imm.ELEM,
        Op.TABLE_COPY: Imm.TABLE_COPY,
        Op.TABLE_GROW: Imm.TABLE,
        Op.TABLE_SIZE: Imm.TABLE,
        Op.TABLE_FILL: Imm.TABLE,
    }
)
for _op in _LOADS_STORES:
    IMM[_op] = Imm.MEMARG

#: Natural alignment exponent (log2 of the access size in bytes) of every load and store.
NATURAL_ALIGN: dict[int, int] = {
    Op.I32_LOAD: 2, Op.I64_LOAD: 3, Op.F32_LOAD: 2, Op.F64_LOAD: 3,
    Op.I32_LOAD8_S: 0, Op.I32_LOAD8_U: 0, Op.I32_LOAD16_S: 1, Op.I32_LOAD16_U: 1,
    Op.I64_LOAD8_S: 0, Op.I64_LOAD8_U: 0, Op.I64_LOAD16_S: 1, Op.I64_LOAD16_U: 1,
    Op.I64_LOAD32_S: 2, Op.I64_LOAD32_U: 2,
    Op.I32_STORE: 2, Op.I64_STORE: 3, Op.F32_STORE: 2, Op.F64_STORE: 3,
    Op.I32_STORE8: 0, Op.I32_STORE16: 1, Op.I64_STORE8: 0, Op.I64_STORE16: 1, Op.I64_STORE32: 2,
}  # fmt: skip

# The Wasm 2.0 vector instructions (``0xFD`` prefix), as (sub-opcode, name, immediate kind), in
# the order of the spec's binary format. Sub-opcodes missing here (154, 162, 165, 166, 175, 176,
# 178-180, 187, 194, 197, 198, 207, 208, 210-212, 226, 238) are reserved and illegal.
_M, _ML, _L = Imm.MEMARG, Imm.MEMARG_LANE, Imm.LANE
_SIMD_TABLE: list[tuple[int, str, Imm]] = [
    (0, "v128.load", _M), (1, "v128.load8x8_s", _M), (2, "v128.load8x8_u", _M),
    (3, "v128.load16x4_s", _M), (4, "v128.load16x4_u", _M), (5, "v128.load32x2_s", _M),
    (6, "v128.load32x2_u", _M), (7, "v128.load8_splat", _M), (8, "v128.load16_splat", _M),
    (9, "v128.load32_splat", _M), (10, "v128.load64_splat", _M), (11, "v128.store", _M),
    (12, "v128.const", Imm.V128), (13, "i8x16.shuffle", Imm.SHUFFLE),
    (14, "i8x16.swizzle", Imm.NONE), (15, "i8x16.splat", Imm.NONE), (16, "i16x8.splat", Imm.NONE),
    (17, "i32x4.splat", Imm.NONE), (18, "i64x2.splat", Imm.NONE), (19, "f32x4.splat", Imm.NONE),
    (20, "f64x2.splat", Imm.NONE),
    (21, "i8x16.extract_lane_s", _L), (22, "i8x16.extract_lane_u", _L),
    (23, "i8x16.replace_lane", _L), (24, "i16x8.extract_lane_s", _L),
    (25, "i16x8.extract_lane_u", _L), (26, "i16x8.replace_lane", _L),
    (27, "i32x4.extract_lane", _L), (28, "i32x4.replace_lane", _L),
    (29, "i64x2.extract_lane", _L), (30, "i64x2.replace_lane", _L),
    (31, "f32x4.extract_lane", _L), (32, "f32x4.replace_lane", _L),
    (33, "f64x2.extract_lane", _L), (34, "f64x2.replace_lane", _L),
    (35, "i8x16.eq", Imm.NONE), (36, "i8x16.ne", Imm.NONE), (37, "i8x16.lt_s", Imm.NONE),
    (38, "i8x16.lt_u", Imm.NONE), (39, "i8x16.gt_s", Imm.NONE), (40, "i8x16.gt_u", Imm.NONE),
    (41, "i8x16.le_s", Imm.NONE), (42, "i8x16.le_u", Imm.NONE), (43, "i8x16.ge_s", Imm.NONE),
    (44, "i8x16.ge_u", Imm.NONE),
    (45, "i16x8.eq", Imm.NONE), (46, "i16x8.ne", Imm.NONE), (47, "i16x8.lt_s", Imm.NONE),
    (48, "i16x8.lt_u", Imm.NONE), (49, "i16x8.gt_s", Imm.NONE), (50, "i16x8.gt_u", Imm.NONE),
    (51, "i16x8.le_s", Imm.NONE), (52, "i16x8.le_u", Imm.NONE), (53, "i16x8.ge_s", Imm.NONE),
    (54, "i16x8.ge_u", Imm.NONE),
    (55, "i32x4.eq", Imm.NONE), (56, "i32x4.ne", Imm.NONE), (57, "i32x4.lt_s", Imm.NONE),
    (58, "i32x4.lt_u", Imm.NONE), (59, "i32x4.gt_s", Imm.NONE), (60, "i32x4.gt_u", Imm.NONE),
    (61, "i32x4.le_s", Imm.NONE), (62, "i32x4.le_u", Imm.NONE), (63, "i32x4.ge_s", Imm.NONE),
    (64, "i32x4.ge_u", Imm.NONE),
    (65, "f32x4.eq", Imm.NONE), (66, "f32x4.ne", Imm.NONE), (67, "f32x4.lt", Imm.NONE),
    (68, "f32x4.gt", Imm.NONE), (69, "f32x4.le", Imm.NONE), (70, "f32x4.ge", Imm.NONE),
    (71, "f64x2.eq", Imm.NONE), (72, "f64x2.ne", Imm.NONE), (73, "f64x2.lt", Imm.NONE),
    (74, "f64x2.gt", Imm.NONE), (75, "f64x2.le", Imm.NONE), (76, "f64x2.ge", Imm.NONE),
    (77, "v128.not", Imm.NONE), (78, "v128.and", Imm.NONE), (79, "v128.andnot", Imm.NONE),
    (80, "v128.or", Imm.NONE), (81, "v128.xor", Imm.NONE), (82, "v128.bitselect", Imm.NONE),
    (83, "v128.any_true", Imm.NONE),
    (84, "v128.load8_lane", _ML), (85, "v128.load16_lane", _ML), (86, "v128.load32_lane", _ML),
    (87, "v128.load64_lane", _ML), (88, "v128.store8_lane", _ML),
    (89, "v128.store16_lane", _ML), (90, "v128.store32_lane", _ML),
    (91, "v128.store64_lane", _ML), (92, "v128.load32_zero", _M), (93, "v128.load64_zero", _M),
    (94, "f32x4.demote_f64x2_zero", Imm.NONE), (95, "f64x2.promote_low_f32x4", Imm.NONE),
    (96, "i8x16.abs", Imm.NONE), (97, "i8x16.neg", Imm.NONE), (98, "i8x16.popcnt", Imm.NONE),
    (99, "i8x16.all_true", Imm.NONE), (100, "i8x16.bitmask", Imm.NONE),
    (101, "i8x16.narrow_i16x8_s", Imm.NONE), (102, "i8x16.narrow_i16x8_u", Imm.NONE),
    (103, "f32x4.ceil", Imm.NONE), (104, "f32x4.floor", Imm.NONE), (105, "f32x4.trunc", Imm.NONE),
    (106, "f32x4.nearest", Imm.NONE), (107, "i8x16.shl", Imm.NONE),
    (108, "i8x16.shr_s", Imm.NONE), (109, "i8x16.shr_u", Imm.NONE), (110, "i8x16.add", Imm.NONE),
    (111, "i8x16.add_sat_s", Imm.NONE), (112, "i8x16.add_sat_u", Imm.NONE),
    (113, "i8x16.sub", Imm.NONE), (114, "i8x16.sub_sat_s", Imm.NONE),
    (115, "i8x16.sub_sat_u", Imm.NONE), (116, "f64x2.ceil", Imm.NONE),
    (117, "f64x2.floor", Imm.NONE), (118, "i8x16.min_s", Imm.NONE),
    (119, "i8x16.min_u", Imm.NONE), (120, "i8x16.max_s", Imm.NONE),
    (121, "i8x16.max_u", Imm.NONE), (122, "f64x2.trunc", Imm.NONE),
    (123, "i8x16.avgr_u", Imm.NONE), (124, "i16x8.extadd_pairwise_i8x16_s", Imm.NONE),
    (125, "i16x8.extadd_pairwise_i8x16_u", Imm.NONE),
    (126, "i32x4.extadd_pairwise_i16x8_s", Imm.NONE),
    (127, "i32x4.extadd_pairwise_i16x8_u", Imm.NONE),
    (128, "i16x8.abs", Imm.NONE), (129, "i16x8.neg", Imm.NONE),
    (130, "i16x8.q15mulr_sat_s", Imm.NONE), (131, "i16x8.all_true", Imm.NONE),
    (132, "i16x8.bitmask", Imm.NONE), (133, "i16x8.narrow_i32x4_s", Imm.NONE),
    (134, "i16x8.narrow_i32x4_u", Imm.NONE), (135, "i16x8.extend_low_i8x16_s", Imm.NONE),
    (136, "i16x8.extend_high_i8x16_s", Imm.NONE), (137, "i16x8.extend_low_i8x16_u", Imm.NONE),
    (138, "i16x8.extend_high_i8x16_u", Imm.NONE), (139, "i16x8.shl", Imm.NONE),
    (140, "i16x8.shr_s", Imm.NONE), (141, "i16x8.shr_u", Imm.NONE), (142, "i16x8.add", Imm.NONE),
    (143, "i16x8.add_sat_s", Imm.NONE), (144, "i16x8.add_sat_u", Imm.NONE),
    (145, "i16x8.sub", Imm.NONE), (146, "i16x8.sub_sat_s", Imm.NONE),
    (147, "i16x8.sub_sat_u", Imm.NONE), (148, "f64x2.nearest", Imm.NONE),
    (149, "i16x8.mul", Imm.NONE), (150, "i16x8.min_s", Imm.NONE), (151, "i16x8.min_u", Imm.NONE),
    (152, "i16x8.max_s", Imm.NONE), (153, "i16x8.max_u", Imm.NONE),
    (155, "i16x8.avgr_u", Imm.NONE), (156, "i16x8.extmul_low_i8x16_s", Imm.NONE),
    (157, "i16x8.extmul_high_i8x16_s", Imm.NONE), (158, "i16x8.extmul_low_i8x16_u", Imm.NONE),
    (159, "i16x8.extmul_high_i8x16_u", Imm.NONE),
    (160, "i32x4.abs", Imm.NONE), (161, "i32x4.neg", Imm.NONE),
    (163, "i32x4.all_true", Imm.NONE), (164, "i32x4.bitmask", Imm.NONE),
    (167, "i32x4.extend_low_i16x8_s", Imm.NONE), (168, "i32x4.extend_high_i16x8_s", Imm.NONE),
    (169, "i32x4.extend_low_i16x8_u", Imm.NONE), (170, "i32x4.extend_high_i16x8_u", Imm.NONE),
    (171, "i32x4.shl", Imm.NONE), (172, "i32x4.shr_s", Imm.NONE), (173, "i32x4.shr_u", Imm.NONE),
    (174, "i32x4.add", Imm.NONE), (177, "i32x4.sub", Imm.NONE), (181, "i32x4.mul", Imm.NONE),
    (182, "i32x4.min_s", Imm.NONE), (183, "i32x4.min_u", Imm.NONE),
    (184, "i32x4.max_s", Imm.NONE), (185, "i32x4.max_u", Imm.NONE),
    (186, "i32x4.dot_i16x8_s", Imm.NONE), (188, "i32x4.extmul_low_i16x8_s", Imm.NONE),
    (189, "i32x4.extmul_high_i16x8_s", Imm.NONE), (190, "i32x4.extmul_low_i16x8_u", Imm.NONE),
    (191, "i32x4.extmul_high_i16x8_u", Imm.NONE),
    (192, "i64x2.abs", Imm.NONE), (193, "i64x2.neg", Imm.NONE),
    (195, "i64x2.all_true", Imm.NONE), (196, "i64x2.bitmask", Imm.NONE),
    (199, "i64x2.extend_low_i32x4_s", Imm.NONE), (200, "i64x2.extend_high_i32x4_s", Imm.NONE),
    (201, "i64x2.extend_low_i32x4_u", Imm.NONE), (202, "i64x2.extend_high_i32x4_u", Imm.NONE),
    (203, "i64x2.shl", Imm.NONE), (204, "i64x2.shr_s", Imm.NONE), (205, "i64x2.shr_u", Imm.NONE),
    (206, "i64x2.add", Imm.NONE), (209, "i64x2.sub", Imm.NONE), (213, "i64x2.mul", Imm.NONE),
    (214, "i64x2.eq", Imm.NONE), (215, "i64x2.ne", Imm.NONE), (216, "i64x2.lt_s", Imm.NONE),
    (217, "i64x2.gt_s", Imm.NONE), (218, "i64x2.le_s", Imm.NONE), (219, "i64x2.ge_s", Imm.NONE),
    (220, "i64x2.extmul_low_i32x4_s", Imm.NONE), (221, "i64x2.extmul_high_i32x4_s", Imm.NONE),
    (222, "i64x2.extmul_low_i32x4_u", Imm.NONE), (223, "i64x2.extmul_high_i32x4_u", Imm.NONE),
    (224, "f32x4.abs", Imm.NONE), (225, "f32x4.neg", Imm.NONE), (227, "f32x4.sqrt", Imm.NONE),
    (228, "f32x4.add", Imm.NONE), (229, "f32x4.sub", Imm.NONE), (230, "f32x4.mul", Imm.NONE),
    (231, "f32x4.div", Imm.NONE), (232, "f32x4.min", Imm.NONE), (233, "f32x4.max", Imm.NONE),
    (234, "f32x4.pmin", Imm.NONE), (235, "f32x4.pmax", Imm.NONE),
    (236, "f64x2.abs", Imm.NONE), (237, "f64x2.neg", Imm.NONE), (239, "f64x2.sqrt", Imm.NONE),
    (240, "f64x2.add", Imm.NONE), (241, "f64x2.sub", Imm.NONE), (242, "f64x2.mul", Imm.NONE),
    (243, "f64x2.div", Imm.NONE), (244, "f64x2.min", Imm.NONE), (245, "f64x2.max", Imm.NONE),
    (246, "f64x2.pmin", Imm.NONE), (247, "f64x2.pmax", Imm.NONE),
    (248, "i32x4.trunc_sat_f32x4_s", Imm.NONE), (249, "i32x4.trunc_sat_f32x4_u", Imm.NONE),
    (250, "f32x4.convert_i32x4_s", Imm.NONE), (251, "f32x4.convert_i32x4_u", Imm.NONE),
    (252, "i32x4.trunc_sat_f64x2_s_zero", Imm.NONE),
    (253, "i32x4.trunc_sat_f64x2_u_zero", Imm.NONE),
    (254, "f64x2.convert_low_i32x4_s", Imm.NONE), (255, "f64x2.convert_low_i32x4_u", Imm.NONE),
    # relaxed SIMD (Wasm 3.0)
    (0x100, "i8x16.relaxed_swizzle", Imm.NONE),
    (0x101, "i32x4.relaxed_trunc_f32x4_s", Imm.NONE),
    (0x102, "i32x4.relaxed_trunc_f32x4_u", Imm.NONE),
    (0x103, "i32x4.relaxed_trunc_f64x2_s_zero", Imm.NONE),
    (0x104, "i32x4.relaxed_trunc_f64x2_u_zero", Imm.NONE),
    (0x105, "f32x4.relaxed_madd", Imm.NONE), (0x106, "f32x4.relaxed_nmadd", Imm.NONE),
    (0x107, "f64x2.relaxed_madd", Imm.NONE), (0x108, "f64x2.relaxed_nmadd", Imm.NONE),
    (0x109, "i8x16.relaxed_laneselect", Imm.NONE), (0x10A, "i16x8.relaxed_laneselect", Imm.NONE),
    (0x10B, "i32x4.relaxed_laneselect", Imm.NONE), (0x10C, "i64x2.relaxed_laneselect", Imm.NONE),
    (0x10D, "f32x4.relaxed_min", Imm.NONE), (0x10E, "f32x4.relaxed_max", Imm.NONE),
    (0x10F, "f64x2.relaxed_min", Imm.NONE), (0x110, "f64x2.relaxed_max", Imm.NONE),
    (0x111, "i16x8.relaxed_q15mulr_s", Imm.NONE),
    (0x112, "i16x8.relaxed_dot_i8x16_i7x16_s", Imm.NONE),
    (0x113, "i32x4.relaxed_dot_i8x16_i7x16_add_s", Imm.NONE),
]  # fmt: skip

#: the first relaxed SIMD sub-opcode (every one from here is relaxed SIMD)
RELAXED_SIMD_FIRST = 0x100

#: Immediate kind of every SIMD opcode (key: ``SIMD_BASE | sub``).
SIMD_IMM: dict[int, Imm] = {SIMD_BASE | sub: kind for sub, _, kind in _SIMD_TABLE}

#: Text-format name of every SIMD opcode (key: ``SIMD_BASE | sub``), e.g. ``"i8x16.add"``.
SIMD_NAMES: dict[int, str] = {SIMD_BASE | sub: name for sub, name, _ in _SIMD_TABLE}

#: Natural alignment exponent of every SIMD memory access (key: ``SIMD_BASE | sub``): 4 for full
#: 128-bit accesses, 3 for the 64-bit extending/zero/lane forms, and so on.
SIMD_NATURAL_ALIGN: dict[int, int] = {
    SIMD_BASE | sub: align
    for sub, align in (
        (0, 4), (1, 3), (2, 3), (3, 3), (4, 3), (5, 3), (6, 3), (7, 0), (8, 1), (9, 2), (10, 3),
        (11, 4), (84, 0), (85, 1), (86, 2), (87, 3), (88, 0), (89, 1), (90, 2), (91, 3),
        (92, 2), (93, 3),
    )
}  # fmt: skip


def opcode_name(op: int) -> str:
    """The text-format name of an opcode, e.g. ``i32.add`` (best effort for unknown ones)."""
    if op in SIMD_NAMES:
        return SIMD_NAMES[op]
    try:
        name = Op(op).name.lower()
    except ValueError:
        if op >= SIMD_BASE:
            return f"simd.{op - SIMD_BASE:#x}"
        return f"op.{op:#x}"
    head, _, rest = name.partition("_")
    if head in ("i32", "i64", "f32", "f64", "local", "global", "table", "memory", "ref",
                "data", "elem"):  # fmt: skip
        return f"{head}.{rest}"
    return name
