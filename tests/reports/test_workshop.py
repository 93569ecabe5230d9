"""The workshop's figures and report on hand-built visits, appointments and a campaign, with the answers worked
out by hand: entries (distinct vehicle and day), revenue, the show rate, the 30-day return after a campaign;
comparisons, empty periods, other stores, a group of stores, query counts and the rows behind each figure."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, Invitation, TargetGroup
from customers.models import Appointment
from reports import registry
from reports.periods import Period
from reports.registry import Figure
from reports.scope import Scope
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

D = dt.date
MARCH = Period(D(2026, 3, 1), D(2026, 3, 31))
JANUARY = Period(D(2026, 1, 1), D(2026, 1, 31))
TODAY = dt.datetime(2026, 4, 15, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def visit(vehicle, day, amount, **fields):
    return ServiceVisitFactory(vehicle=vehicle, opened_on=day, closed_on=day, total_amount=Decimal(amount), **fields)


@pytest.fixture
def store(dealership, other_dealership):
    """Visits (amounts in yuan):

    v1 (c1): 03-02 maintenance 500 (first order that day), 03-02 repair 300, 03-10 maintenance 400
             → 2 entries, 3 visits; also 01-15 (attends the campaign) 100
    v2 (c2): 03-05 bodywork 2000 paid by insurance → 1 entry; 01-20 (attends) 100; 2025-03-15 700 (last year)
    v3 (c3): 02-20 maintenance 100 (the previous period)
    v4 (c4): 01-12 100, 02-05 50 (the holdout)
    another store's car: 03-02 9999 → never counted for SZ01
    March: entries 2 + 1 = 3; revenue 500 + 300 + 400 + 2000 = 3200.
    """
    cars = {}
    for n in range(1, 5):
        customer = CustomerFactory(dealership=dealership, customer_no=f"C{n}")
        cars[n] = VehicleFactory(owner=customer)
    visit(cars[1], D(2026, 3, 2), "500.00", visit_type="maintenance")
    visit(cars[1], D(2026, 3, 2), "300.00", visit_type="repair")
    visit(cars[1], D(2026, 3, 10), "400.00", visit_type="maintenance")
    visit(cars[1], D(2026, 1, 15), "100.00")
    visit(cars[2], D(2026, 3, 5), "2000.00", visit_type="bodywork", payer="insurance")
    visit(cars[2], D(2026, 1, 20), "100.00")
    visit(cars[2], D(2025, 3, 15), "700.00")
    visit(cars[3], D(2026, 2, 20), "100.00")
    visit(cars[4], D(2026, 1, 12), "100.00")
    visit(cars[4], D(2026, 2, 5), "50.00")
    foreign = VehicleFactory(owner=CustomerFactory(dealership=other_dealership, customer_no="G1"))
    visit(foreign, D(2026, 3, 2), "9999.00")
    return cars


def scope_of(*dealerships):
    return Scope.of(*dealerships)


# --- entries and revenue -------------------------------------------------------------------------------------


def test_entries_count_each_vehicle_once_a_day_and_revenue_every_visit(dealership, store):
    scope = scope_of(dealership)
    assert registry.kpi("workshop.entries").compute(scope, MARCH) == Figure(3)
    assert registry.kpi("workshop.revenue").compute(scope, MARCH) == Figure(Decimal("3200.00"))


def test_entries_compared_with_previous_period_and_last_year(dealership, store):
    # previous period of March (31 days): 2026-01-29 … 02-28: v3 02-20 (100) and v4 02-05 (50) → 2 entries, 150
    # last year: 2025-03-01 … 03-31: v2 2025-03-15 (700) → 1 entry, 700
    scope = scope_of(dealership)
    entries = registry.compare(registry.kpi("workshop.entries"), scope, MARCH)
    assert (entries.current.value, entries.previous.value, entries.last_year.value) == (3, 2, 1)
    assert entries.change_previous == Decimal("0.5")  # (3 − 2) ÷ 2
    revenue = registry.compare(registry.kpi("workshop.revenue"), scope, MARCH)
    assert revenue.previous.value == Decimal("150.00") and revenue.last_year.value == Decimal("700.00")


def test_an_empty_period_is_empty_not_zero(dealership, store):
    june = Period(D(2025, 6, 1), D(2025, 6, 30))
    for code in ("workshop.entries", "workshop.revenue", "workshop.show_rate", "workshop.return_30d"):
        assert registry.kpi(code).compute(scope_of(dealership), june).value is None, code


def test_another_store_is_never_counted_and_a_group_sums_both(dealership, other_dealership, store):
    assert registry.kpi("workshop.entries").compute(scope_of(other_dealership), MARCH) == Figure(1)
    group = scope_of(dealership, other_dealership)
    assert registry.kpi("workshop.entries").compute(group, MARCH) == Figure(4)  # 3 + 1
    assert registry.kpi("workshop.revenue").compute(group, MARCH) == Figure(Decimal("13199.00"))  # 3200 + 9999


def test_drill_rows_are_the_figures_rows(dealership, store):
    scope = scope_of(dealership)
    entries = registry.kpi("workshop.entries")
    rows = list(entries.rows(scope, MARCH, {}))
    assert len(rows) == 3  # one per entry: v1 03-02 (its first order, 500), v1 03-10, v2 03-05
    assert sorted(r.total_amount for r in rows) == [Decimal("400.00"), Decimal("500.00"), Decimal("2000.00")]
    revenue = list(registry.kpi("workshop.revenue").rows(scope, MARCH, {}))
    assert sum(r.total_amount for r in revenue) == Decimal("3200.00") and len(revenue) == 4
    # an entry counts under its first order's type: v1's 03-02 entry is maintenance, not repair
    assert entries.rows(scope, MARCH, {"visit_type": "maintenance"}).count() == 2
    assert entries.rows(scope, MARCH, {"visit_type": "repair"}).count() == 0
    assert entries.rows(scope, MARCH, {"month": "2026-03", "payer": "insurance"}).count() == 1
    assert entries.rows(scope, MARCH, {"month": "2026-02"}).count() == 0  # outside the period


def test_a_bad_drill_filter_is_a_400_not_a_500(dealership, store):
    from dealercrm.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        registry.kpi("workshop.entries").rows(scope_of(dealership), MARCH, {"month": "March"})
    with pytest.raises(ApplicationError):
        registry.kpi("workshop.revenue").rows(scope_of(dealership), MARCH, {"payer": "uncle"})


def test_many_periods_in_one_query(dealership, store):
    months = [Period(D(2026, m, 1), D(2026, m, 28)) for m in (1, 2, 3)]
    with CaptureQueriesContext(connection) as queries:
        figures = registry.kpi("workshop.entries").figures(scope_of(dealership), months)
    assert len(queries) == 1
    # January 1–28: v1 01-15, v2 01-20, v4 01-12 → 3; February 1–28: v3, v4 → 2; March 1–28: 3
    assert [f.value for f in figures] == [3, 2, 3]


# --- show rate -----------------------------------------------------------------------------------------------


def appointment(dealership, customer, day, status):
    return Appointment.objects.create(dealership=dealership, customer=customer, date=day, status=status)


def test_show_rate_counts_passed_days_and_leaves_cancelled_out(dealership, store):
    c1 = store[1].owner
    kept = appointment(dealership, c1, D(2026, 3, 3), "arrived")
    appointment(dealership, c1, D(2026, 3, 4), "no_show")
    appointment(dealership, c1, D(2026, 3, 5), "booked")  # not marked after its day: not kept
    appointment(dealership, c1, D(2026, 3, 6), "cancelled")  # counts neither way
    # March: arrived 1 ÷ due 3 (arrived, no-show, still booked)
    show = registry.kpi("workshop.show_rate")
    assert show.compute(scope_of(dealership), MARCH) == Figure(Decimal(1) / Decimal(3), 1, 3)
    assert list(show.rows(scope_of(dealership), MARCH, {})) == [kept]
    # April, today 04-15: the 04-14 arrival counts, today's and the 04-20 booking not yet → 1 ÷ 1
    appointment(dealership, c1, D(2026, 4, 14), "arrived")
    appointment(dealership, c1, D(2026, 4, 15), "arrived")
    appointment(dealership, c1, D(2026, 4, 20), "booked")
    april = Period(D(2026, 4, 1), D(2026, 4, 30))
    assert show.compute(scope_of(dealership), april) == Figure(Decimal(1), 1, 1)


# --- 30-day return -------------------------------------------------------------------------------------------


def make_campaign(dealership, code, starts, ends, invitees):
    campaign = Campaign.objects.create(
        dealership=dealership,
        code=code,
        name=code,
        kind="maintenance",
        starts_on=starts,
        ends_on=ends,
        status=Campaign.Status.FINISHED,
    )
    group = TargetGroup.objects.create(campaign=campaign, name="盈利忠诚群")
    for customer, holdout in invitees:
        Invitation.objects.create(
            campaign=campaign, target_group=group, customer=customer, holdout=holdout, created_at=timezone.now()
        )
    return campaign


def test_return_rate_within_30_days_after_the_campaign(dealership, store):
    # Campaign 01-10 … 01-31. c1 attended (01-15) and came back 03-02 = day 30 after → back;
    # c2 attended (01-20), next visit 03-05 = day 33 → not back; c3 did not attend (02-20 only) → not counted;
    # c4 is the holdout → not counted. January: 1 ÷ 2.
    c = {n: store[n].owner for n in store}
    make_campaign(
        dealership, "JAN26", D(2026, 1, 10), D(2026, 1, 31), [(c[1], False), (c[2], False), (c[3], False), (c[4], True)]
    )
    kpi = registry.kpi("workshop.return_30d")
    assert kpi.compute(scope_of(dealership), JANUARY) == Figure(Decimal("0.5"), 1, 2)
    assert list(kpi.rows(scope_of(dealership), JANUARY, {})) == [c[1]]


def test_a_campaign_whose_30_days_are_not_over_waits(dealership, store):
    # c1 attends (03-25) a campaign ending 04-01: its 30 days run to 05-01, after today (04-15) → left out
    visit(store[1], D(2026, 3, 25), "80.00")
    make_campaign(dealership, "APR26", D(2026, 3, 20), D(2026, 4, 1), [(store[1].owner, False)])
    april = Period(D(2026, 4, 1), D(2026, 4, 30))
    assert registry.kpi("workshop.return_30d").compute(scope_of(dealership), april).empty


# --- the report ----------------------------------------------------------------------------------------------


def tables(scope, period):
    return {t.key: t for t in registry.report("workshop").build(scope, period, {})}


def test_report_tables(dealership, store):
    make_campaign(
        dealership, "JAN26", D(2026, 1, 10), D(2026, 1, 31), [(store[1].owner, False), (store[2].owner, False)]
    )
    appointment(dealership, store[1].owner, D(2026, 3, 3), "arrived")
    appointment(dealership, store[1].owner, D(2026, 3, 4), "no_show")
    quarter = Period(D(2026, 1, 1), D(2026, 3, 31))
    built = tables(scope_of(dealership), quarter)
    months = built["months"]
    # January: v1 01-15, v2 01-20, v4 01-12 → 3 entries, 300; February: v3, v4 → 2, 150; March: 3, 3200
    assert [(r["month"], r["entries"], r["revenue"]) for r in months.rows] == [
        ("2026-01", 3, Decimal("300.00")),
        ("2026-02", 2, Decimal("150.00")),
        ("2026-03", 3, Decimal("3200.00")),
    ]
    assert months.totals["entries"] == 8 and months.totals["revenue"] == Decimal("3650.00")
    assert "month=2026-03" in months.rows[2]["_links"]["entries"]
    by_type = {r["month"]: r for r in built["by_visit_type"].rows}
    assert by_type["2026-03"]["entries_maintenance"] == 2 and by_type["2026-03"]["entries_repair"] == 0
    assert by_type["2026-03"]["revenue_repair"] == Decimal("300.00")
    assert by_type["2026-03"]["entries_bodywork"] == 1
    assert built["by_visit_type"].totals["entries_maintenance"] == 7  # all but v2's bodywork
    by_payer = {r["month"]: r for r in built["by_payer"].rows}
    assert by_payer["2026-03"]["entries_insurance"] == 1 and by_payer["2026-03"]["entries_customer"] == 2
    show = built["show_rate"]
    assert show.rows[0]["month"] == "2026-03" and show.rows[0]["show_rate"] == Decimal("0.5")
    returns = built["return_30d"]
    assert [(r["attended"], r["back"], r["rate"]) for r in returns.rows] == [(2, 1, Decimal("0.5"))]


def test_return_table_counts_each_campaign_and_a_shared_customer_once_in_the_total(dealership, store):
    # JAN26 (01-10 … 01-31): c1 attended (01-15) and came back 03-02 (day 30); c2 attended (01-20), back only on
    # day 33 → 2 attended, 1 back. JAN27 (01-12 … 01-20): c1 attended (01-15), next visit 03-02 = day 41 → not
    # back: 1 attended, 0 back; c4 attended (01-12) but is its holdout → not counted. DEC25 (2025-12-01 …
    # 2026-01-05): c3 invited, no visit then → a row of 0 ÷ 0 (rate empty), not left out. Total: c1 once + c2 →
    # 2 attended; back: c1 (after JAN26) → 1 → 50 %, the figure's own counts; campaigns by their last day.
    c = {n: store[n].owner for n in store}
    make_campaign(dealership, "JAN26", D(2026, 1, 10), D(2026, 1, 31), [(c[1], False), (c[2], False)])
    make_campaign(dealership, "JAN27", D(2026, 1, 12), D(2026, 1, 20), [(c[1], False), (c[4], True)])
    make_campaign(dealership, "DEC25", D(2025, 12, 1), D(2026, 1, 5), [(c[3], False)])
    quarter = Period(D(2026, 1, 1), D(2026, 3, 31))
    returns = tables(scope_of(dealership), quarter)["return_30d"]
    assert [(r["campaign"], r["attended"], r["back"], r["rate"]) for r in returns.rows] == [
        ("DEC25 · DEC25", 0, 0, None),
        ("JAN27 · JAN27", 1, 0, Decimal("0")),
        ("JAN26 · JAN26", 2, 1, Decimal("0.5")),
    ]
    assert (returns.totals["attended"], returns.totals["back"], returns.totals["rate"]) == (2, 1, Decimal("0.5"))
    figure = registry.kpi("workshop.return_30d").compute(scope_of(dealership), quarter)
    assert (figure.denominator, figure.numerator, figure.value) == (2, 1, Decimal("0.5"))


def test_an_empty_period_gives_empty_tables(dealership, store):
    built = tables(scope_of(dealership), Period(D(2024, 1, 1), D(2024, 3, 31)))
    assert all(not t.rows and t.totals is None for t in built.values())


def test_the_report_is_a_fixed_number_of_queries(dealership, store):
    quarter = Period(D(2026, 1, 1), D(2026, 3, 31))
    make_campaign(dealership, "JAN26", D(2026, 1, 10), D(2026, 1, 31), [(store[1].owner, False)])
    with CaptureQueriesContext(connection) as few:
        tables(scope_of(dealership), quarter)
    # ten times the rows: more cars, visits, appointments and invitations
    for n in range(10):
        car = VehicleFactory(owner=CustomerFactory(dealership=dealership))
        visit(car, D(2026, 2, 1 + n), "10.00", payer="warranty")
        visit(car, D(2026, 3, 1 + n), "10.00", visit_type="other")
        appointment(dealership, car.owner, D(2026, 3, 1 + n), "arrived")
    make_campaign(dealership, "JAN27", D(2026, 1, 1), D(2026, 1, 20), [(store[2].owner, False)])
    with CaptureQueriesContext(connection) as many:
        tables(scope_of(dealership), quarter)
    assert len(many) == len(few) <= 8
