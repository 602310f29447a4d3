"""The LLVM tier: wasm function bodies lowered to LLVM IR with ``llvmlite``, optimised with
LLVM's new pass manager and jitted for the host.

Usually reached through the configuration::

    import wasm2py
    engine = wasm2py.Engine(wasm2py.Config(tier="llvm"))     # or tier="auto"
    store = wasm2py.Store(engine)
    inst = wasm2py.Instance(store, wasm2py.Module(engine, wasm_bytes), {"env": {"log": print}})
    inst.exports.fib(20)                                      # runs jitted code

:func:`compile_module` compiles a decoded module; :func:`instantiate` runs a module in this
tier whatever the store's configured tier. See ``README.md`` beside this file for the design (ABI, traps, call depth, state).

Raises ``ImportError`` on import when ``llvmlite`` is not installed.
"""

from __future__ import annotations

import importlib
import importlib.util

# fail early with a clear ImportError, without importing llvmlite: an instance running in the
# baseline tier uses this package's instance machinery and never loads LLVM
if importlib.util.find_spec("llvmlite") is None:
    raise ImportError("the LLVM tier needs llvmlite: pip install llvmlite")

#: the public names and the modules they are read from on first use (lazily: a compile worker,
#: :mod:`.worker`, imports only what compiling needs, not the instance machinery)
_EXPORTS = {"LLVMInstance": "instance", "instantiate": "instance", "AARCH64_TRIPLE": "jit",
            "CompiledModule": "compiled", "cache_key": "jit", "compile_module": "jit",
            "emit_object": "jit", "optimized_ir": "jit"}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
