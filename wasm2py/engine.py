"""The engine: configuration plus the caches of what loading made (in memory and on disk)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import cache
from .config import Config
from .runtime.epoch import EpochClock

if TYPE_CHECKING:  # (the LLVM tier is imported only when used)
    from concurrent.futures import Future  # (~5 ms with logging: only the LLVM tier's)

    from .llvm.units import UnitEngine


class Engine:
    """Loads modules according to a :class:`Config` and keeps what loading made, so creating a
    :class:`~wasm2py.Module` twice from the same bytes decodes and validates once: in memory
    for this engine, and on disk (see :mod:`wasm2py.cache`) across processes when
    ``Config.cache``.

    Loading is function-granular: the decoded, validated module is the one artefact the tiers
    share; the Python tier translates a function on its first call (its
    :class:`~wasm2py.translate.module.ModuleCode`), the LLVM tier compiles machine code
    (:meth:`load_llvm`).

    Args:
        config: the configuration (default: ``Config()``).
    """

    def __init__(self, config: Config | None = None):
        self.config = config if config is not None else Config()
        self._memory: dict[str, tuple] = {}
        self._llvm: dict[tuple, Future] = {}
        #: compilation units loaded (``tier="auto"``), by cache key: shared by the instances
        self._units: dict[str, object] = {}
        #: the execution engine those units are loaded into (``wasm2py.llvm.units.UnitEngine``)
        self._unit_engine: UnitEngine | None = None
        self._lock = threading.Lock()
        if self.config.tier == "llvm" and self.config.llvm_isolated:
            try:
                from .llvm.worker import pool
            except ImportError:  # no llvmlite: Module() says so
                pass
            else:
                pool().prestart()  # it warms up while the first module is decoded
        #: the epoch counter and its stores' deadlines (``Config.epoch_interruption``)
        self.epoch_clock = EpochClock()

    def increment_epoch(self) -> None:
        """Advance the epoch by one: code running in a store of this engine whose deadline
        (:meth:`Store.set_epoch_deadline`) it reaches traps with ``TrapCode.INTERRUPT`` at its
        next function entry or loop iteration. Safe to call from any thread (a watchdog or
        timer) while wasm code runs; does nothing useful unless the engine was made with
        ``Config(epoch_interruption=True)``."""
        self.epoch_clock.increment()

    def load(self, wasm: bytes):
        """Decode and validate ``wasm`` (as ``Config.compilation_mode`` says), or take it
        from a cache.

        Returns:
            (decoded module, its Python-tier :class:`~wasm2py.translate.module.ModuleCode`,
            which translates functions as they are first called).

        Raises:
            DecodeError, ValidationError: the module is malformed or invalid.
        """
        config = self.config
        key = cache.entry_key(wasm, config.translation_key())
        with self._lock:
            hit = self._memory.get(key)
        if hit is not None:
            return hit
        from .binary.decoder import decode_module
        from .translate.module import ModuleCode
        from .validate.validator import FunctionValidator, validate_module

        features = config.features()
        module = decode_module(wasm, features, check_bodies=False)
        known = config.cache and cache.is_validated(wasm, features)
        validator = None
        if config.compilation_mode == "lazy":
            if not known:
                # checks the module-level rules now
                validator = FunctionValidator(module, features)
        elif not known:
            scan = _facts_scan(module, config)
            validate_module(module, features, on_body=None if scan is None else scan.add)
            if scan is not None:
                scan.finish()
            if config.cache:
                cache.mark_validated(wasm, features)
        log = cache.FunctionLog(key) if config.cache else None
        code = ModuleCode(module, config, log, validator)
        if config.compilation_mode == "eager" and config.tier != "llvm":
            code.translate_all()
        result = (module, code)
        with self._lock:
            result = self._memory.setdefault(key, result)
        return result

    def compiled_code(self, module) -> dict[str, tuple[str, bytes]]:
        """What this engine has compiled for ``module`` (an embedder's
        :class:`~wasm2py.Module`), as ``{tier: (key, code)}``: ``"python"`` (the translated
        functions: every one, translated now if need be, unless the engine's tier is
        ``"llvm"``, which runs no Python code; then those translated so far) and ``"llvm"``
        (machine code, if the LLVM tier compiled the module), each with the key that says which
        options, sources and host it is valid for. See :meth:`adopt`."""
        out: dict[str, tuple[str, bytes]] = {}
        raw = module._module.raw
        code = module._code
        if self.config.tier != "llvm":
            # a serialized module holds its whole translation, as an ahead-of-time file does
            code.translate_all()
        out["python"] = (cache.entry_key(raw, self.config.translation_key()), code.to_bytes())
        llvm_code = module._llvm
        if llvm_code is None and self.has_llvm(module._module):
            llvm_code = self.load_llvm(module._module)
        if llvm_code is not None:
            out["llvm"] = (self._llvm_key(module._module, llvm_code.opt_level,
                                          llvm_code.fuel_costs, llvm_code.epoch,
                                          llvm_code.guard, self.config.llvm_resumable),
                           llvm_code.to_bytes())  # fmt: skip
        return out

    def adopt(self, decoded, code: dict[str, tuple[str, bytes]]) -> None:
        """Take compiled code of ``decoded`` (validated) from a trusted source, as
        :meth:`compiled_code` gave it: what was compiled for this engine's options, this
        wasm2py and this host is used by the next ``Module(engine, decoded.raw)`` instead of
        compiling again; the rest is ignored (it will be compiled when needed)."""
        from .translate.module import ModuleCode

        raw = decoded.raw
        python = code.get("python")
        key = cache.entry_key(raw, self.config.translation_key())
        with self._lock:
            known = key in self._memory
        if not known:
            # validated where it was serialized: no validator; functions the bytes lack are
            # translated on first call (and logged to the disk cache as usual)
            log = cache.FunctionLog(key) if self.config.cache else None
            module_code = ModuleCode(decoded, self.config, log)
            if python is not None and python[0] == key:
                module_code.add_translations(python[1])
            if self.config.compilation_mode == "eager" and self.config.tier != "llvm":
                module_code.translate_all()
            with self._lock:
                self._memory.setdefault(key, (decoded, module_code))
        llvm_code = code.get("llvm")
        config = self.config
        costs = config.fuel_costs if config.consume_fuel else None
        level, epoch = self.llvm_level(decoded), config.epoch_interruption
        if llvm_code is None:
            return
        from .llvm.guard import guard_mode
        from .llvm.jit import load_compiled

        guard = guard_mode(None if config.llvm_guard_pages else False, costs)
        if llvm_code[0] == self._llvm_key(decoded, level, costs, epoch, guard,
                                          config.llvm_resumable):  # fmt: skip
            from concurrent.futures import Future

            compiled = load_compiled(decoded, llvm_code[1], level, costs, epoch, guard)
            compiled.resumable = config.llvm_resumable
            fut: Future = Future()
            fut.set_result(compiled)
            with self._lock:
                self._llvm.setdefault((cache.wasm_digest(raw), level, guard), fut)

    @staticmethod
    def _llvm_key(decoded, level: int, costs, epoch: bool, guard: bool,
                  resumable: bool) -> str:  # fmt: skip
        """The key of an LLVM compilation of ``decoded`` with these options on this host (see
        ``jit.cache_key``)."""
        from .llvm.jit import cache_key, host_target_machine

        return cache_key(decoded, level, host_target_machine(level), costs, epoch, guard,
                         resumable) or ""  # fmt: skip

    def has_llvm(self, module) -> bool:
        """Whether :meth:`load_llvm` has the module compiled in memory already."""
        if not self._llvm:
            # (the usual answer, for tier-up's first hot function: without the key, whose
            # level needs a fact of every body of the module)
            return False
        key = (cache.wasm_digest(module.raw), self.llvm_level(module), self._guard(None))
        with self._lock:
            fut = self._llvm.get(key)
        return fut is not None and fut.done() and fut.exception() is None

    def llvm_level(self, module) -> int:
        """The pipeline :meth:`load_llvm` compiles a decoded module with by default:
        ``Config.llvm_opt_level``, or a cheap one (level 0, or quick) for a module with more
        code than ``Config.llvm_quick_bytes`` (see ``wasm2py.llvm.jit.cold_level``)."""
        config = self.config
        if config.llvm_quick_bytes is None or not module.raw:
            return config.llvm_opt_level
        try:
            from .llvm.jit import cold_level
        except ImportError:  # no llvmlite: nothing is compiled anyway
            return config.llvm_opt_level
        return cold_level(module, config.llvm_opt_level, config.llvm_quick_bytes)

    def _guard(self, guard: bool | None) -> bool:
        """The guard-page mode of a compile (``guard`` None: ``Config.llvm_guard_pages`` where
        the host has it; see ``wasm2py.llvm.guard.guard_mode``)."""
        config = self.config
        costs = config.fuel_costs if config.consume_fuel else None
        if guard is None and not config.llvm_guard_pages:
            guard = False
        try:
            from .llvm.guard import guard_mode  # (no LLVM: a cold tier="auto" instance asks)
        except ImportError:  # no llvmlite: nothing is compiled anyway
            return False
        return guard_mode(guard, costs)

    def load_llvm(self, module, opt_level: int | None = None, cache_dir=None,
                  name: str | None = None, objects=None, guard: bool | None = None):  # fmt: skip
        """The LLVM tier's compilation of a decoded, validated module (``wasm2py.llvm``),
        made once per engine (concurrent callers wait for the first) and, with
        ``Config.cache``, kept as machine code in the on-disk cache (``cache_dir``: another
        directory of machine code to read and write). With ``Config.llvm_isolated`` LLVM runs
        in a worker process (:mod:`wasm2py.llvm.worker`). ``name``: the module's name for
        errors; ``objects``: machine code compiled already (``jit.compile_objects``, with the
        same ``guard``); ``guard``: False for explicit bounds checks whatever
        ``Config.llvm_guard_pages`` says (an instance whose memory has no guard reservation).

        Raises:
            UnsupportedFeature: the module uses something the LLVM tier does not implement.
            CompileError: LLVM crashed in its worker process (``Config.llvm_isolated``).
            ImportError: llvmlite (a dependency of wasm2py) is missing or broken.
        """
        level = self.llvm_level(module) if opt_level is None else opt_level
        # fuel metering is compiled in, with the same costs as the Python tier's code
        costs = self.config.fuel_costs if self.config.consume_fuel else None
        epoch = self.config.epoch_interruption
        guard = self._guard(guard)
        from concurrent.futures import Future

        key = (cache.wasm_digest(module.raw), level, guard)
        with self._lock:
            found = self._llvm.get(key)
            owner = found is None
            fut: Future = Future() if found is None else found
            if owner:
                self._llvm[key] = fut
        if not owner:
            return fut.result()
        try:
            from .llvm.jit import compile_module

            directory = cache_dir
            if directory is None and self.config.cache:
                directory = cache.cache_dir()
            fut.set_result(compile_module(module, level, cache_dir=directory, fuel_costs=costs,
                                          isolated=self.config.llvm_isolated, epoch=epoch,
                                          module_name=name, objects=objects,
                                          guard=guard,
                                          resumable=self.config.llvm_resumable))  # fmt: skip
        except BaseException as e:
            fut.set_exception(e)
            with self._lock:
                self._llvm.pop(key, None)  # a later call tries again
            raise
        return fut.result()

    def load_unit(self, module, funcs, shell: bool = False, name: str | None = None,
                  cached_only: bool = False, opt_level: int | None = None,
                  facts=None, guard: bool | None = None):  # fmt: skip
        """A compilation unit of some functions of a decoded, validated module
        (:mod:`wasm2py.llvm.units`; ``shell``: the trampolines), compiled in a worker process
        with this engine's options, loaded once per engine and, with ``Config.cache``, kept
        in the machine-code cache. ``cached_only``: only load it from memory or the cache
        (None if it is in neither). ``opt_level``: instead of ``Config.llvm_opt_level``
        (e.g. ``wasm2py.llvm.jit.QUICK``). ``facts``: the module's
        :func:`wasm2py.llvm.facts.body_facts`, if the caller has them (else the bodies of
        ``funcs`` are decoded here, and the worker finds the module's pausable functions: a
        pass over every body of the module). ``guard``: guard-page mode (None: as for
        :meth:`load_llvm`; False: explicit bounds checks, for an instance with a memory that
        has no guard reservation).

        Raises:
            UnsupportedFeature, CompileError: as for :meth:`load_llvm`.
        """
        from .llvm.units import UnitEngine, compile_unit, unit_key

        level = self.config.llvm_opt_level if opt_level is None else opt_level
        costs = self.config.fuel_costs if self.config.consume_fuel else None
        epoch = self.config.epoch_interruption
        guard = self._guard(guard)
        resumable = self.config.llvm_resumable
        key = unit_key(module, funcs, shell, level, costs, epoch=epoch, guard=guard,
                       resumable=resumable)  # fmt: skip
        with self._lock:
            unit = self._units.get(key)
        if unit is not None:
            return unit
        directory = cache.cache_dir() if self.config.cache else None
        if cached_only and directory is None:
            return None
        with self._lock:
            if self._unit_engine is None:
                self._unit_engine = UnitEngine()
            into = self._unit_engine
        unit = compile_unit(module, funcs, shell, level, costs, True, directory, name,
                            cached_only, epoch, facts, into, guard, resumable)  # fmt: skip
        if unit is not None:
            with self._lock:
                unit = self._units.setdefault(key, unit)
        return unit


def _facts_scan(module, config: Config):
    """What the validator of a cold load hands every body to for the LLVM tiers
    (``wasm2py.llvm.facts.FactsScan``: the facts a compile needs of every body, without a
    decode of the whole module of their own); None for the Python tier or without llvmlite."""
    if config.tier == "python" or not module.raw:
        return None
    try:
        from .llvm.facts import FactsScan
    except ImportError:  # no llvmlite: nothing is compiled anyway
        return None
    return FactsScan(module)
