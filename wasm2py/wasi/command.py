"""Instantiating and running WASI modules: commands (``_start``) and reactors (``_initialize``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from ..errors import LinkError
from ..instance import Instance
from ..module import Module
from ..runtime.store import Store
from .config import WasiConfig
from .preview1 import PREVIEW1, UNSTABLE, Wasi, WasiExit


def _as_module(module, store: Store) -> Module:
    if isinstance(module, Module):
        return module
    if isinstance(module, bytes | bytearray | memoryview):
        return Module(store.engine, bytes(module))
    if isinstance(module, str | os.PathLike):
        return Module.from_file(store.engine, module)
    raise TypeError("module must be a Module, bytes or a path")


def instantiate(store: Store, module: Module, wasi: Wasi,
                imports: Mapping[str, Mapping[str, object]] | None = None) -> Instance:  # fmt: skip
    """Instantiate ``module`` with its WASI imports from ``wasi`` and the rest from ``imports``.

    Does not run ``_start`` or ``_initialize`` (the wasm start function, if any, does run).

    Raises:
        LinkError: the module imports a WASI function that does not exist, or something
            neither WASI nor ``imports`` provides.
        Trap: the start function trapped.
    """
    provided: dict[str, dict[str, object]] = dict(wasi.imports(store, module))  # type: ignore[arg-type]
    extra = imports or {}
    for imp in module.imports:
        if imp.module in (PREVIEW1, UNSTABLE):
            if imp.name not in provided.get(imp.module, {}):
                raise LinkError(f"unknown WASI function {imp.module}.{imp.name}")
        elif imp.name not in extra.get(imp.module, {}):
            raise LinkError(f"unknown import: {imp.module!r} {imp.name!r}")
        else:
            provided.setdefault(imp.module, {})[imp.name] = extra[imp.module][imp.name]
    return Instance(store, module, provided)


def is_wasi(module: Module) -> bool:
    """Whether the module imports anything from a WASI namespace."""
    return any(imp.module in (PREVIEW1, UNSTABLE) for imp in module.imports)


def call_entry(instance: Instance, name: str = "_start") -> int:
    """Call a command's entry point; returns the exit status (0 if it simply returned).

    Raises:
        Trap: the program trapped.
    """
    try:
        instance.exports[name]()
    except WasiExit as e:
        return e.code
    return 0


def run(module, config: WasiConfig | None = None, store: Store | None = None,
        imports: Mapping[str, Mapping[str, object]] | None = None) -> int:  # fmt: skip
    """Run a WASI program to completion and return its exit status.

    A command (exporting ``_start``) runs ``_start``; a reactor (exporting ``_initialize``)
    runs ``_initialize``. ``proc_exit(n)`` ends the run with status ``n``.

    Args:
        module: a :class:`~wasm2py.Module`, the module's bytes, or a path to a ``.wasm`` file.
        config: the program's :class:`WasiConfig` (default: no arguments, no environment, no
            preopens, inherited stdio).
        store: the :class:`~wasm2py.Store` to instantiate in (default: a new one).
        imports: more imports, ``{module: {name: item}}``, for what WASI does not provide.

    Raises:
        Trap: the program trapped (the exit status is then the embedder's choice).
        LinkError: an import could not be satisfied.
        OSError: a preopen or stdio path could not be opened.
    """
    store = store if store is not None else Store()
    module = _as_module(module, store)
    if config is None or config.stdout is None or config.stderr is None:
        sys.stdout.flush()
        sys.stderr.flush()
    with Wasi(config) as wasi:
        try:
            instance = instantiate(store, module, wasi, imports)
        except WasiExit as e:  # proc_exit from the start function
            return e.code
        exports = instance.exports
        if "_start" in exports:
            return call_entry(instance, "_start")
        if "_initialize" in exports:
            return call_entry(instance, "_initialize")
        return 0
