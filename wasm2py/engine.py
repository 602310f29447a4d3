"""The engine: configuration plus the in-memory cache of translations."""

from __future__ import annotations

import hashlib
import threading

from .config import Config


class Engine:
    """Compiles modules according to a :class:`Config` and caches the translations in memory,
    so creating a :class:`~wasm2py.Module` twice from the same bytes translates once.

    Args:
        config: the configuration (default: ``Config()``).
    """

    def __init__(self, config: Config | None = None):
        self.config = config if config is not None else Config()
        self._cache: dict[bytes, object] = {}
        self._lock = threading.Lock()

    def compiled(self, module) -> object:
        """The Python-tier translation of a decoded, validated module (cached)."""
        key = hashlib.sha256(module.raw).digest() + self.config.translation_key()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        from .translate.module import compile_module

        compiled = compile_module(module, self.config)
        with self._lock:
            self._cache.setdefault(key, compiled)
        return compiled
