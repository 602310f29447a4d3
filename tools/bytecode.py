"""Measured child processes run wasm2py as an installed copy does: from bytecode compiled
beforehand.

With ``PYTHONDONTWRITEBYTECODE`` set (as in some sandboxes) and no ``__pycache__`` in the
checkout, every fresh process that imports wasm2py compiles its ~100 modules again: 0.15-0.3
CPU s per ``wasm2py run`` or compile-worker start that no installed copy pays (pip compiles
bytecode at install time). The benchmarks that count child processes use ``installed_env``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: where the bytecode goes (outside the source tree; ``PYTHONPYCACHEPREFIX`` mirrors paths)
PYCACHE = Path(__file__).resolve().parents[1] / ".cache" / "pycache"
_compiled: set[str] = set()


def installed_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's environment) with bytecode writing allowed into
    ``PYCACHE``, after compiling the wasm2py package that its ``PYTHONPATH`` selects."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    key = env.get("PYTHONPATH", "")
    if key not in _compiled:
        find = "import os, wasm2py; print(os.path.dirname(wasm2py.__file__))"
        where = subprocess.run([sys.executable, "-c", find], env=env, capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", where], env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        _compiled.add(key)
    return env
