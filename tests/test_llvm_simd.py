"""The LLVM tier's SIMD (``v128``) against the Python tier, bit for bit: every instruction group
on edge lanes (NaNs with payloads, ±0, ±inf, integer min/max), memory accesses in and out of
bounds, v128 at the boundary (parameters, results, host callbacks, globals, select,
multi-value), and AArch64 code generation (NEON)."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

import wasm2py  # noqa: E402
from wasm2py import llvm as L  # noqa: E402
from wasm2py.binary.opcodes import SIMD_NAMES  # noqa: E402
from wasm2py.types import FuncType, ValType  # noqa: E402
from wasm2py.validate.simd_types import SIMD_SIGS  # noqa: E402

from .llvm_util import fresh_store  # noqa: E402
from .wat import wat  # noqa: E402

M128 = (1 << 128) - 1


def join(lanes, w: int) -> int:
    return sum((x & ((1 << w) - 1)) << (i * w) for i, x in enumerate(lanes))


def split(v: int, w: int) -> list[int]:
    return [(v >> (i * w)) & ((1 << w) - 1) for i in range(128 // w)]


# lane edge values per lane width (floats as bit patterns)
_I8 = [0, 1, 2, 0x7F, 0x80, 0x81, 0xFF, 0xFE, 0x40, 0x3F, 0x10, 0x0F, 0xC0, 0x55, 0xAA, 0x7E]
_I16 = [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0xFFFE, 0x00FF, 0xFF00, 0x4000, 0xC000, 0x0080,
        0x7F7F, 0x1234, 0x3FFF, 0x8080]  # fmt: skip
_I32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFF, 0x10000, 0x7FFF,
        0xFFFF8000, 0x12345678, 0xDEADBEEF]  # fmt: skip
_I64 = [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF,
        0x100000000, 0x123456789ABCDEF0]  # fmt: skip
_F32 = [0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x3F000000, 0xBF000000,
        0x3F800000, 0xBF800000, 0x3FC00000, 0x40200000, 0xC0200000, 0x4B000001, 0x7F7FFFFF,
        0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FA00000, 0x7F800001,
        0x7FC12345, 0xFFA00001, 0x4F000000, 0xCF000000, 0x4F800000, 0x4EFFFFFF, 0xCF000001,
        0xBF7FFFFF, 0x3EFFFFFF, 0x3F7FFFFF]  # fmt: skip
_F64 = [0, 0x8000000000000000, 1, 0x3FF0000000000000, 0xBFF0000000000000, 0x3FE0000000000000,
        0x3FF8000000000000, 0x4004000000000000, 0xC004000000000000, 0x7FEFFFFFFFFFFFFF,
        0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
        0x7FF4000000000000, 0x7FF0000000000001, 0x7FF8000000012345, 0x41DFFFFFFFC00000,
        0x41E0000000000000, 0xC1E0000000000000, 0xC1E0000000200000, 0x41EFFFFFFFE00000,
        0x41F0000000000000, 0x3FEFFFFFFFFFFFFF, 0x36A0000000000000, 0x47EFFFFFE0000000]  # fmt: skip


def _vectors(edges: list[int], w: int) -> list[int]:
    """v128 values whose lanes cover ``edges`` (each edge in every lane position, in a few
    combinations)."""
    n = 128 // w
    out = []
    for start in range(0, len(edges), max(1, n // 2)):
        out.append(join([edges[(start + i) % len(edges)] for i in range(n)], w))
    for step in (3, 5):
        out.append(join([edges[(i * step) % len(edges)] for i in range(n)], w))
    return out


VECTORS = {8: _vectors(_I8, 8), 16: _vectors(_I16, 16), 32: _vectors(_I32, 32),
           64: _vectors(_I64, 64), "f32": _vectors(_F32, 32), "f64": _vectors(_F64, 64)}  # fmt: skip
#: ops whose NaN results the spec leaves open (any quiet NaN); wasm2py's NaN rule makes them
#: exact (see tests/test_nan_bits.py), so none is compared loosely
LOOSE: set[str] = set()


def _inputs_for(name: str) -> list[int]:
    shape, _, op = name.partition(".")
    if shape == "f32x4" or op.endswith("_f32x4") or "f32x4_" in op:
        return VECTORS["f32"] + VECTORS[32][:3]
    if shape == "f64x2" or op.endswith(("_f64x2", "_f64x2_zero")) or "f64x2_" in op:
        return VECTORS["f64"] + VECTORS[64][:3]
    w = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64}.get(shape, 8)
    # narrowing, extending... read the source shape's lanes: use both widths
    for src, sw in (("i8x16", 8), ("i16x8", 16), ("i32x4", 32)):
        if op.endswith(src) or f"_{src}_" in op:
            return VECTORS[sw] + VECTORS[w][:3]
    return VECTORS[w] + VECTORS[8][:2]


def _nan(bits: int, w: int) -> bool:
    exp = 0xFF if w == 32 else 0x7FF
    frac = w - (9 if w == 32 else 12)
    return (bits >> frac) & exp == exp and bits & ((1 << frac) - 1) != 0


def _quiet(bits: int, w: int) -> bool:
    return bool(bits >> (22 if w == 32 else 51) & 1)


def same_v128(py: int, ll: int, w: int | None) -> bool:
    """Equal, or (``w``: float lanes of that width) lanes equal or both NaN with LLVM's quiet."""
    if py == ll or w is None:
        return py == ll
    for x, y in zip(split(py, w), split(ll, w)):
        if x != y and not (_nan(x, w) and _nan(y, w) and _quiet(y, w)):
            return False
    return True


def _pure_ops():
    """(name, text of the instruction, param types) of every SIMD instruction without memory
    access or constant operand."""
    out = []
    for op, name in sorted(SIMD_NAMES.items()):
        shape, _, rest = name.partition(".")
        if shape == "v128" and (rest.startswith(("load", "store")) or rest == "const"):
            continue
        params, _ = SIMD_SIGS[op]
        if "lane" in rest:
            n = {"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}[shape]
            for k in sorted({0, (n // 2 + 1) % n, n - 1}):
                out.append((f"{name} {k}", params))
        elif name == "i8x16.shuffle":
            for pat in (range(16), range(31, -1, -2), [0, 16, 1, 17, 2, 18, 3, 19, 31, 30, 29,
                                                        28, 8, 8, 8, 8]):  # fmt: skip
                out.append((f"{name} {' '.join(map(str, pat))}", params))
        else:
            out.append((name, params))
    return out


PURE = _pure_ops()
_T = {ValType.V128: "v128", ValType.I32: "i32", ValType.I64: "i64", ValType.F32: "f32",
      ValType.F64: "f64"}  # fmt: skip
_SCALARS = {
    ValType.I32: [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 0x7FFFFFFF,
                  0x80000000, 0xFFFFFFFF, 0x12345678],
    ValType.I64: [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
                  0x123456789ABCDEF0],
}  # fmt: skip


def _scalar_args(t: ValType) -> list:
    from wasm2py.runtime.values import f32_from_bits, f64_from_bits

    if t is ValType.F32:
        return [f32_from_bits(b) for b in _F32]
    if t is ValType.F64:
        return [f64_from_bits(b) for b in _F64]
    return _SCALARS[t]


def _module_for(group: list) -> str:
    funcs = []
    for k, (text, params) in enumerate(group):
        ps = " ".join(_T[t] for t in params)
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        res = SIMD_SIGS[next(op for op, n in SIMD_NAMES.items() if n == text.split()[0])][1][0]
        funcs.append(f'(func (export "f{k}") (param {ps}) (result {_T[res]}) ({text} {gets}))')
    return "(module " + "\n".join(funcs) + ")"


def _arg_lists(name: str, params) -> list[tuple]:
    vecs = _inputs_for(name)
    nv = sum(1 for t in params if t is ValType.V128)
    scalars = [t for t in params if t is not ValType.V128]
    if nv == 0:
        return [(x,) for x in _scalar_args(scalars[0])]
    if nv == 1 and not scalars:
        return [(v,) for v in vecs]
    if nv == 1:
        return [(v, x) for v in vecs[:6] for x in _scalar_args(scalars[0])]
    if nv == 2:
        return [(a, b) for a in vecs for b in vecs[::2]]
    return [(a, b, c) for a in vecs[:4] for b in vecs[4:8] for c in vecs[:: 3]]


def _result_width(name: str) -> int | None:
    shape, _, op = name.split()[0].partition(".")
    if op not in LOOSE:
        return None
    return 32 if shape == "f32x4" else 64


def _groups():
    """Instruction groups (one module each): by shape."""
    groups: dict[str, list] = {}
    for text, params in PURE:
        groups.setdefault(text.split(".")[0], []).append((text, params))
    return groups


GROUPS = _groups()


@pytest.mark.parametrize("shape", sorted(GROUPS))
def test_simd_group_matches_python_tier(shape):
    group = GROUPS[shape]
    store = fresh_store()
    mod = wasm2py.Module(store.engine, wat(_module_for(group)))
    py = wasm2py.Instance(store, mod, {})
    ll = L.instantiate(store, mod, {})
    from .llvm_util import encode

    bad = []
    for k, (text, params) in enumerate(group):
        f_py, f_ll = py.exports[f"f{k}"], ll.exports[f"f{k}"]
        rt = f_py.type.results[0]
        w = _result_width(text)
        for args in _arg_lists(text, params):
            a, b = f_py(*args), f_ll(*args)
            if rt is ValType.V128:
                ok = same_v128(a, b, w)
            else:
                ok = encode(a, rt) == encode(b, rt)
            if not ok:
                bad.append(f"{text}{tuple(hex(x) if isinstance(x, int) else x for x in args)}: "
                           f"python {a!r:.60} llvm {b!r:.60}")  # fmt: skip
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:30])


def test_every_simd_instruction_is_covered():
    names = {t.split()[0] for t, _ in PURE}
    mem = {n for n in SIMD_NAMES.values() if n.startswith(("v128.load", "v128.store"))}
    assert names | mem | {"v128.const"} == set(SIMD_NAMES.values())
    assert all(n in MEMORY_TEXT for n in mem)


# -- constants: LLVM folds them; wasm's NaN rules must survive ---------------------------------

def test_constant_operands_keep_nan_rules():
    snan4 = "0x7fa00000 0x7fa00000 0xffa00001 0x7f800001"
    ones = "0x3f800000 0x3f800000 0x3f800000 0x3f800000"
    zeros = "0x80000000 0x80000000 0x80000000 0x80000000"
    snan2 = "0x7ff4000000000000 0xfff0000000000001"
    src = f"""(module
      (func (export "mul1") (result v128)
        (f32x4.mul (v128.const i32x4 {snan4}) (v128.const i32x4 {ones})))
      (func (export "mul1p") (param v128) (result v128)
        (f32x4.mul (local.get 0) (v128.const i32x4 {ones})))
      (func (export "addm0p") (param v128) (result v128)
        (f32x4.add (local.get 0) (v128.const i32x4 {zeros})))
      (func (export "splat1") (param v128) (result v128)
        (f32x4.div (local.get 0) (f32x4.splat (f32.const 1))))
      (func (export "sqrtc") (result v128) (f64x2.sqrt (v128.const i64x2 {snan2})))
      (func (export "roundtrip") (param v128) (result v128)
        (f32x4.demote_f64x2_zero (f64x2.promote_low_f32x4 (local.get 0))))
      (func (export "promote") (result v128)
        (f64x2.promote_low_f32x4 (v128.const i32x4 {snan4})))
      (func (export "minc") (param v128) (result v128)
        (f32x4.min (local.get 0) (v128.const i32x4 {snan4})))
      (func (export "maxm0") (param v128) (result v128)
        (f32x4.max (v128.const i32x4 {zeros}) (local.get 0)))
      (func (export "minm0") (param v128) (result v128)
        (f64x2.min (local.get 0) (v128.const i64x2 0x8000000000000000 0x8000000000000000)))
    )"""
    store = fresh_store()
    mod = wasm2py.Module(store.engine, wat(src))
    ll = L.instantiate(store, mod, {})
    snan = join([0x7FA00000, 0x7FA00000, 0xFFA00001, 0x7F800001], 32)
    for name, args, w, lanes in [("mul1", (), 32, 4), ("mul1p", (snan,), 32, 4),
                                 ("addm0p", (snan,), 32, 4), ("splat1", (snan,), 32, 4),
                                 ("sqrtc", (), 64, 2), ("roundtrip", (snan,), 32, 2),
                                 ("promote", (), 64, 2), ("minc", (0,), 32, 4),
                                 ("maxm0", (snan,), 32, 4),
                                 ("minm0", (join([0x7FF4000000000000, 0xFFF0000000000001], 64),),
                                  64, 2)]:  # fmt: skip
        r = ll.exports[name](*args)
        for x in split(r, w)[:lanes]:
            assert _nan(x, w) and _quiet(x, w), (name, hex(r))


# -- memory -------------------------------------------------------------------------------------

MEMORY_TEXT = {
    "v128.load": ("load", ""), "v128.load8x8_s": ("load", ""), "v128.load8x8_u": ("load", ""),
    "v128.load16x4_s": ("load", ""), "v128.load16x4_u": ("load", ""),
    "v128.load32x2_s": ("load", ""), "v128.load32x2_u": ("load", ""),
    "v128.load8_splat": ("load", ""), "v128.load16_splat": ("load", ""),
    "v128.load32_splat": ("load", ""), "v128.load64_splat": ("load", ""),
    "v128.load32_zero": ("load", ""), "v128.load64_zero": ("load", ""),
    "v128.load8_lane": ("load_lane", " 3"), "v128.load16_lane": ("load_lane", " 5"),
    "v128.load32_lane": ("load_lane", " 2"), "v128.load64_lane": ("load_lane", " 1"),
    "v128.store": ("store", ""), "v128.store8_lane": ("store", " 15"),
    "v128.store16_lane": ("store", " 6"), "v128.store32_lane": ("store", " 3"),
    "v128.store64_lane": ("store", " 1"),
}  # fmt: skip


def _memory_module() -> str:
    funcs = []
    for k, (name, (kind, lane)) in enumerate(sorted(MEMORY_TEXT.items())):
        for off in (0, 7):
            e = f'"m{k}_{off}"'
            ins = f"{name} offset={off}{lane}" if off else f"{name}{lane}"
            if kind == "load":
                funcs.append(f"(func (export {e}) (param i32) (result v128) "
                             f"({ins} (local.get 0)))")  # fmt: skip
            elif kind == "load_lane":
                funcs.append(f"(func (export {e}) (param i32 v128) (result v128) "
                             f"({ins} (local.get 0) (local.get 1)))")  # fmt: skip
            else:
                funcs.append(f"(func (export {e}) (param i32 v128) (result v128) "
                             f"({ins} (local.get 0) (local.get 1)) (v128.const i64x2 0 0))")  # fmt: skip
    return "(module (memory (export \"mem\") 1 2)\n" + "\n".join(funcs) + ")"


def test_memory_accesses_in_and_out_of_bounds():
    src = _memory_module()
    data = wat(src)
    size = 65536
    v = 0xF0E0D0C0B0A090807060504030201000 ^ 0x0123456789ABCDEF0123456789ABCDEF
    results = {}
    for tier in ("python", "llvm"):
        store = fresh_store()
        mod = wasm2py.Module(store.engine, data)
        inst = wasm2py.Instance(store, mod, {}) if tier == "python" else L.instantiate(store, mod)
        mem = inst.exports["mem"]
        pattern = bytes((i * 37 + 11) & 0xFF for i in range(size))
        mem.write(pattern, 0)
        out = []
        for k, (_name, (kind, _)) in enumerate(sorted(MEMORY_TEXT.items())):
            for off in (0, 7):
                f = inst.exports[f"m{k}_{off}"]
                for addr in (0, 1, 100, size - 40, size - 23, size - 17, size - 16, size - 15,
                             size - 9, size - 8, size - 4, size - 2, size - 1, size,
                             0xFFFFFFF0, 0xFFFFFFFF):  # fmt: skip
                    args = (addr,) if kind == "load" else (addr, v)
                    try:
                        out.append(("ok", f(*args)))
                    except wasm2py.Trap as t:
                        out.append(("trap", t.code))
                    # memory after each store (and never written outside on a trap)
                    if kind == "store":
                        out.append(bytes(mem.read(0, size)))
        results[tier] = out
    assert results["python"] == results["llvm"]
    assert sum(1 for r in results["llvm"] if isinstance(r, tuple) and r[0] == "trap") > 100


def test_out_of_bounds_store_never_touches_memory():
    src = """(module (memory (export "mem") 1)
      (func (export "st") (param i32 v128) (v128.store offset=8 (local.get 0) (local.get 1))))"""
    store = fresh_store()
    ll = L.instantiate(store, wasm2py.Module(store.engine, wat(src)))
    mem = ll.exports["mem"]
    for addr in (65536 - 23, 65536 - 16, 65536 - 9, 65535, 0xFFFFFFF8):
        with pytest.raises(wasm2py.Trap) as e:
            ll.exports["st"](addr, M128)
        assert "out of bounds" in str(e.value)
        assert bytes(mem.read(0, 65536)) == bytes(65536)
    ll.exports["st"](65536 - 24, M128)
    assert bytes(mem.read(65536 - 16, 65536)) == b"\xff" * 16


# -- the boundary -----------------------------------------------------------------------------

BOUNDARY = """(module
  (import "env" "h" (func $h (param i32 v128 f32) (result v128 i64)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (global $c v128 (v128.const i64x2 -1 0x1234))
  (func (export "callh") (param v128) (result v128 i64)
    (call $h (i32.const 7) (local.get 0) (f32.const -0.5)))
  (func (export "swap") (param v128 v128) (result v128 v128) (local.get 1) (local.get 0))
  (func (export "sel") (param v128 v128 i32) (result v128)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "selt") (param v128 v128 i32) (result v128)
    (select (result v128) (local.get 0) (local.get 1) (local.get 2)))
  (func (export "getg") (result v128) (global.get $g))
  (func (export "setg") (param v128) (global.set $g (local.get 0)))
  (func (export "getc") (result v128) (global.get $c))
  (func (export "loop") (param v128 i32) (result v128)
    (block (result v128) (local.get 0) (loop (param v128) (result v128)
      (i32x4.add (v128.const i32x4 1 1 1 1))
      (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))
      (br_if 0)
      (br 1))))
  (func (export "zero") (result v128) (local v128) (local.get 0))
)"""


def test_v128_at_the_boundary():
    seen = []

    def h(i, v, f):
        seen.append((i, v, f))
        return (v ^ M128, i * 3)

    ft = FuncType((ValType.I32, ValType.V128, ValType.F32), (ValType.V128, ValType.I64))
    store = fresh_store()
    mod = wasm2py.Module(store.engine, wat(BOUNDARY))
    for inst in (wasm2py.Instance(store, mod, {"env": {"h": wasm2py.Func(store, ft, h)}}),
                 L.instantiate(store, mod, {"env": {"h": wasm2py.Func(store, ft, h)}})):  # fmt: skip
        e = inst.exports
        a = 0x0123456789ABCDEF_FEDCBA9876543210
        b = (1 << 127) | 5
        assert e["callh"](a) == (a ^ M128, 21)
        assert seen[-1] == (7, a, -0.5)
        assert e["swap"](a, b) == (b, a)
        assert e["swap"](a.to_bytes(16, "little"), b) == (b, a)  # bytes are accepted
        assert e["swap"](-1, -(1 << 127)) == (1 << 127, M128)  # so are negative ints
        assert e["sel"](a, b, 1) == a and e["sel"](a, b, 0) == b
        assert e["selt"](a, b, 2) == a and e["selt"](a, b, 0) == b
        assert e["getg"]() == join([1, 2, 3, 4], 32)
        e["setg"](M128)
        assert e["getg"]() == M128 and e["g"].value == M128
        e["g"].value = b
        assert e["getg"]() == b
        assert e["getc"]() == (0x1234 << 64) | 0xFFFFFFFFFFFFFFFF
        assert e["loop"](M128, 3) == join([2, 2, 2, 2], 32)
        assert e["zero"]() == 0


def test_v128_calls_between_llvm_instances():
    lib = """(module (func (export "inc") (param v128) (result v128)
      (i64x2.add (local.get 0) (v128.const i64x2 1 -1))))"""
    user = """(module (import "lib" "inc" (func $inc (param v128) (result v128)))
      (func (export "twice") (param v128) (result v128) (call $inc (call $inc (local.get 0)))))"""
    store = fresh_store()
    a = L.instantiate(store, wasm2py.Module(store.engine, wat(lib)))
    b = L.instantiate(store, wasm2py.Module(store.engine, wat(user)), {"lib": {"inc": a.exports["inc"]}})
    assert b.exports["twice"](join([5, 5], 64)) == join([7, 3], 64)


def test_aarch64_object_uses_neon():
    from tools.bench.build import KERNEL_DIR, WASM_FLAGS, ToolMissing, build_kernel
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.jit import optimize, parse, simd_isa, target_machine
    from wasm2py.llvm.lower import build_module
    from wasm2py.validate.validator import validate_module

    src = """(module (memory 1)
      (func (export "k") (param i32 i32 v128) (result v128) (local v128)
        (loop (local.set 3 (f32x4.add (local.get 3)
                 (f32x4.mul (v128.load (local.get 0)) (v128.load offset=16 (local.get 0)))))
              (local.set 3 (v128.xor (local.get 3) (i8x16.swizzle (local.get 3) (local.get 2))))
              (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
        (local.get 3)))"""
    datas = [wat(src)]
    try:
        datas.append(build_kernel(KERNEL_DIR / "simd_filter.c",
                                  flags=(*WASM_FLAGS, "-msimd128")).read_bytes())  # fmt: skip
    except ToolMissing:
        pass
    for data in datas:
        m = decode_module(data)
        validate_module(m)
        obj = L.emit_object(m, L.AARCH64_TRIPLE)
        assert obj[:4] == b"\x7fELF" and struct.unpack_from("<H", obj, 18)[0] == 183
    tm = target_machine(L.AARCH64_TRIPLE, 2)
    assert simd_isa(tm) == "aarch64"
    mod = parse(str(build_module(decode_module(datas[0]), simd_isa="aarch64")), tm)
    optimize(mod, tm, 2)
    asm = tm.emit_assembly(mod)
    assert "fmul\tv" in asm and ".4s" in asm  # NEON vector multiply on four f32 lanes
    assert "tbl\tv" in asm  # swizzle: one NEON table lookup


@pytest.mark.parametrize("isa", ["", "x86", "aarch64"])
def test_swizzle_forms(isa, monkeypatch):
    import llvmlite.binding as llvm

    from wasm2py.llvm import jit

    host = jit.simd_isa(jit.host_target_machine())
    if isa and isa != host:
        pytest.skip(f"the {isa} form needs a {isa} host (object emission is tested above)")
    if isa == "x86":
        assert "+ssse3" in llvm.get_host_cpu_features().flatten().split(",")
    monkeypatch.setattr(jit, "simd_isa", lambda tm: isa)
    src = """(module (func (export "sw") (param v128 v128) (result v128)
      (i8x16.swizzle (local.get 0) (local.get 1))))"""
    store = fresh_store()
    mod = wasm2py.Module(store.engine, wat(src))
    py = wasm2py.Instance(store, mod, {})
    ll = L.instantiate(store, L.compile_module(mod._module))
    a = 0xF0E0D0C0B0A090807060504030201000 | 0x0F0E0D0C0B0A09080706050403020100
    for s in [join(range(16), 8), join(range(15, -1, -1), 8), join([16, 17, 0x7F, 0x80, 0x8F,
              0xF0, 0xFF, 15, 0x70, 0x0F, 0x10, 0x90, 1, 2, 3, 0xEF], 8), M128, 0] + VECTORS[8]:  # fmt: skip
        assert py.exports["sw"](a, s) == ll.exports["sw"](a, s), hex(s)
