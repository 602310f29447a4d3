"""The decoded form of a component binary: its definitions, in order, with indices unresolved.

The decoder (:mod:`.binary`) produces these plain, immutable records; the validator
(:mod:`.validate`) resolves the indices against the index spaces it builds, and the instantiator
(:mod:`.instantiate`) walks the same definitions again at run time. Every definition keeps the
byte ``offset`` where it starts, for error messages.

Type expressions stay close to the binary: a value type used inside another type is a
:class:`~.types.Prim` or an ``int`` type index (:data:`TypeRef`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..types import FuncType as CoreFuncType
from ..types import GlobalType, MemoryType, TableType, ValType
from .types import Prim


class Sort(enum.Enum):
    """An index space (a *sort*): the core ones, then the component-level ones."""

    CORE_FUNC = "core func"
    CORE_TABLE = "core table"
    CORE_MEMORY = "core memory"
    CORE_GLOBAL = "core global"
    CORE_TAG = "core tag"
    CORE_TYPE = "core type"
    CORE_MODULE = "core module"
    CORE_INSTANCE = "core instance"
    FUNC = "func"
    VALUE = "value"
    TYPE = "type"
    COMPONENT = "component"
    INSTANCE = "instance"

    @property
    def is_core(self) -> bool:
        """True for the eight core sorts."""
        return self.value.startswith("core ")

    def __str__(self) -> str:
        return self.value


#: a value type inside a type expression: a primitive, or an index in the type index space
TypeRef = Prim | int


# --- names ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExternName:
    """An import or export name with its attributes (``implements``, ``versionsuffix``,
    ``external-id``); the attributes never take part in type checking."""

    name: str
    implements: str | None = None
    version_suffix: str | None = None
    external_id: str | None = None


# --- value and definition types ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrimDesc:
    """A primitive value type defined in the type index space (``(type u32)``)."""

    prim: Prim


@dataclass(frozen=True, slots=True)
class RecordDesc:
    """``(record (field l t)+)``."""
    fields: tuple[tuple[str, TypeRef], ...]


@dataclass(frozen=True, slots=True)
class VariantDesc:
    """``(variant (case l t?)+)``."""
    cases: tuple[tuple[str, TypeRef | None], ...]


@dataclass(frozen=True, slots=True)
class ListDesc:
    """``(list t)``, or ``(list t n)`` with a fixed length."""
    elem: TypeRef
    length: int | None = None


@dataclass(frozen=True, slots=True)
class TupleDesc:
    """``(tuple t+)``."""
    types: tuple[TypeRef, ...]


@dataclass(frozen=True, slots=True)
class FlagsDesc:
    """``(flags l+)``."""
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnumDesc:
    """``(enum l+)``."""
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OptionDesc:
    """``(option t)``."""
    type: TypeRef


@dataclass(frozen=True, slots=True)
class ResultDesc:
    """``(result t? (error u)?)``."""
    ok: TypeRef | None
    err: TypeRef | None


@dataclass(frozen=True, slots=True)
class MapDesc:
    """``(map k v)``."""
    key: TypeRef
    value: TypeRef


@dataclass(frozen=True, slots=True)
class OwnDesc:
    """``(own i)``: an owning handle to resource type ``i``."""
    resource: int


@dataclass(frozen=True, slots=True)
class BorrowDesc:
    """``(borrow i)``: a borrowed handle to resource type ``i``."""
    resource: int


@dataclass(frozen=True, slots=True)
class StreamDesc:
    """``(stream t?)``."""
    elem: TypeRef | None


@dataclass(frozen=True, slots=True)
class FutureDesc:
    """``(future t?)``."""
    elem: TypeRef | None


@dataclass(frozen=True, slots=True)
class FuncDesc:
    """A component function type: named parameters and at most one result."""

    params: tuple[tuple[str, TypeRef], ...]
    result: TypeRef | None
    is_async: bool = False


@dataclass(frozen=True, slots=True)
class ResourceDesc:
    """A resource type definition: representation (core i32/i64) and optional destructor."""

    rep: ValType
    dtor: int | None


@dataclass(frozen=True, slots=True)
class ComponentTypeDesc:
    """``(component decl*)``: a component type."""
    decls: tuple[Decl, ...]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class InstanceTypeDesc:
    """``(instance decl*)``: an instance type."""
    decls: tuple[Decl, ...]
    offset: int = 0


ValTypeDesc = (PrimDesc | RecordDesc | VariantDesc | ListDesc | TupleDesc | FlagsDesc | EnumDesc
               | OptionDesc | ResultDesc | MapDesc | OwnDesc | BorrowDesc | StreamDesc
               | FutureDesc)  # fmt: skip
DefTypeDesc = ValTypeDesc | FuncDesc | ResourceDesc | ComponentTypeDesc | InstanceTypeDesc


# --- extern descriptors -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeBound:
    """The bound of an imported or exported type: ``(eq i)`` or ``(sub resource)`` (eq=None)."""

    eq: int | None


@dataclass(frozen=True, slots=True)
class ValueBound:
    """🪙 the bound of an imported or exported value: ``(eq i)`` or a value type."""

    eq: int | None = None
    type: TypeRef | None = None


@dataclass(frozen=True, slots=True)
class ExternDesc:
    """The type of an import or export: a sort and a type index (module, func, component,
    instance), or a bound (type, value)."""

    sort: Sort
    index: int | None = None
    bound: TypeBound | ValueBound | None = None


# --- declarators of component and instance types ----------------------------------------------


@dataclass(frozen=True, slots=True)
class CoreTypeDecl:
    """A core type declarator."""
    type: CoreTypeDesc
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TypeDecl:
    """A type declarator."""
    type: DefTypeDesc
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AliasDecl:
    """An alias declarator."""
    alias: Alias
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ImportDecl:
    """An import declarator (component types only)."""
    name: ExternName
    desc: ExternDesc
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ExportDecl:
    """An export declarator."""
    name: ExternName
    desc: ExternDesc
    offset: int = 0


Decl = CoreTypeDecl | TypeDecl | AliasDecl | ImportDecl | ExportDecl


# --- core types -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoreFuncDesc:
    """A core function type (possibly from a GC ``sub``/``rec`` wrapper)."""

    type: CoreFuncType


@dataclass(frozen=True, slots=True)
class CoreImportDesc:
    """A core import declaration of a module type (func: a type index in the module type)."""

    module: str
    name: str
    kind: str  # "func", "table", "memory", "global", "tag"
    type: int | TableType | MemoryType | GlobalType


@dataclass(frozen=True, slots=True)
class CoreExportDesc:
    """A core export declaration of a module type."""
    name: str
    kind: str
    type: int | TableType | MemoryType | GlobalType


@dataclass(frozen=True, slots=True)
class CoreOuterAlias:
    """``(alias outer ct idx (type))`` in a module type."""
    count: int
    index: int


@dataclass(frozen=True, slots=True)
class ModuleTypeDesc:
    """A core module type: its declarators, in order."""

    decls: tuple[CoreTypeDesc | CoreImportDesc | CoreExportDesc | CoreOuterAlias, ...]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CoreRecDesc:
    """A GC recursion group (or a lone ``sub`` type): one entry per type it defines (a
    :class:`CoreFuncDesc`, or ``None`` for a struct/array type)."""

    types: tuple[CoreFuncDesc | None, ...]


CoreTypeDesc = CoreFuncDesc | ModuleTypeDesc | CoreRecDesc


# --- aliases ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alias:
    """``(alias export i "n")``, ``(alias core export i "n")`` or ``(alias outer ct idx)``."""

    sort: Sort
    target: str  # "export", "core export", "outer"
    instance: int = 0
    name: str = ""
    count: int = 0
    index: int = 0


# --- canonical definitions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CanonOpt:
    """One canonical option: ``utf8``/``utf16``/``latin1+utf16``, ``memory``, ``realloc``,
    ``post-return``, ``async`` or ``callback`` (with its index when it has one)."""

    kind: str
    index: int | None = None


@dataclass(frozen=True, slots=True)
class Canon:
    """A canonical definition. ``op`` names it as in the text format (``lift``, ``lower``,
    ``resource.new``, ``stream.read``...); the other fields hold its immediates."""

    op: str
    offset: int = 0
    func: int | None = None  # lift: core func; lower: component func
    type: int | None = None  # lift: func type; resource.*, stream.*, future.*: the type
    opts: tuple[CanonOpt, ...] = ()
    is_async: bool = False
    cancellable: bool = False
    shared: bool = False
    core_type: ValType | None = None  # context.get/set
    slot: int = 0  # context.get/set
    result: TypeRef | None = None  # task.return
    memory: int | None = None  # waitable-set.wait/poll
    table: int | None = None  # thread.new-indirect / spawn-indirect


# --- definitions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoreModuleDef:
    """A core module, kept as its bytes."""
    data: bytes
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CoreInstantiate:
    """``(core instance (instantiate m (with name (instance i))*))``."""
    module: int
    args: tuple[tuple[str, int], ...]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CoreInlineExports:
    """A core instance made of exports of existing core items."""
    exports: tuple[tuple[str, Sort, int], ...]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CoreTypeDef:
    """A core type definition (function, GC or module type)."""
    type: CoreTypeDesc
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ComponentDef:
    """A nested component."""
    component: Component
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Instantiate:
    """``(instance (instantiate c (with name item)*))``."""
    component: int
    args: tuple[tuple[str, Sort, int], ...]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class InlineExports:
    """A component instance made of exports of existing items."""
    exports: tuple[tuple[ExternName, Sort, int], ...]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AliasDef:
    """An alias definition."""
    alias: Alias
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A type definition."""
    type: DefTypeDesc
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CanonDef:
    """A canonical definition."""
    canon: Canon
    offset: int = 0


@dataclass(frozen=True, slots=True)
class StartDef:
    """🪙 a component start function: function, argument values, number of results."""
    func: int
    args: tuple[int, ...]
    results: int
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ImportDef:
    """An import."""
    name: ExternName
    desc: ExternDesc
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ExportDef:
    """An export, with an optional ascribed type."""
    name: ExternName
    sort: Sort
    index: int
    desc: ExternDesc | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ValueDef:
    """🪙 a value definition (its type and encoded bytes)."""
    type: TypeRef
    data: bytes
    offset: int = 0


Definition = (CoreModuleDef | CoreInstantiate | CoreInlineExports | CoreTypeDef | ComponentDef
              | Instantiate | InlineExports | AliasDef | TypeDef | CanonDef | StartDef | ImportDef
              | ExportDef | ValueDef)  # fmt: skip


@dataclass(slots=True)
class Component:
    """A decoded component: its definitions in binary order.

    Attributes:
        definitions: every definition, in order (sections are flattened).
        offset: where the component starts in the outermost binary.
        name: the component's name from the ``component-name`` custom section, if any.
        names: (sort, index) -> name from the same section.
    """

    definitions: list[Definition] = field(default_factory=list)
    offset: int = 0
    name: str | None = None
    names: dict[tuple[Sort, int], str] = field(default_factory=dict)
