"""Turning what escapes generated code into the exceptions the embedder sees.

Generated code lets Python report some traps for free: an out-of-range ``struct`` access is an
out-of-bounds memory access, ``ZeroDivisionError`` from ``//``/``%`` is an integer division by
zero. Host-function exceptions travel through wasm frames wrapped in :class:`HostError`, so they
are never mistaken for traps, and are unwrapped at the boundary. The backtrace is read off the
Python traceback: generated functions have ``co_filename`` ``wasm://<module>`` and their statements
carry the wasm byte offset as line number.
"""

from __future__ import annotations

import struct
from collections import deque

from ..errors import Frame, Trap, TrapCode


class FrameNames(dict):
    """``{function index: display name}`` of one module (name section, else export name), with
    what a backtrace frame reports besides.

    Attributes:
        module: the module's name from its name section (or None).
        section: ``{function index: name}`` from the name section only.
    """

    __slots__ = ("module", "section")

    def __init__(self, names=(), module: str | None = None, section=None):
        super().__init__(names)
        self.module = module
        self.section: dict[int, str] = dict(section or {})

    def frame(self, index: int, offset: int | None) -> Frame:
        """The backtrace frame of function ``index`` at ``offset``."""
        return Frame(index, self.get(index), offset, self.module, self.section.get(index))


NO_NAMES = FrameNames()

#: co_filename of generated code -> its module's FrameNames
MODULE_NAMES: dict[str, FrameNames] = {}

#: co_filename of ahead-of-time compiled files -> {source line: wasm offset}. (In-memory code
#: uses the wasm offset as line number directly, under a ``wasm://`` file name.)
LINE_MAPS: dict[str, dict[int, int]] = {}


def wasm_line(code, line: int) -> int | None:
    """The wasm offset of ``line`` in generated ``code``, or None if it is not generated code."""
    fname = code.co_filename
    if fname.startswith("wasm://"):
        return line
    lines = LINE_MAPS.get(fname)
    if lines is None:
        return None
    return lines.get(line, 0)

_SIMPLE: dict[type[BaseException], TrapCode] = {
    struct.error: TrapCode.MEMORY_OUT_OF_BOUNDS,
    ZeroDivisionError: TrapCode.INTEGER_DIVIDE_BY_ZERO,
    RecursionError: TrapCode.CALL_STACK_EXHAUSTED,
}


class FuelExhausted(Exception):
    """Raised by generated code when the fuel does not cover the next segment (internal: it
    becomes ``Trap(OUT_OF_FUEL)``, or an :class:`~wasm2py.OutOfFuel` pause)."""

    def __init__(self, required: int, bulk: bool = False):
        super().__init__(required)
        self.required = required
        #: raised by a bulk instruction's charge rather than a segment's
        self.bulk = bulk


_SIMPLE[FuelExhausted] = TrapCode.OUT_OF_FUEL
#: the Python exceptions generated code raises for traps (each becomes a Trap at a boundary)
TRAP_EXCEPTIONS = _SIMPLE

#: raised by generated code itself (not by a helper it calls) only out of bounds: a byte access
#: ``M[a]`` past the memory's view, or a 64-bit memory's address beyond what a Python index holds
_FROM_WASM: dict[type[BaseException], TrapCode] = {
    IndexError: TrapCode.MEMORY_OUT_OF_BOUNDS,
    OverflowError: TrapCode.MEMORY_OUT_OF_BOUNDS,
}


#: code of the runtime's memory-access helpers (f32 and v128 loads and stores), which count as
#: generated code for :data:`_FROM_WASM`
MEMORY_HELPERS: set = set()


def _raised_by_wasm(tb) -> bool:
    """Whether the innermost frame of a traceback is generated code (or a memory helper)."""
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return code in MEMORY_HELPERS or wasm_line(code, tb.tb_lineno) is not None


class HostError(Exception):
    """Carries an exception raised by a host function through wasm frames (internal)."""

    def __init__(self, exc: BaseException, func=None):
        super().__init__(exc)
        self.exc = exc
        #: the host Func that raised (for resumable calls)
        self.func = func


#: a backtrace keeps at most this many (innermost) frames
MAX_BACKTRACE = 200


def backtrace(tb, stop=None) -> list[tuple[int, str | None, int | None]]:
    """The wasm frames of a traceback (:class:`~wasm2py.Frame` tuples), innermost first (at
    most MAX_BACKTRACE of them); ``stop``: a frame where the walk ends (the entries from there
    on are accounted for)."""
    raw: deque = deque(maxlen=MAX_BACKTRACE)
    while tb is not None and tb.tb_frame is not stop:
        code = tb.tb_frame.f_code
        offset = wasm_line(code, tb.tb_lineno)
        if offset is not None:
            raw.append((code, offset))
        tb = tb.tb_next
    frames: list[tuple[int, str | None, int | None]] = []
    for code, line in reversed(raw):
        try:
            index = int(code.co_name[1:].partition("_")[0])
        except ValueError:
            index = -1
        frames.append(MODULE_NAMES.get(code.co_filename, NO_NAMES).frame(index, line))
    return frames


def settle_frames(e: Trap) -> None:
    """Complete ``e.frames`` with the Python-tier frames of its traceback it does not hold
    yet: all of them, or those the trap went through after leaving jitted code (a jitted
    entry raising it sets ``e.boundary``, its own frame: the traceback entries from there on
    are in ``frames`` already, with the jitted frames after them)."""
    boundary = getattr(e, "boundary", None)
    if not e.frames:
        e.frames = backtrace(e.__traceback__)
    elif boundary is not None:
        e.frames.extend(backtrace(e.__traceback__, boundary))
    e.boundary = None  # type: ignore[attr-defined]


def to_embedder(e: BaseException) -> BaseException:
    """Map an exception that escaped wasm code to what the embedder should see."""
    if isinstance(e, Trap):
        settle_frames(e)
        return e
    if isinstance(e, HostError):
        return e.exc
    code = _SIMPLE.get(type(e))
    if code is None:
        # a byte access indexes the memory's view (main's IndexError rule); an i64 address
        # beyond a Python index overflows: both are out of bounds only when generated code
        # (or a memory helper) raised them itself
        code = _FROM_WASM.get(type(e))
        if code is None or not _raised_by_wasm(e.__traceback__):
            return e
    t = Trap(code)
    t.frames = backtrace(e.__traceback__)
    return t


def trap(code: TrapCode, message: str | None = None) -> Trap:
    """Make a Trap (generated code raises the result)."""
    return Trap(code, message)
