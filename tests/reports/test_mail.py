"""extract_reports_from_message: the mailed samples, built messages, limits and DKIM."""

from __future__ import annotations

import base64
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reports.errors import ReportRejected
from reports.limits import Limits
from reports.mail import extract_reports_from_message
from reports.parsing import parse_report
from tests.reports.support import MIB, gzip_bytes, gzip_of_zeros, sample, zip_bytes

LIMITS = Limits()
REPORT = sample("stalwartlabs__mail-auth__rpt02.json")  # report-id 2020-01-01T00:00:00Z_example.com
REPORT_ID = "2020-01-01T00:00:00Z_example.com"


def no_dns(name: bytes, timeout: float = 5) -> None:
    return None


def extract(raw: bytes, limits: Limits = LIMITS):
    return extract_reports_from_message(raw, limits, dnsfunc=no_dns)


def rejected(raw: bytes, limits: Limits = LIMITS) -> ReportRejected:
    with pytest.raises(ReportRejected) as caught:
        extract(raw, limits)
    return caught.value


def report_message(
    attachments: list[tuple[bytes, str, str, str | None]],
    *,
    report_type: str | None = "tlsrpt",
    subject: str = f"Report Domain: example.com Submitter: sender.example Report-ID: <{REPORT_ID}>",
) -> EmailMessage:
    """A message with a text part and ``(data, maintype, subtype, filename)`` attachments."""
    message = EmailMessage()
    message["From"] = "tlsrpt@sender.example"
    message["To"] = "reports@example.com"
    message["Subject"] = subject
    message["Date"] = "Thu, 02 Jan 2020 03:04:05 +0000"
    message["Message-ID"] = "<report-1@sender.example>"
    message["TLS-Report-Domain"] = "example.com"
    message["TLS-Report-Submitter"] = "sender.example"
    message.set_content("This is an aggregate TLS report from sender.example")
    for data, maintype, subtype, filename in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    if report_type is not None:
        message.replace_header("Content-Type", f'multipart/report; report-type="{report_type}"')
        message.set_boundary("report-boundary")
    return message


def as_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=email.policy.SMTP)


GZIP_PART = (gzip_bytes(REPORT), "application", "tlsrpt+gzip", "sender!example.com!1!2.json.gz")


# The samples that came by mail.

MAILED = {
    "domainaware__parsedmarc__google.com_smtp_tls_report.eml": {
        "TLS-Report-Domain": "cardinalhealth.ca",
        "TLS-Report-Submitter": "google.com",
        "From": "noreply-smtp-tls-reporting@google.com",
        "Message-ID": "<66d83c20.050a0220.a0566.1e8dtls@google.com>",
        "Date": "Wed, 04 Sep 2024 03:53:20 -0700",
    },
    "mjl-__mox__example.eml": {
        "TLS-Report-Domain": "test.xmox.nl",
        "TLS-Report-Submitter": "google.com",
        "From": "noreply-smtp-tls-reporting@google.com",
        "Message-ID": "<000000000000f47cc505e8c8905c@google.com>",
        "Date": "Fri, 16 Sep 2022 03:10:06 -0700",
    },
    "mjl-__mox__microsoft.eml": {
        "TLS-Report-Domain": "test.xmox.nl",
        "TLS-Report-Submitter": "microsoft.com",
        "From": "<tlsrpt-noreply@microsoft.com>",  # kept as sent
        "Message-ID": "<133198585438131172+test.xmox.nl@test.xmox.nl>",
        "Date": "Fri, 3 Feb 2023 05:09:22 +0000",
    },
}


@pytest.mark.parametrize("name", sorted(MAILED))
def test_mailed_sample_headers_and_one_report(name: str) -> None:
    extraction = extract(sample(name))
    assert len(extraction.reports) == 1
    for header, value in MAILED[name].items():
        assert extraction.headers[header] == value
    assert extraction.headers["Subject"].startswith("Report Domain: ")
    # Real signatures, but their keys are not served here (and Google's have expired).
    assert extraction.dkim.status == "fail"
    assert extraction.skipped == []


def test_encoded_words_and_8bit_headers_are_decoded() -> None:
    message = report_message([GZIP_PART], subject="=?utf-8?q?Rapport_TLS_=C3=A9t=C3=A9?=")
    raw = as_bytes(message).replace(b"From: tlsrpt@", "From: Zoë <tlsrpt@".encode())
    raw = raw.replace(b"sender.example\r\nTo:", b"sender.example>\r\nTo:", 1)
    headers = extract(raw).headers
    assert headers["Subject"] == "Rapport TLS été"
    assert headers["From"] == "Zoë <tlsrpt@sender.example>"


def test_microsoft_subject_is_unfolded_and_date_parsed() -> None:
    extraction = extract(sample("mjl-__mox__microsoft.eml"))
    assert extraction.headers["Subject"] == (
        "Report Domain: test.xmox.nl Submitter: microsoft.com Report-ID: "
        "133198585438131172+test.xmox.nl"
    )
    assert extraction.sent_at == datetime(2023, 2, 3, 5, 9, 22, tzinfo=UTC)


# Built messages: the forms a report arrives in.


def test_multipart_report_with_gzip_part() -> None:
    extraction = extract(as_bytes(report_message([GZIP_PART])))
    assert extraction.reports == [REPORT]
    assert extraction.headers["TLS-Report-Domain"] == "example.com"
    assert extraction.dkim.status == "none"


def test_multipart_report_with_json_part() -> None:
    part = (REPORT, "application", "tlsrpt+json", None)
    assert extract(as_bytes(report_message([part]))).reports == [REPORT]


@pytest.mark.parametrize(
    ("data", "maintype", "subtype", "filename"),
    [
        (gzip_bytes(REPORT), "application", "octet-stream", "report.json.gz"),
        (gzip_bytes(REPORT), "application", "gzip", "report.gz"),
        (REPORT, "application", "octet-stream", "report.json"),
        (REPORT, "application", "json", None),
        (zip_bytes({"report.json": REPORT}), "application", "zip", "report.zip"),
        (gzip_bytes(REPORT), "application", "x-unknown", "report.json.gz"),
    ],
)
def test_loosely_labelled_attachment_in_plain_mixed_mail(
    data: bytes, maintype: str, subtype: str, filename: str | None
) -> None:
    message = report_message([(data, maintype, subtype, filename)], report_type=None)
    assert extract(as_bytes(message)).reports == [REPORT]


def test_report_inside_a_forwarded_message() -> None:
    inner = report_message([GZIP_PART])
    outer = EmailMessage()
    outer["From"] = "admin@example.com"
    outer["Subject"] = "Fwd: TLS report"
    outer.set_content("see attached")
    outer.add_attachment(inner)
    assert extract(as_bytes(outer)).reports == [REPORT]


def test_body_wins_over_a_misleading_subject() -> None:
    message = report_message([GZIP_PART], subject="Report-ID: <something-else@evil.example>")
    extraction = extract(as_bytes(message))
    assert parse_report(extraction.reports[0], LIMITS).report_id == REPORT_ID
    assert extraction.headers["Subject"] == "Report-ID: <something-else@evil.example>"


def test_two_report_attachments_give_two_reports() -> None:
    other = sample("phi-ag__mta-sts-exporter__google.json")
    second = (other, "application", "tlsrpt+json", "b.json")
    assert extract(as_bytes(report_message([GZIP_PART, second]))).reports == [REPORT, other]


def test_unrelated_attachment_beside_a_report_is_skipped_with_a_note() -> None:
    pdf = (b"%PDF-1.7 not a report", "application", "octet-stream", "invoice.pdf")
    loose = (b"just text", "application", "octet-stream", "notes.json")
    extraction = extract(as_bytes(report_message([pdf, loose, GZIP_PART], report_type=None)))
    assert extraction.reports == [REPORT]
    assert extraction.skipped == [
        "application/octet-stream 'invoice.pdf': not a JSON object",
        "application/octet-stream 'notes.json': not a JSON object",
    ]


# Refusals.


def test_message_without_attachment() -> None:
    error = rejected(as_bytes(report_message([])))
    assert error.code == "no_report_in_message"


def test_message_with_only_unrelated_attachments() -> None:
    pdf = (b"%PDF-1.7", "application", "pdf", "invoice.pdf")
    error = rejected(as_bytes(report_message([pdf], report_type=None)))
    assert error.code == "no_report_in_message"


def test_declared_report_part_that_is_a_gzip_bomb_gives_the_real_reason() -> None:
    bomb = (gzip_of_zeros(64 * MIB, block=MIB), "application", "tlsrpt+gzip", "r.json.gz")
    error = rejected(as_bytes(report_message([bomb])), Limits(max_decompressed=MIB))
    assert error.code == "decompressed_too_large"


def test_declared_report_part_that_is_truncated() -> None:
    broken = (gzip_bytes(REPORT)[:-12], "application", "tlsrpt+gzip", "r.json.gz")
    assert rejected(as_bytes(report_message([broken]))).code == "bad_gzip"


def test_broken_report_part_beside_a_good_one_is_noted_and_the_good_one_kept() -> None:
    broken = (gzip_bytes(REPORT)[:-12], "application", "tlsrpt+gzip", "bad.json.gz")
    extraction = extract(as_bytes(report_message([broken, GZIP_PART])))
    assert extraction.reports == [REPORT]
    assert len(extraction.skipped) == 1
    assert extraction.skipped[0].startswith("application/tlsrpt+gzip 'bad.json.gz': gzip stream")


def test_reports_share_one_decompression_budget() -> None:
    parts = [GZIP_PART, GZIP_PART, GZIP_PART]
    limits = Limits(max_decompressed=2 * len(REPORT) + 10)
    assert rejected(as_bytes(report_message(parts)), limits).code == "decompressed_too_large"


def test_message_over_the_size_limit() -> None:
    raw = as_bytes(report_message([GZIP_PART]))
    assert rejected(raw, Limits(max_message=len(raw) - 1)).code == "too_large"


def test_message_with_too_many_parts() -> None:
    notes = [(b"x", "application", "pdf", f"n{i}.pdf") for i in range(10)]
    limits = Limits(max_mime_parts=8)
    assert rejected(as_bytes(report_message([*notes, GZIP_PART])), limits).code == (
        "too_many_parts"
    )


# DKIM, against a key served by an injected dnsfunc.

SELECTOR, DOMAIN = b"tlsrpt2024", b"sender.example"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]
SIGNED_HEADERS += [b"tls-report-domain", b"tls-report-submitter"]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def dns_record(key: rsa.RSAPrivateKey, extra: bytes = b"") -> bytes:
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; " + extra + b"p=" + base64.b64encode(public)


def serving(record: bytes, asked: list[bytes]):
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        asked.append(name)
        return record if name == SELECTOR + b"._domainkey." + DOMAIN + b"." else None

    return dnsfunc


def signed(key: rsa.RSAPrivateKey) -> bytes:
    raw = as_bytes(report_message([GZIP_PART]))
    signature = dkim.sign(
        raw, SELECTOR, DOMAIN, private_pem(key), include_headers=SIGNED_HEADERS, tlsrpt=True
    )
    return signature + raw


def test_dkim_pass(key: rsa.RSAPrivateKey) -> None:
    asked: list[bytes] = []
    extraction = extract_reports_from_message(
        signed(key), LIMITS, dnsfunc=serving(dns_record(key), asked)
    )
    assert extraction.dkim.status == "pass"
    assert extraction.dkim.domains == ["sender.example"]
    assert asked == [b"tlsrpt2024._domainkey.sender.example."]
    assert extraction.reports == [REPORT]


def test_dkim_pass_with_a_tlsrpt_service_type_key(key: rsa.RSAPrivateKey) -> None:
    dnsfunc = serving(dns_record(key, extra=b"s=tlsrpt; "), [])
    extraction = extract_reports_from_message(signed(key), LIMITS, dnsfunc=dnsfunc)
    assert extraction.dkim.status == "pass"


def test_dkim_fail_when_the_body_was_changed(key: rsa.RSAPrivateKey) -> None:
    tampered = signed(key).replace(b"aggregate TLS report", b"aggregate TLS rep0rt")
    extraction = extract_reports_from_message(
        tampered, LIMITS, dnsfunc=serving(dns_record(key), [])
    )
    assert extraction.dkim.status == "fail"
    assert extraction.dkim.domains == []


def test_dkim_fail_with_another_key(key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    extraction = extract_reports_from_message(
        signed(key), LIMITS, dnsfunc=serving(dns_record(other), [])
    )
    assert extraction.dkim.status == "fail"


def test_dkim_fail_when_the_key_is_not_published(key: rsa.RSAPrivateKey) -> None:
    extraction = extract_reports_from_message(signed(key), LIMITS, dnsfunc=no_dns)
    assert extraction.dkim.status == "fail"


def test_dkim_none_for_an_unsigned_message() -> None:
    asked: list[bytes] = []
    raw = as_bytes(report_message([GZIP_PART]))
    extraction = extract_reports_from_message(raw, LIMITS, dnsfunc=serving(b"", asked))
    assert extraction.dkim.status == "none"
    assert asked == []


def test_dkim_can_be_skipped(key: rsa.RSAPrivateKey) -> None:
    asked: list[bytes] = []
    extraction = extract_reports_from_message(
        signed(key), LIMITS, dnsfunc=serving(dns_record(key), asked), check_dkim=False
    )
    assert extraction.dkim.status == "none"
    assert asked == []


def test_oversized_unrelated_attachment_does_not_hide_the_report() -> None:
    video = (bytes(2 * MIB), "application", "octet-stream", "holiday.bin")
    extraction = extract(as_bytes(report_message([video, GZIP_PART])), Limits(max_compressed=MIB))
    assert extraction.reports == [REPORT]
    assert "holiday.bin" in extraction.skipped[0]


def test_deeply_nested_mime_is_refused() -> None:
    levels = 5000
    raw = b"From: a@sender.example\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for level in range(1, levels):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level - 1, level)
    raw += b"--b%d\r\nContent-Type: text/plain\r\n\r\nhi\r\n" % (levels - 1)
    # Each level needs a boundary line, so the default part limit refuses it first...
    assert rejected(raw).code == "too_many_parts"
    # ...and with that limit raised, the parser's recursion is caught, not let through.
    assert rejected(raw, Limits(max_mime_parts=levels)).code == "too_deep"


def test_message_of_many_tiny_parts_is_refused_before_parsing() -> None:
    raw = b"From: a@sender.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    raw += b"--b\r\n\r\nx\r\n" * 200_000 + b"--b--\r\n"  # 2 MB, 200,000 parts
    error = rejected(raw)
    assert error.code == "too_many_parts"
    assert "200001 lines" in error.reason
