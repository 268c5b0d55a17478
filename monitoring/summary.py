"""Keep each domain's ``DomainSummary`` row in step with its latest check and reports.

``update_summary(domain, report_dict)`` is called whenever a check report is stored (by
``runner.check_and_store`` and by the onboarding wizard); ``refresh_tlsrpt(domain_ids)`` is
called by the reports app after it ingests reports, so the dashboard's rate is current.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.utils import timezone

from monitoring.models import Domain, DomainSummary

log = logging.getLogger(__name__)

TLSRPT_DAYS = 7


def update_summary(domain: Domain, report: Mapping[str, Any]) -> DomainSummary:
    """Rewrite the summary of ``domain`` from a ``DomainReport.to_dict()``; return it."""
    fields = summary_fields(report)
    fields.update(tlsrpt_fields(domain))
    fields["report"] = dict(report)
    fields["updated_at"] = timezone.now()
    summary, _ = DomainSummary.objects.update_or_create(domain=domain, defaults=fields)
    return summary


def refresh_tlsrpt(domain_ids: Iterable[int]) -> None:
    """Recompute only the TLSRPT figures of these domains (after reports arrive).

    Two aggregate queries for any number of domains, then one write per domain.
    """
    for domain_id, fields in tlsrpt_fields_many(list(domain_ids)).items():
        if not DomainSummary.objects.filter(domain_id=domain_id).update(**fields):
            DomainSummary.objects.create(domain_id=domain_id, **fields)


def summary_fields(report: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard columns derived from one report (pure: no database access)."""
    record = report.get("record") or {}
    mx = report.get("mx") or []
    findings = report.get("findings") or []
    days, host = fewest_cert_days(report)
    return {
        "mode": policy_mode(report),
        "policy_id": str(record.get("id") or "")[:64],
        "mx_total": len(mx),
        "mx_covered": sum(1 for host in mx if host.get("covered")),
        "min_cert_days": days,
        "min_cert_host": host[:253],
        "errors": sum(1 for f in findings if f.get("severity") == "error"),
        "warnings": sum(1 for f in findings if f.get("severity") == "warning"),
        "checked_at": _parse_time(report.get("checked_at")),
    }


def policy_mode(report: Mapping[str, Any]) -> str:
    """The mode of the policy senders would use, or "" when none was served and parsed."""
    policy = report.get("policy") or {}
    parsed = policy.get("parsed") or {}
    if policy.get("status") != 200:
        return ""
    mode = parsed.get("mode")
    return mode if mode in ("enforce", "testing", "none") else ""


def certificates(report: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every certificate in a report as (where it was seen, its facts)."""
    policy = report.get("policy") or {}
    if policy.get("certificate"):
        yield policy.get("host") or "policy host", policy["certificate"]
    for host in report.get("mx") or []:
        for address in host.get("addresses") or []:
            if address.get("certificate"):
                yield f"{host.get('name')} [{address.get('ip')}]", address["certificate"]


def fewest_cert_days(report: Mapping[str, Any]) -> tuple[int | None, str]:
    """The smallest ``days_left`` of any certificate and where it was seen."""
    best: tuple[int | None, str] = (None, "")
    for where, cert in certificates(report):
        days = cert.get("days_left")
        if isinstance(days, int) and (best[0] is None or days < best[0]):
            best = (days, where)
    return best


def tlsrpt_fields(domain: Domain) -> dict[str, Any]:
    """TLSRPT 7-day success rate and daily success rates of one domain."""
    return tlsrpt_fields_many([domain.id]).get(domain.id, {})


def tlsrpt_fields_many(domain_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The TLSRPT summary fields per domain id, from two queries of the reports app."""
    try:
        from reports import aggregates
    except ImportError:
        return {}
    try:
        rates = aggregates.success_rate_7d(domain_ids)
        series = aggregates.daily_series(domain_ids, days=TLSRPT_DAYS)
    except Exception:
        # Report figures are a nice-to-have on the dashboard; never lose a check over them.
        log.exception("could not compute TLSRPT figures for domains %s", domain_ids)
        return {}
    fields = {}
    for domain_id in domain_ids:
        rate, sessions = rates.get(domain_id, (None, 0))
        fields[domain_id] = {
            "tlsrpt_rate_7d": rate,
            "tlsrpt_daily": [daily_rate(p.successful, p.failed) for p in series[domain_id]],
            "tlsrpt_sessions_7d": sessions,
        }
    return fields


def daily_rate(successful: int, failed: int) -> float | None:
    total = successful + failed
    return successful / total if total else None


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
