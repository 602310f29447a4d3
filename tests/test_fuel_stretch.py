"""Fuel stays exact where the Python tier's metered code differs most from the loop as written:
prepaid stretches of the default length (:data:`wasm2py.translate.peephole.PREPAID`, 128
iterations; ``test_fuel_prepay`` and ``test_fuel_split`` set 32 for their hand-laid data), and a
function's first loop checked at its back edges with its first check covered by the entry's
(:func:`wasm2py.translate.peephole.rotate_entry_loop`).

The expected figures do not come from wasm2py: the segments are read off the ``.wat`` texts by
the rule of :mod:`wasm2py.fuel` (1 fuel per instruction, ``end`` free; a ``loop`` is charged
with the segment before it; a new segment starts at a loop's head, after a ``br_if`` and in
each arm of an ``if``), and a small Python model of each function yields the costs of the
segments a call executes, in order. For every starting fuel from 0 to past what a call needs, a
call stops with ``OUT_OF_FUEL`` at the first segment the fuel does not cover, traps, or returns,
leaving exactly what the model says (``test_fuel_carry.check_stops``); a resumable call paused
anywhere finishes with what a call in one piece uses. The rotated loop is also compared with
the flat shape and the LLVM tier, which rotate nothing.
"""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Instance, Module, Store, Trap, TrapCode
from wasm2py.runtime import fuelcell
from wasm2py.translate import peephole

from .test_fuel_carry import check_resumes, check_stops, total
from .test_fuel_split import WALK
from .test_fuel_split import walk_segments as split_walk_segments
from .wat import data_segment as _data
from .wat import wat

#: LONG non-zero bytes at 16 (then zeros), and LONG non-zero bytes up to the end of the page
LONG = 300
TEXT = bytes((k % 7) + 1 for k in range(LONG))
MEMORY = {16 + k: b for k, b in enumerate(TEXT)} | {65536 - LONG + k: b for k, b in enumerate(TEXT)}


# ``spin(n)``: its entry (3: local.get, i32.eqz, if), the ``if``'s arm (2: i32.const, return),
# then 1 (the loop, charged with the segment before it), then each way round the loop 12 (from
# its head to the first br_if, the call in it: n is lowered, then n % 3 == 1 goes round again)
# and, where n % 3 is not 1, 2 more (local.get, br_if: n != 0 goes round again). The loop goes on from two br_ifs and ends by falling out of its body; then 1. ``leaf``:
# 4 (to its ``if``), then 1 (unreachable) when its argument is 1000, else 3.
WAT = f"""
(module
  (memory (export "mem") 1)
  {_data(16, TEXT)}
  {_data(65536 - LONG, TEXT)}
{WALK}  (func $leaf (param i32) (result i32)
    local.get 0
    i32.const 1000
    i32.eq
    if
      unreachable
    end
    local.get 0
    i32.const 1
    i32.add)
  (func (export "spin") (param $n i32) (result i32) (local $acc i32)
    local.get $n
    i32.eqz
    if
      i32.const -1
      return
    end
    loop $top
      local.get $acc
      call $leaf
      local.set $acc
      local.get $n
      i32.const 1
      i32.sub
      local.tee $n
      i32.const 3
      i32.rem_u
      i32.const 1
      i32.eq
      br_if $top
      local.get $n
      br_if $top
    end
    local.get $acc))
"""


def walk_segments(p: int):
    """The segments ``walk(p)`` executes over :data:`MEMORY` (the model of ``test_fuel_split``)."""
    return split_walk_segments(p, MEMORY)


def spin_segments(n: int):
    """The segments ``spin(n)`` executes (see the comment on :data:`WAT`); its result, or None
    where ``leaf`` traps (its 1001st call)."""
    yield 3
    if n == 0:
        yield 2
        return -1
    yield 1
    acc = 0
    while True:
        yield 12
        yield 4
        if acc == 1000:
            yield 1
            return None
        yield 3
        acc += 1
        n = (n - 1) % 2**32
        if n % 3 == 1:
            continue
        yield 2
        if n != 0:
            continue
        break
    yield 1
    return acc


#: how far past what a call needs the starting fuels go: past a stretch's test (14 + 127 * 14)
PAST = 2000


@pytest.fixture(params=[None, 7, 2000])
def cell(request, monkeypatch):
    """The cell's limit: the default; one below what an iteration costs; one that covers a
    stretch (1792) and then needs the bank again."""
    if request.param is not None:
        monkeypatch.setattr(fuelcell, "CELL_MAX", request.param)
    return request.param


def make(shape: str = "auto", tier: str = "python"):
    config = Config(consume_fuel=True, python_shape=shape, tier=tier, cache=False)
    store = Store(Engine(config))
    return store, Instance(store, Module(store.engine, wat(WAT)), {})


def source(name: str) -> str:
    from wasm2py.aot import compile

    src = compile(wat(WAT), fuel=True)
    start = src.index(f"_{name}(")
    return src[start : src.index("__resume", start)]


def test_the_default_stretch_is_128_iterations():
    """``walk``'s iterations go on at A + B = 14 and each of the 128 of a stretch must start
    with 14, as the loop without it would hold the cell: a test of 14 + 127 * 14, a charge of
    128 * 14."""
    assert peephole.PREPAID == 128
    walk = source("walk")
    assert "if fuel >= 1792:" in walk and "fuel -= 1792" in walk
    assert "for pr in (1778, 1764, " in walk and ", 14, 0):" in walk


#: where ``walk`` starts: the whole string (two stretches and a short one, left by the
#: ``break``), its last 140 bytes (one stretch at most), the bytes up to the page end (a trap
#: in the third stretch when the cell is large)
STARTS = [16, 16 + LONG - 140, 65536 - LONG]


@pytest.mark.parametrize("shape", ["auto", "flat"])
@pytest.mark.parametrize("p", STARTS)
def test_walk_stops_and_traps_where_the_segments_say(cell, shape, p):
    store, inst = make(shape)
    need = total(walk_segments(p))
    check_stops(store, inst.exports.walk, (p,), walk_segments, range(need + PAST),
                TrapCode.MEMORY_OUT_OF_BOUNDS)  # fmt: skip


@pytest.mark.parametrize("p", STARTS[:2])
def test_walk_pauses_and_resumes_with_what_a_call_in_one_piece_uses(cell, p):
    store, inst = make()
    need = total(walk_segments(p))
    check_resumes(store, inst.exports.walk, (p,), walk_segments, range(0, need + PAST, 7))


def test_the_entry_covers_the_first_check_of_the_loop():
    """``spin``'s entry checks 3, its ``return`` 3 + 2 and the loop's head 3 + 1 + 12: one test
    of 16 covers them all, and its fast copy charges 1 + 12 at once; the head's check moves to
    the two br_ifs that go round again (the loop's end falls out of it)."""
    spin = source("spin")
    assert "if fuel >= 16:" in spin and "fuel -= 13\n" in spin
    assert spin.count("if fuel < 12:") == 3  # (before the loop, at each br_if)
    head = spin.index("while True:")
    assert "if fuel < 12:" not in spin[head : spin.index("f1_leaf(", head)]


#: n for ``spin``: the ``return``, one way round, both br_ifs (n % 3 == 1 on the way), the
#: trap in ``leaf`` at its 1001st call
SPIN_ARGS = [0, 1, 2, 7, 40, 1200]


@pytest.mark.parametrize("shape", ["auto", "flat"])
@pytest.mark.parametrize("n", SPIN_ARGS)
def test_spin_stops_and_traps_where_the_segments_say(cell, shape, n):
    store, inst = make(shape)
    need = total(spin_segments(n))
    fuels = range(need + 200) if n < 1000 else [*range(200), *range(need - 200, need + 200)]
    check_stops(store, inst.exports.spin, (n,), spin_segments, fuels, TrapCode.UNREACHABLE)


@pytest.mark.parametrize("n", SPIN_ARGS)
def test_spin_meters_as_the_llvm_tier(n):
    pytest.importorskip("llvmlite")
    need = total(spin_segments(n))
    fuels = [*range(0, need + 100, 3)] if n < 1000 else [*range(300), *range(need - 300, need + 9)]
    got = []
    for store, inst in (make(), make(tier="llvm")):
        out = []
        for fuel in fuels:
            store.set_fuel(fuel)
            try:
                out.append((inst.exports.spin(n), store.get_fuel()))
            except Trap as e:
                out.append((e.code, store.get_fuel()))
        got.append(out)
    assert got[0] == got[1]


@pytest.mark.parametrize("n", [1, 7, 40])
def test_spin_pauses_and_resumes_with_what_a_call_in_one_piece_uses(cell, n):
    store, inst = make()
    need = total(spin_segments(n))
    check_resumes(store, inst.exports.spin, (n,), spin_segments, range(need + 20))
