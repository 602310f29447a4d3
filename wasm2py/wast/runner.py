"""Executing a converted spec script against wasm2py's public API.

One :class:`ScriptRunner` runs the commands of one script, in order, in one store with one
linker (which holds the ``spectest`` module and every registered instance). Each command is
guarded: whatever it raises is recorded as that command's failure and the script goes on. When a
``module`` command fails, later commands that use that module fail too (or are skipped, when the
module itself was skipped).

Text modules (``module quote``, text ``assert_malformed``) are parsed by wasm2py's text parser
(:mod:`wasm2py.text`): a text ``assert_malformed`` passes when the parser raises
:class:`~wasm2py.errors.ParseError`. Their commands are reported under their own kind, e.g.
``assert_malformed (text)``.

Two checks:

* ``run`` (:func:`run_script`): every command (SIMD scripts included);
* ``reject`` (:func:`run_script` with ``check="reject"``): for every file, SIMD included, only
  ``assert_invalid`` / ``assert_malformed`` (must be rejected) and ``module`` commands (compiled
  only; a module rejected as ``UnsupportedFeature`` is recorded as ``unsupported``).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParseError
from . import CHECK_REJECT, CHECK_RUN
from .report import (
    FAILED,
    FIXED,
    KNOWN,
    PASSED,
    SKIPPED,
    UNSUPPORTED,
    CommandResult,
    FileSummary,
)
from .values import (
    FLOAT_TYPES,
    INT_BITS,
    REF_TYPES,
    ExternRef,
    UnsupportedValue,
    describe_expected,
    describe_float_bits,
    float_bits_match,
    int_match,
    parse_float_bits,
    parse_int,
    parse_v128,
    trap_message_matches,
    v128_match,
)
from .wast import Script, load_script, script_label, suite_of


def lookup_known_failure(check: str, tier: str, file: str, line: int):
    """The known-failure entry for a command of the official suite (None elsewhere)."""
    try:
        from spectests.known_failures import lookup
    except ImportError:  # an installed wasm2py without the project's test suite
        return None
    return lookup(check, tier, file, line)

#: Commands whose modules the rejection-only check looks at.
REJECT_KINDS = ("module", "assert_invalid", "assert_malformed")


class CommandFailed(Exception):
    """The command did not do what the script expects."""


class CommandSkipped(Exception):
    """The command cannot be run by this harness (text module, skipped dependency...)."""


class CommandUnsupported(Exception):
    """Rejection check: the module uses a feature the engine does not implement."""


#: fuel for everything but invokes in the fuel mode (instantiation runs start functions)
PLENTY_OF_FUEL = 10**15
#: the Config switches of the Wasm 3.0 proposals (all off for the 2.0 suite)
WASM3_SWITCHES = ("wasm_tail_call", "wasm_memory64", "wasm_multi_memory", "wasm_exceptions",
                  "wasm_function_references", "wasm_relaxed_simd", "wasm_extended_const",
                  "wasm_gc")  # fmt: skip
#: reference types of the JSON whose values are always null (``ref.null`` of a bottom type)
NULL_ONLY_TYPES = ("refnull", "nullref", "nullfuncref", "nullexternref", "nullexnref")


def api():
    """The :mod:`wasm2py` module, checked to have the public API the harness needs."""
    import wasm2py

    needed = (
        "Engine", "Config", "Store", "Module", "Linker", "Func", "Memory", "Table", "Global",
        "FuncType", "ValType", "GlobalType", "MemoryType", "TableType", "Limits", "DecodeError",
        "ValidationError", "UnsupportedFeature", "LinkError", "Trap", "TrapCode",
        "f32_from_bits", "f32_to_bits", "f64_from_bits", "f64_to_bits",
    )  # fmt: skip
    missing = [name for name in needed if not hasattr(wasm2py, name)]
    if missing:
        raise ImportError(f"wasm2py does not provide (yet?) {', '.join(missing)}")
    return wasm2py


def define_spectest(w, store, linker) -> None:
    """Define the standard ``spectest`` module the scripts import into ``linker``."""
    V = w.ValType

    def noop(*args):
        return None

    prints = {
        "print": [],
        "print_i32": [V.I32],
        "print_i64": [V.I64],
        "print_f32": [V.F32],
        "print_f64": [V.F64],
        "print_i32_f32": [V.I32, V.F32],
        "print_f64_f64": [V.F64, V.F64],
    }
    for name, params in prints.items():
        linker.define(store, "spectest", name, w.Func(store, w.FuncType(params, []), noop))
    globals_ = {
        "global_i32": (V.I32, 666),
        "global_i64": (V.I64, 666),
        "global_f32": (V.F32, w.f32_from_bits(0x4426A666)),  # 666.6 rounded to f32
        "global_f64": (V.F64, 666.6),
    }
    for name, (typ, value) in globals_.items():
        glob = w.Global(store, w.GlobalType(typ, mutable=False), value)
        linker.define(store, "spectest", name, glob)
    table = w.Table(store, w.TableType(V.FUNCREF, w.Limits(10, 20)), None)
    linker.define(store, "spectest", "table", table)
    memory = w.Memory(store, w.MemoryType(w.Limits(1, 2)))
    linker.define(store, "spectest", "memory", memory)
    config = getattr(getattr(store, "engine", None), "config", None)  # (a fake store in tests)
    if getattr(config, "wasm_memory64", False):
        table64 = w.Table(store, w.TableType(V.FUNCREF, w.Limits(10, 20), is_64=True), None)
        linker.define(store, "spectest", "table64", table64)


@dataclass
class Slot:
    """A module of the script: instantiated, failed, or skipped (with the reason)."""

    line: int
    instance: Any = None
    module: Any = None  # the compiled module (module definitions)
    failed: str | None = None
    skipped: str | None = None


def _describe_exception(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _short_traceback(exc: BaseException, limit: int = 3) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-limit:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))


class ScriptRunner:
    """Runs the commands of one converted script on one tier."""

    def __init__(self, script: Script, tier: str, check: str = CHECK_RUN, *, wasm=None,
                 suite: str = "2.0"):  # fmt: skip
        self.script = script
        self.tier = tier
        self.check = check
        self.suite = suite
        #: the script's name in results and known failures (``3.0/`` prefix in the 3.0 suite)
        self.label = script_label(script.wast, suite)
        self.w = wasm if wasm is not None else api()
        base_tier, *variants = tier.split("-")
        #: "fuel": every invoke starts at fuel 0 and is resumed with the required fuel
        #: each time it pauses (call_resumable), which must not change any result
        self.fuel_mode = "fuel" in variants
        #: "metered": fuel metering on with a budget no script exhausts, plain calls (the LLVM
        #: tier's fuel code must not change any result; its resumable calls run in Python)
        metered = "metered" in variants
        # the 2.0 suite runs with every Wasm 3.0 proposal off (some 2.0 scripts expect what
        # 3.0 allows to be malformed or invalid)
        features = {} if suite == "3.0" else {name: False for name in WASM3_SWITCHES}
        #: "flat": the Python tier gives every function its fallback shape (see
        #: wasm2py.translate.flat), which must not change any result either
        shape = "flat" if "flat" in variants else "auto"
        #: "quick": the LLVM tier compiles every module at the cheap level it gives big
        #: modules (Config.llvm_quick_bytes: level 0, or the quick pipeline for functions
        #: with big frames), which must not change any result either
        extra = {"llvm_quick_bytes": 0} if "quick" in variants else {}
        if base_tier == "baseline":
            config = self.w.Config(tier="auto", baseline=True, tier_up_threshold=1 << 62,
                                   cache=False, **features)  # fmt: skip
        elif metered:
            config = self.w.Config(tier=base_tier, consume_fuel=True, cache=False, **features)
        elif self.fuel_mode:
            # (the default depth limit: a resume re-enters only the innermost paused frame, so
            # assert_exhaustion's runaway recursions pausing at every segment stay linear)
            config = self.w.Config(tier=base_tier, consume_fuel=True, cache=False,
                                   python_shape=shape, **features)  # fmt: skip
        else:
            # always exercise the translator
            config = self.w.Config(tier=base_tier, cache=False, python_shape=shape, **extra,
                                   **features)  # fmt: skip
        self.engine = self.w.Engine(config)
        self.store = self.w.Store(self.engine)
        if self.fuel_mode or metered:
            self.store.set_fuel(PLENTY_OF_FUEL)  # start functions run at instantiation
        self.linker = self.w.Linker(self.engine)
        if check == CHECK_RUN:
            define_spectest(self.w, self.store, self.linker)
        self.current: Slot | None = None
        self.named: dict[str, Slot] = {}
        self.definitions: dict[str, Slot] = {}
        self.results: list[CommandResult] = []

    # --- driver -------------------------------------------------------------------------------

    def run(self) -> list[CommandResult]:
        for command in self.script.commands:
            self.results.extend(self.run_command(command))
        return self.results

    def run_command(self, command: dict) -> list[CommandResult]:
        kind = str(command.get("type", "?"))
        line = int(command.get("line", 0))
        if self.check == CHECK_REJECT and kind not in REJECT_KINDS:
            return []
        label = kind
        if command.get("module_type") == "text":
            label = f"{kind} (text)"
        handler: Callable[[dict], str | None] | None = getattr(self, f"cmd_{kind}", None)
        if self.check == CHECK_REJECT and kind == "module":
            handler = self.reject_module
        try:
            if handler is None:
                raise CommandSkipped(f"command kind {kind!r} is not supported by the harness")
            message = handler(command) or ""
            status = PASSED
        except CommandFailed as exc:
            status, message = FAILED, str(exc)
        except CommandSkipped as exc:
            status, message = SKIPPED, str(exc)
        except CommandUnsupported as exc:
            status, message = UNSUPPORTED, str(exc)
        except Exception as exc:  # noqa: BLE001 - any escape is this command's failure
            status = FAILED
            message = f"harness error {_describe_exception(exc)} at {_short_traceback(exc)}"
        known = lookup_known_failure(self.check, self.tier, self.label, line)
        if known is not None:
            if status == FAILED:
                status, message = KNOWN, f"{message} [known: {known}]"
            elif status == PASSED:
                status = FIXED
                message = f"listed as a known failure ({known}) but passes: remove the entry"
        return [CommandResult(label, line, status, message)]

    # --- modules ------------------------------------------------------------------------------

    def module_bytes(self, command: dict) -> bytes:
        """The binary of a module command: a binary module, or a text module (``module quote``,
        and every module of a script read by wasm2py's parser) encoded by wasm2py's parser.

        Raises:
            ParseError: a text module is malformed.
            CommandSkipped: the command names no module.
        """
        filename = command.get("filename")
        if not filename:
            raise CommandSkipped("the command names no module")
        if command.get("module_type") == "text":
            return self.script.text_module_bytes(filename)
        return self.script.module_bytes(filename)

    def _parsed_bytes(self, command: dict) -> bytes:
        """:meth:`module_bytes`, a malformed text module being this command's failure."""
        try:
            return self.module_bytes(command)
        except ParseError as exc:
            raise CommandFailed(f"parsing the text module raised {_describe_exception(exc)}"
                                ) from exc

    def compile(self, command: dict):
        """Compile a module command's binary; any exception is a failure."""
        data = self._parsed_bytes(command)
        try:
            return self.w.Module(self.engine, data)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"compiling the module raised {_describe_exception(exc)}") from exc

    def instantiate(self, module):
        try:
            return self.linker.instantiate(self.store, module)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"instantiation raised {_describe_exception(exc)}") from exc

    def _set_module(self, slot: Slot, name: str | None) -> None:
        self.current = slot
        if name:
            self.named[name] = slot

    def cmd_module(self, command: dict) -> None:
        line = int(command.get("line", 0))
        name = command.get("name")
        slot = Slot(line)
        try:
            slot.instance = self.instantiate(self.compile(command))
        except CommandSkipped as exc:
            slot.skipped = str(exc)
            raise
        except CommandFailed as exc:
            slot.failed = str(exc)
            raise
        finally:
            self._set_module(slot, name)

    def cmd_module_definition(self, command: dict) -> None:
        slot = Slot(int(command.get("line", 0)))
        try:
            slot.module = self.compile(command)
        except CommandSkipped as exc:
            slot.skipped = str(exc)
            raise
        except CommandFailed as exc:
            slot.failed = str(exc)
            raise
        finally:
            if command.get("name"):
                self.definitions[command["name"]] = slot

    def cmd_module_instance(self, command: dict) -> None:
        slot = Slot(int(command.get("line", 0)))
        try:
            definition = self.definitions.get(command.get("module") or "")
            if definition is None:
                slot.failed = f"no module definition named {command.get('module')!r}"
                raise CommandFailed(slot.failed)
            self._check_usable(definition)
            slot.instance = self.instantiate(definition.module)
        except CommandSkipped as exc:
            slot.skipped = str(exc)
            raise
        except CommandFailed as exc:
            slot.failed = slot.failed or str(exc)
            raise
        finally:
            self._set_module(slot, command.get("instance"))

    def reject_module(self, command: dict) -> str | None:
        """Rejection check: a ``module`` command is only compiled."""
        data = self._parsed_bytes(command)
        try:
            self.w.Module(self.engine, data)
        except self.w.UnsupportedFeature as exc:
            raise CommandUnsupported(_describe_exception(exc)) from exc
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"compiling the module raised {_describe_exception(exc)}") from exc
        return None

    def _check_usable(self, slot: Slot) -> None:
        if slot.skipped is not None:
            raise CommandSkipped(f"uses the module of line {slot.line}, which was skipped")
        if slot.failed is not None:
            raise CommandFailed(f"uses the module of line {slot.line}, which failed")

    def resolve(self, name: str | None) -> Slot:
        if name:
            slot = self.named.get(name)
            if slot is None:
                raise CommandFailed(f"no module named {name!r}")
        else:
            slot = self.current
            if slot is None:
                raise CommandFailed("no current module")
        self._check_usable(slot)
        return slot

    def cmd_register(self, command: dict) -> None:
        slot = self.resolve(command.get("name"))
        try:
            self.linker.define_instance(self.store, command["as"], slot.instance)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(f"define_instance raised {_describe_exception(exc)}") from exc

    # --- actions ------------------------------------------------------------------------------

    def arg_value(self, value: dict):
        typ = value.get("type")
        text = value.get("value")
        if typ in INT_BITS:
            return parse_int(text, INT_BITS[typ])
        if typ == "f32":
            return self.w.f32_from_bits(parse_float_bits(text, 32))
        if typ == "f64":
            return self.w.f64_from_bits(parse_float_bits(text, 64))
        if typ == "v128" and isinstance(text, list):
            return parse_v128(value)
        if typ in REF_TYPES or typ in NULL_ONLY_TYPES:
            if text == "null" or typ in NULL_ONLY_TYPES:
                return None
            if typ == "externref" and text is not None:
                return ExternRef(int(text))
        raise UnsupportedValue(f"argument value {value!r} is not supported by the harness")

    def perform(self, action: dict):
        """Run an action (``invoke`` or ``get``); exceptions propagate."""
        slot = self.resolve(action.get("module"))
        field = action.get("field")
        try:
            export = slot.instance.exports[field]
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"module of line {slot.line} has no export {field!r} ({_describe_exception(exc)})"
            ) from exc
        kind = action.get("type")
        if kind == "invoke":
            try:
                args = [self.arg_value(v) for v in action.get("args", [])]
            except UnsupportedValue as exc:
                raise CommandFailed(str(exc)) from exc
            if self.fuel_mode:
                return self.invoke_with_fuel_pauses(export, args)
            return export(*args)
        if kind == "get":
            return export.value
        raise CommandSkipped(f"action type {kind!r} is not supported by the harness")

    def invoke_with_fuel_pauses(self, export, args):
        """Start at fuel 0; on every pause add exactly the required fuel and resume."""
        store = self.store
        store.set_fuel(0)
        try:
            result = export.call_resumable(*args)
            while isinstance(result, self.w.OutOfFuel):
                store.set_fuel(store.get_fuel() + result.required_fuel)
                result = result.resume()
        finally:
            store.set_fuel(PLENTY_OF_FUEL)
        if not isinstance(result, self.w.Finished):
            raise CommandFailed(f"unexpected pause {result!r}")
        return result.results

    def _action_text(self, action: dict) -> str:
        if action.get("type") == "invoke":
            args = ", ".join(describe_expected(v) for v in action.get("args", []))
            return f"invoke {action.get('field')!r}({args})"
        return f"get {action.get('field')!r}"

    def cmd_action(self, command: dict) -> None:
        action = command["action"]
        try:
            self.perform(action)
        except (CommandFailed, CommandSkipped):
            raise
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"{self._action_text(action)} raised {_describe_exception(exc)}"
            ) from exc

    def cmd_assert_return(self, command: dict) -> None:
        action = command["action"]
        expected = command.get("expected", [])
        try:
            result = self.perform(action)
        except (CommandFailed, CommandSkipped):
            raise
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"{self._action_text(action)} raised {_describe_exception(exc)}"
            ) from exc
        if action.get("type") == "get":
            values = [result]
        elif len(expected) == 0:
            if result is not None and result != ():
                raise CommandFailed(
                    f"{self._action_text(action)}: expected no result, got {result!r}"
                )
            return
        elif len(expected) == 1:
            values = [result]
        else:
            if not isinstance(result, tuple | list) or len(result) != len(expected):
                raise CommandFailed(
                    f"{self._action_text(action)}: expected {len(expected)} results, got {result!r}"
                )
            values = list(result)
        mismatches = []
        for i, (got, want) in enumerate(zip(values, expected, strict=False)):
            problem = self.compare(got, want)
            if problem:
                mismatches.append(f"result {i}: {problem}")
        if mismatches:
            raise CommandFailed(f"{self._action_text(action)}: " + "; ".join(mismatches))

    def compare(self, got, want: dict) -> str | None:
        """``None`` if ``got`` matches the expected value ``want``, else a description."""
        typ = want.get("type")
        text = want.get("value")
        if typ == "either":
            options = want.get("values", [])
            if any(self.compare(got, option) is None for option in options):
                return None
            return f"got {got!r}, expected one of " + ", ".join(map(describe_expected, options))
        if typ in INT_BITS:
            if int_match(got, text, INT_BITS[typ]):
                return None
            return f"got {got!r}, expected {describe_expected(want)}"
        if typ in FLOAT_TYPES:
            width = 32 if typ == "f32" else 64
            if not isinstance(got, float):
                return f"got {got!r} ({type(got).__name__}), expected {describe_expected(want)}"
            bits = self.w.f32_to_bits(got) if width == 32 else self.w.f64_to_bits(got)
            if float_bits_match(bits, text, width):
                return None
            return f"got {describe_float_bits(bits, width)}, expected {describe_expected(want)}"
        if typ == "v128" and isinstance(text, list):
            if v128_match(got, want):
                return None
            shown = f"{got:#034x}" if isinstance(got, int) else repr(got)
            return f"got v128 {shown}, expected {describe_expected(want)}"
        if typ in REF_TYPES or typ in NULL_ONLY_TYPES:
            if text == "null" or typ in NULL_ONLY_TYPES:
                return None if got is None else f"got {got!r}, expected ref.null"
            if text is None:
                return None if got is not None else f"got null, expected a non-null {typ}"
            if typ == "externref":
                wanted = ExternRef(int(text))
                return None if got == wanted else f"got {got!r}, expected {wanted!r}"
        return f"expected value {want!r} is not supported by the harness"

    # --- traps --------------------------------------------------------------------------------

    def _expect_trap(self, run: Callable[[], Any], what: str, text: str, code=None) -> str:
        try:
            result = run()
        except self.w.Trap as exc:
            message = getattr(exc, "message", None) or str(exc)
            if code is not None and getattr(exc, "code", None) is not code:
                raise CommandFailed(
                    f"{what}: trapped with code {getattr(exc, 'code', None)} ({message!r}), "
                    f"expected {code} ({text!r})"
                ) from exc
            if code is None and not trap_message_matches(text, message):
                raise CommandFailed(f"{what}: trapped with {message!r}, expected {text!r}") from exc
            return ""
        except (CommandFailed, CommandSkipped):
            raise
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"{what}: raised {_describe_exception(exc)}, expected a trap {text!r}"
            ) from exc
        raise CommandFailed(f"{what}: returned {result!r}, expected a trap {text!r}")

    def cmd_assert_trap(self, command: dict) -> str:
        if "action" not in command:  # a module whose instantiation traps (older converters)
            return self.cmd_assert_uninstantiable(command)
        action = command["action"]
        return self._expect_trap(
            lambda: self.perform(action), self._action_text(action), command.get("text", "")
        )

    def cmd_assert_exhaustion(self, command: dict) -> str:
        action = command["action"]
        return self._expect_trap(
            lambda: self.perform(action),
            self._action_text(action),
            command.get("text", ""),
            code=self.w.TrapCode.CALL_STACK_EXHAUSTED,
        )

    def cmd_assert_exception(self, command: dict) -> str:
        """The action must raise a wasm exception (:class:`wasm2py.WasmException`)."""
        action = command["action"]
        what = self._action_text(action)
        try:
            result = self.perform(action)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, getattr(self.w, "WasmException", ())):
                return ""
            if isinstance(exc, CommandFailed | CommandSkipped):
                raise
            raise CommandFailed(
                f"{what}: raised {_describe_exception(exc)}, expected a wasm exception"
            ) from exc
        raise CommandFailed(f"{what}: returned {result!r}, expected a wasm exception")

    def cmd_assert_uninstantiable(self, command: dict) -> str:
        module = self.compile(command)
        return self._expect_trap(
            lambda: self.linker.instantiate(self.store, module),
            "instantiation",
            command.get("text", ""),
        )

    # --- rejected modules ---------------------------------------------------------------------

    def _expect_rejection(self, command: dict, error, error_name: str) -> str:
        data = self._parsed_bytes(command)
        text = command.get("text", "")
        try:
            self.w.Module(self.engine, data)
        except error as exc:
            return _describe_exception(exc)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"raised {_describe_exception(exc)}, expected {error_name} ({text!r})"
            ) from exc
        raise CommandFailed(f"module was accepted, expected {error_name} ({text!r})")

    def cmd_assert_invalid(self, command: dict) -> str:
        return self._expect_rejection(command, self.w.ValidationError, "ValidationError")

    def cmd_assert_malformed(self, command: dict) -> str:
        if command.get("module_type") == "text":
            # malformed text: the text parser itself must reject it
            text = command.get("text", "")
            try:
                self.module_bytes(command)
            except ParseError as exc:
                return _describe_exception(exc)
            except Exception as exc:  # noqa: BLE001
                raise CommandFailed(
                    f"raised {_describe_exception(exc)}, expected ParseError ({text!r})"
                ) from exc
            raise CommandFailed(f"the text parser accepted the module, expected ParseError "
                                f"({text!r})")
        return self._expect_rejection(command, self.w.DecodeError, "DecodeError")

    def cmd_assert_unlinkable(self, command: dict) -> str:
        module = self.compile(command)
        text = command.get("text", "")
        try:
            self.linker.instantiate(self.store, module)
        except self.w.LinkError as exc:
            return _describe_exception(exc)
        except Exception as exc:  # noqa: BLE001
            raise CommandFailed(
                f"instantiation raised {_describe_exception(exc)}, expected LinkError ({text!r})"
            ) from exc
        raise CommandFailed(f"instantiation succeeded, expected LinkError ({text!r})")


def run_script(
    script: Script, tier: str, check: str = CHECK_RUN, *, wasm=None, suite: str = "2.0"
) -> list[CommandResult]:
    """Run every command of a converted script; never raises for a command's failure.

    ``wasm`` replaces the :mod:`wasm2py` module (the harness's own tests pass a fake);
    ``suite``: "2.0" runs with the Wasm 3.0 proposals switched off, "3.0" with them on."""
    return ScriptRunner(script, tier, check, wasm=wasm, suite=suite).run()


def run_file(wast: Path, tier: str, check: str = CHECK_RUN, suite: str | None = None
             ) -> FileSummary:  # fmt: skip
    """Convert (cached) and run one script, summarised. Errors that prevent running the script
    at all (conversion, missing API) are recorded in ``FileSummary.error``. ``suite``: as for
    :func:`run_script` (default: the suite whose directory holds the script)."""
    start = time.perf_counter()
    if suite is None:
        suite = suite_of(wast)
    label = script_label(wast, suite)
    try:
        script = load_script(wast)
        results = run_script(script, tier, check, suite=suite)
    except Exception as exc:  # noqa: BLE001
        summary = FileSummary(label, tier, check)
        summary.error = f"{_describe_exception(exc)}"
        summary.seconds = time.perf_counter() - start
        return summary
    return FileSummary.from_results(label, tier, check, results, time.perf_counter() - start)


__all__ = [
    "CommandResult", "FileSummary", "ScriptRunner", "define_spectest", "run_file", "run_script",
    "KNOWN", "FIXED", "SKIPPED",
]  # fmt: skip
