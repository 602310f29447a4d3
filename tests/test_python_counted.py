"""Counted loops in the Python tier (``wasm2py/translate/counted.py``): a loop stepping a local
by a constant and testing it against a bound at its latch runs as ``range`` stretches. Each
case's expected value is a direct simulation of the wasm definition (a do-while loop with
arithmetic modulo 2**N and the latch's comparison), including wrap-arounds, signed bounds,
downward steps and the loop left early by a branch out."""

from __future__ import annotations

import functools
import itertools

import pytest

import wasm2py

from .wat import wat

#: iterations after which every test loop leaves by a branch out of the loop
LIMIT = 60


def _signed(x: int, bits: int) -> int:
    return x - (1 << bits) if x >> (bits - 1) else x


_TESTS = {
    "ne": lambda a, b, n: a != b,
    "lt_u": lambda a, b, n: a < b, "le_u": lambda a, b, n: a <= b,
    "gt_u": lambda a, b, n: a > b, "ge_u": lambda a, b, n: a >= b,
    "lt_s": lambda a, b, n: _signed(a, n) < _signed(b, n),
    "le_s": lambda a, b, n: _signed(a, n) <= _signed(b, n),
    "gt_s": lambda a, b, n: _signed(a, n) > _signed(b, n),
    "ge_s": lambda a, b, n: _signed(a, n) >= _signed(b, n),
}  # fmt: skip


def simulate(s: int, n: int, k: int, rel: str, bits: int, swapped: bool = False) -> int:
    """The digest the wasm functions below compute, by the definition."""
    mask = (1 << bits) - 1
    acc, i, count = 0, s & mask, 0
    while True:
        acc = (acc * 1000003 + i) & (2**64 - 1)
        count += 1
        if count == LIMIT:
            break
        i = (i + k) & mask
        a, b = (n & mask, i) if swapped else (i, n & mask)
        if not _TESTS[rel](a, b, bits):
            break
    return (acc * 1000003 + i) & (2**64 - 1)


def _func(name: str, t: str, rel: str, step: str, swapped: bool, sub: bool) -> str:
    wide = "(i64.extend_i32_u (local.get $i))" if t == "i32" else "(local.get $i)"
    op = f"{t}.sub" if sub else f"{t}.add"
    stepped = f"local.get $i {step} {op} local.tee $i"
    if rel == "bare":
        latch = f"{stepped} br_if $l"
    elif swapped:
        latch = f"local.get $n {stepped} {t}.{rel} br_if $l"
    else:
        latch = f"{stepped} local.get $n {t}.{rel} br_if $l"
    return f"""
  (func (export "{name}") (param $s {t}) (param $n {t}) (param $k {t}) (result i64)
    (local $i {t}) (local $acc i64) (local $c i32)
    (local.set $i (local.get $s))
    (block $out
      (loop $l
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                                 {wide}))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $out (i32.eq (local.get $c) (i32.const {LIMIT})))
        {latch}))
    (i64.add (i64.mul (local.get $acc) (i64.const 1000003)) {wide}))"""


#: (name, type, relation, step: an int constant or "local", swapped, sub)
CASES = [
    ("lt_u", "i32", "lt_u", 3, False, False),
    ("le_u", "i32", "le_u", 1, False, False),
    ("lt_s", "i32", "lt_s", 2, False, False),
    ("le_s", "i32", "le_s", 5, False, False),
    ("ne_up", "i32", "ne", 4, False, False),
    ("swap_lt_u", "i32", "lt_u", 3, True, True),  # n < i, i counting down
    ("down_gt_u", "i32", "gt_u", 2, False, True),
    ("down_ge_s", "i32", "ge_s", 1, False, True),
    ("down_gt_s", "i32", "gt_s", 3, False, True),
    ("down_ge_u", "i32", "ge_u", 7, False, True),
    ("down_ne", "i32", "ne", 1, False, True),
    ("bare", "i32", "bare", 1, False, True),
    ("swap_ne", "i32", "ne", 2, True, False),
    ("local_lt_s", "i32", "lt_s", "local", False, False),
    ("local_le_u", "i64", "le_u", "local", False, False),
    ("i64_le_s", "i64", "le_s", 9, False, False),
    ("i64_ne", "i64", "ne", 1, False, False),
    ("i64_down_gt_s", "i64", "gt_s", 2, False, True),
]

MODULE = "(module" + "".join(
    _func(name, t, rel, "local.get $k" if step == "local" else f"{t}.const {step}", sw, sub)
    for name, t, rel, step, sw, sub in CASES
) + ")"

_M32, _M64 = 2**32 - 1, 2**64 - 1
#: starts and bounds around the interesting edges: zero, the sign boundary, the top
STARTS = [0, 5, 40, 2**31 - 3, 2**31 + 1, 2**32 - 2, 2**63 - 5, 2**64 - 3]
BOUNDS = [0, 7, 30, 2**31 - 1, 2**31 + 4, 2**32 - 5, 2**63 + 2, 2**64 - 1]


@pytest.fixture(scope="module")
def exports():
    engine = wasm2py.Engine(wasm2py.Config(cache=False))
    return wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(MODULE)), {}).exports


def _translated(module: str) -> str:
    """The AOT source of ``module``'s functions (without the export entries, which may
    repeat a small body inline)."""
    from wasm2py.aot import compile

    parts = compile(wat(module)).split("\ndef ")
    return "".join(p for p in parts if p.startswith("f") and "_entry(" not in p.split("\n")[0])


def _arg(x: int, t: str) -> int:
    """``x`` as the embedder passes it (signed)."""
    return _signed(x & (_M32 if t == "i32" else _M64), 32 if t == "i32" else 64)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_counted_loops_follow_the_latch(exports, case):
    name, t, rel, step, swapped, sub = case
    bits = 32 if t == "i32" else 64
    mask = (1 << bits) - 1
    steps = [1, 3, 2**(bits - 1) + 1, 0] if step == "local" else [step]
    for k in steps:
        delta = (-k if sub else k) & mask
        for s in STARTS:
            for n in BOUNDS if rel != "bare" else [0]:
                want = simulate(s, n, delta, "ne" if rel == "bare" else rel, bits, swapped)
                got = getattr(exports, name)(_arg(s, t), _arg(n, t),
                                             _arg(k, t))  # fmt: skip
                assert got & _M64 == want, (name, s, n, k)


def test_the_loop_is_a_range():
    """The generated code runs these loops as ``for`` over a ``range`` (none is missed)."""
    assert _translated(MODULE).count(" in range(") == len(CASES)


def test_a_trap_in_a_counted_loop_comes_at_its_iteration():
    engine = wasm2py.Engine()
    ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(
        """(module (memory 1) (global $g (export "g") (mut i32) (i32.const 0))
          (func (export "fill") (param $i i32) (param $n i32)
            (loop $l
              (i32.store8 (local.get $i) (i32.const 1))
              (global.set $g (local.get $i))
              (local.get $i) (i32.const 4096) (i32.add) (local.tee $i)
              (local.get $n) (i32.lt_u) (br_if $l))))""")), {}).exports
    with pytest.raises(wasm2py.Trap) as e:
        ex.fill(100, 200_000)
    assert e.value.code is wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    # the last store that fits: 100 + 15 * 4096 = 61540; the next, 65636, is past 65536
    assert ex.g.value == 61540


def _secondary(name: str, t: str, step: str, op: str) -> str:
    """A loop counting i up to n that also steps y by ``step`` as its body's last statement."""
    wide = (lambda x: f"(i64.extend_i32_u (local.get {x}))") if t == "i32" else (
        lambda x: f"(local.get {x})")
    return f"""
  (func (export "{name}") (param $s i32) (param $n i32) (param $y {t}) (param $k {t})
    (result i64) (local $i i32) (local $acc i64) (local $c i32)
    (local.set $i (local.get $s))
    (block $out
      (loop $l
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                                 (i64.extend_i32_u (local.get $i))))
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003)) {wide("$y")}))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $out (i32.eq (local.get $c) (i32.const {LIMIT})))
        local.get $y {step} {t}.{op} local.set $y
        local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l))
    (i64.add (i64.mul (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                               (i64.extend_i32_u (local.get $i)))
                      (i64.const 1000003)) {wide("$y")}))"""


#: (name, type, step: an int constant or "local", sub)
SECONDARY = [("y_add", "i32", 5, False), ("y_sub", "i32", 3, True),
             ("y_local", "i32", "local", False), ("y64_local", "i64", "local", False),
             ("y64_sub", "i64", 2, True)]  # fmt: skip
SECONDARY_MODULE = "(module" + "".join(
    _secondary(name, t, "local.get $k" if k == "local" else f"{t}.const {k}", "sub" if sub else "add")
    for name, t, k, sub in SECONDARY
) + ")"


def simulate_secondary(s: int, n: int, y: int, k: int, bits: int) -> int:
    """The digest of the ``_secondary`` functions, by the definition (``k``: what is added)."""
    m64, ymask = 2**64 - 1, (1 << bits) - 1
    acc, i, y, count = 0, s & 0xFFFFFFFF, y & ymask, 0
    while True:
        acc = ((acc * 1000003 + i) * 1000003 + y) & m64
        count += 1
        if count == LIMIT:
            break
        y = (y + k) & ymask
        i = (i + 1) & 0xFFFFFFFF
        if not i < n:
            break
    return ((acc * 1000003 + i) * 1000003 + y) & m64


@pytest.mark.parametrize("case", SECONDARY, ids=[c[0] for c in SECONDARY])
def test_secondary_induction_locals(case):
    name, t, step, sub = case
    bits = 32 if t == "i32" else 64
    engine = wasm2py.Engine(wasm2py.Config(cache=False))
    ex = wasm2py.Instance(wasm2py.Store(engine),
                          wasm2py.Module(engine, wat(SECONDARY_MODULE)), {}).exports
    f = getattr(ex, name)
    ks = [0, 1, 7, 2**(bits - 1) + 5, 2**bits - 1] if step == "local" else [step]
    for k in ks:
        add = (-k if sub else k) & ((1 << bits) - 1)
        for s, n in ((0, 50), (3, 20), (2**32 - 2, 4), (10, 5)):
            for y in (0, 9, 2**bits - 3, 2**(bits - 1) - 1, 2**bits - 1):
                want = simulate_secondary(s, n, y, add, bits)
                got = f(_arg(s, "i32"), _arg(n, "i32"), _arg(y, t), _arg(k, t))
                assert got & _M64 == want, (name, s, n, y, k)


def test_secondaries_are_taken_from_ranges():
    assert _translated(SECONDARY_MODULE).count(" in zip(range(") == len(SECONDARY)


HIDDEN = """(module
  ;; the body reads y only, and no branch leaves the loop: the for takes y's values alone
  (func (export "h32") (param $s i32) (param $n i32) (param $y i32) (param $k i32) (result i64)
    (local $i i32) (local $acc i64)
    (local.set $i (local.get $s))
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                               (i64.extend_i32_u (local.get $y))))
      local.get $y local.get $k i32.add local.set $y
      local.get $i i32.const 3 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    (i64.add (i64.mul (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                               (i64.extend_i32_u (local.get $i)))
                      (i64.const 1000003)) (i64.extend_i32_u (local.get $y))))
  ;; as the sieve's inner loop: an i64 counter stepped by a local against a signed bound
  (func (export "h64") (param $s i64) (param $n i64) (param $y i32) (param $k i32) (param $j i64)
    (result i64) (local $i i64) (local $acc i64)
    (local.set $i (local.get $s))
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                               (i64.extend_i32_u (local.get $y))))
      local.get $y local.get $k i32.add local.set $y
      local.get $i local.get $j i64.add local.tee $i local.get $n i64.le_s br_if $l)
    (i64.add (i64.mul (i64.add (i64.mul (local.get $acc) (i64.const 1000003)) (local.get $i))
                      (i64.const 1000003)) (i64.extend_i32_u (local.get $y)))))"""


def simulate_hidden(s, n, y, k, j, bits, rel) -> int:
    """The digest of the ``HIDDEN`` functions, by the definition."""
    m64, mask = 2**64 - 1, (1 << bits) - 1
    acc, i, y = 0, s & mask, y & 0xFFFFFFFF
    while True:
        acc = (acc * 1000003 + y) & m64
        y = (y + k) & 0xFFFFFFFF
        i = (i + j) & mask
        if not _TESTS[rel](i, n & mask, bits):
            break
    return ((acc * 1000003 + i) * 1000003 + y) & m64


def test_a_counter_the_body_does_not_read():
    engine = wasm2py.Engine(wasm2py.Config(cache=False))
    ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(HIDDEN)), {}).exports
    ks = [0, 1, 7, 2**31 + 5, 2**32 - 1]
    ys = [0, 9, 2**32 - 3, 2**32 - 1]
    # (s, n): a few iterations, a wrap-around that goes on (2**32 - 2 + 3 = 1 < 50), none
    for s, n in ((0, 50), (2**32 - 2, 50), (10, 5), (40, 41)):
        for k in ks:
            for y in ys:
                want = simulate_hidden(s, n, y, k, 3, 32, "lt_u")
                assert ex.h32(_arg(s, "i32"), _arg(n, "i32"), _arg(y, "i32"), _arg(k, "i32")) \
                    & _M64 == want, (s, n, y, k)  # fmt: skip
    for s, n, j in ((4, 100, 7), (2**63 - 20, 2**63 - 9, 6), (-30, 10, 9), (5, 5, 1)):
        for k in ks:
            for y in ys:
                want = simulate_hidden(s, n, y, k, j, 64, "le_s")
                got = ex.h64(_arg(s, "i64"), _arg(n, "i64"), _arg(y, "i32"), _arg(k, "i32"),
                             _arg(j, "i64"))  # fmt: skip
                assert got & _M64 == want, (s, n, y, k, j)
    assert _translated(HIDDEN).count("[:len((n") == 2


FAST = """(module
  ;; i + 20 and i - 5 wrap only near the ends of the i32 range: stretches away from them
  ;; run a copy of the loop with plain sums
  (func (export "f32") (param $s i32) (param $n i32) (result i64) (local $i i32) (local $acc i64)
    (local.set $i (local.get $s))
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                               (i64.extend_i32_u (i32.add (local.get $i) (i32.const 20)))))
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
                               (i64.extend_i32_u (i32.sub (local.get $i) (i32.const 5)))))
      local.get $i i32.const 3 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    (local.get $acc))
  ;; an i64 counter wrapped to i32 plus 1000, as an address
  (func (export "f64") (param $s i64) (param $n i64) (result i64) (local $i i64) (local $acc i64)
    (local.set $i (local.get $s))
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003)) (i64.extend_i32_u
        (i32.add (i32.wrap_i64 (local.get $i)) (i32.const 1000)))))
      local.get $i i64.const 7 i64.add local.tee $i local.get $n i64.le_s br_if $l)
    (local.get $acc)))"""


def test_stretches_away_from_wrap_arounds_use_plain_sums():
    src = _translated(FAST)
    # the copies run where i + 20 and i - 5 stay in [0, 2**32), and i + 1000 below 2**32
    assert "if 5 <= l2 < 4294967276:" in src and "if l2 < 4294966296:" in src
    assert src.count("for l2 in range(") == 4  # each loop twice
    engine = wasm2py.Engine(wasm2py.Config(cache=False))
    ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(FAST)), {}).exports
    m32, m64 = 2**32 - 1, 2**64 - 1

    def want32(s, n):
        acc, i = 0, s
        while True:
            acc = (acc * 1000003 + ((i + 20) & m32)) & m64
            acc = (acc * 1000003 + ((i - 5) & m32)) & m64
            i = (i + 3) & m32
            if not i < n:
                return acc

    def want64(s, n):
        acc, i = 0, s
        while True:
            acc = (acc * 1000003 + ((i + 1000) & m32)) & m64
            i = (i + 7) & m64
            if not _signed(i, 64) <= _signed(n, 64):
                return acc

    # across the low bound (i - 5), the high one (i + 20) and the wrap-around back to 0
    for s, n in ((0, 40), (2**32 - 60, 30), (2**32 - 23, 2**32 - 2), (100, 130), (7, 8)):
        assert ex.f32(_arg(s, "i32"), _arg(n, "i32")) & _M64 == want32(s, n), (s, n)
    for s, n in ((2**32 - 1050, 2**32 + 30), (0, 50), (2**32 + 5, 2**32 + 40)):
        assert ex.f64(s, n) & _M64 == want64(s, n), (s, n)


def test_a_loop_that_is_only_its_latch():
    """``do i++; while (i < n)``: the whole body is the latch, so the ``for`` has nothing of
    its own to run (this failed to compile once: an empty ``for`` body). By the definition the
    loop leaves ``i`` at ``max(n, 1)`` for ``n`` below 2**32 - 1, and ``n`` wraps an i32."""
    src = wat("""(module (func (export "count") (param $n i32) (result i32) (local $i i32)
      (loop $l local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
      local.get $i))""")
    for config in (wasm2py.Config(cache=False), wasm2py.Config(cache=False, tier="auto")):
        engine = wasm2py.Engine(config)
        store = wasm2py.Store(engine)
        ex = wasm2py.Instance(store, wasm2py.Module(engine, src)).exports
        for n in (0, 1, 2, 7, 8, 9, 100, 1000):
            assert ex.count(n) == max(n, 1)


# -- calls and fuel inside a counted loop -----------------------------------------------------
# The loop below calls a wasm function and a host function at every iteration, steps a
# secondary local ``$j`` and sums ``i + 20`` (so the translation also makes its short path
# and its copy with plain sums), and counts with ``ne``, so that it can run across the
# wrap-around of ``i``. Fuel by the rule of wasm2py.fuel, 1 per instruction (``end`` free),
# charged per straight-line segment: the entry's 3 (2 + the ``loop``), at every iteration
# the loop body's 27 (9 + 7 + 4 + the latch's 7), then the callee's 3, and the exit's 3.
CALLS = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func $g (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "run") (param $s i32) (param $n i32) (result i32)
    (local $i i32) (local $acc i32) (local $j i32)
    (local.set $i (local.get $s))
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
                               (call $g (i32.add (local.get $i) (i32.const 20)))))
      (local.set $acc (i32.xor (local.get $acc)
                               (call $h (i32.add (local.get $i) (local.get $j)))))
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.ne br_if $l)
    (i32.add (local.get $acc) (local.get $j))))"""


def host_h(x: int) -> int:
    """The host function of :data:`CALLS` (on the unsigned value)."""
    return (x * 7 + 1) & _M32


def simulate_calls(s: int, n: int) -> tuple[int, list[tuple[str, int]]]:
    """What ``run(s, n)`` of :data:`CALLS` returns, by the wasm definition, and the events of
    its run in order: ``("fuel", cost)`` for each segment's charge, ``("host", arg)`` for each
    call of the host function."""
    i, acc, j = s & _M32, 0, 0
    events = [("fuel", 3)]
    while True:
        events += [("fuel", 27), ("fuel", 3)]
        acc = (acc * 31 + 3 * ((i + 20) & _M32)) & _M32
        events.append(("host", (i + j) & _M32))
        acc ^= host_h((i + j) & _M32)
        j = (j + 2) & _M32
        i = (i + 1) & _M32
        if i == n & _M32:
            break
    events.append(("fuel", 3))
    return (acc + j) & _M32, events


#: (start, bound): a long loop, short ones (the short path), one iteration, across the
#: wrap-around of the counter, and a start inside the stretch of plain sums
CALL_RUNS = [(0, 50), (0, 3), (7, 8), (2**32 - 5, 3), (2**32 - 30, 40), (1000, 1200)]


def _calls_instance(fuel: bool):
    engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=fuel))
    store = wasm2py.Store(engine)
    imports = {"env": {"h": lambda x: _signed(host_h(x & _M32), 32)}}
    return store, wasm2py.Instance(store, wasm2py.Module(engine, wat(CALLS)), imports).exports


def test_a_counted_loop_may_call_functions():
    from wasm2py.aot import compile

    for fuel in (False, True):
        src = compile(wat(CALLS), fuel=fuel)
        assert "for l2, l4 in zip(range(l2," in src, fuel  # counted, with the secondary
        store, ex = _calls_instance(fuel)
        for s, n in CALL_RUNS:
            want, events = simulate_calls(s, n)
            if fuel:
                store.set_fuel(10**9)
            assert ex.run(_arg(s, "i32"), _arg(n, "i32")) & _M32 == want, (s, n)
            if fuel:
                assert 10**9 - store.get_fuel() == sum(c for k, c in events if k == "fuel")


class _Pause(Exception):
    """Raised by the host function to pause the call (carries the argument)."""


def test_pause_and_resume_at_every_point_inside_a_counted_loop():
    """Each piece gets exactly the fuel of its next segment, and the host function pauses at
    every call: the call pauses at every fuel check and every host call, in the order of the
    simulation, and resumes to the simulated result."""
    engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=True))
    store = wasm2py.Store(engine)

    def h(x):
        raise _Pause(x & _M32)

    ex = wasm2py.Instance(store, wasm2py.Module(engine, wat(CALLS)), {"env": {"h": h}}).exports
    for s, n in CALL_RUNS:
        want, events = simulate_calls(s, n)
        seen = []
        store.set_fuel(0)
        r = ex.run.call_resumable(_arg(s, "i32"), _arg(n, "i32"))
        while not isinstance(r, wasm2py.Finished):
            if isinstance(r, wasm2py.OutOfFuel):
                assert store.get_fuel() == 0
                seen.append(("fuel", r.required_fuel))
                store.set_fuel(r.required_fuel)
                r = r.resume()
            else:
                x = r.host_error.args[0]
                seen.append(("host", x))
                r = r.resume(_signed(host_h(x), 32))
        assert seen == events, (s, n)
        assert r.results & _M32 == want, (s, n)
        assert store.get_fuel() == 0


def test_fuel_runs_out_inside_a_stretch():
    """With ``f`` fuel the call stops at the first segment whose cost exceeds what is left,
    with exactly that left; a plain call traps there, a resumable one pauses and finishes
    with more fuel."""
    store, ex = _calls_instance(True)
    s, n = 1000, 1200
    want, events = simulate_calls(s, n)
    costs = [c for k, c in events if k == "fuel"]
    for f in (0, 2, 3, 29, 30, 33, 61, 62, 63, 64, 1000, 3000, 5999, sum(costs) - 3,
              sum(costs) - 1):  # fmt: skip
        left = f
        for c in costs:
            if left < c:
                break
            left -= c
        else:
            raise AssertionError("every f above runs out")
        store.set_fuel(f)
        with pytest.raises(wasm2py.Trap) as e:
            ex.run(s, n)
        assert e.value.code == wasm2py.TrapCode.OUT_OF_FUEL
        assert store.get_fuel() == left, f
        store.set_fuel(f)
        r = ex.run.call_resumable(s, n)
        assert isinstance(r, wasm2py.OutOfFuel) and r.required_fuel == c
        assert store.get_fuel() == left
        store.set_fuel(10**6)
        r = r.resume()
        assert r.results & _M32 == want
        assert f - left + 10**6 - store.get_fuel() == sum(costs), f


# A counted loop whose body is one segment runs prepaid stretches under fuel (see
# FuncGen.prepaid_stretches): ``fill(s, n)`` stores 1 byte per iteration at ``i * 4096``
# for i = s, s+1, ... while i < n (a do-while), so an ``i`` of 16 or more traps (1 page).
# Fuel: the entry's 3 (2 + the ``loop``), 12 per iteration (5 for the store, 7 for the
# latch), the exit's 1.
FILL = """(module (memory 1)
  (func (export "fill") (param $s i32) (param $n i32) (result i32) (local $i i32)
    (local.set $i (local.get $s))
    (loop $l
      (i32.store8 (i32.mul (local.get $i) (i32.const 4096)) (local.get $i))
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    (local.get $i))
  ;; the same with a secondary $p stepped by 2**30, whose range ends the stretch every 4
  ;; iterations (where it wraps around); 16 per iteration (+ 4 for the step), exit 3
  (func (export "fill2") (param $s i32) (param $n i32) (result i32) (local $i i32) (local $p i32)
    (local.set $i (local.get $s))
    (loop $l
      (i32.store8 (i32.mul (local.get $i) (i32.const 4096)) (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 0x40000000)))
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    (i32.add (local.get $i) (local.get $p))))"""


def simulate_fill(s: int, n: int, fuel: int, secondary: bool = False):
    """``(outcome, fuel left)`` of ``fill(s, n)`` (``fill2`` with ``secondary``) with
    ``fuel`` by the definition: outcome ``("fuel", i)`` if the fuel runs out before iteration
    ``i`` (None: before the entry or the exit), ``("trap", i)`` if iteration ``i``'s store is
    out of bounds, ``("done", result)``."""
    per, last = (16, 3) if secondary else (12, 1)
    if fuel < 3:
        return ("fuel", None), fuel
    fuel -= 3
    i = p = 0
    i = s
    while True:
        if fuel < per:
            return ("fuel", i), fuel
        fuel -= per
        if i * 4096 >= 65536:
            return ("trap", i), fuel
        p = (p + 2**30) & _M32
        i += 1
        if not i < n:
            break
    if fuel < last:
        return ("fuel", None), fuel
    return ("done", (i + p) & _M32 if secondary else i), fuel - last


def test_prepaid_stretches_keep_fuel_exact():
    from wasm2py.aot import compile

    src = compile(wat(FILL), fuel=True)
    assert "q2 = range(l2," in src and "in zip(q2, range(l3," in src
    engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=True))
    store = wasm2py.Store(engine)
    ex = wasm2py.Instance(store, wasm2py.Module(engine, wat(FILL))).exports
    for (s, n), secondary in itertools.product(((0, 12), (3, 4), (0, 40), (10, 30)),
                                               (False, True)):  # fmt: skip
        fill = ex.fill2 if secondary else ex.fill
        check_fill(store, fill, s, n, functools.partial(simulate_fill, s, n, secondary=secondary))


def check_fill(store, fill, s: int, n: int, simulate) -> None:
    """``fill(s, n)`` at every fuel up to 3 + 16 * 17 + 3 gives what ``simulate(fuel)`` says:
    the result, or the trap (out of fuel or out of bounds), and the fuel left."""
    for f in range(0, 3 + 16 * 17 + 3):
        (kind, v), left = simulate(f)
        store.set_fuel(f)
        if kind == "done":
            assert fill(s, n) & _M32 == v
        else:
            with pytest.raises(wasm2py.Trap) as e:
                fill(s, n)
            want = (wasm2py.TrapCode.OUT_OF_FUEL if kind == "fuel"
                    else wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS)  # fmt: skip
            assert e.value.code == want, (s, n, f)
        assert store.get_fuel() == left, (s, n, f)


# The same loop with a statement that cannot raise before the store: the segment's charge is
# taken just before the store (FuncGen.flush_fuel), not right after the check, and the loop
# still runs prepaid. Fuel: entry 3, 16 per iteration (4 for the sum, 5 for the store, 7 for
# the latch), exit 3.
FILL3 = """(module (memory 1)
  (func (export "fill3") (param $s i32) (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (local.set $i (local.get $s))
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (i32.store8 (i32.mul (local.get $i) (i32.const 4096)) (local.get $i))
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    (i32.add (local.get $acc) (local.get $i))))"""


def simulate_fill3(s: int, n: int, fuel: int):
    """``(outcome, fuel left)`` of ``fill3(s, n)`` by the definition, as :func:`simulate_fill`."""
    if fuel < 3:
        return ("fuel", None), fuel
    fuel -= 3
    i, acc = s, 0
    while True:
        if fuel < 16:
            return ("fuel", i), fuel
        fuel -= 16
        acc += i
        if i * 4096 >= 65536:
            return ("trap", i), fuel
        i += 1
        if not i < n:
            break
    if fuel < 3:
        return ("fuel", None), fuel
    return ("done", (acc + i) & _M32), fuel - 3


def test_prepaid_stretches_with_the_charge_after_the_first_statements():
    from wasm2py.aot import compile

    src = compile(wat(FILL3), fuel=True)
    assert "q2 = range(l2," in src
    engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=True))
    store = wasm2py.Store(engine)
    fill3 = wasm2py.Instance(store, wasm2py.Module(engine, wat(FILL3))).exports.fill3
    for s, n in ((0, 12), (3, 4), (0, 40), (10, 30)):
        check_fill(store, fill3, s, n, functools.partial(simulate_fill3, s, n))


# A prepaid loop whose body reads only its secondary: the ``for`` takes the secondary's values
# alone and the latch sets the counter from the prepaid range. ``fill4(s, n)`` stores at
# ``p & 0x1F000`` for p = s * 4096, stepped by 2**30 + 4096 (its range ends the stretch where
# it wraps around, every 4 iterations or so), while the counter i = 0, 1, ... is below n; the
# store traps once bit 16 of p is set. Fuel: the entry's 5 (4 + the ``loop``), 16 per
# iteration (5 for the store, 4 for the step, 7 for the latch), the exit's 3.
FILL4 = """(module (memory 1)
  (func (export "fill4") (param $s i32) (param $n i32) (result i32) (local $i i32) (local $p i32)
    (local.set $p (i32.mul (local.get $s) (i32.const 4096)))
    (loop $l
      (i32.store8 (i32.and (local.get $p) (i32.const 0x1F000)) (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 0x40001000)))
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $l)
    (i32.add (local.get $i) (local.get $p))))"""


def simulate_fill4(s: int, n: int, fuel: int):
    """``(outcome, fuel left)`` of ``fill4(s, n)`` by the definition, as :func:`simulate_fill`
    (the iteration named by the counter ``i``)."""
    if fuel < 5:
        return ("fuel", None), fuel
    fuel -= 5
    i, p = 0, s * 4096 & _M32
    while True:
        if fuel < 16:
            return ("fuel", i), fuel
        fuel -= 16
        if p & 0x1F000 >= 65536:
            return ("trap", i), fuel
        p = (p + 0x40001000) & _M32
        i += 1
        if not i < n:
            break
    if fuel < 3:
        return ("fuel", None), fuel
    return ("done", (i + p) & _M32), fuel - 3


def test_prepaid_stretches_of_the_secondary_alone():
    from wasm2py.aot import compile

    src = compile(wat(FILL4), fuel=True)
    assert "q2 = range(l2," in src and "for l3 in (m2 := range(l3," in src
    engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=True))
    store = wasm2py.Store(engine)
    fill4 = wasm2py.Instance(store, wasm2py.Module(engine, wat(FILL4))).exports.fill4
    for s, n in ((0, 12), (3, 4), (0, 40), (10, 30), (2, 3)):
        check_fill(store, fill4, s, n, functools.partial(simulate_fill4, s, n))


# Nested counted loops: the inner loop's prepaid stretches are made before the outer loop
# copies its body (its short path, the plain loop run when few iterations are left), so
# every copy of the inner ``for`` has its prepaid form. ``grid(n, m)`` stores at
# ``i * 4096 + j`` for i < n, j < m (do-whiles); an i of 16 or more traps. Fuel: the entry's
# 1 (the outer ``loop``), 3 per outer iteration before the inner loop (``j = 0`` and the
# inner ``loop``), 14 per inner iteration (7 for the store, 7 for the latch), 7 for the outer
# latch, the exit's 1.
GRID = """(module (memory 1)
  (func (export "grid") (param $n i32) (param $m i32) (result i32) (local $i i32) (local $j i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (i32.store8 (i32.add (i32.mul (local.get $i) (i32.const 4096)) (local.get $j))
                    (local.get $j))
        local.get $j i32.const 1 i32.add local.tee $j local.get $m i32.lt_u br_if $inner)
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if $outer)
    (local.get $i)))"""


def simulate_grid(n: int, m: int, fuel: int):
    """``(outcome, fuel left)`` of ``grid(n, m)`` by the definition: ``("fuel", None)``,
    ``("trap", None)`` or ``("done", result)``."""
    segments = [1]
    i = 0
    while True:
        segments.append(3)
        j = 0
        while True:
            segments.append(14)
            if i * 4096 + j >= 65536:
                segments.append("trap")
                break
            j += 1
            if not j < m:
                break
        if segments[-1] == "trap":
            break
        segments.append(7)
        i += 1
        if not i < n:
            segments.append(1)
            break
    for c in segments:
        if c == "trap":
            return ("trap", None), fuel
        if fuel < c:
            return ("fuel", None), fuel
        fuel -= c
    return ("done", i), fuel


def test_prepaid_stretches_in_the_copies_of_an_enclosing_loop():
    from wasm2py.aot import compile

    src = compile(wat(GRID), fuel=True)
    metered = src.count("for l3 in range(l3,")
    assert metered >= 2 and src.count("q3 = range(l3,") == metered
    engine = wasm2py.Engine(wasm2py.Config(cache=False, consume_fuel=True))
    store = wasm2py.Store(engine)
    grid = wasm2py.Instance(store, wasm2py.Module(engine, wat(GRID))).exports.grid
    for n, m in ((2, 5), (3, 9), (12, 2), (17, 1)):
        for f in range(0, 1 + n * (3 + 14 * m + 7) + 3):
            (kind, v), left = simulate_grid(n, m, f)
            store.set_fuel(f)
            if kind == "done":
                assert grid(n, m) == v
            else:
                with pytest.raises(wasm2py.Trap) as e:
                    grid(n, m)
                want = (wasm2py.TrapCode.OUT_OF_FUEL if kind == "fuel"
                        else wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS)  # fmt: skip
                assert e.value.code == want, (n, m, f)
            assert store.get_fuel() == left, (n, m, f)


def test_a_count_down_to_the_wrap_around_is_not_taken_for_short():
    """``do acc += n; while (n-- != 0)``: the latch steps ``n`` down and compares it with
    2**32 - 1, a bound *above* the counter that the loop reaches across the wrap-around. The
    short path (the plain loop for stretches under 8 steps) must not take the distance
    ``n - (2**32 - 1)``, always negative, for short: only a distance in [0, 8) is. By the
    definition the loop adds n + (n - 1) + ... + 0."""
    src = """(module (func (export "tri") (param $n i32) (result i32) (local $acc i32)
      (loop $l
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        local.get $n i32.const 1 i32.sub local.tee $n i32.const -1 i32.ne br_if $l)
      local.get $acc))"""
    assert "if 0 <= l0 - 4294967295 < 8:" in _translated(src)
    engine = wasm2py.Engine(wasm2py.Config(cache=False))
    ex = wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wat(src))).exports
    for n in (0, 1, 7, 8, 100, 5000):
        assert ex.tri(n) & _M32 == n * (n + 1) // 2 & _M32
