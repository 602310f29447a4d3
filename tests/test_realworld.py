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
