"""Validation of canonical definitions (``canon lift``, ``canon lower`` and the built-ins): their
options and the core function type each one adds to the core function index space
(``CanonicalABI.md``, *Canonical Definitions*)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from ..types import FuncType as CoreFuncType
from ..types import TableType, ValType
from . import abi, ast
from .types import (
    FuncType,
    FutureType,
    ListType,
    Prim,
    ResourceType,
    StreamType,
    contains,
)

I32, I64 = ValType.I32, ValType.I64

_ENCODING_TEXT = {"utf8": "utf8", "utf16": "utf16", "latin1+utf16": "latin1-utf16"}


@dataclass
class Options:
    """Canonical options after validation."""

    encoding: str = "utf8"
    memory: int | None = None
    ptr: int = 4
    realloc: int | None = None
    post_return: int | None = None
    is_async: bool = False
    callback: int | None = None


def _err(msg: str, offset) -> ValidationError:
    return ValidationError(msg, offset=offset)


def contains_ptr(t) -> bool:
    """Whether values of type ``t`` point into linear memory (strings and lists)."""
    return contains(t, lambda u: u is Prim.STRING or (isinstance(u, ListType) and u.length is None))


def parse_options(scope, opts: tuple[ast.CanonOpt, ...], offset) -> Options:
    """Check the options for duplicates and conflicts and resolve their indices."""
    o = Options()
    encoding = None
    seen: set[str] = set()
    for opt in opts:
        k = opt.kind
        if k in _ENCODING_TEXT:
            if encoding is not None:
                raise _err(f"canonical encoding option `{_ENCODING_TEXT[encoding]}` conflicts "
                           f"with option `{_ENCODING_TEXT[k]}`", offset)  # fmt: skip
            encoding = k
            continue
        if k in seen:
            if k == "memory":
                raise _err("canonical option `memory` is specified more than once", offset)
            raise _err(f"canonical option `{k}` is specified more than once", offset)
        seen.add(k)
        if k == "memory":
            mt = scope.core_memory(opt.index)
            o.memory = opt.index
            o.ptr = 8 if getattr(mt.limits, "is64", False) else 4
        elif k == "realloc":
            o.realloc = opt.index
        elif k == "post-return":
            o.post_return = opt.index
        elif k == "async":
            o.is_async = True
        elif k == "callback":
            o.callback = opt.index
    o.encoding = encoding or "utf8"
    if o.realloc is not None:
        if o.memory is None:
            raise _err("canonical option `realloc` requires `memory` to also be specified",
                       offset)  # fmt: skip
        pt = I64 if o.ptr == 8 else I32
        if scope.core_func(o.realloc) != CoreFuncType([pt] * 4, [pt]):
            raise _err("canonical option `realloc` uses a core function with an incorrect "
                       "signature", offset)  # fmt: skip
    if o.callback is not None and not o.is_async:
        raise _err("cannot specify callback without async", offset)
    if o.post_return is not None and o.is_async:
        raise _err("cannot specify post-return function in async", offset)
    return o


def _require_memory(o: Options, offset) -> None:
    if o.memory is None:
        raise _err("canonical option `memory` is required", offset)


def _require_realloc(o: Options, offset) -> None:
    _require_memory(o, offset)
    if o.realloc is None:
        raise _err("canonical option `realloc` is required", offset)


def signature(ft: FuncType, o: Options, context: str, offset) -> CoreFuncType:
    """Check the options a lift/lower of ``ft`` needs and return its core function type."""
    lift = context == "lift"
    for t in ft.param_types:
        if contains_ptr(t):
            (_require_realloc if lift else _require_memory)(o, offset)
    max_params = abi.MAX_FLAT_ASYNC_PARAMS if (not lift and o.is_async) else abi.MAX_FLAT_PARAMS
    if len(abi.flatten_types(ft.param_types, o.ptr)) > max_params:
        (_require_realloc if lift else _require_memory)(o, offset)
    if ft.result is not None:
        if not lift and contains_ptr(ft.result):
            _require_realloc(o, offset)
        n = len(abi.flatten_type(ft.result, o.ptr))
        if not o.is_async:
            if n > abi.MAX_FLAT_RESULTS:
                _require_memory(o, offset)
        elif not lift:
            _require_memory(o, offset)
        elif n > abi.MAX_FLAT_PARAMS or contains_ptr(ft.result):
            _require_memory(o, offset)
    return abi.flatten_functype(ft, context, is_async=o.is_async,
                                callback=o.callback is not None, ptr=o.ptr)  # fmt: skip


def _types(s) -> str:
    return "[" + ", ".join(v.name for v in s) + "]"


def check_canon(scope, c: ast.Canon) -> None:
    """Validate canonical definition ``c`` and add the function it defines to ``scope``."""
    off = c.offset or scope.offset
    op = c.op
    F = CoreFuncType
    if op == "lift":
        ft = scope.func_type_at(c.type)
        core = scope.core_func(c.func)
        o = parse_options(scope, c.opts, off)
        if o.is_async and not ft.is_async:
            raise _err("the `async` canonical option requires an async function type", off)
        if o.callback is not None:
            cb = scope.core_func(o.callback)
            if cb.params not in ((I32, I32, I32), (I32,)) or cb.results != (I32,):
                raise _err("canonical option `callback` uses a core function with an incorrect "
                           "signature", off)  # fmt: skip
        want = signature(ft, o, "lift", off)
        if o.post_return is not None:
            pr = scope.core_func(o.post_return)
            if pr.params != want.results or pr.results:
                raise _err("canonical option `post-return` uses a core function with an "
                           "incorrect signature", off)  # fmt: skip
        if want.params != core.params:
            raise _err(f"lowered parameter types `{_types(want.params)}` do not match parameter "
                       f"types `{_types(core.params)}` of core function {c.func}", off)  # fmt: skip
        if want.results != core.results:
            raise _err(f"lowered result types `{_types(want.results)}` do not match result "
                       f"types `{_types(core.results)}` of core function {c.func}", off)  # fmt: skip
        scope.funcs.append(ft)
        return
    if op == "lower":
        ft = scope._get(scope.funcs, c.func, "func")
        o = parse_options(scope, c.opts, off)
        if o.post_return is not None:
            raise _err("canonical option `post-return` cannot be specified for lowerings", off)
        if o.callback is not None:
            raise _err("canonical option `callback` cannot be specified for lowerings", off)
        if o.is_async and not ft.is_async:
            raise _err("the `async` canonical option requires an async function type", off)
        scope.core_funcs.append(signature(ft, o, "lower", off))
        return
    if op in ("resource.new", "resource.rep"):
        r = scope.resource_at(c.type)
        rep = scope.defined_resources.get(r.origin)
        if rep is None:
            raise _err(f"type index {c.type} is not a local resource", off)
        scope.core_funcs.append(F([rep], [I32]) if op == "resource.new" else F([I32], [rep]))
        return
    if op == "resource.drop":
        scope.resource_at(c.type)
        scope.core_funcs.append(F([I32], []))
        return
    simple = _SIMPLE.get(op)
    if simple is not None:
        scope.core_funcs.append(simple)
        return
    if op == "task.return":
        o = parse_options(scope, c.opts, off)
        if o.realloc is not None or o.post_return is not None or o.is_async or o.callback:
            raise _err("cannot specify realloc, post-return, async or callback options on "
                       "`task.return`", off)  # fmt: skip
        result = None if c.result is None else scope.valtype(c.result)
        params = (("v", result),) if result is not None else ()
        ft = FuncType(params, None)
        if result is not None and contains_ptr(result):
            _require_memory(o, off)
        if len(abi.flatten_types(ft.param_types, o.ptr)) > abi.MAX_FLAT_PARAMS:
            _require_memory(o, off)
        scope.core_funcs.append(abi.flatten_functype(ft, "lower", ptr=o.ptr))
        return
    if op in ("context.get", "context.set"):
        t = c.core_type
        if t not in (I32, I64):
            raise _err(f"`{op}` requires an i32 or i64 slot type", off)
        if scope.context_type is not None and scope.context_type is not t:
            raise _err("all `context.get`/`context.set` must use the same type", off)
        scope.context_type = t
        if c.slot >= 2:
            raise _err(f"invalid context slot {c.slot}: `{op}` only has two slots", off)
        scope.core_funcs.append(F([], [t]) if op == "context.get" else F([t], []))
        return
    if op in ("stream.new", "stream.read", "stream.write", "stream.cancel-read",
              "stream.cancel-write", "stream.drop-readable", "stream.drop-writable",
              "future.new", "future.read", "future.write", "future.cancel-read",
              "future.cancel-write", "future.drop-readable", "future.drop-writable"):  # fmt: skip
        kind = StreamType if op.startswith("stream") else FutureType
        t = scope.type_at(c.type)
        if not isinstance(t, kind):
            raise _err(f"`{op}` requires a {op.split('.')[0]} type", off)
        action = op.split(".", 1)[1]
        if action == "new":
            scope.core_funcs.append(F([], [I64]))
        elif action in ("read", "write"):
            o = parse_options(scope, c.opts, off)
            if o.post_return is not None or o.callback is not None:
                raise _err(f"cannot specify post-return or callback on `{op}`", off)
            if t.elem is not None:
                _require_memory(o, off)
                if action == "read" and contains_ptr(t.elem):
                    _require_realloc(o, off)
            pt = I64 if o.ptr == 8 else I32
            if kind is StreamType:
                scope.core_funcs.append(F([I32, pt, pt], [I32]))
            else:
                scope.core_funcs.append(F([I32, pt], [I32]))
        elif action.startswith("cancel"):
            scope.core_funcs.append(F([I32], [I32]))
        else:
            scope.core_funcs.append(F([I32], []))
        return
    if op in ("error-context.new", "error-context.debug-message"):
        o = parse_options(scope, c.opts, off)
        if o.is_async or o.post_return is not None or o.callback is not None:
            raise _err(f"cannot specify async, post-return or callback on `{op}`", off)
        _require_memory(o, off)
        pt = I64 if o.ptr == 8 else I32
        if op == "error-context.new":
            scope.core_funcs.append(F([pt, pt], [I32]))
        else:
            _require_realloc(o, off)
            scope.core_funcs.append(F([I32, pt], []))
        return
    if op in ("waitable-set.wait", "waitable-set.poll"):
        mt = scope.core_memory(c.memory)
        pt = I64 if getattr(mt.limits, "is64", False) else I32
        scope.core_funcs.append(F([I32, pt], [I32]))
        return
    if op == "thread.new-indirect":
        ft = scope._get(scope.core_types, c.type, "core type")
        if ft not in (F([I32], []), F([I64], [])):
            raise _err("start function must take a single `i32` argument", off)
        tt = scope._get(scope.core_tables, c.table, "table")
        if not isinstance(tt, TableType) or tt.elem is not ValType.FUNCREF:
            raise _err("table must have funcref elements", off)
        scope.core_funcs.append(F([I32, ft.params[0]], [I32]))
        return
    if op in ("thread.suspend", "thread.yield"):
        scope.core_funcs.append(F([], [I32]))
        return
    if op in ("thread.suspend-then-resume", "thread.yield-then-resume",
              "thread.suspend-then-promote", "thread.yield-then-promote"):  # fmt: skip
        scope.core_funcs.append(F([I32], [I32]))
        return
    raise _err(f"canonical built-in `{op}` is not supported", off)


_SIMPLE = {
    "backpressure.inc": CoreFuncType([], []),
    "backpressure.dec": CoreFuncType([], []),
    "task.cancel": CoreFuncType([], []),
    "subtask.cancel": CoreFuncType([I32], [I32]),
    "subtask.drop": CoreFuncType([I32], []),
    "error-context.drop": CoreFuncType([I32], []),
    "waitable-set.new": CoreFuncType([], [I32]),
    "waitable-set.drop": CoreFuncType([I32], []),
    "waitable.join": CoreFuncType([I32, I32], []),
    "thread.index": CoreFuncType([], [I32]),
    "thread.resume-later": CoreFuncType([I32], []),
}

__all__ = ["check_canon", "parse_options", "signature", "contains_ptr", "Options",
           "ResourceType"]  # fmt: skip
