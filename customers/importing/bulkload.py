"""Loading a large batch of new rows into big tables on PostgreSQL.

Inserting a million repair orders row by row into ``customers_servicevisit``
costs mostly in maintaining its ten indexes and firing its foreign-key triggers
(about 25 µs a row, measured), more than the whole import may take. When an
import run from the command line with ``manage.py import_dms --bulk`` (never
one started from the web: readers of the table wait while it runs) adds many
rows, and at least half as many as the table already holds, the import instead,
inside its own transaction (for the table and, when that pays too, its history
table):

* drops the table's non-unique indexes and builds them again at the end (a
  sorted build is several times cheaper than a million single inserts); the
  primary key and the unique constraints stay, so a duplicate is still refused;
* when the database role may (a superuser, or ``GRANT SET ON PARAMETER
  session_replication_role`` on PostgreSQL 15+), switches the foreign-key
  triggers off for this transaction's inserts (``SET LOCAL
  session_replication_role = replica``). Integrity does not rest on them then:
  every referenced row comes from a join in the inserting statement, and the
  caller locks the referenced rows ``FOR KEY SHARE`` first, exactly as the
  triggers would, so that none can be deleted before the import commits.

Both steps are optional and transactional: when the role may not, or another
session holds the table, the import goes on the ordinary way; a rollback
restores everything. While the indexes are missing, other sessions wait to read
the table until the import commits: this is meant for large loads (an initial
migration from the DMS). ``DMS_IMPORT_BULK_MIN_ROWS`` (0 turns it off) sets
how large.
"""

import logging
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

logger = logging.getLogger(__name__)

DEFAULT_MIN_ROWS = 100_000
SHARE_OF_TABLE = 0.5  # rebuilding pays when the batch is at least half the table's size
LOCK_TIMEOUT = "5s"  # do not queue behind long readers: import the ordinary way instead


def min_rows() -> int:
    return getattr(settings, "DMS_IMPORT_BULK_MIN_ROWS", DEFAULT_MIN_ROWS)


@contextmanager
def hash_joins(db, enabled: bool = True):
    """Statements over a large staging table: hash joins, never a nested loop of a million index probes.

    PostgreSQL's estimates for a freshly loaded staging table are rough (an
    anti-join estimated at one row, say), and a nested loop chosen on such an
    estimate costs seconds. Off on other databases or when ``enabled`` is false.
    """
    if not enabled or db.vendor != "postgresql":
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
    yield
    with db.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = DEFAULT")


class BulkLoad:
    """The bulk-load mode of one import transaction: ``start`` it, ``lock`` what each insert refers to, ``finish``."""

    def __init__(self, db):
        self.db = db
        self.active = False
        self.triggers_off = False
        self.dropped: list[tuple[str, str]] = []  # (index name, CREATE INDEX statement)

    def worth_it(self, table: str, new_rows: int, *, share: float = SHARE_OF_TABLE) -> bool:
        """Whether writing ``new_rows`` into ``table`` is faster by rebuilding its indexes."""
        threshold = min_rows()
        if self.db.vendor != "postgresql" or not threshold or new_rows < threshold:
            return False
        with self.db.cursor() as cursor:
            cursor.execute("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
            (existing,) = cursor.fetchone()
        return new_rows >= share * existing

    def _attempt(self, sql: str) -> bool:
        """Run ``sql`` in a savepoint; False (and nothing changed) if the database refuses it."""
        try:
            with transaction.atomic(using=self.db.alias), self.db.cursor() as cursor:
                cursor.execute(sql)
        except DatabaseError as exc:
            logger.info("bulk load: %s refused (%s); going on the ordinary way", sql[:60], exc)
            return False
        return True

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        with self.db.cursor() as cursor:
            cursor.execute(
                """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique AND i.indisvalid
                   ORDER BY c.relname""",
                [table],
            )
            return cursor.fetchall()

    def _check_deferred(self) -> None:
        """Run the foreign-key checks this transaction deferred so far (Django's are ``INITIALLY DEFERRED``):
        PostgreSQL builds no index on a table with pending trigger events."""
        with self.db.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def start(self, tables: list[str]) -> None:
        """Drop the secondary indexes of ``tables`` and switch the triggers off, each if allowed."""
        qn = self.db.ops.quote_name
        self._check_deferred()
        with self.db.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        for table in tables:
            indexes = self._secondary_indexes(table)
            if indexes and self._attempt(f"DROP INDEX {', '.join(qn(name) for name, _create in indexes)}"):
                self.dropped.extend(indexes)
        self.triggers_off = self._attempt("SET LOCAL session_replication_role = replica")
        with self.db.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        self.active = True
        logger.debug(
            "bulk load into %s: %d indexes dropped, triggers off: %s", tables, len(self.dropped), self.triggers_off
        )

    def lock_tables(self, tables: list[str]) -> bool:
        """Hold ``tables`` in SHARE mode until commit (readable, not writable by others); False if not at once."""
        if not self.triggers_off:
            return True
        qn = self.db.ops.quote_name
        with self.db.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        held = self._attempt(f"LOCK TABLE {', '.join(qn(t) for t in tables)} IN SHARE MODE")
        with self.db.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        return held

    def lock(self, statements: list[tuple[str, dict]]) -> None:
        """Lock the rows the next insert refers to (only needed, and only run, with the triggers off)."""
        if not self.triggers_off:
            return
        with self.db.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)

    def check_foreign_keys(self, tables: list[str]) -> None:
        """For writers whose rows do not come from a join (generated ids): check every foreign key of ``tables``
        in one anti-join each, as the switched-off triggers would have row by row. Raises ``IntegrityError``."""
        if not self.triggers_off:
            return
        qn = self.db.ops.quote_name
        with self.db.cursor() as cursor:
            cursor.execute(
                """SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, f.attname
                   FROM pg_constraint c
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]
                   WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[]) AND cardinality(c.conkey) = 1
                   ORDER BY 1""",
                [tables],
            )
            for name, child, column, parent, key in cursor.fetchall():
                cursor.execute(
                    f"SELECT t.{qn(column)} FROM {child} t WHERE t.{qn(column)} IS NOT NULL AND NOT EXISTS "  # noqa: S608
                    f"(SELECT 1 FROM {parent} p WHERE p.{qn(key)} = t.{qn(column)}) LIMIT 1"
                )
                missing = cursor.fetchone()
                if missing:
                    raise IntegrityError(f"{child}.{column} = {missing[0]} is not in {parent} ({name})")

    def finish(self) -> None:
        """Triggers back on, indexes built again."""
        if not self.active:
            return
        started = time.perf_counter()
        with self.db.cursor() as cursor:
            if self.triggers_off:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        self._check_deferred()
        with self.db.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for name, create in self.dropped:
                clock = time.perf_counter()
                cursor.execute(create)
                logger.debug("bulk load: %s rebuilt in %.2f s", name, time.perf_counter() - clock)
            cursor.execute("SET LOCAL maintenance_work_mem = DEFAULT")
        self.active = False
        logger.debug("bulk load: %d indexes rebuilt in %.2f s", len(self.dropped), time.perf_counter() - started)
