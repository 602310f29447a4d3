"""Run the LLVM tier's AArch64 machine code under ``qemu-aarch64`` and compare it with the x86-64
LLVM tier and the Python tier.

A :class:`Case` is a module and a sequence of calls of its exports. :func:`run_aarch64` compiles
the module for AArch64 with the tier's own public pieces (:func:`wasm2py.llvm.emit_object`, and
the symbol names of :mod:`wasm2py.llvm.abi`), links it with the freestanding C driver
``driver.c`` (compiled once, cached) and a small glue object listing the entry wrappers, and runs
the program once under ``qemu-aarch64`` for all the calls. :func:`run_reference` makes the same
calls through the embedding API in the Python or the (host) LLVM tier. Both give an
:class:`Observation`: each call's results or trap code, its trap trace and the fuel left, the host
calls it made (every imported function is a recording stub whose results depend only on the
import, the call number and the result position), and the final memory, globals and tables.
:func:`compare` lists the differences.

The instance state the driver starts from is the runtime's own: the module is instantiated by
:func:`wasm2py.runtime.instance.instantiate` (imports bound, globals evaluated, active segments
copied) and the state is read where the LLVM tier attaches its code, before the start function,
which the driver then calls first.

Driver protocol (64-bit little-endian words; ``driver.c`` reads them in this order): magic,
the number of words that follow, context size, stack size; types ``n, (slot, id)*``; ``nfuncs, nimports``, per import
``typeidx, type id, fn slot, env slot, argument slots, nresults, result kinds*``, per defined
function its type id; memories ``n, (base slot, size slot, pages, max, nchunks,
(page4k, 512 words)*)*``; globals
``n, (slot, kind, lo, hi)*``; tables ``n, (slot, kind, size, max, entries*)*``; data segments
``n, (pointer slot, length slot, length, words*)*``; element segments
``n, (pointer slot, length slot, kind, length, entries*)*``; tags ``n, (slot, uid, parameter
slots)*``; declared subtyping ``n, (sub type id, super type id)*``; then ``rem, ncalls`` and per
call ``function index, fuel, nargs, argument slots*, result slots``. References are function index
+ 1 or extern handle (0: null). Output: magic, records base, nfuncs; events ``HOST k n slots*``
and ``CALL status fuel n slots* nframes (own, where)* [tag n slots*]`` (the bracket for an
uncaught exception); ``END`` with memories
``n, (pages, nchunks, (page4k, 512 words)*)*``, globals, tables and the context ``n, words*``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import wasm2py
from wasm2py.runtime.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from wasm2py.types import FuncType, GlobalType, MemoryType, TableType, ValType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE_DIR = ROOT / ".cache" / "aarch64"
DRIVER = HERE / "driver.c"
#: the guest stack (``qemu-aarch64 -s``); the driver's stack limit is derived from it
STACK_SIZE = 64 << 20
#: clang's target for the driver (any AArch64 Linux triple: the driver uses no headers)
CLANG_TARGET = "aarch64-linux-gnu"
INSTALL_HINT = "apt-get install clang lld qemu-user"

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
IN_MAGIC = OUT_MAGIC = 0x3436686372616177  # "waarch64"
OUT_HOST, OUT_CALL, OUT_END = 1, 2, 3
KINDS = {ValType.I32: 0, ValType.I64: 1, ValType.F32: 2, ValType.F64: 3, ValType.V128: 4,
         ValType.FUNCREF: 5, ValType.EXTERNREF: 6}  # fmt: skip


def _kind(t) -> int:
    """The driver's kind code of value type ``t`` (a reference type by its storage: 3.0
    decoding gives element segments and tables :class:`~wasm2py.types.RefType` objects)."""
    return KINDS[t] if t in KINDS else KINDS[t.storage]


#: fuel given to calls of a case without fuel metering, and to start functions
NO_FUEL = 0


class ToolMissing(RuntimeError):
    """A program the harness needs is not installed (the message names it and the package)."""


# -- the toolchain --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    """The three programs the harness runs: clang (AArch64 target), ld.lld, qemu-aarch64."""

    clang: str
    lld: str
    qemu: str


@cache
def toolchain() -> Toolchain:
    """The installed toolchain.

    Raises:
        ToolMissing: one of the programs is missing, or clang cannot compile for AArch64.
    """
    found = {}
    for name, package in (("clang", "clang"), ("ld.lld", "lld"), ("qemu-aarch64", "qemu-user")):
        path = shutil.which(name)
        if path is None:
            raise ToolMissing(f"{name} is not installed (Debian package {package}; "
                              f"{INSTALL_HINT})")  # fmt: skip
        found[name] = path
    tc = Toolchain(found["clang"], found["ld.lld"], found["qemu-aarch64"])
    driver_object(tc)  # clang without the AArch64 backend fails here, with its message
    return tc


def abi_header() -> str:
    """``abi.h`` for ``driver.c``: every integer constant of :mod:`wasm2py.llvm.abi` (all
    upper-case names, so a new slot or status is there without edits here) as ``W2P_<name>``,
    plus ``W2P_REC_WORDS`` and ``W2P_STACK_MARGIN``."""
    from wasm2py.llvm import abi, native

    values = {name: v for name, v in vars(abi).items()
              if name.isupper() and not name.startswith("_") and type(v) is int}  # fmt: skip
    values["REC_WORDS"] = abi.REC_SIZE // 8
    values["STACK_MARGIN"] = native.STACK_MARGIN
    lines = ["/* generated by tools/aarch64/harness.py from wasm2py/llvm/abi.py */"]
    lines += [f"#define W2P_{k} {v}UL" for k, v in sorted(values.items())]
    return "\n".join(lines) + "\n"


def _clang_version(clang: str) -> str:
    return subprocess.run([clang, "--version"], capture_output=True, text=True).stdout


@cache
def driver_object(tc: Toolchain) -> Path:
    """``driver.c`` compiled for AArch64 (cached under ``.cache/aarch64`` by a hash of the
    source, the generated header and the compiler version)."""
    header = abi_header()
    src = DRIVER.read_bytes()
    key = hashlib.sha256(src + header.encode() + _clang_version(tc.clang).encode()).hexdigest()
    out = CACHE_DIR / f"driver-{key[:20]}.o"
    if out.is_file():
        return out
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        (Path(tmp) / "abi.h").write_text(header)
        obj = Path(tmp) / "driver.o"
        proc = subprocess.run(
            [tc.clang, f"--target={CLANG_TARGET}", "-O2", "-ffreestanding", "-fno-builtin",
             "-nostdlib", "-fno-stack-protector", "-Wall", "-Werror", "-I", tmp, "-c",
             str(DRIVER), "-o", str(obj)],
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ToolMissing(f"clang cannot compile for {CLANG_TARGET} (is its AArch64 "
                              f"backend installed?):\n{proc.stderr.strip()}")  # fmt: skip
        os.replace(obj, out)  # atomic: parallel test workers may build it too
    return out


# -- cases and observations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Extern:
    """The externref ``n`` of a case (handle ``n + 1`` in native code; equal iff ``n`` is)."""

    n: int


@dataclass
class Call:
    """A call of export ``name`` with ``args`` (Python values as the embedding API takes them);
    ``fuel``: the fuel to start it with (cases with fuel metering only)."""

    name: str
    args: tuple = ()
    fuel: int | None = None


@dataclass
class Case:
    """A module (binary) and the calls to make, in order, on one instance of it."""

    name: str
    wasm: bytes
    calls: list[Call]
    fuel_costs: object = None
    opt_level: int = 2


@dataclass
class Outcome:
    """One call: ``("ok", values)``, ``("trap", TrapCode name)`` or, for an uncaught wasm
    exception, ``("exn", tag index, values)``; the fuel left (metered cases); the trap trace ``[(function index, wasm offset)]`` (LLVM tiers); the host calls it
    made ``[(import index, arguments)]``."""

    result: tuple
    fuel: int | None = None
    frames: list | None = None
    hosts: list = field(default_factory=list)


@dataclass
class Observation:
    """What running a case did. Values are ``(kind, bits)`` (see :func:`encode`)."""

    calls: list[Outcome]
    start_hosts: list
    memories: list[bytes]
    globals: list
    tables: list
    #: which context slots are non-zero at the end (the LLVM tiers; None for the Python tier):
    #: the driver must set every slot the x86-64 tier's instance sets, and no other
    context: list[bool] | None = None


def encode(v, t: ValType, funcs: dict[int, int]):
    """A value as ``(type name, integer)``: integers unsigned, floats as bits, v128 as its
    128-bit integer, a funcref as function index + 1, an externref as its handle (0: null).
    ``funcs`` maps ``id(Func)`` to its index."""
    if not isinstance(t, ValType):
        t = t.storage  # a 3.0 reference type is stored as its hierarchy's top
    name = t.name.lower()
    if t is ValType.I32:
        return name, v & M32
    if t is ValType.I64:
        return name, v & M64
    if t is ValType.F32:
        return name, f32_to_bits(v)
    if t is ValType.F64:
        return name, f64_to_bits(v)
    if t is ValType.V128:
        return name, v
    if v is None:
        return name, 0
    if t is ValType.FUNCREF:
        return name, funcs.get(id(v), -2) + 1
    return name, v.n + 1 if isinstance(v, Extern) else -1


def _slots(v, t: ValType, funcs: dict[int, int]) -> list[int]:
    _, bits = encode(v, t, funcs)
    if bits < 0:
        raise ValueError(f"a {t.name} the driver cannot represent: {v!r}")
    if t is ValType.V128:
        return [bits & M64, bits >> 64]
    return [bits]


def _nslots(types) -> int:
    return sum(2 if t is ValType.V128 else 1 for t in types)


def host_word(k: int, n: int, j: int) -> int:
    """Word ``j`` of the results of call ``n`` of import ``k`` (``host_word`` in the driver)."""
    x = (((k << 40) ^ (n << 8) ^ j) + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def host_results(k: int, n: int, types) -> list:
    """The results (Python values) of call ``n`` of imported function ``k``: what the driver's
    recording stub returns (floats are never inf or NaN; references are null)."""
    out = []
    for j, t in enumerate(types):
        v = host_word(k, n, j)
        if t is ValType.I32:
            out.append(v & M32)
        elif t is ValType.I64:
            out.append(v)
        elif t is ValType.F32:
            out.append(f32_from_bits(v & 0xFF7FFFFF))
        elif t is ValType.F64:
            out.append(f64_from_bits(v & 0xFFEFFFFFFFFFFFFF))
        elif t is ValType.V128:
            out.append(v | (host_word(k, n, j + 128) << 64))
        else:
            out.append(None)
    return out


def _default_global(t: ValType):
    return {ValType.I32: 666, ValType.I64: 666, ValType.F32: f32_from_bits(0x4426A666),
            ValType.F64: 666.6, ValType.V128: 0}.get(t)  # fmt: skip


def make_imports(store, module, log: list) -> list:
    """One value per import of ``module`` (decoded): every function a recording stub
    (appending ``(import index, arguments, parameter types)`` to ``log``), globals with the
    spectest values (null references), memories and tables of the imported type."""
    out = []
    k = 0
    for imp in module.imports:
        kind = imp.kind.name
        if kind == "FUNC":
            ft = module.types[imp.type]
            out.append(wasm2py.Func(store, ft, _stub(k, ft, log)))
            k += 1
        elif kind == "GLOBAL":
            gt: GlobalType = imp.type
            out.append(wasm2py.Global(store, gt, _default_global(gt.valtype)))
        elif kind == "MEMORY":
            out.append(wasm2py.Memory(store, MemoryType(imp.type.limits)))
        else:
            tt: TableType = imp.type
            out.append(wasm2py.Table(store, TableType(tt.elem, tt.limits), None))
    return out


def _stub(k: int, ft: FuncType, log: list):
    calls = [0]

    def stub(*args):
        log.append((k, args, ft.params))
        r = host_results(k, calls[0], ft.results)
        calls[0] += 1
        if not r:
            return None
        return r[0] if len(r) == 1 else tuple(r)

    return stub


def func_types_of_exports(module) -> dict[str, tuple[int, FuncType]]:
    """Exported functions of a decoded module: name -> (function index, type)."""
    types = module.func_types()
    return {e.name: (e.index, types[e.index]) for e in module.exports if e.kind.name == "FUNC"}


# -- the reference tiers ----------------------------------------------------------------------------


def _config(case: Case, tier: str) -> wasm2py.Config:
    # explicit bounds checks on x86-64 too: the same lowering as the AArch64 objects (the
    # frames of guard-page traps have no wasm offsets, see wasm2py/llvm/guard.py)
    kw = {"tier": tier, "cache": False, "llvm_opt_level": case.opt_level,
          "llvm_guard_pages": False}  # fmt: skip
    if case.fuel_costs is not None:
        kw.update(consume_fuel=True, fuel_costs=case.fuel_costs)
    return wasm2py.Config(**kw)


def run_reference(case: Case, tier: str) -> Observation:
    """Run ``case`` in ``tier`` ("python" or "llvm": the host's LLVM tier) through the API.

    Raises:
        wasm2py.Error: the module does not compile or instantiate (a ``Trap`` included).
    """
    store = wasm2py.Store(wasm2py.Engine(_config(case, tier)))
    module = wasm2py.Module(store.engine, case.wasm)
    decoded = module._module
    log: list = []
    if case.fuel_costs is not None:
        store.set_fuel(1 << 40)
    inst = wasm2py.Instance(store, module, make_imports(store, decoded, log))
    funcs = {id(f): i for i, f in enumerate(inst._state.funcs)}

    def hosts() -> list:
        out = [(k, tuple(encode(a, t, funcs) for a, t in zip(args, params)))
               for k, args, params in log]  # fmt: skip
        del log[:]
        return out

    start_hosts = hosts()
    calls = []
    exports = func_types_of_exports(decoded)
    for call in case.calls:
        _, ft = exports[call.name]
        if call.fuel is not None:
            store.set_fuel(call.fuel)
        frames = None
        try:
            r = inst.exports[call.name](*call.args)
        except wasm2py.Trap as t:
            result = ("trap", t.code.name)
            if tier == "llvm":
                frames = [(index, offset) for index, _, offset in t.frames]
        except wasm2py.WasmException as e:
            params = e.exn.tag.type.params
            result = ("exn", inst._state.tags.index(e.exn.tag),
                      tuple(encode(v, t, funcs) for v, t in zip(e.values, params)))  # fmt: skip
        else:
            vals = () if not ft.results else (r,) if len(ft.results) == 1 else tuple(r)
            result = ("ok", tuple(encode(v, t, funcs) for v, t in zip(vals, ft.results)))
        fuel = store.get_fuel() if call.fuel is not None else None
        calls.append(Outcome(result, fuel, frames, hosts()))
    state = inst._state
    if case.fuel_costs is not None:
        store.set_fuel(1 << 40)
    memories = [bytes(m.view) for m in state.memories]
    glob = [encode(g.value, g.type.valtype, funcs) for g in state.globals]
    tables = [[encode(e, t.type.elem, funcs) for e in t.elements] for t in state.tables]
    llvm = getattr(inst, "_llvm", None)
    context = None if llvm is None else [w != 0 for w in llvm.ctx]
    return Observation(calls, start_hosts, memories, glob, tables, context)


# -- AArch64 -----------------------------------------------------------------------------------------


class _Snapshot(Exception):
    """Stops instantiation where the LLVM tier would attach (before the start function)."""


def initial_state(case: Case):
    """The runtime's instance state of ``case``'s module, as the LLVM tier finds it when it
    attaches (imports bound, globals set, active segments copied; start not run yet).

    Raises:
        wasm2py.Error: the module does not compile, link or instantiate.
    """
    from wasm2py.externs import to_runtime
    from wasm2py.runtime.instance import instantiate

    store = wasm2py.Store(wasm2py.Engine(_config(case, "python")))
    module = wasm2py.Module(store.engine, case.wasm)
    imports = [to_runtime(v) for v in make_imports(store, module._module, [])]
    seen = []

    def attach(state, owner):
        seen.append(state)
        raise _Snapshot

    try:
        instantiate(store, module._module, module._code, imports, None, attach)
    except _Snapshot:
        pass
    return module._module, seen[0]


def driver_input(case: Case, decoded, state, stack_size: int = STACK_SIZE,
                 max_call_depth: int | None = None) -> bytes:  # fmt: skip
    """The words ``driver.c`` reads (see the module docstring); ``max_call_depth``: the
    call-depth budget (in frame-cost words, :mod:`wasm2py.runtime.callstack`) instead of the
    store's."""
    from wasm2py.deftypes import module_deftypes, type_id_sub
    from wasm2py.llvm import abi

    layout = abi.Layout(decoded)
    funcs = {id(f): i for i, f in enumerate(state.funcs)}
    w: list[int] = [layout.size, stack_size]
    w += [len(decoded.types)]
    # a defined type's id is its declared one (its supertype and recursion group count), as
    # the LLVM tier's instance sets it
    deftypes = module_deftypes(decoded)
    for i in range(len(decoded.types)):
        w += [layout.type_slot(i), deftypes[i].id]
    nimp = decoded.num_imported_funcs
    w += [len(state.funcs), nimp]
    k = 0
    for imp in decoded.imports:
        if imp.kind.name != "FUNC":
            continue
        ft = decoded.types[imp.type]
        w += [imp.type, state.funcs[k].type_id, *layout.import_slots(k), _nslots(ft.params),
              len(ft.results), *(_kind(t) for t in ft.results)]  # fmt: skip
        k += 1
    w += [state.funcs[i].type_id for i in range(nimp, len(state.funcs))]
    w += [len(state.memories)]
    for k, mem in enumerate(state.memories):
        data = bytes(mem.view)
        chunks = [p for p in range(len(data) // 4096) if any(data[p * 4096 : p * 4096 + 4096])]
        w += [*layout.memory_slots(k), mem.pages, mem.max_pages, len(chunks)]
        for p in chunks:
            w += [p, *struct.unpack_from("<512Q", data, p * 4096)]
    w += [len(state.globals)]
    for g, gi in enumerate(state.globals):
        t = gi.type.valtype
        s = _slots(gi.value, t, funcs)
        w += [layout.global_slot(g), _kind(t), s[0], s[1] if len(s) > 1 else 0]
    w += [len(state.tables)]
    for i, tab in enumerate(state.tables):
        t = tab.type.elem
        w += [layout.table_slot(i), _kind(t), tab.size, tab.max]
        w += [_slots(e, t, funcs)[0] for e in tab.elements]
    datas = state.ns["DATAS"]
    w += [len(decoded.datas)]
    for d in range(len(decoded.datas)):
        seg = bytes(datas[d])
        padded = seg + bytes(-len(seg) % 8)
        w += [*layout.data_slots(d), len(seg), *struct.unpack(f"<{len(padded) // 8}Q", padded)]
    elems = state.ns["ELEMS"]
    w += [len(decoded.elems)]
    for e, seg in enumerate(decoded.elems):
        items = list(elems[e])
        w += [*layout.elem_slots(e), _kind(seg.type), len(items)]
        w += [_slots(v, seg.type, funcs)[0] for v in items]
    w += [len(state.tags)]
    for k, tag in enumerate(state.tags):
        w += [layout.tag_slot(k), tag.uid, _nslots(tag.type.params)]
    ids = sorted({d.id for d in deftypes} | {f.type_id for f in state.funcs})
    subs = [(a, b) for a in ids for b in ids if a != b and type_id_sub(a, b)]
    w += [len(subs)]
    for a, b in subs:
        w += [a, b]
    # the calls: the start function first, then the case's
    exports = func_types_of_exports(decoded)
    calls = []
    if decoded.start is not None:
        calls.append((decoded.start, 1 << 40, [], 0))
    for call in case.calls:
        index, ft = exports[call.name]
        args = [s for a, t in zip(call.args, ft.params) for s in _slots(_arg(a, t), t, funcs)]
        calls.append((index, call.fuel if call.fuel is not None else NO_FUEL, args,
                      _nslots(ft.results)))  # fmt: skip
    if max_call_depth is None:
        # the store's call-depth budget, in frame-cost words (wasm2py.runtime.callstack)
        from wasm2py.runtime.callstack import stack_budget

        cfg = _config(case, "llvm")
        max_call_depth = stack_budget(cfg.max_call_depth, cfg.max_wasm_stack)
    w += [max_call_depth - 1, len(calls)]
    for index, fuel, args, nres in calls:
        w += [index, fuel, len(args), *args, nres]
    return struct.pack(f"<{len(w) + 2}Q", IN_MAGIC, len(w), *(x & M64 for x in w))


def _arg(v, t: ValType):
    """An argument as the runtime holds it (what the API's conversion gives the tiers)."""
    from wasm2py.runtime.values import TO_INTERNAL

    if t in (ValType.FUNCREF, ValType.EXTERNREF):
        return v
    return TO_INTERNAL[t](v)


@dataclass
class Build:
    """The AArch64 program of a case and the timings of its steps (seconds)."""

    exe: Path
    timings: dict


def build(case: Case, decoded, workdir: Path, tc: Toolchain | None = None) -> Build:
    """Emit the module for AArch64, emit the glue, link them with the driver."""
    import time

    from wasm2py import llvm as L

    tc = tc or toolchain()
    t0 = time.perf_counter()
    obj = L.emit_object(decoded, L.AARCH64_TRIPLE, case.opt_level, case.fuel_costs)
    t1 = time.perf_counter()
    (workdir / "module.o").write_bytes(obj)
    (workdir / "glue.o").write_bytes(glue_object(decoded))
    exe = workdir / "module.elf"
    proc = subprocess.run(
        [tc.lld, "-static", "-e", "_start", "-o", str(exe), str(driver_object(tc)),
         str(workdir / "module.o"), str(workdir / "glue.o")],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{case.name}: linking the AArch64 program failed:\n{proc.stderr}")
    return Build(exe, {"emit": t1 - t0, "link": time.perf_counter() - t1})


def glue_object(decoded) -> bytes:
    """An AArch64 object with ``w2p_entries`` (an entry wrapper of each defined function, in
    order: it puts the function's address where its type's entry reads it, see
    :func:`wasm2py.llvm.abi.entry_slots`, and calls that entry; the function's body in a
    module without tail calls, see ``lower.ModuleBuilder.bodies``) and pointers to the
    module's function, trampoline and body tables, under the names :mod:`wasm2py.llvm.abi`
    gives them."""
    from llvmlite import ir

    from wasm2py.llvm import AARCH64_TRIPLE, abi
    from wasm2py.llvm.facts import has_tail_calls
    from wasm2py.llvm.jit import parse, target_machine

    m = ir.Module("glue")
    ptr = ir.PointerType()
    i64 = ir.IntType(64)
    entry_type = ir.FunctionType(ir.VoidType(), [ptr, ir.IntType(32), ptr])
    nimp = decoded.num_imported_funcs
    indices = abi.entry_funcs(decoded)
    assert indices == list(range(nimp, nimp + len(decoded.funcs))), "an entry per function"
    functable = ir.GlobalVariable(m, ir.ArrayType(ptr, 0), abi.FUNCTABLE)
    tramptable = ir.GlobalVariable(m, ir.ArrayType(ptr, 0), abi.TRAMPTABLE)
    bodytable = ir.GlobalVariable(m, ir.ArrayType(ptr, 0), abi.BODYTABLE)
    bodytable.linkage = "extern_weak"  # (null: a module with tail calls has no bodies)
    called = functable if has_tail_calls(decoded) else bodytable
    types = decoded.func_type_indices()
    typed: dict[int, ir.Function] = {}
    entries = []
    for i in indices:
        t = types[i]
        if t not in typed:
            typed[t] = ir.Function(m, entry_type, abi.entry_name(t))
        f = ir.Function(m, entry_type, f"w2p_entry_{i}")
        b = ir.IRBuilder(f.append_basic_block())
        fn = b.load(b.gep(called, [ir.Constant(i64, 0), ir.Constant(i64, i - nimp)]), typ=ptr)
        slot = ir.Constant(i64, abi.entry_slots(decoded.types[t]))
        b.store(fn, b.gep(f.args[2], [slot], source_etype=i64))
        b.call(typed[t], f.args)
        b.ret_void()
        entries.append(f)
    arr = ir.ArrayType(ptr, len(entries))
    g = ir.GlobalVariable(m, arr, "w2p_entries")
    g.initializer = ir.Constant(arr, entries)
    g.global_constant = True
    for name, table in (("w2p_functable", functable), ("w2p_tramptable", tramptable),
                        ("w2p_bodytable", bodytable)):  # fmt: skip
        p = ir.GlobalVariable(m, ptr, name)
        p.initializer = table
        p.global_constant = True
    tm = target_machine(AARCH64_TRIPLE, 0)
    return tm.emit_object(parse(str(m), tm))


def execute(exe: Path, data: bytes, tc: Toolchain | None = None, timeout: float = 300,
            stack_size: int = STACK_SIZE) -> bytes:  # fmt: skip
    """Run the program under qemu-aarch64 with ``data`` on stdin; its stdout."""
    tc = tc or toolchain()
    proc = subprocess.run([tc.qemu, "-s", str(stack_size), str(exe)], input=data,
                          capture_output=True, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{exe.name} exited with {proc.returncode} under qemu-aarch64: "
                           f"{proc.stderr.decode(errors='replace')[-2000:]}")  # fmt: skip
    return proc.stdout


def decode_output(out: bytes, case: Case, decoded, state) -> Observation:
    """The :class:`Observation` in the driver's output."""
    from wasm2py.llvm import abi

    words = struct.unpack(f"<{len(out) // 8}Q", out[: len(out) // 8 * 8])
    pos = 0

    def nxt() -> int:
        nonlocal pos
        pos += 1
        return words[pos - 1]

    if nxt() != OUT_MAGIC:
        raise RuntimeError(f"{case.name}: the driver's output has no header")
    rec_base, nfuncs = nxt(), nxt()

    def ref(raw: int, t: ValType) -> int:
        if t is ValType.FUNCREF and raw:
            k, r = divmod(raw - rec_base, abi.REC_SIZE)
            return k + 1 if r == 0 and 0 <= k < nfuncs else -1
        return raw

    def values(slots: list[int], types) -> tuple:
        out, k = [], 0
        for t in types:
            if not isinstance(t, ValType):
                t = t.storage
            if t is ValType.V128:
                out.append((t.name.lower(), slots[k] | (slots[k + 1] << 64)))
                k += 2
            else:
                v = slots[k]
                if t in (ValType.I32, ValType.F32):
                    v &= M32
                out.append((t.name.lower(), ref(v, t)))
                k += 1
        return tuple(out)

    import_types = [decoded.types[imp.type] for imp in decoded.imports if imp.kind.name == "FUNC"]
    exports = func_types_of_exports(decoded)
    # what the driver ran: the start function (if any), then the case's calls
    ran = ([] if decoded.start is None else [None]) + list(case.calls)
    calls: list[Outcome] = []
    hosts: list = []
    while True:
        tag = nxt()
        if tag == OUT_HOST:
            k, n = nxt(), nxt()
            hosts.append((k, values([nxt() for _ in range(n)], import_types[k].params)))
        elif tag == OUT_CALL:
            status, fuel, n = nxt(), nxt(), nxt()
            slots = [nxt() for _ in range(n)]
            frames = []
            for _ in range(nxt()):
                own, where = nxt(), nxt()
                frames.append((where >> 32, where & M32) if own else None)
            call = ran[len(calls)]
            types = exports[call.name][1].results if call is not None else ()
            if status == 0:
                result = ("ok", values(slots, types))
            elif status == abi.EXCEPTION:
                k, n = nxt(), nxt()
                params = state.tags[k].type.params
                result = ("exn", k, values([nxt() for _ in range(n)], params))
            elif status in abi.STATUS_TRAP:
                result = ("trap", abi.STATUS_TRAP[status].name)
            else:
                result = ("status", status)
            metered = call is not None and call.fuel is not None
            trapped = status not in (0, abi.EXCEPTION)
            calls.append(Outcome(result, fuel if metered else None,
                                 frames if trapped else None, hosts))  # fmt: skip
            hosts = []
        elif tag == OUT_END:
            break
        else:
            raise RuntimeError(f"{case.name}: unexpected word {tag} in the driver's output")
    memories = []
    for _ in range(nxt()):
        pages, chunks = nxt(), nxt()
        buf = bytearray(pages * 65536)
        for _ in range(chunks):
            p = nxt()
            buf[p * 4096 : p * 4096 + 4096] = struct.pack("<512Q", *words[pos : pos + 512])
            pos += 512
        memories.append(bytes(buf))
    glob = []
    for g in range(nxt()):
        lo, hi = nxt(), nxt()
        t = state.globals[g].type.valtype
        glob.append(values([lo, hi], (t,))[0])
    tables = []
    for t in range(nxt()):
        size = nxt()
        elem = state.tables[t].type.elem
        tables.append([values([nxt()], (elem,))[0] for _ in range(size)])
    context = [nxt() != 0 for _ in range(nxt())]
    start_hosts = []
    if decoded.start is not None:
        start = calls.pop(0)
        if start.result[0] != "ok":
            raise RuntimeError(f"{case.name}: the start function ended with {start.result}")
        start_hosts = start.hosts
    return Observation(calls, start_hosts, memories, glob, tables, context)


def run_aarch64(case: Case, tc: Toolchain | None = None, stack_size: int = STACK_SIZE,
                max_call_depth: int | None = None) -> Observation:  # fmt: skip
    """Compile, link and run ``case`` as AArch64 machine code under qemu (one program, one
    process, every call) with a guest stack of ``stack_size`` bytes and, if given, a call-depth
    limit other than the store's."""
    tc = tc or toolchain()
    decoded, state = initial_state(case)
    data = driver_input(case, decoded, state, stack_size, max_call_depth)
    with tempfile.TemporaryDirectory(prefix="w2p-aarch64-") as tmp:
        b = build(case, decoded, Path(tmp), tc)
        out = execute(b.exe, data, tc, stack_size=stack_size)
    return decode_output(out, case, decoded, state)


# -- comparing --------------------------------------------------------------------------------------


def _nan(kind: str, bits: int) -> bool:
    if kind == "f32":
        return (bits >> 23) & 0xFF == 0xFF and bits & 0x7FFFFF != 0
    return (bits >> 52) & 0x7FF == 0x7FF and bits & ((1 << 52) - 1) != 0


def same_value(a, b, nan_bits: bool) -> bool:
    """Values equal; unless ``nan_bits``, NaNs match any NaN (a v128 lane by lane, read as
    f32 or as f64 lanes)."""
    if a == b:
        return True
    if nan_bits or a[0] != b[0]:
        return False
    kind = a[0]
    if kind in ("f32", "f64"):
        return _nan(kind, a[1]) and _nan(kind, b[1])
    if kind == "v128":
        for w, lane in ((32, "f32"), (64, "f64")):
            m = (1 << w) - 1
            xs = [(a[1] >> s) & m for s in range(0, 128, w)]
            ys = [(b[1] >> s) & m for s in range(0, 128, w)]
            if all(x == y or (_nan(lane, x) and _nan(lane, y)) for x, y in zip(xs, ys)):
                return True
    return False


def compare(case: Case, a: Observation, b: Observation, *, nan_bits: bool = True,
            frames: bool = False) -> tuple[list[str], list[str]]:  # fmt: skip
    """(differences, NaN-only differences) between two observations of ``case``. With
    ``nan_bits`` NaN bits must be equal (NaN-only differences are then differences too);
    ``frames``: compare trap traces too."""
    diffs: list[str] = []
    nans: list[str] = []

    def values(where: str, xs, ys) -> None:
        if len(xs) != len(ys):
            diffs.append(f"{where}: {xs} != {ys}")
            return
        for x, y in zip(xs, ys):
            if x == y:
                continue
            if same_value(x, y, False):
                (diffs if nan_bits else nans).append(f"{where}: {_show(x)} != {_show(y)}")
            else:
                diffs.append(f"{where}: {_show(x)} != {_show(y)}")

    def hosts(where: str, xs, ys) -> None:
        if [k for k, _ in xs] != [k for k, _ in ys]:
            diffs.append(f"{where}: host calls {xs} != {ys}")
            return
        for (k, ax), (_, bx) in zip(xs, ys):
            values(f"{where} host call {k}", ax, bx)

    if len(a.calls) != len(b.calls):
        diffs.append(f"{len(a.calls)} calls != {len(b.calls)}")
    hosts("start", a.start_hosts, b.start_hosts)
    for call, x, y in zip(case.calls, a.calls, b.calls):
        where = f"{call.name}{_args(call.args)}"
        if x.result[0] != y.result[0] or x.result[0] != "ok":
            if x.result != y.result:
                diffs.append(f"{where}: {x.result} != {y.result}")
        else:
            values(where, x.result[1], y.result[1])
        if x.fuel != y.fuel:
            diffs.append(f"{where}: fuel left {x.fuel} != {y.fuel}")
        if frames and x.frames != y.frames:
            diffs.append(f"{where}: trap frames {x.frames} != {y.frames}")
        hosts(where, x.hosts, y.hosts)
    if len(a.memories) != len(b.memories):
        diffs.append(f"{len(a.memories)} memories != {len(b.memories)}")
    for k, (x, y) in enumerate(zip(a.memories, b.memories)):
        if x == y:
            continue
        if len(x) != len(y):
            diffs.append(f"memory {k} size {len(x)} != {len(y)}")
        else:
            first = next(i for i, (p, q) in enumerate(zip(x, y)) if p != q)
            diffs.append(f"memory {k} differs from byte {first}: {x[first:first + 16].hex()}"
                         f" != {y[first:first + 16].hex()}")  # fmt: skip
    values("globals", a.globals, b.globals)
    for t, (x, y) in enumerate(zip(a.tables, b.tables)):
        if x != y:
            diffs.append(f"table {t}: {x[:20]} != {y[:20]}")
    if len(a.tables) != len(b.tables):
        diffs.append(f"{len(a.tables)} tables != {len(b.tables)}")
    if a.context is not None and b.context is not None and a.context != b.context:
        only = [[k for k, (x, y) in enumerate(zip(a.context, b.context)) if x and not y],
                [k for k, (x, y) in enumerate(zip(a.context, b.context)) if y and not x]]
        diffs.append(f"context slots set only in the first {only[0]}, only in the second "
                     f"{only[1]} (of {len(a.context)} != {len(b.context)})")
    return diffs, nans


def _show(v) -> str:
    kind, bits = v
    return f"{kind}:{bits:#x}"


def _args(args) -> str:
    out = []
    for a in args:
        if isinstance(a, float):
            out.append(repr(a))
        elif isinstance(a, int):
            out.append(hex(a))
        else:
            out.append(repr(a))
    return "(" + ", ".join(out) + ")"


# -- all three ------------------------------------------------------------------------------------

#: whether NaN bits must agree between AArch64, x86-64 and the Python tier (see :func:`check`):
#: true since the NaN rule (README, "NaN results") makes every NaN result of float arithmetic
#: the positive canonical NaN in both tiers, whatever the hardware's default NaN
NAN_BITS_EXACT = True


@dataclass
class Report:
    """The outcome of :func:`check`: what ran as AArch64 machine code and what differed."""

    case: str
    functions: int
    calls: int
    #: differences from the x86-64 LLVM tier and from the Python tier
    vs_x86: list[str]
    vs_python: list[str]
    #: results that differ from the x86-64 LLVM tier only in NaN bits
    nan_bits: list[str]
    seconds: dict

    @property
    def agreed(self) -> bool:
        return not self.vs_x86 and not self.vs_python


def check(case: Case, tc: Toolchain | None = None) -> Report:
    """Run ``case`` as AArch64 code, in the host's LLVM tier and in the Python tier, and
    compare: with the x86-64 LLVM tier everything must be equal, trap traces included; with
    the Python tier everything but trap traces (NaN bits in both only when
    :data:`NAN_BITS_EXACT`; otherwise a NaN matches any NaN, as the spec allows)."""
    import time

    t0 = time.perf_counter()
    arm = run_aarch64(case, tc)
    t1 = time.perf_counter()
    x86 = run_reference(case, "llvm")
    t2 = time.perf_counter()
    py = run_reference(case, "python")
    t3 = time.perf_counter()
    vs_x86, nans = compare(case, arm, x86, nan_bits=NAN_BITS_EXACT, frames=True)
    vs_py, _ = compare(case, arm, py, nan_bits=NAN_BITS_EXACT)
    return Report(case.name, len({c.name for c in case.calls}), len(case.calls), vs_x86, vs_py,
                  nans, {"aarch64": t1 - t0, "x86": t2 - t1, "python": t3 - t2})  # fmt: skip
