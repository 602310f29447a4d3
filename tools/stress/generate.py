"""Valid wasm modules with the shapes that break naive translators, and what they compute.

Each generator returns a :class:`Stress`: the module's bytes (encoded here, byte by byte, so the
generator needs nothing but Python) and calls with their expected results. The expected results
come from a small Python model of the same computation, written independently of wasm2py (a
loop nest is simulated with Python loops, a switch with a dict, and so on).

=====================  ======================================================================
``loops``              loops nested ``depth`` deep (default 30), every one of them a real loop
``blocks``             blocks nested ``depth`` deep (default 2,000), branched out of at every level
``sibling_blocks``     ``count`` (default 2,000) blocks in a row that all branch past each other
``ifs``                ``if``\\ s nested ``depth`` deep (default 50,000)
``br_table``           a ``br_table`` switch with ``cases`` cases (default 5,000)
``long``               one function of ``instructions`` instructions (default 100,000)
``functions``          a module of ``count`` functions (default 50,000), called through a table
=====================  ======================================================================

    python tools/stress/generate.py [-o DIR] [--scale S]   # write the modules, print sizes

``--scale`` shrinks (or grows) every size (e.g. 0.1 for quick runs).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project root holds wasm2py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wasm2py.binary.leb128 import sleb, uleb  # noqa: E402

M32 = 0xFFFFFFFF

# -- encoding ------------------------------------------------------------------------------------
I32 = 0x7F
EMPTY = 0x40
BLOCK, LOOP, IF, ELSE, END = 0x02, 0x03, 0x04, 0x05, 0x0B
BR, BR_IF, BR_TABLE, RETURN = 0x0C, 0x0D, 0x0E, 0x0F
CALL_INDIRECT = 0x11
LOCAL_GET, LOCAL_SET, LOCAL_TEE = 0x20, 0x21, 0x22
I32_CONST = 0x41
I32_EQ, I32_GT_U = 0x46, 0x4B
I32_ADD, I32_SUB, I32_MUL, I32_XOR = 0x6A, 0x6B, 0x6C, 0x73


def i32c(v: int) -> bytes:
    """``i32.const v`` (v taken modulo 2**32)."""
    v &= M32
    return bytes([I32_CONST]) + sleb(v - (1 << 32) if v >= 1 << 31 else v)


def op(code: int, *imms: int) -> bytes:
    """An instruction with u32 immediates."""
    return bytes([code]) + b"".join(uleb(i) for i in imms)


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def name(s: str) -> bytes:
    b = s.encode()
    return uleb(len(b)) + b


@dataclass
class Func:
    """A function: its type (params, results; all i32), i32 locals beyond the params, body
    (instructions without the final ``end``) and export name."""

    params: int
    results: int
    locals: int
    body: bytes
    export: str | None = None


def encode(funcs: list[Func], table: bool = False) -> bytes:
    """A module of ``funcs`` (types deduplicated); with ``table``, a funcref table holding every
    function at its index."""
    types: list[tuple[int, int]] = []
    for f in funcs:
        if (f.params, f.results) not in types:
            types.append((f.params, f.results))
    type_sec = vec([b"\x60" + vec([bytes([I32])] * p) + vec([bytes([I32])] * r) for p, r in types])
    func_sec = vec([uleb(types.index((f.params, f.results))) for f in funcs])
    parts = [b"\0asm\1\0\0\0", section(1, type_sec), section(3, func_sec)]
    if table:
        n = uleb(len(funcs))
        parts.append(section(4, vec([b"\x70\x01" + n + n])))
    exports = [name(f.export) + b"\x00" + uleb(i) for i, f in enumerate(funcs) if f.export]
    parts.append(section(7, vec(exports)))
    if table:
        elem = b"\x00" + i32c(0) + bytes([END]) + vec([uleb(i) for i in range(len(funcs))])
        parts.append(section(9, vec([elem])))
    codes = []
    for f in funcs:
        locs = vec([uleb(f.locals) + bytes([I32])]) if f.locals else vec([])
        body = locs + f.body + bytes([END])
        codes.append(uleb(len(body)) + body)
    parts.append(section(10, vec(codes)))
    return b"".join(parts)


@dataclass
class Stress:
    """A stress module and what it must compute."""

    name: str
    wasm: bytes
    #: (export, args, expected result)
    calls: list[tuple[str, tuple, int]] = field(default_factory=list)
    #: what it stresses, for tables
    what: str = ""


# -- the modules ---------------------------------------------------------------------------------
def _mix(acc: int, k: int) -> bytes:
    """``acc = acc * 31 + k`` on local 1 (emitted) — the model is :func:`_mix_model`."""
    return (op(LOCAL_GET, 1) + i32c(31) + bytes([I32_MUL]) + i32c(k) + bytes([I32_ADD])
            + op(LOCAL_SET, 1))  # fmt: skip


def _mix_model(acc: int, k: int) -> int:
    return (acc * 31 + k) & M32


def loops(depth: int = 30, trips: tuple[int, ...] = (3, 2)) -> Stress:
    """``run(n)``: loops nested ``depth`` deep; loop k (outermost 0) runs ``trips[k]`` times
    (1 when the tuple is shorter), the innermost ``n`` times; every iteration of every loop mixes
    its level into the accumulator. Local 1: accumulator; local 2+k: loop k's counter."""
    counts = [trips[k] if k < len(trips) else 1 for k in range(depth)]
    code = bytearray()
    for k in range(depth):
        code += (op(LOCAL_GET, 0) if k == depth - 1 else i32c(counts[k])) + op(LOCAL_SET, 2 + k)
        code += op(LOOP, EMPTY)
        code += _mix(0, k)
    for k in reversed(range(depth)):
        # counter -= 1; continue while non-zero
        code += op(LOCAL_GET, 2 + k) + i32c(1) + bytes([I32_SUB]) + op(LOCAL_TEE, 2 + k)
        code += op(BR_IF, 0) + bytes([END])
        if k:
            code += _mix(0, 1000 + k)  # after the inner loop, inside the outer one
    code += op(LOCAL_GET, 1)
    run = Func(1, 1, 1 + depth, bytes(code), "run")

    def model(n: int) -> int:
        acc = 0

        def level(k: int) -> None:
            nonlocal acc
            c = n if k == depth - 1 else counts[k]
            while True:
                acc = _mix_model(acc, k)
                if k + 1 < depth:
                    level(k + 1)
                    acc = _mix_model(acc, 1000 + k + 1)
                c = (c - 1) & M32
                if not c:
                    break

        level(0)
        return acc

    calls = [("run", (n,), model(n)) for n in (1, 2, 5)]
    return Stress(f"loops{depth}", encode([run]), calls, f"{depth} nested loops")


def blocks(depth: int = 2000) -> Stress:
    """``run(x)``: blocks nested ``depth`` deep; the innermost code branches out to label
    ``x mod depth`` (``br_table``-free: a chain of ``br_if``\\ s for a few labels, else out of
    everything), and after the end of the block at each level the accumulator mixes the level.
    Local 1: accumulator."""
    targets = sorted({0, 1, depth // 3, depth // 2, depth - 1})
    code = bytearray()
    code += op(BLOCK, EMPTY) * depth
    for t in targets:
        code += op(LOCAL_GET, 0) + i32c(t) + bytes([I32_EQ]) + op(BR_IF, t)
    code += op(BR, depth - 1)  # anything else: leave the outermost block
    for level in reversed(range(depth)):  # block at nesting level ``level`` (0: outermost)
        code += bytes([END]) + _mix(0, level)
    code += op(LOCAL_GET, 1)
    run = Func(1, 1, 1, bytes(code), "run")

    def model(x: int) -> int:
        label = x if x in targets else depth - 1
        # label k leaves the k+1 innermost blocks: execution goes on after the end of the block
        # at level depth-1-k, and falls out through the ends of the blocks around it
        acc = 0
        for level in reversed(range(depth - label)):
            acc = _mix_model(acc, level)
        return acc

    calls = [("run", (x,), model(x)) for x in (*targets, depth + 7)]
    return Stress(f"blocks{depth}", encode([run]), calls, f"{depth} nested blocks")


def sibling_blocks(count: int = 2000) -> Stress:
    """``run(x)``: inside one outer block, ``count`` blocks in a row; block k contains a
    ``br_if`` out of the *outer* block when ``x == k``, then mixes k. After the outer block the
    accumulator mixes 7. (Each of these branches passes every later sibling: the structured
    shape guards each sibling with the previous ones' ``brk`` flags, nesting them all.)"""
    code = bytearray(op(BLOCK, EMPTY))
    for k in range(count):
        code += op(BLOCK, EMPTY)
        code += op(LOCAL_GET, 0) + i32c(k) + bytes([I32_EQ]) + op(BR_IF, 1)
        code += _mix(0, k) + bytes([END])
    code += bytes([END]) + _mix(0, 7) + op(LOCAL_GET, 1)
    run = Func(1, 1, 1, bytes(code), "run")

    def model(x: int) -> int:
        acc = 0
        for k in range(count):
            if x == k:
                break
            acc = _mix_model(acc, k)
        return _mix_model(acc, 7)

    calls = [("run", (x,), model(x)) for x in (0, count // 2, count - 1, count + 5)]
    return Stress(f"siblings{count}", encode([run]), calls, f"{count} sibling blocks")


def ifs(depth: int = 50_000) -> Stress:
    """``run(x)``: ``if``\\ s nested ``depth`` deep: level k runs when ``x > k`` (unsigned)
    and mixes k before its inner if and ``k + depth`` after it; every fifth level has an
    ``else`` arm that mixes ``-k``."""
    code = bytearray()
    for k in range(depth):
        code += op(LOCAL_GET, 0) + i32c(k) + bytes([I32_GT_U]) + op(IF, EMPTY) + _mix(0, k)
    for k in reversed(range(depth)):
        code += _mix(0, k + depth)
        if k % 5 == 0:
            code += bytes([ELSE]) + _mix(0, -k)
        code += bytes([END])
    code += op(LOCAL_GET, 1)
    run = Func(1, 1, 1, bytes(code), "run")

    def model(x: int) -> int:
        acc = 0
        entered = []
        for k in range(depth):
            if x > k:
                acc = _mix_model(acc, k)
                entered.append(k)
            else:
                if k % 5 == 0:
                    acc = _mix_model(acc, -k)
                break
        for k in reversed(entered):
            acc = _mix_model(acc, k + depth)
        return acc

    calls = [("run", (x,), model(x)) for x in (0, 3, 1234 % depth, depth - 2, depth + 3)]
    return Stress(f"ifs{depth}", encode([run]), calls, f"{depth} nested ifs")


def br_table(cases: int = 5000) -> Stress:
    """``run(x)``: a switch: ``cases`` + 1 nested blocks, a ``br_table`` in the innermost one
    (``x`` picks the case, beyond the table: the default, the outermost), and after the end of
    the block of case k the code of case k: ``return k * 7 + 1``."""
    code = bytearray(op(BLOCK, EMPTY) * (cases + 1))
    code += op(LOCAL_GET, 0) + op(BR_TABLE, cases, *range(cases)) + uleb(cases)
    for k in range(cases + 1):
        code += bytes([END]) + i32c(k * 7 + 1) + bytes([RETURN])
    code += i32c(0)
    run = Func(1, 1, 0, bytes(code), "run")
    calls = [("run", (x,), min(x, cases) * 7 + 1)
             for x in (0, 1, cases // 2, cases - 1, cases, cases + 100)]  # fmt: skip
    return Stress(f"br_table{cases}", encode([run]), calls, f"br_table with {cases} cases")


def long(instructions: int = 100_000) -> Stress:
    """``run(x)``: one straight-line function of about ``instructions`` instructions: steps
    ``acc = (acc * 31 + k) ^ x`` (eight instructions each)."""
    steps = max(1, instructions // 8)
    code = bytearray(op(LOCAL_GET, 0) + op(LOCAL_SET, 1))
    for k in range(steps):
        code += (op(LOCAL_GET, 1) + i32c(31) + bytes([I32_MUL]) + i32c(k) + bytes([I32_ADD])
                 + op(LOCAL_GET, 0) + bytes([I32_XOR]) + op(LOCAL_SET, 1))  # fmt: skip
    code += op(LOCAL_GET, 1)
    run = Func(1, 1, 1, bytes(code), "run")

    def model(x: int) -> int:
        acc = x
        for k in range(steps):
            acc = ((acc * 31 + k) & M32) ^ x
        return acc

    calls = [("run", (x,), model(x)) for x in (0, 1, 0xDEADBEEF)]
    return Stress(f"long{instructions}", encode([run]), calls,
                  f"one function of {steps * 8 + 4} instructions")  # fmt: skip


def functions(count: int = 50_000) -> Stress:
    """``count`` functions ``f_k(x) = x * 3 + k``, all in a table, and ``call(k, x)`` (the last
    function) calling ``f_k`` through it."""
    funcs = [Func(1, 1, 0, op(LOCAL_GET, 0) + i32c(3) + bytes([I32_MUL]) + i32c(k)
                  + bytes([I32_ADD]), f"f{k}" if k % 1000 == 0 else None)
             for k in range(count)]  # fmt: skip
    call = Func(2, 1, 0, op(LOCAL_GET, 1) + op(LOCAL_GET, 0) + op(CALL_INDIRECT, 0, 0), "call")
    funcs.append(call)
    ks = (0, 1, count // 2, count - 1)
    calls = [("call", (k, 11), 33 + k) for k in ks] + [("f0", (5,), 15)]
    return Stress(f"functions{count}", encode(funcs, table=True), calls, f"{count + 1} functions")


def all_modules(scale: float = 1.0) -> list[Stress]:
    """Every stress module, sizes multiplied by ``scale`` (loop nests stay 30 deep)."""

    def s(n: int) -> int:
        return max(2, int(n * scale))

    return [loops(30), blocks(s(2000)), sibling_blocks(s(2000)), ifs(s(50_000)),
            br_table(s(5000)), long(s(100_000)), functions(s(50_000))]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=Path(".cache/stress"))
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for st in all_modules(args.scale):
        path = args.out / f"{st.name}.wasm"
        path.write_bytes(st.wasm)
        print(f"{path}  {len(st.wasm) / 1024:8.1f} KiB  {st.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
