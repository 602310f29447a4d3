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

Usage::

    python tools/bench/load_speed.py [--functions N] [--wasm PATH [--invoke NAME ARG...]]
    python tools/bench/load_speed.py --wasm python.wasm --dir Lib::/usr/local/lib/python3.11 \
        --wasi -S -c "print(6*7)"
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
    t0 = time.process_time()
    m = wasm2py.Module(wasm2py.Engine(), data)
    if what == "first" and "argv" in invoke:
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


def child(path: Path, what: str, cache: str, invoke=None) -> dict:
    env = {**os.environ, "WASM2PY_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", CHILD, str(path), what, json.dumps(invoke)],
                       env=env, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(p.stdout)


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
    args = ap.parse_args(argv)
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
