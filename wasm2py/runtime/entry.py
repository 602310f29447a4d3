"""Fast entries from Python: a ``__call__`` written for one function signature.

The generic :meth:`Func.__call__ <wasm2py.runtime.func.Func.__call__>` takes ``*args`` and runs
a converter per argument and per result: about six Python calls around the one that matters.
For each signature (:class:`~wasm2py.types.FuncType`) of the wasm functions an embedder calls,
this module generates a subclass of ``Func`` whose ``__call__`` takes the parameters by
position, checks i32/i64 ints inline (the common case: an ``int`` already in the unsigned
range) and falls back to the generic converters (``TO_INTERNAL``) for anything else, so that
the signed range, other types and their errors stay exactly those of the generic path. Results
are converted inline too. The classes are cached per signature.
"""

from __future__ import annotations

from sys import _getframe
from typing import TypeVar

from ..errors import SignatureError
from ..types import FuncType, ValType
from .callstack import DEEP, entry, leave
from .trap import to_embedder
from .values import TO_EXTERNAL, TO_INTERNAL

#: the unsigned range an i32/i64 argument is passed on unchanged in
_UNSIGNED_MAX: dict[object, int] = {ValType.I32: 0xFFFFFFFF, ValType.I64: 0xFFFFFFFFFFFFFFFF}
#: inline conversion of an i32/i64 result to the signed value the embedder gets (``+r``: an
#: int, not the bool a comparison leaves)
_SIGNED_RESULT: dict[object, str] = {ValType.I32: "(+r if r < 0x80000000 else r - 0x100000000)",
                  ValType.I64: "(+r if r < 0x8000000000000000 else r - 0x10000000000000000)"}  # fmt: skip
#: parameters beyond this many take the generic path
MAX_PARAMS = 8

_MISSING = object()
_CLASSES: dict[tuple[type, FuncType], type] = {}


def _source(ftype: FuncType) -> str:
    params = list(ftype.params)
    names = [f"a{i}" for i in range(len(params))]
    ints = [(n, _UNSIGNED_MAX[t]) for n, t in zip(names, params, strict=True) if t in _UNSIGNED_MAX]
    lines = [f"def __call__(self, {''.join(n + '=_MISSING, ' for n in names)}*more):"]
    # One test for the common case (ints in the unsigned range, none missing, none extra): the
    # class tests first (comparing a str would raise), then plain compares, which CPython
    # specialises (a chained ``0 <= a <= top`` costs more). A missing i32/i64 argument fails its
    # class test, so only another last parameter needs its own test for ``_MISSING``.
    slow = ["more"]
    if names and params[-1] not in _UNSIGNED_MAX:
        slow.append(f"{names[-1]} is _MISSING")
    slow += [f"{n}.__class__ is not int" for n, _ in ints]
    slow += [f"{n} < 0 or {n} > {top}" for n, top in ints]
    generic = (f"return generic(self, *[a for a in ({', '.join(names)}{',' if names else ''}) "
               f"if a is not _MISSING], *more)")
    if ints:
        lines.append(f"    if {' or '.join(slow)}:")
        lines.append(f"        if more or {names[-1]} is _MISSING:")
        lines.append(f"            {generic}")
    else:
        lines.append(f"    if {' or '.join(slow)}:")
        lines.append(f"        {generic}")
    # the generic converters: the signed range, other types and their errors as in Func.__call__
    for i, (n, t) in enumerate(zip(names, params, strict=True)):
        if t in _UNSIGNED_MAX:
            lines.append(f"        {n} = conv{i}({n})")
    for i, (n, t) in enumerate(zip(names, params, strict=True)):
        if t not in _UNSIGNED_MAX and t is not ValType.EXTERNREF:
            lines.append(f"    {n} = conv{i}({n})")
    lines.append("    try:")
    lines.append(f"        r = self.raw({''.join(n + ', ' for n in names)}self.store.depth)")
    lines.append("    except BaseException as e:")
    lines.append("        if DEEP:")
    lines.append("            leave(_getframe())")
    lines.append("        err = to_embedder(e)")
    lines.append("        if err is e:")
    lines.append("            raise")
    lines.append("    else:")
    lines.append("        if DEEP:")
    lines.append("            leave(_getframe())")
    results = list(ftype.results)
    if not results:
        lines.append("        return None")
    elif len(results) == 1:
        inline = _SIGNED_RESULT.get(results[0])
        lines.append(f"        return {inline if inline else 'r'}")
    else:
        lines.append("        return tuple(c(v) for c, v in zip(rconv, r))")
    lines.append("    raise err  # outside the except block: no chained internal exception")
    return "\n".join(lines) + "\n"


#: the class specialised (``Func``)
_F = TypeVar("_F")


def fast_class(base: type[_F], ftype: FuncType) -> type[_F]:
    """The subclass of ``base`` (``Func``) whose ``__call__`` is specialised for ``ftype``
    (``base`` itself when the signature has too many parameters)."""
    key = (base, ftype)
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    if len(ftype.params) > MAX_PARAMS:
        cls = base
    else:
        ns: dict = {"_MISSING": _MISSING, "generic": base.__call__, "DEEP": DEEP, "leave": leave,
                    "_getframe": _getframe, "to_embedder": to_embedder,
                    "rconv": [TO_EXTERNAL[t] for t in ftype.results],
                    "SignatureError": SignatureError}  # fmt: skip
        for i, t in enumerate(ftype.params):
            ns[f"conv{i}"] = TO_INTERNAL[t]
        exec(compile(_source(ftype), f"<wasm2py entry {ftype}>", "exec"), ns)
        call = ns["__call__"]
        call.__doc__ = base.__call__.__doc__
        entry(call.__code__)  # an outermost wasm entry, as the generic one (see .callstack)
        cls = type(base.__name__, (base,), {"__slots__": (), "__call__": call,
                                            "__module__": base.__module__,
                                            "__qualname__": base.__qualname__})  # fmt: skip
    _CLASSES[key] = cls
    return cls
