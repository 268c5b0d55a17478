"""Run the check engine for one stored domain and record everything it saw, in one transaction.

``check_and_store`` is what the ``run_check`` task calls. The engine runs outside any
transaction (it talks to the network for up to its deadline); the result is then stored
atomically: the ``CheckRun``, its ``Finding`` rows, drift against the previous run, the
alerts that open or resolve, and the domain's status and next due time. A check that
crashes or times out is stored as a failed run with the reason, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from monitoring import alerting, drift
from monitoring.checks.engine import check_domain
from monitoring.checks.findings import Finding as EngineFinding
from monitoring.models import CheckRun, Domain, Finding, RunStatus
from monitoring.summary import update_summary

log = logging.getLogger(__name__)

Engine = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Observed:
    """What the engine gave back: its report as a dict, or the reason there is none."""

    started_at: datetime
    finished_at: datetime
    facts: dict[str, Any] | None
    error: str = ""


def check_and_store(
    domain_id: int, *, task_id: str | None = None, engine: Engine | None = None
) -> str | None:
    """Check the domain with ``domain_id`` and store the run; returns the run's status.

    ``None`` if the domain is gone. ``task_id`` makes the call idempotent: a task that is
    delivered again after it stored its run (a worker lost before the ack) stores nothing.
    """
    domain = Domain.objects.filter(id=domain_id).select_related("organization").first()
    if domain is None:
        return None
    if task_id and CheckRun.objects.filter(task_id=task_id).exists():
        return CheckRun.objects.get(task_id=task_id).status
    observed = observe(domain.name, engine or _engine)
    return store_run(domain, observed, task_id=task_id).status


def observe(name: str, engine: Engine) -> Observed:
    """Run ``engine`` on ``name``; a timeout or crash becomes an error, not an exception."""
    started = timezone.now()
    try:
        facts = engine(name)
    except SoftTimeLimitExceeded:
        limit = settings.CHECK_TASK_SOFT_TIME_LIMIT
        return Observed(started, timezone.now(), None, f"The check timed out after {limit} s.")
    except DatabaseError:
        raise  # not the check's fault: the task retries
    except Exception as exc:
        log.exception("the check of %s crashed", name)
        return Observed(started, timezone.now(), None, f"The check crashed: {exc!r}"[:2000])
    if _cut_short(facts):
        limit = settings.CHECK_TASK_SOFT_TIME_LIMIT
        return Observed(started, timezone.now(), None, f"The check timed out after {limit} s.")
    return Observed(started, timezone.now(), facts)


def _cut_short(facts: dict[str, Any]) -> bool:
    """Whether the soft time limit fired inside the engine.

    The engine turns an exception in one part into a finding ("the checker failed: ...")
    so the other parts survive; Celery's SoftTimeLimitExceeded is an Exception, so it
    lands there too. Such a report is incomplete, and storing it as the domain's state
    would open and resolve alerts on half the facts.
    """
    marker = SoftTimeLimitExceeded.__name__
    return any(marker in str(f.get("message", "")) for f in facts.get("findings") or [])


def _engine(name: str) -> dict[str, Any]:
    return check_domain(name, settings.CHECK_OPTIONS).to_dict()


def store_run(domain: Domain, observed: Observed, *, task_id: str | None = None) -> CheckRun:
    """Store one run with its findings, drift and alerts, and move the domain on, atomically."""
    try:
        with transaction.atomic():
            # Serialises runs of one domain (scheduled and "check now"), so drift is computed
            # against the run that really came before.
            Domain.objects.select_for_update().filter(id=domain.id).first()
            return _store(domain, observed, task_id)
    except IntegrityError:
        existing = CheckRun.objects.filter(task_id=task_id).first() if task_id else None
        if existing is None:
            raise
        return existing  # stored by an earlier delivery of the same task


def _store(domain: Domain, observed: Observed, task_id: str | None) -> CheckRun:
    previous = last_completed_run(domain)
    if observed.facts is None:
        run = _create_run(domain, observed, task_id, RunStatus.FAILED, {})
        _schedule(domain, run, confirming=True)
        return run
    facts = observed.facts
    previous_findings = _finding_dicts(previous)
    result = drift.compare(
        previous.facts if previous else None,
        facts,
        (previous.drift or {}).get("state") if previous else None,
        previous_findings,
    )
    status = _status(facts, result.findings)
    summary = {**result.to_dict(), "changed": sorted(drift.changes(_facts(previous), facts))}
    run = _create_run(domain, observed, task_id, status, summary, facts)
    rows = _create_findings(run, [*_engine_findings(facts), *result.findings], previous_findings)
    confirming = alerting.sync_run_alerts(run, rows)
    alerting.certificate_reminders(run)
    update_summary(domain, facts)
    _schedule(domain, run, confirming=confirming)
    return run


def last_completed_run(domain: Domain) -> CheckRun | None:
    """The latest run that finished a check (failed runs know nothing about the domain)."""
    return (
        CheckRun.objects.filter(domain=domain)
        .exclude(status=RunStatus.FAILED)
        .order_by("-finished_at", "-id")
        .first()
    )


def _create_run(
    domain: Domain,
    observed: Observed,
    task_id: str | None,
    status: str,
    summary: dict[str, Any],
    facts: dict[str, Any] | None = None,
) -> CheckRun:
    duration = (observed.finished_at - observed.started_at).total_seconds()
    return CheckRun.objects.create(
        domain=domain,
        task_id=task_id,
        started_at=observed.started_at,
        finished_at=observed.finished_at,
        duration_ms=int((facts or {}).get("duration_ms") or duration * 1000),
        status=status,
        error=observed.error,
        facts=facts or {},
        drift=summary,
    )


def _create_findings(
    run: CheckRun, findings: list[EngineFinding], previous: list[dict[str, Any]]
) -> list[Finding]:
    streaks = {drift.finding_key(f): int(f.get("streak", 1)) for f in previous}
    rows, seen = [], set()
    for finding in findings:
        key = drift.finding_key(finding)
        if key in seen:
            continue  # one row per (code, subject): the engine groups, drift may repeat
        seen.add(key)
        rows.append(
            Finding(
                run=run,
                code=finding.code,
                severity=finding.severity,
                subject=finding.subject[:255],
                message=finding.message,
                hint=finding.hint,
                streak=streaks.get(key, 0) + 1,
            )
        )
    return Finding.objects.bulk_create(rows)


def _schedule(domain: Domain, run: CheckRun, *, confirming: bool) -> None:
    """Set the domain's status and next check; sooner while a failure waits to be confirmed."""
    interval = domain.check_interval
    if confirming:
        interval = min(interval, timedelta(seconds=settings.ALERTS_RECHECK_SECONDS))
    fields: dict[str, Any] = {
        "last_checked_at": run.finished_at,
        "next_check_at": run.finished_at + interval,
    }
    if run.status != RunStatus.FAILED:
        fields["status"] = run.status
    Domain.objects.filter(id=domain.id).update(**fields)


def _status(facts: dict[str, Any], drift_findings: list[EngineFinding]) -> str:
    # Drift errors (a stale id) count towards the domain's status like any other finding.
    ranks = {"ok": 0, "warning": 1, "error": 2}
    worst = ranks.get(str(facts.get("status")), 0)
    for finding in drift_findings:
        worst = max(worst, ranks.get(finding.severity, 0))
    return {0: RunStatus.OK, 1: RunStatus.WARNING, 2: RunStatus.ERROR}[worst]


def _engine_findings(facts: dict[str, Any]) -> list[EngineFinding]:
    return [EngineFinding.from_dict(f) for f in facts.get("findings") or []]


def _finding_dicts(run: CheckRun | None) -> list[dict[str, Any]]:
    if run is None:
        return []
    return list(run.findings.values("code", "severity", "subject", "streak"))


def _facts(run: CheckRun | None) -> dict[str, Any] | None:
    return run.facts if run is not None else None
