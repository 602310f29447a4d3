"""Size of the LLVM IR the LLVM tier builds for the benchmark module of ``tools/bigmodule``, with
guard-page bounds checks (``wasm2py.llvm.guard``) and with explicit ones: lines, basic blocks
and instructions of the unoptimised text, and the CPU seconds of building it and of LLVM's
parsing, quick pipeline and ``O2``, for one part of the module (the first ``--functions``
functions; all of them with 0), without the shell (``--shell``: with the trampolines and
every function's entry wrapper, which are landings in guard mode). "explicit" is the lowering
without guard pages (as before them), "guard" what this host compiles now.

Usage::

    python tools/bench/llvm_ir_size.py [--functions N] [--module-functions 600]
    python tools/bench/llvm_ir_size.py --functions 0 --shell --count-only   # whole module
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bigmodule.generate import build  # noqa: E402


def measure(module, funcs, guard: bool, shell: bool, compile: bool = True) -> dict:
    from wasm2py.llvm import jit
    from wasm2py.llvm.lower import build_text

    tm = jit.host_target_machine(2)
    part = (funcs, shell)
    t0 = time.process_time()
    # explicit: the lowering as it was before guard pages (no landings either)
    text = build_text(module, simd_isa=jit.simd_isa(tm), part=part, guard=guard, landings=guard)
    t1 = time.process_time()
    lines = text.splitlines()
    blocks = sum(1 for ln in lines if ln and not ln[0].isspace() and ln.rstrip().endswith(":")
                 or ln.startswith("define"))  # fmt: skip
    instrs = sum(1 for ln in lines if ln.startswith("  "))
    out = {"lines": len(lines), "blocks": blocks, "instructions": instrs, "lower": t1 - t0}
    for level in (jit.QUICK, 2) if compile else ():
        t0 = time.process_time()
        mod = jit.parse(text, tm)
        t1 = time.process_time()
        jit.optimize(mod, tm, level)
        t2 = time.process_time()
        tm.emit_object(mod)
        t3 = time.process_time()
        name = "quick" if level == jit.QUICK else "O2"
        out["parse"] = t1 - t0
        out[f"{name} passes"] = t2 - t1
        out[f"{name} codegen"] = t3 - t2
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=100,
                    help="lower the first N defined functions (0: all)")  # fmt: skip
    ap.add_argument("--module-functions", type=int, default=600)
    ap.add_argument("--count-only", action="store_true", help="only count the IR (no LLVM)")
    ap.add_argument("--shell", action="store_true",
                    help="with the shell: trampolines and the entry wrappers of every function")  # fmt: skip
    args = ap.parse_args(argv)
    from wasm2py.binary.decoder import decode_module
    from wasm2py.llvm.facts import with_bodies
    from wasm2py.validate.validator import validate_module

    m = decode_module(build(args.module_functions).read_bytes())
    validate_module(m)
    m = with_bodies(m)
    nimp = m.num_imported_funcs
    n = len(m.funcs) if args.functions <= 0 else min(args.functions, len(m.funcs))
    funcs = range(nimp, nimp + n)
    rows = {g: measure(m, funcs, g, args.shell, not args.count_only) for g in (False, True)}
    print(f"{n} functions of the {len(m.raw)}-byte module; CPU seconds")
    print(f"{'':20}{'explicit':>12}{'guard':>12}{'guard/explicit':>16}")
    for k in rows[False]:
        a, b = rows[False][k], rows[True][k]
        fmt = "{:>12.3f}" if isinstance(a, float) else "{:>12d}"
        print(f"{k:20}" + fmt.format(a) + fmt.format(b) + f"{b / a if a else 0:>16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
