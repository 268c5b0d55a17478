"""Everything generated reads back cleanly through the check engine's own parsers."""

from __future__ import annotations

from datetime import UTC, datetime

import dns.rdatatype
import dns.zone
import pytest

from monitoring.checks.policy import parse_policy
from monitoring.checks.records import parse_sts, parse_tlsrpt
from monitoring.generators.policy import MAX_MAX_AGE, PolicySpec, new_policy_id, render_policy
from monitoring.generators.providers import coverage, suggest_patterns
from monitoring.generators.records import (
    mta_sts_dns_record,
    mta_sts_record,
    tlsrpt_dns_record,
    tlsrpt_record,
)
from monitoring.generators.zonefile import bind_zone_snippet

URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
RUA = [
    "mailto:tlsrpt+acme@reports.stsguard.example",
    "https://reports.stsguard.example/tlsrpt/" + "0123456789abcdef" * 20,
]
MX_SETS = {
    "m365": ["contoso-com.mail.protection.outlook.com"],
    "m365-dnssec": ["contoso-com.o-v1.mx.microsoft"],
    "google": [
        "aspmx.l.google.com",
        "alt1.aspmx.l.google.com",
        "alt2.aspmx.l.google.com",
        "aspmx2.googlemail.com",
        "aspmx3.googlemail.com",
    ],
    "google-new": ["smtp.google.com"],
    "mixed": [
        "mx0a-001.pphosted.com",
        "mx0b-001.pphosted.com",
        "mx1.mail.example.com",
        "mx2.mail.example.com",
        "backup.example.org",
    ],
    "self-hosted": ["mx1.example.com", "mx2.example.com"],
    "unicode": ["mx.bücher.example"],
}


def codes(findings) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in findings]


@pytest.mark.parametrize("mode", ["enforce", "testing"])
@pytest.mark.parametrize("name", sorted(MX_SETS))
def test_policy_from_suggestions_parses_without_problems(mode, name):
    mx_hosts = MX_SETS[name]
    patterns = [s.pattern for s in suggest_patterns(mx_hosts)]
    spec = PolicySpec(mode, 604800, patterns)
    text = render_policy(spec)

    policy, findings = parse_policy(text.encode("ascii"), URL)

    expected = [("policy.mode.testing", "info")] if mode == "testing" else []
    assert codes(findings) == expected
    assert (policy.version, policy.mode, policy.max_age) == ("STSv1", mode, 604800)
    assert policy.mx == list(spec.mx) == policy.patterns
    assert policy.extensions == {}
    # The engine's matcher agrees every MX host is covered and no pattern is stale.
    result = coverage(mx_hosts, policy.patterns)
    assert (result.uncovered, result.unused) == ((), ())


@pytest.mark.parametrize("max_age", [86400, 604800, 1209600, MAX_MAX_AGE])
def test_policy_max_age_range_parses_cleanly(max_age):
    policy, findings = parse_policy(
        render_policy(PolicySpec("enforce", max_age, ["mx.example.com"])), URL
    )
    assert findings == []
    assert policy.max_age == max_age


def test_short_max_age_is_valid_but_the_engine_warns():
    _, findings = parse_policy(render_policy(PolicySpec("enforce", 3600, ["mx.example.com"])), URL)
    assert codes(findings) == [("policy.max_age.low", "warning")]


def test_mode_none_only_draws_the_mode_none_finding():
    for mx in ([], ["mx.example.com"]):
        policy, findings = parse_policy(render_policy(PolicySpec("none", 86400, mx)), URL)
        assert codes(findings) == [("policy.mode.none", "warning")]
        assert policy.mx == mx


def test_policy_with_many_patterns_parses_cleanly():
    patterns = [f"mx{i}.example.com" for i in range(200)] + ["*.mail.example.net"]
    policy, findings = parse_policy(render_policy(PolicySpec("enforce", 86400, patterns)), URL)
    assert findings == []
    assert policy.mx == patterns


def test_mta_sts_record_parses_as_valid():
    policy_id = new_policy_id(datetime(2026, 11, 23, 18, 45, tzinfo=UTC))
    record, findings = parse_sts("_mta-sts.example.com", [[mta_sts_record(policy_id)]])
    assert findings == []
    assert record is not None and record.valid
    assert record.id == policy_id == "20261123T184500"


def test_tlsrpt_record_parses_as_valid():
    record, findings = parse_tlsrpt("_smtp._tls.example.com", [[tlsrpt_record(RUA)]])
    assert findings == []
    assert record is not None and record.valid
    assert record.rua == RUA


def test_zone_snippet_strings_parse_as_valid_records():
    """Load the zone lines as BIND would, then hand the split strings to the engine."""
    snippet = bind_zone_snippet(
        "example.com",
        [
            mta_sts_dns_record("example.com", "20261123T184500"),
            tlsrpt_dns_record("example.com", RUA),
        ],
    )
    zone = dns.zone.from_text(
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 3600\n"
        "@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53\n" + snippet,
        origin="example.com",
    )
    tlsrpt_strings = list(zone.find_rdataset("_smtp._tls", dns.rdatatype.TXT)[0].strings)
    assert len(tlsrpt_strings) > 1  # the long value really was split
    record, findings = parse_tlsrpt("_smtp._tls.example.com", [tlsrpt_strings])
    assert (findings, record.valid, record.rua) == ([], True, RUA)
    sts_strings = list(zone.find_rdataset("_mta-sts", dns.rdatatype.TXT)[0].strings)
    record, findings = parse_sts("_mta-sts.example.com", [sts_strings])
    assert (findings, record.valid, record.id) == ([], True, "20261123T184500")
