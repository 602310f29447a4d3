"""The Python tier's code of a validated module: functions translated one at a time, on demand.

Each wasm function becomes one Python function, named ``f<index>`` (plus the sanitised wasm
name, for readers), that reads a few module-level constants (``K<n>`` for floats that have no
literal, such as NaNs with payloads). Everything else the functions use — memory views, tables,
globals, other functions (through their slots), helpers — is looked up in the namespace the
runtime fills per instance (:mod:`wasm2py.runtime.instance`). One code object therefore serves
every instance: an instance only binds it to its namespace.

:class:`ModuleCode` is the runtime's :class:`~wasm2py.runtime.slots.CodeSource` for the Python
tier: it translates and compiles a function the first time some instance calls it (or takes it
from the disk cache, which keeps each function's code as it is made: see
:class:`wasm2py.cache.FunctionLog`). :func:`translate_module` translates every function into one
``ast.Module`` (ahead-of-time files, ``python -m wasm2py.translate``).
"""

from __future__ import annotations

import ast
import hashlib
import marshal
import re
import struct
import sys
import threading
from types import CodeType

from ..binary.module import ExternKind, Module
from ..binary.opcodes import Op
from ..errors import Error
from ..gcpause import gc_paused
from ..runtime import entry
from ..runtime.entry import inlinable
from ..runtime.instance import display_names
from ..runtime.values import f32_from_bits, f64_from_bits
from ..types import FuncType, ValType
from .codegen import translate_function
from .flat import MAX_NESTING, nesting_depth
from .nodes import EXPRESSIONS, FIELDS, LEAVES, LOCATED, fields, unlocated

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
                 hot: bool = False, shape: str = "auto", epoch: bool = False):  # fmt: skip
        self.module = module
        #: ``"flat"`` forces the flat shape on every function (see :mod:`.flat`)
        self.shape = shape
        self.count_instructions = count_instructions
        #: loops check ``RUN`` (epoch interruption, see wasm2py.runtime.epoch)
        self.epoch = epoch
        #: count calls and loop iterations towards tier-up (``Config(tier="auto")``)
        self.hot = hot
        #: translate without the optional rewrites (:mod:`.peephole`, the counted loops'
        #: stretches: see ``translate_function``): with tier-up, a function runs in the Python
        #: tier only until it is hot (a few thousand calls or loop iterations), then jitted,
        #: so what those rewrites save at run time is less than they cost (a fifth of the
        #: translation, which is a third of a real program's cold run; on lua's cold
        #: ``bench.lua`` the full translation took 0.2 CPU s more and its code ran no faster
        #: before it was jitted). Except what the ``brk`` branches cost, done while
        #: translating at no walk of the tree (``FuncGen.open_guard``, ``fold_end``,
        #: ``drop_unread``): there it costs less than the statements it saves cost to locate,
        #: compile and free
        self.quick = hot
        #: FuelCosts when fuel metering is on, else None
        self.fuel_costs = fuel_costs
        self.types = module.types
        self.func_types: list[FuncType] = module.func_types()
        self.global_types = module.global_types()
        self.table_types = module.table_types()
        self.memory_types = module.memory_types()
        #: the Python name of every function (imports included): ``f<index>_<wasm name>``
        names = display_names(module)
        self.func_names = [python_name(i, names.get(i)) for i in range(len(self.func_types))]
        self.consts: dict[bytes, str] = {}
        self.const_values: dict[str, float] = {}
        self._tag_types = module.tag_type_indices()

    def tag_params(self, tag: int) -> tuple:
        """The value types an exception of tag ``tag`` carries."""
        return self.types[self._tag_types[tag]].params

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


class ModuleCode:
    """The Python tier's code of one module under one configuration, translated function by
    function on first use (the runtime's :class:`~wasm2py.runtime.slots.CodeSource`).

    Args:
        module: the decoded module (validated, or with ``validator`` to check bodies first).
        config: the :class:`~wasm2py.Config` the code is generated for (variant, shape).
        log: a :class:`wasm2py.cache.FunctionLog` to read translations made by earlier runs
            from and append new ones to (None: no disk cache).
        validator: a :class:`~wasm2py.validate.validator.FunctionValidator` that checks each
            body before its translation (validation deferred to first use), or None.
    """

    eager = False

    def __init__(self, module: Module, config=None, log=None, validator=None):
        self.module = module
        self.config = config
        self.gen = module_gen(module, config)
        #: the slot name of every function
        self.func_names: list[str] = self.gen.func_names
        #: ``co_filename`` of the generated code
        self.filename = f"wasm://{hashlib.sha256(module.raw).hexdigest()[:16]}"
        self.log = log
        self.validator = validator
        #: function index -> (code object, constants) of the functions translated so far
        self.codes: dict[int, tuple[CodeType, dict]] = {}
        #: function index -> the code of its resume entry (see .resume), made when a frame of
        #: the function first pauses
        self.resumes: dict[int, CodeType] = {}
        #: function index -> the code of its inlined entry from Python or None (see .entry)
        self.entries: dict[int, CodeType | None] = {}
        #: function index -> marshalled (code, constants, resume entry or None) from the disk
        #: cache
        self.stored: dict[int, bytes] = log.read() if log is not None else {}
        self._lock = threading.RLock()

    def function(self, index: int) -> tuple[CodeType, dict]:
        """The code of defined function ``index`` and the constants it reads (translated and
        compiled now unless done before, in this process or, with a disk cache, an earlier one).

        Raises:
            DecodeError, ValidationError: the body is malformed or invalid (validation
                deferred to first use only).
        """
        hit = self.codes.get(index)
        if hit is not None:
            return hit
        with self._lock:
            hit = self.codes.get(index)
            if hit is not None:
                return hit
            payload = self.stored.pop(index, None)
            if payload is not None:
                code, consts, resume = marshal.loads(payload)
            else:
                body = self.validator.check(index) if self.validator is not None else None
                code, consts, resume = compile_function(self.gen, index, self.filename,
                                                        body=body)  # fmt: skip
                if self.log is not None:
                    self.log.append(index, marshal.dumps((code, consts, resume)))
            if resume is not None:
                self.resumes[index] = resume
            self.codes[index] = hit = (code, consts)
        return hit

    def resume(self, index: int) -> CodeType:
        """The code of function ``index``'s resume entry (see :mod:`.resume`).

        It is made when a frame of the function first pauses, from a translation identical to
        the one the function runs (translation is deterministic), and kept with the function
        in the disk cache: made with every function, it cost each first translation ~30% more
        (``python tools/bench/translate_speed.py``) for what only pausing calls use. Ahead-of-time
        files carry every entry (they run without the translator)."""
        code = self.resumes.get(index)
        if code is not None:
            return code
        fcode, consts = self.function(index)
        with self._lock:
            code = self.resumes.get(index)
            if code is None:
                code = compile_function(self.gen, index, self.filename, resume=True)[2]
                self.resumes[index] = code
                if self.log is not None:
                    self.log.append(index, marshal.dumps((fcode, consts, code)))
        return code

    def entry(self, index: int) -> CodeType | None:
        """The code of function ``index``'s entry from Python with its body inlined (see
        :mod:`wasm2py.runtime.entry`), made when the embedder first calls it, or None where the
        entry should call the function (see :func:`entry_tree`)."""
        if index in self.entries:
            return self.entries[index]
        with self._lock:
            code = compile_entry(self.gen, index, self.filename)
        self.entries[index] = code
        return code

    def to_bytes(self) -> bytes:
        """The functions translated so far (in this process or found in the disk cache), as
        bytes for :meth:`add_translations` (the same Python version and wasm2py sources only:
        see :func:`wasm2py.cache.entry_key`)."""
        with self._lock:
            payloads = dict(self.stored)
            for index, (code, consts) in self.codes.items():
                payloads[index] = marshal.dumps((code, consts, self.resumes.get(index)))
        return marshal.dumps(payloads)

    def add_translations(self, data: bytes) -> None:
        """Use the translations in ``data`` (from :meth:`to_bytes`, of a trusted source: the
        code runs as is) for the functions not translated yet."""
        payloads = marshal.loads(data)
        with self._lock:
            for index, payload in payloads.items():
                if index not in self.codes:
                    self.stored[index] = payload

    def translate_all(self) -> None:
        """Translate every function now (``Config(compilation_mode="eager")``)."""
        nimp = self.module.num_imported_funcs
        progress = _progress(len(self.module.codes))
        for k in range(len(self.module.codes)):
            self.function(nimp + k)
            if progress is not None:
                progress.update(1)
        if progress is not None:
            progress.close()


def compile_function(gen: ModuleGen, index: int, filename: str, *, resume: bool = False,
                     body: list | None = None) -> tuple[CodeType, dict, CodeType | None]:  # fmt: skip
    """Translate defined function ``index`` of ``gen.module`` and compile it: its code object
    (``co_filename`` ``filename``, wasm offsets as line numbers), the constants it reads and,
    with ``resume``, the code of its resume entry (:mod:`.resume`, compiled from the same
    translation; else None). ``body``: the function's instructions if already decoded (else
    decoded here)."""
    from .resume import resume_entry

    module = gen.module
    code = module.codes[index - module.num_imported_funcs]
    if body is None:
        body = code.body
    with gc_paused():
        gen.consts = {}
        gen.const_values = {}
        fn = translate_function(gen, index, gen.func_types[index], code.locals, body,
                                gen.func_names[index])  # fmt: skip
        tree = ast.Module([fn], [])
        set_locations(tree)
        fcode = function_code(compile_tree(tree, filename))
        rcode = None
        if resume:
            entry = resume_entry(fn, fcode.co_varnames, index, gen.fuel_costs is not None)
            if entry is None:  # a frame paused where the translation has no pause point
                raise Error(f"function {index} has no pause point to resume at")
            rcode = function_code(compile_tree(ast.Module([entry], []), filename))
            del entry
        del fn, tree  # freed while the collector is paused: it would scan them all
    return fcode, dict(gen.const_values), rcode


#: the instructions that call a function
_TAIL_CALLS = frozenset({Op.RETURN_CALL, Op.RETURN_CALL_INDIRECT, Op.RETURN_CALL_REF})
_CALLS = frozenset({Op.CALL, Op.CALL_INDIRECT, Op.CALL_REF}) | _TAIL_CALLS
#: the depth test every translated function starts with
_DEPTH_TEST = "if d >= MAXD:\n    DEEP(d)"
#: functions of at most this many bytes of wasm code have their body inlined into their entry
#: from Python (see :meth:`ModuleCode.entry`)
INLINE_ENTRY_BYTES = 400


def entry_tree(gen: ModuleGen, index: int) -> ast.FunctionDef | None:
    """Defined function ``index``'s entry from Python (named by
    :func:`~wasm2py.runtime.entry.entry_name`), with the function's translated body in place of
    :data:`wasm2py.runtime.entry.BODY`, each ``return`` converting its value for the embedder.
    None where the entry should call the function instead: a body of more than
    :data:`INLINE_ENTRY_BYTES` (a call costs little next to it), a signature
    :func:`~wasm2py.runtime.entry.inlinable` refuses, tail calls (the function runs under a
    trampoline), ``tier="auto"`` (the function is about to move to jitted code), or
    statements nested too deep with the entry's own. (CPython may still refuse the result:
    more than 20 nested loops and ``try`` blocks.)"""
    module = gen.module
    code = module.codes[index - module.num_imported_funcs]
    ftype = gen.func_types[index]
    if not inlinable(ftype) or gen.hot or code.end - code.start > INLINE_ENTRY_BYTES:
        return None
    body = code.body
    if any(ins.op in _TAIL_CALLS for ins in body):
        return None
    fn = translate_function(gen, index, ftype, code.locals, body, gen.func_names[index])
    leaf = not any(ins.op in _CALLS for ins in body)
    stmts = fn.body
    if stmts and ast.unparse(stmts[0]) == _DEPTH_TEST:
        stmts = stmts[1:]  # (the entry's fast test compares the depth with MAXD)
    reads_depth = any(isinstance(node, ast.Name) and node.id == "d"
                      for st in stmts for node in ast.walk(st))  # fmt: skip
    name = entry.entry_name(index)
    head = ast.parse(entry.source(ftype, name, entry.inline_prefix(index), True, leaf,
                                  reads_depth)).body[0]  # fmt: skip
    unlocated(head)  # the skeleton's lines are the function's first
    head.lineno = fn.lineno
    result = ftype.results[0] if ftype.results else None
    if result in entry.SIGNED_RESULT:
        stmts = _converted_returns(stmts, result)
    for node in ast.walk(head):
        if isinstance(node, ast.Try):
            node.body = stmts
            break
    if metered(fn):  # (the declaration first: the entry's own statements come before the body)
        node.body = [st for st in stmts if not isinstance(st, ast.Nonlocal)]
        head.body.insert(0, ast.Nonlocal(["fuel"]))
    if nesting_depth(head) > MAX_NESTING:
        return None
    return head


def compile_entry(gen: ModuleGen, index: int, filename: str) -> CodeType | None:
    """The code of :func:`entry_tree` (or None)."""
    with gc_paused():
        gen.consts = {}
        gen.const_values = {}
        head = entry_tree(gen, index)
        if head is None:
            return None
        tree = ast.Module([head], [])
        set_locations(tree)
        try:
            module_code = compile_tree(tree, filename)
        except Error:  # (more than CPython's 20 nested blocks with the entry's try)
            return None
        finally:
            del head, tree
    return function_code(module_code)


def _compiles(fn: ast.FunctionDef) -> bool:
    """Whether CPython compiles ``fn`` (alone)."""
    tree = ast.Module([fn], [])
    set_locations(tree)
    try:
        compile_tree(tree, "<entry>")
    except Error:
        return False
    return True


def _statements(stmts: list[ast.stmt]):
    """Every statement in ``stmts``, nested ones included (generated code defines no inner
    functions, so every ``return`` is the function's)."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            todo.extend(getattr(node, field, ()))


def _converted_returns(stmts: list[ast.stmt], t: ValType) -> list[ast.stmt]:
    """``stmts`` (and the statements nested in them, changed in place) with each ``return``
    converting its i32/i64 value of type ``t`` for the embedder (see
    :func:`~wasm2py.runtime.entry.signed_result`). A local returned right after its wrap
    (``if l > MASK: l -= 2**N``, the canonical form of a sum: see
    ``FuncGen.assign_value``) is returned unwrapped: the conversion wraps it where needed."""
    mask = 0xFFFFFFFF if t is ValType.I32 else 0xFFFFFFFFFFFFFFFF
    out: list[ast.stmt] = []
    for node in stmts:
        for field in ("body", "orelse", "finalbody"):
            if getattr(node, field, None):
                setattr(node, field, _converted_returns(getattr(node, field), t))
        for handler in getattr(node, "handlers", ()):
            handler.body = _converted_returns(handler.body, t)
        for case in getattr(node, "cases", ()):
            case.body = _converted_returns(case.body, t)
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            local = value.id if isinstance(value, ast.Name) else None
            wrapped = local is not None and out and _is_wrap(out[-1], local, mask)
            if wrapped:
                out.pop()
            node.value = _converted(entry.signed_result(t, local, bool(wrapped)), value)
        out.append(node)
    return out


def _is_wrap(st: ast.stmt, local: str, mask: int) -> bool:
    """Whether ``st`` is ``if <local> > <mask>: <local> -= <mask + 1>``."""
    if not isinstance(st, ast.If) or st.orelse or len(st.body) != 1:
        return False
    test, fix = st.test, st.body[0]
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == local and len(test.ops) == 1 and isinstance(test.ops[0], ast.Gt)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == mask and isinstance(fix, ast.AugAssign)
            and isinstance(fix.op, ast.Sub) and isinstance(fix.target, ast.Name)
            and fix.target.id == local and isinstance(fix.value, ast.Constant)
            and fix.value.value == mask + 1)  # fmt: skip


def _converted(template: str, value: ast.expr) -> ast.expr:
    """``template`` (an expression of ``X``, or of a local, see
    :func:`~wasm2py.runtime.entry.signed_result`) with ``value`` for ``X``."""
    expr = ast.parse(template, mode="eval").body
    unlocated(expr)
    for node in ast.walk(expr):
        if isinstance(node, ast.NamedExpr) and isinstance(node.value, ast.Name) \
                and node.value.id == "X":  # fmt: skip
            node.value = value
    return expr


#: CPython's compiler recurses about this many times per nested statement (with room for the
#: expressions in it)
_COMPILER_FRAMES_PER_LEVEL = 8


#: the function that metered code is compiled in (see :func:`fuel_scope`)
FUEL_SCOPE = "fuel_scope"


def fuel_scope(stmts: list[ast.stmt]) -> ast.FunctionDef:
    """``def fuel_scope(): fuel = 0`` followed by ``stmts``: the functions among them that
    declare ``nonlocal fuel`` (metered code, see :mod:`wasm2py.runtime.fuelcell`) compile with
    ``fuel`` as their only free variable, which the runtime binds to the store's cell. (The
    functions' names are global in the scope: calls between them, and a run of the scope,
    use the module's globals as elsewhere.)"""
    init = ast.Assign([ast.Name("fuel", ast.Store())], ast.Constant(0))
    names = [st.name for st in stmts if isinstance(st, ast.FunctionDef)]
    head: list[ast.stmt] = [ast.Global(names)] if names else []
    line = getattr(stmts[0], "lineno", 1) if stmts else 1
    fn = ast.FunctionDef(FUEL_SCOPE, ast.arguments([], [], None, [], [], None, []),
                         [*head, init, *stmts], [], None, type_params=[])  # fmt: skip
    for node in (fn, *head, init, *ast.walk(init)):
        node.lineno, node.col_offset = line, 0
        node.end_lineno, node.end_col_offset = line, 0
    return fn


def metered(fn: ast.stmt) -> bool:
    """Whether ``fn`` is a function of metered code (it declares ``nonlocal fuel``)."""
    return isinstance(fn, ast.FunctionDef) and any(
        isinstance(st, ast.Nonlocal) and "fuel" in st.names for st in fn.body[:8])


def function_code(module_code: CodeType) -> CodeType:
    """The code of the (first) function that :func:`compile_tree` compiled."""
    code = next(c for c in module_code.co_consts if isinstance(c, CodeType))
    if code.co_name == FUEL_SCOPE:
        code = next(c for c in code.co_consts if isinstance(c, CodeType))
    return code


def compile_tree(tree: ast.Module, filename: str) -> CodeType:
    """``compile`` generated code (its functions of metered code in a :func:`fuel_scope`).
    Its statements nest at most :data:`.flat.MAX_NESTING` deep, which the compiler accepts
    however deep the Python stack already is (a function can be first called deep in a
    recursion): the recursion limit is raised for the duration.

    Raises:
        Error: the compiler refused the code anyway (a bug of the translator).
    """
    from .flat import MAX_NESTING

    if any(metered(st) for st in tree.body):
        tree = ast.Module([fuel_scope(tree.body)], [])

    limit = sys.getrecursionlimit()
    need = _depth() + MAX_NESTING * _COMPILER_FRAMES_PER_LEVEL
    if need > limit:
        sys.setrecursionlimit(need)
    try:
        return compile(tree, filename, "exec", dont_inherit=True, optimize=2)
    except (RecursionError, MemoryError, SyntaxError) as e:  # pragma: no cover - a bug
        raise Error(f"the generated Python code could not be compiled: {e}") from e
    finally:
        if need > limit:
            sys.setrecursionlimit(limit)


def _depth() -> int:
    """How many Python frames are on the stack."""
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


def translate_module(module: Module, config=None, resume_entries: bool = False,
                     entries: bool = False) -> tuple[ast.Module, list[str]]:  # fmt: skip
    """Build the ``ast.Module`` for ``module``. Returns it and the defined functions' names.

    ``config`` (a :class:`~wasm2py.Config`) selects the variant: with ``count_instructions``
    every straight-line segment adds its number of wasm instructions to ``IC[0]``; with
    ``consume_fuel`` it is charged against ``fuel`` before it runs (the store's fuel cell, which
    the runtime binds each function to: such a tree compiles in a :func:`fuel_scope`).
    ``resume_entries``: each function that can pause is followed by its resume entry
    (:mod:`.resume`; ahead-of-time files). ``entries``: each exported function
    whose body :func:`entry_tree` inlines is followed by that entry from Python."""
    from .resume import local_names, resume_entry

    gen = module_gen(module, config)
    nimp = module.num_imported_funcs
    exported = {e.index for e in module.exports if e.kind == ExternKind.FUNC} if entries else set()
    body: list[ast.stmt] = []
    names = list(gen.func_names)
    progress = _progress(len(module.codes))
    for k, code in enumerate(module.codes):
        if progress is not None:
            progress.update(1)
        index = nimp + k
        pyname = names[index]
        body.append(translate_function(gen, index, gen.func_types[index], code.locals,
                                       code.body, pyname))  # fmt: skip
        if resume_entries:
            # (from a second translation: the entry is made of its function's nodes)
            fn = translate_function(gen, index, gen.func_types[index], code.locals, code.body,
                                    pyname)  # fmt: skip
            set_locations(fn)
            entry = resume_entry(fn, local_names(fn), index, gen.fuel_costs is not None)
            if entry is not None:
                body.append(entry)
        if index in exported:
            head = entry_tree(gen, index)
            if head is not None and _compiles(head):
                body.append(head)
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


def set_locations(tree: ast.AST) -> None:
    """Give every node a location: statements keep the wasm offset set as their ``lineno``,
    everything else inherits its statement's line, at column 0. An expression whose
    ``lineno`` is set keeps it (a trapping helper's call: its trap is reported at its own
    instruction), and its operands still inherit the statement's line (a wasm call folded
    into them keeps its own offset, which resuming relies on). (Hot for large modules: works
    on the nodes' ``__dict__`` directly, with the fields of each node class looked up once
    (:mod:`.nodes`), and locates names and constants without queueing them. The end
    positions are left unset: the compiler then takes the start's, which is what they would
    be set to, so the line table is the same.)"""
    AST = ast.AST
    cache = FIELDS
    located = LOCATED
    expressions = EXPRESSIONS
    leaves = LEAVES
    todo = [(tree, 1)]
    pop = todo.pop
    push = todo.append
    while todo:
        node, line = pop()
        cls = node.__class__
        d = node.__dict__
        if cls in located:
            own = d.get("lineno")
            if own and cls in expressions:
                d["lineno"] = own
            else:
                line = own or line
                d["lineno"] = line
            d["col_offset"] = 0
        for name in cache.get(cls) or fields(cls):
            value = d.get(name)
            if value.__class__ is list:
                for item in value:
                    if item.__class__ in leaves:
                        v = item.__dict__
                        v["lineno"] = v.get("lineno") or line
                        v["col_offset"] = 0
                    elif isinstance(item, AST):
                        push((item, line))
            elif value.__class__ in leaves:
                v = value.__dict__
                v["lineno"] = v.get("lineno") or line
                v["col_offset"] = 0
            elif isinstance(value, AST):
                push((value, line))


def module_gen(module: Module, config=None) -> ModuleGen:
    """The ModuleGen for a module and a configuration."""
    counting = bool(config is not None and config.count_instructions)
    fuel = config.fuel_costs if config is not None and config.consume_fuel else None
    shape = config.python_shape if config is not None else "auto"
    return ModuleGen(module, counting, fuel, config is not None and config.tier == "auto", shape,
                     config is not None and config.epoch_interruption)


