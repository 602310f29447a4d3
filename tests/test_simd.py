"""The Python tier's SIMD: runtime helpers against lane-by-lane references, and the SIMD
benchmark kernel (clang -msimd128) against its scalar build. The spec suite's simd_*.wast
scripts (spectests) are the main check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasm2py.runtime import simd

V128 = st.one_of(st.integers(0, (1 << 128) - 1),
                 st.sampled_from([0, (1 << 128) - 1, 1 << 127, 0x80808080_80808080_80808080_80808080,
                                  0x7F7F7F7F_7F7F7F7F_7F7F7F7F_7F7F7F7F]))  # fmt: skip


def lanes(v: int, w: int) -> list[int]:
    return [(v >> (i * w)) & ((1 << w) - 1) for i in range(128 // w)]


def join(ls: list[int], w: int) -> int:
    return sum((x & ((1 << w) - 1)) << (i * w) for i, x in enumerate(ls))


@pytest.mark.parametrize("w", [8, 16, 32, 64])
@given(a=V128, b=V128)
def test_add_sub_are_lanewise(w, a, b):
    shape = {8: "i8x16", 16: "i16x8", 32: "i32x4", 64: "i64x2"}[w]
    add = simd.HELPERS[f"{shape}_add"]
    sub = simd.HELPERS[f"{shape}_sub"]
    neg = simd.HELPERS[f"{shape}_neg"]
    la, lb = lanes(a, w), lanes(b, w)
    assert add(a, b) == join([x + y for x, y in zip(la, lb)], w)
    assert sub(a, b) == join([x - y for x, y in zip(la, lb)], w)
    assert neg(a) == join([-x for x in la], w)


@given(a=V128, b=V128)
def test_shuffle_and_swizzle(a, b):
    pattern = bytes(range(31, -1, -2))
    both = a.to_bytes(16, "little") + b.to_bytes(16, "little")
    assert simd.i8x16_shuffle(a, b, pattern) == int.from_bytes(
        bytes(both[i] for i in pattern), "little"
    )
    sel = b.to_bytes(16, "little")
    ab = a.to_bytes(16, "little")
    assert simd.i8x16_swizzle(a, b) == int.from_bytes(
        bytes(ab[i] if i < 16 else 0 for i in sel), "little"
    )


def test_f32_lanes_round_and_overflow():
    big = 0x7F7FFFFF  # f32 max
    v = big * 0x00000001_00000001_00000001_00000001
    two = 0x40000000 * 0x00000001_00000001_00000001_00000001
    assert lanes(simd.HELPERS["f32x4_mul"](v, two), 32) == [0x7F800000] * 4  # overflow: inf
    third = simd.HELPERS["f32x4_div"](0x3F800000, 0x40400000)  # lane 0: 1/3, others 0/0
    assert lanes(third, 32)[0] == 0x3EAAAAAB


def test_simd_kernel_matches_scalar_build():
    from tools.bench.build import WASM_FLAGS, build_kernel, clang_missing
    from tools.bench.run_kernels import instantiate
    from tools.bench.simd_kernel import SOURCE, simd_ops

    if clang_missing():
        pytest.skip(clang_missing())
    results = []
    for flags in ((*WASM_FLAGS, "-msimd128"), WASM_FLAGS):
        wasm = build_kernel(SOURCE, flags=flags)
        _, inst = instantiate(wasm, count=False)
        results.append(inst.exports["run"](2))
    assert simd_ops(build_kernel(SOURCE, flags=(*WASM_FLAGS, "-msimd128"))) > 0
    assert results[0] == results[1]
