"""Build real-world C programs from Debian source packages, twice: to wasm32-wasi (clang +
wasi-libc) and natively (cc), so ``tools/realworld/run.py`` can check the wasm builds under
``wasm2py run`` against the native ones.

Programs (all from bookworm's source packages, fetched with ``apt-get source``):

- ``sqlite3`` (package ``sqlite3``): the SQLite shell on the amalgamation, which ``configure &&
  make sqlite3.c shell.c`` generates (needs ``tclsh``). SQLite 3.40 predates its own WASI
  support: ``include/sqlite/sqlite_wasi.h`` (force-included) and ``sqlite_wasi.c`` stand in for
  ``fchmod``/``fchown``/``geteuid``/``chmod``/``system`` and make POSIX advisory locks succeed
  trivially (a WASI program is one process). ``SQLITE_THREADSAFE=0``, no extensions, no WAL
  (no shared memory in WASI), temp store in memory, no mmap.
- ``lua`` (package ``lua5.4``): the stand-alone interpreter. clang 14 + wasi-libc have no
  setjmp/longjmp, so ``LUAI_THROW`` aborts and ``LUAI_TRY`` runs the body directly: programs
  that raise no Lua error run unchanged, an error aborts (a trap) instead of being caught.
  ``lua_wasi.c`` stands in for ``system``/``tmpfile``/``tmpnam``.
- ``minigzip`` (package ``zlib``): zlib's gzip-compatible test program, on the whole library.
- ``duk`` (package ``duktape``): Duktape's command-line JavaScript interpreter (``print`` and
  ``console`` extras). Duktape throws with ``longjmp``: ``DUK_SETJMP`` runs the body directly
  and ``DUK_LONGJMP`` aborts, so scripts that throw nothing run unchanged.
- ``tinyscheme`` (package ``tinyscheme``): the stand-alone Scheme interpreter, without dynamic
  loading.

Outputs and sources live under ``.cache/realworld/`` (``src/`` and ``bin/NAME.wasm``,
``bin/NAME.native``). Needs root for ``apt-get`` (deb-src entries are added by ``debsrc.sh``)
and the packages ``clang lld wasi-libc libclang-rt-14-dev-wasm32 dpkg-dev tcl``, which it installs
if missing.

    python tools/realworld/build.py [--force] [NAME ...]
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if __package__ in (None, ""):  # run as a script: make ``tools`` importable
    sys.path.insert(0, str(ROOT))

from tools.wasm_cc import build_wasm  # noqa: E402

CACHE = ROOT / ".cache" / "realworld"
SRC = CACHE / "src"
BIN = CACHE / "bin"

WASM_CC = ["clang", "--target=wasm32-wasi"]
NATIVE_CC = [os.environ.get("CC", "cc")]
APT_PACKAGES = ["clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32", "dpkg-dev", "tcl"]


def sh(cmd, cwd=None, quiet=False) -> None:
    """Run a command, failing loudly."""
    if not quiet:
        print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run(list(map(str, cmd)), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)  # fmt: skip


def ensure_tools() -> None:
    """Install the Debian packages the builds need (once)."""
    missing = []
    for pkg in APT_PACKAGES:
        if subprocess.run(["dpkg", "-s", pkg], capture_output=True).returncode:
            missing.append(pkg)
    if missing:
        sh(["apt-get", "update", "-qq"])
        sh(["apt-get", "install", "-y", "-qq", *missing])


def fetch(package: str) -> Path:
    """The unpacked Debian source of ``package`` (downloaded with ``apt-get source`` once)."""
    SRC.mkdir(parents=True, exist_ok=True)
    found = sorted(d for d in SRC.glob(f"{package}-*") if d.is_dir())
    if found:
        return found[-1]
    sh(["bash", HERE / "debsrc.sh"])
    try:
        sh(["apt-get", "source", "-qq", package], cwd=SRC)
    except subprocess.CalledProcessError:
        # the newest version may be missing from the mirror (e.g. a security update whose
        # sources it lacks): try the other versions it lists, newest first
        listed = subprocess.run(["apt-cache", "showsrc", package], capture_output=True,
                                text=True).stdout  # fmt: skip
        versions = [ln.split(":", 1)[1].strip() for ln in listed.splitlines()
                    if ln.startswith("Version:")]  # fmt: skip
        for version in sorted(set(versions), reverse=True)[1:]:
            try:
                sh(["apt-get", "source", "-qq", f"{package}={version}"], cwd=SRC)
                break
            except subprocess.CalledProcessError:
                continue
    found = sorted(d for d in SRC.glob(f"{package}-*") if d.is_dir())
    if not found:
        raise RuntimeError(f"apt-get source {package} left no {package}-* directory in {SRC}")
    return found[-1]


@dataclass
class Program:
    """How to build one program: sources relative to its package's directory."""

    package: str
    sources: list[str]
    cflags: list[str] = field(default_factory=list)
    wasm_flags: list[str] = field(default_factory=list)
    wasm_extra: list[str] = field(default_factory=list)  # extra source files (absolute)
    native_flags: list[str] = field(default_factory=list)
    libs_wasm: list[str] = field(default_factory=list)
    libs_native: list[str] = field(default_factory=list)
    prepare: str | None = None  # a method of this module run in the source directory
    counted: list[str] = field(default_factory=list)  # globs of the program's own C code


SQLITE_FLAGS = [
    "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
    "-DSQLITE_OMIT_SHARED_CACHE", "-DSQLITE_MAX_MMAP_SIZE=0", "-DSQLITE_TEMP_STORE=3",
    "-DSQLITE_OMIT_POPEN", "-DSQLITE_DQS=0",
]  # fmt: skip
WASI_EMULATED = ["-D_WASI_EMULATED_MMAN", "-D_WASI_EMULATED_SIGNAL",
                 "-D_WASI_EMULATED_PROCESS_CLOCKS", "-D_WASI_EMULATED_GETPID"]  # fmt: skip
WASI_EMULATED_LIBS = ["-lwasi-emulated-mman", "-lwasi-emulated-signal",
                      "-lwasi-emulated-process-clocks", "-lwasi-emulated-getpid"]  # fmt: skip
ZLIB = ["adler32.c", "compress.c", "crc32.c", "deflate.c", "gzclose.c", "gzlib.c", "gzread.c",
        "gzwrite.c", "infback.c", "inffast.c", "inflate.c", "inftrees.c", "trees.c",
        "uncompr.c", "zutil.c"]  # fmt: skip
LUA = ["lapi.c", "lcode.c", "lctype.c", "ldebug.c", "ldo.c", "ldump.c", "lfunc.c", "lgc.c",
       "llex.c", "lmem.c", "lobject.c", "lopcodes.c", "lparser.c", "lstate.c", "lstring.c",
       "ltable.c", "ltm.c", "lundump.c", "lvm.c", "lzio.c", "lauxlib.c", "lbaselib.c",
       "lcorolib.c", "ldblib.c", "liolib.c", "lmathlib.c", "loadlib.c", "loslib.c",
       "lstrlib.c", "ltablib.c", "lutf8lib.c", "linit.c", "lua.c"]  # fmt: skip

DUK_CMDLINE = ["examples/cmdline/duk_cmdline.c", "extras/print-alert/duk_print_alert.c",
               "extras/console/duk_console.c"]  # fmt: skip

PROGRAMS: dict[str, Program] = {
    "sqlite3": Program(
        package="sqlite3",
        sources=["bld/sqlite3.c", "bld/shell.c"],
        cflags=["-O2", "-Ibld", *SQLITE_FLAGS],
        wasm_flags=[
            *WASI_EMULATED,
            f"-I{HERE / 'include' / 'sqlite'}",
            "-include",
            "sqlite_wasi.h",
        ],  # fmt: skip
        wasm_extra=[str(HERE / "sqlite_wasi.c")],
        libs_wasm=WASI_EMULATED_LIBS,
        libs_native=["-lm"],
        prepare="prepare_sqlite",
        counted=["bld/sqlite3.c", "bld/sqlite3.h", "bld/shell.c"],
    ),
    "lua": Program(
        package="lua5.4",
        sources=[f"src/{f}" for f in LUA],
        cflags=["-O2", "-Isrc", f"-I{HERE / 'include' / 'lua-common'}"],
        wasm_flags=[
            f"-I{HERE / 'include' / 'no-setjmp'}",
            "-D_WASI_EMULATED_SIGNAL",
            "-D_WASI_EMULATED_PROCESS_CLOCKS",
            "-DLUAI_THROW(L,c)=abort()",
            "-DLUAI_TRY(L,c,a)=if(1){a}",
            "-Dluai_jmpbuf=int",
            "-DL_tmpnam=32",
        ],  # fmt: skip
        wasm_extra=[str(HERE / "lua_wasi.c")],
        native_flags=["-DLUA_USE_POSIX"],
        libs_wasm=["-lwasi-emulated-signal", "-lwasi-emulated-process-clocks", "-lm"],
        libs_native=["-lm"],
        counted=["src/*.c", "src/*.h"],
    ),
    "minigzip": Program(
        package="zlib",
        sources=[*ZLIB, "test/minigzip.c"],
        cflags=["-O2", "-I.", "-DHAVE_UNISTD_H", "-DHAVE_STDARG_H"],
        counted=[*ZLIB, "*.h", "test/minigzip.c"],
    ),
    "duk": Program(
        package="duktape",
        sources=["src/duktape.c", *DUK_CMDLINE],
        cflags=["-O2", "-std=c99", "-Isrc", "-Iexamples/cmdline", "-Iextras/print-alert",
                "-Iextras/console", "-DDUK_CMDLINE_PRINTALERT_SUPPORT",
                "-DDUK_CMDLINE_CONSOLE_SUPPORT"],  # fmt: skip
        wasm_flags=[
            f"-I{HERE / 'include' / 'no-setjmp'}",
            "-DDUK_JMPBUF_TYPE=int",
            "-DDUK_SETJMP(jb)=0",
            "-DDUK_LONGJMP(jb)=abort()",
        ],  # fmt: skip
        libs_wasm=["-lm"],
        libs_native=["-lm"],
        counted=["src/duktape.c", "src/duktape.h", "src/duk_config.h", *DUK_CMDLINE],
    ),
    "tinyscheme": Program(
        package="tinyscheme",
        sources=["scheme.c"],
        cflags=["-O2", "-I.", "-DSTANDALONE=1", "-DUSE_DL=0", "-DUSE_MATH=1",
                "-DUSE_ASCII_NAMES=0", "-w"],  # fmt: skip
        libs_wasm=["-lm"],
        libs_native=["-lm"],
        counted=["scheme.c", "scheme.h", "scheme-private.h", "opdefines.h"],
    ),
}


def prepare_sqlite(src: Path) -> None:
    """Generate the amalgamation (``sqlite3.c``, ``sqlite3.h``, ``shell.c``) in ``src/bld``."""
    bld = src / "bld"
    if (bld / "sqlite3.c").exists() and (bld / "shell.c").exists():
        return
    bld.mkdir(exist_ok=True)
    sh([src / "configure", "--disable-tcl", "--disable-readline"], cwd=bld, quiet=True)
    sh(["make", "-j2", "sqlite3.c", "shell.c"], cwd=bld, quiet=True)


def count_lines(name: str) -> int:
    """Lines of the program's own C code (sources and headers it is built from)."""
    prog = PROGRAMS[name]
    src = fetch(prog.package)
    files = sorted({f for pattern in prog.counted for f in glob.glob(str(src / pattern))})
    return sum(Path(f).read_bytes().count(b"\n") for f in files)


def build(name: str, force: bool = False) -> tuple[Path, Path]:
    """Build ``name``; returns ``(wasm path, native path)``."""
    BIN.mkdir(parents=True, exist_ok=True)
    # (one build per program at a time: parallel test workers may all want the same one, and
    # a half-written binary must not look built)
    with open(BIN / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(name, force)


def _build(name: str, force: bool) -> tuple[Path, Path]:
    prog = PROGRAMS[name]
    wasm, native = BIN / f"{name}.wasm", BIN / f"{name}.native"
    if wasm.exists() and native.exists() and not force:
        return wasm, native
    ensure_tools()
    src = fetch(prog.package)
    if prog.prepare:
        globals()[prog.prepare](src)
    BIN.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"+ {' '.join(WASM_CC[1:])} ... -o {wasm} (compile, then link without wasm-opt)")
    build_wasm(WASM_CC[0], [*WASM_CC[1:], *prog.cflags, *prog.wasm_flags],
               [*prog.sources, *prog.wasm_extra], wasm, cwd=src, libs=prog.libs_wasm)  # fmt: skip
    sh([*NATIVE_CC, *prog.cflags, *prog.native_flags, *prog.sources, *prog.libs_native,
        "-o", native], cwd=src)  # fmt: skip
    print(f"built {name} in {time.perf_counter() - t0:.1f}s: {wasm} ({wasm.stat().st_size} bytes)")
    return wasm, native


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--force", action="store_true", help="rebuild even if built")
    p.add_argument("names", nargs="*", choices=[*PROGRAMS, []], metavar="NAME")
    args = p.parse_args(argv)
    if shutil.which("apt-get") is None:
        print("this script needs a Debian system (apt-get source)", file=sys.stderr)
        return 2
    for name in args.names or PROGRAMS:
        build(name, args.force)
        print(f"{name}: {count_lines(name)} lines of C")
    return 0


if __name__ == "__main__":
    sys.exit(main())
