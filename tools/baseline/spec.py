"""Run the spec suite's scripts with every function compiled by the baseline emitter.

``PYTHONPATH=. python tools/baseline/spec.py [-q] [--no-pins] [--suite 3.0] [FILES...]``
(default: every non-SIMD script of the 2.0 suite). Each module is instantiated with
``tier="auto"`` (tier-up off); right after instantiation its defined functions are swapped
to baseline code by
``tests/baseline_util.to_baseline`` (the functions the emitter refuses stay in the Python
tier). Prints the usual summary, then how many functions ran as baseline code and why the
others were refused. Known failures of the ``auto`` tier apply.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from baseline_util import to_baseline  # noqa: E402

from wasm2py.wast import CHECK_RUN  # noqa: E402
from wasm2py.wast.report import FileSummary, format_summary  # noqa: E402
from wasm2py.wast.runner import WASM3_SWITCHES, ScriptRunner, define_spectest  # noqa: E402
from wasm2py.wast.wast import list_wast_files, load_script, resolve_wast_files  # noqa: E402

STATS = collections.Counter()
REASONS = collections.Counter()
SWAP_ERRORS = collections.Counter()


class BaselineRunner(ScriptRunner):
    """A script runner whose instances run baseline code."""

    def __init__(self, script, check=CHECK_RUN, suite="2.0"):
        super().__init__(script, "auto", check, suite=suite)
        features = {} if suite == "3.0" else {name: False for name in WASM3_SWITCHES}
        config = self.w.Config(tier="auto", cache=False, tier_up_threshold=1 << 62,
                               llvm_isolated=False, llvm_opt_level=0, **features)  # fmt: skip
        self.engine = self.w.Engine(config)
        self.store = self.w.Store(self.engine)
        self.linker = self.w.Linker(self.engine)
        if check == CHECK_RUN:
            define_spectest(self.w, self.store, self.linker)

    def instantiate(self, module):
        inst = super().instantiate(module)
        try:
            blob = to_baseline(inst)
        except Exception as e:  # noqa: BLE001 - the instance runs in the Python tier then
            SWAP_ERRORS[f"{type(e).__name__}: {str(e)[:80]}"] += 1
            STATS["modules not swapped"] += 1
            return inst
        STATS["modules"] += 1
        STATS["functions compiled"] += len(blob.funcs)
        STATS["functions refused"] += len(blob.refused)
        for why in blob.refused.values():
            REASONS[re.sub(r" at 0x[0-9a-f]+$", "", why)] += 1
        return inst


def run_file(wast: Path, suite: str = "2.0") -> FileSummary:
    start = time.perf_counter()
    script = load_script(wast)
    runner = BaselineRunner(script, suite=suite)
    results = runner.run()
    return FileSummary.from_results(runner.label, "baseline", CHECK_RUN, results,
                                    time.perf_counter() - start)  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--no-pins", action="store_true", help="every local in its frame slot")
    ap.add_argument("--suite", choices=("2.0", "3.0"), default="2.0")
    args = ap.parse_args(argv)
    if args.no_pins:
        from wasm2py.baseline.emit import FuncEmitter

        FuncEmitter.pin_locals = False
    files = resolve_wast_files(args.files, suite=args.suite) if args.files else \
        list_wast_files(suite=args.suite)  # fmt: skip
    summaries = []
    for f in files:
        s = run_file(f, args.suite)
        summaries.append(s)
        print(f"{'ok' if s.ok else 'FAIL':4} {s.file} ({s.seconds:.1f}s)", file=sys.stderr,
              flush=True)  # fmt: skip
        for text in (s.problems + ([s.error] if s.error else []))[:20]:
            print(f"     {text}", file=sys.stderr)
    print(format_summary(summaries, per_file=not args.quiet), end="")
    print("baseline:", dict(STATS))
    for why, n in REASONS.most_common(25):
        print(f"  refused {n:5}  {why}")
    for why, n in SWAP_ERRORS.most_common(10):
        print(f"  not swapped {n:5}  {why}")
    return 0 if all(s.ok for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
