"""Embedder handles for memories, tables and globals (functions are :class:`~wasm2py.Func`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .errors import ArgumentError, GrowError, ImmutableGlobalError, OutOfBoundsError
from .runtime.globals import GlobalInstance
from .runtime.memory import LinearMemory
from .runtime.table import TableInstance
from .runtime.values import TO_EXTERNAL, TO_INTERNAL
from .types import PAGE_SIZE, GlobalType, MemoryType, TableType

if TYPE_CHECKING:
    from .runtime.store import Store


class Memory:
    """A linear memory.

    ``Memory(store, MemoryType(Limits(min, max)))`` makes a new one (``ResourceLimitError`` if
    its minimum exceeds the store's limit); instances' memories come from ``instance.exports``. The bytes are reachable as :attr:`buffer` (a ``memoryview`` of the
    current size), through ``numpy.asarray(memory)`` (``__array_interface__``), and on Python
    3.12+ through ``memoryview(memory)`` directly.
    """

    __slots__ = ("_rt", "store")

    def __init__(self, store: Store, type: MemoryType) -> None:
        if not isinstance(type, MemoryType):
            raise ArgumentError("Memory(store, MemoryType(...))")
        self.store = store
        self._rt = LinearMemory(type, store.limits)

    @classmethod
    def _wrap(cls, store, rt: LinearMemory) -> Memory:
        self = cls.__new__(cls)
        self.store = store
        self._rt = rt
        return self

    @property
    def type(self) -> MemoryType:
        """The memory's type, with its current size as minimum."""
        return MemoryType(self._rt.limits())

    @property
    def size(self) -> int:
        """Current size in 64 KiB pages."""
        return self._rt.pages

    @property
    def data_len(self) -> int:
        """Current size in bytes."""
        return self._rt.pages * PAGE_SIZE

    @property
    def buffer(self) -> memoryview:
        """A writable view of the current contents. Take a new one after growth: an older view
        does not cover new pages, and if the memory had to move to grow (only when its maximum
        could not be reserved as address space), it shows the old bytes."""
        return self._rt.view

    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages; returns the old size.

        Raises:
            GrowError: the memory cannot grow that much (a ``ValueError`` too).
        """
        r = self._rt.grow(delta)
        if r < 0:
            raise GrowError(f"cannot grow memory by {delta} pages")
        return r

    def read(self, start: int = 0, stop: int | None = None) -> bytes:
        """Bytes ``[start, stop)`` of the memory.

        Raises:
            OutOfBoundsError: the range is outside the memory (an ``IndexError`` too).
        """
        size = self.data_len
        if stop is None:
            stop = size
        if not 0 <= start <= stop <= size:
            raise OutOfBoundsError(f"range [{start}, {stop}) outside memory of {size} bytes")
        return self._rt.view[start:stop].tobytes()

    def write(self, data, start: int = 0) -> int:
        """Write bytes at ``start``; returns the number written.

        Raises:
            OutOfBoundsError: the data does not fit (an ``IndexError`` too).
        """
        data = bytes(data)
        end = start + len(data)
        if start < 0 or end > self.data_len:
            raise OutOfBoundsError(f"writing {len(data)} bytes at {start} overflows the memory")
        self._rt.view[start:end] = data
        return len(data)

    def __len__(self) -> int:
        return self.data_len

    @property
    def __array_interface__(self) -> dict:
        """NumPy's array interface over the current contents (uint8)."""
        return {"shape": (self.data_len,), "typestr": "|u1", "version": 3,
                "data": (self._rt.address(), False)}  # fmt: skip

    if sys.version_info >= (3, 12):

        def __buffer__(self, flags: int) -> memoryview:
            return self._rt.view

    def __eq__(self, other) -> bool:
        return isinstance(other, Memory) and other._rt is self._rt

    def __hash__(self) -> int:
        return id(self._rt)

    def __repr__(self) -> str:
        return f"<wasm2py.Memory {self.size} pages>"


class Table:
    """A table of references: ``Table(store, TableType(ValType.FUNCREF, Limits(n)), init)``."""

    __slots__ = ("_rt", "store")

    def __init__(self, store: Store, type: TableType, init: Any = None) -> None:
        if not isinstance(type, TableType):
            raise ArgumentError("Table(store, TableType(...), init)")
        self.store = store
        self._rt = TableInstance(type, TO_INTERNAL[type.elem](init), store.limits)

    @classmethod
    def _wrap(cls, store, rt: TableInstance) -> Table:
        self = cls.__new__(cls)
        self.store = store
        self._rt = rt
        return self

    @property
    def type(self) -> TableType:
        """The table's type, with its current size as minimum."""
        return TableType(self._rt.type.elem, self._rt.limits())

    @property
    def size(self) -> int:
        """Current number of elements."""
        return len(self._rt.elements)

    def get(self, index: int) -> Any:
        """Element ``index`` (a Func, an extern object, or None).

        Raises:
            OutOfBoundsError: out of bounds (an ``IndexError`` too).
        """
        if not 0 <= index < self.size:
            raise OutOfBoundsError(f"table index {index} out of bounds (size {self.size})")
        return self._rt.elements[index]

    def set(self, index: int, value: Any) -> None:
        """Set element ``index``.

        Raises:
            OutOfBoundsError: out of bounds (an ``IndexError`` too).
        """
        if not 0 <= index < self.size:
            raise OutOfBoundsError(f"table index {index} out of bounds (size {self.size})")
        self._rt.elements[index] = TO_INTERNAL[self._rt.type.elem](value)
        self._rt.changed(index, 1)

    def grow(self, delta: int, init: Any = None) -> int:
        """Grow by ``delta`` elements set to ``init``; returns the old size.

        Raises:
            GrowError: the table cannot grow that much (a ``ValueError`` too).
        """
        r = self._rt.grow(delta, TO_INTERNAL[self._rt.type.elem](init))
        if r < 0:
            raise GrowError(f"cannot grow table by {delta}")
        return r

    def __eq__(self, other) -> bool:
        return isinstance(other, Table) and other._rt is self._rt

    def __hash__(self) -> int:
        return id(self._rt)

    def __repr__(self) -> str:
        return f"<wasm2py.Table {self._rt.type.elem} size={self.size}>"


class Global:
    """A global: ``Global(store, GlobalType(ValType.I32, mutable=True), 42)``; read and write
    :attr:`value`."""

    __slots__ = ("_rt", "store")

    def __init__(self, store: Store, type: GlobalType, value: Any) -> None:
        if not isinstance(type, GlobalType):
            raise ArgumentError("Global(store, GlobalType(...), value)")
        self.store = store
        self._rt = GlobalInstance(type, TO_INTERNAL[type.valtype](value), store.native)

    @classmethod
    def _wrap(cls, store, rt: GlobalInstance) -> Global:
        self = cls.__new__(cls)
        self.store = store
        self._rt = rt
        return self

    @property
    def type(self) -> GlobalType:
        """The global's type."""
        return self._rt.type

    @property
    def value(self) -> Any:
        """The current value (i32/i64 signed)."""
        return TO_EXTERNAL[self._rt.type.valtype](self._rt.cell[0])

    @value.setter
    def value(self, v: Any) -> None:
        if not self._rt.type.mutable:
            raise ImmutableGlobalError("cannot set an immutable global")
        self._rt.cell[0] = TO_INTERNAL[self._rt.type.valtype](v)

    def __eq__(self, other) -> bool:
        return isinstance(other, Global) and other._rt is self._rt

    def __hash__(self) -> int:
        return id(self._rt)

    def __repr__(self) -> str:
        return f"<wasm2py.Global {self._rt.type.valtype} = {self.value!r}>"


def to_runtime(item):
    """The runtime object behind an embedder handle (Func passes through)."""
    if isinstance(item, Memory | Table | Global):
        return item._rt
    return item


def to_handle(store, rt):
    """The embedder handle for a runtime object."""
    if isinstance(rt, LinearMemory):
        return Memory._wrap(store, rt)
    if isinstance(rt, TableInstance):
        return Table._wrap(store, rt)
    if isinstance(rt, GlobalInstance):
        return Global._wrap(store, rt)
    return rt
