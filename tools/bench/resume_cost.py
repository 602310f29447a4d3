"""What resuming paused calls costs: a recursion of depth ``n`` run from fuel 0 and resumed at
every fuel pause (the spec tier ``python-fuel`` does this to every invoke), and a loop pausing
at a host call ``k`` times; and the *pause-heavy kernel*: a loop that calls a host function 20
times between stretches of arithmetic, run as a resumable call whose host function pauses at
each of the 20 calls (resumed with what it would have returned), against the same call run
plainly (the host function returns): the ratio of their CPU times. In the LLVM tier,
``--python-path`` makes the resumable call run in the Python tier (as every resumable call on a
jitted instance did before jitted frames could suspend).

Per depth, the CPU time (``time.process_time``) of the whole resumed run, the number of pauses,
and CPU per pause. When every resume rebuilds the whole paused stack, CPU per pause grows with
the depth (quadratic in total); when a resume continues only the innermost frame, it stays flat.
Also: the bytes a paused call retains for one paused frame (``tracemalloc``, the handle with its
frame records, after a collection).

Usage::

    python tools/bench/resume_cost.py [--depth N ...] [--tier python|llvm] [--python-path]
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


# 20 chunks of $n iterations of arithmetic, each ending with a host call
KERNEL = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func (export "kernel") (param $n i32) (result i32) (local $x i32) (local $i i32) (local $c i32)
    (local.set $x (i32.const 1))
    (loop $chunks
      (local.set $i (local.get $n))
      (loop $work
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
        (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
        (local.set $x (i32.add (local.get $x) (local.get $i)))
        (br_if $work (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
      (local.set $x (call $h (local.get $x)))
      (br_if $chunks (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 1)))
                               (i32.const 20))))
    (local.get $x)))"""
KERNEL_PAUSES = 20


def kernel_ratio(tier: str, n: int, python_path: bool = False, repeat: int = 5):
    """CPU seconds of the plain and the resumable (20 pauses) kernel call (best of
    ``repeat``), and the result (the same both ways)."""
    from tests.wat import wat

    engine = wasm2py.Engine(wasm2py.Config(tier=tier, cache=False))
    store = wasm2py.Store(engine)
    pausing = [False]

    def h(x):
        if pausing[0]:
            raise RuntimeError("pause")
        return x + 1

    inst = wasm2py.Instance(store, wasm2py.Module(engine, wat(KERNEL)), {"env": {"h": h}})
    if python_path:
        store.native.suspending = False  # (the LLVM tier's runtime: resumable calls in Python)
    kernel = inst.exports.kernel
    plain = resumable = float("inf")
    for _ in range(repeat):
        pausing[0] = False
        t0 = time.process_time()
        expected = kernel(n)
        plain = min(plain, time.process_time() - t0)
        pausing[0] = True
        t0 = time.process_time()
        r = kernel.call_resumable(n)
        pauses = 0
        while isinstance(r, wasm2py.HostTrap):
            pauses += 1
            r = r.resume(r.host_error is not None and _arg(r) + 1)
        resumable = min(resumable, time.process_time() - t0)
        assert isinstance(r, wasm2py.Finished) and r.results == expected, (r, expected)
        assert pauses == KERNEL_PAUSES, pauses
    return plain, resumable, expected


def _arg(paused) -> int:
    """The argument the paused host call got: the kernel's $x (local 1 of the frame)."""
    x = paused._frames[-1].locals[1]
    return x - (1 << 32) if x >= 1 << 31 else x


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
    ap.add_argument("--kernel-n", type=int, default=20_000,
                    help="iterations per chunk of the pause-heavy kernel")
    ap.add_argument("--python-path", action="store_true",
                    help="LLVM tier: run resumable calls in the Python tier")
    ap.add_argument("--kernel-only", action="store_true")
    args = ap.parse_args(argv)
    depths = args.depth or [100, 300, 1000, 3000]
    print(f"wasm2py {wasm2py.__version__}, tier {args.tier}, Python {sys.version.split()[0]}")
    plain, resumable, _ = kernel_ratio(args.tier, args.kernel_n, args.python_path)
    print(f"pause-heavy kernel ({KERNEL_PAUSES} pauses, {args.kernel_n} iterations per chunk): "
          f"plain {plain * 1e3:.2f} ms, resumable {resumable * 1e3:.2f} ms CPU, "
          f"ratio {resumable / plain:.2f}")
    if args.kernel_only:
        return 0
    print(f"{'depth':>6} {'pauses':>7} {'CPU s':>8} {'us/pause':>9}")
    for n in depths:
        t, pauses, _ = resumed_run(args.tier, n)
        print(f"{n:>6} {pauses:>7} {t:8.3f} {t / pauses * 1e6:9.1f}")
    print(f"bytes retained by a 1-frame pause: {bytes_per_pause(args.tier)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
