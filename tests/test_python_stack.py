"""Host functions during instantiation, and Python's recursion limit around wasm calls.

A host function called from the start function that looked up an export through its
``Caller`` made ``Instance.__getattr__`` recurse forever; because creating a ``Store`` raised
Python's recursion limit for the whole process, that recursion overflowed the C stack and
killed the process (exit 139) instead of raising. The exports now exist before the start
function runs (as in wasmtime), and the limit is raised only while a wasm call nests deeper
than a shallow bound (``wasm2py.runtime.callstack``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

import wasm2py
from wasm2py import Caller, Config, Engine, Instance, Module, Store, Trap, TrapCode
from wasm2py.config import TIERS

from .wat import wat

ALL_KINDS = wat("""
(module
  (import "env" "look" (func $look))
  (memory (export "mem") 2)
  (global (export "g") (mut i32) (i32.const 5))
  (table (export "tab") 3 funcref)
  (func $seven (export "seven") (result i32) i32.const 7)
  (func $start
    (i32.store (i32.const 16) (i32.const 0x1234))
    call $look)
  (start $start))
""")

REC = wat("""
(module
  (import "env" "h" (func $h (param i32)))
  (func $r (export "r") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) local.get 0 call $h i32.const 0
    else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))
""")


@pytest.fixture(params=TIERS)
def tier(request) -> str:
    return request.param


def test_caller_get_works_for_every_export_kind_during_start(tier):
    seen = {}

    def look(caller: Caller):
        seen["seven"] = caller.get("seven")()
        seen["mem"] = caller.get("mem").read(16, 18)
        seen["mem_size"] = caller.get("mem").size
        g = caller.get("g")
        seen["g"] = g.value
        g.value = 9
        seen["tab"] = caller.get("tab").size
        seen["missing"] = caller.get("nope")
        seen["memory"] = caller.memory.size

    engine = Engine(Config(tier=tier))
    inst = Instance(Store(engine), Module(engine, ALL_KINDS), {"env": {"look": look}})
    # values by construction of the module: (i32.const 7), the little-endian bytes of 0x1234
    # stored by the start function, 2 pages, (i32.const 5), a table of 3
    assert seen == {"seven": 7, "mem": b"\x34\x12", "mem_size": 2, "g": 5, "tab": 3,
                    "missing": None, "memory": 2}  # fmt: skip
    assert inst.exports.g.value == 9  # the start function's host call wrote the same global


def test_instance_attribute_lookup_before_exports_exist_raises_attribute_error():
    engine = Engine()
    seen = []

    def look(caller: Caller):
        seen.append(hasattr(caller.instance, "undefined_export"))

    Instance(Store(engine), Module(engine, ALL_KINDS), {"env": {"look": look}})
    assert seen == [False]
    bare = Instance.__new__(Instance)  # exports not set yet: no recursion through __getattr__
    with pytest.raises(AttributeError):
        bare.seven  # noqa: B018


def _run_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_runaway_recursion_in_a_host_function_during_start_raises_not_crashes():
    # A host function with a recursion bug through C code (a __getattr__ that recurses) runs
    # from the start function. The process must survive and see RecursionError.
    proc = _run_child("""
        import wasm2py
        from tests.wat import wat

        class Broken:
            def __getattr__(self, name):
                return self.missing

        def look(caller: wasm2py.Caller):
            Broken().x

        src = wat('(module (import "env" "look" (func $l)) (func $s call $l) (start $s))')
        store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(max_call_depth=1_000_000)))
        try:
            wasm2py.Instance(store, wasm2py.Module(store.engine, src), {"env": {"look": look}})
        except RecursionError:
            print("RecursionError")
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "RecursionError"


def test_creating_a_store_leaves_the_recursion_limit_alone():
    before = sys.getrecursionlimit()
    Store(Engine(Config(max_call_depth=50_000)))
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize("tier", ["python", "auto"])
def test_deep_calls_work_and_the_limit_is_restored_after(tier):
    # "auto" without tier-up or cached machine code: once ``r`` is jitted (in the background,
    # at a moment that depends on the machine's load, or at instantiation from units an earlier
    # run cached) its deeper frames run natively and need no higher limit
    # (and without the baseline tier: its native frames need no higher limit either)
    extra = {"tier_up_threshold": 10**9, "cache": False, "baseline": False} if tier == "auto" else {}
    engine = Engine(Config(tier=tier, max_call_depth=20_000, max_wasm_stack=64 << 20, **extra))
    limits = []
    h = lambda _: limits.append(sys.getrecursionlimit())  # noqa: E731
    r = Instance(Store(engine), Module(engine, REC), {"env": {"h": h}}).exports.r
    before = sys.getrecursionlimit()
    assert r(5) == 5
    assert limits[-1] == before  # a shallow call runs under the program's own limit
    assert r(19_999) == 19_999  # 20,000 nested wasm calls (far beyond the Python limit)
    assert limits[-1] > 20_000
    assert sys.getrecursionlimit() == before
    with pytest.raises(Trap) as e:
        r(20_000)
    assert e.value.code is TrapCode.CALL_STACK_EXHAUSTED
    assert sys.getrecursionlimit() == before
    assert r(5) == 5 and limits[-1] == before  # shallow again: nothing raised


def test_deep_resumed_calls_work_and_restore_the_limit():
    engine = Engine(Config(max_call_depth=5_000))
    calls = []

    def h(n):
        calls.append(n)
        if len(calls) == 1:
            raise RuntimeError("pause")

    r = Instance(Store(engine), Module(engine, REC), {"env": {"h": h}}).exports.r
    before = sys.getrecursionlimit()
    paused = r.call_resumable(4_000)
    assert isinstance(paused, wasm2py.HostTrap) and paused.depth == 4_001
    assert sys.getrecursionlimit() == before
    done = paused.resume()  # re-enters the 4,001 frames one at a time, innermost first
    assert isinstance(done, wasm2py.Finished) and done.results == 4_000
    assert sys.getrecursionlimit() == before


def test_threads_recursing_deeply_at_once_keep_their_room():
    engine = Engine(Config(max_call_depth=8_000))
    results, errors = [], []
    barrier = threading.Barrier(3)

    def work():
        def h(_):
            barrier.wait(timeout=60)  # all three threads are 6,000 frames deep here at once

        try:
            r = Instance(Store(engine), Module(engine, REC), {"env": {"h": h}}).exports.r
            results.append(r(6_000))
            results.append(r(3))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    before = sys.getrecursionlimit()
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [3, 3, 3, 6_000, 6_000, 6_000]
    assert sys.getrecursionlimit() == before
