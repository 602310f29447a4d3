"""The engine: configuration plus the caches of what loading made (in memory and on disk)."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future

from . import cache
from .config import Config


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
        self._lock = threading.Lock()
        if self.config.tier == "llvm" and self.config.llvm_isolated:
            try:
                from .llvm.worker import pool
            except ImportError:  # no llvmlite: Module() says so
                pass
            else:
                pool().prestart()  # it warms up while the first module is decoded

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

        module = decode_module(wasm, check_bodies=False)
        known = config.cache and cache.is_validated(wasm)
        validator = None
        if config.compilation_mode == "lazy":
            if not known:
                validator = FunctionValidator(module)  # checks the module-level rules now
        elif not known:
            validate_module(module)
            if config.cache:
                cache.mark_validated(wasm)
        log = cache.FunctionLog(key) if config.cache else None
        code = ModuleCode(module, config, log, validator)
        if config.compilation_mode == "eager" and config.tier != "llvm":
            code.translate_all()
        result = (module, code)
        with self._lock:
            result = self._memory.setdefault(key, result)
        return result

    def has_llvm(self, module) -> bool:
        """Whether :meth:`load_llvm` has the module compiled in memory already."""
        key = (hashlib.sha256(module.raw).digest(), self.config.llvm_opt_level)
        with self._lock:
            fut = self._llvm.get(key)
        return fut is not None and fut.done() and fut.exception() is None

    def load_llvm(self, module, opt_level: int | None = None, cache_dir=None,
                  name: str | None = None, objects=None):  # fmt: skip
        """The LLVM tier's compilation of a decoded, validated module (``wasm2py.llvm``),
        made once per engine (concurrent callers wait for the first) and, with
        ``Config.cache``, kept as machine code in the on-disk cache (``cache_dir``: another
        directory of machine code to read and write). With ``Config.llvm_isolated`` LLVM runs
        in a worker process (:mod:`wasm2py.llvm.worker`). ``name``: the module's name for
        errors; ``objects``: machine code compiled already (``jit.compile_objects``).

        Raises:
            UnsupportedFeature: the module uses something the LLVM tier does not implement.
            CompileError: LLVM crashed in its worker process (``Config.llvm_isolated``).
            ImportError: llvmlite is not installed (``pip install 'wasm2py[llvm]'``).
        """
        level = self.config.llvm_opt_level if opt_level is None else opt_level
        # fuel metering is compiled in, with the same costs as the Python tier's code
        costs = self.config.fuel_costs if self.config.consume_fuel else None
        key = (hashlib.sha256(module.raw).digest(), level)
        with self._lock:
            fut = self._llvm.get(key)
            owner = fut is None
            if owner:
                fut = self._llvm[key] = Future()
        if not owner:
            return fut.result()
        try:
            from .llvm.jit import compile_module

            directory = cache_dir
            if directory is None and self.config.cache:
                directory = cache.cache_dir()
            fut.set_result(compile_module(module, level, cache_dir=directory, fuel_costs=costs,
                                          isolated=self.config.llvm_isolated,
                                          module_name=name, objects=objects))  # fmt: skip
        except BaseException as e:
            fut.set_exception(e)
            with self._lock:
                self._llvm.pop(key, None)  # a later call tries again
            raise
        return fut.result()

    def load_unit(self, module, funcs, shell: bool = False, name: str | None = None,
                  cached_only: bool = False, opt_level: int | None = None):  # fmt: skip
        """A compilation unit of some functions of a decoded, validated module
        (:mod:`wasm2py.llvm.units`; ``shell``: the trampolines), compiled in a worker process
        with this engine's options, loaded once per engine and, with ``Config.cache``, kept
        in the machine-code cache. ``cached_only``: only load it from memory or the cache
        (None if it is in neither). ``opt_level``: instead of ``Config.llvm_opt_level``
        (e.g. ``wasm2py.llvm.jit.QUICK``).

        Raises:
            UnsupportedFeature, CompileError: as for :meth:`load_llvm`.
        """
        from .llvm.jit import host_target_machine
        from .llvm.units import compile_unit, unit_key

        level = self.config.llvm_opt_level if opt_level is None else opt_level
        costs = self.config.fuel_costs if self.config.consume_fuel else None
        key = unit_key(module, funcs, shell, level, costs, host_target_machine(level))
        with self._lock:
            unit = self._units.get(key)
        if unit is not None:
            return unit
        directory = cache.cache_dir() if self.config.cache else None
        if cached_only and directory is None:
            return None
        unit = compile_unit(module, funcs, shell, level, costs, True, directory, name,
                            cached_only)  # fmt: skip
        if unit is not None:
            with self._lock:
                unit = self._units.setdefault(key, unit)
        return unit
