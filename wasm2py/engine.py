"""The engine: configuration plus the caches of translations (in memory and on disk)."""

from __future__ import annotations

import dataclasses
import threading

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
        self._lock = threading.Lock()

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
