"""Rewrites of a translated function's statements that a person would make by hand.

:func:`fold_skips`: a ``br_if`` that skips the rest of its own block is lowered by
:mod:`.codegen` like any forward branch, with the ``brk`` flag::

    if C:                 # the br_if (PRE: results written to their slots first)
        PRE
        brk = K
    if not brk:           # the rest of the block
        BODY
    if brk == K:          # the block's end
        brk = 0

When no other branch targets that block (no other ``brk = K`` in ``BODY``), the flag carries
nothing the ``if`` does not: this becomes ``if C: PRE else: BODY`` (``if not C: BODY`` when
``PRE`` is empty). Both run the same statements in the same order and leave ``brk`` the same,
so traps, fuel segments and resume points (found by line) are unchanged.

:func:`group_resets`: a ``br_table`` over nested blocks (a C ``switch``) sets ``brk`` to the
target's id and falls through the ends of every block inside the target, each a reset and a
guard::

    if brk == 474:        # the innermost block's end
        brk = 0
    if not brk:           # the code after it (a case)
        ...
    if brk == 473:
        ...

Reaching case K tests every block end before it: hundreds of tests per dispatch in an
interpreter loop. A long run of such resets and guards is cut into halves, recursively, each
under ``if not brk or brk >= LOW:`` (LOW: the lowest id reset in it). When ``brk`` is set to a
lower id, nothing in the half can run (no reset matches, no guard passes), so skipping it
changes nothing; reaching a case costs a test per level instead of two per block.
"""

from __future__ import annotations

import ast

from .nodes import clone, nodes, unlocated


def _is_brk_set(st: ast.stmt, k: int | None = None) -> bool:
    return (isinstance(st, ast.Assign) and len(st.targets) == 1
            and isinstance(st.targets[0], ast.Name) and st.targets[0].id == "brk"
            and isinstance(st.value, ast.Constant)
            and (k is None or st.value.value == k))  # fmt: skip


def _is_guard(st: ast.stmt) -> bool:
    t = getattr(st, "test", None)
    return (isinstance(st, ast.If) and not st.orelse and isinstance(t, ast.UnaryOp)
            and isinstance(t.op, ast.Not) and isinstance(t.operand, ast.Name)
            and t.operand.id == "brk")  # fmt: skip


def _is_reset(st: ast.stmt, k: int) -> bool:
    t = getattr(st, "test", None)
    return (isinstance(st, ast.If) and not st.orelse and isinstance(t, ast.Compare)
            and isinstance(t.left, ast.Name) and t.left.id == "brk"
            and isinstance(t.ops[0], ast.Eq) and isinstance(t.comparators[0], ast.Constant)
            and t.comparators[0].value == k and len(st.body) == 1
            and _is_brk_set(st.body[0], 0))  # fmt: skip


def _is_plain(st: ast.stmt) -> bool:
    """An assignment to a local other than ``brk`` (what a branch writes before it jumps:
    its values, and with fuel ``fuel -= K``)."""
    if isinstance(st, ast.AugAssign):
        return isinstance(st.target, ast.Name) and st.target.id != "brk"
    return (isinstance(st, ast.Assign) and all(isinstance(t, ast.Name) and t.id != "brk"
                                               for t in st.targets))  # fmt: skip


def _fold(site: ast.If, guard: ast.If, plain_not: bool = True) -> None:
    """``if C: PRE; brk = K`` followed by ``if not brk: BODY`` -> ``if C: PRE else: BODY``
    (``if not C: BODY`` without ``PRE``; ``plain_not=False``: ``C`` negated by
    :func:`negation`)."""
    pre = site.body[:-1]
    if pre:
        site.body = pre
        site.orelse = guard.body
    else:
        site.test = ast.UnaryOp(ast.Not(), site.test) if plain_not else negation(site.test)
        site.body = guard.body


#: comparison operators whose negation is exact for every value compared (not ``<`` and the
#: like: both false for a NaN)
_NEGATED = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
            ast.In: ast.NotIn, ast.NotIn: ast.In}  # fmt: skip


def negation(test: ast.expr) -> ast.expr:
    """An ``if`` test true exactly when ``test`` is false: ``a != b`` for ``a == b`` (and
    the other exact pairs of :data:`_NEGATED`), ``x`` for ``not x`` (an ``if`` reads only
    truth), else ``not test``."""
    cls = test.__class__
    if cls is ast.Compare and len(test.ops) == 1:  # type: ignore[attr-defined]
        neg = _NEGATED.get(test.ops[0].__class__)  # type: ignore[attr-defined]
        if neg is not None:
            return ast.Compare(test.left, [neg()], test.comparators)  # type: ignore[attr-defined]
    elif cls is ast.UnaryOp and test.op.__class__ is ast.Not:  # type: ignore[attr-defined]
        return test.operand  # type: ignore[attr-defined]
    return ast.UnaryOp(ast.Not(), test)


def _is_site(st: ast.stmt, k: int) -> bool:
    return (isinstance(st, ast.If) and not st.orelse and bool(st.body)
            and _is_brk_set(st.body[-1], k) and all(_is_plain(p) for p in st.body[:-1]))  # fmt: skip


def fold_at_end(stmts: list[ast.stmt], k: int) -> bool:
    """:func:`fold_skips` for one block while it is translated, where its end is reached
    (``stmts``: the list the block's statements went to, ``k``: its id) and the caller knows
    that one ``brk = K`` is all the function has: if ``stmts`` ends with that branch's site,
    whose ``else`` is the rest of the block (the quick translation puts the guard after a
    site there: ``FuncGen.open_guard``), fold them (``if C: PRE else: BODY``, or
    ``if not C: BODY`` with ``not C`` made plain where that is exact: ``a != b``) and return
    True; the block's end then needs no reset either (``brk`` is never K). The same rewrite
    as the whole-function pass, for the quick translation (see ``ModuleGen.quick``), which
    skips that pass: done here it costs a few tests per block instead of walks of the
    finished function, and the statements it drops are never located, compiled or freed."""
    site = stmts[-1] if stmts else None
    if not (site.__class__ is ast.If and site.orelse and site.body  # type: ignore[union-attr]
            and _is_brk_set(site.body[-1], k)  # type: ignore[union-attr]
            and all(_is_plain(p) for p in site.body[:-1])):  # type: ignore[union-attr]  # fmt: skip
        return False
    pre = site.body[:-1]  # type: ignore[union-attr]
    if pre:
        site.body = pre  # type: ignore[union-attr]
    else:
        site.test = negation(site.test)  # type: ignore[union-attr]
        site.body, site.orelse = site.orelse, []  # type: ignore[union-attr]
    return True


class _Counts:
    """How many ``brk = K`` statements there are for each K, and ``brk`` names in all (one
    walk of the function; kept up to date as branches are folded)."""

    def __init__(self, fn: ast.FunctionDef):
        self.sets: dict[int, int] = {}
        self.names = 0
        Name, Assign = ast.Name, ast.Assign
        for node in nodes(fn):
            cls = node.__class__
            if cls is Name:
                if node.id == "brk":  # type: ignore[attr-defined]
                    self.names += 1
            elif cls is Assign and _is_brk_set(node):  # type: ignore[arg-type]
                k = node.value.value  # type: ignore[attr-defined]
                self.sets[k] = self.sets.get(k, 0) + 1
            elif (cls is Assign and isinstance(node.targets[0], Name)  # type: ignore[attr-defined]
                  and node.targets[0].id == "brk"):  # type: ignore[attr-defined]  # fmt: skip
                # a br_table's lookup, ``brk = (K1, K2, ...)[i] if i < n else K0``: every
                # constant in it counts as a branch (too many only keep a fold from happening)
                for c in nodes(node.value):  # type: ignore[attr-defined]
                    if isinstance(c, ast.Constant):
                        for k in c.value if isinstance(c.value, tuple) else (c.value,):
                            self.sets[k] = self.sets.get(k, 0) + 1


def _fold_tail(stmts: list[ast.stmt], k: int, counts: _Counts) -> None:
    """``stmts`` ends where block K's ``brk`` reset follows: a branch to K followed by its
    guard at the very end of it is folded (``brk`` is reset right after anyway), and so on
    into the folded body."""
    while len(stmts) >= 2 and _is_site(stmts[-2], k) and _is_guard(stmts[-1]):
        site, guard = stmts[-2], stmts[-1]
        del stmts[-1]
        _fold(site, guard)  # type: ignore[arg-type]
        counts.sets[k] -= 1
        counts.names -= 2
        stmts = guard.body


def fold_skips(fn: ast.FunctionDef) -> None:
    """Apply the rewrite of the module docstring to the statements of ``fn``, then drop the
    prologue's ``brk = 0`` if no other use of ``brk`` is left (keeping ``fn.prologue_len``
    right)."""
    if not any(_is_brk_set(st, 0) for st in fn.body[: fn.prologue_len]):  # type: ignore[attr-defined]
        return
    counts = _Counts(fn)
    _fold_list(fn.body, counts)
    if counts.names == 1:
        n = fn.prologue_len  # type: ignore[attr-defined]
        del fn.body[next(i for i, st in enumerate(fn.body[:n]) if _is_brk_set(st, 0))]
        fn.prologue_len = n - 1  # type: ignore[attr-defined]


def _fold_list(stmts: list[ast.stmt], counts: _Counts) -> None:
    i = 0
    while i < len(stmts):
        st = stmts[i]
        if (isinstance(st, ast.If) and not st.orelse and st.body and _is_brk_set(st.body[-1])
                and i + 2 < len(stmts) and _is_guard(stmts[i + 1])):  # fmt: skip
            k = st.body[-1].value.value  # type: ignore[attr-defined]
            guard = stmts[i + 1]
            if k and _is_reset(stmts[i + 2], k):
                _fold_tail(guard.body, k, counts)  # type: ignore[attr-defined]
                if counts.sets[k] == 1 and all(_is_plain(p) for p in st.body[:-1]):
                    _fold(st, guard)  # type: ignore[arg-type]
                    del stmts[i + 1 : i + 3]
                    counts.sets[k] = 0
                    counts.names -= 4  # the site's, the guard's and the reset's two
        for attr in ("body", "orelse"):
            inner = getattr(st, attr, None)
            if inner:
                _fold_list(inner, counts)
        i += 1


#: runs of resets and guards at most this long are left as they are
_GROUP_LEAF = 6


def _reset_id(st: ast.stmt) -> int | None:
    """K if ``st`` is ``if brk == K: brk = 0`` (a block end's reset)."""
    t = getattr(st, "test", None)
    if (isinstance(st, ast.If) and not st.orelse and isinstance(t, ast.Compare)
            and isinstance(t.left, ast.Name) and t.left.id == "brk" and len(t.ops) == 1
            and isinstance(t.ops[0], ast.Eq) and isinstance(t.comparators[0], ast.Constant)
            and len(st.body) == 1 and _is_brk_set(st.body[0], 0)):  # fmt: skip
        return t.comparators[0].value
    return None


def group_resets(fn: ast.FunctionDef, levels: int) -> None:
    """Apply the second rewrite of the module docstring to ``fn``, nesting no statement more
    than ``levels`` deeper than it was."""
    if levels > 0:
        _group_list(fn.body, levels)


def _group_list(stmts: list[ast.stmt], levels: int) -> None:
    out: list[ast.stmt] = []
    i = 0
    while i < len(stmts):
        j = i
        while j < len(stmts) and (_reset_id(stmts[j]) is not None or _is_guard(stmts[j])):
            j += 1
        if j - i > _GROUP_LEAF:
            out.extend(_halves(stmts[i:j], levels))
            i = j
        else:
            _group_inner(stmts[i], levels)
            out.append(stmts[i])
            i += 1
    stmts[:] = out


def _group_inner(st: ast.stmt, levels: int) -> None:
    for attr in ("body", "orelse", "handlers"):
        inner = getattr(st, attr, None)
        if inner:
            _group_list(inner, levels)


def _halves(run: list[ast.stmt], levels: int) -> list[ast.stmt]:
    if levels == 0 or len(run) <= _GROUP_LEAF:
        for st in run:
            _group_inner(st, levels)
        return run
    mid = len(run) // 2
    return [_wrap(part, _halves(part, levels - 1)) for part in (run[:mid], run[mid:])]


def _wrap(part: list[ast.stmt], body: list[ast.stmt]) -> ast.If:
    ids = [k for k in map(_reset_id, part) if k is not None]
    test: ast.expr = ast.UnaryOp(ast.Not(), ast.Name("brk", ast.Load()))
    if ids:
        low = ast.Compare(ast.Name("brk", ast.Load()), [ast.GtE()], [ast.Constant(min(ids))])
        test = ast.BoolOp(ast.Or(), [test, low])
    node = ast.If(test, body, [])
    node.lineno = part[0].lineno
    node.wasm_op = None  # type: ignore[attr-defined]  # (the first statement in it has the comment)
    return node


class _NoSplit(Exception):
    """The loop body is not one :func:`split_loop_checks` handles."""


def _need(st: ast.stmt) -> int | None:
    """``K`` if ``st`` is a segment's fuel check ``if fuel < K: fuel = out_of_fuel(...)``."""
    from .resume import _is_fuel_check

    if not (isinstance(st, ast.If) and not st.orelse and len(st.body) == 1 and _is_fuel_check(st)):
        return None
    t = st.test
    if (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "fuel"
            and len(t.ops) == 1 and isinstance(t.ops[0], ast.Lt)
            and isinstance(t.comparators[0], ast.Constant) and type(t.comparators[0].value) is int):  # fmt: skip
        return t.comparators[0].value
    return None


def _charge(st: ast.stmt) -> int | None:
    """``k`` if ``st`` is a charge ``fuel -= k``."""
    if (isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name) and st.target.id == "fuel"
            and isinstance(st.op, ast.Sub) and isinstance(st.value, ast.Constant)
            and type(st.value.value) is int and st.value.value >= 0):  # fmt: skip
        return st.value.value
    return None


def _touches_fuel(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in ("fuel", "F") for n in nodes(node))


def _walk_checks(stmts: list[ast.stmt], offset: int | None, needs: list[int],
                 ends=(ast.Break, ast.Continue, ast.Raise)) -> int | None:  # fmt: skip
    """Walk one iteration's statements from ``offset`` (the fuel charged since the loop's
    head, negated); append to ``needs`` what each check needs at the head (``K - offset``);
    return the offset after ``stmts`` (the least over the paths through them), None when no
    path comes out of them (each ends in one of ``ends``: a ``break``, ``continue`` or
    ``raise``)."""
    from .resume import point_kind

    for st in stmts:
        if offset is None:  # (unreachable statements: none is generated)
            raise _NoSplit
        k = _need(st)
        if k is not None:
            needs.append(k - offset)
            continue
        k = _charge(st)
        if k is not None:
            offset -= k
            continue
        if isinstance(st, ast.If):
            if _touches_fuel(st.test):
                raise _NoSplit
            arms = [_walk_checks(st.body, offset, needs, ends),
                    _walk_checks(st.orelse, offset, needs, ends)]
            arms = [a for a in arms if a is not None]
            offset = min(arms) if arms else None
            continue
        if isinstance(st, ends):
            if _touches_fuel(st):
                raise _NoSplit
            offset = None
            continue
        if (not isinstance(st, ast.Assign | ast.AugAssign | ast.Expr | ast.Pass)
                or point_kind(st) is not None or _touches_fuel(st)):  # fmt: skip
            raise _NoSplit
    return offset


def _drop_checks(stmts: list[ast.stmt]) -> list[ast.stmt]:
    out = []
    for st in stmts:
        if _need(st) is not None:
            continue
        if isinstance(st, ast.If):
            st.body = _drop_checks(st.body) or [ast.copy_location(ast.Pass(), st)]
            st.orelse = _drop_checks(st.orelse)
        out.append(st)
    return out


def split_loop_checks(fn: ast.FunctionDef) -> None:
    """A loop iteration that checks fuel more than once (a ``br_if`` leaving the loop between
    two segments, as in ``while (i < N && |z| <= 4)``) and holds no call, nested loop or other
    fuel traffic is made two copies chosen at the head::

        while True:                      while True:
            if fuel < 34: ...                if fuel >= 44:
            A                                    A; B   (no checks; the same charges)
            if X: fuel -= 34; break   ->     else:
            if fuel < 44: ...                    the iteration as it was
            B
            fuel -= 44; continue

    ``44``: the most fuel any check of the iteration asks for, counted from the head (its
    ``K`` plus what the iteration charged before it). With that much in the cell no check
    can find it short, so the first copy runs exactly what the second would: the same
    statements, charges, traps and fuel. With less (the cell about to be refilled from the
    bank, or the fuel running out) the second copy stops, pauses and refills where it always
    did. The first copy holds no resume point (:mod:`.resume` takes the second while
    rewinding). One test per iteration instead of two or more."""
    loops = [n for n in nodes(fn) if isinstance(n, ast.While | ast.For)]
    for loop in loops:
        needs: list[int] = []
        try:
            _walk_checks(loop.body, 0, needs)
        except _NoSplit:
            continue
        if len(needs) < 2:
            continue
        first = loop.body[0]
        fast = _drop_checks(clone(loop.body))
        test = ast.Compare(ast.Name("fuel", ast.Load()), [ast.GtE()], [ast.Constant(max(needs))])
        # (located at the first statement's wasm offset; the rest is located with the whole
        # function, statements under it inheriting their own statement's offset)
        loop.body = [ast.copy_location(ast.If(test, fast or [ast.Pass()], loop.body), first)]


#: operators that cannot raise on the ints and floats generated code computes with
#: (``<<`` and ``>>`` only by a constant: a negative count raises)
_SAFE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)
_SAFE_NODES = (ast.Name, ast.Constant, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp,
               ast.NamedExpr, ast.Tuple, ast.Assign, ast.Pass)  # fmt: skip


def _may_raise(node: ast.AST) -> bool:
    """Whether evaluating ``node`` may raise (a memory access, a helper call, a division...);
    conservative: only names, constants and arithmetic that cannot fail say no."""
    for n in nodes(node):
        if isinstance(n, ast.BinOp | ast.AugAssign):
            op = n.op
            if isinstance(op, _SAFE_OPS):
                continue
            right = n.right if isinstance(n, ast.BinOp) else n.value
            if isinstance(op, ast.LShift | ast.RShift) and isinstance(right, ast.Constant) \
                    and type(right.value) is int and 0 <= right.value <= 64:  # fmt: skip
                continue
            return True
        if not isinstance(n, _SAFE_NODES):
            return True
    return False


class _Prepay:
    """One iteration of a loop :func:`prepay_loops` rewrites, without its checks and charges:
    ``cost`` (C) what the iteration is charged at each ``continue``; ``left`` the name of the
    ``for`` variable of the stretch, what the iterations not yet started were charged."""

    def __init__(self, cost: int | None, left: str, floor: int | None = None):
        self.cost = cost
        self.left = left
        #: (:func:`prepay_for_loops`) the least the cell holds as an iteration starts, for its
        #: checks and the next iterations' to pass (``N - C``); None: paths that charge more
        #: than ``C`` are not taken (the dearest path's charge is ``C``)
        self.floor = floor
        self.ends: list[int] = []  # what each path to the next iteration charged

    def _surcharge(self, amount: int, at: int, rest: list[ast.stmt] | None,
                   where: ast.stmt) -> list[ast.stmt]:  # fmt: skip
        """The end of a path that charged ``amount`` more than the others, which then go on at
        charge ``at``: ``fuel -= amount``, and if that leaves the cell below the floor, the
        fuel made exact, ``rest`` (the rest of the iteration as it was, checked; None at the
        end of an iteration) run and the stretch left."""
        take = ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Sub(), ast.Constant(amount))
        leave: list[ast.stmt] = [self.give_back(at) if rest is not None else
                                 ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Add(),
                                               ast.Name(self.left, ast.Load()))]  # fmt: skip
        leave += [*clone(rest or []), ast.Break()]
        low = ast.Compare(ast.Name("fuel", ast.Load()), [ast.Lt()], [ast.Constant(self.floor)])
        out = [take, ast.If(low, leave, [])]
        for st in out:
            ast.copy_location(st, where)
        for st in leave:
            if not hasattr(st, "lineno"):
                ast.copy_location(st, where)
        return out

    @staticmethod
    def _may_leave(rest: list[ast.stmt]) -> bool:
        """Whether ``rest`` can run checked before a stretch is left (no ``break`` or
        ``continue`` of the loop, no barrier's mark)."""
        return not _loop_jumps(rest) and not any(getattr(n, "barrier", False) for st in rest for n in nodes(st))

    def give_back(self, charged: int) -> ast.stmt:
        """``fuel += pr + (C - charged)``: the exact fuel (as the loop without prepaying would
        hold it) at a point where the iteration charged ``charged`` (``pr``: what the
        iterations of the stretch not yet started were charged)."""
        c = self.cost
        assert c is not None
        amount: ast.expr = ast.Name(self.left, ast.Load())
        if c != charged:
            amount = ast.BinOp(amount, ast.Add() if c > charged else ast.Sub(),
                               ast.Constant(abs(c - charged)))  # fmt: skip
        return ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Add(), amount)

    def walk(self, stmts: list[ast.stmt], charged: int,
             after: list[ast.stmt] | None = None) -> tuple[list[ast.stmt], int | None]:  # fmt: skip
        """``stmts`` (from a point where the iteration charged ``charged``) without checks and
        charges, every statement that may raise in a ``try`` that gives back what it must, a
        ``break`` or ``return`` preceded by the same, and paths that meet made to agree on
        what they charged (the ones that charged less give back the difference); and what the
        paths that come out of them charged (None if none does). A probe (no ``cost`` yet)
        changes nothing and only collects what each path to the next iteration charged.
        With a ``floor``, paths that meet go on at the least charge, and the dearer ones take
        the difference from the cell (:meth:`_surcharge`; ``after``: the statements of the
        iteration that follow ``stmts``, as they are)."""
        out: list[ast.stmt] = []
        after = after or []
        at: int | None = charged
        run: list[ast.stmt] = []  # statements of one try: all at the same charge, ``at``

        def flush() -> None:
            if run:
                if self.cost is not None and any(map(_may_raise, run)):
                    assert at is not None
                    handler = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), None,
                                                [self.give_back(at), ast.Raise(None, None)])  # fmt: skip
                    out.append(ast.copy_location(ast.Try(list(run), [handler], [], []), run[0]))
                else:
                    out.extend(run)
                run.clear()

        for idx, st in enumerate(stmts):
            if at is None:
                raise _NoSplit  # (unreachable statements: none is generated)
            if _need(st) is not None:
                continue
            k = _charge(st)
            if k is not None:
                flush()
                at += k
                continue
            if isinstance(st, ast.If):
                if self.cost is not None and _may_raise(st.test):
                    # (evaluated alone: a try around the whole ``if`` would also catch what its
                    # arms raise, and give back a second time)
                    run.append(ast.copy_location(ast.Assign([ast.Name("ft", ast.Store())],
                                                             st.test), st))  # fmt: skip
                    st.test = ast.Name("ft", ast.Load())
                flush()
                rest = [*stmts[idx + 1:], *after]
                if self.floor is not None and self.cost is not None:
                    rest = clone(rest)  # (as they are: the walk changes the statements)
                body, b = self.walk(st.body, at, rest)
                orelse, e = self.walk(st.orelse, at, rest)
                arms = [a for a in (b, e) if a is not None]
                low = self.floor is not None and self._may_leave(rest)
                at = (min(arms) if low else max(arms)) if arms else None
                if self.cost is None:
                    continue  # (a probe: ``stmts`` stay as they are)
                for arm, a in ((body, b), (orelse, e)):
                    if a is not None and at is not None and a < at:
                        arm.append(self.refund(at - a, st))
                    elif a is not None and at is not None and a > at:
                        arm.extend(self._surcharge(a - at, at, rest, st))
                st.body = body or [ast.copy_location(ast.Pass(), st)]
                st.orelse = orelse
                out.append(st)
                continue
            if isinstance(st, ast.Continue):
                flush()
                self.ends.append(at)
                if self.cost is not None and at < self.cost:
                    out.append(self.refund(self.cost - at, st))
                elif self.cost is not None and at > self.cost:
                    out.extend(self._surcharge(at - self.cost, at, None, st))
                out.append(st)
                at = None
                continue
            if isinstance(st, ast.Break | ast.Return):
                # (the value a ``return`` computes may raise: with the fuel already exact, as
                # where the loop without prepaying computes it)
                flush()
                if self.cost is not None:
                    out.append(ast.copy_location(self.give_back(at), st))
                out.append(st)
                at = None
                continue
            run.append(st)
            if isinstance(st, ast.Raise):
                flush()
                at = None
        flush()
        return out, at

    @staticmethod
    def refund(amount: int, where: ast.stmt) -> ast.stmt:
        return ast.copy_location(ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Add(),
                                               ast.Constant(amount)), where)  # fmt: skip


def _blocks(fn: ast.FunctionDef) -> list[tuple[ast.While, int]]:
    """Every ``while True`` of ``fn`` with the number of loops and ``try`` blocks around it."""
    return [(st, depth) for st, depth, _ in _loops(fn)
            if isinstance(st, ast.While) and isinstance(st.test, ast.Constant)
            and st.test.value is True and not st.orelse]  # fmt: skip


#: how many iterations :func:`prepay_loops` and :func:`prepay_for_loops` prepay at a time. A
#: stretch costs a test, a charge and setting up its ``for`` (and a ``for`` loop's, a checked
#: iteration before each): at 32 that was 0.04 of sieve's fuel/plain (1.12 -> 1.08 at 128;
#: 256 gained nothing more), while a stretch left early gives back what it did not run at the
#: same cost whatever its length. (The passes read it when they run: the hand-worked tests lay
#: their data out for 32 and set it so.)
PREPAID = 128


def prepay_loops(fn: ast.FunctionDef, max_blocks: int) -> None:
    """A ``while True`` whose iterations hold no call, nested loop or other fuel traffic (as
    :func:`split_loop_checks` takes them) runs, while the cell holds enough, stretches of
    :data:`PREPAID` (P = 128) iterations charged up front, with no check and no charge in them::

        while True:                         while True:
            if fuel < 13: ...                   if fuel >= 1664:            (13 + 127 * 13)
            l3 = l3 + 1                             fuel -= 1664            (128 * 13)
            fuel -= 13                              for pr in (1651, 1638, ..., 13, 0):
            l9 = LU32(M, l4)[0]     ->                  l3 = l3 + 1
            if l9 < l6: continue                        try:
            break                                           l9 = LU32(M, l4)[0]
                                                        except BaseException:
                                                            fuel += pr
                                                            raise
                                                        if l9 < l6:
                                                            continue
                                                        fuel += pr
                                                        break
                                                    else:
                                                        continue
                                                    break
                                                else:
                                                    the iteration as it was

    Each iteration is charged ``C`` (13): the most any path to the next one charges. The
    head's test asks for ``N + (P - 1) * C``, ``N`` the most fuel any check of the iteration asks
    for, counted from the head: then each of the P starts with at least N as the loop without
    prepaying would hold it, so no check of theirs finds it short. A point of an iteration
    that charged ``c`` so far has the exact fuel ``fuel + pr + (C - c)`` (``pr``, the ``for``
    variable: what the iterations not started were charged), which a ``break`` or ``return``,
    and a ``try`` around whatever may raise, set before leaving; a path to the next iteration that charged
    less than ``C`` gives the difference back. With less in the cell (about to be refilled from
    the bank, or the fuel running out) the second copy runs the iteration, which stops, pauses
    or refills where it always did, and holds the resume points (:mod:`.resume` takes it while
    rewinding). One ``for`` step per iteration instead of a test and a charge per segment; a
    stretch costs one test and one charge, and leaving it one more. ``max_blocks``: the most
    loops and ``try`` blocks that may nest (the rewrite adds two)."""
    for loop, depth in _blocks(fn):
        if depth + 3 > max_blocks:
            continue
        needs: list[int] = []
        try:
            _walk_checks(loop.body, 0, needs, (ast.Break, ast.Continue, ast.Raise, ast.Return))
            probe = _Prepay(None, "pr")  # (which changes nothing: on the loop's own body)
            _, end = probe.walk(loop.body, 0)
            if end is not None:
                probe.ends.append(end)
            if not needs or not probe.ends or max(probe.ends) <= 0:
                continue
            pre = _Prepay(max(probe.ends), "pr")
            fast, end = pre.walk(clone(loop.body), 0)
        except _NoSplit:
            continue
        cost, need = pre.cost, max(needs)
        assert cost is not None
        first = loop.body[0]
        if end is not None and end < cost:
            fast.append(pre.refund(cost - end, loop.body[-1]))
        charge = ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Sub(),
                               ast.Constant(cost * PREPAID))  # fmt: skip
        left = ast.Constant(tuple(range(cost * (PREPAID - 1), -1, -cost)))
        run = ast.For(ast.Name("pr", ast.Store()), left, fast or [ast.Pass()], [ast.Continue()])
        test = ast.Compare(ast.Name("fuel", ast.Load()), [ast.GtE()],
                           [ast.Constant(need + cost * (PREPAID - 1))])  # fmt: skip
        split = ast.If(test, [charge, run, ast.Break()], loop.body)
        for st in (charge, run, run.orelse[0], split.body[-1], split):
            ast.copy_location(st, first)
        loop.body = [split]


def _loop_jumps(stmts: list[ast.stmt]) -> bool:
    """Whether ``stmts`` hold a ``break`` or ``continue`` of the loop they are in (not one of
    a loop nested in them: see :func:`_top_jumps`)."""
    return next(_top_jumps(stmts), None) is not None


def _walks(stmts: list[ast.stmt]) -> bool:
    """Whether :func:`_walk_checks` takes ``stmts`` (no call, nested loop, ``try``...)."""
    try:
        _walk_checks(stmts, 0, [], (ast.Break, ast.Continue, ast.Raise, ast.Return))
    except _NoSplit:
        return False
    return True


def _barriers(stmts: list[ast.stmt]) -> list[list[tuple[list[ast.stmt], int, str]]]:
    """The places a *barrier* may be put in ``stmts``, the deepest first: paths ``[(stmts, i,
    arm), ...]`` down ``if`` statements to an arm (``"body"`` or ``"orelse"``)
    :func:`_walk_checks` does not take (it holds a nested loop, a call...), each step in the
    arm of the step before."""
    for i, st in enumerate(stmts):
        if isinstance(st, ast.If) and not _touches_fuel(st.test):
            for arm in ("body", "orelse"):
                sub = getattr(st, arm)
                if sub and not _walks(sub):
                    here = [(stmts, i, arm)]
                    return [here + deeper for deeper in _barriers(sub)] + [here]
    return []


def prepay_for_loops(fn: ast.FunctionDef, max_blocks: int, max_nesting: int) -> None:
    """A counted ``for`` loop (over a ``zip`` or ``range``, see ``codegen.FuncGen``) whose
    iterations check fuel more than once, or branch to a nested loop or call (a *barrier*: an
    arm of an ``if``, reached down ``if`` arms from the top of the body), runs stretches of
    :data:`PREPAID` iterations charged up front after each checked one, as
    :func:`prepay_loops` does for ``while True`` (sieve's loop; ``C`` 26, ``N`` 37)::

        for a, b in zip(R, S):          for a, b in zip((pz0_0 := iter(R)), (pz0_1 := iter(S))):
            if fuel < 7: ...                the iteration as it was
            fuel -= 7                       if fuel >= N + (P - 1) * C:
            if X:                               fuel -= P * C
                if fuel < 11: ...               pf = P * C
                A                               for pf, a, b in zip(((P - 1) * C, ..., C, 0), pz0_0, pz0_1):
                if Y:                               if X:
                    fuel -= 11      ->                  A
                else:                                   if Y:
                    ...nested loop...                       pass
            if fuel < 19: ...                           else:
            T                                               fuel += pf + (C - 7)
            fuel -= 19                                      ...nested loop..., T (as they were)
        else:                                               break
            E                                           fuel -= 11
                                                        if fuel < N - C:
                                                            fuel += pf + (C - 7)
                                                            T (as it was: checked)
                                                            break
                                                    T
                                                else:
                                                    fuel += pf
                                        else:
                                            E

    The stretch takes its iterations from the loop's own iterators after the ``pf`` tuple:
    when the tuple runs out, ``zip`` takes nothing from them, and the next iteration is the
    loop's; when one runs out, ``pf`` holds what the iterations not started were charged
    (``P * C`` if none started), which the ``else`` gives back, and the loop's next step
    finds it empty and runs ``E`` as it would have. ``C`` is the *least* any path to the next
    iteration charges, ``N`` the most any check asks for from the head. Where paths meet, the
    dearer ones take the difference from the cell, and the cell must then still hold ``N -
    C`` (what it held after the stretch's charge): with that, each iteration starts with at
    least ``N`` as the loop without prepaying would hold it, so no check of the iteration
    finds it short. If it does not, the fuel is made exact (``fuel + pf + C - c``, ``c`` what
    the cheaper paths charged), the rest of the iteration runs as it was and the stretch is
    left. A barrier arm makes the fuel exact too, runs itself and the rest of the iteration
    as they were (checks, charges, resume points) and leaves the stretch. Traps, ``return``
    and paths that charge less than ``C`` give back as in :func:`prepay_loops`. The stretch is
    a copy of the loop's statements for :mod:`.resume` (``resume_copy``): rewinding runs the
    checked iteration, whose ``V`` the locals restore. Loops with a ``break`` of their own,
    or a ``continue`` in the barrier arm or after it, are left as they are. ``max_blocks``: as
    for :func:`prepay_loops`; ``max_nesting``: how deeply statements may nest (the stretch
    puts the body's statements 3 levels deeper: an ``if``, a ``for`` and a ``try``)."""
    names: set[str] | None = None  # (the function's names: taken once a loop is rewritten)
    made = 0
    for loop, depth, level in _fors(fn):
        levels, blocks = _depths(loop.body)
        # (the stretch's ``for`` and a ``try`` around what it runs; the statements 3 deeper)
        if depth + 3 + blocks > max_blocks or level + 3 + levels > max_nesting:
            continue
        it = loop.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                and it.func.id in ("zip", "range")):  # fmt: skip
            continue
        body = loop.body
        barrier = None
        paths = _barriers(body)
        for path in paths:
            stmts, i, arm = path[-1]
            site, inner = stmts[i], getattr(stmts[i], arm)
            tail = [st for stmts_, j, _ in reversed(path) for st in stmts_[j + 1:]]
            if _loop_jumps(inner) or _loop_jumps(tail):
                continue
            # the stretch's copy: the barrier arm made a ``break`` (which gives back what the
            # loop without prepaying would hold), the arm and what follows it put in front of
            # that ``break`` later (the mark is put in place for the test and the copy)
            mark = ast.copy_location(ast.Break(), site)
            mark.barrier = True  # type: ignore[attr-defined]
            setattr(site, arm, [mark])
            try:
                if _walks(body):
                    barrier, shape = (inner, tail), clone(body)
            finally:
                setattr(site, arm, inner)
            if barrier is not None:
                break
        if barrier is None:
            if paths or not _walks(body):
                continue
            shape = body  # (copied once it is known to be rewritten)
        if any(isinstance(n, ast.Break) and not getattr(n, "barrier", False)
               for n in _top_jumps(shape)):  # fmt: skip
            continue
        needs: list[int] = []
        try:
            _walk_checks(shape, 0, needs, (ast.Break, ast.Continue, ast.Raise, ast.Return))
            if barrier is None and len(needs) < 2:
                continue  # (one segment: the counted loop's own stretches take it)
            probe = _Prepay(None, "pf", 0)
            _, end = probe.walk(shape, 0)
            if end is not None:
                probe.ends.append(end)
            if not needs or not probe.ends or min(probe.ends) <= 0:
                continue
            cost, need = min(probe.ends), max(needs)
            pre = _Prepay(cost, "pf", need - cost)
            fast, end = pre.walk(clone(shape) if shape is body else shape, 0)
        except _NoSplit:
            continue
        if end is not None and end > cost:
            fast.extend(pre._surcharge(end - cost, end, None, body[-1]))
        if barrier is not None:
            _fill_barrier(fast, *barrier)
        # the loop's iterators, named: a ``zip``'s each (a stretch's ``zip`` takes from them
        # after the ``pf`` tuple; one ``zip`` of them all would build a tuple per step)
        sources = it.args if it.func.id == "zip" else [it]
        if names is None:
            names = {n.id for n in nodes(fn) if isinstance(n, ast.Name)}
        while any(f"pz{made}_{k}" in names for k in range(len(sources))):
            made += 1
        qs = [f"pz{made}_{k}" for k in range(len(sources))]
        made += 1
        named = [ast.NamedExpr(ast.Name(q, ast.Store()),
                               ast.Call(ast.Name("iter", ast.Load()), [a], []))
                 for q, a in zip(qs, sources, strict=True)]  # fmt: skip
        loop.iter = ast.Call(ast.Name("zip", ast.Load()), named, []) if it.func.id == "zip" \
            else named[0]  # fmt: skip
        targets = (loop.target.elts if it.func.id == "zip" and isinstance(loop.target, ast.Tuple)
                   else [loop.target])  # fmt: skip
        if len(targets) != len(qs):
            raise AssertionError("a counted loop's zip has one target per range")
        target = ast.Tuple([ast.Name("pf", ast.Store()), *clone(targets)], ast.Store())
        first = body[0]
        left = ast.Constant(tuple(range(cost * (PREPAID - 1), -1, -cost)))
        pairs = ast.Call(ast.Name("zip", ast.Load()),
                         [left, *(ast.Name(q, ast.Load()) for q in qs)], [])  # fmt: skip
        back = ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Add(), ast.Name("pf", ast.Load()))
        run = ast.For(target, pairs, fast or [ast.Pass()], [back])
        charge = ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Sub(),
                               ast.Constant(cost * PREPAID))  # fmt: skip
        preset = ast.Assign([ast.Name("pf", ast.Store())], ast.Constant(cost * PREPAID))
        test = ast.Compare(ast.Name("fuel", ast.Load()), [ast.GtE()],
                           [ast.Constant(need + cost * (PREPAID - 1))])  # fmt: skip
        stretch = ast.If(test, [charge, preset, run], [])
        stretch.resume_copy = True  # type: ignore[attr-defined]  # (see resume._rewind)
        for st in (charge, preset, run, back, stretch):
            ast.copy_location(st, first)
        loop.body = [*body, stretch]


def _top_jumps(stmts: list[ast.stmt]):
    """The ``break`` and ``continue`` statements of the loop ``stmts`` are in."""
    todo = list(stmts)
    while todo:
        st = todo.pop()
        if isinstance(st, ast.Break | ast.Continue):
            yield st
        if isinstance(st, ast.While | ast.For):
            todo.extend(st.orelse)  # (the ``else`` of a nested loop is outside it)
            continue
        for attr in ("body", "orelse", "finalbody"):
            todo.extend(getattr(st, attr, ()))
        for h in getattr(st, "handlers", ()):
            todo.extend(h.body)


def _fill_barrier(stmts: list[ast.stmt], arm: list[ast.stmt], tail: list[ast.stmt]) -> bool:
    """Put copies of the barrier ``arm`` and of the ``tail`` that follows it in front of the
    marked ``break`` in ``stmts`` (after what it gives back); True once done."""
    for st in stmts:
        if isinstance(st, ast.If):
            for sub in (st.body, st.orelse):
                for k, x in enumerate(sub):
                    if getattr(x, "barrier", False):
                        sub[k:k] = [*clone(arm), *clone(tail)]
                        return True
                if _fill_barrier(sub, arm, tail):
                    return True
        elif isinstance(st, ast.Try):
            if _fill_barrier(st.body, arm, tail):
                return True
    return False


def _fors(fn: ast.FunctionDef) -> list[tuple[ast.For, int, int]]:
    """Every ``for`` loop of ``fn`` with the number of loops and ``try`` blocks around it and
    how deeply it nests (the function body's statements: 1), outer loops first."""
    return [(st, depth, level) for st, depth, level in _loops(fn) if isinstance(st, ast.For)]


def _loops(fn: ast.FunctionDef) -> list[tuple[ast.While | ast.For, int, int]]:
    """Every loop of ``fn`` with the number of loops and ``try`` blocks around it and how
    deeply it nests (the function body's statements: 1), outer loops first."""
    out = []
    todo: list[tuple[list[ast.stmt], int, int]] = [(fn.body, 0, 1)]
    while todo:
        stmts, depth, level = todo.pop(0)
        for st in stmts:
            inner = depth + isinstance(st, ast.While | ast.For | ast.Try)
            if isinstance(st, ast.While | ast.For):
                out.append((st, depth, level))
            for attr in ("body", "orelse", "finalbody"):
                sub = getattr(st, attr, None)
                if sub:
                    todo.append((sub, inner, level + 1))
            for h in getattr(st, "handlers", ()):
                todo.append((h.body, inner, level + 1))
    return out


def _depths(stmts: list[ast.stmt]) -> tuple[int, int]:
    """How deeply ``stmts`` nest (themselves: 1) and how many loops and ``try`` blocks nest
    in them."""
    levels = blocks = 0
    todo = [(stmts, 1, 0)]
    while todo:
        sts, level, depth = todo.pop()
        levels = max(levels, level)
        blocks = max(blocks, depth)
        for st in sts:
            inner = depth + isinstance(st, ast.While | ast.For | ast.Try)
            for attr in ("body", "orelse", "finalbody"):
                sub = getattr(st, attr, None)
                if sub:
                    todo.append((sub, level + 1, inner))
            for h in getattr(st, "handlers", ()):
                todo.append((h.body, level + 1, inner))
    return levels, blocks


def _continues(stmts: list[ast.stmt], level: int, out: list) -> bool:
    """Append ``(statement list, index, nesting level)`` of every ``continue`` of the loop
    whose body is ``stmts`` (nesting at ``level``) to ``out``; whether the body may fall off its
    end (an implicit ``continue``). Raises :class:`_NoSplit` for one inside a ``try`` (a check
    put before it would run under the handler) or under a statement not generated."""
    for k, st in enumerate(stmts):
        if isinstance(st, ast.Continue):
            out.append((stmts, k, level))
            return False
        if isinstance(st, ast.Break | ast.Return | ast.Raise):
            return False
        if isinstance(st, ast.If):
            falls = _continues(st.body, level + 1, out)
            falls = _continues(st.orelse, level + 1, out) or falls
            if not falls:
                return False
        elif isinstance(st, ast.While | ast.For):
            # (a ``continue`` in the body is the nested loop's; its ``else`` is this loop's)
            _continues(st.orelse, level + 1, out)
        elif isinstance(st, ast.Try):
            if _loop_jumps([st]):
                raise _NoSplit
        elif not isinstance(st, ast.Assign | ast.AugAssign | ast.Expr | ast.Pass):
            raise _NoSplit
    return True


def rotate_entry_loop(fn: ast.FunctionDef, max_nesting: int) -> None:
    """The first ``while True`` of a function, when every path that does not return before
    it reaches it and the entry checks fuel before it (as :func:`split_entry_checks` takes the
    statements before it), checks its segment at the back edges instead of at its head, so
    that the entry's split also covers the first iteration's check (fib)::

        if fuel < 5: ...                 if fuel < 5: ...
        ...                              ...
        fuel -= 8                        fuel -= 8
        while True:                      if fuel < 18: ...       (the head's check and
            if fuel < 18: ...    ->      fuel -= 18               charge, once)
            fuel -= 18                   while True:
            A                                A
            if X: continue                   if X:
            break                                if fuel < 18: ...
                                                 fuel -= 18
                                                 continue
                                             break

    Each ``continue`` of the loop (and its end, if the body may fall off it) gets a copy of
    the check and of the charge right after it, so the same check and charge run at the same
    moments as before: before the loop and after each iteration that goes on. The statements
    before the loop then end with the check; :func:`split_entry_checks` (run next) makes them
    one test ``if fuel >= 26:`` whose fast copy charges 8 + 18 at once
    (:func:`_merge_charges`). The copies are resume points with the head's key: rewinding
    takes the first, before the loop, which charges and enters it as the back edge would
    (from the same restored locals). ``max_nesting``: how deeply statements may nest."""
    body = fn.body
    start = getattr(fn, "prologue_len", 0)
    needs: list[int] = []
    offset: int | None = 0
    at = start
    while at < len(body) and not isinstance(body[at], ast.While):
        try:
            offset = _walk_checks([body[at]], offset, needs, (ast.Return, ast.Raise))
        except _NoSplit:
            return
        if offset is None:
            return
        at += 1
    if at == len(body) or not needs:
        return
    loop = body[at]
    if not (isinstance(loop.test, ast.Constant) and loop.test.value is True) or loop.orelse:
        return
    check = loop.body[0]
    if _need(check) is None or getattr(check, "fuel_carry", 0) or len(loop.body) < 2:
        return
    head = [check]
    if _charge(loop.body[1]) is not None:
        head.append(loop.body[1])
    rest = loop.body[len(head):]
    sites: list = []
    try:
        falls = _continues(rest, 2, sites)
    except _NoSplit:
        return
    if falls:
        rest.append(ast.copy_location(ast.Continue(), rest[-1]))
        sites.append((rest, len(rest) - 1, 2))
    if not sites or max(level for _, _, level in sites) + 1 > max_nesting:
        return
    # (back to front: an index stays valid while statements go in after it)
    for stmts, k, _ in reversed(sites):
        stmts[k:k] = clone(head)
    loop.body = rest
    body[at:at] = head


def _merge_charges(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """``stmts`` with each run of adjacent charges (``fuel -= a; fuel -= b``) made one
    (``fuel -= a + b``), in the arms of ``if`` statements too: nothing runs between them, so
    the fuel is the same wherever anything can look at it."""
    out: list[ast.stmt] = []
    for st in stmts:
        k = _charge(st)
        if k is not None and out and (j := _charge(out[-1])) is not None:
            out[-1] = ast.copy_location(ast.AugAssign(ast.Name("fuel", ast.Store()), ast.Sub(),
                                                      ast.Constant(j + k)), out[-1])  # fmt: skip
            continue
        if isinstance(st, ast.If):
            st.body = _merge_charges(st.body)
            st.orelse = _merge_charges(st.orelse)
        out.append(st)
    return out


def split_entry_checks(fn: ast.FunctionDef) -> None:
    """The statements a function starts with (after its prologue), up to the first loop, call
    or other fuel traffic, made two copies as :func:`split_loop_checks` makes an iteration's
    when they check fuel more than once (fib: the entry segment's check, then the one of
    whichever way its ``br_if`` goes)::

        if fuel < 5: ...                 if fuel >= 9:
        if X:                                (the same, no checks)
            if fuel < 9: ...     ->      else:
            fuel -= 9; return x              (as it was)
        if fuel < 8: ...                 ...the rest
        fuel -= 8
        ...the rest

    ``9``: the most any of the checks asks for, counted from the entry. Both copies end where
    the rest starts (or return), with the same charges; the second holds the resume points."""
    start = getattr(fn, "prologue_len", 0)
    body = fn.body
    needs: list[int] = []
    offset: int | None = 0
    end = start
    while end < len(body) and offset is not None:
        here: list[int] = []
        try:
            after = _walk_checks([body[end]], offset, here, (ast.Return, ast.Raise))
        except _NoSplit:
            break
        needs += here
        offset = after
        end += 1
    if len(needs) < 2 or end == start:
        return
    prefix = body[start:end]
    fast = _merge_charges(_drop_checks(clone(prefix)))
    test = ast.Compare(ast.Name("fuel", ast.Load()), [ast.GtE()], [ast.Constant(max(needs))])
    split = ast.copy_location(ast.If(test, fast or [ast.Pass()], prefix), prefix[0])
    fn.body = body[:start] + [split] + body[end:]


#: the store helpers of a ``for`` that :func:`fill_loops` rewrites, by their width in bytes
_FILL_WIDTHS = {"PU16": 2, "PU32": 4, "PU64": 8}


def _fill_store(st: ast.stmt, x: str) -> tuple[str, int, int] | None:
    """``(view, offset, width)`` when ``st`` stores zero at ``x + offset`` of a memory's byte
    view (``PU64(M, x + 1024, 0)``, ``M[x] = 0``), else None."""
    if st.__class__ is ast.Expr and st.value.__class__ is ast.Call:
        call = st.value
        width = _FILL_WIDTHS.get(getattr(call.func, "id", ""))
        if width is None or len(call.args) != 3 or call.keywords:
            return None
        view, addr, value = call.args
    elif st.__class__ is ast.Assign and len(st.targets) == 1 \
            and st.targets[0].__class__ is ast.Subscript:  # fmt: skip
        width, view, addr, value = 1, st.targets[0].value, st.targets[0].slice, st.value
    else:
        return None
    if not (view.__class__ is ast.Name and view.id[0] == "M" and (view.id[1:].isdigit()
                                                                 or len(view.id) == 1)
            and value.__class__ is ast.Constant and value.value == 0
            and value.value.__class__ is int):  # fmt: skip
        return None
    if addr.__class__ is ast.Name and addr.id == x:
        return view.id, 0, width
    if (addr.__class__ is ast.BinOp and addr.op.__class__ is ast.Add
            and addr.left.__class__ is ast.Name and addr.left.id == x
            and addr.right.__class__ is ast.Constant and addr.right.value.__class__ is int
            and addr.right.value >= 0):  # fmt: skip
        return view.id, addr.right.value, width
    return None


def fill_loops(fn: ast.FunctionDef) -> None:
    """A counted loop that only zeroes memory, ``for x in range(a, b, W): PU64(M, x + K, 0)``
    (``W`` the store's width, so the stores are contiguous: a C ``memset`` of zero), fills
    the bytes with one slice assignment when they all lie inside the memory::

        fz = range(a, b, W)
        if fz and fz[-1] + (K + W) <= len(M):
            M[fz[0] + K:fz[-1] + (K + W)] = bytes(len(fz) * W)
            x = fz[-1]
            fz = ()
        for x in fz:          # (nothing left to do: x and the else as after the loop)
            PU64(M, x + K, 0)
        else:
            ...

    Otherwise (a store out of bounds traps after the ones before it) the loop runs as it
    was. ``x`` is left as the loop leaves it (its last value), and the ``else`` runs as after
    a loop without ``break``.

    With fuel, the same store in a prepaid stretch (``CodeGen._prepaid``: ``q0 = range(a, b,
    W)[:fuel // C]``, ``fuel -= len(q0) * C``, then ``for x in q0: try: <store> except
    ...``) fills ``q0``'s stores the same way: its iterations are paid for already, and with
    every store in bounds none of them traps, so the fuel is exactly as after the loop."""
    todo = [fn.body]
    while todo:
        stmts = todo.pop()
        i = 0
        while i < len(stmts):
            st = stmts[i]
            for attr in ("body", "orelse", "handlers", "finalbody"):
                inner = getattr(st, attr, None)
                if inner:
                    todo.append(inner)
            if st.__class__ is ast.ExceptHandler:
                i += 1
                continue
            found = None
            if (st.__class__ is ast.For and st.target.__class__ is ast.Name
                    and len(st.body) == 1 and _is_range(st.iter)):  # fmt: skip
                found = _fill_store(st.body[0], st.target.id)
                if found is not None and _range_step(st.iter) == found[2]:
                    stmts[i:i] = _fill_head(st, *found, "fz", st.iter)
                    st.iter = ast.Name("fz", ast.Load())
                    i += 2
            elif (st.__class__ is ast.For and st.target.__class__ is ast.Name
                    and st.iter.__class__ is ast.Name and i >= 2
                    and len(st.body) == 1 and st.body[0].__class__ is ast.Try
                    and len(st.body[0].body) == 1):  # fmt: skip
                # a prepaid stretch: ``q = range(...)[:fuel // C]``, its charge, this ``for``
                q = st.iter.id
                take = stmts[i - 2]
                found = _fill_store(st.body[0].body[0], st.target.id)
                if (found is not None and take.__class__ is ast.Assign
                        and len(take.targets) == 1 and getattr(take.targets[0], "id", None) == q
                        and take.value.__class__ is ast.Subscript
                        and _is_range(take.value.value)
                        and _range_step(take.value.value) == found[2]
                        and not any(n.__class__ is ast.Name and n.id == q
                                    for e in st.orelse for n in nodes(e))):  # fmt: skip
                    stmts[i:i] = _fill_head(st, *found, q, None)
                    i += 1
            i += 1


def _is_range(e: ast.expr) -> bool:
    return (e.__class__ is ast.Call and getattr(e.func, "id", None) == "range"
            and len(e.args) in (2, 3) and not e.keywords)  # fmt: skip


def _range_step(e: ast.Call) -> object:
    """The step of ``range(...)`` when it is a constant, else None."""
    step = e.args[2] if len(e.args) == 3 else ast.Constant(1)
    return step.value if step.__class__ is ast.Constant else None


def _fill_head(loop: ast.For, view: str, k: int, w: int, fz: str,
               rng: ast.expr | None) -> list[ast.stmt]:
    """The fill in front of ``loop``, which runs over ``fz``; with ``rng``, ``fz = rng``
    first."""
    x = loop.target.id
    head = ast.parse(
        f"fz = RANGE\n"
        f"if {fz} and {fz}[-1] + {k + w} <= len({view}):\n"
        f"    {view}[{fz}[0] + {k}:{fz}[-1] + {k + w}] = bytes(len({fz}) * {w})\n"
        f"    {x} = {fz}[-1]\n"
        f"    {fz} = ()\n").body  # fmt: skip
    if rng is None:
        del head[0]
    else:
        head[0].value = rng
    for st in head:  # (the parser's locations out: the loop's line for all)
        unlocated(st)
        for node in nodes(st):
            if isinstance(node, ast.stmt):
                node.lineno = loop.lineno  # type: ignore[attr-defined]
    return head
