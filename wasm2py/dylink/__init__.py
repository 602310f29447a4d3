"""Dynamic linking of WebAssembly modules, as LLVM and Emscripten define it.

A program built with ``clang -fPIC`` and ``wasm-ld --experimental-pic -pie`` (the main) or
``-shared`` (side modules, "libraries") is a set of modules that share one linear memory, one
function table and one stack pointer; each carries a ``dylink.0`` custom section
(:class:`DylinkInfo`) saying how much memory and how many table slots it needs and which
libraries it needs. :class:`DynamicLinker` loads them into a store, in either tier::

    from wasm2py.dylink import DynamicLinker
    dl = DynamicLinker(store, imports=wasi.imports(store), lib_path=["lib/"])
    main = dl.load("main.wasm")           # + its needed libraries
    main.exports._start()
    lib = dl.dlopen("libextra.so")        # later, into the running program
    dl.dlsym("extra_fn")                  # a Func (or a data symbol's address)

:mod:`.closures` adds WASIX's ``closure_allocate`` / ``closure_prepare`` / ``closure_free``:
functions made at run time (a trampoline module built with :mod:`wasm2py.build` and linked into
the running program) and placed in table slots the guest allocated.

Names load on first use, so ``import wasm2py.dylink.section`` (the format alone) stays light.
"""

from __future__ import annotations

import importlib

#: name of the custom section that makes a module dynamically linked (and of its legacy
#: predecessor); here so that ``wasm2py run`` can look for it without importing the format
SECTION = "dylink.0"
LEGACY_SECTION = "dylink"

_EXPORTS = {
    "DylinkInfo": "section", "SymbolFlags": "section", "dylink_info": "section",
    "DynamicLinker": "linker", "Library": "linker", "GLOBAL_BASE": "linker",
    "STACK_SIZE": "linker", "Closures": "closures",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'wasm2py.dylink' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{target}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
