"""Re-encrypting stored personal data with the newest key (``manage.py rotate_phone_keys``).

Every column of an encrypted field (``EncryptedPhoneField``, ``EncryptedTextField``), in every model including
the history tables, is read in batches by primary key; the values not encrypted with the newest key of
``PHONE_ENCRYPTION_KEYS`` are re-encrypted (any key of the list opens them) and written back, one transaction
per batch. The keyed hashes do not change. A run cut short is simply run again: what is done is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, transaction

from . import crypto
from .fields import EncryptedPhoneField, EncryptedTextField

DEFAULT_BATCH = 2_000


@dataclass
class ColumnResult:
    table: str
    column: str
    read: int = 0
    rotated: int = 0


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, column) of every encrypted field of every installed model."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedPhoneField | EncryptedTextField):
                found.append((model._meta.db_table, model._meta.pk.column, field.column))
    return sorted(set(found))


def rotate_all(*, batch: int = DEFAULT_BATCH, progress: Callable[[ColumnResult], None] | None = None):
    """Re-encrypt every stored value not under the newest key; returns a ``ColumnResult`` per column."""
    qn = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    results = []
    for table, pk, column in encrypted_columns():
        result = ColumnResult(table, column)
        last = None
        while True:
            where = f"{qn(column)} IS NOT NULL AND {qn(column)} <> ''"
            params = []
            if last is not None:
                where += f" AND {qn(pk)} > %s"
                params.append(last)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} WHERE {where} "  # noqa: S608 (names from the models)
                    f"ORDER BY {qn(pk)} LIMIT %s{lock}",
                    [*params, batch],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                result.read += len(rows)
                updates = [(crypto.rotate(value), key) for key, value in rows if not crypto.is_current(value)]
                if updates:
                    cursor.executemany(
                        f"UPDATE {qn(table)} SET {qn(column)} = %s WHERE {qn(pk)} = %s",  # noqa: S608
                        updates,
                    )
                result.rotated += len(updates)
            if progress is not None:
                progress(result)
        results.append(result)
    return results
