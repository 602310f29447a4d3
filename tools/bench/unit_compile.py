"""Compile CPU of LLVM compilation units (``tier="auto"``: a few hot functions at a time) vs
the whole module, per phase (IR built in Python, parse, optimise, code generation), in this
process, CPU seconds.

    python tools/bench/unit_compile.py [WASM] [--batch 16] [--units 4] [--levels 0,1,2]
        [--whole]

Units are batches of ``--batch`` consecutive defined functions taken from the middle of the
module (``--units`` of them); ``--whole`` also compiles the whole module as one unit at each
level (slow for big modules: tens of seconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def phases(module, level: int, batch) -> dict[str, float]:
    from wasm2py.llvm.jit import has_big_functions, host_target_machine, optimize, parse, simd_isa
    from wasm2py.llvm.lower import build_module

    tm = host_target_machine(level)
    t0 = time.process_time()
    text = str(build_module(module, simd_isa=simd_isa(tm), batch=batch))
    t1 = time.process_time()
    mod = parse(text, tm)
    t2 = time.process_time()
    optimize(mod, tm, level, has_big_functions(module, batch[0]))
    t3 = time.process_time()
    tm.emit_object(mod)
    t4 = time.process_time()
    return {"lower": t1 - t0, "parse": t2 - t1, "optimize": t3 - t2, "codegen": t4 - t3}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wasm", nargs="?", default=str(ROOT / ".cache/realworld/bin/lua.wasm"))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--units", type=int, default=4)
    ap.add_argument("--levels", default="0,1,2")
    ap.add_argument("--whole", action="store_true")
    args = ap.parse_args(argv)
    from wasm2py.binary.decoder import decode_module

    data = Path(args.wasm).read_bytes()
    module = decode_module(data)
    nimp = module.num_imported_funcs
    n = len(module.funcs)
    sizes = [len(c.body) for c in module.codes]
    print(f"{Path(args.wasm).name}: {len(data) // 1024} KiB, {n} functions, "
          f"{sum(sizes)} instructions")  # fmt: skip
    mid = max(0, n // 2 - args.batch * args.units // 2)
    batches = [frozenset(range(nimp + mid + k * args.batch,
                               nimp + min(n, mid + (k + 1) * args.batch)))
               for k in range(args.units)]  # fmt: skip
    print(f"{'unit':<28} {'level':>5} {'instrs':>7} {'lower':>7} {'parse':>7} {'opt':>7} "
          f"{'codegen':>7} {'total':>7} {'per 1k instrs':>13}")  # fmt: skip
    for level in (int(x) for x in args.levels.split(",")):
        rows = [(f"functions {min(b)}..{max(b)}", b) for b in batches if b]
        if args.whole:
            rows.append(("whole module", frozenset(range(nimp, nimp + n))))
        for label, b in rows:
            p = phases(module, level, (b, False))
            instrs = sum(sizes[i - nimp] for i in b)
            total = sum(p.values())
            print(f"{label:<28} {level:>5} {instrs:>7} {p['lower']:>7.2f} {p['parse']:>7.2f} "
                  f"{p['optimize']:>7.2f} {p['codegen']:>7.2f} {total:>7.2f} "
                  f"{1000 * total / max(instrs, 1):>13.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
