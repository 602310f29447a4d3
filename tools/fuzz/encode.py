"""A minimal WebAssembly binary encoder for the fuzz generators: LEB128, vectors, sections and
the few module shapes they build (types, functions, one memory, exports, code)."""

from __future__ import annotations

import struct

from wasm2py.binary.leb128 import sleb, uleb

MAGIC = b"\0asm\1\0\0\0"


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    data = s.encode()
    return uleb(len(data)) + data


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def functype(params: list[int], results: list[int]) -> bytes:
    """A function type from value-type bytes (0x7F i32 ... 0x7B v128)."""
    return b"\x60" + vec([bytes([p]) for p in params]) + vec([bytes([r]) for r in results])


def i32_const(v: int) -> bytes:
    return b"\x41" + sleb(v - (1 << 32) if v >= 1 << 31 else v)


def i64_const(v: int) -> bytes:
    return b"\x42" + sleb(v - (1 << 64) if v >= 1 << 63 else v)


def f32_const(bits: int) -> bytes:
    return b"\x43" + struct.pack("<I", bits)


def f64_const(bits: int) -> bytes:
    return b"\x44" + struct.pack("<Q", bits)


def simd(sub: int) -> bytes:
    """The opcode bytes of SIMD instruction ``sub`` (``0xFD`` prefix)."""
    return b"\xfd" + uleb(sub)


def memarg(align: int, offset: int) -> bytes:
    return uleb(align) + uleb(offset)


def module(types: list[bytes], funcs: list[int], bodies: list[bytes],
           exports: list[tuple[str, int, int]], memory: tuple[int, int | None] | None = None,
           ) -> bytes:  # fmt: skip
    """A module: ``funcs`` are type indices, ``bodies`` encoded bodies (locals + code + end),
    ``exports`` ``(name, kind, index)``, ``memory`` ``(min, max)`` pages."""
    out = [MAGIC, section(1, vec(types)), section(3, vec([uleb(t) for t in funcs]))]
    if memory is not None:
        lo, hi = memory
        lim = b"\0" + uleb(lo) if hi is None else b"\1" + uleb(lo) + uleb(hi)
        out.append(section(5, vec([lim])))
    out.append(section(7, vec([name(n) + bytes([k]) + uleb(i) for n, k, i in exports])))
    out.append(section(10, vec([uleb(len(b)) + b for b in bodies])))
    return b"".join(out)


def body(local_types: list[int], code: bytes) -> bytes:
    """A function body: one local per entry of ``local_types``, then ``code`` and ``end``."""
    return vec([b"\1" + bytes([t]) for t in local_types]) + code + b"\x0b"
