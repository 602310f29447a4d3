"""The LLVM tier's native runtime state: the per-store runtime struct, funcref records, host
callbacks, native globals and tables.

Both tiers share one state: jitted code uses the linear memory's fixed base address and a
byte size that a growth hook keeps current; mutable globals keep their value in native memory
(:mod:`wasm2py.runtime.globals`); a table's element list has a native :class:`TableMirror`
that both sides keep current.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import weakref
from types import CodeType

from ..errors import LinkError, Trap
from ..runtime.exceptions import WasmException
from ..runtime.fuelcell import put, total
from ..runtime.func import Func
from ..runtime.globals import GlobalInstance
from ..runtime.resumable import (
    add_native_frames,
    inner_frames,
    native_raiser,
    pass_through,
    pausing,
)
from ..runtime.table import TableInstance
from ..runtime.trap import NO_NAMES, TRAP_EXCEPTIONS, FrameNames, settle_frames, to_embedder
from ..runtime.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from ..types import FuncType, GlobalType, ValType
from . import abi

U64 = ctypes.c_uint64
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

#: callback signature of host functions: (env, rem, slots) -> None
CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
#: entry wrappers: (ctx, rem, slots) -> None
ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
#: (ctx, memory, delta) -> old size in pages, or -1
MEMORY_GROW = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64)
#: (ctx, table, init, delta) -> old size, or -1
TABLE_GROW = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64,
                              ctypes.c_uint64)  # fmt: skip
#: (ctx, tag or -1, slots): start unwinding a wasm exception (see abi.CTX_THROW)
THROW = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
#: (ctx, exnref handle, slots): the caught exception's values
CATCH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p)
#: (type id, type id) -> whether the first is a subtype of the second
TYPE_SUB = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint64, ctypes.c_uint64)
#: (ctx, table, start, n): jitted code wrote entries [start, start+n) of a table
TABLE_SYNC = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64,
                              ctypes.c_uint64)  # fmt: skip

#: native stack kept free below the lowest jitted frame (for host callbacks and Python)
STACK_MARGIN = 256 * 1024
#: the most fuel the native counter holds; more is kept aside in ``NativeRuntime.fuel_extra``
FUEL_CAP = (1 << 63) - 1


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
    if t.storage is ValType.FUNCREF:
        return rt.func_of
    return rt.extern_of  # externref, exnref (and the GC references' null)


def _to_slot(t: ValType, rt: NativeRuntime):
    if t is ValType.I32 or t is ValType.I64:
        return lambda v: v
    if t is ValType.F32:
        return f32_to_bits
    if t is ValType.F64:
        return f64_to_bits
    if t.storage is ValType.FUNCREF:
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
        self.max_depth = store.max_depth
        self.rt = (U64 * abi.RT_SLOTS)()
        self.addr = ctypes.addressof(self.rt)
        self.trace = (U64 * (2 + 2 * (abi.TRACE_FRAMES + 1)))()
        self.rt[abi.RT_TRACE] = ctypes.addressof(self.trace)
        self.rt[abi.RT_NAN_F32] = abi.CANON_NAN_F32
        self.rt[abi.RT_NAN_F64] = abi.CANON_NAN_F64
        #: context address -> function names of its module (for backtraces)
        self.names: dict[int, FrameNames] = {}
        self.pending: BaseException | None = None
        #: record address -> Func, and id(Func) -> record address
        self.funcs_by_record: dict[int, Func] = {}
        self.records_by_func: dict[int, int] = {}
        #: externref handle -> object, id(object) -> handle; handles are never reused
        self.externs: dict[int, object] = {}
        self.handles: dict[int, int] = {}
        self.next_handle = 1
        #: what holds handles outside running code: externref globals' native cells, tables'
        #: native mirrors (see :meth:`collect_externs`)
        self.extern_cells: weakref.WeakSet = weakref.WeakSet()
        self.mirrors: weakref.WeakSet = weakref.WeakSet()
        self.keep: list = []
        self._tramps: dict[FuncType, int] = {}
        self._thread = _ThreadLimit()
        #: the thread whose stack limit ``rt`` holds (0: none yet)
        self.thread = 0
        #: fuel metering (``Config.consume_fuel``): while jitted code runs, the fuel left is
        #: ``rt[RT_FUEL] + fuel_extra`` and ``store.fuel`` is stale; entries and callbacks
        #: move it between the two (see :meth:`fuel_to_native`, :meth:`fuel_to_store`)
        self.fuel_on = bool(store.config.consume_fuel)
        self.fuel_cell: list = store.fuel
        self.fuel_extra = 0
        epoch = store.epoch
        if epoch is not None and epoch.interrupted:
            self.rt[abi.RT_EPOCH] = 1
        #: resumable calls (see .suspend and .paused): the store (its ``resumable`` count);
        #: whether every jitted function of the store can suspend natively (else resumable
        #: calls run in the Python tier); the records spilled since a pause began (innermost
        #: first); the instances by context address
        self.store = store
        self.suspending = bool(store.config.llvm_resumable)
        self.rt[abi.RT_RESUMABLE] = store.resumable
        self.spilled: list = []
        #: the words of the paused jitted frames still held somewhere (by their NativeFrame):
        #: externref handles among them stay live (collect_externs)
        self.paused_words: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.instances: dict[int, object] = {}
        self._suspend_cb = None
        #: environment address -> (Func, caller) of the deferred crossings, and -> the
        #: callbacks made for them so far; the callback that makes them (see defer_crossing)
        self._deferred: dict[int, tuple] = {}
        self._made: dict[int, object] = {}
        #: foreign records get the baseline tier's trampolines (``tier="auto"`` stores whose
        #: instances run baseline code: no LLVM loaded for them; see :meth:`trampoline`)
        config = store.config
        self._baseline_tramps = config.tier == "auto" and config.baseline
        self._first_cb = CALLBACK(self._first_crossing)
        self._first_addr = ctypes.cast(self._first_cb, ctypes.c_void_p).value

    def arm(self) -> None:
        """Before the store's first jitted code: ``rt``'s trap-trace recorder and suspend
        callback, which only jitted code calls. Not at creation: a ``tier="auto"`` store
        makes its runtime at once (mutable globals keep their values in native cells), and a
        run that never gets hot would pay for LLVM (the recorder is jitted: with
        ``llvmlite.binding``'s import, ~30 CPU ms) for nothing."""
        if self._suspend_cb is not None:
            return
        from .jit import recorder_address
        from .paused import suspend_callback

        with _RT_LOCK:
            if self._suspend_cb is None:
                self.rt[abi.RT_RECORD] = recorder_address()
                cb = suspend_callback(self)
                self.rt[abi.RT_SUSPEND_CB] = ctypes.cast(cb, ctypes.c_void_p).value
                self._suspend_cb = cb

    def set_resumable(self, n: int) -> None:
        """``n`` resumable calls are running in the store (see ``abi.RT_RESUMABLE``)."""
        self.rt[abi.RT_RESUMABLE] = n

    def set_interrupted(self, on: bool) -> None:
        """The store's epoch deadline passed (or was moved ahead): jitted code compiled with
        epoch checks traps (or stops trapping) at its next check."""
        self.rt[abi.RT_EPOCH] = 1 if on else 0

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

    def fuel_to_native(self) -> None:
        """Entering jitted code: the store's fuel goes to ``rt[RT_FUEL]`` (the part above
        :data:`FUEL_CAP`, which no call can use up, waits in ``fuel_extra``)."""
        f = total(self.fuel_cell)
        if f > FUEL_CAP:
            self.fuel_extra = f - FUEL_CAP
            f = FUEL_CAP
        else:
            self.fuel_extra = 0
        self.rt[abi.RT_FUEL] = f

    def fuel_to_store(self) -> None:
        """Leaving jitted code (return, trap, or a call into Python): the fuel goes back to
        ``store.fuel``, where host functions and the Python tier read and change it."""
        put(self.fuel_cell, self.rt[abi.RT_FUEL] + self.fuel_extra)

    def raise_status(self) -> None:
        """Turn the trap status into the exception (and clear it)."""
        from ..errors import TrapCode

        rt = self.rt
        code = rt[abi.RT_TRAP]
        rt[abi.RT_TRAP] = 0
        frames = self.take_trace()
        # (the entry wrapper calling this: Python-tier frames above it come later, see
        # wasm2py.runtime.trap.settle_frames)
        entry = sys._getframe(1)
        if code == abi.SUSPEND:  # a resumable call pausing: the frames spilled go with it
            e, self.pending = self.pending, None
            add_native_frames(e, self.spilled[::-1])
            self.spilled = []
            raise e
        if code == abi.EXCEPTION:
            raise WasmException.of(self.extern_of(rt[abi.RT_EXN]))
        if code == abi.HOST_EXCEPTION:
            e, self.pending = self.pending, None
            if type(e) in TRAP_EXCEPTIONS:  # a trap of Python-tier code below the callback
                e = to_embedder(e)
            if isinstance(e, Trap):
                # frames of Python code below the callback, then the jitted ones above it
                settle_frames(e)
                e.frames.extend(frames)
                e.boundary = entry
            raise e
        t = Trap(abi.STATUS_TRAP.get(code, TrapCode.UNREACHABLE))
        t.frames = frames
        t.boundary = entry
        raise t

    def take_trace(self) -> list[tuple[int, str | None, int | None]]:
        """The wasm frames jitted code recorded on its way out of a trap (innermost first:
        (function index, name, wasm offset)), and reset the trace."""
        tr = self.trace
        n = min(tr[0], abi.TRACE_FRAMES)
        tr[0] = 0
        out = []
        prev = None
        for k in range(n):
            ctx, where = tr[2 + 2 * k], tr[3 + 2 * k]
            if ctx == 0:  # a frame of a guard-page trap: a code address (no wasm offset)
                hit = self.code_frame(where)
                if hit is not None and hit[2] and prev == (hit[0], hit[1], False):
                    # the tailcc function that called the frame below, its body: not a frame
                    # of its own (when LLVM inlined the body into it, no body frame is below)
                    prev = None
                    continue
                prev = hit
                if hit is not None:
                    out.append(self.names.get(hit[0], NO_NAMES).frame(hit[1], None))
                continue
            prev = None
            index = where >> 32
            out.append(self.names.get(ctx, NO_NAMES).frame(index, where & 0xFFFFFFFF))
        return out

    def code_frame(self, pc: int) -> tuple[int, int, bool] | None:
        """(context, function index, whether ``pc`` is in the ``tailcc`` function that calls
        the function's body rather than in the body) of the jitted function whose
        machine code holds ``pc``: the one starting last at or before it (``pc`` is in a wasm
        function's code, see ``guard.py``; a body follows its ``tailcc`` function)."""
        best = None
        for ctx, inst in self.instances.items():
            records = inst.records
            for index in inst.jitted:
                start = records[3 * index + 1]
                if start <= pc and (best is None or start > best[0]):
                    best = (start, ctx, index, inst)
            for start, index in inst.other_code.items():
                if start <= pc and (best is None or start > best[0]):
                    best = (start, ctx, index, inst)
        if best is None:
            return None
        _, ctx, index, inst = best
        body = inst.compiled.bodies.get(index)
        # (a function repointed at a tier-up unit's code has no body)
        wrapper = body is not None and best[0] == inst.compiled.funcs.get(index) and pc < body
        return ctx, index, wrapper

    def start_unwinding(self, exn) -> None:
        """Set the ``EXCEPTION`` status for the wasm exception ``exn`` (an ExnRef)."""
        rt = self.rt
        rt[abi.RT_EXN] = self.handle_of(exn)
        rt[abi.RT_EXN_TAG] = exn.tag.uid
        rt[abi.RT_TRAP] = abi.EXCEPTION

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
            h = self.next_handle
            self.next_handle = h + 1
            self.externs[h] = obj
            self.handles[id(obj)] = h
        return h

    def track_extern_cell(self, g) -> None:
        """``g`` (a :class:`GlobalInstance`) keeps an externref handle in native memory."""
        self.extern_cells.add(g)

    def collect_externs(self) -> int:
        """Forget the externref handles no global, table or paused jitted frame of this store
        holds any more, so their objects can be freed; returns how many. Only when no jitted code of the store
        is running (its frames may hold handles in registers): see :meth:`Store.gc`."""
        live = {0}
        for g in list(self.extern_cells):
            live.add(g.cell.slot[0])
        for m in list(self.mirrors):
            if m.table.type.elem is ValType.EXTERNREF:
                live.update(m.buf[: m.table.size])
        for words in list(self.paused_words.values()):  # (any word may be a handle: keeping
            live.update(words)  # an object a little longer is harmless, freeing one is not)
        dead = [h for h in self.externs if h not in live]
        for h in dead:
            obj = self.externs.pop(h)
            self.handles.pop(id(obj), None)
        return len(dead)

    def register_record(self, addr: int, f: Func, prefer: bool = False) -> None:
        """Record ``addr`` is ``f``'s; ``prefer``: use it for ``f`` from now on (a jitted
        record, better than a trampoline into Python made earlier)."""
        self.funcs_by_record[addr] = f
        if prefer:
            self.records_by_func[id(f)] = addr
        else:
            self.records_by_func.setdefault(id(f), addr)
        self.keep.append(f)

    def foreign_record(self, f: Func, caller=None, tramp: int | None = None) -> int:
        """A record for a function that is not jitted in this store (host or Python tier):
        its entry is the trampoline of its type, its environment ``[rt, callback]`` (see
        :meth:`defer_crossing`)."""
        if tramp is None:
            tramp = self.trampoline(f.type)
        env = (U64 * 2)()
        self.defer_crossing(ctypes.addressof(env), f, caller)
        rec = (U64 * 3)(f.type_id, tramp, ctypes.addressof(env))
        self.keep.extend((env, rec))
        addr = ctypes.addressof(rec)
        if caller is None:
            self.register_record(addr, f)
        else:
            self.funcs_by_record[addr] = f
        return addr

    def defer_crossing(self, env: int, f: Func, caller=None) -> None:
        """Make the environment at ``env`` (two words, kept alive by the caller) one whose
        trampoline runs ``f`` (``caller``: see :meth:`callback`). Its callback word points at
        the runtime's one first-crossing callback until jitted code first calls ``f``: that
        call makes ``f``'s own callback and points the word at it. So an instance pays for
        the crossings jitted code makes, not for every function it has (a tier-up instance
        of sqlite3: ~1,700 functions not jitted, of which its units call a few dozen)."""
        words = (U64 * 2).from_address(env)
        self._deferred[env] = (f, caller)
        self._made.pop(env, None)  # (an earlier environment at this address is gone)
        words[abi.ENV_RT] = self.addr
        words[abi.ENV_CALLBACK] = self._first_addr

    def _first_crossing(self, env: int, rem: int, slots: int) -> None:
        """Jitted code calls a deferred function the first time (see :meth:`defer_crossing`):
        make its callback, point the environment at it, and run this call through it."""
        try:
            cb = self._made.get(env)
            if cb is None:  # (setdefault: the callback of a racing first call is dropped)
                cb = self._made.setdefault(env, self.callback(*self._deferred[env]))
                words = (U64 * 2).from_address(env)
                words[abi.ENV_CALLBACK] = ctypes.cast(cb, ctypes.c_void_p).value
            run = cb.run
        except BaseException as e:  # noqa: BLE001 - never out of a ctypes callback
            self.pending = e  # (re-raised unchanged at the boundary; deferred still)
            self.rt[abi.RT_TRAP] = abi.HOST_EXCEPTION
            return
        run(env, rem, slots)  # (it reports what leaves f as a status itself)

    def callback(self, f: Func, caller=None):
        """The ctypes callback that runs ``f`` for jitted code (exceptions become a status;
        its Python function is its ``run``)."""
        cb = CALLBACK(run := self._crossing(f, caller))
        cb.run = run
        return cb

    def _crossing(self, f: Func, caller=None):
        """The Python function of :meth:`callback`."""
        ft = f.type
        n = max(abi.slot_offsets(ft.params)[1], abi.slot_offsets(ft.results)[1], 1)
        if f.host is not None:
            raw = f.raw_for(caller) if caller is not None else f.raw
        else:
            # a wasm function of the Python tier: look its raw up at each call, so a later
            # tier-up of its instance (which rebinds ``raw``) is followed
            def raw(*a):
                return f.raw(*a)
        maxd = self.max_depth - 1
        rt = self.rt
        arr = U64 * n
        fuel_on = self.fuel_on
        to_store = self.fuel_to_store
        to_native = self.fuel_to_native

        def failed(e: BaseException) -> None:
            """``e`` left ``f`` (caught in ``cb``, whose frame its traceback starts at)."""
            if isinstance(e, WasmException):  # a wasm exception: jitted try_tables may catch it
                self.start_unwinding(e.exn)
                return
            self.pending = e  # re-raised unchanged at the boundary
            if self.store.resumable and self.suspending and pausing(e):
                # jitted callers spill their frames after those of Python-tier ones
                self.spilled = [] if f.host is not None else inner_frames(e)[::-1]
                rt[abi.RT_TRAP] = abi.SUSPEND
            else:
                rt[abi.RT_TRAP] = abi.HOST_EXCEPTION

        ints = (ValType.I32, ValType.I64)
        if f.host is None and not fuel_on and len(ft.results) <= 1 \
                and all(t in ints for t in (*ft.params, *ft.results)):  # fmt: skip
            # The common crossing (jitted code calling a Python-tier function of integers),
            # without a converter call per value: the trampoline zero-extends i32 arguments,
            # so the slots hold the Python tier's values (jitted sum -> Python-tier sq of
            # tests/test_tierup.py's CHAIN, sum jitted at level 0: 940 -> 585 ns per iteration)
            nparams = len(ft.params)

            if ft.results:

                def cb(env, rem, slots):
                    try:
                        s = arr.from_address(slots)
                        s[0] = f.raw(*s[:nparams], maxd - rem)
                    except BaseException as e:  # noqa: BLE001 - see failed
                        failed(e)

            else:

                def cb(env, rem, slots):
                    try:
                        f.raw(*arr.from_address(slots)[:nparams], maxd - rem)
                    except BaseException as e:  # noqa: BLE001 - see failed
                        failed(e)

            return cb

        readers = slot_readers(ft.params, self)
        writers = slot_writers(ft.results, self)
        single = len(writers) == 1

        def cb(env, rem, slots):
            if fuel_on:
                to_store()  # host code and the Python tier see (and may change) the fuel
            try:
                s = arr.from_address(slots)
                r = raw(*[rd(s) for rd in readers], maxd - rem)
                if single:
                    writers[0](s, r)
                elif writers:
                    for w, v in zip(writers, r):
                        w(s, v)
            except BaseException as e:  # noqa: BLE001 - see failed
                failed(e)
            if fuel_on:
                to_native()

        return cb

    def trampoline(self, ft: FuncType) -> int:
        """Native address of a host trampoline for type ``ft`` (compiled once per type)."""
        addr = self._tramps.get(ft)
        if addr is None and self._baseline_tramps:
            addr = self._baseline_trampoline(ft)
        if addr is None:
            self.arm()
            from ..binary.module import Module
            from .jit import compile_module

            m = Module(types=[ft], raw=b"")
            cm = compile_module(m, opt_level=1)
            self.keep.append(cm)
            addr = self._tramps[ft] = cm.trampolines[0]
        return addr

    def _baseline_trampoline(self, ft: FuncType) -> int | None:
        """The baseline tier's trampoline for type ``ft`` (no LLVM loaded), or None where it
        has none (see :func:`wasm2py.baseline.shell.refusal`)."""
        from ..baseline.unit import available, shell_for

        if not available():
            return None
        shell = shell_for([ft])
        if shell.refused:
            return None
        self.keep.append(shell)
        addr = self._tramps[ft] = shell.unit.trampolines[0]
        return addr


_RT_LOCK = threading.Lock()


def runtime_for(store) -> NativeRuntime:
    """The native runtime of a store (created on first use and kept as ``store.native``)."""
    rt = store.native
    if rt is None:
        with _RT_LOCK:
            rt = store.native
            if rt is None:
                rt = store.native = NativeRuntime(store)
    return rt


# -- globals --------------------------------------------------------------------------------


def global_cell(rt: NativeRuntime, g: GlobalInstance, keep: list) -> int:
    """Address of the native value of global ``g`` for jitted code. A mutable global already
    keeps its value in native memory (see :mod:`wasm2py.runtime.globals`), shared with the
    Python tier; an immutable one gets a native copy (appended to ``keep``).

    Raises:
        LinkError: ``g`` is a mutable global of a store without the LLVM tier (its value is in
            a Python list that jitted code cannot share).
    """
    if g.address:
        return g.address
    if g.type.mutable:
        raise LinkError("a mutable global created in a store without the LLVM tier cannot be "
                        "shared with jitted code: use Config(tier='llvm' or 'auto')")  # fmt: skip
    copy = GlobalInstance(GlobalType(g.type.valtype, True), g.value, rt)
    keep.append(copy)
    return copy.address


# -- tables ---------------------------------------------------------------------------------


class TableMirror:
    """The native copy of a :class:`TableInstance` that jitted code reads: an array of 8-byte
    entries (0 is null; a funcref is a record address, an externref a handle) and a descriptor
    ``[entries, size, max]``.

    The Python tier keeps using the table's element list; :class:`TableInstance` passes every
    change on (:meth:`changed`, :meth:`resized`), and jitted code reports its own writes through
    the context's table-sync callback (:meth:`pull`), so both tiers see one table.
    """

    __slots__ = ("table", "rt", "desc", "buf", "encode", "decode", "__weakref__")

    def __init__(self, rt: NativeRuntime, table: TableInstance):
        self.table = table
        self.rt = rt
        funcref = table.type.elem.storage is ValType.FUNCREF
        self.encode = rt.ref_of if funcref else rt.handle_of
        self.decode = rt.func_of if funcref else rt.extern_of
        n = table.size
        self.buf = (U64 * max(n, 1))()
        self.desc = (U64 * 3)(ctypes.addressof(self.buf), n, table.max)
        self.changed(0, n)
        table.mirror = self
        rt.mirrors.add(self)

    @property
    def address(self) -> int:
        """Address of the descriptor (what the context holds)."""
        return ctypes.addressof(self.desc)

    def changed(self, start: int, n: int) -> None:
        """Copy elements ``[start, start+n)`` of the table into the native array."""
        enc = self.encode
        buf = self.buf
        elems = self.table.elements
        for i in range(start, start + n):
            buf[i] = enc(elems[i])

    def resized(self, old: int) -> None:
        """The table grew from ``old`` elements: make room and copy the new ones."""
        new = self.table.size
        if new > len(self.buf):
            buf = (U64 * max(new, 2 * len(self.buf)))()
            ctypes.memmove(buf, self.buf, old * 8)
            self.rt.keep.append(self.buf)  # a running call may still hold the old pointer
            self.buf = buf
            self.desc[abi.TAB_ENTRIES] = ctypes.addressof(buf)
        self.changed(old, new - old)
        self.desc[abi.TAB_SIZE] = new

    def pull(self, start: int, n: int) -> None:
        """Jitted code wrote entries ``[start, start+n)``: update the element list."""
        dec = self.decode
        buf = self.buf
        self.table.elements[start : start + n] = [dec(buf[i]) for i in range(start, start + n)]

    def grow_raw(self, delta: int, init: int) -> int:
        """``table.grow`` from jitted code (``init`` encoded): the old size or -1."""
        return self.table.grow(delta, self.decode(init))


def mirror_of(rt: NativeRuntime, table: TableInstance) -> TableMirror:
    """The table's native mirror (made on first use).

    Raises:
        LinkError: the table is already mirrored for another store.
    """
    m = table.mirror
    if m is None:
        return TableMirror(rt, table)
    if m.rt is not rt:
        raise LinkError("a table cannot be shared between stores")
    return m


native_raiser(NativeRuntime.raise_status.__code__)
_RAWS = [c for c in NativeRuntime._crossing.__code__.co_consts
         if isinstance(c, CodeType) and c.co_name == "raw"]  # fmt: skip
if len(_RAWS) != 1:  # (a paused call would lose the frames a crossing runs: fail loudly)
    raise ImportError("NativeRuntime._crossing must define one nested function 'raw'")
pass_through(_RAWS[0])  # (between a callback and the Python-tier frames it runs)
