"""The WebAssembly spec testsuite runner for wasm2py.

* :mod:`spectests.wast` finds the suite and converts ``.wast`` scripts (cached);
* :mod:`spectests.runner` executes a converted script against wasm2py's public API;
* :mod:`spectests.report` summarises results;
* :mod:`spectests.known_failures` is the one list of known failures;
* ``python -m spectests`` is the command-line entry point, ``spectests/test_spec.py`` the pytest
  one.
"""

#: The execution tiers the spec tests run on (a pytest parameter). Add a tier here to test it.
#: "<tier>-fuel" runs every invoke from fuel 0, resuming with the required fuel at each pause.
TIERS: tuple[str, ...] = ("python", "python-fuel")

#: The two checks: the full run of a script, and the rejection-only check.
CHECK_RUN = "run"
CHECK_REJECT = "reject"
