"""wasm2py: a WebAssembly runtime for Python.

Modules are decoded, validated and translated to Python code; the embedding API follows
wasmtime-py's vocabulary::

    import wasm2py
    store = wasm2py.Store()
    module = wasm2py.Module.from_file(store.engine, "add.wasm")
    instance = wasm2py.Instance(store, module, {})
    instance.exports.add(1, 2)
"""

from .config import Config, FuelCosts
from .engine import Engine
from .errors import (
    DecodeError,
    Error,
    InstantiationError,
    LinkError,
    Trap,
    TrapCode,
    UnsupportedFeature,
    ValidationError,
)
from .externs import Global, Memory, Table
from .instance import Exports, Instance
from .linker import Linker
from .module import ExportType, ImportType, Module
from .runtime.func import Caller, Func
from .runtime.resumable import Finished, HostTrap, OutOfFuel, ResumableCall
from .runtime.store import Store
from .runtime.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from .types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

__version__ = "0.1.0"

#: value-type shorthands for annotating host functions: ``def f(x: i32) -> i64``
i32, i64, f32, f64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
funcref, externref = ValType.FUNCREF, ValType.EXTERNREF

__all__ = [
    "Caller", "Config", "Finished", "FuelCosts", "HostTrap", "OutOfFuel", "ResumableCall", "DecodeError", "Engine", "Error", "ExportType", "Exports", "Func",
    "FuncType", "Global", "GlobalType", "ImportType", "Instance", "InstantiationError",
    "Limits", "LinkError", "Linker", "Memory", "MemoryType", "Module", "Store", "Table",
    "TableType", "Trap", "TrapCode", "UnsupportedFeature", "ValType", "ValidationError",
    "__version__", "externref", "f32", "f32_from_bits", "f32_to_bits", "f64", "f64_from_bits",
    "f64_to_bits", "funcref", "i32", "i64",
]  # fmt: skip
