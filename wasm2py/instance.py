"""The embedder's :class:`Instance` and its :class:`Exports` mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from sys import intern
from typing import TYPE_CHECKING, Any

from .binary.module import ExternKind
from .errors import LinkError
from .externs import Global, to_handle, to_runtime
from .runtime.func import Func
from .runtime.instance import instantiate, rebind_import
from .types import GlobalType

if TYPE_CHECKING:
    from .module import Module
    from .runtime.store import Store


class Exports(Mapping):
    """An instance's exports by name; also reachable as attributes (``exports.add``).

    Note:
        An export whose name is also a mapping method (``get``, ``keys``, ``items``,
        ``values``) wins over the method for attribute access; item access always works.
        A missing name raises ``AttributeError`` (``KeyError`` for item access).
    """

    # Exports live in the instance __dict__, so attribute access is a plain lookup, which
    # CPython specialises as long as the class defines no ``__getattr__`` (one that only
    # reworded the error made ``exports.add`` cost ~35 instead of ~17 ns).
    __slots__ = ("__dict__",)

    def __init__(self, items: dict):
        # names interned, as those in code are: on CPython 3.11 ``exports.add`` found under a
        # key that is an equal string but not the same object costs ~32 instead of ~15 ns
        self.__dict__.update({intern(k) if type(k) is str else k: v for k, v in items.items()})

    def __getitem__(self, name: str):
        return self.__dict__[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def __contains__(self, name: object) -> bool:
        return name in self.__dict__

    def __dir__(self):
        return [n for n in self.__dict__ if isinstance(n, str) and n.isidentifier()]

    def __repr__(self) -> str:
        return f"<wasm2py.Exports {list(self.__dict__)}>"


def _import_value(store, imp, value, module):
    """Turn what the embedder supplied for an import into a runtime object."""
    if imp.kind == ExternKind.FUNC and not isinstance(value, Func):
        if callable(value):
            return Func(store, module.types[imp.type], value)
    if imp.kind == ExternKind.GLOBAL and isinstance(value, int | float) and not isinstance(
        value, bool
    ):
        gt: GlobalType = imp.type
        if not gt.mutable:
            return to_runtime(Global(store, gt, value))
    return to_runtime(value)


class Instance:
    """An instantiated module.

    ``Instance(store, module, imports)`` where ``imports`` is either a list with one item per
    import (in order) or a mapping ``{"module": {"name": item}}``. Items are :class:`Func`,
    :class:`Memory`, :class:`Table`, :class:`Global`, or, as shortcuts, a plain Python callable
    (typed by the import's declaration) or a number for an immutable global.

    Raises:
        LinkError: an import is missing or has the wrong type.
        Trap: initialisation or the start function trapped.
    """

    def __init__(self, store: Store, module: Module,
                 imports: Mapping[str, Mapping[str, Any]] | Sequence[Any] | None = None) -> None:  # fmt: skip
        tier = store.config.tier
        compiled = None
        if tier == "llvm":
            compiled = module._llvm or store.engine.load_llvm(module._module)
        self._setup(store, module, imports, compiled)

    @classmethod
    def _create(cls, store, module, imports, llvm_compiled) -> Instance:
        """An instance whose code runs in the LLVM tier (``llvm_compiled``) whatever the
        store's tier (for :func:`wasm2py.llvm.instantiate`)."""
        self = cls.__new__(cls)
        self._setup(store, module, imports, llvm_compiled)
        return self

    def _setup(self, store, module, imports, llvm_compiled) -> None:
        self.store = store
        self.module = module
        #: the tier running this instance's code now: "python" (no function runs native),
        #: "llvm" or "baseline" (every defined function runs native, in that tier), or "mixed"
        #: (with ``tier="auto"``: anything else, see :meth:`function_tiers`)
        self.tier = "python"
        #: the LLVM tier's side of the instance once (some of) its code runs jitted
        self._llvm: Any = None
        #: tier-up state (``tier="auto"``, see :mod:`wasm2py.tierup`)
        self._tierup = None
        decoded = module._module
        if imports is None:
            imports = {}
        if isinstance(imports, Mapping):
            values = []
            for imp in decoded.imports:
                try:
                    item = imports[imp.module][imp.name]
                except (KeyError, TypeError):
                    raise LinkError(f"unknown import: {imp.module!r} {imp.name!r}") from None
                values.append(item)
        else:
            values = list(imports)
        if len(values) != len(decoded.imports):
            raise LinkError(f"module has {len(decoded.imports)} imports, {len(values)} given")
        rt = [_import_value(store, imp, v, decoded) for imp, v in zip(decoded.imports, values)]
        self._state = None

        def wrap(state):
            self._state = state
            return self

        if llvm_compiled is not None:
            if store.native is None:
                from .llvm.native import runtime_for

                runtime_for(store)

            def attach(state, owner):
                self._attach_llvm(llvm_compiled)

        elif store.config.tier == "auto":

            def attach(state, owner):
                from .tierup import TierUp

                self._tierup = TierUp(self, state)

        else:
            attach = None  # type: ignore[assignment]

        def ready(state, owner):
            # The exports exist before the start function runs (host functions it calls may
            # look them up through their Caller), as in wasmtime.
            self.exports = Exports({name: to_handle(store, item)
                                    for name, item in state.exports.items()})  # fmt: skip
            if attach is not None:
                attach(state, owner)

        try:
            instantiate(store, decoded, module._code, rt, wrap, ready)
        except BaseException:
            state = self._state
            if store.config.tier == "auto" and self._tierup is None and state is not None \
                    and state.slots is not None:
                from .tierup import count_nothing

                count_nothing(state)
            raise

    def _attach_llvm(self, compiled) -> None:
        """Move the instance's code to the LLVM tier (at a call boundary; shared state)."""
        from .llvm.instance import LLVMInstance

        self._llvm = LLVMInstance(self.store, compiled, self._state, self)  # type: ignore[assignment]
        self.tier = "llvm"

    def _attach_units(self, shell, units=()) -> None:
        """Start running some functions jitted (``tier="auto"``): ``shell`` is the module's
        trampoline unit, ``units`` :class:`~wasm2py.llvm.units.Unit` s of its functions (more
        come with :meth:`_add_unit`). The other functions stay in the Python tier."""
        from .llvm import abi
        from .llvm.compiled import CompiledModule
        from .llvm.instance import LLVMInstance

        m = self.module._module
        costs = self.store.config.fuel_costs if self.store.config.consume_fuel else None
        compiled = CompiledModule(module=m, opt_level=self.store.config.llvm_opt_level,
                                  layout=abi.Layout(m), funcs={},
                                  trampolines=shell.trampolines, entries={}, engine=shell,
                                  fuel_costs=costs,
                                  epoch=self.store.config.epoch_interruption)  # fmt: skip
        self._llvm = LLVMInstance(self.store, compiled, self._state, self,
                                  arm=shell.tier != "baseline")  # fmt: skip
        for unit in units:
            self._add_unit(unit)

    def _add_unit(self, unit) -> None:
        """Run the functions of ``unit`` jitted from now on (see :meth:`_attach_units`)."""
        llvm = self._llvm
        llvm.add_unit(unit)
        n = len(llvm.jitted)
        nb = len(llvm.baseline)
        if n < len(self.module._module.funcs):
            self.tier = "mixed" if n else "python"
        else:
            self.tier = "baseline" if nb == n else "llvm" if not nb else "mixed"

    def function_tiers(self) -> dict[int, str]:
        """Where each defined function runs now, by function index: ``"llvm"`` (jitted by
        LLVM), ``"baseline"`` (machine code of the baseline tier, :mod:`wasm2py.baseline`) or
        ``"python"``."""
        m = self.module._module
        llvm = self._llvm
        jitted = llvm.jitted if llvm is not None else ()
        baseline = llvm.baseline if llvm is not None else ()
        nimp = m.num_imported_funcs
        return {i: "baseline" if i in baseline else "llvm" if i in jitted else "python"
                for i in range(nimp, nimp + len(m.funcs))}  # fmt: skip

    def _rebind_import(self, index: int, func: Func) -> None:
        """Call ``func`` for imported function ``index`` from now on, in whichever tier runs
        the instance (see :func:`wasm2py.runtime.instance.rebind_import`)."""
        rebind_import(self._state, index, func, self)  # type: ignore[arg-type]
        if self._llvm is not None:
            self._llvm.bind_import(index, func)

    def memory(self):
        """Memory 0 of the instance (exported or not), or None."""
        mems = self._state.memories
        return to_handle(self.store, mems[0]) if mems else None

    def __getattr__(self, name: str) -> Callable:
        # Convenience: instance.add(1, 2) for exported functions. (``exports`` itself is only
        # missing while the instance is being set up: no lookup through it then.)
        if name.startswith("_") or name == "exports":
            raise AttributeError(name)
        try:
            return self.exports[name]
        except KeyError:
            raise AttributeError(f"instance has no export {name!r}") from None

    def __repr__(self) -> str:
        return f"<wasm2py.Instance exports={list(getattr(self, 'exports', ()))}>"
