"""The LLVM lowering's dispatch table (``wasm2py.llvm.lower._HANDLERS``) has an entry for every
non-SIMD instruction the decoder knows, except the GC ones (GC is not implemented: see the
README's "Wasm 3.0"); SIMD instructions go to ``wasm2py.llvm.simd`` outside the table."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "llvmlite",
    reason="llvmlite is not installed: the LLVM tier tests need it (pip install llvmlite; "
    "it belongs in the project's test extra)",
)

from wasm2py.binary.opcodes import PROPOSAL_OPS, SIMD_BASE, Op  # noqa: E402
from wasm2py.llvm import lower  # noqa: E402

#: GC instructions the decoder knows, by the decoder's table of proposals (the LLVM tier,
#: like the Python tier, has no GC)
GC = {op for op, proposal in PROPOSAL_OPS.items() if proposal == "gc"}


def test_every_scalar_instruction_has_a_handler():
    scalar = {int(op) for op in Op if op < SIMD_BASE} - GC
    assert scalar - set(lower._HANDLERS) == set()
    assert set(lower._HANDLERS) == scalar  # (no SIMD or GC entries: those go to op_other)


def test_handlers_are_lowerer_methods_keyed_by_int():
    for op, handler in lower._HANDLERS.items():
        assert type(op) is int  # (the decoder's opcodes are ints: the cheaper lookup)
        assert getattr(lower.FunctionLowerer, handler.__name__) is handler
