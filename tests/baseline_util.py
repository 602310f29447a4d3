"""Helpers for the baseline emitter's tests: run a module's functions as baseline code
without the baseline's own shell and wiring.

The module is instantiated with ``tier="auto"`` (tier-up off), which provides the context,
the records and the Python tier for everything else; the LLVM tier's *shell* unit gives the
host trampolines, and an LLVM unit of the same functions gives their types' Python entries
(an entry is per type: it calls the function address it is given, with ``tailcc``). The
functions compiled by :func:`wasm2py.baseline.emit.compile_functions` are placed in
executable memory and attached as a :class:`wasm2py.llvm.units.Unit` with those entries:
from then on calls from Python, through tables and through funcref records go to the
baseline code. ``llvm=`` indices run as that LLVM unit's code instead, so calls between
baseline code, LLVM code and the Python tier (refused functions) all happen.
"""

from __future__ import annotations

import wasm2py
from wasm2py.baseline.code import CodeMemory
from wasm2py.baseline.emit import Blob, compile_functions
from wasm2py.llvm.units import Unit, compile_unit


def auto_store(**config) -> wasm2py.Store:
    """A ``tier="auto"`` store that never tiers up by itself (no caches, level 0)."""
    cfg = dict(tier="auto", llvm_opt_level=0, llvm_isolated=False, cache=False,
               tier_up_threshold=1 << 62)  # fmt: skip
    cfg.update(config)
    return wasm2py.Store(wasm2py.Engine(wasm2py.Config(**cfg)))


def to_baseline(inst: wasm2py.Instance, indices=None, llvm=()) -> Blob:
    """Run the defined functions ``indices`` (default: all but ``llvm``) of ``inst`` (a
    ``tier="auto"`` instance still all in the Python tier) as baseline code, and ``llvm`` as
    LLVM code; returns the blob (``refused`` names those left in the Python tier)."""
    m = inst.module._module
    nimp = m.num_imported_funcs
    llvm = frozenset(llvm)
    if indices is None:
        indices = [i for i in range(nimp, nimp + len(m.funcs)) if i not in llvm]
    from wasm2py.llvm.abi import Layout

    blob = compile_functions(m, list(indices), Layout(m))
    shell = compile_unit(m, frozenset(), shell=True, opt_level=0, isolated=False)
    inst._attach_units(shell)
    keep = [shell]
    if llvm:
        lu = compile_unit(m, llvm, opt_level=0, isolated=False, resumable=False)
        inst._add_unit(lu)
        keep.append(lu)
    if blob.funcs:
        # (an LLVM unit of a function of each type, for its type's entry alone)
        ftypes = m.func_types()
        rep: dict = {}
        for i in blob.funcs:
            rep.setdefault(ftypes[i], i)
        eu = compile_unit(m, frozenset(rep.values()), opt_level=0, isolated=False,
                          resumable=False)  # fmt: skip
        mem = CodeMemory()
        base = mem.place(blob.code)
        funcs = {i: base + off for i, off in blob.funcs.items()}
        unit = Unit(funcs=funcs, entries={i: eu.entries[rep[ftypes[i]]] for i in funcs},
                    long_funcs=blob.long_funcs, engine=(mem, eu), resumable=False)  # fmt: skip
        inst._add_unit(unit)
        keep.append(unit)
        blob.base = base  # type: ignore[attr-defined]
    blob.keep = keep  # type: ignore[attr-defined]
    return blob


def baseline_instance(wat_or_wasm, imports=None, indices=None, llvm=(), **config):
    """(instance, blob) of a module (text or binary) whose functions run as baseline code
    (see :func:`to_baseline`)."""
    store = auto_store(**config)
    src = wat_or_wasm
    if isinstance(src, str):
        src = wasm2py.wat2wasm(src)
    module = wasm2py.Module(store.engine, src)
    inst = wasm2py.Instance(store, module, imports or {})
    return inst, to_baseline(inst, indices, llvm)


def python_instance(wat_or_wasm, imports=None):
    """The same module in the Python tier (the reference)."""
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="python", cache=False)))
    src = wat_or_wasm
    if isinstance(src, str):
        src = wasm2py.wat2wasm(src)
    return wasm2py.Instance(store, wasm2py.Module(store.engine, src), imports or {})
