"""Run-time closures (``wasm2py.dylink.closures``, WASIX's closure_allocate / closure_prepare /
closure_free): a C program that allocates, prepares, calls, re-prepares and frees closures,
in every tier; the memory layout of arguments and results; errors.

Expected values are worked out by hand from ``tests/c/dylink/closures.c``.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys

import pytest

import wasm2py
from tests.c.build import ToolchainMissing, build_dylink
from tests.test_build import printed, wasm_tools
from wasm2py.config import TIERS
from wasm2py.dylink import DynamicLinker
from wasm2py.dylink.closures import CHUNK, Closures, trampoline_module
from wasm2py.types import FuncType, ValType
from wasm2py.wasi import Errno, Wasi, WasiConfig

I32, I64, F32, F64, V128 = ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128

# add_backing: a + b + bias; mul_backing: x * bias + y; e1.bias = 100, e2.bias = 3,
# e3.bias = -5; type code 9 is not a value type (EINVAL = 28); the freed slot comes back
CLOSURES_OUTPUT = """\
allocate a 0
allocate b 0
distinct 1
prepare a 0
a(1, 2) 103
a(10, 20) 130
prepare b 0
b(7, 8) 10
re-prepare a 0
a(2.5, 0.25) 7.750
calls e1 2
calls e2 1
calls e3 1
bad type 28
b(1, 1) still -3
free a 0
allocate c 0
c reuses a 1
free b 0
free c 0
"""


@pytest.fixture(scope="module")
def built():
    try:
        return build_dylink()
    except ToolchainMissing as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(params=TIERS)
def tier(request) -> str:
    return request.param


def setup(tier: str, out=None):
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier=tier)))
    wasi = Wasi(WasiConfig(stdout=out if out is not None else io.BytesIO()))
    dl = DynamicLinker(store, imports=wasi.imports(store))
    return dl, Closures(dl).install()


def test_guest_allocates_prepares_calls_reprepares_and_frees(built, tier):
    out = io.BytesIO()
    dl, closures = setup(tier, out)
    main = dl.load(built / "closures.wasm")
    main.exports._start()
    assert out.getvalue().decode() == CLOSURES_OUTPUT
    # everything was freed; the trampolines were unloaded with their slots
    assert closures.allocated == {}
    assert [lib.name for lib in dl.libraries] == ["closures.wasm"]
    # (tier="auto": the functions it called run in the baseline tier, the others were never
    # compiled)
    tiers = set(main.instance.function_tiers().values())
    assert tiers == {"llvm": {"llvm"}, "python": {"python"}, "auto": {"baseline", "python"}}[tier]
    assert main.instance.tier == {"llvm": "llvm", "python": "python", "auto": "mixed"}[tier]


def test_cli_runs_the_closures_program(built):
    proc = subprocess.run([sys.executable, "-m", "wasm2py.cli", "run", "--tier", "llvm",
                           str(built / "closures.wasm")], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == CLOSURES_OUTPUT


def test_values_and_results_are_packed_in_memory(tier):
    """A host backing function sees the arguments packed in order (v128 16 bytes, f64 8, i32
    4) below the stack pointer and writes results the same way (i64, f32, v128)."""
    dl, closures = setup(tier)
    seen = {}

    def backing(values: int, results: int, env: int) -> None:
        mem = dl.memory
        seen.update(values=values, results=results, env=env,
                    sp=dl.stack_pointer.value, raw=mem.read(values, values + 28))  # fmt: skip
        mem.write(struct.pack("<qf", -5, 0.5) + (7 << 64 | 9).to_bytes(16, "little"), results)

    func = wasm2py.Func(dl.store, FuncType([I32, I32, I32], []), backing)
    slot = closures.allocate()
    sp = dl.stack_pointer.value
    tramp = closures.prepare(dl.function_pointer(func), slot, [V128, F64, I32], [I64, F32, V128],
                             env=4242)  # fmt: skip
    assert dl.table.get(slot) is tramp
    assert tramp.type == FuncType([V128, F64, I32], [I64, F32, V128])
    assert tramp((3 << 64) | 1, 2.25, -1) == (-5, 0.5, 7 << 64 | 9)
    assert seen["env"] == 4242
    assert seen["raw"] == ((3 << 64) | 1).to_bytes(16, "little") + struct.pack("<di", 2.25, -1)
    # results area (the 28 result bytes rounded up to 32) right below the stack pointer, the
    # values area (28 -> 32 bytes) below it; the stack pointer is back afterwards
    assert seen["results"] == sp - 32 and seen["values"] == sp - 64 == seen["sp"]
    assert dl.stack_pointer.value == sp


def test_slots_are_reused_and_freed_slots_are_null(tier):
    dl, closures = setup(tier)
    a, b, c = closures.allocate(), closures.allocate(), closures.allocate()
    assert (b, c) == (a + 1, a + 2)  # the lowest of a fresh chunk first
    assert dl.table.size >= a + CHUNK
    closures.free(b)
    closures.free(a)
    assert closures.allocate() == a and closures.allocate() == b  # most recently freed first
    assert closures.free(a + CHUNK * 10) is False
    func = wasm2py.Func(dl.store, FuncType([I32, I32, I32], []), lambda v, r, e: None)
    closures.prepare(dl.function_pointer(func), c, [], [], 0)
    assert dl.table.get(c) is not None
    closures.free(c)
    assert dl.table.get(c) is None


def test_one_module_per_signature(tier):
    dl, closures = setup(tier)
    func = wasm2py.Func(dl.store, FuncType([I32, I32, I32], []), lambda v, r, e: None)
    backing = dl.function_pointer(func)
    s1, s2, s3 = closures.allocate(), closures.allocate(), closures.allocate()
    closures.prepare(backing, s1, [I32], [I32], 1)
    closures.prepare(backing, s2, [I32], [I32], 2)
    closures.prepare(backing, s3, [F64], [], 3)
    libs = {slot: closures.allocated[slot] for slot in (s1, s2, s3)}
    # the same bytes: translated (and, for the LLVM tier, compiled) once, instantiated twice
    assert libs[s1].module._module is libs[s2].module._module
    assert libs[s1].module._module is not libs[s3].module._module
    assert libs[s1].instance is not libs[s2].instance


def test_trampoline_module_is_valid_and_dynamically_linkable():
    wasm = trampoline_module([I32, I64], [F64])
    wasm_tools("validate", "-", data=wasm)
    text = printed(wasm)
    assert "(@dylink.0\n    (mem-info)\n  )" in text
    for line in ('(import "env" "memory" (memory (;0;) 0))',
                 '(import "env" "__indirect_function_table" (table (;0;) 0 funcref))',
                 '(import "env" "__stack_pointer" (global (;0;) (mut i32)))',
                 '(import "closure" "backing" (global (;1;) i32))',
                 '(import "closure" "env" (global (;2;) i32))',
                 '(export "trampoline" (func $trampoline))',
                 "call_indirect (type 1)", "i64.store offset=4 align=1",
                 "f64.load align=1"):  # fmt: skip
        assert line in text, line


def _guest(dl):
    """A tiny PIE main to call the host functions from wasm."""
    from tests.wat import wat

    return dl.load(wat("""(module (@dylink.0 (mem-info (memory 16 2)))
      (import "env" "memory" (memory 1))
      (import "env" "__memory_base" (global $mb i32))
      (import "wasix_32v1" "closure_allocate" (func $alloc (param i32) (result i32)))
      (import "wasix_32v1" "closure_prepare" (func $prep (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "wasix_32v1" "closure_free" (func $free (param i32) (result i32)))
      (func (export "alloc") (param i32) (result i32) local.get 0 call $alloc)
      (func (export "prep") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 local.get 6
        call $prep)
      (func (export "free") (param i32) (result i32) local.get 0 call $free)
      (func (export "base") (result i32) global.get $mb))"""))


def test_host_function_errors(tier):
    dl, closures = setup(tier)
    g = _guest(dl).exports
    size = dl.memory.data_len
    assert g.alloc(size - 2) == Errno.FAULT  # the slot would not fit
    base = g.base()
    assert g.alloc(base) == Errno.SUCCESS
    slot = int.from_bytes(dl.memory.read(base, base + 4), "little")
    assert slot in closures.allocated
    dl.memory.write(bytes([0, 4, 3, 2, 1]), base + 4)  # valid type codes
    assert g.prep(0, slot, size - 1, 5, base + 4, 0, 0) == Errno.FAULT  # types out of bounds
    assert g.prep(0, slot, base + 4, 5, size, 1, 0) == Errno.FAULT
    dl.memory.write(bytes([5]), base + 8)
    assert g.prep(0, slot, base + 4, 5, base + 4, 0, 0) == Errno.INVAL  # code 5
    assert g.prep(0, slot + 1, base + 4, 4, base + 4, 0, 0) == Errno.INVAL  # not allocated
    assert g.prep(0, slot, base + 4, 4, base + 4, 1, 0) == Errno.SUCCESS
    assert dl.table.get(slot).type == FuncType([I32, V128, F64, F32], [I32])
    assert g.free(slot) == Errno.SUCCESS and g.free(slot) == Errno.SUCCESS
    assert dl.table.get(slot) is None
