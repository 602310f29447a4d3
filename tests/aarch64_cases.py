"""The cases ``tests/test_aarch64.py`` (and ``python -m tools.aarch64``) run as AArch64 machine
code: the LLVM tier's instruction-level differential tests (``test_llvm.py``'s instruction
groups and modules, ``test_llvm_fuel.py``'s fuel modules, ``test_llvm_simd.py``'s SIMD groups),
each made into a :class:`~tools.aarch64.harness.Case` with the same modules and arguments."""

from __future__ import annotations

import itertools

import wasm2py
from tools.aarch64.harness import Call, Case, Extern

from . import test_fuel, test_llvm, test_llvm_fuel, test_llvm_simd
from .llvm_util import edges
from .wat import wat


def numeric_case() -> Case:
    """Every numeric instruction (``test_llvm.CASES``) on every combination of edge values."""
    funcs, calls = [], []
    for k, (name, params, result) in enumerate(test_llvm.CASES):
        ps = " ".join(params)
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        funcs.append(f'(func (export "f{k}") (param {ps}) (result {result}) ({name} {gets}))')
        domains = [edges(test_llvm.T[p]) for p in params]
        calls += [Call(f"f{k}", args) for args in itertools.product(*domains)]
    return Case("numeric", wat("(module " + "\n".join(funcs) + ")"), calls)


def numeric_names() -> dict[str, str]:
    """Export name -> instruction of :func:`numeric_case`."""
    return {f"f{k}": name for k, (name, _, _) in enumerate(test_llvm.CASES)}


#: ``test_llvm.py``'s modules run by :func:`module_case`
MODULE_CASES = ("control", "memory", "tables", "recursion", "hostcalls")

#: imported functions of every value type, called with and returning several values
HOSTCALLS = """(module
  (import "env" "r" (func $r (param funcref externref i32) (result externref funcref)))
  (import "env" "f" (func $f (param f32 f64 i64 v128) (result f64 i32 f32 v128)))
  (import "env" "n" (func $n))
  (elem declare func $g)
  (func $g (export "g") (param i32) (result i32) (local.get 0))
  (func (export "callr") (param externref) (result externref i32)
    (call $r (ref.func $g) (local.get 0) (i32.const 5)) (ref.is_null))
  (func (export "callf") (param f32 f64) (result f64 i32 f32 v128)
    (call $n)
    (call $f (local.get 0) (local.get 1) (i64.const -1) (v128.const i32x4 1 2 3 4)))
  (func (export "loop") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1)
                (i32.wrap_i64 (i64.trunc_sat_f64_s (call $f (f32.const 1) (f64.const 2)
                  (i64.extend_i32_u (local.get 0)) (v128.const i64x2 0 0)) (drop) (drop) (drop)))))
             (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))"""


def module_cases() -> list[Case]:
    """All of :data:`MODULE_CASES`."""
    return [module_case(name) for name in MODULE_CASES]


def module_case(name: str) -> Case:
    """One of ``test_llvm.py``'s control-flow, memory, table/global and recursion modules, with
    the calls its tests make."""
    control = [("classify", (k,)) for k in range(-1, 6)]
    control += [("loop_sum", (n,)) for n in (0, 1, 10, 1000)]
    control += [("multi", (1, 2)), ("ifelse", (0, 1.5)), ("ifelse", (1, 1.5)),
                ("sel", (1, 2, 0)), ("sel", (1, 2, 5)), ("brvalue", (0,)), ("brvalue", (1,)),
                ("loopparams", (10,)), ("deadcode", (4,)), ("unreach", ()),
                ("nested", (0,)), ("nested", (2,)), ("nested", (5,))]  # fmt: skip
    memory = []
    loads = ["i32.load", "i64.load", "f32.load", "f64.load", "i32.load8_s", "i32.load8_u",
             "i32.load16_s", "i32.load16_u", "i64.load8_s", "i64.load16_u", "i64.load32_s",
             "i64.load32_u", "far"]  # fmt: skip
    stores = [("store", 0x1122334455667788), ("store8", 0x1FF), ("store16", 0xABCDEF),
              ("store32", 0x8765432112345678), ("fstore", wasm2py.f32_from_bits(0x7FA00001)),
              ("dstore", wasm2py.f64_from_bits(0x7FF4000000000001))]  # fmt: skip
    for addr in test_llvm.ADDRS:
        memory += [(name, (addr, v)) for name, v in stores]
        memory += [(name, (addr,)) for name in loads]
    memory += [("fill", a) for a in [(0, 0x55, 10), (65530, 1, 6), (65530, 1, 7), (65536, 0, 0),
                                     (65537, 0, 0)]]  # fmt: skip
    memory += [("copy", a) for a in [(0, 4, 20), (4, 0, 20), (65500, 0, 36), (65500, 0, 37),
                                     (0, 65536, 0)]]  # fmt: skip
    memory += [("init", a) for a in [(100, 0, 15), (100, 1, 15), (65530, 0, 7), (0, 15, 0),
                                     (0, 16, 0)]]  # fmt: skip
    memory += [("drop", ()), ("init", (0, 0, 1)), ("init", (0, 0, 0))]
    for delta in (0, 1, 5, 1):
        memory += [("grow", (delta,)), ("size", ()), ("i32.load", (65536 * 2,))]
    tables = [("ci", (5, 0)), ("ci", (5, 1)), ("ci", (5, 2)), ("ci", (5, 3)), ("ci", (5, 4)),
              ("ci", (5, -1)), ("gget", ()), ("gset", (2**63 - 1,)), ("gget", ()), ("fbits", ()),
              ("c", ()), ("size", ()), ("grow", (2,)), ("size", ()), ("ci", (3, 5)),
              ("grow", (100,)), ("fill", (1, 2)), ("ci", (1, 1)), ("fill", (5, 2)),
              ("copy", (0, 4, 2)), ("ci", (1, 0)), ("copy", (5, 0, 2)), ("init", (2, 0, 2)),
              ("ci", (7, 2)), ("isnull", (3,)), ("init", (0, 1, 2)), ("edrop", ()),
              ("init", (0, 0, 1)), ("init", (0, 0, 0)), ("isnull", (9,)),
              ("xset", (1, Extern(7))), ("xget", (1,)), ("xget", (0,)), ("xset", (0, None)),
              ("xset", (2, Extern(1))), ("xget", (0,))]  # fmt: skip
    recursion = [("down", (n,)) for n in (0, 100, 5000, 9999, 10000, 10001, 10_000_000)]
    recursion += [("inf", (0,)), ("down", (9999,)), ("fat", (9000,)), ("fat", (20000,))]
    hostcalls = [("callr", (Extern(3),)), ("callr", (None,)), ("callf", (1.5, -2.0)),
                 ("callf", (wasm2py.f32_from_bits(0x7FA00001), float("inf"))), ("loop", (5,)),
                 ("callf", (0.0, -0.0))]  # fmt: skip
    text, calls = {"control": (test_llvm.CONTROL, control), "memory": (test_llvm.MEMORY, memory),
                   "tables": (test_llvm.TABLES, tables),
                   "recursion": (test_llvm.RECURSION, recursion),
                   "hostcalls": (HOSTCALLS, hostcalls)}[name]  # fmt: skip
    return Case(name, wat(text), [Call(n, a) for n, a in calls])


#: float expressions LLVM may fold with their constant (``x*1 -> x``...), which must still quiet
#: a signalling NaN (``test_llvm.py``'s NaN-rule tests); T is f32 or f64
NAN_RULE_EXPRS = [
    "(T.mul (local.get 0) (T.const 1))", "(T.mul (T.const -1) (local.get 0))",
    "(T.div (local.get 0) (T.const 1))", "(T.div (local.get 0) (T.const -1))",
    "(T.add (local.get 0) (T.const -0))", "(T.add (T.const 0) (local.get 0))",
    "(T.sub (local.get 0) (T.const 0))", "(T.sub (T.const -0) (local.get 0))",
    "(T.mul (local.get 0) (T.const 0.5))", "(T.add (local.get 0) (T.const 3))",
    "(T.div (T.const 1) (local.get 0))", "(T.mul (local.get 0) (T.const nan:0x1))",
    "(T.min (local.get 0) (T.const 1))", "(T.max (T.const -0) (local.get 0))",
    "(T.sqrt (local.get 0))", "(T.nearest (local.get 0))", "(T.ceil (local.get 0))",
    "(T.neg (local.get 0))", "(T.abs (local.get 0))", "(T.copysign (local.get 0) (T.const -1))",
]  # fmt: skip


#: the same for SIMD float shapes (S: f32x4 or f64x2; Z: its -0 constant, O: its 1 constant)
SIMD_NAN_RULE_EXPRS = [
    "(S.max (v128.const Z) (local.get 0))", "(S.min (local.get 0) (v128.const Z))",
    "(S.add (local.get 0) (v128.const Z))", "(S.mul (v128.const O) (local.get 0))",
    "(S.div (local.get 0) (S.splat (T.const -1)))", "(S.sqrt (local.get 0))",
    "(S.min (local.get 0) (v128.const O))", "(S.neg (local.get 0))",
]  # fmt: skip


def nan_rule_case() -> Case:
    """Each of :data:`NAN_RULE_EXPRS` and :data:`SIMD_NAN_RULE_EXPRS`, and demote/promote round
    trips, with the result's bits as an integer (so they compare exactly) on signalling and
    quiet NaNs and ordinary values."""
    funcs, calls = [], []
    for t, it, bits in (("f32", "i32", (0x7FA00000, 0xFFA00001, 0x7F800001, 0x7FC00000,
                                        0xFFC12345, 0x3FC00000, 0x80000000, 0x7F800000)),
                        ("f64", "i64", (0x7FF4000000000000, 0xFFF4000000000001,
                                        0x7FF0000000000001, 0x7FF8000000000000,
                                        0xFFF8000000000123, 0x3FF8000000000000,
                                        0x8000000000000000, 0x7FF0000000000000))):  # fmt: skip
        conv = wasm2py.f32_from_bits if t == "f32" else wasm2py.f64_from_bits
        for e in nan_rule_names(t).values():
            k = len(funcs)
            funcs.append(f'(func (export "f{k}") (param {t}) (result {it}) '
                         f"({it}.reinterpret_{t} {e}))")  # fmt: skip
            calls += [Call(f"f{k}", (conv(b),)) for b in bits]
        shape, w = ("f32x4", 32) if t == "f32" else ("f64x2", 64)
        lanes = 128 // w
        vectors = [sum(bits[(i + j) % len(bits)] << (w * j) for j in range(lanes))
                   for i in range(len(bits))]  # fmt: skip
        for e in simd_nan_rule_names(shape).values():
            k = len(funcs)
            funcs.append(f'(func (export "f{k}") (param v128) (result v128) {e})')
            calls += [Call(f"f{k}", (v,)) for v in vectors]
    return Case("nan-rules", wat("(module " + "\n".join(funcs) + ")"), calls)


def nan_rule_names(t: str) -> dict[int, str]:
    """Position -> expression of the scalar functions of :func:`nan_rule_case` for ``t``."""
    exprs = [e.replace("T.", f"{t}.") for e in NAN_RULE_EXPRS]
    if t == "f32":
        exprs.append("(f32.demote_f64 (f64.promote_f32 (local.get 0)))")
    else:
        exprs.append("(f64.promote_f32 (f32.demote_f64 (local.get 0)))")
    return dict(enumerate(exprs))


def simd_nan_rule_names(shape: str) -> dict[int, str]:
    """Position -> expression of the SIMD functions of :func:`nan_rule_case` for ``shape``."""
    t, n = ("f32", 4) if shape == "f32x4" else ("f64", 2)
    zero = f"{shape} " + " ".join(["-0"] * n)
    one = f"{shape} " + " ".join(["1"] * n)
    return {k: e.replace("S.", f"{shape}.").replace("T.", f"{t}.").replace("Z", zero)
            .replace("O", one) for k, e in enumerate(SIMD_NAN_RULE_EXPRS)}  # fmt: skip


def nan_rule_exprs() -> list[tuple[str, str]]:
    """(expression, result kind: f32, f64, f32x4 or f64x2) of each function of
    :func:`nan_rule_case`, in order."""
    out = []
    for t, shape in (("f32", "f32x4"), ("f64", "f64x2")):
        out += [(e, t) for e in nan_rule_names(t).values()]
        out += [(e, shape) for e in simd_nan_rule_names(shape).values()]
    return out


#: starting fuels for every call of the fuel cases: running out at many points, and enough
FUELS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 4181, 10946,
         10**5, 10**7)  # fmt: skip


def fuel_cases() -> list[Case]:
    """``test_llvm_fuel.py``'s modules with each of its cost tables: every call from each of
    :data:`FUELS`, so the AArch64 code must stop at the same instruction with the same fuel
    left as both other tiers."""
    scripts = {
        "loop": (test_fuel.LOOP, [("count", (10,)), ("spin", ())]
                 + [("fill", (n,)) for n in (0, 1, 63, 64, 200, 4096, 70000)]),
        "control": (test_llvm_fuel.CONTROL,
                    [("fib", (12,)), ("dispatch", (0, 9)), ("dispatch", (1, 9)),
                     ("dispatch", (0, 3)), ("deep", (50,)), ("deep", (20_000,)),
                     ("divtrap", (0,)), ("divtrap", (3,))]
                    + [("indirect", (k,)) for k in range(5)]
                    + [("switch", (n,)) for n in (1, 2, 3, 4, 11)]
                    + [("tails", (n,)) for n in range(4)]),
        "bulk": (test_llvm_fuel.BULK,
                 [("fill", (0, n)) for n in (0, 63, 64, 65, 128, 1000, 65536, 70000)]
                 + [("copy", (100, 0, n)) for n in (0, 64, 1000, 70000)]
                 + [("fill", (65536, 0)), ("fill", (65000, 1000)), ("many", (12,))]
                 + [("init", a) for a in ((0, 0, 64), (10, 5, 70), (0, 60, 20), (65530, 0, 10))]
                 + [("tfill", a) for a in ((0, 64), (10, 200), (0, 300), (100, 250))]
                 + [("tcopy", a) for a in ((0, 0, 64), (5, 100, 195), (250, 0, 64))]
                 + [("tinit", a) for a in ((0, 0, 64), (0, 10, 65), (250, 0, 75))]),
        "host": (test_llvm_fuel.HOST, [("work", (n,)) for n in (0, 3, 40)]
                 + [("refilled", (1000,)), ("refilled", (0,))]),
    }  # fmt: skip
    out = []
    for cname, costs in test_llvm_fuel.COSTS.items():
        for name, (data, calls) in scripts.items():
            # (spin never ends: the largest fuels would take seconds in the Python tier)
            script = [Call(n, a, fuel) for n, a in calls
                      for fuel in (FUELS[:-2] if n == "spin" else FUELS)]  # fmt: skip
            out.append(Case(f"fuel-{name}-{cname}", data, script, fuel_costs=costs))
    return out


#: the SIMD cases of :func:`simd_case`: a group per shape, the memory and boundary modules
SIMD_CASES = tuple(f"simd-{shape}" for shape in sorted(test_llvm_simd.GROUPS)) + (
    "simd-memory", "simd-boundary")  # fmt: skip


def simd_cases() -> list[Case]:
    """All of :data:`SIMD_CASES`."""
    return [simd_case(name) for name in SIMD_CASES]


def simd_case(name: str) -> Case:
    """One of ``test_llvm_simd.py``'s instruction groups (one module per shape, every
    instruction on its edge lanes), its memory module (every load and store form in and out of
    bounds) or its boundary module (v128 parameters, results, globals, host calls)."""
    shape = name.removeprefix("simd-")
    if shape in test_llvm_simd.GROUPS:
        group = test_llvm_simd.GROUPS[shape]
        calls = [Call(f"f{k}", args) for k, (text, params) in enumerate(group)
                 for args in test_llvm_simd._arg_lists(text, params)]  # fmt: skip
        return Case(name, wat(test_llvm_simd._module_for(group)), calls)
    if shape == "memory":
        size = 65536
        v = 0xF0E0D0C0B0A090807060504030201000 ^ 0x0123456789ABCDEF0123456789ABCDEF
        calls = []
        for k, (_name, (kind, _)) in enumerate(sorted(test_llvm_simd.MEMORY_TEXT.items())):
            for off in (0, 7):
                for addr in (0, 1, 100, size - 40, size - 23, size - 17, size - 16, size - 15,
                             size - 9, size - 8, size - 4, size - 2, size - 1, size,
                             0xFFFFFFF0, 0xFFFFFFFF):  # fmt: skip
                    calls.append(Call(f"m{k}_{off}", (addr,) if kind == "load" else (addr, v)))
        return Case(name, _simd_memory_module(), calls)
    a = 0x0123456789ABCDEF_FEDCBA9876543210
    b = (1 << 127) | 5
    calls = [("callh", (a,)), ("callh", (b,)), ("swap", (a, b)),
             ("swap", (a.to_bytes(16, "little"), b)), ("swap", (-1, -(1 << 127))),
             ("sel", (a, b, 1)), ("sel", (a, b, 0)), ("selt", (a, b, 2)), ("selt", (a, b, 0)),
             ("getg", ()), ("setg", ((1 << 128) - 1,)), ("getg", ()), ("getc", ()),
             ("loop", ((1 << 128) - 1, 3)), ("zero", ())]  # fmt: skip
    return Case(name, wat(test_llvm_simd.BOUNDARY), [Call(n, args) for n, args in calls])


def _simd_memory_module() -> bytes:
    """``test_llvm_simd``'s memory module with its memory filled with a pattern (a data segment
    instead of the test's write from Python)."""
    pattern = bytes((i * 37 + 11) & 0xFF for i in range(65536))
    text = test_llvm_simd._memory_module()
    data = "".join(f"\\{b:02x}" for b in pattern)
    return wat(text.replace('(memory (export "mem") 1 2)',
                            f'(memory (export "mem") 1 2) (data (i32.const 0) "{data}")'))  # fmt: skip


def simd_names(case: Case) -> dict[str, str]:
    """Export name -> instruction text of a SIMD group case."""
    shape = case.name.removeprefix("simd-")
    group = test_llvm_simd.GROUPS.get(shape, [])
    return {f"f{k}": text for k, (text, _) in enumerate(group)}
