"""Resumable calls: pausing wasm execution when a host function fails or fuel runs out, and
continuing it later exactly where it stopped (the semantics of wasmi's ``call_resumable``).

**Pausing** costs nothing until it happens. Generated code needs no bookkeeping: when a host
function raises (or a fuel check fails), the exception unwinds the Python stack as usual, and
the boundary reads the wasm frames off its traceback into :class:`FrameRecord` values — for each,
the function, the resume point (the wasm offset of the statement it was executing, which
generated code uses as line number, and its kind), the wasm locals, the operand-stack slots and
the call depth. These records are the explicit call stack of the paused call: plain data, no
Python frame, generator, thread or traceback is kept.

**Resuming** is a trampoline over the records (as wasmi's explicit call stack): only the
innermost frame is re-entered, through its function's *resume entry* (emitted by the translator:
:mod:`wasm2py.translate.resume`), which restores the values and continues at
the resume point; when it returns, the next record is re-entered with that result as the result
of its call, and so on outwards. An exception leaving a frame is raised at its caller's call
instead (a ``try_table`` there may catch it). So a resume costs what the innermost frame does, not
the depth of the paused stack, and a pause during a resume adds only the frames entered since.
The runtime never imports a translator: the entries come from the instance's code source
(:meth:`.slots.CodeSource.resume`).

**Jitted frames** (the LLVM tier, :mod:`wasm2py.llvm.suspend`) spill themselves into records
whose ``native`` says how to resume them there; the exception of such a pause carries them
(:func:`add_native_frames`) and :func:`_pause` puts them where its traceback enters native
code. **Across tiers** a resume point has one key in both tiers, and records convert: a
Python-tier record continues jitted once its function is (the instance's ``__llvm__``
places it, computing the operands the Python tier keeps as expressions with the resume
entry), and :func:`python_record` makes a Python-tier record from wasm values.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import Error, SignatureError
from .callstack import DEEP, entry, leave
from .fuelcell import bind
from .slots import STUB_CODE, TAIL_STUB_CODE
from .tailcall import TRAMPOLINE_CODE, finish
from .trap import FuelExhausted, HostError, to_embedder, wasm_line
from .values import TO_EXTERNAL, TO_INTERNAL

#: resume point kinds: a call, a straight-line segment's fuel check, a bulk instruction's charge,
#: a loop header (on-stack replacement into jitted code only; a resume entry keys its points
#: ``offset * 4 + code``)
KIND_CODES = {"call": 0, "fuel": 1, "bulk": 2, "loop": 3}


def resume_name(index: int) -> str:
    """The Python name of function ``index``'s resume entry (no function name can take it:
    :func:`wasm2py.translate.module.python_name` never puts ``_`` after ``f<index>_``)."""
    return f"f{index}__resume"


@dataclass(slots=True)
class FrameRecord:
    """One suspended wasm frame (plain values but ``namespace``).

    Attributes:
        func_index: the function's index in its module.
        offset: the wasm offset of the resume point.
        kind: ``"call"`` (the frame waits for a callee), ``"fuel"`` (a segment's fuel check),
            ``"bulk"`` (a bulk instruction's fuel charge) or ``"loop"`` (a loop header, where
            a Python-tier frame moves into jitted code: never paused there).
        depth: the frame's call depth (see :mod:`.callstack`).
        locals: the wasm locals, by index, in the runtime's internal representation.
        stack: the frame's operand-stack slots, by index (None: not live here). An operand
            that generated code keeps as an expression over locals has no slot of its own.
        namespace: the namespace of the instance the function runs in.
    """

    func_index: int
    offset: int
    kind: str
    depth: int
    locals: tuple
    stack: tuple
    namespace: dict = field(repr=False)
    #: a frame that jitted code spilled (``locals`` and ``stack`` are then its raw 64-bit
    #: words): what resumes it in that tier (see :mod:`wasm2py.llvm.paused`); None: a
    #: Python-tier frame
    native: Any = field(default=None, repr=False)

    @property
    def key(self) -> int:
        """The resume point as its resume entry keys it."""
        return self.offset * 4 + KIND_CODES[self.kind]


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

    @property
    def func(self):
        """The :class:`~wasm2py.Func` whose call is paused."""
        return self._func

    @property
    def store(self):
        """The :class:`~wasm2py.Store` the call runs in (its fuel is what a fuel pause waits
        for; after ``pickle.loads``, the new store)."""
        return self._func.store

    @property
    def instance(self):
        """The :class:`~wasm2py.Instance` of the paused function (after ``pickle.loads``, the
        new instance, whose memories, tables and globals the call goes on with)."""
        return self._func.instance

    def __reduce__(self):
        """Pickling: the records, the module's identity and the state the call can reach
        (see :mod:`.snapshot` for what is and is not captured)."""
        from .snapshot import capture, restore

        return (restore, (capture(self),))


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
    return _outcome(func, [], func.raw, *raw_args, func.store.depth)


def _run(func, frames: list[FrameRecord], host_raw):
    return _outcome(func, frames, _trampoline, frames, host_raw)


def _outcome(func, outer: list[FrameRecord], run, *args):
    """Run ``run(*args)`` (a call or a resumption) in resumable mode: Finished, a pause, or
    raise. ``outer``: the records not resumed yet when ``run`` raises (the trampoline pops them
    as it goes); a pause puts the frames it unwound after them. (``run`` is called directly: the
    traceback of a pause must start at wasm frames.)"""
    store = func.store
    store.resumable += 1
    native = store.native  # (the LLVM tier's runtime: its failed fuel checks pause meanwhile)
    if native is not None:
        native.set_resumable(store.resumable)
    try:
        r = run(*args)
    except BaseException as e:
        paused = _pause(func, e, outer)
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
        native = store.native
        if native is not None:
            native.set_resumable(store.resumable)
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


def _returning(value):
    def R():
        return value

    return R


def _raising(exc: BaseException):
    def R():
        raise exc

    return R


def _entry(rec: FrameRecord):
    """The resume entry of a record's function, bound to its instance."""
    ns = rec.namespace
    return bind(ns["__wasm2py__"].source.resume(rec.func_index), ns)


def _trampoline(frames: list[FrameRecord], host_raw):
    """Resume the innermost record, then each outer one with the result (or the exception) of
    the one inside it, until none is left: the results of the outermost."""
    R = _returning(host_raw)
    while frames:
        rec = frames.pop()
        if rec.native is None:
            native = rec.namespace.get("__llvm__")
            if native is not None:  # the function may run jitted now: continue it there
                rec = native.place(rec)
        if rec.native is not None:
            try:
                R = _returning(rec.native.resume(rec, R))
            except BaseException as e:
                if pausing(e):
                    raise
                R = _raising(e)
            continue
        try:
            fn = _entry(rec)
            try:
                r = fn(rec.key, rec.locals, rec.stack, R, rec.depth)
            except ValueError as e:
                tb = e.__traceback__.tb_next  # type: ignore[union-attr]
                if (tb is None or tb.tb_frame.f_code is not fn.__code__ or tb.tb_next is not None
                        or "tuple.index" not in str(e)):  # fmt: skip
                    raise
                raise Error(f"function {rec.func_index} has no resume point {rec.kind!r} at "
                            f"offset {rec.offset:#x}") from None  # fmt: skip
            # a resumed tail variant may end in a tail call: run it, at the frame's depth
            R = _returning(finish(r, rec.depth))
        except BaseException as e:
            if pausing(e):
                raise  # the frames it unwound join the records left (see _outcome)
            R = _raising(e)
    return R()


def python_point(rec: FrameRecord, values: bool = False):
    """What the resume entry of ``rec``'s function knows of its resume point: (operand type
    codes, the callee's result type codes, whether operand values give the slots back) (see
    :meth:`wasm2py.translate.codegen.FuncGen.operands_here`), or, with ``values``, the wasm
    operands of a Python-tier record; None if the entry has no such point."""
    fn = _entry(rec)
    if values:
        return fn(rec.key, rec.locals, rec.stack, _returning(None), None)
    return fn(rec.key, (), (), None, None)


def python_record(ns: dict, index: int, offset: int, kind: str, depth: int, locals_: tuple,
                  operands: tuple) -> FrameRecord:  # fmt: skip
    """A Python-tier record of function ``index`` of the instance of namespace ``ns`` from wasm
    values (of a frame paused in another tier).

    Raises:
        Error: the Python tier keeps an operand at that point as an expression over slots that
            the operand values do not give back.
    """
    rec = FrameRecord(index, offset, kind, depth, (), (), ns)
    point = python_point(rec)
    if point is None or not point[2]:
        raise Error(f"a frame of function {index} paused at offset {offset:#x} ({kind}) cannot "
                    f"continue in the Python tier")  # fmt: skip
    lnames, snames = _layout(_entry(rec).__code__)
    nl = len(lnames)
    rec.locals = tuple(locals_[:nl]) + (None,) * (nl - len(locals_))
    rec.stack = tuple(operands[:len(snames)]) + (None,) * (len(snames) - len(operands))
    return rec


def pausing(e: BaseException) -> bool:
    """Whether ``e`` pauses a resumable call (a host function's error, or fuel running out)."""
    return (isinstance(e, HostError) and e.func is not None) or isinstance(e, FuelExhausted)


_MACHINERY = {_trampoline.__code__, TRAMPOLINE_CODE, finish.__code__, STUB_CODE, TAIL_STUB_CODE}
entry(_outcome.__code__)


def pass_through(code) -> None:
    """Frames running ``code`` may sit between wasm frames of a paused call without ending it
    (the LLVM tier's entry wrappers, which defer to the Python tier during resumable calls)."""
    _MACHINERY.add(code)


#: code of the functions that continue the wasm frame calling them in jitted code (on-stack
#: replacement): that Python frame only returns what they give, so a pause skips it
_MOVERS: set = set()


def moves_frames(code) -> None:
    """Frames running ``code`` continue the generated frame that called them elsewhere (see
    :data:`_MOVERS`): a pause records the frames they run instead of their caller."""
    _MOVERS.add(code)
    _MACHINERY.add(code)


#: code of the functions that raise a pause out of jitted code (the frames it unwound there
#: travel with the exception: :func:`add_native_frames`)
_NATIVE_RAISERS: set = set()


def native_raiser(code) -> None:
    """Frames running ``code`` raise pauses out of jitted code (see :func:`add_native_frames`)."""
    _NATIVE_RAISERS.add(code)


def add_native_frames(e: BaseException, records: list[FrameRecord]) -> None:
    """Attach to pause ``e`` the records of the frames it unwound since it last left Python
    (outermost first), for :func:`_pause` to take where the traceback enters native code."""
    groups = e.__dict__.setdefault("_w2p_native", [])
    groups.append(records)


def inner_frames(e: BaseException) -> list[FrameRecord]:
    """The records of the wasm frames pause ``e`` unwound below the frame that caught it
    (outermost first): for the LLVM tier's callbacks into Python-tier functions."""
    tb = e.__traceback__
    return _walk(e, tb.tb_next if tb is not None else None)


def _walk(e: BaseException, tb) -> list[FrameRecord]:
    frames: list[FrameRecord] = []
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        line = wasm_line(code, tb.tb_lineno)
        if line is not None and tb.tb_next is not None and tb.tb_next.tb_frame.f_code in _MOVERS:
            pass  # (it moved into jitted code, whose frames follow)
        elif line is not None:
            index = int(code.co_name[1:].partition("_")[0])
            saved = frame.f_locals
            lnames, snames = _layout(code)
            get = saved.get
            frames.append(FrameRecord(index, line, "call", get("d", 0), tuple(map(get, lnames)),
                                      tuple(map(get, snames)), frame.f_globals))  # fmt: skip
        elif code in _NATIVE_RAISERS:
            groups = e.__dict__.get("_w2p_native")
            if groups:
                frames.extend(groups.pop())
            break
        elif code not in _MACHINERY:
            break  # the host function's thunk, the fuel helper, or a nested plain call
        tb = tb.tb_next
    return frames


_NUMBERED = re.compile(r"([ls])(\d+)$")
#: code object -> (names of its wasm locals, names of its operand-stack slots), by index
_LAYOUTS: dict = {}


def _layout(code) -> tuple[tuple[str, ...], tuple[str, ...]]:
    layout = _LAYOUTS.get(code)
    if layout is None:
        top = {"l": -1, "s": -1}
        for name in code.co_varnames:
            m = _NUMBERED.match(name)
            if m:
                top[m[1]] = max(top[m[1]], int(m[2]))
        layout = _LAYOUTS[code] = (tuple(f"l{i}" for i in range(top["l"] + 1)),
                                   tuple(f"s{i}" for i in range(top["s"] + 1)))  # fmt: skip
    return layout


def _pause(func, e: BaseException, outer: list[FrameRecord]):
    """If ``e`` is a host error or fuel exhaustion raised under wasm frames of this call, the
    paused call (the records ``outer``, then the frames ``e`` unwound); else None."""
    if not pausing(e):
        return None
    frames = inner_frames(e)  # (skipping our own frame)
    if not frames:
        return None
    e.__traceback__ = None  # (it holds every frame it went through)
    frames[:0] = outer
    if isinstance(e, HostError):
        exc = e.exc
        exc.__traceback__ = None  # only the records are kept (the host's frames hold more)
        return HostTrap(func, frames, e.func, exc)  # type: ignore[attr-defined]
    frames[-1].kind = "bulk" if e.bulk else "fuel"  # type: ignore[attr-defined]
    return OutOfFuel(func, frames, e.required)  # type: ignore[attr-defined]
