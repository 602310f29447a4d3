"""The store's fuel ``F = [cell, bank]`` (``Config.consume_fuel``).

The fuel left is the cell's contents plus the bank. ``cell`` is a closure cell
(:class:`types.CellType`) that every Python-tier function of the store has as its free
variable ``fuel`` (:func:`bind`): generated code checks and charges it in place
(``if fuel < K: ...``, ``fuel -= K``), so a call passes nothing and writes nothing back, and
the cell is exact wherever something may look at it (before calls, returns and whatever may
raise). :func:`put` keeps the cell at most :data:`CELL_MAX` (the rest waits in the bank):
CPython's ``int`` compares and subtractions take their fast path for such small ints (a
segment's check ``fuel < K`` is then a single-digit compare). A check that finds the cell short
draws on the bank (:func:`wasm2py.runtime.ops.out_of_fuel`) before it stops the call.
"""

from __future__ import annotations

from types import CellType, CodeType, FunctionType

#: the most fuel the cell holds (below 2**30: one CPython digit)
CELL_MAX = (1 << 30) - 1


def new() -> list:
    """An empty store's fuel: ``[cell, bank]``, both 0."""
    return [CellType(0), 0]


def total(fuel: list) -> int:
    """The fuel left in ``fuel`` (a store's ``[cell, bank]``)."""
    return fuel[0].cell_contents + fuel[1]


def cell(fuel: list) -> int:
    """What the cell of ``fuel`` holds (the part generated code charges)."""
    return fuel[0].cell_contents


def put(fuel: list, left: int) -> None:
    """Make ``left`` the fuel left in ``fuel``: up to :data:`CELL_MAX` in the cell, the rest
    banked."""
    if left > CELL_MAX:
        fuel[0].cell_contents = CELL_MAX
        fuel[1] = left - CELL_MAX
    else:
        fuel[0].cell_contents = left
        fuel[1] = 0


def bind(code: CodeType, ns: dict, name: str | None = None,
         defaults: tuple | None = None) -> FunctionType:  # fmt: skip
    """A function of generated ``code`` in namespace ``ns``; metered code (whose free variable
    is ``fuel``) gets the cell of the store's fuel ``ns["F"]``."""
    closure = (ns["F"][0],) if code.co_freevars == ("fuel",) else None
    return FunctionType(code, ns, name or code.co_name, defaults, closure)
