"""Frames of paused calls that jitted code spilled (see :mod:`.suspend` for the code side):
from a spill buffer to a :class:`~wasm2py.runtime.resumable.FrameRecord`, and back into the
function at its resume point."""

from __future__ import annotations

import ctypes
from threading import get_ident

from ..binary.opcodes import Op
from ..errors import Error
from ..runtime.exceptions import WasmException
from ..runtime.resumable import KIND_CODES, FrameRecord, moves_frames, pass_through, python_point
from ..runtime.trap import FuelExhausted
from ..types import ValType
from . import abi
from .native import ENTRY, U64, _to_internal, _to_slot, slot_readers
from .suspend import CODE_I64, CODE_TYPES, RESUME_HEAD, SPILL_HEAD

#: ``void suspend(ctx, buf, words)`` (see ``abi.RT_SUSPEND_CB``)
SUSPEND = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64)
#: resume point kinds by their code (a key's low two bits)
_KINDS = {code: kind for kind, code in KIND_CODES.items()}


class NativeFrame:
    """What resumes a spilled frame: its instance's jitted side, the remaining depth it ran
    at, and the buffer codes of its callee's results and of its operands."""

    __slots__ = ("inst", "rem", "results", "operands", "__weakref__")

    def __init__(self, inst, rem: int, results: tuple, operands: tuple):
        self.inst = inst
        self.rem = rem
        self.results = results
        self.operands = operands

    def values(self, rec: FrameRecord) -> tuple[tuple, tuple]:
        """The frame's locals and operands as wasm values (the runtime's internal
        representation), to move it to another process (or tier).

        Raises:
            Error: an operand may be a reference (jitted code keeps references as 64-bit
                handles, which mean nothing elsewhere; see :func:`may_hold_refs`).
        """
        inst = self.inst
        rt = inst.rt
        if CODE_I64 in self.operands and may_hold_refs(inst.module, rec.func_index):
            raise Error(f"cannot move a paused jitted frame of function {rec.func_index} out "
                        f"of its instance: its operands may hold references")  # fmt: skip
        return (_read(rec.locals, local_types(inst.module, rec.func_index), rt),
                _read(rec.stack, [CODE_TYPES[c] for c in self.operands], rt))

    def portable(self) -> tuple:
        """What :func:`native_record` needs besides the values."""
        return (self.results, self.operands)

    def resume(self, rec: FrameRecord, R):
        """Continue the frame with the results of ``R()`` (or the wasm exception it raises)
        as those of its call; returns its results or raises (a new pause included)."""
        inst = self.inst
        rt = inst.rt
        status = rt.rt
        words = [rec.key, *(0,) * (RESUME_HEAD - 1), *rec.locals]
        try:
            v = R()
        except WasmException as e:
            exn = e.exn
        else:
            exn = None
            codes = self.results
            vals = (v,) if len(codes) == 1 else () if not codes else v
            for c, x in zip(codes, vals):
                t = CODE_TYPES[c]
                if t is ValType.V128:
                    words += (x & 0xFFFFFFFFFFFFFFFF, x >> 64)
                else:
                    words.append(_to_slot(t, rt)(x))
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
        key, rem, index, nlocal, nstack, nres, required = w[:SPILL_HEAD]
        if rem >= 1 << 63:
            rem -= 1 << 64
        kind = key & 3
        if kind:  # a failed fuel check: the innermost frame of a new pause
            rt.pending = FuelExhausted(required, kind == 2)
            rt.spilled = []
        top = SPILL_HEAD + nlocal
        codes = w[top : top + nres + nstack]
        inst = rt.instances[ctx]
        rec = FrameRecord(index, key >> 2, _KINDS[kind], rt.max_depth - 1 - rem,
                          tuple(w[SPILL_HEAD:top]), tuple(w[top + nres + nstack :]), inst.state.ns,
                          NativeFrame(inst, rem, tuple(codes[:nres]), tuple(codes[nres:])))
        rt.paused_words[rec.native] = rec.locals + rec.stack
        rt.spilled.append(rec)

    return SUSPEND(suspend)


def resume_entry(inst, index: int):
    """(entry, slots, result readers) of defined function ``index`` of ``inst`` (an
    :class:`~.instance.LLVMInstance`), to resume its frames through."""
    ft = inst.state.funcs[index].type
    entry, fn = inst.entry_addrs[index]
    n = abi.entry_slots(ft)
    slots = (U64 * (n + 1))()
    slots[n] = fn
    return ENTRY(entry), slots, slot_readers(ft.results, inst.rt)


def local_types(module, index: int) -> list[ValType]:
    """The wasm locals of defined function ``index`` (its parameters first)."""
    code = module.codes[index - module.num_imported_funcs]
    return list(module.func_types()[index].params) + list(code.locals)


_REF_OPS = frozenset({Op.REF_NULL, Op.REF_FUNC, Op.TABLE_GET, Op.SELECT_T, Op.REF_AS_NON_NULL,
                      Op.BR_ON_NULL, Op.BR_ON_NON_NULL, Op.TRY_TABLE})  # fmt: skip


def may_hold_refs(module, index: int) -> bool:
    """Whether function ``index``'s operand stack may ever hold a reference (a reference local,
    instruction, global, block type, or a callee returning one); False is certain."""
    def ref(t) -> bool:
        return t not in _NUMERIC

    if any(map(ref, local_types(module, index))):
        return True
    types = module.types
    ftypes = module.func_types()
    gtypes = module.global_types()
    for ins in module.codes[index - module.num_imported_funcs].body:
        op = ins.op
        if op in _REF_OPS:
            return True
        if op in (Op.CALL, Op.RETURN_CALL) and any(map(ref, ftypes[ins.imm].results)):
            return True
        if op in (Op.CALL_INDIRECT, Op.RETURN_CALL_INDIRECT):
            if any(map(ref, types[ins.imm[0]].results)):
                return True
        if op in (Op.CALL_REF, Op.RETURN_CALL_REF):
            return True
        if op == Op.GLOBAL_GET and ref(gtypes[ins.imm].valtype):
            return True
        if op in (Op.BLOCK, Op.LOOP, Op.IF) and ins.imm is not None:
            if not isinstance(ins.imm, int):
                if ref(ins.imm):
                    return True
            elif any(map(ref, (*types[ins.imm].params, *types[ins.imm].results))):
                return True
    return False


_NUMERIC = frozenset({ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128})


def _read(words, types, rt) -> tuple:
    out = []
    k = 0
    for t in types:
        if t is ValType.V128:
            out.append(words[k] | (words[k + 1] << 64))
            k += 2
        else:
            out.append(_to_internal(t, rt)(words[k]))
            k += 1
    return tuple(out)


def _words(values, types, rt) -> tuple:
    out: list = []
    for v, t in zip(values, types):
        if v is None and t in _NUMERIC:  # (a local the Python tier had not set yet)
            out += (0, 0) if t is ValType.V128 else (0,)
        elif t is ValType.V128:
            out += (v & 0xFFFFFFFFFFFFFFFF, v >> 64)
        else:
            out.append(_to_slot(t, rt)(v))
    return tuple(out)


#: :func:`~wasm2py.translate.codegen.type_codes` characters -> buffer type codes
_CHAR_CODES = {"i": 0, "I": 1, "f": 2, "F": 3, "v": 4, "r": 5, "x": 6}


def from_python(inst, rec: FrameRecord) -> FrameRecord:
    """A Python-tier record of ``inst``'s function as one that resumes in jitted code (the
    operands the Python tier keeps as expressions computed by its resume entry), or ``rec``
    itself if its resume entry does not describe the point."""
    point = python_point(rec)
    if point is None:
        return rec
    types, results, _ = point
    operands = python_point(rec, values=True)
    return native_record(inst, rec.func_index, rec.offset, rec.kind, rec.depth, rec.locals,
                         operands, (tuple(_CHAR_CODES[c] for c in results),
                                    tuple(_CHAR_CODES[c] for c in types)))  # fmt: skip


def _nothing():
    return None


def move_in(inst, index: int, offset: int, depth: int, frame: dict, operands: tuple,
            codes: str):  # fmt: skip
    """On-stack replacement: continue a Python-tier frame of ``inst``'s function ``index`` (a
    function of a tier-up unit: see ``TierUp._movable``) in jitted code at the header of
    the loop at ``offset``, before the iteration's fuel is charged; its results, or raises.
    ``frame``: the Python frame's variables (``l<k>``: the wasm locals; one not set yet is
    0), ``operands``: its operands there, of types ``codes`` (``type_codes`` characters)."""
    ltypes = local_types(inst.module, index)
    rec = native_record(inst, index, offset, "loop", depth,
                        [frame.get(f"l{k}") for k in range(len(ltypes))], operands,
                        ((), tuple(_CHAR_CODES[c] for c in codes)))  # fmt: skip
    return rec.native.resume(rec, _nothing)


def native_record(inst, index: int, offset: int, kind: str, depth: int, locals_, stack,
                  portable: tuple) -> FrameRecord:  # fmt: skip
    """A record of a frame of ``inst`` (an :class:`~.instance.LLVMInstance`) that resumes in
    jitted code, from wasm values (``portable``: from :meth:`NativeFrame.portable`)."""
    results, operands = portable
    rt = inst.rt
    rem = rt.max_depth - 1 - depth
    ltypes = local_types(inst.module, index)
    locals_ = tuple(locals_) + (None,) * (len(ltypes) - len(locals_))  # (unused ones)
    rec = FrameRecord(index, offset, kind, depth, _words(locals_, ltypes, rt),
                      _words(stack, [CODE_TYPES[c] for c in operands], rt), inst.state.ns,
                      NativeFrame(inst, rem, tuple(results), tuple(operands)))  # fmt: skip
    rt.paused_words[rec.native] = rec.locals + rec.stack
    return rec


pass_through(NativeFrame.resume.__code__)
moves_frames(move_in.__code__)
