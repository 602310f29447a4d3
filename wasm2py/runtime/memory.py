"""Linear memory: a fixed-address reservation whose accessible prefix grows in 64 KiB pages.

The whole maximum size is reserved once with an anonymous ``mmap`` (virtual address space only;
untouched pages cost nothing and read as zero), so the base address never moves: jitted code can
hold a raw pointer, and Python code a ``memoryview`` over the accessible prefix. Growing bumps
the accessible size and rebinds that view in every namespace that uses the memory.
"""

from __future__ import annotations

import ctypes
import mmap

from ..errors import Trap, TrapCode
from ..types import MAX_PAGES, PAGE_SIZE, Limits, MemoryType

_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)


class LinearMemory:
    """One linear memory instance.

    Attributes:
        type: the (original) :class:`MemoryType`.
        pages: current size in pages.
        max_pages: the effective maximum in pages (the type's maximum, or 65536).
        view: a byte ``memoryview`` of exactly the current size (replaced on growth).
    """

    __slots__ = ("type", "pages", "max_pages", "_mmap", "_full", "view", "_bindings",
                 "store_limits", "__weakref__")  # fmt: skip

    def __init__(self, type: MemoryType, store_limits=None):
        """``store_limits``: the :class:`~wasm2py.runtime.limits.StoreLimits` of the owning
        store (its ``memory_size`` bounds this memory).

        Raises:
            ResourceLimitError: the minimum size exceeds the store's limit.
        """
        if store_limits is not None:
            store_limits.check_memory(type.limits.min)
        self.store_limits = store_limits
        limits = type.limits
        self.type = type
        self.pages = limits.min
        self.max_pages = limits.max if limits.max is not None else MAX_PAGES
        reserve = max(self.max_pages * PAGE_SIZE, mmap.PAGESIZE)
        try:
            self._mmap = mmap.mmap(
                -1, reserve, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
            )
        except OSError:
            # The address space could not be reserved (e.g. strict overcommit): fall back to
            # reserving only the initial size; growth beyond it then fails like a full memory.
            self.max_pages = self.pages
            self._mmap = mmap.mmap(-1, max(self.pages * PAGE_SIZE, mmap.PAGESIZE))
        # A 'B'-cast view makes struct's unpack_from/pack_into take their fastest path.
        self._full = memoryview(self._mmap).cast("B")
        self.view = self._full[: self.pages * PAGE_SIZE]
        # (namespace dict, key) pairs whose value must follow ``view`` when it is replaced.
        self._bindings: list[tuple[dict, str]] = []

    # -- for generated code and the embedding API ---------------------------------------------
    def bind(self, namespace: dict, key: str) -> None:
        """Keep ``namespace[key]`` equal to :attr:`view` across growth."""
        namespace[key] = self.view
        self._bindings.append((namespace, key))

    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages. Returns the old size in pages, or -1 if it cannot grow."""
        old = self.pages
        new = old + delta
        if delta < 0 or new > self.max_pages:
            return -1
        lim = self.store_limits
        if lim is not None and not lim.memory_fits(new):
            return -1
        if delta:
            self.pages = new
            self.view = view = self._full[: new * PAGE_SIZE]
            for ns, key in self._bindings:
                ns[key] = view
        return old

    @property
    def size_bytes(self) -> int:
        """Current size in bytes."""
        return self.pages * PAGE_SIZE

    def address(self) -> int:
        """The fixed base address of the memory (for jitted code)."""
        return ctypes.addressof(ctypes.c_char.from_buffer(self._mmap))

    def limits(self) -> Limits:
        """The current limits (current size as minimum)."""
        return Limits(self.pages, self.type.limits.max)

    def check_range(self, addr: int, n: int) -> None:
        """Trap with MEMORY_OUT_OF_BOUNDS unless ``[addr, addr+n)`` is inside the memory."""
        if addr + n > self.pages * PAGE_SIZE:
            raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
