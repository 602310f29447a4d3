"""Tier-up for ``Config(tier="auto")``: when an instance's Python-tier code gets hot, compile
its module with LLVM in the background and move the instance over.

Code translated for the ``auto`` tier calls ``HOT()`` at every function entry and at the top of
every loop iteration. ``HOT`` is the ``__next__`` of a C-level iterator chain
(``itertools.chain.from_iterable`` over ``itertools.repeat`` runs), so counting costs one C call
(~12 ns) and no Python code runs until a run is exhausted. The stages:

1. ``threshold`` events (calls + loop iterations) in the Python tier;
2. the module is compiled by LLVM in a child process (:mod:`wasm2py.llvm.worker`: on another
   core, without the GIL, and killed if the program exits first) into the machine-code cache
   (or a private directory when ``Config(cache=False)``); meanwhile the code keeps running in
   the Python tier, checking every :data:`POLL` events whether the compile is done. A module
   the engine has compiled already (another instance tiered up) skips this stage;
3. at the first check after it is done, on the thread running the code, the machine code is
   loaded (:meth:`Engine.load_llvm`, milliseconds) and the instance attaches it
   (:class:`wasm2py.llvm.instance.LLVMInstance`): functions called from then on, by the
   embedder, through tables or by Python-tier frames still running, run jitted.

If the LLVM tier cannot compile the module (llvmlite missing, an unsupported feature), the
instance stays in the Python tier; the reason is kept in :attr:`TierUp.error`.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from itertools import chain, repeat

from . import cache

#: events between two checks whether the background compile has finished
POLL = 10_000


class TierUp:
    """The tier-up state of one instance; :attr:`events` is what generated code calls."""

    __slots__ = ("instance", "threshold", "events", "done", "error", "__weakref__")

    def __init__(self, instance, threshold: int):
        # weak: the namespace holding ``events`` belongs to the instance (no cycle through it)
        self.instance = weakref.ref(instance)
        self.threshold = threshold
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.events = chain.from_iterable(self._stages()).__next__

    def _stages(self):
        yield repeat(None, self.threshold)
        inst = self.instance()
        if inst is None:  # (the instance is gone: nothing to move)
            yield repeat(None)
        engine, module = inst.store.engine, inst.module._module
        del inst
        # machine code travels from the child through the cache directory (a private one
        # when the engine does not cache)
        tmp = None if engine.config.cache else tempfile.mkdtemp(prefix="wasm2py-llvm-")
        directory = tmp if tmp is not None else str(cache.cache_dir())
        if not engine.has_llvm(module):
            threading.Thread(target=self._compile, args=(engine, module, directory),
                             name="wasm2py-llvm-compile", daemon=True).start()  # fmt: skip
            while not self.done.is_set():
                yield repeat(None, POLL)
        try:
            if self.error is None:
                # on the thread running the code: LLVM is never busy when the process exits
                compiled = engine.load_llvm(module, cache_dir=directory)
                inst = self.instance()
                if inst is not None:
                    inst._attach_llvm(compiled)
                del inst
        except Exception as e:  # noqa: BLE001 - never disturb the running wasm code
            self.error = e
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        yield repeat(None)

    def _compile(self, engine, module, directory: str) -> None:
        try:
            from .llvm.worker import compile_in_subprocess

            config = engine.config
            compile_in_subprocess(module.raw, directory, config.llvm_opt_level,
                                  config.fuel_costs if config.consume_fuel else None,
                                  config.epoch_interruption)  # fmt: skip
        except BaseException as e:  # noqa: BLE001 - the instance stays in the Python tier
            self.error = e
        finally:
            self.done.set()
