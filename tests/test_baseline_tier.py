"""The baseline tier wired into ``tier="auto"`` (``Config.baseline``): functions compiled to
x86-64 machine code at their first call (:mod:`wasm2py.baseline`), refused ones in the Python
tier (tiering up to LLVM when hot), cached LLVM units first.

Expected values are worked by hand, or come from the Python tier (``tier="python"``) or the
programs' native builds, never from the baseline itself."""

from __future__ import annotations

import ctypes
import io
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import wasm2py
from wasm2py import Config, Engine, Finished, HostTrap, Instance, Module, Store, Trap, TrapCode
from wasm2py.baseline.unit import available
from wasm2py.errors import ConfigError
from wasm2py.llvm import abi
from wasm2py.types import FuncType, ValType

from .wat import wat

pytestmark = pytest.mark.skipif(not available(), reason="the baseline tier needs x86-64 Linux")

ROOT = Path(__file__).resolve().parent.parent

PROG = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (table (export "tab") 4 funcref)
  (elem (i32.const 0) $sq $neg)
  (type $un (func (param i32) (result i32)))
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add
    end)
  (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func $neg (param i32) (result i32) i32.const 0 local.get 0 i32.sub)
  ;; table[k](x)
  (func $via (export "via") (param $k i32) (param $x i32) (result i32)
    local.get $x local.get $k call_indirect (type $un))
  ;; sum over k < n of ask(k) + mem[4k] + g
  (func $loop (export "loop") (param $n i32) (result i32) (local $k i32) (local $acc i32)
    block
      loop
        local.get $k local.get $n i32.ge_u br_if 1
        local.get $acc
        local.get $k call $ask i32.add
        local.get $k i32.const 4 i32.mul i32.load i32.add
        global.get $g i32.add
        local.set $acc
        local.get $k i32.const 1 i32.add local.set $k
        br 0
      end
    end
    local.get $acc)
  (func $inner (param i32) (result i32) local.get 0 i32.const 7 i32.div_u)
  (func $middle (param i32) (result i32) local.get 0 call $inner i32.const 1 i32.add)
  (func $divide (export "divide") (param i32) (result i32) local.get 0 call $middle)
  (func $load (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func $grow (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func $size (export "size") (result i32) memory.size)
  (func $wide (export "wide") (param i64 f64 f32 i32) (result f64)
    local.get 0 f64.convert_i64_s local.get 1 f64.mul local.get 2 f64.promote_f32 f64.add
    local.get 3 f64.convert_i32_u f64.sub)
)""")


class Ask(Exception):
    pass


def make(tier="auto", ask=None, **config):
    engine = Engine(Config(tier=tier, cache=False, **config))
    store = Store(engine)

    def default_ask(k):
        raise Ask(k)

    inst = Instance(store, Module(engine, PROG), {"env": {"ask": ask or default_ask}})
    return store, inst


def tiers_by_name(inst) -> dict[str, str]:
    m = inst.module._module
    return {m.func_name(i): t for i, t in inst.function_tiers().items()}


# -- configuration ---------------------------------------------------------------------------


def test_config_baseline_is_a_bool_on_by_default_here():
    assert Config().baseline is True  # (this test module runs on x86-64 Linux only)
    assert Config(baseline=False).baseline is False
    for bad in (1, "yes", None):
        with pytest.raises(ConfigError):
            Config(baseline=bad)


def test_stores_with_fuel_or_epochs_run_baseline_code():
    """(Fuel and epochs in detail: ``tests/test_baseline_fuel.py``.)"""
    used = {}
    for extra in ({"consume_fuel": True}, {"epoch_interruption": True},
                  {"consume_fuel": True, "baseline": False}):  # fmt: skip
        store, inst = make(**extra)
        if extra.get("consume_fuel"):
            store.set_fuel(10**9)
        if extra.get("epoch_interruption"):
            store.set_epoch_deadline(1000)
        assert inst.exports.fib(15) == 610
        want = "baseline" if extra.get("baseline", True) else "python"
        assert inst.function_tiers()[1] == want  # fib (the others are not called)
        if extra.get("consume_fuel"):
            used[want] = 10**9 - store.get_fuel()
    assert used["baseline"] == used["python"] > 0


def test_baseline_false_keeps_the_python_tier_first():
    store, inst = make(baseline=False)
    assert inst.exports.fib(15) == 610
    assert set(inst.function_tiers().values()) == {"python"}


# -- running -------------------------------------------------------------------------------


def test_first_call_compiles_and_runs_baseline_code_without_llvm():
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import wasm2py
engine = wasm2py.Engine(wasm2py.Config(tier="auto", cache=False))
store = wasm2py.Store(engine)
wasm = bytes.fromhex({PROG.hex()!r})
inst = wasm2py.Instance(store, wasm2py.Module(engine, wasm), {{"env": {{"ask": lambda k: 3 * k}}}})
print(inst.exports.fib(20), inst.exports.loop(10), inst.tier)
print(sorted(set(inst.function_tiers().values())))
print([m for m in sys.modules if m.startswith("llvmlite")])
from wasm2py.llvm import abi
print(store.native.rt[abi.RT_RECORD], store.native.rt[abi.RT_SUSPEND_CB])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")  # fmt: skip
    # fib(20) = 6765; loop(10) = sum of 3k over k < 10 (memory and g are zero) = 135
    assert out[0] == "6765 135 mixed"
    assert out[1] == "['baseline', 'python']"
    assert out[2] == "[]"  # no LLVM loaded
    assert out[3] == "0 0"  # the store's native runtime not armed (NativeRuntime.arm)


def test_the_module_info_is_made_once_for_all_first_calls(monkeypatch):
    # each first call compiles one function: the per-module data is made at the first only
    from wasm2py.baseline import emit

    made = []
    real = emit.ModuleInfo.__init__

    def counting(self, *args, **kwargs):
        made.append(args[0])
        real(self, *args, **kwargs)

    monkeypatch.setattr(emit.ModuleInfo, "__init__", counting)
    store, inst = make(ask=lambda k: k)
    assert inst.exports.fib(10) == 55 and inst.exports.divide(700) == 101  # 700 // 7 + 1
    tiers = tiers_by_name(inst)
    assert {tiers[n] for n in ("fib", "divide", "middle", "inner")} == {"baseline"}
    assert len(made) == 1


def test_function_tiers_say_baseline_for_called_functions():
    store, inst = make(ask=lambda k: k)
    before = tiers_by_name(inst)
    assert set(before.values()) == {"python"}
    assert inst.exports.fib(10) == 55
    after = tiers_by_name(inst)
    assert after["fib"] == "baseline"
    assert after["sq"] == "python"  # not called yet


def test_results_agree_with_the_python_tier():
    rng = random.Random(7)
    _, py = make(tier="python", ask=lambda k: 5 * k + 1)
    _, bl = make(ask=lambda k: 5 * k + 1)
    for inst in (py, bl):
        inst.exports.mem.write(bytes(range(256)) * 4, 0)
        inst.exports.g.value = 3
    for n in range(0, 25):
        assert bl.exports.fib(n) == py.exports.fib(n)
    for n in (0, 1, 17, 100):
        assert bl.exports.loop(n) == py.exports.loop(n)
    for _ in range(50):
        x = rng.randrange(2**32)
        assert bl.exports.divide(x) == py.exports.divide(x)
    for k in (0, 1):
        for x in (0, 1, 5, 0x7FFFFFFF, 0xFFFFFFFF):
            assert bl.exports.via(k, x) == py.exports.via(k, x)
    args = (-(2**40), 1.5, -2.25, 0xFFFFFFFF)
    assert bl.exports.wide(*args) == py.exports.wide(*args)
    assert bl.exports.wide(*args) == -(2.0**40) * 1.5 - 2.25 - 0xFFFFFFFF
    assert tiers_by_name(bl)["fib"] == "baseline"


# -- traps ---------------------------------------------------------------------------------


def trap_of(fn, *args) -> Trap:
    with pytest.raises(Trap) as e:
        fn(*args)
    return e.value


def test_traps_have_the_code_of_the_python_tier_and_the_offset_of_the_instruction():
    from wasm2py.binary.decoder import decode_module
    from wasm2py.binary.opcodes import OpCode as O

    _, py = make(tier="python", ask=lambda k: k)
    _, bl = make(ask=lambda k: 0)
    m = decode_module(PROG)
    index = {m.func_name(i): i for i in range(1, 1 + len(m.funcs))}  # (one import)
    for name, args, op in (("load", (65536,), O.I32_LOAD), ("via", (3, 1), O.CALL_INDIRECT),
                           ("via", (9, 1), O.CALL_INDIRECT)):  # fmt: skip
        t_py = trap_of(getattr(py.exports, name), *args)
        t_bl = trap_of(getattr(bl.exports, name), *args)
        assert t_bl.code == t_py.code
        at = next(i.offset for i in m.codes[index[name] - 1].body if i.op == op)
        assert [(f.func_index, f.offset) for f in t_bl.frames] == [(index[name], at)]
    assert t_py.code == TrapCode.TABLE_OUT_OF_BOUNDS
    assert tiers_by_name(bl)["load"] == tiers_by_name(bl)["via"] == "baseline"


DEEP_TRAP = wat("""
(module
  (func $inner (param i32) (result i32) i32.const 100 local.get 0 i32.div_s)
  (func $middle (param i32) (result i32) local.get 0 call $inner i32.const 1 i32.add)
  (func $outer (export "outer") (param i32) (result i32) local.get 0 call $middle i32.const 2 i32.mul)
  (func $down (export "down") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) unreachable else local.get 0 i32.const 1 i32.sub call $down end)
)""")


def _offsets(wasm: bytes, index: int, op: int) -> list[int]:
    """The offsets of the instructions ``op`` in function ``index`` (no imports)."""
    from wasm2py.binary.decoder import decode_module

    return [i.offset for i in decode_module(wasm).codes[index].body if i.op == op]


@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize("name", ["outer", "down"])
def test_trap_backtraces_through_baseline_frames(name, warm):
    """The trap's frames, innermost first, at the offsets of the trapping instruction and
    the calls (those the LLVM tier records; ``warm``: the functions compiled by an earlier
    call, else the trapping call compiles them one by one as it reaches them)."""
    from wasm2py.binary.opcodes import OpCode as O

    engine = Engine(Config(tier="auto", cache=False))
    inst = Instance(Store(engine), Module(engine, DEEP_TRAP))
    if warm:
        assert inst.exports.outer(7) == (100 // 7 + 1) * 2
        assert trap_of(inst.exports.down, 2).code == TrapCode.UNREACHABLE
    if name == "outer":
        t = trap_of(inst.exports.outer, 0)
        assert t.code == TrapCode.INTEGER_DIVIDE_BY_ZERO
        want = [(0, _offsets(DEEP_TRAP, 0, O.I32_DIV_S)[0]), (1, _offsets(DEEP_TRAP, 1, O.CALL)[0]),
                (2, _offsets(DEEP_TRAP, 2, O.CALL)[0])]  # fmt: skip
    else:
        t = trap_of(inst.exports.down, 5)
        assert t.code == TrapCode.UNREACHABLE
        call = _offsets(DEEP_TRAP, 3, O.CALL)[0]
        want = [(3, _offsets(DEEP_TRAP, 3, O.UNREACHABLE)[0])] + [(3, call)] * 5
    assert [(f.func_index, f.offset) for f in t.frames] == want
    tiers = tiers_by_name(inst)
    assert tiers["outer" if name == "outer" else "down"] == "baseline"


def test_stack_exhaustion_traps():
    engine = Engine(Config(tier="auto", cache=False))
    inst = Instance(Store(engine), Module(engine, DEEP_TRAP))
    assert trap_of(inst.exports.down, 10**7).code == TrapCode.CALL_STACK_EXHAUSTED
    assert inst.exports.outer(1) == 202  # and the instance still runs


# -- host functions, tables, memory --------------------------------------------------------


def test_host_imports_from_baseline_code():
    calls = []

    def ask(k):
        calls.append(k)
        return k * k

    _, inst = make(ask=ask)
    assert inst.exports.loop(6) == sum(k * k for k in range(6))
    assert calls == list(range(6))
    assert tiers_by_name(inst)["loop"] == "baseline"

    def fails(k):
        raise KeyError(k)

    _, inst = make(ask=fails)
    with pytest.raises(KeyError):
        inst.exports.loop(3)
    assert inst.exports.fib(6) == 8


def test_tables_from_both_sides():
    _, inst = make(ask=lambda k: 0)
    assert inst.exports.via(0, 12) == 144
    assert inst.exports.via(1, 12) == -12  # (i32 results are signed at the API)
    tab = inst.exports.tab
    tab.set(2, tab.get(0))  # the embedder writes an entry: baseline code sees it
    assert inst.exports.via(2, 9) == 81

    host = wasm2py.Func(inst.store, FuncType([ValType.I32], [ValType.I32]), lambda x: x + 1000)
    tab.set(3, host)  # a host function in the table: called through a trampoline
    assert inst.exports.via(3, 5) == 1005
    assert tiers_by_name(inst)["via"] == "baseline"


def test_memory_grow_from_both_sides():
    _, inst = make(ask=lambda k: 0)
    ex = inst.exports
    assert ex.size() == 1
    assert trap_of(ex.load, 65536).code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert ex.grow(1) == 1  # wasm grows: the embedder and the Python tier see it
    assert ex.mem.size == 2
    ex.mem.write((123456).to_bytes(4, "little"), 65536)
    assert ex.load(65536) == 123456
    ex.mem.grow(2)  # the embedder grows: baseline code sees the new size
    assert ex.size() == 4
    ex.mem.write((42).to_bytes(4, "little"), 3 * 65536)
    assert ex.load(3 * 65536) == 42
    assert trap_of(ex.load, 4 * 65536).code == TrapCode.MEMORY_OUT_OF_BOUNDS
    assert tiers_by_name(inst)["load"] == "baseline"
    assert tiers_by_name(inst)["grow"] == "baseline"


# -- resumable calls -----------------------------------------------------------------------


def test_pause_and_resume_in_an_instance_of_baseline_code():
    store, inst = make()
    ex = inst.exports
    assert ex.fib(12) == 144  # baseline code
    ex.mem.write(b"\0" * 64, 0)
    assert tiers_by_name(inst)["fib"] == "baseline"
    r = ex.loop.call_resumable(4)
    seen = []
    while isinstance(r, HostTrap):
        k = r.host_error.args[0]
        seen.append(k)
        ex.g.value = k
        r = r.resume(10 * k)
    assert isinstance(r, Finished)
    assert seen == [0, 1, 2, 3]
    assert r.results == sum(10 * k + k for k in range(4))
    assert ex.fib(15) == 610  # plain calls run baseline code again


# -- refused functions, LLVM tier-up, cached units ------------------------------------------

SIMD = wat("""
(module
  (func $plain (export "plain") (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
  (func $vec (export "vec") (param i32) (result i32)
    local.get 0 i32x4.splat local.get 0 i32x4.splat i32x4.add i32x4.extract_lane 2)
  (func $both (export "both") (param i32) (result i32) local.get 0 call $vec local.get 0 call $plain i32.add)
)""")


def test_a_refused_function_stays_in_python_and_tiers_up_to_llvm():
    pytest.importorskip("llvmlite")
    engine = Engine(Config(tier="auto", cache=False, tier_up_threshold=5))
    inst = Instance(Store(engine), Module(engine, SIMD))
    assert inst.exports.both(4) == 8 + 12
    tiers = tiers_by_name(inst)
    assert tiers["plain"] == "baseline" and tiers["vec"] == "python"
    m = inst.module._module
    assert [m.func_name(i) for i in inst._tierup.refused] == ["vec"]
    for x in range(50):
        assert inst.exports.both(x) == 5 * x
    assert inst._tierup.wait(120)
    inst._tierup.attach_ready()
    assert tiers_by_name(inst)["vec"] == "llvm"
    assert inst.exports.both(100) == 500
    rt = inst.store.native.rt  # (LLVM code came: the runtime is armed for it)
    assert rt[abi.RT_RECORD] != 0 and rt[abi.RT_SUSPEND_CB] != 0


def test_cached_llvm_units_win_over_baseline_code(tmp_path, monkeypatch):
    pytest.importorskip("llvmlite")
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    wasm = PROG
    imports = {"env": {"ask": lambda k: k}}
    # run 1: LLVM units for what gets hot (no baseline; no guard pages, as beside baseline code)
    engine = Engine(Config(tier="auto", baseline=False, llvm_guard_pages=False,
                           tier_up_threshold=0))  # fmt: skip
    inst = Instance(Store(engine), Module(engine, wasm), imports)
    assert inst.exports.fib(10) == 55
    assert inst._tierup.wait(120)
    inst._tierup.attach_ready()
    assert tiers_by_name(inst)["fib"] == "llvm"
    # run 2: the cached unit attaches at instantiation and keeps fib; the rest is baseline
    engine = Engine(Config(tier="auto"))
    inst = Instance(Store(engine), Module(engine, wasm), imports)
    assert tiers_by_name(inst)["fib"] == "llvm"
    assert inst.exports.fib(20) == 6765
    assert inst.exports.loop(3) == 3
    tiers = tiers_by_name(inst)
    assert tiers["fib"] == "llvm" and tiers["loop"] == "baseline"


def test_baseline_code_is_cached_and_placed_at_instantiation_by_later_runs(tmp_path,
                                                                            monkeypatch):  # fmt: skip
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    imports = {"env": {"ask": lambda k: 2 * k}}
    engine = Engine(Config(tier="auto"))
    inst = Instance(Store(engine), Module(engine, PROG), imports)
    assert inst.exports.fib(10) == 55 and inst.exports.loop(4) == 12
    assert tiers_by_name(inst)["fib"] == tiers_by_name(inst)["loop"] == "baseline"
    assert tiers_by_name(inst)["sq"] == "python"

    import wasm2py.baseline.emit as emit

    def no_emit(*args):
        raise AssertionError("emitted again")

    monkeypatch.setattr(emit, "compile_functions", no_emit)
    engine = Engine(Config(tier="auto"))
    inst = Instance(Store(engine), Module(engine, PROG), imports)
    tiers = tiers_by_name(inst)  # before any call
    assert tiers["fib"] == tiers["loop"] == "baseline" and tiers["sq"] == "python"
    assert inst.exports.fib(20) == 6765 and inst.exports.loop(5) == 20
    assert inst._tierup.error is None


def test_refusals_are_cached_too(tmp_path, monkeypatch):
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    engine = Engine(Config(tier="auto"))
    inst = Instance(Store(engine), Module(engine, SIMD))
    assert inst.exports.both(3) == 15
    m = inst.module._module
    assert [m.func_name(i) for i in inst._tierup.refused] == ["vec"]
    why = dict(inst._tierup.refused)

    import wasm2py.baseline.emit as emit

    def no_emit(*args):
        raise AssertionError("emitted again")

    monkeypatch.setattr(emit, "compile_functions", no_emit)
    engine = Engine(Config(tier="auto"))
    inst = Instance(Store(engine), Module(engine, SIMD))
    assert inst._tierup.refused == why  # (known before any call)
    assert inst.exports.both(4) == 20
    assert tiers_by_name(inst) == {"plain": "baseline", "vec": "python", "both": "baseline"}
    assert inst._tierup.error is None


# -- real programs -------------------------------------------------------------------------

BIN = ROOT / ".cache" / "realworld" / "bin"
WORKLOADS = ROOT / "tools" / "realworld" / "workloads"


def run_wasi(name: str, argv: list[str], stdin: bytes, cwd: Path) -> tuple[bytes, dict]:
    """The program's output, and where its functions ran."""
    from wasm2py.wasi import Wasi, WasiConfig
    from wasm2py.wasi.command import call_entry, instantiate

    # (no LLVM tier-up: what the baseline refuses stays in the Python tier)
    engine = Engine(Config(tier="auto", cache=False, tier_up_threshold=1 << 62))
    module = Module(engine, (BIN / f"{name}.wasm").read_bytes())
    out = io.BytesIO()
    config = WasiConfig(argv=[name, *argv], preopens={".": cwd}, stdout=out,
                        stderr=io.BytesIO(), stdin=io.BytesIO(stdin))  # fmt: skip
    with Wasi(config) as wasi:
        inst = instantiate(Store(engine), module, wasi)
        assert call_entry(inst) == 0
    return out.getvalue(), inst.function_tiers()


@pytest.mark.parametrize("name", ["lua", "sqlite3"])
def test_real_programs_agree_with_their_native_build(name, tmp_path):
    """The workloads of ``tools/realworld`` (``bench.lua``, ``memory.sql``) print what the
    programs' native builds print, run as baseline code except what the baseline refuses."""
    from tools.realworld import build as rw

    if shutil.which("apt-get") is None:
        pytest.fail("building the programs needs a Debian system (apt-get source), see README")
    rw.build(name)
    if name == "lua":
        (tmp_path / "bench.lua").write_bytes((WORKLOADS / "bench.lua").read_bytes())
        argv, stdin = ["bench.lua"], b""
    else:
        argv, stdin = ["-batch"], (WORKLOADS / "memory.sql").read_bytes()
    native = subprocess.run([str(BIN / f"{name}.native"), *argv], input=stdin,
                            capture_output=True, check=True, cwd=tmp_path).stdout  # fmt: skip
    assert native.count(b"\n") > 5
    out, tiers = run_wasi(name, argv, stdin, tmp_path)
    assert out == native
    # (a refused function of more than tierup.EAGER_BYTES is compiled by LLVM instead)
    assert list(tiers.values()).count("baseline") > 100


# -- the shell against LLVM's code ---------------------------------------------------------

LL = {ValType.I32: "i32", ValType.I64: "i64", ValType.F32: "float", ValType.F64: "double",
      ValType.FUNCREF: "i64"}  # fmt: skip


def _types(seed: int) -> list[FuncType]:
    rng = random.Random(seed)
    out = []
    for n in range(12):  # (up to 11 parameters: stack arguments of both classes)
        for _ in range(3):
            ps = [rng.choice(list(LL)) for _ in range(n)]
            out.append(FuncType(ps, rng.choice([[], *([t] for t in LL)])))
    return out


def _bits(t, v) -> int:
    if t is ValType.F32:
        return struct.unpack("<I", struct.pack("<f", v))[0]
    if t is ValType.F64:
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    return v


def test_shell_trampolines_take_llvm_calls_and_entries_call_llvm_functions():
    """Each type's entry calls an LLVM ``tailcc`` function returning one of its arguments
    (each in turn), and LLVM ``tailcc`` calls reach each type's trampoline with every argument
    in its slot (i32 zero-extended, floats as bits) and get the slot's result back."""
    llvm = pytest.importorskip("llvmlite.binding")
    from wasm2py.baseline.unit import ShellCode

    types = _types(1)
    rng = random.Random(2)
    ir = []
    for i, ft in enumerate(types):
        ps = "".join(f", {LL[t]} %p{k}" for k, t in enumerate(ft.params))
        r = ft.results[0] if ft.results else None
        # the function returns its last parameter of the result's type (or a constant)
        pick = next((k for k in reversed(range(len(ft.params))) if ft.params[k] is r), None)
        rt = LL[r] if r else "void"
        ret = "ret void" if r is None else (f"ret {rt} %p{pick}" if pick is not None else
                                            f"ret {rt} {'1.5' if r in (ValType.F32, ValType.F64) else '77'}")
        ir.append(f"define tailcc {rt} @f{i}(ptr %env, i32 %rem{ps}) {{\n  {ret}\n}}\n")
        sig = ", ".join(f"{LL[t]} %p{k}" for k, t in enumerate(ft.params))
        args = "".join(f", {LL[t]} %p{k}" for k, t in enumerate(ft.params))
        call = f"call tailcc {rt} %fp(ptr %e, i32 %rem{args})"
        ir.append(f"define void @c{i}(ptr %fp, ptr %e, i32 %rem, ptr %out{', ' if sig else ''}{sig}) {{\n"
                  f"  {'%r = ' if r else ''}{call}\n"
                  f"  {'' if r is None else f'store {rt} %r, ptr %out'}\n  ret void\n}}\n")
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    m = llvm.parse_assembly("".join(ir))
    tm = llvm.Target.from_default_triple().create_target_machine(opt=2)
    ee = llvm.create_mcjit_compiler(m, tm)
    ee.finalize_object()
    shell = ShellCode(types)
    assert not shell.refused
    entry_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
    cb_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)
    for i, ft in enumerate(types):
        vals = []
        for t in ft.params:
            if t is ValType.I32:
                vals.append(rng.randrange(2**32))
            elif t in (ValType.I64, ValType.FUNCREF):
                vals.append(rng.randrange(2**64))
            else:
                vals.append(float(rng.randrange(-1000, 1000)) / 4)
        slot_vals = [_bits(t, v) for t, v in zip(ft.params, vals)]
        r = ft.results[0] if ft.results else None
        # entry -> LLVM function
        n = abi.entry_slots(ft)
        slots = (ctypes.c_uint64 * (n + 1))(*slot_vals)
        slots[n] = ee.get_function_address(f"f{i}")
        entry_t(shell.entry(i))(0, 5, ctypes.addressof(slots))
        if r is not None:
            pick = next((k for k in reversed(range(len(ft.params))) if ft.params[k] is r), None)
            want = slot_vals[pick] if pick is not None else _bits(r, 1.5 if r in (
                ValType.F32, ValType.F64) else 77)  # fmt: skip
            assert slots[0] == want, (i, ft)
        # LLVM call -> trampoline -> callback
        seen = {}
        result = {None: 0, ValType.I32: 0x87654321, ValType.I64: 0x1122334455667788,
                  ValType.FUNCREF: 0x1122334455667788, ValType.F32: _bits(ValType.F32, 1.5),
                  ValType.F64: _bits(ValType.F64, -2.5)}[r]  # fmt: skip

        def cb(env, rem, s, ft=ft, n=n, result=result, seen=seen):
            arr = (ctypes.c_uint64 * n).from_address(s)
            seen["slots"], seen["rem"], seen["env"] = list(arr[: len(ft.params)]), rem, env
            arr[0] = result

        c = cb_t(cb)
        env = (ctypes.c_uint64 * 2)(0, ctypes.cast(c, ctypes.c_void_p).value)
        out = (ctypes.c_uint64 * 1)(0xAAAAAAAAAAAAAAAA)
        cargs = []
        for t, v in zip(ft.params, vals):
            cargs.append({ValType.I32: ctypes.c_uint32, ValType.F32: ctypes.c_float,
                          ValType.F64: ctypes.c_double}.get(t, ctypes.c_uint64)(v))  # fmt: skip
        caller = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                                  ctypes.c_void_p, *[type(a) for a in cargs])  # fmt: skip
        caller(ee.get_function_address(f"c{i}"))(shell.unit.trampolines[i],
                                                   ctypes.addressof(env), 77,
                                                   ctypes.addressof(out), *cargs)  # fmt: skip
        assert seen == {"slots": slot_vals, "rem": 77, "env": ctypes.addressof(env)}, (i, ft)
        if r is not None:
            mask = 0xFFFFFFFF if r in (ValType.I32, ValType.F32) else 2**64 - 1
            assert out[0] & mask == result, (i, ft)


def test_shell_refuses_what_it_cannot_call():
    from wasm2py.baseline.shell import refusal

    assert refusal(FuncType([ValType.I32], [ValType.I32, ValType.I32])) == "several results"
    assert refusal(FuncType([ValType.V128], [])) == "v128"
    assert refusal(FuncType([ValType.F64] * 20, [ValType.EXTERNREF])) is None


def test_a_shell_kept_in_the_cache_is_the_shell_made():
    from wasm2py.baseline.shell import Shell, signature

    types = [*_types(3), FuncType([ValType.V128], []), FuncType([], [ValType.I32] * 2)]
    shell = Shell(types)
    back = Shell.from_bytes(shell.to_bytes())
    assert (back.code, back.entries, back.trampolines, back.refused) == \
        (shell.code, shell.entries, shell.trampolines, shell.refused)  # fmt: skip
    assert set(back.refused) == {len(types) - 2, len(types) - 1}
    # the key tells apart what makes different code, and only that
    i32 = FuncType([ValType.I32], [ValType.I64])
    assert signature([i32]) == signature([FuncType([ValType.I32], [ValType.FUNCREF])])
    assert signature([i32]) != signature([FuncType([ValType.I64], [ValType.I64])])
