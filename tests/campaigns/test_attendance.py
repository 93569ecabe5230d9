"""Attendance and revenue of a campaign (campaigns.selectors): who came in the period, whatever the order of
call and visit or how the visit was recorded; non-target participants; overlapping campaigns; average ticket."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from campaigns import selectors, services
from campaigns.models import Invitation
from customers import services as customer_services
from customers.importing import run_import
from tests.campaigns.conftest import END, SHANGHAI, START, generate
from tests.customers.dms_files import VISIT_HEADER, visit_row, write_csv
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.usefixtures("frozen")


def visit(customer, day, total="500.00", **fields):
    return ServiceVisitFactory(
        vehicle=customer.vehicles.first(), opened_on=day, closed_on=day, total_amount=Decimal(total), **fields
    )


@pytest.fixture
def invite(campaign, person, make_group, agent):
    """``invite(n, **group fields)``: ``n`` customers on the running campaign's list (one group), in order."""

    def make(n, **fields):
        people = [person() for _ in range(n)]
        make_group({}, **fields)
        generate(campaign, [agent])
        return people

    return make


def attendance(campaign) -> dict[int, tuple[bool, Decimal]]:
    return {
        inv.customer_id: (inv.attended, inv.revenue) for inv in selectors.invitations_with_attendance(campaign=campaign)
    }


def test_a_visit_in_the_period_counts_before_or_after_the_call_and_one_outside_does_not(campaign, invite, agent):
    # Given six invitees, each called on 1 December, with visits on various days
    before_call, after_call, first_day, last_day, outside, never = invite(6)
    for inv in Invitation.objects.filter(campaign=campaign):
        services.call_record(invitation=inv, agent=agent, outcome="declined", reason="not_needed")
    visit(before_call, date(2026, 11, 22))
    visit(after_call, date(2026, 12, 10))
    visit(first_day, START)
    visit(last_day, END)
    visit(outside, date(2026, 11, 19))  # the day before the first
    visit(outside, date(2027, 1, 1))  # the day after the last

    # Then those with a visit in the period (both ends included) attended
    came = {c for c, (attended, _r) in attendance(campaign).items() if attended}
    assert came == {before_call.pk, after_call.pk, first_day.pk, last_day.pk}
    row = selectors.group_summary(campaign=campaign)[0]
    assert (row["invited"], row["attended"], row["attendance_rate"]) == (6, 4, 4 / 6)
    assert never.pk not in came


def test_revenue_sums_the_periods_visits_and_the_average_ticket_is_per_customer(campaign, invite):
    # Given one invitee with two visits in the period and one outside it, another with one visit
    regular, once, _absent = invite(3)
    visit(regular, date(2026, 11, 25), "800.00")
    visit(regular, date(2026, 12, 20), "700.50", visit_type="repair")
    visit(regular, date(2027, 1, 5), "999.00")
    visit(once, date(2026, 12, 1), "999.99")

    # Then each invitation's revenue is their period's visits, and the group's average ticket is per customer
    figures = attendance(campaign)
    assert figures[regular.pk] == (True, Decimal("1500.50"))
    assert figures[once.pk] == (True, Decimal("999.99"))
    assert figures[_absent.pk] == (False, Decimal("0.00"))
    row = selectors.group_summary(campaign=campaign)[0]
    assert (row["attended"], row["revenue"]) == (2, Decimal("2500.49"))
    assert row["average_ticket"] == Decimal("1250.25")  # 2,500.49 ÷ 2 = 1,250.245: half up (not to even)


def test_a_visit_imported_from_the_dms_later_counts_and_its_campaign_code_makes_a_non_target_participant(
    dealership, campaign, invite, agent, person, tmp_path, frozen
):
    # Given an invitee who accepted, and a customer who is not on the list
    (invitee,) = invite(1)
    inv = Invitation.objects.get(campaign=campaign)
    services.call_record(invitation=inv, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
    walk_in = CustomerFactory(dealership=dealership, marketing_consent=False)
    walk_in_car = VehicleFactory(owner=walk_in)
    assert not attendance(campaign)[invitee.pk][0]

    # When, a week later, the DMS export of December is imported, its repair orders of the invitee and of the
    # walk-in (who showed the campaign's flyer: code in lower case, as some DMS write it)
    frozen.move_to(datetime(2026, 12, 8, 10, tzinfo=SHANGHAI))  # a visit cannot be recorded before its day
    rows = [
        visit_row(
            1, vin=invitee.vehicles.get().vin, opened_at="2026-12-05", closed_at="2026-12-06", total_amount="1880.00"
        ),
        visit_row(
            2,
            vin=walk_in_car.vin,
            opened_at="2026-12-07",
            closed_at="2026-12-07",
            total_amount="640.00",
            campaign_code="summer26",
        ),
    ]
    result = run_import(dealership=dealership, files={"visits": write_csv(tmp_path / "visits.csv", VISIT_HEADER, rows)})
    assert result.errors == [] and result.files["visits"].created == 2

    # Then the invitee attended with that revenue, and the walk-in is a non-target participant
    assert attendance(campaign)[invitee.pk] == (True, Decimal("1880.00"))
    row = selectors.group_summary(campaign=campaign)[0]
    assert (row["booked"], row["attended"], row["revenue"]) == (1, 1, Decimal("1880.00"))
    assert selectors.non_target_participants(campaign=campaign) == {"customers": 1, "revenue": Decimal("640.00")}


def test_a_visit_recorded_at_the_counter_after_the_calls_counts(dealership, campaign, invite, advisor, frozen):
    (invitee,) = invite(1)
    car = invitee.vehicles.get()
    frozen.move_to(datetime(2026, 12, 3, 10, tzinfo=SHANGHAI))  # the day of the visit

    customer_services.visit_create(
        dealership=dealership,
        vehicle=car,
        acting_user=advisor,
        ro_number="RO-COUNTER-1",
        opened_on=date(2026, 12, 3),
        visit_type="maintenance",
        total_amount=Decimal("450.00"),
        campaign_code="SUMMER26",
    )

    assert attendance(campaign)[invitee.pk] == (True, Decimal("450.00"))
    assert selectors.non_target_participants(campaign=campaign) == {"customers": 0, "revenue": Decimal("0.00")}


def test_non_target_participants_are_customers_off_the_list_whose_visit_in_the_period_carries_the_code(
    dealership, other_dealership, campaign, invite
):
    # Given an invitee and a holdout who bring the code (they are on the list: targets, not non-targets)
    invitee, kept = invite(2, holdout_share="0.5")
    for customer in (invitee, kept):
        visit(customer, date(2026, 12, 2), "300.00", campaign_code="SUMMER26")
    assert Invitation.objects.filter(campaign=campaign, holdout=True).count() == 1
    # and customers off the list
    twice = CustomerFactory(dealership=dealership, marketing_consent=False)
    VehicleFactory(owner=twice)
    visit(twice, date(2026, 11, 21), "200.00", campaign_code="SUMMER26")
    visit(twice, date(2026, 12, 21), "250.00", campaign_code="SUMMER26")
    visit(twice, date(2026, 12, 22), "999.00")  # a visit without the code is not the campaign's revenue
    late = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=late)
    visit(late, date(2027, 1, 2), "400.00", campaign_code="SUMMER26")  # after the period
    plain = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=plain)
    visit(plain, date(2026, 12, 5), "400.00")  # no code
    other_code = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=other_code)
    visit(other_code, date(2026, 12, 5), "400.00", campaign_code="SPRING26")
    elsewhere = CustomerFactory(dealership=other_dealership)
    VehicleFactory(owner=elsewhere)
    visit(elsewhere, date(2026, 12, 5), "400.00", campaign_code="SUMMER26")  # another store's SUMMER26

    # Then one customer took part off the list, with the revenue of their two coded visits
    assert selectors.non_target_participants(campaign=campaign) == {"customers": 1, "revenue": Decimal("450.00")}


def test_overlapping_campaigns_each_count_a_visit_once(dealership, campaign, person, agent):
    # Given a customer invited by two campaigns whose periods overlap, and one visit in the overlap
    customer = person()
    other = person()
    winter = services.campaign_create(
        dealership=dealership,
        code="WINTER",
        name="冬季检测",
        kind="seasonal",
        starts_on=date(2026, 12, 1),
        ends_on=date(2027, 1, 31),
    )
    for c in (campaign, winter):
        services.target_group_create(campaign=c, name="所有", filters={})
        services.target_group_create(campaign=c, name="空", filters={"tier": ["D"]})
        generate(c, [agent])
    visit(customer, date(2026, 12, 10), "600.00")
    visit(other, date(2027, 1, 10), "300.00")  # in the second campaign's period only

    # Then each campaign counts the visit, once, with its revenue once
    for c, attended, revenue in ((campaign, 1, "600.00"), (winter, 2, "900.00")):
        first, empty = selectors.group_summary(campaign=c)
        assert (first["invited"], first["attended"], first["revenue"]) == (2, attended, Decimal(revenue))
        assert (empty["invited"], empty["attended"], empty["revenue"]) == (0, 0, Decimal("0.00"))
        assert empty["average_ticket"] is None and empty["attendance_rate"] is None


def test_the_holdout_attendance_is_kept_apart_and_gives_the_uplift(campaign, invite, make_group):
    # Given ten invitees, half of them kept aside
    invite(10, holdout_share="0.5")
    called = list(Invitation.objects.filter(campaign=campaign, holdout=False).select_related("customer"))
    kept = list(Invitation.objects.filter(campaign=campaign, holdout=True).select_related("customer"))
    for inv in called[:3]:
        visit(inv.customer, date(2026, 12, 5), "500.00")
    visit(kept[0].customer, date(2026, 12, 6), "800.00")

    row = selectors.group_summary(campaign=campaign)[0]

    # Then the called attended 3 of 5, the holdout 1 of 5, and the group's revenue is the called's
    assert (row["invited"], row["attended"], row["holdout"], row["holdout_attended"]) == (5, 3, 5, 1)
    assert row["revenue"] == Decimal("1500.00") and row["average_ticket"] == Decimal("500.00")
    (uplift,) = selectors.holdout_results(summary=[row])
    assert uplift["uplift"].uplift == pytest.approx(0.6 - 0.2)


def test_signed_means_accepted_with_an_appointment_and_the_success_rate_is_booked_over_invited(campaign, invite, agent):
    invite(4, goal_rate=Decimal("0.18"))
    first, second, third, _fourth = Invitation.objects.filter(campaign=campaign).order_by("id")
    services.call_record(invitation=first, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
    services.call_record(invitation=second, agent=agent, outcome="declined", reason="not_needed")
    services.call_record(invitation=third, agent=agent, outcome="no_answer")

    row = selectors.group_summary(campaign=campaign)[0]

    assert (row["invited"], row["called"], row["reached"], row["booked"]) == (4, 3, 2, 1)
    assert (row["success_rate"], row["goal_rate"]) == (0.25, 0.18)
