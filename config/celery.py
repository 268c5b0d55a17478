"""The Celery app: one static beat entry claims due domains; checks have their own queue."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _digest_hour() -> int:
    # Read lazily from the environment: settings are not loaded when this module is.
    return int(os.environ.get("ALERTS_DIGEST_HOUR", "8") or 8)


app = Celery("stsguard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_default_queue="default",
    task_queues=(
        Queue("default", Exchange("default"), routing_key="default"),
        # Network-bound checks get their own queue so slow MX hosts never starve report parsing.
        Queue("checks", Exchange("checks"), routing_key="checks"),
    ),
    task_routes={
        "monitoring.tasks.run_check": {"queue": "checks"},
        # Each notification is its own task on default, so a slow channel delays no other.
        "monitoring.tasks.send_notification": {"queue": "default"},
        # TLSRPT parsing is database work: default queue, never behind slow MX checks.
        "reports.tasks.*": {"queue": "default"},
    },
    task_soft_time_limit=120,
    task_time_limit=180,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "dispatch-due-checks": {
            "task": "monitoring.tasks.dispatch_due_checks",
            "schedule": 60.0,
            "options": {"expires": 55},
        },
        "send-alert-reminders": {
            "task": "monitoring.tasks.send_reminders",
            "schedule": 300.0,
            "options": {"expires": 290},
        },
        "requeue-stuck-notifications": {
            "task": "monitoring.tasks.requeue_stuck_notifications",
            "schedule": 300.0,
            "options": {"expires": 290},
        },
        "send-daily-digests": {
            "task": "monitoring.tasks.send_digests",
            "schedule": crontab(minute=0, hour=_digest_hour()),
        },
        "tlsrpt-requeue-pending-reports": {
            "task": "reports.tasks.requeue_pending_reports",
            "schedule": crontab(minute="*/15"),
        },
        "tlsrpt-check-stopped-reports": {
            "task": "reports.tasks.check_stopped_reports",
            "schedule": crontab(minute=41),
        },
        "tlsrpt-poll-imap-mailboxes": {
            "task": "reports.tasks.poll_imap_mailboxes",
            "schedule": float(os.environ.get("IMAP_POLL_SECONDS", "300") or 300),
            "options": {"expires": 240},
        },
        "prune-check-runs": {
            "task": "monitoring.tasks.prune_runs",
            "schedule": crontab(minute=17, hour=3),
        },
    },
)
app.autodiscover_tasks()
