"""check_and_store against the lab: runs, findings, drift, alerts, confirmation, scheduling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from monitoring.models import (
    Alert,
    CheckRun,
    Domain,
    DomainStatus,
    Notification,
    NotificationKind,
    RunStatus,
)
from monitoring.runner import check_and_store
from tests.monitoring.conftest import make_channels

pytestmark = [pytest.mark.django_db, pytest.mark.lab]

PLAIN = "plain.lab.test"


@pytest.fixture
def checking(settings, lab, alert_settings):
    settings.CHECK_OPTIONS = lab.options()
    settings.ALERTS_CONFIRM_RUNS = 2
    settings.ALERTS_RECHECK_SECONDS = 120
    return settings


def _domain(team, name: str) -> Domain:
    return Domain.objects.create(organization=team.org, name=name)


def _kinds(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("channel__kind", flat=True))


def test_a_run_is_stored_with_its_facts_and_the_domain_moves_on(team, checking):
    domain = _domain(team, PLAIN)
    before = timezone.now()
    assert check_and_store(domain.id, task_id="t-1") == "ok"
    run = CheckRun.objects.get(domain=domain)
    assert run.task_id == "t-1"
    assert run.status == RunStatus.OK
    assert run.facts["domain"] == PLAIN
    assert run.facts["record"]["id"] == "20240101T000000"
    assert run.duration_ms > 0
    assert run.findings.count() == 0
    domain.refresh_from_db()
    assert domain.status == DomainStatus.OK
    assert domain.last_checked_at >= before
    assert domain.next_check_at == run.finished_at + domain.check_interval
    assert domain.summary.policy_id == "20240101T000000"


def test_the_same_task_delivered_twice_stores_one_run(team, checking):
    domain = _domain(team, PLAIN)
    check_and_store(domain.id, task_id="again")
    check_and_store(domain.id, task_id="again")
    assert CheckRun.objects.filter(domain=domain).count() == 1


def test_a_deleted_domain_is_nothing_to_do(team, checking):
    assert check_and_store(999_999) is None


def test_a_crashing_check_becomes_a_failed_run(team, checking):
    domain = _domain(team, PLAIN)

    def crash(_name: str) -> dict:
        raise RuntimeError("resolver exploded")

    assert check_and_store(domain.id, engine=crash) == RunStatus.FAILED
    run = CheckRun.objects.get(domain=domain)
    assert run.status == RunStatus.FAILED
    assert "resolver exploded" in run.error
    domain.refresh_from_db()
    # The status says what the domain is like; a failed check knows nothing about that.
    assert domain.status == DomainStatus.PENDING
    # ...and the check is re-run sooner than the normal interval.
    assert domain.next_check_at <= run.finished_at + timedelta(seconds=120)


def test_a_timed_out_check_becomes_a_failed_run(team, checking):
    domain = _domain(team, PLAIN)

    def slow(_name: str) -> dict:
        raise SoftTimeLimitExceeded()

    check_and_store(domain.id, engine=slow)
    run = CheckRun.objects.get(domain=domain)
    assert run.status == RunStatus.FAILED
    assert "timed out" in run.error


def test_stale_id_alerts_after_confirmation_once_and_resolves_once(
    team, checking, lab, http_receiver
):
    make_channels(team.org, http_receiver)
    domain = _domain(team, PLAIN)
    check_and_store(domain.id)
    body = lab.policy_body(PLAIN).decode().replace("604800", "86400")
    with lab.changed(PLAIN):
        lab.set_policy(PLAIN, body)
        # First sighting: recorded, not yet alerted, re-checked sooner.
        assert check_and_store(domain.id) == RunStatus.ERROR
        first = CheckRun.objects.filter(domain=domain).first()
        assert first.findings.get(code="sts.id.stale").streak == 1
        assert not Alert.objects.exists()
        domain.refresh_from_db()
        assert domain.next_check_at == first.finished_at + timedelta(seconds=120)
        # Second sighting: confirmed, one alert, one message per channel.
        check_and_store(domain.id)
        alert = Alert.objects.get()
        assert (alert.code, alert.severity, alert.key) == (
            "sts.id.stale",
            "error",
            f"_mta-sts.{PLAIN}",
        )
        assert _kinds(NotificationKind.OPENED) == ["email", "slack", "teams", "webhook"]
        # Still open on the next run: no repeat.
        check_and_store(domain.id)
        assert Notification.objects.count() == 4
    check_and_store(domain.id)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert _kinds(NotificationKind.RESOLVED) == ["email", "slack", "teams", "webhook"]
    check_and_store(domain.id)
    assert Notification.objects.count() == 8
    domain.refresh_from_db()
    assert domain.status == DomainStatus.OK


def test_one_flaky_run_alerts_nobody(team, checking, lab, http_receiver):
    make_channels(team.org, http_receiver)
    domain = _domain(team, PLAIN)
    check_and_store(domain.id)
    with lab.changed(PLAIN):
        lab.set_policy(PLAIN, status=500)
        check_and_store(domain.id)
    check_and_store(domain.id)
    assert not Alert.objects.exists()
    assert not Notification.objects.exists()


def test_a_failed_check_neither_opens_nor_resolves(team, checking, lab, http_receiver, settings):
    settings.ALERTS_CONFIRM_RUNS = 1
    make_channels(team.org, http_receiver)
    domain = _domain(team, "no-mx.lab.test")
    check_and_store(domain.id)
    open_codes = set(Alert.objects.filter(resolved_at__isnull=True).values_list("code", flat=True))
    assert "mx.records.missing" in open_codes

    def crash(_name: str) -> dict:
        raise RuntimeError("boom")

    check_and_store(domain.id, engine=crash)
    still = set(Alert.objects.filter(resolved_at__isnull=True).values_list("code", flat=True))
    assert still == open_codes
    # The streak goes on from the last run that completed.
    check_and_store(domain.id)
    latest = CheckRun.objects.filter(domain=domain).first()
    assert latest.findings.get(code="mx.records.missing").streak == 2


def test_mx_change_is_told_once_with_no_resolve(team, checking, lab, http_receiver, settings):
    make_channels(team.org, http_receiver)
    domain = _domain(team, "two-mx.lab.test")
    check_and_store(domain.id)
    with lab.changed("two-mx.lab.test"):
        lab.set_mx("two-mx.lab.test", [(10, "mx1.two-mx.lab.test"), (30, "mx3.two-mx.lab.test")])
        check_and_store(domain.id)
        check_and_store(domain.id)
    events = Alert.objects.filter(code="drift.mx.changed")
    assert events.count() == 1
    event = events.get()
    assert event.is_event
    assert event.resolved_at is not None
    assert "added mx3.two-mx.lab.test" in event.message
    assert "removed mx2.two-mx.lab.test" in event.message
    told = Notification.objects.filter(alert=event)
    assert sorted(told.values_list("channel__kind", flat=True)) == [
        "email",
        "slack",
        "teams",
        "webhook",
    ]
    assert set(told.values_list("kind", flat=True)) == {NotificationKind.OPENED}


def test_severity_threshold_and_domain_routing(team, checking, lab, http_receiver, settings):
    settings.ALERTS_CONFIRM_RUNS = 1
    channels = make_channels(team.org, http_receiver)
    channels["slack"].min_severity = "error"
    channels["slack"].save()
    other = _domain(team, "two-mx.lab.test")
    channels["teams"].domains.set([other])
    domain = _domain(team, "policy-max-age-low.lab.test")  # a warning
    check_and_store(domain.id)
    assert Alert.objects.get().severity == "warning"
    assert _kinds(NotificationKind.OPENED) == ["email", "webhook"]


def test_certificate_expiry_reminder_once_per_threshold(team, checking, http_receiver):
    make_channels(team.org, http_receiver)
    domain = _domain(team, "mx-expiring.lab.test")  # expires in 5 days
    check_and_store(domain.id)
    check_and_store(domain.id)
    reminders = Notification.objects.filter(kind=NotificationKind.EXPIRY)
    assert sorted(reminders.values_list("channel__kind", flat=True)) == [
        "email",
        "slack",
        "teams",
        "webhook",
    ]
    payload = reminders.first().payload
    assert payload["threshold"] == 7
    assert payload["days_left"] in (4, 5)
    assert "mx1.mx-expiring.lab.test" in payload["subject"]


def test_runs_of_one_domain_are_compared_in_order(team, checking):
    domain = _domain(team, PLAIN)
    for _ in range(3):
        check_and_store(domain.id)
    runs = list(CheckRun.objects.filter(domain=domain).order_by("finished_at"))
    assert [r.drift["state"]["sts_id"] for r in runs] == ["20240101T000000"] * 3
    assert all(r.drift["changed"] == [] for r in runs)
