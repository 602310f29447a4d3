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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# ruff: noqa: F401 - the imports below only tell type checkers what the lazy names are
if TYPE_CHECKING:
    from .aot import compile as compile
    from .config import Config as Config
    from .config import FuelCosts as FuelCosts
    from .engine import Engine as Engine
    from .errors import ArgumentError as ArgumentError
    from .errors import BuildError as BuildError
    from .errors import CompileError as CompileError
    from .errors import ConfigError as ConfigError
    from .errors import DecodeError as DecodeError
    from .errors import DylinkError as DylinkError
    from .errors import Error as Error
    from .errors import Frame as Frame
    from .errors import GrowError as GrowError
    from .errors import ImmutableGlobalError as ImmutableGlobalError
    from .errors import InstantiationError as InstantiationError
    from .errors import LinkError as LinkError
    from .errors import OutOfBoundsError as OutOfBoundsError
    from .errors import ResourceLimitError as ResourceLimitError
    from .errors import SignatureError as SignatureError
    from .errors import Trap as Trap
    from .errors import TrapCode as TrapCode
    from .errors import UndefinedSymbol as UndefinedSymbol
    from .errors import UnsupportedFeature as UnsupportedFeature
    from .errors import ValidationError as ValidationError
    from .errors import ValueRangeError as ValueRangeError
    from .externs import Global as Global
    from .externs import Memory as Memory
    from .externs import Table as Table
    from .hook import install_import_hook as install_import_hook
    from .hook import uninstall_import_hook as uninstall_import_hook
    from .instance import Exports as Exports
    from .instance import Instance as Instance
    from .linker import Linker as Linker
    from .module import Module as Module
    from .runtime.func import Caller as Caller
    from .runtime.func import Func as Func
    from .runtime.resumable import Finished as Finished
    from .runtime.resumable import HostTrap as HostTrap
    from .runtime.resumable import OutOfFuel as OutOfFuel
    from .runtime.resumable import ResumableCall as ResumableCall
    from .runtime.store import Store as Store
    from .runtime.values import f32_from_bits as f32_from_bits
    from .runtime.values import f32_to_bits as f32_to_bits
    from .runtime.values import f64_from_bits as f64_from_bits
    from .runtime.values import f64_to_bits as f64_to_bits
    from .types import ExportType as ExportType
    from .types import FuncType as FuncType
    from .types import GlobalType as GlobalType
    from .types import ImportType as ImportType
    from .types import Limits as Limits
    from .types import MemoryType as MemoryType
    from .types import TableType as TableType
    from .types import ValType as ValType
    from .types import ValType as _VT

    # (ValType members)
    i32 = i64 = f32 = f64 = funcref = externref = _VT.I32


# public name -> module that defines it
_EXPORTS = {
    "Config": "config", "FuelCosts": "config", "Engine": "engine",
    "ArgumentError": "errors", "BuildError": "errors", "CompileError": "errors",
    "ConfigError": "errors",
    "DecodeError": "errors", "DylinkError": "errors", "Error": "errors", "Frame": "errors",
    "GrowError": "errors", "ImmutableGlobalError": "errors", "InstantiationError": "errors",
    "LinkError": "errors", "OutOfBoundsError": "errors", "ParseError": "errors",
    "ResourceLimitError": "errors",
    "SignatureError": "errors", "Trap": "errors", "TrapCode": "errors",
    "UndefinedSymbol": "errors", "UnsupportedFeature": "errors", "ValidationError": "errors",
    "ValueRangeError": "errors",
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
    "wasm2wat": "text", "wat2wasm": "text",
}  # fmt: skip

#: value-type shorthands for annotating host functions: ``def f(x: i32) -> i64``
_VALTYPE_ALIASES = {"i32": "I32", "i64": "I64", "f32": "F32", "f64": "F64",
                    "funcref": "FUNCREF", "externref": "EXTERNREF"}  # fmt: skip

__all__ = sorted([*_EXPORTS, *_VALTYPE_ALIASES, "__version__"])


def __getattr__(name: str) -> Any:
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


def __dir__() -> list[str]:
    return __all__
