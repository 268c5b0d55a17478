"""Helpers for the UI tests: summaries from realistic reports, TLSRPT rows, parsing."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from monitoring.checks.policy import parse_policy
from monitoring.checks.records import parse_sts, parse_tlsrpt
from monitoring.models import Domain, DomainSummary
from monitoring.summary import update_summary

_ids = itertools.count(1)


def report(domain: str, **overrides: Any) -> dict[str, Any]:
    """A report dict shaped like ``DomainReport.to_dict()``: healthy, enforce, one MX."""
    cert = {
        "sans": [f"mx1.{domain}"],
        "issuer": "CN=Test CA",
        "not_after": "2030-01-01T00:00:00+00:00",
        "days_left": 90,
        "key_type": "EC secp256r1",
        "trusted": True,
        "name_matches": True,
    }
    base = {
        "domain": domain,
        "status": "ok",
        "checked_at": timezone.now().isoformat(),
        "duration_ms": 120,
        "record": {
            "name": f"_mta-sts.{domain}",
            "raw": ["v=STSv1; id=20240101T000000"],
            "fields": {"v": "STSv1", "id": "20240101T000000"},
            "valid": True,
            "id": "20240101T000000",
        },
        "policy": {
            "url": f"https://mta-sts.{domain}/.well-known/mta-sts.txt",
            "host": f"mta-sts.{domain}",
            "status": 200,
            "headers": {"content-type": "text/plain"},
            "text": f"version: STSv1\nmode: enforce\nmx: mx1.{domain}\nmax_age: 604800\n",
            "parsed": {
                "version": "STSv1",
                "mode": "enforce",
                "max_age": 604800,
                "mx": [f"mx1.{domain}"],
                "extensions": {},
            },
            "certificate": {**cert, "sans": [f"mta-sts.{domain}"], "days_left": 60},
            "error": None,
        },
        "mx": [
            {
                "name": f"mx1.{domain}",
                "preference": 10,
                "covered": True,
                "matched_pattern": f"mx1.{domain}",
                "error": None,
                "addresses": [
                    {
                        "ip": "192.0.2.10",
                        "starttls": True,
                        "tls_version": "TLSv1.3",
                        "cipher": "TLS_AES_256_GCM_SHA384",
                        "certificate": cert,
                        "error": None,
                    }
                ],
            }
        ],
        "tlsrpt": {
            "name": f"_smtp._tls.{domain}",
            "raw": [f"v=TLSRPTv1; rua=mailto:tls@{domain}"],
            "valid": True,
            "rua": [f"mailto:tls@{domain}"],
        },
        "findings": [],
    }
    base.update(overrides)
    return base


def broken_report(domain: str) -> dict[str, Any]:
    """mx2 not covered under enforce, and an MX certificate about to expire."""
    data = report(domain, status="error")
    data["mx"].append(
        {
            "name": f"mx2.{domain}",
            "preference": 20,
            "covered": False,
            "matched_pattern": None,
            "error": None,
            "addresses": [
                {
                    "ip": "192.0.2.11",
                    "starttls": True,
                    "tls_version": "TLSv1.2",
                    "cipher": "ECDHE",
                    "certificate": {
                        "sans": [f"mx2.{domain}"],
                        "issuer": "CA",
                        "not_after": "2026-12-01",
                        "days_left": 5,
                        "trusted": True,
                        "name_matches": True,
                    },
                    "error": None,
                }
            ],
        }
    )
    data["findings"] = [
        {
            "code": "mx.not_covered",
            "severity": "error",
            "subject": f"mx2.{domain}",
            "message": f"MX host mx2.{domain} matches no mx pattern in the policy (patterns: "
            f"mx1.{domain})",
            "hint": f'Add "mx: mx2.{domain}" to the policy.',
        },
        {
            "code": "mx.cert.expiring",
            "severity": "warning",
            "subject": f"mx2.{domain}",
            "message": f"The certificate of mx2.{domain} expires in 5 days",
            "hint": "Renew it.",
        },
        {
            "code": "tlsrpt.record.missing",
            "severity": "warning",
            "subject": f"_smtp._tls.{domain}",
            "message": "No v=TLSRPTv1 TXT record",
            "hint": "Publish one.",
        },
    ]
    data["tlsrpt"] = None
    return data


def store(domain: Domain, data: dict[str, Any]) -> DomainSummary:
    Domain.objects.filter(id=domain.id).update(
        status=data["status"], last_checked_at=timezone.now()
    )
    domain.refresh_from_db()
    return update_summary(domain, data)


def add_tlsrpt(domain: Domain, day: dt.date, ok: int, failed: int, failure_type: str = "") -> None:
    """One TLSRPT report for ``domain`` on ``day`` (reports app models)."""
    from reports.models import FailureDetail, PolicyResult, RawReport, Report

    n = next(_ids)
    raw = RawReport.objects.create(
        organization=domain.organization, source="upload", data=b"{}", size=2, sha256=f"{n:064d}"
    )
    when = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    rep = Report.objects.create(
        organization=domain.organization,
        domain=domain,
        raw=raw,
        organization_name="Sender",
        submitter_key="sender",
        report_id=f"r{n}",
        start_datetime=when,
        dedup_hash=Report.make_dedup_hash("sender", f"r{n}"),
        end_datetime=when + dt.timedelta(days=1),
        day=day,
        policy_domain=domain.name,
        total_successful=ok,
        total_failure=failed,
    )
    policy = PolicyResult.objects.create(
        report=rep,
        organization=domain.organization,
        domain=domain,
        day=day,
        policy_type="sts",
        policy_domain=domain.name,
        successful_sessions=ok,
        failed_sessions=failed,
    )
    if failed:
        FailureDetail.objects.create(
            policy=policy,
            report=rep,
            organization=domain.organization,
            domain=domain,
            day=day,
            result_type=failure_type or "certificate-expired",
            failed_session_count=failed,
            receiving_mx_hostname=f"mx2.{domain.name}",
        )


def assert_policy_parses(text: str | bytes) -> None:
    policy, findings = parse_policy(text, "test")
    bad = [f for f in findings if f.severity in ("error", "warning")]
    assert not bad, bad
    assert policy.version == "STSv1"


def assert_sts_parses(value: str) -> str:
    record, findings = parse_sts("_mta-sts.test", [[value]])
    assert record is not None and record.valid and not findings, (value, findings)
    return record.id


def assert_tlsrpt_parses(value: str) -> list[str]:
    record, findings = parse_tlsrpt("_smtp._tls.test", [[value]])
    assert record is not None and record.valid and not findings, (value, findings)
    return record.rua
