"""Ingest TLSRPT reports from files: JSON, gzip, zip, .eml messages, mbox files, folders."""

from __future__ import annotations

import mailbox
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from monitoring.models import Organization
from reports import batch_ingest, ingest
from reports.bulk import fewer_collections
from reports.models import RawKind, RawStatus, Source

# In a folder only these are taken (a README beside the reports is not one); a file
# named on the command line is always taken.
FOLDER_SUFFIXES = frozenset({".json", ".gz", ".zip", ".eml", ".msg", ".mbox", ".tlsrpt"})
MIN_FILES_PER_WORKER = 100
FILES_PER_CLAIM = 20


def in_transaction() -> bool:
    """True when the caller holds a transaction open on any database connection."""
    return any(conn.in_atomic_block for conn in connections.all(initialized_only=True))


def expand(path: Path) -> list[str]:
    """The files ``path`` stands for: itself, or the report files under a folder.

    Names, not Paths: building a Path parses it, which for a folder of 10,000 reports
    cost more than listing it."""
    if not path.is_dir():
        return [str(path)]
    # Directory entries already say what is a file, where rglob + is_file stats every
    # one (measured: 0.45 s for 10,000 files, a tenth of a whole parallel ingest). As
    # with rglob, symlinked folders are not entered; symlinked files are taken.
    found: list[str] = []
    folders = [str(path)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif (
                    not entry.name.startswith(".")
                    and os.path.splitext(entry.name)[1].lower() in FOLDER_SUFFIXES
                    and entry.is_file()
                ):
                    found.append(entry.path)
    # Sorted as Path.parts would sort them.
    return sorted(found, key=lambda name: name.split(os.sep))


def iter_inputs(file: str) -> Iterator[tuple[str, bytes, str | None]]:
    """(name, bytes, kind) for each input in one file (from ``expand``); an mbox gives
    one per message."""
    name = os.path.basename(file)
    if name.lower().endswith(".mbox"):
        box = mailbox.mbox(file, create=False)
        try:
            for index, key in enumerate(box.keys()):
                yield f"{name}#{index + 1}", box.get_bytes(key), RawKind.MESSAGE
        finally:
            box.close()
    else:
        with open(file, "rb") as handle:
            yield name, handle.read(), None


@dataclass
class Summary:
    """What one worker did, in picklable form."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RawStatus.values, 0))
    inputs: int = 0
    new_reports: int = 0
    lines: list[str] = field(default_factory=list)
    touched: dict[int, set[date]] = field(default_factory=dict)
    created: list[batch_ingest.StoredReport] = field(default_factory=list)


def ingest_files(
    organization_id: int,
    files: Iterable[str],
    verbose: bool,
    write_lock: AbstractContextManager | None = None,
) -> Summary:
    """Store and parse ``files`` for one organization (all, or one worker's claims)."""
    items = (item for file in files for item in iter_inputs(file))
    outcomes, inputs = batch_ingest.ingest_many(
        organization_id=organization_id, items=items, source=Source.CLI, write_lock=write_lock
    )
    summary = Summary(inputs=inputs)
    for outcome in outcomes:
        raw = outcome.raw
        summary.counts[raw.status] += 1
        summary.new_reports += len(outcome.created)
        if raw.status in (RawStatus.REJECTED, RawStatus.ERROR) or verbose:
            detail = f": {raw.reason_code}: {raw.reason}" if raw.reason else ""
            summary.lines.append(f"{raw.filename}: {raw.status}{detail}")
        for domain_id, days in outcome.touched.items():
            summary.touched.setdefault(domain_id, set()).update(days)
        summary.created.extend(
            batch_ingest.StoredReport(r.id, r.domain_id, r.day, r.report_id, r.organization_name)
            for r in outcome.created
        )
    summary.counts[RawStatus.ERROR] += summary.inputs - len(outcomes)
    return summary


@dataclass
class SharedWork:
    """The file list and a shared cursor into it, inherited by forked workers.

    Workers claim a few files at a time, so one that drew the slow inputs (mail, large
    reports) does not finish long after the others: a fixed split measured 0.67 s of
    parsing in one of two workers against 0.28 s in the other.
    """

    files: list[str]
    cursor: Any  # multiprocessing.Value("q"): the index of the next unclaimed file
    write_lock: AbstractContextManager | None  # for SQLite's single writer; None otherwise

    def claims(self) -> Iterator[str]:
        while True:
            with self.cursor.get_lock():
                start = self.cursor.value
                self.cursor.value = start + FILES_PER_CLAIM
            if start >= len(self.files):
                return
            yield from self.files[start : start + FILES_PER_CLAIM]


_shared: SharedWork | None = None  # set in each forked worker by _start_worker


def _start_worker(work: SharedWork) -> None:
    global _shared
    _shared = work


def _worker(args: tuple[int, bool]) -> Summary:
    organization_id, verbose = args
    assert _shared is not None
    try:
        return ingest_files(organization_id, _shared.claims(), verbose, _shared.write_lock)
    finally:
        connections.close_all()


class Command(BaseCommand):
    help = "Store and parse TLSRPT reports from files, folders, .eml and .mbox files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument(
            "--queue", action="store_true", help="queue the parse for a worker instead"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="processes that store and parse in parallel (default 0: one per CPU)",
        )

    def handle(self, *args, **options) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['org']!r}")
        for path in options["paths"]:
            if not path.exists():
                raise CommandError(f"{path} does not exist")
        files = [file for path in options["paths"] for file in expand(path)]
        if options["queue"]:
            count = 0
            for file in files:
                for name, data, kind in iter_inputs(file):
                    ingest.store_raw(
                        organization=organization,
                        data=data,
                        source=Source.CLI,
                        filename=name,
                        kind=kind,
                    )
                    count += 1
            self.stdout.write(f"stored {count} input(s); parsing is queued")
            return
        with fewer_collections():  # inherited by the forked workers
            summaries = self._ingest(organization, files, options)
        self._report(summaries)

    def _ingest(self, organization: Organization, files: list[str], options: dict) -> list[Summary]:
        workers = options["workers"] or os.cpu_count() or 1
        verbose = options["verbosity"] > 1
        # Parallel by default: decoding and parsing are CPU-bound and each worker writes
        # in its own batches (measured: 2 processes on 2 cores ~1.5x one). Not for a few
        # files (forking and connecting cost more than they save), nor inside a caller's
        # transaction, which the workers could not see and whose connection the fork
        # must not share.
        if workers > 1 and len(files) >= MIN_FILES_PER_WORKER * 2 and not in_transaction():
            workers = min(workers, len(files) // MIN_FILES_PER_WORKER)
            # Each worker stores and parses what it claims, with its own connection; the
            # parent's must not be shared across fork. Fork also hands every worker the
            # file list, the cursor and the lock without pickling them.
            sqlite = connections["default"].vendor == "sqlite"
            connections.close_all()
            context = multiprocessing.get_context("fork")
            work = SharedWork(files, context.Value("q", 0), context.Lock() if sqlite else None)
            with context.Pool(workers, initializer=_start_worker, initargs=(work,)) as pool:
                summaries = pool.map(_worker, [(organization.id, verbose)] * workers, chunksize=1)
        else:
            summaries = [ingest_files(organization.id, files, verbose)]
        return summaries

    def _report(self, summaries: list[Summary]) -> None:
        total = Summary()
        for summary in summaries:
            total.inputs += summary.inputs
            total.new_reports += summary.new_reports
            total.lines.extend(summary.lines)
            total.created.extend(summary.created)
            for status, count in summary.counts.items():
                total.counts[status] += count
            for domain_id, days in summary.touched.items():
                total.touched.setdefault(domain_id, set()).update(days)
        if total.touched:
            # The dashboard's TLSRPT figures, then the alerts, as every other path does.
            ingest.after_ingest(total.touched, total.created)
        for line in sorted(total.lines):
            self.stdout.write(line)
        counts = total.counts
        self.stdout.write(
            f"{total.inputs} input(s): {counts['parsed']} parsed "
            f"({total.new_reports} new report(s)), {counts['duplicate']} duplicate, "
            f"{counts['rejected']} refused, {counts['error']} error"
        )
