"""One small type per section of the binary format; :func:`encode_module` puts them together.

These are the low level: each section keeps its entries in order and encodes them as given (no
deduplication, no index bookkeeping across sections). :class:`~wasm2py.build.ModuleBuilder` is
the convenient level above them.

::

    types = TypeSection(); t = types.add(FuncType([ValType.I32], [ValType.I32]))
    funcs = FunctionSection(); funcs.add(t)
    code = CodeSection(); code.add([], InstructionSink().local_get(0).end().encode())
    exports = ExportSection(); exports.add("id", ExternKind.FUNC, 0)
    wasm = encode_module([types, funcs, exports, code])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from ..binary.module import ExternKind
from ..errors import BuildError
from ..types import FuncType, GlobalType, MemoryType, TableType, ValType
from .encoding import (
    MAGIC,
    VERSION,
    byte_vec,
    functype,
    globaltype,
    memtype,
    name,
    section,
    tabletype,
    u32,
    valtype,
    vec,
)
from .instructions import InstructionSink, const_expr, index_of


class Section:
    """A section: :attr:`id` and the payload its subclass encodes."""

    id: ClassVar[int]

    def payload(self) -> bytes:
        """The section's contents (without id and size)."""
        raise NotImplementedError

    def encode(self) -> bytes:
        """The whole section: id, size, payload."""
        return section(self.id, self.payload())


class CustomSection(Section):
    """A custom section: a name and arbitrary bytes."""

    id = 0

    def __init__(self, section_name: str, data: bytes = b""):
        self.name = section_name
        self.data = bytes(data)

    def payload(self) -> bytes:
        return name(self.name) + self.data


class TypeSection(Section):
    """Function types, in order."""

    id = 1

    def __init__(self):
        self.types: list[FuncType] = []

    def add(self, ft: FuncType) -> int:
        """Append a type; returns its index."""
        functype(ft)  # checks it
        self.types.append(ft)
        return len(self.types) - 1

    def payload(self) -> bytes:
        return vec(functype(t) for t in self.types)


class ImportSection(Section):
    """Imports: ``(module, name, kind, description)`` in order; a function's description is its
    type index, the others' their TableType, MemoryType or GlobalType."""

    id = 2

    def __init__(self):
        self.entries: list[tuple[str, str, ExternKind, object]] = []

    def add(self, module: str, field: str, kind: ExternKind, desc) -> int:
        """Append an import; returns its index in the index space of its kind."""
        self.entries.append((module, field, ExternKind(kind), desc))
        return self.count(kind) - 1

    def count(self, kind: ExternKind) -> int:
        """How many imports of one kind."""
        return sum(1 for e in self.entries if e[2] == kind)

    def payload(self) -> bytes:
        out = []
        for module, field, kind, desc in self.entries:
            head = name(module) + name(field) + bytes((kind,))
            if kind == ExternKind.FUNC:
                out.append(head + u32(index_of(desc)))
            elif kind == ExternKind.TABLE:
                out.append(head + tabletype(_typed(desc, TableType)))
            elif kind == ExternKind.MEMORY:
                out.append(head + memtype(_typed(desc, MemoryType)))
            else:
                out.append(head + globaltype(_typed(desc, GlobalType)))
        return vec(out)


class FunctionSection(Section):
    """The type index of every defined function."""

    id = 3

    def __init__(self):
        self.type_indices: list[int] = []

    def add(self, type_index: int) -> None:
        """Declare a function of type ``type_index``."""
        self.type_indices.append(index_of(type_index))

    def payload(self) -> bytes:
        return vec(u32(t) for t in self.type_indices)


class TableSection(Section):
    """Defined tables."""

    id = 4

    def __init__(self):
        self.tables: list[TableType] = []

    def add(self, tt: TableType) -> None:
        """Define a table."""
        self.tables.append(_typed(tt, TableType))

    def payload(self) -> bytes:
        return vec(tabletype(t) for t in self.tables)


class MemorySection(Section):
    """Defined memories."""

    id = 5

    def __init__(self):
        self.memories: list[MemoryType] = []

    def add(self, mt: MemoryType) -> None:
        """Define a memory."""
        self.memories.append(_typed(mt, MemoryType))

    def payload(self) -> bytes:
        return vec(memtype(m) for m in self.memories)


class GlobalSection(Section):
    """Defined globals with their initialisers."""

    id = 6

    def __init__(self):
        self.entries: list[bytes] = []

    def add(self, gt: GlobalType, init) -> None:
        """Define a global; ``init`` is a :class:`ConstExpr` or a value (see :func:`const_expr`)."""
        self.entries.append(globaltype(_typed(gt, GlobalType)) + const_expr(init, gt.valtype))

    def payload(self) -> bytes:
        return vec(self.entries)


class ExportSection(Section):
    """Exports: ``(name, kind, index)``."""

    id = 7

    def __init__(self):
        self.entries: list[tuple[str, ExternKind, int]] = []

    def add(self, export_name: str, kind: ExternKind, index) -> None:
        """Export item ``index`` of ``kind`` as ``export_name``.

        Raises:
            BuildError: the name is exported already.
        """
        if any(e[0] == export_name for e in self.entries):
            raise BuildError(f"duplicate export name {export_name!r}")
        self.entries.append((export_name, ExternKind(kind), index_of(index)))

    def payload(self) -> bytes:
        return vec(name(n) + bytes((k,)) + u32(i) for n, k, i in self.entries)


class StartSection(Section):
    """The start function."""

    id = 8

    def __init__(self, func):
        self.func = index_of(func)

    def payload(self) -> bytes:
        return u32(self.func)


class ElementSection(Section):
    """Element segments. ``items`` are function indices (encoded as an index vector) or
    constant expressions (:class:`ConstExpr`; ``None`` for a null reference)."""

    id = 9

    def __init__(self):
        self.entries: list[bytes] = []

    def active(self, offset, items: Sequence, table: int = 0,
               type: ValType = ValType.FUNCREF) -> int:  # fmt: skip
        """An active segment written at ``offset`` (a ConstExpr or an i32) of ``table``;
        returns its index."""
        table = index_of(table)
        off = const_expr(offset, ValType.I32)
        indices = _func_indices(items, type)
        if indices is not None:
            if table == 0:
                return self._add(b"\x00" + off + indices)
            return self._add(b"\x02" + u32(table) + off + b"\x00" + indices)
        exprs = _exprs(items, type)
        if table == 0 and type is ValType.FUNCREF:
            return self._add(b"\x04" + off + exprs)
        return self._add(b"\x06" + u32(table) + off + valtype(type) + exprs)

    def passive(self, items: Sequence, type: ValType = ValType.FUNCREF) -> int:
        """A passive segment (for ``table.init``); returns its index."""
        indices = _func_indices(items, type)
        if indices is not None:
            return self._add(b"\x01\x00" + indices)
        return self._add(b"\x05" + valtype(type) + _exprs(items, type))

    def declared(self, items: Sequence, type: ValType = ValType.FUNCREF) -> int:
        """A declarative segment (declares functions for ``ref.func``); returns its index."""
        indices = _func_indices(items, type)
        if indices is not None:
            return self._add(b"\x03\x00" + indices)
        return self._add(b"\x07" + valtype(type) + _exprs(items, type))

    def _add(self, entry: bytes) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1

    def payload(self) -> bytes:
        return vec(self.entries)


class DataCountSection(Section):
    """The number of data segments (needed by ``memory.init``/``data.drop``)."""

    id = 12

    def __init__(self, count: int):
        self.count = count

    def payload(self) -> bytes:
        return u32(self.count)


class CodeSection(Section):
    """Function bodies, in the order of the function section."""

    id = 10

    def __init__(self):
        self.bodies: list[bytes] = []

    def add(self, locals: Iterable[ValType], body: bytes | InstructionSink) -> None:
        """Add a body: its locals (parameters excluded; runs of equal types are compressed)
        and its instructions, ending with the function's ``end``."""
        runs: list[list] = []
        for t in locals:
            if runs and runs[-1][1] is t:
                runs[-1][0] += 1
            else:
                runs.append([1, t])
        code = body.encode() if isinstance(body, InstructionSink) else bytes(body)
        inner = vec(u32(n) + valtype(t) for n, t in runs) + code
        self.bodies.append(u32(len(inner)) + inner)

    def payload(self) -> bytes:
        return vec(self.bodies)


class DataSection(Section):
    """Data segments."""

    id = 11

    def __init__(self):
        self.entries: list[bytes] = []

    def active(self, offset, data: bytes, memory: int = 0) -> int:
        """Bytes written at ``offset`` (a ConstExpr or an i32) of ``memory``; returns the
        segment's index."""
        memory = index_of(memory)
        off = const_expr(offset, ValType.I32)
        if memory == 0:
            self.entries.append(b"\x00" + off + byte_vec(data))
        else:
            self.entries.append(b"\x02" + u32(memory) + off + byte_vec(data))
        return len(self.entries) - 1

    def passive(self, data: bytes) -> int:
        """A passive segment (for ``memory.init``); returns its index."""
        self.entries.append(b"\x01" + byte_vec(data))
        return len(self.entries) - 1

    def payload(self) -> bytes:
        return vec(self.entries)


def encode_module(sections: Iterable[Section]) -> bytes:
    """The module: magic, version and the sections in the order given (which must be the
    binary format's: custom sections anywhere, the others by increasing id, data count
    between elements and code)."""
    return MAGIC + VERSION + b"".join(s.encode() for s in sections)


def _typed(value, cls):
    if not isinstance(value, cls):
        raise BuildError(f"expected a {cls.__name__}, got {value!r}")
    return value


def _func_indices(items: Sequence, type: ValType) -> bytes | None:
    """The index-vector encoding when every item is a function index (else None)."""
    if type is not ValType.FUNCREF:
        return None
    if not all(isinstance(i, int) or hasattr(i, "index") for i in items):
        return None
    return vec(u32(index_of(i)) for i in items)


def _exprs(items: Sequence, type: ValType) -> bytes:
    out = []
    for item in items:
        if isinstance(item, InstructionSink):
            out.append(const_expr(item))
        elif item is None:
            out.append(const_expr(None, type))
        else:
            out.append(const_expr(index_of(item), ValType.FUNCREF))
    return vec(out)


__all__ = ["CodeSection", "CustomSection", "DataCountSection", "DataSection", "ElementSection",
           "ExportSection", "FunctionSection", "GlobalSection", "ImportSection", "MemorySection",
           "Section", "StartSection", "TableSection", "TypeSection", "encode_module"]  # fmt: skip
