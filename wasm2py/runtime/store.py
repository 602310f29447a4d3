"""The store: owner of all runtime objects created for one embedding context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import ConfigError, Error
from . import fuelcell
from .callstack import stack_budget
from .epoch import EpochState
from .fuelcell import put, total
from .limits import StoreLimits

if TYPE_CHECKING:
    from ..engine import Engine


class Store:
    """Holds instances, memories, tables, globals and functions, plus per-context state.

    A store is used by one thread at a time (like wasmtime's ``Store``): its call depth, fuel,
    trap status and the native tiers' argument buffers are per store, so calls into one store
    from two threads at once can see each other's values. Threads that run wasm concurrently
    use a store each (two stores may share an :class:`~wasm2py.Engine` and a
    :class:`~wasm2py.Module`).

    Args:
        engine: the :class:`~wasm2py.Engine` whose configuration applies (default: a new one).
    """

    __slots__ = ("engine", "config", "depth", "max_depth", "host_nesting", "data", "counter",
                 "fuel", "native", "resumable", "epoch", "limits", "__weakref__")  # fmt: skip

    def __init__(self, engine: Engine | None = None) -> None:
        if engine is None:
            from ..engine import Engine

            engine = Engine()
        self.engine = engine
        self.config: Config = engine.config
        #: current wasm call depth: the summed frame costs, in words (see
        #: :mod:`wasm2py.validate.frames`; set while a host function runs, so nested calls
        #: continue it)
        self.depth = 0
        #: the depth at which a call traps (``Config.max_call_depth`` and ``max_wasm_stack``)
        self.max_depth = stack_budget(self.config.max_call_depth, self.config.max_wasm_stack)
        #: how many host functions are running nested in each other
        self.host_nesting = 0
        #: executed-instruction counter cell (used when ``Config.count_instructions`` is on)
        self.counter = [0]
        #: remaining fuel: ``[cell, bank]``, the sum (a closure cell that generated code reads
        #: and charges directly, see :mod:`wasm2py.runtime.fuelcell`)
        self.fuel = fuelcell.new()
        #: the LLVM tier's native runtime of this store (``wasm2py.llvm.native``), set when the
        #: store first runs jitted code; it also encodes references for native global cells
        self.native = None
        #: how many resumable calls are running (pausing host errors and failed fuel checks
        #: then suspend the frames of either tier: see wasm2py.runtime.resumable)
        self.resumable = 0
        #: the resource limits (:meth:`set_limits`) and what the store created so far
        self.limits = StoreLimits()
        #: the epoch deadline (``Config.epoch_interruption``; see :mod:`wasm2py.runtime.epoch`)
        self.epoch: EpochState | None = None
        if self.config.epoch_interruption:
            self.epoch = EpochState(self)
            engine.epoch_clock.register(self.epoch)
        if self.config.tier != "python":
            from ..llvm.native import runtime_for  # needs llvmlite: only for these tiers

            runtime_for(self)
        #: free slot for the embedder's own data
        self.data: Any = None

    @property
    def instructions(self) -> int:
        """Wasm instructions executed so far (needs ``Config(count_instructions=True)``)."""
        return self.counter[0]

    @instructions.setter
    def instructions(self, value: int) -> None:
        self.counter[0] = value

    def set_fuel(self, fuel: int) -> None:
        """Set the fuel available to code running in this store.

        Raises:
            Error: fuel metering is not enabled (``Config(consume_fuel=True)``).
            ConfigError: ``fuel`` is negative (a ``ValueError`` too).
        """
        self._check_fuel()
        if not isinstance(fuel, int) or fuel < 0:
            raise ConfigError("fuel must be a non-negative int")
        put(self.fuel, fuel)

    def get_fuel(self) -> int:
        """The fuel left.

        Raises:
            Error: fuel metering is not enabled.
        """
        self._check_fuel()
        return total(self.fuel)

    def consume_fuel(self, amount: int) -> None:
        """Take ``amount`` fuel (for host functions that want to charge for their work).

        Raises:
            Trap: OUT_OF_FUEL if not enough is left (nothing is taken then).
        """
        self._check_fuel()
        left = total(self.fuel)
        if amount > left:
            from ..errors import Trap, TrapCode

            raise Trap(TrapCode.OUT_OF_FUEL)
        put(self.fuel, left - amount)

    def _check_fuel(self) -> None:
        if not self.config.consume_fuel:
            raise Error("fuel metering is off: create the engine with Config(consume_fuel=True)")

    def gc(self) -> int:
        """Release what the store keeps only for jitted code (the LLVM and auto tiers): objects
        passed to jitted code as externrefs stay referenced by the store while a global,
        a table or a paused call's jitted frame holds them, or until this runs. Does nothing while wasm code of the store is
        running (its frames may hold references). Returns how many objects were released.
        (Python frees everything else by itself.)"""
        if self.native is None or self.depth or self.host_nesting:
            return 0
        return self.native.collect_externs()

    def set_limits(self, memory_size: int | None = None, table_elements: int | None = None,
                   instances: int | None = None, tables: int | None = None,
                   memories: int | None = None) -> None:  # fmt: skip
        """Limit the resources of this store (wasmtime's ``StoreLimits``); every call replaces
        all limits, ``None`` meaning unlimited.

        Args:
            memory_size: bytes each linear memory may have: a memory whose minimum is larger
                cannot be created (``ResourceLimitError``), and growing past it fails
                (``memory.grow`` returns -1; ``Memory.grow`` raises ``GrowError``).
            table_elements: elements each table may have (likewise).
            instances: instances the store may create over its lifetime.
            tables, memories: tables and memories that instantiated modules may define (imports
                do not count), over the store's lifetime. Past a count, instantiation raises
                ``ResourceLimitError`` before creating anything.

        Raises:
            ConfigError: a limit is not a non-negative int or None.
        """
        self.limits.set(memory_size, table_elements, instances, tables, memories)

    def set_epoch_deadline(self, ticks: int) -> None:
        """Let code in this store run until the engine's epoch has advanced ``ticks`` more times
        (:meth:`Engine.increment_epoch`); then it traps with ``TrapCode.INTERRUPT`` at its next
        function entry or loop iteration. ``0``: at once. A new store's deadline is the epoch
        it was created at.

        Raises:
            Error: epoch interruption is off (``Config(epoch_interruption=True)``).
            ConfigError: ``ticks`` is not a non-negative int.
        """
        if self.epoch is None:
            raise Error("epoch interruption is off: create the engine with "
                        "Config(epoch_interruption=True)")  # fmt: skip
        if not isinstance(ticks, int) or isinstance(ticks, bool) or ticks < 0:
            raise ConfigError("the epoch deadline must be a non-negative int")
        self.engine.epoch_clock.set_deadline(self.epoch, ticks)
