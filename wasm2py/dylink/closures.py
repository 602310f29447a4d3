"""Run-time closures, as WASIX's ``closure_allocate`` / ``closure_prepare`` / ``closure_free``.

A guest asks for a table slot (``closure_allocate``), then turns it into a function of any
signature (``closure_prepare``): calling the slot stores the arguments into linear memory
(packed in order, 4 bytes for i32/f32, 8 for i64/f64, 16 for v128), calls the guest's
*backing function* ``backing(values_ptr, results_ptr, env)`` through the table, and returns the
values the backing function wrote at ``results_ptr`` (packed the same way). Preparing a slot
again redefines it; ``closure_free`` gives the slot back (it reads as null, and the next
``closure_allocate`` may hand it out again).

The function in the slot is a *trampoline module*, built with :mod:`wasm2py.build` and loaded
into the running program by the :class:`~wasm2py.dylink.DynamicLinker` like any side module:
a ``dylink.0`` section, imports of ``env.memory``, ``env.__indirect_function_table`` and
``env.__stack_pointer``, and one exported function that takes its buffers from the stack
(16-byte aligned areas below ``__stack_pointer``). Unlike WASIX, the backing function and the
environment are not constants in the code but two imported globals (``closure.backing``,
``closure.env``), so every closure of one signature shares one module: translated (or
compiled by LLVM) once, instantiated per ``closure_prepare``.

Host functions (namespace ``wasix_32v1``, all parameters i32, result an errno)::

    closure_allocate(closure_ptr) -> errno             # writes the slot at closure_ptr
    closure_prepare(backing, closure, arg_types_ptr, arg_types_len,
                    result_types_ptr, result_types_len, env) -> errno
    closure_free(closure) -> errno

Value type codes (one byte each): 0 i32, 1 i64, 2 f32, 3 f64, 4 v128. Errors: ``EINVAL`` for
an unknown type code or a slot ``closure_allocate`` did not hand out, ``EFAULT`` for memory
out of bounds.
"""

from __future__ import annotations

from ..build import ModuleBuilder
from ..errors import LinkError
from ..externs import Global
from ..runtime.func import Caller, Func
from ..types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType
from ..wasi.constants import Errno
from .section import DylinkInfo

#: the import namespace of the host functions
NAMESPACE = "wasix_32v1"
#: type codes of closure signatures (WASIX's ``WasmValueType``)
TYPE_CODES = {0: ValType.I32, 1: ValType.I64, 2: ValType.F32, 3: ValType.F64, 4: ValType.V128}
#: slots reserved at a time when no freed slot is left
CHUNK = 16

_SIZE = {ValType.I32: 4, ValType.I64: 8, ValType.F32: 4, ValType.F64: 8, ValType.V128: 16}
_I32 = ValType.I32
_BACKING = FuncType([_I32, _I32, _I32], [])
_FUNCS = {
    "closure_allocate": FuncType([_I32], [_I32]),
    "closure_prepare": FuncType([_I32] * 7, [_I32]),
    "closure_free": FuncType([_I32], [_I32]),
}


def _round16(n: int) -> int:
    return (n + 15) & -16


def trampoline_module(params, results) -> bytes:
    """The trampoline module for closures of type ``params -> results``: it exports
    ``trampoline``, which spills its arguments below the stack pointer, calls the function in
    table slot ``closure.backing`` with ``(values, results, closure.env)`` and returns the
    results it left in memory."""
    params, results = tuple(params), tuple(results)
    b = ModuleBuilder(module_name="closure")
    b.dylink(DylinkInfo())
    b.import_memory("env", "memory", MemoryType(Limits(0)))
    b.import_table("env", "__indirect_function_table", TableType(ValType.FUNCREF, Limits(0)))
    sp = b.import_global("env", "__stack_pointer", GlobalType(_I32, True))
    backing = b.import_global("closure", "backing", GlobalType(_I32))
    env = b.import_global("closure", "env", GlobalType(_I32))
    n = len(params)
    saved, values, out = n, n + 1, n + 2
    f = b.function(FuncType(params, results), [_I32, _I32, _I32], name="trampoline")
    values_size = _round16(sum(_SIZE[t] for t in params))
    results_size = _round16(sum(_SIZE[t] for t in results))
    # results area, then values area, below the stack pointer (which stays 16-byte aligned)
    f.global_get(sp).local_tee(saved).i32_const(results_size).i32_sub().local_tee(out)
    f.i32_const(values_size).i32_sub().local_tee(values).global_set(sp)
    offset = 0
    for i, t in enumerate(params):
        f.local_get(values).local_get(i)
        getattr(f, f"{t}_store")(offset=offset, align=0)
        offset += _SIZE[t]
    f.local_get(values).local_get(out).global_get(env).global_get(backing)
    f.call_indirect(_BACKING, 0)
    offset = 0
    for t in results:
        f.local_get(out)
        getattr(f, f"{t}_load")(offset=offset, align=0)
        offset += _SIZE[t]
    f.local_get(saved).global_set(sp)
    b.export_function("trampoline", f)
    return b.encode()


class Closures:
    """WASIX closures for the programs of one :class:`~wasm2py.dylink.DynamicLinker`.

    ``Closures(dl).install()`` adds the host functions to the linker's imports (or pass
    :meth:`imports` yourself); :meth:`allocate`, :meth:`prepare` and :meth:`free` are the same
    operations for host code.

    Args:
        linker: the dynamic linker whose table, memory and stack the closures use.
    """

    def __init__(self, linker):
        self.linker = linker
        #: slot -> the Library of its current trampoline (None: allocated, not prepared)
        self.allocated: dict[int, object] = {}
        self._free: list[int] = []
        self._modules: dict[tuple, bytes] = {}
        self._prepared = 0

    # -- host-side operations -----------------------------------------------------------------
    def allocate(self) -> int:
        """A table slot for a closure (a freed one if any, the most recently freed first)."""
        if not self._free:
            first = self.linker.allocate_slots(CHUNK)
            self._free.extend(range(first + CHUNK - 1, first - 1, -1))
        slot = self._free.pop()
        self.allocated[slot] = None
        return slot

    def prepare(self, backing: int, slot: int, params, results, env: int) -> Func:
        """Make ``slot`` a function of type ``params -> results`` that calls the function in
        table slot ``backing`` with ``(values_ptr, results_ptr, env)``; returns it.

        Raises:
            LinkError: ``slot`` was not handed out by :meth:`allocate`.
        """
        if slot not in self.allocated:
            raise LinkError(f"table slot {slot} is not an allocated closure")
        key = (tuple(params), tuple(results))
        wasm = self._modules.get(key)
        if wasm is None:
            wasm = self._modules[key] = trampoline_module(*key)
        dl = self.linker
        store = dl.store
        self._prepared += 1
        lib = dl.dlopen(wasm, name=f"<closure {self._prepared} in slot {slot}>", global_scope=False,
                        imports={"closure": {
                            "backing": Global(store, GlobalType(_I32), backing & 0xFFFFFFFF),
                            "env": Global(store, GlobalType(_I32), env & 0xFFFFFFFF)}})  # fmt: skip
        self._release(slot)
        func = lib.exports.trampoline
        dl.set_slot(slot, func)
        self.allocated[slot] = lib
        return func

    def free(self, slot: int) -> bool:
        """Give a closure's slot back (it becomes null); False if it was not allocated."""
        if slot not in self.allocated:
            return False
        self._release(slot)
        del self.allocated[slot]
        self.linker.set_slot(slot, None)
        self._free.append(slot)
        return True

    def _release(self, slot: int) -> None:
        lib = self.allocated.get(slot)
        if lib is not None:
            self.linker.dlclose(lib)

    # -- the guest's host functions -----------------------------------------------------------
    def install(self) -> Closures:
        """Add the host functions to the linker's imports (for modules loaded from now on)."""
        for ns, funcs in self.imports().items():
            self.linker.imports.setdefault(ns, {}).update(funcs)
        return self

    def imports(self) -> dict[str, dict[str, Func]]:
        """``{"wasix_32v1": {name: Func}}``: the three host functions."""
        store = self.linker.store
        impls = {"closure_allocate": self._closure_allocate,
                 "closure_prepare": self._closure_prepare, "closure_free": self._closure_free}
        return {NAMESPACE: {name: Func(store, ft, impls[name], access_caller=True)
                            for name, ft in _FUNCS.items()}}  # fmt: skip

    def _memory(self, caller: Caller):
        mem = caller.memory if caller is not None else None
        return mem if mem is not None else self.linker.memory

    def _closure_allocate(self, caller: Caller, closure_ptr: int) -> int:
        mem = self._memory(caller)
        ptr = closure_ptr & 0xFFFFFFFF
        if ptr + 4 > mem.data_len:
            return Errno.FAULT
        slot = self.allocate()
        mem.write(slot.to_bytes(4, "little"), ptr)
        return Errno.SUCCESS

    def _closure_prepare(self, caller: Caller, backing: int, closure: int, args_ptr: int,
                         nargs: int, results_ptr: int, nresults: int, env: int) -> int:  # fmt: skip
        mem = self._memory(caller)
        size = mem.data_len
        codes = []
        for ptr, n in ((args_ptr & 0xFFFFFFFF, nargs & 0xFFFFFFFF),
                       (results_ptr & 0xFFFFFFFF, nresults & 0xFFFFFFFF)):  # fmt: skip
            if ptr + n > size:
                return Errno.FAULT
            codes.append(mem.read(ptr, ptr + n))
        try:
            params = [TYPE_CODES[c] for c in codes[0]]
            results = [TYPE_CODES[c] for c in codes[1]]
        except KeyError:
            return Errno.INVAL
        if closure & 0xFFFFFFFF not in self.allocated:
            return Errno.INVAL
        self.prepare(backing, closure & 0xFFFFFFFF, params, results, env)
        return Errno.SUCCESS

    def _closure_free(self, caller: Caller, closure: int) -> int:
        self.free(closure & 0xFFFFFFFF)
        return Errno.SUCCESS


__all__ = ["CHUNK", "Closures", "NAMESPACE", "TYPE_CODES", "trampoline_module"]
