"""The decoded form of a WebAssembly module: plain, immutable data.

The decoder (:mod:`wasm2py.binary.decoder`) produces a :class:`Module`; function bodies are decoded to
instruction lists on demand (see :class:`Code`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

from ..gcpause import gc_paused
from ..types import FuncType, GlobalType, MemoryType, RefType, TableType, ValType


class Instr(NamedTuple):
    """One instruction: opcode (see :class:`~wasm2py.binary.opcodes.Op`), decoded immediate
    (see :class:`~wasm2py.binary.opcodes.Imm`) and the byte offset of the opcode in the module."""

    op: int
    imm: object
    offset: int


class ExternKind(enum.IntEnum):
    """Kinds of imports and exports (the binary encoding byte)."""

    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3
    TAG = 4


@dataclass(frozen=True, slots=True)
class Import:
    """An import: ``type`` is a type index (int) for functions and tags, else a
    Table/Memory/GlobalType."""

    module: str
    name: str
    kind: ExternKind
    type: int | TableType | MemoryType | GlobalType


@dataclass(frozen=True, slots=True)
class Export:
    """An export of the item ``index`` in the index space of ``kind``."""

    name: str
    kind: ExternKind
    index: int


@dataclass(frozen=True, slots=True)
class Global:
    """A global definition with its constant initialiser expression (without the final ``end``)."""

    type: GlobalType
    init: tuple[Instr, ...]


class SegmentMode(enum.Enum):
    """Mode of an element or data segment."""

    ACTIVE = "active"
    PASSIVE = "passive"
    DECLARATIVE = "declarative"


@dataclass(frozen=True, slots=True)
class Elem:
    """An element segment. ``items`` holds one constant expression per element; segments encoded as
    function-index vectors are normalised to ``ref.func`` expressions. ``offset`` is the constant
    offset expression of an active segment (else None)."""

    mode: SegmentMode
    type: ValType | RefType
    items: tuple[tuple[Instr, ...], ...]
    table: int = 0
    offset: tuple[Instr, ...] | None = None


@dataclass(frozen=True, slots=True)
class Data:
    """A data segment; ``offset`` is the constant offset expression of an active one."""

    mode: SegmentMode
    data: bytes
    memory: int = 0
    offset: tuple[Instr, ...] | None = None


class Code:
    """A function body: its local declarations (expanded to one ValType per local, params
    excluded), its instructions (ending with the function's final ``end``) and the byte range
    ``[start, end)`` of the body in the module bytes.

    The decoder frames bodies without decoding them (:func:`~wasm2py.binary.decoder.
    decode_module`): ``locals`` is decoded on first use and kept, ``body`` is decoded from the
    module bytes *each time* it is read (instruction lists are large; whoever needs one keeps
    it while working on it), so a decoded module costs little more memory than its bytes;
    ``triples`` likewise, as plain tuples (for the validator and other readers that only
    unpack instructions: a plain tuple is cheaper to make, and to unpack, than an Instr).
    ``Code(locals, body, start, end)`` makes a body from instructions already in hand.

    Raises (when ``locals``, ``body`` or ``triples`` is read):
        DecodeError: the body is malformed.
    """

    __slots__ = ("start", "end", "_locals", "_body", "_data", "_at", "_has_data_count",
                 "_features")  # fmt: skip

    def __init__(self, locals: tuple[ValType | RefType, ...], body: list[Instr], start: int,
                 end: int):  # fmt: skip
        self.start = start
        self.end = end
        self._locals = tuple(locals)
        self._body = body
        self._data = None
        self._at = start
        self._has_data_count = True
        self._features = None

    @classmethod
    def framed(cls, data: bytes, start: int, end: int, has_data_count: bool,
               features=None) -> Code:  # fmt: skip
        """A body that is decoded from ``data[start:end]`` on demand (with the proposals
        ``features`` enabled; None: all)."""
        self = cls.__new__(cls)
        self.start = start
        self.end = end
        self._locals = None
        self._body = None
        self._data = data
        self._at = start
        self._has_data_count = has_data_count
        self._features = features
        return self

    @property
    def locals(self) -> tuple[ValType | RefType, ...]:
        """One value type per declared local (parameters excluded)."""
        if self._locals is None:
            from .decoder import decode_locals

            self._locals, self._at = decode_locals(self._data, self.start, self.end,
                                                   self._features)  # fmt: skip
        return self._locals

    @property
    def body(self) -> list[Instr]:
        """The instructions, the final ``end`` included (decoded anew unless given)."""
        if self._body is not None:
            return self._body
        from .decoder import decode_body

        self.locals  # noqa: B018 - finds where the instructions start
        with gc_paused():  # (see gcpause: a tuple or two per instruction, none in a cycle)
            return decode_body(self._data, self._at, self.end, self._has_data_count,
                               self._features)  # fmt: skip

    @property
    def triples(self) -> list[tuple[int, object, int]]:
        """The instructions as :attr:`body` has them, but as plain ``(op, imm, offset)``
        tuples (decoded anew unless given), for whoever only unpacks them: cheaper to make
        (the validator decodes every body of a module)."""
        if self._body is not None:
            return self._body
        from .decoder import decode_body

        self.locals  # noqa: B018 - finds where the instructions start
        return decode_body(self._data, self._at, self.end, self._has_data_count, self._features,
                           plain=True)  # fmt: skip

    def __eq__(self, other) -> bool:
        if not isinstance(other, Code):
            return NotImplemented
        return (self.start, self.end, self.locals, self.body) == (
            other.start, other.end, other.locals, other.body)  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Code(start={self.start}, end={self.end})"


@dataclass(slots=True)
class Names:
    """Contents of the ``name`` custom section (all optional)."""

    module: str | None = None
    functions: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@dataclass(slots=True)
class Module:
    """A decoded module. Index spaces (functions, tables, memories, globals) start with imports.

    Attributes:
        types: the type section: the composite type of every type index (a FuncType, or a GC
            StructType/ArrayType), with module-relative references (type indices).
        subtypes: ``(final, supertype indices)`` of every type index (empty: all final, none).
        rec_sizes: the size of every recursion group, in order (empty: one per type).
        imports: the import section, in order.
        funcs: type index of every function *defined* in the module (not imported).
        tables, memories: types of defined tables and memories.
        table_inits: the initialiser expression of every defined table (None: null), or
            empty when no table has one.
        tags: type index of every tag *defined* in the module.
        globals: defined globals.
        exports: the export section.
        start: index of the start function, or None.
        elems, datas: element and data segments.
        data_count: the data count section value, or None if absent.
        codes: one Code per defined function.
        customs: (name, payload) for every custom section.
        names: the parsed ``name`` section (empty if absent or malformed).
        raw: the module bytes.
    """

    types: list[FuncType] = field(default_factory=list)
    subtypes: list[tuple[bool, tuple[int, ...]]] = field(default_factory=list)
    rec_sizes: list[int] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)
    tables: list[TableType] = field(default_factory=list)
    table_inits: list[tuple[Instr, ...] | None] = field(default_factory=list)
    memories: list[MemoryType] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    datas: list[Data] = field(default_factory=list)
    data_count: int | None = None
    codes: list[Code] = field(default_factory=list)
    customs: list[tuple[str, bytes]] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    raw: bytes = b""
    #: facts derived from the module once, by whoever needs them (e.g. its defined types)
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self):
        # ``derived`` holds process-local facts (canonical types): never pickled
        return {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "derived"}

    def __setstate__(self, state) -> None:
        for f, v in state.items():
            object.__setattr__(self, f, v)
        self.derived = {}

    # -- index spaces -------------------------------------------------------------------------
    def imported(self, kind: ExternKind) -> list[Import]:
        """The imports of one kind, in order."""
        return [i for i in self.imports if i.kind == kind]

    @property
    def num_imported_funcs(self) -> int:
        """How many functions are imported (defined functions are numbered after them)."""
        return sum(1 for i in self.imports if i.kind == ExternKind.FUNC)

    def func_type_indices(self) -> list[int]:
        """Type index of every function in the function index space (imports first)."""
        out = [i.type for i in self.imports if i.kind == ExternKind.FUNC]
        out.extend(self.funcs)
        return out  # type: ignore[return-value]

    def func_types(self) -> list[FuncType]:
        """Type of every function in the function index space."""
        return [self.types[i] for i in self.func_type_indices()]

    def table_types(self) -> list[TableType]:
        """Type of every table in the table index space."""
        return [i.type for i in self.imports if i.kind == ExternKind.TABLE] + list(self.tables)  # type: ignore[misc]

    def memory_types(self) -> list[MemoryType]:
        """Type of every memory in the memory index space."""
        return [i.type for i in self.imports if i.kind == ExternKind.MEMORY] + list(self.memories)  # type: ignore[misc]

    def tag_type_indices(self) -> list[int]:
        """Type index of every tag in the tag index space (imports first)."""
        return [i.type for i in self.imports if i.kind == ExternKind.TAG] + list(self.tags)  # type: ignore[misc]

    def global_types(self) -> list[GlobalType]:
        """Type of every global in the global index space."""
        imported = [i.type for i in self.imports if i.kind == ExternKind.GLOBAL]
        return imported + [g.type for g in self.globals]  # type: ignore[operator]

    def func_refs(self) -> set[int]:
        """C.refs: the functions a ``ref.func`` in a function body may name, i.e. those
        named anywhere in the module outside function bodies and the start function
        (exports, segments, initializers): the only functions whose reference wasm code can
        take."""
        from .opcodes import Op

        ref_func = int(Op.REF_FUNC)
        refs: set[int] = set()
        exprs: list[tuple[Instr, ...]] = [g.init for g in self.globals]
        exprs.extend(e for e in self.table_inits if e is not None)
        for e in self.elems:
            exprs.extend(e.items)
            if e.offset is not None:
                exprs.append(e.offset)
        for d in self.datas:
            if d.offset is not None:
                exprs.append(d.offset)
        for expr in exprs:
            for op, imm, _off in expr:
                if op == ref_func:
                    refs.add(imm)
        for ex in self.exports:
            if ex.kind == ExternKind.FUNC:
                refs.add(ex.index)
        return refs

    def func_name(self, index: int) -> str | None:
        """The name-section name of a function, if any."""
        return self.names.functions.get(index)

    def body(self, defined_index: int) -> list[Instr]:
        """The instructions of defined function ``defined_index`` (0 = first non-imported one),
        including its final ``end``."""
        return self.codes[defined_index].body
