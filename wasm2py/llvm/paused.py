"""Frames of paused calls that jitted code spilled (see :mod:`.suspend` for the code side):
from a spill buffer to a :class:`~wasm2py.runtime.resumable.FrameRecord`, and back into the
function at its resume point."""

from __future__ import annotations

import ctypes
from threading import get_ident

from ..runtime.exceptions import WasmException
from ..runtime.resumable import FrameRecord, pass_through
from ..runtime.trap import FuelExhausted
from ..types import ValType
from . import abi
from .native import ENTRY, U64, _to_slot, slot_readers

#: ``void suspend(ctx, buf, words)`` (see ``abi.RT_SUSPEND_CB``)
SUSPEND = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64)
#: buffer type codes (:mod:`.suspend`) -> the type a value is converted as
_CODE_TYPES = (ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128, ValType.FUNCREF,
               ValType.EXTERNREF)  # fmt: skip
_HEAD = 7
_KINDS = ("call", "fuel", "bulk")


class NativeFrame:
    """What resumes a spilled frame: its instance's jitted side, the remaining depth it ran
    at, and the buffer codes of its callee's results and of its operands."""

    __slots__ = ("inst", "rem", "results", "operands")

    def __init__(self, inst, rem: int, results: tuple, operands: tuple):
        self.inst = inst
        self.rem = rem
        self.results = results
        self.operands = operands

    def resume(self, rec: FrameRecord, R):
        """Continue the frame with the results of ``R()`` (or the wasm exception it raises)
        as those of its call; returns its results or raises (a new pause included)."""
        inst = self.inst
        rt = inst.rt
        status = rt.rt
        words = [rec.key, 0, 0, 0]
        try:
            v = R()
        except WasmException as e:
            exn = e.exn
        else:
            exn = None
            codes = self.results
            vals = (v,) if len(codes) == 1 else () if not codes else v
            for c, x in zip(codes, vals):
                t = _CODE_TYPES[c]
                if t is ValType.V128:
                    words += (x & 0xFFFFFFFFFFFFFFFF, x >> 64)
                else:
                    words.append(_to_slot(t, rt)(x))
        words += rec.locals
        words += rec.stack
        buf = (U64 * len(words))(*words)
        cfn, slots, readers = inst.resume_entry(rec.func_index)
        if get_ident() != rt.thread:
            rt.enter()
        status[abi.RT_RESUME] = ctypes.addressof(buf)
        if exn is not None:
            rt.start_unwinding(exn)  # the call's status check hands it to a try_table
        if rt.fuel_on:
            rt.fuel_to_native()
            cfn(inst.ctx_addr, self.rem, ctypes.addressof(slots))
            rt.fuel_to_store()
        else:
            cfn(inst.ctx_addr, self.rem, ctypes.addressof(slots))
        status[abi.RT_RESUME] = 0
        if status[0]:
            rt.raise_status()
        if len(readers) == 1:
            return readers[0](slots)
        if not readers:
            return None
        return tuple(r(slots) for r in readers)


def suspend_callback(rt):
    """The runtime's suspend callback: a spilled frame becomes a record (``rt.spilled``)."""

    def suspend(ctx, buf, n):
        w = (U64 * n).from_address(buf)[:]
        key, rem, index, nlocal, nstack, nres, required = w[:_HEAD]
        if rem >= 1 << 63:
            rem -= 1 << 64
        kind = key & 3
        if kind:  # a failed fuel check: the innermost frame of a new pause
            rt.pending = FuelExhausted(required, kind == 2)
            rt.spilled = []
        codes = w[_HEAD : _HEAD + nres + nstack]
        top = _HEAD + nres + nstack + nlocal
        inst = rt.instances[ctx]
        rec = FrameRecord(index, key >> 2, _KINDS[kind], rt.max_depth - 1 - rem, tuple(w[top - nlocal:top]),
                          tuple(w[top:]), inst.state.ns,
                          NativeFrame(inst, rem, tuple(codes[:nres]), tuple(codes[nres:])))
        rt.spilled.append(rec)

    return SUSPEND(suspend)


def resume_entry(inst, index: int):
    """(entry, slots, result readers) of defined function ``index`` of ``inst`` (an
    :class:`~.instance.LLVMInstance`), to resume its frames through."""
    ft = inst.state.funcs[index].type
    entry = inst.entry_addrs[index]
    slots = (U64 * max(abi.slot_offsets(ft.params)[1], abi.slot_offsets(ft.results)[1], 1))()
    return ENTRY(entry), slots, slot_readers(ft.results, inst.rt)


pass_through(NativeFrame.resume.__code__)
