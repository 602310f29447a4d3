"""The baseline tier as users get it (``tier="auto"``, ``Config.baseline``): regressions found
by ``tests/test_baseline_diff.py`` and the spec suite, and robustness (threads, instances
dropped while others run, exceptions and traps through baseline frames, deep recursion).

Expected values are worked by hand or come from the Python tier (``tier="python"``)."""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Instance, Module, Store
from wasm2py.baseline.unit import available

from .wat import wat

pytestmark = pytest.mark.skipif(not available(), reason="the baseline tier needs x86-64 Linux")


def auto(src, imports=None, **config):
    """An instance of ``src`` in ``tier="auto"`` with the baseline tier (tier-up out of reach:
    what runs is baseline code or the Python tier)."""
    cfg = dict(tier="auto", baseline=True, cache=False, tier_up_threshold=1 << 62)
    cfg.update(config)
    engine = Engine(Config(**cfg))
    data = wat(src) if isinstance(src, str) else src
    return Instance(Store(engine), Module(engine, data), imports or {})


# -- tail calls in functions the baseline refuses --------------------------------------------

TAIL_REF = """(module (type $t (func (param i64) (result i64)))
  (global $count (ref $t) (ref.func $count))
  (global $even (ref $t) (ref.func $even)) (global $odd (ref $t) (ref.func $odd))
  (elem declare func $count $even $odd)
  (func $count (export "count") (type $t) (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (local.get 0))
      (else (return_call_ref $t (i64.sub (local.get 0) (i64.const 1)) (global.get $count)))))
  (func $even (export "even") (type $t) (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 44))
      (else (return_call_ref $t (i64.sub (local.get 0) (i64.const 1)) (global.get $odd)))))
  (func $odd (export "odd") (type $t) (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 99))
      (else (return_call_ref $t (i64.sub (local.get 0) (i64.const 1)) (global.get $even))))))"""


def test_tail_calls_of_refused_functions_run_in_constant_stack():
    # (the spec suite's return_call_ref.wast: the baseline refuses these functions (typed
    # reference globals); in the Python tier their tail calls must not nest, however deep)
    inst = auto(TAIL_REF)
    n = 50_000  # (well past max_call_depth = 10,000)
    assert inst.exports.count(n) == 0
    assert inst.exports.even(n) == 44 and inst.exports.odd(n) == 99
    assert inst.exports.even(n + 1) == 99
    assert set(inst.function_tiers().values()) == {"python"}


@pytest.mark.parametrize("baseline", [True, False])
def test_tail_calls_of_big_functions_run_in_constant_stack(baseline):
    # a function over EAGER_BYTES with tail calls stays in the Python tier (first-call LLVM
    # compiles skip tail calls): same rule, with and without the baseline tier
    from wasm2py.tierup import EAGER_BYTES

    pad = " (drop (i64.const 0))" * (EAGER_BYTES // 3 + 1)  # (3 bytes each)
    src = TAIL_REF.replace(
        "(param i64) (result i64)\n    (if", f"(param i64) (result i64){pad}\n    (if", 1
    )
    inst = auto(src, baseline=baseline)
    assert inst.exports.count(50_000) == 0
    assert inst.exports.even(50_001) == 99
