"""TLSRPT alerts: pure rules that return intents, and the edge that sends them.

Three rules, all through ``monitoring.alerting`` (the path drift alerts take):

* ``tlsrpt.failure_rate.high``: on the latest day with at least
  ``TLSRPT_ALERT_MIN_SESSIONS`` sessions, more than ``TLSRPT_ALERT_FAILURE_RATE`` failed.
  Resolved when such a day is back under the threshold.
* ``tlsrpt.result_type.new``: a failure result-type never reported for the domain before
  (an event: told once, no resolve message).
* ``tlsrpt.reports.stopped``: a domain that was receiving reports has had none for
  ``TLSRPT_STOPPED_DAYS`` days (beat task); resolved when reports come back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

from reports.models import FailureDetail, PolicyResult, Report

log = logging.getLogger(__name__)

FAILURE_RATE = "tlsrpt.failure_rate.high"
NEW_RESULT_TYPE = "tlsrpt.result_type.new"
STOPPED = "tlsrpt.reports.stopped"
SUBJECT = "TLSRPT reports"
WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class AlertIntent:
    """Open (``open=True``) or resolve one alert; texts matter only when opening."""

    domain_id: int
    code: str
    open: bool
    key: str = ""
    severity: str = "warning"
    message: str = ""
    hint: str = ""
    is_event: bool = False


def failure_rate_intent(
    domain_id: int,
    days: Mapping[date, tuple[int, int]],
    *,
    threshold: float,
    min_sessions: int,
) -> AlertIntent | None:
    """Decide on the latest day with enough sessions; None if no day has enough.

    ``days`` maps a day to (successful, failed) sessions summed over every report.
    """
    for day in sorted(days, reverse=True):
        successful, failed = days[day]
        total = successful + failed
        if total < min_sessions:
            continue
        rate = failed / total
        if rate <= threshold:
            return AlertIntent(domain_id, FAILURE_RATE, open=False)
        return AlertIntent(
            domain_id,
            FAILURE_RATE,
            open=True,
            severity="error",
            message=(
                f"On {day.isoformat()}, {rate:.1%} of {total} TLS sessions to this domain "
                f"failed ({failed} failed), over the {threshold:.0%} threshold."
            ),
            hint=(
                "Open the domain's TLSRPT charts: the failures by result type and by MX "
                "host say which host and what broke (certificate, STARTTLS, policy fetch)."
            ),
        )
    return None


def new_result_type_intents(
    domain_id: int, reported: Iterable[str], seen_before: Iterable[str]
) -> list[AlertIntent]:
    """One event per result-type in ``reported`` that is not in ``seen_before``."""
    old = set(seen_before)
    return [
        AlertIntent(
            domain_id,
            NEW_RESULT_TYPE,
            open=True,
            key=result_type[:200],
            severity="warning",
            message=f"Senders report a new kind of TLS failure: {result_type}.",
            hint=(
                "This result type was never reported for the domain before; check the "
                "failure details of the latest reports for the MX host and sending IPs."
            ),
            is_event=True,
        )
        for result_type in sorted(set(reported) - old)
    ]


def stopped_intents(
    last_seen: Mapping[int, datetime], open_ids: Iterable[int], *, now: datetime, days: int
) -> list[AlertIntent]:
    """Open for domains silent for ``days``; resolve those in ``open_ids`` heard from since."""
    cutoff = now - timedelta(days=days)
    intents = []
    already_open = set(open_ids)
    for domain_id, last in last_seen.items():
        if last < cutoff:
            intents.append(
                AlertIntent(
                    domain_id,
                    STOPPED,
                    open=True,
                    severity="warning",
                    message=(
                        f"No TLSRPT report for {days} days; the last one covered up to "
                        f"{last:%Y-%m-%d %H:%M} UTC."
                    ),
                    hint=(
                        "Check that the _smtp._tls TXT record still exists and that its rua "
                        "address or URL still reaches stsguard (the receiver and mailbox)."
                    ),
                )
            )
        elif domain_id in already_open:
            intents.append(AlertIntent(domain_id, STOPPED, open=False))
    return intents


# -- the edge: queries in, intents out to monitoring.alerting ---------------------------


def evaluate_after_ingest(touched: Mapping[int, set[date]], created: Iterable[Report]) -> None:
    """Evaluate the failure-rate and new-result-type rules for the domains just written.

    Runs after the reports are committed; a failure here is logged, never undoes them.
    """
    try:
        intents = _failure_rate_intents(touched) + _new_type_intents(touched, created)
        dispatch(intents)
    except Exception:
        log.exception("evaluating TLSRPT alerts for domains %s failed", sorted(touched))


def _failure_rate_intents(touched: Mapping[int, set[date]]) -> list[AlertIntent]:
    today = timezone.now().date()
    window_start = today - timedelta(days=WINDOW_DAYS - 1)
    wanted = {day for days in touched.values() for day in days}
    rows = (
        PolicyResult.objects.filter(domain_id__in=list(touched))
        .filter(day__gte=min([window_start, *wanted]))
        .values("domain_id", "day")
        .annotate(ok=Sum("successful_sessions"), bad=Sum("failed_sessions"))
    )
    per_domain: dict[int, dict[date, tuple[int, int]]] = {}
    for row in rows:
        per_domain.setdefault(row["domain_id"], {})[row["day"]] = (row["ok"], row["bad"])
    intents = []
    for domain_id, days in per_domain.items():
        intent = failure_rate_intent(
            domain_id,
            days,
            threshold=settings.TLSRPT_ALERT_FAILURE_RATE,
            min_sessions=settings.TLSRPT_ALERT_MIN_SESSIONS,
        )
        if intent is not None:
            intents.append(intent)
    return intents


def _new_type_intents(
    touched: Mapping[int, set[date]], created: Iterable[Report]
) -> list[AlertIntent]:
    report_ids = [report.id for report in created if report.domain_id in touched]
    if not report_ids:
        return []
    reported: dict[int, set[str]] = {}
    for domain_id, result_type in (
        FailureDetail.objects.filter(report_id__in=report_ids)
        .values_list("domain_id", "result_type")
        .distinct()
    ):
        if domain_id is not None:
            reported.setdefault(domain_id, set()).add(result_type)
    if not reported:
        return []
    seen: dict[int, set[str]] = {}
    for domain_id, result_type in (
        FailureDetail.objects.filter(domain_id__in=list(reported))
        .exclude(report_id__in=report_ids)
        .filter(result_type__in={t for types in reported.values() for t in types})
        .values_list("domain_id", "result_type")
        .distinct()
    ):
        seen.setdefault(domain_id, set()).add(result_type)
    intents: list[AlertIntent] = []
    for domain_id, types in reported.items():
        intents.extend(new_result_type_intents(domain_id, types, seen.get(domain_id, ())))
    return intents


def evaluate_stopped(now: datetime | None = None) -> int:
    """The beat rule: open or resolve ``tlsrpt.reports.stopped``; returns how many opened."""
    from monitoring.models import Alert

    now = now or timezone.now()
    last_seen = dict(
        Report.objects.filter(domain__isnull=False, domain__enabled=True)
        .values("domain_id")
        .annotate(last=Max("end_datetime"))
        .values_list("domain_id", "last")
    )
    open_ids = Alert.objects.filter(code=STOPPED, resolved_at__isnull=True).values_list(
        "domain_id", flat=True
    )
    intents = stopped_intents(last_seen, list(open_ids), now=now, days=settings.TLSRPT_STOPPED_DAYS)
    dispatch(intents)
    return sum(1 for intent in intents if intent.open)


def dispatch(intents: Iterable[AlertIntent]) -> None:
    """Send intents through ``monitoring.alerting`` (open is idempotent while open)."""
    from monitoring import alerting
    from monitoring.models import AlertSource, Domain

    intents = list(intents)
    if not intents:
        return
    domains = Domain.objects.select_related("organization").in_bulk(
        {intent.domain_id for intent in intents}
    )
    for intent in intents:
        domain = domains.get(intent.domain_id)
        if domain is None:
            continue
        if intent.open:
            alerting.open_alert(
                domain=domain,
                code=intent.code,
                severity=intent.severity,
                subject=SUBJECT,
                message=intent.message,
                hint=intent.hint,
                key=intent.key,
                source=AlertSource.TLSRPT,
                is_event=intent.is_event,
            )
        else:
            alerting.resolve_alert(domain=domain, code=intent.code, key=intent.key)
