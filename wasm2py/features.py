"""Which WebAssembly proposals beyond 2.0 the decoder and validator accept.

Every Wasm 3.0 proposal wasm2py implements has a switch (``Config(wasm_tail_call=...)`` and so
on, named as in wasmtime-py); all are on by default. A module that uses a switched-off proposal
is refused: as malformed (:class:`~wasm2py.DecodeError`) where its binary encoding would be
malformed in Wasm 2.0 (a new opcode, a non-zero memory index byte, a 64-bit limits flag), else
as invalid (:class:`~wasm2py.ValidationError`, e.g. a second memory or an extended constant
expression); the message names the proposal and its switch. With every switch off, modules are
checked exactly as Wasm 2.0 specifies (the 2.0 spec suite runs that way).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Features:
    """A set of enabled proposals (see the module docstring); each field is a proposal."""

    tail_call: bool = True
    memory64: bool = True
    multi_memory: bool = True
    exceptions: bool = True
    function_references: bool = True
    relaxed_simd: bool = True
    extended_const: bool = True
    #: the GC proposal's *types* (struct/array definitions, rec groups, declared supertypes,
    #: the any/eq/i31/struct/array/none heap types); its instructions are not implemented
    gc: bool = True

    @classmethod
    def wasm2(cls) -> Features:
        """Wasm 2.0 only: every switch off."""
        return cls(**{f.name: False for f in fields(cls)})

    def key(self) -> bytes:
        """Identifies the set in cache keys."""
        return bytes(int(getattr(self, f.name)) for f in fields(self))


#: every proposal on (the default)
ALL = Features()
#: the Config switch of each proposal (for messages)
SWITCH = {
    "tail_call": "wasm_tail_call", "memory64": "wasm_memory64",
    "multi_memory": "wasm_multi_memory", "exceptions": "wasm_exceptions",
    "function_references": "wasm_function_references", "relaxed_simd": "wasm_relaxed_simd",
    "extended_const": "wasm_extended_const", "gc": "wasm_gc",
}  # fmt: skip
#: a readable name of each proposal (for messages)
TITLE = {
    "tail_call": "tail calls", "memory64": "memory64", "multi_memory": "multiple memories",
    "exceptions": "exception handling", "function_references": "typed function references",
    "relaxed_simd": "relaxed SIMD", "extended_const": "extended constant expressions",
    "gc": "GC types",
}  # fmt: skip


def disabled(feature: str) -> str:
    """The message part saying a proposal is switched off."""
    return f"{TITLE[feature]} are disabled (Config({SWITCH[feature]}=True) enables them)" \
        if TITLE[feature].endswith("s") else \
        f"{TITLE[feature]} is disabled (Config({SWITCH[feature]}=True) enables it)"
