# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""What a segmentation run reads: a few aggregate queries over the dealership's visits, vehicles and readings.

Each query returns a whole frame at once: on PostgreSQL through ``COPY (…) TO
STDOUT`` (CSV straight into pandas), elsewhere through the cursor. Dates come
back as day numbers (days since 1970-01-01) so that no date is parsed in Python.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db import connection

from customers.models import Customer, MileageReading, Payer, ServiceVisit, Vehicle, VehicleOwnership, VisitType

logger = logging.getLogger(__name__)
TEXT_COLUMNS = {"brand", "fuel_type", "preferred_channel"}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def day_number(column: str) -> str:
    """SQL for the day number of a date column (NULL stays NULL)."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def days_to_dates(values) -> np.ndarray:
    """Day numbers (NaN or None where missing) as ``datetime64[D]`` (NaT where missing)."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="raise").to_numpy(dtype=np.float64)
    result = np.full(len(numbers), np.datetime64("NaT"), dtype="datetime64[D]")
    present = ~np.isnan(numbers)
    result[present] = numbers[present].astype(np.int64).astype("datetime64[D]")
    return result


def frame(sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    """The rows of ``sql`` as a DataFrame with ``columns``; numbers as numbers, NULL as NaN."""
    started = time.perf_counter()
    result = _frame(sql, params, columns)
    logger.debug("%.2f s, %d rows: %s", time.perf_counter() - started, len(result), " ".join(sql.split())[:90])
    return result


def _frame(sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            statement = cursor.cursor.mogrify(sql, params).decode()
            buffer = io.StringIO()
            cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)", buffer)
            buffer.seek(0)
            if not buffer.getvalue():
                return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns})
            text = [c for c in columns if c in TEXT_COLUMNS]
            return pd.read_csv(
                buffer,
                header=None,
                names=columns,
                dtype=dict.fromkeys(text, object),
                keep_default_na=False,
                na_values={c: [""] for c in columns if c not in TEXT_COLUMNS},
            )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = pd.DataFrame.from_records(rows, columns=columns)
    for column in columns:
        if column not in TEXT_COLUMNS:
            result[column] = pd.to_numeric(result[column])
    return result


@dataclass
class RunInputs:
    customers: pd.DataFrame  # customer_id
    pairs: pd.DataFrame  # per (customer, vehicle) with visits: counts, fen amounts, day numbers
    intervals: pd.DataFrame  # vehicle_id, own_interval: median days between its maintenance visits
    readings: pd.DataFrame  # per vehicle: first and last reading day, lowest and highest km
    vehicles: pd.DataFrame  # vehicle_id, owner_id, brand, purchase_day
    ownerships: pd.DataFrame  # vehicle_id, customer_id: who owned which vehicle, ever


# A run's queries are few, large aggregates: compiling them (JIT) costs more than it saves, and their
# sorts and hashes fit in memory with a little more than the default work_mem.
RUN_SETTINGS = {"jit": "off", "work_mem": "64MB"}


def tune_for_run() -> None:
    """Session settings for the rest of the current transaction (PostgreSQL; nothing elsewhere)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name, value in RUN_SETTINGS.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def load_inputs(*, dealership_id: int, reference: date, window_days: int) -> RunInputs:
    visits, vehicles = _table(ServiceVisit), _table(Vehicle)
    params = {
        "d": dealership_id,
        "ref": reference.isoformat(),
        "window_start": (reference - timedelta(days=window_days)).isoformat(),
        "year_start": (reference - timedelta(days=365)).isoformat(),
        "maintenance": VisitType.MAINTENANCE.value,
        "bodywork": VisitType.BODYWORK.value,
        "warranty": VisitType.WARRANTY.value,
        "insurance": Payer.INSURANCE.value,
    }
    in_window = "v.opened_on > %(window_start)s"
    maintenance = "v.visit_type = %(maintenance)s"

    def count(condition: str) -> str:
        return f"COUNT(*) FILTER (WHERE {condition})"

    def fen(condition: str | None = None) -> str:
        total = "SUM(v.total_amount)" + (f" FILTER (WHERE {condition})" if condition else "")
        return f"CAST(ROUND(COALESCE({total}, 0) * 100) AS BIGINT)"

    def day(aggregate: str, condition: str | None = None) -> str:
        return day_number(f"{aggregate}(v.opened_on)" + (f" FILTER (WHERE {condition})" if condition else ""))

    # Aggregates with FILTER (PostgreSQL, SQLite ≥ 3.30) and day numbers of the aggregated dates, not of every row.
    pairs = frame(
        f"""SELECT v.customer_id, v.vehicle_id,
                {count(in_window)},
                {count(f"{in_window} AND {maintenance}")},
                {fen(in_window)},
                {fen(f"{in_window} AND {maintenance}")},
                {count("v.opened_on > %(year_start)s")},
                {fen()},
                {day("MIN")},
                {day("MAX")},
                {day("MAX", maintenance)},
                {day("MIN", "v.mileage_km IS NOT NULL")},
                {day("MAX", "v.mileage_km IS NOT NULL")},
                MIN(v.mileage_km),
                MAX(v.mileage_km),
                {count(f"{in_window} AND v.visit_type = %(bodywork)s")},
                {count(f"{in_window} AND v.visit_type = %(warranty)s")},
                {count(f"{in_window} AND v.payer = %(insurance)s")},
                {count(f"{in_window} AND v.campaign_code <> ''")}
            FROM {visits} v
            WHERE v.dealership_id = %(d)s AND v.opened_on <= %(ref)s
            GROUP BY v.customer_id, v.vehicle_id""",
        params,
        [
            "customer_id",
            "vehicle_id",
            "window_visits",
            "maintenance_visits",
            "window_spend",
            "maintenance_spend",
            "visits_12m",
            "lifetime_value",
            "first_visit_day",
            "last_visit_day",
            "last_maintenance_day",
            "first_read_day",
            "last_read_day",
            "low_km",
            "high_km",
            "bodywork_visits",
            "warranty_visits",
            "insurance_visits",
            "campaign_visits",
        ],
    )
    maintenance_days = f"""SELECT v.vehicle_id, {day_number("v.opened_on")} AS day FROM {visits} v
            WHERE v.dealership_id = %(d)s AND {maintenance} AND v.opened_on <= %(ref)s"""
    from .engine import own_intervals

    days = frame(maintenance_days, params, ["vehicle_id", "day"])
    intervals = own_intervals(days).rename("own_interval").rename_axis("vehicle_id").reset_index()
    readings = frame(
        f"""SELECT r.vehicle_id, MIN({day_number("r.read_on")}), MAX({day_number("r.read_on")}),
                   MIN(r.mileage_km), MAX(r.mileage_km)
            FROM {_table(MileageReading)} r JOIN {vehicles} x ON x.id = r.vehicle_id
            WHERE x.dealership_id = %(d)s AND r.read_on <= %(ref)s
            GROUP BY r.vehicle_id""",
        params,
        ["vehicle_id", "first_read_day", "last_read_day", "low_km", "high_km"],
    )
    vehicle_rows = frame(
        f"""SELECT x.id, x.owner_id, x.brand, x.fuel_type, {day_number("x.purchase_date")} FROM {vehicles} x
            WHERE x.dealership_id = %(d)s""",
        params,
        ["vehicle_id", "owner_id", "brand", "fuel_type", "purchase_day"],
    )
    ownerships = frame(
        f"""SELECT o.vehicle_id, o.customer_id FROM {_table(VehicleOwnership)} o
            JOIN {vehicles} x ON x.id = o.vehicle_id
            WHERE x.dealership_id = %(d)s AND o.started_on <= %(ref)s""",
        params,
        ["vehicle_id", "customer_id"],
    )
    customers = frame(
        f"""SELECT c.id, c.preferred_channel, CAST(c.marketing_consent AS INTEGER), CAST(c.do_not_contact AS INTEGER),
                   CAST(c.flag_wrong_number AS INTEGER), {day_number("c.birthday")}
            FROM {_table(Customer)} c WHERE c.dealership_id = %(d)s""",
        params,
        [
            "customer_id",
            "preferred_channel",
            "marketing_consent",
            "do_not_contact",
            "flag_wrong_number",
            "birthday_day",
        ],
    )
    customers["birthday"] = days_to_dates(customers["birthday_day"].to_numpy())
    return RunInputs(
        customers=customers,
        pairs=pairs,
        intervals=intervals,
        readings=readings,
        vehicles=vehicle_rows,
        ownerships=ownerships,
    )
