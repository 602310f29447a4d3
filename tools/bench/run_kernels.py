"""Run the benchmark kernels in wasm2py's Python tier and print a table.

For each kernel (``tools/bench/kernels/*.c``, built by ``build.py``):

* time: wall time of ``run(n)`` alone (instantiation and translation excluded), best of
  ``--repeat`` runs, with the default configuration (no counting code), GC disabled during
  the call as ``timeit`` does;
* instructions: executed wasm instructions, from a separate instance translated with
  ``Config(count_instructions=True)``;
* ns/instr: time / instructions;
* checksum: ``run(n)``, checked against the same C compiled natively with ``gcc -O2`` (and
  against the counting run);
* with ``--epoch``: CPU time of ``run(n)`` without and with ``Config(epoch_interruption=True)``
  (a deadline far away, so the checks run but never fire), the two timed in turns (best of
  ``--repeat`` each) so that load from elsewhere hits both alike, and their ratio.

Usage::

    python tools/bench/run_kernels.py [--quick] [--kernel NAME ...] [--repeat K] [--epoch]
    python -m tools.bench.run_kernels ...

Exit status 1 if any checksum differs.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import (
    KERNELS,
    ToolMissing,
    build_kernel,
    clang_missing,
    native_label,
    run_native,
)


@dataclass
class Result:
    kernel: str
    n: int
    seconds: float
    instructions: int
    checksum: int | float
    native: int | float | None
    counted_checksum: int | float
    #: with --epoch: best CPU seconds without and with epoch checks, timed in turns
    plain_cpu: float | None = None
    epoch_cpu: float | None = None

    @property
    def ok(self) -> bool:
        return self.checksum == self.counted_checksum and (
            self.native is None or self.checksum == self.native
        )


def instantiate(wasm: Path, count: bool, epoch: bool = False):
    engine = wasm2py.Engine(wasm2py.Config(count_instructions=count, epoch_interruption=epoch))
    store = wasm2py.Store(engine)
    if epoch:
        store.set_epoch_deadline(1 << 62)  # checked on every call and loop iteration, never hit
    module = wasm2py.Module.from_file(engine, wasm)
    return store, wasm2py.Instance(store, module, {})


#: the clock of :func:`time_call`: wall time, or with ``--cpu`` the process's CPU time (steadier
#: on a machine shared with other work)
CLOCK = time.perf_counter


def use_cpu_clock() -> None:
    """Time with ``time.process_time`` from now on (the ``--cpu`` option of the benchmarks)."""
    global CLOCK
    CLOCK = time.process_time


def time_call(fn, arg, repeat: int, before=None) -> tuple[float, object]:
    """Best time (:data:`CLOCK`) of ``fn(arg)`` over ``repeat`` calls, and the (last) result;
    ``before()`` (e.g. refilling fuel) runs ahead of each call, untimed."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        if before is not None:
            before()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = CLOCK()
            result = fn(arg)
            dt = CLOCK() - t0
        finally:
            if gc_was_enabled:
                gc.enable()
        best = min(best, dt)
    return best, result


def geomean(xs: list[float]) -> float:
    """The geometric mean of the positive values of ``xs`` (nan if there is none)."""
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def time_pair(fa, fb, arg, repeat: int) -> tuple[float, float, object, object]:
    """Best CPU time of ``fa(arg)`` and of ``fb(arg)``, timed in turns (a, b, a, b, ...), and
    their (last) results."""
    (ta, ra), (tb, rb) = time_turns([(fa, None), (fb, None)], arg, repeat)
    return ta, tb, ra, rb


def time_turns(variants, arg, repeat: int) -> list[tuple[float, object]]:
    """Best CPU time of each ``fn(arg)`` of ``variants`` (``(fn, before)`` pairs: ``before()``,
    e.g. refilling fuel, runs untimed ahead of each call), timed in turns so that load from
    elsewhere hits them alike, and its (last) result."""
    best = [float("inf")] * len(variants)
    results: list[object] = [None] * len(variants)
    for _ in range(repeat):
        for k, (f, before) in enumerate(variants):
            if before is not None:
                before()
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                t0 = time.process_time()
                results[k] = f(arg)
                dt = time.process_time() - t0
            finally:
                if gc_was_enabled:
                    gc.enable()
            best[k] = min(best[k], dt)
    return list(zip(best, results))


def bench_kernel(name: str, n: int, repeat: int, native: int | float | None,
                 epoch: bool = False) -> Result:  # fmt: skip
    wasm = build_kernel(name)
    _, inst = instantiate(wasm, count=False)
    seconds, checksum = time_call(inst.exports["run"], n, repeat)
    plain_cpu = epoch_cpu = None
    if epoch:
        _, checked = instantiate(wasm, count=False, epoch=True)
        plain_cpu, epoch_cpu, _, epoch_checksum = time_pair(inst.exports["run"],
                                                            checked.exports["run"], n, repeat)  # fmt: skip
        if epoch_checksum != checksum:
            checksum = f"{checksum} (epoch run: {epoch_checksum})"  # shows as a mismatch
    store, inst = instantiate(wasm, count=True)
    store.instructions = 0
    counted = inst.exports["run"](n)
    return Result(name, n, seconds, store.instructions, checksum, native, counted, plain_cpu,
                  epoch_cpu)  # fmt: skip


def format_table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def fmt_value(v: int | float | None) -> str:
    if v is None:
        return "-"
    return repr(v) if isinstance(v, float) else str(v)


def check_label(r: Result) -> str:
    if r.checksum != r.counted_checksum:
        return "MISMATCH (counting run)"
    if r.native is None:
        return "no native"
    return "ok" if r.checksum == r.native else "MISMATCH"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Run the wasm2py benchmark kernels (Python tier) and print a table."
    )
    ap.add_argument("--quick", action="store_true", help="small n (smoke test)")
    ap.add_argument(
        "--kernel", action="append", choices=list(KERNELS), metavar="NAME",
        help=f"run only this kernel (repeatable; one of {', '.join(KERNELS)})",
    )  # fmt: skip
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per kernel (best of)")
    ap.add_argument("--n", type=int, default=None, help="override n (with --kernel)")
    ap.add_argument("--no-native", action="store_true", help="skip the native (gcc) cross-check")
    ap.add_argument("--cpu", action="store_true",
                    help="time with the process's CPU time instead of wall time")  # fmt: skip
    ap.add_argument("--epoch", action="store_true",
                    help="also time with Config(epoch_interruption=True) (deadline never hit)")
    args = ap.parse_args(argv)
    if args.cpu:
        use_cpu_clock()

    reason = clang_missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    names = args.kernel or list(KERNELS)
    repeat = args.repeat or (1 if args.quick else 3)

    results: list[Result] = []
    for name in names:
        kernel = KERNELS[name]
        n = args.n if args.n is not None else kernel.quick_n if args.quick else kernel.n
        native = None
        if not args.no_native:
            try:
                native = run_native(name, [n])[0]
            except ToolMissing as e:
                print(f"warning: {e}; skipping the native check", file=sys.stderr)
        try:
            r = bench_kernel(name, n, repeat, native, args.epoch)
        except Exception as e:  # a wasm2py bug or trap: report it, go on with the others
            print(f"{name}: wasm2py error: {type(e).__name__}: {e}", file=sys.stderr)
            results.append(Result(name, n, float("nan"), 0, f"{type(e).__name__}", native, None))
            continue
        results.append(r)
        print(f"  {name:<9} n={n:<7} {r.seconds:8.3f} s  {'ok' if r.ok else 'MISMATCH'}",
              file=sys.stderr, flush=True)  # fmt: skip

    headers = [
        "kernel",
        "n",
        "time (s)",
        "instructions",
        "ns/instr",
        "checksum",
        native_label(),
        "check",
    ]
    if args.epoch:
        headers[3:3] = ["plain cpu s", "epoch cpu s", "epoch/plain"]
    rows = []
    for r in results:
        ns_per = r.seconds * 1e9 / r.instructions if r.instructions else float("nan")
        row = [
            r.kernel, str(r.n), f"{r.seconds:.3f}", f"{r.instructions:,}", f"{ns_per:.1f}",
            fmt_value(r.checksum), fmt_value(r.native),
            check_label(r),
        ]  # fmt: skip
        if args.epoch:
            p, e = r.plain_cpu, r.epoch_cpu
            row[3:3] = ["-"] * 3 if p is None or e is None else [f"{p:.3f}", f"{e:.3f}",
                                                                 f"{e / p:.3f}"]  # fmt: skip
        rows.append(row)
    print(f"wasm2py {wasm2py.__version__}, Python tier, Python {sys.version.split()[0]}; "
          f"time = best of {repeat} ({'CPU' if args.cpu else 'wall'}, default config), "
          f"instructions from a "
          f"count_instructions=True run")  # fmt: skip
    print(format_table(headers, rows, right=set(range(1, 10 if args.epoch else 7))))
    total = sum(r.seconds for r in results)
    instrs = sum(r.instructions for r in results)
    if instrs:
        print(f"total: {total:.3f} s, {instrs:,} instructions, {total * 1e9 / instrs:.1f} ns/instr")
    if args.epoch:
        timed = [r for r in results if r.epoch_cpu is not None and r.plain_cpu is not None]
        if timed:
            e_total = sum(r.epoch_cpu for r in timed)  # type: ignore[misc]
            p_total = sum(r.plain_cpu for r in timed)  # type: ignore[misc]
            print(f"epoch interruption: {e_total:.3f} s CPU vs {p_total:.3f} s plain "
                  f"({e_total / p_total:.3f}x; checks run, deadline never hit)")  # fmt: skip
    bad = [r.kernel for r in results if not r.ok]
    if bad:
        print(f"CHECKSUM MISMATCH: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
