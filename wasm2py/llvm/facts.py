"""What compiling needs to know of a module's function bodies, found in one pass over them
(:func:`body_facts`, or :class:`FactsScan` fed by the validator of a cold load): sizes, which
functions run long, make tail calls or have loops, and which can pause (:func:`pausable_funcs`,
see :mod:`.suspend`).

Apart from the LLVM code (no ``llvmlite`` beyond the package's import check): a ``tier="auto"``
load scans every body here, and a run that never gets hot never loads LLVM (``llvmlite.binding``
and ``llvmlite.ir`` are ~25 ms to import; see :mod:`wasm2py.tierup`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..binary.module import ExternKind, Module
from ..binary.opcodes import Op
from ..binary.opcodes import OpCode as O
from ..types import ValType

_TAIL_CALLS = frozenset((Op.RETURN_CALL, Op.RETURN_CALL_INDIRECT, Op.RETURN_CALL_REF))


def has_tail_calls(module: Module, funcs=None) -> bool:
    """Whether any of ``funcs`` (defined function indices; default all) makes a tail call.
    Such code cannot get the quick pipeline: LLVM's fast instruction selector makes a
    ``tail call`` an ordinary call, so the native stack would grow with every tail call
    (the 3.0 spec's ``return_call*.wast`` run out of it)."""
    nimp = module.num_imported_funcs
    last = _LAST_FACTS[0]
    if funcs is not None and (last is None or last[0] is not module):
        # (a tier-up unit's few functions: not worth a pass over the whole module)
        codes = with_bodies(module).codes
        return any(ins.op in _TAIL_CALLS for i in funcs for ins in codes[i - nimp].body)
    tails = body_facts(module).tail_calls
    return any(tails) if funcs is None else any(tails[i - nimp] for i in funcs)


@dataclass(frozen=True)
class BodyFacts:
    """What compiling a module needs to know of every function body, found in one pass
    (:func:`body_facts`): decoding the bodies is most of the cost, and a cold compile asked
    for each fact with a pass of its own (four decodes of every body in the parent)."""

    #: per defined function: its instruction count (:func:`plan_parts`)
    sizes: tuple[int, ...]
    #: per defined function: it may run for long (:func:`runs_long`)
    long: bytes
    #: per defined function: it makes a tail call (:func:`has_tail_calls`)
    tail_calls: tuple[bool, ...]
    #: the functions with suspend code (without fuel metering: :func:`pausable_funcs`),
    #: told to the compile workers, which would decode every body again to find them
    pausable: frozenset[int]
    #: per defined function: it has a loop (in a tier-up unit, a Python frame of it can
    #: move into its jitted code at a loop header: see ``TierUp._movable``)
    loops: bytes = b""


#: (module, its BodyFacts) of the last call of body_facts
_LAST_FACTS: list = [None]


def body_facts(module: Module) -> BodyFacts:
    """The :class:`BodyFacts` of a decoded module (of the same module object as the last call,
    or as a :class:`FactsScan` that finished: remembered)."""
    last = _LAST_FACTS[0]
    if last is not None and last[0] is module:
        return last[1]
    scan = FactsScan(module)
    for code in with_bodies(module).codes:
        scan.add(code.triples)
    return scan.finish()


class FactsScan:
    """:func:`body_facts` fed one body at a time (:meth:`add`, in the order of the defined
    functions), by whoever decodes them all anyway: the validator of a cold load
    (``Engine.load`` for the LLVM tiers) hands each body here, which saves the facts a decode
    of every body of the module of their own (sqlite3: 0.31 CPU s, 0.06 as a scan of bodies
    in hand)."""

    def __init__(self, module: Module):
        self.module = module
        self.sizes: list[int] = []
        self.long: list[bool] = []
        self.tails: list[bool] = []
        self.loops: list[bool] = []
        self.calls = CallScan(module)

    def add(self, body) -> None:
        """Scan the body of the next defined function (its instructions, as ``(op, imm,
        offset)`` tuples or :class:`~wasm2py.binary.module.Instr`)."""
        ops = {op for op, _, _ in body}
        self.sizes.append(len(body))
        self.long.append(not ops.isdisjoint(_LONG))
        self.tails.append(not ops.isdisjoint(_TAIL_CALLS))
        self.loops.append(Op.LOOP in ops)
        self.calls.add(body, ops)

    def finish(self) -> BodyFacts:
        """The facts of every body (all added by now), remembered for :func:`body_facts` and
        :func:`pausable_funcs`."""
        pausable = self.calls.pausable()
        remember_pausable(self.module, pausable)
        facts = BodyFacts(tuple(self.sizes), bytes(self.long), tuple(self.tails), pausable,
                          bytes(self.loops))  # fmt: skip
        _LAST_FACTS[0] = (self.module, facts)
        return facts


_LONG = frozenset((Op.LOOP, Op.CALL, Op.CALL_INDIRECT))


def runs_long(body) -> bool:
    """Whether a function body may run for long (it has a loop or makes calls)."""
    return any(ins.op in _LONG for ins in body)


def with_bodies(module: Module) -> Module:
    """``module`` with its function bodies (a decoded module restored from the Python tier's
    disk cache has none: decode its bytes again; they were validated when first loaded).
    """
    if len(module.codes) != len(module.funcs) and module.raw:
        from ..binary.decoder import decode_module

        module = decode_module(module.raw)
    return module


_INDIRECT = frozenset({O.CALL_INDIRECT, O.RETURN_CALL_INDIRECT, O.CALL_REF,
                       O.RETURN_CALL_REF})  # fmt: skip
_DIRECT = frozenset({O.CALL, O.RETURN_CALL})
#: the instructions :class:`CallScan` looks at
_SCANNED = _INDIRECT | _DIRECT | {O.REF_FUNC}


def pausable_funcs(module, fuel: bool = False) -> frozenset[int]:
    """The defined functions that may reach a host call: directly, through other such
    functions, or through ``call_indirect``/``call_ref`` when a function reference may lead
    to one (:func:`_open_to_host_funcs`, or a referenced function that is itself pausable);
    with fuel metering, all of them. Only these get suspend code, which costs LLVM about as
    much again as the function itself."""
    nimp = module.num_imported_funcs
    if fuel:
        return frozenset(range(nimp, nimp + len(module.codes)))
    last = _LAST_PAUSABLE[0]
    if last is not None and last[0] is module:
        return last[1]
    if not nimp and not _open_to_host_funcs(module):
        # no host function to call, directly or through a reference: nothing pauses (and
        # no body needs a look: the scan below was ~0.02 CPU s per 100,000 instructions)
        return frozenset()
    scan = CallScan(module)
    for code in module.codes:
        scan.add(code.triples)
    found = scan.pausable()
    remember_pausable(module, found)
    return found


#: (module, its pausable functions) of the last call: a worker compiles unit after unit of the
#: same decoded module, and the scan decodes every body again (~0.1 CPU s per 100,000
#: instructions, per unit)
_LAST_PAUSABLE: list = [None]


def remember_pausable(module, found: frozenset[int]) -> None:
    """Make ``found`` what :func:`pausable_funcs` gives for ``module`` (without fuel): the
    pausable functions a :class:`CallScan` of its bodies found."""
    _LAST_PAUSABLE[0] = (module, found)


class CallScan:
    """:func:`pausable_funcs` fed one body at a time (:meth:`add`, in the order of the
    defined functions): whoever decodes every body anyway (the validator, see
    :class:`FactsScan`) finds them without another decode of the module."""

    def __init__(self, module):
        self.module = module
        self.nimp = module.num_imported_funcs
        self.index = self.nimp
        self.callers: dict[int, set[int]] = defaultdict(set)
        self.found: set[int] = set()
        self.indirect: set[int] = set()  # functions calling through a table or a reference
        self.refs = _referenced_funcs(module)

    def add(self, body, ops=None) -> None:
        """Scan the body of the next defined function (its instructions, as ``(op, imm,
        offset)`` tuples or :class:`~wasm2py.binary.module.Instr`; ``ops``: the set of its
        opcodes, if the caller has it: a body without calls or ``ref.func`` needs no walk,
        and a load of sqlite3 spent ~8% of its time in this loop)."""
        index = self.index
        self.index += 1
        if ops is not None and ops.isdisjoint(_SCANNED):
            return
        nimp = self.nimp
        callers = self.callers
        for op, imm, _ in body:
            if op not in _SCANNED:
                continue
            if op in _DIRECT:
                if imm < nimp:
                    self.found.add(index)
                else:
                    callers[imm].add(index)
            elif op in _INDIRECT:
                self.indirect.add(index)
            elif op == O.REF_FUNC:
                self.refs.add(imm)

    def pausable(self) -> frozenset[int]:
        """The pausable functions of the bodies scanned (all of the module's, by then)."""
        module, nimp = self.module, self.nimp
        found, indirect, refs = set(self.found), set(self.indirect), self.refs
        if _open_to_host_funcs(module) or any(i < nimp for i in refs):
            found |= indirect
            indirect = set()
        work = list(found)
        while work:
            f = work.pop()
            if indirect and f in refs:  # a pausable function may be called indirectly
                work.extend(indirect - found)
                found |= indirect
                indirect = set()
            for caller in self.callers.get(f, ()):
                if caller not in found:
                    found.add(caller)
                    work.append(caller)
        return frozenset(found)


def has_loops(body) -> bool:
    """Whether a function body has a loop (in a tier-up unit, its loop headers are resume
    points for on-stack replacement: see :meth:`.suspend.Suspender.loop_point`)."""
    return any(ins.op == O.LOOP for ins in body)


def _referenced_funcs(module) -> set[int]:
    """The functions named by ``ref.func`` in element segments and global initialisers (the
    ones a table or a reference can hold, with those named in function bodies)."""
    out = set()
    for expr in [g.init for g in module.globals] + [e for seg in module.elems for e in seg.items]:
        out.update(ins.imm for ins in expr if ins.op == O.REF_FUNC)
    return out


def _carries_funcs(t) -> bool:
    """Whether values of type ``t`` may be function references."""
    if isinstance(t, ValType):
        return t.is_ref and t is not ValType.EXTERNREF and t is not ValType.NULLEXTERNREF
    return True  # (a typed reference: conservatively)


def _open_to_host_funcs(module) -> bool:
    """Whether a function reference from outside the module (a host function's) can reach its
    ``call_indirect``/``call_ref``: through an imported or exported table, a reference-typed
    global the host sets, an exported function's reference parameter, an imported function's
    reference result, or an exception's reference payload."""
    types = module.types
    ftypes = module.func_types()
    for imp in module.imports:
        kind = imp.kind
        if kind == ExternKind.TABLE:
            return True
        if kind == ExternKind.GLOBAL and _carries_funcs(imp.type.valtype):
            return True
        if kind == ExternKind.FUNC and any(map(_carries_funcs, types[imp.type].results)):
            return True
    for exp in module.exports:
        kind = exp.kind
        if kind == ExternKind.TABLE:
            return True
        if kind == ExternKind.GLOBAL:
            gt = module.global_types()[exp.index]
            if gt.mutable and _carries_funcs(gt.valtype):
                return True
        if kind == ExternKind.FUNC and any(map(_carries_funcs, ftypes[exp.index].params)):
            return True
    return any(any(map(_carries_funcs, types[t].params)) for t in module.tag_type_indices())
