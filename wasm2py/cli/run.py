"""``wasm2py run``: instantiate a module and call an export."""

from __future__ import annotations

from .. import Engine, Instance, Store
from ..types import FuncType, ValType
from .common import UsageError, load_module


def add_parser(sub) -> None:
    """Register the ``run`` subcommand."""
    r = sub.add_parser("run", help="instantiate a module and call an export")
    r.add_argument("module", help="path to a .wasm file")
    r.add_argument("--invoke", metavar="NAME", help="export to call (default: _start or main)")
    r.add_argument("args", nargs="*", help="arguments, parsed by the export's signature")
    r.set_defaults(func=cmd_run)


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
    module = load_module(args.module, engine)
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


