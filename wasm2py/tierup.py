"""Tier-up for ``Config(tier="auto")``: when an instance's Python-tier code gets hot, compile
its module with LLVM in the background and move the instance over.

Code translated for the ``auto`` tier calls ``HOT()`` at every function entry and at the top of
every loop iteration. ``HOT`` is the ``__next__`` of a C-level iterator chain
(``itertools.chain.from_iterable`` over ``itertools.repeat`` runs), so counting costs one C call
(~12 ns) and no Python code runs until a run is exhausted. The stages:

1. ``threshold`` events (calls + loop iterations) in the Python tier;
2. the module is compiled by LLVM in a worker process (:mod:`wasm2py.llvm.worker`: on another
   core, without the GIL, and killed if the program exits first; a crash inside LLVM only
   ends the worker); a thread waits for the machine code to come back through the worker's
   pipe; meanwhile the code keeps running in the Python tier, checking every :data:`POLL`
   events whether the compile is done. A module the engine has compiled already (another
   instance tiered up) skips this stage;
3. at the first check after it is done, on the thread running the code, the machine code is
   loaded (:meth:`Engine.load_llvm`, milliseconds; with ``Config(cache=True)`` it is also
   written to the machine-code cache) and the instance attaches it
   (:class:`wasm2py.llvm.instance.LLVMInstance`): functions called from then on, by the
   embedder, through tables or by Python-tier frames still running, run jitted.

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

    __slots__ = ("instance", "threshold", "events", "done", "error", "objects", "__weakref__")

    def __init__(self, instance, threshold: int):
        # weak: the namespace holding ``events`` belongs to the instance (no cycle through it)
        self.instance = weakref.ref(instance)
        self.threshold = threshold
        self.done = threading.Event()
        self.error: BaseException | None = None
        #: (flags, objects) from the compile worker, until loaded
        self.objects = None
        self.events = chain.from_iterable(self._stages()).__next__

    def _stages(self):
        yield repeat(None, self.threshold)
        inst = self.instance()
        if inst is None:  # (the instance is gone: nothing to move)
            yield repeat(None)
        engine, module = inst.store.engine, inst.module._module
        name = inst.module.name
        del inst
        if not engine.has_llvm(module):
            threading.Thread(target=self._compile, args=(engine, module, name),
                             name="wasm2py-llvm-compile", daemon=True).start()  # fmt: skip
            while not self.done.is_set():
                yield repeat(None, POLL)
        try:
            if self.error is None:
                # on the thread running the code: LLVM is never busy when the process exits
                compiled = engine.load_llvm(module, name=name, objects=self.objects)
                inst = self.instance()
                if inst is not None:
                    inst._attach_llvm(compiled)
                del inst
        except Exception as e:  # noqa: BLE001 - never disturb the running wasm code
            self.error = e
        self.objects = None
        yield repeat(None)

    def _compile(self, engine, module, name) -> None:
        try:
            from .llvm.jit import compile_objects

            config = engine.config
            self.objects = compile_objects(module, config.llvm_opt_level,
                                           config.fuel_costs if config.consume_fuel else None,
                                           name)  # fmt: skip
        except BaseException as e:  # noqa: BLE001 - the instance stays in the Python tier
            self.error = e
        finally:
            self.done.set()
