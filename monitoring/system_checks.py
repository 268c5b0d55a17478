"""Django system checks for settings that are valid one by one but clash together."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def check_time_limits(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Warn when Celery's soft time limit would interrupt a check before its own deadline.

    Not an error: tests set a tiny limit on purpose to exercise the interrupted path.
    """
    deadline = settings.CHECK_OPTIONS.deadline
    if deadline < settings.CHECK_TASK_SOFT_TIME_LIMIT:
        return []
    return [
        checks.Warning(
            f"CHECK_TASK_SOFT_TIME_LIMIT ({settings.CHECK_TASK_SOFT_TIME_LIMIT} s) is not above "
            f"MTASTS_DEADLINE ({deadline:g} s): checks would be cut off by Celery and stored "
            "as failed runs instead of ending with their findings.",
            hint="Raise CHECK_TASK_SOFT_TIME_LIMIT or lower MTASTS_DEADLINE.",
            id="stsguard.W001",
        )
    ]
