"""The on-disk cache, so that later runs of a module start with what earlier runs did.

It holds, for a module's bytes:

* a *validated* mark (:func:`is_validated`, :func:`mark_validated`): a module validated once is
  only decoded by later loads;
* a :class:`FunctionLog` per configuration of the Python tier: the compiled code of each
  function, appended as the function is translated (on its first call), so the next run
  starts with every function earlier runs used;
* the LLVM tier's machine code (:func:`store_blob`, written by :mod:`wasm2py.llvm.jit`).

Keys are derived from sha256 of the wasm bytes, the wasm2py version, a digest of wasm2py's
decoder/validator/translator/runtime sources, the Python version and every option that changes
the generated code.

Location: ``$WASM2PY_CACHE_DIR``, else the platform's user cache directory
(``$XDG_CACHE_HOME/wasm2py`` or ``~/.cache/wasm2py`` on Linux, ``~/Library/Caches/wasm2py`` on
macOS, ``%LOCALAPPDATA%\\wasm2py\\Cache`` on Windows).

Size: the cache holds the Python tier's entries (validated marks ``*.w2p`` and function logs
``*.w2pf``) and the LLVM tier's machine code (``llvm-*.o``). When a write makes them exceed the
cap (``$WASM2PY_CACHE_MAX_BYTES``, default :data:`DEFAULT_MAX_BYTES`; ``0`` or less: no cap),
the least recently used files are removed until they take at most 90% of it (a hit, or reading
a function log, refreshes a file's modification time). A process lists the directory at its
first write there and then keeps a running total of what it wrote (listing again when the
total passes the cap, or after :data:`TRIM_EVERY` bytes, to see other processes' writes): a
cold run writes an entry per function or LLVM unit, and listing a big cache at each write
cost more than the write.
``wasm2py cache`` shows the cache, ``wasm2py cache trim`` trims it, ``wasm2py cache clear``
empties it.

Integrity: writes are atomic (a temporary file renamed into place), and every entry carries an
HMAC-SHA256 of its contents under a random key kept *outside* the cache directory
(``$WASM2PY_CONFIG_DIR`` or the user config directory, mode 0600). An entry that is truncated,
corrupted, or modified by someone who cannot read that key fails the check and is rebuilt; it is
never unpickled or executed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import sys
import tempfile
import threading
from pathlib import Path

from . import __version__
from .features import ALL

_SUFFIX = ".w2p"
_LOG_SUFFIX = ".w2pf"
#: the LLVM tier's machine code: ``llvm-<key>.o`` (see ``wasm2py.llvm.jit``)
_LLVM_GLOB = "llvm-*.o"
#: the LLVM tier's tier-up manifests (``wasm2py.llvm.units``: ``.log``, and ``.txt`` of older
#: versions), which clear, trim and info count with its machine code
_MANIFEST_GLOB = "llvm-units-*"

#: the default size cap of the cache directory: 1 GiB
DEFAULT_MAX_BYTES = 1 << 30
#: after trimming, the cache takes at most this share of the cap (so a full cache is not
#: trimmed again at every write)
TRIM_TO = 0.9
#: the cache directory is listed again after this many bytes written by this process (see
#: the module doc; between listings the process counts what it writes)
TRIM_EVERY = 1 << 20
#: per cache directory: [bytes in it as last listed plus those written since, bytes written
#: since] (see :func:`_written`)
_TOTALS: dict[Path, list[int]] = {}
_TOTALS_LOCK = threading.Lock()


def _user_dir(kind: str) -> Path:
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library" / ("Caches" if kind == "cache" else "Application Support")
        return base / "wasm2py"
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "wasm2py"
        return base / ("Cache" if kind == "cache" else "Config")
    env = "XDG_CACHE_HOME" if kind == "cache" else "XDG_CONFIG_HOME"
    default = home / (".cache" if kind == "cache" else ".config")
    return Path(os.environ.get(env) or default) / "wasm2py"


def cache_dir() -> Path:
    """The cache directory in use."""
    env = os.environ.get("WASM2PY_CACHE_DIR")
    return Path(env) if env else _user_dir("cache")


def _key_file() -> Path:
    env = os.environ.get("WASM2PY_CONFIG_DIR")
    return (Path(env) if env else _user_dir("config")) / "cache.key"


_SECRETS: dict[tuple, bytes] = {}


def _secret() -> bytes:
    # (by the variables the key file's place depends on: every record written or read asks,
    # and finding the path was most of a cold run's cost of the cache's HMACs)
    env = os.environ
    where = (env.get("WASM2PY_CONFIG_DIR"), env.get("XDG_CONFIG_HOME"), env.get("HOME"),
             env.get("LOCALAPPDATA"))  # fmt: skip
    key = _SECRETS.get(where)
    if key is None:
        key = _SECRETS[where] = _read_or_make_secret(_key_file())
    return key


def _read_or_make_secret(path: Path) -> bytes:
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key.")
    try:
        os.write(fd, key)
        os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # first writer wins; others use its key
    except FileExistsError:
        pass
    except OSError:
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path.read_bytes()


@functools.cache
def code_fingerprint() -> bytes:
    """A digest of the sources that decide what a cached entry contains (decoder, translator,
    runtime namespace): a changed wasm2py, even one with the same version number (a
    development checkout), never reuses translations made by another."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for sub in ("binary", "validate", "translate", "runtime"):
        for path in sorted((root / sub).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    for name in ("config.py", "types.py", "errors.py", "cache.py"):
        h.update((root / name).read_bytes())
    return h.digest()


#: (bytes, their sha256 digest) of the last :func:`wasm_digest`
_LAST_DIGEST: list = [None]


def wasm_digest(wasm: bytes) -> bytes:
    """``hashlib.sha256(wasm).digest()``, remembered for the last ``bytes`` object: a cold
    load hashes the same module bytes for several keys (translation, validity mark, LLVM
    code), ~0.7 ms per MB each time."""
    last = _LAST_DIGEST[0]
    if last is not None and last[0] is wasm:
        return last[1]
    digest = hashlib.sha256(wasm).digest()
    if type(wasm) is bytes:  # (immutable: the same object has the same digest)
        _LAST_DIGEST[0] = (wasm, digest)
    return digest


def entry_key(wasm: bytes, options: bytes) -> str:
    """The cache key of a module's bytes with ``options`` (e.g. a translation variant)."""
    h = hashlib.sha256()
    for part in (wasm_digest(wasm), __version__.encode(),
                 sys.version.encode(), code_fingerprint(), options):  # fmt: skip
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


_VALID_MAGIC = b"W2PYVALID1\n"


def _validated_key(wasm: bytes, features) -> str:
    # validity depends on the enabled proposals (Config's wasm_* switches); all of them (the
    # default) is the same mark as None
    plain = features is None or features == ALL
    return entry_key(wasm, b"validated" if plain else b"validated:" + features.key())


def is_validated(wasm: bytes, features=None) -> bool:
    """Whether this wasm2py validated these bytes before (and found them valid), with the
    proposals ``features`` enabled (None: all)."""
    key = _validated_key(wasm, features)
    return _load_tagged(cache_dir() / (key + _SUFFIX), _VALID_MAGIC) == key.encode()


def mark_validated(wasm: bytes, features=None) -> None:
    """Remember that these bytes are a valid module (with the proposals ``features``)."""
    key = _validated_key(wasm, features)
    _store_tagged(cache_dir() / (key + _SUFFIX), _VALID_MAGIC, key.encode())


class FunctionLog:
    """An append-only file of per-function payloads (the Python tier's compiled functions of
    one module and configuration, ``key``: see :func:`entry_key`; or, at ``path``, any
    records keyed by a u32, e.g. the LLVM tier's units of a module: ``wasm2py.llvm.units``).

    A record is ``magic, function index (u32), length (u32), HMAC-SHA256, payload``, written
    with one ``write`` in append mode, so processes that translate the same module at the same
    time only ever add whole records. Reading checks every record; a damaged or foreign one
    ends the readable part, and the file is rewritten with the records before it.
    """

    _RECORD = b"W2F1"

    def __init__(self, key: str, path: Path | None = None):
        self.path = cache_dir() / (key + _LOG_SUFFIX) if path is None else path

    def read(self) -> dict[int, bytes]:
        """Every function's payload (the last one written wins)."""
        try:
            blob = self.path.read_bytes()
        except OSError:
            return {}
        secret = _secret()
        out: dict[int, bytes] = {}
        pos, n = 0, len(blob)
        magic = self._RECORD
        while pos < n:
            head = blob[pos : pos + 12]
            if len(head) < 12 or head[:4] != magic:
                break
            index = int.from_bytes(head[4:8], "little")
            size = int.from_bytes(head[8:12], "little")
            tag = blob[pos + 12 : pos + 44]
            payload = blob[pos + 44 : pos + 44 + size]
            if len(payload) != size or not hmac.compare_digest(
                    tag, hmac.new(secret, head + payload, hashlib.sha256).digest()):  # fmt: skip
                break
            out[index] = payload
            pos += 44 + size
        if pos < n:  # damaged or foreign: keep what was good
            self._rewrite(out)
        else:
            try:
                os.utime(self.path)  # recently used: evicted last
            except OSError:
                pass
        return out

    def append(self, index: int, payload: bytes) -> None:
        """Add a function's payload (errors are ignored: the cache is an optimisation)."""
        self.extend([(index, payload)])

    def extend(self, records) -> None:
        """Add several ``(index, payload)`` records with one write."""
        secret = _secret()
        out = bytearray()
        for index, payload in records:
            head = self._RECORD + index.to_bytes(4, "little") + len(payload).to_bytes(4, "little")
            out += head + hmac.new(secret, head + payload, hashlib.sha256).digest() + payload
        if not out:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                f.write(out)
            _written(self.path, len(out))
        except OSError:
            pass

    def _rewrite(self, records: dict[int, bytes]) -> None:
        secret = _secret()
        parts = []
        for index, payload in records.items():
            head = self._RECORD + index.to_bytes(4, "little") + len(payload).to_bytes(4, "little")
            parts += [head, hmac.new(secret, head + payload, hashlib.sha256).digest(), payload]
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp.", suffix=_LOG_SUFFIX)
            with os.fdopen(fd, "wb") as f:
                f.write(b"".join(parts))
            os.replace(tmp, self.path)
        except OSError:
            pass


_BLOB_MAGIC = b"W2PYBLOB1\n"


def store_blob(path: Path, payload: bytes) -> None:
    """Write ``payload`` (e.g. the LLVM tier's machine code) to ``path`` atomically, with an
    HMAC tag so :func:`load_blob` never hands back bytes someone else wrote or damaged."""
    _store_tagged(path, _BLOB_MAGIC, payload)


def load_blob(path: Path) -> bytes | None:
    """The payload :func:`store_blob` wrote to ``path``, or None if absent or not authentic
    (then the file is removed)."""
    return _load_tagged(path, _BLOB_MAGIC)


def seal(magic: bytes, payload: bytes) -> bytes:
    """``magic + HMAC(payload) + payload``, the HMAC under this user's cache key: bytes that
    :func:`unseal` accepts only if this user's wasm2py made them and nobody changed them."""
    return magic + hmac.new(_secret(), payload, hashlib.sha256).digest() + payload


def unseal(magic: bytes, blob: bytes) -> bytes | None:
    """The payload of bytes :func:`seal` made with ``magic``, or None if they are not
    authentic (wrong magic, truncated, changed, or sealed under another key)."""
    head = len(magic)
    if not blob.startswith(magic) or len(blob) < head + 32:
        return None
    tag, payload = blob[head : head + 32], blob[head + 32 :]
    if not hmac.compare_digest(tag, hmac.new(_secret(), payload, hashlib.sha256).digest()):
        return None
    return payload


def _store_tagged(path: Path, magic: bytes, payload: bytes) -> None:
    """Write ``seal(magic, payload)`` to ``path`` atomically (errors are ignored: the cache is
    an optimisation)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sealed = seal(magic, payload)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp.", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        if path.parent == cache_dir():
            _written(path, len(sealed))
    except OSError:
        pass


def _load_tagged(path: Path, magic: bytes) -> bytes | None:
    """The payload :func:`_store_tagged` wrote to ``path``, or None if absent or not authentic
    (then the file is removed)."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    payload = unseal(magic, blob)
    if payload is None:
        _discard(path)
    else:
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
    return payload


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def max_bytes() -> int:
    """The size cap: ``$WASM2PY_CACHE_MAX_BYTES`` (bytes, or with a K/M/G suffix), else
    :data:`DEFAULT_MAX_BYTES`; 0 or less means no cap."""
    env = os.environ.get("WASM2PY_CACHE_MAX_BYTES")
    if env:
        try:
            return parse_size(env)
        except ValueError:
            pass
    return DEFAULT_MAX_BYTES


def parse_size(text: str) -> int:
    """``"500000"``, ``"100K"``, ``"64M"``, ``"2G"`` (powers of 1024) as a number of bytes.

    Raises:
        ValueError: not a size.
    """
    t = text.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    if scale != 1:
        t = t[:-1]
    return int(float(t) * scale)


def _files() -> list[tuple[Path, os.stat_result, str]]:
    """The cache's files with their stat and kind (``python`` or ``llvm``)."""
    directory = cache_dir()
    if not directory.is_dir():
        return []
    out = []
    patterns = (("python", "*" + _SUFFIX), ("python", "*" + _LOG_SUFFIX), ("llvm", _LLVM_GLOB),
                ("llvm", _MANIFEST_GLOB))  # fmt: skip
    for kind, pattern in patterns:
        for f in directory.glob(pattern):
            try:
                out.append((f, f.stat(), kind))
            except OSError:
                pass  # removed meanwhile
    return out


def info() -> dict:
    """Where the cache is, its size cap, how many entries of each tier it has and their total
    size in bytes (``entries``/``bytes``: the Python tier's; ``llvm_entries``/``llvm_bytes``:
    machine code; ``total_bytes``: both)."""
    files = _files()
    py = [st.st_size for _, st, kind in files if kind == "python"]
    ll = [st.st_size for _, st, kind in files if kind == "llvm"]
    return {"directory": str(cache_dir()), "entries": len(py), "bytes": sum(py),
            "llvm_entries": len(ll), "llvm_bytes": sum(ll), "total_bytes": sum(py) + sum(ll),
            "max_bytes": max_bytes()}  # fmt: skip


def trim(limit: int | None = None, keep: Path | None = None) -> int:
    """Remove least recently used files until the cache takes at most ``TRIM_TO`` of
    ``limit`` (default: :func:`max_bytes`), if it takes more than ``limit``; ``keep`` (the file
    just written) goes last. Returns how many files were removed."""
    return _trim(limit, keep)[0]


def _trim(limit: int | None, keep: Path | None) -> tuple[int, int]:
    """:func:`trim`, and the bytes the cache takes afterwards."""
    cap = max_bytes() if limit is None else limit
    files = _files()
    total = sum(st.st_size for _, st, _ in files)
    if cap <= 0 or total <= cap:
        return 0, total
    files.sort(key=lambda e: (e[0] == keep, e[1].st_mtime))
    n = 0
    for f, st, _ in files:
        if total <= cap * TRIM_TO:
            break
        _discard(f)
        total -= st.st_size
        n += 1
    return n, total


def _written(path: Path, nbytes: int) -> None:
    """Keep the cap after ``nbytes`` were written to ``path``, a file of the cache directory
    (see the module doc): the directory is listed, and trimmed if need be, only when this
    process's running total passes the cap, at its first write there, or every
    :data:`TRIM_EVERY` bytes."""
    cap = max_bytes()
    if cap <= 0:
        return
    directory = path.parent
    with _TOTALS_LOCK:
        seen = _TOTALS.get(directory)
        if seen is not None and seen[0] + nbytes <= cap and seen[1] + nbytes < TRIM_EVERY:
            seen[0] += nbytes  # (a file written anew counts twice: the estimate errs high)
            seen[1] += nbytes
            return
    total = _trim(None, path)[1]
    with _TOTALS_LOCK:
        _TOTALS[directory] = [total, 0]


def clear() -> int:
    """Remove every entry (machine code included); returns how many were removed."""
    n = 0
    for f, _, _ in _files():
        _discard(f)
        n += 1
    return n
