"""What a call between the tiers of a ``tier="auto"`` instance costs, in CPU nanoseconds.

On ``tests/test_tierup.py``'s ``CHAIN`` module (``$sum`` loops ``n`` times calling ``$sq``),
with units attached by hand at level 0 (``tierup.LEVEL``) and counting off:

* ``python``: ``sum(n)`` all in the Python tier, per iteration;
* ``jitted``: ``$sum`` and ``$sq`` in one unit, per iteration;
* ``jitted -> python``: ``$sum`` jitted, ``$sq`` in the Python tier (a callback per
  iteration: the crossing plus ``$sq``'s Python code);
* ``python -> jitted``: ``$fib`` jitted, its raw entry called from Python with ``1`` (what a
  Python-tier caller of a jitted function pays per call).

Best of ``--repeat`` timings of ``--number`` iterations (or calls)::

    python tools/bench/crossings.py [--number N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.test_tierup import CHAIN, FIB, SQ, SUM, jit, store_for  # noqa: E402
from tests.wat import wat  # noqa: E402
from wasm2py import Instance, Module  # noqa: E402


def _instance(units):
    store = store_for(tier_up_threshold=10**9)
    inst = Instance(store, Module(store.engine, wat(CHAIN)), {"env": {"host": abs}})
    if units is not None:
        jit(inst, *units, level=0)
    return inst


def _best(fn, number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best / number * 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    n, r = args.number, args.repeat
    for name, units in (("python", None), ("jitted", [[SUM, SQ]]), ("jitted -> python", [[SUM]])):
        f = _instance(units).exports["sum"]
        f(10)
        print(f"{name:18} {_best(lambda f=f: f(n), n, r):8.1f} ns per iteration")
    raw = _instance([[FIB]])._state.funcs[FIB].raw

    def calls():
        for _ in range(n):
            raw(1, 0)

    print(f"{'python -> jitted':18} {_best(calls, n, r):8.1f} ns per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
