"""Print the Python code the Python tier generates for a module:
``python -m wasm2py.translate module.wasm``."""

from __future__ import annotations

import argparse
import ast
import sys

from ..binary.decoder import decode_module
from ..errors import Error
from ..validate.validator import validate_module
from .module import translate_module


def main(argv: list[str]) -> int:
    """Print the generated code of each module named in ``argv`` (exit status 1, and a
    message naming the file, for one that cannot be read, decoded or validated)."""
    ap = argparse.ArgumentParser(prog="python -m wasm2py.translate",
                                 description="print the Python code the Python tier generates "
                                             "for each module")  # fmt: skip
    ap.add_argument("modules", nargs="+", metavar="MODULE.wasm")
    args = ap.parse_args(argv)
    for path in args.modules:
        try:
            with open(path, "rb") as f:
                module = decode_module(f.read(), check_bodies=False)
            validate_module(module)
        except (OSError, Error) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 1
        tree, _ = translate_module(module)
        print(ast.unparse(tree))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
