"""Ahead-of-time compilation: one readable, importable ``.py`` file per module.

The file contains the module's metadata as Python literals, one ``def`` per wasm function (with a
docstring giving its index, name and signature, and ``# @offset opcode`` comments that let a
reader follow the wasm instruction stream), and an ``instantiate(imports=None, **limits)``
function. It imports only :mod:`wasm2py.runtime`.

Safety: nothing from the binary reaches the source except through ``ascii()`` literals (names,
bytes) and identifiers reduced to ``[A-Za-z0-9_]`` behind a ``f<index>_`` prefix, so no name can
change the meaning of the code, and importing the file runs nothing but definitions and the
construction of the metadata.
"""

from __future__ import annotations

import ast
import hashlib
import re

from .. import __version__
from ..binary.module import ExternKind, Module
from ..binary.opcodes import opcode_name
from ..errors import UnsupportedFeature
from ..runtime.aot import AOT_FORMAT
from ..runtime.entry import entry_name
from ..runtime.instance import display_name
from ..runtime.resumable import resume_name
from ..types import FuncType, GlobalType, MemoryType, RefType, TableType, ValType, valtype_code
from .module import FUEL_SCOPE, fuel_scope, translate_module


class _Unparser(ast._Unparser):  # type: ignore[name-defined]
    """ast.unparse plus a ``# @offset opcode`` comment where the wasm instruction changes."""

    def __init__(self):
        super().__init__()
        self._note = None

    def traverse(self, node):
        if isinstance(node, ast.FunctionDef):
            self._note = None  # (each def maps its own lines: see _LINES)
        if isinstance(node, ast.stmt):
            op = getattr(node, "wasm_op", None)
            line = getattr(node, "lineno", None)
            note = (line, op)
            if op is not None and line is not None and note != self._note:
                self._note = note
                # (a statement before the first instruction — the entry segment's fuel check —
                # has an offset too: a paused call must find its resume point by it)
                self.fill(f"# @{line:#06x} {opcode_name(op)}" if op >= 0 else f"# @{line:#06x}")
        super().traverse(node)


def _lit(value) -> str:
    """A Python literal for plain data; strings via ascii() so the source stays ASCII."""
    if isinstance(value, str):
        return ascii(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return repr(value)
    if isinstance(value, bytes):
        return repr(value)
    if isinstance(value, ValType | RefType):
        return _lit(valtype_code(value))
    if isinstance(value, tuple | list):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as a literal")


def _expr(instrs) -> tuple:
    return tuple((i.op, valtype_code(i.imm) if isinstance(i.imm, ValType | RefType) else i.imm,
                  i.offset) for i in instrs)  # fmt: skip


def _type_lit(t) -> tuple:
    if isinstance(t, int):
        return ("func", t)
    if isinstance(t, TableType):
        return ("table", valtype_code(t.elem), t.limits.min, t.limits.max, t.is_64)
    if isinstance(t, MemoryType):
        return ("memory", t.limits.min, t.limits.max, t.is_64)
    assert isinstance(t, GlobalType)
    return ("global", valtype_code(t.valtype), t.mutable)


def _comp_lit(c) -> tuple:
    if not isinstance(c, FuncType):
        raise UnsupportedFeature("ahead-of-time compilation of GC struct/array types")
    return (tuple(map(valtype_code, c.params)), tuple(map(valtype_code, c.results)))


def metadata(m: Module) -> dict:
    """The module's instantiation data as plain literals (see ``wasm2py.runtime.aot.meta``)."""
    return {
        "types": [_comp_lit(t) for t in m.types],
        "subtypes": [(final, tuple(supers)) for final, supers in m.subtypes],
        "rec_sizes": list(m.rec_sizes),
        "imports": [(i.module, i.name, int(i.kind),
                     ("tag", i.type) if i.kind == ExternKind.TAG else _type_lit(i.type))
                    for i in m.imports],  # fmt: skip
        "funcs": list(m.funcs),
        "tables": [_type_lit(t) for t in m.tables],
        "table_inits": [None if e is None else _expr(e) for e in m.table_inits],
        "memories": [_type_lit(t) for t in m.memories],
        "tags": list(m.tags),
        "globals": [(_type_lit(g.type), _expr(g.init)) for g in m.globals],
        "exports": [(e.name, int(e.kind), e.index) for e in m.exports],
        "start": m.start,
        "elems": [(e.mode.value, valtype_code(e.type), tuple(_expr(x) for x in e.items),
                   e.table, None if e.offset is None else _expr(e.offset)) for e in m.elems],
        "datas": [(d.mode.value, d.data, d.memory, None if d.offset is None else _expr(d.offset))
                  for d in m.datas],
        "names": (m.names.module, dict(m.names.functions)),
    }  # fmt: skip


def _signature(t) -> str:
    if isinstance(t, FuncType):
        return str(t)
    return str(_type_lit(t))


def generate_source(module: Module, source_name: str = "module.wasm", fuel: bool = False,
                    resumable: bool = True) -> str:  # fmt: skip
    """The text of the ahead-of-time compiled ``.py`` file for a decoded, validated module
    (``fuel``: metered, with the default :class:`~wasm2py.FuelCosts`). With ``resumable``,
    each function that can pause is followed by its resume entry, so paused calls of the
    file's instances resume (the file is about twice the size)."""
    config = None
    if fuel:
        from ..config import Config

        config = Config(consume_fuel=True)
    tree, names = translate_module(module, config, resume_entries=resumable, entries=True)
    ftypes = module.func_types()
    nimp = module.num_imported_funcs
    digest = hashlib.sha256(module.raw).hexdigest()
    defs = []
    first_def = next((k for k, n in enumerate(tree.body) if isinstance(n, ast.FunctionDef)),
                     len(tree.body))  # fmt: skip
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            index = int(node.name[1:].partition("_")[0])
            wasm_name = display_name(module, index)
            label = f" {ascii(wasm_name)[:120]}" if wasm_name else ""
            doc = f"wasm function {index}{label}: {ftypes[index]}"
            if node.name == resume_name(index):
                doc = f"resume entry of wasm function {index}{label} (for paused calls)"
            elif node.name == entry_name(index):
                doc = (f"entry from Python of wasm function {index}{label} (its body inlined; "
                       f"the Func's __call__)")
            node.body.insert(0, ast.Expr(ast.Constant(doc)))
            defs.append(node)
    # constants come before the functions
    consts = [n for n in tree.body[:first_def] if not isinstance(n, ast.FunctionDef)]
    if fuel:
        # metered code charges the store's fuel cell, its free variable ``fuel``: the
        # functions are defined in a scope that has one (see module.fuel_scope), and the
        # runtime binds them to the store's cell
        defs = [fuel_scope(defs), ast.parse(f"{FUEL_SCOPE}()").body[0]]
    unparser = _Unparser()
    body = unparser.visit(ast.Module(consts + defs, []))
    imports = [(i.module, i.name, ExternKind(i.kind).name.lower(),
                _signature(module.types[i.type] if i.kind in (ExternKind.FUNC, ExternKind.TAG)
                           else i.type))
               for i in module.imports]  # fmt: skip
    spaces = {ExternKind.FUNC: ftypes, ExternKind.TABLE: module.table_types(),
              ExternKind.MEMORY: module.memory_types(), ExternKind.GLOBAL: module.global_types(),
              ExternKind.TAG: [module.types[t] for t in module.tag_type_indices()]}  # fmt: skip
    exports = [(e.name, ExternKind(e.kind).name.lower(), _signature(spaces[e.kind][e.index]))
               for e in module.exports]  # fmt: skip
    # The file name appears in a comment and the docstring: keep only harmless characters.
    shown = re.sub(r"[^A-Za-z0-9._+-]", "_", source_name)[:200]
    out = [
        f"# Generated by wasm2py {__version__} from {shown} "
        f"(sha256 {digest}). Do not edit: regenerate with `wasm2py compile`.",
        f'"""WebAssembly module {shown}, compiled ahead of time by wasm2py.',
        "",
        "    import <this module> as m",
        "    instance = m.instantiate({'env': {...}})   # imports, as for wasm2py.Instance",
        "    instance.exports.<name>(...)",
        "",
        f"{len(module.funcs)} functions defined, {nimp} imported. IMPORTS and EXPORTS list",
        'the signatures.\n"""',
        "",
        "from wasm2py.runtime import aot as _aot",
        "from wasm2py.runtime.values import f64_from_bits",
        "",
        f"_aot.check_format({AOT_FORMAT!r}, {__version__!r}, __name__)",
        "",
        "#: (module, name, kind, type) of every import",
        f"IMPORTS = {_lit(imports)}",
        "#: (name, kind, type) of every export",
        f"EXPORTS = {_lit(exports)}",
        "",
        f"_META = _aot.meta({_lit(metadata(module))})",
        f"_FUNC_NAMES = {_lit(names)}",
        f"_SHA256 = {digest!r}",
        "#: the code charges fuel (default FuelCosts): instances need a store that consumes it",
        f"_FUEL = {fuel!r}",
        "",
        "",
        "def instantiate(imports=None, *, store=None, **limits):",
        '    """Instantiate the module; ``limits`` are Config settings (e.g. max_call_depth)."""',
        "    return _aot.instantiate(globals(), imports, store, limits)",
        "",
        "",
        "# -- the functions (they run with each instance's namespace as globals) --",
        body,
        "",
    ]
    text = "\n".join(out)
    # Tracebacks of this file report source lines: map them back to wasm offsets.
    lines = {}
    current = None
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip()
        if stripped.startswith("# @0x"):
            current = int(stripped[3:].split()[0], 16)
        elif stripped.startswith("def "):
            current = None
        elif current is not None and stripped:
            lines[number] = current
    return text + f"\n#: source line -> wasm byte offset (for backtraces)\n_LINES = {lines!r}\n"
