"""The native ABI between jitted code and the Python side of the LLVM tier.

Everything jitted code touches is reached from two small arrays of 64-bit slots:

* the **runtime struct** ``rt`` (one per :class:`~wasm2py.Store`): the trap status, the
  native stack limit of the running thread and (with fuel metering) the fuel left;
* the **context** ``ctx`` (one per instance): the memory base and current byte size, pointers
  to the instance's globals, tables, segments, the (function, environment) pair of every
  imported function, the type ids of the module's types, and three Python callbacks
  (``memory.grow``, ``table.grow``, and ``table sync``, which jitted code calls after it wrote
  table entries so the Python tier's element list follows). Slot 0 is always the ``rt``
  pointer.

Every function, defined or imported, has the native signature::

    result tailcc fn(ptr env, i32 rem, param0, ..., paramN-1)

in LLVM's ``tailcc`` calling convention, which guarantees that a call in tail position marked
``tail`` reuses the caller's frame: ``return_call`` & co. run in constant native stack. (In a
module without tail calls, direct calls go to a C-convention copy of the signature, the
function's body, which its ``tailcc`` function calls: see ``lower.ModuleBuilder.bodies``.)

``env`` is the callee's context (a host function's *environment*, see below, starts with the
``rt`` pointer too), ``rem`` the call depth left (the call traps with ``CALL_STACK_EXHAUSTED``
when it is negative; a caller passes its own ``rem`` minus its frame's cost, and the Python
tier's depth ``d`` is ``budget - 1 - rem``, which traps when ``d >= budget``: see
:mod:`wasm2py.runtime.callstack`). Results: ``void``, the single value, or a literal struct for
several.
refs (funcref/externref) are ``i64``: 0 is null, a funcref is the address of a *record*
``[type id, fn, env]`` (three slots), an externref a handle the :class:`NativeRuntime` maps back
to the Python object.

Traps: the trapping code stores a status in ``rt[TRAP]`` and returns; every caller checks the
status after each call and returns too, so the status reaches the Python boundary, which turns
it into :class:`~wasm2py.Trap` (``HOST_EXCEPTION``: a Python exception raised in a callback,
kept by the runtime and re-raised unchanged). No longjmp, no unwinding through Python frames.
A wasm exception unwinds the same way with status ``EXCEPTION`` (its exnref handle and tag uid
in ``rt``), except that a call inside a ``try_table`` branches to the try's catch clauses, which
compare the tag uid with the context's and clear the status when one matches.

Host functions and Python-tier functions are called through a per-type *trampoline* generated
in the module (``tramp_<type>``): it spills the arguments into a slot array on its stack and
calls the ctypes callback stored in its environment ``[rt, callback]``; the callback writes the
results back into the slots (f32 as its bit pattern in the low 32 bits, f64 as its bits). Entry
wrappers take their arguments and return their results the same way. A v128 is the LLVM type
``<2 x i64>`` and takes two consecutive slots, low 64 bits first (:func:`slot_offsets`).
"""

from __future__ import annotations

from ..binary.module import Module
from ..errors import TrapCode

# -- the runtime struct ---------------------------------------------------------------------
RT_TRAP = 0
RT_STACK_LIMIT = 1
#: the fuel left, while jitted code of a store with fuel metering runs (see ``NativeRuntime``)
RT_FUEL = 2
#: pointer to the trap trace: ``[n, _, (env, index << 32 | offset) * TRACE_FRAMES, scratch]``.
#: A trapping function and every caller it returns through append one frame (only on the trap
#: path: nothing is recorded while code runs normally), so the boundary can build the wasm
#: backtrace (innermost first) of a trap in jitted code.
RT_TRACE = 3
#: the canonical NaNs (f32 in the low 32 bits), which every NaN result of float arithmetic
#: becomes: read from here rather than written as constants, so that LLVM cannot fold the NaN
#: check away (its optimizations treat NaN constants as interchangeable with any NaN, e.g.
#: ``select(x < 0, NaN, sqrt(x))`` becomes ``sqrt(x)`` and keeps the hardware's NaN)
RT_NAN_F32 = 4
RT_NAN_F64 = 5
#: non-zero once the store's epoch deadline has passed (``Config.epoch_interruption``): code
#: compiled with epoch checks reads it (atomically) at function entries and loop headers
RT_EPOCH = 6
#: while a wasm exception unwinds (status ``EXCEPTION``): its exnref handle and its tag's uid
RT_EXN = 7
RT_EXN_TAG = 8
#: resumable calls (see :mod:`.suspend`): the resume buffer a pausable function's entry takes
#: its frame from (0: a plain call), ``void suspend(ctx, buf, words)``, which takes a spilled
#: frame, and how many resumable calls are running (a failed fuel check then pauses)
RT_RESUME = 9
RT_SUSPEND_CB = 10
RT_RESUMABLE = 11
#: the address of the process's trap-trace recorder ``void record(ctx, rt, index << 32,
#: offset)`` (:data:`RECORDER`), which code compiled with the quick pipeline calls
RT_RECORD = 12
RT_SLOTS = 13
#: the positive canonical NaNs (the NaN rule: see ``README.md``, "NaN results")
CANON_NAN_F32 = 0x7FC00000
CANON_NAN_F64 = 0x7FF8000000000000
TRACE_FRAMES = 64

#: status of a Python exception kept by the runtime (re-raised at the boundary)
HOST_EXCEPTION = 255
#: status of a wasm exception unwinding (``try_table`` catches it; see ``RT_EXN``)
EXCEPTION = 254
#: status of a resumable call pausing: each frame spills itself and returns (see :mod:`.suspend`)
SUSPEND = 253

_CODES = list(TrapCode)
TRAP_STATUS: dict[TrapCode, int] = {c: i + 1 for i, c in enumerate(_CODES)}
STATUS_TRAP: dict[int, TrapCode] = {i + 1: c for i, c in enumerate(_CODES)}

# -- records and table descriptors ----------------------------------------------------------
REC_TYPE, REC_FN, REC_ENV = 0, 1, 2
REC_SIZE = 24
TAB_ENTRIES, TAB_SIZE, TAB_MAX = 0, 1, 2
ENV_RT, ENV_CALLBACK = 0, 1

# -- the context ----------------------------------------------------------------------------
CTX_RT = 0
#: base and byte size of memory 0 (the others: :meth:`Layout.memory_slots`)
CTX_MEM_BASE = 1
CTX_MEM_SIZE = 2
#: ``i64 grow(ctx, i32 memory, i64 delta)``: the old size in pages or -1
CTX_MEM_GROW = 3
#: ``i64 grow(ctx, i32 table, i64 init, i64 delta)``: the old size or -1
CTX_TABLE_GROW = 4
CTX_FUNCREFS = 5
CTX_TABLE_SYNC = 6
#: ``void throw(ctx, i32 tag, ptr slots)``: start unwinding a new exception of tag ``tag`` with
#: the values in ``slots`` (tag -1: rethrow the exnref handle in ``slots[0]``); sets ``EXCEPTION``
CTX_THROW = 7
#: ``void catch(ctx, i64 exnref, ptr slots)``: write the caught exception's values to ``slots``
CTX_CATCH = 8
#: ``i32 sub(i64 type_id, i64 type_id)``: whether a defined type is a subtype of another (for
#: ``call_indirect`` in modules with non-final types)
CTX_TYPE_SUB = 9
#: the address of the module's :data:`BODYTABLE` (0: the code has no bodies), through which
#: code of the fast instruction selector makes its direct calls (see ``lower.FunctionLowerer.call``)
CTX_BODIES = 10
_CTX_FIXED = 11


class Layout:
    """Slot numbers of one module's context (a function of the module only, so compiled code
    can be shared by every instance)."""

    __slots__ = ("types", "imports", "globals", "tables", "datas", "elems", "memories", "tags",
                 "size")  # fmt: skip

    def __init__(self, module: Module):
        n = _CTX_FIXED
        self.types = n
        n += len(module.types)
        self.imports = n
        n += 2 * module.num_imported_funcs
        self.globals = n
        n += len(module.global_types())
        self.tables = n
        n += len(module.table_types())
        self.datas = n
        n += 2 * len(module.datas)
        self.elems = n
        n += 2 * len(module.elems)
        self.memories = n
        n += 2 * max(len(module.memory_types()) - 1, 0)
        self.tags = n
        n += len(module.tag_type_indices())
        self.size = n

    def type_slot(self, typeidx: int) -> int:
        return self.types + typeidx

    def import_slots(self, funcidx: int) -> tuple[int, int]:
        """(fn, env) slots of imported function ``funcidx``."""
        return self.imports + 2 * funcidx, self.imports + 2 * funcidx + 1

    def global_slot(self, g: int) -> int:
        return self.globals + g

    def table_slot(self, t: int) -> int:
        return self.tables + t

    def data_slots(self, d: int) -> tuple[int, int]:
        return self.datas + 2 * d, self.datas + 2 * d + 1

    def elem_slots(self, e: int) -> tuple[int, int]:
        return self.elems + 2 * e, self.elems + 2 * e + 1

    def memory_slots(self, k: int) -> tuple[int, int]:
        """(base, byte size) slots of memory ``k``."""
        if k == 0:
            return CTX_MEM_BASE, CTX_MEM_SIZE
        return self.memories + 2 * (k - 1), self.memories + 2 * (k - 1) + 1

    def tag_slot(self, k: int) -> int:
        """The slot holding the uid of tag ``k`` (what a catch compares)."""
        return self.tags + k


def slot_offsets(types) -> tuple[list[int], int]:
    """Slot index of each value of ``types`` in a slot array, and the slot count: a v128 takes
    two slots (low 64 bits first), every other value one."""
    from ..types import ValType

    offs = []
    n = 0
    for t in types:
        offs.append(n)
        n += 2 if t is ValType.V128 else 1
    return offs, n


def entry_name(typeidx: int) -> str:
    """Symbol of the Python-callable entry of the functions of type ``typeidx``:
    ``void entry(ctx, rem, slots)`` reads the arguments from the slots, calls the function
    whose address is in slot :func:`entry_slots`, and writes the results to the slots."""
    return f"entry_t{typeidx}"


def entry_slots(ft) -> int:
    """Value slots of an entry's slot array for functions of type ``ft`` (its parameters or
    its results, whichever take more; at least one): the slot after them holds the address of
    the function to call (an entry per type, not per function: each such wrapper was a
    separate function for LLVM to compile, and its call with a constant address went to
    SelectionDAG at level 0)."""
    return max(slot_offsets(ft.params)[1], slot_offsets(ft.results)[1], 1)


def func_name(funcidx: int) -> str:
    """Symbol of defined function ``funcidx``."""
    return f"w{funcidx}"


def trampoline_name(typeidx: int) -> str:
    """Symbol of the host-call trampoline of type ``typeidx``."""
    return f"tramp_{typeidx}"


FUNCTABLE = "functable"
#: the address of each function's body by index, like FUNCTABLE, in modules that have them
#: (see ``lower.ModuleBuilder.bodies``)
BODYTABLE = "bodytable"
#: the trap-trace recorder jitted once per process (see :data:`RT_RECORD`)
RECORDER = "wasm2py_record_frame"
#: functions with more locals than this check the native stack even when they make no calls
#: (``lower``), and code with such a function is not compiled at level 0 (``jit.big_frames``)
BIG_FRAME_LOCALS = 256
TRAMPTABLE = "tramptable"


def entry_funcs(module: Module) -> list[int]:
    """Functions with a Python entry (their type's, :func:`entry_name`): all defined ones,
    because Python-tier code
    calls any function through its namespace slot ``f<i>``, which the LLVM tier rebinds to the
    entry (that is how ``tier="auto"`` moves running code over at call boundaries)."""
    nimp = module.num_imported_funcs
    return list(range(nimp, nimp + len(module.funcs)))
