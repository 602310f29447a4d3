"""An import hook: ``import m`` finds ``m.wasm`` (or ``m.wat``, the text format) on
``sys.path`` and loads it through the translation cache.

``import wasm2py.hook`` (or :func:`install_import_hook`) installs it. Importing gives a module
definition — nothing is instantiated at import time and there is no global store::

    import wasm2py.hook
    import demo                       # demo.wasm somewhere on sys.path
    inst = demo.instantiate({"env": {"log": print}})
    inst.exports.fib(10)

The Python module has ``instantiate(imports=None, *, store=None, **limits)``, ``module`` (the
:class:`wasm2py.Module`), and ``IMPORTS``/``EXPORTS`` (the signatures as data). A ``.py`` or
package of the same name wins, since the hook runs after Python's own finders.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path


class WasmLoader(importlib.abc.Loader):
    """Loads one ``.wasm`` (or ``.wat``) file as a Python module."""

    def __init__(self, path: Path):
        self.path = path

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module) -> None:
        from .config import Config
        from .engine import Engine
        from .instance import Instance
        from .module import Module
        from .runtime.store import Store

        wasm = Module.from_file(Engine(), self.path)

        def instantiate(imports=None, *, store=None, **limits):
            """Instantiate the module (``limits``: Config settings for a new store)."""
            if store is None:
                store = Store(Engine(Config(**limits)))
            elif limits:
                raise ValueError("pass either a store or limits for a new one, not both")
            compiled = wasm
            if store.engine.config != wasm.engine.config:  # e.g. fuel: another translation
                compiled = Module(store.engine, self.path.read_bytes())
            return Instance(store, compiled, imports)

        module.module = wasm
        module.instantiate = instantiate
        module.IMPORTS = [(i.module, i.name, i.type) for i in wasm.imports]
        module.EXPORTS = [(e.name, e.type) for e in wasm.exports]
        module.__doc__ = f"WebAssembly module {self.path.name} (loaded by wasm2py's import hook)"


class WasmFinder(importlib.abc.MetaPathFinder):
    """Finds ``<name>.wasm``, else ``<name>.wat``, in the directories of the import path."""

    def find_spec(self, fullname, path=None, target=None):
        name = fullname.rpartition(".")[2]
        for entry in path if path is not None else sys.path:
            for suffix in (".wasm", ".wat"):
                candidate = Path(entry or ".") / f"{name}{suffix}"
                try:
                    if candidate.is_file():
                        return importlib.util.spec_from_loader(
                            fullname, WasmLoader(candidate), origin=str(candidate)
                        )
                except OSError:
                    continue
        return None


_FINDER = WasmFinder()


def install_import_hook() -> None:
    """Let ``import m`` load ``m.wasm`` from ``sys.path`` (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)


def uninstall_import_hook() -> None:
    """Remove the import hook."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


install_import_hook()
