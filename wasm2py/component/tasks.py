"""Component instances' run-time state, threads, tasks, subtasks, waitables and the store's
scheduler (``CanonicalABI.md``: *Component Instances*, *Concurrency*, *Waitable State*,
*Subtask State*, *Embedding*).

Each component-model thread runs on a :class:`~.fibers.Fiber`; exactly one runs at a time.
Where the spec leaves a choice to the embedder (which ready thread runs next, which pending
event a waitable set reports first), this implementation picks the oldest, which keeps runs
reproducible.
"""

from __future__ import annotations

import enum
import threading

from ..errors import TrapCode
from .fibers import Fiber, current_fiber
from .handles import HandleTable, trap


class Cancelled(enum.IntEnum):
    """Whether a blocked thread was resumed by a cancellation."""
    FALSE = 0
    TRUE = 1


class EventCode(enum.IntEnum):
    """The events ``waitable-set.wait``/``poll`` and callbacks report."""

    NONE = 0
    SUBTASK = 1
    STREAM_READ = 2
    STREAM_WRITE = 3
    FUTURE_READ = 4
    FUTURE_WRITE = 5
    TASK_CANCELLED = 6


def _state_trap(msg: str):
    return trap(TrapCode.INVALID_ASYNC_STATE, msg)


class InstanceState:
    """The canonical ABI state of one component instance: its handle and thread tables and the
    flags guarding entry (``may_enter``), exit (``may_leave``) and backpressure."""

    __slots__ = ("store", "parent", "handles", "threads", "may_enter", "may_leave",
                 "backpressure", "num_waiting_to_enter", "exclusive_thread", "name",
                 "__weakref__")  # fmt: skip

    def __init__(self, store: Scheduler, parent: InstanceState | None = None, name: str = ""):
        self.store = store
        self.parent = parent
        self.handles = HandleTable()
        self.threads = HandleTable()
        self.may_enter = True
        self.may_leave = True
        self.backpressure = 0
        self.num_waiting_to_enter = 0
        self.exclusive_thread: Thread | None = None
        self.name = name

    def self_and_ancestors(self) -> list[InstanceState]:
        """This instance and the instances containing it."""
        out = [self]
        p = self.parent
        while p is not None:
            out.append(p)
            p = p.parent
        return out

    def entering_set(self, caller: InstanceState | None) -> list[InstanceState]:
        """The instances a call from ``caller`` enters anew."""
        mine = self.self_and_ancestors()
        if caller is None:
            return mine
        theirs = set(map(id, caller.self_and_ancestors()))
        return [i for i in mine if id(i) not in theirs]

    def may_enter_from(self, caller) -> bool:
        """Whether a call from ``caller`` may enter."""
        return all(i.may_enter for i in self.entering_set(caller))

    def enter_from(self, caller) -> None:
        """Mark the instances a call from ``caller`` enters."""
        for i in self.entering_set(caller):
            i.may_enter = False

    def leave_to(self, caller) -> None:
        """Undo :meth:`enter_from`."""
        for i in self.entering_set(caller):
            i.may_enter = True

    def __repr__(self) -> str:
        return f"<component instance {self.name}>"


# --- threads ----------------------------------------------------------------------------------


def current_thread() -> Thread:
    """The component-model thread running now.

    Raises:
        Trap: called outside any component thread (a host function called directly).
    """
    f = current_fiber()
    if f is None or not isinstance(f.data, Thread):
        raise trap(TrapCode.CANNOT_LEAVE, "no component task is running")
    return f.data


class Thread:
    """A component-model thread of a task (the implicit thread of a call, or one made by
    ``thread.new-indirect``)."""

    __slots__ = ("fiber", "ready_func", "task", "cancellable", "index", "storage", "is_running",
                 "done")  # fmt: skip

    def __init__(self, task: Task, thread_func):
        def body(cancelled):
            thread_func()

        self.fiber = Fiber(body, data=self, on_wake=task.inst.store.on_wake)
        self.ready_func = None
        self.task = task
        self.cancellable = False
        self.index: int | None = None
        self.storage = [0, 0]
        self.is_running = False
        self.done = False

    def running(self) -> bool:
        """Whether the thread is running now."""
        return self.is_running

    def suspended(self) -> bool:
        """Blocked with no condition: only an explicit resume continues it."""
        return not self.is_running and not self.done and self.ready_func is None

    def waiting(self) -> bool:
        """Blocked until a condition holds."""
        return not self.is_running and self.ready_func is not None

    def ready(self) -> bool:
        """Waiting, and its condition holds."""
        return self.waiting() and self.ready_func()

    def start_waiting_internal(self, ready_func) -> None:
        """Wait for ``ready_func`` (the scheduler resumes the thread once it holds)."""
        self.ready_func = ready_func
        self.task.inst.store.waiting.append(self)

    def stop_waiting_internal(self) -> None:
        """No longer wait."""
        self.ready_func = None
        self.task.inst.store.waiting.remove(self)

    def resume_later(self) -> None:
        """Make a suspended thread ready."""
        self.start_waiting_internal(_always)

    def resume(self, cancelled: Cancelled = Cancelled.FALSE) -> None:
        """Run this thread (and whatever it switches to) until it blocks or finishes."""
        if self.waiting():
            self.stop_waiting_internal()
        thread: Thread | None = self
        while thread is not None:
            thread.is_running = True
            try:
                kind, arg = thread.fiber.resume(cancelled)
            except BaseException:
                thread.done = True
                raise
            if kind == "block":
                thread.is_running = False
                thread = arg
            else:
                thread.is_running = False
                thread.done = True
                thread = None
            cancelled = Cancelled.FALSE

    def _block(self, cancellable: bool, switch_to: Thread | None = None) -> Cancelled:
        self.cancellable = cancellable
        return Cancelled(self.fiber.block(switch_to) or 0)

    def suspend(self, cancellable: bool) -> Cancelled:
        """Block until explicitly resumed."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        return self._block(cancellable)

    def wait_until(self, ready_func, cancellable: bool = False) -> Cancelled:
        """Block until ``ready_func()`` holds (at once if it already does)."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        # The spec lets a wait for something already ready either continue at once or let
        # other threads run first; continuing at once is what the reference tests expect.
        if ready_func():
            return Cancelled.FALSE
        self.start_waiting_internal(ready_func)
        return self._block(cancellable)

    def yield_(self, cancellable: bool, ready_func=None) -> Cancelled:
        """Let the other ready threads run first (always switches away); continue once
        ``ready_func()`` holds."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        self.start_waiting_internal(ready_func or _always)
        return self._block(cancellable)

    def suspend_then_resume(self, cancellable: bool, other: Thread) -> Cancelled:
        """Block, switching straight to thread ``other``."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        return self._block(cancellable, other)

    def yield_then_resume(self, cancellable: bool, other: Thread) -> Cancelled:
        """Stay ready, switching straight to thread ``other``."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        self.start_waiting_internal(_always)
        return self._block(cancellable, other)

    def suspend_then_promote(self, cancellable: bool, other: Thread) -> Cancelled:
        """Block, switching to ``other`` if it is ready."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        if other.ready():
            other.stop_waiting_internal()
            return self._block(cancellable, other)
        return self.suspend(cancellable)

    def yield_then_promote(self, cancellable: bool, other: Thread) -> Cancelled:
        """Stay ready, switching to ``other`` if it is ready."""
        if self.task.deliver_pending_cancel(cancellable):
            return Cancelled.TRUE
        if other.ready():
            other.stop_waiting_internal()
            return self.yield_then_resume(cancellable, other)
        return self.yield_(cancellable)


def _always() -> bool:
    return True


# --- tasks ------------------------------------------------------------------------------------


class TaskState(enum.Enum):
    """The life cycle of a task."""
    INITIAL = 1
    STARTED = 2
    PENDING_CANCEL = 3
    CANCEL_DELIVERED = 4
    RESOLVED = 5


class Task:
    """One call of a lifted function: its state, the borrows lent to it and its threads."""

    __slots__ = ("ft", "opts", "inst", "on_start", "on_resolve", "state", "num_borrows",
                 "implicit_thread", "threads")  # fmt: skip

    def __init__(self, ft, opts, inst: InstanceState, on_start, on_resolve):
        self.ft = ft
        self.opts = opts
        self.inst = inst
        self.on_start = on_start
        self.on_resolve = on_resolve
        self.state = TaskState.INITIAL
        self.num_borrows = 0
        self.implicit_thread: Thread | None = None
        self.threads: list[Thread] = []

    def needs_exclusive(self) -> bool:
        """Whether the task keeps other such tasks out of its instance (sync, or async with a callback)."""
        return not self.opts.is_async or self.opts.callback is not None

    def enter_implicit_thread(self) -> bool:
        """Wait for backpressure to clear, then start; False if cancelled first."""
        thread = self.implicit_thread = current_thread()
        inst = self.inst
        if self.ft.is_async:
            def has_backpressure():
                return inst.backpressure > 0 or (self.needs_exclusive()
                                                 and inst.exclusive_thread is not None)  # fmt: skip

            if has_backpressure() or inst.num_waiting_to_enter > 0:
                inst.num_waiting_to_enter += 1
                cancelled = thread.wait_until(lambda: not has_backpressure(), cancellable=True)
                inst.num_waiting_to_enter -= 1
                if cancelled:
                    self.cancel()
                    return False
            if self.needs_exclusive():
                inst.exclusive_thread = thread
        self.register_thread(thread)
        return True

    def register_thread(self, thread: Thread) -> None:
        """Add a thread to the task and the instance's thread table."""
        self.threads.append(thread)
        thread.index = self.inst.threads.add(thread)

    def exit_implicit_thread(self) -> None:
        """The implicit thread is done."""
        self.unregister_thread(self.implicit_thread)
        if self.ft.is_async and self.needs_exclusive():
            if self.inst.exclusive_thread is self.implicit_thread:
                self.inst.exclusive_thread = None

    def unregister_thread(self, thread: Thread) -> None:
        """Remove a finished thread; the last one must leave the task resolved."""
        self.threads.remove(thread)
        if not self.threads:
            if self.state is not TaskState.RESOLVED:
                raise _state_trap("cannot block a synchronous task before returning"
                                  if not self.opts.is_async
                                  else "async-lifted export failed to produce a result")  # fmt: skip
        self.inst.threads.remove(thread.index)

    def request_cancellation(self, caller: InstanceState | None) -> None:
        """The caller asks the task to stop: deliver now or leave pending."""
        if self.state is TaskState.INITIAL:
            self.state = TaskState.CANCEL_DELIVERED
            self.implicit_thread.resume(Cancelled.TRUE)
            return
        candidates = [t for t in self.threads if t.cancellable and t.waiting() or
                      (t.cancellable and t.suspended())]  # fmt: skip
        if self.needs_exclusive() and self.inst.exclusive_thread not in (None,
                                                                          self.implicit_thread):  # fmt: skip
            candidates = [t for t in candidates if t is not self.implicit_thread]
        if candidates and self.inst.may_enter_from(caller):
            self.state = TaskState.CANCEL_DELIVERED
            self.inst.enter_from(caller)
            try:
                candidates[0].resume(Cancelled.TRUE)
            finally:
                self.inst.leave_to(caller)
        else:
            self.state = TaskState.PENDING_CANCEL

    def deliver_pending_cancel(self, cancellable: bool) -> bool:
        """Deliver a pending cancellation to a cancellable block."""
        if cancellable and self.state is TaskState.PENDING_CANCEL:
            self.state = TaskState.CANCEL_DELIVERED
            return True
        return False

    def start(self) -> list:
        """The task starts: take the arguments."""
        self.state = TaskState.STARTED
        return self.on_start()

    def return_(self, result: list) -> None:
        """Deliver the result (once, with no outstanding borrows)."""
        if self.state is TaskState.RESOLVED:
            raise _state_trap("task already returned a result or was cancelled")
        if self.num_borrows > 0:
            raise _state_trap("borrow handles still remain at the end of the call")
        self.on_resolve(result)
        self.state = TaskState.RESOLVED
        self._release_exclusive()

    def _release_exclusive(self) -> None:
        # Deviation from the reference definitions (as wasmtime and the reference tests do): a
        # task that has returned no longer keeps other async calls out of its instance.
        if self.ft.is_async and self.inst.exclusive_thread is self.implicit_thread:
            self.inst.exclusive_thread = None

    def cancel(self) -> None:
        """Confirm a delivered cancellation."""
        if self.state is not TaskState.CANCEL_DELIVERED:
            raise _state_trap("`task.cancel` called by a task that was not cancelled")
        if self.num_borrows > 0:
            raise _state_trap("borrow handles still remain at the end of the call")
        self.on_resolve(None)
        self.state = TaskState.RESOLVED


# --- waitables --------------------------------------------------------------------------------


class Waitable:
    """Something a thread can wait on: it has at most one pending event at a time."""

    __slots__ = ("pending_event", "wset", "has_sync_waiter")

    def __init__(self):
        self.pending_event = None
        self.wset: WaitableSet | None = None
        self.has_sync_waiter = False

    def set_pending_event(self, fn) -> None:
        """Set the event the next wait/poll reports."""
        self.pending_event = fn

    def has_pending_event(self) -> bool:
        """Whether an event is pending."""
        return self.pending_event is not None

    def in_waitable_set(self) -> bool:
        """Whether the waitable is in a set."""
        return self.wset is not None

    def wait_for_pending_event(self) -> None:
        """Block the current thread until an event is pending (a synchronous wait)."""
        self.has_sync_waiter = True
        try:
            current_thread().wait_until(self.has_pending_event, cancellable=False)
        finally:
            self.has_sync_waiter = False

    def get_pending_event(self) -> tuple[int, int, int]:
        """Take the pending event: (code, index, payload)."""
        fn = self.pending_event
        self.pending_event = None
        return fn()

    def join(self, wset: WaitableSet | None) -> None:
        """Move into ``wset`` (None: out of any set)."""
        if self.wset is not None:
            self.wset.elems.remove(self)
        self.wset = wset
        if wset is not None:
            wset.elems.append(self)

    def drop(self) -> None:
        """Leave any set."""
        self.join(None)


class WaitableSet:
    """A set of waitables a thread can wait on together."""

    __slots__ = ("elems", "num_waiting")

    def __init__(self):
        self.elems: list[Waitable] = []
        self.num_waiting = 0

    def has_pending_event(self) -> bool:
        """Whether a member has an event."""
        return any(w.pending_event is not None for w in self.elems)

    def get_pending_event(self) -> tuple[int, int, int]:
        """Take the event of the oldest member that has one."""
        for w in self.elems:
            if w.pending_event is not None:
                return w.get_pending_event()
        raise AssertionError("no pending event")

    def wait_for_event_and(self, ready_func, cancellable: bool) -> tuple[int, int, int]:
        """Block until ``ready_func()`` holds and a member has an event; that event."""
        self.num_waiting += 1
        try:
            cancelled = current_thread().wait_until(
                lambda: ready_func() and self.has_pending_event(), cancellable)
            if cancelled:
                return (EventCode.TASK_CANCELLED, 0, 0)
            return self.get_pending_event()
        finally:
            self.num_waiting -= 1

    def wait_for_event(self, cancellable: bool) -> tuple[int, int, int]:
        """Block until a member has an event; that event."""
        return self.wait_for_event_and(_always, cancellable)

    def poll(self, cancellable: bool) -> tuple[int, int, int]:
        """A pending event, TASK_CANCELLED, or NONE, without blocking."""
        if current_thread().task.deliver_pending_cancel(cancellable):
            return (EventCode.TASK_CANCELLED, 0, 0)
        if not self.has_pending_event():
            return (EventCode.NONE, 0, 0)
        return self.get_pending_event()

    def drop(self) -> None:
        """Check the set may be dropped (empty, nobody waiting)."""
        if self.elems:
            raise _state_trap("cannot drop waitable set with elements")
        if self.num_waiting > 0:
            raise _state_trap("cannot drop waitable set with waiters")


# --- subtasks ---------------------------------------------------------------------------------


class SubtaskState(enum.IntEnum):
    """The states a subtask reports."""
    STARTING = 0
    STARTED = 1
    RETURNED = 2
    CANCELLED_BEFORE_STARTED = 3
    CANCELLED_BEFORE_RETURNED = 4


class Subtask(Waitable):
    """A call made by a task (through a lowered import), as the caller sees it."""

    __slots__ = ("state", "on_cancel", "lenders", "cancellation_requested", "flat_results")

    def __init__(self):
        super().__init__()
        self.state = SubtaskState.STARTING
        self.on_cancel = None
        self.lenders: list | None = []
        self.cancellation_requested = False
        self.flat_results: list = []

    def resolved(self) -> bool:
        """Whether the callee returned or was cancelled."""
        return self.state >= SubtaskState.RETURNED

    def add_lender(self, handle) -> None:
        """A handle lent to the callee for the duration of the call."""
        handle.num_lends += 1
        self.lenders.append(handle)

    def resolve(self, state: SubtaskState, flat_results: list) -> None:
        """Record the final state and results."""
        self.state = state
        self.flat_results = flat_results

    def deliver_resolve(self) -> None:
        """The caller learned the resolution: end the lends."""
        for h in self.lenders:
            h.num_lends -= 1
        self.lenders = None

    def resolve_delivered(self) -> bool:
        """Whether the caller learned the resolution."""
        return self.lenders is None

    def drop(self) -> None:
        """Check the subtask may be dropped, and leave any set."""
        if not self.resolve_delivered():
            raise _state_trap("cannot drop a subtask which has not yet resolved")
        Waitable.drop(self)


# --- the scheduler ----------------------------------------------------------------------------


class Scheduler:
    """The store-wide concurrency state (the spec's ``Store``): threads waiting to run.

    Args:
        on_wake: called whenever a fiber continues (see :attr:`.fibers.Fiber.on_wake`).
    """

    def __init__(self, on_wake=None):
        self.waiting: list[Thread] = []
        self.nesting_depth = 0
        self.on_wake = on_wake
        self.lock = threading.RLock()

    def invoke(self, f, on_start, on_resolve):
        """Call component function ``f`` from the host."""
        self.nesting_depth += 1
        try:
            return f(on_start, on_resolve, None)
        finally:
            self.nesting_depth -= 1

    def tick(self) -> bool:
        """Run one ready thread (the oldest); False if none was ready."""
        for thread in list(self.waiting):
            if thread.ready():
                inst = thread.task.inst
                self.nesting_depth += 1
                inst.enter_from(None)
                try:
                    thread.resume()
                finally:
                    inst.leave_to(None)
                    self.nesting_depth -= 1
                return True
        return False

    def abort_all(self) -> None:
        """Discard every blocked thread (after a trap: the store's component state is lost)."""
        threads, self.waiting = self.waiting, []
        for t in threads:
            t.fiber.abort()
