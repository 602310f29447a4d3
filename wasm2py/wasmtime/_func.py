"""wasmtime-py's ``Func`` and ``Caller`` over :class:`wasm2py.Func` and
:class:`wasm2py.Caller`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Trap as _NativeTrap
from ..runtime.func import Func as _NativeFunc
from ..wasi.preview1 import WasiExit
from ._errors import WasmtimeError, convert
from ._store import Store
from ._types import FuncType, ValType
from ._value import CONVERTERS, from_native, to_native


class Caller:
    """What a host function made with ``access_caller=True`` receives first: the calling
    instance's exports (:meth:`get`, ``caller[name]``) and, as a storelike, its store. Valid only
    while the host function runs."""

    __slots__ = ("_native", "__weakref__")

    def __init__(self, native: Any):
        self._native = native

    def _context(self) -> Any:
        if self._native is None:
            raise ValueError("caller is no longer valid")
        return self._native.store

    def _invalidate(self) -> None:
        self._native = None

    def get(self, name: str) -> Any:
        """The calling instance's export ``name`` (a Func, Memory, Table or Global), or None
        if there is none, no calling instance, or the caller is no longer valid."""
        from ._extern import wrap_extern

        if not isinstance(name, str):
            raise TypeError("export names are str")
        if self._native is None:
            return None
        item = _caller_export(self._native, name)
        return None if item is None else wrap_extern(item)

    def __getitem__(self, name: str) -> Any:
        item = self.get(name)
        if item is None:
            raise KeyError(f"failed to find export {name}")
        return item


def _caller_export(native: Any, name: str) -> Any:
    """``native.get(name)`` (wasm2py's ``Caller.get``), also during the calling instance's start
    function: there ``Instance.exports`` does not exist yet and wasm2py's ``Caller.get``
    recursed without end until issue #11 (branch ``harden``); read the instance state's exports
    instead. (Drop this once that fix is merged.)"""
    inst = native.instance
    if inst is not None and "exports" not in vars(inst):
        from ..externs import to_handle

        state = getattr(inst, "_state", None)
        if state is None or name not in state.exports:
            return None
        return to_handle(native.store, state.exports[name])
    return native.get(name)


def _host(func: Callable, ty: FuncType, access_caller: bool) -> Callable:
    """``func`` as a wasm2py host function (always given wasm2py's caller) with wasmtime-py's
    conventions: funcref arguments are drop-in ``Func`` objects, results are checked against
    the type (``WasmtimeError`` for a wrong count) and converted strictly."""
    params = ty.params
    results = ty.results
    nres = len(results)

    def host(native_caller, *args):
        caller = Caller(native_caller)
        try:
            vals = [from_native(t, v) for t, v in zip(params, args)]
            r = func(caller, *vals) if access_caller else func(*vals)
            if nres == 0:
                if r is not None:
                    raise WasmtimeError("callback produced results when it shouldn't")
                return None
            if nres == 1:
                return to_native(results[0], r)
            if len(r) != nres:
                raise WasmtimeError("callback produced wrong number of results")
            return tuple(to_native(t, v) for t, v in zip(results, r))
        finally:
            caller._invalidate()

    host.__name__ = getattr(func, "__name__", "host")
    return host


class Func:
    """A function (wasmtime-py's ``Func``): ``Func(store, FuncType(...), callable,
    access_caller=False)`` makes a host function; call any function as ``f(store, *args)``."""

    __slots__ = ("_native", "_params", "_results", "_pconv", "_wrap_results")

    def __init__(self, store: Store, ty: FuncType, func: Callable, access_caller: bool = False):
        if not isinstance(store, Store):
            raise TypeError("expected a Store")
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        self._setup(_NativeFunc(store._context(), ty._native, _host(func, ty, access_caller),
                                access_caller=True))  # fmt: skip

    def _setup(self, native: _NativeFunc) -> None:
        self._native = native
        self._params = native.type.params
        self._results = native.type.results
        self._pconv = [CONVERTERS[t] for t in self._params]
        # only funcref results need converting (to drop-in Func objects)
        self._wrap_results = any(t is ValType.FUNCREF for t in self._results)

    @classmethod
    def _wrap(cls, native: _NativeFunc) -> Func:
        self = cls.__new__(cls)
        self._setup(native)
        return self

    def type(self, store: Any) -> FuncType:
        """The function's type."""
        return FuncType._wrap(self._native.type)

    def __call__(self, store: Any, *params: Any) -> Any:
        """Call the function: ``None``, one value, or a list of values.

        Raises:
            WasmtimeError: the wrong number of arguments.
            TypeError: an argument does not fit its parameter type.
            Trap: the wasm code trapped.
        """
        store._context()  # (a closed store raises ValueError, a non-store AttributeError)
        conv = self._pconv
        if len(params) != len(conv):
            few = "few" if len(params) < len(conv) else "many"
            raise WasmtimeError(f"too {few} parameters provided: given {len(params)}, "
                                f"expected {len(conv)}")  # fmt: skip
        try:
            r = self._native(*[c(v) for c, v in zip(conv, params)])
        except (_NativeTrap, WasiExit) as e:
            x = convert(e)
            if x is e:
                raise
            raise x from None
        results = self._results
        if len(results) == 1:
            return from_native(results[0], r) if self._wrap_results else r
        if not results:
            return None
        if self._wrap_results:
            return [from_native(t, v) for t, v in zip(results, r)]
        return list(r)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Func) and other._native is self._native

    def __hash__(self) -> int:
        return id(self._native)

    def __repr__(self) -> str:
        return f"<wasmtime.Func {self._native!r}>"
