"""Epoch interruption: stopping wasm code that runs too long, from another thread.

As in wasmtime: with ``Config(epoch_interruption=True)`` the engine keeps a counter, the *epoch*,
that :meth:`Engine.increment_epoch` advances (from any thread, e.g. a timer), and each store a
*deadline* (:meth:`Store.set_epoch_deadline`: that many increments from now; a new store's
deadline is the current epoch, so code traps at once until a deadline is set). Code running in
the store checks at every function entry and every loop iteration whether the epoch has reached
the deadline, and traps with ``TrapCode.INTERRUPT`` if it has. Host functions are not
interrupted; the check happens when they return to wasm code.

What the checks cost: the engine compares epoch and deadline when either changes, not the
running code. When a store reaches its deadline, the switches its code reads are flipped:

* Python tier: loops are ``while RUN: ... else: raise interrupted()`` (a global load per
  iteration where plain code has ``while True:``), and every function entry already compares
  the call depth with ``MAXD``: setting ``MAXD`` to -1 makes the next entry call ``DEEP(d)``
  (:func:`wasm2py.runtime.callstack.deeper`), which traps with ``INTERRUPT`` while ``RUN`` is
  False. Both names live in each instance's namespace, so the store keeps (weakly) the states
  of its instances.
* LLVM tier: ``rt[RT_EPOCH]`` of the store's native runtime, read with an atomic load at
  function entries and loop headers.
"""

from __future__ import annotations

import threading
import weakref

from .callstack import shallow_bound


class EpochClock:
    """An engine's epoch counter and the deadlines of its stores.

    Attributes:
        epoch: the current epoch (starts at 0).
    """

    def __init__(self):
        self.epoch = 0
        self._lock = threading.Lock()
        self._stores: weakref.WeakSet[EpochState] = weakref.WeakSet()

    def increment(self) -> None:
        """Advance the epoch by one; code of stores whose deadline it reaches traps at its next
        check. Thread-safe."""
        with self._lock:
            self.epoch += 1
            for st in list(self._stores):
                st.update(self.epoch)

    def register(self, st: EpochState) -> None:
        with self._lock:
            self._stores.add(st)
            st.update(self.epoch)

    def set_deadline(self, st: EpochState, ticks: int) -> None:
        with self._lock:
            st.deadline = self.epoch + ticks
            st.update(self.epoch)

    def attach(self, st: EpochState, state) -> None:
        with self._lock:
            st.attach(state)


class EpochState:
    """A store's epoch deadline and the switches its code checks (see the module docstring).

    Attributes:
        deadline: the epoch at which code traps.
        interrupted: whether the engine's epoch has reached the deadline.
    """

    __slots__ = ("store", "deadline", "interrupted", "_states", "__weakref__")

    def __init__(self, store):
        self.store = weakref.ref(store)
        self.deadline = 0
        self.interrupted = True  # epoch 0 >= deadline 0: a new store traps until told otherwise
        self._states: weakref.WeakSet = weakref.WeakSet()

    def attach(self, state) -> None:
        """Bind an instance's namespace to this store's switches (with the clock's lock held:
        :meth:`EpochClock.attach`)."""
        ns = state.ns
        self._states.add(state)
        self._set(ns, self.interrupted)

    def update(self, epoch: int) -> None:
        """The engine's epoch or the deadline changed: flip the switches if the outcome did
        (with the clock's lock held)."""
        hit = epoch >= self.deadline
        if hit == self.interrupted:
            return
        self.interrupted = hit
        for state in list(self._states):
            self._set(state.ns, hit)
        store = self.store()
        native = store.native if store is not None else None
        if native is not None:
            native.set_interrupted(hit)

    def _set(self, ns: dict, hit: bool) -> None:
        store = self.store()
        ns["RUN"] = not hit
        # back to the shallow bound: a deep call still running lifts it again at its next entry
        ns["MAXD"] = -1 if hit else shallow_bound(store.max_depth if store is not None else 0)
