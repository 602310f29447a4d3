"""The cost of calling component exports from Python (``wasm2py.component``), per tier.

Each row is the process CPU time per call, best of ``--repeat`` runs of ``--number`` calls, for
exports of the test components in ``tests/test_component_runtime.py``: a record argument
(flat), a string round trip (realloc and memory), a resource constructor plus drop, and an
async export that yields once (a second fiber switch). Every call runs a component task on a
fiber, so the figures show the Component Model's fixed cost over a plain core call.

Usage::

    python tools/bench/component_calls.py [--number N] [--repeat R] [--tier python --tier llvm]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests`` and ``tools`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tests.test_component_runtime import ASYNC, COUNTER, VALUES
from tests.wat import wat
from tools.bench.run_kernels import format_table
from wasm2py.component import Component, Linker


def instance(engine, text):
    return Linker(engine).instantiate(wasm2py.Store(engine), Component(engine, wat(text)))


def cases(engine):
    values = instance(engine, VALUES).exports
    counter = instance(engine, COUNTER).exports
    asynch = instance(engine, ASYNC).exports
    sum_, upper, ctor, slow = (values["sum"], values["upper"], counter["[constructor]counter"],
                               asynch["slow-add"])  # fmt: skip
    point = {"x": 40, "y": 2}

    def make_and_drop():
        ctor(1).drop()

    return [
        ("sum(record {x, y}) -> s32", lambda: sum_(point)),
        ("upper(string) -> string", lambda: upper("hello, world")),
        ("[constructor]counter + drop", make_and_drop),
        ("async slow-add (one yield)", lambda: slow(40, 2)),
    ]


def measure(fn, number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - t) / number)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="CPU time of component export calls from Python.")
    ap.add_argument("--number", type=int, default=2000, help="calls per repeat")
    ap.add_argument("--repeat", type=int, default=5, help="repeats (best of)")
    ap.add_argument("--tier", action="append", choices=("python", "llvm"))
    args = ap.parse_args(argv)
    rows = []
    for tier in args.tier or ["python", "llvm"]:
        engine = wasm2py.Engine(wasm2py.Config(tier=tier, cache=False))
        for label, fn in cases(engine):
            fn()
            rows.append([tier, label, f"{measure(fn, args.number, args.repeat) * 1e6:.1f}"])
    print(f"wasm2py {wasm2py.__version__}, Python {sys.version.split()[0]}; process CPU time, "
          f"{args.number} calls per repeat, best of {args.repeat}")  # fmt: skip
    print(format_table(["tier", "call", "us/call"], rows, right={2}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
