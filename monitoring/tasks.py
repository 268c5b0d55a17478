"""Celery tasks: thin wrappers that take an id, call a service, and retry on transient errors.

Queues: ``run_check`` on ``checks`` (network-bound); everything else on ``default``, and
each notification is its own task so a slow channel never holds up another.
"""

from __future__ import annotations

import contextlib
import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from monitoring import scheduling

log = logging.getLogger(__name__)

#: Database errors worth retrying: the server restarting, a dropped connection, a lock timeout.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@shared_task(name="monitoring.tasks.dispatch_due_checks", ignore_result=True)
def dispatch_due_checks() -> int:
    """Claim due domains and queue one ``run_check`` per domain on the ``checks`` queue."""
    return scheduling.dispatch(lambda domain_id: run_check.apply_async((domain_id,), retry=False))


@shared_task(
    bind=True,
    name="monitoring.tasks.run_check",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.CHECK_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CHECK_TASK_TIME_LIMIT,
    max_retries=settings.CHECK_DB_MAX_RETRIES,
    ignore_result=True,
)
def run_check(self, domain_id: int) -> str | None:
    """Check one domain now and store the run (idempotent per task id)."""
    from monitoring.runner import check_and_store

    try:
        return check_and_store(domain_id, task_id=self.request.id)
    except TRANSIENT_DB_ERRORS as exc:
        # A dead connection stays dead in this process until it is closed.
        _drop_connection()
        log.warning("database unavailable while checking domain %s: %s; retrying", domain_id, exc)
        raise self.retry(exc=exc, countdown=settings.CHECK_DB_RETRY_SECONDS) from exc


@shared_task(
    bind=True,
    name="monitoring.tasks.send_notification",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the delivery service counts attempts itself
    ignore_result=True,
)
def send_notification(self, notification_id: int) -> str:
    """Send one notification; a transient failure is retried with back-off."""
    from monitoring.alerts.delivery import deliver

    try:
        outcome = deliver(notification_id)
    except TRANSIENT_DB_ERRORS as exc:
        _drop_connection()
        raise self.retry(exc=exc, countdown=settings.CHECK_DB_RETRY_SECONDS) from exc
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="monitoring.tasks.send_reminders", ignore_result=True)
def send_reminders() -> int:
    """Remind channels of alerts that stayed open (beat, every few minutes)."""
    from monitoring.alerting import send_reminders as remind

    return remind()


@shared_task(name="monitoring.tasks.requeue_stuck_notifications", ignore_result=True)
def requeue_stuck_notifications() -> int:
    """Queue again notifications whose task was lost (beat, every few minutes)."""
    from monitoring.alerts.delivery import requeue_stuck

    return requeue_stuck()


@shared_task(name="monitoring.tasks.send_digests", ignore_result=True)
def send_digests() -> int:
    """Queue the daily digest of every channel that wants one (beat, daily)."""
    from monitoring.alerts.digest import send_digests as digests

    return digests()


@shared_task(name="monitoring.tasks.prune_runs", ignore_result=True)
def prune_runs() -> int:
    """Apply the run retention policy (beat, daily)."""
    from monitoring.retention import prune

    return prune().deleted


def _drop_connection() -> None:
    from django.db import connection

    with contextlib.suppress(DatabaseError):
        connection.close()
