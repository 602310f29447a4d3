"""Validation of decoded modules (WebAssembly 3.0, without the GC instructions).

:func:`validate_module` checks the module-level rules (limits, constant expressions, segments,
exports, the start function) and type-checks every function body with the specification's
validation algorithm (appendix "Validation Algorithm"): an operand stack whose entries are value
types or *Unknown* (``None`` here, produced by polymorphic, unreachable code) and a control stack
of frames holding each block's parameter, result and label types.

The per-instruction loop is written for CPython speed: the ~150 simple numeric instructions are
type-checked through dicts of precomputed signatures with a fast path that only compares the top
of the stack, everything lives in local variables, and control frames are plain lists. Block
nesting is handled iteratively, so deeply nested code cannot exhaust the Python stack.

SIMD instructions are typed from :mod:`wasm2py.validate.simd_types` (lane-index immediates below
the lane count, shuffle lanes below 32, memarg alignment at most natural).

Wasm 3.0: value types are compared with ``is`` on the fast paths (types are canonical objects,
and references over type indices are *closed* first: a type index becomes its canonical
:class:`~wasm2py.deftypes.DefType`, so equivalent indices give the same type); the slow paths
use the subtype relation (:func:`~wasm2py.deftypes.matches`). Non-defaultable locals (non-null
references) are tracked as the spec requires: each must be set before it is read, and what a
block sets is forgotten at its end. Proposals switched off in the :class:`~wasm2py.features.
Features` are refused with a message naming their ``Config`` switch.
"""

from __future__ import annotations

from ..binary.decoder import _MISSING, _block_type, _decode_slow, _memarg, _tables
from ..binary.module import BodySummary, Code, ExternKind, Instr, Module, SegmentMode
from ..binary.opcodes import (
    SIMD_BASE,
    SIMD_NATURAL_ALIGN,
    CatchKind,
    Op,
    opcode_name,
)
from ..binary.reader import read_s32, read_u32
from ..deftypes import DefType, canonicalize, matches
from ..errors import DecodeError, UnsupportedFeature, ValidationError
from ..features import ALL, Features, disabled
from ..gcpause import gc_paused
from ..types import (
    MAX_PAGES,
    MAX_PAGES_64,
    ArrayType,
    FuncType,
    HeapType,
    Limits,
    PackedType,
    RefType,
    StructType,
    ValType,
)
from .sigs import BINARY, LOADS, STORES, UNARY
from .simd_types import SIMD_LANES, SIMD_SIGS

__all__ = ["validate_module", "FunctionValidator"]

#: False: :func:`_check_body` skips the one pass over a body's bytes and takes the old path
#: only (decode the instructions, then type-check the list). The two must agree on every
#: body; the differential tests (``tests/test_validator_diff.py``) switch this off to get
#: the reference. Nothing else sets it.
_ONE_PASS = True

I32 = ValType.I32
I64 = ValType.I64
F32 = ValType.F32
F64 = ValType.F64
V128 = ValType.V128
FUNCREF = ValType.FUNCREF
EXTERNREF = ValType.EXTERNREF
EXNREF = ValType.EXNREF
#: what catch_ref and catch_all_ref pass to their label, besides the values
_EXN = RefType(False, HeapType.EXN)
#: the result of ref.as_non_null & co. on an operand of unknown type
_BOT_REF = RefType(False, HeapType.BOT)

_V128_CONST = SIMD_BASE | 12
_SHUFFLE = SIMD_BASE | 13

# Plain-int opcode constants: comparing against these is cheaper than against IntEnum members.
_UNREACHABLE = int(Op.UNREACHABLE)
_NOP = int(Op.NOP)
_BLOCK = int(Op.BLOCK)
_LOOP = int(Op.LOOP)
_IF = int(Op.IF)
_ELSE = int(Op.ELSE)
_END = int(Op.END)
_BR = int(Op.BR)
_BR_IF = int(Op.BR_IF)
_BR_TABLE = int(Op.BR_TABLE)
_RETURN = int(Op.RETURN)
_CALL = int(Op.CALL)
_CALL_INDIRECT = int(Op.CALL_INDIRECT)
_DROP = int(Op.DROP)
_SELECT = int(Op.SELECT)
_SELECT_T = int(Op.SELECT_T)
_LOCAL_GET = int(Op.LOCAL_GET)
_LOCAL_SET = int(Op.LOCAL_SET)
_LOCAL_TEE = int(Op.LOCAL_TEE)
_GLOBAL_GET = int(Op.GLOBAL_GET)
_GLOBAL_SET = int(Op.GLOBAL_SET)
_TABLE_GET = int(Op.TABLE_GET)
_TABLE_SET = int(Op.TABLE_SET)
_MEMORY_SIZE = int(Op.MEMORY_SIZE)
_MEMORY_GROW = int(Op.MEMORY_GROW)
_I32_CONST = int(Op.I32_CONST)
_I64_CONST = int(Op.I64_CONST)
_F32_CONST = int(Op.F32_CONST)
_F64_CONST = int(Op.F64_CONST)
_REF_NULL = int(Op.REF_NULL)
_REF_IS_NULL = int(Op.REF_IS_NULL)
_REF_FUNC = int(Op.REF_FUNC)
_MEMORY_INIT = int(Op.MEMORY_INIT)
_DATA_DROP = int(Op.DATA_DROP)
_MEMORY_COPY = int(Op.MEMORY_COPY)
_MEMORY_FILL = int(Op.MEMORY_FILL)
_TABLE_INIT = int(Op.TABLE_INIT)
_ELEM_DROP = int(Op.ELEM_DROP)
_TABLE_COPY = int(Op.TABLE_COPY)
_TABLE_GROW = int(Op.TABLE_GROW)
_TABLE_SIZE = int(Op.TABLE_SIZE)
_TABLE_FILL = int(Op.TABLE_FILL)
_RETURN_CALL = int(Op.RETURN_CALL)
_RETURN_CALL_INDIRECT = int(Op.RETURN_CALL_INDIRECT)
_CALL_REF = int(Op.CALL_REF)
_RETURN_CALL_REF = int(Op.RETURN_CALL_REF)
_THROW = int(Op.THROW)
_THROW_REF = int(Op.THROW_REF)
_TRY_TABLE = int(Op.TRY_TABLE)
_REF_AS_NON_NULL = int(Op.REF_AS_NON_NULL)
_BR_ON_NULL = int(Op.BR_ON_NULL)
_BR_ON_NON_NULL = int(Op.BR_ON_NON_NULL)
_REF_EQ = int(Op.REF_EQ)
_I32_ADD, _I32_SUB, _I32_MUL = int(Op.I32_ADD), int(Op.I32_SUB), int(Op.I32_MUL)
_I64_ADD, _I64_SUB, _I64_MUL = int(Op.I64_ADD), int(Op.I64_SUB), int(Op.I64_MUL)

# Frame kind of the function's outermost frame (its label types are the function results).
_FUNC = -1

#: the first opcode in the BINARY and UNARY tables (i32.eqz): the control, variable, memory
#: and constant instructions before it are a third to half of real code
_NUMERIC_FIRST = min(min(BINARY), min(UNARY))

#: the decoder's instruction class of every one-byte opcode (with every proposal on), which
#: picks the hot paths of _validate_function for instructions in hand too
_CLASSES = _tables(None).fast

_MEM_FIRST = int(Op.I32_LOAD)
_LOAD_LAST = int(Op.I64_LOAD32_U)
_MEM_LAST = int(Op.I64_STORE32)


# -- operand-stack helpers (the slow paths of the main loop) ------------------------------------

#: below the operands of each control frame on the operand stack (see _validate_function)
_BOTTOM = object()
#
# A control frame is a list [kind, params, results, height, unreachable, label_types, inits]
# (inits: the non-defaultable locals the frame set, forgotten at its end; None if none); the
# helpers raise ValidationError without a location, which _validate_function fills in.


def _name(t: ValType | None) -> str:
    return "unknown" if t is None else str(t)


def _pop(stack: list, frame: list, expect: ValType | None, op: int) -> ValType | None:
    """Pop one operand that must have type ``expect`` (None: any); returns the popped type."""
    if len(stack) == frame[3]:
        if frame[4]:
            return expect
        raise ValidationError(
            f"type mismatch: expected {_name(expect)}, found nothing ({opcode_name(op)})"
        )
    actual = stack.pop()
    if actual is not expect and expect is not None and not matches(actual, expect):
        raise ValidationError(
            f"type mismatch: expected {expect}, found {actual} ({opcode_name(op)})"
        )
    return actual if actual is not None else expect


def _pop_any(stack: list, frame: list, op: int) -> ValType | None:
    """Pop one operand of any type; None (Unknown) when popping from a polymorphic stack."""
    if len(stack) == frame[3]:
        if frame[4]:
            return None
        raise ValidationError(f"type mismatch: expected a value, found nothing ({opcode_name(op)})")
    return stack.pop()


def _pop_vals(stack: list, frame: list, types: tuple, op: int) -> list:
    """Pop operands of the given types (the last one is on top); returns the popped types,
    bottom first (Unknown where the stack was polymorphic)."""
    n = len(types)
    if not n:
        return []
    if len(stack) - n >= frame[3]:
        tail = stack[-n:]
        if tuple(tail) == types:
            del stack[-n:]
            return tail
    popped = [None] * n
    for i in range(n - 1, -1, -1):
        t = types[i]
        if len(stack) == frame[3]:
            if frame[4]:
                popped[i] = None
                continue
            raise ValidationError(
                f"type mismatch: expected {_types_str(types)}, found {_types_str(stack[frame[3] :])}"
                f" ({opcode_name(op)})"
            )
        actual = stack.pop()
        if actual is not t and not matches(actual, t):
            raise ValidationError(
                f"type mismatch: expected {t}, found {actual} ({opcode_name(op)})"
            )
        popped[i] = actual
    return popped


def _pop_ref(stack: list, frame: list, op: int):
    """Pop a reference of any type; an unknown operand counts as ``(ref bot)``."""
    t = _pop_any(stack, frame, op)
    if t is None:
        return _BOT_REF
    if not t.is_ref:
        raise ValidationError(
            f"type mismatch: expected a reference type, found {t} ({opcode_name(op)})"
        )
    return t


def _types_str(types) -> str:
    return "[" + " ".join(_name(t) for t in types) + "]"


def _end_block(stack: list, frame: list, results: tuple, op: int) -> None:
    """Pop a block's results at ``end``/``else`` and require nothing else above the frame."""
    _pop_vals(stack, frame, results, op)
    if len(stack) != frame[3]:
        raise ValidationError(
            f"type mismatch: expected {_types_str(results)} at end of block, found "
            f"{_types_str(stack[frame[3] :] + list(results))}"
        )


# -- function bodies ----------------------------------------------------------------------------


class _Ctx:
    """The validation context C of the spec, flattened into lists for fast indexing. Value types
    here are closed (type indices replaced by their canonical DefTypes)."""

    __slots__ = (
        "types", "deftypes", "funcs", "func_types", "tables", "table64", "globals",
        "global_mut", "mems64", "elem_types", "data_count", "refs", "n_imported_globals",
        "n_const_globals", "tags", "feats",
    )  # fmt: skip

    def __init__(self, feats: Features) -> None:
        self.feats = feats
        #: (params, results) per type index; None for a struct or array type
        self.types: list[tuple[tuple, tuple] | None] = []
        self.deftypes: list[DefType] = []
        self.funcs: list[tuple[tuple, tuple]] = []  # signature per function index
        self.func_types: list[int] = []  # type index per function index
        self.tables: list = []  # element type per table index
        self.table64: list[bool] = []  # whether each table is indexed with i64
        self.globals: list = []  # value type per global index
        self.global_mut: list[bool] = []
        self.mems64: list[bool] = []  # whether each memory's addresses are i64
        self.elem_types: list = []  # element type per element segment
        self.data_count: int | None = None
        self.refs: set[int] = set()
        self.n_imported_globals = 0
        #: globals a constant expression may read (3.0: imported and earlier defined ones)
        self.n_const_globals = 0
        self.tags: list[tuple] = []  # parameter types per tag index

    def close(self, t):
        """The closed form of a module-relative value type (raises for a bad type index)."""
        if isinstance(t, RefType) and isinstance(t.heap, int):
            if t.heap >= len(self.deftypes):
                raise ValidationError(f"unknown type {t.heap}")
            return RefType(t.nullable, self.deftypes[t.heap])
        return t

    def func_type(self, index: int) -> tuple[tuple, tuple]:
        """The signature of type ``index``, which must be a function type."""
        if index >= len(self.types):
            raise ValidationError(f"unknown type {index}")
        sig = self.types[index]
        if sig is None:
            raise ValidationError(f"type mismatch: type {index} is not a function type")
        return sig


def _addr(is64: bool) -> ValType:
    return I64 if is64 else I32


def _min_addr(a64: bool, b64: bool) -> ValType:
    return I64 if a64 and b64 else I32


def _validate_function(ctx: _Ctx, func_index: int, sig: tuple[tuple, tuple], code: Code,
                       declared: tuple, body: list | None,
                       framing: tuple | None = None) -> BodySummary:  # fmt: skip
    """Type-check one function body (the spec's validation algorithm, iteratively);
    ``declared`` and ``body`` are ``code``'s locals and instructions, or ``body`` None: decode
    them from the module bytes on the way (``framing``: ``code.framing()``, see
    :meth:`~wasm2py.binary.module.Code.framing`).

    Without ``body``, the errors may differ from the canonical ones (a malformed instruction
    after an invalid one is reported as the invalid one, and offsets may be off):
    :func:`_check_body` gets those from the two passes."""
    params, results = sig
    close = ctx.close
    # Non-defaultable locals (non-null references) not set yet: must be set before a read.
    uninit = set()
    if not all(type(t) is ValType for t in declared):  # (else: nothing to close, no such local)
        for t in declared:
            if isinstance(t, RefType) and isinstance(t.heap, int) and t.heap >= len(ctx.types):
                raise ValidationError(f"unknown type {t.heap} (local of function {func_index})",
                                      func_index, code.start)  # fmt: skip
        declared = tuple(close(t) for t in declared)
        uninit = {len(params) + k for k, t in enumerate(declared) if not t.defaultable}
    locals_ = params + declared
    nlocals = len(locals_)

    # Hot names as locals.
    bin_get = BINARY.get
    un_get = UNARY.get
    loads = LOADS
    stores = STORES
    pop = _pop
    pop_vals = _pop_vals
    types = ctx.types
    ntypes = len(types)
    funcs = ctx.funcs
    nfuncs = len(funcs)
    tables = ctx.tables
    ntables = len(tables)
    globals_ = ctx.globals
    nglobals = len(globals_)
    mems64 = ctx.mems64
    nmems = len(mems64)
    typed_refs = ctx.feats.function_references
    i32 = I32

    # Every frame's operands sit above a _BOTTOM (two for the function's), which no type
    # ``is``: the fast paths compare the top one or two entries without a look at the height.
    bottom = _BOTTOM
    stack: list = [bottom, bottom]
    frame: list = [_FUNC, (), results, 2, False, results, None]
    ctrl: list = [frame]
    height = 2
    off = code.start
    finished = False

    def set_local(k: int) -> None:
        uninit.discard(k)
        f = ctrl[-1]
        if f[6] is None:
            f[6] = []
        f[6].append(k)

    def tail_results(callee: tuple, what: str) -> None:
        """A tail call's results must match the function's own."""
        if len(callee) != len(results) or not all(map(matches, callee, results)):
            raise ValidationError(
                f"type mismatch: {what} returns {_types_str(callee)}, the function returns "
                f"{_types_str(results)}"
            )

    def label(depth: int) -> tuple:
        if depth >= len(ctrl):
            raise ValidationError(f"unknown label {depth}")
        return ctrl[-1 - depth][5]

    def block_sig(imm) -> tuple[tuple, tuple]:
        if imm is None:
            return (), ()
        if isinstance(imm, int):
            return ctx.func_type(imm)
        return (), (close(imm),)

    def push_frame(op: int, imm) -> list:
        bp, br = block_sig(imm)
        if bp:
            pop_vals(stack, ctrl[-1], bp, op)
        stack.append(bottom)
        h = len(stack)
        f = [op, bp, br, h, False, bp if op == _LOOP else br, None]
        ctrl.append(f)
        stack.extend(bp)
        return f

    # The instructions: from ``body`` (k: the next one), or decoded from the module bytes as
    # the loop goes (``raw``; pos: the next opcode), the hot classes inline as
    # ``decode_instrs`` decodes them (no tuple per instruction, one loop instead of two).
    k = 0
    nbody = 0 if body is None else len(body)
    if body is None:
        raw, pos, end, dtables, has_data_count = framing
        dtables = _tables(dtables)  # (the features' decoding tables)
        fast = dtables.fast
        blocktype1 = dtables.blocktype1
        missing = _MISSING
    else:
        raw = None
        classes = _CLASSES
    # What the LLVM tier's facts scan wants of the body (see BodySummary).
    marks: set = set()
    callees: list = []
    refs: list = []
    try:
        while True:
            # The instruction's class (see decode_instrs) decides both how its immediate is
            # decoded and the hot paths: numeric instructions (through the signature tables),
            # local.get and i32.const (the two most frequent instructions) end here.
            if raw is None:
                if k == nbody:
                    break
                op, imm, off = body[k]
                f = classes[op] if op < 256 else 7
            else:  # (no ``off``: errors are found again from the instructions, see _check_body)
                op = raw[pos]
                f = fast[op]
            k += 1
            if f == 0:  # no immediate
                if raw is not None:
                    imm = None
                    pos += 1
                if op >= _NUMERIC_FIRST:  # (what is below needs no look-up in the tables)
                    sig2 = bin_get(op)
                    if sig2 is not None:
                        t, r = sig2
                        if stack[-1] is t and stack[-2] is t:
                            del stack[-1]
                            stack[-1] = r
                        else:
                            pop(stack, frame, t, op)
                            pop(stack, frame, t, op)
                            stack.append(r)
                        continue
                    sig1 = un_get(op)
                    if sig1 is not None:
                        t, r = sig1
                        if stack[-1] is t:
                            stack[-1] = r
                        else:
                            pop(stack, frame, t, op)
                            stack.append(r)
                        continue
            elif f == 1:  # one u32 index
                if raw is not None:
                    v = raw[pos + 1]
                    if v < 0x80:
                        imm = v
                        pos += 2
                    elif raw[pos + 2] < 0x80:
                        imm = (v & 0x7F) | (raw[pos + 2] << 7)
                        pos += 3
                    else:
                        imm, pos = read_u32(raw, pos + 1)
                if op == _LOCAL_GET:
                    if imm >= nlocals:
                        raise ValidationError(f"unknown local {imm}")
                    if uninit and imm in uninit:
                        raise ValidationError(f"uninitialized local {imm}")
                    stack.append(locals_[imm])
                    continue
                elif op == _LOCAL_SET:
                    if imm >= nlocals:
                        raise ValidationError(f"unknown local {imm}")
                    t = locals_[imm]
                    if stack[-1] is t:
                        del stack[-1]
                    else:
                        pop(stack, frame, t, op)
                    if uninit and imm in uninit:
                        set_local(imm)
                    continue
                elif op == _LOCAL_TEE:
                    if imm >= nlocals:
                        raise ValidationError(f"unknown local {imm}")
                    t = locals_[imm]
                    if stack[-1] is not t:
                        pop(stack, frame, t, op)
                        stack.append(t)
                    if uninit and imm in uninit:
                        set_local(imm)
                    continue
            elif f == 2:  # i32.const (its value is not needed here, only its encoding)
                if raw is not None:
                    if raw[pos + 1] < 0x80:
                        pos += 2
                    elif raw[pos + 2] < 0x80:
                        pos += 3
                    else:
                        pos = read_s32(raw, pos + 1)[1]
                stack.append(i32)
                continue
            elif f == 3:  # loads and stores
                if raw is not None:
                    imm = raw[pos + 1]
                    v = raw[pos + 2]
                    if imm < 32 and v < 0x80:
                        imm = (imm, v, 0)
                        pos += 3
                    else:
                        imm, pos = _memarg(raw, pos + 1, dtables.feats)
                mem = imm[2]
                if mem >= nmems:
                    raise ValidationError(f"unknown memory {mem}")
                at = I64 if mems64[mem] else i32
                if at is i32 and imm[1] > 0xFFFFFFFF:
                    raise ValidationError("offset out of range")
                if op <= _LOAD_LAST:
                    natural, t = loads[op]
                    if imm[0] > natural:
                        raise ValidationError("alignment must not be larger than natural")
                    if stack[-1] is at:
                        stack[-1] = t
                    else:
                        pop(stack, frame, at, op)
                        stack.append(t)
                else:
                    natural, t = stores[op]
                    if imm[0] > natural:
                        raise ValidationError("alignment must not be larger than natural")
                    if stack[-1] is t and stack[-2] is at:
                        del stack[-2:]
                    else:
                        pop(stack, frame, t, op)
                        pop(stack, frame, at, op)
                continue
            elif f == 4 or f == 6:  # end, else
                if raw is not None:
                    imm = None
                    pos += 1
                res = frame[2]
                n = len(res)
                if not (
                    len(stack) == height + n
                    and (n == 0 or (n == 1 and stack[-1] is res[0]) or tuple(stack[height:]) == res)
                ):
                    _end_block(stack, frame, res, op)
                del stack[height:]
                kind = frame[0]
                if frame[6] is not None:
                    uninit.update(frame[6])  # what the block initialised is forgotten
                if op == _ELSE:
                    if kind != _IF:
                        raise ValidationError("else found outside of an `if` block")
                    bp = frame[1]
                    frame = [_ELSE, bp, res, height, False, res, None]
                    ctrl[-1] = frame
                    stack.extend(bp)
                    continue
                if kind == _IF and not (len(frame[1]) == n
                                        and all(map(matches, frame[1], res))):  # fmt: skip
                    # An `if` without `else` has an implicit empty else branch, which must turn
                    # the block parameters into its results.
                    raise ValidationError(
                        f"type mismatch: if without else must have matching param and result "
                        f"types, found {_types_str(frame[1])} -> {_types_str(res)}"
                    )
                del ctrl[-1]
                if not ctrl:
                    finished = True
                    break
                del stack[-1]  # the frame's _BOTTOM
                stack.extend(res)
                frame = ctrl[-1]
                height = frame[3]
                continue
            elif f == 5:  # block, loop, if
                if raw is not None:
                    imm = blocktype1.get(raw[pos + 1], missing)
                    if imm is missing:
                        imm, pos = _block_type(raw, pos + 1, dtables)
                    else:
                        pos += 2
                if op == _LOOP:
                    marks.add(op)
                elif op == _IF:
                    if stack[-1] is i32:
                        del stack[-1]
                    else:
                        pop(stack, frame, i32, op)
                if imm is None:  # [] -> []: most blocks (push_frame's work, inline)
                    stack.append(bottom)
                    height = len(stack)
                    frame = [op, (), (), height, False, (), None]
                    ctrl.append(frame)
                    continue
                if isinstance(imm, int) and imm >= ntypes:
                    raise ValidationError(f"unknown type {imm}")
                frame = push_frame(op, imm)
                height = frame[3]
                continue
            elif raw is None:
                pass
            elif f == 7 or f == 9:
                op, imm, pos = _decode_slow(op, raw, pos, has_data_count, dtables)
            else:
                raise DecodeError("illegal opcode", pos)
            if op == _BR_IF:
                if imm >= len(ctrl):
                    raise ValidationError(f"unknown label {imm}")
                if stack[-1] is i32:
                    del stack[-1]
                else:
                    pop(stack, frame, i32, op)
                lt = ctrl[-1 - imm][5]
                n = len(lt)
                if n and not (len(stack) - n >= height and tuple(stack[-n:]) == lt):
                    pop_vals(stack, frame, lt, op)
                    stack.extend(lt)
            elif op == _BR:
                if imm >= len(ctrl):
                    raise ValidationError(f"unknown label {imm}")
                pop_vals(stack, frame, ctrl[-1 - imm][5], op)
                del stack[height:]
                frame[4] = True
            elif op == _CALL:
                if imm >= nfuncs:
                    raise ValidationError(f"unknown function {imm}")
                marks.add(op)
                callees.append(imm)
                fp, fr = funcs[imm]
                if fp:
                    pop_vals(stack, frame, fp, op)
                stack.extend(fr)
            elif op == _GLOBAL_GET:
                if imm >= nglobals:
                    raise ValidationError(f"unknown global {imm}")
                stack.append(globals_[imm])
            elif op == _GLOBAL_SET:
                if imm >= nglobals:
                    raise ValidationError(f"unknown global {imm}")
                if not ctx.global_mut[imm]:
                    raise ValidationError("global is immutable")
                pop(stack, frame, globals_[imm], op)
            elif op == _I64_CONST:
                stack.append(I64)
            elif op == _F32_CONST:
                stack.append(F32)
            elif op == _F64_CONST:
                stack.append(F64)
            elif op == _DROP:
                if stack[-1] is not bottom:
                    del stack[-1]
                else:
                    _pop_any(stack, frame, op)
            elif op == _SELECT:
                pop(stack, frame, i32, op)
                t1 = _pop_any(stack, frame, op)
                t2 = _pop_any(stack, frame, op)
                if (t1 is not None and t1.is_ref) or (t2 is not None and t2.is_ref):
                    bad = t1 if t1 is not None and t1.is_ref else t2
                    raise ValidationError(
                        f"type mismatch: select without a type annotation requires numeric "
                        f"operands, found {bad}"
                    )
                if t1 is not t2 and t1 is not None and t2 is not None:
                    raise ValidationError(
                        f"type mismatch: select operands must have the same type, found "
                        f"{t2} and {t1}"
                    )
                stack.append(t2 if t1 is None else t1)
            elif op == _RETURN:
                pop_vals(stack, frame, results, op)
                del stack[height:]
                frame[4] = True
            elif op == _BR_TABLE:
                labels, default = imm
                pop(stack, frame, i32, op)
                depth = len(ctrl)
                if default >= depth:
                    raise ValidationError(f"unknown label {default}")
                dt = ctrl[-1 - default][5]
                arity = len(dt)
                seen: set = set()
                for lab in labels:
                    if lab >= depth:
                        raise ValidationError(f"unknown label {lab}")
                    lt = ctrl[-1 - lab][5]
                    if lt in seen:
                        # Re-checking the same label types against the same stack is a no-op.
                        continue
                    if len(lt) != arity:
                        raise ValidationError(
                            f"type mismatch: br_table targets have different arities "
                            f"({len(lt)} for label {lab}, {arity} for the default)"
                        )
                    stack.extend(pop_vals(stack, frame, lt, op))
                    seen.add(lt)
                pop_vals(stack, frame, dt, op)
                del stack[height:]
                frame[4] = True
            elif op == _CALL_INDIRECT or op == _RETURN_CALL_INDIRECT:
                marks.add(op)
                tidx, table = imm
                if table >= ntables:
                    raise ValidationError(f"unknown table {table}")
                if not matches(tables[table], FUNCREF):
                    raise ValidationError(
                        f"type mismatch: call_indirect table must have type funcref, "
                        f"found {tables[table]}"
                    )
                fp, fr = ctx.func_type(tidx)
                pop(stack, frame, _addr(ctx.table64[table]), op)
                if fp:
                    pop_vals(stack, frame, fp, op)
                if op == _CALL_INDIRECT:
                    stack.extend(fr)
                else:
                    tail_results(fr, "return_call_indirect's callee")
                    del stack[height:]
                    frame[4] = True
            elif op == _UNREACHABLE:
                del stack[height:]
                frame[4] = True
            elif op == _NOP:
                pass
            elif op == _SELECT_T:
                if len(imm) != 1:
                    raise ValidationError("invalid result arity")
                t = close(imm[0])
                pop(stack, frame, i32, op)
                pop(stack, frame, t, op)
                pop(stack, frame, t, op)
                stack.append(t)
            elif op == _MEMORY_SIZE or op == _MEMORY_GROW:
                if imm >= nmems:
                    raise ValidationError(f"unknown memory {imm}")
                at = _addr(mems64[imm])
                if op == _MEMORY_GROW:
                    pop(stack, frame, at, op)
                stack.append(at)
            elif op == _REF_NULL:
                stack.append(close(imm))
            elif op == _REF_IS_NULL:
                _pop_ref(stack, frame, op)
                stack.append(i32)
            elif op == _REF_FUNC:
                if imm >= nfuncs:
                    raise ValidationError(f"unknown function {imm}")
                if imm not in ctx.refs:
                    raise ValidationError(f"undeclared function reference {imm}")
                marks.add(op)
                refs.append(imm)
                stack.append(RefType(False, ctx.deftypes[ctx.func_types[imm]])
                             if typed_refs else FUNCREF)  # fmt: skip
            elif op == _TABLE_GET or op == _TABLE_SET:
                if imm >= ntables:
                    raise ValidationError(f"unknown table {imm}")
                t = tables[imm]
                at = _addr(ctx.table64[imm])
                if op == _TABLE_GET:
                    pop(stack, frame, at, op)
                    stack.append(t)
                else:
                    pop(stack, frame, t, op)
                    pop(stack, frame, at, op)
            elif op == _MEMORY_INIT or op == _DATA_DROP:
                if op == _MEMORY_INIT:
                    data, mem = imm
                    if mem >= nmems:
                        raise ValidationError(f"unknown memory {mem}")
                else:
                    data = imm
                if ctx.data_count is None:
                    raise ValidationError(f"data count section required ({opcode_name(op)})")
                if data >= ctx.data_count:
                    raise ValidationError(f"unknown data segment {data}")
                if op == _MEMORY_INIT:
                    _pop3(stack, frame, op, i32, i32, _addr(mems64[mem]))
            elif op == _MEMORY_COPY or op == _MEMORY_FILL:
                for mem in imm if op == _MEMORY_COPY else (imm,):
                    if mem >= nmems:
                        raise ValidationError(f"unknown memory {mem}")
                if op == _MEMORY_FILL:
                    at = _addr(mems64[imm])
                    _pop3(stack, frame, op, at, i32, at)
                else:
                    d64, s64 = mems64[imm[0]], mems64[imm[1]]
                    _pop3(stack, frame, op, _min_addr(d64, s64), _addr(s64), _addr(d64))
            elif op == _TABLE_INIT or op == _ELEM_DROP:
                elem = imm[0] if op == _TABLE_INIT else imm
                if op == _TABLE_INIT:
                    table = imm[1]
                    if table >= ntables:
                        raise ValidationError(f"unknown table {table}")
                if elem >= len(ctx.elem_types):
                    raise ValidationError(f"unknown elem segment {elem}")
                if op == _TABLE_INIT:
                    et = ctx.elem_types[elem]
                    if not matches(et, tables[table]):
                        raise ValidationError(
                            f"type mismatch: element segment {elem} has type {et}, "
                            f"table {table} has type {tables[table]}"
                        )
                    _pop3(stack, frame, op, i32, i32, _addr(ctx.table64[table]))
            elif op == _TABLE_COPY:
                dst, src = imm
                for table in (dst, src):
                    if table >= ntables:
                        raise ValidationError(f"unknown table {table}")
                if not matches(tables[src], tables[dst]):
                    raise ValidationError(
                        f"type mismatch: table.copy from table {src} of type {tables[src]} to "
                        f"table {dst} of type {tables[dst]}"
                    )
                d64, s64 = ctx.table64[dst], ctx.table64[src]
                _pop3(stack, frame, op, _min_addr(d64, s64), _addr(s64), _addr(d64))
            elif op == _TABLE_SIZE or op == _TABLE_GROW or op == _TABLE_FILL:
                if imm >= ntables:
                    raise ValidationError(f"unknown table {imm}")
                t = tables[imm]
                at = _addr(ctx.table64[imm])
                if op == _TABLE_GROW:
                    pop(stack, frame, at, op)
                    pop(stack, frame, t, op)
                elif op == _TABLE_FILL:
                    pop(stack, frame, at, op)
                    pop(stack, frame, t, op)
                    pop(stack, frame, at, op)
                    continue
                stack.append(at)
            elif op == _RETURN_CALL:
                if imm >= nfuncs:
                    raise ValidationError(f"unknown function {imm}")
                marks.add(op)
                callees.append(imm)
                fp, fr = funcs[imm]
                if fp:
                    pop_vals(stack, frame, fp, op)
                tail_results(fr, "return_call's callee")
                del stack[height:]
                frame[4] = True
            elif op == _CALL_REF or op == _RETURN_CALL_REF:
                marks.add(op)
                fp, fr = ctx.func_type(imm)
                pop(stack, frame, RefType(True, ctx.deftypes[imm]), op)
                if fp:
                    pop_vals(stack, frame, fp, op)
                if op == _CALL_REF:
                    stack.extend(fr)
                else:
                    tail_results(fr, "return_call_ref's callee")
                    del stack[height:]
                    frame[4] = True
            elif op == _REF_AS_NON_NULL:
                t = _pop_ref(stack, frame, op)
                stack.append(RefType(False, t.heap))
            elif op == _BR_ON_NULL:
                lt = label(imm)
                t = _pop_ref(stack, frame, op)
                if lt:
                    pop_vals(stack, frame, lt, op)
                    stack.extend(lt)
                stack.append(RefType(False, t.heap))
            elif op == _BR_ON_NON_NULL:
                lt = label(imm)
                if not lt or not lt[-1].is_ref:
                    raise ValidationError(
                        f"type mismatch: br_on_non_null's label must take a reference last, "
                        f"found {_types_str(lt)}"
                    )
                t = _pop_ref(stack, frame, op)
                if not matches(RefType(False, t.heap), lt[-1]):
                    raise ValidationError(
                        f"type mismatch: expected {lt[-1]}, found {t} (br_on_non_null)"
                    )
                rest = lt[:-1]
                if rest:
                    pop_vals(stack, frame, rest, op)
                    stack.extend(rest)
            elif op == _THROW:
                if imm >= len(ctx.tags):
                    raise ValidationError(f"unknown tag {imm}")
                tp = ctx.tags[imm]
                if tp:
                    pop_vals(stack, frame, tp, op)
                del stack[height:]
                frame[4] = True
            elif op == _THROW_REF:
                pop(stack, frame, EXNREF, op)
                del stack[height:]
                frame[4] = True
            elif op == _TRY_TABLE:
                bt, catches = imm
                if isinstance(bt, int) and bt >= ntypes:
                    raise ValidationError(f"unknown type {bt}")
                for kind, tag, lab in catches:
                    if kind <= CatchKind.CATCH_REF:
                        if tag >= len(ctx.tags):
                            raise ValidationError(f"unknown tag {tag}")
                        carried = ctx.tags[tag]
                    else:
                        carried = ()
                    if kind == CatchKind.CATCH_REF or kind == CatchKind.CATCH_ALL_REF:
                        carried = (*carried, _EXN)
                    lt = label(lab)
                    if len(lt) != len(carried) or not all(map(matches, carried, lt)):
                        raise ValidationError(
                            f"type mismatch: catch clause passes {_types_str(carried)} to a "
                            f"label of type {_types_str(lt)}"
                        )
                frame = push_frame(op, bt)
                height = frame[3]
            elif op >= SIMD_BASE:
                _simd(stack, frame, op, imm, mems64)
            elif op in UNARY:  # prefixed (0xfc): the saturating truncations
                t, r = UNARY[op]
                pop(stack, frame, t, op)
                stack.append(r)
            elif op == _REF_EQ:
                raise UnsupportedFeature("ref.eq: the GC proposal's instructions are not "
                                         "implemented")  # fmt: skip
            else:
                raise ValidationError(f"unknown operator {op:#x}")
    except ValidationError as e:
        if e.func_index is None and e.offset is None:
            raise type(e)(e.reason, func_index, off) from None
        raise
    if not finished:
        raise ValidationError("function body must end with an `end`", func_index, code.end)
    if raw is None:
        if k != nbody:
            raise ValidationError("operators remaining after end of function", func_index, off)
    elif pos != end:
        raise DecodeError("section size mismatch", min(pos, end))
    return BodySummary(k, marks, callees, refs)


def _pop3(stack: list, frame: list, op: int, t3, t2, t1) -> None:
    """Pop the three operands of a bulk memory/table instruction (``t3`` on top)."""
    if len(stack) - 3 >= frame[3] and stack[-1] is t3 and stack[-2] is t2 and stack[-3] is t1:
        del stack[-3:]
    else:
        _pop(stack, frame, t3, op)
        _pop(stack, frame, t2, op)
        _pop(stack, frame, t1, op)


# -- module-level rules -------------------------------------------------------------------------


def _simd(stack: list, frame: list, op: int, imm, mems64: list[bool]) -> None:
    """Type-check one SIMD instruction."""
    sig = SIMD_SIGS.get(op)
    if sig is None:
        raise ValidationError(f"unknown operator {op:#x}")
    params, results = sig
    natural = SIMD_NATURAL_ALIGN.get(op)
    if natural is not None:
        mem = imm[-1]
        if mem >= len(mems64):
            raise ValidationError(f"unknown memory {mem}")
        if imm[0] > natural:
            raise ValidationError("alignment must not be larger than natural")
        if mems64[mem]:
            params = (I64, *params[1:])  # the address
        elif imm[1] > 0xFFFFFFFF:
            raise ValidationError("offset out of range")
    lanes = SIMD_LANES.get(op)
    if lanes is not None:
        lane = imm[2] if natural is not None else imm
        if lane >= lanes:
            raise ValidationError("invalid lane index")
    if op == _SHUFFLE and any(b >= 32 for b in imm):
        raise ValidationError("invalid lane index")
    for t in reversed(params):
        _pop(stack, frame, t, op)
    stack.extend(results)


def _check_limits(limits: Limits, bound: int, too_big: str, what: str) -> None:
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        raise ValidationError(f"{too_big} ({what})")
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError(f"size minimum must not be greater than maximum ({what})")


def _check_table_limits(limits: Limits, is64: bool, what: str) -> None:
    if is64:
        _check_limits(limits, 0xFFFF_FFFF_FFFF_FFFF, "table size must be at most 2^64-1", what)
    else:
        _check_limits(limits, 0xFFFFFFFF, "table size must be at most 2^32-1 elements", what)


def _check_memory_limits(limits: Limits, is64: bool, what: str) -> None:
    if is64:
        _check_limits(limits, MAX_PAGES_64, "memory size must be at most 2^48 pages", what)
    else:
        _check_limits(limits, MAX_PAGES, "memory size must be at most 65536 pages (4GiB)", what)


_EXTENDED = frozenset({_I32_ADD, _I32_SUB, _I32_MUL, _I64_ADD, _I64_SUB, _I64_MUL})


def _const_expr(ctx: _Ctx, expr: tuple[Instr, ...], expected, what: str) -> None:
    """Check a constant expression and that it produces exactly one value of a subtype of
    ``expected``. It may read the immutable globals of ``ctx.n_const_globals`` (Wasm 2.0: the
    imported ones; 3.0: also the ones defined before)."""
    stack: list = []
    nfuncs = len(ctx.funcs)
    feats = ctx.feats
    for op, imm, off in expr:
        if op == _I32_CONST:
            stack.append(I32)
        elif op == _I64_CONST:
            stack.append(I64)
        elif op == _F32_CONST:
            stack.append(F32)
        elif op == _F64_CONST:
            stack.append(F64)
        elif op == _REF_NULL:
            try:
                stack.append(ctx.close(imm))
            except ValidationError as e:
                raise ValidationError(f"{e.reason} ({what})", None, off) from None
        elif op == _REF_FUNC:
            if imm >= nfuncs:
                raise ValidationError(f"unknown function {imm} ({what})", None, off)
            stack.append(RefType(False, ctx.deftypes[ctx.func_types[imm]])
                         if feats.function_references else FUNCREF)  # fmt: skip
        elif op == _GLOBAL_GET:
            if imm >= ctx.n_const_globals:
                raise ValidationError(f"unknown global {imm} ({what})", None, off)
            if ctx.global_mut[imm]:
                raise ValidationError(
                    f"constant expression required: global.get of mutable global {imm} ({what})",
                    None,
                    off,
                )
            stack.append(ctx.globals[imm])
        elif op == _V128_CONST:
            stack.append(V128)
        elif op in _EXTENDED and feats.extended_const:
            t = I32 if op <= _I32_MUL else I64
            if len(stack) < 2 or not (stack[-1] is t and stack[-2] is t):
                raise ValidationError(
                    f"type mismatch: {opcode_name(op)} expects [{t} {t}] ({what})", None, off
                )
            del stack[-1]
        else:
            why = ""
            if op in _EXTENDED:
                why = f": {disabled('extended_const')}"
            raise ValidationError(
                f"constant expression required: {opcode_name(op)} is not constant{why} ({what})",
                None,
                off,
            )
    if len(stack) != 1 or not matches(stack[0], expected):
        raise ValidationError(
            f"type mismatch: {what} must produce [{expected}], found {_types_str(stack)}",
            None,
            expr[-1].offset if expr else None,
        )


def _check_type_refs(t, limit: int, what: str) -> None:
    """A module-relative value type may only name types below ``limit``."""
    if isinstance(t, RefType) and isinstance(t.heap, int) and t.heap >= limit:
        raise ValidationError(f"unknown type {t.heap} ({what})")


def _comp_valtypes(c) -> list:
    if isinstance(c, FuncType):
        return [*c.params, *c.results]
    if isinstance(c, StructType):
        return [f.storage for f in c.fields if not isinstance(f.storage, PackedType)]
    st = c.element.storage
    return [] if isinstance(st, PackedType) else [st]


def _field_matches(f1, f2) -> bool:
    if f1.mutable != f2.mutable:
        return False
    if isinstance(f1.storage, PackedType) or isinstance(f2.storage, PackedType):
        return f1.storage is f2.storage
    if f1.mutable:  # invariant
        return f1.storage is f2.storage
    return matches(f1.storage, f2.storage)


def _comp_matches(c1, c2) -> bool:
    """Whether closed composite type ``c1`` may be declared a subtype of ``c2``."""
    if isinstance(c1, FuncType) and isinstance(c2, FuncType):
        return (len(c1.params) == len(c2.params) and len(c1.results) == len(c2.results)
                and all(map(matches, c2.params, c1.params))
                and all(map(matches, c1.results, c2.results)))  # fmt: skip
    if isinstance(c1, StructType) and isinstance(c2, StructType):
        return len(c1.fields) >= len(c2.fields) and all(map(_field_matches, c1.fields, c2.fields))
    if isinstance(c1, ArrayType) and isinstance(c2, ArrayType):
        return _field_matches(c1.element, c2.element)
    return False


def _check_types(module: Module, feats: Features) -> list[DefType]:
    """Check the type section (references within reach, declared supertypes) and return the
    canonical DefType of every type index."""
    types = module.types
    n = len(types)
    subtypes = module.subtypes or [(True, ())] * n
    rec_sizes = module.rec_sizes or [1] * n
    if len(subtypes) != n or sum(rec_sizes) != n:
        raise ValidationError("type section: inconsistent recursion groups")
    start = 0
    for size in rec_sizes:
        end = start + size
        for i in range(start, end):
            what = f"type {i}"
            for t in _comp_valtypes(types[i]):
                _check_type_refs(t, end, what)
            final, supers = subtypes[i]
            if len(supers) > 1:
                raise ValidationError(f"type {i} declares {len(supers)} supertypes: at most 1")
            for s in supers:
                if s >= i:
                    raise ValidationError(f"unknown type {s} (supertype of type {i})")
        start = end
    deftypes = canonicalize(types, subtypes, rec_sizes)
    for i, d in enumerate(deftypes):
        s = d.super
        if s is None:
            continue
        if s.final:
            raise ValidationError(f"type mismatch: type {i} extends a final type")
        if not _comp_matches(d.comp, s.comp):
            raise ValidationError(f"type mismatch: type {i} does not match its supertype")
    return deftypes


def validate_module(module: Module, features: Features | None = None,
                    bodies: bool = True, on_body=None) -> None:  # fmt: skip
    """Validate a decoded module (Wasm 3.0 without the GC instructions; ``features`` switches
    proposals off, default: all on).

    Function bodies are decoded here (see :class:`~wasm2py.binary.module.Code`), one at a time
    and in the same pass as their type check (no instruction list is made), so validating a
    large module needs little more memory than its bytes. A malformed body is reported before
    anything invalid, as if the module had been decoded completely first.

    Args:
        features: the enabled proposals (default: all).
        bodies: also decode and type-check every function body. False: only the module-level
            rules (then check each body with :class:`FunctionValidator` before running it).
        on_body: called with the :class:`~wasm2py.binary.module.BodySummary` of each valid
            body, in order (whoever needs a fact of every body saves a decode of its own).

    Raises:
        DecodeError: a function body is malformed.
        ValidationError: the module is invalid; ``reason`` uses the specification's wording
            (e.g. ``"type mismatch: ..."``, ``"unknown local 3"``) and, for errors inside a
            function body, ``func_index`` (function index space, imports included) and
            ``offset`` (byte offset of the offending instruction) say where.
        UnsupportedFeature: the module uses a GC instruction (not implemented).
    """
    pending: ValidationError | None = None
    try:
        ctx = _module_context(module, features)
    except ValidationError as e:
        if not bodies:
            raise
        pending, ctx = e, None
    if not bodies:
        return
    nimp = len(ctx.funcs) - len(module.funcs) if ctx is not None else 0
    with gc_paused():  # (small objects per instruction, none of them in a cycle)
        for i, code in enumerate(module.codes):
            if pending is None:
                # (if invalid, the remaining bodies are still decoded: malformed wins)
                summary, pending = _check_body(ctx, nimp + i, code)
                if pending is None and on_body is not None:
                    on_body(summary)
            else:
                code.locals, code.triples  # noqa: B018 (DecodeError if malformed)
    if pending is not None:
        raise pending


def _check_body(ctx: _Ctx, func_index: int,
                code: Code) -> tuple[BodySummary | None, ValidationError | None]:  # fmt: skip
    """Decode and type-check one body: in one pass over its bytes (:func:`_validate_function`
    without a body) and, if that finds anything wrong, again in two (decoded first, then
    checked), which gives the error the specification's order gives (malformed before
    invalid, at the offending instruction). Returns the body's summary, or the
    ValidationError of an invalid body.

    Raises:
        DecodeError: the body is malformed.
        UnsupportedFeature: it has a GC instruction (found by the decoder).
    """
    declared = code.locals
    framing = code.framing() if _ONE_PASS else None
    if framing is not None:
        try:
            return _validate_function(ctx, func_index, ctx.funcs[func_index], code, declared,
                                      None, framing), None  # fmt: skip
        except (ValidationError, DecodeError, IndexError):  # (UnsupportedFeature included)
            pass
    body = code.triples
    try:
        return _validate_function(ctx, func_index, ctx.funcs[func_index], code, declared,
                                  body), None  # fmt: skip
    except ValidationError as e:
        return None, e


class FunctionValidator:
    """Checks function bodies one at a time, after :func:`validate_module` checked the
    module-level rules with ``bodies=False`` (the lazy mode: a body is checked before it
    first runs).

    Raises (constructor):
        ValidationError: the module-level rules do not hold.
    """

    def __init__(self, module: Module, features: Features | None = None):
        self.module = module
        self._ctx = _module_context(module, features)
        self._nimp = len(self._ctx.funcs) - len(module.funcs)

    def check(self, func_index: int) -> list:
        """Decode and type-check the body of function ``func_index`` (a defined function).
        Returns the decoded instructions (a translator that comes next need not decode them
        again: bodies are decoded anew at each use, see :attr:`~wasm2py.binary.module.Code.body`).

        Raises:
            DecodeError: the body is malformed.
            ValidationError: the body is invalid.
        """
        code = self.module.codes[func_index - self._nimp]
        body = code.body
        _validate_function(self._ctx, func_index, self._ctx.funcs[func_index], code,
                           code.locals, body)  # fmt: skip
        return body


def _module_context(module: Module, features: Features | None) -> _Ctx:
    """Check the module-level rules; the context function bodies are checked in."""
    feats = ALL if features is None else features
    ctx = _Ctx(feats)
    ctx.deftypes = _check_types(module, feats)
    for d in ctx.deftypes:
        ctx.types.append((d.comp.params, d.comp.results) if d.kind == "func" else None)
    ntypes = len(ctx.types)
    close = ctx.close

    def func_sig(tidx: int, what: str) -> tuple[tuple, tuple]:
        if tidx >= ntypes:
            raise ValidationError(f"unknown type {tidx} ({what})")
        sig = ctx.types[tidx]
        if sig is None:
            raise ValidationError(f"type mismatch: type {tidx} of {what} is not a function type")
        return sig

    def tag_params(tidx: int, what: str) -> tuple:
        tp, tr = func_sig(tidx, what)
        if tr:
            raise ValidationError(f"non-empty tag result type ({what})")
        return tp

    def closed(t, what: str):
        try:
            return close(t)
        except ValidationError as e:
            raise ValidationError(f"{e.reason} ({what})") from None

    # Imports come first in every index space.
    for imp in module.imports:
        what = f"import {imp.module!r} {imp.name!r}"
        if imp.kind == ExternKind.FUNC:
            ctx.funcs.append(func_sig(imp.type, what))
            ctx.func_types.append(imp.type)
        elif imp.kind == ExternKind.TABLE:
            _check_table_limits(imp.type.limits, imp.type.is_64, what)
            ctx.tables.append(closed(imp.type.elem, what))
            ctx.table64.append(imp.type.is_64)
        elif imp.kind == ExternKind.MEMORY:
            _check_memory_limits(imp.type.limits, imp.type.is_64, what)
            ctx.mems64.append(imp.type.is_64)
        elif imp.kind == ExternKind.TAG:
            ctx.tags.append(tag_params(imp.type, what))
        else:
            ctx.globals.append(closed(imp.type.valtype, what))
            ctx.global_mut.append(imp.type.mutable)
    ctx.n_imported_globals = ctx.n_const_globals = len(ctx.globals)
    n_imported_funcs = len(ctx.funcs)

    for i, tidx in enumerate(module.funcs):
        ctx.funcs.append(func_sig(tidx, f"function {n_imported_funcs + i}"))
        ctx.func_types.append(tidx)
    nfuncs = len(ctx.funcs)
    for tidx in module.tags:
        ctx.tags.append(tag_params(tidx, f"tag {len(ctx.tags)}"))

    ctx.refs = module.func_refs()

    n_imported_tables = len(ctx.tables)
    for tt in module.tables:
        what = f"table {len(ctx.tables)}"
        _check_table_limits(tt.limits, tt.is_64, what)
        ctx.tables.append(closed(tt.elem, what))
        ctx.table64.append(tt.is_64)
    for mt in module.memories:
        _check_memory_limits(mt.limits, mt.is_64, f"memory {len(ctx.mems64)}")
        ctx.mems64.append(mt.is_64)
    if len(ctx.mems64) > 1 and not feats.multi_memory:
        raise ValidationError(f"multiple memories: {disabled('multi_memory')}")

    # Table initialisers see the imported globals only (the global section comes later).
    for k in range(len(module.tables)):
        index = n_imported_tables + k
        init = module.table_inits[k] if k < len(module.table_inits) else None
        t = ctx.tables[index]
        if init is not None:
            _const_expr(ctx, init, t, f"initializer of table {index}")
        elif not t.defaultable:
            raise ValidationError(f"type mismatch: table {index} of non-nullable type {t} needs "
                                  f"an initializer")  # fmt: skip

    # Global initialisers see the imported globals (Wasm 2.0's context C') and, in Wasm 3.0,
    # the globals defined before them.
    later_globals = feats.function_references or feats.gc
    for i, g in enumerate(module.globals):
        what = f"global {ctx.n_imported_globals + i}"
        t = closed(g.type.valtype, what)
        _const_expr(ctx, g.init, t, f"initializer of {what}")
        ctx.globals.append(t)
        ctx.global_mut.append(g.type.mutable)
        if later_globals:
            ctx.n_const_globals = len(ctx.globals)

    for i, e in enumerate(module.elems):
        what = f"element segment {i}"
        if not e.type.is_ref:
            raise ValidationError(f"type mismatch: {what} has non-reference type {e.type}")
        et = closed(e.type, what)
        for item in e.items:
            _const_expr(ctx, item, et, f"item of {what}")
        if e.mode is SegmentMode.ACTIVE:
            if e.table >= len(ctx.tables):
                raise ValidationError(f"unknown table {e.table} ({what})")
            if not matches(et, ctx.tables[e.table]):
                raise ValidationError(
                    f"type mismatch: {what} has type {et}, table {e.table} has type "
                    f"{ctx.tables[e.table]}"
                )
            if e.offset is None:
                raise ValidationError(f"type mismatch: active {what} has no offset")
            _const_expr(ctx, e.offset, _addr(ctx.table64[e.table]), f"offset of {what}")
        ctx.elem_types.append(et)

    for i, d in enumerate(module.datas):
        what = f"data segment {i}"
        if d.mode is SegmentMode.ACTIVE:
            if d.memory >= len(ctx.mems64):
                raise ValidationError(f"unknown memory {d.memory} ({what})")
            if d.offset is None:
                raise ValidationError(f"type mismatch: active {what} has no offset")
            _const_expr(ctx, d.offset, _addr(ctx.mems64[d.memory]), f"offset of {what}")
    ctx.data_count = module.data_count

    if module.start is not None:
        if module.start >= nfuncs:
            raise ValidationError(f"unknown function {module.start} (start function)")
        params, results = ctx.funcs[module.start]
        if params or results:
            raise ValidationError(
                f"start function must have type [] -> [], found "
                f"{_types_str(params)} -> {_types_str(results)}"
            )

    limits = {
        ExternKind.FUNC: (nfuncs, "function"),
        ExternKind.TABLE: (len(ctx.tables), "table"),
        ExternKind.MEMORY: (len(ctx.mems64), "memory"),
        ExternKind.GLOBAL: (len(ctx.globals), "global"),
        ExternKind.TAG: (len(ctx.tags), "tag"),
    }
    names: set[str] = set()
    for ex in module.exports:
        count, noun = limits[ex.kind]
        if ex.index >= count:
            raise ValidationError(f"unknown {noun} {ex.index} (export {ex.name!r})")
        if ex.name in names:
            raise ValidationError(f"duplicate export name {ex.name!r}")
        names.add(ex.name)

    if len(module.codes) != len(module.funcs):
        raise ValidationError("function and code section have inconsistent lengths")
    module.derived["deftypes"] = ctx.deftypes
    return ctx
