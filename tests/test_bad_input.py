"""Bad input through the whole pipeline: truncated, bit-flipped and random binaries given to
``wasm2py.Module`` raise only DecodeError or ValidationError (or ParseError: bytes that start with
``(`` are read as text); whatever does load instantiates and
runs without anything but wasm2py's own errors escaping.

A mutated module can legitimately loop forever, so the tests that *run* mutated code use a fixed
(derandomized) set of examples; the randomized ones stop after instantiation.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wasm2py

from .wat import wat

ROOT = Path(__file__).resolve().parent.parent

SEEDS = [
    (ROOT / "examples" / "demo.wasm").read_bytes(),
    wat("""
    (module
      (type $t (func (param i32) (result i32)))
      (import "env" "f" (func $f (param i32) (result i32)))
      (table 4 funcref) (elem (i32.const 0) $g $h)
      (memory 1 2) (data (i32.const 8) "abcdefgh")
      (global $c (mut i64) (i64.const 5))
      (func $g (param i32) (result i32)
        (local i64 f32)
        block $b (result i32)
          i32.const 7 local.get 0 br_table $b $b 0
        end)
      (func $h (type $t)
        local.get 0 i32.const 3 i32.rem_u
        local.get 0 call_indirect (type $t)
        global.get $c i32.wrap_i64 i32.add
        i32.const 8 i32.load8_u i32.add
        f32.const 1.5 i32.trunc_f32_s i32.add)
      (func (export "run") (param i32) (result i32)
        (loop $l (result i32)
          local.get 0 i32.const 1 i32.sub local.tee 0
          br_if $l
          local.get 0 call $h))
    )"""),
]


def _mutate(data: bytes, kind: int, pos: int, value: int) -> bytes:
    pos %= len(data)
    if kind == 0:  # truncate
        return data[:pos]
    if kind == 1:  # flip one bit
        return data[:pos] + bytes([data[pos] ^ (1 << (value % 8))]) + data[pos + 1 :]
    if kind == 2:  # overwrite one byte
        return data[:pos] + bytes([value & 0xFF]) + data[pos + 1 :]
    if kind == 3:  # insert a byte
        return data[:pos] + bytes([value & 0xFF]) + data[pos:]
    return data[:pos] + data[pos + 1 :]  # delete a byte


def _exercise(data: bytes, call: bool = True) -> None:
    try:
        module = wasm2py.Module(data)
    except (wasm2py.DecodeError, wasm2py.ValidationError, wasm2py.ParseError):
        return
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(max_call_depth=200)))
    imports = {}
    for imp in module.imports:
        if isinstance(imp.type, wasm2py.FuncType):
            results = imp.type.results
            imports.setdefault(imp.module, {})[imp.name] = (
                lambda *a, _r=results: None if not _r else (0 if len(_r) == 1 else (0,) * len(_r))
            )
    try:
        instance = wasm2py.Instance(store, module, imports)
    except (wasm2py.LinkError, wasm2py.Trap):
        return
    if not call:
        return
    for _name, item in instance.exports.items():
        if isinstance(item, wasm2py.Func) and all(
            t in (wasm2py.ValType.I32, wasm2py.ValType.I64) for t in item.type.params
        ):
            try:
                item(*[3] * len(item.type.params))
            except wasm2py.Trap:
                pass


mutation = st.tuples(st.integers(0, 4), st.integers(0, 10**6), st.integers(0, 255))


def _apply(seed: bytes, mutations) -> bytes:
    data = seed
    for kind, pos, value in mutations:
        if data:
            data = _mutate(data, kind, pos, value)
    return data


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(st.sampled_from(SEEDS), st.lists(mutation, min_size=1, max_size=4))
def test_mutated_modules_run_or_fail_cleanly(seed, mutations):
    _exercise(_apply(seed, mutations))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.lists(mutation, min_size=1, max_size=4))
def test_mutated_modules_only_raise_wasm2py_errors(seed, mutations):
    _exercise(_apply(seed, mutations), call=False)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_header(tail):
    _exercise(b"\0asm\x01\0\0\0" + tail, call=False)


def test_seeds_are_valid():
    for seed in SEEDS:
        wasm2py.Module(seed)
