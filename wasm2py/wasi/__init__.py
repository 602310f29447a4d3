"""WASI preview1 for wasm2py: run command-line programs compiled for ``wasm32-wasi``.

::

    import io, wasm2py
    from wasm2py.wasi import WasiConfig, run

    out = io.BytesIO()
    config = WasiConfig(argv=["prog", "hello"], env={"LANG": "C"},
                        preopens={"/data": "./data"}, stdout=out)
    status = run("prog.wasm", config)        # the exit status; a trap raises wasm2py.Trap
    out.getvalue()

The program sees only the preopened directories (see :mod:`.sandbox` for how paths are kept
inside them). For finer control, :class:`Wasi` gives the host functions
(:meth:`Wasi.imports`, :meth:`Wasi.add_to_linker`) and :func:`instantiate` links a module
against them; ``proc_exit`` raises :class:`WasiExit`.
"""

from .command import call_entry, instantiate, is_wasi, run
from .config import WasiConfig
from .constants import Errno, Filetype, Rights
from .preview1 import PREVIEW1, SIGNATURES, UNSTABLE, Wasi, WasiExit, functype
from .sandbox import WasiError, resolve

__all__ = [
    "PREVIEW1", "SIGNATURES", "UNSTABLE", "Errno", "Filetype", "Rights", "Wasi", "WasiConfig",
    "WasiError", "WasiExit", "call_entry", "functype", "instantiate", "is_wasi", "resolve", "run",
]  # fmt: skip
