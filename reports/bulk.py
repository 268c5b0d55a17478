"""Multi-row INSERTs from plain tuples, for the bulk ingest path.

Building a model instance and letting ``bulk_create`` compile it costs more than parsing
a small report (measured: about 0.1 ms per instance and as much again per row in the SQL
compiler), so bulk ingestion writes tuples. Values go through each field's
``get_db_prep_save`` where the backend needs it (JSON, dates, binary, UUID), so what is
stored is exactly what the ORM would store; the model's ``_meta`` names the columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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
    """INSERT rows of ``fields`` (attribute names, e.g. ``report_id``) into ``model``."""

    def __init__(self, model: type[models.Model], fields: Sequence[str], chunk: int = 500):
        self.fields = list(fields)
        meta = model._meta
        by_attname = {field.attname: field for field in meta.concrete_fields}
        quote = connection.ops.quote_name
        columns = ", ".join(quote(by_attname[name].column) for name in self.fields)
        self.head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
        self.row_sql = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        self.pk = quote(meta.pk.column)
        self.table = meta.db_table
        self.pk_column = meta.pk.column
        self.columns = [by_attname[name].column for name in self.fields]
        self.preps: list[tuple[int, Callable[[Any], Any]]] = [
            (index, _prep(by_attname[name]))
            for index, name in enumerate(self.fields)
            if isinstance(by_attname[name], _PREPARED)
        ]
        # SQLite allows 32,766 parameters per statement; stay well inside it.
        self.chunk = max(1, min(chunk, 30_000 // len(self.fields)))

    def insert(self, rows: Sequence[Sequence[Any]], *, returning: bool = False) -> list[int]:
        """Insert ``rows``; with ``returning`` the new primary keys, in row order."""
        if not rows:
            return []
        if connection.vendor == "postgresql":
            return self._copy(rows, returning)
        ids: list[int] = []
        with connection.cursor() as cursor:
            for start in range(0, len(rows), self.chunk):
                chunk = [self._prepare(row) for row in rows[start : start + self.chunk]]
                sql = self.head + ", ".join([self.row_sql] * len(chunk))
                params = [value for row in chunk for value in row]
                if returning:
                    # Both backends return multi-row RETURNING in VALUES order, which
                    # Django's own bulk_create relies on as well.
                    cursor.execute(sql + f" RETURNING {self.pk}", params)
                    ids.extend(row[0] for row in cursor.fetchall())
                else:
                    cursor.execute(sql, params)
        return ids

    def _copy(self, rows: Sequence[Sequence[Any]], returning: bool) -> list[int]:
        # PostgreSQL: COPY, with the keys drawn from the table's sequence first when the
        # caller needs them. psycopg parses a multi-row INSERT's thousands of
        # placeholders on every execute (its cache skips long statements): measured, that
        # parse was 40% of a bulk ingest on PostgreSQL, where COPY takes the rows as they
        # are, in one round trip per table and batch.
        quote = connection.ops.quote_name
        ids: list[int] = []
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # the psycopg cursor: Django's wrapper has no copy()
            columns = self.columns
            if returning:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [self.table, self.pk_column, len(rows)],
                )
                ids = [row[0] for row in cursor.fetchall()]
                columns = [self.pk_column, *columns]
            names = ", ".join(quote(column) for column in columns)
            with cursor.copy(f"COPY {quote(self.table)} ({names}) FROM STDIN") as copy:
                if returning:
                    for pk, row in zip(ids, rows, strict=True):
                        copy.write_row((pk, *self._prepare(row)))
                else:
                    for row in rows:
                        copy.write_row(self._prepare(row))
        return ids

    def _prepare(self, row: Sequence[Any]) -> Sequence[Any]:
        if not self.preps:
            return row
        values = list(row)
        for index, prep in self.preps:
            values[index] = prep(values[index])
        return values


def _prep(field: models.Field) -> Callable[[Any], Any]:
    # The backend's own adapters, without the per-value field machinery around them
    # (measured: a third of the bulk path's time went to get_db_prep_save).
    ops = connection.ops
    sqlite = connection.vendor == "sqlite"
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        if sqlite and encoder is None:
            return _sqlite_json
        return lambda value: ops.adapt_json_value(value, encoder)
    if isinstance(field, models.DateTimeField):
        if sqlite and connection.timezone_name == "UTC":
            return _sqlite_utc_datetime
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.UUIDField) and not connection.features.has_native_uuid_field:
        return lambda value: value.hex
    if isinstance(field, models.BinaryField | models.UUIDField):
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


# The SQLite adapters below give exactly what the backend's own give, in a fraction of
# the time (measured: adapt_datetimefield_value alone was 10% of a bulk ingest, for its
# is_aware / make_naive round trip through zoneinfo); anything unusual goes to them.
def _sqlite_json(value: Any) -> str:
    # Most JSON values in bulk rows are an empty list or dict (headers, warnings).
    if not value and type(value) in (list, dict):
        return "[]" if type(value) is list else "{}"
    return json.dumps(value)


def _sqlite_utc_datetime(value: datetime | None) -> str | None:
    if value is not None and value.tzinfo is UTC:
        return str(value.replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value(value)
