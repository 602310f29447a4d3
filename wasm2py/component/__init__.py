"""The WebAssembly component model: components, the canonical ABI, resources and async.

The embedding API (names load on first use)::

    from wasm2py import Engine, Store
    from wasm2py.component import Component, Linker

    engine = Engine()
    component = Component(engine, wasm_bytes)
    linker = Linker(engine)
    linker.define_func("log", print)
    instance = linker.instantiate(Store(engine), component)
    instance.exports["run"]()

Values cross the boundary in the Python forms of :mod:`wasm2py.component.values`. The package
is laid out by concept: :mod:`.binary` (decoding), :mod:`.types`, :mod:`.validate`,
:mod:`.abi` and :mod:`.canonical` (the canonical ABI), :mod:`.handles` (handle tables),
:mod:`.tasks`, :mod:`.streams` and :mod:`.builtins` (async), :mod:`.instantiate`, :mod:`.api`
and :mod:`.bindgen` (typed Python bindings).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Component": "component", "Linker": "api", "LinkerInstance": "api", "Instance": "api",
    "Exports": "api", "ExportedFunc": "api", "Resource": "api",
    "Variant": "values", "Ok": "values", "Err": "values", "Some": "values",
    "ErrorContext": "values",
    "decode_component": "binary", "is_component": "binary",
    "validate_component": "validate",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'wasm2py.component' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{target}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
