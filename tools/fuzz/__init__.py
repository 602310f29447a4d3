"""Fuzzing wasm2py: generated and mutated modules run in child processes (see README.md)."""
