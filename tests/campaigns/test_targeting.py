"""Which customers a target group matches, and through which vehicle (campaigns.targeting)."""

from datetime import date, timedelta

import numpy as np
import pytest

from campaigns import selectors, services
from campaigns.models import Invitation
from campaigns.targeting import age_band_condition, filter_errors, matching, years_before
from customers import services as customer_services
from customers.models import Vehicle
from dealercrm.core.exceptions import ApplicationError
from segmentation.engine import age_bands
from segmentation.models import AgeBand, CustomerSegment, SegmentationRun
from segmentation.tagging import TAG_BITS, customer_tag_add, tag_create
from tests.campaigns.conftest import START, generate
from tests.factories import CustomerFactory, VehicleFactory


def matched(group) -> dict[int, int | None]:
    """{customer id: vehicle id} of the customers ``group`` matches."""
    return {row["customer_id"]: row["vehicle_id"] for row in matching(group)}


# --- the customer's segmentation result ------------------------------------------------------------------


@pytest.fixture
def four(person):
    """Four customers who differ in every segment dimension."""
    return {
        "loyal_a": person(
            c3_group="profitable_loyal", tier="A", value_layer="high", lapsed=False, last_visit_on=date(2026, 9, 1)
        ),
        "lowcost_b": person(
            c3_group="low_cost", tier="B", value_layer="mid", lapsed=False, last_visit_on=date(2026, 7, 15)
        ),
        "nogroup_d": person(
            c3_group="", tier="D", value_layer="potential", lapsed=True, last_visit_on=date(2024, 1, 10)
        ),
        "mining_c": person(
            c3_group="mining", tier="C", value_layer="potential", lapsed=True, last_visit_on=date(2026, 3, 1)
        ),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"c3_group": ["profitable_loyal"]}, {"loyal_a"}),
        ({"c3_group": ["none"]}, {"nogroup_d"}),  # "none": in no C3 group (no visit in the window)
        ({"c3_group": ["low_cost", "none"]}, {"lowcost_b", "nogroup_d"}),
        ({"tier": ["A", "B"]}, {"loyal_a", "lowcost_b"}),
        ({"tier": ["D"]}, {"nogroup_d"}),
        ({"value_layer": ["high"]}, {"loyal_a"}),
        ({"value_layer": ["potential"]}, {"nogroup_d", "mining_c"}),
        ({"lapsed": True}, {"nogroup_d", "mining_c"}),
        ({"lapsed": False}, {"loyal_a", "lowcost_b"}),
        ({"last_visit_after": "2026-07-15"}, {"loyal_a", "lowcost_b"}),  # both ends inclusive
        ({"last_visit_before": "2026-03-01"}, {"nogroup_d", "mining_c"}),
        ({"last_visit_after": "2026-03-01", "last_visit_before": "2026-07-15"}, {"lowcost_b", "mining_c"}),
        ({"c3_group": ["profitable_loyal", "low_cost"], "tier": ["B"]}, {"lowcost_b"}),  # keys: all of them
        ({}, {"loyal_a", "lowcost_b", "nogroup_d", "mining_c"}),  # no filter: every eligible customer
    ],
    ids=lambda value: str(value) if isinstance(value, dict) else "",
)
def test_each_segment_filter_selects_the_customers_whose_current_result_has_it(four, make_group, filters, expected):
    # Given four customers of different groups, tiers, layers and last visits
    # When a target group filters on them
    group = make_group(filters)

    # Then exactly the customers with those values match
    assert set(matched(group)) == {four[name].pk for name in expected}


def test_automatic_tags_match_by_their_bit_and_staff_tags_by_their_link(dealership, person, make_group):
    green = person(tags=TAG_BITS["new_energy"] | TAG_BITS["high_value"])
    lapsed = person(tags=TAG_BITS["lapsed"])
    club = person(tags=0)
    plain = person(tags=0)
    vip = tag_create(dealership=dealership, code="vip_club", name="车友会", kind="source")
    customer_tag_add(customer=club, tag=vip)

    assert set(matched(make_group({"tags": ["new_energy"]}))) == {green.pk}
    assert set(matched(make_group({"tags": ["high_value"]}))) == {green.pk}
    assert set(matched(make_group({"tags": ["new_energy", "lapsed"]}))) == {green.pk, lapsed.pk}  # any of them
    assert set(matched(make_group({"tags": ["vip_club"]}))) == {club.pk}
    assert set(matched(make_group({"tags": ["vip_club", "lapsed"]}))) == {club.pk, lapsed.pk}
    assert set(matched(make_group({"tags": ["no_such_tag"]}))) == set()  # a staff tag the store lacks: nobody
    assert plain.pk not in matched(make_group({"tags": ["new_energy", "lapsed", "vip_club"]}))


def test_a_staff_tag_of_another_dealership_with_the_same_code_matches_nobody_here(
    dealership, other_dealership, person, make_group
):
    here = person()
    theirs = tag_create(dealership=other_dealership, code="vip_club", name="车友会", kind="source")
    customer_tag_add(customer=CustomerFactory(dealership=other_dealership), tag=theirs)

    assert matched(make_group({"tags": ["vip_club"]})) == {}
    assert here.pk in matched(make_group({}))


def test_customers_without_a_current_result_match_only_groups_without_segment_conditions(
    dealership, run, person, make_group
):
    # Given a customer never segmented, and one whose only result was closed by a later run
    never = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=never)
    closed = person(c3_group="", tier="D")
    later = SegmentationRun.objects.create(
        dealership=dealership, rule_set=run.rule_set, reference_date=START, status=SegmentationRun.Status.SUCCEEDED
    )
    CustomerSegment.objects.filter(customer=closed).update(valid_to=later)
    current = person(c3_group="", tier="D")

    # Then a condition on the result needs a current result, even "in no C3 group"
    assert set(matched(make_group({"c3_group": ["none"]}))) == {current.pk}
    assert set(matched(make_group({"tier": ["D"]}))) == {current.pk}
    assert set(matched(make_group({"tags": ["lapsed", "vip"]}))) == set()
    # and groups on vehicles only (or on nothing) take them
    assert set(matched(make_group({"models": ["新君越"]}))) == {never.pk, closed.pk, current.pk}
    assert set(matched(make_group({}))) == {never.pk, closed.pk, current.pk}


# --- the vehicle ------------------------------------------------------------------------------------------


def test_models_and_plate_prefix_select_by_the_customers_vehicles(person, make_group):
    gl8 = person(model="GL8")
    luzun = person(model="陆尊", plate="粤A12345")
    junyue = person(model="新君越")

    assert set(matched(make_group({"models": ["GL8", "陆尊"]}))) == {gl8.pk, luzun.pk}
    assert set(matched(make_group({"models": [" GL8 "]}))) == {gl8.pk}  # names are trimmed
    assert set(matched(make_group({"plate_prefix": "粤A"}))) == {luzun.pk}
    assert set(matched(make_group({"plate_prefix": " 粤a "}))) == {luzun.pk}  # trimmed, upper case
    assert set(matched(make_group({"plate_prefix": "粤B"}))) == {gl8.pk, junyue.pk}


def test_a_customer_matches_through_the_lowest_matching_vehicle_and_the_invitation_names_it(person, make_group, agent):
    # Given a customer with a 新君越 (the lower id) and a GL8, and a customer without any vehicle
    owner = person(model="新君越")
    junyue = owner.vehicles.get()
    gl8 = VehicleFactory(owner=owner, model="GL8")
    assert junyue.pk < gl8.pk
    carless = person(vehicles=0)

    # Then a group on GL8 matches through the GL8 only, a group on both models through the lower id,
    # and a group without vehicle conditions names the lowest id too (or none)
    assert matched(make_group({"models": ["GL8"]})) == {owner.pk: gl8.pk}
    assert matched(make_group({"models": ["GL8", "新君越"]})) == {owner.pk: junyue.pk}
    assert matched(make_group({})) == {owner.pk: junyue.pk, carless.pk: None}


def test_the_invitation_names_the_vehicle_the_customer_matched_through(person, campaign, make_group, agent, frozen):
    owner = person(model="新君越")
    gl8 = VehicleFactory(owner=owner, model="GL8")
    make_group({"models": ["GL8"]})

    generate(campaign, [agent])

    assert Invitation.objects.get(campaign=campaign, customer=owner).vehicle == gl8


def test_every_vehicle_condition_must_hold_on_one_and_the_same_vehicle(person, make_group):
    # Given a customer whose GL8 has a 粤B plate and whose 新君越 a 粤A plate
    owner = person(model="新君越", plate="粤A12345")
    gl8 = VehicleFactory(owner=owner, model="GL8", plate="粤B67890")

    # Then "GL8 with a 粤A plate" matches no vehicle of theirs, "GL8 with a 粤B plate" the GL8
    assert matched(make_group({"models": ["GL8"], "plate_prefix": "粤A"})) == {}
    assert matched(make_group({"models": ["GL8"], "plate_prefix": "粤B"})) == {owner.pk: gl8.pk}


def test_a_sold_vehicle_counts_for_its_current_owner_only(dealership, person, make_group):
    seller = person(model="GL8")
    buyer = person(model="新君越")
    car = seller.vehicles.get()

    customer_services.vehicle_transfer(vehicle=car, new_owner=buyer, on=date(2026, 10, 1))

    assert matched(make_group({"models": ["GL8"]})) == {buyer.pk: car.pk}


# --- vehicle age band on the campaign's first day ---------------------------------------------------------

BOUNDARIES = [
    # (first day of the campaign, purchase date, age band on the first day)
    (START, date(2026, 11, 20), "<1"),  # bought on the first day
    (START, date(2025, 11, 21), "<1"),
    (START, date(2025, 11, 20), "1-2"),  # exactly one year: the lower bound is inclusive
    (START, date(2024, 11, 21), "1-2"),
    (START, date(2024, 11, 20), "2-3"),  # SPEC: "a car exactly 2 years old is 2-3"
    (START, date(2023, 11, 21), "2-3"),
    (START, date(2023, 11, 20), "3-5"),
    (START, date(2021, 11, 21), "3-5"),
    (START, date(2021, 11, 20), "5+"),
    # bought on 29 February: a full year later in a common year is 1 March, not 28 February
    (date(2025, 2, 28), date(2024, 2, 29), "<1"),
    (date(2025, 3, 1), date(2024, 2, 29), "1-2"),
    (date(2027, 2, 28), date(2024, 2, 29), "2-3"),
    (date(2027, 3, 1), date(2024, 2, 29), "3-5"),
    (date(2028, 2, 29), date(2024, 2, 29), "3-5"),  # exactly four years
    # a campaign that starts on 29 February
    (date(2028, 2, 29), date(2027, 2, 28), "1-2"),
    (date(2028, 2, 29), date(2027, 3, 1), "<1"),
    (date(2028, 2, 29), date(2023, 2, 28), "5+"),
    (date(2028, 2, 29), date(2023, 3, 1), "3-5"),
]


@pytest.mark.parametrize(("first_day", "bought", "band"), BOUNDARIES, ids=lambda v: str(v))
def test_the_age_band_is_taken_on_the_campaigns_first_day_with_exact_boundaries(
    dealership, person, first_day, bought, band
):
    # Given a campaign starting on ``first_day`` and a car bought on ``bought``
    campaign = services.campaign_create(
        dealership=dealership,
        code="AGE",
        name="车龄",
        kind="maintenance",
        starts_on=first_day,
        ends_on=first_day + timedelta(days=30),
    )
    owner = person(bought=bought)
    others = [b for b in AgeBand.values if b != band]

    # When groups filter on its band and on every other band
    mine = services.target_group_create(campaign=campaign, name="本段", filters={"age_band": [band]})
    rest = services.target_group_create(campaign=campaign, name="其他", filters={"age_band": others})

    # Then only the group of its band matches it
    assert owner.pk in matched(mine)
    assert owner.pk not in matched(rest)


def test_a_car_bought_after_the_first_day_or_with_no_purchase_date_is_in_no_band(person, make_group):
    person(bought=START + timedelta(days=1))
    person(bought=None)

    assert matched(make_group({"age_band": list(AgeBand.values)})) == {}


def test_the_age_band_uses_the_first_day_not_today(person, make_group, frozen):
    # Given today is 1 December, the campaign started on 20 November, a car bought on 25 November 2025
    owner = person(bought=date(2025, 11, 25))

    # Then on the first day it was under a year old (today it is over a year)
    assert owner.pk in matched(make_group({"age_band": ["<1"]}))
    assert owner.pk not in matched(make_group({"age_band": ["1-2"]}))


@pytest.mark.parametrize("first_day", [START, date(2027, 2, 28), date(2027, 3, 1), date(2028, 2, 29)])
def test_the_purchase_date_ranges_agree_with_the_segmentation_engine_around_every_boundary(dealership, first_day):
    # Given cars bought on every day around each band boundary and around 29 February
    owner = CustomerFactory(dealership=dealership)
    days = set()
    for years in (0, 1, 2, 3, 5):
        edge = years_before(first_day, years)
        days |= {edge + timedelta(days=d) for d in (-2, -1, 0, 1, 2)}
    for year in range(first_day.year - 6, first_day.year + 1):
        days |= {date(year, 2, 28), date(year, 3, 1)} | ({date(year, 2, 29)} if year % 4 == 0 else set())
    cars = {VehicleFactory(owner=owner, purchase_date=day).pk: day for day in sorted(days)}

    # When each band is turned into purchase-date ranges
    found = {
        band: set(
            Vehicle.objects.filter(pk__in=cars)
            .filter(age_band_condition([band], first_day))
            .values_list("pk", flat=True)
        )
        for band in AgeBand.values
    }

    # Then each car is in the band the segmentation engine gives it on that day (and in one band at most)
    engine = age_bands(np.array(list(cars.values()), dtype="datetime64[D]"), first_day)
    for (pk, day), band in zip(cars.items(), engine, strict=True):
        assert {b for b, pks in found.items() if pk in pks} == ({band} if band else set()), day


# --- eligibility and the order of groups ------------------------------------------------------------------


def test_customers_without_consent_on_do_not_contact_or_with_a_wrong_number_never_match(
    person, make_group, campaign, agent, frozen
):
    ok = person()
    person(marketing_consent=False)
    person(do_not_contact=True)
    person(flag_wrong_number=True)
    group = make_group({})

    assert set(matched(group)) == {ok.pk}
    generate(campaign, [agent])
    assert list(Invitation.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == [ok.pk]
    assert selectors.ineligible_counts(dealership=campaign.dealership) == {
        "no_consent": 1,
        "do_not_contact": 1,
        "wrong_number": 1,
        "eligible": 1,
    }


def test_a_customer_is_invited_once_in_the_first_group_by_position_that_matches(
    person, campaign, make_group, agent, frozen
):
    # Given a tier-A group created first but placed second, and a loyal group placed first
    both = person(c3_group="profitable_loyal", tier="A")
    tier_only = person(c3_group="low_cost", tier="A")
    by_tier = make_group({"tier": ["A"]}, name="A级", position=2)
    loyal = make_group({"c3_group": ["profitable_loyal"]}, name="盈利忠诚", position=1)

    # Then the preview and the list put the customer matching both in the first group by position
    rows = {row["group"].pk: row for row in selectors.preview(campaign=campaign)}
    assert (rows[loyal.pk]["matches"], rows[loyal.pk]["would_add"]) == (1, 1)
    assert (rows[by_tier.pk]["matches"], rows[by_tier.pk]["would_add"]) == (2, 1)
    result = generate(campaign, [agent])
    assert result["per_group"] == {loyal.pk: 1, by_tier.pk: 1}
    invited = dict(Invitation.objects.filter(campaign=campaign).values_list("customer_id", "target_group_id"))
    assert invited == {both.pk: loyal.pk, tier_only.pk: by_tier.pk}


# --- bad filters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"colour": ["red"]}, "Unknown filter: colour."),
        ({"c3_group": ["gold"]}, "Unknown code in “c3_group”: gold"),
        ({"tier": ["E"]}, "Unknown code in “tier”: E (known: A, B, C, D)."),
        ({"value_layer": ["vip"]}, "Unknown code in “value_layer”: vip"),
        ({"age_band": ["2-4"]}, "Unknown code in “age_band”: 2-4"),
        ({"tier": "A"}, "“tier” must be a list of codes."),
        ({"models": "GL8"}, "“models” must be a list of names."),
        ({"models": ["GL8", " "]}, "“models” must be a list of names."),
        ({"tags": [3]}, "“tags” must be a list of names."),
        ({"lapsed": "yes"}, "“lapsed” is true, false or absent."),
        ({"plate_prefix": 5}, "“plate_prefix” must be text, such as 粤B."),
        ({"last_visit_after": "2026/13/01"}, "“last_visit_after” is not a date (YYYY-MM-DD): 2026/13/01."),
        ({"last_visit_before": "2026-02-30"}, "“last_visit_before” is not a date (YYYY-MM-DD): 2026-02-30."),
        ({"last_visit_after": 20260101}, "“last_visit_after” is not a date (YYYY-MM-DD): 20260101."),
        (
            {"last_visit_after": "2026-06-01", "last_visit_before": "2026-05-01"},
            "The last-visit range ends before it starts.",
        ),
    ],
)
def test_bad_filters_are_named_one_message_per_problem(campaign, filters, message):
    errors = filter_errors(filters)
    assert len(errors) == 1 and errors[0].startswith(message)
    with pytest.raises(ApplicationError) as refused:
        services.target_group_create(campaign=campaign, name="错", filters=filters)
    assert message in refused.value.message
    assert not campaign.target_groups.exists()


def test_every_problem_of_a_filter_is_reported_at_once_and_good_filters_have_none():
    assert filter_errors([]) == ["The filters must be an object of codes."]
    assert len(filter_errors({"tier": ["E"], "lapsed": 1.5, "models": "GL8", "x": 1})) == 4
    good = {
        "c3_group": ["profitable_loyal", "none"],
        "tier": ["A"],
        "value_layer": ["high"],
        "lapsed": False,
        "models": ["GL8"],
        "age_band": ["1-2", "2-3"],
        "plate_prefix": "粤B",
        "last_visit_after": "2026-01-01",
        "last_visit_before": "2026-06-30",
        "tags": ["new_energy", "vip_club"],
    }
    assert filter_errors(good) == []
