"""A fork server for shrinking: a warm process (target imported, LLVM initialised) that checks
each candidate input in a fresh ``fork`` of itself, so one check costs a fork and the check
(not a Python start and the imports), and a candidate that crashes or hangs only ends its fork.

``ForkServer(target, options)`` starts it on a UNIX socket; :meth:`ForkServer.signature`
asks from Python, :meth:`ForkServer.predicate_command` gives the shell command ``wasm-tools
shrink`` runs (a minimal client: exit status 0 when the candidate keeps the signature).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

from .harness import ROOT, child_env

#: seconds one candidate may take
CHECK_SECONDS = 60

_CLIENT = ("import socket,sys,os;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
           "s.sendall((sys.argv[2]+'\\n'+sys.argv[3]+'\\n'+os.path.realpath(sys.argv[4])+'\\n')"
           ".encode());r=s.makefile().readline().strip();sys.exit(0 if r=='1' else 1)")  # fmt: skip


class ForkServer:
    """The server process (a context manager that stops it)."""

    def __init__(self, target: str, options: dict):
        self.dir = tempfile.mkdtemp(prefix="wasm2py-fork-")
        self.path = os.path.join(self.dir, "sock")
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.fuzz.forkserver", target,
                                      json.dumps(options), self.path], env=child_env(),
                                     cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fork server did not start")
            time.sleep(0.05)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass

    def _ask(self, line: str) -> str:
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.path)
        s.sendall(line.encode())
        return s.makefile().readline().strip()

    def signature(self, data: bytes, seed: int) -> str:
        """The signature (:func:`.minimize.signature`) of the verdict on ``data``."""
        with tempfile.NamedTemporaryFile(suffix=".wasm", dir=self.dir, delete=False) as f:
            f.write(data)
        try:
            return self._ask(f"{seed}\n?\n{f.name}\n")
        finally:
            os.unlink(f.name)

    def predicate_command(self, seed: int, sig: str) -> str:
        return (f"exec {shlex.quote(sys.executable)} -I -S -c {shlex.quote(_CLIENT)} "
                f"{shlex.quote(self.path)} {seed} {shlex.quote(sig)}")  # fmt: skip


def _check_in_fork(target, seed: int, path: str) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: check, report, leave without cleanup
        os.close(r)
        try:
            with open(path, "rb") as f:
                verdict = target.check(f.read(), seed)
        except BaseException as e:  # noqa: BLE001
            verdict = {"status": "finding", "kind": "harness-error", "detail": repr(e)}
        os.write(w, json.dumps(verdict).encode())
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + CHECK_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return {"status": "hang", "kind": "hang"}
        time.sleep(0.005)
    with os.fdopen(r, "rb") as f:
        out = f.read()
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return {"status": "crash", "kind": "crash", "detail": f"child died (signal {name})"}
    return json.loads(out) if out else {"status": "crash", "kind": "crash",
                                        "detail": f"child died (exit status {status >> 8})"}


def serve(target_name: str, options: dict, path: str) -> None:
    from .minimize import signature
    from .targets import make_target

    target = make_target(target_name, options)
    try:
        from wasm2py.llvm import jit

        jit.host_target_machine()  # initialise LLVM once, before forking
    except ImportError:
        pass
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path + ".tmp")
    srv.listen(4)
    os.rename(path + ".tmp", path)
    while True:
        conn, _ = srv.accept()
        with conn:
            f = conn.makefile("rw")
            seed, sig, file = (f.readline().strip() for _ in range(3))
            got = signature(_check_in_fork(target, int(seed), file))
            f.write(("1" if got == sig else "0") if sig != "?" else got)
            f.write("\n")
            f.flush()


if __name__ == "__main__":
    serve(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3])
