"""Typed Python bindings for a component (``wasm2py bindgen component.wasm -o pkg/``).

The generated package holds the component binary and one ``__init__.py`` with:

* a dataclass per record, an ``enum.Enum`` per enum, an ``enum.Flag`` per flags type, and per
  variant one dataclass per case plus a union alias; named after the component's type exports
  and imports (kebab case becomes ``PascalCase`` for types, ``snake_case`` for fields and
  functions);
* a ``Protocol`` for the imports (one per imported interface) the host implements; a resource
  type the component imports is implemented by the host's own objects (an optional
  ``<resource>_drop(obj)`` method runs when the component drops one);
* a class named after the component: ``Greeter(imports)`` instantiates it, and its methods call
  the exports, converting arguments and results between the typed forms and the runtime's forms
  (:mod:`wasm2py.component.values`);
* docstrings from the WIT (``--wit``, or the component's ``package-docs`` section).

Every name taken from the component is either a validated kebab-case label (turned into an
identifier) or passed through ``repr``: nothing from the binary reaches the source unescaped.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from .component import Component
from .types import (
    BorrowType,
    ComponentType,
    EnumType,
    FlagsType,
    FuncType,
    InstanceType,
    ListType,
    MapType,
    OptionType,
    OwnType,
    Prim,
    RecordType,
    ResourceType,
    ResultType,
    TupleType,
    TypeExtern,
    VariantType,
)
from .witdocs import Docs, load_docs

_PRIM_ANNOT = {Prim.BOOL: "bool", Prim.CHAR: "str", Prim.STRING: "str", Prim.F32: "float",
               Prim.F64: "float", Prim.ERROR_CONTEXT: "ErrorContext"}  # fmt: skip


def pascal(label: str) -> str:
    """``http-request`` -> ``HttpRequest`` (any other character is dropped)."""
    parts = re.split(r"[^0-9A-Za-z]+", label)
    out = "".join(p[:1].upper() + p[1:].lower() if p.islower() or p.isupper() else
                  p[:1].upper() + p[1:] for p in parts if p)  # fmt: skip
    if not out or out[0].isdigit():
        out = "T" + out
    return out


def snake(label: str) -> str:
    """``get-JSON`` -> ``get_json``; keywords get a trailing underscore."""
    out = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_").lower() or "_"
    if out[0].isdigit():
        out = "_" + out
    if keyword.iskeyword(out) or keyword.issoftkeyword(out):
        out += "_"
    return out


def upper(label: str) -> str:
    """``get-json`` -> ``GET_JSON``."""
    return snake(label).rstrip("_").upper() or "_"


def param_name(label: str) -> str:
    """A parameter's identifier (``self`` is taken by the method)."""
    n = snake(label)
    return "self_" if n == "self" else n


def method_name(name: str) -> str:
    """The Python name of a function export/import: ``[constructor]r`` -> ``r_new``,
    ``[method]r.m``/``[static]r.m`` -> ``r_m``, ``f`` -> ``f``."""
    if name.startswith("[constructor]"):
        return snake(name[len("[constructor]") :]) + "_new"
    if name.startswith("[") and "]" in name:
        res, _, fn = name.split("]", 1)[1].partition(".")
        return snake(f"{res}-{fn}")
    return snake(name)


def _short(name: str) -> str:
    """The interface part of an interface name (``wasi:cli/stdout@0.2.0`` -> ``stdout``)."""
    return name.split("/")[-1].split("@")[0] if ":" in name else name


class _Gen:
    def __init__(self, ct: ComponentType, docs: Docs, class_name: str):
        self.ct = ct
        self.docs = docs
        self.class_name = class_name
        self.defs: list[str] = []
        self.helpers: list[str] = []
        self.names: dict[int, tuple[str, str]] = {}  # id(type) -> (scope, label)
        self.keep: list = []
        self.emitted: dict[int, str] = {}  # id(named type) -> python class name
        self.taken: set[str] = {class_name, "Imports"}
        self.counter = 0
        self.case_classes: dict[tuple[int, str], str] = {}
        self.lift_cache: dict[int, str | None] = {}
        self.lower_cache: dict[int, str | None] = {}
        self._collect(ct.imports, "")
        self._collect(ct.exports, "")

    # -- names --------------------------------------------------------------------------------
    def _collect(self, entities: dict, scope: str) -> None:
        for name, t in entities.items():
            if isinstance(t, TypeExtern):
                self.keep.append(t.type)
                self.names.setdefault(id(t.type), (scope, name))
                if isinstance(t.type, ResourceType):
                    self.names.setdefault(id(t.type.origin), (scope, name))
            elif isinstance(t, InstanceType):
                self._collect(t.exports, _short(name))

    def unique(self, base: str) -> str:
        name = base
        k = 2
        while name in self.taken:
            name = f"{base}{k}"
            k += 1
        self.taken.add(name)
        return name

    def doc(self, *key: str) -> str | None:
        return self.docs.get(*key) if self.docs else None

    # -- annotations and named types ----------------------------------------------------------
    def annot(self, t) -> str:
        if t is None:
            return "None"
        if isinstance(t, Prim):
            return _PRIM_ANNOT.get(t, "int")
        if isinstance(t, RecordType | EnumType | FlagsType | VariantType):
            return self.named(t)
        if isinstance(t, ListType):
            return f"list[{self.annot(t.elem)}]"
        if isinstance(t, TupleType):
            return "tuple[" + ", ".join(self.annot(u) for u in t.types) + "]"
        if isinstance(t, OptionType):
            return f"{self.annot(t.type)} | None"
        if isinstance(t, ResultType):
            return "Ok | Err"
        if isinstance(t, MapType):
            return f"dict[{self.annot(t.key)}, {self.annot(t.value)}]"
        if isinstance(t, OwnType | BorrowType):
            # resources the host defines are the host's own objects
            return "object" if t.resource.origin in self.ct.imported else "Resource"
        return "object"

    def named(self, t) -> str:
        hit = self.emitted.get(id(t))
        if hit is not None:
            return hit
        scope, label = self.names.get(id(t), ("", f"type{len(self.emitted)}"))
        cls = self.unique(pascal(label))
        self.emitted[id(t)] = cls
        self.keep.append(t)
        doc = self.doc(scope, label)
        out: list[str] = []
        if isinstance(t, RecordType):
            out += ["@dataclasses.dataclass", f"class {cls}:"]
            out.append(f"    {_docstring(doc or f'The record `{label}`.')}")
            for fname, ft in t.fields:
                out.append(f"    {snake(fname)}: {self.annot(ft)}")
                fdoc = self.doc(scope, label, fname)
                if fdoc:
                    out.append(f"    {_docstring(fdoc)}")
        elif isinstance(t, EnumType):
            out += [f"class {cls}(enum.Enum):", f"    {_docstring(doc or f'The enum `{label}`.')}"]
            for case in t.labels:
                out.append(f"    {upper(case)} = {case!r}")
        elif isinstance(t, FlagsType):
            out += [f"class {cls}(enum.Flag):", f"    {_docstring(doc or f'The flags `{label}`.')}"]
            for k, flag in enumerate(t.labels):
                out.append(f"    {upper(flag)} = {1 << k}")
        else:
            cases = []
            for case, ct in t.cases:
                ccls = self.unique(cls + pascal(case))
                self.case_classes[(id(t), case)] = ccls
                cases.append(ccls)
                cdoc = self.doc(scope, label, case) or f"The case `{case}` of `{label}`."
                out += ["@dataclasses.dataclass", f"class {ccls}:", f"    {_docstring(cdoc)}"]
                if ct is not None:
                    out.append(f"    value: {self.annot(ct)}")
                out.append("")
            out.append(f"{cls} = " + " | ".join(cases))
            out.append(f"{_docstring(doc or f'The variant `{label}`.')}")
        self.defs.append("\n".join(out))
        return cls

    # -- conversions --------------------------------------------------------------------------
    def _helper(self, prefix: str, body: list[str]) -> str:
        self.counter += 1
        name = f"_{prefix}_{self.counter}"
        self.helpers.append("\n".join([f"def {name}(v):", *("    " + b for b in body)]))
        return name

    def lift(self, t) -> str | None:
        """The name of a function turning a runtime value of type ``t`` into its binding form
        (None: no conversion)."""
        if t is None or isinstance(t, Prim):
            return None
        key = id(t)
        if key in self.lift_cache:
            return self.lift_cache[key]
        self.lift_cache[key] = None  # recursion guard; types are not recursive
        fn = self._lift(t)
        self.lift_cache[key] = fn
        return fn

    def _call(self, fn: str | None, expr: str) -> str:
        return expr if fn is None else f"{fn}({expr})"

    def _lift(self, t) -> str | None:
        if isinstance(t, RecordType):
            cls = self.named(t)
            args = ", ".join(f"{snake(n)}={self._call(self.lift(u), f'v[{n!r}]')}"
                             for n, u in t.fields)  # fmt: skip
            return self._helper("lift", [f"return {cls}({args})"])
        if isinstance(t, EnumType):
            return self._helper("lift", [f"return {self.named(t)}(v)"])
        if isinstance(t, FlagsType):
            cls = self.named(t)
            body = [f"out = {cls}(0)"]
            for flag in t.labels:
                body.append(f"if {flag!r} in v:")
                body.append(f"    out |= {cls}.{upper(flag)}")
            body.append("return out")
            return self._helper("lift", body)
        if isinstance(t, VariantType):
            self.named(t)
            body = []
            for case, ct in t.cases:
                ccls = self._case_class(t, case)
                arg = "" if ct is None else self._call(self.lift(ct), "v.value")
                body.append(f"if v.case == {case!r}:")
                body.append(f"    return {ccls}({arg})")
            body.append("raise ValueError(f'unknown case {v.case!r}')")
            return self._helper("lift", body)
        if isinstance(t, ListType):
            fn = self.lift(t.elem)
            if fn is None:
                return None
            return self._helper("lift", [f"return [{fn}(x) for x in v]"])
        if isinstance(t, TupleType):
            fns = [self.lift(u) for u in t.types]
            if all(f is None for f in fns):
                return None
            items = ", ".join(self._call(f, f"v[{i}]") for i, f in enumerate(fns))
            return self._helper("lift", [f"return ({items},)"])
        if isinstance(t, OptionType):
            fn = self.lift(t.type)
            if fn is None:
                return None
            if isinstance(t.type, OptionType):
                return self._helper("lift", ["return None if v is None else Some(" +
                                             f"{fn}(v.value))"])  # fmt: skip
            return self._helper("lift", [f"return None if v is None else {fn}(v)"])
        if isinstance(t, ResultType):
            ok, err = self.lift(t.ok), self.lift(t.err)
            if ok is None and err is None:
                return None
            return self._helper("lift", [
                "if isinstance(v, Ok):",
                f"    return Ok({self._call(ok, 'v.value')})",
                f"return Err({self._call(err, 'v.value')})",
            ])  # fmt: skip
        if isinstance(t, MapType):
            k, x = self.lift(t.key), self.lift(t.value)
            if k is None and x is None:
                return None
            return self._helper("lift", [
                f"return {{{self._call(k, 'a')}: {self._call(x, 'b')} for a, b in v.items()}}"])
        return None

    def _case_class(self, t: VariantType, case: str) -> str:
        return self.case_classes[(id(t), case)]

    def lower(self, t) -> str | None:
        """The name of a function turning a binding value into the runtime's form."""
        if t is None or isinstance(t, Prim):
            return None
        key = id(t)
        if key in self.lower_cache:
            return self.lower_cache[key]
        self.lower_cache[key] = None
        fn = self._lower(t)
        self.lower_cache[key] = fn
        return fn

    def _lower(self, t) -> str | None:
        if isinstance(t, RecordType):
            self.named(t)
            items = ", ".join(f"{n!r}: {self._call(self.lower(u), f'_field(v, {n!r})')}"
                              for n, u in t.fields)  # fmt: skip
            return self._helper("lower", [f"return {{{items}}}"])
        if isinstance(t, EnumType):
            cls = self.named(t)
            return self._helper("lower", [f"return v.value if isinstance(v, {cls}) else v"])
        if isinstance(t, FlagsType):
            cls = self.named(t)
            body = [f"if not isinstance(v, {cls}):", "    return frozenset(v)", "out = set()"]
            for flag in t.labels:
                body.append(f"if v & {cls}.{upper(flag)}:")
                body.append(f"    out.add({flag!r})")
            body.append("return frozenset(out)")
            return self._helper("lower", body)
        if isinstance(t, VariantType):
            self.named(t)
            body = ["if isinstance(v, Variant):", "    return v"]
            for case, ct in t.cases:
                ccls = self._case_class(t, case)
                arg = "None" if ct is None else self._call(self.lower(ct), "v.value")
                body.append(f"if isinstance(v, {ccls}):")
                body.append(f"    return Variant({case!r}, {arg})")
            body.append("raise TypeError(f'not a case of the variant: {v!r}')")
            return self._helper("lower", body)
        if isinstance(t, ListType):
            fn = self.lower(t.elem)
            if fn is None:
                return None
            return self._helper("lower", [f"return [{fn}(x) for x in v]"])
        if isinstance(t, TupleType):
            fns = [self.lower(u) for u in t.types]
            if all(f is None for f in fns):
                return None
            items = ", ".join(self._call(f, f"v[{i}]") for i, f in enumerate(fns))
            return self._helper("lower", [f"return ({items},)"])
        if isinstance(t, OptionType):
            fn = self.lower(t.type)
            if fn is None:
                return None
            if isinstance(t.type, OptionType):
                return self._helper("lower", ["return None if v is None else Some(" +
                                              f"{fn}(v.value))"])  # fmt: skip
            return self._helper("lower", [f"return None if v is None else {fn}(v)"])
        if isinstance(t, ResultType):
            ok, err = self.lower(t.ok), self.lower(t.err)
            if ok is None and err is None:
                return None
            return self._helper("lower", [
                "if isinstance(v, Ok):",
                f"    return Ok({self._call(ok, 'v.value')})",
                f"return Err({self._call(err, 'v.value')})",
            ])  # fmt: skip
        if isinstance(t, MapType):
            k, x = self.lower(t.key), self.lower(t.value)
            if k is None and x is None:
                return None
            return self._helper("lower", [
                f"return {{{self._call(k, 'a')}: {self._call(x, 'b')} for a, b in v.items()}}"])
        return None

    # -- functions ----------------------------------------------------------------------------
    def signature(self, ft: FuncType) -> tuple[str, list[str]]:
        params = [f"{param_name(n)}: {self.annot(t)}" for n, t in ft.params]
        ret = self.annot(ft.result) if ft.result is not None else "None"
        return ret, params

    def export_method(self, name: str, ft: FuncType, scope: str, target: str) -> list[str]:
        """A method calling export ``name`` (``target``: the expression of the exports)."""
        meth = method_name(name)
        ret, params = self.signature(ft)
        args = ", ".join(self._call(self.lower(t), param_name(n)) for n, t in ft.params)
        doc = self.doc(scope, name) or self._member_doc(scope, name) or \
            f"Call the export `{name}`: {ft}."  # fmt: skip
        lines = [f"def {meth}(self{''.join(', ' + p for p in params)}) -> {ret}:",
                 f"    {_docstring(doc)}",
                 f"    r = {target}[{name!r}]({args})"]  # fmt: skip
        lines.append(f"    return {self._call(self.lift(ft.result), 'r')}"
                     if ft.result is not None else "    return None")  # fmt: skip
        return lines

    def _member_doc(self, scope: str, name: str) -> str | None:
        if name.startswith("[method]") or name.startswith("[static]"):
            res, _, fn = name.split("]", 1)[1].partition(".")
            return self.doc(scope, res, fn)
        if name.startswith("[constructor]"):
            return self.doc(scope, name[len("[constructor]"):], "constructor")
        return None

    def import_wrapper(self, name: str, ft: FuncType, target: str) -> list[str]:
        """A factory making the host function for import ``name`` from the implementation
        ``target`` (an expression evaluated in the factory)."""
        meth = method_name(name)
        conv = [self._call(self.lift(t), f"a{i}") for i, (_, t) in enumerate(ft.params)]
        params = ", ".join(f"a{i}" for i in range(len(ft.params)))
        call = f"{target}.{meth}({', '.join(conv)})"
        if ft.result is not None:
            return [f"def _({params}):", f"    return {self._call(self.lower(ft.result), call)}"]
        return [f"def _({params}):", f"    {call}"]

    def protocol(self, cls: str, funcs: list[tuple[str, FuncType]], scope: str,
                 doc: str) -> list[str]:  # fmt: skip
        out = [f"class {cls}(Protocol):", f"    {_docstring(doc)}"]
        if not funcs:
            out.append("    pass")
        else:
            out.append("")
        for name, ft in funcs:
            meth = method_name(name)
            ret, params = self.signature(ft)
            fdoc = self.doc(scope, name) or self._member_doc(scope, name) or \
                f"Implements the import `{name}`: {ft}."  # fmt: skip
            out += [f"    def {meth}(self{''.join(', ' + p for p in params)}) -> {ret}:",
                    f"        {_docstring(fdoc)}", "        ...", ""]  # fmt: skip
        if out[-1] == "":
            out.pop()
        return out


def _docstring(text: str) -> str:
    """A docstring literal for ``text`` (``repr`` keeps anything from the binary inert)."""
    return repr(text)


def generate(component: Component, class_name: str | None = None, docs: Docs | None = None,
             world: str = "") -> str:  # fmt: skip
    """The source of the bindings module for ``component``."""
    ct = component.type
    class_name = class_name or pascal(component.name or "component")
    g = _Gen(ct, docs or Docs(), class_name)
    body: list[str] = []

    # exports: top-level functions on the class, interfaces as attribute objects
    methods: list[list[str]] = []
    iface_classes: list[str] = []
    attrs: list[str] = []
    for name, t in ct.exports.items():
        if isinstance(t, FuncType):
            methods.append(g.export_method(name, t, world, "self._exports"))
        elif isinstance(t, InstanceType):
            scope = _short(name)
            icls = g.unique(pascal(scope) + "Exports")
            lines = [f"class {icls}:",
                     f"    {_docstring(g.doc('', scope) or f'The exported interface `{name}`.')}",
                     "", "    def __init__(self, exports):", "        self._exports = exports"]  # fmt: skip
            for fname, ft in t.exports.items():
                if isinstance(ft, FuncType):
                    lines.append("")
                    lines += ["    " + x for x in g.export_method(fname, ft, scope, "self._exports")]
            iface_classes.append("\n".join(lines))
            attrs.append(f"        self.{snake(scope)} = {icls}(self._exports[{name!r}])")

    # imports: protocols and linker definitions
    top_funcs = [(n, t) for n, t in ct.imports.items() if isinstance(t, FuncType)]
    protos: list[str] = []
    import_attrs: list[str] = []
    link: list[str] = []
    for name, t in ct.imports.items():
        if isinstance(t, InstanceType):
            funcs = [(n, u) for n, u in t.exports.items() if isinstance(u, FuncType)]
            resources = [n for n, u in t.exports.items()
                         if isinstance(u, TypeExtern) and isinstance(u.type, ResourceType)]  # fmt: skip
            if not funcs and not resources:
                continue
            scope = _short(name)
            pcls = g.unique(pascal(scope) + "Imports")
            protos.append("\n".join(g.protocol(pcls, funcs, scope,
                                               g.doc("", scope) or f"The interface `{name}`.")))  # fmt: skip
            import_attrs.append(f"    {snake(scope)}: {pcls}")
            link.append(f"        ns = linker.instance({name!r})")
            for r in resources:
                link.append(f"        ns.define_resource({r!r}, destructor=getattr("
                            f"imports.{snake(scope)}, {snake(r) + '_drop'!r}, None))")  # fmt: skip
            for fname, ft in funcs:
                link.append("        " + "\n        ".join(
                    g.import_wrapper(fname, ft, f"imports.{snake(scope)}")))
                link.append(f"        ns.define_func({fname!r}, _)")
        elif isinstance(t, TypeExtern) and isinstance(t.type, ResourceType):
            link.append(f"        linker.define_resource({name!r}, destructor=getattr("
                        f"imports, {snake(name) + '_drop'!r}, None))")  # fmt: skip
    for fname, ft in top_funcs:
        link.append("        " + "\n        ".join(g.import_wrapper(fname, ft, "imports")))
        link.append(f"        linker.define_func({fname!r}, _)")
    imports_proto = g.protocol("Imports", top_funcs, world,
                               "What the host provides to the component (its imports).")  # fmt: skip
    imports_proto = [x for x in imports_proto if x != "    pass"]
    if import_attrs:
        imports_proto[2:2] = import_attrs
    elif not top_funcs:
        imports_proto.append("    pass")

    cdoc = g.doc("", world) if world else None
    body.append(f'{_docstring(f"Python bindings for the component `{component.name or class_name}` (generated by `wasm2py bindgen`; do not edit).")}')  # noqa: E501
    body.append(_HEADER)
    body += g.defs
    body += protos
    body.append("\n".join(imports_proto))
    body += g.helpers
    body += iface_classes
    cls = [f"class {class_name}:",
           f"    {_docstring(cdoc or 'An instance of the component: its exports as methods.')}",
           "",
           "    def __init__(self, imports: Imports | None = None, *,",
           "                 engine: wasm2py.Engine | None = None,",
           "                 store: wasm2py.Store | None = None):",
           "        if engine is None:",
           "            engine = store.engine if store is not None else wasm2py.Engine()",
           "        self.store = store if store is not None else wasm2py.Store(engine)",
           "        component = _component(engine)",
           "        linker = Linker(engine)",
           *link,
           "        self.instance = linker.instantiate(self.store, component)",
           "        self._exports = self.instance.exports",
           *attrs]  # fmt: skip
    for m in methods:
        cls.append("")
        cls += ["    " + x for x in m]
    body.append("\n".join(cls))
    return "\n\n\n".join(body).replace("\n    \n", "\n\n") + "\n"


_HEADER = '''from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Protocol

import wasm2py
from wasm2py.component import Component, Err, ErrorContext, Linker, Ok, Resource, Some, Variant

__all__ = ["Ok", "Err", "Some", "Resource", "ErrorContext"]

_WASM = Path(__file__).with_name("component.wasm")
_COMPONENTS: dict = {}


def _component(engine):
    """The component, compiled once per engine."""
    c = _COMPONENTS.get(id(engine))
    if c is None or c.engine is not engine:
        c = _COMPONENTS[id(engine)] = Component(engine, _WASM.read_bytes())
    return c


def _field(v, name):
    """Field ``name`` of a record given as a dataclass or a dict."""
    if isinstance(v, dict):
        return v[name]
    return getattr(v, name.replace("-", "_").lower())'''


def write_package(wasm_path: str | Path, out_dir: str | Path, *, wit: str | Path | None = None,
                  class_name: str | None = None) -> Path:  # fmt: skip
    """Write the bindings package for the component at ``wasm_path`` into ``out_dir``.

    Returns:
        the path of the generated ``__init__.py``.

    Raises:
        DecodeError, ValidationError: the component is not valid.
    """
    wasm_path = Path(wasm_path)
    data = wasm_path.read_bytes()
    comp = Component(data, name=wasm_path.stem)
    docs = load_docs(wit, data)
    world = ""
    if docs and docs.worlds:
        world = docs.worlds[-1]
    source = generate(comp, class_name, docs, world)
    compile(source, "<bindings>", "exec")  # the generator's own check: fail before writing
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "component.wasm").write_bytes(data)
    init = out / "__init__.py"
    init.write_text(source)
    return init
