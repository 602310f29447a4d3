"""wasmtime-py's ``Instance`` over :class:`wasm2py.Instance`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..instance import Instance as _NativeInstance
from ._errors import boundary
from ._extern import AsExtern, extern_native, wrap_extern
from ._module import Module
from ._store import native_store


class Instance:
    """An instantiated module (wasmtime-py's ``Instance``): ``Instance(store, module,
    imports)`` with one extern per import, in order.

    Raises:
        WasmtimeError: an import is missing or of the wrong type.
        Trap: the start function trapped.
    """

    __slots__ = ("_native", "_exports")

    def __init__(self, store: Any, module: Module, imports: Sequence[AsExtern]):
        native = native_store(store)
        mod = module._native
        values = [extern_native(item) for item in imports]
        with boundary():
            self._setup(_NativeInstance(native, mod, values))

    def _setup(self, native: _NativeInstance) -> None:
        self._native = native
        self._exports: InstanceExports | None = None

    @classmethod
    def _wrap(cls, native: _NativeInstance) -> Instance:
        self = cls.__new__(cls)
        self._setup(native)
        return self

    def exports(self, store: Any) -> InstanceExports:
        """The instance's exports: a mapping by name, and ``by_index`` in export order."""
        if self._exports is None:
            self._exports = InstanceExports(self._native)
        return self._exports


class InstanceExports(Mapping[str, AsExtern]):
    """An instance's exports by name (and in order: :attr:`by_index`)."""

    def __init__(self, native: _NativeInstance):
        self._map = {name: wrap_extern(item) for name, item in native.exports.items()}
        self._seq = tuple(self._map.values())

    @property
    def by_index(self) -> Sequence[AsExtern]:
        """The exports in the module's export order."""
        return self._seq

    def __getitem__(self, name: str) -> AsExtern:
        return self._map[name]

    def __len__(self) -> int:
        return len(self._seq)

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)
