"""Celery tasks: thin wrappers that load rows and call services."""

from __future__ import annotations

from celery import shared_task

from monitoring import scheduling


@shared_task(name="monitoring.tasks.dispatch_due_checks", ignore_result=True)
def dispatch_due_checks() -> int:
    """Claim due domains and queue one ``run_check`` per domain on the ``checks`` queue."""
    return scheduling.dispatch(lambda domain_id: run_check.apply_async((domain_id,), retry=False))


@shared_task(
    name="monitoring.tasks.run_check",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def run_check(domain_id: int) -> str | None:
    """Check one domain now and store the result."""
    from monitoring.runner import check_and_store

    return check_and_store(domain_id)
