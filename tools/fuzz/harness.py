"""Running a fuzz target over many seeds in child processes.

A *target* (see :mod:`.targets`) turns a seed into an input (``make_input``, deterministic) and
checks it (``check``: a verdict, plus counters). The parent never runs inputs itself: it starts
``jobs`` children, each working through chunks of seeds; a child prints ``S <seed>`` before and
``R <seed> <json verdict>`` after each input. So when a child dies (a signal: SIGABRT inside LLVM,
SIGSEGV) or stops answering (a hang: no verdict within ``timeout`` seconds, then it is killed),
the parent knows which seed it was on: it records a finding, re-runs that seed alone in a fresh
child to confirm it (a crash that does not reproduce alone is recorded as ``unconfirmed`` with
the seeds the child ran before it), and starts a new child at the next seed.

Findings are written to ``OUT/<target>/<kind>-<seed>/`` with the input (``input.wasm``) and
``finding.json`` (the verdict, the command that reproduces it); :mod:`.minimize` shrinks them
afterwards (``min.wasm``).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def child_command(target: str, options: dict, seeds: list[int]) -> list[str]:
    return [sys.executable, "-m", "tools.fuzz.child", target, json.dumps(options),
            ",".join(map(str, seeds))]  # fmt: skip


@dataclass
class Run:
    """The outcome of a campaign."""

    target: str
    inputs: int = 0
    seconds_cpu: float = 0.0
    stats: Counter = field(default_factory=Counter)
    findings: list[dict] = field(default_factory=list)
    #: interrupted (SIGINT/SIGTERM) before every seed was checked: ``inputs`` counts those that were
    stopped: bool = False

    def summary(self) -> str:
        lines = [f"{self.target}: {self.inputs} inputs, {len(self.findings)} findings, "
                 f"{self.seconds_cpu:.0f} s CPU in children"]  # fmt: skip
        for k, v in sorted(self.stats.items()):
            lines.append(f"  {k}: {v}")
        for f in self.findings:
            lines.append(f"  FINDING {f['kind']} seed {f['seed']}: {f.get('detail', '')[:300]}")
        return "\n".join(lines)


class _Child:
    def __init__(self, target: str, options: dict, seeds: list[int], nice: int):
        self.seeds = seeds
        self.done: list[int] = []
        self.current: int | None = None
        self.started = time.monotonic()
        self.buf = b""

        def lower_priority():
            if nice:
                os.nice(nice)

        self.proc = subprocess.Popen(child_command(target, options, seeds),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=child_env(), cwd=ROOT,
                                     preexec_fn=lower_priority, start_new_session=True)  # fmt: skip
        os.set_blocking(self.proc.stderr.fileno(), False)
        self.err = bytearray()

    def drain_stderr(self) -> None:
        try:
            while chunk := self.proc.stderr.read(65536):
                self.err += chunk
                del self.err[:-20000]
        except (BlockingIOError, TypeError, ValueError):
            pass

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()


def _chunks(seeds: list[int], size: int) -> list[list[int]]:
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def run_campaign(target: str, seeds: list[int], *, options: dict | None = None, jobs: int = 2,
                 timeout: float = 60.0, chunk: int = 200, nice: int = 0,
                 out: Path | None = None, progress: bool = False) -> Run:  # fmt: skip
    """Check every seed of ``seeds`` with ``target`` in ``jobs`` parallel children.

    Args:
        options: passed to the target (JSON).
        timeout: seconds one input may take before it counts as a hang.
        chunk: seeds per child process (a child that crashes is replaced at the next seed).
        nice: niceness of the children (``19`` for long campaigns on a shared machine).
        out: where findings are written (None: not written; see :mod:`.minimize`).
    """
    options = options or {}
    run = Run(target)
    todo = _chunks(list(seeds), chunk)
    todo.reverse()
    sel = selectors.DefaultSelector()
    children: list[_Child] = []
    last_report = time.monotonic()
    usage0 = _children_cpu()

    def start(seed_list: list[int]) -> None:
        c = _Child(target, options, seed_list, nice)
        sel.register(c.proc.stdout, selectors.EVENT_READ, c)
        children.append(c)

    def finish(c: _Child) -> None:
        sel.unregister(c.proc.stdout)
        children.remove(c)
        c.proc.stdout.close()

    def record(kind: str, seed: int, detail: str, verdict: dict | None = None, history=()):
        finding = {"target": target, "kind": kind, "seed": seed, "detail": detail,
                   "options": options, "history": list(history)[-20:]}  # fmt: skip
        if verdict:
            finding["verdict"] = verdict
        if out is not None:
            from .minimize import save_finding

            finding["saved"] = str(save_finding(out, finding))
        run.findings.append(finding)

    try:
        while todo or children:
            while todo and len(children) < jobs:
                start(todo.pop())
            events = sel.select(timeout=1.0)
            now = time.monotonic()
            for key, _ in events:
                c: _Child = key.data
                data = os.read(key.fileobj.fileno(), 1 << 16)
                if not data:
                    # the child exited: at the end of its seeds, or died on one
                    c.drain_stderr()
                    c.proc.wait()
                    rc = c.proc.returncode
                    finish(c)
                    if c.current is not None:
                        seed = c.current
                        rest = c.seeds[c.seeds.index(seed) + 1 :]
                        detail = _death(rc, c.err)
                        verdict = confirm(target, options, seed, timeout)
                        kind = "crash" if verdict["status"] == "crash" else "unconfirmed-crash"
                        record(kind, seed, detail if kind == "crash" else
                               f"{detail} (alone: {verdict['status']})",
                               verdict, c.done)  # fmt: skip
                        run.inputs += 1
                        if rest:
                            todo.append(rest)
                    elif rc != 0:
                        record("child-failed", c.seeds[0], _death(rc, c.err))
                    continue
                c.buf += data
                *lines, c.buf = c.buf.split(b"\n")
                for line in lines:
                    kind, _, rest = line.decode().partition(" ")
                    if kind == "S":
                        c.current = int(rest)
                        c.started = now
                    elif kind == "R":
                        seed_text, _, verdict_text = rest.partition(" ")
                        verdict = json.loads(verdict_text)
                        c.current = None
                        c.done.append(int(seed_text))
                        run.inputs += 1
                        run.stats.update(verdict.get("stats", {}))
                        if verdict["status"] == "finding":
                            record(verdict["kind"], int(seed_text), verdict.get("detail", ""),
                                   verdict)  # fmt: skip
            for c in list(children):
                c.drain_stderr()
                if c.current is not None and now - c.started > timeout:
                    seed = c.current
                    c.kill()
                    finish(c)
                    verdict = confirm(target, options, seed, timeout * 2)
                    kind = "hang" if verdict["status"] == "hang" else "unconfirmed-hang"
                    record(kind, seed, f"no verdict within {timeout:.0f} s", verdict, c.done)
                    run.inputs += 1
                    rest = c.seeds[c.seeds.index(seed) + 1 :]
                    if rest:
                        todo.append(rest)
            if progress and now - last_report > 30:
                last_report = now
                print(f"[{time.strftime('%H:%M:%S')}] {target}: {run.inputs}/{len(seeds)} "
                      f"inputs, {len(run.findings)} findings", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        # a stopped campaign keeps the verdicts it has; the children are in their own
        # sessions, so none of them died of the signal and was taken for a crash
        run.stopped = True
    finally:
        for c in children:
            c.kill()
    run.seconds_cpu = _children_cpu() - usage0
    return run


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _death(rc: int, err: bytes) -> str:
    how = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
    tail = bytes(err).decode(errors="replace").strip().splitlines()[-6:]
    return f"child died ({how}): " + " | ".join(tail)


def confirm(target: str, options: dict, seed: int, timeout: float) -> dict:
    """Run one seed alone in a fresh child: its verdict, or ``{"status": "crash"|"hang"}``."""
    try:
        proc = subprocess.run(child_command(target, options, [seed]), capture_output=True,
                              env=child_env(), cwd=ROOT, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"status": "hang"}
    for line in proc.stdout.decode().splitlines():
        if line.startswith("R "):
            return json.loads(line.split(" ", 2)[2])
    return {"status": "crash", "detail": _death(proc.returncode, proc.stderr)}
