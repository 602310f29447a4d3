"""Load every stress module (``generate.py``) in each tier, check what it computes, and print a
table of the costs.

Columns (CPU seconds; the LLVM tier's parallel compile runs in child processes, included):

* ``load``: ``Module()`` (the LLVM tier compiles every function here);
* ``calls``: instantiating and making the module's calls (the Python tier translates each
  function at its first call);
* ``shape``: the Python tier's shape of the module's first function (``flat``: the dispatch
  loop over basic blocks, for functions CPython would refuse in the structured shape);
* ``ok``: every call returned what the module's model says (and so the tiers agree).

Usage::

    python tools/stress/run.py [--scale S] [--tier python|llvm ...] [--opt N] [--only PREFIX ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.stress.generate import all_modules  # noqa: E402


def cpu() -> float:
    """CPU time of this process and its children (the LLVM tier's compile workers are ended
    first: a child's time is only counted once it has been waited for)."""
    worker = sys.modules.get("wasm2py.llvm.worker")
    if worker is not None:
        worker.end_all()  # (the forker too: forked workers' CPU counts once it ends)
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def run(st, tier: str, opt: int) -> tuple[float, float, str, bool]:
    import wasm2py

    config = wasm2py.Config(tier=tier, cache=False, llvm_opt_level=opt)
    t0 = cpu()
    engine = wasm2py.Engine(config)
    module = wasm2py.Module(engine, st.wasm)
    t1 = cpu()
    inst = wasm2py.Instance(wasm2py.Store(engine), module)
    ok = all(inst.exports[e](*a) & 0xFFFFFFFF == want for e, a, want in st.calls)
    t2 = cpu()
    shape = ""
    if tier == "python":
        fn = inst._state.slots.python[0]
        shape = "flat" if fn is not None and "L" in fn.__code__.co_varnames else "structured"
    return t1 - t0, t2 - t1, shape, ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--tier", action="append", choices=["python", "llvm"])
    ap.add_argument("--opt", type=int, default=2, help="LLVM optimisation level")
    ap.add_argument("--only", action="append", metavar="PREFIX",
                    help="only the modules whose name starts with PREFIX (e.g. br_table)")
    args = ap.parse_args(argv)
    os.environ.setdefault("WASM2PY_CACHE_DIR", os.path.join(os.getcwd(), ".cache", "stress-cache"))
    tiers = args.tier or ["python", "llvm"]
    print(f"{'module':<18} {'KiB':>7}  {'tier':<7} {'load s':>8} {'calls s':>8}  {'shape':<10} ok")
    failed = False
    for st in all_modules(args.scale):
        if args.only and not st.name.startswith(tuple(args.only)):
            continue
        for tier in tiers:
            load, calls, shape, ok = run(st, tier, args.opt)
            failed |= not ok
            print(f"{st.name:<18} {len(st.wasm) / 1024:7.0f}  {tier:<7} {load:8.2f} "
                  f"{calls:8.2f}  {shape:<10} {'yes' if ok else 'NO'}", flush=True)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
