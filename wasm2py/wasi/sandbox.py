"""Capability-safe path resolution: a guest path, relative to a directory descriptor, can never
name anything outside the directory tree that descriptor grants.

Paths are never checked by string prefix. They are walked one component at a time with
``openat``-style calls (``os.open(..., dir_fd=...)`` with ``O_NOFOLLOW``), keeping the chain of
directories entered on a stack:

- ``..`` pops the stack; popping the starting directory is an escape (``Errno.PERM``, as
  wasmtime/cap-std report it);
- an absolute path, or a symlink whose target is absolute, is an escape;
- a symlink met on the way is read with ``readlinkat`` and its target's components are walked in
  its place, from the directory that holds the link (at most :data:`MAX_SYMLINKS` expansions, then
  ``Errno.LOOP``);
- every directory is entered with ``O_NOFOLLOW | O_DIRECTORY``, so a component swapped for a
  symlink between the check and the open fails instead of being followed.

The walk stops before the last component and hands back ``(parent_fd, name)``: the caller does
the final operation itself with ``dir_fd=parent_fd`` and without following symlinks (``name`` is a
plain file name or ``"."``), so the last step cannot escape either.
"""

from __future__ import annotations

import errno
import os
import stat

from .constants import Errno

#: how many symlinks one resolution may expand (Linux's limit)
MAX_SYMLINKS = 40

_O_PATH = getattr(os, "O_PATH", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = (_O_PATH or os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | _O_CLOEXEC


class WasiError(Exception):
    """Raised inside WASI host functions; the function returns :attr:`errno` to the guest."""

    def __init__(self, errno_: int):
        super().__init__(errno_)
        self.errno = errno_


class Resolved:
    """The outcome of a resolution: operate on ``name`` inside directory ``fd``.

    Use as a context manager (or call :meth:`close`): ``fd`` may be a descriptor opened during the
    walk, which must be closed.

    Attributes:
        fd: host descriptor of the directory holding the last component.
        name: the last component (bytes; a plain name or ``b"."``).
        must_be_dir: the path ended with ``/`` (or ``/.``): the target must be a directory.
    """

    __slots__ = ("fd", "name", "must_be_dir", "_owned")

    def __init__(self, fd: int, name: bytes, must_be_dir: bool, owned: bool):
        self.fd = fd
        self.name = name
        self.must_be_dir = must_be_dir
        self._owned = owned

    def close(self) -> None:
        if self._owned:
            self._owned = False
            os.close(self.fd)

    def __enter__(self) -> Resolved:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _components(path: bytes) -> list[bytes]:
    """The components of a relative path, ``.`` and empty ones dropped, in reverse order."""
    return [c for c in reversed(path.split(b"/")) if c and c != b"."]


def check_path(path: bytes) -> None:
    """Refuse what no resolution may start from.

    Raises:
        WasiError: ``NOENT`` for an empty path, ``ILSEQ`` for a NUL byte or invalid UTF-8,
            ``PERM`` for an absolute path.
    """
    if not path:
        raise WasiError(Errno.NOENT)
    if b"\0" in path:
        raise WasiError(Errno.ILSEQ)
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        raise WasiError(Errno.ILSEQ) from None
    if path[:1] == b"/":
        raise WasiError(Errno.PERM)


def resolve(base_fd: int, path: bytes, follow: bool) -> Resolved:
    """Walk ``path`` from the directory ``base_fd`` without ever leaving it.

    Args:
        base_fd: host descriptor of the directory the guest holds a capability for.
        path: the guest's path (bytes, relative).
        follow: expand a symlink in the last component too (``lookupflags::symlink_follow``).
            A path ending with ``/`` always follows its last component.

    Returns:
        A :class:`Resolved` naming the last component inside its (sandboxed) parent.

    Raises:
        WasiError: ``PERM`` for an escape, ``LOOP`` for too many symlinks, ``NOENT``,
            ``NOTDIR`` ... for the walk's own failures.
    """
    check_path(path)
    stripped = path.rstrip(b"/")
    must_be_dir = stripped != path or stripped.endswith(b"/.") or stripped == b"."
    todo = _components(path)
    stack = [base_fd]  # stack[1:] are descriptors opened here
    links = 0
    try:
        while todo:
            comp = todo.pop()
            last = not todo
            if comp == b"..":
                if len(stack) == 1:
                    raise WasiError(Errno.PERM)
                os.close(stack.pop())
                continue
            top = stack[-1]
            if last and not (follow or must_be_dir):
                return _done(stack, comp, must_be_dir)
            if not last:
                try:
                    stack.append(os.open(comp, _DIR_FLAGS, dir_fd=top))
                    continue
                except OSError as e:
                    # ELOOP / ENOTDIR: maybe a symlink, to be expanded below
                    if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
            try:
                target = os.readlink(comp, dir_fd=top)
            except OSError as e:
                if e.errno == errno.EINVAL:  # exists and is not a symlink
                    if not last:
                        raise WasiError(Errno.NOTDIR) from None
                    if must_be_dir:
                        st = os.stat(comp, dir_fd=top, follow_symlinks=False)
                        if not stat.S_ISDIR(st.st_mode):
                            raise WasiError(Errno.NOTDIR) from None
                    return _done(stack, comp, must_be_dir)
                if e.errno == errno.ENOENT and last:
                    return _done(stack, comp, must_be_dir)
                raise
            links += 1
            if links > MAX_SYMLINKS:
                raise WasiError(Errno.LOOP)
            if not target:
                raise WasiError(Errno.NOENT)
            if target[:1] == b"/":
                raise WasiError(Errno.PERM)
            if last and (target.endswith(b"/") or target.endswith(b"/.") or target == b"."):
                must_be_dir = True
            todo.extend(_components(target))
        return _done(stack, b".", must_be_dir)
    except BaseException:
        for fd in stack[1:]:
            os.close(fd)
        raise


def _done(stack: list[int], name: bytes, must_be_dir: bool) -> Resolved:
    for fd in stack[1:-1]:
        os.close(fd)
    if len(stack) == 1:
        return Resolved(stack[0], name, must_be_dir, False)
    return Resolved(stack[-1], name, must_be_dir, True)
