"""Instantiation: resolve imports, build runtime objects and the namespace of generated code,
initialise tables and memories from segments, and run the start function.

The namespace of an instance maps the names generated code uses to this instance's objects:

==============  ===============================================================
``f<i>``        the slot of function ``i`` (imports included; see :mod:`.slots`)
``R<i>``        the :class:`Func` of function ``i`` (for ``ref.func``)
``M``, ``MEM``  byte view of memory 0 (rebound on growth), and the memory object
``M<i>``        ``MEM<i>``: the same for memory ``i`` > 0 (multiple memories)
``T<i>``        element list of table ``i``; ``TB<i>`` the table object
``TG<i>``       tag ``i`` (exception handling)
``G<i>``        value of immutable global ``i``, or the 1-element list cell of a mutable one
``TY<i>``       process-wide type id of type index ``i`` (its canonical DefType's id)
``ELEMS``       element segments (lists of references; ``()`` once dropped)
``DATAS``       data segments (``b""`` once dropped)
``MAXD``        the call depth at which ``DEEP(d)`` is called (-1 while the store's epoch
                deadline has passed, so that every entry calls it)
``DEEP``        traps at the call-depth limit or on an interrupt, else makes room for deep calls
                (see :mod:`.callstack`)
``RUN``         with epoch interruption: False while the store's deadline has passed
``__wasm2py__`` the instance's :class:`~.slots.Slots`
``E...``        what the entries from Python that inline the instance's functions read
                (see :mod:`.entry`)
==============  ===============================================================
"""

from __future__ import annotations

from functools import partial

from ..binary.module import ExternKind, Module, SegmentMode
from ..binary.opcodes import Op
from ..deftypes import close_valtype, matches, module_deftypes, type_id_sub
from ..errors import LinkError, Trap, TrapCode
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType
from .callstack import deeper, shallow_bound
from .exceptions import TagInstance
from .func import Func
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

    __slots__ = ("ns", "funcs", "memories", "tables", "globals", "tags", "exports", "module", "slots",
                 "__weakref__")  # fmt: skip

    def __init__(self):
        self.ns: dict = {}
        self.funcs: list[Func] = []
        self.memories: list[LinearMemory] = []
        self.tables: list[TableInstance] = []
        self.globals: list[GlobalInstance] = []
        self.tags: list[TagInstance] = []
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
    """Raise LinkError unless ``value`` (a runtime object) can satisfy import ``imp``
    (Wasm 3.0 matching: a function of a subtype, a global of a subtype if immutable, tables
    with equal element types, memories and tables of the same address type)."""
    where = f"import {imp.module!r} {imp.name!r}"
    deftypes = module_deftypes(module)
    if imp.kind == ExternKind.FUNC:
        if not isinstance(value, Func):
            raise LinkError(f"{where}: expected a function, got {type(value).__name__}")
        want = deftypes[imp.type]
        if not type_id_sub(value.type_id, want.id):
            raise LinkError(f"{where}: incompatible import type: expected {want.comp}, "
                            f"got {value.type}")  # fmt: skip
    elif imp.kind == ExternKind.TABLE:
        if not isinstance(value, TableInstance):
            raise LinkError(f"{where}: expected a table, got {type(value).__name__}")
        tt: TableType = imp.type  # type: ignore[assignment]
        if (value.type.elem is not close_valtype(tt.elem, deftypes)
                or value.type.is_64 != tt.is_64
                or not _limits_match(value.limits(), tt.limits)):  # fmt: skip
            raise LinkError(f"{where}: incompatible import type for table")
    elif imp.kind == ExternKind.MEMORY:
        if not isinstance(value, LinearMemory):
            raise LinkError(f"{where}: expected a memory, got {type(value).__name__}")
        mt: MemoryType = imp.type  # type: ignore[assignment]
        if value.type.is_64 != mt.is_64 or not _limits_match(value.limits(), mt.limits):
            raise LinkError(f"{where}: incompatible import type for memory")
    elif imp.kind == ExternKind.TAG:
        if not isinstance(value, TagInstance):
            raise LinkError(f"{where}: expected a tag, got {type(value).__name__}")
        if value.type_id != deftypes[imp.type].id:
            raise LinkError(f"{where}: incompatible import type for tag: expected "
                            f"{deftypes[imp.type].comp}, got {value.type}")  # fmt: skip
    else:
        if not isinstance(value, GlobalInstance):
            raise LinkError(f"{where}: expected a global, got {type(value).__name__}")
        gt: GlobalType = imp.type  # type: ignore[assignment]
        have = value.type.valtype
        want_t = close_valtype(gt.valtype, deftypes)
        ok = value.type.mutable == gt.mutable and (
            have is want_t if gt.mutable else matches(have, want_t))
        if not ok:
            raise LinkError(f"{where}: incompatible import type for global")


_MASK = {Op.I32_ADD: 0xFFFFFFFF, Op.I32_SUB: 0xFFFFFFFF, Op.I32_MUL: 0xFFFFFFFF,
         Op.I64_ADD: 0xFFFFFFFFFFFFFFFF, Op.I64_SUB: 0xFFFFFFFFFFFFFFFF,
         Op.I64_MUL: 0xFFFFFFFFFFFFFFFF}  # fmt: skip


def eval_const(expr, state: InstanceState, module: Module):
    """Evaluate a constant expression (Wasm 3.0's constant instructions, extended constant
    arithmetic included)."""
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
        elif op in _MASK:
            b = stack.pop()
            a = stack.pop()
            r = a + b if op in (Op.I32_ADD, Op.I64_ADD) else a - b if op in (
                Op.I32_SUB, Op.I64_SUB) else a * b  # fmt: skip
            stack.append(r & _MASK[op])
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
    deftypes = module_deftypes(module)
    for i, d in enumerate(deftypes):
        ns[f"TY{i}"] = d.id
    # Imports, per index space.
    for imp, value in zip(module.imports, imports):
        if imp.kind == ExternKind.FUNC:
            state.funcs.append(value)
        elif imp.kind == ExternKind.TABLE:
            state.tables.append(value)
        elif imp.kind == ExternKind.MEMORY:
            state.memories.append(value)
        elif imp.kind == ExternKind.TAG:
            state.tags.append(value)
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
    ftypes = [deftypes[t] for t in module.func_type_indices()]
    pynames = source.func_names
    wasm = Func._wasm
    for index in range(nimp, len(pynames)):
        stub, tail_stub = slots.stub(index), slots.tail_stub(index)
        # the slot and the tail-call entry (see .tailcall) until the function is bound
        ns[pynames[index]] = stub
        ns[pynames[index] + "_t"] = tail_stub
        f = wasm(store, ftypes[index], stub, index, names.get(index), owner)
        f.tailraw = tail_stub
        state.funcs.append(f)
    for i, f in enumerate(state.funcs):
        ns[f"R{i}"] = f
        if i < nimp:
            raw = f.raw_for(owner)
            # what tail calls name (see runtime.tailcall)
            slots.set_import(i, raw, raw if f.host is not None else f.tailraw)
    if source.eager:
        for index in range(nimp, len(pynames)):
            slots.python_function(index)
    # Tags, memories and tables (table initialisers may read imported globals).
    for tidx in module.tags:
        state.tags.append(TagInstance(deftypes[tidx].comp, f"tag {len(state.tags)}",
                                      deftypes[tidx].id))  # fmt: skip
    for i, tag in enumerate(state.tags):
        ns[f"TG{i}"] = tag
    for m in module.memories:
        state.memories.append(LinearMemory(m, store.limits))
    for k, t in enumerate(module.tables):
        init = module.table_inits[k] if k < len(module.table_inits) else None
        value = None if init is None else eval_const(init, state, module)
        state.tables.append(TableInstance(_closed_table(t, deftypes), value, store.limits))
    for i, t in enumerate(state.tables):
        ns[f"T{i}"] = t.elements
        ns[f"TB{i}"] = t
    for i, mem in enumerate(state.memories):
        suffix = str(i) if i else ""
        ns["MEM" + suffix] = mem
        mem.bind(ns, "M" + suffix, typed=True)
    # Globals (initialisers may read earlier globals and take function references).
    for g in module.globals:
        gt = GlobalType(close_valtype(g.type.valtype, deftypes), g.type.mutable)
        state.globals.append(GlobalInstance(gt, eval_const(g.init, state, module),
                                            store.native))  # fmt: skip
    for i, g in enumerate(state.globals):
        ns[f"G{i}"] = g.cell if g.type.mutable else g.cell[0]
    # Exports.
    spaces = {ExternKind.FUNC: state.funcs, ExternKind.TABLE: state.tables,
              ExternKind.MEMORY: state.memories, ExternKind.GLOBAL: state.globals,
              ExternKind.TAG: state.tags}  # fmt: skip
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


def _closed_table(t: TableType, deftypes) -> TableType:
    elem = close_valtype(t.elem, deftypes)
    return t if elem is t.elem else TableType(elem, t.limits, t.is_64)


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
    raw = func.raw_for(owner)
    state.slots.set_import(index, raw, raw if func.host is not None else func.tailraw)


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
