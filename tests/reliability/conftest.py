"""The reliability suite's collector: every test records what it injected and what people got, and at
the end of a run that included the whole suite (and passed) the page docs/reliability.md is written.

A partial run (one file, `-k`, a failure) leaves the page alone, so it only ever shows a complete,
green run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from tests.reliability.ledger import LEDGER, Ledger, published_load

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAGE = ROOT / "docs" / "reliability.md"


class _Run:
    whole_suite = False
    expected: ClassVar[set[str]] = set()
    passed: ClassVar[set[str]] = set()
    failed: ClassVar[set[str]] = set()
    deselected = False
    changed = False


def _ours(nodeid: str) -> bool:
    return nodeid.replace("\\", "/").startswith("tests/reliability/")


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return LEDGER


def pytest_collection_finish(session: pytest.Session) -> None:
    args = [Path(str(a).split("::")[0]).resolve() for a in session.config.args] or [ROOT / "tests"]
    _Run.whole_suite = any(HERE.is_relative_to(a) for a in args if a.is_dir())
    _Run.expected.clear()
    _Run.expected.update(item.nodeid for item in session.items if _ours(item.nodeid))


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(_ours(item.nodeid) for item in items):
        _Run.deselected = True


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _ours(report.nodeid):
        return
    if report.failed or (report.skipped and report.when == "call"):
        _Run.failed.add(report.nodeid)
    elif report.when == "call" and report.passed:
        _Run.passed.add(report.nodeid)


def _complete() -> bool:
    return (
        _Run.whole_suite
        and not _Run.deselected
        and not _Run.failed
        and bool(_Run.expected)
        and _Run.passed == _Run.expected
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _complete():
        PAGE.parent.mkdir(parents=True, exist_ok=True)
        before = PAGE.read_text("utf-8") if PAGE.exists() else ""
        text = LEDGER.markdown(cpus=os.cpu_count() or 1, published=published_load(before))
        _Run.changed = text != before
        if _Run.changed:
            PAGE.write_text(text, "utf-8")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _Run.expected:
        return
    totals = LEDGER.totals()
    terminalreporter.write_sep("-", "reliability")
    terminalreporter.write_line(
        f"{totals['fault cases']} fault cases, {totals['requests']} requests: "
        f"{totals['videos']} videos, {totals['explained']} explained, {totals['lost']} lost, "
        f"{totals['duplicates']} duplicates; {totals['inputs tried']} inputs tried, "
        f"{totals['input failures']} failures"
    )
    if LEDGER.load is not None:
        run = LEDGER.load
        terminalreporter.write_line(
            f"load: {run.acked}/{run.requests} acked, p50 {run.p50_s * 1000:.1f} ms, "
            f"p99 {run.p99_s * 1000:.1f} ms, max {run.max_s * 1000:.1f} ms"
        )
    where = PAGE.relative_to(ROOT)
    if not _complete():
        terminalreporter.write_line(f"{where} left as it was (not a complete, green run)")
    else:
        terminalreporter.write_line(f"{where} {'rewritten' if _Run.changed else 'up to date'}")
