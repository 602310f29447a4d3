"""Parse speed of wasm2py's text parser on large ``.wat`` files (issue 18).

Each input is a real program printed by ``wasm-tools print``: by default the ``sqlite3`` and
``lua`` builds of ``tools/realworld`` (``python tools/realworld/build.py sqlite3 lua``; skipped
with a note if absent) and the generated module of ``tools/bigmodule``. For each it prints the
text size, the token count, the CPU time of the lexer alone and of the whole ``wat2wasm``
(best of ``--repeat`` runs), the parse speed in KB/s (1 KB = 1000 bytes of text), and the CPU
time of ``wasm-tools parse`` on the same file (a native parser, for scale). The binary must
be byte for byte the one ``wasm-tools parse`` writes.

    python tools/bench/wat_parse.py [--repeat 3] [--profile] [FILE.wasm|FILE.wat ...]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wasm2py.text import wat2wasm  # noqa: E402
from wasm2py.text.lexer import tokenize  # noqa: E402

CACHE = ROOT / ".cache" / "bench"
REALWORLD = ROOT / ".cache" / "realworld" / "bin"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wasm_tools(*args: str, data: bytes | None = None) -> tuple[bytes, float]:
    """Run ``wasm-tools``; its output and CPU time."""
    before = _children_cpu()
    proc = subprocess.run(["wasm-tools", *args], input=data, capture_output=True, check=True)
    return proc.stdout, _children_cpu() - before


def printed(wasm: Path) -> Path:
    """``wasm-tools print`` of a binary, cached under ``.cache/bench``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / (wasm.stem + ".wat")
    if not out.is_file() or out.stat().st_mtime < wasm.stat().st_mtime:
        text, _ = wasm_tools("print", str(wasm))
        out.write_bytes(text)
    return out


def default_inputs() -> list[Path]:
    inputs = []
    for name in ("sqlite3", "lua"):
        path = REALWORLD / f"{name}.wasm"
        if path.is_file():
            inputs.append(printed(path))
        else:
            print(f"note: {path} is not built (python tools/realworld/build.py {name})")
    from tools.bigmodule.generate import build

    inputs.append(printed(build(600)))
    return inputs


def best_cpu(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help=".wat files, or .wasm files to print")
    ap.add_argument("--repeat", type=int, default=3, help="runs per file (best CPU time)")
    ap.add_argument("--profile", action="store_true", help="print a profile of one parse")
    args = ap.parse_args(argv)
    files = [printed(f) if f.suffix == ".wasm" else f for f in args.files] or default_inputs()
    header = (f"{'file':<16}{'text KB':>10}{'tokens':>11}{'lex s':>8}{'parse s':>9}"
              f"{'KB/s':>8}{'wasm-tools s':>14}{'same bytes':>12}")  # fmt: skip
    print(header)
    ok = True
    for path in files:
        text = path.read_text(encoding="utf-8")
        size_kb = len(text.encode("utf-8")) / 1000
        lex_s, tokens = best_cpu(lambda text=text: tokenize(text), args.repeat)
        parse_s, binary = best_cpu(lambda text=text: wat2wasm(text), args.repeat)
        reference, tools_s = wasm_tools("parse", str(path))
        same = binary == reference
        ok &= same
        ntok = len(tokens.toks) - 1  # type: ignore[union-attr]
        print(f"{path.stem:<16}{size_kb:>10.0f}{ntok:>11}{lex_s:>8.2f}{parse_s:>9.2f}"
              f"{size_kb / parse_s:>8.0f}{tools_s:>14.2f}{'yes' if same else 'NO':>12}")
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(wat2wasm, text)
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
