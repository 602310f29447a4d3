"""Instantiation: resolve imports, build runtime objects and the namespace of generated code,
initialise tables and memories from segments, and run the start function.

The namespace of an instance maps the names generated code uses to this instance's objects:

==============  ===============================================================
``f<i>``        the slot of function ``i`` (imports included; see :mod:`.slots`)
``R<i>``        the :class:`Func` of function ``i`` (for ``ref.func``)
``M``, ``MEM``  byte view of memory 0 (rebound on growth), and the memory object
``T<i>``        element list of table ``i``; ``TB<i>`` the table object
``G<i>``        value of immutable global ``i``, or the 1-element list cell of a mutable one
``TY<i>``       process-wide type id of type index ``i``
``ELEMS``       element segments (lists of references; ``()`` once dropped)
``DATAS``       data segments (``b""`` once dropped)
``MAXD``        the call depth at which ``DEEP(d)`` is called (-1 while the store's epoch
                deadline has passed, so that every entry calls it)
``DEEP``        traps at the call-depth limit or on an interrupt, else makes room for deep calls
                (see :mod:`.callstack`)
``RUN``         with epoch interruption: False while the store's deadline has passed
``__wasm2py__`` the instance's :class:`~.slots.Slots`
==============  ===============================================================
"""

from __future__ import annotations

from functools import partial

from ..binary.module import ExternKind, Module, SegmentMode
from ..binary.opcodes import Op
from ..errors import LinkError, Trap, TrapCode
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType
from .callstack import deeper, shallow_bound
from .func import Func, type_id
from .globals import GlobalInstance
from .memory import LinearMemory
from .ops import base_namespace
from .slots import CodeSource, Slots
from .table import TableInstance
from .trap import MODULE_NAMES, FrameNames, to_embedder
from .values import f32_from_bits, f64_from_bits

_BASE_NS: dict | None = None


def _base() -> dict:
    global _BASE_NS
    if _BASE_NS is None:
        _BASE_NS = base_namespace()
    return _BASE_NS


class InstanceState:
    """The runtime side of an instance: its namespace and its objects in each index space."""

    __slots__ = ("ns", "funcs", "memories", "tables", "globals", "exports", "module", "slots",
                 "__weakref__")  # fmt: skip

    def __init__(self):
        self.ns: dict = {}
        self.funcs: list[Func] = []
        self.memories: list[LinearMemory] = []
        self.tables: list[TableInstance] = []
        self.globals: list[GlobalInstance] = []
        self.exports: dict[str, object] = {}
        self.module: Module | None = None
        #: the code slots of the instance's functions
        self.slots: Slots | None = None


def _limits_match(actual: Limits, required: Limits) -> bool:
    if actual.min < required.min:
        return False
    if required.max is None:
        return True
    return actual.max is not None and actual.max <= required.max


def check_import(imp, value, module: Module) -> None:
    """Raise LinkError unless ``value`` (a runtime object) can satisfy import ``imp``."""
    where = f"import {imp.module!r} {imp.name!r}"
    if imp.kind == ExternKind.FUNC:
        if not isinstance(value, Func):
            raise LinkError(f"{where}: expected a function, got {type(value).__name__}")
        want = module.types[imp.type]
        if value.type != want:
            raise LinkError(f"{where}: incompatible import type: expected {want}, got {value.type}")
    elif imp.kind == ExternKind.TABLE:
        if not isinstance(value, TableInstance):
            raise LinkError(f"{where}: expected a table, got {type(value).__name__}")
        tt: TableType = imp.type  # type: ignore[assignment]
        if value.type.elem != tt.elem or not _limits_match(value.limits(), tt.limits):
            raise LinkError(f"{where}: incompatible import type for table")
    elif imp.kind == ExternKind.MEMORY:
        if not isinstance(value, LinearMemory):
            raise LinkError(f"{where}: expected a memory, got {type(value).__name__}")
        mt: MemoryType = imp.type  # type: ignore[assignment]
        if not _limits_match(value.limits(), mt.limits):
            raise LinkError(f"{where}: incompatible import type for memory")
    else:
        if not isinstance(value, GlobalInstance):
            raise LinkError(f"{where}: expected a global, got {type(value).__name__}")
        gt: GlobalType = imp.type  # type: ignore[assignment]
        if value.type != gt:
            raise LinkError(f"{where}: incompatible import type for global")


def eval_const(expr, state: InstanceState, module: Module):
    """Evaluate a constant expression (the instructions allowed in Wasm 2.0)."""
    stack: list = []
    for ins in expr:
        op = ins.op
        if op == Op.I32_CONST:
            stack.append(ins.imm & 0xFFFFFFFF)
        elif op == Op.I64_CONST:
            stack.append(ins.imm & 0xFFFFFFFFFFFFFFFF)
        elif op == Op.F32_CONST:
            stack.append(f32_from_bits(ins.imm))
        elif op == Op.F64_CONST:
            stack.append(f64_from_bits(ins.imm))
        elif op == 0xFD00C:  # v128.const
            stack.append(int.from_bytes(ins.imm, "little"))
        elif op == Op.REF_NULL:
            stack.append(None)
        elif op == Op.REF_FUNC:
            stack.append(state.funcs[ins.imm])
        elif op == Op.GLOBAL_GET:
            stack.append(state.globals[ins.imm].value)
        elif op == Op.END:
            break
        else:  # validation rules this out
            raise LinkError(f"unsupported constant instruction {op:#x}")
    return stack[-1]


def instantiate(store, module: Module, source: CodeSource, imports: list, wrap_instance=None,
                attach=None) -> InstanceState:  # fmt: skip
    """Instantiate ``module`` in ``store``; its functions' code comes from ``source``
    (see :mod:`.slots`: in general a function is only translated when it is first called).

    Args:
        imports: one runtime object per import, in import order (Func, TableInstance,
            LinearMemory, GlobalInstance).
        wrap_instance: called with the new state before any code runs; its result is what
            ``Caller.instance`` reports for host calls from this instance.
        attach: called as ``attach(state, owner)`` once the segments are in place, before the
            start function runs (the LLVM tier attaches its jitted code there).

    Raises:
        LinkError: an import is missing or has the wrong type.
        Trap: a segment does not fit, or the start function trapped.
    """
    if len(imports) != len(module.imports):
        raise LinkError(f"expected {len(module.imports)} imports, got {len(imports)}")
    for imp, value in zip(module.imports, imports):
        check_import(imp, value, module)
    store.limits.count_instance(len(module.tables), len(module.memories))
    state = InstanceState()
    state.module = module
    ns = dict(_base())
    state.ns = ns
    ns["MAXD"] = shallow_bound(store.max_depth)
    ns["DEEP"] = partial(deeper, store, ns)
    ns["IC"] = store.counter
    ns["F"] = store.fuel
    if store.epoch is not None:
        # RUN, MAXD and exhausted follow the store's epoch deadline (wasm2py.runtime.epoch)
        store.engine.epoch_clock.attach(store.epoch, state)
    for i, t in enumerate(module.types):
        ns[f"TY{i}"] = type_id(t)
    # Imports, per index space.
    for imp, value in zip(module.imports, imports):
        if imp.kind == ExternKind.FUNC:
            state.funcs.append(value)
        elif imp.kind == ExternKind.TABLE:
            state.tables.append(value)
        elif imp.kind == ExternKind.MEMORY:
            state.memories.append(value)
        else:
            state.globals.append(value)
    owner = wrap_instance(state) if wrap_instance is not None else state
    # Defined functions start as stubs that fetch their code on first call (see .slots).
    nimp = module.num_imported_funcs
    slots = state.slots = Slots(ns, source, state.funcs, nimp)
    ns["__wasm2py__"] = slots
    names = display_names(module)
    MODULE_NAMES.setdefault(source.filename,
                            FrameNames(names, module.names.module, module.names.functions))
    ftypes = module.func_types()
    pynames = source.func_names
    wasm = Func._wasm
    for index in range(nimp, len(pynames)):
        stub = slots.stub(index)
        ns[pynames[index]] = stub
        state.funcs.append(wasm(store, ftypes[index], stub, index, names.get(index), owner))
    for i, f in enumerate(state.funcs):
        ns[f"R{i}"] = f
        if i < nimp:
            slots.set_import(i, f.raw_for(owner))
    if source.eager:
        for index in range(nimp, len(pynames)):
            slots.python_function(index)
    # Tables and memories.
    for t in module.tables:
        state.tables.append(TableInstance(t, None, store.limits))
    for m in module.memories:
        state.memories.append(LinearMemory(m, store.limits))
    for i, t in enumerate(state.tables):
        ns[f"T{i}"] = t.elements
        ns[f"TB{i}"] = t
    if state.memories:
        mem = state.memories[0]
        ns["MEM"] = mem
        mem.bind(ns, "M")
    # Globals (initialisers may read imported globals and take function references).
    for g in module.globals:
        state.globals.append(GlobalInstance(g.type, eval_const(g.init, state, module),
                                            store.native))  # fmt: skip
    for i, g in enumerate(state.globals):
        ns[f"G{i}"] = g.cell if g.type.mutable else g.cell[0]
    # Exports.
    spaces = {ExternKind.FUNC: state.funcs, ExternKind.TABLE: state.tables,
              ExternKind.MEMORY: state.memories, ExternKind.GLOBAL: state.globals}  # fmt: skip
    for e in module.exports:
        state.exports[e.name] = spaces[e.kind][e.index]
    # Segments: evaluate element items, then initialise in order (a trap leaves earlier
    # writes in place, as the spec requires).
    elems = [[eval_const(item, state, module) for item in seg.items] for seg in module.elems]
    datas = [seg.data for seg in module.datas]
    ns["ELEMS"] = elems
    ns["DATAS"] = datas
    try:
        for k, seg in enumerate(module.elems):
            if seg.mode == SegmentMode.ACTIVE:
                offset = eval_const(seg.offset, state, module)
                table = state.tables[seg.table]
                items = elems[k]
                if offset + len(items) > table.size:
                    raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
                table.elements[offset : offset + len(items)] = items
                table.changed(offset, len(items))
                elems[k] = ()
            elif seg.mode == SegmentMode.DECLARATIVE:
                elems[k] = ()
        for k, seg in enumerate(module.datas):
            if seg.mode == SegmentMode.ACTIVE:
                offset = eval_const(seg.offset, state, module)
                view = state.memories[seg.memory].view
                if offset + len(seg.data) > len(view):
                    raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
                view[offset : offset + len(seg.data)] = seg.data
                datas[k] = b""
        if attach is not None:
            attach(state, owner)
        if module.start is not None:
            state.funcs[module.start]()
    except Trap as e:
        raise to_embedder(e) from None
    return state


def rebind_import(state: InstanceState, index: int, func: Func, owner) -> None:
    """Make the instance's code call ``func`` for imported function ``index`` from now on
    (its type must be the import's): direct calls and ``ref.func`` of the import. Frames
    already running keep the function they started with. For dynamic linking, where an
    import is satisfied by a stand-in until the module defining it is instantiated.

    Raises:
        LinkError: ``index`` is not an imported function, or ``func`` has another type.
    """
    module = state.module
    if not 0 <= index < module.num_imported_funcs:
        raise LinkError(f"function {index} is not an imported function")
    if func.type != state.funcs[index].type:
        raise LinkError(f"incompatible import type: expected {state.funcs[index].type}, "
                        f"got {func.type}")  # fmt: skip
    state.funcs[index] = func
    state.ns[f"R{index}"] = func
    state.slots.set_import(index, func.raw_for(owner))


def display_name(module: Module, index: int) -> str | None:
    """The name of function ``index`` from the name section, or its export name."""
    return display_names(module).get(index)


def display_names(module: Module) -> dict[int, str]:
    """The name of every function that has one (see :func:`display_name`), computed once per
    module."""
    names = module.derived.get("display_names")
    if names is None:
        nfuncs = module.num_imported_funcs + len(module.funcs)
        names = {}
        for e in module.exports:  # the first export of a function names it
            if e.kind == ExternKind.FUNC and e.index not in names:
                names[e.index] = e.name
        names.update((i, n) for i, n in module.names.functions.items() if i < nfuncs)
        module.derived["display_names"] = names
    return names


__all__ = ["InstanceState", "instantiate", "check_import", "eval_const", "rebind_import",
           "FuncType"]
