"""Writes to alert channels: create, update, enable/disable, delete, send a test."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from monitoring.alerting import queue_notification
from monitoring.models import (
    AlertChannel,
    Domain,
    Notification,
    NotificationKind,
    Organization,
)


@transaction.atomic
def channel_save(
    *,
    organization: Organization,
    data: dict[str, Any],
    config: dict[str, Any],
    channel: AlertChannel | None = None,
) -> AlertChannel:
    """Create (``channel=None``) or update a channel from a valid form's cleaned data."""
    if channel is None:
        channel = AlertChannel(organization=organization, kind=data["kind"])
    elif channel.config != config:
        # A new destination gets a fresh chance: the channel was disabled for the old one.
        channel.enabled, channel.disabled_reason, channel.last_error = True, "", ""
    channel.name = data["name"]
    channel.config = config
    channel.min_severity = data["min_severity"]
    channel.daily_digest = bool(data.get("daily_digest"))
    channel.save()
    domains: list[Domain] = [
        d for d in data.get("domains") or [] if d.organization_id == organization.id
    ]
    channel.domains.set(domains)
    return channel


def channel_set_enabled(channel: AlertChannel, *, enabled: bool) -> None:
    """Switch a channel on (clearing why it was off) or off."""
    AlertChannel.objects.filter(id=channel.id).update(
        enabled=enabled, disabled_reason="" if enabled else "Disabled by a user."
    )


@transaction.atomic
def channel_send_test(channel: AlertChannel, *, user: Any = None) -> Notification:
    """Queue a test message to ``channel`` (even when disabled: it checks a fixed URL)."""
    who = getattr(user, "email", "") or "someone"
    now = timezone.now()
    payload = {
        "event": NotificationKind.TEST,
        "organization": channel.organization.name,
        "channel": channel.name,
        "domain": "example.com",
        "code": "test",
        "title": "Test message",
        "severity": "info",
        "subject": "This channel",
        "message": f"{who} sent a test at {now:%Y-%m-%d %H:%M} UTC.",
        "hint": "Nothing to do: if you can read this, the channel works.",
        "url": "",
    }
    notification = queue_notification(
        channel=channel,
        kind=NotificationKind.TEST,
        dedup_key=f"test:{uuid.uuid4().hex}",
        payload=payload,
    )
    assert notification is not None  # a random key is new by construction
    return notification
