"""Compiling a module with LLVM in a child process (for ``tier="auto"``).

Tier-up compiles while the Python tier keeps running the program. Doing that in a thread of the
same process would hold the GIL through the lowering (pure Python, about a third of the compile)
and, worse, leave LLVM running in a thread when the interpreter exits, which aborts the process
inside LLVM (seen: an assertion in the optimiser at exit). A child process runs on another
core, never blocks the parent, and is simply killed at exit. It writes the machine code into the
authenticated machine-code cache format (:func:`wasm2py.cache.store_blob`), from which the
parent loads it in milliseconds.

The same workers compile the parts of a big module in parallel (:func:`compile_parts`, used by
:func:`.jit.compile_module`).

``python -m wasm2py.llvm.worker cache|part ...`` (see :func:`main`) reads the module's bytes from
stdin; ``COSTS`` is ``-`` or ``repr((instruction, per_opcode, bulk_per_64))`` of the fuel
costs.
"""

from __future__ import annotations

import ast
import atexit
import os
import signal
import subprocess
import sys
import tempfile
import threading

_CHILDREN: set[subprocess.Popen] = set()
_LOCK = threading.Lock()


def _costs_arg(fuel_costs) -> str:
    if fuel_costs is None:
        return "-"
    return repr((fuel_costs.instruction, tuple(fuel_costs.per_opcode), fuel_costs.bulk_per_64))


def _spawn(args: list[str], wasm: bytes, stderr) -> subprocess.Popen:
    """Start a worker with ``args``, feed it the module's bytes, keep it for the exit hook.
    A worker started from a program leads a process group of its own, so killing it also kills
    the workers it started for the parts of a big module."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    # only a worker started outside a worker leads a group: the parts it starts join it
    group = os.name == "posix" and not os.environ.get("WASM2PY_WORKER")
    env["WASM2PY_WORKER"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "wasm2py.llvm.worker", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                            env=env, start_new_session=group)  # fmt: skip
    proc.group = group  # type: ignore[attr-defined]
    with _LOCK:
        _CHILDREN.add(proc)
    try:
        proc.stdin.write(wasm)
        proc.stdin.close()
    except OSError:
        pass  # it died already: its exit status tells
    return proc


def _wait(proc: subprocess.Popen, stderr) -> None:
    try:
        proc.wait()
    finally:
        with _LOCK:
            _CHILDREN.discard(proc)
    if proc.returncode != 0:
        stderr.seek(0)
        lines = stderr.read().decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"LLVM compile failed ({proc.returncode}): "
                           f"{lines[-1] if lines else 'no message'}")  # fmt: skip


def compile_in_subprocess(wasm: bytes, directory: str, opt_level: int, fuel_costs) -> None:
    """Compile the (validated) module ``wasm`` in a child process into the machine-code cache
    in ``directory``; returns when it is done.

    Raises:
        RuntimeError: the child failed (its last error line is in the message).
    """
    with tempfile.TemporaryFile() as err:
        proc = _spawn(["cache", directory, str(opt_level), _costs_arg(fuel_costs)], wasm, err)
        _wait(proc, err)


def compile_parts(wasm: bytes, opt_level: int, fuel_costs, parts) -> list[bytes]:
    """Compile the parts of a module (:func:`.jit.plan_parts`) in parallel child processes;
    their relocatable objects, in part order.

    Raises:
        RuntimeError: a child failed.
    """
    with tempfile.TemporaryDirectory(prefix="wasm2py-parts-") as tmp:
        jobs = []
        for k, (funcs, shell) in enumerate(parts):
            out = os.path.join(tmp, f"part{k}.o")
            err = tempfile.TemporaryFile()
            args = ["part", out, str(opt_level), _costs_arg(fuel_costs), str(funcs.start),
                    str(funcs.stop), "1" if shell else "0"]  # fmt: skip
            jobs.append((_spawn(args, wasm, err), err, out))
        objects = []
        try:
            for proc, err, out in jobs:
                _wait(proc, err)
                with open(out, "rb") as f:
                    objects.append(f.read())
        finally:
            for proc, err, _ in jobs:
                if proc.poll() is None:
                    _kill(proc)
                err.close()
        return objects


@atexit.register
def _kill_children() -> None:
    with _LOCK:
        children = list(_CHILDREN)
    for proc in children:
        _kill(proc)


def _kill(proc: subprocess.Popen) -> None:
    """Kill a worker and whatever it started."""
    try:
        if getattr(proc, "group", False):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass  # gone already


def main(argv: list[str]) -> int:
    """The child: decode the module from stdin, then ``cache DIR LEVEL COSTS`` compiles it into
    the machine-code cache in DIR, ``part OUT LEVEL COSTS START STOP SHELL`` writes the object
    of one part (:func:`.jit.plan_parts`) to OUT."""
    from ..binary.decoder import decode_module
    from ..config import FuelCosts
    from .jit import compile_module, compile_part

    mode, target, level, costs, *rest = argv
    fuel = None
    if costs != "-":
        instruction, per_opcode, bulk = ast.literal_eval(costs)
        fuel = FuelCosts(instruction, tuple(per_opcode), bulk)
    module = decode_module(sys.stdin.buffer.read(), check_bodies=False)  # validated by the parent
    if mode == "cache":
        compile_module(module, int(level), cache_dir=target, fuel_costs=fuel)
        return 0
    start, stop, shell = rest
    obj = compile_part(module, int(level), fuel, (range(int(start), int(stop)), shell == "1"))
    with open(target, "wb") as f:
        f.write(obj)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
