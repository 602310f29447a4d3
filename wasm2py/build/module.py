"""The module builder: index bookkeeping over the section types, then :meth:`encode`.

::

    b = ModuleBuilder()
    log = b.import_function("env", "log", FuncType([ValType.I32]))
    f = b.function(FuncType([ValType.I32, ValType.I32], [ValType.I32]), name="add")
    f.local_get(0).local_get(1).i32_add()          # the final `end` is added for you
    b.export_function("add", f)
    wasm = b.encode()

Index spaces start with the imports, so every import of a kind comes before the first
definition of that kind (a :class:`BuildError` otherwise, rather than silently renumbering).
Types are deduplicated: asking for the same :class:`FuncType` twice gives the same index.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..binary.module import ExternKind
from ..errors import BuildError
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType
from .encoding import name, u32, vec
from .instructions import InstructionSink, index_of
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
)


class FunctionBuilder(InstructionSink):
    """A function being defined: the instruction sink of its body, plus its :attr:`index` (in
    the module's function index space), :attr:`type` and :attr:`locals`.

    Block types and ``call_indirect`` types may be given as :class:`FuncType` (the module
    indexes them). :meth:`add_local` declares more locals while the body is written.
    """

    __slots__ = ("index", "type", "locals", "name")

    def __init__(self, builder: ModuleBuilder, index: int, ftype: FuncType,
                 locals: Sequence[ValType], func_name: str | None):  # fmt: skip
        super().__init__(builder.type)
        self.index = index
        self.type = ftype
        self.locals: list[ValType] = list(locals)
        self.name = func_name

    def add_local(self, t: ValType) -> int:
        """Declare a local of type ``t``; returns its index (parameters come first)."""
        self.locals.append(t)
        return len(self.type.params) + len(self.locals) - 1

    def body(self) -> bytes:
        """The body's instructions with the function's final ``end``.

        Raises:
            BuildError: blocks are left open, or closed more often than opened.
        """
        code = self.encode()
        if self.depth == 0:
            return code + b"\x0b"
        if self.depth == -1:  # the caller wrote the final end itself
            return code
        raise BuildError(f"function {self.name or self.index}: {self.depth} block(s) not closed "
                         "by `end`" if self.depth > 0 else
                         f"function {self.name or self.index}: more `end`s than blocks")  # fmt: skip


class ModuleBuilder:
    """Builds a module section by section; :meth:`encode` returns its bytes.

    Every method that defines or imports something returns its index (functions return their
    :class:`FunctionBuilder`, whose ``index`` attribute is the function index; methods taking
    an index accept either).

    Args:
        names: write a ``name`` section with the module name and function names given to
            :meth:`function` (names help backtraces; off for byte-exact builds).
        module_name: the module name for that section.
    """

    def __init__(self, *, names: bool = True, module_name: str | None = None):
        self._types = TypeSection()
        self._type_index: dict[FuncType, int] = {}
        self._imports = ImportSection()
        self._funcs: list[FunctionBuilder] = []
        self._tables = TableSection()
        self._memories = MemorySection()
        self._globals = GlobalSection()
        self._exports = ExportSection()
        self._start: int | None = None
        self._elems = ElementSection()
        self._datas = DataSection()
        self._first: list[CustomSection] = []
        self._last: list[CustomSection] = []
        self._names = names
        self._module_name = module_name
        self._import_names: dict[int, str] = {}
        self._data_count = False

    # -- types and imports --------------------------------------------------------------------
    def type(self, ft: FuncType) -> int:
        """The index of function type ``ft`` (added on first use)."""
        index = self._type_index.get(ft)
        if index is None:
            index = self._type_index[ft] = self._types.add(ft)
        return index

    def _check_import(self, kind: ExternKind, defined: int) -> None:
        if defined:
            raise BuildError(f"import every {kind.name.lower()} before defining one: the "
                             "defined ones are numbered after the imported ones")  # fmt: skip

    def import_function(self, module: str, field: str, ft: FuncType) -> int:
        """Import a function; returns its function index."""
        self._check_import(ExternKind.FUNC, len(self._funcs))
        index = self._imports.add(module, field, ExternKind.FUNC, self.type(ft))
        self._import_names[index] = field
        return index

    def import_table(self, module: str, field: str, tt: TableType) -> int:
        """Import a table; returns its table index."""
        self._check_import(ExternKind.TABLE, len(self._tables.tables))
        return self._imports.add(module, field, ExternKind.TABLE, tt)

    def import_memory(self, module: str, field: str, mt: MemoryType) -> int:
        """Import a memory; returns its memory index."""
        self._check_import(ExternKind.MEMORY, len(self._memories.memories))
        return self._imports.add(module, field, ExternKind.MEMORY, mt)

    def import_global(self, module: str, field: str, gt: GlobalType) -> int:
        """Import a global; returns its global index."""
        self._check_import(ExternKind.GLOBAL, len(self._globals.entries))
        return self._imports.add(module, field, ExternKind.GLOBAL, gt)

    # -- definitions --------------------------------------------------------------------------
    def function(self, ft: FuncType, locals: Sequence[ValType] = (),
                 name: str | None = None) -> FunctionBuilder:  # fmt: skip
        """Define a function of type ``ft`` with extra ``locals``; write its body into the
        returned :class:`FunctionBuilder` (the final ``end`` is optional)."""
        self.type(ft)
        f = FunctionBuilder(self, self._imports.count(ExternKind.FUNC) + len(self._funcs), ft,
                            locals, name)  # fmt: skip
        self._funcs.append(f)
        return f

    def table(self, tt: TableType | None = None, *, min: int = 0, max: int | None = None,
              elem: ValType = ValType.FUNCREF) -> int:  # fmt: skip
        """Define a table (a TableType, or ``min``/``max``/``elem``); returns its index."""
        self._tables.add(tt if tt is not None else TableType(elem, Limits(min, max)))
        return self._imports.count(ExternKind.TABLE) + len(self._tables.tables) - 1

    def memory(self, mt: MemoryType | None = None, *, min: int = 0,
               max: int | None = None) -> int:  # fmt: skip
        """Define a memory (a MemoryType, or ``min``/``max`` pages); returns its index."""
        self._memories.add(mt if mt is not None else MemoryType(Limits(min, max)))
        return self._imports.count(ExternKind.MEMORY) + len(self._memories.memories) - 1

    def global_(self, gt: GlobalType, init=0) -> int:
        """Define a global initialised by ``init`` (a value of its type or a
        :class:`~wasm2py.build.ConstExpr`); returns its index."""
        self._globals.add(gt, init)
        return self._imports.count(ExternKind.GLOBAL) + len(self._globals.entries) - 1

    def start(self, func) -> None:
        """Make ``func`` (an index or FunctionBuilder) the start function."""
        self._start = index_of(func)

    # -- exports ------------------------------------------------------------------------------
    def export(self, export_name: str, kind: ExternKind, index) -> None:
        """Export item ``index`` of ``kind``.

        Raises:
            BuildError: the name is already exported.
        """
        self._exports.add(export_name, kind, index)

    def export_function(self, export_name: str, func) -> None:
        """Export a function (an index or FunctionBuilder)."""
        self._exports.add(export_name, ExternKind.FUNC, func)

    def export_table(self, export_name: str, table: int = 0) -> None:
        """Export a table."""
        self._exports.add(export_name, ExternKind.TABLE, table)

    def export_memory(self, export_name: str, memory: int = 0) -> None:
        """Export a memory."""
        self._exports.add(export_name, ExternKind.MEMORY, memory)

    def export_global(self, export_name: str, glob: int) -> None:
        """Export a global."""
        self._exports.add(export_name, ExternKind.GLOBAL, glob)

    # -- segments -----------------------------------------------------------------------------
    def elements(self, offset, items: Sequence, table: int = 0,
                 type: ValType = ValType.FUNCREF) -> int:  # fmt: skip
        """An active element segment: ``items`` (function indices/FunctionBuilders, or
        ConstExprs) written into ``table`` at ``offset`` (an i32 or a ConstExpr); returns the
        segment index."""
        return self._elems.active(offset, items, table, type)

    def passive_elements(self, items: Sequence, type: ValType = ValType.FUNCREF) -> int:
        """A passive element segment (for ``table.init``); returns its index."""
        return self._elems.passive(items, type)

    def declare_functions(self, items: Sequence) -> int:
        """A declarative segment naming the functions ``ref.func`` may refer to."""
        return self._elems.declared(items)

    def data(self, offset, data: bytes, memory: int = 0) -> int:
        """An active data segment: ``data`` at ``offset`` (an i32 or a ConstExpr) of
        ``memory``; returns the segment index."""
        return self._datas.active(offset, data, memory)

    def passive_data(self, data: bytes) -> int:
        """A passive data segment (for ``memory.init``); returns its index."""
        return self._datas.passive(data)

    def data_count(self) -> None:
        """Write the data count section even if no function uses ``memory.init`` or
        ``data.drop`` (it is written automatically when one does)."""
        self._data_count = True

    # -- custom sections ----------------------------------------------------------------------
    def custom(self, section_name: str, data: bytes, *, first: bool = False) -> None:
        """A custom section, at the end of the module (or at its start with ``first``)."""
        (self._first if first else self._last).append(CustomSection(section_name, data))

    def dylink(self, info) -> None:
        """The ``dylink.0`` section of a dynamically linkable module (a
        :class:`~wasm2py.dylink.DylinkInfo`), as the module's first section."""
        from ..dylink.section import SECTION

        self._first.insert(0, CustomSection(SECTION, info.encode()))

    # -- output -------------------------------------------------------------------------------
    def sections(self) -> list[Section]:
        """The sections in binary-format order (empty ones left out)."""
        out: list[Section] = list(self._first)
        functions = FunctionSection()
        code = CodeSection()
        for f in self._funcs:
            functions.add(self.type(f.type))
            code.add(f.locals, f.body())
        if self._types.types:
            out.append(self._types)
        for sec in (self._imports, functions, self._tables, self._memories, self._globals,
                    self._exports):  # fmt: skip
            if sec.payload() != b"\x00":
                out.append(sec)
        if self._start is not None:
            out.append(StartSection(self._start))
        if self._elems.entries:
            out.append(self._elems)
        if self._data_count or any(f.uses_data_count for f in self._funcs):
            out.append(DataCountSection(len(self._datas.entries)))
        if self._funcs:
            out.append(code)
        if self._datas.entries:
            out.append(self._datas)
        names = self._name_section()
        if names is not None:
            out.append(names)
        out.extend(self._last)
        return out

    def _name_section(self) -> CustomSection | None:
        if not self._names:
            return None
        funcs = sorted((f.index, f.name) for f in self._funcs if f.name)
        if self._module_name is None and not funcs:
            return None
        payload = b""
        if self._module_name is not None:
            sub = name(self._module_name)
            payload += b"\x00" + u32(len(sub)) + sub
        if funcs:
            sub = vec(u32(i) + name(n) for i, n in funcs)
            payload += b"\x01" + u32(len(sub)) + sub
        return CustomSection("name", payload)

    def encode(self) -> bytes:
        """The module's bytes.

        Raises:
            BuildError: a function body leaves blocks open, or a value does not fit its
                encoding.
        """
        from .sections import encode_module

        return encode_module(self.sections())


__all__ = ["FunctionBuilder", "ModuleBuilder"]
