"""``wasm2py.compile``: ahead-of-time compilation of a module to one importable ``.py`` file."""

from __future__ import annotations

import os
from pathlib import Path

from .binary.decoder import decode_module
from .validate.validator import validate_module


def compile(wasm: bytes | str | os.PathLike, output: str | os.PathLike | None = None,
            *, name: str | None = None, fuel: bool = False, resumable: bool = True) -> str:  # fmt: skip
    """Compile a module ahead of time.

    Args:
        wasm: the module's bytes (or text), or the path of a ``.wasm`` (or ``.wat``) file.
        output: where to write the ``.py`` file (written atomically); None to only return it.
        name: the module name shown in the generated file (default: the file name).
        fuel: write a metered module (default :class:`~wasm2py.FuelCosts`): its instances
            need a store with ``Config(consume_fuel=True)``, and resumable calls pause when
            the fuel runs out.
        resumable: carry every function's resume entry, so that paused calls resume (False:
            a file about half the size, whose paused calls cannot resume).

    Returns:
        The generated Python source.

    Raises:
        ParseError, DecodeError, ValidationError: the module is malformed or invalid.
    """
    from .text import as_binary
    from .translate.aot import generate_source
    from .translate.module import gc_paused

    if isinstance(wasm, bytes | bytearray | memoryview):
        data = as_binary(wasm)
        source_name = name or "module.wasm"
    else:
        data = as_binary(Path(wasm).read_bytes(), source=os.fspath(wasm))
        source_name = name or Path(wasm).name
    module = decode_module(data, check_bodies=False)
    validate_module(module)
    with gc_paused():
        text = generate_source(module, source_name, fuel, resumable)
    if output is not None:
        out = Path(output)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="ascii")
        os.replace(tmp, out)
    return text
