"""Run the check engine for one stored domain and record the outcome on it."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from monitoring.checks.engine import check_domain
from monitoring.models import Domain


def check_and_store(domain_id: int) -> str | None:
    """Check the domain with ``domain_id`` and store its status; ``None`` if it is gone."""
    domain = Domain.objects.filter(id=domain_id).first()
    if domain is None:
        return None
    report = check_domain(domain.name, settings.CHECK_OPTIONS)
    finished = timezone.now()
    Domain.objects.filter(id=domain.id).update(
        status=report.status,
        last_checked_at=finished,
        next_check_at=finished + domain.check_interval,
    )
    return report.status
