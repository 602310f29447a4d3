"""Lower validated wasm function bodies to LLVM IR (``llvmlite.ir``).

One :class:`FunctionLowerer` per defined function walks the instruction list once, keeping the
operand stack *symbolically* as a Python list of SSA values (as the Python tier does with
expressions). Structured control flow becomes basic blocks:

* every ``block``/``if``/function body has an end block, every ``loop`` a header block; values
  carried by branches go through allocas (one per result, or per loop parameter), which
  ``mem2reg``/SROA turn into phis, so no phi bookkeeping is needed here;
* wasm locals are allocas too; all allocas sit in the entry block;
* code after ``br``/``br_table``/``return``/``unreachable`` is skipped up to the matching
  ``else``/``end``.

Exact wasm semantics where LLVM's differ (see the helpers below): integer division traps and
``INT_MIN / -1``, shift counts masked, rotates via funnel shifts, trapping float-to-int
conversions with exact boundary checks and saturating ones with ``llvm.fpto[su]i.sat``, min/max
with compares and selects (NaN-propagating, -0 < +0: :meth:`FunctionLowerer.min_max`), ``nearest``
with ``llvm.roundeven``, abs/neg/copysign with the bitwise ``fabs``/``fneg``/``copysign``, float
constants built from their bit patterns (NaN payloads exact), and the NaN rule: a NaN result of
float arithmetic is the positive canonical NaN (:meth:`FunctionLowerer.canonical_nan`, checked
where an arithmetic expression's value leaves the arithmetic). Every memory and table access is
bounds-checked against the current size; every trap stores a status and returns (see
:mod:`.abi`). SIMD instructions are lowered by :mod:`.simd` (a v128 is ``<2 x i64>`` here).
"""

from __future__ import annotations

import functools
import gc

from llvmlite import ir

from ..binary.module import Module
from ..binary.opcodes import SIMD_BASE, SIMD_NAMES, CatchKind, Op
from ..binary.opcodes import OpCode as O
from ..errors import TrapCode, UnsupportedFeature
from ..fuel import BULK_OPS, segment_costs
from ..gcpause import gc_paused
from ..types import FuncType, ValType
from ..validate.frames import frame_words
from . import abi, guard
from .abi import BIG_FRAME_LOCALS
from .builder import Builder, Function, Names, Operand
from .facts import has_loops, pausable_funcs
from .recorder import NAME as _RECORDER
from .recorder import TYPE as _RECORDER_TYPE
from .recorder import body as _recorder_body
from .suspend import Suspender

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()
#: the one type of a v128 value outside SIMD instructions (see :mod:`.simd`)
V128 = ir.VectorType(I64, 2)

_VOLATILE = {"volatile": True}
_PLAIN: dict = {}


class _LLTypes(dict):
    """Value type -> LLVM type; every reference type is an i64 (0: null; a funcref is a record
    address, every other reference a handle of the store's runtime)."""

    def __missing__(self, t):
        if t.is_ref:
            self[t] = I64
            return I64
        raise KeyError(t)


LL = _LLTypes({ValType.I32: I32, ValType.I64: I64, ValType.F32: F32, ValType.F64: F64,
               ValType.V128: V128})  # fmt: skip
#: the calling convention of every function with the wasm signature (tail calls are guaranteed
#: in it: see :mod:`.abi`)
TAILCC = "tailcc"


#: integer constants made so far by width, shared (they are immutable; each keeps its
#: formatted text), keyed by their unsigned value
_CONSTS: dict[int, dict[int, ir.Constant]] = {32: {}, 64: {}}
_C32 = _CONSTS[32]
_C64 = _CONSTS[64]


def _new_const(cache: dict, ty: ir.IntType, u: int) -> ir.Constant:
    if len(cache) > 8192:
        cache.clear()
    c = cache[u] = ir.Constant(ty, u)
    return c


def _int_const(bits: int, ty: ir.Type, v: int) -> ir.Constant:
    """The shared ``iN`` constant of ``v`` (``bits`` 32 or 64, modulo ``2**bits``)."""
    u = v & ((1 << bits) - 1)
    cache = _CONSTS[bits]
    c = cache.get(u)
    return _new_const(cache, ty, u) if c is None else c


def c32(v: int) -> ir.Constant:
    """The shared i32 constant of ``v`` (modulo ``2**32``)."""
    u = v & 0xFFFFFFFF  # (one dict per width: no key tuple, no call of _int_const)
    c = _C32.get(u)
    return _new_const(_C32, I32, u) if c is None else c


def c64(v: int) -> ir.Constant:
    """The shared i64 constant of ``v`` (modulo ``2**64``)."""
    u = v & 0xFFFFFFFFFFFFFFFF
    c = _C64.get(u)
    return _new_const(_C64, I64, u) if c is None else c


def _const_int(v) -> int | None:
    """The value of an integer constant (None if ``v`` is not one)."""
    if type(v) is ir.Constant and type(v.constant) is int:
        return v.constant
    return None


#: float constants made so far, shared like the integer ones: (bits, is f32) -> constant
_FCONSTS: dict[tuple[int, bool], ir.Constant] = {}


def f32_bits(bits: int) -> ir.Constant:
    """An f32 constant with an exact bit pattern (NaN payloads included)."""
    c = _FCONSTS.get((bits, True))
    return _float_bits(bits, True) if c is None else c


def f64_bits(bits: int) -> ir.Constant:
    """An f64 constant with an exact bit pattern."""
    c = _FCONSTS.get((bits, False))
    return _float_bits(bits, False) if c is None else c


def _float_bits(bits: int, f32: bool) -> ir.Constant:
    """Make the float constant of ``bits`` and keep it in :data:`_FCONSTS`."""
    if len(_FCONSTS) > 8192:
        _FCONSTS.clear()
    # An f64 is written as LLVM's hexadecimal literal, its exact bits (NaN payloads included):
    # shorter to parse than a constant expression (part 0 of the benchmark module: 5,915 of
    # them, ~9 ms of parsing). An f32's literal is written as the double of its value, so an
    # f32 stays a bitcast of its bits: one way to spell every payload without a conversion.
    c = _FCONSTS[bits, f32] = (c32(bits).bitcast(F32) if f32
                               else ir.FormattedConstant(F64, f"0x{bits:016X}"))
    return c


def ret_type(results) -> ir.Type:
    res = [LL[t] for t in results]
    if not res:
        return VOID
    return res[0] if len(res) == 1 else ir.LiteralStructType(res)


def signature(ft: FuncType) -> ir.FunctionType:
    """The native signature of a function of wasm type ``ft`` (see :mod:`.abi`; one object
    per type, made once)."""
    sig = _SIGNATURES.get(ft)
    if sig is None:
        if len(_SIGNATURES) > 4096:
            _SIGNATURES.clear()
        sig = _SIGNATURES[ft] = ir.FunctionType(ret_type(ft.results),
                                                [PTR, I32] + [LL[t] for t in ft.params])
    return sig


_SIGNATURES: dict[FuncType, ir.FunctionType] = {}


def zero(t: ir.Type) -> ir.Constant:
    if isinstance(t, ir.IntType):
        return ir.Constant(t, 0)
    if t is F32 or t is F64 or isinstance(t, ir.FloatType | ir.DoubleType):
        return ir.Constant(t, 0.0)
    return ir.Constant(t, None)


# -- instruction tables -----------------------------------------------------------------------

_IBIN = {O.I32_ADD: "add", O.I32_SUB: "sub", O.I32_MUL: "mul", O.I32_AND: "and_",
         O.I32_OR: "or_", O.I32_XOR: "xor",
         O.I64_ADD: "add", O.I64_SUB: "sub", O.I64_MUL: "mul", O.I64_AND: "and_",
         O.I64_OR: "or_", O.I64_XOR: "xor"}  # fmt: skip
#: the head of each _IBIN instruction's text (Builder's binops write the same)
_IBIN_TEXT = {op: f"{name.rstrip('_')} {'i32' if op <= O.I32_XOR else 'i64'} "
              for op, name in _IBIN.items()}  # fmt: skip
#: the head of the text of an i32 and/or/xor done on i1s (FunctionLowerer._op_ibin)
_BOOL_TEXT = {O.I32_AND: "and i1 ", O.I32_OR: "or i1 ", O.I32_XOR: "xor i1 "}
_TRUE = ir.Constant(I1, 1)
_NO_TYPES = ((), ())
_ISHIFT = {O.I32_SHL: ("shl", 31), O.I32_SHR_S: ("ashr", 31), O.I32_SHR_U: ("lshr", 31),
           O.I64_SHL: ("shl", 63), O.I64_SHR_S: ("ashr", 63), O.I64_SHR_U: ("lshr", 63)}  # fmt: skip
_IROT = {O.I32_ROTL: ("fshl", I32), O.I32_ROTR: ("fshr", I32),
         O.I64_ROTL: ("fshl", I64), O.I64_ROTR: ("fshr", I64)}  # fmt: skip
_IDIV = {O.I32_DIV_S: (I32, True, False), O.I32_DIV_U: (I32, False, False),
         O.I32_REM_S: (I32, True, True), O.I32_REM_U: (I32, False, True),
         O.I64_DIV_S: (I64, True, False), O.I64_DIV_U: (I64, False, False),
         O.I64_REM_S: (I64, True, True), O.I64_REM_U: (I64, False, True)}  # fmt: skip
_ICMP = {}
for _base, _t in ((O.I32_EQ, I32), (O.I64_EQ, I64)):
    for _k, (_op, _signed) in enumerate([("==", False), ("!=", False), ("<", True), ("<", False),
                                          (">", True), (">", False), ("<=", True), ("<=", False),
                                          (">=", True), (">=", False)]):  # fmt: skip
        # (with the head of its text: see Builder.int_compare)
        _ICMP[_base + _k] = (_op, _signed, "icmp {}{} {} ".format(
            "s" if _signed else "u" if _op not in ("==", "!=") else "",
            {"==": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}[_op], _t))
_FCMP = {}
for _base in (O.F32_EQ, O.F64_EQ):
    for _k, _op in enumerate(["==", "!=", "<", ">", "<=", ">="]):
        _FCMP[_base + _k] = _op
_IUN = {O.I32_CLZ: ("llvm.ctlz", I32), O.I32_CTZ: ("llvm.cttz", I32),
        O.I32_POPCNT: ("llvm.ctpop", I32), O.I64_CLZ: ("llvm.ctlz", I64),
        O.I64_CTZ: ("llvm.cttz", I64), O.I64_POPCNT: ("llvm.ctpop", I64)}  # fmt: skip
_FBIN = {O.F32_ADD: "fadd", O.F32_SUB: "fsub", O.F32_MUL: "fmul", O.F32_DIV: "fdiv",
         O.F64_ADD: "fadd", O.F64_SUB: "fsub", O.F64_MUL: "fmul", O.F64_DIV: "fdiv"}  # fmt: skip
#: instructions whose first pop is a condition (:meth:`FunctionLowerer.cond`): a comparison
#: right before one pushes its i1 as it is (see :meth:`FunctionLowerer.push_bool`)
_COND_NEXT = frozenset((O.BR_IF, O.IF, O.SELECT, O.SELECT_T))
#: instructions that pop their float operands for any NaN (float arithmetic and comparisons):
#: an arithmetic result right before one is pushed unchecked (see ``FunctionLowerer._op_fbin``)
_NAN_ANY_NEXT = frozenset((*_FCMP, O.F32_ADD, O.F32_SUB, O.F32_MUL, O.F32_DIV,
                           O.F64_ADD, O.F64_SUB, O.F64_MUL, O.F64_DIV))  # fmt: skip
_FBIN_INTR = {O.F32_MIN: ("llvm.minimum", F32), O.F32_MAX: ("llvm.maximum", F32),
              O.F32_COPYSIGN: ("llvm.copysign", F32), O.F64_MIN: ("llvm.minimum", F64),
              O.F64_MAX: ("llvm.maximum", F64), O.F64_COPYSIGN: ("llvm.copysign", F64)}  # fmt: skip
_FUN = {O.F32_ABS: ("llvm.fabs", F32), O.F32_CEIL: ("llvm.ceil", F32),
        O.F32_FLOOR: ("llvm.floor", F32), O.F32_TRUNC: ("llvm.trunc", F32),
        O.F32_NEAREST: ("llvm.roundeven", F32), O.F32_SQRT: ("llvm.sqrt", F32),
        O.F64_ABS: ("llvm.fabs", F64), O.F64_CEIL: ("llvm.ceil", F64),
        O.F64_FLOOR: ("llvm.floor", F64), O.F64_TRUNC: ("llvm.trunc", F64),
        O.F64_NEAREST: ("llvm.roundeven", F64), O.F64_SQRT: ("llvm.sqrt", F64)}  # fmt: skip
# trapping float -> int: op -> (int type, signed, float type)
_TRUNC = {O.I32_TRUNC_F32_S: (I32, True, F32), O.I32_TRUNC_F32_U: (I32, False, F32),
          O.I32_TRUNC_F64_S: (I32, True, F64), O.I32_TRUNC_F64_U: (I32, False, F64),
          O.I64_TRUNC_F32_S: (I64, True, F32), O.I64_TRUNC_F32_U: (I64, False, F32),
          O.I64_TRUNC_F64_S: (I64, True, F64), O.I64_TRUNC_F64_U: (I64, False, F64)}  # fmt: skip
_TRUNC_SAT = {O.I32_TRUNC_SAT_F32_S: (I32, True, F32), O.I32_TRUNC_SAT_F32_U: (I32, False, F32),
              O.I32_TRUNC_SAT_F64_S: (I32, True, F64), O.I32_TRUNC_SAT_F64_U: (I32, False, F64),
              O.I64_TRUNC_SAT_F32_S: (I64, True, F32), O.I64_TRUNC_SAT_F32_U: (I64, False, F32),
              O.I64_TRUNC_SAT_F64_S: (I64, True, F64),
              O.I64_TRUNC_SAT_F64_U: (I64, False, F64)}  # fmt: skip
# simple casts: op -> (builder method, target type)
_CAST = {O.I32_WRAP_I64: ("trunc", I32), O.I64_EXTEND_I32_S: ("sext", I64),
         O.I64_EXTEND_I32_U: ("zext", I64),
         O.F32_CONVERT_I32_S: ("sitofp", F32), O.F32_CONVERT_I32_U: ("uitofp", F32),
         O.F32_CONVERT_I64_S: ("sitofp", F32), O.F32_CONVERT_I64_U: ("uitofp", F32),
         O.F64_CONVERT_I32_S: ("sitofp", F64), O.F64_CONVERT_I32_U: ("uitofp", F64),
         O.F64_CONVERT_I64_S: ("sitofp", F64), O.F64_CONVERT_I64_U: ("uitofp", F64),
         O.F32_DEMOTE_F64: ("fptrunc", F32), O.F64_PROMOTE_F32: ("fpext", F64),
         O.I32_REINTERPRET_F32: ("bitcast", I32), O.I64_REINTERPRET_F64: ("bitcast", I64),
         O.F32_REINTERPRET_I32: ("bitcast", F32),
         O.F64_REINTERPRET_I64: ("bitcast", F64)}  # fmt: skip
# sign extension in place: op -> (narrow type, full type)
_SEXT = {O.I32_EXTEND8_S: (I8, I32), O.I32_EXTEND16_S: (I16, I32), O.I64_EXTEND8_S: (I8, I64),
         O.I64_EXTEND16_S: (I16, I64), O.I64_EXTEND32_S: (I32, I64)}  # fmt: skip
# loads: op -> (memory type, bytes, extension or None, result type)
_LOAD = {O.I32_LOAD: (I32, 4, None, I32), O.I64_LOAD: (I64, 8, None, I64),
         O.F32_LOAD: (F32, 4, None, F32), O.F64_LOAD: (F64, 8, None, F64),
         O.I32_LOAD8_S: (I8, 1, "sext", I32), O.I32_LOAD8_U: (I8, 1, "zext", I32),
         O.I32_LOAD16_S: (I16, 2, "sext", I32), O.I32_LOAD16_U: (I16, 2, "zext", I32),
         O.I64_LOAD8_S: (I8, 1, "sext", I64), O.I64_LOAD8_U: (I8, 1, "zext", I64),
         O.I64_LOAD16_S: (I16, 2, "sext", I64), O.I64_LOAD16_U: (I16, 2, "zext", I64),
         O.I64_LOAD32_S: (I32, 4, "sext", I64), O.I64_LOAD32_U: (I32, 4, "zext", I64)}  # fmt: skip
# stores: op -> (memory type, bytes, truncate?)
_STORE = {O.I32_STORE: (I32, 4, False), O.I64_STORE: (I64, 8, False),
          O.F32_STORE: (F32, 4, False), O.F64_STORE: (F64, 8, False),
          O.I32_STORE8: (I8, 1, True), O.I32_STORE16: (I16, 2, True),
          O.I64_STORE8: (I8, 1, True), O.I64_STORE16: (I16, 2, True),
          O.I64_STORE32: (I32, 4, True)}  # fmt: skip

_TAIL_CALLS = frozenset({O.RETURN_CALL, O.RETURN_CALL_INDIRECT, O.RETURN_CALL_REF})
_CALLS = frozenset({O.CALL, O.CALL_INDIRECT, O.CALL_REF, O.RETURN_CALL,
                    O.RETURN_CALL_INDIRECT, O.RETURN_CALL_REF, O.THROW})  # fmt: skip
_SIMD_MEMORY = frozenset(op for op, n in SIMD_NAMES.items()
                         if n.startswith(("v128.load", "v128.store")))  # fmt: skip
_MEMORY_OPS = frozenset(_LOAD) | frozenset(_STORE) | {
    O.MEMORY_SIZE, O.MEMORY_GROW, O.MEMORY_FILL, O.MEMORY_COPY, O.MEMORY_INIT}
_MEMORY_OPS |= _SIMD_MEMORY


#: the scalar float instructions whose result the lowering checks with the NaN rule
#: (``FunctionLowerer.canonical_nan``): arithmetic, ``sqrt``, rounding, ``min``/``max``,
#: ``demote``/``promote`` (not the bitwise ``abs``/``neg``/``copysign``)
_NAN_CHECKED = (frozenset(_FBIN) | (frozenset(_FUN) - {O.F32_ABS, O.F64_ABS})
                | {O.F32_MIN, O.F32_MAX, O.F64_MIN, O.F64_MAX, O.F32_DEMOTE_F64,
                   O.F64_PROMOTE_F32})  # fmt: skip


def _is_nan_bits(bits: int, f32: bool) -> bool:
    """Whether the bits of an f32 (else f64) constant are a NaN's."""
    if f32:
        return bits & 0x7F800000 == 0x7F800000 and bits & 0x7FFFFF != 0
    return bits & 0x7FF0000000000000 == 0x7FF0000000000000 and bits & ((1 << 52) - 1) != 0


def raw_float_locals(body, nparams: int, local_types) -> frozenset[int]:
    """The declared f32/f64 locals (not parameters: an argument's NaN keeps its bits) that
    only ever receive the result of an instruction of :data:`_NAN_CHECKED`, a constant that
    is not a NaN, or the value of another such local (``local.get``/``local.tee`` of it right before each
    ``local.set``/``local.tee``): they hold that result *unchecked*, and a ``local.get``
    applies the NaN rule instead, where LLVM deletes it unless the value leaves the
    arithmetic. A loop carrying such a value in a local (``zr = zr*zr - zi*zi + cr``) then
    has no NaN check on its critical path."""
    sources: dict[int, set] = {}
    prev = None
    for ins in body:
        op = ins.op
        if op == O.LOCAL_SET or op == O.LOCAL_TEE:
            k = ins.imm
            t = local_types[k]  # (is: hashing a ValType calls Python code)
            if k >= nparams and (t is ValType.F32 or t is ValType.F64):
                src = sources.setdefault(k, set())
                if prev is not None and prev.op in _NAN_CHECKED:
                    pass
                elif prev is not None and (prev.op == O.F32_CONST or prev.op == O.F64_CONST):
                    if _is_nan_bits(prev.imm, prev.op == O.F32_CONST):
                        src.add(None)
                elif prev is not None and (prev.op == O.LOCAL_GET or prev.op == O.LOCAL_TEE):
                    src.add(prev.imm)
                else:
                    src.add(None)
        prev = ins
    raw = {k for k, src in sources.items() if None not in src}
    while True:  # the greatest set whose copies come from its own locals only
        drop = {k for k in raw if not sources[k] <= raw}
        if not drop:
            return frozenset(raw)
        raw -= drop


def memories_used(body) -> set[int]:
    """The indices of the memories a function body accesses."""
    out = set()
    for op, imm, _ in body:
        if op in _MEMORY_OPS:
            if op == O.MEMORY_SIZE or op == O.MEMORY_GROW or op == O.MEMORY_FILL:
                out.add(imm)
            elif op == O.MEMORY_COPY:
                out.update(imm)
            elif op == O.MEMORY_INIT:
                out.add(imm[1])
            else:
                out.add(imm[-1])  # a memarg: (align, offset, [lane,] memory)
    return out
#: a function with a ``br_table`` of more labels than this is not optimised by LLVM
#: (``optnone``): SimplifyCFG takes time quadratic in the cases of such a switch (a
#: 5,000-case one: ~16 CPU s at ``O2`` instead of ~0.2 s for the whole compile; see
#: ``tests/test_stress.py``). Its code is slower (locals stay in memory), but such functions
#: are parsers' action tables and dispatchers, not loops.
HUGE_BR_TABLE = 1000
#: quick code (level 0) lowers a ``br_table`` of at most this many runs of equal targets as a
#: binary search of compares and branches, which the fast instruction selector makes, and a
#: bigger one as a ``switch`` alone in a block: the fast selector has no switch and hands its
#: whole block to SelectionDAG, which was the cost (the 283 switches of part 0 of the 475 KiB
#: module of ``tools/bench/llvm_compile.py``, 8-15 runs each: ~0.08 CPU s of its ~0.5 s of
#: code generation, ~0.03 s with the switch alone, none as searches). A search is slower than
#: the switch's jump table when the index is unpredictable (at level 0, 8 runs: 1.3x the time
#: of a dispatch; 32 runs: 1.9x), so only small tables are searched.
QUICK_SEARCH_RUNS = 4
def _fname(t: ir.Type) -> str:
    return "f32" if t is F32 else "f64" if t is F64 else str(t)


def _float_bound(x: float, t: ir.Type) -> ir.Constant:
    import struct

    if t is F32:
        return f32_bits(struct.unpack("<I", struct.pack("<f", x))[0])
    return f64_bits(struct.unpack("<Q", struct.pack("<d", x))[0])


@functools.cache
def _trunc_bounds(bits: int, signed: bool, f32: bool) -> tuple[str, ir.Constant, ir.Constant]:
    """``(op, lo, hi)``: a float ``x`` converts to a ``bits``-wide integer without overflow
    iff ``x op lo`` and ``x < hi`` (ordered compares: both false for a NaN)."""
    ft = F32 if f32 else F64
    if signed:
        hi = 1 << (bits - 1)
        lo = -hi - 1
        if _exact_in(lo, ft):
            return ">", _float_bound(float(lo), ft), _float_bound(float(hi), ft)
        return ">=", _float_bound(float(-hi), ft), _float_bound(float(hi), ft)
    return ">", _float_bound(-1.0, ft), _float_bound(float(1 << bits), ft)


def _exact_in(x: int, t: ir.Type) -> bool:
    import struct

    if t is F32:
        return struct.unpack("<f", struct.pack("<f", float(x)))[0] == x
    return float(x) == x


class ModuleBuilder:
    """Holds the ``ir.Module`` being built and the declarations shared by all functions."""

    def __init__(self, module: Module, triple: str = "", datalayout: str = "", fuel_costs=None,
                 part: tuple[range, bool] | None = None,
                 batch: tuple[frozenset, bool] | None = None, epoch: bool = False,
                 guard: bool = False, landings: bool = False,
                 pausable: frozenset[int] | None = None, quick: bool = False,
                 tail_calls: bool | None = None):  # fmt: skip
        self.decoded = module
        #: the code gets the quick pipeline (``jit.QUICK``), whose code generator is the fast
        #: instruction selector (see :meth:`FunctionLowerer.rotate`,
        #: :meth:`FunctionLowerer.record`, :meth:`FunctionLowerer._ret_undef`)
        self.quick = quick
        #: guard-page mode (see :mod:`.guard`): accesses to 32-bit memories have no bounds
        #: check (an access beyond the size faults on the memory's guard reservation, which
        #: the instance checks every such memory has) and are volatile (LLVM must neither
        #: delete nor move an access that may trap)
        self.guard = guard
        #: entry wrappers are landings and trampolines mark the host's time: in all code the
        #: host runs where guard pages exist (``landings``; guard-mode code may be called
        #: directly from other code of the store, under that code's entry), never in code for
        #: other targets
        self.landings = guard or landings
        #: check ``rt[RT_EPOCH]`` at function entries and loop headers (epoch interruption)
        self.epoch = epoch
        #: None: the whole module; else (defined function indices, with the shell: the
        #: trampolines, entries and address tables), one of the parts compiled in parallel
        #: (the other functions are declared; the parts' objects are linked when loaded)
        self.part = part
        #: a compilation unit of its own (tier-up): (defined function indices, with the
        #: trampolines). Only these functions exist in the unit: calls between them are
        #: direct, calls to any other defined function go through its funcref record in the
        #: context (which the runtime repoints when a later unit jits the callee)
        self.batch = batch
        #: a FuelCosts: meter fuel exactly like the Python tier (see :mod:`wasm2py.fuel`)
        self.fuel_costs = fuel_costs
        self.ir = ir.Module(name="wasm")
        if triple:
            self.ir.triple = triple
        if datalayout:
            self.ir.data_layout = datalayout
        self.layout = abi.Layout(module)
        self.func_types = module.func_types()
        self.type_indices = module.func_type_indices()
        self.nimp = module.num_imported_funcs
        self.global_types = module.global_types()
        self.table_types = module.table_types()
        self.funcs: dict[int, ir.Function] = {}
        self.simd_isa = ""  # see build_module
        self.nan_bits = False  # see build_module
        self._intrinsics: dict[str, ir.Function] = {}
        #: the entry bodies by type index (:meth:`_typed_entry`)
        self._typed_entries: dict[int, ir.Function] = {}
        self._unlikely = None
        self._likely = None
        self._unpredictable = None
        self.memory_types = module.memory_types()
        self.tag_types = module.tag_type_indices()
        #: the module declares non-final types: call_indirect checks subtyping on a mismatch
        self.subtyping = any(not final for final, _ in module.subtypes)
        #: the functions with suspend code (see .suspend)
        self.pausable = pausable if pausable is not None else pausable_funcs(
            module, fuel_costs is not None)
        #: a tier-up unit's functions with loops get on-stack replacement points at their
        #: loop headers (see :meth:`.suspend.Suspender.loop_point`)
        self.osr = batch is not None and not batch[1]
        #: function index -> its body, a function of the C convention that direct calls
        #: and entry wrappers call (on x86-64 ``fastcc`` is the same convention, but LLVM's
        #: fast instruction selector lowers the arguments of C functions only). In a module
        #: without tail calls (``tail_calls``; a ``return_call`` must reach a ``tailcc``
        #: function, or the stack grows), compiled whole or in parts, not in a tier-up unit.
        #: There, ``funcs[index]`` (what records and tables hold) is a ``tailcc`` function
        #: that calls the body only for a function whose reference wasm code can take (in
        #: :attr:`refs`: any code of the store may call it through its record); any other
        #: function is its body alone, which is then its ``funcs[index]`` as well (no funcref
        #: of it exists, so no code calls its record). On x86-64, ``tailcc`` makes every
        #: callee pop 8 bytes (``ret $8``, ``sub rsp, 8`` after each call: the stack stays
        #: 16-byte aligned for tail calls), which cost fib 1.2x wasmtime against 1.0x
        #: without; LLVM's fast instruction selector makes no ``tailcc`` call nor return
        #: (each sent its block to SelectionDAG: ~2,200 blocks per part of the 475 KiB module
        #: of ``tools/bench/llvm_compile.py``), and each ``tailcc`` function calling a body
        #: is one function more for the code generator (~0.2 ms each at level 0).
        self.bodies: dict[int, Function] = {}
        if tail_calls is None and batch is None:
            tail_calls = any(ins.op in _TAIL_CALLS for code in module.codes for ins in code.body)
        #: every defined function has a body (see :attr:`bodies`)
        self.fast = batch is None and not tail_calls
        #: the functions whose reference wasm code can take (``Module.func_refs``)
        self.refs = module.func_refs() if self.fast else frozenset()
        fast, refs = self.fast, self.refs
        for k in range(len(module.funcs)):
            index = self.nimp + k
            if batch is not None and index not in batch[0]:
                continue
            here = part is None or index in part[0]
            f = Function(self.ir, signature(self.func_types[index]), abi.func_name(index))
            f.frame_pointer = self.landings  # (the fault handler walks the frames)
            f.scope = Names(len(f.args))  # (as a builder.Function has: for llvmlite's too)
            if part is None:  # (a batch's functions too: its tables give their addresses)
                f.linkage = "internal"
            self.funcs[index] = f
            if not fast or index in refs:
                f.calling_convention = TAILCC
                if fast and here:
                    # made right after its tailcc function, so that its code follows that
                    # function's in memory (a pc maps to the function starting last before
                    # it: NativeRuntime.code_frame)
                    fb = Function(self.ir, f.function_type, abi.func_name(index) + ".body")
                    fb.frame_pointer = self.landings
                    fb.scope = Names(len(fb.args))
                    if part is None:
                        fb.linkage = "internal"
                    self.bodies[index] = fb
            else:
                self.bodies[index] = f

    def body(self, index: int) -> Function:
        """The body of defined function ``index`` (see :attr:`bodies`; the body of another
        part's function in :attr:`refs` is declared when first named)."""
        fb = self.bodies.get(index)
        if fb is None:
            fb = self.bodies[index] = Function(self.ir, self.funcs[index].function_type,
                                               abi.func_name(index) + ".body")  # fmt: skip
        return fb

    @property
    def unlikely(self):
        """The branch weights of a branch to a trap (``!prof``), made once per module
        (``set_weights`` makes and looks up a new node per branch)."""
        md = self._unlikely
        if md is None:
            md = self._unlikely = self.ir.add_metadata(
                [ir.MetaDataString(self.ir, "branch_weights"), c32(1), c32(1 << 20)])
        return md

    @property
    def likely(self):
        """The branch weights of a branch whose *false* edge goes to a trap (``!prof``)."""
        md = self._likely
        if md is None:
            md = self._likely = self.ir.add_metadata(
                [ir.MetaDataString(self.ir, "branch_weights"), c32(1 << 20), c32(1)])
        return md

    @property
    def unpredictable(self):
        """``!unpredictable`` for the ``select`` of a wasm ``select`` (made once per module)."""
        md = self._unpredictable
        if md is None:
            md = self._unpredictable = self.ir.add_metadata([])
        return md

    def recorder(self) -> ir.Function:
        """``void record(ctx, rt, index << 32, offset)``: append a frame (the function's
        index, the i32 wasm offset) to the trap trace (``abi.RT_TRACE``). One cold function
        per LLVM module rather than its ~15 instructions in every trap and propagate block (a
        sixth of all the IR otherwise); it makes the frame word itself, which the blocks
        did (two instructions fewer in each). A trap block stores its status before the call
        (not in a function of its own: as a store there, LLVM sinks the status into one
        block for all trap codes, and the sieve kernel's loop at ``O2`` stays as fast)."""
        fn = self._intrinsics.get(_RECORDER)
        if fn is not None:
            return fn
        fn = self._intrinsics[_RECORDER] = Function(self.ir, _RECORDER_TYPE, _RECORDER)
        fn.linkage = "internal"
        fn.attributes.add("cold")
        fn.attributes.add("noinline")
        _recorder_body(fn)
        return fn

    def intrinsic(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        fn = self._intrinsics.get(name)
        if fn is None:
            fn = Function(self.ir, ir.FunctionType(ret, args), name)
            self._intrinsics[name] = fn
        return fn

    def build(self) -> ir.Module:
        """Lower every function, the trampolines, the types' entries and the tables of
        function addresses."""
        m = self.decoded
        if self.batch is not None:
            defined, shell = self.batch
            for index in sorted(defined):
                code = m.codes[index - self.nimp]
                FunctionLowerer(self, index, code.locals, code.body).lower()
                self._typed_entry(self.type_indices[index])
        else:
            defined, shell = self.part if self.part is not None else (None, True)
            for k, code in enumerate(m.codes):
                if defined is None or self.nimp + k in defined:
                    FunctionLowerer(self, self.nimp + k, code.locals, code.body).lower()
                    if self.nimp + k in self.refs:
                        self._forward(self.nimp + k)
        if not shell:
            if self.batch is not None:
                self._functable()
            return self.ir
        tramps = [self._trampoline(i, t) if isinstance(t, FuncType) else ir.Constant(PTR, None)
                  for i, t in enumerate(m.types)]  # fmt: skip
        if self.batch is None:
            for t in sorted({self.type_indices[i] for i in abi.entry_funcs(m)}):
                self._typed_entry(t)
        self._functable()
        arr = ir.ArrayType(PTR, len(tramps))
        g = ir.GlobalVariable(self.ir, arr, abi.TRAMPTABLE)
        g.initializer = ir.Constant(arr, tramps)
        g.global_constant = True
        return self.ir

    def _functable(self) -> None:
        """The addresses of the unit's functions, by index (in a batch: its functions only,
        in index order)."""
        arr = ir.ArrayType(PTR, len(self.funcs))
        g = ir.GlobalVariable(self.ir, arr, abi.FUNCTABLE)
        g.initializer = ir.Constant(arr, [self.funcs[i] for i in sorted(self.funcs)])
        g.global_constant = True
        if self.fast:  # (for NativeRuntime.code_frame, and quick code's direct calls)
            g = ir.GlobalVariable(self.ir, arr, abi.BODYTABLE)
            g.initializer = ir.Constant(arr, [self.body(i) for i in sorted(self.funcs)])
            g.global_constant = True

    # -- glue functions ---------------------------------------------------------------------
    def _forward(self, index: int) -> None:
        """The ``tailcc`` function of ``index`` that calls its body (see :attr:`bodies`)."""
        f = self.funcs[index]
        b = Builder(f.append_basic_block("entry"))
        r = b.call(self.bodies[index], list(f.args))
        if f.function_type.return_type is VOID:
            b.ret_void()
        else:
            b.ret(r)

    def _trampoline(self, typeidx: int, ft: FuncType) -> ir.Function:
        f = Function(self.ir, signature(ft), abi.trampoline_name(typeidx))
        f.calling_convention = TAILCC
        b = Builder(f.append_basic_block("entry"))
        pofs, np_ = abi.slot_offsets(ft.params)
        rofs, nr = abi.slot_offsets(ft.results)
        slots = b.alloca(ir.ArrayType(I64, max(np_, nr, 1)))
        for k, t in enumerate(ft.params):
            store_slot(b, f.args[2 + k], b.gep(slots, [c32(0), c32(pofs[k])]), t)
        cb_type = ir.FunctionType(VOID, [PTR, I32, PTR])
        env = f.args[0]
        cb = b.load(b.gep(env, [c64(abi.ENV_CALLBACK)], source_etype=I64), typ=PTR)
        if self.landings:  # a fault while Python runs is never a trap
            landing = b.alloca(ir.ArrayType(I64, guard.LANDING_BYTES // 8))
            b.call(self.intrinsic(guard.HOST, PTR, [PTR]), [landing])
        b.call(_Callee(cb, cb_type), [env, f.args[1], slots])
        if self.landings:
            b.call(self.intrinsic(guard.POP, VOID, [PTR]), [landing])
        vals = [load_slot(b, b.gep(slots, [c32(0), c32(rofs[k])]), t)
                for k, t in enumerate(ft.results)]  # fmt: skip
        _ret(b, f.function_type.return_type, vals)
        return f

    def _typed_entry(self, typeidx: int) -> ir.Function:
        """The Python entry ``void entry(ctx, rem, slots)`` of the functions of type
        ``typeidx`` (:func:`.abi.entry_name`): reads the arguments from the slots, calls the
        function whose address follows them (:func:`.abi.entry_slots`), writes the results
        to the slots (made once per type and LLVM module; a landing where guard pages are,
        see :meth:`_landing`)."""
        f = self._typed_entries.get(typeidx)
        if f is not None:
            return f
        ft = self.decoded.types[typeidx]
        f = Function(self.ir, ir.FunctionType(VOID, [PTR, I32, PTR]), abi.entry_name(typeidx))
        f.frame_pointer = self.landings
        self._typed_entries[typeidx] = f
        b = Builder(f.append_basic_block("entry"))
        ctx, rem, slots = f.args
        landing = None
        if self.landings:
            b, landing = self._landing(f, b, ctx)
        pofs, _ = abi.slot_offsets(ft.params)
        rofs, _ = abi.slot_offsets(ft.results)
        fn = b.load(word(b, slots, abi.entry_slots(ft)), typ=PTR)
        args = [load_slot(b, b.gep(slots, [c64(pofs[k])], source_etype=I64), t)
                for k, t in enumerate(ft.params)]  # fmt: skip
        # (a module with bodies: the function's body, see bodies)
        r = b.call(_Callee(fn, signature(ft)), [ctx, rem, *args],
                   cconv=None if self.fast else TAILCC)  # fmt: skip
        vals = _unpack(b, r, len(ft.results))
        for k, (v, t) in enumerate(zip(vals, ft.results)):
            store_slot(b, v, b.gep(slots, [c64(rofs[k])], source_etype=I64), t)
        if landing is not None:
            b.call(self.intrinsic(guard.POP, VOID, [PTR]), [landing])
        b.ret_void()
        return f

    def _landing(self, f: ir.Function, b: Builder, ctx) -> tuple[Builder, object]:
        """Make the entry wrapper ``f`` a landing (see :mod:`.guard`): push a
        ``_setjmp`` buffer; when the fault handler jumps back, pop it, store the out-of-bounds
        status and return. Returns the builder where the call runs, and the landing."""
        landing = b.alloca(ir.ArrayType(I64, guard.LANDING_BYTES // 8))
        fa = b.call(self.intrinsic("llvm.frameaddress.p0", PTR, [I32]), [c32(0)])
        b.store(fa, b.gep(landing, [c64(guard.LANDING_FRAME // 8)], source_etype=I64))
        b.call(self.intrinsic(guard.PUSH, VOID, [PTR]), [landing])
        setjmp = self._intrinsics.get("_setjmp")
        if setjmp is None:
            setjmp = self.intrinsic("_setjmp", I32, [PTR])
            setjmp.attributes.add("returns_twice")
        r = b.call(setjmp, [landing])
        run, trapped = f.append_basic_block("run"), f.append_basic_block("trapped")
        b.cbranch(b.icmp_signed("==", r, c32(0)), run, trapped)
        t = Builder(trapped)
        rt = t.load(t.gep(ctx, [c64(abi.CTX_RT)], source_etype=I64), typ=PTR)
        t.call(self.intrinsic(guard.TRAPPED, VOID, [PTR, PTR]), [landing, rt])
        t.ret_void()
        return Builder(run), landing


def word(b: ir.IRBuilder, p, k: int):
    """The address of 64-bit word ``k`` of the words at ``p`` (``p`` itself for word 0: a
    ``getelementptr`` of 0 is one IR line more for nothing)."""
    return p if k == 0 else b.gep(p, [c64(k)], source_etype=I64)


def store_slot(b: ir.IRBuilder, v, p, t: ValType) -> None:
    """Store value ``v`` of type ``t`` into the slot(s) at ``p``."""
    if t is ValType.V128:
        # two i64 stores (``p`` may be a typed i64 pointer to llvmlite); LLVM merges them
        for k in range(2):
            b.store(b.extract_element(v, c32(k)), b.gep(p, [c64(k)], source_etype=I64), align=8)
    else:
        b.store(to_slot(b, v, t), p, align=8)


def load_slot(b: ir.IRBuilder, p, t: ValType):
    """Load a value of type ``t`` from the slot(s) at ``p``."""
    if t is ValType.V128:
        v = ir.Constant(V128, ir.Undefined)
        for k in range(2):
            x = b.load(b.gep(p, [c64(k)], source_etype=I64), typ=I64, align=8)
            v = b.insert_element(v, x, c32(k))
        return v
    return from_slot(b, b.load(p, typ=I64, align=8), t)


def to_slot(b: ir.IRBuilder, v, t: ValType):
    """A value as the i64 of a slot (f32: its bits, zero-extended)."""
    if t is ValType.I32:
        return b.zext(v, I64)
    if t is ValType.F32:
        return b.zext(b.bitcast(v, I32), I64)
    if t is ValType.F64:
        return b.bitcast(v, I64)
    return v


def from_slot(b: ir.IRBuilder, v, t: ValType):
    if t is ValType.I32:
        return b.trunc(v, I32)
    if t is ValType.F32:
        return b.bitcast(b.trunc(v, I32), F32)
    if t is ValType.F64:
        return b.bitcast(v, F64)
    return v


def _unpack(b: ir.IRBuilder, r, n: int) -> list:
    if n == 0:
        return []
    if n == 1:
        return [r]
    return [b.extract_value(r, k) for k in range(n)]


def _ret(b: ir.IRBuilder, rt: ir.Type, vals: list) -> None:
    if not vals:
        b.ret_void()
    elif len(vals) == 1:
        b.ret(vals[0])
    else:
        agg = ir.Constant(rt, ir.Undefined)
        for k, v in enumerate(vals):
            agg = b.insert_value(agg, v, k)
        b.ret(agg)


class Ctl:
    """A control frame during lowering."""

    __slots__ = ("kind", "params", "results", "height", "end", "header", "slots", "else_bb",
                 "if_params", "unreachable", "reached", "has_else", "known", "merged", "below")  # fmt: skip

    def __init__(self, kind, params, results, height):
        self.kind = kind
        self.params = params
        self.results = results
        self.height = height  # stack height below the params
        self.end: ir.Block | None = None
        self.header: ir.Block | None = None
        self.slots: list | tuple = ()  # allocas: results (block/if/func) or params (loop)
        self.else_bb: ir.Block | None = None
        self.if_params: list | tuple = ()
        self.unreachable = False
        self.reached = False
        self.has_else = False
        #: an ``if``'s :attr:`FunctionLowerer.known` at its condition (what its else sees)
        self.known: dict = {}
        #: what every branch to the end so far knew alike (None: no branch yet)
        self.merged: dict | None = None

    def merge(self, known: dict) -> None:
        """Note a branch to this frame's end made knowing ``known``: a value every incoming
        edge knows is defined before all of them, so it dominates the end too."""
        m = self.merged
        if m is None:
            self.merged = dict(known)
        elif m:
            self.merged = {k: v for k, v in m.items() if known.get(k) is v}

    @property
    def label_types(self):
        return self.params if self.kind == "loop" else self.results


class FunctionLowerer:
    """Lowers one defined function."""

    def __init__(self, mb: ModuleBuilder, index: int, local_types, body):
        self.mb = mb
        self.index = index
        self.ftype: FuncType = mb.func_types[index]
        self.fn: ir.Function = mb.bodies.get(index) or mb.funcs[index]
        self.local_types = list(self.ftype.params) + list(local_types)
        self.body = body
        self._declared = local_types
        self.layout = mb.layout
        entry = self.fn.append_basic_block("entry")
        self.ab = Builder(entry)  # allocas and cached context loads
        self.start = self.fn.append_basic_block("start")
        self.b = Builder(self.start)
        self.ctx = self.fn.args[0]
        self.rem = self.fn.args[1]
        self._cache: dict = {}
        self._traps: dict[TrapCode, ir.Block] = {}
        #: quick code: the one block returning an undefined value (see :meth:`_ret_undef`)
        self._exit: ir.Block | None = None
        self._propagate: ir.Block | None = None
        self.offset = 0  # wasm offset of the instruction being lowered (for trap traces)
        self.pos = 0  # its index in the body
        #: memory index -> alloca caching its byte size (quick code: its context slot's
        #: address, see :meth:`reload_memsize`)
        self.msz: dict[int, object] = {}
        #: memory index -> alloca caching its base address (reloaded with the size: a memory
        #: that had to move to grow has a new one, see wasm2py.runtime.memory; quick code:
        #: its context slot's address)
        self.mbase: dict[int, object] = {}
        #: memory index -> its base address, loaded once on entry, for the memories accessed
        #: without bounds checks (:meth:`unchecked`): a guarded memory never moves (its
        #: reservation covers its maximum), so neither a call nor ``memory.grow`` changes the
        #: base. Level 0 reloaded it from the context at every access after a call, loop
        #: header or join (a load of the slot's address from the frame, then of the base: two
        #: dependent loads before each access of an interpreter's dispatch loop); O2 code
        #: reloaded it after every call.
        self.fixed_base: dict[int, object] = {}
        #: id(checked value) -> (checked value, the float result before its NaN check)
        self._nan_raw: dict[int, tuple] = {}
        #: id(i32 0/1) -> (it, the i1 it extends) (see :meth:`push_bool`)
        self._bools: dict[int, tuple] = {}
        self.fuel = None  # alloca holding the fuel left (fuel metering only)
        #: the dispatch blocks of the try_tables around the code being lowered, innermost last
        self.handlers: list[ir.Block] = []
        self.stack: list = []
        self.ctl: list[Ctl] = []
        #: id(alloca) -> the value it holds, for the allocas of locals and of the memories'
        #: sizes and bases: what a store put there or a load read, reused instead of loading
        #: again as long as it dominates the code being lowered (cleared at loop headers; a
        #: block's end keeps what all branches to it know alike, see ``Ctl.merge``; an else
        #: starts from its if's). Fewer loads to build, parse and optimise away (local.get
        #: is a fifth of all instructions). Also ``("limit", memory, bytes)`` -> (size, the
        #: bound it gives: see :meth:`effective`).
        self.known: dict = {}
        #: the function has suspend code at its calls and fuel checks
        self.pauses = index in mb.pausable
        #: its loop headers are resume points for on-stack replacement (see .suspend)
        self.osr = mb.osr and has_loops(body)
        self.susp = Suspender(self) if self.pauses or self.osr else None

    @functools.cached_property
    def frame_words(self) -> int:
        """What this function's frame takes from the depth left to its callees (the same
        frame cost as in the Python tier: see wasm2py.validate.frames); only functions that
        make calls need it, so it is found on first use (a walk over the body)."""
        return frame_words(self.mb.decoded, self.ftype, self._declared, self.body,
                           self.mb.func_types)  # fmt: skip

    def callee_rem(self):
        """The depth left that a call passes on (``rem`` minus this frame's cost), computed
        once, in the entry block (it was a ``sub`` at every call)."""
        v = self._cache.get("callee_rem")
        if v is None:
            v = self._cache["callee_rem"] = self.ab.sub(self.rem, c32(self.frame_words))
        return v

    # -- helpers ----------------------------------------------------------------------------
    def mem_size(self, k: int):
        """The byte size of memory ``k`` (see :attr:`known` and :attr:`msz`)."""
        return self._known_load(self.msz[k], I64)

    def mem_base(self, k: int):
        """The base address of memory ``k`` (see :attr:`fixed_base`, :attr:`known` and
        :attr:`mbase`)."""
        v = self.fixed_base.get(k)
        return v if v is not None else self._known_load(self.mbase[k], PTR)

    def _known_load(self, p, typ):
        v = self.known.get(id(p))
        if v is None:
            v = self.known[id(p)] = self.b.load(p, typ=typ)
        return v

    def write(self, v, alloca) -> None:
        """Store ``v`` into a local's (or a memory size's or base's) alloca."""
        self.b.store(v, alloca)
        self.known[id(alloca)] = v

    def canonical_local(self, k: int, v):
        """The NaN-checked form of value ``v`` of local ``k`` of :attr:`raw_locals` (made
        once while ``v`` is the one known; consumers that take any NaN use the raw value, see
        :meth:`pop_nan_any`)."""
        hit = self.known.get(("canon", k))
        if hit is not None and hit[0] is v:
            return hit[1]
        c = self.canonical_nan(v)
        self.known[("canon", k)] = (v, c)
        return c

    def set_local(self, k: int, v) -> None:
        """Store ``v`` into local ``k`` (the unchecked float of an arithmetic result for a
        local of :attr:`raw_locals`)."""
        if k in self._untouched:
            self._untouched.discard(k)
            if len(self.ctl) != 1:  # (see _zero_locals)
                self._zeroed.append(k)
        if k not in self.raw_locals:
            alloca = self.locals[k]  # (write, inlined)
            self.b.store_alloca(v, alloca)
            self.known[id(alloca)] = v
            return
        raw = self._nan_raw.get(id(v))
        if raw is None or raw[0] is not v:  # (raw_float_locals promised an arithmetic result)
            raise AssertionError(f"local {k} of function {self.index}: not an arithmetic result")
        self.write(raw[1], self.locals[k])
        self.known[("canon", k)] = (raw[1], v)

    def ctx_load(self, slot: int, typ=I64, cached=True):
        """Load context slot ``slot`` (once, in the entry block, when ``cached``)."""
        key = (slot, typ)
        if cached and key in self._cache:
            return self._cache[key]
        b = self.ab if cached else self.b
        v = b.load(word(b, self.ctx, slot), typ=typ)
        if cached:
            self._cache[key] = v
        return v

    def rt(self):
        return self.ctx_load(abi.CTX_RT, PTR)

    def trap_block(self, code: TrapCode) -> ir.Block:
        """The block that stores trap ``code`` and returns (one per code and function; its
        phi ``offset`` receives :meth:`where` of each branch's instruction). In quick code
        it stores the status and branches to the :meth:`propagate_block` with its offset,
        which records the frame and returns: a whole trap block per code and function
        (~1,700 per part of the 475 KiB module of ``tools/bench/llvm_compile.py``, seven IR
        lines each) was ~7% of the IR the quick lowering, LLVM's parser and its code
        generator go through. (One trap block per function, its status a phi, would be less
        IR again, but the fast register allocator then writes a status to the stack on
        every checked path, the hot one included: the ``calls`` kernel at ``--opt 0`` ran
        1.21x -> 1.43x wasmtime.)"""
        bb = self._traps.get(code)
        if bb is None:
            bb = self.fn.append_basic_block(f"trap_{code.name.lower()}")
            b = Builder(bb)
            bb.offset = b.phi(I32, "offset")
            rt = self.rt()
            self.fuel_out(b)
            b.store(c64(abi.TRAP_STATUS[code]), self.status_slot())
            if self.mb.quick:
                prop = self.propagate_block()
                prop.offset.add_incoming(bb.offset, bb)
                b.branch(prop)
            else:
                self.record(b, rt, bb.offset)
                self._ret_undef(b)
            self._traps[code] = bb
        return bb

    def status_slot(self):
        """The address of the status, ``rt[RT_TRAP]``: the runtime struct's address itself
        (slot 0; a ``getelementptr`` of 0 after every call was ~1% of the IR lines)."""
        if abi.RT_TRAP == 0:
            return self.rt()
        p = self._cache.get("status")
        if p is None:
            p = self._cache["status"] = self.ab.gep(self.rt(), [c64(abi.RT_TRAP)],
                                                    source_etype=I64)  # fmt: skip
        return p

    def record(self, b: Builder, rt, offset) -> None:
        """Record this frame (at wasm offset ``offset``, an i32) in the trap trace: a call of
        the module's recorder (:meth:`ModuleBuilder.recorder`); in quick code, of the
        process's, through ``rt[RT_RECORD]``: under the JIT's large code model the fast
        instruction selector makes no call of a function by name, and each of these (a
        trap block or two per function) went to SelectionDAG (see :meth:`_ret_undef`)."""
        args = [self.ctx, rt, c64(self.index << 32), offset]
        if not self.mb.quick:
            b.call(self.mb.recorder(), args)
            return
        fn = b.load(b.gep(rt, [c64(abi.RT_RECORD)], source_etype=I64), typ=PTR)
        b.call(_Callee(fn, _RECORDER_TYPE), args)

    def where(self, offset: int | None = None) -> Operand:
        """A wasm offset (default: the instruction being lowered's) for the trap trace (see
        ``abi.RT_TRACE``): what trap and propagate blocks receive, an i32 constant (as an
        :class:`~.builder.Operand`: nearly every offset is a new constant, and making an
        ``ir.Constant`` and its text took ~2% of the lowering)."""
        return Operand(I32, str(self.offset if offset is None else offset))

    def _to_trap(self, code: TrapCode) -> ir.Block:
        """The trap block of ``code``, told that the current block branches to it."""
        bb = self.trap_block(code)
        bb.offset.add_incoming(self.where(), self.b.block)
        return bb

    def _cold_edge(self, target: ir.Block) -> ir.Block:
        """What a conditional branch from the current block to ``target`` (a trap or the
        propagate block: an ``offset`` phi) goes to: in quick code, a block of its own that
        branches on, whose offset is the phi's incoming value. The fast instruction selector
        writes a phi's incoming values at the end of each predecessor, whichever way it
        branches, and the fast register allocator stores them to the phi's stack slot: two
        instructions on the hot path of every check (after every call, at every function's
        stack check and every explicit bounds check); in the edge block they run only on
        the way out. Optimised code needs none (LLVM splits the edge or sinks the copy).
        Only the call path has them (the stack check and the status check after a call):
        an edge block per bounds check or other trap made tier-up units' IR ~15% longer
        (sqlite3's, explicit checks) and their compile ~4% slower (for warm real programs
        ~2-5% faster: see the report of branch ``l0call``)."""
        if not self.mb.quick:
            target.offset.add_incoming(self.where(), self.b.block)
            return target
        edge = self.fn.append_basic_block()
        Builder(edge).branch(target)
        target.offset.add_incoming(self.where(), edge)
        return edge

    def _ret_undef(self, b: ir.IRBuilder) -> None:
        """End ``b``'s block with a return of an undefined value (a trap or a pause: the
        caller looks at the status). In quick code, a branch to one block per function that
        returns: the fast instruction selector makes no ``tailcc`` return, and a block
        ending in one went to SelectionDAG whole (every trap and propagate block; see
        :meth:`record` for their other call)."""
        if self.mb.quick:
            if self._exit is None:
                self._exit = self.fn.append_basic_block("exit")
                self._ret_value(Builder(self._exit))
            b.branch(self._exit)
        else:
            self._ret_value(b)

    def _ret_value(self, b: ir.IRBuilder) -> None:
        rt = self.fn.function_type.return_type
        if rt is VOID:
            b.ret_void()
        else:
            b.ret(ir.Constant(rt, ir.Undefined))

    def trap_if(self, cond, code: TrapCode, edge: bool = False) -> None:
        """Branch to the trap block of ``code`` when ``cond`` (an i1) holds (``edge``: through
        a :meth:`_cold_edge`, for the stack check that every call meets)."""
        ok = self.fn.append_basic_block()
        bb = self._cold_edge(self.trap_block(code)) if edge else self._to_trap(code)
        br = self.b.cbranch(cond, bb, ok)
        br.set_metadata("prof", self.mb.unlikely)
        self.b.position_at_end(ok)

    def trap_unless(self, cond, code: TrapCode) -> None:
        """Branch to the trap block of ``code`` unless ``cond`` (an i1) holds (no negation to
        make)."""
        ok = self.fn.append_basic_block()
        br = self.b.cbranch(cond, ok, self._to_trap(code))
        br.set_metadata("prof", self.mb.likely)
        self.b.position_at_end(ok)

    def propagate_block(self) -> ir.Block:
        """The block that records this frame in the trap trace and returns (the status set by
        a callee, or by this function's ``throw``, stays for the caller to see)."""
        if self._propagate is None:
            self._propagate = self.fn.append_basic_block("propagate")
            pb = Builder(self._propagate)
            self._propagate.offset = pb.phi(I32, "offset")
            self.record(pb, self.rt(), self._propagate.offset)
            self._ret_undef(pb)
        return self._propagate

    def check_status(self) -> None:
        """After a call: return at once if the callee trapped, or unwind to the innermost
        ``try_table`` around the call if it threw a wasm exception."""
        prop = self.propagate_block()
        st = self.b.load(self.status_slot(), typ=I64)
        ok = self.fn.append_basic_block()
        if self.susp is not None and self.susp.site is not None:
            failed = self.fn.append_basic_block("failed")
            br = self.b.cbranch(self.b.icmp_unsigned("!=", st, c64(0)), failed, ok)
            br.set_metadata("prof", self.mb.unlikely)
            self.b.position_at_end(failed)
            if self.handlers:
                self.susp.divert(st)  # a pause spills this frame
                prop.offset.add_incoming(self.where(), self.b.block)
                self.b.cbranch(self.b.icmp_unsigned("==", st, c64(abi.EXCEPTION)),
                               self.handlers[-1], prop)  # fmt: skip
            else:
                prop.offset.add_incoming(self.where(), failed)
                self.susp.divert(st, prop)
            self.b.position_at_end(ok)
            return
        if not self.handlers:
            br = self.b.cbranch(self.b.icmp_unsigned("!=", st, c64(0)), self._cold_edge(prop),
                                ok)  # fmt: skip
            br.set_metadata("prof", self.mb.unlikely)
            self.b.position_at_end(ok)
            return
        failed = self.fn.append_basic_block("failed")
        br = self.b.cbranch(self.b.icmp_unsigned("!=", st, c64(0)), failed, ok)
        br.set_metadata("prof", self.mb.unlikely)
        self.b.position_at_end(failed)
        prop.offset.add_incoming(self.where(), failed)
        self.b.cbranch(self.b.icmp_unsigned("==", st, c64(abi.EXCEPTION)), self.handlers[-1],
                       prop)  # fmt: skip
        self.b.position_at_end(ok)

    def unwind(self) -> None:
        """This function threw: go to the innermost ``try_table``'s catch clauses, or return."""
        if self.handlers:
            self.b.branch(self.handlers[-1])
        else:
            prop = self.propagate_block()
            prop.offset.add_incoming(self.where(), self.b.block)
            self.b.branch(prop)

    def intr(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        return self.mb.intrinsic(name, ret, args)

    def canonical_nan(self, r):
        """The NaN rule (see ``README.md``, "NaN results"): a NaN result of float arithmetic is
        the positive canonical NaN. Returns ``r`` checked; consumers for which any NaN will do
        (arithmetic, comparisons, float->int conversions) take ``r`` itself through
        :meth:`pop_nan_any`, so an arithmetic expression is checked once, where its value
        leaves the arithmetic (unused checks are left out of the text: see ``builder.NanCheck``)."""
        c = self.b.nan_check(r, self.canon_nan(r.type))
        self._nan_raw[id(c)] = (c, r)
        return c

    def canon_nan(self, t: ir.Type):
        """The canonical NaN of float type ``t``, loaded once per function from the runtime
        struct (see ``abi.RT_NAN_F32``: as a constant, LLVM would fold the check away)."""
        key = ("nan", str(t))
        v = self._cache.get(key)
        if v is None:
            ab = self.ab
            slot = abi.RT_NAN_F32 if t == F32 else abi.RT_NAN_F64
            v = ab.load(ab.gep(self.rt(), [c64(slot)], source_etype=I64), typ=t)
            self._cache[key] = v
        return v

    def min_max(self, x, y, is_min: bool):
        """Wasm's ``min``/``max`` of two floats or float vectors, before the NaN rule: a NaN
        operand gives a NaN (an operand; :meth:`canonical_nan` makes it the canonical one),
        -0 < +0.

        Compares and selects rather than ``llvm.minimum``/``llvm.maximum``: on vectors whose
        operands the code generator sees as constants of another lane width (a bitcast
        ``<4 x i32>``) the x86 backend asserts (APInt widths) at -O0."""
        b = self.b
        t = x.type
        vec = isinstance(t, ir.VectorType)
        ft = t.element if vec else t
        it = ir.IntType(64 if isinstance(ft, ir.DoubleType) else 32)
        if vec:
            it = ir.VectorType(it, t.count)
        xi = b.bitcast(x, it)
        yi = b.bitcast(y, it)
        first, second = ("<", ">") if is_min else (">", "<")
        # equal operands are bit-identical except for the signs of zeros: or/and picks -0/+0
        tie = b.or_(xi, yi) if is_min else b.and_(xi, yi)
        r = b.select(b.fcmp_ordered(first, x, y), xi,
                     b.select(b.fcmp_ordered(second, x, y), yi, tie))  # fmt: skip
        nan = b.select(b.fcmp_unordered("uno", x, x), x, y)
        return b.select(b.fcmp_unordered("uno", x, y), nan, b.bitcast(r, t))

    def pop_nan_any(self):
        """Pop a float operand for a consumer that treats every NaN alike (its unchecked form
        if it is an arithmetic result: see :meth:`canonical_nan`)."""
        v = self.stack.pop()
        raw = self._nan_raw.get(id(v))
        return raw[1] if raw is not None and raw[0] is v else v

    def pop(self):
        return self.stack.pop()

    def next_op(self):
        """The opcode of the instruction after the one being lowered (None after the last)."""
        pos = self.pos + 1
        return self.body[pos].op if pos < len(self.body) else None

    def push_bool(self, c) -> None:
        """Push an i1 as wasm's i32 0/1, remembering the i1 for :meth:`cond`; the i1 itself
        when the next instruction pops it as a condition (an extension nothing would use: a
        comparison is mostly a branch's)."""
        if self.next_op() in _COND_NEXT:
            self._bools[id(c)] = (c, c)
            self.push(c)
            return
        z = self.b.bool_i32(c)
        self._bools[id(z)] = (z, c)
        self.push(z)

    def cond(self, v):
        """An i32 condition as an i1 (a comparison's own i1, without testing its 0/1)."""
        hit = self._bools.get(id(v))
        if hit is not None and hit[0] is v:
            return hit[1]
        return self.b.icmp_unsigned("!=", v, c32(0))

    def popn(self, n: int) -> list:
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def push(self, v) -> None:
        self.stack.append(v)

    def block_type(self, imm):
        if imm is None:
            return (), ()
        if not isinstance(imm, int):
            return (), (imm,)
        t = self.mb.decoded.types[imm]
        return t.params, t.results

    # -- the walk ---------------------------------------------------------------------------
    def lower(self) -> None:
        body = self.body
        ops = {ins.op for ins in body}
        # locals
        self.raw_locals = raw_float_locals(body, len(self.ftype.params), self.local_types)
        self.locals = []
        nparams = len(self.ftype.params)
        for k, t in enumerate(self.local_types):
            a = self.ab.alloca(LL[t], name=f"l{k}")
            self.locals.append(a)
            if k < nparams:
                self.ab.store(self.fn.args[2 + k], a)
            elif self.susp is not None:  # (a spill reads every local)
                self.ab.store(zero(LL[t]), a)
        #: the declared locals no local.get or local.set has reached yet, and those that
        #: need their initial zero (see :meth:`_zero_locals`)
        self._untouched = set(range(nparams, len(self.local_types))) if self.susp is None \
            else set()  # fmt: skip
        self._zeroed: list[int] = []
        if ops & _MEMORY_OPS:
            ab = self.ab
            # (one memory, the usual case: no walk over the body to find which)
            for k in [0] if len(self.mb.memory_types) == 1 else sorted(memories_used(body)):
                base_slot, size_slot = self.layout.memory_slots(k)
                if self.unchecked(k):
                    self.fixed_base[k] = ab.load(ab.gep(self.ctx, [c64(base_slot)],
                                                        source_etype=I64), typ=PTR)  # fmt: skip
                if self.mb.quick:  # (see reload_memsize)
                    self.msz[k] = ab.gep(self.ctx, [c64(size_slot)], source_etype=I64)
                    self.mbase[k] = ab.gep(self.ctx, [c64(base_slot)], source_etype=I64)
                    continue
                self.msz[k] = ab.alloca(I64, name=f"msz{k}")
                size = ab.load(ab.gep(self.ctx, [c64(size_slot)], source_etype=I64), typ=I64)
                ab.store(size, self.msz[k])
                self.mbase[k] = ab.alloca(PTR, name=f"mbase{k}")
                ab.store(ab.load(ab.gep(self.ctx, [c64(base_slot)], source_etype=I64), typ=PTR),
                         self.mbase[k])  # fmt: skip
        costs = self.mb.fuel_costs
        segs: dict[int, int] = {}
        bulk = False
        if costs is not None:
            # The fuel lives in a local (a register after mem2reg) loaded from rt[RT_FUEL] on
            # entry and written back around calls and on every exit: a counter in memory would
            # be reloaded and stored per segment (wasm stores may alias it).
            segs = segment_costs(body, costs)
            bulk = costs.bulk_per_64 != 0
            self.fuel = self.ab.alloca(I64, name="fuel")
            self.ab.store(self.ab.load(self.rt_slot(self.ab, abi.RT_FUEL), typ=I64), self.fuel)
        # call depth, and the native stack for functions that call or have big frames (one
        # branch for both)
        exhausted = self.b.icmp_signed("<", self.rem, c32(0))
        if ops & _CALLS or len(self.local_types) > BIG_FRAME_LOCALS:
            fa = self.b.call(self.intr("llvm.frameaddress.p0", PTR, [I32]), [c32(0)])
            limit = self.b.load(
                self.b.gep(self.rt(), [c64(abi.RT_STACK_LIMIT)], source_etype=I64), typ=I64
            )
            low = self.b.icmp_unsigned("<", self.b.ptrtoint(fa, I64), limit)
            exhausted = self.b.or_(exhausted, low)
        self.trap_if(exhausted, TrapCode.CALL_STACK_EXHAUSTED, edge=True)
        self.epoch_check()
        func = Ctl("func", (), self.ftype.results, 0)
        func.end = self.fn.append_basic_block("return")
        func.slots = [self.ab.alloca(LL[t]) for t in func.results]
        self.ctl.append(func)
        skip = 0
        ctl = self.ctl
        handlers = _HANDLERS
        other = FunctionLowerer.op_other
        for pos, ins in enumerate(body):
            op = ins.op
            if ctl[-1].unreachable:
                if op == O.BLOCK or op == O.LOOP or op == O.IF or op == O.TRY_TABLE:
                    skip += 1
                    continue
                if op == O.END:
                    if skip:
                        skip -= 1
                        continue
                elif op == O.ELSE:
                    if skip:
                        continue
                else:
                    continue
            self.offset = ins.offset
            self.pos = pos
            if segs:
                cost = segs.get(pos)
                if cost is not None:
                    if self.pauses:
                        # (the Python tier's offset for it: the instruction before the
                        # segment, or the byte before the body: points match across tiers)
                        self.susp.fuel_point(1, body[pos - 1].offset if pos else ins.offset - 1)
                    self.charge(c64(cost))
            if bulk and op in BULK_OPS:
                if self.pauses:
                    self.susp.fuel_point(2, ins.offset)
                self.charge_bulk(costs.bulk_per_64)
            try:
                handlers.get(op, other)(self, ins)
            except UnsupportedFeature:
                raise
            except (KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
                raise UnsupportedFeature(
                    f"LLVM tier cannot lower {Op(op).name if op in Op._value2member_map_ else op}"
                    f": {e}", self.index, ins.offset) from e
            if not ctl:
                break

    def op_other(self, ins) -> None:
        """Lower an instruction that has no entry in :data:`_HANDLERS` (SIMD, or one the LLVM
        tier does not support). :meth:`lower` looks every instruction up in that table: a
        dict lookup and a call, where the chain of tests it replaced took up to a few dozen."""
        if ins.op >= SIMD_BASE:
            from .simd import lower_simd  # (imports this module)

            lower_simd(self, ins)
        else:
            raise UnsupportedFeature(
                f"LLVM tier: instruction {ins.op:#x} is not supported", self.index, ins.offset
            )

    # -- one method per instruction group (the entries of _HANDLERS) -----------------------
    # (they use self.stack's append and pop themselves, not push and pop: a call fewer per
    # operand, on the lowering's hottest path)

    def _op_ibin(self, ins) -> None:  # the ops of _IBIN
        y = self.stack.pop()
        x = self.stack.pop()
        op = ins.op
        if op in _BOOL_TEXT:
            # and/or/xor of two 0/1s (comparisons' results): of their i1s, a 0/1 again, so
            # neither operand's extension is needed (see push_bool) nor, before a branch,
            # a compare of the result with 0
            bools = self._bools
            hx = bools.get(id(x))
            hy = bools.get(id(y))
            if hx is not None and hy is not None and hx[0] is x and hy[0] is y:
                self.push_bool(self.b.int_binop(_IBIN[op], _BOOL_TEXT[op], hx[1], hy[1]))
                return
        self.stack.append(self.b.int_binop(_IBIN[op], _IBIN_TEXT[op], x, y))

    def _op_icmp(self, ins) -> None:  # the ops of _ICMP
        op = ins.op
        y = self.stack.pop()
        x = self.stack.pop()
        pyop, signed, head = _ICMP[op]
        self.push_bool(self.b.int_compare(pyop, signed, head, x, y))

    def _op_local_get(self, ins) -> None:  # local.get (a fifth of all instructions)
        """Push the value of the local: as stored (what a store put there or a load read,
        while it dominates: see :attr:`known`), or for a local of :attr:`raw_locals` its
        NaN-checked form (:meth:`canonical_local`)."""
        k = ins.imm
        alloca = self.locals[k]
        v = self.known.get(id(alloca))
        if v is None:
            if k in self._untouched:  # (read first: it needs its zero, see _zero_locals)
                self._untouched.discard(k)
                self._zeroed.append(k)
            v = self.known[id(alloca)] = self.b.load_alloca(alloca)
        self.stack.append(v if k not in self.raw_locals else self.canonical_local(k, v))

    def _op_local_set(self, ins) -> None:  # local.set
        imm = ins.imm
        self.set_local(imm, self.stack.pop())

    def _op_local_tee(self, ins) -> None:  # local.tee
        imm = ins.imm
        self.set_local(imm, self.stack[-1])

    def _op_i32_const(self, ins) -> None:  # i32.const
        u = ins.imm & 0xFFFFFFFF  # (c32, inlined)
        c = _C32.get(u)
        self.stack.append(_new_const(_C32, I32, u) if c is None else c)

    def _op_i64_const(self, ins) -> None:  # i64.const
        imm = ins.imm
        self.stack.append(c64(imm))

    def _op_float_const(self, ins) -> None:  # f32.const, f64.const
        op = ins.op
        imm = ins.imm
        v = f32_bits(imm) if op == O.F32_CONST else f64_bits(imm)
        if not _is_nan_bits(imm, op == O.F32_CONST):
            self._nan_raw[id(v)] = (v, v)  # (checked as it is: for set_local)
        self.stack.append(v)

    def _op_load(self, ins) -> None:  # the ops of _LOAD
        op = ins.op
        imm = ins.imm
        self.load(op, imm[1], imm[2])

    def _op_store(self, ins) -> None:  # the ops of _STORE
        op = ins.op
        imm = ins.imm
        self.store(op, imm[1], imm[2])

    def _op_br_if(self, ins) -> None:  # br.if
        b = self.b
        imm = ins.imm
        cond = self.cond(self.stack.pop())
        cont = self.fn.append_basic_block()
        target = self.ctl[-1 - imm]
        if target.kind != "func" and not target.label_types:
            # nothing to carry: branch to the label's block itself
            b.cbranch(cond, target.header if target.kind == "loop" else target.end, cont)
            if target.kind != "loop":
                target.reached = True
                target.merge(self.known)
        else:
            taken = self.fn.append_basic_block()
            b.cbranch(cond, taken, cont)
            b.position_at_end(taken)
            self.branch(imm, keep=True)
        b.position_at_end(cont)

    def _op_br(self, ins) -> None:  # br
        imm = ins.imm
        self.branch(imm)
        self.set_unreachable()

    def _op_block(self, ins) -> None:  # block, loop, if
        op = ins.op
        imm = ins.imm
        self.begin(op, imm)

    def _op_else(self, ins) -> None:  # else
        self.do_else()

    def _op_end(self, ins) -> None:  # end
        self.end()

    def _op_call(self, ins) -> None:  # call
        imm = ins.imm
        self.call(imm)

    def _op_idiv(self, ins) -> None:  # the ops of _IDIV
        op = ins.op
        self.divrem(op)

    def _op_ishift(self, ins) -> None:  # the ops of _ISHIFT
        op = ins.op
        b = self.b
        name, mask = _ISHIFT[op]
        y = self.stack.pop()
        x = self.stack.pop()
        k = _const_int(y)
        y = b.and_(y, _int_const(mask + 1, y.type, mask)) if k is None else \
            _int_const(mask + 1, y.type, k & mask)  # fmt: skip
        self.stack.append(getattr(b, name)(x, y))

    def _op_irot(self, ins) -> None:  # the ops of _IROT
        op = ins.op
        name, t = _IROT[op]
        y = self.stack.pop()
        x = self.stack.pop()
        self.stack.append(self.rotate(name, t, x, y))

    def _op_iun(self, ins) -> None:  # the ops of _IUN
        op = ins.op
        b = self.b
        name, t = _IUN[op]
        x = self.stack.pop()
        if name == "llvm.ctpop":
            self.stack.append(b.call(self.intr(f"{name}.{t}", t, [t]), [x]))
        else:
            self.stack.append(b.call(self.intr(f"{name}.{t}", t, [t, I1]), [x, ir.Constant(I1, 0)]))

    def _op_eqz(self, ins) -> None:  # i32.eqz, i64.eqz
        b = self.b
        x = self.stack.pop()
        hit = self._bools.get(id(x))
        if hit is not None and hit[0] is x:  # a 0/1: the negation of its i1 (see push_bool)
            self.push_bool(b.int_binop("xor", "xor i1 ", hit[1], _TRUE))
            return
        self.push_bool(b.icmp_unsigned("==", x, ir.Constant(x.type, 0)))

    def _op_fbin(self, ins) -> None:  # the ops of _FBIN
        op = ins.op
        b = self.b
        y = self.pop_nan_any()
        x = self.pop_nan_any()
        r = getattr(b, _FBIN[op])(x, y)
        # (the next instruction takes any NaN: no check to make, and for LLVM to delete)
        self.stack.append(r if self.next_op() in _NAN_ANY_NEXT else self.canonical_nan(r))

    def _op_fcmp(self, ins) -> None:  # the ops of _FCMP
        op = ins.op
        b = self.b
        y = self.pop_nan_any()
        x = self.pop_nan_any()
        pyop = _FCMP[op]
        self.push_bool(b.fcmp_unordered(pyop, x, y) if pyop == "!=" else
                       b.fcmp_ordered(pyop, x, y))  # fmt: skip

    def _op_fun(self, ins) -> None:  # the ops of _FUN
        op = ins.op
        b = self.b
        name, t = _FUN[op]
        if name == "llvm.fabs":  # bitwise
            self.stack.append(b.call(self.intr(f"{name}.{_fname(t)}", t, [t]), [self.stack.pop()]))
        else:
            r = b.call(self.intr(f"{name}.{_fname(t)}", t, [t]), [self.pop_nan_any()])
            self.stack.append(self.canonical_nan(r))

    def _op_fneg(self, ins) -> None:  # f32.neg, f64.neg
        b = self.b
        self.stack.append(b.fneg(self.stack.pop()))

    def _op_fbin_intr(self, ins) -> None:  # the ops of _FBIN_INTR
        op = ins.op
        b = self.b
        name, t = _FBIN_INTR[op]
        if name == "llvm.copysign":  # bitwise
            y = self.stack.pop()
            x = self.stack.pop()
            self.stack.append(b.call(self.intr(f"{name}.{_fname(t)}", t, [t, t]), [x, y]))
        else:  # min/max: a NaN if either operand is one, -0 < +0
            y = self.pop_nan_any()
            x = self.pop_nan_any()
            self.stack.append(self.canonical_nan(self.min_max(x, y, name == "llvm.minimum")))

    def _op_demote_promote(self, ins) -> None:  # f32.demote_f64, f64.promote_f32
        op = ins.op
        b = self.b
        name, t = _CAST[op]
        self.stack.append(self.canonical_nan(getattr(b, name)(self.pop_nan_any(), t)))

    def _op_cast(self, ins) -> None:  # the ops of _CAST
        op = ins.op
        b = self.b
        name, t = _CAST[op]
        self.stack.append(getattr(b, name)(self.stack.pop(), t))

    def _op_sext(self, ins) -> None:  # the ops of _SEXT
        op = ins.op
        b = self.b
        narrow, full = _SEXT[op]
        self.stack.append(b.sext(b.trunc(self.stack.pop(), narrow), full))

    def _op_trunc(self, ins) -> None:  # the ops of _TRUNC
        op = ins.op
        self.trunc(*_TRUNC[op])

    def _op_trunc_sat(self, ins) -> None:  # the ops of _TRUNC_SAT
        op = ins.op
        b = self.b
        it, signed, ft = _TRUNC_SAT[op]
        name = f"llvm.fpto{'s' if signed else 'u'}i.sat.{it}.{_fname(ft)}"
        self.stack.append(b.call(self.intr(name, it, [ft]), [self.pop_nan_any()]))

    def _op_drop(self, ins) -> None:  # drop
        self.stack.pop()

    def _op_select(self, ins) -> None:  # select, select.t
        b = self.b
        c = self.stack.pop()
        y = self.stack.pop()
        x = self.stack.pop()
        # a conditional move, as the producer chose (clang emits a wasm select where it
        # judged a branch worse) and as Cranelift makes it: without the mark LLVM's x86
        # back end turns a select in a loop back into a branch (heapsort's choice of the
        # larger child: a branch mispredicted half the time, sort 1.17x wasmtime)
        r = b.select(self.cond(c), x, y)
        r.set_metadata("unpredictable", self.mb.unpredictable)
        self.stack.append(r)

    def _op_global_get(self, ins) -> None:  # global.get
        b = self.b
        imm = ins.imm
        p = self.ctx_load(self.layout.global_slot(imm), PTR)
        # align 8: cells are 8-byte aligned, a v128 (16 bytes) too
        self.stack.append(b.load(p, typ=LL[self.mb.global_types[imm].valtype], align=8))

    def _op_global_set(self, ins) -> None:  # global.set
        b = self.b
        imm = ins.imm
        p = self.ctx_load(self.layout.global_slot(imm), PTR)
        b.store(self.stack.pop(), p, align=8)

    def _op_br_table(self, ins) -> None:  # br.table
        imm = ins.imm
        if len(imm[0]) > HUGE_BR_TABLE:  # (attributes are printed with the function)
            self.fn.attributes.add("optnone")
            self.fn.attributes.add("noinline")  # (LLVM requires it with optnone)
        self.br_table(*imm)

    def _op_return(self, ins) -> None:  # return
        self.ret(self.popn(len(self.ftype.results)))
        self.set_unreachable()

    def _op_unreachable(self, ins) -> None:  # unreachable
        b = self.b
        b.branch(self._to_trap(TrapCode.UNREACHABLE))
        self.set_unreachable()

    def _op_nop(self, ins) -> None:  # nop
        pass

    def _op_call_indirect(self, ins) -> None:  # call.indirect
        imm = ins.imm
        self.call_indirect(*imm)

    def _op_memory_size(self, ins) -> None:  # memory.size
        b = self.b
        imm = ins.imm
        pages = b.lshr(self.mem_size(imm), c64(16))
        self.stack.append(pages if self.memory64(imm) else b.trunc(pages, I32))

    def _op_memory_grow(self, ins) -> None:  # memory.grow
        b = self.b
        imm = ins.imm
        grow = self.ctx_load(abi.CTX_MEM_GROW, PTR)
        fty = ir.FunctionType(I64, [PTR, I32, I64])
        r = self._call_ptr(grow, fty, [self.ctx, c32(imm), self.to64(self.stack.pop())])
        self.stack.append(r if self.memory64(imm) else b.trunc(r, I32))
        self.reload_memsize()

    def _op_memory_fill(self, ins) -> None:  # memory.fill
        b = self.b
        imm = ins.imm
        n = self.to64(self.stack.pop())
        val = b.trunc(self.stack.pop(), I8)
        d = self.to64(self.stack.pop())
        self.mem_check(d, n, imm)
        b.call(self.intr("llvm.memset.p0.i64", VOID, [PTR, I8, I64, I1]),
               [self.mem_ptr(d, imm), val, n, ir.Constant(I1, 0)])  # fmt: skip

    def _op_memory_copy(self, ins) -> None:  # memory.copy
        b = self.b
        imm = ins.imm
        dk, sk = imm
        n = self.to64(self.stack.pop())
        s = self.to64(self.stack.pop())
        d = self.to64(self.stack.pop())
        self.mem_check(s, n, sk)
        self.mem_check(d, n, dk)
        b.call(self.intr("llvm.memmove.p0.p0.i64", VOID, [PTR, PTR, I64, I1]),
               [self.mem_ptr(d, dk), self.mem_ptr(s, sk), n, ir.Constant(I1, 0)])  # fmt: skip

    def _op_memory_init(self, ins) -> None:  # memory.init
        b = self.b
        imm = ins.imm
        seg, k = imm
        n = b.zext(self.stack.pop(), I64)
        s = b.zext(self.stack.pop(), I64)
        d = self.to64(self.stack.pop())
        pslot, lslot = self.layout.data_slots(seg)
        seglen = self.ctx_load(lslot, I64, cached=False)
        self.trap_if(b.icmp_unsigned(">", b.add(s, n), seglen), TrapCode.MEMORY_OUT_OF_BOUNDS)
        self.mem_check(d, n, k)
        src = b.gep(self.ctx_load(pslot, PTR), [s], source_etype=I8)
        b.call(self.intr("llvm.memcpy.p0.p0.i64", VOID, [PTR, PTR, I64, I1]),
               [self.mem_ptr(d, k), src, n, ir.Constant(I1, 0)])  # fmt: skip

    def _op_data_drop(self, ins) -> None:  # data.drop
        b = self.b
        imm = ins.imm
        _, lslot = self.layout.data_slots(imm)
        b.store(c64(0), b.gep(self.ctx, [c64(lslot)], source_etype=I64))

    def _op_elem_drop(self, ins) -> None:  # elem.drop
        b = self.b
        imm = ins.imm
        _, lslot = self.layout.elem_slots(imm)
        b.store(c64(0), b.gep(self.ctx, [c64(lslot)], source_etype=I64))

    def _op_ref_null(self, ins) -> None:  # ref.null
        self.stack.append(c64(0))

    def _op_ref_is_null(self, ins) -> None:  # ref.is_null
        b = self.b
        self.stack.append(b.zext(b.icmp_unsigned("==", self.stack.pop(), c64(0)), I32))

    def _op_ref_func(self, ins) -> None:  # ref.func
        b = self.b
        imm = ins.imm
        base = self.ctx_load(abi.CTX_FUNCREFS, I64)
        self.stack.append(b.add(base, c64(abi.REC_SIZE * imm)))

    def _op_table_get(self, ins) -> None:  # table.get
        b = self.b
        imm = ins.imm
        i = self.to64(self.stack.pop())
        self.stack.append(b.load(self.table_entry(imm, i), typ=I64))

    def _op_table_set(self, ins) -> None:  # table.set
        b = self.b
        imm = ins.imm
        v = self.stack.pop()
        i = self.to64(self.stack.pop())
        b.store(v, self.table_entry(imm, i))
        self.table_changed(imm, i, c64(1))

    def _op_table_size(self, ins) -> None:  # table.size
        b = self.b
        imm = ins.imm
        desc = self.ctx_load(self.layout.table_slot(imm), PTR)
        size = b.load(b.gep(desc, [c64(abi.TAB_SIZE)], source_etype=I64), typ=I64)
        self.stack.append(size if self.table64(imm) else b.trunc(size, I32))

    def _op_table_grow(self, ins) -> None:  # table.grow
        b = self.b
        imm = ins.imm
        delta = self.to64(self.stack.pop())
        init = self.stack.pop()
        grow = self.ctx_load(abi.CTX_TABLE_GROW, PTR)
        fty = ir.FunctionType(I64, [PTR, I32, I64, I64])
        r = self._call_ptr(grow, fty, [self.ctx, c32(imm), init, delta])
        self.stack.append(r if self.table64(imm) else b.trunc(r, I32))

    def _op_table_fill(self, ins) -> None:  # table.fill
        imm = ins.imm
        n = self.to64(self.stack.pop())
        v = self.stack.pop()
        i = self.to64(self.stack.pop())
        entries = self.table_range(imm, i, n)
        self.fill_loop(entries, i, n, v)
        self.table_changed(imm, i, n)

    def _op_table_copy(self, ins) -> None:  # table.copy
        b = self.b
        imm = ins.imm
        dt, st = imm
        n = self.to64(self.stack.pop())
        s = self.to64(self.stack.pop())
        d = self.to64(self.stack.pop())
        src = self.table_range(st, s, n)
        dst = self.table_range(dt, d, n)
        b.call(self.intr("llvm.memmove.p0.p0.i64", VOID, [PTR, PTR, I64, I1]),
               [b.gep(dst, [d], source_etype=I64), b.gep(src, [s], source_etype=I64),
                b.mul(n, c64(8)), ir.Constant(I1, 0)])  # fmt: skip
        self.table_changed(dt, d, n)

    def _op_table_init(self, ins) -> None:  # table.init
        b = self.b
        imm = ins.imm
        seg, t = imm
        n = b.zext(self.stack.pop(), I64)
        s = b.zext(self.stack.pop(), I64)
        d = self.to64(self.stack.pop())
        pslot, lslot = self.layout.elem_slots(seg)
        seglen = self.ctx_load(lslot, I64, cached=False)
        self.trap_if(b.icmp_unsigned(">", b.add(s, n), seglen), TrapCode.TABLE_OUT_OF_BOUNDS)
        dst = self.table_range(t, d, n)
        src = b.gep(self.ctx_load(pslot, PTR), [s], source_etype=I64)
        b.call(self.intr("llvm.memcpy.p0.p0.i64", VOID, [PTR, PTR, I64, I1]),
               [b.gep(dst, [d], source_etype=I64), src, b.mul(n, c64(8)),
                ir.Constant(I1, 0)])  # fmt: skip
        self.table_changed(t, d, n)

    def _op_return_call(self, ins) -> None:  # return.call
        imm = ins.imm
        self.call(imm, tail=True)

    def _op_return_call_indirect(self, ins) -> None:  # return.call_indirect
        imm = ins.imm
        self.call_indirect(*imm, tail=True)

    def _op_call_ref(self, ins) -> None:  # call.ref, return.call_ref
        op = ins.op
        imm = ins.imm
        self.call_ref(imm, tail=op == O.RETURN_CALL_REF)

    def _op_ref_as_non_null(self, ins) -> None:  # ref.as_non_null
        b = self.b
        v = self.stack[-1]
        self.trap_if(b.icmp_unsigned("==", v, c64(0)), TrapCode.NULL_REFERENCE)

    def _op_br_on_null(self, ins) -> None:  # br.on_null, br.on_non_null
        op = ins.op
        imm = ins.imm
        self.br_on_null(imm, op == O.BR_ON_NULL)

    def _op_throw(self, ins) -> None:  # throw
        imm = ins.imm
        self.throw(imm)

    def _op_throw_ref(self, ins) -> None:  # throw.ref
        self.throw_ref()

    def _op_try_table(self, ins) -> None:  # try.table
        imm = ins.imm
        self.try_table(*imm)

    # -- control ----------------------------------------------------------------------------
    def set_unreachable(self) -> None:
        # what follows up to the matching else/end is skipped: no code is emitted (after the
        # terminator just emitted, LLVM's verifier would refuse it)
        self.ctl[-1].unreachable = True

    def branch(self, depth: int, keep: bool = False) -> None:
        """Jump to label ``depth`` carrying its values (``keep``: leave them on the stack)."""
        target = self.ctl[-1 - depth]
        types = target.label_types
        vals = self.stack[len(self.stack) - len(types):] if types else []
        if target.kind == "func":
            self.ret(list(vals))
        else:
            for v, slot in zip(vals, target.slots):
                self.b.store(v, slot)
            self.b.branch(target.header if target.kind == "loop" else target.end)
            if target.kind != "loop":
                target.reached = True
                target.merge(self.known)
        if not keep and types:
            del self.stack[-len(types):]

    def ret(self, vals: list) -> None:
        self.fuel_out(self.b)
        _ret(self.b, self.fn.function_type.return_type, vals)

    # -- epoch interruption -----------------------------------------------------------------
    def epoch_check(self) -> None:
        """With epoch checks: trap with ``INTERRUPT`` if ``rt[RT_EPOCH]`` is set. The load is
        atomic (monotonic) so LLVM reloads it every time: another thread sets it while this
        code runs, and a plain load could be hoisted out of a loop that stores nothing."""
        if not self.mb.epoch:
            return
        b = self.b
        flag = b.load_atomic(self.rt_slot(b, abi.RT_EPOCH), "monotonic", 8, typ=I64)
        self.trap_if(b.icmp_unsigned("!=", flag, c64(0)), TrapCode.INTERRUPT)

    # -- fuel -------------------------------------------------------------------------------
    def rt_slot(self, b: ir.IRBuilder, slot: int):
        """The address of slot ``slot`` of the runtime struct."""
        return b.gep(self.rt(), [c64(slot)], source_etype=I64)

    def fuel_out(self, b: ir.IRBuilder) -> None:
        """Before a call or an exit: the fuel local goes back to ``rt[RT_FUEL]``."""
        if self.fuel is not None:
            b.store(b.load(self.fuel), self.rt_slot(b, abi.RT_FUEL))

    def fuel_in(self) -> None:
        """After a call: the callee (or a host function) may have changed the fuel."""
        if self.fuel is not None:
            b = self.b
            b.store(b.load(self.rt_slot(b, abi.RT_FUEL), typ=I64), self.fuel)

    def charge(self, amount) -> None:
        """Take ``amount`` (an i64) from the fuel, or trap with ``OUT_OF_FUEL`` leaving the fuel
        as it was (the trap block writes the local back)."""
        b = self.b
        f = b.load(self.fuel)
        self.fuel_trap_if(b.icmp_unsigned("<", f, amount), amount)
        b.store(b.sub(f, amount), self.fuel)

    def fuel_trap_if(self, cond, required) -> None:
        """Trap with ``OUT_OF_FUEL`` when ``cond`` holds (in a pausable function: or pause,
        needing ``required``)."""
        if not self.pauses:
            self.trap_if(cond, TrapCode.OUT_OF_FUEL)
        else:
            self.susp.fuel_check(cond, required)

    def charge_bulk(self, per: int) -> None:
        """A bulk instruction's variable cost: ``per`` per 64 items of its count operand (the
        top of the stack), charged before the instruction checks its bounds."""
        b = self.b
        units = b.lshr(b.zext(self.stack[-1], I64), c64(6))  # < 2**26
        if per < 1 << 36:
            self.charge(b.mul(units, c64(per)))  # < 2**62: no overflow
            return
        # A huge cost: compare in 128 bits (fuel is < 2**64, so any overflow means "too much").
        i128 = ir.IntType(128)
        wide = b.mul(b.zext(units, i128), ir.Constant(i128, per))
        f = b.load(self.fuel)
        big = b.icmp_unsigned(">", wide, ir.Constant(i128, (1 << 64) - 1))
        self.fuel_trap_if(b.icmp_unsigned("<", b.zext(f, i128), wide),
                          b.select(big, c64(-1), b.trunc(wide, I64)))  # fmt: skip
        b.store(b.sub(f, b.trunc(wide, I64)), self.fuel)

    def br_table(self, labels, default) -> None:
        b = self.b
        idx = self.pop()
        blocks: dict[int, ir.Block] = {}
        here = b.block

        def edge(depth: int) -> ir.Block:
            bb = blocks.get(depth)
            if bb is None:
                target = self.ctl[-1 - depth]
                if target.kind != "func" and not target.label_types:
                    # nothing to carry: the switch goes to the label's block itself (an
                    # edge block per target was ~8% of the IR of the benchmark module)
                    if target.kind == "loop":
                        bb = blocks[depth] = target.header
                    else:
                        bb = blocks[depth] = target.end
                        target.reached = True
                        target.merge(self.known)
                    return bb
                bb = blocks[depth] = self.fn.append_basic_block(f"brt{depth}")
                b.position_at_end(bb)
                self.branch(depth, keep=True)
            return bb

        targets = [edge(d) for d in labels]
        dflt = edge(default)
        b.position_at_end(here)
        if not self.mb.quick:
            self._switch(idx, targets, dflt)
            self.set_unreachable()
            return
        # quick code: none of it goes to SelectionDAG but a switch (see QUICK_SEARCH_RUNS)
        runs = [(k, bb) for k, bb in enumerate(targets) if k == 0 or bb is not targets[k - 1]]
        if not targets or targets[-1] is not dflt:
            runs.append((len(targets), dflt))  # (the default covers the rest)
        blocks = self.fn.blocks
        n = len(blocks)
        new: list[ir.Block] = []
        if len(runs) <= QUICK_SEARCH_RUNS:
            self._search(idx, runs, new)
        else:
            new.append(self.fn.append_basic_block("brt"))
            b.branch(new[0])
            b.position_at_end(new[0])
            self._switch(idx, targets, dflt)
        if new:  # the new blocks follow ``here``, depth first (fewer jumps)
            del blocks[n:]
            k = len(blocks) - 1
            while blocks[k] is not here:
                k -= 1
            blocks[k + 1 : k + 1] = new
        self.set_unreachable()

    def _switch(self, idx, targets: list, dflt) -> None:
        sw = self.b.switch(idx, dflt)
        for k, bb in enumerate(targets):
            if bb is not dflt:
                sw.add_case(c32(k), bb)

    def _search(self, idx, runs, new: list) -> None:
        """Branch on ``idx`` by a binary search over ``runs``: ascending ``(first index,
        target)``, each up to the next one's first index, the last one unbounded; ``idx`` is
        known to be at least the first one's (unsigned compares). The blocks it makes are
        appended to the function, and to ``new`` in the order they are filled."""
        b = self.b
        while len(runs) > 1:
            mid = len(runs) // 2
            lo = runs[0][1] if mid == 1 else self.fn.append_basic_block("brt")
            hi = runs[mid][1] if len(runs) - mid == 1 else self.fn.append_basic_block("brt")
            b.cbranch(b.icmp_unsigned("<", idx, c32(runs[mid][0])), lo, hi)
            if mid > 1:
                new.append(lo)
                b.position_at_end(lo)
                self._search(idx, runs[:mid], new)
            if len(runs) - mid == 1:
                return
            new.append(hi)
            b.position_at_end(hi)
            runs = runs[mid:]
        b.branch(runs[0][1])

    def begin(self, op, imm) -> None:
        b = self.b
        params, results = self.block_type(imm) if imm is not None else _NO_TYPES
        if op == O.IF:
            cond = self.cond(self.pop())
        frame = Ctl("block" if op == O.BLOCK else "loop" if op == O.LOOP else "if",
                    params, results, len(self.stack) - len(params))  # fmt: skip
        if self.susp is not None:
            self.susp.keep(frame.height)
            frame.below = self.stack[: frame.height]
        if op == O.LOOP:
            frame.slots = [self.ab.alloca(LL[t]) for t in params]
            frame.header = self.fn.append_basic_block("loop")
            for v, slot in zip(self.popn(len(params)), frame.slots):
                b.store(v, slot)
            b.branch(frame.header)
            if self.osr:
                self.susp.loop_point(frame)
            b.position_at_end(frame.header)
            self.known = {}  # (the back edges bring other values)
            if self.susp is not None:  # (so do back edges from a resume point in the body)
                self.susp.reload(frame.height)
            self.epoch_check()
            for slot in frame.slots:
                self.push(b.load(slot))
            frame.end = None
        else:
            if results:
                frame.slots = [self.ab.alloca(LL[t]) for t in results]
            frame.end = self.fn.append_basic_block("end")
            if op == O.IF:
                then = self.fn.append_basic_block("then")
                frame.else_bb = self.fn.append_basic_block("else")
                frame.if_params = self.stack[len(self.stack) - len(params):] if params else []
                b.cbranch(cond, then, frame.else_bb)
                b.position_at_end(then)
                frame.known = dict(self.known)
        self.ctl.append(frame)

    def do_else(self) -> None:
        frame = self.ctl[-1]
        if not frame.unreachable:
            self.branch(0)
        del self.stack[frame.height:]
        if self.susp is not None:
            self.stack[:] = frame.below  # (a pause in the then arm changed them there)
        frame.has_else = True
        frame.unreachable = False
        self.b.position_at_end(frame.else_bb)
        self.known = frame.known
        self.stack.extend(frame.if_params)

    def end(self) -> None:
        frame = self.ctl[-1]
        b = self.b
        if frame.kind == "func":
            if not frame.unreachable:
                self.ret(self.popn(len(frame.results)))
            if frame.reached:
                b.position_at_end(frame.end)
                self.ret([b.load(s) for s in frame.slots])
            else:
                frame.end.parent.blocks.remove(frame.end)
            self.ctl.pop()
            self._finish()
            return
        if frame.kind == "loop":
            # Falling off a loop's end just continues with its results.
            self.ctl.pop()
            if frame.unreachable:
                # never reached (only falling off a loop reaches its end): as after a block
                # no branch reaches, the stack holds the results, as validation has it
                del self.stack[frame.height:]
                self.stack += [ir.Constant(LL[t], ir.Undefined) for t in frame.results]
                self.set_unreachable()
            elif self.susp is not None:
                self.susp.reload(frame.height)
            return
        if frame.kind == "try":
            self.handlers.pop()  # what follows unwinds to the try_tables further out
        if not frame.unreachable:
            self.branch(0)
        if frame.kind == "if" and not frame.has_else:
            # The implicit else passes the params through (validation: params == results).
            b.position_at_end(frame.else_bb)
            self.known = frame.known
            for v, slot in zip(frame.if_params, frame.slots):
                b.store(v, slot)
            b.branch(frame.end)
            frame.reached = True
            frame.merge(self.known)
        del self.stack[frame.height:]
        self.ctl.pop()
        b.position_at_end(frame.end)
        self.known = frame.merged or {}
        if frame.reached:
            if self.susp is not None:
                self.susp.reload(frame.height)
            for slot in frame.slots:
                self.push(b.load(slot))
        else:
            b.unreachable()
            self.set_unreachable()
            # The values a validator expects after the construct: never used at run time.
            for t in frame.results:
                self.push(ir.Constant(LL[t], ir.Undefined))

    def _zero_locals(self) -> None:
        """Store the initial zero of each declared local that needs it, last in the entry
        block: one whose first access (in the order of the body) was a ``local.get``, or a
        ``local.set``/``local.tee`` inside a block. A local set first at the body's own level
        needs none: that set runs before everything after it (no branch can skip an
        instruction outside all blocks), so no read sees the zero; a local never accessed
        needs none either. (The quick pipeline has no pass to delete dead stores: these were
        3.6% of the IR of the benchmark module.) Functions with suspend code zero all their
        locals when they are made: a spill reads them all."""
        ab = self.ab
        for k in self._zeroed:
            ab.store(zero(LL[self.local_types[k]]), self.locals[k])

    def _finish(self) -> None:
        if self.susp is None:
            self._zero_locals()
            # the entry block's code goes first in the start block, which becomes the entry
            # (nothing else branches to it): a block and a branch fewer per function
            entry = self.fn.blocks.pop(0)
            assert entry is self.ab.block and self.fn.blocks[0] is self.start
            self.start.instructions[0:0] = entry.instructions
            entry.instructions = []  # (a block and its instructions: see dismantle)
        else:
            self.susp.finish()
        # Blocks with no terminator (fresh "dead" blocks) are unreachable.
        for bb in self.fn.blocks:
            if bb.terminator is None:
                Builder(bb).unreachable()

    # -- calls ------------------------------------------------------------------------------
    def _call_ptr(self, fnptr, fty: ir.FunctionType, args, cconv=None, tail=False):
        """Call through a pointer (``cconv``: :data:`TAILCC` for wasm functions, else the C
        convention of the runtime's callbacks)."""
        return self.b.call(_Callee(fnptr, fty), args, cconv=cconv, tail="tail" if tail else False)

    def after_call(self) -> None:
        self.fuel_in()
        self.check_status()
        if self.mb.quick:
            # quick code forgets every value it knows (locals, memories' sizes and bases):
            # the code after the status check is a block of its own, and the fast register
            # allocator keeps a value used in another block in a stack slot (a store where
            # it is made, a load where it is used), where loading the local again costs the
            # load alone (fib at level 0: a store fewer per call)
            self.known = {}
        else:
            self.reload_memsize()

    def reload_memsize(self) -> None:
        """After a call or ``memory.grow``: the memories' sizes and bases may have changed.
        Quick code reads them from their context slots (:attr:`msz` and :attr:`mbase` are
        the slots' addresses), which the runtime keeps current: it only forgets the values
        it knows, and a later access loads them again. Copies in allocas, reloaded here,
        are for optimised code, where they become registers (a load from the context is
        made again after every store); in quick code, which no pass improves, the reload
        after each call (six IR lines per memory) was ~4% of the IR of the benchmark
        module, and the copies' set-up in the entry block more again."""
        if self.mb.quick:
            known = self.known
            for k, msz in self.msz.items():
                known.pop(id(msz), None)
                known.pop(id(self.mbase[k]), None)
            return
        for k, msz in self.msz.items():
            base_slot, size_slot = self.layout.memory_slots(k)
            self.write(self.ctx_load(size_slot, I64, cached=False), msz)
            if k not in self.fixed_base:
                self.write(self.ctx_load(base_slot, PTR, cached=False), self.mbase[k])

    def finish_call(self, r, ft: FuncType, tail: bool, can_pause: bool = True) -> None:
        """After a call: a tail call returns its result as is; else check, reload, push
        (``can_pause``: whether the callee may pause, see :meth:`call`)."""
        if tail:
            if ft.results:
                self.b.ret(r)
            else:
                self.b.ret_void()
            self.set_unreachable()
            return
        vals = _unpack(self.b, r, len(ft.results)) if not (self.pauses and can_pause) else \
            self.susp.call_site(r, ft)  # fmt: skip
        self.after_call()
        self.stack.extend(vals)

    def call(self, funcidx: int, tail: bool = False) -> None:
        """``call`` (or ``return_call``: a tail call, at the same depth, frame reused)."""
        ft = self.mb.func_types[funcidx]
        args = self.popn(len(ft.params))
        rem = self.rem if tail else self.callee_rem()
        self.fuel_out(self.b)
        if funcidx < self.mb.nimp:
            fslot, eslot = self.layout.import_slots(funcidx)
            fn = self.ctx_load(fslot, PTR)
            env = self.ctx_load(eslot, PTR)
            r = self._call_ptr(fn, signature(ft), [env, rem, *args], TAILCC, tail)
        elif self.mb.fast and self.mb.quick:
            # the body's address from the module's table of them (CTX_BODIES): under the
            # JIT's large code model a function's address is a 64-bit constant, which the
            # fast instruction selector does not make, so a call by name sent its block to
            # SelectionDAG (~760 per part of the 475 KiB module)
            b = self.b
            table = self.ctx_load(abi.CTX_BODIES, PTR)
            fn = b.load(word(b, table, funcidx - self.mb.nimp), typ=PTR)
            r = self._call_ptr(fn, signature(ft), [self.ctx, rem, *args])
        elif self.mb.fast:  # (the module makes no tail calls)
            r = self.b.call(self.mb.body(funcidx), [self.ctx, rem, *args])
        elif funcidx in self.mb.funcs:
            r = self.b.call(self.mb.funcs[funcidx], [self.ctx, rem, *args], cconv=TAILCC,
                            tail="tail" if tail else False)  # fmt: skip
        else:
            # another compilation unit's (or the Python tier's) function: through its record,
            # read at each call (a later unit may repoint it at jitted code); records hold
            # tailcc functions (jitted ones, or the type's trampoline), so a tail call through
            # one reuses the frame too
            b = self.b
            rec = b.add(self.ctx_load(abi.CTX_FUNCREFS, I64), c64(abi.REC_SIZE * funcidx))
            fn = b.load(b.inttoptr(b.add(rec, c64(8 * abi.REC_FN)), PTR), typ=PTR)
            env = b.load(b.inttoptr(b.add(rec, c64(8 * abi.REC_ENV)), PTR), typ=PTR)
            r = self._call_ptr(fn, signature(ft), [env, rem, *args], TAILCC, tail)
        # a defined function that reaches no host call cannot pause: no resume point here
        # (part 0 of Lua's interpreter: 1,637 -> 1,354 resume points, 3% less IR)
        self.finish_call(r, ft, tail, funcidx < self.mb.nimp or funcidx in self.mb.pausable)

    def call_indirect(self, typeidx: int, table: int, tail: bool = False) -> None:
        b = self.b
        ft = self.mb.decoded.types[typeidx]
        i = self.to64(self.pop())
        args = self.popn(len(ft.params))
        rec = b.load(self.table_entry(table, i), typ=I64)
        self.trap_if(b.icmp_unsigned("==", rec, c64(0)), TrapCode.UNINITIALIZED_ELEMENT)
        recp = b.inttoptr(rec, PTR)
        tid = b.load(recp, typ=I64)
        want = self.ctx_load(self.layout.type_slot(typeidx), I64)
        same = b.icmp_unsigned("==", tid, want)
        if not self.mb.subtyping:
            self.trap_unless(same, TrapCode.INDIRECT_CALL_TYPE_MISMATCH)
        else:
            # the callee's type may be a declared subtype: ask the runtime (rare)
            slow = self.fn.append_basic_block("subtype")
            done = self.fn.append_basic_block("typed")
            b.cbranch(same, done, slow)
            b.position_at_end(slow)
            sub = self.ctx_load(abi.CTX_TYPE_SUB, PTR)
            ok = self._call_ptr(sub, ir.FunctionType(I32, [I64, I64]), [tid, want])
            self.trap_if(b.icmp_unsigned("==", ok, c32(0)), TrapCode.INDIRECT_CALL_TYPE_MISMATCH)
            b.branch(done)
            b.position_at_end(done)
        self.call_record(recp, ft, args, tail)

    def call_record(self, recp, ft, args: list, tail: bool) -> None:
        """Call (or tail-call) the function of the funcref record at ``recp`` with ``args``."""
        b = self.b
        fn = b.load(b.gep(recp, [c64(abi.REC_FN)], source_etype=I64), typ=PTR)
        env = b.load(b.gep(recp, [c64(abi.REC_ENV)], source_etype=I64), typ=PTR)
        self.fuel_out(b)
        rem = self.rem if tail else self.callee_rem()
        r = self._call_ptr(fn, signature(ft), [env, rem, *args], TAILCC, tail)
        self.finish_call(r, ft, tail)

    def call_ref(self, typeidx: int, tail: bool = False) -> None:
        """``call_ref`` / ``return_call_ref``: the reference is a funcref record address."""
        b = self.b
        ft = self.mb.decoded.types[typeidx]
        ref = self.pop()
        args = self.popn(len(ft.params))
        self.trap_if(b.icmp_unsigned("==", ref, c64(0)), TrapCode.NULL_FUNCTION_REFERENCE)
        recp = b.inttoptr(ref, PTR)
        self.call_record(recp, ft, args, tail)

    # -- typed references and exceptions -----------------------------------------------------
    def br_on_null(self, depth: int, null: bool) -> None:
        """``br_on_null`` (branch without the reference when it is null) and
        ``br_on_non_null`` (branch with it when it is not)."""
        b = self.b
        ref = self.stack[-1]
        cond = b.icmp_unsigned("==" if null else "!=", ref, c64(0))
        taken = self.fn.append_basic_block()
        cont = self.fn.append_basic_block()
        b.cbranch(cond, taken, cont)
        b.position_at_end(taken)
        if null:
            self.pop()
            self.branch(depth, keep=True)
            self.push(ref)
        else:
            self.branch(depth, keep=True)
        b.position_at_end(cont)
        if not null:
            self.pop()

    def exn_slots(self, types) -> tuple:
        """An alloca of i64 slots for ``types`` (at least one) and their slot offsets."""
        offs, n = abi.slot_offsets(types)
        return self.ab.alloca(ir.ArrayType(I64, max(n, 1))), offs

    def throw(self, tag: int) -> None:
        """Hand the values to the runtime's throw callback, then unwind."""
        b = self.b
        params = self.mb.decoded.types[self.mb.tag_types[tag]].params
        vals = self.popn(len(params))
        slots, offs = self.exn_slots(params)
        for v, t, k in zip(vals, params, offs):
            store_slot(b, v, b.gep(slots, [c32(0), c32(k)]), t)
        self.fuel_out(b)
        cb = self.ctx_load(abi.CTX_THROW, PTR)
        self._call_ptr(cb, ir.FunctionType(VOID, [PTR, I32, PTR]), [self.ctx, c32(tag), slots])
        self.unwind()
        self.set_unreachable()

    def throw_ref(self) -> None:
        b = self.b
        v = self.pop()
        self.trap_if(b.icmp_unsigned("==", v, c64(0)), TrapCode.NULL_EXCEPTION_REFERENCE)
        slots, _ = self.exn_slots((ValType.EXNREF,))
        b.store(v, b.gep(slots, [c32(0), c32(0)]))
        self.fuel_out(b)
        cb = self.ctx_load(abi.CTX_THROW, PTR)
        self._call_ptr(cb, ir.FunctionType(VOID, [PTR, I32, PTR]), [self.ctx, c32(-1), slots])
        self.unwind()
        self.set_unreachable()

    def try_table(self, bt, catches) -> None:
        """A block whose calls and throws unwind to a dispatch block made here: each catch
        clause compares the exception's tag uid (``rt[RT_EXN_TAG]``) with its tag's, and on a
        match clears the status and branches to its label with the values (and the exnref);
        without a match the exception unwinds further."""
        b = self.b
        here = b.block
        known = self.known
        self.known = dict(known)  # (the dispatch code must not leave its values for here)
        dispatch = self.fn.append_basic_block("catch")
        b.position_at_end(dispatch)
        # the call that threw may have grown (or moved) a memory before it threw: the
        # handlers and what follows them use the current size and base
        self.reload_memsize()
        rt = self.rt()
        uid = b.load(b.gep(rt, [c64(abi.RT_EXN_TAG)], source_etype=I64), typ=I64)
        ended = False
        for catch in catches:
            if catch.tag is not None:
                want = self.ctx_load(self.layout.tag_slot(catch.tag), I64)
                hit = self.fn.append_basic_block("caught")
                miss = self.fn.append_basic_block("next_catch")
                b.cbranch(b.icmp_unsigned("==", uid, want), hit, miss)
                b.position_at_end(hit)
            handle = b.load(b.gep(rt, [c64(abi.RT_EXN)], source_etype=I64), typ=I64)
            b.store(c64(0), b.gep(rt, [c64(abi.RT_TRAP)], source_etype=I64))
            trace = b.load(b.gep(rt, [c64(abi.RT_TRACE)], source_etype=I64), typ=PTR)
            b.store(c64(0), trace)  # the frames recorded while unwinding
            vals = []
            if catch.tag is not None:
                params = self.mb.decoded.types[self.mb.tag_types[catch.tag]].params
                if params:
                    slots, offs = self.exn_slots(params)
                    cb = self.ctx_load(abi.CTX_CATCH, PTR)
                    self._call_ptr(cb, ir.FunctionType(VOID, [PTR, I64, PTR]),
                                   [self.ctx, handle, slots])  # fmt: skip
                    vals = [load_slot(b, b.gep(slots, [c32(0), c32(k)]), t)
                            for t, k in zip(params, offs)]  # fmt: skip
            if catch.kind == CatchKind.CATCH_REF or catch.kind == CatchKind.CATCH_ALL_REF:
                vals.append(handle)
            self.stack.extend(vals)
            self.branch(catch.label)
            if catch.tag is None:
                ended = True
                break
            b.position_at_end(miss)
        if not ended:
            self.unwind()  # to the try_table around this one, or out of the function
        b.position_at_end(here)
        self.known = known
        self.begin(O.BLOCK, bt)
        self.ctl[-1].kind = "try"
        self.handlers.append(dispatch)

    # -- memory -----------------------------------------------------------------------------
    def memory64(self, k: int) -> bool:
        """Whether memory ``k`` has i64 addresses."""
        return self.mb.memory_types[k].is_64

    def table64(self, t: int) -> bool:
        """Whether table ``t`` has i64 indices."""
        return self.mb.table_types[t].is_64

    def to64(self, v):
        """An address, index or count as an i64 (i32 ones are zero-extended)."""
        return v if v.type == I64 else self.b.zext(v, I64)

    def unchecked(self, k: int) -> bool:
        """Whether accesses to memory ``k`` rely on its guard reservation instead of a bounds
        check (guard mode, a 32-bit memory); such accesses are volatile."""
        return self.mb.guard and not self.mb.memory_types[k].is_64

    def access(self, k: int) -> dict:
        """Keyword arguments of a load or store of memory ``k``: volatile in guard mode
        (:meth:`unchecked`), else none (the reference builder of the tests has no such
        argument)."""
        return _VOLATILE if self.unchecked(k) else _PLAIN

    def rotate(self, name: str, t: ir.IntType, x, y):
        """``rotl`` (``name`` ``fshl``) or ``rotr`` (``fshr``) of ``x`` by ``y``: LLVM's funnel
        shift; for the quick pipeline two shifts and an or (the fast instruction selector has
        no funnel shift: each went to SelectionDAG), ``x << (y & m) | x >> (-y & m)`` with
        ``m`` the width minus one (both amounts in range; either may be 0)."""
        b = self.b
        if not self.mb.quick:
            return b.call(self.intr(f"llvm.{name}.{t}", t, [t, t, t]), [x, x, y])
        m = ir.Constant(t, t.width - 1)
        k = _const_int(y)
        if k is not None:
            n, back = ir.Constant(t, k & (t.width - 1)), ir.Constant(t, -k & (t.width - 1))
        else:
            n, back = b.and_(y, m), b.and_(b.sub(ir.Constant(t, 0), y), m)
        if name == "fshr":
            n, back = back, n
        return b.or_(b.shl(x, n), b.lshr(x, back))

    def store_fence(self) -> None:
        """Before a store that may fault (guard mode): a compiler-only fence, so the stores
        before it stay before it and none is deleted as overwritten later (a fault makes them
        the last ones: the trap must see them, as after an explicit check's branch). Quick
        code (level 0: no IR pass, and neither instruction selector moves or deletes a store)
        needs none, but keeps those inside loops: the fast instruction selector has no fence
        and hands the rest of the block to SelectionDAG, whose code for those blocks is
        faster (without any fence, the memloops kernel at ``--opt -1`` ran 15-20% slower:
        ``tools/bench/llvm_kernels.py``). Outside loops, where two thirds of them were, they
        cost ~0.03 CPU s of the ~0.4 s of code generation of each part of the 475 KiB module
        (``tools/bench/llvm_compile.py``)."""
        self.b.fence("release", "singlethread")

    def effective(self, offset: int, nbytes: int, k: int = 0):
        """Pop an address of memory ``k``, bounds-check ``[addr+offset, +nbytes)``, return the
        pointer (in guard mode, no check for a 32-bit memory: see :meth:`unchecked`)."""
        b = self.b
        v = self.pop()
        if not self.memory64(k):
            a = _const_int(v)
            addr = b.zext(v, I64) if a is None else c64(a & 0xFFFFFFFF)
            if not self.unchecked(k):
                # addr + offset + nbytes > size  <=>  addr > size - (offset + nbytes),
                # exactly, in signed 64-bit arithmetic (size <= 2**32, offset + nbytes <=
                # 2**32 + 8); the right side is loop-invariant, so each access costs one
                # compare. It is made once while the size it was computed from is the one
                # known (a value in ``known`` dominates the code being lowered, and so does
                # what was computed from it then).
                size = self.mem_size(k)
                key = ("limit", k, offset + nbytes)
                hit = self.known.get(key)
                if hit is not None and hit[0] is size:
                    limit = hit[1]
                else:
                    limit = b.sub(size, c64(offset + nbytes))
                    self.known[key] = (size, limit)
                self.trap_if(b.icmp_signed(">", addr, limit), TrapCode.MEMORY_OUT_OF_BOUNDS)
        else:
            addr = v
            total = offset + nbytes
            if total >= 1 << 62:  # beyond any memory (sizes stay far below 2**62)
                self.trap_if(ir.Constant(I1, 1), TrapCode.MEMORY_OUT_OF_BOUNDS)
                total = 0
            # an unsigned address: out of bounds when the limit is negative or it is above
            limit = b.sub(self.mem_size(k), c64(total))
            oob = b.or_(b.icmp_signed("<", limit, c64(0)), b.icmp_unsigned(">", addr, limit))
            self.trap_if(oob, TrapCode.MEMORY_OUT_OF_BOUNDS)
        if offset:
            a = _const_int(addr)  # (a constant address: the sum is one too)
            ea = b.add(addr, c64(offset)) if a is None else c64(a + offset)
        else:
            ea = addr
        return b.gep(self.mem_base(k), [ea], source_etype=I8)

    def range_check(self, start, n, size, code: TrapCode) -> None:
        """Trap with ``code`` unless ``[start, start+n)`` lies within ``[0, size)`` (i64
        operands; no overflow even for 64-bit ones)."""
        b = self.b
        self.trap_if(b.or_(b.icmp_unsigned(">", n, size), b.icmp_unsigned(">", start, b.sub(size, n))),
                     code)  # fmt: skip

    def mem_check(self, start, n, k: int = 0) -> None:
        self.range_check(start, n, self.mem_size(k), TrapCode.MEMORY_OUT_OF_BOUNDS)

    def mem_ptr(self, ea, k: int = 0):
        return self.b.gep(self.mem_base(k), [ea], source_etype=I8)

    def load(self, op, offset: int, k: int = 0) -> None:
        mt, n, ext, rt = _LOAD[op]
        p = self.effective(offset, n, k)
        v = self.b.load(p, typ=mt, align=1, **self.access(k))
        if ext is not None:
            v = getattr(self.b, ext)(v, rt)
        self.push(v)

    def store(self, op, offset: int, k: int = 0) -> None:
        mt, n, trunc = _STORE[op]
        v = self.pop()
        p = self.effective(offset, n, k)
        if trunc:
            v = self.b.trunc(v, mt)
        if self.unchecked(k) and (not self.mb.quick or any(c.kind == "loop" for c in self.ctl)):
            self.store_fence()
        raw = self._nan_raw.get(id(v))
        if raw is not None and raw[0] is v and raw[1] is not v:
            self.store_canonical(raw[1], p, k)
        else:
            self.b.store(v, p, align=1, **self.access(k))

    def store_canonical(self, r, p, k: int) -> None:
        """Store float arithmetic result ``r`` under the NaN rule (see :meth:`canonical_nan`):
        ``r`` itself, then, if it is a NaN, the canonical NaN's bits (an integer constant) over
        it: a never-taken branch on ``fcmp uno``, or, with ``ModuleBuilder.nan_bits`` (see
        :func:`.jit.nan_bits`), on the integer bits (``|bits| > bits(inf)``).

        Why not a store of the checked value: in a loop whose stores wait for a long
        computation (nbody: a square root and a division per pair of bodies), the check
        would delay every store and what loads it back. Which branch costs less depends on
        the CPU: on an Intel Rocket Lake (``--opt 2``) nbody ran 1.28x wasmtime's CPU time with
        ``fcmp uno`` (``ucomisd`` + ``jp``), 1.53x with the integer bits (one more instruction)
        and 1.88x storing a select of the bits; on the machine of an earlier session (an AMD
        Zen, whose FP scheduler the checks filled) the integer bits took 1.16x and ``ucomisd``
        1.44x (see ``README.md``, "The NaN rule"). Nothing runs between the two stores, so no
        load can see ``r``'s bits; in guard mode a fault can only come from the first one (the
        second writes the same bytes)."""
        b = self.b
        if r.type == F64:
            it, mag, inf, canon = I64, (1 << 63) - 1, 0x7FF0000000000000, abi.CANON_NAN_F64
        else:
            it, mag, inf, canon = I32, (1 << 31) - 1, 0x7F800000, abi.CANON_NAN_F32
        b.store(r, p, align=1, **self.access(k))
        if self.mb.nan_bits:
            # a NaN: exponent all ones and a payload, i.e. |bits| > the bits of infinity
            bits = b.and_(b.bitcast(r, it), ir.Constant(it, mag))
            nan = b.icmp_unsigned(">", bits, ir.Constant(it, inf))
        else:
            nan = b.fcmp_unordered("uno", r, r)
        fix = self.fn.append_basic_block("nan_store")
        cont = self.fn.append_basic_block()
        br = b.cbranch(nan, fix, cont)
        br.set_metadata("prof", self.mb.unlikely)
        b.position_at_end(fix)
        # (an integer constant: nothing kept in a register for it, and no NaN for LLVM to fold)
        b.store(ir.Constant(it, canon), p, align=1, **self.access(k))
        b.branch(cont)
        b.position_at_end(cont)

    # -- tables -----------------------------------------------------------------------------
    def table_changed(self, t: int, start, n) -> None:
        """After jitted code wrote entries ``[start, start+n)`` of table ``t``: let the Python
        side update the table's element list (tables are shared with the Python tier)."""
        sync = self.ctx_load(abi.CTX_TABLE_SYNC, PTR)
        fty = ir.FunctionType(VOID, [PTR, I32, I64, I64])
        self._call_ptr(sync, fty, [self.ctx, c32(t), start, n])

    def table_entry(self, t: int, i):
        """Bounds-check index ``i`` (i64) of table ``t``; the entry's address."""
        b = self.b
        desc = self.ctx_load(self.layout.table_slot(t), PTR)
        size = b.load(b.gep(desc, [c64(abi.TAB_SIZE)], source_etype=I64), typ=I64)
        self.trap_if(b.icmp_unsigned(">=", i, size), TrapCode.TABLE_OUT_OF_BOUNDS)
        entries = b.load(word(b, desc, abi.TAB_ENTRIES), typ=PTR)
        return b.gep(entries, [i], source_etype=I64)

    def table_range(self, t: int, start, n):
        """Bounds-check ``[start, start+n)`` of table ``t``; its entries pointer."""
        b = self.b
        desc = self.ctx_load(self.layout.table_slot(t), PTR)
        size = b.load(b.gep(desc, [c64(abi.TAB_SIZE)], source_etype=I64), typ=I64)
        self.range_check(start, n, size, TrapCode.TABLE_OUT_OF_BOUNDS)
        return b.load(word(b, desc, abi.TAB_ENTRIES), typ=PTR)

    def fill_loop(self, entries, start, n, v) -> None:
        b = self.b
        head = self.fn.append_basic_block("fill")
        body = self.fn.append_basic_block("fill_body")
        done = self.fn.append_basic_block("fill_done")
        pre = b.block
        b.branch(head)
        b.position_at_end(head)
        k = b.phi(I64)
        k.add_incoming(c64(0), pre)
        b.cbranch(b.icmp_unsigned("<", k, n), body, done)
        b.position_at_end(body)
        b.store(v, b.gep(entries, [b.add(start, k)], source_etype=I64))
        k.add_incoming(b.add(k, c64(1)), body)
        b.branch(head)
        b.position_at_end(done)

    # -- arithmetic that traps ----------------------------------------------------------------
    def divrem(self, op) -> None:
        b = self.b
        t, signed, rem = _IDIV[op]
        y = self.pop()
        x = self.pop()
        # a constant divisor needs no checks for the values it cannot be (fewer blocks)
        k = _const_int(y)
        if k is not None:
            k &= (1 << t.width) - 1
        if k is None or k == 0:
            zero_ = ir.Constant(t, 0)
            self.trap_if(b.icmp_unsigned("==", y, zero_), TrapCode.INTEGER_DIVIDE_BY_ZERO)
        if not signed:
            self.push(b.urem(x, y) if rem else b.udiv(x, y))
            return
        if k is not None and k != (1 << t.width) - 1:
            self.push(b.srem(x, y) if rem else b.sdiv(x, y))
            return
        minus1 = ir.Constant(t, -1)
        if rem:
            # x rem -1 is 0; LLVM's srem INT_MIN, -1 is undefined: divide by 1 instead.
            y1 = b.select(b.icmp_unsigned("==", y, minus1), ir.Constant(t, 1), y)
            self.push(b.srem(x, y1))
            return
        int_min = ir.Constant(t, 1 << (t.width - 1))
        ovf = b.and_(b.icmp_unsigned("==", x, int_min), b.icmp_unsigned("==", y, minus1))
        self.trap_if(ovf, TrapCode.INTEGER_OVERFLOW)
        self.push(b.sdiv(x, y))

    def trunc(self, it: ir.IntType, signed: bool, ft: ir.Type) -> None:
        b = self.b
        x = self.pop_nan_any()
        op, lo, hi = _trunc_bounds(it.width, signed, ft is F32)
        ok = b.and_(b.fcmp_ordered(op, x, lo), b.fcmp_ordered("<", x, hi))
        # one test on the way through; which trap it is (a NaN, else an overflow) is found
        # off it
        cont = self.fn.append_basic_block()
        bad = self.fn.append_basic_block()
        b.cbranch(ok, cont, bad).set_metadata("prof", self.mb.likely)
        b.position_at_end(bad)
        nan = b.fcmp_unordered("uno", x, x)
        b.cbranch(nan, self._to_trap(TrapCode.INVALID_CONVERSION_TO_INTEGER),
                  self._to_trap(TrapCode.INTEGER_OVERFLOW))  # fmt: skip
        b.position_at_end(cont)
        if signed:
            self.push(b.fptosi(x, it))
        elif it is I32:
            # in range, so the i64 conversion is exact: what x86-64 makes of an fptoui to i32
            # anyway, and the fast instruction selector has no fptoui (it sent the rest of the
            # block to SelectionDAG)
            self.push(b.trunc(b.fptosi(x, I64), I32))
        else:
            self.push(b.fptoui(x, it))


#: opcode -> the FunctionLowerer method that lowers it (see FunctionLowerer.op_other)
_HANDLERS: dict = {}
_HANDLERS.update(dict.fromkeys(_IBIN, FunctionLowerer._op_ibin))
_HANDLERS.update(dict.fromkeys(_ICMP, FunctionLowerer._op_icmp))
_HANDLERS[O.LOCAL_GET] = FunctionLowerer._op_local_get
_HANDLERS[O.LOCAL_SET] = FunctionLowerer._op_local_set
_HANDLERS[O.LOCAL_TEE] = FunctionLowerer._op_local_tee
_HANDLERS[O.I32_CONST] = FunctionLowerer._op_i32_const
_HANDLERS[O.I64_CONST] = FunctionLowerer._op_i64_const
_HANDLERS[O.F32_CONST] = FunctionLowerer._op_float_const
_HANDLERS[O.F64_CONST] = FunctionLowerer._op_float_const
_HANDLERS.update(dict.fromkeys(_LOAD, FunctionLowerer._op_load))
_HANDLERS.update(dict.fromkeys(_STORE, FunctionLowerer._op_store))
_HANDLERS[O.BR_IF] = FunctionLowerer._op_br_if
_HANDLERS[O.BR] = FunctionLowerer._op_br
_HANDLERS[O.BLOCK] = FunctionLowerer._op_block
_HANDLERS[O.LOOP] = FunctionLowerer._op_block
_HANDLERS[O.IF] = FunctionLowerer._op_block
_HANDLERS[O.ELSE] = FunctionLowerer._op_else
_HANDLERS[O.END] = FunctionLowerer._op_end
_HANDLERS[O.CALL] = FunctionLowerer._op_call
_HANDLERS.update(dict.fromkeys(_IDIV, FunctionLowerer._op_idiv))
_HANDLERS.update(dict.fromkeys(_ISHIFT, FunctionLowerer._op_ishift))
_HANDLERS.update(dict.fromkeys(_IROT, FunctionLowerer._op_irot))
_HANDLERS.update(dict.fromkeys(_IUN, FunctionLowerer._op_iun))
_HANDLERS[O.I32_EQZ] = FunctionLowerer._op_eqz
_HANDLERS[O.I64_EQZ] = FunctionLowerer._op_eqz
_HANDLERS.update(dict.fromkeys(_FBIN, FunctionLowerer._op_fbin))
_HANDLERS.update(dict.fromkeys(_FCMP, FunctionLowerer._op_fcmp))
_HANDLERS.update(dict.fromkeys(_FUN, FunctionLowerer._op_fun))
_HANDLERS[O.F32_NEG] = FunctionLowerer._op_fneg
_HANDLERS[O.F64_NEG] = FunctionLowerer._op_fneg
_HANDLERS.update(dict.fromkeys(_FBIN_INTR, FunctionLowerer._op_fbin_intr))
_HANDLERS.update(dict.fromkeys(_CAST, FunctionLowerer._op_cast))
# (after _CAST: demote and promote are casts that also check for NaN)
_HANDLERS[O.F32_DEMOTE_F64] = FunctionLowerer._op_demote_promote
_HANDLERS[O.F64_PROMOTE_F32] = FunctionLowerer._op_demote_promote
_HANDLERS.update(dict.fromkeys(_SEXT, FunctionLowerer._op_sext))
_HANDLERS.update(dict.fromkeys(_TRUNC, FunctionLowerer._op_trunc))
_HANDLERS.update(dict.fromkeys(_TRUNC_SAT, FunctionLowerer._op_trunc_sat))
_HANDLERS[O.DROP] = FunctionLowerer._op_drop
_HANDLERS[O.SELECT] = FunctionLowerer._op_select
_HANDLERS[O.SELECT_T] = FunctionLowerer._op_select
_HANDLERS[O.GLOBAL_GET] = FunctionLowerer._op_global_get
_HANDLERS[O.GLOBAL_SET] = FunctionLowerer._op_global_set
_HANDLERS[O.BR_TABLE] = FunctionLowerer._op_br_table
_HANDLERS[O.RETURN] = FunctionLowerer._op_return
_HANDLERS[O.UNREACHABLE] = FunctionLowerer._op_unreachable
_HANDLERS[O.NOP] = FunctionLowerer._op_nop
_HANDLERS[O.CALL_INDIRECT] = FunctionLowerer._op_call_indirect
_HANDLERS[O.MEMORY_SIZE] = FunctionLowerer._op_memory_size
_HANDLERS[O.MEMORY_GROW] = FunctionLowerer._op_memory_grow
_HANDLERS[O.MEMORY_FILL] = FunctionLowerer._op_memory_fill
_HANDLERS[O.MEMORY_COPY] = FunctionLowerer._op_memory_copy
_HANDLERS[O.MEMORY_INIT] = FunctionLowerer._op_memory_init
_HANDLERS[O.DATA_DROP] = FunctionLowerer._op_data_drop
_HANDLERS[O.ELEM_DROP] = FunctionLowerer._op_elem_drop
_HANDLERS[O.REF_NULL] = FunctionLowerer._op_ref_null
_HANDLERS[O.REF_IS_NULL] = FunctionLowerer._op_ref_is_null
_HANDLERS[O.REF_FUNC] = FunctionLowerer._op_ref_func
_HANDLERS[O.TABLE_GET] = FunctionLowerer._op_table_get
_HANDLERS[O.TABLE_SET] = FunctionLowerer._op_table_set
_HANDLERS[O.TABLE_SIZE] = FunctionLowerer._op_table_size
_HANDLERS[O.TABLE_GROW] = FunctionLowerer._op_table_grow
_HANDLERS[O.TABLE_FILL] = FunctionLowerer._op_table_fill
_HANDLERS[O.TABLE_COPY] = FunctionLowerer._op_table_copy
_HANDLERS[O.TABLE_INIT] = FunctionLowerer._op_table_init
_HANDLERS[O.RETURN_CALL] = FunctionLowerer._op_return_call
_HANDLERS[O.RETURN_CALL_INDIRECT] = FunctionLowerer._op_return_call_indirect
_HANDLERS[O.CALL_REF] = FunctionLowerer._op_call_ref
_HANDLERS[O.RETURN_CALL_REF] = FunctionLowerer._op_call_ref
_HANDLERS[O.REF_AS_NON_NULL] = FunctionLowerer._op_ref_as_non_null
_HANDLERS[O.BR_ON_NULL] = FunctionLowerer._op_br_on_null
_HANDLERS[O.BR_ON_NON_NULL] = FunctionLowerer._op_br_on_null
_HANDLERS[O.THROW] = FunctionLowerer._op_throw
_HANDLERS[O.THROW_REF] = FunctionLowerer._op_throw_ref
_HANDLERS[O.TRY_TABLE] = FunctionLowerer._op_try_table
# (int keys: the decoder's opcodes are ints, an IntEnum key costs a slower compare)
_HANDLERS = {int(k): v for k, v in _HANDLERS.items()}


class _Callee:
    """An indirect callee for ``IRBuilder.call``: a pointer value with a known function type
    (opaque pointers carry none)."""

    def __init__(self, ptr, fty: ir.FunctionType):
        self.ptr = ptr
        self.function_type = fty
        self.type = PTR

    def get_reference(self) -> str:
        return self.ptr.get_reference()

    def __getattr__(self, name):
        return getattr(self.ptr, name)


def build_module(module: Module, triple: str = "", datalayout: str = "",
                 fuel_costs=None, simd_isa: str = "",
                 part: tuple[range, bool] | None = None,
                 batch: tuple[frozenset, bool] | None = None,
                 epoch: bool = False, guard: bool = False,
                 landings: bool = False, pausable: frozenset[int] | None = None,
                 quick: bool = False, nan_bits: bool = False,
                 tail_calls: bool | None = None) -> ir.Module:  # fmt: skip
    """The LLVM IR of a whole (validated) module; with ``fuel_costs`` (a
    :class:`~wasm2py.config.FuelCosts`) every function meters fuel like the Python tier; with
    ``epoch`` every function entry and loop header checks the store's epoch deadline; with
    ``guard``, 32-bit memories are accessed without bounds checks (see :mod:`.guard`); with
    ``landings`` (implied by ``guard``), entry wrappers and trampolines take part in turning
    the faults of guard-mode code into traps (all code the host runs where guard pages exist).

    ``simd_isa`` (``"x86"``: SSSE3 or later, ``"aarch64"``, or ``""``: portable IR) lets the
    few SIMD instructions LLVM has no generic form for (``i8x16.swizzle``) use the target's own
    instruction; see :func:`.jit.simd_isa`. ``part``: build only these functions (and, if its
    flag is set, the shell); ``batch``: a compilation unit of these functions only (and, if
    its flag is set, the trampolines); see :class:`ModuleBuilder`. ``pausable``: the
    module's :func:`.facts.pausable_funcs` when the caller knows them. ``quick``: for the
    quick pipeline (``jit.QUICK``; see :class:`ModuleBuilder`). ``nan_bits``: a stored float
    result's NaN check tests its integer bits (see :func:`.jit.nan_bits`). ``tail_calls``:
    whether the module makes tail calls, when the caller knows (see
    :attr:`ModuleBuilder.bodies`; else every body is scanned).
    """
    mb = ModuleBuilder(module, triple, datalayout, fuel_costs, part, batch, epoch, guard,
                       landings, pausable, quick, tail_calls)  # fmt: skip
    mb.simd_isa = simd_isa
    mb.nan_bits = nan_bits
    with gc_paused():
        return mb.build()


def build_text(module: Module, spare: list | None = None, **options) -> str:
    """The IR text of :func:`build_module` (same ``options``), built and printed at once
    (``spare``: a list the IR goes into, for the caller to :func:`dismantle` when it likes,
    instead of being dismantled here, and every object of the process is frozen
    (``gc.freeze``): the collection that follows the build would walk the whole IR, ~0.027
    CPU s per part of the 475 KiB module of tools/bench/llvm_compile.py; for a compile worker,
    see ``jit.compile_part``)."""
    with gc_paused():
        irmod = build_module(module, **options)
        text = str(irmod)
        if spare is None:
            dismantle(irmod)
        else:
            spare.append(irmod)
            gc.freeze()
        return text


def dismantle(irmod: ir.Module) -> None:
    """Break the reference cycles of a module's IR (a block and its instructions, a function
    and its blocks, the module and its functions) so that reference counting frees it at once:
    left to the cycle collector, freeing it walks all of it (0.2-0.3 CPU s per part of the
    475 KiB module)."""
    for g in irmod.globals.values():
        blocks = getattr(g, "blocks", None)
        if blocks:
            for blk in blocks:
                blk.instructions = []
                blk.terminator = None
                phi = blk.__dict__.pop("offset", None)  # (a trap block and its phi)
                if phi is not None:
                    phi.incomings = []
            g.blocks = []
        if isinstance(g, ir.Function):
            g.args = ()  # (each argument refers to its function, and so does its return
            g.return_value = None  # value: a collection after the build walked them all)
    irmod.globals.clear()


