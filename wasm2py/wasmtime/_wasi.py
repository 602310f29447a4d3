"""wasmtime-py's ``WasiConfig`` (a builder with properties that can only be set) over
:class:`wasm2py.wasi.WasiConfig`."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable
from typing import Any

from ..wasi.config import WasiConfig as _NativeConfig
from ._config import _Closable
from ._errors import WasmtimeError


class DirPerms(enum.Enum):
    """What a program may do with a preopened directory."""

    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class FilePerms(enum.Enum):
    """What a program may do with the files of a preopened directory."""

    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class _Output:
    """A WASI stdout/stderr that hands every write to a callback."""

    def __init__(self, callback: Callable[[bytes], Any]):
        self.callback = callback

    def write(self, data: bytes) -> int:
        self.callback(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def _path(path: Any) -> str:
    return os.fsdecode(os.fspath(path))


class WasiConfig(_Closable):
    """The environment of a WASI program (wasmtime-py's ``WasiConfig``): set ``argv``, ``env``,
    stdio files or callbacks, and preopened directories, then ``store.set_wasi(config)``. By
    default, as in wasmtime, the program gets no arguments, no environment, no directories, an
    empty stdin, and its output is discarded (``inherit_stdout()`` etc. to pass this process's
    streams)."""

    _argv: list[str]
    _env: list[tuple[str, str]]
    _stdio: list[Any]
    _preopens: dict[str, str]

    def __init__(self) -> None:
        object.__setattr__(self, "_argv", [])
        object.__setattr__(self, "_env", [])
        object.__setattr__(self, "_stdio", [os.devnull, os.devnull, os.devnull])
        object.__setattr__(self, "_preopens", {})

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_closed":
            object.__setattr__(self, name, value)
            return
        self._check()
        if name == "argv":
            self._argv[:] = [str(a) for a in value]
        elif name == "env":
            self._env[:] = [(str(k), str(v)) for k, v in (tuple(p) for p in value)]
        elif name == "stdin_file":
            path = _path(value)
            if not os.path.isfile(path) or not os.access(path, os.R_OK):
                raise WasmtimeError(f"failed to open input file {path!r}")
            self._stdio[0] = path
        elif name in ("stdout_file", "stderr_file"):
            path = _path(value)
            try:
                with open(path, "wb"):  # created (and truncated) now, as wasmtime does
                    pass
            except OSError as e:
                raise WasmtimeError(f"failed to open output file {path!r}: {e.strerror}") from None
            self._stdio[1 if name == "stdout_file" else 2] = path
        elif name in ("stdout_custom", "stderr_custom"):
            if not callable(value):
                raise TypeError("expected a callable")
            self._stdio[1 if name == "stdout_custom" else 2] = _Output(value)
        else:
            raise AttributeError(f"'WasiConfig' object has no attribute {name!r}")

    def inherit_argv(self) -> None:
        """The program gets this process's arguments."""
        self._check()
        self._argv[:] = list(sys.argv)

    def inherit_env(self) -> None:
        """The program gets this process's environment."""
        self._check()
        self._env[:] = list(os.environ.items())

    def inherit_stdin(self) -> None:
        """The program reads this process's stdin."""
        self._check()
        self._stdio[0] = None

    def inherit_stdout(self) -> None:
        """The program writes to this process's stdout."""
        self._check()
        self._stdio[1] = None

    def inherit_stderr(self) -> None:
        """The program writes to this process's stderr."""
        self._check()
        self._stdio[2] = None

    def preopen_dir(self, path: str, guest_path: str, dir_perms: DirPerms = DirPerms.READ_WRITE,
                    file_perms: FilePerms = FilePerms.READ_WRITE) -> None:  # fmt: skip
        """Let the program reach host directory ``path`` as ``guest_path``.

        Raises:
            WasmtimeError: ``path`` is not a directory, or permissions other than read-write
                are asked for (wasm2py's WASI grants read-write preopens only: refusing is
                safer than granting more than asked).
        """
        self._check()
        if dir_perms is not DirPerms.READ_WRITE or file_perms is not FilePerms.READ_WRITE:
            raise WasmtimeError("wasm2py's WASI supports read-write preopened directories only")
        host = _path(path)
        if not os.path.isdir(host):
            raise WasmtimeError(f"failed to open directory {host!r}")
        self._preopens[str(guest_path)] = host

    def _consume(self) -> _NativeConfig:
        """The wasm2py configuration; this config cannot be used afterwards."""
        self._check()
        self.close()
        stdin, stdout, stderr = self._stdio
        return _NativeConfig(argv=list(self._argv), env=list(self._env),
                             preopens=dict(self._preopens), stdin=stdin, stdout=stdout,
                             stderr=stderr)  # fmt: skip

