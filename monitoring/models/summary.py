"""What the dashboard shows for one domain, kept on one row so a page of domains is one query.

``monitoring.summary.update_summary`` rewrites the row from each stored check report; the
TLSRPT figures are refreshed from the reports app at the same time (and whenever a report
arrives, if that app calls ``refresh_tlsrpt``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from monitoring.models.domains import Domain


class DomainSummary(models.Model):
    domain = models.OneToOneField(
        Domain, on_delete=models.CASCADE, primary_key=True, related_name="summary"
    )
    mode = models.CharField(max_length=10, blank=True)  # enforce, testing, none, "" (no policy)
    policy_id = models.CharField(max_length=64, blank=True)
    mx_total = models.PositiveSmallIntegerField(default=0)
    mx_covered = models.PositiveSmallIntegerField(default=0)
    # Fewest days left on any certificate seen (policy host or any MX address).
    min_cert_days = models.IntegerField(null=True, blank=True, db_index=True)
    min_cert_host = models.CharField(max_length=253, blank=True)
    errors = models.PositiveSmallIntegerField(default=0)
    warnings = models.PositiveSmallIntegerField(default=0)
    # Share of TLS sessions that succeeded over the last 7 days (0..1); null: no reports.
    tlsrpt_rate_7d = models.FloatField(null=True, blank=True, db_index=True)
    tlsrpt_daily = models.JSONField(default=list, blank=True)  # 7 daily rates, null for no data
    tlsrpt_sessions_7d = models.PositiveIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)  # the last DomainReport.to_dict()
    checked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "domain summaries"

    def __str__(self) -> str:
        return f"summary of {self.domain_id}"

    @property
    def coverage_label(self) -> str:
        if not self.mx_total:
            return "—"
        return f"{self.mx_covered}/{self.mx_total}"

    @property
    def fully_covered(self) -> bool:
        return self.mx_total > 0 and self.mx_covered == self.mx_total
