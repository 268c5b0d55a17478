"""The _mta-sts [RFC 8461 3.1] and _smtp._tls [RFC 8460 3] TXT records."""

from __future__ import annotations

import pytest

from monitoring.checks.records import missing_reason, parse_sts, parse_tlsrpt

STS = "_mta-sts.example.com"
TLS = "_smtp._tls.example.com"


def txt(*records: str | list[str]) -> list[list[bytes]]:
    """TXT records as DNS gives them: each a list of byte strings."""
    return [[r.encode()] if isinstance(r, str) else [s.encode() for s in r] for r in records]


def codes(findings) -> set[str]:
    return {f.code for f in findings}


@pytest.mark.parametrize(
    ("records", "expected_id"),
    [
        (["v=STSv1; id=20240101T000000"], "20240101T000000"),
        (["v=STSv1;id=abc"], "abc"),
        (["v=STSv1 ;  id=abc ; "], "abc"),
        (["v=STSv1;\tid=abc"], "abc"),
        (["v=STSv1; id=abc;"], "abc"),
        (["v=STSv1; id=" + "a" * 32], "a" * 32),
        (["v=STSv1; id=1"], "1"),
        (["v=STSv1; ext_1=some.value; id=order123; id=second2"], "order123"),
        (["v=STSv1; id=first; x-y.z=a:b/c"], "first"),
        ([["v=STSv1; id=2024", "0101T000000;"]], "20240101T000000"),
        (["google-site-verification=x", "v=STSv1; id=abc", "v=spf1 -all"], "abc"),
        (["v=STSv10; id=ignored", "v=STSv1; id=abc"], "abc"),
    ],
)
def test_valid_sts_records(records: list, expected_id: str) -> None:
    record, findings = parse_sts(STS, txt(*records))
    assert findings == []
    assert record is not None and record.valid
    assert record.id == expected_id


@pytest.mark.parametrize(
    "records",
    [
        ["v=STSv1;"],
        ["v=STSv1"],
        ["v=STSv1; id="],
        ["v=STSv1; id=" + "a" * 33],
        ["v=STSv1; id=2024-01-01"],
        ["v=STSv1; id=abc_def"],
        ["v=STSv1 id=20240101"],
        ["v=STSv1; ID=abc"],
        ["v=STSv1; id=abc;; ext=1"],
        ["v=STSv1; ;id=abc"],
        ["v=STSv1; id=abc; ext=has space"],
        ["v=STSv1; id=abc; ext="],
        ["v=STSv1; id=abc; =value"],
        ["v=STSv1; id=abc; noequals"],
        ["v=STSv1; id=ab\u00e9"],
    ],
)
def test_invalid_sts_records(records: list[str]) -> None:
    record, findings = parse_sts(STS, txt(*records))
    assert codes(findings) == {"sts.record.invalid"}
    assert record is not None and not record.valid
    assert findings[0].severity == "error"
    assert findings[0].message.startswith(f"The record at {STS} is not valid: ")


@pytest.mark.parametrize(
    ("record", "quoted"),
    [
        ("v=STSv1; id=2024-01-01", "'2024-01-01'"),
        ("v=STSv1 id=20240101", "'v=STSv1 id=20240101'"),
        ("v=STSv1; ID=abc", "ID"),
        ("v=STSv1; id=abc; ext=has space", "'has space'"),
    ],
)
def test_invalid_record_messages_quote_the_value_seen(record: str, quoted: str) -> None:
    _, findings = parse_sts(STS, txt(record))
    assert quoted in findings[0].message


@pytest.mark.parametrize(
    "records",
    [[], ["v=spf1 -all"], ["v=stsv1; id=abc"], ["V=STSv1; id=abc"], [" v=STSv1; id=abc"]],
)
def test_no_sts_record_is_left_to_the_caller(records: list[str]) -> None:
    record, findings = parse_sts(STS, txt(*records))
    assert record is None and findings == []


def test_missing_reason_quotes_what_was_there() -> None:
    assert missing_reason([], "v=STSv1") == "no TXT records"
    reason = missing_reason(txt("v=stsv1; id=abc"), "v=STSv1")
    assert "v=stsv1; id=abc" in reason and "v=STSv1" in reason


def test_two_sts_records_are_multiple() -> None:
    record, findings = parse_sts(STS, txt("v=STSv1; id=one", "v=STSv1; id=two"))
    assert codes(findings) == {"sts.record.multiple"}
    assert record is not None and not record.valid
    assert "id=one" in findings[0].message and "id=two" in findings[0].message


@pytest.mark.parametrize(
    ("records", "rua"),
    [
        (["v=TLSRPTv1; rua=mailto:tls@example.com"], ["mailto:tls@example.com"]),
        (["v=TLSRPTv1;rua=https://r.example.com/tlsrpt"], ["https://r.example.com/tlsrpt"]),
        (
            ["v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x"],
            ["mailto:a@example.com", "https://r.example.com/x"],
        ),
        (
            ["v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.com"],
            ["mailto:a@example.com", "mailto:b@example.com"],
        ),
        ([["v=TLSRPTv1; ", "rua=mailto:tls@example.com"]], ["mailto:tls@example.com"]),
        (["v=TLSRPTv1; rua=MAILTO:tls@example.com;"], ["MAILTO:tls@example.com"]),
        (["something-else", "v=TLSRPTv1; rua=mailto:t@example.com"], ["mailto:t@example.com"]),
        (["v=TLSRPTv1; ext=1; rua=mailto:t@example.com; rua=x"], ["mailto:t@example.com"]),
    ],
)
def test_valid_tlsrpt_records(records: list, rua: list[str]) -> None:
    record, findings = parse_tlsrpt(TLS, txt(*records))
    assert findings == []
    assert record is not None and record.valid
    assert record.rua == rua


@pytest.mark.parametrize(
    "records",
    [
        ["v=TLSRPTv1;"],
        ["v=TLSRPTv1; ext=1"],
        ["v=TLSRPTv1; rua=http://r.example.com/tlsrpt"],
        ["v=TLSRPTv1; rua=ftp://r.example.com/"],
        ["v=TLSRPTv1; rua=tls@example.com"],
        ["v=TLSRPTv1; rua=mailto:"],
        ["v=TLSRPTv1; rua=mailto:nobody"],
        ["v=TLSRPTv1; rua=https://"],
        ["v=TLSRPTv1; rua=mailto:a@example.com,"],
        ["v=TLSRPTv1 rua=mailto:tls@example.com"],
        ["v=TLSRPTv1; RUA=mailto:tls@example.com"],
        ["v=TLSRPTv1; rua=mailto:a@example.com; ext=bad value"],
    ],
)
def test_invalid_tlsrpt_records(records: list[str]) -> None:
    record, findings = parse_tlsrpt(TLS, txt(*records))
    assert codes(findings) == {"tlsrpt.record.invalid"}
    assert record is not None and not record.valid


def test_two_tlsrpt_records_are_multiple() -> None:
    records = txt("v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com")
    record, findings = parse_tlsrpt(TLS, records)
    assert codes(findings) == {"tlsrpt.record.multiple"}
    assert record is not None and record.raw == [
        "v=TLSRPTv1; rua=mailto:a@example.com",
        "v=TLSRPTv1; rua=mailto:b@example.com",
    ]


@pytest.mark.parametrize("records", [[], ["v=tlsrptv1; rua=mailto:a@example.com"]])
def test_no_tlsrpt_record_is_left_to_the_caller(records: list[str]) -> None:
    assert parse_tlsrpt(TLS, txt(*records)) == (None, [])


def test_record_dict_is_json_ready() -> None:
    record, _ = parse_sts(STS, txt("v=STSv1; id=abc; ext=1"))
    assert record is not None
    assert record.to_dict() == {
        "name": STS,
        "raw": ["v=STSv1; id=abc; ext=1"],
        "fields": {"v": "STSv1", "id": "abc", "ext": "1"},
        "valid": True,
        "id": "abc",
    }
