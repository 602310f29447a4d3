"""``wasm2py run``: run a WASI program, or instantiate a module and call an export.

::

    wasm2py run prog.wasm [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--tier TIER]
                          [--fuel N] [--invoke NAME] [--lib-path DIR]... [--preload LIB]...
                          [--] [ARGS...]

A module that imports ``wasi_snapshot_preview1`` (or ``wasi_unstable``) runs as a WASI program:
``ARGS`` become its ``argv[1:]`` (``argv[0]`` is the module path), ``--dir`` preopens host
directories (the guest sees nothing else), ``--env`` sets environment variables (``NAME`` alone
copies the host's value), stdio is inherited, and the exit status is the program's. A command
runs ``_start``; a reactor runs ``_initialize``. With ``--invoke NAME`` the export ``NAME`` is
called instead, after ``_initialize`` if the module has one, with ``ARGS`` parsed by its
signature, and its results are printed. Modules without WASI imports work the same way,
``_start`` or ``main`` being called by default.

A dynamically linked main program (``wasm-ld --experimental-pic -pie``: it has a ``dylink.0``
section) is loaded by :class:`wasm2py.dylink.DynamicLinker` with the libraries it needs, found
in the ``--lib-path`` directories or beside it, and the ``--preload`` ones; WASI and WASIX's
closure functions are provided to every module.

On a terminal, loading that takes more than half a second (a cold LLVM compile of a big
module) shows a progress line on stderr, erased when it is done (:mod:`.progress`).

A trap prints the trap and the wasm backtrace on stderr and exits with status 1 (see
:mod:`wasm2py.cli`); mistakes on the command line print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import os
import sys
from typing import Any

from .. import Config, Engine, Instance, Store
from ..config import TIERS
from ..types import AnyValType, FuncType, ValType
from .common import UsageError, load_module
from .progress import Progress


class _RunParser(argparse.ArgumentParser):
    """Everything after the first ``--`` belongs to the program, whatever it looks like.

    (Plain argparse would match the ``args`` positional before the options that follow the
    module path, leaving ``-- ARGS`` over as unrecognized.)
    """

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        tail: list[str] = []
        if "--" in args:
            i = args.index("--")
            args, tail = args[:i], args[i + 1 :]
        ns, extra = super().parse_known_args(args, namespace)
        if tail:
            ns.args = [*getattr(ns, "args", []), *extra, *tail]
            extra = []
        return ns, extra


def add_parser(sub) -> None:
    """Register the ``run`` subcommand."""
    # Subparsers are created by the action's parser class: use ours for this one only.
    saved = sub._parser_class
    sub._parser_class = _RunParser
    try:
        r = sub.add_parser(
            "run",
            help="run a WASI program, or call an export of a module",
            description="Run a WASI program (exit status is the program's), or call an export.",
        )
    finally:
        sub._parser_class = saved
    r.add_argument("module", help="path to a .wasm or .wat file")
    r.add_argument("--invoke", metavar="NAME",
                   help="export to call (default: _start, then _initialize/main)")  # fmt: skip
    r.add_argument("--dir", metavar="HOST[::GUEST]", action="append", default=[],
                   help="preopen a host directory for the program (as GUEST, default HOST)")  # fmt: skip
    r.add_argument("--env", metavar="NAME[=VALUE]", action="append", default=[],
                   help="set an environment variable (NAME alone: the host's value)")  # fmt: skip
    r.add_argument("--tier", choices=TIERS, default=None, help="execution tier")
    r.add_argument("--fuel", metavar="N", type=int, default=None,
                   help="run with N units of fuel; running out traps")  # fmt: skip
    r.add_argument("--lib-path", metavar="DIR", action="append", default=[],
                   help="where to find the shared libraries a dynamically linked program "
                        "needs (also searched: the program's directory)")  # fmt: skip
    r.add_argument("--preload", metavar="LIB", action="append", default=[],
                   help="load this shared library (name or path) with the program")  # fmt: skip
    r.add_argument("args", nargs="*", default=[],
                   help="program arguments (WASI) or export arguments")  # fmt: skip
    r.set_defaults(func=cmd_run)


def _parse_arg(text: str, t: AnyValType):
    try:
        if t in (ValType.I32, ValType.I64, ValType.V128):
            return int(text, 0)
        if t in (ValType.F32, ValType.F64):
            return float(text)
    except ValueError:
        raise UsageError(f"cannot parse {text!r} as {t}") from None
    raise UsageError(f"cannot pass a {t} argument from the command line")


def _format(v, t: AnyValType | None = None) -> str:
    if t is ValType.V128:
        return f"{v:#034x}"  # the 128-bit pattern, lane 0 in the low bits
    return repr(v) if isinstance(v, float) else str(v)


def _engine(args) -> tuple[Engine, int | None]:
    # (a run makes plain calls only: jitted code needs no suspend code, see Config)
    options: dict[str, Any] = {"llvm_resumable": False}
    if args.tier is not None:
        options["tier"] = args.tier
    if args.fuel is not None:
        if args.fuel < 0:
            raise UsageError("--fuel must not be negative")
        names = {f.name for f in dataclasses.fields(Config)}
        if "consume_fuel" not in names:
            raise UsageError("--fuel: this wasm2py has no fuel support")
        options["consume_fuel"] = True
    return Engine(Config(**options)), args.fuel


def _store(engine: Engine, fuel: int | None) -> Store:
    store = Store(engine)
    if fuel is not None:
        store.set_fuel(fuel)
    return store


def _invoke(instance: Instance, name: str, argv: list[str]) -> int:
    return _invoke_export(instance.exports, name, argv)


def _invoke_export(exports, name: str, argv: list[str]) -> int:
    try:
        func = exports[name]
    except KeyError:
        raise UsageError(f"unknown export {name!r}") from None
    ftype = getattr(func, "type", None)
    if not isinstance(ftype, FuncType):
        raise UsageError(f"export {name!r} is not a function")
    if len(argv) != len(ftype.params):
        raise UsageError(f"{name} expects {len(ftype.params)} argument(s) {ftype}, got {len(argv)}")
    values = [_parse_arg(a, t) for a, t in zip(argv, ftype.params)]
    result = func(*values)
    if result is not None:
        results = result if isinstance(result, tuple) else (result,)
        print(" ".join(_format(r, t) for r, t in zip(results, ftype.results)), flush=True)
    return 0


def _wasi_config(args):
    from ..wasi import WasiConfig

    preopens: dict[str, str] = {}
    for spec in args.dir:
        host, sep, guest = spec.partition("::")
        if not host:
            raise UsageError(f"--dir {spec!r}: empty host directory")
        if not os.path.isdir(host):
            what = "not a directory" if os.path.exists(host) else "no such directory"
            raise UsageError(f"--dir {spec!r}: {what}: {host}")
        preopens[guest if sep and guest else host] = host
    env: dict[str, str] = {}
    for spec in args.env:
        name, sep, value = spec.partition("=")
        if not name:
            raise UsageError(f"--env {spec!r}: expected NAME=VALUE")
        if not sep:
            if name not in os.environ:
                continue
            value = os.environ[name]
        env[name] = value
    return WasiConfig(argv=[args.module, *args.args], env=env, preopens=preopens)


@contextlib.contextmanager
def _startup_frozen():
    """Keep what exists when the program starts (the decoded module, its instance, the
    runtime and every imported module: objects that live as long as the run) out of Python's
    cyclic garbage collector while the program runs (:func:`gc.freeze`). Its full
    collections, which a cold run triggers several times as translated code accumulates,
    would otherwise walk them all each time (~0.2 s of a cold sqlite3 run). Undone at the
    end, since ``run`` may be called in a process that goes on; not done if something else
    froze objects already (undoing that is not ours to do)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run_wasi(args, engine: Engine, fuel: int | None, module) -> int:
    from ..wasi import Wasi, WasiExit, call_entry, instantiate

    config = _wasi_config(args)
    store = _store(engine, fuel)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        wasi = Wasi(config)
    except OSError as e:
        raise UsageError(f"cannot open {e.filename}: {e.strerror}") from None
    with wasi:
        try:
            instance = instantiate(store, module, wasi)
            with _startup_frozen():
                exports = instance.exports
                if args.invoke is not None:
                    if "_initialize" in exports and args.invoke != "_initialize":
                        status = call_entry(instance, "_initialize")
                        if status:
                            return status & 0xFF
                    wasi.flush()
                    return _invoke(instance, args.invoke, args.args)
                if "_start" in exports:
                    return call_entry(instance, "_start") & 0xFF
                if "_initialize" in exports:
                    return call_entry(instance, "_initialize") & 0xFF
            raise UsageError("the module exports neither _start nor _initialize; use --invoke")
        except WasiExit as e:
            return e.code & 0xFF


def _run_dylink(args, engine: Engine, fuel: int | None) -> int:
    from ..dylink import Closures, DynamicLinker
    from ..wasi import Wasi, WasiExit, call_entry

    for d in args.lib_path:
        if not os.path.isdir(d):
            raise UsageError(f"--lib-path {d!r}: no such directory")
    config = _wasi_config(args)
    store = _store(engine, fuel)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        wasi = Wasi(config)
    except OSError as e:
        raise UsageError(f"cannot open {e.filename}: {e.strerror}") from None
    with wasi:
        try:
            dl = DynamicLinker(store, imports=wasi.imports(store), lib_path=args.lib_path)
            Closures(dl).install()
            exports = dl.load(args.module, preload=args.preload).exports
            if args.invoke is not None:
                wasi.flush()
                return _invoke_export(exports, args.invoke, args.args)
            for entry in ("_start", "_initialize"):
                if entry in exports:
                    return call_entry(dl.main.instance, entry) & 0xFF
            raise UsageError("the program exports neither _start nor _initialize; use --invoke")
        except WasiExit as e:
            return e.code & 0xFF


def _placeholder(module: str, name: str):
    def unprovided(*args):
        shown = ascii(f"{module}.{name}")[1:-1]
        raise UsageError(f"the module called the import {shown}, which `wasm2py run` cannot "
                         "provide (embed the module from Python to supply it)")  # fmt: skip

    return unprovided


def cmd_run(args) -> int:
    engine, fuel = _engine(args)
    # (a cold LLVM compile of a big module takes seconds: say so on a terminal)
    with Progress(f"wasm2py: compiling {args.module} ({engine.config.tier} tier)"):
        module = load_module(args.module, engine)
    from ..dylink import LEGACY_SECTION, SECTION
    from ..wasi import is_wasi

    if args.preload or args.lib_path or any(name in (SECTION, LEGACY_SECTION)
                                            for name, _ in module._module.customs):  # fmt: skip
        return _run_dylink(args, engine, fuel)

    if is_wasi(module):
        return _run_wasi(args, engine, fuel, module)
    if args.dir or args.env:
        raise UsageError("--dir and --env apply to WASI programs; this module imports no WASI")
    # Function imports get placeholders that stop the run (one clear line) only if called;
    # other imports cannot be made up.
    missing = [f"{i.module}.{i.name}" for i in module.imports if not isinstance(i.type, FuncType)]
    if missing:
        raise UsageError(
            f"{args.module} needs imports this command cannot provide: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )
    imports: dict = {}
    for imp in module.imports:
        imports.setdefault(imp.module, {})[imp.name] = _placeholder(imp.module, imp.name)
    store = _store(engine, fuel)
    instance = Instance(store, module, imports)
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
    return _invoke(instance, name, args.args)
