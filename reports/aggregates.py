"""The queries behind the TLSRPT charts and the dashboard, one query per function.

Everything aggregates ``PolicyResult`` (sessions) or ``FailureDetail`` (failure
entries), which carry the organization, domain and day of their report and are indexed
on (domain, day) and (organization, day), so no function joins more than the report
for the submitter's name. Days are UTC calendar days: a report counts on the day its
date range starts. Windows end today and include it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from reports.models import FailureDetail, PolicyResult, Report

CHART_DAYS = (7, 30, 90)


@dataclass(frozen=True, slots=True)
class DayPoint:
    """Sessions on one day (zeros when no report covered it)."""

    day: date
    successful: int
    failed: int

    @property
    def total(self) -> int:
        return self.successful + self.failed

    @property
    def failure_rate(self) -> float | None:
        """Failed / total, or None when there were no sessions."""
        return self.failed / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a chart covers: a whole organization (matched domains only) or one domain."""

    organization_id: int
    domain_id: int | None = None

    def filters(self) -> Q:
        if self.domain_id is not None:
            return Q(domain_id=self.domain_id)
        return Q(organization_id=self.organization_id, domain__isnull=False)


def window(days: int, today: date | None = None) -> tuple[date, date]:
    """The first and last day of a ``days``-long window ending ``today`` (UTC)."""
    last = today or timezone.now().date()
    return last - timedelta(days=days - 1), last


def success_rate_7d(domain_ids: Iterable[int]) -> dict[int, tuple[float | None, int]]:
    """Per domain: (successful / total sessions over the last 7 days, total sessions).

    One query for any number of domains. Domains with no report in the window are
    absent from the result; a window whose reports count no session gives (None, 0).
    """
    first, last = window(7)
    rows = (
        PolicyResult.objects.filter(domain_id__in=list(domain_ids), day__range=(first, last))
        .values("domain_id")
        .annotate(ok=Sum("successful_sessions"), bad=Sum("failed_sessions"))
    )
    result: dict[int, tuple[float | None, int]] = {}
    for row in rows:
        total = row["ok"] + row["bad"]
        result[row["domain_id"]] = (row["ok"] / total if total else None, total)
    return result


def daily_series(
    domain_ids: Iterable[int], days: int = 7, *, today: date | None = None
) -> dict[int, list[DayPoint]]:
    """Per domain: ``days`` DayPoints, oldest first, zero-filled; for sparklines.

    One query for any number of domains; every requested domain is in the result.
    """
    ids = list(domain_ids)
    first, last = window(days, today)
    rows = (
        PolicyResult.objects.filter(domain_id__in=ids, day__range=(first, last))
        .values("domain_id", "day")
        .annotate(ok=Sum("successful_sessions"), bad=Sum("failed_sessions"))
    )
    found: dict[tuple[int, date], tuple[int, int]] = {
        (row["domain_id"], row["day"]): (row["ok"], row["bad"]) for row in rows
    }
    span = [first + timedelta(days=n) for n in range(days)]
    return {
        domain_id: [DayPoint(day, *found.get((domain_id, day), (0, 0))) for day in span]
        for domain_id in ids
    }


def daily_totals(scope: Scope, days: int, *, today: date | None = None) -> list[DayPoint]:
    """Successful and failed sessions per day over the window, zero-filled."""
    first, last = window(days, today)
    rows = (
        PolicyResult.objects.filter(scope.filters(), day__range=(first, last))
        .values("day")
        .annotate(ok=Sum("successful_sessions"), bad=Sum("failed_sessions"))
    )
    found = {row["day"]: (row["ok"], row["bad"]) for row in rows}
    return [
        DayPoint(day, *found.get(day, (0, 0)))
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def failures_by_result_type(scope: Scope, days: int) -> list[tuple[str, int]]:
    """Failed sessions per result-type (from failure details), largest first."""
    return _failure_counts(scope, days, "result_type")


def failures_by_mx(scope: Scope, days: int) -> list[tuple[str, int]]:
    """Failed sessions per receiving MX host; entries without one count as "(not given)"."""
    return _failure_counts(scope, days, "receiving_mx_hostname")


def failures_by_submitter(scope: Scope, days: int) -> list[tuple[str, int]]:
    """Failed sessions per submitting organization (from the summaries), largest first."""
    first, last = window(days)
    rows = (
        PolicyResult.objects.filter(scope.filters(), day__range=(first, last))
        .values("report__organization_name")
        .annotate(n=Sum("failed_sessions"))
        .filter(n__gt=0)
        .order_by("-n", "report__organization_name")
    )
    return [(row["report__organization_name"], row["n"]) for row in rows]


@dataclass(frozen=True, slots=True)
class SendingIp:
    ip: str
    failed: int
    result_types: str
    last_day: date


def sending_ips(scope: Scope, days: int, limit: int = 100) -> list[SendingIp]:
    """Sending MTA addresses with their failed sessions, most failures first."""
    first, last = window(days)
    rows = (
        FailureDetail.objects.filter(scope.filters(), day__range=(first, last))
        .values("sending_mta_ip", "result_type")
        .annotate(n=Sum("failed_session_count"), last_day=Max("day"))
    )
    merged: dict[str, list] = {}
    for row in rows:
        entry = merged.setdefault(
            row["sending_mta_ip"] or "(not given)", [0, set(), row["last_day"]]
        )
        entry[0] += row["n"]
        entry[1].add(row["result_type"])
        entry[2] = max(entry[2], row["last_day"])
    ranked = sorted(merged.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [SendingIp(ip, n, ", ".join(sorted(types)), day) for ip, (n, types, day) in ranked]


def _failure_counts(scope: Scope, days: int, column: str) -> list[tuple[str, int]]:
    first, last = window(days)
    rows = (
        FailureDetail.objects.filter(scope.filters(), day__range=(first, last))
        .values(column)
        .annotate(n=Sum("failed_session_count"))
        .order_by("-n", column)
    )
    return [(row[column] or "(not given)", row["n"]) for row in rows]


@dataclass(frozen=True, slots=True)
class PolicySeen:
    """A policy text one submitter reported, with the last day it was seen."""

    submitter: str
    policy_type: str
    fingerprint: str
    policy_strings: list[str]
    last_day: date
    reports: int


def policies_seen(domain_id: int, days: int = 30) -> list[PolicySeen]:
    """Which policy each submitter saw for the domain (from ``policy-string``).

    Two queries: the groups, then one sample text per fingerprint.
    """
    first, last = window(days)
    rows = list(
        PolicyResult.objects.filter(domain_id=domain_id, day__range=(first, last))
        .values("report__organization_name", "policy_type", "policy_fingerprint")
        .annotate(last_day=Max("day"), reports=Count("report_id", distinct=True))
        .order_by("report__organization_name", "-last_day")
    )
    prints = {row["policy_fingerprint"] for row in rows if row["policy_fingerprint"]}
    texts: dict[str, list[str]] = {}
    for fingerprint, strings in (
        PolicyResult.objects.filter(domain_id=domain_id, policy_fingerprint__in=prints)
        .order_by("policy_fingerprint", "-id")
        .values_list("policy_fingerprint", "policy_strings")
    ):
        texts.setdefault(fingerprint, strings)
    return [
        PolicySeen(
            submitter=row["report__organization_name"],
            policy_type=row["policy_type"],
            fingerprint=row["policy_fingerprint"],
            policy_strings=texts.get(row["policy_fingerprint"], []),
            last_day=row["last_day"],
            reports=row["reports"],
        )
        for row in rows
    ]


def report_totals(scope: Scope, days: int) -> dict[str, int]:
    """Reports, submitters, successful and failed sessions in the window (one query)."""
    first, last = window(days)
    qs = Report.objects.filter(scope.filters(), day__range=(first, last))
    totals = qs.aggregate(
        reports=Count("id"),
        submitters=Count("submitter_key", distinct=True),
        successful=Sum("total_successful"),
        failed=Sum("total_failure"),
    )
    return {key: value or 0 for key, value in totals.items()}
