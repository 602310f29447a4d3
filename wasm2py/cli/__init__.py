"""The ``wasm2py`` command line: one module per subcommand (``run``), the rest here.

User errors (missing file, malformed module, unknown export, bad arguments) print one line on
stderr and exit with status 2; a trap prints the trap and its wasm backtrace and exits 1.
"""

from __future__ import annotations

import argparse
import sys

from .. import DecodeError, Engine, Error, Module, ParseError, Trap, ValidationError
from ..errors import _printable as _shown
from ..types import FuncType, MemoryType, TableType
from .common import UsageError, load_module


def _load(path: str, engine: Engine) -> Module:
    return load_module(path, engine)


def cmd_validate(args) -> int:
    engine = Engine()
    with _open(args.module) as f:
        data = f.read()
    try:
        from ..component.binary import is_component

        if is_component(data):
            from ..component.binary import decode_component
            from ..component.validate import validate_component

            validate_component(decode_component(data))
            print(f"{args.module}: valid component")
            return 0
        Module.validate(engine, _binary(data, args.module))
    except (ParseError, DecodeError, ValidationError) as e:
        raise UsageError(f"{args.module}: {type(e).__name__}: {e}") from None
    print(f"{args.module}: valid")
    return 0


_SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                  6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                  12: "data count"}  # fmt: skip


def _describe(t) -> str:
    if isinstance(t, FuncType):
        return f"func {t}"
    if isinstance(t, MemoryType):
        lim = t.limits
        return f"memory {lim.min}..{lim.max if lim.max is not None else ''} pages"
    if isinstance(t, TableType):
        lim = t.limits
        return f"table {t.elem} {lim.min}..{lim.max if lim.max is not None else ''}"
    return f"global {'mut ' if t.mutable else ''}{t.valtype}"


def _sections(data: bytes) -> list[tuple[str, int]]:
    from ..binary.reader import read_u32

    out = []
    p = 8
    while p < len(data):
        sid = data[p]
        size, q = read_u32(data, p + 1)
        label = _SECTION_NAMES.get(sid, f"unknown {sid}")
        if sid == 0:
            n, r = read_u32(data, q)
            label = f"custom {_shown(data[r : r + n].decode('utf-8', 'replace'))!s}"
        out.append((label, size))
        p = q + size
    return out


def _inspect_component(path: str, data: bytes) -> int:
    from ..component import Component

    try:
        comp = Component(data)
    except (DecodeError, ValidationError) as e:
        raise UsageError(f"{path}: {type(e).__name__}: {e}") from None
    print(f"component, size: {len(data)} bytes")
    for title, items in (("imports", comp.imports), ("exports", comp.exports)):
        print(f"{title} ({len(items)}):")
        for name, t in items.items():
            print(f"  {_shown(name)}: {_shown(str(t.type) if hasattr(t, 'type') else str(t))}")
    return 0


def cmd_inspect(args) -> int:
    with _open(args.module) as f:
        head = f.read()
    from ..component.binary import is_component

    if is_component(head):
        return _inspect_component(args.module, head)
    if args.wat:
        from ..text import wasm2wat

        try:
            print(wasm2wat(_binary(head, args.module)), end="")
        except DecodeError as e:
            raise UsageError(f"{args.module}: DecodeError: {e}") from None
        return 0
    module = _load(args.module, Engine())
    m = module._module
    data = _binary(head, args.module)
    print(f"size: {len(data)} bytes")
    print(f"functions: {len(m.funcs)} defined, {m.num_imported_funcs} imported")
    print("sections:")
    for label, size in _sections(data):
        print(f"  {label:<24} {size:>10} bytes")
    print(f"imports ({len(m.imports)}):")
    for imp in module.imports:
        print(f"  {_shown(imp.module)}.{_shown(imp.name)}: {_describe(imp.type)}")
    print(f"exports ({len(m.exports)}):")
    for exp in module.exports:
        print(f"  {_shown(exp.name)}: {_describe(exp.type)}")
    return 0


def _binary(data: bytes, path: str) -> bytes:
    """The binary of a module file's contents (``.wat`` text is parsed)."""
    from ..text import as_binary

    try:
        return as_binary(data, source=path)
    except ParseError as e:
        raise UsageError(f"ParseError: {e}") from None


def _open(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory: {path}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wasm2py`` command."""
    from .. import __version__

    p = argparse.ArgumentParser(prog="wasm2py", description="Run WebAssembly modules in Python.")
    p.add_argument("--version", action="version",
                   version=f"wasm2py {__version__} (Python {sys.version.split()[0]})")  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True)
    from . import bindgen, cachecmd, compile, run, wast

    run.add_parser(sub)
    bindgen.add_parser(sub)
    compile.add_parser(sub)
    cachecmd.add_parser(sub)
    wast.add_parser(sub)
    v = sub.add_parser("validate", help="check that a module is well-formed and valid")
    v.add_argument("module", help="path to a .wasm or .wat file")
    v.set_defaults(func=cmd_validate)
    i = sub.add_parser("inspect", help="list a module's imports and exports")
    i.add_argument("module", help="path to a .wasm or .wat file")
    i.add_argument("--wat", action="store_true", help="print the module in the text format")
    i.set_defaults(func=cmd_inspect)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wasm2py`` command; returns the exit status."""
    parser = build_parser()
    # Arguments of the invoked function may follow --invoke NAME (and may be negative
    # numbers), which plain parse_args would reject: collect what it leaves over.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "run" or any(x.startswith("--") and x != "--" for x in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.args = list(args.args) + [x for x in extra if x != "--"]
    try:
        return args.func(args)
    except UsageError as e:
        print(f"wasm2py: error: {e}", file=sys.stderr)
        return 2
    except Trap as e:
        print(f"wasm2py: trap: {e}", file=sys.stderr)
        return 1
    except Error as e:
        print(f"wasm2py: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except OverflowError as e:
        print(f"wasm2py: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
