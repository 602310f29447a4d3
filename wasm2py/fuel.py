"""Where fuel is charged: the segment rule shared by the Python and LLVM tiers.

With ``Config(consume_fuel=True)`` a function body is cut into straight-line *segments*; each
one is charged, before any of it runs, the sum of its instructions' costs
(:meth:`FuelCosts.cost`; ``end`` and ``else`` are free). A bulk instruction (``memory.fill``,
``memory.copy``, ``memory.init``, ``table.fill``, ``table.copy``, ``table.init``) is charged
``bulk_per_64`` per 64 bytes/elements of its count operand on top, when it executes, before it
checks its bounds. If the fuel left does not cover a charge, the call stops there with the fuel
untouched.

A segment starts (the cut lies *before* the instruction at the given position):

* at the function's first instruction;
* after a ``loop`` that some branch targets (the loop header), after ``if`` (the then arm) and
  after ``else``;
* after the ``end`` of a ``block``/``loop``/``if`` that is reachable (fallen into or branched to);
* after a ``br_if``, unless the branch is in *tail position*: its target is a ``block``/``if``
  that the Python tier's control analysis (:mod:`wasm2py.translate.control`) lowers without a
  ``brk`` flag and with no Python loop in between (then both ways continue at the same place and
  only ``end``/``else``/``nop`` lie in between, so the ``nop``\\ s are paid with the segment);
* after a ``br_on_null`` or ``br_on_non_null`` (always).

A ``try_table`` is a block here; its catch clauses make their labels reachable (a caught
exception continues at the label, which starts a segment). ``throw``, ``throw_ref`` and the tail
calls end their block's reachable code like ``return``.

Code after ``br``/``br_table``/``return``/``unreachable`` is skipped up to the matching
``else``/``end`` (it is never charged). Calls are no boundary: a caller's segment is paid before
the call, the callee's own segments during it.

Both tiers must agree on this exactly, so that they stop at the same instruction with the same
fuel left. (How a tier takes a charge is its own affair as long as nothing can tell: the Python
tier checks each segment on entry but lowers the fuel only where the value is seen, see
:meth:`wasm2py.translate.codegen.FuncGen.start_segment`; it charges the store's cell in place,
which holds at most 2**30 - 1 and is filled from a bank by a check that finds it short, see
:mod:`wasm2py.runtime.fuelcell`; a loop iteration with several checks and no call runs in a
copy without them when the cell covers them all, see
:func:`wasm2py.translate.peephole.split_loop_checks`, and iterations of a loop without calls or
nested loops run in stretches of 128 charged up front, see
:func:`wasm2py.translate.peephole.prepay_loops`, as do counted ``for`` loops whose nested loops
or calls sit in a branch, see :func:`wasm2py.translate.peephole.prepay_for_loops`.) The Python
tier's code generator (:mod:`wasm2py.translate.codegen`) places its checks
while it lowers control flow; :func:`segment_costs` states the same rule on its own (the LLVM tier
uses it), and ``tests/test_llvm_fuel.py`` checks that the two agree on every function of the spec
suite (the generator records its segments in ``FuncGen.fuel_segments``).
"""

from __future__ import annotations

from .binary.opcodes import Op

#: instructions charged per 64 items of their count operand (the top of the stack)
BULK_OPS = frozenset({Op.MEMORY_FILL, Op.MEMORY_COPY, Op.MEMORY_INIT, Op.TABLE_FILL,
                      Op.TABLE_COPY, Op.TABLE_INIT})  # fmt: skip

_BLOCK, _LOOP, _IF, _ELSE, _END = Op.BLOCK, Op.LOOP, Op.IF, Op.ELSE, Op.END
_TRY_TABLE = Op.TRY_TABLE
#: instructions after which the rest of their block is unreachable
_NO_FALLTHROUGH = frozenset({Op.RETURN, Op.UNREACHABLE, Op.RETURN_CALL, Op.RETURN_CALL_INDIRECT,
                             Op.RETURN_CALL_REF, Op.THROW, Op.THROW_REF})  # fmt: skip


class _Frame:
    __slots__ = ("kind", "c", "unreachable", "reached", "then_live")

    def __init__(self, kind: str, c):
        self.kind = kind
        self.c = c
        self.unreachable = False
        self.reached = False  # some branch targets it
        self.then_live = False  # an if whose then arm falls through to its end


def segment_costs(body: list, costs, info=None) -> dict[int, int]:
    """The fuel segments of a function body: ``{position: cost}`` for every segment that starts
    before ``body[position]`` and costs more than 0 (segments of cost 0 need no check).

    Args:
        body: the function's instructions (ending with the function's ``end``).
        costs: a :class:`~wasm2py.config.FuelCosts`.
        info: the body's :func:`wasm2py.translate.control.analyze` result, if already computed.
    """
    if info is None:
        from .translate.control import analyze

        info = analyze(body)
    cost = costs.cost
    per_op: dict[int, int] = {}
    segs = {0: 0}
    cur = 0
    frames = [_Frame("func", info.func)]
    skip = 0
    for i, ins in enumerate(body):
        op = ins.op
        frame = frames[-1]
        if frame.unreachable:
            # Dead code: skipped up to the end/else of the current construct.
            if op == _BLOCK or op == _LOOP or op == _IF or op == _TRY_TABLE:
                skip += 1
                continue
            if skip:
                if op == _END:
                    skip -= 1
                continue
            if op != _END and op != _ELSE:
                continue
        if op == _END:
            frames.pop()
            if frame.kind == "func":
                break
            live = not frame.unreachable
            then_live = frame.kind == "if" and frame.then_live
            if frame.kind == "if" and frame.c.else_at < 0:
                # the implicit else arm passes the params through to the end
                then_live = then_live or live
                live = True
            if live or then_live or frame.reached:
                cur = i + 1
                segs[cur] = 0
            else:
                frames[-1].unreachable = True
            continue
        if op == _ELSE:
            if not frame.unreachable:
                frame.then_live = True
            frame.unreachable = False
            cur = i + 1
            segs[cur] = 0
            continue
        c = per_op.get(op)
        if c is None:
            c = per_op[op] = cost(op)
        segs[cur] += c
        if op == _TRY_TABLE:
            for catch in ins.imm[1]:
                _reach(frames, catch.label)
            frames.append(_Frame("block", info.by_start[i]))
        elif op == _BLOCK or op == _LOOP or op == _IF:
            construct = info.by_start[i]
            frames.append(_Frame("block" if op == _BLOCK else "loop" if op == _LOOP else "if",
                                 construct))  # fmt: skip
            if op == _IF or (op == _LOOP and construct.materialized):
                cur = i + 1
                segs[cur] = 0
        elif op == Op.BR:
            _reach(frames, ins.imm)
            frame.unreachable = True
        elif op == Op.BR_IF:
            target = frames[-1 - ins.imm]
            _reach(frames, ins.imm)
            tail = (target.kind in ("block", "if") and not target.c.guarded
                    and info.inner_loop(frame.c, target.c) is None)  # fmt: skip
            if not tail:
                cur = i + 1
                segs[cur] = 0
        elif op == Op.BR_TABLE:
            labels, default = ins.imm
            for depth in (*labels, default):
                _reach(frames, depth)
            frame.unreachable = True
        elif op == Op.BR_ON_NULL or op == Op.BR_ON_NON_NULL:
            _reach(frames, ins.imm)
            cur = i + 1
            segs[cur] = 0
        elif op in _NO_FALLTHROUGH:
            frame.unreachable = True
    return {pos: c for pos, c in segs.items() if c}


def _reach(frames: list, depth: int) -> None:
    target = frames[-1 - depth]
    if target.kind != "func":  # a branch to the function's label is a return
        target.reached = True


def bulk_charge(costs, count: int) -> int:
    """The extra fuel a bulk instruction with count operand ``count`` costs."""
    return (count >> 6) * costs.bulk_per_64
