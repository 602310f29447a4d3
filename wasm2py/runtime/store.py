"""The store: owner of all runtime objects created for one embedding context."""

from __future__ import annotations

import sys

from ..config import Config


class Store:
    """Holds instances, memories, tables, globals and functions, plus per-context state.

    Args:
        engine: the :class:`~wasm2py.Engine` whose configuration applies (default: a new one).
    """

    __slots__ = ("engine", "config", "depth", "max_depth", "host_nesting", "data", "counter",
                 "__weakref__")  # fmt: skip

    def __init__(self, engine=None):
        if engine is None:
            from ..engine import Engine

            engine = Engine()
        self.engine = engine
        self.config: Config = engine.config
        #: current wasm call depth (set while a host function runs, so nested calls continue it)
        self.depth = 0
        self.max_depth = self.config.max_call_depth
        #: how many host functions are running nested in each other
        self.host_nesting = 0
        #: executed-instruction counter cell (used when ``Config.count_instructions`` is on)
        self.counter = [0]
        #: free slot for the embedder's own data
        self.data = None
        # Each wasm call is one Python frame (plus a few for host calls in between): make sure
        # Python's own limit is not what stops a legal call depth.
        needed = self.max_depth + 2000
        if sys.getrecursionlimit() < needed:
            sys.setrecursionlimit(needed)

    @property
    def instructions(self) -> int:
        """Wasm instructions executed so far (needs ``Config(count_instructions=True)``)."""
        return self.counter[0]

    @instructions.setter
    def instructions(self, value: int) -> None:
        self.counter[0] = value
