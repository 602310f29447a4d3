# ruff: noqa: B023 - the timed lambdas run inside the loop iteration that makes them
"""Spike driver: compile the bench kernels with the baseline compiler, check every result
(and the whole linear memory afterwards) against the Python tier, and time both.

    PYTHONPATH=. python tools/spike/baseline/run.py [--kernels fib,sieve] [--big]

Figures are CPU seconds (``time.process_time``), best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from compiler import CTX_GLOBALS, Code, Compiler  # noqa: E402

import wasm2py  # noqa: E402
from tools.bench.build import KERNELS, build_kernel  # noqa: E402
from tools.bench.llvm_kernels import BIG_N  # noqa: E402
from wasm2py.binary.decoder import decode_module  # noqa: E402

CLOCK = time.process_time


def best(fn, repeat):
    t = float("inf")
    r = None
    for _ in range(repeat):
        t0 = CLOCK()
        r = fn()
        t = min(t, CLOCK() - t0)
    return t, r


def instance(data: bytes, tier: str, opt: int | None = None):
    cfg = wasm2py.Config(tier=tier) if opt is None else wasm2py.Config(tier=tier, llvm_opt_level=opt, llvm_isolated=False, cache=False)
    engine = wasm2py.Engine(cfg)
    store = wasm2py.Store(engine)
    mod = wasm2py.Module(engine, data)
    return wasm2py.Instance(store, mod, {})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default="fib,sieve,memloops,hash,sort,calls")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--llvm", action="store_true", help="also time tier=llvm at level 0 and O2")
    ap.add_argument("--n", type=str, default="", help="k=n overrides")
    ap.add_argument("--no-pins", action="store_true", help="every local in its frame slot")
    ap.add_argument("--no-python", action="store_true", help="skip the Python tier (big n)")
    ap.add_argument("--no-bounds", action="store_true",
                    help="omit bounds checks (timing what guard pages would save)")
    args = ap.parse_args()
    Compiler.bounds_checks = not args.no_bounds
    Compiler.pin_locals = not args.no_pins
    over = dict(kv.split("=") for kv in args.n.split(",") if kv)
    rows = []
    for name in args.kernels.split(","):
        data = build_kernel(name).read_bytes()
        m = decode_module(data)
        # emission cost: decode each body once (the decoder's share is reported apart)
        t0 = CLOCK()
        bodies = [c.body for c in m.codes]
        t_dec = CLOCK() - t0
        comp = Compiler(m)
        t0 = CLOCK()
        done = []
        for k, body in enumerate(bodies):
            fi = m.num_imported_funcs + k
            try:
                comp.compile_func(fi, body)
                done.append(fi)
            except Exception as e:  # noqa: BLE001 - report what the subset lacks
                print(f"  {name}: f{fi} not compiled: {type(e).__name__} {e}")
                del comp.code[comp.offsets.get(fi, len(comp.code)):]
        try:
            comp.compile_all([])  # resolve calls
        except Exception as e:  # noqa: BLE001
            print(f"  {name}: {e}")
            continue
        t_emit = CLOCK() - t0
        nbytes = sum(c.end - c.start for c in m.codes)
        exp = {e.name: e.index for e in m.exports}
        run_fi = exp["run"]
        if run_fi not in done:
            print(f"  {name}: run not compiled")
            continue
        code = Code(comp, len(m.globals))
        # the baseline runs on the memory of its own Python-tier instance (data segments)
        host = instance(data, "python")
        mem = host.memory()
        mstate = host._state.memories[0]
        for g, glob in enumerate(host._state.globals):
            code.ctx[CTX_GLOBALS + g] = glob.cell[0] & 0xFFFFFFFFFFFFFFFF
        code.set_memory(mstate.address(), mstate.size_bytes)
        py = instance(data, "python")
        n = int(over.get(name, KERNELS[name].n))
        t_py, r_py = best(lambda: py.exports.run(n), 1 if args.no_python else args.repeat) \
            if not args.no_python else (float("nan"), None)
        t_bl, r_bl = best(lambda: code.call(run_fi, n), args.repeat)
        r_bl_s = ctypes.c_int64(r_bl).value
        same_mem = mem.read() == py.memory().read()

        ok = r_bl_s == r_py if not args.no_python else None
        row = {"kernel": name, "n": n, "bytes": nbytes, "instrs": comp.ninstrs,
               "code": len(comp.code), "decode_ms": t_dec * 1e3, "emit_ms": t_emit * 1e3,
               "us_per_instr": t_emit / comp.ninstrs * 1e6, "ms_per_kb": t_emit / nbytes * 1024e3,
               "py_s": t_py, "bl_s": t_bl, "speedup": t_py / t_bl if t_bl else float("inf"),
               "ok": ok, "mem": same_mem, "r": (r_py, r_bl_s)}
        if args.llvm:
            nb = int(BIG_N.get(name, n))
            t_bl2, r_bl2 = best(lambda: code.call(run_fi, nb), args.repeat)
            row["big_n"] = nb
            row["bl_big_s"] = t_bl2
            for opt in (0, 2):
                t0 = CLOCK()
                li = instance(data, "llvm", opt)
                tc = CLOCK() - t0
                t_l, r_l = best(lambda: li.exports.run(nb), args.repeat)
                row[f"llvm{opt}_s"] = t_l
                row[f"llvm{opt}_compile_s"] = tc
                row["ok"] = row["ok"] and r_l == ctypes.c_int64(r_bl2).value
        rows.append(row)
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
