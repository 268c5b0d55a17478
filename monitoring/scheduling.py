"""Claiming due domains: a conditional update of ``next_check_at`` makes every claim exclusive."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.utils import timezone

from monitoring.models import Domain

log = logging.getLogger(__name__)


def claim_due_domains(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim every enabled domain due at ``now`` and return the ids this caller won.

    One conditional UPDATE moves ``next_check_at`` one interval ahead for the rows that
    are still due and stamps them with this claim's token; a dispatcher racing over the
    same rows finds them no longer due (PostgreSQL re-checks the condition after the
    row lock, SQLite serialises writers), so no domain is won twice. The check task sets
    the real next time when it finishes; the interval is the lease until then.
    """
    now = now or timezone.now()
    limit = limit or settings.DISPATCH_BATCH_SIZE
    due = Domain.objects.filter(enabled=True, next_check_at__lte=now)
    candidates = list(due.order_by("next_check_at").values_list("id", flat=True)[:limit])
    if not candidates:
        return []
    token = uuid.uuid4()
    due.filter(id__in=candidates).update(
        next_check_at=ExpressionWrapper(
            Value(now) + F("check_interval"), output_field=DateTimeField()
        ),
        claim_token=token,
    )
    return list(
        Domain.objects.filter(id__in=candidates, claim_token=token).values_list("id", flat=True)
    )


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
