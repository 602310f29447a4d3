"""``python -m spectests --suite component-model [--tier T] [FILES...]``: the Component Model
reference tests (see :mod:`wasm2py.wast.component`).

Prints one line per script (per command kind: passed/failed/skipped), the summary tables and a
final ``N passed, M failed, K skipped`` line (known failures count as failed there). Exit status:
0 if nothing failed unexpectedly, 1 otherwise, 2 if the suite or a file is missing.
"""

from __future__ import annotations

import sys

from wasm2py.wast.component import (
    TIERS,
    SuiteMissing,
    list_files,
    pass_rate_line,
    resolve_files,
    run_file,
    totals_line,
)
from wasm2py.wast.report import format_summary


def main(files: list[str], tiers: list[str] | None, quiet: bool, max_failures: int) -> int:
    """Run the scripts ``files`` (default: all) on ``tiers`` and print the summary."""
    try:
        paths = resolve_files(files) if files else list_files()
    except (SuiteMissing, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summaries = []
    for tier in tiers or [TIERS[0]]:
        for path in paths:
            s = run_file(path, tier)
            summaries.append(s)
            status = "ok" if s.ok else "FAIL"
            print(f"{status:4} {s.file} [{tier}] ({s.seconds:.1f}s)", file=sys.stderr, flush=True)
            problems = s.problems + ([s.error] if s.error else [])
            limit = len(problems) if max_failures < 0 else max_failures
            for text in problems[:limit]:
                print(f"     {text}", file=sys.stderr)
    print(format_summary(summaries, per_file=not quiet), end="")
    for tier in tiers or [TIERS[0]]:
        group = [s for s in summaries if s.tier == tier]
        print(f"[{tier}] {pass_rate_line(group)}")
        print(f"[{tier}] {totals_line(group)}")
    print(totals_line(summaries))
    return 0 if all(s.ok for s in summaries) else 1
