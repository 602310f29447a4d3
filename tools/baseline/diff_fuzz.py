"""Differential fuzzing of baseline code: ``wasm-tools smith`` modules (the ``diff`` target's
configuration, ``tools/fuzz``) with every function the emitter takes as baseline code, in
lockstep with the Python tier and the LLVM tier at level 0 (results bit for bit, traps, host
calls, memories, globals, tables; a mismatch names the two sides that differ first: the Python
tier against the LLVM tier is no baseline matter).

``PYTHONPATH=. python tools/baseline/diff_fuzz.py A:B [-o nan=exact]``: seeds A..B-1, in this
process (a crash ends the run: the seed is printed before each module). Prints each mismatch
and the totals.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from baseline_util import to_baseline  # noqa: E402

import wasm2py  # noqa: E402
from tools.fuzz.execute import Wasm2pySide  # noqa: E402
from tools.fuzz.lockstep import Mismatch, run_lockstep  # noqa: E402
from tools.fuzz.targets import Smith  # noqa: E402


class BaselineSmith(Smith):
    """The ``diff`` target's smith without what the baseline refuses anyway (SIMD, multiple
    results, reference types, bulk memory), so that most functions run as baseline code."""

    CONFIG = dict(Smith.CONFIG, **{
        "simd-enabled": False, "multi-value-enabled": False, "reference-types-enabled": False,
        "bulk-memory-enabled": False, "max-tables": 1})  # fmt: skip


class BaselineSide(Wasm2pySide):
    """``tier="auto"`` (tier-up off) with the defined functions swapped to baseline code right
    after instantiation (``tests/baseline_util.to_baseline``; refused ones stay in the Python
    tier)."""

    def __init__(self, **kw):
        super().__init__("auto", tier_up_threshold=1 << 62, llvm_isolated=False, opt_level=0,
                         **kw)  # fmt: skip
        self.name = "baseline"
        self.compiled = self.refused = 0

    def _instance(self, imports: list):
        inst = wasm2py.Instance(self.store, self.module, imports)
        blob = to_baseline(inst)
        self.compiled += len(blob.funcs)
        self.refused += len(blob.refused)
        return inst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seeds")
    ap.add_argument("--nan", default="exact")
    ap.add_argument("--calls", type=int, default=12)
    args = ap.parse_args(argv)
    a, b = map(int, args.seeds.split(":"))
    smith = BaselineSmith(canonicalize_nans=args.nan == "loose")
    totals = {"modules": 0, "mismatches": 0, "compiled": 0, "refused": 0}
    for seed in range(a, b):
        data = smith.generate(seed)
        if data is None:
            continue
        print(f"seed {seed}  ", end="\r", file=sys.stderr, flush=True)
        base = BaselineSide(max_call_depth=1000)
        try:
            run_lockstep([Wasm2pySide("python", max_call_depth=1000),
                          Wasm2pySide("llvm", max_call_depth=1000, opt_level=0,
                                      llvm_isolated=False), base],
                         data, seed, calls=args.calls, nan=args.nan)  # fmt: skip
        except Mismatch as e:
            totals["mismatches"] += 1
            print(f"seed {seed}: {str(e)[:400]}")
        totals["modules"] += 1
        totals["compiled"] += base.compiled
        totals["refused"] += base.refused
    print(totals)
    return 1 if totals["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
