"""Engine configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

TIERS = ("python",)


@dataclass(frozen=True, slots=True)
class FuelCosts:
    """What executing code costs in fuel (as in wasmi: 1 per instruction by default).

    Attributes:
        instruction: cost of one wasm instruction (``end``/``else`` are free).
        per_opcode: cost overrides by opcode number (see :class:`wasm2py.binary.opcodes.Op`).
        bulk_per_64: extra cost per 64 bytes (memory) or 64 elements (tables) that a bulk
            instruction (``memory.fill/copy/init``, ``table.fill/copy/init``) processes.
    """

    instruction: int = 1
    per_opcode: tuple[tuple[int, int], ...] = ()
    bulk_per_64: int = 1

    def cost(self, op: int) -> int:
        """The cost of one instruction with opcode ``op``."""
        for o, c in self.per_opcode:
            if o == op:
                return c
        return self.instruction

    def key(self) -> bytes:
        """Identifies the costs in cache keys (they change the generated code)."""
        return repr((self.instruction, sorted(self.per_opcode), self.bulk_per_64)).encode()


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
        consume_fuel: meter execution: code is charged fuel per straight-line segment (before
            it runs) and a call stops with ``Trap(OUT_OF_FUEL)`` — or pauses, for
            :meth:`Func.call_resumable` — when the store's fuel does not cover the next
            segment. Set fuel with :meth:`Store.set_fuel`. Off: no fuel code is generated.
        fuel_costs: the :class:`FuelCosts` (default: 1 per instruction, 1 per 64 bulk items).
        cache: keep translations in the on-disk cache (:mod:`wasm2py.cache`) and reuse them.
    """

    tier: str = "python"
    max_call_depth: int = 10_000
    count_instructions: bool = False
    consume_fuel: bool = False
    fuel_costs: FuelCosts = field(default_factory=FuelCosts)
    cache: bool = True

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"unknown tier {self.tier!r}; expected one of {', '.join(TIERS)}")
        if not isinstance(self.max_call_depth, int) or self.max_call_depth < 1:
            raise ValueError("max_call_depth must be a positive int")
        if self.count_instructions and self.consume_fuel:
            raise ValueError("count_instructions and consume_fuel cannot be combined")

    def translation_key(self) -> bytes:
        """The options that change the generated code (part of every cache key)."""
        if self.consume_fuel:
            return b"fuel:" + self.fuel_costs.key()
        return b"count" if self.count_instructions else b"plain"
