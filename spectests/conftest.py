"""pytest hooks of the spec tests: collect each script's summary and print the tables at the end.

Each spec test attaches its :class:`~wasm2py.wast.report.FileSummary` (as JSON) to its report's
``user_properties``. Those travel with the report from pytest-xdist workers to the controller,
where :func:`pytest_runtest_logreport` collects them into a module-level registry, so the same
code works with and without xdist.
"""

from __future__ import annotations

from wasm2py.wast.report import SUMMARY_PROPERTY, FileSummary, format_summary

#: The summaries collected in this (controller) process.
SUMMARIES: list[FileSummary] = []


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("timeout"):
        config.addinivalue_line(
            "markers",
            "timeout(seconds): per-test time limit, enforced when pytest-timeout is installed",
        )


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for key, value in getattr(report, "user_properties", None) or ():
        if key == SUMMARY_PROPERTY:
            try:
                SUMMARIES.append(FileSummary.from_json(value))
            except Exception:  # noqa: BLE001 - a broken summary must not break the session
                pass


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not SUMMARIES:
        return
    terminalreporter.write_sep("=", "WebAssembly spec test summary")
    for line in format_summary(SUMMARIES).splitlines():
        terminalreporter.write_line(line)
