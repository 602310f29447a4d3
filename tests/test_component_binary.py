"""Decoding of component binaries (Binary.md): preamble, sections, definitions, and the byte
offsets of errors (computed by hand from the bytes written here)."""

from __future__ import annotations

import pytest

from wasm2py import DecodeError
from wasm2py.component import ast, decode_component, is_component
from wasm2py.component.ast import Sort
from wasm2py.component.types import Prim

PRE = b"\x00asm\x0d\x00\x01\x00"
CORE_EMPTY = b"\x00asm\x01\x00\x00\x00"


def section(sid: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([sid, len(body)]) + body


def decode_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode_component(data)
    assert isinstance(info.value.offset, int)
    return info.value


def test_empty_component():
    c = decode_component(PRE)
    assert c.definitions == []
    assert is_component(PRE)
    assert not is_component(CORE_EMPTY)


@pytest.mark.parametrize(("data", "offset"), [
    (b"", 0), (b"\x00as", 3), (b"\x00asm\x0d", 5),
    (b"\x00asm\x0c\x00\x01\x00", 4),  # pre-standard version 0x0c
    (b"\x00asm\x0d\x00\x02\x00", 4),  # layer 2
    (b"\x01asm\x0d\x00\x01\x00", 0),  # magic
])  # fmt: skip
def test_bad_preamble(data, offset):
    assert decode_error(data).offset == offset


def test_unknown_section_id_points_at_the_id():
    err = decode_error(PRE + b"\x0d\x00")
    assert err.offset == 8
    assert "section id" in err.reason


def test_section_running_past_the_end():
    # type section claiming 3 bytes, only one present
    err = decode_error(PRE + b"\x07\x03\x00")
    assert "unexpected end" in err.reason


def test_invalid_type_opcode_offset():
    # one type whose leading byte 0x62 is unallocated: at 8 (preamble) + 2 (id, size) + 1 (count)
    err = decode_error(PRE + section(7, b"\x01\x62"))
    assert err.offset == 11
    assert "0x62" in err.reason


def test_nested_core_module_kept_as_bytes():
    c = decode_component(PRE + section(1, CORE_EMPTY))
    [d] = c.definitions
    assert isinstance(d, ast.CoreModuleDef)
    assert d.data == CORE_EMPTY and d.offset == 10


def test_core_module_section_with_component_preamble_is_rejected():
    err = decode_error(PRE + section(1, PRE))
    assert err.offset == 14  # the version field of the nested preamble


def test_nested_component_offsets_are_absolute():
    inner = PRE + section(7, b"\x01\x62")
    err = decode_error(PRE + section(4, inner))
    # outer preamble 8 + section header 2 + inner preamble 8 + inner header 2 + count 1
    assert err.offset == 21


def test_types_and_canon_decode():
    # u32; (list 0); (func (param "x" 0) (result 0))
    types = section(7, b"\x03" + b"\x79" + b"\x70\x00" + b"\x40\x01\x01x\x00\x00\x00")
    # canon lift of core func 0 with no options as type 2; canon resource.drop 0
    canons = section(8, b"\x02" + b"\x00\x00\x00\x00\x02" + b"\x03\x00")
    c = decode_component(PRE + types + canons)
    d0, d1, d2, lift, drop = c.definitions
    assert d0.type == ast.PrimDesc(Prim.U32)
    assert d1.type == ast.ListDesc(0)
    assert d2.type == ast.FuncDesc((("x", 0),), 0, False)
    assert lift.canon.op == "lift" and lift.canon.func == 0 and lift.canon.type == 2
    assert drop.canon.op == "resource.drop" and drop.canon.type == 0


def test_import_export_names_and_attributes():
    # import "a" with implements "x:y/z": name kind 0x02, 1 attribute of kind 0 (implements)
    imp = section(10, b"\x01\x02\x01a\x01\x00\x05x:y/z\x05\x00")
    exp = section(11, b"\x01\x00\x01b\x05\x00\x00")
    c = decode_component(PRE + imp + exp)
    i, e = c.definitions
    assert i.name == ast.ExternName("a", implements="x:y/z")
    assert i.desc == ast.ExternDesc(Sort.INSTANCE, 0)
    assert e.name.name == "b" and e.sort is Sort.INSTANCE and e.desc is None


def test_duplicate_attribute_is_rejected():
    imp = section(10, b"\x01\x02\x01a\x02\x02\x01x\x02\x01y\x05\x00")
    assert "external-id" in decode_error(PRE + imp).reason


def test_alias_kinds():
    aliases = section(6, b"\x03" + b"\x01\x00\x00\x01f" + b"\x00\x00\x01\x00\x01g"
                      + b"\x03\x02\x01\x00")  # fmt: skip
    c = decode_component(PRE + aliases)
    a, b, o = (d.alias for d in c.definitions)
    assert (a.sort, a.target, a.instance, a.name) == (Sort.FUNC, "export", 0, "f")
    assert (b.sort, b.target, b.name) == (Sort.CORE_FUNC, "core export", "g")
    assert (o.sort, o.target, o.count, o.index) == (Sort.TYPE, "outer", 1, 0)


def test_outer_alias_of_a_func_is_malformed():
    err = decode_error(PRE + section(6, b"\x01\x01\x02\x00\x00"))
    assert "outer alias" in err.reason


def test_component_name_section():
    payload = b"\x0ecomponent-name" + b"\x00\x04\x03top" + b"\x01\x05\x01\x01\x00\x01f"
    c = decode_component(PRE + section(0, payload))
    assert c.name == "top"
    assert c.names[(Sort.FUNC, 0)] == "f"


def test_garbage_name_section_is_ignored():
    c = decode_component(PRE + section(0, b"\x0ecomponent-name\xff\xfe"))
    assert c.name is None
