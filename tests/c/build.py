"""Compile the C test programs in this directory to wasm32-wasi, with a cache.

The toolchain is Debian's: ``clang`` and ``lld`` (``wasm-ld``), ``wasi-libc`` (headers and libc
for ``--target=wasm32-wasi``) and ``libclang-rt-14-dev-wasm32`` (compiler builtins). Outputs go
to ``.cache/wasi-tests/`` at the project root, named ``<program>-<key>.wasm`` where the key is a
sha256 over the source, the flags and the compiler version: a changed input gives a new file,
an unchanged one is reused (also across pytest-xdist workers: files appear atomically).

    python tests/c/build.py [NAME ...]      # build (all by default) and print the paths
    python tests/c/build.py dylink          # the dynamic-linking programs (tests/c/dylink)
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


DYLINK_DIR = C_DIR / "dylink"
#: compile flags of the dynamic-linking programs: position-independent code for the Emscripten
#: conventions, freestanding (no Emscripten sysroot: ``tiny.c`` is their C library), symbols
#: visible by default (the target hides them otherwise, and a side module exports nothing)
DYLINK_CFLAGS = ("--target=wasm32-unknown-emscripten", "-fPIC", "-fvisibility=default", "-O2",
                 "-ffreestanding", "-nostdlib", "-Wall", "-Werror")  # fmt: skip
_PIE = ("--experimental-pic", "-pie", "--import-memory", "--export-dynamic")
_SHARED = ("--experimental-pic", "-shared")
#: output -> (C sources in tests/c/dylink, wasm-ld flags, libraries it links against)
DYLINK_OUTPUTS = {
    "liba.so": (("liba.c",), _SHARED, ()),
    "libb.so": (("libb.c",), _SHARED, ("liba.so",)),
    "main.wasm": (("main.c", "tiny.c"), _PIE, ("liba.so",)),
    "closures.wasm": (("closures.c", "tiny.c"), _PIE, ()),
}


def build_dylink() -> Path:
    """Build the dynamic-linking test programs of ``tests/c/dylink`` (a PIE main, side modules,
    the closures program) into one directory (cached by a hash of every input) and return it.
    Libraries are linked by file name from inside that directory, so the ``needed`` entries
    of their ``dylink.0`` sections are plain names (``liba.so``).

    Raises:
        ToolchainMissing: clang or wasm-ld is not installed.
        RuntimeError: a program does not compile or link.
    """
    clang = shutil.which(os.environ.get("WASI_CC", "clang"))
    if clang is None or shutil.which("wasm-ld") is None:
        raise ToolchainMissing(f"clang and wasm-ld are needed: {INSTALL}")
    version = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout
    h = hashlib.sha256()
    for src in sorted(DYLINK_DIR.glob("*.[ch]")):
        h.update(src.name.encode() + b"\0" + src.read_bytes() + b"\0")
    h.update(repr((DYLINK_CFLAGS, DYLINK_OUTPUTS, version)).encode())
    out = ROOT / ".cache" / "dylink-tests" / h.hexdigest()[:16]
    if (out / "done").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-"))
    try:
        def run(cmd):
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")

        for target, (sources, ldflags, libs) in DYLINK_OUTPUTS.items():
            objs = []
            for src in sources:
                obj = f"{target}-{Path(src).stem}.o"
                run([clang, *DYLINK_CFLAGS, "-c", str(DYLINK_DIR / src), "-o", obj])
                objs.append(obj)
            run(["wasm-ld", *ldflags, *objs, *libs, "-o", target])
        for obj in tmp.glob("*.o"):
            obj.unlink()
        (tmp / "done").write_text("")
        try:
            os.rename(tmp, out)
        except OSError:  # another process built it first
            if not (out / "done").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def programs() -> list[str]:
    """The names of the C test programs."""
    return sorted(p.stem for p in C_DIR.glob("*.c"))


if __name__ == "__main__":
    if sys.argv[1:] == ["dylink"]:
        print(build_dylink())
        sys.exit()
    for n in sys.argv[1:] or programs():
        print(build(n))
