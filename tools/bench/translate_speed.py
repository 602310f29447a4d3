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

Usage::

    python tools/bench/translate_speed.py [--functions N] [--repeat K]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bigmodule.generate import build  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
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
    sys.exit(main())
