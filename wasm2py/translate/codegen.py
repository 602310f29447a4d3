"""Translate one validated wasm function body into a Python ``ast.FunctionDef``.

No interpreter loop and no emulated operand stack: wasm locals are Python locals ``l0, l1, ...``,
and the operand stack is tracked *symbolically* during translation. Pushing a value records an
expression; instructions combine expressions, so ``local.get 0; i32.const 1; i32.add; local.set 0``
becomes ``l0 = (l0 + 1) & 0xFFFFFFFF``. A stack entry is written to a Python local named after its
stack height (``s3``) only when it must be: before a statement that could change what it reads,
before anything with a side effect if the entry itself can trap, at control-flow merges, and when
an expression grows too deep.

Values (see :mod:`wasm2py.runtime.values`): i32/i64 are unsigned ints; an entry may be held
*unnormalised* (any int congruent modulo 2**N) inside an expression and is masked only where the
exact value matters, so ``a + b * 4 + 8`` masks once. Locals, slots and results are always
canonical. Comparisons stay Python bools (they are ints 0/1).

Each statement's ``lineno`` is the byte offset of the wasm instruction it comes from, so
tracebacks of generated code point into the wasm binary.
"""

from __future__ import annotations

import ast
import math

from ..binary.opcodes import CatchKind, Op
from ..errors import UnsupportedFeature
from ..types import FuncType, ValType
from ..validate.frames import frame_words
from .control import Construct, analyze
from .counted import CountedLoop, find_counted
from .definite import written_first
from .nodes import clone
from .peephole import fold_at_end, negation
from .ranges import operand_ranges

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
FUNCREF, EXTERNREF = ValType.FUNCREF, ValType.EXTERNREF
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
MASK = {I32: M32, I64: M64}
_BITS = {I32: 32, I64: 64}
SIGN = {I32: 0x80000000, I64: 0x8000000000000000}
#: the largest int CPython 3.11 compares in its specialised fast path (one 30-bit digit): a
#: test against a constant above it (``x < 0x80000000``) always takes the generic path, so
#: a signed comparison with a small constant first compares with this (see
#: FuncGen.signed_cmp_const)
SMALL = 0x3FFFFFFF
MAX_EXPR_DEPTH = 24
#: with fuel, the instructions before which a charge may stay pending in the cell ``fuel``
#: (see FuncGen.start_segment): they cannot raise, do not read the store's fuel, and do not
#: lead to where paths meet (a ``block`` is entered by falling in). ``call`` and ``return``
#: take it themselves (``fuel -= K`` just before), ``br_if`` on its taken way only. Every
#: other instruction takes it first (the cell is the store's fuel: it must be exact wherever
#: a trap or anything else can see it).
FUEL_EXACT_NOT_NEEDED = frozenset({
    Op.NOP, Op.BLOCK, Op.DROP, Op.SELECT, Op.SELECT_T, Op.LOCAL_GET, Op.LOCAL_SET, Op.LOCAL_TEE,
    Op.GLOBAL_GET, Op.GLOBAL_SET, Op.I32_CONST, Op.I64_CONST, Op.F32_CONST, Op.F64_CONST,
    *range(Op.I32_EQZ, Op.I64_GE_U + 1), *range(Op.I32_CLZ, Op.I32_MUL + 1),
    *range(Op.I32_AND, Op.I64_MUL + 1), *range(Op.I64_AND, Op.I64_ROTR + 1),
    Op.I32_WRAP_I64, Op.I64_EXTEND_I32_S, Op.I64_EXTEND_I32_U,
    *range(Op.I32_EXTEND8_S, Op.I64_EXTEND32_S + 1), *range(Op.F64_EQ, Op.F64_GE + 1),
    Op.F64_ADD, Op.F64_SUB, Op.F64_MUL, Op.F64_CONVERT_I32_S, Op.F64_CONVERT_I32_U,
    Op.CALL, Op.RETURN, Op.BR_IF})  # fmt: skip
#: (f64 arithmetic gives inf or NaN where it overflows or is undefined: it never raises)
#: a counted loop's stretch shorter than this runs as the plain loop (see FuncGen.short_path)
SHORT = 8

#: statements that leave a prepaid ``for``'s body other than by an exception, or that nest
#: loops or handlers in it (see FuncGen.prepaid_stretches)
_LEAVES = (ast.Break, ast.Continue, ast.Return, ast.Raise, ast.While, ast.For, ast.Try)


def _is_charge(st: ast.stmt) -> bool:
    """Whether ``st`` is a segment's charge ``fuel -= C`` (see FuncGen.flush_fuel)."""
    return (isinstance(st, ast.AugAssign) and isinstance(st.op, ast.Sub)
            and isinstance(st.target, ast.Name) and st.target.id == "fuel"
            and isinstance(st.value, ast.Constant))  # fmt: skip


def _sets_brk(st: ast.stmt) -> bool:
    """Whether ``st`` is ``brk = N`` (a branch's flag, see FuncGen.branch)."""
    return (isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)
            and st.targets[0].id == "brk")  # fmt: skip


def _ends_set_brk(stmts: list[ast.stmt]) -> bool:
    """Whether every way through ``stmts`` that reaches its end runs ``brk = K`` last (K a
    constant other than 0: a branch to a block), directly or in both arms of an ``if``."""
    while stmts:
        st = stmts[-1]
        cls = st.__class__
        if cls is ast.Assign:
            t, v = st.targets[0], st.value  # type: ignore[attr-defined]
            return (t.__class__ is ast.Name and t.id == "brk" and v.__class__ is ast.Constant
                    and v.value != 0)  # fmt: skip
        if cls is not ast.If or not st.orelse or not _ends_set_brk(st.body):  # type: ignore[attr-defined]
            return False
        stmts = st.orelse  # type: ignore[attr-defined]
    return False


def _tests_brk(st: ast.If) -> bool:
    """Whether ``if`` statement ``st`` tests ``brk`` (a guard, a block's reset, a loop's
    pending check: the statements that run while a branch is on its way)."""
    t = st.test
    cls = t.__class__
    if cls is ast.UnaryOp:
        t = t.operand  # type: ignore[attr-defined]
    elif cls is ast.Compare:
        t = t.left  # type: ignore[attr-defined]
    return t.__class__ is ast.Name and t.id == "brk"  # type: ignore[attr-defined]


# (plain ints for the loop over the instructions: reading ``Op.X`` costs ~70 ns in CPython
# 3.11, where ``EnumType`` has a ``__getattr__``)
_BLOCK, _LOOP, _IF, _ELSE, _END = int(Op.BLOCK), int(Op.LOOP), int(Op.IF), int(Op.ELSE), int(Op.END)

_LOAD = ast.Load()
_STORE = ast.Store()
_EMPTY: frozenset = frozenset()


# The node builders below fill each node's ``__dict__`` directly: the same node as
# ``ast.Name(n, ctx)`` and so on, at three quarters of the cost (the constructor matches its
# arguments with ``_fields`` and sets each through ``setattr``). A translated function builds
# a node per one or two bytes of wasm, most of them through these.
_NEW = ast.AST.__new__
_Name, _Constant, _Call, _BinOp, _Compare, _Subscript = (
    ast.Name, ast.Constant, ast.Call, ast.BinOp, ast.Compare, ast.Subscript)


def _name(n: str) -> ast.Name:
    node = _NEW(_Name)
    d = node.__dict__
    d["id"] = n
    d["ctx"] = _LOAD
    return node


def _sname(n: str) -> ast.Name:
    node = _NEW(_Name)
    d = node.__dict__
    d["id"] = n
    d["ctx"] = _STORE
    return node


def _const(v) -> ast.Constant:
    node = _NEW(_Constant)
    node.__dict__["value"] = v
    return node


def _call(fn: str, *args: ast.expr) -> ast.Call:
    node = _NEW(_Call)
    d = node.__dict__
    d["func"] = _name(fn)
    d["args"] = list(args)
    d["keywords"] = []
    return node


def _bin(a: ast.expr, op: ast.operator, b: ast.expr) -> ast.BinOp:
    node = _NEW(_BinOp)
    d = node.__dict__
    d["left"] = a
    d["op"] = op
    d["right"] = b
    return node


def _cmp(a: ast.expr, op: ast.cmpop, b: ast.expr) -> ast.Compare:
    node = _NEW(_Compare)
    d = node.__dict__
    d["left"] = a
    d["ops"] = [op]
    d["comparators"] = [b]
    return node


def _sub0(e: ast.expr) -> ast.Subscript:
    node = _NEW(_Subscript)
    d = node.__dict__
    d["value"] = e
    d["slice"] = _const(0)
    d["ctx"] = _LOAD
    return node


#: unsigned loads through ``struct`` (``LU16(M, a)[0]``) and the width of their results
_LOAD_BITS = {"LU8": 8, "LU16": 16, "LU32": 32, "LU64": 64}


def _bits(e: ast.expr, narrow: dict | None = None) -> int | None:
    """A width ``b`` such that ``0 <= e < 2**b`` is certain from the form of ``e`` alone
    (unsigned loads, a byte of a memory view, ``x & c``, shifts right, compares, choices, the
    names in ``narrow``: integer locals, by their width), or None. Lets a store or a sign extension leave out a
    mask its value already fits."""
    cls = e.__class__
    if cls is ast.Name:
        return narrow.get(e.id) if narrow else None
    if cls is ast.Constant:
        v = e.value
        return v.bit_length() if v.__class__ is int and v >= 0 else None
    if cls is ast.Compare:
        return 1
    if cls is ast.Subscript:
        base = e.value
        if base.__class__ is ast.Name:  # M[a], M1[a]: a byte of a memory's byte view
            n = base.id
            if n[0] != "M":
                return None
            head, u, width = n[1:].partition("u")  # Mu64[i], M1u64[i]: an unsigned typed view
            if u:
                return int(width) if width.isdigit() and (not head or head.isdigit()) else None
            return 8 if len(n) == 1 or n[1:].isdigit() else None
        if base.__class__ is ast.Call and base.func.__class__ is ast.Name:  # LU16(M, a)[0]
            return _LOAD_BITS.get(base.func.id)
        return None
    if cls is ast.BinOp:
        op = e.op.__class__
        left = _bits(e.left, narrow)
        if op is ast.RShift:
            k = e.right
            if left is not None and k.__class__ is ast.Constant and k.value.__class__ is int:
                return max(left - k.value, 0)
            return left
        right = _bits(e.right, narrow)
        if op is ast.Add and left is not None and right is not None:
            return max(left, right) + 1
        if op is ast.LShift or op is ast.Mult:  # by a constant
            c = e.right.value if e.right.__class__ is ast.Constant else None
            if left is None or c.__class__ is not int or c < 0:
                return None
            return left + (c if op is ast.LShift else c.bit_length())
        if op is ast.BitAnd:  # x & c with c >= 0 is in [0, c] whatever x is
            known = [b for b in (left, right) if b is not None]
            return min(known) if known else None
        if op in (ast.BitOr, ast.BitXor) and left is not None and right is not None:
            return max(left, right)
        return None
    if cls is ast.IfExp:
        a, b = _bits(e.body, narrow), _bits(e.orelse, narrow)
        return max(a, b) if a is not None and b is not None else None
    return None


def _wrap_test(e: ast.expr, narrow: dict, n: int) -> str | None:
    """How a non-canonical ``n``-bit ``e`` is wrapped more cheaply than by ``& MASK``, which
    takes the big-int path of CPython 3.11 (~18 ns against ~4 for a compare): ``"sum"`` when
    ``e >= 0`` (:func:`_small_sum`; test ``e > MASK``), ``"low"`` for the difference of two
    values in ``[0, 2**n)`` (``-2**n < e < 2**n``; test ``e < 0``, add ``2**n``),
    ``"both"`` for another difference of non-negative terms (test ``0 <= e <= MASK``), None:
    the mask. ``x + c`` of a name keeps the mask: that is an i64 counter wrapped to i32 (an
    i32 local's ``x + c`` wraps by a choice), whose ``x + c & MASK`` counted loops turn into
    a plain sum where it cannot wrap (``_PlainSums``)."""
    if e.__class__ is not ast.BinOp:
        return None
    op = e.op.__class__
    if op is ast.Sub:
        if not (_small_sum(e.left) and _small_sum(e.right)):
            return None
        a, b = _bits(e.left, narrow), _bits(e.right, narrow)
        return "low" if a is not None and b is not None and a <= n and b <= n else "both"
    if op is ast.Add and e.left.__class__ is ast.Name and e.right.__class__ is ast.Constant:
        return None
    if n == 64:  # i64 values are often "negative" (near 2**64): only sums of narrower terms
        a, b = _bits(e.left, narrow), _bits(e.right, narrow)
        return "sum" if a is not None and b is not None and a < 64 and b < 64 else None
    return "sum" if _small_sum(e) else None


def _small_sum(e: ast.expr) -> bool:
    """Whether ``e`` is certainly ``>= 0`` and most likely below ``2**32``, from its form: a
    sum of canonical locals and slots, constants, unsigned loads, ``x & y``, ``x >> c``, and
    ``x * c``/``x << c`` with a small ``c`` (addresses: ``base + i * 40``). A hash (``h * 31``,
    ``h << 5``) grows past the mask: a large multiplier or shift is not taken."""
    cls = e.__class__
    if cls is ast.Name:
        n = e.id
        return n[0] in "ls" and n[1:].isdigit()
    if cls is ast.Constant or cls is ast.Subscript:
        return _bits(e) is not None
    if cls is ast.BinOp:
        op = e.op.__class__
        if op is ast.Add or op is ast.BitOr:
            return _small_sum(e.left) and _small_sum(e.right)
        if op is ast.BitAnd:
            return _small_sum(e.left) or _small_sum(e.right)
        if op is ast.RShift:
            return _small_sum(e.left)
        if op is ast.Mult or op is ast.LShift:
            c, x = e.right, e.left
            if op is ast.Mult and c.__class__ is not ast.Constant:
                c, x = x, c
            limit = 4096 if op is ast.Mult else 8
            return (c.__class__ is ast.Constant and c.value.__class__ is int
                    and 0 <= c.value <= limit and _small_sum(x))  # fmt: skip
    return False


def _canonical_nan(e: ast.expr) -> ast.expr:
    """``e``, or NAN if it is a NaN: ``(nan_t if (nan_t := e) == nan_t else NAN)``."""
    t = ast.NamedExpr(ast.Name("nan_t", _STORE), e)
    return ast.IfExp(_cmp(t, ast.Eq(), _name("nan_t")), _name("nan_t"), _name("NAN"))


def _nan_any(v: V) -> ast.expr:
    """The expression of ``v`` for a consumer that treats every NaN alike (arithmetic,
    comparisons, float->int conversions): without the NaN check of an f64 arithmetic result."""
    return v.e if v.raw is None else v.raw


class V:
    """A symbolic operand-stack entry."""

    __slots__ = ("e", "t", "reads", "impure", "state", "norm", "depth", "const", "raw", "wrap")

    def __init__(self, e, t, reads=_EMPTY, impure=False, state=False, norm=True, depth=0,
                 const=None):  # fmt: skip
        self.e = e  # the Python expression
        self.t = t  # its ValType
        self.reads = reads  # Python locals / state keys it reads
        self.impure = impure  # may trap or has effects: evaluate in order, exactly once
        self.state = state  # reads globals/memory/tables (invalidated by calls and stores)
        self.norm = norm  # canonical (ints in [0, 2**N))
        self.depth = depth
        self.const = const  # the Python value when a constant
        #: for f64 arithmetic: the expression without the NaN check that ``e`` wraps it in
        #: (see ``op_f64_arith``); consumers for which any NaN will do may use it
        self.raw = None
        #: for ``x + c``/``x - c`` (``x`` a canonical local or slot): ``(x, "+" or "-", c)``;
        #: :meth:`FuncGen.canon` wraps it with a comparison instead of a mask (see there); for
        #: ``x + y``/``x - y`` of canonical locals, slots or constants ``("", "+" or "-", None)``:
        #: an assignment of it wraps with a statement (:meth:`FuncGen.assign_value`)
        self.wrap: tuple[str, str, int | None] | None = None


def _in_slot(v: V, n: str) -> bool:
    """``v`` is the canonical value of slot ``n`` (nothing to write there). An unnormalised
    ``n`` is not: ``i32.wrap_i64`` of an i64 in its slot (a call's result) leaves the slot's
    expression unmasked, and a label or a spill must still mask it."""
    return v.norm and v.e.__class__ is ast.Name and v.e.id == n


#: one character per value type in :meth:`FuncGen.operands_here` (a reference: ``r`` funcref,
#: ``x`` any other)
_TYPE_CODES = {ValType.I32: "i", ValType.I64: "I", ValType.F32: "f", ValType.F64: "F",
               ValType.V128: "v"}  # fmt: skip


def type_codes(types) -> str:
    """Value types as a string of :data:`_TYPE_CODES` characters."""
    return "".join(_TYPE_CODES.get(t) or ("r" if t.storage is ValType.FUNCREF else "x")
                   for t in types)  # fmt: skip


class Frame:
    """A control frame during translation."""

    __slots__ = ("c", "kind", "height", "params", "results", "entry_out", "below",
                 "unreachable", "reached", "ifnode", "then_live", "counted",
                 "taken_charge")  # fmt: skip

    def __init__(self, c: Construct, kind, height, params, results, entry_out, below):
        self.c = c
        self.kind = kind
        self.height = height  # operand height below the params
        self.params = params
        self.results = results
        self.entry_out = entry_out  # statement list the construct starts in
        self.below = below  # the stack entries below the params at entry (all stable)
        self.unreachable = False
        self.reached = False  # some branch goes to this construct's end
        self.ifnode: ast.If | None = None
        self.then_live = False
        #: a counted loop (see :mod:`.counted`): (its description, the ``while``, the ``for``)
        self.counted: tuple[CountedLoop, ast.While, ast.For] | None = None
        #: with fuel, a block reached by a ``br_if`` whose taken way only lowers the cell
        #: (``fuel -= K``): (that statement, its list, ``K``), see :meth:`FuncGen.op_end`
        self.taken_charge: tuple[ast.stmt, list, ast.Constant] | None = None


_BINOPS = {"+": ast.Add(), "-": ast.Sub(), "*": ast.Mult(), "&": ast.BitAnd(), "|": ast.BitOr(),
           "^": ast.BitXor(), "<<": ast.LShift(), ">>": ast.RShift(), "//": ast.FloorDiv(),
           "%": ast.Mod()}  # fmt: skip
_CMPOPS = {"==": ast.Eq(), "!=": ast.NotEq(), "<": ast.Lt(), ">": ast.Gt(), "<=": ast.LtE(),
           ">=": ast.GtE()}  # fmt: skip

# Integer comparisons: op -> (type, python operator, signed)
_INT_CMP = {}
for _t, _base in ((I32, Op.I32_EQ), (I64, Op.I64_EQ)):
    for _k, (_py, _signed) in enumerate([("==", False), ("!=", False), ("<", True), ("<", False),
                                          (">", True), (">", False), ("<=", True), ("<=", False),
                                          (">=", True), (">=", False)]):  # fmt: skip
        _INT_CMP[_base + _k] = (_t, _py, _signed)
_FLOAT_CMP = {}
for _t, _base in ((F32, Op.F32_EQ), (F64, Op.F64_EQ)):
    for _k, _py in enumerate(["==", "!=", "<", ">", "<=", ">="]):
        _FLOAT_CMP[_base + _k] = (_t, _py)

# Integer arithmetic that tolerates unnormalised operands: op -> (type, python operator)
_INT_WRAP = {Op.I32_ADD: (I32, "+"), Op.I32_SUB: (I32, "-"), Op.I32_MUL: (I32, "*"),
             Op.I64_ADD: (I64, "+"), Op.I64_SUB: (I64, "-"), Op.I64_MUL: (I64, "*")}  # fmt: skip
_INT_BITS = {Op.I32_AND: (I32, "&"), Op.I32_OR: (I32, "|"), Op.I32_XOR: (I32, "^"),
             Op.I64_AND: (I64, "&"), Op.I64_OR: (I64, "|"), Op.I64_XOR: (I64, "^")}  # fmt: skip

# Operations done by a helper call: op -> (helper, arg types, result type, impure)
_HELPERS = {
    Op.I32_DIV_S: ("i32_div_s", (I32, I32), I32, True),
    Op.I32_REM_S: ("i32_rem_s", (I32, I32), I32, True),
    Op.I64_DIV_S: ("i64_div_s", (I64, I64), I64, True),
    Op.I64_REM_S: ("i64_rem_s", (I64, I64), I64, True),
    Op.I32_CTZ: ("i32_ctz", (I32,), I32, False),
    Op.I64_CTZ: ("i64_ctz", (I64,), I64, False),
    Op.I32_ROTL: ("i32_rotl", (I32, I32), I32, False),
    Op.I32_ROTR: ("i32_rotr", (I32, I32), I32, False),
    Op.I64_ROTL: ("i64_rotl", (I64, I64), I64, False),
    Op.I64_ROTR: ("i64_rotr", (I64, I64), I64, False),
    Op.F32_SQRT: ("f32_sqrt", (F32,), F32, False),
    Op.F64_SQRT: ("fsqrt", (F64,), F64, False),
    Op.F32_CEIL: ("fceil", (F32,), F32, False),
    Op.F32_FLOOR: ("ffloor", (F32,), F32, False),
    Op.F32_TRUNC: ("ftrunc", (F32,), F32, False),
    Op.F32_NEAREST: ("fnearest", (F32,), F32, False),
    Op.F64_CEIL: ("fceil", (F64,), F64, False),
    Op.F64_FLOOR: ("ffloor", (F64,), F64, False),
    Op.F64_TRUNC: ("ftrunc", (F64,), F64, False),
    Op.F64_NEAREST: ("fnearest", (F64,), F64, False),
    Op.F32_MIN: ("fmin", (F32, F32), F32, False),
    Op.F32_MAX: ("fmax", (F32, F32), F32, False),
    Op.F64_MIN: ("fmin", (F64, F64), F64, False),
    Op.F64_MAX: ("fmax", (F64, F64), F64, False),
    Op.F32_DIV: ("f32_div", (F32, F32), F32, False),
    Op.F64_DIV: ("fdiv", (F64, F64), F64, False),
    Op.F32_COPYSIGN: ("fcopysign", (F32, F32), F32, False),
    Op.F64_COPYSIGN: ("fcopysign", (F64, F64), F64, False),
    Op.F32_ABS: ("fabs", (F32,), F32, False),
    Op.F64_ABS: ("fabs", (F64,), F64, False),
    Op.F32_NEG: ("fneg", (F32,), F32, False),
    Op.F64_NEG: ("fneg", (F64,), F64, False),
    Op.I32_TRUNC_F32_S: ("trunc_s32", (F32,), I32, True),
    Op.I32_TRUNC_F32_U: ("trunc_u32", (F32,), I32, True),
    Op.I32_TRUNC_F64_S: ("trunc_s32", (F64,), I32, True),
    Op.I32_TRUNC_F64_U: ("trunc_u32", (F64,), I32, True),
    Op.I64_TRUNC_F32_S: ("trunc_s64", (F32,), I64, True),
    Op.I64_TRUNC_F32_U: ("trunc_u64", (F32,), I64, True),
    Op.I64_TRUNC_F64_S: ("trunc_s64", (F64,), I64, True),
    Op.I64_TRUNC_F64_U: ("trunc_u64", (F64,), I64, True),
    Op.I32_TRUNC_SAT_F32_S: ("trunc_sat_s32", (F32,), I32, False),
    Op.I32_TRUNC_SAT_F32_U: ("trunc_sat_u32", (F32,), I32, False),
    Op.I32_TRUNC_SAT_F64_S: ("trunc_sat_s32", (F64,), I32, False),
    Op.I32_TRUNC_SAT_F64_U: ("trunc_sat_u32", (F64,), I32, False),
    Op.I64_TRUNC_SAT_F32_S: ("trunc_sat_s64", (F32,), I64, False),
    Op.I64_TRUNC_SAT_F32_U: ("trunc_sat_u64", (F32,), I64, False),
    Op.I64_TRUNC_SAT_F64_S: ("trunc_sat_s64", (F64,), I64, False),
    Op.I64_TRUNC_SAT_F64_U: ("trunc_sat_u64", (F64,), I64, False),
    Op.F32_CONVERT_I32_S: ("f32_convert_s32", (I32,), F32, False),
    Op.F32_CONVERT_I32_U: ("f32_convert_u32", (I32,), F32, False),
    Op.F32_CONVERT_I64_S: ("f32_convert_s64", (I64,), F32, False),
    Op.F32_CONVERT_I64_U: ("f32_convert_u64", (I64,), F32, False),
    Op.F64_CONVERT_I32_S: ("f64_convert_s32", (I32,), F64, False),
    Op.F64_CONVERT_I64_S: ("f64_convert_s64", (I64,), F64, False),
    Op.F64_CONVERT_I64_U: ("f64_convert_u64", (I64,), F64, False),
    Op.F32_DEMOTE_F64: ("f32_demote", (F64,), F32, False),
    Op.F64_PROMOTE_F32: ("f64_promote", (F32,), F64, False),
    Op.I32_REINTERPRET_F32: ("f32_to_bits", (F32,), I32, False),
    Op.I64_REINTERPRET_F64: ("f64_to_bits", (F64,), I64, False),
    Op.F32_REINTERPRET_I32: ("f32_from_bits", (I32,), F32, False),
    Op.F64_REINTERPRET_I64: ("f64_from_bits", (I64,), F64, False),
}

#: rotations: op -> (type, to the left?); by a constant they are inlined (``rotate_by_const``)
_ROTATES = {Op.I32_ROTL: (I32, True), Op.I32_ROTR: (I32, False), Op.I64_ROTL: (I64, True),
            Op.I64_ROTR: (I64, False)}  # fmt: skip

#: helpers whose result is the same for every NaN operand (they compute; NaN results are NAN)
_NAN_ANY_HELPERS = frozenset({"fsqrt", "f32_sqrt", "fceil", "ffloor", "ftrunc", "fnearest", "fmin",
                              "fmax", "fdiv", "f32_div", "trunc_s32", "trunc_u32", "trunc_s64",
                              "trunc_u64", "trunc_sat_s32", "trunc_sat_u32", "trunc_sat_s64",
                              "trunc_sat_u64", "f32_demote", "f64_promote"})  # fmt: skip

# Loads: op -> (struct accessor, result type, result canonical?)
_LOADS = {
    Op.I32_LOAD: ("LU32", I32, True), Op.I64_LOAD: ("LU64", I64, True),
    Op.F64_LOAD: ("LF64", F64, True),
    Op.I32_LOAD8_S: ("LS8", I32, False), Op.I32_LOAD8_U: ("LU8", I32, True),
    Op.I32_LOAD16_S: ("LS16", I32, False), Op.I32_LOAD16_U: ("LU16", I32, True),
    Op.I64_LOAD8_S: ("LS8", I64, False), Op.I64_LOAD8_U: ("LU8", I64, True),
    Op.I64_LOAD16_S: ("LS16", I64, False), Op.I64_LOAD16_U: ("LU16", I64, True),
    Op.I64_LOAD32_S: ("LS32", I64, False), Op.I64_LOAD32_U: ("LU32", I64, True),
}  # fmt: skip
# Stores: op -> (struct packer, value type, mask applied to the value or None)
#: loads with a typed view of the memory (see wasm2py.runtime.memory.typed_views): the view's
#: name suffix and log2 of the access size
_TYPED_LOADS = {"LU64": ("u64", 3), "LF64": ("f64", 3)}
_STORES = {
    Op.I32_STORE: ("PU32", I32, None), Op.I64_STORE: ("PU64", I64, None),
    Op.F64_STORE: ("PF64", F64, None),
    Op.I32_STORE8: ("PU8", I32, 0xFF), Op.I32_STORE16: ("PU16", I32, 0xFFFF),
    Op.I64_STORE8: ("PU8", I64, 0xFF), Op.I64_STORE16: ("PU16", I64, 0xFFFF),
    Op.I64_STORE32: ("PU32", I64, M32),
}  # fmt: skip


class FuncGen:
    """Translates one function. Use :func:`translate_function`."""

    def __init__(self, mod, index: int, ftype: FuncType, local_types, body, name: str,
                 info=None):  # fmt: skip
        self.mod = mod  # ModuleGen: types, function types, globals, constants
        self.index = index
        self.ftype = ftype
        self.local_types = list(ftype.params) + list(local_types)
        #: the integer locals' names and widths (values in [0, 2**width): see _bits)
        self.int_bits = {f"l{i}": _BITS[t] for i, t in enumerate(self.local_types) if t in _BITS}
        self.body = body
        #: what this function's frame adds to the call depth of its callees
        self.frame_words = frame_words(mod.module, ftype, local_types, body, mod.func_types)
        self.name = name
        self.info = info if info is not None else analyze(body)
        self.pos = 0  # the position of the instruction being translated
        self.stack: list[V] = []
        self.ctrl: list[Frame] = []
        self.out: list[ast.stmt] = []
        self.branchy = False  # ``brk`` may be set: guard what follows
        self.lineno = body[0].offset if body else 1
        #: instruction counting: each straight-line segment adds its length to ``IC[0]``
        self.cur_op = -1  # opcode being translated (statements record it for AOT comments)
        self.counting = getattr(mod, "count_instructions", False)
        #: fuel metering: each segment first checks its cost against ``fuel`` (the store's
        #: fuel cell, a free variable: see wasm2py.runtime.fuelcell), which is lowered where
        #: that is needed (see start_segment)
        self.fuel = getattr(mod, "fuel_costs", None)
        #: tier="auto": every call and loop iteration calls ``HOT<index>()``, the function's
        #: own counter (a C-level iterator's ``__next__``, ~12 ns; see wasm2py.tierup) that
        #: queues the function for the LLVM tier once it is hot
        self.hot = getattr(mod, "hot", False)
        #: epoch interruption: loops run ``while RUN`` (function entries are covered by the
        #: depth check, see wasm2py.runtime.epoch)
        self.epoch = getattr(mod, "epoch", False)
        self.seg: tuple[list[ast.Constant], ast.stmt, list] | None = None
        self.seg_n = 0
        self.seg_pos = 0
        #: with fuel: what the segment checks have charged but the cell ``fuel`` does not
        #: show yet (see :meth:`start_segment`): None when the cell is exact, else the
        #: constant (filled in when the segment closes) to take from it
        self.fuel_pend: ast.Constant | None = None
        #: with fuel: the charge carried into the running segment from the one before it
        self.seg_carry = 0
        #: the constants that take the running segment's carry plus cost
        self.seg_totals: list[ast.Constant] = []
        #: the statements that lower the cell by it, in their lists (dropped if it is 0)
        self.seg_flushes: list[tuple[ast.stmt, list]] = []
        #: the function makes tail calls: it is a tail variant (see wasm2py.runtime.tailcall)
        self.tail_calls = False
        #: with fuel: {position: cost} of the segments emitted (see wasm2py.fuel.segment_costs)
        self.fuel_segments: dict[int, int] = {}
        #: positions of counted loops' latches: the ``for`` does what they do
        self.skip: set[int] = set()
        #: the counted loops translated: (description, ``while``, ``for``)
        self.counted_loops: list[tuple[CountedLoop, ast.While, ast.For]] = []
        #: ``brk = K`` statements emitted, by K (see :meth:`fold_end`)
        self.brk_sets: dict[int, int] = {}
        #: the quick translation (see :meth:`drop_unread`): statements emitted so far that
        #: read ``brk`` (guards, tested resets, loops' pending checks), and per block id the
        #: count when its first ``brk = K`` was emitted, then each one with its list
        self.brk_reads = 0
        self.brk_at: dict[int, list] = {}
        #: block ids whose ``brk = K`` a ``br_table`` sets (kept, never folded: its arms share
        #: statement lists, or it reads the values from a tuple)
        self.brk_kept: set[int] = set()
        #: the ``if`` of the ``br_if`` being translated (its body gets the branch)
        self.site_if: ast.If | None = None
        #: the quick translation: the last ``if brk == K: brk = 0`` emitted (see open_guard)
        self.last_reset: ast.If | None = None
        #: fold a block's one ``brk`` branch and its guard where the block ends (the quick
        #: translation's share of :func:`.peephole.fold_skips`, see :meth:`fold_end`)
        self.fold_ends = getattr(mod, "quick", False) and not self.counting and self.fuel is None
        #: counted loops (see :mod:`.counted`) only where no check of its own sits at every
        #: iteration (fuel's are the segments' checks, which stay in the ``for``'s body), and
        #: not where one more Python block per loop could pass Python's limit of 20
        self.count_loops = (not self.counting and not self.epoch
                            and self.info.max_loop_depth <= 9)  # fmt: skip
        #: {position: operand intervals} of the add/sub/mul and signed comparisons whose
        #: operands the guards before them bound (see :mod:`.ranges`): where the form emitted
        #: cannot wrap, it is left plain (not in the quick translation)
        self.ranges = {} if getattr(mod, "quick", False) else operand_ranges(
            mod.module, mod.func_types, ftype.params, local_types, body, self.info)

    # -- emission ----------------------------------------------------------------------------
    def emit(self, stmt: ast.stmt) -> None:
        if self.branchy:
            self.open_guard()
        stmt.lineno = self.lineno
        stmt.wasm_op = self.cur_op  # type: ignore[attr-defined]  # for comments in AOT source
        self.out.append(stmt)

    def pass_stmt(self) -> ast.Pass:
        """A ``pass`` (located: the resume rewrite reads the line of a list's first statement)."""
        st = ast.Pass()
        st.lineno = self.lineno
        return st

    def open_guard(self) -> None:
        """``brk`` may be set here: what follows runs only if it is not. In the quick
        translation (see :meth:`fold_end`), right after ``if C: ...; brk = K`` (or an ``if``
        whose arms all end so) that is its ``else``: ``brk`` is 0 before any statement but a
        block's reset or a loop's pending check runs, so it is set after the ``if`` exactly
        when its body ran to its end (a ``break``, ``continue`` or ``return`` in it does not
        come here); the ``if not brk:`` test would cost 3 nodes to translate and a test to
        run."""
        self.branchy = False
        last = self.out[-1] if self.fold_ends and self.out else None
        if last.__class__ is ast.If and not last.orelse:  # type: ignore[union-attr]
            if last is self.last_reset:
                # ``if brk == K: brk = 0`` and the guard after it: ``if brk in (0, K):
                # brk = 0; ...``, 3 nodes and a test less
                last.test = _cmp(_name("brk"), ast.In(),  # type: ignore[union-attr]
                                 _const((0, last.test.comparators[0].value)))  # type: ignore[union-attr]  # fmt: skip
                self.out = last.body  # type: ignore[union-attr]
                # (once: a later guard after this statement is a guard of its own)
                self.last_reset = None
                return
            if _ends_set_brk(last.body) and not _tests_brk(last):  # type: ignore[union-attr, arg-type]
                self.out = last.orelse  # type: ignore[union-attr]
                return
        self.brk_reads += 1
        guard = ast.If(ast.UnaryOp(ast.Not(), _name("brk")), [], [])
        guard.lineno = self.lineno
        self.out.append(guard)
        self.out = guard.body

    def assign(self, target: str, e: ast.expr) -> None:
        self.emit(ast.Assign([_sname(target)], e))

    def start_segment(self, pos: int, carry: bool = False) -> None:
        """Start a straight-line segment before ``body[pos]``. With counting on, it adds its
        length to ``IC[0]``; with fuel on, it checks ``fuel`` covers its cost (else
        ``out_of_fuel``, a suspension point). The cost constants are filled in when the
        segment closes (the rule is stated on its own in :mod:`wasm2py.fuel`).

        The check charges the segment, but the cell ``fuel`` is only lowered where its
        value is needed (:meth:`flush_fuel`: before an instruction that may raise or read the
        store's fuel, a call, a return, or a branch to where paths meet): a segment of plain
        arithmetic costs one subtraction, however many instructions it has. ``carry``: the segment is reached only by falling out of
        the one before (after a ``br_if``), which may leave its charge pending; the check
        then covers both (``fuel < P + cost``, and ``out_of_fuel`` gets the exact local
        ``fuel - P``), so it stops at the same place with the same fuel as one check per
        segment, each taken at once."""
        if not self.counting and self.fuel is None:
            return
        self.close_segment()
        self.seg_pos = pos
        if self.counting:
            n = _const(0)
            stmt = ast.AugAssign(ast.Subscript(_name("IC"), _const(0), _STORE), ast.Add(), n)
            self.emit(stmt)
            self.seg = ([n], stmt, self.out)
        else:
            # ``fuel`` is the store's cell itself (a free variable, see runtime.fuelcell): a
            # call passes nothing and nothing is written back. Every path into a segment has
            # lowered it first (a path that ended without, at a return or a trap, is dead here).
            prior = self.fuel_pend.value if carry and self.fuel_pend is not None else 0
            self.seg_carry = prior
            n1, n2 = _const(0), _const(0)
            exact = _bin(_name("fuel"), ast.Sub(), _const(prior)) if prior else _name("fuel")
            # (out_of_fuel gives the fuel the cell has once filled from the bank, or stops)
            refill: ast.expr = _call("out_of_fuel", _name("F"), exact, n2)
            if prior:
                refill = _bin(refill, ast.Add(), _const(prior))
            check = ast.If(_cmp(_name("fuel"), ast.Lt(), n1),
                           [ast.Assign([_sname("fuel")], refill)], [])  # fmt: skip
            self.emit(check)
            check.operands = self.operands_here()  # type: ignore[attr-defined]
            #: a resumed frame re-runs the check with the exact fuel: the resume entry adds
            #: the charge carried in (see .resume)
            check.fuel_carry = prior  # type: ignore[attr-defined]
            self.fuel_pend = _const(prior)
            self.seg = ([n2], check, self.out)
            self.seg_totals = [n1, self.fuel_pend]
            self.seg_flushes = []
        self.seg_n = 0

    def close_segment(self) -> None:
        if self.seg is None:
            return
        consts, stmt, where = self.seg
        self.seg = None
        if self.seg_n and self.fuel is not None:
            self.fuel_segments[self.seg_pos] = self.seg_n
        if self.fuel is not None:
            for c in self.seg_totals:
                c.value = self.seg_carry + self.seg_n
            if not self.seg_carry + self.seg_n:  # nothing to take: no ``fuel -= 0``
                for st, where in self.seg_flushes:
                    if len(where) > 1:
                        where.remove(st)
                    else:
                        where[0] = self.pass_stmt()
        if self.seg_n:
            for c in consts:
                c.value = self.seg_n
        else:
            for k, st in enumerate(where):
                if st is stmt:
                    del where[k]
                    if not where:
                        where.append(self.pass_stmt())
                    break

    def flush_fuel(self, keep: bool = False) -> None:
        """With fuel: lower the cell ``fuel`` by what the segment checks charged and it does
        not show yet (``fuel -= K``). ``keep``: on one way out only (a taken branch), the
        code that follows still owes it."""
        pend = self.fuel_pend
        if pend is None:
            return
        k = _const(0)
        if self.seg is not None:
            self.seg_totals.append(k)
        else:
            k.value = pend.value
        self.emit(ast.AugAssign(_sname("fuel"), ast.Sub(), k))
        self.seg_flushes.append((self.out[-1], self.out))
        if not keep:
            self.fuel_pend = None

    def charge_bulk(self) -> None:
        """Fuel for a bulk instruction: its count operand (top of stack) in units of 64."""
        if self.fuel is None or not self.fuel.bulk_per_64:
            return
        self.materialize(len(self.stack) - 1, True)
        n = self.stack[-1].e
        self.before_stmt(effects=True)
        per = self.fuel.bulk_per_64
        amount = _bin(n, ast.RShift(), _const(6))
        if per != 1:
            amount = _bin(amount, ast.Mult(), _const(per))
        self.sync_fuel_out()
        self.emit(ast.Expr(_call("charge_fuel", _name("F"), amount)))
        self.out[-1].operands = self.operands_here()  # type: ignore[attr-defined]

    def sync_fuel_out(self) -> None:
        """Before code that reads or charges the store's fuel, or leaves the function (a call,
        a return, a throw, a bulk charge): take the charge still pending (``fuel -= K``), so
        that the cell is exact there."""
        if self.fuel is not None:
            self.flush_fuel()

    # -- stack discipline -------------------------------------------------------------------
    def push(self, v: V) -> None:
        self.stack.append(v)
        if v.depth > MAX_EXPR_DEPTH:
            self.materialize(len(self.stack) - 1)

    def pop(self) -> V:
        return self.stack.pop()

    def canon(self, v: V) -> ast.expr:
        if v.norm:
            return v.e
        if v.wrap is not None and v.wrap[2] is not None:
            return self.wrap_const(v)
        if v.t in _BITS and (b := _bits(v.e, self.int_bits)) is not None and b <= _BITS[v.t]:
            return v.e  # canonical already (``((x & 127) << 2) + 11232``)
        kind = _wrap_test(v.e, self.int_bits, _BITS[v.t]) if v.t in _BITS else None
        m = MASK.get(v.t)
        if kind is None and m is not None and (ext := self.sign_extended(v.e)) is not None:
            # a sign extension ``(x ^ 128) - 128`` of an 8-bit x: ``x if x < 128 else x |
            # 0xffffff00``, twice as fast as the signed value masked
            x, c = ext
            first, use = (x, x) if isinstance(x, ast.Name) else \
                (ast.NamedExpr(_sname("ma"), x), _name("ma"))  # fmt: skip
            return ast.IfExp(_cmp(first, ast.Lt(), _const(c)), use,
                             _bin(use, ast.BitOr(), _const(m ^ (2 * c - 1))))  # fmt: skip
        if kind == "sum":
            # ``ma if (ma := a + b) < 2**32 else ma & MASK``: see assign_value
            first = ast.NamedExpr(_sname("ma"), v.e)
            return ast.IfExp(_cmp(first, ast.Lt(), _const(m + 1)), _name("ma"),
                             _bin(_name("ma"), ast.BitAnd(), _const(m)))  # fmt: skip
        if kind == "low":
            first = ast.NamedExpr(_sname("ma"), v.e)
            return ast.IfExp(_cmp(first, ast.GtE(), _const(0)), _name("ma"),
                             _bin(_name("ma"), ast.Add(), _const(m + 1)))  # fmt: skip
        return _bin(v.e, ast.BitAnd(), _const(MASK[v.t]))

    def sign_extended(self, e: ast.expr) -> tuple[ast.expr, int] | None:
        """``(x, c)`` when ``e`` is ``(x ^ c) - c`` (a sign extension: loads, ``extend8_s``...)
        with ``0 <= x < 2 * c`` certain (see _bits), else None."""
        if not (e.__class__ is ast.BinOp and e.op.__class__ is ast.Sub
                and e.left.__class__ is ast.BinOp and e.left.op.__class__ is ast.BitXor):  # fmt: skip
            return None
        c, c2 = e.right, e.left.right
        if not (c.__class__ is ast.Constant and c2.__class__ is ast.Constant
                and c.value == c2.value and c.value.__class__ is int and c.value > 0
                and c.value & (c.value - 1) == 0):  # fmt: skip
            return None
        b = _bits(e.left.left, self.int_bits)
        return (e.left.left, c.value) if b is not None and b <= c.value.bit_length() else None

    def assign_value(self, target: str, v: V) -> None:
        """``target = v`` (canonical). The sum or difference of two canonical values is off by
        at most ``2**N``: ``l2 = l2 + l3`` then ``if l2 > MASK: l2 -= 2**N`` is cheaper than a
        mask (see :meth:`wrap_const`). (Testing ``l2 > SMALL`` first, which CPython
        specialises, saves ~1 ns on a small sum but costs ~9 ns on a large one, as in
        hashes: not done.)"""
        if v.norm or v.wrap is not None and v.wrap[2] is not None:
            self.assign(target, self.canon(v))
            return
        if v.wrap is None:
            kind = _wrap_test(v.e, self.int_bits, _BITS[v.t]) if v.t in _BITS else None
            if kind is None or (b := _bits(v.e, self.int_bits)) is not None and b <= _BITS[v.t]:
                self.assign(target, self.canon(v))
                return
            # ``l8 = l3 + x * 40`` then ``if l8 > MASK: l8 &= MASK``: compares CPython does
            # quickly where the mask takes its big-int path (addresses hardly ever wrap)
            self.assign(target, v.e)
            m = MASK[v.t]
            t, mask = _name(target), [ast.AugAssign(_sname(target), ast.BitAnd(), _const(m))]
            if kind == "sum":
                self.emit(ast.If(_cmp(t, ast.Gt(), _const(m)), mask, []))
            elif kind == "low":
                self.emit(ast.If(_cmp(t, ast.Lt(), _const(0)),
                                 [ast.AugAssign(_sname(target), ast.Add(), _const(m + 1))], []))
            else:
                test = ast.Compare(_const(0), [ast.LtE(), ast.LtE()], [t, _const(m)])
                self.emit(ast.If(ast.UnaryOp(ast.Not(), test), mask, []))
            return
        self.assign(target, v.e)
        if v.wrap[1] == "+":
            fix = ast.If(_cmp(_name(target), ast.Gt(), _const(MASK[v.t])),
                         [ast.AugAssign(_sname(target), ast.Sub(), _const(MASK[v.t] + 1))], [])
        else:
            fix = ast.If(_cmp(_name(target), ast.Lt(), _const(0)),
                         [ast.AugAssign(_sname(target), ast.Add(), _const(MASK[v.t] + 1))], [])
        self.emit(fix)

    @staticmethod
    def wrap_const(v: V) -> ast.expr:
        """``x + c`` or ``x - c`` of a canonical ``x``, wrapped as a choice: ``x + c if x < K
        else x - K`` (``K = 2**N - c``), ``x - c if x >= c else x + K``. It leaves the same
        value as ``& MASK`` at about half the cost in CPython 3.11 (a compare of small ints
        and one arithmetic operation, where ``&`` with a 32- or 64-bit mask takes the slow
        path of big ints)."""
        assert v.wrap is not None and v.wrap[2] is not None
        x, py, c = v.wrap
        k = MASK[v.t] + 1 - c
        if py == "+":
            return ast.IfExp(_cmp(_name(x), ast.Lt(), _const(k)), v.e,
                             _bin(_name(x), ast.Sub(), _const(k)))  # fmt: skip
        return ast.IfExp(_cmp(_name(x), ast.GtE(), _const(c)), v.e,
                         _bin(_name(x), ast.Add(), _const(k)))  # fmt: skip

    def slot_value(self, i: int, t: ValType) -> V:
        n = f"s{i}"
        return V(_name(n), t, frozenset((n,)))

    def materialize(self, i: int, force: bool = False) -> None:
        """Write stack entry ``i`` to its slot variable ``s{i}``."""
        v = self.stack[i]
        n = f"s{i}"
        if _in_slot(v, n):
            return
        if v.const is not None and not force:
            return
        # Entries below that still read the old s{i} must be written out first.
        for j in range(i):
            if n in self.stack[j].reads:
                self.materialize(j, True)
        self.assign_value(n, v)
        self.stack[i] = self.slot_value(i, v.t)

    def before_stmt(self, writes=(), effects: bool = False) -> None:
        """Prepare for a statement: earlier impure entries are evaluated first, and entries that
        read what the statement writes are saved."""
        stack = self.stack
        for i, v in enumerate(stack):
            if v.impure or (effects and v.state) or (writes and not v.reads.isdisjoint(writes)):
                self.materialize(i, True)

    def stabilize(self) -> None:
        """Before control flow: every non-constant entry goes to its slot."""
        for i in range(len(self.stack)):
            self.materialize(i)

    # -- helpers for building values --------------------------------------------------------
    @staticmethod
    def combine(e, t, *vs: V, impure=False, state=False, norm=True, const=None) -> V:
        reads = _EMPTY
        depth = 0
        for v in vs:
            if v.reads:
                reads = reads | v.reads
            impure = impure or v.impure
            state = state or v.state
            if v.depth > depth:
                depth = v.depth
        return V(e, t, reads, impure, state, norm, depth + 1, const)

    def const_v(self, value, t: ValType) -> V:
        if isinstance(value, float) and (value != value or math.isinf(value)):
            return V(_name(self.mod.float_const(value)), t, const=value)
        return V(_const(value), t, const=value)

    # -- translation --------------------------------------------------------------------------
    def run(self) -> ast.FunctionDef:
        nparams = len(self.ftype.params)
        args = [ast.arg(f"l{i}") for i in range(nparams)] + [ast.arg("d")]
        root = Frame(self.info.func, "func", 0, (), self.ftype.results, self.out, [])
        self.ctrl.append(root)
        prologue: list[ast.stmt] = []
        # Depth check first: a runaway recursion traps instead of exhausting Python's stack
        # (``DEEP`` traps at the limit, or makes room for calls deeper than a shallow bound:
        # see wasm2py.runtime.callstack).
        chk = ast.If(_cmp(_name("d"), ast.GtE(), _name("MAXD")),
                     [ast.Expr(_call("DEEP", _name("d")))], [])  # fmt: skip
        prologue.append(chk)
        groups: dict[object, list[str]] = {}
        set_first = written_first(self.body, nparams)  # these need no zeroing
        for i, t in enumerate(self.local_types[nparams:], nparams):
            if i in set_first:
                continue
            default = 0 if t in (I32, I64, ValType.V128) else 0.0 if t in (F32, F64) else None
            groups.setdefault((type(default), default), []).append(f"l{i}")
        for (_, default), names in groups.items():
            for k in range(0, len(names), 64):
                chunk = names[k : k + 64]
                prologue.append(ast.Assign([_sname(n) for n in chunk], _const(default)))
        brk0 = None
        if self.info.uses_brk:
            brk0 = ast.Assign([_sname("brk")], _const(0))
            prologue.append(brk0)
        if self.hot:
            prologue.append(ast.Expr(_call(f"HOT{self.index}")))
        if self.fuel is not None:
            # the store's fuel cell, which the function charges in place (see
            # wasm2py.runtime.fuelcell; module.compile_tree makes it a free variable)
            prologue.append(ast.Nonlocal(["fuel"]))
        for st in prologue:
            st.lineno = self.lineno
        body = self.body
        dispatch = self.DISPATCH
        skip_depth = 0
        fuel = self.fuel
        if body:
            # The entry segment's check gets a line of its own, the byte before the first
            # instruction (in the local declarations): a loop or if there starts a segment
            # whose check has that instruction's offset, and a pause must name one resume point.
            self.lineno = body[0].offset - 1
        self.start_segment(0)
        for pos, ins in enumerate(body):
            op = ins.op
            frame = self.ctrl[-1]
            if frame.unreachable:
                # Dead code: skip to the end/else of the current construct.
                if op == _BLOCK or op == _LOOP or op == _IF:
                    skip_depth += 1
                    continue
                if skip_depth:
                    if op == _END:
                        skip_depth -= 1
                    continue
                if op != _END and op != _ELSE:
                    continue
            if pos in self.skip:
                if fuel is not None:
                    # a counted loop's latch (or a secondary's step): the ``for`` does it,
                    # and its cost is the segment's, as in the plain loop
                    self.seg_n += fuel.cost(op)
                continue
            self.lineno = ins.offset
            self.cur_op = op
            self.pos = pos
            if op != _END and op != _ELSE:
                self.seg_n += 1 if fuel is None else fuel.cost(op)
            if fuel is not None and self.fuel_pend is not None and op not in FUEL_EXACT_NOT_NEEDED \
                    and not frame.unreachable and not (op == _END and frame.kind == "func"):
                self.flush_fuel()  # (the function's end returns: it takes the charge then)
            handler = dispatch.get(op)
            if handler is None:
                raise UnsupportedFeature(
                    f"instruction {op:#x} is not supported by the Python tier", self.index,
                    ins.offset,
                )
            handler(self, ins)
            if not self.ctrl:
                break
        if brk0 is not None and self.fold_ends and not self.brk_reads:
            prologue.remove(brk0)  # (nothing reads ``brk``: see drop_unread)
        fn = ast.FunctionDef(
            name=self.name,
            args=ast.arguments([], args, None, [], [], None, []),
            body=prologue + self.assemble(root.entry_out),
            decorator_list=[],
            returns=None,
            type_params=[],
        )
        fn.lineno = self.lineno
        #: how many leading statements are the prologue (depth check, local initialisation)
        fn.prologue_len = len(prologue)  # type: ignore[attr-defined]
        fn.tail_calls = self.tail_calls  # type: ignore[attr-defined]
        return fn

    def assemble(self, body: list[ast.stmt]) -> list[ast.stmt]:
        """The function's statements after the prologue, from what the instructions emitted."""
        return body or [self.pass_stmt()]

    # -- control ------------------------------------------------------------------------------
    def block_type(self, imm) -> tuple[tuple, tuple]:
        if imm is None:
            return (), ()
        if not isinstance(imm, int):
            return (), (imm,)
        ft = self.mod.types[imm]
        return ft.params, ft.results

    def enter(self, ins, kind: str) -> Frame:
        params, results = self.block_type(ins.imm[0] if ins.op == Op.TRY_TABLE else ins.imm)
        self.stabilize()
        if self.branchy:
            self.open_guard()  # the construct starts inside the guard
        for i in range(len(self.stack) - len(params), len(self.stack)):
            self.materialize(i, True)
        c = self.info.by_start[self.index_of(ins)]
        height = len(self.stack) - len(params)
        frame = Frame(c, kind, height, params, results, self.out, self.stack[:height])
        self.ctrl.append(frame)
        return frame

    def index_of(self, ins) -> int:
        """The position of ``ins``, the instruction being translated, in the body."""
        return self.pos

    def op_block(self, ins) -> None:
        self.enter(ins, "block")

    def op_loop(self, ins) -> None:
        frame = self.enter(ins, "loop")
        if frame.c.materialized:
            if self.epoch:
                stop = ast.Raise(_call("interrupted"), None)
                stop.lineno = self.lineno
                loop = ast.While(_name("RUN"), [], [stop])
            else:
                loop = ast.While(_const(True), [], [])
            self.emit(loop)
            self.out = loop.body
            counted = find_counted(self.body, frame.c) if self.count_loops else None
            if counted is not None:
                fr = ast.For(*self.counted_iter(counted), [], [])
                self.emit(fr)
                self.out = fr.body
                frame.counted = (counted, loop, fr)
                self.skip.update(range(counted.latch, frame.c.end))
                self.skip.update(counted.skip)
            if self.hot:
                self.emit(self.loop_counter(ins, frame))
            self.start_segment(self.index_of(ins) + 1)

    def counted_iter(self, cl: CountedLoop, limit: int | None = None):
        """The target and the iterable of a counted loop's ``for``; ``limit``: its counter
        stays below it (a stretch ends there)."""
        target: ast.expr = _sname(f"l{cl.iv}")
        it: ast.expr = _call("range", *self.stretch(cl, limit))
        if self.counter_hidden(cl):
            # for y in (m := range(y, ...)[:len(n := range(x, ...)[:2**62])]): the
            # secondary's values as many as the counter's stretch has (an i64 counter's at
            # most 2**62: len() of a longer range overflows; a shorter stretch only adds one)
            x = cl.iv
            (y, _, _), = cl.secondaries
            target = _sname(f"l{y}")
            if cl.bits == 64:
                it = ast.Subscript(it, ast.Slice(None, _const(1 << 62), None), _LOAD)
            it = ast.NamedExpr(_sname(f"n{x}"), it)
            it = ast.Subscript(self.secondary_range(*cl.secondaries[0]), ast.Slice(
                None, _call("len", it), None), _LOAD)  # fmt: skip
            it = ast.NamedExpr(_sname(f"m{x}"), it)
        elif cl.secondaries:
            target = ast.Tuple([target, *(_sname(f"l{y}") for y, _, _ in cl.secondaries)],
                               _STORE)  # fmt: skip
            it = _call("zip", it, *(self.secondary_range(*y) for y in cl.secondaries))
        return target, it

    def stretch(self, cl: CountedLoop, limit: int | None = None) -> tuple[ast.expr, ast.expr, ast.expr]:
        """``range`` arguments of a counted loop's next stretch from the induction local's
        value ``x``: values that all pass the latch's test ``x REL b`` without wrapping around,
        ``x`` itself at least (the first iteration runs before any test)."""
        x = f"l{cl.iv}"
        t = I32 if cl.bits == 32 else I64
        half = SIGN[t]
        b = (_const(cl.bound) if isinstance(cl.bound, int) else _name(f"l{cl.bound[1]}"))

        def plus(e: ast.expr, k: int) -> ast.expr:
            if isinstance(e, ast.Constant):
                return _const(e.value + k)
            return _bin(e, ast.Add() if k > 0 else ast.Sub(), _const(abs(k)))

        rel = cl.rel
        if cl.up:
            step: ast.expr = (_const(cl.step) if isinstance(cl.step, int)
                              else _name(f"l{cl.step[1]}"))  # fmt: skip
            single = plus(_name(x), 1)
            op = ast.LtE() if rel[:2] == "le" else ast.Lt()
            end = plus(b, 1) if rel[:2] == "le" else b
            if rel == "ne":
                test: ast.expr = _cmp(_name(x), ast.Lt(), b)
                stop: ast.expr = ast.IfExp(test, b, _const(MASK[t] + 1))
            elif rel[-1] == "s":
                test = ast.Compare(_name(x), [op, ast.Lt()], [b, _const(half)])
                stop = ast.IfExp(test, end, single)
            else:
                stop = ast.IfExp(_cmp(_name(x), op, b), end, single)
            if isinstance(cl.step, tuple):  # a local: up only while it is in (0, 2**(N-1))
                ok = ast.Compare(_const(0), [ast.Lt(), ast.Lt()], [step, _const(half)])
                stop = ast.IfExp(ok, stop, single)
                step = ast.IfExp(ok, step, _const(1))
            if limit is not None:
                stop = _call("min", stop, _const(limit))
            return _name(x), stop, step
        single = plus(_name(x), -1)
        op = ast.GtE() if rel[:2] == "ge" else ast.Gt()
        end = plus(b, -1) if rel[:2] == "ge" else b
        if rel == "ne":
            stop = ast.IfExp(_cmp(_name(x), ast.Gt(), b), b, _const(-1))
        elif rel[-1] == "s":
            low = ast.LtE() if rel[:2] == "ge" else ast.Lt()
            test = ast.Compare(b, [low, ast.Lt()], [_name(x), _const(half)])
            stop = ast.IfExp(test, end, single)
        else:
            stop = ast.IfExp(_cmp(_name(x), op, b), end, single)
        return _name(x), stop, _const(cl.step - MASK[t] - 1)

    def counter_hidden(self, cl: CountedLoop) -> bool:
        """Whether the ``for`` of a counted loop takes its one secondary's values alone (the
        counter is set where the loop stops; not with ``HOT``, nor where a frame can pause in
        the body, a call or a fuel check: moving or pausing a frame takes its locals there)."""
        return (cl.counter_unseen and len(cl.secondaries) == 1 and not self.hot
                and not cl.calls and self.fuel is None)  # fmt: skip

    @staticmethod
    def secondary_range(y: int, bits: int, step) -> ast.expr:
        """The values of a counted loop's secondary induction local ``y`` from its value now
        up to where it would wrap around (the ``zip`` ends the stretch there: the ``for``'s
        ``else`` steps it as the wasm code does). A local step is taken as unsigned; when it
        is 0, ``2**N`` gives the one value ``y``."""
        top = 1 << bits
        if isinstance(step, tuple):
            k = _name(f"l{step[1]}")
            return _call("range", _name(f"l{y}"), _const(top), ast.BoolOp(ast.Or(), [k, _const(top)]))
        if step < top >> 1:
            return _call("range", _name(f"l{y}"), _const(top), _const(step))
        return _call("range", _name(f"l{y}"), _const(-1), _const(step - top))

    def step_local(self, y: str, bits: int, k) -> None:
        """``y += k`` modulo ``2**bits`` (``k``: an int, canonical, or ``("local", i)``), as
        :meth:`assign_value` wraps a local plus a constant or a local."""
        t = I32 if bits == 32 else I64
        top = 1 << bits
        if isinstance(k, tuple):
            v = V(_bin(_name(y), ast.Add(), _name(f"l{k[1]}")), t, norm=False)
            v.wrap = ("", "+", None)
        elif k < top >> 1:
            v = V(_bin(_name(y), ast.Add(), _const(k)), t, norm=False)
            v.wrap = (y, "+", k)
        else:  # a step of 2**N - d: y - d
            v = V(_bin(_name(y), ast.Sub(), _const(top - k)), t, norm=False)
            v.wrap = (y, "-", top - k)
        self.assign_value(y, v)

    def close_counted(self, frame: Frame) -> None:
        """A counted loop's end: the ``for`` arm that runs when a stretch is exhausted steps
        and tests as the wasm latch does, continuing the ``while`` when the loop goes on."""
        cl, loop, fr = frame.counted  # type: ignore[misc]
        if not fr.body:  # the latch was the whole loop
            fr.body.append(self.pass_stmt())
        x = f"l{cl.iv}"
        t = I32 if cl.bits == 32 else I64
        b = _const(cl.bound) if isinstance(cl.bound, int) else _name(f"l{cl.bound[1]}")
        self.out = fr.orelse
        self.branchy = False
        if self.counter_hidden(cl):  # the counter's value in the stretch's last iteration
            last = _bin(_call("len", _name(f"m{cl.iv}")), ast.Sub(), _const(1))
            self.assign(x, ast.Subscript(_name(f"n{cl.iv}"), last, _LOAD))
        for y, bits, k in ((cl.iv, cl.bits, cl.step), *cl.secondaries):
            self.step_local(f"l{y}", bits, k)
        py = {"ne": ast.NotEq(), "lt": ast.Lt(), "le": ast.LtE(), "gt": ast.Gt(),
              "ge": ast.GtE()}[cl.rel[:2]]  # fmt: skip
        if cl.rel[-1] == "s":
            half = _const(SIGN[t])
            test = _cmp(_bin(_name(x), ast.BitXor(), half), py, _bin(b, ast.BitXor(), half))
        else:
            test = _cmp(_name(x), py, b)
        self.emit(ast.If(test, [ast.Continue()], []))
        self.out = loop.body
        self.counted_loops.append((cl, loop, fr))

    def short_path(self, cl: CountedLoop, loop: ast.While, fr: ast.For) -> None:
        """Setting a stretch up costs a few ``range`` objects: a loop whose bound is fewer
        than :data:`SHORT` steps away runs as the plain loop instead (a ``while`` of the body
        and the latch's statements, the ``for``'s ``else``), to the loop's end."""
        x = _name(f"l{cl.iv}")
        # (the distance to the bound: a guess of the stretch's length that costs little; a
        # bad guess only costs speed)
        stop = _const(cl.bound) if isinstance(cl.bound, int) else _name(f"l{cl.bound[1]}")
        if isinstance(cl.step, int):
            k = cl.step if cl.up else (1 << cl.bits) - cl.step
            span: ast.expr = _const(SHORT * k)
        else:
            span = _bin(_const(SHORT), ast.Mult(), _name(f"l{cl.step[1]}"))
        dist = _bin(stop, ast.Sub(), x) if cl.up else _bin(x, ast.Sub(), stop)
        if cl.rel == "ne":
            # a bound behind the counter is reached across the wrap-around, far away (e.g.
            # ``while (n-- != 0)``: a step down to the bound 2**32 - 1); with the other
            # relations the loop then stops at once
            test: ast.expr = ast.Compare(_const(0), [ast.LtE(), ast.Lt()], [dist, span])
        else:
            test = _cmp(dist, ast.Lt(), span)
        latch = clone(fr.orelse)
        if self.counter_hidden(cl):
            latch = latch[1:]  # (the counter is stepped at every iteration here)
        plain = ast.While(_const(True), [*clone(fr.body), *latch, ast.Break()], [])
        short = ast.If(test, [plain, ast.Break()], [])
        short.lineno = plain.lineno = fr.lineno  # type: ignore[attr-defined]
        short.resume_copy = True  # type: ignore[attr-defined]  # (see resume._rewind)
        loop.body.insert(0, short)

    def fast_stretches(self, cl: CountedLoop, loop: ast.While, fr: ast.For) -> None:
        """A second copy of a counted loop's ``for`` for stretches whose counter stays in a
        range where the body's wrapped sums of it (``x + c if x < K else x - K``,
        ``x + c & 0xFFFFFFFF``, ``x - c if x >= c else ...``) need no wrapping: there they are
        plain sums. The ``while`` picks the copy by the counter's value where each stretch
        starts (an upward counter only grows within a stretch, which ends at the limit).
        Made once the function is translated and its skips folded (:mod:`.peephole`)."""
        if not cl.up or not fr.body:
            return
        plain = _PlainSums(f"l{cl.iv}", cl.bits)
        body = [plain.visit(clone(st)) for st in fr.body]
        if not plain.found:
            return
        target, it = self.counted_iter(cl, plain.high)
        fast = ast.For(target, it, body, clone(fr.orelse))
        x = _name(f"l{cl.iv}")
        test = (_cmp(x, ast.Lt(), _const(plain.high)) if not plain.low else
                ast.Compare(_const(plain.low), [ast.LtE(), ast.Lt()], [x, _const(plain.high)]))
        choose = ast.If(test, [fast], [fr])
        choose.lineno = fast.lineno = fr.lineno  # type: ignore[attr-defined]
        fast.resume_copy = True  # type: ignore[attr-defined]  # (see resume._rewind)
        loop.body[loop.body.index(fr)] = choose

    def prepaid_stretches(self, cl: CountedLoop, loop: ast.While, fr: ast.For) -> None:
        """With fuel, a counted loop whose body is one segment (its check, its charge of ``C``
        for the body and the latch, statements that neither branch nor pause) runs its
        stretches prepaid where the fuel allows::

            if fuel >= C:
                q2 = range(l2, STOP, 1)[:fuel // C]      # the iterations the fuel covers
                fuel -= len(q2) * C
                for l2 in q2:
                    try:
                        ...body without the check...
                    except BaseException:                 # a trap: give back what was not run
                        fuel += (len(q2) - 1 - q2.index(l2)) * C
                        raise
                else:
                    ...the latch (with secondaries, whose ranges may end the stretch first,
                    after giving back what was not run)...
            else:
                ...the metered ``for``...

        Each iteration takes ``C`` as its check would have, so the fuel is the same after every
        iteration and at a trap. When the fuel covers fewer iterations than the stretch, the
        latch continues the ``while`` with less than ``C`` left, and the metered ``for`` pauses
        (or traps) at the same check with the same fuel as the plain loop. Nothing in a prepaid
        ``for`` can pause, so resume entries go to the metered one. Not with ``HOT``: moving
        a frame to jitted code hands the fuel over at a loop header. Made after
        :meth:`fast_stretches` (each of its ``for`` statements is prepaid)."""
        if self.fuel is None or self.hot or self.info.max_loop_depth > 8:
            return
        for k, st in enumerate(loop.body):
            if st is fr:
                loop.body[k] = self._prepaid(cl, fr)
            elif isinstance(st, ast.If) and len(st.orelse) == 1 and st.orelse[0] is fr:
                st.body = [self._prepaid(cl, f) for f in st.body]
                st.orelse = [self._prepaid(cl, fr)]

    def _prepaid(self, cl: CountedLoop, f: ast.stmt) -> ast.stmt:
        """``f``, a counted loop's ``for``, with a prepaid copy in front when its body is one
        segment (see :meth:`prepaid_stretches`); else ``f`` itself."""
        from .resume import point_kind

        body = f.body if isinstance(f, ast.For) else []
        if len(body) < 2 or point_kind(body[0]) != "fuel":
            return f
        # the segment's charge, ``fuel -= C``: right after the check, or later, before the
        # first instruction that needs the exact fuel (FuncGen.flush_fuel); what comes
        # before it cannot raise, so taking C up front changes nothing observable
        charges = [k for k, st in enumerate(body) if k and _is_charge(st)]
        if len(charges) != 1:
            return f
        k = charges[0]
        cost = body[k].value.value  # type: ignore[attr-defined]
        check = body[0].test  # type: ignore[attr-defined]
        if not (isinstance(check, ast.Compare) and isinstance(check.comparators[0], ast.Constant)
                and check.comparators[0].value == cost):  # fmt: skip
            return f  # (a check that covers a charge carried in as well)
        rest = body[1:k] + body[k + 1:]
        if not rest:
            return f  # (nothing but the latch: a ``try`` needs a body)
        for st in rest:
            for node in ast.walk(st):
                if isinstance(node, _LEAVES) or (isinstance(node, ast.stmt) and point_kind(node)) \
                        or (isinstance(node, ast.Name) and node.id == "fuel"):  # fmt: skip
                    return f
        assert isinstance(f, ast.For)
        q = f"q{cl.iv}"
        it = clone(f.iter)
        target = clone(f.target)
        hidden = False
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "zip":
            counter, it.args[0] = it.args[0], _name(q)
            if cl.counter_unseen and len(it.args) == 2:
                # the body reads only the secondary: the ``for`` takes its values alone, as
                # many as ``q`` has (counter_hidden), and the latch sets the counter
                hidden = True
                m = f"m{cl.iv}"
                target = target.elts[1]  # type: ignore[attr-defined]
                it = ast.NamedExpr(_sname(m), ast.Subscript(it.args[1], ast.Slice(
                    None, _call("len", _name(q)), None), _LOAD))  # fmt: skip
        else:
            counter, it = it, _name(q)

        def times_cost(e: ast.expr) -> ast.expr:
            return e if cost == 1 else _bin(e, ast.Mult(), _const(cost))

        covered = _bin(_name("fuel"), ast.FloorDiv(), _const(cost)) if cost != 1 else _name("fuel")
        if cl.bits == 64:  # (len() of a range longer than 2**63 overflows)
            covered = _call("min", covered, _const(1 << 62))
        take = ast.Assign([_sname(q)], ast.Subscript(counter, ast.Slice(None, covered, None), _LOAD))
        charge = ast.AugAssign(_sname("fuel"), ast.Sub(), times_cost(_call("len", _name(q))))
        ran = _name(m if hidden else q)  # the values the ``for`` takes
        index = ast.Call(ast.Attribute(ran, "index", _LOAD),
                         [_name(target.id if hidden else f"l{cl.iv}")], [])  # type: ignore[attr-defined]
        unrun = _bin(_bin(_call("len", _name(q)), ast.Sub(), _const(1)), ast.Sub(), index)
        refund = ast.AugAssign(_sname("fuel"), ast.Add(), times_cost(unrun))
        handler = ast.ExceptHandler(_name("BaseException"), None, [refund, ast.Raise(None, None)])
        tr = ast.Try(clone(rest), [handler], [], [])
        latch = clone(f.orelse)
        if hidden:
            # the secondary's range may end first (where it would wrap around): give back
            # the iterations of ``q`` not run; the counter's value in the last one run
            unrun = _bin(_call("len", _name(q)), ast.Sub(), _call("len", _name(m)))
            last = _bin(_call("len", _name(m)), ast.Sub(), _const(1))
            latch[:0] = [ast.AugAssign(_sname("fuel"), ast.Add(), times_cost(unrun)),
                         ast.Assign([_sname(f"l{cl.iv}")],
                                    ast.Subscript(_name(q), last, _LOAD))]  # fmt: skip
        elif isinstance(it, ast.Call):
            # a secondary's range may end the ``zip`` first (where it would wrap around):
            # give back the iterations of ``q`` not run (at least one ran: every range
            # starts with its local's value)
            latch.insert(0, clone(refund))
        for st in latch[:2 if hidden else 1]:
            st.lineno = f.lineno  # type: ignore[attr-defined]
        run = ast.For(target, it, [tr], latch)
        prepaid = ast.If(_cmp(_name("fuel"), ast.GtE(), _const(cost)), [take, charge, run], [f])
        for st in (take, charge, tr, run, refund, handler, prepaid):
            st.lineno = f.lineno  # type: ignore[attr-defined]
        handler.body[1].lineno = f.lineno  # type: ignore[attr-defined]
        return prepaid

    def loop_counter(self, ins, frame: Frame) -> ast.stmt:
        """tier="auto": the loop header's ``HOT<index>()``. Once the function runs jitted it
        returns true, and this frame moves there (on-stack replacement, ``wasm2py.tierup``):
        ``OSR`` continues it at this loop header with its locals and operands (all in
        slots or constants here: ``enter`` stabilised them) and it returns what that gives.
        Not inside a ``try_table``: an exception leaving the jitted frame must leave this one."""
        hot = _call(f"HOT{self.index}")
        exprs, codes, _, own = self.operands_here()
        if not own or any(f.kind == "try" for f in self.ctrl):
            return ast.Expr(hot)
        move: list[ast.stmt] = []
        move.append(ast.Return(_call("OSR", _const(self.index), _const(ins.offset), _name("d"),
                                     _call("locals"), ast.Tuple(list(exprs), ast.Load()),
                                     _const(codes))))  # fmt: skip
        for st in move:
            st.lineno = self.lineno
        return ast.If(hot, move, [])

    def op_if(self, ins) -> None:
        cond = self.pop()
        self.before_stmt()
        frame = self.enter(ins, "if")
        node = ast.If(self.cond_expr(cond), [], [])
        self.emit(node)
        frame.ifnode = node
        self.out = node.body
        self.start_segment(self.index_of(ins) + 1)

    def op_else(self, ins) -> None:
        frame = self.ctrl[-1]
        if not frame.unreachable:
            self.land_results(frame)
            frame.then_live = True
        self.out = frame.ifnode.orelse  # type: ignore[union-attr]
        self.branchy = False
        frame.unreachable = False
        self.stack = frame.below + [self.slot_value(frame.height + i, t)
                                    for i, t in enumerate(frame.params)]  # fmt: skip
        self.start_segment(self.index_of(ins) + 1)

    def land_results(self, frame: Frame) -> None:
        """Fallthrough to a construct's end: its results go to their slots."""
        n = len(frame.results)
        base = len(self.stack) - n
        for i in range(base, len(self.stack)):
            if not _in_slot(self.stack[i], f"s{frame.height + i - base}"):
                break
        else:
            # Already in place; drop anything below them that would be discarded.
            self.flush_dropped(frame.height, base)
            return
        vals = self.stack[base:]
        self.stack[base:] = []
        self.flush_dropped(frame.height, base)
        self.assign_label(frame.height, vals)

    def flush_dropped(self, height: int, base: int) -> None:
        """Entries between the frame height and ``base`` are being discarded; impure ones still
        have to be evaluated."""
        for i in range(height, base):
            v = self.stack[i]
            if v.impure:
                self.materialize(i, True)

    def op_end(self, ins) -> None:
        frame = self.ctrl.pop()
        c = frame.c
        live = not frame.unreachable
        if frame.kind == "func":
            if live:
                self.do_return()
            self.close_segment()
            return
        if live:
            self.land_results(frame)
        # Leave the construct's Python structure.
        if frame.kind == "loop" and c.materialized:
            if frame.counted is not None:
                self.close_counted(frame)
                self.emit(ast.Break())
            elif live:
                self.emit(ast.Break())
            self.out = frame.entry_out
            self.branchy = False
            if c.passthrough:
                self.emit_pending_check(c)
        else:
            self.out = frame.entry_out
            self.branchy = False
            if frame.kind in ("if", "try") and frame.ifnode is not None:
                if not frame.ifnode.body:
                    frame.ifnode.body.append(self.pass_stmt())
            if c.guarded and not self.fold_end(c):
                if self.fold_ends and not c.leaks:
                    # (no branch passes this end: ``brk`` is 0 or this block's id here)
                    if not self.drop_unread(c):
                        self.emit(ast.Assign([_sname("brk")], _const(0)))
                else:
                    self.brk_reads += 1
                    reset = ast.If(_cmp(_name("brk"), ast.Eq(), _const(c.id)),
                                   [ast.Assign([_sname("brk")], _const(0))], [])  # fmt: skip
                    self.emit(reset)
                    if self.fold_ends:
                        self.last_reset = reset  # (see open_guard)
            if c.leaks:
                self.branchy = True
        then_live = frame.kind == "if" and frame.then_live
        if frame.kind == "if" and frame.c.else_at < 0:
            # An if without else: the (implicit, empty) else arm passes the params through.
            then_live = then_live or live
            live = True
            if frame.params != frame.results:
                live = False  # validation guarantees params == results for a missing else
        reachable = live or then_live or frame.reached
        parent = self.ctrl[-1]
        self.stack = frame.below + [self.slot_value(frame.height + i, t)
                                    for i, t in enumerate(frame.results)]  # fmt: skip
        if not reachable:
            parent.unreachable = True
        elif self.fuel is not None and not live and frame.taken_charge and len(c.sites) == 1:
            # Only the one br_if's taken way comes here, and it only lowered the cell: it
            # leaves the charge pending instead, and this segment's check covers both (as
            # a br_if's fallthrough does, see start_segment)
            stmt, where, k = frame.taken_charge
            if stmt in where:
                where.remove(stmt)
                if not where:
                    where.append(self.pass_stmt())
                self.fuel_pend = _const(k.value)
                self.start_segment(self.index_of(ins) + 1, carry=True)
            else:
                self.start_segment(self.index_of(ins) + 1)
        elif self.counting or self.fuel is not None:
            self.start_segment(self.index_of(ins) + 1)

    def emit_pending_check(self, loop: Construct) -> None:
        """After a Python loop that a ``brk`` branch can leave: continue or leave outer loops."""
        q = loop.parent
        while q is not None and not q.materialized:
            q = q.parent
        body: list[ast.stmt] = []
        outer = []
        for t in sorted(loop.brk_targeted, key=lambda t: t.id):
            if t is q:
                body.append(ast.If(_cmp(_name("brk"), ast.Eq(), _const(t.id)),
                                   [ast.Assign([_sname("brk")], _const(0)), ast.Continue()],
                                   []))  # fmt: skip
            elif q is not None and self.encloses(t, q):
                outer.append(t.id)
        if outer:
            test = (_cmp(_name("brk"), ast.Eq(), _const(outer[0])) if len(outer) == 1 else
                    _cmp(_name("brk"), ast.In(), ast.Tuple([_const(x) for x in outer], _LOAD)))
            body.append(ast.If(test, [ast.Break()], []))
        if body:
            self.brk_reads += 1
            self.emit(ast.If(_name("brk"), body, []))
        self.branchy = True

    @staticmethod
    def encloses(outer: Construct, inner: Construct) -> bool:
        """True if ``outer`` strictly encloses ``inner``."""
        x = inner.parent
        while x is not None:
            if x is outer:
                return True
            x = x.parent
        return False

    def label_types(self, frame: Frame) -> tuple:
        return frame.params if frame.kind == "loop" else frame.results

    def assign_label(self, height: int, vals: list[V]) -> None:
        """Assign values to the slots ``s{height}...`` (a branch or a fallthrough)."""
        targets = []
        exprs = []
        for k, v in enumerate(vals):
            n = f"s{height + k}"
            if _in_slot(v, n):
                continue
            targets.append(n)
            exprs.append(self.canon(v))
        if not targets:
            return
        if len(targets) == 1:
            self.assign(targets[0], exprs[0])
        else:
            self.emit(ast.Assign([ast.Tuple([_sname(n) for n in targets], _STORE)],
                                 ast.Tuple(exprs, _LOAD)))  # fmt: skip

    def branch(self, depth: int, vals: list[V], site: int) -> None:
        """Emit the jump part of a branch to label ``depth`` (values already evaluated)."""
        frame = self.ctrl[-1 - depth]
        c = frame.c
        if frame.kind == "func":
            self.emit_return(vals)
            return
        frame.reached = True
        self.assign_label(frame.height, vals)
        p = self.info.inner_loop(self.ctrl[-1].c, c)
        if frame.kind == "loop":
            if p is None:
                self.emit(ast.Continue())
                return
        elif p is None:
            if not c.guarded or self.info.tail(site + 1, c):
                return  # nothing but ends in between: falling through is the jump
            self.set_brk(c)
            return
        elif self.info.tail(p.end + 1, c):
            self.emit(ast.Break())
            return
        self.set_brk(c)
        self.emit(ast.Break())

    def set_brk(self, c: Construct) -> None:
        """``brk = <c.id>`` (counted per target: see :meth:`fold_end`)."""
        self.brk_sets[c.id] = self.brk_sets.get(c.id, 0) + 1
        st = ast.Assign([_sname("brk")], _const(c.id))
        self.emit(st)
        if self.fold_ends:
            at = self.brk_at.get(c.id)
            if at is None:
                at = self.brk_at[c.id] = [self.brk_reads]
            site = self.site_if
            at.append((st, self.out, site if site is not None and site.body is self.out else None))

    def drop_unread(self, c: Construct) -> bool:
        """At the end of block ``c``, which no other branch passes, in the quick translation:
        if nothing has read ``brk`` since the first ``brk = <c.id>`` (the code after each of
        them went to its ``if``'s ``else``: see :meth:`open_guard`), drop them all and
        return True: the block's end needs no reset either. (Only what lies between the first
        one and the end can read them: a loop around one and not around the end is left by a
        ``break`` right after it, and the end resets.)"""
        at = self.brk_at.get(c.id)
        if at is None or at[0] != self.brk_reads or c.id in self.brk_kept:
            return False
        for st, where, site in at[1:]:
            i = len(where) - 1
            while where[i] is not st:  # (last or nearly: list.remove compares from the start)
                i -= 1
            del where[i]
            if where:
                continue
            if site is not None and site.body is where and site.orelse:
                # ``if C: pass else: BODY`` -> ``if not C: BODY`` (``a != b`` for ``a == b``)
                site.test = negation(site.test)
                site.body, site.orelse = site.orelse, where
            else:
                where.append(self.pass_stmt())
        return True

    def fold_end(self, c: Construct) -> bool:
        """At the end of guarded construct ``c``, in the quick translation without fuel or
        counting (whose segments keep references into statement lists): if one branch
        (not a ``br_table``'s) sets ``brk`` to ``c``'s id and the statements end with it,
        the rest of the block in its ``else``, fold them (:func:`.peephole.fold_at_end`);
        then no reset is needed. (The prologue's ``brk = 0`` stays while anything reads
        ``brk``, even when every ``brk = K`` is folded: a branch in dead code is not
        emitted, but the guards after the constructs it would leave are.)"""
        return (self.fold_ends and self.brk_sets.get(c.id) == 1 and c.id not in self.brk_kept
                and fold_at_end(self.out, c.id))  # fmt: skip

    def op_br(self, ins) -> None:
        frame = self.ctrl[-1 - ins.imm]
        n = len(self.label_types(frame)) if frame.kind != "func" else len(frame.results)
        self.branch(ins.imm, self.take(n), self.index_of(ins))
        self.ctrl[-1].unreachable = True

    def op_br_if(self, ins) -> None:
        cond = self.pop()
        frame = self.ctrl[-1 - ins.imm]
        n = len(self.label_types(frame)) if frame.kind != "func" else len(frame.results)
        self.before_stmt()
        site = self.index_of(ins)
        c = frame.c
        if (frame.kind in ("block", "if") and not c.guarded
                and self.info.inner_loop(self.ctrl[-1].c, c) is None):  # fmt: skip
            # Tail position: both ways lead to the same place with the same values.
            frame.reached = True
            if cond.impure:
                self.emit(ast.Expr(cond.e))
            return
        vals = self.stack[len(self.stack) - n :] if n else []
        node = ast.If(self.cond_expr(cond), [], [])
        self.emit(node)
        saved_out, saved_branchy = self.out, self.branchy
        self.out = node.body
        self.branchy = False
        if frame.kind != "func":  # (a return takes the charge itself)
            self.flush_fuel(keep=True)  # paths meet at the target: the cell is exact there
        flushed = node.body[-1] if node.body else None
        self.site_if = node
        self.branch(ins.imm, vals, site)
        self.site_if = None
        if (frame.kind == "block" and flushed is not None and node.body[0] is flushed
                and _is_charge(flushed) and all(_sets_brk(st) for st in node.body[1:])):  # fmt: skip
            frame.taken_charge = (flushed, node.body, flushed.value)  # type: ignore[attr-defined]
        if not node.body:
            node.body.append(self.pass_stmt())
        self.out = saved_out
        self.branchy = saved_branchy or self.arm_sets_brk(frame)
        self.start_segment(self.index_of(ins) + 1, carry=True)

    def arm_sets_brk(self, frame: Frame) -> bool:
        """Did the branch just emitted leave ``brk`` set without leaving the current list?"""
        c = frame.c
        if frame.kind != "block" and frame.kind != "if":
            return False
        return c.guarded and self.info.inner_loop(self.ctrl[-1].c, c) is None

    def op_br_table(self, ins) -> None:
        labels, default = ins.imm
        idx = self.pop()
        frame = self.ctrl[-1 - default]
        n = len(self.label_types(frame)) if frame.kind != "func" else len(frame.results)
        self.before_stmt()
        vals = self.stack[len(self.stack) - n :] if n else []
        site = self.index_of(ins)
        if not labels:
            if idx.impure:
                self.emit(ast.Expr(idx.e))
            self.branch(default, vals, site)
            self.ctrl[-1].unreachable = True
            return
        # Evaluate the index once.
        if not (isinstance(idx.e, ast.Name) or idx.const is not None):
            self.assign_value("brt", idx)
            ie = _name("brt")
        else:
            ie = self.canon(idx)
        targets = list(labels)
        sets_brk = False

        def arm(depth: int) -> list[ast.stmt]:
            nonlocal sets_brk
            saved, saved_branchy = self.out, self.branchy
            self.out = []
            self.branchy = False
            self.branch(depth, vals, site)
            self.brk_kept.add(self.ctrl[-1 - depth].c.id)
            sets_brk = sets_brk or self.arm_sets_brk(self.ctrl[-1 - depth])
            body = self.out or [self.pass_stmt()]
            self.out, self.branchy = saved, saved_branchy
            return body

        # Group consecutive equal targets into ranges, then binary-search the ranges.
        ranges: list[tuple[int, int, int]] = []
        for i, t in enumerate(targets):
            if ranges and ranges[-1][2] == t and ranges[-1][1] == i:
                ranges[-1] = (ranges[-1][0], i + 1, t)
            else:
                ranges.append((i, i + 1, t))
        arms = {}

        def arm_for(t: int) -> list[ast.stmt]:
            # Leaves with the same target share one statement list: compile() only reads the
            # tree, and the resume rewrite's changes are no-ops off its own path.
            if t not in arms:
                arms[t] = arm(t)
            return arms[t]

        def build(lo: int, hi: int, lo_known: int) -> list[ast.stmt]:
            # ranges[lo:hi] cover [ranges[lo][0], ranges[hi-1][1]); below that is known false.
            if hi - lo == 1:
                a, b, t = ranges[lo]
                if b == len(targets):
                    # the last range: anything >= a and < len is t, beyond is default
                    if t == default:
                        return arm_for(t)
                    node = ast.If(_cmp(ie, ast.Lt(), _const(b)), arm_for(t), arm_for(default))
                    return [node]
                return arm_for(t)
            mid = (lo + hi) // 2
            pivot = ranges[mid][0]
            node = ast.If(_cmp(ie, ast.Lt(), _const(pivot)), build(lo, mid, lo_known),
                          build(mid, hi, pivot))  # fmt: skip
            return [node]

        # Every target only setting ``brk`` (a C switch over nested blocks): one tuple lookup.
        flags = self.brk_values([arm_for(t) for t in (*targets, default)])
        if flags is not None and isinstance(ie, ast.Name):
            *table, other = flags
            pick = ast.Subscript(ast.Constant(tuple(table)), ie, _LOAD)
            self.assign("brk", ast.IfExp(_cmp(ie, ast.Lt(), _const(len(table))), pick,
                                         _const(other)))  # fmt: skip
            self.branchy = True
            self.ctrl[-1].unreachable = True
            build = None  # type: ignore[assignment]  # (see below)
            return
        # Only the top range check needs the default: indexes past the table.
        tree = build(0, len(ranges), 0)
        # ``build`` refers to itself: left to the cyclic collector, the cycle would keep all of
        # this FuncGen (the function's whole tree) alive until a collection walks it all, a
        # fifth of the time of translating the functions with a switch
        build = None  # type: ignore[assignment]
        for st in tree:
            self.emit(st)
        if sets_brk:
            self.branchy = True
        self.ctrl[-1].unreachable = True

    @staticmethod
    def brk_values(arms: list[list[ast.stmt]]) -> list[int] | None:
        """The values of ``brk`` the branch arms leave, if each is only ``brk = K`` or nothing
        (``brk`` stays 0: the code right after runs), else None."""
        out = []
        for body in arms:
            if len(body) != 1:
                return None
            st = body[0]
            if isinstance(st, ast.Pass):
                out.append(0)
            elif (isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)
                  and st.targets[0].id == "brk" and isinstance(st.value, ast.Constant)):  # fmt: skip
                out.append(st.value.value)
            else:
                return None
        return out

    def emit_return(self, vals: list[V]) -> None:
        self.sync_fuel_out()
        results = self.ftype.results
        if not results:
            self.emit(ast.Return(None))
        elif len(results) == 1:
            v = vals[-1]
            if not v.norm and v.wrap is not None and v.wrap[2] is None:
                self.assign_value("rv", v)  # a statement instead of a mask (see assign_value)
                self.emit(ast.Return(_name("rv")))
            else:
                self.emit(ast.Return(self.canon(v)))
        else:
            self.emit(ast.Return(ast.Tuple([self.canon(v) for v in vals[-len(results):]],
                                           _LOAD)))  # fmt: skip

    def take(self, n: int) -> list[V]:
        """Pop the top ``n`` entries, having evaluated the impure entries below them."""
        vals = self.stack[len(self.stack) - n :] if n else []
        if n:
            del self.stack[-n:]
        self.before_stmt()
        return vals

    def do_return(self) -> None:
        self.emit_return(self.take(len(self.ftype.results)))

    def op_return(self, ins) -> None:
        self.do_return()
        self.ctrl[-1].unreachable = True

    def op_unreachable(self, ins) -> None:
        self.before_stmt()
        self.emit(ast.Raise(_call("unreachable"), None))
        self.ctrl[-1].unreachable = True

    def op_nop(self, ins) -> None:
        pass

    def cond_expr(self, v: V) -> ast.expr:
        # Any int is a valid truth value; unnormalised ones must be masked first.
        if v.norm:
            return v.e
        if v.wrap is not None and v.wrap[2] is not None:  # x + c is 0 (mod 2**N) just when x is 2**N - c; x - c, when x is c
            x, py, c = v.wrap
            return _cmp(_name(x), ast.NotEq(), _const(MASK[v.t] + 1 - c if py == "+" else c))
        return _bin(v.e, ast.BitAnd(), _const(MASK[v.t]))

    # -- calls --------------------------------------------------------------------------------
    def call_args(self, n: int) -> list[ast.expr]:
        args = self.stack[len(self.stack) - n :] if n else []
        if n:
            del self.stack[-n:]
        return [self.canon(v) for v in args]

    def operands_here(self, results: tuple = ()) -> tuple:
        """What a frame record that crosses tiers needs at the pause point being emitted (see
        :mod:`.resume`): the wasm operands as expressions, their types and the callee's
        result types (:func:`type_codes`), and whether every operand is its own slot or reads
        no slot (then operand values give the slots back)."""
        exprs = tuple(self.canon(v) for v in self.stack)
        own = all((isinstance(v.e, ast.Name) and v.e.id == f"s{i}")
                  or not any(n[:1] == "s" and n[1:].isdigit() for n in v.reads)
                  for i, v in enumerate(self.stack))  # fmt: skip
        return (exprs, type_codes(v.t for v in self.stack), type_codes(results), own)

    def finish_call(self, call: ast.expr, results: tuple) -> None:
        h = len(self.stack)
        if not results:
            self.sync_fuel_out()
            self.emit(ast.Expr(call))
            self.out[-1].operands = self.operands_here()  # type: ignore[attr-defined]
            return
        names = [f"s{h + i}" for i in range(len(results))]
        self.before_stmt(writes=frozenset(names))
        self.sync_fuel_out()
        if len(names) == 1:
            self.assign(names[0], call)
        else:
            self.emit(ast.Assign([ast.Tuple([_sname(n) for n in names], _STORE)], call))
        self.out[-1].operands = self.operands_here(results)  # type: ignore[attr-defined]
        for i, t in enumerate(results):
            self.stack.append(self.slot_value(h + i, t))

    def depth_arg(self) -> ast.expr:
        # the callee's depth: this frame's cost on top (see wasm2py.validate.frames)
        return _bin(_name("d"), ast.Add(), _const(self.frame_words))

    def op_call(self, ins) -> None:
        ft = self.mod.func_types[ins.imm]
        self.before_stmt(effects=True)
        args = self.call_args(len(ft.params))
        call = ast.Call(_name(self.mod.func_names[ins.imm]), args + [self.depth_arg()], [])
        self.finish_call(call, ft.results)

    def op_call_indirect(self, ins) -> None:
        type_index, table = ins.imm
        ft = self.mod.types[type_index]
        idx = self.pop()
        self.before_stmt(effects=True)  # arguments are evaluated before the table lookup
        args = self.call_args(len(ft.params))
        target = _call("call_target", _name(f"T{table}"), self.canon(idx), _name(f"TY{type_index}"))
        call = ast.Call(target, args + [self.depth_arg()], [])
        self.finish_call(call, ft.results)

    def op_call_ref(self, ins) -> None:
        ft = self.mod.types[ins.imm]
        ref = self.pop()
        self.before_stmt(effects=True)
        args = self.call_args(len(ft.params))
        call = ast.Call(_call("ref_target", self.canon(ref)), args + [self.depth_arg()], [])
        self.finish_call(call, ft.results)

    # -- tail calls (see wasm2py.runtime.tailcall) ------------------------------------------------
    def tail_call(self, callee: ast.expr, nargs: int, lead=()) -> None:
        """``return TailCall((callee, (args...)))``: the trampoline makes the call."""
        self.before_stmt(effects=True)
        args = self.call_args(nargs)
        self.sync_fuel_out()
        marker = _call("TailCall", ast.Tuple([callee, ast.Tuple(args, _LOAD)], _LOAD))
        self.emit(ast.Return(marker))
        self.tail_calls = True
        self.ctrl[-1].unreachable = True

    def op_return_call(self, ins) -> None:
        ft = self.mod.func_types[ins.imm]
        self.tail_call(_name(self.mod.func_names[ins.imm] + "_t"), len(ft.params))

    def op_return_call_indirect(self, ins) -> None:
        type_index, table = ins.imm
        ft = self.mod.types[type_index]
        idx = self.pop()
        self.before_stmt(effects=True)
        # the index (evaluated last) goes to a slot, so the callee lookup after the arguments
        # sees it
        self.stack.append(idx)
        self.materialize(len(self.stack) - 1, True)
        idx = self.pop()
        target = _call("tail_target", _name(f"T{table}"), idx.e, _name(f"TY{type_index}"))
        self.tail_call(target, len(ft.params))

    def op_return_call_ref(self, ins) -> None:
        ft = self.mod.types[ins.imm]
        ref = self.pop()
        self.before_stmt(effects=True)
        self.stack.append(ref)
        self.materialize(len(self.stack) - 1, True)
        ref = self.pop()
        self.tail_call(_call("ref_tail_target", ref.e), len(ft.params))

    # -- typed references -------------------------------------------------------------------------
    def op_ref_as_non_null(self, ins) -> None:
        v = self.pop()
        self.push(self.combine(_call("non_null", v.e), v.t, v, impure=True))

    def op_br_on_null(self, ins) -> None:
        """Branch if the reference is null (dropping it), else keep it."""
        self.br_on(ins, null=True)

    def op_br_on_non_null(self, ins) -> None:
        """Branch with the reference if it is not null, else drop it."""
        self.br_on(ins, null=False)

    def br_on(self, ins, null: bool) -> None:
        # evaluate the reference once, into its slot
        self.materialize(len(self.stack) - 1, True)
        ref = self.pop()
        frame = self.ctrl[-1 - ins.imm]
        n = len(self.label_types(frame)) if frame.kind != "func" else len(frame.results)
        self.before_stmt()
        if null:
            vals = self.stack[len(self.stack) - n :] if n else []
            test = ast.Compare(ref.e, [ast.Is()], [_const(None)])
        else:
            rest = n - 1
            vals = (self.stack[len(self.stack) - rest :] if rest else []) + [ref]
            test = ast.Compare(ref.e, [ast.IsNot()], [_const(None)])
        node = ast.If(test, [], [])
        self.emit(node)
        saved_out, saved_branchy = self.out, self.branchy
        self.out = node.body
        self.branchy = False
        self.branch(ins.imm, vals, self.index_of(ins))
        if not node.body:
            node.body.append(ast.Pass())
        self.out = saved_out
        self.branchy = saved_branchy or self.arm_sets_brk(frame)
        if null:
            self.stack.append(ref)
        self.start_segment(self.index_of(ins) + 1)

    # -- exceptions (see wasm2py.runtime.exceptions) ----------------------------------------------
    def op_throw(self, ins) -> None:
        params = self.mod.tag_params(ins.imm)
        self.before_stmt(effects=True)
        args = self.call_args(len(params))
        self.sync_fuel_out()
        self.emit(ast.Raise(_call("throw", _name(f"TG{ins.imm}"), ast.Tuple(args, _LOAD)), None))
        self.ctrl[-1].unreachable = True

    def op_throw_ref(self, ins) -> None:
        v = self.pop()
        self.before_stmt(effects=True)
        self.sync_fuel_out()
        self.emit(ast.Raise(_call("throw_ref", v.e), None))
        self.ctrl[-1].unreachable = True

    def op_try_table(self, ins) -> None:
        """``try: <body> except WasmException as xe: <catch clauses>``: each clause that
        matches the tag branches to its label with the exception's values (and the exnref)."""
        bt, catches = ins.imm
        self.before_stmt()
        # the handler branches from the try_table's place, to labels outside it
        end = self.info.by_start[self.index_of(ins)].end
        self.stabilize()
        if self.branchy:
            self.open_guard()
        handler_body = self.catch_chain(catches, end, [ast.Raise(None, None)])
        frame = self.enter(ins, "try")
        tr = ast.Try([], [ast.ExceptHandler(_name("WasmException"), "xe", handler_body)], [], [])
        self.emit(tr)
        frame.ifnode = tr
        self.out = tr.body

    def catch_chain(self, catches, end: int, on_miss: list[ast.stmt]) -> list[ast.stmt]:
        """The statements handling a ``WasmException`` ``xe`` raised inside a ``try_table``
        (translated at its place, before its frame is entered): the first clause whose tag
        matches branches to its label; if none does, ``on_miss`` runs."""
        handler_body: list[ast.stmt] = []
        saved_out, saved_branchy = self.out, self.branchy
        chain = handler_body
        exn = ast.Attribute(_name("xe"), "exn", _LOAD)
        for catch in catches:
            self.out = []
            self.branchy = False
            target = self.ctrl[-1 - catch.label]
            h = target.height if target.kind != "func" else len(self.stack)
            carried = []
            if catch.tag is not None:
                carried = [f"s{h + k}" for k in range(len(self.mod.tag_params(catch.tag)))]
                if carried:
                    values = ast.Attribute(exn, "raw_values", _LOAD)
                    self.emit(ast.Assign([ast.Tuple([_sname(x) for x in carried], _STORE)],
                                         values))  # fmt: skip
            if catch.kind in (CatchKind.CATCH_REF, CatchKind.CATCH_ALL_REF):
                name = f"s{h + len(carried)}"
                self.emit(ast.Assign([_sname(name)], exn))
                carried.append(name)
            vals = [V(_name(x), None, frozenset((x,))) for x in carried]
            self.branch(catch.label, vals, end)
            arm = self.out or [ast.Pass()]
            if catch.tag is None:
                chain.extend(arm)
                break
            test = ast.Compare(ast.Attribute(exn, "tag", _LOAD), [ast.Is()],
                               [_name(f"TG{catch.tag}")])  # fmt: skip
            node = ast.If(test, arm, [])
            node.lineno = self.lineno
            chain.append(node)
            chain = node.orelse
        else:
            chain.extend(on_miss)
        self.out, self.branchy = saved_out, saved_branchy
        return handler_body

    # -- parametric -----------------------------------------------------------------------------
    def op_drop(self, ins) -> None:
        v = self.pop()
        if v.impure:
            # it may trap: evaluate it, after the impure entries below it
            self.before_stmt()
            self.emit(ast.Expr(v.e))

    def op_select(self, ins) -> None:
        c = self.pop()
        # Both operands are evaluated in wasm; a Python conditional evaluates one: make sure
        # neither can trap before choosing.
        n = len(self.stack)
        for i in (n - 2, n - 1):
            if self.stack[i].impure:
                self.materialize(i, True)
        b = self.pop()
        a = self.pop()
        e = ast.IfExp(self.cond_expr(c), self.canon(a) if not a.norm or not b.norm else a.e,
                      self.canon(b) if not a.norm or not b.norm else b.e)  # fmt: skip
        self.push(self.combine(e, a.t, a, b, c))

    # -- variables ------------------------------------------------------------------------------
    def op_local_get(self, ins) -> None:
        n = f"l{ins.imm}"
        self.push(V(_name(n), self.local_types[ins.imm], frozenset((n,))))

    def op_local_set(self, ins) -> None:
        v = self.pop()
        n = f"l{ins.imm}"
        self.before_stmt(writes=(n,))
        self.assign_value(n, v)

    def op_local_tee(self, ins) -> None:
        v = self.pop()
        n = f"l{ins.imm}"
        self.before_stmt(writes=(n,))
        self.assign_value(n, v)
        self.push(V(_name(n), v.t, frozenset((n,))))

    def op_global_get(self, ins) -> None:
        gt = self.mod.global_types[ins.imm]
        n = f"G{ins.imm}"
        if gt.mutable:
            self.push(V(_sub0(_name(n)), gt.valtype, frozenset((n,)), state=True))
        else:
            self.push(V(_name(n), gt.valtype))

    def op_global_set(self, ins) -> None:
        v = self.pop()
        n = f"G{ins.imm}"
        self.before_stmt(writes=(n,))
        self.emit(ast.Assign([ast.Subscript(_name(n), _const(0), _STORE)], self.canon(v)))

    # -- memory -----------------------------------------------------------------------------------
    @staticmethod
    def memory_names(k: int) -> tuple[str, str]:
        """The namespace names of memory ``k``: its byte view and its object (``M``/``MEM`` for
        memory 0, ``M1``/``MEM1``... for the others)."""
        return ("M", "MEM") if k == 0 else (f"M{k}", f"MEM{k}")

    def memory64(self, k: int) -> bool:
        """Whether memory ``k`` has i64 addresses."""
        return self.mod.memory_types[k].is_64

    def address(self, v: V, offset: int) -> ast.expr:
        a = self.canon(v)
        if offset:
            if v.const is not None:
                return _const(v.const + offset)
            return _bin(a, ast.Add(), _const(offset))
        return a

    def op_load(self, ins) -> None:
        addr = self.pop()
        _, offset, k = ins.imm
        view, mem = self.memory_names(k)
        a = self.address(addr, offset)
        op = ins.op
        if op == Op.F32_LOAD:
            e = _call("f32_load", _name(view), a)
            v = self.combine(e, F32, addr, impure=True, state=True)
            v.reads = v.reads | {mem}
            self.push(v)
            return
        fn, t, norm = _LOADS[op]
        if fn == "LU8":  # a byte needs no struct: index the byte view (IndexError: the trap)
            e = ast.Subscript(_name(view), a, _LOAD)
        elif fn == "LS8":
            e = _bin(_bin(ast.Subscript(_name(view), a, _LOAD), ast.BitXor(), _const(0x80)),
                     ast.Sub(), _const(0x80))  # fmt: skip
        else:
            e = self.typed_load(fn, ins.imm[0], view, a)
        v = self.combine(e, t, addr, impure=True, state=True, norm=norm)
        v.reads = v.reads | {mem}
        self.push(v)

    def typed_load(self, fn: str, align: int, view: str, a: ast.expr) -> ast.expr:
        """A load of 2 to 8 bytes through ``struct`` (``LU32(M, a)[0]``), or, for 8 bytes with
        a natural alignment hint (the address is then most likely aligned), through the typed
        view when the address is aligned (``Mf64[a >> 3]``: no tuple built)."""
        typed = _TYPED_LOADS.get(fn)
        if typed is None or align != typed[1]:
            return _sub0(_call(fn, _name(view), a))
        suffix, shift = typed
        if isinstance(a, ast.Constant):
            if a.value & ((1 << shift) - 1):
                return _sub0(_call(fn, _name(view), a))
            return ast.Subscript(_name(view + suffix), _const(a.value >> shift), _LOAD)
        if isinstance(a, ast.Name):
            first = use = a
        else:
            # the address is computed once, into ``ma`` (read only within this expression)
            first, use = ast.NamedExpr(_sname("ma"), a), _name("ma")
        return ast.IfExp(ast.UnaryOp(ast.Not(), _bin(first, ast.BitAnd(), _const((1 << shift) - 1))),
                         ast.Subscript(_name(view + suffix), _bin(use, ast.RShift(), _const(shift)),
                                       _LOAD),
                         _sub0(_call(fn, _name(view), use)))  # fmt: skip

    def op_store(self, ins) -> None:
        val = self.pop()
        addr = self.pop()
        _, offset, k = ins.imm
        view, mem = self.memory_names(k)
        self.before_stmt(writes=(mem,))
        a = self.address(addr, offset)
        if ins.op == Op.F32_STORE:
            self.emit(ast.Expr(_call("f32_store", _name(view), a, val.e)))
            return
        fn, t, mask = _STORES[ins.op]
        if mask is None:
            ve = self.canon(val)
        elif val.const is not None:
            ve = _const(val.const & mask)
        elif (b := _bits(val.e, self.int_bits)) is not None and b <= mask.bit_length():
            ve = val.e  # already fits (a narrower load, x & 255, ...)
        else:
            ve = _bin(val.e, ast.BitAnd(), _const(mask))
        if fn == "PU8" and not (addr.impure and val.impure):
            # ``M[a] = v`` evaluates v before a: only when at most one of them can trap
            self.emit(ast.Assign([ast.Subscript(_name(view), a, _STORE)], ve))
            return
        self.emit(ast.Expr(_call(fn, _name(view), a, ve)))

    def op_memory_size(self, ins) -> None:
        view, mem = self.memory_names(ins.imm)
        e = _bin(_call("len", _name(view)), ast.RShift(), _const(16))
        self.push(V(e, I64 if self.memory64(ins.imm) else I32, frozenset((mem,)), state=True))

    def op_memory_grow(self, ins) -> None:
        n = self.pop()
        _, mem = self.memory_names(ins.imm)
        self.before_stmt(writes=(mem,), effects=True)
        h = len(self.stack)
        self.before_stmt(writes=(f"s{h}",))
        is64 = self.memory64(ins.imm)
        self.assign(f"s{h}", _call("mem_grow64" if is64 else "mem_grow", _name(mem),
                                   self.canon(n)))  # fmt: skip
        self.stack.append(self.slot_value(h, I64 if is64 else I32))

    def helper_stmt(self, fn: str, nargs: int, *lead: ast.expr) -> None:
        # Flush first, then take the operands: flushing may replace them with their slots.
        self.before_stmt(effects=True)
        vals = self.stack[len(self.stack) - nargs :]
        del self.stack[-nargs:]
        self.emit(ast.Expr(_call(fn, *lead, *[self.canon(v) for v in vals])))

    def op_memory_fill(self, ins) -> None:
        self.charge_bulk()
        self.helper_stmt("mem_fill", 3, _name(self.memory_names(ins.imm)[1]))

    def op_memory_copy(self, ins) -> None:
        dst, src = ins.imm
        self.charge_bulk()
        if dst == src:
            self.helper_stmt("mem_copy", 3, _name(self.memory_names(dst)[1]))
        else:
            self.helper_stmt("mem_copy2", 3, _name(self.memory_names(dst)[1]),
                             _name(self.memory_names(src)[1]))  # fmt: skip

    def op_memory_init(self, ins) -> None:
        seg, k = ins.imm
        self.charge_bulk()
        self.helper_stmt("mem_init", 3, _name(self.memory_names(k)[1]), _name("DATAS"),
                         _const(seg))  # fmt: skip

    def op_data_drop(self, ins) -> None:
        self.before_stmt(effects=True)
        self.emit(ast.Assign([ast.Subscript(_name("DATAS"), _const(ins.imm), _STORE)],
                             _const(b"")))  # fmt: skip

    # -- tables -----------------------------------------------------------------------------------
    def op_table_get(self, ins) -> None:
        i = self.pop()
        t = self.mod.table_types[ins.imm].elem
        e = _call("table_get", _name(f"T{ins.imm}"), self.canon(i))
        self.push(self.combine(e, t, i, impure=True, state=True))

    def op_table_set(self, ins) -> None:
        self.helper_stmt("table_set", 2, _name(f"TB{ins.imm}"))

    def op_table_size(self, ins) -> None:
        n = f"T{ins.imm}"
        t = I64 if self.mod.table_types[ins.imm].is_64 else I32
        self.push(V(_call("len", _name(n)), t, frozenset((n,)), state=True))

    def op_table_grow(self, ins) -> None:
        n = self.pop()
        init = self.pop()
        self.before_stmt(effects=True)
        h = len(self.stack)
        self.before_stmt(writes=(f"s{h}",))
        is64 = self.mod.table_types[ins.imm].is_64
        self.assign(f"s{h}", _call("table_grow64" if is64 else "table_grow",
                                   _name(f"TB{ins.imm}"), init.e, self.canon(n)))  # fmt: skip
        self.stack.append(self.slot_value(h, I64 if is64 else I32))

    def op_table_fill(self, ins) -> None:
        self.charge_bulk()
        self.helper_stmt("table_fill", 3, _name(f"TB{ins.imm}"))

    def op_table_copy(self, ins) -> None:
        dst, src = ins.imm
        self.charge_bulk()
        self.helper_stmt("table_copy", 3, _name(f"TB{dst}"), _name(f"TB{src}"))

    def op_table_init(self, ins) -> None:
        seg, table = ins.imm
        self.charge_bulk()
        self.helper_stmt("table_init", 3, _name(f"TB{table}"), _name("ELEMS"), _const(seg))

    def op_elem_drop(self, ins) -> None:
        self.before_stmt(effects=True)
        self.emit(ast.Assign([ast.Subscript(_name("ELEMS"), _const(ins.imm), _STORE)],
                             ast.Tuple([], _LOAD)))  # fmt: skip

    # -- references -------------------------------------------------------------------------------
    def op_ref_null(self, ins) -> None:
        self.push(V(_const(None), ins.imm))

    def op_ref_is_null(self, ins) -> None:
        v = self.pop()
        self.push(self.combine(ast.Compare(v.e, [ast.Is()], [_const(None)]), I32, v))

    def op_ref_func(self, ins) -> None:
        self.push(V(_name(f"R{ins.imm}"), FUNCREF))

    # -- constants ----------------------------------------------------------------------------------
    def op_i32_const(self, ins) -> None:
        self.push(self.const_v(ins.imm & M32, I32))

    def op_i64_const(self, ins) -> None:
        self.push(self.const_v(ins.imm & M64, I64))

    def op_f32_const(self, ins) -> None:
        self.push(self.const_v(self.mod.f32_value(ins.imm), F32))

    def op_f64_const(self, ins) -> None:
        self.push(self.const_v(self.mod.f64_value(ins.imm), F64))

    # -- numeric --------------------------------------------------------------------------------------
    def op_int_wrap(self, ins) -> None:
        t, py = _INT_WRAP[ins.op]
        b = self.pop()
        a = self.pop()
        if a.const is not None and b.const is not None:
            r = {"+": a.const + b.const, "-": a.const - b.const, "*": a.const * b.const}[py]
            self.push(self.const_v(r & MASK[t], t))
            return
        # the operands' intervals where .ranges knows them: then a form that stays within
        # [0, 2**N) is exact without a wrap
        r = self.ranges.get(self.pos)
        if py == "+" and a.const is not None:
            a, b = b, a
            if r is not None:
                r = (r[2], r[3], r[0], r[1])
        if py in "+-" and b.const is not None:
            # x + c with c "negative" is x - (2**N - c): small ints stay small (no big int
            # to allocate); x + 0 is x
            c = b.const
            if c == 0:
                self.push(a)
                return
            if c >= SIGN[t]:
                py, c = ("-" if py == "+" else "+"), MASK[t] + 1 - c
            e = _bin(a.e, _BINOPS[py], _const(c))
            if r is not None and (r[1] + c <= MASK[t] if py == "+" else r[0] >= c):
                self.push(self.combine(e, t, a, b, norm=a.norm))
                return
            v = self.combine(e, t, a, b, norm=False)
            if a.norm and isinstance(a.e, ast.Name):
                v.wrap = (a.e.id, py, c)
            self.push(v)
            return
        e = _bin(a.e, _BINOPS[py], b.e)
        if r is not None and (r[1] + r[3] <= MASK[t] if py == "+" else r[0] >= r[3]
                              if py == "-" else r[1] * r[3] <= MASK[t]):  # fmt: skip
            self.push(self.combine(e, t, a, b, norm=a.norm and b.norm))
            return
        v = self.combine(e, t, a, b, norm=False)
        if py != "*" and a.norm and b.norm and isinstance(a.e, ast.Name | ast.Constant) \
                and isinstance(b.e, ast.Name | ast.Constant):  # fmt: skip
            v.wrap = ("", py, None)
        self.push(v)

    def op_int_bits(self, ins) -> None:
        t, py = _INT_BITS[ins.op]
        b = self.pop()
        a = self.pop()
        if py == "&":
            if a.norm or b.norm:
                e = _bin(a.e, ast.BitAnd(), b.e)
                norm = True
            else:
                e = _bin(self.canon(a), ast.BitAnd(), b.e)
                norm = True
        else:
            e = _bin(a.e, _BINOPS[py], b.e)
            norm = a.norm and b.norm
        self.push(self.combine(e, t, a, b, norm=norm))

    def shift_amount(self, v: V, t: ValType) -> ast.expr:
        bits = 31 if t is I32 else 63
        if v.const is not None:
            return _const(v.const & bits)
        return _bin(v.e, ast.BitAnd(), _const(bits))

    def op_shl(self, ins) -> None:
        t = I32 if ins.op == Op.I32_SHL else I64
        b = self.pop()
        a = self.pop()
        e = _bin(a.e, ast.LShift(), self.shift_amount(b, t))
        self.push(self.combine(e, t, a, b, norm=False))

    def op_shr_u(self, ins) -> None:
        t = I32 if ins.op == Op.I32_SHR_U else I64
        b = self.pop()
        a = self.pop()
        e = _bin(self.canon(a), ast.RShift(), self.shift_amount(b, t))
        self.push(self.combine(e, t, a, b))

    def op_shr_s(self, ins) -> None:
        t = I32 if ins.op == Op.I32_SHR_S else I64
        b = self.pop()
        a = self.pop()
        s = SIGN[t]
        if b.const is not None and (k := b.const & (MASK[t].bit_length() - 1)):
            # by a constant: ``x >> 3 if x < 2**31 else x >> 3 | 0xe0000000`` (the sign's copies
            # or'ed in), canonical, ~3x cheaper than through the signed value and a mask
            x = self.canon(a)
            first, use = (x, x) if isinstance(x, ast.Name) else \
                (ast.NamedExpr(_sname("ma"), x), _name("ma"))  # fmt: skip
            high = MASK[t] ^ (MASK[t] >> k)
            e = ast.IfExp(_cmp(first, ast.Lt(), _const(s)), _bin(use, ast.RShift(), _const(k)),
                          _bin(_bin(use, ast.RShift(), _const(k)), ast.BitOr(), _const(high)))
            self.push(self.combine(e, t, a, b))
            return
        signed = _bin(_bin(self.canon(a), ast.BitXor(), _const(s)), ast.Sub(), _const(s))
        e = _bin(signed, ast.RShift(), self.shift_amount(b, t))
        self.push(self.combine(e, t, a, b, norm=False))

    def op_int_cmp(self, ins) -> None:
        t, py, signed = _INT_CMP[ins.op]
        b = self.pop()
        a = self.pop()
        if signed and (r := self.ranges.get(self.pos)) is not None \
                and r[1] < SIGN[t] and r[3] < SIGN[t]:  # fmt: skip
            signed = False  # both non-negative (see .ranges): as unsigned
        ea = self.canon(a)
        eb = self.canon(b)
        if signed and (a.const is None) != (b.const is None):
            chain = self.signed_cmp_const(t, py, a, b)
            if chain is not None:
                self.push(self.combine(chain, I32, a, b))
                return
        if signed and a.norm and b.norm and isinstance(a.e, ast.Name) \
                and isinstance(b.e, ast.Name):  # fmt: skip
            self.push(self.combine(self.signed_cmp_names(t, py, a.e.id, b.e.id), I32, a, b))
            return
        if signed:
            s = SIGN[t]
            ea = _bin(ea, ast.BitXor(), _const(s)) if a.const is None else _const(a.const ^ s)
            eb = _bin(eb, ast.BitXor(), _const(s)) if b.const is None else _const(b.const ^ s)
        self.push(self.combine(_cmp(ea, _CMPOPS[py], eb), I32, a, b))

    @staticmethod
    def signed_cmp_names(t, py: str, x: str, y: str) -> ast.expr:
        """A signed comparison of two canonical locals/slots by cases on the sign of ``x``,
        without flipping sign bits (which makes big ints): ``x <s y`` is ``x < y < 2**(N-1)``
        when ``x`` is non-negative, else ``y < 2**(N-1) or x < y``; ``x >s y`` is
        ``y >= 2**(N-1) or x > y``, else ``2**(N-1) <= y < x``."""
        half = _const(SIGN[t])
        op = _CMPOPS[py]
        if py in ("<", "<="):
            pos: ast.expr = ast.Compare(_name(x), [op, ast.Lt()], [_name(y), half])
            neg: ast.expr = ast.BoolOp(ast.Or(), [_cmp(_name(y), ast.Lt(), half),
                                                  _cmp(_name(x), op, _name(y))])  # fmt: skip
        else:
            flipped = ast.Lt() if py == ">" else ast.LtE()
            pos = ast.BoolOp(ast.Or(), [_cmp(_name(y), ast.GtE(), half),
                                        _cmp(_name(x), op, _name(y))])  # fmt: skip
            neg = ast.Compare(half, [ast.LtE(), flipped], [_name(y), _name(x)])
        return ast.IfExp(_cmp(_name(x), ast.Lt(), half), pos, neg)

    def signed_cmp_const(self, t, py: str, a: V, b: V) -> ast.expr | None:
        """A signed comparison of a value with a non-negative constant ``c`` as a chained
        comparison of the unsigned value, without flipping the sign bit (which makes a big
        int): ``x >s c`` is ``c < x < 2**(N-1)``, ``x <s c`` is ``not c <= x < 2**(N-1)``.
        When ``x`` is a local and ``c`` small, the test against ``2**(N-1)`` (never
        specialised by CPython) is reached only for ``x`` above :data:`SMALL`:
        ``c < x and (x <= SMALL or x < 2**(N-1))``, ``x <= c or x > SMALL and x >= 2**(N-1)``.
        None when the constant is negative."""
        if a.const is not None:  # c OP x -> x OP' c
            a, b = b, a
            py = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[py]
        c, half = b.const, SIGN[t]
        if c >= half:
            return None
        x = self.canon(a)
        low = {">": ast.Lt(), "<=": ast.Lt(), ">=": ast.LtE(), "<": ast.LtE()}[py]
        if isinstance(x, ast.Name) and c <= SMALL:
            big = [_cmp(_name(x.id), ast.Gt(), _const(SMALL)),
                   _cmp(_name(x.id), ast.GtE(), _const(half))]
            if py in (">", ">="):
                small = [_cmp(_name(x.id), ast.LtE(), _const(SMALL)),
                         _cmp(_name(x.id), ast.Lt(), _const(half))]
                return ast.BoolOp(ast.And(), [ast.Compare(_const(c), [low], [x]),
                                              ast.BoolOp(ast.Or(), small)])  # fmt: skip
            below = ast.LtE() if py == "<=" else ast.Lt()
            return ast.BoolOp(ast.Or(), [_cmp(x, below, _const(c)), ast.BoolOp(ast.And(), big)])
        chain = ast.Compare(_const(c), [low, ast.Lt()], [x, _const(half)])
        return chain if py in (">", ">=") else ast.UnaryOp(ast.Not(), chain)

    def op_eqz(self, ins) -> None:
        a = self.pop()
        self.push(self.combine(_cmp(self.canon(a), ast.Eq(), _const(0)), I32, a))

    def op_float_cmp(self, ins) -> None:
        t, py = _FLOAT_CMP[ins.op]
        b = self.pop()
        a = self.pop()
        self.push(self.combine(_cmp(_nan_any(a), _CMPOPS[py], _nan_any(b)), I32, a, b))

    def op_f64_arith(self, ins) -> None:
        py = {Op.F64_ADD: "+", Op.F64_SUB: "-", Op.F64_MUL: "*"}[ins.op]
        b = self.pop()
        a = self.pop()
        # A NaN result must be the canonical NAN (the NaN rule, see wasm2py.runtime.numeric),
        # which costs a check. Inside an arithmetic expression any NaN will do (the next
        # operation gives a NaN too), so only where the value leaves the arithmetic is it
        # checked: ``e`` is the checked form, ``raw`` the plain one that arithmetic,
        # comparisons and float->int conversions use.
        raw = _bin(_nan_any(a), _BINOPS[py], _nan_any(b))
        v = self.combine(_canonical_nan(raw), F64, a, b)
        v.raw = raw
        self.push(v)

    def op_f32_arith(self, ins) -> None:
        fn = {Op.F32_ADD: "f32_add", Op.F32_SUB: "f32_sub", Op.F32_MUL: "f32_mul"}[ins.op]
        b = self.pop()
        a = self.pop()
        # Exact: the double result rounded once to f32 equals the correctly rounded f32 result
        # (and a NaN result is NAN).
        self.push(self.combine(_call(fn, a.e, b.e), F32, a, b))

    def op_div_u(self, ins) -> None:
        t = I32 if ins.op in (Op.I32_DIV_U, Op.I32_REM_U) else I64
        op = ast.FloorDiv() if ins.op in (Op.I32_DIV_U, Op.I64_DIV_U) else ast.Mod()
        b = self.pop()
        a = self.pop()
        # ZeroDivisionError is turned into the integer-divide-by-zero trap at the boundary.
        e = _bin(self.canon(a), op, self.canon(b))
        impure = b.const is None or b.const == 0
        if impure:
            e.lineno = ins.offset  # (the trap's offset: see op_helper)
        self.push(self.combine(e, t, a, b, impure=impure))

    def op_clz(self, ins) -> None:
        t = I32 if ins.op == Op.I32_CLZ else I64
        a = self.pop()
        bits = 32 if t is I32 else 64
        e = _bin(_const(bits), ast.Sub(), ast.Call(ast.Attribute(self.canon(a), "bit_length",
                                                                   _LOAD), [], []))  # fmt: skip
        self.push(self.combine(e, t, a))

    def op_popcnt(self, ins) -> None:
        t = I32 if ins.op == Op.I32_POPCNT else I64
        a = self.pop()
        e = ast.Call(ast.Attribute(self.canon(a), "bit_count", _LOAD), [], [])
        self.push(self.combine(e, t, a))

    def op_helper(self, ins) -> None:
        fn, argtypes, rt, impure = _HELPERS[ins.op]
        if ins.op in _ROTATES and self.stack[-1].const is not None:
            self.rotate_by_const(ins.op)
            return
        n = len(argtypes)
        vals = self.stack[len(self.stack) - n :]
        del self.stack[-n:]
        if fn in _NAN_ANY_HELPERS:
            e = _call(fn, *[_nan_any(v) for v in vals])
        else:
            e = _call(fn, *[self.canon(v) for v in vals])
        if impure:
            # (a trapping helper: the trap is reported at this instruction's offset, as the
            # other tiers and wasmtime report it, not at the offset of the instruction whose
            # statement the call ends up in)
            e.lineno = ins.offset
        self.push(self.combine(e, rt, *vals, impure=impure))

    def rotate_by_const(self, op) -> None:
        """A rotation by a constant as an expression, ``x << k | x >> (N - k)`` (congruent to
        the result; ``x`` canonical, bound to ``rot_t`` unless it is a plain name)."""
        t, left = _ROTATES[op]
        bits = 32 if t is I32 else 64
        k = self.stack.pop().const % bits
        x = self.pop()
        if not left:
            k = (bits - k) % bits
        if k == 0:
            self.push(x)
            return
        xe = self.canon(x)
        if isinstance(xe, ast.Name | ast.Constant):
            first, again = xe, xe
        else:
            first, again = ast.NamedExpr(_sname("rot_t"), xe), _name("rot_t")
        e = _bin(_bin(first, ast.LShift(), _const(k)), ast.BitOr(),
                 _bin(again, ast.RShift(), _const(bits - k)))  # fmt: skip
        self.push(self.combine(e, t, x, norm=False))

    def op_wrap(self, ins) -> None:
        # the i64 is congruent to its low 32 bits: an unnormalised i32 (masked once, where used)
        a = self.pop()
        v = self.combine(a.e, I32, a, norm=False)
        v.depth = a.depth
        self.push(v)

    def op_extend_u(self, ins) -> None:
        a = self.pop()
        v = self.combine(self.canon(a), I64, a)
        v.depth = a.depth
        self.push(v)

    def op_extend_s(self, ins) -> None:
        # Sign-extension: ((x & m) ^ s) - s is the signed value (unnormalised result).
        spec = {Op.I64_EXTEND_I32_S: (I64, M32, 0x80000000),
                Op.I32_EXTEND8_S: (I32, 0xFF, 0x80), Op.I32_EXTEND16_S: (I32, 0xFFFF, 0x8000),
                Op.I64_EXTEND8_S: (I64, 0xFF, 0x80), Op.I64_EXTEND16_S: (I64, 0xFFFF, 0x8000),
                Op.I64_EXTEND32_S: (I64, M32, 0x80000000)}  # fmt: skip
        t, m, s = spec[ins.op]
        a = self.pop()
        b = MASK[a.t].bit_length() if a.norm else _bits(a.e, self.int_bits)
        # (a canonical i32, a byte load...: no mask, which for 32 bits takes the slow path of
        # CPython's big ints)
        x = a.e if b is not None and b <= m.bit_length() else _bin(a.e, ast.BitAnd(), _const(m))
        e = _bin(_bin(x, ast.BitXor(), _const(s)), ast.Sub(), _const(s))
        self.push(self.combine(e, t, a, norm=False))

    def op_f64_convert_u32(self, ins) -> None:
        a = self.pop()
        self.push(self.combine(_call("float", self.canon(a)), F64, a))

    DISPATCH: dict = {}


def _fill_dispatch() -> None:
    d = FuncGen.DISPATCH
    d.update({
        Op.UNREACHABLE: FuncGen.op_unreachable, Op.NOP: FuncGen.op_nop,
        Op.BLOCK: FuncGen.op_block, Op.LOOP: FuncGen.op_loop, Op.IF: FuncGen.op_if,
        Op.ELSE: FuncGen.op_else, Op.END: FuncGen.op_end, Op.BR: FuncGen.op_br,
        Op.BR_IF: FuncGen.op_br_if, Op.BR_TABLE: FuncGen.op_br_table,
        Op.RETURN: FuncGen.op_return, Op.CALL: FuncGen.op_call,
        Op.CALL_INDIRECT: FuncGen.op_call_indirect, Op.DROP: FuncGen.op_drop,
        Op.CALL_REF: FuncGen.op_call_ref, Op.RETURN_CALL: FuncGen.op_return_call,
        Op.RETURN_CALL_INDIRECT: FuncGen.op_return_call_indirect,
        Op.RETURN_CALL_REF: FuncGen.op_return_call_ref,
        Op.REF_AS_NON_NULL: FuncGen.op_ref_as_non_null, Op.BR_ON_NULL: FuncGen.op_br_on_null,
        Op.BR_ON_NON_NULL: FuncGen.op_br_on_non_null, Op.THROW: FuncGen.op_throw,
        Op.THROW_REF: FuncGen.op_throw_ref, Op.TRY_TABLE: FuncGen.op_try_table,
        Op.SELECT: FuncGen.op_select, Op.SELECT_T: FuncGen.op_select,
        Op.LOCAL_GET: FuncGen.op_local_get, Op.LOCAL_SET: FuncGen.op_local_set,
        Op.LOCAL_TEE: FuncGen.op_local_tee, Op.GLOBAL_GET: FuncGen.op_global_get,
        Op.GLOBAL_SET: FuncGen.op_global_set, Op.TABLE_GET: FuncGen.op_table_get,
        Op.TABLE_SET: FuncGen.op_table_set, Op.TABLE_SIZE: FuncGen.op_table_size,
        Op.TABLE_GROW: FuncGen.op_table_grow, Op.TABLE_FILL: FuncGen.op_table_fill,
        Op.TABLE_COPY: FuncGen.op_table_copy, Op.TABLE_INIT: FuncGen.op_table_init,
        Op.ELEM_DROP: FuncGen.op_elem_drop, Op.MEMORY_SIZE: FuncGen.op_memory_size,
        Op.MEMORY_GROW: FuncGen.op_memory_grow, Op.MEMORY_FILL: FuncGen.op_memory_fill,
        Op.MEMORY_COPY: FuncGen.op_memory_copy, Op.MEMORY_INIT: FuncGen.op_memory_init,
        Op.DATA_DROP: FuncGen.op_data_drop, Op.I32_CONST: FuncGen.op_i32_const,
        Op.I64_CONST: FuncGen.op_i64_const, Op.F32_CONST: FuncGen.op_f32_const,
        Op.F64_CONST: FuncGen.op_f64_const, Op.REF_NULL: FuncGen.op_ref_null,
        Op.REF_IS_NULL: FuncGen.op_ref_is_null, Op.REF_FUNC: FuncGen.op_ref_func,
        Op.I32_EQZ: FuncGen.op_eqz, Op.I64_EQZ: FuncGen.op_eqz,
        Op.I32_SHL: FuncGen.op_shl, Op.I64_SHL: FuncGen.op_shl,
        Op.I32_SHR_U: FuncGen.op_shr_u, Op.I64_SHR_U: FuncGen.op_shr_u,
        Op.I32_SHR_S: FuncGen.op_shr_s, Op.I64_SHR_S: FuncGen.op_shr_s,
        Op.I32_DIV_U: FuncGen.op_div_u, Op.I32_REM_U: FuncGen.op_div_u,
        Op.I64_DIV_U: FuncGen.op_div_u, Op.I64_REM_U: FuncGen.op_div_u,
        Op.I32_CLZ: FuncGen.op_clz, Op.I64_CLZ: FuncGen.op_clz,
        Op.I32_POPCNT: FuncGen.op_popcnt, Op.I64_POPCNT: FuncGen.op_popcnt,
        Op.I32_WRAP_I64: FuncGen.op_wrap, Op.I64_EXTEND_I32_U: FuncGen.op_extend_u,
        Op.F64_CONVERT_I32_U: FuncGen.op_f64_convert_u32,
        Op.F64_ADD: FuncGen.op_f64_arith, Op.F64_SUB: FuncGen.op_f64_arith,
        Op.F64_MUL: FuncGen.op_f64_arith, Op.F32_ADD: FuncGen.op_f32_arith,
        Op.F32_SUB: FuncGen.op_f32_arith, Op.F32_MUL: FuncGen.op_f32_arith,
    })  # fmt: skip
    for op in _INT_CMP:
        d[op] = FuncGen.op_int_cmp
    for op in _FLOAT_CMP:
        d[op] = FuncGen.op_float_cmp
    for op in _INT_WRAP:
        d[op] = FuncGen.op_int_wrap
    for op in _INT_BITS:
        d[op] = FuncGen.op_int_bits
    for op in _HELPERS:
        d[op] = FuncGen.op_helper
    for op in _LOADS:
        d[op] = FuncGen.op_load
    d[Op.F32_LOAD] = FuncGen.op_load
    for op in _STORES:
        d[op] = FuncGen.op_store
    d[Op.F32_STORE] = FuncGen.op_store
    for op in (Op.I64_EXTEND_I32_S, Op.I32_EXTEND8_S, Op.I32_EXTEND16_S, Op.I64_EXTEND8_S,
               Op.I64_EXTEND16_S, Op.I64_EXTEND32_S):  # fmt: skip
        d[op] = FuncGen.op_extend_s


_fill_dispatch()
from . import simd as _simd  # noqa: E402,F401  (registers the SIMD handlers)


class _PlainSums(ast.NodeTransformer):
    """Replaces the wrapped sums of one counter ``x`` by plain ones, recording the range
    ``[low, high)`` of ``x`` where that is exact."""

    def __init__(self, x: str, bits: int):
        self.x = x
        self.top = 1 << bits
        self.low = 0
        self.high = self.top
        self.found = False

    def is_x(self, e) -> bool:
        return isinstance(e, ast.Name) and e.id == self.x

    @staticmethod
    def const(e):
        return e.value if isinstance(e, ast.Constant) and type(e.value) is int else None

    def visit_IfExp(self, node):
        self.generic_visit(node)
        t, b = node.test, node.body
        if (isinstance(t, ast.Compare) and len(t.ops) == 1 and self.is_x(t.left)
                and isinstance(b, ast.BinOp) and self.is_x(b.left)):  # fmt: skip
            k, c = self.const(t.comparators[0]), self.const(b.right)
            if k is None or c is None:
                return node
            if isinstance(t.ops[0], ast.Lt) and isinstance(b.op, ast.Add) and k + c == self.top:
                self.high = min(self.high, k)
            elif isinstance(t.ops[0], ast.GtE) and isinstance(b.op, ast.Sub) and k == c:
                self.low = max(self.low, k)
            else:
                return node
            self.found = True
            return b
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.BitAnd) or self.const(node.right) != M32:
            return node
        e = node.left
        if self.is_x(e):  # an i64 counter wrapped to i32
            self.high = min(self.high, 1 << 32)
        elif (isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add) and self.is_x(e.left)
              and (c := self.const(e.right)) is not None and c >= 0):  # fmt: skip
            self.high = min(self.high, (1 << 32) - c)
        else:
            return node
        self.found = True
        return e


def translate_function(mod, index: int, ftype: FuncType, local_types, body, name: str):
    """Translate one function body into an ``ast.FunctionDef`` named ``name``, in the
    structured shape when CPython accepts it, else in the flat shape (:mod:`.flat`); the
    result's ``shape`` attribute says which.

    ``mod`` provides ``types``, ``func_types``, ``global_types``, ``table_types``,
    ``float_const(value) -> name`` and ``f32_value``/``f64_value`` (bits -> float); its
    ``shape`` (``"auto"``, the default, or ``"flat"``) can force the flat shape; its ``quick``
    (default False) skips the rewrites that only make the structured shape faster.
    """
    from .flat import MAX_LOOPS, MAX_NESTING, FlatGen, nesting_depth
    from .peephole import (
        fill_loops,
        fold_skips,
        group_resets,
        prepay_for_loops,
        prepay_loops,
        rotate_entry_loop,
        split_entry_checks,
        split_loop_checks,
    )

    info = analyze(body)
    if (getattr(mod, "shape", "auto") != "flat"
            and info.max_loop_depth <= MAX_LOOPS and info.max_nesting <= MAX_NESTING):  # fmt: skip
        gen = FuncGen(mod, index, ftype, local_types, body, name, info)
        fn = gen.run()
        # ``brk`` guards nest too: only the finished tree tells
        depth = nesting_depth(fn)
        if depth <= MAX_NESTING and getattr(mod, "quick", False):
            # (the rewrites below only make the code faster: see ``ModuleGen.quick``)
            fn.shape = "structured"  # type: ignore[attr-defined]
            return fn
        if depth <= MAX_NESTING:
            fold_skips(fn)
            n = len(gen.counted_loops)
            if depth + 2 * n <= MAX_NESTING:  # (each adds 2 at most)
                # Prepaid stretches are made with each loop's other copies where the budget
                # allows (2 more each): inner loops come first, so the copies an enclosing
                # loop makes of its body (short path, plain sums) hold them prepaid too
                prepay = gen.fuel is not None and depth + 4 * n <= MAX_NESTING
                for counted in gen.counted_loops:
                    gen.short_path(*counted)
                    gen.fast_stretches(*counted)
                    if prepay:
                        gen.prepaid_stretches(*counted)
                depth = nesting_depth(fn)
                if gen.fuel is not None and not prepay and depth + 2 * n <= MAX_NESTING:
                    for counted in gen.counted_loops:
                        gen.prepaid_stretches(*counted)  # (each adds 2 at most)
                    depth = nesting_depth(fn)
            if gen.fuel is not None and not gen.hot and depth + 3 <= MAX_NESTING:
                prepay_loops(fn, MAX_LOOPS)  # (adds 3 at most)
                prepay_for_loops(fn, MAX_LOOPS, MAX_NESTING - 2)  # (leaves 2 for the passes below)
                depth = nesting_depth(fn)
            if gen.fuel is not None and depth < MAX_NESTING:
                split_loop_checks(fn)  # (adds 1 at most)
                depth = nesting_depth(fn)
            if gen.fuel is not None and depth < MAX_NESTING:
                rotate_entry_loop(fn, MAX_NESTING - 1)  # (leaves 1 for the split)
                split_entry_checks(fn)  # (adds 1 at most)
                depth = nesting_depth(fn)
            if gen.counted_loops and depth < MAX_NESTING:
                fill_loops(fn)  # (adds 1 at most)
            group_resets(fn, MAX_NESTING - depth)
            fn.shape = "structured"  # type: ignore[attr-defined]
            return fn
    fn = FlatGen(mod, index, ftype, local_types, body, name, info).run()
    fn.shape = "flat"  # type: ignore[attr-defined]
    return fn
