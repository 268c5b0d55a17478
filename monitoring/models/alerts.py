"""Alert channels, open/resolved alerts, and every notification sent (or tried)."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from monitoring.models.domains import Domain
from monitoring.models.organizations import Organization

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


class Severity(models.TextChoices):
    INFO = "info", "Info and above"
    WARNING = "warning", "Warnings and errors"
    ERROR = "error", "Errors only"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Webhook"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class AlertChannel(models.Model):
    """Where an organization's alerts go. ``config`` holds the kind's settings (URL, addresses)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="alert_channels"
    )
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    # Signs webhook bodies (HMAC-SHA256); unused by the other kinds.
    secret = models.CharField(max_length=64, default=_new_secret, editable=False)
    enabled = models.BooleanField(default=True)
    min_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.WARNING
    )
    # No domains chosen means every domain of the organization, including future ones.
    domains = models.ManyToManyField(Domain, blank=True, related_name="alert_channels")
    daily_digest = models.BooleanField(default=False)
    disabled_reason = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def accepts(self, severity: str) -> bool:
        """Whether a message of ``severity`` is at or above this channel's threshold."""
        return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(self.min_severity, 0)

    @property
    def target_label(self) -> str:
        """Where it sends, for the UI (a URL's host only: the path of a webhook is a secret)."""
        if self.kind == ChannelKind.EMAIL:
            return ", ".join(self.config.get("emails", []))
        from urllib.parse import urlsplit

        return urlsplit(self.config.get("url", "")).hostname or ""


class AlertSource(models.TextChoices):
    CHECK = "check", "Check"
    DRIFT = "drift", "Drift"
    TLSRPT = "tlsrpt", "TLSRPT reports"
    OTHER = "other", "Other"


class Alert(models.Model):
    """A problem that is (or was) open on a domain: opened once, resolved once.

    At most one open alert exists per (domain, code, key): a partial unique constraint makes
    opening idempotent even when two workers race.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="alerts")
    code = models.CharField(max_length=64)
    key = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=10)
    subject = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=AlertSource.choices, default=AlertSource.CHECK)
    #: An event (e.g. the MX set changed) is told once and closes at once, with no resolve message.
    is_event = models.BooleanField(default=False)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    opened_by_run = models.ForeignKey(
        "monitoring.CheckRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_by_run = models.ForeignKey(
        "monitoring.CheckRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "code", "key"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_key",
            )
        ]
        indexes = [models.Index(fields=["domain", "-opened_at"], name="alert_domain_recent")]

    def __str__(self) -> str:
        state = "open" if self.is_open else "resolved"
        return f"{self.code} on {self.domain} ({state})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class NotificationKind(models.TextChoices):
    OPENED = "opened", "Opened"
    RESOLVED = "resolved", "Resolved"
    REMINDER = "reminder", "Reminder"
    EXPIRY = "expiry", "Certificate expiry"
    DIGEST = "digest", "Daily digest"
    TEST = "test", "Test"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One message to one channel, written before it is sent.

    ``dedup_key`` is unique per channel (e.g. ``opened:<alert id>``), so the same message can
    never be queued twice; ``payload`` is everything the sender needs, so sending needs no
    other row and a crash mid-send leaves a visible trace.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey(
        AlertChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    domain = models.ForeignKey(
        Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    dedup_key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # When a sender took it; a "sending" row much older than a send can take means it died.
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedup_key"], name="one_notification_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.channel} ({self.status})"
