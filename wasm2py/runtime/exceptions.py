"""Exception handling (Wasm 3.0): tags, exception references and the Python exception that
carries a wasm exception through Python frames.

A wasm ``throw`` raises :class:`WasmException`, an ordinary Python exception holding the thrown
:class:`ExnRef` (the tag and the values, in the internal representation): it unwinds generated
code, jitted code's Python boundary and host functions alike. ``try_table`` catches it by the
identity of the tag. When it leaves wasm code, the embedder sees the same :class:`WasmException`
(``.tag``, ``.values`` in external form); a host function raises one to throw a wasm exception
into the calling wasm code (``raise WasmException(tag, [1, 2])``). Traps are never caught.
"""

from __future__ import annotations

import itertools

from ..errors import Error, Trap, TrapCode
from ..types import FuncType, TagType
from .values import TO_EXTERNAL, TO_INTERNAL


class TagInstance:
    """A tag of the store: its identity is what ``catch`` compares.

    Attributes:
        type: the closed :class:`~wasm2py.types.FuncType` of its values (no results).
        type_id: the id of its canonical type (imports match when equal).
        name: a name for messages (the defining module's export name or index).
        uid: a process-wide number of the tag (what jitted code compares).
    """

    __slots__ = ("type", "type_id", "name", "uid", "__weakref__")

    def __init__(self, type: FuncType, name: str | None = None, type_id: int | None = None):
        from ..deftypes import deftype_of

        if isinstance(type, TagType):
            type = type.type
        if type.results:
            raise ValueError(f"a tag's type has no results, not {type}")
        self.type = type
        #: a module's tag has its declared type's id (its recursion group counts)
        self.type_id = deftype_of(type).id if type_id is None else type_id
        self.name = name
        self.uid = next(_UIDS)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<tag{label} {self.type}>"


_UIDS = itertools.count(1)


class ExnRef:
    """An exception reference (an ``exnref`` value): a thrown exception's tag and values.

    Attributes:
        tag: the :class:`TagInstance`.
        raw_values: the values in the internal representation (see :mod:`.values`).
    """

    __slots__ = ("tag", "raw_values", "__weakref__")

    def __init__(self, tag: TagInstance, raw_values: tuple):
        self.tag = tag
        self.raw_values = raw_values

    @property
    def values(self) -> tuple:
        """The values as the embedding API returns them (i32/i64 signed)."""
        return tuple(TO_EXTERNAL[t](v) for t, v in zip(self.tag.type.params, self.raw_values))

    def __repr__(self) -> str:
        return f"<ExnRef {self.tag!r} {self.values!r}>"


class WasmException(Error):
    """A wasm exception travelling through Python: raised by ``throw`` and ``throw_ref``,
    caught by ``try_table``; what the embedder sees when one leaves wasm code.

    ``WasmException(tag, values)`` makes one to raise from a host function (``tag``: a
    :class:`wasm2py.Tag` or a tag runtime object; ``values``: one Python value per parameter of
    the tag's type).

    Attributes:
        exn: the :class:`ExnRef` (the same object every time the exception is rethrown).

    Raises (constructor):
        TypeError, OverflowError: the values do not fit the tag's type.
    """

    def __init__(self, tag, values=()):
        rt = getattr(tag, "_rt", tag)
        if not isinstance(rt, TagInstance):
            raise TypeError(f"WasmException(tag, values): a Tag is needed, not {tag!r}")
        params = rt.type.params
        values = tuple(values)
        if len(values) != len(params):
            raise TypeError(f"{rt!r} carries {len(params)} value(s), {len(values)} given")
        raw = tuple(TO_INTERNAL[t](v) for t, v in zip(params, values))
        self._set(ExnRef(rt, raw))

    def _set(self, exn: ExnRef) -> None:
        self.exn = exn
        Exception.__init__(self, f"uncaught wasm exception {exn.tag!r}")

    @classmethod
    def of(cls, exn: ExnRef) -> WasmException:
        """The exception that throws ``exn`` (values already internal)."""
        self = cls.__new__(cls)
        self._set(exn)
        return self

    @property
    def tag(self):
        """The exception's tag, as a :class:`wasm2py.Tag`."""
        from ..externs import Tag

        return Tag._wrap(None, self.exn.tag)

    @property
    def values(self) -> tuple:
        """The exception's values (external form: i32/i64 signed)."""
        return self.exn.values


def throw(tag: TagInstance, raw_values: tuple) -> WasmException:
    """The exception a ``throw`` raises (generated code: ``raise throw(TG1, (a, b))``)."""
    return WasmException.of(ExnRef(tag, raw_values))


def throw_ref(exn: ExnRef | None) -> BaseException:
    """What ``throw_ref`` raises: the exception again, or a trap for null."""
    if exn is None:
        return Trap(TrapCode.NULL_EXCEPTION_REFERENCE)
    return WasmException.of(exn)
