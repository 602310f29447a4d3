"""Tier-up for ``Config(tier="auto")``: when an instance's Python-tier code gets hot, compile
its module with LLVM in the background and move the instance over.

Code translated for the ``auto`` tier calls ``HOT()`` at every function entry and at the top of
every loop iteration. ``HOT`` is the ``__next__`` of a C-level iterator chain
(``itertools.chain.from_iterable`` over ``itertools.repeat`` runs), so counting costs one C call
(~12 ns) and no Python code runs until a run is exhausted. The stages:

1. ``threshold`` events (calls + loop iterations) in the Python tier;
2. the module is compiled by LLVM in a background thread (:meth:`Engine.load_llvm`, shared
   by every instance of the module in the engine, and cached on disk): meanwhile the code keeps
   running in the Python tier, checking every :data:`POLL` events whether the compile is done;
3. at the first check after it is done, on the thread running the code, the instance attaches
   the jitted code (:class:`wasm2py.llvm.instance.LLVMInstance`): functions called from then on,
   by the embedder, through tables or by Python-tier frames still running, run jitted.

If the LLVM tier cannot compile the module (llvmlite missing, an unsupported feature), the
instance stays in the Python tier; the reason is kept in :attr:`TierUp.error`.
"""

from __future__ import annotations

import threading
import weakref
from itertools import chain, repeat

#: events between two checks whether the background compile has finished
POLL = 10_000


class TierUp:
    """The tier-up state of one instance; :attr:`events` is what generated code calls."""

    __slots__ = ("instance", "threshold", "events", "done", "result", "error", "__weakref__")

    def __init__(self, instance, threshold: int):
        # weak: the namespace holding ``events`` belongs to the instance (no cycle through it)
        self.instance = weakref.ref(instance)
        self.threshold = threshold
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.events = chain.from_iterable(self._stages()).__next__

    def _stages(self):
        yield repeat(None, self.threshold)
        inst = self.instance()
        if inst is None:
            yield repeat(None)
            return
        threading.Thread(target=self._compile, args=(inst.store.engine, inst.module._module),
                         name="wasm2py-llvm-compile", daemon=True).start()  # fmt: skip
        del inst
        while not self.done.is_set():
            yield repeat(None, POLL)
        inst = self.instance()
        if inst is not None and self.result is not None:
            try:
                inst._attach_llvm(self.result)
            except Exception as e:  # noqa: BLE001 - never disturb the running wasm code
                self.error = e
        del inst
        yield repeat(None)

    def _compile(self, engine, module) -> None:
        try:
            self.result = engine.load_llvm(module)
        except BaseException as e:  # noqa: BLE001 - the instance stays in the Python tier
            self.error = e
        finally:
            self.done.set()
