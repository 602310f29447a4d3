"""Per-instance handle tables and resource handles (``CanonicalABI.md``, *Table State* and
*Resource State*).

Each component instance has one table holding its resource handles, waitables (subtasks,
stream and future ends), waitable sets and error contexts, and one holding its threads. Indices
are allocated sequentially from 1 and freed indices are reused last-in first-out, as the spec
prescribes; index 0 is never valid.
"""

from __future__ import annotations

from ..errors import Trap, TrapCode


def trap(code: TrapCode, message: str | None = None) -> Trap:
    """A component-level trap (raise it)."""
    return Trap(code, message)


class HandleTable:
    """A table of handles: ``get``/``add``/``remove`` by index, trapping on a bad index."""

    #: the largest index (indices fit in 28 bits: they are packed with 4-bit codes)
    MAX_LENGTH = (1 << 28) - 1

    __slots__ = ("array", "free")

    def __init__(self):
        self.array: list = [None]
        self.free: list[int] = []

    def __iter__(self):
        return (e for e in self.array if e is not None)

    def get(self, i: int):
        """The element at ``i``.

        Raises:
            Trap: INVALID_HANDLE if ``i`` is not an allocated index.
        """
        a = self.array
        if not 0 <= i < len(a) or a[i] is None:
            raise trap(TrapCode.INVALID_HANDLE, f"unknown handle index {i}")
        return a[i]

    def add(self, e) -> int:
        """Store ``e`` at the most recently freed index (or a new one) and return it."""
        if self.free:
            i = self.free.pop()
            self.array[i] = e
            return i
        i = len(self.array)
        if i > self.MAX_LENGTH:
            raise trap(TrapCode.INVALID_HANDLE, "handle table is full")
        self.array.append(e)
        return i

    def remove(self, i: int):
        """Take the element at ``i`` out of the table and return it.

        Raises:
            Trap: INVALID_HANDLE if ``i`` is not an allocated index.
        """
        e = self.get(i)
        self.array[i] = None
        self.free.append(i)
        return e

    def __len__(self) -> int:
        return sum(1 for e in self.array if e is not None)


class ResourceHandle:
    """An ``own`` or ``borrow`` handle to a resource in an instance's table.

    Attributes:
        rt: the resource type (run time).
        rep: the representation value (an i32/i64 of the defining instance).
        own: whether the handle owns the resource.
        borrow_scope: for a borrow, the task it was lent to (it must be dropped before the task
            returns).
        num_lends: how many calls the handle is currently lent to (it cannot be dropped or moved
            while lent).
    """

    __slots__ = ("rt", "rep", "own", "borrow_scope", "num_lends")

    def __init__(self, rt, rep: int, own: bool, borrow_scope=None):
        self.rt = rt
        self.rep = rep
        self.own = own
        self.borrow_scope = borrow_scope
        self.num_lends = 0

    def __repr__(self) -> str:
        kind = "own" if self.own else "borrow"
        return f"<{kind} {self.rt!r} rep={self.rep}>"


def wrong_type(i: int, what: str) -> Trap:
    """The trap for a handle index that holds something else than ``what``."""
    return trap(TrapCode.INVALID_HANDLE, f"handle index {i} used with the wrong type, expected "
                                         f"{what}")  # fmt: skip
