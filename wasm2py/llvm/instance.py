"""Running instances in the LLVM tier.

:class:`LLVMInstance` attaches jitted code to an instance built by the runtime
(:func:`wasm2py.runtime.instance.instantiate`): it shares that instance's memories, globals,
tables and functions, and switches the functions over to their jitted entries, which the
embedder's :class:`~wasm2py.Func` objects then call through ctypes.
"""

from __future__ import annotations

import ctypes
import functools
from threading import get_ident
from types import CodeType

from ..binary.module import ExternKind
from ..deftypes import close_valtype, module_deftypes, type_id_sub
from ..errors import Error
from ..externs import Memory
from ..runtime.exceptions import ExnRef
from ..runtime.fuelcell import put
from ..runtime.resumable import pass_through
from ..runtime.trap import MODULE_NAMES, FrameNames
from ..types import ValType
from . import abi
from .compiled import CompiledModule
from .native import (
    CATCH,
    ENTRY,
    MEMORY_GROW,
    TABLE_GROW,
    TABLE_SYNC,
    THROW,
    TYPE_SUB,
    U64,
    NativeRuntime,
    _to_internal,
    _to_slot,
    global_cell,
    mirror_of,
    runtime_for,
    slot_readers,
    slot_writers,
)


class _SizeHook(dict):
    """Registered with :meth:`LinearMemory.bind`: growth assigns the new view, and this keeps
    the context's byte-size slot equal to its length and its base slot equal to the memory's
    base (which changes if the memory had to move to grow)."""

    def __init__(self, ctx, mem, base_slot: int, size_slot: int):
        super().__init__()
        self.ctx = ctx
        self.mem = mem
        self.base_slot = base_slot
        self.size_slot = size_slot

    def __setitem__(self, key, view) -> None:
        self.ctx[self.size_slot] = len(view)
        self.ctx[self.base_slot] = self.mem.address()


class _SharedSegments(list):
    """``DATAS``/``ELEMS`` of an instance whose code also runs jitted: the context holds each
    segment's length (0 once dropped), so a drop by either tier is seen by both."""

    def __init__(self, items, ctx, slots: list[int], empty):
        super().__init__(items)
        self.ctx = ctx
        self.slots = slots
        self.empty = empty

    def __getitem__(self, k):
        if self.ctx[self.slots[k]] == 0:
            return self.empty
        return list.__getitem__(self, k)

    def __setitem__(self, k, v) -> None:
        list.__setitem__(self, k, v)
        if not len(v):
            self.ctx[self.slots[k]] = 0


class LLVMInstance:
    """The native side of an instance whose code runs jitted.

    It is made from the instance's Python-tier state (:class:`~wasm2py.runtime.instance.
    InstanceState`) and shares it: the same memories, globals (native cells), tables (native
    mirrors), segments and :class:`~wasm2py.Func` objects. Attaching builds the context (see
    :mod:`.abi`) and the funcref records, then rebinds each defined function's ``Func.raw``
    (and, for functions with loops or calls, ``Func.pyraw`` and the namespace slot ``f<i>``)
    to the jitted entry, so embedder calls, calls through tables and calls from Python-tier
    frames still running go to jitted code from then on.

    Attributes:
        compiled: the :class:`CompiledModule`; state: the shared instance state.
    """

    def __init__(self, store, compiled: CompiledModule, state, owner, arm: bool = True):
        self.store = store
        if compiled.guard:
            compiled = _guarded_code(store, compiled, state.memories)
        self.compiled = compiled
        self.state = state
        m = compiled.module
        self.module = m
        rt = runtime_for(store)
        if arm:  # (not for the baseline tier's shell: its code records trap frames itself)
            rt.arm()
        self.rt = rt
        if compiled.fuel_costs is not None and not rt.fuel_on:
            raise Error("the module was compiled with fuel metering: instantiate it in a store "
                        "with Config(consume_fuel=True)")  # fmt: skip
        if store.epoch is not None and not compiled.epoch:
            raise Error("the store interrupts code at its epoch deadline, but the module was "
                        "compiled without epoch checks (compile_module(..., epoch=True))")  # fmt: skip
        if not compiled.resumable:  # (resumable calls in the store: in the Python tier)
            rt.suspending = False
        layout = compiled.layout
        ctx = (U64 * layout.size)()
        self.ctx = ctx
        ctx_addr = ctypes.addressof(ctx)
        self.ctx_addr = ctx_addr
        self.keep: list = []
        rt.keep.append(self)
        rt.names[ctx_addr] = MODULE_NAMES.get(state.slots.source.filename, FrameNames())
        rt.instances[ctx_addr] = self
        state.ns["__llvm__"] = self  # (paused frames of the Python tier move over: place)
        #: (entry address, function address) of each jitted function (see _entry_raw), and
        #: what resumes their frames
        self.entry_addrs: dict[int, tuple[int, int]] = {}
        #: code of a function besides the code its record points at (by address): copies
        #: in later units (see add_unit), for NativeRuntime.code_frame
        self.other_code: dict[int, int] = {}
        self._guard_ready = False
        self._resume_entries: dict[int, tuple] = {}
        ctx[abi.CTX_RT] = rt.addr
        for i, d in enumerate(module_deftypes(m)):
            ctx[layout.type_slot(i)] = d.id
        funcs = state.funcs
        records = (U64 * (3 * max(len(funcs), 1)))()
        self.records = records
        rec_base = ctypes.addressof(records)
        ctx[abi.CTX_FUNCREFS] = rec_base
        ctx[abi.CTX_BODIES] = compiled.body_table
        # -- functions: imports are called through their own records (a direct native call
        # for jitted functions of this store, a trampoline into Python otherwise)
        nimp = m.num_imported_funcs
        self.owner = owner
        for k in range(nimp):
            self.bind_import(k, funcs[k])
        #: defined functions running jitted (all of them, unless the instance is jitted
        #: unit by unit: see add_unit), and those of them whose code is the baseline tier's
        self.jitted: set[int] = set()
        self.baseline: set[int] = set()
        type_indices = m.func_type_indices()
        # the environments of the functions not jitted (two words each, by index)
        envs = (U64 * (2 * max(len(funcs), 1)))()
        self.keep.append(envs)
        env_base = ctypes.addressof(envs)
        for index in range(nimp, len(funcs)):
            base = 3 * index
            records[base] = funcs[index].type_id
            if index in compiled.funcs:
                records[base + 1] = compiled.funcs[index]
                records[base + 2] = ctx_addr
            else:
                # not jitted (yet): the record calls the Python tier through the type's
                # trampoline until a unit with the function is added; its callback is made
                # at the first call (most functions of a tier-up instance are never called
                # from jitted code)
                env = env_base + 16 * index
                rt.defer_crossing(env, funcs[index])
                records[base + 1] = compiled.trampolines[type_indices[index]]
                records[base + 2] = env
            rt.register_record(rec_base + 24 * index, funcs[index], prefer=True)
        # -- memories
        memories = state.memories
        for k, mem in enumerate(memories):
            base_slot, size_slot = layout.memory_slots(k)
            ctx[base_slot] = mem.address()
            ctx[size_slot] = mem.size_bytes
            mem.bind(_SizeHook(ctx, mem, base_slot, size_slot), "size")

        def grow(_ctx, k, delta):
            try:
                return memories[k].grow(delta)
            except Exception:  # noqa: BLE001 - growth failure is -1, never an exception
                return -1

        self._grow_cb = MEMORY_GROW(grow)
        ctx[abi.CTX_MEM_GROW] = ctypes.cast(self._grow_cb, ctypes.c_void_p).value
        # -- exceptions: the throw and catch callbacks, the tags' uids
        tag_types = [t.type.params for t in state.tags]
        tag_writers = [slot_writers(p, rt) for p in tag_types]
        tag_readers = [slot_readers(p, rt) for p in tag_types]
        nslots = max([abi.slot_offsets(p)[1] for p in tag_types] + [1])
        exn_slots = U64 * nslots

        def throw(_ctx, tag, slots):
            s = exn_slots.from_address(slots)
            if tag < 0:  # throw_ref: the exnref handle in slot 0
                rt.start_unwinding(rt.extern_of(s[0]))
                return
            values = tuple(read(s) for read in tag_readers[tag])
            rt.start_unwinding(ExnRef(state.tags[tag], values))

        def catch(_ctx, handle, slots):
            exn = rt.extern_of(handle)
            s = exn_slots.from_address(slots)
            k = state.tags.index(exn.tag)
            for w, v in zip(tag_writers[k], exn.raw_values):
                w(s, v)

        self._throw_cb = THROW(throw)
        self._catch_cb = CATCH(catch)
        self._sub_cb = TYPE_SUB(lambda a, b: int(type_id_sub(a, b)))
        ctx[abi.CTX_THROW] = ctypes.cast(self._throw_cb, ctypes.c_void_p).value
        ctx[abi.CTX_CATCH] = ctypes.cast(self._catch_cb, ctypes.c_void_p).value
        ctx[abi.CTX_TYPE_SUB] = ctypes.cast(self._sub_cb, ctypes.c_void_p).value
        for k, tag in enumerate(state.tags):
            ctx[layout.tag_slot(k)] = tag.uid
        # -- tables and globals
        mirrors = [mirror_of(rt, t) for t in state.tables]
        self.mirrors = mirrors

        def table_grow(_ctx, t, init, delta):
            try:
                return mirrors[t].grow_raw(delta, init)
            except Exception:  # noqa: BLE001
                return -1

        def table_sync(_ctx, t, start, n):
            mirrors[t].pull(start, n)

        self._tgrow_cb = TABLE_GROW(table_grow)
        self._tsync_cb = TABLE_SYNC(table_sync)
        ctx[abi.CTX_TABLE_GROW] = ctypes.cast(self._tgrow_cb, ctypes.c_void_p).value
        ctx[abi.CTX_TABLE_SYNC] = ctypes.cast(self._tsync_cb, ctypes.c_void_p).value
        for i, mirror in enumerate(mirrors):
            ctx[layout.table_slot(i)] = mirror.address
        for i, g in enumerate(state.globals):
            ctx[layout.global_slot(i)] = global_cell(rt, g, self.keep)
        # -- segments, in the state instantiation left them (active ones already dropped)
        ns = state.ns
        elems = ns["ELEMS"]
        for k, seg in enumerate(m.elems):
            funcref = close_valtype(seg.type, module_deftypes(m)).storage is ValType.FUNCREF
            enc = [rt.ref_of(v) if funcref else rt.handle_of(v) for v in elems[k]]
            arr = (U64 * max(len(enc), 1))(*enc)
            self.keep.append(arr)
            pslot, lslot = layout.elem_slots(k)
            ctx[pslot] = ctypes.addressof(arr)
            ctx[lslot] = len(enc)
        datas = ns["DATAS"]
        for k in range(len(m.datas)):
            data = datas[k]
            buf = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
            self.keep.append(buf)
            pslot, lslot = layout.data_slots(k)
            ctx[pslot] = ctypes.addressof(buf)
            ctx[lslot] = len(data)
        ns["ELEMS"] = _SharedSegments(elems, ctx, [layout.elem_slots(k)[1]
                                                   for k in range(len(m.elems))], ())  # fmt: skip
        ns["DATAS"] = _SharedSegments(datas, ctx, [layout.data_slots(k)[1]
                                                   for k in range(len(m.datas))], b"")  # fmt: skip
        # -- switch the defined functions over to jitted code: for the embedder's calls at
        # once (``raw``); for calls from Python-tier code (tier "auto": frames still running;
        # the function's slot, see wasm2py.runtime.slots) only functions with loops or calls:
        # a straight-line one (bounded, usually tiny) runs faster in Python than through a
        # ctypes entry (jitted callers call it natively either way). ``py`` is what the entry
        # runs while a resumable call needs Python frames: the function's Python-tier code,
        # translated on first use
        for index in range(nimp, len(funcs)):
            if index in compiled.funcs:
                # (the type's entry calls the function's body where it has one)
                self._switch(index, compiled.entries[index],
                             compiled.bodies.get(index, compiled.funcs[index]),
                             index in compiled.long_funcs)  # fmt: skip

    @functools.cached_property
    def pausable(self) -> frozenset[int]:
        """The defined functions whose jitted code can suspend (see :func:`.facts.pausable_funcs`)."""
        from .facts import pausable_funcs

        return pausable_funcs(self.module, self.compiled.fuel_costs is not None)

    def place(self, rec):
        """``rec`` (a Python-tier record of this instance), as a record that resumes jitted if
        its function runs jitted now (see :func:`.paused.from_python`), else itself."""
        if rec.func_index not in self.jitted or not self.rt.suspending:
            return rec
        if rec.func_index not in self.pausable:  # (no suspend code to resume it with)
            return rec
        from .paused import from_python

        return from_python(self, rec)

    def native_record(self, index: int, offset: int, kind: str, depth: int, locals_, stack,
                      portable: tuple):  # fmt: skip
        """A frame record that resumes in jitted code of this instance, from wasm values (see
        :func:`.paused.native_record`)."""
        from .paused import native_record

        return native_record(self, index, offset, kind, depth, locals_, stack, portable)

    def resume_entry(self, index: int) -> tuple:
        """What resumes frames of function ``index`` (see :func:`.paused.resume_entry`)."""
        r = self._resume_entries.get(index)
        if r is None:
            from .paused import resume_entry  # (its suspend code's layout: llvmlite.ir)

            r = self._resume_entries[index] = resume_entry(self, index)
        return r

    def _switch(self, index: int, entry: int, fn: int, long: bool) -> None:
        slots = self.state.slots
        f = self.state.funcs[index]
        py = slots.python[index] or slots.stub(index)
        self.entry_addrs[index] = (entry, fn)
        f.set_raw(_entry_raw(self, index, py, entry, fn))
        if long:
            slots.set(index, f.raw)
        self.jitted.add(index)

    def add_unit(self, unit) -> None:
        """Run the functions of ``unit`` (a :class:`~.units.Unit` of this module) jitted from
        now on: their records (what jitted callers of other units and tables call) point at
        their machine code, and their entries replace them for the embedder and, for
        functions with loops or calls, in their slots (Python-tier callers). Call it on the
        thread running the instance's code (the record's two words change one after the
        other).

        Raises:
            Error: ``unit`` is guard-page code (``Unit.guard``) and a 32-bit memory of the
                instance has no guard reservation.
        """
        if unit.guard and not self._guard_ready:
            if not all(mem.guarded or mem.type.is_64 for mem in self.state.memories):
                raise Error("guard-page code needs guarded memories: load the unit with "
                            "guard=False for this instance")  # fmt: skip
            from .guard import install

            install()
            self._guard_ready = True
        if not unit.resumable:  # (resumable calls in the store: in the Python tier)
            self.rt.suspending = False
        baseline = unit.tier == "baseline"
        if not baseline:  # (LLVM code calls the trap-trace recorder; baseline code does not)
            self.rt.arm()
        self.keep.append(unit)
        records = self.records
        ctx_addr = self.ctx_addr
        for index, addr in unit.funcs.items():
            if index in self.jitted:
                # (its copy in this unit runs when the unit's own functions call it directly)
                self.other_code[addr] = index
                continue
            base = 3 * index
            records[base + 2] = ctx_addr
            records[base + 1] = addr
            self._switch(index, unit.entries[index], addr, index in unit.long_funcs)
            if baseline:
                self.baseline.add(index)

    def bind_import(self, k: int, value) -> None:
        """Make jitted code call ``value`` (a :class:`~wasm2py.Func` of the import's type) for
        imported function ``k``: at attach time, and again when a dynamic linker binds an
        import that a stand-in satisfied until its module was instantiated."""
        rt = self.rt
        m = self.module
        # a wasm function of this store has a record already (jitted, or a trampoline);
        # a host function gets one per importing instance (its Caller sees that instance)
        rec = rt.records_by_func.get(id(value)) if value.host is None else None
        if rec is None:
            ft_index = [imp.type for imp in m.imports if imp.kind == ExternKind.FUNC][k]
            rec = rt.foreign_record(value, self.owner, self.compiled.trampolines[ft_index])
        src = (U64 * 3).from_address(rec)
        fslot, eslot = self.compiled.layout.import_slots(k)
        self.ctx[fslot] = src[abi.REC_FN]
        self.ctx[eslot] = src[abi.REC_ENV]
        self.records[3 * k : 3 * k + 3] = list(src)
        rt.funcs_by_record[ctypes.addressof(self.records) + 24 * k] = value

    def memory(self):
        """Memory 0 as a :class:`~wasm2py.Memory` (or None)."""
        mems = self.state.memories
        return Memory._wrap(self.store, mems[0]) if mems else None

    def __repr__(self) -> str:
        return f"<wasm2py.llvm.LLVMInstance of {len(self.state.funcs)} functions>"


def _entry_raw(inst: LLVMInstance, index: int, py, entry: int, fn: int):
    """The raw callable (``raw(*args, depth)``) of defined function ``index``: enters jitted
    code through its type's entry (at native address ``entry``; the function's own, ``fn``,
    goes into the slot after the values once, see :func:`.abi.entry_slots`), or calls ``py``
    (its Python-tier raw) while a resumable call runs in the store (only Python frames can be
    suspended)."""
    rt: NativeRuntime = inst.rt
    store = inst.store
    ft = inst.state.funcs[index].type  # closed: typed references name DefTypes
    cfn = ENTRY(entry)
    if rt.fuel_on or ValType.V128 in ft.params or ValType.V128 in ft.results:
        return _general_entry(inst, ft, cfn, fn, py)
    writers = [_to_slot(t, rt) for t in ft.params]
    readers = [_to_internal(t, rt) for t in ft.results]
    n = abi.entry_slots(ft)
    slots = (U64 * (n + 1))()
    slots[n] = fn
    slots_addr = ctypes.addressof(slots)
    ctx_addr = inst.ctx_addr
    maxd = rt.max_depth - 1  # rem = budget - 1 - depth: trap when depth >= budget
    status = rt.rt
    enter = rt.enter
    nparams = len(writers)
    nres = len(readers)
    simple = all(t is ValType.I32 or t is ValType.I64 for t in ft.params)

    if nres == 1:
        # (an integer result as it is: the entry wrapper zero-extends an i32 into its slot)
        r0 = None if ft.results[0] in (ValType.I32, ValType.I64) else readers[0]
    # two copies of the hot path: all-integer arguments go into the slots with one slice
    # assignment instead of a converter call each
    if simple:

        def raw(*a):
            if store.resumable and not rt.suspending:
                return py(*a)
            slots[:nparams] = a[:nparams]
            if get_ident() != rt.thread:
                enter()
            cfn(ctx_addr, maxd - a[nparams], slots_addr)
            if status[0]:
                rt.raise_status()
            if nres == 1:
                return slots[0] if r0 is None else r0(slots[0])
            if nres == 0:
                return None
            return tuple(r(slots[k]) for k, r in enumerate(readers))

    else:

        def raw(*a):
            if store.resumable and not rt.suspending:
                return py(*a)
            for k, w in enumerate(writers):
                slots[k] = w(a[k])
            if get_ident() != rt.thread:
                enter()
            cfn(ctx_addr, maxd - a[nparams], slots_addr)
            if status[0]:
                rt.raise_status()
            if nres == 1:
                return slots[0] if r0 is None else r0(slots[0])
            if nres == 0:
                return None
            return tuple(r(slots[k]) for k, r in enumerate(readers))

    return raw


def _general_entry(inst: LLVMInstance, ft, cfn, fn: int, py):
    """:func:`_entry_raw` for a store with fuel metering or a type with v128 values (two slots
    each, see :func:`.abi.slot_offsets`). With fuel, the store's fuel goes into the native
    counter before the call and back after it (also when it traps); the moves are
    :meth:`NativeRuntime.fuel_to_native`/``fuel_to_store`` inlined (a call from Python is a
    hot path)."""
    rt: NativeRuntime = inst.rt
    store = inst.store
    writers = slot_writers(ft.params, rt)
    readers = slot_readers(ft.results, rt)
    n = abi.entry_slots(ft)
    slots = (U64 * (n + 1))()
    slots[n] = fn
    slots_addr = ctypes.addressof(slots)
    ctx_addr = inst.ctx_addr
    maxd = rt.max_depth - 1
    status = rt.rt
    enter = rt.enter
    fuel_on = rt.fuel_on
    to_native = rt.fuel_to_native
    fuel = rt.fuel_cell
    cell = fuel[0]  # (the store's fuel cell, see runtime.fuelcell)
    slot = abi.RT_FUEL
    nparams = len(writers)
    nres = len(readers)
    r0 = readers[0] if nres == 1 else None

    def raw(*a):
        if store.resumable and not rt.suspending:
            return py(*a)
        for k, w in enumerate(writers):
            w(slots, a[k])
        if get_ident() != rt.thread:
            enter()
        if not fuel_on:
            cfn(ctx_addr, maxd - a[nparams], slots_addr)
        else:
            if not fuel[1] and not rt.fuel_extra:  # (the cell's fuel is at most CELL_MAX)
                status[slot] = cell.cell_contents
                cfn(ctx_addr, maxd - a[nparams], slots_addr)
                put(fuel, status[slot] + rt.fuel_extra)  # a host function may have set more
            else:
                to_native()
                cfn(ctx_addr, maxd - a[nparams], slots_addr)
                rt.fuel_to_store()
        if status[0]:
            rt.raise_status()
        if nres == 1:
            return r0(slots)
        if nres == 0:
            return None
        return tuple(r(slots) for r in readers)

    return raw


def _guarded_code(store, compiled: CompiledModule, memories) -> CompiledModule:
    """``compiled`` (guard-page code) if every 32-bit memory of the instance has a guard
    reservation, else the module compiled with explicit bounds checks (an imported memory made
    where the reservation was refused): guard-mode code never runs against a memory whose
    out-of-bounds addresses could be mapped. Makes sure the fault handler is installed (on
    top, should something have replaced it since)."""
    if all(mem.guarded or mem.type.is_64 for mem in memories):
        from .guard import install

        install()
        return compiled
    return store.engine.load_llvm(compiled.module, compiled.opt_level, guard=False)


def instantiate(store, module, imports=None, opt_level: int | None = None):
    """Instantiate ``module`` with its code running in the LLVM tier, whatever the store's
    configured tier (``Config(tier="llvm")`` and :class:`wasm2py.Instance` is the usual way).

    Args:
        store: the :class:`~wasm2py.Store`.
        module: a :class:`wasm2py.Module`, or a :class:`CompiledModule` of this tier.
        imports: as for :class:`wasm2py.Instance`.
        opt_level: LLVM optimisation level (default: the engine's, ``llvm_opt_level`` or the
            quick pipeline for a big module: see ``Config.llvm_quick_bytes``).

    Returns:
        a :class:`wasm2py.Instance`.

    Raises:
        LinkError: an import is missing or has the wrong type.
        Trap: a segment does not fit, or the start function trapped.
        UnsupportedFeature: the module uses something the LLVM tier does not implement.
    """
    from ..instance import Instance
    from ..module import Module as APIModule

    if isinstance(module, CompiledModule):
        compiled = module
        module = APIModule(store.engine, module.module.raw)
    else:
        compiled = store.engine.load_llvm(module._module, opt_level)
    return Instance._create(store, module, imports, compiled)


for _code in (*_entry_raw.__code__.co_consts, *_general_entry.__code__.co_consts):
    if isinstance(_code, CodeType) and _code.co_name == "raw":
        pass_through(_code)

__all__ = ["LLVMInstance", "instantiate"]
