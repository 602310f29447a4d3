"""With fuel, a zero-fill loop's prepaid stretch (``CodeGen._prepaid``) fills its stores with
one slice assignment (:func:`wasm2py.translate.peephole.fill_loops`), and the fuel stays exact:
a call stops at the same iteration as the loop run store by store, with the same fuel left and
the same memory contents, and a paused call resumes to the same end.

The figures are worked by hand from ``CLEAR`` (:mod:`tests.test_codegen_fill`) by the rule of
:mod:`wasm2py.fuel` (1 fuel per instruction, ``end`` free, a new segment at a loop's head and
after a ``br_if``)::

    block, local.get, local.get, i32.eq, br_if       5   (A)
    loop                                             1   (B)
    local.get, i64.const, i64.store, local.get,
    local.get, i32.const, i32.add, local.tee,
    i32.ne, br_if                                   10   (C, each iteration)
    local.get (after the block's end)                1   (D)

so ``clear(p, p + 8 * n)`` with ``n >= 1`` costs ``7 + 10 * n``. With fuel ``6 + 10 * k + r``
(``0 <= r < 10``, ``k < n``) it stops with ``OUT_OF_FUEL`` after ``k`` stores, ``r`` fuel left.
"""

from __future__ import annotations

import ast

import pytest

from wasm2py import Config, Engine, Finished, Instance, Module, OutOfFuel, Store, Trap, TrapCode
from wasm2py.binary.decoder import decode_module
from wasm2py.translate.module import translate_module
from wasm2py.validate.validator import validate_module

from .test_codegen_fill import CLEAR
from .wat import wat

N = 100
P = 1000  # the stores cover bytes [P + 16, P + 16 + 8 * N)


def cost(n: int) -> int:
    return 7 + 10 * n


def make(shape: str = "auto"):
    store = Store(Engine(Config(consume_fuel=True, python_shape=shape, cache=False)))
    inst = Instance(store, Module(store.engine, wat(CLEAR)), {})
    store.set_fuel(10**9)
    inst.exports.fill(0, 65536)  # (its own fuel: set_fuel below starts afresh)
    return store, inst


def expected_memory(k: int) -> bytes:
    lo = P + 16
    return b"\xab" * lo + bytes(8 * k) + b"\xab" * (65536 - lo - 8 * k)


def test_the_model_matches_a_counting_instance():
    store = Store(Engine(Config(count_instructions=True, cache=False)))
    inst = Instance(store, Module(store.engine, wat(CLEAR)), {})
    for n in (1, 2, N):
        store.instructions = 0
        assert inst.exports.clear(P, P + 8 * n) == P + 8 * n
        assert store.instructions == cost(n)


def test_the_prepaid_stretch_fills():
    module = decode_module(wat(CLEAR))
    validate_module(module)
    tree, _ = translate_module(module, Config(consume_fuel=True))
    src = next(ast.unparse(f) for f in ast.walk(tree)
               if isinstance(f, ast.FunctionDef) and f.name.endswith("clear"))  # fmt: skip
    assert "bytes(len(q0) * 8)" in src, src


@pytest.mark.parametrize("shape", ["auto", "flat"])
@pytest.mark.parametrize(("k", "r"), [(0, 0), (0, 9), (1, 0), (37, 3), (64, 9), (99, 9)])
def test_out_of_fuel_midway_stops_at_the_same_store(shape, k, r):
    store, inst = make(shape)
    store.set_fuel(6 + 10 * k + r)
    with pytest.raises(Trap) as info:
        inst.exports.clear(P, P + 8 * N)
    assert info.value.code is TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == r
    assert inst.exports.mem.read(0, 65536) == expected_memory(k)


@pytest.mark.parametrize("shape", ["auto", "flat"])
@pytest.mark.parametrize("extra", [0, 1, 500])
def test_enough_fuel_clears_all(shape, extra):
    store, inst = make(shape)
    store.set_fuel(cost(N) + extra)
    assert inst.exports.clear(P, P + 8 * N) == P + 8 * N
    assert store.get_fuel() == extra
    assert inst.exports.mem.read(0, 65536) == expected_memory(N)


def test_all_iterations_but_not_the_last_segment():
    store, inst = make()
    store.set_fuel(cost(N) - 1)  # the N stores are paid, the final local.get is not
    with pytest.raises(Trap) as info:
        inst.exports.clear(P, P + 8 * N)
    assert info.value.code is TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == 0
    assert inst.exports.mem.read(0, 65536) == expected_memory(N)


@pytest.mark.parametrize("k", [0, 37, 99])
def test_a_pause_midway_resumes_to_the_same_end(k):
    store, inst = make()
    store.set_fuel(6 + 10 * k + 4)
    r = inst.exports.clear.call_resumable(P, P + 8 * N)
    assert isinstance(r, OutOfFuel) and r.required_fuel == 10
    assert store.get_fuel() == 4
    assert inst.exports.mem.read(0, 65536) == expected_memory(k)
    store.set_fuel(cost(N) - 6 - 10 * k)  # exactly the rest (the 4 left among it)
    r = r.resume()
    assert isinstance(r, Finished) and r.results == P + 8 * N
    assert store.get_fuel() == 0
    assert inst.exports.mem.read(0, 65536) == expected_memory(N)


def test_a_fill_past_the_end_traps_after_the_stores_before_it_with_their_fuel():
    """The fill is all or nothing: past the end the stretch runs store by store, so the trap
    comes at the first store out of bounds with the fuel of the iterations up to it."""
    store, inst = make()
    fuel = 10**6
    store.set_fuel(fuel)
    with pytest.raises(Trap) as info:
        inst.exports.clear(65000, 66000)  # p = 65000 + 8 * 65 = 65520 stores bytes 65536..
    assert info.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert store.get_fuel() == fuel - 6 - 10 * 66  # A, B and 66 iterations (the 66th traps)
    assert inst.exports.mem.read(65016, 65536) == bytes(65536 - 65016)
    assert inst.exports.mem.read(65008, 65016) == b"\xab" * 8
