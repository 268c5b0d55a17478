"""Policies this product serves itself, for domains whose ``mta-sts`` host is a CNAME to us."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from monitoring.models.domains import Domain

POLICY_HOST_PREFIX = "mta-sts."


class HostedPolicy(models.Model):
    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="hosted_policy")
    # mta-sts.<domain>: the Host header the policy is served for (kept in step by save()).
    host = models.CharField(max_length=253, editable=False, db_index=True)
    # Served byte for byte (UTF-8); CRLF line endings are kept as they are.
    policy_text = models.TextField()
    policy_id = models.CharField(max_length=32, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Two organizations may watch the same name, but only one may serve its policy.
            models.UniqueConstraint(
                fields=["host"],
                condition=models.Q(enabled=True),
                name="one_enabled_hosted_policy_per_host",
            )
        ]

    def __str__(self) -> str:
        return self.host

    def save(self, *args, **kwargs) -> None:
        self.host = POLICY_HOST_PREFIX + self.domain.name
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)

    @property
    def policy_bytes(self) -> bytes:
        return self.policy_text.encode("utf-8")
