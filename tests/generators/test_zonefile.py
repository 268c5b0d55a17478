"""Zone-file snippet and the plain-text sheet."""

from __future__ import annotations

import re

import dns.rdatatype
import dns.zone
import pytest

from monitoring.generators.records import (
    DnsRecord,
    hosted_cname_record,
    mta_sts_dns_record,
    tlsrpt_dns_record,
)
from monitoring.generators.zonefile import (
    bind_zone_snippet,
    records_text,
    relative_name,
    txt_quote,
)

MAILTO = "mailto:tlsrpt@reports.stsguard.example"
LONG_HTTPS = "https://reports.stsguard.example/tlsrpt/" + "k" * 260


def standard_records() -> list[DnsRecord]:
    return [
        mta_sts_dns_record("example.com", "20261123T184500"),
        tlsrpt_dns_record("example.com", [MAILTO]),
        hosted_cname_record("example.com", "policies.stsguard.example"),
    ]


def parse_zone(snippet: str, origin: str = "example.com") -> dns.zone.Zone:
    """Load the snippet into a zone with dnspython, as BIND would."""
    header = (
        f"$ORIGIN {origin}.\n"
        "@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 3600\n"
        "@ 3600 IN NS ns1\n"
        "ns1 3600 IN A 192.0.2.53\n"
    )
    return dns.zone.from_text(header + snippet, origin=origin, relativize=True)


def txt_value(zone: dns.zone.Zone, name: str) -> str:
    rdataset = zone.find_rdataset(name, dns.rdatatype.TXT)
    (rdata,) = list(rdataset)
    return b"".join(rdata.strings).decode("utf-8")


def test_short_value_is_one_quoted_string():
    assert txt_quote("v=STSv1; id=20261123T184500") == '"v=STSv1; id=20261123T184500"'


def test_quotes_backslashes_and_non_ascii_are_escaped():
    assert txt_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert txt_quote("é\t") == '"\\195\\169\\009"'


def test_long_value_splits_into_255_octet_strings():
    value = "v=TLSRPTv1; rua=" + "x" * 600
    quoted = txt_quote(value)
    strings = quoted.split('" "')
    assert len(strings) == 3
    assert quoted.startswith('"v=TLSRPTv1; rua=xxx')
    parts = [s.strip('"') for s in strings]
    assert [len(p) for p in parts] == [255, 255, len(value) - 510]
    assert "".join(parts) == value


def test_exactly_255_octets_stays_one_string():
    assert txt_quote("y" * 255) == '"' + "y" * 255 + '"'
    assert txt_quote("y" * 256) == '"' + "y" * 255 + '" "y"'


def test_split_never_cuts_an_escape():
    # 254 plain octets then a quote: the escape lands whole in the first string.
    quoted = txt_quote("z" * 254 + '""')
    assert quoted == '"' + "z" * 254 + '\\"" "\\""'


def test_empty_value_is_one_empty_string():
    assert txt_quote("") == '""'


def test_snippet_lines_are_relative_with_ttls():
    snippet = bind_zone_snippet("example.com", standard_records())
    lines = snippet.splitlines()
    assert lines[0] == "; MTA-STS and TLS reporting records for example.com"
    assert lines[2:] == [
        '_mta-sts   3600 IN TXT   "v=STSv1; id=20261123T184500"',
        f'_smtp._tls 3600 IN TXT   "v=TLSRPTv1; rua={MAILTO}"',
        "mta-sts    3600 IN CNAME policies.stsguard.example.",
    ]
    assert "$ORIGIN" not in snippet
    assert snippet.endswith("\n")


def test_snippet_loads_in_dnspython_with_the_same_values():
    records = [
        mta_sts_dns_record("example.com", "20261123T184500", ttl=300),
        tlsrpt_dns_record("example.com", [MAILTO, LONG_HTTPS]),
        hosted_cname_record("example.com", "policies.stsguard.example"),
    ]
    zone = parse_zone(bind_zone_snippet("example.com", records))
    assert txt_value(zone, "_mta-sts") == "v=STSv1; id=20261123T184500"
    assert txt_value(zone, "_smtp._tls") == f"v=TLSRPTv1; rua={MAILTO},{LONG_HTTPS}"
    assert zone.find_rdataset("_mta-sts", dns.rdatatype.TXT).ttl == 300
    cname = zone.find_rdataset("mta-sts", dns.rdatatype.CNAME)
    assert cname[0].target.to_text() == "policies.stsguard.example."


def test_long_tlsrpt_value_is_split_in_the_snippet():
    record = tlsrpt_dns_record("example.com", [LONG_HTTPS])
    line = bind_zone_snippet("example.com", [record]).splitlines()[-1]
    assert line.count('" "') == 1
    assert all(len(s) <= 255 for s in txt_quote(record.value).strip('"').split('" "'))


def test_snippet_for_a_domain_in_a_parent_zone():
    records = [mta_sts_dns_record("shop.example.com", "abc")]
    snippet = bind_zone_snippet("shop.example.com", records, zone="example.com")
    assert snippet.splitlines()[-1] == '_mta-sts.shop 3600 IN TXT   "v=STSv1; id=abc"'
    assert txt_value(parse_zone(snippet), "_mta-sts.shop") == "v=STSv1; id=abc"


def test_record_outside_the_zone_is_refused():
    message = "_mta-sts.example.org is not inside the zone example.com"
    with pytest.raises(ValueError, match=re.escape(message)):
        bind_zone_snippet("example.com", [mta_sts_dns_record("example.org", "abc")])


def test_no_records_is_refused():
    with pytest.raises(ValueError, match="No records"):
        bind_zone_snippet("example.com", [])


def test_relative_name():
    assert relative_name("example.com", "example.com") == "@"
    assert relative_name("_smtp._tls.example.com", "example.com") == "_smtp._tls"
    with pytest.raises(ValueError, match="not inside"):
        relative_name("badexample.com", "example.com")


def test_records_text_lists_every_record_and_the_zone_lines():
    text = records_text("example.com", standard_records())
    assert text.startswith("DNS records for example.com\n===========================\n")
    assert "1. TXT record _mta-sts.example.com\n   Name/Host: _mta-sts   " in text
    assert "   Value:     v=STSv1; id=20261123T184500\n" in text
    assert "2. TXT record _smtp._tls.example.com\n" in text
    assert f"   Value:     v=TLSRPTv1; rua={MAILTO}\n" in text
    assert "3. CNAME record mta-sts.example.com\n" in text
    assert "   Value:     policies.stsguard.example\n" in text
    assert "   TTL:       3600\n" in text
    assert "without quotes" in text
    assert text.endswith(bind_zone_snippet("example.com", standard_records()))
