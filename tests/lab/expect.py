"""Compare an engine report with what a scenario expects, with a readable failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.lab.scenarios import Scenario

if TYPE_CHECKING:
    from monitoring.checks.report import DomainReport


def explain(report: DomainReport) -> str:
    """The report's findings, one per line, for assertion messages."""
    lines = [f"{report.domain}: {report.status} in {report.duration_ms} ms"]
    lines += [f"  {f.severity:7} {f.code}: {f.message}" for f in report.findings]
    return "\n".join(lines)


def assert_matches(report: DomainReport, scenario: Scenario) -> None:
    """Exactly the expected codes, the pinned severities, and ``ok`` when healthy."""
    assert report.codes() == scenario.expected, explain(report)
    for code, severity in scenario.severities.items():
        seen = {f.severity for f in report.findings if f.code == code}
        assert seen == {severity}, explain(report)
    if scenario.healthy:
        assert report.status == "ok", explain(report)
