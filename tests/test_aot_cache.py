"""Ahead-of-time modules, the on-disk translation cache and the import hook."""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
from pathlib import Path

import pytest

import wasm2py
from wasm2py import cache

from .wat import wat

ROOT = Path(__file__).resolve().parent.parent
DEMO = (ROOT / "examples" / "demo.wasm").read_bytes()

NAN_AND_TABLES = wat("""
(module
  (type $t (func (param i32) (result i32)))
  (table 2 funcref) (elem (i32.const 0) $dbl $sq)
  (global $g (mut i64) (i64.const -5))
  (memory 1) (data (i32.const 3) "\\01\\02")
  (func $dbl (type $t) local.get 0 i32.const 2 i32.mul)
  (func $sq (type $t) local.get 0 local.get 0 i32.mul)
  (func (export "pick") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $t))
  (func (export "nan") (result f64) f64.const nan:0x4000000000001)
  (func (export "g") (result i64) global.get $g)
  (func (export "byte") (result i32) i32.const 4 i32.load8_u))
""")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WASM2PY_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "cache"


def _import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wasm_digest_is_sha256_remembered_only_for_immutable_bytes():
    import hashlib

    data = bytes(range(256)) * 3
    assert cache.wasm_digest(data) == hashlib.sha256(data).digest()
    assert cache.wasm_digest(data) == hashlib.sha256(data).digest()  # (remembered)
    other = b"\x00asm\x01\x00\x00\x00"
    assert cache.wasm_digest(other) == hashlib.sha256(other).digest()
    buf = bytearray(data)
    assert cache.wasm_digest(buf) == hashlib.sha256(data).digest()
    buf[0] ^= 1  # a mutable buffer changed in place gets the digest of its new contents
    assert cache.wasm_digest(buf) == hashlib.sha256(bytes(buf)).digest()
    assert cache.wasm_digest(buf) != hashlib.sha256(data).digest()


def test_aot_module_behaves_like_the_in_memory_one(tmp_path):
    out = tmp_path / "nt.py"
    wasm2py.compile(NAN_AND_TABLES, out, name="nt.wasm")
    aot = _import_file(out, "nt_aot")
    inst = aot.instantiate()
    live = wasm2py.Instance(wasm2py.Store(), wasm2py.Module(NAN_AND_TABLES), {})
    for ex in (inst.exports, live.exports):
        assert ex.pick(0, 21) == 42 and ex.pick(1, 9) == 81
        assert wasm2py.f64_to_bits(ex.nan()) == 0x7FF4000000000001
        assert ex.g() == -5 and ex.byte() == 2
    with pytest.raises(wasm2py.Trap) as e:
        inst.exports.pick(5, 1)
    assert e.value.code is wasm2py.TrapCode.TABLE_OUT_OF_BOUNDS
    # two instances do not share state
    assert aot.instantiate(max_call_depth=50).exports.g() == -5


def test_aot_file_is_readable_and_self_describing(tmp_path):
    text = wasm2py.compile(DEMO, name="demo.wasm")
    assert text.isascii()
    assert "def f2_fib(l0, d):" in text
    assert "wasm function 2 'fib': [i32] -> [i32]" in text
    assert "# @0x" in text  # offsets tie the code to the wasm
    assert "from wasm2py.runtime import aot as _aot" in text
    out = tmp_path / "demo_aot.py"
    out.write_text(text)
    mod = _import_file(out, "demo_aot_mod")
    assert ("env", "log", "func", "[i32] -> []") in mod.IMPORTS
    assert ("fib", "func", "[i32] -> [i32]") in mod.EXPORTS
    seen = []
    inst = mod.instantiate({"env": {"log": seen.append}})
    assert inst.exports.fib(15) == 610
    assert inst.exports.checksum(16, 16) == 1473 and seen == [1473]


def test_aot_pauses_resume(tmp_path):
    """checksum logs its result, then returns it: paused at the log, resumed, it returns what
    the in-memory module returns (1473, test_aot_file_is_readable_and_self_describing)."""
    out = tmp_path / "demo_pause.py"
    wasm2py.compile(DEMO, out)
    mod = _import_file(out, "demo_pause_mod")

    def log(v):
        raise RuntimeError("stop")

    inst = mod.instantiate({"env": {"log": log}})
    paused = inst.exports.checksum.call_resumable(16, 16)
    assert isinstance(paused, wasm2py.HostTrap)
    assert paused.resume().results == 1473


def test_aot_resume_entries_only_where_a_frame_can_pause(tmp_path):
    """Without fuel only calls pause: NAN_AND_TABLES' $dbl, $sq, nan, g and byte call nothing
    and get no resume entry, pick (call_indirect) gets one; ``resumable=False`` leaves them all
    out, and resuming a paused call of such a file says why it cannot."""
    from wasm2py.runtime.resumable import resume_name

    src = wasm2py.compile(NAN_AND_TABLES)
    assert [i for i in range(5) if resume_name(i) + "(" in src] == [2]
    out = tmp_path / "demo_no_resume.py"
    wasm2py.compile(DEMO, out, resumable=False)
    assert "__resume(" not in out.read_text()
    mod = _import_file(out, "demo_no_resume_mod")

    def log(v):
        raise RuntimeError("stop")

    paused = mod.instantiate({"env": {"log": log}}).exports.checksum.call_resumable(16, 16)
    assert isinstance(paused, wasm2py.HostTrap)
    with pytest.raises(wasm2py.Error, match="--no-resume"):
        paused.resume()


def test_aot_metered_module_pauses_for_fuel_and_resumes(tmp_path):
    """``compile(fuel=True)``: fib(15) from fuel 0, resumed with 5 more at every pause, uses
    exactly the fuel of the in-memory module's plain run and returns 610."""
    out = tmp_path / "demo_fuel.py"
    wasm2py.compile(DEMO, out, fuel=True)
    mod = _import_file(out, "demo_fuel_mod")
    with pytest.raises(ValueError, match="fuel"):
        mod.instantiate({"env": {"log": print}}, consume_fuel=False)
    inst = mod.instantiate({"env": {"log": print}})
    store = inst.store
    engine = wasm2py.Engine(wasm2py.Config(consume_fuel=True))
    ref_store = wasm2py.Store(engine)
    ref = wasm2py.Instance(ref_store, wasm2py.Module(engine, DEMO), {"env": {"log": print}})
    ref_store.set_fuel(10**9)
    assert ref.exports.fib(15) == 610
    plain = 10**9 - ref_store.get_fuel()
    store.set_fuel(0)
    r = inst.exports.fib.call_resumable(15)
    added = pauses = 0
    while isinstance(r, wasm2py.OutOfFuel):
        pauses += 1
        store.set_fuel(store.get_fuel() + 5)
        added += 5
        r = r.resume()
    assert r.results == 610 and pauses > 100
    assert added - store.get_fuel() == plain


def _no_translation(monkeypatch):
    """Make translating a function fail (so a test sees what came from the cache)."""
    from wasm2py.translate import module as tm

    def refuse(*args, **kw):
        raise AssertionError("translated again")

    monkeypatch.setattr(tm, "compile_function", refuse)


def _no_validation(monkeypatch):
    from wasm2py.validate import validator

    def refuse(*args, **kw):
        raise AssertionError("validated again")

    monkeypatch.setattr(validator, "validate_module", refuse)


def test_cache_keeps_what_earlier_runs_translated(isolated_cache, monkeypatch):
    first = wasm2py.Module(wasm2py.Engine(), DEMO)
    assert not list(isolated_cache.glob("*.w2pf"))  # nothing translated yet
    inst = wasm2py.Instance(wasm2py.Store(), first, {"env": {"log": lambda v: None}})
    assert inst.exports.fib(10) == 55
    (log,) = isolated_cache.glob("*.w2pf")
    fib = next(e.index for e in first._module.exports if e.name == "fib")
    assert set(cache.FunctionLog(log.stem).read()) == {fib}  # only what ran
    # a new engine (no memory cache), as in a later run: neither validated nor translated again
    with monkeypatch.context() as mp:
        _no_translation(mp)
        _no_validation(mp)
        second = wasm2py.Module(wasm2py.Engine(), DEMO)
        assert second._code is not first._code
        inst = wasm2py.Instance(wasm2py.Store(), second, {"env": {"log": lambda v: None}})
        assert inst.exports.fib(12) == 144
        with pytest.raises(AssertionError, match="translated again"):
            inst.exports.add(1, 2)  # never translated before
    # options that change the generated code get their own log
    fuel = wasm2py.Engine(wasm2py.Config(consume_fuel=True))
    store = wasm2py.Store(fuel)
    store.set_fuel(10_000)
    inst = wasm2py.Instance(store, wasm2py.Module(fuel, DEMO), {"env": {"log": lambda v: None}})
    assert inst.exports.fib(5) == 5
    assert len(list(isolated_cache.glob("*.w2pf"))) == 2
    assert cache.info()["entries"] == 3  # two logs and the validated mark
    assert cache.clear() == 3


def test_functions_translated_later_are_appended(isolated_cache):
    for name, args in (("fib", (7,)), ("add", (1, 2))):
        m = wasm2py.Module(wasm2py.Engine(), DEMO)
        inst = wasm2py.Instance(wasm2py.Store(), m, {"env": {"log": lambda v: None}})
        inst.exports[name](*args)
    (log,) = isolated_cache.glob("*.w2pf")
    indexes = {e.name: e.index for e in m._module.exports}
    assert set(cache.FunctionLog(log.stem).read()) == {indexes["fib"], indexes["add"]}


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_damaged_entries_are_rebuilt_never_executed(isolated_cache, damage):
    m = wasm2py.Module(wasm2py.Engine(), DEMO)
    wasm2py.Instance(wasm2py.Store(), m, {"env": {"log": lambda v: None}}).exports.fib(3)
    (log,) = isolated_cache.glob("*.w2pf")
    (mark,) = isolated_cache.glob("*.w2p")
    for entry in (log, mark):
        blob = entry.read_bytes()
        if damage == "truncate":
            entry.write_bytes(blob[: len(blob) // 2])
        elif damage == "flip":
            entry.write_bytes(blob[:-10] + bytes([blob[-10] ^ 1]) + blob[-9:])
        elif entry is log:
            # a well-formed record without the right key: code that would raise if ever run
            import marshal

            evil = compile("raise SystemExit('tampered code ran')", "x", "exec")
            payload = marshal.dumps((evil, {}))
            fib = next(e.index for e in m._module.exports if e.name == "fib")
            head = b"W2F1" + fib.to_bytes(4, "little") + len(payload).to_bytes(4, "little")
            entry.write_bytes(head + b"\0" * 32 + payload)
        else:
            entry.write_bytes(b"W2PYVALID1\n" + b"\0" * 32 + entry.stem.encode())
    module = wasm2py.Module(wasm2py.Engine(), DEMO)
    inst = wasm2py.Instance(wasm2py.Store(), module, {"env": {"log": lambda v: None}})
    assert inst.exports.fib(12) == 144
    # the damaged entries were replaced by good ones
    assert cache.is_validated(DEMO)
    assert len(cache.FunctionLog(log.stem).read()) == 1


def test_an_invalid_module_is_never_marked_valid(isolated_cache):
    bad = wat("(module (func (result i32) i32.const 1 i32.const 2))")
    for _ in range(2):
        with pytest.raises(wasm2py.ValidationError):
            wasm2py.Module(wasm2py.Engine(), bad)
    assert not cache.is_validated(bad)


def _compile_in_child(args):
    cache_dir, config_dir = args
    import os

    os.environ["WASM2PY_CACHE_DIR"] = cache_dir
    os.environ["WASM2PY_CONFIG_DIR"] = config_dir
    import wasm2py as w

    m = w.Module(w.Engine(), DEMO)
    inst = w.Instance(w.Store(), m, {"env": {"log": lambda v: None}})
    return inst.exports.fib(11), inst.exports.add(2, 3)


def test_concurrent_writers_leave_a_valid_entry(isolated_cache, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_compile_in_child,
                           [(str(isolated_cache), str(tmp_path / "config"))] * 4)  # fmt: skip
    assert results == [(89, 5)] * 4
    (log,) = isolated_cache.glob("*.w2pf")
    records = log.read_bytes()
    assert len(cache.FunctionLog(log.stem).read()) == 2
    assert log.read_bytes() == records  # every record was whole: nothing to repair
    assert cache.is_validated(DEMO)
    assert not list(isolated_cache.glob(".tmp*"))


def test_import_hook_loads_wasm_from_sys_path(tmp_path, monkeypatch, isolated_cache):
    (tmp_path / "hooked_demo.wasm").write_bytes(DEMO)
    monkeypatch.syspath_prepend(str(tmp_path))
    wasm2py.install_import_hook()
    try:
        import hooked_demo  # type: ignore[import-not-found]

        assert ("fib", wasm2py.FuncType([wasm2py.i32], [wasm2py.i32])) in hooked_demo.EXPORTS
        inst = hooked_demo.instantiate({"env": {"log": lambda v: None}})
        assert inst.exports.fib(9) == 34
        # nothing is instantiated at import time; each call gives a new instance
        assert hooked_demo.instantiate({"env": {"log": print}}) is not inst
    finally:
        wasm2py.uninstall_import_hook()
        sys.modules.pop("hooked_demo", None)


def test_writes_list_the_cache_directory_only_when_the_cap_may_be_passed(tmp_path, monkeypatch):
    # A cold run writes an entry per function or unit: listing a big cache directory at each
    # write cost more than the write. The process counts what it writes instead, and the cap
    # still holds after every write.
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("WASM2PY_CACHE_MAX_BYTES", raising=False)
    listings = []
    real = cache._files
    monkeypatch.setattr(cache, "_files", lambda: listings.append(1) or real())

    def size() -> int:
        return sum(f.stat().st_size for f in tmp_path.glob("*.w2p"))

    for i in range(50):
        cache._store_tagged(tmp_path / f"e{i}.w2p", b"TEST", bytes(1000))
    assert len(listings) == 1  # the first write only: 50 KB is far below the 1 GiB cap
    one = size() // 50
    monkeypatch.setenv("WASM2PY_CACHE_MAX_BYTES", str(60 * one))
    for i in range(50, 100):
        cache._store_tagged(tmp_path / f"e{i}.w2p", b"TEST", bytes(1000))
        assert size() <= 60 * one
    assert (tmp_path / "e99.w2p").exists() and not (tmp_path / "e0.w2p").exists()
    # listed when the running total passed the cap, not at each write: the first trim
    # leaves room for 6 writes (down to 90% of the cap)
    assert 1 < len(listings) < 20
