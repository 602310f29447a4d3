"""The spec suite's scripts (SIMD included) run through the LLVM tier: every command must pass
(except those listed in ``spectests/known_failures.py`` for the tier ``"llvm"``).

The driver is :mod:`tests.llvm_spec` (``python -m tests.llvm_spec`` prints the counts). Skipped
when ``llvmlite`` is not installed or the suite is absent (see ``spectests/README.md``).
"""

from __future__ import annotations

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

from spectests.known_failures import entries_for  # noqa: E402
from wasm2py.wast.report import FAILED  # noqa: E402
from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files, missing_suite_message, spec_dir  # noqa: E402

from .llvm_spec import TIER, run_llvm_file  # noqa: E402


def _files() -> list:
    try:
        files = list_wast_files(include_simd=True)
    except SpecSuiteMissing:
        return [pytest.param(None, id="spec-suite-missing")]
    return [pytest.param(p, id=p.name) for p in files]


@pytest.mark.parametrize("wast", _files())
def test_spec_script_in_llvm_tier(wast):
    if wast is None:
        pytest.skip(missing_suite_message(spec_dir()))
    results = run_llvm_file(wast)
    known = entries_for("run", TIER, wast.name)
    failed = [r for r in results if r.status == FAILED and r.line not in known]
    fixed = [line for line in known if not any(r.line == line and r.status == FAILED
                                               for r in results)]  # fmt: skip
    assert not fixed, f"{wast.name}: known LLVM-tier failures now pass (delete them): {fixed}"
    assert not failed, f"{wast.name}: {len(failed)} failed in the LLVM tier:\n" + "\n".join(
        r.describe(wast.name) for r in failed[:40]
    )
