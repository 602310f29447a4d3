"""The native ABI between jitted code and the Python side of the LLVM tier.

Everything jitted code touches is reached from two small arrays of 64-bit slots:

* the **runtime struct** ``rt`` (one per :class:`~wasm2py.Store`): the trap status and the
  native stack limit of the running thread;
* the **context** ``ctx`` (one per instance): the memory base and current byte size, pointers
  to the instance's globals, tables, segments, the (function, environment) pair of every
  imported function, the type ids of the module's types, and two Python callbacks
  (``memory.grow``, ``table.grow``). Slot 0 is always the ``rt`` pointer.

Every function, defined or imported, has the native signature::

    result fn(ptr env, i32 rem, param0, ..., paramN-1)

``env`` is the callee's context (a host function's *environment*, see below, starts with the
``rt`` pointer too), ``rem`` how many more nested wasm calls are allowed (the call traps with
``CALL_STACK_EXHAUSTED`` when it is negative; the Python tier's depth ``d`` is
``max_call_depth - 1 - rem``, which traps when ``d >= max_call_depth``). Results: ``void``, the single value, or a literal struct for several.
refs (funcref/externref) are ``i64``: 0 is null, a funcref is the address of a *record*
``[type id, fn, env]`` (three slots), an externref a handle the :class:`NativeRuntime` maps back
to the Python object.

Traps: the trapping code stores a status in ``rt[TRAP]`` and returns; every caller checks the
status after each call and returns too, so the status reaches the Python boundary, which turns
it into :class:`~wasm2py.Trap` (``HOST_EXCEPTION``: a Python exception raised in a callback,
kept by the runtime and re-raised unchanged). No longjmp, no unwinding through Python frames.

Host functions and Python-tier functions are called through a per-type *trampoline* generated
in the module (``tramp_<type>``): it spills the arguments into a slot array on its stack and
calls the ctypes callback stored in its environment ``[rt, callback]``; the callback writes the
results back into the slots (f32 as its bit pattern in the low 32 bits, f64 as its bits). Entry
wrappers take their arguments and return their results the same way. A v128 is the LLVM type
``<2 x i64>`` and takes two consecutive slots, low 64 bits first (:func:`slot_offsets`).
"""

from __future__ import annotations

from ..binary.module import ExternKind, Module
from ..errors import TrapCode

# -- the runtime struct ---------------------------------------------------------------------
RT_TRAP = 0
RT_STACK_LIMIT = 1
RT_SLOTS = 4

#: status of a Python exception kept by the runtime (re-raised at the boundary)
HOST_EXCEPTION = 255

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
CTX_MEM_BASE = 1
CTX_MEM_SIZE = 2
CTX_MEM_GROW = 3
CTX_TABLE_GROW = 4
CTX_FUNCREFS = 5
_CTX_FIXED = 6


class Layout:
    """Slot numbers of one module's context (a function of the module only, so compiled code
    can be shared by every instance)."""

    __slots__ = ("types", "imports", "globals", "tables", "datas", "elems", "size")

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


def entry_name(funcidx: int) -> str:
    """Symbol of the Python-callable entry wrapper of function ``funcidx``."""
    return f"entry_{funcidx}"


def func_name(funcidx: int) -> str:
    """Symbol of defined function ``funcidx``."""
    return f"w{funcidx}"


def trampoline_name(typeidx: int) -> str:
    """Symbol of the host-call trampoline of type ``typeidx``."""
    return f"tramp_{typeidx}"


FUNCTABLE = "functable"
TRAMPTABLE = "tramptable"


def entry_funcs(module: Module) -> list[int]:
    """Functions that get a Python entry wrapper: exported, start, and every function that can
    become a funcref (element segments, ``ref.func``, global initialisers)."""
    from ..binary.opcodes import Op

    out = set()
    nimp = module.num_imported_funcs
    for e in module.exports:
        if e.kind == ExternKind.FUNC:
            out.add(e.index)
    if module.start is not None:
        out.add(module.start)
    for el in module.elems:
        for expr in el.items:
            for ins in expr:
                if ins.op == Op.REF_FUNC:
                    out.add(ins.imm)
    for g in module.globals:
        for ins in g.init:
            if ins.op == Op.REF_FUNC:
                out.add(ins.imm)
    for code in module.codes:
        for ins in code.body:
            if ins.op == Op.REF_FUNC:
                out.add(ins.imm)
    return sorted(i for i in out if i >= nimp)
