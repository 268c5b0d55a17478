"""DomainSummary: what a stored run leaves on the dashboard row."""

from __future__ import annotations

import pytest

from monitoring.models import Domain, DomainSummary
from monitoring.runner import check_and_store
from monitoring.summary import fewest_cert_days, policy_mode, summary_fields, update_summary
from tests.ui.support import broken_report, report

pytestmark = pytest.mark.django_db


def test_fields_from_a_report():
    fields = summary_fields(broken_report("acme.test"))
    assert fields["mode"] == "enforce" and fields["policy_id"] == "20240101T000000"
    assert (fields["mx_total"], fields["mx_covered"]) == (2, 1)
    assert (fields["min_cert_days"], fields["min_cert_host"]) == (5, "mx2.acme.test [192.0.2.11]")
    assert (fields["errors"], fields["warnings"]) == (1, 2)


def test_the_policy_host_certificate_counts_too():
    data = report("acme.test")
    data["policy"]["certificate"]["days_left"] = 3
    assert fewest_cert_days(data) == (3, "mta-sts.acme.test")


def test_no_mode_unless_a_policy_was_served():
    data = report("acme.test")
    data["policy"]["status"] = 404
    assert policy_mode(data) == ""
    assert summary_fields({"findings": [], "mx": []})["min_cert_days"] is None


def test_update_is_an_upsert(team):
    update_summary(team.domain, report("acme.test"))
    update_summary(team.domain, broken_report("acme.test"))
    summary = DomainSummary.objects.get(domain=team.domain)
    assert summary.mx_covered == 1 and summary.report["status"] == "error"
    assert DomainSummary.objects.count() == 1


@pytest.mark.lab
@pytest.mark.parametrize(
    ("name", "mode", "covered"),
    [("two-mx.lab.test", "enforce", 2), ("mx-not-covered-testing.lab.test", "testing", 1),
     ("no-sts.lab.test", "", 0)],
)  # fmt: skip
def test_a_stored_run_updates_the_summary(team, settings, lab, name, mode, covered):
    settings.CHECK_OPTIONS = lab.options()
    domain = Domain.objects.create(organization=team.org, name=name)
    check_and_store(domain.id)
    summary = DomainSummary.objects.get(domain=domain)
    assert summary.mode == mode and summary.mx_covered == covered
    assert summary.min_cert_days is not None and 55 <= summary.min_cert_days <= 60  # lab: 60 d
    assert summary.report["domain"] == name
