"""Suspending jitted frames: how a resumable call pauses and resumes in the LLVM tier (the
Asyncify idea, compiled in only where a pause can happen).

**Which functions.** A call pauses when a host function raises (or, with fuel, a check fails).
:func:`.facts.pausable_funcs` finds the functions that can reach such a call: those calling an import,
and their callers, transitively; ``call_indirect``/``call_ref`` count when a host function can
get into a table or reference (the module imports or exports a table, takes references from
the host...) or a function a reference can name is itself pausable. Only these functions get
the code below (about as much LLVM work again as the function itself); other functions are
compiled as before.

**Pausing.** While a resumable call runs, the runtime reports a pausing host error with the
status :data:`abi.SUSPEND` instead of ``HOST_EXCEPTION``. A call site that sees it (on the
failure path its status check already has: nothing is added to the normal path) *spills* its
frame into a buffer on its stack (the locals in a block all its points share): the resume point, the remaining depth, the wasm locals and the
live operands below the call, and the types of the callee's results; it hands the buffer to the
runtime's suspend callback (``rt[RT_SUSPEND_CB]``), which turns it into a wasm-level
:class:`~wasm2py.runtime.resumable.FrameRecord`, and returns with the status kept, so its caller
spills in turn. Buffer layout (64-bit words)::

    key, rem, function index, local words, stack values, result types, fuel required,
    local words..., result type codes..., stack type codes..., stack words...

**Resuming.** A pausable function's entry tests ``rt[RT_RESUME]`` (one load and a branch that is
never taken in plain calls); when set, it clears it and switches on the buffer's key to the
resume block of that call site, which restores the locals, takes the callee's results from the
buffer and joins the code after the call, where phis merge the operands and results of the two
ways in. Resume buffer layout::

    key, 0, 0, 0, local words..., result words..., stack words...

A wasm exception that the resumed callee raised is resumed with the ``EXCEPTION`` status set, so
the call's status check hands it to the enclosing ``try_table`` as for a plain call.

**Fuel checks** are pause points too (with fuel metering every function is pausable): when
a check fails while a resumable call runs (``rt[RT_RESUMABLE]``), the frame spills with the
fuel it needs and the status ``SUSPEND``, instead of trapping; its resume block restores the
frame, reloads the fuel and runs the check again.

**Operands below a block.** A resume block can redefine the operands of its own block (phis
where the resume path joins), but an operand kept below an enclosing block is an SSA value from
before that block, used after its end, which the resume path does not pass. So in pausable
functions such operands also live in *homes* (an alloca per stack index and type): every block
stores the operands below it into their homes as it begins, resume blocks store the restored
values there, and the code after a block's end reloads them. ``mem2reg`` turns the homes back
into SSA values and phis: nothing is left of them where nothing pauses.
"""

from __future__ import annotations

from llvmlite import ir

from ..errors import TrapCode
from ..types import ValType
from . import abi

I32 = ir.IntType(32)
I64 = ir.IntType(64)

#: the type codes of buffer values (results by wasm type, operands by their LLVM type)
CODE_I32, CODE_I64, CODE_F32, CODE_F64, CODE_V128, CODE_FUNCREF, CODE_REF = range(7)
#: buffer type code -> the type its value is read and written as
CODE_TYPES = (ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128, ValType.FUNCREF,
              ValType.EXTERNREF)  # fmt: skip
def value_code(t: ValType) -> int:
    """A wasm value type's buffer code."""
    if t in CODE_TYPES[:CODE_FUNCREF]:
        return CODE_TYPES.index(t)
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


#: words before the locals in a spill buffer, and in a resume buffer
SPILL_HEAD = 7
RESUME_HEAD = 4


def width(t: ValType) -> int:
    """Words a value of type ``t`` takes in a buffer."""
    return 2 if t is ValType.V128 else 1


class Suspender:
    """The suspend and resume code of one pausable function (see the module docstring). The
    :class:`~.lower.FunctionLowerer` calls :meth:`call_site` after each call that is not a tail
    call and :meth:`divert` on its status check's failure path; :meth:`fuel_point` before a
    fuel check and :meth:`fuel_check` for its test; :meth:`keep` as a block begins,
    :meth:`reload` after it ends; :meth:`finish` last."""

    def __init__(self, fl):
        from .lower import c64

        self.fl = fl
        ab = fl.ab
        #: the resume buffer's address, or 0 (loaded in the entry block: dominates all)
        self.buf = ab.load(ab.gep(fl.rt(), [c64(abi.RT_RESUME)], source_etype=I64), typ=I64)
        self.sites: list[tuple[int, ir.Block]] = []
        #: (key, operands, result types) of the call whose status check is being lowered
        self.site = None
        #: (stack index, LLVM type) -> the alloca homing operands below blocks
        self.homes: dict = {}
        self._tail: ir.Block | None = None  # the shared spill block
        self._buf = None
        self._buf_words = 0

    def home(self, k: int, t: ir.Type):
        a = self.homes.get((k, str(t)))
        if a is None:
            a = self.homes[k, str(t)] = self.fl.ab.alloca(t, name=f"home{k}")
        return a

    def keep(self, height: int) -> None:
        """A block begins with ``height`` operands below it: store them in their homes."""
        fl = self.fl
        for k in range(height):
            v = fl.stack[k]
            fl.b.store(v, self.home(k, v.type))

    def reload(self, height: int) -> None:
        """After a block's end: the ``height`` operands below it from their homes."""
        fl = self.fl
        st = fl.stack
        for k in range(height):
            st[k] = fl.b.load(self.home(k, st[k].type))

    def _resume_block(self, results, cont_name: str, direct: bool = False):
        """End the current block with a branch to a new join block; make the resume block
        that restores the frame (and loads ``results``) and joins there. Returns (the block
        before, the resume block, the loaded results); the builder is at the join block, the
        operands of the innermost block are phis, those below it reloaded from their homes.
        ``direct``: when there is nothing to load (no results, no operands), the join block
        is the resume point itself (a resume block that only branched there was two IR
        lines per call site)."""
        from .lower import c64, load_slot

        fl = self.fl
        b = fl.b
        pre = b.block
        cont = fl.fn.append_basic_block(cont_name)
        b.branch(cont)
        live = fl.stack
        if direct and not results and not live:
            b.position_at_end(cont)
            return pre, cont, [], None, 0
        rb = fl.fn.append_basic_block("resume")
        b.position_at_end(rb)
        # (nothing to read when the point has no results and no operands)
        p = b.inttoptr(self.buf, ir.PointerType()) if results or live else None
        off = RESUME_HEAD + self.lwords  # (the dispatch block restored the locals)

        def word(k):
            return b.gep(p, [c64(k)], source_etype=I64)

        rvals = []
        for t in results:
            rvals.append(load_slot(b, word(off), t))
            off += width(t)
        h = min(fl.ctl[-1].height, len(live))
        svals = []
        for k, v in enumerate(live):
            t = _llvm_valtype(v.type)
            w = load_slot(b, word(off), t)
            off += width(t)
            if k < h:
                b.store(w, self.home(k, v.type))
            svals.append(w)
        b.branch(cont)
        b.position_at_end(cont)

        def merge(v, w):
            phi = b.phi(v.type)
            phi.add_incoming(v, pre)
            phi.add_incoming(w, rb)
            return phi

        live[h:] = [merge(v, svals[k]) for k, v in enumerate(live) if k >= h]
        return pre, rb, rvals, merge, h

    def _rest(self, h: int) -> None:
        """After the join's phis: the operands below the innermost block from their homes."""
        fl = self.fl
        live = fl.stack
        live[:h] = [fl.b.load(self.home(k, v.type)) for k, v in enumerate(live[:h])]
        fl.known = {}  # the locals were restored on the way in

    def call_site(self, r, ft) -> list:
        """After call result ``r`` of type ``ft``: the results to push, merged with those a
        resume at this call brings (the operands on the stack are merged likewise)."""
        from .lower import _unpack

        fl = self.fl
        vals = _unpack(fl.b, r, len(ft.results))
        key = fl.offset * 4  # resumable.KIND_CODES["call"] == 0
        _, rb, rvals, merge, h = self._resume_block(ft.results, "resumed", direct=True)
        vals = [merge(v, w) for v, w in zip(vals, rvals)]
        self._rest(h)
        self.sites.append((key, rb))
        self.site = (key, list(fl.stack), ft.results)
        return vals

    def fuel_point(self, code: int, offset: int) -> None:
        """A fuel check (``code``: 1 a segment's, 2 a bulk instruction's) follows: make its
        resume point, keyed by ``offset`` (it reloads the fuel and checks again)."""
        from .lower import c64

        fl = self.fl
        key = offset * 4 + code
        _, rb, _, _, h = self._resume_block((), "check")
        self._rest(h)
        b = fl.b
        here = b.block
        # (the resume block's last instruction is its branch: reload the fuel before it)
        b.position_before(rb.terminator)
        b.store(b.load(b.gep(fl.rt(), [c64(abi.RT_FUEL)], source_etype=I64), typ=I64), fl.fuel)
        b.position_at_end(here)
        self.sites.append((key, rb))
        self.site = (key, list(fl.stack), ())

    def fuel_check(self, cond, required) -> None:
        """Branch on ``cond`` (the fuel does not cover ``required``, an i64) to a pause while
        a resumable call runs, else to the trap."""
        from .lower import c64

        fl = self.fl
        b = fl.b
        out = fl.fn.append_basic_block("out_of_fuel")
        ok = fl.fn.append_basic_block()
        br = b.cbranch(cond, out, ok)
        br.set_metadata("prof", fl.mb.unlikely)
        b.position_at_end(out)
        flag = b.load(b.gep(fl.rt(), [c64(abi.RT_RESUMABLE)], source_etype=I64), typ=I64)
        spill = fl.fn.append_basic_block("fuel_pause")
        b.cbranch(b.icmp_unsigned("!=", flag, c64(0)), spill,
                  fl._to_trap(TrapCode.OUT_OF_FUEL))  # fmt: skip
        sb = type(b)(spill)
        fl.fuel_out(sb)
        sb.store(c64(abi.SUSPEND), sb.gep(fl.rt(), [c64(abi.RT_TRAP)], source_etype=I64))
        self._spill(sb, required)
        b.position_at_end(ok)

    def divert(self, st, other=None) -> None:
        """On the failure path of the status check after the current call site: a
        ``SUSPEND`` status spills the frame and returns; other failures go to block
        ``other`` (None: a new block, where the builder continues). A point with no
        results and no operands has nothing of its own to write: it goes straight to the
        shared spill block (its own block, a branch there, was two IR lines per call
        site; so was a block of other failures that only branched on)."""
        from .lower import c64

        fl = self.fl
        b = fl.b
        key, live, results = self.site
        if live or results:
            spill = fl.fn.append_basic_block("spill")
            self._spill(type(b)(spill), c64(0))
        else:
            self.site = None
            spill = self._spill_tail()
            n = SPILL_HEAD + self.lwords
            buf = self._buffer(n)
            for phi, v in zip(spill.phis, (buf, c64(n), c64(key), c64(0), c64(0), c64(0))):
                phi.add_incoming(v, b.block)
        made = other is None
        if made:
            other = fl.fn.append_basic_block("failed")
        b.cbranch(b.icmp_unsigned("==", st, c64(abi.SUSPEND)), spill, other)
        if made:
            b.position_at_end(other)

    def _spill(self, sb, required) -> None:
        """Spill the frame at the current point (:attr:`site`) and return: this point's part
        of the buffer here, then the function's shared spill block (the locals)."""
        from .lower import c64, store_slot

        key, live, results = self.site
        self.site = None
        stypes = [_llvm_valtype(v.type) for v in live]
        swords = sum(map(width, stypes))
        codes = [value_code(t) for t in results] + [value_code(t) for t in stypes]
        n = SPILL_HEAD + self.lwords + len(codes) + swords
        buf = self._buffer(n)

        def word(k):
            return sb.gep(buf, [c64(k)], source_etype=I64)

        off = SPILL_HEAD + self.lwords
        for c in codes:
            sb.store(c64(c), word(off))
            off += 1
        for v, t in zip(live, stypes):
            store_slot(sb, v, word(off), t)
            off += width(t)
        tail = self._spill_tail()
        here = sb.block
        # (the head's words that differ by point come in through phis)
        for phi, v in zip(tail.phis, (buf, c64(n), c64(key), c64(len(live)), c64(len(results)),
                                      required)):  # fmt: skip
            phi.add_incoming(v, here)
        sb.branch(tail)

    def _buffer(self, n: int):
        """The function's spill buffer (``n`` words at least): one static alloca in the entry
        block, sized for the biggest point by :meth:`finish` (an alloca per point, outside the
        entry block, would make every frame of the function dynamic)."""
        buf = self._buf
        if buf is None:
            # (a pointer to words: the array type is set once its size is known)
            buf = self._buf = self.fl.ab.alloca(I64, name="spill_buf")
        self._buf_words = max(self._buf_words, n)
        return buf

    @property
    def lwords(self) -> int:
        """Words the locals take in a buffer."""
        return sum(map(width, self.fl.local_types))

    def _spill_tail(self) -> ir.Block:
        """The shared end of every spill: the locals into the buffer (after its 7-word head),
        the suspend callback, return."""
        from .lower import _Callee, c64, store_slot

        tail = self._tail
        if tail is not None:
            return tail
        fl = self.fl
        tail = self._tail = fl.fn.append_basic_block("spill_frame")
        tb = type(fl.b)(tail)
        tail.phis = [tb.phi(ir.PointerType())] + [tb.phi(I64) for _ in range(5)]
        buf, n, key, nstack, nres, required = tail.phis
        head = [key, tb.sext(fl.rem, I64), c64(fl.index), c64(self.lwords), nstack, nres,
                required]  # fmt: skip
        for k, h in enumerate(head):
            tb.store(h, tb.gep(buf, [c64(k)], source_etype=I64))
        tail.buf = buf
        tail.n = n
        off = SPILL_HEAD
        for k, (a, t) in enumerate(zip(fl.locals, fl.local_types)):
            v = tb.load(a)
            if k in fl.raw_locals:  # (it holds an unchecked NaN: a record holds what
                # local.get would give, which the Python tier and a pickle take as it is)
                v = tb.select(tb.fcmp_unordered("uno", v, v), fl.canon_nan(v.type), v)
            store_slot(tb, v, tb.gep(tail.buf, [c64(off)], source_etype=I64), t)
            off += width(t)
        cb = tb.load(tb.gep(fl.rt(), [c64(abi.RT_SUSPEND_CB)], source_etype=I64),
                     typ=ir.PointerType())  # fmt: skip
        fty = ir.FunctionType(ir.VoidType(), [ir.PointerType(), ir.PointerType(), I64])
        tb.call(_Callee(cb, fty), [fl.ctx, tail.buf, tail.n])
        fl._ret_undef(tb)
        return tail

    def loop_point(self, frame) -> None:
        """On-stack replacement at the header of loop ``frame`` (just made; the builder's block
        has branched to it): a resume point keyed by the loop's offset (kind 3), whose block
        takes the operands below the loop into their homes and the loop's parameters into
        its slots, and joins the header. A Python-tier frame hands its locals and operands
        over here at the top of an iteration, before the iteration's fuel is charged."""
        from .lower import c64, load_slot

        fl = self.fl
        rb = fl.fn.append_basic_block("osr")
        b = type(fl.b)(rb)
        p = b.inttoptr(self.buf, ir.PointerType())
        off = RESUME_HEAD + self.lwords
        for k, v in enumerate(fl.stack[: frame.height]):
            w = load_slot(b, b.gep(p, [c64(off)], source_etype=I64), _llvm_valtype(v.type))
            b.store(w, self.home(k, v.type))
            off += width(_llvm_valtype(v.type))
        for slot in frame.slots:
            t = _llvm_valtype(slot.allocated_type)
            b.store(load_slot(b, b.gep(p, [c64(off)], source_etype=I64), t), slot)
            off += width(t)
        b.branch(frame.header)
        self.sites.append((fl.offset * 4 + 3, rb))

    def finish(self) -> None:
        """End the entry block: to the body, or (resuming) through the restoring of the
        locals to the resume point's block."""
        from .lower import c64, load_slot

        fl = self.fl
        ab = fl.ab
        buf = self._buf
        if buf is not None:  # (its size is known now: see _buffer)
            t = ir.ArrayType(I64, self._buf_words)
            buf._text = f"{buf.get_reference()} = alloca {t}"
            buf.allocated_type = t
        dispatch = fl.fn.append_basic_block("dispatch")
        br = ab.cbranch(ab.icmp_unsigned("!=", self.buf, c64(0)), dispatch, fl.start)
        br.set_metadata("prof", fl.mb.unlikely)
        db = type(ab)(dispatch)
        db.store(c64(0), db.gep(fl.rt(), [c64(abi.RT_RESUME)], source_etype=I64))
        p = db.inttoptr(self.buf, ir.PointerType())
        off = RESUME_HEAD
        for a, t in zip(fl.locals, fl.local_types):
            db.store(load_slot(db, db.gep(p, [c64(off)], source_etype=I64), t), a)
            off += width(t)
        key = db.load(p, typ=I64)
        # (a key this function has no point for would be the runtime's mistake: trap, do
        # not jump into the void)
        bad = fl.fn.append_basic_block("no_point")
        trap = fl.trap_block(TrapCode.UNREACHABLE)
        trap.offset.add_incoming(fl.where(0), bad)
        type(ab)(bad).branch(trap)
        sw = db.switch(key, bad)
        for k, rb in self.sites:
            sw.add_case(c64(k), rb)
