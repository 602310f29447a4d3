"""The SIMD kernel in the Python tier, the LLVM tier and wasmtime: ``kernels/simd_filter.c``
built twice, with and without ``-msimd128`` (clang's auto-vectoriser emits v128 code), timed and
counted like ``run_kernels.py``.

Prints, per build: wall time of ``run(n)`` in the Python tier (best of ``--repeat``), executed
wasm instructions (``Config(count_instructions=True)``), ns per instruction, the SIMD
instructions in the binary, and the checksum, which must be the same for both builds (exit
status 1 otherwise). Then a second table: compute time of ``run(--big-n)`` (compilation
excluded) in the LLVM tier (``wasm2py.llvm``, ``--opt``) and in wasmtime (the ``wasmtime`` PyPI
package, if installed), their ratio, and the checksums (which must agree).

Usage::

    python tools/bench/simd_kernel.py [--n N] [--big-n N] [--repeat K] [--opt L] [--no-python]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tools.bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bench.build import KERNEL_DIR, WASM_FLAGS, build_kernel, clang_missing
from tools.bench.run_kernels import format_table, instantiate, time_call
from wasm2py.binary.decoder import decode_module
from wasm2py.binary.opcodes import SIMD_BASE

SOURCE = KERNEL_DIR / "simd_filter.c"


def simd_ops(wasm: Path) -> int:
    """How many SIMD instructions the module's code holds (static count)."""
    module = decode_module(wasm.read_bytes())
    return sum(1 for code in module.codes for ins in code.body if ins.op >= SIMD_BASE)


def llvm_time(wasm: Path, n: int, repeat: int, opt: int) -> tuple[float, object]:
    """Compute time of ``run(n)`` in the LLVM tier (compiled beforehand), and its result."""
    import wasm2py
    from wasm2py import llvm
    from wasm2py.validate.validator import validate_module

    m = decode_module(wasm.read_bytes())
    validate_module(m)
    inst = llvm.instantiate(wasm2py.Store(), llvm.compile_module(m, opt))
    return time_call(inst.exports["run"], n, repeat)


def wasmtime_time(wasm: Path, n: int, repeat: int) -> tuple[float, object] | None:
    """Compute time of ``run(n)`` in wasmtime (None if it is not installed)."""
    try:
        import wasmtime
    except ImportError:
        return None
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, wasm.read_bytes()), [])
    run = inst.exports(store)["run"]
    return time_call(lambda a: run(store, a), n, repeat)


def compiled_table(builds, n: int, repeat: int, opt: int) -> tuple[str, bool]:
    """The LLVM tier / wasmtime table, and whether every checksum agreed."""
    rows = []
    ok = True
    for label, wasm in builds:
        l_s, l_sum = llvm_time(wasm, n, repeat, opt)
        wt = wasmtime_time(wasm, n, repeat)
        if wt is not None and wt[1] != l_sum:
            ok = False
        rows.append([label, f"{l_s * 1e3:.2f}", "-" if wt is None else f"{wt[0] * 1e3:.2f}",
                     "-" if wt is None else f"{l_s / wt[0]:.2f}", str(l_sum),
                     "-" if wt is None else ("ok" if wt[1] == l_sum else "MISMATCH")])  # fmt: skip
    headers = ["build", "llvm ms", "wasmtime ms", "llvm/wasmtime", "checksum", "check"]
    title = (f"simd_filter.c, run({n}), compute time (best of {repeat}, compilation excluded), "
             f"LLVM tier -O{opt}")  # fmt: skip
    return title + "\n" + format_table(headers, rows, right={1, 2, 3, 4}), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best taken")
    parser.add_argument("--big-n", type=int, default=20_000,
                        help="rounds for the LLVM tier and wasmtime (default 20000)")
    parser.add_argument("--opt", type=int, default=2, help="LLVM optimisation level (0-3)")
    parser.add_argument("--no-python", action="store_true", help="skip the Python tier")
    parser.add_argument("--no-llvm", action="store_true",
                        help="skip the LLVM tier / wasmtime table")  # fmt: skip
    args = parser.parse_args(argv)
    reason = clang_missing()
    if reason:
        print(f"skipped: {reason}", file=sys.stderr)
        return 0
    rows = []
    checksums = set()
    builds = [(label, build_kernel(SOURCE, flags=flags))
              for label, flags in (("-msimd128", (*WASM_FLAGS, "-msimd128")),
                                   ("scalar", WASM_FLAGS))]  # fmt: skip
    status = 0
    if not args.no_llvm:
        table, ok = compiled_table(builds, args.big_n, args.repeat, args.opt)
        print(table)
        print()
        if not ok:
            print("LLVM tier and wasmtime checksums differ", file=sys.stderr)
            status = 1
    if args.no_python:
        return status
    for label, wasm in builds:
        _, inst = instantiate(wasm, count=False)
        seconds, checksum = time_call(inst.exports["run"], args.n, args.repeat)
        store, inst = instantiate(wasm, count=True)
        store.instructions = 0
        counted = inst.exports["run"](args.n)
        checksums |= {checksum, counted}
        n_instr = store.instructions
        rows.append([label, f"{seconds * 1e3:.1f}", f"{n_instr:,}",
                     f"{seconds * 1e9 / n_instr:.0f}", str(simd_ops(wasm)), str(checksum)])  # fmt: skip
    headers = ["build", "ms", "instructions", "ns/instr", "SIMD ops in code", "checksum"]
    print(f"simd_filter.c, run({args.n}), Python tier")
    print(format_table(headers, rows, right={1, 2, 3, 4, 5}))
    if len(checksums) != 1:
        print("checksums differ", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
