"""Translate a whole validated module into one Python module body (an ``ast.Module``).

The generated module defines one function per wasm function, named ``f<index>`` (plus the
sanitised wasm name, for readers), and a few constants (``K<n>`` for floats that have no literal,
such as NaNs with payloads). Everything else the functions use — memory views, tables, globals,
other functions, helpers — is looked up in the module namespace, which the runtime fills per
instance (:mod:`wasm2py.runtime.instance`). One compiled code object therefore serves every
instance: instantiation only re-binds the function objects to a fresh namespace.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import hashlib
import marshal
import re
import struct
import sys
from dataclasses import dataclass, field

from ..binary.module import Module
from ..errors import UnsupportedFeature
from ..runtime.instance import display_name
from ..runtime.values import f32_from_bits, f64_from_bits
from ..types import FuncType
from .codegen import translate_function

_IDENT = re.compile(r"[^0-9A-Za-z_]")


def python_name(index: int, name: str | None) -> str:
    """The Python identifier of a function: ``f<index>`` plus a sanitised, bounded name suffix.

    Only ASCII letters, digits and underscores survive, so nothing from the binary can change
    the meaning of generated source.
    """
    if not name:
        return f"f{index}"
    clean = _IDENT.sub("_", name)[:40].strip("_")
    return f"f{index}_{clean}" if clean else f"f{index}"


class ModuleGen:
    """Module-level facts the function translator needs, plus the constant pool."""

    def __init__(self, module: Module, count_instructions: bool = False, fuel_costs=None,
                 hot: bool = False, epoch: bool = False):  # fmt: skip
        self.module = module
        self.count_instructions = count_instructions
        #: loops check ``RUN`` (epoch interruption, see wasm2py.runtime.epoch)
        self.epoch = epoch
        #: count calls and loop iterations towards tier-up (``Config(tier="auto")``)
        self.hot = hot
        #: FuelCosts when fuel metering is on, else None
        self.fuel_costs = fuel_costs
        self.types = module.types
        self.func_types: list[FuncType] = module.func_types()
        self.global_types = module.global_types()
        self.table_types = module.table_types()
        #: the Python name of every function (imports included): ``f<index>_<wasm name>``
        self.func_names = [python_name(i, display_name(module, i))
                           for i in range(len(self.func_types))]  # fmt: skip
        self.consts: dict[bytes, str] = {}
        self.const_values: dict[str, float] = {}

    def float_const(self, value: float) -> str:
        """A module-level name holding ``value`` bit-exactly. The name is derived from the bits,
        so separately generated code (resume variants) refers to the same constants."""
        key = struct.pack("<d", value)
        name = self.consts.get(key)
        if name is None:
            name = self.consts[key] = f"K{struct.unpack('<Q', key)[0]:016x}"
            self.const_values[name] = value
        return name

    @staticmethod
    def f32_value(bits: int) -> float:
        """The f32 constant with these bits."""
        return f32_from_bits(bits)

    @staticmethod
    def f64_value(bits: int) -> float:
        """The f64 constant with these bits."""
        return f64_from_bits(bits)


@dataclass(slots=True)
class CompiledModule:
    """The Python-tier translation of a module.

    Attributes:
        code: the compiled module body (defines the functions and constants).
        func_names: Python name of every function (imports first), in index order.
        filename: ``co_filename`` of the generated code (``wasm://<sha256 prefix>``).
    """

    code: object
    func_names: list[str]
    filename: str
    #: the Config the code was generated for (resume variants must match it)
    config: object = None
    #: (function index, line, kind) -> compiled resume variant (see wasm2py.translate.resume)
    resume_cache: dict = field(default_factory=dict)

    def define(self, ns: dict) -> None:
        """Define the module's functions and constants in an instance namespace."""
        exec(self.code, ns)  # noqa: S102 - our own generated code

    def to_bytes(self) -> bytes:
        """The translation as bytes, for :meth:`from_bytes` (the same Python version and
        wasm2py sources only: see :func:`wasm2py.cache.entry_key`)."""
        return marshal.dumps((marshal.dumps(self.code), tuple(self.func_names), self.filename))

    @classmethod
    def from_bytes(cls, data: bytes, config=None) -> CompiledModule:
        """A translation from :meth:`to_bytes` (of a trusted source: its code runs as is)."""
        code, names, filename = marshal.loads(data)
        return cls(marshal.loads(code), list(names), filename, config)

def translate_module(module: Module, config=None) -> tuple[ast.Module, list[str]]:
    """Build the ``ast.Module`` for ``module``. Returns it and the defined functions' names.

    ``config`` (a :class:`~wasm2py.Config`) selects the variant: with ``count_instructions``
    every straight-line segment adds its number of wasm instructions to ``IC[0]``; with
    ``consume_fuel`` it is charged against ``F[0]`` before it runs (cells the runtime binds to
    the store)."""
    gen = module_gen(module, config)
    nimp = module.num_imported_funcs
    body: list[ast.stmt] = []
    names = list(gen.func_names)
    progress = _progress(len(module.codes))
    for k, code in enumerate(module.codes):
        if progress is not None:
            progress.update(1)
        index = nimp + k
        pyname = names[index]
        fn = translate_function(gen, index, gen.func_types[index], code.locals, code.body, pyname)
        depth = nesting_depth(fn)
        if depth > MAX_NESTING:
            raise UnsupportedFeature(
                f"control flow nested {depth} levels deep; the Python tier supports "
                f"{MAX_NESTING}", index)
        body.append(fn)
    # Float constants without a literal form, defined up front.
    if progress is not None:
        progress.close()
    consts = [
        ast.Assign([ast.Name(n, ast.Store())],
                   ast.Call(ast.Name("f64_from_bits", ast.Load()),
                            [ast.Constant(struct.unpack("<Q", struct.pack("<d", v))[0])], []))
        for n, v in gen.const_values.items()
    ]  # fmt: skip
    for st in consts:
        st.lineno = 1
    tree = ast.Module(consts + body, [])
    set_locations(tree)
    return tree, names


#: show a progress bar when translating at least this many functions on a terminal
PROGRESS_MIN_FUNCTIONS = 200


def _progress(total: int):
    """A tqdm progress bar on stderr for large modules, when stderr is a terminal; else None."""
    if total < PROGRESS_MIN_FUNCTIONS or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety
        return None
    return tqdm(total=total, desc="wasm2py: translating", unit="fn", leave=False)


#: Python's compiler recurses on nested statements; deeper code is refused up front, with a clear
#: error, rather than risking a RecursionError (or worse) inside ``compile``.
MAX_NESTING = 1000


def nesting_depth(fn: ast.FunctionDef) -> int:
    """How deeply statements nest in ``fn`` (iteratively)."""
    deepest = 0
    todo = [(fn.body, 1)]
    while todo:
        stmts, depth = todo.pop()
        deepest = max(deepest, depth)
        for st in stmts:
            for attr in ("body", "orelse"):
                inner = getattr(st, attr, None)
                if inner:
                    todo.append((inner, depth + 1))
    return deepest


def set_locations(tree: ast.AST) -> None:
    """Give every node a location: statements keep the wasm offset set as their ``lineno``,
    everything else inherits its statement's line. (Hot for large modules: works on the nodes'
    ``__dict__`` directly, with the fields of each node class looked up once.)"""
    AST = ast.AST
    fields_of: dict[type, tuple[tuple[str, ...], bool]] = {}
    todo = [(tree, 1)]
    pop = todo.pop
    push = todo.append
    while todo:
        node, line = pop()
        cls = node.__class__
        info = fields_of.get(cls)
        if info is None:
            info = fields_of[cls] = (cls._fields, "lineno" in cls._attributes)
        fields, located = info
        d = node.__dict__
        if located:
            line = d.get("lineno") or line
            d["lineno"] = d["end_lineno"] = line
            d["col_offset"] = d["end_col_offset"] = 0
        for name in fields:
            value = d.get(name)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        push((item, line))
            elif isinstance(value, AST):
                push((value, line))


def module_gen(module: Module, config=None) -> ModuleGen:
    """The ModuleGen for a module and a configuration."""
    counting = bool(config is not None and config.count_instructions)
    fuel = config.fuel_costs if config is not None and config.consume_fuel else None
    return ModuleGen(module, counting, fuel, config is not None and config.tier == "auto",
                     config is not None and config.epoch_interruption)


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector: translation allocates millions of AST nodes (none of
    them garbage until the end), and collections over them would dominate the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compile_module(module: Module, config=None) -> CompiledModule:
    """Translate and compile ``module`` into a :class:`CompiledModule`."""
    digest = hashlib.sha256(module.raw).hexdigest()[:16]
    filename = f"wasm://{digest}"
    with gc_paused():
        tree, names = translate_module(module, config)
        try:
            code = compile(tree, filename, "exec", dont_inherit=True, optimize=2)
        except (RecursionError, MemoryError, SyntaxError) as e:
            raise UnsupportedFeature(f"the generated Python code could not be compiled: {e}") from e
        del tree
    return CompiledModule(code, names, filename, config)
