"""Build the benchmark kernels in ``tools/bench/kernels/``.

Each kernel is freestanding C (no libc). It is compiled

* to wasm32 with clang (``build_kernel``), for running in wasm2py, and
* natively with gcc (or ``$CC``; clang if gcc is missing) together with a tiny ``main`` that prints ``run(n)`` for each ``n`` on its
  command line (``build_native``/``run_native``), as an independent check of the checksums.

Outputs go to ``.cache/bench/`` at the project root (gitignored). The file name carries a
sha256 key over the sources (kernel and shared header), the flags and the compiler version,
so a changed input gives a new file and an unchanged one is reused.

Usage::

    from tools.bench.build import build_kernel
    path = build_kernel("fib")          # Path to the cached fib-<key>.wasm

    python tools/bench/build.py [--native] [--force] [NAME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # run as a script: make ``tools`` importable
    sys.path.insert(0, str(ROOT))

from tools.wasm_cc import RECIPE, build_wasm  # noqa: E402

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
CACHE_DIR = ROOT / ".cache" / "bench"

#: clang flags for wasm32. The entry points carry ``export_name`` attributes (see bench.h).
#: ``-fno-builtin`` keeps clang from turning loops into memcpy/memset calls (there is no libc
#: to import them from); ``-ffp-contract=off`` keeps f64 results bit-identical to gcc's.
WASM_FLAGS = (
    "--target=wasm32",
    "-O2",
    "-nostdlib",
    "-ffreestanding",
    "-fno-builtin",
    "-ffp-contract=off",
    "-Wall",
    "-Wl,--no-entry",
)

#: gcc flags for the native check (no FMA contraction; sqrt without errno, so no libm).
NATIVE_FLAGS = ("-O2", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-Wall")

INSTALL_HINT = "install them with `apt-get install clang lld`"


class ToolMissing(RuntimeError):
    """A compiler needed for the benchmarks is not installed."""


@dataclass(frozen=True)
class Kernel:
    """A benchmark kernel: ``kernels/<name>.c`` exporting ``run(int32_t n)``.

    Attributes:
        name: file stem.
        result: wasm result type of ``run``: ``"i64"``, ``"i32"`` or ``"f64"``.
        n: full-size argument (about 0.5-3 s in the Python tier).
        quick_n: argument for smoke tests (``--quick``).
        test_n: argument for the unit test (a fraction of a second).
        what: one-line description.
    """

    name: str
    result: str
    n: int
    quick_n: int
    test_n: int
    what: str

    @property
    def source(self) -> Path:
        return KERNEL_DIR / f"{self.name}.c"


KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in (
        Kernel("fib", "i64", 31, 18, 15, "recursion: naive fib(n)"),
        Kernel("memloops", "i64", 180, 2, 1, "i32 array loops: prefix sum, copy, strided sum"),
        Kernel("nbody", "f64", 40_000, 1_000, 200, "f64: n-body, n steps"),
        Kernel("mandel", "i64", 500, 30, 12, "f64: mandelbrot on an n x n grid"),
        Kernel("hash", "i64", 1_600, 4, 2, "i32/i64 hashing: FNV-1a, murmur mixes, n KiB"),
        Kernel("sort", "i64", 50_000, 1_000, 300, "quicksort + heapsort of n random i32"),
        Kernel("calls", "i64", 800_000, 5_000, 1_000, "direct + call_indirect calls"),
        Kernel("sieve", "i64", 300_000, 5_000, 1_000, "byte arrays: sieve of Eratosthenes to n"),
    )
}

#: headers every kernel may include (part of every cache key)
HEADERS = ("bench.h",)

_C_TYPES = {"i32": ("int32_t", '"%d\\n", r'), "i64": ("int64_t", '"%lld\\n", (long long)r'),
            "f64": ("double", '"%a\\n", r')}  # fmt: skip


def _find_tool(name: str, env_var: str) -> str | None:
    return shutil.which(os.environ.get(env_var, name))


@cache
def clang_path() -> str | None:
    """The clang executable (``$CLANG`` or ``clang`` on PATH), or None."""
    return _find_tool("clang", "CLANG")


def clang_missing() -> str | None:
    """Why the wasm kernels cannot be built (clang or wasm-ld missing), or None if they can."""
    if clang_path() is None:
        return f"clang not found; {INSTALL_HINT}"
    if shutil.which("wasm-ld") is None:
        return f"wasm-ld (lld) not found; {INSTALL_HINT}"
    return None


def native_cc() -> str | None:
    """The native C compiler for the cross-check: ``$CC`` or gcc; clang (native target) if
    gcc is missing; None if neither is installed."""
    return _find_tool("gcc", "CC") or clang_path()


def native_missing() -> str | None:
    """Why the native harness cannot be built, or None if it can."""
    if native_cc() is None:
        return "no native C compiler; install one with `apt-get install gcc`"
    return None


def native_label() -> str:
    """Short name of the native compiler and flags, e.g. ``gcc -O2``."""
    cc = native_cc()
    return f"{Path(cc).name if cc else 'cc'} -O2"


@cache
def _version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _kernel(name: str) -> Kernel:
    try:
        return KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown kernel {name!r}; expected one of {', '.join(KERNELS)}") from None


def _cache_key(parts: list[bytes | str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _sources_digest_parts(source: Path) -> list[bytes | str]:
    parts: list[bytes | str] = [source.name, source.read_bytes()]
    for header in HEADERS:
        parts += [header, (KERNEL_DIR / header).read_bytes()]
    return parts


def _compile(cmd: list[str], out: Path, what: str) -> None:
    """Run a compiler writing to a temporary file next to ``out``, then rename it into place
    (so concurrent builds, e.g. under pytest-xdist, never see a half-written file)."""

    def run(tmp: str) -> None:
        proc = subprocess.run([*cmd, "-o", tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}\nfailed with exit code {proc.returncode}:\n"
                               f"{proc.stderr}{proc.stdout}")  # fmt: skip

    _build_into(out, run, what)


def _build_into(out: Path, make, what: str) -> None:
    """``make(tmp)`` writes a temporary file next to ``out``, which is then renamed into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        try:
            make(tmp)
        except RuntimeError as e:
            raise RuntimeError(f"building {what} failed:\n{e}") from None
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build_kernel(
    name: str | os.PathLike, *, flags: tuple[str, ...] = WASM_FLAGS, force: bool = False,
    cache_dir: Path = CACHE_DIR,
) -> Path:  # fmt: skip
    """Compile a kernel to wasm32 and return the path of the cached ``.wasm``.

    Args:
        name: a kernel name (``"fib"``) or the path of a C file.
        flags: clang flags (the default: ``WASM_FLAGS``).
        force: rebuild even if the cached file exists.
        cache_dir: where outputs go (default ``.cache/bench/`` at the project root).

    Raises:
        ToolMissing: clang or wasm-ld is not installed.
        RuntimeError: the compiler failed (its output is in the message).
    """
    source = Path(name) if str(name).endswith(".c") else _kernel(str(name)).source
    reason = clang_missing()
    if reason:
        raise ToolMissing(reason)
    clang = clang_path()
    assert clang is not None
    key = _cache_key(["wasm", *_sources_digest_parts(source), *flags, _version(clang), RECIPE])
    out = Path(cache_dir) / f"{source.stem}-{key[:16]}.wasm"
    if force or not out.exists():
        _build_into(out, lambda tmp: build_wasm(clang, [*flags, f"-I{KERNEL_DIR}"], [source], tmp),
                    f"{source.name} for wasm32")  # fmt: skip
    return out


_HARNESS = """\
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

{ctype} run(int32_t n);

int main(int argc, char **argv) {{
    for (int i = 1; i < argc; i++) {{
        {ctype} r = run((int32_t)atoi(argv[i]));
        printf({fmt});
    }}
    return 0;
}}
"""


def build_native(
    name: str, *, force: bool = False, cache_dir: Path = CACHE_DIR
) -> Path:  # fmt: skip
    """Compile kernel ``name`` natively (``native_cc()``: gcc) plus a harness printing ``run(n)`` for each
    command-line argument; return the executable's path (cached like ``build_kernel``)."""
    kernel = _kernel(name)
    reason = native_missing()
    if reason:
        raise ToolMissing(reason)
    gcc = native_cc()
    assert gcc is not None
    ctype, fmt = _C_TYPES[kernel.result]
    harness = _HARNESS.format(ctype=ctype, fmt=fmt)
    parts = _sources_digest_parts(kernel.source)
    key = _cache_key(["native", *parts, harness, *NATIVE_FLAGS, _version(gcc)])
    out = Path(cache_dir) / f"{kernel.name}-native-{key[:16]}"
    if force or not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        harness_c = Path(cache_dir) / f"harness-{_cache_key([harness])[:16]}.c"
        if not harness_c.exists():
            fd, tmp = tempfile.mkstemp(suffix=".c.tmp", dir=cache_dir)
            with os.fdopen(fd, "w") as f:
                f.write(harness)
            os.replace(tmp, harness_c)
        cmd = [gcc, *NATIVE_FLAGS, f"-I{KERNEL_DIR}", str(kernel.source), str(harness_c)]
        _compile(cmd, out, f"{kernel.source.name} natively")
    return out


def run_native(name: str, ns: list[int] | tuple[int, ...]) -> list[int | float]:
    """``run(n)`` of kernel ``name`` compiled natively with gcc, for each n (one process)."""
    exe = build_native(name)
    proc = subprocess.run([str(exe), *map(str, ns)], capture_output=True, text=True, check=True)
    lines = proc.stdout.split()
    if len(lines) != len(ns):
        raise RuntimeError(f"native {name}: expected {len(ns)} results, got {proc.stdout!r}")
    if KERNELS[name].result == "f64":
        return [float.fromhex(s) for s in lines]
    return [int(s) for s in lines]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "names", nargs="*", metavar="NAME", help=f"kernels (default: all of {', '.join(KERNELS)})"
    )
    ap.add_argument("--native", action="store_true", help="also build the native harnesses")
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = ap.parse_args(argv)
    reason = clang_missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    for name in args.names or KERNELS:
        if name not in KERNELS and not name.endswith(".c"):
            ap.error(f"unknown kernel {name!r}; expected one of {', '.join(KERNELS)}")
        print(build_kernel(name, force=args.force))
        if args.native and name in KERNELS:
            print(build_native(name, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
