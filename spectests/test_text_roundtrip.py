"""The text parser over every script of the Wasm 2.0 and 3.0 suites, against wasm-tools (see
:mod:`spectests.text_roundtrip`): equal command lists, every module encoded to wasm-tools'
bytes (or, for the listed implicit-type cases, an equivalent binary), every text
``assert_malformed`` rejected; 2.0 modules also decoded and validated by wasm2py."""

from __future__ import annotations

import pytest

from spectests.text_roundtrip import IMPLICIT_TYPE_DIFFERENCES, check_file, suite_dirs
from wasm2py.wast.wast import missing_suite_message


def _params() -> list:
    params = []
    for name, directory, version in suite_dirs():
        files = sorted(directory.glob("*.wast")) if directory.is_dir() else []
        if not files:
            params.append(pytest.param(None, version, directory, id=f"{name}-missing"))
        params += [pytest.param(p, version, directory, id=f"{name}-{p.name}") for p in files]
    return params


@pytest.mark.timeout(600)
@pytest.mark.parametrize("wast, version, directory", _params())
def test_text_roundtrip(wast, version, directory):
    if wast is None:
        pytest.skip(missing_suite_message(directory))
    result = check_file(wast, version, decode=version == 2)
    assert not result.problems, "\n".join(result.problems[:40])
    listed = sum(1 for (file, _) in IMPLICIT_TYPE_DIFFERENCES if file == wast.name)
    assert result.equivalent == (listed if version == 3 else 0)
    assert result.identical + result.equivalent <= result.modules
