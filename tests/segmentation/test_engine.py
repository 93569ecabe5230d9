"""The segmentation run against hand-built customers: every C3 group, each threshold at its boundary, tiers,
layers, lapsed customers and due dates, exactly as SPEC "Segmentation" defines them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from customers.models import MileageReading, VehicleOwnership, VisitType
from segmentation.models import CustomerSegment, RuleSet, SegmentationRun, VehicleForecast
from segmentation.selectors import customer_segments_at
from segmentation.services import ruleset_current, ruleset_update, segmentation_run
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

REF = date(2025, 6, 30)
M, R, B, W = VisitType.MAINTENANCE, VisitType.REPAIR, VisitType.BODYWORK, VisitType.WARRANTY


def before(days: int) -> date:
    return REF - timedelta(days=days)


def build(dealership, visits, *, bought_days_ago=1200, brand="别克"):
    """A customer with one car bought ``bought_days_ago`` days before REF and ``visits``:
    (days before REF, visit type, amount[, mileage])."""
    vehicle = VehicleFactory(
        owner=CustomerFactory(dealership=dealership),
        purchase_date=before(bought_days_ago) if bought_days_ago is not None else None,
        brand=brand,
    )
    for days, kind, amount, *mileage in visits:
        ServiceVisitFactory(
            vehicle=vehicle,
            opened_on=before(days),
            closed_on=before(days),
            visit_type=kind,
            labor_amount=Decimal(amount),
            parts_amount=Decimal("0"),
            total_amount=Decimal(amount),
            mileage_km=mileage[0] if mileage else None,
        )
    return vehicle.owner


def fixed_value(dealership, amount="5000"):
    """Rules whose value threshold is a fixed spend per year (so that one customer's result does not
    depend on the others' through the median)."""
    ruleset_current(dealership=dealership)
    return ruleset_update(
        dealership=dealership, changes={"value_threshold_mode": "fixed", "value_threshold_fixed": Decimal(amount)}
    )


def result(run, customer) -> CustomerSegment:
    return customer_segments_at(run=run).get(customer=customer)


def run(dealership, **kwargs) -> SegmentationRun:
    return segmentation_run(dealership=dealership, reference_date=kwargs.pop("on", REF), **kwargs)


# --- C3 groups --------------------------------------------------------------------------------------------

# Over the full two-year window: 4 maintenance visits are 2.0 a year (high), 1 is 0.5 (low); ¥12,000 is
# ¥6,000 a year (high against ¥5,000), ¥2,000 is ¥1,000 (low); the repair share is 70 % (high) or 20 % (low).
CELLS = {
    "HHH": "profitable_loyal",
    "HHL": "split_loyal",
    "LHH": "high_risk",
    "LHL": "high_opportunity",
    "HLH": "high_cost",
    "HLL": "mining",
    "LLH": "low_cost",
    "LLL": "mysterious_opportunity",
}


def visits_for(cell: str):
    maintenance_visits = 4 if cell[0] == "H" else 1
    total = Decimal(12000 if cell[1] == "H" else 2000)
    repair_share = Decimal("0.7") if cell[2] == "H" else Decimal("0.2")
    repair = total * repair_share
    each = (total - repair) / maintenance_visits
    return [(30 + 150 * i, M, each) for i in range(maintenance_visits)] + [(60, R, repair)]


@pytest.mark.parametrize(("cell", "group"), CELLS.items())
def test_each_cell_of_the_c3_table_gives_its_group(dealership, cell, group):
    fixed_value(dealership)
    customer = build(dealership, visits_for(cell))

    assert result(run(dealership), customer).c3_group == group


def test_all_eight_groups_in_one_run_and_their_counts(dealership):
    fixed_value(dealership)
    for cell in CELLS:
        build(dealership, visits_for(cell))
    build(dealership, [])  # no visit at all: no group

    done = run(dealership)

    assert done.counts["c3"] == {**dict.fromkeys(CELLS.values(), 1), "": 1}
    assert done.customers == 9 and done.active_customers == 8


def test_the_mapping_is_part_of_the_rules(dealership):
    fixed_value(dealership)
    customer = build(dealership, visits_for("LLH"))
    mapping = {**RuleSet().c3_mapping, "LLH": "mysterious_opportunity", "LLL": "low_cost"}
    ruleset_update(dealership=dealership, changes={"c3_mapping": mapping})

    assert result(run(dealership), customer).c3_group == "mysterious_opportunity"


# --- thresholds, exactly --------------------------------------------------------------------------------


def test_maintenance_exactly_at_the_threshold_is_high_and_just_below_is_low(dealership):
    fixed_value(dealership, "999999")
    four = build(dealership, [(d, M, "500") for d in (10, 200, 400, 700)])  # 4 in 730 days = 2.0 a year
    three = build(dealership, [(d, M, "500") for d in (10, 200, 400)])  # 1.5
    outside = build(dealership, [(d, M, "500") for d in (10, 200, 400, 730)])  # the 4th is 730 days back: out

    done = run(dealership)

    assert result(done, four).c3_group == "mining"  # maintenance high, value low, repair low
    assert result(done, three).c3_group == "mysterious_opportunity"
    assert result(done, outside).c3_group == "mysterious_opportunity"


def test_a_car_bought_a_year_ago_with_two_maintenance_visits_counts_two_a_year(dealership):
    fixed_value(dealership, "999999")
    customer = build(dealership, [(30, M, "400"), (200, M, "400")], bought_days_ago=365)

    done = run(dealership)
    segment = result(done, customer)

    assert segment.c3_group == "mining"
    assert segment.rates(reference_date=REF, window_days=730)["maintenance_per_year"] == Decimal("2.0000")


def test_a_recent_buyer_counts_at_least_half_a_year(dealership):
    fixed_value(dealership, "999999")
    customer = build(dealership, [(10, M, "400")], bought_days_ago=30)  # 1 visit over 0.5 year = 2.0

    segment = result(run(dealership), customer)

    assert segment.c3_group == "mining"
    assert segment.rates(reference_date=REF, window_days=730)["maintenance_per_year"] == Decimal("2.0000")


def test_value_exactly_at_a_fixed_threshold_is_high_and_one_fen_less_is_low(dealership):
    fixed_value(dealership, "5000")
    at = build(dealership, [(30, M, "10000.00")])  # ¥10,000 over two years = ¥5,000 a year
    below = build(dealership, [(30, M, "9999.99")])

    done = run(dealership)

    assert result(done, at).c3_group == "high_opportunity"  # maintenance low, value high, repair low
    assert result(done, below).c3_group == "mysterious_opportunity"


def test_repair_share_exactly_one_half_is_high(dealership):
    fixed_value(dealership, "999999")
    half = build(dealership, [(30, M, "500"), (60, R, "500")])
    less = build(dealership, [(30, M, "500.01"), (60, R, "499.99")])

    done = run(dealership)

    assert result(done, half).c3_group == "low_cost"
    assert result(done, less).c3_group == "mysterious_opportunity"


def test_the_default_value_threshold_is_the_median_of_active_customers(dealership):
    # Yearly spends ¥1,000, ¥2,000, ¥3,000 (and a customer without visits, who is not active)
    spends = [build(dealership, [(30, M, str(2 * amount))]) for amount in (1000, 2000, 3000)]
    build(dealership, [])

    done = run(dealership)

    assert done.value_threshold == Decimal("2000.00")
    assert [result(done, c).c3_group for c in spends] == [
        "mysterious_opportunity",
        "high_opportunity",  # the median customer is at the threshold: high
        "high_opportunity",
    ]


def test_an_even_count_takes_the_mean_of_the_two_middle_values(dealership):
    customers = [build(dealership, [(30, M, str(2 * amount))]) for amount in (1000, 2000, 3000, 4000)]

    done = run(dealership)

    assert done.value_threshold == Decimal("2500.00")
    assert [result(done, c).c3_group == "high_opportunity" for c in customers] == [False, False, True, True]


def test_zero_amount_visits_count_as_visits_with_no_spend(dealership):
    fixed_value(dealership)
    customer = build(dealership, [(30, M, "0"), (90, R, "0")])

    segment = result(run(dealership), customer)

    assert segment.c3_group == "mysterious_opportunity"  # repair ratio 0 when nothing was spent
    assert segment.tier == "B"
    assert segment.rates(reference_date=REF, window_days=730)["repair_ratio"] == Decimal("0.0000")


def test_a_warranty_only_customer_has_a_repair_ratio_of_one(dealership):
    fixed_value(dealership)
    customer = build(dealership, [(30, W, "3000"), (90, W, "2000")])

    segment = result(run(dealership), customer)

    assert segment.c3_group == "low_cost"
    assert segment.rates(reference_date=REF, window_days=730)["repair_ratio"] == Decimal("1.0000")


def test_visits_after_the_reference_date_are_ignored(dealership):
    customer = build(dealership, [(-1, M, "800"), (-30, R, "5000")])

    segment = result(run(dealership), customer)

    assert (segment.c3_group, segment.tier, segment.lifetime_value, segment.last_visit_on) == ("", "D", 0, None)


def test_a_customer_without_visits_is_tier_d_in_no_group_and_not_lapsed(dealership):
    customer = build(dealership, [])

    segment = result(run(dealership), customer)

    assert (segment.c3_group, segment.tier, segment.value_layer, segment.lapsed) == ("", "D", "potential", False)


# --- tiers, layers, lapsed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "tier"),
    [
        ([10, 100, 300], "A"),
        ([10, 100, 364], "A"),
        ([10, 100, 365], "B"),  # 365 days back is outside the last 12 months
        ([10, 400], "C"),
        ([400, 500], "D"),
    ],
)
def test_tiers_count_visits_in_the_last_365_days(dealership, days, tier):
    customer = build(dealership, [(d, M, "300") for d in days])

    assert result(run(dealership), customer).tier == tier


@pytest.mark.parametrize(
    ("amounts", "layer"),
    [
        (["10000.01", "10000", "10000", "0"], "high"),  # ¥30,000.01 and 4 visits
        (["10000", "10000", "10000", "0"], "mid"),  # exactly ¥30,000 is not above it
        (["20000", "20000"], "mid"),  # ¥40,000 with 2 visits
        (["40000"], "potential"),  # with 1 visit
        (["5000", "5000"], "mid"),  # exactly ¥10,000 and 2 visits
        (["5000", "4999.99"], "potential"),
    ],
)
def test_value_layers_take_the_highest_whose_conditions_both_hold(dealership, amounts, layer):
    customer = build(dealership, [(10 + 30 * i, R, amount) for i, amount in enumerate(amounts)])

    assert result(run(dealership), customer).value_layer == layer


def test_lifetime_value_counts_every_visit_up_to_the_reference_date(dealership):
    customer = build(dealership, [(1500, R, "29000"), (10, M, "500"), (20, M, "500"), (30, M, "1"), (40, M, "0")])

    segment = result(run(dealership), customer)

    assert segment.lifetime_value == Decimal("30001.00")
    assert segment.value_layer == "high"


@pytest.mark.parametrize(("days", "lapsed"), [(183, True), (182, False), (400, True)])
def test_lapsed_means_the_last_visit_is_183_days_or_more_ago(dealership, days, lapsed):
    customer = build(dealership, [(days, M, "300"), (days + 200, M, "300")])

    assert result(run(dealership), customer).lapsed is lapsed


# --- vehicles -------------------------------------------------------------------------------------------


def forecast(done, vehicle) -> VehicleForecast:
    from segmentation.selectors import vehicle_forecasts_at

    return vehicle_forecasts_at(run=done).get(vehicle=vehicle)


@pytest.mark.parametrize(
    ("bought_days_ago", "band"),
    # REF is 2025-06-30: 365 days back is 2024-06-30 (one year), 731 days 2023-06-30 (two: 2024 is a leap year)
    [
        (0, "<1"),
        (364, "<1"),
        (365, "1-2"),
        (730, "1-2"),
        (731, "2-3"),
        (1096, "3-5"),
        (1825, "3-5"),
        (1826, "5+"),
        (None, ""),
    ],
)
def test_vehicle_age_bands_count_full_years(dealership, bought_days_ago, band):
    customer = build(dealership, [], bought_days_ago=bought_days_ago)
    vehicle = customer.vehicles.get()

    assert forecast(run(dealership), vehicle).age_band == band


def test_a_car_exactly_two_years_old_is_in_the_2_3_band(dealership):
    vehicle = VehicleFactory(owner=CustomerFactory(dealership=dealership), purchase_date=date(2023, 6, 30))

    assert forecast(run(dealership), vehicle).age_band == "2-3"


def test_one_maintenance_visit_is_due_again_after_the_schedule(dealership):
    vehicle = build(dealership, [(40, M, "500")]).vehicles.get()

    due = forecast(run(dealership), vehicle)

    assert (due.last_maintenance_on, due.interval_days, due.due_basis) == (before(40), 182, "schedule")
    assert due.next_due_on == before(40) + timedelta(days=182)


def test_a_shorter_own_interval_wins_over_the_schedule(dealership):
    vehicle = build(dealership, [(10, M, "500"), (130, M, "500"), (250, M, "500"), (260, R, "900")]).vehicles.get()

    due = forecast(run(dealership), vehicle)

    assert (due.interval_days, due.due_basis, due.next_due_on) == (120, "own", before(10) + timedelta(days=120))


def test_the_median_of_the_own_intervals_is_taken(dealership):
    # gaps 100, 150, 170 days: the median is 150
    vehicle = build(dealership, [(10, M, "1"), (180, M, "1"), (330, M, "1"), (430, M, "1")]).vehicles.get()

    assert forecast(run(dealership), vehicle).interval_days == 150


def test_daily_mileage_shortens_the_interval(dealership):
    # 6,000 km in 60 days is 100 km a day: 5,000 km come after 50 days
    vehicle = build(dealership, [(20, M, "500", 16000), (80, R, "900", 10000)]).vehicles.get()

    due = forecast(run(dealership), vehicle)

    assert (due.interval_days, due.due_basis, due.next_due_on) == (50, "mileage", before(20) + timedelta(days=50))


def test_readings_less_than_30_days_apart_give_no_daily_mileage(dealership):
    vehicle = build(dealership, [(20, M, "500", 16000)]).vehicles.get()
    MileageReading.objects.create(vehicle=vehicle, read_on=before(45), mileage_km=10000, source="counter")

    assert forecast(run(dealership), vehicle).due_basis == "schedule"


def test_a_brand_schedule_replaces_the_default(dealership):
    vehicle = build(dealership, [(40, M, "500")], brand="凯迪拉克").vehicles.get()
    ruleset_update(dealership=dealership, changes={"brand_schedules": {"凯迪拉克": {"interval_days": 365}}})

    due = forecast(run(dealership), vehicle)

    assert (due.interval_days, due.next_due_on) == (365, before(40) + timedelta(days=365))


def test_a_vehicle_never_maintained_has_no_due_date(dealership):
    vehicle = build(dealership, [(40, R, "500")]).vehicles.get()

    due = forecast(run(dealership), vehicle)

    assert (due.next_due_on, due.interval_days, due.due_basis) == (None, None, "")


def test_a_customer_who_changed_cars_is_observed_from_the_first_car(dealership):
    fixed_value(dealership, "999999")
    customer = build(dealership, [(600, M, "300"), (400, M, "300")], bought_days_ago=700)
    old_car = customer.vehicles.get()
    new_car = VehicleFactory(owner=customer, purchase_date=before(300))
    VehicleOwnership.objects.create(vehicle=old_car, customer=customer, started_on=before(700), ended_on=before(300))
    old_car.owner = CustomerFactory(dealership=dealership)
    old_car.save()
    for days in (100, 20):
        ServiceVisitFactory(
            vehicle=new_car, customer=customer, opened_on=before(days), closed_on=None, visit_type=M, total_amount=300
        )

    segment = result(run(dealership), customer)

    # 4 maintenance visits over 700 days: 2.09 a year (over the 300 days of the new car alone it would be 2.43)
    assert segment.observed_from == before(700)
    assert segment.rates(reference_date=REF, window_days=730)["maintenance_per_year"] == Decimal("2.0857")
    assert segment.c3_group == "mining"
