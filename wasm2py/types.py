"""WebAssembly types: value types (numbers, vectors, references), function types, limits, and the
types of tables, memories, globals and tags. All are immutable and hashable.

Reference types (Wasm 3.0) are ``(ref null? heaptype)``. The nullable ones over an abstract heap
type have a one-byte shorthand and are :class:`ValType` members (``funcref`` is
``(ref null func)``); every other reference type is a :class:`RefType`. Reference types are
*canonical objects*: ``RefType(True, HeapType.FUNC)`` *is* ``ValType.FUNCREF``, and two equal
reference types are the same object, so types compare with ``is`` (the validator relies on it).

The heap type of a :class:`RefType` is a :class:`HeapType` (abstract), an ``int`` (a type index
of the module being decoded or validated: only meaningful inside that module), or a
:class:`~wasm2py.deftypes.DefType` (a canonical defined type, shared by every module that defines
an equivalent type: what the runtime and the embedding API use).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # deftypes imports this module
    from .deftypes import DefType
from dataclasses import dataclass


class HeapType(enum.Enum):
    """An abstract heap type; ``value`` is its binary encoding byte (also the byte of the
    nullable reference type's shorthand, e.g. 0x70 ``funcref``)."""

    FUNC = 0x70
    EXTERN = 0x6F
    ANY = 0x6E
    EQ = 0x6D
    I31 = 0x6C
    STRUCT = 0x6B
    ARRAY = 0x6A
    EXN = 0x69
    NONE = 0x71
    NOEXTERN = 0x72
    NOFUNC = 0x73
    NOEXN = 0x74
    #: the validator's bottom heap type (operands of unreachable code): below every heap type
    BOT = -1

    def __repr__(self) -> str:
        return f"HeapType.{self.name}"

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def top(self) -> HeapType:
        """The top of this heap type's hierarchy (func, extern, exn or any)."""
        return _HEAP_TOP.get(self, HeapType.ANY)


_HEAP_TOP = {
    HeapType.FUNC: HeapType.FUNC, HeapType.NOFUNC: HeapType.FUNC,
    HeapType.EXTERN: HeapType.EXTERN, HeapType.NOEXTERN: HeapType.EXTERN,
    HeapType.EXN: HeapType.EXN, HeapType.NOEXN: HeapType.EXN,
}  # fmt: skip


class ValType(enum.Enum):
    """A WebAssembly value type with a one-byte encoding: the number types, ``v128`` and the
    nullable references over an abstract heap type (``value`` is the encoding byte). Other
    reference types are :class:`RefType`."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F
    ANYREF = 0x6E
    EQREF = 0x6D
    I31REF = 0x6C
    STRUCTREF = 0x6B
    ARRAYREF = 0x6A
    EXNREF = 0x69
    NULLREF = 0x71
    NULLEXTERNREF = 0x72
    NULLFUNCREF = 0x73
    NULLEXNREF = 0x74

    @property
    def is_num(self) -> bool:
        """True for i32, i64, f32, f64."""
        return self in _NUM

    @property
    def is_ref(self) -> bool:
        """True for reference types."""
        return self.value in _REF_BYTES

    @property
    def nullable(self) -> bool:
        """True for reference types (every shorthand is nullable)."""
        return self.value in _REF_BYTES

    @property
    def heap(self) -> HeapType:
        """The heap type of a reference type.

        Raises:
            TypeError: not a reference type.
        """
        if self.value not in _REF_BYTES:
            raise TypeError(f"{self} is not a reference type")
        return HeapType(self.value)

    @property
    def storage(self) -> ValType:
        """How values of this type are represented: itself for numbers and vectors, the top of
        its hierarchy (``funcref``, ``externref``, ``exnref``, ``anyref``) for references."""
        if self.value in _REF_BYTES:
            return _TOP_REF[HeapType(self.value).top]
        return self

    @property
    def defaultable(self) -> bool:
        """Whether locals of this type start with a default value (0, or null)."""
        return True

    def __repr__(self) -> str:
        return f"ValType.{self.name}"

    def __str__(self) -> str:
        return self.name.lower()

    def __reduce__(self):
        return ValType, (self.value,)

    # wasmtime-py style constructors
    @classmethod
    def i32(cls) -> ValType:
        """The i32 type."""
        return cls.I32

    @classmethod
    def i64(cls) -> ValType:
        """The i64 type."""
        return cls.I64

    @classmethod
    def f32(cls) -> ValType:
        """The f32 type."""
        return cls.F32

    @classmethod
    def f64(cls) -> ValType:
        """The f64 type."""
        return cls.F64

    @classmethod
    def v128(cls) -> ValType:
        """The v128 type."""
        return cls.V128

    @classmethod
    def funcref(cls) -> ValType:
        """The funcref type."""
        return cls.FUNCREF

    @classmethod
    def externref(cls) -> ValType:
        """The externref type."""
        return cls.EXTERNREF

    @classmethod
    def exnref(cls) -> ValType:
        """The exnref type."""
        return cls.EXNREF


_NUM = frozenset({ValType.I32, ValType.I64, ValType.F32, ValType.F64})
_REF_BYTES = frozenset(h.value for h in HeapType if h is not HeapType.BOT)
_TOP_REF = {HeapType.FUNC: ValType.FUNCREF, HeapType.EXTERN: ValType.EXTERNREF,
            HeapType.EXN: ValType.EXNREF, HeapType.ANY: ValType.ANYREF}  # fmt: skip


class RefType:
    """A reference type ``(ref null? heap)`` that has no :class:`ValType` shorthand: a
    non-nullable one, or one over a concrete type (a type index inside a module, a
    :class:`~wasm2py.deftypes.DefType` outside).

    ``RefType(nullable, heap)`` returns the canonical object: the :class:`ValType` shorthand
    when there is one, and the same :class:`RefType` object for equal arguments.
    """

    __slots__ = ("nullable", "heap", "__weakref__")
    _cache: dict = {}

    nullable: bool
    heap: HeapType | int | DefType

    def __new__(cls, nullable: bool, heap) -> RefType | ValType:  # type: ignore[misc]
        key = (bool(nullable), heap)
        got = cls._cache.get(key)
        if got is not None:
            return got
        if isinstance(heap, bool) or not (isinstance(heap, HeapType | int)
                                          or hasattr(type(heap), "comp")):  # a DefType
            raise TypeError(f"a heap type is a HeapType, a type index or a DefType, not {heap!r}")
        if nullable and isinstance(heap, HeapType) and heap is not HeapType.BOT:
            got = ValType(heap.value)
        else:
            got = object.__new__(cls)
            object.__setattr__(got, "nullable", bool(nullable))
            object.__setattr__(got, "heap", heap)
        cls._cache[key] = got
        return got

    def __setattr__(self, name, value):
        raise AttributeError("RefType is immutable")

    def __reduce__(self):
        return RefType, (self.nullable, self.heap)

    is_num = False
    is_ref = True

    @property
    def defaultable(self) -> bool:
        """Nullable references default to null; non-nullable ones have no default."""
        return self.nullable

    @property
    def storage(self) -> ValType:
        """The top nullable type of this type's hierarchy, which says how values are
        represented (``funcref``, ``externref``, ``exnref`` or ``anyref``).

        Raises:
            TypeError: the heap type is a module-relative type index.
        """
        h = self.heap
        if isinstance(h, HeapType):
            return _TOP_REF[h.top] if h is not HeapType.BOT else ValType.ANYREF
        if isinstance(h, int):
            raise TypeError(f"{self}: a type index means nothing outside its module")
        return ValType.FUNCREF if h.kind == "func" else ValType.ANYREF

    def __repr__(self) -> str:
        return f"RefType({self.nullable}, {self.heap!r})"

    def __str__(self) -> str:
        h = self.heap
        name = str(h) if isinstance(h, HeapType | int) else f"${h.id}"
        return f"(ref {'null ' if self.nullable else ''}{name})"


#: Any value type: a :class:`ValType` or a :class:`RefType`.
AnyValType = ValType | RefType


def is_ref(t) -> bool:
    """True if ``t`` is a reference type."""
    return t.is_ref


@dataclass(frozen=True, slots=True)
class FuncType:
    """A function type: parameter and result value types."""

    params: tuple[ValType | RefType, ...]
    results: tuple[ValType | RefType, ...]

    def __init__(self, params=(), results=()):
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "results", tuple(results))

    def __str__(self) -> str:
        p = " ".join(map(str, self.params))
        r = " ".join(map(str, self.results))
        return f"[{p}] -> [{r}]"


class PackedType(enum.Enum):
    """The packed storage types of struct and array fields (GC)."""

    I8 = 0x78
    I16 = 0x77

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class FieldType:
    """A field of a struct or the element of an array (GC): storage type and mutability."""

    storage: ValType | RefType | PackedType
    mutable: bool = False


@dataclass(frozen=True, slots=True)
class StructType:
    """A struct type (GC; decoded and validated as a type, no instruction creates one yet)."""

    fields: tuple[FieldType, ...]


@dataclass(frozen=True, slots=True)
class ArrayType:
    """An array type (GC; decoded and validated as a type, no instruction creates one yet)."""

    element: FieldType


#: the composite types a type definition holds
CompositeType = FuncType | StructType | ArrayType


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits (pages for memories, elements for tables); ``max`` is None when unbounded."""

    min: int
    max: int | None = None


@dataclass(frozen=True, slots=True)
class TableType:
    """A table type: element reference type, limits, and whether it is indexed with i64
    (``is_64``, Wasm 3.0 memory64's 64-bit tables)."""

    elem: ValType | RefType
    limits: Limits
    is_64: bool = False

    @property
    def index_type(self) -> ValType:
        """The type of the table's indices (i32, or i64 for a 64-bit table)."""
        return ValType.I64 if self.is_64 else ValType.I32


@dataclass(frozen=True, slots=True)
class MemoryType:
    """A memory type: limits in 64 KiB pages, and whether addresses are i64 (``is_64``, Wasm 3.0
    memory64)."""

    limits: Limits
    is_64: bool = False

    @property
    def index_type(self) -> ValType:
        """The type of the memory's addresses (i32, or i64 for a 64-bit memory)."""
        return ValType.I64 if self.is_64 else ValType.I32


@dataclass(frozen=True, slots=True)
class GlobalType:
    """A global type: value type and mutability."""

    valtype: ValType | RefType
    mutable: bool = False


@dataclass(frozen=True, slots=True)
class TagType:
    """An exception tag's type (Wasm 3.0 exception handling): the function type whose
    parameters are the exception's values (its results are always empty)."""

    type: FuncType

    @property
    def params(self) -> tuple:
        """The types of the values an exception with this tag carries."""
        return self.type.params


ExternType = FuncType | TableType | MemoryType | GlobalType | TagType

PAGE_SIZE = 65536
#: pages of a 32-bit memory at most (4 GiB)
MAX_PAGES = 65536
#: pages of a 64-bit memory at most (2**64 bytes)
MAX_PAGES_64 = 1 << 48


@dataclass(frozen=True, slots=True)
class ImportType:
    """An import of a module: where it comes from and its type."""

    module: str
    name: str
    type: ExternType


@dataclass(frozen=True, slots=True)
class ExportType:
    """An export of a module: its name and type."""

    name: str
    type: ExternType


def valtype_code(t) -> object:
    """A plain-data encoding of a value type (for ahead-of-time files): the encoding byte of a
    :class:`ValType`, ``(nullable, heap)`` for a :class:`RefType` over an abstract heap type
    (its byte) or a type index (``("t", index)``)."""
    if isinstance(t, ValType):
        return t.value
    h = t.heap
    if isinstance(h, HeapType):
        return (t.nullable, h.value)
    if isinstance(h, int):
        return (t.nullable, ("t", h))
    raise TypeError(f"{t}: only module-relative types can be encoded")


def valtype_from_code(c) -> ValType | RefType:
    """The value type :func:`valtype_code` encoded."""
    if isinstance(c, int):
        return ValType(c)
    nullable, h = c
    return RefType(nullable, h[1] if isinstance(h, tuple) else HeapType(h))
