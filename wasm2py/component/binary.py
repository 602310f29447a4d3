"""Decoding of the component binary format (layer 1) into :mod:`.ast` records.

Entry point: :func:`decode_component`. Nested components are decoded recursively; nested core
modules are kept as bytes (the core decoder reads them when they are validated). Malformed input
raises :class:`~wasm2py.errors.DecodeError` with the byte offset in the outermost binary.
"""

from __future__ import annotations

from ..binary.decoder import _func_type, _global_type, _limits, _table_type, _valtype
from ..binary.reader import Reader
from ..errors import DecodeError
from ..types import MemoryType, ValType
from . import ast
from .ast import Sort
from .types import Prim

MAGIC = b"\x00asm"
#: version 0x0d, layer 1
COMPONENT_VERSION = b"\x0d\x00\x01\x00"
CORE_VERSION = b"\x01\x00\x00\x00"

_PRIMS = {p.value: p for p in Prim}
_CORE_SORTS = {0x00: Sort.CORE_FUNC, 0x01: Sort.CORE_TABLE, 0x02: Sort.CORE_MEMORY,
               0x03: Sort.CORE_GLOBAL, 0x04: Sort.CORE_TAG, 0x10: Sort.CORE_TYPE,
               0x11: Sort.CORE_MODULE, 0x12: Sort.CORE_INSTANCE}  # fmt: skip
_SORTS = {0x01: Sort.FUNC, 0x02: Sort.VALUE, 0x03: Sort.TYPE, 0x04: Sort.COMPONENT,
          0x05: Sort.INSTANCE}  # fmt: skip
_OUTER_SORTS = {Sort.CORE_MODULE, Sort.CORE_TYPE, Sort.TYPE, Sort.COMPONENT}
_CORE_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


def is_component(data: bytes) -> bool:
    """Whether ``data`` starts with the component preamble (rather than a core module's)."""
    return len(data) >= 8 and data[:4] == MAGIC and data[6:8] == b"\x01\x00"


def decode_component(data: bytes | bytearray | memoryview) -> ast.Component:
    """Decode a component binary.

    Raises:
        DecodeError: the binary is malformed (``offset`` says where).
        TypeError: ``data`` is not bytes-like.
    """
    if not isinstance(data, bytes):
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        else:
            raise TypeError(f"expected bytes, got {type(data).__name__}")
    try:
        return _Decoder(data).component(0, len(data))
    except IndexError:  # pragma: no cover - reads are guarded; this is a safety net
        raise DecodeError("unexpected end", len(data)) from None
    except RecursionError:
        raise DecodeError("nesting too deep", 0) from None


def _bad(what: str, byte: int, at: int) -> DecodeError:
    return DecodeError(f"invalid leading byte ({byte:#x}) for {what}", at)


class _Decoder:
    def __init__(self, data: bytes):
        self.data = data

    # -- the component ------------------------------------------------------------------------
    def component(self, start: int, end: int) -> ast.Component:
        data = self.data
        if end - start < 4 or data[start : start + 4] != MAGIC:
            if end - start < 4:
                raise DecodeError("unexpected end", end)
            raise DecodeError("magic header not detected", start)
        if end - start < 8:
            raise DecodeError("unexpected end", end)
        header = data[start + 4 : start + 8]
        if header != COMPONENT_VERSION:
            if header[2:4] == b"\x00\x00":
                raise DecodeError("expected a version header for a component", start + 4)
            raise DecodeError("unknown binary version", start + 4)
        comp = ast.Component(offset=start)
        defs = comp.definitions
        r = Reader(data, start + 8, end)
        while r.pos < end:
            id_at = r.pos
            sid = r.byte()
            size = r.u32()
            body = r.pos
            if size > end - body:
                raise DecodeError("unexpected end", end)
            sec_end = body + size
            r.end = sec_end
            if sid == 0:
                name = r.name()
                if name == "component-name":
                    _parse_names(data, r.pos, sec_end, comp)
                r.pos = sec_end
            elif sid == 1:
                defs.append(ast.CoreModuleDef(self.core_module(body, sec_end), body))
                r.pos = sec_end
            elif sid == 4:
                defs.append(ast.ComponentDef(self.component(body, sec_end), body))
                r.pos = sec_end
            elif sid == 9:
                defs.append(self.start(r))
            elif sid in (2, 3, 5, 6, 7, 8, 10, 11, 12):
                read = self._VEC_SECTIONS[sid]
                for _ in range(r.length()):
                    defs.append(read(self, r))
            else:
                raise DecodeError("malformed section id", id_at)
            if r.pos != sec_end:
                raise DecodeError("section size mismatch", r.pos)
            r.end = end
        return comp

    def core_module(self, start: int, end: int) -> bytes:
        data = self.data
        if end - start < 8:
            raise DecodeError("unexpected end", end)
        if data[start : start + 4] != MAGIC:
            raise DecodeError("magic header not detected", start)
        if data[start + 4 : start + 8] != CORE_VERSION:
            raise DecodeError("expected a version header for a module", start + 4)
        return data[start:end]

    # -- sections -----------------------------------------------------------------------------
    def core_instance(self, r: Reader):
        at = r.pos
        tag = r.byte()
        if tag == 0x00:
            module = r.u32()
            args = []
            for _ in range(r.length()):
                name = r.name()
                kat = r.pos
                kind = r.byte()
                if kind != 0x12:
                    raise _bad("instantiation arg kind", kind, kat)
                args.append((name, r.u32()))
            return ast.CoreInstantiate(module, tuple(args), at)
        if tag == 0x01:
            exports = []
            for _ in range(r.length()):
                name = r.name()
                sort = self.core_sort(r)
                exports.append((name, sort, r.u32()))
            return ast.CoreInlineExports(tuple(exports), at)
        raise _bad("core instance", tag, at)

    def core_sort(self, r: Reader, what: str = "core sort") -> Sort:
        at = r.pos
        b = r.byte()
        sort = _CORE_SORTS.get(b)
        if sort is None:
            raise _bad(what, b, at)
        return sort

    def sort(self, r: Reader, what: str = "component external kind") -> Sort:
        at = r.pos
        b = r.byte()
        if b == 0x00:
            return self.core_sort(r, what)
        sort = _SORTS.get(b)
        if sort is None:
            raise _bad(what, b, at)
        return sort

    def instance(self, r: Reader):
        at = r.pos
        tag = r.byte()
        if tag == 0x00:
            comp = r.u32()
            args = []
            for _ in range(r.length()):
                name = r.name()
                sort = self.sort(r)
                args.append((name, sort, r.u32()))
            return ast.Instantiate(comp, tuple(args), at)
        if tag == 0x01:
            exports = []
            for _ in range(r.length()):
                name = self.extern_name(r)
                sort = self.sort(r)
                exports.append((name, sort, r.u32()))
            return ast.InlineExports(tuple(exports), at)
        raise _bad("instance", tag, at)

    def alias(self, r: Reader) -> ast.Alias:
        at = r.pos
        b = r.byte()
        if b == 0x00:
            sort_byte = r.byte()
            sort = _CORE_SORTS.get(sort_byte)
        else:
            sort_byte = b
            sort = _SORTS.get(b)
        tat = r.pos
        target = r.byte()
        if target == 0x00 or target == 0x01:
            if sort is None:
                raise _bad("component external kind", sort_byte, at)
            instance = r.u32()
            name = r.name()
            return ast.Alias(sort, "export" if target == 0 else "core export", instance, name)
        if target == 0x02:
            if sort is None or sort not in _OUTER_SORTS:
                raise _bad("component outer alias kind", sort_byte, at)
            count = r.u32()
            index = r.u32()
            return ast.Alias(sort, "outer", count=count, index=index)
        raise _bad("alias", target, tat)

    def alias_def(self, r: Reader):
        at = r.pos
        return ast.AliasDef(self.alias(r), at)

    def core_type_def(self, r: Reader):
        at = r.pos
        return ast.CoreTypeDef(self.core_type(r, allow_module=True), at)

    def core_type(self, r: Reader, allow_module: bool) -> ast.CoreTypeDesc:
        at = r.pos
        b = r.data[r.pos] if r.pos < r.end else None
        if b == 0x50:
            r.byte()
            if not allow_module:
                raise _bad("type definition", b, at)
            return self.module_type(r, at)
        if b == 0x60:
            return ast.CoreFuncDesc(_func_type(r))
        if b == 0x4E:  # rec group
            r.byte()
            return ast.CoreRecDesc(tuple(self.core_subtype(r) for _ in range(r.length())))
        if b == 0x00 and r.pos + 1 < r.end and r.data[r.pos + 1] == 0x50:
            r.byte()
            return ast.CoreRecDesc((self.core_subtype(r),))
        if b == 0x4F:
            return ast.CoreRecDesc((self.core_subtype(r),))
        if b is None:
            raise r.eof_error()
        if b in (0x5F, 0x5E):
            return ast.CoreRecDesc((self.core_comptype(r),))
        raise _bad("type definition", b, at)

    def core_subtype(self, r: Reader):
        at = r.pos
        b = r.data[r.pos] if r.pos < r.end else None
        if b in (0x50, 0x4F):
            r.byte()
            for _ in range(r.length()):
                r.u32()
            return self.core_comptype(r)
        if b is None:
            raise r.eof_error()
        if b in (0x60, 0x5F, 0x5E):
            return self.core_comptype(r)
        raise _bad("core subtype", b, at)

    def core_comptype(self, r: Reader):
        at = r.pos
        b = r.data[r.pos] if r.pos < r.end else None
        if b == 0x60:
            return ast.CoreFuncDesc(_func_type(r))
        if b in (0x5F, 0x5E):
            raise DecodeError("GC struct and array types are not supported", at)
        raise _bad("core composite type", b if b is not None else 0, at)

    def module_type(self, r: Reader, at: int) -> ast.ModuleTypeDesc:
        decls = []
        for _ in range(r.length()):
            dat = r.pos
            tag = r.byte()
            if tag == 0x00:
                module = r.name()
                name = r.name()
                kind, t = self.core_extern(r)
                decls.append(ast.CoreImportDesc(module, name, kind, t))
            elif tag == 0x01:
                decls.append(self.core_type(r, allow_module=False))
            elif tag == 0x02:
                kat = r.pos
                k = r.byte()
                if k != 0x10:
                    raise _bad("outer alias kind", k, kat)
                tat = r.pos
                t = r.byte()
                if t != 0x01:
                    raise _bad("outer alias target", t, tat)
                decls.append(ast.CoreOuterAlias(r.u32(), r.u32()))
            elif tag == 0x03:
                name = r.name()
                kind, t = self.core_extern(r)
                decls.append(ast.CoreExportDesc(name, kind, t))
            else:
                raise _bad("type definition", tag, dat)
        return ast.ModuleTypeDesc(tuple(decls), at)

    def core_extern(self, r: Reader):
        at = r.pos
        kind = r.byte()
        if kind == 0:
            return "func", r.u32()
        if kind == 1:
            return "table", _table_type(r)
        if kind == 2:
            return "memory", self.memory_type(r)
        if kind == 3:
            return "global", _global_type(r)
        if kind == 4:
            tat = r.pos
            if r.byte() != 0:
                raise DecodeError("invalid tag attribute", tat)
            return "tag", r.u32()
        raise _bad("external kind", kind, at)

    def memory_type(self, r: Reader) -> MemoryType:
        # flags beyond min/max (shared, memory64) are recognised so validation can reject them
        at = r.pos
        flags = r.data[at] if at < r.end else 0
        if flags in (0, 1):
            return MemoryType(_limits(r))
        r.byte()
        if flags & ~0x07:
            raise DecodeError("malformed limits flags", at)
        lo = r.u32() if not flags & 4 else _u64(r)
        hi = (r.u32() if not flags & 4 else _u64(r)) if flags & 1 else None
        mt = MemoryType.__new__(MemoryType)
        object.__setattr__(mt, "limits", _ExtLimits(lo, hi, bool(flags & 2), bool(flags & 4)))
        return mt

    def type_def(self, r: Reader):
        at = r.pos
        return ast.TypeDef(self.def_type(r), at)

    def def_type(self, r: Reader) -> ast.DefTypeDesc:
        at = r.pos
        b = r.data[at] if at < r.end else None
        if b is None:
            raise r.eof_error()
        if b == 0x40 or b == 0x43:
            r.byte()
            params = tuple((r.name(), self.valtype(r)) for _ in range(r.length()))
            rat = r.pos
            rk = r.byte()
            if rk == 0x00:
                result = self.valtype(r)
            elif rk == 0x01:
                zat = r.pos
                z = r.byte()
                if z != 0x00:
                    raise _bad("number of results", z, zat)
                result = None
            else:
                raise _bad("component function results", rk, rat)
            return ast.FuncDesc(params, result, b == 0x43)
        if b == 0x41:
            r.byte()
            return ast.ComponentTypeDesc(tuple(self.decl(r, True) for _ in range(r.length())), at)
        if b == 0x42:
            r.byte()
            return ast.InstanceTypeDesc(tuple(self.decl(r, False) for _ in range(r.length())), at)
        if b == 0x3F:
            r.byte()
            rep = _valtype(r)
            dat = r.pos
            d = r.byte()
            if d == 0x00:
                dtor = None
            elif d == 0x01:
                dtor = r.u32()
            else:
                raise _bad("resource destructor", d, dat)
            return ast.ResourceDesc(rep, dtor)
        return self.def_val_type(r)

    def def_val_type(self, r: Reader) -> ast.ValTypeDesc:
        at = r.pos
        b = r.byte()
        prim = _PRIMS.get(b)
        if prim is not None:
            return ast.PrimDesc(prim)
        if b == 0x72:
            return ast.RecordDesc(tuple((self.label(r), self.valtype(r))
                                        for _ in range(r.length())))  # fmt: skip
        if b == 0x71:
            cases = []
            for _ in range(r.length()):
                label = self.label(r)
                t = self.opt(r, self.valtype)
                zat = r.pos
                z = r.byte()
                if z != 0x00:
                    raise _bad("zero byte required", z, zat)
                cases.append((label, t))
            return ast.VariantDesc(tuple(cases))
        if b == 0x70:
            return ast.ListDesc(self.valtype(r))
        if b == 0x67:
            elem = self.valtype(r)
            return ast.ListDesc(elem, r.u32())
        if b == 0x6F:
            return ast.TupleDesc(tuple(self.valtype(r) for _ in range(r.length())))
        if b == 0x6E:
            return ast.FlagsDesc(tuple(self.label(r) for _ in range(r.length())))
        if b == 0x6D:
            return ast.EnumDesc(tuple(self.label(r) for _ in range(r.length())))
        if b == 0x6B:
            return ast.OptionDesc(self.valtype(r))
        if b == 0x6A:
            ok = self.opt(r, self.valtype)
            return ast.ResultDesc(ok, self.opt(r, self.valtype))
        if b == 0x69:
            return ast.OwnDesc(r.u32())
        if b == 0x68:
            return ast.BorrowDesc(r.u32())
        if b == 0x66:
            return ast.StreamDesc(self.opt(r, self.valtype))
        if b == 0x65:
            return ast.FutureDesc(self.opt(r, self.valtype))
        if b == 0x63:
            key = self.valtype(r)
            return ast.MapDesc(key, self.valtype(r))
        raise _bad("component defined type", b, at)

    def valtype(self, r: Reader) -> ast.TypeRef:
        at = r.pos
        b = r.data[at] if at < r.end else None
        if b is None:
            raise r.eof_error()
        prim = _PRIMS.get(b)
        if prim is not None:
            r.byte()
            return prim
        v = r.s64() if b & 0x40 else r.u32()
        if v < 0:
            raise _bad("component value type", b, at)
        return v

    def label(self, r: Reader) -> str:
        return r.name()

    def opt(self, r: Reader, read):
        at = r.pos
        b = r.byte()
        if b == 0x00:
            return None
        if b == 0x01:
            return read(r)
        raise _bad("optional value", b, at)

    def decl(self, r: Reader, component: bool) -> ast.Decl:
        at = r.pos
        tag = r.byte()
        if tag == 0x00:
            return ast.CoreTypeDecl(self.core_type(r, allow_module=True), at)
        if tag == 0x01:
            return ast.TypeDecl(self.def_type(r), at)
        if tag == 0x02:
            return ast.AliasDecl(self.alias(r), at)
        if tag == 0x03 and component:
            name = self.extern_name(r)
            return ast.ImportDecl(name, self.extern_desc(r), at)
        if tag == 0x04:
            name = self.extern_name(r)
            return ast.ExportDecl(name, self.extern_desc(r), at)
        raise _bad("component or instance type declaration", tag, at)

    def extern_name(self, r: Reader) -> ast.ExternName:
        at = r.pos
        tag = r.byte()
        if tag in (0x00, 0x01):
            return ast.ExternName(r.name())
        if tag == 0x02:
            name = r.name()
            attrs: dict[str, str] = {}
            for _ in range(r.length()):
                oat = r.pos
                k = r.byte()
                what = _ATTRS.get(k)
                if what is None:
                    raise _bad("name option", k, oat)
                if what in attrs:
                    raise DecodeError(f"duplicate '{what}' option in name", oat)
                attrs[what] = r.name()
            return ast.ExternName(name, attrs.get("implements"), attrs.get("versionsuffix"),
                                  attrs.get("external-id"))  # fmt: skip
        raise _bad("component name", tag, at)

    def extern_desc(self, r: Reader) -> ast.ExternDesc:
        at = r.pos
        b = r.byte()
        if b == 0x00:
            kat = r.pos
            k = r.byte()
            if k != 0x11:
                raise _bad("component external kind", k, kat)
            return ast.ExternDesc(Sort.CORE_MODULE, r.u32())
        if b == 0x01:
            return ast.ExternDesc(Sort.FUNC, r.u32())
        if b == 0x02:
            vat = r.pos
            v = r.byte()
            if v == 0x00:
                return ast.ExternDesc(Sort.VALUE, bound=ast.ValueBound(eq=r.u32()))
            if v == 0x01:
                return ast.ExternDesc(Sort.VALUE, bound=ast.ValueBound(type=self.valtype(r)))
            raise _bad("value bound", v, vat)
        if b == 0x03:
            tat = r.pos
            t = r.byte()
            if t == 0x00:
                return ast.ExternDesc(Sort.TYPE, bound=ast.TypeBound(r.u32()))
            if t == 0x01:
                return ast.ExternDesc(Sort.TYPE, bound=ast.TypeBound(None))
            raise _bad("type bound", t, tat)
        if b == 0x04:
            return ast.ExternDesc(Sort.COMPONENT, r.u32())
        if b == 0x05:
            return ast.ExternDesc(Sort.INSTANCE, r.u32())
        raise _bad("component external kind", b, at)

    def canon_def(self, r: Reader):
        at = r.pos
        return ast.CanonDef(self.canon(r, at), at)

    def canon_opts(self, r: Reader) -> tuple[ast.CanonOpt, ...]:
        opts = []
        for _ in range(r.length()):
            at = r.pos
            k = r.byte()
            if k in _OPT_NAMES:
                opts.append(ast.CanonOpt(_OPT_NAMES[k]))
            elif k in _OPT_INDEXED:
                opts.append(ast.CanonOpt(_OPT_INDEXED[k], r.u32()))
            else:
                raise _bad("canonical option", k, at)
        return tuple(opts)

    def flag(self, r: Reader, what: str) -> bool:
        at = r.pos
        b = r.byte()
        if b > 1:
            raise _bad(what, b, at)
        return bool(b)

    def canon(self, r: Reader, at: int) -> ast.Canon:
        C = ast.Canon
        op = r.byte()
        if op == 0x00:
            self.zero(r, "canonical lift")
            f = r.u32()
            opts = self.canon_opts(r)
            return C("lift", at, func=f, opts=opts, type=r.u32())
        if op == 0x01:
            self.zero(r, "canonical lower")
            f = r.u32()
            return C("lower", at, func=f, opts=self.canon_opts(r))
        simple = _CANON_TYPED.get(op)
        if simple is not None:
            return C(simple, at, type=r.u32())
        simple = _CANON_PLAIN.get(op)
        if simple is not None:
            return C(simple, at)
        if op == 0x09:
            rk_at = r.pos
            rk = r.byte()
            if rk == 0x00:
                result = self.valtype(r)
            elif rk == 0x01:
                zat = r.pos
                z = r.byte()
                if z != 0:
                    raise _bad("number of results", z, zat)
                result = None
            else:
                raise _bad("component function results", rk, rk_at)
            return C("task.return", at, result=result, opts=self.canon_opts(r))
        if op in (0x0A, 0x0B):
            t = _valtype(r)
            return C("context.get" if op == 0x0A else "context.set", at, core_type=t,
                     slot=r.u32())  # fmt: skip
        if op == 0x06:
            return C("subtask.cancel", at, is_async=self.flag(r, "async"))
        if op in _CANON_TYPED_OPTS:
            t = r.u32()
            return C(_CANON_TYPED_OPTS[op], at, type=t, opts=self.canon_opts(r))
        if op in _CANON_TYPED_ASYNC:
            t = r.u32()
            return C(_CANON_TYPED_ASYNC[op], at, type=t, is_async=self.flag(r, "async"))
        if op in (0x1C, 0x1D):
            return C("error-context.new" if op == 0x1C else "error-context.debug-message", at,
                     opts=self.canon_opts(r))  # fmt: skip
        if op in (0x20, 0x21):
            c = self.flag(r, "cancellable")
            return C("waitable-set.wait" if op == 0x20 else "waitable-set.poll", at,
                     cancellable=c, memory=r.u32())  # fmt: skip
        if op in _CANON_CANCEL:
            return C(_CANON_CANCEL[op], at, cancellable=self.flag(r, "cancellable"))
        if op == 0x27:
            t = r.u32()
            return C("thread.new-indirect", at, type=t, table=r.u32())
        if op == 0x40:
            s = self.flag(r, "shared")
            return C("thread.spawn-ref", at, shared=s, type=r.u32())
        if op == 0x41:
            s = self.flag(r, "shared")
            t = r.u32()
            return C("thread.spawn-indirect", at, shared=s, type=t, table=r.u32())
        if op == 0x42:
            return C("thread.available-parallelism", at, shared=self.flag(r, "shared"))
        raise _bad("canonical function", op, at)

    def zero(self, r: Reader, what: str) -> None:
        at = r.pos
        b = r.byte()
        if b != 0x00:
            raise _bad(what, b, at)

    def start(self, r: Reader):
        at = r.pos
        f = r.u32()
        args = tuple(r.u32() for _ in range(r.length()))
        return ast.StartDef(f, args, r.u32(), at)

    def import_def(self, r: Reader):
        at = r.pos
        name = self.extern_name(r)
        return ast.ImportDef(name, self.extern_desc(r), at)

    def export_def(self, r: Reader):
        at = r.pos
        name = self.extern_name(r)
        sort = self.sort(r)
        index = r.u32()
        oat = r.pos
        o = r.byte()
        if o == 0x00:
            desc = None
        elif o == 0x01:
            desc = self.extern_desc(r)
        else:
            raise _bad("optional component export type", o, oat)
        return ast.ExportDef(name, sort, index, desc, at)

    def value_def(self, r: Reader):
        at = r.pos
        t = self.valtype(r)
        return ast.ValueDef(t, r.vec_bytes(), at)

    _VEC_SECTIONS = {
        2: core_instance,
        3: core_type_def,
        5: instance,
        6: alias_def,
        7: type_def,
        8: canon_def,
        10: import_def,
        11: export_def,
        12: value_def,
    }


class _ExtLimits:
    """Limits of a memory type with flags beyond Wasm 2.0 (shared, 64-bit), which this engine's
    core tier does not run; validation reports them."""

    __slots__ = ("min", "max", "shared", "is64")

    def __init__(self, lo, hi, shared, is64):
        self.min, self.max, self.shared, self.is64 = lo, hi, shared, is64


def _u64(r: Reader) -> int:
    from ..binary.reader import read_u64

    try:
        v, p = read_u64(r.data, r.pos)
    except IndexError:
        raise r.eof_error() from None
    r.pos = p
    return v


_ATTRS = {0x00: "implements", 0x01: "versionsuffix", 0x02: "external-id"}
_OPT_NAMES = {0x00: "utf8", 0x01: "utf16", 0x02: "latin1+utf16", 0x06: "async"}
_OPT_INDEXED = {0x03: "memory", 0x04: "realloc", 0x05: "post-return", 0x07: "callback"}
_CANON_TYPED = {0x02: "resource.new", 0x03: "resource.drop", 0x04: "resource.rep",
                0x0E: "stream.new", 0x13: "stream.drop-readable", 0x14: "stream.drop-writable",
                0x15: "future.new", 0x1A: "future.drop-readable", 0x1B: "future.drop-writable"}  # fmt: skip
_CANON_PLAIN = {0x24: "backpressure.inc", 0x25: "backpressure.dec", 0x05: "task.cancel",
                0x0D: "subtask.drop", 0x1E: "error-context.drop", 0x1F: "waitable-set.new",
                0x22: "waitable-set.drop", 0x23: "waitable.join", 0x26: "thread.index",
                0x28: "thread.resume-later"}  # fmt: skip
_CANON_TYPED_OPTS = {0x0F: "stream.read", 0x10: "stream.write", 0x16: "future.read",
                     0x17: "future.write"}  # fmt: skip
_CANON_TYPED_ASYNC = {0x11: "stream.cancel-read", 0x12: "stream.cancel-write",
                      0x18: "future.cancel-read", 0x19: "future.cancel-write"}  # fmt: skip
_CANON_CANCEL = {0x29: "thread.suspend", 0x0C: "thread.yield", 0x2A: "thread.suspend-then-resume",
                 0x2B: "thread.yield-then-resume", 0x2C: "thread.suspend-then-promote",
                 0x2D: "thread.yield-then-promote"}  # fmt: skip


def _parse_names(data: bytes, pos: int, end: int, comp: ast.Component) -> None:
    """Read the ``component-name`` section; a malformed one is ignored (validity is not
    required)."""
    try:
        r = Reader(data, pos, end)
        while r.pos < end:
            kind = r.byte()
            size = r.u32()
            sub_end = r.pos + size
            if sub_end > end:
                return
            if kind == 0:
                r.end = sub_end
                comp.name = r.name()
            elif kind == 1:
                r.end = sub_end
                b = r.byte()
                sort = _CORE_SORTS.get(r.byte()) if b == 0 else _SORTS.get(b)
                for _ in range(r.length()):
                    idx = r.u32()
                    name = r.name()
                    if sort is not None:
                        comp.names[(sort, idx)] = name
            r.pos = sub_end
            r.end = end
    except DecodeError:
        return


__all__ = ["decode_component", "is_component", "ValType"]
