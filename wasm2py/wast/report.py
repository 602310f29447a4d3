"""Per-command results, per-script summaries and the summary tables."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

PASSED = "passed"
FAILED = "failed"  # failed and not a known failure: fails the test
KNOWN = "known"  # failed, listed in known_failures
FIXED = "fixed"  # listed in known_failures but passed: fails the test (remove the entry)
SKIPPED = "skipped"  # not run (text modules, unsupported command kinds, skipped dependencies)
UNSUPPORTED = "unsupported"  # rejection check: a module rejected as UnsupportedFeature

STATUSES = (PASSED, FAILED, KNOWN, FIXED, SKIPPED, UNSUPPORTED)
BAD_STATUSES = (FAILED, FIXED)

#: The ``user_properties`` key under which a spec test hands its summary to conftest.py.
SUMMARY_PROPERTY = "spectest_summary"
#: At most this many failing (or known-failing) commands are described per summary.
MAX_DESCRIBED = 500


@dataclass
class CommandResult:
    """The outcome of one command of a script."""

    kind: str
    line: int
    status: str
    message: str = ""

    def describe(self, file: str = "") -> str:
        where = f"{file}:{self.line}" if file else f"line {self.line}"
        text = f"{where}: {self.kind}: {self.status}"
        return f"{text}: {self.message}" if self.message else text


@dataclass
class FileSummary:
    """The results of one script on one tier for one check, in a JSON-able form."""

    file: str
    tier: str
    check: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> status -> n
    problems: list[str] = field(default_factory=list)  # failed / fixed commands, described
    known: list[str] = field(default_factory=list)  # known failures, described
    error: str | None = None  # the script could not be run at all (conversion failure...)
    seconds: float = 0.0

    @classmethod
    def from_results(
        cls, file: str, tier: str, check: str, results: list[CommandResult], seconds: float = 0.0
    ) -> FileSummary:
        counts: dict[str, dict[str, int]] = {}
        problems, known = [], []
        for r in results:
            per_kind = counts.setdefault(r.kind, {})
            per_kind[r.status] = per_kind.get(r.status, 0) + 1
            if r.status in BAD_STATUSES:
                problems.append(r.describe(file))
            elif r.status == KNOWN:
                known.append(r.describe(file))
        for listing in (problems, known):
            if len(listing) > MAX_DESCRIBED:
                extra = len(listing) - MAX_DESCRIBED
                del listing[MAX_DESCRIBED:]
                listing.append(f"{file}: ... and {extra} more")
        return cls(file, tier, check, counts, problems, known, None, seconds)

    @property
    def ok(self) -> bool:
        """True if nothing failed unexpectedly and no known failure was fixed."""
        return self.error is None and not self.problems

    @property
    def n_problems(self) -> int:
        """The number of commands that fail the test (failed, or known failures now passing)."""
        return self.total(FAILED) + self.total(FIXED)

    def total(self, status: str) -> int:
        return sum(c.get(status, 0) for c in self.counts.values())

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FileSummary:
        return cls(**json.loads(text))


def _cell(counts: dict[str, int]) -> str:
    """``passed/failed/skipped`` plus any other non-zero status."""
    text = f"{counts.get(PASSED, 0)}/{counts.get(FAILED, 0)}/{counts.get(SKIPPED, 0)}"
    extra = [f"{s} {counts[s]}" for s in (KNOWN, FIXED, UNSUPPORTED) if counts.get(s)]
    return f"{text} ({', '.join(extra)})" if extra else text


def format_summary(summaries: list[FileSummary], *, per_file: bool = True) -> str:
    """The summary tables: one line per script (per command kind: passed/failed/skipped) and
    the totals per command kind, for each (check, tier) present."""
    lines: list[str] = []
    groups: dict[tuple[str, str], list[FileSummary]] = defaultdict(list)
    for s in summaries:
        groups[(s.check, s.tier)].append(s)
    for (check, tier), group in sorted(groups.items()):
        group.sort(key=lambda s: s.file)
        title = {"run": "spec tests", "reject": "spec rejection check",
                 "component": "component-model reference tests"}.get(check, check)  # fmt: skip
        lines.append(f"== {title}, tier {tier}: {len(group)} files ==")
        if per_file:
            lines.append("per file, per command kind: passed/failed/skipped")
            width = max(len(s.file) for s in group)
            for s in group:
                status = "ok  " if s.ok else "FAIL"
                if s.error is not None:
                    lines.append(f"  {status} {s.file:<{width}}  ERROR: {s.error.splitlines()[0]}")
                    continue
                cells = ", ".join(f"{k} {_cell(c)}" for k, c in sorted(s.counts.items()))
                lines.append(f"  {status} {s.file:<{width}}  {cells}  [{s.seconds:.1f}s]")
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for s in group:
            for kind, counts in s.counts.items():
                for status, n in counts.items():
                    totals[kind][status] += n
        shown = [st for st in STATUSES if any(t.get(st) for t in totals.values())] or [PASSED]
        for st in (PASSED, FAILED, SKIPPED):
            if st not in shown:
                shown.append(st)
        shown = [st for st in STATUSES if st in shown]
        kw = max([len("command kind"), len("total")] + [len(k) for k in totals])
        lines.append("per command kind:")
        lines.append("  " + f"{'command kind':<{kw}}" + "".join(f"{st:>12}" for st in shown))
        grand: dict[str, int] = defaultdict(int)
        for kind in sorted(totals):
            row = totals[kind]
            for st in shown:
                grand[st] += row.get(st, 0)
            lines.append("  " + f"{kind:<{kw}}" + "".join(f"{row.get(st, 0):>12}" for st in shown))
        lines.append("  " + f"{'total':<{kw}}" + "".join(f"{grand.get(st, 0):>12}" for st in shown))
        errors = [s for s in group if s.error is not None]
        bad = [s for s in group if not s.ok]
        lines.append(
            f"files: {len(group) - len(bad)} ok, {len(bad)} failing"
            + (f" ({len(errors)} could not be run)" if errors else "")
        )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
