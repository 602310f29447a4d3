"""Linear memories under resource limits.

A memory reserves its maximum as address space only (no access, so it does not count toward
``RLIMIT_DATA``) and makes pages accessible as it grows, so many memories can grow side by side
under a data limit and ``memory.grow`` fails (-1) only when the limit is really reached. When
not even the address space can be reserved, a smaller reservation is used and a memory that
outgrows it moves: both tiers must then follow the new base address, even in the middle of a
running function.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from wasm2py import Caller, Config, Engine, Instance, Module, Store
from wasm2py.runtime import memory as memory_mod

from .wat import wat

TIERS = ("python", "llvm")

GROWER = wat("""
(module
  (memory (export "mem") 1)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "peek") (param i32) (result i32) local.get 0 i32.load))
""")


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


@pytest.mark.parametrize("tier", TIERS)
def test_many_memories_grow_under_a_lowered_data_limit(tier):
    # RLIMIT_DATA of 2 GiB: each memory without a maximum reserves 4 GiB of address space, so
    # eight of them used to exhaust the limit by reservations alone (memory.grow returned -1).
    proc = _child(f"""
        import resource
        limit = 2 << 30
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        import wasm2py
        from tests.wat import wat
        from tests.test_memory_limits import GROWER

        engine = wasm2py.Engine(wasm2py.Config(tier={tier!r}))
        store = wasm2py.Store(engine)
        module = wasm2py.Module(engine, GROWER)
        mems = [wasm2py.Instance(store, module).exports for _ in range(8)]
        for k, ex in enumerate(mems):
            assert ex.grow(160) == 1, k              # +10 MiB each
            ex.poke(161 * 65536 - 4, 1000 + k)       # the last word of the grown memory
        for k, ex in enumerate(mems):
            assert ex.peek(161 * 65536 - 4) == 1000 + k
        # asking for more than the limit allows fails cleanly, and nothing else is harmed
        assert mems[0].grow(40000) == -1              # 2.5 GiB
        assert mems[0].size() == 161
        assert [ex.grow(16) for ex in mems] == [161] * 8
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


@pytest.fixture
def small_address_space(monkeypatch):
    """A memory's first reservation gets at most 4 pages, later ones (when it moves) at most
    twice what they got before, and none can be extended in place: a memory growing past its
    reservation has to move."""
    real = memory_mod._Mapping.reserve.__func__
    cap = [4 * 65536]

    def reserve(cls, size, hint=None):
        if hint is not None or size > cap[0]:
            return None
        cap[0] = 2 * size
        return real(cls, size, hint)

    monkeypatch.setattr(memory_mod._Mapping, "reserve", classmethod(reserve))


MOVER = wat("""
(module
  (import "env" "host_grow" (func $host_grow (param i32) (result i32)))
  (memory (export "mem") 1)
  ;; writes, grows (the memory moves), then reads what it wrote and writes past the old end
  (func (export "grow_inside") (param $pages i32) (result i32)
    (i32.store (i32.const 100) (i32.const 0x11223344))
    (drop (memory.grow (local.get $pages)))
    (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))
               (i32.const 0x55667788))
    (i32.load (i32.const 100)))
  ;; the same, the growth done by a host function
  (func (export "host_inside") (param $pages i32) (result i32)
    (i32.store (i32.const 200) (i32.const 0x01020304))
    (drop (call $host_grow (local.get $pages)))
    (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 8))
               (i32.const 0x0a0b0c0d))
    (i32.load (i32.const 200))))
""")


@pytest.mark.parametrize("tier", TIERS)
def test_a_memory_that_must_move_to_grow_keeps_its_contents_in_both_tiers(
        tier, small_address_space):  # fmt: skip
    engine = Engine(Config(tier=tier))

    def host_grow(caller: Caller, pages: int) -> int:
        return caller.memory.grow(pages)

    ex = Instance(Store(engine), Module(engine, MOVER), {"env": {"host_grow": host_grow}}).exports
    mem = ex.mem
    base = mem.buffer  # a view from before any move
    mem.write(b"kept", 60_000)
    address = mem.__array_interface__["data"][0]
    assert ex.grow_inside(2) == 0x11223344  # 3 pages: still inside the reservation
    assert mem.__array_interface__["data"][0] == address
    assert ex.grow_inside(5) == 0x11223344  # 8 pages: moved (reservation of 8)
    assert mem.__array_interface__["data"][0] != address
    assert mem.size == 8
    assert mem.read(60_000, 60_004) == b"kept"
    assert mem.read(8 * 65536 - 4) == (0x55667788).to_bytes(4, "little")
    assert ex.host_inside(8) == 0x01020304  # 16 pages: moved again, by the host (of 16)
    assert mem.size == 16
    assert mem.read(16 * 65536 - 8, 16 * 65536 - 4) == (0x0a0b0c0d).to_bytes(4, "little")
    assert mem.read(60_000, 60_004) == b"kept"
    assert bytes(base[60_000:60_004]) == b"kept"  # an old view still reads (old) bytes safely


def test_memories_are_unmapped_when_unused():
    import gc
    import weakref

    engine = Engine()
    ex = Instance(Store(engine), Module(engine, GROWER)).exports
    mapping = weakref.ref(ex.mem._rt._map)
    view = ex.mem.buffer
    del ex
    gc.collect()
    assert mapping() is not None  # a view of it is still held
    del view
    gc.collect()
    assert mapping() is None
