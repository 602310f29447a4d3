"""The WebAssembly spec testsuite, one test per script per tier.

``test_spec``: every command of every script, the ``simd_*.wast`` scripts included (the Python
tier implements every SIMD instruction; all 58 SIMD scripts pass in full).
``test_spec_rejects``: over every script, each ``assert_invalid`` and binary ``assert_malformed``
module must be rejected (``module`` commands are compiled only).

A test fails if a command fails that is not in :mod:`spectests.known_failures`, or if a listed
known failure now passes. The suite is read from ``$WASM2PY_SPEC_DIR`` or
``<project root>/../shared/spec/wasm-2.0``; when it is absent the tests are skipped, saying where
to put it. The summary tables are printed at the end of the session (see ``conftest.py``).

Timeouts: the commands run in-process, so a hanging command hangs its test. With the
``pytest-timeout`` plugin installed the ``timeout`` marks below bound each script; otherwise run
with ``python -m spectests FILE`` to find the culprit.
"""

from __future__ import annotations

import pytest

from spectests import CHECK_REJECT, CHECK_RUN, TIERS
from wasm2py.wast.report import SUMMARY_PROPERTY
from wasm2py.wast.runner import run_file
from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files, missing_suite_message, spec_dir

#: Per-script time limit (seconds), honoured when pytest-timeout is installed.
SCRIPT_TIMEOUT = 1800
#: At most this many failing commands are listed in a test's failure message.
MAX_LISTED = 60


def _wast_params(include_simd: bool) -> list:
    try:
        files = list_wast_files(include_simd=include_simd)
    except SpecSuiteMissing:
        return [pytest.param(None, id="spec-suite-missing")]
    return [pytest.param(p, id=p.name) for p in files]


def _run_and_check(wast, tier: str, check: str, record_property, suite: str | None = None
                   ) -> None:  # fmt: skip
    if wast is None:
        pytest.skip(missing_suite_message(spec_dir(suite or "2.0"), suite or "2.0"))
    summary = run_file(wast, tier, check, suite)
    record_property(SUMMARY_PROPERTY, summary.to_json())
    if summary.error is not None:
        pytest.fail(f"{wast.name} could not be run: {summary.error}", pytrace=False)
    if summary.problems:
        shown = summary.problems[:MAX_LISTED]
        more = summary.n_problems - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
        pytest.fail(
            f"{wast.name} [{tier}, {check}]: {summary.n_problems} command(s) failed "
            f"(or known failures that now pass):\n{text}",
            pytrace=False,
        )


@pytest.mark.timeout(SCRIPT_TIMEOUT)
@pytest.mark.parametrize("wast", _wast_params(include_simd=True))
@pytest.mark.parametrize("tier", TIERS)
def test_spec(tier, wast, record_property):
    _run_and_check(wast, tier, CHECK_RUN, record_property)


@pytest.mark.timeout(SCRIPT_TIMEOUT)
@pytest.mark.parametrize("wast", _wast_params(include_simd=True))
# (variants compile alike, and "baseline" as "auto": the Python tier validates)
@pytest.mark.parametrize("tier", [t for t in TIERS if "-" not in t and t != "baseline"])
def test_spec_rejects(tier, wast, record_property):
    _run_and_check(wast, tier, CHECK_REJECT, record_property)
