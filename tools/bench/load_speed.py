"""How fast modules load: decode and validation speed, a cold ``Module()`` next to wasmtime's
``Module()`` on the same bytes, peak memory, a warm ``Module()`` and the time to the first call.

Default module: the ~450 KB, 600-function module of ``tools/bigmodule/generate.py`` (its
``run(1)`` is the first call). Others with ``--wasm PATH [--invoke NAME ARG...]`` (an export
taking i32 arguments) or ``--wasm PATH --wasi ARG... [--dir HOST::GUEST]`` (the first call runs
a WASI command to completion, its output captured); without either, the first call is not
measured.

Each measurement runs in a fresh process (CPU time of that process: ``time.process_time``),
with an empty private cache unless it says "warm":

* ``decode``: the sections, then every function body to instructions (KiB of module / s);
* ``validate``: ``validate_module`` (decodes each body again and type-checks it);
* ``Module() cold``: what ``wasm2py.Module`` costs a first run (decode + validate; no function
  is translated before its first call), and ``wasmtime.Module`` on the same bytes (Cranelift
  compiles every function), if the ``wasmtime`` package is installed;
* ``peak memory``: the maximum resident set size of the process that made the cold ``Module()``
  (Python and wasm2py included; ``baseline`` is a process that only imported wasm2py);
* ``Module() warm``: a later run's (the module is known to be valid: only decoded);
* ``first call cold`` / ``warm``: ``Module()``, ``Instance()`` and the first call, which
  translates the functions it runs (cold) or finds them in the cache (warm).

``--programs [NAME...]`` measures the real programs of ``tools/realworld`` instead (built by its
``build.py``; default lua, sqlite3, duk and tinyscheme), one row each, best of ``--repeat``
runs: decode, validate, a cold ``Module()`` with ``--tier`` (default ``auto``, which also
scans every body for the LLVM tier) and ``start``: a cold ``wasm2py run --tier auto`` process
up to its first wasm instruction (the CPU of the whole process: interpreter, imports,
``Module()``, instantiation; the program's ``_start`` is not run). ``--against PATH``: also
measure the wasm2py checkout at PATH, alternating with this one, for before/after figures.

wasm2py runs from bytecode compiled beforehand, as an installed copy does
(``tools.bytecode.installed_env``).

Usage::

    python tools/bench/load_speed.py [--functions N] [--wasm PATH [--invoke NAME ARG...]]
    python tools/bench/load_speed.py --wasm python.wasm --dir Lib::/usr/local/lib/python3.11 \
        --wasi -S -c "print(6*7)"
    python tools/bench/load_speed.py --programs [lua sqlite3 ...] [--against PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from tools.bytecode import installed_env  # noqa: E402

#: the real programs measured by ``--programs`` without names
PROGRAMS = ("lua", "sqlite3", "duk", "tinyscheme")

CHILD = r"""
import json, os, resource, sys, time
path, what, invoke = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
data = open(path, "rb").read()
out = {}
t0 = time.process_time()
if what == "baseline":
    import wasm2py
elif what == "decode":
    from wasm2py.binary.decoder import decode_module
    t0 = time.process_time()
    m = decode_module(data, check_bodies=False)
    out["sections"] = time.process_time() - t0
    for code in m.codes:
        code.body
elif what == "validate":
    from wasm2py.binary.decoder import decode_module
    from wasm2py.validate.validator import validate_module
    m = decode_module(data, check_bodies=False)
    t0 = time.process_time()
    validate_module(m)
elif what == "wasmtime":
    import wasmtime
    t0 = time.process_time()
    wasmtime.Module(wasmtime.Engine(), data)
elif what in ("module", "first"):
    import wasm2py
    config = wasm2py.Config(**({"tier": invoke["tier"]} if isinstance(invoke, dict)
                               and "tier" in invoke else {}))
    t0 = time.process_time()
    m = wasm2py.Module(wasm2py.Engine(config), data)
    if what == "first" and isinstance(invoke, dict) and "argv" in invoke:
        import io
        from wasm2py.wasi import WasiConfig, run
        stdout = io.BytesIO()
        cfg = WasiConfig(argv=invoke["argv"], preopens=invoke["dirs"], stdout=stdout)
        status = run(m, cfg, wasm2py.Store(m.engine))
        out["result"] = f"exit {status}, stdout {stdout.getvalue()[:60]!r}"
    elif what == "first":
        inst = wasm2py.Instance(wasm2py.Store(m.engine), m, {})
        name, args = invoke
        out["result"] = inst.exports[name](*args)
out["cpu"] = time.process_time() - t0
out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


#: ``wasm2py run --tier auto PATH`` (argv[1]) stopped at its first wasm instruction: the entry
#: point is called by ``wasi.call_entry``, replaced here by a report of the process's CPU
START = r"""
import json, os, resource, sys
import wasm2py.wasi

def entry(instance, name):
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": r.ru_utime + r.ru_stime}))
    sys.stdout.flush()
    os._exit(0)

wasm2py.wasi.call_entry = entry
from wasm2py.cli import main
sys.argv = ["wasm2py", "run", "--tier", "auto", sys.argv[1]]
sys.exit(main())
"""


def child(path: Path, what: str, cache: str, invoke=None, tree: Path = ROOT) -> dict:
    env = {**installed_env({**os.environ, "PYTHONPATH": str(tree)}), "WASM2PY_CACHE_DIR": cache,
           "PYTHONSAFEPATH": "1"}  # (never a wasm2py in the working directory)  # fmt: skip
    if what == "start":
        argv = [sys.executable, "-c", START, str(path)]
    else:
        argv = [sys.executable, "-c", CHILD, str(path), what, json.dumps(invoke)]
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{what} of {path} failed ({tree}):\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


def programs(names: list[str], trees: list[Path], repeat: int, tier: str) -> None:
    """Print the ``--programs`` table: per program and checkout, the best of ``repeat``
    fresh processes (each with an empty cache) for every column, checkouts alternating."""
    from tools.realworld.build import BIN

    cols = ("decode", "validate", f"Module() {tier}", "start")
    print(f"CPU seconds, best of {repeat}; Module(): cold, tier {tier!r}; start: `wasm2py run "
          f"--tier auto` up to the first wasm instruction, whole process")  # fmt: skip
    print(f"{'program':<12} {'KiB':>6}  {'checkout':<28} " + " ".join(f"{c:>15}" for c in cols))
    for name in names:
        path = BIN / f"{name}.wasm"
        best: dict[Path, dict[str, float]] = {t: {} for t in trees}
        for _ in range(repeat):
            for tree in trees:
                for col, what in zip(cols, ("decode", "validate", "module", "start")):
                    with tempfile.TemporaryDirectory() as tmp:
                        cpu = child(path, what, tmp, {"tier": tier}, tree)["cpu"]
                    got = best[tree]
                    got[col] = min(got.get(col, cpu), cpu)
        for tree in trees:
            cells = " ".join(f"{best[tree][c]:>15.3f}" for c in cols)
            print(f"{name:<12} {path.stat().st_size / 1024:>6,.0f}  {str(tree)[-28:]:<28} {cells}",
                  flush=True)  # fmt: skip


def measure(path: Path, invoke=None) -> list[tuple[str, str]]:
    kib = path.stat().st_size / 1024
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cold = str(Path(tmp) / "cold")
        d = child(path, "decode", cold)
        rows.append(("decode (sections + every body)",
                     f"{d['cpu']:.3f} s  {kib / d['cpu']:,.0f} KiB/s  (sections alone "
                     f"{d['sections'] * 1000:.0f} ms)"))  # fmt: skip
        v = child(path, "validate", cold)
        rows.append(("validate (decodes each body again)",
                     f"{v['cpu']:.3f} s  {kib / v['cpu']:,.0f} KiB/s"))  # fmt: skip
        m = child(path, "module", cold)
        try:
            w = child(path, "wasmtime", cold)
        except subprocess.CalledProcessError:
            w = None
        ratio = f"  wasmtime.Module: {w['cpu']:.3f} s ({m['cpu'] / w['cpu']:.2f}x)" if w else ""
        rows.append(("Module() cold", f"{m['cpu']:.3f} s{ratio}"))
        base = child(path, "baseline", cold)
        rows.append(("peak memory of that process",
                     f"{m['maxrss'] / 2**20:.0f} MB  (baseline {base['maxrss'] / 2**20:.0f} MB)"))  # fmt: skip
        warm = child(path, "module", cold)
        rows.append(("Module() warm (known valid)", f"{warm['cpu']:.3f} s"))
        if invoke is not None:
            fresh = str(Path(tmp) / "first")
            f1 = child(path, "first", fresh, invoke)
            f2 = child(path, "first", fresh, invoke)
            if isinstance(invoke, dict):
                call = "_start " + " ".join(invoke["argv"][1:])
            else:
                call = f"{invoke[0]}({', '.join(map(str, invoke[1]))})"
            rows.append((f"first call cold: Module+Instance+{call}",
                         f"{f1['cpu']:.3f} s  (result {f1['result']})"))  # fmt: skip
            rows.append(("first call warm", f"{f2['cpu']:.3f} s"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=600, help="size of the generated module")
    ap.add_argument("--wasm", type=Path, help="measure this module instead")
    ap.add_argument("--invoke", nargs="+", metavar="NAME_ARGS", help="export and i32 arguments")
    ap.add_argument("--wasi", nargs=argparse.REMAINDER, metavar="ARG",
                    help="(last) the first call runs the module as a WASI command with the arguments after it")
    ap.add_argument("--dir", action="append", default=[], metavar="HOST::GUEST",
                    help="a directory to preopen for --wasi")  # fmt: skip
    ap.add_argument("--programs", nargs="*", metavar="NAME",
                    help=f"the real programs of tools/realworld (default {' '.join(PROGRAMS)})")  # fmt: skip
    ap.add_argument("--against", type=Path, metavar="PATH",
                    help="--programs: also measure the wasm2py checkout at PATH, alternating")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3, help="--programs: best of N runs")
    ap.add_argument("--tier", default="auto", help="--programs: the tier of Module()")
    args = ap.parse_args(argv)
    if args.programs is not None:
        trees = [ROOT] + ([args.against.resolve()] if args.against else [])
        programs(args.programs or list(PROGRAMS), trees, args.repeat, args.tier)
        return 0
    if args.wasm is None:
        from tools.bigmodule.generate import build

        path, invoke = build(args.functions), ["run", [1]]
    else:
        path = args.wasm
        invoke = [args.invoke[0], [int(a, 0) for a in args.invoke[1:]]] if args.invoke else None
        if args.wasi:
            dirs = dict(reversed(d.split("::", 1)) if "::" in d else (d, d) for d in args.dir)
            invoke = {"argv": [path.name, *args.wasi], "dirs": dirs}
    rows = measure(path, invoke)
    print(f"module: {path} ({path.stat().st_size / 1024:,.0f} KiB); CPU time per process")
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
