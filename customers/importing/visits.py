# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""The repair-orders file, staged, checked and written chunk by chunk.

The visits file is the big one (a million rows is a normal initial load), so
its chunks are pipelined: while chunk *k* is read and checked in Python, the
database copies chunk *k − 1* into staging, checks its references and inserts
its new repair orders. On PostgreSQL that database work runs in a worker thread
on the import's own connection (the main thread does not touch the database
meanwhile); on SQLite it simply runs in line. The result is the same either way.

Per chunk: stage it, reject rows whose vehicle or customer is unknown or was
rejected, list the rows whose RO number is not on file yet (``dms_stage_new``)
and insert those. At the end: RO numbers repeated in the file are rejected
(every occurrence; a first occurrence inserted earlier is deleted again), then
the repair orders already on file are updated in one statement, the vehicles'
odometers follow, and a bulk load (see ``bulkload``) rebuilds its indexes.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

from django.utils.translation import gettext as _

from customers.models import Customer, ServiceVisit, Vehicle
from dealercrm.core.models import Dealership, User

from .bulkload import BulkLoad, hash_joins
from .report import RowError
from .schema import VISITS
from .validate import CheckedChunk
from .writer import ANALYZE_AFTER_ROWS, Staging, _table

logger = logging.getLogger(__name__)

LARGE_FILE = 50_000  # from this many rows, the whole-file statements are forced to hash joins


class VisitLoader:
    def __init__(self, stage: Staging, *, headers: dict[str, str], labels: dict[str, str], approx_rows: int):
        self.stage = stage
        self.db = stage.db
        self.headers = headers
        self.labels = labels
        self.approx_rows = approx_rows
        self.bulk = BulkLoad(self.db)
        self.created = 0
        self.decided = False
        self.vehicles_held = False
        self._pending: tuple[int, int] | None = None  # a chunk listed as new, not inserted yet
        self.table = _table(ServiceVisit)
        self.vehicles = _table(Vehicle)
        self.customers = _table(Customer)
        self.joined = (
            f"{stage.name(VISITS)} AS s JOIN {self.vehicles} AS v ON v.dealership_id = %(d)s AND v.vin = s.vin "
            f"LEFT JOIN {self.customers} AS c ON c.dealership_id = %(d)s AND c.customer_no = s.customer_no"
        )

    # --- driving (main thread) ---------------------------------------------------
    def load(self, dms_file, checker, result, report) -> None:
        """Read, check, stage and write every chunk; errors go into ``result``."""

        def may_write() -> bool:
            return not result.errors or result.skip_invalid

        self.stage.advisor_ids()  # one query, here, before the worker thread uses the connection
        threaded = self.stage.postgres
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dms-visits") if threaded else None
        if threaded:
            self.db.inc_thread_sharing()
        future = None
        try:
            for first_row, frame in dms_file.chunks():
                checked = checker.check(first_row, frame)
                report.rows += int((~checked.blank).sum())
                result.errors.extend(checked.errors)
                if future is not None:
                    self._collect(future.result(), result)
                write = may_write()
                future = pool.submit(self.chunk, checked, write) if pool else _Done(self.chunk(checked, write))
            if future is not None:
                self._collect(future.result(), result)
        finally:
            if pool:
                pool.shutdown(wait=True)
                self.db.dec_thread_sharing()
        self.chunk(None, may_write())  # the last chunk's insert

    def _collect(self, outcome, result) -> None:
        errors, new_rows, chunk_rows = outcome
        result.errors.extend(errors)
        if not self.decided and chunk_rows:
            self.decided = True
            self._decide_bulk(new_rows, chunk_rows, dry_run=result.dry_run)

    def _decide_bulk(self, new_rows: int, chunk_rows: int, *, dry_run: bool) -> None:
        """After the first chunk: estimate the new rows of the whole file, and go bulk if it pays."""
        if dry_run or not self.stage.postgres:
            return
        expected = int(self.approx_rows * new_rows / chunk_rows)
        if not self.bulk.worth_it(self.table, expected):
            return
        # Raising the odometer of most vehicles updates most of the vehicles table: bulk-load it too.
        self.vehicles_held = self.bulk.worth_it(self.vehicles, expected, share=1.0)
        self.bulk.start([self.table, self.vehicles] if self.vehicles_held else [self.table])
        dealership = f"SELECT COUNT(*) FROM (SELECT id FROM {_table(Dealership)} WHERE id = %(d)s FOR KEY SHARE) x"
        self.bulk.lock([(dealership, self.stage.params)])

    # --- one chunk (worker thread on PostgreSQL) -----------------------------------
    def chunk(self, checked: CheckedChunk | None, write: bool) -> tuple[list[RowError], int, int]:
        """Insert the previous chunk's new rows; stage and check this one and list its new rows."""
        if self._pending is not None:
            if write:
                self._insert(*self._pending)
            self._pending = None
        if checked is None or not len(checked):
            return [], 0, 0
        self.stage.add(VISITS, checked, "ro_number")
        valid = int(checked.valid.sum())
        if not valid:
            return [], 0, 0
        rows = (int(checked.row_no[0]), int(checked.row_no[-1]))
        errors = self.stage.check_references(VISITS, self.headers, self.labels, rows=rows)
        new_rows = 0
        if write:
            new_rows = self._list_new(*rows)
            self._pending = rows
        return errors, new_rows, valid

    def _params(self, low: int, high: int) -> dict:
        return {**self.stage.params, "low": low, "high": high}

    def _list_new(self, low: int, high: int) -> int:
        """Rows of the chunk whose RO number is not on file (nor twice in the chunk): they will be inserted."""
        stage = self.stage.name(VISITS)
        return self.stage._execute(
            f"""INSERT INTO {self.stage.name("new")} (row_no)
                SELECT s.row_no FROM {stage} AS s
                WHERE s.row_no BETWEEN %(low)s AND %(high)s
                AND NOT EXISTS (SELECT 1 FROM {self.table} AS t
                                WHERE t.dealership_id = %(d)s AND t.ro_number = s.ro_number)
                AND NOT EXISTS (SELECT 1 FROM {stage} AS s2 WHERE s2.ro_number = s.ro_number
                                AND s2.row_no <> s.row_no AND s2.row_no BETWEEN %(low)s AND %(high)s)""",
            {"low": low, "high": high},
        )

    def _locks(self, low: int, high: int) -> list[tuple[str, dict]]:
        """Lock the rows this chunk's new visits refer to, as their foreign-key triggers would (see ``bulkload``)."""
        stage, params = self.stage.name(VISITS), self._params(low, high)
        in_chunk = "s.row_no BETWEEN %(low)s AND %(high)s"
        selects = [
            f"""SELECT x.id FROM {self.customers} x WHERE x.dealership_id = %(d)s
                AND x.customer_no IN (SELECT s.customer_no FROM {stage} s WHERE {in_chunk})""",
            f"""SELECT x.id FROM {self.customers} x WHERE x.id IN (SELECT v.owner_id FROM {self.vehicles} v
                JOIN {stage} s ON v.dealership_id = %(d)s AND v.vin = s.vin AND {in_chunk})""",
            f"""SELECT x.id FROM {_table(User)} x
                WHERE x.id IN (SELECT s.advisor_id FROM {stage} s WHERE {in_chunk})""",
        ]
        if not self.vehicles_held:  # else the bulk load holds the whole vehicles table
            selects.append(
                f"""SELECT x.id FROM {self.vehicles} x WHERE x.dealership_id = %(d)s
                    AND x.vin IN (SELECT s.vin FROM {stage} s WHERE {in_chunk})"""
            )
        return [(f"SELECT COUNT(*) FROM ({select} FOR KEY SHARE OF x) AS locked", params) for select in selects]

    def _insert(self, low: int, high: int) -> None:
        if self.bulk.active:
            self.bulk.lock(self._locks(low, high))
        stage = self.stage
        defaults = {
            "default_labor": stage._default(ServiceVisit, "labor_amount"),
            "default_parts": stage._default(ServiceVisit, "parts_amount"),
            "default_payer": stage._default(ServiceVisit, "payer"),
            "low": low,
            "high": high,
        }
        self.created += stage._insert(
            ServiceVisit,
            {
                "dealership_id": "%(d)s",
                "ro_number": "s.ro_number",
                "vehicle_id": "v.id",
                "customer_id": "COALESCE(c.id, v.owner_id)",
                "opened_on": "s.opened_on",
                "closed_on": "s.closed_on",
                "mileage_km": "s.mileage_km",
                "visit_type": "s.visit_type",
                "labor_amount": "COALESCE(s.labor_amount, %(default_labor)s)",
                "parts_amount": "COALESCE(s.parts_amount, %(default_parts)s)",
                "total_amount": "s.total_amount",
                "payer": "COALESCE(s.payer, %(default_payer)s)",
                "advisor_name": "COALESCE(s.advisor_name, '')",
                "advisor_id": "s.advisor_id",
                "campaign_code": "COALESCE(s.campaign_code, '')",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            },
            f"""FROM {stage.name("new")} AS n
                JOIN {stage.name(VISITS)} AS s ON s.row_no = n.row_no
                JOIN {self.vehicles} AS v ON v.dealership_id = %(d)s AND v.vin = s.vin
                LEFT JOIN {self.customers} AS c ON c.dealership_id = %(d)s AND c.customer_no = s.customer_no
                WHERE n.row_no BETWEEN %(low)s AND %(high)s""",
            defaults,
        )

    # --- the whole file (main thread) ------------------------------------------------
    def finish_checks(self, *, skip_invalid: bool) -> list[RowError]:
        """RO numbers repeated in the file, and stored closed dates a new opened date would pass."""
        stage = self.stage
        with hash_joins(self.db, self.approx_rows >= LARGE_FILE):
            errors = stage.check_duplicates(VISITS, self.headers["ro_number"])
            if errors and skip_invalid:
                # A first occurrence inserted with its chunk goes again: every occurrence is rejected.
                self.created -= stage._execute(
                    f"""DELETE FROM {self.table} WHERE dealership_id = %(d)s AND created_at = %(now)s
                        AND ro_number IN (SELECT key FROM {stage.name("rejected")} WHERE kind = %(kind)s)""",
                    {"kind": VISITS},
                )
            late, keys = [], {}
            # A blank closed_at keeps the stored one, which must not fall before the new opened date.
            for row_no, value, key, closed in stage._fetch(
                f"""SELECT s.row_no, s.opened_on, s.ro_number, t.closed_on FROM {stage.name(VISITS)} s
                    JOIN {self.table} t ON t.dealership_id = %(d)s AND t.ro_number = s.ro_number
                    WHERE s.closed_on IS NULL AND t.closed_on IS NOT NULL AND t.closed_on < s.opened_on"""
            ):
                keys[row_no] = key
                reason = _("Opened after the stored closed date %(closed)s: give closed_at too.") % {"closed": closed}
                late.append(RowError(VISITS, row_no, self.headers.get("opened_at", "opened_at"), str(value), reason))
            stage._reject(VISITS, [(error.row, keys[error.row]) for error in late])
        return errors + late

    def finish_writes(self) -> tuple[int, int]:
        """Update the repair orders already on file, raise the odometers, end a bulk load. (created, updated)."""
        stage = self.stage
        with hash_joins(self.db, self.approx_rows >= LARGE_FILE):
            if self.created >= ANALYZE_AFTER_ROWS and stage.postgres:
                stage._execute(f"ANALYZE {self.table}")
            updated = stage._upsert(
                ServiceVisit,
                assignments={
                    "vehicle_id": "v.id",
                    "customer_id": "COALESCE(c.id, t.customer_id)",
                    "opened_on": "s.opened_on",
                    "closed_on": "COALESCE(s.closed_on, t.closed_on)",
                    "mileage_km": "COALESCE(s.mileage_km, t.mileage_km)",
                    "visit_type": "s.visit_type",
                    "labor_amount": "COALESCE(s.labor_amount, t.labor_amount)",
                    "parts_amount": "COALESCE(s.parts_amount, t.parts_amount)",
                    "total_amount": "s.total_amount",
                    "payer": "COALESCE(s.payer, t.payer)",
                    "advisor_name": "COALESCE(s.advisor_name, t.advisor_name)",
                    "advisor_id": "CASE WHEN s.advisor_name IS NULL THEN t.advisor_id ELSE s.advisor_id END",
                    "campaign_code": "COALESCE(s.campaign_code, t.campaign_code)",
                },
                source=self.joined,
                where=f"""t.dealership_id = %(d)s AND t.ro_number = s.ro_number
                    AND NOT EXISTS (SELECT 1 FROM {stage.name("new")} AS n WHERE n.row_no = s.row_no)""",
            )
            # The odometer follows the highest mileage seen at a visit (it never goes down).
            stage._execute(
                f"""UPDATE {self.vehicles} AS t SET mileage_km = m.km, updated_at = %(now)s
                    FROM (SELECT s.vin AS vin, MAX(s.mileage_km) AS km FROM {stage.name(VISITS)} AS s
                          WHERE s.mileage_km IS NOT NULL GROUP BY s.vin) AS m
                    WHERE t.dealership_id = %(d)s AND t.vin = m.vin
                    AND (t.mileage_km IS NULL OR t.mileage_km < m.km)"""
            )
        self.bulk.finish()
        return self.created, updated


class _Done:
    """A finished "future" (SQLite runs the chunk's database work in line)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value
