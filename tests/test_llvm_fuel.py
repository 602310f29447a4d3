"""Fuel metering in the LLVM tier: both tiers must consume exactly the same fuel.

For every module here the same export runs in both tiers from the same starting fuel, for every
starting fuel from 0 to what the call needs (or a sample of them when that is large): the
result or trap code, the fuel left and the memory must be equal, so both tiers stop at the same
instruction. The segment rule itself (``wasm2py.fuel.segment_costs``) is checked against the
Python tier's code generator on every function of the spec suite.
"""

from __future__ import annotations

import random

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

import wasm2py  # noqa: E402
from wasm2py import Caller, Config, Engine, FuelCosts, Func, Instance, Module, Store, Trap  # noqa: E402
from wasm2py import llvm as L  # noqa: E402
from wasm2py.binary.opcodes import Op  # noqa: E402
from wasm2py.errors import Error, TrapCode  # noqa: E402
from wasm2py.fuel import segment_costs  # noqa: E402
from wasm2py.types import FuncType, ValType  # noqa: E402

from .test_fuel import LOOP, count_cost  # noqa: E402
from .wat import wat  # noqa: E402

I32 = ValType.I32
COSTS = {
    "default": FuelCosts(),
    "custom": FuelCosts(instruction=2, bulk_per_64=3,
                        per_opcode=((Op.I32_ADD, 5), (Op.CALL, 7), (Op.BR_IF, 0), (Op.NOP, 3),
                                    (Op.LOOP, 0), (Op.LOCAL_GET, 1), (Op.CALL_INDIRECT, 11))),
    "zero-bulk": FuelCosts(bulk_per_64=0, per_opcode=((Op.BLOCK, 0), (Op.END, 9))),
}  # fmt: skip



def fuel_limits(used: int, samples: int):
    """Starting fuels to try for a call that takes ``used``: every one up to ``used + 1`` when
    that is few, else the edges around ``used`` and ``samples`` random ones below it."""
    if used <= 300:
        return range(used + 2)
    rnd = random.Random(used)
    return sorted({0, 1, used - 1, used, used + 1, *(rnd.randrange(used) for _ in range(samples))})

class Pair:
    """One store with fuel metering; a module instantiated in both tiers."""

    def __init__(self, data: bytes, costs: FuelCosts, imports=None):
        self.store = Store(Engine(Config(consume_fuel=True, fuel_costs=costs, cache=False)))
        mod = Module(self.store.engine, data)
        self.py = Instance(self.store, mod, imports(self.store) if imports else {}).exports
        cm = L.compile_module(mod._module, fuel_costs=costs)
        self.ll = L.instantiate(self.store, cm, imports(self.store) if imports else {}).exports

    def run(self, exports, name: str, args, fuel: int):
        self.store.set_fuel(fuel)
        try:
            r = ("ok", exports[name](*args))
        except Trap as t:
            r = ("trap", t.code)
        mem = bytes(exports["mem"].buffer) if "mem" in exports else b""
        return r, self.store.get_fuel(), mem

    def agree(self, name: str, args=(), fuels=None, plenty: int = 10**9) -> int:
        """Both tiers agree for each starting fuel; returns the fuel a full call takes."""
        a = self.run(self.py, name, args, plenty)
        b = self.run(self.ll, name, args, plenty)
        assert a == b, (name, args, plenty, a[:2], b[:2])
        used = plenty - a[1]
        for fuel in fuel_limits(used, 120) if fuels is None else fuels:
            a = self.run(self.py, name, args, fuel)
            b = self.run(self.ll, name, args, fuel)
            assert a == b, (name, args, fuel, a[:2], b[:2])
        return used


@pytest.fixture(params=list(COSTS), ids=list(COSTS))
def costs(request):
    return COSTS[request.param]


def test_loop_module(costs):
    p = Pair(LOOP, costs)
    used = p.agree("count", (10,))
    if costs == FuelCosts():
        assert used == count_cost(10)
    for n in (0, 1, 63, 64, 200, 4096, 70000):
        p.agree("fill", (n,))
    r = p.run(p.ll, "spin", (), 1000)
    assert r[0] == ("trap", TrapCode.OUT_OF_FUEL)


CONTROL = wat("""
(module
  (memory (export "mem") 1)
  (type $bin (func (param i32 i32) (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) $add $sub $fib)
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (nop) (i32.sub (local.get 0) (local.get 1)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "dispatch") (param i32 i32) (result i32) (local i32 i32)
    ;; sum over k < n of table[k % 4](acc, k): hits a null slot and a type mismatch
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get 2) (local.get 1)))
        (local.set 3 (call_indirect (type $bin) (local.get 3) (local.get 2)
                        (i32.rem_u (i32.add (local.get 0) (local.get 2)) (i32.const 2))))
        (local.set 2 (i32.add (local.get 2) (i32.const 1)))
        (br $l)))
    (local.get 3))
  (func (export "indirect") (param i32) (result i32)
    (call_indirect (type $bin) (i32.const 5) (i32.const 3) (local.get 0)))
  (func (export "switch") (param i32) (result i32) (local i32)
    (loop $l
      (block $c (block $b (block $a
        (br_table $a $b $c $a (i32.and (local.get 0) (i32.const 3))))
        (local.set 1 (i32.add (local.get 1) (i32.const 1))) (nop) (br $c))
        (local.set 1 (i32.add (local.get 1) (i32.const 10))))
      (local.set 1 (i32.add (local.get 1) (i32.const 100)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get 0) (i32.const 0))))
    (local.get 1))
  (func (export "tails") (param i32) (result i32)
    ;; br_if in tail position (no new segment: the nops are paid with the branch), br_if
    ;; that needs one, an if without else, unreachable code after br
    (block $out (result i32)
      (block $t
        (br_if $t (i32.eqz (local.get 0))) (nop) (nop))
      (block $u (result i32)
        (i32.const 7)
        (br_if $u (i32.eq (local.get 0) (i32.const 1)))
        (drop) (i32.const 8))
      (if (i32.gt_u (local.get 0) (i32.const 2)) (then (nop) (nop) (br $out (i32.const 3))))
      (br $out)
      (i32.const 99) (drop))
    (i32.const 1) (i32.add))
  (func (export "deep") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (i32.const 1) (call 7 (i32.sub (local.get 0) (i32.const 1)))))
      (else (i32.const 0))))
  (func (export "divtrap") (param i32) (result i32)
    (nop) (nop) (i32.div_u (i32.const 10) (local.get 0)))
)""")


def test_calls_indirect_calls_and_branches(costs):
    p = Pair(CONTROL, costs)
    p.agree("fib", (12,))
    for args in ((0, 9), (1, 9), (0, 3)):
        p.agree("dispatch", args)
    for k in range(5):
        p.agree("indirect", (k,))  # add, sub, fib (type mismatch), null, out of bounds
    for n in (1, 2, 3, 4, 11):
        p.agree("switch", (n,))
    for n in (0, 1, 2, 3):
        p.agree("tails", (n,))
    p.agree("deep", (50,))
    p.agree("divtrap", (0,))
    p.agree("divtrap", (3,))


def test_call_depth_trap_keeps_agreeing():
    p = Pair(CONTROL, FuelCosts())
    a = p.run(p.py, "deep", (20_000,), 10**7)
    b = p.run(p.ll, "deep", (20_000,), 10**7)
    assert a[0] == b[0] == ("trap", TrapCode.CALL_STACK_EXHAUSTED)
    assert a[1] == b[1]


BULK = wat("""
(module
  (memory (export "mem") 1)
  (data $d "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
  (table $t 300 funcref)
  (table $u 300 funcref)
  (elem $e func $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f
                 $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f
                 $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f)
  (func $f)
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 0xab) (local.get 1)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32)
    (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tfill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $f) (local.get 1)))
  (func (export "tcopy") (param i32 i32 i32)
    (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tinit") (param i32 i32 i32)
    (table.init $t $e (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tsize") (result i32) (table.size $u))
  (func (export "many") (param i32) (local i32)
    (loop $l
      (memory.fill (i32.mul (local.get 1) (i32.const 100)) (local.get 1) (i32.const 130))
      (memory.copy (i32.const 5000) (i32.const 0) (i32.mul (local.get 1) (i32.const 64)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0)))))
)""")


def test_bulk_operations(costs):
    p = Pair(BULK, costs)
    for n in (0, 63, 64, 65, 128, 1000, 65536, 70000):  # the last one is out of bounds
        p.agree("fill", (0, n))
        p.agree("copy", (100, 0, n))
    p.agree("fill", (65536, 0))
    p.agree("fill", (65000, 1000))  # out of bounds: charged first
    for args in ((0, 0, 64), (10, 5, 70), (0, 60, 20), (65530, 0, 10)):
        p.agree("init", args)
    for args in ((0, 64), (10, 200), (0, 300), (100, 250)):
        p.agree("tfill", args)
    for args in ((0, 0, 64), (5, 100, 195), (250, 0, 64)):
        p.agree("tcopy", args)
    for args in ((0, 0, 64), (0, 10, 65), (250, 0, 75)):
        p.agree("tinit", args)
    p.agree("many", (12,))


HOST = wat("""
(module
  (import "env" "charge" (func $charge (param i32)))
  (import "env" "refill" (func $refill (param i32)))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (memory (export "mem") 1)
  (func $count (export "count") (param i32) (result i32) (local i32)
    (block $b (loop $l
      (br_if $b (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func (export "work") (param i32) (result i32)
    (call $charge (local.get 0))
    (i32.add (call $count (i32.const 5)) (call $reenter (i32.const 4))))
  (func (export "refilled") (param i32) (result i32)
    (call $refill (local.get 0))
    (call $count (i32.const 30)))
)""")


def host_imports(store):
    def charge(caller: Caller, n):
        caller.consume_fuel(n)

    def refill(n):
        if store.get_fuel() < 500:
            store.set_fuel(store.get_fuel() + n)

    def reenter(caller: Caller, n):
        return caller.get("count")(n)

    t = FuncType
    return {"env": {
        "charge": Func(store, t((I32,), ()), charge),
        "refill": Func(store, t((I32,), ()), refill),
        "reenter": Func(store, t((I32,), (I32,)), reenter),
    }}  # fmt: skip


def test_host_functions_see_and_change_the_fuel(costs):
    p = Pair(HOST, costs, host_imports)
    for n in (0, 3, 40):
        p.agree("work", (n,))
    p.agree("refilled", (1000,))
    p.agree("refilled", (0,))
    # a host function's OUT_OF_FUEL trap takes nothing
    for ex in (p.py, p.ll):
        p.store.set_fuel(200)
        with pytest.raises(Trap) as e:
            ex["work"](10**6)
        assert e.value.code is TrapCode.OUT_OF_FUEL
        assert 0 < p.store.get_fuel() < 200


def test_python_tier_function_called_from_jitted_code():
    """An LLVM instance importing a Python-tier function: the fuel flows through both."""
    costs = COSTS["custom"]
    store = Store(Engine(Config(consume_fuel=True, fuel_costs=costs, cache=False)))
    py_loop = Instance(store, Module(store.engine, LOOP), {}).exports
    caller = wat("""
      (module (import "m" "count" (func $c (param i32) (result i32)))
        (func (export "twice") (param i32) (result i32)
          (i32.add (call $c (local.get 0)) (call $c (i32.add (local.get 0) (i32.const 1))))))""")
    mod = Module(store.engine, caller)
    py = Instance(store, mod, {"m": {"count": py_loop["count"]}}).exports
    ll = L.instantiate(store, L.compile_module(mod._module, fuel_costs=costs),
                       {"m": {"count": py_loop["count"]}}).exports  # fmt: skip
    used = None
    for fuel in range(0, 400):
        out = []
        for ex in (py, ll):
            store.set_fuel(fuel)
            try:
                r = ex["twice"](6)
            except Trap as t:
                r = t.code
            out.append((r, store.get_fuel()))
        assert out[0] == out[1], (fuel, out)
        if used is None and out[0][0] == 6 * 7 // 2 + 7 * 8 // 2:
            used = fuel - out[0][1]
    assert used is not None


def test_kernels_consume_the_same_fuel():
    from tools.bench.build import KERNELS, ToolMissing, build_kernel

    costs = FuelCosts()
    for name, k in KERNELS.items():
        if name == "simd_filter":
            continue
        try:
            data = build_kernel(name).read_bytes()
        except ToolMissing as e:
            pytest.skip(str(e))
        p = Pair(data, costs)
        used = p.agree("run", (k.quick_n,), fuels=[])
        assert used > 0
        rnd = random.Random(name)
        p.agree("run", (k.quick_n,), fuels=[rnd.randrange(used) for _ in range(6)])


def test_fuel_beyond_64_bits():
    p = Pair(LOOP, FuelCosts())
    p.store.set_fuel(2**70 + 5)
    assert p.ll["count"](10) == 55
    assert p.store.get_fuel() == 2**70 + 5 - count_cost(10)


def test_segment_rule_matches_the_python_tier_on_the_spec_suite():
    """``wasm2py.fuel.segment_costs`` against the segments the Python tier's generator emits,
    in both of its shapes (structured, and the flat fallback)."""
    from wasm2py.translate.codegen import FuncGen
    from wasm2py.translate.flat import FlatGen
    from wasm2py.translate.module import ModuleGen
    from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files

    from .spec_modules import valid_modules

    try:
        files = list_wast_files(include_simd=False)
    except SpecSuiteMissing:
        pytest.skip("spec suite missing")
    costs = FuelCosts(instruction=2, per_opcode=((Op.NOP, 5), (Op.BR_IF, 3), (Op.LOOP, 0),
                                                  (Op.BLOCK, 0), (Op.END, 7)))  # fmt: skip
    checked = 0
    for f, _, _, m in valid_modules(files):
        gen = ModuleGen(m, False, costs)
        for k, code in enumerate(m.codes):
            index = m.num_imported_funcs + k
            body = code.body
            expected = segment_costs(body, costs)
            for shape in (FuncGen, FlatGen):
                g = shape(gen, index, gen.func_types[index], code.locals, body, "f")
                g.run()
                assert g.fuel_segments == expected, (f.name, index, shape.__name__)
            checked += 1
    assert checked > 1000


def test_no_fuel_code_without_costs_and_cache_keys_differ(tmp_path):
    m = Module(Engine(Config(cache=False)), LOOP)._module
    plain = L.compile_module(m, keep_ir=True)
    fueled = L.compile_module(m, keep_ir=True, fuel_costs=FuelCosts())
    assert "fuel" not in plain.ir_text and "trap_out_of_fuel" in fueled.ir_text
    assert plain.fuel_costs is None
    tm = L.jit.host_target_machine(2)
    keys = {L.cache_key(m, 2, tm), L.cache_key(m, 2, tm, FuelCosts()),
            L.cache_key(m, 2, tm, FuelCosts(bulk_per_64=2))}  # fmt: skip
    assert len(keys) == 3
    # the object cache keeps both variants apart
    store = Store(Engine(Config(consume_fuel=True, cache=False)))
    a = L.compile_module(m, cache_dir=tmp_path, fuel_costs=FuelCosts())
    b = L.compile_module(m, cache_dir=tmp_path, fuel_costs=FuelCosts())
    assert "load" in b.timings and b.fuel_costs == FuelCosts()
    for cm in (a, b):
        store.set_fuel(50)
        with pytest.raises(Trap):
            L.instantiate(store, cm).exports["spin"]()
    assert len(list(tmp_path.glob("llvm-*.o"))) == 1


def test_fuel_module_needs_a_fuel_store():
    m = Module(Engine(Config(cache=False)), LOOP)._module
    cm = L.compile_module(m, fuel_costs=FuelCosts())
    with pytest.raises(Error):
        L.instantiate(wasm2py.Store(), cm)
    # a module compiled without fuel runs unmetered in a fuel store
    store = Store(Engine(Config(consume_fuel=True, cache=False)))
    store.set_fuel(3)
    assert L.instantiate(store, L.compile_module(m)).exports["count"](10) == 55
    assert store.get_fuel() == 3


def test_host_function_sets_fuel_beyond_64_bits():
    data = wat("""
      (module (import "env" "big" (func $big))
        (func (export "f") (result i32) (call $big) (i32.const 1)))""")

    def imports(store):
        return {"env": {"big": Func(store, FuncType((), ()), lambda: store.set_fuel(2**70))}}

    p = Pair(data, FuelCosts(), imports)
    for ex in (p.py, p.ll):
        p.store.set_fuel(100)
        assert ex["f"]() == 1
        assert p.store.get_fuel() == 2**70  # the i32.const after the call was prepaid
