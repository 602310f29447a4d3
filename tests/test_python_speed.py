"""The Python tier's faster paths (issue 20): byte accesses through the memory view, inlined
rotations, branch structures without the ``brk`` flag, and the per-signature export entry.
Expected values are worked out by hand from the spec's definitions."""

from __future__ import annotations

import pytest

import wasm2py

from .wat import wat


def _exports(text: str, **config):
    engine = wasm2py.Engine(wasm2py.Config(**config))
    store = wasm2py.Store(engine)
    if config.get("consume_fuel"):
        store.set_fuel(10_000)
    return store, wasm2py.Instance(store, wasm2py.Module(engine, wat(text)), {}).exports


BYTES = """(module (memory 1)
  (func (export "st8") (param i32 i32) (i32.store8 offset=1 (local.get 0) (local.get 1)))
  (func (export "ld8u") (param i32) (result i32) (i32.load8_u offset=1 (local.get 0)))
  (func (export "ld8s") (param i32) (result i32) (i32.load8_s offset=1 (local.get 0)))
  (func (export "ld8s64") (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func (export "both_trap") (param i32)
    (i32.store8 (i32.load (local.get 0)) (i32.div_u (i32.const 1) (i32.const 0)))))"""


@pytest.mark.parametrize("fuel", [False, True])
def test_byte_loads_and_stores(fuel):
    _, ex = _exports(BYTES, consume_fuel=fuel)
    ex.st8(10, 0x1FF)  # stores the low byte, 0xFF, at 11
    assert ex.ld8u(10) == 0xFF
    assert ex.ld8s(10) == -1
    assert ex.ld8s64(11) == -1
    assert ex.ld8u(9) == 0
    ex.st8(65534, 0x80)  # the last byte
    assert ex.ld8s(65534) == -128
    for f, args in ((ex.st8, (65535, 1)), (ex.ld8u, (65535,)), (ex.ld8s, (0xFFFFFFFF,)),
                    (ex.ld8s64, (65536,))):  # fmt: skip
        with pytest.raises(wasm2py.Trap) as e:
            f(*args)
        assert e.value.code is wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    # the address's load traps before the value's division is reached
    with pytest.raises(wasm2py.Trap) as e:
        ex.both_trap(65535)
    assert e.value.code is wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS


def test_rotations_by_a_constant():
    _, ex = _exports("""(module
      (func (export "rotl32") (param i32) (result i32) (i32.rotl (local.get 0) (i32.const 36)))
      (func (export "rotr32") (param i32) (result i32)
        (i32.rotr (i32.add (local.get 0) (i32.const 1)) (i32.const 8)))
      (func (export "rotl64") (param i64) (result i64) (i64.rotl (local.get 0) (i64.const 1)))
      (func (export "rotr0") (param i64) (result i64) (i64.rotr (local.get 0) (i64.const 64))))""")
    assert ex.rotl32(0x80000001) == 0x18  # rotl by 36 = rotl by 4
    assert ex.rotr32(0xFFFFFFFF) == 0  # 0xFFFFFFFF + 1 wraps to 0
    assert ex.rotr32(0x122) == 0x23000001
    assert ex.rotl64(-0x8000000000000000) == 1
    assert ex.rotr0(-5) == -5


SKIPS = """(module
  (func (export "f") (param i32 i32) (result i32) (local i32)
    (block $b
      (br_if $b (i32.eqz (local.get 0)))
      (local.set 2 (i32.const 10))
      (block $c
        (br_if $b (i32.eq (local.get 1) (i32.const 1)))
        (local.set 2 (i32.add (local.get 2) (i32.const 5)))
        (br_if $c (i32.eq (local.get 1) (i32.const 2)))
        (local.set 2 (i32.add (local.get 2) (i32.const 100))))
      (local.set 2 (i32.add (local.get 2) (i32.const 1000))))
    (local.get 2))
  (func (export "v") (param i32) (result i32)
    (block $b (result i32) (br_if $b (i32.const 7) (local.get 0)) (drop) (i32.const 8))))"""


@pytest.mark.parametrize("fuel", [False, True])
def test_forward_branches(fuel):
    store, ex = _exports(SKIPS, consume_fuel=fuel)
    assert ex.f(0, 0) == 0
    assert ex.f(1, 1) == 10
    assert ex.f(1, 2) == 1015
    assert ex.f(1, 3) == 1115
    assert ex.v(1) == 7
    assert ex.v(0) == 8
    if fuel:
        # f(0, 0): block, local.get, i32.eqz, br_if, then local.get after the block: 5
        # instructions (end is free; see wasm2py.fuel)
        before = store.get_fuel()
        ex.f(0, 0)
        assert before - store.get_fuel() == 5


def test_export_entry_converts_like_the_generic_path():
    _, ex = _exports("""(module
      (func (export "lt") (param i32 i32) (result i32) (i32.lt_s (local.get 0) (local.get 1)))
      (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
      (func (export "two") (param f64) (result f64 i32) (local.get 0) (i32.const -1)))""")
    r = ex.lt(-1, 0)
    assert r == 1 and type(r) is int
    assert type(ex.lt(0, 0)) is int
    assert ex.add64(2**63 - 1, 1) == -(2**63)
    assert ex.add64(0xFFFFFFFFFFFFFFFF, 0) == -1
    assert ex.two(1.5) == (1.5, -1)
    assert ex.two(2) == (2.0, -1)
    with pytest.raises(wasm2py.SignatureError):
        ex.lt(1)
    with pytest.raises(wasm2py.SignatureError):
        ex.lt(1, 2, 3)
    with pytest.raises(wasm2py.ArgumentError):
        ex.lt(1.0, 2)
    with pytest.raises(wasm2py.ValueRangeError):
        ex.lt(2**32, 0)
    assert isinstance(ex.lt, wasm2py.Func)


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


EDGES32 = [0, 1, 2, 0x7FFFFFFE, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF]
EDGES64 = [0, 1, 2, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, (1 << 64) - 2, (1 << 64) - 1]


def test_wrapping_add_and_sub_without_masks():
    """``x + c``/``x - c`` wrapped by a comparison, and a sum or difference of two locals stored
    to a local then corrected by a statement: the spec's results modulo 2**N at the edges."""
    _, ex = _exports("""(module
      (func (export "add5") (param i32) (result i32) (i32.add (local.get 0) (i32.const 5)))
      (func (export "sub5") (param i32) (result i32) (i32.sub (local.get 0) (i32.const 5)))
      (func (export "sub5_is0") (param i32) (result i32)
        (if (result i32) (i32.sub (local.get 0) (i32.const 5))
          (then (i32.const 1)) (else (i32.const 0))))
      (func (export "add_neg_is0") (param i32) (result i32)
        (if (result i32) (i32.add (local.get 0) (i32.const -3))
          (then (i32.const 1)) (else (i32.const 0))))
      (func (export "add2") (param i32 i32) (result i32)
        (local.set 0 (i32.add (local.get 0) (local.get 1))) (local.get 0))
      (func (export "sub2") (param i32 i32) (result i32)
        (local.tee 1 (i32.sub (local.get 0) (local.get 1))))
      (func (export "add64c") (param i64) (result i64) (i64.add (local.get 0) (i64.const 7)))
      (func (export "sub64") (param i64 i64) (result i64)
        (local.set 0 (i64.sub (local.get 0) (local.get 1))) (local.get 0)))""")
    for x in EDGES32:
        assert ex.add5(x) == _signed((x + 5) % 2**32, 32)
        assert ex.sub5(x) == _signed((x - 5) % 2**32, 32)
        assert ex.sub5_is0(x) == int(x != 5)
        assert ex.add_neg_is0(x) == int(x != 3)
        for y in EDGES32:
            assert ex.add2(x, y) == _signed((x + y) % 2**32, 32)
            assert ex.sub2(x, y) == _signed((x - y) % 2**32, 32)
    for x in EDGES64:
        assert ex.add64c(x) == _signed((x + 7) % 2**64, 64)
        for y in EDGES64:
            assert ex.sub64(x, y) == _signed((x - y) % 2**64, 64)


@pytest.mark.parametrize("bits,edges", [(32, EDGES32), (64, EDGES64)])
def test_signed_comparisons_of_two_locals(bits, edges):
    """lt_s/le_s/gt_s/ge_s of two locals, by cases on the sign: the spec's signed order."""
    t = f"i{bits}"
    ops = {"lt_s": int.__lt__, "le_s": int.__le__, "gt_s": int.__gt__, "ge_s": int.__ge__}
    funcs = "".join(f'(func (export "{op}") (param {t} {t}) (result i32) '
                    f'({t}.{op} (local.get 0) (local.get 1)))' for op in ops)  # fmt: skip
    _, ex = _exports(f"(module {funcs})")
    for x in edges:
        for y in edges:
            for op, ref in ops.items():
                assert ex[op](x, y) == int(ref(_signed(x, bits), _signed(y, bits))), (op, x, y)


def test_locals_zeroed_unless_written_first():
    """Declared locals start at 0 (spec: locals are zero-initialised), also when the prologue
    leaves out those that every path writes before reading them."""
    _, ex = _exports("""(module
      (func (export "in_arm") (param i32) (result i32) (local i32)
        (if (local.get 0) (then (local.set 1 (i32.const 7))))
        (local.get 1))
      (func (export "after_branch") (param i32) (result i32) (local i32)
        (block (br_if 0 (local.get 0)) (local.set 1 (i32.const 7)))
        (local.get 1))
      (func (export "table_branch") (param i32) (result i32) (local i32)
        (block (block (br_table 0 1 (local.get 0))) (local.set 1 (i32.const 7)))
        (local.get 1))
      (func (export "dominating") (param i32) (result i32) (local i32 i64)
        (block (if (local.get 0) (then (return (i32.const -1)))))
        (loop (local.set 2 (i64.const 5))
              (local.set 1 (i32.add (local.get 1) (i32.wrap_i64 (local.get 2))))
              (br_if 0 (i32.lt_u (local.get 1) (i32.const 20))))
        (local.get 1)))""")
    assert (ex.in_arm(0), ex.in_arm(1)) == (0, 7)
    assert (ex.after_branch(1), ex.after_branch(0)) == (0, 7)
    assert (ex.table_branch(0), ex.table_branch(1), ex.table_branch(5)) == (7, 0, 0)
    assert (ex.dominating(1), ex.dominating(0)) == (-1, 20)


def test_wrap_i64_feeds_i32_operations():
    """i32.wrap_i64 keeps the low 32 bits (spec), whatever the i32 instruction that uses it."""
    _, ex = _exports("""(module (memory 1)
      (func (export "add") (param i64) (result i32) (i32.add (i32.wrap_i64 (local.get 0)) (i32.const 3)))
      (func (export "eqz") (param i64) (result i32) (i32.eqz (i32.wrap_i64 (local.get 0))))
      (func (export "shr") (param i64) (result i32) (i32.shr_u (i32.wrap_i64 (local.get 0)) (i32.const 28)))
      (func (export "lts") (param i64) (result i32) (i32.lt_s (i32.wrap_i64 (local.get 0)) (i32.const 0)))
      (func (export "ext") (param i64) (result i64) (i64.extend_i32_u (i32.wrap_i64 (local.get 0))))
      (func (export "load") (param i64) (result i32) (i32.load8_u (i32.wrap_i64 (local.get 0)))))""")
    big = 0xFFFFFFFF_00000005
    assert ex.add(big) == 8
    assert (ex.eqz(big), ex.eqz(0xABCD_00000000)) == (0, 1)
    assert ex.shr(0x1_F0000000) == 15
    assert (ex.lts(0x1_80000000), ex.lts(0xFFFFFFFF_7FFFFFFF)) == (1, 0)
    assert ex.ext(-1) == 0xFFFFFFFF
    assert ex.load(0x12345_00000010) == 0  # address 16, in bounds


def _switch(n: int) -> str:
    """A C ``switch`` over ``n`` cases as clang lowers it: a ``br_table`` in the innermost of
    n nested blocks; case k (after block k's end) adds k + 1 to the result, and odd cases
    ``break`` (leave the outermost block) while even ones fall through into the next case."""
    body = "(br_table " + " ".join(f"$b{k}" for k in range(n)) + " $out (local.get 0))"
    for k in range(n):
        case = f"(local.set 1 (i32.add (local.get 1) (i32.const {k + 1})))"
        if k % 2:
            case += " (br $out)"
        body = f"(block $b{k} {body}) {case}"
    return f"""(module (func (export "sw") (param i32) (result i32) (local i32)
      (block $out {body}) (local.get 1)))"""


def _switch_model(n: int, s: int) -> int:
    r = 0
    k = s if 0 <= s < n else n  # the default target is $out
    while k < n:
        r += k + 1
        if k % 2:
            break
        k += 1
    return r


@pytest.mark.parametrize("fuel", [False, True])
def test_switch_over_many_blocks(fuel):
    """Long runs of block ends after a br_table are grouped (wasm2py.translate.peephole)."""
    n = 41
    store, ex = _exports(_switch(n), consume_fuel=fuel)
    for s in [*range(n + 2), 0xFFFFFFFF, 1000]:
        assert ex.sw(s) == _switch_model(n, s), s
    if fuel:
        # the same fuel as the flat shape, which lowers the blocks without the flag
        fstore, fex = _exports(_switch(n), consume_fuel=True, python_shape="flat")
        for s in (0, 7, 20, 40, 41):
            a, b = store.get_fuel(), fstore.get_fuel()
            ex.sw(s)
            fex.sw(s)
            assert a - store.get_fuel() == b - fstore.get_fuel()
        # paused at every fuel check on the way and resumed
        store.set_fuel(0)
        r = ex.sw.call_resumable(12)
        while isinstance(r, wasm2py.OutOfFuel):
            store.set_fuel(r.required_fuel)
            r = r.resume()
        assert r.results == _switch_model(n, 12)


def test_switch_groups_block_ends():
    """Reaching a case tests a few group guards, not every block end before it."""
    from wasm2py.aot import compile

    src = compile(wat(_switch(41)))
    assert src.count("if not brk or brk >= ") >= 4
    # the br_table only sets brk: a tuple lookup instead of a search (index 0: the innermost
    # block, whose end follows, brk stays 0; past the table: $out, the outermost block)
    assert "brk = (0, " in src and "[l0] if l0 < 41 else " in src


TYPED = """(module (memory 1)
  (func (export "st64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "ld16") (param i32) (result i32) (i32.load16_u offset=2 (local.get 0)))
  (func (export "ld32") (param i32) (result i32) (i32.load offset=4 (local.get 0)))
  (func (export "ld64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "ldf64") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "ld32c") (result i32) (i32.load (i32.const 65532)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))"""


@pytest.mark.parametrize("fuel", [False, True])
def test_loads_aligned_and_not(fuel):
    """Naturally aligned 8-byte loads read a typed view of the memory, others go through
    struct."""
    _, ex = _exports(TYPED, consume_fuel=fuel)
    ex.st64(8, 0x0102030405060708)  # little-endian: bytes 08 07 06 05 04 03 02 01 at 8..15
    assert ex.ld32(4) == 0x05060708  # aligned (4 + 4 = 8)
    assert ex.ld32(5) == 0x04050607  # not aligned
    assert ex.ld16(8) == 0x0506
    assert ex.ld16(9) == 0x0405
    assert ex.ld64(8) == 0x0102030405060708
    assert ex.ld64(9) == 0x0001020304050607
    ex.st64(16, 0x3FF8000000000000)  # the bits of 1.5
    assert ex.ldf64(16) == 1.5
    assert ex.ld32c() == 0
    # the last aligned word is in bounds, the one after it (aligned or not) is not
    ex.st64(65528, -1)
    assert ex.ld32(65528) == -1
    for f, a in ((ex.ld32, 65529), (ex.ld32, 65532), (ex.ld64, 65536), (ex.ld16, 65534),
                 (ex.ldf64, 65529), (ex.ld32, 0xFFFFFFFF)):  # fmt: skip
        with pytest.raises(wasm2py.Trap) as e:
            f(a)
        assert e.value.code is wasm2py.TrapCode.MEMORY_OUT_OF_BOUNDS
    # the typed views follow memory.grow
    assert ex.grow() == 1
    assert ex.ld32(65532) == 0
    ex.st64(131064, 7)
    assert ex.ld64(131064) == 7


def test_typed_views_on_either_byte_order():
    """The big-endian hosts' stand-in for a typed view reads little-endian values, like the
    cast a little-endian host uses."""
    import struct

    from wasm2py.runtime import memory

    view = memoryview(bytearray(range(1, 33))).cast("B")
    for fmt in memory.TYPED_VIEWS.values():
        stand_in = memory._LittleEndian(view, fmt)
        assert len(stand_in) == 4
        assert [stand_in[i] for i in range(4)] == list(struct.unpack("<4" + fmt, view))
        with pytest.raises(struct.error):  # out of bounds (a trap in generated code)
            stand_in[4]
    assert memory.typed_views(view)["u64"][1] == 0x100F0E0D0C0B0A09  # bytes 9..16, little-endian


def test_switch_lookup_and_a_folded_branch_to_the_same_block():
    """A br_if to block $k followed by a switch whose table also targets $k: the br_if is no
    longer the only branch to $k, so its flag cannot be folded away."""
    _, ex = _exports("""(module (func (export "t") (param i32 i32) (result i32) (local i32)
      (block $out
        (block $k
          (br_if $k (local.get 0))
          (block $a
            (block $b
              (br_table $b $a $k $out (local.get 1)))
            (local.set 2 (i32.const 10)))
          (local.set 2 (i32.add (local.get 2) (i32.const 1)))
          (br $out))
        (local.set 2 (i32.add (local.get 2) (i32.const 100))))
      (local.get 2)))""")
    # p0 != 0: straight to after $k; else case 0 falls into case 1, 2 is $k, past the table $out
    assert [ex.t(1, s) for s in (0, 1, 2, 3)] == [100] * 4
    assert [ex.t(0, s) for s in (0, 1, 2, 3, 99)] == [11, 1, 100, 0, 0]
