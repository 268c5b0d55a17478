"""Run retention: every run for ``RETENTION_FULL_DAYS``, then one run per domain per day.

The run kept for a day is the last of that day, so the daily history still ends each day
in the state the domain was really in. The latest completed run of a domain is never
removed: drift compares the next run with it. ``RETENTION_DAILY_DAYS`` (0: for ever)
bounds how long daily runs stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.models import CheckRun, RunStatus

BATCH = 500


@dataclass
class PruneResult:
    deleted: int = 0
    kept_daily: int = 0


def prune(*, now: datetime | None = None) -> PruneResult:
    """Thin out runs older than the full-history window, for every domain."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RETENTION_FULL_DAYS)
    result = PruneResult()
    domain_ids = (
        CheckRun.objects.filter(finished_at__lt=cutoff, kept_daily=False)
        .values_list("domain_id", flat=True)
        .distinct()
    )
    for domain_id in list(domain_ids):
        deleted, kept = prune_domain(domain_id, cutoff=cutoff)
        result.deleted += deleted
        result.kept_daily += kept
    if settings.RETENTION_DAILY_DAYS:
        result.deleted += _drop_expired(now - timedelta(days=settings.RETENTION_DAILY_DAYS))
    return result


def prune_domain(domain_id: int, *, cutoff: datetime) -> tuple[int, int]:
    """Keep the last run of each day before ``cutoff`` for one domain; returns (deleted, kept)."""
    protected = _latest_completed(domain_id)
    runs = CheckRun.objects.filter(domain_id=domain_id, finished_at__lt=cutoff).order_by(
        "finished_at", "id"
    )
    by_day: dict[date, list[tuple[int, bool]]] = {}
    for run_id, finished_at, kept in runs.values_list("id", "finished_at", "kept_daily"):
        by_day.setdefault(finished_at.date(), []).append((run_id, kept))
    doomed: list[int] = []
    keepers: list[int] = []
    for day_runs in by_day.values():
        already = [run_id for run_id, kept in day_runs if kept]
        keeper = already[-1] if already else day_runs[-1][0]
        keepers.append(keeper)
        doomed += [run_id for run_id, _ in day_runs if run_id not in (keeper, protected)]
    with transaction.atomic():
        CheckRun.objects.filter(id__in=keepers, kept_daily=False).update(kept_daily=True)
        deleted = 0
        for start in range(0, len(doomed), BATCH):
            deleted += (
                CheckRun.objects.filter(id__in=doomed[start : start + BATCH])
                .delete()[1]
                .get("monitoring.CheckRun", 0)
            )
    return deleted, len(keepers)


def _drop_expired(limit: datetime) -> int:
    deleted = 0
    old = CheckRun.objects.filter(finished_at__lt=limit)
    for domain_id in list(old.values_list("domain_id", flat=True).distinct()):
        protected = _latest_completed(domain_id)
        victims = old.filter(domain_id=domain_id).exclude(id=protected)
        deleted += victims.delete()[1].get("monitoring.CheckRun", 0)
    return deleted


def _latest_completed(domain_id: int) -> int | None:
    return (
        CheckRun.objects.filter(domain_id=domain_id)
        .exclude(status=RunStatus.FAILED)
        .order_by("-finished_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
