"""Run the real-world programs built by ``build.py`` natively, under ``wasm2py run``, and (if
the ``wasmtime`` PyPI package is installed) under wasmtime; check that every run gives the
native build's output and exit status, and print the times as a table.

    python tools/realworld/build.py            # once (apt-get source, clang, cc)
    python tools/realworld/run.py [--tier python|llvm] [--repeat N] [NAME ...]

Times are CPU seconds (user + system, child processes included), the best of ``--repeat``
runs. Columns: ``native`` is the natively built program; ``wasm2py run, cold`` is the
``wasm2py run`` command in a fresh process with an empty cache (Python start-up, decoding,
validating, translating each function at its first call — or, with ``--tier llvm``, compiling
the module — and running), ``warm`` the same with the cache of earlier runs
(``$WASM2PY_CACHE_DIR`` points at a private temporary cache); in-process and without the cache,
``load`` is creating the ``Module`` (decode + validate; the LLVM tier compiles here), ``first
run`` instantiating and running it with ``wasm2py.wasi.run`` (the Python tier translates what
runs) and ``run again`` the same once more (everything it uses is translated: execution alone);
``wasmtime (py)`` is the wasmtime PyPI package on the same ``.wasm`` (Cranelift compilation +
run, in-process). Every run's stdout, exit status and resulting files must equal the native
run's; exit status 1 if any differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tools.bytecode import installed_env  # noqa: E402
from tools.realworld.build import BIN, PROGRAMS, count_lines, fetch  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and its children so far (the LLVM tier's idle compile
    workers are ended first: a child's time only counts once it has been waited for)."""
    import resource

    worker = sys.modules.get("wasm2py.llvm.worker")
    if worker is not None:
        worker.end_all()  # (the forker too: forked workers' CPU counts once it ends)
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

WORKLOADS = HERE / "workloads"
CLI = [sys.executable, "-c", "import sys; from wasm2py.cli import main; sys.exit(main())"]


@dataclass
class Case:
    """One run of a program: ``{dir}`` in ``argv`` is a scratch directory (the host path
    natively, ``/work`` inside wasm, where it is preopened); ``{workloads}`` likewise. With
    ``in_source``, the program runs in its package's source directory (natively its working
    directory, in wasm preopened as ``.``), where it finds its data files."""

    program: str
    label: str
    argv: list[str]
    stdin: bytes | Path = b""
    files: dict[str, bytes] = field(default_factory=dict)
    in_source: bool = False


def corpus() -> bytes:
    """About 1 MB of text: Lua's C sources, in a fixed order."""
    src = fetch(PROGRAMS["lua"].package)
    files = sorted(glob.glob(str(src / "src" / "*.[ch]")))
    return b"".join(Path(f).read_bytes() for f in files)


def cases() -> list[Case]:
    out = []
    if (BIN / "minigzip.native").exists():
        text = corpus()
        gz = subprocess.run([BIN / "minigzip.native"], input=text, capture_output=True,
                            check=True).stdout  # fmt: skip
        out += [
            Case("minigzip", f"compress {len(text) // 1024} KiB", [], text),
            Case("minigzip", "decompress", ["-d"], gz),
            Case(
                "minigzip",
                "gzip a file in place",
                ["{dir}/data.txt"],
                files={"data.txt": text[:200_000]},
            ),  # fmt: skip
        ]
    return out + [
        Case("lua", "bench.lua", ["{workloads}/bench.lua"]),
        Case("sqlite3", "in-memory SQL", ["-batch"], WORKLOADS / "memory.sql"),
        Case("sqlite3", "database file", ["-batch", "{dir}/test.db"], WORKLOADS / "file.sql"),
        Case("duk", "bench.js", ["{workloads}/bench.js"]),
        # tinyscheme reads init.scm (its prelude) from the working directory
        Case("tinyscheme", "bench.scm", ["{workloads}/bench.scm"], in_source=True),
    ]


def heavy_cases() -> list[Case]:
    """Compute-heavy runs of the programs (each ~0.4-0.6 CPU s natively, against ~0.01 s for
    the workloads of :func:`cases`): the work of ``bench.lua``, ``bench.js``, ``bench.scm`` and
    ``memory.sql``, scaled up (``tools/bench/tier_up_realworld.py --heavy``)."""
    return [
        Case("lua", "heavy.lua", ["{workloads}/heavy.lua"]),
        Case("sqlite3", "in-memory SQL, heavy", ["-batch"], WORKLOADS / "heavy.sql"),
        Case("duk", "heavy.js", ["{workloads}/heavy.js"]),
        Case("tinyscheme", "heavy.scm", ["{workloads}/heavy.scm"], in_source=True),
    ]


def source_dir(case: Case) -> str | None:
    """The package's source directory, for ``in_source`` cases."""
    return str(fetch(PROGRAMS[case.program].package)) if case.in_source else None


def _argv(case: Case, scratch: str, workloads: str) -> list[str]:
    return [a.format(dir=scratch, workloads=workloads) for a in case.argv]


def _stdin(case: Case) -> bytes:
    return case.stdin.read_bytes() if isinstance(case.stdin, Path) else case.stdin


def _scratch(case: Case) -> str:
    d = tempfile.mkdtemp(prefix=f"rw-{case.program}-")
    for name, data in case.files.items():
        Path(d, name).write_bytes(data)
    return d


def _snapshot(d: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(d).iterdir()) if p.is_file()}


def run_native(case: Case):
    d = _scratch(case)
    try:
        t = cpu()
        p = subprocess.run([BIN / f"{case.program}.native", *_argv(case, d, str(WORKLOADS))],
                           input=_stdin(case), capture_output=True, cwd=source_dir(case))  # fmt: skip
        return cpu() - t, p.returncode, p.stdout, _snapshot(d)
    finally:
        shutil.rmtree(d)


#: run wasm2py as the environment has it, without ``installed_env`` (``--source``)
SOURCE_ONLY = False


def run_wasm2py(case: Case, tier: str, cache_dir: str):
    """``wasm2py run`` in a fresh process, with its translation cache in ``cache_dir``."""
    d = _scratch(case)
    try:
        src = source_dir(case)
        dirs = ["--dir", f"{src}::."] if src else []
        cmd = [*CLI, "run", "--tier", tier, "--dir", f"{d}::/work", "--dir",
               f"{WORKLOADS}::/workloads", *dirs, BIN / f"{case.program}.wasm", "--",
               *_argv(case, "/work", "/workloads")]  # fmt: skip
        env = {**(dict(os.environ) if SOURCE_ONLY else installed_env()),
               "WASM2PY_CACHE_DIR": cache_dir}
        t = cpu()
        p = subprocess.run(list(map(str, cmd)), input=_stdin(case), capture_output=True, env=env)
        return cpu() - t, p.returncode, p.stdout, _snapshot(d), p.stderr

    finally:
        shutil.rmtree(d)


def run_wasmtime(case: Case):
    import wasmtime

    d = _scratch(case)
    tmp = tempfile.mkdtemp(prefix="rw-io-")
    try:
        stdin, stdout = Path(tmp, "stdin"), Path(tmp, "stdout")
        stdin.write_bytes(_stdin(case))
        t = cpu()
        engine = wasmtime.Engine()
        module = wasmtime.Module.from_file(engine, str(BIN / f"{case.program}.wasm"))
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        store = wasmtime.Store(engine)
        config = wasmtime.WasiConfig()
        config.argv = [case.program, *_argv(case, "/work", "/workloads")]
        config.preopen_dir(d, "/work")
        config.preopen_dir(str(WORKLOADS), "/workloads")
        if case.in_source:
            config.preopen_dir(source_dir(case), ".")
        config.stdin_file = str(stdin)
        config.stdout_file = str(stdout)
        store.set_wasi(config)
        instance = linker.instantiate(store, module)
        status = 0
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as e:
            status = e.code
        elapsed = cpu() - t
        return elapsed, status, stdout.read_bytes(), _snapshot(d)
    finally:
        shutil.rmtree(d)
        shutil.rmtree(tmp)


_MODULES: dict = {}


def load(program: str, tier: str) -> float:
    """CPU seconds to create the Module (decode, validate; the LLVM tier compiles); keeps it
    for run_inprocess."""
    import wasm2py

    options = {"tier": tier}
    if "cache" in {f.name for f in dataclasses.fields(wasm2py.Config)}:
        options["cache"] = False  # measure the work itself
    engine = wasm2py.Engine(wasm2py.Config(**options))
    t = cpu()
    _MODULES[program] = wasm2py.Module.from_file(engine, BIN / f"{program}.wasm")
    return cpu() - t


def wasi_config(case: Case, scratch, out):
    """The WASI configuration of ``case`` run in process: its argv, ``/work`` (the scratch
    directory), ``/workloads``, its source tree as ``.`` if it needs it, stdin; stdout to
    ``out``."""
    import io

    from wasm2py.wasi import WasiConfig

    preopens = {"/work": scratch, "/workloads": WORKLOADS}
    if case.in_source:
        preopens["."] = source_dir(case)
    return WasiConfig(argv=[case.program, *_argv(case, "/work", "/workloads")],
                      preopens=preopens, stdin=io.BytesIO(_stdin(case)), stdout=out,
                      stderr=io.BytesIO())  # fmt: skip


def run_inprocess(case: Case):
    """The loaded module, instantiated and run with wasm2py.wasi.run (the Python tier translates
    what the run calls for the first time)."""
    import io

    import wasm2py
    from wasm2py.wasi import run

    module = _MODULES[case.program]
    d = _scratch(case)
    try:
        out = io.BytesIO()
        config = wasi_config(case, d, out)
        t = cpu()
        status = run(module, config, wasm2py.Store(module.engine))
        return cpu() - t, status, out.getvalue(), _snapshot(d)
    finally:
        shutil.rmtree(d)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="check and time the real-world WASI programs")
    p.add_argument("--tier", default="python", choices=["python", "llvm", "auto"])
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("names", nargs="*", help="programs (default: all built)")
    p.add_argument("--source", action="store_true", help="no bytecode compiled first")
    args = p.parse_args(argv)
    global SOURCE_ONLY
    SOURCE_ONLY = args.source
    try:
        import wasmtime  # noqa: F401

        have_wasmtime = True
    except ImportError:
        have_wasmtime = False
        print("(wasmtime not installed: `pip install wasmtime` adds its column)")
    names = args.names or [n for n in PROGRAMS if (BIN / f"{n}.wasm").exists()]
    if not names:
        print("nothing built: run tools/realworld/build.py first", file=sys.stderr)
        return 2
    for n in names:
        wasm = BIN / f"{n}.wasm"
        print(f"{n}: {count_lines(n)} lines of C, {wasm.stat().st_size} bytes of wasm, "
              f"{len(__import__('wasm2py').Module.from_file(__import__('wasm2py').Engine(), wasm)._module.funcs)} functions")  # fmt: skip
    loaded = {n: load(n, args.tier) for n in names}
    header = ["program", "workload", "native", "wasm2py run, cold", "wasm2py run, warm",
              "load", "first run", "run again", "wasmtime (py)"]  # fmt: skip
    cache_dir = tempfile.mkdtemp(prefix="rw-cache-")  # a private, initially empty cache
    if not have_wasmtime:
        header.pop()
    header.append("output")
    rows, failed = [], False
    for case in cases():
        if case.program not in names:
            continue
        nat = min((run_native(case) for _ in range(args.repeat)), key=lambda r: r[0])
        cold_dir = tempfile.mkdtemp(prefix="rw-cold-")
        cold = run_wasm2py(case, args.tier, cold_dir)  # translates what runs
        shutil.rmtree(cold_dir)
        run_wasm2py(case, args.tier, cache_dir)  # fills the warm cache
        w2p = min((run_wasm2py(case, args.tier, cache_dir) for _ in range(args.repeat)),
                  key=lambda r: r[0])  # fmt: skip
        first = run_inprocess(case)
        ex = min((run_inprocess(case) for _ in range(args.repeat)), key=lambda r: r[0])
        ok = all(r[1:4] == nat[1:4] for r in (w2p, first, ex, cold))
        row = [case.program, case.label, f"{nat[0]:.3f} s", f"{cold[0]:.2f} s", f"{w2p[0]:.2f} s",
               f"{loaded[case.program]:.2f} s", f"{first[0]:.2f} s", f"{ex[0]:.2f} s"]  # fmt: skip
        if have_wasmtime:
            try:
                wt = min((run_wasmtime(case) for _ in range(args.repeat)), key=lambda r: r[0])
            except Exception as e:  # a trap in wasmtime: report it, keep going
                print(f"--- wasmtime failed on {case.program} {case.label}: {str(e)[-300:]}")
                wt = (float("nan"), None, b"", {})
            ok = ok and wt[1:4] == nat[1:4]
            row.append(f"{wt[0]:.2f} s")
        row.append("same as native" if ok else "DIFFERENT")
        if not ok:
            failed = True
            print(f"--- {case.program} {case.label}: native status {nat[1]}, wasm2py {w2p[1]}; "
                  f"stderr: {w2p[4][-500:].decode(errors='replace')}")  # fmt: skip
        sys.stdout.flush()
        rows.append(row)
        print("  ".join(row), flush=True)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print()
    for r in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    shutil.rmtree(cache_dir)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
