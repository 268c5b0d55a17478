"""Batched TLSRPT ingest: many reports stored and parsed per transaction.

The command-line and re-parse paths. ``ingest_many`` decodes and parses a batch in
memory, then writes its raw rows (already settled) and their Report / PolicyResult /
FailureDetail rows in one transaction; ``store_many`` + ``parse_many`` serve re-parsing
of rows already stored. The one-report path every receiver uses is ``reports.ingest``.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from monitoring.models import Organization
from reports.bulk import Inserter, bulk_load
from reports.dkim_check import DnsFunc
from reports.errors import ReportRejected
from reports.ingest import (
    _SETTLED_FIELDS,
    DomainMatcher,
    ParseOutcome,
    _parse_all,
    _settle,
    _touch,
    after_ingest,
    guess_kind,
    limits,
    mark_error,
    normalise_name,
    parse_raw,
)
from reports.limits import Limits
from reports.models import (
    FailureDetail,
    PolicyResult,
    RawKind,
    RawReport,
    RawStatus,
    Report,
    time_ordered_uuid,
)
from reports.parsing import ParsedReport, dedup_key
from reports.policy_strings import policy_fingerprint

log = logging.getLogger(__name__)


class _Fallback(Exception):
    """The batch path cannot take this batch; parse its rows one by one instead."""


def parse_batch(
    raw_ids: list[int], *, matcher: DomainMatcher, dnsfunc: DnsFunc | None = None
) -> list[ParseOutcome]:
    """Parse rows of one organization, then write them in one transaction, in bulk.

    The same rules as ``parse_raw``, at a fraction of the queries: parsing happens before
    the transaction (so parallel workers parse while another writes), existing report
    keys are read once, duplicates inside the batch are caught in memory, and rows are
    inserted as tuples. Should another worker store one of the same reports meanwhile
    (an IntegrityError), or a row already have reports (a re-parse), the batch is rolled
    back and each row goes through ``parse_raw``, which settles the race per report.
    """
    raws = list(RawReport.objects.filter(id__in=raw_ids).order_by("id"))
    current = limits()
    prepared = [(raw, *_parse_all(raw, dnsfunc, current)) for raw in raws]
    try:
        with transaction.atomic():
            return _write_batch(raw_ids, prepared, matcher)
    except (_Fallback, IntegrityError):
        outcomes = []
        for raw_id in raw_ids:
            outcome = parse_raw(raw_id, matcher=matcher, evaluate_alerts=False, dnsfunc=dnsfunc)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes


@dataclass(frozen=True, slots=True)
class StoredReport:
    """What callers need of a report the bulk path inserted (no model instance)."""

    id: int
    domain_id: int | None
    day: date
    report_id: str
    organization_name: str


_REPORT_FIELDS = [
    "uuid",
    "organization_id",
    "domain_id",
    "raw_id",
    "document_index",
    "organization_name",
    "submitter_key",
    "dedup_hash",
    "contact_info",
    "report_id",
    "start_datetime",
    "end_datetime",
    "day",
    "policy_domain",
    "total_successful",
    "total_failure",
    "failure_detail_count",
    "warnings",
    "created_at",
]
_POLICY_FIELDS = [
    "report_id",
    "organization_id",
    "domain_id",
    "day",
    "policy_type",
    "policy_domain",
    "policy_strings",
    "policy_fingerprint",
    "mx_hosts",
    "successful_sessions",
    "failed_sessions",
]
_FAILURE_FIELDS = [
    "policy_id",
    "report_id",
    "organization_id",
    "domain_id",
    "day",
    "result_type",
    "sending_mta_ip",
    "receiving_mx_hostname",
    "receiving_mx_helo",
    "receiving_ip",
    "failed_session_count",
    "failure_reason_code",
    "additional_information",
]


@functools.cache
def _inserters() -> tuple[Inserter, Inserter, Inserter]:
    return (
        Inserter(Report, _REPORT_FIELDS),
        Inserter(PolicyResult, _POLICY_FIELDS),
        Inserter(FailureDetail, _FAILURE_FIELDS, chunk=2000),
    )


def _write_batch(
    raw_ids: list[int],
    prepared: list[tuple[RawReport, list[tuple[int, ParsedReport]], list[ReportRejected], int]],
    matcher: DomainMatcher,
) -> list[ParseOutcome]:
    # Writing first takes SQLite's write lock before any read (see parse_raw).
    RawReport.objects.filter(id__in=raw_ids).update(attempts=F("attempts") + 1)
    if Report.objects.filter(raw_id__in=raw_ids).exists():
        raise _Fallback
    outcomes, counts, chosen = _choose(prepared, matcher)
    _insert_reports(chosen, matcher)
    for outcome in outcomes:
        _settle(outcome, counts[id(outcome)])
    _save_settled([outcome.raw for outcome in outcomes])
    return outcomes


def _choose(
    prepared: list[tuple[RawReport, list[tuple[int, ParsedReport]], list[ReportRejected], int]],
    matcher: DomainMatcher,
) -> tuple[list[ParseOutcome], dict[int, int], list[tuple]]:
    """The outcomes, documents per outcome (by ``id()``), and the reports to insert:
    those whose key is neither stored already nor earlier in the same batch."""
    outcomes: list[ParseOutcome] = []
    pending: list[tuple[ParseOutcome, int, ParsedReport, str, str]] = []
    counts: dict[int, int] = {}
    for raw, parsed, rejections, documents in prepared:
        outcome = ParseOutcome(raw=raw, rejections=rejections)
        counts[id(outcome)] = documents
        outcomes.append(outcome)
        for index, report in parsed:
            submitter_key, report_id = dedup_key(report)
            pending.append((outcome, index, report, submitter_key, report_id))
    hashes = [Report.make_dedup_hash(key, rid) for _, _, _, key, rid in pending]
    existing = _existing_hashes(matcher.organization_id, hashes)
    chosen = []
    for item, dedup_hash in zip(pending, hashes, strict=True):
        outcome, _, parsed, _, report_id = item
        if dedup_hash in existing:
            outcome.duplicates.append(
                StoredReport(
                    0, None, parsed.start_datetime.date(), report_id, parsed.organization_name
                )
            )
            continue
        existing.add(dedup_hash)
        chosen.append((*item, dedup_hash))
    return outcomes, counts, chosen


def _insert_reports(chosen: list[tuple], matcher: DomainMatcher) -> None:
    """Insert the chosen reports, their policies and failures as tuples (three statements
    per few hundred reports)."""
    report_inserter, policy_inserter, failure_inserter = _inserters()
    now = timezone.now()
    rows = []
    for outcome, index, parsed, submitter_key, report_id, dedup_hash in chosen:
        policy_domain = normalise_name(parsed.policies[0].policy_domain) if parsed.policies else ""
        domain = matcher(policy_domain) if policy_domain else None
        rows.append(
            (
                time_ordered_uuid(),
                matcher.organization_id,
                domain.id if domain else None,
                outcome.raw.id,
                index,
                parsed.organization_name,
                submitter_key,
                dedup_hash,
                parsed.contact_info or "",
                report_id,
                parsed.start_datetime,
                parsed.end_datetime,
                parsed.start_datetime.date(),
                policy_domain,
                parsed.total_successful,
                parsed.total_failure,
                parsed.failure_detail_count,
                parsed.warnings,
                now,
            )
        )
    report_ids = report_inserter.insert(rows, returning=True)
    policy_rows, policy_failures = [], []
    for (outcome, _, parsed, _, report_id, _), row, pk in zip(
        chosen, rows, report_ids, strict=True
    ):
        org_id, domain_id, day, policy_domain = row[1], row[2], row[12], row[13]
        stored = StoredReport(pk, domain_id, day, report_id, parsed.organization_name)
        outcome.created.append(stored)
        _touch(outcome, stored)
        for policy in parsed.policies:
            name = normalise_name(policy.policy_domain)
            if name == policy_domain:
                policy_domain_id = domain_id
            else:
                other = matcher(name)
                policy_domain_id = other.id if other else None
            policy_rows.append(
                (
                    pk,
                    org_id,
                    policy_domain_id,
                    day,
                    policy.policy_type[:64],
                    name,
                    policy.policy_strings,
                    policy_fingerprint(policy.policy_strings),
                    policy.mx_hosts,
                    policy.total_successful,
                    policy.total_failure,
                )
            )
            policy_failures.append(policy.failures)
    policy_ids = policy_inserter.insert(policy_rows, returning=True)
    failure_rows = [
        (
            policy_id,
            prow[0],
            prow[1],
            prow[2],
            prow[3],
            f.result_type[:200],
            f.sending_mta_ip or "",
            f.receiving_mx_hostname or "",
            f.receiving_mx_helo or "",
            f.receiving_ip or "",
            f.failed_session_count,
            f.failure_reason_code or "",
            f.additional_information or "",
        )
        for policy_id, prow, failures in zip(policy_ids, policy_rows, policy_failures, strict=True)
        for f in failures
    ]
    if failure_rows:
        failure_inserter.insert(failure_rows)


def _existing_hashes(organization_id: int, hashes: list[str]) -> set[str]:
    # Plain SQL: the ORM's IN lookup prepares each of the hashes separately, which cost
    # as much as the query itself.
    found: set[str] = set()
    table = connection.ops.quote_name(Report._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            cursor.execute(
                f"SELECT dedup_hash FROM {table} WHERE organization_id = %s"
                f" AND dedup_hash IN ({', '.join(['%s'] * len(chunk))})",
                [organization_id, *chunk],
            )
            found.update(row[0] for row in cursor.fetchall())
    return found


def _save_settled(raws: list[RawReport]) -> None:
    # The common case (parsed, nothing to say, headers untouched) is one UPDATE per batch;
    # the rest (refusals, duplicates, mail with headers and DKIM) are saved row by row.
    plain = [
        raw.id
        for raw in raws
        if raw.status == RawStatus.PARSED and not raw.reason and raw.kind == RawKind.BODY
    ]
    if plain:
        RawReport.objects.filter(id__in=plain).update(
            status=RawStatus.PARSED, reason_code="", reason="", parsed_at=timezone.now()
        )
    for raw in raws:
        if raw.id not in plain:
            raw.save(update_fields=_SETTLED_FIELDS)


def parse_many(
    raw_ids: Iterable[int],
    *,
    organization_id: int,
    batch_size: int = 200,
    evaluate_alerts: bool = True,
) -> list[ParseOutcome]:
    """Parse rows of one organization in batches, then evaluate alerts once per domain."""
    matcher = DomainMatcher(organization_id)
    outcomes: list[ParseOutcome] = []
    ids = list(raw_ids)
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        try:
            outcomes.extend(parse_batch(batch, matcher=matcher))
        except Exception:
            log.exception("parsing raw reports %s..%s failed", batch[0], batch[-1])
            outcomes.extend(_parse_one_by_one(batch, matcher))
    if evaluate_alerts:
        evaluate_outcomes(outcomes)
    return outcomes


def evaluate_outcomes(outcomes: Iterable[ParseOutcome]) -> None:
    """Evaluate the TLSRPT alerts once for every domain the outcomes wrote to."""
    touched: dict[int, set[date]] = {}
    created: list = []
    for outcome in outcomes:
        created.extend(outcome.created)
        for domain_id, days in outcome.touched.items():
            touched.setdefault(domain_id, set()).update(days)
    if touched:
        after_ingest(touched, created)


def _parse_one_by_one(raw_ids: list[int], matcher: DomainMatcher) -> list[ParseOutcome]:
    outcomes = []
    for raw_id in raw_ids:
        try:
            outcome = parse_raw(raw_id, matcher=matcher, evaluate_alerts=False)
        except Exception as exc:
            log.exception("parsing raw report %s failed", raw_id)
            mark_error(raw_id, exc)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


_RAW_FIELDS = [
    "uuid",
    "organization_id",
    "source",
    "kind",
    "data",
    "size",
    "sha256",
    "filename",
    "content_type",
    "headers",
    "received_at",
    "status",
    "attempts",
    "dkim_domains",
    "reason_code",
    "reason",
    "dkim_status",
    "dkim_detail",
]


def store_many(
    *,
    organization: Organization,
    items: Iterable[tuple[str, bytes, str | None]],
    source: str,
    batch_size: int = 200,
) -> list[int]:
    """Store (filename, bytes, kind) items in batches; returns the raw ids, in order.

    For bulk ingestion (the command line): nothing is queued, the caller parses.
    """
    inserter = Inserter(RawReport, _RAW_FIELDS, chunk=batch_size)
    ids: list[int] = []
    batch: list[tuple] = []

    def flush() -> None:
        with transaction.atomic():
            ids.extend(inserter.insert(batch, returning=True))
        batch.clear()

    for name, data, kind in items:
        batch.append(
            (
                time_ordered_uuid(),
                organization.id,
                source,
                kind or guess_kind(data, name),
                data,
                len(data),
                RawReport.digest(data),
                name[:255],
                "",
                {},
                timezone.now(),
                RawStatus.PENDING,
                0,
                [],
                "",
                "",
                "",
                "",
            )
        )
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return ids


_SETTLED_RAW_FIELDS = [*_RAW_FIELDS, "parsed_at"]


@dataclass(slots=True)
class NewRaw:
    """A raw row ``ingest_many`` has yet to insert: the fields parsing reads and sets.

    Not a ``RawReport`` instance: building one cost more than parsing a small report
    (measured: 60-130 us each in Model.__init__)."""

    organization_id: int
    source: str
    kind: str
    data: bytes
    filename: str
    id: int | None = None
    uuid: uuid.UUID = field(default_factory=time_ordered_uuid)
    content_type: str = ""
    headers: dict[str, Any] = field(default_factory=dict)
    received_at: datetime = field(default_factory=timezone.now)
    status: str = RawStatus.PENDING
    reason_code: str = ""
    reason: str = ""
    parsed_at: datetime | None = None
    dkim_status: str = ""
    dkim_domains: list[str] = field(default_factory=list)
    dkim_detail: str = ""


def ingest_many(
    *,
    organization_id: int,
    items: Iterable[tuple[str, bytes, str | None]],
    source: str,
    batch_size: int = 500,
    batch_bytes: int = 32 * 1024 * 1024,
    write_lock: AbstractContextManager | None = None,
) -> tuple[list[ParseOutcome], int]:
    """Store and parse (filename, bytes, kind) items in batches; the command-line path.
    Returns the outcomes and how many inputs were stored (a crashed parse has no outcome).

    Each batch is decoded and parsed in memory first (no lock held), then its raw rows,
    already settled, and its Report / PolicyResult / FailureDetail rows are written in
    one transaction: the raw bytes are stored with their parse, never after it, and a
    refused input keeps its raw row with the reason. Compared with ``store_many`` and
    then ``parse_many``, nothing just written is read back or updated again (measured:
    a third of the time of that path went to the re-read, the status updates and the
    second commit). An input whose parse crashes is stored with status ``error``.
    Should the batch's transaction fail (another worker stored one of the same reports
    meanwhile), its raw rows are stored pending and parsed one by one, as ``parse_many``
    does. Alerts are not evaluated here: see ``evaluate_outcomes``.

    ``write_lock``, shared by processes writing to one SQLite file, is held around each
    batch's transaction: a waiting process then starts the moment the lock is free,
    where SQLite's own busy handler polls with sleeps of up to 100 ms (measured: one of
    two processes spent 0.3 s of 1.7 s waiting so).
    """
    with bulk_load():
        return _ingest_batches(
            organization_id, items, source, batch_size, batch_bytes, write_lock or nullcontext()
        )


def _ingest_batches(
    organization_id: int,
    items: Iterable[tuple[str, bytes, str | None]],
    source: str,
    batch_size: int,
    batch_bytes: int,
    write_lock: AbstractContextManager,
) -> tuple[list[ParseOutcome], int]:
    matcher = DomainMatcher(organization_id)
    current = limits()
    outcomes: list[ParseOutcome] = []
    batch: list[tuple] = []
    size = stored = 0
    for name, data, kind in items:
        stored += 1
        raw = NewRaw(organization_id, source, kind or guess_kind(data, name), data, name[:255])
        sizes: list[int] = []
        batch.append(_prepare_new(raw, current, sizes))
        # Counting the decoded JSON as well keeps a batch of large reports (a 200 kB
        # gzip can hold 50 MB of JSON) from holding many of them parsed at once.
        size += len(data) + sum(sizes)
        if len(batch) >= batch_size or size >= batch_bytes:
            with write_lock:
                outcomes.extend(_write_new_batch(batch, matcher))
            batch, size = [], 0
    if batch:
        with write_lock:
            outcomes.extend(_write_new_batch(batch, matcher))
    return outcomes, stored


def _prepare_new(raw: RawReport, current: Limits, sizes: list[int]) -> tuple:
    """(raw, parsed, rejections, documents), or (raw, None, None, 0) when the parser
    crashed: the input is then kept with status ``error``, as ``mark_error`` does."""
    try:
        return (raw, *_parse_all(raw, None, current, sizes))
    except Exception as exc:
        log.exception("parsing %s failed", raw.filename)
        raw.status = RawStatus.ERROR
        raw.reason_code = "internal_error"
        raw.reason = f"{type(exc).__name__}: {exc}"[:2000]
        raw.parsed_at = timezone.now()
        return (raw, None, None, 0)


def _write_new_batch(batch: list[tuple], matcher: DomainMatcher) -> list[ParseOutcome]:
    prepared = [item for item in batch if item[1] is not None]
    crashed = [item[0] for item in batch if item[1] is None]
    try:
        with transaction.atomic():
            outcomes, counts, chosen = _choose(prepared, matcher)
            creating = {id(item[0]) for item in chosen}
            for outcome in outcomes:
                _settle(outcome, counts[id(outcome)], created=id(outcome) in creating)
            _insert_settled_raws([outcome.raw for outcome in outcomes] + crashed)
            _insert_reports(chosen, matcher)
            return outcomes
    except IntegrityError:
        log.info("a batch raced another writer; storing it first, then parsing row by row")
    except Exception:
        log.exception("writing a batch failed; storing it first, then parsing row by row")
    raws = [item[0] for item in batch]
    items = ((raw.filename, bytes(raw.data), raw.kind) for raw in raws)
    organization = Organization(id=matcher.organization_id)
    ids = store_many(organization=organization, items=items, source=raws[0].source)
    return _parse_one_by_one(ids, matcher)


def _insert_settled_raws(raws: list[NewRaw]) -> None:
    """Insert raw rows as tuples with their parse result; sets each one's ``id``."""
    inserter = _raw_inserter()
    ids = inserter.insert(
        [
            (
                raw.uuid,
                raw.organization_id,
                raw.source,
                raw.kind,
                raw.data,
                len(raw.data),
                RawReport.digest(raw.data),
                raw.filename,
                raw.content_type,
                raw.headers,
                raw.received_at,
                raw.status,
                1,  # this parse was the first attempt
                raw.dkim_domains,
                raw.reason_code,
                raw.reason,
                raw.dkim_status,
                raw.dkim_detail,
                raw.parsed_at,
            )
            for raw in raws
        ],
        returning=True,
    )
    for raw, pk in zip(raws, ids, strict=True):
        raw.id = pk


@functools.cache
def _raw_inserter() -> Inserter:
    return Inserter(RawReport, _SETTLED_RAW_FIELDS, chunk=500)
