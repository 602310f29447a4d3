"""Which declared locals a function writes before it can read them.

Wasm zeroes declared locals on entry; generated code does it with ``l2 = l3 = 0`` in the
prologue, which every call pays. A local needs no such line when its first appearance in the
body (in order) is a ``local.set``/``local.tee`` that every later instruction is reached
through: then no read can see the missing value.

An instruction is reached on every path to what follows it when it is not inside an ``if``
arm and no forward branch before it (to a ``block``, ``if`` or ``try_table``: a branch that can
skip code) targets a construct that is still open (its end, where the branch lands, is still to
come). Branches back to a ``loop``, ``return``, ``unreachable``, throws and tail calls skip
nothing that a later read could be reached by. A ``try_table`` counts as a branch to its own end
(its catch clauses continue there).
"""

from __future__ import annotations

from ..binary.opcodes import IMM, Imm, Op

# (plain ints: reading ``Op.X`` costs ~70 ns in CPython 3.11, where ``EnumType`` has a
# ``__getattr__``, and this runs once per instruction of every function translated)
_LOCAL_GET, _LOCAL_SET, _LOCAL_TEE = int(Op.LOCAL_GET), int(Op.LOCAL_SET), int(Op.LOCAL_TEE)
_BLOCK, _LOOP, _IF, _END = int(Op.BLOCK), int(Op.LOOP), int(Op.IF), int(Op.END)
_TRY_TABLE, _BR_TABLE = int(Op.TRY_TABLE), int(Op.BR_TABLE)

#: the instructions that branch to one label
_BRANCHES = frozenset(op for op, kind in IMM.items() if kind is Imm.LABEL)
#: the instructions :func:`written_first` looks at (the others are passed over with one set
#: lookup)
_RELEVANT = frozenset({_LOCAL_GET, _LOCAL_SET, _LOCAL_TEE, _BLOCK, _LOOP, _IF, _TRY_TABLE, _END,
                       _BR_TABLE} | {int(op) for op in _BRANCHES})  # fmt: skip


def written_first(body: list, nparams: int) -> set[int]:
    """Indices of the declared locals (``>= nparams``) of ``body`` that need no zeroing."""
    kinds: list[int] = []  # opcodes of the open constructs
    in_arm = 0  # open ``if`` arms enclosing the current instruction
    pending: set[int] = set()  # open constructs (by nesting level) a forward branch targets
    seen: set[int] = set()
    out: set[int] = set()

    def branch(depth: int) -> None:
        if depth < len(kinds) and kinds[-1 - depth] != _LOOP:
            pending.add(len(kinds) - 1 - depth)

    relevant = _RELEVANT
    for ins in body:
        op = ins.op
        if op not in relevant:
            continue
        if op == _LOCAL_GET or op == _LOCAL_SET or op == _LOCAL_TEE:
            i = ins.imm
            if i >= nparams and i not in seen:
                seen.add(i)
                if op != _LOCAL_GET and not pending and not in_arm:
                    out.add(i)
        elif op == _BLOCK or op == _LOOP:
            kinds.append(op)
        elif op == _IF:
            kinds.append(op)
            in_arm += 1
        elif op == _TRY_TABLE:
            kinds.append(op)
            pending.add(len(kinds) - 1)
        elif op == _END:
            if kinds:
                pending.discard(len(kinds) - 1)
                if kinds.pop() == _IF:
                    in_arm -= 1
        elif op in _BRANCHES:
            branch(ins.imm)
        elif op == _BR_TABLE:
            labels, default = ins.imm
            for depth in (*labels, default):
                branch(depth)
    return out
