"""Suspending jitted frames: how a resumable call pauses and resumes in the LLVM tier (the
Asyncify idea, compiled in only where a pause can happen).

**Which functions.** A call pauses when a host function raises (or, with fuel, a check fails).
:func:`pausable_funcs` finds the functions that can reach such a call: those calling an import,
``call_indirect`` or ``call_ref``, and their callers, transitively. Only their call sites get
the code below; other functions are compiled as before.

**Pausing.** While a resumable call runs, the runtime reports a pausing host error with the
status :data:`abi.SUSPEND` instead of ``HOST_EXCEPTION``. A call site that sees it (on the
failure path its status check already has: nothing is added to the normal path) *spills* its
frame into a buffer on its stack: the resume point, the remaining depth, the wasm locals and the
live operands below the call, and the types of the callee's results; it hands the buffer to the
runtime's suspend callback (``rt[RT_SUSPEND_CB]``), which turns it into a wasm-level
:class:`~wasm2py.runtime.resumable.FrameRecord`, and returns with the status kept, so its caller
spills in turn. Buffer layout (64-bit words)::

    key, rem, function index, local words, stack values, result types,
    result type codes..., stack type codes..., local words..., stack words...

**Resuming.** A pausable function's entry tests ``rt[RT_RESUME]`` (one load and a branch that is
never taken in plain calls); when set, it clears it and switches on the buffer's key to the
resume block of that call site, which restores the locals, takes the callee's results from the
buffer and joins the code after the call, where phis merge the operands and results of the two
ways in. Resume buffer layout::

    key, 0, 0, 0, result words..., local words..., stack words...

A wasm exception that the resumed callee raised is resumed with the ``EXCEPTION`` status set, so
the call's status check hands it to the enclosing ``try_table`` as for a plain call.

**Limits.** Operands that stay live across the end of an enclosing block are SSA values from
before it: the resume block cannot redefine them for the code after that block. A call site
with such operands below it marks its function (a global ``w2p_nosuspend_<index>``), and
resumable calls of a module with any such function run in the Python tier, as before.
"""

from __future__ import annotations

from collections import defaultdict

from llvmlite import ir

from ..binary.opcodes import Op
from ..types import ValType
from . import abi

I32 = ir.IntType(32)
I64 = ir.IntType(64)

#: the type codes of buffer values (results by wasm type, operands by their LLVM type)
CODE_I32, CODE_I64, CODE_F32, CODE_F64, CODE_V128, CODE_FUNCREF, CODE_REF = range(7)
_INDIRECT = frozenset({Op.CALL_INDIRECT, Op.RETURN_CALL_INDIRECT, Op.CALL_REF,
                       Op.RETURN_CALL_REF})  # fmt: skip
_DIRECT = frozenset({Op.CALL, Op.RETURN_CALL})


def nosuspend_name(index: int) -> str:
    """The global that marks function ``index`` as unable to resume natively."""
    return f"w2p_nosuspend_{index}"


def pausable_funcs(module) -> frozenset[int]:
    """The defined functions that may reach a host call (directly, through a table or a
    reference, or through other such functions)."""
    nimp = module.num_imported_funcs
    callers: dict[int, set[int]] = defaultdict(set)
    found: set[int] = set()
    for k, code in enumerate(module.codes):
        index = nimp + k
        for ins in code.body:
            op = ins.op
            if op in _DIRECT:
                if ins.imm < nimp:
                    found.add(index)
                else:
                    callers[ins.imm].add(index)
            elif op in _INDIRECT:
                found.add(index)
    work = list(found)
    while work:
        for caller in callers.get(work.pop(), ()):
            if caller not in found:
                found.add(caller)
                work.append(caller)
    return frozenset(found)


def value_code(t: ValType) -> int:
    """A wasm value type's buffer code."""
    if t in (ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128):
        return (ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128).index(t)
    return CODE_FUNCREF if t.storage is ValType.FUNCREF else CODE_REF


def _llvm_valtype(t: ir.Type) -> ValType:
    """The wasm type an operand of LLVM type ``t`` is stored as (a reference is an i64)."""
    if isinstance(t, ir.VectorType):
        return ValType.V128
    if isinstance(t, ir.FloatType):
        return ValType.F32
    if isinstance(t, ir.DoubleType):
        return ValType.F64
    return ValType.I32 if t.width == 32 else ValType.I64


def width(t: ValType) -> int:
    """Words a value of type ``t`` takes in a buffer."""
    return 2 if t is ValType.V128 else 1


class Suspender:
    """The suspend and resume code of one pausable function (see the module docstring); the
    :class:`~.lower.FunctionLowerer` calls :meth:`call_site` after each call that is not a tail
    call, :meth:`divert` on its status check's failure path, and :meth:`finish` last."""

    def __init__(self, fl):
        from .lower import c64

        self.fl = fl
        ab = fl.ab
        #: the resume buffer's address, or 0 (loaded in the entry block: dominates all)
        self.buf = ab.load(ab.gep(fl.rt(), [c64(abi.RT_RESUME)], source_etype=I64), typ=I64)
        self.sites: list[tuple[int, ir.Block]] = []
        #: (key, operands, result types) of the call whose status check is being lowered
        self.site = None

    def call_site(self, r, ft) -> list:
        """After call result ``r`` of type ``ft``: the results to push, merged with those a
        resume at this call brings (the operands on the stack are merged likewise)."""
        from .lower import _unpack, c64, load_slot

        fl = self.fl
        b = fl.b
        vals = _unpack(b, r, len(ft.results))
        key = fl.offset * 4  # resumable.KIND_CODES["call"] == 0
        live = fl.stack
        if live and fl.ctl[-1].height > 0:
            # operands below the innermost block: see "Limits"
            fl.mb.nosuspend.add(fl.index)
            return vals
        pre = b.block
        cont = fl.fn.append_basic_block("resumed")
        b.branch(cont)
        rb = fl.fn.append_basic_block("resume")
        b.position_at_end(rb)
        p = b.inttoptr(self.buf, ir.PointerType())
        off = 4

        def word(k):
            return b.gep(p, [c64(k)], source_etype=I64)

        rvals = []
        for t in ft.results:
            rvals.append(load_slot(b, word(off), t))
            off += width(t)
        for a, t in zip(fl.locals, fl.local_types):
            b.store(load_slot(b, word(off), t), a)
            off += width(t)
        svals = []
        for v in live:
            t = _llvm_valtype(v.type)
            svals.append(load_slot(b, word(off), t))
            off += width(t)
        b.branch(cont)
        b.position_at_end(cont)

        def merge(v, w):
            phi = b.phi(v.type)
            phi.add_incoming(v, pre)
            phi.add_incoming(w, rb)
            return phi

        fl.stack[:] = [merge(v, w) for v, w in zip(live, svals)]
        vals = [merge(v, w) for v, w in zip(vals, rvals)]
        fl.known = {}  # the locals were restored on the way in
        self.sites.append((key, rb))
        self.site = (key, list(fl.stack), ft)
        return vals

    def divert(self, st) -> None:
        """On the failure path of the status check after the current call site: a
        ``SUSPEND`` status spills the frame and returns (the builder continues on the other
        failures' path)."""
        from .lower import _Callee, c32, c64, store_slot

        fl = self.fl
        key, live, ft = self.site
        self.site = None
        b = fl.b
        spill = fl.fn.append_basic_block("spill")
        other = fl.fn.append_basic_block("failed")
        b.cbranch(b.icmp_unsigned("==", st, c64(abi.SUSPEND)), spill, other)
        sb = type(b)(spill)
        ltypes = fl.local_types
        stypes = [_llvm_valtype(v.type) for v in live]
        lwords = sum(map(width, ltypes))
        swords = sum(map(width, stypes))
        head = [key, None, fl.index, lwords, len(live), len(ft.results)]
        codes = [value_code(t) for t in ft.results] + [value_code(t) for t in stypes]
        n = len(head) + len(codes) + lwords + swords
        buf = sb.alloca(ir.ArrayType(I64, n))

        def word(k):
            return sb.gep(buf, [c32(0), c32(k)])

        for k, h in enumerate(head):
            sb.store(sb.sext(fl.rem, I64) if h is None else c64(h), word(k))
        off = len(head)
        for c in codes:
            sb.store(c64(c), word(off))
            off += 1
        for a, t in zip(fl.locals, ltypes):
            store_slot(sb, sb.load(a), word(off), t)
            off += width(t)
        for v, t in zip(live, stypes):
            store_slot(sb, v, word(off), t)
            off += width(t)
        cb = sb.load(sb.gep(fl.rt(), [c64(abi.RT_SUSPEND_CB)], source_etype=I64),
                     typ=ir.PointerType())  # fmt: skip
        fty = ir.FunctionType(ir.VoidType(), [ir.PointerType(), ir.PointerType(), I64])
        sb.call(_Callee(cb, fty), [fl.ctx, buf, c64(n)])
        fl._ret_undef(sb)
        b.position_at_end(other)

    def finish(self) -> None:
        """End the entry block: to the body, or (resuming) to the resume point's block."""
        from .lower import c64

        fl = self.fl
        ab = fl.ab
        dispatch = fl.fn.append_basic_block("dispatch")
        br = ab.cbranch(ab.icmp_unsigned("!=", self.buf, c64(0)), dispatch, fl.start)
        br.set_metadata("prof", fl.mb.unlikely)
        db = type(ab)(dispatch)
        db.store(c64(0), db.gep(fl.rt(), [c64(abi.RT_RESUME)], source_etype=I64))
        key = db.load(db.inttoptr(self.buf, ir.PointerType()), typ=I64)
        bad = fl.fn.append_basic_block("no_point")
        type(ab)(bad).unreachable()
        sw = db.switch(key, bad)
        for k, rb in self.sites:
            sw.add_case(c64(k), rb)

