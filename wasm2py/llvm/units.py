"""Compilation units of a few functions: what ``tier="auto"`` compiles as functions get hot.

A *unit* is an LLVM module holding some of a module's defined functions (a batch of hot
functions), their types' Python entries and a table of their addresses; optionally (the *shell*
unit) the host trampolines of every type. Calls between the functions of a unit are direct
(LLVM may inline them); a call to any other defined function loads the callee's funcref record
from the instance's context and calls through it (see ``FunctionLowerer.call``). The record
starts as a trampoline into the Python tier; when a later unit jits the callee, the instance
repoints it (:meth:`~.instance.LLVMInstance.add_unit`), so units never need relinking.

Each unit's object is compiled in a worker process (``Config.llvm_isolated``, :mod:`.worker`)
or in this process, loaded with MCJIT (into the :class:`UnitEngine` of the wasm2py ``Engine``,
its definitions named with a tag of the unit's own), and kept in the machine-code
cache under a key made of the functions' bodies and indices, the module's *interface* (every
section except code, data and custom sections, plus the data segment count: what the lowering
of a body reads), the options and the compiler (:func:`unit_key`). A per-module *manifest*
lists the units compiled so far, so a later run of the same module loads them at
instantiation and starts native where the previous run ended (:func:`cached_units`).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..binary.module import Module
from ..binary.reader import read_u32
from ..cache import FunctionLog, load_blob, store_blob, wasm_digest
from . import abi, perfmap
from .facts import runs_long

# (LLVM itself, ``.jit`` and ``llvmlite.binding``, is imported where a unit is keyed, compiled
# or loaded: a ``tier="auto"`` instance looks for cached units at instantiation, and a module
# with none never needs LLVM until something is hot; see :func:`has_units`)


@dataclass
class Unit:
    """The loaded machine code of one compilation unit.

    Attributes:
        funcs: native address of each of its functions (by function index).
        entries: native address of each function's Python entry (its type's, see
            :func:`.abi.entry_name`).
        long_funcs: its functions with a loop or a call.
        trampolines: the host trampoline of every type index (the shell unit), else None.
        seconds: how the unit was made: ``compile`` (CPU seconds of the compile, in the worker
            or here) or ``load`` (seconds to load it from the cache).
        guard: guard-page mode (:mod:`.guard`): its code accesses 32-bit memories without
            bounds checks, so it runs only against guarded memories (``LLVMInstance.add_unit``).
        tier: ``"llvm"``, or ``"baseline"`` for machine code of the baseline tier
            (:mod:`wasm2py.baseline.unit`: same ABI, no LLVM loaded).
    """

    funcs: dict[int, int]
    entries: dict[int, int]
    long_funcs: frozenset
    trampolines: list[int] | None = None
    engine: object = None
    seconds: dict[str, float] = field(default_factory=dict)
    guard: bool = False
    #: its functions that can reach an import have suspend code (see ``jit.compile_module``)
    resumable: bool = True
    tier: str = "llvm"


_IFACE_LOCK = threading.Lock()
_IFACE: dict[int, tuple[bytes, bytes]] = {}


def interface_digest(module: Module) -> bytes:
    """A digest of what the lowering of one body reads besides the body itself: every section
    of the module except custom (0), code (10) and data (11) sections, and the number of data
    segments."""
    raw = module.raw
    with _IFACE_LOCK:
        hit = _IFACE.get(id(raw))
        if hit is not None and hit[0] is raw:
            return hit[1]
    h = hashlib.sha256()
    pos = 8
    while pos < len(raw):
        sid = raw[pos]
        size, p = read_u32(raw, pos + 1)
        if sid not in (0, 10, 11):
            h.update(raw[pos : p + size])
        pos = p + size
    h.update(b"datas:%d" % len(module.datas))
    digest = h.digest()
    with _IFACE_LOCK:
        if len(_IFACE) > 64:
            _IFACE.clear()
        _IFACE[id(raw)] = (raw, digest)
    return digest


def _compiler_digest(opt_level: int, fuel_costs, tm, epoch: bool, guard: bool,
                     resumable: bool) -> bytes:  # fmt: skip
    from .jit import hash_compiler, hash_sources

    h = hashlib.sha256()
    hash_compiler(h, opt_level, fuel_costs, tm, epoch, resumable)
    h.update(b"guard" if guard else b"checks")
    hash_sources(h, ("units.py",))  # (what the whole module's cache key reads, and this)
    return h.digest()


_COMPILER: dict[tuple, bytes] = {}


def compiler_digest(opt_level: int, fuel_costs, epoch: bool = False, guard: bool = False,
                    resumable: bool = True) -> bytes:  # fmt: skip
    """The options (epoch checks, guard-page mode and suspend code included) and the compiler
    (host target, LLVM, the lowering's source) in a digest (made once per options: a target machine and the
    sources' bytes for every unit compiled and recorded cost a millisecond each time)."""
    key = (opt_level, fuel_costs.key() if fuel_costs is not None else None, epoch, guard,
           resumable)
    d = _COMPILER.get(key)
    if d is None:
        from .jit import host_target_machine

        tm = host_target_machine(opt_level)
        d = _COMPILER[key] = _compiler_digest(opt_level, fuel_costs, tm, epoch, guard,
                                                     resumable)  # fmt: skip
    return d


def unit_key(module: Module, funcs, shell: bool, opt_level: int, fuel_costs,
             epoch: bool = False, guard: bool = False,
             resumable: bool = True) -> str:  # fmt: skip
    """The machine-code cache key of the unit of ``funcs`` (and the trampolines if
    ``shell``): the functions' indices, offsets and body bytes, the module's interface
    (:func:`interface_digest`), the options and the compiler. (The offsets: jitted code keys
    its resume points by wasm offset, which a frame record carries, so the same body at
    another place in another module needs code of its own.)"""
    h = hashlib.sha256(interface_digest(module))
    h.update(compiler_digest(opt_level, fuel_costs, epoch, guard, resumable))
    h.update(b"shell" if shell else b"funcs")
    raw = module.raw
    nimp = module.num_imported_funcs
    for index in sorted(funcs):
        code = module.codes[index - nimp]
        h.update(b"%d:%d:%d:" % (index, code.start, code.end - code.start))
        h.update(raw[code.start : code.end])
    return h.hexdigest()


def _pack(flags: bytes, obj: bytes) -> bytes:
    return len(flags).to_bytes(4, "little") + flags + obj


def _unpack(blob: bytes) -> tuple[bytes, bytes]:
    n = int.from_bytes(blob[:4], "little")
    return blob[4 : 4 + n], blob[4 + n :]


class UnitEngine:
    """One MCJIT execution engine that units are loaded into, one after the other (an
    engine of its own per unit cost ~1.6 CPU ms each: a target machine, an empty module
    compiled at the first lookup, a memory manager; adding an object to this one costs
    ~0.05 ms). The units' objects name what they define with a tag of their own
    (:func:`.jit.tag_symbols`), so they do not collide. The code stays as long as the
    engine: :class:`wasm2py.Engine` keeps one for the units it loads (it keeps the units
    too). Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._engine = None

    def load(self, obj: bytes, names) -> list[int]:
        """Load ``obj`` and return the addresses of ``names`` (``(kind, name)`` pairs:
        ``"g"`` a global variable, ``"f"`` a function), resolved before any other object is
        added."""
        import llvmlite.binding as llvm

        from .jit import _landing_symbols, host_target_machine, new_engine, parse

        with self._lock:
            engine = self._engine
            if engine is None:
                _landing_symbols()
                tm = host_target_machine(0)
                engine = self._engine = new_engine(parse("", tm), tm)
            engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
            engine.finalize_object()
            return [engine.get_global_value_address(n) if kind == "g"
                    else engine.get_function_address(n) for kind, n in names]  # fmt: skip


def compile_unit(module: Module, funcs, shell: bool = False, opt_level: int = 2,
                 fuel_costs=None, isolated: bool = True, cache_dir=None,
                 module_name: str | None = None, cached_only: bool = False,
                 epoch: bool = False, facts=None,
                 into: UnitEngine | None = None, guard: bool = False,
                 resumable: bool = True) -> Unit | None:  # fmt: skip
    """Compile (or load from ``cache_dir``) the unit of ``funcs`` (defined function indices of
    the decoded, validated ``module``, which has its ``raw`` bytes) and load it
    (``cached_only``: None when it is not in the cache); ``epoch``: with epoch checks
    (``Config.epoch_interruption``); ``facts``: the module's :func:`.facts.body_facts` if
    known (its pausable functions go to the worker: see :class:`.worker.Job`); ``into``:
    load it into that engine (else into one of its own); ``guard``: guard-page mode (no bounds
    checks on 32-bit memories: see :class:`Unit`); ``resumable``: with suspend code (see
    ``jit.compile_module``).

    Raises:
        UnsupportedFeature: the module uses something the LLVM tier does not implement.
        CompileError: LLVM failed (in a worker: names the function that fails alone).
    """
    funcs = frozenset(funcs)
    t0 = time.perf_counter()
    c0 = time.process_time()
    path = None
    # (the object's names carry a tag made of its cache key: a unit loaded from the cache
    # has the names it was compiled with)
    tag = None
    if module.raw:
        key = unit_key(module, funcs, shell, opt_level, fuel_costs, epoch, guard, resumable)
        tag = key[:TAG_CHARS]
    if cache_dir is not None and module.raw:
        path = Path(cache_dir) / f"llvm-unit-{key}.o"
        blob = load_blob(path)
        if blob is not None:
            flags, obj = _unpack(blob)
            unit = load_unit(module, funcs, shell, flags, obj, tag=tag, into=into, guard=guard)
            unit.seconds = {"load": time.perf_counter() - t0}
            unit.resumable = resumable
            return unit
    if cached_only:
        return None
    nimp = module.num_imported_funcs
    order = sorted(funcs)
    if facts is not None:
        flags = bytes(facts.long[i - nimp] for i in order)
    else:
        flags = bytes(runs_long(module.codes[i - nimp].body) for i in order)
    pausable = facts.pausable if facts is not None and fuel_costs is None else None
    if not resumable:
        pausable = frozenset()
    if isolated:
        from .worker import Job, WorkerDied, pool

        job = Job(module.raw, opt_level, fuel_costs, funcs, shell, unit=True, epoch=epoch,
                  pausable=pausable, tag=tag, guard=guard)
        try:
            obj, cpu = pool().run_timed(job)
        except WorkerDied as e:
            from ..errors import CompileError

            index = _culprit(module, order, opt_level, fuel_costs, epoch, guard) if len(order) > 1 else (
                order[0] if order else None)  # fmt: skip
            name = module.func_name(index) if index is not None else None
            raise CompileError(e.reason, module_name or module.names.module, index,
                               name) from None  # fmt: skip
    else:
        from .jit import compile_part

        obj = compile_part(module, opt_level, fuel_costs, None, (funcs, shell), epoch, guard,
                           pausable=pausable, tag=tag)
        cpu = time.process_time() - c0
    if path is not None:
        store_blob(path, _pack(flags, obj))
    unit = load_unit(module, funcs, shell, flags, obj, tag=tag, into=into, guard=guard)
    unit.seconds = {"compile": cpu, "wall": time.perf_counter() - t0}
    unit.resumable = resumable
    return unit


def _culprit(module: Module, order: list[int], opt_level: int, fuel_costs,
             epoch: bool, guard: bool) -> int | None:  # fmt: skip
    """The function of a unit whose compile alone kills a worker (one unit per function)."""
    from .worker import Job, WorkerDied, pool

    for index in order:
        try:
            pool().run(Job(module.raw, opt_level, fuel_costs, frozenset((index,)), False,
                           unit=True, epoch=epoch, guard=guard))  # fmt: skip
        except WorkerDied:
            return index
        except Exception:  # noqa: BLE001, S112 - not the crash we look for
            continue
    return None


#: hex digits of a unit's cache key in the names its object defines (see
#: :func:`.jit.tag_symbols`; 80 bits: units with the same tag would share names)
TAG_CHARS = 20


def load_unit(module: Module, funcs: frozenset, shell: bool, flags: bytes, obj: bytes,
              tag: str | None = None, into: UnitEngine | None = None,
              guard: bool = False) -> Unit:  # fmt: skip
    """Load a unit's object (from :func:`compile_unit`; ``tag``: the tag of its names, see
    :func:`.jit.tag_symbols`) into ``into`` (objects with a tag only), else into an engine
    of its own."""
    order = sorted(funcs)
    types = module.func_type_indices()
    suffix = "" if tag is None else "." + tag
    names = [("g", abi.FUNCTABLE + suffix)]
    if shell:
        names.append(("g", abi.TRAMPTABLE + suffix))
    names += [("f", abi.entry_name(types[i]) + suffix) for i in order]
    if into is not None and tag is not None:
        addresses = into.load(obj, names)
        engine = into
    else:
        from .jit import _load_objects

        engine = _load_objects([obj])
        addresses = [engine.get_global_value_address(n) if kind == "g"
                     else engine.get_function_address(n) for kind, n in names]  # fmt: skip
    if perfmap.enabled():
        if into is not None:
            with into._lock:
                perfmap.record(into._engine, [obj], module)
        else:
            perfmap.record(engine, [obj], module)
    table = addresses[0]
    addrs = (ctypes.c_void_p * max(len(order), 1)).from_address(table) if order else []
    tramps = None
    if shell:
        ntypes = len(module.types)
        tt = addresses[1]
        tramps = list((ctypes.c_void_p * ntypes).from_address(tt)) if ntypes else []
    entries = addresses[2 if shell else 1 :]
    return Unit(
        funcs={index: addrs[k] for k, index in enumerate(order)},
        entries=dict(zip(order, entries)),
        long_funcs=frozenset(i for i, f in zip(order, flags) if f),
        trampolines=tramps, engine=engine, guard=guard,
    )  # fmt: skip


# -- the manifest: which units a module had compiled ------------------------------------------


def _manifest(module: Module, cache_dir, opt_level: int, fuel_costs, epoch: bool,
              guard: bool, resumable: bool) -> FunctionLog:  # fmt: skip
    """The module's manifest: an append-only log (:class:`~wasm2py.cache.FunctionLog`) of one
    record per unit (``level:functions``, keyed by its CRC-32: a unit recorded twice is
    read once), so recording a unit writes one record instead of rewriting and resealing the
    whole list."""
    h = hashlib.sha256(wasm_digest(module.raw))
    h.update(compiler_digest(opt_level, fuel_costs, epoch, guard, resumable))
    h.update(policy_digest())
    return FunctionLog("", Path(cache_dir) / f"llvm-units-{h.hexdigest()}.log")


def _mark(module: Module, cache_dir) -> Path:
    """The module's mark: an empty file that :func:`record_unit` makes next to a manifest of
    the module (whatever the options). Without it the module has no cached units, which
    :func:`cached_units` then knows without a manifest's key: that key needs the compiler's
    digest (``llvmlite.binding``, a target machine, the lowering's sources: ~25 CPU ms the
    first time in a process), so a cold ``tier="auto"`` instance loads no LLVM at
    instantiation."""
    return Path(cache_dir) / f"llvm-units-{wasm_digest(module.raw).hex()}.mark"


@functools.cache
def policy_digest() -> bytes:
    """A digest of ``wasm2py/tierup.py``, whose policy chose the units a manifest lists (which
    functions go together, at which level): a manifest of another policy is another file, so
    a run never loads units the policy in force would not make (checking each listed unit's
    level against the policy instead decoded its bodies at every start: 0.09 of the 0.27 CPU s
    a warm ``bench.lua`` run spent loading its units, under cProfile)."""
    return hashlib.sha256((Path(__file__).resolve().parent.parent / "tierup.py").read_bytes()).digest()


def cached_units(module: Module, cache_dir, opt_level: int, fuel_costs,
                 epoch: bool = False, guard: bool = False,
                 resumable: bool = True) -> list[tuple]:  # fmt: skip
    """The units compiled for this module (same options) in earlier runs, in the order they
    were compiled (the shell unit first): ``(level, functions)`` pairs (the level a unit was
    compiled at: ``opt_level``, or :data:`.jit.QUICK` for big functions)."""
    if cache_dir is None or not module.raw or not _mark(module, cache_dir).exists():
        return []
    units = []
    for record in _manifest(module, cache_dir, opt_level, fuel_costs, epoch, guard,
                            resumable).read().values():
        level, _, funcs = record.decode().partition(":")
        units.append((int(level), frozenset(int(x) for x in funcs.split())))
    return units


def record_unit(module: Module, cache_dir, opt_level: int, fuel_costs, funcs,
                level: int | None = None, epoch: bool = False,
                guard: bool = False, resumable: bool = True) -> None:  # fmt: skip
    """Add the unit of ``funcs`` (compiled at ``level``, default ``opt_level``) to the
    module's manifest (see :func:`cached_units`)."""
    if cache_dir is None or not module.raw:
        return
    level = opt_level if level is None else level
    record = (f"{level}:" + " ".join(str(i) for i in sorted(funcs))).encode()
    _manifest(module, cache_dir, opt_level, fuel_costs, epoch, guard, resumable).append(
        zlib.crc32(record), record)
    mark = _mark(module, cache_dir)
    if not mark.exists():
        mark.touch()
