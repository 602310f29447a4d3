"""Control-flow analysis of a function body, done before translation.

Python has no ``goto``; wasm's structured branches map onto it as follows:

* a ``loop`` that some branch targets becomes ``while True:`` (a branch to it is ``continue``,
  falling off its end is ``break``). Loops are the only constructs that become Python loops, so
  Python's limit of 20 nested loops is only reached by wasm code that nests 20 loops.
* ``block``/``if`` stay inline. A branch to one needs no jump when nothing but ``end``/``else``
  lies between it and the target's end ("tail position"), and it is a plain ``break`` of the
  innermost Python loop when that loop's end is in tail position of the target (the usual
  ``block { loop { br_if 1 } }``).
* a ``try_table`` is a block whose body becomes a Python ``try``; its catch clauses are branches
  made from the ``try_table`` instruction (the handler code sits next to the ``try``);
* any other branch to a block is a forward skip: it sets the local ``brk`` to the target's id and,
  if Python loops lie in between, breaks out of them. Statements that follow a place where
  ``brk`` may have been set are guarded by ``if not brk:``; the target's end resets ``brk``.
  After a Python loop that such a branch can leave, a check continues an outer loop or breaks
  further as needed.
"""

from __future__ import annotations

from ..binary.opcodes import Op

_BLOCK, _LOOP, _IF, _ELSE, _END = Op.BLOCK, Op.LOOP, Op.IF, Op.ELSE, Op.END
_BR, _BR_IF, _BR_TABLE, _NOP = Op.BR, Op.BR_IF, Op.BR_TABLE, Op.NOP
_TRY_TABLE, _BR_ON_NULL, _BR_ON_NON_NULL = Op.TRY_TABLE, Op.BR_ON_NULL, Op.BR_ON_NON_NULL
#: the instructions :func:`analyze` looks at (the others, most of a body, are passed over with
#: one set lookup instead of a dozen comparisons)
_CONTROL = frozenset(int(op) for op in (_BLOCK, _LOOP, _IF, _TRY_TABLE, _ELSE, _END, _BR, _BR_IF,
                                        _BR_ON_NULL, _BR_ON_NON_NULL, _BR_TABLE))  # fmt: skip


class Construct:
    """One structured construct (or the function body itself, kind ``"func"``); kinds
    ``"block"``, ``"loop"``, ``"if"`` and ``"try"`` (a ``try_table``, a block for branches)."""

    __slots__ = ("kind", "start", "end", "else_at", "parent", "materialized", "guarded", "id",
                 "passthrough", "leaks", "brk_targeted", "sites", "level", "loop",
                 "loop_depth")  # fmt: skip

    def __init__(self, kind: str, start: int, parent: Construct | None):
        self.kind = kind
        self.start = start
        self.end = -1
        self.else_at = -1
        self.parent = parent
        #: a loop that becomes ``while True:``
        self.materialized = False
        #: a block/if that some branch reaches by setting ``brk``
        self.guarded = False
        self.id = 0
        #: a ``brk``-carrying branch leaves this loop's Python ``while`` (needs a check after it)
        self.passthrough = False
        #: a ``brk``-carrying branch passes this construct's end (code after it needs guards)
        self.leaks = False
        #: ids of the ``brk`` targets of branches that leave this loop
        self.brk_targeted: set[Construct] = set()
        #: (instruction index, innermost enclosing construct) of every branch targeting it
        self.sites: list[tuple[int, Construct]] = []
        #: how many constructs enclose it (the function body: 0)
        self.level = 0 if parent is None else parent.level + 1
        #: the innermost materialized loop enclosing it or itself (None: none)
        self.loop: Construct | None = None
        #: how many materialized loops and try_tables enclose it or are itself (Python blocks)
        self.loop_depth = 0


class ControlInfo:
    """The result of :func:`analyze`: constructs by start index and helpers for branch lowering."""

    def __init__(self, body: list):
        self.body = body
        self.by_start: dict[int, Construct] = {}
        self.end_owner: dict[int, Construct] = {}
        self.else_owner: dict[int, Construct] = {}
        self.func = Construct("func", -1, None)
        self.func.end = len(body) - 1
        self.uses_brk = False
        #: the most materialized loops (Python ``while`` statements) nested in each other
        self.max_loop_depth = 0
        #: the most ``if``\ s and materialized loops nested in each other (each one nests a
        #: Python statement list in the structured shape)
        self.max_nesting = 0

    def tail(self, j: int, target: Construct) -> bool:
        """True if execution from instruction ``j`` reaches the end of ``target`` without
        executing any instruction (only ``end``/``else``/``nop`` in between, and no end of
        a materialized loop)."""
        body = self.body
        end_owner = self.end_owner
        while True:
            op = body[j].op
            if op == _END:
                c = end_owner.get(j)
                if c is target or c is None:
                    return c is target
                if c.materialized:
                    # Falling off a ``while True:`` body loops again: leaving it takes a
                    # ``break`` (which op_end emits only where the wasm falls through)
                    return False
                j += 1
            elif op == _ELSE:
                j = self.else_owner[j].end
            elif op == _NOP:
                j += 1
            else:
                return False

    def after_site(self, i: int) -> int:
        """Where execution continues after a branch site does not branch: the next
        instruction, or after the ``end`` of a ``try_table`` (whose catch clauses branch from
        the handler placed after the Python ``try``)."""
        if self.body[i].op == _TRY_TABLE:
            return self.by_start[i].end + 1
        return i + 1

    @staticmethod
    def inner_loop(site_parent: Construct, target: Construct) -> Construct | None:
        """The innermost Python loop enclosing a branch site strictly inside ``target`` (which
        encloses the site too)."""
        loop = site_parent.loop
        if loop is not None and loop.level > target.level:
            return loop
        return None


def analyze(body: list) -> ControlInfo:
    """Build the construct tree of ``body`` and decide how each branch is lowered."""
    info = ControlInfo(body)
    stack = [info.func]
    constructs: list[Construct] = []
    control = _CONTROL
    for i, ins in enumerate(body):
        op = ins.op
        if op not in control:
            continue
        if op == _BLOCK or op == _LOOP or op == _IF or op == _TRY_TABLE:
            kind = ("block" if op == _BLOCK else "loop" if op == _LOOP else "if" if op == _IF
                    else "try")  # fmt: skip
            c = Construct(kind, i, stack[-1])
            if op == _TRY_TABLE:
                # The catch clauses branch to labels outside the try_table, from the handler
                # that follows the Python ``try``: as if from inside the construct, so that
                # what follows it is guarded when a catch sets ``brk``.
                for catch in ins.imm[1]:
                    stack[-1 - catch.label].sites.append((i, c))
            info.by_start[i] = c
            constructs.append(c)
            stack.append(c)
        elif op == _ELSE:
            c = stack[-1]
            c.else_at = i
            info.else_owner[i] = c
        elif op == _END:
            c = stack.pop()
            c.end = i
            if c is not info.func:
                info.end_owner[i] = c
            if not stack:  # the function's own end
                break
        elif op == _BR or op == _BR_IF or op == _BR_ON_NULL or op == _BR_ON_NON_NULL:
            stack[-1 - ins.imm].sites.append((i, stack[-1]))
        elif op == _BR_TABLE:
            labels, default = ins.imm
            seen = set()
            for k in (*labels, default):
                if k not in seen:
                    seen.add(k)
                    stack[-1 - k].sites.append((i, stack[-1]))
    nesting: dict[Construct, int] = {info.func: 0}
    for c in constructs:  # in order of their start: parents first
        parent = c.parent
        if c.kind == "loop":
            c.materialized = bool(c.sites)
        c.loop = c if c.materialized else parent.loop  # type: ignore[union-attr]
        # Python refuses more than 20 statically nested loops and try statements.
        blocks = c.materialized or c.kind == "try"
        c.loop_depth = parent.loop_depth + blocks  # type: ignore[union-attr]
        info.max_loop_depth = max(info.max_loop_depth, c.loop_depth)
        depth = nesting[parent] + (blocks or c.kind == "if")  # type: ignore[index]
        nesting[c] = depth
        info.max_nesting = max(info.max_nesting, depth)
    next_id = 1
    # branches that set ``brk``, by the innermost construct around their site
    leaving: dict[Construct, list[Construct]] = {}
    for c in constructs:
        for i, parent in c.sites:
            p = info.inner_loop(parent, c)
            if c.kind == "loop":
                uses_brk = p is not None
            elif p is None:
                uses_brk = not info.tail(info.after_site(i), c)
            else:
                uses_brk = not info.tail(p.end + 1, c)
            if not uses_brk:
                continue
            info.uses_brk = True
            if c.kind != "loop":
                c.guarded = True
            if not c.id:
                c.id = next_id
                next_id += 1
            leaving.setdefault(parent, []).append(c)
    # Each such branch leaves every construct between its site and its target: walk up once
    # per site (to the outermost target), not once per branch (a br_table has thousands). A
    # branch that leaves the innermost Python loop around its site is a ``break`` of it: the
    # ends of the constructs inside that loop never see its ``brk`` (no guards after them).
    for parent, targets in leaving.items():
        p = parent.loop
        crossing = [t for t in targets if p is not None and p.level > t.level]
        within = [t for t in targets if p is None or p.level <= t.level]
        for start, group in ((parent, within), (p, crossing)):
            if not group:
                continue
            top = min(t.level for t in group)
            x = start
            while x.level > top:
                x.leaks = True
                if x.materialized:
                    x.passthrough = True
                    x.brk_targeted.update(t for t in group if t.level < x.level)
                x = x.parent  # type: ignore[assignment]
    return info
