"""``python -m wasm2py``: the same as the ``wasm2py`` command."""

import sys

from .cli import main

sys.exit(main())
