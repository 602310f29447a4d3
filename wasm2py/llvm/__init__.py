"""The LLVM tier: wasm function bodies lowered to LLVM IR with ``llvmlite``, optimised with
LLVM's new pass manager and jitted for the host.

Usage (not yet wired into :class:`wasm2py.Config`)::

    import wasm2py, wasm2py.llvm
    store = wasm2py.Store()
    module = wasm2py.Module(store.engine, wasm_bytes)      # decode + validate
    inst = wasm2py.llvm.instantiate(store, module, {"env": {"log": print}})
    inst.exports.fib(20)

:func:`compile_module` compiles once; :func:`instantiate` accepts the result any number of
times. See ``README.md`` beside this file for the design (ABI, traps, call depth, state).

Raises ``ImportError`` on import when ``llvmlite`` is not installed.
"""

from __future__ import annotations

import llvmlite  # noqa: F401 - fail early with a clear ImportError

from .instance import LLVMGlobal, LLVMInstance, LLVMTable, instantiate
from .jit import (
    AARCH64_TRIPLE,
    CompiledModule,
    cache_key,
    compile_module,
    emit_object,
    optimized_ir,
)

__all__ = [
    "AARCH64_TRIPLE", "CompiledModule", "LLVMGlobal", "LLVMInstance", "LLVMTable", "cache_key",
    "compile_module", "emit_object", "instantiate", "optimized_ir",
]  # fmt: skip
