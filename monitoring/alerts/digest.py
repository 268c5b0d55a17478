"""The optional daily digest: per channel, what opened and resolved in the last 24 hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from monitoring.alerting import queue_notification, routed_domain_ids
from monitoring.alerts.messages import title_of
from monitoring.models import Alert, AlertChannel, NotificationKind

MAX_ITEMS = 50


def digest_items(channel: AlertChannel, *, since: datetime, until: datetime) -> list[str]:
    """One line per alert of the channel's domains that opened or resolved in the window."""
    alerts = (
        Alert.objects.filter(domain__organization_id=channel.organization_id)
        .filter(
            Q(opened_at__gte=since, opened_at__lt=until)
            | Q(resolved_at__gte=since, resolved_at__lt=until)
        )
        .select_related("domain")
        .order_by("domain__name", "opened_at")
    )
    picked = routed_domain_ids(channel)
    lines = []
    for alert in alerts:
        if (picked and alert.domain_id not in picked) or not channel.accepts(alert.severity):
            continue
        title = title_of({"code": alert.code})
        if alert.is_event:
            state = "changed"
        elif alert.resolved_at and alert.resolved_at >= since:
            state = "resolved" if alert.opened_at < since else "opened and resolved"
        else:
            state = "opened"
        lines.append(f"{alert.domain.name}: {state}: {title} ({alert.severity}) {alert.message}")
    if len(lines) > MAX_ITEMS:
        lines = [*lines[:MAX_ITEMS], f"... and {len(lines) - MAX_ITEMS} more"]
    return lines


def send_digests(*, now: datetime | None = None) -> int:
    """Queue today's digest for every enabled channel that wants one and has news."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    queued = 0
    for channel in AlertChannel.objects.filter(enabled=True, daily_digest=True).select_related(
        "organization"
    ):
        items = digest_items(channel, since=since, until=now)
        if not items:
            continue
        payload = {
            "event": NotificationKind.DIGEST,
            "organization": channel.organization.name,
            "severity": "info",
            "period": {"from": since.isoformat(), "to": now.isoformat()},
            "items": items,
            "url": "",
        }
        if queue_notification(
            channel=channel,
            kind=NotificationKind.DIGEST,
            dedup_key=f"digest:{now.date().isoformat()}",
            payload=payload,
        ):
            queued += 1
    return queued
