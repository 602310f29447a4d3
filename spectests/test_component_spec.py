"""The Component Model reference tests, one test per script per tier (python and llvm).

A test fails if a command fails that is not in :mod:`spectests.known_failures` (check
``"component"``), or a listed known failure now passes. Scripts in the suite's ``nyi.txt`` run
too; their failures count as known. The suite is read from ``$WASM2PY_COMPONENT_SPEC_DIR`` or
``<project root>/../shared/spec/component-model`` (the tests are skipped, saying so, when it is
absent). Summaries join the end-of-session tables (see ``conftest.py``).
"""

from __future__ import annotations

import pytest

from wasm2py.wast.component import TIERS, SuiteMissing, list_files, relative_name, run_file
from wasm2py.wast.report import SUMMARY_PROPERTY

SCRIPT_TIMEOUT = 900
MAX_LISTED = 60


def _params() -> list:
    try:
        files = list_files()
    except SuiteMissing as exc:
        return [pytest.param(None, str(exc), id="component-suite-missing")]
    return [pytest.param(p, None, id=relative_name(p)) for p in files]


@pytest.mark.timeout(SCRIPT_TIMEOUT)
@pytest.mark.parametrize(("wast", "missing"), _params())
@pytest.mark.parametrize("tier", TIERS)
def test_component_spec(tier, wast, missing, record_property):
    if wast is None:
        pytest.skip(missing)
    summary = run_file(wast, tier)
    record_property(SUMMARY_PROPERTY, summary.to_json())
    if summary.error is not None:
        pytest.fail(f"{summary.file} could not be run: {summary.error}", pytrace=False)
    if summary.problems:
        shown = summary.problems[:MAX_LISTED]
        more = summary.n_problems - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
        pytest.fail(f"{summary.file} [{tier}]: {summary.n_problems} command(s) failed (or known "
                    f"failures that now pass):\n{text}", pytrace=False)  # fmt: skip
