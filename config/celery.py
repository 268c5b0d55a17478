"""The Celery app: one static beat entry claims due domains; checks have their own queue."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
    task_routes={"monitoring.tasks.run_check": {"queue": "checks"}},
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
    },
)
app.autodiscover_tasks()
