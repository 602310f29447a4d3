"""The WebAssembly spec testsuite for wasm2py.

The harness lives in :mod:`wasm2py.wast` (it also backs ``wasm2py wast``); here are the suite's
pytest entry (``spectests/test_spec.py``), its command line (``python -m spectests``) and
:mod:`spectests.known_failures`, the one list of known failures.
"""

from wasm2py.wast import CHECK_REJECT, CHECK_RUN, TIERS

__all__ = ["CHECK_REJECT", "CHECK_RUN", "TIERS"]
