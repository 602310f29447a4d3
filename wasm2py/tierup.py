"""Tier-up for ``Config(tier="auto")``, function by function: the Python tier counts each
function's calls and loop iterations, hot functions are compiled by LLVM in the background in
small batches, and each batch is patched into the running instance as soon as it is ready.

Code translated for the ``auto`` tier calls ``HOT<index>()`` at every entry of function
``index`` and at the top of every loop iteration in it. ``HOT<index>`` is the ``__next__`` of a
C-level iterator chain (``itertools.chain.from_iterable`` over ``itertools.repeat`` runs), so
counting costs one C call (~12 ns) and no Python code runs until a run is exhausted. A function
gets its counter when its Python-tier code is bound (``Slots.on_bind``). That code is translated
without the optional rewrites that only make it faster (``ModuleGen.quick``): it runs until it is
hot, and translation is a third of a cold run. The stages:

1. ``Config.tier_up_threshold`` events of one function in the Python tier make it *hot*: it
   is queued (the same count for every function: a Python-tier event costs ~0.2-4 us whatever
   the function's size, and the hot functions of an interpreter keep running long after they
   get hot: thresholds that grow with the size, or a sampling profiler's Python-tier time
   against the compile's cost, cost duktape's cold ``bench.js`` 0.3-1.0 CPU s more and saved
   lua's ``bench.lua`` at most 0.06; hottest-first batches were flat. Per function, see
   ``tools/bench/tier_up_trace.py``);
2. a background thread (``Config.tier_up_workers`` of them) takes up to
   ``Config.tier_up_batch`` queued functions at a time (at most :data:`BATCH_BYTES` of code,
   unless one function alone is bigger) and has them compiled as one compilation unit
   (only those: adding the small functions they call, to spare jitted code crossings into
   the Python tier, compiled more than the crossings cost; cold runs of ``bench.lua``,
   ``bench.js``, ``bench.scm`` and sqlite3's in-memory SQL were 0.06-0.18 CPU s faster
   without; :mod:`wasm2py.llvm.units`; at LLVM's cheapest level, :data:`LEVEL`) in a worker process
   (:mod:`wasm2py.llvm.worker`: on another core, without the GIL; a crash inside LLVM only
   ends the worker). The first unit of an instance is the *shell* (the module's
   trampolines). Calls between the functions of a unit are direct; calls to other functions
   go through the instance's funcref records, which later units repoint;
3. the code keeps running in the Python tier; every hot function's counter checks every
   :data:`POLL` events whether units are ready and, on the thread running the code, loads
   and attaches them (``Instance._add_unit``): from then on the embedder, tables, jitted
   code and Python-tier callers (for functions with loops or calls: see
   :class:`wasm2py.llvm.instance.LLVMInstance`) call the jitted functions.

Nothing of LLVM is loaded in the main process before it is needed: the validator's scan of a
cold load (which functions loop, which can pause) is :mod:`wasm2py.llvm.facts`, the store's
native runtime arms its trap recorder and suspend callback before its first jitted code
(``NativeRuntime.arm``), and a module with no cached units says so without the compiler's
digest (``units.cached_units``). A run that never gets hot never imports ``llvmlite.binding``
(lua's start-up: ~35 CPU ms of ~0.23 s); the first hot function's compile thread loads it.

A function with more than :data:`EAGER_BYTES` of code skips the Python tier: its first call
compiles it as a unit of its own while the caller waits (``TierUp._first_call``).

**The baseline tier** (``Config.baseline``, x86-64 Linux; not for modules with a function
type its shell cannot call; with fuel metering and epoch checks as the other tiers): every
defined function's first call compiles it alone with :mod:`wasm2py.baseline` (one pass, ~1 ms
per KB) while the caller waits, and it runs as machine code from then on
(``TierUp._first_call_baseline``): its record, its entry for the embedder and for Python-tier
callers. Its instance is attached (``Instance._attach_units``) with the baseline's shell at
the first such call, without loading LLVM. Functions the baseline refuses (floats it does not
do yet, SIMD, exceptions, tail calls..., or more than ``abi.BIG_FRAME_LOCALS`` locals: see
:attr:`TierUp.refused`) run in the Python tier and tier up to LLVM as described above; big
ones go to LLVM at their first call. Baseline functions have no counters: they do not tier up
to LLVM (their code is about as fast as LLVM's level 0). LLVM units cached by earlier runs
attach first and win; baseline code is cached too (``baseline.unit.CodeCache``) and placed at
instantiation by later runs. LLVM units beside baseline code are compiled with explicit
bounds checks (baseline entries push no guard-page landings).

Machine code is cached per unit (``Config.cache``), and the units a module had compiled are
listed in a manifest: a later run loads them at instantiation, so it starts native where the
previous run ended. If the engine already holds a whole-module compile
(:meth:`Engine.load_llvm`), the first hot function moves the whole instance over instead.

**On-stack replacement.** A unit's functions with loops have resume points at their loop
headers (:meth:`wasm2py.llvm.suspend.Suspender.loop_point`). Once such a unit is attached,
their ``HOT<index>()`` returns true (while jitted code may run: not during a resumable call
that jitted code cannot pause), and a Python frame of one that is still looping hands its
locals and operands over at its next loop header (``OSR``: :func:`wasm2py.llvm.paused.move_in`)
and returns what the jitted frame gives; the move is counted in :attr:`TierUp.moved`. Loops
inside a ``try_table`` do not move (an exception leaving the jitted frame must leave the
Python one too). Functions whose unit fails to compile (an unsupported feature, an LLVM crash) stay in the Python tier; the last
error is kept in :attr:`TierUp.error`.
"""

from __future__ import annotations

import threading
import time
import weakref
from itertools import chain, repeat
from types import CodeType

from .runtime.resumable import moves_frames, pass_through

#: events of a hot function between two checks whether compiled units are waiting
POLL = 1_000
#: at most this many bytes of function bodies in one batch (unless one function has more;
#: about 2.5 bytes per instruction; at :data:`LEVEL` a unit costs ~15 CPU ms per KB, so a
#: batch is ready in a tenth of a second on an idle core)
BATCH_BYTES = 8_000
#: the pipeline of every unit (unless it has tail calls or big frames: see
#: ``TierUp._level``): no IR pass and LLVM's fast code generator (level 0). Hot code is compiled once, cheaply: on
#: duktape's cold ``bench.js`` run the units took 3.2 CPU s at this level (1.2 of them the
#: 78 KB executor) against 10.6 at ``O2`` (``QUICK`` for units of more than 12 KB), and
#: their code runs faster than the quick pipeline's (``wasm2py.llvm.jit.QUICK``: after SROA
#: the fast register allocator spills every phi on every edge; warm run, every function at
#: one level or the other, 0.74 CPU s against 1.49)
LEVEL = 0
#: functions with more bytes of code than this are never run in the Python tier: their first
#: call compiles them (alone, in a worker, while the caller waits) and runs them jitted. Big
#: functions are interpreters' dispatch loops, hot from their first call; translating one to
#: Python costs about what compiling it costs (duktape's 78 KB executor: 1.0 CPU s against
#: 1.2), and running it there until its compile arrives costs seconds more
EAGER_BYTES = 16_384
#: a compile thread with nothing queued for this many seconds ends (see ``TierUp._serve``)
IDLE_SECONDS = 2.0


def count_nothing(state) -> None:
    """Give the functions of an instance whose instantiation failed counters that never fire.

    A segment that does not fit fails instantiation after earlier segments were written, so
    the instance's functions can live on in a shared table and still be called; they stay in
    the Python tier (as in ``tier="llvm"``, where a failed instance is never attached)."""
    ns = state.ns

    def bind(index: int) -> None:
        ns[f"HOT{index}"] = repeat(None).__next__

    state.slots.on_bind = bind
    for index, fn in enumerate(state.slots.python):
        if fn is not None:
            bind(index)


class TierUp:
    """The tier-up state of one instance (see the module docstring).

    Attributes:
        error: the last exception a compile raised (those functions stay in Python).
        moved: how many Python frames moved into jitted code at a loop header.
        units: the units attached, with their functions and how they were made
            (``Unit.seconds``), in order (baseline units too: ``Unit.tier``).
        baseline: the baseline tier's shell of the module (None: the baseline is not used).
        refused: the functions the baseline did not compile (index -> why).
        guard: whether its units are guard-page code (no bounds checks on 32-bit memories,
            ``wasm2py.llvm.guard``): the engine's mode, where every 32-bit memory of the
            instance has a guard reservation.
    """

    def __init__(self, instance, state):
        config = instance.store.config
        # weak: the counters live in the instance's namespace (no cycle through threads)
        self.instance = weakref.ref(instance)
        self.engine = instance.store.engine
        self.module = instance.module._module
        self.name = instance.module.name
        self.ns = state.ns
        self.moved = 0
        self.threshold = config.tier_up_threshold
        self.batch = config.tier_up_batch
        self.nworkers = config.tier_up_workers
        self.error: BaseException | None = None
        self.units: list = []
        self._cond = threading.Condition()
        self._queue: list[int] = []
        self._ready: list = []
        self._threads: list[threading.Thread] = []
        self._shell = None
        self._shell_lock = threading.Lock()
        self._seen: set[int] = set()
        self._whole = False
        self._inflight = 0
        self._facts_lock = threading.Lock()
        self._body_facts = None
        #: the baseline tier's shell of the module (``Config.baseline``; None: not used),
        #: the functions it refused (index -> why), its code memory
        self.baseline = self._baseline_shell(config)
        #: what the baseline's code meters: the fuel costs (None: no fuel) and epoch checks
        self._bl_fuel = config.fuel_costs if config.consume_fuel else None
        self._bl_epoch = bool(config.epoch_interruption)
        #: the baseline's per-module data (made at its first compile: it compiles function by
        #: function, and this is a pass over the module)
        self._bl_info = None
        self.refused: dict[int, str] = {}
        self._code = None
        self._code_cache = None
        # guard-page code (no bounds checks: see wasm2py.llvm.guard) only if every 32-bit
        # memory of the instance has a guard reservation (not beside baseline code: its
        # entries push no landings for LLVM code to fault into)
        self.guard = self.baseline is None and self.engine._guard(None) and all(
            mem.guarded or mem.type.is_64 for mem in state.memories)  # fmt: skip
        slots = state.slots
        self.ns["OSR"] = self._osr
        self._start_cached()
        slots.on_bind = self._counter
        for index, fn in enumerate(slots.python):
            if fn is not None:  # bound before (eager translation, the start function)
                self._counter(index)
        self._eager_lock = threading.Lock()
        if self.baseline is not None:
            if config.cache and self.module.raw:
                from .baseline.unit import CodeCache

                self._code_cache = CodeCache.of(self.module.raw,
                                                self._variant())  # fmt: skip
                self._start_baseline_cached(state)
            self._first_calls(state)
        else:
            self._big(state)

    # -- the baseline tier: every function compiled at its first call ---------------------
    def _baseline_shell(self, config):
        """The module's :class:`wasm2py.baseline.unit.ShellCode` if its functions run in the
        baseline tier (see ``Config.baseline``), else None."""
        if not config.baseline:
            return None
        from .baseline.unit import available, shell_for

        if not available():
            return None
        shell = shell_for(self.module.types, config.cache)
        # (every record of the instance needs its type's trampoline: a type no function has,
        # e.g. a multi-value block's, needs none)
        if not shell.refused.keys().isdisjoint(self.module.func_type_indices()):
            return None
        return shell

    def _variant(self) -> bytes:
        """What the baseline code of this store depends on besides the module and the
        compiler (its code cache key): fuel costs and epoch checks."""
        fuel = b"-" if self._bl_fuel is None else self._bl_fuel.key()
        return b"fuel=" + fuel + b";epoch=" + (b"1" if self._bl_epoch else b"0")

    def _start_baseline_cached(self, state) -> None:
        """Attach the baseline code earlier runs compiled for this module (see
        ``baseline.unit.CodeCache``), at instantiation: those functions run native from their
        first call, and call one another without crossing into Python to be compiled."""
        from .baseline.code import CodeMemory
        from .baseline.unit import cached_unit

        inst = self.instance()
        t0 = time.perf_counter()
        try:
            jitted = self._jitted()
            records, refused = self._code_cache.read()
            self.refused.update((i, why) for i, why in refused.items() if i not in jitted)
            records = {i: r for i, r in records.items() if i not in jitted}
            if not records:
                return
            self._code = CodeMemory()
            unit = cached_unit(self.module, records, self.baseline, self._code)
            if inst._llvm is None:
                inst._attach_units(self.baseline.unit)
                self.units.append(self.baseline.unit)
            inst._add_unit(unit)
        except Exception as e:  # noqa: BLE001 - compiled at their first calls then
            self.error = e
            return
        unit.seconds = {"load": time.perf_counter() - t0}
        self.units.append(unit)
        slots = state.slots
        funcs = state.funcs
        for index in unit.funcs:  # (Python-tier callers too: see _baseline_now)
            slots.set(index, funcs[index].raw)

    def _first_calls(self, state) -> None:
        """Point the slots of the defined functions not bound or jitted yet at their
        :meth:`_first_call_baseline`."""
        nimp = self.module.num_imported_funcs
        slots = state.slots
        jitted = self._jitted()
        python = slots.python
        funcs = state.funcs
        codes = self.module.codes
        refused = self.refused  # (known from the code cache: no first call tries them again)
        for index in range(nimp, len(python)):
            if python[index] is not None or index in jitted:
                continue
            if index in refused:
                code = codes[index - nimp]
                if code.end - code.start > EAGER_BYTES:  # (else: the stub, in Python)
                    big = self._first_call(index, slots, funcs[index])
                    slots.set(index, big)
                    funcs[index].raw = big
                continue
            first = self._first_call_baseline(index, slots, funcs[index])
            slots.set(index, first)
            funcs[index].raw = first

    def _first_call_baseline(self, index: int, slots, func):
        """What the slot (and ``Func.raw``) of function ``index`` holds until its first call:
        that call compiles it with the baseline tier and runs it there (:meth:`_baseline_now`)."""

        def first(*args):
            self._baseline_now(index, slots, func, first)
            return func.pyraw(*args)

        return first

    def _baseline_now(self, index: int, slots, func, first) -> None:
        """Compile function ``index`` with the baseline tier, attach it and point its slot
        at its entry. If the baseline refuses it, it runs in the Python tier and tiers up as
        without the baseline (a big one: compiled by LLVM at once, see :meth:`_jit_now`)."""
        with self._eager_lock:
            if func.pyraw is not first:
                return  # (done by an earlier call, on another thread)
            inst = self.instance()
            code = self.module.codes[index - self.module.num_imported_funcs]
            if inst is not None and not self._whole and index not in self._jitted() \
                    and not self._big_frame(index, code):  # fmt: skip
                try:
                    unit = self._compile_baseline(inst, [index])
                    if unit is not None:
                        inst._add_unit(unit)
                        self.units.append(unit)
                except Exception as e:  # noqa: BLE001 - it runs in the Python tier then
                    self.error = e
                    self.refused[index] = f"{type(e).__name__}: {e}"
            if index in self._jitted():
                # its entry for Python-tier callers too, even if it neither loops nor calls
                # (their first call would translate it: the translation costs more than the
                # entry's crossings save, in code where most callers are baseline code)
                if func.pyraw is first:
                    slots.set(index, func.raw)
                return
            if code.end - code.start > EAGER_BYTES:
                big = self._first_call(index, slots, func)
                slots.set(index, big)
                func.raw = big
                return
            slots.reset(index)
            func.raw = func.pyraw

    def _big_frame(self, index: int, code) -> bool:
        """Whether function ``index`` has more locals than ``abi.BIG_FRAME_LOCALS`` (then
        it is not compiled with the baseline, see :attr:`refused`): a baseline frame keeps
        every local in its own 8 bytes of the native stack, so such frames would exhaust the
        thread's stack long before the wasm stack budget (``Config.max_wasm_stack``) that
        bounds them in the other tiers. (No function of the real programs of
        ``tools/realworld`` has more than 65.)"""
        from .llvm.abi import BIG_FRAME_LOCALS

        m = self.module
        n = len(code.locals) + len(m.types[m.funcs[index - m.num_imported_funcs]].params)
        if n <= BIG_FRAME_LOCALS:
            return False
        self.refused[index] = f"big frame: {n} locals"
        return True

    def _compile_baseline(self, inst, funcs):
        """The baseline unit of ``funcs`` (None if it refused them all; why: :attr:`refused`),
        with the baseline's shell attached to ``inst`` first if nothing is."""
        from .baseline.emit import ModuleInfo, compile_functions
        from .baseline.unit import function_unit

        if inst._llvm is None:
            inst._attach_units(self.baseline.unit)
            self.units.append(self.baseline.unit)
        if self._code is None:
            from .baseline.code import CodeMemory

            self._code = CodeMemory()
        c0 = time.process_time()
        layout = inst._llvm.compiled.layout
        info = self._bl_info
        if info is None or info.layout is not layout:
            info = self._bl_info = ModuleInfo(self.module, layout, self._bl_fuel, self._bl_epoch)
        blob = compile_functions(self.module, funcs, layout, self._bl_fuel, self._bl_epoch, info)
        self.refused.update(blob.refused)
        if self._code_cache is not None:
            self._code_cache.add(blob)
        if not blob.funcs:
            return None
        unit = function_unit(self.module, blob, self.baseline, self._code)
        unit.seconds = {"compile": time.process_time() - c0}
        return unit

    # -- big functions: jitted at their first call --------------------------------------------
    def _big(self, state) -> None:
        """Point the slots of the big functions not bound or jitted yet at their
        :meth:`_first_call` (see :data:`EAGER_BYTES`)."""
        m = self.module
        nimp = m.num_imported_funcs
        slots = state.slots
        jitted = self._jitted()
        for k, code in enumerate(m.codes):
            index = nimp + k
            if code.end - code.start <= EAGER_BYTES or slots.python[index] is not None \
                    or index in jitted:  # fmt: skip
                continue
            first = self._first_call(index, slots, state.funcs[index])
            slots.set(index, first)
            state.funcs[index].raw = first

    def _jitted(self) -> set[int]:
        inst = self.instance()
        return inst._llvm.jitted if inst is not None and inst._llvm is not None else set()

    def _first_call(self, index: int, slots, func):
        """What the slot (and ``Func.raw``) of big function ``index`` holds until its first
        call: that call compiles the function alone (at :data:`LEVEL`, in a worker, the caller
        waiting), attaches it and runs it jitted. If the compile fails (or the function makes
        tail calls), the slot gets the function's *translate me* stub back and the call runs in
        the Python tier."""

        def first(*args):
            self._jit_now(index, slots, func, first)
            return func.pyraw(*args)

        return first

    def _jit_now(self, index: int, slots, func, first) -> None:
        from .llvm.facts import has_tail_calls

        with self._eager_lock:
            if func.pyraw is not first:
                return  # (done by an earlier call, on another thread)
            inst = self.instance()
            jitted = self._jitted()
            # (a unit with tail calls gets the full pipeline, see _compile: too slow to wait
            # for, so such a function starts in the Python tier, counted as any other)
            if index not in jitted and inst is not None and not self._whole \
                    and not has_tail_calls(self.module, (index,)):  # fmt: skip
                with self._cond:
                    self._seen.add(index)
                try:
                    self._ensure_shell()
                    unit = self._compile([index])
                    self.attach_ready()  # (the shell, at least)
                    inst._add_unit(unit)
                    self.units.append(unit)
                except Exception as e:  # noqa: BLE001 - it runs in the Python tier then
                    self.error = e
            if index in self._jitted():
                # jitted: Python-tier callers too, even if it neither loops nor calls (the
                # slot keeps only such functions in the Python tier: see LLVMInstance)
                if func.pyraw is first:
                    slots.set(index, func.raw)
            else:
                slots.reset(index)
                func.raw = func.pyraw

    # -- counting (on the thread running the code) -------------------------------------------
    def _counter(self, index: int) -> None:
        self.ns[f"HOT{index}"] = chain.from_iterable(self._stages(index)).__next__

    def _stages(self, index: int):
        yield repeat(None, self.threshold)
        try:
            self._hot(index)
        except Exception as e:  # noqa: BLE001 - never disturb the running wasm code
            self.error = e
        while True:
            if self._ready:
                self.attach_ready()
            yield repeat(None, POLL)

    def _hot(self, index: int) -> None:
        inst = self.instance()
        if inst is None or self._whole:
            return
        if inst._llvm is None and self.engine.has_llvm(self.module):
            # the whole module is compiled already (another instance, the embedder)
            self._whole = True
            inst._attach_llvm(self.engine.load_llvm(self.module, name=self.name))
            return
        if inst._llvm is not None and index in inst._llvm.jitted:
            return
        if not self._threads and self.engine.config.llvm_isolated:
            from .llvm.worker import start_forker

            start_forker()  # (a fork of this process while no compile thread runs)
        with self._cond:
            if index in self._seen:
                return
            self._seen.add(index)
            self._queue.append(index)
            self._cond.notify()
            if len(self._threads) < self.nworkers:
                t = threading.Thread(target=self._serve, name="wasm2py-tier-up", daemon=True)
                self._threads.append(t)
                t.start()

    def attach_ready(self) -> None:
        """Attach the units compiled so far (on the thread running the instance's code)."""
        inst = self.instance()
        if inst is None:
            return
        with self._cond:
            ready, self._ready = self._ready, []
        for unit in ready:
            try:
                if self._whole:
                    pass  # the whole module runs jitted already
                elif unit.trampolines is not None:
                    if inst._llvm is None:
                        inst._attach_units(unit)
                else:
                    inst._add_unit(unit)
                    self._movable(unit)
                self.units.append(unit)
            except Exception as e:  # noqa: BLE001 - those functions stay in Python
                self.error = e

    def _movable(self, unit) -> None:
        """Running Python frames of ``unit``'s functions with loops move into their jitted
        code at their next loop header (see the module docstring)."""
        go = self._go
        loops = self._facts().loops
        nimp = self.module.num_imported_funcs
        for index in unit.funcs:
            if loops[index - nimp]:
                self.ns[f"HOT{index}"] = go

    def _go(self) -> bool:
        """The loop headers' ``HOT<index>`` once the function runs jitted: whether its frame
        may move there now (not while a resumable call runs that jitted code cannot pause)."""
        inst = self.instance()
        rt = inst._llvm.rt if inst is not None and inst._llvm is not None else None
        return rt is not None and not (rt.store.resumable and not rt.suspending)

    def _osr(self, index: int, offset: int, depth: int, frame: dict, operands: tuple,
             codes: str):  # fmt: skip
        """``OSR`` in generated code: continue its frame jitted (see the module docstring)."""
        from .llvm.paused import move_in

        self.moved += 1
        return move_in(self.instance()._llvm, index, offset, depth, frame, operands, codes)

    # -- compiling (background threads) ------------------------------------------------------
    def _serve(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                idle = 0.0
                while not self._queue:
                    # An idle thread ends (a hot function starts another): a program with
                    # many live instances does not keep a compile thread for each.
                    if self.instance() is None or idle >= IDLE_SECONDS:
                        self._threads.remove(me)
                        return
                    self._cond.wait(0.5)
                    idle += 0.5
                batch = self._take()
                self._inflight += 1
            try:
                self._ensure_shell()
                units = [self._compile(batch)]
            except Exception as e:  # noqa: BLE001 - try the functions one by one
                self.error = e
                units = []
                if len(batch) > 1:
                    for index in batch:
                        try:
                            units.append(self._compile([index]))
                        except Exception as e1:  # noqa: BLE001 - it stays in Python
                            self.error = e1
            with self._cond:
                self._ready.extend(units)
                self._inflight -= 1

    def _take(self) -> list[int]:
        """The next batch (under ``_cond``): queued functions in the order they got hot, up to
        ``Config.tier_up_batch`` of them and :data:`BATCH_BYTES` bytes of code (a big
        function goes alone, so small hot functions are not kept waiting behind it)."""
        codes = self.module.codes
        nimp = self.module.num_imported_funcs
        batch: list[int] = []
        size = 0
        for index in self._queue:
            code = codes[index - nimp]
            n = code.end - code.start
            if batch and (size + n > BATCH_BYTES or len(batch) >= self.batch):
                continue
            batch.append(index)
            size += n
        taken = set(batch)
        self._queue = [i for i in self._queue if i not in taken]
        return batch

    def _ensure_shell(self) -> None:
        with self._shell_lock:
            if self._shell is None:
                self._shell = self._compile([], shell=True)
                with self._cond:
                    self._ready.insert(0, self._shell)

    def _level(self, funcs) -> int | None:
        """The LLVM level a unit of ``funcs`` is compiled at (None: ``Config.llvm_opt_level``)."""
        from .llvm.facts import has_tail_calls
        from .llvm.jit import QUICK, big_frames

        # (tail calls need the full pipeline's instruction selector: see has_tail_calls;
        # big frames the quick pipeline's SROA: see big_frames)
        if has_tail_calls(self.module, funcs):
            return None
        return QUICK if big_frames(self.module, funcs) else LEVEL

    def _compile(self, funcs, shell: bool = False):
        from .llvm.units import record_unit

        level = self._level(funcs)
        unit = self.engine.load_unit(self.module, funcs, shell, self.name, opt_level=level,
                                     facts=self._facts(), guard=self.guard)  # fmt: skip
        config = self.engine.config
        if config.cache:
            from .cache import cache_dir

            costs = config.fuel_costs if config.consume_fuel else None
            record_unit(self.module, cache_dir(), config.llvm_opt_level, costs, funcs, level,
                        config.epoch_interruption, self.guard,
                        config.llvm_resumable)  # fmt: skip
        return unit

    def _facts(self):
        """The module's :class:`wasm2py.llvm.facts.BodyFacts` (which functions have loops,
        which have suspend code...), found once here, from the validator's pass over the
        bodies in a cold run (``Engine.load``), and told to the workers with every unit:
        each worker process would otherwise decode every body of the module to find its
        pausable functions (sqlite3: 0.28 CPU s per worker)."""
        with self._facts_lock:
            if self._body_facts is None:
                from .llvm.facts import body_facts

                self._body_facts = body_facts(self.module)
            return self._body_facts

    def _start_cached(self) -> None:
        """Attach the units earlier runs compiled for this module (see ``units.cached_units``),
        at instantiation: the run starts where the last one ended."""
        config = self.engine.config
        if not config.cache:
            return
        try:
            from .cache import cache_dir
            from .llvm.units import cached_units

            costs = config.fuel_costs if config.consume_fuel else None
            listed = cached_units(self.module, cache_dir(), config.llvm_opt_level, costs,
                                  config.epoch_interruption, self.guard,
                                  config.llvm_resumable)  # fmt: skip
            # (units of an older policy, e.g. another level for the same functions, are not
            # listed: the manifest's key covers this file's source, see units._manifest)
            if not listed or listed[0][1]:
                return
            units = [self.engine.load_unit(self.module, f, not f, self.name, cached_only=True,
                                           opt_level=level, guard=self.guard)
                     for level, f in listed]  # fmt: skip
        except Exception as e:  # noqa: BLE001 - start in the Python tier then
            self.error = e
            return
        if units[0] is None:
            return
        self._shell = units[0]
        inst = self.instance()
        inst._attach_units(units[0], [u for u in units[1:] if u is not None])
        self.units.extend(u for u in units if u is not None)
        for u in units[1:]:
            if u is not None:
                self._seen.update(u.funcs)

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until every queued function is compiled (for tests and benchmarks; the
        units are attached at the code's next check, or by :meth:`attach_ready`). True if
        nothing is left in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._queue and not self._inflight:
                    return True
            time.sleep(0.005)
        return False


moves_frames(TierUp._osr.__code__)
# (the frame of a function's first call may sit between the wasm frames of a paused call)
for _method in (TierUp._first_call, TierUp._first_call_baseline):
    pass_through(next(c for c in _method.__code__.co_consts
                      if isinstance(c, CodeType) and c.co_name == "first"))  # fmt: skip
