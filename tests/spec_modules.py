"""The modules of the official spec suites that decode and validate, for tests that check a
property of every such module (see :func:`valid_modules`)."""

from __future__ import annotations

from wasm2py.binary.decoder import decode_module
from wasm2py.validate.validator import validate_module
from wasm2py.wast.wast import load_script


def valid_modules(files):
    """``(file, name, bytes, module)`` for every ``module`` command of the ``.wast`` ``files``
    whose binary decodes and validates (the others are not what such checks are about)."""
    for f in files:
        script = load_script(f)
        for cmd in script.commands:
            name = cmd.get("filename") or cmd.get("binary_filename")
            if cmd.get("type") != "module" or not name:
                continue
            try:
                data = script.module_bytes(name)
                m = decode_module(data)
                validate_module(m)
            except Exception:  # noqa: BLE001, S112 - not a module these checks are about
                continue
            yield f, name, data, m
