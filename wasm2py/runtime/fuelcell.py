"""The store's fuel cell ``F = [cell, bank]`` (``Config.consume_fuel``).

The fuel left is ``F[0] + F[1]``. Generated Python-tier code reads and charges ``F[0]`` only,
and :func:`put` keeps it at most :data:`CELL_MAX` (the rest waits in ``F[1]``): CPython's
``int`` compares and subtractions take their fast path for such small ints (a segment's check
``fuel < K`` is then a single-digit compare). A check that finds the cell short draws on the
bank (:func:`wasm2py.runtime.ops.out_of_fuel`) before it stops the call.
"""

from __future__ import annotations

#: the most fuel ``F[0]`` holds (below 2**30: one CPython digit)
CELL_MAX = (1 << 30) - 1
#: what a Python-tier function's local ``fuel`` holds while it calls out (the callee, or a
#: host function, may fill the cell from the bank): more than the cell ever holds, so that
#: the function's exception handler (``if fuel < F[0]: F[0] = fuel``) leaves the cell alone
#: when an exception comes out of the call
FUEL_OUT = 1 << 62


def total(cell: list) -> int:
    """The fuel left in ``cell``."""
    return cell[0] + cell[1]


def put(cell: list, fuel: int) -> None:
    """Make ``fuel`` the fuel left in ``cell``: up to :data:`CELL_MAX` in ``cell[0]``, the
    rest banked."""
    if fuel > CELL_MAX:
        cell[0] = CELL_MAX
        cell[1] = fuel - CELL_MAX
    else:
        cell[0] = fuel
        cell[1] = 0
