"""The Python forms of component values.

=================  =====================================================================
component type     Python value
=================  =====================================================================
bool               ``bool``
s8 ... u64         ``int``
f32, f64           ``float``
char               ``str`` of length 1
string             ``str``
list<T>            ``list`` (any iterable is accepted; ``bytes`` for ``list<u8>``)
record             ``dict`` of field label -> value (a dataclass is accepted too)
tuple<...>         ``tuple``
variant            :class:`Variant` ``(case, value)``; ``value`` is None without payload
enum               ``str`` (the case label)
option<T>          ``None`` or the value; :class:`Some` wraps it when ``T`` is itself an
                   option (``Some(None)`` is "some none")
result<T, E>       :class:`Ok` or :class:`Err` (``.value`` None without payload)
flags              ``frozenset`` of the labels that are set (any iterable accepted)
map<K, V>          ``dict`` (a list of (key, value) pairs is accepted too; between components
                   duplicate keys are preserved, toward Python the last one wins)
own<R>, borrow<R>  :class:`~wasm2py.component.Resource`
stream, future     :class:`~wasm2py.component.HostStream` / ``HostFuture``
error-context      :class:`ErrorContext`
=================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Variant:
    """A variant value: the case label and its payload (None if the case has none)."""

    case: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Ok:
    """The ``ok`` case of a ``result``."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Err:
    """The ``error`` case of a ``result``."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Some:
    """``some`` of an ``option`` whose payload type is itself an option."""

    value: Any = None


class ErrorContext:
    """An ``error-context`` value: an opaque host-defined value carrying a debug message."""

    __slots__ = ("debug_message",)

    def __init__(self, debug_message: str = ""):
        self.debug_message = debug_message

    def __repr__(self) -> str:
        return f"ErrorContext({self.debug_message!r})"


class WasmString(str):
    """A string lifted from linear memory, remembering how it was encoded there (the canonical
    ABI sizes the destination's allocations from that).

    Attributes:
        encoding: the ``string-encoding`` option of the source (``utf8``, ``utf16`` or
            ``latin1+utf16``).
        simple: the encoding actually used (``utf8``, ``utf16`` or ``latin1``).
        code_units: its length in code units of ``simple``.
    """

    encoding: str
    simple: str
    code_units: int

    def __new__(cls, text: str, encoding: str, simple: str, code_units: int):
        self = super().__new__(cls, text)
        self.encoding = encoding
        self.simple = simple
        self.code_units = code_units
        return self
