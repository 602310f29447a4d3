"""Pickling paused calls: ``pickle.dumps(paused)`` and, in any process, ``pickle.loads`` give
a paused call that resumes to the same results, memory and globals as the uninterrupted call.

What a pickle holds:

* the module's identity and code: the ``.wasm`` bytes and their sha256 (an ahead-of-time module:
  its Python module name and the sha256 it was compiled from, checked against the file found
  when loading), and the engine's :class:`~wasm2py.Config`;
* the frame records (:mod:`.resumable`), and what the paused call was (the function called; the
  host function that raised and what it raised, or the fuel required);
* the state the call can reach: every memory, table and global of the instance (imported or
  defined; dropped data and element segments too) and the store's fuel;
* the host functions the module imports, *by reference*, as ``pickle`` stores any callable: a
  module-level function is saved as its module and name and looked up again when loading. A
  callable that pickle cannot save so (a lambda, a closure, a bound method of an unpicklable
  object) is re-bound with pickle's own hook: a :class:`pickle.Pickler` subclass whose
  ``persistent_id`` names it, and a :class:`pickle.Unpickler` subclass whose
  ``persistent_load`` returns the callable for that name.

Frames paused in jitted code (the LLVM tier) are pickled as wasm values, like the Python tier's;
loaded into an engine of the LLVM tier they resume jitted. :func:`loads` loads with another
engine configuration: a paused call then moves to that tier (a frame of the Python tier
continues jitted; a jitted one in the Python tier, except at the rare points where the Python
tier keeps an operand as an expression over other slots: :class:`~wasm2py.Error` says so). A
jitted frame whose operands may hold references (64-bit handles there) cannot be pickled.

Loading creates a new engine, store and instance (the start function does not run again: the
state is the snapshot's). The paused call is its own world from then on: it shares nothing with
the instance it was taken from.

Not captured (``pickle.dumps`` raises :class:`~wasm2py.Error` naming it): frames of more than one
instance (a paused call through another instance's exports), functions, tags or exception
objects imported from other wasm instances, and instances whose imports are WASI (open files,
clocks and the rest of a WASI context stay with the process). Reference values the module keeps
(``externref`` objects in tables, globals or frames) are pickled as Python objects: they must be
picklable themselves, and come back as copies.
"""

from __future__ import annotations

import contextvars
import copy
import hashlib
import importlib
import io
import pickle

from ..errors import Error
from .func import Func

_KIND_FUNC, _KIND_TABLE, _KIND_MEMORY, _KIND_GLOBAL = 0, 1, 2, 3  # ExternKind values


class _FuncRef:
    """A reference to function ``index`` of the instance, inside a pickled value."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __reduce__(self):
        return (_FuncRef, (self.index,))


def _encoder(state):
    where = {id(f): i for i, f in enumerate(state.funcs)}

    def enc(v):
        if isinstance(v, Func):
            i = where.get(id(v))
            if i is None:
                raise Error(f"cannot pickle a paused call holding a reference to {v!r}, which "
                            f"is not a function of the paused instance")  # fmt: skip
            return _FuncRef(i)
        return v

    return enc


def _decoder(state):
    funcs = state.funcs

    def dec(v):
        return funcs[v.index] if isinstance(v, _FuncRef) else v

    return dec


def capture(paused) -> dict:
    """The plain data of a paused call (see the module docstring).

    Raises:
        Error: the call was resumed already, or holds what cannot be captured.
    """
    from .aot import AotModule
    from .resumable import HostTrap

    if paused._used:
        raise Error("this paused call was already resumed: nothing to pickle")
    func = paused._func
    owner = func.instance
    state = owner._state
    ns = state.ns
    if any(rec.namespace is not ns for rec in paused._frames):
        raise Error("cannot pickle a paused call whose frames belong to more than one instance")
    decoded = state.module
    store = func.store
    enc = _encoder(state)
    imports: list = []
    nfunc = 0
    for imp in decoded.imports:
        if imp.kind != _KIND_FUNC:
            if imp.kind not in (_KIND_TABLE, _KIND_MEMORY, _KIND_GLOBAL):
                raise Error(f"cannot pickle a paused call of an instance importing the tag "
                            f"{imp.module}.{imp.name}")  # fmt: skip
            imports.append(None)  # its state is captured with the instance's below
            continue
        f = state.funcs[nfunc]
        nfunc += 1
        if f.host is None:
            raise Error(f"cannot pickle a paused call of an instance importing "
                        f"{imp.module}.{imp.name} from another wasm instance")  # fmt: skip
        if imp.module.startswith("wasi_"):
            raise Error(f"cannot pickle a paused call of a WASI instance ({imp.module}."
                        f"{imp.name}): the WASI context (open files, ...) stays in the process")  # fmt: skip
        imports.append((f.host, f._caller is not None))
    module = owner.module
    raw = getattr(decoded, "raw", b"")
    if isinstance(module, AotModule):
        source = ("aot", module.name, module.sha256)
    else:
        source = ("wasm", bytes(raw), hashlib.sha256(raw).hexdigest())
    data = {
        "source": source,
        "config": store.engine.config,
        "imports": imports,
        "memories": [(m.pages, bytes(m.view)) for m in state.memories],
        "tables": [[enc(v) for v in t.elements] for t in state.tables],
        "globals": [enc(g.cell[0]) for g in state.globals],
        "datas": [len(d) == 0 for d in ns["DATAS"]],
        "elems": [len(e) == 0 for e in ns["ELEMS"]],
        "fuel": store.get_fuel() if store.config.consume_fuel else None,
        "func": state.funcs.index(func),
        "frames": [_frame(r, enc) for r in paused._frames],
    }
    if isinstance(paused, HostTrap):
        try:
            error = pickle.loads(pickle.dumps(paused.host_error))
        except Exception:  # noqa: BLE001  (any exception may refuse pickling)
            error = RuntimeError(repr(paused.host_error))
        data["host"] = (state.funcs.index(paused.host_func), error)
    else:
        data["required"] = paused.required_fuel
    return data


_LOAD_CONFIG: contextvars.ContextVar = contextvars.ContextVar("load_config", default=None)


def loads(blob: bytes, config=None, unpickler=pickle.Unpickler):
    """``pickle.loads(blob)`` of a paused call, with an engine of ``config`` (a
    :class:`~wasm2py.Config`) instead of the one it was paused with: e.g. another tier, which
    its frames move to (``unpickler``: a :class:`pickle.Unpickler` subclass, for callables
    re-bound through ``persistent_load``).

    Raises:
        Error: a frame cannot move to that tier at its pause point (see
            :func:`.resumable.python_record`).
    """
    token = _LOAD_CONFIG.set(config)
    try:
        return unpickler(io.BytesIO(blob)).load()
    finally:
        _LOAD_CONFIG.reset(token)


def _frame(r, enc) -> tuple:
    """A record as plain data: a frame that jitted code spilled, as wasm values too (and what
    its tier needs to resume it: see :meth:`wasm2py.llvm.paused.NativeFrame.portable`)."""
    if r.native is None:
        return (r.func_index, r.offset, r.kind, r.depth, tuple(map(enc, r.locals)),
                tuple(map(enc, r.stack)), None)  # fmt: skip
    locals_, stack = r.native.values(r)
    return (r.func_index, r.offset, r.kind, r.depth, tuple(map(enc, locals_)),
            tuple(map(enc, stack)), r.native.portable())  # fmt: skip


class _NoStart:
    """A module whose start function is not run (its instance gets the snapshot's state)."""

    def __init__(self, module):
        self._module = copy.copy(module._module)
        self._module.start = None
        self._code = module._code
        self._llvm = None


def _load_module(engine, source):
    kind, name, digest = source
    if kind == "wasm":
        from ..module import Module

        if hashlib.sha256(name).hexdigest() != digest:
            raise Error("the pickled module's bytes do not match their hash")
        return Module(engine, name)
    from .aot import AotModule

    mod = importlib.import_module(name)
    file_globals = vars(mod)
    if digest is not None and file_globals.get("_SHA256") != digest:
        raise Error(f"the ahead-of-time module {name} is not the one the call was paused in "
                    f"(its wasm hash differs)")  # fmt: skip
    module = file_globals.get("_AOT_MODULE")
    if module is None:
        module = file_globals["_AOT_MODULE"] = AotModule(file_globals)
    return module


def restore(data: dict):
    """A paused call from :func:`capture`'s data, in a new engine, store and instance."""
    from ..engine import Engine
    from ..instance import Instance
    from .resumable import FrameRecord, HostTrap, OutOfFuel, python_record
    from .store import Store

    store = Store(Engine(_LOAD_CONFIG.get() or data["config"]))
    module = _load_module(store.engine, data["source"])
    decoded = module._module
    imports: list = []
    nglobal = 0
    for imp, item in zip(decoded.imports, data["imports"]):
        if imp.kind == _KIND_FUNC:
            fn, caller = item
            imports.append(Func(store, decoded.types[imp.type], fn, caller))
        elif imp.kind == _KIND_MEMORY:
            from .memory import LinearMemory

            imports.append(LinearMemory(imp.type, store.limits))
        elif imp.kind == _KIND_TABLE:
            from .table import TableInstance

            imports.append(TableInstance(imp.type, None, store.limits))
        else:
            from .globals import GlobalInstance

            # (the value now: immutable ones are read into the namespace at instantiation)
            value = data["globals"][nglobal]
            nglobal += 1
            imports.append(GlobalInstance(imp.type, value, store.native))
    inst = Instance.__new__(Instance)
    nostart = _NoStart(module)
    # (the LLVM tier: jitted, so that frames paused in jitted code resume there)
    compiled = store.engine.load_llvm(nostart._module) if store.config.tier == "llvm" else None
    inst._setup(store, nostart, imports, compiled)
    inst.module = module
    state = inst._state
    assert state is not None
    dec = _decoder(state)
    for mem, (pages, content) in zip(state.memories, data["memories"]):
        if pages > mem.pages and mem.grow(pages - mem.pages) < 0:
            raise Error("the pickled memory does not fit this store's limits")
        mem.view[:] = content
    for table, elements in zip(state.tables, data["tables"]):
        table.elements[:] = [dec(v) for v in elements]
        table.changed(0, len(elements))
    for g, value in zip(state.globals, data["globals"]):
        if g.type.mutable:
            g.cell[0] = dec(value)
    ns = state.ns
    for k, dropped in enumerate(data["datas"]):
        if dropped:
            ns["DATAS"][k] = b""
    for k, dropped in enumerate(data["elems"]):
        if dropped:
            ns["ELEMS"][k] = ()
    if data["fuel"] is not None:
        store.set_fuel(data["fuel"])
    frames = []
    for index, offset, kind, depth, locals_, stack, native in data["frames"]:
        locals_ = tuple(map(dec, locals_))
        stack = tuple(map(dec, stack))
        if native is None:
            # (in an instance of the LLVM tier, the trampoline moves it to jitted code)
            frames.append(FrameRecord(index, offset, kind, depth, locals_, stack, ns))
        elif inst._llvm is None:  # paused in jitted code, loaded into the Python tier
            frames.append(python_record(ns, index, offset, kind, depth, locals_, stack))
        else:
            frames.append(inst._llvm.native_record(index, offset, kind, depth, locals_, stack,
                                                   native))  # fmt: skip
    func = state.funcs[data["func"]]
    if "host" in data:
        host, error = data["host"]
        return HostTrap(func, frames, state.funcs[host], error)
    return OutOfFuel(func, frames, data["required"])
