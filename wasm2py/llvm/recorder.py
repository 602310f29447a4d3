"""The trap trace's recording function: ``void record(ctx, rt, index << 32, offset)`` appends
a frame (the function's index, the i32 wasm offset) to the trap trace (``abi.RT_TRACE``).

Every LLVM module of optimised code has one (``lower.ModuleBuilder.recorder``); quick code
calls the process's, jitted once (:func:`.jit.recorder_address`), through
``rt[RT_RECORD]``. Its own module, not the lowering's: the parent process jits the process's
recorder before a store's first jitted code (``native.NativeRuntime.arm``), and importing the
lowering there cost ~0.025 CPU s (a compile worker lowers, the parent only loads objects).
"""

from __future__ import annotations

from llvmlite import ir

from . import abi
from .builder import Builder, Function

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_PTR = ir.PointerType()

#: the name of the recorder of an LLVM module of optimised code
NAME = "w2p_record_frame"
#: its type: ``void record(ctx, rt, index << 32, offset)``
TYPE = ir.FunctionType(ir.VoidType(), [_PTR, _PTR, _I64, _I32])


def body(fn: ir.Function) -> None:
    """The body of a trap-trace recorder ``fn`` (of type :data:`TYPE`)."""
    ctx, rt, frame, offset = fn.args
    b = Builder(fn.append_basic_block("entry"))

    def c64(v: int) -> ir.Constant:
        return ir.Constant(_I64, v)

    where = b.or_(frame, b.zext(offset, _I64))
    trace = b.load(b.gep(rt, [c64(abi.RT_TRACE)], source_etype=_I64), typ=_PTR)
    n = b.load(trace, typ=_I64)
    k = b.select(b.icmp_unsigned("<", n, c64(abi.TRACE_FRAMES)), n, c64(abi.TRACE_FRAMES))
    slot = b.add(c64(2), b.mul(k, c64(2)))
    b.store(b.ptrtoint(ctx, _I64), b.gep(trace, [slot], source_etype=_I64))
    b.store(where, b.gep(trace, [b.add(slot, c64(1))], source_etype=_I64))
    b.store(b.add(n, c64(1)), trace)
    b.ret_void()


def recorder_text() -> str:
    """The IR text of a module defining the recorder ``abi.RECORDER`` that the quick
    pipeline's code calls through ``rt[RT_RECORD]`` (jitted once per process:
    ``jit.recorder_address``)."""
    irmod = ir.Module(name="recorder")
    body(Function(irmod, TYPE, abi.RECORDER))
    return str(irmod)
