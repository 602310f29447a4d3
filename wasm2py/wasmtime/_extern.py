"""wasmtime-py's ``Memory``, ``Table``, ``Global``, ``SharedMemory`` and ``Tag`` over wasm2py's
memories, tables and globals, and the conversions between extern objects of both APIs."""

from __future__ import annotations

import ctypes
from typing import Any

from .. import externs as _x
from ..runtime.func import Func as _NativeFunc
from ..runtime.memory import LinearMemory
from ..types import PAGE_SIZE
from ._config import Engine
from ._errors import WasmtimeError
from ._func import Func
from ._store import native_store
from ._types import GlobalType, MemoryType, TableType, TagType
from ._value import from_native, to_native


def _memory_buffer(rt: LinearMemory, size: int | None, offset: int) -> ctypes.Array:
    if size is None:
        size = rt.size_bytes
    return (ctypes.c_ubyte * size).from_address(rt.address() + offset)


class Memory:
    """A linear memory (wasmtime-py's ``Memory``): ``Memory(store, MemoryType(...))``."""

    __slots__ = ("_native",)

    def __init__(self, store: Any, ty: MemoryType):
        native = native_store(store)
        self._native = _x.Memory(native, ty._to_native())

    @classmethod
    def _wrap(cls, native: _x.Memory) -> Memory:
        self = cls.__new__(cls)
        self._native = native
        return self

    def type(self, store: Any) -> MemoryType:
        """The memory's type (as created)."""
        return MemoryType._wrap(self._native._rt.type)

    def grow(self, store: Any, delta: int) -> int:
        """Grow by ``delta`` pages; returns the old size.

        Raises:
            WasmtimeError: ``delta`` is negative or the memory cannot grow that much.
        """
        if not isinstance(delta, int):
            raise TypeError("expected an integer")
        if delta < 0:
            raise WasmtimeError("cannot grow by negative amount")
        return self._native.grow(delta)

    def size(self, store: Any) -> int:
        """The size in pages."""
        return self._native.size

    def data_len(self, store: Any) -> int:
        """The size in bytes."""
        return self._native.data_len

    def data_ptr(self, store: Any) -> Any:
        """A ctypes pointer to the first byte (the address never changes, growth included;
        bounds-check against :meth:`data_len`)."""
        return ctypes.cast(self._native._rt.address(), ctypes.POINTER(ctypes.c_ubyte))

    def get_buffer_ptr(self, store: Any, size: int | None = None, offset: int = 0) -> ctypes.Array:
        """A ctypes array over ``size`` bytes (default: all) from ``offset``, e.g. for
        ``numpy.frombuffer``."""
        return _memory_buffer(self._native._rt, size, offset)

    def read(self, store: Any, start: int | None = 0, stop: int | None = None) -> bytearray:
        """A copy of bytes ``[start:stop]``, indexed like a list slice (negative from the end;
        out of range is clipped)."""
        view = self._native.buffer
        start, stop, _ = slice(start, stop).indices(len(view))
        return bytearray(view[start:stop]) if stop > start else bytearray()

    def write(self, store: Any, value: bytes | bytearray, start: int | None = None) -> int:
        """Write ``value`` at ``start`` (negative: from the end); returns its length.

        Raises:
            IndexError: it does not fit.
        """
        view = self._native.buffer
        size = len(view)
        begin = slice(start, None).indices(size)[0]
        if begin >= size:
            raise IndexError("index out of range")
        data = bytes(value)
        if not data:
            return 0
        if begin + len(data) > size:
            raise IndexError("index out of range")
        view[begin : begin + len(data)] = data
        return len(data)

    def page_size(self, store: Any) -> int:
        """The page size in bytes (65536)."""
        return PAGE_SIZE

    def page_size_log2(self, store: Any) -> int:
        """log2 of the page size (16)."""
        return 16

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Memory) and other._native == self._native

    def __hash__(self) -> int:
        return hash(self._native)


class SharedMemory:
    """A memory that can be shared between threads (wasmtime-py's ``SharedMemory``), made
    without a store: ``SharedMemory(engine, MemoryType(..., shared=True))``.

    Note:
        wasm2py does not implement the threads proposal: modules cannot import or define
        shared memories, so this is a host-side memory only.
    """

    __slots__ = ("_rt", "_type")

    def __init__(self, engine: Engine, ty: MemoryType):
        engine._native  # noqa: B018 - an engine is required (AttributeError otherwise)
        if not ty.is_shared:
            raise WasmtimeError("memory type is not shared")
        self._type = ty
        self._rt = LinearMemory(MemoryType(ty.limits)._to_native())

    def type(self) -> MemoryType:
        """The memory's type."""
        return self._type

    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages; returns the old size (``WasmtimeError`` if it cannot)."""
        if not isinstance(delta, int):
            raise TypeError("expected an integer")
        if delta < 0:
            raise WasmtimeError("cannot grow by negative amount")
        old = self._rt.grow(delta)
        if old < 0:
            raise WasmtimeError(f"cannot grow the shared memory by {delta} pages")
        return old

    def size(self) -> int:
        """The size in pages."""
        return self._rt.pages

    def data_len(self) -> int:
        """The size in bytes."""
        return self._rt.size_bytes

    def data_ptr(self) -> Any:
        """A ctypes pointer to the first byte."""
        return ctypes.cast(self._rt.address(), ctypes.POINTER(ctypes.c_ubyte))


class Table:
    """A table of references (wasmtime-py's ``Table``): ``Table(store, TableType(...),
    init)``."""

    __slots__ = ("_native",)

    def __init__(self, store: Any, ty: TableType, init: Any):
        value = to_native(ty.element, init)
        self._native = _x.Table(native_store(store), ty._native, value)

    @classmethod
    def _wrap(cls, native: _x.Table) -> Table:
        self = cls.__new__(cls)
        self._native = native
        return self

    def _elem(self) -> Any:
        return self._native._rt.type.elem

    def type(self, store: Any) -> TableType:
        """The table's type (as created)."""
        return TableType._wrap(self._native._rt.type)

    def size(self, store: Any) -> int:
        """The number of elements."""
        return self._native.size

    def grow(self, store: Any, amt: int, init: Any) -> int:
        """Grow by ``amt`` elements set to ``init``; returns the old size.

        Raises:
            WasmtimeError: it cannot grow that much.
        """
        if not isinstance(amt, int):
            raise TypeError("expected an integer")
        value = to_native(self._elem(), init)
        if amt < 0:
            raise WasmtimeError("cannot grow by negative amount")
        return self._native.grow(amt, value)

    def get(self, store: Any, idx: int) -> Any:
        """Element ``idx`` (a Func, an extern object, or None; None also when out of
        bounds)."""
        if not 0 <= idx < self._native.size:
            return None
        return from_native(self._elem(), self._native.get(idx))

    def set(self, store: Any, idx: int, val: Any) -> None:
        """Set element ``idx`` (``WasmtimeError`` when out of bounds)."""
        self._native.set(idx, to_native(self._elem(), val))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and other._native == self._native

    def __hash__(self) -> int:
        return hash(self._native)


class Global:
    """A global (wasmtime-py's ``Global``): ``Global(store, GlobalType(...), value)``."""

    __slots__ = ("_native",)

    def __init__(self, store: Any, ty: GlobalType, val: Any):
        if not isinstance(ty, GlobalType):
            raise TypeError("expected a GlobalType")
        value = to_native(ty.content, val)
        self._native = _x.Global(native_store(store), ty._native, value)

    @classmethod
    def _wrap(cls, native: _x.Global) -> Global:
        self = cls.__new__(cls)
        self._native = native
        return self

    def type(self, store: Any) -> GlobalType:
        """The global's type."""
        return GlobalType._wrap(self._native.type)

    def value(self, store: Any) -> Any:
        """The current value."""
        return from_native(self._native.type.valtype, self._native.value)

    def set_value(self, store: Any, val: Any) -> None:
        """Set the value (``WasmtimeError`` for an immutable global)."""
        self._native.value = to_native(self._native.type.valtype, val)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Global) and other._native == self._native

    def __hash__(self) -> int:
        return hash(self._native)


class Tag:
    """An exception tag (wasmtime-py's ``Tag``): ``Tag(store, TagType(...))``.

    Note:
        wasm2py does not implement the exception-handling proposal: modules with tags do not
        decode, so a tag is a host-side object only.
    """

    __slots__ = ("_type",)

    def __init__(self, store: Any, ty: TagType):
        if not isinstance(ty, TagType):
            raise TypeError("expected a TagType")
        native_store(store)
        self._type = ty

    def type(self, store: Any) -> TagType:
        """The tag's type."""
        return self._type

    def eq(self, store: Any, other: Tag) -> bool:
        """Whether both are the same tag."""
        return self is other


AsExtern = Func | Memory | Table | Global | SharedMemory | Tag


def wrap_extern(native: Any) -> AsExtern:
    """The wasmtime-py object of an extern object of the wasm2py API."""
    if isinstance(native, _NativeFunc):
        return Func._wrap(native)
    if isinstance(native, _x.Memory):
        return Memory._wrap(native)
    if isinstance(native, _x.Table):
        return Table._wrap(native)
    if isinstance(native, _x.Global):
        return Global._wrap(native)
    raise TypeError(f"not an extern: {native!r}")


def extern_native(item: Any) -> Any:
    """The wasm2py object behind a wasmtime-py extern (to import it).

    Raises:
        TypeError: not an extern.
        WasmtimeError: an extern wasm2py modules cannot import (shared memories, tags).
    """
    if isinstance(item, Func | Memory | Table | Global):
        return item._native
    if isinstance(item, SharedMemory | Tag):
        raise WasmtimeError(f"wasm2py modules cannot import a {type(item).__name__}")
    raise TypeError(f"expected an external item (Func, Memory, Table, Global), got "
                    f"{type(item).__name__}")  # fmt: skip
