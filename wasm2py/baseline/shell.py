"""Machine code of a module's *shell* for the baseline tier: each function type's Python entry
and host-call trampoline, byte for byte the contract of the LLVM tier's (``lower.py``'s
``_typed_entry`` and ``_trampoline``, :mod:`wasm2py.llvm.abi`), made without LLVM.

* **Entry** ``void entry(ctx, rem, slots)`` (the C convention: ctypes calls it): loads the
  arguments from ``slots`` (an i32 from the low 32 bits, an f32 as the bits in the low 32,
  an f64 as its bits), calls the function whose address is in slot
  :func:`~wasm2py.llvm.abi.entry_slots` with the native signature
  ``result fn(ctx, rem, params...)``, and stores the result in slot 0 (an i32 zero-extended,
  an f32's bits zero-extended).
* **Trampoline** ``result tramp(env, rem, params...)`` (``env`` = ``[rt, callback]``): spills
  the arguments into slots on its stack in the same form, calls
  ``void callback(env, rem, slots)`` (C convention) and returns the value in slot 0.

The native signature is LLVM's ``tailcc`` on x86-64 (checked against LLVM's own code for
these signatures): integer-class arguments (``env``, ``rem``, i32, i64, references) in
``rdi, rsi, rdx, rcx, r8, r9``, f32/f64 in ``xmm0-7``, the rest on the stack (8 bytes each, in
parameter order, above the return address), and the callee pops
``align16(8 * n + 8) - 8`` bytes of them on return (:func:`popped`): 8 even when there are none.
Its caller keeps ``rsp`` 16-byte aligned at the call.

Types the shell cannot serve (a v128 value, several results: :func:`refusal`) make the whole
module stay off the baseline (``wasm2py.tierup``): every record of the instance needs its
type's trampoline.
"""

from __future__ import annotations

import json

from ..llvm import abi
from ..types import FuncType, ValType
from . import x86
from .x86 import R8, R9, R11, RAX, RBX, RCX, RDI, RDX, RSP

#: integer-class argument registers after ``env`` (rdi) and ``rem`` (rsi)
_INT_REGS = (RDX, RCX, R8, R9)
_FLOAT_REGS = 8


def refusal(ft: FuncType) -> str | None:
    """Why the shell has no entry and trampoline for functions of type ``ft`` (None: it has)."""
    if len(ft.results) > 1:
        return "several results"
    if ValType.V128 in ft.params or ValType.V128 in ft.results:
        return "v128"
    return None


def popped(nstack: int) -> int:
    """Bytes of stack arguments a ``tailcc`` callee with ``nstack`` of them pops on return."""
    return (8 * nstack + 8 + 15) // 16 * 16 - 8


def _kind(t) -> str:
    """``"i32"``, ``"f32"``, ``"f64"`` or ``"i64"`` (i64 and every reference)."""
    if t is ValType.I32:
        return "i32"
    if t is ValType.F32:
        return "f32"
    if t is ValType.F64:
        return "f64"
    return "i64"


def _places(ft: FuncType) -> tuple[list[tuple[str, str, int]], int]:
    """Where each parameter of a function of type ``ft`` travels: ``(kind, "r"|"x"|"s",
    register or stack index)``, and how many go on the stack."""
    out = []
    ni = nx = ns = 0
    for t in ft.params:
        k = _kind(t)
        if k in ("f32", "f64"):
            if nx < _FLOAT_REGS:
                out.append((k, "x", nx))
                nx += 1
                continue
        elif ni < len(_INT_REGS):
            out.append((k, "r", _INT_REGS[ni]))
            ni += 1
            continue
        out.append((k, "s", ns))
        ns += 1
    return out, ns


def _load(kind: str, where: str, reg: int, base: int, disp: int) -> bytes:
    """A value of ``kind`` from the slot at ``[base + disp]`` into its argument register."""
    if where == "x":
        return x86.movss_load(reg, base, disp) if kind == "f32" else x86.movsd_load(reg, base, disp)
    return x86.mov_load(reg, base, disp, w=kind != "i32")


def entry(ft: FuncType) -> bytes:
    """The entry of type ``ft`` (see the module docstring)."""
    places, ns = _places(ft)
    pop = popped(ns)
    area = pop + 8  # (rsp is 16-byte aligned after the push of rbx; the callee pops ``pop``)
    a = x86.Asm()
    a += x86.push(RBX)
    a += x86.mov_rr(RBX, RDX)  # slots, kept across the call (rbx is callee-saved)
    a += x86.alu_ri(x86.SUB, RSP, area)
    for k, (_, where, reg) in enumerate(places):
        if where == "s":
            a += x86.mov_load(RAX, RBX, 8 * k)
            a += x86.mov_store(RSP, 8 * reg, RAX)
    for k, (kind, where, reg) in enumerate(places):
        if where != "s":
            a += _load(kind, where, reg, RBX, 8 * k)
    a += x86.mov_load(R11, RBX, 8 * abi.entry_slots(ft))
    a += x86.call_r(R11)
    a += x86.alu_ri(x86.ADD, RSP, area - pop)
    if ft.results:
        kind = _kind(ft.results[0])
        if kind == "i32":
            a += x86.mov_rr(RAX, RAX, w=False)  # (the upper half of eax's register is undefined)
            a += x86.mov_store(RBX, 0, RAX)
        elif kind == "i64":
            a += x86.mov_store(RBX, 0, RAX)
        elif kind == "f32":
            a += x86.movd_rx(RAX, 0)  # (zero-extends into rax)
            a += x86.mov_store(RBX, 0, RAX)
        else:
            a += x86.movsd_store(RBX, 0, 0)
    a += x86.pop(RBX)
    a += x86.RET
    return bytes(a.code)


def trampoline(ft: FuncType) -> bytes:
    """The host-call trampoline of type ``ft`` (see the module docstring)."""
    places, ns = _places(ft)
    n = abi.entry_slots(ft)
    frame = 8 * n + (8 if n % 2 == 0 else 0)  # rsp 16-byte aligned at the call
    a = x86.Asm()
    a += x86.alu_ri(x86.SUB, RSP, frame)
    for k, (kind, where, reg) in enumerate(places):
        d = 8 * k
        if where == "r":
            if kind == "i32":
                a += x86.mov_rr(reg, reg, w=False)  # zero-extended in its slot
            a += x86.mov_store(RSP, d, reg)
        elif where == "x":
            if kind == "f32":
                a += x86.movd_rx(RAX, reg)
                a += x86.mov_store(RSP, d, RAX)
            else:
                a += x86.movsd_store(RSP, d, reg)
        else:
            # (above the frame and the return address)
            a += x86.mov_load(RAX, RSP, frame + 8 + 8 * reg, w=kind not in ("i32", "f32"))
            a += x86.mov_store(RSP, d, RAX)
    # env (rdi) and rem (esi) are the callback's first two arguments as they are
    a += x86.mov_load(RAX, RDI, 8 * abi.ENV_CALLBACK)
    a += x86.mov_rr(RDX, RSP)
    a += x86.call_r(RAX)
    if ft.results:
        kind = _kind(ft.results[0])
        if kind == "f32":
            a += x86.movss_load(0, RSP, 0)
        elif kind == "f64":
            a += x86.movsd_load(0, RSP, 0)
        else:
            a += x86.mov_load(RAX, RSP, 0, w=kind != "i32")
    a += x86.alu_ri(x86.ADD, RSP, frame)
    a += x86.ret_n(popped(ns))
    return bytes(a.code)


def signature(types) -> bytes:
    """What the shell of a module of type section ``types`` depends on, as bytes (each
    type's argument and result kinds: the key of a shell kept in the disk cache)."""
    out = []
    for ft in types:
        if not isinstance(ft, FuncType):
            out.append("-")
        else:
            kinds = ["v128" if t is ValType.V128 else _kind(t) for t in ft.params]
            res = ["v128" if t is ValType.V128 else _kind(t) for t in ft.results]
            out.append(",".join(kinds) + ">" + ",".join(res))
    return ";".join(out).encode()


class Shell:
    """The shell of one module as code to place: :attr:`code` holds every served type's entry
    and trampoline (:attr:`entries`, :attr:`trampolines`: offsets by type index; the types
    it does not serve are in :attr:`refused`, with why)."""

    __slots__ = ("code", "entries", "trampolines", "refused")

    def __init__(self, types) -> None:
        a = bytearray()
        self.entries: dict[int, int] = {}
        self.trampolines: dict[int, int] = {}
        self.refused: dict[int, str] = {}
        made: dict[FuncType, tuple[int, int]] = {}
        for i, ft in enumerate(types):
            if not isinstance(ft, FuncType):
                continue  # (a GC struct or array type: no functions)
            why = refusal(ft)
            if why is not None:
                self.refused[i] = why
                continue
            hit = made.get(ft)
            if hit is None:
                e = len(a)
                a += entry(ft)
                a += b"\xcc" * (-len(a) % 16)
                t = len(a)
                a += trampoline(ft)
                a += b"\xcc" * (-len(a) % 16)
                hit = made[ft] = (e, t)
            self.entries[i], self.trampolines[i] = hit
        self.code = bytes(a)

    def to_bytes(self) -> bytes:
        """The shell as bytes (:meth:`from_bytes` reads them back)."""
        head = json.dumps([self.entries, self.trampolines, self.refused]).encode()
        return len(head).to_bytes(4, "little") + head + self.code

    @classmethod
    def from_bytes(cls, data: bytes) -> Shell:
        n = int.from_bytes(data[:4], "little")
        entries, tramps, refused = json.loads(data[4 : 4 + n])
        self = cls.__new__(cls)
        self.entries = {int(k): v for k, v in entries.items()}
        self.trampolines = {int(k): v for k, v in tramps.items()}
        self.refused = {int(k): v for k, v in refused.items()}
        self.code = data[4 + n :]
        return self


__all__ = ["Shell", "entry", "popped", "refusal", "signature", "trampoline"]
