"""``tier="auto"`` (function by function) on the compute kernels, CPU seconds:

* ``python``: ``run(n)`` in the Python tier; ``counting``: the same with ``tier="auto"`` and a
  threshold never reached (what the per-function counters cost) and its ratio;
* ``auto cold``: a fresh engine without cache: ``Module()``, ``Instance()`` and ``run(n)``
  ``--calls`` times, plus the CPU the compile workers spent on its units (they are separate
  processes: ``Unit.seconds``); ``units``: how many units, with how many functions;
* ``wasmtime``: the same calls with wasmtime (PyPI; Cranelift compile included).

    python tools/bench/tier_up_kernels.py [--kernel NAME ...] [--calls 3]

A kernel whose work sits in one long-running loop of ``run`` itself moves into jitted code at
a loop header once its unit is attached (on-stack replacement); later calls run jitted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel


def cpu(fn) -> tuple[float, object]:
    t0 = time.process_time()
    r = fn()
    return time.process_time() - t0, r


def measure(name: str, calls: int) -> list[str]:
    """One row of the table."""
    k = KERNELS[name]
    wasm = build_kernel(name).read_bytes()

    def make(**config):
        engine = wasm2py.Engine(wasm2py.Config(cache=False, **config))
        return wasm2py.Instance(wasm2py.Store(engine), wasm2py.Module(engine, wasm), {})

    py = make()
    t_py, expect = cpu(lambda: py.exports.run(k.n))
    counting = make(tier="auto", tier_up_threshold=10**15)
    t_count, r1 = cpu(lambda: counting.exports.run(k.n))

    def auto_cold():
        inst = make(tier="auto")
        return inst, [inst.exports.run(k.n) for _ in range(calls)]

    t_auto, (inst, r2) = cpu(auto_cold)
    units = inst._tierup.units
    t_auto += sum(u.seconds.get("compile", 0.0) for u in units)
    import wasmtime

    def wt():
        store = wasmtime.Store()
        module = wasmtime.Module(store.engine, wasm)
        run = wasmtime.Instance(store, module, []).exports(store)["run"]
        return [run(store, k.n) for _ in range(calls)]

    t_wt, r3 = cpu(wt)
    same = (r1 == expect and all(r == expect for r in r2)
            and all(r == expect for r in r3))  # fmt: skip
    nfuncs = sum(len(u.funcs) for u in units)
    return [name, str(k.n), f"{t_py:.2f}", f"{t_count:.2f}", f"{t_count / t_py:.2f}x",
                 f"{t_auto:.2f}", f"{len(units)}/{nfuncs}", f"{t_wt:.3f}",
                 f"{t_auto / t_wt:.1f}x", "ok" if same else "MISMATCH"]  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append")
    ap.add_argument("--calls", type=int, default=3)
    args = ap.parse_args(argv)
    head = ["kernel", "n", "python", "counting", "ratio", "auto cold", "units", "wasmtime",
            "auto/wt", "check"]  # fmt: skip
    rows = []
    for name in args.kernel or [k for k in KERNELS if k != "simd_filter"]:
        rows.append(measure(name, args.calls))
        print(" | ".join(rows[-1]), flush=True)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print()
    for r in [head, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    return 0 if all(r[-1] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
