"""One queue for the agent: follow-up calls and campaign invitations in the workbench, by priority and due time.

The call card reads the queue's head in hand-written SQL (``campaigns.callcard``); these tests hold it to the
ORM's querysets (``selectors.agent_queue`` and ``followups.calls.followup_queue``) merged by the queue's order,
check who never shows (the contact rule for the touch's class, other agents and stores, expired or not yet due
tasks), and drive the page: a follow-up call's card, its outcomes, the decline reason, 409 for a call recorded
a moment ago in another tab, the contact history and the number of queries.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from campaigns import callcard, selectors, services
from campaigns.models import CallAttempt, Invitation
from customers.models import Customer
from followups import calls as followup_calls
from followups.models import Complaint, Priority, Survey, Touch, TouchAttempt
from tests.campaigns.conftest import NOW, generate
from tests.factories import CustomerFactory, UserFactory
from tests.followups.factories_calls import call_task

HTMX = {"HX-Request": "true"}
NEXT = reverse("calls:next")
COUNTS = reverse("calls:counts")
FAR = NOW + timedelta(days=365)


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def expected_queue(agent, dealership, now=NOW) -> list[tuple[str, int]]:
    """The one queue from the ORM: invitations (marketing; due at their next call, or now when never called)
    and follow-up calls, by priority, due time, called before over never called, follow-up first, id."""
    rows = [
        (Priority.MARKETING, inv.next_call_at or now, inv.next_call_at is None, 1, inv.pk, "invitation")
        for inv in selectors.agent_queue(agent=agent, dealership=dealership, now=now)
    ] + [
        (touch.priority, touch.due_at, False, 0, touch.pk, "touch")
        for touch in followup_calls.followup_queue(agent=agent, dealership=dealership, now=now)
    ]
    return [(source, pk) for *_, pk, source in sorted(rows)]


def card_queue(agent, dealership, now=NOW) -> list[tuple[str, int]]:
    """The heads the call card gives, one after the other (each put off to next year once read)."""
    heads = []
    while (card := callcard.next_call_card(agent=agent, dealership=dealership, now=now)) is not None:
        if card.touch is not None:
            heads.append(("touch", card.touch.pk))
            Touch.objects.filter(pk=card.touch.pk).update(due_at=FAR)
        else:
            heads.append(("invitation", card.invitation.pk))
            Invitation.objects.filter(pk=card.invitation.pk).update(next_call_at=FAR)
    return heads


@pytest.fixture
def invitations(campaign, person, make_group, agent):
    """Three invitations on the agent's list of a running campaign."""
    for i in range(3):
        person(name=f"受邀客户{i}")
    make_group({})
    generate(campaign, [agent])
    return list(Invitation.objects.filter(campaign=campaign).select_related("customer").order_by("id"))


def test_follow_ups_and_invitations_form_one_queue_by_priority_then_due_time(invitations, dealership, agent):
    fresh, retry, call_back = invitations
    Invitation.objects.filter(pk=retry.pk).update(attempts=1, next_call_at=NOW - timedelta(minutes=30))
    Invitation.objects.filter(pk=call_back.pk).update(status="call_back", next_call_at=NOW - timedelta(hours=2))
    complaint_call = call_task(dealership, agent, due_at=NOW - timedelta(minutes=5), priority=Priority.COMPLAINT)
    day7_late = call_task(dealership, agent, due_at=NOW - timedelta(hours=1))
    day7_early = call_task(dealership, agent, due_at=NOW - timedelta(days=1))
    reminder = call_task(dealership, agent, due_at=NOW - timedelta(days=3), kind=Touch.Kind.DUE_CALL)
    wake_up = call_task(dealership, agent, due_at=NOW - timedelta(hours=1), kind=Touch.Kind.WAKE_UP)

    expected = [
        ("touch", complaint_call.pk),  # 1 complaint
        ("touch", day7_early.pk),  # 2 satisfaction, by due time
        ("touch", day7_late.pk),
        ("touch", reminder.pk),  # 3 maintenance
        ("invitation", call_back.pk),  # 4 marketing: the call-back agreed for 08:00
        ("touch", wake_up.pk),  # due 09:00
        ("invitation", retry.pk),  # due 09:30
        ("invitation", fresh.pk),  # never called: due now
    ]
    assert expected_queue(agent, dealership) == expected
    assert card_queue(agent, dealership) == expected


def test_todays_order_among_invitations_is_kept(invitations, dealership, agent):
    first, second, third = invitations
    Invitation.objects.filter(pk=third.pk).update(attempts=1, next_call_at=NOW)  # a retry due this minute

    assert card_queue(agent, dealership) == [
        ("invitation", third.pk),
        ("invitation", first.pk),
        ("invitation", second.pk),
    ]


@pytest.mark.parametrize(
    ("customer", "kind", "shows"),
    [
        ({"do_not_contact": True}, Touch.Kind.DAY_7, False),
        ({"flag_wrong_number": True}, Touch.Kind.DAY_7, False),
        ({"marketing_consent": False}, Touch.Kind.DAY_7, True),  # a service call needs no consent
        ({"sms_opt_out": True}, Touch.Kind.DAY_7, True),
        ({"marketing_consent": False}, Touch.Kind.WAKE_UP, False),  # a marketing call does
        ({"sms_opt_out": True}, Touch.Kind.WAKE_UP, True),  # a "T" reply stops texts, not calls
        ({"do_not_contact": True}, Touch.Kind.WAKE_UP, False),
    ],
    ids=[
        "service, do-not-contact",
        "service, wrong number",
        "service, no consent",
        "service, T reply",
        "marketing, no consent",
        "marketing, T reply",
        "marketing, do-not-contact",
    ],
)
def test_a_follow_up_shows_when_the_contact_rule_lets_its_class_call(dealership, agent, customer, kind, shows):
    touch = call_task(
        dealership, agent, due_at=NOW, kind=kind, customer=CustomerFactory(dealership=dealership, **customer)
    )

    expected = [("touch", touch.pk)] if shows else []
    assert expected_queue(agent, dealership) == expected
    assert card_queue(agent, dealership) == expected


def test_an_sms_opt_out_does_not_stop_a_campaign_call(invitations, dealership, agent):
    first = invitations[0]
    Customer.objects.filter(pk=first.customer_id).update(sms_opt_out=True)

    assert ("invitation", first.pk) in card_queue(agent, dealership)
    services.call_record(invitation=first, agent=agent, outcome="no_answer", now=NOW)  # and it is recorded


def test_only_the_agents_due_planned_unexpired_calls_of_this_store_show(dealership, other_dealership, agent):
    colleague = UserFactory(username="agent-b", role="agent", dealerships=[dealership])
    due = call_task(dealership, agent, due_at=NOW)
    call_task(dealership, agent, due_at=NOW + timedelta(minutes=1))  # not due yet
    call_task(dealership, agent, due_at=NOW - timedelta(days=3), expires_at=NOW)  # expired
    call_task(dealership, agent, due_at=NOW, status="done")
    call_task(dealership, agent, due_at=NOW, status="cancelled")
    call_task(dealership, agent, due_at=NOW, channel="sms")
    call_task(dealership, colleague, due_at=NOW)
    call_task(dealership, None, due_at=NOW)
    call_task(other_dealership, agent, due_at=NOW, customer=CustomerFactory(dealership=other_dealership))

    assert expected_queue(agent, dealership) == card_queue(agent, dealership) == [("touch", due.pk)]
    assert callcard.next_call_card(agent=agent, dealership=other_dealership, now=NOW).touch.dealership_id == (
        other_dealership.pk
    )
    assert callcard.touch_card(dealership=other_dealership, pk=due.pk) is None


def test_the_invitation_api_and_next_invitation_leave_follow_ups_out(invitations, dealership, agent):
    call_task(dealership, agent, due_at=NOW - timedelta(days=1))

    assert selectors.next_invitation(agent=agent, dealership=dealership, now=NOW).pk == invitations[0].pk


def test_the_empty_workbench_says_when_the_next_follow_up_is_due(dealership, agent):
    later = NOW + timedelta(hours=3)
    call_task(dealership, agent, due_at=later)

    assert selectors.agent_next_due_at(agent=agent, dealership=dealership, now=NOW) == later


# --- The page ------------------------------------------------------------------------------------------------


def outcome_url(touch) -> str:
    return reverse("calls:followup-outcome", args=[touch.pk])


def page(response) -> str:
    return unescape(response.content.decode())


def shown(response) -> tuple[str, int] | None:
    text = response.content.decode()
    found = re.search(r'id="call-card"[^>]*data-(invitation|touch)-id="(\d+)"', text)
    return (found.group(1), int(found.group(2))) if found else None


def test_a_follow_up_calls_card_says_what_it_is_for_and_offers_its_outcomes(client_for, dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.SATISFACTION)

    response = client_for(agent).get(NEXT, headers=HTMX)

    text = page(response)
    assert shown(response) == ("touch", touch.pk)
    assert "Satisfaction call" in text and touch.visit.ro_number in text and touch.visit.vehicle.plate in text
    assert "On a scale of 1 to 5" in text and dealership.name in text  # the script of its kind
    assert touch.customer.phone.as_national not in text  # masked; the agent's own call reveals it (P)
    assert reverse("calls:followup-phone", args=[touch.pk]) in text
    for key, outcome in [("1", "no_answer"), ("2", "busy"), ("3", "wrong_number"), ("7", "complaint")]:
        assert f'value="{outcome}" data-key="{key}"' in text
    assert 'data-key="4" data-picker="decline-reasons"' in text
    assert 'data-key="6" data-picker="satisfaction-scores"' in text and 'name="satisfaction" value="5"' in text
    assert 'value="call_back" data-key="5"' in text


def test_reached_is_recorded_and_the_next_customer_follows(client_for, dealership, agent, invitations):
    touch = call_task(dealership, agent, due_at=NOW - timedelta(hours=1))
    client = client_for(agent)

    response = client.post(outcome_url(touch), {"outcome": "done", "note": "一切正常"}, headers=HTMX)

    assert response.status_code == 200 and "calls-changed" in response["HX-Trigger"]
    assert "the follow-up call is done" in page(response)
    assert shown(response) == ("invitation", invitations[0].pk)
    touch.refresh_from_db()
    assert touch.status == "done" and TouchAttempt.objects.get().agent == agent


def test_a_score_from_the_picker_records_a_reached_satisfaction_call(client_for, dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.SATISFACTION)

    response = client_for(agent).post(outcome_url(touch), {"satisfaction": "2"}, headers=HTMX)

    assert response.status_code == 200 and "satisfaction 2 of 5" in page(response)
    assert TouchAttempt.objects.get().satisfaction == 2


def test_declined_without_a_reason_is_refused_on_the_card(client_for, dealership, agent, invitations):
    touch = call_task(dealership, agent, due_at=NOW)
    client = client_for(agent)

    refused = client.post(outcome_url(touch), {"outcome": "declined"}, headers=HTMX)
    refused_campaign = client.post(
        reverse("calls:outcome", args=[invitations[0].pk]), {"outcome": "declined"}, headers=HTMX
    )

    assert refused.status_code == 422 and shown(refused) == ("touch", touch.pk)
    assert "Choose why the customer declined." in page(refused)
    assert refused_campaign.status_code == 422 and shown(refused_campaign) == ("invitation", invitations[0].pk)
    assert not TouchAttempt.objects.exists() and not CallAttempt.objects.exists()


def test_a_reason_from_the_picker_records_a_decline(client_for, dealership, agent, invitations):
    touch = call_task(dealership, agent, due_at=NOW)
    client = client_for(agent)

    followup = client.post(outcome_url(touch), {"reason": "elsewhere"}, headers=HTMX)
    campaign_call = client.post(reverse("calls:outcome", args=[invitations[0].pk]), {"reason": "price"}, headers=HTMX)

    assert followup.status_code == campaign_call.status_code == 200
    assert "declined (Services the car elsewhere)" in page(followup)
    assert TouchAttempt.objects.get().reason == "elsewhere"
    assert CallAttempt.objects.get().reason == "price" and CallAttempt.objects.get().outcome == "declined"


def test_the_second_tab_gets_409_and_the_next_customer(client_for, dealership, agent, invitations):
    touch = call_task(dealership, agent, due_at=NOW)
    first_tab, second_tab = client_for(agent), client_for(agent)
    first_tab.post(outcome_url(touch), {"outcome": "done"}, headers=HTMX)

    response = second_tab.post(outcome_url(touch), {"outcome": "no_answer"}, headers=HTMX)

    assert response.status_code == 409
    assert "is no longer on your list to call (done)" in page(response)
    assert shown(response) == ("invitation", invitations[0].pk)
    assert TouchAttempt.objects.count() == 1


def test_another_agents_or_another_stores_follow_up_is_not_found(client_for, dealership, other_dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW)
    colleague = UserFactory(username="agent-b", role="agent", dealerships=[dealership])
    stranger = UserFactory(username="agent-c", role="agent", dealerships=[other_dealership])

    for user in (colleague, stranger):
        assert client_for(user).post(outcome_url(touch), {"outcome": "done"}, headers=HTMX).status_code == 404
    assert not TouchAttempt.objects.exists()


def test_a_follow_up_for_a_customer_now_on_do_not_contact_is_not_recorded(client_for, dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW)
    Customer.objects.filter(pk=touch.customer_id).update(do_not_contact=True)

    response = client_for(agent).post(outcome_url(touch), {"outcome": "done"}, headers=HTMX)

    assert response.status_code == 409 and "may no longer be called" in page(response)
    assert not TouchAttempt.objects.exists()


def test_todays_counts_hold_follow_up_calls(client_for, dealership, agent, invitations):
    touch = call_task(dealership, agent, due_at=NOW)
    call_task(dealership, agent, due_at=NOW)
    client = client_for(agent)
    client.post(outcome_url(touch), {"outcome": "done"}, headers=HTMX)

    counts = selectors.today_counts(agent=agent, dealership=dealership, now=NOW)

    assert (counts["calls"], counts["reached"], counts["waiting"]) == (1, 1, 4)  # 3 invitations, 1 follow-up


# --- The contact history on the card -------------------------------------------------------------------------


def test_the_card_shows_the_customers_contact_history_newest_first(
    client_for, dealership, agent, campaign, person, make_group
):
    customer = person(name="历史客户")
    make_group({})
    generate(campaign, [agent])
    invitation = Invitation.objects.get(customer=customer)
    services.call_record(
        invitation=invitation, agent=agent, outcome="no_answer", note="无人接", now=NOW - timedelta(days=3)
    )
    earlier = call_task(dealership, agent, due_at=NOW - timedelta(days=20), customer=customer)
    followup_calls.followup_call_record(
        touch=earlier, agent=agent, outcome="declined", reason="time", now=NOW - timedelta(days=2)
    )
    Survey.objects.create(
        dealership=dealership,
        customer=customer,
        nonce="n1",
        sent_at=NOW - timedelta(days=5),
        expires_at=NOW + timedelta(days=9),
        answered_at=NOW - timedelta(days=4),
        satisfaction=2,
        nps=5,
    )
    Complaint.objects.create(
        dealership=dealership,
        customer=customer,
        source="survey",
        summary="等候时间太长",
        opened_at=NOW - timedelta(days=4, hours=-1),
        response_due_at=NOW,
        resolution_due_at=NOW,
    )
    current = call_task(dealership, agent, due_at=NOW - timedelta(minutes=1), customer=customer)
    Touch.objects.filter(pk=current.pk).update(priority=Priority.COMPLAINT)

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    assert card.touch.pk == current.pk
    assert [(e.source, e.state) for e in card.history] == [
        ("followup_call", "declined"),
        ("touch", "done"),
        ("call", "no_answer"),
        ("complaint", "open"),
        ("survey", "answered"),
    ]
    assert card.history[0].reason_display == "No time" and card.history[2].kind == campaign.name
    assert (card.history[4].satisfaction, card.history[4].nps) == (2, 5)
    text = page(client_for(agent).get(NEXT, headers=HTMX))
    assert "No time" in text and "无人接" in text and "等候时间太长" in text and "satisfaction 2/5" in text


def test_the_history_is_limited_to_the_newest_ten(dealership, agent):
    customer = CustomerFactory(dealership=dealership)
    for day in range(12):
        old = call_task(dealership, agent, due_at=NOW - timedelta(days=30 + day), customer=customer)
        Touch.objects.filter(pk=old.pk).update(status="done", completed_at=NOW - timedelta(days=30 + day))
    call_task(dealership, agent, due_at=NOW, customer=customer)

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    assert len(card.history) == callcard.HISTORY_SHOWN == 10
    assert [e.at for e in card.history] == sorted((e.at for e in card.history), reverse=True)
    assert card.history[0].at == NOW - timedelta(days=30)


# --- Queries ------------------------------------------------------------------------------------------------


def test_a_follow_up_card_is_read_in_a_fixed_small_number_of_statements(
    client_for, dealership, agent, invitations, django_assert_num_queries
):
    touch = call_task(dealership, agent, due_at=NOW - timedelta(hours=1))
    client = client_for(agent)
    # the user and the store (2; the session comes from the cache); the queue's head and the touch's card (each
    # between the two settings that keep the join order on PostgreSQL); the customer's open coupons and contact
    # history
    statements = 2 + 4 + (2 if connection.vendor == "postgresql" else 0)
    with django_assert_num_queries(statements):
        assert shown(client.get(NEXT, headers=HTMX)) == ("touch", touch.pk)

    # a longer history, more follow-ups and invitations change nothing
    for day in range(5):
        old = call_task(dealership, agent, due_at=NOW - timedelta(days=20 + day), customer=touch.customer)
        followup_calls.followup_call_record(touch=old, agent=agent, outcome="done", now=NOW - timedelta(days=9))
        call_task(dealership, agent, due_at=NOW)
    with django_assert_num_queries(statements):
        assert shown(client.get(NEXT, headers=HTMX)) == ("touch", touch.pk)


# --- The API -------------------------------------------------------------------------------------------------


def test_the_api_refuses_a_decline_without_a_reason_and_records_one_with_it(api_client_for, agent, invitations):
    path = reverse("api-campaign-invitation-outcome", args=[invitations[0].pk])
    api = api_client_for(agent)

    refused = api.post(path, {"outcome": "declined"}, format="json")
    unknown = api.post(path, {"outcome": "declined", "reason": "because"}, format="json")
    recorded = api.post(path, {"outcome": "declined", "reason": "sold"}, format="json")

    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    assert "reason" in refused.json()["fields"]
    assert unknown.status_code == 400 and "reason" in unknown.json()["fields"]
    assert recorded.status_code == 201 and recorded.json()["attempt"]["reason"] == "sold"
    assert CallAttempt.objects.get().reason == "sold"
