"""The SIMD kernel in the Python tier: ``kernels/simd_filter.c`` built twice, with and without
``-msimd128`` (clang's auto-vectoriser emits v128 code), timed and counted like
``run_kernels.py``.

Prints, per build: wall time of ``run(n)`` (best of ``--repeat``), executed wasm instructions
(``Config(count_instructions=True)``), ns per instruction, the SIMD instructions in the binary,
and the checksum, which must be the same for both builds (exit status 1 otherwise).

Usage::

    python tools/bench/simd_kernel.py [--n N] [--repeat K]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best taken")
    args = parser.parse_args(argv)
    reason = clang_missing()
    if reason:
        print(f"skipped: {reason}", file=sys.stderr)
        return 0
    rows = []
    checksums = set()
    for label, flags in (("-msimd128", (*WASM_FLAGS, "-msimd128")), ("scalar", WASM_FLAGS)):
        wasm = build_kernel(SOURCE, flags=flags)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
