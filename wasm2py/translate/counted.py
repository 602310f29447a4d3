"""Counted loops: a wasm ``loop`` whose only back edge is a latch that steps one local by a
constant (or a loop-invariant local) and compares it with a loop-invariant bound, e.g. what
clang emits for ``for (i = a; i < n; i++) { ... }``::

    loop
      ...body (never writes i, n or the step, never branches back to the loop)...
      local.get i  i32.const 1  i32.add  local.tee i
      local.get n  i32.lt_s
      br_if 0
    end

The Python tier runs such a loop as a ``range``, which iterates without masks or comparisons
of its own::

    while True:
        for i in range(i, STOP, 1):
            ...body...
        else:
            i = i + 1 & 0xFFFFFFFF
            if TEST(i):
                continue
        break

Exactness does not depend on proving the whole trip count ahead: ``STOP`` bounds a stretch of
values that all pass the latch's test without wrapping around (a conservative choice is the
loop's first value alone), and the ``else`` arm, reached when that stretch is exhausted,
steps and tests exactly as the wasm latch does; when the test still holds (say the loop goes
on past a wrap-around) the ``while`` starts the next stretch from there. So every iteration
runs with the value the wasm loop gives it, and the local holds the wasm value after the
loop. Branches out of the body are ``break``\\ s of the ``for``, which skip the ``else`` and
reach the ``break`` of the ``while``.

The body may call functions, and with fuel its segments' checks stay where they are (the
latch's instructions are charged in the segment that holds them, as the plain loop charges
them): a frame may pause inside a ``for``. Its wasm locals are exact there (the ``for`` gives
the counter and the secondaries their wasm values at every iteration), and a resume entry
(:mod:`.resume`) re-enters the ``for`` from them: ``range(i, STOP, 1)`` started from the
restored counter begins with the iteration that paused. Not counted: loops with a
``try_table`` inside (it opens Python ``try`` statements with their own branches), and with
instruction counting or epoch interruption, whose checks sit at every loop iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..binary.opcodes import Op

_ADD = {Op.I32_ADD: 32, Op.I64_ADD: 64}
_SUB = {Op.I32_SUB: 32, Op.I64_SUB: 64}
_CONST = {Op.I32_CONST: 32, Op.I64_CONST: 64}
#: comparison opcode -> (bits, relation); ``u``/``s``: unsigned/signed
_REL = {}
for _bits, _base in ((32, Op.I32_EQ), (64, Op.I64_EQ)):
    for _k, _rel in enumerate(["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u",
                               "ge_s", "ge_u"]):  # fmt: skip
        _REL[_base + _k] = (_bits, _rel)
_FLIP = {"ne": "ne", "lt_s": "gt_s", "lt_u": "gt_u", "gt_s": "lt_s", "gt_u": "lt_u",
         "le_s": "ge_s", "le_u": "ge_u", "ge_s": "le_s", "ge_u": "le_u"}  # fmt: skip
#: the relations a stretch can follow, by direction of the step
_UP = ("lt_u", "le_u", "lt_s", "le_s", "ne")
_DOWN = ("gt_u", "ge_u", "gt_s", "ge_s", "ne")
#: instructions after which a loop is not counted: tail calls (they leave the function through
#: the tail-call trampoline) and ``try_table`` (Python ``try`` statements with their own branches)
_REFUSE = frozenset((Op.RETURN_CALL, Op.RETURN_CALL_INDIRECT, Op.RETURN_CALL_REF,
                     Op.TRY_TABLE))  # fmt: skip
#: calls: a frame can pause at them (see the module docstring)
_CALLS = frozenset((Op.CALL, Op.CALL_INDIRECT, Op.CALL_REF))


@dataclass(frozen=True)
class CountedLoop:
    """A loop run as ``range`` stretches (see the module docstring)."""

    #: the induction local
    iv: int
    #: its width in bits
    bits: int
    #: the step: an int (canonical, as the wasm constant added) or ``("local", index)``
    step: int | tuple
    #: the latch's relation ``iv REL bound`` (after the step)
    rel: str
    #: the bound: an int constant or ``("local", index)``
    bound: int | tuple
    #: the position of the latch's first instruction (up to the ``br_if``, the loop's
    #: instructions from there on are the latch)
    latch: int
    #: secondary induction locals ``(index, bits, step)`` (step as for ``step``): each is
    #: stepped once per iteration by the body's last statements, which
    #: :func:`find_counted` lists in ``skip``; the ``for`` takes them from ranges of their own
    secondaries: tuple = ()
    #: positions of the secondaries' steps (with the latch: what the ``for`` does)
    skip: tuple = ()
    #: the body does not read the counter and leaves the loop only by ``return`` (or a trap):
    #: with one secondary, the ``for`` may take only that one's values, and the counter's
    #: only where the loop stops
    counter_unseen: bool = False
    #: the body calls a function (a frame may pause there)
    calls: bool = False

    @property
    def up(self) -> bool:
        """Whether the step counts up (a local step: always, see :func:`find_counted`)."""
        return isinstance(self.step, tuple) or self.step < 1 << (self.bits - 1)


def _operand(ins, bits: int):
    """A constant or ``("local", index)`` pushed by ``ins``, else None."""
    if _CONST.get(ins.op) == bits:
        return ins.imm & ((1 << bits) - 1)
    if ins.op == Op.LOCAL_GET:
        return ("local", ins.imm)
    return None


def _latch(body: list, end: int):
    """(latch start, iv, bits, step, rel, bound) of the instructions before a loop's
    ``end`` at ``end``, or None. The forms (``STEP`` is ``local.get iv; K; add|sub`` or
    ``K; local.get iv; add``, ``B`` a constant or a local)::

        STEP  local.tee iv  br_if 0            (iv != 0)
        STEP  local.tee iv  B  REL  br_if 0    (iv REL B)
        B  STEP  local.tee iv  REL  br_if 0    (B REL iv)
    """
    j = end - 1
    if j < 6 or body[j].op != Op.BR_IF or body[j].imm != 0:
        return None
    last = body[j - 1]
    if last.op == Op.LOCAL_TEE:
        tee_at, bits, rel = j - 1, None, "ne"
    elif last.op in _REL:
        bits, rel = _REL[last.op]
        if body[j - 3].op == Op.LOCAL_TEE:
            tee_at = j - 3
        elif body[j - 2].op == Op.LOCAL_TEE:
            tee_at, rel = j - 2, _FLIP.get(rel)
        else:
            return None
    else:
        return None
    iv = body[tee_at].imm
    arith = body[tee_at - 1]
    width = _ADD.get(arith.op) or _SUB.get(arith.op)
    if width is None or (bits is not None and width != bits) or rel in (None, "eq"):
        return None
    bits = width
    a, b = body[tee_at - 3], body[tee_at - 2]
    if a.op == Op.LOCAL_GET and a.imm == iv:
        step = _operand(b, bits)
    elif arith.op in _ADD and b.op == Op.LOCAL_GET and b.imm == iv:
        step = _operand(a, bits)
    else:
        return None
    if step is None or step == ("local", iv) or step == 0:
        return None
    if arith.op in _SUB:
        if isinstance(step, tuple):
            return None
        step = -step & ((1 << bits) - 1)
    start = tee_at - 3
    if tee_at == j - 1:
        bound = 0
    elif tee_at == j - 3:
        bound = _operand(body[j - 2], bits)
    else:
        start -= 1
        bound = _operand(body[start], bits)
    if bound is None or bound == ("local", iv):
        return None
    return start, iv, bits, step, rel, bound


def find_counted(body: list, c) -> CountedLoop | None:
    """The loop construct ``c`` (see :mod:`.control`) as a counted loop, or None."""
    if body[c.start].imm is not None or len(c.sites) != 1 or c.sites[0][0] != c.end - 1:
        return None
    found = _latch(body, c.end)
    if found is None:
        return None
    start, iv, bits, step, rel, bound = found
    if start <= c.start:
        return None
    up = isinstance(step, tuple) or step < 1 << (bits - 1)
    if rel not in (_UP if up else _DOWN) or (isinstance(step, tuple) and rel == "ne"):
        return None
    fixed = {iv}
    for x in (step, bound):
        if isinstance(x, tuple):
            fixed.add(x[1])
    written: dict[int, int] = {}  # local -> how many writes in the body
    calls = False
    for k in range(c.start + 1, start):
        ins = body[k]
        op = ins.op
        if op in _REFUSE or ((op == Op.LOCAL_SET or op == Op.LOCAL_TEE) and ins.imm in fixed):
            return None
        calls = calls or op in _CALLS
        if op == Op.LOCAL_SET or op == Op.LOCAL_TEE:
            written[ins.imm] = written.get(ins.imm, 0) + 1
    secondaries, skip = _secondaries(body, c.start, start, written, iv)
    unseen = not any(body[k].op == Op.LOCAL_GET and body[k].imm == iv
                     for k in range(c.start + 1, start)) and not _exits(c)  # fmt: skip
    return CountedLoop(iv, bits, step, rel, bound, start, secondaries, skip, unseen, calls)


def _exits(c) -> bool:
    """Whether a branch inside loop ``c`` leaves it (to an enclosing block or the function's
    label: the latter is a return, but it is counted too)."""
    x = c.parent
    while x is not None:
        if any(c.start < i < c.end for i, _ in x.sites):
            return True
        x = x.parent
    return False


def _secondaries(body: list, loop: int, start: int, written: dict[int, int], iv: int):
    """The secondary induction locals among the statements that end a counted loop's body
    (before its latch at ``start``): ``local.get y; K; add|sub; local.set y`` with ``K`` a
    constant or a local the loop does not write, ``y`` written nowhere else in the loop and
    read by none of the statements after it (so that the ``for`` may hold ``y``'s value before
    the step for the whole iteration: nothing after the step reads it or leaves the loop)."""
    out: list[tuple] = []
    skip: list[int] = []
    read_after: set[int] = set()
    k = start
    while k - 4 > loop:
        a, b, arith, st = body[k - 4], body[k - 3], body[k - 2], body[k - 1]
        bits = _ADD.get(arith.op) or _SUB.get(arith.op)
        if (bits is None or st.op != Op.LOCAL_SET or a.op != Op.LOCAL_GET
                or b.op not in (Op.LOCAL_GET, Op.I32_CONST, Op.I64_CONST)):  # fmt: skip
            break
        y = st.imm
        step = _operand(b, bits)
        ok = (a.imm == y and step is not None and written.get(y) == 1 and y not in read_after
              and step not in (("local", y), ("local", iv), 0)
              and not (isinstance(step, tuple) and (written.get(step[1]) or arith.op in _SUB)))  # fmt: skip
        if ok:
            if arith.op in _SUB:
                step = -step & ((1 << bits) - 1)
            out.append((y, bits, step))
            skip.extend(range(k - 4, k))
        read_after.add(a.imm)
        if b.op == Op.LOCAL_GET:
            read_after.add(b.imm)
        k -= 4
    return tuple(out), tuple(skip)
