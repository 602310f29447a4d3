"""Streams and futures (``CanonicalABI.md``: *Buffer State*, *Stream State*, *Future State*).

A stream or future is one shared object with a readable and a writable end; each end is a
waitable in some instance's handle table. A copy (read or write) offers a buffer of guest
memory; when the other end offers one too, values move directly from one buffer to the other,
as many as both have room for (a *partial* copy), and the ends are notified through their
pending events.
"""

from __future__ import annotations

import enum

from ..errors import TrapCode
from . import abi
from .abi import align_to, alignment, elem_size
from .handles import trap, wrong_type
from .tasks import Waitable
from .types import NUMBER_PRIMS, FutureType, StreamType, same_type


class CopyResult(enum.IntEnum):
    """How a copy ended."""
    COMPLETED = 0
    DROPPED = 1
    CANCELLED = 2


class CopyState(enum.Enum):
    """The state of a stream or future end."""
    IDLE = 1
    COPYING = 2
    CANCELLING_COPY = 3
    DONE = 4


def _state_trap(msg: str):
    return trap(TrapCode.INVALID_ASYNC_STATE, msg)


MAX_BUFFER_LENGTH = (1 << 28) - 1


class GuestBuffer:
    """``length`` elements of type ``t`` at ``ptr`` in a guest's memory; ``progress`` counts the
    elements copied so far."""

    __slots__ = ("t", "cx", "ptr", "progress", "length")

    def __init__(self, t, cx, ptr: int, length: int):
        if length > MAX_BUFFER_LENGTH:
            raise trap(TrapCode.BAD_POINTER, "buffer too long")
        if t is not None and length > 0:
            p = cx.opts.ptr
            if ptr != align_to(ptr, alignment(t, p)):
                raise trap(TrapCode.BAD_POINTER, "unaligned pointer")
            if ptr + length * elem_size(t, p) > len(cx.opts.memory.view):
                raise trap(TrapCode.BAD_POINTER, "buffer out of bounds of memory")
        self.t = t
        self.cx = cx
        self.ptr = ptr
        self.progress = 0
        self.length = length

    def remain(self) -> int:
        """Elements left to copy."""
        return self.length - self.progress

    def is_zero_length(self) -> bool:
        """Whether the buffer has no room at all."""
        return self.length == 0


class ReadableGuestBuffer(GuestBuffer):
    """A buffer values are read from (the writer's)."""

    __slots__ = ()

    def read(self, n: int) -> list:
        """Take the next ``n`` values."""
        from .canonical import load_list_valid

        if self.t is not None:
            vs = load_list_valid(self.cx, self.ptr, n, self.t)
            self.ptr += n * elem_size(self.t, self.cx.opts.ptr)
        else:
            vs = [()] * n
        self.progress += n
        return vs


class WritableGuestBuffer(GuestBuffer):
    """A buffer values are written into (the reader's)."""

    __slots__ = ()

    def write(self, vs: list) -> None:
        """Store values at the next free elements."""
        from .canonical import store_list_valid

        if self.t is not None:
            store_list_valid(self.cx, vs, self.ptr, self.t)
            self.ptr += len(vs) * elem_size(self.t, self.cx.opts.ptr)
        self.progress += len(vs)


def _none_or_number(t) -> bool:
    return t is None or t in NUMBER_PRIMS


class SharedStream:
    """The state shared by both ends of a stream: at most one pending copy."""

    def __init__(self, t):
        self.t = t
        self.dropped = False
        self._reset()

    def _reset(self) -> None:
        self.pending_inst = None
        self.pending_buffer = None
        self.pending_on_copy = None
        self.pending_on_copy_done = None

    def _set(self, inst, buffer, on_copy, on_copy_done) -> None:
        self.pending_inst = inst
        self.pending_buffer = buffer
        self.pending_on_copy = on_copy
        self.pending_on_copy_done = on_copy_done

    def _reset_and_notify(self, result: CopyResult) -> None:
        done = self.pending_on_copy_done
        self._reset()
        done(result)

    def cancel(self) -> None:
        """End the pending copy as cancelled."""
        self._reset_and_notify(CopyResult.CANCELLED)

    def drop(self) -> None:
        """One end is dropped: a pending copy ends as dropped."""
        if not self.dropped:
            self.dropped = True
            if self.pending_buffer is not None:
                self._reset_and_notify(CopyResult.DROPPED)

    def _same_instance_check(self, inst) -> None:
        if inst is self.pending_inst and not _none_or_number(self.t):
            raise _state_trap("cannot read from and write to intra-component stream with "
                              "non-numeric types")  # fmt: skip

    def read(self, inst, dst, on_copy, on_copy_done) -> None:
        """A reader offers ``dst``: copy from a pending write, or wait for one."""
        if self.dropped:
            on_copy_done(CopyResult.DROPPED)
        elif self.pending_buffer is None:
            self._set(inst, dst, on_copy, on_copy_done)
        else:
            self._same_instance_check(inst)
            src = self.pending_buffer
            if src.remain() > 0:
                if dst.remain() > 0:
                    n = min(dst.remain(), src.remain())
                    dst.write(src.read(n))
                    self.pending_on_copy(self._reset)
                on_copy_done(CopyResult.COMPLETED)
            else:
                self._reset_and_notify(CopyResult.COMPLETED)
                self._set(inst, dst, on_copy, on_copy_done)

    def write(self, inst, src, on_copy, on_copy_done) -> None:
        """A writer offers ``src``: copy into a pending read, or wait for one."""
        if self.dropped:
            on_copy_done(CopyResult.DROPPED)
        elif self.pending_buffer is None:
            self._set(inst, src, on_copy, on_copy_done)
        else:
            self._same_instance_check(inst)
            dst = self.pending_buffer
            if dst.remain() > 0:
                if src.remain() > 0:
                    n = min(src.remain(), dst.remain())
                    dst.write(src.read(n))
                    self.pending_on_copy(self._reset)
                on_copy_done(CopyResult.COMPLETED)
            elif src.is_zero_length() and dst.is_zero_length():
                on_copy_done(CopyResult.COMPLETED)
            else:
                self._reset_and_notify(CopyResult.COMPLETED)
                self._set(inst, src, on_copy, on_copy_done)


class SharedFuture:
    """The state shared by both ends of a future."""

    def __init__(self, t):
        self.t = t
        self.dropped = False
        self._reset()

    def _reset(self) -> None:
        self.pending_inst = None
        self.pending_buffer = None
        self.pending_on_copy_done = None

    def _set(self, inst, buffer, on_copy_done) -> None:
        self.pending_inst = inst
        self.pending_buffer = buffer
        self.pending_on_copy_done = on_copy_done

    def _reset_and_notify(self, result: CopyResult) -> None:
        done = self.pending_on_copy_done
        self._reset()
        done(result)

    def cancel(self) -> None:
        """End the pending copy as cancelled."""
        self._reset_and_notify(CopyResult.CANCELLED)

    def drop(self) -> None:
        """One end is dropped."""
        if not self.dropped:
            self.dropped = True
            if self.pending_buffer is not None:
                self._reset_and_notify(CopyResult.DROPPED)

    def _same_instance_check(self, inst) -> None:
        if inst is self.pending_inst and not _none_or_number(self.t):
            raise _state_trap("cannot read from and write to intra-component future")

    def read(self, inst, dst, on_copy_done) -> None:
        """A reader offers a one-value buffer."""
        if self.pending_buffer is None:
            self._set(inst, dst, on_copy_done)
        else:
            self._same_instance_check(inst)
            dst.write(self.pending_buffer.read(1))
            self._reset_and_notify(CopyResult.COMPLETED)
            on_copy_done(CopyResult.COMPLETED)

    def write(self, inst, src, on_copy_done) -> None:
        """A writer offers its value."""
        if self.dropped:
            on_copy_done(CopyResult.DROPPED)
        elif self.pending_buffer is None:
            self._set(inst, src, on_copy_done)
        else:
            self._same_instance_check(inst)
            self.pending_buffer.write(src.read(1))
            self._reset_and_notify(CopyResult.COMPLETED)
            on_copy_done(CopyResult.COMPLETED)


class CopyEnd(Waitable):
    """One end of a stream or future in a handle table."""

    __slots__ = ("state", "shared", "buffer")

    def __init__(self, shared):
        super().__init__()
        self.state = CopyState.IDLE
        self.shared = shared
        #: the buffer of the current (or last) copy
        self.buffer = None

    def copying(self) -> bool:
        """Whether a copy is in progress."""
        return self.state in (CopyState.COPYING, CopyState.CANCELLING_COPY)

    def drop(self) -> None:
        """Drop the end (not while copying)."""
        if self.copying():
            raise _state_trap("cannot drop busy stream or future")
        self.shared.drop()
        Waitable.drop(self)


class ReadableStreamEnd(CopyEnd):
    """The readable end of a stream."""
    __slots__ = ()
    kind = "readable stream end"

    def copy(self, inst, buffer, on_copy, on_copy_done) -> None:
        """Start a read."""
        self.shared.read(inst, buffer, on_copy, on_copy_done)


class WritableStreamEnd(CopyEnd):
    """The writable end of a stream."""
    __slots__ = ()
    kind = "writable stream end"

    def copy(self, inst, buffer, on_copy, on_copy_done) -> None:
        """Start a write."""
        self.shared.write(inst, buffer, on_copy, on_copy_done)


class ReadableFutureEnd(CopyEnd):
    """The readable end of a future."""
    __slots__ = ()
    kind = "readable future end"

    def copy(self, inst, buffer, on_copy_done) -> None:
        """Start a read."""
        self.shared.read(inst, buffer, on_copy_done)


class WritableFutureEnd(CopyEnd):
    """The writable end of a future."""
    __slots__ = ()
    kind = "writable future end"

    def copy(self, inst, buffer, on_copy_done) -> None:
        """Start a write."""
        self.shared.write(inst, buffer, on_copy_done)

    def drop(self) -> None:
        """Drop the end (only once its value was written or the reader left)."""
        if self.state is not CopyState.DONE:
            raise _state_trap("cannot drop future write end without first writing a value")
        CopyEnd.drop(self)


def lift_async_value(cx, i: int, t):
    """Take the readable end at handle ``i`` out of the table; its shared stream/future is the
    lifted value."""
    end_type = ReadableStreamEnd if isinstance(t, StreamType) else ReadableFutureEnd
    e = cx.inst.handles.get(i)
    if not isinstance(e, end_type):
        raise wrong_type(i, end_type.kind)
    if not same_type(e.shared.t, t.elem):
        raise wrong_type(i, f"{end_type.kind} of a different type")
    if e.state is not CopyState.IDLE:
        what = "stream" if isinstance(t, StreamType) else "future"
        if e.state is CopyState.DONE:
            raise _state_trap(f"cannot lift {what} after previous read succeeded")
        raise _state_trap(f"cannot lift {what} with a pending read")
    if e.in_waitable_set():
        raise _state_trap("cannot lift stream or future while it's in a waitable set")
    cx.inst.handles.remove(i)
    return e.shared


def lower_async_value(cx, v, t) -> int:
    """Put a new readable end of shared stream/future ``v`` into the table."""
    if isinstance(t, StreamType):
        if not isinstance(v, SharedStream):
            raise TypeError(f"expected a stream for {t}, got {v!r}")
        return cx.inst.handles.add(ReadableStreamEnd(v))
    if not isinstance(v, SharedFuture):
        raise TypeError(f"expected a future for {t}, got {v!r}")
    return cx.inst.handles.add(ReadableFutureEnd(v))


__all__ = ["FutureType", "abi"]
