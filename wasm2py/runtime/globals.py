"""Global variables."""

from __future__ import annotations

from ..types import GlobalType


class GlobalInstance:
    """One global. Its value lives in a 1-element list (``cell``) that generated code of every
    instance sharing the global indexes directly (``G3[0]``)."""

    __slots__ = ("type", "cell", "__weakref__")

    def __init__(self, type: GlobalType, value: object):
        self.type = type
        self.cell = [value]

    @property
    def value(self) -> object:
        """The current value (internal representation)."""
        return self.cell[0]

    @value.setter
    def value(self, v: object) -> None:
        self.cell[0] = v
