"""LLVM compiles in worker processes: a crash inside LLVM becomes a :class:`CompileError`.

LLVM reports some internal failures by aborting the process (an assertion, or
``llvm_unreachable`` in a backend that cannot legalize an operation): nothing a Python caller
can catch. So the LLVM tier compiles out of process by default (``Config(llvm_isolated=True)``):
a :class:`Worker` is a child process that takes :class:`Job` s (a module's bytes, the options,
which functions) over a pipe and answers with a relocatable object, which the parent loads
with MCJIT (:func:`.jit.compile_module`). A worker that dies mid-job is replaced;
:func:`compile_objects` then recompiles halves of the functions in fresh workers to name the
function that fails alone, and raises :class:`~wasm2py.errors.CompileError`.

Workers are kept warm in a :class:`Pool` (:func:`pool`): the first compile of a process starts
one (importing llvmlite and wasm2py takes a few hundred milliseconds; ``Engine`` starts it ahead
for ``tier="llvm"``), later compiles reuse it, so a small module pays only the pipe and the
object load. Independent jobs run in parallel workers (the parts of a big module,
:func:`.jit.plan_parts`; tier-up compiles in the background for ``tier="auto"``).

Workers are forked from a :class:`Forker`, a process that imported llvmlite and the compiler
once: a fork costs milliseconds where a fresh interpreter's start and imports cost ~0.2 CPU s,
and ``tier="auto"`` runs two workers (and replaces any that crash). On Linux the forker is
itself a fork of this process when it can be (one thread running, the environment it started
with: :func:`_fork_forker`), which saves the forker's own start and imports (~0.13 CPU s);
else it is a new interpreter. Where ``fork`` or passing file descriptors is not available, or
the environment changed since the forker started (its ``PYTHON*``, ``WASM2PY*``, ``LLVM*`` or
``LD_*`` variables), workers are started as processes of their own.

A worker never outlives its parent for long: it is killed at exit (``atexit``) and exits when
its pipe closes (the parent died), at the latest when the job at hand is done; the forker
exits when its socket closes, killing and waiting for its workers (so their CPU time is
accounted to the parent's children, as a worker's of its own would be).

Protocol (``python -m wasm2py.llvm.worker serve``): each request is a u32 length and a JSON
header, then a u64 length and the module's bytes (or the length :data:`SAME` alone: the module
of the worker's previous job, which tier-up's units of one module all are); each answer a status byte (``O`` object,
``U`` unsupported feature, ``E`` other error), the job's CPU seconds (f64), a u64 length and
the object or the message.
"""

from __future__ import annotations

import atexit
import functools
import gc
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from ..errors import CompileError, UnsupportedFeature

_CHILDREN: set[subprocess.Popen] = set()
_LOCK = threading.Lock()
#: jobs a worker does before it is replaced (see ``Worker.jobs``)
MAX_JOBS = 500
#: the module length that stands for the previous job's module (see the protocol above)
SAME = (1 << 64) - 1
#: a worker frees the IR of its last jobs once they compiled this many bytes of function
#: bodies (see ``serve``: tier-up units of up to 8 KB each, ~0.2 MB of the worker's memory
#: per KB; a part of a big module is more than this alone, and is freed at the next job)
KEEP_BYTES = 256 * 1024


@dataclass(frozen=True)
class Job:
    """What a worker compiles: ``funcs`` (defined functions, in the function index space: a
    range, or any collection, e.g. a batch of hot functions) of the validated module ``wasm``,
    with the shell (trampolines, entries, address tables) if ``shell``; ``funcs=None``: the
    whole module as one unit (functions internal, as in process). The other functions are
    declared: objects of jobs that cover the module together link when loaded together.
    ``unit``: ``funcs`` is a compilation unit of its own (:mod:`.units`: the other functions
    are called through their records; ``shell`` then means the trampolines only).
    """

    wasm: bytes
    opt_level: int = 2
    fuel_costs: object = None
    funcs: range | frozenset | tuple | None = None
    shell: bool = True
    unit: bool = False
    #: compile epoch checks (``Config.epoch_interruption``)
    epoch: bool = False
    #: guard-page mode (see ``guard.guard_mode``; resolved by the parent)
    guard: bool = False
    #: the module's functions with suspend code (:func:`.facts.pausable_funcs`), when the
    #: parent knows them: else the worker decodes every body of the module to find them
    pausable: frozenset | None = None
    #: the suffix of the names the object defines (see :func:`.jit.tag_symbols`), or None
    tag: str | None = None
    #: whether the module makes tail calls (``facts.has_tail_calls``), when the parent knows:
    #: else the worker decodes every body of the module to find out
    tail_calls: bool | None = None

    def header(self) -> bytes:
        costs = None
        if self.fuel_costs is not None:
            c = self.fuel_costs
            costs = [c.instruction, [list(p) for p in c.per_opcode], c.bulk_per_64]
        f = self.funcs
        if f is None:
            funcs = None
        elif isinstance(f, range) and f.step == 1:
            funcs = {"range": [f.start, f.stop]}
        else:
            funcs = {"list": sorted(f)}
        pausable = sorted(self.pausable) if self.pausable is not None else None
        return json.dumps({"level": self.opt_level, "costs": costs, "funcs": funcs,
                           "shell": self.shell, "unit": self.unit, "epoch": self.epoch,
                           "guard": self.guard, "pausable": pausable,
                           "tag": self.tag, "tails": self.tail_calls}).encode()  # fmt: skip


class WorkerDied(Exception):
    """The worker process ended during a job (``reason``: its signal and last messages)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Worker:
    """One compile worker process (see the module doc); one job at a time."""

    def __init__(self):
        env = _worker_env()
        self._err = tempfile.TemporaryFile()
        forker = _forker(env)
        self.proc = forker.spawn(self._err) if forker is not None else None
        if self.proc is None:
            # a session of its own: a terminal's Ctrl-C goes to the parent, which ends it
            self.proc = subprocess.Popen([sys.executable, "-m", "wasm2py.llvm.worker", "serve"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._err, env=env, start_new_session=True)  # fmt: skip
        with _LOCK:
            _CHILDREN.add(self.proc)
        #: jobs done (a worker is replaced after MAX_JOBS: LLVM's context keeps some of what
        #: every module created, so a worker's memory grows with the modules it compiled)
        self.jobs = 0
        #: CPU seconds the worker spent on its last job
        self.last_cpu = 0.0
        #: the module bytes of the last job sent (not sent again: see :data:`SAME`)
        self._last_wasm: bytes | None = None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def compile(self, job: Job) -> bytes:
        """The relocatable object of ``job``.

        Raises:
            WorkerDied: the worker ended (crashed inside LLVM, was killed).
            UnsupportedFeature: the module uses something the LLVM tier does not implement.
            CompileError: the compile failed with a Python exception in the worker.
        """
        header = job.header()
        self.jobs += 1
        try:
            self._err.seek(0)
            self._err.truncate()
            out = self.proc.stdin
            out.write(struct.pack("<I", len(header)) + header)
            if job.wasm is self._last_wasm:
                out.write(struct.pack("<Q", SAME))
            else:
                self._last_wasm = None  # (until the worker has the new one)
                out.write(struct.pack("<Q", len(job.wasm)))
                out.write(job.wasm)
            out.flush()
            head = self._read(17)
            status = head[:1]
            self.last_cpu, size = struct.unpack("<dQ", head[1:])
            payload = self._read(size)
        except (OSError, EOFError):
            raise WorkerDied(self._death()) from None
        if status == b"O":
            self._last_wasm = job.wasm  # (decoded and kept there)
            return payload
        message = payload.decode(errors="replace")
        if status == b"U":
            raise UnsupportedFeature(message)
        raise CompileError(message)

    def _read(self, n: int) -> bytes:
        data = self.proc.stdout.read(n)
        if len(data) != n:
            raise EOFError
        return data

    def _death(self) -> str:
        self.close()
        rc = self.proc.returncode
        try:
            how = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        except ValueError:
            how = f"signal {-rc}"
        self._err.seek(0)
        lines = [ln.strip() for ln in self._err.read().decode(errors="replace").splitlines()
                 if ln.strip()]  # fmt: skip
        last = " | ".join(lines[-3:])
        return f"the LLVM worker process died ({how})" + (f": {last}" if last else "")

    def close(self) -> None:
        """End the worker (at once: it holds no state worth keeping)."""
        _kill(self.proc)
        with _LOCK:
            _CHILDREN.discard(self.proc)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


def _worker_env() -> dict[str, str]:
    """The environment of a worker: this one, with this package first on the path."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


class _ByPid:
    """What a ``Popen``-like process known by its pid shares: :meth:`kill`."""

    pid: int

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass  # gone already


class Forked(_ByPid):
    """A worker forked by a :class:`Forker`: what :class:`Worker` uses of a ``Popen``."""

    def __init__(self, forker: Forker, pid: int, stdin, stdout):
        self.forker = forker
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code (as ``Popen.poll``), None while the worker runs. The forker is asked
        only once the worker's answer pipe has hung up (the worker's end closes when it
        exits): :class:`Pool` checks an idle worker before and after every job, and a
        round trip to the forker took a median 0.1 ms and up to 20 ms of wall time on a
        loaded machine, time the code waiting for that unit keeps running in the Python
        tier."""
        if self.returncode is None and self._hung_up():
            self.returncode = self.forker.wait(self.pid, block=False)
        return self.returncode

    def _hung_up(self) -> bool:
        """Whether the answer pipe reports a hang-up or an error (or is closed here)."""
        try:
            fd = self.stdout.fileno()
        except ValueError:
            return True
        p = select.poll()
        p.register(fd, select.POLLHUP | select.POLLERR)
        return any(ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL)
                   for _, ev in p.poll(0))  # fmt: skip

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the worker's end (it is being killed: no timeout needed)."""
        if self.returncode is None:
            self.returncode = self.forker.wait(self.pid, block=True)
        return self.returncode


class Forker:
    """The process workers are forked from (see the module doc): ``python -m
    wasm2py.llvm.worker fork`` with one end of a socket pair, on which each request is one
    message: ``F`` with three descriptors (the worker's job pipe, answer pipe and standard
    error) answered by the worker's pid, or ``W``/``P`` and a pid (wait for its end; ``P``:
    only poll) answered by its exit code as ``Popen.returncode`` gives it (-1000: still
    running). Thread-safe."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            if _may_fork_here():
                self.proc = _fork_forker(ours, theirs)
            else:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "wasm2py.llvm.worker", "fork", str(theirs.fileno())],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), env=env,
                    start_new_session=True)  # fmt: skip
        finally:
            theirs.close()
        self.sock = ours
        self._lock = threading.Lock()

    def spawn(self, err) -> Forked | None:
        """A new worker writing its standard error to the file ``err`` (None if the forker
        is gone)."""
        job_r, job_w = os.pipe()
        ans_r, ans_w = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self.sock, [b"F"], [job_r, ans_w, err.fileno()])
                pid = struct.unpack("<i", self.sock.recv(16))[0]
        except (OSError, struct.error):
            for fd in (job_r, job_w, ans_r, ans_w):
                os.close(fd)
            return None
        os.close(job_r)
        os.close(ans_w)
        return Forked(self, pid, os.fdopen(job_w, "wb"), os.fdopen(ans_r, "rb"))

    def wait(self, pid: int, block: bool) -> int | None:
        """Worker ``pid``'s exit code (as ``Popen.returncode``), None if it still runs."""
        try:
            with self._lock:
                self.sock.send((b"W" if block else b"P") + struct.pack("<i", pid))
                rc = struct.unpack("<i", self.sock.recv(16))[0]
        except (OSError, struct.error):
            return -signal.SIGKILL  # (the forker is gone: it killed its workers)
        return None if rc == -1000 else rc

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """End the forker: it kills and waits for its workers, then exits."""
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill(self.proc)


_FORKER: list[Forker] = []


def _may_fork_here() -> bool:
    """Whether the forker can be a fork of this process rather than a new interpreter: on
    Linux, while this process runs one thread (no other thread can hold a lock the fork would
    copy held: Python's, the allocator's, LLVM's), and if the variables a new interpreter
    would read (see :func:`_relevant`) are still those this process started with (else a
    worker must see them, e.g. another ``PYTHONPATH``)."""
    return (sys.platform == "linux" and threading.active_count() == 1
            and _relevant(_initial_env()) == _relevant(dict(os.environ)))  # fmt: skip


@functools.cache
def _initial_env() -> dict[str, str]:
    """The environment this process started with (``/proc/self/environ``; empty if
    unreadable)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            data = f.read()
    except OSError:
        return {}
    env = {}
    for item in data.split(b"\0"):
        key, eq, value = item.partition(b"=")
        if eq:
            env[os.fsdecode(key)] = os.fsdecode(value)
    return env


class _Child(_ByPid):
    """A forker forked from this process (:func:`_fork_forker`): what :class:`Forker` and
    :func:`_kill` use of a ``Popen``."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"forker {self.pid}", timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return self.returncode


def _fork_forker(ours: socket.socket, theirs: socket.socket) -> _Child:
    """The forker as a fork of this process (see :func:`_may_fork_here`): it has the modules
    this process imported (wasm2py, llvmlite, LLVM initialized), where a new interpreter
    spent ~0.13 CPU s starting and importing them. The cyclic garbage is collected here first
    (the fork then inherits none: a file object collected in a worker would close a
    descriptor of the worker's); the child detaches itself from this process's session,
    descriptors and standard streams, freezes what it inherited (its collections never walk
    this process's objects, nor copy their pages) and serves (:func:`fork_server`). LLVM's
    binding is imported here first: this process loads the compiled code with it anyway, and
    the fork then has it too (``tier="auto"`` imports it only once something is hot)."""
    from . import jit  # noqa: F401

    gc.collect()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ours.close()
            os.setsid()  # (its own group: the parent kills it with killpg)
            fd = theirs.detach()
            null = os.open(os.devnull, os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(null, target)
            os.closerange(3, fd)
            os.closerange(fd + 1, os.sysconf("SC_OPEN_MAX"))
            # fresh streams: the inherited ones may hold this process's buffered input or
            # output (never flushed or read here: this process ends with os._exit)
            sys.stdin = open(0, closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            gc.freeze()
            code = fork_server(fd, imported=False)
        finally:
            os._exit(code)
    return _Child(pid)


def start_forker() -> None:
    """Start the process's forker now if it can be forked from this process (one thread
    running, see :func:`_may_fork_here`) and none runs yet: ``tier="auto"`` calls this on
    the thread running the code, before it starts its compile threads (after which the
    forker would be a new interpreter)."""
    if _may_fork_here():
        _forker(_worker_env())


def _forker(env: dict[str, str]) -> Forker | None:
    """The process's forker (started now if need be), None where workers cannot be forked
    or the environment differs from the forker's (e.g. a test's ``PYTHONPATH``)."""
    if not (hasattr(os, "fork") and hasattr(socket, "send_fds")
            and hasattr(socket, "SOCK_SEQPACKET")):  # fmt: skip
        return None
    with _LOCK:
        if _FORKER and not _FORKER[0].alive:
            _FORKER.pop().close()
        if not _FORKER:
            try:
                _FORKER.append(Forker(env))
            except OSError:
                return None
        forker = _FORKER[0]
    return forker if _relevant(forker.env) == _relevant(env) else None


def _forget_forker() -> None:
    """In a child forked from this process: drop the parent's forker, closing the inherited
    copy of its socket (the forker only sees its socket close, and ends, once every copy is
    closed)."""
    for forker in _FORKER:
        try:
            forker.sock.close()
        except OSError:
            pass
    _FORKER.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_forker)


def _relevant(env: dict[str, str]) -> dict[str, str]:
    """The variables of an environment that a worker's Python, llvmlite or wasm2py read (a
    test runner's ``PYTEST_CURRENT_TEST`` changes at every test: not a reason to start
    workers afresh)."""
    return {k: v for k, v in env.items() if k.startswith(("PYTHON", "WASM2PY", "LLVM", "LD_"))}


class Pool:
    """Warm workers: :meth:`run` takes an idle one (or starts one), and keeps it afterwards
    (up to ``max_idle``). At most ``max_workers`` worker processes exist at a time: a job
    waits for a busy one beyond that (starting a worker costs a few hundred CPU
    milliseconds, and more processes than cores compile nothing sooner; ``tier="auto"``
    has background compiles and a big function's first call asking at once). Thread-safe."""

    def __init__(self, max_idle: int = 2, max_workers: int | None = None):
        self.max_idle = max_idle
        #: (None: no bound)
        self.max_workers = None if max_workers is None else max(1, max_idle, max_workers)
        self._idle: list[Worker] = []
        self._lock = threading.Condition()
        #: worker processes started and not closed (idle or busy)
        self._live = 0

    def prestart(self) -> None:
        """Start a worker now if none is idle (it warms up while the caller works)."""
        with self._lock:
            if self._idle or not self._room():
                return
            self._live += 1
        self._release(self._start())

    def _room(self) -> bool:
        """Whether another worker may start (under the lock)."""
        return self.max_workers is None or self._live < self.max_workers

    def _start(self) -> Worker:
        try:
            return Worker()
        except BaseException:
            self._drop(None)
            raise

    def _acquire(self) -> Worker:
        with self._lock:
            while True:
                while self._idle:
                    w = self._idle.pop()
                    if w.alive:
                        return w
                    w.close()
                    self._live -= 1
                if self._room():
                    self._live += 1
                    break
                self._lock.wait()
        return self._start()

    def _release(self, w: Worker) -> None:
        with self._lock:
            if w.alive and w.jobs < MAX_JOBS and len(self._idle) < self.max_idle:
                self._idle.append(w)
                self._lock.notify()
                return
        self._drop(w)

    def _drop(self, w: Worker | None) -> None:
        """Close ``w`` (None: a worker that failed to start) and let a waiting job start
        another."""
        if w is not None:
            w.close()
        with self._lock:
            self._live -= 1
            self._lock.notify()

    def run(self, job: Job) -> bytes:
        """Compile ``job`` in a worker (see :meth:`Worker.compile`)."""
        return self.run_timed(job)[0]

    def run_timed(self, job: Job) -> tuple[bytes, float]:
        """:meth:`run`, and the CPU seconds the worker spent on the job."""
        w = self._acquire()
        try:
            obj = w.compile(job)
        except WorkerDied:
            self._drop(w)
            raise
        except BaseException:
            self._release(w)
            raise
        cpu = w.last_cpu
        self._release(w)
        return obj, cpu

    def run_all(self, jobs: list[Job]) -> list[bytes]:
        """Compile ``jobs`` in parallel workers; their objects in order (the first failure
        is raised once all are done)."""
        if len(jobs) == 1:
            return [self.run(jobs[0])]
        # (imported here: a worker process, which imports this module too, never needs it,
        # and with logging it is a tenth of a worker's imports)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(jobs)) as ex:
            futures = [ex.submit(self.run, j) for j in jobs]
            return [f.result() for f in futures]

    def shutdown(self) -> None:
        """End every idle worker."""
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            self._drop(w)


_POOL: Pool | None = None


def end_all() -> None:
    """End every idle worker and the forker (which waits for its workers): for measuring,
    since a process's CPU time counts in its parent's children's (``RUSAGE_CHILDREN``) only
    once the parent has waited for it, and a forked worker's only once its forker has
    ended. The next compile starts a forker again."""
    pool().shutdown()
    with _LOCK:
        forkers, _FORKER[:] = list(_FORKER), []
    for forker in forkers:
        forker.close()


def pool() -> Pool:
    """The process's pool of compile workers."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            cores = os.cpu_count() or 1
            _POOL = Pool(max_idle=max(1, min(2, cores)), max_workers=max(2, cores))
        return _POOL


def compile_objects(module, opt_level: int, fuel_costs, parts, module_name: str | None = None,
                    epoch: bool = False, guard: bool = False,
                    pausable: frozenset | None = None,
                    tail_calls: bool | None = None) -> list[bytes]:  # fmt: skip
    """The objects of a decoded, validated ``module`` (with its ``raw`` bytes), compiled in
    workers: one per part (``parts`` from :func:`.jit.plan_parts`; one part is compiled as a
    whole module; ``pausable``, ``tail_calls``: see :class:`Job`).

    Raises:
        CompileError: a worker died (LLVM crashed): names the function that fails alone, when
            there is one.
        UnsupportedFeature: the module uses something the LLVM tier does not implement.
    """
    wasm = module.raw
    if len(parts) == 1:
        jobs = [Job(wasm, opt_level, fuel_costs, epoch=epoch, guard=guard, pausable=pausable,
                    tail_calls=tail_calls)]  # fmt: skip
    else:
        jobs = [Job(wasm, opt_level, fuel_costs, funcs, shell, epoch=epoch, guard=guard,
                    pausable=pausable, tail_calls=tail_calls)
                for funcs, shell in parts]  # fmt: skip
    try:
        return pool().run_all(jobs)
    except WorkerDied as e:
        reason = e.reason
    index = _culprit(wasm, opt_level, fuel_costs, module, epoch)
    name = module.func_name(index) if index is not None else None
    if module_name is None:
        module_name = module.names.module
    raise CompileError(reason, module_name, index, name)


def _culprit(wasm: bytes, opt_level: int, fuel_costs, module, epoch: bool) -> int | None:
    """The defined function whose compile (alone, without the shell) kills a worker, found by
    halving; None if no single function does (the crash needs several, or the shell)."""
    nimp = module.num_imported_funcs
    funcs = range(nimp, nimp + len(module.funcs))
    for _ in range(64):
        if len(funcs) == 1:
            return funcs.start
        mid = funcs.start + len(funcs) // 2
        for half in (range(funcs.start, mid), range(mid, funcs.stop)):
            try:
                pool().run(Job(wasm, opt_level, fuel_costs, half, False, epoch))
            except WorkerDied:
                funcs = half
                break
            except Exception:  # noqa: BLE001 - not the crash we look for
                continue
        else:
            return None
    return None


@atexit.register
def _kill_children() -> None:
    with _LOCK:
        children = list(_CHILDREN)
        forkers = list(_FORKER)
    for proc in children:
        _kill(proc)
    for forker in forkers:
        forker.close()


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        try:
            proc.kill()
        except OSError:
            pass  # gone already
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# -- the worker process ---------------------------------------------------------------------
def _prepare() -> None:
    """Import what every worker needs and initialize LLVM, once in the forker rather than in
    each worker: the lowering is imported by ``compile_part`` (and ``drop``) only when
    called, and was ~0.055 CPU s of every forked worker's first job."""
    from ..binary import decoder  # noqa: F401
    from ..config import FuelCosts  # noqa: F401
    from .jit import _init
    from .lower import build_text  # noqa: F401

    _init()


def fork_server(fd: int, imported: bool = True) -> int:
    """The forker's loop (see :class:`Forker`), until its socket closes (the parent exited
    or died): then it kills its workers, waits for them and ends. ``imported``: prepare
    (:func:`_prepare`) at once; else at the first worker's fork (a forker forked from its
    parent at ``tier="auto"``'s first hot function may never be asked for one)."""
    if imported:
        _prepare()
    sock = socket.socket(fileno=fd)
    children: set[int] = set()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 3)
        except OSError:
            break
        if not msg:
            break
        if msg[:1] == b"F":
            if not imported:
                _prepare()
                imported = True
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    sock.close()
                    os.setsid()  # (its own group: the parent kills it with killpg)
                    for target, fd_ in zip((0, 1, 2), fds):
                        os.dup2(fd_, target)
                        os.close(fd_)
                    code = serve()
                finally:
                    os._exit(code)
            for fd_ in fds:
                os.close(fd_)
            children.add(pid)
            sock.send(struct.pack("<i", pid))
        else:
            pid = struct.unpack("<i", msg[1:5])[0]
            rc = -1000
            if pid in children:
                try:
                    done, status = os.waitpid(pid, 0 if msg[:1] == b"W" else os.WNOHANG)
                except ChildProcessError:
                    done, status = pid, 0
                if done:
                    children.discard(pid)
                    rc = os.waitstatus_to_exitcode(status)
            else:
                rc = -signal.SIGKILL  # (waited for before)
            sock.send(struct.pack("<i", rc))
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
    return 0


def serve() -> int:
    """The worker's loop: read a job, write its object, until the pipe closes (the parent
    exited or died: then this process ends too)."""
    from ..binary.decoder import decode_module
    from ..config import FuelCosts
    from .jit import compile_part, drop

    # the protocol owns the real standard output; stray prints go to stderr
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    modules: dict[bytes, object] = {}
    # The IR of the last jobs (the lowering's and LLVM's modules), freed once it is of
    # KEEP_BYTES of function bodies or more, when the next job comes: freeing it took ~0.065
    # CPU s per part of the 475 KiB module of tools/bench/llvm_compile.py (0.04 destroying
    # LLVM's module, 0.025 dismantling the lowering's), and ~1 ms per tier-up unit (~0.05 CPU
    # s of a cold lua bench.lua's two workers), which a worker that ends first never spends;
    # destroying LLVM's module gave back only ~5 of the worker's ~120 MB (the memory stays in
    # the process's heap anyway).
    spare: list = []
    kept = 0  # (bytes of function bodies whose IR is in spare)
    while True:
        raw = inp.read(4)
        if len(raw) < 4:
            return 0  # (with the last jobs' IR: _exit frees nothing)
        if kept >= KEEP_BYTES:
            drop(spare)
            kept = 0
        header = json.loads(inp.read(struct.unpack("<I", raw)[0]))
        size = struct.unpack("<Q", inp.read(8))[0]
        wasm = inp.read(size) if size != SAME else None
        cpu = time.process_time()
        try:
            if wasm is None:
                module = next(iter(modules.values()))
            else:
                key = hashlib.sha256(wasm).digest()
                module = modules.get(key)
            if module is None:
                module = decode_module(wasm, check_bodies=False)  # validated by the parent
                modules.clear()  # one module at a time is what jobs come in
                modules[key] = module
            costs = header["costs"]
            fuel = None
            if costs is not None:
                fuel = FuelCosts(costs[0], tuple(tuple(p) for p in costs[1]), costs[2])
            funcs = header["funcs"]
            batch = None
            if funcs is None:
                part = None
            elif "range" in funcs:
                part = (range(*funcs["range"]), header["shell"])
            else:
                part = (frozenset(funcs["list"]), header["shell"])
            if header.get("unit"):
                part, batch = None, (frozenset(part[0]), header["shell"])
            pausable = header.get("pausable")
            if pausable is not None:
                pausable = frozenset(pausable)
            status, payload = b"O", compile_part(module, header["level"], fuel, part, batch,
                                                 header["epoch"], header.get("guard", False),
                                                 pausable, header.get("tag"),
                                                 header.get("tails"), spare)  # fmt: skip
            funcs = batch[0] if batch is not None else part[0] if part is not None else None
            kept += _body_bytes(module, funcs)
        except UnsupportedFeature as e:
            status, payload = b"U", str(e).encode()
        except Exception as e:  # noqa: BLE001 - reported to the parent as a CompileError
            status, payload = b"E", f"{type(e).__name__}: {e}".encode()
        cpu = time.process_time() - cpu
        out.write(status + struct.pack("<dQ", cpu, len(payload)) + payload)
        out.flush()


def _body_bytes(module, funcs) -> int:
    """The bytes of code of ``funcs`` (defined function indices; None: all) of ``module``."""
    nimp = module.num_imported_funcs
    codes = module.codes
    if funcs is None:
        return sum(c.end - c.start for c in codes)
    return sum(codes[i - nimp].end - codes[i - nimp].start for i in funcs
               if 0 <= i - nimp < len(codes))  # fmt: skip


def _exit(code: int) -> None:
    """End this worker or forker without the interpreter's finalization (tearing down the
    modules of llvmlite and the compiler: ~0.017 CPU s of every such process's time, which
    counts in the compiling process's children): all there is to do is flush."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        _exit(serve())
    if len(sys.argv) == 3 and sys.argv[1] == "fork":
        _exit(fork_server(int(sys.argv[2])))
    sys.exit("usage: python -m wasm2py.llvm.worker serve | fork FD")
