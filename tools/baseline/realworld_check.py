"""Check the real programs under ``wasm2py run --tier auto`` (the baseline tier first) against
their native builds: every workload of ``tools/realworld/run.py`` (its cases and its heavy
cases) plus minigzip compressing at levels 1, 6 and 9 and decompressing each result; each run
cold (empty cache) and warm (the baseline code cached by the cold run placed at
instantiation). Output, exit status and resulting files must equal the native run's.

    PYTHONPATH=. python tools/baseline/realworld_check.py [--tier auto] [NAME ...]

Prints one line per run (CPU seconds, children included) and exits 1 if any run differs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.realworld import run as rw  # noqa: E402


def level_cases() -> list:
    text = rw.corpus()
    out = []
    for level in (1, 6, 9):
        gz = subprocess.run([rw.BIN / "minigzip.native", f"-{level}"], input=text,
                            capture_output=True, check=True).stdout  # fmt: skip
        out += [rw.Case("minigzip", f"compress -{level}", [f"-{level}"], text),
                rw.Case("minigzip", f"decompress (-{level})", ["-d"], gz)]  # fmt: skip
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", default="auto")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    rw.SOURCE_ONLY = True  # (the wasm2py of this process's PYTHONPATH)
    cases = rw.cases() + rw.heavy_cases() + level_cases()
    if args.names:
        cases = [c for c in cases if c.program in args.names]
    bad = 0
    for case in cases:
        _, rc, out, files = rw.run_native(case)
        with tempfile.TemporaryDirectory(prefix="rw-cache-") as cache:
            for kind in ("cold", "warm"):
                t, rc2, out2, files2, err = rw.run_wasm2py(case, args.tier, cache)
                ok = (rc, out, files) == (rc2, out2, files2)
                bad += not ok
                print(f"{'ok  ' if ok else 'DIFF'} {case.program:10} {case.label:24} {kind} "
                      f"{t:6.2f} s", flush=True)  # fmt: skip
                if not ok:
                    print(f"     exit {rc} vs {rc2}; stdout {len(out)} vs {len(out2)} bytes; "
                          f"stderr: {err[-2000:].decode(errors='replace')}")  # fmt: skip
    print(f"{len(cases) * 2 - bad} ok, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
