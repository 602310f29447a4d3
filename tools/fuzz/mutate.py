"""The mutation fuzzer: damaged binaries through decode, validate, instantiate and calls.

The corpus (:func:`corpus`) is every binary module of the Wasm 2.0 spec suite (valid ones and
the ``assert_invalid``/``assert_malformed`` ones) and ``SMITH_MODULES`` modules from
``wasm-tools smith``. A seed picks a corpus entry and one to three mutations (:func:`mutate`):
byte changes (random or boundary values), LEB128 lengths nudged, byte ranges deleted, inserted
or duplicated, truncation, splicing with another entry, whole sections dropped, duplicated or
swapped.

The check: ``Module(...)`` (decode, validate, Python-tier translation), then, if it is valid,
instantiation and up to three exported calls in the Python tier and in the LLVM tier (both
metered, so every call ends), with generic host imports. Allowed outcomes: success, a
``wasm2py.Error`` (DecodeError, ValidationError, LinkError, Trap, ...) and the host's own
exception. Anything else is a finding (``exception``), as is a crash or a hang (the harness).
wasmtime, when installed, validates every input too; when it disagrees with wasm2py,
``wasm-tools validate --features=wasm2`` decides, and a module wasm2py judges differently from
both is a finding (``validation``).
"""

from __future__ import annotations

import hashlib
import os
import random
import struct
import tempfile
import traceback

import wasm2py

from .execute import Crash, Wasm2pySide, random_arg
from .harness import ROOT

#: smith modules in the corpus (beside the spec suite's)
SMITH_MODULES = 1500
CORPUS_DIR = ROOT / ".cache" / "fuzz"
#: fuel for the start function and for each call
FUEL = 200_000

#: LLVM optimisation levels by seed: mostly 0 (the code generator without the optimiser,
#: where the fuzzers found an assertion; cheaper), the default 2 a third of the time
_LEVELS = (0, 2, 0, 1, 2, 0, 3, 2, 0)
_INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x40, 0x3F, 0x0B, 0x41, 0x20, 0xFD, 0xFC)


def _spec_modules(files) -> list[bytes]:
    from wasm2py.wast.wast import load_script

    out = []
    for wast in files:
        script = load_script(wast)
        for cmd in script.commands:
            name = cmd.get("filename") or (cmd.get("binary_filename"))
            if isinstance(name, str) and name.endswith(".wasm"):
                try:
                    out.append(script.module_bytes(name))
                except OSError:
                    pass
    return out


def corpus(smith_modules: int = SMITH_MODULES, spec_files: int | None = None) -> list[bytes]:
    """The corpus (built once, then read from ``.cache/fuzz/corpus-<key>.bin``):
    ``smith_modules`` smith modules and the modules of the spec suite (of its first
    ``spec_files`` scripts: the short run in the test suite uses a few)."""
    from wasm2py.wast.wast import list_wast_files, wasm_tools_version

    files = list_wast_files(include_simd=True)[:spec_files]
    h = hashlib.sha256(wasm_tools_version().encode())
    for p in files:
        h.update(p.name.encode() + hashlib.sha256(p.read_bytes()).digest())
    h.update(str(smith_modules).encode())
    path = CORPUS_DIR / f"corpus-{h.hexdigest()[:16]}.bin"
    if path.exists():
        return _read(path.read_bytes())
    from .targets import Smith

    entries = _spec_modules(files)
    smith = Smith(canonicalize_nans=False)
    for seed in range(smith_modules):
        m = smith.generate(1_000_000 + seed)
        if m:
            entries.append(m)
    seen = set()
    unique = []
    for e in entries:
        d = hashlib.sha256(e).digest()
        if d not in seen:
            seen.add(d)
            unique.append(e)
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=CORPUS_DIR)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(struct.pack("<I", len(e)) + e for e in unique))
    os.replace(tmp, path)
    return unique


def _read(blob: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(blob):
        n = struct.unpack_from("<I", blob, pos)[0]
        out.append(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out


def _sections(data: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of every section, or None if the layout does not parse."""
    out = []
    pos = 8
    while pos < len(data):
        start = pos
        pos += 1
        size = shift = 0
        while True:
            if pos >= len(data):
                return None
            b = data[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80 or shift > 35:
                break
        pos += size
        if pos > len(data):
            return None
        out.append((start, pos))
    return out


def _code_section(buf: bytearray) -> tuple[int, int] | None:
    secs = _sections(bytes(buf))
    for a, b in secs or ():
        if buf[a] == 10 and b - a > 4:
            return a + 2, b
    return None


def mutate(data: bytes, other: bytes, rng: random.Random) -> bytes:
    """``data`` changed by one to three random mutations (``other``: for splicing)."""
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.randrange(11)
        n = len(buf)
        if n == 0:
            buf += rng.randbytes(4)
            continue
        i = rng.randrange(n)
        code = _code_section(buf) if rng.random() < 0.5 else None
        if code is not None:  # inside function bodies: more inputs get past the decoder
            i = rng.randrange(*code)
        if kind <= 2:  # change bytes
            for _ in range(rng.choice([1, 1, 2, 4, 8])):
                j = rng.randrange(n)
                buf[j] = rng.choice(_INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
        elif kind == 3:  # nudge a byte (often a LEB128 length or an index)
            buf[i] = (buf[i] + rng.choice([-2, -1, 1, 2, 0x80, 0x40])) & 0xFF
        elif kind == 4:  # delete a range
            del buf[i : i + rng.choice([1, 2, 4, 16, 64])]
        elif kind == 5:  # insert bytes
            buf[i:i] = bytes(rng.choice(_INTERESTING) for _ in range(rng.choice([1, 2, 5])))
        elif kind == 6:  # duplicate a range
            k = rng.choice([1, 4, 16, 100])
            buf[i:i] = buf[i : i + k]
        elif kind == 7:  # truncate
            del buf[i:]
        elif kind == 8:  # splice with another module
            j = rng.randrange(len(other) + 1)
            buf = buf[:i] + bytearray(other[j:])
        else:  # sections: drop, duplicate, swap
            secs = _sections(bytes(buf))
            if not secs:
                buf[i] ^= 1 << rng.randrange(8)
                continue
            a, b = secs[rng.randrange(len(secs))]
            if kind == 9:
                del buf[a:b]
            elif rng.random() < 0.5:
                buf[b:b] = buf[a:b]
            else:
                c, d = secs[rng.randrange(len(secs))]
                if (a, b) != (c, d):
                    lo, hi = sorted([(a, b), (c, d)])
                    buf = (buf[: lo[0]] + buf[hi[0] : hi[1]] + buf[lo[1] : hi[0]]
                           + buf[lo[0] : lo[1]] + buf[hi[1] :])  # fmt: skip
    return bytes(buf)


class MutateTarget:
    """See the module doc. Options: ``llvm`` (default true): also run the LLVM tier;
    ``wasmtime`` (default true): cross-check validity with wasmtime (if installed);
    ``smith_modules``, ``spec_files``: the corpus (see :func:`corpus`)."""

    def __init__(self, options: dict):
        self.entries = corpus(options.get("smith_modules", SMITH_MODULES),
                              options.get("spec_files"))  # fmt: skip
        self.llvm = options.get("llvm", True)
        self.validate_wasmtime = options.get("wasmtime", True)
        self._wt = None
        if self.validate_wasmtime:
            try:
                import wasmtime  # noqa: F401

                from .execute import _wasmtime_engine

                self._wt = _wasmtime_engine()
            except ImportError:
                self._wt = None

    def make_input(self, seed: int) -> bytes:
        rng = random.Random(seed)
        base = self.entries[rng.randrange(len(self.entries))]
        other = self.entries[rng.randrange(len(self.entries))]
        return mutate(base, other, rng)

    def check(self, data: bytes, seed: int) -> dict:
        stats: dict = {"inputs": 1}
        try:
            return self._check(data, seed, stats)
        except Crash as e:
            c = e.__cause__
            tb = "".join(traceback.format_exception(type(c), c, c.__traceback__))[-2500:]
            return {"status": "finding", "kind": "exception", "detail": f"{e}\n{tb}",
                    "stats": stats}  # fmt: skip

    def _check(self, data: bytes, seed: int, stats: dict) -> dict:
        side = Wasm2pySide("python", fuel=True, llvm_isolated=False)
        try:
            side.load(data)
        except wasm2py.Error as e:
            stats[f"rejected:{type(e).__name__}"] = 1
            valid = False
        except Exception as e:  # noqa: BLE001
            raise Crash(f"Module(): {type(e).__name__}: {e}") from e
        else:
            stats["valid"] = 1
            valid = True
        if self._wt is not None:
            verdict = self._wasmtime_agrees(data, valid)
            if verdict:
                return {"status": "finding", "kind": "validation", "detail": verdict,
                        "stats": stats}  # fmt: skip
        if not valid:
            return {"status": "ok", "stats": stats}
        sides = [side]
        if self.llvm:
            ll = _LLVMSide(side)
            try:
                ll.compile(_LEVELS[seed % len(_LEVELS)])
            except wasm2py.Error as e:
                stats[f"llvm-rejected:{type(e).__name__}"] = 1
            except Exception as e:  # noqa: BLE001
                raise Crash(f"LLVM compile: {type(e).__name__}: {e}") from e
            else:
                stats["llvm-compiled"] = 1
                sides.append(ll)
        rng = random.Random(seed ^ 0x5EED)
        for s in sides:
            out = s.instantiate(FUEL)
            stats[f"instantiate:{out[0]}"] = stats.get(f"instantiate:{out[0]}", 0) + 1
            if out != ("ok",):
                continue
            funcs = [n for n, item in s.exports().items() if isinstance(item, wasm2py.Func)]
            for name in rng.sample(funcs, min(3, len(funcs))):
                ft = s.exports()[name].type
                args = [random_arg(rng, t, quiet_f32=False) for t in ft.params]
                s.call(name, args, FUEL)
                stats["calls"] = stats.get("calls", 0) + 1
        return {"status": "ok", "stats": stats}

    def _wasmtime_agrees(self, data: bytes, valid: bool) -> str | None:
        import wasmtime

        try:
            wasmtime.Module.validate(self._wt, data)
            theirs, why = True, ""
        except Exception as e:  # noqa: BLE001 - wasmtime's error types vary by version
            theirs, why = False, str(e).splitlines()[0] if str(e) else type(e).__name__
        if theirs == valid:
            return None
        if not theirs and _wasmtime_limit(why):
            return None  # an implementation limit of wasmtime's, not a validity rule
        # wasmtime's reader is lenient in places (e.g. it reads memory limits as u64 even
        # without memory64): wasm-tools with exactly the Wasm 2.0 features decides
        ref = _wasm_tools_valid(data)
        if ref == valid:
            return None
        return (f"wasm2py says {'valid' if valid else 'invalid'}, wasmtime and wasm-tools "
                f"(Wasm 2.0 features) say {'valid' if theirs else 'invalid: ' + why}")  # fmt: skip


def _wasm_tools_valid(data: bytes) -> bool:
    import subprocess

    proc = subprocess.run(["wasm-tools", "validate", "--features=wasm2", "-"], input=data,
                          capture_output=True)  # fmt: skip
    return proc.returncode == 0


def _wasmtime_limit(message: str) -> bool:
    m = message.lower()
    return any(w in m for w in ("limit", "too many", "exceeds", "too large", "nesting"))


class _LLVMSide(Wasm2pySide):
    """The LLVM tier on the Python side's module (one decode and translation for both)."""

    def __init__(self, py: Wasm2pySide):
        self.name = "llvm-fuel"
        self.fuel = True
        self.engine = py.engine
        self.store = wasm2py.Store(self.engine)
        self.module = py.module
        self.log = []
        self.externs = {}
        self.instance = None
        self.imports = []

    def compile(self, level: int) -> None:
        # kept by the engine for instantiate
        self.level = level
        self.engine.load_llvm(self.module._module, opt_level=level)

    def _instance(self, imports: list):
        from wasm2py import llvm

        return llvm.instantiate(self.store, self.module, imports, opt_level=self.level)


