"""Translation speed and the translation cache on a large module (issue 3).

Builds the ~450 KB, ~600-function module of ``tools/bigmodule/generate.py`` and prints:

* first ``Module(...)`` with ``Config(compilation_mode="eager")``: decode + validate + translate
  and compile every function (normally each is translated at its first call), with an empty
  disk cache (KB/s of wasm);
* cached ``Module(...)``: a new engine (empty memory cache) loading the same from the disk cache
  (every function's code), and the speed-up (targets: first <= 5 s, cached <= 0.1 s and >= 20x
  faster);
* the time to compile the module ahead of time to ``.py`` and to import it;
* that all three produce the same result for ``run(n)``.

With ``--realworld PROGRAM`` (``sqlite3``, ``duk``, ``lua``...: a ``.wasm`` built by
``tools/realworld/build.py``) it instead translates and compiles every ``--step``-th function
of that program the way the Python tier does at a first call under ``tier="auto"`` (no disk
cache), each run in a fresh process, and prints ms per function and KiB of wasm per second
(best of ``--repeat``); ``--against PATH`` runs another checkout the same way, alternating
with this one run by run so that both see the same load.

Usage::

    python tools/bench/translate_speed.py [--functions N] [--repeat K]
    python tools/bench/translate_speed.py --realworld sqlite3 [--step 5] [--against PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, "") and "--child" not in sys.argv:
    sys.path.insert(0, str(ROOT))


def _child(program: str, step: int) -> None:
    """Translate every ``step``-th function of ``program`` (in this process, with the wasm2py
    on ``sys.path``) and print: functions, bytes of wasm code, CPU seconds."""
    import wasm2py
    from tools.realworld.build import BIN
    from wasm2py.translate.module import compile_function, module_gen

    config = wasm2py.Config(tier="auto", cache=False)
    data = (BIN / f"{program}.wasm").read_bytes()
    module = wasm2py.Module(wasm2py.Engine(config), data)._module
    gen = module_gen(module, config)
    nimp = module.num_imported_funcs
    picked = range(0, len(module.codes), step)
    size = sum(module.codes[k].end - module.codes[k].start for k in picked)
    # (decoded first: decoding is not translation; ``Code.body`` decodes anew at each read,
    # so the bodies are kept and handed over as the lazy validator's are)
    bodies = {k: module.codes[k].body for k in picked}
    t = time.process_time()
    for k in picked:
        compile_function(gen, nimp + k, "wasm://bench", body=bodies[k])
    print(len(picked), size, time.process_time() - t)


def realworld(program: str, step: int, repeat: int, against: str | None) -> int:
    """The ``--realworld`` table (see the module docstring)."""
    checkouts = {"this": str(ROOT)} | ({"against": against} if against else {})
    best: dict[str, tuple[int, int, float]] = {}
    for _ in range(repeat):
        for label, path in checkouts.items():
            env = dict(os.environ, PYTHONPATH=path + os.pathsep + str(ROOT))
            out = subprocess.run([sys.executable, __file__, "--child", program, str(step)],
                                 env=env, check=True, capture_output=True, text=True).stdout  # fmt: skip
            n, size, t = out.split()
            if label not in best or float(t) < best[label][2]:
                best[label] = (int(n), int(size), float(t))
    print(f"{program}: every {step}th function, tier='auto', no cache (best of {repeat}; CPU)")
    print(f"{'checkout':<10} {'functions':>9} {'KiB':>6} {'seconds':>8} {'ms/fn':>7} {'KiB/s':>7}")
    for label, (n, size, t) in best.items():
        print(f"{label:<10} {n:>9} {size / 1024:>6.0f} {t:>8.2f} {1000 * t / n:>7.2f} "
              f"{size / 1024 / t:>7.0f}")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--realworld", metavar="PROGRAM")
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--against", metavar="PATH")
    args = ap.parse_args(argv)
    if args.realworld:
        return realworld(args.realworld, args.step, args.repeat, args.against)
    from tools.bigmodule.generate import build
    wasm_path = build(args.functions)
    data = wasm_path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WASM2PY_CACHE_DIR"] = str(Path(tmp) / "cache")
        os.environ["WASM2PY_CONFIG_DIR"] = str(Path(tmp) / "config")
        import wasm2py
        from wasm2py import cache

        firsts, seconds = [], []
        eager = wasm2py.Config(compilation_mode="eager")
        for _ in range(args.repeat):
            cache.clear()
            t = time.process_time()
            first = wasm2py.Module(wasm2py.Engine(eager), data)
            firsts.append(time.process_time() - t)
            t = time.process_time()
            second = wasm2py.Module(wasm2py.Engine(eager), data)
            seconds.append(time.process_time() - t)
        t = time.process_time()
        out = Path(tmp) / "bigmod.py"
        wasm2py.compile(data, out, name="big.wasm")
        t_aot = time.process_time() - t
        aot_kib = out.stat().st_size / 1024
        sys.path.insert(0, tmp)
        t = time.process_time()
        spec = importlib.util.spec_from_file_location("bigmod", out)
        aot = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(aot)
        t_import = time.process_time() - t
        results = [wasm2py.Instance(wasm2py.Store(), m, {}).exports.run(300)
                   for m in (first, second)] + [aot.instantiate().exports.run(300)]  # fmt: skip
    m = first._module
    kb = len(data) / 1024
    f, s = min(firsts), min(seconds)
    print(f"module: {wasm_path.name}, {kb:.0f} KiB, {len(m.funcs)} functions "
          f"(best of {args.repeat}; CPU seconds)")  # fmt: skip
    print(f"{'step':<38} {'seconds':>8}")
    print(f"{'first Module() (+ translate everything)':<38} {f:8.3f}   {kb / f:.0f} KiB/s")
    print(f"{'cached Module() (new engine, disk cache)':<38} {s:8.3f}   {f / s:.0f}x faster")
    print(f"{'wasm2py.compile() to .py':<38} {t_aot:8.3f}   {aot_kib:.0f} KiB")
    print(f"{'import of the .py (first, no pyc)':<38} {t_import:8.3f}")
    print(f"run(300) in-memory / cached / AOT: {results[0]} / {results[1]} / {results[2]}")
    return 0 if len(set(results)) == 1 else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
