"""Translation of the SIMD (``v128``) instructions for the Python tier.

A v128 stack entry is an expression for a canonical unsigned 128-bit int (see
:mod:`wasm2py.runtime.simd`); it is always canonical (``V.norm`` true). The bitwise
instructions become single Python operators, ``v128.const`` a constant, integer splats and
unsigned lane extractions a multiplication or a shift and mask; every other
instruction becomes one call of the runtime helper named after it (``i32x4.add`` ->
``i32x4_add(a, b)``), with the lane index or shuffle pattern as a trailing constant argument.
Memory accesses read or write ``M`` like the scalar loads and stores (out of bounds raises
``struct.error``, which becomes the memory trap).

An instruction without a handler here makes the translator raise
:class:`~wasm2py.errors.UnsupportedFeature` at compile time.
"""

from __future__ import annotations

import ast

from ..binary.opcodes import SIMD_BASE, SIMD_NAMES
from ..runtime.simd import HELPERS, M128
from ..types import ValType
from ..validate.simd_types import SIMD_SIGS
from .codegen import FuncGen, _bin, _call, _const, _name

V128, I32 = ValType.V128, ValType.I32

_OPS = {name: op for op, name in SIMD_NAMES.items()}
#: Instructions whose helper has another name.
_ALIAS = {
    "i32x4.extract_lane": "i32x4_extract_lane_u",
    "i64x2.extract_lane": "i64x2_extract_lane_u",
}
_INLINE = {"v128.and": ast.BitAnd(), "v128.or": ast.BitOr(), "v128.xor": ast.BitXor()}


def _helper(op: int) -> str:
    name = SIMD_NAMES[op]
    return _ALIAS.get(name) or name.replace(".", "_")


def op_v128_const(self: FuncGen, ins) -> None:
    self.push(self.const_v(int.from_bytes(ins.imm, "little"), V128))


def op_v128_bitwise(self: FuncGen, ins) -> None:
    name = SIMD_NAMES[ins.op]
    if name == "v128.not":
        a = self.pop()
        self.push(self.combine(_bin(a.e, ast.BitXor(), _const(M128)), V128, a))
        return
    b = self.pop()
    a = self.pop()
    if name == "v128.andnot":
        e = _bin(a.e, ast.BitAnd(), _bin(b.e, ast.BitXor(), _const(M128)))
    else:
        e = _bin(a.e, _INLINE[name], b.e)
    self.push(self.combine(e, V128, a, b))


def op_simd_call(self: FuncGen, ins) -> None:
    """``helper(args..., [lane or shuffle pattern])`` for a pure instruction."""
    params, results = SIMD_SIGS[ins.op]
    n = len(params)
    vals = self.stack[len(self.stack) - n :]
    del self.stack[-n:]
    args = [self.canon(v) for v in vals]
    if ins.imm is not None:
        args.append(_const(ins.imm))
    name = SIMD_NAMES[ins.op]
    # extract_lane_s gives a signed int: congruent to the canonical value, masked where needed
    norm = not name.endswith("extract_lane_s")
    self.push(self.combine(_call(_helper(ins.op), *args), results[0], *vals, norm=norm))


_LANE_BITS = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}


def op_extract_lane_u(self: FuncGen, ins) -> None:
    """Unsigned integer lane extraction, inline: ``(v >> shift) & mask``."""
    w = _LANE_BITS[SIMD_NAMES[ins.op].partition(".")[0]]
    v = self.pop()
    s = ins.imm * w
    e = _bin(v.e, ast.RShift(), _const(s)) if s else v.e
    if s + w < 128:
        e = _bin(e, ast.BitAnd(), _const((1 << w) - 1))
    self.push(self.combine(e, SIMD_SIGS[ins.op][1][0], v))


def op_int_splat(self: FuncGen, ins) -> None:
    """Integer splat, inline: the lane value times ``0x...0001_0001`` (lanes of width w)."""
    w = _LANE_BITS[SIMD_NAMES[ins.op].partition(".")[0]]
    x = self.pop()
    rep = sum(1 << (i * w) for i in range(128 // w))
    lane = self.canon(x)
    if w < 32:
        lane = _bin(lane, ast.BitAnd(), _const((1 << w) - 1))
    self.push(self.combine(_bin(lane, ast.Mult(), _const(rep)), V128, x))


def op_simd_load(self: FuncGen, ins) -> None:
    params, _ = SIMD_SIGS[ins.op]
    vec = self.pop() if len(params) == 2 else None
    addr = self.pop()
    offset = ins.imm[1]
    view, mem = self.memory_names(ins.imm[-1])
    args = [_name(view), self.address(addr, offset)]
    deps = [addr]
    if vec is not None:
        args += [vec.e, _const(ins.imm[2])]
        deps.append(vec)
    v = self.combine(_call(_helper(ins.op), *args), V128, *deps, impure=True, state=True)
    v.reads = v.reads | {mem}
    self.push(v)


def op_simd_store(self: FuncGen, ins) -> None:
    val = self.pop()
    addr = self.pop()
    offset = ins.imm[1]
    view, mem = self.memory_names(ins.imm[-1])
    self.before_stmt(writes=(mem,))
    args = [_name(view), self.address(addr, offset), val.e]
    if len(ins.imm) == 4:  # a lane store
        args.append(_const(ins.imm[2]))
    self.emit(ast.Expr(_call(_helper(ins.op), *args)))


def _fill() -> None:
    d = FuncGen.DISPATCH
    for op, name in SIMD_NAMES.items():
        if name == "v128.const":
            d[op] = op_v128_const
        elif name in ("v128.and", "v128.or", "v128.xor", "v128.not", "v128.andnot"):
            d[op] = op_v128_bitwise
        elif (
            name.endswith(
                ("x16.extract_lane_u", "x8.extract_lane_u", "x4.extract_lane", "x2.extract_lane")
            )
            and name[0] == "i"
        ):
            d[op] = op_extract_lane_u
        elif name in ("i8x16.splat", "i16x8.splat", "i32x4.splat", "i64x2.splat"):
            d[op] = op_int_splat
        elif _helper(op) not in HELPERS:
            continue  # not implemented: the translator raises UnsupportedFeature
        elif name.startswith("v128.store"):
            d[op] = op_simd_store
        elif name.startswith("v128.load"):
            d[op] = op_simd_load
        else:
            d[op] = op_simd_call


_fill()
assert all(op >= SIMD_BASE for op in _OPS.values())
