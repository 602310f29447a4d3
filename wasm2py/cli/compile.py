"""``wasm2py compile``: write a module as one importable Python file."""

from __future__ import annotations

from pathlib import Path

from .. import DecodeError, ParseError, ValidationError
from .common import UsageError


def add_parser(sub) -> None:
    """Register the ``compile`` subcommand."""
    p = sub.add_parser("compile", help="compile a module ahead of time into an importable .py",
                       description="Write one readable Python file that imports only "
                       "wasm2py.runtime and exposes instantiate(imports=None, **limits).")  # fmt: skip
    p.add_argument("module", help="path to a .wasm or .wat file")
    p.add_argument("-o", "--output", metavar="FILE.py",
                   help="where to write it (default: the module's name with .py)")  # fmt: skip
    p.add_argument("--fuel", action="store_true",
                   help="meter fuel (default costs): instances need a store with "
                        "Config(consume_fuel=True), i.e. instantiate(consume_fuel=True)")  # fmt: skip
    p.add_argument("--no-resume", action="store_true",
                   help="leave out the resume entries (a file about half the size, whose paused "
                        "calls cannot resume)")  # fmt: skip
    p.set_defaults(func=cmd_compile)


def cmd_compile(args) -> int:
    from ..aot import compile as compile_aot

    src = Path(args.module)
    out = Path(args.output) if args.output else src.with_suffix(".py")
    if out.suffix != ".py":
        raise UsageError(f"the output must be a .py file: {out}")
    try:
        compile_aot(src, out, fuel=args.fuel, resumable=not args.no_resume)
    except FileNotFoundError:
        raise UsageError(f"no such file: {src}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory: {src}") from None
    except ParseError as e:  # names the file and the line already
        raise UsageError(f"ParseError: {e}") from None
    except (DecodeError, ValidationError) as e:
        raise UsageError(f"{src}: {type(e).__name__}: {e}") from None
    print(f"wrote {out}")
    return 0
