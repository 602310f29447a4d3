"""Runtime helpers for the fixed-width SIMD (``v128``) instructions of the Python tier.

Representation: a v128 value is one canonical unsigned Python ``int`` in ``[0, 2**128)``, lane 0
in the low bits (the little-endian reading of its 16 bytes). Generated code calls the helpers
below by the instruction's text name with ``.`` replaced by ``_`` (``i32x4.add`` ->
``i32x4_add``); the bitwise instructions (``v128.and/or/xor/not/andnot``) are inlined as single
Python int operations. Float lanes are exact: f32 lanes are computed in double precision and
rounded once (exact for + - * / sqrt), min/max follow the wasm NaN and signed-zero rules
(:func:`~wasm2py.runtime.numeric.fmin`), and the bit-level operations (abs, neg, pmin/pmax's
choice, lane moves) never go through a float, so NaN payloads are preserved.

Why an int: ``python -m wasm2py.runtime.simd`` (:func:`_benchmark`; CPython 3.11.7, x86-64)
times each operation with the best plain-Python code for each representation. Figures in ns,
the minimum over several runs (the machine was shared, so about +-30%)::

    operation              int    bytes    tuple (lanes of the op's shape)
    v128.and                21      107      106
    i32x4.add              111      700      188   (int: carry-free SWAR, no unpacking)
    i8x16.shuffle          488      482      313   (all three: a cached itemgetter)
    f32x4.mul              853      890      639
    v128.load               79       96       46
    v128.store             117      177      141
    i32x4.extract_lane      34       71        8

``bytes`` never wins (it ties on shuffle). Lane tuples win the lane-wise rows, but only while
consecutive instructions use the same shape: a tuple of four u32 lanes must be repacked
(~150-200 ns) before an i8x16 or f32x4 instruction reads it, and wasm code mixes shapes freely
(any v128 value is reinterpreted by every instruction). The int has no shape, makes every
bitwise instruction a single Python operator (5x faster than the alternatives), adds and
subtracts integer lanes without unpacking, makes integer splats and unsigned lane extractions
inline expressions, is the zero-cost value at the API and in ``v128.const``, and a v128 local
is initialised to 0 like an i32. Lane-wise operations unpack with one ``struct`` call and pack
back with another (their helpers are generated with the lane expression inline); f32 lanes
round by being packed (see ``_float_ops``).
"""

from __future__ import annotations

import struct
from operator import itemgetter as _itemgetter

from . import numeric as _n

M128 = (1 << 128) - 1
_MASK = {8: 0xFF, 16: 0xFFFF, 32: 0xFFFFFFFF, 64: 0xFFFFFFFFFFFFFFFF}
_UF = {8: "B", 16: "H", 32: "I", 64: "Q"}
_SF = {8: "b", 16: "h", 32: "i", 64: "q"}
_QQ = struct.Struct("<QQ")
_Q = struct.Struct("<Q")
_frm = int.from_bytes
_F4 = struct.Struct("<4f")
_D2 = struct.Struct("<2d")
_U4 = struct.Struct("<4I")
_U2 = struct.Struct("<2Q")


def _rep(w: int, x: int) -> int:
    """The lane value ``x`` (w bits) repeated over all 128 bits."""
    r = 0
    for i in range(128 // w):
        r |= x << (i * w)
    return r


def _lanes(w: int, signed: bool):
    st = struct.Struct(f"<{128 // w}{(_SF if signed else _UF)[w]}")
    unpack = st.unpack

    def get(v: int) -> tuple:
        return unpack(v.to_bytes(16, "little"))

    return get


def _packer(w: int):
    pack = struct.Struct(f"<{128 // w}{_UF[w]}").pack

    def put(lanes) -> int:
        return _frm(pack(*lanes), "little")

    return put


#: All helpers, by generated-code name (added to the generated code's namespace).
HELPERS: dict = {}


def _reg(name: str, fn) -> None:
    fn.__name__ = name
    fn.__qualname__ = name
    HELPERS[name] = fn


_SHAPES = {8: "i8x16", 16: "i16x8", 32: "i32x4", 64: "i64x2"}


def _int_ops(w: int) -> None:
    sh = _SHAPES[w]
    m = _MASK[w]
    n = 128 // w
    gu = _lanes(w, False)
    gs = _lanes(w, True)
    put = _packer(w)
    hi = _rep(w, 1 << (w - 1))
    lo = M128 ^ hi
    smin, smax = -(1 << (w - 1)), (1 << (w - 1)) - 1

    def add(a, b):
        return ((a & lo) + (b & lo)) ^ ((a ^ b) & hi)

    def sub(a, b):
        return ((a | hi) - (b & lo)) ^ ((a ^ b ^ hi) & hi)

    def neg(a):
        return sub(0, a)

    def abs_(a):
        return put([(x if x >= 0 else -x) & m for x in gs(a)])

    def shl(a, s):
        s %= w
        return put([(x << s) & m for x in gu(a)])

    def shr_s(a, s):
        s %= w
        return put([(x >> s) & m for x in gs(a)])

    def shr_u(a, s):
        s %= w
        return put([x >> s for x in gu(a)])

    def splat(x):
        return (x & m) * _rep(w, 1)

    def all_true(a):
        return int(all(gu(a)))

    def bitmask(a):
        r = 0
        for i, x in enumerate(gs(a)):
            if x < 0:
                r |= 1 << i
        return r

    for nm, f in (("add", add), ("sub", sub), ("neg", neg), ("abs", abs_),
                  ("shl", shl), ("shr_s", shr_s), ("shr_u", shr_u), ("splat", splat),
                  ("all_true", all_true), ("bitmask", bitmask)):  # fmt: skip
        _reg(f"{sh}_{nm}", f)

    # Binary lane-wise operations: generated source with the lane expression inline (no call
    # per lane), one unpack per operand and one pack.
    fmt = f"<{128 // w}"
    env = {"_frm": _frm, "_pack": struct.Struct(fmt + _UF[w]).pack, "m": m, "smin": smin,
           "smax": smax, "_u": struct.Struct(fmt + _UF[w]).unpack,
           "_s": struct.Struct(fmt + _SF[w]).unpack}  # fmt: skip
    lanewise = {
        "eq": ("_u", "m if x == y else 0"), "ne": ("_u", "m if x != y else 0"),
        "lt_s": ("_s", "m if x < y else 0"), "lt_u": ("_u", "m if x < y else 0"),
        "gt_s": ("_s", "m if x > y else 0"), "gt_u": ("_u", "m if x > y else 0"),
        "le_s": ("_s", "m if x <= y else 0"), "le_u": ("_u", "m if x <= y else 0"),
        "ge_s": ("_s", "m if x >= y else 0"), "ge_u": ("_u", "m if x >= y else 0"),
        "min_s": ("_s", "(x if x < y else y) & m"), "min_u": ("_u", "x if x < y else y"),
        "max_s": ("_s", "(x if x > y else y) & m"), "max_u": ("_u", "x if x > y else y"),
        "avgr_u": ("_u", "(x + y + 1) >> 1"),
        "add_sat_s": ("_s", "min(max(x + y, smin), smax) & m"),
        "add_sat_u": ("_u", "min(x + y, m)"),
        "sub_sat_s": ("_s", "min(max(x - y, smin), smax) & m"),
        "sub_sat_u": ("_u", "x - y if x > y else 0"),
        "mul": ("_u", "(x * y) & m"),
    }  # fmt: skip
    for nm, (unpack, expr) in lanewise.items():
        name = f"{sh}_{nm}"
        src = (f"def {name}(a, b):\n"
               f"    return _frm(_pack(*[{expr} for x, y in zip({unpack}(a.to_bytes(16, 'little')),"
               f" {unpack}(b.to_bytes(16, 'little')))]), 'little')\n")  # fmt: skip
        exec(src, env)  # noqa: S102 - source built from the fixed table above
        _reg(name, env[name])

    def extract_s(v, k):
        x = (v >> (k * w)) & m
        return (x ^ hi_lane) - hi_lane

    hi_lane = 1 << (w - 1)

    def extract_u(v, k):
        return (v >> (k * w)) & m

    def replace(v, x, k):
        s = k * w
        return (v & ~(m << s)) | ((x & m) << s)

    _reg(f"{sh}_extract_lane_s", extract_s)
    _reg(f"{sh}_extract_lane_u", extract_u)
    _reg(f"{sh}_replace_lane", replace)
    del n

    if w < 64:
        # Operations producing lanes of width 2w from lanes of width w.
        w2 = 2 * w
        sh2 = _SHAPES[w2]
        m2 = _MASK[w2]
        put2 = _packer(w2)
        half = 64 // w
        for sign, get in (("s", gs), ("u", gu)):

            def ext(a, get=get, lo_=True):
                ls = get(a)
                return put2([x & m2 for x in (ls[:half] if lo_ else ls[half:])])

            def ext_hi(a, get=get):
                return put2([x & m2 for x in get(a)[half:]])

            def extmul_lo(a, b, get=get):
                return put2([(x * y) & m2 for x, y in zip(get(a)[:half], get(b)[:half])])

            def extmul_hi(a, b, get=get):
                return put2([(x * y) & m2 for x, y in zip(get(a)[half:], get(b)[half:])])

            src = _SHAPES[w]
            _reg(f"{sh2}_extend_low_{src}_{sign}", ext)
            _reg(f"{sh2}_extend_high_{src}_{sign}", ext_hi)
            _reg(f"{sh2}_extmul_low_{src}_{sign}", extmul_lo)
            _reg(f"{sh2}_extmul_high_{src}_{sign}", extmul_hi)
            if w < 32:

                def extadd(a, get=get):
                    ls = get(a)
                    return put2([(ls[i] + ls[i + 1]) & m2 for i in range(0, 2 * half, 2)])

                _reg(f"{sh2}_extadd_pairwise_{src}_{sign}", extadd)
        if w < 32:
            # narrow: lanes of 2w (signed) to w, saturating
            gs2 = _lanes(w2, True)
            for sign, lo_b, hi_b in (("s", smin, smax), ("u", 0, m)):

                def narrow(a, b, lo_b=lo_b, hi_b=hi_b):
                    return put([min(max(x, lo_b), hi_b) & m for x in gs2(a) + gs2(b)])

                _reg(f"{sh}_narrow_{sh2}_{sign}", narrow)


for _w in (8, 16, 32, 64):
    _int_ops(_w)

_g8u = _lanes(8, False)
_g16s = _lanes(16, True)
_g32s = _lanes(32, True)
_g32u = _lanes(32, False)
_p8 = _packer(8)
_p16 = _packer(16)
_p32 = _packer(32)


def i8x16_popcnt(a: int) -> int:
    return _p8([x.bit_count() for x in _g8u(a)])


def i8x16_swizzle(a: int, s: int) -> int:
    b = a.to_bytes(16, "little")
    return _frm(bytes([b[i] if i < 16 else 0 for i in s.to_bytes(16, "little")]), "little")


_SHUFFLES: dict[bytes, object] = {}  # pattern -> itemgetter picking its 16 bytes


def i8x16_shuffle(a: int, b: int, lanes: bytes) -> int:
    pick = _SHUFFLES.get(lanes)
    if pick is None:
        pick = _SHUFFLES[lanes] = _itemgetter(*lanes)
    return _frm(bytes(pick(a.to_bytes(16, "little") + b.to_bytes(16, "little"))), "little")


def i32x4_dot_i16x8_s(a: int, b: int) -> int:
    x = _g16s(a)
    y = _g16s(b)
    return _p32([(x[i] * y[i] + x[i + 1] * y[i + 1]) & 0xFFFFFFFF for i in range(0, 8, 2)])


def i16x8_q15mulr_sat_s(a: int, b: int) -> int:
    return _p16([min((x * y + 0x4000) >> 15, 0x7FFF) & 0xFFFF
                 for x, y in zip(_g16s(a), _g16s(b))])  # fmt: skip


def v128_any_true(a: int) -> int:
    return int(a != 0)


def v128_bitselect(a: int, b: int, c: int) -> int:
    return (a & c) | (b & ~c & M128)


# -- splats, lanes, loads and stores of the float shapes ----------------------------------------


def f32x4_splat(x: float) -> int:
    return _n.f32_to_bits(x) * 0x00000001_00000001_00000001_00000001


def f64x2_splat(x: float) -> int:
    return _n.f64_to_bits(x) * 0x0000000000000001_0000000000000001


def f32x4_extract_lane(v: int, k: int) -> float:
    return _n.f32_from_bits((v >> (32 * k)) & 0xFFFFFFFF)


def f64x2_extract_lane(v: int, k: int) -> float:
    return _n.f64_from_bits((v >> (64 * k)) & 0xFFFFFFFFFFFFFFFF)


def f32x4_replace_lane(v: int, x: float, k: int) -> int:
    s = 32 * k
    return (v & ~(0xFFFFFFFF << s)) | (_n.f32_to_bits(x) << s)


def f64x2_replace_lane(v: int, x: float, k: int) -> int:
    s = 64 * k
    return (v & ~(0xFFFFFFFFFFFFFFFF << s)) | (_n.f64_to_bits(x) << s)


def v128_load(m, a: int) -> int:
    lo, hi = _QQ.unpack_from(m, a)
    return lo | (hi << 64)


def v128_store(m, a: int, v: int) -> None:
    _QQ.pack_into(m, a, v & 0xFFFFFFFFFFFFFFFF, v >> 64)


def _load_ext(fmt: str, w2: int):
    st = struct.Struct("<" + fmt)
    put = _packer(w2)
    m2 = _MASK[w2]

    def f(m, a):
        return put([x & m2 for x in st.unpack_from(m, a)])

    return f


for _nm, _fmt, _w2 in (("8x8_s", "8b", 16), ("8x8_u", "8B", 16), ("16x4_s", "4h", 32),
                       ("16x4_u", "4H", 32), ("32x2_s", "2i", 64), ("32x2_u", "2I", 64)):  # fmt: skip
    _reg(f"v128_load{_nm}", _load_ext(_fmt, _w2))


def _load_splat(w: int):
    st = struct.Struct("<" + _UF[w])
    r = _rep(w, 1)

    def f(m, a):
        return st.unpack_from(m, a)[0] * r

    return f


def _load_lane(w: int):
    st = struct.Struct("<" + _UF[w])
    mk = _MASK[w]

    def load(m, a, v, k):
        s = k * w
        return (v & ~(mk << s)) | (st.unpack_from(m, a)[0] << s)

    def store(m, a, v, k):
        st.pack_into(m, a, (v >> (k * w)) & mk)

    return load, store


def _load_zero(w: int):
    st = struct.Struct("<" + _UF[w])

    def f(m, a):
        return st.unpack_from(m, a)[0]

    return f


for _w in (8, 16, 32, 64):
    _reg(f"v128_load{_w}_splat", _load_splat(_w))
    _ld, _st = _load_lane(_w)
    _reg(f"v128_load{_w}_lane", _ld)
    _reg(f"v128_store{_w}_lane", _st)
    if _w >= 32:
        _reg(f"v128_load{_w}_zero", _load_zero(_w))


# -- float lanes -------------------------------------------------------------------------------


def _f32_get(v: int) -> tuple:
    return _F4.unpack(v.to_bytes(16, "little"))


def _f32_put(xs) -> int:
    return _frm(_F4.pack(*xs), "little")


def _f64_get(v: int) -> tuple:
    return _D2.unpack(v.to_bytes(16, "little"))


def _f64_put(xs) -> int:
    return _frm(_D2.pack(*xs), "little")


_FSH = {32: ("f32x4", _f32_get, _f32_put, _U4, 0x80000000),
        64: ("f64x2", _f64_get, _f64_put, _U2, 0x8000000000000000)}  # fmt: skip


def _float_ops(w: int) -> None:
    sh, get, put, ust, sign = _FSH[w]
    lm = _MASK[w]
    signs = _rep(w, sign)
    put_u = _packer(w)
    rnd = _n.f32_round if w == 32 else None
    nan = _n.NAN

    # A NaN lane result is the canonical NaN (the NaN rule: see wasm2py.runtime.numeric).
    def bin_(fn):
        if rnd is None:
            return lambda a, b: put([r if (r := fn(x, y)) == r else nan
                                     for x, y in zip(get(a), get(b))])  # fmt: skip

        # Packing a double into an f32 lane rounds it once to nearest (exact for + - * /:
        # double rounding is innocuous at these widths); only a finite double beyond the f32
        # range makes struct raise, and then each lane is rounded to ±inf explicitly.
        def f(a, b):
            xs = [r if (r := fn(x, y)) == r else nan for x, y in zip(get(a), get(b))]
            try:
                return put(xs)
            except OverflowError:
                return put([rnd(x) for x in xs])

        return f

    def un(fn):  # the helpers give NAN for a NaN result
        return lambda a: put([fn(x) for x in get(a)])

    import operator as o

    _reg(f"{sh}_add", bin_(o.add))
    _reg(f"{sh}_sub", bin_(o.sub))
    _reg(f"{sh}_mul", bin_(o.mul))
    _reg(f"{sh}_div", bin_(_n.f32_div if w == 32 else _n.fdiv))
    _reg(f"{sh}_min", bin_(_n.fmin))
    _reg(f"{sh}_max", bin_(_n.fmax))
    _reg(f"{sh}_sqrt", un(_n.f32_sqrt if w == 32 else _n.fsqrt))
    _reg(f"{sh}_ceil", un(_n.fceil))
    _reg(f"{sh}_floor", un(_n.ffloor))
    _reg(f"{sh}_trunc", un(_n.ftrunc))
    _reg(f"{sh}_nearest", un(_n.fnearest))
    _reg(f"{sh}_abs", lambda a: a & ~signs & M128)
    _reg(f"{sh}_neg", lambda a: a ^ signs)

    def cmp(test):
        return lambda a, b: put_u([lm if test(x, y) else 0 for x, y in zip(get(a), get(b))])

    for nm, test in (("eq", o.eq), ("ne", o.ne), ("lt", o.lt), ("gt", o.gt), ("le", o.le),
                     ("ge", o.ge)):  # fmt: skip
        _reg(f"{sh}_{nm}", cmp(test))

    # pmin/pmax choose one operand's lane bit for bit.
    def pmin(a, b):
        ua, ub = ust.unpack(a.to_bytes(16, "little")), ust.unpack(b.to_bytes(16, "little"))
        return put_u([ub[i] if y < x else ua[i] for i, (x, y) in enumerate(zip(get(a), get(b)))])

    def pmax(a, b):
        ua, ub = ust.unpack(a.to_bytes(16, "little")), ust.unpack(b.to_bytes(16, "little"))
        return put_u([ub[i] if x < y else ua[i] for i, (x, y) in enumerate(zip(get(a), get(b)))])

    _reg(f"{sh}_pmin", pmin)
    _reg(f"{sh}_pmax", pmax)


_float_ops(32)
_float_ops(64)


def i32x4_trunc_sat_f32x4_s(a: int) -> int:
    return _p32([_n.trunc_sat_s32(x) for x in _f32_get(a)])


def i32x4_trunc_sat_f32x4_u(a: int) -> int:
    return _p32([_n.trunc_sat_u32(x) for x in _f32_get(a)])


def i32x4_trunc_sat_f64x2_s_zero(a: int) -> int:
    return _p32([_n.trunc_sat_s32(x) for x in _f64_get(a)] + [0, 0])


def i32x4_trunc_sat_f64x2_u_zero(a: int) -> int:
    return _p32([_n.trunc_sat_u32(x) for x in _f64_get(a)] + [0, 0])


def f32x4_convert_i32x4_s(a: int) -> int:
    return _f32_put([_n.f32_convert_s32(x) for x in _g32u(a)])


def f32x4_convert_i32x4_u(a: int) -> int:
    return _f32_put([_n.f32_convert_u32(x) for x in _g32u(a)])


def f64x2_convert_low_i32x4_s(a: int) -> int:
    return _f64_put([float(x) for x in _g32s(a)[:2]])


def f64x2_convert_low_i32x4_u(a: int) -> int:
    return _f64_put([float(x) for x in _g32u(a)[:2]])


def f32x4_demote_f64x2_zero(a: int) -> int:
    return _p32([_n.f32_to_bits(_n.f32_demote(x)) for x in _f64_get(a)] + [0, 0])


def f64x2_promote_low_f32x4(a: int) -> int:
    return _f64_put([_n.f64_promote(_n.f32_from_bits(u)) for u in _g32u(a)[:2]])


for _f in (i8x16_popcnt, i8x16_swizzle, i8x16_shuffle, i32x4_dot_i16x8_s, i16x8_q15mulr_sat_s,
           v128_any_true, v128_bitselect, f32x4_splat, f64x2_splat, f32x4_extract_lane,
           f64x2_extract_lane, f32x4_replace_lane, f64x2_replace_lane, v128_load, v128_store,
           i32x4_trunc_sat_f32x4_s, i32x4_trunc_sat_f32x4_u, i32x4_trunc_sat_f64x2_s_zero,
           i32x4_trunc_sat_f64x2_u_zero, f32x4_convert_i32x4_s, f32x4_convert_i32x4_u,
           f64x2_convert_low_i32x4_s, f64x2_convert_low_i32x4_u, f32x4_demote_f64x2_zero,
           f64x2_promote_low_f32x4):  # fmt: skip
    HELPERS[_f.__name__] = _f
del _f, _w, _nm, _fmt, _w2, _ld, _st


def _benchmark(number: int = 200_000) -> None:  # pragma: no cover - manual tool
    """Print the representation figures of the module docstring: ``python -m
    wasm2py.runtime.simd``. Each row times one operation for a 128-bit int (this module's
    helpers), a 16-byte ``bytes`` and a lane tuple (the best plain-Python code for each)."""
    import timeit

    a, b = 0x0123456789ABCDEF_FEDCBA9876543210, 0x1111111122222222_3333333344444444
    ab, bb = a.to_bytes(16, "little"), b.to_bytes(16, "little")
    u4 = struct.Struct("<4I")
    f4 = struct.Struct("<4f")
    at, bt = u4.unpack(ab), u4.unpack(bb)
    fa, fb = f4.unpack(ab), f4.unpack(bb)
    pat = bytes(range(0, 32, 2))
    mem = bytearray(65536)
    g = dict(globals(), **HELPERS, a=a, b=b, ab=ab, bb=bb, at=at, bt=bt, fa=fa, fb=fb, u4=u4, f4=f4,
             pat=pat, pick=_itemgetter(*pat), mem=mem, a8=tuple(ab), b8=tuple(bb), frm=int.from_bytes, r=_n.f32_round, M=0xFFFFFFFF)  # fmt: skip
    rows = [
        (
            "v128.and",
            "a & b",
            "(frm(ab, 'little') & frm(bb, 'little')).to_bytes(16, 'little')",
            "(at[0] & bt[0], at[1] & bt[1], at[2] & bt[2], at[3] & bt[3])",
        ),
        (
            "i32x4.add",
            "i32x4_add(a, b)",
            "u4.pack(*[(x + y) & M for x, y in zip(u4.unpack(ab), u4.unpack(bb))])",
            "((at[0] + bt[0]) & M, (at[1] + bt[1]) & M, (at[2] + bt[2]) & M, (at[3] + bt[3]) & M)",
        ),
        (
            "i8x16.shuffle",
            "i8x16_shuffle(a, b, pat)",
            "bytes(pick(ab + bb))",
            "pick(a8 + b8)",
        ),
        (
            "f32x4.mul",
            "f32x4_mul(a, b)",
            "f4.pack(*[r(x * y) for x, y in zip(f4.unpack(ab), f4.unpack(bb))])",
            "tuple([r(x * y) for x, y in zip(fa, fb)])",
        ),
        ("v128.load", "v128_load(mem, 64)", "bytes(mem[64:80])", "u4.unpack_from(mem, 64)"),
        (
            "v128.store",
            "v128_store(mem, 64, a)",
            "mem.__setitem__(slice(64, 80), ab)",
            "u4.pack_into(mem, 64, *at)",
        ),
        ("i32x4.extract_lane 2", "(a >> 64) & M", "u4.unpack(ab)[2]", "at[2]"),
    ]
    print(f"{'operation':22} {'int':>8} {'bytes':>8} {'tuple':>8}   (ns per operation)")
    for name, *exprs in rows:
        ns = [min(timeit.repeat(e, globals=g, number=number, repeat=7)) / number * 1e9
              for e in exprs]  # fmt: skip
        print(f"{name:22} " + " ".join(f"{x:8.0f}" for x in ns))


if __name__ == "__main__":  # pragma: no cover
    _benchmark()
