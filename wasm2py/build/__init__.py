"""Building WebAssembly modules from Python, in the spirit of ``wasm-encoder``.

One small type per section (:mod:`.sections`), an instruction sink with one method per
instruction (:class:`InstructionSink`, made from the decoder's opcode table so the two always
agree), and :class:`ModuleBuilder` on top, which keeps the index spaces::

    from wasm2py.build import ModuleBuilder
    from wasm2py.types import FuncType, ValType

    b = ModuleBuilder()
    f = b.function(FuncType([ValType.I32, ValType.I32], [ValType.I32]), name="add")
    f.local_get(0).local_get(1).i32_add()
    b.export_function("add", f)
    wasm = b.encode()                  # bytes: wasm2py.Module(wasm), wasm-tools validate ...

The package needs nothing beyond :mod:`wasm2py.types` and the opcode table: it does not load the
decoder, validator, translators or runtime. Errors are :class:`~wasm2py.errors.BuildError`.
"""

from ..binary.module import ExternKind
from ..errors import BuildError
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType
from .instructions import ConstExpr, InstructionSink
from .module import FunctionBuilder, ModuleBuilder
from .sections import (
    CodeSection,
    CustomSection,
    DataCountSection,
    DataSection,
    ElementSection,
    ExportSection,
    FunctionSection,
    GlobalSection,
    ImportSection,
    MemorySection,
    Section,
    StartSection,
    TableSection,
    TypeSection,
    encode_module,
)

__all__ = [
    "BuildError", "CodeSection", "ConstExpr", "CustomSection", "DataCountSection",
    "DataSection", "ElementSection", "ExportSection", "ExternKind", "FuncType",
    "FunctionBuilder", "FunctionSection", "GlobalSection", "GlobalType", "ImportSection",
    "InstructionSink", "Limits", "MemorySection", "MemoryType", "ModuleBuilder", "Section",
    "StartSection", "TableSection", "TableType", "TypeSection", "ValType", "encode_module",
]  # fmt: skip
