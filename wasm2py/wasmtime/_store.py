"""wasmtime-py's ``Store`` over :class:`wasm2py.Store`, and how a "storelike" argument (a
store, or a host function's ``Caller``) is resolved."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Union

from ..runtime.store import Store as _NativeStore
from ._config import Engine, _Closable
from ._errors import WasmtimeError

if TYPE_CHECKING:
    from ._func import Caller
    from ._wasi import WasiConfig

#: wasmtime's default count limits (``StoreLimitsBuilder``)
_DEFAULT_COUNT_LIMIT = 10_000


class Store(_Closable):
    """Owns instances, functions, memories, tables and globals (wasmtime-py's ``Store``):
    ``Store()`` or ``Store(engine, data)``."""

    def __init__(self, engine: Engine | None = None, data: Any = None):
        if engine is None:
            engine = Engine()
        elif not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        #: the engine
        self.engine = engine
        self._native = _NativeStore(engine._native)
        self._native.data = self  # the embedder's slot: how a Caller finds this store
        self._data = data
        #: the WASI state of :meth:`set_wasi` (a :class:`wasm2py.wasi.Wasi`)
        self._wasi: Any = None

    def _context(self) -> _NativeStore:
        self._check()
        return self._native

    def data(self) -> Any:
        """The data given to the constructor."""
        return self._data

    def gc(self) -> None:
        """Release externref values no longer referenced (see :meth:`wasm2py.Store.gc`), and run
        Python's cycle collector."""
        self._context().gc()
        gc.collect()

    def set_fuel(self, fuel: int) -> None:
        """Set the fuel left (``Config.consume_fuel`` must be on, else ``WasmtimeError``)."""
        self._context().set_fuel(fuel)

    def get_fuel(self) -> int:
        """The fuel left (``Config.consume_fuel`` must be on, else ``WasmtimeError``)."""
        return self._context().get_fuel()

    def set_wasi(self, wasi: WasiConfig) -> None:
        """Give the store a WASI context made from ``wasi`` (which is used up): what
        ``Linker.define_wasi`` functions act on.

        Raises:
            WasmtimeError: a preopened directory or stdio file cannot be opened.
        """
        native = self._context()
        from ..wasi import Wasi

        config = wasi._consume()
        try:
            new = Wasi(config)
        except (OSError, TypeError) as e:
            raise WasmtimeError(f"failed to set up WASI: {e}") from None
        if self._wasi is not None:
            self._wasi.close()
        self._wasi = new
        del native

    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        """Trap once the engine's epoch has advanced ``ticks_after_current`` more times
        (effective with ``Config.epoch_interruption``)."""
        native = self._context()
        if native.epoch is not None:
            native.set_epoch_deadline(ticks_after_current)

    def set_limits(self, memory_size: int = -1, table_elements: int = -1, instances: int = -1,
                   tables: int = -1, memories: int = -1) -> None:  # fmt: skip
        """Limit the store's resources (see :meth:`wasm2py.Store.set_limits`); a negative
        value means wasmtime's default: no limit for sizes, 10,000 for counts."""

        def size(v: int) -> int | None:
            return None if v < 0 else v

        def count(v: int) -> int:
            return _DEFAULT_COUNT_LIMIT if v < 0 else v

        self._context().set_limits(size(memory_size), size(table_elements), count(instances),
                                   count(tables), count(memories))  # fmt: skip

    def close(self) -> None:
        """Release the store (and close what its WASI context opened)."""
        if self._wasi is not None:
            self._wasi.close()
            self._wasi = None
        super().close()


class StoreContext:
    """A store reached from elsewhere (wasmtime-py's ``StoreContext``); storelike."""

    def __init__(self, store: Store):
        self._store: Store | None = store

    def _context(self) -> _NativeStore:
        if self._store is None:
            raise ValueError("store context is no longer valid")
        return self._store._context()

    def _invalidate(self) -> None:
        self._store = None


Storelike = Union[Store, "Caller", StoreContext]


def native_store(store: Any) -> _NativeStore:
    """The wasm2py store behind a storelike argument (``AttributeError`` for anything else,
    as in wasmtime-py; ``ValueError`` if it was closed or is no longer valid)."""
    return store._context()


def wasi_of(native: _NativeStore) -> Any:
    """The WASI context ``Store.set_wasi`` gave the store of ``native`` (or None)."""
    owner = native.data
    return owner._wasi if isinstance(owner, Store) else None
