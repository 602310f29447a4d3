"""Lowering of the Wasm 2.0 fixed-width SIMD (``v128``) instructions to LLVM vector IR.

A v128 value has one canonical type everywhere outside an instruction: ``<2 x i64>``
(:data:`~wasm2py.llvm.lower.V128`: on the operand stack, in locals, block slots, parameters,
results and globals). Each instruction bitcasts its operands to the shape it works on
(``<16 x i8>`` ... ``<2 x double>``) and its result back; the bitcasts cost nothing and LLVM's
instruction selection turns the lane-wise IR into SSE/AVX on x86-64 and NEON on AArch64.

Exact wasm semantics where LLVM's differ (the same rules as the scalar instructions, see
:mod:`.lower`):

* shift counts are taken modulo the lane width (LLVM's vector shifts by >= width are poison);
* ``min``/``max`` are compares and selects, as for scalars (NaN-propagating, -0 < +0:
  :meth:`~.lower.FunctionLowerer.min_max`); ``pmin``/``pmax`` are compare + select (bitwise);
* float-to-int truncations are ``llvm.fpto[su]i.sat``; ``nearest`` is ``llvm.roundeven``;
  ``abs``/``neg`` are the bitwise ``fabs``/``fneg`` (NaN payloads kept);
* the NaN rule (as for scalars): every NaN lane of a float arithmetic, rounding, ``sqrt``,
  ``min``/``max``, ``demote`` or ``promote`` result is the positive canonical NaN (a compare and
  a select per instruction: whatever LLVM folds or the hardware's default NaN is);
* narrowing clamps then truncates; ``q15mulr_sat_s`` widens to i32; ``avgr_u`` widens by one
  size; ``swizzle`` gives 0 for an index >= 16; ``bitmask`` is a sign compare bitcast to an
  integer;
* every memory access (full, extending, splat, zero, lane) is bounds-checked exactly like a
  scalar one: an out-of-bounds access traps before touching memory.
"""

from __future__ import annotations

from llvmlite import ir

from ..binary.opcodes import SIMD_NAMES
from ..errors import UnsupportedFeature
from .lower import F32, F64, I1, I8, I16, I32, I64, V128

I8X16 = ir.VectorType(I8, 16)
I16X8 = ir.VectorType(I16, 8)
I32X4 = ir.VectorType(I32, 4)
I64X2 = ir.VectorType(I64, 2)
F32X4 = ir.VectorType(F32, 4)
F64X2 = ir.VectorType(F64, 2)
SHAPES = {"i8x16": I8X16, "i16x8": I16X8, "i32x4": I32X4, "i64x2": I64X2, "f32x4": F32X4,
          "f64x2": F64X2}  # fmt: skip
_INT_OF = {8: I8, 16: I16, 32: I32, 64: I64}

_ICMP = {"eq": ("==", None), "ne": ("!=", None), "lt_s": ("<", True), "lt_u": ("<", False),
         "gt_s": (">", True), "gt_u": (">", False), "le_s": ("<=", True), "le_u": ("<=", False),
         "ge_s": (">=", True), "ge_u": (">=", False)}  # fmt: skip
_FCMP = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
_MINMAX = {"min_s": "llvm.smin", "min_u": "llvm.umin", "max_s": "llvm.smax",
           "max_u": "llvm.umax", "add_sat_s": "llvm.sadd.sat", "add_sat_u": "llvm.uadd.sat",
           "sub_sat_s": "llvm.ssub.sat", "sub_sat_u": "llvm.usub.sat"}  # fmt: skip
_FUN = {"sqrt": "llvm.sqrt", "ceil": "llvm.ceil", "floor": "llvm.floor", "trunc": "llvm.trunc",
        "nearest": "llvm.roundeven"}  # fmt: skip
# v128.load<N>x<M>_<s|u>: (narrow lane type, count, wide vector type)
_LOAD_EXT = {"8x8": (I8, 8, I16X8), "16x4": (I16, 4, I32X4), "32x2": (I32, 2, I64X2)}


def mangle(t: ir.Type) -> str:
    """The intrinsic-name suffix of a (vector) type: ``v4f32``, ``v16i8``, ``i32``..."""
    if isinstance(t, ir.VectorType):
        return f"v{t.count}{mangle(t.element)}"
    if t is F32 or isinstance(t, ir.FloatType):
        return "f32"
    if t is F64 or isinstance(t, ir.DoubleType):
        return "f64"
    return str(t)


def _vec(elem: ir.Type, n: int) -> ir.VectorType:
    return ir.VectorType(elem, n)


def _mask(idx) -> ir.Constant:
    return ir.Constant(_vec(I32, len(idx)), list(idx))


def _lane_bits(t: ir.VectorType) -> int:
    e = t.element
    return 32 if e is F32 or isinstance(e, ir.FloatType) else (
        64 if isinstance(e, ir.DoubleType) else e.width)


def _int_vec(t: ir.VectorType) -> ir.VectorType:
    """The integer vector of the same shape (comparison results)."""
    return _vec(_INT_OF[_lane_bits(t)], t.count)


class SimdLowerer:
    """Lowers the SIMD instructions of one function (a companion of
    :class:`~wasm2py.llvm.lower.FunctionLowerer`, which owns the stack and the builder)."""

    def __init__(self, fl):
        self.fl = fl
        self.b: ir.IRBuilder = fl.b

    # -- helpers ----------------------------------------------------------------------------
    def cast(self, v, t: ir.Type):
        return v if v.type == t else self.b.bitcast(v, t)

    def pop(self, t: ir.Type = V128):
        return self.cast(self.fl.pop(), t)

    def push(self, v) -> None:
        self.fl.push(self.cast(v, V128))

    def call(self, name: str, t: ir.Type, args: list, ret: ir.Type | None = None):
        """Call the overloaded intrinsic ``name.<mangle(t)>`` (``t`` its operand type)."""
        ret = t if ret is None else ret
        fn = self.fl.intr(f"{name}.{mangle(t)}", ret, [a.type for a in args])
        return self.b.call(fn, args)

    def splat(self, x, t: ir.VectorType):
        b = self.b
        one = b.insert_element(ir.Constant(t, ir.Undefined), x, ir.Constant(I32, 0))
        return b.shuffle_vector(one, ir.Constant(t, ir.Undefined), _mask([0] * t.count))

    def const_splat(self, x: int, t: ir.VectorType) -> ir.Constant:
        return ir.Constant(t, [x] * t.count)

    def canonical_nan(self, v):
        """The NaN rule: NaN lanes of ``v`` (a float arithmetic result) become the positive
        canonical NaN."""
        t = v.type
        key = ("nan", str(t))
        canon = self.fl._cache.get(key)
        if canon is None:  # a splat of the loaded scalar, once per function (in its entry)
            fl = self.fl
            ab = fl.ab
            x = fl.canon_nan(t.element)
            one = ab.insert_element(ir.Constant(t, ir.Undefined), x, ir.Constant(I32, 0))
            canon = ab.shuffle_vector(one, ir.Constant(t, ir.Undefined), _mask([0] * t.count))
            fl._cache[key] = canon
        return self.b.select(self.b.fcmp_unordered("uno", v, v), canon, v)

    def half(self, v, high: bool):
        """The low or high half of a vector's lanes."""
        n = v.type.count // 2
        base = n if high else 0
        return self.b.shuffle_vector(v, v, _mask(range(base, base + n)))

    def widen(self, v, signed: bool, to: ir.VectorType):
        return self.b.sext(v, to) if signed else self.b.zext(v, to)

    # -- dispatch ---------------------------------------------------------------------------
    def op(self, ins) -> None:
        name = SIMD_NAMES[ins.op]
        shape, _, rest = name.partition(".")
        if rest.startswith("relaxed_"):
            self.relaxed(shape, rest[8:])
            return
        if shape == "v128":
            self.v128(rest, ins)
        elif shape[0] == "i":
            if name == "i8x16.shuffle":
                self.shuffle(ins.imm)
            elif name == "i8x16.swizzle":
                self.swizzle()
            else:
                self.integer(SHAPES[shape], rest, ins)
        else:
            self.floating(SHAPES[shape], rest, ins)

    # -- v128.* -----------------------------------------------------------------------------
    def v128(self, op: str, ins) -> None:
        b = self.b
        if op == "const":
            lanes = int.from_bytes(ins.imm, "little")
            self.push(ir.Constant(V128, [lanes & 0xFFFFFFFFFFFFFFFF, lanes >> 64]))
        elif op == "not":
            self.push(b.not_(self.pop()))
        elif op in ("and", "or", "xor"):
            y = self.pop()
            x = self.pop()
            self.push(getattr(b, op + "_" if op in ("and", "or") else op)(x, y))
        elif op == "andnot":
            y = self.pop()
            x = self.pop()
            self.push(b.and_(x, b.not_(y)))
        elif op == "bitselect":
            c = self.pop()
            y = self.pop()
            x = self.pop()
            self.push(b.or_(b.and_(x, c), b.and_(y, b.not_(c))))
        elif op == "any_true":
            x = self.pop()
            wide = b.bitcast(x, ir.IntType(128))
            self.fl.push(b.zext(b.icmp_unsigned("!=", wide, ir.Constant(ir.IntType(128), 0)), I32))
        elif op.startswith("load"):
            self.load(op, ins.imm)
        elif op.startswith("store"):
            self.store(op, ins.imm)
        else:
            raise UnsupportedFeature(f"LLVM tier: v128.{op}")

    def load(self, op: str, imm) -> None:
        b = self.b
        fl = self.fl
        offset = imm[1]
        if op == "load":
            self.push(b.load(fl.effective(offset, 16, imm[-1]), typ=V128, align=1, **fl.access(imm[-1])))
            return
        body = op[4:]  # "8x8_s", "32_splat", "64_zero", "16_lane"
        if body.endswith("_lane"):
            bits = int(body[:-5])
            t = _vec(_INT_OF[bits], 128 // bits)
            v = self.pop(t)
            x = b.load(fl.effective(offset, bits // 8, imm[-1]), typ=_INT_OF[bits], align=1,
                       **fl.access(imm[-1]))
            self.push(b.insert_element(v, x, ir.Constant(I32, imm[2])))
            return
        if body.endswith("_splat"):
            bits = int(body[:-6])
            x = b.load(fl.effective(offset, bits // 8, imm[-1]), typ=_INT_OF[bits], align=1,
                       **fl.access(imm[-1]))
            self.push(self.splat(x, _vec(_INT_OF[bits], 128 // bits)))
            return
        if body.endswith("_zero"):
            bits = int(body[:-5])
            x = b.load(fl.effective(offset, bits // 8, imm[-1]), typ=_INT_OF[bits], align=1,
                       **fl.access(imm[-1]))
            t = _vec(_INT_OF[bits], 128 // bits)
            self.push(b.insert_element(ir.Constant(t, None), x, ir.Constant(I32, 0)))
            return
        kind, _, sign = body.partition("_")
        narrow, n, wide = _LOAD_EXT[kind]
        x = b.load(fl.effective(offset, 8, imm[-1]), typ=_vec(narrow, n), align=1,
                   **fl.access(imm[-1]))
        self.push(self.widen(x, sign == "s", wide))

    def store(self, op: str, imm) -> None:
        b = self.b
        fl = self.fl
        offset = imm[1]
        if op == "store":
            v = self.pop()
            p = fl.effective(offset, 16, imm[-1])
            if fl.unchecked(imm[-1]):
                fl.store_fence()
            b.store(v, p, align=1, **fl.access(imm[-1]))
            return
        bits = int(op[5:-5])  # store<bits>_lane
        v = self.pop(_vec(_INT_OF[bits], 128 // bits))
        x = b.extract_element(v, ir.Constant(I32, imm[2]))
        p = fl.effective(offset, bits // 8, imm[-1])
        if fl.unchecked(imm[-1]):
            fl.store_fence()
        b.store(x, p, align=1, **fl.access(imm[-1]))

    # -- shuffles ---------------------------------------------------------------------------
    def shuffle(self, lanes: bytes) -> None:
        y = self.pop(I8X16)
        x = self.pop(I8X16)
        self.push(self.b.shuffle_vector(x, y, _mask(list(lanes))))

    def swizzle(self) -> None:
        # Out-of-range indices (>= 16) select 0. LLVM has no generic variable byte shuffle:
        # AArch64's tbl has exactly these semantics; x86's pshufb zeroes a lane whose index
        # has bit 7 set and otherwise uses its low 4 bits, so indices are first mapped with
        # a saturating + 0x70 (0..15 -> 0x70..0x7F, 16..255 -> >= 0x80). Elsewhere: lane by lane.
        b = self.b
        s = self.pop(I8X16)
        x = self.pop(I8X16)
        isa = self.fl.mb.simd_isa
        if isa == "aarch64":
            fn = self.fl.intr("llvm.aarch64.neon.tbl1.v16i8", I8X16, [I8X16, I8X16])
            self.push(b.call(fn, [x, s]))
            return
        if isa == "x86":
            s = self.call("llvm.uadd.sat", I8X16, [s, self.const_splat(0x70, I8X16)])
            fn = self.fl.intr("llvm.x86.ssse3.pshuf.b.128", I8X16, [I8X16, I8X16])
            self.push(b.call(fn, [x, s]))
            return
        sel = []
        for i in range(16):
            k = b.extract_element(s, ir.Constant(I32, i))
            sel.append(b.extract_element(x, b.and_(k, ir.Constant(I8, 15))))
        r = ir.Constant(I8X16, ir.Undefined)
        for i, e in enumerate(sel):
            r = b.insert_element(r, e, ir.Constant(I32, i))
        in_range = b.icmp_unsigned("<", s, self.const_splat(16, I8X16))
        self.push(b.select(in_range, r, ir.Constant(I8X16, None)))

    # -- integer shapes ---------------------------------------------------------------------
    def integer(self, t: ir.VectorType, op: str, ins) -> None:  # noqa: C901 - one case per op
        b = self.b
        w = t.element.width
        if op in ("add", "sub", "mul"):
            y = self.pop(t)
            x = self.pop(t)
            self.push(getattr(b, op)(x, y))
        elif op in _ICMP:
            y = self.pop(t)
            x = self.pop(t)
            pyop, signed = _ICMP[op]
            c = b.icmp_signed(pyop, x, y) if signed else b.icmp_unsigned(pyop, x, y)
            self.push(b.sext(c, t))
        elif op in _MINMAX:
            y = self.pop(t)
            x = self.pop(t)
            self.push(self.call(_MINMAX[op], t, [x, y]))
        elif op == "neg":
            self.push(b.sub(ir.Constant(t, None), self.pop(t)))
        elif op == "abs":
            self.push(self.call("llvm.abs", t, [self.pop(t), ir.Constant(I1, 0)]))
        elif op == "popcnt":
            self.push(self.call("llvm.ctpop", t, [self.pop(t)]))
        elif op in ("shl", "shr_s", "shr_u"):
            n = self.fl.pop()
            x = self.pop(t)
            n = b.and_(n, ir.Constant(I32, w - 1))  # counts are modulo the lane width
            n = b.trunc(n, t.element) if w < 32 else b.zext(n, t.element) if w > 32 else n
            name = {"shl": "shl", "shr_s": "ashr", "shr_u": "lshr"}[op]
            self.push(getattr(b, name)(x, self.splat(n, t)))
        elif op == "avgr_u":
            wide = _vec(_INT_OF[2 * w], t.count)
            y = b.zext(self.pop(t), wide)
            x = b.zext(self.pop(t), wide)
            r = b.lshr(b.add(b.add(x, y), self.const_splat(1, wide)), self.const_splat(1, wide))
            self.push(b.trunc(r, t))
        elif op == "all_true":
            c = b.icmp_unsigned("!=", self.pop(t), ir.Constant(t, None))
            r = self.call("llvm.vector.reduce.and", c.type, [c], ret=I1)
            self.fl.push(b.zext(r, I32))
        elif op == "bitmask":
            c = b.icmp_signed("<", self.pop(t), ir.Constant(t, None))
            self.fl.push(b.zext(b.bitcast(c, ir.IntType(t.count)), I32))
        elif op == "splat":
            x = self.fl.pop()
            if w < 32:
                x = b.trunc(x, t.element)
            self.push(self.splat(x, t))
        elif op.startswith("extract_lane"):
            x = b.extract_element(self.pop(t), ir.Constant(I32, ins.imm))
            if w < 32:
                x = b.sext(x, I32) if op.endswith("_s") else b.zext(x, I32)
            self.fl.push(x)
        elif op == "replace_lane":
            x = self.fl.pop()
            v = self.pop(t)
            if w < 32:
                x = b.trunc(x, t.element)
            self.push(b.insert_element(v, x, ir.Constant(I32, ins.imm)))
        elif op.startswith("narrow_"):
            self.narrow(t, op.endswith("_s"))
        elif op.startswith(("extend_low_", "extend_high_")):
            src = SHAPES[op.split("_")[2]]
            x = self.half(self.pop(src), "_high_" in op)
            self.push(self.widen(x, op.endswith("_s"), t))
        elif op.startswith(("extmul_low_", "extmul_high_")):
            src = SHAPES[op.split("_")[2]]
            high = "_high_" in op
            signed = op.endswith("_s")
            y = self.widen(self.half(self.pop(src), high), signed, t)
            x = self.widen(self.half(self.pop(src), high), signed, t)
            self.push(b.mul(x, y))
        elif op.startswith("extadd_pairwise_"):
            src = SHAPES[op.split("_")[2]]
            signed = op.endswith("_s")
            x = self.pop(src)
            even = b.shuffle_vector(x, x, _mask(range(0, src.count, 2)))
            odd = b.shuffle_vector(x, x, _mask(range(1, src.count, 2)))
            self.push(b.add(self.widen(even, signed, t), self.widen(odd, signed, t)))
        elif op == "dot_i16x8_s":
            wide = _vec(I32, 8)
            y = b.sext(self.pop(I16X8), wide)
            x = b.sext(self.pop(I16X8), wide)
            p = b.mul(x, y)
            even = b.shuffle_vector(p, p, _mask(range(0, 8, 2)))
            odd = b.shuffle_vector(p, p, _mask(range(1, 8, 2)))
            self.push(b.add(even, odd))
        elif op == "q15mulr_sat_s":
            wide = _vec(I32, 8)
            y = b.sext(self.pop(I16X8), wide)
            x = b.sext(self.pop(I16X8), wide)
            r = b.ashr(b.add(b.mul(x, y), self.const_splat(0x4000, wide)),
                       self.const_splat(15, wide))  # fmt: skip
            # only -32768 * -32768 overflows (to 32768)
            r = self.call("llvm.smin", wide, [r, self.const_splat(0x7FFF, wide)])
            self.push(b.trunc(r, I16X8))
        elif op.startswith("trunc_sat_"):
            self.trunc_sat(op)
        else:
            raise UnsupportedFeature(f"LLVM tier: SIMD integer op {op}")

    def narrow(self, t: ir.VectorType, signed: bool) -> None:
        b = self.b
        src = _vec(_INT_OF[2 * t.element.width], t.count // 2)
        y = self.pop(src)
        x = self.pop(src)
        both = b.shuffle_vector(x, y, _mask(range(t.count)))
        wide = both.type
        w = t.element.width
        lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
        both = self.call("llvm.smax", wide, [both, self.const_splat(lo, wide)])
        both = self.call("llvm.smin", wide, [both, self.const_splat(hi, wide)])
        self.push(b.trunc(both, t))

    def trunc_sat(self, op: str) -> None:
        # trunc_sat_f32x4_s, trunc_sat_f32x4_u, trunc_sat_f64x2_s_zero, trunc_sat_f64x2_u_zero
        signed = op.split("_")[3] == "s"
        kind = "llvm.fptosi.sat" if signed else "llvm.fptoui.sat"
        if "f64x2" in op:
            x = self.pop(F64X2)
            r = self.b.call(self.fl.intr(f"{kind}.v2i32.v2f64", _vec(I32, 2), [F64X2]), [x])
            self.push(self.b.shuffle_vector(r, ir.Constant(r.type, None), _mask(range(4))))
        elif self.fl.mb.simd_isa == "x86":
            self.push(self.trunc_sat_x86(self.pop(F32X4), signed))
        else:
            x = self.pop(F32X4)
            self.push(self.b.call(self.fl.intr(f"{kind}.v4i32.v4f32", I32X4, [F32X4]), [x]))

    def trunc_sat_x86(self, x, signed: bool):
        """f32x4 -> i32x4 saturating on x86: LLVM scalarises ``llvm.fpto[su]i.sat`` there (four
        conversions, compares and inserts); ``cvttps2dq`` gives 0x80000000 for NaN and any
        out-of-range lane, which a few compares and selects correct."""
        b = self.b
        cvt = self.fl.intr("llvm.x86.sse2.cvttps2dq", I32X4, [F32X4])
        two31 = b.bitcast(self.const_splat(0x4F000000, I32X4), F32X4)  # 2**31
        if signed:
            r = b.call(cvt, [x])
            r = b.select(b.fcmp_ordered(">=", x, two31), self.const_splat(0x7FFFFFFF, I32X4), r)
            return b.select(b.fcmp_unordered("uno", x, x), ir.Constant(I32X4, None), r)
        zero = ir.Constant(F32X4, None)
        x = b.select(b.fcmp_ordered(">", x, zero), x, zero)  # NaN and negatives -> 0
        big = b.fcmp_ordered(">=", x, two31)
        # lanes >= 2**31: convert x - 2**31 (exact there) and set the top bit
        hi = b.xor(b.call(cvt, [b.fsub(x, two31)]), self.const_splat(0x80000000, I32X4))
        r = b.select(big, hi, b.call(cvt, [x]))
        two32 = b.bitcast(self.const_splat(0x4F800000, I32X4), F32X4)
        return b.select(b.fcmp_ordered(">=", x, two32), self.const_splat(0xFFFFFFFF, I32X4), r)

    # -- float shapes -----------------------------------------------------------------------
    def floating(self, t: ir.VectorType, op: str, ins) -> None:  # noqa: C901 - one case per op
        b = self.b
        it = _int_vec(t)
        if op in ("add", "sub", "mul", "div"):
            y = self.pop(t)
            x = self.pop(t)
            self.push(self.canonical_nan(getattr(b, "f" + op)(x, y)))
        elif op in ("min", "max"):
            y = self.pop(t)
            x = self.pop(t)
            self.push(self.canonical_nan(self.fl.min_max(x, y, op == "min")))
        elif op in ("pmin", "pmax"):
            y = self.pop(t)
            x = self.pop(t)
            # pmin: y < x ? y : x; pmax: x < y ? y : x (bitwise choice, NaN payloads kept)
            c = b.fcmp_ordered("<", y, x) if op == "pmin" else b.fcmp_ordered("<", x, y)
            self.push(b.select(c, y, x))
        elif op in _FCMP:
            y = self.pop(t)
            x = self.pop(t)
            pyop = _FCMP[op]
            c = b.fcmp_unordered(pyop, x, y) if pyop == "!=" else b.fcmp_ordered(pyop, x, y)
            self.push(b.sext(c, it))
        elif op == "abs":
            self.push(self.call("llvm.fabs", t, [self.pop(t)]))
        elif op == "neg":
            self.push(b.fneg(self.pop(t)))
        elif op in _FUN:
            x = self.pop(t)
            self.push(self.canonical_nan(self.call(_FUN[op], t, [x])))
        elif op == "splat":
            self.push(self.splat(self.fl.pop(), t))
        elif op == "extract_lane":
            self.fl.push(b.extract_element(self.pop(t), ir.Constant(I32, ins.imm)))
        elif op == "replace_lane":
            x = self.fl.pop()
            v = self.pop(t)
            self.push(b.insert_element(v, x, ir.Constant(I32, ins.imm)))
        elif op in ("convert_i32x4_s", "convert_i32x4_u"):
            x = self.pop(I32X4)
            self.push(b.sitofp(x, F32X4) if op.endswith("_s") else b.uitofp(x, F32X4))
        elif op in ("convert_low_i32x4_s", "convert_low_i32x4_u"):
            x = self.half(self.pop(I32X4), False)
            self.push(b.sitofp(x, F64X2) if op.endswith("_s") else b.uitofp(x, F64X2))
        elif op == "demote_f64x2_zero":
            x = b.fptrunc(self.pop(F64X2), _vec(F32, 2))
            x = b.shuffle_vector(x, ir.Constant(x.type, None), _mask(range(4)))
            self.push(self.canonical_nan(x))  # the zero lanes stay zero
        elif op == "promote_low_f32x4":
            x = self.half(self.pop(F32X4), False)
            self.push(self.canonical_nan(b.fpext(x, F64X2)))
        else:
            raise UnsupportedFeature(f"LLVM tier: SIMD float op {op}")

    # -- relaxed SIMD (Wasm 3.0) --------------------------------------------------------------
    def relaxed(self, shape: str, op: str) -> None:
        """The relaxed instructions, with the Python tier's deterministic choices (see
        :mod:`wasm2py.runtime.simd`): the strict counterparts, unfused madd/nmadd, and
        signed-by-signed dot products (the i16x8 one adding pairs with saturation)."""
        b = self.b
        t = SHAPES[shape]
        if op == "swizzle":
            self.swizzle()
        elif op.startswith("trunc_"):
            self.trunc_sat("trunc_sat_" + op[6:])
        elif op in ("min", "max", "q15mulr_s"):
            if op == "q15mulr_s":
                self.integer(t, "q15mulr_sat_s", None)
            else:
                self.floating(t, op, None)
        elif op == "laneselect":
            self.v128("bitselect", None)
        elif op in ("madd", "nmadd"):
            z = self.pop(t)
            y = self.pop(t)
            x = self.pop(t)
            if op == "nmadd":
                x = b.fneg(x)
            # unfused, each step under the NaN rule
            m = self.canonical_nan(b.fmul(x, y))
            self.push(self.canonical_nan(b.fadd(m, z)))
        elif op == "dot_i8x16_i7x16_s":
            wide = _vec(I16, 16)
            y = b.sext(self.pop(I8X16), wide)
            x = b.sext(self.pop(I8X16), wide)
            p = b.mul(x, y)  # |x * y| <= 2**14: exact in i16
            even = b.shuffle_vector(p, p, _mask(range(0, 16, 2)))
            odd = b.shuffle_vector(p, p, _mask(range(1, 16, 2)))
            self.push(self.call("llvm.sadd.sat", I16X8, [even, odd]))
        elif op == "dot_i8x16_i7x16_add_s":
            acc = self.pop(I32X4)
            wide = _vec(I32, 16)
            y = b.sext(self.pop(I8X16), wide)
            x = b.sext(self.pop(I8X16), wide)
            p = b.mul(x, y)
            total = acc
            for k in range(4):
                total = b.add(total, b.shuffle_vector(p, p, _mask(range(k, 16, 4))))
            self.push(total)
        else:
            raise UnsupportedFeature(f"LLVM tier: relaxed SIMD op {op}")


def lower_simd(fl, ins) -> None:
    """Lower one SIMD instruction for the :class:`~wasm2py.llvm.lower.FunctionLowerer` ``fl``."""
    s = getattr(fl, "_simd", None)
    if s is None:
        s = fl._simd = SimdLowerer(fl)
    s.op(ins)
