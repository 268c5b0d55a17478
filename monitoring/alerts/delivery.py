"""Sending one stored Notification: claim it, send it, record the outcome.

The claim is a conditional update (pending -> sending), so two workers handed the same
notification never both send it. A transient failure puts it back to pending with a
back-off for the caller to retry; a permanent one fails it and disables the channel
with the reason, which the channels page shows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from monitoring.alerts import TransportError, transport_for
from monitoring.models import AlertChannel, Notification, NotificationKind, NotificationStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened; ``retry_in`` (seconds) is set when the caller should try again."""

    status: str
    retry_in: float | None = None
    error: str = ""


def deliver(notification_id: int) -> Outcome:
    """Send the notification with ``notification_id`` once, if nobody else is sending it."""
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_seconds())
    claimed = (
        Notification.objects.filter(id=notification_id)
        .filter(
            Q(status=NotificationStatus.PENDING)
            # A "sending" row this old means its sender died mid-send: take it over.
            | Q(status=NotificationStatus.SENDING, claimed_at__lt=stale)
        )
        .update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return Outcome("skipped")
    notification = Notification.objects.select_related("channel").get(id=notification_id)
    channel = notification.channel
    if not channel.enabled and notification.kind != NotificationKind.TEST:
        reason = channel.disabled_reason or "the channel is disabled"
        _finish(notification, NotificationStatus.FAILED, error=reason)
        return Outcome("failed", error=reason)
    return _send(notification, channel)


def _send(notification: Notification, channel: AlertChannel) -> Outcome:
    payload = {**notification.payload, "delivery": str(notification.uuid)}
    started = time.monotonic()
    try:
        transport_for(channel).send(payload)
    except TransportError as exc:
        return _failed(notification, channel, exc, _ms(started))
    except Exception as exc:  # a bug in a transport must not lose the message either
        log.exception("sending notification %s crashed", notification.id)
        return _failed(notification, channel, TransportError(f"internal error: {exc!r}"), 0)
    duration = _ms(started)
    _finish(notification, NotificationStatus.SENT, duration_ms=duration)
    AlertChannel.objects.filter(id=channel.id).update(
        last_sent_at=timezone.now(), last_duration_ms=duration, last_error=""
    )
    return Outcome("sent")


def _failed(
    notification: Notification, channel: AlertChannel, exc: TransportError, duration: int
) -> Outcome:
    message = exc.message[:1000]
    is_test = notification.kind == NotificationKind.TEST
    last_try = notification.attempts >= settings.ALERTS_MAX_ATTEMPTS
    if exc.permanent or last_try or is_test:
        _finish(notification, NotificationStatus.FAILED, error=message, duration_ms=duration)
        AlertChannel.objects.filter(id=channel.id).update(last_error=message)
        if exc.permanent and not is_test:
            disable_channel(channel, reason=message)
        log.warning("notification %s to %s failed: %s", notification.id, channel, message)
        return Outcome("failed", error=message)
    Notification.objects.filter(id=notification.id).update(
        status=NotificationStatus.PENDING, error=message, duration_ms=duration
    )
    AlertChannel.objects.filter(id=channel.id).update(last_error=message)
    return Outcome("retry", retry_in=backoff(notification.attempts), error=message)


def disable_channel(channel: AlertChannel, *, reason: str) -> bool:
    """Switch a channel off with the reason shown in the UI; False if it already was."""
    return bool(
        AlertChannel.objects.filter(id=channel.id, enabled=True).update(
            enabled=False, disabled_reason=reason[:1000]
        )
    )


def backoff(attempts: int) -> float:
    """Seconds before try ``attempts + 1``: doubling from the base, capped."""
    base = settings.ALERTS_RETRY_BASE_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), settings.ALERTS_RETRY_MAX_SECONDS))


def stale_after_seconds() -> int:
    """How long a send may take at most (an HTTP timeout plus slack) before it is retaken."""
    return int(settings.ALERTS_HTTP_TIMEOUT) * 3 + 30


def _finish(
    notification: Notification, status: str, *, error: str = "", duration_ms: int | None = None
) -> None:
    Notification.objects.filter(id=notification.id).update(
        status=status,
        error=error,
        sent_at=timezone.now() if status == NotificationStatus.SENT else None,
        duration_ms=duration_ms,
    )


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def requeue_stuck(*, now: datetime | None = None) -> int:
    """Queue again every notification whose task was lost; returns how many.

    A task can be lost when the broker was down at the moment its row committed, or when a
    broker without persistence restarted while a retry waited. Sending twice is impossible
    either way (the claim above), so re-queueing errs on the side of delivering.
    """
    from monitoring.tasks import send_notification

    now = now or timezone.now()
    waited = timedelta(seconds=settings.ALERTS_RETRY_MAX_SECONDS + stale_after_seconds())
    never_tried = Q(status=NotificationStatus.PENDING, attempts=0, created_at__lt=now - waited)
    retry_lost = Q(status=NotificationStatus.PENDING, attempts__gt=0, claimed_at__lt=now - waited)
    sender_died = Q(
        status=NotificationStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=stale_after_seconds()),
    )
    stuck = Notification.objects.filter(never_tried | retry_lost | sender_died)
    count = 0
    for notification_id in stuck.values_list("id", flat=True)[:1000]:
        send_notification.delay(notification_id)
        count += 1
    return count
