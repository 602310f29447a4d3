"""Helpers for the LLVM-tier tests: run the same module in both tiers and compare outcomes."""

from __future__ import annotations

import math
import threading

import wasm2py
from wasm2py.runtime.values import f32_to_bits, f64_to_bits
from wasm2py.types import ValType


def fresh_store(**config) -> wasm2py.Store:
    """A store whose engine translates afresh (no on-disk cache: a translation cached by an
    older translator must not stand in for the Python tier under test)."""
    try:
        cfg = wasm2py.Config(cache=False, **config)
    except TypeError:
        cfg = wasm2py.Config(**config)
    return wasm2py.Store(wasm2py.Engine(cfg))


def outcome(func, args, ftype=None):
    """``("ok", values as bit-exact tuples)``, ``("trap", code)`` or, for an uncaught wasm
    exception, ``("exn", tag's parameter types, values)`` of calling ``func``."""
    ftype = ftype if ftype is not None else func.type
    try:
        r = func(*args)
    except wasm2py.Trap as t:
        return ("trap", t.code)
    except wasm2py.WasmException as e:
        params = e.tag.type.params
        return ("exn", params, tuple(encode(v, t) for v, t in zip(e.values, params)))
    if len(ftype.results) == 0:
        vals = ()
    elif len(ftype.results) == 1:
        vals = (r,)
    else:
        vals = tuple(r)
    return ("ok", tuple(encode(v, t) for v, t in zip(vals, ftype.results)))


def encode(v, t: ValType):
    """A value as something comparable bit for bit (floats as (type, bits))."""
    if t is ValType.F32:
        return ("f32", f32_to_bits(v))
    if t is ValType.F64:
        return ("f64", f64_to_bits(v))
    return v


def is_nan_bits(e) -> bool:
    if not isinstance(e, tuple):
        return False
    kind, bits = e
    if kind == "f32":
        return (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF
    return (bits & 0x7FF0000000000000) == 0x7FF0000000000000 and bits & 0xFFFFFFFFFFFFF


def is_arithmetic_nan(e) -> bool:
    kind, bits = e
    quiet = 1 << 22 if kind == "f32" else 1 << 51
    return bool(is_nan_bits(e)) and bool(bits & quiet)


def same(a, b, loose_nan: bool = False) -> bool:
    """Outcomes equal; with ``loose_nan`` a NaN result matches any arithmetic NaN."""
    if a == b:
        return True
    if not loose_nan or a[0] != "ok" or b[0] != "ok" or len(a[1]) != len(b[1]):
        return False
    for x, y in zip(a[1], b[1]):
        if x == y:
            continue
        if is_nan_bits(x) and is_nan_bits(y) and is_arithmetic_nan(y):
            continue
        return False
    return True


def f32_edges() -> list[float]:
    from wasm2py.runtime.values import f32_from_bits

    bits = [0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x3F000000, 0xBF000000,
            0x3F800000, 0xBF800000, 0x3FC00000, 0x40200000, 0xC0200000, 0x4B000001, 0x7F7FFFFF,
            0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FA00000, 0x7F800001,
            0x4F000000, 0xCF000000, 0x4F800000, 0x5F000000, 0xDF000000, 0x5F800000,
            0x4EFFFFFF, 0xCF000001, 0xBF7FFFFF, 0x7FC12345]  # fmt: skip
    return [f32_from_bits(b) for b in bits]


def f64_edges() -> list[float]:
    from wasm2py.runtime.values import f64_from_bits

    vals = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 0.5, -0.5, 1.0, -1.0, 1.5,
            2.5, -2.5, 4503599627370497.0, 1.7976931348623157e308, -1.7976931348623157e308,
            math.inf, -math.inf, 2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0,
            -2147483648.9, 4294967295.0, 4294967296.0, -0.9999, 9.223372036854775e18,
            -9.223372036854776e18, 1.8446744073709552e19, 0.1]  # fmt: skip
    nans = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF4000000000000, 0x7FF0000000000001,
            0x7FF8000000012345]  # fmt: skip
    return vals + [f64_from_bits(b) for b in nans]


I32_EDGES = [0, 1, 2, 3, 7, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF,
             0xFFFFFFFE, 0x12345678, 0xDEADBEEF, 65535, 65536]  # fmt: skip
I64_EDGES = [0, 1, 2, 63, 64, 65, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x8000000000000001,
             0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 0x123456789ABCDEF0, 0xFFFFFFFF,
             0x100000000, 0x80000000]  # fmt: skip


def edges(t: ValType) -> list:
    if t is ValType.I32:
        return I32_EDGES
    if t is ValType.I64:
        return I64_EDGES
    if t is ValType.F32:
        return f32_edges()
    return f64_edges()


def in_small_thread(run, stack: int = 384 * 1024) -> None:
    """Run ``run()`` on a new thread whose stack is ``stack`` bytes, and wait for it."""
    old = threading.stack_size(stack)
    try:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
