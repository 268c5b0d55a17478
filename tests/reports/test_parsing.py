"""parse_report: every shared sample against hand-counted figures, then bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from reports.decoding import decode_report_bytes
from reports.errors import ReportRejected
from reports.limits import Limits
from reports.mail import extract_reports_from_message
from reports.parsing import ParsedReport, dedup_key, parse_report
from tests.reports.support import TLSRPT_SAMPLES, report_dict, sample, to_json

LIMITS = Limits()


def no_dns(name: bytes, timeout: float = 5) -> None:
    return None


@dataclass(frozen=True)
class Expected:
    organization: str
    report_id: str
    policies: int
    failure_details: int
    successful: int  # summed over the report's policies
    failed: int
    start: datetime
    end: datetime


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


COMPANY_X = "5065427c-23d3-47ca-b6e0-946ea0e8c4be"
RFC_DAY = (utc(2016, 4, 1), utc(2016, 4, 1, 23, 59, 59))

# Counted by reading each file (the .eml ones after gunzipping the attachment by hand):
# successful/failed are the summary counts added over policies; failure_details is the
# number of failure-details entries, whatever their counts say.
EXPECTED: dict[str, Expected] = {
    "cry-inc__dmarc-report-viewer__full-example.json": Expected(
        "Company-X", COMPANY_X, 1, 3, 5326, 303, *RFC_DAY
    ),
    "cry-inc__dmarc-report-viewer__google.json": Expected(
        "Google Inc.",
        "2025-04-12T00:00:00Z_domain.de",
        1,
        0,
        2,
        0,
        utc(2025, 4, 12),
        utc(2025, 4, 12, 23, 59, 59),
    ),
    "cry-inc__dmarc-report-viewer__microsoft.json": Expected(
        "Microsoft Corporation",
        "133925885310113267+random.net",
        2,
        0,
        4,
        0,
        utc(2025, 5, 23),
        utc(2025, 5, 23, 23, 59, 59),
    ),
    "cry-inc__dmarc-report-viewer__no-contact.json": Expected(
        "server.com", "123_456", 1, 0, 1, 0, utc(2026, 1, 11), utc(2026, 1, 12)
    ),
    "cry-inc__dmarc-report-viewer__no-policy.json": Expected(
        "Google Inc.",
        "2025-03-27T00:00:00Z_foo-bar.io",
        1,
        0,
        1,
        0,
        utc(2025, 3, 27),
        utc(2025, 3, 27, 23, 59, 59),
    ),
    "cry-inc__dmarc-report-viewer__no_ip_and_mx.json": Expected(
        "Microsoft Corporation",
        "1234567890+",
        1,
        1,
        0,
        3,
        utc(2025, 6, 14),
        utc(2025, 6, 14, 23, 59, 59),
    ),
    "domainaware__parsedmarc__google.com_smtp_tls_report.eml": Expected(
        "Google Inc.",
        "2024-09-03T00:00:00Z_cardinalhealth.ca",
        1,
        0,
        48,
        0,
        utc(2024, 9, 3),
        utc(2024, 9, 3, 23, 59, 59),
    ),
    "domainaware__parsedmarc__mail.ru.json": Expected(
        "Mail.ru",
        "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru",
        1,
        2,
        0,
        1,  # as sent, though its two failure-details add up to 2
        utc(2024, 2, 22),
        utc(2024, 2, 23),
    ),
    "domainaware__parsedmarc__rfc8460.json": Expected(
        "Company-X", COMPANY_X, 1, 3, 5326, 303, *RFC_DAY
    ),
    "domainaware__parsedmarc__smtp_tls.json": Expected(
        "Example Inc.",
        "2024-01-09T00:00:00Z_example.com",
        1,
        2,
        0,
        3,
        utc(2024, 1, 9),
        utc(2024, 1, 9, 23, 59, 59),
    ),
    "mjl-__mox__example.eml": Expected(
        "Google Inc.",
        "2022-09-15T00:00:00Z_test.xmox.nl",
        1,
        0,
        3,
        0,
        utc(2022, 9, 15),
        utc(2022, 9, 15, 23, 59, 59),
    ),
    "mjl-__mox__microsoft.eml": Expected(
        "Microsoft Corporation",
        "133198585438131172+test.xmox.nl",
        1,
        0,
        2,
        0,
        utc(2023, 1, 10),  # sent without a zone: read as UTC
        utc(2023, 1, 10, 23, 59, 59),
    ),
    "phi-ag__mta-sts-exporter__google.json": Expected(
        "Google Inc.",
        "2024-02-17T00:00:00Z_example.com",
        1,
        0,
        53,
        0,
        utc(2024, 2, 17),
        utc(2024, 2, 17, 23, 59, 59),
    ),
    "phi-ag__mta-sts-exporter__microsoft-2.json": Expected(
        "Microsoft Corporation",
        "133561180919336230+example.com",
        1,
        0,
        7,
        0,
        utc(2024, 3, 26),  # sent without a zone
        utc(2024, 3, 26, 23, 59, 59),
    ),
    "phi-ag__mta-sts-exporter__microsoft.json": Expected(
        "Microsoft Corporation",
        "133526718584528772+example.com",
        1,
        0,
        18,
        0,
        utc(2024, 2, 16),
        utc(2024, 2, 16, 23, 59, 59),
    ),
    "phi-ag__mta-sts-exporter__rfc-errata-6241.json": Expected(
        "Company-X", COMPANY_X, 1, 3, 5326, 303, *RFC_DAY
    ),
    "stalwartlabs__mail-auth__rpt01.json": Expected(
        "Company-X", COMPANY_X, 1, 3, 5326, 303, *RFC_DAY
    ),
    "stalwartlabs__mail-auth__rpt02.json": Expected(
        "Google Inc.",
        "2020-01-01T00:00:00Z_example.com",
        1,
        1,
        23,
        1,
        utc(2020, 1, 1),
        utc(2020, 1, 7, 23, 59, 59),
    ),
}
# The one deliberately broken sample (see SOURCES.md): refused, with the field named.
REFUSED = {
    "stalwartlabs__mail-auth__rpt03.json": (
        "missing_field",
        "policies[0].policy.policy-domain",
    ),
}


def parse_sample(name: str) -> ParsedReport:
    data = sample(name)
    if name.endswith(".eml"):
        extraction = extract_reports_from_message(data, LIMITS, dnsfunc=no_dns)
        assert len(extraction.reports) == 1
        return parse_report(extraction.reports[0], LIMITS)
    return parse_report(decode_report_bytes(data, None, name, LIMITS), LIMITS)


def test_every_sample_has_an_expectation() -> None:
    on_disk = {path.name for path in TLSRPT_SAMPLES.iterdir() if path.suffix in {".json", ".eml"}}
    assert on_disk == set(EXPECTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_to_hand_counted_figures(name: str) -> None:
    expected = EXPECTED[name]
    report = parse_sample(name)
    assert report.organization_name == expected.organization
    assert report.report_id == expected.report_id
    assert len(report.policies) == expected.policies
    assert report.failure_detail_count == expected.failure_details
    assert report.total_successful == expected.successful
    assert report.total_failure == expected.failed
    assert report.start_datetime == expected.start
    assert report.end_datetime == expected.end
    assert report.start_datetime.tzinfo is UTC


@pytest.mark.parametrize(("name", "refusal"), sorted(REFUSED.items()))
def test_broken_sample_is_refused_naming_the_field(name: str, refusal: tuple[str, str]) -> None:
    code, field_path = refusal
    with pytest.raises(ReportRejected) as caught:
        parse_sample(name)
    assert caught.value.code == code
    assert field_path in caught.value.reason


def test_rfc_example_failure_details_field_by_field() -> None:
    policy = parse_sample("domainaware__parsedmarc__rfc8460.json").policies[0]
    assert policy.policy_type == "sts"
    assert policy.policy_domain == "company-y.example"
    assert policy.mx_hosts == ["*.mail.company-y.example"]  # sent as a string
    assert policy.policy_strings == [
        "version: STSv1",
        "mode: testing",
        "mx: *.mail.company-y.example",
        "max_age: 86400",
    ]
    first, second, third = policy.failures
    assert (first.result_type, first.sending_mta_ip, first.receiving_ip) == (
        "certificate-expired",
        "2001:db8:abcd:0012::1",
        None,
    )
    assert first.failed_session_count == 100
    assert second.receiving_mx_hostname == "mx2.mail.company-y.example"
    assert second.additional_information == (
        "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
    )
    assert third.failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    assert third.receiving_mx_helo is None


def test_liberal_inputs_from_the_samples() -> None:
    no_contact = parse_sample("cry-inc__dmarc-report-viewer__no-contact.json")
    assert no_contact.contact_info is None
    assert no_contact.policies[0].mx_hosts == ["mx.server.com"]  # "mx: " prefix dropped
    assert no_contact.policies[0].failures == []

    fetch_error = parse_sample("cry-inc__dmarc-report-viewer__no_ip_and_mx.json").policies[0]
    detail = fetch_error.failures[0]
    assert (detail.result_type, detail.failed_session_count) == ("sts-policy-fetch-error", 3)
    assert detail.sending_mta_ip is None
    assert detail.receiving_ip is None
    assert detail.receiving_mx_hostname is None
    assert fetch_error.policy_strings == []

    microsoft = parse_sample("cry-inc__dmarc-report-viewer__microsoft.json")
    assert [p.policy_type for p in microsoft.policies] == ["sts", "tlsa"]
    assert len(microsoft.policies[1].policy_strings) == 1


def test_inconsistent_counts_are_kept_as_sent_with_a_warning() -> None:
    report = parse_sample("domainaware__parsedmarc__mail.ru.json")
    policy = report.policies[0]
    assert policy.total_failure == 1
    assert [d.failed_session_count for d in policy.failures] == [1, 1]
    assert [d.failure_reason_code for d in policy.failures] == [
        "bad https response code: 404",
        "bad https response code: 500",
    ]
    assert report.warnings == [
        "policies[0]: failure-details add up to 2 sessions, total-failure-session-count says 1"
    ]


def test_same_report_from_several_copies_has_one_dedup_key() -> None:
    copies = [
        "cry-inc__dmarc-report-viewer__full-example.json",
        "domainaware__parsedmarc__rfc8460.json",
        "phi-ag__mta-sts-exporter__rfc-errata-6241.json",
        "stalwartlabs__mail-auth__rpt01.json",
    ]
    keys = {dedup_key(parse_sample(name)) for name in copies}
    assert keys == {("company-x", COMPANY_X)}


def test_dedup_key_normalises_the_organization_only() -> None:
    document = report_dict()
    document["organization-name"] = "  Google   Inc. "
    document["report-id"] = "ABC-1"
    assert dedup_key(parse_report(to_json(document), LIMITS)) == ("google inc.", "ABC-1")


# Liberal readings that are harmless.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", utc(2024, 1, 1)),
        ("2024-01-01T02:30:00+02:30", utc(2024, 1, 1)),
        ("2023-12-31T19:00:00-05:00", utc(2024, 1, 1)),
        ("2024-01-01T00:00:00.250Z", utc(2024, 1, 1, 0, 0, 0, 250000)),
        ("2024-01-01T00:00:00", utc(2024, 1, 1)),
        ("2024-01-01 00:00:00Z", utc(2024, 1, 1)),
        ("2024-01-01", utc(2024, 1, 1)),
    ],
)
def test_datetime_forms(text: str, expected: datetime) -> None:
    document = report_dict()
    document["date-range"] = {"start-datetime": text, "end-datetime": "2024-01-02T00:00:00Z"}
    assert parse_report(to_json(document), LIMITS).start_datetime == expected


def test_policy_string_and_mx_host_as_plain_strings() -> None:
    document = report_dict()
    policy = document["policies"][0]["policy"]
    policy["policy-string"] = "version: STSv1"
    policy["mx-host"] = "*.example.com"
    parsed = parse_report(to_json(document), LIMITS).policies[0]
    assert parsed.policy_strings == ["version: STSv1"]
    assert parsed.mx_hosts == ["*.example.com"]


def test_counts_as_digit_strings_are_read_as_integers() -> None:
    document = report_dict()
    document["policies"][0]["summary"]["total-successful-session-count"] = "5326"
    document["policies"][0]["failure-details"][0]["failed-session-count"] = " 2 "
    policy = parse_report(to_json(document), LIMITS).policies[0]
    assert policy.total_successful == 5326
    assert policy.failures[0].failed_session_count == 2


def test_unknown_types_and_extra_keys_are_kept() -> None:
    document = report_dict()
    document["policies"][0]["policy"]["policy-type"] = "future-policy"
    document["policies"][0]["failure-details"][0]["result-type"] = "quantum-failure"
    document["policies"][0]["failure-details"][0]["x-vendor"] = {"note": [1, 2]}
    document["x-extension"] = "ignored"
    report = parse_report(to_json(document), LIMITS)
    assert report.policies[0].policy_type == "future-policy"
    assert report.policies[0].failures[0].result_type == "quantum-failure"
    assert report.warnings == [
        "policies[0].policy.policy-type 'future-policy' is not in RFC 8460",
        "unknown result-type values kept as sent: quantum-failure",
    ]


def test_additional_info_uri_is_read_when_the_rfc_key_is_absent() -> None:
    document = report_dict()
    document["policies"][0]["failure-details"][0]["additional-info-uri"] = "https://x.example/1"
    detail = parse_report(to_json(document), LIMITS).policies[0].failures[0]
    assert detail.additional_information == "https://x.example/1"


def test_careful_path_gives_the_same_entry_as_the_fast_path() -> None:
    # An unknown key sends an entry down the careful path; the result must not differ.
    plain = report_dict()
    entry = plain["policies"][0]["failure-details"][0]
    entry.update({"receiving-mx-helo": "helo.example.com", "failure-reason-code": "E1"})
    entry.update({"additional-information": "https://x.example/", "sending-mta-ip": ""})
    with_extra = json.loads(json.dumps(plain))
    with_extra["policies"][0]["failure-details"][0]["x-extra"] = True
    fast = parse_report(to_json(plain), LIMITS).policies[0].failures[0]
    careful = parse_report(to_json(with_extra), LIMITS).policies[0].failures[0]
    assert fast == careful
    assert fast.sending_mta_ip is None  # empty string reads as absent


def test_careful_path_gives_the_same_policy_as_the_fast_path() -> None:
    # Extra keys send a policy down the careful path; the result must not differ.
    plain = report_dict()
    plain["policies"][0]["policy"]["policy-string"] = ["version: STSv1", "mode: enforce"]
    plain["policies"][0]["policy"]["mx-host"] = ["mx: mx1.example.com", "*.example.net"]
    with_extra = json.loads(json.dumps(plain))
    with_extra["policies"][0]["x-extra"] = {"nested": [1]}
    with_extra["policies"][0]["policy"]["x-extra"] = True
    fast = parse_report(to_json(plain), LIMITS)
    careful = parse_report(to_json(with_extra), LIMITS)
    assert fast.policies == careful.policies
    assert fast.warnings == careful.warnings == []
    assert fast.policies[0].mx_hosts == ["mx1.example.com", "*.example.net"]


def test_an_unknown_policy_type_is_kept_with_a_warning() -> None:
    document = report_dict()
    document["policies"][0]["policy"]["policy-type"] = "dane-future"
    parsed = parse_report(to_json(document), LIMITS)
    assert parsed.policies[0].policy_type == "dane-future"
    assert parsed.warnings == ["policies[0].policy.policy-type 'dane-future' is not in RFC 8460"]


def test_utf8_bom_and_crlf_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(report_dict(), indent=2).replace("\n", "\r\n").encode()
    assert parse_report(data, LIMITS).report_id == "2024-05-01_example.com"


def test_numeric_report_id_is_read_as_its_digits() -> None:
    document = report_dict()
    document["report-id"] = 133526718584528772
    assert parse_report(to_json(document), LIMITS).report_id == "133526718584528772"


# Refusals, each with its code.


def json_path(path: tuple[str | int, ...]) -> str:
    """("policies", 0, "summary") -> "policies[0].summary", as reasons spell paths."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def refusal(data: bytes, limits: Limits = LIMITS) -> ReportRejected:
    with pytest.raises(ReportRejected) as caught:
        parse_report(data, limits)
    return caught.value


def test_not_json() -> None:
    assert refusal(b"<feedback>an XML DMARC report</feedback>").code == "not_json"
    assert refusal(b'{"organization-name": "x",').code == "not_json"


@pytest.mark.parametrize("data", [b"[]", b'[{"organization-name": "x"}]', b'"report"', b"42"])
def test_json_that_is_not_an_object(data: bytes) -> None:
    assert refusal(data).code == "not_object"


def test_invalid_utf8() -> None:
    data = to_json(report_dict()).replace(b"Sender Org", b"Sender \xff Org")
    assert refusal(data).code == "invalid_utf8"


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (("policies", 0, "summary", "total-successful-session-count"), "lots", "wrong_type"),
        (("policies", 0, "summary", "total-successful-session-count"), 12.5, "wrong_type"),
        (("policies", 0, "summary", "total-successful-session-count"), True, "wrong_type"),
        (("policies", 0, "summary", "total-failure-session-count"), -1, "bad_value"),
        (("policies", 0, "summary", "total-failure-session-count"), 10**16, "bad_value"),
        (("policies", 0, "failure-details", 0, "failed-session-count"), -5, "bad_value"),
        (("policies", 0, "failure-details", 0, "failed-session-count"), "2x", "wrong_type"),
        (("policies", 0, "failure-details", 0, "sending-mta-ip"), 19216801, "wrong_type"),
        (("policies", 0, "failure-details", 0, "result-type"), ["a"], "wrong_type"),
        (("policies", 0, "failure-details", 0), "entry", "wrong_type"),
        (("policies", 0, "failure-details"), {"result-type": "x"}, "wrong_type"),
        (("policies", 0, "policy", "mx-host"), [1, 2], "wrong_type"),
        (("policies", 0, "policy", "mx-host"), ["m" * 3000], "too_long"),
        (("policies", 0, "policy", "policy-type"), ["sts"], "wrong_type"),
        (("policies", 0, "policy", "policy-domain"), 7, "wrong_type"),
        (("policies", 0, "policy", "policy-string"), {"mode": "enforce"}, "wrong_type"),
        (("policies", 0, "policy"), "sts", "wrong_type"),
        (("policies", 0), "sts", "wrong_type"),
        (("policies",), {"policy": {}}, "wrong_type"),
        (("organization-name",), 42, "wrong_type"),
        (("contact-info",), ["a@b.example"], "wrong_type"),
        (("date-range",), "2024-05-01", "wrong_type"),
        (("date-range", "start-datetime"), "yesterday", "bad_value"),
        (("date-range", "end-datetime"), "2024-04-30T00:00:00Z", "bad_value"),
        (("report-id",), "x" * 2049, "too_long"),
        (("policies", 0, "failure-details", 0, "receiving-mx-hostname"), "a" * 3000, "too_long"),
    ],
)
def test_wrong_types_and_values(path: tuple[str | int, ...], value: object, code: str) -> None:
    document = report_dict()
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    rejected = refusal(to_json(document))
    assert rejected.code == code
    assert json_path(path) in rejected.reason


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (("organization-name",), "organization-name"),
        (("date-range",), "date-range"),
        (("date-range", "start-datetime"), "date-range.start-datetime"),
        (("report-id",), "report-id"),
        (("policies",), "policies"),
        (("policies", 0, "policy"), "policies[0].policy"),
        (("policies", 0, "policy", "policy-type"), "policies[0].policy.policy-type"),
        (("policies", 0, "policy", "policy-domain"), "policies[0].policy.policy-domain"),
        (("policies", 0, "summary"), "policies[0].summary"),
        (
            ("policies", 0, "summary", "total-failure-session-count"),
            "policies[0].summary.total-failure-session-count",
        ),
        (
            ("policies", 0, "failure-details", 0, "result-type"),
            "policies[0].failure-details[0].result-type",
        ),
        (
            ("policies", 0, "failure-details", 0, "failed-session-count"),
            "policies[0].failure-details[0].failed-session-count",
        ),
    ],
)
def test_missing_required_fields(path: tuple[str | int, ...], reason: str) -> None:
    document = report_dict()
    target = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    rejected = refusal(to_json(document))
    assert rejected.code == "missing_field"
    assert rejected.reason.startswith(f"{reason} is missing")
    assert json_path(path) == reason


@pytest.mark.parametrize("value", [None, "", "   "])
def test_null_or_blank_required_string_is_missing(value: object) -> None:
    document = report_dict()
    document["organization-name"] = value
    assert refusal(to_json(document)).code == "missing_field"


def failures_report(count: int) -> bytes:
    document = report_dict()
    entry = document["policies"][0]["failure-details"][0]
    document["policies"][0]["failure-details"] = [entry] * count
    document["policies"][0]["summary"]["total-failure-session-count"] = 2 * count
    return to_json(document)


def test_100000_failure_entries_are_refused() -> None:
    rejected = refusal(failures_report(100_000))
    assert rejected.code == "too_many_failures"
    assert "10000" in rejected.reason


def test_failure_entry_limit_is_configurable_and_counts_every_policy() -> None:
    document = report_dict()
    document["policies"] = document["policies"] * 3  # three policies, one entry each
    assert len(parse_report(to_json(document), Limits(max_failure_entries=3)).policies) == 3
    assert refusal(to_json(document), Limits(max_failure_entries=2)).code == "too_many_failures"


def test_too_many_policies() -> None:
    document = report_dict()
    document["policies"] = document["policies"] * 4
    assert refusal(to_json(document), Limits(max_policies=3)).code == "too_many_policies"


def test_deeply_nested_json_beyond_the_interpreter_is_refused() -> None:
    data = b'{"organization-name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert refusal(data).code == "too_deep"


def test_nesting_over_the_limit_in_an_unknown_key_is_refused() -> None:
    document = report_dict()
    nested: object = "bottom"
    for _ in range(70):
        nested = [nested]
    document["policies"][0]["failure-details"][0]["x-vendor"] = nested
    rejected = refusal(to_json(document))
    assert rejected.code == "too_deep"
    assert "policies[0].failure-details[0].x-vendor" in rejected.reason


def test_nesting_within_the_limit_in_an_unknown_key_is_accepted() -> None:
    document = report_dict()
    nested: object = "bottom"
    for _ in range(50):
        nested = {"x": nested}
    document["x-vendor"] = nested
    assert parse_report(to_json(document), LIMITS).report_id == "2024-05-01_example.com"


def test_nul_character_is_refused() -> None:
    document = report_dict()
    document["organization-name"] = "Sender\x00Org"
    rejected = refusal(to_json(document))
    assert rejected.code == "bad_value"
    assert "NUL" in rejected.reason


def test_lone_surrogate_is_refused_and_a_pair_accepted() -> None:
    lone = to_json(report_dict()).replace(b"Sender Org", b"Sender \\ud800 Org")
    assert refusal(lone).code == "bad_value"
    pair = to_json(report_dict()).replace(b"Sender Org", b"Sender \\ud83d\\ude00 Org")
    assert parse_report(pair, LIMITS).organization_name == "Sender \U0001f600 Org"


def test_json_over_the_decompressed_limit_is_refused() -> None:
    data = to_json(report_dict())
    rejected = refusal(data, Limits(max_decompressed=len(data) - 1))
    assert rejected.code == "decompressed_too_large"
