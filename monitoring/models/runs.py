"""Check runs: what one check of one domain saw, and the findings it produced."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from monitoring.models.domains import Domain


class RunStatus(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    #: The check itself did not finish (timed out, crashed): nothing is known about the domain.
    FAILED = "failed", "Check failed"


class CheckRun(models.Model):
    """One check of one domain. ``facts`` is the engine's ``DomainReport.to_dict()``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="runs")
    # The Celery task id (or another caller token): a redelivered task stores its run once.
    task_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(default=timezone.now, db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    error = models.TextField(blank=True)
    facts = models.JSONField(default=dict, blank=True)
    # What drift.compare said about this run against the previous one, and the state it carries.
    drift = models.JSONField(default=dict, blank=True)
    # Retention keeps one run a day after the full-history window; the kept ones are marked.
    kept_daily = models.BooleanField(default=False)

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["domain", "-finished_at"], name="run_domain_recent")]

    def __str__(self) -> str:
        return f"{self.domain} at {self.finished_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def failed(self) -> bool:
        return self.status == RunStatus.FAILED


class Finding(models.Model):
    """One finding of one run; ``streak`` counts consecutive runs that reported it."""

    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="findings")
    code = models.CharField(max_length=64)
    severity = models.CharField(max_length=10)
    subject = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    streak = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["code"], name="finding_code")]

    def __str__(self) -> str:
        return f"{self.code} ({self.severity}) {self.subject}"
