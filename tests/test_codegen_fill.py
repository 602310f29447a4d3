"""A counted loop that only stores zeros at consecutive addresses (a C ``memset``) fills the
bytes with one slice assignment (:func:`wasm2py.translate.peephole.fill_loops`); the memory's
contents, the counter left after the loop and the trap of a fill that runs past the end of
memory (after the stores before it) are those of the wasm definition, worked out by hand."""

from __future__ import annotations

import pytest

import wasm2py

from .test_codegen_masks import _source
from .wat import wat

# clear(from, to): for (p = from; p != to; p += 8) *(u64 *)(p + 16) = 0; returns p.
# One page (65536 bytes): p + 16 + 8 <= 65536, i.e. p <= 65512, is in bounds.
CLEAR = """(module (memory (export "mem") 1)
  (func $clear (export "clear") (param $p i32) (param $to i32) (result i32)
    (block
      (br_if 0 (i32.eq (local.get $p) (local.get $to)))
      (loop
        (i64.store offset=16 (local.get $p) (i64.const 0))
        (br_if 0 (i32.ne (local.get $to)
                         (local.tee $p (i32.add (local.get $p) (i32.const 8)))))))
    (local.get $p))
  (func (export "fill") (param $a i32) (param $n i32)
    (memory.fill (local.get $a) (i32.const 0xab) (local.get $n))))"""


def _inst():
    inst = wasm2py.Instance(wasm2py.Store(), wasm2py.Module(wat(CLEAR)), {})
    return inst.exports.clear, inst.exports.fill, inst.exports.mem


def test_the_fill_loop_is_a_slice_assignment():
    src = _source(CLEAR, "clear")
    assert "bytes(len(fz) * 8)" in src, src


@pytest.mark.parametrize(("start", "stop"), [(0, 800), (8, 16), (0, 65512 - 16), (1000, 1000 + 8 * 100)])
def test_fill_clears_exactly_the_bytes_stored(start, stop):
    clear, fill, mem = _inst()
    fill(0, 65536)
    assert clear(start, stop) == stop  # the counter as the loop leaves it
    data = mem.read(0, 65536)
    lo, hi = start + 16, stop + 16  # the stores cover [start + 16, stop + 16)
    assert data[:lo] == b"\xab" * lo
    assert data[lo:hi] == bytes(hi - lo)
    assert data[hi:] == b"\xab" * (65536 - hi)


def test_the_last_word_in_bounds():
    clear, fill, mem = _inst()
    fill(0, 65536)
    # p = 64712, 64720, ..., 65512: the last store covers bytes 65528..65535, the memory's last
    assert clear(64712, 65520) == 65520
    assert mem.read(64728, 65536) == bytes(65536 - 64728)
    assert mem.read(64720, 64728) == b"\xab" * 8


def test_a_fill_past_the_end_traps_after_the_stores_before_it():
    clear, fill, mem = _inst()
    fill(0, 65536)
    with pytest.raises(wasm2py.Trap) as e:
        clear(65000, 66000)  # the store at p = 65520 (bytes 65536..65543) is out of bounds
    assert e.value.code == wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    assert mem.read(65016, 65536) == bytes(65536 - 65016)  # the stores before it are done
    assert mem.read(65008, 65016) == b"\xab" * 8
