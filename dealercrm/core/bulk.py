"""Fast set-based writes of many rows: COPY on PostgreSQL, executemany elsewhere.

Used by the DMS import and the demo data generator. Values are written as
given: the caller has validated and converted them (dates as ``date``, money as
``Decimal`` or exact strings, missing values as ``None``).
"""

import csv
import io
from collections.abc import Iterable, Sequence

from django.db import connection


def _csv_value(value):
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return value


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, chunk_rows: int = 200_000) -> int:
    """Insert ``rows`` into ``table`` (an existing table, temporary or not) and return how many were written.

    On PostgreSQL the rows stream through ``COPY … FROM STDIN`` in chunks, so
    memory stays flat; elsewhere they go through ``executemany``.
    """
    qn = connection.ops.quote_name
    column_sql = ", ".join(qn(c) for c in columns)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {qn(table)} ({column_sql}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            pending = 0
            for row in rows:
                writer.writerow([_csv_value(v) for v in row])
                pending += 1
                if pending >= chunk_rows:
                    buffer.seek(0)
                    cursor.copy_expert(sql, buffer)
                    written += pending
                    buffer, pending = io.StringIO(), 0
                    writer = csv.writer(buffer, lineterminator="\n")
            if pending:
                buffer.seek(0)
                cursor.copy_expert(sql, buffer)
                written += pending
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {qn(table)} ({column_sql}) VALUES ({placeholders})"  # noqa: S608 - names are quoted
            batch = []
            for row in rows:
                batch.append(tuple(row))
                if len(batch) >= 5_000:
                    cursor.executemany(sql, batch)
                    written += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                written += len(batch)
    return written
