"""The chart and dashboard queries: right numbers, zero-filled days, few queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Domain
from reports import aggregates
from reports.aggregates import DayPoint, Scope
from tests.reports.ingest_support import ingest_bytes, make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.now().date()


@pytest.fixture
def data(team, today):
    """Three days of reports for acme.test from two submitters, plus an unmatched one."""
    d = "acme.test"
    ingest_bytes(
        team.org,
        make_report(
            d,
            today,
            ok=90,
            failed=10,
            failures=[
                ("certificate-expired", "192.0.2.1", "mx1.acme.test", 6),
                ("starttls-not-supported", "192.0.2.2", "mx2.acme.test", 4),
            ],
        ),
    )
    ingest_bytes(team.org, make_report(d, today, ok=50, submitter="Microsoft Corporation"))
    ingest_bytes(
        team.org,
        make_report(
            d,
            today - timedelta(days=2),
            ok=40,
            failed=2,
            failures=[
                ("certificate-expired", "192.0.2.1", "mx1.acme.test", 2),
            ],
        ),
    )
    ingest_bytes(team.org, make_report(d, today - timedelta(days=40), ok=1000))  # outside 30
    ingest_bytes(
        team.org,
        make_report(
            "not-ours.example",
            today,
            ok=7,
            failed=7,
            failures=[
                ("validation-failure", "198.51.100.1", "mx.not-ours.example", 7),
            ],
        ),
    )
    return team


def test_success_rate_7d(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        rates = aggregates.success_rate_7d([data.domain.id, data.other_domain.id])
    rate, sessions = rates[data.domain.id]
    assert sessions == 90 + 10 + 50 + 40 + 2
    assert rate == pytest.approx((90 + 50 + 40) / 192)
    assert data.other_domain.id not in rates


def test_daily_series_zero_fills(data, today):
    series = aggregates.daily_series([data.domain.id, data.other_domain.id], days=7)
    points = series[data.domain.id]
    assert [p.day for p in points] == [today - timedelta(days=n) for n in range(6, -1, -1)]
    assert points[-1] == DayPoint(today, 140, 10)
    assert points[-3] == DayPoint(today - timedelta(days=2), 40, 2)
    assert sum(p.total for p in points) == 192
    assert all(p.total == 0 for p in series[data.other_domain.id])
    assert points[0].failure_rate is None
    assert points[-1].failure_rate == pytest.approx(10 / 150)


def test_daily_series_for_a_thousand_domains_is_one_query(team, today, django_assert_num_queries):
    Domain.objects.bulk_create(
        Domain(organization=team.org, name=f"d{n}.acme.test") for n in range(1000)
    )
    ids = list(team.org.domains.values_list("id", flat=True))
    ingest_bytes(team.org, make_report("d500.acme.test", today, ok=3, failed=1))
    with django_assert_num_queries(1):
        series = aggregates.daily_series(ids, days=7)
    with django_assert_num_queries(1):
        rates = aggregates.success_rate_7d(ids)
    assert len(series) == 1001
    busy = Domain.objects.get(name="d500.acme.test").id
    assert series[busy][-1] == DayPoint(today, 3, 1)
    assert rates == {busy: (0.75, 4)}


def test_daily_totals_for_the_organization_leave_out_unmatched(data, today):
    org_points = aggregates.daily_totals(Scope(data.org.id), 30)
    assert len(org_points) == 30
    assert org_points[-1] == DayPoint(today, 140, 10)  # not-ours.example is not counted
    assert sum(p.total for p in org_points) == 192


def test_breakdowns(data):
    scope = Scope(data.org.id, data.domain.id)
    assert aggregates.failures_by_result_type(scope, 7) == [
        ("certificate-expired", 8),
        ("starttls-not-supported", 4),
    ]
    assert aggregates.failures_by_mx(scope, 7) == [("mx1.acme.test", 8), ("mx2.acme.test", 4)]
    assert aggregates.failures_by_submitter(scope, 7) == [("Google Inc.", 12)]
    ips = aggregates.sending_ips(scope, 30)
    assert [(ip.ip, ip.failed) for ip in ips] == [("192.0.2.1", 8), ("192.0.2.2", 4)]
    assert ips[0].result_types == "certificate-expired"


def test_breakdowns_over_90_days_include_older_reports(data):
    totals = aggregates.report_totals(Scope(data.org.id, data.domain.id), 90)
    assert totals == {"reports": 4, "submitters": 2, "successful": 1180, "failed": 12}
    assert aggregates.report_totals(Scope(data.org.id, data.domain.id), 7)["reports"] == 3


def test_policies_seen_groups_by_submitter_and_text(team, today):
    old = ["version: STSv1", "mode: testing", "mx: mx.acme.test", "max_age: 86400"]
    ingest_bytes(team.org, make_report("acme.test", today, ok=1, policy_strings=old))
    ingest_bytes(
        team.org,
        make_report("acme.test", today, ok=1, submitter="Microsoft Corporation"),
    )
    seen = aggregates.policies_seen(team.domain.id, 30)
    assert [(s.submitter, s.reports) for s in seen] == [
        ("Google Inc.", 1),
        ("Microsoft Corporation", 1),
    ]
    assert "mode: testing" in seen[0].policy_strings
    assert seen[0].fingerprint != seen[1].fingerprint


def test_stranger_scope_sees_nothing(data):
    assert aggregates.report_totals(Scope(data.other_org.id), 90)["reports"] == 0
