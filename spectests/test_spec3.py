"""The Wasm 3.0 spec testsuite (without the GC scripts), one test per script per tier.

The scripts identical to their Wasm 2.0 namesakes are left out (``test_spec.py`` runs those with
the 3.0 proposals switched off, in every tier). Of the rest, the Python tier runs all, and the
LLVM tier those without a 2.0 namesake (memory64, multiple memories, tail calls, exceptions,
typed function references, relaxed SIMD...): the changed 2.0 scripts take it ~10 CPU minutes
(``python -m spectests --suite 3.0 --simd --tier llvm`` runs everything), and the Python tier's
flat shape the exception scripts (its ``try_table`` lowering differs). A test fails on a
command that fails and is not in :mod:`spectests.known_failures`, or on a listed known failure
that now passes. The suite is read from ``wasm-3.0/`` in ``$WASM2PY_SPEC_DIR`` or
``<project root>/../shared/spec``; when it is absent the tests are skipped, saying where
to put it.
"""

from __future__ import annotations

import pytest

from spectests import CHECK_RUN
from spectests.test_spec import SCRIPT_TIMEOUT, _run_and_check
from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files, proposal_of, spec_dir


def _params(tier: str) -> list:
    try:
        files = list_wast_files(include_simd=True, suite="3.0")
    except SpecSuiteMissing:
        return [pytest.param(None, id="spec3-suite-missing")]
    old = spec_dir("2.0")
    chosen = []
    for p in files:
        twin = old / p.name
        if twin.is_file() and twin.read_bytes() == p.read_bytes():
            continue  # run by test_spec.py
        if tier == "llvm" and twin.is_file():
            continue
        if tier == "python-flat" and proposal_of(p.name) != "exceptions":
            continue
        chosen.append(pytest.param(tier, p, id=f"{tier}-{p.name}"))
    return chosen


@pytest.mark.timeout(SCRIPT_TIMEOUT)
@pytest.mark.parametrize("tier, wast", _params("python") + _params("llvm") + _params("python-flat"))
def test_spec3(tier, wast, record_property):
    _run_and_check(wast, tier, CHECK_RUN, record_property, suite="3.0")
