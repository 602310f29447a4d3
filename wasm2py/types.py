"""WebAssembly types: value types, function types, limits, and the types of tables, memories and
globals. All are immutable and hashable."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ValType(enum.Enum):
    """A WebAssembly value type. ``value`` is the binary encoding byte."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F

    @property
    def is_num(self) -> bool:
        """True for i32, i64, f32, f64."""
        return self in _NUM

    @property
    def is_ref(self) -> bool:
        """True for funcref and externref."""
        return self is ValType.FUNCREF or self is ValType.EXTERNREF

    def __repr__(self) -> str:
        return f"ValType.{self.name}"

    def __str__(self) -> str:
        return self.name.lower()

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
    def funcref(cls) -> ValType:
        """The funcref type."""
        return cls.FUNCREF

    @classmethod
    def externref(cls) -> ValType:
        """The externref type."""
        return cls.EXTERNREF


_NUM = frozenset({ValType.I32, ValType.I64, ValType.F32, ValType.F64})


@dataclass(frozen=True, slots=True)
class FuncType:
    """A function type: parameter and result value types."""

    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __init__(self, params=(), results=()):
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "results", tuple(results))

    def __str__(self) -> str:
        p = " ".join(map(str, self.params))
        r = " ".join(map(str, self.results))
        return f"[{p}] -> [{r}]"


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits (pages for memories, elements for tables); ``max`` is None when unbounded."""

    min: int
    max: int | None = None


@dataclass(frozen=True, slots=True)
class TableType:
    """A table type: element reference type and limits."""

    elem: ValType
    limits: Limits


@dataclass(frozen=True, slots=True)
class MemoryType:
    """A memory type: limits in 64 KiB pages."""

    limits: Limits


@dataclass(frozen=True, slots=True)
class GlobalType:
    """A global type: value type and mutability."""

    valtype: ValType
    mutable: bool = False


ExternType = FuncType | TableType | MemoryType | GlobalType

PAGE_SIZE = 65536
MAX_PAGES = 65536


@dataclass(frozen=True, slots=True)
class ImportType:
    """An import of a module: where it comes from and its type."""

    module: str
    name: str
    type: FuncType | TableType | MemoryType | GlobalType


@dataclass(frozen=True, slots=True)
class ExportType:
    """An export of a module: its name and type."""

    name: str
    type: FuncType | TableType | MemoryType | GlobalType
