"""The embedder's :class:`Module`: a decoded and validated WebAssembly module."""

from __future__ import annotations

import os

from .binary.decoder import decode_module
from .binary.module import ExternKind
from .binary.module import Module as DecodedModule
from .engine import Engine
from .types import ExportType, ImportType
from .validate.validator import validate_module


def _coerce_bytes(wasm, source: str | None = None) -> bytes:
    """The binary of a module given as bytes or as text (a ``str``, or bytes starting with
    ``(`` or ``;`` after white space, is the text format)."""
    from .text import as_binary

    return as_binary(wasm, source=source)


class Module:
    """A WebAssembly module, decoded and validated, ready to be instantiated any number of
    times.

    ``Module(engine, wasm)`` or ``Module(wasm)`` (a default engine), where ``wasm`` is the
    binary, or the text format as a ``str`` (or bytes that start with ``(`` or ``;`` after
    white space), as in wasmtime-py. The Python tier translates each function when it is first
    called (see ``Config.compilation_mode``); ``Config(tier="llvm")`` compiles the module to
    machine code here.

    Raises:
        ParseError: the text is malformed.
        DecodeError: the binary is malformed.
        ValidationError: the module is not valid (with ``compilation_mode="lazy"``, only its
            structure is checked here, function bodies at their first call).
    """

    def __init__(self, engine_or_wasm: Engine | bytes | bytearray | memoryview | str,
                 wasm: bytes | bytearray | memoryview | str | None = None, *,
                 name: str | None = None, _source: str | None = None) -> None:  # fmt: skip
        if wasm is None and not isinstance(engine_or_wasm, Engine):
            engine, wasm = Engine(), engine_or_wasm
        else:
            engine = engine_or_wasm if engine_or_wasm is not None else Engine()  # type: ignore[assignment]
        data = _coerce_bytes(wasm, _source)
        self.engine: Engine = engine
        self.name = name
        self._module: DecodedModule
        #: the decoded module, and its Python-tier code (a runtime CodeSource)
        self._module, self._code = engine.load(data)
        #: the LLVM tier's compilation (tier "llvm": made here; "auto": when hot)
        self._llvm = (engine.load_llvm(self._module, name=name)
                      if engine.config.tier == "llvm" else None)  # fmt: skip

    @classmethod
    def from_file(cls, engine_or_path: Engine | str | os.PathLike,
                  path: str | os.PathLike | None = None) -> Module:  # fmt: skip
        """Load a module from a ``.wasm`` (or ``.wat``) file: ``Module.from_file(engine, path)``
        or ``Module.from_file(path)``."""
        if path is None:
            engine, file = Engine(), engine_or_path
        else:
            engine, file = engine_or_path, path  # type: ignore[assignment]
        with open(file, "rb") as f:  # type: ignore[arg-type]
            data = f.read()
        return cls(engine, data, name=os.path.splitext(os.path.basename(file))[0],  # type: ignore[arg-type, type-var]
                   _source=os.fspath(file))  # type: ignore[arg-type]

    @staticmethod
    def validate(engine_or_wasm: Engine | bytes | bytearray | memoryview | str,
                 wasm: bytes | bytearray | memoryview | str | None = None) -> None:  # fmt: skip
        """Check that a module (bytes or text) is valid (every function body included) without
        translating it.

        Raises:
            ParseError, DecodeError, ValidationError: as for the constructor.
        """
        data = _coerce_bytes(engine_or_wasm if wasm is None else wasm)
        validate_module(decode_module(data, check_bodies=False))

    def serialize(self) -> bytes:
        """The module as bytes: its wasm, decoded sections and the code its engine compiled for
        it (Python translation, LLVM machine code), authenticated like the on-disk cache, so
        :meth:`deserialize` skips decoding, validation and compilation. Valid only for this
        user of this machine (see :mod:`wasm2py.serialize`)."""
        from .serialize import dumps

        return dumps(self)

    @classmethod
    def deserialize(cls, engine: Engine, data: bytes | bytearray | memoryview) -> Module:
        """The module :meth:`serialize` made ``data`` from, for ``engine``: compiled code that
        fits the engine's options is used as is, the rest is compiled when needed.

        Raises:
            Error: ``data`` is not a module this user's wasm2py serialized (or was changed).
        """
        from .serialize import loads

        return loads(engine, data, cls)

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str | os.PathLike) -> Module:
        """:meth:`deserialize` of a file's contents."""
        from .serialize import load_file

        return load_file(engine, path, cls)

    @property
    def imports(self) -> list[ImportType]:
        """The module's imports, in order."""
        m = self._module
        out = []
        for imp in m.imports:
            t = m.types[imp.type] if imp.kind == ExternKind.FUNC else imp.type  # type: ignore[index]
            out.append(ImportType(imp.module, imp.name, t))  # type: ignore[arg-type]
        return out

    @property
    def exports(self) -> list[ExportType]:
        """The module's exports, in order."""
        m = self._module
        spaces: dict[ExternKind, list] = {
            ExternKind.FUNC: m.func_types(), ExternKind.TABLE: m.table_types(),
            ExternKind.MEMORY: m.memory_types(), ExternKind.GLOBAL: m.global_types()}  # fmt: skip
        return [ExportType(e.name, spaces[e.kind][e.index]) for e in m.exports]

    def __repr__(self) -> str:
        return f"<wasm2py.Module {self.name or ''} imports={len(self._module.imports)} " \
               f"exports={len(self._module.exports)}>"
