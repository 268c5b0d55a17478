"""The scenario registry covers every finding code, and each scenario is well-formed."""

from __future__ import annotations

import ipaddress

import pytest

from monitoring.checks.findings import CATALOGUE, SEVERITIES
from monitoring.checks.names import normalize_domain
from tests.lab.hosts import FORBIDDEN_TARGETS
from tests.lab.scenarios import BY_DOMAIN, SCENARIOS, bench_domains, bench_scenario

# Section 7 of CHECKS.md compares two runs: no single lab domain can show these.
BETWEEN_RUNS = {"sts.id.stale", "drift.mx.changed", "drift.policy.changed", "drift.record.removed"}


def test_every_single_run_code_has_a_broken_domain() -> None:
    covered = {code for s in SCENARIOS for code in s.expected}
    missing = set(CATALOGUE) - BETWEEN_RUNS - covered
    assert not missing, f"no lab scenario produces {sorted(missing)}"


def test_expected_codes_and_severities_exist() -> None:
    for s in SCENARIOS:
        assert s.expected <= set(CATALOGUE), s.domain
        assert set(s.severities) <= s.expected, s.domain
        assert set(s.severities.values()) <= set(SEVERITIES), s.domain


def test_healthy_set_is_broad() -> None:
    healthy = [s.domain.split(".")[0] for s in SCENARIOS if s.healthy]
    for label in ("plain", "wildcard", "split-txt", "lf-policy", "crlf-policy", "cname-ok"):
        assert label in healthy
    assert "testing-mode" in healthy
    assert len(healthy) >= 10


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.domain)
def test_scenario_is_well_formed(scenario) -> None:
    assert normalize_domain(scenario.domain) == scenario.domain
    assert scenario.domain.endswith(".lab.test")
    assert scenario.description
    assert BY_DOMAIN[scenario.domain] is scenario


def test_guard_scenarios_point_only_at_forbidden_targets() -> None:
    guard = [s for s in SCENARIOS if s.guard_only]
    assert {a for s in guard for addrs in s.addresses.values() for a in addrs} == set(
        FORBIDDEN_TARGETS
    )
    for s in SCENARIOS:
        if not s.guard_only:
            # Ordinary scenarios must be safe to check with the guard off: loopback only.
            for addresses in s.addresses.values():
                assert all(ipaddress.ip_address(a).is_loopback for a in addresses), s.domain


def test_bench_domains_are_generated_healthy() -> None:
    names = bench_domains(500)
    assert names[0] == "bench-0001.lab.test"
    assert names[-1] == "bench-0500.lab.test"
    scenario = bench_scenario(names[-1])
    assert scenario is not None
    assert scenario.healthy
    assert len(scenario.mx) == 2
    assert bench_scenario("plain.lab.test") is None
