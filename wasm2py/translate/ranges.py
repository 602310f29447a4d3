"""Value ranges of integer operands, from the guards that dominate them, done before translation.

The Python tier keeps i32/i64 values as unsigned ints in ``[0, 2**N)`` and wraps every sum and
difference: ``l0 - 1 if l0 >= 1 else l0 + 4294967295`` for a decrement. Where the guards the
code has passed already prove that the operands cannot wrap (``fib``'s ``n - 1`` under
``n >=s 2``), the plain ``l0 - 1`` is exact. :func:`operand_ranges` finds such operands: an
abstract interpretation of the body over intervals, in the unsigned view the translator uses.

What it tracks, per program point:

* for each integer local, an interval ``[lo, hi]`` it is certain to lie in (missing: any value
  of its type), and a *version*: a fresh id at every write, so that a fact learnt about the
  value a local had (a comparison made earlier) is applied to that value only;
* how versions relate: a write of ``x + c`` that cannot wrap records ``new = old + c`` exactly,
  so a comparison made before ``x -= 2`` still bounds ``x`` after it (clang computes a loop's
  condition before its decrement);
* for the operand stack, the same intervals, and for comparison results (also once stored in a
  local) what they tell about the compared local when true or false.

Branches (``br_if``, ``if``) refine the local on each way out; paths meet with the hull of their
intervals. A ``loop``'s head must hold for every iteration: the locals the loop writes keep
only their lower bound from the entry (a counter stepping down under a guard), and a first
pass over the body checks that its back edges keep that; if they do not, those locals are
unknown at the head (always sound). Only the last pass, whose head facts hold, records results.
Anything unexpected (an opcode not modelled, a body costing too many steps) gives up: no facts.

Results: for each ``add``/``sub``/``mul`` and signed comparison whose operands are both known,
their intervals, by instruction position (the translator decides from them whether the form it
emits can wrap: see ``FuncGen.op_int_wrap``).
"""

from __future__ import annotations

from ..binary.opcodes import Op
from ..types import ValType
from ..validate.frames import _EFFECT, _block_arity

_I32, _I64 = ValType.I32, ValType.I64
_TOP = {_I32: 0xFFFFFFFF, _I64: 0xFFFFFFFFFFFFFFFF}

(_BLOCK, _LOOP, _IF, _ELSE, _END, _BR, _BR_IF, _BR_TABLE, _RETURN, _UNREACHABLE, _CALL,
 _CALL_INDIRECT, _CALL_REF, _TRY_TABLE, _LOCAL_GET, _LOCAL_SET, _LOCAL_TEE, _I32_CONST,
 _I64_CONST, _SELECT, _SELECT_T, _BR_ON_NULL, _BR_ON_NON_NULL, _REF_EQ) = (int(op) for op in (
    Op.BLOCK, Op.LOOP, Op.IF, Op.ELSE, Op.END, Op.BR, Op.BR_IF, Op.BR_TABLE, Op.RETURN,
    Op.UNREACHABLE, Op.CALL, Op.CALL_INDIRECT, Op.CALL_REF, Op.TRY_TABLE, Op.LOCAL_GET,
    Op.LOCAL_SET, Op.LOCAL_TEE, Op.I32_CONST, Op.I64_CONST, Op.SELECT, Op.SELECT_T,
    Op.BR_ON_NULL, Op.BR_ON_NON_NULL, Op.REF_EQ))  # fmt: skip
#: code after these is unreachable until the next ``else``/``end``
_ENDS = frozenset(int(op) for op in (Op.BR, Op.BR_TABLE, Op.RETURN, Op.UNREACHABLE, Op.THROW,
                                     Op.THROW_REF, Op.RETURN_CALL, Op.RETURN_CALL_INDIRECT,
                                     Op.RETURN_CALL_REF))  # fmt: skip
#: add, sub, mul: (type, operator)
_ARITH = {0x6A: (_I32, "+"), 0x6B: (_I32, "-"), 0x6C: (_I32, "*"),
          0x7C: (_I64, "+"), 0x7D: (_I64, "-"), 0x7E: (_I64, "*")}  # fmt: skip
#: comparisons: (type, operator, signed)
_CMP = {}
for _base, _t in ((0x46, _I32), (0x51, _I64)):
    for _k, (_py, _signed) in enumerate((("==", False), ("!=", False), ("<", True), ("<", False),
                                         (">", True), (">", False), ("<=", True), ("<=", False),
                                         (">=", True), (">=", False))):  # fmt: skip
        _CMP[_base + _k] = (_t, _py, _signed)
_EQZ = {0x45: _I32, 0x50: _I64}
#: results in [0, 2**bits): unsigned loads
_LOAD_BITS = {0x2D: 8, 0x2F: 16, 0x31: 8, 0x33: 16, 0x35: 32}
#: i32.and/i64.and, i32.rem_u/i64.rem_u, i32.shr_u/i64.shr_u
_AND, _REM_U, _SHR_U = {0x71: _I32, 0x83: _I64}, {0x70: _I32, 0x82: _I64}, {0x76: _I32, 0x88: _I64}
_WRAP, _EXTEND_U, _EXTEND_S = 0xA7, 0xAD, 0xAC
# what the walk does per opcode: a kind (an object tested by identity) or, for the
# instructions whose results it knows nothing of, their (pops, pushes)
(_K_GET, _K_SET, _K_TEE, _K_CONST, _K_ARITH, _K_CMP, _K_EQZ, _K_BR_IF, _K_BLOCK, _K_ELSE, _K_END,
 _K_LOOP, _K_BR, _K_BR_TABLE, _K_ENDS, _K_CALL, _K_SELECT, _K_BR_ON, _K_AND, _K_REM_U, _K_SHR_U,
 _K_LOAD, _K_CONV) = (object() for _ in range(23))
_KIND: dict[int, object] = dict(_EFFECT)
_KIND[_REF_EQ] = (2, 1)
_KIND.update({_LOCAL_GET: _K_GET, _LOCAL_SET: _K_SET, _LOCAL_TEE: _K_TEE, _I32_CONST: _K_CONST,
              _I64_CONST: _K_CONST, _BR_IF: _K_BR_IF, _BLOCK: _K_BLOCK, _IF: _K_BLOCK,
              _TRY_TABLE: _K_BLOCK, _ELSE: _K_ELSE, _END: _K_END, _LOOP: _K_LOOP, _BR: _K_BR,
              _BR_TABLE: _K_BR_TABLE, _CALL: _K_CALL, _CALL_INDIRECT: _K_CALL,
              _CALL_REF: _K_CALL, _SELECT: _K_SELECT, _SELECT_T: _K_SELECT,
              _BR_ON_NULL: _K_BR_ON, _BR_ON_NON_NULL: _K_BR_ON,
              _WRAP: _K_CONV, _EXTEND_U: _K_CONV, _EXTEND_S: _K_CONV})  # fmt: skip
_KIND.update({op: _K_ENDS for op in _ENDS if op != _BR and op != _BR_TABLE})
_KIND.update({op: _K_ARITH for op in _ARITH})
_KIND.update({op: _K_CMP for op in _CMP})
_KIND.update({op: _K_EQZ for op in _EQZ})
_KIND.update({op: _K_AND for op in _AND})
_KIND.update({op: _K_REM_U for op in _REM_U})
_KIND.update({op: _K_SHR_U for op in _SHR_U})
_KIND.update({op: _K_LOAD for op in _LOAD_BITS})
_CONST_MASK = {_I32_CONST: 0xFFFFFFFF, _I64_CONST: 0xFFFFFFFFFFFFFFFF}
#: abstract steps per instruction of the body before the analysis gives up
BUDGET = 12


class GiveUp(Exception):
    """The analysis stops: no facts for this function."""


class _Label:
    """A construct being analysed: where branches to it land."""

    __slots__ = ("kind", "height", "arity", "state", "results")

    def __init__(self, kind: int, height: int, arity: int, results: int):
        self.kind = kind
        self.height = height  # operand height below the construct's params
        self.arity = arity  # values a branch to it carries (a loop's params, else results)
        self.results = results
        self.state = None  # the join of the states branching to it (None: none yet)


class _State:
    """Facts about the locals at one program point (None stands for unreachable)."""

    __slots__ = ("ver", "iv", "cnd")

    def __init__(self, ver: list, iv: dict, cnd: dict):
        self.ver = ver  # local -> version
        self.iv = iv  # local -> (lo, hi), when narrower than its type
        self.cnd = cnd  # local -> the facts its value (a comparison's) implies

    def copy(self) -> _State:
        return _State(self.ver[:], dict(self.iv), dict(self.cnd))


# A stack entry: None (nothing known) or (lo, hi, sym, cond): ``sym`` is (local, version,
# offset) when the value is that version of the local plus the offset, exactly; ``cond``, for
# a comparison's result, a tuple of facts (local, version, interval if true, if false).


class _Analysis:
    def __init__(self, module, func_types, local_types, body, info=None):
        self.module = module
        self.func_types = func_types
        self.types = local_types
        #: per local: the largest value of its type (None: not an integer)
        self.tops = [_TOP.get(t) for t in local_types]
        self.body = body
        self.next_ver = len(local_types)
        #: version -> (older version, offset): the newer value is the older plus the offset
        self.rel: dict[int, tuple[int, int]] = {}
        self.out: dict[int, tuple] = {}
        self.steps = BUDGET * len(body) + 200
        self.record = True
        self.ends = (_match_ends(body) if info is None else
                     {k: c.end for k, c in info.by_start.items() if c.kind == "loop"})  # fmt: skip
        self.writes: dict[int, set[int]] = {}

    def fresh(self) -> int:
        self.next_ver += 1
        return self.next_ver

    # -- states ---------------------------------------------------------------------------
    def join(self, a: _State | None, b: _State | None) -> _State | None:
        if a is None:
            return None if b is None else b.copy()
        if b is None:
            return a.copy()
        ver = a.ver[:]
        bver = b.ver
        for k, v in enumerate(ver):
            if v != bver[k]:
                ver[k] = self.fresh()
        iv = {}
        biv = b.iv
        for k, (lo, hi) in a.iv.items():
            other = biv.get(k)
            if other is not None:
                iv[k] = (min(lo, other[0]), max(hi, other[1]))
        cnd = {k: c for k, c in a.cnd.items() if b.cnd.get(k) == c and ver[k] == a.ver[k]}
        return _State(ver, iv, cnd)

    def into(self, label: _Label, st: _State | None) -> None:
        if st is not None:
            label.state = self.join(label.state, st)

    def refine(self, st: _State, cond, truth: bool) -> _State | None:
        """``st`` on the way where a value with facts ``cond`` is ``truth`` (None: never)."""
        out = st
        for k, ver, t_iv, f_iv in cond:
            bound = t_iv if truth else f_iv
            if bound is None:
                continue
            off = self.offset(out.ver[k], ver)
            if off is None:
                continue
            cur = out.iv.get(k) or (0, self.tops[k])
            lo, hi = max(bound[0] + off, cur[0]), min(bound[1] + off, cur[1])
            if lo > hi:
                return None
            if out is st:
                out = st.copy()
            out.iv[k] = (lo, hi)
        return out

    def offset(self, ver: int, target: int) -> int | None:
        """``c`` if version ``ver`` is ``target + c`` (following recorded writes), else None."""
        off = 0
        for _ in range(4):
            if ver == target:
                return off
            r = self.rel.get(ver)
            if r is None:
                return None
            ver, c = r
            off += c
        return None

    # -- the walk -------------------------------------------------------------------------
    def run(self, nparams: int) -> dict[int, tuple]:
        tops = self.tops
        st = _State(list(range(len(tops))), {}, {})
        for k in range(nparams, len(tops)):
            if tops[k] is not None:
                st.iv[k] = (0, 0)  # declared locals start at zero
        root = _Label(_BLOCK, 0, 0, 0)
        self.walk(0, len(self.body), st, [], [root])
        return self.out

    def walk(self, pos: int, end: int, st: _State | None, stack: list, ctrl: list) -> tuple:
        """Analyse ``body[pos:end]`` from state ``st``; returns the state and stack at ``end``
        (the end of a loop's body: its ``end`` instruction is not run)."""
        body = self.body
        tops = self.tops
        out = self.out
        kinds = _KIND
        skip = 0  # nesting of constructs entered in unreachable code
        steps = self.steps
        if steps < end - pos:
            raise GiveUp
        self.steps = steps - (end - pos)
        while pos < end:
            ins = body[pos]
            op = ins.op
            kind = kinds.get(op)
            if kind is None:
                raise GiveUp
            if st is None:  # unreachable: up to the else/end of the innermost construct
                if kind is _K_BLOCK or kind is _K_LOOP:
                    skip += 1
                    pos += 1
                    continue
                if skip:
                    if kind is _K_END:
                        skip -= 1
                    pos += 1
                    continue
                if kind is not _K_END and kind is not _K_ELSE:
                    pos += 1
                    continue
            if kind.__class__ is tuple:  # (pops, pushes): nothing known of the results
                pops, pushes = kind
                if pops:
                    if pops > len(stack):
                        raise GiveUp
                    del stack[-pops:]
                if pushes:
                    stack.extend([None] * pushes)
            elif kind is _K_GET:
                k = ins.imm
                top = tops[k]
                if top is not None:
                    lo, hi = st.iv.get(k) or (0, top)
                    stack.append((lo, hi, (k, st.ver[k], 0), st.cnd.get(k)))
                else:
                    stack.append(None)
            elif kind is _K_SET:
                self.set_local(st, ins.imm, stack.pop())
            elif kind is _K_TEE:
                k = ins.imm
                v = stack[-1]
                self.set_local(st, k, v)
                if v is not None:  # (now also that version of the local)
                    stack[-1] = (v[0], v[1], (k, st.ver[k], 0), v[3])
            elif kind is _K_CONST:
                c = ins.imm & _CONST_MASK[op]
                stack.append((c, c, None, None))
            elif kind is _K_ARITH:
                t, py = _ARITH[op]
                b = stack.pop()
                a = stack.pop()
                stack.append(self.arith(pos, t, py, a, b))
            elif kind is _K_CMP:
                t, py, signed = _CMP[op]
                b = stack.pop()
                a = stack.pop()
                if signed and self.record and a is not None and b is not None:
                    out[pos] = (a[0], a[1], b[0], b[1])
                stack.append(self.compare(t, py, signed, a, b))
            elif kind is _K_EQZ:
                stack.append(self.eqz(stack.pop()))
            elif kind is _K_BR_IF:
                c = stack.pop()
                label = ctrl[-1 - ins.imm]
                cond = _truth(c)
                taken = st if cond is None else self.refine(st, cond, True)
                self.into(label, taken)
                if cond is not None:
                    st = self.refine(st, cond, False)
            elif kind is _K_BLOCK:
                c = stack.pop() if op == _IF else None
                bt = ins.imm[0] if op == _TRY_TABLE else ins.imm
                params, results = _block_arity(self.module, bt)
                label = _Label(op, len(stack) - params, results, results)
                ctrl.append(label)
                for i in range(params):
                    stack[-1 - i] = None
                if op == _TRY_TABLE:
                    self.catches(ins.imm, ctrl)
                elif op == _IF:
                    cond = _truth(c)
                    # (the else way's state waits in ``results``' place: see _ELSE/_END)
                    label.results = (results, st if cond is None else self.refine(st, cond, False),
                                     stack[label.height:])  # fmt: skip
                    if cond is not None:
                        st = self.refine(st, cond, True)
            elif kind is _K_ELSE:
                label = ctrl[-1]
                results, else_st, params = label.results
                self.into(label, st)
                label.results = (results, None, None)
                st = else_st
                del stack[label.height:]
                stack.extend(params)
                skip = 0
            elif kind is _K_END:
                if not ctrl:
                    raise GiveUp
                label = ctrl.pop()
                if label.kind == _IF:
                    results, else_st, _params = label.results
                    if else_st is not None:  # no else: the condition false comes here
                        self.into(label, else_st)
                    label.results = results
                self.into(label, st)
                st = label.state
                del stack[label.height:]
                stack.extend([None] * label.results)
                skip = 0
            elif kind is _K_LOOP:
                pos, st = self.loop(pos, ins, st, stack, ctrl)
                continue
            elif kind is _K_BR:
                self.into(ctrl[-1 - ins.imm], st)
                st = None
            elif kind is _K_BR_TABLE:
                stack.pop()
                labels, default = ins.imm
                for depth in {*labels, default}:
                    self.into(ctrl[-1 - depth], st)
                st = None
            elif kind is _K_ENDS:  # return, unreachable, throws, tail calls
                st = None
                del stack[ctrl[-1].height:]
            elif kind is _K_CALL:
                if op == _CALL:
                    ft = self.func_types[ins.imm]
                    self.call(stack, len(ft.params), len(ft.results))
                else:  # call_indirect, call_ref: the callee is an operand too
                    ft = self.module.types[ins.imm[0] if op == _CALL_INDIRECT else ins.imm]
                    self.call(stack, len(ft.params) + 1, len(ft.results))
            elif kind is _K_SELECT:
                stack.pop()
                b = stack.pop()
                a = stack.pop()
                stack.append(None if a is None or b is None else
                             (min(a[0], b[0]), max(a[1], b[1]), None, None))  # fmt: skip
            elif kind is _K_BR_ON:
                self.into(ctrl[-1 - ins.imm], st)
                stack.pop()
                if op == _BR_ON_NULL:
                    stack.append(None)
            else:
                self.bounded(op, kind, stack)
            pos += 1
        return st, stack

    def bounded(self, op: int, kind, stack: list) -> None:
        """An instruction whose result has a known bound."""
        if kind is _K_AND:
            b = stack.pop()
            a = stack.pop()
            hi = min(x[1] for x in (a, b) if x is not None) if a or b else _TOP[_AND[op]]
            stack.append((0, hi, None, None))
        elif kind is _K_REM_U:
            b = stack.pop()
            stack.pop()
            hi = _TOP[_REM_U[op]] if b is None or b[1] == 0 else b[1] - 1
            stack.append((0, hi, None, None))
        elif kind is _K_SHR_U:
            b = stack.pop()
            a = stack.pop()
            if a is not None and b is not None and b[0] == b[1]:
                k = b[0] & (31 if _SHR_U[op] is _I32 else 63)
                stack.append((a[0] >> k, a[1] >> k, None, None))
            else:
                stack.append(None)
        elif kind is _K_LOAD:
            stack.pop()
            stack.append((0, (1 << _LOAD_BITS[op]) - 1, None, None))
        else:  # wrap, extend: the same value where it fits
            a = stack.pop()
            if a is not None and (a[1] <= 0x7FFFFFFF or op != _EXTEND_S and a[1] <= 0xFFFFFFFF):
                stack.append((a[0], a[1], None, None))
            else:
                stack.append(None)

    def call(self, stack: list, pops: int, pushes: int) -> None:
        if pops:
            if pops > len(stack):
                raise GiveUp
            del stack[-pops:]
        stack.extend([None] * pushes)

    def catches(self, imm, ctrl: list) -> None:
        """A ``try_table``'s catch clauses may branch from anywhere in its body: their labels
        learn nothing about the locals (a state with no facts)."""
        for clause in imm[1]:
            label = ctrl[-2 - clause.label]  # (the try_table's own label is on top)
            self.into(label, self.unknown())

    def unknown(self) -> _State:
        return _State([self.fresh() for _ in self.types], {}, {})

    def set_local(self, st: _State, k: int, v) -> None:
        ver = self.fresh()
        st.ver[k] = ver
        st.iv.pop(k, None)
        st.cnd.pop(k, None)
        top = self.tops[k]
        if v is None or top is None:
            return
        lo, hi, sym, cond = v
        if lo > 0 or hi < top:
            st.iv[k] = (lo, hi)
        if sym is not None:
            self.rel[ver] = (sym[1], sym[2])
        if cond is not None:
            st.cnd[k] = cond

    def arith(self, pos: int, t, py: str, a, b):
        top = _TOP[t]
        if a is None or b is None:
            return None
        if self.record:
            self.out[pos] = (a[0], a[1], b[0], b[1])
        if py == "*":
            lo, hi = a[0] * b[0], a[1] * b[1]
            return (lo, hi, None, None) if hi <= top else None
        # the exact sum or difference, when it cannot wrap
        if py == "+":
            lo, hi = a[0] + b[0], a[1] + b[1]
        else:
            lo, hi = a[0] - b[1], a[1] - b[0]
        if lo >= 0 and hi <= top:
            sym = None
            if a[2] is not None and b[0] == b[1]:
                k, ver, off = a[2]
                sym = (k, ver, off + (b[0] if py == "+" else -b[0]))
            elif py == "+" and b[2] is not None and a[0] == a[1]:
                k, ver, off = b[2]
                sym = (k, ver, off + a[0])
            return (lo, hi, sym, None)
        # wasm's ``x + (2**N - m)`` is ``x - m``: exact when it does not go below zero
        if py == "+" and b[0] == b[1] and a[0] + b[0] - (top + 1) >= 0:
            m = top + 1 - b[0]
            sym = None if a[2] is None else (a[2][0], a[2][1], a[2][2] - m)
            return (a[0] - m, a[1] - m, sym, None)
        if py == "-" and b[0] == b[1] and a[1] - b[0] + top + 1 <= top:
            m = top + 1 - b[0]  # x - (2**N - m) is x + m
            sym = None if a[2] is None else (a[2][0], a[2][1], a[2][2] + m)
            return (a[0] + m, a[1] + m, sym, None)
        return None

    def compare(self, t, py: str, signed: bool, a, b):
        """A comparison's result, with the facts it gives about a compared local."""
        facts = []
        for x, y, op in ((a, b, py), (b, a, _SWAP[py])):
            if x is None or x[2] is None or y is None:
                continue
            k, ver, off = x[2]
            # x is (local k at ver) + off; facts on x, then shifted back to the local
            t_iv, f_iv = _facts(t, op, signed, y[0], y[1])
            if t_iv is None and f_iv is None:
                continue
            facts.append((k, ver, _shift(t_iv, -off), _shift(f_iv, -off)))
        return (0, 1, None, tuple(facts) or None)

    def eqz(self, a):
        if a is None:
            return (0, 1, None, None)
        cond = a[3]
        if cond is not None and a[0] >= 0 and a[1] <= 1:  # a comparison's result: negated
            return (0, 1, None, tuple((k, v, f, t) for k, v, t, f in cond))
        if a[2] is not None:
            k, ver, off = a[2]
            nonzero = (1 - off, a[1] - off) if a[1] >= 1 else None
            return (0, 1, None, ((k, ver, (-off, -off), nonzero),))
        return (0, 1, None, None)

    def loop(self, pos: int, ins, st: _State | None, stack: list, ctrl: list):
        """Analyse the loop at ``pos``; returns the position after its ``end`` and the state
        there."""
        end = self.ends[pos]
        if st is None:
            return end + 1, None
        params, results = _block_arity(self.module, ins.imm)
        height = len(stack) - params
        entry = st
        written = self.written(pos, end)
        saved_record = self.record
        self.record = False
        outer = [label.state for label in ctrl]
        # The head's guess: what the loop writes keeps its lower bound (a counter stepping
        # down under a guard, clang's ``n -= 2`` while ``n > 3``), nothing else; one pass
        # checks that the back edges keep it, else the loop's locals are unknown there.
        head = entry.copy()
        tops = self.tops
        guess = False
        for k in written:
            head.ver[k] = self.fresh()
            head.cnd.pop(k, None)
            iv = head.iv.pop(k, None)
            if iv is not None and iv[0] > 0:
                head.iv[k] = (iv[0], tops[k])
                guess = True
        if guess:
            label = _Label(_LOOP, height, params, results)
            inner = stack[:height] + [None] * params
            self.walk(pos + 1, end, head.copy(), inner, ctrl + [label])
            for lbl, s in zip(ctrl, outer):  # (a speculative pass: undo its branches out)
                lbl.state = s
            back = label.state
            if back is not None and not self.covers(head, back, written):
                for k in written:
                    head.iv.pop(k, None)
        final = head
        self.record = saved_record
        label = _Label(_LOOP, height, params, results)
        del stack[height:]
        stack.extend([None] * params)
        st, stack_after = self.walk(pos + 1, end, final, stack, ctrl + [label])
        del stack[height:]
        stack.extend([None] * results)
        return end + 1, st

    def written(self, pos: int, end: int) -> set[int]:
        """The locals the loop at ``pos`` writes."""
        out = self.writes.get(pos)
        if out is None:
            out = self.writes[pos] = {ins.imm for ins in self.body[pos:end]
                                      if ins.op == _LOCAL_SET or ins.op == _LOCAL_TEE}  # fmt: skip
        return out

    @staticmethod
    def covers(head: _State, back: _State, written) -> bool:
        """Whether ``head``'s facts hold for the state ``back`` branching to it."""
        for k, (lo, hi) in head.iv.items():
            b = back.iv.get(k)
            if b is None or b[0] < lo or b[1] > hi:
                return False
        for k, c in head.cnd.items():
            if back.cnd.get(k) != c:
                return False
        return True


_SWAP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _truth(c):
    """The facts a branch on value ``c`` learns: a comparison's, or those of a local's
    value being nonzero (true) or zero (false)."""
    if c is None:
        return None
    if c[3] is not None:
        return c[3]
    if c[2] is None:
        return None
    k, ver, off = c[2]
    return ((k, ver, (1 - off, c[1] - off) if c[1] >= 1 else None, (-off, -off)),)


def _shift(iv, d: int):
    return None if iv is None else (iv[0] + d, iv[1] + d)


def _facts(t, op: str, signed: bool, lo: int, hi: int):
    """(interval of x if ``x op y`` is true, if false) for ``y`` in ``[lo, hi]`` (None: no
    interval narrower than the type's)."""
    top = _TOP[t]
    if signed:
        half = (top + 1) >> 1
        if hi >= half:  # (only comparisons with a non-negative right side)
            return None, None
        # non-negative x < half compares as unsigned; x >= half is negative: below everything
        if op == "<":
            return None, (lo, half - 1)
        if op == "<=":
            return None, (lo + 1, half - 1) if lo + 1 <= half - 1 else None
        if op == ">":
            return ((lo + 1, half - 1) if lo + 1 <= half - 1 else None), None
        if op == ">=":
            return (lo, half - 1), None
        return _facts(t, op, False, lo, hi)
    if op == "<":
        return ((0, hi - 1) if hi >= 1 else None), (lo, top)
    if op == "<=":
        return (0, hi), ((lo + 1, top) if lo < top else None)
    if op == ">":
        return ((lo + 1, top) if lo < top else None), (0, hi)
    if op == ">=":
        return (lo, top), ((0, hi - 1) if hi >= 1 else None)
    nonzero = (1, top) if hi == 0 else None  # (x != 0 is x >= 1)
    if op == "==":
        return (lo, hi), nonzero
    return nonzero, (lo, hi)  # !=


def _match_ends(body: list) -> dict[int, int]:
    """Position of each ``loop`` -> position of its ``end``."""
    ends: dict[int, int] = {}
    open_: list[tuple[int, int]] = []
    for i, ins in enumerate(body):
        op = ins.op
        if op == _BLOCK or op == _LOOP or op == _IF or op == _TRY_TABLE:
            open_.append((op, i))
        elif op == _END and open_:
            kind, start = open_.pop()
            if kind == _LOOP:
                ends[start] = i
    return ends


def operand_ranges(module, func_types, params, local_types, body, info=None) -> dict[int, tuple]:
    """{instruction position: (lo_a, hi_a, lo_b, hi_b)} for the ``add``/``sub``/``mul`` and
    signed comparisons of ``body`` whose two operands are known to lie in those intervals
    (unsigned), for a function with parameter types ``params`` and declared locals
    ``local_types``; empty when the analysis gives up. ``info``: the body's
    :func:`.control.analyze` if at hand (its constructs give the loops' ends)."""
    types = list(params) + list(local_types)
    try:
        return _Analysis(module, func_types, types, body, info).run(len(params))
    except (GiveUp, IndexError):
        return {}
