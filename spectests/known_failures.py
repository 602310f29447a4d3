"""The one place where known spec-test failures are listed, each with its reason.

A listed command that fails is reported as ``known`` and does not fail the test; a listed command
that now *passes* is reported as ``fixed`` and fails the test, so that this list only shrinks:
delete the entry when that happens.

Keys are ``(check, tier, file, line)``:

* ``check``: ``"run"`` for the full run of a script (the default, non-SIMD files), or
  ``"reject"`` for the rejection-only check over every file (SIMD included), which only looks at
  ``assert_invalid`` / binary ``assert_malformed`` (and compiles ``module`` commands).
* ``tier``: a tier name from :data:`spectests.TIERS`, or ``"*"`` for every tier.
* ``file``: the script's file name, e.g. ``"i32.wast"``.
* ``line``: the command's line in the script (as printed in failure reports).

Example::

    ("run", "*", "float_exprs.wast", 123): "x87-style double rounding in f32.mul (issue #42)",
"""

from __future__ import annotations

KNOWN_FAILURES: dict[tuple[str, str, str, int], str] = {}


def lookup(check: str, tier: str, file: str, line: int) -> str | None:
    """The reason a command is a known failure, or ``None`` if it is not listed."""
    reason = KNOWN_FAILURES.get((check, tier, file, line))
    if reason is None:
        reason = KNOWN_FAILURES.get((check, "*", file, line))
    return reason


def entries_for(check: str, tier: str, file: str) -> dict[int, str]:
    """All known failures of one script (by line) for a check and tier."""
    out = {}
    for (c, t, f, line), reason in KNOWN_FAILURES.items():
        if c == check and f == file and t in (tier, "*"):
            out[line] = reason
    return out
