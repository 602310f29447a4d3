"""Runtime helpers that generated code calls for the less frequent instructions.

Generated code reaches these by plain names in its namespace (see :func:`base_namespace`). They
take runtime objects (memory views, element lists) and canonical values, and raise
:class:`~wasm2py.Trap` on failure.
"""

from __future__ import annotations

import builtins
import struct

from ..deftypes import type_id_sub
from ..errors import Trap, TrapCode
from ..types import PAGE_SIZE
from . import fuelcell, numeric, simd
from .exceptions import ExnRef, WasmException, throw, throw_ref
from .tailcall import TailCall, trampoline
from .trap import MEMORY_HELPERS, FuelExhausted
from .values import f32_from_bits, f32_to_bits

_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")


def unreachable() -> Trap:
    """The trap for the ``unreachable`` instruction."""
    return Trap(TrapCode.UNREACHABLE)


def out_of_fuel(fuel_cell: list, fuel: int, required: int) -> int:
    """Called by a segment whose cost the cell's fuel does not cover (``fuel``: what the cell
    holds once the charges the function still owes are taken, see
    :mod:`.fuelcell`). If the bank (``fuel_cell[1]``) makes up for it, the cell is filled from
    it and the new fuel returned (the caller stores it, its owed charges added back); else the
    cell is made exact (``fuel``), and the call stops."""
    bank = fuel_cell[1]
    if fuel + bank < required:
        fuel_cell[0].cell_contents = fuel
        raise FuelExhausted(required)
    take = max(min(bank, fuelcell.CELL_MAX - fuel), required - fuel)
    fuel_cell[1] = bank - take
    fuel_cell[0].cell_contents = fuel = fuel + take
    return fuel


def charge_fuel(fuel: list, amount: int) -> None:
    """Charge a bulk instruction's variable cost (a suspension point like a segment check)."""
    cell = fuel[0]
    if cell.cell_contents < amount:
        left = fuelcell.total(fuel)
        if left < amount:
            raise FuelExhausted(amount, bulk=True)
        fuelcell.put(fuel, left - amount)
    else:
        cell.cell_contents -= amount


def interrupted() -> Trap:
    """The trap of a loop that finds its store's epoch deadline passed."""
    return Trap(TrapCode.INTERRUPT)


def exhausted() -> Trap:
    """The trap for a call nested deeper than the configured limit."""
    return Trap(TrapCode.CALL_STACK_EXHAUSTED)


# -- memory ------------------------------------------------------------------------------------
def f32_load(m: memoryview, a: int) -> float:
    """Load an f32 bit-exactly (a plain struct '<f' unpack would quiet signalling NaNs)."""
    x = _F32.unpack_from(m, a)[0]
    if x != x:
        return f32_from_bits(_U32.unpack_from(m, a)[0])
    return x


def f32_store(m: memoryview, a: int, x: float) -> None:
    """Store an f32 bit-exactly."""
    if x != x:
        _U32.pack_into(m, a, f32_to_bits(x))
    else:
        _F32.pack_into(m, a, x)


MEMORY_HELPERS.update((f32_load.__code__, f32_store.__code__))


def mem_grow(mem, delta: int) -> int:
    """memory.grow: old size in pages, or 0xFFFFFFFF (-1 as i32) on failure."""
    r = mem.grow(delta)
    return r & 0xFFFFFFFF


def mem_grow64(mem, delta: int) -> int:
    """memory.grow of a 64-bit memory: old size in pages, or 2**64-1 (-1 as i64) on failure."""
    return mem.grow(delta) & 0xFFFFFFFFFFFFFFFF


def mem_fill(mem, d: int, v: int, n: int) -> None:
    """memory.fill (bounds-checked before any write)."""
    view = mem.view
    if d + n > len(view):
        raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        view[d : d + n] = bytes([v & 0xFF]) * n


def mem_copy(mem, d: int, s: int, n: int) -> None:
    """memory.copy with memmove semantics (bounds-checked before any write)."""
    view = mem.view
    size = len(view)
    if s + n > size or d + n > size:
        raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        view[d : d + n] = view[s : s + n].tobytes()


def mem_copy2(dst, src, d: int, s: int, n: int) -> None:
    """memory.copy between two memories (bounds-checked before any write)."""
    to, frm = dst.view, src.view
    if s + n > len(frm) or d + n > len(to):
        raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        to[d : d + n] = frm[s : s + n]


def mem_init(mem, datas: list, seg: int, d: int, s: int, n: int) -> None:
    """memory.init from data segment ``seg`` (a dropped segment has length 0)."""
    data = datas[seg]
    view = mem.view
    if s + n > len(data) or d + n > len(view):
        raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
    if n:
        view[d : d + n] = data[s : s + n]


# -- tables ------------------------------------------------------------------------------------
def call_target(elems: list, i: int, tid: int):
    """Resolve ``call_indirect``: the raw callable at ``elems[i]`` if its type id is ``tid``."""
    try:  # (i is unsigned: only an index past the end fails; a try costs less than len())
        f = elems[i]
    except IndexError:
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "undefined element") from None
    if f is None:
        raise Trap(TrapCode.UNINITIALIZED_ELEMENT)
    if f.type_id != tid and not type_id_sub(f.type_id, tid):
        raise Trap(TrapCode.INDIRECT_CALL_TYPE_MISMATCH)
    return f.pyraw


def tail_target(elems: list, i: int, tid: int):
    """Resolve ``return_call_indirect``: like :func:`call_target`, but the callee's tail entry
    (see :mod:`.tailcall`)."""
    try:  # (i is unsigned: only an index past the end fails; a try costs less than len())
        f = elems[i]
    except IndexError:
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "undefined element") from None
    if f is None:
        raise Trap(TrapCode.UNINITIALIZED_ELEMENT)
    if f.type_id != tid and not type_id_sub(f.type_id, tid):
        raise Trap(TrapCode.INDIRECT_CALL_TYPE_MISMATCH)
    return f.tailraw


def ref_tail_target(f):
    """Resolve ``return_call_ref``: the tail entry of a function reference."""
    if f is None:
        raise Trap(TrapCode.NULL_FUNCTION_REFERENCE)
    return f.tailraw


def ref_target(f):
    """Resolve ``call_ref``: the raw callable of a function reference (validation guarantees
    its type)."""
    if f is None:
        raise Trap(TrapCode.NULL_FUNCTION_REFERENCE)
    return f.pyraw


def non_null(v):
    """ref.as_non_null: the reference, or a trap for null."""
    if v is None:
        raise Trap(TrapCode.NULL_REFERENCE)
    return v


def table_get(elems: list, i: int):
    """table.get."""
    if i >= len(elems):
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    return elems[i]


def table_set(table, i: int, v) -> None:
    """table.set."""
    elems = table.elements
    if i >= len(elems):
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    elems[i] = v
    if table.mirror is not None:
        table.changed(i, 1)


def table_grow(table, init, n: int) -> int:
    """table.grow: old size, or 0xFFFFFFFF on failure."""
    return table.grow(n, init) & 0xFFFFFFFF


def table_grow64(table, init, n: int) -> int:
    """table.grow of a 64-bit table: old size, or 2**64-1 on failure."""
    return table.grow(n, init) & 0xFFFFFFFFFFFFFFFF


def table_fill(table, i: int, v, n: int) -> None:
    """table.fill."""
    elems = table.elements
    if i + n > len(elems):
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    elems[i : i + n] = [v] * n
    table.changed(i, n)


def table_copy(dst, src, d: int, s: int, n: int) -> None:
    """table.copy (overlap-safe)."""
    to, frm = dst.elements, src.elements
    if s + n > len(frm) or d + n > len(to):
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    if n:
        to[d : d + n] = frm[s : s + n]
        dst.changed(d, n)


def table_init(table, segs: list, seg: int, d: int, s: int, n: int) -> None:
    """table.init from element segment ``seg`` (a dropped segment has length 0)."""
    items = segs[seg]
    elems = table.elements
    if s + n > len(items) or d + n > len(elems):
        raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    if n:
        elems[d : d + n] = items[s : s + n]
        table.changed(d, n)


_STRUCTS = {
    "U8": "<B", "S8": "<b", "U16": "<H", "S16": "<h", "U32": "<I", "S32": "<i",
    "U64": "<Q", "S64": "<q", "F64": "<d",
}  # fmt: skip


def base_namespace() -> dict:
    """The names every generated module body can use (helpers, struct accessors, constants)."""
    ns: dict = {"__builtins__": builtins}
    for name in dir(numeric):
        if not name.startswith("_"):
            ns[name] = getattr(numeric, name)
    for name, fmt in _STRUCTS.items():
        st = struct.Struct(fmt)
        ns["L" + name] = st.unpack_from
        ns["P" + name] = st.pack_into
    for f in (unreachable, exhausted, interrupted, out_of_fuel, charge_fuel, f32_load, f32_store,
              mem_grow, mem_grow64, mem_fill, mem_copy, mem_copy2, mem_init, call_target,
              ref_target, non_null, table_get, table_set, table_grow, table_grow64, table_fill,
              table_copy, table_init, throw, throw_ref, tail_target, ref_tail_target,
              trampoline):  # fmt: skip
        ns[f.__name__] = f
    ns["TailCall"] = TailCall
    ns["WasmException"] = WasmException
    ns["ExnRef"] = ExnRef
    ns.update(simd.HELPERS)  # the v128 helpers, by instruction name (i32x4_add, ...)
    ns["PAGE_SIZE"] = PAGE_SIZE
    return ns
