"""Claiming due domains: a conditional update on ``next_check_at`` makes every claim exclusive."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from monitoring.models import Domain

log = logging.getLogger(__name__)


def claim_due_domains(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim every enabled domain due at ``now`` and return the ids this caller won.

    Each claim moves ``next_check_at`` one interval ahead only if it still holds the value
    read, so two dispatchers racing over the same rows never both win a domain. The check
    task sets the real next time when it finishes; the interval is the lease until then.
    """
    now = now or timezone.now()
    limit = limit or settings.DISPATCH_BATCH_SIZE
    due = (
        Domain.objects.filter(enabled=True, next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("id", "next_check_at", "check_interval")[:limit]
    )
    won: list[int] = []
    for domain_id, seen, interval in due:
        claimed = Domain.objects.filter(id=domain_id, next_check_at=seen).update(
            next_check_at=now + interval
        )
        if claimed:
            won.append(domain_id)
    return won


def release_claim(domain_id: int, *, now: datetime) -> None:
    """Make a claimed domain due again, e.g. when its task could not be queued."""
    Domain.objects.filter(id=domain_id).update(next_check_at=now)


def dispatch(enqueue: Callable[[int], None], *, now: datetime | None = None) -> int:
    """Claim due domains and hand each to ``enqueue``; a domain that fails to queue is released.

    A dead broker therefore loses nothing: the domain stays due for the next tick.
    """
    now = now or timezone.now()
    sent = 0
    for domain_id in claim_due_domains(now=now):
        try:
            enqueue(domain_id)
        except Exception:
            log.exception("could not queue the check of domain %s; it stays due", domain_id)
            release_claim(domain_id, now=now)
        else:
            sent += 1
    return sent
