"""The embedder's :class:`Module`: a decoded and validated WebAssembly module."""

from __future__ import annotations

import os

from .binary.decoder import decode_module
from .binary.module import ExternKind
from .binary.module import Module as DecodedModule
from .engine import Engine
from .types import ExportType, ImportType
from .validate.validator import validate_module


def _coerce_bytes(wasm) -> bytes:
    if isinstance(wasm, bytes | bytearray | memoryview):
        return bytes(wasm)
    raise TypeError(f"expected the module's bytes, got {type(wasm).__name__}")


class Module:
    """A WebAssembly module, decoded and validated, ready to be instantiated any number of
    times.

    ``Module(engine, wasm_bytes)`` or ``Module(wasm_bytes)`` (a default engine). The Python tier
    translates each function when it is first called (see ``Config.compilation_mode``);
    ``Config(tier="llvm")`` compiles the module to machine code here.

    Raises:
        DecodeError: the binary is malformed.
        ValidationError: the module is not valid (with ``compilation_mode="lazy"``, only its
            structure is checked here, function bodies at their first call).
    """

    def __init__(self, engine_or_wasm, wasm=None, *, name: str | None = None):
        if wasm is None and not isinstance(engine_or_wasm, Engine):
            engine, wasm = Engine(), engine_or_wasm
        else:
            engine = engine_or_wasm if engine_or_wasm is not None else Engine()
        data = _coerce_bytes(wasm)
        self.engine: Engine = engine
        self.name = name
        self._module: DecodedModule
        #: the decoded module, and its Python-tier code (a runtime CodeSource)
        self._module, self._code = engine.load(data)
        #: the LLVM tier's compilation (tier "llvm": made here; "auto": when hot)
        self._llvm = (engine.load_llvm(self._module, name=name)
                      if engine.config.tier == "llvm" else None)  # fmt: skip

    @classmethod
    def from_file(cls, engine_or_path, path: str | os.PathLike | None = None) -> Module:
        """Load a module from a ``.wasm`` file: ``Module.from_file(engine, path)`` or
        ``Module.from_file(path)``."""
        if path is None:
            engine, path = None, engine_or_path
        else:
            engine = engine_or_path
        with open(path, "rb") as f:
            data = f.read()
        return cls(engine if engine is not None else Engine(), data,
                   name=os.path.splitext(os.path.basename(path))[0])  # fmt: skip

    @staticmethod
    def validate(engine_or_wasm, wasm=None) -> None:
        """Check that bytes are a valid module (every function body included).

        Raises:
            DecodeError, ValidationError: as for the constructor.
        """
        data = _coerce_bytes(engine_or_wasm if wasm is None else wasm)
        validate_module(decode_module(data, check_bodies=False))

    @property
    def imports(self) -> list[ImportType]:
        """The module's imports, in order."""
        m = self._module
        out = []
        for imp in m.imports:
            t = m.types[imp.type] if imp.kind == ExternKind.FUNC else imp.type
            out.append(ImportType(imp.module, imp.name, t))  # type: ignore[arg-type]
        return out

    @property
    def exports(self) -> list[ExportType]:
        """The module's exports, in order."""
        m = self._module
        spaces = {ExternKind.FUNC: m.func_types(), ExternKind.TABLE: m.table_types(),
                  ExternKind.MEMORY: m.memory_types(), ExternKind.GLOBAL: m.global_types()}  # fmt: skip
        return [ExportType(e.name, spaces[e.kind][e.index]) for e in m.exports]

    def __repr__(self) -> str:
        return f"<wasm2py.Module {self.name or ''} imports={len(self._module.imports)} " \
               f"exports={len(self._module.exports)}>"
