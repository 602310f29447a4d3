"""Fuel stays exact in loops whose iterations the Python tier runs in prepaid stretches
(:func:`wasm2py.translate.peephole.prepay_loops`): 32 iterations (set so here) charged up front, no check or
charge in them, the difference given back where an iteration leaves the loop, raises, or goes
on having charged less than the most an iteration charges.

``walk`` is the loop of ``test_fuel_split`` over a string long enough for several stretches:
its figures come from the segments read off the ``.wat`` by the rule of :mod:`wasm2py.fuel`
(:func:`walk_segments`, the model of that file). ``mix`` has the shapes a stretch has to give
fuel back for (ways round the loop of different cost, one of them an early ``br_if`` to the
head, an exit that costs more than an iteration, a trap in the dearer way round); its figures are compared with those of the flat
shape, which prepays nothing, and of the LLVM tier. Every starting fuel from 0 to past what a
call needs is tried, with the cell's default size and with cells that empty within a stretch
(:mod:`wasm2py.runtime.fuelcell`): a plain call stops, traps or returns with the same fuel
left, and a resumable call pauses where the checks are and finishes with what a call in one
piece uses.
"""

from __future__ import annotations

import pytest

from wasm2py import Config, Engine, Finished, Instance, Module, OutOfFuel, Store, Trap, TrapCode
from wasm2py.runtime import fuelcell

from .test_fuel_carry import check_resumes, check_stops, run_model, total
from .test_fuel_split import WALK, stretches_of_32  # noqa: F401 (autouse: PREPAID 32 here too)
from .test_fuel_split import walk_segments as split_walk_segments
from .wat import data_segment as _data
from .wat import wat

#: a string of LONG non-zero bytes at 16 (then a zero), and NEAR non-zero bytes that run up
#: to the end of the one page (reading on traps)
LONG = 100
NEAR = 70
TEXT = bytes(42 if k == 80 else (k % 7) + 1 for k in range(LONG))  # (a 42 for ``find``)
EDGE = bytes(2 * ((k % 5) + 1) for k in range(NEAR))  # (even: ``mix`` takes its dearer way)
#: ``sift``'s bytes: up to 150, a zero every 5 (4 of them before 20, each a nested loop), a
#: 99 at 150 and at 183. With fuel enough, stretches run bytes 20 to 51, 53 to 84, 86 to
#: 117 and 119 to 150 (the last a 99, after zeros) from the start; and from 151, 152 to 183
#: (the last a 99, with no zero before it)
SIFT_AT = 4096
SIFT = bytes(99 if k in (150, 183) else 0 if k % 5 == 3 and k < 150 else (k % 3) + 1
             for k in range(200))  # fmt: skip


WAT = f"""
(module
  (memory (export "mem") 1)
  {_data(16, TEXT)}
  {_data(65536 - NEAR, EDGE)}
  {_data(SIFT_AT, SIFT)}
{WALK}  (func (export "mix") (param $p i32) (param $n i32) (result i32) (local $acc i32) (local $x i32)
    block $done
      loop $top
        local.get $p
        i32.load8_u
        local.set $x
        local.get $p
        i32.const 1
        i32.add
        local.set $p
        local.get $x
        i32.eqz
        if                ;; a zero: leave, with more work than an iteration
          local.get $acc
          i32.const 1000
          i32.add
          i32.const 3
          i32.mul
          local.set $acc
          local.get $acc
          i32.const 7
          i32.xor
          local.set $acc
          local.get $acc
          i32.const 5
          i32.rotl
          local.set $acc
          local.get $acc
          i32.const 9
          i32.rotr
          local.set $acc
          local.get $acc
          i32.const 11
          i32.xor
          local.set $acc
          br $done
        end
        local.get $x
        i32.const 1
        i32.and
        if                ;; odd: the cheaper way round; a 5 goes round at once
          local.get $acc
          local.get $x
          i32.add
          local.set $acc
          local.get $x
          i32.const 5
          i32.eq
          br_if $top
        else              ;; even: dearer, and reads the next byte (traps at the page end)
          local.get $acc
          i32.const 1
          i32.sub
          local.set $acc
          local.get $acc
          local.get $p
          i32.load8_u
          i32.add
          local.set $acc
        end
        local.get $acc    ;; on while the sum is below $n (no counted loop: a ``while True``)
        local.get $n
        i32.lt_u
        br_if $top
      end
    end
    local.get $acc)
  (func (export "find") (param $p i32) (param $c i32) (result i32)
    loop $top
      local.get $p
      i32.load8_u
      local.get $c
      i32.eq
      if                  ;; found: return from inside the loop
        local.get $p
        i32.const 1000
        i32.add
        return
      end
      local.get $p
      i32.load8_u
      i32.eqz
      if                  ;; the string's end: return another way
        i32.const -1
        return
      end
      local.get $p
      i32.const 1
      i32.add
      local.set $p
      br $top
    end
    unreachable)
  (func (export "sift") (param $p i32) (param $n i32) (result i32)
    (local $i i32) (local $acc i32) (local $j i32) (local $x i32)
    loop $top             ;; a counted loop (a Python ``for``), whose zero bytes are dearer
      local.get $p
      local.get $i
      i32.add
      i32.load8_u
      local.tee $x
      i32.const 99
      i32.eq
      if                  ;; a 99: return from inside the loop, dearer than an iteration
        local.get $acc
        i32.const 3
        i32.mul
        i32.const 1000
        i32.add
        i32.const 7
        i32.xor
        i32.const 3
        i32.mul
        i32.const 1000
        i32.add
        i32.const 7
        i32.xor
        i32.const 3
        i32.mul
        i32.const 1000
        i32.add
        i32.const 7
        i32.xor
        i32.const 3
        i32.mul
        i32.const 1000
        i32.add
        i32.const 7
        i32.xor
        return
      end
      local.get $x
      i32.eqz
      if
        local.get $acc
        i32.const 100
        i32.add
        local.set $acc
        local.get $i
        i32.const 20
        i32.lt_u
        if                ;; early on, a nested loop: the stretch is left for it
          i32.const 0
          local.set $j
          loop $in
            local.get $acc
            local.get $j
            i32.add
            local.set $acc
            local.get $j
            i32.const 1
            i32.add
            local.tee $j
            local.get $i
            i32.lt_u
            br_if $in
          end
        end
      end
      local.get $acc
      local.get $x
      i32.add
      local.set $acc
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.ne
      br_if $top
    end
    local.get $acc)
)
"""


#: the bytes ``walk`` reads (address -> byte)
MEMORY = {16 + k: b for k, b in enumerate(TEXT)} | {65536 - NEAR + k: b for k, b in enumerate(EDGE)}


def walk_segments(p: int):
    """The segments ``walk(p)`` executes over :data:`MEMORY` (see ``test_fuel_split``)."""
    return split_walk_segments(p, MEMORY)


#: how far past what a call needs the starting fuels go: a stretch is left (by a ``break``, a
#: ``return``, or at a trap) only when the cell held more than a stretch's test asks for
#: (at most 6 + 31 * 27 here) when it began
PAST = 1000


@pytest.fixture(params=[None, 7, 40, 500])
def cell(request, monkeypatch):
    """The cell's limit: the default; one below what an iteration costs; one that an
    iteration or two empties; one that covers a stretch of ``walk`` (448) and then needs the
    bank again."""
    if request.param is not None:
        monkeypatch.setattr(fuelcell, "CELL_MAX", request.param)
    return request.param


def make(shape: str = "auto", tier: str = "python"):
    config = Config(consume_fuel=True, python_shape=shape, tier=tier, cache=False)
    store = Store(Engine(config))
    return store, Instance(store, Module(store.engine, wat(WAT)), {})


def test_the_loops_run_prepaid():
    """Both loops get a prepaid copy: ``walk``'s iterations go on at A + B = 14, and each of
    the 32 of a stretch must start with 14 as the loop without it would hold the cell."""
    from wasm2py.aot import compile

    src = compile(wat(WAT), fuel=True)
    walk = src[src.index("def f0_walk") : src.index("def f0__resume")]
    assert "if fuel >= 448:" in walk and "fuel -= 448" in walk
    assert "for pr in (434, 420, " in walk and "fuel += pr + 10" in walk
    find = src[src.index("def f2_find") : src.index("def f2__resume")]
    assert "fuel += pr + 5\n" in find and "fuel += pr + 3\n" in find  # (before each return)
    mix = src[src.index("def f1_mix") : src.index("def f1__resume")]
    assert "for pr in (" in mix
    assert "fuel += pr - 6" in mix  # (the dear exit: 10 + 23 against 27 for an iteration)


def test_the_model_reads_the_text_right():
    """The model's segment costs add up to what a counting instance counts."""
    store = Store(Engine(Config(count_instructions=True, cache=False)))
    inst = Instance(store, Module(store.engine, wat(WAT)), {})
    for p in (16, 16 + LONG - 3, 16 + LONG):
        store.instructions = 0
        result, _, required = run_model(walk_segments(p), 10**9)
        assert required is None and inst.exports.walk(p) == result
        assert store.instructions == total(walk_segments(p))
    assert run_model(walk_segments(16), 10**9)[0] == sum(TEXT)


#: where ``walk`` starts: the whole string (several stretches and a short one), its last 40
#: bytes (one stretch and a bit), the bytes up to the page end (a trap after 70 iterations:
#: in the third stretch when the cell is large)
STARTS = [16, 16 + LONG - 40, 65536 - NEAR]


@pytest.mark.parametrize("shape", ["auto", "flat"])
@pytest.mark.parametrize("p", STARTS)
def test_walk_stops_and_traps_where_the_segments_say(cell, shape, p):
    store, inst = make(shape)
    walk = inst.exports.walk
    need = total(walk_segments(p))
    check_stops(store, walk, (p,), walk_segments, range(need + PAST), TrapCode.MEMORY_OUT_OF_BOUNDS)
    store.set_fuel(need + 10**6)  # (plenty: the trap or the result with exactly 10**6 left)
    try:
        walk(p)
    except Trap as e:
        assert e.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert store.get_fuel() == 10**6


@pytest.mark.parametrize("p", STARTS[:2])
def test_walk_pauses_where_the_segments_say_and_resumes_exactly(cell, p):
    store, inst = make()
    need = total(walk_segments(p))
    check_resumes(store, inst.exports.walk, (p,), walk_segments, range(0, need + PAST, 3))


def outcomes(store, mix, args, fuels):
    """For each starting fuel: the result or trap code of ``mix(*args)``, and the fuel left."""
    out = []
    for fuel in fuels:
        store.set_fuel(fuel)
        try:
            r = mix(*args)
        except Trap as e:
            r = e.code
        out.append((r, store.get_fuel()))
    return out


#: (p, n) for ``mix``: to the string's zero (the dear exit), until the sum reaches 300 (the
#: ``br_if`` at the loop's end), the bytes at the page end (a trap in the dearer way round)
MIX_ARGS = [(16, 10**6), (16, 300), (65536 - NEAR, 10**6)]


@pytest.mark.parametrize("args", MIX_ARGS)
def test_mix_meters_as_the_flat_shape_and_the_llvm_tier(cell, args):
    pytest.importorskip("llvmlite")
    auto, flat, llvm = make("auto"), make("flat"), make(tier="llvm")
    store, inst = auto
    store.set_fuel(10**6)
    try:
        inst.exports.mix(*args)
    except Trap:
        pass
    need = 10**6 - store.get_fuel()
    assert need > 3 * 448  # (several stretches, whatever an iteration costs)
    fuels = range(need + PAST)
    got = outcomes(store, inst.exports.mix, args, fuels)
    assert got == outcomes(flat[0], flat[1].exports.mix, args, fuels)
    assert got == outcomes(llvm[0], llvm[1].exports.mix, args, fuels)
    kinds = {r for r, _ in got}
    assert TrapCode.OUT_OF_FUEL in kinds and len(kinds) == 2


def resumes_as_one_call(store, func, args) -> None:
    """From every fifth starting fuel up to ``PAST`` beyond what ``func(*args)`` uses in one
    piece, a resumable call, resumed with just what each pause asks for, finishes with that
    call's results, having used just as much."""
    store.set_fuel(10**6)
    expected = func(*args)
    need = 10**6 - store.get_fuel()
    for fuel in range(0, need + PAST, 5):
        store.set_fuel(fuel)
        r, given = func.call_resumable(*args), 0
        if isinstance(r, Finished):
            assert r.results == expected and store.get_fuel() == fuel - need
        while isinstance(r, OutOfFuel):
            given += r.required_fuel
            store.set_fuel(store.get_fuel() + r.required_fuel)
            r = r.resume()
        assert isinstance(r, Finished) and r.results == expected
        assert fuel + given - store.get_fuel() == need


@pytest.mark.parametrize("args", MIX_ARGS[:2])
def test_mix_pauses_and_resumes_with_what_a_call_in_one_piece_uses(cell, args):
    store, inst = make()
    resumes_as_one_call(store, inst.exports.mix, args)


def test_a_trap_in_a_stretch_names_the_instruction_the_flat_shape_names(cell):
    """The ``try`` that gives the fuel back re-raises the trap as it came: its backtrace names
    the same load, and the fuel left is the same (``sift``'s: in a stretch of a counted
    loop)."""
    got = []
    for shape in ("auto", "flat"):
        store, inst = make(shape)
        for name, args in (("walk", (65536 - NEAR,)), ("mix", (65536 - NEAR, 10**6)),
                           ("sift", (65536 - NEAR, 10**6))):  # fmt: skip
            store.set_fuel(10**6)
            with pytest.raises(Trap) as info:
                getattr(inst.exports, name)(*args)
            assert info.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
            got.append((name, str(info.value), store.get_fuel()))
    assert got[:3] == got[3:]
    assert got[0][2] == 10**6 - total(walk_segments(65536 - NEAR))  # (A of the 71st charged)


def find_segments(p: int, c: int):
    """The segments ``find(p, c)`` executes (read off its text: the loop's 1, then per byte
    A = 5 up to the first ``if``, 4 more to return when it matches, B = 4 up to the second
    ``if``, 2 more to return at the zero, 5 to go round); its result, or None where it traps
    (reading past the page, in A)."""
    memory = {16 + k: b for k, b in enumerate(TEXT)} | {
        65536 - NEAR + k: b for k, b in enumerate(EDGE)
    }
    yield 1
    while True:
        yield 5
        if p >= 65536:
            return None
        if memory.get(p, 0) == c:
            yield 4
            return p + 1000
        yield 4
        if memory.get(p, 0) == 0:
            yield 2
            return -1
        yield 5
        p += 1


#: (p, c) for ``find``: the 42, 80 bytes in; the string's end, 50 bytes in; the page's end
FIND_ARGS = [(16, 42), (16 + 50, 9), (65536 - NEAR, 9)]


@pytest.mark.parametrize("args", FIND_ARGS)
def test_a_return_in_a_stretch_leaves_the_fuel_the_segments_say(cell, args):
    store, inst = make()
    find = inst.exports.find
    need = total(find_segments(*args))
    assert need > 448  # (more than a stretch: 14 an iteration)
    check_stops(store, find, args, find_segments, range(need + PAST),
                TrapCode.MEMORY_OUT_OF_BOUNDS)  # fmt: skip


# ``sift``: a counted loop run in stretches by ``prepay_for_loops``. Its way round is 22 (8 to
# the test of the 99, 3 to the test of a zero, 11 to the end); a zero byte charges 11 instead
# of 3 (8 more) and, before 20, runs a nested loop (the barrier); the 99's ``return`` charges
# 26 after its test. The most any check asks for from the head is 8 + 26 = 34, so a stretch
# needs 34 + 31 * 22 = 716 in the cell and keeps at least 34 - 22 = 12 there as each
# iteration starts (a zero byte, after taking its 8, checks that).

#: (p, n) for ``sift``: to the 99 at 150 (a ``return`` in a stretch, after four nested loops
#: and many zero bytes, each of which the floor checks), from 151 to the 99 at 183 (a
#: ``return`` as the last iteration of a stretch with no zero: the stretch's own test must
#: leave enough), to the 140th byte (the loop runs out in a stretch), to the 53rd (it runs out
#: as a stretch starts: none of it runs), the bytes at the page end (no zero; a trap in the
#: third stretch)
SIFT_ARGS = [(SIFT_AT, 10**6), (SIFT_AT + 151, 10**6), (SIFT_AT, 140), (SIFT_AT, 53),
             (65536 - NEAR, 10**6)]  # fmt: skip


def test_the_counted_loop_runs_prepaid_stretches():
    """The figures of the comment above, read in the text: the charge and test of a stretch,
    the floor a zero byte checks after taking its 8, and what is given back by a trap in the
    load of the byte (charged 8 of 22), the ``return`` (34), the nested loop (19), the floor's
    exit (11, once the 8 are taken: the rest of the iteration then runs checked) and the range
    running out (the iterations not started)."""
    from wasm2py.aot import compile

    src = compile(wat(WAT), fuel=True)
    sift = src[src.index("def f3_sift") : src.index("def f3__resume")]
    assert "if fuel >= 716:" in sift and "fuel -= 704" in sift and "pf = 704" in sift
    assert "for pf, l2 in zip((682, 660, " in sift and ", 22, 0), pz0_0):" in sift
    assert "fuel -= 8\n" in sift and "if fuel < 12:" in sift
    for back in ("pf + 14", "pf - 12", "pf + 3", "pf + 11"):
        assert sift.count(f"fuel += {back}\n") == 1
    assert "else:\n" + " " * 24 + "fuel += pf\n" in sift


def sift_need(inst, store, args):
    store.set_fuel(10**6)
    try:
        inst.exports.sift(*args)
    except Trap:
        pass
    return 10**6 - store.get_fuel()


@pytest.mark.parametrize("args", SIFT_ARGS)
def test_sift_meters_as_the_flat_shape_and_the_llvm_tier(cell, args):
    """Every starting fuel up to well past what the call needs: the same result or trap, and
    the same fuel left, in stretches left by each way out (the barrier, the floor, the
    ``return``, the trap, the range's end) and by the fuel running out."""
    pytest.importorskip("llvmlite")
    auto, flat, llvm = make("auto"), make("flat"), make(tier="llvm")
    store, inst = auto
    need = sift_need(inst, store, args)
    assert need > 704  # (a stretch at least, whatever an iteration costs)
    fuels = range(need + PAST)
    sift = inst.exports.sift
    got = outcomes(store, sift, args, fuels)
    assert got == outcomes(flat[0], flat[1].exports.sift, args, fuels)
    assert got == outcomes(llvm[0], llvm[1].exports.sift, args, fuels)
    kinds = {r for r, _ in got}
    assert TrapCode.OUT_OF_FUEL in kinds and len(kinds) == 2


def test_sift_returns_what_the_bytes_say():
    """The result, worked from the bytes: 100 and the sum of 0..i-1 (the nested loop, which
    runs once at 0 too) for each zero byte at i (its nested loop only before 20), plus every
    byte; up to a 99 (returned without it, through ``(acc * 3 + 1000) ^ 7`` four times) or the
    n-th byte."""

    def model(p: int, n: int) -> int:
        acc = 0
        for i, x in enumerate(SIFT[p - SIFT_AT : p - SIFT_AT + n]):
            if x == 99:
                for _ in range(4):
                    acc = ((acc * 3 + 1000) % 2**32) ^ 7
                return acc
            if x == 0:
                acc += 100 + (sum(range(i)) if i < 20 else 0)
            acc += x
        return acc

    store, inst = make()
    store.set_fuel(10**6)
    for args in SIFT_ARGS[:4]:
        assert inst.exports.sift(*args) == model(*args)


@pytest.mark.parametrize("args", SIFT_ARGS[:2])
def test_sift_pauses_and_resumes_with_what_a_call_in_one_piece_uses(cell, args):
    store, inst = make()
    resumes_as_one_call(store, inst.exports.sift, args)
