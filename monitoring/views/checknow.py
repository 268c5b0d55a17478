"""The "check now" button: queue a check of one domain and show its result without a reload.

POST queues ``run_check`` under a task id of our choosing and answers a fragment that polls
the status URL; the status view answers the result once the run with that task id is
stored. A per-domain cooldown (``CHECK_NOW_COOLDOWN_SECONDS``, in the shared cache) keeps
the button from being used as a traffic generator.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring.access import get_domain
from monitoring.models import CheckRun, Domain


def cooldown_key(domain: Domain) -> str:
    return f"check-now:{domain.id}"


@login_required
@require_POST
def check_now(request: HttpRequest, domain_uuid) -> HttpResponse:
    domain, can_write = get_domain(request, domain_uuid, write=True)
    cooldown = settings.CHECK_NOW_COOLDOWN_SECONDS
    context = {"domain": domain, "can_write": can_write}
    if cooldown and not cache.add(cooldown_key(domain), timezone.now().isoformat(), cooldown):
        context["state"] = "limited"
        context["cooldown"] = cooldown
        return render(request, "monitoring/partials/check_now.html", context, status=429)
    task_id = queue_check(domain)
    context.update(state="running", task_id=task_id, started=timezone.now().isoformat())
    return render(request, "monitoring/partials/check_now.html", context, status=202)


def queue_check(domain: Domain) -> str:
    """Queue a check of ``domain`` after commit; returns the task id its run will carry."""
    from monitoring.tasks import run_check

    task_id = f"now-{uuid.uuid4()}"
    transaction.on_commit(lambda: run_check.apply_async((domain.id,), task_id=task_id))
    return task_id


@login_required
def check_now_status(request: HttpRequest, domain_uuid, task_id: str) -> HttpResponse:
    domain, can_write = get_domain(request, domain_uuid)
    run = CheckRun.objects.filter(domain=domain, task_id=task_id).defer("facts").first()
    context = {"domain": domain, "can_write": can_write, "task_id": task_id}
    if run is None:
        started = request.GET.get("started", "")
        context.update(state="running", started=started, lost=_overdue(started))
        if context["lost"]:
            context["state"] = "lost"
        return render(request, "monitoring/partials/check_now.html", context)
    context.update(state="done", run=run, findings=list(run.findings.all()))
    response = render(request, "monitoring/partials/check_now.html", context)
    # Lets the domain page refresh its other parts (findings, history) when a check lands.
    response["HX-Trigger"] = "stsguard:checked"
    return response


def _overdue(started: str) -> bool:
    """Whether a queued check is long past the time a check can take (no worker, most likely)."""
    try:
        at = timezone.datetime.fromisoformat(started)
    except ValueError:
        return False
    limit = timedelta(seconds=settings.CHECK_TASK_TIME_LIMIT + 60)
    return timezone.now() - at > limit
