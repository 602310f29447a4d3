"""The canonical built-ins: core functions the component model provides to core modules
(``resource.*``, ``task.*``, ``waitable-set.*``, ``stream.*``, ``future.*``, ``thread.*``,
``error-context.*``, ``context.*``, ``backpressure.*``), following ``CanonicalABI.md``.

:func:`make_builtin` returns, for one ``canon`` definition, a Python callable taking the core
arguments (as a core function receives them: signed ints, floats) and returning the core
results.
"""

from __future__ import annotations

from functools import partial

from ..errors import TrapCode
from .calls import BLOCKED, LiftedFunc, LoweredFunc
from .canonical import Context, CoreValues, Options, lift_flat_values, store_int
from .handles import ResourceHandle, trap, wrong_type
from .streams import (
    CopyResult,
    CopyState,
    ReadableFutureEnd,
    ReadableGuestBuffer,
    ReadableStreamEnd,
    SharedFuture,
    SharedStream,
    WritableFutureEnd,
    WritableGuestBuffer,
    WritableStreamEnd,
)
from .strings import load_string_from_range
from .tasks import (
    EventCode,
    Subtask,
    Thread,
    Waitable,
    WaitableSet,
    current_thread,
)
from .types import FuncType, same_type
from .values import ErrorContext

M32 = 0xFFFFFFFF
MAX_FLAT_PARAMS = 16


def _state(msg: str):
    return trap(TrapCode.INVALID_ASYNC_STATE, msg)


def _check_leave(inst) -> None:
    if not inst.may_leave:
        raise trap(TrapCode.CANNOT_LEAVE)


def _inst_may_leave(inst):
    """(current thread, inst) after checking ``inst`` may call out (not in post-return or
    realloc). Built-ins are bound to the instance that defined them: core code can only call
    the built-ins of its own component instance."""
    if not inst.may_leave:
        raise trap(TrapCode.CANNOT_LEAVE)
    return current_thread(), inst


# --- resources --------------------------------------------------------------------------------


def resource_new(inst, rt, rep: int) -> int:
    """``resource.new``: a new owning handle for representation ``rep``."""
    _, inst = _inst_may_leave(inst)
    return inst.handles.add(ResourceHandle(rt, rep, True))


def resource_drop(inst, rt, i: int) -> None:
    """``resource.drop``: remove a handle; dropping an owning one runs the destructor."""
    thread, inst = _inst_may_leave(inst)
    i &= M32
    h = inst.handles.get(i)
    if not isinstance(h, ResourceHandle):
        raise wrong_type(i, "resource")
    if h.rt is not rt:
        raise trap(TrapCode.INVALID_HANDLE, f"handle index {i} used with the wrong type, "
                   "expected guest-defined resource but found a different guest-defined resource")  # fmt: skip
    if h.num_lends:
        raise trap(TrapCode.INVALID_HANDLE, "cannot remove owned resource while borrowed")
    inst.handles.remove(i)
    if h.own:
        run_destructor(rt, h.rep, inst)
    else:
        h.borrow_scope.num_borrows -= 1


def run_destructor(rt, rep: int, caller_inst) -> None:
    """Call ``rt``'s destructor on ``rep``, as a synchronous call from ``caller_inst`` into the
    resource's defining instance (host resources run their Python destructor)."""
    if rt.host is not None:
        rt.host.destroy(rep)
        return
    dtor = rt.dtor
    ft = FuncType((("rep", _rep_prim(rt)),), None)
    opts = Options()
    callee = LiftedFunc(dtor if dtor is not None else _no_dtor, ft, opts, rt.instance,
                        "destructor")  # fmt: skip
    lowered = LoweredFunc(callee, ft, opts, caller_inst)
    lowered(rep)


def _rep_prim(rt):
    from ..types import ValType
    from .types import Prim

    return Prim.U64 if rt.rep is ValType.I64 else Prim.U32


def _no_dtor(rep):
    return None


def resource_rep(inst, rt, i: int) -> int:
    """``resource.rep``: the representation behind a handle."""
    i &= M32
    h = inst.handles.get(i)
    if not isinstance(h, ResourceHandle):
        raise wrong_type(i, "resource")
    if h.rt is not rt:
        raise trap(TrapCode.INVALID_HANDLE, f"handle index {i} used with the wrong type, "
                   "expected guest-defined resource but found a different guest-defined resource")  # fmt: skip
    return h.rep


# --- tasks ------------------------------------------------------------------------------------


def context_get(inst, slot: int) -> int:
    """``context.get``: a slot of the current thread's storage."""
    return current_thread().storage[slot]


def context_set(inst, slot: int, v: int) -> None:
    """``context.set``: set a slot of the current thread's storage."""
    current_thread().storage[slot] = v & 0xFFFFFFFFFFFFFFFF


def backpressure_inc(inst) -> None:
    """``backpressure.inc``: delay new async calls into the instance."""
    inst.backpressure += 1
    if inst.backpressure == 1 << 16:
        raise _state("backpressure counter overflow")


def backpressure_dec(inst) -> None:
    """``backpressure.dec``: undo one ``backpressure.inc``."""
    inst.backpressure -= 1
    if inst.backpressure < 0:
        raise _state("backpressure counter underflow")


def task_return(inst, result_type, opts: Options, *args) -> None:
    """``task.return``: lift the result of the current async task and deliver it."""
    _check_leave(inst)
    task = current_thread().task
    if not task.opts.is_async:
        raise _state("`task.return` called from a synchronous task")
    if not same_type(result_type, task.ft.result) or (result_type is None) != (
            task.ft.result is None):  # fmt: skip
        raise _state("invalid `task.return` signature for the current task")
    if not opts.same_lift(task.opts, result_type):
        raise _state("invalid `task.return` options for the current task")
    cx = Context(opts, task.inst, task)
    from .abi import flatten_types

    vals = CoreValues(_unsigned_args(args, flatten_types(task.ft.result_types, opts.ptr)))
    result = lift_flat_values(cx, MAX_FLAT_PARAMS, vals, task.ft.result_types)
    task.return_(result)


def _unsigned_args(args, types) -> list:
    from ..types import ValType

    if len(types) > MAX_FLAT_PARAMS:
        return [args[0] & M32]
    out = []
    for a, t in zip(args, types):
        if t is ValType.I32:
            out.append(a & M32)
        elif t is ValType.I64:
            out.append(a & 0xFFFFFFFFFFFFFFFF)
        else:
            out.append(a)
    return out


def task_cancel(inst) -> None:
    """``task.cancel``: confirm the cancellation of the current task."""
    _check_leave(inst)
    task = current_thread().task
    if not task.opts.is_async:
        raise _state("`task.cancel` called from a synchronous task")
    task.cancel()


# --- waitables --------------------------------------------------------------------------------


def waitable_set_new(inst) -> int:
    """``waitable-set.new``."""
    _, inst = _inst_may_leave(inst)
    return inst.handles.add(WaitableSet())


def _wset(inst, si: int) -> WaitableSet:
    w = inst.handles.get(si)
    if not isinstance(w, WaitableSet):
        raise wrong_type(si, "waitable set")
    return w


def _store_event(memory, ptr: int, event) -> int:
    code, p1, p2 = event
    view = memory.view
    if ptr & 3 or ptr + 8 > len(view):
        raise trap(TrapCode.BAD_POINTER, "event payload out of bounds or unaligned")
    view[ptr : ptr + 4] = (p1 & M32).to_bytes(4, "little")
    view[ptr + 4 : ptr + 8] = (p2 & M32).to_bytes(4, "little")
    return int(code)


def waitable_set_wait(inst, cancellable: bool, memory, si: int, ptr: int) -> int:
    """``waitable-set.wait``: block until a waitable of the set has an event; store its payload at ``ptr``."""
    _, inst = _inst_may_leave(inst)
    wset = _wset(inst, si & M32)
    event = wset.wait_for_event(cancellable)
    return _store_event(memory, ptr & M32, event)


def waitable_set_poll(inst, cancellable: bool, memory, si: int, ptr: int) -> int:
    """``waitable-set.poll``: the next event of the set, or NONE."""
    _, inst = _inst_may_leave(inst)
    wset = _wset(inst, si & M32)
    return _store_event(memory, ptr & M32, wset.poll(cancellable))


def waitable_set_drop(inst, si: int) -> None:
    """``waitable-set.drop``."""
    _, inst = _inst_may_leave(inst)
    si &= M32
    w = inst.handles.get(si)
    if not isinstance(w, WaitableSet):
        raise wrong_type(si, "waitable set")
    w.drop()
    inst.handles.remove(si)


def waitable_join(inst, wi: int, si: int) -> None:
    """``waitable.join``: move a waitable into a set (set 0: out of any set)."""
    _, inst = _inst_may_leave(inst)
    wi &= M32
    si &= M32
    w = inst.handles.get(wi)
    if not isinstance(w, Waitable):
        raise wrong_type(wi, "waitable")
    if w.has_sync_waiter:
        raise _state("waitable is being waited on synchronously")
    if si == 0:
        w.join(None)
    else:
        w.join(_wset(inst, si))


def subtask_cancel(inst, is_async: bool, i: int) -> int:
    """``subtask.cancel``: ask a subtask to stop; its final state (or BLOCKED)."""
    thread, inst = _inst_may_leave(inst)
    i &= M32
    s = inst.handles.get(i)
    if not isinstance(s, Subtask):
        raise wrong_type(i, "subtask")
    if s.resolve_delivered():
        raise _state("cannot cancel a subtask that has already resolved")
    if s.cancellation_requested:
        raise _state("cannot cancel a subtask twice")
    if s.in_waitable_set() and not is_async:
        raise _state("waitable cannot be used synchronously while added to a waitable set")
    if not s.resolved():
        s.cancellation_requested = True
        s.on_cancel(inst)
        if not s.resolved():
            if not is_async:
                s.wait_for_pending_event()
            else:
                return BLOCKED
    code, index, payload = s.get_pending_event()
    return int(s.state)


def subtask_drop(inst, i: int) -> None:
    """``subtask.drop``: forget a resolved subtask."""
    _, inst = _inst_may_leave(inst)
    i &= M32
    s = inst.handles.get(i)
    if not isinstance(s, Subtask):
        raise wrong_type(i, "subtask")
    s.drop()
    inst.handles.remove(i)


# --- streams and futures ----------------------------------------------------------------------


def stream_new(inst, t) -> int:
    """``stream.new``: both ends of a new stream, packed (readable low, writable high)."""
    _, inst = _inst_may_leave(inst)
    shared = SharedStream(t.elem)
    ri = inst.handles.add(ReadableStreamEnd(shared))
    wi = inst.handles.add(WritableStreamEnd(shared))
    return ri | (wi << 32)


def future_new(inst, t) -> int:
    """``future.new``: both ends of a new future, packed."""
    _, inst = _inst_may_leave(inst)
    shared = SharedFuture(t.elem)
    ri = inst.handles.add(ReadableFutureEnd(shared))
    wi = inst.handles.add(WritableFutureEnd(shared))
    return ri | (wi << 32)


def _end(inst, i: int, end_type, t):
    e = inst.handles.get(i)
    if not isinstance(e, end_type):
        raise wrong_type(i, end_type.kind)
    if not same_type(e.shared.t, t.elem):
        raise wrong_type(i, f"{end_type.kind} of type {t}")
    return e


def _check_idle(e, is_async: bool, what: str, verb: str) -> None:
    if e.state is not CopyState.IDLE:
        if e.state is CopyState.DONE:
            if isinstance(e, ReadableFutureEnd | WritableFutureEnd):
                raise _state(f"cannot {verb} {what} after previous {verb} succeeded")
            other = "writable" if verb == "read" else "readable"
            raise _state(f"cannot {verb} {'from' if verb == 'read' else 'to'} {what} after "
                         f"being notified that the {other} end dropped")  # fmt: skip
        raise _state("cannot have concurrent operations active on a future/stream")
    if e.in_waitable_set() and not is_async:
        raise _state("waitable cannot be used synchronously while added to a waitable set")


def stream_copy(inst, end_type, buffer_type, event_code, t, opts: Options, i: int, ptr: int,
                n: int) -> int:  # fmt: skip
    """``stream.read``/``stream.write``: copy up to ``n`` values; the packed result (or BLOCKED)."""
    thread, inst = _inst_may_leave(inst)
    i &= M32
    e = _end(inst, i, end_type, t)
    _check_idle(e, opts.is_async, "stream", "read" if end_type is ReadableStreamEnd else "write")
    cx = Context(opts, inst, None)
    buffer = buffer_type(t.elem, cx, ptr & M32, n & M32)

    def stream_event(result, reclaim):
        reclaim()
        e.state = CopyState.DONE if result == CopyResult.DROPPED else CopyState.IDLE
        return (event_code, i, int(result) | (buffer.progress << 4))

    def on_copy(reclaim):
        e.set_pending_event(partial(stream_event, CopyResult.COMPLETED, reclaim))

    def on_copy_done(result):
        e.set_pending_event(partial(stream_event, result, _noop))

    e.state = CopyState.COPYING
    e.buffer = buffer
    e.copy(inst, buffer, on_copy, on_copy_done)
    if not e.has_pending_event():
        if not opts.is_async:
            e.wait_for_pending_event()
        else:
            return BLOCKED
    return e.get_pending_event()[2]


def _noop():
    return None


def future_copy(inst, end_type, buffer_type, event_code, t, opts: Options, i: int,
                ptr: int) -> int:  # fmt: skip
    """``future.read``/``future.write``; the result code (or BLOCKED)."""
    thread, inst = _inst_may_leave(inst)
    i &= M32
    e = _end(inst, i, end_type, t)
    _check_idle(e, opts.is_async, "future", "read" if end_type is ReadableFutureEnd else "write")
    cx = Context(opts, inst, None)
    buffer = buffer_type(t.elem, cx, ptr & M32, 1)

    def future_event(result):
        if result in (CopyResult.DROPPED, CopyResult.COMPLETED):
            e.state = CopyState.DONE
        else:
            e.state = CopyState.IDLE
        return (event_code, i, int(result))

    def on_copy_done(result):
        e.set_pending_event(partial(future_event, result))

    e.state = CopyState.COPYING
    e.buffer = buffer
    e.copy(inst, buffer, on_copy_done)
    if not e.has_pending_event():
        if not opts.is_async:
            e.wait_for_pending_event()
        else:
            return BLOCKED
    return e.get_pending_event()[2]


def cancel_copy(inst, end_type, t, is_async: bool, i: int) -> int:
    """``{stream,future}.cancel-{read,write}``: stop a pending copy; its final result (or BLOCKED)."""
    thread, inst = _inst_may_leave(inst)
    i &= M32
    e = _end(inst, i, end_type, t)
    if e.state is not CopyState.COPYING or e.has_sync_waiter:
        raise _state("cannot cancel a copy that is not pending")
    if e.in_waitable_set() and not is_async:
        raise _state("waitable cannot be used synchronously while added to a waitable set")
    e.state = CopyState.CANCELLING_COPY
    if e.shared.pending_buffer is e.buffer:
        # Still offered to the other end (possibly after a partial copy, whose progress is
        # kept): the copy ends as cancelled. The reference definitions would report a pending
        # partial copy as completed; wasmtime and the reference tests say cancelled.
        e.shared.cancel()
    if not e.has_pending_event():
        if not is_async:
            e.wait_for_pending_event()
        else:
            return BLOCKED
    return e.get_pending_event()[2]


def drop_end(inst, end_type, t, i: int) -> None:
    """``{stream,future}.drop-{readable,writable}``."""
    _, inst = _inst_may_leave(inst)
    i &= M32
    e = _end(inst, i, end_type, t)
    e.drop()
    inst.handles.remove(i)


# --- threads ----------------------------------------------------------------------------------


def thread_index(inst) -> int:
    """``thread.index``: the current thread's index."""
    thread, _ = _inst_may_leave(inst)
    return thread.index


def thread_new_indirect(inst, ft, table, fi: int, c: int) -> int:
    """``thread.new-indirect``: a suspended thread that will call table entry ``fi`` with ``c``."""
    thread, inst = _inst_may_leave(inst)
    task = thread.task
    fi &= M32
    elems = table.elements
    if fi >= len(elems):
        raise trap(TrapCode.TABLE_OUT_OF_BOUNDS)
    f = elems[fi]
    if f is None:
        raise trap(TrapCode.UNINITIALIZED_ELEMENT)
    if f.type != ft:
        raise trap(TrapCode.INDIRECT_CALL_TYPE_MISMATCH)

    def thread_func():
        f(c)
        task.unregister_thread(new_thread)

    new_thread = Thread(task, thread_func)
    task.register_thread(new_thread)
    return new_thread.index


def _thread_at(inst, i: int) -> Thread:
    return inst.threads.get(i & M32)


def thread_resume_later(inst, i: int) -> None:
    """``thread.resume-later``: make a suspended thread ready."""
    _, inst = _inst_may_leave(inst)
    other = _thread_at(inst, i)
    if not other.suspended():
        raise _state("thread is not suspended")
    other.resume_later()


def thread_suspend(inst, cancellable: bool) -> int:
    """``thread.suspend``."""
    thread, _ = _inst_may_leave(inst)
    return int(thread.suspend(cancellable))


def thread_yield(inst, cancellable: bool) -> int:
    """``thread.yield``: let other ready threads run."""
    thread, _ = _inst_may_leave(inst)
    return int(thread.yield_(cancellable))


def thread_switch(inst, kind: str, cancellable: bool, i: int) -> int:
    """``thread.{suspend,yield}-then-{resume,promote}``."""
    thread, inst = _inst_may_leave(inst)
    other = _thread_at(inst, i)
    if kind in ("suspend-then-resume", "yield-then-resume") and not other.suspended():
        raise _state("thread is not suspended")
    method = {"suspend-then-resume": thread.suspend_then_resume,
              "yield-then-resume": thread.yield_then_resume,
              "suspend-then-promote": thread.suspend_then_promote,
              "yield-then-promote": thread.yield_then_promote}[kind]  # fmt: skip
    return int(method(cancellable, other))


# --- error contexts ---------------------------------------------------------------------------


def error_context_new(inst, opts: Options, ptr: int, units: int) -> int:
    """``error-context.new``: an error context with the given debug message."""
    _, inst = _inst_may_leave(inst)
    cx = Context(opts, inst)
    s = load_string_from_range(cx, ptr & M32, units & M32)
    return inst.handles.add(ErrorContext(str(s)))


def error_context_debug_message(inst, opts: Options, i: int, ptr: int) -> None:
    """``error-context.debug-message``: store the message as a string at ``ptr``."""
    _, inst = _inst_may_leave(inst)
    i &= M32
    e = inst.handles.get(i)
    if not isinstance(e, ErrorContext):
        raise wrong_type(i, "error-context")
    cx = Context(opts, inst)
    from .strings import store_string_into_range

    begin, units = store_string_into_range(cx, e.debug_message)
    ptr &= M32
    if ptr & 3 or ptr + 8 > len(opts.memory.view):
        raise trap(TrapCode.BAD_POINTER, "pointer out of bounds or unaligned")
    store_int(cx, begin, ptr, 4)
    store_int(cx, units, ptr + 4, 4)


def error_context_drop(inst, i: int) -> None:
    """``error-context.drop``."""
    _, inst = _inst_may_leave(inst)
    i &= M32
    e = inst.handles.get(i)
    if not isinstance(e, ErrorContext):
        raise wrong_type(i, "error-context")
    inst.handles.remove(i)


STREAM_OPS = {
    "stream.read": (ReadableStreamEnd, WritableGuestBuffer, EventCode.STREAM_READ),
    "stream.write": (WritableStreamEnd, ReadableGuestBuffer, EventCode.STREAM_WRITE),
}
FUTURE_OPS = {
    "future.read": (ReadableFutureEnd, WritableGuestBuffer, EventCode.FUTURE_READ),
    "future.write": (WritableFutureEnd, ReadableGuestBuffer, EventCode.FUTURE_WRITE),
}
END_TYPES = {
    "stream.cancel-read": ReadableStreamEnd, "stream.cancel-write": WritableStreamEnd,
    "future.cancel-read": ReadableFutureEnd, "future.cancel-write": WritableFutureEnd,
    "stream.drop-readable": ReadableStreamEnd, "stream.drop-writable": WritableStreamEnd,
    "future.drop-readable": ReadableFutureEnd, "future.drop-writable": WritableFutureEnd,
}  # fmt: skip
