"""Run cases as AArch64 machine code under qemu and compare them with the other tiers.

    python -m tools.aarch64                    # the test suite's cases (test_aarch64.py), summary
    python -m tools.aarch64 --spec             # every module of the Wasm 2.0 spec suite
    python -m tools.aarch64 --spec i32 simd_lane -j 2 -v

Prints one line per suite: modules, functions and calls run as AArch64 code, how many agreed
with both the x86-64 LLVM tier and the Python tier, the calls whose results differ from x86-64
only in NaN bits (listed by instruction with ``-v``), and the CPU seconds of each step.
Exits non-zero if anything disagreed.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import harness as H


def _check(case: H.Case):
    try:
        return H.check(case)
    except Exception as e:  # noqa: BLE001 - reported as this case's failure
        return H.Report(case.name, len({c.name for c in case.calls}), len(case.calls),
                        [f"{type(e).__name__}: {e}"], [], [], {})  # fmt: skip


def _skip_reason(case: H.Case) -> str | None:
    """Why a spec module cannot be a case (it does not compile or instantiate with the
    harness's imports), or None."""
    try:
        H.initial_state(case)
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    return None


def suites(args) -> dict[str, list[H.Case]]:
    if args.spec is None:
        from tests import aarch64_cases as C

        return {"numeric": [C.numeric_case()], "modules": C.module_cases(),
                "fuel": C.fuel_cases(), "simd": C.simd_cases()}  # fmt: skip
    from wasm2py.wast.wast import resolve_wast_files, spec_dir

    from . import spec

    files = resolve_wast_files(args.spec, spec_dir()) if args.spec else spec.wast_files()
    cases = [c for f in files for c in spec.script_cases(Path(f))]
    if args.max_calls or args.per_script:
        cases = spec.sample(cases, args.max_calls or 10**9, args.per_script)
    usable = []
    for c in cases:
        why = _skip_reason(c)
        if why is None:
            usable.append(c)
        elif args.verbose:
            print(f"skipped {c.name}: {why}")
    return {"spec": usable}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.aarch64", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument(
        "--spec",
        nargs="*",
        metavar="SCRIPT",
        help="spec-suite scripts (default with --spec: all of Wasm 2.0)",
    )
    p.add_argument("--max-calls", type=int, default=0, help="sample: calls per module")
    p.add_argument("--per-script", type=int, default=0, help="sample: modules per script")
    p.add_argument("-j", "--jobs", type=int, default=1)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    try:
        H.toolchain()
    except H.ToolMissing as e:
        print(f"cannot run AArch64 code: {e}", file=sys.stderr)
        return 2
    bad = 0
    for suite, cases in suites(args).items():
        t0 = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            reports = list(pool.map(_check, cases)) if args.jobs > 1 else list(map(_check, cases))
        wall = time.perf_counter() - t0
        seconds: dict[str, float] = {}
        for r in reports:
            for k, v in r.seconds.items():
                seconds[k] = seconds.get(k, 0.0) + v
        ok = [r for r in reports if r.agreed]
        nans = [n for r in reports for n in r.nan_bits]
        print(f"{suite}: {len(reports)} modules, {sum(r.functions for r in reports)} functions, "
              f"{sum(r.calls for r in reports)} calls as AArch64 code; agreed: {len(ok)} modules,"
              f" {sum(r.functions for r in ok)} functions, {sum(r.calls for r in ok)} calls; "
              f"NaN bits only: {len(nans)} calls; seconds: "
              + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) + f" (wall {wall:.1f})")  # fmt: skip
        for r in reports:
            if not r.agreed:
                bad += 1
                print(f"  {r.case}: DISAGREES")
                for d in r.vs_x86[:8] + [f"python: {x}" for x in r.vs_python[:8]]:
                    print(f"    {d}")
            elif args.verbose and r.nan_bits:
                print(f"  {r.case}: NaN bits differ from x86-64 in {len(r.nan_bits)} calls, "
                      f"e.g. {r.nan_bits[0]}")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
