"""The baseline emitter (``wasm2py.baseline.emit``): its code against the Python tier (the
reference) and the LLVM tier (traps, backtraces, call depth).

The functions run through ``tests/baseline_util`` (an instance of ``tier="auto"`` whose
functions are swapped to baseline code, with the LLVM tier's entries and trampolines).
Every template is reached with operands of each kind the emitter distinguishes (locals in
registers and in frame slots, constants, values in rax, in slots, in the flags).
"""

from __future__ import annotations

import platform

import pytest

import wasm2py
from wasm2py.baseline import emit
from wasm2py.binary.decoder import decode_module
from wasm2py.errors import TrapCode
from wasm2py.llvm.abi import Layout

from .baseline_util import baseline_instance, python_instance
from .llvm_util import outcome

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="x86-64 machine code")  # fmt: skip

I32_EDGES = [0, 1, -1, 2, 7, 31, 32, 33, -(1 << 31), (1 << 31) - 1, 0x12345678, -0x789ABCDE,
             0x7FFF, 0x8000, 0xFF, -256]  # fmt: skip
I64_EDGES = [0, 1, -1, 2, 63, 64, 65, -(1 << 63), (1 << 63) - 1, 0x923456789ABCDEF0 - (1 << 64),
             (1 << 32), (1 << 32) - 1, -(1 << 31), (1 << 31), 0x7FFFFFFF, -0x80000001]  # fmt: skip

I32_BIN = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
           "shr_s", "shr_u", "rotl", "rotr"]  # fmt: skip
CMP = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]


def _shapes(t: str, op: str, result: str, consts) -> list[tuple[str, str, str]]:
    """(name, params, body) of functions computing ``op`` on two operands reached in each of
    the emitter's operand kinds (``consts``: the right operands of the immediate forms)."""
    out = [
        ("ll", f"(param {t} {t})", f"local.get 0 local.get 1 {t}.{op}"),
        # both operands computed: the left one spilled to its slot, the right one in rax
        ("rr", f"(param {t} {t})",
         f"local.get 0 {t}.const 0 {t}.add local.get 1 {t}.const 0 {t}.add {t}.{op}"),
        # both in their slots (a block's results)
        ("ss", f"(param {t} {t})",
         f"block (result {t}) local.get 0 end block (result {t}) local.get 1 end {t}.{op}"),
        # a local that changes after it was pushed (the pushed value must stay)
        ("lset", f"(param {t} {t})",
         f"local.get 0 local.get 1 local.get 1 local.set 0 {t}.{op}"),
        # the left operand a constant
        ("cl", f"(param {t} {t})", f"{t}.const 5 local.get 1 {t}.{op} local.get 0 drop"),
        # the left operand computed (kept in rax under the local)
        ("rl", f"(param {t} {t})", f"local.get 0 {t}.const 0 {t}.or local.get 1 {t}.{op}"),
        # the right operand computed (in rax), the left a local, a slot or a constant
        ("lr", f"(param {t} {t})", f"local.get 0 local.get 1 {t}.const 0 {t}.or {t}.{op}"),
        ("sr", f"(param {t} {t})", f"block (result {t}) local.get 0 end "
                                   f"local.get 1 {t}.const 0 {t}.or {t}.{op}"),
        ("cr", f"(param {t} {t})", f"{t}.const -7 local.get 1 {t}.const 0 {t}.or {t}.{op} "
                                   f"local.get 0 drop"),
    ]
    for k, v in enumerate(consts):
        out.append((f"c{k}", f"(param {t} {t})", f"local.get 0 {t}.const {v} {t}.{op}"))
        out.append((f"rc{k}", f"(param {t} {t})",
                    f"local.get 0 {t}.const 0 {t}.xor {t}.const {v} {t}.{op}"))
    return out


def _module(funcs: list[tuple[str, str, str, str]], extra: str = "") -> str:
    body = "\n".join(f'(func ${n} (export "{n}") {p} {r} {b})' for n, p, r, b in funcs)
    return f"(module {extra}\n{body})"


def _compare(src: str, calls, imports=None, **kw):
    """Run ``calls`` ((export name, args) pairs) in both tiers; assert the outcomes agree and
    that every function ran as baseline code."""
    inst, blob = baseline_instance(src, imports, **kw)
    assert not blob.refused, blob.refused
    ref = python_instance(src, imports)
    n = 0
    for name, args in calls:
        f, g = inst.exports[name], ref.exports[name]
        got, want = outcome(f, args), outcome(g, args)
        assert got == want, (name, args, got, want)
        n += 1
    return n


@pytest.fixture(params=[True, False], ids=["pins", "slots"])
def pins(request, monkeypatch):
    monkeypatch.setattr(emit.FuncEmitter, "pin_locals", request.param)
    return request.param


def _binary_case(t: str, ops: list[str], edges, pins) -> None:
    funcs = []
    calls = []
    small = edges[:8]
    for op in ops:
        res = "(result i32)" if op in CMP or op == "eqz" else f"(result {t})"
        for shape, params, body in _shapes(t, op, res, small):
            name = f"{op}_{shape}"
            funcs.append((name, params, res, body))
            for a in edges:
                for b in (edges if shape in ("ll", "ss", "rl", "lr", "sr") else small):
                    calls.append((name, (a, b)))
        if op in CMP:
            # the flags consumed by if, br_if and select
            funcs.append((f"{op}_if", f"(param {t} {t})", "(result i32)",
                          f"local.get 0 local.get 1 {t}.{op} if (result i32) i32.const 7 "
                          f"else i32.const 9 end"))
            funcs.append((f"{op}_brif", f"(param {t} {t})", "(result i32)",
                          f"block (result i32) i32.const 3 local.get 0 local.get 1 {t}.{op} "
                          f"br_if 0 drop i32.const 4 end"))
            funcs.append((f"{op}_sel", f"(param {t} {t})", f"(result {t})",
                          f"local.get 0 local.get 1 local.get 0 local.get 1 {t}.{op} select"))
            funcs.append((f"{op}_val", f"(param {t} {t})", "(result i32)",
                          f"local.get 0 local.get 1 {t}.{op} i32.const 0 i32.add"))
            for a in edges:
                for b in edges:
                    calls += [(f"{op}_{s}", (a, b)) for s in ("if", "brif", "sel", "val")]
    assert _compare(_module(funcs), calls) == len(calls)


def test_i32_binary(pins):
    _binary_case("i32", I32_BIN, I32_EDGES, pins)


def test_i64_binary(pins):
    _binary_case("i64", I32_BIN, I64_EDGES, pins)


def test_i32_compares(pins):
    _binary_case("i32", CMP, I32_EDGES, pins)


def test_i64_compares(pins):
    _binary_case("i64", CMP, I64_EDGES, pins)


UNARY = [
    ("i32", "i32", ["i32.clz", "i32.ctz", "i32.popcnt", "i32.extend8_s", "i32.extend16_s",
                    "i32.eqz"]),
    ("i64", "i64", ["i64.clz", "i64.ctz", "i64.popcnt", "i64.extend8_s", "i64.extend16_s",
                    "i64.extend32_s"]),
    ("i64", "i32", ["i32.wrap_i64", "i64.eqz"]),
    ("i32", "i64", ["i64.extend_i32_s", "i64.extend_i32_u"]),
    # an i32 whose register has a non-zero upper half, extended (the upper half must go)
    ("i64", "i64", ["i32.wrap_i64 i64.extend_i32_u", "i32.wrap_i64 i64.extend_i32_s",
                    "i32.wrap_i64 i32.const 0 i32.add i64.extend_i32_u"]),
    ("i32", "i32", ["f32.reinterpret_i32 i32.reinterpret_f32"]),
    ("i64", "i64", ["f64.reinterpret_i64 i64.reinterpret_f64"]),
]  # fmt: skip


def test_unary(pins):
    funcs = []
    calls = []
    for t, r, ops in UNARY:
        edges = I32_EDGES if t == "i32" else I64_EDGES
        for op in ops:
            name = f"{t}_{r}_{op.replace(' ', '_')}"
            funcs.append((name, f"(param {t})", f"(result {r})", f"local.get 0 {op}"))
            funcs.append((name + "_r", f"(param {t})", f"(result {r})",
                          f"local.get 0 {t}.const 0 {t}.or {op}"))
            calls += [(n, (a,)) for a in edges for n in (name, name + "_r")]
    assert _compare(_module(funcs), calls) == len(calls)


MEMORY = '(memory 1 3) (data (i32.const 0) "\\01\\82\\03\\84\\05\\86\\07\\88\\09\\8a\\0b\\8c")'
LOADS = ["i32.load", "i64.load", "f32.load", "f64.load", "i32.load8_s", "i32.load8_u",
         "i32.load16_s", "i32.load16_u", "i64.load8_s", "i64.load8_u", "i64.load16_s",
         "i64.load16_u", "i64.load32_s", "i64.load32_u"]  # fmt: skip
STORES = [("i32", "i32.store"), ("i64", "i64.store"), ("i32", "i32.store8"),
          ("i32", "i32.store16"), ("i64", "i64.store8"), ("i64", "i64.store16"),
          ("i64", "i64.store32")]  # fmt: skip
ADDRS = [0, 1, 3, 8, 65535 - 8, 65535 - 4, 65535 - 1, 65535, 65536, 65537, -1, -8, 1 << 31]


def test_loads_and_stores(pins):
    funcs = [("id", "(param i32)", "(result i32)", "local.get 0"),
             ("size", "", "(result i32)", "memory.size"),
             ("grow", "(param i32)", "(result i32)", "local.get 0 memory.grow")]
    calls = []
    for op in LOADS:
        r = op.split(".")[0]
        ri = {"f32": "i32", "f64": "i64"}.get(r, r)
        conv = {"f32": "i32.reinterpret_f32", "f64": "i64.reinterpret_f64"}.get(r, "")
        for off in (0, 1, 65535, 4096):
            name = f"{op}_{off}"
            funcs.append((name, "(param i32)", f"(result {ri})",
                          f"local.get 0 {op} offset={off} {conv}"))
            calls += [(name, (a,)) for a in ADDRS]
        # an address computed from an i64 (upper half of its register non-zero)
        funcs.append((op + "_w", "(param i64)", f"(result {ri})",
                      f"local.get 0 i32.wrap_i64 {op} {conv}"))
        funcs.append((op + "_wr", "(param i64)", f"(result {ri})",
                      f"local.get 0 i64.const 0 i64.or i32.wrap_i64 {op} {conv}"))
        funcs.append((op + "_wc", "(param i64)", f"(result {ri})",
                      f"local.get 0 i64.const 0 i64.or i32.wrap_i64 call $id {op} {conv}"))
        calls += [(op + s, (a | (1 << 40),)) for a in (0, 4, 65532, 65536)
                  for s in ("_w", "_wr", "_wc")]
    for t, op in STORES:
        edges = I32_EDGES if t == "i32" else I64_EDGES
        for off in (0, 2, 65535):
            name = f"{op}_{off}"
            funcs.append((name, f"(param i32 {t})", "(result i64)",
                          f"local.get 0 local.get 1 {op} offset={off} "
                          f"i32.const 0 i64.load i32.const 8 i64.load i64.xor"))
            calls += [(name, (a, v)) for a in ADDRS for v in edges[:6]]
        # a constant value; a computed address with a local or a constant value
        funcs.append((op + "_c", "(param i32)", "(result i64)",
                      f"local.get 0 {t}.const -2 {op} i32.const 0 i64.load"))
        funcs.append((op + "_rl", f"(param i32 {t})", "(result i64)",
                      f"local.get 0 i32.const 1 i32.sub local.get 1 {op} offset=1 "
                      f"i32.const 0 i64.load"))
        funcs.append((op + "_rc", "(param i32)", "(result i64)",
                      f"local.get 0 i32.const 1 i32.sub {t}.const -3 {op} offset=1 "
                      f"i32.const 0 i64.load"))
        calls += [(op + "_c", (a,)) for a in ADDRS] + [(op + "_rc", (a,)) for a in ADDRS]
        calls += [(op + "_rl", (a, v)) for a in ADDRS for v in edges[:6]]
    # float stores keep every bit (NaN payloads included)
    funcs.append(("f32_store", "(param i32 i32)", "(result i32)",
                  "local.get 0 local.get 1 f32.reinterpret_i32 f32.store local.get 0 i32.load"))
    funcs.append(("f64_store", "(param i32 i64)", "(result i64)",
                  "local.get 0 local.get 1 f64.reinterpret_i64 f64.store local.get 0 i64.load"))
    calls += [("f32_store", (8, v)) for v in (0x7FA00001, -0x7FFFFF, 0x7F800000)]
    calls += [("f64_store", (8, v))
              for v in (0x7FF4000000000001, -1, 0x8000000000000000 - (1 << 64))]
    # memory.grow: accesses that trapped before are in bounds after
    calls += [("i32.load_0", (65536,)), ("size", ()), ("grow", (1,)), ("size", ()),
              ("i32.load_0", (65536,)), ("i64.store_0", (131064, 5)), ("i64.store_0", (131065, 5)),
              ("grow", (2,)), ("grow", (0,)), ("size", ()), ("grow", (-1,))]
    assert _compare(_module(funcs, MEMORY), calls) == len(calls)


def test_float_values_move_as_bits(pins):
    # f32/f64 parameters (xmm registers, and the stack past xmm7), results, locals, select,
    # constants (NaN payloads), and calls passing them on
    fparams = " ".join(["f64", "f32"] * 5)
    src = f"""(module
      (func $pick (param {fparams} i32) (result f64)
        local.get 8 local.get 0 local.get 10 select)
      (func $pickf (param {fparams} i32) (result f32)
        local.get 9 local.get 1 local.get 10 select)
      (func (export "pick") (param {fparams} i32) (result f64)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 local.get 6
        local.get 7 local.get 8 local.get 9 local.get 10 call $pick)
      (func (export "pickf") (param {fparams} i32) (result f32)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 local.get 6
        local.get 7 local.get 8 local.get 9 local.get 10 call $pickf)
      (func (export "consts") (param i32) (result i64)
        f64.const nan:0x4000000000001 f64.const -0x1p-1074 local.get 0 select
        i64.reinterpret_f64)
      (func (export "constf") (param i32) (result i32)
        (local f32)
        f32.const nan:0x200001 local.set 1
        local.get 1 f32.const -inf local.get 0 select i32.reinterpret_f32)
      (func (export "bits") (param f64) (result f64)
        (local f64) local.get 0 local.set 1 local.get 1)
      (func (export "bitsf") (param f32) (result f32) local.get 0)
    )"""
    calls = []
    vals = [1.5, -0.0, float("inf"), 3.25e300, -7.0, 2.0 ** -1070, 11.0, 12.5, -13.0, 14.0]
    for c in (0, 1, -1):
        calls.append(("pick", (*vals, c)))
        calls.append(("pickf", (*vals, c)))
        calls.append(("consts", (c,)))
        calls.append(("constf", (c,)))
    for v in (0.0, -0.0, float("nan"), -1e-310, 1e308):
        calls += [("bits", (v,)), ("bitsf", (v,))]
    assert _compare(src, calls) == len(calls)


def test_control_flow(pins):
    src = """(module
      (func (export "table") (param i32) (result i32)
        (block (result i32) (block (result i32) (block (result i32) (block (result i32)
          i32.const 100 local.get 0 br_table 0 1 2 3 1 0)
          i32.const 1 i32.add) i32.const 2 i32.add) i32.const 4 i32.add) i32.const 8 i32.add)
      (func (export "loop_sum") (param i32) (result i64)
        (local i64 i32)
        (block (loop
          local.get 2 local.get 0 i32.ge_u br_if 1
          local.get 1 local.get 2 i64.extend_i32_u i64.add local.set 1
          local.get 2 i32.const 1 i32.add local.set 2 br 0))
        local.get 1)
      (func (export "loop_params") (param i32) (result i32)
        i32.const 0 local.get 0
        (loop (param i32 i32) (result i32 i32)
          i32.const 3 i32.add
          local.get 0 i32.const 1 i32.sub local.tee 0
          br_if 0)
        i32.add)
      (func (export "multi") (param i32) (result i32)
        (block (result i32 i64 i32)
          i32.const 1 i64.const 2 i32.const 3 local.get 0 br_if 0
          drop drop drop i32.const 4 i64.const 5 i32.const 6)
        i64.extend_i32_u i64.add i32.wrap_i64 i32.add)
      (func (export "early") (param i32) (result i32)
        (block (result i32) i32.const 5 local.get 0 i32.eqz br_if 0 drop
          local.get 0 i32.const 1 i32.eq if i32.const 10 return end
          i32.const 20) i32.const 1 i32.add)
      (func (export "nested_if") (param i32 i32) (result i32)
        local.get 0 if (result i32) local.get 1 if (result i32) i32.const 1 else i32.const 2 end
        else local.get 1 if (result i32) i32.const 3 else unreachable end end)
      (func (export "dead") (param i32) (result i32)
        block (result i32) local.get 0 br 0 i32.const 1 i32.add block unreachable end end)
      (func (export "brif_value") (param i32) (result i32)
        (block (result i32) i32.const 1 i32.const 2 local.get 0 br_if 0 i32.add))
      (func (export "brif_return") (param i32) (result i32)
        i32.const 7 local.get 0 br_if 0 drop i32.const 8)
    )"""
    calls = [(n, (a,)) for n in ("table", "early", "dead", "brif_value", "brif_return")
             for a in (0, 1, 2, 3, 4, 5, 6, -1, 1 << 31)]  # fmt: skip
    calls += [("loop_sum", (n,)) for n in (0, 1, 10, 1000)]
    calls += [("loop_params", (n,)) for n in (1, 2, 10)]
    calls += [("multi", (n,)) for n in (0, 1)]
    calls += [("nested_if", (a, b)) for a in (0, 1) for b in (0, 1)]
    assert _compare(src, calls) == len(calls)


def test_globals():
    src = """(module
      (global $a (export "a") (mut i32) (i32.const -5))
      (global $b (export "b") (mut i64) (i64.const 0x123456789))
      (global $c (export "c") (mut f32) (f32.const 1.5))
      (global $d (export "d") (mut f64) (f64.const -2.5))
      (global $k i64 (i64.const -77))
      (func (export "get") (result i64)
        global.get $a i64.extend_i32_s global.get $b i64.add global.get $k i64.add
        global.get $c i32.reinterpret_f32 i64.extend_i32_u i64.add
        global.get $d i64.reinterpret_f64 i64.add)
      (func (export "set") (param i32 i64)
        local.get 0 global.set $a local.get 1 global.set $b
        local.get 0 f32.reinterpret_i32 global.set $c local.get 1 f64.reinterpret_i64 global.set $d)
    )"""
    inst, blob = baseline_instance(src)
    ref = python_instance(src)
    assert not blob.refused
    for i in (inst, ref):
        assert outcome(i.exports["get"], ()) == outcome(ref.exports["get"], ())
    for a, b in ((7, 1 << 40), (-1, -1), (0x7FC00001, 0x7FF0000000000001)):
        for i in (inst, ref):
            i.exports["set"](a, b)
        assert outcome(inst.exports["get"], ()) == outcome(ref.exports["get"], ())
        # the other tiers read what baseline code wrote
        assert inst.exports["a"].value == ref.exports["a"].value == a
        assert inst.exports["b"].value == ref.exports["b"].value == b


CALLS = """(module
  (import "env" "host" (func $host (param i32 i64 f32 f64 i32 i64 i32) (result i64)))
  (import "env" "hostf" (func $hostf (param f64) (result f64)))
  (type $ii (func (param i32) (result i32)))
  (type $ll (func (param i64) (result i64)))
  (table 4 funcref)
  (elem (i32.const 0) $double $neg $uses_float)
  (memory 1)
  (func $double (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $neg (param i64) (result i64) i64.const 0 local.get 0 i64.sub)
  ;; refused (ref.null): runs in the Python tier
  (func $uses_float (export "uses_float") (param i32) (result i32)
    ref.null func ref.is_null drop
    local.get 0 f64.convert_i32_s f64.const 0.5 f64.mul i32.trunc_f64_s)
  (func $many (param i64 i64 i64 i64 i64 i64 i64 i64 i32) (result i64)
    local.get 0 local.get 1 i64.const 3 i64.mul i64.add local.get 2 i64.const 5 i64.mul i64.add
    local.get 3 i64.const 7 i64.mul i64.add local.get 4 i64.const 11 i64.mul i64.add
    local.get 5 i64.const 13 i64.mul i64.add local.get 6 i64.const 17 i64.mul i64.add
    local.get 7 i64.const 19 i64.mul i64.add local.get 8 i64.extend_i32_s i64.const 23 i64.mul
    i64.add)
  (func (export "many") (param i64) (result i64)
    local.get 0 local.get 0 i64.const 1 i64.add local.get 0 i64.const 2 i64.add
    local.get 0 i64.const 3 i64.add local.get 0 i64.const 4 i64.add local.get 0 i64.const 5 i64.add
    local.get 0 i64.const 6 i64.add local.get 0 i64.const 7 i64.add i32.const -9 call $many)
  (func (export "host") (param i32) (result i64)
    local.get 0 i64.const -2 f32.const 1.5 f64.const -2.25 i32.const 5 i64.const 6 i32.const 7
    call $host
    f64.const 3.5 call $hostf i64.reinterpret_f64 i64.add)
  (func (export "indirect") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect (type $ii))
  (func (export "indirect64") (param i64 i32) (result i64)
    local.get 0 local.get 1 call_indirect (type $ll))
  (func (export "via_python") (param i32) (result i32)
    local.get 0 call $uses_float i32.const 1 i32.add)
  (func (export "grow_then_load") (param i32) (result i32)
    local.get 0 call $grow i32.const 65536 i32.load i32.add)
  (func $grow (param i32) (result i32) local.get 0 memory.grow)
)"""


def _host_imports(log: list):
    def host(a, b, c, d, e, f, g):
        log.append((a, b, c, d, e, f, g))
        return a * 1000 + b + e + f + g

    return {"env": {"host": host, "hostf": lambda x: x * 2}}


def test_calls_in_all_directions():
    log_b: list = []
    log_p: list = []
    inst, blob = baseline_instance(CALLS, _host_imports(log_b))
    ref = python_instance(CALLS, _host_imports(log_p))
    assert set(blob.refused) == {4}  # uses_float
    calls = [("many", (v,)) for v in (0, 1, -1, 1 << 40)]
    calls += [("host", (v,)) for v in (0, 3, -4)]
    calls += [("indirect", (k, v)) for k in (0, 1, 2, 3, 4, -1) for v in (5, -6)]
    calls += [("indirect64", (v, k)) for k in (0, 1, 2, 3, 4) for v in (5, -6)]
    calls += [("via_python", (v,)) for v in (9, -9)]
    calls += [("grow_then_load", (1,)), ("grow_then_load", (0,))]
    for name, args in calls:
        assert outcome(inst.exports[name], args) == outcome(ref.exports[name], args), name
    assert log_b == log_p and log_b


# (indices: 0, 1 the imports, 2 $double, 3 $neg, 4 $uses_float, 5 $many, 6 "many",
# 7 "host", 8 "indirect", 9 "indirect64", ...)
@pytest.mark.parametrize("llvm", [
    # baseline "many" calls LLVM $many (stack arguments) through its record, LLVM "indirect"
    # calls baseline $neg through the table, baseline "indirect64" calls LLVM $double
    {2, 5, 8},
    # LLVM "many" calls baseline $many (stack arguments), LLVM "indirect64" calls the
    # tables' functions, baseline "indirect" calls LLVM $double and $neg
    {3, 6, 9, 2},
])  # fmt: skip
def test_calls_between_baseline_and_llvm(llvm):
    log_b: list = []
    inst, blob = baseline_instance(CALLS, _host_imports(log_b), llvm=llvm)
    ref = python_instance(CALLS, _host_imports([]))
    assert not llvm & set(blob.funcs)
    for name, args in [("many", (3,)), ("indirect", (0, 4)), ("indirect", (1, 4)),
                       ("indirect64", (7, 1)), ("host", (2,)), ("via_python", (4,))]:
        assert outcome(inst.exports[name], args) == outcome(ref.exports[name], args), name


TRAPS = """(module
  (type $v (func))
  (table 2 funcref)
  (elem (i32.const 0) $inner)
  (memory 1)
  (func $inner (param i32) (result i32)
    local.get 0 i32.eqz if unreachable end
    local.get 0 i32.const 1 i32.eq if i32.const 70000 i32.load drop end
    local.get 0 i32.const 2 i32.eq if i32.const 1 i32.const 0 i32.div_u drop end
    local.get 0 i32.const 3 i32.eq if i32.const 0x80000000 i32.const -1 i32.div_s drop end
    local.get 0 i32.const 4 i32.eq if i32.const 1 call_indirect (type $v) end
    local.get 0 i32.const 5 i32.eq if i32.const 0 call_indirect (type $v) end
    local.get 0 i32.const 6 i32.eq if i32.const 9 call_indirect (type $v) end
    local.get 0)
  (func $middle (param i32) (result i32) i32.const 1 local.get 0 call $inner i32.add)
  (func (export "outer") (param i32) (result i32) local.get 0 call $middle)
  (func $rec (export "rec") (param i64) (result i64)
    local.get 0 i64.const 1 i64.add call $rec)
  (global $depth (export "depth") (mut i32) (i32.const 0))
  (func $count (export "count") (local i32 i64 i64)
    global.get $depth i32.const 1 i32.add global.set $depth call $count)
)"""


@pytest.mark.parametrize("case, code", [
    (0, TrapCode.UNREACHABLE), (1, TrapCode.MEMORY_OUT_OF_BOUNDS),
    (2, TrapCode.INTEGER_DIVIDE_BY_ZERO), (3, TrapCode.INTEGER_OVERFLOW),
    (4, TrapCode.UNINITIALIZED_ELEMENT), (5, TrapCode.INDIRECT_CALL_TYPE_MISMATCH),
    (6, TrapCode.TABLE_OUT_OF_BOUNDS),
])  # fmt: skip
def test_traps_and_backtraces_match_llvm(case, code):
    inst, blob = baseline_instance(TRAPS)
    assert not blob.refused
    # (explicit bounds checks: a fault in a guard page gives no wasm offsets)
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(
        tier="llvm", llvm_opt_level=0, llvm_isolated=False, cache=False,
        llvm_guard_pages=False)))  # fmt: skip
    llvm = wasm2py.Instance(store, wasm2py.Module(store.engine, wasm2py.wat2wasm(TRAPS)), {})
    with pytest.raises(wasm2py.Trap) as got:
        inst.exports["outer"](case)
    with pytest.raises(wasm2py.Trap) as want:
        llvm.exports["outer"](case)
    assert got.value.code is want.value.code is code
    assert got.value.frames == want.value.frames
    assert [f[0] for f in got.value.frames] == [0, 1, 2]
    # the status is cleared: the next call runs normally
    assert inst.exports["outer"](10) == 11


def test_call_depth_traps_like_the_other_tiers():
    inst, blob = baseline_instance(TRAPS)
    ref = python_instance(TRAPS)
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="llvm", llvm_opt_level=0,
                                                        llvm_isolated=False, cache=False)))
    llvm = wasm2py.Instance(store, wasm2py.Module(store.engine, wasm2py.wat2wasm(TRAPS)), {})
    with pytest.raises(wasm2py.Trap) as e:
        inst.exports["rec"](0)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    with pytest.raises(wasm2py.Trap) as want:
        llvm.exports["rec"](0)
    assert e.value.frames == want.value.frames and len(e.value.frames) > 10
    with pytest.raises(wasm2py.Trap) as e:
        inst.exports["count"]()
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    with pytest.raises(wasm2py.Trap):
        ref.exports["count"]()
    # the same depth as the Python tier (the frame cost of wasm2py.validate.frames)
    assert inst.exports["depth"].value == ref.exports["depth"].value > 100


def test_refusals_are_typed_and_named():
    src = """(module
      (func (result i32 i32) i32.const 1 i32.const 2)
      (func (param f32) (result i32) ref.null func ref.is_null)
      (func (param externref))
      (func (result i32) i32.const 1))"""
    m = decode_module(wasm2py.wat2wasm(src))
    blob = emit.compile_functions(m, [0, 1, 2, 3], Layout(m))
    assert set(blob.funcs) == {3}
    assert blob.refused[0] == "multiple results"
    assert blob.refused[1].startswith("ref_null at 0x")
    assert "externref" in blob.refused[2]
    assert blob.long_funcs == frozenset()


def test_call_to_a_refused_function_goes_through_its_record():
    # $a calls $b directly; $b is refused: $a must not call into the blob for it
    src = """(module
      (func $b (export "b") (param f64) (result f64)
        ref.null func ref.is_null drop local.get 0 local.get 0 f64.add)
      (func (export "a") (param f64) (result f64) local.get 0 call $b))"""
    inst, blob = baseline_instance(src)
    assert set(blob.refused) == {0} and set(blob.funcs) == {1}
    assert inst.exports["a"](1.25) == 2.5
    assert blob.long_funcs == frozenset({1})


REENTER = """(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 1)
  (func $leaf (export "leaf") (param i32) (result i32)
    local.get 0 i32.const 3 i32.eq if unreachable end
    local.get 0 i32.const 1 i32.add)
  (func (export "outer") (param i32) (result i32)
    (local i32 i64)
    i64.const 0x1234567890 local.set 2
    local.get 0 i32.const 100 i32.store
    local.get 0 call $host local.set 1
    ;; the memory may have grown (and moved) during the host call
    local.get 1 local.get 0 i32.load i32.add local.get 2 i32.wrap_i64 i32.add
    memory.size i32.add)
)"""


@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "movable"])
def test_host_calls_reentering_baseline_code(guard):
    # the host function reaches the instance through a cell filled after instantiation
    cell = {}

    def host(x):
        if x == 4:
            raise ValueError("from the host")
        if x == 6:  # the memory grows (and may move) under the caller's feet
            cell["inst"].exports["memory"].grow(3)
        return cell["leaf"](x) + cell["leaf"](x + 10)

    src = REENTER.replace("(memory 1)", '(memory (export "memory") 1)')
    # (without a guard reservation a memory may move to grow)
    inst, blob = baseline_instance(src, {"env": {"host": host}}, llvm_guard_pages=guard)
    assert not blob.refused
    ref = python_instance(src, {"env": {"host": host}})
    for x in (0, 1, 7, 6):
        cell.update(leaf=ref.exports["leaf"], inst=ref)
        want = ref.exports["outer"](x)
        cell.update(leaf=inst.exports["leaf"], inst=inst)
        assert inst.exports["outer"](x) == want
    assert inst.exports["memory"].size == ref.exports["memory"].size == 4
    # a trap in baseline code called by the host, called by baseline code
    with pytest.raises(wasm2py.Trap) as e:
        inst.exports["outer"](3)
    assert e.value.code is TrapCode.UNREACHABLE
    # a Python exception in the host passes through baseline frames unchanged
    with pytest.raises(ValueError, match="from the host"):
        inst.exports["outer"](4)
    assert inst.exports["outer"](0) == ref.exports["outer"](0)


def test_locals_in_clobbered_registers_survive_calls(pins):
    # more busy locals than callee-saved registers, in a loop that calls: some live in
    # registers a call clobbers (saved around each call); the arguments read them too
    src = """(module
      (type $t (func (param i64 i64 i64 i64 i64 i64 i64) (result i64)))
      (table 1 funcref) (elem (i32.const 0) $mix)
      (memory 1)
      (func $mix (param i64 i64 i64 i64 i64 i64 i64) (result i64)
        local.get 0 local.get 1 i64.const 3 i64.mul i64.add local.get 2 i64.const 5 i64.mul
        i64.add local.get 3 i64.const 7 i64.mul i64.add local.get 4 i64.const 11 i64.mul i64.add
        local.get 5 i64.const 13 i64.mul i64.add local.get 6 i64.const 17 i64.mul i64.add)
      (func (export "run") (param $n i32) (result i64)
        (local $i i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $e i64)
        (local $f i64) (local $k i32)
        (loop $l
          i32.const 0 local.set $k
          (loop $inner  ;; (uses weigh more in here: the busiest locals get registers)
            local.get $a local.get $b i64.add local.set $a
            local.get $b local.get $c i64.xor local.set $b
            local.get $c local.get $d i64.sub local.set $c
            local.get $d local.get $e i64.add local.set $d
            local.get $e local.get $f i64.or local.set $e
            local.get $i i64.extend_i32_u local.get $f i64.add local.set $f
            local.get $k i32.const 1 i32.add local.tee $k i32.const 3 i32.lt_u br_if $inner)
          local.get $a local.get $b local.get $c local.get $d local.get $e local.get $f
          local.get $i i64.extend_i32_u call $mix
          local.get $a local.get $b local.get $c local.get $d local.get $e local.get $f
          i64.const 1 i32.const 0 call_indirect (type $t)
          i64.add local.get $a i64.add local.set $a
          local.get $i i32.const 1 i32.add local.tee $i
          i32.const 1 memory.grow drop
          local.get $n i32.lt_u br_if $l)
        local.get $a local.get $b i64.add local.get $c i64.add local.get $d i64.add
        local.get $e i64.add local.get $f i64.add))"""
    calls = [("run", (n,)) for n in (1, 2, 7)]
    assert _compare(src, calls) == len(calls)
    if pins:  # (the case this test is for)
        m = decode_module(wasm2py.wat2wasm(src))
        fe = emit.FuncEmitter(emit.ModuleInfo(m, Layout(m)), 1, {0, 1})
        fe.emit()
        assert len(fe.volatile) >= 3


def test_parameters_move_to_their_registers_at_once():
    # a leaf function whose busiest parameters are pinned so that two swap registers (r8 and
    # r9: the prologue's moves form a cycle) and others come from the stack and xmm registers
    src = """(module
      (func (export "f") (param i32 i32 i32 i32 i64 i64 f64 i32) (result i64)
        local.get 0 local.get 0 local.get 0 local.get 0 i32.add i32.add i32.add
        local.get 1 local.get 1 local.get 1 i32.add i32.add i32.const 100 i32.mul i32.add
        local.get 3 local.get 3 i32.add i32.const 10000 i32.mul i32.add
        local.get 2 i32.const 1000000 i32.mul i32.add
        i64.extend_i32_u local.get 4 i64.add local.get 5 i64.const 3 i64.mul i64.add
        local.get 6 i64.reinterpret_f64 i64.add local.get 7 i64.extend_i32_s i64.add))"""
    m = decode_module(wasm2py.wat2wasm(src))
    fe = emit.FuncEmitter(emit.ModuleInfo(m, Layout(m)), 0, {0})
    fe.emit()
    assert fe.pins[3] == emit.R8 and fe.pins[2] == emit.R9  # (sources r9 and r8)
    calls = [("f", (a, b, c, d, e, f, g, h)) for a, b, c, d in ((1, 2, 3, 4), (-1, 7, 0, 9))
             for e, f, g, h in ((5, 6, 1.5, -7), (-(1 << 63), 1 << 40, -0.0, 1 << 31 - 1))]
    assert _compare(src, calls) == len(calls)


def test_huge_frames_are_refused_early():
    many = " ".join(["i32"] * 20000)
    src = f"(module (func (local i64 i64) (local {many})) (func (result i32) i32.const 1))"
    m = decode_module(wasm2py.wat2wasm(src))
    blob = emit.compile_functions(m, [0, 1], Layout(m))
    assert blob.refused == {0: "20002 locals"} and set(blob.funcs) == {1}


def test_indices_must_be_defined_functions():
    src = '(module (import "env" "f" (func)) (func))'
    m = decode_module(wasm2py.wat2wasm(src))
    for bad in (0, 2, -1):
        with pytest.raises(ValueError):
            emit.compile_functions(m, [bad], Layout(m))
    assert set(emit.compile_functions(m, [1], Layout(m)).funcs) == {1}


def test_module_info_made_once_compiles_as_one_made_per_call():
    # a caller compiling function by function keeps one ModuleInfo (a pass over the module):
    # the code is the same as with one made per call; another module's or layout's is refused
    src = """(module (memory 1) (global $g (mut i32) (i32.const 0))
      (func $a (param i32) (result i32) local.get 0 global.get $g i32.add i32.load)
      (func $b (param i32) (result i32) local.get 0 call $a i32.const 1 i32.add))"""
    m = decode_module(wasm2py.wat2wasm(src))
    layout = Layout(m)
    info = emit.ModuleInfo(m, layout)
    for funcs in ([0], [1], [0, 1]):
        assert emit.compile_functions(m, funcs, layout, info=info) == \
            emit.compile_functions(m, funcs, layout)  # fmt: skip
    other = decode_module(wasm2py.wat2wasm(src))
    with pytest.raises(ValueError):
        emit.compile_functions(other, [0], Layout(other), info=info)
    with pytest.raises(ValueError):
        emit.compile_functions(m, [0], Layout(m), info=info)
    with pytest.raises(ValueError):
        emit.compile_functions(m, [0], layout, epoch=True, info=info)
