"""The bounds on the wasm call stack, and Python's recursion limit while calls nest deeply.

**The bound.** Every call passes on the call depth ``d``: the sum of the *costs* of the wasm
frames below the callee, in 8-byte words. A function's cost is derived from the function alone
(:func:`wasm2py.validate.frames.frame_words`: its parameters, locals and highest operand stack,
at least :data:`FRAME_MIN_WORDS`), the same in both tiers, and a call traps with
``CALL_STACK_EXHAUSTED`` when ``d`` reaches the store's budget (:func:`stack_budget`). So the
stack is bounded by size (``Config.max_wasm_stack``) as well as by count
(``Config.max_call_depth``, exact for frames of at most 1 KiB), both tiers trap at the same call,
and a call costs what it did: the caller adds a constant instead of 1.

**Python's recursion limit.** Each wasm call in the Python tier is one Python frame, so a legal
call depth can exceed Python's recursion limit. The limit is process-wide, and on CPython 3.11
it also bounds recursion through C code: raised for good, it lets any runaway recursion (in a
host function, or anywhere in the program) overflow the C stack and kill the process instead of
raising ``RecursionError``. So it is raised only while it is needed, lazily:

* Generated code compares the call depth with ``MAXD`` at every function entry. ``MAXD`` starts
  as a *shallow* bound (:func:`shallow_bound`: :data:`SHALLOW_FRAMES` frames, well within the
  default limit); a call that reaches it calls ``DEEP(d)`` (:func:`deeper`), which traps if the
  real limit is reached and otherwise raises Python's limit for the thread's outermost running
  wasm call (its *owner*: the outermost entry from Python, see :mod:`.entry`, or resumable
  call on the stack) and lifts the instance's ``MAXD`` to the real limit, so deeper calls pay
  nothing more.
* When the owner returns (or raises), it calls :func:`leave`: the limit and every lifted
  ``MAXD`` go back. Calls that stay shallow (almost all) never touch the limit; code outside
  wasm calls, and host functions called from shallow wasm code, run under the program's own
  limit.

Threads: the limit is raised while any thread has a deep call running (each thread's raise is
recorded; the last one to leave restores the program's limit).
"""

from __future__ import annotations

import sys
import threading
import weakref

from ..errors import Trap, TrapCode

#: the unit of frame costs and of the call depth, in bytes
WORD = 8
#: the least a frame costs, in words (1 KiB)
FRAME_MIN_WORDS = 128
#: the largest budget (the LLVM tier passes the depth left as a signed 32-bit int)
MAX_BUDGET = (1 << 31) - 1

#: wasm frames a call may nest under the program's own recursion limit (the default, 1000,
#: leaves room for the embedder's frames below and host functions above)
SHALLOW_FRAMES = 200
#: Python frames above the wasm frames that a raised limit leaves room for (host functions,
#: entries; the raise also allows three Python frames per wasm frame, for the stubs and
#: trampolines that may sit between them)
_SLACK = 2000

#: thread id -> its raise, while the thread runs a wasm call deeper than the shallow bound;
#: entries test this dict for emptiness on their way out (nothing to do in the common case)
DEEP: dict[int, _Raise] = {}
_lock = threading.Lock()
#: the program's recursion limit, saved while raised
_saved = 0


class _Raise:
    __slots__ = ("owner", "limit", "namespaces")

    def __init__(self, owner, limit: int):
        self.owner = owner  # the frame of the outermost entry, or None if there is none
        self.limit = limit
        self.namespaces: list[tuple[dict, int]] = []  # (namespace, its MAXD before)


def stack_budget(max_call_depth: int, max_wasm_stack: int) -> int:
    """The call depth (in words) at which a call traps: ``max_wasm_stack`` bytes, or
    ``max_call_depth`` frames of the least cost, whichever is less."""
    return min(max_wasm_stack // WORD, max_call_depth * FRAME_MIN_WORDS, MAX_BUDGET)


def shallow_bound(budget: int) -> int:
    """The ``MAXD`` an instance starts with: the budget, or the depth that :data:`SHALLOW_FRAMES`
    frames of the least cost reach (so fewer frames than that are below it)."""
    return min(budget, SHALLOW_FRAMES * FRAME_MIN_WORDS)


def deeper(store, ns: dict, d: int) -> None:
    """A call at depth ``d`` reached the instance's ``MAXD`` (generated code's ``DEEP(d)``).

    Raises:
        Trap: INTERRUPT if the store's epoch deadline has passed (``RUN`` is False:
            :mod:`.epoch` sets ``MAXD`` to -1 then, so every entry comes here);
            CALL_STACK_EXHAUSTED if ``d`` reached the budget.
    """
    if not ns.get("RUN", True):
        raise Trap(TrapCode.INTERRUPT)
    budget = store.max_depth
    if d >= budget:
        raise Trap(TrapCode.CALL_STACK_EXHAUSTED)
    ensure_deep(store, sys._getframe(1), ns)


def ensure_deep(store, frame, ns: dict | None = None) -> None:
    """Make room for as many wasm frames as ``store`` allows above ``frame`` on this thread,
    until the outermost entry below ``frame`` leaves; ``ns``: an instance namespace whose
    ``MAXD`` is lifted to the store's budget meanwhile."""
    global _saved
    tid = threading.get_ident()
    with _lock:
        rec = DEEP.get(tid)
        if rec is None:
            if not DEEP:
                _saved = sys.getrecursionlimit()
            # frames: at most max_call_depth (each costs at least FRAME_MIN_WORDS)
            frames = store.config.max_call_depth
            rec = DEEP[tid] = _Raise(_outermost_entry(frame), _saved + 3 * frames + _SLACK)
            _apply()
        if ns is not None:
            rec.namespaces.append((ns, ns["MAXD"]))
            ns["MAXD"] = store.max_depth


def leave(frame) -> None:
    """An entry's frame is leaving: if it owns its thread's raise, undo it."""
    tid = threading.get_ident()
    with _lock:
        rec = DEEP.get(tid)
        if rec is None or rec.owner is not frame:
            return
        del DEEP[tid]
        for ns, bound in reversed(rec.namespaces):
            if ns.get("RUN", True):  # an interrupted store keeps MAXD at -1 (see .epoch)
                ns["MAXD"] = bound
        _apply()


def _apply() -> None:
    """Set the limit for the recorded raises (the program's own if none is left)."""
    want = max((r.limit for r in DEEP.values()), default=_saved)
    try:
        sys.setrecursionlimit(want)
    except RecursionError:
        # Lowering below the current depth (another thread still deep in code that is not
        # wasm): leave it raised; a later leave() lowers it.
        pass


#: (weak: the entries inlining a module's functions go with the module)
_ENTRY_CODES: weakref.WeakSet = weakref.WeakSet()


def entry(code) -> None:
    """Frames running ``code`` enter wasm from Python (``Func._call``, the entries of
    :mod:`.entry`, resumable calls)."""
    _ENTRY_CODES.add(code)


def _outermost_entry(frame):
    owner = None
    while frame is not None:
        if frame.f_code in _ENTRY_CODES:
            owner = frame
        frame = frame.f_back
    return owner
