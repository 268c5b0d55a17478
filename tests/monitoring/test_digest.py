"""The optional daily digest: what opened and resolved in the last 24 hours, per channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.alerting import open_alert, resolve_alert
from monitoring.alerts.delivery import deliver
from monitoring.alerts.digest import send_digests
from monitoring.models import AlertChannel, Domain, Notification, NotificationKind

pytestmark = pytest.mark.django_db


def _alert(domain: Domain, code: str, severity: str = "error") -> None:
    open_alert(domain=domain, code=code, severity=severity, subject="s", message=f"{code} seen",
               hint="h")  # fmt: skip


def test_digest_lists_changes_for_the_channels_domains(team, http_receiver, alert_settings):
    other = Domain.objects.create(organization=team.org, name="b.acme.test")
    hook = AlertChannel.objects.create(
        organization=team.org, kind="webhook", name="Digest", daily_digest=True,
        min_severity="warning", config={"url": http_receiver.url("/digest")},
    )  # fmt: skip
    hook.domains.set([team.domain])
    AlertChannel.objects.create(
        organization=team.org, kind="slack", name="No digest", config={"url": "https://x.test/"}
    )
    _alert(team.domain, "sts.id.stale")
    _alert(team.domain, "policy.mode.testing", severity="info")  # under the threshold
    _alert(other, "mx.not_covered")  # another domain
    resolve_alert(domain=team.domain, code="sts.id.stale")
    Notification.objects.all().delete()

    assert send_digests(now=timezone.now() + timedelta(minutes=1)) == 1
    assert send_digests(now=timezone.now() + timedelta(minutes=2)) == 0  # once a day
    digest = Notification.objects.get(kind=NotificationKind.DIGEST)
    assert digest.channel == hook
    assert digest.payload["items"] == ["acme.test: opened and resolved: Policy changed without "
                                       "a new id (error) sts.id.stale seen"]  # fmt: skip
    assert deliver(digest.id).status == "sent"
    (received,) = http_receiver.to("/digest")
    assert received.json()["event"] == "digest"


def test_no_news_no_digest(team):
    AlertChannel.objects.create(
        organization=team.org, kind="email", name="Mail", daily_digest=True,
        config={"emails": ["a@acme.test"]},
    )  # fmt: skip
    assert send_digests() == 0
