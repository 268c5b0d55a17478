"""TLSRPT alerts: the pure rules, and the same rules through monitoring.alerting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring.models import Alert, AlertChannel, Notification
from reports import alerts
from reports.alerts import (
    FAILURE_RATE,
    NEW_RESULT_TYPE,
    STOPPED,
    failure_rate_intent,
    new_result_type_intents,
    stopped_intents,
)
from reports.tasks import check_stopped_reports
from tests.reports.ingest_support import ingest_bytes, make_report

D1, D2, D3 = date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)


# -- pure rules ---------------------------------------------------------------------


def test_failure_rate_over_the_threshold_opens():
    intent = failure_rate_intent(7, {D1: (94, 6)}, threshold=0.05, min_sessions=20)
    assert intent.open and intent.code == FAILURE_RATE and intent.severity == "error"
    assert "6.0% of 100" in intent.message
    assert "2024-05-01" in intent.message


def test_failure_rate_at_the_threshold_resolves():
    intent = failure_rate_intent(7, {D1: (95, 5)}, threshold=0.05, min_sessions=20)
    assert intent is not None and not intent.open


def test_too_few_sessions_decide_nothing():
    assert failure_rate_intent(7, {D1: (10, 9)}, threshold=0.05, min_sessions=20) is None


def test_the_latest_day_with_enough_sessions_decides():
    days = {D1: (50, 50), D2: (100, 0), D3: (1, 5)}  # D3 too small: D2 decides
    intent = failure_rate_intent(7, days, threshold=0.05, min_sessions=20)
    assert intent is not None and not intent.open


def test_new_result_types_are_events():
    intents = new_result_type_intents(3, {"certificate-expired", "b-type"}, {"b-type"})
    assert [(i.key, i.is_event, i.code) for i in intents] == [
        ("certificate-expired", True, NEW_RESULT_TYPE)
    ]


def test_stopped_opens_for_silent_domains_and_resolves_open_ones():
    now = datetime(2024, 5, 10, 12, tzinfo=UTC)
    last = {1: now - timedelta(days=4), 2: now - timedelta(days=1), 3: now - timedelta(days=1)}
    intents = stopped_intents(last, [2], now=now, days=3)
    assert [(i.domain_id, i.open) for i in intents] == [(1, True), (2, False)]
    assert intents[0].code == STOPPED


# -- through the alert path ---------------------------------------------------------


pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(team):
    return AlertChannel.objects.create(
        organization=team.org, kind="webhook", name="hook", config={"url": "http://127.0.0.1:9/"}
    )


def _open(domain, code):
    return Alert.objects.filter(domain=domain, code=code, resolved_at__isnull=True)


def test_a_bad_day_opens_an_alert_and_a_good_day_resolves_it(team, channel):
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    ingest_bytes(team.org, make_report("acme.test", yesterday, ok=90, failed=10))
    alert = _open(team.domain, FAILURE_RATE).get()
    assert alert.source == "tlsrpt"
    assert alert.severity == "error"
    assert "10.0% of 100" in alert.message
    assert Notification.objects.filter(alert=alert, kind="opened").count() == 1

    # The same day reported again by another sender: still one alert, told once.
    ingest_bytes(team.org, make_report("acme.test", yesterday, ok=5, failed=5, submitter="B"))
    assert _open(team.domain, FAILURE_RATE).count() == 1
    assert Notification.objects.filter(alert=alert, kind="opened").count() == 1

    ingest_bytes(team.org, make_report("acme.test", today, ok=100, failed=1))
    assert not _open(team.domain, FAILURE_RATE).exists()
    assert Notification.objects.filter(alert=alert, kind="resolved").count() == 1


def test_few_sessions_raise_nothing(team):
    ingest_bytes(team.org, make_report("acme.test", timezone.now().date(), ok=10, failed=9))
    assert not Alert.objects.filter(code=FAILURE_RATE).exists()


def test_a_result_type_not_seen_before_is_told_once(team):
    today = timezone.now().date()
    failure = [("certificate-expired", "192.0.2.1", "mx.acme.test", 1)]
    ingest_bytes(team.org, make_report("acme.test", today, ok=99, failed=1, failures=failure))
    events = Alert.objects.filter(domain=team.domain, code=NEW_RESULT_TYPE)
    assert [(a.key, a.is_event, a.resolved_at is not None) for a in events] == [
        ("certificate-expired", True, True)
    ]
    ingest_bytes(
        team.org,
        make_report("acme.test", today, ok=99, failed=1, failures=failure, submitter="Other"),
    )
    assert events.count() == 1


def test_unmatched_reports_raise_nothing(team):
    ingest_bytes(team.org, make_report("nope.example", timezone.now().date(), ok=0, failed=50))
    assert not Alert.objects.exists()


def test_reports_that_stopped_arriving(team):
    long_ago = timezone.now().date() - timedelta(days=5)
    ingest_bytes(team.org, make_report("acme.test", long_ago, ok=10))
    assert check_stopped_reports() == 1
    alert = _open(team.domain, STOPPED).get()
    assert "No TLSRPT report for 3 days" in alert.message
    assert check_stopped_reports() == 1  # still open, not duplicated
    assert _open(team.domain, STOPPED).count() == 1

    ingest_bytes(team.org, make_report("acme.test", timezone.now().date(), ok=10))
    assert check_stopped_reports() == 0
    assert not _open(team.domain, STOPPED).exists()


def test_domains_that_never_had_reports_are_not_stopped(team):
    assert alerts.evaluate_stopped() == 0
    assert not Alert.objects.exists()


def test_an_alerting_failure_never_undoes_the_ingest(team, monkeypatch):
    def broken(intents):
        raise RuntimeError("channel store down")

    monkeypatch.setattr(alerts, "dispatch", broken)
    raw = ingest_bytes(team.org, make_report("acme.test", timezone.now().date(), ok=1, failed=99))
    assert raw.status == "parsed"
    assert raw.reports.count() == 1
