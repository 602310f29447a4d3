"""Modules CPython's limits would refuse in a naive translation (``tools/stress/generate.py``):
every one loads and computes what an independent model of it says, in both tiers; the Python
tier's flat fallback shape keeps traps, fuel, instruction counting, pausing and ahead-of-time
output working, and agrees with the structured shape where both apply."""

from __future__ import annotations

import importlib.util
import random

import pytest

import wasm2py
from tools.stress import generate as gen
from wasm2py import Config, Engine, Finished, Instance, Module, OutOfFuel, Store

#: full-size stress modules for the Python tier; the flat shape is what makes them load
FULL = {"loops30": lambda: gen.loops(30), "blocks2000": lambda: gen.blocks(2000),
        "siblings2000": lambda: gen.sibling_blocks(2000), "ifs50000": lambda: gen.ifs(50_000),
        "br_table5000": lambda: gen.br_table(5000), "long100000": lambda: gen.long(100_000),
        "functions50000": lambda: gen.functions(50_000)}  # fmt: skip
#: the LLVM tier compiles every function up front, and some of these shapes cost it minutes at
#: full size (``python tools/stress/run.py`` measures them): smaller instances of the same
#: shapes, without LLVM's optimiser (what is tested is that the lowering accepts them)
FOR_LLVM = {"loops30": lambda: gen.loops(30), "blocks2000": lambda: gen.blocks(2000),
            "siblings300": lambda: gen.sibling_blocks(300), "ifs500": lambda: gen.ifs(500),
            "br_table500": lambda: gen.br_table(500), "long10000": lambda: gen.long(10_000),
            "functions500": lambda: gen.functions(500)}  # fmt: skip


def check(st: gen.Stress, config: Config) -> Instance:
    engine = Engine(config)
    inst = Instance(Store(engine), Module(engine, st.wasm))
    for export, args, expected in st.calls:
        assert inst.exports[export](*args) & 0xFFFFFFFF == expected, (st.name, export, args)
    return inst


def is_flat(inst: Instance, index: int) -> bool:
    """Whether function ``index`` runs in the flat shape (its dispatch label ``L``)."""
    fn = inst._state.slots.python[index]
    return fn is not None and "L" in fn.__code__.co_varnames


@pytest.mark.parametrize("name", list(FULL))
def test_stress_modules_run_in_the_python_tier(name):
    st = FULL[name]()
    inst = check(st, Config(cache=False))
    # beyond what the structured shape may nest: 30 Python loops, thousands of nested ifs or
    # of ``brk`` guards; blocks, switches and long code stay inline
    assert is_flat(inst, 0) == (name in ("loops30", "siblings2000", "ifs50000")), name


@pytest.mark.parametrize("name", list(FOR_LLVM))
def test_stress_modules_run_in_the_llvm_tier(name):
    pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    check(FOR_LLVM[name](), Config(tier="llvm", cache=False, llvm_opt_level=0))


def test_a_huge_br_table_is_compiled_without_llvm_optimiser():
    # LLVM's SimplifyCFG is quadratic in a switch's cases (br_table5000 at O2: ~17 CPU s,
    # ``python tools/stress/run.py --tier llvm --only br_table``): such a function is
    # ``optnone``, at the default level too, and still computes what the model says
    pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.lower import HUGE_BR_TABLE, build_module

    def head(st):
        # (the function's code: its body in a module without tail calls, see
        # ModuleBuilder.bodies, else its tailcc function)
        ir = str(build_module(decode_module(st.wasm)))
        heads = [line for line in ir.splitlines() if line.startswith("define ")]
        return next((h for h in heads if '@"w0.body"(' in h), None) \
            or next(h for h in heads if '@"w0"(' in h)

    huge = gen.br_table(HUGE_BR_TABLE + 1)
    assert "optnone" in head(huge) and "optnone" not in head(gen.br_table(HUGE_BR_TABLE))
    check(huge, Config(tier="llvm", cache=False))


#: shapes both translations accept: they must agree on everything
BOTH = [gen.loops(12, (3, 2, 2)), gen.blocks(60), gen.sibling_blocks(40), gen.ifs(60),
        gen.br_table(200), gen.long(3000)]  # fmt: skip


def _run_all(st, **config):
    engine = Engine(Config(cache=False, **config))
    store = Store(engine)
    if config.get("consume_fuel"):
        store.set_fuel(10**9)
    inst = Instance(store, Module(engine, st.wasm))
    results = [inst.exports[e](*a) for e, a, _ in st.calls]
    used = 10**9 - store.get_fuel() if config.get("consume_fuel") else store.instructions
    return results, used, inst


@pytest.mark.parametrize("st", BOTH, ids=[s.name for s in BOTH])
def test_flat_and_structured_shapes_agree(st):
    expected = [e & 0xFFFFFFFF for _, _, e in st.calls]
    for mode in ({"consume_fuel": True}, {"count_instructions": True}):
        ref, used, inst = _run_all(st, **mode)
        assert not is_flat(inst, 0)
        flat, flat_used, inst = _run_all(st, python_shape="flat", **mode)
        assert is_flat(inst, 0)
        assert [r & 0xFFFFFFFF for r in ref] == expected
        assert flat == ref and flat_used == used > 0, (st.name, mode)


# ifs200: deeper than flat.MAX_NESTING, so flat, yet cheap to re-translate at each resume
@pytest.mark.parametrize("st", [gen.loops(30), gen.sibling_blocks(300), gen.ifs(200)],
                         ids=["loops30", "siblings300", "ifs200"])  # fmt: skip
def test_pausing_and_resuming_inside_a_flat_function(st):
    """Out of fuel at random points, resumed each time: same results, same total fuel."""
    engine = Engine(Config(consume_fuel=True, cache=False))
    rng = random.Random(st.name)
    for export, args, expected in st.calls:
        store = Store(engine)
        inst = Instance(store, Module(engine, st.wasm))
        store.set_fuel(10**9)
        assert inst.exports[export](*args) & 0xFFFFFFFF == expected
        total = 10**9 - store.get_fuel()
        store.set_fuel(rng.randrange(1, min(50, total)))  # less than the call needs: it pauses
        given = store.get_fuel()
        r = inst.exports[export].call_resumable(*args)
        pauses = 0
        while isinstance(r, OutOfFuel):
            pauses += 1
            # a dozen pauses or so: each resume re-translates the whole function
            more = r.required_fuel + rng.randrange(0, max(200, total // 6))
            given += more
            store.set_fuel(store.get_fuel() + more)
            r = r.resume()
        assert isinstance(r, Finished) and r.results & 0xFFFFFFFF == expected
        assert given - store.get_fuel() == total
        assert pauses > 0
        assert is_flat(inst, 0)


def test_traps_in_a_flat_function_have_a_backtrace_and_offsets():
    depth = 300
    code = (gen.op(gen.BLOCK, gen.EMPTY) * depth + gen.op(gen.LOCAL_GET, 0)
            + gen.op(gen.BR_IF, depth // 2) + b"\x00"  # unreachable
            + bytes([gen.END]) * depth + gen.i32c(7))  # fmt: skip
    wasm = gen.encode([gen.Func(1, 1, 0, code, "run")])
    # the code section is last: after the trap come the ends, i32.const 7 and the final end
    offset = len(wasm) - (1 + depth + 2 + 1)
    assert wasm[offset] == 0
    for shape in ("auto", "flat"):  # (blocks nest no Python statements: "auto" is structured)
        engine = Engine(Config(cache=False, python_shape=shape))
        inst = Instance(Store(engine), Module(engine, wasm))
        assert inst.exports.run(1) == 7
        with pytest.raises(wasm2py.Trap) as e:
            inst.exports.run(0)
        assert e.value.code is wasm2py.TrapCode.UNREACHABLE
        assert e.value.frames == [(0, "run", offset)]
        assert is_flat(inst, 0) == (shape == "flat")


def test_flat_functions_in_ahead_of_time_files(tmp_path):
    """Source allows 100 levels of indentation: deep functions must be flat there too."""
    for st in (gen.sibling_blocks(2000), gen.ifs(2000), gen.loops(30)):
        out = tmp_path / f"{st.name}.py"
        wasm2py.compile(st.wasm, out)
        spec = importlib.util.spec_from_file_location(f"stress_{st.name}", out)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        inst = mod.instantiate()
        for export, args, expected in st.calls:
            assert inst.exports[export](*args) & 0xFFFFFFFF == expected, st.name


def _hot_events(st: gen.Stress, shape: str) -> int:
    engine = Engine(Config(tier="auto", tier_up_threshold=10**9, cache=False, python_shape=shape,
                           baseline=False))  # (the Python tier counting)
    inst = Instance(Store(engine), Module(engine, st.wasm))
    events = []
    ns = inst._state.ns
    # what counts each function's calls and iterations (set as its code is bound)
    inst._state.slots.on_bind = lambda i: ns.__setitem__(f"HOT{i}", lambda: events.append(i))
    assert inst.exports.run(5) & 0xFFFFFFFF == st.calls[-1][2]
    assert is_flat(inst, 0) == (shape == "flat")
    return len(events)


def test_tier_up_counts_calls_and_loop_iterations_in_flat_functions():
    st = gen.loops(12, (3, 2))
    # run(5): loop 0 iterates 3 times, loop 1 2 per iteration of loop 0, loops 2..10 once per
    # iteration of their parent, loop 11 five times: and one call
    expected = 1 + 3 + 6 + 9 * 6 + 6 * 5
    assert _hot_events(st, "auto") == _hot_events(st, "flat") == expected
