"""Pattern suggestions for MX sets, and coverage of MX hosts by patterns."""

from __future__ import annotations

import re

import pytest

from monitoring.generators.providers import (
    CoverageResult,
    Suggestion,
    coverage,
    suggest_patterns,
)

GOOGLE_LEGACY = [
    "aspmx.l.google.com",
    "alt1.aspmx.l.google.com",
    "alt2.aspmx.l.google.com",
    "aspmx2.googlemail.com",
    "aspmx3.googlemail.com",
]


def patterns(mx_hosts: list[str]) -> list[str]:
    return [s.pattern for s in suggest_patterns(mx_hosts)]


def test_microsoft_365():
    (suggestion,) = suggest_patterns(["contoso-com.mail.protection.outlook.com."])
    assert suggestion == Suggestion(
        pattern="*.mail.protection.outlook.com",
        provider="Microsoft 365",
        covers=("contoso-com.mail.protection.outlook.com",),
        reason=suggestion.reason,
    )
    assert "mail.protection.outlook.com" in suggestion.reason


def test_microsoft_365_dnssec_endpoint_uses_its_own_parent():
    (suggestion,) = suggest_patterns(["contoso-com.o-v1.mx.microsoft"])
    assert suggestion.pattern == "*.o-v1.mx.microsoft"
    assert suggestion.provider == "Microsoft 365"


def test_microsoft_365_government_and_china_clouds():
    assert patterns(["contoso-com.mail.protection.office365.us"]) == [
        "*.mail.protection.office365.us"
    ]
    assert patterns(["contoso-com.mail.protection.partner.outlook.cn"]) == [
        "*.mail.protection.partner.outlook.cn"
    ]


def test_google_workspace_legacy_five_hosts():
    suggestions = suggest_patterns(GOOGLE_LEGACY)
    assert [(s.pattern, s.covers) for s in suggestions] == [
        ("aspmx.l.google.com", ("aspmx.l.google.com",)),
        ("*.aspmx.l.google.com", ("alt1.aspmx.l.google.com", "alt2.aspmx.l.google.com")),
        ("aspmx2.googlemail.com", ("aspmx2.googlemail.com",)),
        ("aspmx3.googlemail.com", ("aspmx3.googlemail.com",)),
    ]
    assert {s.provider for s in suggestions} == {"Google Workspace"}
    # Never a wildcard over a general-purpose Google domain.
    assert not {"*.google.com", "*.l.google.com", "*.googlemail.com"} & set(patterns(GOOGLE_LEGACY))


def test_google_workspace_alt_hosts_alone_get_the_wildcard_only():
    assert patterns(["ALT3.ASPMX.L.GOOGLE.COM", "alt4.aspmx.l.google.com"]) == [
        "*.aspmx.l.google.com"
    ]


def test_google_workspace_single_mx_since_2023():
    (suggestion,) = suggest_patterns(["smtp.google.com"])
    assert (suggestion.pattern, suggestion.provider, suggestion.covers) == (
        "smtp.google.com",
        "Google Workspace",
        ("smtp.google.com",),
    )
    assert "named exactly" in suggestion.reason


@pytest.mark.parametrize(
    ("hosts", "expected", "provider"),
    [
        (
            ["mail.protonmail.ch", "mailsec.protonmail.ch"],
            ["mail.protonmail.ch", "mailsec.protonmail.ch"],
            "Proton Mail",
        ),
        (
            ["in1-smtp.messagingengine.com", "in2-smtp.messagingengine.com"],
            ["*.messagingengine.com"],
            "Fastmail",
        ),
        (
            ["mx.zoho.com", "mx2.zoho.com", "mx3.zoho.com"],
            ["mx.zoho.com", "mx2.zoho.com", "mx3.zoho.com"],
            "Zoho Mail",
        ),
        (["mx.zoho.eu", "mx2.zoho.eu"], ["mx.zoho.eu", "mx2.zoho.eu"], "Zoho Mail"),
        (
            ["eu-smtp-inbound-1.mimecast.com", "eu-smtp-inbound-2.mimecast.com"],
            ["eu-smtp-inbound-1.mimecast.com", "eu-smtp-inbound-2.mimecast.com"],
            "Mimecast",
        ),
        (
            ["mx0a-00123456.pphosted.com", "mx0b-00123456.pphosted.com"],
            ["*.pphosted.com"],
            "Proofpoint",
        ),
        (["mx1-us1.ppe-hosted.com"], ["*.ppe-hosted.com"], "Proofpoint Essentials"),
        (
            ["inbound-smtp.eu-west-1.amazonaws.com"],
            ["inbound-smtp.eu-west-1.amazonaws.com"],
            "Amazon SES / WorkMail",
        ),
        (["mx.yandex.net"], ["mx.yandex.net"], "Yandex 360"),
        (["mx01.mail.icloud.com", "mx02.mail.icloud.com"], ["*.mail.icloud.com"], "iCloud Mail"),
        (["mxa.mailgun.org", "mxb.mailgun.org"], ["mxa.mailgun.org", "mxb.mailgun.org"], "Mailgun"),
        (["mxa.eu.mailgun.org"], ["mxa.eu.mailgun.org"], "Mailgun"),
        (
            ["mx1.secureserver.net", "mx2.secureserver.net"],
            ["mx1.secureserver.net", "mx2.secureserver.net"],
            "GoDaddy",
        ),
    ],
)
def test_known_providers(hosts, expected, provider):
    suggestions = suggest_patterns(hosts)
    assert [s.pattern for s in suggestions] == expected
    assert {s.provider for s in suggestions} == {provider}
    assert coverage(hosts, expected).complete


def test_amazon_hosts_that_are_not_ses_inbound_are_not_recognised():
    (suggestion,) = suggest_patterns(["ec2-192-0-2-1.compute-1.amazonaws.com"])
    assert suggestion.provider is None
    assert suggestion.pattern == "ec2-192-0-2-1.compute-1.amazonaws.com"


def test_mixed_providers_keep_mx_order():
    hosts = [
        "contoso-com.mail.protection.outlook.com",
        "mx0a-00123456.pphosted.com",
        "backup.mx.contoso.com",
    ]
    suggestions = suggest_patterns(hosts)
    assert [(s.pattern, s.provider) for s in suggestions] == [
        ("*.mail.protection.outlook.com", "Microsoft 365"),
        ("*.pphosted.com", "Proofpoint"),
        ("backup.mx.contoso.com", None),
    ]


def test_self_hosted_at_the_organisation_level_stays_exact():
    # *.example.com would also trust www.example.com and every other host of the company.
    hosts = ["mx1.example.com", "mx2.example.com"]
    assert patterns(hosts) == ["mx1.example.com", "mx2.example.com"]
    assert all(s.provider is None for s in suggest_patterns(hosts))


def test_self_hosted_in_a_mail_sub_zone_collapses():
    hosts = ["mx1.mail.example.com", "mx2.mail.example.com", "mx.example.org"]
    assert suggest_patterns(hosts) == [
        Suggestion(
            "*.mail.example.com",
            None,
            ("mx1.mail.example.com", "mx2.mail.example.com"),
            "2 MX hosts share mail.example.com, a sub-zone for mail.",
        ),
        Suggestion("mx.example.org", None, ("mx.example.org",), "Exact MX host name."),
    ]


def test_single_host_in_a_sub_zone_stays_exact():
    assert patterns(["mx1.mail.example.com"]) == ["mx1.mail.example.com"]


@pytest.mark.parametrize(
    "hosts",
    [
        ["mx1.example.co.uk", "mx2.example.co.uk"],
        ["mx1.example.de", "mx2.example.de"],
        ["mx1.mail.example.de", "mx2.mail.example.de"],
    ],
)
def test_no_collapse_where_the_parent_may_be_the_organisation(hosts):
    assert patterns(hosts) == hosts


def test_collapse_below_a_country_code_organisation():
    hosts = ["mx1.mail.example.co.uk", "mx2.mail.example.co.uk"]
    assert patterns(hosts) == ["*.mail.example.co.uk"]


def test_duplicates_and_case_are_folded():
    assert patterns(["MX.Example.org.", "mx.example.org"]) == ["mx.example.org"]


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ([], "at least one MX host"),
        (["."], "null MX"),
        (["mx.example.com", "not a host"], "Enter just the domain name"),
        (["localhost"], "single label"),
        ("mx.example.com", "not a single string"),
    ],
)
def test_invalid_mx_lists(hosts, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        suggest_patterns(hosts)


def test_suggestions_cover_every_host_of_every_sample():
    samples = [
        GOOGLE_LEGACY,
        ["contoso-com.mail.protection.outlook.com", "mx1.mail.contoso.com", "mx2.mail.contoso.com"],
        ["mx.example.org", "mx.example.net"],
    ]
    for hosts in samples:
        result = coverage(hosts, patterns(hosts))
        assert result.uncovered == ()
        assert result.unused == ()


def test_coverage_reports_uncovered_hosts_and_unused_patterns():
    result = coverage(
        ["A.mx.example.com.", "b.mx.example.com", "mx.example.org", "x.y.mx.example.com"],
        ["*.mx.example.com", "mx.example.net", "b.mx.example.com", "mx.example.net"],
    )
    assert result == CoverageResult(
        matches={
            "a.mx.example.com": ("*.mx.example.com",),
            "b.mx.example.com": ("*.mx.example.com", "b.mx.example.com"),
            "mx.example.org": (),
            "x.y.mx.example.com": (),
        },
        uncovered=("mx.example.org", "x.y.mx.example.com"),
        unused=("mx.example.net",),
    )
    assert not result.complete


def test_wildcard_does_not_cover_its_base():
    result = coverage(["example.com"], ["*.example.com"])
    assert result.uncovered == ("example.com",)
    assert result.unused == ("*.example.com",)


def test_coverage_refuses_invalid_patterns():
    with pytest.raises(ValueError, match="whole left-most label"):
        coverage(["mx.example.com"], ["mx.*.example.com"])
