"""Tables: growable vectors of references (``None`` is the null reference)."""

from __future__ import annotations

from ..types import Limits, TableType

MAX_TABLE_SIZE = 10_000_000  # a sanity cap so a hostile table.grow cannot exhaust memory


class TableInstance:
    """One table instance.

    Attributes:
        type: the (original) :class:`TableType`.
        elements: the list of references; generated code indexes it directly, and growth
            extends it in place, so its identity never changes.
        mirror: None, or the native copy jitted code reads (``wasm2py.llvm.native``): every
            change made here is passed on through :meth:`changed`, and the LLVM tier passes its
            own writes back, so both tiers see one table. (Python-tier code keeps indexing the
            list, which is faster than decoding native entries.)
    """

    __slots__ = ("type", "elements", "max", "mirror", "store_limits", "__weakref__")

    def __init__(self, type: TableType, init: object = None, store_limits=None):
        """``store_limits``: the :class:`~wasm2py.runtime.limits.StoreLimits` of the owning
        store (its ``table_elements`` bounds this table).

        Raises:
            ResourceLimitError: the minimum size exceeds the store's limit.
        """
        if store_limits is not None:
            store_limits.check_table(type.limits.min)
        self.store_limits = store_limits
        self.type = type
        self.elements: list = [init] * type.limits.min
        limit = type.limits.max
        self.max = MAX_TABLE_SIZE if limit is None else min(limit, MAX_TABLE_SIZE)
        self.mirror = None

    @property
    def size(self) -> int:
        """Current number of elements."""
        return len(self.elements)

    def grow(self, delta: int, init: object) -> int:
        """Grow by ``delta`` elements set to ``init``. Returns the old size or -1."""
        old = len(self.elements)
        if delta < 0 or old + delta > self.max:
            return -1
        lim = self.store_limits
        if lim is not None and not lim.table_fits(old + delta):
            return -1
        if delta:
            self.elements.extend([init] * delta)
            if self.mirror is not None:
                self.mirror.resized(old)
        return old

    def changed(self, start: int, n: int) -> None:
        """Elements ``[start, start+n)`` of :attr:`elements` were written: update the mirror."""
        if self.mirror is not None and n:
            self.mirror.changed(start, n)

    def limits(self) -> Limits:
        """The current limits (current size as minimum)."""
        return Limits(len(self.elements), self.type.limits.max)
