"""Print the Python code the Python tier generates for a module:
``python -m wasm2py.translate module.wasm``."""

from __future__ import annotations

import ast
import sys

from ..binary.decoder import decode_module
from ..validate.validator import validate_module
from .module import translate_module


def main(argv: list[str]) -> int:
    """Print the generated code of each module named in ``argv``."""
    if not argv:
        print("usage: python -m wasm2py.translate MODULE.wasm", file=sys.stderr)
        return 2
    for path in argv:
        with open(path, "rb") as f:
            module = decode_module(f.read(), check_bodies=False)
        validate_module(module)
        tree, _ = translate_module(module)
        print(ast.unparse(tree))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
