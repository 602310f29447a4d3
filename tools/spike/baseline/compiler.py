# ruff: noqa: F821 - the O_<name> opcode constants are made from Op at import
"""Spike (issue #13): a single-pass baseline compiler, wasm -> x86-64 machine code, in Python.

Not part of the package; nothing in ``wasm2py/`` imports it. It answers one question: what
does one pass of templates cost per wasm instruction in Python, and how fast is the code?

Design (Liftoff-like, reduced):

* **Frame.** ``push rbp; mov rbp, rsp; sub rsp, N``. Local ``i`` (parameters first) lives at
  ``[rbp - 8(i+1)]``, operand-stack slot ``k`` at ``[rbp - 8(nlocals+k+1)]``: the operand
  stack height is known at every instruction, so every slot has a fixed address and branches
  merge by copying values to the target label's slots (nothing to reconcile but memory).
* **Lazy operands.** The compile-time stack holds what each operand *is*: in its slot (S), a
  constant (C), an unchanged local (L), in ``rax`` (R, top only) or in the flags as a
  condition code (F, top only). A binary op takes its right operand as an immediate or a
  memory operand, so ``local.get a; local.get b; i32.add`` is ``mov eax,[a]; add eax,[b]``;
  a compare followed by ``br_if``/``if``/``select`` is ``cmp; jcc``. Everything is flushed
  to slots at control-flow joins and calls.
* **Pinned registers** (never written by compiled code): ``r12`` context, ``r13`` memory
  base, ``r14`` memory byte size. Scratch: rax, rcx, rdx, rsi.
* **Calls** between compiled functions: ``rsi`` points at the caller's slot of the first
  argument (argument ``i`` at ``[rsi - 8i]``), result in ``rax``; ``call rel32``.
* **Traps** jump to one shared stub per trap code, which stores the code in ``ctx[0]``,
  reloads the entry trampoline's ``rsp`` from ``ctx[1]`` and leaves through the
  trampoline's epilogue (a longjmp: valid because no foreign frame lies between).
* **Bounds checks**: ``lea rcx,[rax+offset+size]; cmp rcx, r14; ja trap`` (zero-extended
  32-bit address; offsets < 2**31 - size).
* **Stack overflow**: every prologue compares ``rsp`` with ``ctx[4]``.

Context layout (64-bit slots at ``r12``): 0 trap code, 1 trampoline rsp, 2 memory base,
3 memory size, 4 native stack limit, 5+g global g.
"""

from __future__ import annotations

import ctypes
import mmap
import struct

from wasm2py.binary.opcodes import Op
from wasm2py.types import FuncType

CTX_TRAP, CTX_LAND, CTX_MEMBASE, CTX_MEMSIZE, CTX_LIMIT, CTX_GLOBALS = 0, 1, 2, 3, 4, 5

T_UNREACHABLE, T_OOB, T_DIV0, T_OVF, T_STACK = 1, 2, 3, 4, 5
TRAP_NAMES = {1: "unreachable", 2: "out of bounds memory access", 3: "integer divide by zero",
              4: "integer overflow", 5: "call stack exhausted"}

for _o in Op:  # plain ints: cheaper than enum members in the hot loop
    globals()['O_' + _o.name] = int(_o)

_pk = struct.Struct("<i").pack
_pq = struct.Struct("<q").pack
_pu = struct.Struct("<I").pack


class Unsupported(Exception):
    """The function uses an instruction outside the prototype's subset."""


# kinds of compile-time operands
S, C, L, R, F = 0, 1, 2, 3, 4

# x86 condition codes
CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A = 0, 1, 2, 3, 4, 5, 6, 7
CC_L, CC_GE, CC_LE, CC_G = 0xC, 0xD, 0xE, 0xF

CMP_CC = {
    O_I32_EQ: CC_E, O_I32_NE: CC_NE, O_I32_LT_S: CC_L, O_I32_LT_U: CC_B,
    O_I32_GT_S: CC_G, O_I32_GT_U: CC_A, O_I32_LE_S: CC_LE, O_I32_LE_U: CC_BE,
    O_I32_GE_S: CC_GE, O_I32_GE_U: CC_AE,
    O_I64_EQ: CC_E, O_I64_NE: CC_NE, O_I64_LT_S: CC_L, O_I64_LT_U: CC_B,
    O_I64_GT_S: CC_G, O_I64_GT_U: CC_A, O_I64_LE_S: CC_LE, O_I64_LE_U: CC_BE,
    O_I64_GE_S: CC_GE, O_I64_GE_U: CC_AE,
}
# binary ALU ops: (opcode r,r/m ; /digit of the 0x81/0x83 immediate form)
ALU = {
    O_I32_ADD: (0x03, 0), O_I32_SUB: (0x2B, 5), O_I32_AND: (0x23, 4), O_I32_OR: (0x0B, 1),
    O_I32_XOR: (0x33, 6),
    O_I64_ADD: (0x03, 0), O_I64_SUB: (0x2B, 5), O_I64_AND: (0x23, 4), O_I64_OR: (0x0B, 1),
    O_I64_XOR: (0x33, 6),
}
SHIFT = {O_I32_SHL: 4, O_I32_SHR_U: 5, O_I32_SHR_S: 7, O_I32_ROTL: 0, O_I32_ROTR: 1,
         O_I64_SHL: 4, O_I64_SHR_U: 5, O_I64_SHR_S: 7, O_I64_ROTL: 0, O_I64_ROTR: 1}
# loads: (size, opcode bytes, 64-bit REX.W)
LOADS = {
    O_I32_LOAD: (4, b"\x8b", False), O_I64_LOAD: (8, b"\x8b", True),
    O_I32_LOAD8_S: (1, b"\x0f\xbe", False), O_I32_LOAD8_U: (1, b"\x0f\xb6", False),
    O_I32_LOAD16_S: (2, b"\x0f\xbf", False), O_I32_LOAD16_U: (2, b"\x0f\xb7", False),
    O_I64_LOAD8_S: (1, b"\x0f\xbe", True), O_I64_LOAD8_U: (1, b"\x0f\xb6", False),
    O_I64_LOAD16_S: (2, b"\x0f\xbf", True), O_I64_LOAD16_U: (2, b"\x0f\xb7", False),
    O_I64_LOAD32_S: (4, b"\x63", True), O_I64_LOAD32_U: (4, b"\x8b", False),
}
STORES = {
    O_I32_STORE: (4, b"", b"\x89", False), O_I64_STORE: (8, b"", b"\x89", True),
    O_I32_STORE8: (1, b"", b"\x88", False), O_I32_STORE16: (2, b"\x66", b"\x89", False),
    O_I64_STORE8: (1, b"", b"\x88", False), O_I64_STORE16: (2, b"\x66", b"\x89", False),
    O_I64_STORE32: (4, b"", b"\x89", False),
}
I64_OPS = {O_I64_EQZ, O_I64_CLZ, O_I64_CTZ, O_I64_POPCNT, O_I64_MUL, O_I64_DIV_S,
           O_I64_DIV_U, O_I64_REM_S, O_I64_REM_U, O_I64_EXTEND8_S, O_I64_EXTEND16_S,
           O_I64_EXTEND32_S} | {o for o in list(CMP_CC) + list(ALU) + list(SHIFT) if Op(o).name.startswith("I64")}

#: every opcode the prototype compiles
SUPPORTED = {
    O_UNREACHABLE, O_NOP, O_BLOCK, O_LOOP, O_IF, O_ELSE, O_END, O_BR, O_BR_IF,
    O_RETURN, O_CALL, O_DROP, O_SELECT, O_LOCAL_GET, O_LOCAL_SET, O_LOCAL_TEE,
    O_GLOBAL_GET, O_GLOBAL_SET, O_I32_CONST, O_I64_CONST, O_I32_EQZ, O_I64_EQZ,
    O_I32_MUL, O_I64_MUL, O_I32_DIV_S, O_I32_DIV_U, O_I32_REM_S, O_I32_REM_U,
    O_I64_DIV_S, O_I64_DIV_U, O_I64_REM_S, O_I64_REM_U, O_I32_CLZ, O_I32_CTZ,
    O_I32_POPCNT, O_I64_CLZ, O_I64_CTZ, O_I64_POPCNT, O_I32_WRAP_I64,
    O_I64_EXTEND_I32_S, O_I64_EXTEND_I32_U, O_I32_EXTEND8_S, O_I32_EXTEND16_S,
    O_I64_EXTEND8_S, O_I64_EXTEND16_S, O_I64_EXTEND32_S, O_MEMORY_SIZE,
} | set(CMP_CC) | set(ALU) | set(SHIFT) | set(LOADS) | set(STORES)


def modrm_rbp(reg: int, disp: int) -> bytes:
    """ModRM (+disp) of ``[rbp + disp]`` with register field ``reg`` (low 3 bits)."""
    if -128 <= disp < 128:
        return bytes((0x45 | (reg & 7) << 3, disp & 0xFF))
    return bytes((0x85 | (reg & 7) << 3,)) + _pk(disp)


def modrm_r12(reg: int, disp: int) -> bytes:
    """ModRM+SIB(+disp) of ``[r12 + disp]`` (r12 needs a SIB byte)."""
    if -128 <= disp < 128:
        return bytes((0x44 | (reg & 7) << 3, 0x24, disp & 0xFF))
    return bytes((0x84 | (reg & 7) << 3, 0x24)) + _pk(disp)


class Label:
    __slots__ = ("kind", "height", "arity", "nresults", "fixups", "target", "else_fix",
                 "nparams", "unreachable_after")

    def __init__(self, kind, height, arity, nresults, nparams):
        self.kind = kind  # "block" | "loop" | "if" | "func"
        self.height = height
        self.arity = arity  # values a branch to it carries
        self.nresults = nresults
        self.nparams = nparams
        self.fixups = []  # positions of rel32 fields jumping to the label's end
        self.target = None  # loop header position
        self.else_fix = None


class Compiler:
    """Compiles the defined functions of a decoded module into one code buffer.

    ``code`` is the machine code; ``offsets[i]`` the offset of defined function ``i``;
    ``entry`` the offset of the trampoline ``u64 entry(ctx, args, fn)``; ``ninstrs`` the
    number of wasm instructions compiled.
    """

    #: True: instructions outside the subset get placeholder code of a plausible size and the
    #: right stack effect (emit-cost measurements only: such code must never run)
    stub_unsupported = False
    #: False: no bounds check (what guard pages would allow; timing only in this spike)
    bounds_checks = True

    def __init__(self, module):
        self.m = module
        self.nimp = module.num_imported_funcs
        self.ftypes = module.func_types()
        self.code = bytearray()
        self.offsets: dict[int, int] = {}
        self.call_fixups: list[tuple[int, int]] = []  # (rel32 position, function index)
        self.trap_stub: dict[int, int] = {}
        self.ninstrs = 0
        self._trampoline()

    # -- fixed code ----------------------------------------------------------------------
    def _trampoline(self):
        c = self.code
        self.entry = len(c)
        # push rbx, rbp, r12, r13, r14, r15; sub rsp, 8 (align)
        c += b"\x53\x55\x41\x54\x41\x55\x41\x56\x41\x57\x48\x83\xec\x08"
        c += b"\x49\x89\xfc"  # mov r12, rdi
        c += b"\x4d\x8b\x6c\x24" + bytes((8 * CTX_MEMBASE,))  # mov r13, [r12+16]
        c += b"\x4d\x8b\x74\x24" + bytes((8 * CTX_MEMSIZE,))  # mov r14, [r12+24]
        c += b"\x49\x89\x64\x24" + bytes((8 * CTX_LAND,))  # mov [r12+8], rsp
        c += b"\xff\xd2"  # call rdx
        after = len(c)
        c += b"\x48\x83\xc4\x08\x41\x5f\x41\x5e\x41\x5d\x41\x5c\x5d\x5b\xc3"
        # trap stubs: mov qword [r12], code; mov rsp, [r12+8]; xor eax,eax; jmp after
        for code in TRAP_NAMES:
            self.trap_stub[code] = len(c)
            c += b"\x49\xc7\x04\x24" + _pk(code)
            c += b"\x49\x8b\x64\x24" + bytes((8 * CTX_LAND,))
            c += b"\x31\xc0\xe9"
            c += _pk(after - (len(c) + 4))

    def compile_all(self, indices=None):
        """Compile the defined functions ``indices`` (module function indices; default all
        that use only the subset). Returns the indices that were compiled."""
        m = self.m
        done = []
        want = range(self.nimp, self.nimp + len(m.codes)) if indices is None else indices
        for fi in want:
            try:
                self.compile_func(fi)
            except Unsupported:
                continue
            done.append(fi)
        for pos, fi in self.call_fixups:
            if fi not in self.offsets:
                raise Unsupported(f"call of uncompiled function {fi}")
            self.code[pos:pos + 4] = _pk(self.offsets[fi] - (pos + 4))
        return done

    # -- one function ----------------------------------------------------------------------
    def compile_func(self, fi: int, body=None):
        m = self.m
        code = m.codes[fi - self.nimp]
        ft = self.ftypes[fi]
        if len(ft.results) > 1:
            raise Unsupported("multi-value result")
        if body is None:
            body = code.body
        nparams = len(ft.params)
        nlocals = nparams + len(code.locals)
        self.nloc = nlocals
        self.pins = self._choose_pins(body, nlocals) if self.pin_locals else {}
        self.K = len(self.pins)
        c = self.code
        start = len(c)
        self.maxh = 0
        # prologue; the frame size is patched at the end (imm32)
        c += b"\x55\x48\x89\xe5\x48\x81\xec"
        frame_fix = len(c)
        c += b"\0\0\0\0"
        # cmp rsp, [r12 + 8*LIMIT]; jb stack trap
        c += b"\x49\x3b\x64\x24" + bytes((8 * CTX_LIMIT,))
        self._jcc_trap(CC_B, T_STACK)
        for j, p in enumerate(self.pins.values()):  # the pinned registers are callee-saved
            c += bytes((0x48 | (4 if p >= 8 else 0), 0x89)) + modrm_rbp(p, -8 * (j + 1))
        for i in range(nparams):
            # mov rax, [rsi - 8i]; mov local, rax
            c += b"\x48\x8b\x46" + bytes(((-8 * i) & 0xFF,)) if i < 16 else b"\x48\x8b\x86" + _pk(-8 * i)
            c += self.lop(b"\x89", 0, True, i)
        if nlocals > nparams:
            c += b"\x31\xc0"
            for i in range(nparams, nlocals):
                c += self.lop(b"\x89", 0, True, i)
        self.st = []  # compile-time operand stack: (kind, value)
        self.dead = False
        self.nres = len(ft.results)
        self.labels = [Label("func", 0, self.nres, self.nres, 0)]
        self._body(body)
        frame = 8 * (self.K + nlocals + self.maxh + 1)
        frame = (frame + 15) & ~15
        c[frame_fix:frame_fix + 4] = _pk(frame)
        self.offsets[fi] = start
        self.ninstrs += len(body)

    # -- operand stack helpers ---------------------------------------------------------------
    def slot(self, k: int) -> int:
        return -8 * (self.K + self.nloc + k + 1)

    #: registers that may hold locals for a whole function (saved and restored by it)
    PIN_REGS = (3, 15, 7, 8, 9, 10, 11)  # rbx r15 rdi r8 r9 r10 r11
    pin_locals = True

    def _choose_pins(self, body, nlocals: int) -> dict[int, int]:
        """The most used locals (uses weighted by 8 per enclosing loop) -> registers."""
        uses = [0] * nlocals
        stack = []
        depth = 0
        for ins in body:
            op = ins[0]
            if op == O_LOCAL_GET or op == O_LOCAL_SET or op == O_LOCAL_TEE:
                uses[ins[1]] += 8 ** min(depth, 4)
            elif op == O_LOOP:
                stack.append(True)
                depth += 1
            elif op == O_BLOCK or op == O_IF:
                stack.append(False)
            elif op == O_END and stack:
                if stack.pop():
                    depth -= 1
        best = sorted((i for i in range(nlocals) if uses[i]), key=lambda i: -uses[i])
        return {i: r for i, r in zip(best, self.PIN_REGS)}

    def lop(self, opc: bytes, reg: int, w: bool, i: int) -> bytes:
        """``opc`` with ``reg`` in the ModRM reg field and local ``i`` as r/m (its frame slot
        or its pinned register)."""
        p = self.pins.get(i)
        if p is None:
            return (b"\x48" if w else b"") + opc + modrm_rbp(reg, -8 * (self.K + i + 1))
        rex = 0x40 | (8 if w else 0) | (1 if p >= 8 else 0)
        return (bytes((rex,)) if rex != 0x40 else b"") + opc + bytes((0xC0 | reg << 3 | (p & 7),))

    def _store_slot(self, k: int, ent) -> None:
        """Write operand ``k`` (described by ``ent``) to its slot."""
        c = self.code
        kind, v = ent
        d = self.slot(k)
        if kind == C:
            if -(1 << 31) <= v < (1 << 31):
                c += b"\x48\xc7" + modrm_rbp(0, d) + _pk(v)
            else:  # rdx as scratch: rax may hold the top operand
                c += b"\x48\xba" + _pq(v)
                c += b"\x48\x89" + modrm_rbp(2, d)
        elif kind == L:
            c += self.lop(b"\x8b", 2, True, v)
            c += b"\x48\x89" + modrm_rbp(2, d)
        elif kind == R:
            c += b"\x48\x89" + modrm_rbp(0, d)
        elif kind == F:
            c += b"\x0f" + bytes((0x90 | v,)) + b"\xc0\x0f\xb6\xc0"  # setcc al; movzx eax, al
            c += b"\x48\x89" + modrm_rbp(0, d)

    def push(self, kind, v=None):
        st = self.st
        if st:
            top = st[-1]
            if top[0] >= R:  # only the top may live in rax / the flags
                self._store_slot(len(st) - 1, top)
                st[-1] = (S, None)
        st.append((kind, v))
        if len(st) > self.maxh:
            self.maxh = len(st)

    def flush(self):
        st = self.st
        if st and st[-1][0] >= R:  # rax / flags first: storing the others uses rdx only
            self._store_slot(len(st) - 1, st[-1])
            st[-1] = (S, None)
        for k, ent in enumerate(st):
            if ent[0] != S:
                self._store_slot(k, ent)
                st[k] = (S, None)

    def flush_local(self, i: int):
        st = self.st
        for k, ent in enumerate(st):
            if ent[0] == L and ent[1] == i:
                self._store_slot(k, ent)
                st[k] = (S, None)

    def pop_to(self, reg: int, w64: bool = True):
        """Pop the top operand into ``reg`` (0 rax, 1 rcx, 2 rdx, 6 rsi)."""
        c = self.code
        k = len(self.st) - 1
        kind, v = self.st.pop()
        if kind == S:
            c += (b"\x48\x8b" if w64 else b"\x8b") + modrm_rbp(reg, self.slot(k))
        elif kind == C:
            if not w64 or 0 <= v < (1 << 32):
                c += bytes((0xB8 + reg,)) + _pu(v & 0xFFFFFFFF)  # mov r32, imm32
            elif -(1 << 31) <= v < 0:
                c += bytes((0x48, 0xC7, 0xC0 | reg)) + _pk(v)  # mov r64, simm32
            else:
                c += bytes((0x48, 0xB8 + reg)) + _pq(v)  # movabs
        elif kind == L:
            c += self.lop(b"\x8b", reg, w64, v)
        elif kind == R:
            if reg != 0:
                c += bytes((0x48, 0x89, 0xC0 | reg))  # mov reg, rax
        else:  # F
            c += b"\x0f" + bytes((0x90 | v,)) + b"\xc0\x0f\xb6\xc0"
            if reg != 0:
                c += bytes((0x48, 0x89, 0xC0 | reg))

    def pop_cond(self) -> int:
        """Pop an i32 condition; returns the x86 condition code that is true when it is
        non-zero (after emitting the test)."""
        kind, v = self.st[-1]
        if kind == F:
            self.st.pop()
            return v
        self.pop_to(0, False)
        self.code += b"\x85\xc0"  # test eax, eax
        return CC_NE

    # -- jumps -----------------------------------------------------------------------------
    def _jcc_trap(self, cc: int, trap: int):
        c = self.code
        c += b"\x0f" + bytes((0x80 | cc,))
        c += _pk(self.trap_stub[trap] - (len(c) + 4))

    def _jcc_fix(self, cc: int) -> int:
        c = self.code
        c += b"\x0f" + bytes((0x80 | cc,)) + b"\0\0\0\0"
        return len(c) - 4

    def _jmp_fix(self) -> int:
        c = self.code
        c += b"\xe9\0\0\0\0"
        return len(c) - 4

    def _patch(self, pos: int, target: int):
        self.code[pos:pos + 4] = _pk(target - (pos + 4))

    def _copy_for_branch(self, lab: Label) -> bool:
        """Copy the branch values into the label's slots (the stack is flushed). Returns
        whether anything had to be moved."""
        n = lab.arity
        sp = len(self.st)
        if n == 0 or sp - n == lab.height:
            return False
        c = self.code
        for j in range(n):
            c += b"\x48\x8b" + modrm_rbp(0, self.slot(sp - n + j))
            c += b"\x48\x89" + modrm_rbp(0, self.slot(lab.height + j))
        return True

    def _branch(self, lab: Label):
        """Unconditional branch to ``lab`` (stack flushed)."""
        c = self.code
        if lab.kind == "func":
            self._return()
            return
        self._copy_for_branch(lab)
        if lab.kind == "loop":
            c += b"\xe9" + _pk(lab.target - (len(c) + 5))
        else:
            lab.fixups.append(self._jmp_fix())

    def _return(self):
        c = self.code
        if self.nres:
            self.pop_to(0)
        for j, p in enumerate(self.pins.values()):
            c += bytes((0x48 | (4 if p >= 8 else 0), 0x8B)) + modrm_rbp(p, -8 * (j + 1))
        c += b"\xc9\xc3"  # leave; ret

    # -- the body --------------------------------------------------------------------------
    def _blocktype(self, bt):
        if bt is None:
            return 0, 0
        if isinstance(bt, int):
            t = self.m.types[bt]
            if not isinstance(t, FuncType):
                raise Unsupported("block type")
            return len(t.params), len(t.results)
        return 0, 1

    def _skip_dead(self, it):
        """Skip unreachable code to the ``else``/``end`` closing the current construct;
        returns that instruction."""
        depth = 0
        for ins in it:
            op = ins[0]
            if op == O_BLOCK or op == O_LOOP or op == O_IF:
                depth += 1
            elif op == O_END:
                if depth == 0:
                    return ins
                depth -= 1
            elif op == O_ELSE and depth == 0:
                return ins
            elif op not in SUPPORTED and not self.stub_unsupported:
                raise Unsupported(op)
        raise AssertionError("body without end")

    def _body(self, body):
        c = self.code
        st = self.st
        labels = self.labels
        it = iter(body)
        ins = next(it, None)
        supported = SUPPORTED
        while ins is not None:
            op, imm = ins[0], ins[1]
            if op not in supported:
                if not self.stub_unsupported:
                    raise Unsupported(op)
                nxt = self._stub(op, imm, it)
                ins = nxt if nxt is not None else next(it, None)
                continue
            nxt = None
            if op == O_LOCAL_GET:
                self.push(L, imm)
            elif op == O_I32_CONST or op == O_I64_CONST:
                self.push(C, imm)
            elif op in ALU:
                w = op in I64_OPS
                rex = b"\x48" if w else b""
                opc, digit = ALU[op]
                kind, v = st[-1]
                if kind == C and -(1 << 31) <= v < (1 << 31):
                    st.pop()
                    self.pop_to(0, w)
                    if -128 <= v < 128:
                        c += rex + bytes((0x83, 0xC0 | digit << 3, v & 0xFF))
                    else:
                        c += rex + bytes((0x81, 0xC0 | digit << 3)) + _pk(v)
                elif kind == L or kind == S:
                    k = len(st) - 1
                    st.pop()
                    self.pop_to(0, w)
                    if kind == L:
                        c += self.lop(bytes((opc,)), 0, w, v)
                    else:
                        c += rex + bytes((opc,)) + modrm_rbp(0, self.slot(k))
                else:
                    self.pop_to(1, w)
                    self.pop_to(0, w)
                    c += rex + bytes((opc, 0xC1))  # op eax, ecx
                self.push(R)
            elif op in CMP_CC:
                w = op in I64_OPS
                rex = b"\x48" if w else b""
                kind, v = st[-1]
                if kind == C and -(1 << 31) <= v < (1 << 31):
                    st.pop()
                    self.pop_to(0, w)
                    if -128 <= v < 128:
                        c += rex + bytes((0x83, 0xF8, v & 0xFF))
                    else:
                        c += rex + b"\x81\xf8" + _pk(v)
                elif kind == L or kind == S:
                    k = len(st) - 1
                    st.pop()
                    self.pop_to(0, w)
                    if kind == L:
                        c += self.lop(b"\x3b", 0, w, v)
                    else:
                        c += rex + b"\x3b" + modrm_rbp(0, self.slot(k))
                else:
                    self.pop_to(1, w)
                    self.pop_to(0, w)
                    c += rex + b"\x3b\xc1"
                self.push(F, CMP_CC[op])
            elif op == O_LOCAL_SET or op == O_LOCAL_TEE:
                self.flush_local(imm)
                kind, v = st[-1]
                if kind == C and -(1 << 31) <= v < (1 << 31):
                    c += self.lop(b"\xc7", 0, True, imm) + _pk(v)
                    if op == O_LOCAL_SET:
                        st.pop()
                else:
                    self.pop_to(0)
                    c += self.lop(b"\x89", 0, True, imm)
                    if op == O_LOCAL_TEE:
                        self.push(R)
            elif op == O_BR_IF:
                lab = labels[-1 - imm]
                cc = self.pop_cond()
                self.flush()
                if lab.kind == "func":
                    skip = self._jcc_fix(cc ^ 1)
                    sp = len(st)
                    self._return()
                    st.extend([(S, None)] * (sp - len(st)))
                    self._patch(skip, len(c))
                elif lab.arity and len(st) - lab.arity != lab.height:
                    skip = self._jcc_fix(cc ^ 1)
                    self._branch(lab)
                    self._patch(skip, len(c))
                elif lab.kind == "loop":
                    c += b"\x0f" + bytes((0x80 | cc,))
                    c += _pk(lab.target - (len(c) + 4))
                else:
                    lab.fixups.append(self._jcc_fix(cc))
            elif op == O_BR:
                self.flush()
                self._branch(labels[-1 - imm])
                nxt = self._dead(it)
            elif op == O_BLOCK or op == O_LOOP:
                np_, nr = self._blocktype(imm)
                self.flush()
                if op == O_LOOP:
                    lab = Label("loop", len(st) - np_, np_, nr, np_)
                    lab.target = len(c)
                else:
                    lab = Label("block", len(st) - np_, nr, nr, np_)
                labels.append(lab)
            elif op == O_IF:
                np_, nr = self._blocktype(imm)
                cc = self.pop_cond()
                self.flush()
                lab = Label("if", len(st) - np_, nr, nr, np_)
                lab.else_fix = self._jcc_fix(cc ^ 1)
                labels.append(lab)
            elif op == O_ELSE:
                lab = labels[-1]
                if not self.dead:
                    self.flush()
                    lab.fixups.append(self._jmp_fix())
                self.dead = False
                self._else(lab)
            elif op == O_END:
                lab = labels.pop()
                self._end(lab, self.dead)
                self.dead = False
                if not labels:
                    return
            elif op == O_CALL:
                self._call(imm)
            elif op == O_RETURN:
                self.flush()
                self._return()
                nxt = self._dead(it)
            elif op == O_UNREACHABLE:
                self.flush()
                c += b"\xe9" + _pk(self.trap_stub[T_UNREACHABLE] - (len(c) + 5))
                nxt = self._dead(it)
            elif op in LOADS:
                size, opc, w = LOADS[op]
                self._addr(imm, size)
                c += bytes((0x41 | (8 if w else 0),)) + opc + self._mem_modrm(0, imm[1])
                self.push(R)
            elif op in STORES:
                size, pre, opc, w = STORES[op]
                self.pop_to(1, w)
                self._addr(imm, size)
                c += pre + bytes((0x41 | (8 if w else 0),)) + opc + self._mem_modrm(1, imm[1])
            elif op == O_DROP:
                k = len(st) - 1
                st.pop()
            elif op == O_SELECT:
                if st[-1][0] == F:  # the flags stay valid while the operands are moved
                    cc = st.pop()[1]
                    self.pop_to(1)  # b
                    self.pop_to(0)  # a
                else:
                    self.pop_to(2, False)
                    self.pop_to(1)
                    self.pop_to(0)
                    c += b"\x85\xd2"  # test edx, edx
                    cc = CC_NE
                c += b"\x48\x0f" + bytes((0x40 | (cc ^ 1),)) + b"\xc1"  # cmov!cc rax, rcx
                self.push(R)
            elif op == O_GLOBAL_GET:
                self.push(R)
                c += b"\x49\x8b" + modrm_r12(0, 8 * (CTX_GLOBALS + imm))
            elif op == O_GLOBAL_SET:
                self.pop_to(0)
                c += b"\x49\x89" + modrm_r12(0, 8 * (CTX_GLOBALS + imm))
            elif op == O_I32_EQZ or op == O_I64_EQZ:
                w = op == O_I64_EQZ
                self.pop_to(0, w)
                c += b"\x48\x85\xc0" if w else b"\x85\xc0"
                self.push(F, CC_E)
            elif op == O_I32_MUL or op == O_I64_MUL:
                w = op == O_I64_MUL
                rex = b"\x48" if w else b""
                kind, v = st[-1]
                if kind == C and -(1 << 31) <= v < (1 << 31):
                    st.pop()
                    self.pop_to(0, w)
                    c += rex + b"\x69\xc0" + _pk(v)  # imul eax, eax, imm32
                else:
                    self.pop_to(1, w)
                    self.pop_to(0, w)
                    c += rex + b"\x0f\xaf\xc1"
                self.push(R)
            elif op in SHIFT:
                w = op in I64_OPS
                rex = b"\x48" if w else b""
                kind, v = st[-1]
                if kind == C:
                    st.pop()
                    self.pop_to(0, w)
                    c += rex + bytes((0xC1, 0xC0 | SHIFT[op] << 3, v & (63 if w else 31)))
                else:
                    self.pop_to(1, w)
                    self.pop_to(0, w)
                    c += rex + bytes((0xD3, 0xC0 | SHIFT[op] << 3))
                self.push(R)
            elif op in (O_I32_DIV_S, O_I32_DIV_U, O_I32_REM_S, O_I32_REM_U,
                        O_I64_DIV_S, O_I64_DIV_U, O_I64_REM_S, O_I64_REM_U):
                self._divrem(op)
            elif op in (O_I32_CLZ, O_I32_CTZ, O_I32_POPCNT, O_I64_CLZ, O_I64_CTZ,
                        O_I64_POPCNT):
                w = op in I64_OPS
                self.pop_to(0, w)
                b = {O_I32_CLZ: 0xBD, O_I32_CTZ: 0xBC, O_I32_POPCNT: 0xB8, O_I64_CLZ: 0xBD,
                     O_I64_CTZ: 0xBC, O_I64_POPCNT: 0xB8}[op]
                c += b"\xf3" + (b"\x48" if w else b"") + bytes((0x0F, b, 0xC0))
                self.push(R)
            elif op == O_I32_WRAP_I64:
                self.pop_to(0, False)
                self.push(R)
            elif op == O_I64_EXTEND_I32_U:
                self.pop_to(0, False)  # a 32-bit load zero-extends
                self.push(R)
            elif op == O_I64_EXTEND_I32_S or op == O_I64_EXTEND32_S:
                self.pop_to(0)
                c += b"\x48\x63\xc0"  # movsxd rax, eax
                self.push(R)
            elif op in (O_I32_EXTEND8_S, O_I32_EXTEND16_S, O_I64_EXTEND8_S, O_I64_EXTEND16_S):
                w = op in I64_OPS
                self.pop_to(0)
                b = 0xBE if op in (O_I32_EXTEND8_S, O_I64_EXTEND8_S) else 0xBF
                c += (b"\x48" if w else b"") + bytes((0x0F, b, 0xC0))
                self.push(R)
            elif op == O_MEMORY_SIZE:
                self.push(R)
                c += b"\x4c\x89\xf0\x48\xc1\xe8\x10"  # mov rax, r14; shr rax, 16
            elif op == O_NOP:
                pass
            else:
                raise Unsupported(op)
            ins = nxt if nxt is not None else next(it, None)

    def _dead(self, it):
        """After br/return/unreachable: skip to the closing else/end, which the main loop
        handles next (``self.dead``: nothing falls through to it)."""
        self.dead = True
        return self._skip_dead(it)

    def _else(self, lab: Label):
        self._patch(lab.else_fix, len(self.code))
        lab.else_fix = None
        del self.st[lab.height:]
        self.st.extend([(S, None)] * lab.nparams)
        lab.kind = "else"

    def _end(self, lab: Label, dead: bool):
        c = self.code
        if lab.kind == "func":
            if not dead:
                self._return()  # the result goes to rax from wherever it is
            return
        if not dead:
            self.flush()
        if lab.kind == "if" and lab.else_fix is not None:
            # no else: the false edge carries the params as results (nparams == nresults)
            self._patch(lab.else_fix, len(c))
        for pos in lab.fixups:
            self._patch(pos, len(c))
        del self.st[lab.height:]
        self.st.extend([(S, None)] * lab.nresults)
        if len(self.st) > self.maxh:
            self.maxh = len(self.st)

    # -- memory ----------------------------------------------------------------------------
    def _addr(self, memarg, size: int):
        """Pop the address into rax (zero-extended) and check ``addr + offset + size <=
        memory size``."""
        align, offset, mem = memarg
        if mem != 0 or offset + size >= (1 << 31):
            raise Unsupported("memarg")
        self.pop_to(0, False)
        if not self.bounds_checks:
            return
        c = self.code
        # lea rdx, [rax + offset + size]; cmp rdx, r14; ja trap (rcx may hold a stored value)
        c += b"\x48\x8d\x90" + _pk(offset + size)
        c += b"\x4c\x39\xf2"
        self._jcc_trap(CC_A, T_OOB)

    @staticmethod
    def _mem_modrm(reg: int, offset: int) -> bytes:
        # [r13 + rax + disp32]: mod=10 rm=100 (SIB), SIB: scale 0, index rax, base r13 (101)
        return bytes((0x84 | reg << 3, 0x05)) + _pk(offset)

    # -- division ----------------------------------------------------------------------------
    def _divrem(self, op):
        w = op in I64_OPS
        rex = b"\x48" if w else b""
        c = self.code
        self.pop_to(1, w)
        self.pop_to(0, w)
        c += rex + b"\x85\xc9"  # test ecx, ecx
        self._jcc_trap(CC_E, T_DIV0)
        name = Op(op).name
        if name.endswith("_U"):
            c += b"\x31\xd2" + rex + b"\xf7\xf1"  # xor edx,edx; div ecx
        elif "DIV" in name:
            # INT_MIN / -1 overflows
            c += rex + b"\x83\xf9\xff"  # cmp ecx, -1
            skip = self._jcc_fix(CC_NE)
            if w:
                c += b"\x48\xba" + _pq(-(1 << 63))  # mov rdx, INT64_MIN
                c += b"\x48\x39\xd0"  # cmp rax, rdx
            else:
                c += b"\x3d" + _pk(-(1 << 31))
            self._jcc_trap(CC_E, T_OVF)
            self._patch(skip, len(c))
            c += rex + b"\x99" + rex + b"\xf7\xf9"  # cdq/cqo; idiv ecx
        else:  # rem_s: x % -1 == 0 (idiv would fault on INT_MIN)
            c += rex + b"\x83\xf9\xff"
            neg1 = self._jcc_fix(CC_E)
            c += rex + b"\x99" + rex + b"\xf7\xf9"
            done = self._jmp_fix()
            self._patch(neg1, len(c))
            c += b"\x31\xd2"
            self._patch(done, len(c))
        if "REM" in name:
            c += b"\x48\x89\xd0"  # mov rax, rdx
        self.push(R)

    # -- calls -------------------------------------------------------------------------------
    def _call(self, fi: int):
        if fi < self.nimp:
            if not self.stub_unsupported:
                raise Unsupported("call of an import")
            return self._stub_call(self.ftypes[fi], 0)
        ft = self.ftypes[fi]
        if len(ft.results) > 1:
            raise Unsupported("multi-value call")
        n = len(ft.params)
        self.flush()
        c = self.code
        sp = len(self.st)
        first = self.slot(sp - n) if n else self.slot(sp)
        c += b"\x48\x8d" + modrm_rbp(6, first)  # lea rsi, [rbp + first]
        c += b"\xe8\0\0\0\0"
        self.call_fixups.append((len(c) - 4, fi))
        del self.st[sp - n:]
        if ft.results:
            self.push(R)


def _stub(self, op, imm, it):
    """Placeholder code for an instruction outside the subset (see ``stub_unsupported``)."""
    name = Op(op).name
    c = self.code
    if name == "BR_TABLE":
        self.pop_to(0, False)
        self.flush()
        labels, default = imm
        c += b"\x3d" + _pk(len(labels)) + b"\x0f\x83\0\0\0\0\x48\x8d\x0d\0\0\0\0\xff\x24\xc1"
        for depth in set(labels) | {default}:
            self._branch(self.labels[-1 - depth])
        return self._dead(it)
    if name == "CALL_INDIRECT":
        self.pop_to(0, False)
        return self._stub_call(self.m.types[imm[0]], 1)
    if name == "MEMORY_GROW":
        self.flush()
        c += b"\x8b\x7d\xf8\x41\xff\x54\x24\x18\x4c\x8b\x74\x24\x18"
        self.st.pop()
        self.push(R)
        return None
    if name in ("F32_CONST", "F64_CONST"):  # raw bits, as a signed 64-bit constant
        self.push(C, imm - (1 << 64) if imm >= 1 << 63 else imm)
        return None
    if name in ("F32_LOAD", "F64_LOAD"):
        self._addr(imm, 8)
        c += b"\x49\x8b\x84\x05" + _pk(imm[1])
        self.push(R)
        return None
    if name in ("F32_STORE", "F64_STORE"):
        self.pop_to(1)
        self._addr(imm, 8)
        c += b"\x49\x89\x8c\x05" + _pk(imm[1])
        return None
    if name.startswith(("F32_", "F64_")) and name[4:] in (
            "ADD", "SUB", "MUL", "DIV", "MIN", "MAX", "COPYSIGN", "EQ", "NE", "LT", "GT", "LE", "GE"):
        self.pop_to(1)
        self.pop_to(0)
        # movq xmm0, rax; movq xmm1, rcx; op xmm0, xmm1; movq rax, xmm0 (+ a NaN check)
        c += b"\x66\x48\x0f\x6e\xc0\x66\x48\x0f\x6e\xc9\xf2\x0f\x58\xc1\x66\x48\x0f\x7e\xc0"
        c += b"\x66\x0f\x2e\xc0\x0f\x8a\0\0\0\0"
        self.push(R)
        return None
    if name.startswith(("F32_", "F64_", "I32_TRUNC", "I64_TRUNC", "I32_REINTERPRET",
                        "I64_REINTERPRET")):
        self.pop_to(0)
        c += b"\x66\x48\x0f\x6e\xc0\xf2\x0f\x51\xc0\x66\x48\x0f\x7e\xc0"
        self.push(R)
        return None
    raise Unsupported(op)


def _stub_call(self, ft, extra: int):
    """Placeholder for an indirect or host call: index/args flushed, ``call [mem]``."""
    n = len(ft.params)
    self.flush()
    c = self.code
    sp = len(self.st)
    first = self.slot(sp - n) if n else self.slot(sp)
    c += b"\x48\x8d" + modrm_rbp(6, first)
    c += b"\x41\xff\x54\x24\x28\x49\x83\x3c\x24\x00\x0f\x85\0\0\0\0"
    del self.st[sp - n:]
    if ft.results:
        self.push(R)
    return None


Compiler._stub = _stub
Compiler._stub_call = _stub_call


class Code:
    """The compiled buffer in executable memory, and a caller."""

    def __init__(self, comp: Compiler, nglobals: int):
        buf = bytes(comp.code)
        self.size = len(buf)
        self.mm = mmap.mmap(-1, (len(buf) + 4095) & ~4095,
                            prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self.mm.write(buf)
        self.base = ctypes.addressof(ctypes.c_char.from_buffer(self.mm))
        self.comp = comp
        self.ctx = (ctypes.c_uint64 * (CTX_GLOBALS + nglobals))()
        self.args = (ctypes.c_uint64 * 64)()
        self.entry = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_void_p)(self.base + comp.entry)
        # the native stack limit: the main thread's stack top less 4 MB (of the usual 8)
        with open("/proc/self/maps") as f:
            top = next(int(line.split()[0].split("-")[1], 16) for line in f if "[stack]" in line)
        self.ctx[CTX_LIMIT] = top - (4 << 20)

    def set_memory(self, base: int, size: int):
        self.ctx[CTX_MEMBASE] = base
        self.ctx[CTX_MEMSIZE] = size

    def call(self, fi: int, *args) -> int:
        """Call defined function ``fi`` with integer arguments; returns the raw 64-bit
        result (or raises RuntimeError with the trap name)."""
        a = self.args
        # argument i at args[-i] relative to rsi: lay them out downwards from the top
        top = len(args) - 1
        for i, v in enumerate(args):
            a[63 - i] = v & 0xFFFFFFFFFFFFFFFF
        self.ctx[CTX_TRAP] = 0
        r = self.entry(ctypes.addressof(self.ctx), ctypes.addressof(a) + 8 * 63,
                       self.base + self.comp.offsets[fi])
        del top
        if self.ctx[CTX_TRAP]:
            raise RuntimeError(TRAP_NAMES[self.ctx[CTX_TRAP]])
        return r
