"""Every healthy or misconfigured lab domain, checked by the engine, gives exactly its codes."""

from __future__ import annotations

import asyncio

import pytest

from monitoring.checks.engine import check_domain, check_many
from tests.lab import Lab
from tests.lab.expect import assert_matches, explain
from tests.lab.scenarios import SCENARIOS, Scenario

pytestmark = pytest.mark.lab

HEALTHY = [s for s in SCENARIOS if s.healthy]
MISCONFIGURED = [s for s in SCENARIOS if not (s.healthy or s.hostile or s.guard_only)]


@pytest.mark.parametrize("scenario", HEALTHY, ids=lambda s: s.domain)
def test_healthy_domain(lab: Lab, scenario: Scenario) -> None:
    assert_matches(check_domain(scenario.domain, lab.options()), scenario)


@pytest.mark.parametrize("scenario", MISCONFIGURED, ids=lambda s: s.domain)
def test_misconfigured_domain(lab: Lab, scenario: Scenario) -> None:
    assert_matches(check_domain(scenario.domain, lab.options()), scenario)


def test_policy_changed_mid_test_is_seen_and_restored(lab: Lab) -> None:
    domain = "plain.lab.test"
    original = check_domain(domain, lab.options())
    with lab.changed(domain):
        # Body replaced, record id unchanged: what the drift check calls sts.id.stale.
        lab.set_policy(domain, "version: STSv1\nmode: testing\nmx: mx1.plain.lab.test\n")
        changed = check_domain(domain, lab.options())
    restored = check_domain(domain, lab.options())
    assert changed.record == original.record
    assert changed.policy["text"] != original.policy["text"]
    assert changed.codes() == {"policy.mode.testing", "policy.max_age.invalid"}
    assert restored.policy["text"] == original.policy["text"]
    assert restored.codes() == set()


def test_check_many_over_bench_domains(lab: Lab) -> None:
    names = lab.bench_domains(20)
    reports = asyncio.run(check_many(names, lab.options(), concurrency=10))
    assert [r.domain for r in reports] == names
    broken = [r for r in reports if r.status != "ok"]
    assert not broken, explain(broken[0])
    assert all(len(r.mx) == 2 for r in reports)
