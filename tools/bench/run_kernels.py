"""Run the benchmark kernels in wasm2py's Python tier and print a table.

For each kernel (``tools/bench/kernels/*.c``, built by ``build.py``):

* time: wall time of ``run(n)`` alone (instantiation and translation excluded), best of
  ``--repeat`` runs, with the default configuration (no counting code), GC disabled during
  the call as ``timeit`` does;
* instructions: executed wasm instructions, from a separate instance translated with
  ``Config(count_instructions=True)``;
* ns/instr: time / instructions;
* checksum: ``run(n)``, checked against the same C compiled natively with ``gcc -O2`` (and
  against the counting run).

Usage::

    python tools/bench/run_kernels.py [--quick] [--kernel NAME ...] [--repeat K]
    python -m tools.bench.run_kernels ...

Exit status 1 if any checksum differs.
"""

from __future__ import annotations

import argparse
import gc
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

    @property
    def ok(self) -> bool:
        return self.checksum == self.counted_checksum and (
            self.native is None or self.checksum == self.native
        )


def instantiate(wasm: Path, count: bool):
    engine = wasm2py.Engine(wasm2py.Config(count_instructions=count))
    store = wasm2py.Store(engine)
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


def bench_kernel(name: str, n: int, repeat: int, native: int | float | None) -> Result:
    wasm = build_kernel(name)
    _, inst = instantiate(wasm, count=False)
    seconds, checksum = time_call(inst.exports["run"], n, repeat)
    store, inst = instantiate(wasm, count=True)
    store.instructions = 0
    counted = inst.exports["run"](n)
    return Result(name, n, seconds, store.instructions, checksum, native, counted)


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
            r = bench_kernel(name, n, repeat, native)
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
    rows = []
    for r in results:
        ns_per = r.seconds * 1e9 / r.instructions if r.instructions else float("nan")
        rows.append([
            r.kernel, str(r.n), f"{r.seconds:.3f}", f"{r.instructions:,}", f"{ns_per:.1f}",
            fmt_value(r.checksum), fmt_value(r.native),
            check_label(r),
        ])  # fmt: skip
    print(f"wasm2py {wasm2py.__version__}, Python tier, Python {sys.version.split()[0]}; "
          f"time = best of {repeat} ({'CPU' if args.cpu else 'wall'}, default config), "
          f"instructions from a "
          f"count_instructions=True run")  # fmt: skip
    print(format_table(headers, rows, right={1, 2, 3, 4, 5, 6}))
    total = sum(r.seconds for r in results)
    instrs = sum(r.instructions for r in results)
    if instrs:
        print(f"total: {total:.3f} s, {instrs:,} instructions, {total * 1e9 / instrs:.1f} ns/instr")
    bad = [r.kernel for r in results if not r.ok]
    if bad:
        print(f"CHECKSUM MISMATCH: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
