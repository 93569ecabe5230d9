"""Loading a large batch of new rows into big tables on PostgreSQL.

Inserting a million repair orders row by row into ``customers_servicevisit``
costs mostly in maintaining its ten indexes and firing its foreign-key triggers
(about 25 µs a row, measured), more than the whole import may take. When an
import adds many rows, and at least half as many as the table already holds,
the import instead, inside its own transaction:

* drops the table's indexes but the primary key and builds them again after
  the insert (a sorted build is several times cheaper than a million single
  inserts); unique constraints are added back as constraints, which checks the
  whole table again, so a duplicate can never slip in (the import also never
  inserts one: it inserts only keys the table does not hold);
* when the database role may (a superuser, or ``GRANT SET ON PARAMETER
  session_replication_role`` on PostgreSQL 15+), switches the foreign-key
  triggers off for that one statement (``SET LOCAL session_replication_role =
  replica``). Integrity does not rest on them then: every referenced row comes
  from a join in the same statement, and the caller locks the referenced rows
  ``FOR KEY SHARE`` first, exactly as the triggers would, so none can be deleted
  before the import commits.

Both steps are optional and transactional: when the role may not, or another
session holds the table, the import goes on the ordinary way; a rollback
restores everything. While the indexes are rebuilt, other sessions wait to read
the table: this is meant for large loads (an initial migration from the DMS),
and ``DMS_IMPORT_BULK_MIN_ROWS`` (0 turns it off) sets how large.
"""

import logging
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

DEFAULT_MIN_ROWS = 100_000
SHARE_OF_TABLE = 0.5  # rebuilding pays when the batch is at least half the table's size
LOCK_TIMEOUT = "5s"  # do not queue behind long readers: import the ordinary way instead


def min_rows() -> int:
    return getattr(settings, "DMS_IMPORT_BULK_MIN_ROWS", DEFAULT_MIN_ROWS)


def worth_it(table: str, new_rows: int, *, share: float = SHARE_OF_TABLE) -> bool:
    """Whether writing ``new_rows`` into ``table`` is faster by rebuilding its indexes (at least ``share`` of it)."""
    threshold = min_rows()
    if connection.vendor != "postgresql" or not threshold or new_rows < threshold:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
        (existing,) = cursor.fetchone()
    return new_rows >= share * existing


@contextmanager
def hash_joins(enabled: bool = True):
    """Statements over a large staging table: hash joins, never a nested loop of a million index probes.

    PostgreSQL's estimates for a freshly loaded staging table are rough (an
    anti-join estimated at one row, say), and a nested loop chosen on such an
    estimate costs seconds. Off on other databases or when ``enabled`` is false.
    """
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = DEFAULT")


def _attempt(sql: str, params=None) -> bool:
    """Run ``sql`` in a savepoint; False (and nothing changed) if the database refuses it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        logger.info("bulk load: %s refused (%s); going on the ordinary way", sql.split()[0:3], exc)
        return False
    return True


def _secondary_indexes(table: str) -> list[tuple[str, str, str]]:
    """(drop statement, re-create statement, name) of every index but the primary key's.

    A unique constraint is dropped and added back as a constraint (adding it
    checks the whole table again, so a duplicate can never slip in).
    """
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname, pg_get_constraintdef(con.oid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype = 'u'
               WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND i.indisvalid
               ORDER BY c.relname""",
            [table],
        )
        rows = cursor.fetchall()
    statements = []
    for index, index_definition, constraint, constraint_definition in rows:
        if constraint:
            statements.append(
                (
                    f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(constraint)}",
                    f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(constraint)} {constraint_definition}",
                    constraint,
                )
            )
        else:
            statements.append((f"DROP INDEX {qn(index)}", index_definition, index))
    return statements


@contextmanager
def bulk_load(tables: list[str], *, lock_statements: list[tuple[str, dict]]):
    """Inside the current transaction: insert into ``tables`` without per-row index and trigger work.

    ``lock_statements`` lock (``FOR KEY SHARE``) every row the inserts will
    reference; they run only if the foreign-key triggers are switched off.
    Yields whether the triggers are off.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    dropped: list[tuple[str, str, str]] = []
    for table in tables:
        indexes = _secondary_indexes(table)
        if indexes and _attempt("; ".join(drop for drop, _create, _name in indexes)):
            dropped.extend(indexes)
    triggers_off = _attempt("SET LOCAL session_replication_role = replica")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        if triggers_off:
            clock = time.perf_counter()
            for sql, params in lock_statements:
                cursor.execute(sql, params)
            logger.debug("bulk load: referenced rows locked in %.2f s", time.perf_counter() - clock)
    logger.debug("bulk load into %s: %d indexes dropped, triggers off: %s", tables, len(dropped), triggers_off)
    yield triggers_off
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if triggers_off:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _drop, create, name in dropped:
            clock = time.perf_counter()
            cursor.execute(create)
            logger.debug("bulk load: %s rebuilt in %.2f s", name, time.perf_counter() - clock)
        cursor.execute("SET LOCAL maintenance_work_mem = DEFAULT")
    logger.debug("bulk load: %d indexes rebuilt in %.2f s", len(dropped), time.perf_counter() - started)
