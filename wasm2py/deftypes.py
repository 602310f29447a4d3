"""Defined types: canonical, process-wide objects for a module's type definitions, and the
subtype relation between value types.

Wasm 3.0 type definitions come in recursion groups (``rec``; a definition outside one is a group
of its own) and may declare a supertype (``sub``). Two definitions are the same type when their
groups are structurally equal, with references inside a group compared by position and
references outside it by identity (the spec's iso-recursive equivalence). :func:`canonicalize`
turns a module's definitions into :class:`DefType` objects interned by exactly that key, so
equivalent definitions in any module are the *same* object: type equality is ``is``, type ids
are small ints, and a reference type over a :class:`DefType` (``RefType(nullable, deftype)``)
means the same thing in every module. The composite type of a :class:`DefType` is *closed*: its
references name other :class:`DefType`\\ s, not indices.

:func:`matches` is the subtype relation on closed value types (``t1 <: t2``), used by the
validator and by import matching; :func:`deftype_sub` on defined types, used at run time by
``call_indirect`` and ``call_ref`` when the type ids differ.

This module is shared by the validator and the runtime (it imports neither).
"""

from __future__ import annotations

import threading
from typing import Any

from .types import (
    ArrayType,
    FieldType,
    FuncType,
    HeapType,
    RefType,
    StructType,
    ValType,
)


class DefType:
    """A canonical defined type.

    Attributes:
        comp: the closed composite type (:class:`~wasm2py.types.FuncType`, ``StructType`` or
            ``ArrayType``).
        kind: ``"func"``, ``"struct"`` or ``"array"``.
        final: whether it may have subtypes (``sub final``; definitions without ``sub`` are
            final).
        super: its declared supertype (a DefType) or None.
        id: a process-wide small int (what generated code compares for ``call_indirect``).
        depth: the length of its supertype chain.
    """

    __slots__ = ("comp", "kind", "final", "super", "id", "depth", "__weakref__")

    def __init__(self, kind: str):
        self.kind = kind
        self.comp: Any = None  # set once the recursion group is closed
        self.final = True
        self.super: DefType | None = None
        self.id = 0
        self.depth = 0

    def __repr__(self) -> str:
        return f"<DefType ${self.id} {self.kind} {self.comp}>"

    def __reduce__(self):
        raise TypeError("a DefType is process-local: encode module-relative types instead")


_lock = threading.Lock()
#: group key -> the group's DefTypes
_GROUPS: dict[tuple, tuple[DefType, ...]] = {}
#: id -> DefType
_BY_ID: list[DefType | None] = [None]


class _Rec:
    """A reference to the ``k``-th type of the group being canonicalised (in keys only)."""

    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k

    def __eq__(self, other) -> bool:
        return isinstance(other, _Rec) and other.k == self.k

    def __hash__(self) -> int:
        return hash(("rec", self.k))


def _kind(comp) -> str:
    if isinstance(comp, FuncType):
        return "func"
    if isinstance(comp, StructType):
        return "struct"
    return "array"


def canonicalize(types: list, subtypes: list | None = None,
                 rec_sizes: list[int] | None = None) -> list[DefType]:  # fmt: skip
    """The canonical :class:`DefType` of every type index of a module.

    Args:
        types: the composite type of every index (module-relative references).
        subtypes: ``(final, supertype indices)`` of every index (default: final, none).
        rec_sizes: the size of every recursion group, in order (default: one group per type).

    The module must be valid as far as its types go (indices in range, a supertype before its
    subtype); the validator checks that first.
    """
    n = len(types)
    if subtypes is None:
        subtypes = [(True, ())] * n
    if rec_sizes is None:
        rec_sizes = [1] * n
    out: list[DefType] = []
    start = 0
    for size in rec_sizes:
        out.extend(_group(types, subtypes, start, size, out))
        start += size
    return out


def _group(types, subtypes, start: int, size: int, done: list[DefType]) -> tuple[DefType, ...]:
    end = start + size

    def ref_key(h):
        if isinstance(h, int):
            return _Rec(h - start) if h >= start else done[h]
        return h

    def vt_key(t):
        if isinstance(t, RefType) and not isinstance(t.heap, HeapType):
            return ("ref", t.nullable, ref_key(t.heap))
        return t

    def comp_key(c):
        if isinstance(c, FuncType):
            return ("func", tuple(map(vt_key, c.params)), tuple(map(vt_key, c.results)))
        if isinstance(c, StructType):
            return ("struct", tuple((vt_key(f.storage), f.mutable) for f in c.fields))
        return ("array", vt_key(c.element.storage), c.element.mutable)

    key = tuple(
        (subtypes[i][0], tuple(ref_key(s) for s in subtypes[i][1]), comp_key(types[i]))
        for i in range(start, end)
    )
    with _lock:
        got = _GROUPS.get(key)
        if got is not None:
            return got
        group = tuple(DefType(_kind(types[i])) for i in range(start, end))

        def close_heap(h):
            if isinstance(h, int):
                return group[h - start] if h >= start else done[h]
            return h

        def close(t):
            if isinstance(t, RefType) and isinstance(t.heap, int):
                return RefType(t.nullable, close_heap(t.heap))
            return t

        for k, d in enumerate(group):
            i = start + k
            c = types[i]
            if isinstance(c, FuncType):
                d.comp = FuncType([close(t) for t in c.params], [close(t) for t in c.results])
            elif isinstance(c, StructType):
                d.comp = StructType(tuple(FieldType(close(f.storage), f.mutable)
                                          for f in c.fields))  # fmt: skip
            else:
                d.comp = ArrayType(FieldType(close(c.element.storage), c.element.mutable))
            final, supers = subtypes[i]
            d.final = final
            d.super = close_heap(supers[0]) if supers else None
            d.id = len(_BY_ID)
            _BY_ID.append(d)
        for d in group:  # supertypes come first (validated), possibly earlier in the group
            s, depth = d.super, 0
            while s is not None:
                depth += 1
                s = s.super
            d.depth = depth
        _GROUPS[key] = group
        return group


def module_deftypes(module) -> list[DefType]:
    """The DefType of every type index of a decoded module (computed once, kept in its
    ``derived`` facts)."""
    got = module.derived.get("deftypes")
    if got is None:
        got = module.derived["deftypes"] = canonicalize(
            module.types, module.subtypes or None, module.rec_sizes or None)
    return got


def deftype_of(ft: FuncType) -> DefType:
    """The DefType of a final function type of its own group (a host function's type).
    ``ft`` must be closed (no type indices)."""
    return _group([ft], [(True, ())], 0, 1, [])[0]


def by_id(type_id: int) -> DefType:
    """The DefType with id ``type_id``."""
    return _BY_ID[type_id]  # type: ignore[return-value]


def deftype_sub(d1: DefType, d2: DefType) -> bool:
    """Whether defined type ``d1`` is ``d2`` or a (transitive) declared subtype of it."""
    if d1 is d2:
        return True
    if d2.depth >= d1.depth:
        return False
    s = d1.super
    while s is not None:
        if s is d2:
            return True
        s = s.super
    return False


def type_id_sub(id1: int, id2: int) -> bool:
    """:func:`deftype_sub` on type ids (for run-time checks of generated code)."""
    return id1 == id2 or deftype_sub(_BY_ID[id1], _BY_ID[id2])  # type: ignore[arg-type]


# -- the subtype relation on closed value types -------------------------------------------------

_H = HeapType
#: abstract heap type -> the abstract heap types it is a subtype of (itself included)
_ABSTRACT_SUPERS = {
    _H.ANY: {_H.ANY},
    _H.EQ: {_H.EQ, _H.ANY},
    _H.I31: {_H.I31, _H.EQ, _H.ANY},
    _H.STRUCT: {_H.STRUCT, _H.EQ, _H.ANY},
    _H.ARRAY: {_H.ARRAY, _H.EQ, _H.ANY},
    _H.NONE: {_H.NONE, _H.I31, _H.STRUCT, _H.ARRAY, _H.EQ, _H.ANY},
    _H.FUNC: {_H.FUNC},
    _H.NOFUNC: {_H.NOFUNC, _H.FUNC},
    _H.EXTERN: {_H.EXTERN},
    _H.NOEXTERN: {_H.NOEXTERN, _H.EXTERN},
    _H.EXN: {_H.EXN},
    _H.NOEXN: {_H.NOEXN, _H.EXN},
}
#: the abstract supertypes of a defined type of each kind
_KIND_SUPERS = {"func": {_H.FUNC}, "struct": {_H.STRUCT, _H.EQ, _H.ANY},
                "array": {_H.ARRAY, _H.EQ, _H.ANY}}  # fmt: skip
#: the bottom of each kind's hierarchy
_KIND_BOTTOM = {"func": _H.NOFUNC, "struct": _H.NONE, "array": _H.NONE}


def heap_matches(h1, h2) -> bool:
    """Whether heap type ``h1`` is a subtype of ``h2`` (closed heap types: HeapType or
    DefType)."""
    if h1 is h2 or h1 is _H.BOT:
        return True
    if isinstance(h1, HeapType):
        if isinstance(h2, HeapType):
            return h2 in _ABSTRACT_SUPERS[h1]
        return h1 is _KIND_BOTTOM[h2.kind]
    if isinstance(h2, HeapType):
        return h2 in _KIND_SUPERS[h1.kind]
    return deftype_sub(h1, h2)


def matches(t1, t2) -> bool:
    """Whether closed value type ``t1`` is a subtype of ``t2`` (``None``, the validator's
    unknown type, matches anything)."""
    if t1 is t2 or t1 is None:
        return True
    if not t1.is_ref or not t2.is_ref:
        return False
    if t1.nullable and not t2.nullable:
        return False
    return heap_matches(t1.heap, t2.heap)


def top_heap(h) -> HeapType:
    """The top abstract heap type of a closed heap type's hierarchy."""
    if isinstance(h, HeapType):
        return h.top
    return HeapType.FUNC if h.kind == "func" else HeapType.ANY


def close_valtype(t, deftypes: list[DefType]):
    """The closed form of a module-relative value type (indices replaced by DefTypes)."""
    if isinstance(t, RefType) and isinstance(t.heap, int):
        return RefType(t.nullable, deftypes[t.heap])
    return t


def close_functype(ft: FuncType, deftypes: list[DefType]) -> FuncType:
    """The closed form of a module-relative function type."""
    if not any(isinstance(t, RefType) and isinstance(t.heap, int)
               for t in (*ft.params, *ft.results)):  # fmt: skip
        return ft
    return FuncType([close_valtype(t, deftypes) for t in ft.params],
                    [close_valtype(t, deftypes) for t in ft.results])  # fmt: skip


__all__ = [
    "DefType", "canonicalize", "module_deftypes", "deftype_of", "by_id", "deftype_sub", "type_id_sub",
    "heap_matches", "matches", "top_heap", "close_valtype", "close_functype", "ValType",
]  # fmt: skip
