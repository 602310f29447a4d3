"""wasm2py's text parser (``wasm2py.wat2wasm``) against a reference encoder: each module below,
one per syntax form of Wasm 2.0 and 3.0, must encode to the same bytes as ``wasm-tools parse``
(name section included). Errors must name the line and column of the offending token."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

import wasm2py
from wasm2py.text import ParseError, wat2wasm

from .wat import wat

CASES = {
    "empty": "(module)",
    "bare-fields": "(func) (memory 1)",
    "module-name": "(module $m (func $f))",
    "name-annotations": '(module (@name "mod") (func $f (@name "g") (param $p (@name "q") i32)))',
    "abbreviated-func": """(module
      (func $add (export "add") (export "plus") (param $a i32) (param $b i32) (result i32)
        local.get $a local.get $b i32.add))""",
    "func-type-use": """(module (type $t (func (param i32) (result i64)))
      (func (type $t) (i64.extend_i32_u (local.get 0)))
      (func (type $t) (param i32) (result i64) (i64.const 1))
      (func (param i32) (result i64) (i64.const 2)))""",
    "implicit-types-in-order": """(module
      (func (param i32) (block (param i64) drop))
      (func (param f32) (call_indirect (param f64) (i32.const 0)))
      (table 1 funcref)
      (type (func (param f32))))""",
    "inline-imports": """(module
      (import "m" "f" (func $f (param i32)))
      (func $g (import "m" "g") (result i32))
      (table $t (import "m" "t") 1 2 funcref)
      (memory $mem (import "m" "mem") 1)
      (global $gl (import "m" "gl") (mut i64))
      (tag $e (import "m" "e") (param i32))
      (func (call $f (call $g))))""",
    "inline-export-of-import": '(module (func (export "e") (import "m" "f") (param i32)))',
    "locals": """(module (func (param $x i32) (param f32 f64) (local $y i64) (local i32 i32 v128)
      (local.set $y (i64.const 1)) (local.tee 4 (i32.const 2)) drop))""",
    "flat-control": """(module (func $f (param i32) (result i32)
      block $out (result i32)
        loop $l
          local.get 0 br_if $l
          i32.const 1 br_if 1
        end
        i32.const 7
        local.get 0
        if $i (result i32) i32.const 1 else $i i32.const 2 end $i
        drop
      end $out))""",
    "folded-control": """(module (func (param i32) (result i32)
      (block $b (result i32)
        (if (result i32) (local.get 0)
          (then (br $b (i32.const 1)))
          (else (loop (result i32) (i32.const 2)))))))""",
    "multi-value-blocks": """(module (func (result i32 i64)
      (block (param) (result i32 i64) (i32.const 1) (i64.const 2))
      (if (param i32 i64) (result i32 i64) (i32.const 0) (then) (else))))""",
    "br-table-select": """(module (func (param i32) (result i32)
      (block $a (block $b (br_table $a $b 0 (local.get 0))))
      (select (i32.const 1) (i32.const 2) (local.get 0))
      (select (result i32) (i32.const 1) (i32.const 2) (local.get 0)) drop
      (select (result funcref) (ref.null func) (ref.null func) (i32.const 0)) drop))""",
    "calls": """(module (type $t (func (result i32))) (table $tab 2 funcref)
      (func $f (result i32) (call_indirect $tab (type $t) (i32.const 0)))
      (func (result i32) (call_indirect (result i32) (i32.const 1)))
      (func (result i32) (return_call $f))
      (func (result i32) (return_call_indirect (type $t) (i32.const 0)))
      (func (param (ref $t)) (result i32) (call_ref $t (local.get 0)))
      (func (param (ref null $t)) (result i32) (return_call_ref $t (local.get 0))))""",
    "memory-instructions": """(module (memory 1) (memory $m2 2 3)
      (func (param i32)
        (i32.store offset=4 align=2 (local.get 0) (i32.load8_u (local.get 0)))
        (i64.store32 $m2 offset=0x10 (i32.const 0) (i64.load 1 align=4 (i32.const 8)))
        (drop (memory.size)) (drop (memory.grow $m2 (i32.const 1)))
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
        (memory.copy $m2 0 (i32.const 0) (i32.const 0) (i32.const 0))
        (memory.init $m2 $d (i32.const 0) (i32.const 0) (i32.const 0))
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 0))
        (data.drop $d))
      (data $d "abc"))""",
    "memory64": """(module (memory i64 1 2) (memory $m i64 (data "hello"))
      (func (result i64) (i64.load offset=0x1_0000_0000 (i64.const 0)))
      (data (memory $m) (i64.const 1) "x"))""",
    "table-instructions": """(module (table $t 2 funcref) (table $u i64 0 10 externref)
      (elem $e func $f) (elem $e2 externref (ref.null extern))
      (func $f
        (drop (table.get $t (i32.const 0))) (table.set $t (i32.const 0) (ref.func $f))
        (drop (table.size $u)) (drop (table.grow $u (ref.null extern) (i64.const 1)))
        (table.fill $u (i64.const 0) (ref.null extern) (i64.const 0))
        (table.copy $t $t (i32.const 0) (i32.const 0) (i32.const 0))
        (table.copy (i32.const 0) (i32.const 0) (i32.const 0))
        (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 0))
        (table.init $e (i32.const 0) (i32.const 0) (i32.const 0))
        (elem.drop $e2)))""",
    "element-segments": """(module (table $t 10 funcref) (table $x 10 externref)
      (func $a) (func $b)
      (elem (i32.const 0) $a $b)
      (elem (i32.const 1) func $a)
      (elem (table $t) (offset (i32.const 2)) func $b)
      (elem $p funcref (ref.func $a) (item ref.func $b) (item (ref.null func)))
      (elem declare func $a)
      (elem (table $x) (i32.const 0) externref (ref.null extern))
      (elem 0 (i32.const 3) $a)
      (table $i funcref (elem $a $b))
      (table $j (ref null func) (elem (ref.func $a))))""",
    "data-segments": r"""(module (memory $m 1) (memory $n 1)
      (data (i32.const 0) "a\n\t\\\'\"\00\ff\u{1F600}" "more")
      (data (memory $n) (offset (i32.const 8)) "x")
      (data $passive "p" "q")
      (data (memory 1) (i32.const 0)))""",
    "globals": """(module (global $g (mut i32) (i32.const 1))
      (global (export "c") f64 (f64.const -0x1.8p3))
      (global $e i32 (i32.add (global.get 0) (i32.const 2)))
      (global $r (ref null func) (ref.null func))
      (func (global.set $g (global.get $e))))""",
    "start-and-exports": """(module (func $s) (start $s) (memory $m 1) (table $t 1 funcref)
      (global $g i32 (i32.const 0)) (tag $x)
      (export "s" (func $s)) (export "m" (memory $m)) (export "t" (table $t))
      (export "g" (global $g)) (export "x" (tag $x)))""",
    "numeric-literals": """(module (func
      (drop (i32.const 0xffff_ffff)) (drop (i32.const -2147483648)) (drop (i32.const +42))
      (drop (i64.const 18_446_744_073_709_551_615)) (drop (i64.const -0x8000000000000000))
      (drop (f32.const 0x1.fffffep127)) (drop (f32.const -0x1p-149)) (drop (f32.const 1e-46))
      (drop (f32.const nan)) (drop (f32.const -nan:0x200000)) (drop (f32.const inf))
      (drop (f32.const 3.4028235e38)) (drop (f32.const 1_000.000_1)) (drop (f32.const 0x1p+0))
      (drop (f64.const 0x1.fffffffffffffp1023)) (drop (f64.const -nan:0xfffffffffffff))
      (drop (f64.const 2.2250738585072011e-308)) (drop (f64.const 123.)) (drop (f64.const 1e1))
      (drop (f64.const 0x1.p0)) (drop (f64.const 1.E+5)) (drop (f32.const 0x1.000001p0)) (drop (f32.const 0x1.0000018p0))
      ))""",
    "simd": """(module (memory 1) (func (param v128) (result v128)
      (drop (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 -1))
      (drop (v128.const i16x8 0 -1 65535 0x7fff 0 0 0 0))
      (drop (v128.const i32x4 0xffffffff -1 0 1))
      (drop (v128.const i64x2 -1 0x7fff_ffff_ffff_ffff))
      (drop (v128.const f32x4 nan -inf 0x1p-149 1.5))
      (drop (v128.const f64x2 -nan:0x1 2.5))
      (drop (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 (local.get 0) (local.get 0)))
      (drop (i8x16.extract_lane_s 15 (local.get 0)))
      (drop (f64x2.replace_lane 1 (local.get 0) (f64.const 1)))
      (drop (v128.load8_lane 7 (i32.const 0) (local.get 0)))
      (drop (v128.load8_lane offset=2 7 (i32.const 0) (local.get 0)))
      (drop (v128.load16_lane 0 align=1 1 (i32.const 0) (local.get 0)))
      (v128.store64_lane 1 (i32.const 0) (local.get 0))
      (drop (v128.load32_zero offset=4 (i32.const 0)))
      (i32x4.relaxed_trunc_f32x4_s (f32x4.relaxed_madd (local.get 0) (local.get 0)
        (i8x16.relaxed_laneselect (local.get 0) (local.get 0) (local.get 0))))))""",
    "exceptions": """(module (tag $e (param i32)) (tag $f)
      (func (result i32 exnref)
        (block $h (result i32 exnref)
          (try_table (catch_ref $e $h) (catch_all_ref $h)
            (throw $e (i32.const 1)))
          (unreachable)))
      (func $g (param exnref) (throw_ref (local.get 0)))
      (func (block $o (try_table $l (result i32) (catch $e $o) (catch_all_ref $o)
        (i32.const 0)) drop)))""",
    "gc-types": """(module
      (type $s (struct (field $a i32) (field (mut i64)) (field i8 i16) (field $r (ref null $s))))
      (type $arr (array (mut i8)))
      (rec (type $n (sub (struct (field (ref null $m))))) (type $m (sub $n (struct))))
      (type $f (sub final (func (param $x i32))))
      (type $g (sub (func)))
      (type $h (sub $g (func)))
      (rec))""",
    "gc-instructions": """(module
      (type $s (struct (field $x (mut i32)) (field i64)))
      (type $a (array (mut i32)))
      (data $d "abcd") (elem $e funcref)
      (func (param $v (ref $s)) (param $w anyref) (result i32)
        (drop (struct.new $s (i32.const 1) (i64.const 2)))
        (drop (struct.new_default $s))
        (struct.set $s $x (local.get $v) (i32.const 3))
        (drop (struct.get $s 1 (local.get $v)))
        (drop (array.new $a (i32.const 0) (i32.const 4)))
        (drop (array.new_default $a (i32.const 4)))
        (drop (array.new_fixed $a 2 (i32.const 1) (i32.const 2)))
        (drop (array.new_data $a $d (i32.const 0) (i32.const 1)))
        (drop (array.len (array.new_default $a (i32.const 1))))
        (drop (ref.test (ref $s) (local.get $w)))
        (drop (ref.cast (ref null $s) (local.get $w)))
        (drop (ref.i31 (i32.const 5)))
        (drop (i31.get_s (ref.cast i31ref (local.get $w))))
        (drop (any.convert_extern (extern.convert_any (local.get $w))))
        (drop (block $l (result anyref) (br_on_cast $l anyref (ref $s) (local.get $w))))
        (drop (block $l (result anyref)
          (br_on_cast_fail $l anyref (ref null $s) (local.get $w))))
        (drop (ref.eq (ref.null eq) (ref.null none)))
        (drop (ref.as_non_null (local.get $w)))
        (drop (block $n (result (ref any)) (br_on_non_null $n (local.get $w)) (unreachable)))
        (block $z (br_on_null $z (local.get $w)) drop)
        (i32.const 0)))""",
    "reference-types": """(module (type $t (func))
      (func $f (param (ref $t)) (param (ref null func)) (param (ref extern))
        (param nullfuncref nullexternref nullref exnref nullexnref structref arrayref i31ref
          eqref anyref (ref noextern) (ref null exn) (ref any) (ref eq))
        (drop (ref.null $t)) (drop (ref.null nofunc)) (drop (ref.null noexn))
        (drop (ref.is_null (ref.func $f)))))""",
    "custom-sections": """(module
      (@custom "first" (before first) "1")
      (@custom "after-func" (after func) "2")
      (@custom "before-code" (before code) "3" "4")
      (@custom "last" "5")
      (@custom "after-data" (after data) "6")
      (func) (data "d"))""",
    "producers": """(module (@producers (language "C" "99") (processed-by "clang" "14")
      (sdk "wasi" "1") (processed-by "wasm2py" "0.1")) (func))""",
    "unknown-annotations": """(@a) (module (@b x y (z) "s") (func (@c) $f (@d) (nop (@e))))""",
    "comments": """(module ;; line comment
      (; block (; nested ;) comment ;) (func (;0;) ;; more
      nop (;x;)))""",
    "quoted-identifiers": '(module (func $"a b" (call $"a b")) (func $"\\u{1F600}"))',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_bytes_as_wasm_tools(name):
    src = CASES[name]
    assert wat2wasm(src) == wat(src)


def test_bytes_and_str_are_the_same_text():
    src = CASES["abbreviated-func"]
    assert wat2wasm(src.encode()) == wat2wasm(src)


def test_module_binary_and_quote():
    plain = wat2wasm("(module (func))")
    quoted = wat2wasm('(module quote "(func)")')
    assert quoted == plain
    raw = '(module binary "\\00asm" "\\01\\00\\00\\00")'
    assert wat2wasm(raw) == b"\0asm\x01\0\0\0"


def test_version_2_limits_offsets():
    """Wasm 2.0 text has 32-bit limits and offsets; 3.0 reads 64-bit ones (then invalid)."""
    big = "(module (memory 1) (func (drop (i32.load offset=0x1_0000_0000 (i32.const 0)))))"
    with pytest.raises(ParseError, match="i32 constant out of range"):
        wat2wasm(big, version=2)
    assert wat2wasm(big) == wat(big)
    with pytest.raises(ParseError):
        wat2wasm("(memory 0x1_0000_0000)", version=2)
    assert wat2wasm("(memory 0x1_0000_0000)") == wat("(module (memory 0x1_0000_0000))")


# --- errors: position and expectation ---------------------------------------------------------

ERRORS = [
    ("(module\n  (func (i32.add (i32.konst 1))))", 2, 19, "unknown operator 'i32.konst'"),
    ("(module (func (br $nowhere)))", 1, 19, "unknown label $nowhere"),
    ("(module (func (local.get $x)))", 1, 26, "unknown local $x"),
    ("(module (func (call $f)))", 1, 21, "unknown function $f"),
    ("(module\n(func)\n\n   (func (i32.const 4294967296) drop))", 4, 21,
     "i32 constant out of range"),
    ("(module (func (f32.const 1e39) drop))", 1, 26, "f32 constant out of range"),
    ("(module (func $f) (func $f))", 1, 25, "duplicate function $f"),
    ("(module (func) (import \"a\" \"b\" (func)))", 1, 16, "import after func definition"),
    ("(module (func block $a end $b))", 1, 28, "mismatching label $b"),
    ("(module (func (block $a)) (func", 1, 27, "unclosed '('"),
    ('(module (data "abc))', 1, 15, "unclosed string"),
    ("(module (memory 1) (func (drop (i32.load align=3 (i32.const 0)))))", 1, 42,
     "alignment must be a power of two"),
    ('(module (func "a"x))', 1, 15, "unknown operator"),
    ("(module (func $))", 1, 15, "empty identifier"),
    ("(module (func (; unclosed", 1, 15, "unclosed block comment"),
    ("(module (func (@name ", 1, 15, "unclosed annotation"),
    ("(module (type $t (func)) (func (type $t) (param i32)))", 1, 32,
     "inline function type does not match explicit type"),
    ("(module (func (v128.const i32x4 1 2 3)))", 1, 27, "wrong number of lane literals"),
    ('(module (import "\\ff" "x" (func)))', 1, 17, "malformed UTF-8 encoding"),
    ("(module (func (f32.const nan:0x800000)))", 1, 26, "NaN payload out of range"),
    ("(module (start 0) (start 0) (func))", 1, 19, "multiple start sections"),
    ("(module (func)) (func)", 1, 17, "unexpected token '('"),
]


@pytest.mark.parametrize("src, line, column, message", ERRORS)
def test_errors_name_line_column_and_expectation(src, line, column, message):
    with pytest.raises(ParseError) as info:
        wat2wasm(src, source="x.wat")
    err = info.value
    assert message in err.reason
    assert (err.line, err.column) == (line, column), str(err)
    assert str(err).startswith(f"x.wat:{line}:{column}: ")
    assert isinstance(err, wasm2py.Error)


def test_malformed_utf8_text():
    with pytest.raises(ParseError, match="malformed UTF-8"):
        wat2wasm(b"(module (func)) ;; \xff")


def test_error_in_quoted_module():
    with pytest.raises(ParseError, match="unknown operator"):
        wat2wasm('(module quote "(func nope)")')


def test_not_text():
    with pytest.raises(TypeError):
        wat2wasm(42)  # type: ignore[arg-type]


def test_parse_speed_benchmark_short(tmp_path, capsys):
    """The short version of ``tools/bench/wat_parse.py``: a printed program (the demo) parses to
    wasm-tools' bytes; the table is printed."""
    from tools.bench.wat_parse import main

    root = Path(__file__).resolve().parent.parent
    text = tmp_path / "demo.wat"
    text.write_bytes(subprocess.run(["wasm-tools", "print", str(root / "examples" / "demo.wasm")],
                                    capture_output=True, check=True).stdout)
    assert main(["--repeat", "1", str(text)]) == 0
    out = capsys.readouterr().out
    assert "KB/s" in out and out.splitlines()[-1].split()[-1] == "yes"


# --- deep nesting -----------------------------------------------------------------------------

# one unit opens four levels: a folded block and if, a plain block in its else, a folded loop
_OPEN = "(block $b (if (local.get 0) (then nop) (else block (loop (br_if $b (local.get 0)) "
_CLOSE = ") end)))"
_DEEP_CHILD = """
import hashlib, sys
sys.setrecursionlimit(1000)  # Python's default: the parser must not need more, nor raise it
from wasm2py.text import ParseError, wat2wasm
src = sys.stdin.read()
try:
    print(hashlib.sha256(wat2wasm(src)).hexdigest())
except ParseError as e:
    print("ParseError", e.reason)
print(sys.getrecursionlimit())
"""


def _parse_in_child(src: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _DEEP_CHILD], input=src, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_deep_nesting_parses_within_the_default_recursion_limit():
    """Nesting is kept on a list, not on Python's stack: 9,600 levels of every block form parse
    to wasm-tools' bytes with Python's default recursion limit, which is left as it was."""
    n = 2400
    src = f"(module (func (param i32) {_OPEN * n}{_CLOSE * n}))"
    digest, limit = _parse_in_child(src)
    assert digest == hashlib.sha256(wat(src)).hexdigest()
    assert limit == "1000"


@pytest.mark.parametrize("body", [
    "block " * 10_001 + "end " * 10_001,
    "(i32.eqz " * 10_001 + "(i32.const 0)" + ")" * 10_001 + " drop",
    "(block " * 5_000 + "block " * 5_001 + "end " * 5_001 + ")" * 5_000,
])
def test_nesting_beyond_the_bound_is_a_parse_error(body):
    out = _parse_in_child(f"(module (func {body}))")
    assert out[0].startswith("ParseError") and "nested more than 10000 deep" in out[0]
    assert out[1] == "1000"


@pytest.mark.parametrize("src, message", [
    ("(module (func block nop))", "expected 'end' closing the block, found ')'"),
    ("(module (func (block nop end)))", "expected ')' closing the block, found 'end'"),
    ("(module (func (if (i32.const 1) nop)))", "expected (then ...), found 'nop'"),
    ("(module (func (if (i32.const 1) (then) (else) nop)))", "expected ')' closing the if"),
    ("(module (func block else end))", "expected 'end' closing the block, found 'else'"),
    ("(module (func if else else end))", "expected 'end' closing the if, found 'else'"),
    ("(module (func (then)))", "unknown operator 'then'"),
])
def test_unbalanced_blocks(src, message):
    with pytest.raises(ParseError) as info:
        wat2wasm(src)
    assert message in info.value.reason
    with pytest.raises(ValueError):  # wasm-tools rejects them too
        wat(src)


def test_folded_operands_are_folded_instructions():
    """The spec's grammar: ``( plaininstr foldedinstr* )``. wasm-tools also reads plain
    instructions there; the spec (and so this parser) does not."""
    with pytest.raises(ParseError, match="expected '\\)' or a folded operand, found 'nop'"):
        wat2wasm("(module (func (i32.eqz nop)))")
