"""Compile the C test programs in this directory to wasm32-wasi, with a cache.

The toolchain is Debian's: ``clang`` and ``lld`` (``wasm-ld``), ``wasi-libc`` (headers and libc
for ``--target=wasm32-wasi``) and ``libclang-rt-14-dev-wasm32`` (compiler builtins). Outputs go
to ``.cache/wasi-tests/`` at the project root, named ``<program>-<key>.wasm`` where the key is a
sha256 over the source, the flags and the compiler version: a changed input gives a new file,
an unchanged one is reused (also across pytest-xdist workers: files appear atomically).

    python tests/c/build.py [NAME ...]      # build (all by default) and print the paths
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

C_DIR = Path(__file__).resolve().parent
ROOT = C_DIR.parents[1]
CACHE_DIR = ROOT / ".cache" / "wasi-tests"

if __name__ == "__main__":  # run as a script: make the project's ``tools`` importable
    sys.path.insert(0, str(ROOT))

from tools.wasm_cc import RECIPE, build_wasm  # noqa: E402

#: flags for every program; per-program extras in EXTRA_FLAGS
FLAGS = ("--target=wasm32-wasi", "-O2", "-Wall", "-Werror")
EXTRA_FLAGS = {
    "reactor": ("-mexec-model=reactor",),
    "clocks": ("-D_WASI_EMULATED_PROCESS_CLOCKS", "-lwasi-emulated-process-clocks"),
}

INSTALL = "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32"


class ToolchainMissing(RuntimeError):
    """clang, wasm-ld, wasi-libc or the wasm32 compiler runtime is not installed."""


@functools.cache
def toolchain() -> tuple[str, str]:
    """``(clang path, clang version line)``.

    Raises:
        ToolchainMissing: with what is missing and the command that installs it.
    """
    clang = shutil.which(os.environ.get("WASI_CC", "clang"))
    if clang is None:
        raise ToolchainMissing(f"clang not found; the WASI tests need it: {INSTALL}")
    if shutil.which("wasm-ld") is None:
        raise ToolchainMissing(f"wasm-ld (lld) not found; the WASI tests need it: {INSTALL}")
    version = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout
    version = version.splitlines()[0] if version else "unknown"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text('#include <stdio.h>\nint main(void) { puts("x"); return 0; }\n')
        try:
            build_wasm(clang, FLAGS, [src], Path(tmp) / "probe.wasm")
        except RuntimeError as e:
            err = str(e).strip().splitlines()
            raise ToolchainMissing(
                "clang cannot build wasm32-wasi programs (missing wasi-libc or "
                f"libclang-rt-14-dev-wasm32?): {err[-1] if err else '?'}; install: {INSTALL}"
            ) from None
    return clang, version


def build(name: str, cache_dir: Path = CACHE_DIR) -> Path:
    """The path of ``tests/c/<name>.c`` compiled to wasm32-wasi (built if not cached in
    ``cache_dir``).

    Raises:
        ToolchainMissing: the toolchain is not installed.
        RuntimeError: the program does not compile.
    """
    clang, version = toolchain()
    src = C_DIR / f"{name}.c"
    flags = (*FLAGS, *EXTRA_FLAGS.get(name, ()))
    h = hashlib.sha256()
    for part in (src.read_bytes(), "\0".join(flags).encode(), version.encode(), RECIPE.encode()):
        h.update(part)
        h.update(b"\0")
    out = cache_dir / f"{name}-{h.hexdigest()[:16]}.wasm"
    if out.exists():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    os.close(fd)
    try:
        cflags = [f for f in flags if not f.startswith("-l")]
        libs = [f for f in flags if f.startswith("-l")]
        try:
            build_wasm(clang, cflags, [src], tmp, libs=libs)
        except RuntimeError as e:
            raise RuntimeError(f"compiling {src.name} failed:\n{e}") from None
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def programs() -> list[str]:
    """The names of the C test programs."""
    return sorted(p.stem for p in C_DIR.glob("*.c"))


if __name__ == "__main__":
    for n in sys.argv[1:] or programs():
        print(build(n))
