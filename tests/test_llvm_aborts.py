"""Valid modules on which LLVM once aborted the process (an assertion or ``llvm_unreachable``
inside the backend, SIGABRT): each is compiled and run by the LLVM tier in a child process, so a
regression fails the test instead of killing pytest. Expected values are computed by hand from
the spec's definitions of the instructions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

from .wat import wat  # noqa: E402

# the child compiles in its own process (no compile worker: the lowering itself is under test)
_CHILD = r"""
import json, sys
import wasm2py
from wasm2py.llvm import jit
wasm = sys.stdin.buffer.read()
engine = wasm2py.Engine(wasm2py.Config(tier="python", cache=False))
module = wasm2py.Module(engine, wasm)
compiled = jit.compile_module(module._module, int(sys.argv[2]))
store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False)))
inst = wasm2py.Instance(store, module)
inst._attach_llvm(compiled)
args = json.loads(sys.argv[1])
print(json.dumps(inst.exports["f"](*args)))
"""


def run_llvm(wasm: bytes, *args, level: int = 2):
    """The result of export ``f`` called with ``args`` in the LLVM tier (compiled at
    ``level``), in a child process."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args), str(level)],
                          input=wasm, capture_output=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, (proc.returncode, proc.stderr.decode()[-2000:])
    return json.loads(proc.stdout)


def f64x2(a: int, b: int) -> int:
    return a | b << 64


# f64x2 [1.5, -2.0]
ARG = f64x2(0x3FF8000000000000, 0xC000000000000000)


def _demote_then(op: str) -> bytes:
    return wat(f"""(module (func (export "f") (param v128) (result v128)
        local.get 0 f32x4.demote_f64x2_zero {op}))""")


def test_demote_then_extend_low_u():
    # demote gives f32 lanes [1.5, -2.0, 0, 0] = bits [0x3fc00000, 0xc0000000, 0, 0]; the two
    # low i32 lanes widened without sign
    assert run_llvm(_demote_then("i64x2.extend_low_i32x4_u"), ARG) == f64x2(0x3FC00000, 0xC0000000)


def test_demote_then_extend_low_s():
    assert run_llvm(_demote_then("i64x2.extend_low_i32x4_s"), ARG) == f64x2(
        0x3FC00000, 0xFFFFFFFFC0000000
    )


def test_demote_then_promote_low():
    # 1.5 and -2.0 are exact in f32: promote gives the inputs back
    assert run_llvm(_demote_then("f64x2.promote_low_f32x4"), ARG) == ARG


def test_demote_then_convert_low_s():
    # the f32 bits as signed i32: 0x3fc00000 = 1069547520, 0xc0000000 = -1073741824
    assert run_llvm(_demote_then("f64x2.convert_low_i32x4_s"), ARG) == f64x2(
        0x41CFE00000000000, 0xC1D0000000000000
    )


def test_demote_then_promote_quiets_signalling_nan():
    # f64 sNaN 0x7ff4000000000000: demote must give an arithmetic (quiet) NaN, so promote
    # does too: exponent all ones, quiet bit 51 set
    r = run_llvm(_demote_then("f64x2.promote_low_f32x4"), f64x2(0x7FF4000000000000, 0))
    lo = r & (1 << 64) - 1
    assert lo & 0x7FF8000000000000 == 0x7FF8000000000000
    assert r >> 64 == 0


def _min_max_of_zero_splat(op: str) -> bytes:
    # found by the SIMD fuzzer (tools/fuzz, seed 101): llvm.maximum/llvm.minimum on a vector
    # the x86 code generator sees as a <4 x i32> constant asserted at -O0 ("Comparison requires
    # equal bit widths")
    return wat(f"""(module (memory 1)
      (func (export "f") (param v128) (result v128) (local v128 v128)
        v128.const i16x8 1 2 0 0 7 0 0 0
        i32x4.extadd_pairwise_i16x8_u
        f32.const 0
        f32x4.splat
        local.tee 1
        f64x2.{op}
        local.set 2
        i32.const 0
        local.get 2
        v128.store
        local.get 2))""")


@pytest.mark.parametrize("level", [0, 2])
def test_vector_max_with_a_zero_splat(level):
    # pairwise sums of the u16 lanes: i32 [3, 0, 7, 0], i.e. f64 lanes with bits 3 and 7 (tiny
    # positive subnormals); the splat of f32 +0 is f64 [+0, +0]: max keeps the subnormals
    assert run_llvm(_min_max_of_zero_splat("max"), 0, level=level) == f64x2(3, 7)


@pytest.mark.parametrize("level", [0, 2])
def test_vector_min_with_a_zero_splat(level):
    assert run_llvm(_min_max_of_zero_splat("min"), 0, level=level) == 0
