"""The follow-ups API: touches (list with filters, retrieve, cancel), message templates and the store's settings,
for the owner role, another role (403) and another store (404), in the error contract."""

import datetime as dt

import pytest
import time_machine

from followups.models import FollowupPolicy, MessageTemplate, Touch, TouchAttempt
from tests.factories import CustomerFactory
from tests.followups.factories_pages import local, template_of, touch_of

NOW = dt.datetime(2026, 6, 10, 6, 0, tzinfo=dt.UTC)
TOUCHES = "/api/v1/followups/touches/"
TEMPLATES = "/api/v1/followups/message-templates/"
SETTINGS = "/api/v1/followups/settings/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer(dealership):
    return CustomerFactory(dealership=dealership)


def test_touches_are_listed_for_managers_and_refused_to_other_roles(
    customer, cc_manager, advisor, agent, api_client_for
):
    touch_of(customer, due_at=NOW)
    response = api_client_for(cc_manager).get(TOUCHES)
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    for user in (advisor, agent):
        response = api_client_for(user).get(TOUCHES)
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_touches_filter_by_kind_status_channel_agent_and_due_day(
    dealership, customer, agent, as_manager, api_client_for
):
    mine = touch_of(customer, due_at=local(dealership, dt.date(2026, 6, 10)), assignee=agent)
    touch_of(
        customer, kind="survey", channel="sms", status=Touch.Status.SENT, due_at=local(dealership, dt.date(2026, 6, 9))
    )
    touch_of(customer, kind="day15", due_at=local(dealership, dt.date(2026, 6, 12)))
    client = api_client_for(as_manager)

    def ids(query):
        response = client.get(f"{TOUCHES}?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert len(ids("kind=survey")) == 1
    assert len(ids("status=planned")) == 2
    assert len(ids("channel=sms")) == 1
    assert ids(f"agent={agent.pk}") == {mine.pk}
    assert ids("due_after=2026-06-10&due_before=2026-06-10") == {mine.pk}
    assert len(ids("pending=true")) == 2
    response = client.get(f"{TOUCHES}?status=nonsense")
    assert response.status_code == 400 and response.json()["code"] == "invalid_choice"


def test_a_touch_is_retrieved_with_its_calls_and_reason(customer, agent, cc_manager, api_client_for):
    touch = touch_of(customer, due_at=NOW, status=Touch.Status.CANCELLED, reason="booked", assignee=agent)
    TouchAttempt.objects.create(touch=touch, agent=agent, outcome="no_answer", called_at=NOW)
    body = api_client_for(cc_manager).get(f"{TOUCHES}{touch.pk}/").json()
    assert body["reason"] == "booked" and body["reason_text"] == "The customer booked an appointment."
    assert [a["outcome"] for a in body["call_attempts"]] == ["no_answer"]
    assert body["assignee"] == agent.username


def test_another_stores_touch_is_404(customer, outsider, api_client_for):
    touch = touch_of(customer, due_at=NOW)
    client = api_client_for(outsider)
    assert client.get(f"{TOUCHES}{touch.pk}/").status_code == 404
    response = client.post(f"{TOUCHES}{touch.pk}/cancel/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get(TOUCHES).json()["results"] == []


def test_cancel_cancels_a_pending_touch_and_answers_409_after(customer, as_manager, cc_manager, api_client_for):
    touch = touch_of(customer, due_at=NOW)
    assert api_client_for(cc_manager).post(f"{TOUCHES}{touch.pk}/cancel/").status_code == 403
    client = api_client_for(as_manager)
    response = client.post(f"{TOUCHES}{touch.pk}/cancel/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == ("cancelled", "cancelled_by_user")
    again = client.post(f"{TOUCHES}{touch.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "touch_not_pending"


def test_templates_are_created_checked_changed_and_deleted(dealership, as_manager, api_client_for):
    client = api_client_for(as_manager)
    body = {"kind": "day7", "channel": "sms", "language": "zh-hans", "body": "{customer_name}您好，{plate}保养一周了"}
    created = client.post(TEMPLATES, body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    # an unknown variable is refused, with the field named
    refused = client.patch(f"{TEMPLATES}{pk}/", {"body": "{customer_name} {coupon}"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "unknown_variable" and "body" in refused.json()["fields"]
    assert "{plate}" in MessageTemplate.objects.get(pk=pk).body
    # a second template of the same kind, channel and language is refused
    assert client.post(TEMPLATES, body, format="json").status_code == 400
    changed = client.patch(f"{TEMPLATES}{pk}/", {"active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert client.delete(f"{TEMPLATES}{pk}/").status_code == 204
    assert not MessageTemplate.objects.filter(pk=pk).exists()


def test_templates_are_for_managers_and_their_store(dealership, cc_manager, outsider, api_client_for):
    template = template_of(dealership)
    assert api_client_for(cc_manager).get(TEMPLATES).status_code == 403
    assert api_client_for(outsider).get(f"{TEMPLATES}{template.pk}/").status_code == 404
    assert api_client_for(outsider).delete(f"{TEMPLATES}{template.pk}/").status_code == 404
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_settings_read_the_defaults_and_are_changed(dealership, as_manager, api_client_for):
    client = api_client_for(as_manager)
    body = client.get(SETTINGS).json()
    assert (body["send_from"], body["send_until"], body["marketing_cap"]) == ("09:00", "20:00", 4)
    response = client.patch(
        SETTINGS, {"marketing_cap": 2, "channel_windows": {"sms": ["10:00", "19:00"]}}, format="json"
    )
    assert response.status_code == 200, response.json()
    policy = FollowupPolicy.objects.get(dealership=dealership)
    assert policy.marketing_cap == 2 and policy.channel_windows == {"sms": ["10:00", "19:00"]}
    assert policy.history.get().history_user == as_manager


def test_settings_refuse_bad_hours_and_other_roles(dealership, as_manager, cc_manager, outsider, api_client_for):
    client = api_client_for(as_manager)
    response = client.patch(SETTINGS, {"send_from": "21:00"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "window_order"
    response = client.patch(SETTINGS, {"channel_windows": {"fax": ["09:00", "10:00"]}}, format="json")
    assert response.status_code == 400 and "channel_windows" in response.json()["fields"]
    assert not FollowupPolicy.objects.filter(dealership=dealership).exists()
    assert api_client_for(cc_manager).get(SETTINGS).status_code == 403
    # another store's manager reads and changes their own store's settings, never these
    assert api_client_for(outsider).patch(SETTINGS, {"marketing_cap": 1}, format="json").status_code == 200
    assert not FollowupPolicy.objects.filter(dealership=dealership).exists()
