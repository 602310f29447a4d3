"""``python -m wasm2py.cli``: the same as the ``wasm2py`` command."""

import sys

from . import main

sys.exit(main())
