"""Compiling a module with LLVM in a child process (for ``tier="auto"``).

Tier-up compiles while the Python tier keeps running the program. Doing that in a thread of the
same process would hold the GIL through the lowering (pure Python, about a third of the compile)
and, worse, leave LLVM running in a thread when the interpreter exits, which aborts the process
inside LLVM (seen: an assertion in the optimiser at exit). A child process runs on another
core, never blocks the parent, and is simply killed at exit. It writes the machine code into the
authenticated machine-code cache format (:func:`wasm2py.cache.store_blob`), from which the
parent loads it in milliseconds.

``python -m wasm2py.llvm.worker DIR LEVEL COSTS`` reads the module's bytes from stdin; ``COSTS``
is ``-`` or ``repr((instruction, per_opcode, bulk_per_64))`` of the fuel costs.
"""

from __future__ import annotations

import ast
import atexit
import os
import subprocess
import sys
import threading

_CHILDREN: set[subprocess.Popen] = set()
_LOCK = threading.Lock()


def compile_in_subprocess(wasm: bytes, directory: str, opt_level: int, fuel_costs) -> None:
    """Compile the (validated) module ``wasm`` in a child process into ``directory``; returns
    when it is done.

    Raises:
        RuntimeError: the child failed (its last error line is in the message).
    """
    costs = "-" if fuel_costs is None else repr(
        (fuel_costs.instruction, tuple(fuel_costs.per_opcode), fuel_costs.bulk_per_64))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "wasm2py.llvm.worker", directory, str(opt_level), costs]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    with _LOCK:
        _CHILDREN.add(proc)
    try:
        _, err = proc.communicate(wasm)
    finally:
        with _LOCK:
            _CHILDREN.discard(proc)
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"LLVM compile failed ({proc.returncode}): "
                           f"{lines[-1] if lines else 'no message'}")  # fmt: skip


@atexit.register
def _kill_children() -> None:
    with _LOCK:
        children = list(_CHILDREN)
    for proc in children:
        proc.kill()


def main(argv: list[str]) -> int:
    """The child: decode the module from stdin and compile it into the cache directory."""
    from ..binary.decoder import decode_module
    from ..config import FuelCosts
    from .jit import compile_module

    directory, level, costs = argv
    fuel = None
    if costs != "-":
        instruction, per_opcode, bulk = ast.literal_eval(costs)
        fuel = FuelCosts(instruction, tuple(per_opcode), bulk)
    module = decode_module(sys.stdin.buffer.read())  # validated by the parent
    compile_module(module, int(level), cache_dir=directory, fuel_costs=fuel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
