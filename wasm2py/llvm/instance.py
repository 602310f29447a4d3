"""Instances of modules compiled by the LLVM tier.

:func:`instantiate` resolves imports, builds the instance's context (see :mod:`.abi`), its
globals, tables and funcref records, runs the element and data segments and the start
function, and wraps every exported function in a :class:`~wasm2py.Func` whose raw callable
enters jitted code through a ctypes call of the function's entry wrapper.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from threading import get_ident

from ..binary.module import ExternKind, Module, SegmentMode
from ..errors import LinkError, Trap, TrapCode
from ..externs import Global, Memory, Table, to_runtime
from ..instance import Exports
from ..runtime.func import Func, type_id
from ..runtime.globals import GlobalInstance
from ..runtime.instance import display_name, eval_const
from ..runtime.memory import LinearMemory
from ..runtime.table import TableInstance
from ..types import Limits, MemoryType, ValType
from . import abi
from .jit import CompiledModule, compile_module
from .native import (
    ENTRY,
    MEMORY_GROW,
    TABLE_GROW,
    U64,
    NativeGlobal,
    NativeRuntime,
    NativeTable,
    _to_internal,
    _to_slot,
    adopt_global,
    adopt_table,
    new_global,
    runtime_for,
    slot_readers,
    slot_writers,
)


class _SizeHook(dict):
    """Registered with :meth:`LinearMemory.bind`: growth assigns the new view, and this keeps
    the context's byte-size slot equal to its length."""

    def __init__(self, ctx, slot: int):
        super().__init__()
        self.ctx = ctx
        self.slot = slot

    def __setitem__(self, key, view) -> None:
        self.ctx[self.slot] = len(view)


def _limits_match(actual: Limits, required: Limits) -> bool:
    if actual.min < required.min:
        return False
    if required.max is None:
        return True
    return actual.max is not None and actual.max <= required.max


class LLVMInstance:
    """An instance running in the LLVM tier.

    Attributes:
        exports: an :class:`~wasm2py.Exports` mapping: functions are :class:`~wasm2py.Func`
            (callable like the Python tier's), memories :class:`~wasm2py.Memory`, globals
            :class:`LLVMGlobal`, tables :class:`LLVMTable`.
        compiled: the :class:`CompiledModule`.
        funcs, globals, tables, memories: the index spaces (runtime objects).
    """

    def __init__(self, store, compiled: CompiledModule, imports):
        self.store = store
        self.compiled = compiled
        m = compiled.module
        self.module = m
        rt = runtime_for(store)
        self.rt = rt
        values = _import_list(store, m, imports)
        layout = compiled.layout
        ctx = (U64 * layout.size)()
        self.ctx = ctx
        ctx_addr = ctypes.addressof(ctx)
        self.ctx_addr = ctx_addr
        rt.keep.append(self)
        ctx[abi.CTX_RT] = rt.addr
        for i, t in enumerate(m.types):
            ctx[layout.type_slot(i)] = type_id(t)
        nfuncs = len(m.func_types())
        records = (U64 * (3 * max(nfuncs, 1)))()
        self.records = records
        rec_base = ctypes.addressof(records)
        ctx[abi.CTX_FUNCREFS] = rec_base
        self.funcs: list[Func] = []
        self.globals: list[NativeGlobal] = []
        self.tables: list[NativeTable] = []
        self.memories: list[LinearMemory] = []
        ftypes = m.func_types()
        # -- imports
        for imp, value in zip(m.imports, values):
            where = f"import {imp.module!r} {imp.name!r}"
            if imp.kind == ExternKind.FUNC:
                if not isinstance(value, Func):
                    raise LinkError(f"{where}: expected a function, got {type(value).__name__}")
                want = m.types[imp.type]
                if value.type != want:
                    raise LinkError(f"{where}: incompatible import type: expected {want}, "
                                    f"got {value.type}")  # fmt: skip
                k = len(self.funcs)
                rec = getattr(value.raw, "_llvm_record", None)
                if rec is None or getattr(value.raw, "_llvm_rt", None) is not rt:
                    rec = rt.foreign_record(value, self, compiled.trampolines[imp.type])
                src = (U64 * 3).from_address(rec)
                fslot, eslot = layout.import_slots(k)
                ctx[fslot] = src[abi.REC_FN]
                ctx[eslot] = src[abi.REC_ENV]
                records[3 * k : 3 * k + 3] = list(src)
                rt.funcs_by_record[rec_base + 24 * k] = value
                self.funcs.append(value)
            elif imp.kind == ExternKind.TABLE:
                try:
                    t = adopt_table(rt, value)
                except TypeError:
                    raise LinkError(f"{where}: expected a table, got "
                                    f"{type(value).__name__}") from None  # fmt: skip
                tt = imp.type
                if t.type.elem != tt.elem or not _limits_match(t.limits(), tt.limits):
                    raise LinkError(f"{where}: incompatible import type for table")
                self.tables.append(t)
            elif imp.kind == ExternKind.MEMORY:
                if not isinstance(value, LinearMemory):
                    raise LinkError(f"{where}: expected a memory, got {type(value).__name__}")
                if not _limits_match(value.limits(), imp.type.limits):
                    raise LinkError(f"{where}: incompatible import type for memory")
                self.memories.append(value)
            else:
                try:
                    g = adopt_global(rt, value)
                except TypeError:
                    raise LinkError(f"{where}: expected a global, got "
                                    f"{type(value).__name__}") from None  # fmt: skip
                if g.type != imp.type:
                    raise LinkError(f"{where}: incompatible import type for global")
                self.globals.append(g)
        # -- defined functions and their records
        nimp = m.num_imported_funcs
        for k in range(len(m.funcs)):
            index = nimp + k
            base = 3 * index
            records[base] = type_id(ftypes[index])
            records[base + 1] = compiled.funcs[index]
            records[base + 2] = ctx_addr
            raw = _entry_raw(self, index)
            f = Func._wasm(store, ftypes[index], raw, index, display_name(m, index), self)
            self.funcs.append(f)
            rt.register_record(rec_base + 24 * index, f)
        # -- memory
        for mt in m.memories:
            self.memories.append(LinearMemory(mt))
        if self.memories:
            mem = self.memories[0]
            ctx[abi.CTX_MEM_BASE] = mem.address()
            ctx[abi.CTX_MEM_SIZE] = mem.size_bytes
            mem.bind(_SizeHook(ctx, abi.CTX_MEM_SIZE), "size")

            def grow(_ctx, delta, mem=mem):
                try:
                    return mem.grow(delta)
                except Exception:  # noqa: BLE001 - growth failure is -1, never an exception
                    return -1

            self._grow_cb = MEMORY_GROW(grow)
            ctx[abi.CTX_MEM_GROW] = ctypes.cast(self._grow_cb, ctypes.c_void_p).value

        def table_grow(_ctx, t, init, delta):
            try:
                return self.tables[t].grow_raw(delta, init)
            except Exception:  # noqa: BLE001
                return -1

        self._tgrow_cb = TABLE_GROW(table_grow)
        ctx[abi.CTX_TABLE_GROW] = ctypes.cast(self._tgrow_cb, ctypes.c_void_p).value
        # -- tables and globals
        for tt in m.tables:
            self.tables.append(NativeTable(rt, tt))
        for g in m.globals:
            self.globals.append(new_global(rt, g.type, self.eval_const(g.init)))
        for i, t in enumerate(self.tables):
            ctx[layout.table_slot(i)] = t.address
        for i, g in enumerate(self.globals):
            ctx[layout.global_slot(i)] = g.address
        # -- exports
        spaces = {ExternKind.FUNC: self.funcs, ExternKind.TABLE: self.tables,
                  ExternKind.MEMORY: self.memories, ExternKind.GLOBAL: self.globals}  # fmt: skip
        self.exports_rt = {e.name: spaces[e.kind][e.index] for e in m.exports}
        self.exports = Exports({name: _handle(store, item)
                                for name, item in self.exports_rt.items()})  # fmt: skip
        # -- segments
        self._segments = []
        elem_items = []
        for k, seg in enumerate(m.elems):
            items = [self.eval_const(e) for e in seg.items]
            enc = [rt.ref_of(v) if seg.type is ValType.FUNCREF else rt.handle_of(v) for v in items]
            arr = (U64 * max(len(enc), 1))(*enc)
            self._segments.append(arr)
            pslot, lslot = layout.elem_slots(k)
            ctx[pslot] = ctypes.addressof(arr)
            ctx[lslot] = len(enc)
            elem_items.append(enc)
        for k, seg in enumerate(m.datas):
            buf = ctypes.create_string_buffer(seg.data, max(len(seg.data), 1))
            self._segments.append(buf)
            pslot, lslot = layout.data_slots(k)
            ctx[pslot] = ctypes.addressof(buf)
            ctx[lslot] = len(seg.data)
        for k, seg in enumerate(m.elems):
            if seg.mode == SegmentMode.ACTIVE:
                offset = self.eval_const(seg.offset)
                table = self.tables[seg.table]
                enc = elem_items[k]
                if offset + len(enc) > table.size:
                    raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
                for j, v in enumerate(enc):
                    table.buf[offset + j] = v
            if seg.mode != SegmentMode.PASSIVE:
                ctx[layout.elem_slots(k)[1]] = 0
        for k, seg in enumerate(m.datas):
            if seg.mode == SegmentMode.ACTIVE:
                offset = self.eval_const(seg.offset)
                view = self.memories[seg.memory].view
                if offset + len(seg.data) > len(view):
                    raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
                view[offset : offset + len(seg.data)] = seg.data
                ctx[layout.data_slots(k)[1]] = 0
        if m.start is not None:
            self.funcs[m.start]()

    def eval_const(self, expr):
        """Evaluate a constant expression (internal representation); this instance has the
        ``funcs`` and ``globals`` index spaces the runtime's evaluator reads."""
        return eval_const(expr, self, self.module)

    def memory(self):
        """Memory 0 as a :class:`~wasm2py.Memory` (or None); host functions that take a
        ``Caller`` see this through ``caller.memory``."""
        return Memory._wrap(self.store, self.memories[0]) if self.memories else None

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.exports[name]
        except KeyError:
            raise AttributeError(f"instance has no export {name!r}") from None

    def __repr__(self) -> str:
        return f"<wasm2py.llvm.LLVMInstance exports={list(self.exports)}>"


def _entry_raw(inst: LLVMInstance, index: int):
    """The raw callable (``raw(*args, depth)``) of defined function ``index``: enters jitted
    code through the function's entry wrapper; a lazy one if it has none."""
    rt: NativeRuntime = inst.rt
    ft = inst.module.func_types()[index]
    addr = inst.compiled.entries.get(index)
    if addr is None:

        def missing(*a):
            raise Trap(TrapCode.UNREACHABLE, "LLVM tier: function has no entry wrapper")

        missing._llvm_record = ctypes.addressof(inst.records) + 24 * index
        missing._llvm_rt = rt
        return missing
    if ValType.V128 in ft.params or ValType.V128 in ft.results:
        return _entry_raw_wide(inst, index, addr)
    cfn = ENTRY(addr)
    writers = [_to_slot(t, rt) for t in ft.params]
    readers = [_to_internal(t, rt) for t in ft.results]
    n = max(len(writers), len(readers), 1)
    slots = (U64 * n)()
    slots_addr = ctypes.addressof(slots)
    ctx_addr = inst.ctx_addr
    maxd = rt.max_depth - 1  # rem = max_call_depth - 1 - depth: trap when depth >= max
    status = rt.rt
    enter = rt.enter
    nparams = len(writers)
    nres = len(readers)
    simple = all(t is ValType.I32 or t is ValType.I64 for t in ft.params)

    if nres == 1:
        r0 = readers[0]
    if simple:

        def raw(*a):
            slots[:nparams] = a[:nparams]
            if get_ident() != rt.thread:
                enter()
            cfn(ctx_addr, maxd - a[nparams], slots_addr)
            if status[0]:
                rt.raise_status()
            if nres == 1:
                return r0(slots[0])
            if nres == 0:
                return None
            return tuple(r(slots[k]) for k, r in enumerate(readers))

    else:

        def raw(*a):
            for k, w in enumerate(writers):
                slots[k] = w(a[k])
            if get_ident() != rt.thread:
                enter()
            cfn(ctx_addr, maxd - a[nparams], slots_addr)
            if status[0]:
                rt.raise_status()
            if nres == 1:
                return r0(slots[0])
            if nres == 0:
                return None
            return tuple(r(slots[k]) for k, r in enumerate(readers))

    raw._llvm_record = ctypes.addressof(inst.records) + 24 * index
    raw._llvm_rt = rt
    return raw


def _entry_raw_wide(inst: LLVMInstance, index: int, addr: int):
    """:func:`_entry_raw` for a type with v128 values (two slots each, see
    :func:`.abi.slot_offsets`)."""
    rt: NativeRuntime = inst.rt
    ft = inst.module.func_types()[index]
    cfn = ENTRY(addr)
    writers = slot_writers(ft.params, rt)
    readers = slot_readers(ft.results, rt)
    n = max(abi.slot_offsets(ft.params)[1], abi.slot_offsets(ft.results)[1], 1)
    slots = (U64 * n)()
    slots_addr = ctypes.addressof(slots)
    ctx_addr = inst.ctx_addr
    maxd = rt.max_depth - 1
    status = rt.rt
    enter = rt.enter
    nparams = len(writers)
    nres = len(readers)

    def raw(*a):
        for k, w in enumerate(writers):
            w(slots, a[k])
        if get_ident() != rt.thread:
            enter()
        cfn(ctx_addr, maxd - a[nparams], slots_addr)
        if status[0]:
            rt.raise_status()
        if nres == 1:
            return readers[0](slots)
        if nres == 0:
            return None
        return tuple(r(slots) for r in readers)

    raw._llvm_record = ctypes.addressof(inst.records) + 24 * index
    raw._llvm_rt = rt
    return raw


def _import_list(store, m: Module, imports) -> list:
    if imports is None:
        imports = {}
    if isinstance(imports, Mapping):
        values = []
        for imp in m.imports:
            try:
                values.append(imports[imp.module][imp.name])
            except (KeyError, TypeError):
                raise LinkError(f"unknown import: {imp.module!r} {imp.name!r}") from None
    else:
        values = list(imports)
    if len(values) != len(m.imports):
        raise LinkError(f"module has {len(m.imports)} imports, {len(values)} given")
    out = []
    for imp, v in zip(m.imports, values):
        if isinstance(v, LLVMGlobal | LLVMTable):
            out.append(v._rt)
            continue
        if imp.kind == ExternKind.FUNC and not isinstance(v, Func) and callable(v):
            v = Func(store, m.types[imp.type], v)
        elif imp.kind == ExternKind.GLOBAL and isinstance(v, int | float) and not isinstance(
            v, bool
        ):
            v = GlobalInstance(imp.type, _to_internal_value(imp.type.valtype, v))
        out.append(to_runtime(v))
    return out


def _to_internal_value(t, v):
    from ..runtime.values import TO_INTERNAL

    return TO_INTERNAL[t](v)


class LLVMGlobal:
    """Embedder handle of a native global (like :class:`~wasm2py.Global`)."""

    __slots__ = ("_store", "_rt")

    def __init__(self, store, rt: NativeGlobal):
        self._store = store
        self._rt = rt

    @property
    def type(self):
        return self._rt.type

    @property
    def value(self):
        from ..runtime.values import TO_EXTERNAL

        return TO_EXTERNAL[self._rt.type.valtype](self._rt.value)

    @value.setter
    def value(self, v) -> None:
        from ..runtime.values import TO_INTERNAL

        if not self._rt.type.mutable:
            raise AttributeError("global is immutable")
        self._rt.value = TO_INTERNAL[self._rt.type.valtype](v)

    def __repr__(self) -> str:
        return f"<wasm2py.llvm.LLVMGlobal {self._rt.type} = {self.value!r}>"


class LLVMTable:
    """Embedder handle of a native table (like :class:`~wasm2py.Table`)."""

    __slots__ = ("_store", "_rt")

    def __init__(self, store, rt: NativeTable):
        self._store = store
        self._rt = rt

    @property
    def type(self):
        return self._rt.type

    @property
    def size(self) -> int:
        return self._rt.size

    def get(self, index: int):
        return self._rt.get(index)

    def set(self, index: int, value) -> None:
        self._rt.set(index, value)

    def grow(self, delta: int, init=None) -> int:
        return self._rt.grow(delta, init)

    def __repr__(self) -> str:
        return f"<wasm2py.llvm.LLVMTable {self._rt.type} size={self.size}>"


def _handle(store, item):
    if isinstance(item, LinearMemory):
        return Memory._wrap(store, item)
    if isinstance(item, NativeGlobal):
        return LLVMGlobal(store, item)
    if isinstance(item, NativeTable):
        return LLVMTable(store, item)
    return item


def instantiate(store, module, imports=None, opt_level: int = 2) -> LLVMInstance:
    """Instantiate ``module`` in the LLVM tier.

    Args:
        store: the :class:`~wasm2py.Store`.
        module: a :class:`CompiledModule`, a :class:`wasm2py.Module` or a decoded and
            validated :class:`wasm2py.binary.module.Module` (compiled at ``opt_level``).
        imports: a list (import order) or ``{"module": {"name": item}}``; items are
            :class:`~wasm2py.Func` or plain callables, :class:`~wasm2py.Memory`, tables and
            globals of either tier (Python-tier tables and mutable globals are adopted: see
            :mod:`.native`), or numbers for immutable globals.

    Raises:
        LinkError: an import is missing or has the wrong type.
        Trap: a segment does not fit, or the start function trapped.
        UnsupportedFeature: the module uses something the LLVM tier does not implement.
    """
    if not isinstance(module, CompiledModule):
        decoded = getattr(module, "_module", module)
        module = compile_module(decoded, opt_level)
    return LLVMInstance(store, module, imports)


__all__ = ["LLVMInstance", "LLVMGlobal", "LLVMTable", "instantiate", "MemoryType", "Global",
           "Table", "TableInstance"]  # fmt: skip
