"""Calls across the component boundary: ``canon lift`` (a core function becomes a component
function) and ``canon lower`` (a component function becomes a core function), with their task,
subtask and callback protocol (``CanonicalABI.md``: *canon lift*, *canon lower*).

A component function value is any callable ``f(on_start, on_resolve, caller) -> on_cancel``
(the spec's ``FuncInst``) with an ``ft`` attribute: :class:`LiftedFunc` for lifted core
functions; host functions (:mod:`.api`) follow the same protocol.

A trap leaves the instances involved entered (``may_enter`` false): later calls into them trap,
as the spec requires (an instance that trapped is not re-entered).
"""

from __future__ import annotations

import enum

from ..errors import Trap, TrapCode
from .abi import MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, flatten_functype
from .canonical import (
    Context,
    CoreValues,
    from_core,
    lift_flat_values,
    lower_flat_values,
)
from .handles import trap
from .tasks import (
    Cancelled,
    EventCode,
    InstanceState,
    Subtask,
    SubtaskState,
    Task,
    TaskState,
    Thread,
    WaitableSet,
    current_thread,
)


class CallbackCode(enum.IntEnum):
    """What a callback-lifted function returns (low 4 bits of its result)."""
    EXIT = 0
    YIELD = 1
    WAIT = 2


def call_core(f, args: list, results) -> list:
    """Call core function ``f`` (a :class:`wasm2py.Func`) with flat values; unsigned results."""
    r = f(*args)
    if not results:
        return []
    if len(results) == 1:
        return from_core((r,), results)
    return from_core(r, results)


class LiftedFunc:
    """A core function lifted to a component function (``canon lift``) of instance ``inst``."""

    __slots__ = ("callee", "ft", "opts", "inst", "core_type", "name")

    def __init__(self, callee, ft, opts, inst: InstanceState, name: str = ""):
        self.callee = callee
        self.ft = ft
        self.opts = opts
        self.inst = inst
        self.core_type = flatten_functype(ft, "lift", is_async=opts.is_async,
                                          callback=opts.callback is not None, ptr=opts.ptr)  # fmt: skip
        self.name = name

    def __call__(self, on_start, on_resolve, caller: InstanceState | None):
        inst = self.inst
        if not inst.may_enter_from(caller) or _nested(inst, caller):
            raise trap(TrapCode.CANNOT_ENTER)
        inst.enter_from(caller)
        on_cancel = canon_lift(self, on_start, on_resolve)
        inst.leave_to(caller)
        return on_cancel

    def __repr__(self) -> str:
        return f"<lifted func {self.name} {self.ft}>"


def _nested(callee: InstanceState, caller: InstanceState | None) -> bool:
    """Whether one instance contains the other. The spec would allow such calls (only the
    instances entered anew are checked); like wasmtime, calls between a component instance and
    its own ancestors or descendants trap for now (the reference tests expect it)."""
    if caller is None or caller is callee:
        return False
    return callee in caller.self_and_ancestors() or caller in callee.self_and_ancestors()


def canon_lift(f: LiftedFunc, on_start, on_resolve):
    """Start a task running lifted function ``f``; returns its ``on_cancel``."""
    ft, opts, inst = f.ft, f.opts, f.inst
    task = Task(ft, opts, inst, on_start, on_resolve)

    def thread_func():
        if not task.enter_implicit_thread():
            return
        cx = Context(opts, inst, task)
        args = task.start()
        flat_args = lower_flat_values(cx, MAX_FLAT_PARAMS, args, ft.param_types)
        core = f.core_type
        if not opts.is_async:
            flat_results = call_core(f.callee, flat_args, core.results)
            result = lift_flat_values(cx, MAX_FLAT_RESULTS, CoreValues(flat_results),
                                      ft.result_types)  # fmt: skip
            task.return_(result)
            if opts.post_return is not None:
                inst.may_leave = False
                call_core(opts.post_return, flat_results, ())
                inst.may_leave = True
            task.exit_implicit_thread()
            return
        if opts.callback is None:
            call_core(f.callee, flat_args, ())
            task.exit_implicit_thread()
            return
        [packed] = call_core(f.callee, flat_args, core.results)
        code, si = unpack_callback_result(packed)
        while code is not CallbackCode.EXIT:
            inst.exclusive_thread = None
            if code is CallbackCode.YIELD:
                cancelled = thread.yield_(True, lambda: inst.exclusive_thread is None)
                event = (EventCode.TASK_CANCELLED if cancelled else EventCode.NONE, 0, 0)
            else:
                wset = inst.handles.get(si)
                if not isinstance(wset, WaitableSet):
                    raise trap(TrapCode.INVALID_HANDLE, f"handle index {si} is not a waitable set")
                event = wset.wait_for_event_and(lambda: inst.exclusive_thread is None,
                                                cancellable=True)  # fmt: skip
            if task.state is not TaskState.RESOLVED:
                inst.exclusive_thread = task.implicit_thread
            code_, p1, p2 = event
            [packed] = call_core(opts.callback, [int(code_), p1, p2], core.results)
            code, si = unpack_callback_result(packed)
        task.exit_implicit_thread()

    thread = Thread(task, thread_func)
    thread.resume()
    if not ft.is_async:
        while task.state is not TaskState.RESOLVED:
            candidates = [t for t in inst.threads if t.ready() and t is not inst.exclusive_thread]
            if not candidates:
                raise trap(TrapCode.DEADLOCK, "cannot block a synchronous task before returning")
            candidates[0].resume()
    return task.request_cancellation


def unpack_callback_result(packed: int) -> tuple[CallbackCode, int]:
    """(code, waitable set index) of a callback result; traps on an unknown code."""
    code = packed & 0xF
    if code > CallbackCode.WAIT:
        raise trap(TrapCode.INVALID_ASYNC_STATE, "unsupported callback code")
    return CallbackCode(code), packed >> 4


#: ``subtask.cancel``/async calls return this when the operation did not complete yet
BLOCKED = 0xFFFFFFFF


class LoweredFunc:
    """A component function lowered to a core function (``canon lower``): called by core wasm
    with flat values."""

    __slots__ = ("callee", "ft", "opts", "inst", "core_type")

    def __init__(self, callee, ft, opts, inst: InstanceState):
        self.callee = callee
        self.ft = ft
        self.opts = opts
        self.inst = inst
        self.core_type = flatten_functype(ft, "lower", is_async=opts.is_async, ptr=opts.ptr)

    def __call__(self, *args):
        res = canon_lower(self, _unsigned(args, self.core_type.params))
        if not res:
            return None
        return res[0] if len(res) == 1 else tuple(res)


def _unsigned(args, types) -> list:
    from ..types import ValType

    out = []
    for a, t in zip(args, types):
        if t is ValType.I32:
            out.append(a & 0xFFFFFFFF)
        elif t is ValType.I64:
            out.append(a & 0xFFFFFFFFFFFFFFFF)
        else:
            out.append(a)
    return out


def canon_lower(f: LoweredFunc, flat_args: list) -> list:
    """Call component function ``f.callee`` from core wasm."""
    thread = current_thread()
    inst = thread.task.inst
    if not inst.may_leave:
        raise trap(TrapCode.CANNOT_LEAVE)
    ft, opts = f.ft, f.opts
    vi = CoreValues(flat_args)
    if not opts.is_async:
        max_params, max_results = MAX_FLAT_PARAMS, MAX_FLAT_RESULTS
    else:
        max_params, max_results = MAX_FLAT_ASYNC_PARAMS, 0
    subtask = Subtask()
    cx = Context(opts, inst, subtask)
    progress = [None]

    def on_start():
        if progress[0] is not None:
            progress[0]()
        subtask.state = SubtaskState.STARTED
        return lift_flat_values(cx, max_params, vi, ft.param_types)

    def on_resolve(result):
        if progress[0] is not None:
            progress[0]()
        if result is None:
            if subtask.state is SubtaskState.STARTING:
                subtask.resolve(SubtaskState.CANCELLED_BEFORE_STARTED, [])
            else:
                subtask.resolve(SubtaskState.CANCELLED_BEFORE_RETURNED, [])
        else:
            flat = lower_flat_values(cx, max_results, result, ft.result_types, vi)
            subtask.resolve(SubtaskState.RETURNED, flat)

    subtask.on_cancel = f.callee(on_start, on_resolve, inst)
    if not opts.is_async:
        if not subtask.resolved():
            thread.wait_until(subtask.resolved)
        subtask.deliver_resolve()
        return subtask.flat_results
    if subtask.resolved():
        subtask.deliver_resolve()
        return [int(SubtaskState.RETURNED)]
    index = inst.handles.add(subtask)

    def on_progress():
        def event():
            if subtask.resolved():
                subtask.deliver_resolve()
            return (EventCode.SUBTASK, index, int(subtask.state))

        subtask.set_pending_event(event)

    progress[0] = on_progress
    return [int(subtask.state) | (index << 4)]


_NO_FUNC = None


def run_sync_task(inst: InstanceState, fn) -> None:
    """Run ``fn()`` as a synchronous task of ``inst`` (component instantiation: core start
    functions may call built-ins and imports, and may not block without another thread to
    run)."""
    from .canonical import Options
    from .types import FuncType

    task = Task(FuncType((), None), Options(), inst, list, _ignore)

    def thread_func():
        task.enter_implicit_thread()
        task.start()
        fn()
        task.return_([])
        task.exit_implicit_thread()

    Thread(task, thread_func).resume()
    while task.state is not TaskState.RESOLVED:
        candidates = [t for t in inst.threads if t.ready() and t is not inst.exclusive_thread]
        if not candidates:
            raise trap(TrapCode.DEADLOCK, "cannot block a synchronous task before returning")
        candidates[0].resume()


def _ignore(result) -> None:
    return None


def run_host_call(store_sched, func, args: list, on_result) -> None:
    """Call component function ``func`` from the host and run the event loop until it resolves
    (``on_result`` receives the result list)."""
    done = []

    def on_start():
        return args

    def on_resolve(result):
        done.append(result)
        on_result(result)

    store_sched.invoke(func, on_start, on_resolve)
    while not done:
        if not store_sched.tick():
            raise trap(TrapCode.DEADLOCK)


__all__ = ["LiftedFunc", "LoweredFunc", "canon_lift", "canon_lower", "BLOCKED", "Cancelled",
           "Trap", "run_host_call"]  # fmt: skip
