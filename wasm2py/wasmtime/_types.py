"""wasmtime-py's type objects over wasm2py's: the same value types (``ValType`` *is*
:class:`wasm2py.ValType`, ``Limits`` :class:`wasm2py.Limits`); function, global, table and memory
types with wasmtime-py's attribute names (lists of parameters, ``content``, ``element``...)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import types as _t
from ._errors import WasmtimeError

ValType = _t.ValType
Limits = _t.Limits


def _valtypes(items: Iterable) -> tuple[ValType, ...]:
    out = tuple(items)
    for v in out:
        if not isinstance(v, ValType):
            raise TypeError(f"expected ValType, got {type(v).__name__}")
    return out


class FuncType:
    """A function type: ``FuncType([ValType.i32()], [ValType.i64()])``."""

    __slots__ = ("_native",)

    def __init__(self, params: Iterable[ValType], results: Iterable[ValType]):
        self._native = _t.FuncType(_valtypes(params), _valtypes(results))

    @classmethod
    def _wrap(cls, native: _t.FuncType) -> FuncType:
        self = cls.__new__(cls)
        self._native = native
        return self

    @property
    def params(self) -> list[ValType]:
        """The parameter types."""
        return list(self._native.params)

    @property
    def results(self) -> list[ValType]:
        """The result types."""
        return list(self._native.results)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and other._native == self._native

    def __hash__(self) -> int:
        return hash(self._native)

    def __repr__(self) -> str:
        return f"FuncType({self.params}, {self.results})"


class GlobalType:
    """A global's type: ``GlobalType(ValType.i32(), mutable)``."""

    __slots__ = ("_native",)

    def __init__(self, valtype: ValType, mutable: bool):
        if not isinstance(valtype, ValType):
            raise TypeError("expected ValType")
        self._native = _t.GlobalType(valtype, bool(mutable))

    @classmethod
    def _wrap(cls, native: _t.GlobalType) -> GlobalType:
        self = cls.__new__(cls)
        self._native = native
        return self

    @property
    def content(self) -> ValType:
        """The value type."""
        return self._native.valtype

    @property
    def mutable(self) -> bool:
        """Whether the global can be set."""
        return self._native.mutable

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobalType) and other._native == self._native

    def __hash__(self) -> int:
        return hash(self._native)


class TableType:
    """A table's type: ``TableType(ValType.funcref(), Limits(1, None))``."""

    __slots__ = ("_native",)

    def __init__(self, valtype: ValType, limits: Limits):
        if not isinstance(valtype, ValType) or not valtype.is_ref:
            raise TypeError("expected a reference ValType")
        if not isinstance(limits, Limits):
            raise TypeError("expected Limits")
        self._native = _t.TableType(valtype, limits)

    @classmethod
    def _wrap(cls, native: _t.TableType) -> TableType:
        self = cls.__new__(cls)
        self._native = native
        return self

    @property
    def element(self) -> ValType:
        """The element (reference) type."""
        return self._native.elem

    @property
    def limits(self) -> Limits:
        """Size limits, in elements."""
        return self._native.limits

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableType) and other._native == self._native

    def __hash__(self) -> int:
        return hash(self._native)


#: the largest memory of the 32-bit (and, in pages of 64 KiB, 64-bit) index space
_MAX32 = 1 << 16
_MAX64 = 1 << 48


class MemoryType:
    """A memory's type: ``MemoryType(Limits(1, None), is_64=False, shared=False,
    page_size_log2=16)``.

    Raises:
        WasmtimeError: the limits do not fit the index type, a shared memory has no maximum,
            or the page size is not 1 or 65536 bytes.
    """

    __slots__ = ("_limits", "_is_64", "_shared", "_page_size_log2")

    def __init__(self, limits: Limits, is_64: bool = False, shared: bool = False,
                 page_size_log2: int = 16):  # fmt: skip
        if not isinstance(limits, Limits):
            raise TypeError("expected Limits")
        if page_size_log2 not in (0, 16):
            raise WasmtimeError("page size must be 1 or 65536 bytes (page_size_log2 0 or 16)")
        top = (_MAX64 if is_64 else _MAX32) << (16 - page_size_log2)
        if limits.min > top or (limits.max is not None and limits.max > top):
            raise WasmtimeError(f"memory size limits exceed the maximum of {top} pages")
        if limits.max is not None and limits.max < limits.min:
            raise WasmtimeError("memory maximum is smaller than its minimum")
        if shared and limits.max is None:
            raise WasmtimeError("shared memories must have a maximum size")
        self._limits = limits
        self._is_64 = bool(is_64)
        self._shared = bool(shared)
        self._page_size_log2 = page_size_log2

    @classmethod
    def _wrap(cls, native: _t.MemoryType) -> MemoryType:
        return cls(native.limits)

    def _to_native(self) -> _t.MemoryType:
        """The wasm2py type (32-bit, 64 KiB pages, not shared: what wasm2py runs)."""
        if self._is_64:
            raise WasmtimeError("64-bit memories (memory64) are not supported by wasm2py")
        if self._page_size_log2 != 16:
            raise WasmtimeError("custom page sizes are not supported by wasm2py")
        return _t.MemoryType(self._limits)

    @property
    def limits(self) -> Limits:
        """Size limits, in pages."""
        return self._limits

    @property
    def is_64(self) -> bool:
        """Whether the memory is indexed with 64-bit addresses."""
        return self._is_64

    @property
    def is_shared(self) -> bool:
        """Whether the memory is shared between threads."""
        return self._shared

    @property
    def page_size(self) -> int:
        """The page size in bytes."""
        return 1 << self._page_size_log2

    @property
    def page_size_log2(self) -> int:
        """log2 of the page size."""
        return self._page_size_log2

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemoryType) and (
            (other._limits, other._is_64, other._shared, other._page_size_log2)
            == (self._limits, self._is_64, self._shared, self._page_size_log2))  # fmt: skip

    def __hash__(self) -> int:
        return hash((self._limits, self._is_64, self._shared, self._page_size_log2))


class TagType:
    """An exception tag's type (the exception-handling proposal): ``TagType(FuncType(...))``."""

    __slots__ = ("functype",)

    def __init__(self, functype: FuncType):
        if not isinstance(functype, FuncType):
            raise TypeError("expected FuncType")
        #: the tag's parameters (its results are empty)
        self.functype = functype


AsExternType = FuncType | GlobalType | TableType | MemoryType | TagType


def wrap_type(native: object) -> AsExternType:
    """The wasmtime-py type object of a wasm2py type."""
    if isinstance(native, _t.FuncType):
        return FuncType._wrap(native)
    if isinstance(native, _t.GlobalType):
        return GlobalType._wrap(native)
    if isinstance(native, _t.TableType):
        return TableType._wrap(native)
    if isinstance(native, _t.MemoryType):
        return MemoryType._wrap(native)
    raise TypeError(f"not a wasm type: {native!r}")


class ImportType:
    """One import of a module."""

    __slots__ = ("module", "name", "type")

    def __init__(self, module: str, name: str, type: AsExternType):
        #: the module name it is imported from
        self.module = module
        #: the item's name
        self.name = name
        #: the item's type
        self.type = type

    def __repr__(self) -> str:
        return f"<ImportType {self.module!r} {self.name!r} {self.type!r}>"


class ExportType:
    """One export of a module."""

    __slots__ = ("name", "type")

    def __init__(self, name: str, type: AsExternType):
        #: the export's name
        self.name = name
        #: the item's type
        self.type = type

    def __repr__(self) -> str:
        return f"<ExportType {self.name!r} {self.type!r}>"
