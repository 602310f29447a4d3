"""The benchmark kernels (tools/bench): build each with clang, run it in wasm2py with a small
n, and compare the checksum with the same C compiled natively by gcc."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import wasm2py  # noqa: E402
from tools.bench.build import (  # noqa: E402
    KERNELS,
    build_kernel,
    clang_missing,
    native_missing,
    run_native,
)

_missing = clang_missing() or native_missing()
pytestmark = pytest.mark.skipif(
    _missing is not None, reason=f"benchmark kernels need clang and lld (and gcc): {_missing}"
)


def _instance(path: Path, count: bool = False):
    engine = wasm2py.Engine(wasm2py.Config(count_instructions=count))
    store = wasm2py.Store(engine)
    return store, wasm2py.Instance(store, wasm2py.Module.from_file(engine, path), {})


@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_matches_native(name):
    kernel = KERNELS[name]
    path = build_kernel(name)
    assert path.suffix == ".wasm" and path.is_relative_to(ROOT / ".cache" / "bench")
    assert build_kernel(name) == path  # cached: same key, same file
    expected = run_native(name, [kernel.test_n])[0]

    _, inst = _instance(path)
    got = inst.exports["run"](kernel.test_n)
    assert got == expected, f"{name}: run({kernel.test_n}) = {got!r}, gcc says {expected!r}"
    assert got == inst.exports["run"](kernel.test_n)  # kernels re-initialise their state

    store, inst = _instance(path, count=True)
    assert inst.exports["run"](kernel.test_n) == expected
    assert store.instructions > 0


def test_add_export():
    _, inst = _instance(build_kernel("calls"))
    add = inst.exports["add"]
    assert add(1, 2) == 3
    assert add(0x7FFFFFFF, 1) == -0x80000000
    assert add(-5, 3) == -2
