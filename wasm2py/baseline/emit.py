"""The baseline emitter: wasm function bodies -> x86-64 machine code, one pass, one template
per instruction (see the package docstring for the ABI and the contract).

**Frame.** ``push rbp; mov rbp, rsp; sub rsp, N``. Below ``rbp``: the saved ``r15`` (which
holds the context ``env`` while the function runs), the callee's depth ``rem - frame
words`` (what calls pass on), the saved callee-saved registers the function uses, then one
8-byte slot per local (parameters first) and one per operand-stack height; the outgoing
stack arguments at the bottom (``[rsp + 8k]``). The operand stack's height is known at every
instruction, so every operand has a fixed slot and control flow merges by copying values to
the target's slots.

**Lazy operands.** The compile-time stack (:attr:`FuncEmitter.st`) holds what each operand
*is*: in its slot (``S``), a constant (``C``), an unchanged local (``L``), in ``rax``
(``R``: the top, or the one under a local or constant on top while the next instruction
takes it from there, see :data:`_HOLDS`) or in the flags as a condition code (``F``, the
top only). Templates take either operand as an immediate or a memory/register operand
(with the right one in rax: the left one in place, a compare's condition reversed), and a
compare followed by ``br_if``/``if``/``select`` is ``cmp; jcc``. Everything is flushed to
the slots at control-flow joins. An i32 in a register or slot may have any upper 32 bits:
every consumer that needs it zero-extended (addresses, ``i64.extend_i32_u``, table indices)
does so itself, unless the emitter knows a 32-bit instruction made it (``rclean``). f32/f64
values are bit patterns (the low 32 bits for f32) in the same places.

**Registers.** ``r15`` the context, ``r14`` memory 0's base and ``r13`` its byte size (in
functions that access memory; reloaded after every call and ``memory.grow``); scratch
``rax, rcx, rdx``; the most used locals live in the remaining callee-saved registers
(``rbx, r12``, and ``r13, r14`` if unused), then in ``rsi, rdi, r8-r11`` (saved to their
slots before each call and reloaded after it, so only for locals used more than twice as
often as the function calls). With fuel metering ``r12`` holds the fuel left instead of a
local (see *Fuel*).

**Fuel and epochs** (``compile_functions(..., fuel_costs, epoch)``). The segments of
:func:`wasm2py.fuel.segment_costs`, each charged where it starts (``sub r12, cost; jb stub``:
at every segment start the operands are in their slots, so the flags and ``rdx`` are free);
the stub adds the cost back and traps with ``OUT_OF_FUEL`` at the segment's first instruction,
as the LLVM tier does. ``r12`` is loaded from ``rt[RT_FUEL]`` in the prologue (before the
first trap), stored there before each call and on every exit (the epilogue, which traps leave
through too) and reloaded after each call (the callee, a host function or the Python tier may
have changed it). Epoch checks (``rt[RT_EPOCH]`` non-zero: ``INTERRUPT``) follow the entry's
stack checks and start every loop iteration at the header.

**Traps.** A failed check jumps to a stub at the end of the function that puts the wasm
offset in ``esi`` and the status in ``rt[RT_TRAP]``, then appends ``(ctx, index << 32 |
offset)`` to the trap trace (as ``wasm2py.llvm.recorder`` does) and returns; after each call
a set status sends the caller the same way (the call's offset). Offsets are those the LLVM
tier records: the instruction's, 0 for the entry's stack check.

**Extending it** (float arithmetic lives in another module): :data:`HANDLERS` maps an opcode
(an ``int``; :func:`handler` is the decorator that registers) to ``fn(fe, imm) -> bool``
(True: the code after it is unreachable); ``fe.op`` is the opcode (one handler may serve
a family); an unsupported case raises :class:`Unsupported`
(the function then stays in another tier: never emit code whose result could be wrong). A
handler uses :class:`FuncEmitter`'s operand-stack interface:

* ``fe.code`` (a ``bytearray``) to append machine code to (:mod:`.x86` encodes it);
  ``fe.asm`` for labels and jumps (``fe.asm.jcc(cc, label)``, ``fe.asm.bind(label)``);
* ``fe.pop_to(reg, w64)``: pop the top operand into a general register (``w64=False``:
  an i32/f32, whose register's upper half may then be anything); ``fe.st[-1][0]`` is the
  top's kind, if a template wants a constant (``C``: ``fe.st[-1][1]`` is its bits) apart;
* ``fe.pop_to_xmm(x, f64)``: pop the top operand (a float's bits) into ``xmm`` ``x``
  (from its slot directly when it is in one);
* ``fe.push_r()``: the result is in ``rax`` (an f32 in ``eax``); ``fe.push_xmm(x, f64)``:
  in ``xmm`` ``x``; ``fe.push_flags(cc)``: an i32 boolean that is condition code ``cc`` of
  the flags (nothing may then change the flags before the next instruction consumes it;
  a float compare whose truth needs two flags, e.g. ``ucomisd`` equality with ``PF``,
  makes its 0/1 in ``eax`` and pushes ``R``);
* ``fe.trap_if(cc, TrapCode.X)``: trap (recorded at the current instruction's offset, as
  the LLVM tier does) when ``cc`` holds; ``fe.trap(code)``: unconditionally;
* ``fe.load_rt(reg)``: ``reg = rt``; the canonical NaNs (the NaN rule of the LLVM tier's
  README) are at ``[rt + 8*abi.RT_NAN_F32]`` (low 32 bits) and ``[rt + 8*abi.RT_NAN_F64]``;
* a template that calls out (a C helper) calls ``fe.save_volatile()`` first and
  ``fe.restore_volatile()`` after: locals may be pinned in ``rsi, rdi, r8-r11``;
* scratch registers are ``rax, rcx, rdx`` and ``xmm0-xmm7``; nothing else may be written
  (``rbx, rsi, rdi, r8-r14`` may hold locals and the memory; ``r15`` is the context).

Before a handler runs, the operand stack holds at most one value in a register (``rax``) or
the flags, always the top (an operand in ``rax`` under a local or constant on top is written
to its slot first, unless the opcode is in :data:`_HOLDS`).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..binary.module import Module
from ..binary.opcodes import Op
from ..errors import TrapCode
from ..fuel import segment_costs
from ..llvm import abi
from ..types import FuncType, ValType
from ..validate.frames import frame_words
from . import x86 as X
from .x86 import R8, R9, R10, R11, R12, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP

O = Op
_i32 = struct.Struct("<i").pack

#: operand kinds (see the module docstring)
S, C, L, R, F = 0, 1, 2, 3, 4

_NUM = (ValType.I32, ValType.I64, ValType.F32, ValType.F64)
_FLOAT = (ValType.F32, ValType.F64)
_WIDE = (ValType.I64, ValType.F64)  # 8-byte values
_INT_ARGS = (RDX, RCX, R8, R9)  # after env (rdi) and rem (rsi)
_CTX = R15
_MBASE = R14
_MSIZE = R13
#: the fuel left, while a function of a metered store runs (``rt[RT_FUEL]`` at calls and exits)
_FUEL = R12


class Unsupported(Exception):
    """A function uses something the baseline does not compile (it stays in another tier)."""


@dataclass
class Blob:
    """Machine code of some functions of one module (see the package docstring)."""

    code: bytes
    funcs: dict[int, int] = field(default_factory=dict)
    long_funcs: frozenset = frozenset()
    refused: dict[int, str] = field(default_factory=dict)


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


_FLAGS = _cpu_flags()
#: bit-count instructions the CPU has (lzcnt: ``abm``; tzcnt: ``bmi1``): without them the
#: encodings mean ``bsr``/``bsf``, wrong for 0, so clz/ctz/popcnt are refused
_BITCOUNT = {0xBD: "abm" in _FLAGS, 0xBC: "bmi1" in _FLAGS, 0xB8: "popcnt" in _FLAGS}


def _parallel_moves(c: bytearray, moves: dict[int, int]) -> None:
    """Append ``mov dst, src`` for every ``dst: src`` of ``moves`` as if all happened at once
    (a move waits while its destination is another's source; a cycle goes through rax)."""
    while moves:
        ready = [d for d in moves if d not in moves.values()]
        if ready:
            for d in ready:
                c += X.mov_rr(d, moves.pop(d))
            continue
        # a cycle: free one destination by copying its value to rax
        d = next(iter(moves))
        c += X.mov_rr(RAX, d)
        for k, v in moves.items():
            if v == d:
                moves[k] = RAX


def stack_area(nstack: int) -> int:
    """Bytes a ``tailcc`` callee with ``nstack`` 8-byte stack arguments pops on return: the
    arguments padded so that they and the return address take a multiple of 16 (at least 8:
    LLVM's ``retq $8`` for none, see ``wasm2py/llvm/README.md``)."""
    return ((8 * nstack + 8 + 15) & ~15) - 8


@functools.lru_cache(maxsize=1024)
def arg_locations(params: tuple) -> tuple[list[tuple[str, int]], int]:
    """Where each parameter of a native signature ``(env, rem, params...)`` is passed:
    ``("r", reg)``, ``("x", xmm)`` or ``("s", stack index)``; and the stack argument count."""
    locs = []
    ni = nx = ns = 0
    for t in params:
        if t in _FLOAT:
            if nx < 8:
                locs.append(("x", nx))
                nx += 1
                continue
        elif ni < len(_INT_ARGS):
            locs.append(("r", _INT_ARGS[ni]))
            ni += 1
            continue
        locs.append(("s", ns))
        ns += 1
    return locs, ns


class _Ctl:
    """An open block/loop/if (or the function): its operand-stack height below its params,
    what a branch to it carries, and where such branches go."""

    __slots__ = ("kind", "height", "arity", "nparams", "nresults", "end", "head", "els")

    def __init__(self, kind: str, height: int, nparams: int, nresults: int):
        self.kind = kind  # "func" | "block" | "loop" | "if" | "else"
        self.height = height
        self.nparams = nparams
        self.nresults = nresults
        self.arity = nparams if kind == "loop" else nresults
        self.end = X.Label()
        self.head: X.Label | None = None  # a loop's header
        self.els: X.Label | None = None  # an if's false edge (until its else or end)


class ModuleInfo:
    """What every function of a module needs: made once per module (and layout, fuel costs and
    epoch setting) by a caller that compiles it function by function (see the ``info`` of
    :func:`compile_functions`), as it costs a pass over the module's index spaces."""

    def __init__(self, module: Module, layout: abi.Layout, fuel_costs=None, epoch: bool = False):
        self.module = module
        self.layout = layout
        self.fuel_costs = fuel_costs
        self.epoch = epoch
        self.nimp = module.num_imported_funcs
        self.ftypes = module.func_types()
        self.gtypes = module.global_types()
        self.nmem = len(module.memory_types())
        self.mem64 = self.nmem > 0 and module.memory_types()[0].is_64
        self.subtyping = any(not final for final, _ in module.subtypes)
        self.ntables = len(module.table_types())


# -- the per-opcode tables -------------------------------------------------------------------

#: opcode -> ``handler(fe, imm) -> bool`` (True: what follows is unreachable)
HANDLERS: dict[int, Callable[[FuncEmitter, object], bool | None]] = {}

_ALU: dict[int, tuple[int, bool]] = {
    O.I32_ADD: (X.ADD, False), O.I32_SUB: (X.SUB, False), O.I32_AND: (X.AND, False),
    O.I32_OR: (X.OR, False), O.I32_XOR: (X.XOR, False),
    O.I64_ADD: (X.ADD, True), O.I64_SUB: (X.SUB, True), O.I64_AND: (X.AND, True),
    O.I64_OR: (X.OR, True), O.I64_XOR: (X.XOR, True),
}  # fmt: skip
_CMP: dict[int, tuple[int, bool]] = {
    O.I32_EQ: (X.CC_E, False), O.I32_NE: (X.CC_NE, False), O.I32_LT_S: (X.CC_L, False),
    O.I32_LT_U: (X.CC_B, False), O.I32_GT_S: (X.CC_G, False), O.I32_GT_U: (X.CC_A, False),
    O.I32_LE_S: (X.CC_LE, False), O.I32_LE_U: (X.CC_BE, False),
    O.I32_GE_S: (X.CC_GE, False), O.I32_GE_U: (X.CC_AE, False),
    O.I64_EQ: (X.CC_E, True), O.I64_NE: (X.CC_NE, True), O.I64_LT_S: (X.CC_L, True),
    O.I64_LT_U: (X.CC_B, True), O.I64_GT_S: (X.CC_G, True), O.I64_GT_U: (X.CC_A, True),
    O.I64_LE_S: (X.CC_LE, True), O.I64_LE_U: (X.CC_BE, True),
    O.I64_GE_S: (X.CC_GE, True), O.I64_GE_U: (X.CC_AE, True),
}  # fmt: skip
_SHIFT: dict[int, tuple[int, bool]] = {
    O.I32_SHL: (X.SHL, False), O.I32_SHR_S: (X.SAR, False), O.I32_SHR_U: (X.SHR, False),
    O.I32_ROTL: (X.ROL, False), O.I32_ROTR: (X.ROR, False),
    O.I64_SHL: (X.SHL, True), O.I64_SHR_S: (X.SAR, True), O.I64_SHR_U: (X.SHR, True),
    O.I64_ROTL: (X.ROL, True), O.I64_ROTR: (X.ROR, True),
}  # fmt: skip
# (signed, remainder, 64-bit)
_DIV: dict[int, tuple[bool, bool, bool]] = {
    O.I32_DIV_S: (True, False, False), O.I32_DIV_U: (False, False, False),
    O.I32_REM_S: (True, True, False), O.I32_REM_U: (False, True, False),
    O.I64_DIV_S: (True, False, True), O.I64_DIV_U: (False, False, True),
    O.I64_REM_S: (True, True, True), O.I64_REM_U: (False, True, True),
}  # fmt: skip
_BITS: dict[int, tuple[int, bool]] = {
    O.I32_CLZ: (0xBD, False), O.I32_CTZ: (0xBC, False), O.I32_POPCNT: (0xB8, False),
    O.I64_CLZ: (0xBD, True), O.I64_CTZ: (0xBC, True), O.I64_POPCNT: (0xB8, True),
}  # fmt: skip
# loads: (bytes accessed, opcode, REX.W)
_LOAD: dict[int, tuple[int, bytes, bool]] = {
    O.I32_LOAD: (4, b"\x8b", False), O.I64_LOAD: (8, b"\x8b", True),
    O.F32_LOAD: (4, b"\x8b", False), O.F64_LOAD: (8, b"\x8b", True),
    O.I32_LOAD8_S: (1, b"\x0f\xbe", False), O.I32_LOAD8_U: (1, b"\x0f\xb6", False),
    O.I32_LOAD16_S: (2, b"\x0f\xbf", False), O.I32_LOAD16_U: (2, b"\x0f\xb7", False),
    O.I64_LOAD8_S: (1, b"\x0f\xbe", True), O.I64_LOAD8_U: (1, b"\x0f\xb6", False),
    O.I64_LOAD16_S: (2, b"\x0f\xbf", True), O.I64_LOAD16_U: (2, b"\x0f\xb7", False),
    O.I64_LOAD32_S: (4, b"\x63", True), O.I64_LOAD32_U: (4, b"\x8b", False),
}  # fmt: skip
# stores: (bytes accessed, prefix, opcode, REX.W)
_STORE: dict[int, tuple[int, bytes, bytes, bool]] = {
    O.I32_STORE: (4, b"", b"\x89", False), O.I64_STORE: (8, b"", b"\x89", True),
    O.F32_STORE: (4, b"", b"\x89", False), O.F64_STORE: (8, b"", b"\x89", True),
    O.I32_STORE8: (1, b"", b"\x88", False), O.I32_STORE16: (2, b"\x66", b"\x89", False),
    O.I64_STORE8: (1, b"", b"\x88", False), O.I64_STORE16: (2, b"\x66", b"\x89", False),
    O.I64_STORE32: (4, b"", b"\x89", False),
}  # fmt: skip
_SEXT: dict[int, tuple[int, bool]] = {
    O.I32_EXTEND8_S: (8, False), O.I32_EXTEND16_S: (16, False),
    O.I64_EXTEND8_S: (8, True), O.I64_EXTEND16_S: (16, True),
}  # fmt: skip
_CALLS = {O.CALL, O.CALL_INDIRECT, O.MEMORY_GROW}
#: the biggest frame compiled (functions that make no calls do not check the native stack:
#: their frame must fit in the margin kept below the lowest checked one, native.STACK_MARGIN)
_MAX_FRAME = 1 << 17
_MAX_LOCALS = _MAX_FRAME // 8
#: registers for pinned locals that calls clobber (none is used by a template but for
#: arguments, and those are set after save_volatile)
_VOLATILE = (RSI, RDI, R8, R9, R10, R11)
# (plain ints: comparing with an IntEnum member looked up on its class is slower)
_END, _ELSE, _LOOP, _BLOCK, _IF = int(O.END), int(O.ELSE), int(O.LOOP), int(O.BLOCK), int(O.IF)
_LOCAL_SET, _LOCAL_TEE, _I64_EQZ, _I64_MUL = (int(O.LOCAL_SET), int(O.LOCAL_TEE), int(O.I64_EQZ),
                                              int(O.I64_MUL))
_JCC = [bytes((0x0F, 0x80 | cc)) for cc in range(16)]
_STATUS = abi.TRAP_STATUS
#: mov rcx, [r15] (rt); cmp qword [rcx + 8*RT_TRAP], 0
_CHECK_STATUS = X.mov_load(RCX, _CTX, 8 * abi.CTX_RT) + X.alu_mi(X.CMP, RCX, 8 * abi.RT_TRAP, 0)
#: the same, reloading the fuel left on the way: mov r12, [rcx + 8*RT_FUEL]
_CHECK_STATUS_FUEL = (X.mov_load(RCX, _CTX, 8 * abi.CTX_RT) + X.mov_load(_FUEL, RCX, 8 * abi.RT_FUEL)
                      + X.alu_mi(X.CMP, RCX, 8 * abi.RT_TRAP, 0))
#: mov rcx, [r15] (rt); mov qword [rcx + 8*RT_TRAP], imm32 (the status follows)
_SET_STATUS = X.mov_load(RCX, _CTX, 8 * abi.CTX_RT) + X.mov_store_imm(RCX, 8 * abi.RT_TRAP, 0)[:-4]
#: handlers that pop a local or constant on top without touching rax, then the operand below
#: from rax (see FuncEmitter.push)
_HOLDS = frozenset({*_ALU, *_CMP, *_SHIFT, *_STORE, O.I32_MUL, O.I64_MUL})
_MEMORY = set(_LOAD) | set(_STORE) | {O.MEMORY_SIZE, O.MEMORY_GROW}


class FuncEmitter:
    """Emits one function (see the module docstring; :func:`compile_functions` drives it)."""

    #: keep the most used locals in registers (False: every local in its slot; for tests)
    pin_locals = True
    #: a float operand's register copy (set and read by :mod:`.floats`; no value here: it is
    #: read with ``getattr(fe, "float_top", None)``)
    float_top: tuple[Any, ...] | None

    def __init__(self, mi: ModuleInfo, index: int, blob_funcs: set[int]):
        self.mi = mi
        self.index = index
        self.blob_funcs = blob_funcs
        self.asm = X.Asm()
        self.code = self.asm.code
        #: (callee index, rel32 position) of direct calls within the blob
        self.calls: list[tuple[int, int]] = []
        #: (status or 0, offset) of the trap and propagate stubs -> rel32 positions of the
        #: jumps to it
        self._stubs: dict[tuple[int, int], list[int]] = {}
        self.offset = 0  # wasm offset of the instruction being emitted
        #: the index of an operand in rax below a local or constant on top (see push)
        self.held: int | None = None
        #: the operand in rax is known to have a zero upper half (a handler that made it
        #: with a 32-bit instruction says so after its push)
        self.rclean = False
        self.op = 0  # its opcode (handlers serve families of opcodes)
        self.long = False

    # -- set-up -----------------------------------------------------------------------------
    def emit(self) -> None:
        mi = self.mi
        m = mi.module
        index = self.index
        ft: FuncType = mi.ftypes[index]
        code = m.codes[index - mi.nimp]
        body = code.body
        local_types = list(ft.params) + list(code.locals)
        if len(ft.results) > 1:
            raise Unsupported("multiple results")
        for t in (*local_types, *ft.results):
            if t not in _NUM:
                raise Unsupported(f"a {t} local or result")
        self.ft = ft
        self.nres = len(ft.results)
        self.local_types = local_types
        nloc = self.nloc = len(local_types)
        if nloc > _MAX_LOCALS:  # (the frame would be over the limit below anyway)
            raise Unsupported(f"{nloc} locals")
        ops = {ins.op for ins in body}
        calls = bool(ops & _CALLS)
        self.uses_mem = bool(ops & _MEMORY)
        self.long = calls or O.LOOP in ops
        if self.uses_mem and (mi.nmem != 1 or mi.mem64):
            raise Unsupported("memory other than one 32-bit memory")
        # registers: pinned locals
        fuel = mi.fuel_costs is not None
        saved = [RBX] if fuel else [RBX, R12]
        if not self.uses_mem:
            saved += [R13, R14]
        self.pins = self._choose_pins(body, nloc, saved, _VOLATILE) if self.pin_locals else {}
        #: the pinned locals in registers a call clobbers (saved to their slots around calls)
        self.volatile = [(i, r) for i, r in self.pins.items() if r in _VOLATILE]
        self.all_pins = self.pins
        # the frame: [rbp-8] r15, [rbp-16] the callees' rem, then the callee-saved registers
        self.saved = [r for r in saved if r in self.pins.values()]
        if self.uses_mem:
            self.saved += [R13, R14]
        #: fuel metering: the fuel segments (position in the body -> cost); the fuel left
        #: lives in r12 while the function runs (see :data:`_FUEL`)
        self.segs: dict[int, int] = {}
        self.fuel_sites: list[tuple[int, int, int]] = []  # (rel32 position, offset, cost)
        if fuel:
            self.segs = segment_costs(body, mi.fuel_costs)
            self.saved.append(_FUEL)
        self.rem_disp = -16
        self.nfixed = 2 + len(self.saved)
        self.maxh = 0
        self.out_area = 0  # bytes of outgoing stack arguments
        a = self.asm
        c = self.code
        c += X.push(RBP) + X.mov_rr(RBP, RSP) + b"\x48\x81\xec"  # sub rsp, imm32
        frame_fix = len(c)
        c += b"\0\0\0\0"
        c += X.mov_store(RBP, -8, R15) + X.mov_rr(R15, RDI)
        for j, r in enumerate(self.saved):
            c += X.mov_store(RBP, -8 * (3 + j), r)
        if fuel:  # (before the first trap: every exit writes it back)
            c += X.mov_load(RAX, R15, 8 * abi.CTX_RT) + X.mov_load(_FUEL, RAX, 8 * abi.RT_FUEL)
        # depth and native stack (the LLVM tier's checks, at offset 0), while rsi is rem
        c += X.test_rr(RSI, RSI, False)
        self.trap_if(X.CC_S, TrapCode.CALL_STACK_EXHAUSTED)
        if calls or nloc > abi.BIG_FRAME_LOCALS:
            c += X.mov_load(RAX, R15, 8 * abi.CTX_RT)
            c += X.rm(b"\x3b", RSP, RAX, 8 * abi.RT_STACK_LIMIT, True)  # cmp rsp, [rax+..]
            self.trap_if(X.CC_B, TrapCode.CALL_STACK_EXHAUSTED)
        if mi.epoch:
            self.epoch_check(RAX)
        if calls:
            fw = frame_words(m, ft, code.locals, body, mi.ftypes)
            c += X.alu_ri(X.SUB, RSI, fw, False) + X.mov_store(RBP, self.rem_disp, RSI, False)
        # parameters to their slots or registers
        locs, nstack = arg_locations(ft.params)
        self.ret_pop = stack_area(nstack)
        pins = self.pins
        moves: dict[int, int] = {}  # register -> register
        late = bytearray()  # (after those: they write registers that may be sources)
        for i, (kind, where) in enumerate(locs):
            d = self.local_disp(i)
            t = ft.params[i]
            p = pins.get(i)
            if kind == "r":
                if p is None:
                    c += X.mov_store(RBP, d, where)
                elif p != where:
                    moves[p] = where
            elif kind == "x":
                f64 = t is ValType.F64
                if p is None:
                    c += X.movsd_store(RBP, d, where) if f64 else X.movss_store(RBP, d, where)
                else:
                    late += X.movq_rx(p, where) if f64 else X.movd_rx(p, where)
            elif p is None:
                c += X.mov_load(RAX, RBP, 16 + 8 * where) + X.mov_store(RBP, d, RAX)
            else:
                late += X.mov_load(p, RBP, 16 + 8 * where)
        _parallel_moves(c, moves)
        c += late
        for i in range(len(ft.params), nloc):
            p = pins.get(i)
            if p is None:
                c += X.mov_store_imm(RBP, self.local_disp(i), 0)
            else:
                c += X.mov_imm(p, 0, False)
        if self.uses_mem:
            self.reload_memory()
        # the body
        #: (kind, value): the value is an int for C, L and F and None for S and R (Any: mypy
        #: cannot narrow the value on the kind)
        self.st: list[tuple[int, Any]] = []
        self.ctl = [_Ctl("func", 0, 0, self.nres)]
        self.exit = X.Label()
        self._body(body)
        # the exit: restore and return (the result is in rax / xmm0 already)
        a.bind(self.exit)
        self._epilogue()
        self._emit_fuel_stubs()
        self._emit_stubs()
        frame = 8 * (self.nfixed + nloc + self.maxh) + self.out_area
        frame = (frame + 15) & ~15
        if frame >= _MAX_FRAME:
            raise Unsupported("frame over 128 KiB")
        c[frame_fix : frame_fix + 4] = _i32(frame)
        self.frame = frame

    def _epilogue(self) -> None:
        c = self.code
        if self.mi.fuel_costs is not None:  # the fuel left back to rt
            c += X.mov_load(RCX, R15, 8 * abi.CTX_RT) + X.mov_store(RCX, 8 * abi.RT_FUEL, _FUEL)
        for j, r in enumerate(self.saved):
            c += X.mov_load(r, RBP, -8 * (3 + j))
        c += X.mov_load(R15, RBP, -8) + X.LEAVE + X.ret_n(self.ret_pop)

    @staticmethod
    def _choose_pins(body, nloc: int, saved: list[int], volatile) -> dict[int, int]:
        """The most used locals (uses weighted by 8 per enclosing loop, up to 4) -> registers:
        in a function that makes no calls ``volatile`` ones first (nothing to save), else
        ``saved`` ones first, then ``volatile`` ones (which cost a store and a load at each
        call) for locals used more than twice as often as the function calls."""
        if not nloc:
            return {}
        uses = [0] * nloc
        calls = 0
        loops: list[bool] = []
        depth = 0
        weight = 1
        local_get, local_set, local_tee = int(O.LOCAL_GET), int(O.LOCAL_SET), int(O.LOCAL_TEE)
        call_ops = frozenset(map(int, _CALLS))
        for op, imm, _ in body:
            if op == local_get or op == local_set or op == local_tee:
                uses[imm] += weight
            elif op in call_ops:
                calls += weight
            elif op == _LOOP:
                loops.append(True)
                depth += 1
                weight = 8 ** min(depth, 4)
            elif op == _BLOCK or op == _IF:
                loops.append(False)
            elif op == _END and loops:
                if loops.pop():
                    depth -= 1
                    weight = 8 ** min(depth, 4)
        best = sorted((i for i in range(nloc) if uses[i]), key=lambda i: -uses[i])
        if not calls:
            return dict(zip(best, (*volatile, *saved)))
        pins = dict(zip(best, saved))
        rest = [i for i in best[len(pins) :] if uses[i] > 2 * calls]
        pins.update(zip(rest, volatile))
        return pins

    def save_volatile(self) -> None:
        """Before a call: the locals pinned in registers the callee may clobber go to their
        slots, and are read from there until :meth:`restore_volatile`."""
        if self.volatile:
            c = self.code
            for i, r in self.volatile:
                c += X.mov_store(RBP, self.local_disp(i), r)
            self.pins = {i: r for i, r in self.all_pins.items() if r not in _VOLATILE}

    def restore_volatile(self) -> None:
        """After a call: the locals :meth:`save_volatile` saved back to their registers."""
        if self.volatile:
            c = self.code
            for i, r in self.volatile:
                c += X.mov_load(r, RBP, self.local_disp(i))
            self.pins = self.all_pins

    # -- slots and operands -----------------------------------------------------------------
    def local_disp(self, i: int) -> int:
        return -8 * (self.nfixed + i + 1)

    def slot(self, k: int) -> int:
        """``rbp`` displacement of operand-stack height ``k``."""
        return -8 * (self.nfixed + self.nloc + k + 1)

    def lop(self, opc: bytes, reg: int, w: bool, i: int) -> bytes:
        """``opc`` with ``reg`` in the reg field and local ``i`` (its slot or its pinned
        register) as r/m."""
        p = self.pins.get(i)
        if p is None:
            return X.rm(opc, reg, RBP, self.local_disp(i), w)
        return X.rr(opc, reg, p, w)

    def _store_slot(self, k: int, ent) -> None:
        """Write operand ``k`` (described by ``ent``) to its slot (scratch: ``rdx``, and
        ``rax`` for an ``F``)."""
        c = self.code
        kind, v = ent
        d = self.slot(k)
        if kind == C:
            if X.fits32(v):
                c += X.mov_store_imm(RBP, d, v)
            else:
                c += X.mov_imm(RDX, v) + X.mov_store(RBP, d, RDX)
        elif kind == L:
            c += self.lop(b"\x8b", RDX, True, v) + X.mov_store(RBP, d, RDX)
        elif kind == R:
            c += X.mov_store(RBP, d, RAX)
        elif kind == F:
            c += X.setcc(v, RAX) + X.movzx8(RAX, RAX) + X.mov_store(RBP, d, RAX)

    def push(self, kind: int, v=None) -> None:
        st = self.st
        if self.held is not None:
            self.spill_held()
        if st:
            top = st[-1]
            if top[0] >= R:  # only the top may live in rax / the flags
                if top[0] == R and (kind == L or kind == C):
                    # (a local or a constant costs no code: rax keeps the operand below,
                    # for the next instruction if it is one of _HOLDS)
                    self.held = len(st) - 1
                else:
                    self._store_slot(len(st) - 1, top)
                    st[-1] = (S, None)
        st.append((kind, v))
        if kind == R:
            self.rclean = False
        if len(st) > self.maxh:
            self.maxh = len(st)

    def spill_held(self) -> None:
        """The operand in rax below the top (see :meth:`push`) to its slot."""
        k = self.held
        assert k is not None  # (callers check)
        self.held = None
        self.code += X.mov_store(RBP, self.slot(k), RAX)
        self.st[k] = (S, None)

    def push_r(self) -> None:
        """The new top operand is in ``rax``."""
        self.push(R)

    def push_flags(self, cc: int) -> None:
        """The new top operand (an i32 boolean) is condition ``cc`` of the flags."""
        self.push(F, cc)

    def push_xmm(self, x: int, f64: bool) -> None:
        """The new top operand is the float in ``xmm`` ``x``."""
        self.push(R)  # (first: a spilled flags operand would need rax after the move)
        self.code += X.movq_rx(RAX, x) if f64 else X.movd_rx(RAX, x)

    def flush(self) -> None:
        """Every operand to its slot."""
        st = self.st
        if st and st[-1][0] >= R:  # rax / flags first: storing the others uses rdx only
            self._store_slot(len(st) - 1, st[-1])
            st[-1] = (S, None)
        for k, ent in enumerate(st):
            if ent[0] != S:
                self._store_slot(k, ent)
                st[k] = (S, None)

    def flush_local(self, i: int) -> None:
        """Operands that are local ``i`` to their slots (it is about to change)."""
        st = self.st
        for k, ent in enumerate(st):
            if ent[0] == L and ent[1] == i:
                self._store_slot(k, ent)
                st[k] = (S, None)

    def load_to(self, reg: int, k: int, w64: bool = True) -> None:
        """Operand ``k`` into ``reg`` (not popped; ``w64=False``: its low 32 bits,
        zero-extended, except from ``rax``, which is moved whole)."""
        c = self.code
        kind, v = self.st[k]
        if kind == S:
            c += X.mov_load(reg, RBP, self.slot(k), w64)
        elif kind == C:
            c += X.mov_imm(reg, v, w64)
        elif kind == L:
            c += self.lop(b"\x8b", reg, w64, v)
        elif kind == R:
            if reg != RAX:
                c += X.mov_rr(reg, RAX)
        else:  # F
            c += X.setcc(v, reg) + X.movzx8(reg, reg)

    def pop_to(self, reg: int, w64: bool = True) -> int:
        """Pop the top operand into ``reg``; returns its kind."""
        k = len(self.st) - 1
        self.load_to(reg, k, w64)
        return self.st.pop()[0]

    def pop_u32(self, reg: int) -> None:
        """Pop an i32 into ``reg``, zero-extended to 64 bits."""
        if self.pop_to(reg, False) == R and not self.rclean:
            self.code += X.mov_rr(reg, reg, False)

    def pop_to_xmm(self, x: int, f64: bool) -> None:
        """Pop the top operand (a float's bits) into ``xmm`` ``x``."""
        k = len(self.st) - 1
        kind = self.st[k][0]
        if kind == S:
            self.st.pop()
            d = self.slot(k)
            self.code += X.movsd_load(x, RBP, d) if f64 else X.movss_load(x, RBP, d)
            return
        self.pop_to(RAX, f64)
        self.code += X.movq_xr(x, RAX) if f64 else X.movd_xr(x, RAX)

    def pop_cond(self) -> int:
        """Pop an i32 condition; returns the condition code that holds when it is non-zero
        (after emitting its test)."""
        kind, v = self.st[-1]
        if kind == F:
            self.st.pop()
            return v
        self.pop_to(RAX, False)
        self.code += X.test_rr(RAX, RAX, False)
        return X.CC_NE

    def load_rt(self, reg: int) -> None:
        """``reg = rt`` (the store's runtime struct)."""
        self.code += X.mov_load(reg, _CTX, 8 * abi.CTX_RT)

    def reload_memory(self) -> None:
        self.code += X.mov_load(_MBASE, _CTX, 8 * abi.CTX_MEM_BASE) + \
            X.mov_load(_MSIZE, _CTX, 8 * abi.CTX_MEM_SIZE)  # fmt: skip

    # -- traps ------------------------------------------------------------------------------
    def _site(self, jump: bytes, status: int) -> None:
        """Append ``jump`` (a jcc/jmp opcode) with a rel32 to the stub of ``(status, this
        offset)``, fixed up in :meth:`_emit_stubs`."""
        c = self.code
        c += jump
        c += b"\0\0\0\0"
        key = (status, self.offset)
        sites = self._stubs.get(key)
        if sites is None:
            self._stubs[key] = [len(c) - 4]
        else:
            sites.append(len(c) - 4)

    def trap_if(self, cc: int, code: TrapCode) -> None:
        """Trap with ``code`` (at the current instruction) when ``cc`` holds."""
        self._site(_JCC[cc], _STATUS[code])

    def trap(self, code: TrapCode) -> None:
        self._site(b"\xe9", _STATUS[code])

    def epoch_check(self, reg: int) -> None:
        """Trap with ``INTERRUPT`` (at the current offset) if ``rt[RT_EPOCH]`` is set
        (``reg``: a free scratch register). A plain load: x86 loads are atomic, and the code
        is not reordered by anyone, so another thread's store is seen at the next check."""
        self.code += X.mov_load(reg, _CTX, 8 * abi.CTX_RT) + X.alu_mi(X.CMP, reg,
                                                                      8 * abi.RT_EPOCH, 0)
        self.trap_if(X.CC_NE, TrapCode.INTERRUPT)

    def charge(self, cost: int) -> None:
        """Take ``cost`` from the fuel (r12) at the current instruction, or trap with
        ``OUT_OF_FUEL`` leaving the fuel as it was (the stub adds the cost back): the
        segment rule of :mod:`wasm2py.fuel`, as the LLVM tier charges."""
        c = self.code
        if cost < 1 << 31:
            c += X.alu_ri(X.SUB, _FUEL, cost)
        elif cost < 1 << 64:
            c += X.mov_imm(RDX, cost) + X.alu_rr(X.SUB, _FUEL, RDX)
        else:
            raise Unsupported(f"a fuel segment of cost {cost}")
        c += _JCC[X.CC_B] + b"\0\0\0\0"  # (borrow: fuel < cost, unsigned)
        self.fuel_sites.append((len(c) - 4, self.offset, cost))

    def _emit_fuel_stubs(self) -> None:
        """Per charge: give the cost back (rdx still holds a big one), then the trap stub
        of ``OUT_OF_FUEL`` at its offset."""
        c = self.code
        for pos, offset, cost in self.fuel_sites:
            c[pos : pos + 4] = _i32(len(c) - (pos + 4))
            if cost < 1 << 31:
                c += X.alu_ri(X.ADD, _FUEL, cost)
            else:
                c += X.alu_rr(X.ADD, _FUEL, RDX)
            self.offset = offset
            self.trap(TrapCode.OUT_OF_FUEL)

    def check_status(self, fuel: bool = False) -> None:
        """After a call: return (recording this frame) if the callee left a status; ``fuel``:
        first reload the fuel left into r12 (what the callee left, also when it trapped)."""
        self.code += _CHECK_STATUS_FUEL if fuel else _CHECK_STATUS
        self._site(_JCC[X.CC_NE], 0)

    def _emit_stubs(self) -> None:
        """The trap paths: per site ``mov esi, offset`` and a jump to its status's block,
        which stores the status and goes on to the block that appends ``(ctx, index << 32 |
        offset)`` to the trap trace (see ``llvm/recorder.py``) and leaves by the exit."""
        if not self._stubs:
            return
        a = self.asm
        c = self.code
        record = len(c)
        self.load_rt(RCX)
        c += X.mov_load(RCX, RCX, 8 * abi.RT_TRACE)  # the trace
        c += X.mov_load(RAX, RCX, 0)  # n
        c += X.mov_imm(RDX, abi.TRACE_FRAMES, False)
        c += X.alu_rr(X.CMP, RAX, RDX) + X.cmov(X.CC_B, RDX, RAX)  # k = min(n, FRAMES)
        c += X.shift_ri(X.SHL, RDX, 4) + X.alu_rr(X.ADD, RDX, RCX)
        c += X.mov_store(RDX, 16, _CTX)  # trace[2 + 2k] = ctx
        c += X.mov_imm(RDI, self.index << 32) + X.alu_rr(X.OR, RDI, RSI)
        c += X.mov_store(RDX, 24, RDI)  # trace[3 + 2k] = index << 32 | offset
        c += X.alu_ri(X.ADD, RAX, 1) + X.mov_store(RCX, 0, RAX)
        a.jmp(self.exit)
        blocks = {0: record}
        pack = _i32
        for status, _ in self._stubs:
            if status not in blocks:
                blocks[status] = len(c)
                c += _SET_STATUS + pack(status)
                c += b"\xe9" + pack(record - (len(c) + 5))
        for (status, offset), sites in self._stubs.items():
            pos = len(c)
            for f in sites:
                c[f : f + 4] = pack(pos - (f + 4))
            c += b"\xbe" + struct.pack("<I", offset)  # mov esi, offset
            c += b"\xe9" + pack(blocks[status] - (pos + 10))

    # -- control flow -----------------------------------------------------------------------
    def _copy_for_branch(self, ctl: _Ctl) -> None:
        """Copy the values a branch to ``ctl`` carries to its slots (the stack is flushed)."""
        n = ctl.arity
        sp = len(self.st)
        if n == 0 or sp - n == ctl.height:
            return
        c = self.code
        for j in range(n):
            c += X.mov_load(RAX, RBP, self.slot(sp - n + j))
            c += X.mov_store(RBP, self.slot(ctl.height + j), RAX)

    def branch(self, ctl: _Ctl) -> None:
        """An unconditional branch to ``ctl`` (the stack is flushed)."""
        if ctl.kind == "func":
            self._return()
            return
        self._copy_for_branch(ctl)
        target = ctl.head if ctl.kind == "loop" else ctl.end
        assert target is not None  # (a loop's header is set when it is entered)
        self.asm.jmp(target)

    def _return(self, jump: bool = True) -> None:
        """Return the top operand(s) (not popped)."""
        if self.nres:
            t = self.ft.results[0]
            self.load_to(RAX, len(self.st) - 1, True)
            if t is ValType.F64:
                self.code += X.movq_xr(0, RAX)
            elif t is ValType.F32:
                self.code += X.movd_xr(0, RAX)
        if jump:
            self.asm.jmp(self.exit)

    def block_type(self, bt) -> tuple[int, int]:
        if bt is None:
            return 0, 0
        if isinstance(bt, int):
            t = self.mi.module.types[bt]
            if not isinstance(t, FuncType):
                raise Unsupported("block type")
            for v in (*t.params, *t.results):
                if v not in _NUM:
                    raise Unsupported(f"a {v} block value")
            return len(t.params), len(t.results)
        if bt not in _NUM:
            raise Unsupported(f"a {bt} block value")
        return 0, 1

    def _body(self, body) -> None:
        handlers = HANDLERS
        ctl = self.ctl
        skip = 0
        dead = False
        segs = self.segs
        for pos, (op, imm, offset) in enumerate(body):
            if dead:
                # unreachable code up to the else/end of the construct it is in
                if op == _BLOCK or op == _LOOP or op == _IF:
                    skip += 1
                    continue
                if op == _END:
                    if skip:
                        skip -= 1
                        continue
                elif op == _ELSE:
                    if skip:
                        continue
                else:
                    continue
            self.offset = offset
            if self.held is not None:
                if op in _HOLDS:
                    self.held = None  # (the handler pops both: the top, then rax's)
                else:
                    self.spill_held()
            if segs:
                cost = segs.get(pos)
                if cost is not None:
                    # (a segment starts at the body's start or after a loop header, if,
                    # else, end or br_if: the operands are all in their slots there, so the
                    # flags and rdx are free)
                    self.charge(cost)
            if op == _END:
                self._end(dead)
                dead = False
                if not ctl:
                    return
                continue
            if op == _ELSE:
                self._else(dead)
                dead = False
                continue
            h = handlers.get(op)
            if h is None:
                name = Op(op).name if op in Op._value2member_map_ else hex(op)
                raise Unsupported(f"{name.lower()} at {offset:#x}")
            self.op = op
            dead = bool(h(self, imm))

    def _else(self, dead: bool) -> None:
        ctl = self.ctl[-1]
        if not dead:
            self.flush()
            self._copy_for_branch(ctl)
            self.asm.jmp(ctl.end)
        assert ctl.els is not None  # (validated: an else follows an if)
        self.asm.bind(ctl.els)
        ctl.els = None
        ctl.kind = "else"
        del self.st[ctl.height :]
        self.st.extend([(S, None)] * ctl.nparams)

    def _end(self, dead: bool) -> None:
        ctl = self.ctl.pop()
        if ctl.kind == "func":
            if not dead:
                self._return(jump=False)  # (the exit follows)
            return
        if not dead:
            self.flush()
            if ctl.kind == "loop":
                self._copy_for_branch(_Ctl("block", ctl.height, 0, ctl.nresults))
            else:
                self._copy_for_branch(ctl)
        if ctl.els is not None:  # an if without else: params pass through as results
            self.asm.bind(ctl.els)
        self.asm.bind(ctl.end)
        del self.st[ctl.height :]
        self.st.extend([(S, None)] * ctl.nresults)
        if len(self.st) > self.maxh:
            self.maxh = len(self.st)

    # -- memory -----------------------------------------------------------------------------
    def address(self, memarg, size: int) -> int:
        """Pop an address into ``rax`` (zero-extended) and check ``[addr + offset, +size)``
        against memory 0's size; returns the displacement to access it at
        (``[r14 + rax + disp]``)."""
        _align, offset, mem = memarg
        if mem != 0:
            raise Unsupported("multiple memories")
        self.pop_u32(RAX)
        c = self.code
        end = offset + size
        if end < (1 << 31):
            c += X.lea(RDX, RAX, end)
        else:
            c += X.mov_imm(RDX, end) + X.alu_rr(X.ADD, RDX, RAX)
        c += X.alu_rr(X.CMP, RDX, _MSIZE)
        self.trap_if(X.CC_A, TrapCode.MEMORY_OUT_OF_BOUNDS)
        if offset < (1 << 31):
            return offset
        c += X.lea(RAX, RDX, -size)  # rax = addr + offset (< 2**33)
        return 0


# -- handlers ----------------------------------------------------------------------------------


def handler(*ops):
    """Decorator: ``fn`` emits the opcodes ``ops`` (see :data:`HANDLERS`)."""

    def deco(fn):
        for op in ops:
            HANDLERS[int(op)] = fn
        return fn

    return deco


@handler(O.NOP)
def _nop(fe: FuncEmitter, imm) -> None:
    pass


@handler(O.LOCAL_GET)
def _local_get(fe: FuncEmitter, imm) -> None:
    fe.push(L, imm)


@handler(O.I32_CONST, O.I64_CONST)
def _const(fe: FuncEmitter, imm) -> None:
    fe.push(C, imm)


@handler(O.F32_CONST)
def _f32_const(fe: FuncEmitter, imm) -> None:
    fe.push(C, imm - (1 << 32) if imm >= 1 << 31 else imm)


@handler(O.F64_CONST)
def _f64_const(fe: FuncEmitter, imm) -> None:
    fe.push(C, imm - (1 << 64) if imm >= 1 << 63 else imm)


@handler(O.LOCAL_SET, O.LOCAL_TEE)
def _local_set(fe: FuncEmitter, imm) -> None:
    st = fe.st
    fe.flush_local(imm)
    kind, v = st[-1]
    c = fe.code
    if kind == C and X.fits32(v):
        c += fe.lop(b"\xc7", 0, True, imm) + _i32(v)
        if fe.op == _LOCAL_SET:
            st.pop()
        return
    p = fe.pins.get(imm)
    if p is not None:
        # straight into its register; a tee leaves the local itself on the stack (as good as
        # rax to read, and never spilled: a later set of the local flushes it first)
        fe.pop_to(p)
        if fe.op == _LOCAL_TEE:
            fe.push(L, imm)
        return
    fe.pop_to(RAX)
    c += fe.lop(b"\x89", RAX, True, imm)
    if fe.op == _LOCAL_TEE:
        fe.push(R)


@handler(O.DROP)
def _drop(fe: FuncEmitter, imm) -> None:
    fe.st.pop()


@handler(*_ALU)
def _alu(fe: FuncEmitter, imm) -> None:
    op, w = _ALU[fe.op]
    st = fe.st
    c = fe.code
    kind, v = st[-1]
    if kind == C and X.fits32(v):
        st.pop()
        fe.pop_to(RAX, w)
        c += X.alu_ri(op, RAX, v if w else _s32(v), w)
    elif kind == L or kind == S:
        k = len(st) - 1
        st.pop()
        fe.pop_to(RAX, w)
        if kind == L:
            c += fe.lop(bytes((8 * op + 3,)), RAX, w, v)
        else:
            c += X.alu_rm(op, RAX, RBP, fe.slot(k), w)
    elif kind == R and _left_in_place(fe, w):
        # the right operand in rax: rax = left op rax (sub: -rax + left)
        if op == X.SUB:
            c += X.neg(RAX, w)
            op = X.ADD
        _op_left(fe, w, bytes((8 * op + 3,)), op, X.alu_ri)
    else:
        fe.pop_to(RCX, w)
        fe.pop_to(RAX, w)
        c += X.alu_rr(op, RAX, RCX, w)
    fe.push(R)
    fe.rclean = not w  # (a 32-bit op zero-extends)


def _left_in_place(fe: FuncEmitter, w: bool) -> bool:
    """Whether the operand under the top (which is in rax) can be an instruction's memory,
    register or immediate operand (then the top is popped, rax keeping it)."""
    kind, v = fe.st[-2]
    if kind == S or kind == L or (kind == C and (not w or X.fits32(v))):
        fe.st.pop()
        return True
    return False


def _op_left(fe: FuncEmitter, w: bool, opc: bytes, digit: int, imm_form) -> None:
    """``rax = rax op left`` with the (popped) operand under it as ``opc``'s r/m operand or,
    a constant, through ``imm_form(digit, rax, value, w)``."""
    st = fe.st
    k = len(st) - 1
    kind, v = st.pop()
    if kind == C:
        fe.code += imm_form(digit, RAX, v if w else _s32(v), w)
    elif kind == L:
        fe.code += fe.lop(opc, RAX, w, v)
    else:
        fe.code += X.rm(opc, RAX, RBP, fe.slot(k), w)


def _s32(v: int) -> int:
    """The low 32 bits of ``v`` as a signed value."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


@handler(*_CMP)
def _cmp(fe: FuncEmitter, imm) -> None:
    cc, w = _CMP[fe.op]
    st = fe.st
    c = fe.code
    kind, v = st[-1]
    if kind == C and (not w or X.fits32(v)):
        st.pop()
        fe.pop_to(RAX, w)
        c += X.alu_ri(X.CMP, RAX, v if w else _s32(v), w)
    elif kind == L or kind == S:
        k = len(st) - 1
        st.pop()
        fe.pop_to(RAX, w)
        if kind == L:
            c += fe.lop(b"\x3b", RAX, w, v)
        else:
            c += X.alu_rm(X.CMP, RAX, RBP, fe.slot(k), w)
    elif kind == R and _left_in_place(fe, w):
        # rax (the right operand) against the left one: the condition reversed
        _op_left(fe, w, b"\x3b", X.CMP, X.alu_ri)
        cc = _SWAPPED[cc]
    else:
        fe.pop_to(RCX, w)
        fe.pop_to(RAX, w)
        c += X.alu_rr(X.CMP, RAX, RCX, w)
    fe.push(F, cc)


#: the condition of ``b op a`` that holds when ``a op b`` does
_SWAPPED = {X.CC_E: X.CC_E, X.CC_NE: X.CC_NE, X.CC_L: X.CC_G, X.CC_G: X.CC_L,
            X.CC_LE: X.CC_GE, X.CC_GE: X.CC_LE, X.CC_B: X.CC_A, X.CC_A: X.CC_B,
            X.CC_BE: X.CC_AE, X.CC_AE: X.CC_BE}  # fmt: skip


@handler(O.I32_EQZ, O.I64_EQZ)
def _eqz(fe: FuncEmitter, imm) -> None:
    w = fe.op == _I64_EQZ
    fe.pop_to(RAX, w)
    fe.code += X.test_rr(RAX, RAX, w)
    fe.push(F, X.CC_E)


@handler(O.I32_MUL, O.I64_MUL)
def _mul(fe: FuncEmitter, imm) -> None:
    w = fe.op == _I64_MUL
    st = fe.st
    kind, v = st[-1]
    if kind == C and (not w or X.fits32(v)):
        st.pop()
        fe.pop_to(RAX, w)
        fe.code += X.imul_rri(RAX, RAX, v if w else _s32(v), w)
    elif kind == R and _left_in_place(fe, w):
        _op_left(fe, w, b"\x0f\xaf", 0, lambda _d, r, v, w: X.imul_rri(r, r, v, w))
    else:
        fe.pop_to(RCX, w)
        fe.pop_to(RAX, w)
        fe.code += X.imul_rr(RAX, RCX, w)
    fe.push(R)
    fe.rclean = not w


@handler(*_SHIFT)
def _shift(fe: FuncEmitter, imm) -> None:
    op, w = _SHIFT[fe.op]
    st = fe.st
    kind, v = st[-1]
    if kind == C:
        st.pop()
        fe.pop_to(RAX, w)
        fe.code += X.shift_ri(op, RAX, v & (63 if w else 31), w)
    else:
        fe.pop_to(RCX, False)
        fe.pop_to(RAX, w)
        fe.code += X.shift_cl(op, RAX, w)
    fe.push(R)
    fe.rclean = not w


@handler(*_DIV)
def _divrem(fe: FuncEmitter, imm) -> None:
    signed, rem, w = _DIV[fe.op]
    c = fe.code
    a = fe.asm
    fe.pop_to(RCX, w)
    fe.pop_to(RAX, w)
    c += X.test_rr(RCX, RCX, w)
    fe.trap_if(X.CC_E, TrapCode.INTEGER_DIVIDE_BY_ZERO)
    if not signed:
        c += X.mov_imm(RDX, 0, False) + X.div(RCX, w)
    elif not rem:
        # INT_MIN / -1 overflows
        skip = X.Label()
        c += X.alu_ri(X.CMP, RCX, -1, w)
        a.jcc(X.CC_NE, skip)
        if w:
            c += X.mov_imm(RDX, -(1 << 63)) + X.alu_rr(X.CMP, RAX, RDX)
        else:
            c += X.alu_ri(X.CMP, RAX, -(1 << 31), False)
        fe.trap_if(X.CC_E, TrapCode.INTEGER_OVERFLOW)
        a.bind(skip)
        c += X.cdq(w) + X.idiv(RCX, w)
    else:
        # x rem -1 is 0 (idiv would fault on INT_MIN)
        minus1, done = X.Label(), X.Label()
        c += X.alu_ri(X.CMP, RCX, -1, w)
        a.jcc(X.CC_E, minus1)
        c += X.cdq(w) + X.idiv(RCX, w)
        a.jmp(done)
        a.bind(minus1)
        c += X.mov_imm(RDX, 0, False)
        a.bind(done)
    if rem:
        c += X.mov_rr(RAX, RDX)
    fe.push(R)


@handler(*_BITS)
def _bits(fe: FuncEmitter, imm) -> None:
    kind, w = _BITS[fe.op]
    if not _BITCOUNT[kind]:
        raise Unsupported("the CPU lacks lzcnt/tzcnt/popcnt")
    fe.pop_to(RAX, w)
    fe.code += X.bitcount(kind, RAX, RAX, w)
    fe.push(R)


@handler(O.I32_WRAP_I64, O.I32_REINTERPRET_F32, O.F32_REINTERPRET_I32, O.I64_REINTERPRET_F64,
          O.F64_REINTERPRET_I64)  # fmt: skip
def _noop_cast(fe: FuncEmitter, imm) -> None:
    # the same bits (an i32's upper half is anything: see the module docstring)
    pass


@handler(O.I64_EXTEND_I32_U)
def _extend_u(fe: FuncEmitter, imm) -> None:
    fe.pop_u32(RAX)
    fe.push(R)
    fe.rclean = True


@handler(O.I64_EXTEND_I32_S, O.I64_EXTEND32_S)
def _extend_s(fe: FuncEmitter, imm) -> None:
    fe.pop_to(RAX)
    fe.code += X.movsxd(RAX, RAX)
    fe.push(R)


@handler(*_SEXT)
def _sext(fe: FuncEmitter, imm) -> None:
    bits, w = _SEXT[fe.op]
    fe.pop_to(RAX)
    fe.code += X.movsx(RAX, RAX, bits, w)
    fe.push(R)


@handler(O.SELECT, O.SELECT_T)
def _select(fe: FuncEmitter, imm) -> None:
    if imm is not None and any(t not in _NUM for t in imm):
        raise Unsupported("select of references")
    st = fe.st
    c = fe.code
    if st[-1][0] == F:  # the flags stay valid while the operands are moved
        cc = st.pop()[1]
        fe.pop_to(RCX)  # b
        fe.pop_to(RAX)  # a
    else:
        fe.pop_to(RDX, False)
        fe.pop_to(RCX)
        fe.pop_to(RAX)
        c += X.test_rr(RDX, RDX, False)
        cc = X.CC_NE
    c += X.cmov(cc ^ 1, RAX, RCX)
    fe.push(R)


@handler(O.GLOBAL_GET)
def _global_get(fe: FuncEmitter, imm) -> None:
    t = fe.mi.gtypes[imm].valtype
    if t not in _NUM:
        raise Unsupported(f"a {t} global")
    fe.push(R)
    c = fe.code
    c += X.mov_load(RAX, _CTX, 8 * fe.mi.layout.global_slot(imm))
    c += X.mov_load(RAX, RAX, 0, t in _WIDE)
    fe.rclean = t not in _WIDE


@handler(O.GLOBAL_SET)
def _global_set(fe: FuncEmitter, imm) -> None:
    t = fe.mi.gtypes[imm].valtype
    if t not in _NUM:
        raise Unsupported(f"a {t} global")
    fe.pop_to(RAX)
    c = fe.code
    c += X.mov_load(RDX, _CTX, 8 * fe.mi.layout.global_slot(imm))
    c += X.mov_store(RDX, 0, RAX, t in _WIDE)


@handler(*_LOAD)
def _load(fe: FuncEmitter, imm) -> None:
    size, opc, w = _LOAD[fe.op]
    disp = fe.address(imm, size)
    fe.code += X.rmx(opc, RAX, _MBASE, RAX, disp, w)
    fe.push(R)
    fe.rclean = not w  # (a 32-bit load or movzx zero-extends)


@handler(*_STORE)
def _store(fe: FuncEmitter, imm) -> None:
    size, pre, opc, w = _STORE[fe.op]
    fe.pop_to(RCX, w)
    disp = fe.address(imm, size)
    fe.code += X.rmx(opc, RCX, _MBASE, RAX, disp, w, pre=pre, byte=size == 1)


@handler(O.MEMORY_SIZE)
def _memory_size(fe: FuncEmitter, imm) -> None:
    if imm != 0:
        raise Unsupported("multiple memories")
    fe.push(R)
    fe.code += X.mov_rr(RAX, _MSIZE) + X.shift_ri(X.SHR, RAX, 16)
    fe.rclean = True  # (at most 2**16)


@handler(O.MEMORY_GROW)
def _memory_grow(fe: FuncEmitter, imm) -> None:
    if imm != 0:
        raise Unsupported("multiple memories")
    c = fe.code
    fe.save_volatile()
    fe.pop_u32(RDX)  # i64 delta
    c += X.mov_rr(RDI, _CTX) + X.mov_imm(RSI, 0, False)
    c += X.call_m(_CTX, 8 * abi.CTX_MEM_GROW)  # i64 grow(ctx, i32 memory, i64 delta), C ABI
    fe.reload_memory()
    fe.restore_volatile()
    fe.push(R)


@handler(O.BLOCK, O.LOOP)
def _block(fe: FuncEmitter, imm) -> None:
    np_, nr = fe.block_type(imm)
    fe.flush()
    if fe.op == _LOOP:
        ctl = _Ctl("loop", len(fe.st) - np_, np_, nr)
        ctl.head = X.Label()
        fe.asm.bind(ctl.head)
        if fe.mi.epoch:  # (each iteration, as the LLVM tier checks at its loop headers)
            fe.epoch_check(RCX)
    else:
        ctl = _Ctl("block", len(fe.st) - np_, np_, nr)
    fe.ctl.append(ctl)


@handler(O.IF)
def _if(fe: FuncEmitter, imm) -> None:
    np_, nr = fe.block_type(imm)
    if np_:
        # (the then branch may overwrite the params' slots, which the else branch reads)
        raise Unsupported("if with parameters")
    cc = fe.pop_cond()
    fe.flush()
    ctl = _Ctl("if", len(fe.st) - np_, np_, nr)
    ctl.els = X.Label()
    fe.asm.jcc(cc ^ 1, ctl.els)
    fe.ctl.append(ctl)


@handler(O.BR)
def _br(fe: FuncEmitter, imm) -> bool:
    fe.flush()
    fe.branch(fe.ctl[-1 - imm])
    return True


@handler(O.BR_IF)
def _br_if(fe: FuncEmitter, imm) -> None:
    ctl = fe.ctl[-1 - imm]
    cc = fe.pop_cond()
    fe.flush()
    a = fe.asm
    sp = len(fe.st)
    if ctl.kind == "func" or (ctl.arity and sp - ctl.arity != ctl.height):
        skip = X.Label()
        a.jcc(cc ^ 1, skip)
        fe.branch(ctl)
        a.bind(skip)
    else:
        a.jcc(cc, ctl.head if ctl.kind == "loop" else ctl.end)


@handler(O.BR_TABLE)
def _br_table(fe: FuncEmitter, imm) -> bool:
    depths, default = imm
    fe.pop_u32(RAX)
    fe.flush()
    a = fe.asm
    c = fe.code
    targets: dict[int, X.Label] = {}
    for d in (*depths, default):
        if d not in targets:
            targets[d] = X.Label()
    c += X.alu_ri(X.CMP, RAX, len(depths), False)
    a.jcc(X.CC_AE, targets[default])
    table = X.Label()
    a.lea_rip(RCX, table)
    c += X.rmx(b"\x63", RAX, RCX, RAX, 0, True, scale=4)  # movsxd rax, [rcx + rax*4]
    c += X.alu_rr(X.ADD, RAX, RCX) + X.jmp_r(RAX)
    a.align(4)
    a.bind(table)
    start = len(c)
    c += bytes(4 * len(depths))
    for d, lab in targets.items():
        a.bind(lab)
        fe.branch(fe.ctl[-1 - d])
    for j, d in enumerate(depths):
        pos = targets[d].pos
        assert pos is not None  # (all bound above)
        c[start + 4 * j : start + 4 * j + 4] = _i32(pos - start)
    return True


@handler(O.RETURN)
def _return(fe: FuncEmitter, imm) -> bool:
    fe.flush()
    fe._return()
    return True


@handler(O.UNREACHABLE)
def _unreachable(fe: FuncEmitter, imm) -> bool:
    fe.trap(TrapCode.UNREACHABLE)
    return True


# -- calls -------------------------------------------------------------------------------------


def _call_args(fe: FuncEmitter, ft: FuncType) -> int:
    """Pop the arguments of a call of type ``ft`` into their registers and stack slots, and
    set ``rsi`` to the callee's depth (``rdi``, the environment, is the caller's to set);
    returns the bytes the callee pops (:func:`stack_area`)."""
    for t in (*ft.params, *ft.results):
        if t not in _NUM:
            raise Unsupported(f"a call with a {t} value")
    if len(ft.results) > 1:
        raise Unsupported("multiple results")
    locs, nstack = arg_locations(ft.params)
    area = stack_area(nstack)
    if nstack and 8 * nstack > fe.out_area:
        fe.out_area = 8 * nstack
    c = fe.code
    st = fe.st
    if fe.mi.fuel_costs is not None:  # the callee (or host code) takes it from rt
        c += X.mov_load(RDX, _CTX, 8 * abi.CTX_RT) + X.mov_store(RDX, 8 * abi.RT_FUEL, _FUEL)
    if not ft.params and st and st[-1][0] >= R:
        # (with arguments the top is one of them: only the top can be in rax or the flags)
        fe._store_slot(len(st) - 1, st[-1])
        st[-1] = (S, None)
    # the top first: only the top operand may be in rax or the flags
    for i in range(len(ft.params) - 1, -1, -1):
        kind, where = locs[i]
        t = ft.params[i]
        if kind == "r":
            fe.pop_to(where, True)
        elif kind == "x":
            fe.pop_to_xmm(where, t is ValType.F64)
        else:
            fe.pop_to(RAX, True)
            c += X.mov_store(RSP, 8 * where, RAX)
    c += X.mov_load(RSI, RBP, fe.rem_disp, False)
    return area


def _after_call(fe: FuncEmitter, ft: FuncType, area: int) -> None:
    c = fe.code
    c += X.alu_ri(X.SUB, RSP, area)  # (the tailcc callee popped its stack arguments)
    fe.check_status(fe.mi.fuel_costs is not None)
    if fe.uses_mem:
        fe.reload_memory()
    fe.restore_volatile()
    if ft.results:
        t = ft.results[0]
        if t in _FLOAT:
            fe.push_xmm(0, t is ValType.F64)
        else:
            fe.push(R)


@handler(O.CALL)
def _call(fe: FuncEmitter, imm) -> None:
    mi = fe.mi
    ft = mi.ftypes[imm]
    c = fe.code
    fe.save_volatile()
    area = _call_args(fe, ft)
    if imm < mi.nimp:
        fslot, eslot = mi.layout.import_slots(imm)
        c += X.mov_load(RDI, _CTX, 8 * eslot) + X.call_m(_CTX, 8 * fslot)
    elif imm in fe.blob_funcs:
        c += X.mov_rr(RDI, _CTX) + b"\xe8\0\0\0\0"
        fe.calls.append((imm, len(c) - 4))
    else:
        # another tier's: through its funcref record (a later unit may repoint it)
        c += X.mov_load(R11, _CTX, 8 * abi.CTX_FUNCREFS)
        rec = abi.REC_SIZE * imm
        c += X.mov_load(RDI, R11, rec + 8 * abi.REC_ENV) + X.call_m(R11, rec + 8 * abi.REC_FN)
    _after_call(fe, ft, area)


@handler(O.CALL_INDIRECT)
def _call_indirect(fe: FuncEmitter, imm) -> None:
    typeidx, table = imm
    mi = fe.mi
    if mi.subtyping:
        raise Unsupported("call_indirect with non-final types")
    if mi.module.table_types()[table].is_64:
        raise Unsupported("table64")
    ft = mi.module.types[typeidx]
    c = fe.code
    fe.save_volatile()
    fe.pop_u32(RAX)  # the index
    c += X.mov_load(R11, _CTX, 8 * mi.layout.table_slot(table))  # [entries, size, max]
    c += X.alu_rm(X.CMP, RAX, R11, 8 * abi.TAB_SIZE)
    fe.trap_if(X.CC_AE, TrapCode.TABLE_OUT_OF_BOUNDS)
    c += X.mov_load(R11, R11, 8 * abi.TAB_ENTRIES)
    c += X.rmx(b"\x8b", R11, R11, RAX, 0, True, scale=8)  # the record
    c += X.test_rr(R11, R11)
    fe.trap_if(X.CC_E, TrapCode.UNINITIALIZED_ELEMENT)
    c += X.mov_load(RAX, _CTX, 8 * mi.layout.type_slot(typeidx))
    c += X.alu_rm(X.CMP, RAX, R11, 8 * abi.REC_TYPE)
    fe.trap_if(X.CC_NE, TrapCode.INDIRECT_CALL_TYPE_MISMATCH)
    area = _call_args(fe, ft)  # (r11 is no argument register)
    c += X.mov_load(RDI, R11, 8 * abi.REC_ENV) + X.call_m(R11, 8 * abi.REC_FN)
    _after_call(fe, ft, area)


# -- the driver ------------------------------------------------------------------------------


def compile_functions(module: Module, indices, layout: abi.Layout, fuel_costs=None,
                      epoch: bool = False, info: ModuleInfo | None = None) -> Blob:
    """Compile the defined functions ``indices`` of ``module`` (decoded and validated) into
    one blob (see the package docstring). A function it cannot compile is left out and named
    in ``refused``; calls to it go through its funcref record. ``fuel_costs`` (a
    :class:`~wasm2py.config.FuelCosts`): meter fuel (the segment rule of :mod:`wasm2py.fuel`,
    the fuel in ``rt[RT_FUEL]`` at calls and exits); ``epoch``: check ``rt[RT_EPOCH]`` at
    function entries and loop headers (trap ``INTERRUPT``), as the LLVM tier does. ``info``:
    ``ModuleInfo(module, layout, fuel_costs, epoch)`` if the caller keeps one (default: made
    here).

    Raises:
        ValueError: an index is not a defined function's, or ``info`` is another module's
            or layout's.
    """
    if info is None:
        mi = ModuleInfo(module, layout, fuel_costs, epoch)
    elif info.module is not module or info.layout is not layout or info.epoch != epoch \
            or info.fuel_costs != fuel_costs:  # fmt: skip
        raise ValueError("compile_functions: info is not of this module, layout and metering")
    else:
        mi = info
    want = list(dict.fromkeys(indices))
    blob_funcs = set(want)
    refused: dict[int, str] = {}
    done: dict[int, FuncEmitter] = {}
    ndefined = len(module.codes)
    for index in want:
        if not 0 <= index - mi.nimp < ndefined:
            raise ValueError(f"function {index} is not a defined function of the module")
        fe = FuncEmitter(mi, index, blob_funcs)
        try:
            fe.emit()
        except Unsupported as e:
            refused[index] = str(e) or type(e).__name__
            continue
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
            # (an emitter bug on some input: the function stays in another tier, as the
            # LLVM tier does with its lowering's; the tests require no such refusal)
            refused[index] = f"internal error: {type(e).__name__}: {e}"
            continue
        done[index] = fe
    code = bytearray()
    funcs: dict[int, int] = {}
    for index, fe in done.items():
        code += b"\xcc" * (-len(code) % 16)
        funcs[index] = len(code)
        code += fe.code
    # a direct call of a function refused after its callers were emitted goes to a thunk
    # that jumps through the callee's record (the caller passed its own context, the
    # instance's: the thunk takes the record's environment instead)
    thunks: dict[int, int] = {}
    for index, fe in done.items():
        base = funcs[index]
        for callee, pos in fe.calls:
            target = funcs.get(callee)
            if target is None:
                target = thunks.get(callee)
                if target is None:
                    code += b"\xcc" * (-len(code) % 16)
                    target = thunks[callee] = len(code)
                    rec = abi.REC_SIZE * callee
                    code += X.mov_load(R11, _CTX, 8 * abi.CTX_FUNCREFS)
                    code += X.mov_load(RDI, R11, rec + 8 * abi.REC_ENV)
                    code += X.rm(b"\xff", 4, R11, rec + 8 * abi.REC_FN)  # jmp [r11 + ..]
            p = base + pos
            code[p : p + 4] = _i32(target - (p + 4))
    long_funcs = frozenset(i for i, fe in done.items() if fe.long)
    return Blob(bytes(code), funcs, long_funcs, refused)


# the float instructions register their handlers (last: the module imports this one's names)
from . import floats as _floats  # noqa: E402, F401
