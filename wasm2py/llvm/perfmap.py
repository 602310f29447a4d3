"""A perf map of jitted code, for profiling it with Linux ``perf``.

Machine code loaded by MCJIT has no symbols ``perf`` can see. With the environment variable
``WASM2PY_PERF_MAP`` set (to anything but ``""`` or ``0``), every object this tier loads
(whole modules, their parts, tier-up units) appends its functions to ``/tmp/perf-<pid>.map``,
the file ``perf report`` reads for a process's anonymous code (lines ``START SIZE name``, hex).
Each function's address and size come from the object's own ELF symbol table: the loaded
address of a symbol is that of its section, found from a symbol the engine can look up, plus
the symbol's offset. A wasm function ``w<i>`` is named ``<i>:<name>`` after the module's name
section (or ``w<i>``), with the unit's tag if it has one::

    WASM2PY_PERF_MAP=1 perf record -g python -m wasm2py run --tier llvm prog.wasm
    perf report --sort sym

Only for profiling: nothing is written without the variable, and the file is never removed.
"""

from __future__ import annotations

import os
import struct
import threading

_LOCK = threading.Lock()


def enabled() -> bool:
    """Whether perf maps are written (``WASM2PY_PERF_MAP``)."""
    return os.environ.get("WASM2PY_PERF_MAP", "") not in ("", "0")


def elf_functions(obj: bytes) -> list[tuple[str, int, int, int, bool]]:
    """The defined functions of an ELF64 little-endian relocatable object: ``(name, section
    index, offset in section, size, global)`` each; empty for anything else."""
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        return []
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + k * shentsize) for k in range(shnum)]
    out = []
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        sbase = strtab[4]
        for k in range(sh[5] // 24):
            name, info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", obj, sh[4] + 24 * k)
            if info & 0xF != 2 or shndx == 0 or shndx >= 0xFF00:  # STT_FUNC, defined
                continue
            end = obj.index(b"\0", sbase + name)
            out.append((obj[sbase + name : end].decode(), shndx, value, size, info >> 4 != 0))
    return out


def record(engine, objects, module=None) -> None:
    """Append the functions of ``objects`` (loaded into MCJIT ``engine``) to this process's
    perf map, if :func:`enabled`; ``module`` (the decoded module) names wasm functions."""
    if not enabled():
        return
    names = module.names.functions if module is not None and module.names is not None else {}
    lines = []
    for obj in objects:
        funcs = elf_functions(obj)
        bases = {}
        for name, shndx, value, _size, glob in funcs:
            if glob and shndx not in bases:
                try:
                    addr = engine.get_function_address(name)
                except Exception:  # noqa: BLE001 - a name the engine does not know: skip it
                    addr = 0
                if addr:
                    bases[shndx] = addr - value
        for name, shndx, value, size, _glob in funcs:
            if shndx not in bases or not size:
                continue
            label = name
            base, _, tag = name.partition(".")
            if base[:1] == "w" and base[1:].isdigit():
                i = int(base[1:])
                label = f"{i}:{names.get(i, 'w' + base[1:])}" + (f".{tag}" if tag else "")
            lines.append(f"{bases[shndx] + value:x} {size:x} wasm:{label}\n")
    if lines:
        with _LOCK, open(f"/tmp/perf-{os.getpid()}.map", "a") as f:
            f.writelines(lines)
