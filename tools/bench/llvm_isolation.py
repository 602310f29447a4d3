"""What compiling in a worker process costs (``Config(llvm_isolated=True)``, the default)
against compiling in this process (``llvm_isolated=False``).

For each module (a tiny one, the generated SIMD modules of the fuzzer, and the C kernels of
``tools/bench/kernels`` when clang is installed) it measures ``wasm2py.Module(engine, bytes)``
with ``tier="llvm"`` and no cache, ``--repeat`` times each way, and prints the median wall time,
the CPU time of this process and of the worker (read from ``/proc``), and the ratio of the wall
times. The first isolated compile of the run also starts the worker ("cold"); the others find
it warm.

Usage::

    python tools/bench/llvm_isolation.py [--repeat 5] [--opt 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TINY = bytes.fromhex(
    # (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
    "0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b"
)


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workers_cpu() -> float:
    from wasm2py.llvm import worker

    return sum(_proc_cpu(p.pid) for p in list(worker._CHILDREN))


def _modules() -> list[tuple[str, bytes]]:
    from tools.fuzz.simdgen import generate

    mods = [("tiny (1 function)", TINY)]
    mods += [(f"simd fuzz seed {s}", generate(s)) for s in (1, 2, 3)]
    try:
        from tools.bench.build import KERNELS, build_kernel, clang_missing

        if clang_missing() is None:
            for name in KERNELS:
                mods.append((f"kernel {name}", build_kernel(name).read_bytes()))
    except Exception as e:  # noqa: BLE001 - the kernels are optional here
        print(f"(C kernels skipped: {e})")
    return mods


def measure(data: bytes, isolated: bool, level: int, repeat: int):
    import wasm2py

    walls, cpus, wcpus = [], [], []
    for _ in range(repeat):
        engine = wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False, llvm_opt_level=level,
                                               llvm_isolated=isolated))  # fmt: skip
        w0, c0, k0 = time.perf_counter(), time.process_time(), _workers_cpu()
        wasm2py.Module(engine, data)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        wcpus.append(_workers_cpu() - k0)
    return statistics.median(walls), statistics.median(cpus), statistics.median(wcpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--opt", type=int, default=2)
    args = ap.parse_args(argv)
    import wasm2py
    from wasm2py.llvm import worker

    mods = _modules()
    # cold: the first isolated compile of the process starts the worker
    worker.pool().shutdown()
    t0 = time.perf_counter()
    c0 = time.process_time()
    wasm2py.Module(wasm2py.Engine(wasm2py.Config(tier="llvm", cache=False)), TINY)
    cold = time.perf_counter() - t0
    print(f"first isolated compile of the process (tiny module, starts the worker): "
          f"{cold * 1000:.0f} ms wall, {(time.process_time() - c0) * 1000:.0f} ms CPU here, "
          f"{_workers_cpu() * 1000:.0f} ms CPU in the worker (its start included)")  # fmt: skip
    print()
    print(f"{'module':<22} {'KiB':>6} | {'in-process':>22} | {'worker (warm)':>30} | ratio")
    print(f"{'':<22} {'':>6} | {'wall ms':>10} {'cpu ms':>10} | {'wall ms':>9} {'cpu ms':>9}"
          f" {'worker ms':>9} | wall")  # fmt: skip
    for name, data in mods:
        wi, ci, _ = measure(data, False, args.opt, args.repeat)
        wo, co, ko = measure(data, True, args.opt, args.repeat)
        print(f"{name:<22} {len(data) / 1024:>6.1f} | {wi * 1000:>10.1f} {ci * 1000:>10.1f} | "
              f"{wo * 1000:>9.1f} {co * 1000:>9.1f} {ko * 1000:>9.1f} | {wo / wi:>4.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
