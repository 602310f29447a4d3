"""The signatures of the simple (fixed-type) instructions, in tables shared by the validator
and :mod:`.frames` (a module of its own so that what needs only the tables, e.g. an LLVM
compile worker through :func:`.frames.frame_words`, does not import the whole validator).
"""

from __future__ import annotations

from ..binary.opcodes import NATURAL_ALIGN, Op
from ..types import ValType

__all__ = ["BINARY", "UNARY", "LOADS", "STORES"]

I32 = ValType.I32
I64 = ValType.I64
F32 = ValType.F32
F64 = ValType.F64


def _build_tables() -> tuple[dict, dict, dict, dict]:
    """Signature tables for the simple instructions.

    Returns (binary, unary, loads, stores): ``binary[op] = (operand type, result type)`` for
    ``[t t] -> [r]`` instructions, ``unary[op] = (operand type, result type)`` for ``[t] -> [r]``,
    ``loads[op] = (natural alignment, result type)`` and ``stores[op] = (natural alignment,
    value type)``.
    """
    binary: dict[int, tuple[ValType, ValType]] = {}
    unary: dict[int, tuple[ValType, ValType]] = {}

    def span(first: int, last: int, table: dict, sig: tuple[ValType, ValType]) -> None:
        for op in range(first, last + 1):
            table[op] = sig

    span(0x46, 0x4F, binary, (I32, I32))  # i32 comparisons
    span(0x51, 0x5A, binary, (I64, I32))  # i64 comparisons
    span(0x5B, 0x60, binary, (F32, I32))  # f32 comparisons
    span(0x61, 0x66, binary, (F64, I32))  # f64 comparisons
    span(0x6A, 0x78, binary, (I32, I32))  # i32 arithmetic
    span(0x7C, 0x8A, binary, (I64, I64))  # i64 arithmetic
    span(0x92, 0x98, binary, (F32, F32))  # f32 arithmetic
    span(0xA0, 0xA6, binary, (F64, F64))  # f64 arithmetic

    unary[0x45] = (I32, I32)  # i32.eqz
    unary[0x50] = (I64, I32)  # i64.eqz
    span(0x67, 0x69, unary, (I32, I32))  # i32.clz/ctz/popcnt
    span(0x79, 0x7B, unary, (I64, I64))  # i64.clz/ctz/popcnt
    span(0x8B, 0x91, unary, (F32, F32))  # f32.abs .. sqrt
    span(0x99, 0x9F, unary, (F64, F64))  # f64.abs .. sqrt
    conversions = {
        0xA7: (I64, I32),
        0xA8: (F32, I32), 0xA9: (F32, I32), 0xAA: (F64, I32), 0xAB: (F64, I32),
        0xAC: (I32, I64), 0xAD: (I32, I64),
        0xAE: (F32, I64), 0xAF: (F32, I64), 0xB0: (F64, I64), 0xB1: (F64, I64),
        0xB2: (I32, F32), 0xB3: (I32, F32), 0xB4: (I64, F32), 0xB5: (I64, F32),
        0xB6: (F64, F32),
        0xB7: (I32, F64), 0xB8: (I32, F64), 0xB9: (I64, F64), 0xBA: (I64, F64),
        0xBB: (F32, F64),
        0xBC: (F32, I32), 0xBD: (F64, I64), 0xBE: (I32, F32), 0xBF: (I64, F64),
        0xC0: (I32, I32), 0xC1: (I32, I32),  # sign extension
        0xC2: (I64, I64), 0xC3: (I64, I64), 0xC4: (I64, I64),
        0xFC00: (F32, I32), 0xFC01: (F32, I32), 0xFC02: (F64, I32), 0xFC03: (F64, I32),
        0xFC04: (F32, I64), 0xFC05: (F32, I64), 0xFC06: (F64, I64), 0xFC07: (F64, I64),
    }  # fmt: skip
    unary.update(conversions)

    load_types = [I32, I64, F32, F64, I32, I32, I32, I32, I64, I64, I64, I64, I64, I64]
    store_types = [I32, I64, F32, F64, I32, I32, I64, I64, I64]
    loads = {
        op: (NATURAL_ALIGN[op], t)
        for op, t in zip(range(Op.I32_LOAD, Op.I64_LOAD32_U + 1), load_types, strict=True)
    }
    stores = {
        op: (NATURAL_ALIGN[op], t)
        for op, t in zip(range(Op.I32_STORE, Op.I64_STORE32 + 1), store_types, strict=True)
    }
    return binary, unary, loads, stores


#: ``[t t] -> [r]``, ``[t] -> [r]``, loads and stores (see :func:`_build_tables`)
BINARY, UNARY, LOADS, STORES = _build_tables()
