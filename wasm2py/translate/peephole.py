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
"""

from __future__ import annotations

import ast


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


def _sets(stmts: list[ast.stmt], k: int) -> bool:
    return any(isinstance(n, ast.stmt) and _is_brk_set(n, k)
               for st in stmts for n in ast.walk(st))  # fmt: skip


def _is_plain(st: ast.stmt) -> bool:
    """An assignment to a local other than ``brk`` (what a branch writes before it jumps)."""
    return (isinstance(st, ast.Assign) and all(isinstance(t, ast.Name) and t.id != "brk"
                                               for t in st.targets))  # fmt: skip


def _fold(site: ast.If, guard: ast.If) -> None:
    """``if C: PRE; brk = K`` followed by ``if not brk: BODY`` -> ``if C: PRE else: BODY``."""
    pre = site.body[:-1]
    if pre:
        site.body = pre
        site.orelse = guard.body
    else:
        site.test = ast.UnaryOp(ast.Not(), site.test)
        site.body = guard.body


def _is_site(st: ast.stmt, k: int) -> bool:
    return (isinstance(st, ast.If) and not st.orelse and bool(st.body)
            and _is_brk_set(st.body[-1], k) and all(_is_plain(p) for p in st.body[:-1]))  # fmt: skip


def _fold_tail(stmts: list[ast.stmt], k: int) -> None:
    """``stmts`` ends where block K's ``brk`` reset follows: a branch to K followed by its
    guard at the very end of it is folded (``brk`` is reset right after anyway), and so on
    into the folded body."""
    while len(stmts) >= 2 and _is_site(stmts[-2], k) and _is_guard(stmts[-1]):
        site, guard = stmts[-2], stmts[-1]
        del stmts[-1]
        _fold(site, guard)  # type: ignore[arg-type]
        stmts = guard.body


def fold_skips(stmts: list[ast.stmt]) -> None:
    """Apply the rewrite of the module docstring to ``stmts`` and every list nested in it, in
    place."""
    i = 0
    while i < len(stmts):
        st = stmts[i]
        if (isinstance(st, ast.If) and not st.orelse and st.body and _is_brk_set(st.body[-1])
                and i + 2 < len(stmts) and _is_guard(stmts[i + 1])):  # fmt: skip
            k = st.body[-1].value.value  # type: ignore[attr-defined]
            guard = stmts[i + 1]
            pre = st.body[:-1]
            if k and _is_reset(stmts[i + 2], k):
                _fold_tail(guard.body, k)
            if (k and _is_reset(stmts[i + 2], k) and not _sets(guard.body, k)
                    and all(_is_plain(p) for p in pre)):  # fmt: skip
                _fold(st, guard)  # type: ignore[arg-type]
                del stmts[i + 1 : i + 3]
        for attr in ("body", "orelse"):
            inner = getattr(st, attr, None)
            if inner:
                fold_skips(inner)
        i += 1


def drop_unused_flag(fn: ast.FunctionDef) -> None:
    """Remove the prologue's ``brk = 0`` when :func:`fold_skips` left no other use of ``brk``
    (keeping ``fn.prologue_len`` right)."""
    n = fn.prologue_len  # type: ignore[attr-defined]
    init = [i for i, st in enumerate(fn.body[:n]) if _is_brk_set(st, 0)]
    if not init:
        return
    uses = sum(1 for node in ast.walk(fn) if isinstance(node, ast.Name) and node.id == "brk")
    if uses == 1:
        del fn.body[init[0]]
        fn.prologue_len = n - 1  # type: ignore[attr-defined]
