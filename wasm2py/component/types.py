"""Component-model types, resolved: value types, function types, resource types, and the types
of instances, components and core modules.

Every compound type is an object whose identity matters for two things only: a resource type is
*generative* (two definitions are two types, and each instantiation of a component makes new
ones), and validation remembers which record/variant/enum/flags/resource types were given an
external name. Everywhere else types compare structurally: :func:`same_type`.

The validator builds these from the decoded type expressions with *static* resource types;
instantiation builds them again with the *run-time* resource types of each component instance
(:class:`ResourceType` serves both).
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field

from ..types import FuncType as CoreFuncType
from ..types import GlobalType, MemoryType, TableType, ValType


class Prim(enum.Enum):
    """The primitive value types; ``value`` is the binary encoding byte."""

    BOOL = 0x7F
    S8 = 0x7E
    U8 = 0x7D
    S16 = 0x7C
    U16 = 0x7B
    S32 = 0x7A
    U32 = 0x79
    S64 = 0x78
    U64 = 0x77
    F32 = 0x76
    F64 = 0x75
    CHAR = 0x74
    STRING = 0x73
    ERROR_CONTEXT = 0x64

    def __str__(self) -> str:
        return self.name.lower().replace("_", "-")

    def __repr__(self) -> str:
        return f"Prim.{self.name}"


#: the primitive types that are numbers (streams of these may be copied within one instance)
NUMBER_PRIMS = frozenset({Prim.U8, Prim.U16, Prim.U32, Prim.U64, Prim.S8, Prim.S16, Prim.S32,
                          Prim.S64, Prim.F32, Prim.F64})  # fmt: skip
#: the primitive types a map key may have
KEY_PRIMS = frozenset({Prim.BOOL, Prim.S8, Prim.U8, Prim.S16, Prim.U16, Prim.S32, Prim.U32,
                       Prim.S64, Prim.U64, Prim.CHAR, Prim.STRING})  # fmt: skip

_resource_ids = itertools.count(1)


class ResourceType:
    """A resource type. Each definition, abstract import/export (``(sub resource)``) and, at
    run time, each instantiation of a defining component makes a new one: equality is identity.

    Attributes:
        name: a label for messages (the import/export name or the type's index).
        rep: the core representation type (i32 or i64) of a defined resource, None if abstract.
        dtor: the destructor (run time: a core function; validation: its index), or None.
        instance: at run time, the component instance that defined the resource (None for
            host-defined resources).
        host: for resources defined in Python, the :class:`~.api.HostResource` description.
    """

    __slots__ = ("name", "rep", "dtor", "instance", "host", "id", "origin", "__weakref__")

    def __init__(self, name: str = "", rep: ValType | None = None, dtor=None, instance=None,
                 host=None):  # fmt: skip
        self.name = name
        self.rep = rep
        self.dtor = dtor
        self.instance = instance
        self.host = host
        self.id = next(_resource_ids)
        #: the definition this type stands for (itself, unless it is an alias made by an
        #: import or export, which validation tells apart for external names)
        self.origin = self

    def alias(self) -> ResourceType:
        """A new name for the same resource type (equal to it, but a distinct object)."""
        a = ResourceType(self.name, self.rep, self.dtor, self.instance, self.host)
        a.origin = self.origin
        return a

    def __repr__(self) -> str:
        return f"<resource {self.name or '?'}#{self.id}>"

    def __str__(self) -> str:
        return f"resource {self.name or '?'}"


# --- compound value types ---------------------------------------------------------------------
# eq=False: identity hashing (for caches and naming); structure is compared by same_type.


@dataclass(eq=False, slots=True)
class ListType:
    """``list<T>`` (``length``: a fixed-length list)."""
    elem: ValueType
    length: int | None = None

    def __str__(self) -> str:
        return f"list<{self.elem}>" if self.length is None else f"list<{self.elem}, {self.length}>"


@dataclass(eq=False, slots=True)
class RecordType:
    """A record: labelled fields in order."""
    fields: tuple[tuple[str, ValueType], ...]

    def __str__(self) -> str:
        return "record { " + ", ".join(f"{n}: {t}" for n, t in self.fields) + " }"


@dataclass(eq=False, slots=True)
class TupleType:
    """A tuple of types."""
    types: tuple[ValueType, ...]

    def __str__(self) -> str:
        return "tuple<" + ", ".join(map(str, self.types)) + ">"


@dataclass(eq=False, slots=True)
class VariantType:
    """A variant: labelled cases, each with an optional payload type."""
    cases: tuple[tuple[str, ValueType | None], ...]

    def __str__(self) -> str:
        return "variant { " + ", ".join(n if t is None else f"{n}({t})"
                                        for n, t in self.cases) + " }"  # fmt: skip


@dataclass(eq=False, slots=True)
class EnumType:
    """An enum: case labels."""
    labels: tuple[str, ...]

    def __str__(self) -> str:
        return "enum { " + ", ".join(self.labels) + " }"


@dataclass(eq=False, slots=True)
class OptionType:
    """``option<T>``."""
    type: ValueType

    def __str__(self) -> str:
        return f"option<{self.type}>"


@dataclass(eq=False, slots=True)
class ResultType:
    """``result<T, E>`` (either may be absent)."""
    ok: ValueType | None
    err: ValueType | None

    def __str__(self) -> str:
        return f"result<{self.ok or '_'}, {self.err or '_'}>"


@dataclass(eq=False, slots=True)
class FlagsType:
    """Flags: up to 32 labels."""
    labels: tuple[str, ...]

    def __str__(self) -> str:
        return "flags { " + ", ".join(self.labels) + " }"


@dataclass(eq=False, slots=True)
class MapType:
    """``map<K, V>``."""
    key: ValueType
    value: ValueType

    def __str__(self) -> str:
        return f"map<{self.key}, {self.value}>"


@dataclass(eq=False, slots=True)
class OwnType:
    """An owning handle to a resource."""
    resource: ResourceType

    def __str__(self) -> str:
        return f"own<{self.resource.name}>"


@dataclass(eq=False, slots=True)
class BorrowType:
    """A borrowed handle to a resource."""
    resource: ResourceType

    def __str__(self) -> str:
        return f"borrow<{self.resource.name}>"


@dataclass(eq=False, slots=True)
class StreamType:
    """``stream<T>`` (``elem`` None: a stream of units)."""
    elem: ValueType | None

    def __str__(self) -> str:
        return "stream" if self.elem is None else f"stream<{self.elem}>"


@dataclass(eq=False, slots=True)
class FutureType:
    """``future<T>`` (``elem`` None: a future of a unit)."""
    elem: ValueType | None

    def __str__(self) -> str:
        return "future" if self.elem is None else f"future<{self.elem}>"


ValueType = (Prim | ListType | RecordType | TupleType | VariantType | EnumType | OptionType
             | ResultType | FlagsType | MapType | OwnType | BorrowType | StreamType | FutureType)  # fmt: skip


@dataclass(eq=False, slots=True)
class FuncType:
    """A component function type."""

    params: tuple[tuple[str, ValueType], ...]
    result: ValueType | None
    is_async: bool = False

    @property
    def param_types(self) -> list[ValueType]:
        """The parameter types, in order."""
        return [t for _, t in self.params]

    @property
    def result_types(self) -> list[ValueType]:
        """The result type as a list (empty or one)."""
        return [] if self.result is None else [self.result]

    def __str__(self) -> str:
        params = ", ".join(f"{n}: {t}" for n, t in self.params)
        res = f" -> {self.result}" if self.result is not None else ""
        return f"{'async ' if self.is_async else ''}func({params}){res}"


# --- instance, component and module types (validation) ----------------------------------------


@dataclass(eq=False, slots=True)
class TypeExtern:
    """The type of a ``type`` import/export: the type it is equal to (a value type, function
    type, component/instance type or a resource type)."""

    type: object


@dataclass(eq=False, slots=True)
class ValueExtern:
    """🪙 the type of a ``value`` import/export."""

    type: ValueType


@dataclass(eq=False, slots=True)
class ModuleType:
    """A core module type: imports ((module, name) -> core type) and exports (name -> type).
    Func types are :class:`wasm2py.types.FuncType`."""

    imports: dict[tuple[str, str], CoreExternType] = field(default_factory=dict)
    exports: dict[str, CoreExternType] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class CoreTagType:
    """A core exception tag (its function type)."""

    type: CoreFuncType


CoreExternType = CoreFuncType | TableType | MemoryType | GlobalType | CoreTagType


@dataclass(eq=False, slots=True)
class CoreInstanceType:
    """The exports of a core module instance."""

    exports: dict[str, CoreExternType] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class InstanceType:
    """A component instance type: its exports by name.

    ``defined`` maps the abstract resource types its exports introduce (an instance *type*
    declares them with ``(sub resource)``; fresh ones are made each time the type is imported)
    to their export path; ``explicit`` maps every resource exported by name somewhere in the
    instance to its path."""

    exports: dict[str, ExternType] = field(default_factory=dict)
    defined: dict[ResourceType, tuple[str, ...]] = field(default_factory=dict)
    explicit: dict[ResourceType, tuple[str, ...]] = field(default_factory=dict)

    def __str__(self) -> str:
        return "instance { " + "; ".join(f"{n}: {_extern_str(t)}"
                                          for n, t in self.exports.items()) + " }"  # fmt: skip


def _extern_str(t) -> str:
    if isinstance(t, TypeExtern | ValueExtern):
        return f"type {t.type}" if isinstance(t, TypeExtern) else f"value {t.type}"
    return str(t)


@dataclass(eq=False, slots=True)
class ComponentType:
    """A component type: imports and exports by name.

    ``imported`` maps the abstract resources its imports introduce (substituted by the
    instantiation arguments) to their import path, ``defined`` those its exports introduce
    (fresh for each instantiation) to their export path; ``explicit`` maps resources exported
    by name to their export path."""

    imports: dict[str, ExternType] = field(default_factory=dict)
    exports: dict[str, ExternType] = field(default_factory=dict)
    imported: dict[ResourceType, tuple[str, ...]] = field(default_factory=dict)
    defined: dict[ResourceType, tuple[str, ...]] = field(default_factory=dict)
    explicit: dict[ResourceType, tuple[str, ...]] = field(default_factory=dict)

    def __str__(self) -> str:
        imports = "; ".join(f"import {n}: {_extern_str(t)}" for n, t in self.imports.items())
        exports = "; ".join(f"export {n}: {_extern_str(t)}" for n, t in self.exports.items())
        return "component { " + "; ".join(x for x in (imports, exports) if x) + " }"


ExternType = (FuncType | ValueExtern | TypeExtern | ComponentType | InstanceType | ModuleType)


def extern_sort_name(t) -> str:
    """The sort name of an extern type, for messages."""
    if isinstance(t, FuncType):
        return "func"
    if isinstance(t, ValueExtern):
        return "value"
    if isinstance(t, TypeExtern):
        return "type"
    if isinstance(t, ComponentType):
        return "component"
    if isinstance(t, InstanceType):
        return "instance"
    if isinstance(t, ModuleType):
        return "module"
    return type(t).__name__


# --- structure --------------------------------------------------------------------------------


def despecialize(t: ValueType):
    """The fundamental type a specialized type stands for (tuple -> record, enum/option/
    result -> variant, map -> list of pairs); other types unchanged. The result is cached."""
    return _DESPEC.get(t) or _despecialize(t)


_DESPEC: dict = {}


def _despecialize(t):
    if isinstance(t, TupleType):
        d = RecordType(tuple((str(i), u) for i, u in enumerate(t.types)))
    elif isinstance(t, EnumType):
        d = VariantType(tuple((label, None) for label in t.labels))
    elif isinstance(t, OptionType):
        d = VariantType((("none", None), ("some", t.type)))
    elif isinstance(t, ResultType):
        d = VariantType((("ok", t.ok), ("error", t.err)))
    elif isinstance(t, MapType):
        d = ListType(TupleType((t.key, t.value)))
    else:
        return t
    _DESPEC[t] = d
    return d


def children(t) -> list:
    """The value types directly inside a value or function type (None entries dropped)."""
    if isinstance(t, Prim | OwnType | BorrowType):
        return []
    if isinstance(t, ListType):
        return [t.elem]
    if isinstance(t, RecordType):
        return [u for _, u in t.fields]
    if isinstance(t, TupleType):
        return list(t.types)
    if isinstance(t, VariantType):
        return [u for _, u in t.cases if u is not None]
    if isinstance(t, OptionType):
        return [t.type]
    if isinstance(t, ResultType):
        return [u for u in (t.ok, t.err) if u is not None]
    if isinstance(t, MapType):
        return [t.key, t.value]
    if isinstance(t, StreamType | FutureType):
        return [] if t.elem is None else [t.elem]
    if isinstance(t, FuncType):
        return [u for _, u in t.params] + t.result_types
    return []


def contains(t, pred) -> bool:
    """Whether ``pred`` holds for ``t`` or any value type transitively inside it."""
    stack = [t]
    while stack:
        u = stack.pop()
        if u is None:
            continue
        if pred(u):
            return True
        stack.extend(children(u))
    return False


def contains_borrow(t) -> bool:
    """Whether a ``borrow`` occurs in ``t``."""
    return contains(t, lambda u: isinstance(u, BorrowType))


def same_type(a, b) -> bool:
    """Structural equality of two value (or function) types; resources by identity."""
    if a is b:
        return True
    if a is None or b is None or type(a) is not type(b):
        return False
    if isinstance(a, Prim):
        return False  # distinct enum members
    if isinstance(a, OwnType | BorrowType):
        return a.resource.origin is b.resource.origin
    if isinstance(a, ListType):
        return a.length == b.length and same_type(a.elem, b.elem)
    if isinstance(a, RecordType):
        return (len(a.fields) == len(b.fields)
                and all(x[0] == y[0] and same_type(x[1], y[1]) for x, y in zip(a.fields, b.fields)))  # fmt: skip
    if isinstance(a, TupleType):
        return len(a.types) == len(b.types) and all(map(same_type, a.types, b.types))
    if isinstance(a, VariantType):
        return (len(a.cases) == len(b.cases)
                and all(x[0] == y[0] and same_type(x[1], y[1]) for x, y in zip(a.cases, b.cases)))  # fmt: skip
    if isinstance(a, EnumType | FlagsType):
        return a.labels == b.labels
    if isinstance(a, OptionType):
        return same_type(a.type, b.type)
    if isinstance(a, ResultType):
        return same_type(a.ok, b.ok) and same_type(a.err, b.err)
    if isinstance(a, MapType):
        return same_type(a.key, b.key) and same_type(a.value, b.value)
    if isinstance(a, StreamType | FutureType):
        return same_type(a.elem, b.elem)
    if isinstance(a, FuncType):
        return (a.is_async == b.is_async and same_type(a.result, b.result)
                and len(a.params) == len(b.params)
                and all(x[0] == y[0] and same_type(x[1], y[1]) for x, y in zip(a.params, b.params)))  # fmt: skip
    return False
