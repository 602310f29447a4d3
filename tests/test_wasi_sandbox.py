"""The capability sandbox (``wasm2py.wasi.sandbox.resolve``) against hostile paths and symlinks,
without any wasm: every resolution either stays inside the preopened directory or fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasm2py.wasi import Errno, WasiError, resolve


@pytest.fixture
def tree(tmp_path):
    """root/ (the preopen) and, beside it, outside/ with a secret."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("s")
    (root / "file").write_text("f")
    (root / "a" / "b" / "deep").write_text("d")
    links = {
        "abs": str(outside),  # absolute, out
        "abs-in": str(root / "file"),  # absolute, even if pointing inside: refused
        "up": "..",
        "up2": "a/../..",
        "rel-out": "../outside/secret",
        "a/b/climb": "../../../outside",
        "a/b/to-root": "../..",
        "a/b/to-file": "../../file",
        "chain1": "chain2",
        "chain2": "a/b/climb",
        "self": "self",
        "ping": "pong",
        "pong": "ping",
        "dir-link": "a/b",
        "dangling": "nothing-here",
        "empty-ish": ".",
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield root, fd
    os.close(fd)


def _real(r) -> str:
    """Host path of what a Resolved names (for checking it is inside)."""
    return os.path.realpath(os.path.join(f"/proc/self/fd/{r.fd}", os.fsdecode(r.name)))


ESCAPES = [
    "..", "../", "../outside", "../outside/secret", "a/../..", "a/b/../../..", "./..",
    "a/./b/../../../outside", "/etc/passwd", "/", "//x", "abs", "abs/secret", "abs-in",
    "up/x", "up2/x", "rel-out", "a/b/climb/secret", "chain1/secret", "a/b/to-root/..",
    "dir-link/../../..", "dir-link/climb",
]  # fmt: skip


@pytest.mark.parametrize("path", ESCAPES)
@pytest.mark.parametrize("follow", [True, False])
def test_escapes_are_refused(tree, path, follow):
    _, fd = tree
    if not follow and path in ("abs", "abs-in", "rel-out", "dir-link/climb"):
        # the link itself is inside: without following, it is a fine last component
        with resolve(fd, path.encode(), follow) as r:
            assert r.name == path.encode().rpartition(b"/")[2]
        return
    with pytest.raises(WasiError) as info:
        resolve(fd, path.encode(), follow).close()
    assert info.value.errno == Errno.PERM


@pytest.mark.parametrize("path, expect", [
    ("file", "file"), ("./file", "file"), ("a/b/deep", "a/b/deep"), ("a/../file", "file"),
    ("a/b/../../a/b/deep", "a/b/deep"), ("a/b/to-file", "file"), ("a/b/to-root/file", "file"),
    ("dir-link/deep", "a/b/deep"), (".", "."), ("a/..", "."), ("empty-ish/file", "file"),
    ("a/b/to-root", "."), ("dangling", "nothing-here"), ("new-file", "new-file"),
])  # fmt: skip
def test_inside_paths_resolve_inside(tree, path, expect):
    root, fd = tree
    with resolve(fd, path.encode(), True) as r:
        assert _real(r) == os.path.realpath(root / expect)


@pytest.mark.parametrize("path, errno", [
    ("self", Errno.LOOP), ("ping", Errno.LOOP), ("ping/x", Errno.LOOP),
    ("", Errno.NOENT), ("missing/x", Errno.NOENT), ("file/x", Errno.NOTDIR),
    ("file/", Errno.NOTDIR), ("a\0b", Errno.ILSEQ),
])  # fmt: skip
def test_errors(tree, path, errno):
    _, fd = tree
    with pytest.raises((WasiError, OSError)) as info:
        resolve(fd, path.encode(), True).close()
    err = info.value
    got = err.errno if isinstance(err, WasiError) else {2: Errno.NOENT, 20: Errno.NOTDIR,
                                                        40: Errno.LOOP}[err.errno]  # fmt: skip
    assert got == errno


def test_invalid_utf8_is_ilseq(tree):
    _, fd = tree
    with pytest.raises(WasiError) as info:
        resolve(fd, b"\xff\xfe", True)
    assert info.value.errno == Errno.ILSEQ


def test_no_descriptor_leaks(tree):
    _, fd = tree
    before = len(os.listdir("/proc/self/fd"))
    for path in ESCAPES + ["a/b/deep", "ping", "missing/x", "dir-link/deep"]:
        try:
            resolve(fd, path.encode(), True).close()
        except (WasiError, OSError):
            pass
    assert len(os.listdir("/proc/self/fd")) == before


def test_symlink_swapped_in_during_walk_is_not_followed(tree):
    """Intermediate directories are opened with O_NOFOLLOW|O_DIRECTORY: a directory replaced
    by a symlink to the outside is expanded by the walk (and refused), never followed."""
    root, fd = tree
    os.rename(root / "a", root / "a-moved")
    os.symlink(Path(root).parent / "outside", root / "a")
    with pytest.raises(WasiError) as info:
        resolve(fd, b"a/secret", True)
    assert info.value.errno == Errno.PERM
