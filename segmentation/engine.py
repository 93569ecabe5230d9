"""The segmentation arithmetic, on whole columns (numpy), exact at every threshold.

SPEC "Segmentation" is the contract: the window is the ``window_days`` ending
on the reference date (``ref − window < opened ≤ ref``), "the last 12 months"
the 365 days ending on it. Per-year figures divide by the years a customer was
observable in the window, never less than half a year; counting in half-days
keeps that an integer: a rate is ``amount × 730 / half_days``.

Comparisons with thresholds are exact: a float pass decides every value that is
clearly above or below, and the few within rounding distance of the threshold
are decided with ``fractions.Fraction``. A value equal to a threshold counts as
high.

Money arrives as integer fen (分, cents), dates as ``datetime64[D]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd

from .models import AgeBand, DueBasis, Tier, ValueLayer

YEAR_DAYS = 365
MIN_HALF_DAYS = YEAR_DAYS  # half a year, counted in half-days
MILEAGE_MIN_SPAN_DAYS = 30  # readings this far apart give a daily mileage
NONE_DATE = np.datetime64("NaT", "D")
_TOLERANCE = 1e-9  # relative: floats this close to a threshold are decided exactly


def to_days(values) -> np.ndarray:
    """Dates (strings, ``date`` objects or missing) as ``datetime64[D]`` (NaT when missing)."""
    return pd.to_datetime(pd.Series(values, dtype=object), errors="raise").to_numpy(dtype="datetime64[D]")


def observed_half_days(observed_from: np.ndarray, reference: date, window_days: int) -> np.ndarray:
    """Twice the days from the later of the window's start and ``observed_from`` to ``reference``, at least 365."""
    ref = np.datetime64(reference, "D")
    days = (ref - observed_from).astype("timedelta64[D]").astype(np.int64)
    days = np.where(np.isnat(observed_from), window_days, np.minimum(days, window_days))
    return np.maximum(2 * days, MIN_HALF_DAYS).astype(np.int64)


def exact_ge(num: np.ndarray, den: np.ndarray, threshold: Fraction) -> np.ndarray:
    """``num / den ≥ threshold`` for each row, exactly; rows with ``den == 0`` are False."""
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    result = np.zeros(len(num), dtype=bool)
    ok = den > 0
    if not ok.any():
        return result
    with np.errstate(divide="ignore", invalid="ignore"):
        values = num / np.where(ok, den, 1)
    limit = float(threshold)
    result = ok & (values >= limit)
    close = ok & (np.abs(values - limit) <= _TOLERANCE * abs(limit) + 1e-12)
    for i in np.flatnonzero(close):
        result[i] = Fraction(int(num[i]), int(den[i])) >= threshold
    return result


def exact_median(num: np.ndarray, den: np.ndarray) -> Fraction | None:
    """The median of ``num / den`` (``den > 0``), exactly; for an even count the mean of the two middle values."""
    n = len(num)
    if n == 0:
        return None
    values = np.asarray(num, dtype=np.int64) / np.asarray(den, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    k1, k2 = (n - 1) // 2, n // 2
    low, high = values[order[k1]], values[order[k2]]
    low_edge = low - _TOLERANCE * abs(low) - 1e-12
    high_edge = high + _TOLERANCE * abs(high) + 1e-12
    band = np.flatnonzero((values >= low_edge) & (values <= high_edge))
    below = int(np.count_nonzero(values < low_edge))
    exact = sorted(Fraction(int(num[i]), int(den[i])) for i in band)
    return (exact[k1 - below] + exact[k2 - below]) / 2


def _fraction(value) -> Fraction:
    return Fraction(Decimal(value))


@dataclass
class CustomerVerdicts:
    frame: pd.DataFrame  # customer_id and the result columns of CustomerSegment (money in fen)
    value_threshold_fen: Fraction | None  # spend per year counted as high, in fen
    active: int


def classify_customers(metrics: pd.DataFrame, rules: dict, reference: date) -> CustomerVerdicts:
    """C3 group, tier, value layer and lapsed flag for every row of ``metrics``.

    ``metrics`` has one row per customer: customer_id, window_visits, maintenance_visits,
    window_spend and maintenance_spend (fen), visits_12m, lifetime_value (fen),
    last_visit_on and observed_from (datetime64[D], NaT when none).
    """
    frame = metrics.copy()
    half_days = observed_half_days(frame["observed_from"].to_numpy(), reference, rules["window_days"])
    active = frame["window_visits"].to_numpy() > 0
    maintenance = frame["maintenance_visits"].to_numpy(dtype=np.int64)
    spend = frame["window_spend"].to_numpy(dtype=np.int64)
    repair_spend = spend - frame["maintenance_spend"].to_numpy(dtype=np.int64)
    spend_per_year = spend * 2 * YEAR_DAYS  # over half_days: fen per year

    maintenance_high = exact_ge(maintenance * 2 * YEAR_DAYS, half_days, _fraction(rules["maintenance_threshold"]))
    if rules["value_threshold_mode"] == "fixed":
        threshold = _fraction(rules["value_threshold_fixed"]) * 100
    else:
        threshold = exact_median(spend_per_year[active], half_days[active])
    value_high = exact_ge(spend_per_year, half_days, threshold) if threshold is not None else active & False
    repair_high = exact_ge(repair_spend, spend, _fraction(rules["repair_ratio_threshold"]))

    cell = maintenance_high.astype(int) * 4 + value_high.astype(int) * 2 + repair_high.astype(int)
    # cell index 7 = HHH … 0 = LLL, the same order as the three letters read as binary digits
    codes = np.array(
        [rules["c3_mapping"][_cell_key(i)] for i in range(8)] + [""],
        dtype=object,
    )
    frame["c3_group"] = codes[np.where(active, cell, 8)]

    visits = frame["visits_12m"].to_numpy()
    frame["tier"] = np.select(
        [visits >= rules["tier_a_min"], visits >= rules["tier_b_min"], visits >= rules["tier_c_min"]],
        [Tier.A.value, Tier.B.value, Tier.C.value],
        default=Tier.D.value,
    )
    lifetime = frame["lifetime_value"].to_numpy(dtype=np.int64)
    high_above = int(_fraction(rules["high_value_above"]) * 100)
    mid_from = int(_fraction(rules["mid_value_from"]) * 100)
    frame["value_layer"] = np.select(
        [
            (lifetime > high_above) & (visits >= rules["high_value_visits"]),
            (lifetime >= mid_from) & (visits >= rules["mid_value_visits"]),
        ],
        [ValueLayer.HIGH.value, ValueLayer.MID.value],
        default=ValueLayer.POTENTIAL.value,
    )
    last = frame["last_visit_on"].to_numpy(dtype="datetime64[D]")
    since = (np.datetime64(reference, "D") - last).astype("timedelta64[D]").astype(np.int64)
    frame["lapsed"] = ~np.isnat(last) & (since >= rules["lapsed_days"])
    return CustomerVerdicts(frame=frame, value_threshold_fen=threshold, active=int(active.sum()))


def _cell_key(index: int) -> str:
    """7 → "HHH", 6 → "HHL", … 0 → "LLL" (maintenance, value, repair ratio)."""
    return "".join("H" if index & bit else "L" for bit in (4, 2, 1))


def round_half_up(value: Fraction, places: int) -> Decimal:
    with localcontext() as context:
        context.prec = 40
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def customer_rates(
    *,
    maintenance_visits: int,
    window_spend: Decimal,
    maintenance_spend: Decimal,
    observed_from: date | None,
    reference_date: date,
    window_days: int,
) -> dict[str, Decimal]:
    """The per-year rates and repair ratio behind a customer's group, for display and export:
    maintenance visits per year and repair ratio with four decimals, spend per year with two."""
    observed = np.array([observed_from or NONE_DATE], dtype="datetime64[D]")
    half_days = int(observed_half_days(observed, reference_date, window_days)[0])
    spend = Fraction(Decimal(window_spend))
    repair = spend - Fraction(Decimal(maintenance_spend))
    return {
        "maintenance_per_year": round_half_up(Fraction(maintenance_visits * 2 * YEAR_DAYS, half_days), 4),
        "spend_per_year": round_half_up(spend * 2 * YEAR_DAYS / half_days, 2),
        "repair_ratio": round_half_up(repair / spend, 4) if spend else Decimal("0.0000"),
    }


def fen_to_decimal(fen: Fraction | int | None) -> Decimal | None:
    """An amount in fen (possibly a fraction) as yuan with two decimals, rounded down (never above the value)."""
    if fen is None:
        return None
    with localcontext() as context:
        context.prec = 40
        value = Fraction(fen) / 100
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


# --- vehicles -------------------------------------------------------------------------------------------


def age_bands(purchased: np.ndarray, reference: date) -> np.ndarray:
    """The age band on ``reference`` of cars bought on ``purchased`` (full years; exactly 2 years is "2-3")."""
    missing = np.isnat(purchased)
    when = pd.DatetimeIndex(np.where(missing, np.datetime64(reference, "D"), purchased))
    before_birthday = (reference.month * 100 + reference.day) < (when.month * 100 + when.day)
    years = reference.year - when.year - before_birthday.astype(int)
    bands = np.select(
        [years < 0, years < 1, years < 2, years < 3, years < 5],
        ["", AgeBand.UNDER_1.value, AgeBand.Y1_2.value, AgeBand.Y2_3.value, AgeBand.Y3_5.value],
        default=AgeBand.OVER_5.value,
    ).astype(object)
    bands[missing] = ""
    return bands


def own_intervals(maintenance: pd.DataFrame) -> pd.Series:
    """Per vehicle_id, the median days between its maintenance visits (distinct days; two or more needed),
    rounded down."""
    if maintenance.empty:
        return pd.Series(dtype=np.int64)
    days = maintenance[["vehicle_id", "day"]].drop_duplicates().sort_values(["vehicle_id", "day"])
    gaps = days["day"].diff().to_numpy()
    first = days["vehicle_id"].ne(days["vehicle_id"].shift()).to_numpy()
    gaps = pd.DataFrame({"vehicle_id": days["vehicle_id"].to_numpy()[~first], "gap": gaps[~first]})
    if gaps.empty:
        return pd.Series(dtype=np.int64)
    return np.floor(gaps.groupby("vehicle_id")["gap"].median()).astype(np.int64)


def forecast_vehicles(vehicles: pd.DataFrame, rules, reference: date) -> pd.DataFrame:
    """Age band and next maintenance due date per vehicle.

    ``vehicles``: vehicle_id, brand, purchase_date, last_maintenance_on (datetime64[D]), own_interval
    (days or NaN), and the mileage span: first_read_on, last_read_on, low_km, high_km. ``rules`` is the
    RuleSet (for the schedule per brand).
    """
    frame = vehicles[["vehicle_id"]].copy()
    frame["age_band"] = age_bands(vehicles["purchase_date"].to_numpy(dtype="datetime64[D]"), reference)

    codes, brands = pd.factorize(vehicles["brand"].fillna(""))
    schedule = np.array([rules.schedule_for(brand) for brand in brands], dtype=np.int64).reshape(-1, 2)
    schedule_days, schedule_km = schedule[codes, 0], schedule[codes, 1]

    first_read = vehicles["first_read_on"].to_numpy(dtype="datetime64[D]")
    last_read = vehicles["last_read_on"].to_numpy(dtype="datetime64[D]")
    span = (last_read - first_read).astype("timedelta64[D]").astype(np.float64)
    driven = (vehicles["high_km"] - vehicles["low_km"]).to_numpy(dtype=np.float64)
    usable = ~np.isnat(first_read) & ~np.isnat(last_read) & (span >= MILEAGE_MIN_SPAN_DAYS) & (driven > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_mileage = np.where(usable, np.floor(schedule_km * span / np.where(usable, driven, 1)), np.inf)
    own = vehicles["own_interval"].to_numpy(dtype=np.float64)
    own = np.where(np.isnan(own), np.inf, own)

    candidates = np.vstack([own, by_mileage, schedule_days.astype(np.float64)])  # ties: own, mileage, schedule
    choice = np.argmin(candidates, axis=0)
    interval = np.maximum(candidates[choice, np.arange(len(frame))], 1).astype(np.int64)
    basis = np.array([DueBasis.OWN.value, DueBasis.MILEAGE.value, DueBasis.SCHEDULE.value], dtype=object)[choice]

    last = vehicles["last_maintenance_on"].to_numpy(dtype="datetime64[D]")
    has_last = ~np.isnat(last)
    frame["last_maintenance_on"] = last
    frame["interval_days"] = pd.array(np.where(has_last, interval, 0), dtype="Int64")
    frame.loc[~has_last, "interval_days"] = pd.NA
    frame["due_basis"] = np.where(has_last, basis, "")
    frame["next_due_on"] = np.where(has_last, last + interval.astype("timedelta64[D]"), NONE_DATE)
    return frame


# --- from the loaded rows to the engine's frames ------------------------------------------------------


def _dates(days) -> np.ndarray:
    from .loading import days_to_dates

    return days_to_dates(days)


def customer_metrics(inputs) -> pd.DataFrame:
    """One row per customer of the dealership (``loading.RunInputs``): the sums behind the verdicts,
    zero for a customer without visits, and the day the customer became observable."""
    pairs = inputs.pairs
    sums = pairs.groupby("customer_id").agg(
        window_visits=("window_visits", "sum"),
        maintenance_visits=("maintenance_visits", "sum"),
        window_spend=("window_spend", "sum"),
        maintenance_spend=("maintenance_spend", "sum"),
        visits_12m=("visits_12m", "sum"),
        lifetime_value=("lifetime_value", "sum"),
        first_visit_day=("first_visit_day", "min"),
        last_visit_day=("last_visit_day", "max"),
        bodywork_visits=("bodywork_visits", "sum"),
        warranty_visits=("warranty_visits", "sum"),
        insurance_visits=("insurance_visits", "sum"),
        campaign_visits=("campaign_visits", "sum"),
    )
    # The customer's vehicles (owned now or before, or brought in) and the day each came into view:
    # its purchase date, else its first visit.
    first_visits = pairs.groupby("vehicle_id")["first_visit_day"].min()
    since = inputs.vehicles.set_index("vehicle_id")["purchase_day"]
    since = since.fillna(first_visits.reindex(since.index))
    links = pd.concat(
        [
            pairs[["customer_id", "vehicle_id"]],
            inputs.ownerships[["customer_id", "vehicle_id"]],
            inputs.vehicles.rename(columns={"owner_id": "customer_id"})[["customer_id", "vehicle_id"]],
        ],
        ignore_index=True,
    ).drop_duplicates()
    links["since"] = links["vehicle_id"].map(since)
    observed = links.groupby("customer_id")["since"].min()

    frame = inputs.customers[["customer_id"]].astype({"customer_id": np.int64}).set_index("customer_id")
    frame = frame.join(sums, how="left")
    counts = [
        "window_visits",
        "maintenance_visits",
        "window_spend",
        "maintenance_spend",
        "visits_12m",
        "lifetime_value",
        "bodywork_visits",
        "warranty_visits",
        "insurance_visits",
        "campaign_visits",
    ]
    frame[counts] = frame[counts].fillna(0).astype(np.int64)
    observed_day = observed.reindex(frame.index)
    observed_day = observed_day.fillna(frame["first_visit_day"])
    frame["observed_from"] = _dates(observed_day.to_numpy())
    frame["last_visit_on"] = _dates(frame["last_visit_day"].to_numpy())
    return frame.drop(columns=["first_visit_day", "last_visit_day"]).reset_index()


def vehicle_inputs(inputs) -> pd.DataFrame:
    """One row per vehicle of the dealership, with what ``forecast_vehicles`` needs."""
    pairs = inputs.pairs
    by_vehicle = pairs.groupby("vehicle_id").agg(
        last_maintenance_day=("last_maintenance_day", "max"),
        first_read_day=("first_read_day", "min"),
        last_read_day=("last_read_day", "max"),
        low_km=("low_km", "min"),
        high_km=("high_km", "max"),
    )
    readings = inputs.readings.set_index("vehicle_id").add_suffix("_reading")
    frame = inputs.vehicles.astype({"vehicle_id": np.int64}).set_index("vehicle_id")
    frame = frame.join(by_vehicle, how="left").join(readings, how="left")
    for column, pick in (
        ("first_read_day", np.fmin),
        ("last_read_day", np.fmax),
        ("low_km", np.fmin),
        ("high_km", np.fmax),
    ):
        frame[column] = pick(
            frame[column].to_numpy(dtype=np.float64), frame[f"{column}_reading"].to_numpy(dtype=np.float64)
        )
    own = inputs.intervals.set_index("vehicle_id")["own_interval"]
    frame["own_interval"] = own.reindex(frame.index).astype(np.float64)
    frame["purchase_date"] = _dates(frame["purchase_day"].to_numpy())
    frame["last_maintenance_on"] = _dates(frame["last_maintenance_day"].to_numpy())
    frame["first_read_on"] = _dates(frame["first_read_day"].to_numpy())
    frame["last_read_on"] = _dates(frame["last_read_day"].to_numpy())
    frame["brand"] = frame["brand"].fillna("").astype(str)
    return frame.reset_index()[
        [
            "vehicle_id",
            "brand",
            "purchase_date",
            "last_maintenance_on",
            "own_interval",
            "first_read_on",
            "last_read_on",
            "low_km",
            "high_km",
        ]
    ]
