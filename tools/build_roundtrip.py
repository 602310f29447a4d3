"""Round trip of the spec suite's modules through the module builder, checked by wasm-tools.

Every valid module of the Wasm 2.0 spec suite (SIMD included) is decoded by wasm2py and
re-encoded section by section with :mod:`wasm2py.build` (:func:`rebuild`); the copy must print,
with ``wasm-tools print``, exactly as the original does once its custom sections are stripped
(``wasm-tools strip -a``). That checks the builder's encoding of every instruction, section and
segment form against an independent decoder and printer (and our decoder against it too).

    python tools/build_roundtrip.py [--every N]      # N: check every Nth module (default 1)

The test suite runs the same comparison on a subset that covers every opcode
(``tests/test_build.py``); this script checks them all (about 1,600 modules, a few minutes).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wasm2py.binary.decoder import decode_module  # noqa: E402
from wasm2py.binary.module import Module, SegmentMode  # noqa: E402
from wasm2py.binary.opcodes import IMM, SIMD_IMM, Imm, Op  # noqa: E402
from wasm2py.build import (  # noqa: E402
    CodeSection,
    ConstExpr,
    DataCountSection,
    DataSection,
    ElementSection,
    ExportSection,
    FunctionSection,
    GlobalSection,
    ImportSection,
    InstructionSink,
    MemorySection,
    StartSection,
    TableSection,
    TypeSection,
    encode_module,
)
from wasm2py.build.instructions import method_name  # noqa: E402

_KINDS = {**IMM, **SIMD_IMM}
_PAIRS = (Imm.BR_TABLE, Imm.CALL_INDIRECT, Imm.MEMORY_INIT, Imm.TABLE_INIT, Imm.MEMORY_COPY,
          Imm.TABLE_COPY)  # fmt: skip


def emit(sink: InstructionSink, instrs) -> InstructionSink:
    """Call the sink method of each decoded instruction with its decoded immediate."""
    for ins in instrs:
        method = getattr(sink, method_name(ins.op))
        kind, imm = _KINDS[ins.op], ins.imm
        if kind is Imm.NONE:
            method()
        elif kind in _PAIRS:
            method(*imm)
        elif kind is Imm.MEMARG:
            method(offset=imm[1], align=imm[0])
        elif kind is Imm.MEMARG_LANE:
            method(imm[2], offset=imm[1], align=imm[0])
        elif kind in (Imm.F32, Imm.F64):
            method(bits=imm)
        else:
            method(imm)
    return sink


def _items(seg) -> list:
    """Element items: function indices when every item is a lone ``ref.func`` (the decoder
    turns index vectors into such expressions), else constant expressions."""
    if all(len(it) == 1 and it[0].op == Op.REF_FUNC for it in seg.items):
        return [it[0].imm for it in seg.items]
    return [emit(ConstExpr(), it) for it in seg.items]


def rebuild(module: Module) -> bytes:
    """Re-encode a decoded module with the builder's section types (custom sections left
    out; types kept in order, duplicates included)."""
    m = module
    types = TypeSection()
    for t in m.types:
        types.add(t)
    imports = ImportSection()
    for imp in m.imports:
        imports.add(imp.module, imp.name, imp.kind, imp.type)
    funcs = FunctionSection()
    for t in m.funcs:
        funcs.add(t)
    tables = TableSection()
    for tt in m.tables:
        tables.add(tt)
    memories = MemorySection()
    for mt in m.memories:
        memories.add(mt)
    globs = GlobalSection()
    for g in m.globals:
        globs.add(g.type, emit(ConstExpr(), g.init))
    exports = ExportSection()
    for e in m.exports:
        exports.add(e.name, e.kind, e.index)
    elems = ElementSection()
    for seg in m.elems:
        if seg.mode is SegmentMode.ACTIVE:
            elems.active(emit(ConstExpr(), seg.offset), _items(seg), seg.table, seg.type)
        elif seg.mode is SegmentMode.PASSIVE:
            elems.passive(_items(seg), seg.type)
        else:
            elems.declared(_items(seg), seg.type)
    code = CodeSection()
    for c in m.codes:
        code.add(c.locals, emit(InstructionSink(), c.body))
    datas = DataSection()
    for d in m.datas:
        if d.mode is SegmentMode.ACTIVE:
            datas.active(emit(ConstExpr(), d.offset), d.data, d.memory)
        else:
            datas.passive(d.data)
    sections = [types, imports, funcs, tables, memories, globs, exports]
    if m.start is not None:
        sections.append(StartSection(m.start))
    sections.append(elems)
    if m.data_count is not None:
        sections.append(DataCountSection(m.data_count))
    sections += [code, datas]
    return encode_module(sections)


def spec_modules() -> list[tuple[str, Path]]:
    """``(script name, module file)`` of every valid binary module of the spec suite."""
    from wasm2py.wast.wast import list_wast_files, load_converted_script

    out = []
    for wast in list_wast_files(include_simd=True):
        # the module files of wasm-tools' conversion: these checks hand paths to wasm-tools
        script = load_converted_script(wast)
        for cmd in script.commands:
            if cmd.get("type") == "module" and cmd.get("module_type", "binary") == "binary":
                out.append((wast.name, script.directory / cmd["filename"]))
    return out


def wasm_tools(*args: str) -> str:
    """Run the ``wasm-tools`` CLI; its stdout."""
    proc = subprocess.run(["wasm-tools", *args], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"wasm-tools {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


_ELEM_FUNCREFS = re.compile(r"funcref((?: \(ref\.func \d+\))*)\)$")


def canonical(text: str) -> str:
    """``wasm-tools print`` output with the forms of element segments made uniform: the
    decoder keeps an element segment's items, not which of the binary format's equivalent
    encodings held them (index vector or ``ref.func`` expressions, implicit or explicit
    table 0)."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("(elem"):
            line = line.replace(" (table 0)", "")
            m = _ELEM_FUNCREFS.search(line)
            if m:
                indices = re.findall(r"\d+", m.group(1))
                line = line[: m.start()] + " ".join(["func", *indices]) + ")"
        out.append(line)
    return "\n".join(out)


def compare(path: Path, workdir: str) -> str | None:
    """None if the rebuilt module prints like the stripped original (element segment forms
    made uniform by :func:`canonical`), else a diff."""
    rebuilt = os.path.join(workdir, "rebuilt.wasm")
    stripped = os.path.join(workdir, "stripped.wasm")
    with open(rebuilt, "wb") as f:
        f.write(rebuild(decode_module(path.read_bytes())))
    wasm_tools("strip", "-a", str(path), "-o", stripped)
    a = canonical(wasm_tools("print", stripped))
    b = canonical(wasm_tools("print", rebuilt))
    if a == b:
        return None
    return "\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), "original",
                                               "rebuilt", lineterm=""))[:40])  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=1, help="check every Nth module")
    args = ap.parse_args(argv)
    mods = spec_modules()[:: args.every]
    t0 = time.perf_counter()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for script, path in mods:
            diff = compare(path, tmp)
            if diff is not None:
                failed += 1
                print(f"{script} {path.name}:\n{diff}\n")
    print(f"| modules | identical | different | seconds |\n| ---: | ---: | ---: | ---: |\n"
          f"| {len(mods)} | {len(mods) - failed} | {failed} | {time.perf_counter() - t0:.0f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
