"""wasmtime-py's errors over wasm2py's: ``WasmtimeError`` *is* :class:`wasm2py.Error` (so every
error wasm2py raises on purpose is one), ``Trap`` and ``ExitTrap`` subclass wasm2py's ``Trap``
and ``WasiExit``, and the calls that run wasm code convert wasm2py's to them (:func:`boundary`).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator

from .. import errors as _e
from ..wasi.preview1 import WasiExit

#: the base of wasmtime-py's errors: wasm2py's own base class
WasmtimeError = _e.Error


class ExitTrap(WasiExit):
    """A WASI program called ``proc_exit``: :attr:`code` is its exit status (a
    ``WasmtimeError``, as in wasmtime-py)."""

    def __str__(self) -> str:
        return f"Exited with i32 exit status {self.code}"


class TrapCode(enum.Enum):
    """wasmtime's trap codes (the kinds wasm2py raises; the numbering is wasmtime-py's)."""

    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11


_N = _e.TrapCode
#: wasm2py's trap kinds as wasmtime's, with wasmtime's wording of each
_CODES: dict[_e.TrapCode, tuple[TrapCode, str]] = {
    _N.CALL_STACK_EXHAUSTED: (TrapCode.STACK_OVERFLOW, "call stack exhausted"),
    _N.MEMORY_OUT_OF_BOUNDS: (TrapCode.MEMORY_OUT_OF_BOUNDS, "out of bounds memory access"),
    _N.DATA_SEGMENT_DROPPED: (TrapCode.MEMORY_OUT_OF_BOUNDS, "out of bounds memory access"),
    _N.TABLE_OUT_OF_BOUNDS: (TrapCode.TABLE_OUT_OF_BOUNDS,
                             "undefined element: out of bounds table access"),
    _N.ELEMENT_SEGMENT_DROPPED: (TrapCode.TABLE_OUT_OF_BOUNDS,
                                 "undefined element: out of bounds table access"),
    _N.UNINITIALIZED_ELEMENT: (TrapCode.INDIRECT_CALL_TO_NULL, "uninitialized element"),
    _N.INDIRECT_CALL_TYPE_MISMATCH: (TrapCode.BAD_SIGNATURE, "indirect call type mismatch"),
    _N.INTEGER_OVERFLOW: (TrapCode.INTEGER_OVERFLOW, "integer overflow"),
    _N.INTEGER_DIVIDE_BY_ZERO: (TrapCode.INTEGER_DIVISION_BY_ZERO, "integer divide by zero"),
    _N.INVALID_CONVERSION_TO_INTEGER: (TrapCode.BAD_CONVERSION_TO_INTEGER,
                                       "invalid conversion to integer"),
    _N.UNREACHABLE: (TrapCode.UNREACHABLE, "wasm `unreachable` instruction executed"),
    _N.INTERRUPT: (TrapCode.INTERRUPT, "interrupt"),
    _N.OUT_OF_FUEL: (TrapCode.OUT_OF_FUEL, "all fuel consumed by WebAssembly"),
}  # fmt: skip


class Frame:
    """One frame of a trap's wasm backtrace (wasmtime-py's ``Frame``)."""

    __slots__ = ("func_index", "func_name", "module_name", "module_offset", "func_offset")

    def __init__(self, frame: tuple):
        index, _, offset = frame[:3]
        #: the function's index in its module
        self.func_index: int = index
        #: the function's name from the name section (export names do not count), or None
        self.func_name: str | None = getattr(frame, "section_name", None)
        #: the module's name from its name section, or None
        self.module_name: str | None = getattr(frame, "module_name", None)
        #: byte offset of the instruction in the module
        self.module_offset: int = offset if offset is not None else 0
        #: not tracked by wasm2py: the module offset again
        self.func_offset: int = self.module_offset

    def __repr__(self) -> str:
        return (f"<Frame {self.module_name or '<unknown>'}!{self.func_name or self.func_index} "
                f"@ {self.module_offset:#x}>")  # fmt: skip


class Trap(_e.Trap):
    """A trap (wasmtime-py's ``Trap``): ``Trap("message")`` makes one to raise from a host
    function; traps of wasm code have a :attr:`trap_code` and :attr:`frames`. A subclass of
    :class:`wasm2py.Trap`."""

    def __init__(self, message: str):
        super().__init__(message)

    @classmethod
    def _from(cls, e: _e.Trap) -> Trap:
        """The wasmtime-py form of a trap wasm2py raised."""
        t = cls.__new__(cls)
        _e.Trap.__init__(t, e.code, e.args[0] if e.args else None)
        t.frames = list(e.frames)
        t.__traceback__ = e.__traceback__
        return t

    @property  # type: ignore[override]
    def frames(self) -> list[Frame]:  # type: ignore[override]
        """The wasm backtrace, innermost frame first."""
        return [Frame(f) for f in self._frames]

    @frames.setter
    def frames(self, value: list) -> None:
        self._frames = list(value)

    @property
    def trap_code(self) -> TrapCode | None:
        """The kind of trap (None for a trap made from a message)."""
        known = _CODES.get(self.code) if self.code is not None else None
        return known[0] if known is not None else None

    @property
    def message(self) -> str:
        """The trap's message, in wasmtime's words for traps of wasm code."""
        known = _CODES.get(self.code) if self.code is not None else None
        return f"wasm trap: {known[1]}" if known is not None else self.args[0]

    def __str__(self) -> str:
        if not self._frames:
            return self.message
        lines = ["error while executing at wasm backtrace:"]
        for i, f in enumerate(self.frames):
            name = f.func_name if f.func_name is not None else f"<wasm function {f.func_index}>"
            lines.append(f"  {i:>3}: {f.module_offset:#8x} - "
                         f"{f.module_name or '<unknown>'}!{name}")  # fmt: skip
        return "\n".join(lines) + f"\n\nCaused by:\n    {self.message}\n"


def convert(e: BaseException) -> BaseException:
    """What wasmtime-py raises for an exception wasm2py raised."""
    if isinstance(e, _e.Trap) and not isinstance(e, Trap):
        return Trap._from(e)
    if isinstance(e, WasiExit) and not isinstance(e, ExitTrap):
        x = ExitTrap(e.code)
        x.__traceback__ = e.__traceback__
        return x
    return e


@contextlib.contextmanager
def boundary() -> Iterator[None]:
    """Around calls that run wasm code: wasm2py's traps and exits become wasmtime-py's."""
    try:
        yield
    except (_e.Trap, WasiExit) as e:
        c = convert(e)
        if c is e:
            raise
        raise c from None
