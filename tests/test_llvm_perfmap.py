"""The perf map of jitted code (``wasm2py.llvm.perfmap``, ``WASM2PY_PERF_MAP``): each jitted
function's address and size, as ``perf`` reads them from ``/tmp/perf-<pid>.map``."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("llvmlite", reason="llvmlite is not installed (pip install 'wasm2py[test]')")

from wasm2py import Config, Engine, Instance, Module, Store  # noqa: E402
from wasm2py.llvm import perfmap  # noqa: E402

from .wat import wat  # noqa: E402

PROG = wat("""
(module
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    (block $out (loop $l
      (br_if $out (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (call $square (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1)))
""")


def _new_lines(path: str, start: int) -> dict[str, tuple[int, int]]:
    with open(path) as f:
        f.seek(start)
        out = {}
        for line in f:
            addr, size, name = line.split()
            out[name] = (int(addr, 16), int(size, 16))
        return out


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def test_nothing_is_written_without_the_variable(monkeypatch):
    monkeypatch.delenv("WASM2PY_PERF_MAP", raising=False)
    path = f"/tmp/perf-{os.getpid()}.map"
    before = _size(path)
    store = Store(Engine(Config(tier="llvm", cache=False)))
    assert Instance(store, Module(store.engine, PROG)).exports.sum(3) == 14
    assert _size(path) == before and not perfmap.enabled()


@pytest.mark.parametrize("tier", ["llvm", "auto"])
def test_the_map_names_each_jitted_function_at_its_address(monkeypatch, tier):
    """(With the map switched on.) The start of each wasm function in the map is the address its record holds (what
    jitted callers call), named after the name section; the code is no longer than the
    distance to the next function's start."""
    # (not the environment itself: workers are forked from a process that has this process's
    # environment, and a changed one makes later workers processes of their own)
    monkeypatch.setattr(perfmap, "enabled", lambda: True)
    path = f"/tmp/perf-{os.getpid()}.map"
    before = _size(path)
    store = Store(Engine(Config(tier=tier, cache=False, tier_up_threshold=10**9)))
    inst = Instance(store, Module(store.engine, PROG))
    if tier == "auto":
        tu = inst._tierup
        inst._attach_units(tu._compile([], shell=True))
        inst._add_unit(tu._compile([0, 1]))
    assert inst.exports.sum(3) == 1 + 4 + 9
    lines = _new_lines(path, before)
    records = inst._llvm.records
    for index, name in ((0, "square"), (1, "sum")):
        # (a unit's names carry its tag; an exported function's body is "<name>.body")
        base = f"wasm:{index}:{name}"
        (found,) = [v for k, v in lines.items()
                    if k == base or k.startswith(base + ".") and not k.endswith(".body")]
        assert found[0] == records[3 * index + 1] and found[1] > 0
    starts = sorted(a for a, _ in lines.values())
    for addr, size in lines.values():
        later = [s for s in starts if s > addr]
        assert not later or addr + size <= later[0]


def test_the_variable_switches_the_map_on(monkeypatch):
    # (no worker starts here, so the changed environment reaches none: see above)
    for value, on in (("1", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv("WASM2PY_PERF_MAP", value)
        assert perfmap.enabled() is on
    monkeypatch.delenv("WASM2PY_PERF_MAP")
    assert not perfmap.enabled()
