"""The LLVM tier on the compute kernels, next to native gcc -O2 and wasmtime.

For each kernel in ``kernels/``: compile time of the LLVM tier (lower to IR, parse, optimise,
machine code) and of wasmtime, then compute time of ``run(n)`` (best of ``--repeat``; compile
time excluded) in the LLVM tier, in wasmtime (the ``wasmtime`` PyPI package, if installed) and
natively (gcc -O2; the process is timed with ``n`` repeated ``--repeat`` times, minus an empty
run). Checksums are compared with the native ones. Last, the cost of one call of an exported
function (``add(a, b)`` of ``kernels/calls.c``) from Python. With ``--epoch``, the CPU time of
``run(n)`` without and with epoch checks compiled in (``Config(epoch_interruption=True)``, a
deadline never hit), timed in turns, in the LLVM tier and in wasmtime, and the ratios.

Usage::

    python tools/bench/llvm_kernels.py                 # full size, default -O2
    python tools/bench/llvm_kernels.py --quick         # smoke test
    python tools/bench/llvm_kernels.py --opt 3 --kernel nbody --repeat 5
    python tools/bench/llvm_kernels.py --epoch --no-calls      # cost of epoch checks
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import timeit
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tools.bench.build import KERNELS, build_kernel, build_native, native_missing
from tools.bench.run_kernels import format_table, geomean, time_call, time_pair, use_cpu_clock
from wasm2py.binary.decoder import decode_module
from wasm2py.validate.validator import validate_module

#: full size for compiled code (about 0.1-0.5 s natively); the kernels' own ``n`` is sized for
#: the Python tier (sieve's 300,000 ran in under a millisecond here, too short to time; its
#: kernel clamps ``n`` to 4,000,000: ~10 ms)
BIG_N = {"fib": 36, "memloops": 9_000, "nbody": 2_000_000, "mandel": 2_000, "hash": 80_000,
         "sort": 1_000_000, "calls": 20_000_000, "sieve": 4_000_000}  # fmt: skip


def llvm_run(name: str, opt: int, epoch: bool = False):
    """Compile seconds, phase timings and ``run`` of a kernel in the LLVM tier."""
    from wasm2py import llvm

    data = build_kernel(name).read_bytes()
    m = decode_module(data)
    validate_module(m)
    t = time.perf_counter()
    cm = llvm.compile_module(m, opt, epoch=epoch)
    compile_s = time.perf_counter() - t
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(epoch_interruption=epoch)))
    if epoch:
        store.set_epoch_deadline(1 << 62)  # checked at every entry and loop header, never hit
    inst = llvm.instantiate(store, cm)
    return compile_s, cm.timings, inst.exports["run"]


def llvm_kernel(name: str, n: int, repeat: int, opt: int):
    compile_s, timings, run = llvm_run(name, opt)
    seconds, checksum = time_call(run, n, repeat)
    return compile_s, timings, seconds, checksum


def wasmtime_run(name: str, epoch: bool):
    """``run`` of a kernel in wasmtime (with epoch checks: a deadline never hit), or None."""
    try:
        import wasmtime
    except ImportError:
        return None
    config = wasmtime.Config()
    config.epoch_interruption = epoch
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    if epoch:
        store.set_epoch_deadline(1 << 62)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, build_kernel(name).read_bytes()), [])
    run = inst.exports(store)["run"]
    return lambda a: run(store, a)


def wasmtime_kernel(name: str, n: int, repeat: int):
    try:
        import wasmtime
    except ImportError:
        return None
    data = build_kernel(name).read_bytes()
    engine = wasmtime.Engine()
    t = time.perf_counter()
    module = wasmtime.Module(engine, data)
    compile_s = time.perf_counter() - t
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, module, [])
    run = inst.exports(store)["run"]
    seconds, checksum = time_call(lambda a: run(store, a), n, repeat)
    return compile_s, seconds, checksum


def native_kernel(name: str, n: int, repeat: int):
    if native_missing():
        return None
    exe = str(build_native(name))

    def wall(args):
        best = float("inf")
        out = ""
        for _ in range(3):
            t = time.perf_counter()
            out = subprocess.run([exe, *args], capture_output=True, text=True, check=True).stdout
            best = min(best, time.perf_counter() - t)
        return best, out

    empty, _ = wall([])
    total, out = wall([str(n)] * repeat)
    first = out.split()[0]
    checksum = float.fromhex(first) if KERNELS[name].result == "f64" else int(first)
    return max(total - empty, 0.0) / repeat, checksum


def call_overhead(number: int = 200_000) -> dict[str, float]:
    from wasm2py import llvm

    data = build_kernel("calls").read_bytes()
    store = wasm2py.Store()
    inst = llvm.instantiate(store, wasm2py.Module(store.engine, data))
    add = inst.exports["add"]
    assert add(1, 2) == 3
    out = {"llvm tier": min(timeit.repeat(lambda: add(1, 2), number=number, repeat=5)) / number}
    py = wasm2py.Instance(store, wasm2py.Module(store.engine, data), {}).exports["add"]
    out["python tier"] = min(timeit.repeat(lambda: py(1, 2), number=number, repeat=5)) / number
    try:
        import wasmtime
    except ImportError:
        return out
    engine = wasmtime.Engine()
    wstore = wasmtime.Store(engine)
    winst = wasmtime.Instance(wstore, wasmtime.Module(engine, data), [])
    wadd = winst.exports(wstore)["add"]
    k = max(number // 20, 1000)
    out["wasmtime-py"] = min(timeit.repeat(lambda: wadd(wstore, 1, 2), number=k, repeat=5)) / k
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append", help="only this kernel (repeatable)")
    ap.add_argument("--quick", action="store_true", help="small n (smoke test)")
    ap.add_argument("--n", type=int, help="argument of run(n) (one kernel)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    ap.add_argument("--python-size", action="store_true",
                    help="the Python tier's full size (milliseconds here) instead of BIG_N")
    ap.add_argument("--opt", type=int, default=2, help="LLVM optimisation level (0-3)")
    ap.add_argument("--no-calls", action="store_true", help="skip the call-overhead table")
    ap.add_argument("--cpu", action="store_true",
                    help="time runs with the process's CPU time instead of wall time")  # fmt: skip
    ap.add_argument("--epoch", action="store_true",
                    help="also time with epoch checks compiled in (LLVM tier and wasmtime)")
    args = ap.parse_args(argv)
    if args.cpu:
        use_cpu_clock()  # the native column stays wall time (a child process)
    names = args.kernel or list(KERNELS)
    rows = []
    epoch_rows = []
    ratios_wt, ratios_native = [], []
    epoch_llvm, epoch_wt = [], []
    for name in names:
        k = KERNELS[name]
        if args.n is not None:
            n = args.n
        elif args.quick:
            n = k.quick_n
        else:
            n = k.n if args.python_size else BIG_N.get(name, k.n)
        c_s, timings, l_s, l_sum = llvm_kernel(name, n, args.repeat, args.opt)
        wt = wasmtime_kernel(name, n, args.repeat)
        nat = native_kernel(name, n, args.repeat)
        ok = "ok"
        if nat is not None and nat[1] != l_sum:
            ok = "MISMATCH native"
        if wt is not None and wt[2] != l_sum:
            ok = "MISMATCH wasmtime"
        if wt is not None:
            ratios_wt.append(l_s / wt[1])
        if nat is not None and nat[0] > 0:
            ratios_native.append(l_s / nat[0])
        if args.epoch:
            lp, le, _, e_sum = time_pair(llvm_run(name, args.opt)[2],
                                         llvm_run(name, args.opt, epoch=True)[2], n, args.repeat)  # fmt: skip
            wtp, wte = wasmtime_run(name, False), wasmtime_run(name, True)
            w = None if wtp is None or wte is None else time_pair(wtp, wte, n, args.repeat)
            if e_sum != l_sum or (w is not None and w[3] != l_sum):
                ok = "MISMATCH epoch"
            epoch_llvm.append(le / lp)
            if w is not None:
                epoch_wt.append(w[1] / w[0])
            epoch_rows.append([
                name, str(n), f"{lp:.4f}", f"{le:.4f}", f"{le / lp:.3f}",
                "-" if w is None else f"{w[0]:.4f}", "-" if w is None else f"{w[1]:.4f}",
                "-" if w is None else f"{w[1] / w[0]:.3f}",
            ])  # fmt: skip
        rows.append([
            name, str(n), f"{c_s * 1e3:.0f}", f"{timings['optimize'] * 1e3:.0f}",
            "-" if wt is None else f"{wt[0] * 1e3:.0f}", f"{l_s:.4f}",
            "-" if wt is None else f"{wt[1]:.4f}", "-" if nat is None else f"{nat[0]:.4f}",
            "-" if wt is None else f"{l_s / wt[1]:.2f}",
            "-" if nat is None or nat[0] <= 0 else f"{l_s / nat[0]:.2f}", ok,
        ])  # fmt: skip
    headers = ["kernel", "n", "llvm compile ms", "(optimize)", "wasmtime compile ms", "llvm s",
               "wasmtime s", "gcc -O2 s", "llvm/wasmtime", "llvm/native", "check"]  # fmt: skip
    import llvmlite.binding as llvm

    # (the ratios depend on the CPU: e.g. the NaN check's form, see wasm2py.llvm.jit.nan_bits)
    print(f"LLVM tier at -O{args.opt}; compute times best of {args.repeat}; host CPU "
          f"{llvm.get_host_cpu_name()}")  # fmt: skip
    print(format_table(headers, rows, right=set(range(1, 10))))
    print(f"geomean llvm/wasmtime: {geomean(ratios_wt):.2f}   "
          f"geomean llvm/native: {geomean(ratios_native):.2f}")  # fmt: skip
    if args.epoch:
        print()
        print("epoch interruption (checks compiled in, deadline never hit; CPU s, timed in turns):")
        print(format_table(["kernel", "n", "llvm", "llvm+epoch", "ratio", "wasmtime",
                            "wasmtime+epoch", "ratio"], epoch_rows, right=set(range(1, 8))))  # fmt: skip
        print(f"geomean epoch/plain: llvm {geomean(epoch_llvm):.3f}   "
              f"wasmtime {geomean(epoch_wt):.3f}")  # fmt: skip
    if not args.no_calls:
        print()
        costs = call_overhead()
        print(format_table(["exported add(1, 2) from Python", "us per call"],
                           [[k, f"{v * 1e6:.2f}"] for k, v in costs.items()], right={1}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
