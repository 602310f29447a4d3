"""The cost of calling an exported wasm function from Python, next to plain Python calls.

Each row is timed with ``timeit`` in CPU time (``time.process_time``: wall time counts the
waits of a loaded machine) over ``--number`` calls, best of ``--repeat`` repeats, and
shown as nanoseconds per call and relative to a plain Python function call. The wasm
function is ``add(a, b)`` from ``kernels/calls.c`` (``local.get 1; local.get 0; i32.add``).

Usage::

    python tools/bench/call_overhead.py [--number N] [--repeat R]
    python -m tools.bench.call_overhead ...
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import build_kernel, clang_missing
from tools.bench.run_kernels import format_table


def py_add(a, b):
    return a + b


class Adder:
    def add(self, a, b):
        return a + b


def setups(count: bool = False) -> dict[str, object]:
    """The namespace the timed statements run in."""
    engine = wasm2py.Engine(wasm2py.Config(count_instructions=count))
    store = wasm2py.Store(engine)
    module = wasm2py.Module.from_file(engine, build_kernel("calls"))
    inst = wasm2py.Instance(store, module, {})
    adder = Adder()
    bound = adder.add

    def via_bound(a, b):
        return bound(a, b)

    wasm_add = inst.exports["add"]
    assert wasm_add(1, 2) == 3
    return {
        "py_add": py_add,
        "adder": adder,
        "via_bound": via_bound,
        "exports": inst.exports,
        "wasm_add": wasm_add,
        "raw_add": getattr(wasm_add, "raw", None),
    }


#: (label, statement); ``raw`` is the internal calling convention, not the embedding API
CASES = [
    ("Python function: py_add(1, 2)", "py_add(1, 2)"),
    ("bound method: adder.add(1, 2)", "adder.add(1, 2)"),
    ("Python function calling a bound method", "via_bound(1, 2)"),
    ("wasm export, Func held: add(1, 2)", "wasm_add(1, 2)"),
    ("wasm export via attribute: exports.add(1, 2)", "exports.add(1, 2)"),
    ("wasm export via mapping: exports['add'](1, 2)", "exports['add'](1, 2)"),
    ("internal raw function: add.raw(1, 2, 0)", "raw_add(1, 2, 0)"),
]


def measure(stmt: str, namespace: dict, number: int, repeat: int) -> float:
    """Best seconds per call."""
    timer = timeit.Timer(stmt, timer=time.process_time, globals=namespace)
    return min(timer.repeat(repeat=repeat, number=number)) / number


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Cost of one call of a wasm export from Python.")
    ap.add_argument("--number", type=int, default=200_000, help="calls per repeat")
    ap.add_argument("--repeat", type=int, default=7, help="repeats (best of)")
    args = ap.parse_args(argv)
    reason = clang_missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2

    ns = setups()
    rows = []
    base = None
    for label, stmt in CASES:
        if stmt.startswith("raw_add") and ns["raw_add"] is None:
            continue
        per_call = measure(stmt, ns, args.number, args.repeat)
        if base is None:
            base = per_call
        rows.append([label, f"{per_call * 1e9:.0f}", f"{per_call / base:.1f}x"])
    print(
        f"wasm2py {wasm2py.__version__}, Python {sys.version.split()[0]}; timeit (CPU time), "
        f"{args.number:,} calls per repeat, best of {args.repeat}"
    )
    print(format_table(["call", "ns/call", "vs Python fn"], rows, right={1, 2}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
