"""``wasm2py.wasm2wat``: printed text parses back to the same module (checked over every 2.0
suite module by ``spectests/text_roundtrip.py``; here the pieces)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import wasm2py
from spectests.text_roundtrip import printer_roundtrip
from wasm2py.text.literals import decode_string, parse_float
from wasm2py.text.printer import float_literal, string

from .wat import wat

ROOT = Path(__file__).resolve().parent.parent


@given(st.integers(0, 2**32 - 1))
def test_f32_literals_are_exact(bits):
    assert parse_float(float_literal(bits, 32), 32) == bits


@given(st.integers(0, 2**64 - 1))
def test_f64_literals_are_exact(bits):
    assert parse_float(float_literal(bits, 64), 64) == bits


def test_special_floats():
    assert float_literal(0x80000000, 32) == "-0x0.0p+0"
    assert float_literal(0x7FC00000, 32) == "nan:0x400000"
    assert float_literal(0xFFF0000000000001, 64) == "-nan:0x1"
    assert float_literal(0x7F800000, 32) == "inf"
    assert struct.unpack("<f", struct.pack("<I", parse_float(float_literal(1, 32), 32)))[0] > 0


@given(st.binary(max_size=64))
def test_strings_round_trip(data):
    assert decode_string(string(data)) == data


def test_demo_round_trip():
    data = (ROOT / "examples" / "demo.wasm").read_bytes()
    assert printer_roundtrip(data) is None
    text = wasm2py.wasm2wat(data)
    assert "(func $fib (;2;) (type 2) (param $n i32) (result i32)" in text
    assert "call $fib" in text


def test_every_section_round_trips():
    src = """(module
      (type $t (func (param i32) (result i32)))
      (import "m" "f" (func $imp (type $t)))
      (import "m" "t" (table 1 funcref)) (import "m" "mem" (memory 1 2))
      (import "m" "g" (global (mut f64)))
      (table 2 externref) (global $x (mut i64) (i64.const -5))
      (func $f (export "f") (type $t) (local v128 f32)
        (block (result i32) (local.get 0) (br_table 0 0 (i32.const 1)))
        (drop (v128.const i32x4 1 2 3 0xffffffff)) (drop (f32.const -nan:0x1234))
        (memory.init 1 (i32.const 0) (i32.const 0) (i32.const 0)) (data.drop 0)
        (table.init 0 1 (i32.const 0) (i32.const 0) (i32.const 0))
        (select (result i32) (i32.const 1) (i32.const 2) (local.get 0)) drop
        (call_indirect 0 (type $t) (i32.const 0) (i32.const 0)))
      (elem (i32.const 0) $f $imp) (elem funcref (ref.null func)) (elem declare func $f)
      (elem (table 1) (i32.const 0) externref (ref.null extern))
      (data (i32.const 1) "\\00\\ff\\"\\\\x") (data "passive")
      (start $f2) (func $f2)
      (@custom "c" "payload"))"""
    assert printer_roundtrip(wat(src)) is None


def test_cli_inspect_wat(tmp_path):
    p = subprocess.run([sys.executable, "-m", "wasm2py.cli", "inspect", "--wat",
                        str(ROOT / "examples" / "demo.wasm")],
                       capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert p.returncode == 0
    assert wasm2py.wat2wasm(p.stdout) == wasm2py.wat2wasm(wasm2py.wasm2wat(
        (ROOT / "examples" / "demo.wasm").read_bytes()))
