"""Lifetime of jitted code: machine code stays alive as long as anything can call it, and no
order of dropping things (nor the interpreter's exit) crashes the process.

Each scenario runs in a child process, whose exit status is the assertion (a use after free
in LLVM's teardown shows as a signal or an abort, often only at exit). Expected results are
worked out by hand: fib(10) = 55, fib(12) = 144, fib(15) = 610, fib(20) = 6765; ``viah(x)`` is
``h(x) + fib(x)``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("llvmlite")

WAT = """(module
 (import "env" "h" (func $h (param i32) (result i32)))
 (memory (export "mem") 1)
 (table (export "t") 2 funcref)
 (elem (i32.const 0) $fib $viah)
 (func $fib (export "fib") (param i32) (result i32)
   (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
     (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                    (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
 (func $viah (export "viah") (param i32) (result i32)
   (i32.add (call $h (local.get 0)) (call $fib (local.get 0))))
 (func (export "spin") (param i32) (result i32) (local i32)
   (loop $l (local.set 1 (i32.add (local.get 1) (i32.load (i32.const 0))))
     (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
   (local.get 1))
 (func (export "hostloop") (param i32) (result i32) (local i32)
   (loop $l (local.set 1 (i32.add (local.get 1) (call $h (local.get 0))))
     (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
   (local.get 1)))"""

PRELUDE = f"""
import gc, os, random, sys, threading, time
import wasm2py
RAW = wasm2py.wat2wasm({WAT!r})

def make(tier="llvm", imports=None, **kw):
    eng = wasm2py.Engine(wasm2py.Config(tier=tier, cache=False, **kw))
    store = wasm2py.Store(eng)
    mod = wasm2py.Module(eng, RAW)
    inst = wasm2py.Instance(store, mod, imports or {{"env": {{"h": lambda x: x + 1}}}})
    return eng, store, mod, inst
"""

SCENARIOS = {
    # the engine, store, module and instance go (in every order) while an export is kept
    "drop_orders": """
        for order in range(6):
            eng, store, mod, inst = make()
            inst2 = wasm2py.Instance(store, mod, {"env": {"h": inst.exports["fib"]}})
            f = inst2.exports["viah"]
            objs = [eng, store, mod, inst, inst2]
            random.Random(order).shuffle(objs)
            del eng, store, mod, inst, inst2
            while objs:
                objs.pop()
                gc.collect()
            assert f(10) == 55 + 55
            del f
            gc.collect()
    """,
    # the same module compiled by two engines; one side dropped while the other runs
    "compiled_twice": """
        a, b = make(), make()
        fa, fb = a[3].exports["fib"], b[3].exports["fib"]
        del a
        gc.collect()
        assert fb(20) == 6765 and fa(20) == 6765
        del b
        gc.collect()
        assert fa(12) == 144
    """,
    # a table of one instance holds a function of another (other engine), whose owners go
    "table_across": """
        eng, store, mod, inst = make()
        mod2 = wasm2py.Module(wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False)), RAW)
        inst2 = wasm2py.Instance(store, mod2, {"env": {"h": lambda x: x}})
        t = inst2.exports["t"]
        t.set(0, inst.exports["viah"])
        del eng, mod, inst, mod2, inst2
        gc.collect()
        assert t.get(0)(3) == (3 + 1) + 2
    """,
    # a paused call outlives its store, engine and instance; another is still paused at exit
    "paused": """
        eng, store, mod, inst = make(consume_fuel=True)
        store.set_fuel(50)
        r = inst.exports["fib"].call_resumable(20)
        assert isinstance(r, wasm2py.OutOfFuel)
        del eng, store, mod, inst
        gc.collect()
        r.store.set_fuel(10**9)
        assert r.resume().results == 6765
        eng, store, mod, inst = make(consume_fuel=True)
        store.set_fuel(30)
        LIVE = inst.exports["fib"].call_resumable(20)
        assert isinstance(LIVE, wasm2py.OutOfFuel)
        store.set_fuel(40)
        dropped = inst.exports["fib"].call_resumable(20)
        del dropped, eng, store, mod, inst
        gc.collect()
    """,
    # tier-up: units jitted while the function runs, then everything but the export dropped
    "tier_up": """
        eng, store, mod, inst = make("auto", tier_up_threshold=0, baseline=False)
        f = inst.exports["fib"]
        deadline = time.monotonic() + 60
        while inst.function_tiers()[1] != "llvm" and time.monotonic() < deadline:
            assert f(12) == 144
            time.sleep(0.01)
        assert inst.function_tiers()[1] == "llvm"
        del eng, store, mod, inst
        gc.collect()
        assert f(15) == 610
    """,
    # machine code loaded again from its bytes, instance after instance, each dropped
    "deserialize": """
        eng, store, mod, inst = make()
        data = mod.serialize()
        for _ in range(3):
            m2 = wasm2py.Module.deserialize(eng, data)
            i2 = wasm2py.Instance(store, m2, {"env": {"h": lambda x: x}})
            assert i2.exports["fib"](12) == 144
            del m2, i2
            gc.collect()
    """,
    # fork after jitting: the child runs the parent's code and jits its own, then exits
    "fork": """
        eng, store, mod, inst = make()
        f = inst.exports["fib"]
        assert f(10) == 55
        pid = os.fork()
        if pid == 0:
            ok = f(15) == 610 and make()[3].exports["fib"](11) == 89
            sys.stdout.flush()
            os._exit(0 if ok else 3)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        pid = os.fork()
        if pid == 0:  # a normal exit (finalization) in the child
            sys.exit(0 if f(12) == 144 else 3)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    """,
    # the interpreter exits while daemon threads run jitted code (a loop reading memory, and
    # loops calling a host function: each call takes and drops the GIL) and engines are live
    "exit_running": """
        keep = [make() for _ in range(2)]
        spin = keep[0][3].exports["spin"]
        hostloop = keep[1][3].exports["hostloop"]
        threading.Thread(target=lambda: spin(2**31 - 1), daemon=True).start()
        for _ in range(2):
            threading.Thread(target=lambda: hostloop(2**31 - 1), daemon=True).start()
        time.sleep(0.3)
    """,
    # the interpreter exits while tier-up's background threads lower, compile (in this
    # process: llvm_isolated=False) and load units
    "exit_compiling": """
        body = "(local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const 7))))"
        funcs = "".join(f'''(func (export "f{i}") (param i32) (result i32) (local i32)
            (loop $l {body * 50} (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
            (local.get 1))''' for i in range(24))
        eng = wasm2py.Engine(wasm2py.Config(tier="auto", cache=False, tier_up_threshold=0,
                                            llvm_isolated=False, tier_up_batch=2,
                                            baseline=False))
        inst = wasm2py.Instance(wasm2py.Store(eng), wasm2py.Module(eng, wasm2py.wat2wasm(
            f"(module {funcs})")))
        for i in range(24):
            assert inst.exports[f"f{i}"](2) == 50 * 7 * (2 + 1)
        time.sleep(0.05)
    """,
    # what the measuring script did with private functions (now with a target machine per
    # engine): the same objects loaded into three engines in turn, each dropped with its code
    "objects_reloaded": """
        from wasm2py.binary.decoder import decode_module
        from wasm2py.llvm import instantiate, jit
        m = decode_module(RAW)
        objects = [jit.compile_part(m, 0, None, None)]
        store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(cache=False)))
        for _ in range(3):
            engine = jit._load_objects(objects)
            compiled = jit._finish(m, 0, engine, b"\\1\\1\\1\\1", objects, {}, "", None, False)
            del engine
            inst = instantiate(store, compiled, {"env": {"h": lambda x: x}})
            assert inst.exports["viah"](12) == 12 + 144
            del compiled, inst
            gc.collect()
    """,
}


def _run(body: str) -> subprocess.CompletedProcess:
    code = PRELUDE + textwrap.dedent(body) + "\nprint('done', flush=True)\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_clean_exit(name):
    """The scenario runs to its end and the process exits with status 0 (no signal, no
    abort during the interpreter's teardown)."""
    r = _run(SCENARIOS[name])
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.endswith("done\n")


def test_a_target_machine_serves_one_engine():
    """An engine owns its target machine (and deletes it when it goes), so a second engine
    on the same one is refused instead of running on memory the first engine freed."""
    from wasm2py.llvm import jit

    tm = jit.host_target_machine(0)
    engine = jit.new_engine(jit.parse("", tm), tm)
    with pytest.raises(ValueError, match="belongs to an execution engine"):
        jit.new_engine(jit.parse("", tm), tm)
    del engine


def test_a_shared_target_machine_no_longer_crashes():
    """The measuring script's pattern (three engines in turn on one target machine, the
    previous one dropped each time) crashed in LLVM's teardown (a use after free of the target
    machine: an abort or a segfault); now the second engine is refused with ``ValueError`` and
    the process exits normally."""
    r = _run("""
        from wasm2py.binary.decoder import decode_module
        from wasm2py.llvm import jit
        import llvmlite.binding as llvm
        m = decode_module(RAW)
        objects = [jit.compile_part(m, 0, None, None)]
        jit._landing_symbols()  # (the helpers the objects' entries call, where they exist)
        tm = jit.host_target_machine(0)
        refused = 0
        for _ in range(3):
            try:
                engine = jit.new_engine(jit.parse("", tm), tm)
            except ValueError:
                refused += 1
                continue
            for obj in objects:
                engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
            engine.finalize_object()
        assert refused == 2
    """)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.endswith("done\n")
