"""The validator's one pass over a body's bytes against the old path (decode the body to
instructions with the decoder, then type-check the list): the two must agree on every body.

``validate_module`` checks each body in one pass (decoding the common instruction classes
inline, see ``_validate_function``) and only a body that fails it is decoded the old way and
checked again, for the canonical error. So if the inline decoding drifts from
``decode_instrs``, a malformed or invalid body could be *accepted*, or a valid one get other
facts, without any error path noticing. These tests compare the two, with
``validator._ONE_PASS`` off as the reference:

- on every module of the spec suites (2.0 and 3.0, SIMD and GC scripts included, each module
  once) and on the real programs when built: the outcome of ``validate_module`` (accept or
  the error's type, reason, function and offset) and the ``BodySummary`` of each body; and,
  per body, the one pass on its own (without the retry) against the old path: same verdict,
  same summary (and the LLVM tier's ``summarize`` of the decoded body agrees);
- on mutants of valid bodies (hypothesis): bytes flipped, inserted, deleted, truncated,
  LEB128 immediates lengthened, opcodes swapped for neighbours of the inline classes.
"""

from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasm2py.binary.decoder import decode_module
from wasm2py.binary.module import Code
from wasm2py.errors import DecodeError, ValidationError
from wasm2py.validate import validator as V


@contextmanager
def _old_path():
    with mock.patch.object(V, "_ONE_PASS", False):
        yield


def _summary(s) -> tuple:
    return s.size, sorted(s.ops), list(s.callees), list(s.refs)


def _outcome(data: bytes, one_pass: bool, codes=None) -> tuple:
    """What ``validate_module`` makes of ``data`` (decoded afresh: ``Code`` keeps its locals):
    ("ok", summaries) or (error type, reason, function, offset). ``codes``: replace the
    module's bodies (index -> Code) before validating."""
    try:
        m = decode_module(data, check_bodies=False)
    except Exception as e:  # noqa: BLE001 - section-level errors: the same for both paths
        return ("decode", type(e).__name__, str(e))
    if codes:
        for k, c in codes().items():
            m.codes[k] = c
    got: list = []
    try:
        if one_pass:
            V.validate_module(m, on_body=lambda s: got.append(_summary(s)))
        else:
            with _old_path():
                V.validate_module(m, on_body=lambda s: got.append(_summary(s)))
    except (DecodeError, ValidationError) as e:  # (UnsupportedFeature is a DecodeError)
        return (type(e).__name__, getattr(e, "reason", str(e)), getattr(e, "func_index", None),
                getattr(e, "offset", None))  # fmt: skip
    return ("ok", got)


def _one_pass_alone(ctx, index: int, code: Code):
    """The one pass without the retry: a summary, or the exception it stopped at."""
    try:
        declared = code.locals
        return _summary(V._validate_function(ctx, index, ctx.funcs[index], code, declared, None,
                                             code.framing()))  # fmt: skip
    except (ValidationError, DecodeError, IndexError) as e:
        return e


def _old_path_alone(ctx, index: int, code: Code):
    try:
        declared = code.locals
        body = code.triples
        return _summary(V._validate_function(ctx, index, ctx.funcs[index], code, declared, body))
    except (ValidationError, DecodeError) as e:
        return e


def _check_bodies(data: bytes, where) -> int:
    """Each body of ``data`` through the one pass alone and the old path alone: both accept
    with the same summary, or both reject. Returns the number of bodies compared."""
    from wasm2py.llvm.facts import summarize

    try:
        m = decode_module(data, check_bodies=False)
        ctx = V._module_context(m, None)
    except Exception:  # noqa: BLE001 - no body is checked in such a module
        return 0
    nimp = len(ctx.funcs) - len(m.funcs)
    for i, code in enumerate(m.codes):
        a = _one_pass_alone(ctx, nimp + i, code)
        b = _old_path_alone(ctx, nimp + i, code)
        if isinstance(a, tuple) or isinstance(b, tuple):
            assert a == b, (where, nimp + i, a, b)
            # and the LLVM tier's own scan of the decoded instructions (what the compile
            # workers use) finds the same facts
            assert _summary(summarize(code.triples)) == a, (where, nimp + i)
    return len(m.codes)


def _check_module(data: bytes, where) -> tuple:
    new = _outcome(data, True)
    old = _outcome(data, False)
    assert new == old, (where, new, old)
    return new


def _spec_modules():
    """Every binary module of the spec scripts of both suites, each once."""
    from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files, load_script

    try:
        files = [*list_wast_files(include_simd=True),
                 *list_wast_files(include_simd=True, suite="3.0", include_gc=True)]  # fmt: skip
    except SpecSuiteMissing as e:
        pytest.skip(str(e))
    seen: set = set()
    for f in files:
        script = load_script(f)
        for cmd in script.commands:
            name = cmd.get("filename")
            if not name or cmd.get("module_type", "binary") != "binary":
                continue
            try:
                data = script.module_bytes(name)
            except Exception:  # noqa: BLE001, S112 - not a binary module
                continue
            if data not in seen:
                seen.add(data)
                yield f"{f.parent.name}/{f.name}:{name}", data


def test_one_pass_and_old_path_agree_on_every_spec_module():
    kinds: dict = {}
    bodies = 0
    for where, data in _spec_modules():
        kind = _check_module(data, where)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        bodies += _check_bodies(data, where)
    # The suites have thousands of distinct valid and invalid modules, and malformed bodies
    # (the rest of the malformed modules fail at section level, before any body): every kind
    # was compared (a silent empty loop would prove nothing).
    assert kinds["ok"] > 1000 and kinds["ValidationError"] > 1000, kinds
    assert kinds["DecodeError"] > 0 and kinds["UnsupportedFeature"] > 0, kinds
    assert bodies > 5_000


def test_one_pass_and_old_path_agree_on_the_real_programs():
    from tools.realworld import build as rw

    programs = sorted(rw.BIN.glob("*.wasm"))
    if not programs:
        pytest.skip("the real programs are not built (python -m tools.realworld.build)")
    for path in programs:
        data = path.read_bytes()
        assert _check_module(data, path.name)[0] == "ok"
        assert _check_bodies(data, path.name) > 100


# ---------------------------------------------------------------------------------------------
# Mutants of valid bodies
# ---------------------------------------------------------------------------------------------

_MANY = " ".join(["i32"] * 140)  # (local indices above 127 take two LEB128 bytes)
_SEED_WAT = f"""
(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (import "m" "f" (func $imp (param i32) (result i32)))
  (memory 1) (memory $m1 1 2)
  (table $t 2 funcref)
  (global $g (mut i32) (i32.const 0))
  (global $h i64 (i64.const 5))
  (data $d "abc")
  (elem declare func $locals)
  (func $locals (param i32 i64) (result i32) (local {_MANY} i64 f32 f64 v128)
    local.get 0 local.tee 2 local.set 139 local.get 139 local.get 141 local.set 141
    i32.const 0 i32.const -1 i32.add i32.const 2147483647 i32.mul i32.const 63 i32.shl
    drop drop
    i64.const -9223372036854775808 local.get 1 i64.add local.set 142
    f32.const -0.5 local.set 143 f64.const 1e300 local.set 144
    global.get $g global.get $h i32.wrap_i64 i32.add global.set $g
    local.get 0)
  (func $mem (param i32) (result i32)
    local.get 0 i32.load offset=4 align=2 drop
    local.get 0 i64.load8_s offset=70000 drop
    local.get 0 i64.const -123456789 i64.store32 offset=3 align=4
    local.get 0 f32.const 1.5 f32.store $m1 offset=8
    local.get 0 f64.load $m1 align=8 drop
    local.get 0 i32.load16_u $m1 offset=65535 drop
    local.get 0 local.get 0 v128.load offset=16 align=1 v128.store
    local.get 0 i32.const 0 i32.const 3 memory.init $d
    data.drop $d
    memory.size drop memory.size $m1 drop i32.const 1 memory.grow $m1 drop
    local.get 0 i32.const 1 i32.store8 offset=1 align=1
    local.get 0 i64.load32_u drop
    i32.const 0)
  (func $blocks (type $ii)
    block (result i32)
      i32.const 7
      loop $l (param i32) (result i32)
        local.get 0 if (param i32) (result i32) i32.const 1 i32.sub else br 1 end
        local.get 0 br_if $l
      end
    end
    block block block
      local.get 0 br_table 0 1 2 0
    end end end
    block (type $ii) (param i32) (result i32)
      call $imp
    end
    local.get 0
    block $b (param i32) (result i32)
      block $c (param i32) (result i32)
        local.get 0 br_table $b $c $b $c $b $c $b $c $b $c $b $c $b $c $b $c $b $c $b $c $b $c
      end
    end
    i32.const 0 call_indirect $t (type $ii)
    ref.func $locals drop
    local.get 0 select
    local.get 0 i32.eqz if nop end
    block $o try_table (catch_all $o) nop end end)
  (func $tail (param i32) (result i32)
    local.get 0 return_call $blocks)
)
"""


def _seed():
    from .wat import wat

    data = wat(_SEED_WAT)
    m = decode_module(data)
    V.validate_module(m)  # (a valid module: each mutant starts from a valid body)
    return data, [(k, data[c.start : c.end], c.framing()[3:]) for k, c in enumerate(m.codes)]


# Opcodes of (or next to) the classes the one pass decodes inline: blocks and their ends,
# branches, br_table, calls, locals and globals, loads and stores (memargs), memory.size and
# grow, the constants, the numeric ones at the edges of their range, the prefixes; and block
# types (the empty one, value types, LEB128 continuation bytes).
_NEAR = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11,
         0x12, 0x13, 0x1A, 0x1B, 0x1C, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
         0x28, 0x29, 0x2C, 0x35, 0x36, 0x3A, 0x3E, 0x3F, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45,
         0x6A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F, 0x80, 0xBF, 0xC0, 0xC4, 0xC5, 0xD0, 0xD2, 0xFB,
         0xFC, 0xFD, 0xFF]  # fmt: skip

_byte = st.one_of(st.sampled_from(_NEAR), st.integers(0, 255))
_pos = st.integers(0, 10**6)
_mutation = st.one_of(
    st.tuples(st.just("flip"), _pos, st.integers(1, 255)),
    st.tuples(st.just("set"), _pos, _byte),
    st.tuples(st.just("insert"), _pos, _byte),
    st.tuples(st.just("delete"), _pos, st.integers(1, 3)),
    st.tuples(st.just("truncate"), _pos, st.just(0)),
    # a byte below 0x80 (the last of a LEB128 number, or one-byte number) made longer: the
    # same value (pad 0x00, or 0x7f for a negative signed one) or another, in 2 to 7 bytes
    st.tuples(st.just("leb"), _pos, st.tuples(st.integers(0, 5), st.sampled_from([0x00, 0x7F,
                                                                                0x01, 0x40]))),
)  # fmt: skip


def _mutate(body: bytes, mutation) -> bytes:
    kind, pos, arg = mutation
    if not body:
        return body
    i = pos % len(body)
    b = bytearray(body)
    if kind == "flip":
        b[i] ^= arg
    elif kind == "set":
        b[i] = arg
    elif kind == "insert":
        b.insert(i, arg)
    elif kind == "delete":
        del b[i : i + arg]
    elif kind == "truncate":
        del b[i:]
    else:
        n, pad = arg
        # the nearest byte from i on that ends a LEB128 number (all bytes below 0x80 do)
        j = next((j for j in range(i, len(b)) if b[j] < 0x80), None)
        if j is not None:
            b[j : j + 1] = bytes([b[j] | 0x80, *[0x80 | pad] * n, pad])
    return bytes(b)


_SEED = []


# What follows a body in the bytes its Code decodes from: both decoders read on past the body's
# declared end until the function's final ``end`` (then compare positions), so a mutant that
# runs over its end reads these (nothing, ends, or what a next body could start with).
_after = st.one_of(st.sampled_from([b"", b"\x0b", b"\x0b\x0b\x0b\x0b", b"\x01\x0b\x00",
                                    b"\x41\x80\x80", b"\x20\x00\x0b"]),
                   st.binary(max_size=6))  # fmt: skip


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.lists(_mutation, min_size=1, max_size=3), _after)
def test_one_pass_and_old_path_agree_on_mutated_bodies(data, mutations, after):
    if not _SEED:
        _SEED.append(_seed())
    module, bodies = _SEED[0]
    k, body, (feats, has_data_count) = data.draw(st.sampled_from(bodies))
    for mutation in mutations:
        body = _mutate(body, mutation)
    raw = b"\x00\x00" + body + after

    def codes():
        return {k: Code.framed(raw, 2, 2 + len(body), has_data_count, feats)}

    new = _outcome(module, True, codes)
    old = _outcome(module, False, codes)
    assert new == old, (body.hex(), new, old)
    # and the one pass on its own (no retry) accepts exactly what the old path accepts
    m = decode_module(module, check_bodies=False)
    ctx = V._module_context(m, None)
    index = len(ctx.funcs) - len(m.funcs) + k
    a = _one_pass_alone(ctx, index, codes()[k])
    b = _old_path_alone(ctx, index, codes()[k])
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b, (body.hex(), a, b)


def test_the_seed_bodies_cover_the_inline_classes():
    """The mutants start from bodies that have each inline class (so that mutating them
    exercises its decoding): multi-byte local indices, memargs with a memory index and
    large offsets, the constants, block types of each form, br_table."""
    data, bodies = _seed()
    m = decode_module(data)
    instrs = [(op, imm) for c in m.codes for op, imm, _ in c.triples]
    ops = {op for op, _ in instrs}
    assert {0x20, 0x21, 0x22, 0x23, 0x24, 0x28, 0x30, 0x3A, 0x3E, 0x38, 0x3F, 0x40, 0x41, 0x42,
            0x43, 0x44, 0x02, 0x03, 0x04, 0x05, 0x0E, 0x10, 0x11, 0x12, 0xD2} <= ops  # fmt: skip
    assert len(bodies) == 4
    # local.get 139 / local.set 141 (two LEB128 bytes); f32.store $m1 offset=8 (a memory index,
    # flag bit 6); i64.load8_s offset=70000 (a three-byte offset); blocks typed by nothing, by
    # a value type and by a type index (a block with a parameter)
    assert (0x20, 139) in instrs and (0x21, 141) in instrs
    assert (0x38, (2, 8, 1)) in instrs and (0x30, (0, 70000, 0)) in instrs
    blocktypes = {type(imm).__name__ for op, imm in instrs if op in (0x02, 0x03, 0x04)}
    assert {"NoneType", "ValType", "int"} <= blocktypes, blocktypes
