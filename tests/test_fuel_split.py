"""Fuel stays exact in a loop whose iteration the Python tier runs in a copy without checks
(:func:`wasm2py.translate.peephole.split_loop_checks`): a ``br_if`` leaving the loop between two
segments, as in ``while (*p) acc += *p++;``.

The expected figures do not come from wasm2py: the segments are read off the ``.wat`` text below
by the rule of :mod:`wasm2py.fuel` (1 fuel per instruction, ``end`` free; a ``loop`` is charged
with the segment before it, a new segment starts at the loop's head and after a ``br_if``), and
a small Python model of the function yields the costs of the segments a call executes, in order
(:func:`walk_segments`). For every starting fuel from 0 to past the total, a plain call must stop
with ``OUT_OF_FUEL`` at the first segment the fuel does not cover, leaving exactly what the
segments before it left; a resumable call must pause there asking for that segment's cost and
finish with the right result and fuel; a trap leaves the fuel of the segments charged up to and
including its own. With a small cell (:mod:`wasm2py.runtime.fuelcell`) the loop keeps falling
back to its checked copy to refill the cell from the bank.
"""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Finished, Instance, Module, OutOfFuel, Store, Trap, TrapCode
from wasm2py.runtime import fuelcell

from .test_fuel_carry import check_resumes, check_stops, run_model, total

#: ``walk``, which the module of ``test_fuel_prepay`` has too (with other data)
WALK = """\
  (func (export "walk") (param $p i32) (result i32) (local $acc i32)
    block $done           ;; segment P (2): block, loop
      loop $top           ;; segment A (4): local.get .. br_if
        local.get $p
        i32.load8_u
        i32.eqz
        br_if $done
        local.get $acc    ;; segment B (10): local.get .. br
        local.get $p
        i32.load8_u
        i32.add
        local.set $acc
        local.get $p
        i32.const 1
        i32.add
        local.set $p
        br $top
      end
    end
    local.get $acc)       ;; segment E (1)
"""

WAT = f"""
(module
  (memory (export "mem") 1)
  (data (i32.const 16) "\\03\\01\\04\\01\\05")
  (data (i32.const 65533) "\\07\\08\\09")
{WALK})
"""

MEMORY = {16: 3, 17: 1, 18: 4, 19: 1, 20: 5, 65533: 7, 65534: 8, 65535: 9}


def walk_segments(p: int, memory: dict[int, int] = MEMORY):
    """The segments ``walk(p)`` executes over ``memory`` (address -> non-zero byte); returns
    its result, or None where it traps (reading past the 64 KiB page, in segment A)."""
    yield 2
    acc = 0
    while True:
        yield 4
        if p >= 65536:
            return None
        if memory.get(p, 0) == 0:
            break
        yield 10
        acc += memory[p]
        p += 1
    yield 1
    return acc


#: start -> what the model gives: 5 iterations, 1, none, a trap after 3
STARTS = [16, 20, 21, 65533]


@pytest.fixture(autouse=True)
def stretches_of_32(monkeypatch):
    """Stretches of 32 iterations (``peephole.PREPAID``, which the passes read as they run;
    the default is longer): this file's data and hand-worked figures are laid out for 32, which
    keeps the loops short enough to try every fuel (``tests/test_fuel_stretch.py`` runs the
    default's)."""
    from wasm2py.translate import peephole

    monkeypatch.setattr(peephole, "PREPAID", 32)


@pytest.fixture(params=[None, 7, 40])
def cell(request, monkeypatch):
    """The cell's limit: the default, one below what an iteration costs (every iteration
    refills from the bank), one that an iteration or two empties."""
    if request.param is not None:
        monkeypatch.setattr(fuelcell, "CELL_MAX", request.param)
    return request.param


def make(shape: str = "auto"):
    store = Store(Engine(Config(consume_fuel=True, python_shape=shape, cache=False)))
    return store, Instance(store, Module(store.engine, WAT), {})


def test_the_model_reads_the_text_right():
    """The model's segment costs add up to what a counting instance counts."""
    store = Store(Engine(Config(count_instructions=True, cache=False)))
    inst = Instance(store, Module(store.engine, WAT), {})
    for p in (16, 20, 21):
        store.instructions = 0
        result, _, required = run_model(walk_segments(p), 10**9)
        assert required is None and inst.exports.walk(p) == result
        assert store.instructions == total(walk_segments(p))
    assert run_model(walk_segments(16), 10**9)[0] == 14  # 3 + 1 + 4 + 1 + 5


@pytest.mark.parametrize("shape", ["auto", "flat"])
@pytest.mark.parametrize("p", STARTS)
def test_walk_stops_and_traps_where_the_segments_say(cell, shape, p):
    store, inst = make(shape)
    walk = inst.exports.walk
    need = total(walk_segments(p))
    check_stops(store, walk, (p,), walk_segments, range(need + 2), TrapCode.MEMORY_OUT_OF_BOUNDS)


@pytest.mark.parametrize("p", [16, 20])
def test_walk_pauses_where_the_segments_say_and_resumes_exactly(cell, p):
    store, inst = make()
    need = total(walk_segments(p))
    check_resumes(store, inst.exports.walk, (p,), walk_segments, range(need + 1))


def test_the_iteration_is_split_at_what_its_checks_ask_for():
    """The loop's head chooses the unchecked copy when each of its iterations can start with
    A + B = 14 in the cell (A is charged before its load, which may trap; B's check then asks
    for 10 after those 4). That copy runs 32 iterations prepaid
    (:func:`wasm2py.translate.peephole.prepay_loops`), at 14 each (the cost of an iteration
    that goes on), with no check and no charge; the exit gives back what the iterations not
    run and the skipped segment B (10) were charged."""
    from wasm2py.aot import compile

    from .wat import wat

    src = compile(wat(WAT), fuel=True)
    walk = src[src.index("def f0_walk") :]
    walk = walk[: walk.index("\ndef ")] if "\ndef " in walk else walk
    head = "if fuel >= 448:"  # 14 + 31 * 14: 32 iterations of 14, each starting with 14
    assert head in walk
    fast = walk[walk.index(head) : walk.index("    else:\n", walk.index(head))]
    assert "out_of_fuel" not in fast and "fuel -= 4\n" not in fast and "fuel -= 10" not in fast
    assert "fuel -= 448" in fast and "for pr in (434, 420," in fast
    assert "fuel += pr + 10" in fast  # leaving after A: B (10) given back too


#: a sieve: the outer loop's rare arm (a prime) holds a call and a nested loop (not split:
#: the fuel after those is not known from the head's), the nested loop a ``br_if`` exit
#: between two segments (split)
SIEVE = """
(module
  (memory 1)
  (func $square (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func (export "sieve") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $count i32)
    i32.const 2
    local.set $i
    loop $outer
      local.get $i
      i32.load8_u
      i32.eqz
      if
        local.get $count
        i32.const 1
        i32.add
        local.set $count
        local.get $i
        call $square
        local.set $j
        block $done
          loop $inner
            local.get $j
            local.get $n
            i32.gt_u
            br_if $done
            local.get $j
            i32.const 1
            i32.store8
            local.get $j
            local.get $i
            i32.add
            local.set $j
            br $inner
          end
        end
      end
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.le_u
      br_if $outer
    end
    local.get $count)
)
"""


def sieve_runs(shape: str, n: int):
    """For every starting fuel up to past the total: the outcome of a plain call (result or
    trap code, fuel left), and of a resumable call given just what each pause asks for (the
    pauses' (required, fuel left), result, total used)."""
    store = Store(Engine(Config(consume_fuel=True, python_shape=shape, cache=False)))
    sieve = Instance(store, Module(store.engine, SIEVE), {}).exports.sieve
    store.set_fuel(10**6)
    sieve(n)
    need = 10**6 - store.get_fuel()
    out = []
    for fuel in range(need + 2):
        store.set_fuel(fuel)
        try:
            plain = sieve(n)
        except Trap as e:
            plain = e.code
        left = store.get_fuel()
        store.set_fuel(fuel)
        r, pauses, given = sieve.call_resumable(n), [], 0
        while isinstance(r, OutOfFuel):
            pauses.append((r.required_fuel, store.get_fuel()))
            given += r.required_fuel
            store.set_fuel(store.get_fuel() + r.required_fuel)
            r = r.resume()
        assert isinstance(r, Finished)
        out.append((plain, left, tuple(pauses), r.results, fuel + given - store.get_fuel()))
    return need, out


def test_a_split_loop_with_a_call_and_a_loop_in_one_arm_meters_as_the_flat_shape(cell):
    """The flat shape (:mod:`wasm2py.translate.flat`) splits nothing: every stop, pause and
    the fuel of every run must be the same in both shapes, and a paused run must use what a
    run in one piece uses."""
    n = 30
    need, auto = sieve_runs("auto", n)
    assert sieve_runs("flat", n) == (need, auto)
    assert auto[-1][0] == 10  # the primes up to 30
    assert all(used == need for *_, used in auto)
    from wasm2py.aot import compile

    from .wat import wat

    src = compile(wat(SIEVE), fuel=True)
    # the nested loop: A (4) ends at its br_if, B's check asks for 8 more; it runs stretches
    # of 32 prepaid iterations of 12 (peephole.prepay_loops) when the cell holds 12 + 31 * 12
    sieve = src[src.index("def f1_sieve") : src.index("def f1__resume")]
    assert "if fuel >= 384:" in sieve and "fuel -= 384" in sieve
