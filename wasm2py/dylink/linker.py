"""The dynamic linker: a PIE main and side modules sharing one memory, table and stack.

The conventions are LLVM's and Emscripten's (``wasm-ld --experimental-pic``, see the tool
conventions' ``DynamicLinking.md``); :class:`DynamicLinker` plays the loader:

* it owns ``env.memory``, ``env.__indirect_function_table`` and ``env.__stack_pointer``,
  created with the first module loaded (see *Memory layout*);
* each module gets an area of memory and of the table (sizes and alignments from its
  ``dylink.0`` section), passed as its ``env.__memory_base`` / ``env.__table_base``;
* ``GOT.mem.X`` imports are given the address of data symbol ``X`` (an exported i32 global
  holds its offset from its module's ``__memory_base``), ``GOT.func.X`` imports the table slot
  of function ``X`` (the slot its own module's element segment gave it, else a new one); the
  entries are shared mutable globals, one per symbol;
* ``env.X`` function imports are bound to the export ``X`` of a loaded module, else to the host
  function ``imports["env"]["X"]``; other namespaces (WASI ...) come from ``imports``;
* a module's ``needed`` libraries are loaded first (found in ``lib_path``, the module's
  ``runtime_path`` and the module's own directory), then every new module is instantiated,
  ``__wasm_apply_data_relocs`` runs (if exported) and ``__wasm_call_ctors`` (if exported).

Everything a group of modules needs is resolved before any of them is instantiated: a missing
symbol (:class:`~wasm2py.errors.UndefinedSymbol`) or an import of the wrong type
(:class:`~wasm2py.errors.LinkError`) changes nothing. Symbols are looked up in load order (the
main first), the first definition wins; a weak undefined reference (``import-info``
``binding-weak``) resolves to 0, or for a function to a stub raising ``UndefinedSymbol`` if
called. Modules loaded with ``global_scope=False`` use the others' symbols but do not add
their own (``RTLD_LOCAL``).

Memory layout: the first group is laid out from :data:`GLOBAL_BASE`: each module's data, then
the stack (``stack_size`` bytes, ``__stack_pointer`` at its top), then ``__heap_base`` (a data
symbol the linker defines). Modules loaded later get fresh pages from ``memory.grow`` (small
ones share the linker's last pages), so a guest allocator must take new memory from what
``memory.grow`` returns rather than assume its heap is contiguous — as with WASIX's linker.

Both tiers: the table's element list is what the Python tier indexes and its native mirror is
what jitted code reads (:mod:`wasm2py.llvm.native`); every growth and every slot the linker
writes goes through :class:`~wasm2py.runtime.table.TableInstance`, which keeps the mirror
current, so jitted code calls functions loaded after it started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..binary.module import ExternKind, SegmentMode
from ..binary.opcodes import Op
from ..errors import DylinkError, LinkError, UndefinedSymbol
from ..externs import Global, Memory, Table
from ..instance import Instance
from ..module import Module
from ..runtime.func import Func
from ..runtime.trap import HostError
from ..types import (
    MAX_PAGES,
    PAGE_SIZE,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
    ValType,
)
from .section import DylinkInfo, SymbolFlags, dylink_info

#: where the first module's data starts (addresses below stay unused, so that small integers
#: are never valid pointers), as Emscripten and ``wasm-ld`` do
GLOBAL_BASE = 1024
#: default stack size in bytes (``wasm-ld``'s default)
STACK_SIZE = 64 * 1024

_I32 = GlobalType(ValType.I32)
_I32_MUT = GlobalType(ValType.I32, True)
#: exports that belong to the loader's protocol, not to the symbol namespace
_PROTOCOL = frozenset({"__wasm_call_ctors", "__wasm_apply_data_relocs", "__wasm_apply_tls_relocs",
                       "__wasm_apply_global_relocs", "__memory_base", "__table_base",
                       "__stack_pointer", "__indirect_function_table", "memory"})  # fmt: skip


def _align_up(n: int, align_log2: int) -> int:
    a = 1 << align_log2
    return (n + a - 1) & -a


@dataclass(eq=False)
class Library:
    """A module loaded by a :class:`DynamicLinker` (the main program or a side module).

    Attributes:
        name: the name it was loaded under (what ``needed`` entries and :meth:`DynamicLinker.
            dlopen` refer to).
        path: the file it came from (None for bytes).
        info: its :class:`~wasm2py.dylink.DylinkInfo`.
        module: the compiled :class:`~wasm2py.Module`.
        instance: the :class:`~wasm2py.Instance` (None until instantiated).
        memory_base, table_base: where its data and its table slots are.
        is_main: loaded with :meth:`DynamicLinker.load`.
        global_scope: its symbols are visible to modules loaded after it.
    """

    name: str
    path: str | None
    info: DylinkInfo
    module: Module
    instance: Instance | None = None
    memory_base: int = 0
    table_base: int = 0
    is_main: bool = False
    global_scope: bool = True
    #: symbol name -> ("func", function index), ("data", offset from memory_base) or
    #: ("abs", address) for an export-info ``ABSOLUTE`` symbol
    symbols: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: function index -> table slot its own element segments give it (relative to table_base)
    own_slots: dict[int, int] = field(default_factory=dict)

    @property
    def exports(self):
        """The instance's exports (a mapping with attribute access)."""
        if self.instance is None:
            raise LinkError(f"library {self.name!r} is not instantiated")
        return self.instance.exports

    def address(self, symbol: str) -> int:
        """The address of one of this module's data symbols.

        Raises:
            KeyError: it defines no data symbol of that name.
        """
        kind, value = self.symbols[symbol]
        if kind == "func":
            raise KeyError(symbol)
        return value if kind == "abs" else self.memory_base + value

    def __repr__(self) -> str:
        return (f"<wasm2py.dylink.Library {self.name!r} memory_base={self.memory_base} "
                f"table_base={self.table_base}>")  # fmt: skip


def _scan(lib: Library) -> None:
    """Fill ``lib.symbols`` and ``lib.own_slots`` from the decoded module (nothing runs)."""
    m = lib.module._module
    nimp_globals = sum(1 for i in m.imports if i.kind == ExternKind.GLOBAL)
    table_base_global = None
    g = 0
    for imp in m.imports:
        if imp.kind == ExternKind.GLOBAL:
            if imp.module == "env" and imp.name == "__table_base":
                table_base_global = g
            g += 1
    for e in m.exports:
        if e.name in _PROTOCOL or e.name.startswith("__wasm_"):
            continue
        if e.kind == ExternKind.FUNC:
            if e.index >= m.num_imported_funcs:  # a re-exported import defines nothing
                lib.symbols[e.name] = ("func", e.index)
        elif e.kind == ExternKind.GLOBAL and e.index >= nimp_globals:
            glob = m.globals[e.index - nimp_globals]
            init = [i for i in glob.init if i.op != Op.END]
            if glob.type.mutable or glob.type.valtype is not ValType.I32:
                continue
            if len(init) != 1 or init[0].op != Op.I32_CONST:
                continue
            flags = lib.info.export_flags(e.name)
            if flags & SymbolFlags.TLS:
                raise DylinkError(f"{lib.name}: thread-local symbol {e.name!r} (threads and "
                                  "TLS are not supported)")  # fmt: skip
            value = init[0].imm & 0xFFFFFFFF
            lib.symbols[e.name] = ("abs" if flags & SymbolFlags.ABSOLUTE else "data", value)
    for seg in m.elems:
        if seg.mode is not SegmentMode.ACTIVE or seg.table != 0 or seg.offset is None:
            continue
        off = [i for i in seg.offset if i.op != Op.END]
        if len(off) == 1 and off[0].op == Op.GLOBAL_GET and off[0].imm == table_base_global:
            for k, item in enumerate(seg.items):
                ops = [i for i in item if i.op != Op.END]
                if len(ops) == 1 and ops[0].op == Op.REF_FUNC:
                    lib.own_slots.setdefault(ops[0].imm, k)


class DynamicLinker:
    """Loads a PIE main program and side modules into one store, sharing one memory, table
    and stack pointer.

    ::

        dl = DynamicLinker(store, imports={"env": {"log": print}}, lib_path=["build/"])
        main = dl.load("main.wasm")                 # also loads what it needs (dylink.0)
        main.exports._start()
        plugin = dl.dlopen("libplugin.so")          # later: data, table slots, relocs, ctors
        dl.dlsym("plugin_run")(3)                   # a Func; a data symbol gives its address

    Args:
        store: the :class:`~wasm2py.Store` (its tier runs every module: python, llvm, auto).
        imports: host items ``{module: {name: item}}`` (Func, Memory, Table, Global, or a
            plain callable typed by the import that uses it); ``env`` functions are the
            fallback for symbols no module defines.
        lib_path: directories searched for needed and dlopen'ed libraries given by name.
        stack_size: bytes of stack placed after the first modules' data.

    Attributes:
        memory: the shared :class:`~wasm2py.Memory` (None until the first load).
        table: the shared :class:`~wasm2py.Table` (None until the first load).
        stack_pointer: the shared ``__stack_pointer`` :class:`~wasm2py.Global`.
        heap_base: the value of ``__heap_base`` (first address after the stack).
        libraries: every loaded :class:`Library`, in load order.
    """

    def __init__(self, store, imports: Mapping[str, Mapping[str, object]] | None = None,
                 lib_path=(), stack_size: int = STACK_SIZE):  # fmt: skip
        self.store = store
        self.imports = {m: dict(v) for m, v in (imports or {}).items()}
        self.lib_path = [os.fspath(p) for p in lib_path]
        self.stack_size = stack_size
        self.memory: Memory | None = None
        self.table: Table | None = None
        self.stack_pointer: Global | None = None
        self.heap_base = 0
        self.libraries: list[Library] = []
        self._by_name: dict[str, Library] = {}
        self._main: Library | None = None
        #: symbol -> the library defining it (first definition in load order)
        self._symbols: dict[str, Library] = {}
        #: shared GOT entries: ("mem"|"func", symbol) -> Global
        self._got: dict[tuple[str, str], Global] = {}
        #: id(Func) -> (Func, the table slot that is its address): one slot per function
        self._slots: dict[int, tuple[Func, int]] = {}
        #: host Funcs made from plain callables: (module, name, type) -> Func
        self._host_funcs: dict[tuple, Func] = {}
        # memory the linker took from memory.grow and has not handed out yet: [next, end)
        self._arena = 0
        self._arena_end = 0
        self._anonymous = 0

    # -- public API ---------------------------------------------------------------------------
    def load(self, main, preload=(), name: str | None = None) -> Library:
        """Load the main program (a ``-pie`` module: bytes, a path or a :class:`~wasm2py.
        Module`), what its ``dylink.0`` says it needs, and ``preload`` (more libraries, by
        name, path or bytes), then instantiate them, apply relocations and run constructors.
        Nothing is called beyond that: run the program's ``_start`` yourself.

        Raises:
            DylinkError: a module has no (or a malformed) ``dylink.0`` section.
            UndefinedSymbol: a symbol no module or host import defines.
            LinkError: an import of the wrong type, a library not found, a second main.
            Trap: a start function, relocation or constructor trapped.
        """
        if self._main is not None:
            raise LinkError(f"a main program is loaded already ({self._main.name!r})")
        return self._load_group(main, name, is_main=True, preload=preload)

    def dlopen(self, library, name: str | None = None, *, global_scope: bool = True,
               imports: Mapping[str, Mapping[str, object]] | None = None) -> Library:  # fmt: skip
        """Load a side module (``-shared``; bytes, a path, a name found in ``lib_path``, or a
        :class:`~wasm2py.Module`) and the libraries it needs into the running program. A name
        loaded already returns that library.

        Args:
            name: the name to register it under (default: the file name, or a generated one
                for bytes).
            global_scope: whether modules loaded later see its symbols.
            imports: host items for this module only (on top of the linker's).

        Raises:
            as :meth:`load`.
        """
        return self._load_group(library, name, is_main=False, global_scope=global_scope,
                                extra=imports)  # fmt: skip

    def dlsym(self, symbol: str, library: Library | None = None):
        """A symbol's value: the :class:`~wasm2py.Func` of a function, the address of a data
        symbol (an int). Looked up in ``library`` only, or in load order.

        Raises:
            UndefinedSymbol: no loaded module defines it.
        """
        lib = self._defining(symbol, library)
        kind, value = lib.symbols[symbol]
        if kind == "func":
            return lib.exports[symbol]
        return value if kind == "abs" else lib.memory_base + value

    def function_pointer(self, symbol_or_func, library: Library | None = None) -> int:
        """The table slot of a function (by symbol name, or a :class:`~wasm2py.Func`), placing
        it in the table first if it has no slot yet: what C code calls ``&f``.

        Raises:
            UndefinedSymbol: no loaded module defines a function of that name.
        """
        if isinstance(symbol_or_func, Func):
            return self._slot_for(symbol_or_func)
        func = self.dlsym(symbol_or_func, library)
        if not isinstance(func, Func):
            raise LinkError(f"{symbol_or_func!r} is a data symbol, not a function")
        return self._slot_for(func)

    def library(self, name: str) -> Library:
        """A loaded library by name.

        Raises:
            KeyError: none of that name.
        """
        return self._by_name[name]

    @property
    def main(self) -> Library | None:
        """The main program (None before :meth:`load`)."""
        return self._main

    def allocate_slots(self, n: int) -> int:
        """Grow the table by ``n`` null slots; returns the first (for host code that places
        functions itself, such as :mod:`wasm2py.dylink.closures`)."""
        return self._grow_table(n)

    def set_slot(self, slot: int, func: Func | None) -> None:
        """Put ``func`` (or null) in table slot ``slot`` (both tiers see it at once).

        Raises:
            IndexError: no such slot.
        """
        if self.table is None:
            self._create_shared([])
        old = self.table.get(slot)
        if old is not None and self._slots.get(id(old), (None, -1))[1] == slot:
            del self._slots[id(old)]
        self.table.set(slot, func)
        if func is not None:
            self._slots.setdefault(id(func), (func, slot))

    def dlclose(self, library: Library) -> None:
        """Forget a library loaded with ``global_scope=False`` (nothing else can have bound
        its symbols). Its memory and table areas are not reused; its functions stay callable
        through references still held elsewhere.

        Raises:
            LinkError: the library is in the global scope, or not loaded by this linker.
        """
        if library.global_scope:
            raise LinkError(f"{library.name!r} is in the global scope: other modules may be "
                            "bound to its symbols, so it cannot be unloaded")  # fmt: skip
        if self._by_name.get(library.name) is not library:
            raise LinkError(f"{library.name!r} is not loaded")
        self._forget([library])

    # -- loading ------------------------------------------------------------------------------
    def _load_group(self, root, name, *, is_main, preload=(), global_scope=True, extra=None):
        if isinstance(root, str) and root in self._by_name:
            return self._by_name[root]
        if isinstance(root, str | os.PathLike) and not os.path.exists(root):
            root = self._find(os.fspath(root), self.lib_path)
        rlib = self._open(root, name, is_main)
        if rlib.name in self._by_name:
            return self._by_name[rlib.name]
        rlib.global_scope = global_scope
        group = [rlib]
        seen = {rlib.name}
        # needed libraries, breadth first (their order is the symbol lookup order)
        queue: list[tuple[Library, object]] = [(rlib, n) for n in rlib.info.needed]
        queue += [(rlib, p) for p in preload]
        while queue:
            parent, item = queue.pop(0)
            if isinstance(item, str):
                if item in self._by_name or item in seen:
                    continue
                item = self._find(item, self._search_dirs(parent))
            lib = self._open(item, None, False)
            if lib.name in self._by_name or lib.name in seen:
                continue
            seen.add(lib.name)
            group.append(lib)
            queue += [(lib, n) for n in lib.info.needed]
        for lib in group:
            _scan(lib)
        hosts = self._host_imports(extra)
        # instantiation order: every library after those it needs, the root last
        order = self._instantiation_order(group)
        plan = [self._resolve(lib, group, hosts) for lib in order]  # raises before any change
        self._place(group)
        pending = self._fill_got(plan)
        stubs = []
        try:
            for lib, imports in zip(order, plan):
                values, lazy = self._import_values(lib, imports)
                lib.instance = Instance(self.store, lib.module, values)
                stubs += [(lib, k, stub) for k, stub in lazy]
                for slot, (provider, symbol) in pending.items():
                    if provider is lib:
                        self.set_slot(slot, lib.instance.exports[symbol])
                self._register_slots(lib)
            # stubs stood in for functions of modules instantiated later: bind them directly
            for lib, k, stub in stubs:
                lib.instance._rebind_import(k, stub.target())
            self._commit(group)
            for lib in order:
                for init in ("__wasm_apply_data_relocs", "__wasm_call_ctors"):
                    f = lib.instance.exports.get(init)
                    if isinstance(f, Func) and not f.type.params and not f.type.results:
                        f()
        except BaseException:
            self._forget(group)
            raise
        return rlib

    def _open(self, item, name, is_main) -> Library:
        """A Library (not yet placed) from bytes, a path or a Module."""
        path = None
        if isinstance(item, Module):
            module = item
            if item.engine is not self.store.engine:
                module = Module(self.store.engine, item._module.raw, name=item.name)
        elif isinstance(item, bytes | bytearray | memoryview):
            module = Module(self.store.engine, bytes(item))
        else:
            path = os.fspath(item)
            with open(path, "rb") as f:
                module = Module(self.store.engine, f.read(), name=os.path.basename(path))
        if name is None:
            if path is not None:
                name = os.path.basename(path)
            elif module.name:
                name = module.name
            else:
                self._anonymous += 1
                name = f"<module {self._anonymous}>"
        info = dylink_info(module._module.customs)
        if info is None:
            what = "main program" if is_main else "library"
            raise DylinkError(f"{name}: not a dynamically linkable {what} (no dylink.0 "
                              "section; link with wasm-ld --experimental-pic -pie/-shared)")  # fmt: skip
        return Library(name, path, info, module, is_main=is_main)

    def _search_dirs(self, parent: Library) -> list[str]:
        origin = os.path.dirname(os.path.abspath(parent.path)) if parent.path else None
        dirs = list(self.lib_path)
        for p in parent.info.runtime_path:
            if origin is not None:
                p = p.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
            dirs.append(p)
        if origin is not None:
            dirs.append(origin)
        return dirs

    def _find(self, name: str, dirs: list[str]) -> str:
        if os.sep in name:
            if os.path.isfile(name):
                return name
            raise LinkError(f"library not found: {name}")
        for d in dirs:
            candidate = os.path.join(d, name)
            if os.path.isfile(candidate):
                return candidate
        raise LinkError(f"library {name!r} not found (searched: {', '.join(dirs or ['-'])})")

    def _instantiation_order(self, group: list[Library]) -> list[Library]:
        by_name = {lib.name: lib for lib in group}
        out: list[Library] = []
        done: set[str] = set()

        def visit(lib: Library) -> None:
            if lib.name in done:
                return
            done.add(lib.name)  # before the children: a cycle is cut here
            for n in lib.info.needed:
                dep = by_name.get(n)
                if dep is not None:
                    visit(dep)
            out.append(lib)

        for lib in reversed(group[1:]):
            visit(lib)
        visit(group[0])
        return out

    def _host_imports(self, extra) -> dict:
        if not extra:
            return self.imports
        merged = {m: dict(v) for m, v in self.imports.items()}
        for m, items in extra.items():
            merged.setdefault(m, {}).update(items)
        return merged

    # -- symbol resolution (static: nothing changes until every import resolves) -------------
    def _lookup(self, symbol: str, group: list[Library]) -> Library | None:
        lib = self._symbols.get(symbol)
        if lib is not None:
            return lib
        for g in group:
            if symbol in g.symbols:
                return g
        return None

    def _defining(self, symbol: str, library: Library | None) -> Library:
        if library is not None:
            if symbol in library.symbols:
                return library
        else:
            lib = self._symbols.get(symbol)
            if lib is not None:
                return lib
        raise UndefinedSymbol(symbol, library.name if library else "dlsym", "symbol")

    def _resolve(self, lib: Library, group: list[Library], hosts: dict) -> list:
        """One entry per import of ``lib``: how to satisfy it.

        Raises:
            UndefinedSymbol, LinkError, DylinkError: as :meth:`load` explains.
        """
        m = lib.module._module
        if m.memories:
            raise DylinkError(f"{lib.name}: defines its own memory, but the modules of a "
                              "dynamically linked program share env.memory (link a main with "
                              "wasm-ld --import-memory)")  # fmt: skip
        out = []
        for imp in m.imports:
            weak = lib.info.is_weak(imp.module, imp.name)
            where = f"{lib.name}: import {imp.module}.{imp.name}"
            if imp.module in ("GOT.mem", "GOT.func"):
                gt = imp.type
                if imp.kind != ExternKind.GLOBAL or gt.valtype is not ValType.I32:
                    raise DylinkError(f"{where}: a GOT entry must be an i32 global")
                out.append(self._resolve_got(lib, imp, group, hosts, weak))
            elif imp.module == "env" and imp.name in ("__memory_base", "__table_base",
                                                      "__heap_base"):  # fmt: skip
                if imp.kind != ExternKind.GLOBAL or imp.type != _I32:
                    raise LinkError(f"{where}: expected an immutable i32 global")
                out.append(("linker", imp.name))
            elif imp.module == "env" and imp.name == "__stack_pointer":
                if imp.kind != ExternKind.GLOBAL or imp.type != _I32_MUT:
                    raise LinkError(f"{where}: expected a mutable i32 global")
                out.append(("linker", imp.name))
            elif imp.module == "env" and imp.name in ("memory", "__indirect_function_table"):
                want = ExternKind.MEMORY if imp.name == "memory" else ExternKind.TABLE
                if imp.kind != want:
                    raise LinkError(f"{where}: expected a {want.name.lower()}")
                if want == ExternKind.TABLE and imp.type.elem is not ValType.FUNCREF:
                    raise LinkError(f"{where}: the shared table holds funcref")
                out.append(("linker", imp.name))
            elif imp.module == "env" and imp.kind == ExternKind.FUNC:
                want = m.types[imp.type]
                provider = self._lookup(imp.name, group)
                if provider is not None and provider.symbols[imp.name][0] == "func":
                    have = provider.module._module.func_types()[provider.symbols[imp.name][1]]
                    if have != want:
                        raise LinkError(f"{where}: incompatible import type: {lib.name} expects "
                                        f"{want}, {provider.name} exports {have}")  # fmt: skip
                    out.append(("func", provider, imp.name))
                elif provider is not None:
                    raise LinkError(f"{where}: {provider.name} defines {imp.name!r} as data, "
                                    "not a function")  # fmt: skip
                elif imp.name in hosts.get("env", {}):
                    out.append(("host", self._host_item(imp, hosts, lib)))
                elif weak:
                    out.append(("weak", imp.name))
                else:
                    raise UndefinedSymbol(imp.name, lib.name, "function")
            else:
                if imp.name not in hosts.get(imp.module, {}):
                    raise LinkError(f"{where}: unknown import (no module defines it and no host "
                                    "import was given)")  # fmt: skip
                out.append(("host", self._host_item(imp, hosts, lib)))
        return out

    def _resolve_got(self, lib, imp, group, hosts, weak):
        kind = "mem" if imp.module == "GOT.mem" else "func"
        provider = self._lookup(imp.name, group)
        if provider is not None:
            skind = provider.symbols[imp.name][0]
            if (kind == "func") != (skind == "func"):
                what = "a function" if skind == "func" else "data"
                raise LinkError(f"{lib.name}: {imp.module}.{imp.name}: {provider.name} defines "
                                f"{imp.name!r} as {what}")  # fmt: skip
            return ("got", kind, imp.name, provider)
        if kind == "mem" and imp.name == "__heap_base":
            return ("got", kind, imp.name, None)
        if kind == "func" and imp.name in hosts.get("env", {}):
            return ("got", kind, imp.name, self._host_func_for_address(imp.name, group, hosts))
        if weak:
            return ("got-weak", kind, imp.name)
        raise UndefinedSymbol(imp.name, lib.name, "data" if kind == "mem" else
                              "function address")  # fmt: skip

    def _host_func_for_address(self, symbol: str, group, hosts: dict) -> Func:
        """The Func of host function ``env.symbol`` whose address a module takes: given as a
        Func, or typed by a module of the group that imports it."""
        for lib in group:
            for imp in lib.module._module.imports:
                if imp.module == "env" and imp.name == symbol and imp.kind == ExternKind.FUNC:
                    return self._host_item(imp, hosts, lib)
        item = hosts["env"][symbol]
        if isinstance(item, Func):
            return item
        raise LinkError(f"the address of host function {symbol!r} is taken but its type is "
                        "unknown: give it as a wasm2py.Func")  # fmt: skip

    def _host_item(self, imp, hosts: dict, lib: Library):
        item = hosts[imp.module][imp.name]
        if imp.kind == ExternKind.FUNC and not isinstance(item, Func):
            if not callable(item):
                raise LinkError(f"{lib.name}: host import {imp.module}.{imp.name} is not "
                                "callable")  # fmt: skip
            ft = lib.module._module.types[imp.type]
            key = (imp.module, imp.name, ft)
            func = self._host_funcs.get(key)
            if func is None:
                func = self._host_funcs[key] = Func(self.store, ft, item)
            return func
        return item

    # -- memory and table ---------------------------------------------------------------------
    def _create_shared(self, group: list[Library]) -> None:
        """Create the memory, table and stack with the first group, laid out from GLOBAL_BASE:
        the modules' data, the stack, then the heap."""
        addr = GLOBAL_BASE
        for lib in group:
            addr = _align_up(addr, lib.info.memory_align)
            lib.memory_base = addr
            addr += lib.info.memory_size
        stack_top = _align_up(addr + self.stack_size, 4)
        self.heap_base = stack_top
        mins, maxes = [], []
        for lib in group:
            for imp in lib.module._module.imported(ExternKind.MEMORY):
                mins.append(imp.type.limits.min)
                if imp.type.limits.max is not None:
                    maxes.append(imp.type.limits.max)
        pages = max([-(-self.heap_base // PAGE_SIZE), *mins])
        limit = min(maxes) if maxes else MAX_PAGES
        if pages > limit:
            raise LinkError(f"the modules' data and stack need {pages} pages of memory; at "
                            f"most {limit} are possible")  # fmt: skip
        self.memory = Memory(self.store, MemoryType(Limits(pages, min(maxes) if maxes else None)))
        self.table = Table(self.store, TableType(ValType.FUNCREF, Limits(1, None)), None)
        self.stack_pointer = Global(self.store, _I32_MUT, stack_top)

    def _grow_table(self, n: int) -> int:
        if self.table is None:  # nothing loaded yet
            self._create_shared([])
        try:
            return self.table.grow(n, None)
        except ValueError:
            raise LinkError(f"the table cannot grow by {n} slots") from None

    def _alloc(self, size: int, align: int) -> int:
        start = _align_up(self._arena, align)
        if size == 0:
            return start
        if start + size > self._arena_end:
            pages = -(-(size + (1 << align)) // PAGE_SIZE)
            try:
                old = self.memory.grow(pages)
            except ValueError:
                raise LinkError(f"out of memory: cannot grow by {pages} pages for a "
                                "library's data") from None  # fmt: skip
            self._arena = old * PAGE_SIZE
            self._arena_end = self._arena + pages * PAGE_SIZE
            start = _align_up(self._arena, align)
        self._arena = start + size
        return start

    def _place(self, group: list[Library]) -> None:
        """Give every module of the group its memory and table areas."""
        if self.memory is None:
            self._create_shared(group)
        else:
            for lib in group:
                lib.memory_base = self._alloc(lib.info.memory_size, lib.info.memory_align)
        for lib in group:
            size = self.table.size
            base = _align_up(size, lib.info.table_align)
            self._grow_table(base - size + lib.info.table_size)
            lib.table_base = base
            want = max((imp.type.limits.min
                        for imp in lib.module._module.imported(ExternKind.TABLE)), default=0)
            if self.table.size < want:
                self._grow_table(want - self.table.size)

    def _register_slots(self, lib: Library) -> None:
        """Record the slots a module's own element segments filled (one slot per function)."""
        for index, k in lib.own_slots.items():
            func = lib.instance._state.funcs[index]
            self._slots.setdefault(id(func), (func, lib.table_base + k))

    def _slot_for(self, func: Func) -> int:
        known = self._slots.get(id(func))
        if known is not None:
            return known[1]
        slot = self._grow_table(1)
        self.set_slot(slot, func)
        return slot

    # -- GOT ----------------------------------------------------------------------------------
    def _got_value(self, entry) -> tuple[int, tuple | None]:
        """The value of a resolved GOT entry; for a function of a module not instantiated yet
        also ``(provider, name)`` (its slot is reserved now and filled on instantiation)."""
        _, kind, symbol, provider = entry
        if isinstance(provider, Func):  # a host function
            return self._slot_for(provider), None
        if provider is None:  # __heap_base, defined by the linker
            return self.heap_base, None
        skind, value = provider.symbols[symbol]
        if kind == "mem":
            return (value if skind == "abs" else provider.memory_base + value), None
        if provider.instance is not None:
            return self._slot_for(provider.instance.exports[symbol]), None
        own = provider.own_slots.get(value)
        if own is not None:
            return provider.table_base + own, None
        return -1, (provider, symbol)

    def _fill_got(self, plan) -> dict[int, tuple]:
        """Create or update the GOT entries the group uses. Returns the reserved slots:
        ``{slot: (provider, name)}`` to fill when ``provider`` is instantiated."""
        reserved: dict[tuple, int] = {}
        pending: dict[int, tuple] = {}
        for imports in plan:
            for entry in imports:
                if entry[0] != "got":
                    continue
                key = (entry[1], entry[2])
                value, later = self._got_value(entry)
                if later is not None:
                    slot = reserved.get(later)
                    if slot is None:
                        slot = reserved[later] = self._grow_table(1)
                        pending[slot] = later
                    value = slot
                g = self._got.get(key)
                if g is None:
                    self._got[key] = Global(self.store, _I32_MUT, value)
                else:
                    g.value = value
        return pending

    def _import_values(self, lib: Library, plan: list) -> tuple[list, list]:
        """The items to instantiate ``lib`` with, and ``(import index, stub)`` for the
        functions of modules not instantiated yet."""
        m = lib.module._module
        values = []
        lazy = []
        fidx = 0
        for imp, entry in zip(m.imports, plan):
            tag = entry[0]
            if tag == "linker":
                values.append(self._linker_item(lib, entry[1]))
            elif tag == "got":
                g = self._got[(entry[1], entry[2])]
                values.append(g if imp.type.mutable else Global(self.store, _I32, g.value))
            elif tag == "got-weak":
                values.append(Global(self.store, imp.type, 0))
            elif tag == "func":
                provider, symbol = entry[1], entry[2]
                if provider.instance is not None:
                    values.append(provider.instance.exports[symbol])
                else:
                    stub = _Stub(self.store, m.types[imp.type], symbol, lib.name, provider)
                    values.append(stub.func)
                    lazy.append((fidx, stub))
            elif tag == "weak":
                values.append(_Stub(self.store, m.types[imp.type], entry[1], lib.name,
                                    None).func)  # fmt: skip
            else:
                values.append(entry[1])
            if imp.kind == ExternKind.FUNC:
                fidx += 1
        return values, lazy

    def _linker_item(self, lib: Library, what: str):
        if what == "memory":
            return self.memory
        if what == "__indirect_function_table":
            return self.table
        if what == "__stack_pointer":
            return self.stack_pointer
        if what == "__memory_base":
            return Global(self.store, _I32, lib.memory_base)
        if what == "__table_base":
            return Global(self.store, _I32, lib.table_base)
        return Global(self.store, _I32, self.heap_base)

    def _commit(self, group: list[Library]) -> None:
        for lib in group:
            self.libraries.append(lib)
            self._by_name[lib.name] = lib
            if lib.is_main:
                self._main = lib
            if lib.global_scope:
                for symbol in lib.symbols:
                    self._symbols.setdefault(symbol, lib)

    def _forget(self, group: list[Library]) -> None:
        """Drop libraries (a group that failed to load, or :meth:`dlclose`): their names,
        symbols and function addresses go (their memory stays allocated)."""
        for lib in group:
            if lib.instance is not None:
                for func in lib.instance._state.funcs:
                    known = self._slots.get(id(func))
                    if known is not None and known[0] is func and \
                            self.table.get(known[1]) is not func:  # fmt: skip
                        del self._slots[id(func)]
            if self._by_name.get(lib.name) is lib:
                del self._by_name[lib.name]
                self.libraries.remove(lib)
            if self._main is lib:
                self._main = None
            for symbol, owner in list(self._symbols.items()):
                if owner is lib:
                    del self._symbols[symbol]


class _Stub:
    """Stands in for a function of a module not instantiated yet (or a weak undefined one):
    calls go to the target's current raw callable; once every module of the group is
    instantiated the importers are rebound to the target itself."""

    def __init__(self, store, ftype: FuncType, symbol: str, needer: str,
                 provider: Library | None):  # fmt: skip
        self.provider = provider
        self.symbol = symbol
        stub = self

        def raw(*args):
            target = stub.target_or_none()
            if target is None:
                raise HostError(UndefinedSymbol(symbol, needer, "function"))
            return target.pyraw(*args)

        self.func = Func._wasm(store, ftype, raw, None, symbol, None)

    def target_or_none(self) -> Func | None:
        p = self.provider
        if p is None or p.instance is None:
            return None
        return p.instance.exports[self.symbol]

    def target(self) -> Func:
        t = self.target_or_none()
        if t is None:  # the group instantiated every provider before this is asked
            raise LinkError(f"{self.symbol!r} has no definition")
        return t


__all__ = ["DynamicLinker", "GLOBAL_BASE", "Library", "STACK_SIZE"]
