"""Benchmarks for wasm2py: C kernels compiled to wasm (see build.py, run_kernels.py)."""
