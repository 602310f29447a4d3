"""Cost of the LLVM tier's ``min``/``max`` lowering (compares and selects,
``FunctionLowerer.min_max``) against ``llvm.minimum``/``llvm.maximum`` (both followed by the NaN
rule's canonical-NaN select, ``FunctionLowerer.canonical_nan``), on a loop whose dependency chain is two ``f32x4`` min/max and one ``f32.max`` per
iteration: CPU seconds (best of ``--repeat``) of both in one process, and their ratio.

Usage::

    python tools/bench/llvm_minmax.py [--n 20000000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SRC = """(module
 (func (export "run") (param $n i32) (result f32) (local $a v128) (local $b v128) (local $s f32)
  (local.set $a (v128.const f32x4 1 2 3 4)) (local.set $b (v128.const f32x4 4 3 2 1))
  (loop $l
    (local.set $a (f32x4.add (f32x4.max (local.get $a) (local.get $b))
                             (v128.const f32x4 0.5 0.25 0.125 1)))
    (local.set $b (f32x4.sub (f32x4.min (local.get $b) (local.get $a))
                             (v128.const f32x4 0.5 0.25 0.125 1)))
    (local.set $s (f32.add (local.get $s) (f32.max (f32x4.extract_lane 0 (local.get $a))
                                                   (f32x4.extract_lane 1 (local.get $b)))))
    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
  (f32.add (local.get $s) (f32x4.extract_lane 2 (local.get $a)))))"""


def _former(self, x, y, is_min):
    """The alternative: llvm.minimum/maximum (a NaN if an operand is one, -0 < +0)."""
    from wasm2py.llvm.simd import mangle

    b = self.b
    t = x.type
    name = "llvm.minimum" if is_min else "llvm.maximum"
    return b.call(self.intr(f"{name}.{mangle(t)}", t, [t, t]), [x, y])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    import wasm2py
    from tests.wat import wat
    from wasm2py.llvm import lower

    data = wat(SRC)
    current = lower.FunctionLowerer.min_max

    def run_export(impl):
        lower.FunctionLowerer.min_max = impl
        try:
            e = wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False, llvm_isolated=False))
            return wasm2py.Instance(wasm2py.Store(e), wasm2py.Module(e, data)).exports.run
        finally:
            lower.FunctionLowerer.min_max = current

    funcs = {"llvm.minimum/maximum": run_export(_former),
             "compares + selects": run_export(current)}  # fmt: skip
    results = {name: [] for name in funcs}
    for _ in range(args.repeat):
        for name, f in funcs.items():
            t = time.process_time()
            f(args.n)
            results[name].append(time.process_time() - t)
    best = {name: min(v) for name, v in results.items()}
    print(f"{'lowering':<32} {'CPU s':>8}")
    for name, v in best.items():
        print(f"{name:<32} {v:>8.3f}")
    before, now = best.values()
    print(f"ratio compares+selects / llvm.minimum: {now / before:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
