"""DNS record values and records."""

from __future__ import annotations

import re

import pytest

from monitoring.generators.records import (
    DnsRecord,
    hosted_cname_record,
    mta_sts_dns_record,
    mta_sts_record,
    normalize_rua_uri,
    policy_host,
    policy_host_cname,
    tlsrpt_dns_record,
    tlsrpt_record,
)

MAILTO = "mailto:tlsrpt@reports.stsguard.example"
HTTPS = "https://reports.stsguard.example/tlsrpt/3f2a9c"


def test_mta_sts_record_value():
    assert mta_sts_record("20261123T184500") == "v=STSv1; id=20261123T184500"


@pytest.mark.parametrize("policy_id", ["", "a" * 33, "2026-11-23", "id 1", "20261123T18:45", None])
def test_mta_sts_record_refuses_bad_ids(policy_id):
    with pytest.raises(ValueError, match="1 to 32 letters or digits"):
        mta_sts_record(policy_id)


def test_mta_sts_record_accepts_32_characters():
    assert mta_sts_record("A" * 32) == "v=STSv1; id=" + "A" * 32


def test_tlsrpt_record_joins_uris_with_commas():
    assert tlsrpt_record([MAILTO, HTTPS]) == f"v=TLSRPTv1; rua={MAILTO},{HTTPS}"


def test_tlsrpt_record_normalises_and_deduplicates():
    value = tlsrpt_record(
        ["MAILTO:tlsrpt@Reports.STSGuard.example", MAILTO, "HTTPS://Reports.Example/x"]
    )
    assert value == f"v=TLSRPTv1; rua={MAILTO},https://reports.example/x"


def test_tlsrpt_keeps_local_part_case_and_https_path_and_port():
    assert normalize_rua_uri("mailto:TLS.Reports+acme@example.com") == (
        "mailto:TLS.Reports+acme@example.com"
    )
    assert normalize_rua_uri("https://example.com:8443/r/AbC?x=1") == (
        "https://example.com:8443/r/AbC?x=1"
    )


def test_tlsrpt_mail_domain_becomes_a_labels():
    assert normalize_rua_uri("mailto:tls@bücher.example") == "mailto:tls@xn--bcher-kva.example"
    assert normalize_rua_uri("https://bücher.example/r") == "https://xn--bcher-kva.example/r"


def test_tlsrpt_refuses_non_ascii_local_part():
    with pytest.raises(ValueError, match="not mailto: followed by one address"):
        tlsrpt_record(["mailto:jörg@example.com"])


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://example.com/r", "must start with mailto: or https:"),
        ("ftp://example.com/r", "must start with mailto: or https:"),
        ("tlsrpt@example.com", "must start with mailto: or https:"),
        ("mailto:", "is not mailto: followed by one address"),
        ("mailto:example.com", "is not mailto: followed by one address"),
        ("mailto:a..b@example.com", "is not mailto: followed by one address"),
        ("mailto:a@example.com?subject=x", "without '?' headers"),
        ("mailto:a@localhost", "invalid mail domain"),
        ("mailto:a@example.com,b@example.com", "percent-encode them"),
        ("https://example.com/a;b", "percent-encode them"),
        ("https://example.com/a!b", "percent-encode them"),
        ("https://example.com/a b", "percent-encode them"),
        ("https:/example.com/r", "https:// URL with a host name"),
        ("https:///r", "https:// URL with a host name"),
        ("https://user:pw@example.com/r", "user name or password"),
        ("https://192.0.2.1/r", "invalid host"),
        ("https://example.com:99999/r", "invalid host"),
        ("https://example.com/räport", "outside printable ASCII"),
        ("https://example.com/r\x7f", "outside printable ASCII"),
        ("", "must not be empty"),
    ],
)
def test_tlsrpt_refuses_bad_uris(uri, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        tlsrpt_record([uri])


def test_tlsrpt_needs_a_list_with_at_least_one_uri():
    with pytest.raises(ValueError, match="at least one rua URI"):
        tlsrpt_record([])
    with pytest.raises(ValueError, match="not a single string"):
        tlsrpt_record(MAILTO)


def test_dns_records_have_absolute_names():
    assert mta_sts_dns_record("Example.COM.", "abc123") == DnsRecord(
        "_mta-sts.example.com", "TXT", "v=STSv1; id=abc123", 3600
    )
    assert tlsrpt_dns_record("example.com", [MAILTO], ttl=300) == DnsRecord(
        "_smtp._tls.example.com", "TXT", f"v=TLSRPTv1; rua={MAILTO}", 300
    )


def test_policy_host_cname_and_hosted_record():
    assert policy_host("Example.com") == "mta-sts.example.com"
    assert policy_host_cname("example.com", "acme.github.io.") == DnsRecord(
        "mta-sts.example.com", "CNAME", "acme.github.io", 3600
    )
    assert hosted_cname_record("example.com", "policies.stsguard.example") == DnsRecord(
        "mta-sts.example.com", "CNAME", "policies.stsguard.example", 3600
    )


def test_cname_to_itself_is_refused():
    with pytest.raises(ValueError, match="cannot be a CNAME to itself"):
        policy_host_cname("example.com", "mta-sts.example.com")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rtype": "A", "value": "192.0.2.1"}, "Only TXT and CNAME"),
        ({"rtype": "TXT", "value": "x", "ttl": 0}, "between 1 and 2147483647"),
        ({"rtype": "TXT", "value": "x", "ttl": "3600"}, "whole number of seconds"),
    ],
)
def test_dns_record_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DnsRecord(name="x.example.com", **kwargs)


def test_bad_domain_is_refused_everywhere():
    with pytest.raises(ValueError, match="single label"):
        mta_sts_dns_record("localhost", "abc")
    with pytest.raises(ValueError, match="Enter just the domain name"):
        tlsrpt_dns_record("https://example.com", [MAILTO])
