"""Saving findings with a reproducer, and shrinking their inputs.

A finding is kept as ``OUT/<target>/<kind>-<seed>/``: ``input.wasm`` (the input of the seed),
``min.wasm`` (the shrunk input, when shrinking kept the finding), ``finding.json`` (verdict,
seed, options, the commands below) and ``reproduce.sh``.

Shrinking keeps a candidate when a fresh child gives the same *signature* (the kind and the
category of the finding, see :func:`signature`): valid modules (targets ``simd``, ``diff``) with
``wasm-tools shrink`` (it only tries valid modules), other inputs (``mutate``) by removing byte
ranges (delta debugging).
"""

from __future__ import annotations

import json
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

from .harness import ROOT, child_command, child_env

_CATEGORIES = ("rejects", "instantiate", "fuel used", "memory", "global", "tables", "host call",
               "load", "vs")  # fmt: skip


def signature(verdict: dict) -> str:
    """What must stay the same while shrinking: the kind, the phase (plain/metered) and the
    category of a mismatch, the signal of a crash, the exception type of an exception."""
    kind = verdict.get("kind") or verdict.get("status")
    detail = verdict.get("detail", "")
    if verdict.get("status") == "crash" or kind == "crash":
        m = re.search(r"signal (\w+)|exit status (\d+)", detail)
        return f"crash:{m.group(0) if m else ''}"
    if kind == "mismatch":
        phase = detail.split(":", 1)[0] if detail.startswith(("plain", "metered")) else ""
        cat = next((c for c in _CATEGORIES if c in detail), "")
        return f"mismatch:{phase}:{cat}"
    if kind == "exception":
        return "exception:" + detail.split(":", 1)[0]
    return str(kind)


def verdict_of(target: str, options: dict, path: str, seed: int, timeout: float = 120) -> dict:
    """The verdict of a fresh child on the input in ``path``."""
    cmd = child_command(target, options, [])[:-1] + [f"@{path}:{seed}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, env=child_env(), cwd=ROOT,
                              timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"status": "hang", "kind": "hang"}
    for line in proc.stdout.decode().splitlines():
        if line.startswith("R "):
            return json.loads(line.split(" ", 2)[2])
    rc = proc.returncode
    how = f"signal {-rc}" if rc < 0 else f"exit status {rc}"
    try:
        import signal as _signal

        how = f"signal {_signal.Signals(-rc).name}" if rc < 0 else how
    except ValueError:
        pass
    return {"status": "crash", "kind": "crash", "detail": f"child died ({how})"}


def reproduce_command(target: str, options: dict, path: str, seed: int) -> str:
    return (f"cd {shlex.quote(str(ROOT))} && PYTHONPATH=. {shlex.quote(sys.executable)} -m "
            f"tools.fuzz.child {target} {shlex.quote(json.dumps(options))} "
            f"{shlex.quote('@' + path + ':' + str(seed))}")  # fmt: skip


#: at most this long shrinking one finding
SHRINK_SECONDS = 900


def save_finding(out: Path, finding: dict) -> Path:
    """Write a finding (see the module doc; not shrunk yet: :func:`minimize_finding`) and
    return its directory."""
    from .targets import make_target

    target, seed, options = finding["target"], finding["seed"], finding["options"]
    where = Path(out) / target / f"{finding['kind']}-{seed}"
    where.mkdir(parents=True, exist_ok=True)
    data = make_target(target, options).make_input(seed)
    inp = where / "input.wasm"
    inp.write_bytes(data or b"")
    finding = dict(finding)
    finding["signature"] = signature(finding.get("verdict") or finding)
    finding["reproduce"] = reproduce_command(target, options, str(inp.resolve()), seed)
    (where / "finding.json").write_text(json.dumps(finding, indent=1, default=str))
    (where / "reproduce.sh").write_text("#!/bin/sh\n" + finding["reproduce"] + "\n")
    return where


def minimize_finding(where: Path, attempts: int = 150) -> int | None:
    """Shrink the input of the finding saved in ``where`` into ``min.wasm`` (keeping its
    signature); the new size, or None when nothing smaller kept it."""
    finding = json.loads((where / "finding.json").read_text())
    if finding["kind"] in ("hang", "unconfirmed-hang", "unconfirmed-crash", "child-failed"):
        return None
    data = (where / "input.wasm").read_bytes()
    if not data:
        return None
    target, seed, options = finding["target"], finding["seed"], finding["options"]
    sig = finding["signature"]
    small = shrink(target, options, seed, data, sig, where, attempts)
    if small is None or len(small) >= len(data):
        return None
    (where / "min.wasm").write_bytes(small)
    finding["minimized"] = {"bytes": len(small), "from": len(data)}
    finding["reproduce_min"] = reproduce_command(target, options,
                                                 str((where / "min.wasm").resolve()), seed)  # fmt: skip
    (where / "finding.json").write_text(json.dumps(finding, indent=1, default=str))
    return len(small)


def shrink(target: str, options: dict, seed: int, data: bytes, sig: str, where: Path,
           attempts: int) -> bytes | None:  # fmt: skip
    """A smaller input with the same signature, or None. Candidates are checked by a fork
    server (:mod:`.forkserver`): each in a fresh fork of a warm process."""
    from .forkserver import ForkServer

    with ForkServer(target, options) as server:
        if target in ("simd", "diff"):
            return _wasm_shrink(server, seed, data, sig, where, attempts)
        return _ddmin(lambda d: server.signature(d, seed) == sig, data, attempts)


def _wasm_shrink(server, seed, data, sig, where: Path, attempts: int) -> bytes | None:
    where = where.resolve()
    script = where / "predicate.sh"
    script.write_text("#!/bin/sh\n" + server.predicate_command(seed, sig) + ' "$1"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    src = where / "input.wasm"
    dst = where / "shrunk.wasm"
    try:
        proc = subprocess.run(["wasm-tools", "shrink", str(script), str(src), "-o", str(dst),
                               "--attempts", str(attempts)], capture_output=True,
                              env=child_env(), timeout=SHRINK_SECONDS)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode or not dst.exists():
        return None
    small = dst.read_bytes()
    dst.unlink()
    return small


def _ddmin(interesting, data: bytes, attempts: int) -> bytes | None:
    """Remove ever smaller byte ranges while ``interesting`` holds (at most ``attempts``
    tries)."""
    best = data
    chunk = max(1, len(best) // 2)
    tries = 0
    while chunk >= 1 and tries < attempts:
        i = 8 if len(best) > 8 else 0  # keep the header when there is more
        changed = False
        while i < len(best) and tries < attempts:
            cand = best[:i] + best[i + chunk :]
            tries += 1
            if cand and interesting(cand):
                best = cand
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return best if len(best) < len(data) else None
