"""The engine end to end against tiny loopback servers (DNS, HTTPS, SMTP + STARTTLS)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from monitoring.checks.engine import check_domain, check_domain_async, check_many
from monitoring.checks.options import CheckOptions
from monitoring.checks.report import DomainReport
from tests.checks.servers import DOMAIN, MX_HOST, POLICY_HOST, Servers, Setup, running


def check(setup: Setup, tmp_path: Path) -> tuple[DomainReport, Servers]:
    async def main() -> tuple[DomainReport, Servers]:
        async with running(setup, str(tmp_path)) as servers:
            return await check_domain_async(DOMAIN, servers.options()), servers

    return asyncio.run(main())


def test_healthy_domain(tmp_path: Path) -> None:
    report, servers = check(Setup(), tmp_path)
    assert report.findings == [] and report.status == "ok"
    assert report.record is not None and report.record["id"] == "20240101T000000"
    assert report.tlsrpt is not None and report.tlsrpt["rua"] == ["mailto:tls@example.test"]
    policy = report.policy
    assert policy is not None
    assert policy["status"] == 200 and policy["address"] == "127.0.0.1"
    assert policy["parsed"]["mode"] == "enforce" and policy["parsed"]["mx"] == [MX_HOST]
    assert policy["certificate"]["trusted"] and policy["certificate"]["name_matches"]
    [host] = report.mx
    assert host["name"] == MX_HOST and host["covered"] and host["matched_pattern"] == MX_HOST
    [address] = host["addresses"]
    assert address["starttls"] and address["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert MX_HOST in address["certificate"]["sans"]
    # The connection went to the resolved address with the names in SNI and Host.
    assert POLICY_HOST in servers.sni and MX_HOST in servers.sni
    assert f"Host: {POLICY_HOST}:{servers.https_port}".encode() in servers.http_requests[0]
    assert servers.http_requests[0].startswith(b"GET /.well-known/mta-sts.txt HTTP/1.1")


def test_report_json_round_trip(tmp_path: Path) -> None:
    report, _ = check(Setup(http="html"), tmp_path)
    data = json.loads(json.dumps(report.to_dict()))
    assert list(data) == [
        "domain", "status", "checked_at", "duration_ms", "record", "policy", "mx", "tlsrpt",
        "findings",
    ]  # fmt: skip
    assert data["findings"][0]["code"] == "policy.fetch.content_type"
    rebuilt = DomainReport.from_dict(data)
    assert rebuilt == report
    assert rebuilt.checked_at.tzinfo is not None


@pytest.mark.parametrize(
    ("http", "code"),
    [
        ("huge", "policy.fetch.too_large"),
        ("redirect", "policy.fetch.redirect"),
        ("hang", "policy.fetch.failed"),
        ("html", "policy.fetch.content_type"),
    ],
)
def test_hostile_policy_hosts(tmp_path: Path, http: str, code: str) -> None:
    report, _ = check(Setup(http=http, timeout=0.5), tmp_path)
    assert report.codes() == {code}
    assert report.status == "error"


@pytest.mark.parametrize(
    ("smtp", "code", "says"),
    [
        ("no_banner", "mx.connect.failed", "no SMTP banner"),
        ("no_starttls", "mx.starttls.unsupported", "not advertised"),
        ("drop_after_starttls", "mx.starttls.unsupported", "TLS handshake"),
        ("garbage_tls", "mx.starttls.unsupported", "TLS handshake failed"),
        ("weak", "mx.tls.weak_protocol", "TLSv1"),
    ],
)
def test_hostile_mx_hosts(tmp_path: Path, smtp: str, code: str, says: str) -> None:
    report, _ = check(Setup(smtp=smtp, timeout=0.5), tmp_path)
    assert report.codes() == {code}
    [finding] = report.findings
    assert finding.subject == MX_HOST and says in finding.message and "127.0.0.1" in finding.message


def test_certificate_for_another_name(tmp_path: Path) -> None:
    report, _ = check(Setup(cert_names=("other.example.test",)), tmp_path)
    assert report.codes() == {"policy.fetch.tls_invalid", "mx.cert.name_mismatch"}
    assert {f.severity for f in report.findings} == {"error"}


def test_testing_mode_makes_mx_problems_warnings(tmp_path: Path) -> None:
    policy = b"version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 604800\n"
    report, _ = check(Setup(smtp="no_starttls", policy=policy), tmp_path)
    severities = {f.code: f.severity for f in report.findings}
    assert severities == {"policy.mode.testing": "info", "mx.starttls.unsupported": "warning"}
    assert report.status == "warning"


def test_guard_blocks_without_connecting(tmp_path: Path) -> None:
    report, servers = check(Setup(allow_private_targets=False), tmp_path)
    assert report.codes() == {"policy.fetch.blocked_address", "mx.connect.blocked_address"}
    assert servers.connections == {"https": 0, "smtp": 0}
    assert all("loopback" in f.message for f in report.findings)


def test_dns_failures_are_not_missing_records(tmp_path: Path) -> None:
    faults = {f"_mta-sts.{DOMAIN}": "servfail", f"_smtp._tls.{DOMAIN}": "timeout"}
    report, _ = check(Setup(dns_faults=faults, timeout=0.5), tmp_path)
    assert report.codes() == {"sts.record.lookup_failed", "tlsrpt.record.lookup_failed"}
    assert report.record is None


def test_cname_without_target_is_followed(tmp_path: Path) -> None:
    setup = Setup()
    del setup.zone[f"_mta-sts.{DOMAIN}", "TXT"]
    setup.zone[f"_mta-sts.{DOMAIN}", "CNAME"] = ["sts.provider.test."]
    setup.zone["sts.provider.test", "TXT"] = ['"v=STSv1; id=viacname1"']
    report, _ = check(setup, tmp_path)
    assert report.findings == []
    assert report.record is not None and report.record["id"] == "viacname1"


def test_no_mta_sts_at_all_is_only_a_note(tmp_path: Path) -> None:
    setup = Setup()
    del setup.zone[f"_mta-sts.{DOMAIN}", "TXT"]
    del setup.zone[POLICY_HOST, "A"]
    report, _ = check(setup, tmp_path)
    assert [(f.code, f.severity) for f in report.findings] == [("sts.record.missing", "info")]
    assert report.status == "ok"


def test_policy_without_record_is_an_error(tmp_path: Path) -> None:
    setup = Setup()
    del setup.zone[f"_mta-sts.{DOMAIN}", "TXT"]
    report, _ = check(setup, tmp_path)
    assert [(f.code, f.severity) for f in report.findings] == [("sts.record.missing", "error")]


def test_coverage(tmp_path: Path) -> None:
    setup = Setup()
    setup.zone[DOMAIN, "MX"] = [f"10 {MX_HOST}.", "20 mx2.example.test."]
    setup.zone["mx2.example.test", "A"] = ["127.0.0.1"]
    setup.cert_names = (POLICY_HOST, MX_HOST, "mx2.example.test")
    setup.policy = (
        b"version: STSv1\nmode: enforce\nmx: mx1.example.test\nmx: old.example.test\n"
        b"max_age: 86400\n"
    )
    report, _ = check(setup, tmp_path)
    assert report.codes() == {"mx.not_covered", "policy.mx.unused"}
    uncovered = next(f for f in report.findings if f.code == "mx.not_covered")
    assert uncovered.subject == "mx2.example.test" and uncovered.severity == "error"
    assert [h["covered"] for h in report.mx] == [True, False]


def test_deadline_ends_in_findings_not_an_exception(tmp_path: Path) -> None:
    faults = {f"_smtp._tls.{DOMAIN}": "timeout"}
    setup = Setup(smtp="no_banner", http="hang", dns_faults=faults, timeout=30, deadline=1.0)
    report, _ = check(setup, tmp_path)
    assert report.codes() == {
        "policy.fetch.failed", "mx.connect.failed", "tlsrpt.record.lookup_failed",
    }  # fmt: skip
    assert all("deadline" in f.message for f in report.findings)
    assert report.mx[0]["addresses"][0]["error"] is not None


def test_sync_edge_and_many_with_a_dead_resolver() -> None:
    # Nothing listens on the discard port: every look-up fails, quickly, as findings.
    options = CheckOptions(nameservers=(("127.0.0.1", 9),), timeout=0.4, deadline=3)
    report = check_domain("Example.TEST.", options)
    assert report.domain == "example.test"
    assert report.codes() == {
        "sts.record.lookup_failed", "policy.fetch.failed", "mx.records.lookup_failed",
        "tlsrpt.record.lookup_failed",
    }  # fmt: skip
    reports = asyncio.run(check_many(["b.example.test", "a.example.test"], options, 2))
    assert [r.domain for r in reports] == ["b.example.test", "a.example.test"]


def test_invalid_domain_raises_value_error() -> None:
    with pytest.raises(ValueError, match="just the domain"):
        check_domain("https://example.com/")
