"""wasmtime-py's ``Linker`` and ``InstancePre``: names to satisfy imports with, some bound to a
store (externs), some made per store when a module is instantiated (``define_func``,
``define_wasi``, ``define_unknown_imports_as_*``)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ..binary.module import ExternKind
from ..wasi.preview1 import PREVIEW1, SIGNATURES, UNSTABLE
from ._config import Engine, _Closable
from ._errors import Trap, WasmtimeError
from ._extern import AsExtern, Global, Memory, SharedMemory, Table, Tag
from ._func import Func
from ._instance import Instance
from ._module import Module
from ._store import Store, native_store
from ._types import FuncType, ValType


class _PerStore:
    """A definition that makes its extern in the store that instantiates (once per store)."""

    def __init__(self, make: Callable[[Store], AsExtern]):
        self.make = make
        self.made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, store: Store) -> AsExtern:
        item = self.made.get(store)
        if item is None:
            item = self.made[store] = self.make(store)
        return item


class _WasiFunc(_PerStore):
    """A WASI function: made from the store's current WASI context (``Store.set_wasi``)."""

    def __init__(self, name: str, namespace: str):
        super().__init__(lambda store: self._make(store, name, namespace))

    @staticmethod
    def _make(store: Store, name: str, namespace: str) -> AsExtern:
        wasi = store._wasi
        if wasi is None:
            raise WasmtimeError("the store has no WASI context: call store.set_wasi(WasiConfig())"
                                " before instantiating a module that imports WASI")  # fmt: skip
        return Func._wrap(wasi.func(store._context(), name, namespace))

    def get(self, store: Store) -> AsExtern:
        return self.make(store)  # not kept: set_wasi may give the store another context


def _per_store_func(ty: Any, func: Callable[..., Any]) -> _PerStore:
    return _PerStore(lambda store: Func(store, ty, func))


def _default(t: ValType) -> Any:
    return None if t.is_ref else 0.0 if t in (ValType.F32, ValType.F64) else 0


def _owner(store: Any) -> Store:
    """The wasmtime-py store of a storelike."""
    owner = native_store(store).data
    if not isinstance(owner, Store):
        raise TypeError("expected a Store")
    return owner


class Linker(_Closable):
    """Defines items by ``(module, name)`` and instantiates modules with them (wasmtime-py's
    ``Linker``): ``Linker(engine)``.

    Attributes:
        allow_shadowing: whether a name may be defined again (default False).
    """

    def __init__(self, engine: Engine):
        engine._native  # noqa: B018 - an engine is required (AttributeError otherwise)
        #: the engine
        self.engine = engine
        self.allow_shadowing = False
        self._items: dict[tuple[str, str], Any] = {}

    def _define(self, module: str, name: str, item: Any) -> None:
        module.encode("utf-8")  # names are str (AttributeError otherwise, as in wasmtime-py)
        name.encode("utf-8")
        key = (module, name)
        if key in self._items and not self.allow_shadowing:
            raise WasmtimeError(f"import of `{module}::{name}` defined twice")
        self._items[key] = item

    def define(self, store: Any, module: str, name: str, item: AsExtern) -> None:
        """Define ``module.name`` as an extern (Func, Memory, Table or Global)."""
        if not isinstance(item, Func | Memory | Table | Global | SharedMemory | Tag):
            raise TypeError("expected an external item (Func, Memory, Table, Global)")
        self._define(module, name, item)

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable[..., Any],
                    access_caller: bool = False) -> None:  # fmt: skip
        """Define a host function; each store that instantiates gets its own ``Func``."""
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        self._define(module, name, _PerStore(lambda s: Func(s, ty, func, access_caller)))

    def define_instance(self, store: Any, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` under module name ``name``."""
        if not isinstance(instance, Instance):
            raise TypeError("expected an `Instance`")
        exports = instance.exports(store)
        for export in exports:
            key = (name, export)
            if key in self._items and not self.allow_shadowing:
                raise WasmtimeError(f"import of `{name}::{export}` defined twice")
        for export, item in exports.items():
            self._define(name, export, item)

    def define_wasi(self) -> None:
        """Define the WASI preview1 functions (``wasi_snapshot_preview1`` and
        ``wasi_unstable``); they act on the WASI context of the instantiating store
        (``Store.set_wasi``)."""
        for namespace in (PREVIEW1, UNSTABLE):
            for fname in SIGNATURES:
                if namespace == UNSTABLE and fname == "sock_accept":
                    continue
                self._define(namespace, fname, _WasiFunc(fname, namespace))

    def define_module(self, store: Any, name: str, module: Module) -> None:
        """Define the exports of ``module`` under ``name``: a command (exporting ``_start``)
        gets a fresh instance for every call of one of its functions; another module is
        instantiated now (running ``_initialize`` if it has one)."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        owner = _owner(store)
        exports = [e.name for e in module.exports]
        if "_start" in exports:
            for e in module.exports:
                if not isinstance(e.type, FuncType):
                    continue
                self._define(name, e.name, self._command_func(owner, module, e.name, e.type))
            return
        instance = self.instantiate(owner, module)
        ex = instance.exports(owner)
        if "_initialize" in ex:
            ex["_initialize"](owner)  # type: ignore[operator]
        self.define_instance(owner, name, instance)

    def _command_func(self, store: Store, module: Module, export: str, ty: FuncType) -> Func:
        def call(*args: Any) -> Any:
            instance = self.instantiate(store, module)
            ex = instance.exports(store)
            if "_initialize" in ex:
                ex["_initialize"](store)  # type: ignore[operator]
            return ex[export](store, *args)  # type: ignore[operator]

        return Func(store, ty, call)

    def _resolve(self, store: Store, module: str, name: str) -> AsExtern | None:
        item = self._items.get((module, name))
        if isinstance(item, _PerStore):
            return item.get(store)
        return item

    def _imports(self, store: Store, module: Module) -> list[Any]:
        values = []
        for imp in module._native._module.imports:
            item = self._resolve(store, imp.module, imp.name)
            if item is None:
                kind = {ExternKind.FUNC: "function", ExternKind.TABLE: "table",
                        ExternKind.MEMORY: "memory", ExternKind.GLOBAL: "global"}.get(imp.kind)  # fmt: skip
                raise WasmtimeError(f"unknown import: `{imp.module}::{imp.name}` has not been "
                                    f"defined ({kind})")  # fmt: skip
            values.append(item)
        return values

    def instantiate(self, store: Any, module: Module) -> Instance:
        """Instantiate ``module`` with its imports taken from this linker.

        Raises:
            WasmtimeError: an import is not defined or has the wrong type.
            Trap: the start function trapped.
        """
        module._native  # noqa: B018 - a module is required (AttributeError otherwise)
        owner = _owner(store)
        return Instance(owner, module, self._imports(owner, module))

    def instantiate_pre(self, module: Module) -> InstancePre:
        """Check ``module`` against this linker once, to instantiate it in many stores."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        return InstancePre(self, module)

    def get_default(self, store: Any, name: str) -> Func:
        """The default export of module ``name`` (its ``""`` or ``_start`` function), or a
        function that does nothing."""
        owner = _owner(store)
        for export in ("", "_start"):
            item = self._resolve(owner, name, export)
            if item is not None:
                if not isinstance(item, Func):
                    raise WasmtimeError(f"default export in '{name}' is not a function")
                return item
        return Func(owner, FuncType([], []), lambda: None)

    def get(self, store: Any, module: str, name: str) -> AsExtern:
        """The item defined as ``module.name`` (``WasmtimeError`` if none)."""
        item = self._resolve(_owner(store), module, name)
        if item is None:
            raise WasmtimeError("item not defined in linker")
        return item

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define every function ``module`` imports and this linker lacks as one that traps."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        for imp in module.imports:
            if (imp.module, imp.name) in self._items or not isinstance(imp.type, FuncType):
                continue
            message = f"unknown import: `{imp.module}::{imp.name}` has not been defined"

            def trap(*args: Any, _message: str = message) -> Any:
                raise Trap(_message)

            self._define(imp.module, imp.name, _per_store_func(imp.type, trap))

    def define_unknown_imports_as_default_values(self, store: Any, module: Module) -> None:
        """Define every function ``module`` imports and this linker lacks as one that returns
        zeros (null for references)."""
        if not isinstance(module, Module):
            raise TypeError("expected a `Module`")
        owner = _owner(store)
        for imp in module.imports:
            t = imp.type
            if (imp.module, imp.name) in self._items or not isinstance(t, FuncType):
                continue
            values = [_default(r) for r in t.results]
            result = None if not values else values[0] if len(values) == 1 else values
            self._define(imp.module, imp.name, Func(owner, t, lambda *a, _r=result: _r))

    def _snapshot(self) -> dict[tuple[str, str], Any]:
        return dict(self._items)


class InstancePre(_Closable):
    """A module checked against a linker, to instantiate in any store (wasmtime-py's
    ``InstancePre``, from :meth:`Linker.instantiate_pre`)."""

    def __init__(self, linker: Linker, module: Module):
        self._linker = Linker(linker.engine)
        self._linker._items = linker._snapshot()
        self._module = module

    @property
    def module(self) -> Module:
        """The module."""
        return self._module

    def instantiate(self, store: Any) -> Instance:
        """A new instance in ``store``."""
        self._check()
        return self._linker.instantiate(store, self._module)

