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


# --- the Component Model reference tests (check "component"; files by path in the suite) -------

_TAGS = ("core modules with exception-handling tags (Wasm 3.0): the core decoder implements "
         "Wasm 2.0")
_MULTI_MEMORY = "core modules with two memories (Wasm 3.0 multi-memory): the core tier has one"


def _component_entries() -> dict[tuple[str, str, str, int], str]:
    out = {("component", "*", "async/cancellable.wast", 0): (
        "wasm-tools 1.262 cannot convert this script: it rejects the `cancellable` immediate, "
        "removed by WebAssembly/component-model#716 after the suite's snapshot")}
    for line in (7, 31, 32, 36, 60, 64, 89, 93, 133, 134):
        out[("component", "*", "linking/tags.wast", line)] = _TAGS
    for line in (261, 295, 296, 297, 298, 299, 300, 301, 302, 308, 344, 345, 346, 347, 348, 349,
                 350, 351, 355, 374, 375):
        out[("component", "*", "linking/unit.wast", line)] = _MULTI_MEMORY
    out[("component", "*", "validation/instantiation.wast", 342)] = _MULTI_MEMORY
    return out


KNOWN_FAILURES.update(_component_entries())
