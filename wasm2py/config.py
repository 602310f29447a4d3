"""Engine configuration."""

from __future__ import annotations

from dataclasses import dataclass

TIERS = ("python",)


@dataclass(slots=True)
class Config:
    """Settings shared by everything created from one :class:`~wasm2py.Engine`.

    Attributes:
        tier: which back end compiles function bodies: ``"python"`` (generated Python code).
        max_call_depth: how many wasm calls may be nested before a call traps with
            ``CALL_STACK_EXHAUSTED`` (default 10,000). Host frames in between count too.
        count_instructions: translate with instruction counting: every executed wasm
            instruction adds 1 to ``Store.instructions`` (for benchmarks and profiling; a
            separate translation, slower than the plain one).
    """

    tier: str = "python"
    max_call_depth: int = 10_000
    count_instructions: bool = False

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"unknown tier {self.tier!r}; expected one of {', '.join(TIERS)}")
        if not isinstance(self.max_call_depth, int) or self.max_call_depth < 1:
            raise ValueError("max_call_depth must be a positive int")
