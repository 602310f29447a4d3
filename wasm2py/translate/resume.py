"""Resume variants: re-entering a generated function in the middle, at a suspension point.

A suspended call is a list of frames, each a function, a *resume point* and the Python locals
the frame had (see :mod:`wasm2py.runtime.resumable`). To continue a frame, we compile a variant
of its function that restores those locals and "rewinds" to the resume point: every statement
list on the path from the function body down to the resume statement is transformed so that,
while the flag ``rw`` is set, statements before the path are skipped, ``if`` tests on the path
are forced the right way, and loops are entered; the resume statement clears ``rw``. After that
the variant runs exactly like the original (later loop iterations execute everything).

Resume points (``kind``):

* ``"call"``: a call statement; in the variant the call expression becomes ``R()``, which
  continues the callee (or, for a host function, returns the results the embedder supplied).
* ``"fuel"``: a segment's fuel check, re-executed with the new fuel.
* ``"bulk"``: a bulk instruction's fuel charge, re-executed likewise.

A variant is compiled once per (function, resume point) and cached with the module.
"""

from __future__ import annotations

import ast

from ..errors import Error
from .codegen import translate_function
from .module import compile_tree, python_name, set_locations

_LOAD = ast.Load()
_STORE = ast.Store()


def _is_call_stmt(st: ast.stmt) -> bool:
    value = getattr(st, "value", None)
    if not isinstance(st, ast.Assign | ast.Expr) or not isinstance(value, ast.Call):
        return False
    fn = value.func
    if isinstance(fn, ast.Name):
        return fn.id[:1] == "f" and fn.id[1:2].isdigit()
    return isinstance(fn, ast.Call) and isinstance(fn.func, ast.Name) and fn.func.id == "call_target"


def _is_fuel_check(st: ast.stmt) -> bool:
    if not isinstance(st, ast.If) or not st.body:
        return False
    first = st.body[0]
    return (isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
            and isinstance(first.value.func, ast.Name) and first.value.func.id == "out_of_fuel")  # fmt: skip


def _is_bulk_charge(st: ast.stmt) -> bool:
    return (isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)
            and isinstance(st.value.func, ast.Name) and st.value.func.id == "charge_fuel")  # fmt: skip


_MATCH = {"call": _is_call_stmt, "fuel": _is_fuel_check, "bulk": _is_bulk_charge}


def _find(stmts: list, line: int, kind: str) -> list[tuple[list, int]] | None:
    """The path (list, index) pairs from ``stmts`` to the resume statement."""
    match = _MATCH[kind]
    todo: list[tuple[list, list[tuple[list, int]]]] = [(stmts, [])]
    while todo:
        lst, path = todo.pop()
        for i, st in enumerate(lst):
            here = path + [(lst, i)]
            if getattr(st, "lineno", None) == line and match(st):
                return here
            for attr in ("body", "orelse"):
                inner = getattr(st, attr, None)
                if inner:
                    todo.append((inner, here))
    return None


def _name(n: str) -> ast.Name:
    return ast.Name(n, _LOAD)


def _rewind(path: list[tuple[list, int]], kind: str, fuel: bool) -> None:
    """Transform the statement lists along ``path`` in place (see the module docstring);
    ``fuel``: the function meters fuel (keeps it in the local ``fuel``)."""
    not_rw = ast.UnaryOp(ast.Not(), _name("rw"))
    for depth, (lst, k) in enumerate(path):
        node = lst[k]
        last = depth == len(path) - 1
        if last:
            clear = ast.Assign([ast.Name("rw", _STORE)], ast.Constant(False))
            clear.lineno = node.lineno
            # Fuel may have been added while paused: the restored local is stale. Reload it
            # when rewinding (only then: in a loop a reload at every iteration would drop what
            # the iterations since were charged). A frame rewound to a call needs it too: if
            # the callee pauses again, the exception handler keeps the smaller of the local
            # and the store's fuel, which a stale local must not undercut.
            reload = ast.Assign([ast.Name("fuel", _STORE)],
                                ast.Subscript(_name("F"), ast.Constant(0), _LOAD))  # fmt: skip
            reload.lineno = node.lineno
            if kind == "call":
                resumed = ast.Assign(node.targets, ast.Call(_name("R"), [], [])) if isinstance(
                    node, ast.Assign) else ast.Expr(ast.Call(_name("R"), [], []))  # fmt: skip
                # The resumed call keeps the original's line: a later pause inside it must
                # name the same resume point.
                resumed.lineno = node.lineno
                branch = ast.If(_name("rw"), [clear, reload, resumed] if fuel else
                                [clear, resumed], [node])  # fmt: skip
                branch.lineno = node.lineno
                lst[k] = branch
            else:
                rewound = ast.If(_name("rw"), [clear, reload], [])
                rewound.lineno = node.lineno
                lst[k : k + 1] = [rewound, node]
        else:
            nxt_list = path[depth + 1][0]
            if isinstance(node, ast.If):
                if nxt_list is node.body:
                    node.test = ast.BoolOp(ast.Or(), [_name("rw"), node.test])
                else:
                    node.test = ast.BoolOp(ast.And(), [not_rw, node.test])
            # while True: the body is entered anyway
        if k:
            guard = ast.If(not_rw, lst[0:k], [])
            guard.lineno = lst[0].lineno
            lst[0:k] = [guard]


def build_resume_function(source, index: int, line: int, kind: str):
    """Compile the resume variant of function ``index`` for the resume point (line, kind).

    ``source`` is the module's :class:`~.module.ModuleCode` (the variant is translated exactly
    as the function was: same configuration, same shape). The variant is
    ``def f<index>_r(S, R)``: ``S`` is the dict of saved locals and ``R`` the callable that
    continues the next inner frame. It must be bound to the instance namespace
    (``types.FunctionType(code, ns)``); this returns the code object.

    Raises:
        Error: the resume point does not exist (a bug, or a frame from another translation).
    """
    key = (index, line, kind)
    cached = source.resume_cache.get(key)
    if cached is not None:
        return cached
    gen = source.gen
    module = gen.module
    code = module.codes[index - module.num_imported_funcs]
    gen.consts = {}
    gen.const_values = {}
    fn = translate_function(gen, index, gen.func_types[index], code.locals, code.body,
                            python_name(index, None))  # fmt: skip
    main = fn.body[fn.prologue_len :]
    path = _find(main, line, kind)
    if path is None:
        raise Error(f"no resume point {kind!r} at offset {line:#x} in function {index}")
    _rewind(path, kind, gen.fuel_costs is not None)
    names = sorted({a.arg for a in fn.args.args} | _assigned(fn))
    # One unpacking statement restores every local (a name unbound at the pause gets None).
    restore = [ast.Assign([ast.Tuple([ast.Name(n, _STORE) for n in names], _STORE)],
                          ast.Call(_name("tuple"), [ast.Call(_name("map"), [
                              ast.Attribute(_name("S"), "get", _LOAD),
                              ast.Tuple([ast.Constant(n) for n in names], _LOAD)], [])], []))]  # fmt: skip
    restore.append(ast.Assign([ast.Name("rw", _STORE)], ast.Constant(True)))
    for st in restore:
        st.lineno = fn.lineno
    variant = ast.FunctionDef(
        name=f"f{index}_r",
        args=ast.arguments([], [ast.arg("S"), ast.arg("R")], None, [], [], None, []),
        body=restore + main,
        decorator_list=[],
        returns=None,
        type_params=[],
    )
    variant.lineno = fn.lineno
    tree = ast.Module([variant], [])
    set_locations(tree)
    module_code = compile_tree(tree, source.filename)
    fcode = next(c for c in module_code.co_consts if hasattr(c, "co_code"))
    source.resume_cache[key] = fcode
    return fcode


def _assigned(fn: ast.FunctionDef) -> set[str]:
    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out
