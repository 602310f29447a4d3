"""Random valid modules aimed at the SIMD instruction set (``wasm-tools smith`` emits few SIMD
instructions, and rarely one feeding another).

Every function takes ``(v128, v128, i32, i64, f32, f64)`` and returns a ``v128``; its body is a
few statements (local sets, stores, a counted loop, ``if``/``else``, calls of earlier functions)
and a final expression tree. Trees are typed: every SIMD instruction appears with operands
produced by other instructions (chains like ``demote`` → ``extend_low``), constants with edge
lanes (NaN payloads, ±0, ±inf, integer extremes), splats of constants (shapes LLVM folds), shared
subtrees through locals, ``select``, typed blocks and scalar glue. Memory accesses mostly hit the
single page, sometimes not (a trap). Loops run a bounded number of times, calls go to earlier
functions only, so every call terminates. Same seed, same module.
"""

from __future__ import annotations

import random

from wasm2py.binary.opcodes import SIMD_BASE, SIMD_IMM, SIMD_NAMES, SIMD_NATURAL_ALIGN, Imm
from wasm2py.types import ValType
from wasm2py.validate.simd_types import SIMD_LANES, SIMD_SIGS

from . import encode as E

I32, I64, F32, F64, V128 = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B
_VT = {ValType.I32: I32, ValType.I64: I64, ValType.F32: F32, ValType.F64: F64,
       ValType.V128: V128}  # fmt: skip
PARAMS = [V128, V128, I32, I64, F32, F64]
LOCALS = [V128, V128, I32, F32, F64, I32, V128, F32, F64]  # 6, 7: v128; 8: loop counter;
# 9, 10, 11; 12, 13, 14: scratch for NaN canonicalization
SCRATCH = {V128: 12, F32: 13, F64: 14}
COUNTER = 8
VARS = {V128: [0, 1, 6, 7], I32: [2, 11], I64: [3], F32: [4, 9], F64: [5, 10]}
SET_VARS = {V128: [6, 7], I32: [11], F32: [9], F64: [10]}

F32_EDGES = [0, 0x80000000, 0x7FC00000, 0xFFC00000, 0x7FA00000, 0x7F800001, 0xFFBFFFFF,
             0x7F800000, 0xFF800000, 0x3F800000, 0xBF800000, 0x3F000000, 0x4F000000,
             0xCF000000, 0x4F800000, 0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0x3FC00000,
             0x4B000001, 0xC0200000]  # fmt: skip
F64_EDGES = [0, 1 << 63, 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF4000000000000,
             0x7FF0000000000001, 0x7FF0000000000000, 0xFFF0000000000000, 0x3FF0000000000000,
             0xBFF0000000000000, 0x3FE0000000000000, 0x41E0000000000000, 0xC1E0000000000000,
             0x41F0000000000000, 1, 0x7FEFFFFFFFFFFFFF, 0x4330000000000001,
             0x36A0000000000000, 0x47EFFFFFE0000000]  # fmt: skip
I32_EDGES = [0, 1, 2, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000,
             0xFFFF, 0x10000, 31, 32, 33, 15, 16, 17]  # fmt: skip
I64_EDGES = [0, 1, (1 << 64) - 1, (1 << 63) - 1, 1 << 63, 0xFFFFFFFF, 1 << 32, 63, 64, 65]

#: SIMD opcodes by result type (loads/stores and lane ops handled with their immediates)
_BY_RESULT: dict[int, list[int]] = {}
for _op, (_ps, _rs) in SIMD_SIGS.items():
    if _rs and not SIMD_NAMES[_op].endswith(".const"):
        _BY_RESULT.setdefault(_VT[_rs[0]], []).append(_op)
_STORES = [op for op, (_ps, rs) in SIMD_SIGS.items() if not rs]

# scalar glue: (opcode bytes, params, whether a NaN result's bits are left open by the spec)
_SCALAR = {
    I32: [(b"\x6a", [I32, I32], 0), (b"\x73", [I32, I32], 0), (b"\xa7", [I64], 0),
          (b"\xbc", [F32], 0), (b"\xfc\x00", [F32], 0), (b"\xfc\x03", [F64], 0),
          (b"\x45", [I32], 0), (b"\x74", [I32, I32], 0)],
    I64: [(b"\x7c", [I64, I64], 0), (b"\xad", [I32], 0), (b"\xbd", [F64], 0),
          (b"\x86", [I64, I64], 0)],
    F32: [(b"\x92", [F32, F32], 1), (b"\x94", [F32, F32], 1), (b"\x91", [F32], 1),
          (b"\x96", [F32, F32], 1), (b"\xb6", [F64], 1), (b"\xb2", [I32], 0),
          (b"\xbe", [I32], 0), (b"\x8c", [F32], 0)],
    F64: [(b"\xa0", [F64, F64], 1), (b"\xa4", [F64, F64], 1), (b"\xbb", [F32], 1),
          (b"\xba", [I64], 0), (b"\xbf", [I64], 0), (b"\x9f", [F64], 1),
          (b"\xa2", [F64, F64], 1)],
}  # fmt: skip
#: SIMD float operations whose NaN results' bits the spec leaves open
_NAN_OPEN = ("add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc",
             "nearest", "demote_f64x2_zero", "promote_low_f32x4")  # fmt: skip


class Gen:
    """One module's generator state."""

    def __init__(self, rng: random.Random, canonicalize_nans: bool):
        self.rng = rng
        self.nfuncs = 0
        self.canon = canonicalize_nans

    def canonical(self, code: bytes, t: int, shape: str = "") -> bytes:
        """``code`` (producing a float or a float vector) with every NaN replaced by the
        canonical one, when canonicalizing: then NaN bits, which the spec leaves open and
        the two tiers may choose differently, never become observable as integers."""
        if not self.canon:
            return code
        s = E.uleb(SCRATCH[t])
        if t == V128:
            ne, nan = (E.simd(66), 0x7FC00000) if shape == "f32x4" else (E.simd(72), 0x7FF8 << 48)
            lanes = 4 if shape == "f32x4" else 2
            width = 128 // lanes
            const = sum(nan << (i * width) for i in range(lanes)).to_bytes(16, "little")
            return (code + b"\x21" + s + E.simd(12) + const + b"\x20" + s + b"\x20" + s
                    + b"\x20" + s + ne + E.simd(82))  # fmt: skip
        if t == F32:
            nan, ne = E.f32_const(0x7FC00000), b"\x5c"
        else:
            nan, ne = E.f64_const(0x7FF8 << 48), b"\x62"
        return code + b"\x21" + s + nan + b"\x20" + s + b"\x20" + s + b"\x20" + s + ne + b"\x1b"

    # -- leaves ----------------------------------------------------------------------------
    def lane_bits(self, width: int, floaty: str | None) -> int:
        r = self.rng
        if floaty == "f32":
            return r.choice(F32_EDGES) if r.random() < 0.8 else r.getrandbits(32)
        if floaty == "f64":
            return r.choice(F64_EDGES) if r.random() < 0.8 else r.getrandbits(64)
        if r.random() < 0.6:
            edges = I64_EDGES if width == 64 else I32_EDGES
            return r.choice(edges) & ((1 << width) - 1)
        return r.getrandbits(width)

    def v128_bits(self) -> int:
        r = self.rng
        kind = r.choice(["f32", "f64", 8, 16, 32, 64, "rand", "zero", "ones"])
        if kind == "rand":
            return r.getrandbits(128)
        if kind == "zero":
            return 0
        if kind == "ones":
            return (1 << 128) - 1
        width = 32 if kind == "f32" else 64 if kind == "f64" else kind
        floaty = kind if isinstance(kind, str) else None
        v = 0
        for i in range(128 // width):
            v |= self.lane_bits(width, floaty) << (i * width)
        return v

    def const(self, t: int) -> bytes:
        if t == I32:
            return E.i32_const(self.lane_bits(32, None))
        if t == I64:
            return E.i64_const(self.lane_bits(64, None))
        if t == F32:
            return E.f32_const(self.lane_bits(32, "f32"))
        if t == F64:
            return E.f64_const(self.lane_bits(64, "f64"))
        return E.simd(12) + self.v128_bits().to_bytes(16, "little")

    def leaf(self, t: int) -> bytes:
        r = self.rng.random()
        if r < 0.45:
            return b"\x20" + E.uleb(self.rng.choice(VARS[t]))
        if t == V128 and r < 0.65:
            # a splat of a constant: LLVM sees a constant vector
            shape = self.rng.choice([(I32, 15), (I32, 16), (I32, 17), (I64, 18), (F32, 19),
                                     (F64, 20)])  # fmt: skip
            return self.const(shape[0]) + E.simd(shape[1])
        return self.const(t)

    # -- expressions -----------------------------------------------------------------------
    def expr(self, t: int, depth: int) -> bytes:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.15:
            return self.leaf(t)
        r = rng.random()
        if t == V128:
            if r < 0.06:
                return self.expr(V128, depth - 1) + self.expr(V128, depth - 1) + \
                    self.expr(I32, depth - 2) + b"\x1b"  # select
            if r < 0.10:
                var = rng.choice(SET_VARS[V128])
                return self.expr(V128, depth - 1) + b"\x22" + E.uleb(var)  # local.tee
            if r < 0.13:
                return b"\x02\x7b" + self.expr(V128, depth - 1) + b"\x0b"  # block (result v128)
            if r < 0.16:
                return (self.expr(I32, depth - 2) + b"\x04\x7b" + self.expr(V128, depth - 1)
                        + b"\x05" + self.expr(V128, depth - 1) + b"\x0b")  # fmt: skip
            if r < 0.19 and self.nfuncs:
                return self.call(depth)
        elif t in _SCALAR and r < 0.35:
            code, params, open_nan = rng.choice(_SCALAR[t])
            code = b"".join(self.expr(p, depth - 1) for p in params) + code
            return self.canonical(code, t) if open_nan else code
        ops = _BY_RESULT.get(t)
        if not ops:
            return self.leaf(t)
        return self.simd_op(rng.choice(ops), depth)

    def call(self, depth: int) -> bytes:
        callee = self.rng.randrange(self.nfuncs)
        args = b"".join(self.expr(p, depth - 2) for p in PARAMS)
        return args + b"\x10" + E.uleb(callee)

    def address(self, depth: int, size: int) -> bytes:
        r = self.rng.random()
        if r < 0.75:
            return E.i32_const(self.rng.randrange(0, 65536 - size - 64))
        if r < 0.85:
            return E.i32_const(self.rng.choice([65536 - size, 65536 - size + 1, 65535,
                                                0xFFFFFFF0]))  # fmt: skip
        # a computed address: mostly in bounds
        return self.expr(I32, depth - 1) + E.i32_const(0xFFF0) + b"\x71"  # i32.and

    def memarg(self, op: int) -> tuple[bytes, int]:
        natural = SIMD_NATURAL_ALIGN[op]
        align = self.rng.randint(0, natural)
        offset = self.rng.choice([0, 0, 0, 1, 3, 8, 16, 31, self.rng.randrange(64)])
        return E.memarg(align, offset), offset

    def simd_op(self, op: int, depth: int) -> bytes:
        rng = self.rng
        params, _ = SIMD_SIGS[op]
        imm = SIMD_IMM[op]
        sub = op - SIMD_BASE
        name = SIMD_NAMES[op]
        if imm in (Imm.MEMARG, Imm.MEMARG_LANE):
            arg, offset = self.memarg(op)
            out = self.address(depth, 16 + offset)
            for p in params[1:]:
                out += self.expr(_VT[p], depth - 1)
            out += E.simd(sub) + arg
            if imm is Imm.MEMARG_LANE:
                out += bytes([rng.randrange(SIMD_LANES[op])])
            return out
        out = b"".join(self.expr(_VT[p], depth - 1) for p in params)
        out += E.simd(sub)
        if imm is Imm.LANE:
            out += bytes([rng.randrange(SIMD_LANES[op])])
        elif imm is Imm.SHUFFLE:
            out += bytes(self.shuffle_mask())
        shape, _, rest = name.partition(".")
        if shape in ("f32x4", "f64x2") and rest in _NAN_OPEN:
            out = self.canonical(out, V128, shape)
        return out

    def shuffle_mask(self) -> list[int]:
        rng = self.rng
        kind = rng.randrange(6)
        if kind == 0:
            return [rng.randrange(32) for _ in range(16)]
        if kind == 1:
            return list(range(16))
        if kind == 2:  # one lane everywhere
            w = rng.choice([1, 2, 4, 8])
            lane = rng.randrange(32 // w)
            return [lane * w + i % w for i in range(16)]
        if kind == 3:  # interleave low or high halves
            w = rng.choice([1, 2, 4, 8])
            base = rng.choice([0, 8])
            out = []
            for i in range(16 // (2 * w)):
                for src in (0, 16):
                    out += [src + base + i * w + k for k in range(w)]
            return out
        if kind == 4:  # low half of one, low half of the other (concat)
            a, b = rng.choice([(0, 16), (8, 24), (16, 0), (0, 8)])
            return [a + i for i in range(8)] + [b + i for i in range(8)]
        w = rng.choice([4, 8])
        return [(i + w) % 16 + rng.choice([0, 16]) * (i % w == 0) for i in range(16)]

    # -- statements ------------------------------------------------------------------------
    def stmt(self, depth: int) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            t = rng.choice([V128, V128, V128, I32, F32, F64])
            return self.expr(t, depth) + b"\x21" + E.uleb(rng.choice(SET_VARS[t]))
        if r < 0.55:
            op = rng.choice(_STORES)
            return self.simd_op(op, depth)
        if r < 0.70:
            # a counted loop (1-4 iterations) rewriting a v128 local
            var = rng.choice(SET_VARS[V128])
            n = rng.randint(1, 4)
            return (E.i32_const(n) + b"\x21" + E.uleb(COUNTER)
                    + b"\x03\x40" + self.expr(V128, depth - 1) + b"\x21" + E.uleb(var)
                    + b"\x20" + E.uleb(COUNTER) + E.i32_const(1) + b"\x6b"
                    + b"\x22" + E.uleb(COUNTER) + b"\x0d\x00\x0b")  # fmt: skip
        if r < 0.80:
            return (self.expr(I32, depth - 1) + b"\x04\x40" + self.stmt(depth - 1) + b"\x05"
                    + self.stmt(depth - 1) + b"\x0b")  # fmt: skip
        t = rng.choice([V128, I32, I64, F32, F64])
        return self.expr(t, depth) + b"\x1a"  # drop

    def function(self) -> bytes:
        rng = self.rng
        depth = rng.randint(3, 7)
        code = b"".join(self.stmt(depth) for _ in range(rng.randint(0, 4)))
        code += self.expr(V128, depth + 1)
        return E.body(LOCALS, code)


def generate(seed: int, canonicalize_nans: bool = False) -> bytes:
    """A valid module of 1-4 SIMD functions (exports ``f0``...) and one page of memory
    (export ``mem``); deterministic in ``seed``. ``canonicalize_nans``: every float
    operation whose NaN result the spec leaves open is followed by code that replaces a NaN
    with the canonical NaN (see :meth:`Gen.canonical`)."""
    rng = random.Random(seed)
    g = Gen(rng, canonicalize_nans)
    n = rng.randint(1, 4)
    bodies = []
    for _ in range(n):
        bodies.append(g.function())
        g.nfuncs += 1
    exports = [(f"f{i}", 0, i) for i in range(n)] + [("mem", 2, 0)]
    return E.module([E.functype(PARAMS, [V128])], [0] * n, bodies, exports, memory=(1, 1))
