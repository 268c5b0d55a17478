"""A domain's history: the runs, what changed between them, and the alerts sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from monitoring import drift
from monitoring.access import get_domain
from monitoring.models import Alert, CheckRun, Domain, Notification, RunStatus

PAGE_SIZE = 25
COMPACT_SIZE = 8


@dataclass
class TimelineEntry:
    """One run on the timeline and what it changed against the run before it."""

    run: CheckRun
    changes: dict[str, Any] = field(default_factory=dict)
    new: list[list[str]] = field(default_factory=list)
    resolved: list[list[str]] = field(default_factory=list)
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)

    @property
    def eventful(self) -> bool:
        return (
            bool(self.changes or self.new or self.resolved or self.opened or self.closed)
            or self.run.status == RunStatus.FAILED
        )


def timeline(domain: Domain, runs: list[CheckRun], older: CheckRun | None) -> list[TimelineEntry]:
    """Entries for ``runs`` (newest first); ``older`` is the run just before the last one."""
    opened: dict[int, list[Alert]] = {}
    closed: dict[int, list[Alert]] = {}
    ids = [r.id for r in runs]
    for alert in Alert.objects.filter(domain=domain, opened_by_run_id__in=ids):
        opened.setdefault(alert.opened_by_run_id, []).append(alert)
    for alert in Alert.objects.filter(domain=domain, resolved_by_run_id__in=ids):
        closed.setdefault(alert.resolved_by_run_id, []).append(alert)
    entries = []
    chain = [*runs, older]
    for index, run in enumerate(runs):
        before = _previous_completed(chain[index + 1 :])
        summary = run.drift or {}
        entries.append(
            TimelineEntry(
                run=run,
                changes=drift.changes(before.facts if before else None, run.facts)
                if not run.failed
                else {},
                new=summary.get("new", []),
                resolved=summary.get("resolved", []),
                opened=opened.get(run.id, []),
                closed=closed.get(run.id, []),
            )
        )
    return entries


def _previous_completed(candidates: list[CheckRun | None]) -> CheckRun | None:
    return next((r for r in candidates if r is not None and not r.failed), None)


def _page(domain: Domain, number: Any, size: int) -> tuple[Any, list[TimelineEntry]]:
    runs = CheckRun.objects.filter(domain=domain).order_by("-finished_at", "-id")
    page = Paginator(runs, size).get_page(number)
    items = list(page.object_list)
    older = None
    if items:
        last = items[-1]
        older = (
            runs.filter(finished_at__lte=last.finished_at)
            .exclude(id=last.id)
            .exclude(status=RunStatus.FAILED)
            .first()
        )
    return page, timeline(domain, items, older)


def _sent(domain: Domain, limit: int) -> list[Notification]:
    return list(
        Notification.objects.filter(domain=domain)
        .select_related("channel", "alert")
        .order_by("-created_at")[:limit]
    )


@login_required
def domain_history(request: HttpRequest, domain_uuid) -> HttpResponse:
    domain, can_write = get_domain(request, domain_uuid)
    page, entries = _page(domain, request.GET.get("page"), PAGE_SIZE)
    context = {
        "domain": domain,
        "organization": domain.organization,
        "can_write": can_write,
        "page": page,
        "entries": entries,
        "only_changes": request.GET.get("changes") == "1",
        "open_alerts": Alert.objects.filter(domain=domain, resolved_at__isnull=True),
        "notifications": _sent(domain, 50),
    }
    return render(request, "monitoring/history.html", context)


@login_required
def domain_history_partial(request: HttpRequest, domain_uuid) -> HttpResponse:
    """The compact timeline the domain page loads with htmx."""
    domain, can_write = get_domain(request, domain_uuid)
    page, entries = _page(domain, 1, COMPACT_SIZE)
    context = {
        "domain": domain,
        "can_write": can_write,
        "page": page,
        "entries": entries,
        "compact": True,
        "notifications": _sent(domain, 5),
    }
    return render(request, "monitoring/partials/history_timeline.html", context)
