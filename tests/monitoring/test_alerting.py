"""The alerting service other apps raise alerts through (open_alert / resolve_alert)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from monitoring.alerting import open_alert, resolve_alert, send_reminders
from monitoring.models import Alert, AlertChannel, Notification, NotificationKind
from tests.monitoring.conftest import make_channels

pytestmark = pytest.mark.django_db


def _open(domain, severity: str = "error", key: str = "", **extra):
    return open_alert(
        domain=domain,
        code="tlsrpt.failure_rate.high",
        severity=severity,
        subject="TLSRPT reports",
        message="12% of sessions failed",
        hint="Look at the failure details.",
        key=key,
        source="tlsrpt",
        **extra,
    )


def _count(kind: str) -> int:
    return Notification.objects.filter(kind=kind).count()


def test_open_is_idempotent_and_resolve_tells_only_who_heard(team, http_receiver):
    make_channels(team.org, http_receiver)
    alert = _open(team.domain)
    assert _open(team.domain).id == alert.id
    assert Alert.objects.count() == 1
    assert _count(NotificationKind.OPENED) == 4
    # A channel added after the alert opened never heard of it: no resolve for it either.
    AlertChannel.objects.create(
        organization=team.org, kind="email", name="Late", config={"emails": ["l@acme.test"]}
    )
    assert resolve_alert(domain=team.domain, code="tlsrpt.failure_rate.high") is True
    assert resolve_alert(domain=team.domain, code="tlsrpt.failure_rate.high") is False
    assert _count(NotificationKind.RESOLVED) == 4
    # Opening again after a resolve is a new alert, told again.
    again = _open(team.domain)
    assert again.id != alert.id
    assert _count(NotificationKind.OPENED) == 4 + 5


def test_keys_keep_alerts_apart(team, http_receiver):
    make_channels(team.org, http_receiver)
    a = _open(team.domain, key="mx1")
    b = _open(team.domain, key="mx2")
    assert a.id != b.id
    assert resolve_alert(domain=team.domain, code="tlsrpt.failure_rate.high", key="mx1")
    assert Alert.objects.get(id=b.id).is_open


def test_a_raised_severity_reaches_channels_that_now_qualify(team, http_receiver):
    channels = make_channels(team.org, http_receiver)
    channels["slack"].min_severity = "error"
    channels["slack"].save()
    alert = _open(team.domain, severity="warning")
    assert not Notification.objects.filter(channel=channels["slack"]).exists()
    _open(team.domain, severity="error")
    alert.refresh_from_db()
    assert alert.severity == "error"
    assert Notification.objects.filter(channel=channels["slack"]).count() == 1
    assert _count(NotificationKind.OPENED) == 4


def test_an_event_is_told_once_and_never_resolved(team, http_receiver):
    make_channels(team.org, http_receiver)
    event = _open(team.domain, is_event=True)
    assert event.resolved_at is not None
    assert resolve_alert(domain=team.domain, code="tlsrpt.failure_rate.high") is False
    assert _count(NotificationKind.OPENED) == 4
    assert _count(NotificationKind.RESOLVED) == 0


def test_no_channels_still_records_the_alert(team):
    alert = _open(team.domain)
    assert alert.is_open
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_openers_open_one_alert(team, http_receiver):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL")
    make_channels(team.org, http_receiver)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def race() -> None:
        try:
            start.wait()
            _open(team.domain)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1
    assert _count(NotificationKind.OPENED) == 4


def test_reminder_after_the_configured_time_at_most_once(team, http_receiver, settings):
    settings.ALERTS_REMINDER_HOURS = 24
    settings.ALERTS_MAX_REMINDERS = 1
    make_channels(team.org, http_receiver)
    alert = _open(team.domain)
    now = timezone.now()
    assert send_reminders(now=now + timedelta(hours=23)) == 0
    assert send_reminders(now=now + timedelta(hours=25)) == 4
    assert send_reminders(now=now + timedelta(hours=50)) == 0
    assert _count(NotificationKind.REMINDER) == 4
    resolve_alert(domain=team.domain, code=alert.code)
    assert send_reminders(now=now + timedelta(days=10)) == 0


def test_reminders_can_be_switched_off(team, http_receiver, settings):
    settings.ALERTS_REMINDER_HOURS = 0
    make_channels(team.org, http_receiver)
    _open(team.domain)
    assert send_reminders(now=timezone.now() + timedelta(days=30)) == 0
