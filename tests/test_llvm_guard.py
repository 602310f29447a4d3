"""Guard-page bounds checks in the LLVM tier (``wasm2py.llvm.guard``): accesses to 32-bit
memories compile without a compare, an out-of-bounds access faults on the memory's guard
reservation, and the fault becomes the trap the explicit check raises.

Expected outcomes come from the spec's rule (an access of ``n`` bytes at ``a + offset`` traps
unless it ends within the memory's size; a trapping store writes nothing; effects before the
trapping instruction stay) and are worked out by hand in the comments.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from wasm2py import Config, Engine, HostTrap, Instance, Memory, MemoryType, Module, Store, Trap
from wasm2py.errors import Error, TrapCode
from wasm2py.runtime import memory as memmod
from wasm2py.types import Limits

from .wat import wat

guard = pytest.importorskip("wasm2py.llvm.guard")
pytestmark = pytest.mark.skipif(not guard.available(),
                                reason="guard pages: Linux on x86-64 only")  # fmt: skip

PAGE = 65536

PROG = wat("""
(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory (export "mem") 1 3)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load64_off") (param i32) (result i64) (i64.load offset=65520 (local.get 0)))
  (func (export "v128_load") (param i32) (result i32)
    (i32x4.extract_lane 3 (v128.load (local.get 0))))
  ;; a loaded value nobody uses still traps
  (func (export "drop_load") (param i32) (drop (i64.load (local.get 0))))
  ;; g = 1; store; g = 2: a trapping store leaves g = 1 (and writes nothing)
  (func (export "store64") (param i32 i64)
    (global.set $g (i32.const 1))
    (i64.store (local.get 0) (local.get 1))
    (global.set $g (i32.const 2)))
  ;; the same in a loop (level 0 fences the stores inside loops only)
  (func (export "store64_loop") (param i32 i64)
    (loop
      (global.set $g (i32.const 3))
      (i64.store (local.get 0) (local.get 1))
      (global.set $g (i32.const 4))))
  ;; two stores to the same place around another one: the first is not "overwritten"
  (func (export "store_twice") (param i32)
    (i32.store (local.get 0) (i32.const 7))
    (i32.store (i32.const 0) (i32.const 9))
    (i32.store (local.get 0) (i32.const 8)))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 255) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; calls the host, which may call back in; then loads at the host's answer
  (func (export "via_host") (param i32) (result i32)
    (i32.load (call $host (local.get 0))))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
""")


def make(config: Config | None = None, host=None, store=None):
    store = store or Store(Engine(config or Config(tier="llvm", cache=False)))
    inst = Instance(store, Module(store.engine, PROG), {"env": {"host": host or (lambda x: x)}})
    return store, inst


def oob(f, *args) -> None:
    with pytest.raises(Trap) as e:
        f(*args)
    assert e.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS


def test_guard_mode_is_used_and_memory_is_guarded():
    _, inst = make()
    assert inst._llvm.compiled.guard and inst.exports.mem._rt.guarded


@pytest.mark.parametrize("quick", [None, 0], ids=["full", "quick"])
@pytest.mark.parametrize("guarded", [True, False])
def test_loads_and_stores_at_and_across_the_bound(guarded, quick):
    """(``quick`` 0: level 0, the fast code generator, whose traps record the frame through
    ``rt[RT_RECORD]``)"""
    _, inst = make(Config(tier="llvm", cache=False, llvm_guard_pages=guarded,
                          llvm_quick_bytes=quick))  # fmt: skip
    assert inst._llvm.compiled.guard is guarded
    assert (inst._llvm.compiled.opt_level == 0) is (quick == 0)
    e = inst.exports
    assert e.load8(PAGE - 1) == 0 and e.load32(PAGE - 4) == 0 and e.v128_load(PAGE - 16) == 0
    assert e.load64_off(8) == 0  # 8 + 65520 + 8 ends exactly at 65536
    oob(e.load8, PAGE)
    oob(e.load32, PAGE - 3)  # bytes 65533..65536: one past the end
    oob(e.load64_off, 9)
    oob(e.load64_off, 0xFFFFFFFF)  # 4 GiB - 1 + 65520: far beyond, inside the reservation
    oob(e.load32, 0xFFFFFFFF)
    oob(e.v128_load, PAGE - 15)
    oob(e.drop_load, PAGE - 7)
    # an 8-byte store straddling the end writes nothing; g was set before it, not after
    oob(e.store64, PAGE - 4, -1)
    assert e.g.value == 1 and bytes(e.mem.read(PAGE - 8, PAGE)) == bytes(8)
    oob(e.store64_loop, PAGE - 4, -1)
    assert e.g.value == 3 and bytes(e.mem.read(PAGE - 8, PAGE)) == bytes(8)
    oob(e.store_twice, PAGE)
    assert bytes(e.mem.read(0, 4)) == bytes(4)  # the middle store came after the trap
    oob(e.fill, PAGE - 2, 3)
    assert bytes(e.mem.read(PAGE - 2, PAGE)) == bytes(2)  # bulk: nothing written either
    # the instance works afterwards
    e.store64(PAGE - 8, 0x0102030405060708)
    assert e.g.value == 2 and e.load8(PAGE - 1) == 1 and e.add(2, 3) == 5


def test_level_0_fences_the_stores_in_loops_only():
    # (level 0 runs no IR pass and neither instruction selector moves or deletes a store:
    # the fence in a loop is there for the speed of SelectionDAG's code, see store_fence)
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.lower import build_text

    def fences(quick):
        return build_text(decode_module(PROG), guard=True, quick=quick).count("fence")

    # PROG's five stores: i64.store twice (one of them in a loop), i32.store thrice
    assert fences(False) == 5
    assert fences(True) == 1


def test_after_memory_grow():
    _, inst = make()
    e = inst.exports
    oob(e.load32, PAGE)
    assert e.grow(1) == 1
    assert e.load32(2 * PAGE - 4) == 0
    oob(e.load32, 2 * PAGE - 3)
    assert e.grow(1) == 2 and e.grow(1) == -1  # maximum 3 pages
    assert e.load32(3 * PAGE - 4) == 0
    oob(e.load32, 3 * PAGE)


IMPORTER = wat("""
(module
  (import "env" "mem" (memory 1))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0))))
""")


@pytest.mark.parametrize("guarded", [True, False])
def test_imported_memory(monkeypatch, guarded):
    """A memory without a guard reservation (here: the system refused it) gets code with
    explicit checks; a guarded one the guard-mode code."""
    store = Store(Engine(Config(tier="llvm", cache=False)))
    if not guarded:
        monkeypatch.setattr(memmod._Mapping, "reserve_guarded", classmethod(lambda cls: None))
    mem = Memory(store, MemoryType(Limits(1, 2)))
    monkeypatch.undo()
    inst = Instance(store, Module(store.engine, IMPORTER), {"env": {"mem": mem}})
    assert inst._llvm.compiled.guard is guarded
    mem.write(b"\x01\x02\x03\x04", PAGE - 4)
    assert inst.exports.load32(PAGE - 4) == 0x04030201
    oob(inst.exports.load32, PAGE - 2)
    mem.grow(1)
    assert inst.exports.load32(PAGE) == 0
    oob(inst.exports.load32, 2 * PAGE)


def test_nested_entries_trap_in_the_inner_one():
    """jitted via_host -> host -> jitted load32 traps: the host sees the trap and answers 4;
    the outer call then loads at 4 (0). Uncaught, the inner trap ends the outer call too."""
    seen = []

    def host(x):
        try:
            inst.exports.load32(x)
        except Trap as t:
            seen.append(t.code)
            return 4
        return x

    _, inst = make(host=host)
    assert inst.exports.via_host(PAGE) == 0
    assert seen == [TrapCode.MEMORY_OUT_OF_BOUNDS]

    def host2(x):
        return inst2.exports.load32(x)

    _, inst2 = make(host=host2)
    oob(inst2.exports.via_host, PAGE)
    assert inst2.exports.via_host(8) == 0  # load32(8) = 0, then load at 0


def test_trap_inside_a_resumable_call():
    """via_host pauses in the host; resumed with an out-of-bounds answer, the load traps; a
    resumable call afterwards resumes with 12 and loads 0."""

    def host(x):
        raise RuntimeError("pause")

    _, inst = make(host=host)
    p = inst.exports.via_host.call_resumable(1)
    assert isinstance(p, HostTrap)
    oob(p.resume, PAGE + 100)
    p = inst.exports.via_host.call_resumable(1)
    assert p.resume(12).results == 0
    assert inst.exports.add(1, 2) == 3


def test_trap_in_another_thread():
    _, inst = make()
    out = []

    def run():
        try:
            inst.exports.load32(PAGE)
        except Trap as t:
            out.append(t.code)
        out.append(inst.exports.load32(0))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert out == [TrapCode.MEMORY_OUT_OF_BOUNDS, 0]


def test_cache_keys_differ_between_modes():
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.jit import cache_key, host_target_machine

    m = decode_module(PROG)
    tm = host_target_machine(2)
    assert cache_key(m, 2, tm, guard=True) != cache_key(m, 2, tm, guard=False)


def test_fuel_keeps_explicit_checks():
    store = Store(Engine(Config(tier="llvm", cache=False, consume_fuel=True)))
    store.set_fuel(10_000)
    _, inst = make(store=store)
    assert not inst._llvm.compiled.guard
    oob(inst.exports.load32, PAGE)


def test_a_real_crash_still_reaches_faulthandler():
    """After the handler is installed and a guard trap was handled, a segfault outside every
    guard reservation reaches faulthandler (its report) and ends the process with SIGSEGV."""
    code = textwrap.dedent(f"""
        import ctypes, faulthandler
        faulthandler.enable()
        from wasm2py import Config, Engine, Instance, Module, Store, Trap
        store = Store(Engine(Config(tier="llvm", cache=False)))
        inst = Instance(store, Module(store.engine, {PROG!r}), {{"env": {{"host": abs}}}})
        try:
            inst.exports.load32(1 << 20)
        except Trap as t:
            print("trap", t.code.name, flush=True)
        ctypes.string_at(0)
        print("survived")
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout == "trap MEMORY_OUT_OF_BOUNDS\n"
    assert "Fatal Python error: Segmentation fault" in r.stderr
    assert r.returncode == -11


CALLER = wat("""
(module
  (import "a" "load32" (func $load32 (param i32) (result i32)))
  (func (export "call") (param i32) (result i32) (i32.add (call $load32 (local.get 0)) (i32.const 1))))
""")


def test_guard_code_called_from_explicit_code_of_another_instance():
    """An instance compiled with explicit checks calls the guard-mode load32 of another one
    directly: its entry is the landing, so the fault is still this call's trap."""
    from wasm2py import llvm
    from wasm2py.binary.decoder import decode_module

    store, a = make()
    cm = llvm.compile_module(decode_module(CALLER), guard=False)
    assert not cm.guard and a._llvm.compiled.guard
    b = llvm.instantiate(store, cm, {"a": {"load32": a.exports.load32}})
    assert b.exports.call(0) == 1
    oob(b.exports.call, PAGE)
    assert b.exports.call(4) == 1


def test_faulthandler_enabled_after_the_handler():
    """faulthandler enabled after the first instantiation sits on top of our handler: at the
    next guard fault it reports and re-raises, the re-raised signal is ignored and the access
    faults again into our handler: still the trap (with faulthandler's report on stderr). A
    later real crash still ends the process with SIGSEGV."""
    code = textwrap.dedent(f"""
        import ctypes, faulthandler
        from wasm2py import Config, Engine, Instance, Module, Store, Trap
        store = Store(Engine(Config(tier="llvm", cache=False)))
        inst = Instance(store, Module(store.engine, {PROG!r}), {{"env": {{"host": abs}}}})
        faulthandler.enable()
        for _ in range(2):
            try:
                inst.exports.load32(1 << 20)
            except Trap as t:
                print("trap", t.code.name, flush=True)
        print(inst.exports.add(2, 3), flush=True)
        ctypes.string_at(0)
        print("survived")
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout == "trap MEMORY_OUT_OF_BOUNDS\n" * 2 + "5\n"
    assert r.returncode == -11


FRAMES = wat("""
(module
  (memory 1)
  (func $inner (param i32) (result i32) (i32.load (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func (export "outer") (param i32) (result i32) (i32.mul (call $middle (local.get 0)) (i32.const 3))))
""")


def test_a_guard_trap_has_the_backtrace():
    """The frames between the fault and the entry, innermost first, as for an explicit check
    (the function names; a guard-page trap knows no wasm offsets)."""
    for guarded in (True, False):
        store = Store(Engine(Config(tier="llvm", cache=False, llvm_guard_pages=guarded,
                                    llvm_opt_level=0)))  # (O0: no inlining)
        inst = Instance(store, Module(store.engine, FRAMES))
        assert inst._llvm.compiled.guard is guarded
        with pytest.raises(Trap) as e:
            inst.exports.outer(PAGE)
        assert [name for _, name, _ in e.value.frames] == ["inner", "middle", "outer"]
        assert inst.exports.outer(0) == 3


INDIRECT_FRAMES = wat("""
(module
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $inner $middle)
  (type $t (func (param i32) (result i32)))
  (func $inner (param i32) (result i32) (i32.load (local.get 0)))
  (func $middle (param i32) (result i32)
    (i32.add (call_indirect (type $t) (local.get 0) (i32.const 0)) (i32.const 1)))
  (func (export "outer") (param i32) (result i32)
    (i32.mul (call_indirect (type $t) (local.get 0) (i32.const 1)) (i32.const 3))))
""")


def test_a_guard_trap_through_call_indirect_has_each_frame_once():
    # A call through a table reaches a function's tailcc function, which (in a module without
    # tail calls) calls its body: two native frames for one wasm frame, of which the
    # backtrace must name one (at O0 nothing is inlined, so both are there).
    for guarded in (True, False):
        store = Store(Engine(Config(tier="llvm", cache=False, llvm_guard_pages=guarded,
                                    llvm_opt_level=0)))  # fmt: skip
        inst = Instance(store, Module(store.engine, INDIRECT_FRAMES))
        assert inst._llvm.compiled.guard is guarded
        assert inst._llvm.compiled.bodies  # (the form this test is about)
        with pytest.raises(Trap) as e:
            inst.exports.outer(PAGE)
        assert [name for _, name, _ in e.value.frames] == ["inner", "middle", "outer"]
        assert inst.exports.outer(0) == 3


TRY = wat("""
(module
  (memory 1)
  (func (export "f") (param i32) (result i32)
    (block $h
      (try_table (result i32) (catch_all $h) (i32.load (local.get 0)))
      (return))
    (i32.const -1)))
""")


def test_try_table_does_not_catch_the_trap():
    """catch_all catches wasm exceptions only: the out-of-bounds load traps through it."""
    store = Store(Engine(Config(tier="llvm", cache=False)))
    inst = Instance(store, Module(store.engine, TRY))
    assert inst.exports.f(0) == 0
    oob(inst.exports.f, PAGE)


def test_a_collection_inside_a_guard_reservation_does_not_deadlock():
    """The cyclic collector may run at any allocation, also inside
    ``_Mapping.reserve_guarded`` (which holds the registry's lock), and free an unreachable
    guard reservation there: its ``__del__`` takes the same lock on the same thread. With a
    plain lock the process hung (seen once in the full suite, in a hypothesis test making many
    instances). The collection is forced where it struck, in a child process with a timeout."""
    code = textwrap.dedent("""
        import gc, sys
        from wasm2py.runtime import memory as m
        first = m._Mapping.reserve_guarded()
        if first is None:
            print("refused"); sys.exit(0)
        cycle = [first]; cycle.append(cycle)   # garbage only the cyclic collector frees
        del first, cycle
        plain = m._Mapping.reserve.__func__
        def reserve(cls, size, hint=None):
            gc.collect()   # as at an allocation inside reserve_guarded
            return plain(cls, size, hint)
        m._Mapping.reserve = classmethod(reserve)
        print("reserved", m._Mapping.reserve_guarded() is not None)
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    if r.stdout == "refused\n":
        pytest.skip("this system refuses guard reservations")
    assert r.stdout == "reserved True\n", r.stderr


# -- tier-up units (tier="auto") ------------------------------------------------------------


def _auto(prog: bytes, imports=None, **config):
    store = Store(Engine(Config(tier="auto", baseline=False, cache=False, tier_up_threshold=10**9, **config)))
    inst = Instance(store, Module(store.engine, prog), imports or {})
    return inst, inst._tierup


def _units(inst, tu, *units) -> list:
    """Compile ``units`` (lists of function indices) as tier-up does and attach them."""
    inst._attach_units(tu._compile([], shell=True))
    out = []
    for funcs in units:
        unit = tu._compile(funcs)
        inst._add_unit(unit)
        out.append(unit)
    return out


@pytest.mark.parametrize("guarded", [True, False])
def test_tier_up_units_are_guard_code_where_the_memories_are_guarded(guarded):
    """Hot functions compiled unit by unit get guard-page code too (without bounds checks:
    the accesses of a dispatch loop ran 1.6x as long with them); every out-of-bounds access
    still traps before it changes anything, as the explicit check does (expected values:
    see test_loads_and_stores_at_and_across_the_bound)."""
    inst, tu = _auto(PROG, {"env": {"host": lambda x: x}}, llvm_guard_pages=guarded)
    assert tu.guard is guarded
    ndef = len(inst.module._module.funcs)
    (unit,) = _units(inst, tu, range(1, 1 + ndef))
    assert unit.guard is guarded and inst.tier == "llvm"
    e = inst.exports
    assert e.load8(PAGE - 1) == 0 and e.load64_off(8) == 0 and e.v128_load(PAGE - 16) == 0
    oob(e.load8, PAGE)
    oob(e.load32, PAGE - 3)
    oob(e.load64_off, 9)
    oob(e.load32, 0xFFFFFFFF)
    oob(e.drop_load, PAGE - 7)
    oob(e.store64, PAGE - 4, -1)
    assert e.g.value == 1 and bytes(e.mem.read(PAGE - 8, PAGE)) == bytes(8)
    oob(e.store64_loop, PAGE - 4, -1)
    assert e.g.value == 3 and bytes(e.mem.read(PAGE - 8, PAGE)) == bytes(8)
    oob(e.store_twice, PAGE)
    assert bytes(e.mem.read(0, 4)) == bytes(4)
    oob(e.fill, PAGE - 2, 3)
    # a trap in the host's callee: the host sees it (and answers 4), then a load at 4
    e.store64(PAGE - 8, 0x0102030405060708)
    assert e.g.value == 2 and e.load8(PAGE - 1) == 1 and e.add(2, 3) == 5
    assert e.grow(1) == 1 and e.load8(PAGE) == 0  # the memory grew in place
    oob(e.load8, 2 * PAGE)


@pytest.mark.parametrize("split", [[[0], [1], [2]], [[0, 1, 2]], [[0], [2], [0, 1, 2]]],
                         ids=["apart", "together", "copy"])
def test_a_guard_trap_in_tier_up_units_has_the_backtrace(split):
    """inner <- middle <- outer, in units of their own, in one unit, or with a later unit
    holding a second copy of inner (called directly by that unit's middle; inner's record
    keeps pointing at the first unit's copy): each frame named once, innermost first."""
    inst, tu = _auto(FRAMES)
    assert tu.guard
    _units(inst, tu, *split)
    with pytest.raises(Trap) as e:
        inst.exports.outer(PAGE)
    assert e.value.code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert [name for _, name, _ in e.value.frames] == ["inner", "middle", "outer"]
    assert inst.exports.outer(0) == 3


def test_units_for_an_unguarded_memory_keep_explicit_checks(monkeypatch):
    """An instance with a memory that has no guard reservation gets units with explicit
    checks, and refuses a guard-page unit."""
    store = Store(Engine(Config(tier="auto", baseline=False, cache=False, tier_up_threshold=10**9)))
    monkeypatch.setattr(memmod._Mapping, "reserve_guarded", classmethod(lambda cls: None))
    mem = Memory(store, MemoryType(Limits(1, 2)))
    monkeypatch.undo()
    module = Module(store.engine, IMPORTER)
    inst = Instance(store, module, {"env": {"mem": mem}})
    tu = inst._tierup
    assert not tu.guard
    (unit,) = _units(inst, tu, [0])
    assert not unit.guard
    mem.write(b"\x01\x02\x03\x04", PAGE - 4)
    assert inst.exports.load32(PAGE - 4) == 0x04030201
    oob(inst.exports.load32, PAGE - 2)
    other = Instance(store, module, {"env": {"mem": mem}})
    other._attach_units(other._tierup._compile([], shell=True))
    guarded_unit = store.engine.load_unit(module._module, [0], guard=True)
    assert guarded_unit.guard
    with pytest.raises(Error, match="guarded memories"):
        other._add_unit(guarded_unit)


def test_unit_cache_keys_differ_between_modes():
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.units import unit_key

    m = decode_module(PROG)
    assert unit_key(m, [1], False, 0, None, guard=True) != unit_key(m, [1], False, 0, None)
