"""Optimise LLVM IR with the new pass manager, jit it for the host (MCJIT), or emit an object
file for another target (e.g. AArch64)."""

from __future__ import annotations

import ctypes
import functools
import gc
import hashlib
import os
import threading
import time
from pathlib import Path

import llvmlite
import llvmlite.binding as llvm

from ..binary.module import Module
from ..cache import load_blob, store_blob
from . import abi, perfmap
from .compiled import CompiledModule  # noqa: F401 - re-exported (its home before)
from .facts import body_facts, has_tail_calls, with_bodies
from .guard import guard_mode

AARCH64_TRIPLE = "aarch64-unknown-linux-gnu"

_lock = threading.Lock()
_initialized = False


def _init() -> None:
    global _initialized
    with _lock:
        if _initialized:
            return
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        # the parser otherwise walks every instruction of a parsed module to strip debug
        # information of an old version (``UpgradeDebugInfo``): our IR has none, and the walk
        # was ~5% of parsing a part of a big module (0.18 -> 0.17 CPU s)
        llvm.set_option("", "-disable-auto-upgrade-debug-info")
        _initialized = True


#: the quick pipeline (an ``opt_level`` for :func:`optimize` and the target machines): SROA
#: (locals and block values to SSA registers), simplifycfg and DCE, then LLVM's fast code
#: generator (``-O0``: fast instruction selection and register allocation). For functions
#: too big for the full pipeline at tier-up: on sqlite3VdbeExec (22,000 instructions) ~1 CPU s
#: instead of ~20 s at ``O2``, most of which is the code generator. No instcombine: it was
#: two thirds of these passes' time (475 KiB module of ``tools/bench/llvm_compile.py``: ~1.0
#: of 1.4 CPU s) for quick code of about the same speed (``tools/bench/llvm_kernels.py --opt
#: -1``: geomean 2.84x -> 2.88x wasmtime); DCE deletes what SROA leaves unused (the NaN
#: checks no one reads) and saves the code generator a little.
QUICK = -1
QUICK_PASSES = ("sroa", "simplify_cfg", "dead_code_elimination")
#: the quick pipeline for code with a function of more than :data:`BIG_FUNCTION_BYTES`:
#: simplifycfg also before SROA. After SROA alone, simplifycfg takes time superlinear in such
#: a function's blocks and phis (an interpreter's loop, every local a phi at its header:
#: duktape's bytecode executor, 78 KB, 1.4 of its 3 CPU s); on the blocks of the lowering,
#: before its allocas become phis, it is cheap (0.4 s), and the second round after SROA then
#: has little left to do. Smaller code keeps the one round (the first costs ~10% of the
#: quick passes of the 475 KiB module of tools/bench/llvm_compile.py).
QUICK_BIG_PASSES = ("simplify_cfg", "sroa", "simplify_cfg", "dead_code_elimination")
BIG_FUNCTION_BYTES = 16_384


def code_bytes(raw: bytes) -> int:
    """The size of a module's code section (its function bodies) in bytes, read from the
    section headers of its binary ``raw`` (0 if it has none)."""
    from ..binary.reader import read_u32

    pos = 8
    while pos < len(raw):
        size, start = read_u32(raw, pos + 1)
        if raw[pos] == 10:
            return size
        pos = start + size
    return 0


def fast_isel(opt_level: int) -> bool:
    """Whether code compiled at ``opt_level`` goes through LLVM's fast instruction selector
    (:data:`QUICK` and level 0), so the lowering avoids what that selector hands to
    SelectionDAG (``lower.ModuleBuilder.quick``)."""
    return opt_level <= 0


def big_frames(module: Module, funcs=None) -> bool:
    """Whether a function of ``funcs`` (defined function indices; default all) has more
    locals than ``abi.BIG_FRAME_LOCALS``. At level 0 every local keeps its own native stack
    slot, so such a function's native frame is as big as its wasm frame: deep recursion
    through it would run out of the thread's native stack before the wasm stack bound
    (``Config.max_wasm_stack``) that every tier applies identically
    (``tests/test_stack_limits.py``). :data:`QUICK`'s SROA keeps locals in registers, as
    ``O2`` code does."""
    codes = module.codes
    nimp = module.num_imported_funcs
    if funcs is None:
        return any(len(code.locals) > abi.BIG_FRAME_LOCALS for code in codes)
    return any(len(codes[i - nimp].locals) > abi.BIG_FRAME_LOCALS for i in funcs if i >= nimp)


def cold_level(module: Module, opt_level: int, quick_bytes: int | None) -> int:
    """The pipeline a whole-module compile uses (``tier="llvm"``): when the module has more
    than ``quick_bytes`` of code (None: never), ``opt_level`` asks for more than the cheapest
    level and the module makes no tail calls (:func:`has_tail_calls`), level 0 (no IR pass,
    the fast code generator; :data:`QUICK` if a function has big frames, see
    :func:`big_frames`), else ``opt_level``. At ``O2`` LLVM takes ~65 CPU s per MB of wasm
    code, the cheap levels about a tenth of that (``tools/bench/llvm_compile.py``); level 0
    skips the quick passes (~0.2 CPU s per part of that tool's 475 KiB module), and its code
    ran as fast or faster (see ``wasm2py.tierup.LEVEL``)."""
    if quick_bytes is None or opt_level < 1 or code_bytes(module.raw) <= quick_bytes:
        return opt_level
    if has_tail_calls(module):
        return opt_level
    return QUICK if big_frames(module) else 0


def host_target_machine(opt_level: int = 2) -> llvm.TargetMachine:
    """A target machine for the host CPU (all its features), for jitting (``QUICK``: the
    fast code generator)."""
    _init()
    target = llvm.Target.from_default_triple()
    cpu, features = _host_cpu()
    tm = target.create_target_machine(
        cpu=cpu,
        features=features,
        opt=min(max(opt_level, 0), 3),
        jit=True,
    )
    tm._wasm2py_features = features  # (llvmlite cannot read them back; see simd_isa)
    tm._wasm2py_cpu = cpu  # (nor the CPU: see nan_bits)
    return tm


_EMIT_MACHINES = threading.local()


def _emit_machine(opt_level: int) -> llvm.TargetMachine:
    """This thread's target machine for emitting objects at ``opt_level`` (:func:`compile_part`),
    made once: a new one per compile also builds its subtarget anew at the first emission,
    ~1 CPU ms of each tier-up unit's ~5 (a unit of one small function: 2.1 ms to emit with a
    fresh machine, 1.4 with a used one, plus 0.35 ms to make it). Per thread: emitting is
    not documented as thread-safe, and an engine takes ownership of the machine it is given
    (so loading never uses these)."""
    machines = getattr(_EMIT_MACHINES, "by_level", None)
    if machines is None:
        machines = _EMIT_MACHINES.by_level = {}
    tm = machines.get(opt_level)
    if tm is None:
        tm = machines[opt_level] = host_target_machine(opt_level)
    return tm


@functools.cache
def _host_cpu() -> tuple[str, str]:
    """The host CPU's name and features (asked once: a target machine is made for every
    unit compiled or loaded, and flattening the features took most of a millisecond)."""
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def target_machine(triple: str, opt_level: int = 2, cpu: str = "", features: str = ""):
    """A target machine for ``triple`` (object-file emission, e.g. :data:`AARCH64_TRIPLE`)."""
    _init()
    target = llvm.Target.from_triple(triple)
    tm = target.create_target_machine(cpu=cpu, features=features, opt=min(opt_level, 3),
                                      reloc="pic")  # fmt: skip
    tm._wasm2py_features = features
    tm._wasm2py_cpu = cpu
    return tm


def has_big_functions(module: Module, funcs=None) -> bool:
    """Whether any of ``funcs`` (defined function indices; default all) has a body of more
    than :data:`BIG_FUNCTION_BYTES` (read from the code section's sizes: nothing decoded)."""
    nimp = module.num_imported_funcs
    codes = module.codes if funcs is None else [module.codes[i - nimp] for i in funcs]
    return any(code.end - code.start > BIG_FUNCTION_BYTES for code in codes)


def optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine, opt_level: int,
             big: bool = False) -> None:  # fmt: skip
    """Run LLVM's default ``O<opt_level>`` pipeline (new pass manager) over ``mod``, or the
    :data:`QUICK` one (``big``: the module has big functions, :func:`has_big_functions`)."""
    if opt_level == QUICK:
        pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=1))
        mpm = llvm.create_new_module_pass_manager()
        for name in QUICK_BIG_PASSES if big else QUICK_PASSES:
            getattr(mpm, f"add_{name}_pass")()
        mpm.run(mod, pb)
        return
    if opt_level <= 0:
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=min(opt_level, 3))
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)


def simd_isa(tm: llvm.TargetMachine) -> str:
    """Which target-specific SIMD intrinsics the lowering may use for ``tm``: ``"aarch64"``
    (NEON is always there), ``"x86"`` (the target has SSSE3: every x86-64 CPU since 2006, but
    not the baseline ``x86-64``) or ``""`` (portable IR only)."""
    triple = tm.triple
    if triple.startswith(("aarch64", "arm64")):
        return "aarch64"
    if triple.startswith("x86_64"):
        features = getattr(tm, "_wasm2py_features", "")
        if "+ssse3" in features.split(","):
            return "x86"
    return ""


def nan_bits(tm: llvm.TargetMachine) -> bool:
    """Whether the NaN check after a float store (``lower.FunctionLowerer.store_canonical``)
    tests the stored value's integer bits (AMD Zen CPUs: ``fcmp uno`` adds an operation to
    their FP scheduler, which nbody's stores fill) rather than ``fcmp uno`` (everywhere
    else: one instruction fewer, and Intel has no separate FP scheduler)."""
    return getattr(tm, "_wasm2py_cpu", "").startswith("znver")


def parse(text: str, tm: llvm.TargetMachine) -> llvm.ModuleRef:
    mod = llvm.parse_assembly(text)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    return mod


def cache_key(module: Module, opt_level: int, tm: llvm.TargetMachine,
              fuel_costs=None, epoch: bool = False, guard: bool = False,
              resumable: bool = True) -> str | None:  # fmt: skip
    """The object-cache key of a module: its bytes, the optimisation level, the fuel costs (if
    any), epoch checks, guard-page mode, the host target (triple, CPU, features), the LLVM and llvmlite versions
    and the source of this tier, of the fuel rule, of the frame costs and of the trap codes
    (compiled code holds their status numbers), so a changed lowering never reuses stale code.
    None when the module has no bytes."""
    if not module.raw:
        return None
    h = hashlib.sha256()
    h.update(hashlib.sha256(module.raw).digest())
    hash_compiler(h, opt_level, fuel_costs, tm, epoch, resumable)
    h.update(b":guard\0" if guard else b"\0")
    hash_sources(h)
    return h.hexdigest()


def hash_compiler(h, opt_level: int, fuel_costs, tm: llvm.TargetMachine, epoch: bool,
                  resumable: bool = True) -> None:  # fmt: skip
    """Feed ``h`` the options and the compiler that machine code depends on: fuel costs, epoch
    checks, suspend code (``resumable``), optimisation level, host target (triple, CPU,
    features), LLVM and llvmlite versions."""
    h.update(b"fuel:" + fuel_costs.key() if fuel_costs is not None else b"nofuel")
    h.update(b":epoch\0" if epoch else b"\0")
    if not resumable:  # (code with suspend code keeps the keys it had before the option)
        h.update(b":nosuspend\0")
    for part in (str(opt_level), tm.triple, *_host_cpu(), str(llvm.llvm_version_info),
                 llvmlite.__version__):  # fmt: skip
        h.update(part.encode() + b"\0")


def hash_sources(h, extra: tuple[str, ...] = ()) -> None:
    """Feed ``h`` the source machine code depends on besides the module: this tier's lowering
    (and the modules of this package named in ``extra``), the fuel rule, the trap codes and the
    frame costs."""
    here = Path(__file__).resolve().parent
    for name in ("abi.py", "lower.py", "builder.py", "recorder.py", "simd.py", "suspend.py",
                 "jit.py", "guard.py",
                 *extra):  # fmt: skip
        h.update((here / name).read_bytes())
    for name in ("fuel.py", "errors.py"):
        h.update((here.parent / name).read_bytes())
    for path in sorted((here.parent / "validate").glob("*.py")):  # frame costs
        h.update(path.read_bytes())


def compile_module(module: Module, opt_level: int = 2, keep_ir: bool = False,
                   cache_dir: str | os.PathLike | None = None,
                   fuel_costs=None, isolated: bool = False, epoch: bool = False,
                   module_name: str | None = None,
                   objects: tuple[bytes, list[bytes]] | None = None,
                   guard: bool | None = None, resumable: bool = True) -> CompiledModule:  # fmt: skip
    """Lower, optimise and jit a decoded, validated module for the host.

    Args:
        opt_level: LLVM's pipeline level (0-3).
        keep_ir: keep the unoptimised IR text in ``CompiledModule.ir_text`` (of a compile in
            this process).
        cache_dir: a directory for machine code: a module compiled before (same bytes, level,
            fuel costs, host and compiler, see :func:`cache_key`) is loaded from its object
            file in a few milliseconds instead of compiled.
        fuel_costs: a :class:`~wasm2py.config.FuelCosts`: the code meters fuel exactly like the
            Python tier with these costs (same segments, same charges: see
            :mod:`wasm2py.fuel`); instantiate it only in stores with
            ``Config(consume_fuel=True)``. None: no fuel code at all.
        isolated: compile in a worker process (:mod:`.worker`): a crash inside LLVM raises
            :class:`~wasm2py.errors.CompileError` (naming ``module_name`` and the function)
            instead of ending this process. Big modules (:func:`plan_parts`) always compile
            in workers.
        epoch: check the store's epoch deadline at function entries and loop headers
            (:mod:`wasm2py.runtime.epoch`).
        objects: ``(flags, objects)`` from :func:`compile_objects` (made earlier, e.g. in the
            background by tier-up, with the same ``fuel_costs``, ``epoch`` and ``guard``): only
            loaded (and cached).
        guard: guard-page bounds checks (:mod:`.guard`; None: where the host has them, see
            :func:`guard_mode`; False: explicit checks everywhere).
        resumable: give the functions that can reach an import suspend code, so that
            resumable calls run jitted (``Config.llvm_resumable``); False: none (a store
            whose code has none runs resumable calls in the Python tier,
            ``NativeRuntime.suspending``).

    Raises:
        UnsupportedFeature: the module uses something the LLVM tier does not implement.
        CompileError: LLVM failed in a worker process.
    """
    t0 = time.perf_counter()
    tm = host_target_machine(opt_level)
    guard = guard_mode(guard, fuel_costs)
    key = cache_key(module, opt_level, tm, fuel_costs, epoch, guard,
                    resumable) if cache_dir is not None else None  # fmt: skip
    path = Path(cache_dir) / f"llvm-{key}.o" if key is not None else None
    # authenticated like the Python tier's cache: machine code is only ever loaded from a
    # file this user's wasm2py wrote (see wasm2py.cache.store_blob)
    cached = load_blob(path) if path is not None and objects is None else None
    if cached is not None or objects is not None:
        # no need to decode the bodies again: the flags (has loops or calls) are stored too
        flags, objects = _unpack_blob(cached) if cached is not None else objects
        engine = _load_objects(objects)
        timings = {"load": time.perf_counter() - t0}
        text = ""
        if cached is None and path is not None:
            store_blob(path, _pack_blob(flags, objects))
    else:
        facts = body_facts(module)
        flags = facts.long
        parts = plan_parts(module)
        module = with_bodies(module)
        text = ""
        if isolated or len(parts) > 1:
            from .worker import compile_objects as in_workers

            pausable = frozenset() if not resumable else None if fuel_costs else facts.pausable
            objects = in_workers(module, opt_level, fuel_costs, parts, module_name, epoch, guard,
                                 pausable, any(facts.tail_calls))
            t1 = time.perf_counter()
            engine = _load_objects(objects)
            phase = "parallel" if len(parts) > 1 else "worker"
            timings = {phase: t1 - t0, "link": time.perf_counter() - t1}
        else:
            from .lower import build_text

            text = build_text(module, fuel_costs=fuel_costs, simd_isa=simd_isa(tm),
                              nan_bits=nan_bits(tm), epoch=epoch,
                              guard=guard, landings=_landings(),
                              quick=fast_isel(opt_level),
                              pausable=None if resumable else frozenset(),
                              tail_calls=any(facts.tail_calls))  # fmt: skip
            t1 = time.perf_counter()
            mod = parse(text, tm)
            t2 = time.perf_counter()
            optimize(mod, tm, opt_level, has_big_functions(module))
            t3 = time.perf_counter()
            _landing_symbols()
            engine = new_engine(mod, tm)
            objects = []
            # kept for the cache and for Module.serialize (objects are small next to the IR)
            engine.set_object_cache(lambda _mod, buf: objects.append(bytes(buf)), None)
            engine.finalize_object()
            t4 = time.perf_counter()
            timings = {"lower": t1 - t0, "parse": t2 - t1, "optimize": t3 - t2,
                       "codegen": t4 - t3}  # fmt: skip
        if path is not None and objects:
            store_blob(path, _pack_blob(flags, objects))
    compiled = _finish(module, opt_level, engine, flags, objects, timings,
                       text if keep_ir else "", fuel_costs, epoch, guard)  # fmt: skip
    compiled.resumable = resumable
    return compiled


def load_compiled(module: Module, machine_code: bytes, opt_level: int, fuel_costs=None,
                  epoch: bool = False, guard: bool = False) -> CompiledModule:  # fmt: skip
    """A :class:`CompiledModule` from machine code :meth:`CompiledModule.to_bytes` returned
    (the caller vouches for it: it runs as is), for ``module`` compiled with the same options
    (``guard``: the resolved mode, :attr:`CompiledModule.guard`).
    """
    t0 = time.perf_counter()
    flags, objects = _unpack_blob(machine_code)
    engine = _load_objects(objects)
    return _finish(module, opt_level, engine, flags, objects,
                   {"load": time.perf_counter() - t0}, "", fuel_costs, epoch, guard)  # fmt: skip


def _finish(module: Module, opt_level: int, engine, flags: bytes, objects: list[bytes],
            timings: dict, text: str, fuel_costs, epoch: bool,
            guard: bool = False) -> CompiledModule:  # fmt: skip
    nimp = module.num_imported_funcs
    ndef = len(module.funcs)
    table = engine.get_global_value_address(abi.FUNCTABLE)
    addrs = (ctypes.c_void_p * max(ndef, 1)).from_address(table) if ndef else []
    funcs = {nimp + k: addrs[k] for k in range(ndef)}
    table = engine.get_global_value_address(abi.BODYTABLE) if ndef else 0
    bodies = {}
    if table:  # (0: the module has no bodies, see lower.ModuleBuilder.bodies)
        baddrs = (ctypes.c_void_p * ndef).from_address(table)
        bodies = {nimp + k: baddrs[k] for k in range(ndef) if baddrs[k]}
    ntypes = len(module.types)
    tt = engine.get_global_value_address(abi.TRAMPTABLE)
    tramps = list((ctypes.c_void_p * ntypes).from_address(tt)) if ntypes else []
    types = module.func_type_indices()
    entries = {i: engine.get_function_address(abi.entry_name(types[i]))
               for i in abi.entry_funcs(module)}  # fmt: skip
    perfmap.record(engine, objects, module)
    return CompiledModule(
        module=module, opt_level=opt_level, layout=abi.Layout(module), funcs=funcs,
        bodies=bodies, body_table=table, trampolines=tramps, entries=entries, engine=engine, timings=timings, ir_text=text,
        long_funcs=frozenset(nimp + k for k, f in enumerate(flags) if f),
        fuel_costs=fuel_costs, epoch=epoch, guard=guard, machine_code=_pack_blob(flags, objects),
    )  # fmt: skip


#: modules with more instructions than this are compiled in parallel parts (a part per core,
#: at most ``MAX_PARTS``, each of at least ``PART_INSTRUCTIONS``): LLVM's work is per module, so
#: a big module otherwise uses one core. The price: no inlining across parts.
PART_INSTRUCTIONS = 40_000
MAX_PARTS = 8


def plan_parts(module: Module, cores: int | None = None) -> list[tuple[range, bool]]:
    """How to split ``module`` (with its bodies: see :func:`with_bodies`) for a parallel
    compile: contiguous ranges of defined functions of about equal instruction counts, the
    first with the shell (trampolines, entries, address tables). One part (the whole module)
    when it is small or there is one core."""
    nimp = module.num_imported_funcs
    sizes = body_facts(module).sizes
    total = sum(sizes)
    cores = cores if cores is not None else (os.cpu_count() or 1)
    n = max(1, min(cores, MAX_PARTS, total // PART_INSTRUCTIONS))
    if n == 1:
        return [(range(nimp, nimp + len(sizes)), True)]
    parts, start, acc = [], 0, 0
    for k, size in enumerate(sizes):
        acc += size
        if acc >= total * (len(parts) + 1) / n and len(parts) < n - 1:
            parts.append((range(nimp + start, nimp + k + 1), not parts))
            start = k + 1
    parts.append((range(nimp + start, nimp + len(sizes)), not parts))
    return parts


def compile_objects(module: Module, opt_level: int = 2, fuel_costs=None,
                    module_name: str | None = None, epoch: bool = False,
                    guard: bool | None = None,
                    resumable: bool = True) -> tuple[bytes, list[bytes]]:  # fmt: skip
    """Compile a decoded, validated module in worker processes (:mod:`.worker`): ``(flags,
    objects)`` for :func:`compile_module`'s ``objects`` (give it the same ``guard`` and
    ``resumable``).

    Raises:
        UnsupportedFeature, CompileError: as for :func:`compile_module`.
    """
    from .worker import compile_objects as in_workers

    facts = body_facts(module)
    parts = plan_parts(module)
    return facts.long, in_workers(with_bodies(module), opt_level, fuel_costs, parts, module_name,
                                  epoch, guard_mode(guard, fuel_costs),
                                  frozenset() if not resumable else
                                  None if fuel_costs else facts.pausable,
                                  any(facts.tail_calls))  # fmt: skip


def compile_part(module: Module, opt_level: int, fuel_costs, part, batch=None,
                 epoch: bool = False, guard: bool = False,
                 pausable: frozenset[int] | None = None, tag: str | None = None,
                 tail_calls: bool | None = None,
                 spare: list | None = None) -> bytes:  # fmt: skip
    """The relocatable object of one part of a module (see :func:`plan_parts`), or of the
    whole module (``part=None``), or of a compilation unit of some functions (``batch``:
    ``(functions, with trampolines)``, see :mod:`.units`); ``pausable``: the module's
    :func:`.facts.pausable_funcs` if known; ``tag``: the symbols the object defines for
    the loader (entries, trampolines, tables) are named ``<name>.<tag>`` (see
    :func:`tag_symbols`); ``tail_calls``: whether the module makes tail calls, if known
    (:func:`has_tail_calls`; else the lowering scans every body). ``spare``: a list the IR
    (Python's and LLVM's) goes into instead of being freed here, for the caller to
    :func:`drop` when it likes (a compile worker: at its next job, or never if it ends
    first; see ``worker.serve``)."""
    from .lower import build_text

    tm = _emit_machine(opt_level)
    text = build_text(module, spare, fuel_costs=fuel_costs, simd_isa=simd_isa(tm),
                      nan_bits=nan_bits(tm), part=part,
                      batch=batch, epoch=epoch, guard=guard, landings=_landings(),
                      pausable=pausable, quick=fast_isel(opt_level),
                      tail_calls=tail_calls)  # fmt: skip
    mod = parse(text, tm)
    if tag is not None:
        tag_symbols(mod, tag)
    funcs = batch[0] if batch is not None else part[0] if part is not None else None
    optimize(mod, tm, opt_level, has_big_functions(module, funcs))
    if spare is not None:
        spare.append(mod)
    return tm.emit_object(mod)


def tag_symbols(mod: llvm.ModuleRef, tag: str) -> None:
    """Rename every definition ``mod`` exports (external linkage: entries, trampolines, the
    address tables) to ``<name>.<tag>``, so that objects of different compilation units can
    be loaded into one execution engine (:class:`.units.UnitEngine`): their names would
    collide otherwise (every unit has a ``functable``), and a later object's definition
    silently replaces an earlier one's in the engine's symbol table."""
    for values in (mod.functions, mod.global_variables):
        for v in values:
            if not v.is_declaration and v.linkage == llvm.Linkage.external:
                v.name = f"{v.name}.{tag}"


def drop(spare: list) -> None:
    """Free what :func:`compile_part` put in ``spare`` (the lowering's IR, dismantled: it is
    full of reference cycles; LLVM's modules) and empty it; the objects that ``build_text``
    froze are the collector's again (``gc.unfreeze``)."""
    from llvmlite import ir

    from .lower import dismantle

    if not spare:
        return
    for x in spare:
        if isinstance(x, ir.Module):
            dismantle(x)
    spare.clear()
    gc.unfreeze()


_RECORDER_ENGINE: list = []
_RECORDER_LOCK = threading.Lock()


def recorder_address() -> int:
    """The address of the process's trap-trace recorder (``abi.RT_RECORD``), jitted on first
    use (its engine lives as long as the process)."""
    with _RECORDER_LOCK:
        if not _RECORDER_ENGINE:
            from .recorder import recorder_text

            _init()
            mod = llvm.parse_assembly(recorder_text())
            mod.verify()
            # (level 0: it runs only at traps; 4 CPU ms to jit instead of 7, in every process
            # that runs jitted code)
            engine = new_engine(mod, host_target_machine(0))
            engine.finalize_object()
            _RECORDER_ENGINE.append((engine, engine.get_function_address(abi.RECORDER)))
        return _RECORDER_ENGINE[0][1]


def _landings() -> bool:
    """Whether code for this host has landings (see :mod:`.guard`)."""
    from .guard import available

    return available()


def _landing_symbols() -> None:
    """Before host code is loaded: the helpers its entry wrappers and trampolines call, and
    the fault handler (see :mod:`.guard`), where guard pages are available."""
    from .guard import available, install

    if available():
        install()


def new_engine(mod: llvm.ModuleRef, tm: llvm.TargetMachine):
    """An MCJIT execution engine for ``mod`` (which it owns), generating code with ``tm``.

    The engine owns ``tm`` too: LLVM's ``EngineBuilder::create`` takes it, and disposing of
    the engine deletes it. A target machine given to a second engine is therefore freed when
    the first engine goes, and the second one (and any later disposal of it) then works on
    freed memory: that is how a script loading objects into three engines in turn with one
    target machine crashed. So each engine needs a target machine of its own, and one that
    an engine already owns is refused here. Don't use ``tm`` for anything else once the
    engine may be gone (as long as the engine lives, ``tm`` stays valid).

    Raises:
        ValueError: ``tm`` belongs to an engine already.
    """
    if tm._owned:  # (llvmlite's flag: set by create_mcjit_compiler)
        raise ValueError("this target machine belongs to an execution engine already: "
                         "make one per engine (host_target_machine)")  # fmt: skip
    return llvm.create_mcjit_compiler(mod, tm)


def _load_objects(objects: list[bytes]):
    """An execution engine with ``objects`` (for the host) loaded and linked to each other, on
    a target machine of its own (see :func:`new_engine`; loading generates no code, so the
    target machine's level does not matter)."""
    _landing_symbols()
    tm = host_target_machine()
    engine = new_engine(parse("", tm), tm)
    for obj in objects:
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    return engine


def _pack_blob(flags: bytes, objects: list[bytes]) -> bytes:
    """``[n][n flags][count][(size, object)...]`` (little-endian u32 and u64)."""
    out = [len(flags).to_bytes(4, "little"), flags, len(objects).to_bytes(4, "little")]
    for obj in objects:
        out += [len(obj).to_bytes(8, "little"), obj]
    return b"".join(out)


def _unpack_blob(blob: bytes) -> tuple[bytes, list[bytes]]:
    n = int.from_bytes(blob[:4], "little")
    flags = blob[4 : 4 + n]
    pos = 4 + n
    count = int.from_bytes(blob[pos : pos + 4], "little")
    pos += 4
    objects = []
    for _ in range(count):
        size = int.from_bytes(blob[pos : pos + 8], "little")
        objects.append(blob[pos + 8 : pos + 8 + size])
        pos += 8 + size
    return flags, objects


def optimized_ir(module: Module, opt_level: int = 2, fuel_costs=None,
                 guard: bool | None = None) -> str:  # fmt: skip
    """The optimised IR of a module for the host (for reading and debugging; ``guard`` as for
    :func:`compile_module`)."""
    from .lower import build_text

    tm = host_target_machine(opt_level)
    mod = parse(build_text(with_bodies(module), fuel_costs=fuel_costs, simd_isa=simd_isa(tm),
                           nan_bits=nan_bits(tm),
                           guard=guard_mode(guard, fuel_costs), landings=_landings(),
                           quick=fast_isel(opt_level)),
                tm)  # fmt: skip
    optimize(mod, tm, opt_level, has_big_functions(module))
    return str(mod)


def emit_object(module: Module, triple: str = AARCH64_TRIPLE, opt_level: int = 2,
                fuel_costs=None) -> bytes:  # fmt: skip
    """Compile a module to a relocatable object file for ``triple`` (ELF for Linux triples)."""
    from .lower import build_text

    tm = target_machine(triple, opt_level)
    mod = parse(build_text(with_bodies(module), fuel_costs=fuel_costs, simd_isa=simd_isa(tm),
                           nan_bits=nan_bits(tm)),
                tm)  # fmt: skip
    optimize(mod, tm, opt_level, has_big_functions(module))
    return tm.emit_object(mod)
