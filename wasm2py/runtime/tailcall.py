"""Tail calls (Wasm 3.0 ``return_call``, ``return_call_indirect``, ``return_call_ref``) in the
Python tier: a constant Python stack through trampolines.

A function whose body makes tail calls is compiled in a *tail variant*: a tail call does not
call, it returns ``TailCall((callee, args))``, and the variant is only ever called through
:func:`trampoline`, which calls the callee (at the same wasm depth) until a plain result comes
back. However long a chain of tail calls runs, it costs one Python frame. The namespace holds
both: ``f<i>`` is the trampoline (what every other call uses: direct calls, tables, the
embedder) and ``f<i>_t`` the callee a tail call names (the tail variant itself, so the chain
stays in one trampoline; for a function without tail calls, the function).

A pause (:mod:`.resumable`) inside a tail-called function records the trampoline as a
pass-through frame; resuming trampolines the resumed frame's result the same way.
"""

from __future__ import annotations


class TailCall(tuple):
    """``(callee, args)``: what a tail variant returns instead of calling ``callee``."""

    __slots__ = ()


def trampoline(tail_variant):
    """The callable that runs ``tail_variant`` (``f(*args, depth)``) to its final result."""

    def run(*a):
        r = tail_variant(*a)
        if r.__class__ is TailCall:
            d = a[-1]
            while r.__class__ is TailCall:
                callee, args = r
                r = callee(*args, d)
        return r

    run.tail_variant = tail_variant
    return run


def finish(r, depth: int):
    """Run a result that may be a pending tail call to completion (for resumed frames)."""
    while r.__class__ is TailCall:
        callee, args = r
        r = callee(*args, depth)
    return r


#: the code of trampoline frames (pauses pass through them)
TRAMPOLINE_CODE = trampoline(None).__code__
