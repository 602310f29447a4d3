"""Spec-suite functions as AArch64 cases: each binary ``module`` of a ``.wast`` script becomes a
:class:`~tools.aarch64.harness.Case` with every ``invoke`` the script makes on it (from
``assert_return``, ``assert_trap``, ``assert_exhaustion`` and plain actions), in script order.

Imports are the harness's (recording stubs for functions, spectest values for globals, fresh
memories and tables of the imported type), not the registered modules the script links: the
point is that the three tiers agree on the same calls, not the scripts' expected values (the
spec runner checks those). Modules that do not instantiate that way (their start function
traps, a segment does not fit, an import type cannot be made) and calls of re-exported imports
are left out.
"""

from __future__ import annotations

from pathlib import Path

from wasm2py.wast.values import parse_float_bits, parse_int, parse_v128
from wasm2py.wast.wast import list_wast_files, load_script, spec_dir

from .harness import Call, Case, Extern, func_types_of_exports

_ACTIONS = ("assert_return", "assert_trap", "assert_exhaustion", "action")


class _Unsupported(Exception):
    pass


def _arg(value: dict):
    from wasm2py.runtime.values import f32_from_bits, f64_from_bits

    typ, text = value.get("type"), value.get("value")
    if typ in ("i32", "i64"):
        return parse_int(text, 32 if typ == "i32" else 64)
    if typ == "f32":
        return f32_from_bits(parse_float_bits(text, 32))
    if typ == "f64":
        return f64_from_bits(parse_float_bits(text, 64))
    if typ == "v128" and isinstance(text, list):
        return parse_v128(value)
    if typ in ("funcref", "externref") and text == "null":
        return None
    if typ == "externref" and text is not None:
        return Extern(int(text))
    raise _Unsupported(repr(value))


def script_cases(wast: Path) -> list[Case]:
    """The cases of one script (see the module docstring; not yet checked to instantiate)."""
    from wasm2py.binary.decoder import decode_module

    script = load_script(wast)
    cases: list[Case] = []
    exports: dict[int, dict] = {}
    current: Case | None = None
    named: dict[str, Case | None] = {}
    for cmd in script.commands:
        kind = cmd.get("type")
        if kind == "module":
            current = None
            filename = cmd.get("filename") if cmd.get("module_type", "binary") == "binary" else None
            filename = filename or cmd.get("binary_filename")
            if filename:
                data = script.module_bytes(filename)
                try:
                    decoded = decode_module(data)
                except Exception:  # noqa: BLE001 - the spec runner reports these
                    decoded = None
                if decoded is not None:
                    current = Case(f"{wast.name}:{cmd.get('line', 0)}", data, [])
                    cases.append(current)
                    exports[id(current)] = {
                        name: index >= decoded.num_imported_funcs
                        for name, (index, _) in func_types_of_exports(decoded).items()}  # fmt: skip
            if cmd.get("name"):
                named[cmd["name"]] = current
        elif kind in _ACTIONS:
            action = cmd.get("action", {})
            if action.get("type") != "invoke":
                continue
            target = named.get(action["module"]) if action.get("module") else current
            if target is None or not exports[id(target)].get(action.get("field")):
                continue
            try:
                args = tuple(_arg(v) for v in action.get("args", []))
            except _Unsupported:
                continue
            target.calls.append(Call(action["field"], args))
    return [c for c in cases if c.calls]


def wast_files(simd: bool = True) -> list[Path]:
    """The Wasm 2.0 scripts (empty when the suite is not there)."""
    directory = spec_dir()
    if not directory.is_dir():
        return []
    return list_wast_files(directory, include_simd=simd)


def sample(cases: list[Case], max_calls: int, per_script: int | None = None) -> list[Case]:
    """A deterministic sample: at most ``per_script`` modules of each script (spread over the
    script) and at most ``max_calls`` calls per module (spread over its calls)."""
    by_script: dict[str, list[Case]] = {}
    for c in cases:
        by_script.setdefault(c.name.split(":")[0], []).append(c)
    out = []
    for group in by_script.values():
        if per_script is not None and len(group) > per_script:
            step = len(group) / per_script
            group = [group[int(k * step)] for k in range(per_script)]
        for c in group:
            if len(c.calls) > max_calls:
                step = len(c.calls) / max_calls
                c = Case(c.name, c.wasm, [c.calls[int(k * step)] for k in range(max_calls)],
                         c.fuel_costs, c.opt_level)  # fmt: skip
            out.append(c)
    return out
