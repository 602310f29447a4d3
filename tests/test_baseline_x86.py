"""The baseline tier's encoder and executable memory (``wasm2py.baseline.x86``, ``.code``).

Encodings are checked against GNU objdump's disassembly (an independent decoder), and placed
code is run through ctypes.
"""

from __future__ import annotations

import ctypes
import platform
import shutil
import subprocess

import pytest

from wasm2py.baseline import x86 as X
from wasm2py.baseline.code import CodeMemory

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="x86-64 machine code")  # fmt: skip


def disassemble(code: bytes, tmp_path) -> list[str]:
    """objdump's Intel-syntax text of each instruction of ``code``."""
    p = tmp_path / "code.bin"
    p.write_bytes(code)
    out = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", "-Mintel", str(p)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    lines = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].strip().endswith(":"):
            lines.append(" ".join(parts[2].split()))
    return lines


CASES = [
    (X.mov_load(X.RAX, X.R12, 8), "mov rax,QWORD PTR [r12+0x8]"),
    (X.mov_load(X.R13, X.RSP, 0), "mov r13,QWORD PTR [rsp]"),
    (X.mov_load(X.RCX, X.RBP, 0), "mov rcx,QWORD PTR [rbp+0x0]"),
    (X.mov_load(X.RCX, X.R13, -1000), "mov rcx,QWORD PTR [r13-0x3e8]"),
    (X.mov_load(X.R9, X.RBP, 200, False), "mov r9d,DWORD PTR [rbp+0xc8]"),
    (X.mov_store(X.RBP, -16, X.R9, False), "mov DWORD PTR [rbp-0x10],r9d"),
    (X.mov_rr(X.R15, X.RDI), "mov r15,rdi"),
    (X.mov_rr(X.RAX, X.R8, False), "mov eax,r8d"),
    (X.mov_imm(X.R10, -1), "mov r10,0xffffffffffffffff"),
    (X.mov_imm(X.RAX, 1 << 40), "movabs rax,0x10000000000"),
    (X.mov_imm(X.R8, 0xFFFFFFFF, False), "mov r8d,0xffffffff"),
    (X.mov_imm(X.RCX, 0), "mov ecx,0x0"),
    (X.rmx(b"\x8b", X.RAX, X.R13, X.RAX, 12), "mov eax,DWORD PTR [r13+rax*1+0xc]"),
    (X.rmx(b"\x88", X.RSI, X.R13, X.R8, 0, byte=True), "mov BYTE PTR [r13+r8*1+0x0],sil"),
    (X.rmx(b"\x8b", X.R9, X.RBX, X.R12, 0x1000, w=True), "mov r9,QWORD PTR [rbx+r12*1+0x1000]"),
    (X.alu_ri(X.CMP, X.R11, 1000), "cmp r11,0x3e8"),
    (X.alu_ri(X.ADD, X.RAX, -1, False), "add eax,0xffffffff"),
    (X.alu_rr(X.SUB, X.RBX, X.R14), "sub rbx,r14"),
    (X.alu_rm(X.XOR, X.RDX, X.RBP, -24, False), "xor edx,DWORD PTR [rbp-0x18]"),
    (X.alu_mi(X.CMP, X.RBX, 0, 0), "cmp QWORD PTR [rbx],0x0"),
    (X.test_rr(X.RCX, X.RCX, False), "test ecx,ecx"),
    (X.setcc(X.CC_L, X.RSI), "setl sil"),
    (X.movzx8(X.RAX, X.RDI), "movzx eax,dil"),
    (X.movsxd(X.RAX, X.RCX), "movsxd rax,ecx"),
    (X.movsx(X.RAX, X.RSI, 8, True), "movsx rax,sil"),
    (X.movsx(X.RAX, X.RCX, 16, False), "movsx eax,cx"),
    (X.cmov(X.CC_NE, X.RAX, X.R9), "cmovne rax,r9"),
    (X.imul_rr(X.RAX, X.R10, False), "imul eax,r10d"),
    (X.imul_rri(X.RAX, X.RAX, 1000), "imul rax,rax,0x3e8"),
    (X.shift_ri(X.SHL, X.RAX, 3, False), "shl eax,0x3"),
    (X.shift_cl(X.SAR, X.R15), "sar r15,cl"),
    (X.shift_cl(X.ROR, X.RAX, False), "ror eax,cl"),
    (X.div(X.RCX), "div rcx"),
    (X.idiv(X.R9, False), "idiv r9d"),
    (X.cdq(), "cqo"),
    (X.cdq(False), "cdq"),
    (X.neg(X.RDX), "neg rdx"),
    (X.bitcount(0xBD, X.R8, X.RAX, False), "lzcnt r8d,eax"),
    (X.bitcount(0xBC, X.RAX, X.RAX), "tzcnt rax,rax"),
    (X.bitcount(0xB8, X.RAX, X.R11), "popcnt rax,r11"),
    (X.movq_xr(X.XMM9, X.R10), "movq xmm9,r10"),
    (X.movq_rx(X.RAX, X.XMM0), "movq rax,xmm0"),
    (X.movd_xr(X.XMM2, X.RCX), "movd xmm2,ecx"),
    (X.movd_rx(X.RAX, X.XMM1), "movd eax,xmm1"),
    (X.movsd_load(X.XMM12, X.R12, 16), "movsd xmm12,QWORD PTR [r12+0x10]"),
    (X.movsd_store(X.RBP, -8, X.XMM7), "movsd QWORD PTR [rbp-0x8],xmm7"),
    (X.movss_load(X.XMM0, X.R13, 0), "movss xmm0,DWORD PTR [r13+0x0]"),
    (X.movss_store(X.RSP, 4, X.XMM3), "movss DWORD PTR [rsp+0x4],xmm3"),
    (X.movaps_rr(X.XMM1, X.XMM8), "movaps xmm1,xmm8"),
    (X.call_m(X.RAX, 8), "call QWORD PTR [rax+0x8]"),
    (X.call_m(X.R11, 16), "call QWORD PTR [r11+0x10]"),
    (X.call_r(X.R10), "call r10"),
    (X.jmp_r(X.RCX), "jmp rcx"),
    (X.lea(X.RDX, X.RAX, 0x7FFFFFFF), "lea rdx,[rax+0x7fffffff]"),
    (X.ret_n(16), "ret 0x10"),
    (X.ret_n(0), "ret"),
    (X.push(X.R12), "push r12"),
    (X.pop(X.RBX), "pop rbx"),
    (X.mov_store_imm(X.R12, 24, -5), "mov QWORD PTR [r12+0x18],0xfffffffffffffffb"),
    (X.mov_store_imm(X.RBP, -8, 0xFFFFFFFF, False), "mov DWORD PTR [rbp-0x8],0xffffffff"),
]


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs GNU objdump")
def test_encodings_match_objdump(tmp_path):
    code = b"".join(c for c, _ in CASES)
    got = disassemble(code, tmp_path)
    assert got == [text for _, text in CASES]


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs GNU objdump")
def test_jumps_and_labels(tmp_path):
    a = X.Asm()
    top, out = X.Label(), X.Label()
    a.bind(top)
    a.jcc(X.CC_E, out)  # forward: fixed up at bind
    a.jmp(top)  # backward: known at once
    a.bind(out)
    a.lea_rip(X.RAX, top)
    a += X.RET
    assert disassemble(bytes(a.code), tmp_path) == [
        "je 0xb", "jmp 0x0", "lea rax,[rip+0xffffffffffffffee] # 0x0", "ret"]


def test_placed_code_runs():
    mem = CodeMemory()
    add = mem.place(X.mov_rr(X.RAX, X.RDI) + X.alu_rr(X.ADD, X.RAX, X.RSI) + X.RET)
    sub = mem.place(X.mov_rr(X.RAX, X.RDI) + X.alu_rr(X.SUB, X.RAX, X.RSI) + X.RET)
    assert add % 16 == 0 and sub % 16 == 0 and sub != add
    fty = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
    assert fty(add)(40, 2) == 42
    assert fty(sub)(40, 2) == 38
    # a placement bigger than a chunk gets one of its own
    big = mem.place(b"\x90" * (3 << 20) + X.mov_imm(X.RAX, 7) + X.RET)
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(big)() == 7
    mem.free()


def test_code_is_never_writable_and_executable():
    mem = CodeMemory()
    addr = mem.place(X.RET)
    with open("/proc/self/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= addr < hi:
                perms = line.split()[1]
                break
    assert perms[2] == "x" and perms[1] == "-"
    mem.free()


def test_fallback_pages_when_memfd_cannot_run(monkeypatch):
    # (where a memfd cannot be mapped executable: fresh pages per placement, made
    # read-execute before anything runs them)
    from wasm2py.baseline import code

    monkeypatch.setattr(code, "_dual", False)
    mem = CodeMemory()
    a = mem.place(X.mov_imm(X.RAX, 5) + X.RET)
    b = mem.place(X.mov_imm(X.RAX, 6) + X.RET)
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(a)() == 5
    assert ctypes.CFUNCTYPE(ctypes.c_int64)(b)() == 6
    assert not mem._chunks and len(mem._pages) == 2
    with open("/proc/self/maps") as f:
        perms = [line.split()[1] for line in f
                 if int(line.split("-")[0], 16) <= a < int(line.split()[0].split("-")[1], 16)]
    assert perms == ["r-xp"]
    mem.free()
