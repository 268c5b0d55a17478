"""A monitored domain and when it is next due for a check."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from monitoring.checks.names import normalize_domain
from monitoring.models.organizations import Organization

MIN_CHECK_INTERVAL = timedelta(minutes=5)
DEFAULT_CHECK_INTERVAL = timedelta(hours=1)


class DomainStatus(models.TextChoices):
    PENDING = "pending", "Not checked yet"
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


def validate_domain_name(value: str) -> None:
    try:
        normalize_domain(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class Domain(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253, validators=[validate_domain_name])
    enabled = models.BooleanField(default=True)
    check_interval = models.DurationField(
        default=DEFAULT_CHECK_INTERVAL, validators=[MinValueValidator(MIN_CHECK_INTERVAL)]
    )
    next_check_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Stamped by the claiming UPDATE so the dispatcher can read back which rows it won.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    status = models.CharField(
        max_length=10, choices=DomainStatus.choices, default=DomainStatus.PENDING
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_domain_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # The stored name is always the normalised A-label, whatever path created the row.
        self.name = normalize_domain(self.name)
        super().save(*args, **kwargs)

    @property
    def interval_label(self) -> str:
        minutes = int(self.check_interval.total_seconds() // 60)
        if minutes % 1440 == 0:
            return f"{minutes // 1440} day" + ("s" if minutes > 1440 else "")
        if minutes % 60 == 0:
            return f"{minutes // 60} hour" + ("s" if minutes > 60 else "")
        return f"{minutes} minutes"
