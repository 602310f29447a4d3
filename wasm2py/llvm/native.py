"""The LLVM tier's native runtime state: the per-store runtime struct, funcref records, host
callbacks, native globals and tables.

For this first version the LLVM tier keeps its *own* native storage for globals and tables
(see ``README.md`` in this package for how both tiers will share it): an instance running in the
LLVM tier owns :class:`NativeGlobal` cells and :class:`NativeTable` arrays; a Python-tier
:class:`~wasm2py.runtime.table.TableInstance` or mutable
:class:`~wasm2py.runtime.globals.GlobalInstance` imported by an LLVM instance is *adopted*: the
runtime makes one native copy that every LLVM instance of the store then shares (the Python
object does not see later native writes). Linear memory is shared for real: jitted code uses
the memory's fixed base address and a byte size that a growth hook keeps current.
"""

from __future__ import annotations

import ctypes
import threading
import weakref

from ..errors import Trap
from ..runtime.func import Func, type_id
from ..runtime.globals import GlobalInstance
from ..runtime.table import MAX_TABLE_SIZE, TableInstance
from ..runtime.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from ..types import FuncType, GlobalType, Limits, TableType, ValType
from . import abi

U64 = ctypes.c_uint64
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

#: callback signature of host functions: (env, rem, slots) -> None
CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
#: entry wrappers: (ctx, rem, slots) -> None
ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
MEMORY_GROW = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint32)
TABLE_GROW = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64,
                              ctypes.c_uint32)  # fmt: skip

#: native stack kept free below the lowest jitted frame (for host callbacks and Python)
STACK_MARGIN = 256 * 1024


def _libc():
    try:
        lib = ctypes.CDLL(None)
        lib.pthread_self.restype = ctypes.c_ulong
        lib.pthread_getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
        lib.pthread_attr_getstack.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.pthread_attr_destroy.argtypes = [ctypes.c_void_p]
        return lib
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def thread_stack_bounds() -> tuple[int, int] | None:
    """(lowest address, size) of the calling thread's native stack, or None if unknown."""
    lib = _LIBC
    if lib is None:
        return None
    attr = ctypes.create_string_buffer(128)  # >= sizeof(pthread_attr_t) everywhere
    if lib.pthread_getattr_np(lib.pthread_self(), attr) != 0:
        return None
    addr = ctypes.c_void_p()
    size = ctypes.c_size_t()
    try:
        if lib.pthread_attr_getstack(attr, ctypes.byref(addr), ctypes.byref(size)) != 0:
            return None
    finally:
        lib.pthread_attr_destroy(attr)
    if not addr.value:
        return None
    return addr.value, size.value


class _ThreadLimit(threading.local):
    limit = -1


def _to_internal(t: ValType, rt: NativeRuntime):
    if t is ValType.I32:
        return lambda v: v & M32
    if t is ValType.I64:
        return lambda v: v
    if t is ValType.F32:
        return lambda v: f32_from_bits(v & M32)
    if t is ValType.F64:
        return f64_from_bits
    if t is ValType.FUNCREF:
        return rt.func_of
    return rt.extern_of


def _to_slot(t: ValType, rt: NativeRuntime):
    if t is ValType.I32 or t is ValType.I64:
        return lambda v: v
    if t is ValType.F32:
        return f32_to_bits
    if t is ValType.F64:
        return f64_to_bits
    if t is ValType.FUNCREF:
        return rt.ref_of
    return rt.handle_of


def slot_readers(types, rt: NativeRuntime) -> list:
    """For each of ``types``, a function reading that value (internal representation) from a
    slot array (a v128 from two slots, low first: see :func:`.abi.slot_offsets`)."""
    out = []
    for off, t in zip(abi.slot_offsets(types)[0], types):
        if t is ValType.V128:
            out.append(lambda s, k=off: s[k] | (s[k + 1] << 64))
        else:
            rd = _to_internal(t, rt)
            out.append(lambda s, k=off, rd=rd: rd(s[k]))
    return out


def slot_writers(types, rt: NativeRuntime) -> list:
    """For each of ``types``, a function ``w(slots, value)`` storing an internal value."""
    out = []
    for off, t in zip(abi.slot_offsets(types)[0], types):
        if t is ValType.V128:

            def w(s, v, k=off):
                s[k] = v & M64
                s[k + 1] = v >> 64

        else:

            wr = _to_slot(t, rt)

            def w(s, v, k=off, wr=wr):
                s[k] = wr(v)

        out.append(w)
    return out


class NativeRuntime:
    """Per-store native state: the ``rt`` struct, the pending host exception, funcref records of
    functions and the handles of externrefs, and everything native that must stay alive."""

    def __init__(self, store):
        self.store_ref = weakref.ref(store)
        self.max_depth = store.max_depth
        self.rt = (U64 * abi.RT_SLOTS)()
        self.addr = ctypes.addressof(self.rt)
        self.pending: BaseException | None = None
        #: record address -> Func, and id(Func) -> record address
        self.funcs_by_record: dict[int, Func] = {}
        self.records_by_func: dict[int, int] = {}
        #: externref handle -> object, id(object) -> handle
        self.externs: dict[int, object] = {}
        self.handles: dict[int, int] = {}
        self.adopted: dict[int, object] = {}
        self.keep: list = []
        self._tramps: dict[FuncType, int] = {}
        self._thread = _ThreadLimit()
        #: the thread whose stack limit ``rt`` holds (0: none yet)
        self.thread = 0

    # -- the boundary -----------------------------------------------------------------------
    def enter(self) -> None:
        """Set the native stack limit for the calling thread. Entries call this only when the
        thread differs from the last one that entered (``self.thread``)."""
        t = self._thread
        if t.limit < 0:
            bounds = thread_stack_bounds()
            t.limit = 0 if bounds is None else bounds[0] + STACK_MARGIN
        self.rt[abi.RT_STACK_LIMIT] = t.limit
        self.thread = threading.get_ident()

    def raise_status(self) -> None:
        """Turn the trap status into the exception (and clear it)."""
        from ..errors import TrapCode

        rt = self.rt
        code = rt[abi.RT_TRAP]
        rt[abi.RT_TRAP] = 0
        if code == abi.HOST_EXCEPTION:
            e, self.pending = self.pending, None
            raise e
        raise Trap(abi.STATUS_TRAP.get(code, TrapCode.UNREACHABLE))

    # -- references -------------------------------------------------------------------------
    def func_of(self, v: int):
        return None if v == 0 else self.funcs_by_record[v]

    def ref_of(self, f) -> int:
        if f is None:
            return 0
        addr = self.records_by_func.get(id(f))
        if addr is None:
            addr = self.foreign_record(f)
        return addr

    def extern_of(self, v: int):
        return None if v == 0 else self.externs[v]

    def handle_of(self, obj) -> int:
        if obj is None:
            return 0
        h = self.handles.get(id(obj))
        if h is None:
            h = len(self.externs) + 1
            self.externs[h] = obj
            self.handles[id(obj)] = h
        return h

    def register_record(self, addr: int, f: Func) -> None:
        self.funcs_by_record[addr] = f
        self.records_by_func.setdefault(id(f), addr)
        self.keep.append(f)

    def foreign_record(self, f: Func, caller=None, tramp: int | None = None) -> int:
        """A record for a function that is not jitted in this store (host or Python tier):
        its entry is the trampoline of its type, its environment ``[rt, callback]``."""
        if tramp is None:
            tramp = self.trampoline(f.type)
        cb = self.callback(f, caller)
        env = (U64 * 2)(self.addr, ctypes.cast(cb, ctypes.c_void_p).value)
        rec = (U64 * 3)(type_id(f.type), tramp, ctypes.addressof(env))
        self.keep.extend((cb, env, rec))
        addr = ctypes.addressof(rec)
        if caller is None:
            self.register_record(addr, f)
        else:
            self.funcs_by_record[addr] = f
        return addr

    def callback(self, f: Func, caller=None):
        """The ctypes callback that runs ``f`` for jitted code (exceptions become a status)."""
        ft = f.type
        if ValType.V128 in ft.params or ValType.V128 in ft.results:
            return self._callback_wide(f, caller)
        readers = [_to_internal(t, self) for t in ft.params]
        writers = [_to_slot(t, self) for t in ft.results]
        n = max(len(readers), len(writers), 1)
        raw = f.raw_for(caller) if caller is not None else f.raw
        maxd = self.max_depth - 1
        rt = self.rt
        arr = U64 * n
        nres = len(writers)
        w0 = writers[0] if nres == 1 else None

        def cb(env, rem, slots):
            try:
                s = arr.from_address(slots)
                r = raw(*[rd(s[k]) for k, rd in enumerate(readers)], maxd - rem)
                if nres == 1:
                    s[0] = w0(r)
                elif nres:
                    for k, w in enumerate(writers):
                        s[k] = w(r[k])
            except BaseException as e:  # noqa: BLE001 - re-raised unchanged at the boundary
                self.pending = e
                rt[abi.RT_TRAP] = abi.HOST_EXCEPTION

        return CALLBACK(cb)

    def _callback_wide(self, f: Func, caller=None):
        """:meth:`callback` for a type with v128 values (two slots each)."""
        ft = f.type
        readers = slot_readers(ft.params, self)
        writers = slot_writers(ft.results, self)
        n = max(abi.slot_offsets(ft.params)[1], abi.slot_offsets(ft.results)[1], 1)
        raw = f.raw_for(caller) if caller is not None else f.raw
        maxd = self.max_depth - 1
        rt = self.rt
        arr = U64 * n
        single = len(ft.results) == 1

        def cb(env, rem, slots):
            try:
                s = arr.from_address(slots)
                r = raw(*[rd(s) for rd in readers], maxd - rem)
                for w, v in zip(writers, (r,) if single else r or ()):
                    w(s, v)
            except BaseException as e:  # noqa: BLE001 - re-raised unchanged at the boundary
                self.pending = e
                rt[abi.RT_TRAP] = abi.HOST_EXCEPTION

        return CALLBACK(cb)

    def trampoline(self, ft: FuncType) -> int:
        """Native address of a host trampoline for type ``ft`` (compiled once per type)."""
        addr = self._tramps.get(ft)
        if addr is None:
            from ..binary.module import Module
            from .jit import compile_module

            m = Module(types=[ft], raw=b"")
            cm = compile_module(m, opt_level=1)
            self.keep.append(cm)
            addr = self._tramps[ft] = cm.trampolines[0]
        return addr


_RUNTIMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_RT_LOCK = threading.Lock()


def runtime_for(store) -> NativeRuntime:
    """The native runtime of a store (created on first use)."""
    with _RT_LOCK:
        rt = _RUNTIMES.get(store)
        if rt is None:
            rt = _RUNTIMES[store] = NativeRuntime(store)
        return rt


# -- globals --------------------------------------------------------------------------------


class NativeGlobal:
    """A global whose value lives in an 8-byte native cell (f32 in the low 4 bytes).

    Attributes:
        type: the :class:`GlobalType`.
        address: address of the cell.
    """

    __slots__ = ("type", "cell", "address", "rt", "_get", "_set", "__weakref__")

    def __init__(self, rt: NativeRuntime, type: GlobalType, value: object):
        self.type = type
        self.rt = rt
        self.cell = (U64 * 1)()
        self.address = ctypes.addressof(self.cell)
        self._get = _to_internal(type.valtype, rt)
        self._set = _to_slot(type.valtype, rt)
        self.value = value

    @property
    def value(self) -> object:
        """The value (internal representation, as :attr:`GlobalInstance.value`)."""
        return self._get(self.cell[0])

    @value.setter
    def value(self, v: object) -> None:
        self.cell[0] = self._set(v) & M64


class NativeV128Global(NativeGlobal):
    """A v128 global: a 16-byte native cell (two 64-bit words, low first); its value is the
    unsigned 128-bit int of the Python tier."""

    __slots__ = ()

    def __init__(self, rt: NativeRuntime, type: GlobalType, value: object):
        self.type = type
        self.rt = rt
        self.cell = (U64 * 2)()
        self.address = ctypes.addressof(self.cell)
        self.value = value

    @property
    def value(self) -> int:
        """The value as an unsigned 128-bit int."""
        return self.cell[0] | (self.cell[1] << 64)

    @value.setter
    def value(self, v: int) -> None:
        self.cell[0] = v & M64
        self.cell[1] = (v >> 64) & M64


def new_global(rt: NativeRuntime, type: GlobalType, value: object) -> NativeGlobal:
    """A native global of ``type`` holding ``value`` (a 16-byte cell for v128)."""
    cls = NativeV128Global if type.valtype is ValType.V128 else NativeGlobal
    return cls(rt, type, value)


def adopt_global(rt: NativeRuntime, g) -> NativeGlobal:
    """The native global to use for an imported global object."""
    if isinstance(g, NativeGlobal):
        return g
    if not isinstance(g, GlobalInstance):
        raise TypeError(f"not a global: {type(g).__name__}")
    if not g.type.mutable:
        return new_global(rt, g.type, g.value)
    ng = rt.adopted.get(id(g))
    if ng is None:
        ng = rt.adopted[id(g)] = new_global(rt, g.type, g.value)
        rt.keep.append(g)
    return ng


# -- tables ---------------------------------------------------------------------------------


class NativeTable:
    """A table of references as a native array of 8-byte entries (0 is null; a funcref is a
    record address, an externref a handle) with a descriptor ``[entries, size, max]`` that
    jitted code reads."""

    __slots__ = ("type", "rt", "desc", "buf", "max", "__weakref__")

    def __init__(self, rt: NativeRuntime, type: TableType, init: object = None):
        self.type = type
        self.rt = rt
        limit = type.limits.max
        self.max = MAX_TABLE_SIZE if limit is None else min(limit, MAX_TABLE_SIZE)
        n = type.limits.min
        self.buf = (U64 * max(n, 1))()
        self.desc = (U64 * 3)(ctypes.addressof(self.buf), n, self.max)
        if init is not None and n:
            v = self.encode(init)
            for i in range(n):
                self.buf[i] = v

    @property
    def address(self) -> int:
        return ctypes.addressof(self.desc)

    @property
    def size(self) -> int:
        return self.desc[abi.TAB_SIZE]

    def encode(self, v: object) -> int:
        if self.type.elem is ValType.FUNCREF:
            return self.rt.ref_of(v)
        return self.rt.handle_of(v)

    def decode(self, raw: int) -> object:
        if self.type.elem is ValType.FUNCREF:
            return self.rt.func_of(raw)
        return self.rt.extern_of(raw)

    def get(self, i: int) -> object:
        if not 0 <= i < self.size:
            raise IndexError("table index out of bounds")
        return self.decode(self.buf[i])

    def set(self, i: int, v: object) -> None:
        if not 0 <= i < self.size:
            raise IndexError("table index out of bounds")
        self.buf[i] = self.encode(v)

    @property
    def elements(self) -> list:
        """A snapshot of the elements as Python objects."""
        return [self.decode(self.buf[i]) for i in range(self.size)]

    def grow_raw(self, delta: int, init: int) -> int:
        """Grow by ``delta`` entries set to the raw value ``init``; the old size or -1."""
        old = self.size
        new = old + delta
        if new > self.max:
            return -1
        if new > len(self.buf):
            buf = (U64 * max(new, 2 * len(self.buf)))()
            ctypes.memmove(buf, self.buf, old * 8)
            self.rt.keep.append(self.buf)  # a running call may still hold the old pointer
            self.buf = buf
            self.desc[abi.TAB_ENTRIES] = ctypes.addressof(buf)
        for i in range(old, new):
            self.buf[i] = init
        self.desc[abi.TAB_SIZE] = new
        return old

    def grow(self, delta: int, init: object = None) -> int:
        if delta < 0:
            return -1
        return self.grow_raw(delta, self.encode(init))

    def limits(self) -> Limits:
        return Limits(self.size, self.type.limits.max)


def adopt_table(rt: NativeRuntime, t) -> NativeTable:
    """The native table to use for an imported table object (one shared copy per store)."""
    if isinstance(t, NativeTable):
        return t
    if not isinstance(t, TableInstance):
        raise TypeError(f"not a table: {type(t).__name__}")
    nt = rt.adopted.get(id(t))
    if nt is None:
        nt = NativeTable(rt, TableType(t.type.elem, Limits(t.size, t.type.limits.max)))
        for i, v in enumerate(t.elements):
            nt.buf[i] = nt.encode(v)
        rt.adopted[id(t)] = nt
        rt.keep.append(t)
    return nt
