"""``Module.serialize()`` / ``Module.deserialize()``: a compiled module as bytes, to load again
without decoding, validating or compiling.

The bytes hold the module's wasm, its decoded sections (function bodies only as where they lie
in the wasm: they are decoded again if a function must be translated or a paused call resumed)
and whatever compiled code its engine has for it (:meth:`Engine.compiled_code`: the Python
tier's translated functions, the LLVM tier's machine code), each with the key saying which
options, wasm2py sources, Python and host it is valid for. Loading uses the code whose key
matches the loading engine and compiles the rest when needed (:meth:`Engine.adopt`).

Like the on-disk cache (:mod:`wasm2py.cache`), the bytes carry an HMAC under this user's cache
key: only bytes this user's wasm2py serialized, unchanged, are accepted, since loading them runs
their code. To move a module to another machine or user, move its ``.wasm``.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import pickle

from . import cache
from .binary.module import Code
from .errors import Error

_MAGIC = b"W2PYMOD2\n"


def dumps(module) -> bytes:
    """The bytes of an embedder's :class:`~wasm2py.Module` (see the module docstring)."""
    decoded = module._module
    lean = dataclasses.replace(decoded, codes=[], raw=b"", derived={})
    bodies = tuple((c.start, c.end) for c in decoded.codes)
    payload = marshal.dumps((decoded.raw, pickle.dumps(lean, protocol=5), bodies,
                             decoded.data_count is not None, module.name or "",
                             module.engine.compiled_code(module)))  # fmt: skip
    return cache.seal(_MAGIC, payload)


def loads(engine, data, cls=None):
    """The :class:`~wasm2py.Module` that :func:`dumps` made ``data`` from, for ``engine``.

    Raises:
        Error: ``data`` is not a module this user's wasm2py serialized (or it was changed).
    """
    from .module import Module

    payload = cache.unseal(_MAGIC, bytes(data))
    if payload is None:
        raise Error("not a module serialized by this user's wasm2py (or it was damaged); "
                    "serialized modules are only valid where they were made")  # fmt: skip
    try:
        raw, meta, bodies, has_data_count, name, code = marshal.loads(payload)
        decoded = pickle.loads(meta)  # noqa: S301 - authenticated above
    except Exception as e:  # noqa: BLE001 - authentic but unreadable (another Python)
        raise Error(f"cannot read this serialized module: {e}") from None
    decoded.raw = raw
    decoded.codes = [Code.framed(raw, start, end, has_data_count) for start, end in bodies]
    engine.adopt(decoded, code)
    return (cls or Module)(engine, raw, name=name or None)


def load_file(engine, path: str | os.PathLike, cls=None):
    """:func:`loads` of a file's contents."""
    with open(path, "rb") as f:
        return loads(engine, f.read(), cls)
