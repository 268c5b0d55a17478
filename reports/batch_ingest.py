"""Batched TLSRPT ingest: many reports stored and parsed per transaction.

The command-line and re-parse paths. ``ingest_many`` decodes and parses a batch in
memory, then writes its raw rows (already settled) and their Report / PolicyResult /
FailureDetail rows in one transaction; ``store_many`` + ``parse_many`` serve re-parsing
of rows already stored. The one-report path every receiver uses is ``reports.ingest``.
"""

from __future__ import annotations

import functools
import json
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


# Key columns come first: they are known only inside the transaction (see ``_Rows``).
_REPORT_FIELDS = [
    "raw_id",
    "uuid",
    "organization_id",
    "domain_id",
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
        Inserter(Report, _REPORT_FIELDS, leading=1),
        Inserter(PolicyResult, _POLICY_FIELDS, leading=1),
        Inserter(FailureDetail, _FAILURE_FIELDS, chunk=2000, leading=2),
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
    outcomes, counts, pending = _pending(prepared)
    existing = _existing_hashes(matcher.organization_id, [item[-1] for item in pending])
    chosen = _select(pending, existing)
    _Rows(chosen, matcher).insert()
    for outcome in outcomes:
        _settle(outcome, counts[id(outcome)])
    _save_settled([outcome.raw for outcome in outcomes])
    return outcomes


# (outcome, document index, parsed report, submitter key, report-id, dedup hash)
_Pending = tuple[ParseOutcome, int, ParsedReport, str, str, str]


def _pending(
    prepared: list[tuple[RawReport, list[tuple[int, ParsedReport]], list[ReportRejected], int]],
) -> tuple[list[ParseOutcome], dict[int, int], list[_Pending]]:
    """The outcomes, documents per outcome (by ``id()``), and every parsed report."""
    outcomes: list[ParseOutcome] = []
    pending: list[_Pending] = []
    counts: dict[int, int] = {}
    for raw, parsed, rejections, documents in prepared:
        outcome = ParseOutcome(raw=raw, rejections=rejections)
        counts[id(outcome)] = documents
        outcomes.append(outcome)
        for index, report in parsed:
            submitter_key, report_id = dedup_key(report)
            dedup_hash = Report.make_dedup_hash(submitter_key, report_id)
            pending.append((outcome, index, report, submitter_key, report_id, dedup_hash))
    return outcomes, counts, pending


def _select(pending: list[_Pending], existing: set[str]) -> list[_Pending]:
    """The reports to insert: those whose key is neither in ``existing`` nor earlier in
    the batch; the others are recorded as duplicates on their outcome."""
    seen = set(existing)
    chosen = []
    for item in pending:
        outcome, _, parsed, _, report_id, dedup_hash = item
        if dedup_hash in seen:
            outcome.duplicates.append(
                StoredReport(
                    0, None, parsed.start_datetime.date(), report_id, parsed.organization_name
                )
            )
            continue
        seen.add(dedup_hash)
        chosen.append(item)
    return chosen


class _Rows:
    """The Report / PolicyResult / FailureDetail rows of the chosen reports, adapted for
    the database when built (which can happen before the transaction); ``insert``
    only draws the keys, puts them in front, and writes (three statements in all)."""

    def __init__(self, chosen: list[_Pending], matcher: DomainMatcher) -> None:
        report_inserter, policy_inserter, failure_inserter = _inserters()
        now = timezone.now()
        organization_id = matcher.organization_id
        self.chosen = chosen
        self.reports: list[tuple] = []
        self.domains: list[tuple[int | None, date]] = []
        self.policies: list[tuple[int, tuple]] = []  # (index into reports, adapted row)
        self.failures: list[tuple[int, tuple]] = []  # (index into policies, adapted row)
        for number, (_, index, parsed, submitter_key, report_id, dedup_hash) in enumerate(chosen):
            policy_domain = (
                normalise_name(parsed.policies[0].policy_domain) if parsed.policies else ""
            )
            domain = matcher(policy_domain) if policy_domain else None
            domain_id = domain.id if domain else None
            day = parsed.start_datetime.date()
            self.domains.append((domain_id, day))
            self.reports.append(
                report_inserter.adapt_tail(
                    (
                        time_ordered_uuid(),
                        organization_id,
                        domain_id,
                        index,
                        parsed.organization_name,
                        submitter_key,
                        dedup_hash,
                        parsed.contact_info or "",
                        report_id,
                        parsed.start_datetime,
                        parsed.end_datetime,
                        day,
                        policy_domain,
                        parsed.total_successful,
                        parsed.total_failure,
                        parsed.failure_detail_count,
                        parsed.warnings,
                        now,
                    )
                )
            )
            for policy in parsed.policies:
                name = normalise_name(policy.policy_domain)
                if name == policy_domain:
                    policy_domain_id = domain_id
                else:
                    other = matcher(name)
                    policy_domain_id = other.id if other else None
                policy_row = (organization_id, policy_domain_id, day)
                self.policies.append(
                    (
                        number,
                        policy_inserter.adapt_tail(
                            (
                                *policy_row,
                                policy.policy_type[:64],
                                name,
                                policy.policy_strings,
                                policy_fingerprint(policy.policy_strings),
                                policy.mx_hosts,
                                policy.total_successful,
                                policy.total_failure,
                            )
                        ),
                    )
                )
                policy_number = len(self.policies) - 1
                self.failures.extend(
                    (
                        policy_number,
                        failure_inserter.adapt_tail(
                            (
                                *policy_row,
                                f.result_type[:200],
                                f.sending_mta_ip or "",
                                f.receiving_mx_hostname or "",
                                f.receiving_mx_helo or "",
                                f.receiving_ip or "",
                                f.failed_session_count,
                                f.failure_reason_code or "",
                                f.additional_information or "",
                            )
                        ),
                    )
                    for f in policy.failures
                )

    def insert(self) -> None:
        """Write the rows (the raw rows must have their ids); records what was created."""
        if not self.chosen:
            return
        report_inserter, policy_inserter, failure_inserter = _inserters()
        report_keys = report_inserter.new_keys(len(self.reports))
        report_inserter.write(
            (
                (pk, item[0].raw.id, *row)
                for pk, item, row in zip(report_keys, self.chosen, self.reports, strict=True)
            ),
            keyed=True,
        )
        if self.policies:
            policy_keys = policy_inserter.new_keys(len(self.policies))
            policy_inserter.write(
                (
                    (pk, report_keys[number], *row)
                    for pk, (number, row) in zip(policy_keys, self.policies, strict=True)
                ),
                keyed=True,
            )
            if self.failures:
                failure_inserter.write(
                    (
                        (policy_keys[number], report_keys[self.policies[number][0]], *row)
                        for number, row in self.failures
                    ),
                    keyed=False,
                )
        for pk, item, (domain_id, day) in zip(report_keys, self.chosen, self.domains, strict=True):
            outcome, _, parsed, _, report_id, _ = item
            stored = StoredReport(pk, domain_id, day, report_id, parsed.organization_name)
            outcome.created.append(stored)
            _touch(outcome, stored)


def _existing_hashes(organization_id: int, hashes: list[str]) -> set[str]:
    """The ones of ``hashes`` already stored for the organization.

    The list goes in as one parameter (an array on PostgreSQL, JSON on SQLite): with a
    placeholder per hash the ORM prepared each one, and psycopg then parsed the long
    statement again on every execute (measured: 0.15 s per 10,000 reports).
    """
    if not hashes:
        return set()
    table = connection.ops.quote_name(Report._meta.db_table)
    sql = f"SELECT dedup_hash FROM {table} WHERE organization_id = %s AND dedup_hash "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql + "= ANY(%s)", [organization_id, hashes])
        elif connection.vendor == "sqlite":
            cursor.execute(
                sql + "IN (SELECT value FROM json_each(%s))", [organization_id, json.dumps(hashes)]
            )
        else:
            found: set[str] = set()
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                cursor.execute(
                    sql + f"IN ({', '.join(['%s'] * len(chunk))})", [organization_id, *chunk]
                )
                found.update(row[0] for row in cursor.fetchall())
            return found
        return {row[0] for row in cursor.fetchall()}


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
            outcomes.extend(_write_new_batch(batch, matcher, write_lock))
            batch, size = [], 0
    if batch:
        outcomes.extend(_write_new_batch(batch, matcher, write_lock))
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


def _write_new_batch(
    batch: list[tuple], matcher: DomainMatcher, write_lock: AbstractContextManager
) -> list[ParseOutcome]:
    prepared = [item for item in batch if item[1] is not None]
    crashed = [item[0] for item in batch if item[1] is None]
    try:
        # Everything but the keys is settled and adapted before the write lock, as if no
        # report were stored yet; the rare batch holding a stored one is planned again.
        plan = _NewBatch(prepared, crashed, matcher, existing=set())
        with write_lock, transaction.atomic():
            existing = _existing_hashes(matcher.organization_id, plan.hashes)
            if existing:
                plan = _NewBatch(prepared, crashed, matcher, existing)
            plan.insert()
            return plan.outcomes
    except IntegrityError:
        log.info("a batch raced another writer; storing it first, then parsing row by row")
    except Exception:
        log.exception("writing a batch failed; storing it first, then parsing row by row")
    raws = [item[0] for item in batch]
    items = ((raw.filename, bytes(raw.data), raw.kind) for raw in raws)
    organization = Organization(id=matcher.organization_id)
    with write_lock:
        ids = store_many(organization=organization, items=items, source=raws[0].source)
        return _parse_one_by_one(ids, matcher)


class _NewBatch:
    """A batch of new inputs ready to write: raw rows settled with their parse, and the
    rows of the reports chosen for insertion, all adapted for the database."""

    def __init__(
        self,
        prepared: list[tuple],
        crashed: list[NewRaw],
        matcher: DomainMatcher,
        existing: set[str],
    ) -> None:
        self.outcomes, counts, pending = _pending(prepared)
        self.hashes = [item[-1] for item in pending]
        chosen = _select(pending, existing)
        creating = {id(item[0]) for item in chosen}
        for outcome in self.outcomes:
            _settle(outcome, counts[id(outcome)], created=id(outcome) in creating)
        self.raws = [outcome.raw for outcome in self.outcomes] + crashed
        inserter = _raw_inserter()
        self.raw_rows = [
            inserter.adapt(
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
            )
            for raw in self.raws
        ]
        self.rows = _Rows(chosen, matcher)

    def insert(self) -> None:
        """Write the raw rows (setting each one's ``id``), then the reports' rows."""
        inserter = _raw_inserter()
        keys = inserter.new_keys(len(self.raw_rows))
        inserter.write(
            ((pk, *row) for pk, row in zip(keys, self.raw_rows, strict=True)), keyed=True
        )
        for raw, pk in zip(self.raws, keys, strict=True):
            raw.id = pk
        self.rows.insert()


@functools.cache
def _raw_inserter() -> Inserter:
    return Inserter(RawReport, _SETTLED_RAW_FIELDS, chunk=500)
