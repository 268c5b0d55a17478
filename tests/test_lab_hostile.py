"""Hostile servers and name servers: each check ends in its finding and never raises.

Hangs, trickles, garbage, resets and silent name servers must all be cut off by the
step timeout or the domain deadline. How long that takes is measured in bench/, never
asserted here.
"""

from __future__ import annotations

import pytest

from monitoring.checks.engine import check_domain
from tests.lab import Lab
from tests.lab.expect import assert_matches, explain
from tests.lab.scenarios import SCENARIOS, Scenario

pytestmark = pytest.mark.lab

HOSTILE = [s for s in SCENARIOS if s.hostile and not s.guard_only]


@pytest.mark.parametrize("scenario", HOSTILE, ids=lambda s: s.domain)
def test_hostile_server(lab: Lab, scenario: Scenario) -> None:
    assert_matches(check_domain(scenario.domain, lab.options()), scenario)


@pytest.mark.parametrize(
    ("domain", "codes"),
    [
        ("policy-hang.lab.test", {"policy.fetch.failed"}),
        ("policy-trickle.lab.test", {"policy.fetch.failed"}),
        ("mx-no-banner.lab.test", {"mx.connect.failed"}),
        ("record-timeout.lab.test", {"sts.record.lookup_failed"}),
        ("mx-lookup-timeout.lab.test", {"mx.records.lookup_failed"}),
    ],
)
def test_deadline_shorter_than_a_step_still_reports(lab: Lab, domain: str, codes: set[str]):
    # The deadline cuts the hanging part off; the report must still say it is not done
    # (a part cut off silently would read as healthy).
    report = check_domain(domain, lab.options(timeout=5, deadline=0.5))
    assert report.codes() == codes, explain(report)
