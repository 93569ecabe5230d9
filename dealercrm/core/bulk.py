"""Fast set-based writes of many rows: COPY on PostgreSQL, executemany elsewhere.

Used by the DMS import and the demo data generator. Values are written as
given: the caller has validated and converted them (dates as ``date``, money as
``Decimal`` or exact strings, missing values as ``None``).
"""

import csv
import io
import logging
import time
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from django.db import connection

logger = logging.getLogger(__name__)


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


_TEXT_SPECIALS = ("\\", "\t", "\n", "\r")


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return _copy_escape(value)
    return str(value)


def copy_columns(db, table: str, names: list[str], arrays: list[np.ndarray], *, free_text: set[str]) -> int:
    """PostgreSQL ``COPY … FROM STDIN`` (text format) of whole columns (numpy arrays, ``None`` for NULL).

    ``copy_rows`` formats row by row through the csv module;
    here each column is formatted at once: checked values are written as they
    are, NULL as ``\\N``, and only ``free_text`` columns (names, RO numbers…) are
    searched for a tab, newline or backslash to escape. About three times faster
    on the million-row visits file.
    """
    n = len(arrays[0]) if arrays else 0
    if n == 0:
        return 0
    texts = []
    for name, array in zip(names, arrays, strict=True):
        if array.dtype != object:
            texts.append(array.astype(str).tolist())
            continue
        null = pd.isna(array)
        present = array[~null]
        if name in free_text or set(map(type, present)) <= {str}:
            column = array.copy()
            joined = "\x00".join(present.tolist()) if name in free_text else ""
            if any(special in joined for special in _TEXT_SPECIALS):
                column[~null] = np.frompyfunc(_copy_escape, 1, 1)(present)
            column[null] = "\\N"
        else:
            column = np.frompyfunc(_copy_value, 1, 1)(array)
        texts.append(column.tolist())
    data = "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"
    started = time.perf_counter()
    qn = db.ops.quote_name
    with db.cursor() as cursor:
        cursor.copy_expert(f"COPY {qn(table)} ({', '.join(qn(c) for c in names)}) FROM STDIN", io.StringIO(data))
    logger.debug("COPY %s rows into %s: %.2f s", n, table, time.perf_counter() - started)
    return n
