"""Entries from Python: each exported function's own entry, generated for it.

The generic path, :meth:`Func._call <wasm2py.runtime.func.Func._call>`, takes ``*args``, runs a
converter per argument and per result and then calls the raw function: about six Python calls
around the one that matters. A wasm function's :class:`~wasm2py.runtime.func.Func` instead gets,
at its first call from Python, an *entry* of its own, a plain Python function generated for it:

* parameters by position; i32/i64 ints in the common range (``0 <= a < 2**30``, where CPython's
  compares are specialised) pass one inline test; other ints of the type's signed or unsigned
  range are converted inline, as are f64 floats, anything else goes through the generic
  converters (``TO_INTERNAL``), so other types and their errors are exactly those of the
  generic path; a wrong argument count, or a call at the call-depth bound, falls back to the
  generic path;
* then the *body*: for a small function of the Python tier, the function's own translated body,
  inlined (its ``return``\\ s convert the result inline), so the call costs one Python frame;
  otherwise a call of ``Func.raw`` and the result conversion;
* one ``try`` around the body turning what escapes into what the embedder sees
  (:func:`~.trap.to_embedder`), and on the way out the call-depth bookkeeping of an outermost
  entry (:func:`~.callstack.leave`).

**How a call reaches it.** ``Func`` derives from :class:`functools.partial`, whose call slot is
written in C: calling a ``Func`` calls the partial's *target* (``Func.func``) with the caller's
arguments and nothing added. A class with a ``__call__`` written in Python would cost CPython a
look-up of ``__call__`` and a call with ``self`` prepended on every call (``slot_tp_call``);
through the partial, the call goes straight to the entry, without building an argument tuple:
the subclass takes the partial's vectorcall (inherited on 3.12 and later, set on 3.11 by
``wasm2py.runtime.func._inherit_vectorcall``). So the entry takes
no ``self``: it reads its ``Func`` and store from its globals (:func:`own_names`). A wasm
function's target starts as its *first call* (:func:`first_call`), which makes the entry
(:func:`specialise`) once the function is translated; :meth:`Func.set_raw
<wasm2py.runtime.func.Func.set_raw>` puts the first call back.

The inlined body is valid while ``Func.raw`` is the Python-tier function it was made from: a
back end that moves the function (``tier="auto"``) sets ``raw`` with ``Func.set_raw``, so that
the function's next call makes its entry anew.

The source is made here for both kinds of body; the Python-tier translator splices a function's
statements in place of :data:`BODY` (the runtime never imports the translator: the code comes
from the module's :class:`~.slots.CodeSource`, ``entry(index)``). An inlined entry runs with the
instance namespace as globals, which get the names it reads beside those of the body (prefixed
``E``; globals, not closure variables: a function with a closure costs ~10 ns more per call).
"""

from __future__ import annotations

from sys import _getframe
from types import CodeType, MethodType

from ..types import FuncType, ValType
from .callstack import DEEP, entry, leave
from .fuelcell import bind
from .slots import STUB_CODE, TAIL_STUB_CODE
from .trap import to_embedder
from .values import TO_EXTERNAL, TO_INTERNAL

#: i32/i64 arguments at most this pass the inline test (larger ones, negative ones and other
#: kinds take the converters): CPython 3.11 specialises compares of ints below 2**30 only
_FAST_MAX = 0x3FFFFFFF
#: the width of i32/i64 values
_BITS = {ValType.I32: 32, ValType.I64: 64}
#: inline conversion of an i32/i64 result ``X`` to the signed value the embedder gets: below
#: 2**30 a specialised compare and ``+`` (an int, not the bool a comparison leaves), above it
#: compares with 2**(N-1) and a subtraction of 2**N, inline too (a call of a converter costs
#: more than the rest of the entry) (the translator gives a plain local its own template:
#: :func:`signed_result`)
SIGNED_RESULT: dict[object, str] = {
    t: f"(+E_r if (E_r := X) <= {_FAST_MAX:#x} else E_r if E_r < {1 << (bits - 1):#x} "
       f"else E_r - {1 << bits:#x})" for t, bits in _BITS.items()}  # fmt: skip
#: the ints an i32/i64 argument may be (signed or unsigned)
_ARG_RANGE: dict[object, tuple[int, int]] = {ValType.I32: (-0x80000000, 0xFFFFFFFF),
                                             ValType.I64: (-(1 << 63), (1 << 64) - 1)}
#: parameters beyond this many take the generic path
MAX_PARAMS = 8
#: the statement a translator replaces with the function's body
BODY = "E_BODY"

_MISSING = object()
#: the code of the *translate me* stubs (see .slots)
STUBS = (STUB_CODE, TAIL_STUB_CODE)


def signed_result(t: ValType, local: str | None = None, wrapped: bool = False) -> str | None:
    """The template (an expression of ``X``) converting an i32/i64 result of type ``t`` for
    the embedder (None for other types); ``local``: the result is that plain local, read
    twice instead of being saved (one store less); ``wrapped``: the local holds a sum of two
    canonical values (an int) not wrapped yet (below ``2 * 2**N``: the translator's
    ``if l > MASK: l -= 2**N`` is left out, and with it a compare CPython 3.11 cannot
    specialise), which a small sum needs no wrapping for."""
    if t not in _BITS or local is None:
        return SIGNED_RESULT.get(t)
    x = local
    bits = _BITS[t]
    half, full = 1 << (bits - 1), 1 << bits
    if not wrapped:
        return f"(+{x} if {x} <= {_FAST_MAX:#x} else {x} if {x} < {half:#x} else {x} - {full:#x})"
    # a sum is an int (no ``+``: never a bool) below 2 * 2**N: below 2**(N-1) it is its signed
    # value, below 3 * 2**(N-1) that minus 2**N (wrapped or not), above minus 2 * 2**N
    return (f"({x} if {x} <= {_FAST_MAX:#x} or {x} < {half:#x} else {x} - {full:#x} "
            f"if {x} < {3 * half:#x} else {x} - {2 * full:#x})")


def source(ftype: FuncType, name: str, prefix: str, inline: bool, leaf: bool = False,
           reads_depth: bool = True) -> str:  # fmt: skip
    """The source of an entry for a function of type ``ftype``, named ``name`` (a backtrace
    reads the function index from an inlined body's frame). It takes the call's arguments
    (no ``self``: see the module docstring) and runs with globals holding :func:`helpers` and,
    under names starting with ``prefix``, those of :func:`own_names`.
    ``inline``: the body is the statement :data:`BODY`, to be replaced by the function's
    statements (its parameters ``l<i>`` and call depth ``d`` are set), whose ``return``\\ s
    give the embedder's value (see :data:`SIGNED_RESULT`), and the fast test compares the
    depth with ``MAXD`` (so the body's own test, ``DEEP(d)`` at ``MAXD``, can be left out: at
    or above it the generic path runs); else a call of the ``Func``'s ``raw``. (The
    parameters' defaults are given when the code is bound: ``_MISSING``.) ``leaf``: the
    inlined body calls no function, so below ``MAXD`` it never makes room for deep calls (see
    :mod:`.callstack`) and needs no :func:`~.callstack.leave` on its way out.
    ``reads_depth``: the inlined body reads ``d`` (else the test does not keep it)."""
    params = list(ftype.params)
    names = [f"l{i}" for i in range(len(params))]
    ints = [n for n, t in zip(names, params, strict=True) if t in SIGNED_RESULT]
    func, store = f"{prefix}self", f"{prefix}store"
    # (positional-only: keywords are refused, as by the generic path)
    lines = [f"def {name}({''.join(n + '=None, ' for n in names)}{'/, ' if names else ''}*more):"]
    # One test for the common case (ints in the fast range, none missing, none extra): the
    # depth first (so that ``d`` is always set), the class tests before the compares
    # (comparing a str would raise), plain compares, which CPython specialises (a chained
    # ``0 <= a <= top`` costs more than two), extra arguments last. A missing i32/i64
    # argument fails its class test, so only another last parameter needs its own test for
    # ``E_missing``.
    depth = f"(d := {store}.depth)" if reads_depth else f"{store}.depth"
    deep = [f"{depth} >= MAXD"] if inline else []
    slow = list(deep)
    if names and params[-1] not in SIGNED_RESULT:
        slow.append(f"{names[-1]} is E_missing")
    if ints:  # one chain of ``is`` (each class is loaded once)
        slow.append(f"not {' is '.join(n + '.__class__' for n in ints)} is int")
    slow += [f"{n} < 0 or {n} > {_FAST_MAX:#x}" for n in ints]
    slow.append("more")  # (last: ~3 ns less than first on CPython 3.11, measured)
    generic = (f"return E_generic({func}, *[a for a in ({', '.join(names)}"
               f"{',' if names else ''}) if a is not E_missing], *more)")
    lines.append(f"    if {' or '.join(slow)}:")
    if ints:
        fallback = ["more", *([f"{'d' if reads_depth else depth} >= MAXD"] if inline else []),
                    f"{names[-1]} is E_missing"]  # fmt: skip
        lines.append(f"        if {' or '.join(fallback)}:")
        lines.append(f"            {generic}")
        # an int in the type's signed or unsigned range is converted inline (an unsigned one
        # is its own canonical value, a negative one gains 2**N: an addition, cheaper than a
        # mask of a negative int; two compares each); anything else goes through the generic
        # converter (other kinds, and errors, as in Func._call)
        for i, (n, t) in enumerate(zip(names, params)):
            if t in SIGNED_RESULT:
                low, top = _ARG_RANGE[t]
                lines.append(f"        if {n}.__class__ is not int:")
                lines.append(f"            {n} = {prefix}conv{i}({n})")
                lines.append(f"        elif {n} < 0:")
                lines.append(f"            {n} = {n} + {top + 1:#x} if {n} >= {low:#x} "
                             f"else {prefix}conv{i}({n})")  # fmt: skip
                lines.append(f"        elif {n} > {top:#x}:")
                lines.append(f"            {n} = {prefix}conv{i}({n})  # (out of range: raises)")
    else:
        lines.append(f"        {generic}")
    for i, (n, t) in enumerate(zip(names, params)):
        if t is ValType.F64:  # a float is its own value (the converter's first test, inline)
            lines.append(f"    if {n}.__class__ is not float:")
            lines.append(f"        {n} = {prefix}conv{i}({n})")
        elif t not in SIGNED_RESULT and t is not ValType.EXTERNREF:
            lines.append(f"    {n} = {prefix}conv{i}({n})")
    if not inline:
        lines.append(f"    d = {store}.depth")
    lines.append("    try:")
    if inline:
        lines.append(f"        {BODY}")
    else:
        call = f"{func}.raw({''.join(n + ', ' for n in names)}d)"
        results = list(ftype.results)
        if not results:
            lines.append(f"        {call}")
            lines.append("        return None")
        elif len(results) == 1:
            lines.append(f"        return {SIGNED_RESULT.get(results[0], 'X').replace('X', call)}")
        else:
            lines.append(f"        return tuple([c(v) for c, v in zip({prefix}rconv, {call})])")
    lines.append("    except BaseException as e:")
    lines.append("        err = E_to_embedder(e)")
    lines.append("        if err is e:")
    lines.append("            raise")
    if not leaf:
        lines.append("    finally:")
        lines.append("        if E_deep:")
        lines.append("            E_leave(E_getframe())")
    lines.append("    raise err  # outside the except block: no chained internal exception")
    return "\n".join(lines) + "\n"


def entry_name(index: int) -> str:
    """The name of function ``index``'s inlined entry (in ahead-of-time files: the ``def``;
    backtraces read the index from it)."""
    return f"f{index}__entry"


def inline_prefix(index: int) -> str:
    """The prefix of the names of function ``index``'s inlined entry in its instance's
    namespace."""
    return f"E{index}_"


def helpers(generic) -> dict:
    """The names every entry reads (``generic``: ``Func._call``, the fall-back)."""
    return {"E_generic": generic, "E_missing": _MISSING, "E_to_embedder": to_embedder,
            "E_leave": leave, "E_deep": DEEP, "E_getframe": _getframe}




def own_names(func, prefix: str) -> dict:
    """The names an entry of ``func`` reads beside :func:`helpers`: the ``Func`` itself, its
    store, and the converters of its parameters and results."""
    ftype = func.type
    names: dict = {f"{prefix}self": func, f"{prefix}store": func.store,
                   f"{prefix}rconv": [TO_EXTERNAL[t] for t in ftype.results]}
    for i, t in enumerate(ftype.params):
        names[f"{prefix}conv{i}"] = TO_INTERNAL[t]
    return names


def inlinable(ftype: FuncType) -> bool:
    """Whether a function of this type can have its body inlined into its entry: at most
    :data:`MAX_PARAMS` parameters and one result."""
    return len(ftype.params) <= MAX_PARAMS and len(ftype.results) <= 1


#: ftype -> the code of its call entries
_CALL_CODES: dict[FuncType, CodeType] = {}


def _call_code(ftype: FuncType) -> CodeType:
    code = _CALL_CODES.get(ftype)
    if code is None:
        module = compile(source(ftype, "entry", "E_", False), f"<wasm2py entry {ftype}>",
                         "exec")  # fmt: skip
        code = _CALL_CODES[ftype] = next(c for c in module.co_consts if isinstance(c, CodeType))
    return code


def _code_of(func):
    """The code of ``func``'s inlined entry, or None: ``func.raw`` must be the
    Python-tier function of an instance (its globals hold the instance's slots) and the code
    source must have an inlined entry for it."""
    raw = func.raw
    ns = getattr(raw, "__globals__", None)
    slots = None if ns is None or func.index is None else ns.get("__wasm2py__")
    if slots is None or slots.python[func.index] is not raw:
        return None
    return slots.source.entry(func.index)


def specialise(func, generic):
    """The entry of ``func`` (a wasm function's ``Func``, whose ``raw`` is bound; ``generic``:
    ``Func._call``): a function of its own, or for signatures with more than
    :data:`MAX_PARAMS` parameters the generic path bound to ``func``."""
    ftype = func.type
    if len(ftype.params) > MAX_PARAMS:
        return MethodType(generic, func)
    code = _code_of(func)
    if code is not None:
        ns = func.raw.__globals__
        prefix = inline_prefix(func.index)
        for k, v in helpers(generic).items():
            ns.setdefault(k, v)
    else:
        code = _call_code(ftype)
        ns = helpers(generic)
        prefix = "E_"
    ns.update(own_names(func, prefix))
    call = bind(code, ns, None, (_MISSING,) * len(ftype.params))
    call.__doc__ = f"entry from Python of {func!r}"
    entry(call.__code__)  # an outermost wasm entry, as the generic one (see .callstack)
    return call


def first_call(func, generic, retarget):
    """What a wasm function's ``Func`` runs when called before it has its entry: while the
    function is not translated yet, the generic path (the call translates it); otherwise it
    gives the function its entry (:func:`specialise`, made ``func``'s target with
    ``retarget(func, entry)``) and runs that."""
    if getattr(func.raw, "__code__", None) in STUBS:
        return None
    call = specialise(func, generic)
    retarget(func, call)
    return call
