"""On-stack replacement in ``tier="auto"``: a Python-tier frame still looping when its
function's jitted code is attached moves into it at its next loop header, with its locals and
operands, and finishes there (results, traps, pauses and fuel as if it had not moved).

Each test attaches the unit itself at a chosen ``HOT<index>()`` call of the running frame (the
background compile would make the moment depend on timing). Expected values are computed by
hand (closed forms or plain Python loops)."""

from __future__ import annotations

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed (pip install 'wasm2py[test]')")

import wasm2py  # noqa: E402
from wasm2py import Config, Engine, HostTrap, Instance, Module, Store  # noqa: E402

from .wat import wat  # noqa: E402

PROG = """(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  ;; squares n..1, with an operand (7) below the loop
  (func (export "sum") (param $n i32) (result i32) (local $s i32)
    i32.const 7
    block $out loop $l
      local.get $n i32.eqz br_if $out
      local.get $s local.get $n local.get $n i32.mul i32.add local.set $s
      local.get $n i32.const 1 i32.sub local.set $n
      br $l
    end end
    local.get $s i32.add)
  ;; Fibonacci with the pair as the loop's parameters, 1000 below them
  (func (export "fib") (param $n i32) (result i32) (local $t i32) (local $u i32)
    i32.const 1000 i32.const 0 i32.const 1
    loop $l (param i32 i32) (result i32 i32)
      local.set $t local.get $t i32.add local.set $u local.get $t local.get $u
      local.get $n i32.const 1 i32.sub local.tee $n br_if $l
    end
    drop i32.add)
  ;; sum of i*j over i, j < n
  (func (export "nest") (param $n i32) (result i64) (local $i i32) (local $j i32) (local $a i64)
    loop $outer
      i32.const 0 local.set $j
      loop $inner
        local.get $a local.get $i local.get $j i32.mul i64.extend_i32_u i64.add local.set $a
        local.get $j i32.const 1 i32.add local.tee $j local.get $n i32.lt_u br_if $inner
      end
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $outer
    end
    local.get $a)
  ;; divides by n - k for k = 0, 1, ...: traps when k reaches n
  (func (export "divs") (param $n i32) (result i32) (local $k i32) (local $s i32)
    loop $l
      local.get $s i32.const 100000 local.get $n local.get $k i32.sub i32.div_u i32.add
      local.set $s
      local.get $k i32.const 1 i32.add local.set $k
      br $l
    end
    unreachable)
  ;; asks the host n times: the sum of its answers
  (func (export "asks") (param $n i32) (result i32) (local $s i32)
    loop $l
      local.get $s local.get $n call $ask i32.add local.set $s
      local.get $n i32.const 1 i32.sub local.tee $n br_if $l
    end
    local.get $s))
"""
SUM, FIB, NEST, DIVS, ASKS = range(1, 6)
_ENGINES: dict = {}


def s32(x: int) -> int:
    """``x`` as the embedder sees an i32: wrapped, signed."""
    x %= 2**32
    return x - 2**32 if x >= 2**31 else x


def instance(fuel: bool = False, ask=lambda x: x) -> Instance:
    """An instance that stays in the Python tier unless a test attaches a unit (one engine per
    configuration, so the units compile once)."""
    engine = _ENGINES.get(fuel)
    if engine is None:
        engine = _ENGINES[fuel] = Engine(Config(tier="auto", baseline=False, cache=False, tier_up_threshold=10**9,
                                                consume_fuel=fuel))  # fmt: skip
    store = Store(engine)
    return Instance(store, Module(engine, wat(PROG)), {"env": {"ask": ask}})


def move_at(inst: Instance, index: int, k: int) -> None:
    """Attach the unit of function ``index`` at its ``k``-th ``HOT`` call (1: the entry of its
    next call, then one per loop iteration), as the tier-up would."""
    tu = inst._tierup
    ns = inst._state.ns
    engine = inst.store.engine
    m = inst.module._module
    seen = [0]

    def hook():
        seen[0] += 1
        if seen[0] == k:
            tu._ready += [engine.load_unit(m, (), shell=True), engine.load_unit(m, [index])]
            tu.attach_ready()
            return ns[f"HOT{index}"]()
        return None

    ns[f"HOT{index}"] = hook


def test_a_long_loop_started_in_python_finishes_jitted():
    inst = instance()
    assert inst.exports.sum(0) == 7  # (binds the Python-tier code and its counter)
    move_at(inst, SUM, 10)
    assert inst.exports.sum(5000) == s32(7 + sum(i * i for i in range(1, 5001)))
    assert inst._tierup.moved == 1 and inst.function_tiers()[SUM] == "llvm"
    assert inst.exports.sum(3) == 7 + 14  # jitted from its entry now
    assert inst._tierup.moved == 1


def test_loop_parameters_and_the_operands_below_move_along():
    inst = instance()
    assert inst.exports.fib(1) == 1001
    move_at(inst, FIB, 4)  # entry, then the third iteration's header
    a, b = 0, 1
    for _ in range(90):
        a, b = b, (a + b) % 2**32
    assert inst.exports.fib(90) == s32(1000 + a)
    assert inst._tierup.moved == 1


@pytest.mark.parametrize("k", [2, 5], ids=["outer", "inner"])
def test_nested_loops_move_at_either_header(k):
    inst = instance()
    assert inst.exports.nest(1) == 0
    move_at(inst, NEST, k)  # 2: the outer loop's first header; 5: the inner one's third
    assert inst.exports.nest(300) == (300 * 299 // 2) ** 2
    assert inst._tierup.moved == 1


def test_a_trap_after_the_move_has_its_code():
    inst = instance()
    with pytest.raises(wasm2py.Trap):
        inst.exports.divs(0)  # (binds the Python-tier code: it divides by 0 at once)
    move_at(inst, DIVS, 3)
    with pytest.raises(wasm2py.Trap) as e:
        inst.exports.divs(50)
    assert e.value.code is wasm2py.TrapCode.INTEGER_DIVIDE_BY_ZERO
    assert inst._tierup.moved == 1 and inst.function_tiers()[DIVS] == "llvm"


def test_a_moved_frame_pauses_and_resumes_jitted():
    def ask(x):
        if x == 3:
            raise RuntimeError("ask me later")
        return x

    inst = instance(ask=ask)
    assert inst.exports.asks(1) == 1
    move_at(inst, ASKS, 5)
    p = inst.exports.asks.call_resumable(40)
    assert isinstance(p, HostTrap) and inst._tierup.moved == 1
    assert p.depth == 1  # the jitted frame alone: the Python frame it left is not resumed
    assert p.resume(1000).results == sum(range(1, 41)) - 3 + 1000


@pytest.mark.parametrize("fuel", [10**6, 5_000], ids=["enough", "runs-out"])
def test_fuel_is_exact_across_the_move(fuel):
    def run(move: bool):
        inst = instance(fuel=True)
        store = inst.store
        store.set_fuel(100)
        inst.exports.sum(0)
        if move:
            move_at(inst, SUM, 20)
        store.set_fuel(fuel)
        try:
            out = inst.exports.sum(400)
        except wasm2py.Trap as t:
            out = t.code
        return out, store.get_fuel(), inst._tierup.moved

    pure = run(False)
    moved = run(True)
    assert moved == (*pure[:2], 1)
    if fuel == 5_000:
        assert pure[0] is wasm2py.TrapCode.OUT_OF_FUEL
    else:
        assert pure[0] == s32(7 + sum(i * i for i in range(1, 401)))


def test_only_tier_up_units_get_loop_resume_points():
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.lower import build_text
    from wasm2py.validate.validator import validate_module

    module = decode_module(wat(PROG))
    validate_module(module)
    whole = build_text(module)
    unit = build_text(module, batch=(frozenset({SUM, FIB}), False))
    # (the resume blocks are named "osr": one per loop of the unit's functions, none in a
    # whole-module compile, where $sum calls no host function and so has no entry switch)
    assert "\nosr" not in whole
    assert unit.count("\nosr") == 2


def test_the_same_body_elsewhere_in_another_module_gets_its_own_code():
    """Resume points are keyed by wasm offset: a unit compiled for one module does not serve a
    function with the same body at another offset of another module (before, the move
    trapped: no point at that key)."""
    loop = """(func (export "count") (param $n i32) (result i32) (local $k i32)
      loop $l
        local.get $k i32.const 1 i32.add local.set $k
        local.get $k local.get $n i32.lt_u br_if $l
      end
      local.get $k)"""
    engine = Engine(Config(tier="auto", baseline=False, cache=False, tier_up_threshold=10**9))
    for pad in ("", "i32.const 2 drop i32.const 3 drop"):
        src = f'(module (func (export "f") i32.const 1 drop {pad}) {loop})'
        inst = Instance(Store(engine), Module(engine, wat(src)), {})
        assert inst.exports.count(0) == 1
        move_at(inst, 1, 4)
        assert inst.exports.count(1000) == 1000
        assert inst._tierup.moved == 1


def test_a_local_not_set_yet_moves_as_zero_whatever_its_type():
    """v(n) = n + (n-1) + ... + 1, through a v128 local $x that the loop sets before reading
    (so the Python tier never zeroes it) and an f64 one likewise: at the first loop header
    neither is set yet, and the move must still go through (the fuzzer found a TypeError
    for v128). v(100) = 5050."""
    src = wat("""(module
      (func (export "v") (param $n i32) (result i32) (local $x v128) (local $y f64) (local $s i32)
        loop $l
          (local.set $x (i32x4.splat (local.get $n)))
          (local.set $y (f64.convert_i32_u (i32x4.extract_lane 0 (local.get $x))))
          (local.set $s (i32.add (local.get $s) (i32.trunc_f64_u (local.get $y))))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))
        end
        local.get $s))""")
    engine = Engine(Config(tier="auto", baseline=False, cache=False, tier_up_threshold=10**9))
    inst = Instance(Store(engine), Module(engine, src), {})
    assert inst.exports.v(1) == 1
    move_at(inst, 0, 2)  # the entry, then the first loop header
    assert inst.exports.v(100) == 5050
    assert inst._tierup.moved == 1
