"""The address guard refuses private, loopback and link-local targets before connecting.

The guard-* lab domains resolve to 10.0.0.1, 169.254.169.254, 127.0.0.1 and ::1. They are
only ever checked with the guard ON: with it off the checker would send packets to
10/8 or 169.254/16. The lab's listeners (and its tripwires on 127.0.0.1 and ::1) count
every connection, which proves nothing was contacted.
"""

from __future__ import annotations

import pytest

from monitoring.checks.engine import check_domain
from tests.lab import Lab
from tests.lab.expect import explain
from tests.lab.scenarios import MX_BLOCKED_CODE, SCENARIOS, Scenario

pytestmark = pytest.mark.lab

GUARD = [s for s in SCENARIOS if s.guard_only]
BLOCKED = {"policy.fetch.blocked_address", MX_BLOCKED_CODE}


def connections(lab: Lab) -> dict[str, int]:
    return {key: n for key, n in lab.stats.snapshot().items() if not key.startswith("dns/")}


def test_guard_domains_are_kept_apart(lab: Lab) -> None:
    assert {s.domain for s in GUARD} == set(lab.guard_domains)
    assert not set(lab.guard_domains) & set(lab.domains)


@pytest.mark.parametrize("scenario", GUARD, ids=lambda s: s.domain)
def test_forbidden_targets_are_refused_without_connecting(lab: Lab, scenario: Scenario):
    before = connections(lab)
    report = check_domain(scenario.domain, lab.options(allow_private_targets=False))
    assert report.codes() == scenario.expected == BLOCKED, explain(report)
    assert connections(lab) == before, "the checker connected to a forbidden address"


@pytest.mark.parametrize("domain", ["two-mx.lab.test", "policy-hang.lab.test"])
def test_guard_on_refuses_every_lab_host_without_connecting(lab: Lab, domain: str) -> None:
    # Every lab server is on loopback, so with the guard on nothing may be contacted.
    before = connections(lab)
    report = check_domain(domain, lab.options(allow_private_targets=False))
    assert report.codes() == BLOCKED, explain(report)
    assert connections(lab) == before, explain(report)


def test_guard_off_reaches_loopback_tripwire(lab: Lab) -> None:
    # The counterpart: a loopback target IS contacted when allowed, so the counters
    # above can see a connection. (A guard-* domain is never checked with the guard off.)
    before = lab.stats.total("tripwire/https/127.0.0.1")
    with lab.changed("plain.lab.test"):
        lab.set_address("mta-sts.plain.lab.test", ["127.0.0.1"])
        report = check_domain("plain.lab.test", lab.options())
    assert report.codes() == {"policy.fetch.failed"}, explain(report)
    assert lab.stats.total("tripwire/https/127.0.0.1") > before
