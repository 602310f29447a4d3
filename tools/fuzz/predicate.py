"""``python -m tools.fuzz.predicate TARGET OPTIONS SEED SIGNATURE FILE``: exit status 0 when
the input in FILE still gives a finding with SIGNATURE (the interestingness test that
``wasm-tools shrink`` runs, see :mod:`.minimize`)."""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from .minimize import signature, verdict_of

    target, options, seed, sig, path = argv
    verdict = verdict_of(target, json.loads(options), path, int(seed))
    return 0 if signature(verdict) == sig else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
