"""The engine: configuration plus the caches of translations (in memory and on disk)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from concurrent.futures import Future

from . import cache
from .config import Config


class Engine:
    """Compiles modules according to a :class:`Config` and caches the translations, so creating
    a :class:`~wasm2py.Module` twice from the same bytes translates once: in memory for this
    engine, and on disk (see :mod:`wasm2py.cache`) across processes when ``Config.cache``.

    Args:
        config: the configuration (default: ``Config()``).
    """

    def __init__(self, config: Config | None = None):
        self.config = config if config is not None else Config()
        self._memory: dict[str, tuple] = {}
        self._llvm: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        if self.config.tier == "llvm" and self.config.llvm_isolated:
            try:
                from .llvm.worker import pool
            except ImportError:  # no llvmlite: Module() says so
                pass
            else:
                pool().prestart()  # it warms up while the first module is decoded

    def load(self, wasm: bytes):
        """Decode, validate and translate ``wasm`` (or fetch the result from a cache).

        Returns:
            (decoded module, compiled translation).

        Raises:
            DecodeError, ValidationError: the module is malformed or invalid.
        """
        key = cache.entry_key(wasm, self.config.translation_key())
        with self._lock:
            hit = self._memory.get(key)
        if hit is not None:
            return hit
        from .translate.module import CompiledModule

        entry = cache.load(key) if self.config.cache else None
        if entry is not None:
            module = entry.module
            module.raw = wasm
            result = (module, CompiledModule(entry.code, entry.func_names, entry.filename,
                                             self.config))  # fmt: skip
        else:
            from .binary.decoder import decode_module
            from .translate.module import compile_module
            from .validate.validator import validate_module

            module = decode_module(wasm)
            validate_module(module)
            compiled = compile_module(module, self.config)
            if self.config.cache:
                # function bodies are not needed to instantiate; resuming re-decodes them
                lean = dataclasses.replace(module, codes=[], raw=b"")
                cache.store(key, cache.Entry(lean, compiled.code, compiled.func_names,
                                             compiled.filename))  # fmt: skip
            result = (module, compiled)
        with self._lock:
            self._memory.setdefault(key, result)
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
