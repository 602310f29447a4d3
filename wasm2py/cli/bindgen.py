"""``wasm2py bindgen``: write typed Python bindings for a component."""

from __future__ import annotations

from pathlib import Path

from .. import DecodeError, ValidationError
from .common import UsageError


def add_parser(sub) -> None:
    """Register the ``bindgen`` subcommand."""
    p = sub.add_parser("bindgen", help="write an importable Python package of typed bindings "
                       "for a component",
                       description="Write PKG/__init__.py (dataclasses, enums, Protocols for "
                       "the imports, a class calling the exports) and PKG/component.wasm.")  # fmt: skip
    p.add_argument("component", help="path to a component .wasm file")
    p.add_argument("-o", "--output", required=True, metavar="PKG",
                   help="directory of the package to write (created if needed)")  # fmt: skip
    p.add_argument("--wit", metavar="PATH",
                   help="WIT source (file or directory) or WIT binary for docstrings")  # fmt: skip
    p.add_argument("--name", metavar="CLASS",
                   help="name of the generated class (default: from the file name)")  # fmt: skip
    p.set_defaults(func=cmd_bindgen)


def cmd_bindgen(args) -> int:
    """Write the bindings package."""
    from ..component.bindgen import write_package

    src = Path(args.component)
    if not src.is_file():
        raise UsageError(f"no such file: {src}")
    if args.wit is not None and not Path(args.wit).exists():
        raise UsageError(f"no such file: {args.wit}")
    try:
        init = write_package(src, args.output, wit=args.wit, class_name=args.name)
    except (DecodeError, ValidationError) as e:
        raise UsageError(f"{src}: {type(e).__name__}: {e}") from None
    print(f"wrote {init.parent}/")
    return 0
