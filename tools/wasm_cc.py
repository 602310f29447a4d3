"""Compile C to wasm with clang, the same way whatever else is installed.

When clang links a wasm module with an optimisation flag (``-O1``...), it runs binaryen's
``wasm-opt`` on the result if it finds one (on ``PATH`` or beside clang). That pass rewrites the
module (e.g. inlines ``main`` into ``_start``), so builds would depend on whether binaryen
happens to be installed. Here every source is compiled with ``-c`` (optimised as asked) and the
objects are linked by a separate clang command that carries no optimisation flag, so ``wasm-opt``
is never run. Every build of wasm for the tests and tools goes through :func:`build_wasm`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: part of the build tools' cache keys: outputs made before builds ignored wasm-opt are rebuilt
RECIPE = "compile -c, link without -O (no wasm-opt)"


def _is_opt_level(flag: str) -> bool:
    return flag.startswith("-O") and not flag.startswith("-O=")


def _link_only(flag: str) -> bool:
    return flag.startswith(("-l", "-Wl,", "-mexec-model="))


def build_wasm(clang: str, flags: Sequence[str], sources: Sequence[str | os.PathLike],
               out: str | os.PathLike, *, cwd: str | os.PathLike | None = None,
               libs: Sequence[str] = ()) -> None:  # fmt: skip
    """Compile ``sources`` with ``flags`` and link them into ``out``.

    Args:
        clang: the clang executable.
        flags: clang flags as for a one-step build (target, ``-O2``, ``-D``..., ``-Wl,``...,
            ``-l``...): compile-only flags go to the compile steps, link-only ones (``-l``,
            ``-Wl,``, ``-mexec-model=``) to the link step, the rest to both; the optimisation
            level never reaches the link step.
        sources: C files (relative to ``cwd`` if given).
        out: the ``.wasm`` to write.
        libs: ``-l`` flags placed after the objects.

    Raises:
        RuntimeError: a compile or the link failed (with the command and its output).
    """
    compile_flags = [f for f in flags if not _link_only(f)]
    link_flags = [f for f in flags if not _is_opt_level(f)]
    with tempfile.TemporaryDirectory(prefix="wasm-cc-") as tmp:
        objects = []
        for k, src in enumerate(sources):
            obj = os.path.join(tmp, f"{k}-{Path(src).stem}.o")
            _run([clang, *compile_flags, "-c", str(src), "-o", obj], cwd)
            objects.append(obj)
        # -D/-I/-f... flags mean nothing when linking: keep clang from warning (or, with
        # -Werror, failing) about them.
        _run([clang, *link_flags, "-Wno-unused-command-line-argument", *objects, *libs, "-o",
              str(out)], cwd)  # fmt: skip


def _run(cmd: list[str], cwd) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)}\nfailed with exit code {proc.returncode}:\n"
                           f"{proc.stderr}{proc.stdout}")  # fmt: skip
