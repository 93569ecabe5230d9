# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""Every write of segmentation: rule versions and runs."""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import contextmanager
from datetime import date

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, DecimalField, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.importing.bulkload import hash_joins
from customers.models import Customer, MileageReading, ServiceVisit, Vehicle, VehicleOwnership
from dealercrm.core.bulk import copy_columns, copy_rows
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import Dealership

from . import engine, tagging
from .loading import load_inputs, tune_for_run
from .models import CustomerSegment, RuleSet, SegmentationRun, VehicleForecast

logger = logging.getLogger(__name__)


# --- rule sets ------------------------------------------------------------------------------------------


def ruleset_current(*, dealership: Dealership) -> RuleSet:
    """The dealership's rules in force: its newest version, or version 1 with SPEC's defaults."""
    current = RuleSet.objects.filter(dealership=dealership).order_by("-version").first()
    if current is None:
        try:
            with transaction.atomic():
                current = RuleSet.objects.create(dealership=dealership, version=1)
        except IntegrityError:  # created meanwhile by another request
            current = RuleSet.objects.filter(dealership=dealership).order_by("-version").first()
    return current


@transaction.atomic
def ruleset_update(*, dealership: Dealership, changes: dict, acting_user=None, note: str = "") -> RuleSet:
    """Save ``changes`` as the next version of the dealership's rules; earlier runs keep the version they used."""
    unknown = set(changes) - set(RuleSet.RULE_FIELDS)
    if unknown:
        raise ApplicationError(
            _("Unknown rule: %(names)s.") % {"names": ", ".join(sorted(unknown))}, code="unknown_rule"
        )
    Dealership.objects.select_for_update().filter(pk=dealership.pk).first()  # one new version at a time
    current = ruleset_current(dealership=dealership)
    new = RuleSet(
        dealership=dealership,
        version=current.version + 1,
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
        note=note,
        **current.rules(),
    )
    for name, value in changes.items():
        setattr(new, name, value)
    new.full_clean(exclude=["dealership", "created_by"])
    if new.rules() == current.rules():
        raise StateConflict(
            _("Nothing changed: these are the rules of version %(v)d.") % {"v": current.version},
            code="ruleset_unchanged",
        )
    new.save()
    return new


# --- runs -----------------------------------------------------------------------------------------------


def _fingerprint(dealership: Dealership, rule_set: RuleSet, reference: date) -> str:
    """What a run's result depends on, in a few cheap aggregates: the rules, the date and a count and latest
    change of every table the run reads. Equal fingerprints give equal results."""
    parts = [str(rule_set.pk), reference.isoformat()]
    for queryset, latest in (
        (ServiceVisit.objects.filter(dealership=dealership), "updated_at"),
        (Customer.objects.filter(dealership=dealership), "updated_at"),
        (Vehicle.objects.filter(dealership=dealership), "updated_at"),
        (VehicleOwnership.objects.filter(vehicle__dealership=dealership), "id"),
        (MileageReading.objects.filter(vehicle__dealership=dealership), "id"),
    ):
        figures = queryset.aggregate(n=Count("id"), latest=Max(latest))
        parts.append(f"{figures['n']}:{figures['latest']}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


_LOCK_NAMESPACE = 0x534547  # "SEG": pg_advisory_lock(namespace, dealership id), one run of a store at a time


@contextmanager
def _dealership_lock(dealership: Dealership):
    """Runs of one dealership take turns, from before the run's row is created until its work is committed,
    so that run ids follow the order in which runs write (the history relies on it). A session lock on
    PostgreSQL; SQLite lets one writer in at a time anyway."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, dealership.pk])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, dealership.pk])


def segmentation_run(
    *,
    dealership: Dealership,
    reference_date: date | None = None,
    trigger: str = SegmentationRun.Trigger.COMMAND,
    acting_user=None,
    force: bool = False,
) -> SegmentationRun:
    """Segment every customer and vehicle of ``dealership`` as of ``reference_date`` (default: its today).

    The run's row is saved first, as running (the run history shows it), then the work is done in one
    transaction; runs of one dealership take turns. A run writes result rows only for the customers and
    vehicles whose result changed. When nothing it reads has changed since the dealership's latest run,
    for the same date and rules, the run is recorded as unchanged without computing anything again
    (``force`` computes all the same; it finds nothing to write). A failed run is recorded as failed,
    with its error, nothing of its work is kept, and the exception is raised again.
    """
    reference = reference_date or dealership.local_date()
    started = time.perf_counter()
    user = acting_user if getattr(acting_user, "pk", None) else None
    with _dealership_lock(dealership):
        # A run still marked running now was cut short (its worker died): we hold the store's lock.
        SegmentationRun.objects.filter(dealership=dealership, status=SegmentationRun.Status.RUNNING).update(
            status=SegmentationRun.Status.FAILED, error=_("Interrupted before it finished."), finished_at=timezone.now()
        )
        run = SegmentationRun.objects.create(
            dealership=dealership,
            rule_set=ruleset_current(dealership=dealership),
            reference_date=reference,
            trigger=trigger,
            started_by=user,
        )
        try:
            with transaction.atomic():
                rule_set = run.rule_set
                run.fingerprint = _fingerprint(dealership, rule_set, reference)
                latest = (
                    SegmentationRun.objects.filter(dealership=dealership, status=SegmentationRun.Status.SUCCEEDED)
                    .order_by("-id")
                    .first()
                )
                if (
                    not force
                    and latest is not None
                    and latest.fingerprint == run.fingerprint
                    and latest.rule_set_id == rule_set.pk
                    and latest.reference_date == reference
                ):
                    _finish_unchanged(run, latest)
                else:
                    _compute(run, rule_set)
                run.status = SegmentationRun.Status.SUCCEEDED
                run.finished_at = timezone.now()
                run.duration_ms = int((time.perf_counter() - started) * 1000)
                run.save()
        except Exception as exc:
            SegmentationRun.objects.filter(pk=run.pk).update(
                status=SegmentationRun.Status.FAILED,
                finished_at=timezone.now(),
                duration_ms=int((time.perf_counter() - started) * 1000),
                error=f"{type(exc).__name__}: {exc}"[:2000],
                counts={},
                customers=0,
                active_customers=0,
                changed_customers=0,
                changed_vehicles=0,
            )
            raise
    return run


def _finish_unchanged(run: SegmentationRun, latest: SegmentationRun) -> None:
    run.reused_from = latest.reused_from or latest
    for name in ("value_threshold", "customers", "active_customers", "counts"):
        setattr(run, name, getattr(latest, name))
    run.changed_customers = run.changed_vehicles = 0


def _compute(run: SegmentationRun, rule_set: RuleSet) -> None:
    reference = run.reference_date
    clock = time.perf_counter()
    tune_for_run()
    inputs = load_inputs(dealership_id=run.dealership_id, reference=reference, window_days=rule_set.window_days)
    logger.debug("segmentation: loaded in %.2f s", time.perf_counter() - clock)
    verdicts = engine.classify_customers(engine.customer_metrics(inputs), rule_set.rules(), reference)
    vehicles = engine.forecast_vehicles(engine.vehicle_inputs(inputs), rule_set, reference)
    flags = tagging.automatic_flags(verdicts.frame, vehicles, inputs, reference)
    verdicts.frame["tags"] = tagging.tag_mask(flags)
    logger.debug("segmentation: computed in %.2f s", time.perf_counter() - clock)
    customers = verdicts.frame
    run.value_threshold = engine.fen_to_decimal(verdicts.value_threshold_fen)
    run.customers = len(customers)
    run.active_customers = verdicts.active
    run.counts = {
        "c3": _counts(customers["c3_group"]),
        "tier": _counts(customers["tier"]),
        "layer": _counts(customers["value_layer"]),
        "lapsed": int(customers["lapsed"].sum()),
        "age_band": _counts(vehicles["age_band"]),
        "tags": {code: int(flag.sum()) for code, flag in flags.items()},
    }
    run.changed_customers = _write_changes(run, CustomerSegment, "customer_id", _customer_columns(customers))
    run.changed_vehicles = _write_changes(run, VehicleForecast, "vehicle_id", _vehicle_columns(vehicles))

    logger.debug("segmentation: written in %.2f s", time.perf_counter() - clock)


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


# --- writing the changes --------------------------------------------------------------------------------


def _iso_dates(days: pd.Series) -> np.ndarray:
    values = days.to_numpy(dtype="datetime64[D]")
    text = values.astype(str).astype(object)
    text[np.isnat(values)] = None
    return text


def _customer_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "customer_id": frame["customer_id"].to_numpy(dtype=np.int64),
        "c3_group": frame["c3_group"].to_numpy(dtype=object),
        "tier": frame["tier"].to_numpy(dtype=object),
        "value_layer": frame["value_layer"].to_numpy(dtype=object),
        "lapsed": frame["lapsed"].to_numpy(dtype=object),
        "window_visits": frame["window_visits"].to_numpy(dtype=np.int64),
        "maintenance_visits": frame["maintenance_visits"].to_numpy(dtype=np.int64),
        "window_spend": frame["window_spend"].to_numpy(dtype=np.int64),  # fen
        "maintenance_spend": frame["maintenance_spend"].to_numpy(dtype=np.int64),  # fen
        "observed_from": _iso_dates(frame["observed_from"]),
        "visits_12m": frame["visits_12m"].to_numpy(dtype=np.int64),
        "lifetime_value": frame["lifetime_value"].to_numpy(dtype=np.int64),  # fen
        "last_visit_on": _iso_dates(frame["last_visit_on"]),
        "tags": frame["tags"].to_numpy(dtype=np.int64),
    }


def _vehicle_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    interval = frame["interval_days"].to_numpy(dtype=object, na_value=None)
    return {
        "vehicle_id": frame["vehicle_id"].to_numpy(dtype=np.int64),
        "age_band": frame["age_band"].to_numpy(dtype=object),
        "last_maintenance_on": _iso_dates(frame["last_maintenance_on"]),
        "interval_days": np.array([None if v is None else int(v) for v in interval], dtype=object),
        "due_basis": frame["due_basis"].to_numpy(dtype=object),
        "next_due_on": _iso_dates(frame["next_due_on"]),
    }


def _write_changes(run: SegmentationRun, model, key: str, columns: dict[str, np.ndarray]) -> int:
    """Close the open rows of ``model`` whose result differs from ``columns`` and insert the new results.

    Set-based, the same few statements whatever the number of rows: the results are staged in a temporary
    table, one ``UPDATE … FROM`` closes what changed, one ``INSERT … SELECT`` adds what is new or changed.
    Decimal fields come as whole numbers of their smallest unit (fen) and are divided in SQL, exactly.
    Returns how many rows were inserted.
    """
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    stage = f"seg_stage_{model._meta.model_name}"
    fields = model.RESULT_FIELDS
    names = [key, *fields]
    specs, value = [f"{qn(key)} bigint NOT NULL"], {}
    for name in fields:
        field = model._meta.get_field(name)
        if isinstance(field, DecimalField):
            specs.append(f"{qn(name)} bigint")
            value[name] = f"(s.{qn(name)} / {10**field.decimal_places}.0)"
        else:
            specs.append(f"{qn(name)} {field.db_type(connection)}")
            value[name] = f"s.{qn(name)}"
    postgres = connection.vendor == "postgresql"
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMP TABLE {stage} ({', '.join(specs)})" + (" ON COMMIT DROP" if postgres else ""))
    arrays = [columns[name] for name in names]
    if postgres:
        copy_columns(connection, stage, names, arrays, free_text=set())
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {stage}")
    else:
        copy_rows(stage, names, zip(*(a.tolist() for a in arrays), strict=True))
    changed = " OR ".join(f"t.{qn(name)} {distinct} {value[name]}" for name in fields)
    params = {"run": run.pk, "d": run.dealership_id}
    # Hash joins: with the statistics of a new (empty) results table, PostgreSQL would probe it in a nested
    # loop once per staged row, as it grows: minutes instead of a second (measured on the first run).
    with hash_joins(connection), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS t SET valid_to_id = %(run)s FROM {stage} AS s
                WHERE t.{qn(key)} = s.{qn(key)} AND t.valid_to_id IS NULL AND ({changed})""",
            params,
        )
        target = ", ".join(map(qn, fields))
        source = ", ".join(value[name] for name in fields)
        cursor.execute(
            f"""INSERT INTO {table} (dealership_id, {qn(key)}, valid_from_id, valid_to_id, {target})
                SELECT %(d)s, s.{qn(key)}, %(run)s, NULL, {source} FROM {stage} AS s
                WHERE NOT EXISTS (
                    SELECT 1 FROM {table} AS t WHERE t.{qn(key)} = s.{qn(key)} AND t.valid_to_id IS NULL)""",
            params,
        )
        inserted = cursor.rowcount
        if not postgres:
            cursor.execute(f"DROP TABLE {stage}")
    return inserted
