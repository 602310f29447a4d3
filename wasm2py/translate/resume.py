"""Resume entries: re-entering a generated function in the middle, at any of its pause points.

A paused call is a list of frame records (:mod:`wasm2py.runtime.resumable`): per frame, the
function, its *resume point* (the wasm offset of the statement it was executing and what kind of
statement: a call, a segment's fuel check or a bulk instruction's fuel charge), the wasm locals,
the operand-stack slots and the call depth. Every function has one *resume entry*, built from the
same translation as its code, that continues it from a record (compiled when the function first
pauses, or with every function in ahead-of-time files)::

    def f7__resume(RP, RL, RS, R, d):
        nonlocal fuel               # (with fuel: the store's fuel cell, see runtime.fuelcell)
        l0, l1, l2 = RL             # the wasm locals
        s0, s1 = RS                 # the operand-stack slots
        rw = True
        RP = (412, 433, 469).index(RP)   # the resume point -> its number in this function
        ...the body, rewinding to point RP...

The body is the function's own, transformed so that while ``rw`` (rewinding) is set it reaches
point ``RP`` without running anything before it. The points are numbered in the order a
depth-first walk of the statements meets them, so those under any statement have consecutive
numbers and one range test says whether ``RP`` lies under it:

* a run of statements holding no point is skipped: ``if not rw: <run>``;
* an ``if`` holding points takes the arm holding ``RP`` while rewinding (``if (lo <= RP < mid)
  if rw else <test>:``); an arm without points runs only once rewinding is over;
* a loop holding points is entered; while rewinding to a point elsewhere it breaks at once.
  A counted loop's ``for`` (:mod:`.counted`) is entered as it is: its ``range`` starts from
  the restored counter, so its first iteration is the one that paused (the copies that
  :meth:`.codegen.FuncGen.short_path` and ``fast_stretches`` make of it are skipped: rewinding
  reaches the original from the same locals);
* a ``try`` holding points is entered (its handlers hold no point: they only branch);
* at the resume point ``RP`` itself rewinding ends: a call becomes ``R()`` (which returns the
  callee's results, or raises what the callee raised); a fuel check or bulk charge runs again.

After that the entry runs exactly like the function (later loop iterations run everything, at
the cost of a test per skipped run). Only paused frames ever run an entry; the function itself is
unchanged, so nothing is paid when nothing pauses. Resume points are keyed ``offset * 4 + kind``
(:data:`wasm2py.runtime.resumable.KIND_CODES`), which is what the runtime's records hold.
"""

from __future__ import annotations

import ast
import copy

from ..runtime.resumable import KIND_CODES, resume_name

_LOAD = ast.Load()
_STORE = ast.Store()


def _is_call_stmt(st: ast.stmt) -> bool:
    value = getattr(st, "value", None)
    if not isinstance(st, ast.Assign | ast.Expr) or not isinstance(value, ast.Call):
        return False
    fn = value.func
    if isinstance(fn, ast.Name):
        return fn.id[:1] == "f" and fn.id[1:2].isdigit()
    return (isinstance(fn, ast.Call) and isinstance(fn.func, ast.Name)
            and fn.func.id in ("call_target", "ref_target"))


def _is_fuel_check(st: ast.stmt) -> bool:
    if not isinstance(st, ast.If) or not st.body:
        return False
    first = st.body[0]
    if not isinstance(first, ast.Assign):
        return False
    refill = first.value  # ``out_of_fuel(F, fuel, K)``, ``+ P`` with a charge carried in
    if isinstance(refill, ast.BinOp):
        refill = refill.left
    return (isinstance(refill, ast.Call) and isinstance(refill.func, ast.Name)
            and refill.func.id == "out_of_fuel")  # fmt: skip


def _is_bulk_charge(st: ast.stmt) -> bool:
    return (isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)
            and isinstance(st.value.func, ast.Name) and st.value.func.id == "charge_fuel")  # fmt: skip


def point_kind(st: ast.stmt) -> str | None:
    """The kind of resume point ``st`` is (``"call"``, ``"fuel"``, ``"bulk"``), or None."""
    if _is_call_stmt(st):
        return "call"
    if _is_fuel_check(st):
        return "fuel"
    if _is_bulk_charge(st):
        return "bulk"
    return None


def _name(n: str) -> ast.Name:
    return ast.Name(n, _LOAD)


def _at(node, line: int):
    """``node`` with locations (``line``) on it and on every node under it that has none yet:
    the new nodes, not the translation's (located already). Located here rather than by a walk
    of the whole entry: that walk would cost as much as compiling it."""
    todo = [node]
    while todo:
        n = todo.pop()
        d = n.__dict__
        if "lineno" in n._attributes:
            d["lineno"] = d["end_lineno"] = line
            d["col_offset"] = d["end_col_offset"] = 0
        for field in n._fields:
            v = d.get(field)
            for x in v if isinstance(v, list) else (v,):
                if isinstance(x, ast.AST) and "lineno" not in x.__dict__:
                    todo.append(x)
    return node


def _in_range(lo: int, hi: int) -> ast.expr:
    """``lo <= RP < hi``."""
    if hi == lo:
        return ast.Constant(False)
    if hi == lo + 1:
        return ast.Compare(_name("RP"), [ast.Eq()], [ast.Constant(lo)])
    return ast.Compare(ast.Constant(lo), [ast.LtE(), ast.Lt()],
                       [_name("RP"), ast.Constant(hi)])  # fmt: skip


def _not_rw() -> ast.expr:
    return ast.UnaryOp(ast.Not(), _name("rw"))


def _label_split(test) -> int | None:
    """``k`` if ``test`` is a flat function's dispatch test ``L < k``, else None."""
    if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "L"
            and len(test.ops) == 1 and isinstance(test.ops[0], ast.Lt)
            and isinstance(test.comparators[0], ast.Constant)):  # fmt: skip
        return test.comparators[0].value
    return None


def _rewind(stmts: list, keys: list[int], label: int | None, ops: dict | None = None,
            fuel: bool = False) -> list:
    """``stmts`` transformed to rewind (see the module docstring), numbering the points it
    holds from ``len(keys)`` on and appending their keys; ``stmts`` itself if it holds none.

    ``label``: in a flat function (:mod:`.flat`), the least dispatch label the statements can
    run under (for those of a basic block, its label), which rewinding sets ``L`` to: a
    ``try_table``'s handler picks its clauses by the label of the block that raised.
    ``fuel``: the function meters fuel."""
    start = len(keys)
    out: list = []
    run: list = []
    if ops is None:
        ops = {}

    def flush():
        if run:
            out.append(_at(ast.If(_not_rw(), list(run), []), getattr(run[0], "lineno", 1)))
            run.clear()

    for st in stmts:
        if getattr(st, "resume_copy", False):
            # A copy of statements that follow (a counted loop's short path or its stretches
            # with plain sums, see codegen.FuncGen.short_path): its points are the original's,
            # which rewinding reaches instead from the same locals.
            run.append(st)
            continue
        kind = point_kind(st)
        line = getattr(st, "lineno", 1)
        if kind is not None:
            k = len(keys)
            keys.append(line * 4 + KIND_CODES[kind])
            here = getattr(st, "operands", None)
            if here is not None:
                ops[keys[-1]] = here
            flush()
            clear = ast.Assign([ast.Name("rw", _STORE)], ast.Constant(False))
            if label is not None:
                clear = ast.Assign([ast.Tuple([ast.Name("rw", _STORE), ast.Name("L", _STORE)],
                                              _STORE)],
                                   ast.Tuple([ast.Constant(False), ast.Constant(label)], _LOAD))  # fmt: skip
            clear = _at(clear, line)
            if kind == "call":
                call = ast.Call(_name("R"), [], [])
                resumed = (ast.Assign(st.targets, call) if isinstance(st, ast.Assign)
                           else ast.Expr(call))  # fmt: skip
                # (the resumed call keeps the line: a later pause in the callee names it)
                resumed.wasm_op = getattr(st, "wasm_op", None)  # type: ignore[attr-defined]
                again = [clear]
                inner = _at(ast.If(_in_range(k, k + 1), [*again, _at(resumed, line)], []), line)
                out.append(_at(ast.If(_name("rw"), [inner], [st]), line))
            else:
                again = [clear]
                carry = getattr(st, "fuel_carry", 0)
                if carry:
                    # the check covers a charge carried in from the segment before, which the
                    # local holds on top of the exact fuel (see codegen.FuncGen.start_segment)
                    again.append(_at(ast.AugAssign(ast.Name("fuel", _STORE), ast.Add(),
                                                   ast.Constant(carry)), line))  # fmt: skip
                out.append(_at(ast.If(ast.BoolOp(ast.And(), [_name("rw"), _in_range(k, k + 1)]),
                                      again, []), line))  # fmt: skip
                run.append(st)  # the check (or charge) runs again, with the new fuel
            continue
        if isinstance(st, ast.If):
            lo = len(keys)
            split = _label_split(st.test) if label is not None else None
            body = _rewind(st.body, keys, label, ops, fuel)
            mid = len(keys)
            orelse = (_rewind(st.orelse, keys, label if split is None else split, ops, fuel)
                      if st.orelse else st.orelse)  # fmt: skip
            if len(keys) == lo:
                run.append(st)
                continue
            flush()
            st.test = _at(ast.IfExp(_name("rw"), _in_range(lo, mid), st.test), line)
            st.body = body
            if len(keys) > mid:
                st.orelse = orelse
            elif st.orelse:
                # reached while rewinding to a point after this statement: skip it
                st.orelse = [_at(ast.If(_not_rw(), st.orelse, []), getattr(st.orelse[0], "lineno", 1))]
            out.append(st)
            continue
        if isinstance(st, ast.While | ast.For | ast.Try):
            lo = len(keys)
            body = _rewind(st.body, keys, label, ops, fuel)
            if len(keys) == lo:
                run.append(st)
                continue
            flush()
            if not isinstance(st, ast.Try):
                leave = ast.If(ast.BoolOp(ast.And(), [_name("rw"), ast.UnaryOp(
                    ast.Not(), _in_range(lo, len(keys)))]), [_at(ast.Break(), line)], [])  # fmt: skip
                body = [_at(leave, line), *body]
            st.body = body
            out.append(st)
            continue
        run.append(st)
    if len(keys) == start:
        return stmts
    flush()
    return out


def local_names(fn: ast.FunctionDef) -> set[str]:
    """The local variables of a translated function (what its code's ``co_varnames`` holds)."""
    out = {a.arg for a in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


def _numbered(names: set[str], prefix: str) -> int:
    """1 + the highest ``<prefix><n>`` in ``names`` (0 if none)."""
    top = -1
    for n in names:
        if n[:1] == prefix and n[1:].isdigit():
            top = max(top, int(n[1:]))
    return top + 1


def _operand_types(ops: dict) -> ast.stmt:
    """``if d is None and R is None: return {key: (operand types, result types, slots
    given by operands), ...}.get(RP)``: what a record of this function needs to cross tiers
    (see :meth:`.codegen.FuncGen.operands_here`)."""
    table = ast.Dict([ast.Constant(k) for k in ops],
                     [ast.Constant((t, r, own)) for _, t, r, own in ops.values()])  # fmt: skip
    get = ast.Call(ast.Attribute(table, "get", _LOAD), [_name("RP")], [])
    test = ast.BoolOp(ast.And(), [ast.Compare(_name("d"), [ast.Is()], [ast.Constant(None)]),
                                  ast.Compare(_name("R"), [ast.Is()], [ast.Constant(None)])])
    return ast.If(test, [ast.Return(get)], [])


def _operand_values(ops: dict) -> ast.stmt:
    """``if d is None:`` the wasm operands at point ``RP``, from the restored locals and slots
    (a Python-tier record's, to resume in jitted code)."""
    chain: list[ast.stmt] = []
    for k, (exprs, *_) in ops.items():
        values = ast.Tuple([copy.deepcopy(e) for e in exprs], _LOAD)
        test = ast.Compare(_name("RP"), [ast.Eq()], [ast.Constant(k)])
        chain.append(ast.If(test, [ast.Return(values)], []))
    chain.append(ast.Return(ast.Constant(None)))
    return ast.If(ast.Compare(_name("d"), [ast.Is()], [ast.Constant(None)]), chain, [])


def resume_entry(fn: ast.FunctionDef, names, index: int, fuel: bool) -> ast.FunctionDef | None:
    """The resume entry of translated function ``fn`` (see the module docstring), built from
    ``fn``'s own nodes, which must have their locations (:func:`.module.set_locations`): ``fn``
    must not be used afterwards (compile it first). The entry is located too. None if ``fn``
    has no pause point (no call, and no fuel): no frame of it can pause.

    ``names``: the function's local variables (its code's ``co_varnames``); ``index``: its
    index; ``fuel``: it meters fuel.
    """
    names = set(names)
    nlocals = _numbered(names, "l")
    nslots = _numbered(names, "s")
    line = fn.lineno
    main = fn.body[getattr(fn, "prologue_len", 0):]
    keys: list[int] = []
    ops: dict = {}
    body = _rewind(main, keys, 0 if "L" in names else None, ops, fuel)
    if not keys:
        return None
    restore: list[ast.stmt] = [_operand_types(ops)]
    if fuel:  # (the store's fuel cell: see wasm2py.runtime.fuelcell)
        restore.insert(0, ast.Nonlocal(["fuel"]))
    for prefix, n, src in (("l", nlocals, "RL"), ("s", nslots, "RS")):
        if n:
            targets = ast.Tuple([ast.Name(f"{prefix}{i}", _STORE) for i in range(n)], _STORE)
            restore.append(ast.Assign([targets], _name(src)))
    restore.append(_operand_values(ops))
    if "brk" in names:
        restore.append(ast.Assign([ast.Name("brk", _STORE)], ast.Constant(0)))  # (0 at points)
    restore.append(ast.Assign([ast.Name("rw", _STORE)], ast.Constant(True)))
    lookup = ast.Call(ast.Attribute(ast.Constant(tuple(keys)), "index", _LOAD), [_name("RP")], [])
    restore.append(ast.Assign([ast.Name("RP", _STORE)], lookup))
    for st in restore:
        _at(st, line)
    args = [ast.arg(a) for a in ("RP", "RL", "RS", "R", "d")]
    entry = ast.FunctionDef(
        name=resume_name(index),
        args=ast.arguments([], args, None, [], [], None, []),
        body=restore + body,
        decorator_list=[],
        returns=None,
        type_params=[],
    )
    return _at(entry, line)
