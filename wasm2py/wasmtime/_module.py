"""wasmtime-py's ``Module`` (and ``wat2wasm``) over :class:`wasm2py.Module`."""

from __future__ import annotations

import os
from typing import Any

from .. import text as _text
from ..errors import ParseError
from ..module import Module as _NativeModule
from ._config import Engine, _Closable
from ._errors import WasmtimeError
from ._types import ExportType, ImportType, wrap_type


def _parse_text(text: str) -> bytes:
    try:
        return _text.wat2wasm(text)
    except ParseError as e:
        raise WasmtimeError(str(e)) from None


def wat2wasm(wat: str | bytes) -> bytearray:
    """The binary of a module in the WebAssembly text format.

    Raises:
        WasmtimeError: the text is not a valid module (the message says where).
    """
    if isinstance(wat, bytes | bytearray):
        wat = bytes(wat).decode("utf-8")
    if not isinstance(wat, str):
        raise TypeError("expected a str")
    return bytearray(_parse_text(wat))


def _binary(wasm: Any) -> bytes:
    """Module bytes from what wasmtime-py accepts: a binary, or text (a ``str``, or ``bytes``
    that do not start with a zero byte as every binary module does)."""
    if isinstance(wasm, str) and wasm and wasm[0] != "\0":
        return bytes(wat2wasm(wasm))
    if isinstance(wasm, bytes) and wasm and wasm[0] != 0:
        return bytes(wat2wasm(wasm))
    if isinstance(wasm, bytes | bytearray):
        return bytes(wasm)
    raise TypeError("expected wasm bytes")


class Module(_Closable):
    """A compiled module (wasmtime-py's ``Module``): ``Module(engine, wasm_bytes_or_text)``.

    Raises:
        WasmtimeError: the module is malformed or invalid.
    """

    def __init__(self, engine: Engine, wasm: str | bytes | bytearray):
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        self._setup(engine, _NativeModule(engine._native, _binary(wasm)))

    def _setup(self, engine: Engine, native: _NativeModule) -> None:
        self._engine = engine
        self._native = native

    @classmethod
    def _wrap(cls, engine: Engine, native: _NativeModule) -> Module:
        self = cls.__new__(cls)
        self._setup(engine, native)
        return self

    @classmethod
    def from_file(cls, engine: Engine, path: str | bytes | os.PathLike) -> Module:
        """A module from a ``.wasm`` (binary) or ``.wat`` (text) file."""
        with open(path, "rb") as f:
            return cls(engine, f.read())

    @classmethod
    def validate(cls, engine: Engine, wasm: bytes | bytearray) -> None:
        """Check that ``wasm`` is a valid module (``WasmtimeError`` if not)."""
        engine._native  # noqa: B018 - an engine is required (AttributeError otherwise)
        if not isinstance(wasm, bytes | bytearray):
            raise TypeError("expected bytes")
        _NativeModule.validate(bytes(wasm))

    @classmethod
    def deserialize(cls, engine: Engine, encoded: bytes | bytearray) -> Module:
        """A module :meth:`serialize` made (on this machine, by this user: see
        :meth:`wasm2py.Module.deserialize`)."""
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        return cls._wrap(engine, _NativeModule.deserialize(engine._native, encoded))

    @classmethod
    def deserialize_file(cls, engine: Engine, path: str) -> Module:
        """:meth:`deserialize` of a file's contents."""
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        return cls._wrap(engine, _NativeModule.deserialize_file(engine._native, path))

    def serialize(self) -> bytearray:
        """The compiled module as bytes (see :meth:`wasm2py.Module.serialize`)."""
        self._check()
        return bytearray(self._native.serialize())

    @property
    def imports(self) -> list[ImportType]:
        """The module's imports, in order."""
        return [ImportType(i.module, i.name, wrap_type(i.type)) for i in self._native.imports]

    @property
    def exports(self) -> list[ExportType]:
        """The module's exports, in order."""
        return [ExportType(e.name, wrap_type(e.type)) for e in self._native.exports]
