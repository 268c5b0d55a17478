"""Every channel kind against a real local receiver: SMTP (aiosmtpd) and HTTP (http.server)."""

from __future__ import annotations

import pytest

from monitoring.alerting import open_alert, queue_notification
from monitoring.alerts.delivery import deliver
from monitoring.alerts.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from monitoring.models import AlertChannel, Notification, NotificationKind, NotificationStatus
from tests.monitoring.conftest import make_channels

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(team, http_receiver, alert_settings):
    return make_channels(team.org, http_receiver)


def _open(team, **extra):
    return open_alert(
        domain=team.domain,
        code="sts.id.stale",
        severity="error",
        subject="_mta-sts.acme.test",
        message="The policy changed but the record id is still 20240101",
        hint="Change the id in the _mta-sts TXT record every time the policy changes.",
        **extra,
    )


def _deliver_all() -> dict[int, str]:
    return {n.id: deliver(n.id).status for n in Notification.objects.order_by("id")}


def test_an_open_alert_reaches_every_channel_once(team, channels, http_receiver, smtp_receiver):
    _open(team)
    assert set(_deliver_all().values()) == {"sent"}
    # Email: one message, with a text and an HTML part.
    (mail,) = smtp_receiver.messages
    assert "acme.test" in mail["Subject"]
    assert "Policy changed without a new id" in mail["Subject"]
    kinds = {part.get_content_type() for part in mail.walk()}
    assert {"text/plain", "text/html"} <= kinds
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(
        decode=True
    )
    assert b"Fix: Change the id" in text
    # Slack: Block Kit with the domain, the finding, the value seen and the fix.
    (slack,) = http_receiver.to("/slack")
    body = slack.json()
    blocks = str(body["blocks"])
    assert body["text"].startswith("[Problem] acme.test")
    assert "acme.test" in blocks
    assert "sts.id.stale" in blocks
    assert "still 20240101" in blocks
    assert "Change the id" in blocks
    # Teams: an Adaptive Card in a message envelope.
    (teams,) = http_receiver.to("/teams")
    card = teams.json()["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    facts = {f["title"]: f["value"] for f in card["content"]["body"][1]["facts"]}
    assert facts["Finding"] == "sts.id.stale"
    # Webhook: JSON signed with HMAC-SHA256 over "<timestamp>.<body>".
    (hook,) = http_receiver.to("/webhook")
    secret = channels["webhook"].secret
    assert verify(secret, hook.headers[TIMESTAMP_HEADER], hook.body, hook.headers[SIGNATURE_HEADER])
    assert not verify("wrong", hook.headers[TIMESTAMP_HEADER], hook.body,
                      hook.headers[SIGNATURE_HEADER])  # fmt: skip
    payload = hook.json()
    assert payload["event"] == "opened"
    assert payload["code"] == "sts.id.stale"
    assert payload["url"].startswith("https://stsguard.test/domains/")
    assert hook.headers["X-Stsguard-Delivery"] == payload["delivery"]


def test_opening_again_sends_nothing_new(team, channels, http_receiver):
    first = _open(team)
    second = _open(team)
    assert first.id == second.id
    assert Notification.objects.count() == 4
    _deliver_all()
    assert len(http_receiver.requests) == 3


def test_a_delivered_notification_is_never_sent_twice(team, channels, http_receiver):
    _open(team)
    first = _deliver_all()
    again = _deliver_all()
    assert set(first.values()) == {"sent"}
    assert set(again.values()) == {"skipped"}
    assert len(http_receiver.requests) == 3


def test_500_then_200_is_retried_and_delivered_once(team, channels, http_receiver):
    http_receiver.script["/slack"] = [500]
    _open(team)
    slack = Notification.objects.get(channel=channels["slack"])
    outcome = deliver(slack.id)
    assert outcome.status == "retry"
    assert outcome.retry_in is not None
    slack.refresh_from_db()
    assert slack.status == NotificationStatus.PENDING
    assert "HTTP 500" in slack.error
    assert deliver(slack.id).status == "sent"
    slack.refresh_from_db()
    assert (slack.status, slack.attempts) == (NotificationStatus.SENT, 2)
    assert [r.path for r in http_receiver.to("/slack")] == ["/slack", "/slack"]
    channels["slack"].refresh_from_db()
    assert channels["slack"].enabled
    assert channels["slack"].last_error == ""


def test_404_disables_the_channel_and_spares_the_others(team, channels, http_receiver):
    http_receiver.script["/teams"] = [404]
    _open(team)
    outcomes = {
        n.channel.kind: deliver(n.id).status for n in Notification.objects.select_related("channel")
    }
    assert outcomes == {"email": "sent", "slack": "sent", "teams": "failed", "webhook": "sent"}
    teams = AlertChannel.objects.get(id=channels["teams"].id)
    assert not teams.enabled
    assert "HTTP 404" in teams.disabled_reason
    # A disabled channel is skipped from then on; the others keep working.
    _open(team, key="other")
    assert not Notification.objects.filter(channel=teams, alert__key="other").exists()
    assert Notification.objects.filter(alert__key="other").count() == 3


def test_attempts_are_bounded(team, channels, http_receiver, settings):
    settings.ALERTS_MAX_ATTEMPTS = 3
    http_receiver.script["/webhook"] = [503, 503, 503, 503]
    _open(team)
    hook = Notification.objects.get(channel=channels["webhook"])
    assert [deliver(hook.id).status for _ in range(4)] == ["retry", "retry", "failed", "skipped"]
    hook.refresh_from_db()
    assert hook.status == NotificationStatus.FAILED
    assert hook.attempts == 3
    # Running out of tries is not proof the channel is wrong: it stays on.
    assert AlertChannel.objects.get(id=channels["webhook"].id).enabled


def test_back_off_doubles_and_is_capped(settings):
    from monitoring.alerts.delivery import backoff

    settings.ALERTS_RETRY_BASE_SECONDS = 30
    settings.ALERTS_RETRY_MAX_SECONDS = 100
    assert [backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_private_targets_are_refused_unless_allowed(team, channels, http_receiver, settings):
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = False
    _open(team)
    slack = Notification.objects.get(channel=channels["slack"])
    assert deliver(slack.id).status == "failed"
    slack.refresh_from_db()
    assert "loopback" in slack.error
    assert http_receiver.requests == []
    channel = AlertChannel.objects.get(id=channels["slack"].id)
    assert not channel.enabled
    assert "refused" in channel.disabled_reason


def test_email_refused_recipient_disables_the_channel(team, alert_settings, smtp_receiver):
    # aiosmtpd refuses a recipient without a domain part with a 5xx.
    channel = AlertChannel.objects.create(
        organization=team.org, kind="email", name="Bad", config={"emails": ["<>"]}
    )
    notification = queue_notification(
        channel=channel, kind=NotificationKind.TEST, dedup_key="t", payload={"event": "test"}
    )
    assert deliver(notification.id).status == "failed"
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert smtp_receiver.messages == []


def test_mail_server_down_is_transient(team, alert_settings):
    alert_settings.EMAIL_PORT = 1  # nothing listens there
    channel = AlertChannel.objects.create(
        organization=team.org, kind="email", name="Ops", config={"emails": ["ops@acme.test"]}
    )
    _open(team)
    notification = Notification.objects.get(channel=channel)
    assert deliver(notification.id).status == "retry"
    assert AlertChannel.objects.get(id=channel.id).enabled


def test_disabled_channel_notifications_fail_without_sending(team, channels, http_receiver):
    _open(team)
    AlertChannel.objects.filter(id=channels["slack"].id).update(enabled=False)
    slack = Notification.objects.get(channel=channels["slack"])
    assert deliver(slack.id).status == "failed"
    assert http_receiver.to("/slack") == []


def test_a_stale_sending_claim_is_taken_over(team, channels, http_receiver):
    from datetime import timedelta

    from django.utils import timezone

    _open(team)
    hook = Notification.objects.get(channel=channels["webhook"])
    # A sender that died mid-send left the row "sending" long ago...
    Notification.objects.filter(id=hook.id).update(
        status=NotificationStatus.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert deliver(hook.id).status == "sent"
    # ...while a fresh claim belongs to a live sender and is left alone.
    slack = Notification.objects.get(channel=channels["slack"])
    Notification.objects.filter(id=slack.id).update(
        status=NotificationStatus.SENDING, claimed_at=timezone.now()
    )
    assert deliver(slack.id).status == "skipped"


def test_notifications_whose_task_was_lost_are_queued_again(team, channels, http_receiver):
    from datetime import timedelta

    from celery import current_app
    from django.utils import timezone

    from monitoring.alerts.delivery import requeue_stuck

    _open(team)  # on_commit never ran here: exactly like a broker that was down at commit
    assert requeue_stuck() == 0  # too recent: its task may simply not have run yet
    later = timezone.now() + timedelta(hours=2)
    assert requeue_stuck(now=later) == 4
    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue("default")
        ids = []
        while True:
            try:
                message = queue.get(block=True, timeout=0.5)
            except queue.Empty:
                break
            ids.append(message.payload[0][0])
            message.ack()
        queue.close()
    assert sorted(ids) == sorted(Notification.objects.values_list("id", flat=True))
    # Delivered ones are left alone.
    for notification_id in ids:
        deliver(notification_id)
    assert requeue_stuck(now=later) == 0
