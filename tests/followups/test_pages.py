"""The follow-up pages: the agent's follow-ups, the manager's overview, touches (with "cancel this touch"),
message templates and the store's settings — for the owner role, another role (403) and another store (404)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from followups.models import FollowupPolicy, MessageTemplate, Touch
from followups.selectors import overview
from tests.factories import CustomerFactory
from tests.followups.factories_pages import complaint_for, local, template_of, touch_of

TODAY = dt.date(2026, 6, 10)  # a Wednesday
NOW = dt.datetime(2026, 6, 10, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shenzhen


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer(dealership):
    return CustomerFactory(dealership=dealership, name="张伟")


# --- who may open what -----------------------------------------------------------------------------------


PAGES = [
    # (url name, kwargs?, owner fixture, refused fixture)
    ("followups:mine", False, "agent", "advisor"),
    ("followups:overview", False, "cc_manager", "agent"),
    ("followups:touch-list", False, "as_manager", "advisor"),
    ("followups:touch-detail", True, "cc_manager", "agent"),
    ("followups:templates", False, "as_manager", "cc_manager"),
    ("followups:template-create", False, "admin_user", "agent"),
    ("followups:template-edit", True, "as_manager", "cc_manager"),
    ("followups:settings", False, "as_manager", "cc_manager"),
]


@pytest.mark.parametrize(("name", "with_pk", "owner", "refused"), PAGES)
def test_pages_answer_the_owner_and_refuse_another_role(
    request, name, with_pk, owner, refused, dealership, customer, client_for
):
    touch = touch_of(customer, due_at=NOW)
    template = template_of(dealership)
    args = [touch.pk if "touch" in name else template.pk] if with_pk else []
    url = reverse(name, args=args)
    assert client_for(request.getfixturevalue(owner)).get(url).status_code == 200
    assert client_for(request.getfixturevalue(refused)).get(url).status_code == 403


@pytest.mark.parametrize("name", ["followups:touch-detail", "followups:template-edit"])
def test_another_stores_records_are_404(name, dealership, customer, outsider, client_for):
    touch = touch_of(customer, due_at=NOW)
    template = template_of(dealership)
    pk = touch.pk if "touch" in name else template.pk
    assert client_for(outsider).get(reverse(name, args=[pk])).status_code == 404
    response = client_for(outsider).post(reverse("followups:touch-cancel", args=[touch.pk]), {"confirmed": "yes"})
    assert response.status_code == 404
    touch.refresh_from_db()
    assert touch.status == Touch.Status.PLANNED


# --- empty states ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user", "testid"),
    [
        ("followups:mine", "agent", "mine-empty"),
        ("followups:overview", "cc_manager", "overview-empty"),
        ("followups:touch-list", "cc_manager", "touches-empty"),
        ("followups:templates", "as_manager", "templates-empty"),
    ],
)
def test_empty_pages_say_what_to_do_next(request, name, user, testid, client_for):
    body = client_for(request.getfixturevalue(user)).get(reverse(name)).content.decode()
    assert f'data-testid="{testid}"' in body


def test_a_filter_that_matches_nothing_says_so(cc_manager, customer, client_for):
    touch_of(customer, due_at=NOW)
    body = client_for(cc_manager).get(reverse("followups:touch-list") + "?kind=birthday").content.decode()
    assert 'data-testid="touches-none-match"' in body


# --- my follow-ups -----------------------------------------------------------------------------------------


def test_my_follow_ups_are_overdue_due_and_done_today(dealership, agent, cc_manager, customer, client_for):
    # given the agent's calls: one overdue, one due tonight, one done today, one tomorrow; a colleague's
    overdue = touch_of(customer, due_at=local(dealership, TODAY, 9), assignee=agent)
    later = touch_of(customer, due_at=local(dealership, TODAY, 18), assignee=agent)
    done = touch_of(
        customer,
        due_at=local(dealership, TODAY, 8),
        assignee=agent,
        status=Touch.Status.DONE,
        completed_at=local(dealership, TODAY, 10),
    )
    touch_of(customer, due_at=local(dealership, TODAY + dt.timedelta(days=1), 9), assignee=agent)
    touch_of(customer, due_at=local(dealership, TODAY, 9), assignee=cc_manager)
    # when they open their page
    context = client_for(agent).get(reverse("followups:mine")).context
    # then each is where it belongs, and nothing else
    assert [t.pk for t in context["overdue"]] == [overdue.pk]
    assert [t.pk for t in context["due"]] == [later.pk]
    assert [t.pk for t in context["done"]] == [done.pk]


# --- the overview ------------------------------------------------------------------------------------------


def test_the_overview_counts_match_the_touches_worked_out_by_hand(
    dealership, agent, cc_manager, customer, django_assert_max_num_queries
):
    # given, in the period 8–12 June (now: 10 June 14:00):
    #   day-7 calls of the agent: one due tomorrow (due), one due this morning (overdue), two done, one
    #   skipped (cap), one cancelled (booked); SMS surveys (no agent): one sent, one cancelled (complaint open),
    #   one failed (provider error); outside the period: one day-7 call on 20 June (not counted)
    def day7(status=Touch.Status.PLANNED, day=TODAY, hour=9, **fields):
        return touch_of(customer, due_at=local(dealership, day, hour), assignee=agent, status=status, **fields)

    day7(day=TODAY + dt.timedelta(days=1))
    day7(hour=9)
    day7(Touch.Status.DONE, day=TODAY - dt.timedelta(days=1))
    day7(Touch.Status.DONE, day=TODAY - dt.timedelta(days=2))
    day7(Touch.Status.SKIPPED, reason="cap_reached")
    day7(Touch.Status.CANCELLED, reason="booked")
    day7(day=dt.date(2026, 6, 20))

    def survey(status, **fields):
        return touch_of(
            customer, kind="survey", channel="sms", due_at=local(dealership, TODAY, 8), status=status, **fields
        )

    survey(Touch.Status.SENT)
    survey(Touch.Status.CANCELLED, reason="complaint_open")
    survey(Touch.Status.FAILED, reason="provider_error")
    # when the overview is read: per kind and agent in one aggregate, the reasons in another, the agents' names
    with django_assert_max_num_queries(3):
        result = overview(dealership=dealership, start=dt.date(2026, 6, 8), end=dt.date(2026, 6, 12))
    by_kind = {kind: counts for _label, kind, counts in result.by_kind}
    assert (by_kind["day7"].due, by_kind["day7"].overdue, by_kind["day7"].done) == (1, 1, 2)
    assert (by_kind["day7"].skipped, by_kind["day7"].cancelled, by_kind["day7"].total) == (1, 1, 6)
    assert (by_kind["survey"].done, by_kind["survey"].cancelled, by_kind["survey"].failed) == (1, 1, 1)
    by_agent = {agent_.pk if agent_ else None: counts for agent_, counts in result.by_agent}
    assert by_agent[agent.pk].total == 6 and by_agent[None].total == 3
    assert result.totals.total == 9
    reasons = {(code, n) for _status, code, _words, n in result.reasons}
    assert reasons == {("cap_reached", 1), ("booked", 1), ("complaint_open", 1), ("provider_error", 1)}


def test_the_overview_page_shows_the_period_and_complaints(dealership, cc_manager, customer, client_for):
    touch_of(customer, due_at=local(dealership, TODAY, 9))
    complaint_for(customer, opened_at=NOW - dt.timedelta(hours=30))  # first response was due 6 hours ago
    response = client_for(cc_manager).get(reverse("followups:overview") + "?start=2026-06-01&end=2026-06-30")
    body = response.content.decode()
    assert "Touches due from 2026-06-01 to 2026-06-30" in body
    assert body.count('data-testid="kind-row"') == 1
    assert body.count('data-testid="overview-complaint"') == 1


def test_a_wrong_period_falls_back_to_the_default(cc_manager, client_for):
    response = client_for(cc_manager).get(reverse("followups:overview") + "?start=2026-06-30&end=2026-06-01")
    assert response.status_code == 200
    assert 'data-testid="period-errors"' in response.content.decode()


# --- cancel this touch -------------------------------------------------------------------------------------


def test_cancel_asks_first_then_cancels_with_the_reason(as_manager, customer, client_for):
    touch = touch_of(customer, due_at=NOW + dt.timedelta(days=1))
    client = client_for(as_manager)
    url = reverse("followups:touch-cancel", args=[touch.pk])
    # the first POST only asks
    response = client.post(url)
    assert response.status_code == 200 and 'data-testid="confirm-step"' in response.content.decode()
    touch.refresh_from_db()
    assert touch.status == Touch.Status.PLANNED
    # the confirmed one cancels, naming who
    response = client.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    touch.refresh_from_db()
    assert (touch.status, touch.reason) == (Touch.Status.CANCELLED, "cancelled_by_user")
    assert str(as_manager) in touch.reason_detail


def test_cancel_is_refused_when_the_touch_is_no_longer_pending(as_manager, customer, client_for):
    touch = touch_of(customer, due_at=NOW, status=Touch.Status.SENT)
    response = client_for(as_manager).post(reverse("followups:touch-cancel", args=[touch.pk]), {"confirmed": "yes"})
    assert response.status_code == 409
    touch.refresh_from_db()
    assert touch.status == Touch.Status.SENT


def test_cancel_is_refused_when_it_was_sent_between_asking_and_confirming(as_manager, customer, client_for):
    # given the confirmation step was shown, then the dispatcher sent the touch
    touch = touch_of(customer, due_at=NOW)
    client = client_for(as_manager)
    url = reverse("followups:touch-cancel", args=[touch.pk])
    assert client.post(url).status_code == 200
    Touch.objects.filter(pk=touch.pk).update(status=Touch.Status.SENT)
    # when the manager confirms: 409, and the touch stays sent
    assert client.post(url, {"confirmed": "yes"}).status_code == 409
    touch.refresh_from_db()
    assert touch.status == Touch.Status.SENT


def test_cancel_is_for_managers_only(cc_manager, customer, client_for):
    touch = touch_of(customer, due_at=NOW)
    url = reverse("followups:touch-cancel", args=[touch.pk])
    assert client_for(cc_manager).post(url, {"confirmed": "yes"}).status_code == 403


def test_the_touch_page_shows_the_reason_in_words(cc_manager, customer, client_for):
    touch = touch_of(customer, due_at=NOW, status=Touch.Status.CANCELLED, reason="visited")
    body = client_for(cc_manager).get(reverse("followups:touch-detail", args=[touch.pk])).content.decode()
    assert "The customer came in." in body
    assert 'data-testid="touch-cancel"' not in body


# --- message templates -------------------------------------------------------------------------------------


def test_a_template_with_an_unknown_variable_is_refused_on_the_form(dealership, as_manager, client_for):
    data = {"kind": "day7", "channel": "sms", "language": "zh-hans", "body": "{customer_name}您好 {coupon}"}
    response = client_for(as_manager).post(reverse("followups:template-create"), data)
    assert response.status_code == 200
    assert "{coupon}" in response.content.decode()
    assert not MessageTemplate.objects.filter(dealership=dealership).exists()


def test_a_template_is_saved_audited_and_edited(dealership, as_manager, client_for):
    client = client_for(as_manager)
    data = {"kind": "day7", "channel": "sms", "language": "zh-hans", "body": "{customer_name}您好", "active": "on"}
    assert client.post(reverse("followups:template-create"), data).status_code == 302
    template = MessageTemplate.objects.get(dealership=dealership)
    data["body"] = "{customer_name}您好，{plate}保养一周了"
    assert client.post(reverse("followups:template-edit", args=[template.pk]), data).status_code == 302
    template.refresh_from_db()
    assert "{plate}" in template.body
    assert {h.history_user for h in template.history.all()} == {as_manager}
    assert template.history.count() == 2


def test_a_second_template_of_the_same_kind_is_refused(dealership, as_manager, client_for):
    template_of(dealership)
    data = {"kind": "day7", "channel": "sms", "language": "zh-hans", "body": "{customer_name}"}
    response = client_for(as_manager).post(reverse("followups:template-create"), data)
    assert response.status_code == 200
    assert MessageTemplate.objects.filter(dealership=dealership).count() == 1


def test_deleting_a_template_asks_first(dealership, as_manager, client_for):
    template = template_of(dealership)
    client = client_for(as_manager)
    url = reverse("followups:template-delete", args=[template.pk])
    assert 'data-testid="confirm-step"' in client.post(url).content.decode()
    assert MessageTemplate.objects.filter(pk=template.pk).exists()
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    assert not MessageTemplate.objects.filter(pk=template.pk).exists()


def test_the_preview_fills_sample_values_and_shows_the_check(as_manager, client_for):
    client = client_for(as_manager)
    url = reverse("followups:template-preview")
    ok = client.post(url, {"kind": "day7", "channel": "sms", "body": "{customer_name}，{plate}"}).content.decode()
    assert 'data-testid="preview-ok"' in ok and "粤B·D12345" in ok
    bad = client.post(url, {"kind": "day7", "channel": "sms", "body": "{nope}"}).content.decode()
    assert 'data-testid="preview-errors"' in bad


# --- settings ----------------------------------------------------------------------------------------------


def _settings_form(**changes):
    data = {
        "send_from": "09:00",
        "send_until": "20:00",
        "marketing_cap": "4",
        "cap_days": "30",
        "when_capped": "wait",
        "followup_visit_types": ["maintenance"],
        "reminder_message_days": "14",
        "reminder_call_days": "7",
        "complaint_response_hours": "24",
        "complaint_resolution_days": "7",
        "business_from": "09:00",
        "business_until": "18:00",
        "business_days": ["1", "2", "3", "4", "5", "6"],
        "sms_from": "10:00",
        "sms_until": "19:30",
    }
    data.update(changes)
    return data


def test_the_settings_are_saved_and_audited(dealership, as_manager, client_for):
    client = client_for(as_manager)
    assert 'data-testid="settings-state"' in client.get(reverse("followups:settings")).content.decode()
    response = client.post(reverse("followups:settings"), _settings_form(marketing_cap="3", when_capped="skip"))
    assert response.status_code == 302
    policy = FollowupPolicy.objects.get(dealership=dealership)
    assert (policy.marketing_cap, policy.when_capped) == (3, "skip")
    assert policy.channel_windows == {"sms": ["10:00", "19:30"]}
    assert policy.history.get().history_user == as_manager


def test_settings_with_the_hours_the_wrong_way_round_are_refused(dealership, as_manager, client_for):
    response = client_for(as_manager).post(reverse("followups:settings"), _settings_form(send_from="21:00"))
    assert response.status_code == 200
    assert not FollowupPolicy.objects.filter(dealership=dealership).exists()


def test_the_menu_follows_the_role(agent, cc_manager, advisor, client_for):
    assert 'data-testid="nav-followups"' in client_for(agent).get(reverse("followups:mine")).content.decode()
    assert 'data-testid="nav-followups"' in client_for(cc_manager).get(reverse("followups:overview")).content.decode()
    assert 'data-testid="nav-followups"' not in client_for(advisor).get("/customers/").content.decode()


def test_the_touch_list_filters_by_agent_and_due_day(dealership, agent, cc_manager, customer, outsider, client_for):
    mine = touch_of(customer, due_at=local(dealership, TODAY, 9), assignee=agent)
    touch_of(customer, due_at=local(dealership, TODAY + dt.timedelta(days=3), 9), assignee=cc_manager)
    client = client_for(cc_manager)
    response = client.get(reverse("followups:touch-list") + f"?agent={agent.pk}")
    assert [t.pk for t in response.context["touches"]] == [mine.pk]
    response = client.get(reverse("followups:touch-list") + "?due_from=2026-06-10&due_until=2026-06-10")
    assert [t.pk for t in response.context["touches"]] == [mine.pk]
    # another store's user is no choice: the filter is left out, with a word
    response = client.get(reverse("followups:touch-list") + f"?agent={outsider.pk}")
    assert len(response.context["touches"]) == 2
    assert "Some filters were not understood" in response.content.decode()
