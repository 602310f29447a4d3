"""Engine configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError
from .features import Features

#: ``python``: generated Python code; ``llvm``: jitted with LLVM at compile time; ``auto``: start
#: in the Python tier, move to the LLVM tier once hot (see :attr:`Config.tier_up_threshold`).
TIERS = ("python", "llvm", "auto")
#: when the Python tier translates functions, and when function bodies are validated (wasmi's
#: ``CompilationMode``): see :attr:`Config.compilation_mode`
COMPILATION_MODES = ("lazy_translation", "lazy", "eager")
#: see :attr:`Config.python_shape`
PYTHON_SHAPES = ("auto", "flat")


def _baseline_host() -> bool:
    """The default of :attr:`Config.baseline`: whether the host is x86-64 Linux (whether
    executable memory can be had is found at first use, ``wasm2py.baseline.unit.available``)."""
    import os
    import sys

    # (os.uname, not platform.machine: importing platform costs ~1.5 ms, at every Config())
    return sys.platform == "linux" and os.uname().machine == "x86_64"


@dataclass(frozen=True, slots=True)
class FuelCosts:
    """What executing code costs in fuel (as in wasmi: 1 per instruction by default).

    Attributes:
        instruction: cost of one wasm instruction (``end``/``else`` are free).
        per_opcode: cost overrides by opcode number (see :class:`wasm2py.binary.opcodes.Op`).
        bulk_per_64: extra cost per 64 bytes (memory) or 64 elements (tables) that a bulk
            instruction (``memory.fill/copy/init``, ``table.fill/copy/init``) processes.
    """

    instruction: int = 1
    per_opcode: tuple[tuple[int, int], ...] = ()
    bulk_per_64: int = 1

    def cost(self, op: int) -> int:
        """The cost of one instruction with opcode ``op``."""
        for o, c in self.per_opcode:
            if o == op:
                return c
        return self.instruction

    def key(self) -> bytes:
        """Identifies the costs in cache keys (they change the generated code)."""
        return repr((self.instruction, sorted(self.per_opcode), self.bulk_per_64)).encode()


@dataclass(slots=True)
class Config:
    """Settings shared by everything created from one :class:`~wasm2py.Engine`.

    Attributes:
        tier: which back end runs function bodies: ``"python"`` (generated Python code),
            ``"llvm"`` (LLVM IR jitted with llvmlite when the module is compiled; needs the
            ``llvm`` extra) or ``"auto"`` (start in the Python tier; once a function has made
            ``tier_up_threshold`` calls and loop iterations, it is compiled by LLVM in a
            child process, with other hot functions, at LLVM's cheapest level, and later
            calls run jitted; a function of more than 16 KB is compiled at its first call
            instead; see :mod:`wasm2py.tierup`).
            Instances of every tier share memories, tables and globals. Resumable calls
            (:meth:`Func.call_resumable`) run in the tier of the code they call: jitted
            functions that can reach a host function (or, with fuel, all of them) get
            suspend code, so their frames pause and resume natively, and a paused call can
            move to an instance of the other tier (``wasm2py.runtime.snapshot``).
        tier_up_threshold: for ``tier="auto"``: calls + loop iterations one function makes
            in the Python tier before it is queued for the LLVM tier (0: at its first call).
            Default 2,000: a few milliseconds of Python-tier execution, so code that runs
            briefly never pays for a compile (see :mod:`wasm2py.tierup`).
        tier_up_batch: for ``tier="auto"``: at most this many hot functions are compiled
            together as one unit (calls between them are direct).
        tier_up_workers: for ``tier="auto"``: how many units an instance compiles at a time
            (each in a worker process; default 2, so a big function does not hold back the
            small hot ones).
        llvm_opt_level: LLVM optimisation level for the LLVM tier (0-3, default 2).
        llvm_quick_bytes: for whole-module compiles (``tier="llvm"``,
            ``wasm2py.llvm.instantiate``): a module with more bytes of function bodies
            than this (default 64 KiB) is compiled at LLVM's level 0 (no IR pass, the fast
            code generator: a fraction of the CPU of ``O2``, for code that runs 2-5x slower;
            the quick pipeline ``wasm2py.llvm.jit.QUICK`` if a function has more than
            ``wasm2py.llvm.abi.BIG_FRAME_LOCALS`` locals, see
            ``wasm2py.llvm.jit.cold_level``) instead of ``llvm_opt_level`` (when that is 1
            or more). None: every module at ``llvm_opt_level``, whatever its size.
        llvm_isolated: compile LLVM-tier code in a worker process (default True), so that a
            crash inside LLVM (an assertion on code it cannot handle) is a
            :class:`~wasm2py.errors.CompileError` instead of the end of this process. The
            machine code comes back through a pipe and is loaded here; a warm worker is kept
            for the next compile (see :mod:`wasm2py.llvm.worker`). False compiles in this
            process: a little faster for many small modules, for trusted code only.
        max_call_depth: how many wasm calls may be nested before a call traps with
            ``CALL_STACK_EXHAUSTED`` (default 10,000; at most 2**24). Host frames in between
            count too.
        max_wasm_stack: how many bytes the nested wasm frames may take in total before a call
            traps with ``CALL_STACK_EXHAUSTED`` (default 16 MiB), as wasmtime's setting of the
            same name. A frame's size is the same in every tier, derived from its function
            (:mod:`wasm2py.validate.frames`: 8 bytes per parameter, local and operand slot, plus
            64), and counts at least 1 KiB, so that frames of up to 1 KiB are bounded by
            ``max_call_depth`` exactly: the frames may take ``min(max_wasm_stack,
            max_call_depth * 1 KiB)`` bytes (10,000 KiB with the defaults).
        count_instructions: translate with instruction counting: every executed wasm
            instruction adds 1 to ``Store.instructions`` (for benchmarks and profiling; a
            separate translation, slower than the plain one).
        consume_fuel: meter execution: code is charged fuel per straight-line segment (before
            it runs) and a call stops with ``Trap(OUT_OF_FUEL)`` — or pauses, for
            :meth:`Func.call_resumable` — when the store's fuel does not cover the next
            segment. Set fuel with :meth:`Store.set_fuel`. Off: no fuel code is generated.
        fuel_costs: the :class:`FuelCosts` (default: 1 per instruction, 1 per 64 bulk items).
        cache: keep translations in the on-disk cache (:mod:`wasm2py.cache`) and reuse them.
        wasm_tail_call, wasm_memory64, wasm_multi_memory, wasm_exceptions,
        wasm_function_references, wasm_relaxed_simd, wasm_extended_const, wasm_gc: the Wasm 3.0
            proposals (names as in wasmtime-py), all on by default. A module using a
            switched-off one is refused (:class:`~wasm2py.DecodeError` or
            :class:`~wasm2py.ValidationError`, naming the switch); with all of them off the
            engine accepts exactly Wasm 2.0. ``wasm_gc`` covers the GC proposal's types only:
            its instructions are not implemented (:class:`~wasm2py.UnsupportedFeature`).
            Relaxed SIMD is deterministic: each instruction gives one result, the same in every
            tier (see :mod:`wasm2py.runtime.simd`).
        compilation_mode: when work happens (wasmi's compilation modes):

            * ``"lazy_translation"`` (default): ``Module()`` decodes and validates the whole
              module; the Python tier translates each function when it is first called (and
              the disk cache keeps it for later runs). Loading costs only what is used.
            * ``"lazy"``: validation of function bodies is deferred too: ``Module()`` only
              checks the module's structure (sections, types, imports, exports, segments),
              and a function's body is checked just before its first call, which raises
              :class:`~wasm2py.DecodeError` / :class:`~wasm2py.ValidationError` then. The
              fastest start for big modules, at a price: an invalid module is not refused up
              front, it may run partly and fail later (in the middle of a computation). A
              module the disk cache knows to be valid is not checked again. Python tier only
              (the LLVM tier compiles, hence validates, every function).
            * ``"eager"``: ``Module()`` also translates every function (everything up front, as
              ahead-of-time compilation does).
        python_shape: ``"auto"`` (default): the Python tier gives each function the structured
            shape (nested Python statements) when CPython accepts it and a flat dispatch loop
            over basic blocks when it does not; ``"flat"``: every function gets the flat shape
            (slower; for testing it).
        epoch_interruption: code checks at every function entry and loop iteration whether
            the store's epoch deadline has passed (:meth:`Engine.increment_epoch`,
            :meth:`Store.set_epoch_deadline`) and traps with ``TrapCode.INTERRUPT`` if so: a
            way to stop a running call from another thread. Off: no checks are generated.
        llvm_guard_pages: ``True`` (default): where the host allows it (Linux on x86-64, a
            guard reservation of 8 GiB of address space per 32-bit memory, see
            :mod:`wasm2py.runtime.memory`), the LLVM tier's code (whole modules and tier-up
            units) accesses 32-bit memories without a bounds check and an out-of-bounds access
            faults on the reservation, which becomes the same ``Trap``
            (:mod:`wasm2py.llvm.guard`). ``False``: explicit bounds checks on every access.
            Code compiled with fuel metering always has explicit checks.
        llvm_resumable: ``True`` (default): jitted functions that can reach an import get
            suspend code, so that resumable calls (``Func.call_resumable``) run jitted.
            ``False``: no suspend code (smaller, faster code and cheaper compiles: Duktape's
            bytecode executor is a quarter of the machine code); resumable calls then run in
            the Python tier. ``wasm2py run`` makes no resumable calls and uses ``False``.
        baseline: for ``tier="auto"``: a defined function's first call compiles it to x86-64
            machine code with the baseline tier (:mod:`wasm2py.baseline`: one pass, about a
            millisecond per KB of wasm, code about as fast as LLVM's level 0), which runs it
            from then on; only the functions it refuses run in the Python tier (and tier up
            to LLVM when hot, as without it). Default: ``True`` on x86-64 Linux (used where
            executable memory can be had). Its code meters fuel and checks the epoch like the
            other tiers' (same charges, same trap points). Ignored for modules with a function
            type it cannot call (a v128 value or several results): those run as with
            ``False``. Baseline frames cannot pause: resumable calls run in the Python tier.
    """

    tier: str = "python"
    tier_up_threshold: int = 2_000
    tier_up_batch: int = 16
    tier_up_workers: int = 2
    llvm_opt_level: int = 2
    llvm_quick_bytes: int | None = 65_536
    llvm_isolated: bool = True
    max_call_depth: int = 10_000
    max_wasm_stack: int = 16 << 20
    count_instructions: bool = False
    consume_fuel: bool = False
    fuel_costs: FuelCosts = field(default_factory=FuelCosts)
    cache: bool = True
    wasm_tail_call: bool = True
    wasm_memory64: bool = True
    wasm_multi_memory: bool = True
    wasm_exceptions: bool = True
    wasm_function_references: bool = True
    wasm_relaxed_simd: bool = True
    wasm_extended_const: bool = True
    wasm_gc: bool = True
    compilation_mode: str = "lazy_translation"
    python_shape: str = "auto"
    epoch_interruption: bool = False
    llvm_guard_pages: bool = True
    llvm_resumable: bool = True
    baseline: bool = field(default_factory=_baseline_host)

    def features(self) -> Features:
        """The proposals the switches enable."""
        return Features(
            tail_call=self.wasm_tail_call, memory64=self.wasm_memory64,
            multi_memory=self.wasm_multi_memory, exceptions=self.wasm_exceptions,
            function_references=self.wasm_function_references,
            relaxed_simd=self.wasm_relaxed_simd, extended_const=self.wasm_extended_const,
            gc=self.wasm_gc,
        )  # fmt: skip

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ConfigError(f"unknown tier {self.tier!r}; expected one of {', '.join(TIERS)}")
        if not isinstance(self.max_call_depth, int) or not 1 <= self.max_call_depth <= 1 << 24:
            raise ConfigError("max_call_depth must be an int from 1 to 2**24")
        if not isinstance(self.max_wasm_stack, int) or self.max_wasm_stack < 1024:
            raise ConfigError("max_wasm_stack must be an int of at least 1024 (bytes)")
        if self.llvm_opt_level not in (0, 1, 2, 3):
            raise ConfigError("llvm_opt_level must be 0, 1, 2 or 3")
        if self.llvm_quick_bytes is not None and (
                not isinstance(self.llvm_quick_bytes, int) or self.llvm_quick_bytes < 0):
            raise ConfigError("llvm_quick_bytes must be None or a non-negative int")
        if not isinstance(self.tier_up_threshold, int) or self.tier_up_threshold < 0:
            raise ConfigError("tier_up_threshold must be a non-negative int")
        for name in ("tier_up_batch", "tier_up_workers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int")
        if self.count_instructions and self.tier != "python":
            raise ConfigError("count_instructions needs tier='python' (only it counts)")
        if self.count_instructions and self.consume_fuel:
            raise ConfigError("count_instructions and consume_fuel cannot be combined")
        if self.compilation_mode not in COMPILATION_MODES:
            raise ConfigError(f"unknown compilation_mode {self.compilation_mode!r}; expected one "
                             f"of {', '.join(COMPILATION_MODES)}")  # fmt: skip
        if self.compilation_mode == "lazy" and self.tier != "python":
            raise ConfigError("compilation_mode='lazy' needs tier='python' (the LLVM tier "
                             "validates every function when it compiles them)")  # fmt: skip
        if not isinstance(self.baseline, bool):
            raise ConfigError("baseline must be a bool")
        if self.python_shape not in PYTHON_SHAPES:
            raise ConfigError(f"unknown python_shape {self.python_shape!r}; expected one of "
                             f"{', '.join(PYTHON_SHAPES)}")  # fmt: skip

    def translation_key(self) -> bytes:
        """The options that change the generated Python code (part of every cache key)."""
        if self.consume_fuel:
            key = b"fuel:" + self.fuel_costs.key()
        else:
            key = b"count" if self.count_instructions else b"plain"
        if self.epoch_interruption:
            key += b":epoch"
        key += b":f" + self.features().key()
        # "auto" code also counts calls and loop iterations towards tier-up (per function)
        if self.tier == "auto":
            key += b":hotf"
        return key + b":flat" if self.python_shape == "flat" else key
