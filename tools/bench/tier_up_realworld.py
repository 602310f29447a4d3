"""``tier="auto"`` on the real programs of ``tools/realworld`` (built with its ``build.py``):
``wasm2py run --tier auto`` in a fresh process with an empty cache (*cold*: Python start-up,
decoding, translating functions as they are first called, running, compiling hot functions
in the worker process) and again with the cache of that run (*warm*), against wasmtime (PyPI,
Cranelift compile + run in process) on the same ``.wasm``. CPU seconds, children included;
output and exit status checked against wasmtime's (else the native build's).

wasm2py runs as an installed copy does, from bytecode compiled beforehand
(``tools.bytecode.installed_env``); ``--source`` runs it as the environment has it
(with ``PYTHONDONTWRITEBYTECODE`` set, every run then compiles wasm2py's sources too).

    python tools/bench/tier_up_realworld.py [LABEL ...] [--heavy] [--wasm2py PATH] [--against PATH]

``LABEL``: cases by label (``bench.lua``, ``bench.scm``, ``bench.js``, ``in-memory SQL``...;
default all built); ``--heavy``: the compute-heavy cases instead (``tools.realworld.run.heavy_cases``:
``heavy.lua``, ``heavy.js``, ``heavy.scm``, ``in-memory SQL, heavy``; ~0.5 s each natively,
where the default ones run in ~0.01 s and measure mostly warming up); ``--wasm2py PATH``: run the wasm2py checkout at PATH instead (e.g. an
older commit, for before/after figures); ``--against PATH``: also run the checkout at PATH,
alternating with this one case by case (cold and warm of one, then of the other), so that
both see the same load; its rows are marked ``(against)``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.realworld import run as realworld_run  # noqa: E402
from tools.realworld.build import BIN  # noqa: E402
from tools.realworld.run import cases, heavy_cases, run_native, run_wasm2py, run_wasmtime  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labels", nargs="*")
    ap.add_argument("--wasm2py", help="checkout of wasm2py to run (default: this one)")
    ap.add_argument("--against", help="checkout of wasm2py to run too, alternating")
    ap.add_argument("--heavy", action="store_true", help="the compute-heavy cases")
    ap.add_argument("--no-wasmtime", action="store_true")
    ap.add_argument("--source", action="store_true", help="no bytecode compiled first")
    args = ap.parse_args(argv)
    realworld_run.SOURCE_ONLY = args.source
    base = os.environ.get("PYTHONPATH", "")
    # (this checkout by default, whatever wasm2py is installed; and never the one in the
    # working directory, which ``python -c`` and ``-m`` would put first on sys.path)
    os.environ["PYTHONSAFEPATH"] = "1"
    paths = {"": (args.wasm2py or str(ROOT)) + os.pathsep + base}
    if args.against:
        paths[" (against)"] = args.against + os.pathsep + base
    rows, ratios = [], {}
    for case in heavy_cases() if args.heavy else cases():
        if args.labels and case.label not in args.labels:
            continue
        if not (BIN / f"{case.program}.wasm").exists():
            continue
        native = run_native(case)
        wt = None if args.no_wasmtime else run_wasmtime(case)
        for mark, path in paths.items():
            os.environ["PYTHONPATH"] = path
            row = _row(case, mark, native, wt, ratios)
            rows.append(row)
            print(*row, sep=" | ", flush=True)
    head = ["case", "native", "wasmtime", "auto cold", "auto warm", "cold/wt", "warm/wt", "check"]
    widths = [max(len(str(r[k])) for r in [head, *rows]) for k in range(len(head))]
    print()
    for r in [head, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))
    for (mark, name), vals in ratios.items():
        geo = math.exp(sum(math.log(v) for v in vals) / len(vals))
        print(f"geomean {name}/wasmtime{mark}: {geo:.1f}x")
    return 0 if all(r[-1] == "ok" for r in rows) else 1


def _row(case, mark: str, native, wt, ratios: dict) -> list[str]:
    """Cold and warm runs of ``case`` with the wasm2py on ``PYTHONPATH``: the table's row."""
    cache = tempfile.mkdtemp(prefix="tierup-rw-")
    try:
        cold = run_wasm2py(case, "auto", cache)
        warm = run_wasm2py(case, "auto", cache)
    finally:
        shutil.rmtree(cache)
    # (checked against wasmtime when it ran: the same wasm build; tinyscheme's wasm and
    # native builds differ on their own, a 32-bit long in its random generator)
    ref = wt if wt else native
    ok = all(r[1:3] == ref[1:3] for r in (cold, warm))
    row = [f"{case.program} {case.label}{mark}", f"{native[0]:.2f}",
           f"{wt[0]:.2f}" if wt else "-", f"{cold[0]:.2f}", f"{warm[0]:.2f}"]  # fmt: skip
    if wt:
        for name, r in (("cold", cold), ("warm", warm)):
            ratios.setdefault((mark, name), []).append(r[0] / wt[0])
        row += [f"{cold[0] / wt[0]:.1f}x", f"{warm[0] / wt[0]:.1f}x"]
    else:
        row += ["-", "-"]
    return row + ["ok" if ok else "MISMATCH"]


if __name__ == "__main__":
    sys.exit(main())
