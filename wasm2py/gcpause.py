"""Pausing Python's cyclic garbage collector around bulk work.

Decoding, validating, translating and lowering to LLVM IR each allocate a very large number of
small, long-lived objects (tuples per instruction, AST nodes, IR objects) of which none is
garbage until the work ends; every collection would walk them all again (decoding ran four to
five times slower, the LLVM lowering a third slower). Reference counting still frees what dies.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the ``with`` block (restored as it was, also on
    an exception; nested uses are fine)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
