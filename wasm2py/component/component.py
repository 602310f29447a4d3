"""The embedder's :class:`Component`: a decoded and validated component binary."""

from __future__ import annotations

import os

from ..engine import Engine
from .binary import decode_component
from .types import ComponentType
from .validate import ValidatedComponent, validate_component


class Component:
    """A compiled component, ready to be instantiated any number of times (with a
    :class:`~wasm2py.component.Linker`).

    ``Component(engine, wasm_bytes)`` or ``Component(wasm_bytes)`` (a default engine). The core
    modules inside are validated now and translated for the engine's tier when the component is
    first instantiated.

    Raises:
        DecodeError: the binary is malformed.
        ValidationError: the component is not valid.
    """

    def __init__(self, engine_or_wasm, wasm=None, *, name: str | None = None):
        if wasm is None and not isinstance(engine_or_wasm, Engine):
            engine, wasm = Engine(), engine_or_wasm
        else:
            engine = engine_or_wasm if engine_or_wasm is not None else Engine()
        if not isinstance(wasm, bytes | bytearray | memoryview):
            raise TypeError(f"expected the component's bytes, got {type(wasm).__name__}")
        self.engine = engine
        self.name = name
        self._validated: ValidatedComponent = validate_component(decode_component(bytes(wasm)))
        #: compiled core modules, by identity of their definition (made on first use)
        self._core: dict[int, object] = {}

    @classmethod
    def from_file(cls, engine_or_path, path: str | os.PathLike | None = None) -> Component:
        """Load a component from a ``.wasm`` file: ``Component.from_file(engine, path)`` or
        ``Component.from_file(path)``."""
        if path is None:
            engine, path = None, engine_or_path
        else:
            engine = engine_or_path
        with open(path, "rb") as f:
            data = f.read()
        return cls(engine if engine is not None else Engine(), data,
                   name=os.path.splitext(os.path.basename(path))[0])  # fmt: skip

    @property
    def type(self) -> ComponentType:
        """The component's type: its imports and exports with their types."""
        return self._validated.type

    @property
    def imports(self) -> dict:
        """Import name -> extern type."""
        return dict(self._validated.type.imports)

    @property
    def exports(self) -> dict:
        """Export name -> extern type."""
        return dict(self._validated.type.exports)

    def core_module(self, definition):
        """The compiled :class:`wasm2py.Module` of a core module definition of this component
        (compiled once, for the engine's tier)."""
        m = self._core.get(id(definition))
        if m is None:
            from ..module import Module

            m = self._core[id(definition)] = Module(self.engine, definition.data)
        return m

    def __repr__(self) -> str:
        ct = self._validated.type
        return (f"<wasm2py.component.Component {self.name or ''} imports={list(ct.imports)} "
                f"exports={list(ct.exports)}>")  # fmt: skip
