"""wasmtime-py's ``Config`` and ``Engine`` over :class:`wasm2py.Config` and
:class:`wasm2py.Engine`.

wasm2py runs what it implements whatever the feature switches say (they are accepted and kept,
as wasmtime accepts switches of proposals it has): ``consume_fuel``, ``epoch_interruption`` and
``cache`` take effect; ``strategy`` picks the tier (``"auto"``: wasm2py's ``auto`` tier, which
starts in Python and compiles hot modules with LLVM; ``"cranelift"``: the LLVM tier from the
start; ``"winch"``: the Python tier), as does ``tier`` (wasm2py's own names);
``cranelift_opt_level`` sets the LLVM optimisation level. Options about native code generation,
profiling and memory reservation are accepted and have no effect.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from .. import config as _c
from .. import engine as _engine
from ._errors import WasmtimeError


class _Closable:
    """Objects wasmtime-py can ``close()`` (or use in ``with``): afterwards, using them raises
    ``ValueError``."""

    _closed = False

    def close(self) -> None:
        """Release the object; using it afterwards raises ``ValueError``."""
        self._closed = True

    def _check(self) -> None:
        if self._closed:
            raise ValueError("already closed")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise TypeError("expected a bool")
    return v


#: switches kept but not acted on (wasm2py runs what it supports regardless)
_FLAGS = ("debug_info", "wasm_threads", "wasm_tail_call", "wasm_reference_types", "wasm_simd",
          "wasm_bulk_memory", "wasm_multi_value", "wasm_multi_memory", "wasm_memory64",
          "wasm_relaxed_simd", "wasm_relaxed_simd_deterministic", "wasm_component_model",
          "wasm_component_model_map", "wasm_exceptions", "wasm_function_references", "wasm_gc",
          "wasm_wide_arithmetic", "wasm_custom_page_sizes", "wasm_stack_switching",
          "cranelift_debug_verifier", "cranelift_nan_canonicalization", "parallel_compilation",
          "shared_memory", "gc_support", "native_unwind_info", "macos_use_mach_ports",
          "signals_based_traps", "memory_may_move", "memory_init_cow")  # fmt: skip
_SIZES = ("max_wasm_stack", "memory_reservation", "memory_guard_size",
          "memory_reservation_for_growth")  # fmt: skip
_STRATEGIES = {"auto": "auto", "cranelift": "llvm", "winch": "python"}
_OPT_LEVELS = {"none": 0, "speed": 2, "speed_and_size": 2}
_PROFILERS = ("none", "jitdump", "vtune", "perfmap")
_HOST_TRIPLES = {("x86_64", "Linux"): "x86_64-unknown-linux-gnu",
                 ("aarch64", "Linux"): "aarch64-unknown-linux-gnu",
                 ("x86_64", "Darwin"): "x86_64-apple-darwin",
                 ("arm64", "Darwin"): "aarch64-apple-darwin",
                 ("AMD64", "Windows"): "x86_64-pc-windows-msvc"}  # fmt: skip


class Config(_Closable):
    """Settings for an :class:`Engine` (wasmtime-py's ``Config``; properties can only be set).
    An engine takes the config over: it cannot be used twice."""

    _settings: dict[str, Any]

    def __init__(self) -> None:
        object.__setattr__(self, "_settings", {"tier": "auto"})

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_closed":
            object.__setattr__(self, name, value)
            return
        self._check()
        s = self._settings
        if name in _FLAGS:
            s[name] = _bool(value)
        elif name in ("consume_fuel", "epoch_interruption"):
            s[name] = _bool(value)
        elif name in _SIZES:
            if not isinstance(value, int):
                raise TypeError("expected an int")
            s[name] = value
        elif name == "strategy":
            if value not in _STRATEGIES:
                raise WasmtimeError(f"unknown strategy: {value}")
            s["tier"] = _STRATEGIES[value]
        elif name == "tier":
            if value not in _c.TIERS:
                raise WasmtimeError(f"unknown tier: {value} (one of {', '.join(_c.TIERS)})")
            s["tier"] = value
        elif name == "cranelift_opt_level":
            if value not in _OPT_LEVELS:
                raise WasmtimeError(f"unknown opt level: {value}")
            s["llvm_opt_level"] = _OPT_LEVELS[value]
        elif name == "profiler":
            if value not in _PROFILERS:
                raise WasmtimeError(f"unknown profiler: {value}")
        elif name == "cache":
            if isinstance(value, bool):
                if not value:
                    raise WasmtimeError("caching cannot be explicitly disabled")
            elif isinstance(value, str):
                # a wasmtime cache configuration file: wasm2py keeps its own cache settings
                # (WASM2PY_CACHE_DIR, WASM2PY_CACHE_MAX_BYTES) but the file must exist
                if not os.path.isfile(value):
                    raise WasmtimeError(f"failed to read cache configuration {value!r}")
            else:
                raise TypeError("expected string or bool")
            s["cache"] = True
        elif name == "target":
            host = _HOST_TRIPLES.get((platform.machine(), platform.system()))
            if value != host:
                raise WasmtimeError(f"wasm2py compiles for the host only ({host}), not {value!r}")
        else:
            raise AttributeError(f"'Config' object has no attribute {name!r}")

    def cranelift_flag_enable(self, flag: str) -> None:
        """Accepted for compatibility (wasm2py has no Cranelift flags)."""
        self._check()

    def cranelift_flag_set(self, key: str, value: str) -> None:
        """Accepted for compatibility (wasm2py has no Cranelift flags)."""
        self._check()

    def _consume(self) -> _c.Config:
        """The wasm2py configuration; the config cannot be used after this."""
        self._check()
        s = self._settings
        self.close()
        return _c.Config(tier=s["tier"], llvm_opt_level=s.get("llvm_opt_level", 2),
                         consume_fuel=s.get("consume_fuel", False),
                         epoch_interruption=s.get("epoch_interruption", False))  # fmt: skip


class Engine(_Closable):
    """Compiles modules (wasmtime-py's ``Engine``): ``Engine()`` or ``Engine(config)``."""

    def __init__(self, config: Config | None = None):
        if config is None:
            native = Config()._consume()
        elif not isinstance(config, Config):
            raise TypeError("expected Config")
        else:
            native = config._consume()
        #: the wasm2py engine
        self._native = _engine.Engine(native)

    def increment_epoch(self) -> None:
        """Advance the epoch (see :meth:`wasm2py.Engine.increment_epoch`); thread-safe."""
        self._native.increment_epoch()

    def is_pulley(self) -> bool:
        """Whether code runs in wasmtime's interpreter, Pulley: never for wasm2py."""
        return False
