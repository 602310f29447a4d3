"""Compare wasm2py's wast reader and text parser with ``wasm-tools json-from-wast``, script by
script: the command lists (``json-from-wast`` layout) and every module's bytes.

    python tools/text/compare_suite.py [--suite wasm-2.0|wasm-3.0] [FILES...]

Prints one line per difference and a summary; exits 1 if anything differs.
"""
