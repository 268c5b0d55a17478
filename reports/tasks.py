"""Celery tasks for TLSRPT: thin wrappers that take an id and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(
    name="reports.tasks.parse_raw_report",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=180,
    ignore_result=True,
)
def parse_raw_report(raw_id: int) -> str | None:
    """Parse one stored raw report; a crash is recorded on the row, not retried forever."""
    from reports import ingest

    try:
        outcome = ingest.parse_raw(raw_id)
    except Exception as exc:
        log.exception("parsing raw report %s failed", raw_id)
        ingest.mark_error(raw_id, exc)
        return "error"
    return None if outcome is None else outcome.raw.status


@shared_task(name="reports.tasks.requeue_pending_reports", ignore_result=True)
def requeue_pending_reports(older_than_minutes: int = 10, limit: int = 5000) -> int:
    """Queue again raw reports still pending after a while (a lost task, a broker outage)."""
    from datetime import timedelta

    from django.utils import timezone

    from reports.models import RawReport, RawStatus

    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = list(
        RawReport.objects.filter(status=RawStatus.PENDING, received_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for raw_id in ids:
        parse_raw_report.apply_async((raw_id,), retry=False)
    return len(ids)


@shared_task(name="reports.tasks.check_stopped_reports", ignore_result=True)
def check_stopped_reports() -> int:
    """Open or resolve "reports stopped arriving" alerts for every domain; returns opened."""
    from reports.alerts import evaluate_stopped

    return evaluate_stopped()


@shared_task(name="reports.tasks.poll_imap_mailboxes", ignore_result=True)
def poll_imap_mailboxes() -> int:
    """Queue one poll per enabled IMAP mailbox."""
    from reports.models import ImapMailbox

    ids = list(ImapMailbox.objects.filter(enabled=True).values_list("id", flat=True))
    for mailbox_id in ids:
        poll_imap_mailbox.apply_async((mailbox_id,), retry=False)
    return len(ids)


@shared_task(
    name="reports.tasks.poll_imap_mailbox",
    soft_time_limit=240,
    time_limit=300,
    ignore_result=True,
)
def poll_imap_mailbox(mailbox_id: int) -> int:
    """Take the new messages of one mailbox; returns how many were stored."""
    from reports.receivers.imap import poll_mailbox_id

    return poll_mailbox_id(mailbox_id)
