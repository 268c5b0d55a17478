"""Synthetic TLSRPT reports for the demo organization, so its charts show something offline.

They follow RFC 8460's format and go through the real ingest path (stored raw, parsed);
the failures match what each lab domain really gets wrong.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

SUBMITTERS = [
    ("Google Inc.", "smtp-tls-reporting@google.com", 220),
    ("Microsoft Corporation", "tlsrpt-noreply@microsoft.com", 180),
    ("Mail.ru", "tlsrpt@mail.ru", 40),
]

# Domains whose senders would not report: no TLSRPT record, so nowhere to send.
SILENT = {"tlsrpt-missing.lab.test"}
# Domains with no MTA-STS policy: senders report "no-policy-found" sessions.
NO_POLICY = {"no-sts.lab.test"}

# The RFC 8460 result type a sender reports for each broken demo domain.
FAILURES = {
    "mx-expired.lab.test": "certificate-expired",
    "mx-no-starttls.lab.test": "starttls-not-supported",
    "mx-not-covered.lab.test": "validation-failure",
    "policy-expired-cert.lab.test": "sts-webpki-invalid",
    "policy-redirect.lab.test": "sts-policy-fetch-error",
}


def demo_reports(domains: list[str], *, days: int = 14, today: date | None = None) -> list[bytes]:
    """One report per submitter, day and domain, as JSON bytes; deterministic per day."""
    today = today or datetime.now(UTC).date()
    documents = []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        for domain in domains:
            if domain in SILENT:
                continue
            rng = random.Random(f"{domain}/{day}")
            for organization, contact, volume in SUBMITTERS:
                documents.append(_report(domain, day, organization, contact, volume, rng))
    return documents


def _report(domain: str, day: date, organization: str, contact: str, volume: int, rng) -> bytes:
    sessions = max(1, int(volume * rng.uniform(0.6, 1.2)))
    result_type = FAILURES.get(domain)
    failed = int(sessions * rng.uniform(0.2, 0.6)) if result_type else 0
    if domain in NO_POLICY:
        policy = {"policy-type": "no-policy-found", "policy-domain": domain}
    else:
        policy = {
            "policy-type": "sts",
            "policy-string": [
                "version: STSv1",
                "mode: enforce",
                f"mx: mx1.{domain}",
                "max_age: 604800",
            ],
            "policy-domain": domain,
            "mx-host": [f"mx1.{domain}"],
        }
    entry = {
        "policy": policy,
        "summary": {
            "total-successful-session-count": sessions - failed,
            "total-failure-session-count": failed,
        },
    }
    if failed:
        entry["failure-details"] = [
            {
                "result-type": result_type,
                "sending-mta-ip": f"198.51.100.{rng.randint(1, 254)}",
                "receiving-mx-hostname": f"mx1.{domain}",
                "receiving-ip": "192.0.2.25",
                "failed-session-count": failed,
            }
        ]
    document = {
        "organization-name": organization,
        "date-range": {
            "start-datetime": f"{day.isoformat()}T00:00:00Z",
            "end-datetime": f"{day.isoformat()}T23:59:59Z",
        },
        "contact-info": contact,
        "report-id": f"{day.isoformat()}_{domain}_{organization.split()[0].lower()}",
        "policies": [entry],
    }
    return json.dumps(document).encode()
