"""The exception hierarchy of wasm2py.

Every error wasm2py raises on purpose derives from :class:`Error`. Malformed binaries raise
:class:`DecodeError`, malformed WebAssembly text :class:`ParseError`, ill-typed modules
:class:`ValidationError`, modules that use a feature the engine does not implement
:class:`UnsupportedFeature`, a valid module the LLVM tier fails to compile :class:`CompileError`,
import resolution :class:`LinkError`, and
runtime faults :class:`Trap` (with a :class:`TrapCode`).

Misuse of the embedding API raises an :class:`Error` that also derives from the built-in
exception Python code would expect (so ``except IndexError`` keeps working):
:class:`OutOfBoundsError` (``IndexError``), :class:`GrowError` and :class:`ConfigError`
(``ValueError``), :class:`ImmutableGlobalError` (``AttributeError``), :class:`ArgumentError`
and :class:`SignatureError` (``TypeError``), :class:`ValueRangeError` (``OverflowError`` and ``ValueError``).
Exceeding a store's limits (:meth:`Store.set_limits`) raises :class:`ResourceLimitError`.
"""

from __future__ import annotations

import enum


class Error(Exception):
    """Base class of every error raised by wasm2py."""


class DecodeError(Error):
    """The binary is malformed.

    Attributes:
        offset: byte offset in the module where decoding failed (or ``None``).
        reason: the message without the offset.
    """

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        where = f" at byte offset {offset:#x}" if offset is not None else ""
        super().__init__(f"{reason}{where}")


class ParseError(Error):
    """The WebAssembly text (``.wat`` / ``.wast``) is malformed.

    Attributes:
        reason: what was expected / what was wrong, without the position.
        line: 1-based line of the offending token (or ``None``).
        column: 1-based column of the offending token (or ``None``).
        source: the file name or a description of the text (or ``None``).
    """

    def __init__(self, reason: str, line: int | None = None, column: int | None = None,
                 source: str | None = None):
        self.reason = reason
        self.line = line
        self.column = column
        self.source = source
        where = ""
        if line is not None:
            where = f"{source}:{line}:{column}: " if source else f"{line}:{column}: "
        elif source:
            where = f"{source}: "
        super().__init__(f"{where}{reason}")


class ValidationError(Error):
    """The module is well-formed but not valid (a type error or a bad index).

    Attributes:
        reason: what was expected / what was wrong.
        func_index: index (in the function index space) of the offending function, if any.
        offset: byte offset of the offending instruction, if any.
    """

    def __init__(self, reason: str, func_index: int | None = None, offset: int | None = None):
        self.reason = reason
        self.func_index = func_index
        self.offset = offset
        parts = []
        if func_index is not None:
            parts.append(f"in function {func_index}")
        if offset is not None:
            parts.append(f"at byte offset {offset:#x}")
        where = f" ({', '.join(parts)})" if parts else ""
        super().__init__(f"{reason}{where}")


class UnsupportedFeature(ValidationError):
    """The module uses a WebAssembly feature this engine does not implement (e.g. SIMD)."""


class CompileError(Error):
    """The LLVM tier failed to compile a valid module: LLVM itself crashed (an internal
    assertion) or failed in its worker process. The module still runs in the Python tier.

    Attributes:
        module_name: the module's name (``Module(name=...)``, the file name or the name
            section's), or None.
        func_index: the function (in the function index space) whose compile fails alone,
            when it could be found, else None.
        func_name: that function's name-section name, if any.
        reason: what happened (the worker's exit signal and LLVM's last message).
    """

    def __init__(self, reason: str, module_name: str | None = None,
                 func_index: int | None = None, func_name: str | None = None):  # fmt: skip
        self.reason = reason
        self.module_name = module_name
        self.func_index = func_index
        self.func_name = func_name
        what = f"module {_printable(module_name)!r}" if module_name else "the module"
        if func_index is not None:
            label = f" {_printable(func_name)!r}" if func_name else ""
            what = f"function {func_index}{label} of {what}"
        super().__init__(f"LLVM tier cannot compile {what}: {reason}")


class LinkError(Error):
    """An import could not be resolved, or resolved to something of the wrong type."""


class InstantiationError(Error):
    """Instantiation failed for a reason other than a trap or a link error."""


class ResourceLimitError(InstantiationError):
    """Creating an instance, memory or table (or growing one from the host) would exceed a
    limit set with :meth:`Store.set_limits`."""


class OutOfBoundsError(Error, IndexError):
    """The embedder accessed a memory or table outside its current size."""


class GrowError(Error, ValueError):
    """A memory or table cannot grow by the requested amount (its maximum, or a store limit)."""


class ImmutableGlobalError(Error, AttributeError):
    """The embedder tried to set an immutable global."""


class ArgumentError(Error, TypeError):
    """An API call got an argument of the wrong kind (e.g. a ``str`` for an ``i32``)."""


class SignatureError(Error, TypeError):
    """Values do not fit a function type: a call with the wrong number of arguments, or a host
    function returning the wrong number of results."""


class ValueRangeError(Error, OverflowError, ValueError):
    """A Python value does not fit the wasm value type it is converted to (an int out of range,
    a ``bytes`` v128 of the wrong length)."""


class ConfigError(Error, ValueError):
    """An invalid configuration value (:class:`~wasm2py.Config`, fuel, limits, deadlines)."""


class DylinkError(DecodeError):
    """A ``dylink.0`` (or legacy ``dylink``) section is malformed, or a module meant for dynamic
    linking breaks its conventions (see :mod:`wasm2py.dylink`). ``offset`` is relative to the
    start of the section's payload when the error is inside it."""


class UndefinedSymbol(LinkError):
    """A symbol a dynamically linked module needs is defined by no loaded module and no host
    import (see :mod:`wasm2py.dylink`).

    Attributes:
        symbol: the symbol's name; library: the module that needs it; kind: ``"function"``,
        ``"data"`` (a ``GOT.mem`` import) or ``"function address"`` (a ``GOT.func`` import).
    """

    def __init__(self, symbol: str, library: str, kind: str):
        self.symbol = symbol
        self.library = library
        self.kind = kind
        super().__init__(f"undefined symbol: {kind} {_printable(symbol)!r} needed by "
                         f"{_printable(library)!r}")  # fmt: skip


class BuildError(Error):
    """The module builder (:mod:`wasm2py.build`) was asked for something the binary format
    cannot express (a value out of range, imports after definitions, unclosed blocks)."""


def _printable(name: str) -> str:
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in name[:200])
    return text + ("..." if len(name) > 200 else "")


class TrapCode(enum.Enum):
    """The kinds of trap, mirroring the WebAssembly specification's trap conditions."""

    UNREACHABLE = "unreachable"
    MEMORY_OUT_OF_BOUNDS = "out of bounds memory access"
    TABLE_OUT_OF_BOUNDS = "out of bounds table access"
    INDIRECT_CALL_TYPE_MISMATCH = "indirect call type mismatch"
    UNINITIALIZED_ELEMENT = "uninitialized element"
    INTEGER_DIVIDE_BY_ZERO = "integer divide by zero"
    INTEGER_OVERFLOW = "integer overflow"
    INVALID_CONVERSION_TO_INTEGER = "invalid conversion to integer"
    CALL_STACK_EXHAUSTED = "call stack exhausted"
    OUT_OF_FUEL = "all fuel consumed"
    #: the store's epoch deadline passed (see :meth:`Engine.increment_epoch`)
    INTERRUPT = "interrupt"
    ELEMENT_SEGMENT_DROPPED = "element segment dropped"
    DATA_SEGMENT_DROPPED = "data segment dropped"
    # component model (the canonical ABI's traps; the message says which check failed)
    CANNOT_ENTER = "cannot enter component instance"
    CANNOT_LEAVE = "cannot leave component instance"
    INVALID_HANDLE = "invalid handle"
    INVALID_VALUE = "invalid value lifted from linear memory"
    BAD_POINTER = "pointer out of bounds or unaligned"
    INVALID_ASYNC_STATE = "invalid task, subtask, stream, future or waitable state"
    DEADLOCK = "deadlock detected: event loop cannot make further progress"


class Frame(tuple):
    """One frame of a wasm backtrace: the tuple ``(func_index, name, offset)`` (``name`` from the
    name section, else an export name, else None; ``offset`` the byte offset in the module),
    with where the function comes from.

    Attributes:
        module_name: the module's name from its name section (or None).
        section_name: the function's name from the name section only (or None).
    """

    module_name: str | None
    section_name: str | None

    def __new__(cls, index: int, name: str | None, offset: int | None,
                module_name: str | None = None, section_name: str | None = None) -> Frame:  # fmt: skip
        self = super().__new__(cls, (index, name, offset))
        self.module_name = module_name
        self.section_name = section_name
        return self

    @property
    def func_index(self) -> int:
        """The function's index in its module's function index space."""
        return self[0]

    @property
    def func_name(self) -> str | None:
        """The function's name (name section, else export name), or None."""
        return self[1]

    @property
    def offset(self) -> int | None:
        """Byte offset of the instruction in the module, or None."""
        return self[2]


class Trap(Error):
    """A WebAssembly trap.

    ``Trap(TrapCode.X)`` or ``Trap(TrapCode.X, "message")`` for a trap kind; ``Trap("message")``
    for a trap of no particular kind (``code`` None), e.g. raised by a host function to stop
    the wasm code calling it.

    Attributes:
        code: the :class:`TrapCode`, or None for a trap made from a message only.
        frames: the wasm backtrace, innermost frame first: :class:`Frame` tuples
            ``(func_index, func_name_or_None, byte_offset_or_None)``.
    """

    def __init__(self, code: TrapCode | str | None = None, message: str | None = None):
        if isinstance(code, str):
            code, message = None, code
        self.code: TrapCode | None = code
        self.frames: list[tuple[int, str | None, int | None]] = []
        super().__init__(message or (code.value if code is not None else "trap"))

    @property
    def message(self) -> str:
        """The trap message (the spec's wording for the trap kind, unless overridden)."""
        return self.args[0]

    def backtrace(self) -> str:
        """Render the wasm backtrace, one frame per line, innermost first."""
        lines = []
        for i, (index, name, offset) in enumerate(self.frames):
            # names come from the binary: escape what could fake or hide lines
            label = _printable(name) if name is not None else f"<func {index}>"
            at = f" @ {offset:#x}" if offset is not None else ""
            lines.append(f"  {i}: {label} (func {index}){at}")
        return "\n".join(lines)

    def __str__(self) -> str:
        text = self.args[0]
        if self.frames:
            text += "\nwasm backtrace:\n" + self.backtrace()
        return text
