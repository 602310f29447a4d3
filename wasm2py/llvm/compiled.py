"""The LLVM tier's compiled module (:class:`CompiledModule`), in a module of its own that
imports nothing of LLVM: an instance whose code runs in the baseline tier attaches through
:class:`~.instance.LLVMInstance` without loading ``llvmlite`` (see :mod:`wasm2py.baseline`).
``wasm2py.llvm.jit`` re-exports it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..binary.module import Module
from . import abi


@dataclass
class CompiledModule:
    """A module compiled by the LLVM tier: machine code in memory, shared by all instances.

    Attributes:
        module: the decoded module.
        opt_level: the optimisation level used.
        layout: the context layout.
        funcs: native address of every defined function (by function index).
        trampolines: native address of the host trampoline of every type index.
        entries: native address of the Python entry of every defined function (its type's:
            :func:`.abi.entry_name`, called with the function's address in its slots).
        timings: seconds spent in each phase (``lower``, ``parse``, ``optimize``, ``codegen``;
            or ``load`` for machine code read from the cache).
        fuel_costs: the :class:`~wasm2py.config.FuelCosts` the code meters fuel with (None:
            no fuel code).
        epoch: the code checks the store's epoch deadline (``Config.epoch_interruption``).
        guard: guard-page mode (:mod:`.guard`): the code accesses 32-bit memories without
            bounds checks, so every such memory of an instance must be ``guarded``.
        machine_code: the machine code (flags and relocatable objects, the format of the
            machine-code cache), to save it elsewhere: :meth:`to_bytes`.
    """

    module: Module
    opt_level: int
    layout: abi.Layout
    funcs: dict[int, int]
    trampolines: list[int]
    entries: dict[int, int]
    engine: object = None
    #: native address of the body of a defined function that has one (see
    #: ``lower.ModuleBuilder.bodies``): code from ``funcs[i]`` up to it is the ``tailcc``
    #: function calling it
    bodies: dict[int, int] = field(default_factory=dict)
    #: native address of the table of the bodies (``abi.BODYTABLE``; 0: none), which each
    #: instance's context holds (``abi.CTX_BODIES``)
    body_table: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    ir_text: str = ""
    #: defined functions with a loop or a call (see ``LLVMInstance``: the others stay in the
    #: Python tier for callers in Python)
    long_funcs: frozenset[int] = frozenset()
    fuel_costs: object = None
    epoch: bool = False
    guard: bool = False
    machine_code: bytes = b""
    #: the functions that can reach an import have suspend code (see :func:`compile_module`)
    resumable: bool = True

    def to_bytes(self) -> bytes:
        """The machine code, to load again with :func:`load_compiled` (same host, compiler
        and options; see :func:`cache_key`)."""
        return self.machine_code

    @property
    def compile_seconds(self) -> float:
        return sum(self.timings.values())
