"""What a WASI program is given: arguments, environment, preopened directories, stdio."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: a stdio setting: ``None`` (inherit the host's), a host descriptor, a path, or a binary file
Stdio = Any


@dataclass
class WasiConfig:
    """The environment of one WASI program.

    Attributes:
        argv: the program's arguments, ``argv[0]`` (its name) included; ``str`` or ``bytes``.
        env: environment variables, a mapping or ``(name, value)`` pairs. The host's
            environment is *not* passed unless you pass it (``env=os.environ``).
        preopens: ``{guest_path: host_path}``; the guest can reach these directories (and what
            is below them) and nothing else. Guest descriptors 3, 4, ... in this order.
        stdin, stdout, stderr: ``None`` to inherit the host's stream (the default), an ``int``
            host descriptor (not closed), a path (``str`` or ``os.PathLike``: read, or created
            and truncated), or a Python binary file object such as ``io.BytesIO`` (read with
            ``readinto``/``read``, written with ``write``; never closed by wasm2py).

    Note:
        A text stream such as ``sys.stdout`` is accepted and its binary ``buffer`` used.
    """

    argv: Sequence[str | bytes] = ()
    env: Mapping[str, str] | Iterable[tuple[str, str]] = field(default_factory=dict)
    preopens: Mapping[str, str | os.PathLike] = field(default_factory=dict)
    stdin: Stdio = None
    stdout: Stdio = None
    stderr: Stdio = None

    def env_items(self) -> list[tuple[str | bytes, str | bytes]]:
        """The environment as ``(name, value)`` pairs."""
        env = self.env
        if isinstance(env, Mapping):
            return list(env.items())
        return [(k, v) for k, v in env]


def encode(s: str | bytes) -> bytes:
    """A guest string: UTF-8 (``surrogateescape`` keeps undecodable host bytes intact)."""
    return s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")


def open_stdio(source: Stdio, index: int) -> tuple[int | object, bool]:
    """Turn a stdio setting into a host descriptor or a binary stream.

    Returns:
        ``(fd_or_stream, owned)``: ``owned`` if wasm2py opened the descriptor and must close it.

    Raises:
        OSError: a path could not be opened.
        TypeError: the setting is none of the accepted kinds.
    """
    if source is None:
        return index, False
    if isinstance(source, bool):
        raise TypeError(f"stdio setting {source!r} is not supported")
    if isinstance(source, int):
        return source, False
    if isinstance(source, str | bytes | os.PathLike):
        if index == 0:
            flags = os.O_RDONLY
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        return os.open(source, flags | getattr(os, "O_CLOEXEC", 0), 0o666), True
    if isinstance(source, io.TextIOBase):
        buffer = getattr(source, "buffer", None)
        if buffer is None:
            raise TypeError("a text stream without a binary buffer cannot be a WASI stdio")
        source.flush() if index else None
        return buffer, False
    if index == 0 and not (hasattr(source, "readinto") or hasattr(source, "read")):
        raise TypeError("stdin must be a readable binary file object")
    if index and not hasattr(source, "write"):
        raise TypeError("stdout/stderr must be a writable binary file object")
    return source, False
