"""Global variables.

Generated Python code reads and writes a mutable global through its *cell*: ``G3[0]``. In a
store that only runs the Python tier the cell is a 1-element list (the fastest container for
that). In a store whose code may also run jitted (``Config(tier="llvm"|"auto")``) the value
lives in native memory that jitted code loads and stores directly, and the cell is a view of it
with the same ``cell[0]`` interface, so both tiers see one value. Measured on this machine
(``python -m timeit``): list item read/write 12/13 ns, ``memoryview`` item 28/34 ns, so the
native cells are used only where the LLVM tier needs them.
"""

from __future__ import annotations

import ctypes
from typing import Any

from ..types import GlobalType, ValType
from .values import f32_from_bits, f32_to_bits

#: memoryview formats of the numeric types whose internal value maps 1:1 onto native memory
_FORMATS = {ValType.I32: "I", ValType.I64: "Q", ValType.F64: "d"}


class _F32Cell:
    """f32 in native memory as its bit pattern (NaN payloads and sNaNs stay exact)."""

    __slots__ = ("bits",)

    def __init__(self, buf):
        self.bits = memoryview(buf).cast("B").cast("I")

    def __getitem__(self, _i):
        return f32_from_bits(self.bits[0])

    def __setitem__(self, _i, v) -> None:
        self.bits[0] = f32_to_bits(v)


class _V128Cell:
    """v128 in native memory as 16 little-endian bytes."""

    __slots__ = ("raw",)

    def __init__(self, buf):
        self.raw = memoryview(buf).cast("B")

    def __getitem__(self, _i):
        return int.from_bytes(self.raw, "little")

    def __setitem__(self, _i, v) -> None:
        self.raw[:] = v.to_bytes(16, "little")


class _RefCell:
    """A reference in native memory in the native encoding (a funcref record address or an
    externref handle, 0 for null), translated by the store's reference codec."""

    __slots__ = ("slot", "encode", "decode")

    def __init__(self, buf, encode, decode):
        self.slot = memoryview(buf).cast("B").cast("Q")
        self.encode = encode
        self.decode = decode

    def __getitem__(self, _i):
        return self.decode(self.slot[0])

    def __setitem__(self, _i, v) -> None:
        self.slot[0] = self.encode(v)


class GlobalInstance:
    """One global.

    Args:
        type: its :class:`GlobalType`.
        value: the initial value (internal representation).
        native: the store's reference codec (``store.native``) to keep a *mutable* global in
            native memory that jitted code shares; None for a plain list cell.

    Attributes:
        cell: what generated code indexes (``G3[0]``).
        address: address of the native value (16 bytes), or 0 for a list cell.
    """

    __slots__ = ("type", "cell", "address", "_buf", "__weakref__")

    def __init__(self, type: GlobalType, value: object, native=None):
        self.type = type
        self._buf = None
        self.address = 0
        self.cell: Any
        if native is None or not type.mutable:
            self.cell = [value]
            return
        buf = self._buf = (ctypes.c_uint64 * 2)()
        self.address = ctypes.addressof(buf)
        t = type.valtype
        fmt = _FORMATS.get(t)
        if fmt is not None:
            self.cell = memoryview(buf).cast("B").cast(fmt)  # type: ignore[call-overload]
        elif t is ValType.F32:
            self.cell = _F32Cell(buf)
        elif t is ValType.V128:
            self.cell = _V128Cell(buf)
        elif t is ValType.FUNCREF:
            self.cell = _RefCell(buf, native.ref_of, native.func_of)
        else:
            self.cell = _RefCell(buf, native.handle_of, native.extern_of)
            native.track_extern_cell(self)  # its handle keeps an object alive: see Store.gc
        self.cell[0] = value

    @property
    def value(self) -> object:
        """The current value (internal representation)."""
        return self.cell[0]

    @value.setter
    def value(self, v: object) -> None:
        self.cell[0] = v
