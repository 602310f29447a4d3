"""The LLVM tier compiles in worker processes (``Config(llvm_isolated=True)``, the default): a
crash inside LLVM is a ``CompileError`` naming the function, not the end of the process.

To make LLVM really abort, the workers of these tests load a ``sitecustomize`` that puts back
a lowering LLVM cannot handle: ``llvm.canonicalize`` to quiet NaNs, which LLVM narrows to
``<2 x float>`` after ``f32x4.demote_f64x2_zero`` + ``i64x2.extend_low_i32x4_u``, a type the
x86 backend cannot legalize ("Do not know how to custom type legalize this operation!")."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

import wasm2py  # noqa: E402
from wasm2py import llvm as L  # noqa: E402
from wasm2py.llvm import worker  # noqa: E402

from .wat import wat  # noqa: E402

x86 = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                         reason="the LLVM crash reproduced here is in the x86 backend")  # fmt: skip

BAD = """(module $mod
  (func $ok1 (export "ok1") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $bad (export "bad") (param v128) (result v128)
    local.get 0 f32x4.demote_f64x2_zero i64x2.extend_low_i32x4_u)
  (func $ok2 (export "ok2") (param f64) (result f64) local.get 0 f64.sqrt))"""

SITECUSTOMIZE = """
import os
if os.environ.get("WASM2PY_TEST_OLD_QUIET") == "1":
    from wasm2py.llvm import simd

    def canonical_nan(self, v):  # the lowering before the fix: llvm.canonicalize
        return self.call("llvm.canonicalize", v.type, [v])

    simd.SimdLowerer.canonical_nan = canonical_nan
"""

CHILD = r"""
import os, sys
import wasm2py
data = open(sys.argv[1], "rb").read()
# only the workers (started from here on) load the old lowering
os.environ["PYTHONPATH"] = sys.argv[2] + os.pathsep + os.environ.get("PYTHONPATH", "")
os.environ["WASM2PY_TEST_OLD_QUIET"] = "1"
engine = wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False))
try:
    wasm2py.Module(engine, data)
except wasm2py.CompileError as e:
    print("CompileError", e.func_index, e.func_name, e.module_name, sep="|")
    print(e)
# the process goes on: the Python tier still runs the module
m = wasm2py.Module(wasm2py.Engine(wasm2py.Config(cache=False)), data)
print("python tier", wasm2py.Instance(wasm2py.Store(m.engine), m).exports.ok1(41))
"""


@x86
def test_llvm_abort_in_a_worker_is_a_compile_error_naming_the_function(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    mod = tmp_path / "bad.wasm"
    mod.write_bytes(wat(BAD))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(mod), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    # function 1 ($bad) fails alone; the message carries LLVM's own last words
    assert lines[0] == "CompileError|1|bad|mod", proc.stdout
    assert "SIGABRT" in lines[1] and "legalize" in lines[1], lines[1]
    assert lines[-1] == "python tier 42"


def test_worker_compiles_and_is_reused():
    engine = wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False))
    store = wasm2py.Store(engine)
    first = wasm2py.Module(engine, wat(BAD))  # (fixed lowering: compiles)
    pids = {p.pid for p in worker._CHILDREN}
    second = wasm2py.Module(engine, wat(BAD.replace("i32.const 1", "i32.const 2")))
    assert {p.pid for p in worker._CHILDREN} & pids  # the warm worker compiled the second
    assert wasm2py.Instance(store, first).exports.ok1(1) == 2
    assert wasm2py.Instance(store, second).exports.ok1(1) == 3
    # demote(1.5, -2.0) = f32 [1.5, -2.0, 0, 0]; extend the low two i32 lanes unsigned
    arg = 0x3FF8000000000000 | 0xC000000000000000 << 64
    assert wasm2py.Instance(store, first).exports.bad(arg) == 0x3FC00000 | 0xC0000000 << 64


def test_worker_errors_are_typed():
    # a worker that dies (here: killed) raises WorkerDied (compile_objects makes it a
    # CompileError after looking for the function)
    w = worker.Worker()
    w.proc.kill()
    with pytest.raises(worker.WorkerDied, match="SIGKILL"):
        w.compile(worker.Job(wat("(module)")))
    # a Python failure in the worker comes back as CompileError with its message
    with pytest.raises(wasm2py.CompileError, match="DecodeError"):
        worker.pool().run(worker.Job(b"\0asm\1\0\0\0\1\5"))


def test_a_batch_of_functions_compiles_into_objects_that_link():
    # two jobs: functions {0, 2} with the shell, function {1} alone; loaded together they make
    # the module (the per-function batches of a background compile work the same way)
    from wasm2py.llvm import facts, jit

    data = wat("""(module
      (func $a (export "a") (param i32) (result i32) local.get 0 call $b i32.const 1 i32.add)
      (func $b (param i32) (result i32) local.get 0 i32.const 10 i32.mul)
      (func $c (export "c") (param i32) (result i32) local.get 0 call $a call $a))""")
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="python", cache=False)))
    module = wasm2py.Module(store.engine, data)
    objs = worker.pool().run_all([worker.Job(data, funcs=frozenset({0, 2}), shell=True),
                                  worker.Job(data, funcs=(1,), shell=False)])  # fmt: skip
    flags = bytes(facts.runs_long(c.body) for c in facts.with_bodies(module._module).codes)
    compiled = jit.compile_module(module._module, objects=(flags, objs))
    inst = L.instantiate(store, compiled)
    assert inst.exports.a(4) == 41 and inst.exports.c(1) == (1 * 10 + 1) * 10 + 1


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; ELF objects")
def test_workers_are_forked_from_one_process_that_reaps_them():
    import os
    import signal

    def parent_of(pid: int) -> int:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])

    # (a forker an earlier test started under another environment, e.g. its own
    # ``WASM2PY_*`` variables, serves only workers of that environment: start afresh)
    worker.end_all()
    a, b = worker.Worker(), worker.Worker()
    forker = a.proc.forker
    try:
        assert isinstance(a.proc, worker.Forked) and b.proc.forker is forker
        assert parent_of(a.proc.pid) == parent_of(b.proc.pid) == forker.proc.pid
        # a forked worker compiles as a worker of its own does
        store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="python", cache=False)))
        module = wasm2py.Module(store.engine, wat(BAD))
        assert a.compile(worker.Job(module._module.raw, funcs=(0,), shell=True))[:4] == \
            b"\x7fELF"  # fmt: skip
        b.proc.kill()
        with pytest.raises(worker.WorkerDied, match="SIGKILL"):
            b.compile(worker.Job(wat("(module)")))
    finally:
        a.close()
    assert a.proc.returncode == -signal.SIGKILL
    # the forker ends with its socket, killing and waiting for the workers it still has
    # (their CPU time then counts as this process's children's)
    c = worker.Worker()
    assert c.proc.forker is forker
    forker.close()
    assert forker.proc.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(c.proc.pid, 0)
    c.close()
    # the next worker gets a new forker
    d = worker.Worker()
    try:
        assert d.proc.forker is not forker
    finally:
        d.close()


def test_a_worker_is_sent_a_module_once_for_consecutive_jobs():
    # units of one module go to a worker as a header and SAME instead of the module's bytes
    # again; a failed job does not count as the worker having a module
    import io

    data = wat("""(module
      (func $a (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func $b (export "b") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))""")
    w = worker.Worker()
    sent = []
    real = w.proc.stdin

    class Spy(io.RawIOBase):
        def write(self, b):
            sent.append(bytes(b))
            return real.write(b)

        def flush(self):
            real.flush()

    w.proc.stdin = Spy()
    try:
        first = w.compile(worker.Job(data, funcs=(0,), shell=True, unit=True))
        second = w.compile(worker.Job(data, funcs=(1,), shell=False, unit=True))
        assert first[:4] == second[:4] == b"\x7fELF"
        assert sum(data in s for s in sent) == 1
        assert sum(s == worker.struct.pack("<Q", worker.SAME) for s in sent) == 1
        bad = b"\0asm\1\0\0\0\1\5"
        with pytest.raises(wasm2py.CompileError, match="DecodeError"):
            w.compile(worker.Job(bad))
        with pytest.raises(wasm2py.CompileError, match="DecodeError"):
            w.compile(worker.Job(bad))
        assert sum(bad in s for s in sent) == 2  # (no module kept: sent again)
        sent.clear()
        w.compile(worker.Job(data, funcs=(1,), shell=False, unit=True))
        assert sum(data in s for s in sent) == 1
    finally:
        w.proc.stdin = real
        w.close()


@pytest.mark.skipif(sys.platform != "linux", reason="forks this process")
def test_a_child_forked_from_the_parent_does_not_keep_its_forker_alive():
    import os
    import signal
    import time

    # (a forker left by an earlier test under another environment, e.g. another
    # WASM2PY_CACHE_DIR, is not used for this one: start one under this environment)
    worker.end_all()
    a = worker.Worker()
    forker = a.proc.forker
    child = os.fork()
    if child == 0:  # (the parent's forker is not ours: dropped, its socket closed)
        os._exit(3 if worker._FORKER else (time.sleep(60) or 0))
    try:
        a.close()
        t = time.monotonic()
        forker.close()  # ends at once: no copy of its socket is left open in the child
        assert forker.proc.returncode == 0 and time.monotonic() - t < 4
    finally:
        os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL  # (it did not exit with 3)


def test_end_all_counts_forked_workers_cpu_in_this_processs_children():
    """A forked worker is the forker's child: its CPU time reaches this process's
    RUSAGE_CHILDREN only once the forker has waited for it and this process for the forker.
    end_all does both (the measuring tools read the children's CPU after it)."""
    import resource

    def children() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    data = wat('(module (func (export "f") (param i32) (result i32) '
               "local.get 0 i32.const 3 i32.mul))")  # fmt: skip
    worker.end_all()
    before = children()
    _, job_cpu = worker.pool().run_timed(worker.Job(data))
    assert job_cpu > 0
    forked = bool(worker._FORKER)  # (no forker where fork or fd passing is missing)
    worker.end_all()
    assert not worker._FORKER and not worker.pool()._idle
    # the worker's job (its own report of its CPU) is in, and with a forker, the forker's
    # imports too: more than the job alone
    assert children() - before >= job_cpu
    if forked:
        assert children() - before > job_cpu


@pytest.mark.skipif(sys.platform != "linux", reason="forks workers")
def test_an_idle_forked_worker_is_alive_without_asking_its_forker(monkeypatch):
    import signal
    import time

    worker.end_all()  # (a forker of this test's environment: see the test above)
    w = worker.Worker()
    try:
        assert isinstance(w.proc, worker.Forked)
        asked = []
        real = w.proc.forker.wait

        def wait(pid, block):
            asked.append(block)
            return real(pid, block)

        monkeypatch.setattr(w.proc.forker, "wait", wait)
        assert w.alive and w.alive and asked == []
        w.proc.kill()
        deadline = time.monotonic() + 10
        while w.alive and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not w.alive and w.proc.returncode == -signal.SIGKILL and asked
    finally:
        w.close()


ZYGOTE = r"""
import os, select, subprocess, sys, threading
from wasm2py.llvm import worker
from wasm2py.binary.decoder import decode_module

def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])

data = open(sys.argv[1], "rb").read()
job = worker.Job(data, funcs=(0,), shell=True)
sys.stdout.write("before|")  # (buffered: written once, by this process)
first = sys.stdin.buffer.read(1).decode()  # (the rest of a block now sits in its buffer)
r, w = os.pipe()
worker.start_forker()
forker = worker._FORKER[0]
a = worker.Worker()
os.close(w)
eof = select.select([r], [], [], 10)[0] and os.read(r, 1) == b""
print("forked here", isinstance(forker.proc, worker._Child), parent_of(forker.proc.pid) == os.getpid(),
      a.proc.forker is forker, "pipe EOF", eof, sep="|")
forked_obj = a.compile(job)
a.close()
worker.end_all()
print("forker ended", forker.proc.returncode, sep="|")
# with another thread running, or another PYTHONPATH, the forker is a new interpreter
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
b = worker.Worker()
print("thread", isinstance(b.proc.forker.proc, subprocess.Popen), sep="|")
fresh_obj = b.compile(job)
b.close()
worker.end_all()
stop.set()
t.join()
os.environ["PYTHONPATH"] = os.environ.get("PYTHONPATH", "") + os.pathsep + "/nonexistent"
worker.start_forker()
print("env", worker._FORKER == [], sep="|")
c = worker.Worker()
print("env", isinstance(c.proc.forker.proc, subprocess.Popen), sep="|")
c.close()
worker.end_all()
print("same object", forked_obj == fresh_obj, forked_obj[:4] == b"\x7fELF", sep="|")
print("stdin", first + sys.stdin.buffer.read().decode(), sep="|", end="|")
sys.stdout.write("after")
"""


@pytest.mark.skipif(sys.platform != "linux", reason="forks this process")
def test_the_forker_is_a_fork_of_this_process_while_it_runs_one_thread(tmp_path):
    # (in a process of its own: a known environment, one thread, its own streams)
    mod = tmp_path / "m.wasm"
    mod.write_bytes(wat(BAD))
    stdin = "x" * 100_000
    proc = subprocess.run([sys.executable, "-c", ZYGOTE, str(mod)], input=stdin,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split("\n")
    # a fork of this process, not keeping its descriptors (the pipe's write end) open
    assert lines[0] == "before|forked here|True|True|True|pipe EOF|True", proc.stdout
    assert lines[1] == "forker ended|0"
    assert lines[2] == "thread|True"
    assert lines[3:5] == ["env|True", "env|True"]  # (start_forker started none either)
    # the same object from a worker of either forker
    assert lines[5] == "same object|True|True"
    # the forked processes neither read this process's buffered input nor wrote its
    # buffered output again
    assert lines[6] == "stdin|" + stdin + "|after"


def test_a_jobs_ir_can_be_kept_for_later():
    # a worker keeps a job's IR (the lowering's and LLVM's module) until its next job
    # (jit.compile_part's spare, worker.serve): the object is the same, the kept IR is freed
    # by jit.drop, and the objects build_text froze meanwhile are the collector's again
    import gc

    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm import jit

    module = decode_module(wat("""(module
      (func (export "f") (param i32) (result i32)
        (if (result i32) (i32.lt_s (local.get 0) (i32.const 3))
          (then (i32.const 1)) (else (i32.mul (local.get 0) (i32.const 7))))))"""))
    plain = jit.compile_part(module, 0, None, None)
    spare: list = []
    try:
        kept = jit.compile_part(module, 0, None, None, spare=spare)
        assert kept == plain
        assert len(spare) == 2 and gc.get_freeze_count() > 0
    finally:
        jit.drop(spare)
    assert spare == [] and gc.get_freeze_count() == 0
