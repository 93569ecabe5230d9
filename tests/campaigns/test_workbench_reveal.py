"""The call card's "Show number" (campaigns.workbench_reveal): the number masked on the card, revealed on purpose
by the agent on their own call (an invitation on their list, a follow-up call assigned to them), one access
event per reveal; another agent's call is not found; the card's queries do not change."""

import pytest
from django.db import connection
from django.urls import reverse

from campaigns.models import Invitation
from dealercrm.core.models import AccessEvent
from dealercrm.core.privacy import mask_phone
from followups.models import Touch
from tests.campaigns import test_workbench as workbench_tests
from tests.campaigns.conftest import NOW
from tests.factories import UserFactory
from tests.followups.factories_calls import call_task

# the workbench tests' fixtures: a working morning, three customers on the agent's list, the first of them
at_now, offer, invitations, first = (
    workbench_tests.at_now,
    workbench_tests.offer,
    workbench_tests.invitations,
    workbench_tests.first,
)

HTMX = {"HX-Request": "true"}
NEXT = reverse("calls:next")


def phone_url(invitation) -> str:
    return reverse("calls:phone", args=[invitation.pk])


def touch_phone_url(touch) -> str:
    return reverse("calls:followup-phone", args=[touch.pk])


def digits(customer) -> str:
    return str(customer.phone).removeprefix("+86")


def test_the_card_shows_the_number_masked_with_the_agents_show_number_key(client_for, agent, first):
    body = client_for(agent).get(NEXT, headers=HTMX).content.decode()

    assert mask_phone(first.customer.phone) in body and digits(first.customer) not in body
    assert f'hx-post="{phone_url(first)}"' in body and 'data-reveal-key="p"' in body
    assert not AccessEvent.objects.exists()  # the card is no look at the full number


def test_the_agent_reveals_the_number_of_their_own_call_and_it_is_logged_once(client_for, agent, first):
    response = client_for(agent).post(phone_url(first), headers=HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="tel:{digits(first.customer)}"' in body
    event = AccessEvent.objects.get()
    assert (event.kind, event.user, event.customer_id) == ("reveal", agent, first.customer_id)
    assert event.what == f"call invitation {first.pk}"


def test_another_agents_invitation_is_not_found_and_nothing_is_logged(client_for, dealership, first):
    other = UserFactory(username="agent-two", role="agent", dealerships=[dealership])

    response = client_for(other).post(phone_url(first), headers=HTMX)

    assert response.status_code == 404 and digits(first.customer).encode() not in response.content
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("role, status", [("cc_manager", 404), ("advisor", 403), ("outsider", 403)])
def test_anyone_but_the_calls_agent_is_refused(request, client_for, first, role, status):
    # the call-centre manager works calls, but not this one (404); the advisor and another store's manager do
    # not work calls at all (403)
    user = request.getfixturevalue(role)

    response = client_for(user).post(phone_url(first), headers=HTMX)

    assert response.status_code == status
    assert not AccessEvent.objects.exists()


def test_a_closed_invitation_is_not_revealed(client_for, agent, first):
    Invitation.objects.filter(pk=first.pk).update(status=Invitation.Status.DECLINED)

    response = client_for(agent).post(phone_url(first), headers=HTMX)

    assert response.status_code == 409 and digits(first.customer).encode() not in response.content
    assert mask_phone(first.customer.phone).encode() in response.content
    assert not AccessEvent.objects.exists()


def test_the_agent_reveals_the_number_of_their_own_follow_up_call(client_for, dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.DAY_7)
    client = client_for(agent)

    card = client.get(NEXT, headers=HTMX).content.decode()
    response = client.post(touch_phone_url(touch), headers=HTMX)

    assert touch_phone_url(touch) in card and digits(touch.customer) not in card
    assert response.status_code == 200 and f'href="tel:{digits(touch.customer)}"'.encode() in response.content
    event = AccessEvent.objects.get()
    assert (event.kind, event.customer_id, event.what) == ("reveal", touch.customer_id, f"call touch {touch.pk}")


def test_another_agents_follow_up_call_is_not_found(client_for, dealership, agent, cc_manager):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.DAY_7)
    other = UserFactory(username="agent-two", role="agent", dealerships=[dealership])

    for user in (other, cc_manager):
        assert client_for(user).post(touch_phone_url(touch), headers=HTMX).status_code == 404
    assert not AccessEvent.objects.exists()


def test_each_reveal_is_one_event_and_the_next_outcome_is_recorded_at_once(client_for, agent, invitations):
    client = client_for(agent)
    client.post(phone_url(invitations[0]), headers=HTMX)
    client.post(phone_url(invitations[0]), headers=HTMX)

    response = client.post(reverse("calls:outcome", args=[invitations[0].pk]), {"outcome": "busy"}, headers=HTMX)

    assert response.status_code == 200
    assert AccessEvent.objects.filter(kind="reveal", customer_id=invitations[0].customer_id).count() == 2


def test_the_reveal_takes_a_few_queries_and_the_card_as_many_as_before(
    client_for, agent, campaign, person, first, django_assert_num_queries
):
    client = client_for(agent)
    client.get(NEXT, headers=HTMX)  # warm up the session
    # the user and the store; the invitation with its customer; the access event
    with django_assert_num_queries(2 + 1 + 1):
        client.post(phone_url(first), headers=HTMX)
    # the card after a reveal: as many statements as tests/campaigns/test_workbench.py holds it to without one
    # (the user and the store; the queue's head and the card, 2 more on PostgreSQL; coupons, offer, history)
    card = 2 + 2 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(2 + card + 3):
        client.get(NEXT, headers=HTMX)
