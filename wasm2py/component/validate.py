"""Validation of decoded components: index spaces, types, names, canonical definitions and
instantiation type checking.

:func:`validate_component` walks the definitions in order, as the spec describes, keeping one
:class:`Scope` per component, component type and instance type being validated (outer aliases
look through the enclosing scopes). Each definition adds entries to index spaces; every entry
is a *type* (the type of the function, instance, core module... at that index). Errors raise
:class:`~wasm2py.errors.ValidationError` with the byte offset of the definition.

Resource types follow the spec's abstract-type rules (``Explainer.md``, *Type Checking*): each
definition and each ``(sub resource)`` import or export makes a fresh :class:`ResourceType`;
instantiating a component substitutes its imported resources and freshens the ones it defines
(:mod:`.subtype`). External visibility (*External Visibility of Types*) is tracked by identity:
a record, variant, enum, flags or resource type used in an import's or export's type must be a
type object that an earlier import or export introduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..binary.decoder import decode_module
from ..binary.module import ExternKind
from ..errors import DecodeError, ValidationError
from ..types import MAX_PAGES, GlobalType, MemoryType, TableType, ValType
from ..types import FuncType as CoreFuncType
from ..validate.validator import validate_module
from . import abi, ast, subtype
from .ast import Sort
from .names import ParsedName, check_label, check_version, parse_extern_name
from .subtype import Mapping, free_resources, mentions_resource, remap
from .types import (
    KEY_PRIMS,
    BorrowType,
    ComponentType,
    CoreInstanceType,
    CoreTagType,
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
    contains_borrow,
)

COMPONENT = "component"
COMPONENT_TYPE = "component type"
INSTANCE_TYPE = "instance type"

#: Implementation limits (as in wasmparser): nesting of types and of components.
MAX_TYPE_DEPTH = 100
MAX_NESTING = 100
#: the largest size of a value type in memory (``elem_size`` with 64-bit pointers)
MAX_VALUE_SIZE = (1 << 28) - 1

_VALUE_TYPES = (Prim, ListType, RecordType, TupleType, VariantType, EnumType, OptionType,
                ResultType, FlagsType, MapType, OwnType, BorrowType, StreamType, FutureType)  # fmt: skip
_NAMEABLE = (RecordType, VariantType, EnumType, FlagsType)


@dataclass
class ValidatedComponent:
    """The result of validation.

    Attributes:
        ast: the decoded component.
        type: its component type (imports and exports).
        core_modules: for each core module definition (by identity), its decoded module.
    """

    ast: ast.Component
    type: ComponentType
    core_modules: dict[int, object] = field(default_factory=dict)


def validate_component(comp: ast.Component) -> ValidatedComponent:
    """Validate a decoded component.

    Raises:
        ValidationError: the component is not valid (with the offending byte offset).
        DecodeError: a nested core module is malformed.
    """
    modules: dict[int, object] = {}
    scope = Scope(COMPONENT, None, modules)
    try:
        scope.run(comp.definitions)
        ct = scope.finish_component(comp.offset)
    except RecursionError:
        raise ValidationError("component nesting too deep", offset=comp.offset) from None
    return ValidatedComponent(comp, ct, modules)


def _err(msg: str, offset) -> ValidationError:
    return ValidationError(msg, offset=offset)


class NameContext:
    """Names of top-level resource imports (or exports) in one scope, for checking annotated
    ``[constructor]``/``[method]``/``[static]`` names."""

    def __init__(self):
        self.by_resource: dict[ResourceType, str] = {}
        self.names: set[str] = set()

    def register(self, name: str, r: ResourceType) -> None:
        """Record a top-level resource import/export name."""
        self.by_resource[r] = name
        self.names.add(name)

    def check(self, parsed: ParsedName, ext, offset) -> None:
        """Check an annotated name against the function type and the known resource names."""
        if parsed.kind not in ("constructor", "method", "static"):
            return
        if not isinstance(ext, FuncType):
            raise _err(f"item is not a func: `{parsed.text}`", offset)
        if parsed.kind == "constructor":
            res = ext.result
            if res is None:
                raise _err("function should return one value", offset)
            if isinstance(res, ResultType) and isinstance(res.ok, OwnType):
                res = res.ok
            if not isinstance(res, OwnType):
                raise _err("function should return `(own $T)` or `(result (own $T))`", offset)
            self._resource_named(res.resource, parsed.resource, offset)
        elif parsed.kind == "method":
            if not ext.params:
                raise _err("function should have at least one argument", offset)
            pname, ptype = ext.params[0]
            if pname != "self":
                raise _err("function should have a first argument called `self`", offset)
            if not isinstance(ptype, BorrowType):
                raise _err("function should take a first argument of `(borrow $T)`", offset)
            self._resource_named(ptype.resource, parsed.resource, offset)
        else:
            if parsed.resource not in self.names:
                raise _err("static resource name is not known in this context", offset)

    def _resource_named(self, r: ResourceType, expected: str, offset) -> None:
        name = self.by_resource.get(r)
        if name is None:
            raise _err("resource used in function does not have a name in this context", offset)
        if name != expected:
            raise _err(f"function does not match expected resource name `{name}`", offset)


def check_extern_name(name: ast.ExternName, kind: str, ext, keys: dict, names: NameContext,
                      offset) -> ParsedName:  # fmt: skip
    """Validate an import/export name against its type and the names before it (``keys``:
    canonical key -> name, updated)."""
    parsed = parse_extern_name(name.name, offset)
    if name.implements is not None:
        if not isinstance(ext, InstanceType):
            raise _err("only instances can have an `implements` attribute", offset)
        if parsed.kind != "label":
            raise _err(f"name `{name.name}` is not valid with `implements`", offset)
        if not name.implements:
            raise _err("`` is not a valid name", offset)
        try:
            p = parse_extern_name(name.implements, offset)
        except ValidationError:
            raise _err(f"`{name.implements}` must be an interface name", offset) from None
        if p.kind != "interface":
            raise _err(f"`{name.implements}` must be an interface name", offset)
    if name.version_suffix is not None:
        base, _, ver = name.name.partition("@")
        if parsed.kind != "interface" or not ver:
            raise _err("`versionsuffix` requires a versioned interface name", offset)
        check_version(ver + name.version_suffix, offset)
    prev = keys.get(parsed.key)
    if prev is not None:
        raise _err(f"{kind} name `{name.name}` conflicts with previous name `{prev}`", offset)
    names.check(parsed, ext, offset)
    keys[parsed.key] = name.name
    return parsed


# --- named (externally visible) types ---------------------------------------------------------


def _is_named(t, named: set) -> bool:
    """Whether value type ``t`` may appear in an import/export type, given the types that have
    external names (``named``)."""
    if t is None or isinstance(t, Prim):
        return True
    if isinstance(t, _NAMEABLE):
        return t in named
    if isinstance(t, OwnType | BorrowType):
        return t.resource in named
    if isinstance(t, TupleType):
        return all(_is_named(u, named) for u in t.types)
    if isinstance(t, ListType):
        return _is_named(t.elem, named)
    if isinstance(t, OptionType):
        return _is_named(t.type, named)
    if isinstance(t, ResultType):
        return _is_named(t.ok, named) and _is_named(t.err, named)
    if isinstance(t, MapType):
        return _is_named(t.key, named) and _is_named(t.value, named)
    if isinstance(t, StreamType | FutureType):
        return _is_named(t.elem, named)
    return True


def _insides_named(t, named: set) -> bool:
    """Whether the types inside ``t`` (not ``t`` itself) are named."""
    if isinstance(t, ResourceType | ComponentType | ModuleType) or t is None:
        return True
    if isinstance(t, FuncType):
        return all(_is_named(u, named) for _, u in t.params) and _is_named(t.result, named)
    if isinstance(t, InstanceType):
        for e in t.exports.values():
            if isinstance(e, TypeExtern):
                if not _insides_named(e.type, named):
                    return False
            elif isinstance(e, ValueExtern):
                if not _is_named(e.type, named):
                    return False
            elif isinstance(e, FuncType | InstanceType):
                if not _insides_named(e, named):
                    return False
        return True
    if isinstance(t, Prim | FlagsType | EnumType):
        return True
    if isinstance(t, RecordType):
        return all(_is_named(u, named) for _, u in t.fields)
    if isinstance(t, VariantType):
        return all(_is_named(u, named) for _, u in t.cases)
    if isinstance(t, OwnType | BorrowType):
        return t.resource in named
    return _is_named(t, named)


def copy_type(t):
    """A new type object equal to ``t`` (a new name for it): an alias for a resource, a
    shallow copy otherwise (primitives stay themselves)."""
    if isinstance(t, ResourceType):
        return t.alias()
    if isinstance(t, Prim):
        return t
    if isinstance(t, RecordType):
        return RecordType(t.fields)
    if isinstance(t, VariantType):
        return VariantType(t.cases)
    if isinstance(t, EnumType):
        return EnumType(t.labels)
    if isinstance(t, FlagsType):
        return FlagsType(t.labels)
    if isinstance(t, TupleType):
        return TupleType(t.types)
    if isinstance(t, ListType):
        return ListType(t.elem, t.length)
    if isinstance(t, OptionType):
        return OptionType(t.type)
    if isinstance(t, ResultType):
        return ResultType(t.ok, t.err)
    if isinstance(t, MapType):
        return MapType(t.key, t.value)
    if isinstance(t, OwnType):
        return OwnType(t.resource)
    if isinstance(t, BorrowType):
        return BorrowType(t.resource)
    if isinstance(t, StreamType):
        return StreamType(t.elem)
    if isinstance(t, FutureType):
        return FutureType(t.elem)
    if isinstance(t, FuncType):
        return FuncType(t.params, t.result, t.is_async)
    if isinstance(t, InstanceType):
        return InstanceType(dict(t.exports), dict(t.defined), dict(t.explicit))
    if isinstance(t, ComponentType):
        return ComponentType(dict(t.imports), dict(t.exports), dict(t.imported),
                             dict(t.defined), dict(t.explicit))  # fmt: skip
    return t


def _depth(t, memo: dict) -> int:
    if t is None or isinstance(t, Prim | ResourceType):
        return 0
    d = memo.get(id(t))
    if d is None:
        from .types import children

        d = 1 + max((_depth(u, memo) for u in children(t)), default=0)
        memo[id(t)] = d
    return d


# --- the scope --------------------------------------------------------------------------------


class Scope:
    """The validation state of one component, component type or instance type."""

    def __init__(self, kind: str, parent: Scope | None, modules: dict):
        self.kind = kind
        self.parent = parent
        self.modules = modules
        self.depth = 0 if parent is None else parent.depth + 1
        if self.depth > MAX_NESTING:
            raise ValidationError("component nesting too deep")
        # core index spaces
        self.core_funcs: list[CoreFuncType] = []
        self.core_tables: list[TableType] = []
        self.core_memories: list[MemoryType] = []
        self.core_globals: list[GlobalType] = []
        self.core_tags: list[CoreTagType] = []
        self.core_types: list = []
        self.core_modules: list[ModuleType] = []
        self.core_instances: list[CoreInstanceType] = []
        # component index spaces
        self.funcs: list[FuncType] = []
        self.values: list[list] = []  # [type, used]
        self.types: list = []
        self.components: list[ComponentType] = []
        self.instances: list[InstanceType] = []
        # imports and exports
        self.imports: dict[str, object] = {}
        self.import_keys: dict[str, str] = {}
        self.exports: dict[str, object] = {}
        self.export_keys: dict[str, str] = {}
        self.imported_resources: dict[ResourceType, tuple[str, ...]] = {}
        self.defined_resources: dict[ResourceType, ValType | None] = {}
        self.explicit_resources: dict[ResourceType, tuple[str, ...]] = {}
        self.imported_types: set = set()
        self.exported_types: set = set()
        self.import_names = NameContext()
        self.export_names = NameContext()
        self.context_type: ValType | None = None
        self.offset = 0

    # -- driver -------------------------------------------------------------------------------
    def run(self, definitions) -> None:
        """Validate definitions in order."""
        for d in definitions:
            self.offset = d.offset
            handler = self._HANDLERS[type(d)]
            handler(self, d)

    # -- index space access -------------------------------------------------------------------
    def _get(self, space: list, index: int, what: str):
        if not 0 <= index < len(space):
            raise _err(f"unknown {what} {index}: {what} index out of bounds", self.offset)
        return space[index]

    def type_at(self, index: int):
        """The type at ``index`` of the type index space."""
        if not 0 <= index < len(self.types):
            raise _err(f"unknown type {index}: type index out of bounds", self.offset)
        return self.types[index]

    def core_func(self, index: int) -> CoreFuncType:
        """The type of core function ``index``."""
        return self._get(self.core_funcs, index, "core func")

    def core_memory(self, index: int) -> MemoryType:
        """The type of core memory ``index``."""
        return self._get(self.core_memories, index, "memory")

    def func_type_at(self, index: int) -> FuncType:
        """The function type at type index ``index``."""
        t = self.type_at(index)
        if not isinstance(t, FuncType):
            raise _err(f"type index {index} is not a function type", self.offset)
        return t

    def resource_at(self, index: int) -> ResourceType:
        """The resource type at type index ``index``."""
        t = self.type_at(index)
        if not isinstance(t, ResourceType):
            raise _err(f"type index {index} is not a resource type", self.offset)
        return t

    def valtype(self, ref: ast.TypeRef):
        """The value type a type reference denotes."""
        if isinstance(ref, Prim):
            return ref
        t = self.type_at(ref)
        if not isinstance(t, _VALUE_TYPES):
            raise _err(f"type index {ref} is not a defined type", self.offset)
        return t

    def item_type(self, sort: Sort, index: int):
        """The extern type of an item of a component-level (or core module) sort."""
        if sort is Sort.FUNC:
            return self._get(self.funcs, index, "func")
        if sort is Sort.INSTANCE:
            return self._get(self.instances, index, "instance")
        if sort is Sort.COMPONENT:
            return self._get(self.components, index, "component")
        if sort is Sort.CORE_MODULE:
            return self._get(self.core_modules, index, "module")
        if sort is Sort.TYPE:
            return TypeExtern(self.type_at(index))
        if sort is Sort.VALUE:
            entry = self._get(self.values, index, "value")
            return ValueExtern(entry[0])
        raise _err(f"`{sort}` items cannot be used here", self.offset)

    def use_value(self, index: int) -> None:
        """🪙 consume a value (each is used exactly once)."""
        entry = self._get(self.values, index, "value")
        if entry[1]:
            raise _err(f"value {index} cannot be used more than once", self.offset)
        entry[1] = True

    # -- core modules, instances and types -----------------------------------------------------
    def core_module_def(self, d: ast.CoreModuleDef) -> None:
        """Decode and validate a nested core module; record its module type."""
        self._require_component("core modules")
        try:
            m = decode_module(d.data)
        except DecodeError as e:
            off = None if e.offset is None else e.offset + d.offset
            raise DecodeError(e.reason, off) from None
        try:
            validate_module(m)
        except ValidationError as e:
            raise ValidationError(f"core module: {e.reason}", e.func_index,
                                  None if e.offset is None else e.offset + d.offset) from None  # fmt: skip
        self.modules[id(d)] = m
        mt = ModuleType()
        for imp in m.imports:
            t = m.types[imp.type] if imp.kind is ExternKind.FUNC else imp.type
            key = (imp.module, imp.name)
            if key in mt.imports:
                raise _err(f"duplicate import name `{imp.module}:{imp.name}`", d.offset)
            mt.imports[key] = t
        spaces = {ExternKind.FUNC: m.func_types(), ExternKind.TABLE: m.table_types(),
                  ExternKind.MEMORY: m.memory_types(), ExternKind.GLOBAL: m.global_types()}  # fmt: skip
        for e in m.exports:
            mt.exports[e.name] = spaces[e.kind][e.index]
        self.core_modules.append(mt)

    def core_instantiate(self, d: ast.CoreInstantiate) -> None:
        """Check a core instantiation's arguments against the module's imports."""
        self._require_component("core instances")
        mt = self._get(self.core_modules, d.module, "module")
        args: dict[str, CoreInstanceType] = {}
        for name, idx in d.args:
            if name in args:
                raise _err(f"duplicate module instantiation argument named `{name}`", d.offset)
            args[name] = self._get(self.core_instances, idx, "core instance")
        for (module, name), expected in mt.imports.items():
            inst = args.get(module)
            if inst is None:
                raise _err(f"missing module instantiation argument named `{module}`", d.offset)
            actual = inst.exports.get(name)
            if actual is None:
                raise _err(f"module instantiation argument `{module}` does not export an item "
                           f"named `{name}`", d.offset)  # fmt: skip
            subtype.check_core_extern(actual, expected, d.offset)
        self.core_instances.append(CoreInstanceType(dict(mt.exports)))

    def core_inline_exports(self, d: ast.CoreInlineExports) -> None:
        """A core instance of existing core items."""
        self._require_component("core instances")
        exports: dict[str, object] = {}
        for name, sort, idx in d.exports:
            if name in exports:
                raise _err(f"export name `{name}` already defined", d.offset)
            exports[name] = self.core_item(sort, idx)
        self.core_instances.append(CoreInstanceType(exports))

    def core_item(self, sort: Sort, idx: int):
        """The type of a core item."""
        if sort is Sort.CORE_FUNC:
            return self._get(self.core_funcs, idx, "core func")
        if sort is Sort.CORE_TABLE:
            return self._get(self.core_tables, idx, "table")
        if sort is Sort.CORE_MEMORY:
            return self._get(self.core_memories, idx, "memory")
        if sort is Sort.CORE_GLOBAL:
            return self._get(self.core_globals, idx, "global")
        if sort is Sort.CORE_TAG:
            return self._get(self.core_tags, idx, "tag")
        raise _err(f"core instance exports cannot be of sort `{sort}`", self.offset)

    def core_type_def(self, d: ast.CoreTypeDef) -> None:
        """A core type definition."""
        self.add_core_type(d.type, d.offset)

    def add_core_type(self, t, offset) -> None:
        """Add core types to the core type index space."""
        if isinstance(t, ast.CoreFuncDesc):
            self.core_types.append(t.type)
        elif isinstance(t, ast.CoreRecDesc):
            for u in t.types:
                self.core_types.append(u.type if u is not None else None)
        else:
            self.core_types.append(self.module_type(t, offset))

    def module_type(self, t: ast.ModuleTypeDesc, offset) -> ModuleType:
        """Validate a core module type."""
        types: list = []
        mt = ModuleType()
        for decl in t.decls:
            if isinstance(decl, ast.CoreFuncDesc):
                types.append(decl.type)
            elif isinstance(decl, ast.CoreRecDesc):
                types.extend(u.type if u is not None else None for u in decl.types)
            elif isinstance(decl, ast.ModuleTypeDesc):
                raise _err("invalid leading byte: module types cannot define module types",
                           offset)  # fmt: skip
            elif isinstance(decl, ast.CoreOuterAlias):
                if decl.count == 0:
                    space = types
                else:
                    scope = self._outer_scope(decl.count - 1)
                    space = scope.core_types
                if not 0 <= decl.index < len(space):
                    raise _err("type index out of bounds", offset)
                target = space[decl.index]
                if isinstance(target, ModuleType):
                    raise _err("module types cannot alias module types", offset)
                types.append(target)
            else:
                ct = self._core_decl_type(decl, types, offset)
                if isinstance(decl, ast.CoreImportDesc):
                    key = (decl.module, decl.name)
                    if key in mt.imports:
                        raise _err(f"duplicate import name `{decl.module}:{decl.name}`", offset)
                    mt.imports[key] = ct
                else:
                    if decl.name in mt.exports:
                        raise _err(f"export name `{decl.name}` already defined", offset)
                    mt.exports[decl.name] = ct
        return mt

    def _core_decl_type(self, decl, types: list, offset):
        if decl.kind in ("func", "tag"):
            if not 0 <= decl.type < len(types):
                raise _err("type index out of bounds", offset)
            ft = types[decl.type]
            if not isinstance(ft, CoreFuncType):
                raise _err(f"type index {decl.type} is not a function type", offset)
            return ft if decl.kind == "func" else CoreTagType(ft)
        if decl.kind == "memory":
            lim = decl.type.limits
            if getattr(lim, "shared", False) and lim.max is None:
                raise _err("shared memory must have maximum size", offset)
            cap = (1 << 48) if getattr(lim, "is64", False) else MAX_PAGES
            if lim.min > cap or (lim.max is not None and lim.max > cap):
                raise _err(f"memory size must be at most {cap} pages (4GiB)", offset)
            if lim.max is not None and lim.max < lim.min:
                raise _err("size minimum must not be greater than maximum", offset)
        if decl.kind == "table":
            lim = decl.type.limits
            if lim.max is not None and lim.max < lim.min:
                raise _err("size minimum must not be greater than maximum", offset)
        return decl.type

    # -- components and instances -------------------------------------------------------------
    def component_def(self, d: ast.ComponentDef) -> None:
        """Validate a nested component; record its component type."""
        self._require_component("nested components")
        inner = Scope(COMPONENT, self, self.modules)
        inner.run(d.component.definitions)
        self.components.append(inner.finish_component(d.offset))

    def instantiate(self, d: ast.Instantiate) -> None:
        """Check an instantiation's arguments; the instance type with resources substituted."""
        self._require_component("instances")
        ct = self._get(self.components, d.component, "component")
        args: dict[str, object] = {}
        for name, sort, idx in d.args:
            if name in args:
                raise _err(f"instantiation argument `{name}` conflicts with previous argument "
                           f"`{name}`", d.offset)  # fmt: skip
            if sort is Sort.VALUE:
                self.use_value(idx)
            args[name] = self.item_type(sort, idx)
        m = subtype.open_component(ct, args, d.offset)
        for r in ct.defined:
            fresh = ResourceType(r.name)
            m.resources[r] = fresh
            self.defined_resources[fresh] = None
        exports = {n: remap(t, m) for n, t in ct.exports.items()}
        explicit = {m.resources.get(r, r): p for r, p in ct.explicit.items()}
        self.instances.append(InstanceType(exports, {}, explicit))

    def inline_exports(self, d: ast.InlineExports) -> None:
        """An instance of existing items."""
        self._require_component("instances")
        exports: dict[str, object] = {}
        explicit: dict[ResourceType, tuple[str, ...]] = {}
        keys: dict[str, str] = {}
        names = NameContext()
        for name, sort, idx in d.exports:
            if sort is Sort.VALUE:
                self.use_value(idx)
            t = self.item_type(sort, idx)
            if isinstance(t, InstanceType):
                for r, path in t.explicit.items():
                    explicit[r] = (name.name, *path)
            elif isinstance(t, TypeExtern) and isinstance(t.type, ResourceType):
                explicit[t.type.origin] = (name.name,)
            check_extern_name(name, "export", t, keys, names, d.offset)
            exports[name.name] = t
        self.instances.append(InstanceType(exports, {}, explicit))

    # -- aliases ------------------------------------------------------------------------------
    def alias_def(self, d: ast.AliasDef) -> None:
        """An alias definition."""
        self.add_alias(d.alias, d.offset)

    def add_alias(self, a: ast.Alias, offset) -> None:
        """Validate an alias and add the aliased item."""
        if a.target == "export":
            if self.kind != COMPONENT and a.sort not in (Sort.TYPE, Sort.INSTANCE):
                raise _err("export aliases in type declarations may only refer to types or "
                           "instances", offset)  # fmt: skip
            inst = self._get(self.instances, a.instance, "instance")
            t = inst.exports.get(a.name)
            if t is None:
                raise _err(f"instance {a.instance} has no export named `{a.name}`", offset)
            self._push_alias(a.sort, t, f"export `{a.name}` of instance {a.instance}", offset)
        elif a.target == "core export":
            self._require_component("core export aliases")
            inst = self._get(self.core_instances, a.instance, "core instance")
            t = inst.exports.get(a.name)
            if t is None:
                raise _err(f"core instance {a.instance} has no export named `{a.name}`", offset)
            want = {Sort.CORE_FUNC: CoreFuncType, Sort.CORE_TABLE: TableType,
                    Sort.CORE_MEMORY: MemoryType, Sort.CORE_GLOBAL: GlobalType,
                    Sort.CORE_TAG: CoreTagType}.get(a.sort)  # fmt: skip
            if want is None or not isinstance(t, want):
                raise _err(f"export `{a.name}` for core instance {a.instance} is not a "
                           f"{a.sort}", offset)  # fmt: skip
            self._core_space(a.sort).append(t)
        else:
            if self.kind != COMPONENT and a.sort not in (Sort.TYPE, Sort.CORE_TYPE):
                raise _err("outer aliases in type declarations may only refer to types or "
                           "instances", offset)  # fmt: skip
            target = self._outer_scope(a.count)
            space = {Sort.CORE_MODULE: "core_modules", Sort.CORE_TYPE: "core_types",
                     Sort.TYPE: "types", Sort.COMPONENT: "components"}[a.sort]  # fmt: skip
            items = getattr(target, space)
            if not 0 <= a.index < len(items):
                raise _err(f"index {a.index} out of bounds for outer alias", offset)
            item = items[a.index]
            if a.sort is Sort.TYPE and a.count > 0:
                scope = self
                crosses = False
                for _ in range(a.count):
                    if scope.kind == COMPONENT:
                        crosses = True
                    scope = scope.parent
                if crosses and mentions_resource(item if not isinstance(item, ResourceType)
                                                 else item):  # fmt: skip
                    raise _err("cannot alias outer type which transitively refers to resources "
                               "not defined in the current component", offset)  # fmt: skip
            getattr(self, space).append(item)

    def _outer_scope(self, count: int) -> Scope:
        scope = self
        for _ in range(count):
            scope = scope.parent
            if scope is None:
                raise _err(f"invalid outer alias count of {count}", self.offset)
        return scope

    def _core_space(self, sort: Sort) -> list:
        return {Sort.CORE_FUNC: self.core_funcs, Sort.CORE_TABLE: self.core_tables,
                Sort.CORE_MEMORY: self.core_memories, Sort.CORE_GLOBAL: self.core_globals,
                Sort.CORE_TAG: self.core_tags}[sort]  # fmt: skip

    def _push_alias(self, sort: Sort, t, what: str, offset) -> None:
        expect = {Sort.FUNC: FuncType, Sort.INSTANCE: InstanceType, Sort.COMPONENT: ComponentType,
                  Sort.CORE_MODULE: ModuleType, Sort.TYPE: TypeExtern,
                  Sort.VALUE: ValueExtern}.get(sort)  # fmt: skip
        if expect is None or not isinstance(t, expect):
            noun = "a module" if sort is Sort.CORE_MODULE else f"a {sort}"
            raise _err(f"{what} is not {noun}", offset)
        if sort is Sort.FUNC:
            self.funcs.append(t)
        elif sort is Sort.INSTANCE:
            self.instances.append(t)
        elif sort is Sort.COMPONENT:
            self.components.append(t)
        elif sort is Sort.CORE_MODULE:
            self.core_modules.append(t)
        elif sort is Sort.TYPE:
            self.types.append(t.type)
        else:
            self.values.append([t.type, False])

    # -- types --------------------------------------------------------------------------------
    def type_def(self, d: ast.TypeDef) -> None:
        """A type definition."""
        self.types.append(self.def_type(d.type, d.offset))

    def def_type(self, t, offset):
        """The type a definition denotes."""
        if isinstance(t, ast.ResourceDesc):
            if self.kind != COMPONENT:
                raise _err("resources can only be defined within a concrete component", offset)
            if t.rep not in (ValType.I32, ValType.I64):
                raise _err("resources can only be represented by `i32` or `i64`", offset)
            if t.dtor is not None:
                ft = self.core_func(t.dtor)
                if ft.params != (t.rep,) or ft.results:
                    raise _err(f"core function {t.dtor} has wrong signature for a destructor",
                               offset)  # fmt: skip
            r = ResourceType(f"type {len(self.types)}", t.rep, t.dtor)
            self.defined_resources[r] = t.rep
            return r
        if isinstance(t, ast.FuncDesc):
            return self.func_type(t, offset)
        if isinstance(t, ast.ComponentTypeDesc):
            inner = Scope(COMPONENT_TYPE, self, self.modules)
            for decl in t.decls:
                inner.offset = decl.offset
                inner.decl(decl)
            return inner.finish_component(offset)
        if isinstance(t, ast.InstanceTypeDesc):
            inner = Scope(INSTANCE_TYPE, self, self.modules)
            for decl in t.decls:
                inner.offset = decl.offset
                inner.decl(decl)
            return inner.finish_instance_type()
        vt = self.def_val_type(t, offset)
        if _depth(vt, {}) > MAX_TYPE_DEPTH:
            raise _err("type nesting is too deep", offset)
        if abi.elem_size(vt, 8) > MAX_VALUE_SIZE:
            raise _err("value type exceeds the maximum size", offset)
        return vt

    def func_type(self, t: ast.FuncDesc, offset) -> FuncType:
        """A function type: labelled parameters, no borrow in the result."""
        seen: dict[str, str] = {}
        params = []
        for name, ref in t.params:
            check_label(name, "function parameter name", offset)
            low = name.lower()
            if low in seen:
                raise _err(f"function parameter name `{name}` conflicts with previous parameter "
                           f"name `{seen[low]}`", offset)  # fmt: skip
            seen[low] = name
            params.append((name, self.valtype(ref)))
        result = None if t.result is None else self.valtype(t.result)
        if result is not None and contains_borrow(result):
            raise _err("function result cannot contain a `borrow` type", offset)
        return FuncType(tuple(params), result, t.is_async)

    def _labels(self, labels, what: str, prev_what: str, offset) -> None:
        seen: dict[str, str] = {}
        for label in labels:
            check_label(label, what, offset)
            low = label.lower()
            if low in seen:
                raise _err(f"{what} `{label}` conflicts with previous {prev_what} `{seen[low]}`",
                           offset)  # fmt: skip
            seen[low] = label

    def def_val_type(self, t, offset):
        """A defined value type, with its well-formedness rules."""
        v = self.valtype
        if isinstance(t, ast.PrimDesc):
            return t.prim
        if isinstance(t, ast.RecordDesc):
            if not t.fields:
                raise _err("record type must have at least one field", offset)
            self._labels([n for n, _ in t.fields], "record field name", "field name", offset)
            return RecordType(tuple((n, v(u)) for n, u in t.fields))
        if isinstance(t, ast.VariantDesc):
            if not t.cases:
                raise _err("variant type must have at least one case", offset)
            self._labels([n for n, _ in t.cases], "variant case name", "case name", offset)
            return VariantType(tuple((n, None if u is None else v(u)) for n, u in t.cases))
        if isinstance(t, ast.ListDesc):
            if t.length is not None and t.length == 0:
                raise _err("Fixed size lists must have more than zero elements", offset)
            return ListType(v(t.elem), t.length)
        if isinstance(t, ast.TupleDesc):
            if not t.types:
                raise _err("tuple type must have at least one type", offset)
            return TupleType(tuple(v(u) for u in t.types))
        if isinstance(t, ast.FlagsDesc):
            if not t.labels:
                raise _err("flags must have at least one entry", offset)
            if len(t.labels) > 32:
                raise _err("cannot have more than 32 flags", offset)
            self._labels(t.labels, "flag name", "flag name", offset)
            return FlagsType(t.labels)
        if isinstance(t, ast.EnumDesc):
            if not t.labels:
                raise _err("enum type must have at least one variant", offset)
            self._labels(t.labels, "enum tag name", "tag name", offset)
            return EnumType(t.labels)
        if isinstance(t, ast.OptionDesc):
            return OptionType(v(t.type))
        if isinstance(t, ast.ResultDesc):
            return ResultType(None if t.ok is None else v(t.ok),
                              None if t.err is None else v(t.err))  # fmt: skip
        if isinstance(t, ast.MapDesc):
            key = v(t.key)
            if key not in KEY_PRIMS:
                raise _err("map key must be a primitive scalar type or string", offset)
            return MapType(key, v(t.value))
        if isinstance(t, ast.OwnDesc):
            return OwnType(self.resource_at(t.resource))
        if isinstance(t, ast.BorrowDesc):
            return BorrowType(self.resource_at(t.resource))
        if isinstance(t, ast.StreamDesc | ast.FutureDesc):
            elem = None if t.elem is None else v(t.elem)
            if elem is Prim.CHAR and isinstance(t, ast.StreamDesc):
                raise _err("`stream<char>` is not valid at this time", offset)
            if elem is not None and contains_borrow(elem):
                raise _err("stream and future payloads cannot contain a `borrow`", offset)
            return StreamType(elem) if isinstance(t, ast.StreamDesc) else FutureType(elem)
        raise _err(f"unsupported type {t!r}", offset)

    # -- declarators (component and instance types) -------------------------------------------
    def decl(self, d) -> None:
        """A declarator of a component or instance type."""
        if isinstance(d, ast.CoreTypeDecl):
            self.add_core_type(d.type, d.offset)
        elif isinstance(d, ast.TypeDecl):
            self.types.append(self.def_type(d.type, d.offset))
        elif isinstance(d, ast.AliasDecl):
            self.add_alias(d.alias, d.offset)
        elif isinstance(d, ast.ImportDecl):
            self.add_import(d.name, d.desc, d.offset)
        else:
            self.add_export(d.name, self.extern_type(d.desc, d.offset), d.offset, d.desc)

    # -- imports and exports ------------------------------------------------------------------
    def extern_type(self, desc: ast.ExternDesc, offset, *, fresh_kind: str | None = None):
        """The extern type an import/export descriptor denotes."""
        s = desc.sort
        if s is Sort.CORE_MODULE:
            t = self._get(self.core_types, desc.index, "core type")
            if not isinstance(t, ModuleType):
                raise _err(f"core type index {desc.index} is not a module type", offset)
            return t
        if s is Sort.FUNC:
            return self.func_type_at(desc.index)
        if s is Sort.COMPONENT:
            t = self.type_at(desc.index)
            if not isinstance(t, ComponentType):
                raise _err(f"type index {desc.index} is not a component type", offset)
            return t
        if s is Sort.INSTANCE:
            t = self.type_at(desc.index)
            if not isinstance(t, InstanceType):
                raise _err(f"type index {desc.index} is not an instance type", offset)
            return t
        if s is Sort.VALUE:
            b = desc.bound
            if b.eq is not None:
                return ValueExtern(self._get(self.values, b.eq, "value")[0])
            return ValueExtern(self.valtype(b.type))
        b = desc.bound
        if b.eq is not None:
            return TypeExtern(copy_type(self.type_at(b.eq)))
        return TypeExtern(ResourceType(fresh_kind or ""))

    def import_def(self, d: ast.ImportDef) -> None:
        """An import definition."""
        self.add_import(d.name, d.desc, d.offset)

    def add_import(self, name: ast.ExternName, desc: ast.ExternDesc, offset) -> None:
        """Add an import (names, visibility, resources)."""
        t = self.extern_type(desc, offset, fresh_kind=name.name)
        n = name.name
        if isinstance(t, TypeExtern) and isinstance(t.type, ResourceType) and desc.bound.eq is None:
            self.imported_resources[t.type] = (n,)
        if isinstance(t, InstanceType):
            t = self._prepare_instance_import(t, n)
        self._push_entity(t, offset)
        if not self._register_named(n, "import", t):
            raise _err(f"{_noun(t)} not valid to be used as import", offset)
        check_extern_name(name, "import", t, self.import_keys, self.import_names, offset)
        self.imports[n] = t

    def _prepare_instance_import(self, t: InstanceType, name: str) -> InstanceType:
        if not t.defined:
            return t
        m = Mapping()
        for r, _ in t.defined.items():
            fresh = ResourceType(r.name)
            m.resources[r] = fresh
            self.imported_resources[fresh] = (name, *t.explicit.get(r, ()))
        new = remap(InstanceType(t.exports, {}, t.explicit), m)
        if new.defined:
            new = InstanceType(new.exports, {}, new.explicit)
        return new

    def _prepare_instance_export(self, t: InstanceType, name: str) -> InstanceType:
        if t.defined:
            m = Mapping()
            for r in t.defined:
                fresh = ResourceType(r.name)
                m.resources[r] = fresh
                self.defined_resources[fresh] = None
            t = remap(InstanceType(t.exports, {}, t.explicit), m)
            t = InstanceType(t.exports, {}, t.explicit)
        for r, path in t.explicit.items():
            self.explicit_resources[r] = (name, *path)
        return t

    def _push_entity(self, t, offset) -> None:
        if isinstance(t, ModuleType):
            self.core_modules.append(t)
        elif isinstance(t, ComponentType):
            self.components.append(t)
        elif isinstance(t, InstanceType):
            self.instances.append(t)
        elif isinstance(t, FuncType):
            self.funcs.append(t)
        elif isinstance(t, ValueExtern):
            self.values.append([t.type, False])
        else:
            self.types.append(t.type)

    def _register_named(self, name: str | None, kind: str, t) -> bool:
        if isinstance(t, TypeExtern) and name is not None and isinstance(t.type, ResourceType):
            (self.import_names if kind == "import" else self.export_names).register(name, t.type)
        if self.kind == INSTANCE_TYPE:
            return True
        named = self.imported_types if kind == "import" else self.exported_types
        if isinstance(t, TypeExtern):
            if not _insides_named(t.type, named):
                return False
            if kind == "import":
                self.imported_types.add(t.type)
            self.exported_types.add(t.type)
            return True
        if isinstance(t, InstanceType):
            return all(self._register_named(None, kind, e) for e in t.exports.values())
        if isinstance(t, FuncType):
            return _insides_named(t, named)
        if isinstance(t, ValueExtern):
            return _is_named(t.type, named)
        return True

    def export_def(self, d: ast.ExportDef) -> None:
        """An export definition (with an optional ascribed type)."""
        if d.sort.is_core and d.sort is not Sort.CORE_MODULE:
            raise _err(f"cannot export items of sort `{d.sort}`", d.offset)
        if d.sort is Sort.VALUE:
            self.use_value(d.index)
        actual = self.item_type(d.sort, d.index)
        if d.desc is not None:
            ascribed = self.extern_type(d.desc, d.offset, fresh_kind=d.name.name)
            try:
                subtype.check_extern(actual, ascribed, d.offset)
            except ValidationError as e:
                raise _err(f"ascribed type of export is not compatible with item's type: "
                           f"{e.reason}", d.offset) from None  # fmt: skip
            t = ascribed
            fresh_sub = (isinstance(t, TypeExtern) and isinstance(t.type, ResourceType)
                         and d.desc.bound.eq is None)  # fmt: skip
            if fresh_sub:
                self.defined_resources[t.type] = None
        else:
            t = actual
            if isinstance(t, TypeExtern):
                t = TypeExtern(copy_type(t.type))
        self.add_export(d.name, t, d.offset, None)

    def add_export(self, name: ast.ExternName, t, offset, desc) -> None:
        """Add an export (names, visibility, resources)."""
        n = name.name
        if desc is not None and isinstance(t, TypeExtern) and isinstance(t.type, ResourceType):
            if desc.bound.eq is None:
                # (export "r" (type (sub resource))) in a type: a fresh abstract resource
                self.defined_resources[t.type] = None
        if isinstance(t, TypeExtern) and isinstance(t.type, ResourceType):
            self.explicit_resources[t.type.origin] = (n,)
            if t.type is not t.type.origin:
                t.type.name = n  # the alias this export made: name it for messages
        if isinstance(t, InstanceType):
            t = self._prepare_instance_export(t, n)
        self._push_entity(t, offset)
        if not self._register_named(n, "export", t):
            raise _err(f"{_noun(t)} not valid to be used as export", offset)
        check_extern_name(name, "export", t, self.export_keys, self.export_names, offset)
        self.exports[n] = t

    # -- start and values ---------------------------------------------------------------------
    def start_def(self, d: ast.StartDef) -> None:
        """🪙 a start function."""
        ft = self._get(self.funcs, d.func, "func")
        if len(d.args) != len(ft.params):
            raise _err("start function arity mismatch", d.offset)
        for idx, (_, pt) in zip(d.args, ft.params):
            entry = self._get(self.values, idx, "value")
            subtype.check_valtype(entry[0], pt, d.offset)
            self.use_value(idx)
        if d.results != len(ft.result_types):
            raise _err("start function results mismatch", d.offset)
        for t in ft.result_types:
            self.values.append([t, False])

    def value_def(self, d: ast.ValueDef) -> None:
        """🪙 a value definition."""
        self.values.append([self.valtype(d.type), False])

    # -- canonical definitions ----------------------------------------------------------------
    def canon_def(self, d: ast.CanonDef) -> None:
        """A canonical definition."""
        self._require_component("canonical definitions")
        from .canon_check import check_canon

        check_canon(self, d.canon)

    # -- finishing ----------------------------------------------------------------------------
    def _require_component(self, what: str) -> None:
        if self.kind != COMPONENT:
            raise _err(f"{what} are not allowed in type declarations", self.offset)

    def finish_component(self, offset) -> ComponentType:
        """The type of the component (or component type) validated."""
        for i, (_t, used) in enumerate(self.values):
            if not used and self.kind == COMPONENT:
                raise _err(f"value index {i} was not used as part of an instantiation, start "
                           "function, or export", offset)  # fmt: skip
        free: set = set()
        for t in self.imports.values():
            free_resources(t, free)
        for r in self.defined_resources:
            if r in free:
                raise _err("local resource type found in imports", offset)
        free = set()
        for t in self.exports.values():
            free_resources(t, free)
        defined: dict[ResourceType, tuple[str, ...]] = {}
        for r in self.defined_resources:
            if r not in free:
                continue
            path = self.explicit_resources.get(r)
            if path is None:
                raise _err("resource used in an export is not exported", offset)
            defined[r] = path
        return ComponentType(dict(self.imports), dict(self.exports),
                             dict(self.imported_resources), defined,
                             dict(self.explicit_resources))  # fmt: skip

    def finish_instance_type(self) -> InstanceType:
        """The instance type validated."""
        defined = {r: self.explicit_resources.get(r, ()) for r in self.defined_resources}
        return InstanceType(dict(self.exports), defined, dict(self.explicit_resources))

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
        ast.ImportDef: import_def,
        ast.ExportDef: export_def,
        ast.ValueDef: value_def,
    }


def _noun(t) -> str:
    if isinstance(t, FuncType):
        return "func"
    if isinstance(t, InstanceType):
        return "instance"
    if isinstance(t, TypeExtern):
        return "type"
    if isinstance(t, ValueExtern):
        return "value"
    if isinstance(t, ComponentType):
        return "component"
    return "module"
