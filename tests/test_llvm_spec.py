"""The spec suite's non-SIMD scripts run through the LLVM tier: every command must pass.

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

from wasm2py.wast.report import FAILED  # noqa: E402
from wasm2py.wast.wast import SpecSuiteMissing, list_wast_files, missing_suite_message, spec_dir  # noqa: E402

from .llvm_spec import run_llvm_file  # noqa: E402


def _files() -> list:
    try:
        files = list_wast_files(include_simd=False)
    except SpecSuiteMissing:
        return [pytest.param(None, id="spec-suite-missing")]
    return [pytest.param(p, id=p.name) for p in files]


@pytest.mark.parametrize("wast", _files())
def test_spec_script_in_llvm_tier(wast):
    if wast is None:
        pytest.skip(missing_suite_message(spec_dir()))
    results = run_llvm_file(wast)
    failed = [r for r in results if r.status == FAILED]
    assert not failed, f"{wast.name}: {len(failed)} failed in the LLVM tier:\n" + "\n".join(
        r.describe(wast.name) for r in failed[:40]
    )


#: scripts run again with fuel metering on (the whole suite: ``python -m tests.llvm_spec --fuel``)
FUEL_FILES = ("block.wast", "br_if.wast", "br_table.wast", "call_indirect.wast", "fac.wast",
              "loop.wast", "memory_copy.wast", "memory_fill.wast", "table_init.wast")  # fmt: skip


@pytest.mark.parametrize("name", FUEL_FILES)
def test_spec_script_in_llvm_tier_with_fuel(name):
    """Fuel metering on and a budget no script uses up: every command still passes."""
    try:
        files = {p.name: p for p in list_wast_files(include_simd=False)}
    except SpecSuiteMissing:
        pytest.skip(missing_suite_message(spec_dir()))
    results = run_llvm_file(files[name], fuel=True)
    failed = [r for r in results if r.status == FAILED]
    assert not failed, f"{name}: {len(failed)} failed with fuel:\n" + "\n".join(
        r.describe(name) for r in failed[:40]
    )
