"""Report pages: who may see and change what, and what the pages show."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from monitoring.models import CheckRun
from reports import ingest
from reports.models import ImapMailbox, RawReport, RawStatus, Report, ReportEndpoint
from tests.reports.ingest_support import (  # noqa: F401 - fixtures
    eager_tasks,
    ingest_bytes,
    make_report,
    no_dkim_dns,
)
from tests.reports.support import gzip_bytes, sample

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dkim_dns")]


@pytest.fixture
def stored(team):
    """One matched report with failures, one refused input, and one of the other org."""
    today = timezone.now().date()
    good = ingest_bytes(
        team.org,
        make_report(
            "acme.test",
            today,
            ok=95,
            failed=5,
            failures=[("certificate-expired", "192.0.2.1", "mx.acme.test", 5)],
        ),
    )
    bad = ingest_bytes(team.org, b"garbage", filename="bad.json")
    other = ingest_bytes(team.other_org, make_report("other.test", today, ok=1, report_id="o"))
    return {
        "report": good.reports.get(),
        "raw": good,
        "bad": bad,
        "other_report": other.reports.get(),
        "other_raw": other,
    }


def _read_urls(team, stored):
    org, dom = team.org.uuid, team.domain.uuid
    report, raw = stored["report"].uuid, stored["raw"].uuid
    return [
        reverse("org_reports", args=[org]),
        reverse("org_reports", args=[org]) + "?days=90",
        reverse("report_list", args=[org]),
        reverse("report_list", args=[org]) + "?unmatched=1",
        reverse("report_raw_list", args=[org]),
        reverse("report_raw_list", args=[org]) + "?status=all",
        reverse("report_setup", args=[org]),
        reverse("report_detail", args=[report]),
        reverse("report_json", args=[report]),
        reverse("report_raw_detail", args=[raw]),
        reverse("report_raw_download", args=[raw]),
        reverse("domain_reports", args=[dom]),
        reverse("domain_report_charts", args=[dom]) + "?days=7",
    ]


def _write_requests(team, stored):
    org, dom = team.org.uuid, team.domain.uuid
    return [
        ("get", reverse("report_upload", args=[org]), None),
        ("post", reverse("report_upload", args=[org]), {}),
        ("post", reverse("report_reparse", args=[stored["bad"].uuid]), {}),
        ("post", reverse("domain_report_endpoint", args=[dom]), {}),
        ("post", reverse("report_rotate_token", args=[org]), {}),
        ("post", reverse("report_imap", args=[org]), {"host": "imap.example"}),
    ]


def test_owner_and_viewer_can_read_everything(team, stored):
    for who in ("owner", "viewer"):
        client = team.client(who)
        for url in _read_urls(team, stored):
            assert client.get(url).status_code == 200, (who, url)


def test_stranger_gets_404_everywhere(team, stored):
    client = team.client("stranger")
    for url in _read_urls(team, stored):
        assert client.get(url).status_code == 404, url
    for method, url, data in _write_requests(team, stored):
        assert getattr(client, method)(url, data or {}).status_code == 404, url
    token = ingest.endpoint_for(team.org).token
    assert ReportEndpoint.objects.get(organization=team.org, domain=None).token == token


def test_viewer_gets_403_on_every_write(team, stored):
    client = team.client("viewer")
    before = stored["bad"].attempts
    for method, url, data in _write_requests(team, stored):
        assert getattr(client, method)(url, data or {}).status_code == 403, url
    assert RawReport.objects.get(id=stored["bad"].id).attempts == before
    assert not ReportEndpoint.objects.filter(domain=team.domain).exists()


def test_member_may_upload_but_not_change_addresses_or_mailbox(team, stored):
    client = team.client("member")
    assert client.get(reverse("report_upload", args=[team.org.uuid])).status_code == 200
    assert client.post(reverse("report_rotate_token", args=[team.org.uuid])).status_code == 403
    assert client.post(reverse("report_imap", args=[team.org.uuid]), {}).status_code == 403


def test_anonymous_is_sent_to_login(team, stored):
    from django.test import Client

    response = Client().get(reverse("org_reports", args=[team.org.uuid]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_pages_never_show_another_organizations_reports(team, stored):
    owner = team.client("owner")
    for url in (
        reverse("org_reports", args=[team.org.uuid]),
        reverse("report_list", args=[team.org.uuid]) + "?unmatched=1",
        reverse("report_list", args=[team.org.uuid]),
    ):
        body = owner.get(url).content.decode()
        assert "other.test" not in body
    stranger = team.client("stranger")
    body = stranger.get(reverse("report_list", args=[team.other_org.uuid])).content.decode()
    assert "other.test" in body
    assert "acme.test" not in body
    assert stranger.get(reverse("report_json", args=[stored["report"].uuid])).status_code == 404


def test_org_page_shows_charts_counts_and_links(team, stored):
    body = team.client("owner").get(reverse("org_reports", args=[team.org.uuid])).content.decode()
    assert body.count("<svg") >= 4  # sessions, rate, result types, submitters, MX hosts
    assert "1 refused" in body
    assert "certificate-expired" in body
    assert "192.0.2.1" in body
    assert 'aria-current="page"' in body  # the Reports nav link


def test_unmatched_reports_are_listed(team):
    ingest_bytes(team.org, sample("phi-ag__mta-sts-exporter__google.json"))
    owner = team.client("owner")
    body = owner.get(reverse("org_reports", args=[team.org.uuid])).content.decode()
    assert "1 unmatched" in body
    listing = owner.get(reverse("report_list", args=[team.org.uuid]) + "?unmatched=1")
    assert "example.com" in listing.content.decode()
    assert "unmatched" in listing.content.decode()


def test_report_detail_and_raw_json(team, stored):
    owner = team.client("owner")
    report = stored["report"]
    body = owner.get(reverse("report_detail", args=[report.uuid])).content.decode()
    assert "certificate-expired" in body
    assert "&quot;report-id&quot;" in body  # the pretty JSON, escaped
    response = owner.get(reverse("report_json", args=[report.uuid]))
    assert response["Content-Type"] == "application/json"
    assert response.content == bytes(stored["raw"].data)


def test_raw_json_of_a_report_inside_a_mail_message(team):
    raw = ingest_bytes(team.org, sample("mjl-__mox__example.eml"))
    response = team.client("owner").get(reverse("report_json", args=[raw.reports.get().uuid]))
    assert json.loads(response.content)["organization-name"] == "Google Inc."


def test_raw_download_is_an_attachment_of_the_exact_bytes(team, stored):
    response = team.client("viewer").get(reverse("report_raw_download", args=[stored["bad"].uuid]))
    assert response.content == b"garbage"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_refused_input_shows_its_reason_and_can_be_reparsed(team, stored):
    owner = team.client("owner")
    body = owner.get(reverse("report_raw_list", args=[team.org.uuid])).content.decode()
    assert "not_json" in body
    detail = owner.get(reverse("report_raw_detail", args=[stored["bad"].uuid])).content.decode()
    assert "Parse again" in detail
    response = owner.post(reverse("report_reparse", args=[stored["bad"].uuid]))
    assert response.status_code == 302
    bad = RawReport.objects.get(id=stored["bad"].id)
    assert (bad.status, bad.attempts) == (RawStatus.REJECTED, 2)


@pytest.mark.usefixtures("eager_tasks")
def test_upload_of_several_files_at_once(team, django_capture_on_commit_callbacks):
    mbox = b"".join(
        b"From x@y Mon Jan  1 00:00:00 2024\n" + sample(n).replace(b"\r\n", b"\n") + b"\n"
        for n in ("mjl-__mox__example.eml", "mjl-__mox__microsoft.eml")
    )
    files = [
        SimpleUploadedFile("a.json", sample("stalwartlabs__mail-auth__rpt02.json")),
        SimpleUploadedFile(
            "b.json.gz", gzip_bytes(sample("phi-ag__mta-sts-exporter__google.json"))
        ),
        SimpleUploadedFile("c.mbox", mbox),
        SimpleUploadedFile("d.json", b"[]"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client("member").post(
            reverse("report_upload", args=[team.org.uuid]), {"files": files}
        )
    assert response.status_code == 302
    assert RawReport.objects.filter(source="upload").count() == 5
    assert Report.objects.count() == 4
    assert RawReport.objects.get(filename="d.json").reason_code == "not_object"


def test_upload_refuses_a_file_over_the_limit(team, settings):
    settings.TLSRPT_MAX_MESSAGE = 1024
    response = team.client("owner").post(
        reverse("report_upload", args=[team.org.uuid]),
        {"files": [SimpleUploadedFile("big.json", b"{" + b" " * 2048 + b"}")]},
    )
    assert response.status_code == 200
    assert "the limit is 1024" in response.content.decode()
    assert not RawReport.objects.exists()


def test_setup_shows_the_addresses_and_keeps_the_password_secret(team, settings):
    settings.REPORT_MAIL_DOMAIN = "reports.stsguard.test"
    owner = team.client("owner")
    url = reverse("report_setup", args=[team.org.uuid])
    endpoint = ingest.endpoint_for(team.org)
    body = owner.get(url).content.decode()
    assert f"{endpoint.token}@reports.stsguard.test" in body
    assert f"/tlsrpt/{endpoint.token}/" in body
    assert "v=TLSRPTv1; rua=mailto:" in body

    secret = "s3cret-imap-password"
    response = owner.post(
        reverse("report_imap", args=[team.org.uuid]),
        {
            "enabled": "on",
            "host": "imap.example.net",
            "port": "993",
            "security": "ssl",
            "username": "reports",
            "folder": "INBOX",
            "password": secret,
        },
    )
    assert response.status_code == 302
    mailbox = ImapMailbox.objects.get(organization=team.org)
    assert mailbox.get_password() == secret
    assert secret not in owner.get(url).content.decode()
    # Saving again without a password keeps the stored one.
    owner.post(
        reverse("report_imap", args=[team.org.uuid]),
        {
            "enabled": "on",
            "host": "imap2.example.net",
            "port": "993",
            "security": "ssl",
            "username": "reports",
            "folder": "INBOX",
            "password": "",
        },
    )
    mailbox.refresh_from_db()
    assert (mailbox.host, mailbox.get_password()) == ("imap2.example.net", secret)


def test_rotating_the_token_retires_the_old_one(team):
    old = ingest.endpoint_for(team.org).token
    team.client("owner").post(reverse("report_rotate_token", args=[team.org.uuid]))
    new = ingest.endpoint_for(team.org).token
    assert new != old
    assert not ReportEndpoint.objects.filter(token=old).exists()


def test_domain_charts_partial_for_htmx(team, stored):
    url = reverse("domain_report_charts", args=[team.domain.uuid]) + "?days=90"
    response = team.client("viewer").get(url, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert f'id="tlsrpt-{team.domain.uuid}"' in body
    assert body.count("<svg") >= 3
    assert 'aria-current="true">90 days' in body


def test_domain_charts_partial_included_without_data_loads_itself(team):
    from django.template.loader import render_to_string

    html = render_to_string(
        "reports/partials/domain_charts.html", {"domain": team.domain, "days": 7}
    )
    assert 'hx-trigger="load"' in html
    assert reverse("domain_report_charts", args=[team.domain.uuid]) + "?days=7" in html


def test_domain_page_marks_senders_on_an_older_policy(team):
    current = "version: STSv1\nmode: enforce\nmx: mx.acme.test\nmax_age: 86400\n"
    CheckRun.objects.create(domain=team.domain, status="ok", facts={"policy": {"text": current}})
    today = timezone.now().date()
    ingest_bytes(team.org, make_report("acme.test", today, ok=5))  # same lines, other order ok
    old = ["version: STSv1", "mode: testing", "mx: mx.acme.test", "max_age: 86400"]
    ingest_bytes(
        team.org,
        make_report(
            "acme.test",
            today - timedelta(days=1),
            ok=5,
            submitter="Slow Sender",
            policy_strings=old,
        ),
    )
    body = team.client("owner").get(reverse("domain_reports", args=[team.domain.uuid]))
    text = body.content.decode()
    assert "current policy" in text
    assert "older policy" in text
    assert "Slow Sender" in text


def test_domain_page_without_a_check_degrades(team, stored):
    text = team.client("owner").get(reverse("domain_reports", args=[team.domain.uuid]))
    assert "No checked policy to compare with yet" in text.content.decode()
