"""Running WebAssembly spec-style ``.wast`` scripts against wasm2py's public API: the harness
behind ``wasm2py wast`` and the project's spec testsuite (``spectests/``).

* :mod:`.script` reads scripts with wasm2py's text parser (no external tool);
* :mod:`.wast` loads scripts (component-model ones converted by ``wasm-tools json-from-wast``,
  cached) and finds the official suite;
* :mod:`.runner` executes the commands of a converted script on one tier;
* :mod:`.values` decodes and compares the scripts' values;
* :mod:`.report` summarises results.
"""

#: The execution tiers scripts can run on (``Config.tier``). ``"<tier>-fuel"`` runs every invoke
#: from fuel 0, resuming with the required fuel at each pause (in ``llvm-fuel`` the jitted frames
#: pause and resume natively: see ``wasm2py.llvm.suspend``); ``"<tier>-metered"`` runs with fuel
#: metering on and a budget no script exhausts; ``"python-flat..."`` gives every function the
#: Python tier's fallback shape (a dispatch loop over basic blocks) instead of the structured one.
#: ``"baseline"`` is ``tier="auto"`` with the baseline tier on (``Config.baseline``) and LLVM
#: tier-up out of reach: every function runs as baseline machine code unless the baseline
#: refuses it (then in the Python tier).
TIERS: tuple[str, ...] = ("python", "python-fuel", "llvm", "llvm-metered", "llvm-fuel",
                          "python-flat", "python-flat-fuel", "baseline")

#: The two checks: the full run of a script, and the rejection-only check.
CHECK_RUN = "run"
CHECK_REJECT = "reject"
