"""The flat shape of a function: a dispatch loop over basic blocks, for bodies whose structured
shape CPython would refuse.

The structured shape (:mod:`.codegen`) turns wasm's blocks, loops and ifs into nested Python
statements. CPython limits that nesting: at most 20 nested loops and ``try`` blocks ("too many
statically nested blocks"), a compiler recursion depth of a few hundred to a few thousand
statements, and 100 levels of indentation in source (ahead-of-time files). Real programs exceed
each of these (interpreter loops nest 20+ loops; big ``switch`` statements and ``else if`` chains
nest blocks 1,000+ deep). A function whose structured shape would nest deeper than
:data:`MAX_NESTING` statements or :data:`MAX_LOOPS` loops gets this shape instead::

    def f7(l0, d):
        ...prologue...
        L = 0
        while True:
            if L < 2:
                if L < 1:
                    <block 0>        # each block ends with a jump, a return or a raise
                else:
                    <block 1>
            else:
                <block 2>

A *basic block* starts at every place a branch can reach: the function entry, the header of a
loop some branch targets, the ``else`` arm of an ``if``, and the end of a construct that is
reached other than by falling into it. A jump is ``L = <label>; continue``; the dispatch is a
binary search over the labels, so the nesting is logarithmic in their number and a jump costs a
few comparisons. Everything else — the symbolic operand stack, stack slots ``s<i>`` at labels,
calls, the call-depth check (``DEEP(d)``), the NaN rule, traps, fuel segments, instruction
counting, tier-up counting, the ``# @offset`` lines — is the structured translator's, unchanged:
the flat shape only lowers control flow differently. With epoch interruption, a loop's header
block starts with the check the structured shape's ``while RUN`` makes (``if not RUN: raise
interrupted()``), so every jump back to it checks the deadline.

Fuel segments are cut exactly where the structured shape cuts them (see :mod:`wasm2py.fuel`):
every basic block starts a segment, and segments also start where the structured shape would
start one inside a block. A paused call resumes in a flat function like in any other: the label
``L`` is a local like the others, restored with them.

A ``try_table`` cannot be a Python ``try`` around its body (the body's blocks are branches of the
dispatch, not statements nested in one place). Its body and what follows its end start basic
blocks of their own, so every block lies in one ``try_table`` region, and the dispatch loop runs
inside a ``try`` whose handler picks the catch clauses by the region of the block that raised
(:meth:`FlatGen.catching`).
"""

from __future__ import annotations

import ast

from ..binary.opcodes import Op
from ..errors import Error
from .codegen import FuncGen, _const, _name, _sname

#: structured functions nest at most this many statements (ahead-of-time source allows 100
#: levels of indentation; a resume variant adds two)
MAX_NESTING = 96
#: structured functions nest at most this many Python loops (CPython: 20 loops and ``try``
#: blocks; the function body's ``try`` with fuel metering is one)
MAX_LOOPS = 19


class FlatGen(FuncGen):
    """Translates one function in the flat shape (see the module docstring)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.info.uses_brk = False  # no ``brk`` flag: every branch is a jump
        #: (label, statements) of every basic block, the entry block (label 0) first
        self.blocks: list[tuple[int, list[ast.stmt]]] = [(0, self.out)]
        #: (construct, "head"/"else"/"end") -> label, for every label some jump targets
        self.labels: dict[tuple[object, str], int] = {}
        #: the ``try_table`` regions: (region, enclosing region, handler statements); region 0
        #: is the function outside any ``try_table``
        self.handlers: list[tuple[int, int, list[ast.stmt]]] = []
        #: the regions the translation is inside, innermost last
        self.regions = [0]
        #: label -> the region its basic block lies in (the entry block: region 0)
        self.region_of: dict[int, int] = {0: 0}

    # -- labels and jumps ----------------------------------------------------------------------
    def label(self, c, where: str) -> int:
        """The label of a place (a loop's head, an if's else arm, a construct's end)."""
        key = (c, where)
        n = self.labels.get(key)
        if n is None:
            n = self.labels[key] = len(self.labels) + 1
        return n

    def jump(self, label: int) -> None:
        """Continue at ``label`` (the operand stack is in its slots already)."""
        self.emit(ast.Assign([_sname("L")], _const(label)))
        self.emit(ast.Continue())

    def begin(self, label: int) -> None:
        """Start the basic block ``label``; what came before jumped or returned."""
        self.out = []
        self.blocks.append((label, self.out))
        self.region_of[label] = self.regions[-1]

    def arm_sets_brk(self, frame) -> bool:
        return False

    # -- control -------------------------------------------------------------------------------
    def op_loop(self, ins) -> None:
        frame = self.enter(ins, "loop")
        if frame.c.materialized:
            head = self.label(frame.c, "head")
            self.jump(head)
            self.begin(head)
            if self.epoch:
                # every entry to the loop, back-jumps included, checks the deadline as the
                # structured shape's ``while RUN`` does
                stop = ast.Raise(ast.Call(_name("interrupted"), [], []), None)
                self.emit(ast.If(ast.UnaryOp(ast.Not(), _name("RUN")), [stop], []))
            if self.hot:
                self.emit(self.loop_counter(ins, frame))
            self.start_segment(self.index_of(ins) + 1)

    def op_if(self, ins) -> None:
        cond = self.pop()
        self.before_stmt()
        frame = self.enter(ins, "if")
        c = frame.c
        skip = self.label(c, "else" if c.else_at >= 0 else "end")
        test = ast.UnaryOp(ast.Not(), self.cond_expr(cond))
        node = ast.If(test, [], [])
        self.emit(node)
        saved = self.out
        self.out = node.body
        self.jump(skip)
        self.out = saved
        self.start_segment(self.index_of(ins) + 1)

    def op_else(self, ins) -> None:
        frame = self.ctrl[-1]
        if not frame.unreachable:
            self.land_results(frame)
            frame.then_live = True
            self.jump(self.label(frame.c, "end"))
        self.begin(self.label(frame.c, "else"))
        frame.unreachable = False
        self.stack = frame.below + [self.slot_value(frame.height + i, t)
                                    for i, t in enumerate(frame.params)]  # fmt: skip
        self.start_segment(self.index_of(ins) + 1)

    def op_try_table(self, ins) -> None:
        """A ``try_table`` is a region of basic blocks: its body starts a block of its own and
        its end starts another, so the label ``L`` of the running block says which handlers
        apply when a ``WasmException`` reaches the dispatch loop (see :meth:`catching`)."""
        bt, catches = ins.imm
        self.before_stmt()
        self.stabilize()
        region, parent = len(self.handlers) + 1, self.regions[-1]
        # the clauses branch from the try_table's place, to labels outside it; none matching,
        # the enclosing region's handlers are next
        handler = self.catch_chain(catches, self.info.by_start[self.index_of(ins)].end,
                                   [ast.Assign([_sname("T")], _const(parent))])  # fmt: skip
        self.handlers.append((region, parent, handler))
        frame = self.enter(ins, "try")
        head = self.label(frame.c, "head")
        self.jump(head)
        self.regions.append(region)
        self.begin(head)

    def op_end(self, ins) -> None:
        frame = self.ctrl[-1]
        if frame.kind == "try":
            self.regions.pop()
            if not frame.unreachable:
                self.label(frame.c, "end")  # what follows lies outside: a block of its own
        self._end(ins)

    def _end(self, ins) -> None:
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
        end = self.labels.get((c, "end"))
        if end is not None:  # a jump goes there: a new basic block (the fallthrough jumps too)
            if live:
                self.jump(end)
            self.begin(end)
        then_live = frame.kind == "if" and frame.then_live
        if frame.kind == "if" and c.else_at < 0:
            # the implicit else arm (the jump from the if) passes the params through
            then_live = then_live or live
            live = frame.params == frame.results
        reachable = live or then_live or frame.reached
        self.stack = frame.below + [self.slot_value(frame.height + i, t)
                                    for i, t in enumerate(frame.results)]  # fmt: skip
        if not reachable:
            self.ctrl[-1].unreachable = True
        elif self.counting or self.fuel is not None:
            self.start_segment(self.index_of(ins) + 1)

    def branch(self, depth: int, vals: list, site: int) -> None:
        frame = self.ctrl[-1 - depth]
        if frame.kind == "func":
            self.emit_return(vals)
            return
        frame.reached = True
        self.assign_label(frame.height, vals)
        self.jump(self.label(frame.c, "head" if frame.kind == "loop" else "end"))

    # -- assembly ------------------------------------------------------------------------------
    def assemble(self, body: list[ast.stmt]) -> list[ast.stmt]:
        blocks = sorted(self.blocks, key=lambda b: b[0])
        for label, stmts in blocks:
            if not _ends(stmts):  # it would run forever: a bug of this translator
                raise Error(f"function {self.index}: basic block {label} does not end with a "
                            f"jump")  # fmt: skip

        def tree(lo: int, hi: int) -> list[ast.stmt]:
            if hi - lo == 1:
                return blocks[lo][1]
            mid = (lo + hi) // 2
            test = ast.Compare(_name("L"), [ast.Lt()], [_const(blocks[mid][0])])
            return [ast.If(test, tree(lo, mid), tree(mid, hi))]

        start = ast.Assign([_sname("L")], _const(0))
        loop = ast.While(_const(True), tree(0, len(blocks)), [])
        start.lineno = loop.lineno = self.body[0].offset if self.body else 1
        if self.handlers:
            loop = self.catching(loop)
        return [start, loop]

    def catching(self, loop: ast.While) -> ast.While:
        """The dispatch loop in a ``try`` whose handler finds the ``try_table`` region of the
        block that raised (by its label) and runs the region's catch clauses, then those of the
        enclosing regions; a clause that matches jumps (``continue`` re-enters the loop) or
        returns, and an exception no clause matches leaves the function::

            while True:
                try:
                    while True: <dispatch>
                except WasmException as xe:
                    T = (0, 1, 1, 2, ...)[L]
                    if T == 2: <clauses of region 2, none matching: T = 1>
                    if T == 1: <clauses of region 1, none matching: T = 0>
                    raise
        """
        table = [self.region_of.get(n, 0) for n in range(max(self.region_of) + 1)]
        lookup = ast.Subscript(ast.Tuple([_const(r) for r in table], ast.Load()), _name("L"),
                               ast.Load())  # fmt: skip
        body: list[ast.stmt] = [ast.Assign([_sname("T")], lookup)]
        for region, _parent, handler in reversed(self.handlers):  # inner regions first
            body.append(ast.If(ast.Compare(_name("T"), [ast.Eq()], [_const(region)]),
                               handler, []))  # fmt: skip
        body.append(ast.Raise(None, None))
        for st in body:
            st.lineno = loop.lineno
        handler = ast.ExceptHandler(_name("WasmException"), "xe", body)
        tr = ast.Try([loop], [handler], [], [])
        outer = ast.While(_const(True), [tr], [])
        tr.lineno = outer.lineno = loop.lineno
        return outer


def _ends(stmts: list[ast.stmt]) -> bool:
    """Whether control never falls off the end of ``stmts``."""
    while stmts:
        last = stmts[-1]
        if isinstance(last, ast.Continue | ast.Return | ast.Raise):
            return True
        if not isinstance(last, ast.If) or not _ends(last.body):
            return False
        stmts = last.orelse
    return False


#: node class -> its fields that nest statements (``body``, ``orelse``, ``handlers``), in
#: that order; empty for simple statements (filled as classes are met)
_NESTING: dict[type, tuple[str, ...]] = {}


def nesting_depth(fn: ast.FunctionDef) -> int:
    """How deeply statements nest in ``fn`` (its body's statements: 1; iteratively). (Run on
    every translated function, up to three times: the fields that can nest statements are
    looked up once per node class, not tried on every statement.)"""
    deepest = 0
    todo = [(fn.body, 1)]
    nesting = _NESTING
    while todo:
        stmts, depth = todo.pop()
        if depth > deepest:
            deepest = depth
        for st in stmts:
            cls = st.__class__
            attrs = nesting.get(cls)
            if attrs is None:
                attrs = nesting[cls] = tuple(a for a in ("body", "orelse", "handlers")
                                             if a in getattr(cls, "_fields", ()))  # fmt: skip
            for attr in attrs:
                inner = getattr(st, attr, None)
                if inner:
                    todo.append((inner, depth + 1))
    return deepest


# the instruction dispatch table, with this shape's control instructions
FlatGen.DISPATCH = {**FuncGen.DISPATCH, Op.LOOP: FlatGen.op_loop, Op.IF: FlatGen.op_if,
                    Op.ELSE: FlatGen.op_else, Op.END: FlatGen.op_end,
                    Op.TRY_TABLE: FlatGen.op_try_table}  # fmt: skip
