"""Consent recorded on a call (campaigns.workbench_consent): the call card shows the store's consent text behind key
C; the agent records the answer (1 granted, 2 withdrawn) on their own call, through the phone, with the call's
reference and the text read; another agent's call is not found; a text changed meanwhile is read again."""

import pytest
from django.urls import reverse

from customers.models import ConsentEvent
from followups.models import Touch
from tests.campaigns import test_workbench
from tests.campaigns.conftest import NOW
from tests.factories import UserFactory
from tests.followups.factories_calls import call_task

HTMX = {"HX-Request": "true"}
NEXT = reverse("calls:next")
# the workbench's fixtures: a working morning, and the agent's invitations (``first`` is called first)
at_now, offer, invitations, first = (
    test_workbench.at_now,
    test_workbench.offer,
    test_workbench.invitations,
    test_workbench.first,
)
STORE_TEXT = "本人同意深圳别克4S店致电及短信告知保养和优惠信息，可随时撤回。"


@pytest.fixture(autouse=True)
def store_text(dealership):
    dealership.consent_text = STORE_TEXT
    dealership.save(update_fields=["consent_text"])


def consent_url(invitation) -> str:
    return reverse("calls:consent", args=[invitation.pk])


def touch_consent_url(touch) -> str:
    return reverse("calls:followup-consent", args=[touch.pk])


def test_the_card_shows_the_stores_text_behind_key_c(client_for, agent, first):
    body = client_for(agent).get(NEXT, headers=HTMX).content.decode()

    assert 'data-picker-key="c"' in body and 'data-picker="consent-picker"' in body
    picker = body[body.index('id="consent-picker"') :]
    assert " hidden" in picker[: picker.index(">")] and STORE_TEXT in picker
    assert f'hx-post="{consent_url(first)}"' in body and 'data-pick-key="1"' in picker


def test_the_agent_records_a_grant_on_their_call_with_its_proof(client_for, agent, first):
    response = client_for(agent).post(
        consent_url(first), {"granted": "1", "text_shown": STORE_TEXT, "note": "晚上再打"}, headers=HTMX
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="workbench-feedback"' in body and f'data-invitation-id="{first.pk}"' in body
    assert 'value="晚上再打"' in body  # what was typed into the outcome form is kept
    event = ConsentEvent.objects.get()
    assert (event.customer_id, event.granted, event.channel, event.recorded_by) == (
        first.customer_id,
        True,
        "phone",
        agent,
    )
    assert (event.reference, event.text_shown) == (f"invitation {first.pk}", STORE_TEXT)


def test_a_withdrawal_on_a_follow_up_call_names_the_touch(client_for, dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.DAY_7)
    client = client_for(agent)
    card = client.get(NEXT, headers=HTMX).content.decode()
    assert f'hx-post="{touch_consent_url(touch)}"' in card and STORE_TEXT in card

    response = client.post(touch_consent_url(touch), {"granted": "0", "text_shown": STORE_TEXT}, headers=HTMX)

    assert response.status_code == 200
    event = ConsentEvent.objects.get()
    assert (event.granted, event.channel, event.reference, event.text_shown) == (
        False,
        "phone",
        f"touch {touch.pk}",
        STORE_TEXT,
    )


def test_a_text_changed_since_the_card_was_shown_is_read_again(client_for, agent, first, dealership):
    dealership.consent_text = "新版同意书"
    dealership.save(update_fields=["consent_text"])

    response = client_for(agent).post(consent_url(first), {"granted": "1", "text_shown": STORE_TEXT}, headers=HTMX)

    assert response.status_code == 422 and not ConsentEvent.objects.exists()
    body = response.content.decode()
    assert 'data-testid="call-consent-error"' in body and "新版同意书" in body
    picker = body[body.index('id="consent-picker"') :]
    assert " hidden" not in picker[: picker.index(">")]  # open, with the new text


def test_an_answer_is_needed(client_for, agent, first):
    response = client_for(agent).post(consent_url(first), {"text_shown": STORE_TEXT}, headers=HTMX)

    assert response.status_code == 422 and not ConsentEvent.objects.exists()


def test_without_htmx_the_workbench_follows_with_a_message(client_for, agent, first):
    response = client_for(agent).post(consent_url(first), {"granted": "1", "text_shown": STORE_TEXT})

    assert response.status_code == 302 and response["Location"] == reverse("calls:workbench")
    assert ConsentEvent.objects.count() == 1


def test_another_agents_calls_are_not_found(client_for, dealership, agent, cc_manager, first):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.DAY_7)
    other = UserFactory(username="agent-two", role="agent", dealerships=[dealership])

    for user in (other, cc_manager):
        client = client_for(user)
        data = {"granted": "1", "text_shown": STORE_TEXT}
        assert client.post(consent_url(first), data, headers=HTMX).status_code == 404
        assert client.post(touch_consent_url(touch), data, headers=HTMX).status_code == 404
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize("role", ["advisor", "as_manager", "outsider"])
def test_roles_that_do_not_work_calls_are_refused(request, client_for, first, role):
    user = request.getfixturevalue(role)

    response = client_for(user).post(consent_url(first), {"granted": "1", "text_shown": STORE_TEXT}, headers=HTMX)

    assert response.status_code == 403 and not ConsentEvent.objects.exists()
