"""Resumable calls: pausing wasm execution when a host function fails or fuel runs out, and
continuing it later exactly where it stopped (the semantics of wasmi's ``call_resumable``).

Suspension costs nothing until it happens. Generated code needs no bookkeeping: when a host
function raises (or a fuel check fails), the exception unwinds the Python stack as usual, and
the boundary reads the wasm frames off its traceback — for each, the function, the resume point
(the statement it was executing, identified by its wasm offset, which generated code uses as line
number) and a copy of its Python locals (wasm locals and operand-stack slots). These records form
the explicit call stack of the paused call; no Python frame, generator or thread is kept.

Resumption rebuilds the Python stack from the records: each frame runs a *resume variant* of its
function that restores the locals and rewinds to the resume point, where it continues the next
inner frame, down to the innermost one, which receives the host results or re-checks its fuel.
The variants come from the instance's code source (:meth:`.slots.CodeSource.resume`; the Python
tier builds them with :mod:`wasm2py.translate.resume`): the runtime never imports a translator.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

from ..errors import Error, SignatureError
from .callstack import DEEP, SHALLOW_FRAMES, ensure_deep, entry, leave
from .slots import STUB_CODE
from .trap import FuelExhausted, HostError, to_embedder, wasm_line
from .values import TO_EXTERNAL, TO_INTERNAL


@dataclass(slots=True)
class FrameRecord:
    """One suspended wasm frame."""

    func_index: int
    line: int  # the wasm offset of the resume statement
    kind: str  # "call", "fuel" or "bulk"
    locals: dict
    namespace: dict  # the instance namespace the function runs in


class Finished:
    """A resumable call that ran to completion.

    Attributes:
        results: the results, as a plain call returns them (None, a value, or a tuple).
    """

    __slots__ = ("results",)

    def __init__(self, results):
        self.results = results

    def __repr__(self) -> str:
        return f"Finished({self.results!r})"


class ResumableCall:
    """A paused call (base of :class:`HostTrap` and :class:`OutOfFuel`).

    Resume it once with ``resume(...)``, which returns the next :class:`Finished`,
    :class:`HostTrap` or :class:`OutOfFuel`. Dropping the handle frees the paused frames.
    """

    __slots__ = ("_frames", "_func", "_used")

    def __init__(self, func, frames: list[FrameRecord]):
        self._func = func
        self._frames = frames
        self._used = False

    def _take(self) -> list[FrameRecord]:
        if self._used:
            raise Error("this paused call was already resumed")
        self._used = True
        frames = self._frames
        self._frames = []
        return frames

    @property
    def depth(self) -> int:
        """How many wasm frames are paused."""
        return len(self._frames)


class HostTrap(ResumableCall):
    """Paused because a host function raised.

    Attributes:
        host_func: the host :class:`~wasm2py.Func` that raised.
        host_error: the exception it raised.
    """

    __slots__ = ("host_func", "host_error")

    def __init__(self, func, frames, host_func, host_error):
        super().__init__(func, frames)
        self.host_func = host_func
        self.host_error = host_error

    def resume(self, *host_results):
        """Continue as if the host function had returned ``host_results``.

        Raises:
            SignatureError, ArgumentError, ValueRangeError: the values do not match the host
                function's result types.
            Error: the call was already resumed.
            Trap: the wasm code trapped after resuming.
        """
        rtypes = self.host_func.type.results
        if len(host_results) != len(rtypes):
            raise SignatureError(f"{self.host_func!r} returns {len(rtypes)} value(s), "
                            f"{len(host_results)} given")  # fmt: skip
        vals = [TO_INTERNAL[t](v) for t, v in zip(rtypes, host_results)]
        raw = None if not vals else vals[0] if len(vals) == 1 else tuple(vals)
        return _run(self._func, self._take(), raw)

    def __repr__(self) -> str:
        return f"<HostTrap {self.host_func!r} raised {self.host_error!r}, {self.depth} frames>"


class OutOfFuel(ResumableCall):
    """Paused because the store's fuel did not cover the next piece of code.

    Attributes:
        required_fuel: the fuel that piece needs (add at least this much, then resume).
    """

    __slots__ = ("required_fuel",)

    def __init__(self, func, frames, required_fuel: int):
        super().__init__(func, frames)
        self.required_fuel = required_fuel

    def resume(self):
        """Continue after fuel was added (:meth:`Store.set_fuel`).

        Raises:
            Error: the call was already resumed.
            Trap: the wasm code trapped after resuming.
        """
        return _run(self._func, self._take(), None)

    def __repr__(self) -> str:
        return f"<OutOfFuel required={self.required_fuel}, {self.depth} frames>"


# -- running and pausing -------------------------------------------------------------------------
def call_resumable(func, raw_args: list):
    """Call ``func`` (a wasm Func) so that it can pause; see :meth:`Func.call_resumable`."""
    return _outcome(func, func.raw, *raw_args, func.store.depth)


def _run(func, frames: list[FrameRecord], host_raw):
    return _outcome(func, _resume_frame, frames, 0, host_raw)


def _outcome(func, run, *args):
    """Run ``run(*args)`` (a call or a resumption) in resumable mode: Finished, a pause, or
    raise. (``run`` is called directly: the traceback of a pause must start at wasm frames.)"""
    store = func.store
    # Jitted entries defer to the Python tier meanwhile: only Python frames can be suspended.
    store.resumable += 1
    if run is _resume_frame and len(args[0]) > SHALLOW_FRAMES // 3:
        # rewinding takes three Python frames per paused wasm frame
        ensure_deep(store, sys._getframe())
    try:
        r = run(*args)
    except BaseException as e:
        paused = _pause(func, e)
        if paused is None:
            err = to_embedder(e)
            if err is e:
                raise
        else:
            return paused
    else:
        return Finished(_results(func, r))
    finally:
        store.resumable -= 1
        if DEEP:
            leave(sys._getframe())
    raise err


def _results(func, r):
    rconv = [TO_EXTERNAL[t] for t in func.type.results]
    if len(rconv) == 1:
        return rconv[0](r)
    if not rconv:
        return None
    return tuple(c(v) for c, v in zip(rconv, r))


def _resume_frame(frames: list[FrameRecord], i: int, host_raw):
    rec = frames[i]
    ns = rec.namespace
    code = ns["__wasm2py__"].source.resume(rec.func_index, rec.line, rec.kind)
    fn = types.FunctionType(code, ns)
    if i + 1 < len(frames):

        def next_frame():
            return _resume_frame(frames, i + 1, host_raw)

    else:

        def next_frame():
            return host_raw

    return fn(rec.locals, next_frame)


_MACHINERY = {_resume_frame.__code__, STUB_CODE}
entry(_outcome.__code__)


def pass_through(code) -> None:
    """Frames running ``code`` may sit between wasm frames of a paused call without ending it
    (the LLVM tier's entry wrappers, which defer to the Python tier during resumable calls)."""
    _MACHINERY.add(code)

_DROP = ("S", "R", "rw")


def _pause(func, e: BaseException):
    """If ``e`` is a host error or fuel exhaustion raised under wasm frames of this call, the
    paused call; else None."""
    kind = None
    if isinstance(e, HostError) and e.func is not None:
        kind = "host"
    elif isinstance(e, FuelExhausted):
        kind = "bulk" if e.bulk else "fuel"  # type: ignore[attr-defined]
    if kind is None:
        return None
    frames: list[FrameRecord] = []
    tb = e.__traceback__.tb_next if e.__traceback__ is not None else None  # skip our own frame
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        line = wasm_line(code, tb.tb_lineno)
        if line is not None:
            index = int(code.co_name[1:].partition("_")[0])
            saved = frame.f_locals  # a dict owned by the (finished) frame: no copy needed
            for k in _DROP:
                saved.pop(k, None)
            frames.append(FrameRecord(index, line, "call", saved, frame.f_globals))
        elif code in _MACHINERY or code.co_name == "next_frame":
            pass
        else:
            break  # the host function's thunk, the fuel helper, or a nested plain call
        tb = tb.tb_next
    if not frames:
        return None
    if kind == "host":
        frames[-1].kind = "call"
        return HostTrap(func, frames, e.func, e.exc)  # type: ignore[attr-defined]
    frames[-1].kind = kind
    return OutOfFuel(func, frames, e.required)  # type: ignore[attr-defined]
