"""Store raw first, then parse: the one write path every receiver goes through.

``store_raw`` writes the bytes as received in the caller's transaction and queues the
parse after commit, so a crash or a parser bug never loses a report. ``parse_raw``
turns a stored row into ``Report`` rows, idempotently: the unique constraint on
(organization, submitter, report-id) decides which copy is kept, also when two copies
are parsed at the same moment by two workers.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import dns.resolver
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from monitoring.checks.names import normalize_domain
from monitoring.models import Domain, Organization
from reports.decoding import decode_reports, sniff_kind
from reports.dkim_check import DnsFunc, dnsfunc_from_resolver
from reports.errors import ReportRejected
from reports.limits import Limits
from reports.mail import extract_reports_from_message
from reports.models import (
    FailureDetail,
    PolicyResult,
    RawKind,
    RawReport,
    RawStatus,
    Report,
    ReportEndpoint,
)
from reports.parsing import ParsedReport, dedup_key, parse_report
from reports.policy_strings import policy_fingerprint

if TYPE_CHECKING:
    from reports.batch_ingest import NewRaw

log = logging.getLogger(__name__)

# An RFC 5322 header line ("Name: value") or an mbox "From " line opens a mail message.
_HEADER_LINE = re.compile(rb"^(From |[!-9;-~]{1,76}:)")
_BULK_BATCH = 2000


def limits() -> Limits:
    """The parser limits from settings (TLSRPT_MAX_*)."""
    return Limits(
        max_compressed=settings.TLSRPT_MAX_COMPRESSED,
        max_decompressed=settings.TLSRPT_MAX_DECOMPRESSED,
        max_message=settings.TLSRPT_MAX_MESSAGE,
    )


def endpoint_for(organization: Organization) -> ReportEndpoint:
    """The organization's own report endpoint, created the first time it is asked for."""
    endpoint = ReportEndpoint.objects.filter(organization=organization, domain=None).first()
    if endpoint is not None:
        return endpoint
    try:
        with transaction.atomic():
            return ReportEndpoint.objects.create(organization=organization)
    except IntegrityError:  # created by a concurrent request: the constraint kept one
        return ReportEndpoint.objects.get(organization=organization, domain=None)


def guess_kind(data: bytes, filename: str = "") -> str:
    """``message`` for a mail message (``.eml`` or header lines first), else ``body``."""
    name = filename.lower()
    if name.endswith((".eml", ".msg", ".mbox")):
        return RawKind.MESSAGE
    if name.endswith((".json", ".gz", ".zip")):
        return RawKind.BODY
    try:
        if sniff_kind(data, None, None) != "json":
            return RawKind.BODY
    except ReportRejected:
        return RawKind.BODY
    stripped = data.lstrip(b"\r\n")
    if stripped.startswith((b"{", b"[", b"\xef\xbb\xbf")):
        return RawKind.BODY
    return RawKind.MESSAGE if _HEADER_LINE.match(stripped) else RawKind.BODY


def store_raw(
    *,
    organization: Organization,
    data: bytes,
    source: str,
    filename: str = "",
    content_type: str = "",
    headers: dict[str, Any] | None = None,
    endpoint: ReportEndpoint | None = None,
    kind: str | None = None,
    queue: bool = True,
) -> RawReport:
    """Store ``data`` as received and, after commit, queue its parse (``queue=True``).

    Runs in the caller's transaction when there is one, so "accepted" and "stored" are
    the same event.
    """
    with transaction.atomic():
        raw = RawReport.objects.create(
            organization=organization,
            endpoint=endpoint,
            source=source,
            kind=kind or guess_kind(data, filename),
            data=data,
            size=len(data),
            sha256=RawReport.digest(data),
            filename=filename[:255],
            content_type=content_type[:255],
            headers=headers or {},
        )
        if queue:
            transaction.on_commit(functools.partial(queue_parse, raw.id))
    return raw


def queue_parse(raw_id: int) -> None:
    """Queue the parse of a stored row. A broker that is down must not turn an accepted
    report into an error for the sender: the row stays pending and the beat task
    ``requeue_pending_reports`` queues it again later."""
    from reports.tasks import parse_raw_report

    try:
        parse_raw_report.apply_async((raw_id,), retry=False)
    except Exception:
        log.exception("could not queue the parse of raw report %s; it stays pending", raw_id)


@dataclass(slots=True)
class ParseOutcome:
    """What parsing one raw row did. ``touched`` maps domain ids to the days written."""

    raw: RawReport | NewRaw  # NewRaw: reports.batch_ingest's not-yet-inserted row
    created: list[Report] = field(default_factory=list)
    duplicates: list[Report] = field(default_factory=list)
    rejections: list[ReportRejected] = field(default_factory=list)
    touched: dict[int, set[date]] = field(default_factory=dict)


class DomainMatcher:
    """Finds the organization's domain for a policy-domain; cached across one batch."""

    def __init__(self, organization_id: int) -> None:
        self.organization_id = organization_id
        self.cache: dict[str, Domain | None] = {}

    def __call__(self, policy_domain: str) -> Domain | None:
        name = normalise_name(policy_domain)
        if name not in self.cache:
            self.cache[name] = Domain.objects.filter(
                organization_id=self.organization_id, name=name
            ).first()
        return self.cache[name]


@functools.lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """The stored form of a policy-domain (A-label, lower case); as sent if it is no name.

    Cached: IDNA encoding costs more than parsing a small report, and a batch names the
    same few domains over and over.
    """
    try:
        return normalize_domain(name)
    except ValueError:
        return name.strip().lower().rstrip(".")[:253]


def parse_raw(
    raw_id: int,
    *,
    matcher: DomainMatcher | None = None,
    evaluate_alerts: bool = True,
    dnsfunc: DnsFunc | None = None,
) -> ParseOutcome | None:
    """Parse the stored row ``raw_id`` into reports; None if the row is gone.

    Earlier results of the same row are replaced, so this is also the re-parse. Refusals
    are recorded on the row with their code and reason, never raised. With
    ``evaluate_alerts`` the TLSRPT alerts of the touched domains are evaluated after.
    """
    raw = RawReport.objects.filter(id=raw_id).first()
    if raw is None:
        return None
    # Decoding, parsing and the DKIM look-up happen before the transaction: no lock is
    # held while a DNS server takes its time.
    parsed, rejections, documents = _parse_all(raw, dnsfunc)
    with transaction.atomic():
        # Writing first takes SQLite's write lock before any read, so two workers on one
        # file wait for each other instead of failing with "database is locked".
        if not RawReport.objects.filter(id=raw_id).update(attempts=F("attempts") + 1):
            return None
        outcome = ParseOutcome(raw=raw, rejections=rejections)
        Report.objects.filter(raw=raw).delete()
        matcher = matcher or DomainMatcher(raw.organization_id)
        for index, report in parsed:
            _store_parsed(outcome, report, index, matcher)
        _settle(outcome, documents)
        raw.save(update_fields=_SETTLED_FIELDS)
    if evaluate_alerts and outcome.touched:
        after_ingest(outcome.touched, outcome.created)
    return outcome


def after_ingest(touched: dict[int, set[date]], created: list) -> None:
    """Once reports are committed: refresh the dashboard's TLSRPT figures, then alerts."""
    from monitoring.summary import refresh_tlsrpt
    from reports.alerts import evaluate_after_ingest

    try:
        refresh_tlsrpt(touched)
    except Exception:
        # The figures are recomputed on the next report or check; never fail ingest.
        log.exception("could not refresh the TLSRPT summaries of domains %s", sorted(touched))
    evaluate_after_ingest(touched, created)


def _parse_all(
    raw: RawReport,
    dnsfunc: DnsFunc | None,
    current: Limits | None = None,
    sizes: list[int] | None = None,
) -> tuple[list[tuple[int, ParsedReport]], list[ReportRejected], int]:
    """(index, parsed) for each report in the input, the refusals, how many were found.

    ``sizes``, when given, receives the length of each decoded document."""
    # Bulk callers pass the limits once per batch: building them validates every field,
    # which cost more than decoding a small report.
    current = current or limits()
    try:
        documents = _documents(raw, dnsfunc, current)
    except ReportRejected as exc:
        return [], [exc], 0
    if sizes is not None:
        sizes.extend(len(document) for document in documents)
    parsed: list[tuple[int, ParsedReport]] = []
    rejections: list[ReportRejected] = []
    for index, document in enumerate(documents):
        try:
            parsed.append((index, parse_report(document, current)))
        except ReportRejected as exc:
            rejections.append(exc)
    return parsed, rejections, len(documents)


def _documents(raw: RawReport, dnsfunc: DnsFunc | None, current: Limits) -> list[bytes]:
    data = bytes(raw.data)
    if raw.kind != RawKind.MESSAGE:
        return decode_reports(data, raw.content_type or None, raw.filename or None, current)
    check = settings.TLSRPT_DKIM_VERIFY
    extraction = extract_reports_from_message(
        data, current, dnsfunc=dnsfunc or (dkim_dnsfunc() if check else None), check_dkim=check
    )
    raw.headers = {**raw.headers, **extraction.headers}
    if extraction.skipped:
        raw.headers["skipped-parts"] = extraction.skipped
    raw.dkim_status = extraction.dkim.status if check else ""
    raw.dkim_domains = extraction.dkim.domains
    raw.dkim_detail = extraction.dkim.detail
    return extraction.reports


def documents_of(raw: RawReport) -> list[bytes]:
    """The JSON of every report in a stored input, for display (no DKIM look-up)."""
    data = bytes(raw.data)
    if raw.kind != RawKind.MESSAGE:
        return decode_reports(data, raw.content_type or None, raw.filename or None, limits())
    return extract_reports_from_message(data, limits(), check_dkim=False).reports


def dkim_dnsfunc() -> DnsFunc:
    """DKIM key look-ups through the resolver the checks use (MTASTS_NAMESERVERS)."""
    resolver = dns.resolver.Resolver(configure=not settings.CHECK_OPTIONS.nameservers)
    if settings.CHECK_OPTIONS.nameservers:
        resolver.nameservers = [host for host, _ in settings.CHECK_OPTIONS.nameservers]
        resolver.port = settings.CHECK_OPTIONS.nameservers[0][1]
    resolver.lifetime = settings.CHECK_OPTIONS.timeout
    return dnsfunc_from_resolver(resolver)


def _build_report(
    raw: RawReport, parsed: ParsedReport, index: int, matcher: DomainMatcher
) -> Report:
    """An unsaved Report for one parsed report of ``raw``."""
    submitter_key, report_id = dedup_key(parsed)
    policy_domain = normalise_name(parsed.policies[0].policy_domain) if parsed.policies else ""
    return Report(
        organization_id=raw.organization_id,
        domain=matcher(policy_domain) if policy_domain else None,
        raw=raw,
        document_index=index,
        organization_name=parsed.organization_name,
        submitter_key=submitter_key,
        dedup_hash=Report.make_dedup_hash(submitter_key, report_id),
        contact_info=parsed.contact_info or "",
        report_id=report_id,
        start_datetime=parsed.start_datetime,
        end_datetime=parsed.end_datetime,
        day=parsed.start_datetime.date(),
        policy_domain=policy_domain,
        total_successful=parsed.total_successful,
        total_failure=parsed.total_failure,
        failure_detail_count=parsed.failure_detail_count,
        warnings=parsed.warnings,
    )


def _store_parsed(
    outcome: ParseOutcome, parsed: ParsedReport, index: int, matcher: DomainMatcher
) -> None:
    report = _build_report(outcome.raw, parsed, index, matcher)
    try:
        with transaction.atomic():
            report.save(force_insert=True)
    except IntegrityError:
        existing = Report.objects.filter(
            organization_id=report.organization_id, dedup_hash=report.dedup_hash
        ).first()
        if existing is None:  # not the dedup constraint: a real error
            raise
        outcome.duplicates.append(existing)
        return
    policies, failures = _policy_rows(report, parsed, matcher)
    PolicyResult.objects.bulk_create(policies)
    if failures:
        FailureDetail.objects.bulk_create(failures, batch_size=_BULK_BATCH)
    outcome.created.append(report)
    _touch(outcome, report)


def _touch(outcome: ParseOutcome, report: Report) -> None:
    if report.domain_id is not None:
        outcome.touched.setdefault(report.domain_id, set()).add(report.day)


def _policy_rows(
    report: Report, parsed: ParsedReport, matcher: DomainMatcher
) -> tuple[list[PolicyResult], list[FailureDetail]]:
    """Unsaved rows for the report's policies and failures (saved report or not)."""
    policies: list[PolicyResult] = []
    failures: list[FailureDetail] = []
    for policy in parsed.policies:
        name = normalise_name(policy.policy_domain)
        domain = report.domain if name == report.policy_domain else matcher(name)
        row = PolicyResult(
            report=report,
            organization_id=report.organization_id,
            domain=domain,
            day=report.day,
            policy_type=policy.policy_type[:64],
            policy_domain=name,
            policy_strings=policy.policy_strings,
            policy_fingerprint=policy_fingerprint(policy.policy_strings),
            mx_hosts=policy.mx_hosts,
            successful_sessions=policy.total_successful,
            failed_sessions=policy.total_failure,
        )
        policies.append(row)
        domain_id = domain.id if domain is not None else None
        failures.extend(
            FailureDetail(
                policy=row,
                report=report,
                organization_id=report.organization_id,
                domain_id=domain_id,
                day=report.day,
                result_type=f.result_type[:200],
                sending_mta_ip=f.sending_mta_ip or "",
                receiving_mx_hostname=f.receiving_mx_hostname or "",
                receiving_mx_helo=f.receiving_mx_helo or "",
                receiving_ip=f.receiving_ip or "",
                failed_session_count=f.failed_session_count,
                failure_reason_code=f.failure_reason_code or "",
                additional_information=f.additional_information or "",
            )
            for f in policy.failures
        )
    return policies, failures


_SETTLED_FIELDS = [
    "status",
    "reason_code",
    "reason",
    "parsed_at",
    "headers",
    "dkim_status",
    "dkim_domains",
    "dkim_detail",
]


def _settle(outcome: ParseOutcome, documents: int, created: bool | None = None) -> None:
    """Set the raw row's status and reason from the outcome (the caller saves).

    ``created`` says whether reports will be created, for a caller that settles the
    row before inserting them (``ingest_many`` writes the raw row already settled).
    """
    raw = outcome.raw
    rejected = outcome.rejections
    if outcome.created if created is None else created:
        raw.status = RawStatus.PARSED
    elif outcome.duplicates:
        raw.status = RawStatus.DUPLICATE
    else:
        raw.status = RawStatus.REJECTED
    if rejected:
        first = rejected[0]
        raw.reason_code = first.code
        prefix = f"{len(rejected)} of {documents} reports refused; first: " if documents > 1 else ""
        raw.reason = prefix + first.reason
    elif outcome.duplicates and not outcome.created:
        raw.reason_code = "duplicate"
        first = outcome.duplicates[0]
        raw.reason = (
            f"report-id {first.report_id!r} from {first.organization_name!r} is already stored"
        )
    else:
        raw.reason_code = raw.reason = ""
    raw.parsed_at = timezone.now()


def mark_error(raw_id: int, exc: BaseException) -> None:
    """Record an unexpected parser crash on the row, so it shows and can be re-parsed."""
    RawReport.objects.filter(id=raw_id).update(
        status=RawStatus.ERROR,
        reason_code="internal_error",
        reason=f"{type(exc).__name__}: {exc}"[:2000],
        parsed_at=timezone.now(),
    )
