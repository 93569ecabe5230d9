# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""Staging tables and set-based upserts.

Checked rows are copied into TEMP staging tables (``COPY`` on PostgreSQL, see
``dealercrm.core.bulk.copy_rows``). Everything after that is a fixed number of
SQL statements per file, whatever the number of rows:

* checks that need the whole file or the database: keys repeated in a file, a
  vehicle's owner or a visit's vehicle that is neither stored nor in the import,
  rows that depend on a rejected row;
* per file, an ``UPDATE … FROM staging`` of the stored rows that actually change
  (a blank cell keeps the stored value: ``COALESCE(s.col, t.col)``; unchanged
  rows are not touched) and an ``INSERT … SELECT`` of the new ones. Their row
  counts give created / updated; the rest is unchanged;
* per file, an ``INSERT … SELECT`` into the model's history table
  (django-simple-history) of the rows written (``updated_at`` is this import's
  time): ``+`` for the new, ``~`` for the changed, by the user who started the
  import, with the reason ``import #<run id>``. Unchanged rows get none.

Both statements are plain SQL understood by PostgreSQL and SQLite ≥ 3.39
(``UPDATE … FROM``, ``IS DISTINCT FROM``), so both backends give the same result.
Imports of one dealership are serialised by an advisory lock on PostgreSQL.
"""

import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from datetime import time as clock

import numpy as np
import pandas as pd
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import phones
from customers.models import (
    ConsentChannel,
    ConsentEvent,
    Customer,
    MileageReading,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from dealercrm.core.bulk import copy_columns, copy_rows
from dealercrm.core.models import User

from .report import RowError
from .schema import CUSTOMERS, VEHICLES, VISITS
from .validate import CheckedChunk, normalize_key

logger = logging.getLogger(__name__)

ANALYZE_AFTER_ROWS = 10_000  # a bigger insert runs ANALYZE, or the planner takes the table for empty
_LOCK_NAMESPACE = 0x444D53  # "DMS": pg_advisory_xact_lock(namespace, dealership id)

# Staging columns: (name, model, field whose database type the column takes).
_STAGE_COLUMNS = {
    CUSTOMERS: [
        ("customer_no", Customer, "customer_no"),
        ("name", Customer, "name"),
        ("phone", Customer, "phone"),  # encrypted (customers.phones), with its hash and last four digits
        ("phone_hash", Customer, "phone_hash"),
        ("phone_last4", Customer, "phone_last4"),
        ("gender", Customer, "gender"),
        ("birthday", Customer, "birthday"),
        ("city", Customer, "city"),
        ("consent", Customer, "marketing_consent"),
        ("consent_at", Customer, "consent_changed_at"),
        ("consent_applies", Customer, "marketing_consent"),
        ("target_id", Customer, "dealership"),
    ],
    VEHICLES: [
        ("vin", Vehicle, "vin"),
        ("plate", Vehicle, "plate"),
        ("brand", Vehicle, "brand"),
        ("model", Vehicle, "model"),
        ("model_year", Vehicle, "model_year"),
        ("purchase_date", Vehicle, "purchase_date"),
        ("fuel_type", Vehicle, "fuel_type"),
        ("owner_customer_no", Customer, "customer_no"),
        ("mileage_km", Vehicle, "mileage_km"),
        ("owner_id", Vehicle, "owner"),
        ("target_id", Vehicle, "owner"),
        ("old_owner_id", Vehicle, "owner"),
    ],
    VISITS: [
        ("ro_number", ServiceVisit, "ro_number"),
        ("vin", Vehicle, "vin"),
        ("customer_no", Customer, "customer_no"),
        ("opened_on", ServiceVisit, "opened_on"),
        ("closed_on", ServiceVisit, "closed_on"),
        ("mileage_km", ServiceVisit, "mileage_km"),
        ("visit_type", ServiceVisit, "visit_type"),
        ("labor_amount", ServiceVisit, "labor_amount"),
        ("parts_amount", ServiceVisit, "parts_amount"),
        ("total_amount", ServiceVisit, "total_amount"),
        ("payer", ServiceVisit, "payer"),
        ("advisor_name", ServiceVisit, "advisor_name"),
        ("advisor_id", ServiceVisit, "advisor"),
        ("campaign_code", ServiceVisit, "campaign_code"),
    ],
}
# File column -> staging column, where the names differ.
_FROM_FILE = {
    VISITS: {"opened_at": "opened_on", "closed_at": "closed_on", "advisor": "advisor_name"},
}
_KEYS = {CUSTOMERS: "customer_no", VEHICLES: "vin", VISITS: "ro_number"}
# Staging columns holding text as typed in the DMS (the others hold checked codes, dates, numbers).
_FREE_TEXT = {
    "customer_no",
    "name",
    "city",
    "brand",
    "model",
    "owner_customer_no",
    "ro_number",
    "advisor_name",
    "campaign_code",
}


def _encrypted_phones(plain: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked E.164 numbers of a chunk as the three stored columns (customers.phones.stored_columns):
    ciphertext, keyed hash, last four digits; None stays None. A number repeated in the chunk is encrypted once."""
    codes, uniques = pd.factorize(plain, use_na_sentinel=True)
    stored = [phones.stored_columns_e164(number) for number in uniques]  # checked: E.164 (validate._phone)
    columns = []
    for position in range(3):
        values = np.array([column[position] for column in stored] + [None], dtype=object)
        columns.append(values[codes])  # code -1 (no number) picks the trailing None
    return tuple(columns)


def _table(model) -> str:
    return model._meta.db_table


IMPORT_WORK_MEM = "64MB"


class Staging:
    """The staging tables of one import, inside the import's transaction."""

    def __init__(
        self,
        *,
        dealership,
        acting_user=None,
        dry_run: bool = False,
        bulk: bool = False,
        history_reason: str = "",
        import_run=None,
        file_names: dict | None = None,
    ):
        self.dealership = dealership
        self.dry_run = dry_run
        self.bulk = bulk  # the bulk-load mode may be used (manage.py import_dms --bulk only)
        self.acting_user = acting_user
        self.history_reason = history_reason or "import"
        # The connection object itself (not the thread-local proxy): on PostgreSQL the visits
        # are written from a worker thread while the next chunk is read (see ``visits.py``).
        self.db = connections[DEFAULT_DB_ALIAS]
        self.postgres = self.db.vendor == "postgresql"
        self.zone = dealership.zone
        self.now = timezone.now()
        self.today = dealership.local_date(self.now)
        self.params = {
            "d": dealership.pk,
            "now": self.db.ops.adapt_datetimefield_value(self.now),
            "today": self.db.ops.adapt_datefield_value(self.today),
            "user": getattr(acting_user, "pk", None),
            "dms": ConsentChannel.DMS,
            "reason": self.history_reason[:100],
            # the consent events' proof: this import and the customers file's name (and each row's line)
            "run": getattr(import_run, "pk", None),
            "customers_file": (file_names or {}).get(CUSTOMERS, "")[:255],
        }
        self.staged = dict.fromkeys(_STAGE_COLUMNS, 0)
        self._advisors: dict[str, int] | None = None
        self._consent_at: dict[str, object] = {}
        self.indexed: set[str] = set()

    # --- plumbing -------------------------------------------------------------
    def name(self, kind: str) -> str:
        return f"dms_stage_{kind}"

    def _execute(self, sql: str, params: dict | None = None) -> int:
        started = time.perf_counter()
        with self.db.cursor() as cursor:
            cursor.execute(sql, {**self.params, **(params or {})})
            logger.debug(
                "%.3f s, %s rows: %s", time.perf_counter() - started, cursor.rowcount, " ".join(sql.split())[:160]
            )
            return cursor.rowcount

    def _fetch(self, sql: str, params: dict | None = None) -> list[tuple]:
        started = time.perf_counter()
        with self.db.cursor() as cursor:
            cursor.execute(sql, {**self.params, **(params or {})})
            rows = cursor.fetchall()
        logger.debug("%.3f s, %s rows: %s", time.perf_counter() - started, len(rows), " ".join(sql.split())[:160])
        return rows

    def begin(self, kinds) -> None:
        """Take the dealership's import lock and create the staging tables for ``kinds``."""
        if self.postgres:
            self._execute("SELECT pg_advisory_xact_lock(%(ns)s, %(d)s)", {"ns": _LOCK_NAMESPACE})
            # The joins and groupings over a million staged rows hash in memory instead of spilling
            # to disk in many batches (the server's default is 4 MB); for this transaction only.
            self._execute(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
        temp = "CREATE TEMP TABLE {name} ({columns})" + (" ON COMMIT DROP" if self.postgres else "")
        self.tables = set(kinds)
        tables = {kind: _STAGE_COLUMNS[kind] for kind in kinds}
        tables["rejected"] = None
        for kind, columns in tables.items():
            self._execute(f"DROP TABLE IF EXISTS {self.name(kind)}")
            if columns is None:
                spec = "kind varchar(10) NOT NULL, key text, row_no integer NOT NULL"
            else:
                spec = ", ".join(
                    ["row_no integer NOT NULL"]
                    + [f"{name} {model._meta.get_field(field).db_type(self.db)}" for name, model, field in columns]
                )
            self._execute(temp.format(name=self.name(kind), columns=spec))

    def end(self) -> None:
        """Drop the staging tables (PostgreSQL drops them at commit by itself)."""
        if not self.postgres:
            for kind in [*_STAGE_COLUMNS, "rejected"]:
                self._execute(f"DROP TABLE IF EXISTS {self.name(kind)}")

    def _index(self, kind: str) -> None:
        """Index the staging keys once loaded: SQLite needs it for its joins, PostgreSQL gathers statistics."""
        if kind in self.indexed:
            return
        self.indexed.add(kind)
        table = self.name(kind)
        if self.postgres:
            self._execute(f"ANALYZE {table}")
        else:
            key = "kind, key" if kind == "rejected" else _KEYS[kind]
            self._execute(f"CREATE INDEX {table}_key ON {table} ({key})")

    # --- loading --------------------------------------------------------------
    def _consent_datetime(self, value):
        """A consent date counts from midnight in the dealership's time zone."""
        if value is None:
            return None
        if value not in self._consent_at:
            moment = datetime.combine(date.fromisoformat(value), clock(0), tzinfo=self.zone)
            self._consent_at[value] = self.db.ops.adapt_datetimefield_value(moment)
        return self._consent_at[value]

    def advisor_ids(self) -> dict[str, int]:
        """Member username -> id, and display name -> id where no two members share it."""
        if self._advisors is None:
            members = User.objects.filter(memberships__dealership=self.dealership).values_list(
                "id", "username", "display_name"
            )
            by_name: dict[str, list[int]] = {}
            by_username = {}
            for pk, username, display_name in members:
                by_username[username] = pk
                if display_name:
                    by_name.setdefault(display_name, []).append(pk)
            self._advisors = {name: ids[0] for name, ids in by_name.items() if len(ids) == 1} | by_username
        return self._advisors

    def add(self, kind: str, chunk: CheckedChunk, rejected_key_column: str) -> None:
        """Copy the chunk's valid rows into the staging table; remember the keys of its bad rows."""
        bad = ~chunk.valid & ~chunk.blank
        if bad.any():
            keys = normalize_key("vin" if kind == VEHICLES else "text", chunk.raw[rejected_key_column][bad])
            self._copy_rejected(kind, list(zip(chunk.row_no[bad].tolist(), keys.tolist(), strict=True)))
        valid = chunk.valid
        if not valid.any():
            return
        columns = {"row_no": chunk.row_no[valid]}
        rename = _FROM_FILE.get(kind, {})
        for name, values in chunk.values.items():
            columns[rename.get(name, name)] = values[valid]
        if kind == CUSTOMERS:
            if "phone" in columns:
                columns["phone"], columns["phone_hash"], columns["phone_last4"] = _encrypted_phones(columns["phone"])
            consent = columns.pop("marketing_consent", None)
            consent_date = columns.pop("consent_date", None)
            if consent is not None:
                consent_flag = np.array([None if c is None else c == "1" for c in consent], dtype=object)
                columns["consent"] = consent_flag
                columns["consent_applies"] = np.array([c is not None for c in consent], dtype=object)
                if consent_date is not None:
                    columns["consent_at"] = np.array(
                        [
                            self._consent_datetime(d) if c is not None else None
                            for d, c in zip(consent_date, consent, strict=True)
                        ],
                        dtype=object,
                    )
        elif kind == VISITS and "advisor_name" in columns:
            advisors = self.advisor_ids()
            codes, names = pd.factorize(columns["advisor_name"])
            columns["advisor_id"] = np.array([advisors.get(name) for name in names] + [None], dtype=object)[codes]
        names = ["row_no", *(name for name, _m, _f in _STAGE_COLUMNS[kind] if name in columns)]
        if self.postgres:
            arrays = [columns[name] for name in names]
            self.staged[kind] += copy_columns(self.db, self.name(kind), names, arrays, free_text=_FREE_TEXT)
        else:
            arrays = [columns[name].tolist() for name in names]
            self.staged[kind] += copy_rows(self.name(kind), names, zip(*arrays, strict=True))

    def _copy_rejected(self, kind: str, rows: list[tuple[int, str | None]]) -> None:
        """Remember rejected rows (row number, key): rows of other files that refer to the key are rejected too."""
        names = ["kind", "key", "row_no"]
        if self.postgres:
            arrays = [
                np.array([kind] * len(rows), dtype=object),
                np.array([key for _row, key in rows] + [None], dtype=object)[:-1],
                np.array([row for row, _key in rows], dtype=np.int64),
            ]
            copy_columns(self.db, self.name("rejected"), names, arrays, free_text={"key"})
        else:
            copy_rows(self.name("rejected"), names, ((kind, key, row) for row, key in rows))

    @contextlib.contextmanager
    def copying(self):
        """``add`` chunks through this: on PostgreSQL each chunk's COPY runs in a worker thread (on the
        import's own connection) while the main thread reads and checks the next chunk."""
        if not self.postgres:
            yield self.add
            return
        self.advisor_ids()  # its query runs here, before the connection is lent to the worker
        self.db.inc_thread_sharing()
        pending = None
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dms-copy") as pool:

                def add(kind: str, chunk: CheckedChunk, rejected_key_column: str) -> None:
                    nonlocal pending
                    if pending is not None:
                        pending.result()
                    pending = pool.submit(self.add, kind, chunk, rejected_key_column)

                yield add
                if pending is not None:
                    pending.result()
        finally:
            self.db.dec_thread_sharing()

    # --- whole-file checks ----------------------------------------------------
    def _reject(self, kind: str, rows: list[tuple[int, str | None]]) -> None:
        """Move rows (row number, key) found bad in SQL out of the staging table."""
        if not rows:
            return
        self._copy_rejected(kind, rows)
        numbers = [row for row, _key in rows]
        self._execute(
            f"DELETE FROM {self.name(kind)} WHERE row_no BETWEEN %(low)s AND %(high)s AND row_no IN "
            f"(SELECT row_no FROM {self.name('rejected')} WHERE kind = %(kind)s)",
            {"kind": kind, "low": min(numbers), "high": max(numbers)},
        )
        self.staged[kind] -= len(rows)

    def check_duplicates(self, kind: str, header: str) -> list[RowError]:
        """Rows whose key appears more than once in the file: every one of them is rejected."""
        key, stage, rejected = _KEYS[kind], self.name(kind), self.name("rejected")
        self._index(kind)
        keys = f"""SELECT {key} AS key, row_no, 1 AS staged FROM {stage}
                   UNION ALL SELECT key, row_no, 0 FROM {rejected} WHERE kind = %(kind)s AND key IS NOT NULL"""
        repeated = f"SELECT k.key FROM ({keys}) AS k GROUP BY k.key HAVING COUNT(*) > 1"
        if not self._fetch(f"{repeated} LIMIT 1", {"kind": kind}):
            return []  # the usual case, in one pass
        rows = self._fetch(
            f"""SELECT k.key, k.row_no, k.staged FROM ({keys}) AS k
                WHERE k.key IN ({repeated}) ORDER BY k.key, k.row_no""",
            {"kind": kind},
        )
        by_key: dict[str, list[int]] = {}
        for value, row_no, _staged in rows:
            by_key.setdefault(value, []).append(row_no)
        errors, reject = [], []
        for value, row_no, staged in rows:
            if not staged:
                continue
            others = ", ".join(str(r) for r in by_key[value] if r != row_no)
            errors.append(
                RowError(
                    kind,
                    row_no,
                    header,
                    value,
                    _("Appears more than once in this file (also row %(rows)s).") % {"rows": others},
                )
            )
            reject.append((row_no, value))
        self._reject(kind, reject)
        return errors

    def check_references(
        self, kind: str, headers: dict[str, str], labels: dict[str, str], rows: tuple[int, int] | None = None
    ) -> list[RowError]:
        """A vehicle's owner, a visit's vehicle and customer: in this import or stored, and not a rejected row.

        A row whose reference is a rejected row of another file is rejected with it ("depends on").
        ``rows`` (first, last row number) limits the check to one chunk.
        """
        stage, rejected = self.name(kind), self.name("rejected")
        in_range, bounds = "", {}
        if rows is not None:
            in_range, bounds = "AND s.row_no BETWEEN %(low)s AND %(high)s", {"low": rows[0], "high": rows[1]}
        references = {
            VEHICLES: [("owner_customer_no", "owner_customer_no", CUSTOMERS)],
            VISITS: [("vin", "vin", VEHICLES), ("customer_no", "customer_no", CUSTOMERS)],
        }.get(kind, [])
        own = _KEYS[kind]
        errors: dict[int, RowError] = {}
        keys: dict[int, str] = {}
        for column, file_column, parent in references:
            header = headers.get(file_column, file_column)
            parent_table, parent_key = {CUSTOMERS: (Customer, "customer_no"), VEHICLES: (Vehicle, "vin")}[parent]
            for row_no, value, key, parent_row in self._fetch(
                f"""SELECT s.row_no, s.{column}, s.{own}, MIN(r.row_no) FROM {stage} s
                    JOIN {rejected} r ON r.kind = %(parent)s AND r.key = s.{column}
                    WHERE TRUE {in_range}
                    GROUP BY s.row_no, s.{column}, s.{own}""",
                {"parent": parent, **bounds},
            ):
                keys[row_no] = key
                reason = _("Depends on row %(row)s of the %(file)s file, which was rejected.") % {
                    "row": parent_row,
                    "file": labels[parent],
                }
                errors.setdefault(row_no, RowError(kind, row_no, header, value, reason))
            in_import = ""
            if parent in self.tables:
                self._index(parent)
                in_import = f"AND NOT EXISTS (SELECT 1 FROM {self.name(parent)} p WHERE p.{parent_key} = s.{column})"
            missing = (
                _("No customer with this number on record or in the customers file.")
                if parent == CUSTOMERS
                else _("No vehicle with this VIN on record or in the vehicles file.")
            )
            for row_no, value, key in self._fetch(
                f"""SELECT s.row_no, s.{column}, s.{own} FROM {stage} s
                    WHERE s.{column} IS NOT NULL {in_range}
                    AND NOT EXISTS (SELECT 1 FROM {_table(parent_table)} t
                                    WHERE t.dealership_id = %(d)s AND t.{parent_key} = s.{column})
                    {in_import}
                    AND NOT EXISTS (SELECT 1 FROM {rejected} r WHERE r.kind = %(parent)s AND r.key = s.{column})
                """,
                {"parent": parent, **bounds},
            ):
                keys[row_no] = key
                errors.setdefault(row_no, RowError(kind, row_no, header, value, missing))
        if kind == VISITS:
            # A blank closed_at keeps the stored one, which must not fall before the new opened date.
            for row_no, value, key, closed in self._fetch(
                f"""SELECT s.row_no, s.opened_on, s.ro_number, t.closed_on FROM {stage} s
                    JOIN {_table(ServiceVisit)} t ON t.dealership_id = %(d)s AND t.ro_number = s.ro_number
                    WHERE s.closed_on IS NULL AND t.closed_on IS NOT NULL AND t.closed_on < s.opened_on {in_range}""",
                bounds,
            ):
                keys[row_no] = key
                reason = _("Opened after the stored closed date %(closed)s: give closed_at too.") % {"closed": closed}
                errors.setdefault(
                    row_no, RowError(kind, row_no, headers.get("opened_at", "opened_at"), str(value), reason)
                )
        self._reject(kind, [(row, keys[row]) for row in errors])
        return sorted(errors.values(), key=lambda e: e.row)

    # --- writing --------------------------------------------------------------
    def _insert(self, model, values: dict[str, str], source: str, extra: dict | None = None) -> int:
        """INSERT INTO model's table every column: ``values`` gives SQL for some, the model's defaults fill the rest."""
        qn = self.db.ops.quote_name
        columns, expressions, params = [], [], dict(extra or {})
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(qn(field.column))
            if field.column in values:
                expressions.append(values[field.column])
            else:
                key = f"default_{field.column}"
                params[key] = field.get_db_prep_save(field.get_default(), self.db)
                expressions.append(f"%({key})s")
        sql = f"INSERT INTO {qn(_table(model))} ({', '.join(columns)}) SELECT {', '.join(expressions)} {source}"
        return self._execute(sql, params)

    def _analyze_stage(self, kind: str) -> None:
        if self.postgres:
            self._execute(f"ANALYZE {self.name(kind)}")

    def _grew(self, model, created: int) -> int:
        """After a large insert, tell PostgreSQL's planner the table grew: the next statements join it."""
        if self.postgres and created >= ANALYZE_AFTER_ROWS:
            self._execute(f"ANALYZE {_table(model)}")
        return created

    def _default(self, model, name: str):
        field = model._meta.get_field(name)
        return field.get_db_prep_save(field.get_default(), self.db)

    def _upsert(self, model, *, assignments: dict[str, str], source: str, where: str, params=None) -> int:
        """UPDATE the stored rows joined in ``source`` whose values actually change; returns how many."""
        sets = ", ".join(f"{column} = {expression}" for column, expression in assignments.items())
        changed = " OR ".join(
            f"({expression}) IS DISTINCT FROM t.{column}" for column, expression in assignments.items()
        )
        sql = (
            f"UPDATE {_table(model)} AS t SET {sets}, updated_at = %(now)s FROM {source} WHERE {where} AND ({changed})"
        )
        return self._execute(sql, params)

    def write_history(self, model, kind: str) -> int:
        """The history rows (django-simple-history's table of ``model``) of the rows of this import's ``kind``
        file that were just written, in one ``INSERT … SELECT``: "+" for the new ones, "~" for the changed ones
        (both carry this import's ``updated_at``; unchanged rows keep theirs and get none). Not in a dry run."""
        if self.dry_run:
            return 0
        qn = self.db.ops.quote_name
        history = model.history.model
        special = {
            "history_date": "%(now)s",
            "history_change_reason": "%(reason)s",
            "history_type": "CASE WHEN t.created_at = %(now)s THEN '+' ELSE '~' END",
            "history_user_id": "%(user)s",
        }
        columns, expressions = [], []
        for field in history._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(qn(field.column))
            expressions.append(special.get(field.column, f"t.{qn(field.column)}"))
        key = _KEYS[kind]
        return self._execute(
            f"""INSERT INTO {qn(_table(history))} ({", ".join(columns)}) SELECT {", ".join(expressions)}
                FROM {self.name(kind)} AS s JOIN {_table(model)} AS t ON t.dealership_id = %(d)s AND t.{key} = s.{key}
                WHERE t.updated_at = %(now)s"""
        )

    def write_customers(self) -> tuple[int, int]:
        """Upsert customers and record newer consent; returns (created, updated)."""
        stage, table = self.name(CUSTOMERS), _table(Customer)
        # Which rows are stored, and whether the file's consent is newer than the last recorded change.
        self._execute(
            f"""UPDATE {stage} AS s SET target_id = t.id,
                consent_applies = (t.erased_at IS NULL AND s.consent IS NOT NULL AND (t.consent_changed_at IS NULL
                    OR (s.consent_at IS NOT NULL AND s.consent_at > t.consent_changed_at)))
                FROM {table} AS t WHERE t.dealership_id = %(d)s AND t.customer_no = s.customer_no"""
        )
        self._analyze_stage(CUSTOMERS)
        event = {
            "granted": "s.consent",
            "occurred_at": "COALESCE(s.consent_at, %(now)s)",
            "channel": "%(dms)s",
            "recorded_by_id": "%(user)s",
            "note": "%(note)s",
            "import_run_id": "%(run)s",
            "source_file": "%(customers_file)s",
            "source_line": "s.row_no",
            "created_at": "%(now)s",
        }
        note = {"note": _("From the DMS export")}
        self._insert(
            ConsentEvent,
            {**event, "customer_id": "s.target_id"},
            f"FROM {stage} AS s WHERE s.target_id IS NOT NULL AND s.consent_applies",
            note,
        )
        applies = "CASE WHEN s.consent_applies THEN {new} ELSE t.{column} END"
        updated = self._upsert(
            Customer,
            assignments={
                "name": "COALESCE(s.name, t.name)",
                # the ciphertext changes only with the number (its hash): an unchanged row stays unchanged
                "phone": "CASE WHEN s.phone_hash IS NULL OR s.phone_hash = t.phone_hash THEN t.phone ELSE s.phone END",
                "phone_hash": "COALESCE(s.phone_hash, t.phone_hash)",
                "phone_last4": "COALESCE(s.phone_last4, t.phone_last4)",
                "gender": "COALESCE(s.gender, t.gender)",
                "birthday": "COALESCE(s.birthday, t.birthday)",
                "city": "COALESCE(s.city, t.city)",
                "marketing_consent": applies.format(new="s.consent", column="marketing_consent"),
                "consent_changed_at": applies.format(
                    new="COALESCE(s.consent_at, %(now)s)", column="consent_changed_at"
                ),
                "consent_channel": applies.format(new="%(dms)s", column="consent_channel"),
            },
            source=f"{stage} AS s",
            where="t.id = s.target_id AND t.erased_at IS NULL",  # an erased customer is not re-identified
        )
        created = self._insert(
            Customer,
            {
                "dealership_id": "%(d)s",
                "customer_no": "s.customer_no",
                "name": "s.name",
                "phone": "s.phone",
                "phone_hash": "COALESCE(s.phone_hash, '')",
                "phone_last4": "COALESCE(s.phone_last4, '')",
                "gender": "COALESCE(s.gender, '')",
                "birthday": "s.birthday",
                "city": "COALESCE(s.city, '')",
                "marketing_consent": "CASE WHEN s.consent_applies THEN s.consent ELSE FALSE END",
                "consent_changed_at": "CASE WHEN s.consent_applies THEN COALESCE(s.consent_at, %(now)s) END",
                "consent_channel": "CASE WHEN s.consent_applies THEN %(dms)s ELSE '' END",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            },
            f"FROM {stage} AS s WHERE s.target_id IS NULL",
        )
        self._grew(Customer, created)
        self._insert(
            ConsentEvent,
            {**event, "customer_id": "t.id"},
            f"""FROM {stage} AS s JOIN {table} AS t ON t.dealership_id = %(d)s AND t.customer_no = s.customer_no
                WHERE s.target_id IS NULL AND s.consent_applies""",
            note,
        )
        self.write_history(Customer, CUSTOMERS)
        return created, updated

    def write_vehicles(self) -> tuple[int, int]:
        """Upsert vehicles; an owner change closes the old ownership and opens a new one. (created, updated)."""
        stage, table, customers = self.name(VEHICLES), _table(Vehicle), _table(Customer)
        ownership, readings = _table(VehicleOwnership), _table(MileageReading)
        self._execute(
            f"""UPDATE {stage} AS s SET owner_id = c.id FROM {customers} AS c
                WHERE c.dealership_id = %(d)s AND c.customer_no = s.owner_customer_no"""
        )
        self._execute(
            f"""UPDATE {stage} AS s SET target_id = t.id, old_owner_id = t.owner_id FROM {table} AS t
                WHERE t.dealership_id = %(d)s AND t.vin = s.vin"""
        )
        self._analyze_stage(VEHICLES)
        transferred = f"SELECT target_id FROM {stage} WHERE target_id IS NOT NULL AND owner_id <> old_owner_id"
        self._execute(
            f"UPDATE {ownership} SET ended_on = %(today)s WHERE ended_on IS NULL AND vehicle_id IN ({transferred})"
        )
        self._insert(
            VehicleOwnership,
            {"vehicle_id": "s.target_id", "customer_id": "s.owner_id", "started_on": "%(today)s", "ended_on": "NULL"},
            f"FROM {stage} AS s WHERE s.target_id IS NOT NULL AND s.owner_id <> s.old_owner_id",
        )
        updated = self._upsert(
            Vehicle,
            assignments={
                "plate": "COALESCE(s.plate, t.plate)",
                "brand": "COALESCE(s.brand, t.brand)",
                "model": "COALESCE(s.model, t.model)",
                "model_year": "COALESCE(s.model_year, t.model_year)",
                "purchase_date": "COALESCE(s.purchase_date, t.purchase_date)",
                "fuel_type": "COALESCE(s.fuel_type, t.fuel_type)",
                "owner_id": "s.owner_id",
                # Odometers only go up: a lower figure (an older export) keeps the stored one.
                "mileage_km": (
                    "CASE WHEN s.mileage_km > COALESCE(t.mileage_km, -1) THEN s.mileage_km ELSE t.mileage_km END"
                ),
            },
            source=f"{stage} AS s",
            where="t.id = s.target_id",
        )
        created = self._insert(
            Vehicle,
            {
                "dealership_id": "%(d)s",
                "vin": "s.vin",
                "plate": "COALESCE(s.plate, '')",
                "brand": "COALESCE(s.brand, '')",
                "model": "s.model",
                "model_year": "s.model_year",
                "purchase_date": "s.purchase_date",
                "fuel_type": "COALESCE(s.fuel_type, '')",
                "warranty_end": "NULL",
                "mileage_km": "s.mileage_km",
                "owner_id": "s.owner_id",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            },
            f"FROM {stage} AS s WHERE s.target_id IS NULL",
        )
        self._grew(Vehicle, created)
        joined = f"FROM {stage} AS s JOIN {table} AS v ON v.dealership_id = %(d)s AND v.vin = s.vin"
        self._insert(
            VehicleOwnership,
            {"vehicle_id": "v.id", "customer_id": "s.owner_id", "started_on": "%(today)s", "ended_on": "NULL"},
            f"{joined} WHERE s.target_id IS NULL",
        )
        self._insert(
            MileageReading,
            {"vehicle_id": "v.id", "read_on": "%(today)s", "mileage_km": "s.mileage_km", "source": "%(source)s"},
            f"""{joined} WHERE s.mileage_km IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM {readings} AS m WHERE m.vehicle_id = v.id AND m.mileage_km = s.mileage_km)""",
            {"source": MileageReading.Source.IMPORT},
        )
        self.write_history(Vehicle, VEHICLES)
        return created, updated
