"""The CLI's output: the JSON array contract and the readable text."""

from __future__ import annotations

import datetime as dt
import json

from monitoring.checks.findings import make
from monitoring.checks.render import render_reports, render_text
from monitoring.checks.report import DomainReport

CERT = {"sans": ["mx1.example.com"], "not_after": "2030-01-01T00:00:00+00:00", "days_left": 1000}


def report(domain: str = "example.com") -> DomainReport:
    return DomainReport(
        domain=domain,
        status="error",
        checked_at=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        duration_ms=1234,
        record={"name": f"_mta-sts.{domain}", "raw": ["v=STSv1; id=abc"], "id": "abc"},
        policy={
            "url": f"https://mta-sts.{domain}/.well-known/mta-sts.txt",
            "status": 200,
            "parsed": {"mode": "enforce", "max_age": 86400, "mx": ["mx1.example.com"]},
            "certificate": CERT,
        },
        mx=[
            {
                "name": "mx1.example.com",
                "preference": 10,
                "covered": False,
                "matched_pattern": None,
                "error": None,
                "addresses": [
                    {
                        "ip": "192.0.2.1",
                        "starttls": True,
                        "tls_version": "TLSv1.3",
                        "cipher": "TLS_AES_128_GCM_SHA256",
                        "certificate": CERT,
                        "error": None,
                    },
                ],
            }
        ],
        tlsrpt=None,
        findings=[make("mx.not_covered", "mx1.example.com", "patterns: mx.example.com")],
    )


def test_json_is_an_array_in_input_order() -> None:
    data = json.loads(render_reports([report("b.example"), report("a.example")], as_json=True))
    assert [d["domain"] for d in data] == ["b.example", "a.example"]
    assert set(data[0]) >= {"domain", "status", "checked_at", "record", "policy", "mx",
                            "tlsrpt", "findings"}  # fmt: skip
    assert data[0]["checked_at"] == "2025-01-02T03:04:05+00:00"
    assert data[0]["findings"][0] == {
        "code": "mx.not_covered",
        "severity": "warning",
        "subject": "mx1.example.com",
        "message": "MX host mx1.example.com matches no mx pattern in the policy "
        "(patterns: mx.example.com)",
        "hint": 'Add "mx: mx1.example.com" (or a wildcard for its parent domain) to the '
        "policy, then change the record id.",
    }


def test_text_shows_facts_and_fixes() -> None:
    text = render_text(report())
    assert text.startswith("example.com: ERROR (1 finding; checked 2025-01-02 03:04:05 UTC")
    assert "v=STSv1; id=abc" in text
    assert "HTTP 200, mode enforce, max_age 86400, mx mx1.example.com" in text
    assert "mx1.example.com  NOT COVERED" in text
    assert "192.0.2.1  STARTTLS TLSv1.3" in text
    assert "tlsrpt   none" in text
    assert "WARNING mx.not_covered  [mx1.example.com]" in text
    assert 'fix: Add "mx: mx1.example.com"' in text


def test_text_for_several_domains_is_separated() -> None:
    text = render_reports([report("a.example"), report("b.example")], as_json=False)
    assert text.index("a.example: ERROR") < text.index("\n\nb.example: ERROR")
