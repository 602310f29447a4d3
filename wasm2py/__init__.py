"""wasm2py: a WebAssembly runtime for Python."""

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
from .types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

__version__ = "0.1.0"

__all__ = [
    "DecodeError", "Error", "InstantiationError", "LinkError", "Trap", "TrapCode",
    "UnsupportedFeature", "ValidationError", "FuncType", "GlobalType", "Limits", "MemoryType",
    "TableType", "ValType", "__version__",
]  # fmt: skip
