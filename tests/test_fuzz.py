"""The fuzzers of ``tools/fuzz`` (README there): the harness's crash and hang handling, and a
short run of each target that must end with no finding. Long campaigns: ``python -m
tools.fuzz run ...`` (tools/fuzz/README.md)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.fuzz.harness import run_campaign  # noqa: E402
from tools.fuzz.minimize import minimize_finding, signature  # noqa: E402


def _no_findings(run) -> None:
    assert not run.findings, "\n".join(
        f"{f['kind']} seed {f['seed']}: {f['detail'][:1500]}" for f in run.findings)


def test_harness_records_crashes_hangs_and_findings_and_goes_on(tmp_path):
    run = run_campaign("selftest", list(range(12)),
                       options={"abort": [3, 7], "hang": [5], "finding": [9]}, jobs=2,
                       timeout=5, chunk=6, out=tmp_path)  # fmt: skip
    assert run.inputs == 12  # every seed was checked, the ones after a crash too
    got = sorted((f["kind"], f["seed"]) for f in run.findings)
    assert got == [("crash", 3), ("crash", 7), ("hang", 5), ("mismatch", 9)]
    crash = next(f for f in run.findings if f["seed"] == 3)
    assert "SIGABRT" in crash["detail"]
    saved = Path(crash["saved"])
    info = json.loads((saved / "finding.json").read_text())
    assert (saved / "input.wasm").read_bytes() == b"3" and "@" in info["reproduce"]
    assert signature(info["verdict"]) == "crash:signal SIGABRT"


def test_a_stopped_campaign_keeps_its_verdicts():
    # SIGINT/SIGTERM (here an alarm) while a child hangs on seed 5: seeds 0-4 are counted, and
    # the children (own sessions) are killed, not mistaken for crashes
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 8.0)
    try:
        run = run_campaign("selftest", list(range(10)), options={"hang": [5]}, jobs=1,
                           timeout=600, chunk=10)  # fmt: skip
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert run.stopped and run.inputs == 5 and not run.findings


def test_shrinking_keeps_the_finding(tmp_path):
    # the selftest input "1234" gives a finding for seed 1234 only; removing any byte
    # changes the number, so nothing smaller keeps it
    run = run_campaign("selftest", [1234], options={"finding": [1234]}, out=tmp_path)
    assert minimize_finding(Path(run.findings[0]["saved"])) is None


@pytest.fixture(scope="module")
def llvm():
    return pytest.importorskip("llvmlite", reason="llvmlite is not installed: the LLVM tier "
                               "tests need it (it belongs in the project's test extra)")


def test_short_simd_run(llvm):
    # generated SIMD modules: compiled by LLVM at every level, run in both tiers
    _no_findings(run_campaign("simd", list(range(80)), jobs=2, timeout=300))


def test_short_differential_run(llvm):
    # wasm-tools smith modules in both tiers, plain and metered (wasmtime is not part of
    # the test suite's run: its presence must not change the test)
    _no_findings(run_campaign("diff", list(range(80)), options={"wasmtime": False}, jobs=2,
                              timeout=300))  # fmt: skip


def test_short_mutation_run(llvm):
    opts = {"wasmtime": False, "smith_modules": 40, "spec_files": 12}
    run = run_campaign("mutate", list(range(2000)), options=opts, jobs=2, timeout=300)
    _no_findings(run)
    assert run.inputs == 2000
    assert run.stats["valid"] > 0 and run.stats["rejected:DecodeError"] > 0


_COUNTER = """(module
  (memory (export "mem") 1 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func (export "bump") (param i32) (result i32)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.store (i32.const 8) (global.get $g))
    (global.get $g)))"""


def _faulty(kind: str):
    """A Python-tier side that misbehaves in one way after its first call."""
    from tools.fuzz.execute import Wasm2pySide

    class Faulty(Wasm2pySide):
        calls = 0

        def call(self, name, args, fuel=None):
            out, used = super().call(name, args, fuel)
            self.calls += 1
            if self.calls > 1:
                if kind == "result":
                    out = ("ok", ((out[1][0] + 1) & 0xFFFFFFFF,))
                elif kind == "memory":
                    self.instance.exports.mem.write(b"\1", 100)
                elif kind == "global":
                    self.instance.exports.g.value = 12345
                elif kind == "fuel":
                    used += 1
            return out, used

    return Faulty("python", fuel=kind == "fuel")


@pytest.mark.parametrize("kind", ["result", "memory", "global", "fuel"])
def test_lockstep_notices_every_kind_of_disagreement(kind):
    from tests.wat import wat
    from tools.fuzz.execute import Wasm2pySide
    from tools.fuzz.lockstep import Mismatch, run_lockstep

    fuel = kind == "fuel"
    sides = [Wasm2pySide("python", fuel=fuel), _faulty(kind)]
    choices = (lambda rng: 1000,) if fuel else ()
    with pytest.raises(Mismatch, match={"result": "vs", "memory": "memory 'mem' differs at 0x64",
                                        "global": "global 'g'", "fuel": "fuel used"}[kind]):
        run_lockstep(sides, wat(_COUNTER), 1, calls=4, fuel_choices=choices)
    # and two honest sides agree
    run_lockstep([Wasm2pySide("python", fuel=fuel), Wasm2pySide("python", fuel=fuel)],
                 wat(_COUNTER), 1, calls=4, fuel_choices=choices)
