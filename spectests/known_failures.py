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



def _component_entries() -> dict[tuple[str, str, str, int], str]:
    out = {("component", "*", "async/cancellable.wast", 0): (
        "wasm-tools 1.262 cannot convert this script: it rejects the `cancellable` immediate, "
        "removed by WebAssembly/component-model#716 after the suite's snapshot")}
    return out


KNOWN_FAILURES.update(_component_entries())


# --- the Wasm 3.0 suite (file names prefixed with "3.0/") ------------------------------------

_GC = "a module of a non-GC script that uses GC instructions (array.new_default, ref.eq): GC is "\
      "not implemented (UnsupportedFeature)"


def _wasm3_entries() -> dict[tuple[str, str, str, int], str]:
    out = {}
    for file, lines in (("3.0/table_init.wast", (2272, 2286)),
                        ("3.0/table_init64.wast", (2457, 2471))):  # fmt: skip
        for line in lines:
            out[("run", "*", file, line)] = _GC
    return out


KNOWN_FAILURES.update(_wasm3_entries())
