"""The agent's workbench: the page, the next customer, and one POST per call that answers with the next one.

The URLs and the outcome's fields are a contract (bench/ calls them): GET /calls/next/ and
POST /calls/<id>/outcome/ with outcome, appointment_date, time_slot, call_back_at and note.
"""

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services, workbench
from campaigns.models import CallAttempt, Coupon, Invitation
from customers.models import Appointment, Customer
from dealercrm.core.privacy import mask_phone
from dealercrm.core.roles import Role
from tests.campaigns.conftest import END, NOW, SHANGHAI
from tests.factories import ServiceVisitFactory, UserFactory

HTMX = {"HX-Request": "true"}
WORKBENCH = reverse("calls:workbench")
NEXT = reverse("calls:next")
COUNTS = reverse("calls:counts")
SCRIPT_A = "您好，我是别克4S店的客服，冬季保养有礼，我会第一时间为您安排。"
SCRIPT_B = "您好，冬季到了，我们为老车主准备了免费检测。"


def outcome_url(invitation) -> str:
    return reverse("calls:outcome", args=[invitation.pk])


def html(response) -> str:
    return response.content.decode()


def text(response) -> str:
    """The partial with its entities decoded (the campaign&#x27;s → the campaign's)."""
    return unescape(html(response))


def shown_invitation(response) -> int | None:
    """The id of the invitation on the call card of a partial, or None for the empty state."""
    found = re.search(r'id="call-card"[^>]*data-invitation-id="(\d+)"', html(response))
    return int(found.group(1)) if found else None


@pytest.fixture(autouse=True)
def at_now():
    """A working morning inside the campaign's period (2026-12-01 10:00 in Shanghai)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def offer(dealership):
    return services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )


@pytest.fixture
def invitations(dealership, campaign, person, agent, running, offer):
    """Three customers on the agent's list, in the order of their ids (the order they are called in)."""
    for i in range(3):
        person(c3_group="profitable_loyal", plate=f"粤BW{i}001", phone=f"+86139000000{i:02d}", name=f"客户{i}")
    services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, script=SCRIPT_A, offers=[offer]
    )
    running()
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    return list(Invitation.objects.filter(campaign=campaign).select_related("customer").order_by("id"))


@pytest.fixture
def first(invitations):
    return invitations[0]


# --- Roles -----------------------------------------------------------------------------------------------


def test_the_agent_and_the_call_centre_manager_open_the_workbench(client_for, agent, cc_manager, invitations):
    for user in (agent, cc_manager):
        assert client_for(user).get(WORKBENCH).status_code == 200
        assert client_for(user).get(NEXT, headers=HTMX).status_code == 200
        assert client_for(user).get(COUNTS, headers=HTMX).status_code == 200


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN])
def test_other_roles_may_not_work_calls(client_for, users, role, first):
    client = client_for(users[role])

    assert client.get(WORKBENCH).status_code == 403
    assert client.get(NEXT, headers=HTMX).status_code == 403
    assert client.get(COUNTS, headers=HTMX).status_code == 403
    assert (
        client.post(outcome_url(first), {"outcome": "declined", "reason": "not_needed"}, headers=HTMX).status_code
        == 403
    )
    assert not CallAttempt.objects.exists()


def test_an_agent_of_another_store_does_not_find_our_invitation(client_for, other_dealership, first):
    stranger = UserFactory(username="stranger", role=Role.AGENT, dealerships=[other_dealership])

    response = client_for(stranger).post(
        outcome_url(first), {"outcome": "declined", "reason": "not_needed"}, headers=HTMX
    )

    assert response.status_code == 404
    assert not CallAttempt.objects.exists()


def test_todays_counts_are_the_agents_own_in_their_store(client_for, dealership, other_dealership, agent, first):
    services.call_record(invitation=first, agent=agent, outcome="declined", reason="not_needed", now=NOW)
    stranger = UserFactory(username="stranger", role=Role.AGENT, dealerships=[other_dealership])
    colleague = UserFactory(username="colleague", role=Role.AGENT, dealerships=[dealership])

    with time_machine.travel(NOW, tick=False):
        mine = html(client_for(agent).get(COUNTS, headers=HTMX))
        theirs = html(client_for(colleague).get(COUNTS, headers=HTMX))
        strangers = html(client_for(stranger).get(COUNTS, headers=HTMX))

    assert 'data-testid="count-calls">1<' in mine and 'data-testid="count-waiting">2<' in mine
    for page in (theirs, strangers):
        assert 'data-testid="count-calls">0<' in page and 'data-testid="count-waiting">0<' in page


def test_another_agents_invitation_is_not_found(client_for, dealership, first):
    colleague = UserFactory(username="colleague", role=Role.AGENT, dealerships=[dealership])

    response = client_for(colleague).post(
        outcome_url(first), {"outcome": "declined", "reason": "not_needed"}, headers=HTMX
    )

    assert response.status_code == 404
    assert client_for(colleague).get(NEXT, headers=HTMX).status_code == 200
    assert not CallAttempt.objects.exists()


def test_anonymous_visitors_log_in_first(client, first):
    assert client.get(WORKBENCH).status_code == 302
    assert client.post(outcome_url(first), {"outcome": "declined", "reason": "not_needed"}).status_code == 302


# --- The page and the next customer ----------------------------------------------------------------------


def test_the_page_loads_the_next_customer_with_htmx_and_shows_todays_counts(client_for, agent, invitations):
    page = html(client_for(agent).get(WORKBENCH))

    assert f'hx-get="{NEXT}"' in page and 'hx-trigger="load"' in page
    assert 'id="workbench-counts"' in page and 'data-testid="count-waiting">3<' in page
    assert "js/workbench.js" in page
    assert 'id="call-card"' not in page  # the customer comes with the partial


def test_the_next_customer_shows_what_the_agent_needs(client_for, agent, dealership, first, offer):
    vehicle = first.customer.vehicles.get()
    ServiceVisitFactory(vehicle=vehicle, opened_on=date(2026, 9, 1), closed_on=date(2026, 9, 1), visit_type="repair")
    services.coupon_issue(template=offer, customer=first.customer)

    response = client_for(agent).get(NEXT, headers=HTMX)

    page = html(response)
    assert response.status_code == 200 and shown_invitation(response) == first.pk
    assert first.customer.name in page
    phone = first.customer.phone
    # masked, with the agent's explicit "Show number" (P) for their own call (campaigns.workbench_reveal)
    assert mask_phone(phone) in page and phone.as_national not in page and "tel:" not in page
    assert f'hx-post="{reverse("calls:phone", args=[first.pk])}"' in page and 'data-reveal-key="p"' in page
    assert vehicle.plate in page and "新君越" in page and "years old" in page
    assert "盈利忠诚" in page and "SUMMER26" in page and "冬季保养邀约" in page
    assert "Profitable-loyal" in page
    assert "Tier A" in page
    assert "2026-09-01" in page
    assert Coupon.objects.get().code in page
    assert SCRIPT_A in page and "¥100 工时券" in page and "¥100 off labour" in page
    assert "Attempt 1 of 3" in page
    for key, outcome in [("1", "no_answer"), ("2", "busy"), ("3", "wrong_number")]:
        assert f'value="{outcome}" data-key="{key}"' in page
    assert 'data-key="4" data-picker="decline-reasons"' in page and 'name="reason" value="price"' in page
    assert 'value="call_back" data-key="5"' in page and 'value="accepted" data-key="6"' in page
    assert re.search(r'name="appointment_date"\s+value="2026-12-02"', page)  # tomorrow by default
    assert 'name="call_back_at"' in page and 'type="datetime-local"' in page
    assert 'name="time_slot"' in page and 'name="note"' in page
    assert 'id="workbench-counts"' not in page  # today's counts come on their own (calls:counts)


def test_the_next_customer_is_a_due_call_back_first_then_the_list_in_order(client_for, agent, invitations):
    client = client_for(agent)
    assert shown_invitation(client.get(NEXT, headers=HTMX)) == invitations[0].pk

    later = invitations[2]
    services.call_record(
        invitation=later,
        agent=agent,
        outcome="call_back",
        call_back_at=NOW - timedelta(minutes=30),
        now=NOW - timedelta(hours=1),
    )

    # agreed an hour ago for half an hour ago: due, it comes before the customers not called yet
    response = client.get(NEXT, headers=HTMX)
    assert shown_invitation(response) == later.pk
    assert 'data-testid="call-back-due"' in html(response) and "09:30" in html(response)


def test_the_variant_b_customer_hears_the_b_script(client_for, agent, dealership, campaign, person, running):
    for _ in range(2):
        person(c3_group="profitable_loyal")
    services.target_group_create(
        campaign=campaign,
        name="AB",
        filters={"c3_group": ["profitable_loyal"]},
        script=SCRIPT_A,
        ab_test=True,
        script_b=SCRIPT_B,
    )
    running()
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    b = Invitation.objects.get(variant="B")
    Invitation.objects.exclude(pk=b.pk).update(status=Invitation.Status.DECLINED)

    page = html(client_for(agent).get(NEXT, headers=HTMX))

    assert SCRIPT_B in page and SCRIPT_A not in page


def test_a_second_invitation_says_so(client_for, agent, first):
    Invitation.objects.filter(pk=first.pk).update(round=2)

    assert 'data-testid="round"' in html(client_for(agent).get(NEXT, headers=HTMX))


def test_a_customer_who_withdrew_consent_meanwhile_is_not_called(client_for, agent, invitations):
    client = client_for(agent)
    assert shown_invitation(client.get(NEXT, headers=HTMX)) == invitations[0].pk
    Customer.objects.filter(pk=invitations[0].customer_id).update(marketing_consent=False)

    # the agent still has them on screen and records the call: refused, and the next customer follows
    response = client.post(outcome_url(invitations[0]), {"outcome": "declined", "reason": "not_needed"}, headers=HTMX)

    assert response.status_code == 409 and "may no longer be called" in html(response)
    assert shown_invitation(response) == invitations[1].pk
    assert not CallAttempt.objects.exists()
    assert shown_invitation(client.get(NEXT, headers=HTMX)) == invitations[1].pk


def test_nobody_to_call_shows_when_the_next_call_back_is_due(client_for, agent, invitations):
    Invitation.objects.filter(pk__in=[i.pk for i in invitations[1:]]).update(status=Invitation.Status.DECLINED)
    services.call_record(
        invitation=invitations[0],
        agent=agent,
        outcome="call_back",
        call_back_at=datetime(2026, 12, 1, 16, 0, tzinfo=SHANGHAI),
    )

    response = client_for(agent).get(NEXT, headers=HTMX)

    page = html(response)
    assert shown_invitation(response) is None
    assert 'data-testid="workbench-empty"' in page and "Nobody to call right now." in page
    assert "2026-12-01 16:00" in page
    assert 'hx-trigger="every 60s"' in page


def test_nobody_at_all_sends_the_agent_to_their_manager(client_for, agent, db, dealership):
    page = html(client_for(agent).get(NEXT, headers=HTMX))

    assert "Nobody to call right now." in page and "Ask your call-centre manager" in page


@pytest.mark.parametrize(
    ("at", "suggested"),
    [
        ((10, 0), datetime(2026, 12, 1, 11, 0)),
        ((10, 7), datetime(2026, 12, 1, 11, 15)),
        ((6, 30), datetime(2026, 12, 1, 10, 0)),
        ((19, 30), datetime(2026, 12, 2, 10, 0)),
        ((23, 50), datetime(2026, 12, 2, 10, 0)),
    ],
)
def test_the_suggested_call_back_time_is_an_hour_later_in_calling_hours(at, suggested):
    now = datetime(2026, 12, 1, *at, tzinfo=SHANGHAI)

    assert workbench.default_call_back(now, SHANGHAI) == suggested.replace(tzinfo=SHANGHAI)


# --- Phone numbers ---------------------------------------------------------------------------------------


def test_the_phone_is_masked_for_everyone_and_only_the_assigned_agent_may_reveal_it(
    dealership, cc_manager, agent, first
):
    """The card shows the number masked (139****0002) to everyone; only the invitation's agent has the button
    that reveals it (campaigns.workbench_reveal)."""
    view = workbench.NextCustomerView()
    view.request = RequestFactory().get(NEXT)
    view.dealership = dealership
    invitation = Invitation.objects.select_related("campaign", "target_group", "customer", "vehicle").get(pk=first.pk)
    rendered = {}
    for user in (agent, cc_manager):
        view.request.user = user
        response = view.render_current(view.current_context(now=NOW, invitation=invitation))
        rendered[user.username] = response.render().content.decode()

    full, masked = first.customer.phone.as_national, mask_phone(first.customer.phone)
    assert masked.startswith("139****00")
    reveal = reverse("calls:phone", args=[first.pk])
    assert masked in rendered["agent"] and full not in rendered["agent"] and reveal in rendered["agent"]
    assert masked in rendered["ccmanager"] and reveal not in rendered["ccmanager"]
    assert full not in rendered["ccmanager"] and "tel:" not in rendered["ccmanager"]


# --- Outcomes --------------------------------------------------------------------------------------------


OUTCOMES = [
    (
        {"outcome": "no_answer"},
        Invitation.Status.PENDING,
        "No answer. They come back to your list from 2026-12-01 12:00.",
    ),
    ({"outcome": "busy"}, Invitation.Status.PENDING, "Busy. They come back"),
    ({"outcome": "wrong_number"}, Invitation.Status.WRONG_NUMBER, "wrong number"),
    (
        {"outcome": "declined", "reason": "elsewhere", "note": "已在外地保养"},
        Invitation.Status.DECLINED,
        "declined (Services the car elsewhere).",
    ),
    (
        {"outcome": "call_back", "call_back_at": "2026-12-01T15:30"},
        Invitation.Status.CALL_BACK,
        "call back at 2026-12-01 15:30",
    ),
    (
        {"outcome": "accepted", "appointment_date": "2026-12-05", "time_slot": "09:30"},
        Invitation.Status.ACCEPTED,
        "accepted: appointment on 2026-12-05 09:30. Coupons issued: 1.",
    ),
]


@pytest.mark.parametrize(("data", "status", "says"), OUTCOMES, ids=[o[0]["outcome"] for o in OUTCOMES])
def test_each_outcome_is_recorded_and_the_next_customer_follows(client_for, agent, invitations, data, status, says):
    first, second = invitations[0], invitations[1]
    form = {"appointment_date": "2026-12-02", "time_slot": "", "call_back_at": "2026-12-01T11:15", "note": ""}
    client = client_for(agent)

    response = client.post(outcome_url(first), {**form, **data}, headers=HTMX)

    page = html(response)
    assert response.status_code == 200
    attempt = CallAttempt.objects.get()
    assert (attempt.invitation_id, attempt.agent_id, attempt.outcome) == (first.pk, agent.pk, data["outcome"])
    assert attempt.note == data.get("note", "")
    first.refresh_from_db()
    assert first.status == status
    # the page moves on: the next customer, what was recorded on top; it is told to refresh today's counts
    assert shown_invitation(response) == second.pk
    assert 'data-testid="workbench-feedback"' in page and first.customer.name in page and says in page
    assert "calls-changed" in json.loads(response.headers["HX-Trigger"])
    counts = html(client.get(COUNTS, headers=HTMX))
    assert 'data-testid="count-calls">1<' in counts
    assert 'data-testid="count-waiting">2<' in counts  # whatever the outcome, the first is not due now


def test_accepted_books_the_appointment_the_counter_expects_and_issues_the_offer(client_for, agent, first, offer):
    data = {"outcome": "accepted", "appointment_date": "2026-12-01", "time_slot": "14:00", "note": ""}

    client_for(agent).post(outcome_url(first), data, headers=HTMX)

    appointment = Appointment.objects.get()
    assert (appointment.customer_id, appointment.date, appointment.time_slot) == (
        first.customer_id,
        date(2026, 12, 1),
        "14:00",
    )
    assert appointment.source == Appointment.Source.CAMPAIGN and appointment.vehicle_id == first.vehicle_id
    assert Coupon.objects.get().template == offer


def test_a_call_back_time_is_the_dealerships_local_time(client_for, agent, first):
    data = {"outcome": "call_back", "call_back_at": "2026-12-01T15:30", "appointment_date": "2026-13-45"}

    assert client_for(agent).post(outcome_url(first), data, headers=HTMX).status_code == 200

    first.refresh_from_db()
    assert first.next_call_at == datetime(2026, 12, 1, 15, 30, tzinfo=SHANGHAI)  # 07:30 UTC
    assert CallAttempt.objects.get().call_back_at == datetime(2026, 12, 1, 15, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"appointment_date": "2026-13-01"}, "Give the appointment date as a day (YYYY-MM-DD)."),
        ({"appointment_date": ""}, "Give the appointment date as a day (YYYY-MM-DD)."),
        ({"appointment_date": "2027-01-05"}, f"between today and the campaign's last day ({END})"),
        ({"appointment_date": "2026-11-30"}, f"between today and the campaign's last day ({END})"),
    ],
    ids=["not-a-date", "blank", "after-the-campaign", "yesterday"],
)
def test_a_bad_appointment_date_is_shown_with_the_same_customer_and_nothing_is_recorded(
    client_for, agent, first, data, says
):
    form = {"outcome": "accepted", "time_slot": "10:00", "note": "周六上午", **data}

    response = client_for(agent).post(outcome_url(first), form, headers=HTMX)

    page = html(response)
    assert response.status_code == 422
    assert shown_invitation(response) == first.pk
    assert 'data-testid="outcome-error"' in page and says in text(response)
    assert 'value="周六上午"' in page and '<option value="10:00" selected>' in page  # what was typed is kept
    assert re.search(r'class="form-control is-invalid" id="appointment_date"', page)
    assert not CallAttempt.objects.exists() and not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"outcome": "call_back", "call_back_at": "tomorrow"}, "Give the call-back time as a day and a time"),
        ({"outcome": "call_back", "call_back_at": "2026-12-01T09:00"}, "Give a call-back time later than now."),
        ({"outcome": "hung_up"}, "Choose an outcome"),
        ({}, "Choose an outcome"),
    ],
    ids=["not-a-time", "in-the-past", "unknown-outcome", "no-outcome"],
)
def test_other_refusals_are_shown_inline(client_for, agent, first, data, says):
    response = client_for(agent).post(outcome_url(first), data, headers=HTMX)

    assert response.status_code == 422
    assert shown_invitation(response) == first.pk and says in html(response)
    assert not CallAttempt.objects.exists()


def test_a_call_on_a_campaign_finished_meanwhile_is_a_409_conflict_shown_on_the_card(
    client_for, agent, campaign, first, as_manager
):
    # given the manager finishes the campaign while the agent has the first customer on the card
    services.campaign_finish(campaign=campaign, acting_user=as_manager)

    response = client_for(agent).post(outcome_url(first), {"outcome": "no_answer"}, headers=HTMX)

    # then the refusal is a state conflict, as in the API, shown on the card; nothing is recorded
    assert response.status_code == 409
    assert "calls are recorded only while it runs" in html(response)
    assert not CallAttempt.objects.exists()


def test_the_same_call_posted_twice_is_recorded_once(client_for, agent, invitations):
    client = client_for(agent)
    client.post(outcome_url(invitations[0]), {"outcome": "no_answer"}, headers=HTMX)

    response = client.post(outcome_url(invitations[0]), {"outcome": "no_answer"}, headers=HTMX)

    assert response.status_code == 409
    assert "was already recorded" in html(response) and shown_invitation(response) == invitations[1].pk
    assert CallAttempt.objects.count() == 1


def test_a_closed_invitation_is_not_recorded_again(client_for, agent, invitations):
    client = client_for(agent)
    client.post(outcome_url(invitations[0]), {"outcome": "declined", "reason": "not_needed"}, headers=HTMX)

    response = client.post(outcome_url(invitations[0]), {"outcome": "accepted", "appointment_date": "2026-12-03"})

    assert response.status_code == 302 and response.url == WORKBENCH
    assert CallAttempt.objects.count() == 1 and not Appointment.objects.exists()


def test_without_htmx_the_outcome_is_recorded_and_the_workbench_comes_back(client_for, agent, first):
    client = client_for(agent)

    response = client.post(outcome_url(first), {"outcome": "declined", "reason": "not_needed"})

    assert response.status_code == 302 and response.url == WORKBENCH
    assert CallAttempt.objects.get().outcome == "declined"
    assert "declined (No need at the moment)." in html(client.get(WORKBENCH))

    refused = client.post(outcome_url(Invitation.objects.exclude(pk=first.pk).first()), {"outcome": "accepted"})
    assert refused.status_code == 302
    assert "Give the appointment date" in html(client.get(WORKBENCH))


def test_the_outcome_needs_the_csrf_token(agent, first):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert (
        client.post(outcome_url(first), {"outcome": "declined", "reason": "not_needed"}, headers=HTMX).status_code
        == 403
    )
    page = client.get(WORKBENCH)
    token = page.cookies["csrftoken"].value
    response = client.post(
        outcome_url(first), {"outcome": "declined", "reason": "not_needed"}, headers={**HTMX, "X-CSRFToken": token}
    )
    assert response.status_code == 200


def test_the_attempt_cap_takes_the_customer_off_the_list(client_for, agent, campaign, invitations):
    client = client_for(agent)
    first = invitations[0]
    for hour in range(campaign.max_attempts):
        with time_machine.travel(NOW + timedelta(hours=3 * hour), tick=False):
            assert shown_invitation(client.get(NEXT, headers=HTMX)) == first.pk
            response = client.post(outcome_url(first), {"outcome": "no_answer"}, headers=HTMX)
    assert "That was the last attempt" in html(response)
    first.refresh_from_db()
    assert first.status == Invitation.Status.UNREACHED


# --- Query counts ----------------------------------------------------------------------------------------


def _queries(client, method, url, data=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data or {}, headers=HTMX)
        assert response.status_code == 200, html(response)[:500]
    return len(queries)


def test_next_and_outcome_take_a_small_constant_number_of_queries(
    client_for, agent, campaign, person, invitations, offer, django_assert_num_queries, django_assert_max_num_queries
):
    client = client_for(agent)
    # the user and the store (2; the session comes from the cache); the head of the one queue (invitations and
    # follow-up calls) in one statement, the card of the winner in one (on PostgreSQL both between the two
    # settings that keep their join order); the customer's open coupons, the group's offer and the customer's
    # contact history
    card = 2 + 2 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(2 + card + 3):
        client.get(NEXT, headers=HTMX)
    few = _queries(client, "get", NEXT)

    # a longer list, more coupons and earlier calls change nothing
    for i in range(20):
        person(c3_group="profitable_loyal", name=f"新客户{i}")
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    for _ in range(3):
        services.coupon_issue(template=offer, customer=invitations[0].customer)
    ServiceVisitFactory.create_batch(4, vehicle=invitations[0].customer.vehicles.get())
    assert _queries(client, "get", NEXT) == few

    # one POST: the invitation under its lock, the call and the invitation written, each in a savepoint (the
    # test's transaction holds the request's), then the next customer as above
    with django_assert_num_queries(few + 1 + 2 + 4):
        client.post(outcome_url(invitations[0]), {"outcome": "no_answer"}, headers=HTMX)
    with django_assert_max_num_queries(few + 29):  # accepted: the appointment and the offer's coupon too
        data = {"outcome": "accepted", "appointment_date": "2026-12-04", "time_slot": ""}
        client.post(outcome_url(invitations[1]), data, headers=HTMX)

    # today's counts: the store's calls of the agent by outcome, and the queue counted up to "100+"
    with django_assert_num_queries(2 + 2):
        client.get(COUNTS, headers=HTMX)
