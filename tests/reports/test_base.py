"""The customer base's figures and report on hand-built customers, visits and real segmentation runs, with the
answers worked out by hand: share of A+B, wake-up rate of lapsed customers, 12-month retention (by vehicle
age), movement and value-layer changes between runs; comparisons, empty periods, other stores, a group of
stores, query counts and the rows behind each figure."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import registry
from reports.periods import Period
from reports.registry import Figure
from reports.scope import Scope
from segmentation.services import segmentation_run
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

D = dt.date
Q1 = Period(D(2026, 1, 1), D(2026, 3, 31))
TODAY = dt.datetime(2026, 4, 15, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def customer(dealership, number, purchased, visits):
    person = CustomerFactory(dealership=dealership, customer_no=number)
    car = VehicleFactory(owner=person, purchase_date=purchased)
    for day, amount in visits:
        ServiceVisitFactory(vehicle=car, opened_on=day, closed_on=day, total_amount=Decimal(amount))
    return person


@pytest.fixture
def base(dealership):
    """Runs R1 (reference 2025-12-31, the eve of Q1) and R2 (2026-03-31). Tiers count visits in the 365 days up
    to the run; lapsed: the last visit 183 days or more before it (R1: on or before 2025-07-01).

    A1 (car bought 2024-06-01, 1–2 years old on 2026-01-01): 2025-03-01, 06-01, 09-01, 2026-02-01 (¥12,000)
        R1: 3 visits → A, lifetime ¥1,650 → potential;  R2: 06-01, 09-01, 02-01 → A, ¥13,650 → mid (upgrade)
    B1 (bought 2022-03-01, 3–5 years): 2025-03-15 (¥15,000), 2025-11-01
        R1: 2 → B, ¥15,550 → mid;  R2: 11-01 only → C → potential (downgrade)
    C1 (bought 2023-12-01, 2–3 years): 2025-02-01, 2026-03-10
        R1: 1 → C, last visit 333 days before → lapsed;  R2: C
    D1 (bought 2022-03-01): 2024-01-10 → R1: D, lapsed; no visit since
    N1: no visit → D, not lapsed (never came)
    E1: new after R1: 2026-01-05, 2026-02-05 → R2: B

    share of A+B at R2: A1, E1 of 6 = 1/3; at R1: A1, B1 of 5 = 2/5
    wake-up in Q1: lapsed at R1: C1, D1; came in Q1: C1 → 1/2
    retention Q1: customers of 2025-01-01 … 12-31: A1, B1, C1; back in Q1: A1, C1 → 2/3
    """
    people = {
        "A1": customer(
            dealership,
            "A1",
            D(2024, 6, 1),
            [
                (D(2025, 3, 1), "550"),
                (D(2025, 6, 1), "550"),
                (D(2025, 9, 1), "550"),
                (D(2026, 2, 1), "12000"),
            ],
        ),
        "B1": customer(dealership, "B1", D(2022, 3, 1), [(D(2025, 3, 15), "15000"), (D(2025, 11, 1), "550")]),
        "C1": customer(dealership, "C1", D(2023, 12, 1), [(D(2025, 2, 1), "550"), (D(2026, 3, 10), "550")]),
        "D1": customer(dealership, "D1", D(2022, 3, 1), [(D(2024, 1, 10), "550")]),
        "N1": CustomerFactory(dealership=dealership, customer_no="N1"),
    }
    r1 = segmentation_run(dealership=dealership, reference_date=D(2025, 12, 31))
    people["E1"] = customer(dealership, "E1", D(2025, 12, 1), [(D(2026, 1, 5), "550"), (D(2026, 2, 5), "550")])
    r2 = segmentation_run(dealership=dealership, reference_date=D(2026, 3, 31))
    return {"people": people, "runs": (r1, r2)}


@pytest.fixture
def other_store(other_dealership):
    """Another store: O1 with three visits in 2025 → tier A at its run of 2026-03-31; not lapsed."""
    person = customer(
        other_dealership,
        "O1",
        D(2023, 1, 1),
        [(D(2025, 10, 1), "550"), (D(2025, 11, 1), "550"), (D(2025, 12, 1), "550")],
    )
    segmentation_run(dealership=other_dealership, reference_date=D(2026, 3, 31))
    return person


def figure(code, scope, period=Q1):
    return registry.kpi(code).compute(scope, period)


def test_share_of_a_and_b(dealership, base):
    scope = Scope.of(dealership)
    assert figure("base.ab_share", scope) == Figure(Decimal(2) / Decimal(6), 2, 6)
    rows = registry.kpi("base.ab_share").rows(scope, Q1, {})
    assert [c.customer_no for c in rows] == ["A1", "E1"]
    compared = registry.compare(registry.kpi("base.ab_share"), scope, Q1)
    assert compared.previous.value == Decimal("0.4")  # R1 (2025-12-31) stands for the previous quarter: 2/5
    assert compared.last_year.empty  # no run by 2025-03-31


def test_wake_up_rate_of_lapsed_customers(dealership, base):
    scope = Scope.of(dealership)
    assert figure("base.wakeup_rate", scope) == Figure(Decimal("0.5"), 1, 2)
    assert [c.customer_no for c in registry.kpi("base.wakeup_rate").rows(scope, Q1, {})] == ["C1"]
    assert registry.kpi("base.wakeup_rate").target == Decimal("0.10")
    # the previous quarter's eve (2025-10-02) has no run before it: nothing to compute from
    assert registry.compare(registry.kpi("base.wakeup_rate"), scope, Q1).previous.empty


def test_twelve_month_retention_and_by_vehicle_age(dealership, base):
    scope = Scope.of(dealership)
    retention = registry.kpi("base.retention_12m")
    assert figure("base.retention_12m", scope) == Figure(Decimal(2) / Decimal(3), 2, 3)
    assert [c.customer_no for c in retention.rows(scope, Q1, {})] == ["A1", "C1"]
    assert [c.customer_no for c in retention.rows(scope, Q1, {"age_band": "3-5"})] == []  # B1 did not come back
    assert [c.customer_no for c in retention.rows(scope, Q1, {"age_band": "2-3"})] == ["C1"]
    tables = {t.key: t for t in registry.report("customer-base").build(scope, Q1, {})}
    bands = {r["band"]: (r["base"], r["kept"]) for r in tables["retention"].rows}
    assert bands == {"1–2 years": (1, 1), "2–3 years": (1, 1), "3–5 years": (1, 0)}
    assert (tables["retention"].totals["base"], tables["retention"].totals["kept"]) == (3, 2)


def test_an_empty_period_is_empty_not_zero(dealership, base):
    long_ago = Period(D(2020, 1, 1), D(2020, 3, 31))
    for code in ("base.ab_share", "base.wakeup_rate", "base.retention_12m", "base.customers"):
        assert figure(code, Scope.of(dealership), long_ago).value is None, code


def test_another_store_is_never_counted_and_a_group_sums_both(dealership, other_dealership, base, other_store):
    assert figure("base.ab_share", Scope.of(dealership)).value == Decimal(2) / Decimal(6)
    assert figure("base.ab_share", Scope.of(other_dealership)) == Figure(Decimal(1), 1, 1)
    group = Scope.of(dealership, other_dealership)
    assert figure("base.ab_share", group) == Figure(Decimal(3) / Decimal(7), 3, 7)  # (2 + 1) ÷ (6 + 1)
    # retention: O1 came in 2025 and not in Q1 → (2 + 0) ÷ (3 + 1)
    assert figure("base.retention_12m", group) == Figure(Decimal("0.5"), 2, 4)
    assert registry.kpi("base.ab_share").rows(group, Q1, {}).count() == 3


def test_the_report(dealership, base):
    scope = Scope.of(dealership)
    tables = {t.key: t for t in registry.report("customer-base").build(scope, Q1, {})}
    tiers = {r["tier"][0]: r["customers"] for r in tables["tiers"].rows}
    assert tiers == {"A": 1, "B": 1, "C": 2, "D": 2}  # R2: A1 / E1 / B1, C1 / D1, N1
    assert tables["tiers"].totals["customers"] == 6
    assert "tier=A" in tables["tiers"].rows[0]["_links"]["customers"]
    assert sum(r["customers"] for r in tables["c3"].rows) == 6
    # the trend: one row per run dated in Q1 (R2 only; R1 is dated 2025-12-31)
    assert [r["reference_date"] for r in tables["trend"].rows] == [D(2026, 3, 31)]
    assert tables["trend"].rows[0]["ab_share"] == Decimal(2) / Decimal(6)
    # movement R1 → R2: five customers of R1 and E1 in the "new" row
    movement = tables["movement"]
    assert movement.totals["total"] == 6
    assert movement.rows[-1]["from"] == "New customers" and movement.rows[-1]["total"] == 1
    layers = [(r["from"], r["to"], r["customers"]) for r in tables["value_layers"].rows]
    assert layers == [("Potential", "Mid value", 1), ("Mid value", "Potential", 1)]  # A1 up, B1 down
    figures = {r["figure"]: r for r in tables["figures"].rows}
    assert figures["Wake-up rate of lapsed customers"]["value"] == Decimal("0.5")
    assert figures["Share of A+B customers"]["previous"] == Decimal("0.4")


def test_an_empty_period_gives_empty_tables(dealership, base):
    tables = registry.report("customer-base").build(Scope.of(dealership), Period(D(2020, 1, 1), D(2020, 3, 31)), {})
    assert all(not t.rows or t.key == "figures" for t in tables)
    figures = next(t for t in tables if t.key == "figures")
    assert all(r["value"] is None for r in figures.rows)


def test_the_report_and_figures_are_a_fixed_number_of_queries(dealership, base):
    scope = Scope.of(dealership)
    with CaptureQueriesContext(connection) as few:
        registry.report("customer-base").build(scope, Q1, {})
    for n in range(12):  # twelve more customers, lapsed and not, in the base of both runs
        customer(dealership, f"X{n}", D(2021, 1, 1), [(D(2025, 1 + n % 6, 1), "300"), (D(2026, 1, 2 + n), "300")])
    segmentation_run(dealership=dealership, reference_date=D(2026, 3, 31), force=True)
    with CaptureQueriesContext(connection) as many:
        registry.report("customer-base").build(scope, Q1, {})
    assert len(many) == len(few) + 0 <= 20
    for code in ("base.ab_share", "base.wakeup_rate", "base.retention_12m"):
        kpi = registry.kpi(code)
        with CaptureQueriesContext(connection) as queries:
            kpi.figures(scope, [Q1, Q1.previous(), Q1.last_year()])
        assert len(queries) <= 2, code
