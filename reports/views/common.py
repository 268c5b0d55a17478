"""Access and context helpers shared by the report views."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from monitoring.access import get_organization
from monitoring.models import Domain
from reports import aggregates, charts
from reports.aggregates import Scope
from reports.models import RawReport, Report
from reports.policy_strings import policy_fingerprint, policy_text


def render_page(
    request: HttpRequest, template: str, context: dict, status: int | None = None
) -> HttpResponse:
    """Render a full report page, with the Reports navigation link marked current."""
    return render(request, template, {"nav": "reports", **context}, status=status)


def days_param(request: HttpRequest, default: int = 30) -> int:
    """The chart window from ``?days=``: one of 7, 30, 90."""
    try:
        days = int(request.GET.get("days", default))
    except ValueError:
        return default
    return days if days in aggregates.CHART_DAYS else default


def get_report(request: HttpRequest, report_uuid: UUID | str) -> tuple[Report, bool]:
    """The report if the user belongs to its organization (404 otherwise), and can_write."""
    report = (
        Report.objects.select_related("organization", "domain", "raw")
        .filter(uuid=report_uuid)
        .first()
    )
    if report is None:
        raise Http404("No such report.")
    _, can_write = get_organization(request, report.organization.uuid)
    return report, can_write


def get_raw(
    request: HttpRequest, raw_uuid: UUID | str, *, write: bool = False
) -> tuple[RawReport, bool]:
    """The raw report if the user belongs to its organization; 403 on write for viewers."""
    raw = RawReport.objects.select_related("organization").filter(uuid=raw_uuid).first()
    if raw is None:
        raise Http404("No such raw report.")
    _, can_write = get_organization(request, raw.organization.uuid, write=write)
    return raw, can_write


def chart_context(scope: Scope, days: int) -> dict:
    """Everything the chart partial shows for ``scope`` over ``days`` (a few queries)."""
    points = aggregates.daily_totals(scope, days)
    by_type = aggregates.failures_by_result_type(scope, days)
    by_submitter = aggregates.failures_by_submitter(scope, days)
    by_mx = aggregates.failures_by_mx(scope, days)
    threshold = settings.TLSRPT_ALERT_FAILURE_RATE
    totals = aggregates.report_totals(scope, days)
    sessions = totals["successful"] + totals["failed"]
    return {
        "days": days,
        "day_choices": aggregates.CHART_DAYS,
        "points": points,
        "totals": totals,
        "failure_rate": totals["failed"] / sessions if sessions else None,
        "failure_percent": round(100 * totals["failed"] / sessions, 2) if sessions else None,
        "has_data": totals["reports"] > 0,
        "sessions_svg": charts.sessions_chart(points),
        "rate_svg": charts.failure_rate_chart(points, threshold),
        "by_type": by_type,
        "by_submitter": by_submitter,
        "by_mx": by_mx,
        "by_type_svg": charts.breakdown_chart("Failed sessions by result type", by_type)
        if by_type
        else "",
        "by_submitter_svg": charts.breakdown_chart(
            "Failed sessions by reporting organization", by_submitter
        )
        if by_submitter
        else "",
        "by_mx_svg": charts.breakdown_chart("Failed sessions by receiving MX host", by_mx)
        if by_mx
        else "",
        "sending_ips": aggregates.sending_ips(scope, days),
        "threshold": threshold,
    }


@dataclass(frozen=True, slots=True)
class CurrentPolicy:
    fingerprint: str
    text: str
    checked_at: object


def current_policy(domain: Domain) -> CurrentPolicy | None:
    """The policy text the latest check fetched, or None (no run, no policy, no text)."""
    try:
        from monitoring.models import CheckRun
    except ImportError:  # the check history is not there: nothing to compare with
        return None
    run = (
        CheckRun.objects.filter(domain=domain, facts__policy__isnull=False)
        .order_by("-finished_at")
        .only("facts", "finished_at")
        .first()
    )
    if run is None:
        return None
    text = (run.facts.get("policy") or {}).get("text") or ""
    if not isinstance(text, str) or not text.strip():
        return None
    return CurrentPolicy(policy_fingerprint([text]), policy_text([text]), run.finished_at)


def policies_context(domain: Domain, days: int) -> dict:
    """Which policy each submitter saw, marked against the latest checked policy."""
    current = current_policy(domain)
    rows = []
    for seen in aggregates.policies_seen(domain.id, days):
        if seen.policy_type != "sts" or not seen.fingerprint or current is None:
            state = "unknown"
        else:
            state = "current" if seen.fingerprint == current.fingerprint else "old"
        rows.append({"seen": seen, "text": policy_text(seen.policy_strings), "state": state})
    return {"policies": rows, "current_policy": current}
