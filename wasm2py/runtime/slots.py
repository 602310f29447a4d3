"""Per-function code slots: what an instance calls when its code calls one of its functions.

Every function of an instance has a *slot*: the entry ``f<i>...`` of the instance namespace
(:mod:`.instance`) under the function's Python name. Generated code calls functions by that name
(``s0 = f3_fib(l0, d + 1)``), so a call always goes to whatever the slot holds at that moment,
and repointing the slot redirects every later call, from any frame, without touching the
callers. A defined function's slot goes through these states:

1. *translate me*: a stub. The first call (from generated code, from a table, from the
   embedder) asks the module's :class:`CodeSource` for the function's code — translated and
   compiled to a code object then, or taken from memory or the disk cache — binds it to the
   instance namespace, repoints the slot (and the other places that held the stub: the
   :class:`~.func.Func`'s ``raw`` and ``pyraw``) at it, and runs it.
2. *Python code*: the generated function itself. Calls cost nothing extra.
3. *jitted*: another back end (the LLVM tier) repoints the slot with :meth:`Slots.set` at a
   callable with the same calling convention that enters its machine code.

The calling convention of every slot is the raw one (:mod:`.func`):
``slot(arg0, ..., argN-1, depth) -> None | value | tuple``, with canonical internal values.
Beside each slot, ``f<i>_t`` is what tail calls name (:mod:`.tailcall`): a *tail stub* until the
function is bound (it binds the function like the stub, then runs its tail variant, so that a
chain of tail calls through functions not yet translated stays in its caller's trampoline and
keeps a constant stack), then the function itself, or for a function that makes tail calls its
tail variant (the slot then holds the trampoline that runs it). :meth:`Slots.set` repoints both.

Besides the slot, a :class:`~.func.Func` has ``raw``, the entry the embedder's calls use, and
``pyraw``, the callable Python-tier code gets from a table (``call_indirect``); for a function
running in the Python tier all three are the same object. :meth:`Slots.set` keeps the slot and
``pyraw`` together; a back end sets ``raw`` itself, with :meth:`~.func.Func.set_raw` (its entry
from Python may differ from what Python-tier callers should call). Imported functions have slots too (the host function's raw
callable, or the exporting instance's function); they are never stubs.

The runtime never imports a translator: the code comes from a :class:`CodeSource` that the
module's loader supplies (the Python tier's lazy translation, or an ahead-of-time file), which
also holds the resume entries of paused calls (:mod:`.resumable`).
"""

from __future__ import annotations

import threading
import weakref
from types import CodeType
from typing import Protocol

from .fuelcell import bind
from .tailcall import trampoline


class CodeSource(Protocol):
    """Where an instance's Python-tier code comes from (one per module and configuration,
    shared by all its instances).

    Attributes:
        filename: the ``co_filename`` of the generated code (``wasm://<sha256 prefix>``, or the
            path of an ahead-of-time file); backtraces find wasm frames by it.
        func_names: the slot name of every function, imports first.
        eager: bind every function at instantiation (its code is at hand) instead of stubs.
    """

    filename: str
    func_names: list[str]
    eager: bool

    def function(self, index: int) -> tuple[CodeType, dict]:
        """The code object of defined function ``index`` and the module-level constants it
        reads (names to values, to define in the namespace before it runs).

        Raises:
            DecodeError, ValidationError: the body is malformed or invalid (only when the
                module was loaded with validation deferred to first use).
        """
        ...

    def resume(self, index: int) -> CodeType:
        """The code of the resume entry of defined function ``index`` (see :mod:`.resumable`),
        to bind to the instance namespace like the function.

        Raises:
            Error: this source has no resume entries.
        """
        ...

    def entry(self, index: int) -> CodeType | None:
        """The code of defined function ``index``'s entry from Python with its
        body inlined (see :mod:`.entry`), or None where the entry calls the function instead.
        """
        ...


class Slots:
    """The code slots of one instance (see the module docstring).

    Args:
        ns: the instance namespace (it holds the slots).
        source: the :class:`CodeSource` of the instance's module.
        funcs: the instance's :class:`~.func.Func` objects, by function index (filled in by the
            caller as it creates them).
        nimp: how many functions are imported (their slots are set with :meth:`set`).
    """

    __slots__ = ("ns", "source", "funcs", "nimp", "names", "python", "stubs", "tail_stubs",
                 "on_bind", "importers", "_lock", "__weakref__")

    def __init__(self, ns: dict, source: CodeSource, funcs: list, nimp: int):
        self.ns = ns
        self.source = source
        self.funcs = funcs
        self.nimp = nimp
        self.names: list[str] = source.func_names
        #: the Python-tier function of every defined function bound so far (else None)
        self.python: list = [None] * len(self.names)
        #: the stub of every defined function (None for imports)
        self.stubs: list = [None] * len(self.names)
        #: the tail stub of every defined function (None for imports)
        self.tail_stubs: list = [None] * len(self.names)
        #: called with the index of each defined function as its Python-tier code is bound,
        #: before it first runs (``tier="auto"`` gives the function its counter then)
        self.on_bind = None
        #: defined function -> the import slots of other instances that hold its stubs (weak
        #: references to their Slots, the import's index there, and the stub and tail entry the
        #: import's slots held), repointed once it is bound
        self.importers: dict[int, list] = {}
        self._lock = threading.RLock()

    def name(self, index: int) -> str:
        """The namespace key of function ``index``'s slot."""
        return self.names[index]

    def get(self, index: int):
        """What the slot of function ``index`` holds now."""
        return self.ns[self.names[index]]

    def set(self, index: int, fn) -> None:
        """Repoint the slot of function ``index``, its tail-call entry ``f<i>_t`` (and its
        ``Func.pyraw`` and ``Func.tailraw``) at ``fn``: every later call from Python-tier code,
        direct, through a table or a tail call, goes to ``fn``. (A callable that returns plain
        results is a valid tail-call entry: the caller's trampoline just gets no further tail
        call back.) Frames already running keep running what they run."""
        name = self.names[index]
        self.ns[name] = self.ns[name + "_t"] = fn
        if index >= self.nimp:  # (an imported Func belongs to its exporter)
            f = self.funcs[index]
            f.pyraw = f.tailraw = fn

    def reset(self, index: int) -> None:
        """Point the slot of defined function ``index`` (and ``Func.pyraw``) back at its
        *translate me* stub, and its tail-call entry (and ``Func.tailraw``) at its tail stub:
        once bound, its tail calls from Python-tier code run in constant stack again (the
        plain stub, a valid but nesting tail-call entry, would stay: :meth:`python_function`
        replaces only the stubs it finds)."""
        stub, tail = self.stub(index), self.tail_stub(index)
        name = self.names[index]
        self.ns[name] = stub
        self.ns[name + "_t"] = tail
        if index < len(self.funcs):
            f = self.funcs[index]
            f.pyraw = stub
            f.tailraw = tail

    def set_import(self, index: int, fn, tail=None) -> None:
        """Fill the slot of imported function ``index`` with ``fn`` (the raw callable of the
        import) and its tail-call entry ``f<i>_t`` with ``tail`` (default ``fn``; see
        :mod:`.tailcall`). When ``fn`` is the *translate me* stub of another instance's
        function, that instance repoints this slot too once the function is bound, so calls
        across instances do not keep going through the stub."""
        tail = fn if tail is None else tail
        self.ns[self.names[index]] = fn
        self.ns[self.names[index] + "_t"] = tail
        if getattr(fn, "__code__", None) is STUB_CODE:
            owner, at = fn.slots, fn.index
            with owner._lock:
                if owner.python[at] is None:
                    owner.importers.setdefault(at, []).append(
                        (weakref.ref(self), index, fn, tail))
                    return
            self.ns[self.names[index]] = owner.funcs[at].pyraw
            self.ns[self.names[index] + "_t"] = owner.funcs[at].tailraw

    def stub(self, index: int):
        """The *translate me* callable of defined function ``index`` (made once)."""
        stub = self.stubs[index]
        if stub is None:
            stub = self.stubs[index] = _make_stub(self, index)
        return stub

    def tail_stub(self, index: int):
        """The *translate me* tail-call entry of defined function ``index`` (made once): it
        binds the function, then runs its tail variant, whose pending tail call (if any) goes
        back to the calling trampoline."""
        stub = self.tail_stubs[index]
        if stub is None:
            stub = self.tail_stubs[index] = _make_tail_stub(self, index)
        return stub

    def python_function(self, index: int):
        """The Python-tier function of defined function ``index``, bound to the instance
        namespace (its code is fetched from the source the first time). Where the stub still
        sits — the slot, ``Func.raw``, ``Func.pyraw`` — this function replaces it.

        Raises:
            DecodeError, ValidationError: see :meth:`CodeSource.function`.
        """
        fn = self.python[index]
        if fn is not None:
            return fn
        with self._lock:
            fn = self.python[index]
            if fn is not None:
                return fn
            code, consts = self.source.function(index)
            ns = self.ns
            for k, v in consts.items():
                ns.setdefault(k, v)
            if self.on_bind is not None:
                self.on_bind(index)
            tail = bind(code, ns)
            # a function that makes tail calls is its tail variant, run by a trampoline
            # everywhere but in tail calls (see .tailcall)
            fn = trampoline(tail) if "TailCall" in code.co_names else tail
            self.python[index] = fn
            stub = self.stubs[index]
            tail_stub = self.tail_stubs[index]
            name = self.names[index]
            if stub is None or ns.get(name) is stub:
                ns[name] = fn
            if tail_stub is None or ns.get(name + "_t") is tail_stub:
                ns[name + "_t"] = tail
            if index < len(self.funcs):
                f = self.funcs[index]
                if stub is None or f.pyraw is stub:
                    f.pyraw = fn
                if stub is None or f.raw is stub:
                    f.raw = fn
                if tail_stub is None or f.tailraw is tail_stub:
                    f.tailraw = tail
            target = self.funcs[index].pyraw if index < len(self.funcs) else fn
            target_tail = self.funcs[index].tailraw if index < len(self.funcs) else tail
            for ref, at, old, old_tail in self.importers.pop(index, ()):
                importer = ref()
                if importer is not None and importer.get(at) is old:
                    importer.ns[importer.names[at]] = target
                    if importer.ns.get(importer.names[at] + "_t") is old_tail:
                        importer.ns[importer.names[at] + "_t"] = target_tail
        return fn

    def translated(self, index: int) -> bool:
        """Whether defined function ``index`` has its Python-tier function bound yet."""
        return self.python[index] is not None


def _make_stub(slots: Slots, index: int):
    bind = slots.python_function

    def stub(*args):
        return bind(index)(*args)

    stub.slots = slots  # type: ignore[attr-defined]  # (for Slots.set_import)
    stub.index = index  # type: ignore[attr-defined]
    return stub


def _make_tail_stub(slots: Slots, index: int):
    bind = slots.python_function

    def tail_stub(*args):
        fn = bind(index)
        return getattr(fn, "tail_variant", fn)(*args)

    return tail_stub


#: the code of every stub (frames running it sit between wasm frames: see ``resumable``)
STUB_CODE = next(c for c in _make_stub.__code__.co_consts
                 if isinstance(c, CodeType) and c.co_name == "stub")  # fmt: skip
#: the code of every tail stub (likewise)
TAIL_STUB_CODE = next(c for c in _make_tail_stub.__code__.co_consts
                      if isinstance(c, CodeType) and c.co_name == "tail_stub")  # fmt: skip
