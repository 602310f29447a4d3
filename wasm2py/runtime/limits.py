"""A store's resource limits (:meth:`Store.set_limits`), with wasmtime's semantics.

* ``memory_size`` (bytes) and ``table_elements`` bound *each* memory and table of the store:
  creating one whose minimum exceeds the limit fails (:class:`ResourceLimitError`); growing one
  past it fails like growing past its maximum (``memory.grow``/``table.grow`` return -1, the
  embedding API raises :class:`GrowError`). Host-created memories and tables are bound too.
* ``instances``, ``tables``, ``memories`` bound how many instances, and how many tables and
  memories *defined by instantiated modules*, the store may create over its lifetime
  (imports do not count). Instantiating past one fails before anything is created.

``None`` means no limit (the default for all of them).
"""

from __future__ import annotations

from ..errors import ConfigError, ResourceLimitError
from ..types import PAGE_SIZE


class StoreLimits:
    """The limits of one store and what it has created so far (see the module docstring)."""

    __slots__ = ("memory_size", "table_elements", "instances", "tables", "memories",
                 "instance_count", "table_count", "memory_count")  # fmt: skip

    def __init__(self):
        self.memory_size: int | None = None
        self.table_elements: int | None = None
        self.instances: int | None = None
        self.tables: int | None = None
        self.memories: int | None = None
        self.instance_count = 0
        self.table_count = 0
        self.memory_count = 0

    def set(self, memory_size: int | None = None, table_elements: int | None = None,
            instances: int | None = None, tables: int | None = None,
            memories: int | None = None) -> None:  # fmt: skip
        """Replace every limit (``None``: unlimited).

        Raises:
            ConfigError: a limit is not a non-negative int or None.
        """
        values = (memory_size, table_elements, instances, tables, memories)
        for v in values:
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"a store limit must be a non-negative int or None, got {v!r}")
        (self.memory_size, self.table_elements, self.instances, self.tables,
         self.memories) = values  # fmt: skip

    def memory_fits(self, pages: int) -> bool:
        """Whether a memory of ``pages`` pages is within ``memory_size``."""
        return self.memory_size is None or pages * PAGE_SIZE <= self.memory_size

    def table_fits(self, elements: int) -> bool:
        """Whether a table of ``elements`` elements is within ``table_elements``."""
        return self.table_elements is None or elements <= self.table_elements

    def check_memory(self, pages: int) -> None:
        """Raise unless a new memory of ``pages`` pages is allowed."""
        if not self.memory_fits(pages):
            raise ResourceLimitError(f"memory minimum size of {pages} pages exceeds the store's "
                                     f"memory limit of {self.memory_size} bytes")  # fmt: skip

    def check_table(self, elements: int) -> None:
        """Raise unless a new table of ``elements`` elements is allowed."""
        if not self.table_fits(elements):
            raise ResourceLimitError(f"table minimum size of {elements} elements exceeds the "
                                     f"store's limit of {self.table_elements}")  # fmt: skip

    def count_instance(self, tables: int, memories: int) -> None:
        """Count a new instance that defines ``tables`` tables and ``memories`` memories.

        Raises:
            ResourceLimitError: a count limit would be exceeded (nothing is counted then).
        """
        for what, have, add, limit in (("instance", self.instance_count, 1, self.instances),
                                       ("table", self.table_count, tables, self.tables),
                                       ("memory", self.memory_count, memories, self.memories)):  # fmt: skip
            if limit is not None and have + add > limit:
                raise ResourceLimitError(f"resource limit exceeded: {what} count too high at "
                                         f"{have + add} (limit {limit})")  # fmt: skip
        self.instance_count += 1
        self.table_count += tables
        self.memory_count += memories
