"""Functions: wasm functions of an instance and host functions written in Python.

A :class:`Func` is both the embedder's handle (call it with Python values) and the runtime's
function reference (the value stored in tables and produced by ``ref.func``). Internally every
function has a *raw* callable with the generated-code calling convention::

    raw(arg0, ..., argN-1, depth) -> None | value | tuple of values

with arguments and results in the canonical internal representation (see :mod:`.values`) and
``depth`` the wasm call depth of the callee.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from functools import partial
from sys import _getframe
from typing import TYPE_CHECKING, Any

from ..deftypes import DefType, deftype_of
from ..errors import ArgumentError, SignatureError, Trap, TrapCode
from ..types import FuncType
from .callstack import DEEP, entry, leave
from .entry import first_call
from .exceptions import WasmException
from .trap import HostError, to_embedder
from .values import TO_EXTERNAL, TO_INTERNAL

if TYPE_CHECKING:
    from .store import Store

#: how many host-function calls may be nested (each costs C stack, unlike wasm-to-wasm calls)
MAX_HOST_NESTING = 200

def type_id(t: FuncType) -> int:
    """The process-wide id of a (closed) function type as a final type of its own recursion
    group: what a host function of that type has, and what equals the id of any module's
    plain ``(type (func ...))`` with the same signature (see :mod:`wasm2py.deftypes`)."""
    return deftype_of(t).id


class Caller:
    """Passed as first argument to host functions that ask for it: the calling instance.

    Attributes:
        instance: the :class:`~wasm2py.Instance` whose code made the call (None if unknown).
        store: the store the call runs in.
    """

    __slots__ = ("instance", "store")

    def __init__(self, instance, store=None):
        self.instance = instance
        self.store = store

    def get_fuel(self) -> int:
        """The fuel left (fuel metering must be on)."""
        return self.store.get_fuel()

    def consume_fuel(self, amount: int) -> None:
        """Charge ``amount`` fuel for the host function's work.

        Raises:
            Trap: OUT_OF_FUEL if not enough is left.
        """
        self.store.consume_fuel(amount)

    @property
    def memory(self):
        """The calling instance's memory 0, as a :class:`~wasm2py.Memory` (or None)."""
        return None if self.instance is None else self.instance.memory()

    def get(self, name: str) -> Any:
        """An export of the calling instance by name (None if absent). The exports exist from
        the start function on (as in wasmtime), so host functions it calls can use them."""
        if self.instance is None:
            return None
        exports = self.instance.exports
        return exports[name] if name in exports else None


def _wants_caller(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    ann = params[0].annotation
    return ann is Caller or ann == "Caller" or getattr(ann, "__name__", None) == "Caller"


def make_host_raw(fn: Callable, ftype: FuncType, store, caller: Caller | None,
                  owner=None) -> Callable:  # fmt: skip
    """Wrap a Python callable into a raw function of the given type (``owner``: its Func)."""
    to_ext = [TO_EXTERNAL[t] for t in ftype.params]
    to_int = [TO_INTERNAL[t] for t in ftype.results]
    n = len(to_ext)
    nres = len(to_int)
    conv0 = to_int[0] if nres == 1 else None
    lead = () if caller is None else (caller,)

    def raw(*a):
        args = [c(v) for c, v in zip(to_ext, a)]
        saved = store.depth
        store.depth = a[n]
        nesting = store.host_nesting = store.host_nesting + 1
        try:
            if nesting > MAX_HOST_NESTING:
                raise Trap(TrapCode.CALL_STACK_EXHAUSTED)
            r = fn(*lead, *args)
        except (Trap, WasmException):  # a wasm exception thrown by the host is wasm's to catch
            raise
        except Exception as e:
            raise HostError(e, owner) from e
        finally:
            store.depth = saved
            store.host_nesting = nesting - 1
        try:
            if nres == 1:
                return conv0(r)
            if nres == 0:
                if r is not None:
                    raise SignatureError(f"host function {fn!r} returned a value but has no results")
                return None
            vals = tuple(r)
            if len(vals) != nres:
                raise SignatureError(f"host function {fn!r} returned {len(vals)} values, "
                                     f"expected {nres}")
            return tuple(c(v) for c, v in zip(to_int, vals))
        except (TypeError, ValueError, OverflowError) as e:
            raise HostError(e) from e

    return raw


class Func(partial):
    """A function: call it like a Python function.

    ``Func(store, functype, callable, access_caller=None)`` makes a host function. If
    ``access_caller`` is true (or the callable's first parameter is annotated ``Caller``), the
    callable receives a :class:`Caller` first.

    Calling: i32/i64 arguments accept signed or unsigned ints (``OverflowError`` when out of
    range), f32/f64 accept floats or ints; results are ``None``, one value, or a tuple; i32/i64
    results are signed.

    Raises (when called):
        Trap: the wasm code trapped.
        Exception: whatever a host function raised propagates unchanged.

    (A ``Func`` is a :class:`functools.partial` underneath, so that a call costs CPython no
    Python-level ``__call__``: see :mod:`wasm2py.runtime.entry`. Its ``func``, ``args`` and
    ``keywords`` are internal; a ``Func`` cannot be pickled, and copying gives the same
    ``Func``, as for Python functions.)
    """

    # (no __weakref__: the partial has its own)
    __slots__ = ("store", "type", "type_id", "raw", "pyraw", "tailraw", "name", "index", "host",
                 "instance", "_pconv", "_rconv", "_caller")  # fmt: skip

    def __new__(cls, *args: Any, **kwargs: Any) -> Func:
        # (the partial's target is set by __init__ or _wasm)
        return partial.__new__(cls, _no_target)

    def __init__(self, store: Store, type: FuncType, fn: Callable,
                 access_caller: bool | None = None) -> None:  # fmt: skip
        if not isinstance(type, FuncType):
            raise ArgumentError("Func(store, functype, callable): functype must be a FuncType")
        if not callable(fn):
            raise ArgumentError("Func(store, functype, callable): callable expected")
        if access_caller is None:
            access_caller = _wants_caller(fn)
        self._setup(store, type)
        self.host: Callable | None = fn
        self.name = getattr(fn, "__name__", None)
        self.index: int | None = None
        self.instance = None
        self._caller = Caller(None, store) if access_caller else None
        self.raw = self.pyraw = self.tailraw = make_host_raw(fn, type, store, self._caller, self)
        _retarget(self, self._call)

    def raw_for(self, instance) -> Callable:
        """The raw callable to use for direct calls from ``instance``'s code: host functions
        that take a :class:`Caller` see that instance. (Calls through a table see the first
        instance that imported the function.)"""
        caller = self._caller
        if caller is None:
            return self.pyraw
        if caller.instance is None:
            caller.instance = instance
        host = self.host
        assert host is not None  # (only host functions have a Caller)
        return make_host_raw(host, self.type, self.store, Caller(instance, self.store), self)

    def _setup(self, store, type: FuncType, deftype: DefType | None = None) -> None:
        if deftype is None:
            if any(t.is_ref and isinstance(t.heap, int) for t in (*type.params, *type.results)):
                raise TypeError(f"{type}: a host function's type cannot name module types by "
                                f"index")  # fmt: skip
            deftype = deftype_of(type)
        self.store = store
        self.type = deftype.comp
        self.type_id = deftype.id
        self._pconv = [TO_INTERNAL[t] for t in type.params]
        self._rconv = [TO_EXTERNAL[t] for t in type.results]

    @classmethod
    def _wasm(cls, store, type: DefType | FuncType, raw: Callable, index: int | None,
              name: str | None, instance):  # fmt: skip
        """A function defined by wasm code, of defined type ``type`` (internal; a plain
        FuncType stands for its canonical defined type). Its calls run :meth:`_first_call`
        until it has its own entry (see :mod:`.entry`)."""
        if isinstance(type, FuncType):
            type = deftype_of(type)
        self = cls.__new__(cls)
        self._setup(store, type.comp, type)
        #: ``raw`` is what the embedder's calls and jitted code use, ``pyraw`` what calls from
        #: Python-tier code use (they differ once the LLVM tier runs the function but calling
        #: it from Python through ctypes would cost more than running it in Python);
        #: ``tailraw`` what tail calls from Python-tier code use (see runtime.tailcall)
        self.raw = self.pyraw = raw
        self.tailraw = getattr(raw, "tail_variant", raw)
        self.host = None
        self._caller = None
        self.index = index
        self.name = name
        self.instance = instance
        _retarget(self, self._first_call)
        return self

    def set_raw(self, raw: Callable) -> None:
        """Make ``raw`` what the embedder's calls run (a back end taking the function over):
        the function's own entry (see :mod:`.entry`), which may have inlined the code it ran
        until now, is made anew at its next call."""
        self.raw = raw
        if self.host is None:
            _retarget(self, self._first_call)

    def _first_call(self, *args: Any) -> Any:
        """A wasm function's calls until it has its own entry (see :func:`.entry.first_call`)."""
        call = first_call(self, Func._call, _retarget)
        return (self._call if call is None else call)(*args)

    def _call(self, *args: Any) -> Any:
        """The generic path of a call (host functions; wasm functions while not translated,
        and where their entry falls back: see :mod:`.entry`)."""
        pconv = self._pconv
        if len(args) != len(pconv):
            raise SignatureError(
                f"{self._label()} expects {len(pconv)} argument(s) {self.type}, got {len(args)}"
            )
        store = self.store
        try:
            r = self.raw(*[c(v) for c, v in zip(pconv, args)], store.depth)
        except BaseException as e:
            if DEEP:
                leave(_getframe())
            err = to_embedder(e)
            if err is e:
                raise
        else:
            if DEEP:
                leave(_getframe())
            rconv = self._rconv
            if len(rconv) == 1:
                return rconv[0](r)
            if not rconv:
                return None
            return tuple(c(v) for c, v in zip(rconv, r))
        # Raised outside the except block so the internal exception is not chained as context.
        raise err

    def call_resumable(self, *args: Any) -> Any:
        """Call so that the call can pause instead of failing when a host function raises or
        fuel runs out.

        Returns:
            :class:`~wasm2py.Finished` (``.results``), :class:`~wasm2py.HostTrap`
            (``.host_func``, ``.host_error``, ``.resume(*host_results)``) or
            :class:`~wasm2py.OutOfFuel` (``.required_fuel``, ``.resume()``).

        Raises:
            Trap: a genuine wasm trap (not resumable).

        Note:
            A host function called directly (as the root) is not resumable: its errors
            propagate as from a plain call.
        """
        from .resumable import Finished, call_resumable

        if self.host is not None:
            return Finished(self(*args))
        pconv = self._pconv
        if len(args) != len(pconv):
            raise SignatureError(
                f"{self._label()} expects {len(pconv)} argument(s) {self.type}, got {len(args)}"
            )
        return call_resumable(self, [c(v) for c, v in zip(pconv, args)])

    def _label(self) -> str:
        if self.name:
            return f"function {self.name!r}"
        return f"function {self.index}" if self.index is not None else "host function"

    def __repr__(self) -> str:
        return f"<wasm2py.Func {self._label()} {self.type}>"

    @property
    def __signature__(self) -> inspect.Signature:
        """What ``inspect.signature`` and ``help`` show: a positional-only parameter per wasm
        parameter (``p0``, ``p1``, ...), annotated with its value type, and the result type
        (None without results, a tuple of them for several)."""
        ftype = self.type
        params = [inspect.Parameter(f"p{i}", inspect.Parameter.POSITIONAL_ONLY,
                                    annotation=str(t))
                  for i, t in enumerate(ftype.params)]  # fmt: skip
        results = [str(t) for t in ftype.results]
        if not results:
            ret: Any = None
        elif len(results) == 1:
            ret = results[0]
        else:
            ret = f"tuple[{', '.join(results)}]"
        return inspect.Signature(params, return_annotation=ret)

    def __get__(self, obj: Any, objtype: Any = None) -> Func:
        # a class attribute, as any object without __get__ (partial binds on Python 3.14)
        return self

    def __reduce__(self):
        raise TypeError(f"cannot pickle {self!r} (a paused call pickles the functions it "
                        f"refers to by index: see wasm2py.runtime.snapshot)")

    def __copy__(self) -> Func:
        return self

    def __deepcopy__(self, memo: dict) -> Func:
        return self


def _no_target(*args: Any) -> Any:
    raise TypeError("this Func was not set up (made without Func(...))")


def _retarget(func: Func, fn: Callable) -> None:
    """Make ``fn`` what calling ``func`` calls, with the caller's arguments (see :mod:`.entry`)."""
    _set_partial(func, (fn, (), None, None))


_set_partial = partial.__setstate__  # type: ignore[attr-defined]  # (not in typeshed)

#: ``Py_TPFLAGS_HAVE_VECTORCALL``: the type's instances carry a vectorcall pointer
_HAVE_VECTORCALL = 1 << 11


def _inherit_vectorcall(cls: type) -> bool:
    """Let calls of ``cls``'s instances take the partial's vectorcall on CPython 3.11, as they
    do on 3.12 and later (gh-93274: a heap type that does not override ``tp_call`` inherits
    ``Py_TPFLAGS_HAVE_VECTORCALL``); returns whether the flag is set.

    Without the flag, 3.11 calls a ``Func`` through ``tp_call``: the caller's arguments are
    packed into a tuple, which the partial's ``tp_call`` unpacks again for the entry (~19 ns
    of a ~130 ns call of ``add(1, 2)``). The subclass already inherits the partial's
    ``tp_vectorcall_offset`` and every partial sets its vectorcall pointer when made and when
    retargeted (``__setstate__``), so only the flag is missing, which 3.11 withholds from
    heap types only because their ``__call__`` could be reassigned later (``Func``'s never
    is). The flag is set in place with ``ctypes`` after checking that the word found at the
    offset of ``tp_flags`` in 3.11's ``PyTypeObject`` is the type's ``__flags__``; anywhere
    else (another version or implementation) nothing is changed and calls take ``tp_call``.
    """
    if cls.__flags__ & _HAVE_VECTORCALL:
        return True
    if (sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11)
            or not partial.__flags__ & _HAVE_VECTORCALL or "__call__" in cls.__dict__):
        return False
    import ctypes

    # PyObject_VAR_HEAD (3 words), then 18 pointer-sized slots (tp_name .. tp_as_buffer)
    offset = 21 * ctypes.sizeof(ctypes.c_void_p)
    flags = ctypes.c_ulong.from_address(id(cls) + offset)
    if flags.value != cls.__flags__:
        return False
    flags.value |= _HAVE_VECTORCALL
    return bool(cls.__flags__ & _HAVE_VECTORCALL)


_inherit_vectorcall(Func)


entry(Func._call.__code__)
