"""The text parser against a reference: every script of the Wasm 2.0 and 3.0 suites read by
wasm2py (:mod:`wasm2py.wast.script`, :mod:`wasm2py.text`) and by ``wasm-tools json-from-wast``.

For each script:

* the command lists must be equal (same commands, lines, actions, values; ``wasm-tools``
  writes null references of the ``any`` hierarchy and of the bottom types without their
  ``"null"`` value, which is normalised away);
* every module (``module`` commands, definitions, ``assert_invalid``/``assert_unlinkable``/
  ``assert_uninstantiable`` modules, valid ``module quote``, the ``module binary`` of binary
  ``assert_malformed``) must encode to the same bytes as
  wasm-tools' encoding, or, for the few modules listed in :data:`IMPLICIT_TYPE_DIFFERENCES`, to
  a binary whose ``wasm-tools print`` differs only in the function types that implicit type
  uses pick;
* every text ``assert_malformed`` must be rejected by the text parser (:class:`ParseError`);
* with ``decode=True`` (the 2.0 suite), every ``module`` command's binary must also be decoded
  and validated by wasm2py's decoder and validator, and printed by ``wasm2wat`` to text that
  parses back to the same module (:func:`printer_roundtrip`).

``python -m spectests.text_roundtrip [--suite wasm-2.0|wasm-3.0] [--printed] [FILES...]`` prints
the table; ``--printed`` also parses ``wasm-tools print`` of every module and compares the result
with ``wasm-tools parse`` of the same text (plain instruction syntax; two processes per module).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from wasm2py.errors import ParseError
from wasm2py.text import wat2wasm
from wasm2py.wast import wast
from wasm2py.wast.script import read_script

#: Modules whose encoding differs from wasm-tools' because the spec and wasm-tools disagree on
#: which function type an implicit type use (``(func)`` without ``(type ...)``) picks. The spec
#: (text format, "type uses") reuses the first type that is a final function type without
#: supertypes in a recursion group of its own: ``(rec (type (func)))`` counts,
#: ``(type (sub (func)))`` (not final) does not. wasm-tools reuses the first ``(type (func ...))``
#: outside ``rec``, whatever its finality. The scripts themselves follow the spec: type-rec.wast
#: line 46 says "the implicit type of $f is $ft" for a singleton ``rec``, and type-subtyping.wast
#: expects the non-final ``$t1`` not to be picked.
IMPLICIT_TYPE_DIFFERENCES: dict[tuple[str, int], str] = {
    ("type-rec.wast", 45): "implicit type = singleton rec group (spec); wasm-tools appends one",
    ("type-rec.wast", 185): "implicit type = singleton rec group (spec); wasm-tools appends one",
    ("type-rec.wast", 197): "implicit type = singleton rec group (spec); wasm-tools appends one",
    ("type-subtyping.wast", 344): "implicit type = the final $t2 (spec); wasm-tools: non-final $t1",
    ("type-subtyping.wast", 373): "implicit type = the final $t2 (spec); wasm-tools: non-final $t1",
}

# Reference types whose nulls wasm-tools writes without "value": "null" (see the module doc).
_VALUELESS_NULLS = frozenset({"eqref", "i31ref", "structref", "arrayref", "nullref",
                              "nullfuncref", "nullexternref", "nullexnref"})  # fmt: skip
# Commands whose module is encoded (not text to reject).
_MODULE_COMMANDS = ("module", "module_definition", "assert_invalid", "assert_unlinkable",
                    "assert_uninstantiable")  # fmt: skip


def suite_dirs() -> list[tuple[str, Path, int]]:
    """(name, directory, text version) of the suites to check: wasm-2.0 and wasm-3.0 of the
    spec data folder (:func:`wasm2py.wast.wast.suite_path`)."""
    return [("wasm-2.0", wast.spec_dir("2.0"), 2), ("wasm-3.0", wast.spec_dir("3.0"), 3)]


@dataclass
class FileResult:
    """The outcome of one script."""

    file: str
    commands: int = 0
    modules: int = 0
    identical: int = 0
    equivalent: int = 0
    decoded: int = 0
    malformed_rejected: int = 0
    printed: int = 0
    reprinted: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _normalise(value):
    if isinstance(value, dict):
        out = {k: _normalise(v) for k, v in value.items() if k not in ("filename",
                                                                     "binary_filename")}
        if out.get("value") == "null" and out.get("type") in _VALUELESS_NULLS:
            del out["value"]
        return out
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _printed(data: bytes) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".wasm", delete=False) as f:
        f.write(data)
    try:
        proc = subprocess.run([wast.wasm_tools_path(), "print", f.name], capture_output=True,
                              text=True, check=False)  # fmt: skip
    finally:
        os.unlink(f.name)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip())
    return proc.stdout.splitlines()


_TYPE_DEF = re.compile(r"\s*\(type \(;\d+;\) \(func( .*)?\)\)$")
_FUNC_HEAD = re.compile(r"\s*\(func .*\(type [^)]*\)")


def differs_only_in_implicit_types(ours: bytes, theirs: bytes) -> bool:
    """True if the printed modules differ only in function type definitions and in which type
    function headers use."""
    a, b = _printed(ours), _printed(theirs)
    only_a = [line for line in a if line not in b]
    only_b = [line for line in b if line not in a]
    return all(_TYPE_DEF.match(x) or _FUNC_HEAD.match(x) for x in only_a + only_b)


def _printed_roundtrip(binary: bytes, version: int) -> str | None:
    """Parse ``wasm-tools print`` of a binary; compare with ``wasm-tools parse`` of the text."""
    try:
        text = "\n".join(_printed(binary))
    except RuntimeError:
        return None  # not printable (a malformed binary): nothing to compare
    proc = subprocess.run([wast.wasm_tools_path(), "parse", "-"], input=text.encode(),
                          capture_output=True, check=False)  # fmt: skip
    try:
        ours = wat2wasm(text, version=version)
    except ParseError as exc:
        return None if proc.returncode else f"ParseError {exc}"
    if proc.returncode:
        return "accepted text that wasm-tools rejects"
    return None if ours == proc.stdout else "the binary differs from wasm-tools'"


def _decoded(m) -> tuple:
    """A decoded module as plain data, without byte offsets, the name section and the data
    count section (present or not depending on the encoder)."""
    def ops(instrs):
        return tuple((i.op, i.imm) for i in instrs)

    return (m.types, m.imports, m.funcs, m.tables, m.memories,
            [(g.type, ops(g.init)) for g in m.globals], m.exports, m.start,
            [(e.mode, e.type, tuple(ops(i) for i in e.items), e.table,
              ops(e.offset or ())) for e in m.elems],
            [(d.mode, d.data, d.memory, ops(d.offset or ())) for d in m.datas],
            [(c.locals, ops(c.body)) for c in m.codes],
            [c for c in m.customs if c[0] != "name"])  # fmt: skip


def printer_roundtrip(binary: bytes) -> str | None:
    """``wasm2wat`` then ``wat2wasm``: the module must decode as before (None if so)."""
    from wasm2py.binary.decoder import decode_module
    from wasm2py.text import wasm2wat

    before = decode_module(binary)
    text = wasm2wat(binary)
    try:
        after = decode_module(wat2wasm(text))
    except Exception as exc:  # noqa: BLE001
        return f"re-parsing the printed text raised {exc!r}"
    if _decoded(after) != _decoded(before):
        return "the re-parsed module differs"
    unique = {k: v for k, v in before.names.functions.items()
              if list(before.names.functions.values()).count(v) == 1}
    if any(after.names.functions.get(k) != v for k, v in unique.items()):
        return "function names were not kept"
    return None


def check_file(path: Path, version: int, *, decode: bool = False,
               printed: bool = False) -> FileResult:
    """Compare wasm2py's reading of one script with wasm-tools'. With ``printed``, also parse
    ``wasm-tools print`` of every module (plain instructions, the printer's conventions) and
    compare with ``wasm-tools parse`` of that text (two processes per module: slow)."""
    start = time.perf_counter()
    result = FileResult(path.name)
    problems = result.problems
    commands, modules = read_script(path.read_bytes(), source=path.name, version=version)
    converted = wast.load_converted_script(path)
    reference = converted.commands
    result.commands = len(commands)
    if len(commands) != len(reference):
        problems.append(f"{len(commands)} commands, wasm-tools has {len(reference)}")
    for ours, theirs in zip(commands, reference, strict=False):
        line = ours.get("line")
        if _normalise(ours) != _normalise(theirs):
            problems.append(f"line {line}: command differs: {json.dumps(_normalise(ours))} "
                            f"vs {json.dumps(_normalise(theirs))}")
            continue
        filename = ours.get("filename")
        if filename is None:
            continue
        if ours["type"] == "assert_malformed" and ours["module_type"] == "text":
            try:
                modules.module_bytes(filename)
            except ParseError:
                result.malformed_rejected += 1
            else:
                problems.append(f"line {line}: malformed text accepted ({ours['text']!r})")
            continue
        if ours["type"] not in _MODULE_COMMANDS and ours["type"] != "assert_malformed":
            continue
        ref_name = theirs.get("binary_filename") or (
            theirs["filename"] if theirs.get("module_type") == "binary" else None)
        try:
            data = modules.module_bytes(filename)
        except ParseError as exc:
            problems.append(f"line {line}: ParseError {exc}")
            continue
        result.modules += 1
        if ref_name is not None:
            expected = converted.module_bytes(ref_name)
            if data == expected:
                result.identical += 1
            elif (path.name, line) in IMPLICIT_TYPE_DIFFERENCES and \
                    differs_only_in_implicit_types(data, expected):
                result.equivalent += 1
            else:
                problems.append(f"line {line}: the binary differs from wasm-tools' ({ref_name})")
        if printed and ref_name is not None:
            problem = _printed_roundtrip(converted.module_bytes(ref_name), version)
            if problem:
                problems.append(f"line {line}: printed: {problem}")
            else:
                result.printed += 1
        if decode and ours["type"] in ("module", "module_definition"):
            from wasm2py.binary.decoder import decode_module
            from wasm2py.validate.validator import validate_module

            try:
                validate_module(decode_module(data))
                result.decoded += 1
            except Exception as exc:  # noqa: BLE001
                problems.append(f"line {line}: decoding/validating raised {exc!r}")
            problem = printer_roundtrip(data)
            if problem:
                problems.append(f"line {line}: wasm2wat: {problem}")
            else:
                result.reprinted += 1
    result.seconds = time.perf_counter() - start
    return result


def format_table(title: str, results: list[FileResult]) -> str:
    keys = ("commands", "modules", "identical", "equivalent", "decoded", "malformed_rejected",
            "reprinted", "printed")
    totals = {k: sum(getattr(r, k) for r in results) for k in keys}
    bad = [r for r in results if r.problems]
    lines = [f"== {title}: {len(results)} scripts ==",
             "  " + "".join(f"{k:>19}" for k in keys),
             "  " + "".join(f"{totals[k]:>19}" for k in keys),
             f"scripts with problems: {len(bad)}"]  # fmt: skip
    for r in bad:
        lines += [f"  {r.file}: {p}" for p in r.problems[:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spectests.text_roundtrip",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", choices=("wasm-2.0", "wasm-3.0"))
    parser.add_argument("--printed", action="store_true",
                        help="also parse wasm-tools print of every module (slow)")
    parser.add_argument("files", nargs="*", help="script names (default: all)")
    args = parser.parse_args(argv)
    status = 0
    for name, directory, version in suite_dirs():
        if args.suite and name not in args.suite:
            continue
        paths = sorted(directory.glob("*.wast"))
        if args.files:
            wanted = {f if f.endswith(".wast") else f + ".wast" for f in args.files}
            paths = [p for p in paths if p.name in wanted]
        start = time.process_time()
        results = [check_file(p, version, decode=version == 2, printed=args.printed)
                   for p in paths]
        print(format_table(f"{name} (text version {version})", results))
        print(f"CPU time: {time.process_time() - start:.1f} s\n")
        status |= any(r.problems for r in results)
    return status


if __name__ == "__main__":
    sys.exit(main())
