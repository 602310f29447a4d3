"""A drop-in for wasmtime-py's API over wasm2py: existing programs switch with one line,
``import wasm2py.wasmtime as wasmtime`` (or ``from wasm2py.wasmtime import *``).

The objects are wasm2py's (a ``wasmtime.Store`` holds a :class:`wasm2py.Store`, a
``wasmtime.Func`` a :class:`wasm2py.Func`...) with wasmtime-py's calling conventions: the store
is passed to every call (``f(store, 1, 2)``, ``memory.read(store, 0, 4)``,
``instance.exports(store)["f"]``), values may be ``Val`` objects, functions with several
results return lists, errors are ``WasmtimeError`` (which is :class:`wasm2py.Error`), traps
``Trap`` (a :class:`wasm2py.Trap`) with wasmtime's ``TrapCode`` and message, and a WASI
``proc_exit`` is ``ExitTrap``.

What wasm2py does not implement raises ``WasmtimeError`` when used: modules of the
exception-handling proposal (tags), threads (shared memories exist only on the host side),
memory64, custom page sizes. Read-only WASI preopens are refused rather than granted
read-write. wasmtime-py's ``wasmtime.component`` is not provided (see :mod:`wasm2py.component`). ``Config`` accepts every wasmtime-py setting; which ones act is
documented in :mod:`wasm2py.wasmtime._config`.
"""

from ._config import Config, Engine
from ._errors import ExitTrap, Frame, Trap, TrapCode, WasmtimeError
from ._extern import Global, Memory, SharedMemory, Table, Tag
from ._func import Caller, Func
from ._instance import Instance, InstanceExports
from ._linker import InstancePre, Linker
from ._module import Module, wat2wasm
from ._store import Store, StoreContext, Storelike
from ._types import (
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    Limits,
    MemoryType,
    TableType,
    TagType,
    ValType,
)
from ._value import Val
from ._wasi import DirPerms, FilePerms, WasiConfig

__all__ = [
    "wat2wasm", "Config", "Engine", "Store", "FuncType", "GlobalType", "MemoryType", "TableType",
    "ValType", "Limits", "ImportType", "ExportType", "Val", "Func", "Caller", "Table", "Memory",
    "SharedMemory", "Global", "Trap", "TrapCode", "ExitTrap", "Frame", "Module", "Instance",
    "WasiConfig", "FilePerms", "DirPerms", "Linker", "WasmtimeError", "StoreContext", "TagType",
    "Tag", "InstancePre", "InstanceExports", "Storelike",
]  # fmt: skip
