"""``python -m spectests [--suite 2.0|3.0|component-model] [--tier python] [--simd] [--reject]
[-j N] [FILES...]``

Runs spec scripts (default: every non-SIMD script of the suite) and prints the summary tables;
for the 3.0 suite also a table per proposal (the GC scripts are left out unless ``--gc``).
Exit status: 0 if nothing failed unexpectedly, 1 otherwise, 2 if the suite or a file is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from wasm2py.wast.report import FileSummary, format_summary
from wasm2py.wast.runner import run_file
from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files, resolve_wast_files

from . import CHECK_REJECT, CHECK_RUN, TIERS


def _run(job: tuple[Path, str, str, str]) -> FileSummary:
    wast, tier, check, suite = job
    return run_file(wast, tier, check, suite)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spectests", description="Run the WebAssembly spec testsuite on wasm2py."
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE",
        help="scripts to run: paths, or names in the suite directory (i32 or i32.wast); "
        "default: every script (non-SIMD unless --simd)",
    )  # fmt: skip
    parser.add_argument(
        "--suite", choices=("2.0", "wasm-2.0", "3.0", "wasm-3.0", "component-model"),
        default="2.0",
        help="which suite: the Wasm 2.0 core spec tests (default; run with the 3.0 proposals "
        "switched off), the Wasm 3.0 ones, or the Component Model reference tests",
    )  # fmt: skip
    parser.add_argument("--gc", action="store_true",
                        help="3.0 suite: include the GC scripts (GC is not implemented)")
    parser.add_argument(
        "--tier", action="append", choices=sorted({*TIERS, "auto", "llvm-quick"}),
        help=f"execution tier (repeatable; default: {TIERS[0]})",
    )  # fmt: skip
    parser.add_argument("--simd", action="store_true", help="include the simd_*.wast scripts")
    parser.add_argument(
        "--reject", action="store_true",
        help="run the rejection-only check (assert_invalid / assert_malformed, every script "
        "including SIMD unless FILES are given) instead of the full run",
    )  # fmt: skip
    parser.add_argument(
        "-j", "--jobs", type=int, default=1, help="run scripts in N processes (default 1)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the per-kind totals")
    parser.add_argument(
        "--max-failures", type=int, default=20, metavar="N",
        help="list at most N failing commands per script (default 20; -1: all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.suite == "component-model":
        from .component_main import main as component_main

        return component_main(args.files, args.tier, args.quiet, args.max_failures)

    suite = args.suite.removeprefix("wasm-")
    check = CHECK_REJECT if args.reject else CHECK_RUN
    tiers = args.tier or [TIERS[0]]
    try:
        if args.files:
            files = resolve_wast_files(args.files, suite=suite)
        else:
            files = list_wast_files(include_simd=args.simd or args.reject, suite=suite,
                                    include_gc=args.gc)  # fmt: skip
    except (SpecSuiteMissing, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    jobs = [(f, tier, check, suite) for tier in tiers for f in files]
    summaries: list[FileSummary] = []
    workers = max(1, args.jobs if args.jobs > 0 else (os.cpu_count() or 1))
    if workers == 1 or len(jobs) == 1:
        results = map(_run, jobs)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_run, jobs)
    try:
        for summary in results:
            summaries.append(summary)
            status = "ok" if summary.ok else "FAIL"
            print(
                f"{status:4} {summary.file} [{summary.tier}] ({summary.seconds:.1f}s)",
                file=sys.stderr, flush=True,
            )  # fmt: skip
            problems = summary.problems + ([summary.error] if summary.error else [])
            limit = len(problems) if args.max_failures < 0 else args.max_failures
            for text in problems[:limit]:
                print(f"     {text}", file=sys.stderr)
            if len(problems) > limit:
                print(f"     ... and {len(problems) - limit} more", file=sys.stderr)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    print(format_summary(summaries, per_file=not args.quiet), end="")
    return 0 if all(s.ok for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
