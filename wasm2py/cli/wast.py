"""``wasm2py wast``: run a spec-style ``.wast`` script and print a pass/fail summary."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .common import UsageError


def add_parser(sub) -> None:
    """Register the ``wast`` subcommand."""
    p = sub.add_parser("wast", help="run a .wast script and summarise it")
    p.add_argument("script", help="path to a .wast file")
    p.add_argument("--fuel", action="store_true",
                   help="run every invoke from fuel 0, resuming at each pause")  # fmt: skip
    p.set_defaults(func=cmd_wast)


def cmd_wast(args) -> int:
    from ..errors import ParseError
    from ..wast import CHECK_RUN
    from ..wast.report import FileSummary, format_summary
    from ..wast.runner import run_script
    from ..wast.wast import ConversionError, load_script

    script = Path(args.script)
    if not script.is_file():
        raise UsageError(f"no such file: {script}")
    tier = "python-fuel" if args.fuel else "python"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            # read by wasm2py's parser; only component-model scripts need wasm-tools
            loaded = load_script(script, cache=Path(tmp))
        except ParseError as e:  # names the script, line and column
            raise UsageError(f"ParseError: {e}") from None
        except ConversionError as e:
            raise UsageError(f"{script}: {e}") from None
        results = run_script(loaded, tier, CHECK_RUN)
    summary = FileSummary.from_results(script.name, tier, CHECK_RUN, results)
    for line in summary.problems:
        print(line, file=sys.stderr)
    print(format_summary([summary], per_file=False))
    return 0 if summary.ok else 1
