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

import llvmlite  # noqa: F401 - fail early with a clear ImportError

from .instance import LLVMInstance, instantiate
from .jit import (
    AARCH64_TRIPLE,
    CompiledModule,
    cache_key,
    compile_module,
    emit_object,
    optimized_ir,
)

__all__ = [
    "AARCH64_TRIPLE", "CompiledModule", "LLVMInstance", "cache_key",
    "compile_module", "emit_object", "instantiate", "optimized_ir",
]  # fmt: skip
