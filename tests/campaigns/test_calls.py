"""Calls: the attempt cap, retries, call-backs, each outcome, refusals, the agent's queue and second invitations."""

import re
from datetime import date, datetime, timedelta

import pytest

from campaigns import selectors, services
from campaigns.models import CallAttempt, Campaign, Coupon, Invitation
from campaigns.services import RETRY_AFTER
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.models import Appointment
from dealercrm.core.exceptions import ApplicationError
from tests.campaigns.conftest import NOW, SHANGHAI, generate
from tests.factories import ServiceVisitFactory, VehicleFactory


@pytest.fixture
def offer(make_template):
    return make_template(name="¥100 工时券", valid_days=30)


@pytest.fixture
def listed(campaign, person, make_group, agent, offer, frozen):
    """``listed(n)``: a running campaign whose one group (offering ``offer``) lists ``n`` customers, all given to
    ``agent``; returns their invitations in the order of the queue (by id: a random order of the customers)."""

    def make(n=3, **group_fields):
        for _ in range(n):
            person()
        make_group({}, script="您好，我会第一时间为您安排维修。", offers=[offer], **group_fields)
        generate(campaign, [agent])
        return list(Invitation.objects.filter(campaign=campaign).order_by("id"))

    return make


def call(invitation, agent, outcome, **options):
    attempt = services.call_record(invitation=invitation, agent=agent, outcome=outcome, **options)
    invitation.refresh_from_db()
    return attempt


def queue(agent, dealership, now=None) -> list[int]:
    return list(selectors.agent_queue(agent=agent, dealership=dealership, now=now).values_list("pk", flat=True))


# --- no answer, busy, the cap -----------------------------------------------------------------------------


def test_three_unanswered_calls_make_the_customer_unreached_and_a_fourth_is_refused(dealership, listed, agent, frozen):
    inv, *_ = listed(1)

    call(inv, agent, "no_answer")
    frozen.move_to(NOW + RETRY_AFTER)
    call(inv, agent, "busy")
    assert (inv.status, inv.attempts) == ("pending", 2)
    frozen.move_to(NOW + 2 * RETRY_AFTER)
    call(inv, agent, "no_answer")

    assert (inv.status, inv.attempts, inv.next_call_at) == (Invitation.Status.UNREACHED, 3, None)
    assert queue(agent, dealership) == []
    with pytest.raises(ApplicationError) as refused:
        call(inv, agent, "no_answer")
    assert refused.value.message == "The 3 attempts of this campaign are used up."
    assert CallAttempt.objects.filter(invitation=inv).count() == 3


def test_the_cap_is_the_campaigns_own(dealership, campaign, listed, agent):
    services.campaign_update(campaign=campaign, changes={"max_attempts": 2})
    inv, *_ = listed(1)

    call(inv, agent, "no_answer", now=NOW)
    call(inv, agent, "no_answer", now=NOW + RETRY_AFTER)

    assert inv.status == Invitation.Status.UNREACHED
    with pytest.raises(ApplicationError, match=re.escape("The 2 attempts of this campaign are used up.")):
        call(inv, agent, "busy", now=NOW + 2 * RETRY_AFTER)


@pytest.mark.parametrize("outcome", ["no_answer", "busy"])
def test_an_unanswered_call_comes_back_after_the_retry_delay_and_not_before(dealership, listed, agent, outcome):
    first, second, third = listed(3)

    call(first, agent, outcome)

    assert first.next_call_at == NOW + RETRY_AFTER and first.last_called_at == NOW
    assert first.pk not in queue(agent, dealership, now=NOW + RETRY_AFTER - timedelta(minutes=1))
    # once due, a retry comes before the customers not called yet
    assert queue(agent, dealership, now=NOW + RETRY_AFTER) == [first.pk, second.pk, third.pk]


# --- call back --------------------------------------------------------------------------------------------


def test_a_call_back_is_due_at_its_time_first_in_the_queue_and_uses_no_attempt(dealership, listed, agent):
    first, second, third = listed(3)
    at = datetime(2026, 12, 2, 15, 0, tzinfo=SHANGHAI)

    attempt = call(second, agent, "call_back", call_back_at=at, note="下午再打")

    assert (second.status, second.attempts, second.next_call_at) == (Invitation.Status.CALL_BACK, 0, at)
    assert (attempt.outcome, attempt.call_back_at, attempt.note) == ("call_back", at, "下午再打")
    assert queue(agent, dealership, now=at - timedelta(minutes=1)) == [first.pk, third.pk]
    assert queue(agent, dealership, now=at) == [second.pk, first.pk, third.pk]
    assert selectors.next_invitation(agent=agent, dealership=dealership, now=at).pk == second.pk


def test_call_backs_do_not_count_against_the_cap_but_unanswered_calls_after_them_do(campaign, listed, agent):
    inv, agreed, _untouched = listed(3)

    call(inv, agent, "no_answer", now=NOW)
    call(inv, agent, "no_answer", now=NOW + RETRY_AFTER)
    call(inv, agent, "call_back", now=NOW + 2 * RETRY_AFTER, call_back_at=NOW + timedelta(days=1))
    assert (inv.status, inv.attempts) == (Invitation.Status.CALL_BACK, 2)
    call(inv, agent, "no_answer", now=NOW + timedelta(days=1))
    assert (inv.status, inv.attempts) == (Invitation.Status.UNREACHED, 3)
    assert CallAttempt.objects.filter(invitation=inv).count() == 4

    # and a customer whose only call agreed a call back was called (and reached) all the same
    call(agreed, agent, "call_back", now=NOW, call_back_at=NOW + timedelta(hours=3))
    row = selectors.group_summary(campaign=campaign)[0]
    assert (row["invited"], row["called"], row["reached"]) == (3, 2, 2)
    progress = selectors.agent_progress(campaign=campaign)[0]
    assert (progress["calls"], progress["reached"], progress["open"]) == (5, 2, 2)


def test_a_call_back_time_must_be_later_than_now_and_on_a_day_of_the_campaign(listed, agent):
    inv, *_ = listed(1)
    last_evening = datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC: still the 31st at the store

    for wrong, message in [
        (None, "Give a call-back time later than now."),
        (NOW, "Give a call-back time later than now."),
        (datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI), "after the campaign's last day (2026-12-31)"),
    ]:
        with pytest.raises(ApplicationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call(inv, agent, "call_back", call_back_at=wrong)
    assert not CallAttempt.objects.exists() and inv.status == "pending"

    call(inv, agent, "call_back", call_back_at=last_evening)
    assert inv.next_call_at == last_evening


def test_a_call_back_time_without_a_zone_is_the_dealerships_time(listed, agent):
    inv, *_ = listed(1)

    call(inv, agent, "call_back", call_back_at=datetime(2026, 12, 31, 23, 30))  # as a form might give it

    assert inv.next_call_at == datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI)
    with pytest.raises(ApplicationError, match="after the campaign's last day"):
        call(inv, agent, "call_back", call_back_at=datetime(2027, 1, 1, 0, 30))


# --- the other outcomes -------------------------------------------------------------------------------------


def test_a_wrong_number_flags_the_customer_and_keeps_them_off_later_lists(
    dealership, campaign, listed, agent, as_manager
):
    inv, other = listed(2)

    call(inv, agent, "wrong_number")

    inv.customer.refresh_from_db()
    assert inv.status == Invitation.Status.WRONG_NUMBER and inv.customer.flag_wrong_number
    other.customer.refresh_from_db()
    assert not other.customer.flag_wrong_number
    assert queue(agent, dealership) == [other.pk]
    later = services.campaign_create(
        dealership=dealership, code="NEXT", name="下一场", kind="seasonal", starts_on=NOW.date(), ends_on=NOW.date()
    )
    services.target_group_create(campaign=later, name="所有", filters={})
    assert generate(later, [agent])["added"] == 1
    assert not Invitation.objects.filter(campaign=later, customer=inv.customer).exists()


def test_a_wrong_number_is_in_the_customers_history_with_the_agent(listed, agent):
    inv, *_ = listed(1)

    call(inv, agent, "wrong_number")

    latest = inv.customer.history.order_by("-history_date", "-history_id").first()
    assert (latest.flag_wrong_number, latest.history_user, latest.history_type) == (True, agent, "~")


def test_a_declined_invitation_is_closed(dealership, listed, agent):
    inv, *_ = listed(1)

    call(inv, agent, "declined", reason="not_needed")

    assert inv.status == Invitation.Status.DECLINED and queue(agent, dealership) == []
    with pytest.raises(ApplicationError, match=r"This invitation is already closed \(declined\)."):
        call(inv, agent, "accepted", appointment_date=date(2026, 12, 5))


def test_an_acceptance_books_the_matched_vehicle_within_the_period_and_issues_the_offer(
    dealership, campaign, person, make_group, agent, offer, frozen
):
    # Given a customer who matched through their GL8 (not their lower-id 新君越)
    owner = person(model="新君越")
    gl8 = VehicleFactory(owner=owner, model="GL8")
    make_group({"models": ["GL8"]}, offers=[offer])
    generate(campaign, [agent])
    inv = Invitation.objects.get(campaign=campaign)

    # When they accept an appointment on 5 December, morning
    attempt = call(inv, agent, "accepted", appointment_date=date(2026, 12, 5), time_slot="上午")

    # Then an appointment from the campaign call names the GL8, and the counter expects them that day
    appointment = inv.appointment
    assert (appointment.source, appointment.status, appointment.date) == ("campaign", "booked", date(2026, 12, 5))
    assert (appointment.customer, appointment.vehicle, appointment.time_slot) == (owner, gl8, "上午")
    assert appointment.created_by == agent and "SUMMER26" in appointment.note
    assert list(customer_selectors.appointments_expected(dealership=dealership, day=date(2026, 12, 5))) == [appointment]
    assert (inv.status, attempt.appointment_date) == (Invitation.Status.ACCEPTED, date(2026, 12, 5))
    # and the group's offer is issued to them, from this campaign and invitation
    coupon = Coupon.objects.get(customer=owner)
    assert (coupon.template, coupon.campaign, coupon.invitation) == (offer, campaign, inv)
    assert (coupon.status, coupon.issued_at, coupon.expires_on) == ("issued", NOW, date(2026, 12, 30))


def test_each_variant_gets_its_own_offer(campaign, person, make_group, agent, make_template, frozen):
    labour = make_template(name="¥100 工时券")
    tyre = make_template(name="第四条轮胎85折", kind="parts_percent", value="15")
    for _ in range(2):
        person()
    make_group({}, ab_test=True, script="A", script_b="B", offers=[labour], offers_b=[tyre])
    generate(campaign, [agent])

    for inv in Invitation.objects.filter(campaign=campaign):
        call(inv, agent, "accepted", appointment_date=date(2026, 12, 5))

    offered = {
        inv.variant: set(inv.coupons.values_list("template__name", flat=True)) for inv in Invitation.objects.all()
    }
    assert offered == {"A": {"¥100 工时券"}, "B": {"第四条轮胎85折"}}


@pytest.mark.parametrize(
    "day",
    [None, date(2026, 11, 30), date(2027, 1, 1)],
    ids=["no date", "yesterday (in the period)", "after the last day"],
)
def test_an_appointment_outside_today_to_the_last_day_is_refused_and_nothing_is_written(listed, agent, day):
    inv, *_ = listed(1)

    with pytest.raises(ApplicationError) as refused:
        call(inv, agent, "accepted", appointment_date=day)

    assert refused.value.message == (
        "The appointment date must be between today and the campaign's last day (2026-12-31)."
    )
    assert (inv.status, inv.attempts, inv.appointment) == ("pending", 0, None)
    assert not (CallAttempt.objects.exists() or Appointment.objects.exists() or Coupon.objects.exists())


def test_the_last_day_of_the_campaign_is_a_good_appointment_date(listed, agent):
    inv, *_ = listed(1)
    call(inv, agent, "accepted", appointment_date=date(2026, 12, 31))
    assert inv.appointment.date == date(2026, 12, 31)


# --- refusals ---------------------------------------------------------------------------------------------


def test_another_agents_customer_cannot_be_called(listed, agent, second_agent):
    inv, *_ = listed(1)
    with pytest.raises(ApplicationError, match=re.escape("This customer is on another agent's list.")):
        call(inv, second_agent, "no_answer")
    assert selectors.next_invitation(agent=second_agent, dealership=inv.campaign.dealership) is None


def test_no_call_is_recorded_before_the_campaign_runs_or_after_it_finished(campaign, person, make_group, agent, frozen):
    person()
    make_group({})
    services.campaign_schedule(campaign=campaign)
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    inv = Invitation.objects.get()
    assert queue(agent, campaign.dealership) == []  # not in the queue while scheduled

    with pytest.raises(
        ApplicationError, match=re.escape("The campaign is scheduled: calls are recorded only while it runs.")
    ):
        call(inv, agent, "no_answer")
    services.campaign_finish(campaign=campaign)
    with pytest.raises(
        ApplicationError, match=re.escape("The campaign is finished: calls are recorded only while it runs.")
    ):
        call(inv, agent, "accepted", appointment_date=date(2026, 12, 5))
    assert not CallAttempt.objects.exists()


def test_an_unknown_outcome_is_refused(listed, agent):
    inv, *_ = listed(1)
    with pytest.raises(ApplicationError, match=re.escape("Unknown outcome: hung_up.")):
        call(inv, agent, "hung_up")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"do_not_contact": True}, "do-not-contact"),
        ({"marketing_consent": False}, r"withdrawn\) marketing consent"),
        ({"flag_wrong_number": True}, "known to be wrong"),
    ],
)
def test_a_customer_who_stops_consenting_after_the_list_was_made_is_called_no_more(
    dealership, listed, agent, change, message
):
    # Given a listed customer who then withdraws consent (or asks not to be contacted)
    inv, other = listed(2)
    if "marketing_consent" in change:
        customer_services.consent_record(customer=inv.customer, granted=False, channel="phone")
    else:
        type(inv.customer).objects.filter(pk=inv.customer_id).update(**change)

    # Then they leave the agent's queue at once, and a call to them is refused
    assert queue(agent, dealership) == [other.pk]
    with pytest.raises(ApplicationError, match=message):
        call(inv, agent, "accepted", appointment_date=date(2026, 12, 5))


def test_a_call_centre_manager_works_the_calls_given_to_them(dealership, campaign, person, make_group, cc_manager):
    person()
    make_group({})
    generate(campaign, [cc_manager])
    inv = selectors.next_invitation(agent=cc_manager, dealership=dealership)
    assert call(inv, cc_manager, "declined", reason="not_needed").agent == cc_manager


# --- the dealership's own day ------------------------------------------------------------------------------


def test_the_queue_and_todays_counts_follow_the_dealerships_time_zone(dealership, listed, agent, frozen):
    # Given a store in Ürümqi (UTC+6), two hours behind the server's Shanghai time
    dealership.time_zone = "Asia/Urumqi"
    dealership.save()
    inv, other = listed(2)
    call(inv, agent, "no_answer", now=datetime(2026, 12, 31, 22, 30, tzinfo=SHANGHAI))  # 20:30 at the store

    # When it is 01:00 on 1 January in Shanghai: 23:00 on 31 December at the store, the campaign's last day
    late = datetime(2027, 1, 1, 1, 0, tzinfo=SHANGHAI)
    frozen.move_to(late)

    # Then the agent still has their customers, and today's calls are the store's today
    assert queue(agent, dealership) == [inv.pk, other.pk]
    counts = selectors.today_counts(agent=agent, dealership=dealership)
    assert (counts["calls"], counts["waiting"], counts["no_answer"]) == (1, 2, 1)


# --- second invitations -----------------------------------------------------------------------------------


@pytest.fixture
def booked(listed, agent):
    """Three customers who accepted an appointment on 5 December."""
    invitations = listed(3)
    for inv in invitations:
        call(inv, agent, "accepted", appointment_date=date(2026, 12, 5))
    return invitations


def test_accepted_customers_who_did_not_come_are_invited_again_two_weeks_after_the_booked_date(
    dealership, booked, agent, frozen
):
    came, arrived, absent = booked
    ServiceVisitFactory(vehicle=came.customer.vehicles.get(), opened_on=date(2026, 12, 6), closed_on=date(2026, 12, 6))
    customer_services.appointment_set_status(appointment=arrived.appointment, status="arrived")

    # Not yet on the 13th day after the booked date
    assert services.second_invitations_release(today=date(2026, 12, 18)) == 0

    # On the 14th day, only the absent customer comes back: round 2, attempts reset, in the agent's queue again
    frozen.move_to(datetime(2026, 12, 19, 9, 0, tzinfo=SHANGHAI))
    assert services.second_invitations_release() == 1
    absent.refresh_from_db()
    assert (absent.round, absent.status, absent.attempts, absent.agent) == (2, "pending", 0, agent)
    assert queue(agent, dealership) == [absent.pk]
    assert absent.appointment.status == "no_show"  # the day they missed, as the counter would have marked it
    for inv in (came, arrived):
        inv.refresh_from_db()
        assert (inv.round, inv.status) == (1, "accepted")
    came.appointment.refresh_from_db()
    assert (came.appointment.status, arrived.appointment.status) == ("booked", "arrived")  # they came
    # once only
    assert services.second_invitations_release() == 0


def test_a_no_show_is_invited_again_but_a_visit_before_the_call_counts_as_having_come(
    dealership, campaign, listed, agent, frozen
):
    early, no_show = listed(2)
    ServiceVisitFactory(vehicle=early.customer.vehicles.get(), opened_on=date(2026, 11, 25), closed_on=None)
    for inv in (early, no_show):
        call(inv, agent, "accepted", appointment_date=date(2026, 12, 5))
    customer_services.appointment_set_status(appointment=no_show.appointment, status="no_show")

    assert services.second_invitations_release(today=date(2026, 12, 19)) == 1
    no_show.refresh_from_db()
    assert no_show.round == 2


def test_the_second_invitation_can_be_worked_like_the_first_and_issues_no_second_coupon(
    dealership, booked, agent, frozen
):
    _came, _arrived, absent = booked
    frozen.move_to(datetime(2026, 12, 19, 9, 0, tzinfo=SHANGHAI))
    services.second_invitations_release()
    absent.refresh_from_db()
    first_appointment = absent.appointment

    call(absent, agent, "no_answer")
    frozen.move_to(datetime(2026, 12, 19, 11, 0, tzinfo=SHANGHAI))
    call(absent, agent, "accepted", appointment_date=date(2026, 12, 22))

    assert (absent.round, absent.status, absent.attempts) == (2, "accepted", 2)
    assert absent.appointment != first_appointment and absent.appointment.date == date(2026, 12, 22)
    assert Coupon.objects.filter(customer=absent.customer).count() == 1  # the offer was issued the first time


def test_a_customer_invited_a_second_time_still_counts_as_booked_once(dealership, campaign, booked, agent, frozen):
    # Given three customers who booked, one of whom is back on the list for a second invitation
    frozen.move_to(datetime(2026, 12, 19, 9, 0, tzinfo=SHANGHAI))
    assert services.second_invitations_release() == 3
    # When the campaign's figures are read, then all three booked (签单), each once
    (row,) = selectors.group_summary(campaign=campaign)
    assert (row["invited"], row["booked"]) == (3, 3)
    assert sum(agent_row["accepted"] for agent_row in selectors.agent_progress(campaign=campaign)) == 3
    # and a second acceptance does not count the customer twice
    again = booked[0]
    again.refresh_from_db()
    call(again, agent, "accepted", appointment_date=date(2026, 12, 22))
    (row,) = selectors.group_summary(campaign=campaign)
    assert row["booked"] == 3


def test_second_invitations_are_released_only_for_running_campaigns(dealership, campaign, booked):
    services.campaign_finish(campaign=campaign)
    assert services.second_invitations_release(today=date(2026, 12, 19)) == 0
    assert Campaign.objects.get(pk=campaign.pk).status == "finished"


def test_the_waiting_count_stops_at_its_cap_and_says_there_are_more(monkeypatch, dealership, listed, agent):
    # Given three customers waiting for the agent
    listed(3)
    # When the workbench counts at most two, then it shows two and says there are more
    monkeypatch.setattr(selectors, "WAITING_SHOWN", 2)
    counts = selectors.today_counts(agent=agent, dealership=dealership)
    assert (counts["waiting"], counts["waiting_more"]) == (2, True)
    # and with room for three, the exact three
    monkeypatch.setattr(selectors, "WAITING_SHOWN", 3)
    counts = selectors.today_counts(agent=agent, dealership=dealership)
    assert (counts["waiting"], counts["waiting_more"]) == (3, False)
