"""Type substitution and subtyping between extern types (validation of instantiation, export
ascription and component-typed imports).

Resource types are abstract: two resources are the same type only if they are the same
definition (``origin``). Instantiating a component substitutes the resources its imports
introduce by the resources of the arguments, and makes fresh ones for the resources its exports
introduce; :func:`remap` performs such substitutions. A substitution also maps type objects to
type objects (an ``eq``-bounded type import is replaced by the argument's type).
"""

from __future__ import annotations

from ..errors import ValidationError
from ..types import FuncType as CoreFuncType
from ..types import GlobalType, MemoryType, TableType
from .types import (
    BorrowType,
    ComponentType,
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
    extern_sort_name,
)


class Mapping:
    """A substitution: resources by origin, and other type objects by identity."""

    __slots__ = ("resources", "types")

    def __init__(self):
        self.resources: dict[ResourceType, ResourceType] = {}
        self.types: dict[int, object] = {}

    def __bool__(self) -> bool:
        return bool(self.resources or self.types)


def origin(r: ResourceType) -> ResourceType:
    """The resource definition an alias stands for."""
    return r.origin


def remap(t, m: Mapping):
    """``t`` (any value, function, extern or resource type) with ``m`` applied; ``t`` itself when
    nothing changes."""
    if not m or t is None or isinstance(t, Prim):
        return t
    hit = m.types.get(id(t))
    if hit is not None:
        return hit
    if isinstance(t, ResourceType):
        return m.resources.get(t.origin, t)
    if isinstance(t, OwnType | BorrowType):
        r = m.resources.get(t.resource.origin)
        return t if r is None else type(t)(r)
    if isinstance(t, ListType):
        e = remap(t.elem, m)
        return t if e is t.elem else ListType(e, t.length)
    if isinstance(t, RecordType):
        fs = tuple((n, remap(u, m)) for n, u in t.fields)
        return t if all(a[1] is b[1] for a, b in zip(fs, t.fields)) else RecordType(fs)
    if isinstance(t, TupleType):
        ts = tuple(remap(u, m) for u in t.types)
        return t if all(a is b for a, b in zip(ts, t.types)) else TupleType(ts)
    if isinstance(t, VariantType):
        cs = tuple((n, remap(u, m)) for n, u in t.cases)
        return t if all(a[1] is b[1] for a, b in zip(cs, t.cases)) else VariantType(cs)
    if isinstance(t, OptionType):
        u = remap(t.type, m)
        return t if u is t.type else OptionType(u)
    if isinstance(t, ResultType):
        ok, err = remap(t.ok, m), remap(t.err, m)
        return t if ok is t.ok and err is t.err else ResultType(ok, err)
    if isinstance(t, MapType):
        k, v = remap(t.key, m), remap(t.value, m)
        return t if k is t.key and v is t.value else MapType(k, v)
    if isinstance(t, StreamType | FutureType):
        e = remap(t.elem, m)
        return t if e is t.elem else type(t)(e)
    if isinstance(t, FuncType):
        ps = tuple((n, remap(u, m)) for n, u in t.params)
        r = remap(t.result, m)
        if r is t.result and all(a[1] is b[1] for a, b in zip(ps, t.params)):
            return t
        return FuncType(ps, r, t.is_async)
    if isinstance(t, TypeExtern):
        u = remap(t.type, m)
        return t if u is t.type else TypeExtern(u)
    if isinstance(t, ValueExtern):
        u = remap(t.type, m)
        return t if u is t.type else ValueExtern(u)
    if isinstance(t, InstanceType):
        exports = {n: remap(u, m) for n, u in t.exports.items()}
        defined = {m.resources.get(r, r): p for r, p in t.defined.items()}
        explicit = {m.resources.get(r, r): p for r, p in t.explicit.items()}
        if (all(exports[n] is u for n, u in t.exports.items())
                and all(a is b for a, b in zip(defined, t.defined))
                and all(a is b for a, b in zip(explicit, t.explicit))):  # fmt: skip
            return t
        return InstanceType(exports, defined, explicit)
    if isinstance(t, ComponentType):
        imports = {n: remap(u, m) for n, u in t.imports.items()}
        exports = {n: remap(u, m) for n, u in t.exports.items()}
        return ComponentType(imports, exports,
                             {m.resources.get(r, r): p for r, p in t.imported.items()},
                             {m.resources.get(r, r): p for r, p in t.defined.items()},
                             {m.resources.get(r, r): p for r, p in t.explicit.items()})  # fmt: skip
    return t


def free_resources(t, out: set) -> None:
    """Add to ``out`` the resource definitions (origins) ``t`` mentions."""
    if t is None or isinstance(t, Prim):
        return
    if isinstance(t, ResourceType):
        out.add(t.origin)
    elif isinstance(t, OwnType | BorrowType):
        out.add(t.resource.origin)
    elif isinstance(t, TypeExtern | ValueExtern):
        free_resources(t.type, out)
    elif isinstance(t, InstanceType):
        for u in t.exports.values():
            free_resources(u, out)
    elif isinstance(t, ComponentType):
        inner: set = set()
        for u in (*t.imports.values(), *t.exports.values()):
            free_resources(u, inner)
        out.update(inner - set(t.imported) - set(t.defined))
    elif isinstance(t, ModuleType):
        return
    else:
        from .types import children

        for u in children(t):
            free_resources(u, out)


def mentions_resource(t) -> bool:
    """Whether ``t`` refers to any resource type (bound or free)."""
    if t is None or isinstance(t, Prim | ModuleType):
        return False
    if isinstance(t, ResourceType | OwnType | BorrowType):
        return True
    if isinstance(t, TypeExtern | ValueExtern):
        return mentions_resource(t.type)
    if isinstance(t, InstanceType):
        return any(mentions_resource(u) for u in t.exports.values())
    if isinstance(t, ComponentType):
        return any(mentions_resource(u) for u in (*t.imports.values(), *t.exports.values()))
    from .types import children

    return any(mentions_resource(u) for u in children(t))


# --- subtyping --------------------------------------------------------------------------------


def _fail(msg: str, offset) -> ValidationError:
    return ValidationError(msg, offset=offset)


def check_valtype(a, b, offset=None, what: str = "") -> None:
    """Raise unless value types ``a`` (actual) and ``b`` (expected) are equal."""
    if a is b:
        return
    if a is None or b is None:
        raise _fail(f"type mismatch{what}: expected {b}, found {a}", offset)
    if isinstance(b, Prim) or isinstance(a, Prim):
        if a is not b:
            if isinstance(a, Prim) and isinstance(b, Prim):
                raise _fail(f"type mismatch{what}: expected primitive `{b}` found primitive "
                            f"`{a}`", offset)  # fmt: skip
            raise _fail(f"type mismatch{what}: expected {_kind(b)}, found {_kind(a)}", offset)
        return
    if type(a) is not type(b):
        raise _fail(f"type mismatch{what}: expected {_kind(b)}, found {_kind(a)}", offset)
    if isinstance(a, OwnType | BorrowType):
        if a.resource.origin is not b.resource.origin:
            raise _fail("resource types are not the same", offset)
        return
    if isinstance(a, RecordType):
        if len(a.fields) != len(b.fields):
            raise _fail(f"expected {len(b.fields)} fields, found {len(a.fields)}", offset)
        for (na, ta), (nb, tb) in zip(a.fields, b.fields):
            if na != nb:
                raise _fail(f"expected field name `{nb}`, found `{na}`", offset)
            check_valtype(ta, tb, offset, f" in record field `{na}`")
        return
    if isinstance(a, VariantType):
        if len(a.cases) != len(b.cases):
            raise _fail(f"expected {len(b.cases)} cases, found {len(a.cases)}", offset)
        for (na, ta), (nb, tb) in zip(a.cases, b.cases):
            if na != nb:
                raise _fail(f"expected case named `{nb}`, found `{na}`", offset)
            if (ta is None) != (tb is None):
                raise _fail(f"expected case `{na}` to have "
                            f"{'a type, found none' if tb is not None else 'no type'}", offset)  # fmt: skip
            if ta is not None:
                check_valtype(ta, tb, offset, f" in variant case `{na}`")
        return
    if isinstance(a, TupleType):
        if len(a.types) != len(b.types):
            raise _fail(f"expected {len(b.types)} types, found {len(a.types)}", offset)
        for i, (ta, tb) in enumerate(zip(a.types, b.types)):
            check_valtype(ta, tb, offset, f" in tuple field {i}")
        return
    if isinstance(a, FlagsType | EnumType):
        if a.labels != b.labels:
            raise _fail(f"mismatch in {'flags' if isinstance(a, FlagsType) else 'enum'} "
                        "elements", offset)  # fmt: skip
        return
    if isinstance(a, ListType):
        if a.length != b.length:
            raise _fail("mismatch in list length", offset)
        check_valtype(a.elem, b.elem, offset, " in list element")
        return
    if isinstance(a, OptionType):
        check_valtype(a.type, b.type, offset, " in option")
        return
    if isinstance(a, ResultType):
        for x, y, which in ((a.ok, b.ok, "ok"), (a.err, b.err, "err")):
            if (x is None) != (y is None):
                if y is None:
                    raise _fail(f"expected {which} type to not be present", offset)
                raise _fail(f"expected {which} type, but found none", offset)
            if x is not None:
                check_valtype(x, y, offset, f" in {which} variant")
        return
    if isinstance(a, MapType):
        check_valtype(a.key, b.key, offset, " in map key")
        check_valtype(a.value, b.value, offset, " in map value")
        return
    if isinstance(a, StreamType | FutureType):
        if (a.elem is None) != (b.elem is None):
            raise _fail(f"type mismatch{what} in {_kind(a)} payload", offset)
        if a.elem is not None:
            check_valtype(a.elem, b.elem, offset, what)
        return
    raise _fail(f"type mismatch{what}", offset)


def _kind(t) -> str:
    if isinstance(t, Prim):
        return str(t) if t is not Prim.ERROR_CONTEXT else "error-context"
    return {RecordType: "record", VariantType: "variant", TupleType: "tuple", FlagsType: "flags",
            EnumType: "enum", ListType: "list", OptionType: "option", ResultType: "result",
            MapType: "map", OwnType: "own", BorrowType: "borrow", StreamType: "stream",
            FutureType: "future"}.get(type(t), type(t).__name__)  # fmt: skip


def check_functype(a: FuncType, b: FuncType, offset=None) -> None:
    """Raise unless function types are equal (parameter names included)."""
    if a.is_async != b.is_async:
        raise _fail("type mismatch in async attribute of function", offset)
    if len(a.params) != len(b.params):
        raise _fail(f"expected {len(b.params)} parameters, found {len(a.params)}", offset)
    for (na, ta), (nb, tb) in zip(a.params, b.params):
        if na != nb:
            raise _fail(f"expected parameter named `{nb}`, found `{na}`", offset)
        check_valtype(ta, tb, offset, f" in function parameter `{na}`")
    if (a.result is None) != (b.result is None):
        raise _fail("expected a result, found none" if a.result is None
                    else "expected no result, found one", offset)  # fmt: skip
    if a.result is not None:
        check_valtype(a.result, b.result, offset, " with result type")


def check_type_extern(a, b, offset=None) -> None:
    """Raise unless type ``a`` (actual) matches type ``b`` (expected) of a type import/export."""
    if isinstance(b, ResourceType):
        if not isinstance(a, ResourceType):
            raise _fail(f"expected resource, found {_deftype_kind(a)}", offset)
        if a.origin is not b.origin:
            raise _fail("resource types are not the same", offset)
        return
    if isinstance(a, ResourceType):
        raise _fail(f"expected {_deftype_kind(b)}, found resource", offset)
    if isinstance(b, FuncType):
        if not isinstance(a, FuncType):
            raise _fail(f"expected func type, found {_deftype_kind(a)}", offset)
        check_functype(a, b, offset)
        return
    if isinstance(b, InstanceType | ComponentType):
        if type(a) is not type(b):
            raise _fail(f"expected {_deftype_kind(b)}, found {_deftype_kind(a)}", offset)
        check_extern(a, b, offset)
        check_extern(b, a, offset)
        return
    if isinstance(a, FuncType | InstanceType | ComponentType):
        raise _fail(f"expected defined type, found {_deftype_kind(a)}", offset)
    check_valtype(a, b, offset)


def _deftype_kind(t) -> str:
    if isinstance(t, ResourceType):
        return "resource"
    if isinstance(t, FuncType):
        return "func"
    if isinstance(t, InstanceType):
        return "instance"
    if isinstance(t, ComponentType):
        return "component"
    return "defined type"


def check_extern(a, b, offset=None) -> None:
    """Raise unless extern type ``a`` (what is supplied) is a subtype of ``b`` (what is
    expected)."""
    if type(a) is not type(b):
        raise _fail(f"expected {extern_sort_name(b)}, found {extern_sort_name(a)}", offset)
    if isinstance(a, FuncType):
        check_functype(a, b, offset)
    elif isinstance(a, TypeExtern):
        check_type_extern(a.type, b.type, offset)
    elif isinstance(a, ValueExtern):
        check_valtype(a.type, b.type, offset)
    elif isinstance(a, InstanceType):
        for name, tb in b.exports.items():
            ta = a.exports.get(name)
            if ta is None:
                raise _fail(f"missing expected export `{name}`", offset)
            try:
                check_extern(ta, tb, offset)
            except ValidationError as e:
                raise _fail(f"type mismatch in instance export `{name}`: {e.reason}",
                            offset) from None  # fmt: skip
    elif isinstance(a, ComponentType):
        check_component(a, b, offset)
    elif isinstance(a, ModuleType):
        check_module(a, b, offset)


def resolve_path(entities: dict, path: tuple[str, ...]):
    """The resource type at ``path`` (names through nested instance types), or None."""
    t = entities.get(path[0])
    for name in path[1:]:
        if not isinstance(t, InstanceType):
            return None
        t = t.exports.get(name)
    if isinstance(t, TypeExtern) and isinstance(t.type, ResourceType):
        return t.type
    return None


def open_component(ct: ComponentType, args: dict, offset=None) -> Mapping:
    """Check ``args`` (name -> extern type) against the imports of ``ct``; return the
    substitution from ``ct``'s imported resources to the arguments' resources (and from its
    ``eq``-bounded type imports to the supplied types)."""
    m = Mapping()
    for r, path in ct.imported.items():
        got = resolve_path(args, path)
        if got is not None:
            m.resources[r] = got
    for name, expected in ct.imports.items():
        actual = args.get(name)
        if actual is None:
            raise _fail(f"missing import named `{name}`", offset)
        exp = remap(expected, m)
        try:
            check_extern(actual, exp, offset)
        except ValidationError as e:
            raise _fail(f"type mismatch for import `{name}`: {e.reason}", offset) from None
        if isinstance(expected, TypeExtern) and not isinstance(expected.type, ResourceType):
            m.types[id(expected.type)] = actual.type
    return m


def check_component(a: ComponentType, b: ComponentType, offset=None) -> None:
    """Component subtyping: ``a`` may import less and export more than ``b``."""
    # a's imports must be satisfiable by b's imports (with b's resources standing in for a's)
    m = open_component(a, {n: t for n, t in b.imports.items() if n in a.imports}, offset)
    # a's exported resources are matched up with b's by path, then exports compared
    for r, path in a.defined.items():
        got = resolve_path(b.exports, path)
        if got is not None:
            m.resources[r] = got
    for name, tb in b.exports.items():
        ta = a.exports.get(name)
        if ta is None:
            raise _fail(f"missing expected export `{name}`", offset)
        check_extern(remap(ta, m), tb, offset)


def check_module(a: ModuleType, b: ModuleType, offset=None) -> None:
    """Core module subtyping: ``a`` may import less and export more than ``b``."""
    for key, ta in a.imports.items():
        tb = b.imports.get(key)
        if tb is None:
            raise _fail(f"missing expected import `{key[0]}::{key[1]}`", offset)
        try:
            check_core_extern(tb, ta, offset)
        except ValidationError as e:
            raise _fail(f"type mismatch in import `{key[0]}::{key[1]}`: {e.reason}",
                        offset) from None  # fmt: skip
    for name, tb in b.exports.items():
        ta = a.exports.get(name)
        if ta is None:
            raise _fail(f"missing expected export `{name}`", offset)
        try:
            check_core_extern(ta, tb, offset)
        except ValidationError as e:
            raise _fail(f"type mismatch in export `{name}`: {e.reason}", offset) from None


def _core_kind(t) -> str:
    return {CoreFuncType: "func", TableType: "table", MemoryType: "memory",
            GlobalType: "global", CoreTagType: "tag"}.get(type(t), "?")  # fmt: skip


def _limits_ok(a, b) -> bool:
    if a.min < b.min:
        return False
    if b.max is None:
        return True
    return a.max is not None and a.max <= b.max


def check_core_extern(a, b, offset=None) -> None:
    """Core import matching: ``a`` (supplied) must match ``b`` (expected)."""
    if _core_kind(a) != _core_kind(b):
        raise _fail(f"expected {_core_kind(b)}, found {_core_kind(a)}", offset)
    if isinstance(a, CoreFuncType):
        if a != b:
            raise _fail(f"expected: {_core_func_text(b)}, found {_core_func_text(a)}", offset)
    elif isinstance(a, TableType):
        if a.elem != b.elem:
            raise _fail(f"expected table element type {b.elem}, found {a.elem}", offset)
        if not _limits_ok(a.limits, b.limits):
            raise _fail("mismatch in table limits", offset)
    elif isinstance(a, MemoryType):
        sa = getattr(a.limits, "shared", False)
        sb = getattr(b.limits, "shared", False)
        if sa != sb:
            raise _fail("mismatch in the shared flag for memories", offset)
        if getattr(a.limits, "is64", False) != getattr(b.limits, "is64", False):
            raise _fail("mismatch in index type used for memories", offset)
        if not _limits_ok(a.limits, b.limits):
            raise _fail("mismatch in memory limits", offset)
    elif isinstance(a, GlobalType):
        if a.valtype != b.valtype:
            raise _fail(f"expected global type {b.valtype}, found {a.valtype}", offset)
        if a.mutable != b.mutable:
            raise _fail("global types differ in mutability", offset)
    elif isinstance(a, CoreTagType):
        if a.type != b.type:
            raise _fail("tag types differ", offset)


def _core_func_text(t: CoreFuncType) -> str:
    parts = ["func"]
    if t.params:
        parts.append("(param " + " ".join(map(str, t.params)) + ")")
    if t.results:
        parts.append("(result " + " ".join(map(str, t.results)) + ")")
    return "(" + " ".join(parts) + ")"
