"""What resuming paused calls costs: a recursion of depth ``n`` run from fuel 0 and resumed at
every fuel pause (the spec tier ``python-fuel`` does this to every invoke), and a loop pausing
at a host call ``k`` times.

Per depth, the CPU time (``time.process_time``) of the whole resumed run, the number of pauses,
and CPU per pause. When every resume rebuilds the whole paused stack, CPU per pause grows with
the depth (quadratic in total); when a resume continues only the innermost frame, it stays flat.
Also: the bytes a paused call retains for one paused frame (``tracemalloc``, the handle with its
frame records, after a collection).

Usage::

    python tools/bench/resume_cost.py [--depth N ...] [--tier python]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py

# $rec(n) = n + rec(n - 1), rec(0) = 0: depth n + 1, n * (n + 1) / 2
REC = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 local.get 0 i32.const 1 i32.sub call $rec i32.add end)
  (func (export "one") (param i32) (result i32) local.get 0 call $h i32.const 1 i32.add))"""


def _instance(tier: str, fuel: bool, host=None):
    from tests.wat import wat

    engine = wasm2py.Engine(wasm2py.Config(tier=tier, consume_fuel=fuel, cache=False,
                                           max_call_depth=100_000))  # fmt: skip
    store = wasm2py.Store(engine)
    mod = wasm2py.Module(engine, wat(REC))
    inst = wasm2py.Instance(store, mod, {"env": {"h": host or (lambda x: x)}})
    return store, inst


def resumed_run(tier: str, depth: int) -> tuple[float, int, int]:
    """CPU seconds, pauses and result of ``rec(depth)`` from fuel 0, resumed at every pause."""
    store, inst = _instance(tier, True)
    store.set_fuel(0)
    t0 = time.process_time()
    r = inst.exports.rec.call_resumable(depth)
    pauses = 0
    while isinstance(r, wasm2py.OutOfFuel):
        pauses += 1
        store.set_fuel(store.get_fuel() + r.required_fuel)
        r = r.resume()
    t = time.process_time() - t0
    assert isinstance(r, wasm2py.Finished) and r.results == depth * (depth + 1) // 2, r
    return t, pauses, r.results


def bytes_per_pause(tier: str) -> int:
    """Bytes retained by one paused call with one paused wasm frame (a host trap)."""

    def h(x):
        raise RuntimeError("pause")

    store, inst = _instance(tier, False, h)
    one = inst.exports.one
    one.call_resumable(1).resume(1)  # warm up: translation, caches
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    paused = one.call_resumable(5)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    # (what tracemalloc allocates for its own snapshots is not the paused call's)
    size = sum(s.size_diff for s in after.compare_to(before, "filename")
               if not s.traceback[0].filename.endswith("tracemalloc.py"))  # fmt: skip
    assert paused.resume(6).results == 7
    return size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, action="append", help="recursion depths")
    ap.add_argument("--tier", default="python")
    args = ap.parse_args(argv)
    depths = args.depth or [100, 300, 1000, 3000]
    print(f"wasm2py {wasm2py.__version__}, tier {args.tier}, Python {sys.version.split()[0]}")
    print(f"{'depth':>6} {'pauses':>7} {'CPU s':>8} {'us/pause':>9}")
    for n in depths:
        t, pauses, _ = resumed_run(args.tier, n)
        print(f"{n:>6} {pauses:>7} {t:8.3f} {t / pauses * 1e6:9.1f}")
    print(f"bytes retained by a 1-frame pause: {bytes_per_pause(args.tier)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
