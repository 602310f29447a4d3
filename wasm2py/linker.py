"""The :class:`Linker`: a registry of named items to satisfy imports with."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import LinkError
from .instance import Instance
from .runtime.func import Func
from .types import FuncType

if TYPE_CHECKING:
    from .engine import Engine
    from .module import Module
    from .runtime.store import Store


class Linker:
    """Resolves imports by (module, name).

    Args:
        engine: the engine modules linked here were compiled with (informational).
    """

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self._items: dict[tuple[str, str], object] = {}
        #: allow redefining a name (otherwise a LinkError)
        self.allow_shadowing = False

    def define(self, store: Store | None, module: str, name: str, item: Any) -> None:
        """Define ``module.name`` as ``item`` (Func, Memory, Table or Global).

        Raises:
            LinkError: the name is already defined and shadowing is off.
        """
        key = (module, name)
        if key in self._items and not self.allow_shadowing:
            raise LinkError(f"{module!r} {name!r} is already defined")
        self._items[key] = item

    def define_func(self, store: Store, module: str, name: str, ftype: FuncType,
                    fn: Callable) -> Func:  # fmt: skip
        """Define a host function; returns its :class:`Func`."""
        f = Func(store, ftype, fn)
        self.define(store, module, name, f)
        return f

    def define_instance(self, store: Store | None, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` under module name ``name``."""
        for export, item in instance.exports.items():
            self.define(store, name, export, item)

    def get(self, store: Store | None, module: str, name: str) -> Any:
        """The item defined as ``module.name``, or None."""
        return self._items.get((module, name))

    def instantiate(self, store: Store, module: Module) -> Instance:
        """Instantiate ``module`` with its imports taken from this linker.

        Raises:
            LinkError: an import is not defined or has the wrong type.
            Trap: initialisation or the start function trapped.
        """
        values = []
        for imp in module.imports:
            item = self._items.get((imp.module, imp.name))
            if item is None:
                raise LinkError(f"unknown import: {imp.module!r} {imp.name!r} is not defined")
            values.append(item)
        return Instance(store, module, values)
