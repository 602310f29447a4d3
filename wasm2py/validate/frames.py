"""Frame sizes: what each wasm function's frame counts against the bound on the wasm stack.

Both tiers bound the wasm call stack by the number of frames (``Config.max_call_depth``) and by
their total size (``Config.max_wasm_stack``, as wasmtime's ``max_wasm_stack``), with one counter:
the call depth ``d`` that every call passes on is the sum of the *costs* of the frames below the
callee, in 8-byte words, and a call traps with ``CALL_STACK_EXHAUSTED`` when it reaches the
*budget* (:func:`wasm2py.runtime.callstack.stack_budget`). A function's cost is derived from
the function alone (:func:`frame_words`), so both tiers trap at exactly the same call:

* 8 bytes per parameter, per local and per slot of the highest operand stack the body reaches
  (16 for ``v128`` parameters and locals), plus 64 bytes;
* at least :data:`FRAME_MIN_WORDS` words (1 KiB): the budget is ``min(max_wasm_stack,
  max_call_depth * 1 KiB)``, so frames of up to 1 KiB are bounded by the count exactly, bigger
  ones by their size as well.

The operand height is measured over the reachable code (as the translators see it: code after
``br``, ``br_table``, ``return`` and ``unreachable`` is skipped to the matching ``else``/``end``),
at each instruction as validation types it. Code after the end of a construct that nothing
reaches (a loop that never falls off its end, a block whose body ends unreachably and that no
branch targets) counts too: the spec types it like any other code, although it never runs
(the LLVM lowering emits nothing for it; ``tests/test_stack_limits.py`` compares the two).
"""

from __future__ import annotations

from ..binary.module import Module
from ..binary.opcodes import Op
from ..runtime.callstack import FRAME_MIN_WORDS
from ..types import FuncType, ValType
from .sigs import BINARY, LOADS, STORES, UNARY
from .simd_types import SIMD_SIGS

#: a frame's fixed part (return address, saved registers, Python's frame header...), in words
FRAME_OVERHEAD_WORDS = 8

# (pops, pushes) of the instructions with a fixed effect that are not in the tables of .sigs
_FIXED: dict[int, tuple[int, int]] = {
    Op.NOP: (0, 0), Op.DROP: (1, 0), Op.SELECT: (3, 1), Op.SELECT_T: (3, 1),
    Op.LOCAL_GET: (0, 1), Op.LOCAL_SET: (1, 0), Op.LOCAL_TEE: (1, 1),
    Op.GLOBAL_GET: (0, 1), Op.GLOBAL_SET: (1, 0), Op.TABLE_GET: (1, 1), Op.TABLE_SET: (2, 0),
    Op.MEMORY_SIZE: (0, 1), Op.MEMORY_GROW: (1, 1),
    Op.I32_CONST: (0, 1), Op.I64_CONST: (0, 1), Op.F32_CONST: (0, 1), Op.F64_CONST: (0, 1),
    Op.REF_NULL: (0, 1), Op.REF_IS_NULL: (1, 1), Op.REF_FUNC: (0, 1),
    Op.MEMORY_INIT: (3, 0), Op.DATA_DROP: (0, 0), Op.MEMORY_COPY: (3, 0),
    Op.MEMORY_FILL: (3, 0), Op.TABLE_INIT: (3, 0), Op.ELEM_DROP: (0, 0),
    Op.TABLE_COPY: (3, 0), Op.TABLE_GROW: (2, 1), Op.TABLE_SIZE: (0, 1),
    Op.TABLE_FILL: (3, 0), Op.BR_IF: (1, 0),
    Op.REF_AS_NON_NULL: (1, 1), Op.BR_ON_NULL: (1, 1), Op.BR_ON_NON_NULL: (1, 0),
}  # fmt: skip
_EFFECT: dict[int, tuple[int, int]] = {int(op): e for op, e in _FIXED.items()}
_EFFECT.update({op: (2, 1) for op in BINARY})
_EFFECT.update({op: (1, 1) for op in UNARY})
_EFFECT.update({op: (1, 1) for op in LOADS})
_EFFECT.update({op: (2, 0) for op in STORES})
_EFFECT.update({op: (len(p), len(r)) for op, (p, r) in SIMD_SIGS.items()})

#: the height change of each instruction with a fixed effect
_DELTA: dict[int, int] = {op: pushes - pops for op, (pops, pushes) in _EFFECT.items()}

_BLOCK, _LOOP, _IF, _ELSE, _END = int(Op.BLOCK), int(Op.LOOP), int(Op.IF), int(Op.ELSE), int(Op.END)
_ENDS_CODE = frozenset({int(Op.BR), int(Op.BR_TABLE), int(Op.RETURN), int(Op.UNREACHABLE),
                        int(Op.RETURN_CALL), int(Op.RETURN_CALL_INDIRECT),
                        int(Op.RETURN_CALL_REF), int(Op.THROW), int(Op.THROW_REF)})  # fmt: skip
_CALL, _CALL_INDIRECT = int(Op.CALL), int(Op.CALL_INDIRECT)
_CALL_REF, _TRY_TABLE = int(Op.CALL_REF), int(Op.TRY_TABLE)


def frame_words(module: Module, ftype: FuncType, local_types, body: list,
                ftypes: list | None = None) -> int:  # fmt: skip
    """The cost of a frame of a function (its type, declared locals and body), in words
    (``ftypes``: see :func:`max_operand_height`)."""
    slots = sum(2 if t is ValType.V128 else 1 for t in (*ftype.params, *local_types))
    words = FRAME_OVERHEAD_WORDS + slots + max_operand_height(module, body, ftypes)
    return max(words, FRAME_MIN_WORDS)


def _block_arity(module: Module, bt) -> tuple[int, int]:
    if bt is None:
        return 0, 0
    if not isinstance(bt, int):  # a value type (a RefType included)
        return 0, 1
    t = module.types[bt]
    return len(t.params), len(t.results)


def max_operand_height(module: Module, body: list, ftypes: list | None = None) -> int:
    """The highest the operand stack gets in the reachable code of a (valid) body
    (``ftypes``: the module's ``func_types()`` if the caller has them; else they are made
    when the body has a call, a list of every function's type per body)."""
    types = module.types
    height = top = 0
    # per open construct: [height below its params, params, results, unreachable]
    frames: list[list] = [[0, 0, 0, False]]
    frame = frames[-1]
    skip = 0
    delta = _DELTA.get
    for ins in body:
        op = ins.op
        if frame[3]:
            if op == _BLOCK or op == _LOOP or op == _IF or op == _TRY_TABLE:
                skip += 1
                continue
            if skip:
                if op == _END:
                    skip -= 1
                continue
            if op != _END and op != _ELSE:
                continue
        d = delta(op)
        if d is not None:  # (most instructions: one lookup, and a compare if it pushes)
            height += d
            if d > 0 and height > top:
                top = height
            continue
        if op == _BLOCK or op == _LOOP or op == _IF or op == _TRY_TABLE:
            if op == _IF:
                height -= 1
            bt = ins.imm[0] if op == _TRY_TABLE else ins.imm
            params, results = _block_arity(module, bt)
            frame = [height - params, params, results, False]
            frames.append(frame)
        elif op == _ELSE:
            height = frame[0] + frame[1]
            frame[3] = False
        elif op == _END:
            frames.pop()
            height = frame[0] + frame[2]
            if not frames:
                break
            frame = frames[-1]
        elif op == _CALL:
            if ftypes is None:
                ftypes = module.func_types()
            t = ftypes[ins.imm]
            height += len(t.results) - len(t.params)
        elif op == _CALL_INDIRECT:
            t = types[ins.imm[0]]
            height += len(t.results) - len(t.params) - 1
        elif op == _CALL_REF:
            t = types[ins.imm]
            height += len(t.results) - len(t.params) - 1
        elif op in _ENDS_CODE:
            frame[3] = True
        if height > top:
            top = height
    return top
