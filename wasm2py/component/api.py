"""The component embedding API: :class:`Linker` (host functions, instances and resources
defined in Python), :class:`Instance` (exports called with Python values) and
:class:`Resource` (a resource handle held by Python).

Values cross the boundary in the forms described in :mod:`.values`; resources as
:class:`Resource` objects (resources the component defines) or, for resource types defined by
the host, as the Python objects the host functions returned.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import LinkError, Trap, TrapCode
from ..runtime.store import Store
from . import subtype
from .calls import LiftedFunc, run_host_call
from .component import Component
from .handles import trap
from .instantiate import ComponentClosure, RuntimeInstance, StubModule, instantiate_closure
from .tasks import Scheduler
from .types import (
    BorrowType,
    ComponentType,
    EnumType,
    FlagsType,
    FuncType,
    FutureType,
    InstanceType,
    ListType,
    MapType,
    ModuleType,
    OptionType,
    OwnType,
    Prim,
    RecordType,
    ResourceType,
    ResultType,
    StreamType,
    TupleType,
    TypeExtern,
    ValueExtern,
    VariantType,
    contains,
    despecialize,
)
from .values import Err, Ok, Some, Variant

_SCHEDULERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_sched_lock = threading.Lock()


def scheduler_for(store: Store) -> Scheduler:
    """The concurrency state of ``store`` (made on first use)."""
    with _sched_lock:
        s = _SCHEDULERS.get(store)
        if s is None:
            s = _SCHEDULERS[store] = Scheduler(on_wake=_native_rebinder(store))
        return s


def _native_rebinder(store: Store) -> Callable[[], None]:
    """After a fiber switch, jitted code may run on another OS thread: rebind the LLVM tier's
    native stack limit to the thread that runs now."""
    ref = weakref.ref(store)

    def on_wake():
        s = ref()
        native = None if s is None else s.native
        if native is not None and native.thread != threading.get_ident():
            native.enter()

    return on_wake


# --- host resources ---------------------------------------------------------------------------


class HostResourceImpl:
    """The host side of a resource type defined in Python: representation numbers map to the
    Python objects host functions returned."""

    def __init__(self, name: str, destructor: Callable | None = None):
        self.name = name
        self.destructor = destructor
        self.objects: dict[int, Any] = {}
        self.next_rep = 1

    def rep_of(self, obj) -> int:
        """A new representation number for host object ``obj``."""
        rep = self.next_rep
        self.next_rep += 1
        self.objects[rep] = obj
        return rep

    def take(self, rep: int):
        """The object of ``rep``, taken out (ownership moves to Python)."""
        try:
            return self.objects.pop(rep)
        except KeyError:
            raise trap(TrapCode.INVALID_HANDLE, f"unknown host resource {rep}") from None

    def get(self, rep: int):
        """The object of ``rep`` (borrowed)."""
        try:
            return self.objects[rep]
        except KeyError:
            raise trap(TrapCode.INVALID_HANDLE, f"unknown host resource {rep}") from None

    def destroy(self, rep: int) -> None:
        """Forget ``rep`` and run the destructor on its object."""
        obj = self.objects.pop(rep, None)
        if self.destructor is not None and obj is not None:
            self.destructor(obj)


class Resource:
    """A resource handle held by Python, for a resource type a component defines.

    An owned handle (``own``) must eventually be given back to the component (passed as an
    ``own`` argument) or dropped with :meth:`drop` (which runs the resource's destructor).

    Attributes:
        type: the resource type.
        rep: the representation value inside the defining component.
        own: whether this handle owns the resource.
    """

    __slots__ = ("type", "rep", "own", "_sched", "_alive")

    def __init__(self, rt: ResourceType, rep: int, own: bool, sched: Scheduler | None = None):
        self.type = rt
        self.rep = rep
        self.own = own
        self._sched = sched
        self._alive = True

    def _take(self, rt: ResourceType, own: bool) -> int:
        if not self._alive:
            raise ValueError("the resource handle was already moved or dropped")
        if self.type is not rt:
            raise TypeError(f"resource of type {self.type.name} passed where {rt.name} is "
                            "expected")  # fmt: skip
        if own:
            if not self.own:
                raise TypeError("a borrowed resource cannot be passed as `own`")
            self._alive = False
        return self.rep

    def drop(self) -> None:
        """Drop an owned handle: run the resource's destructor in its component.

        Raises:
            Trap: the destructor trapped.
        """
        if not self._alive:
            return
        self._alive = False
        if not self.own:
            return
        rt = self.type
        if rt.host is not None:
            rt.host.destroy(self.rep)
            return
        if rt.dtor is None:
            return
        ft = FuncType((("rep", Prim.U32),), None)
        from .canonical import Options

        dtor = LiftedFunc(rt.dtor, ft, Options(), rt.instance, "destructor")
        run_host_call(self._sched, dtor, [self.rep], lambda r: None)

    def __enter__(self) -> Resource:
        return self

    def __exit__(self, *exc) -> None:
        self.drop()

    def __repr__(self) -> str:
        kind = "own" if self.own else "borrow"
        state = "" if self._alive else " (moved)"
        return f"<Resource {kind} {self.type.name} rep={self.rep}{state}>"


# --- value conversion at the host boundary ----------------------------------------------------


def _has_handles(t) -> bool:
    return contains(t, lambda u: isinstance(u, OwnType | BorrowType | StreamType | FutureType))


def to_host(v, t, sched: Scheduler):
    """A value lifted by the canonical ABI (handles as representations) in host form."""
    if t is None:
        return v
    if not _has_handles(t):
        return _maps_to_dicts(v, t) if contains(t, lambda u: isinstance(u, MapType)) else v
    if isinstance(t, OwnType | BorrowType):
        rt = t.resource
        own = isinstance(t, OwnType)
        if rt.host is not None:
            return rt.host.take(v) if own else rt.host.get(v)
        return Resource(rt, v, own, sched)
    if isinstance(t, ListType):
        return [to_host(x, t.elem, sched) for x in v]
    if isinstance(t, RecordType):
        return {n: to_host(v[n], u, sched) for n, u in t.fields}
    if isinstance(t, TupleType):
        return tuple(to_host(x, u, sched) for x, u in zip(v, t.types))
    if isinstance(t, VariantType):
        u = dict(t.cases)[v.case]
        return Variant(v.case, to_host(v.value, u, sched))
    if isinstance(t, OptionType):
        if v is None:
            return None
        if isinstance(v, Some):
            return Some(to_host(v.value, t.type, sched))
        return to_host(v, t.type, sched)
    if isinstance(t, ResultType):
        if isinstance(v, Ok):
            return Ok(to_host(v.value, t.ok, sched))
        return Err(to_host(v.value, t.err, sched))
    if isinstance(t, MapType):
        return {to_host(k, t.key, sched): to_host(x, t.value, sched) for k, x in v}
    return v


def _maps_to_dicts(v, t):
    """Lifted maps (lists of pairs) as dicts, in a value without handles."""
    if isinstance(t, MapType):
        return {_maps_to_dicts(k, t.key): _maps_to_dicts(x, t.value) for k, x in v}
    if isinstance(t, ListType):
        return [_maps_to_dicts(x, t.elem) for x in v]
    if isinstance(t, RecordType):
        return {n: _maps_to_dicts(v[n], u) for n, u in t.fields}
    if isinstance(t, TupleType):
        return tuple(_maps_to_dicts(x, u) for x, u in zip(v, t.types))
    if isinstance(t, VariantType):
        u = dict(t.cases)[v.case]
        return v if u is None else Variant(v.case, _maps_to_dicts(v.value, u))
    if isinstance(t, OptionType):
        if v is None:
            return None
        if isinstance(v, Some):
            return Some(_maps_to_dicts(v.value, t.type))
        return _maps_to_dicts(v, t.type)
    if isinstance(t, ResultType):
        u = t.ok if isinstance(v, Ok) else t.err
        return v if u is None else type(v)(_maps_to_dicts(v.value, u))
    return v


def from_host(v, t):
    """A host value in the form the canonical ABI lowers (handles as representations)."""
    if t is None or not _has_handles(t):
        return v
    if isinstance(t, OwnType | BorrowType):
        rt = t.resource
        own = isinstance(t, OwnType)
        if isinstance(v, Resource):
            return v._take(rt, own)
        if rt.host is not None:
            return rt.host.rep_of(v)
        raise TypeError(f"expected a Resource for {t}, got {v!r}")
    if isinstance(t, ListType):
        return [from_host(x, t.elem) for x in v]
    if isinstance(t, RecordType):
        from .canonical import record_field

        return {n: from_host(record_field(v, n), u) for n, u in t.fields}
    if isinstance(t, TupleType):
        return tuple(from_host(x, u) for x, u in zip(v, t.types))
    if isinstance(t, VariantType):
        u = dict(t.cases)[v.case]
        return Variant(v.case, from_host(v.value, u))
    if isinstance(t, OptionType):
        if v is None:
            return None
        if isinstance(v, Some):
            return Some(from_host(v.value, t.type))
        return from_host(v, t.type)
    if isinstance(t, ResultType):
        if isinstance(v, Ok):
            return Ok(from_host(v.value, t.ok))
        return Err(from_host(v.value, t.err))
    if isinstance(t, MapType):
        items = v.items() if isinstance(v, dict) else v
        return {from_host(k, t.key): from_host(x, t.value) for k, x in items}
    return v


def check_value(v, t) -> None:
    """Raise TypeError/ValueError/OverflowError unless host value ``v`` fits type ``t`` (called
    before a call starts, so that a bad argument does not leave the instance half-entered)."""
    from .canonical import char_to_i32, check_int, match_case, pack_flags, record_field

    if isinstance(t, Prim):
        if t is Prim.BOOL:
            if not isinstance(v, bool):
                raise TypeError(f"expected a bool, got {v!r}")
        elif t in (Prim.F32, Prim.F64):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise TypeError(f"expected a float, got {v!r}")
        elif t is Prim.CHAR:
            char_to_i32(v)
        elif t is Prim.STRING:
            if not isinstance(v, str):
                raise TypeError(f"expected a str, got {type(v).__name__}")
            v.encode("utf-8")
        elif t is not Prim.ERROR_CONTEXT:
            check_int(v, t)
    elif isinstance(t, ListType):
        if isinstance(v, bytes | bytearray) and t.elem is Prim.U8:
            items = list(v)
        elif isinstance(v, str | dict):
            raise TypeError(f"expected a list, got {type(v).__name__}")
        else:
            items = list(v)
        if t.length is not None and len(items) != t.length:
            raise ValueError(f"expected {t.length} elements, got {len(items)}")
        for x in items:
            check_value(x, t.elem)
    elif isinstance(t, RecordType):
        for n, u in t.fields:
            check_value(record_field(v, n), u)
    elif isinstance(t, TupleType):
        items = list(v)
        if len(items) != len(t.types):
            raise ValueError(f"expected a tuple of {len(t.types)}, got {len(items)} values")
        for x, u in zip(items, t.types):
            check_value(x, u)
    elif isinstance(t, VariantType | OptionType | ResultType | EnumType):
        case, payload = match_case(v, t)
        u = despecialize(t).cases[case][1]
        if u is not None:
            check_value(payload, u)
    elif isinstance(t, FlagsType):
        pack_flags(v, t.labels)
    elif isinstance(t, MapType):
        pairs = v.items() if isinstance(v, dict) else v
        for k, x in pairs:
            check_value(k, t.key)
            check_value(x, t.value)


# --- host functions ---------------------------------------------------------------------------


class HostFunc:
    """A component function implemented by a Python callable (synchronous)."""

    __slots__ = ("fn", "ft", "sched", "name")

    def __init__(self, fn: Callable, ft: FuncType, sched: Scheduler, name: str = ""):
        self.fn = fn
        self.ft = ft
        self.sched = sched
        self.name = name

    def __call__(self, on_start, on_resolve, caller):
        args = on_start()
        host_args = [to_host(a, t, self.sched) for a, t in zip(args, self.ft.param_types)]
        r = self.fn(*host_args)
        if self.ft.result is None:
            if r is not None:
                raise TypeError(f"host function {self.name!r} returned a value but has no result")
            on_resolve([])
        else:
            on_resolve([from_host(r, self.ft.result)])
        return _no_cancel

    def __repr__(self) -> str:
        return f"<host func {self.name} {self.ft}>"


def _no_cancel(caller=None) -> None:
    return None


class TrappingFunc:
    """A function supplied for an import nobody defined: calling it traps."""

    __slots__ = ("ft", "name")

    def __init__(self, ft: FuncType, name: str):
        self.ft = ft
        self.name = name

    def __call__(self, on_start, on_resolve, caller):
        raise trap(TrapCode.UNREACHABLE, f"called undefined import `{self.name}`")


# --- the linker -------------------------------------------------------------------------------


class LinkerInstance:
    """A namespace of host definitions: the linker's root, or an instance it defines."""

    def __init__(self):
        self._items: dict[str, Any] = {}

    def define_func(self, name: str, fn: Callable) -> None:
        """Define function ``name`` as Python callable ``fn`` (its type comes from the import it
        satisfies; arguments and result use the forms of :mod:`wasm2py.component.values`).

        Raises:
            LinkError: ``name`` is already defined.
        """
        self._add(name, ("func", fn))

    def define_resource(self, name: str, destructor: Callable | None = None) -> None:
        """Define resource type ``name``: its values are the Python objects host functions
        return for it; ``destructor(obj)`` runs when a component drops an owned one."""
        self._add(name, ("resource", HostResourceImpl(name, destructor)))

    def instance(self, name: str) -> LinkerInstance:
        """The instance namespace ``name`` (created on first use)."""
        item = self._items.get(name)
        if item is None:
            inner = LinkerInstance()
            self._items[name] = ("instance", inner)
            return inner
        if item[0] != "instance":
            raise LinkError(f"`{name}` is already defined as a {item[0]}")
        return item[1]

    def define_value(self, name: str, value) -> None:
        """Define ``name`` as a run-time component value (a function, instance or type of
        another instance's exports, or a :class:`~wasm2py.component.Component`)."""
        self._add(name, ("value", value))

    def _add(self, name: str, item) -> None:
        if name in self._items:
            raise LinkError(f"`{name}` is already defined")
        self._items[name] = item


class Linker(LinkerInstance):
    """Supplies a component's imports and instantiates it.

    Example::

        linker = Linker(engine)
        linker.define_func("log", lambda msg: print(msg))
        instance = linker.instantiate(store, component)
        instance.exports["run"]()
    """

    def __init__(self, engine=None):
        super().__init__()
        self.engine = engine
        #: supply traps/fresh resources for imports nobody defined (the spec tests need it)
        self.allow_unknown_imports = False

    def instantiate(self, store: Store, component: Component) -> Instance:
        """Instantiate ``component`` with this linker's definitions.

        Raises:
            LinkError: an import is not defined, or is defined as something else.
            Trap: instantiation trapped (a core module's start function, ...).
        """
        if not isinstance(component, Component):
            raise TypeError("Linker.instantiate(store, component): a Component expected")
        sched = scheduler_for(store)
        ct = component.type
        m = subtype.Mapping()
        args = {}
        for name, t in ct.imports.items():
            args[name] = self._supply(self._items.get(name), name, t, m, sched)
        top = ComponentClosure(component._validated.ast, None, component)
        inner = _run_toplevel(lambda: instantiate_closure(top, store, sched, args, None,
                                                          component.name or "root"), sched)  # fmt: skip
        return Instance(inner, sched, component)

    def _supply(self, item, name: str, t, m: subtype.Mapping, sched):
        """The run-time value for import ``name`` of static type ``t``."""
        if isinstance(t, TypeExtern):
            if isinstance(t.type, ResourceType):
                known = m.resources.get(t.type.origin)
                if known is not None:
                    return known
                if item is None:
                    if not self.allow_unknown_imports:
                        raise LinkError(f"import `{name}` (a resource type) is not defined")
                    rt = ResourceType(name, host=HostResourceImpl(name))
                elif item[0] == "resource":
                    rt = ResourceType(name, host=item[1])
                elif item[0] == "value" and isinstance(item[1], ResourceType):
                    rt = item[1]
                else:
                    raise LinkError(f"import `{name}` expects a resource type")
                m.resources[t.type.origin] = rt
                return rt
            return subtype.remap(t.type, m)
        if isinstance(t, FuncType):
            ft = subtype.remap(t, m)
            if item is None:
                if not self.allow_unknown_imports:
                    raise LinkError(f"import `{name}` (a function) is not defined")
                return TrappingFunc(ft, name)
            if item[0] == "func":
                return HostFunc(item[1], ft, sched, name)
            if item[0] == "value":
                return item[1]
            raise LinkError(f"import `{name}` expects a function, found a {item[0]}")
        if isinstance(t, InstanceType):
            if item is not None and item[0] == "value":
                return item[1]
            if item is None and not self.allow_unknown_imports and _needs_host(t):
                raise LinkError(f"import `{name}` (an instance) is not defined")
            ns = item[1]._items if item is not None and item[0] == "instance" else {}
            if item is not None and item[0] != "instance":
                raise LinkError(f"import `{name}` expects an instance, found a {item[0]}")
            sub = Linker()
            sub._items = ns
            sub.allow_unknown_imports = self.allow_unknown_imports
            exports = {}
            for n, et in t.exports.items():
                exports[n] = sub._supply(ns.get(n), f"{name}/{n}", et, m, sched)
            return RuntimeInstance(exports)
        if isinstance(t, ComponentType):
            if item is not None and item[0] == "value":
                v = item[1]
                if isinstance(v, Component):
                    return ComponentClosure(v._validated.ast, None, v)
                return v
            if item is None and self.allow_unknown_imports:
                return ComponentClosure(_EMPTY_COMPONENT, None, None)
            raise LinkError(f"import `{name}` (a component) is not defined")
        if isinstance(t, ModuleType):
            if item is not None and item[0] == "value":
                return item[1]
            if item is None and self.allow_unknown_imports:
                return StubModule(t)
            raise LinkError(f"import `{name}` (a core module) is not defined")
        if isinstance(t, ValueExtern):
            if item is not None and item[0] == "value":
                return item[1]
            raise LinkError(f"import `{name}` (a value) is not defined")
        raise LinkError(f"import `{name}` cannot be supplied")


def _needs_host(t) -> bool:
    """Whether an import of type ``t`` needs a definition (types that are not resources are
    supplied by themselves)."""
    if isinstance(t, TypeExtern):
        return isinstance(t.type, ResourceType)
    if isinstance(t, InstanceType):
        return any(_needs_host(u) for u in t.exports.values())
    return True


def _empty_component():
    from .ast import Component as AstComponent

    return AstComponent()


_EMPTY_COMPONENT = _empty_component()


def _run_toplevel(fn, sched: Scheduler):
    """Run an embedder operation; a trap discards the store's suspended component threads."""
    try:
        return fn()
    except Trap:
        sched.abort_all()
        raise


# --- instances and exported functions ---------------------------------------------------------


class ExportedFunc:
    """A component function exported by an instance; call it with Python values."""

    __slots__ = ("_func", "_sched", "name")

    def __init__(self, func, sched: Scheduler, name: str):
        self._func = func
        self._sched = sched
        self.name = name

    @property
    def type(self) -> FuncType:
        """The function's component type."""
        return self._func.ft

    def __call__(self, *args):
        ft = self._func.ft
        if len(args) != len(ft.params):
            raise TypeError(f"{self.name} expects {len(ft.params)} argument(s) ({ft}), got "
                            f"{len(args)}")  # fmt: skip
        for a, t in zip(args, ft.param_types):
            check_value(a, t)
        lowered = [from_host(a, t) for a, t in zip(args, ft.param_types)]
        out = []
        _run_toplevel(lambda: run_host_call(self._sched, self._func, lowered, out.append),
                      self._sched)  # fmt: skip
        result = out[0]
        if ft.result is None:
            return None
        return to_host(result[0], ft.result, self._sched)

    def __repr__(self) -> str:
        return f"<ExportedFunc {self.name} {self._func.ft}>"


class Exports(Mapping):
    """An instance's exports by name: functions (callable), instances (nested
    :class:`Exports`), types, components and core modules."""

    def __init__(self, items: dict, sched: Scheduler, prefix: str = ""):
        self._items = items
        self._sched = sched
        self._prefix = prefix

    def __getitem__(self, name: str):
        v = self._items[name]
        if isinstance(v, LiftedFunc | HostFunc | TrappingFunc):
            return ExportedFunc(v, self._sched, self._prefix + name)
        if isinstance(v, RuntimeInstance):
            return Exports(v.exports, self._sched, f"{self._prefix}{name}/")
        return v

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<component Exports {list(self._items)}>"


class Instance:
    """An instantiated component.

    Attributes:
        exports: the instance's exports (:class:`Exports`).
    """

    def __init__(self, inner: RuntimeInstance, sched: Scheduler, component: Component):
        self._inner = inner
        self._sched = sched
        self.component = component
        self.exports = Exports(inner.exports, sched)

    def __repr__(self) -> str:
        return f"<wasm2py.component.Instance exports={list(self._inner.exports)}>"
