"""wasm2py: a WebAssembly runtime for Python.

Modules are decoded, validated and translated to Python code; the embedding API follows
wasmtime-py's vocabulary::

    import wasm2py
    store = wasm2py.Store()
    module = wasm2py.Module.from_file(store.engine, "add.wasm")
    instance = wasm2py.Instance(store, module, {})
    instance.exports.add(1, 2)

Names are loaded on first use, so that ``import wasm2py.runtime`` (all that ahead-of-time
compiled modules need) does not load the decoder, the validator or the translator.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Config": "config", "FuelCosts": "config", "Engine": "engine",
    "BuildError": "errors", "CompileError": "errors", "DecodeError": "errors",
    "DylinkError": "errors", "Error": "errors", "InstantiationError": "errors",
    "UndefinedSymbol": "errors",
    "LinkError": "errors", "Trap": "errors", "TrapCode": "errors",
    "UnsupportedFeature": "errors", "ValidationError": "errors",
    "Global": "externs", "Memory": "externs", "Table": "externs",
    "Exports": "instance", "Instance": "instance", "Linker": "linker",
    "ExportType": "types", "ImportType": "types", "Module": "module",
    "Caller": "runtime.func", "Func": "runtime.func",
    "Finished": "runtime.resumable", "HostTrap": "runtime.resumable",
    "OutOfFuel": "runtime.resumable", "ResumableCall": "runtime.resumable",
    "Store": "runtime.store",
    "f32_from_bits": "runtime.values", "f32_to_bits": "runtime.values",
    "f64_from_bits": "runtime.values", "f64_to_bits": "runtime.values",
    "FuncType": "types", "GlobalType": "types", "Limits": "types", "MemoryType": "types",
    "TableType": "types", "ValType": "types",
    "compile": "aot", "install_import_hook": "hook", "uninstall_import_hook": "hook",
}  # fmt: skip

#: value-type shorthands for annotating host functions: ``def f(x: i32) -> i64``
_VALTYPE_ALIASES = {"i32": "I32", "i64": "I64", "f32": "F32", "f64": "F64",
                    "funcref": "FUNCREF", "externref": "EXTERNREF"}  # fmt: skip

__all__ = sorted([*_EXPORTS, *_VALTYPE_ALIASES, "__version__"])


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is not None:
        value = getattr(importlib.import_module(f"{__name__}.{target}"), name)
    elif name in _VALTYPE_ALIASES:
        from .types import ValType

        value = ValType[_VALTYPE_ALIASES[name]]
    else:
        raise AttributeError(f"module 'wasm2py' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
