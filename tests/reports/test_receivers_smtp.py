"""The SMTP receiver over a real socket: aiosmtpd on loopback, smtplib as the sender."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from reports import ingest
from reports.models import RawReport, RawStatus, Report
from reports.receivers.smtp import build_controller
from tests.reports.ingest_support import (  # noqa: F401 - fixtures
    eager_tasks,
    no_dkim_dns,
    report_message,
)
from tests.reports.support import report_dict, sample, to_json

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_dkim_dns", "eager_tasks"),
]
MAIL_DOMAIN = "reports.stsguard.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtpd(settings) -> Iterator[Controller]:
    settings.REPORT_MAIL_DOMAIN = MAIL_DOMAIN
    settings.TLSRPT_MAX_MESSAGE = 256 * 1024
    controller = build_controller("127.0.0.1", free_port(), MAIL_DOMAIN)
    controller.start()
    yield controller
    controller.stop()


def send(controller: Controller, recipients: list[str], message: bytes) -> dict:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.ehlo("sender.example")
        return client.sendmail("tlsrpt@sender.example", recipients, message)


def address(organization) -> str:
    return ingest.endpoint_for(organization).mail_address


def test_a_report_mail_is_stored_and_parsed(smtpd, team):
    to = address(team.org)
    assert to.endswith("@" + MAIL_DOMAIN)
    message = report_message(to_json(report_dict()), to=to)
    assert send(smtpd, [to], message) == {}
    raw = RawReport.objects.get()
    assert (raw.organization, raw.source, raw.kind) == (team.org, "smtp", "message")
    assert bytes(raw.data).replace(b"\r\n", b"\n") == message.replace(b"\r\n", b"\n")
    assert raw.headers["Envelope-From"] == "tlsrpt@sender.example"
    assert raw.headers["TLS-Report-Domain"] == "example.com"
    assert raw.headers["TLS-Report-Submitter"] == "sender.example"
    assert raw.status == RawStatus.PARSED
    assert Report.objects.get().report_id == "2024-05-01_example.com"


def test_a_real_sample_message_over_smtp(smtpd, team):
    to = address(team.org)
    assert send(smtpd, [to], sample("mjl-__mox__microsoft.eml")) == {}
    report = Report.objects.get()
    assert report.organization_name == "Microsoft Corporation"
    assert report.raw.headers["TLS-Report-Submitter"] == "microsoft.com"


def test_the_token_is_case_insensitive(smtpd, team):
    to = address(team.org).upper().replace(MAIL_DOMAIN.upper(), MAIL_DOMAIN)
    assert send(smtpd, [to], report_message(to_json(report_dict()), to=to)) == {}
    assert RawReport.objects.get().organization == team.org


@pytest.mark.parametrize(
    "recipient",
    ["0123456789abcdef0123456789abcdef@" + MAIL_DOMAIN, "TOKEN@elsewhere.example", "postmaster"],
)
def test_unknown_addresses_are_refused_at_rcpt(smtpd, team, recipient):
    address(team.org)  # the organization has a token, just not this one
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtpd, [recipient], report_message(to_json(report_dict()), to=recipient))
    code, text = refused.value.recipients[recipient]
    assert code == 550
    assert b"No such report address" in text
    assert not RawReport.objects.exists()


def test_a_known_and_an_unknown_recipient(smtpd, team):
    good = address(team.org)
    bad = "ffffffffffffffffffffffffffffffff@" + MAIL_DOMAIN
    refused = send(smtpd, [good, bad], report_message(to_json(report_dict()), to=good))
    assert list(refused) == [bad]
    assert RawReport.objects.count() == 1


def test_one_message_to_two_organizations_is_stored_for_each(smtpd, team):
    first, second = address(team.org), address(team.other_org)
    send(smtpd, [first, second], report_message(to_json(report_dict()), to=first))
    assert sorted(RawReport.objects.values_list("organization__slug", flat=True)) == [
        "acme",
        "other",
    ]
    assert Report.objects.count() == 2


def test_over_the_size_limit_is_refused(smtpd, team):
    to = address(team.org)
    big = report_message(to_json(report_dict()), to=to) + b"x" * (300 * 1024)
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        send(smtpd, [to], big)
    assert refused.value.smtp_code == 552
    assert not RawReport.objects.exists()


def test_a_message_without_a_report_is_kept_and_refused(smtpd, team):
    to = address(team.org)
    message = (
        f"From: someone@sender.example\r\nTo: {to}\r\nSubject: hello\r\n\r\nJust text.\r\n"
    ).encode()
    assert send(smtpd, [to], message) == {}
    raw = RawReport.objects.get()
    assert (raw.status, raw.reason_code) == (RawStatus.REJECTED, "no_report_in_message")


def test_run_report_smtpd_command_serves_until_stopped(team, settings):
    """The management command binds, receives one message, and stops on SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    settings.REPORT_MAIL_DOMAIN = MAIL_DOMAIN
    port = free_port()
    env = {
        **os.environ,
        "REPORT_MAIL_DOMAIN": MAIL_DOMAIN,
        "TLSRPT_DKIM_VERIFY": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{settings.DATABASES['default']['NAME']}"
    else:
        db = settings.DATABASES["default"]
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_report_smtpd", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        to = address(team.org)
        for _ in range(100):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    client.sendmail("a@sender.example", [to], report_message(b"{}", to=to))
                break
            except (ConnectionRefusedError, smtplib.SMTPServerDisconnected):
                time.sleep(0.1)
        raw = RawReport.objects.get()
        assert raw.source == "smtp"
        assert raw.status == RawStatus.REJECTED  # "{}" is no report; parsed eagerly
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert f"for <token>@{MAIL_DOMAIN}" in output
