"""The ``wasm2py`` command line.

User errors (missing file, malformed module, unknown export, bad arguments) print one line on
stderr and exit with status 2; a trap prints the trap and its wasm backtrace and exits 1.
"""

from __future__ import annotations

import argparse
import sys

from . import DecodeError, Engine, Error, Instance, Module, Store, Trap, ValidationError
from .binary.module import ExternKind
from .types import FuncType, ValType


class UsageError(Exception):
    """A mistake on the command line (reported without a traceback)."""


def _load(path: str, engine: Engine) -> Module:
    try:
        return Module.from_file(engine, path)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory: {path}") from None
    except (DecodeError, ValidationError) as e:
        raise UsageError(f"{path}: {type(e).__name__}: {e}") from None


def _parse_arg(text: str, t: ValType):
    try:
        if t in (ValType.I32, ValType.I64):
            return int(text, 0)
        if t in (ValType.F32, ValType.F64):
            return float(text)
    except ValueError:
        raise UsageError(f"cannot parse {text!r} as {t}") from None
    raise UsageError(f"cannot pass a {t} argument from the command line")


def _format(v) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def cmd_run(args) -> int:
    engine = Engine()
    module = _load(args.module, engine)
    missing = [f"{i.module}.{i.name}" for i in module.imports]
    if missing:
        raise UsageError(
            f"{args.module} needs imports this command cannot provide: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )
    store = Store(engine)
    instance = Instance(store, module, {})
    name = args.invoke
    if name is None:
        for cand in ("_start", "main"):
            if cand in instance.exports:
                name = cand
                break
        else:
            if module._module.start is not None:
                return 0  # the start function already ran
            raise UsageError("no --invoke given and the module exports no _start or main")
    try:
        func = instance.exports[name]
    except KeyError:
        raise UsageError(f"unknown export {name!r}") from None
    ftype = getattr(func, "type", None)
    if not isinstance(ftype, FuncType):
        raise UsageError(f"export {name!r} is not a function")
    if len(args.args) != len(ftype.params):
        raise UsageError(
            f"{name} expects {len(ftype.params)} argument(s) {ftype}, got {len(args.args)}"
        )
    values = [_parse_arg(a, t) for a, t in zip(args.args, ftype.params)]
    result = func(*values)
    if result is not None:
        results = result if isinstance(result, tuple) else (result,)
        print(" ".join(_format(r) for r in results))
    return 0


def cmd_validate(args) -> int:
    engine = Engine()
    with _open(args.module) as f:
        data = f.read()
    try:
        Module.validate(engine, data)
    except (DecodeError, ValidationError) as e:
        raise UsageError(f"{args.module}: {type(e).__name__}: {e}") from None
    print(f"{args.module}: valid")
    return 0


def cmd_inspect(args) -> int:
    module = _load(args.module, Engine())
    m = module._module
    print(f"functions: {len(m.funcs)} defined, {m.num_imported_funcs} imported")
    print(f"imports ({len(m.imports)}):")
    for imp in module.imports:
        print(f"  {imp.module}.{imp.name}: {imp.type}")
    print(f"exports ({len(m.exports)}):")
    for exp, e in zip(module.exports, m.exports):
        print(f"  {exp.name}: {ExternKind(e.kind).name.lower()} {exp.type}")
    return 0


def _open(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory: {path}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wasm2py`` command."""
    p = argparse.ArgumentParser(prog="wasm2py", description="Run WebAssembly modules in Python.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="instantiate a module and call an export")
    r.add_argument("module", help="path to a .wasm file")
    r.add_argument("--invoke", metavar="NAME", help="export to call (default: _start or main)")
    r.add_argument("args", nargs="*", help="arguments, parsed by the export's signature")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check that a module is well-formed and valid")
    v.add_argument("module", help="path to a .wasm file")
    v.set_defaults(func=cmd_validate)
    i = sub.add_parser("inspect", help="list a module's imports and exports")
    i.add_argument("module", help="path to a .wasm file")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
