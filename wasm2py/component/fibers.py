"""Fibers: computations that can be suspended in the middle of a wasm call stack.

The component model's threads (``CanonicalABI.md``, *Stack Switching*) need to suspend a running
wasm call (``waitable-set.wait`` deep inside a core function) and resume it later. wasm2py runs
core code as ordinary Python (or native, jitted) calls, so each fiber runs on an operating-system
thread of its own (threads are pooled: a finished fiber's thread runs the next one); a handoff
protocol makes sure exactly one fiber (or the embedder's thread) runs at any time, so the
runtime never sees two things happening at once. Both tiers work
unchanged: a blocked fiber is just a thread waiting on a semaphore.

A fiber is started or continued with :meth:`Fiber.resume`, which returns when the fiber blocks
(:meth:`Fiber.block`) or finishes. A fiber that is no longer wanted is unwound with
:meth:`Fiber.abort`: its pending :meth:`Fiber.block` raises :class:`FiberAbort`, which passes
through wasm frames like any Python exception.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: native stack size of fiber threads (deep wasm recursion in the LLVM tier runs on them)
STACK_SIZE = 16 * 1024 * 1024

_local = threading.local()
_stack_lock = threading.Lock()
#: idle worker threads kept for reuse (starting an OS thread costs more than a whole call)
MAX_IDLE_WORKERS = 16
_idle: list[_Worker] = []
_idle_lock = threading.Lock()


class _Worker:
    """An OS thread that runs fibers one after another."""

    __slots__ = ("go", "fiber", "thread")

    def __init__(self):
        self.go = threading.Semaphore(0)
        self.fiber: Fiber | None = None
        with _stack_lock:
            old = threading.stack_size()
            try:
                threading.stack_size(STACK_SIZE)
            except (ValueError, RuntimeError):  # pragma: no cover - platform limits
                pass
            try:
                self.thread = threading.Thread(target=self._loop, daemon=True,
                                               name="wasm2py-fiber")  # fmt: skip
                self.thread.start()
            finally:
                threading.stack_size(old)

    def _loop(self) -> None:
        while True:
            self.go.acquire()
            fiber, self.fiber = self.fiber, None
            fiber._main()
            with _idle_lock:
                if len(_idle) >= MAX_IDLE_WORKERS:
                    return
                _idle.append(self)


def _start(fiber: Fiber) -> None:
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
    worker.fiber = fiber
    worker.go.release()


class FiberAbort(BaseException):
    """Raised inside a fiber that is being discarded (never escapes the fiber)."""


def current_fiber() -> Fiber | None:
    """The fiber running on the calling OS thread (None on the embedder's own threads)."""
    return getattr(_local, "fiber", None)


class Fiber:
    """``fn(value)`` run on its own OS thread, but only while resumed.

    Attributes:
        data: free for the owner (the component runtime keeps its thread object here).
        finished: ``fn`` has returned or raised.
        on_wake: called on the fiber's thread each time it continues after blocking, and on
            the resumer's thread when a resume returns (the LLVM tier rebinds its native stack
            limit to the thread that now runs).
    """

    __slots__ = ("_fn", "_wake", "_back", "_value", "_out", "_thread", "finished", "data",
                 "on_wake", "aborted")  # fmt: skip

    def __init__(self, fn: Callable, data=None, on_wake: Callable | None = None):
        self._fn = fn
        self._wake = threading.Semaphore(0)
        self._back: threading.Semaphore | None = None
        self._value = None
        self._out: tuple = ("", None)
        self._thread: bool | None = None
        self.finished = False
        self.aborted = False
        self.data = data
        self.on_wake = on_wake

    @property
    def started(self) -> bool:
        """Whether the fiber has been resumed once."""
        return self._thread is not None

    def resume(self, value=None) -> tuple[str, object]:
        """Run the fiber until it blocks or finishes.

        Returns:
            ``("block", arg)`` with the argument it passed to :meth:`block`, or
            ``("exit", result)`` with what ``fn`` returned.

        Raises:
            BaseException: whatever ``fn`` raised (the fiber is then finished).
        """
        if self.finished:
            raise RuntimeError("resuming a finished fiber")
        back = threading.Semaphore(0)
        self._back = back
        self._value = value
        if self._thread is None:
            self._thread = True
            _start(self)
        else:
            self._wake.release()
        back.acquire()
        if self.on_wake is not None:
            self.on_wake()
        kind, payload = self._out
        self._out = ("", None)
        if kind == "raise":
            raise payload
        return kind, payload

    def _main(self) -> None:
        _local.fiber = self
        try:
            if self.on_wake is not None:
                self.on_wake()
            result = self._fn(self._value)
            self._out = ("exit", result)
        except FiberAbort:
            self._out = ("exit", None)
        except BaseException as e:  # noqa: BLE001 - handed to the resumer, re-raised there
            self._out = ("raise", e)
        self.finished = True
        _local.fiber = None
        back, self._back = self._back, None
        back.release()

    def block(self, arg=None):
        """Suspend the (calling, current) fiber; its resumer's :meth:`resume` returns
        ``("block", arg)``. Returns the value of the next :meth:`resume`.

        Raises:
            FiberAbort: the fiber was aborted while blocked.
        """
        self._out = ("block", arg)
        back, self._back = self._back, None
        back.release()
        self._wake.acquire()
        if self.aborted:
            raise FiberAbort()
        if self.on_wake is not None:
            self.on_wake()
        return self._value

    def abort(self) -> None:
        """Unwind a blocked fiber (its :meth:`block` raises :class:`FiberAbort`) and wait for
        it to finish. Does nothing to a fiber that never started or already finished."""
        if self.finished or self._thread is None:
            self.finished = True
            return
        self.aborted = True
        back = threading.Semaphore(0)
        self._back = back
        self._wake.release()
        back.acquire()
        self._out = ("", None)
