"""Running one module in several runtimes in lockstep and comparing what they do.

A *side* is one runtime under test: wasm2py's Python tier, its LLVM tier (each with or without
fuel metering) or wasmtime. Every side instantiates the module with the same host imports
(:func:`host_imports`: deterministic functions that log their calls), then the same calls are
made on every side, one at a time, and after each the sides must agree on the outcome (results
bit for bit, or the trap kind), on the contents of every exported memory and the value of every
exported global, on the host calls made, and — for metered sides — on the fuel consumed.

NaNs: the spec lets an arithmetic instruction return any NaN of a class, so with
``nan="loose"`` two NaNs of the same width compare equal (in results, globals, and in memory
where both sides hold a NaN at the differing bytes); ``nan="exact"`` compares bits. wasmtime is
always compared loosely on NaNs (its Python binding converts f32 values through C ``float``,
which quiets signalling NaNs); it runs with ``cranelift_nan_canonicalization``, so NaN bits that
reach integers (``reinterpret``, stores) follow wasm2py's NaN rule there too.
"""

from __future__ import annotations

import hashlib
import random
import struct

import wasm2py
from wasm2py.runtime.values import f32_from_bits, f32_to_bits, f64_from_bits, f64_to_bits
from wasm2py.types import FuncType, GlobalType, MemoryType, TableType, ValType

I32, I64, F32, F64, V128 = (ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128)
FUNCREF, EXTERNREF = ValType.FUNCREF, ValType.EXTERNREF


class HostFailure(Exception):
    """Raised by the host function ``host.fail`` (it must come out of every side unchanged)."""


# -- the host imports offered to generated modules ------------------------------------------
#: (name, params, results) of the host functions (``host`` module); see ``IMPORTS_WAT``
HOST_FUNCS = [
    ("log_i32", (I32,), ()),
    ("i64_to_i64", (I64,), (I64,)),
    ("mix", (I32, I64, F32, F64), (F64,)),
    ("multi", (I32, I64), (I32, I64, F32)),
    ("fail", (I32,), (I32,)),
    ("ref", (EXTERNREF,), (EXTERNREF,)),
]
HOST_GLOBALS = [("g_i32", I32, True, 7), ("g_f64", F64, False, 2.5), ("g_i64", I64, True, -3)]
HOST_MEMORY = ("mem", 1, 4)
HOST_TABLE = ("table", FUNCREF, 4, 16)

_WT = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", EXTERNREF: "externref",
       FUNCREF: "funcref"}  # fmt: skip


def imports_wat() -> str:
    """A module declaring the host imports (for ``wasm-tools smith --available-imports``)."""
    out = ["(module"]
    for name, params, results in HOST_FUNCS:
        p = " ".join(_WT[t] for t in params)
        r = " ".join(_WT[t] for t in results)
        out.append(f'  (import "host" "{name}" (func (param {p}) (result {r})))')
    for name, t, mut, _ in HOST_GLOBALS:
        ty = f"(mut {_WT[t]})" if mut else _WT[t]
        out.append(f'  (import "host" "{name}" (global {ty}))')
    out.append(f'  (import "host" "{HOST_MEMORY[0]}" (memory {HOST_MEMORY[1]} {HOST_MEMORY[2]}))')
    name, t, lo, hi = HOST_TABLE
    out.append(f'  (import "host" "{name}" (table {lo} {hi} {_WT[t]}))')
    out.append(")")
    return "\n".join(out)


def _digest(*parts) -> int:
    h = hashlib.blake2b(repr(parts).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def host_behaviour(name: str, args: tuple, log: list):
    """What host function ``name`` returns for ``args`` (already encoded with
    :func:`encode_value`), logging the call. Identical on every side."""
    log.append((name, args))
    # results do not depend on NaN bits (which the spec leaves open): a loose comparison of
    # two sides stays meaningful after a NaN reached a host function
    h = _digest(name, tuple("nan" if isinstance(a, tuple) and a[0] in ("f32", "f64")
                            and _nan_bits(32 if a[0] == "f32" else 64, a[1]) else a
                            for a in args))  # fmt: skip
    if name == "log_i32":
        return ()
    if name == "i64_to_i64":
        return (h,)
    if name == "mix":
        return (("f64", h & ~(0x7FF << 52)),)  # a finite double
    if name == "multi":
        return (h & 0xFFFFFFFF, h, ("f32", (h >> 7) & 0x3FFFFFFF))
    if name == "fail":
        if args[0] & 1:
            raise HostFailure(f"host.fail({args[0]})")
        return (args[0] >> 1,)
    if name == "ref":
        return args
    raise AssertionError(name)


# -- values ---------------------------------------------------------------------------------
def encode_value(v, t: ValType):
    """A value as something comparable bit for bit: floats as ``(width, bits)``, integers
    unsigned, references as ``None`` / ``"func"`` / the extern object's ``repr``."""
    if t is I32:
        return v & 0xFFFFFFFF
    if t is I64:
        return v & 0xFFFFFFFFFFFFFFFF
    if t is F32:
        return ("f32", f32_to_bits(v))
    if t is F64:
        return ("f64", f64_to_bits(v))
    if t is V128:
        return ("v128", v)
    if t is FUNCREF:
        return None if v is None else "func"
    return None if v is None else ("extern", repr(v))


def decode_value(e, t: ValType, externs: dict):
    """The Python value of an encoded value (see :func:`encode_value`)."""
    if t in (I32, I64):
        return e
    if t is F32:
        return f32_from_bits(e[1])
    if t is F64:
        return f64_from_bits(e[1])
    if t is V128:
        return e[1]
    if t is EXTERNREF:
        return None if e is None else externs.setdefault(e[1], _Extern(e[1]))
    return None


class _Extern:
    """An externref payload with a stable ``repr`` across sides."""

    __slots__ = ("tag",)

    def __init__(self, tag: str):
        self.tag = tag

    def __repr__(self) -> str:
        return self.tag


def random_arg(rng: random.Random, t: ValType, quiet_f32: bool):
    """An encoded argument of type ``t``: edge values or random bits."""
    r = rng.random()
    if t is I32:
        return rng.choice([0, 1, 2, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 100, 65536]) \
            if r < 0.5 else rng.getrandbits(rng.choice([4, 8, 16, 32]))
    if t is I64:
        return rng.choice([0, 1, (1 << 64) - 1, 1 << 63, (1 << 63) - 1, 1 << 32]) \
            if r < 0.5 else rng.getrandbits(rng.choice([4, 16, 32, 64]))
    if t is F32:
        edges = [0, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
                 0xFFC00000, 0x7FC12345, 0x4F000000, 0x00000001, 0x7F7FFFFF]  # fmt: skip
        if not quiet_f32:
            edges += [0x7FA00000, 0xFF800001]
        bits = rng.choice(edges) if r < 0.5 else rng.getrandbits(32)
        if quiet_f32 and (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF:
            bits |= 0x400000
        return ("f32", bits)
    if t is F64:
        edges = [0, 1 << 63, 0x3FF0000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
                 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF4000000000000,
                 0x41E0000000000000, 1]  # fmt: skip
        return ("f64", rng.choice(edges) if r < 0.5 else rng.getrandbits(64))
    if t is V128:
        return ("v128", rng.getrandbits(128))
    if t is EXTERNREF:
        return None if r < 0.5 else ("extern", f"ext{rng.randrange(4)}")
    return None  # funcref: null


def _nan_bits(width: int, bits: int) -> bool:
    if width == 32:
        return (bits & 0x7F800000) == 0x7F800000 and bool(bits & 0x7FFFFF)
    return (bits & 0x7FF0000000000000) == 0x7FF0000000000000 and bool(bits & 0xFFFFFFFFFFFFF)


def _v128_loose(a: int, b: int) -> bool:
    """Equal as f32x4 or as f64x2 with NaN lanes matching any NaN."""
    for width in (32, 64):
        mask = (1 << width) - 1
        if all(x == y or (_nan_bits(width, x) and _nan_bits(width, y))
               for x, y in ((a >> s & mask, b >> s & mask) for s in range(0, 128, width))):
            return True
    return False


def values_match(a, b, loose: bool) -> bool:
    if a == b:
        return True
    if not loose or not (isinstance(a, tuple) and isinstance(b, tuple)) or a[0] != b[0]:
        return False
    if a[0] == "f32":
        return _nan_bits(32, a[1]) and _nan_bits(32, b[1])
    if a[0] == "f64":
        return _nan_bits(64, a[1]) and _nan_bits(64, b[1])
    if a[0] == "v128":
        return _v128_loose(a[1], b[1])
    return False


def outcomes_match(a, b, loose: bool) -> bool:
    if a == b:
        return True
    if a[0] != "ok" or b[0] != "ok" or len(a[1]) != len(b[1]):
        return False
    return all(values_match(x, y, loose) for x, y in zip(a[1], b[1]))


def memories_match(a: bytes, b: bytes, loose: bool) -> int | None:
    """None when equal; else the first offset that differs (NaN bytes forgiven when loose)."""
    if a == b:
        return None
    if len(a) != len(b):
        return min(len(a), len(b))
    i = 0
    n = len(a)
    while i < n:
        if a[i] == b[i]:
            i += 1
            continue
        if not loose or not _nan_window(a, b, i):
            return i
        i += 1
    return None


def _nan_window(a: bytes, b: bytes, i: int) -> bool:
    """Whether byte ``i`` lies in a 4- or 8-byte window that holds a NaN in both."""
    for width, fmt in ((4, "<I"), (8, "<Q")):
        for start in range(max(0, i - width + 1), min(i, len(a) - width) + 1):
            x = struct.unpack_from(fmt, a, start)[0]
            y = struct.unpack_from(fmt, b, start)[0]
            if _nan_bits(width * 8, x) and _nan_bits(width * 8, y):
                return True
    return False


# -- sides ----------------------------------------------------------------------------------
class Crash(Exception):
    """A side raised something it must never raise (not a Trap, not the host's exception)."""


def _classify(exc: BaseException):
    if isinstance(exc, wasm2py.Trap):
        return ("trap", exc.code.name)
    if isinstance(exc, HostFailure):
        return ("host-failure",)
    if isinstance(exc, wasm2py.Error):
        return ("error", type(exc).__name__)
    raise Crash(f"{type(exc).__name__}: {exc}") from exc


def _returned(r, ft: FuncType):
    """The outcome of a call of type ``ft`` that returned ``r`` (as wasm2py returns results)."""
    vals = () if not ft.results else (r,) if len(ft.results) == 1 else tuple(r)
    return ("ok", tuple(encode_value(v, t) for v, t in zip(vals, ft.results)))


class Wasm2pySide:
    """wasm2py in one tier (``python`` or ``llvm``), metered or not."""

    def __init__(self, tier: str, fuel: bool = False, max_call_depth: int = 1000,
                 opt_level: int = 2, **config):  # fmt: skip
        self.name = tier + ("-fuel" if fuel else "")
        self.fuel = fuel
        cfg = wasm2py.Config(tier=tier, cache=False, consume_fuel=fuel,
                             max_call_depth=max_call_depth, llvm_opt_level=opt_level, **config)  # fmt: skip
        self.engine = wasm2py.Engine(cfg)
        self.store = wasm2py.Store(self.engine)
        self.log: list = []
        self.externs: dict = {}
        self.instance = None
        self.imports: list = []

    def load(self, wasm: bytes):
        """Compile (raises wasm2py errors for invalid modules)."""
        self.module = wasm2py.Module(self.engine, wasm)
        return self.module

    def _host(self, name: str, ft: FuncType):
        def fn(*args):
            enc = tuple(encode_value(a, t) for a, t in zip(args, ft.params))
            res = host_behaviour(name, enc, self.log)
            vals = [decode_value(r, t, self.externs) for r, t in zip(res, ft.results)]
            return None if not vals else vals[0] if len(vals) == 1 else vals

        return fn

    def _generic(self, name: str, ft: FuncType):
        def fn(*args):
            enc = tuple(encode_value(a, t) for a, t in zip(args, ft.params))
            self.log.append((name, enc))
            vals = [decode_value(_zero(t), t, self.externs) for t in ft.results]
            return None if not vals else vals[0] if len(vals) == 1 else vals

        return fn

    def instantiate(self, fuel: int | None = None):
        """Instantiate with the host imports: ``("ok",)`` or a trap/error outcome."""
        store = self.store
        values = []
        for imp in self.module.imports:
            t = imp.type
            if isinstance(t, FuncType):
                known = _is_host_func(imp.module, imp.name, t)
                fn = self._host(imp.name, t) if known else self._generic(imp.name, t)
                values.append(wasm2py.Func(store, t, fn))
            elif isinstance(t, MemoryType):
                values.append(wasm2py.Memory(store, t))
            elif isinstance(t, TableType):
                values.append(wasm2py.Table(store, t, None))
            else:
                values.append(wasm2py.Global(store, t, _global_init(imp.name, t, self.externs)))
        self.imports = values
        if fuel is not None:
            store.set_fuel(fuel)
        try:
            self.instance = self._instance(values)
        except Exception as e:  # noqa: BLE001
            return _classify(e)
        return ("ok",)

    def _instance(self, imports: list):
        return wasm2py.Instance(self.store, self.module, imports)

    def exports(self):
        return self.instance.exports

    def call(self, name: str, args: list, fuel: int | None = None):
        """Call export ``name``: ``(outcome, fuel used or None)``."""
        f = self.instance.exports[name]
        ft = f.type
        if fuel is not None:
            self.store.set_fuel(fuel)
        try:
            r = f(*(decode_value(a, t, self.externs) for a, t in zip(args, ft.params)))
        except Exception as e:  # noqa: BLE001
            out = _classify(e)
        else:
            out = _returned(r, ft)
        used = fuel - self.store.get_fuel() if fuel is not None else None
        return out, used

    def snapshot(self):
        """(memories, globals, tables) of the imports (in import order, named ``import:N``;
        they show what a failed instantiation left behind) and of the exports."""
        items = [(f"import:{k}", v) for k, v in enumerate(self.imports)]
        if self.instance is not None:
            items += list(self.instance.exports.items())
        mems, globs, tables = [], [], []
        for name, item in items:
            if isinstance(item, wasm2py.Memory):
                mems.append((name, item.read()))
            elif isinstance(item, wasm2py.Global):
                globs.append((name, encode_value(item.value, item.type.valtype)))
            elif isinstance(item, wasm2py.Table):
                n = item.size
                tables.append((name, n, tuple(encode_value(item.get(i), item.type.elem)
                                              for i in range(min(n, 512)))))  # fmt: skip
        return mems, globs, tables


class _Answer(Exception):
    """What a pausing side's host function raises: the results it would have returned."""

    def __init__(self, values):
        super().__init__("pause")
        self.values = values


class PausingSide(Wasm2pySide):
    """wasm2py with every export called resumably (``call_resumable``): each host function
    call pauses the wasm frames (natively in the LLVM tier), and the call is resumed with the
    results the host function would have returned. Metered, a call's fuel is handed out in
    slices of :attr:`SLICE`, so it pauses every few dozen instructions and is resumed with the
    next slice; only once the call's whole fuel is spent is a fuel pause the out-of-fuel trap
    of a plain call. It must match a plain side in everything (outcomes, state, host calls,
    fuel used)."""

    #: the fuel a metered call gets at a time
    SLICE = 37

    def __init__(self, tier: str, fuel: bool = False, **kw):
        super().__init__(tier, fuel, **kw)
        self.name = tier + ("-fuel" if fuel else "") + "-pausing"

    def _host(self, name: str, ft: FuncType):
        plain = super()._host(name, ft)

        def fn(*args):
            vals = plain(*args)  # (logs the call; HostFailure stays an error)
            if self.store.resumable:
                n = len(ft.results)
                raise _Answer(() if n == 0 else (vals,) if n == 1 else tuple(vals))
            return vals

        return fn

    def call(self, name: str, args: list, fuel: int | None = None):
        f = self.instance.exports[name]
        ft = f.type
        store = self.store
        left = 0  # fuel not handed out yet
        if fuel is not None:
            store.set_fuel(min(fuel, self.SLICE))
            left = fuel - store.get_fuel()
        try:
            r = f.call_resumable(*(decode_value(a, t, self.externs) for a, t in zip(args, ft.params)))
            while True:
                if isinstance(r, wasm2py.HostTrap) and isinstance(r.host_error, _Answer):
                    r = r.resume(*r.host_error.values)
                elif isinstance(r, wasm2py.OutOfFuel) and left:
                    more = min(left, self.SLICE)
                    left -= more
                    store.set_fuel(store.get_fuel() + more)
                    r = r.resume()
                else:
                    break
        except Exception as e:  # noqa: BLE001
            out = _classify(e)
        else:
            if isinstance(r, wasm2py.HostTrap):
                out = _classify(r.host_error)
            elif isinstance(r, wasm2py.OutOfFuel):
                out = ("trap", "OUT_OF_FUEL")
            else:
                out = _returned(r.results, ft)
        used = fuel - left - store.get_fuel() if fuel is not None else None
        return out, used


class OsrSide(Wasm2pySide):
    """wasm2py in ``tier="auto"`` with every function that has loops moved into jitted code at
    its ``at``-th loop-header (or entry) counter call: a frame still looping there continues
    jitted (on-stack replacement; :func:`tools.stress.osr.force_moves`). It must match the
    plain sides in everything."""

    def __init__(self, at: int, fuel: bool = False, **kw):
        super().__init__("auto", fuel, tier_up_threshold=10**9, **kw)
        self.name = "auto-osr" + ("-fuel" if fuel else "")
        self.at = at

    def _instance(self, imports: list):
        from tools.stress.osr import force_moves

        inst = wasm2py.Instance(self.store, self.module, imports)
        force_moves(inst, self.engine, self.at)
        return inst


def _is_host_func(module: str, name: str, ft: FuncType) -> bool:
    """Whether an import is one of :data:`HOST_FUNCS` (same name and type)."""
    return module == "host" and any(n == name and tuple(p) == ft.params and tuple(r) == ft.results
                                    for n, p, r in HOST_FUNCS)  # fmt: skip


def _zero(t: ValType):
    if t in (I32, I64):
        return 0
    if t is F32:
        return ("f32", 0)
    if t is F64:
        return ("f64", 0)
    if t is V128:
        return ("v128", 0)
    return None


def _global_init(name: str, t: GlobalType, externs: dict):
    for n, vt, mut, value in HOST_GLOBALS:
        if n == name and vt is t.valtype and mut == t.mutable:
            return value
    return decode_value(_zero(t.valtype), t.valtype, externs)


_WT_TRAPS = {
    "STACK_OVERFLOW": "CALL_STACK_EXHAUSTED", "MEMORY_OUT_OF_BOUNDS": "MEMORY_OUT_OF_BOUNDS",
    "TABLE_OUT_OF_BOUNDS": "TABLE_OUT_OF_BOUNDS", "INDIRECT_CALL_TO_NULL": "UNINITIALIZED_ELEMENT",
    "BAD_SIGNATURE": "INDIRECT_CALL_TYPE_MISMATCH", "INTEGER_OVERFLOW": "INTEGER_OVERFLOW",
    "INTEGER_DIVISION_BY_ZERO": "INTEGER_DIVIDE_BY_ZERO",
    "BAD_CONVERSION_TO_INTEGER": "INVALID_CONVERSION_TO_INTEGER", "UNREACHABLE": "UNREACHABLE",
    "OUT_OF_FUEL": "OUT_OF_FUEL",
}  # fmt: skip


class Unsupported(Exception):
    """wasmtime's Python binding cannot express a value (v128) of this call."""


class WasmtimeSide:
    """wasmtime (PyPI ``wasmtime``), unmetered, as a third opinion."""

    name = "wasmtime"
    fuel = False

    def __init__(self):
        import wasmtime

        self.wt = wasmtime
        self.engine = _wasmtime_engine()
        self.store = wasmtime.Store(self.engine)
        self.log: list = []
        self.externs: dict = {}
        self.instance = None
        self.imports: list = []

    def _vt(self, t: ValType):
        if t is V128:
            raise Unsupported("v128")
        return getattr(self.wt.ValType, _WT[t])()

    def _ft(self, ft: FuncType):
        return self.wt.FuncType([self._vt(t) for t in ft.params],
                                [self._vt(t) for t in ft.results])  # fmt: skip

    def load(self, wasm: bytes):
        self.module = self.wt.Module(self.engine, wasm)
        return self.module

    def _fn(self, name: str, ft: FuncType, known: bool):
        def fn(*args):
            enc = tuple(encode_value(a, t) for a, t in zip(args, ft.params))
            if known:
                res = host_behaviour(name, enc, self.log)
            else:
                self.log.append((name, enc))
                res = tuple(_zero(t) for t in ft.results)
            vals = [decode_value(r, t, self.externs) for r, t in zip(res, ft.results)]
            return None if not vals else vals[0] if len(vals) == 1 else vals

        return fn

    def instantiate(self, fuel=None):
        wt = self.wt
        values = []
        for imp in self.module.imports:
            t = imp.type
            if isinstance(t, wt.FuncType):
                ft = FuncType([_from_wt(p) for p in t.params], [_from_wt(r) for r in t.results])
                known = _is_host_func(imp.module, imp.name, ft)
                values.append(wt.Func(self.store, t, self._fn(imp.name, ft, known)))
            elif isinstance(t, wt.MemoryType):
                values.append(wt.Memory(self.store, t))
            elif isinstance(t, wt.TableType):
                values.append(wt.Table(self.store, t, None))
            else:
                vt = _from_wt(t.content)
                gt = GlobalType(vt, t.mutable)
                v = _global_init(imp.name, gt, self.externs)
                values.append(wt.Global(self.store, t, _wt_val(wt, vt, v)))
        self.imports = values
        try:
            self.instance = wt.Instance(self.store, self.module, values)
        except wt.Trap as e:
            return ("trap", _WT_TRAPS.get(e.trap_code.name if e.trap_code else "", "?"))
        except HostFailure:
            return ("host-failure",)
        return ("ok",)

    def call(self, name: str, args: list, fuel=None):
        wt = self.wt
        f = self.instance.exports(self.store)[name]
        t = f.type(self.store)
        params = [_from_wt(p) for p in t.params]
        results = [_from_wt(r) for r in t.results]
        try:
            r = f(self.store, *(_wt_val(wt, p, decode_value(a, p, self.externs))
                                for a, p in zip(args, params)))  # fmt: skip
        except wt.Trap as e:
            return ("trap", _WT_TRAPS.get(e.trap_code.name if e.trap_code else "", "?")), None
        except HostFailure:
            return ("host-failure",), None
        vals = () if not results else (r,) if len(results) == 1 else tuple(r)
        return ("ok", tuple(encode_value(_wt_out(v), t) for v, t in zip(vals, results))), None

    def snapshot(self):
        wt = self.wt
        items = [(f"import:{k}", v) for k, v in enumerate(self.imports)]
        if self.instance is not None:
            exports = self.instance.exports(self.store)
            items += [(et.name, exports[et.name]) for et in self.module.exports]
        mems, globs, tables = [], [], []
        for name, item in items:
            if isinstance(item, wt.Memory):
                mems.append((name, bytes(item.read(self.store, 0, item.data_len(self.store)))))
            elif isinstance(item, wt.Global):
                vt = _from_wt(item.type(self.store).content)
                globs.append((name, encode_value(_wt_out(item.value(self.store)), vt)))
            elif isinstance(item, wt.Table):
                n = item.size(self.store)
                vt = _from_wt(item.type(self.store).element)
                tables.append((name, n, tuple(encode_value(_wt_out(item.get(self.store, i)), vt)
                                              for i in range(min(n, 512)))))  # fmt: skip
        return mems, globs, tables


_WT_ENGINE = None


def _wasmtime_engine():
    """One wasmtime engine per process, with the Wasm 2.0 features only."""
    global _WT_ENGINE
    if _WT_ENGINE is None:
        import wasmtime

        cfg = wasmtime.Config()
        for feature in ("wasm_tail_call", "wasm_gc", "wasm_function_references",
                        "wasm_exceptions", "wasm_relaxed_simd", "wasm_threads",
                        "wasm_memory64", "wasm_multi_memory"):  # fmt: skip
            try:
                setattr(cfg, feature, False)
            except Exception:  # noqa: BLE001 - a binding without that switch
                pass
        # wasmtime's NaN results are otherwise the hardware's (negative on x86-64), which
        # reinterpret/store make visible as integers: its canonicalization follows the same
        # NaN rule as wasm2py (README, "NaN results")
        cfg.cranelift_nan_canonicalization = True
        _WT_ENGINE = wasmtime.Engine(cfg)
    return _WT_ENGINE


def _from_wt(t) -> ValType:
    import wasmtime as wt

    for vt, name in _WT.items():
        if t == getattr(wt.ValType, name)():
            return vt
    raise Unsupported(str(t))


def _wt_val(wt, t: ValType, v):
    if t is V128:
        raise Unsupported("v128")
    if t is FUNCREF:
        return wt.Val.funcref(v)
    if t is EXTERNREF:
        return wt.Val.externref(v)
    return getattr(wt.Val, _WT[t])(v)


def _wt_out(v):
    import wasmtime

    return v.value if isinstance(v, wasmtime.Val) else v
