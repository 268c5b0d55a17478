"""Bulk INSERTs from plain tuples, for the command-line ingest path.

Building a model instance and letting ``bulk_create`` compile it costs more than parsing
a small report (measured: about 0.1 ms per instance and as much again per row in the SQL
compiler), so bulk ingestion writes tuples. Values go through the backend's own adapters
where it needs them (JSON, dates, binary, UUID), so what is stored is exactly what the
ORM would store; the model's ``_meta`` names the columns.

Each backend gets its fastest bulk statement: ``COPY`` on PostgreSQL, one prepared
INSERT run by the driver's ``executemany`` on SQLite, multi-row ``INSERT`` elsewhere.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models

_PREPARED = (
    models.JSONField,
    models.DateField,  # also DateTimeField
    models.BinaryField,
    models.UUIDField,
)


class Inserter:
    """INSERT rows of ``fields`` (attribute names, e.g. ``report_id``) into ``model``.

    ``insert`` takes rows of Python values. A caller that wants to do the adapting
    before it takes a lock uses ``adapt_tail`` on the values after the first
    ``leading`` fields (keys known only at insert time, passed as they are), then
    ``new_keys`` and ``write`` inside its transaction.
    """

    def __init__(
        self, model: type[models.Model], fields: Sequence[str], chunk: int = 500, leading: int = 0
    ):
        self.fields = list(fields)
        meta = model._meta
        by_attname = {field.attname: field for field in meta.concrete_fields}
        quote = connection.ops.quote_name
        self.vendor = connection.vendor
        self.table = meta.db_table
        self.quoted_table = quote(meta.db_table)
        self.pk_column = meta.pk.column
        self.pk = quote(meta.pk.column)
        self.columns = [by_attname[name].column for name in self.fields]
        columns = ", ".join(quote(column) for column in self.columns)
        self.head = f"INSERT INTO {self.quoted_table} ({columns}) VALUES "
        self.row_sql = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        marks = ", ".join(["?"] * len(self.fields))
        self.sqlite_sql = f"INSERT INTO {self.quoted_table} ({columns}) VALUES ({marks})"
        self.sqlite_keyed_sql = (
            f"INSERT INTO {self.quoted_table} ({self.pk}, {columns}) VALUES (?, {marks})"
        )
        preps = {
            index: _prep(by_attname[name])
            for index, name in enumerate(self.fields)
            if isinstance(by_attname[name], _PREPARED)
        }
        if any(index < leading for index in preps):
            raise ValueError("leading fields are passed as they are: keys, not adapted values")
        self.adapt = _row_adapter(len(self.fields), preps, keyed=False)
        self.adapt_keyed = _row_adapter(len(self.fields), preps, keyed=True)
        tail = {index - leading: prep for index, prep in preps.items()}
        self.adapt_tail = _row_adapter(len(self.fields) - leading, tail, keyed=False)
        # SQLite allows 32,766 parameters per statement; stay well inside it.
        self.chunk = max(1, min(chunk, 30_000 // len(self.fields)))

    def insert(self, rows: Sequence[Sequence[Any]], *, returning: bool = False) -> list[int]:
        """Insert ``rows``; with ``returning`` the new primary keys, in row order."""
        if not rows:
            return []
        if self.vendor not in ("sqlite", "postgresql"):
            return self._multi_row(rows, returning)
        if not returning:
            self.write(map(self.adapt, rows), keyed=False)
            return []
        keys = self.new_keys(len(rows))
        self.write(map(self.adapt_keyed, keys, rows), keyed=True)
        return keys

    def new_keys(self, count: int) -> list[int]:
        """``count`` primary keys for ``write(..., keyed=True)``, in a transaction.

        PostgreSQL draws them from the table's sequence. SQLite has none: the caller's
        transaction holds its only write lock (BEGIN IMMEDIATE), so nothing else can
        take keys past the largest one meanwhile, and an explicit key moves the
        AUTOINCREMENT counter past itself.
        """
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # the driver's cursor: no placeholder rewriting
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [self.table, self.pk_column, count],
                )
                return [row[0] for row in cursor.fetchall()]
            if self.vendor != "sqlite":
                raise NotImplementedError(f"no bulk keys on {self.vendor}")
            if not connection.in_atomic_block:
                raise RuntimeError("SQLite keys are only safe to assign inside a transaction")
            # AUTOINCREMENT never reuses a key: past both the counter and the largest key.
            cursor.execute(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),"
                f" coalesce((SELECT max({self.pk}) FROM {self.quoted_table}), 0))",
                (self.table,),
            )
            first = cursor.fetchone()[0] + 1
            return list(range(first, first + count))

    def write(self, rows: Iterable[Sequence[Any]], *, keyed: bool) -> None:
        """Write adapted rows, each starting with its key when ``keyed``.

        PostgreSQL: ``COPY``. psycopg parses a multi-row INSERT's thousands of
        placeholders on every execute (its cache skips long statements): measured, that
        parse was 40% of a bulk ingest, where COPY takes the rows as they are, in one
        round trip per table and batch. SQLite: one prepared single-row INSERT stepped
        once per row inside the sqlite3 module; through Django's wrapper every "%s" of a
        multi-row statement was rewritten into "?" by a regex (measured: 0.2 s per
        10,000 reports), and SQLite compiled each long statement afresh.
        """
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # the driver's: Django's wrapper has no copy()
            if self.vendor == "sqlite":
                cursor.executemany(self.sqlite_keyed_sql if keyed else self.sqlite_sql, rows)
                return
            if self.vendor != "postgresql":
                raise NotImplementedError(f"no bulk writes on {self.vendor}")
            quote = connection.ops.quote_name
            columns = [self.pk_column, *self.columns] if keyed else self.columns
            names = ", ".join(quote(column) for column in columns)
            with cursor.copy(f"COPY {self.quoted_table} ({names}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)

    def _multi_row(self, rows: Sequence[Sequence[Any]], returning: bool) -> list[int]:
        ids: list[int] = []
        with connection.cursor() as cursor:
            for start in range(0, len(rows), self.chunk):
                chunk = [self.adapt(row) for row in rows[start : start + self.chunk]]
                sql = self.head + ", ".join([self.row_sql] * len(chunk))
                params = [value for row in chunk for value in row]
                if returning:
                    # Multi-row RETURNING comes back in VALUES order, which Django's own
                    # bulk_create relies on as well.
                    cursor.execute(sql + f" RETURNING {self.pk}", params)
                    ids.extend(row[0] for row in cursor.fetchall())
                else:
                    cursor.execute(sql, params)
        return ids


@contextmanager
def bulk_load() -> Iterator[None]:
    """Make a run of bulk transactions cheaper to commit, durable all together at the end.

    Commit by commit durability is what makes a bulk load slow, and a command reading
    files can have it once, for everything, when it finishes: a crash midway loses at
    most the last batches, never corrupts, and the files are still there to run again
    (reports already stored are recognised as duplicates).

    - SQLite: the write-ahead log is copied into the database once at the end, not at
      every commit that finds it past 1,000 pages; each automatic checkpoint copied
      back, and synced, pages the next batch dirtied again (measured: commits took
      40-60 ms instead of 3 ms, 0.6 s per 10,000 reports). The checkpoint at the end is
      PASSIVE: it never waits for readers, and the next automatic one takes the rest.
    - PostgreSQL: commits are asynchronous (``synchronous_commit = off``), so a batch
      does not wait for its WAL to reach the disk (measured: about 50 ms per commit,
      1 s per 10,000 reports); then one synchronous commit that writes a commit record
      flushes the WAL up to it, and so every batch before it, before this returns.
    """
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        yield
        return
    setting = "wal_autocheckpoint" if vendor == "sqlite" else "synchronous_commit"
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("PRAGMA wal_autocheckpoint")
            (before,) = cursor.fetchone()
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
        else:
            cursor.execute("SHOW synchronous_commit")
            (before,) = cursor.fetchone()
            cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if vendor == "sqlite":
                cursor.execute(f"PRAGMA {setting} = {int(before)}")
                if not connection.in_atomic_block:
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            else:
                cursor.execute("SELECT set_config(%s, %s, false)", [setting, before])
                # In autocommit this is a transaction of its own, committed synchronously.
                cursor.execute("SELECT txid_current()")


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run a bulk load with the garbage collector's old objects frozen and its young
    generation larger.

    A batch holds hundreds of parsed reports, so the collector's allocation counts trip
    over and over, and every full pass walked Django's and the interpreter's objects
    from start-up as well (measured: 0.3-0.5 s per 10,000 reports, as much as parsing
    them; with this, the same as with the collector off). Cycles are still collected,
    only less often; the settings are process-wide, so this is for commands, and it
    restores them.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _row_adapter(width: int, preps: dict[int, Callable[[Any], Any]], *, keyed: bool) -> Callable:
    """A function giving a row's values as the driver takes them, one call per row.

    Generated (as ``collections.namedtuple`` generates its methods) so a row costs one
    call and one tuple, not a copy, a loop and an index per adapted column.
    """
    values = ", ".join(
        f"p{index}(r[{index}])" if index in preps else f"r[{index}]" for index in range(width)
    )
    head = "lambda k, r: (k, " if keyed else "lambda r: ("
    namespace = {f"p{index}": prep for index, prep in preps.items()}
    # The source holds only column positions and fixed names: no outside text.
    return eval(head + values + ",)", namespace)


def _prep(field: models.Field) -> Callable[[Any], Any]:
    # The backend's own adapters, without the per-value field machinery around them
    # (measured: a third of the bulk path's time went to get_db_prep_save).
    ops = connection.ops
    sqlite = connection.vendor == "sqlite"
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        if encoder is None and connection.vendor in ("sqlite", "postgresql"):
            # SQLite stores the text; PostgreSQL's COPY sends text the server parses as
            # jsonb, where psycopg's Jsonb wrapper cost a call and a dumper per value.
            return _json_text
        return lambda value: ops.adapt_json_value(value, encoder)
    if isinstance(field, models.DateTimeField):
        if sqlite and connection.timezone_name == "UTC":
            return _sqlite_utc_datetime
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.UUIDField) and not connection.features.has_native_uuid_field:
        return _uuid_hex
    if isinstance(field, models.BinaryField | models.UUIDField):
        return _unchanged
    return lambda value: field.get_db_prep_save(value, connection)


def _unchanged(value: Any) -> Any:
    return value


def _uuid_hex(value: Any) -> str | None:
    return None if value is None else value.hex


# The SQLite adapters below give exactly what the backend's own give, in a fraction of
# the time (measured: adapt_datetimefield_value alone was 10% of a bulk ingest, for its
# is_aware / make_naive round trip through zoneinfo); anything unusual goes to them.
def _json_text(value: Any) -> str:
    # Most JSON values in bulk rows are an empty list or dict (headers, warnings).
    if not value and type(value) in (list, dict):
        return "[]" if type(value) is list else "{}"
    return json.dumps(value)


def _sqlite_utc_datetime(value: datetime | None) -> str | None:
    # str() of the naive datetime, which is what the backend stores, is the ISO form
    # with a space; for UTC that is isoformat(" ") less its "+00:00", without building
    # the naive copy.
    if value is not None and value.tzinfo is UTC:
        return value.isoformat(" ")[:-6]
    return connection.ops.adapt_datetimefield_value(value)
