"""Baseline machine code as :class:`wasm2py.llvm.units.Unit` s, which an instance attaches as
it attaches LLVM units (``LLVMInstance.add_unit``): the module's shell (:class:`ShellCode`:
its types' entries and trampolines) and blobs of compiled functions (:func:`function_unit`).

Their units have ``resumable=False`` (baseline frames cannot pause: with a resumable call
running, their functions run in the Python tier) and ``tier="baseline"``; ``engine`` is the
:class:`~.code.CodeMemory` holding the code, which lives as long as the unit (an instance
keeps its units).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import sys
import threading
import weakref
from pathlib import Path

from ..llvm.units import Unit
from .code import CodeMemory
from .shell import Shell, signature


@functools.cache
def available() -> bool:
    """Whether baseline code can run here: x86-64 Linux, and executable memory can be had
    (checked once, by placing and running a function that returns 42)."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return False
    try:
        import ctypes

        mem = CodeMemory()
        addr = mem.place(b"\xb8\x2a\x00\x00\x00\xc3")  # mov eax, 42; ret
        ok = ctypes.CFUNCTYPE(ctypes.c_int)(addr)() == 42
        mem.free()
        return ok
    except (OSError, AttributeError):
        return False


class ShellCode:
    """A module's shell placed in executable memory: :attr:`unit` (a :class:`Unit` with
    ``trampolines``, by type index, 0 for types without functions) and the entry of each
    type (:meth:`entry`). ``refused``: the function types it has no code for (see
    :func:`.shell.refusal`), with why."""

    __slots__ = ("memory", "unit", "type_entries", "refused")

    def __init__(self, types, shell: Shell | None = None) -> None:
        shell = Shell(types) if shell is None else shell
        self.refused = shell.refused
        self.memory = CodeMemory()
        base = self.memory.place(shell.code) if shell.code else 0
        self.type_entries = {i: base + off for i, off in shell.entries.items()}
        tramps = [base + shell.trampolines[i] if i in shell.trampolines else 0
                  for i in range(len(types))]  # fmt: skip
        self.unit = Unit(funcs={}, entries={}, long_funcs=frozenset(), trampolines=tramps,
                         engine=self.memory, resumable=False, tier="baseline")  # fmt: skip

    def entry(self, typeidx: int) -> int:
        """The native address of the entry of functions of type ``typeidx``."""
        return self.type_entries[typeidx]


_SHELLS: dict[tuple, ShellCode] = {}
_SHELLS_LOCK = threading.Lock()


def shell_for(types, cache: bool = False) -> ShellCode:
    """The :class:`ShellCode` of a module whose type section is ``types``, made once per
    process for the same types (every instance of a module, and modules of the same types,
    share it; the code depends on the types only); ``cache``: kept in the disk cache too
    (sqlite3's 73 types: ~5 ms to make)."""
    key = tuple(types)
    with _SHELLS_LOCK:
        shell = _SHELLS.get(key)
        if shell is None:
            if len(_SHELLS) >= 64:  # (instances using an evicted one keep its memory alive)
                _SHELLS.clear()
            shell = _SHELLS[key] = ShellCode(key, _cached_shell(key) if cache else None)
        return shell


def _cached_shell(types) -> Shell:
    """The shell of ``types`` from the disk cache, made and stored there if absent."""
    from ..cache import cache_dir, load_blob, store_blob

    h = hashlib.sha256(compiler_digest())
    h.update(signature(types))
    path = cache_dir() / f"baseline-shell-{h.hexdigest()}.bin"
    data = load_blob(path)
    if data is not None:
        try:
            return Shell.from_bytes(data)
        except (ValueError, TypeError, KeyError):
            pass  # (made by another layout: made again)
    shell = Shell(types)
    store_blob(path, shell.to_bytes())
    return shell


def _entries(module, funcs, shell: ShellCode) -> dict[int, int]:
    """The entry of each of ``funcs`` (defined function indices): its type's."""
    types, nimp = module.funcs, module.num_imported_funcs
    return {i: shell.entry(types[i - nimp]) for i in funcs}


def function_unit(module, blob, shell: ShellCode, memory: CodeMemory | None = None) -> Unit:
    """The :class:`Unit` of ``blob`` (from :func:`.emit.compile_functions` for ``module``),
    its code placed in ``memory`` (default: memory of its own); entries from ``shell``."""
    memory = memory if memory is not None else CodeMemory()
    base = memory.place(blob.code) if blob.code else 0
    funcs = {i: base + off for i, off in blob.funcs.items()}
    return Unit(funcs=funcs, entries=_entries(module, funcs, shell),
                long_funcs=frozenset(blob.long_funcs) & funcs.keys(), engine=memory,
                resumable=False, tier="baseline")  # fmt: skip


@functools.cache
def compiler_digest() -> bytes:
    """A digest of what decides the baseline's code besides the module: the package's sources
    and the CPU's feature flags (the emitter uses ``lzcnt``, ``tzcnt`` and ``popcnt`` where
    the CPU has them)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    try:
        with open("/proc/cpuinfo") as f:
            h.update(next((line for line in f if line.startswith("flags")), "").encode())
    except OSError:
        pass
    return h.digest()


class CodeCache:
    """The baseline code of one module's functions kept in the on-disk cache
    (``Config.cache``): a :class:`~wasm2py.cache.FunctionLog` of one record per function
    (its code, position-independent, the offset of its native function in it and whether
    it is long; or why the baseline refused it), keyed by the module's bytes and
    :func:`compiler_digest`. A later run places the functions an earlier one compiled at
    instantiation, and leaves those it refused in the Python tier, without emitting them
    again."""

    #: records are written in batches of this many (and the rest at exit)
    BATCH = 64

    def __init__(self, wasm: bytes) -> None:
        from ..cache import FunctionLog, entry_key

        self.log = FunctionLog(entry_key(wasm, b"baseline:" + compiler_digest()))
        self._pending: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()
        _PENDING.add(self)

    @classmethod
    def of(cls, wasm: bytes) -> CodeCache:
        """The module's code cache (one per module, cache directory and process: the
        records one instance has not written yet are read by the next)."""
        from ..cache import cache_dir, wasm_digest

        key = (wasm_digest(wasm), cache_dir())  # (the directory may change: tests do)
        with _SHELLS_LOCK:
            cache = _CACHES.get(key)
            if cache is None:
                if len(_CACHES) >= 64:
                    _CACHES.clear()
                cache = _CACHES[key] = cls(wasm)
            return cache

    def read(self) -> tuple[dict[int, tuple[bytes, int, bool]], dict[int, str]]:
        """``index -> (code, offset of the function, long)`` of every function recorded, and
        ``index -> why`` of every function the baseline refused."""
        self.flush()
        out, refused = {}, {}
        for index, payload in self.log.read().items():
            flags = payload[4]
            if flags & _REFUSED:
                refused[index] = payload[5:].decode(errors="replace")
            else:
                out[index] = (payload[5:], int.from_bytes(payload[:4], "little"),
                              bool(flags & _LONG))  # fmt: skip
        return out, refused

    def add(self, blob) -> None:
        """Record the functions of ``blob`` (a blob of one function: its code whole) and
        those it refused (so later runs do not emit them again to find out)."""
        records = [(i, bytes(4) + bytes((_REFUSED,)) + why.encode())
                   for i, why in blob.refused.items()]  # fmt: skip
        if len(blob.funcs) == 1:  # (the code of several functions is one piece: not recorded)
            (index, off), = blob.funcs.items()
            flags = _LONG if index in blob.long_funcs else 0
            records.append((index, off.to_bytes(4, "little") + bytes((flags,)) + blob.code))
        with self._lock:
            self._pending.extend(records)
            if len(self._pending) < self.BATCH:
                return
        self.flush()

    def flush(self) -> None:
        """Write the records not written yet (one write: a file per record costs ~0.1 ms)."""
        with self._lock:
            pending, self._pending = self._pending, []
        self.log.extend(pending)


#: the flags of a record (after the offset of the function in its code)
_LONG, _REFUSED = 1, 2
_CACHES: dict[tuple, CodeCache] = {}
#: the code caches with records to write at exit
_PENDING: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for cache in list(_PENDING):
        cache.flush()


def cached_unit(module, records: dict[int, tuple[bytes, int, bool]], shell: ShellCode,
                memory: CodeMemory) -> Unit | None:
    """One :class:`Unit` of the functions ``records`` (from :meth:`CodeCache.read`), their
    code placed in ``memory`` one after the other (each 16-byte aligned)."""
    if not records:
        return None
    code = bytearray()
    funcs = {}
    long_funcs = set()
    for index, (c, off, long) in records.items():
        code += b"\xcc" * (-len(code) % 16)
        funcs[index] = len(code) + off
        code += c
        if long:
            long_funcs.add(index)
    base = memory.place(bytes(code))
    funcs = {i: base + off for i, off in funcs.items()}
    return Unit(funcs=funcs, entries=_entries(module, funcs, shell),
                long_funcs=frozenset(long_funcs), engine=memory, resumable=False,
                tier="baseline")  # fmt: skip


__all__ = ["CodeCache", "ShellCode", "available", "cached_unit", "compiler_digest",
           "function_unit", "shell_for"]
