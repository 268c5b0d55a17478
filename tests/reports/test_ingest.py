"""Ingestion end to end: raw stored first, parsed into rows, refusals kept with a reason."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from monitoring.models import Domain
from reports import batch_ingest, ingest
from reports.models import FailureDetail, PolicyResult, RawReport, RawStatus, Report
from tests.reports.ingest_support import (
    BROKEN_SAMPLE,
    GOOD_SAMPLES,
    RFC_EXAMPLE,
    all_sample_names,
    eager_tasks,  # noqa: F401 - fixture
    ingest_bytes,
    ingest_sample,
    no_dkim_dns,  # noqa: F401 - fixture
    report_message,
)
from tests.reports.support import (
    MIB,
    TLSRPT_SAMPLES,
    gzip_bytes,
    gzip_of_zeros,
    report_dict,
    sample,
    to_json,
    zip_bytes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dkim_dns")]


def test_every_sample_is_listed():
    assert set(all_sample_names()) == {*GOOD_SAMPLES, BROKEN_SAMPLE}


@pytest.mark.parametrize("name", sorted(GOOD_SAMPLES))
def test_each_sample_ingests_end_to_end(team, name):
    expected = GOOD_SAMPLES[name]
    data = sample(name)
    raw = ingest_sample(team.org, name)

    assert bytes(raw.data) == data
    assert raw.size == len(data)
    assert raw.sha256 == hashlib.sha256(data).hexdigest()
    assert raw.status == RawStatus.PARSED, raw.reason
    assert raw.kind == ("message" if name.endswith(".eml") else "body")
    report = Report.objects.get(raw=raw)
    assert report.organization_name == expected.submitter
    assert report.report_id == expected.report_id
    assert report.policy_domain == expected.policy_domain
    assert (report.total_successful, report.total_failure) == (
        expected.successful,
        expected.failed,
    )
    policies = PolicyResult.objects.filter(report=report)
    assert policies.count() == expected.policies
    assert sum(p.successful_sessions for p in policies) == expected.successful
    assert sum(p.failed_sessions for p in policies) == expected.failed
    assert FailureDetail.objects.filter(report=report).count() == expected.details
    assert report.domain is None  # no sample is for acme.test: kept as unmatched


def test_mail_samples_keep_the_tlsrpt_headers(team):
    raw = ingest_sample(team.org, "mjl-__mox__example.eml")
    assert raw.headers["TLS-Report-Domain"] == "test.xmox.nl"
    assert raw.headers["TLS-Report-Submitter"] == "google.com"
    assert raw.dkim_status == ""  # verification switched off in tests: no public DNS


def test_rfc_example_details_are_stored_field_by_field(team):
    raw = ingest_sample(team.org, "domainaware__parsedmarc__rfc8460.json")
    report = raw.reports.get()
    policy = report.policies.get()
    assert policy.policy_type == "sts"
    assert policy.mx_hosts == ["*.mail.company-y.example"]
    assert "mode: testing" in policy.policy_strings
    assert len(policy.policy_fingerprint) == 64
    details = {d.result_type: d for d in report.failures.all()}
    assert set(details) == {
        "certificate-expired",
        "starttls-not-supported",
        "validation-failure",
    }
    starttls = details["starttls-not-supported"]
    assert starttls.sending_mta_ip == "2001:db8:abcd:0013::1"
    assert starttls.receiving_mx_hostname == "mx2.mail.company-y.example"
    assert starttls.receiving_ip == "203.0.113.56"
    assert starttls.failed_session_count == 200
    assert "StarttlsNotSupported" in starttls.additional_information
    assert (
        details["validation-failure"].failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    )


def test_inconsistent_counts_are_kept_as_reported(team):
    report = ingest_sample(team.org, "domainaware__parsedmarc__mail.ru.json").reports.get()
    assert report.total_failure == 1
    assert sum(f.failed_session_count for f in report.failures.all()) == 2
    assert any("add up to 2" in warning for warning in report.warnings)


def test_the_broken_sample_is_refused_and_kept(team):
    raw = ingest_sample(team.org, BROKEN_SAMPLE)
    assert raw.status == RawStatus.REJECTED
    assert raw.reason_code == "missing_field"
    assert "policy-domain" in raw.reason
    assert bytes(raw.data) == sample(BROKEN_SAMPLE)
    assert not Report.objects.exists()


def test_all_samples_into_one_organization(team):
    for name in all_sample_names():
        ingest_sample(team.org, name)
    statuses = dict(
        (status, RawReport.objects.filter(status=status).count()) for status in RawStatus.values
    )
    # The RFC example comes in four copies with one report-id: stored once.
    assert statuses == {"parsed": 15, "duplicate": 3, "rejected": 1, "pending": 0, "error": 0}
    assert Report.objects.count() == 15
    assert Report.objects.filter(report_id=RFC_EXAMPLE.report_id).count() == 1
    duplicate = RawReport.objects.filter(status=RawStatus.DUPLICATE).first()
    assert duplicate.reason_code == "duplicate"
    assert "already stored" in duplicate.reason


def test_a_report_for_a_monitored_domain_is_matched(team):
    document = report_dict()
    document["policies"][0]["policy"]["policy-domain"] = "ACME.test."
    raw = ingest_bytes(team.org, to_json(document))
    report = raw.reports.get()
    assert report.domain == team.domain
    assert report.policy_domain == "acme.test"
    assert set(report.policies.values_list("domain_id", flat=True)) == {team.domain.id}
    assert set(report.failures.values_list("domain_id", flat=True)) == {team.domain.id}


def test_another_organizations_domain_is_not_matched(team):
    document = report_dict()
    document["policies"][0]["policy"]["policy-domain"] = "other.test"
    report = ingest_bytes(team.org, to_json(document)).reports.get()
    assert report.domain is None  # other.test belongs to the other organization


def test_the_same_report_twice_is_stored_once(team):
    data = to_json(report_dict())
    first = ingest_bytes(team.org, data)
    second = ingest_bytes(team.org, gzip_bytes(data))
    assert first.status == RawStatus.PARSED
    assert second.status == RawStatus.DUPLICATE
    assert second.reason_code == "duplicate"
    assert Report.objects.count() == 1
    assert bytes(second.data) == gzip_bytes(data)  # the copy is kept as received


def test_the_same_report_id_in_two_organizations_is_stored_twice(team):
    data = to_json(report_dict())
    ingest_bytes(team.org, data)
    ingest_bytes(team.other_org, data)
    assert Report.objects.count() == 2


def test_submitter_names_differing_in_case_and_spacing_are_one_submitter(team):
    document = report_dict()
    ingest_bytes(team.org, to_json(document))
    document["organization-name"] = "  sender   ORG "
    assert ingest_bytes(team.org, to_json(document)).status == RawStatus.DUPLICATE


def _truncated_gzip() -> bytes:
    data = gzip_bytes(to_json(report_dict()))
    return data[: len(data) // 2]


def _wrong_types() -> bytes:
    document = report_dict()
    document["policies"][0]["summary"]["total-successful-session-count"] = "many"
    return to_json(document)


def _missing_fields() -> bytes:
    document = report_dict()
    del document["date-range"]
    return to_json(document)


def _many_failures() -> bytes:
    document = report_dict()
    entry = document["policies"][0]["failure-details"][0]
    document["policies"][0]["failure-details"] = [entry] * 100_000
    return gzip_bytes(to_json(document))


BAD_INPUTS = {
    "truncated gzip": (_truncated_gzip, "bad_gzip", "truncated"),
    "gzip bomb of 1 GiB of zeros": (
        lambda: gzip_of_zeros(1024 * MIB),
        "decompressed_too_large",
        "limit",
    ),
    "not JSON": (lambda: b"this is not json at all", "not_json", "not JSON"),
    "a JSON array": (lambda: b'[{"organization-name": "x"}]', "not_object", "array"),
    "wrong types": (_wrong_types, "wrong_type", "total-successful-session-count"),
    "missing required fields": (_missing_fields, "missing_field", "date-range"),
    "100,000 failure entries": (_many_failures, "too_many_failures", "10000"),
    "invalid UTF-8": (lambda: b'{"organization-name": "\xff\xfe"}', "invalid_utf8", "UTF-8"),
}


@pytest.mark.parametrize("label", list(BAD_INPUTS))
def test_bad_input_is_refused_with_a_reason_and_kept(team, label):
    build, code, words = BAD_INPUTS[label]
    data = build()
    raw = ingest_bytes(team.org, data, filename="upload.bin")
    assert raw.status == RawStatus.REJECTED
    assert raw.reason_code == code
    assert words in raw.reason
    assert bytes(raw.data) == data
    assert raw.sha256 == hashlib.sha256(data).hexdigest()
    assert not Report.objects.exists()


def test_an_email_with_no_attachment_is_refused_and_kept(team):
    data = (
        b"From: someone@sender.example\r\nTo: reports@example.net\r\n"
        b"Subject: Report Domain: example.com\r\n\r\nNo report here, sorry.\r\n"
    )
    raw = ingest_bytes(team.org, data)
    assert raw.kind == "message"
    assert raw.status == RawStatus.REJECTED
    assert raw.reason_code == "no_report_in_message"
    assert bytes(raw.data) == data


def test_over_the_compressed_limit_is_refused(team, settings):
    settings.TLSRPT_MAX_COMPRESSED = 2048
    raw = ingest_bytes(team.org, b"{" + b" " * 4096 + b"}")
    assert (raw.status, raw.reason_code) == (RawStatus.REJECTED, "too_large")


def test_the_body_wins_where_the_subject_disagrees(team):
    message = report_message(
        to_json(report_dict()),
        subject="Report Domain: wrong.example Submitter: liar.example Report-ID: <nope>",
    )
    raw = ingest_bytes(team.org, message)
    report = raw.reports.get()
    assert report.report_id == "2024-05-01_example.com"
    assert report.policy_domain == "example.com"
    assert report.organization_name == "Sender Org"
    assert "wrong.example" in raw.headers["Subject"]  # kept, for display only


def test_a_zip_with_two_reports_and_a_message_with_one_bad_part(team):
    first, second = report_dict(), report_dict()
    second["report-id"] = "second"
    archive = zip_bytes({"a.json": to_json(first), "b.json.gz": gzip_bytes(to_json(second))})
    raw = ingest_bytes(team.org, archive, filename="reports.zip")
    assert raw.status == RawStatus.PARSED
    assert sorted(raw.reports.values_list("document_index", flat=True)) == [0, 1]

    broken = report_dict()
    broken["report-id"] = "third"
    del broken["policies"]
    archive = zip_bytes({"c.json": to_json(broken), "d.json": to_json({**first, "report-id": "4"})})
    raw = ingest_bytes(team.org, archive, filename="mixed.zip")
    assert raw.status == RawStatus.PARSED
    assert raw.reason_code == "missing_field"
    assert raw.reason.startswith("1 of 2 reports refused")
    assert raw.reports.count() == 1


def test_reparse_after_a_fix(team, settings):
    settings.TLSRPT_MAX_DECOMPRESSED = 1024  # a limit too tight for this report
    data = gzip_bytes(sample("stalwartlabs__mail-auth__rpt01.json"))
    raw = ingest_bytes(team.org, data)
    assert (raw.status, raw.reason_code) == (RawStatus.REJECTED, "decompressed_too_large")

    settings.TLSRPT_MAX_DECOMPRESSED = 50 * MIB  # the fix
    out = io.StringIO()
    call_command("reparse_reports", stdout=out)
    raw.refresh_from_db()
    assert raw.status == RawStatus.PARSED
    assert (raw.reason_code, raw.reason) == ("", "")
    assert raw.attempts == 2
    assert Report.objects.get(raw=raw).total_failure == 303
    assert "re-parsed 1 raw report(s): 1 parsed" in out.getvalue()


def test_reparsing_a_parsed_report_writes_no_second_copy(team):
    raw = ingest_sample(team.org, "domainaware__parsedmarc__rfc8460.json")
    first_uuid = raw.reports.get().uuid
    ingest.parse_raw(raw.id)
    raw.refresh_from_db()
    assert raw.status == RawStatus.PARSED
    assert Report.objects.count() == 1
    assert FailureDetail.objects.count() == 3
    assert Report.objects.get().uuid != first_uuid  # rebuilt from the stored bytes


def test_a_domain_added_later_gets_the_report_on_reparse(team):
    raw = ingest_sample(team.org, "phi-ag__mta-sts-exporter__google.json")
    assert raw.reports.get().domain is None
    domain = Domain.objects.create(organization=team.org, name="example.com")
    call_command("reparse_reports", str(raw.uuid), stdout=io.StringIO())
    assert raw.reports.get().domain == domain


def test_ingest_reports_command_takes_files_folders_eml_and_mbox(team, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("phi-ag__mta-sts-exporter__google.json", "mjl-__mox__example.eml"):
        (folder / name).write_bytes(sample(name))
    (folder / "gz").mkdir()
    (folder / "gz" / "rpt02.json.gz").write_bytes(
        gzip.compress(sample("stalwartlabs__mail-auth__rpt02.json"))
    )
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(
        b"".join(
            b"From sender@example Mon Jan  1 00:00:00 2024\n"
            + sample(name).replace(b"\r\n", b"\n")
            + b"\n"
            for name in (
                "mjl-__mox__microsoft.eml",
                "domainaware__parsedmarc__google.com_smtp_tls_report.eml",
            )
        )
    )
    broken = tmp_path / BROKEN_SAMPLE
    broken.write_bytes(sample(BROKEN_SAMPLE))
    out = io.StringIO()
    call_command("ingest_reports", str(folder), str(mbox), str(broken), "--org", "acme", stdout=out)
    text = out.getvalue()
    assert "6 input(s): 5 parsed (5 new report(s)), 0 duplicate, 1 refused, 0 error" in text
    assert f"{BROKEN_SAMPLE}: rejected: missing_field" in text
    assert Report.objects.filter(organization=team.org).count() == 5
    assert set(RawReport.objects.values_list("source", flat=True)) == {"cli"}
    assert RawReport.objects.filter(filename="box.mbox#2", kind="message").exists()


def test_ingest_reports_command_refuses_an_unknown_organization(team, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no organization"):
        call_command("ingest_reports", str(tmp_path), "--org", "nope")


@pytest.mark.django_db(transaction=True)
def test_two_copies_parsed_at_the_same_moment_are_stored_once(team):
    """Two workers parse two copies at once: the unique constraint keeps exactly one."""
    data = to_json(report_dict())
    raws = [
        ingest.store_raw(organization=team.org, data=data, source="https", queue=False)
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(raw_id: int) -> None:
        try:
            barrier.wait()
            ingest.parse_raw(raw_id)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(raw.id,)) for raw in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Report.objects.count() == 1
    statuses = sorted(RawReport.objects.values_list("status", flat=True))
    assert statuses == [RawStatus.DUPLICATE, RawStatus.PARSED]
    assert json.loads(bytes(RawReport.objects.first().data)) == report_dict()


def test_ingest_reports_command_on_the_whole_samples_folder(team):
    """The bulk path: duplicates inside one batch and against stored reports are caught."""
    ingest_sample(team.org, "stalwartlabs__mail-auth__rpt01.json")  # already stored
    out = io.StringIO()
    call_command("ingest_reports", str(TLSRPT_SAMPLES), "--org", "acme", stdout=out)
    assert "19 input(s): 14 parsed (14 new report(s)), 4 duplicate, 1 refused" in out.getvalue()
    assert Report.objects.count() == 15
    assert RawReport.objects.filter(status=RawStatus.DUPLICATE).count() == 4
    for name, expected in GOOD_SAMPLES.items():
        raw = RawReport.objects.filter(filename=name).order_by("-id").first()
        report = Report.objects.get(report_id=expected.report_id)
        assert (report.total_successful, report.total_failure) == (
            expected.successful,
            expected.failed,
        ), name
        assert raw.status in (RawStatus.PARSED, RawStatus.DUPLICATE)
    eml = RawReport.objects.get(filename="mjl-__mox__example.eml", source="cli")
    assert eml.headers["TLS-Report-Submitter"] == "google.com"


def test_reparse_all_falls_back_row_by_row_and_keeps_one_copy(team):
    for name in all_sample_names():
        ingest_sample(team.org, name)
    call_command("reparse_reports", "--all", stdout=io.StringIO())
    assert Report.objects.count() == 15
    assert RawReport.objects.filter(status=RawStatus.PARSED).count() == 15
    assert FailureDetail.objects.count() == 3 + 1 + 2 + 2 + 1  # rfc, no_ip, mail.ru, smtp, rpt02


def _store_and_parse(organization, name: str, data: bytes) -> int:
    [raw_id] = batch_ingest.store_many(
        organization=organization, items=[(name, data, None)], source="cli"
    )
    batch_ingest.parse_many([raw_id], organization_id=organization.id)
    return raw_id


def _ingest_many(organization, name: str, data: bytes) -> int:
    [outcome], stored = batch_ingest.ingest_many(
        organization_id=organization.id, items=[(name, data, None)], source="cli"
    )
    assert stored == 1
    return outcome.raw.id


@pytest.mark.parametrize("bulk_path", [_store_and_parse, _ingest_many])
def test_bulk_path_stores_what_the_orm_path_stores(team, bulk_path):
    """The tuple inserts of the bulk paths (re-parse, and the command line's) against
    the ORM path, field by field."""
    for name in ("domainaware__parsedmarc__rfc8460.json", "mjl-__mox__microsoft.eml"):
        data = sample(name)
        single = ingest_bytes(team.org, data, filename=name)
        bulk_id = bulk_path(team.other_org, name, data)
        bulk = RawReport.objects.get(id=bulk_id)
        skip = {"id", "uuid", "organization_id", "raw_id", "created_at", "report_id", "policy_id"}

        def rows(model, raw, skip=skip):
            return [
                {k: v for k, v in row.items() if k not in skip}
                for row in model.objects.filter(
                    **{"raw" if model is Report else "report__raw": raw}
                )
                .order_by("id")
                .values()
            ]

        for key in ("source", "kind", "size", "sha256", "status", "reason", "headers"):
            assert getattr(bulk, key) == getattr(single, key), key
        assert bytes(bulk.data) == bytes(single.data)
        assert rows(Report, single) == rows(Report, bulk)
        assert rows(PolicyResult, single) == rows(PolicyResult, bulk)
        assert rows(FailureDetail, single) == rows(FailureDetail, bulk)
        assert Report.objects.get(raw=bulk).start_datetime.tzinfo is not None


@pytest.mark.django_db(transaction=True)
def test_ingest_reports_with_two_workers_asked_for_few_files(team):
    """Too few files for a pool (forking costs more than it saves): one process does it."""
    out = io.StringIO()
    call_command(
        "ingest_reports", str(TLSRPT_SAMPLES), "--org", "acme", "--workers", "2", stdout=out
    )
    assert "19 input(s): 15 parsed (15 new report(s)), 3 duplicate, 1 refused" in out.getvalue()
    assert Report.objects.count() == 15
    assert RawReport.objects.filter(status=RawStatus.PENDING).count() == 0


@pytest.mark.django_db(transaction=True)
def test_ingest_reports_in_two_processes_claiming_files_as_they_go(team, tmp_path: Path):
    """Enough files for the worker pool: every one stored once, copies split between
    the processes kept once, a bad one refused, the rest parsed."""
    for n in range(240):
        document = report_dict()
        document["report-id"] = f"pool-{n % 220}"  # the last 20 repeat earlier ones
        body = to_json(document)
        if n % 3 == 0:
            (tmp_path / f"r{n:03}.json.gz").write_bytes(gzip_bytes(body))
        else:
            (tmp_path / f"r{n:03}.json").write_bytes(body)
    (tmp_path / "broken.json").write_bytes(b"{not json")
    out = io.StringIO()
    call_command("ingest_reports", str(tmp_path), "--org", "acme", "--workers", "2", stdout=out)
    assert "241 input(s): 220 parsed (220 new report(s)), 20 duplicate, 1 refused" in (
        out.getvalue()
    )
    assert RawReport.objects.count() == 241
    assert Report.objects.count() == 220
    assert RawReport.objects.filter(status=RawStatus.PENDING).count() == 0
    assert sorted(RawReport.objects.values_list("filename", flat=True)) == sorted(
        p.name for p in tmp_path.iterdir()
    )


def test_workers_claim_every_file_once_in_order():
    import multiprocessing

    from reports.management.commands.ingest_reports import FILES_PER_CLAIM, SharedWork

    files = [f"f{n}" for n in range(3 * FILES_PER_CLAIM + 7)]
    work = SharedWork(files, multiprocessing.get_context("fork").Value("q", 0), None)
    first, second = work.claims(), work.claims()
    by_first = [next(first)]  # claims files 0-19
    by_second = [next(second)]  # claims files 20-39
    by_first += list(first)  # the rest of its claim, then every later one
    by_second += list(second)  # the rest of its one claim: nothing is left after
    assert by_second == files[FILES_PER_CLAIM : 2 * FILES_PER_CLAIM]
    assert by_first == files[:FILES_PER_CLAIM] + files[2 * FILES_PER_CLAIM :]


@pytest.mark.usefixtures("eager_tasks")
def test_pending_reports_are_queued_again(team):
    from datetime import timedelta

    from django.utils import timezone

    from reports.tasks import requeue_pending_reports

    raw = ingest.store_raw(
        organization=team.org, data=to_json(report_dict()), source="https", queue=False
    )
    assert requeue_pending_reports() == 0  # too recent: its own task may still be on its way
    RawReport.objects.filter(id=raw.id).update(received_at=timezone.now() - timedelta(hours=1))
    assert requeue_pending_reports() == 1
    assert RawReport.objects.get(id=raw.id).status == RawStatus.PARSED


def test_a_new_report_refreshes_the_dashboard_figures(team):
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.models import DomainSummary

    yesterday = (timezone.now() - timedelta(days=1)).date()
    document = report_dict()
    document["date-range"] = {
        "start-datetime": f"{yesterday}T00:00:00Z",
        "end-datetime": f"{yesterday}T23:59:59Z",
    }
    document["policies"][0]["policy"]["policy-domain"] = "acme.test"
    document["policies"][0]["summary"] = {
        "total-successful-session-count": 90,
        "total-failure-session-count": 10,
    }
    ingest_bytes(team.org, to_json(document))
    summary = DomainSummary.objects.get(domain=team.domain)
    assert summary.tlsrpt_sessions_7d == 100
    assert summary.tlsrpt_rate_7d == pytest.approx(0.9)


def test_the_ingest_command_refreshes_the_dashboard_figures(team, tmp_path: Path):
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.models import DomainSummary

    yesterday = (timezone.now() - timedelta(days=1)).date()
    for n, (ok, failed) in enumerate([(90, 10), (50, 0)]):
        document = report_dict()
        document["report-id"] = f"cli-{n}"
        document["date-range"] = {
            "start-datetime": f"{yesterday}T00:00:00Z",
            "end-datetime": f"{yesterday}T23:59:59Z",
        }
        document["policies"][0]["policy"]["policy-domain"] = "acme.test"
        document["policies"][0]["summary"] = {
            "total-successful-session-count": ok,
            "total-failure-session-count": failed,
        }
        document["policies"][0].pop("failure-details", None)
        (tmp_path / f"r{n}.json").write_bytes(to_json(document))
    call_command("ingest_reports", str(tmp_path), "--org", "acme", stdout=io.StringIO())
    summary = DomainSummary.objects.get(domain=team.domain)
    assert summary.tlsrpt_sessions_7d == 150
    assert summary.tlsrpt_rate_7d == pytest.approx(140 / 150)


def _acme_report_with_failures(n: int) -> bytes:
    document = report_dict()
    document["report-id"] = f"keys-{n}"
    document["policies"][0]["policy"]["policy-domain"] = "acme.test"
    return to_json(document)


def test_deleting_a_domain_clears_the_chart_key_copies(team):
    """The report rows' copies of the domain have no database constraint: Django's
    on_delete must still clear them, on every table."""
    ingest_bytes(team.org, _acme_report_with_failures(1))
    assert FailureDetail.objects.filter(domain=team.domain).exists()
    team.domain.delete()
    assert Report.objects.count() == 1
    assert not Report.objects.filter(domain_id__isnull=False).exists()
    assert not PolicyResult.objects.filter(domain_id__isnull=False).exists()
    assert FailureDetail.objects.count() >= 1
    assert not FailureDetail.objects.filter(domain_id__isnull=False).exists()


def test_deleting_an_organization_deletes_its_report_rows(team):
    ingest_bytes(team.org, _acme_report_with_failures(2))
    ingest_bytes(team.other_org, _acme_report_with_failures(3))
    team.org.delete()
    assert set(RawReport.objects.values_list("organization_id", flat=True)) == {team.other_org.id}
    for model in (Report, PolicyResult, FailureDetail):
        assert model.objects.exists()
        assert set(model.objects.values_list("organization_id", flat=True)) == {
            team.other_org.id
        }, model
