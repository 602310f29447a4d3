"""The child side of :mod:`.harness`: ``python -m tools.fuzz.child TARGET OPTIONS SEEDS``.

``SEEDS`` is a comma-separated list of seeds, or ``@FILE:SEED`` to check the input in FILE
(with SEED for what the target derives from it, e.g. call arguments). For each input the child
prints ``S <seed>`` before and ``R <seed> <json verdict>`` after checking it, on its original
standard output; anything else written to standard output (by wasm code, a library) goes to
standard error instead, so it cannot disturb the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def main(argv: list[str]) -> int:
    from .targets import make_target

    name, options, seeds = argv
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    target = make_target(name, json.loads(options))
    if seeds.startswith("@"):
        path, _, seed = seeds[1:].rpartition(":")
        with open(path, "rb") as f:
            items = [(int(seed), f.read())]
    else:
        items = [(int(s), None) for s in seeds.split(",") if s]
    for seed, data in items:
        print(f"S {seed}", file=proto, flush=True)
        try:
            if data is None:
                data = target.make_input(seed)
            if data is None:
                verdict = {"status": "ok", "stats": {"no input": 1}}
            else:
                verdict = target.check(data, seed)
        except Exception:  # noqa: BLE001 - a bug of the target itself is a finding too
            verdict = {"status": "finding", "kind": "harness-error",
                       "detail": traceback.format_exc()[-3000:]}  # fmt: skip
        print(f"R {seed} {json.dumps(verdict)}", file=proto, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
