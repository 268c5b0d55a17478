"""Django-side helpers for the report tests: sample expectations, fixtures, builders.

Fixtures here are imported by the test modules that use them (``from ... import``).
"""

from __future__ import annotations

import email.message
import email.policy
import email.utils
from dataclasses import dataclass

import pytest
from celery import current_app

from reports import ingest
from reports.models import RawReport
from tests.reports.support import TLSRPT_SAMPLES, gzip_bytes, sample, to_json


@dataclass(frozen=True)
class Expected:
    """What one sample must become, counted from its JSON by hand (not by our parser)."""

    submitter: str
    report_id: str
    policy_domain: str
    policies: int
    successful: int
    failed: int
    details: int


RFC_EXAMPLE = Expected(
    "Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", "company-y.example", 1, 5326, 303, 3
)
GOOD_SAMPLES: dict[str, Expected] = {
    "cry-inc__dmarc-report-viewer__full-example.json": RFC_EXAMPLE,
    "cry-inc__dmarc-report-viewer__google.json": Expected(
        "Google Inc.", "2025-04-12T00:00:00Z_domain.de", "domain.de", 1, 2, 0, 0
    ),
    "cry-inc__dmarc-report-viewer__microsoft.json": Expected(
        "Microsoft Corporation", "133925885310113267+random.net", "random.net", 2, 4, 0, 0
    ),
    "cry-inc__dmarc-report-viewer__no-contact.json": Expected(
        "server.com", "123_456", "server.com", 1, 1, 0, 0
    ),
    "cry-inc__dmarc-report-viewer__no-policy.json": Expected(
        "Google Inc.", "2025-03-27T00:00:00Z_foo-bar.io", "foo-bar.io", 1, 1, 0, 0
    ),
    "cry-inc__dmarc-report-viewer__no_ip_and_mx.json": Expected(
        "Microsoft Corporation", "1234567890+", "xxxxxxxx.xx", 1, 0, 3, 1
    ),
    "domainaware__parsedmarc__google.com_smtp_tls_report.eml": Expected(
        "Google Inc.", "2024-09-03T00:00:00Z_cardinalhealth.ca", "cardinalhealth.ca", 1, 48, 0, 0
    ),
    "domainaware__parsedmarc__mail.ru.json": Expected(
        "Mail.ru", "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru", "example.com", 1, 0, 1, 2
    ),
    "domainaware__parsedmarc__rfc8460.json": RFC_EXAMPLE,
    "domainaware__parsedmarc__smtp_tls.json": Expected(
        "Example Inc.", "2024-01-09T00:00:00Z_example.com", "example.com", 1, 0, 3, 2
    ),
    "mjl-__mox__example.eml": Expected(
        "Google Inc.", "2022-09-15T00:00:00Z_test.xmox.nl", "test.xmox.nl", 1, 3, 0, 0
    ),
    "mjl-__mox__microsoft.eml": Expected(
        "Microsoft Corporation", "133198585438131172+test.xmox.nl", "test.xmox.nl", 1, 2, 0, 0
    ),
    "phi-ag__mta-sts-exporter__google.json": Expected(
        "Google Inc.", "2024-02-17T00:00:00Z_example.com", "example.com", 1, 53, 0, 0
    ),
    "phi-ag__mta-sts-exporter__microsoft-2.json": Expected(
        "Microsoft Corporation", "133561180919336230+example.com", "example.com", 1, 7, 0, 0
    ),
    "phi-ag__mta-sts-exporter__microsoft.json": Expected(
        "Microsoft Corporation", "133526718584528772+example.com", "example.com", 1, 18, 0, 0
    ),
    "phi-ag__mta-sts-exporter__rfc-errata-6241.json": RFC_EXAMPLE,
    "stalwartlabs__mail-auth__rpt01.json": RFC_EXAMPLE,
    "stalwartlabs__mail-auth__rpt02.json": Expected(
        "Google Inc.", "2020-01-01T00:00:00Z_example.com", "example.com", 1, 23, 1, 1
    ),
}
BROKEN_SAMPLE = "stalwartlabs__mail-auth__rpt03.json"


def all_sample_names() -> list[str]:
    return sorted(p.name for p in TLSRPT_SAMPLES.iterdir() if p.suffix in (".json", ".eml"))


@pytest.fixture
def no_dkim_dns(settings):
    """Never look DKIM keys up in public DNS from a test (the samples are real mail)."""
    settings.TLSRPT_DKIM_VERIFY = False


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process (after commit), as a worker would."""
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


def ingest_bytes(organization, data: bytes, *, filename: str = "", source: str = "cli"):
    """Store and parse in one go; returns the refreshed RawReport."""
    raw = ingest.store_raw(
        organization=organization, data=data, source=source, filename=filename, queue=False
    )
    ingest.parse_raw(raw.id)
    return RawReport.objects.get(id=raw.id)


def ingest_sample(organization, name: str):
    return ingest_bytes(organization, sample(name), filename=name)


def report_message(
    report: bytes,
    *,
    to: str = "reports@example.net",
    subject: str = "Report Domain: example.com Submitter: sender.example Report-ID: <1>",
    headers: dict[str, str] | None = None,
    gz: bool = True,
) -> bytes:
    """A multipart/report; report-type=tlsrpt message carrying ``report``."""
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = "tlsrpt@sender.example"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(email.utils.localtime())
    message["Message-ID"] = email.utils.make_msgid(domain="sender.example")
    message["TLS-Report-Domain"] = "example.com"
    message["TLS-Report-Submitter"] = "sender.example"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content("This is an aggregate TLS report.")
    if gz:
        message.add_attachment(
            gzip_bytes(report),
            maintype="application",
            subtype="tlsrpt+gzip",
            filename="sender.example!example.com!1!2!1.json.gz",
        )
    else:
        message.add_attachment(
            report, maintype="application", subtype="tlsrpt+json", filename="r.json"
        )
    message.set_type("multipart/report")
    message.set_param("report-type", "tlsrpt")
    return message.as_bytes()


def make_report(
    domain: str,
    day,
    *,
    ok: int,
    failed: int = 0,
    failures: list[tuple[str, str, str, int]] | None = None,
    submitter: str = "Google Inc.",
    report_id: str | None = None,
    policy_strings: list[str] | None = None,
) -> bytes:
    """A report's JSON for ``domain`` on ``day``; failures are (type, ip, mx, count)."""
    document = {
        "organization-name": submitter,
        "date-range": {
            "start-datetime": f"{day.isoformat()}T00:00:00Z",
            "end-datetime": f"{day.isoformat()}T23:59:59Z",
        },
        "contact-info": "smtp-tls-reporting@sender.example",
        "report-id": report_id or f"{day.isoformat()}_{domain}_{submitter}",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": policy_strings
                    or ["version: STSv1", "mode: enforce", f"mx: mx.{domain}", "max_age: 86400"],
                    "policy-domain": domain,
                    "mx-host": [f"mx.{domain}"],
                },
                "summary": {
                    "total-successful-session-count": ok,
                    "total-failure-session-count": failed,
                },
                "failure-details": [
                    {
                        "result-type": result_type,
                        "sending-mta-ip": ip,
                        "receiving-mx-hostname": mx,
                        "failed-session-count": count,
                    }
                    for result_type, ip, mx, count in (failures or [])
                ],
            }
        ],
    }
    return to_json(document)
