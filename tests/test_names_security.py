"""Hostile names: nothing from a binary is pasted into generated source unescaped.

Every module here carries one hostile string as its module name (name section), import module
and field name, function names (name section, both ``$id`` identifiers and ``(@name ...)``
annotations), parameter/local names, export-name prefix and data segment. For each string:

(a) the in-memory ``Module`` + ``Instance`` work and the exports (looked up by item) return the
    right values;
(b) ``wasm2py.compile`` writes a pure-ASCII ``.py`` that compiles; importing it in a fresh
    process and calling through ``instantiate()`` gives the same values, exits 0, creates no
    ``PWNED`` file and loads neither the decoder, the validator, the translator nor llvmlite;
(c) the generated file's top level is only imports of ``wasm2py.runtime``, the docstring,
    assignments of literals or runtime calls on literals, and ``def``s (no decorators or
    annotations), so importing it runs no code but definitions;
and the import hook loads a ``.wasm`` carrying it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import wasm2py
from tests.wat import wat

ROOT = Path(__file__).resolve().parent.parent

#: hostile strings, keyed by a safe identifier
EVIL: dict[str, str] = {
    "single_quote": "it's",
    "double_quote": 'say "hi"',
    "backslash": "back\\slash\\",
    "trailing_backslash": "ends with a backslash\\",
    "newlines": "line1\nline2\r\nline3\rend\n",
    "triple_double": 'a"""b',
    "triple_single": "a'''b",
    "hash": "# not a comment",
    "kw_class": "class",
    "kw_def": "def",
    "kw_import": "import",
    "kw_None": "None",
    "dunder_init": "__init__",
    "dunder_import": "__import__",
    "dunder_builtins": "__builtins__",
    "generated_names": "MAXD",
    "aot_alias": "_aot",
    "instantiate": "instantiate",
    "non_ascii": "\u00e9\u6f22\u5b57\U0001f600\u2028\u202e-rtl",
    "line_separator": "\u2028import os\u2029",
    "nul": "nul\x00byte\x00",
    "empty": "",
    "inject_call": '"); import os; os.system("touch PWNED") #',
    "inject_call_single": "'); import os; os.system('touch PWNED') #",
    "inject_newline": "\n__import__('os').system('touch PWNED')\n",
    "inject_docstring": '"""\nimport sys; sys.exit(3)\n"""',
    "inject_docstring_single": "'''\nimport sys; sys.exit(3)\n'''",
    "inject_docstring_expr": '""", __import__("os").system("touch PWNED"), """',
    "inject_fstring": "{__import__('os').system('touch PWNED')}",
    "inject_backslash_quote": "\\'); __import__('os').system('touch PWNED'); ('\\",
    "long_ascii": "A" * 100_000,
    "long_hostile": ("\"'\\\n#\u00e9\x00" * 15_000)[:100_000],
}

#: modules whose loading would mean the generated file pulled in the compiler
FORBIDDEN = ("wasm2py.binary.decoder", "wasm2py.validate", "wasm2py.translate", "wasm2py.llvm",
             "llvmlite")  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Keep the translation cache (and its key) out of the user's directories."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WASM2PY_CACHE_DIR", str(root / "cache"))
        mp.setenv("WASM2PY_CONFIG_DIR", str(root / "config"))
        yield


def ws(s: str) -> str:
    """A WAT string literal for ``s`` (every non-printable or special character escaped)."""
    out = []
    for c in s:
        if 32 <= ord(c) < 127 and c not in '"\\':
            out.append(c)
        else:
            out.append(f"\\u{{{ord(c):x}}}")
    return '"' + "".join(out) + '"'


# A hand-written encoder: wasm-tools refuses names over 100,000 bytes, the binary format does not.


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def vec(items) -> bytes:
    items = list(items)
    return leb(len(items)) + b"".join(items)


def name(s: str) -> bytes:
    b = s.encode()
    return leb(len(b)) + b


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + leb(len(payload)) + payload


def name_section(module: str | None, funcs: dict[int, str],
                 locals_: dict[int, dict[int, str]]) -> bytes:  # fmt: skip
    def namemap(m):
        return vec(leb(i) + name(v) for i, v in sorted(m.items()))

    subs = b""
    if module is not None:
        subs += section(0, name(module))
    subs += section(1, namemap(funcs))
    subs += section(2, vec(leb(f) + namemap(m) for f, m in sorted(locals_.items())))
    return section(0, name("name") + subs)


I32, FUNCREF = 0x7F, 0x70


def evil_module(n: str) -> bytes:
    """A module whose names (module, import, functions, params, locals, exports) are ``n``.

    Like ``(module (@name n) (import n n (func (@name n) (param i32) (result i32)))
    (memory (export n#memory)) (global (export n#global) (mut i32) (i32.const 5))
    (table (export n#table) 1 funcref) (elem (i32.const 0) func 2) (data (i32.const 0) n)
    (func 1 (@name n) (export n) (param $p:n i32) (local $l:n i32): imp(p) + 1)
    (func 2 (@name n) (export n#b): 7) (func 3 $id:n (export n#id): call_indirect 0 + 2)
    (func 4 $trap:n (export n#trap): unreachable))``.
    """
    data = n.encode()
    end = 0x0B
    types = vec([bytes([0x60, 1, I32, 1, I32]), bytes([0x60, 0, 1, I32])])
    imports = vec([name(n) + name(n) + b"\x00" + leb(0)])
    funcs = vec([leb(0), leb(1), leb(1), leb(1)])
    tables = vec([bytes([FUNCREF, 0x00, 1])])
    memories = vec([b"\x00" + leb(len(data) // 65536 + 1)])
    globals_ = vec([bytes([I32, 1, 0x41, 5, end])])
    exports = vec([name(n + "#memory") + b"\x02" + leb(0), name(n + "#global") + b"\x03" + leb(0),
                   name(n + "#table") + b"\x01" + leb(0), name(n) + b"\x00" + leb(1),
                   name(n + "#b") + b"\x00" + leb(2), name(n + "#id") + b"\x00" + leb(3),
                   name(n + "#trap") + b"\x00" + leb(4)])  # fmt: skip
    elems = vec([b"\x00" + bytes([0x41, 0, end]) + vec([leb(2)])])
    bodies = [
        vec([leb(1) + bytes([I32])])
        + bytes([0x20, 0, 0x10, 0, 0x21, 1, 0x20, 1, 0x41, 1, 0x6A, end]),
        vec([]) + bytes([0x41, 7, end]),
        vec([]) + bytes([0x41, 0, 0x11, 1, 0, 0x41, 2, 0x6A, end]),
        vec([]) + bytes([0x00, end]),
    ]
    code = vec(leb(len(b)) + b for b in bodies)
    datas = vec([b"\x00" + bytes([0x41, 0, end]) + leb(len(data)) + data])
    names = name_section(n, {0: n, 1: n, 2: n, 3: "id:" + n, 4: "trap:" + n},
                         {1: {0: "p:" + n, 1: "l:" + n}})  # fmt: skip
    return b"".join([b"\0asm\x01\0\0\0", section(1, types), section(2, imports),
                     section(3, funcs), section(4, tables), section(5, memories),
                     section(6, globals_), section(7, exports), section(9, elems),
                     section(10, code), section(11, datas), names])  # fmt: skip


def test_encoder_agrees_with_wasm_tools():
    """The hand-written encoder builds what the text format describes (checked for one name)."""
    n = 'q"\\\n\u00e9'
    text = f"""
(module (@name {ws(n)})
  (import {ws(n)} {ws(n)} (func $imp (@name {ws(n)}) (param i32) (result i32)))
  (table (export {ws(n + "#table")}) 1 funcref)
  (memory (export {ws(n + "#memory")}) 1)
  (global (export {ws(n + "#global")}) (mut i32) (i32.const 5))
  (export {ws(n)} (func $a))
  (export {ws(n + "#b")} (func $b))
  (export {ws(n + "#id")} (func ${ws("id:" + n)}))
  (export {ws(n + "#trap")} (func ${ws("trap:" + n)}))
  (elem (i32.const 0) func $b)
  (func $a (@name {ws(n)}) (param ${ws("p:" + n)} i32) (result i32) (local ${ws("l:" + n)} i32)
    local.get 0 call $imp local.set 1 local.get 1 i32.const 1 i32.add)
  (func $b (@name {ws(n)}) (result i32) i32.const 7)
  (func ${ws("id:" + n)} (result i32) i32.const 0 call_indirect (result i32) i32.const 2 i32.add)
  (func ${ws("trap:" + n)} (result i32) unreachable)
  (data (i32.const 0) {ws(n)}))
"""
    ours = wasm2py.Module(wasm2py.Engine(), evil_module(n))
    theirs = wasm2py.Module(wasm2py.Engine(), wat(text))
    assert ours.imports == theirs.imports
    assert sorted(map(repr, ours.exports)) == sorted(map(repr, theirs.exports))
    assert ours._module.names.functions == theirs._module.names.functions
    assert ours._module.names.module == theirs._module.names.module == n


# -- (a) in memory --------------------------------------------------------------------------


@pytest.mark.parametrize("key", EVIL)
def test_in_memory_module_and_instance(key):
    n = EVIL[key]
    store = wasm2py.Store()
    module = wasm2py.Module(store.engine, evil_module(n))
    assert [(i.module, i.name) for i in module.imports] == [(n, n)]
    assert [e.name for e in module.exports] == [n + "#memory", n + "#global", n + "#table", n,
                                                n + "#b", n + "#id", n + "#trap"]  # fmt: skip
    calls = []

    def host(x):
        calls.append(x)
        return x * 2

    instance = wasm2py.Instance(store, module, {n: {n: host}})
    ex = instance.exports
    assert ex[n](20) == 41
    assert calls == [20]
    assert ex[n + "#b"]() == 7
    assert ex[n + "#id"]() == 9
    assert ex[n + "#global"].value == 5
    data = n.encode()
    assert ex[n + "#memory"].read(0, len(data)) == data
    with pytest.raises(wasm2py.Trap) as info:
        ex[n + "#trap"]()
    assert "wasm backtrace" in str(info.value)


# -- (b) and (c): ahead of time -------------------------------------------------------------

#: run in a fresh interpreter, cwd = the directory of evilmod.py and name.json
CHILD = r"""
import json, os, sys
sys.path.insert(0, os.getcwd())
with open("name.json", encoding="ascii") as f:
    N = json.load(f)
base = set(sys.modules)
import evilmod as m
after_import = sorted(set(sys.modules) - base)
calls = []
def host(x):
    calls.append(x)
    return x * 2
inst = m.instantiate({N: {N: host}})
ex = inst.exports
out = {"after_import": after_import, "imports": m.IMPORTS, "exports": m.EXPORTS,
       "main": ex[N](20), "calls": calls, "b": ex[N + "#b"](), "id": ex[N + "#id"](),
       "global": ex[N + "#global"].value,
       "data": ex[N + "#memory"].read(0, len(N.encode())).decode("utf-8")}
try:
    ex[N + "#trap"]()
    out["trap"] = None
except Exception as e:
    out["trap"] = [type(e).__name__, "wasm backtrace" in str(e)]
out["after_calls"] = sorted(set(sys.modules) - base)
print(json.dumps(out))
"""


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONSTARTUP", None)
    return env


@pytest.fixture(scope="module")
def aot(tmp_path_factory):
    """Compile every hostile module and start all the importing processes at once (they run
    in parallel while the tests wait for them one by one)."""
    root = tmp_path_factory.mktemp("aot")
    runs: dict[str, object] = {}
    for key, n in EVIL.items():
        d = root / key
        d.mkdir()
        try:
            src = wasm2py.compile(evil_module(n), d / "evilmod.py")
        except Exception as e:  # reported by the test of this name
            runs[key] = e
            continue
        (d / "name.json").write_text(json.dumps(n), encoding="ascii")
        proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=d, env=child_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        runs[key] = (d, src, proc)
    yield runs
    for run in runs.values():
        if isinstance(run, tuple) and run[2].poll() is None:
            run[2].kill()
            run[2].wait()


def _get(aot, key):
    run = aot[key]
    if isinstance(run, Exception):
        raise run
    return run


def is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def assert_only_definitions(src: str) -> None:
    """The top level of a generated file: the docstring, imports from wasm2py.runtime,
    ``def``s, and assignments/expressions that are literals or calls of runtime names on
    literals (``__name__`` allowed as an argument)."""
    tree = ast.parse(src)
    runtime: set[str] = set()

    def runtime_call(v: ast.AST) -> bool:
        if not isinstance(v, ast.Call):
            return False
        f = v.func
        named = (isinstance(f, ast.Name) and f.id in runtime) or (
            isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
            and f.value.id in runtime)  # fmt: skip
        args = [*v.args, *(k.value for k in v.keywords)]
        return named and all(
            is_literal(a) or (isinstance(a, ast.Name) and a.id == "__name__") for a in args
        )

    defs = []
    for i, node in enumerate(tree.body):
        where = f"top-level statement {i} (line {node.lineno}): {ast.dump(node)[:300]}"
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            assert isinstance(node.value.value, str), where
            continue
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None, where
            assert f"{node.module}.".startswith("wasm2py.runtime."), where
            runtime.update(a.asname or a.name for a in node.names)
            continue
        if isinstance(node, ast.FunctionDef):
            a = node.args
            assert not node.decorator_list and node.returns is None, where
            every = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            assert all(x is None or x.annotation is None for x in every), where
            assert all(is_literal(x) for x in [*a.defaults, *a.kw_defaults] if x is not None), where
            assert node.name.isascii() and node.name.isidentifier(), where
            defs.append(node.name)
            continue
        if isinstance(node, ast.Expr):
            assert runtime_call(node.value), where
            continue
        if isinstance(node, ast.Assign):
            assert all(isinstance(t, ast.Name) for t in node.targets), where
            assert is_literal(node.value) or runtime_call(node.value), where
            continue
        raise AssertionError(f"unexpected {where}")
    assert len(defs) == len(set(defs)), "function names collide"
    assert "instantiate" in defs


@pytest.mark.parametrize("key", EVIL)
def test_generated_source_is_ascii_and_only_definitions(aot, key):
    _, src, _ = _get(aot, key)
    assert src.isascii()
    compile(src, "evilmod.py", "exec")
    assert_only_definitions(src)
    # functions are named f<index>_<[A-Za-z0-9_]>, one per wasm function
    names = re.findall(r"^def (\w+)\(", src, flags=re.M)
    assert all(re.fullmatch(r"f\d+(_[A-Za-z0-9_]*)?", x) for x in names if x != "instantiate")


@pytest.mark.parametrize("key", EVIL)
def test_import_generated_file_in_subprocess(aot, key):
    n = EVIL[key]
    d, src, proc = _get(aot, key)
    out, err = proc.communicate(timeout=120)
    assert not (d / "PWNED").exists(), "a name executed code"
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    r = json.loads(out)
    assert not [m for m in r["after_import"] if m.startswith(FORBIDDEN)], r["after_import"]
    assert not [m for m in r["after_calls"] if m.startswith(FORBIDDEN)], r["after_calls"]
    assert r["main"] == 41 and r["calls"] == [20]
    assert r["b"] == 7 and r["id"] == 9 and r["global"] == 5
    assert r["data"] == n
    assert r["trap"] == ["Trap", True]
    assert r["imports"] == [[n, n, "func", "[i32] -> [i32]"]]
    assert [e[0] for e in r["exports"]] == [n + "#memory", n + "#global", n + "#table", n,
                                            n + "#b", n + "#id", n + "#trap"]  # fmt: skip


def test_all_hostile_names_in_one_module(tmp_path):
    """Every (short) hostile string at once, as exports and name-section names of one module,
    written in the text format (``(@name ...)`` annotations and ``$"..."`` identifiers); the
    sanitised Python names must stay distinct."""
    names = [n for n in EVIL.values() if len(n) < 1000]
    funcs = []
    for i, n in enumerate(names):
        label = f"(@name {ws(n)})" if i % 2 else f"${ws(n + '#' + str(i))}"
        funcs.append(f"(func {label} (export {ws(n + '#' + str(i))}) (result i32) i32.const {i})")
    b = wat("(module\n" + "\n".join(funcs) + ")")
    src = wasm2py.compile(b, tmp_path / "allnames.py")
    assert src.isascii()
    assert_only_definitions(src)
    spec = importlib.util.spec_from_file_location("allnames", tmp_path / "allnames.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ex = mod.instantiate().exports
    for i, n in enumerate(names):
        assert ex[f"{n}#{i}"]() == i
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


# -- the name of the .wasm file is not pasted either ---------------------------------------

HOSTILE_FILE_NAMES = [
    'a""", __import__("os").system("touch PWNED"), """b',
    "a''', __import__('os').system('touch PWNED'), '''b",
    "x\\",
]


@pytest.mark.parametrize("name", HOSTILE_FILE_NAMES)
def test_hostile_source_name(tmp_path, name):
    """``wasm2py.compile(path)`` names the file after the .wasm; a hostile file name (or
    ``name=``) must not change the meaning of the generated code."""
    wasm = tmp_path / (name + ".wasm")
    wasm.write_bytes(evil_module("ok"))
    out = tmp_path / "named.py"
    src = wasm2py.compile(wasm, out)
    assert src.isascii()
    assert_only_definitions(src)
    assert wasm2py.compile(evil_module("ok"), name=name + ".wasm") == src
    code = ("import sys; sys.path.insert(0, '.'); import named; "
            "print(named.instantiate({'ok': {'ok': lambda x: x}}).exports['ok#b']())")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=child_env(),
                       capture_output=True, timeout=60)  # fmt: skip
    assert not (tmp_path / "PWNED").exists(), "the file name executed code"
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert p.stdout.strip() == b"7"


# -- the import hook ------------------------------------------------------------------------


@pytest.fixture
def hook_dir(tmp_path):
    import wasm2py.hook as hook

    installed = hook._FINDER in sys.meta_path
    hook.install_import_hook()
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for m in set(sys.modules) - before:
            if m.startswith("hooked_"):
                del sys.modules[m]
        if not installed:
            hook.uninstall_import_hook()


@pytest.mark.parametrize("key", EVIL)
def test_import_hook(hook_dir, key):
    n = EVIL[key]
    (hook_dir / f"hooked_{key}.wasm").write_bytes(evil_module(n))
    importlib.invalidate_caches()
    mod = importlib.import_module(f"hooked_{key}")
    assert [tuple(x[:2]) for x in mod.IMPORTS] == [(n, n)]
    assert [x[0] for x in mod.EXPORTS] == [n + "#memory", n + "#global", n + "#table", n,
                                           n + "#b", n + "#id", n + "#trap"]  # fmt: skip
    ex = mod.instantiate({n: {n: lambda x: x * 3}}).exports
    assert ex[n](5) == 16
    assert ex[n + "#id"]() == 9
    assert not (hook_dir / "PWNED").exists()
    assert not Path("PWNED").exists()


# -- a file from another wasm2py ------------------------------------------------------------

CHECK_LINE = re.compile(r"^_aot\.check_format\((\d+), ('[^']*'), __name__\)$", re.M)


@pytest.mark.parametrize("change", ["version", "format"])
def test_generated_file_from_another_version_fails_at_import(tmp_path, change):
    src = wasm2py.compile(evil_module("ok"))
    match = CHECK_LINE.search(src)
    assert match, "no _aot.check_format(<format>, <version>, __name__) line"
    fmt, version = int(match.group(1)), match.group(2)
    if change == "version":
        line = f"_aot.check_format({fmt}, '0.0.0-old', __name__)"
    else:
        line = f"_aot.check_format({fmt + 1}, {version}, __name__)"
    path = tmp_path / "stale.py"
    path.write_text(src[: match.start()] + line + src[match.end() :], encoding="ascii")
    spec = importlib.util.spec_from_file_location("stale", path)
    mod = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError) as info:
        spec.loader.exec_module(mod)
    msg = str(info.value)
    assert "wasm2py" in msg and "regenerate" in msg
    if change == "version":
        assert "0.0.0-old" in msg and wasm2py.__version__ in msg
    # the unmodified file imports
    good = tmp_path / "fresh.py"
    good.write_text(src, encoding="ascii")
    spec = importlib.util.spec_from_file_location("fresh", good)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
