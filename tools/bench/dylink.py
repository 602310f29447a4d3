"""The cost of dynamic linking at run time: calls across modules, calls through closures, and
``closure_prepare`` itself, in the Python and LLVM tiers.

The modules are built with ``wasm2py.build`` (a main and a side module with ``dylink.0``
sections) and loaded by ``wasm2py.dylink.DynamicLinker``. Each call row is a wasm loop making
``n`` calls, timed in CPU time (``time.process_time``, best of ``--repeat``) and shown as
nanoseconds per call:

* local: a function of the same module (``call``);
* cross-module: a function of the main imported by the side module (``env.inc``);
* table -> library: ``call_indirect`` from the main to a side module's function;
* table -> closure: ``call_indirect`` to a closure (trampoline module -> backing function in
  the main, arguments and results through memory).

``closure_prepare`` rows: milliseconds for the first closure of a signature (the trampoline
module is built, translated and, in the LLVM tier, compiled; the on-disk cache is off) and for
another closure of the same signature (instantiation only).

Usage::

    python tools/bench/dylink.py [--n N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py  # noqa: E402
from tools.bench.run_kernels import format_table  # noqa: E402
from wasm2py.build import GlobalType, Limits, MemoryType, ModuleBuilder, TableType  # noqa: E402
from wasm2py.dylink import Closures, DylinkInfo, DynamicLinker  # noqa: E402
from wasm2py.types import FuncType, ValType  # noqa: E402

I32 = ValType.I32
UNARY = FuncType([I32], [I32])


def _imports(b: ModuleBuilder) -> None:
    b.import_memory("env", "memory", MemoryType(Limits(1)))
    b.import_table("env", "__indirect_function_table", TableType(ValType.FUNCREF, Limits(0)))


def _loop(f, n_local: int, call) -> None:
    """``acc = 0; for i in range(n): acc = call(acc)``; returns acc."""
    i, acc = f.add_local(I32), f.add_local(I32)
    f.block().loop()
    f.local_get(i).local_get(n_local).i32_ge_u().br_if(1)
    call(f, acc)
    f.local_set(acc)
    f.local_get(i).i32_const(1).i32_add().local_set(i).br(0)
    f.end().end()
    f.local_get(acc)


def main_module() -> bytes:
    b = ModuleBuilder(module_name="main")
    b.dylink(DylinkInfo())
    _imports(b)
    inc = b.function(UNARY, name="inc")
    inc.local_get(0).i32_const(1).i32_add()
    b.export_function("inc", inc)
    direct = b.function(FuncType([I32], [I32]), name="loop_direct")
    _loop(direct, 0, lambda f, acc: f.local_get(acc).call(inc))
    b.export_function("loop_direct", direct)
    indirect = b.function(FuncType([I32, I32], [I32]), name="loop_indirect")
    _loop(indirect, 1, lambda f, acc: f.local_get(acc).local_get(0).call_indirect(UNARY))
    b.export_function("loop_indirect", indirect)
    # a closure's backing function: results[0] = values[0] + 1
    backing = b.function(FuncType([I32, I32, I32], []), name="backing")
    backing.local_get(1).local_get(0).i32_load().i32_const(1).i32_add().i32_store()
    b.export_function("backing", backing)
    return b.encode()


def side_module() -> bytes:
    b = ModuleBuilder(module_name="side")
    b.dylink(DylinkInfo())
    inc = b.import_function("env", "inc", UNARY)
    _imports(b)
    b.import_global("env", "__memory_base", GlobalType(I32))
    loop = b.function(FuncType([I32], [I32]), name="loop_import")
    _loop(loop, 0, lambda f, acc: f.local_get(acc).call(inc))
    b.export_function("loop_import", loop)
    lib_inc = b.function(UNARY, name="lib_inc")
    lib_inc.local_get(0).i32_const(1).i32_add()
    b.export_function("lib_inc", lib_inc)
    return b.encode()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def measure(tier: str, n: int, repeat: int) -> list[str]:
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier=tier, cache=False)))
    dl = DynamicLinker(store)
    closures = Closures(dl)
    main = dl.load(main_module(), name="main")
    side = dl.dlopen(side_module(), name="side.so")
    mx, sx = main.exports, side.exports
    lib_slot = dl.function_pointer("lib_inc")
    backing = dl.function_pointer("backing")
    slot = closures.allocate()
    t_first = best(lambda: closures.prepare(backing, slot, [I32], [I32], 0), 1)
    t_again = best(lambda: closures.prepare(backing, slot, [I32], [I32], 0), repeat)
    assert mx.loop_direct(n) == sx.loop_import(n) == mx.loop_indirect(lib_slot, n) == n
    assert mx.loop_indirect(slot, n) == n
    rows = [
        best(lambda: mx.loop_direct(n), repeat),
        best(lambda: sx.loop_import(n), repeat),
        best(lambda: mx.loop_indirect(lib_slot, n), repeat),
        best(lambda: mx.loop_indirect(slot, n), repeat),
    ]
    return [tier, *(f"{t / n * 1e9:.1f}" for t in rows), f"{t_first * 1e3:.1f}",
            f"{t_again * 1e3:.2f}"]  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="calls per loop (default per tier)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    headers = ["tier", "local ns", "cross-module ns", "table->library ns", "table->closure ns",
               "prepare first ms", "prepare again ms"]  # fmt: skip
    rows = [measure("python", args.n or 200_000, args.repeat),
            measure("llvm", args.n or 5_000_000, args.repeat)]
    print(format_table(headers, rows, set(range(1, len(headers)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
