"""LLVM-tier compile time of a large module, and its cached reload (issues 4 and 13).

Builds the ~450 KB, ~600-function module of ``tools/bigmodule/generate.py`` and prints, per
optimisation level (default: the engine's default level):

* first ``Module(engine, bytes)`` with ``Config(tier="llvm")`` (a module this big gets a
  cheap level, see ``Config.llvm_quick_bytes``; ``--full``: the level asked for) and an
  empty cache directory, in
  CPU seconds: this process (decode, validate, IR, loading the objects) and the compile worker
  processes (their CPU is read from ``RUSAGE_CHILDREN`` once the idle workers have been ended),
  with LLVM's part broken down (``CompiledModule.timings``, wall seconds);
* wasmtime's ``Module(engine, bytes)`` of the same bytes, CPU seconds (all its threads), and
  the ratio of the two;
* cached: a new engine (empty memory cache) loading the same module from the disk cache;
* that ``run(n)`` gives the same result as the Python tier;
* with ``--phases``: where a worker's CPU goes, each part compiled again in this process at
  the level used, phase by phase (lowering and printing the IR, LLVM's parsing and checking,
  its passes, its code generator), and the CPU of starting one compile worker.

The compile workers run from bytecode compiled beforehand, as an installed copy's do
(:mod:`tools.bytecode`); ``--source`` leaves the environment as it is.

Usage::

    python tools/bench/llvm_compile.py [--functions N] [--opt 0 1 2 3] [--full] [--phases]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bigmodule.generate import build  # noqa: E402
from tools.bytecode import installed_env  # noqa: E402


def cpu() -> tuple[float, float]:
    """CPU seconds so far of this process and of its waited-for children (the LLVM tier's idle
    compile workers are ended first: a child's time only counts once it has been waited for)."""
    worker = sys.modules.get("wasm2py.llvm.worker")
    if worker is not None:
        worker.end_all()  # (the forker too: forked workers' CPU counts once it ends)
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def wasmtime_compile(data: bytes) -> float | None:
    """CPU seconds of wasmtime's ``Module(engine, data)`` (None without wasmtime)."""
    try:
        import wasmtime
    except ImportError:
        return None
    engine = wasmtime.Engine()
    c0 = time.process_time()
    wasmtime.Module(engine, data)
    return time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=600)
    ap.add_argument("--opt", type=int, nargs="*", default=None, help="optimisation levels")
    ap.add_argument("--n", type=int, default=300, help="argument of run(n)")
    ap.add_argument("--full", action="store_true",
                    help="every module at --opt (Config(llvm_quick_bytes=None)); default: big "
                    "modules get the quick pipeline")  # fmt: skip
    ap.add_argument("--phases", action="store_true",
                    help="also each part's phases, compiled in this process")  # fmt: skip
    ap.add_argument("--source", action="store_true", help="no bytecode compiled first")
    args = ap.parse_args(argv)
    if not args.source:
        # the compile workers' process starts as an installed copy's would (tools.bytecode)
        env = installed_env()
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ.update(env)
    data = build(args.functions).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WASM2PY_CACHE_DIR"] = tmp  # before wasm2py reads it
        import wasm2py

        levels = args.opt if args.opt else [wasm2py.Config().llvm_opt_level]
        py = wasm2py.Instance(wasm2py.Store(), wasm2py.Module(data))
        expect = py.exports["run"](args.n)
        print(f"module: {len(data) / 1024:.0f} KiB, {args.functions} generated functions; "
              f"cache in {tmp}")  # fmt: skip
        wt = wasmtime_compile(data)
        ok = True
        rows = []
        for level in levels:
            config = wasm2py.Config(tier="llvm", llvm_opt_level=level,
                                    **({"llvm_quick_bytes": None} if args.full else {}))
            own0, kids0 = cpu()
            module = wasm2py.Module(wasm2py.Engine(config), data)
            own1, kids1 = cpu()
            own, kids = own1 - own0, kids1 - kids0
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in module._llvm.timings.items())
            t0 = time.perf_counter()
            again = wasm2py.Module(wasm2py.Engine(config), data)
            cached = time.perf_counter() - t0
            store = wasm2py.Store(again.engine)
            got = wasm2py.Instance(store, again).exports["run"](args.n)
            same = got == expect
            ok &= same
            print(f"O{level}: LLVM wall: {parts}; cached reload {cached:.3f} s wall; "
                  f"run({args.n}) {'same as' if same else 'DIFFERS from'} the Python tier")
            used = module._llvm.opt_level
            from wasm2py.llvm.jit import QUICK  # (after the measured compile, which imports it)

            name = "quick" if used == QUICK else f"O{used}"
            rows.append((f"O{level}" if used == level else f"O{level} -> {name}", own, kids))
            if args.phases:
                phases(module._module, used)
        print()
        print(f"{'cold tier=llvm Module()':24} {'main CPU s':>10} {'workers':>8} "
              f"{'total':>8} {'wasmtime':>9} {'ratio':>7}")
        for level, own, kids in rows:
            ratio = f"{(own + kids) / wt:6.1f}x" if wt else "      -"
            wts = f"{wt:9.2f}" if wt is not None else "        -"
            print(f"{level:24} {own:10.2f} {kids:8.2f} {own + kids:8.2f} {wts} {ratio}")
    return 0 if ok else 1


def phases(decoded, level: int) -> None:
    """Print the CPU seconds of each phase of each part of ``decoded`` at ``level``, compiled
    in this process as a worker does (guard-page checks where the host has them, as in
    ``Config()``), and of starting a compile worker."""
    import subprocess

    from wasm2py.llvm import facts as body_facts_of
    from wasm2py.llvm import jit
    from wasm2py.llvm.lower import build_text

    decoded = body_facts_of.with_bodies(decoded)
    tm = jit.host_target_machine(level)
    facts = body_facts_of.body_facts(decoded)  # (found by the parent, told to the workers)
    for k, part in enumerate(jit.plan_parts(decoded)):
        t0 = time.process_time()
        text = build_text(decoded, simd_isa=jit.simd_isa(tm), part=part,
                          guard=jit.guard_mode(None), landings=jit.guard_mode(None),
                          quick=jit.fast_isel(level), pausable=facts.pausable,
                          tail_calls=any(facts.tail_calls))
        t1 = time.process_time()
        mod = jit.parse(text, tm)
        t2 = time.process_time()
        jit.optimize(mod, tm, level, jit.has_big_functions(decoded, part[0]))
        t3 = time.process_time()
        tm.emit_object(mod)
        t4 = time.process_time()
        print(f"  part {k} ({len(part[0])} functions, {text.count(chr(10))} IR lines): "
              f"lower+print {t1 - t0:.2f}, parse+verify {t2 - t1:.2f}, passes {t3 - t2:.2f}, "
              f"codegen {t4 - t3:.2f} CPU s")  # fmt: skip
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-m", "wasm2py.llvm.worker", "serve"], env=env,
                   stdin=subprocess.DEVNULL, check=True)  # fmt: skip
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    print(f"  a compile worker's start-up (imports, until it reads its first job): "
          f"{start:.2f} CPU s")


if __name__ == "__main__":
    sys.exit(main())
