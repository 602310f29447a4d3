"""An x86-64 encoder: the instructions the baseline tier's emitter and shell use, as bytes.

Registers are numbers: the general-purpose ones ``RAX``..``R15`` (0..15) and the SSE ones
``XMM0``..``XMM15`` (also 0..15; an instruction's name says which file an operand is in).
Memory operands are ``[base + disp]`` with any base register (``rsp``/``r12`` need a SIB
byte, ``rbp``/``r13`` always a displacement) or ``[base + index*scale + disp]``.

Each function returns the encoding of one instruction; :class:`Asm` collects them in a
buffer and resolves jumps to :class:`Label` s (rel32 fix-ups). ``w=True`` is the 64-bit
operand size (REX.W), else 32-bit (which zero-extends into the upper half of a register).
"""

from __future__ import annotations

import functools
import struct

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI = range(8)
R8, R9, R10, R11, R12, R13, R14, R15 = range(8, 16)
XMM0, XMM1, XMM2, XMM3, XMM4, XMM5, XMM6, XMM7 = range(8)
XMM8, XMM9, XMM10, XMM11, XMM12, XMM13, XMM14, XMM15 = range(8, 16)

#: condition codes (the low nibble of ``jcc``/``setcc``/``cmovcc``); ``cc ^ 1`` negates
CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A = range(8)
CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G = range(8, 16)

#: ALU operations: the ``/digit`` of the immediate forms (0x81/0x83); the ``op r/m, r``
#: opcode is ``8 * digit + 1`` and ``op r, r/m`` is ``8 * digit + 3``
ADD, OR, ADC, SBB, AND, SUB, XOR, CMP = range(8)
#: shift and rotate ``/digit`` s (0xC1 by an immediate, 0xD3 by ``cl``)
ROL, ROR, SHL, SHR, SAR = 0, 1, 4, 5, 7

#: encodings are pure functions of small ints: remembered (the emitter asks for the same
#: frame-slot and register forms over and over; ~1 us to encode, ~0.1 us to look up)
_memo = functools.lru_cache(maxsize=1 << 14)

_i8 = struct.Struct("<b").pack
_i32 = struct.Struct("<i").pack
_u32 = struct.Struct("<I").pack
_i64 = struct.Struct("<q").pack


def imm32(v: int) -> bytes:
    """A signed 32-bit immediate (``v`` in [-2**31, 2**31))."""
    return _i32(v)


def fits32(v: int) -> bool:
    """Whether ``v`` fits a sign-extended 32-bit immediate."""
    return -(1 << 31) <= v < (1 << 31)


def fits8(v: int) -> bool:
    return -128 <= v < 128


# -- the general forms ---------------------------------------------------------------------


def _rex(w: bool, r: int, x: int, b: int, force: bool = False) -> bytes:
    v = (8 if w else 0) | (4 if r & 8 else 0) | (2 if x & 8 else 0) | (1 if b & 8 else 0)
    return bytes((0x40 | v,)) if v or force else b""


def _mem(reg: int, base: int, disp: int) -> bytes:
    """ModRM (+SIB, +displacement) of ``[base + disp]`` with ``reg`` in the reg field."""
    r = (reg & 7) << 3
    b = base & 7
    sib = b"\x24" if b == 4 else b""  # rsp/r12 as base: SIB (no index)
    if disp == 0 and b != 5:  # rbp/r13 as base: mod 00 means rip-relative / disp32
        return bytes((r | b,)) + sib
    if fits8(disp):
        return bytes((0x40 | r | b,)) + sib + _i8(disp)
    return bytes((0x80 | r | b,)) + sib + _i32(disp)


_SCALE = {1: 0x00, 2: 0x40, 4: 0x80, 8: 0xC0}


def _memx(reg: int, base: int, index: int, disp: int, scale: int = 1) -> bytes:
    """ModRM + SIB (+displacement) of ``[base + index*scale + disp]``."""
    if index == 4:
        raise ValueError("rsp cannot be an index")
    r = (reg & 7) << 3
    sib = bytes((_SCALE[scale] | (index & 7) << 3 | (base & 7),))
    if disp == 0 and base & 7 != 5:
        return bytes((r | 4,)) + sib
    if fits8(disp):
        return bytes((0x44 | r,)) + sib + _i8(disp)
    return bytes((0x84 | r,)) + sib + _i32(disp)


@_memo
def rm(opc: bytes, reg: int, base: int, disp: int = 0, w: bool = False, pre: bytes = b"",
       byte: bool = False) -> bytes:
    """``[pre] [REX] opc ModRM`` with ``reg`` in the reg field and ``[base + disp]`` as r/m
    (``byte``: ``reg`` is a byte register, so ``spl``..``dil`` need a REX prefix)."""
    return pre + _rex(w, reg, 0, base, byte and 4 <= reg < 8) + opc + _mem(reg, base, disp)


@_memo
def rmx(opc: bytes, reg: int, base: int, index: int, disp: int = 0, w: bool = False,
        pre: bytes = b"", byte: bool = False, scale: int = 1) -> bytes:
    """Like :func:`rm` with ``[base + index*scale + disp]`` as r/m."""
    return (pre + _rex(w, reg, index, base, byte and 4 <= reg < 8) + opc
            + _memx(reg, base, index, disp, scale))


@_memo
def rr(opc: bytes, reg: int, rmreg: int, w: bool = False, pre: bytes = b"",
       byte: bool = False) -> bytes:
    """``[pre] [REX] opc ModRM`` with two registers (``reg`` field, ``rmreg`` r/m field)."""
    force = byte and (4 <= reg < 8 or 4 <= rmreg < 8)
    return pre + _rex(w, reg, 0, rmreg, force) + opc + bytes((0xC0 | (reg & 7) << 3 | (rmreg & 7),))


# -- moves -----------------------------------------------------------------------------------


@_memo
def mov_rr(dst: int, src: int, w: bool = True) -> bytes:
    """``mov dst, src``."""
    return rr(b"\x89", src, dst, w)


@_memo
def mov_load(dst: int, base: int, disp: int = 0, w: bool = True) -> bytes:
    """``mov dst, [base + disp]``."""
    return rm(b"\x8b", dst, base, disp, w)


@_memo
def mov_store(base: int, disp: int, src: int, w: bool = True) -> bytes:
    """``mov [base + disp], src``."""
    return rm(b"\x89", src, base, disp, w)


@_memo
def mov_store_imm(base: int, disp: int, v: int, w: bool = True) -> bytes:
    """``mov qword/dword [base + disp], imm32`` (a qword's ``v`` must fit a sign-extended
    imm32; a dword takes ``v``'s low 32 bits)."""
    if not w:
        v = (v & 0xFFFFFFFF) - ((v & 0x80000000) << 1)
    elif not fits32(v):
        raise ValueError(f"{v} does not fit a sign-extended imm32")
    return rm(b"\xc7", 0, base, disp, w) + _i32(v)


@_memo
def mov_imm(dst: int, v: int, w: bool = True) -> bytes:
    """``dst = v`` in the shortest form that leaves the flags alone (no ``xor``; ``w=False``:
    the low 32 bits, zero-extended)."""
    if not w:
        v &= 0xFFFFFFFF
    else:
        v &= 0xFFFFFFFFFFFFFFFF
        if v >= 1 << 63:
            v -= 1 << 64
    if 0 <= v < (1 << 32):
        return _rex(False, 0, 0, dst) + bytes((0xB8 | (dst & 7),)) + _u32(v)
    if fits32(v):
        return rr(b"\xc7", 0, dst, True) + _i32(v)
    return _rex(True, 0, 0, dst) + bytes((0xB8 | (dst & 7),)) + _i64(v)


@_memo
def lea(dst: int, base: int, disp: int, w: bool = True) -> bytes:
    """``lea dst, [base + disp]``."""
    return rm(b"\x8d", dst, base, disp, w)


@_memo
def movzx8(dst: int, src: int) -> bytes:
    """``movzx dst32, src8``."""
    return rr(b"\x0f\xb6", dst, src, False, byte=True)


@_memo
def movsxd(dst: int, src: int) -> bytes:
    """``movsxd dst64, src32``."""
    return rr(b"\x63", dst, src, True)


@_memo
def cmov(cc: int, dst: int, src: int, w: bool = True) -> bytes:
    """``cmovcc dst, src``."""
    return rr(bytes((0x0F, 0x40 | cc)), dst, src, w)


@_memo
def setcc(cc: int, dst: int) -> bytes:
    """``setcc dst8``."""
    return rr(bytes((0x0F, 0x90 | cc)), 0, dst, False, byte=True)


def push(reg: int) -> bytes:
    return _rex(False, 0, 0, reg) + bytes((0x50 | (reg & 7),))


def pop(reg: int) -> bytes:
    return _rex(False, 0, 0, reg) + bytes((0x58 | (reg & 7),))


# -- arithmetic ------------------------------------------------------------------------------


@_memo
def alu_rr(op: int, dst: int, src: int, w: bool = True) -> bytes:
    """``op dst, src`` (``op``: ``ADD``..``CMP``)."""
    return rr(bytes((8 * op + 1,)), src, dst, w)


@_memo
def alu_ri(op: int, dst: int, v: int, w: bool = True) -> bytes:
    """``op dst, imm`` (``v`` a signed 32-bit value)."""
    if fits8(v):
        return rr(b"\x83", op, dst, w) + _i8(v)
    return rr(b"\x81", op, dst, w) + _i32(v)


@_memo
def alu_rm(op: int, dst: int, base: int, disp: int, w: bool = True) -> bytes:
    """``op dst, [base + disp]``."""
    return rm(bytes((8 * op + 3,)), dst, base, disp, w)


@_memo
def alu_mi(op: int, base: int, disp: int, v: int, w: bool = True) -> bytes:
    """``op [base + disp], imm`` (``v`` a signed 32-bit value)."""
    if fits8(v):
        return rm(b"\x83", op, base, disp, w) + _i8(v)
    return rm(b"\x81", op, base, disp, w) + _i32(v)


@_memo
def test_rr(a: int, b: int, w: bool = True) -> bytes:
    return rr(b"\x85", b, a, w)


@_memo
def imul_rr(dst: int, src: int, w: bool = True) -> bytes:
    """``imul dst, src``."""
    return rr(b"\x0f\xaf", dst, src, w)


@_memo
def imul_rri(dst: int, src: int, v: int, w: bool = True) -> bytes:
    """``imul dst, src, imm32``."""
    return rr(b"\x69", dst, src, w) + _i32(v)


@_memo
def shift_ri(op: int, dst: int, n: int, w: bool = True) -> bytes:
    """``op dst, n`` (``op``: ``ROL``..``SAR``)."""
    return rr(b"\xc1", op, dst, w) + bytes((n & 0xFF,))


@_memo
def shift_cl(op: int, dst: int, w: bool = True) -> bytes:
    """``op dst, cl``."""
    return rr(b"\xd3", op, dst, w)


def neg(dst: int, w: bool = True) -> bytes:
    return rr(b"\xf7", 3, dst, w)


def div(src: int, w: bool = True) -> bytes:
    """``div src`` (unsigned ``rdx:rax / src``)."""
    return rr(b"\xf7", 6, src, w)


def idiv(src: int, w: bool = True) -> bytes:
    """``idiv src`` (signed)."""
    return rr(b"\xf7", 7, src, w)


def cdq(w: bool = True) -> bytes:
    """``cdq`` / ``cqo``: sign-extend eax/rax into edx/rdx."""
    return b"\x48\x99" if w else b"\x99"


@_memo
def bitcount(kind: int, dst: int, src: int, w: bool = True) -> bytes:
    """``lzcnt`` (0xBD), ``tzcnt`` (0xBC) or ``popcnt`` (0xB8) ``dst, src``."""
    return rr(bytes((0x0F, kind)), dst, src, w, pre=b"\xf3")


@_memo
def movsx(dst: int, src: int, bits: int, w: bool) -> bytes:
    """``movsx dst, src8/src16``."""
    return rr(b"\x0f\xbe" if bits == 8 else b"\x0f\xbf", dst, src, w, byte=bits == 8)


# -- SSE -------------------------------------------------------------------------------------


@_memo
def movq_xr(x: int, r: int) -> bytes:
    """``movq xmm, r64``."""
    return rr(b"\x0f\x6e", x, r, True, pre=b"\x66")


@_memo
def movq_rx(r: int, x: int) -> bytes:
    """``movq r64, xmm``."""
    return rr(b"\x0f\x7e", x, r, True, pre=b"\x66")


@_memo
def movd_xr(x: int, r: int) -> bytes:
    """``movd xmm, r32``."""
    return rr(b"\x0f\x6e", x, r, False, pre=b"\x66")


@_memo
def movd_rx(r: int, x: int) -> bytes:
    """``movd r32, xmm``."""
    return rr(b"\x0f\x7e", x, r, False, pre=b"\x66")


@_memo
def movsd_load(x: int, base: int, disp: int = 0) -> bytes:
    """``movsd xmm, [base + disp]`` (``movq``: the upper half zeroed)."""
    return rm(b"\x0f\x10", x, base, disp, pre=b"\xf2")


@_memo
def movsd_store(base: int, disp: int, x: int) -> bytes:
    """``movsd [base + disp], xmm``."""
    return rm(b"\x0f\x11", x, base, disp, pre=b"\xf2")


@_memo
def movss_load(x: int, base: int, disp: int = 0) -> bytes:
    """``movss xmm, [base + disp]``."""
    return rm(b"\x0f\x10", x, base, disp, pre=b"\xf3")


@_memo
def movss_store(base: int, disp: int, x: int) -> bytes:
    """``movss [base + disp], xmm``."""
    return rm(b"\x0f\x11", x, base, disp, pre=b"\xf3")


def movaps_rr(dst: int, src: int) -> bytes:
    """``movaps dst, src`` (xmm registers)."""
    return rr(b"\x0f\x28", dst, src, False)


# -- control ---------------------------------------------------------------------------------


@_memo
def call_m(base: int, disp: int) -> bytes:
    """``call [base + disp]``."""
    return rm(b"\xff", 2, base, disp)


def call_r(reg: int) -> bytes:
    """``call reg``."""
    return rr(b"\xff", 2, reg)


def jmp_r(reg: int) -> bytes:
    """``jmp reg``."""
    return rr(b"\xff", 4, reg)


RET = b"\xc3"
LEAVE = b"\xc9"
UD2 = b"\x0f\x0b"


def ret_n(n: int) -> bytes:
    """``ret n`` (pop ``n`` bytes of stack arguments too), or ``ret``."""
    return struct.pack("<BH", 0xC2, n) if n else RET


class Label:
    """A position in an :class:`Asm` buffer, bound once; jumps to it before it is bound are
    fixed up when it is."""

    __slots__ = ("pos", "fixups")

    def __init__(self) -> None:
        self.pos: int | None = None
        self.fixups: list[int] = []


class Asm:
    """A code buffer (``code``) with rel32 jumps to labels."""

    __slots__ = ("code",)

    def __init__(self) -> None:
        self.code = bytearray()

    def __iadd__(self, b: bytes) -> Asm:
        self.code += b
        return self

    def here(self) -> int:
        return len(self.code)

    def bind(self, lab: Label) -> None:
        """Bind ``lab`` here and patch the jumps already made to it."""
        c = self.code
        pos = lab.pos = len(c)
        for f in lab.fixups:
            c[f : f + 4] = _i32(pos - (f + 4))
        lab.fixups = []

    def _rel(self, lab: Label) -> None:
        c = self.code
        if lab.pos is not None:
            c += _i32(lab.pos - (len(c) + 4))
        else:
            lab.fixups.append(len(c))
            c += b"\0\0\0\0"

    def jmp(self, lab: Label) -> None:
        """``jmp rel32`` to ``lab``."""
        self.code += b"\xe9"
        self._rel(lab)

    def jcc(self, cc: int, lab: Label) -> None:
        """``jcc rel32`` to ``lab``."""
        self.code += bytes((0x0F, 0x80 | cc))
        self._rel(lab)

    def call(self, lab: Label) -> None:
        """``call rel32`` to ``lab``."""
        self.code += b"\xe8"
        self._rel(lab)

    def lea_rip(self, dst: int, lab: Label) -> None:
        """``lea dst, [rip + lab]``."""
        self.code += _rex(True, dst, 0, 0) + b"\x8d" + bytes((0x05 | (dst & 7) << 3,))
        self._rel(lab)

    def align(self, n: int, fill: int = 0xCC) -> None:
        """Pad with ``fill`` (int3) to a multiple of ``n``."""
        k = -len(self.code) % n
        self.code += bytes((fill,)) * k
