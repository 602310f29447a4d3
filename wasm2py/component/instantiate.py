"""Instantiation: walking a validated component's definitions at run time, building its index
spaces out of run-time objects.

Core modules are instantiated with :class:`wasm2py.Instance` (so they run in the store's tier,
sharing its runtime); ``canon lift`` makes :class:`~.calls.LiftedFunc` values, ``canon lower``
and the built-ins make host :class:`wasm2py.Func` core functions. Type definitions are resolved
again with this instance's resource types: each instantiation of a component that defines a
resource makes a new :class:`~.types.ResourceType`.
"""

from __future__ import annotations

from functools import partial

from ..errors import LinkError, Trap, TrapCode
from ..instance import Instance as CoreInstance
from ..runtime.func import Func
from ..types import FuncType as CoreFuncType
from ..types import ValType
from . import ast, builtins
from .abi import flatten_functype
from .ast import Sort
from .calls import LiftedFunc, LoweredFunc, run_sync_task
from .canonical import M32, M64, Options
from .handles import trap
from .tasks import InstanceState
from .types import (
    BorrowType,
    EnumType,
    FlagsType,
    FuncType,
    FutureType,
    ListType,
    MapType,
    OptionType,
    OwnType,
    Prim,
    RecordType,
    ResourceType,
    ResultType,
    StreamType,
    TupleType,
    VariantType,
)


class RuntimeInstance:
    """A component instance (or an instance made of exports): its exports by name.

    Attributes:
        exports: name -> value (a component function, a type, an instance, a component, a core
            module or a value).
        state: the canonical ABI state of a component instance (None for a bag of exports).
    """

    __slots__ = ("exports", "state", "scope")

    def __init__(self, exports: dict, state: InstanceState | None = None, scope=None):
        self.exports = exports
        self.state = state
        self.scope = scope

    def __repr__(self) -> str:
        return f"<component instance exports={list(self.exports)}>"


class ComponentClosure:
    """A component definition together with the scope it was defined in (for outer
    aliases)."""

    __slots__ = ("ast", "scope", "owner")

    def __init__(self, component_ast: ast.Component, scope, owner):
        self.ast = component_ast
        self.scope = scope
        self.owner = owner


class TypePlaceholder:
    """A component or instance type in a run-time type index space (only value, function and
    resource types matter at run time)."""

    __slots__ = ("desc",)

    def __init__(self, desc):
        self.desc = desc


class Scope:
    """The run-time index spaces of one component instance being built."""

    def __init__(self, owner, store, sched, parent: Scope | None, state: InstanceState):
        self.owner = owner  # the Component (compiled core modules)
        self.store = store
        self.sched = sched
        self.parent = parent
        self.state = state
        self.core_funcs: list = []
        self.core_tables: list = []
        self.core_memories: list = []
        self.core_globals: list = []
        self.core_tags: list = []
        self.core_types: list = []
        self.core_modules: list = []
        self.core_instances: list[dict] = []
        self.funcs: list = []
        self.values: list = []
        self.types: list = []
        self.components: list[ComponentClosure] = []
        self.instances: list = []
        self.exports: dict = {}

    # -- driving ------------------------------------------------------------------------------
    def run(self, definitions, args: dict) -> None:
        """Build the index spaces from the definitions (``args``: the imports)."""
        for d in definitions:
            if isinstance(d, ast.ImportDef):
                name = d.name.name
                if name not in args:
                    raise LinkError(f"missing import `{name}`")
                self._push(d.desc.sort, args[name])
            else:
                self._HANDLERS[type(d)](self, d)

    def _push(self, sort: Sort, value) -> None:
        {
            Sort.FUNC: self.funcs, Sort.VALUE: self.values, Sort.TYPE: self.types,
            Sort.COMPONENT: self.components, Sort.INSTANCE: self.instances,
            Sort.CORE_MODULE: self.core_modules, Sort.CORE_FUNC: self.core_funcs,
            Sort.CORE_TABLE: self.core_tables, Sort.CORE_MEMORY: self.core_memories,
            Sort.CORE_GLOBAL: self.core_globals, Sort.CORE_TAG: self.core_tags,
            Sort.CORE_TYPE: self.core_types, Sort.CORE_INSTANCE: self.core_instances,
        }[sort].append(value)  # fmt: skip

    def item(self, sort: Sort, index: int):
        """The item at ``index`` of a sort's index space."""
        return {
            Sort.FUNC: self.funcs, Sort.VALUE: self.values, Sort.TYPE: self.types,
            Sort.COMPONENT: self.components, Sort.INSTANCE: self.instances,
            Sort.CORE_MODULE: self.core_modules,
        }[sort][index]  # fmt: skip

    # -- core ---------------------------------------------------------------------------------
    def core_module_def(self, d: ast.CoreModuleDef) -> None:
        """A nested core module, compiled for the engine's tier."""
        self.core_modules.append(self.owner.core_module(d))

    def core_instantiate(self, d: ast.CoreInstantiate) -> None:
        """Instantiate a core module with core instances as arguments."""
        module = self.core_modules[d.module]
        args = {name: self.core_instances[idx] for name, idx in d.args}
        if isinstance(module, StubModule):
            raise trap(TrapCode.UNREACHABLE, "instantiating an imported core module stub")
        imports: dict[str, dict] = {}
        for imp in module._module.imports:
            imports.setdefault(imp.module, {})[imp.name] = args[imp.module][imp.name]
        inst = CoreInstance(self.store, module, imports)
        self.core_instances.append(dict(inst.exports))

    def core_inline_exports(self, d: ast.CoreInlineExports) -> None:
        """A core instance of existing core items."""
        spaces = {Sort.CORE_FUNC: self.core_funcs, Sort.CORE_TABLE: self.core_tables,
                  Sort.CORE_MEMORY: self.core_memories, Sort.CORE_GLOBAL: self.core_globals,
                  Sort.CORE_TAG: self.core_tags}  # fmt: skip
        self.core_instances.append({n: spaces[s][i] for n, s, i in d.exports})

    def core_type_def(self, d: ast.CoreTypeDef) -> None:
        """A core type."""
        t = d.type
        if isinstance(t, ast.CoreFuncDesc):
            self.core_types.append(t.type)
        elif isinstance(t, ast.CoreRecDesc):
            self.core_types.extend(u.type if u is not None else None for u in t.types)
        else:
            self.core_types.append(TypePlaceholder(t))

    # -- components ---------------------------------------------------------------------------
    def component_def(self, d: ast.ComponentDef) -> None:
        """A nested component, closed over this scope."""
        self.components.append(ComponentClosure(d.component, self, self.owner))

    def instantiate(self, d: ast.Instantiate) -> None:
        """Instantiate a nested component."""
        closure = self.components[d.component]
        args = {name: self.item(sort, idx) for name, sort, idx in d.args}
        self.instances.append(instantiate_closure(closure, self.store, self.sched, args,
                                                  self.state))  # fmt: skip

    def inline_exports(self, d: ast.InlineExports) -> None:
        """An instance of existing items."""
        self.instances.append(RuntimeInstance({n.name: self.item(s, i)
                                               for n, s, i in d.exports}))  # fmt: skip

    def alias_def(self, d: ast.AliasDef) -> None:
        """An alias."""
        a = d.alias
        if a.target == "export":
            inst = self.instances[a.index if False else a.instance]
            self._push(a.sort, inst.exports[a.name])
        elif a.target == "core export":
            self._push(a.sort, self.core_instances[a.instance][a.name])
        else:
            scope = self
            for _ in range(a.count):
                scope = scope.parent
            space = {Sort.CORE_MODULE: scope.core_modules, Sort.CORE_TYPE: scope.core_types,
                     Sort.TYPE: scope.types, Sort.COMPONENT: scope.components}[a.sort]  # fmt: skip
            self._push(a.sort, space[a.index])

    # -- types --------------------------------------------------------------------------------
    def type_def(self, d: ast.TypeDef) -> None:
        """A type, resolved with this instance's resources."""
        self.types.append(self.def_type(d.type, len(self.types)))

    def def_type(self, t, index: int):
        """The run-time type a definition denotes."""
        if isinstance(t, ast.ResourceDesc):
            dtor = None if t.dtor is None else self.core_funcs[t.dtor]
            name = f"{self.state.name}#{index}"
            return ResourceType(name, t.rep, dtor, self.state)
        if isinstance(t, ast.FuncDesc):
            return FuncType(tuple((n, self.valtype(u)) for n, u in t.params),
                            None if t.result is None else self.valtype(t.result), t.is_async)  # fmt: skip
        if isinstance(t, ast.ComponentTypeDesc | ast.InstanceTypeDesc):
            return TypePlaceholder(t)
        return self.val_type(t)

    def valtype(self, ref):
        """The value type a type reference denotes."""
        return ref if isinstance(ref, Prim) else self.types[ref]

    def val_type(self, t):
        """A defined value type."""
        v = self.valtype
        if isinstance(t, ast.PrimDesc):
            return t.prim
        if isinstance(t, ast.RecordDesc):
            return RecordType(tuple((n, v(u)) for n, u in t.fields))
        if isinstance(t, ast.VariantDesc):
            return VariantType(tuple((n, None if u is None else v(u)) for n, u in t.cases))
        if isinstance(t, ast.ListDesc):
            return ListType(v(t.elem), t.length)
        if isinstance(t, ast.TupleDesc):
            return TupleType(tuple(v(u) for u in t.types))
        if isinstance(t, ast.FlagsDesc):
            return FlagsType(t.labels)
        if isinstance(t, ast.EnumDesc):
            return EnumType(t.labels)
        if isinstance(t, ast.OptionDesc):
            return OptionType(v(t.type))
        if isinstance(t, ast.ResultDesc):
            return ResultType(None if t.ok is None else v(t.ok),
                              None if t.err is None else v(t.err))  # fmt: skip
        if isinstance(t, ast.MapDesc):
            return MapType(v(t.key), v(t.value))
        if isinstance(t, ast.OwnDesc):
            return OwnType(self.types[t.resource])
        if isinstance(t, ast.BorrowDesc):
            return BorrowType(self.types[t.resource])
        if isinstance(t, ast.StreamDesc):
            return StreamType(None if t.elem is None else v(t.elem))
        if isinstance(t, ast.FutureDesc):
            return FutureType(None if t.elem is None else v(t.elem))
        raise TypeError(f"unexpected type {t!r}")

    # -- canonical definitions ----------------------------------------------------------------
    def options(self, opts: tuple[ast.CanonOpt, ...]) -> Options:
        """Canonical options with their core items."""
        o = Options()
        for opt in opts:
            k = opt.kind
            if k in ("utf8", "utf16", "latin1+utf16"):
                o.encoding = k
            elif k == "memory":
                o.memory = self.core_memories[opt.index]._rt
            elif k == "realloc":
                o.realloc = _unsigned_result(self.core_funcs[opt.index])
            elif k == "post-return":
                o.post_return = self.core_funcs[opt.index]
            elif k == "async":
                o.is_async = True
            elif k == "callback":
                o.callback = self.core_funcs[opt.index]
        return o

    def canon_def(self, d: ast.CanonDef) -> None:
        """A canonical definition: a lifted function or a core function."""
        c = d.canon
        op = c.op
        st = self.state
        if op == "lift":
            ft = self.types[c.type]
            self.funcs.append(LiftedFunc(self.core_funcs[c.func], ft, self.options(c.opts), st))
            return
        if op == "lower":
            callee = self.funcs[c.func]
            opts = self.options(c.opts)
            lowered = LoweredFunc(callee, callee.ft, opts, st)
            self._core_func(lowered.core_type, lowered)
            return
        I32, I64 = ValType.I32, ValType.I64
        F = CoreFuncType
        if op in ("resource.new", "resource.drop", "resource.rep"):
            rt = self.types[c.type]
            rep = rt.rep or I32
            fn = {"resource.new": builtins.resource_new, "resource.drop": builtins.resource_drop,
                  "resource.rep": builtins.resource_rep}[op]  # fmt: skip
            ct = {"resource.new": F([rep], [I32]), "resource.drop": F([I32], []),
                  "resource.rep": F([I32], [rep])}[op]  # fmt: skip
            if op == "resource.new":
                mask = M64 if rep is I64 else M32

                def new(r, rt=rt, mask=mask, inst=st):
                    return builtins.resource_new(inst, rt, r & mask)

                self._core_func(ct, new)
            else:
                self._core_func(ct, partial(fn, st, rt))
            return
        simple = _SIMPLE.get(op)
        if simple is not None:
            ct, fn = simple
            self._core_func(ct, partial(fn, st))
            return
        if op == "task.return":
            opts = self.options(c.opts)
            result = None if c.result is None else self.valtype(c.result)
            ft = FuncType((("v", result),) if result is not None else (), None)
            self._core_func(flatten_functype(ft, "lower", ptr=opts.ptr),
                            partial(builtins.task_return, st, result, opts))  # fmt: skip
            return
        if op == "context.get":
            self._core_func(F([], [c.core_type]), partial(builtins.context_get, st, c.slot))
            return
        if op == "context.set":
            self._core_func(F([c.core_type], []), partial(builtins.context_set, st, c.slot))
            return
        if op == "subtask.cancel":
            self._core_func(F([I32], [I32]), partial(builtins.subtask_cancel, st, c.is_async))
            return
        if op in ("stream.new", "future.new"):
            t = self.types[c.type]
            fn = builtins.stream_new if op == "stream.new" else builtins.future_new
            self._core_func(F([], [I64]), partial(fn, st, t))
            return
        if op in builtins.STREAM_OPS:
            t = self.types[c.type]
            opts = self.options(c.opts)
            end, buf, code = builtins.STREAM_OPS[op]
            self._core_func(F([I32, I32, I32], [I32]),
                            partial(builtins.stream_copy, st, end, buf, code, t, opts))  # fmt: skip
            return
        if op in builtins.FUTURE_OPS:
            t = self.types[c.type]
            opts = self.options(c.opts)
            end, buf, code = builtins.FUTURE_OPS[op]
            self._core_func(F([I32, I32], [I32]),
                            partial(builtins.future_copy, st, end, buf, code, t, opts))  # fmt: skip
            return
        if op in builtins.END_TYPES:
            t = self.types[c.type]
            end = builtins.END_TYPES[op]
            if "cancel" in op:
                self._core_func(F([I32], [I32]), partial(builtins.cancel_copy, st, end, t, c.is_async))
            else:
                self._core_func(F([I32], []), partial(builtins.drop_end, st, end, t))
            return
        if op in ("error-context.new", "error-context.debug-message"):
            opts = self.options(c.opts)
            if op == "error-context.new":
                self._core_func(F([I32, I32], [I32]), partial(builtins.error_context_new, st, opts))
            else:
                self._core_func(F([I32, I32], []),
                                partial(builtins.error_context_debug_message, st, opts))  # fmt: skip
            return
        if op in ("waitable-set.wait", "waitable-set.poll"):
            mem = self.core_memories[c.memory]._rt
            fn = builtins.waitable_set_wait if op.endswith("wait") else builtins.waitable_set_poll
            self._core_func(F([I32, I32], [I32]), partial(fn, st, c.cancellable, mem))
            return
        if op == "thread.new-indirect":
            ft = self.core_types[c.type]
            table = self.core_tables[c.table]._rt
            self._core_func(F([I32, ft.params[0]], [I32]),
                            partial(builtins.thread_new_indirect, st, ft, table))  # fmt: skip
            return
        if op == "thread.suspend":
            self._core_func(F([], [I32]), partial(builtins.thread_suspend, st, c.cancellable))
            return
        if op == "thread.yield":
            self._core_func(F([], [I32]), partial(builtins.thread_yield, st, c.cancellable))
            return
        if op.startswith("thread.") and "-then-" in op:
            self._core_func(F([I32], [I32]),
                            partial(builtins.thread_switch, st, op[len("thread."):], c.cancellable))  # fmt: skip
            return
        raise trap(TrapCode.UNREACHABLE, f"canonical built-in `{op}` is not supported")

    def _core_func(self, ct: CoreFuncType, fn) -> None:
        self.core_funcs.append(Func(self.store, ct, fn, access_caller=False))

    # -- the rest -----------------------------------------------------------------------------
    def start_def(self, d: ast.StartDef) -> None:
        """🪙 start functions are not run."""
        raise trap(TrapCode.UNREACHABLE, "component start functions are not supported")

    def value_def(self, d: ast.ValueDef) -> None:
        """🪙 value definitions are not run."""
        raise trap(TrapCode.UNREACHABLE, "component value definitions are not supported")

    def export_def(self, d: ast.ExportDef) -> None:
        """An export."""
        v = self.item(d.sort, d.index)
        self.exports[d.name.name] = v
        self._push(d.sort, v)

    _HANDLERS = {
        ast.CoreModuleDef: core_module_def,
        ast.CoreInstantiate: core_instantiate,
        ast.CoreInlineExports: core_inline_exports,
        ast.CoreTypeDef: core_type_def,
        ast.ComponentDef: component_def,
        ast.Instantiate: instantiate,
        ast.InlineExports: inline_exports,
        ast.AliasDef: alias_def,
        ast.TypeDef: type_def,
        ast.CanonDef: canon_def,
        ast.StartDef: start_def,
        ast.ExportDef: export_def,
        ast.ValueDef: value_def,
    }


def _unsigned_result(f):
    def call(*args):
        return f(*args) & M32

    return call


class StubModule:
    """A core module supplied for an import nobody defined (it cannot be instantiated)."""

    __slots__ = ("type",)

    def __init__(self, t=None):
        self.type = t


_SIMPLE = {
    "backpressure.inc": (CoreFuncType([], []), builtins.backpressure_inc),
    "backpressure.dec": (CoreFuncType([], []), builtins.backpressure_dec),
    "task.cancel": (CoreFuncType([], []), builtins.task_cancel),
    "subtask.drop": (CoreFuncType([ValType.I32], []), builtins.subtask_drop),
    "error-context.drop": (CoreFuncType([ValType.I32], []), builtins.error_context_drop),
    "waitable-set.new": (CoreFuncType([], [ValType.I32]), builtins.waitable_set_new),
    "waitable-set.drop": (CoreFuncType([ValType.I32], []), builtins.waitable_set_drop),
    "waitable.join": (CoreFuncType([ValType.I32, ValType.I32], []), builtins.waitable_join),
    "thread.index": (CoreFuncType([], [ValType.I32]), builtins.thread_index),
    "thread.resume-later": (CoreFuncType([ValType.I32], []), builtins.thread_resume_later),
}


def instantiate_closure(closure: ComponentClosure, store, sched, args: dict,
                        parent_state: InstanceState | None, name: str = "") -> RuntimeInstance:  # fmt: skip
    """Instantiate a component definition with run-time arguments (name -> value)."""
    state = InstanceState(sched, parent_state, name)
    scope = Scope(closure.owner, store, sched, closure.scope, state)
    run_sync_task(state, lambda: scope.run(closure.ast.definitions, args))
    return RuntimeInstance(scope.exports, state, scope)


__all__ = ["RuntimeInstance", "ComponentClosure", "instantiate_closure", "StubModule", "Trap"]
