"""Interpreters from Debian source packages (``tools/realworld``): Duktape's JavaScript
interpreter ``duk`` and TinyScheme, built to ``wasm32-wasi`` and natively. A short script in
each runs in both tiers and in ``tier="auto"`` (the big executors jitted at their first
call, other functions as they get hot, mid-run), and its output must be the native build's.

These programs are what the Python tier's translation has to take in stride: a bytecode
executor with a ``switch`` of a few hundred cases, a Scheme evaluator's big dispatch functions;
they are translated function by function as they run. The first run builds them (``apt-get
source`` and clang: a few minutes; cached in ``.cache/realworld``)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

import wasm2py
from tools.realworld import build as rw
from wasm2py.wasi import WasiConfig, run

JS = """\
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
var a = [], seed = 7;
for (var i = 0; i < 200; i++) { seed = (seed * 69069 + 1) % 4294967296; a.push(seed % 1000); }
a.sort(function (x, y) { return x - y; });
var o = {n: fib(12), first: a[0], last: a[199], s: "abc".toUpperCase() + [1, 2, 3].join("-")};
print(JSON.stringify(o));
print(a.slice(0, 8).map(function (x) { return x * 2; }).join(","), (1 / 3).toFixed(5));
"""

SCHEME = """\
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(define (count i acc) (if (= i 0) acc (count (- i 1) (+ acc i))))
(display (list (fib 12) (count 2000 0) (map (lambda (x) (* x x)) '(1 2 3))))
(newline)
(display (apply string-append (map symbol->string '(wasm two py))))
(newline)
"""

CASES = {"duk": ("script.js", JS), "tinyscheme": ("script.scm", SCHEME)}


@pytest.fixture(scope="module")
def built():
    if shutil.which("apt-get") is None:
        pytest.fail("building the programs needs a Debian system (apt-get source), see README")
    return {name: rw.build(name) for name in CASES}


def native(name: str, path: Path, cwd: Path) -> bytes:
    return subprocess.run([str(path), str(cwd / CASES[name][0])], capture_output=True,
                          check=True, cwd=cwd).stdout  # fmt: skip


def wasm(name: str, path: Path, cwd: Path, config: wasm2py.Config) -> bytes:
    engine = wasm2py.Engine(config)
    module = wasm2py.Module(engine, path.read_bytes())
    out = io.BytesIO()
    status = run(module, WasiConfig(argv=[name, CASES[name][0]], preopens={".": cwd},
                                    stdout=out, stderr=io.BytesIO()), wasm2py.Store(engine))  # fmt: skip
    assert status == 0
    return out.getvalue()


def _workdir(name: str, tmp_path: Path) -> Path:
    script, text = CASES[name]
    (tmp_path / script).write_text(text)
    if name == "tinyscheme":  # its prelude, read from the working directory
        shutil.copy(rw.fetch(rw.PROGRAMS[name].package) / "init.scm", tmp_path / "init.scm")
    return tmp_path


@pytest.mark.parametrize("tier", ["python", "llvm", "auto"])
@pytest.mark.parametrize("name", list(CASES))
def test_interpreters_match_their_native_build(built, name, tier, tmp_path):
    if tier != "python":
        pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    wasm_path, native_path = built[name]
    cwd = _workdir(name, tmp_path)
    expected = native(name, native_path, cwd)
    assert expected.count(b"\n") >= 2
    if tier == "auto":  # (a low threshold: units attach while the short script runs)
        config = wasm2py.Config(tier=tier, cache=False, tier_up_threshold=100)
    else:  # (the LLVM tier compiles the whole interpreter: unoptimised, to keep it short)
        config = wasm2py.Config(tier=tier, cache=False, llvm_opt_level=0)
    assert wasm(name, wasm_path, cwd, config) == expected


def _sql_rows(script: str) -> bytes:
    """What ``sqlite3 -batch`` prints for ``script``, from Python's own SQLite (another build
    of the library, through another driver): each row's columns joined with ``|``."""
    import sqlite3

    db, out, stmt = sqlite3.connect(":memory:"), [], ""
    for line in script.splitlines(keepends=True):
        stmt += line
        if sqlite3.complete_statement(stmt):
            for row in db.execute(stmt):
                out.append("|".join("" if v is None else str(v) for v in row))
            stmt = ""
    return "".join(f"{line}\n" for line in out).encode()


def _heavy_expected(label: str):
    """Lines the heavy workloads must print, worked out here rather than taken from a run."""
    import json

    if label == "heavy.lua":
        # fib(30); sum over i = 1..100000 of (7i - i)
        return [b"fib(30) =\t832040", b"gmatch sum:\t%d" % (6 * 100_000 * 100_001 // 2)]
    if label == "heavy.js":
        objs = [{"id": i, "name": f"n{i}", "tags": [i % 3, i % 5]} for i in range(3000)]
        return [b"fib(25) = 75025", b"regexp sum: %d" % (6 * 20_000 * 20_001 // 2),
                b"objects: %d" % sum((i % 17) ** 2 + (i % 29) ** 2 for i in range(30_000)),
                b"json: %d n2999" % len(json.dumps(objs, separators=(",", ":")))]  # fmt: skip
    if label == "heavy.scm":
        total = 59_999 * 60_000 // 2
        assert total < 2**31  # (TinyScheme's integers are 32-bit longs in wasm32)
        words = "the quick brown fox jumps over lazy dog end".split()
        tally = " ".join(f"({w} . {900 if w == 'the' else 300})" for w in words)
        return [b"fib(20) = 6765", b"tail calls: %d" % total, b"closure: 50001",
                f"tally: ({tally})".encode()]  # fmt: skip
    return None


@pytest.mark.parametrize("label", ["heavy.lua", "heavy.js", "heavy.scm", "in-memory SQL, heavy"])
def test_heavy_workloads_compute_what_they_say(label):
    """The compute-heavy workloads of ``tools/bench/tier_up_realworld.py --heavy``, run by the
    native builds, print what was worked out independently (the benchmark then checks the
    wasm runs against wasmtime's output)."""
    from tools.realworld.run import WORKLOADS, heavy_cases, run_native

    if shutil.which("apt-get") is None:
        pytest.fail("building the programs needs a Debian system (apt-get source), see README")
    case = next(c for c in heavy_cases() if c.label == label)
    rw.build(case.program)
    _, status, out, _ = run_native(case)
    assert status == 0
    expected = _heavy_expected(label)
    if expected is None:  # the SQL workload: as Python's SQLite runs it
        assert out == _sql_rows((WORKLOADS / "heavy.sql").read_text())
    else:
        lines = out.splitlines()
        for line in expected:
            assert line in lines
