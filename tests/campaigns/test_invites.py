"""Invitations by message (campaigns.invites): the touches planned with the list, the call they replace or
precede, the personal link and its page, and a booking through it that equals an accepted call."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client, override_settings
from django.urls import reverse

from campaigns import invites, selectors, services
from campaigns.models import Campaign, Coupon, Invitation
from customers.models import Appointment
from followups.models import Touch
from tests.campaigns.conftest import END, NOW, SHANGHAI, START, generate


@pytest.fixture
def offer(make_template):
    return make_template(name="¥100 工时券", valid_days=30)


@pytest.fixture
def gift(make_template):
    return make_template(name="免费洗车", kind="gift", gift="洗车一次", valid_days=60)


@pytest.fixture
def listed(campaign, person, make_group, agent, offer, gift, frozen):
    """``listed(n, **group fields)``: a running campaign whose one group (offering ``offer`` and ``gift``)
    lists ``n`` customers; returns the invitations by id."""

    def make(n=2, **group_fields):
        for _ in range(n):
            person()
        make_group({}, script="您好，我会第一时间为您安排维修。", offers=[offer, gift], **group_fields)
        generate(campaign, [agent])
        return list(Invitation.objects.filter(campaign=campaign).order_by("id"))

    return make


def queue(agent, dealership, now=None) -> list[int]:
    return list(selectors.agent_queue(agent=agent, dealership=dealership, now=now).values_list("pk", flat=True))


def touch_of(invitation) -> Touch:
    return Touch.objects.get(invitation=invitation, kind=Touch.Kind.INVITATION)


def link_path(invitation) -> str:
    return reverse("invites:page", args=[invites.invite_token(invitation)])


def text(response) -> str:
    return response.content.decode()


# --- planning: the touches come with the list ------------------------------------------------------------------


def test_generating_the_list_plans_one_invitation_touch_per_invitee_and_a_second_run_none(
    dealership, campaign, listed, agent
):
    # Given a group inviting by SMS, with the message replacing the call
    invitations = listed(3, invite_channel="sms")

    # Then each invitee has one marketing SMS invitation due now (the campaign runs), until its last day
    touches = Touch.objects.filter(kind=Touch.Kind.INVITATION).order_by("invitation_id")
    assert [t.invitation_id for t in touches] == [i.pk for i in invitations]
    first = touches[0]
    assert (first.channel, first.touch_class, first.status, first.priority) == ("sms", "marketing", "planned", 4)
    assert first.due_at == NOW
    assert first.expires_at == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert first.customer_id == invitations[0].customer_id

    # When the list is generated again
    again = services.invitation_list_generate(campaign=campaign, agents=[agent])

    # Then nothing is planned twice
    assert again["messages"] == {campaign.target_groups.get().pk: 0}
    assert Touch.objects.filter(kind=Touch.Kind.INVITATION).count() == 3


def test_a_scheduled_campaign_plans_its_messages_for_its_first_day(dealership, campaign, person, make_group, agent):
    person()
    make_group({}, invite_channel="wechat")
    with time_machine.travel(datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI), tick=False):
        services.campaign_schedule(campaign=campaign)
        campaign.refresh_from_db()
        services.invitation_list_generate(campaign=campaign, agents=[agent])

    touch = Touch.objects.get(kind=Touch.Kind.INVITATION)
    assert (touch.channel, touch.due_at) == ("wechat", datetime(2026, 11, 20, 0, 0, tzinfo=SHANGHAI))


def test_without_days_the_message_replaces_the_call(dealership, campaign, listed, agent):
    invitations = listed(2, invite_channel="sms")

    assert {i.agent_id for i in invitations} == {None}
    assert queue(agent, dealership) == []
    assert queue(agent, dealership, now=NOW + timedelta(days=20)) == []
    # and the progress page does not ask for them to be assigned
    services.invitations_assign(campaign=campaign, agents=[agent])
    assert Invitation.objects.filter(agent__isnull=False).count() == 0


def test_with_days_the_call_follows_the_message_for_those_who_have_not_booked(dealership, campaign, listed, agent):
    first, second = listed(2, invite_channel="sms", call_after_message_days=3)

    # The invitations are the agent's, but not callable before the three days are up
    assert {first.agent_id, second.agent_id} == {agent.pk}
    assert first.next_call_at == NOW + timedelta(days=3)
    assert queue(agent, dealership) == []

    # When the first books through the link
    invites.invitation_book_by_link(token=invites.invite_token(first), appointment_date=date(2026, 12, 5), now=NOW)

    # Then after three days only the second is in the queue
    assert queue(agent, dealership, now=NOW + timedelta(days=3)) == [second.pk]


def test_the_holdout_gets_no_message(dealership, campaign, listed, agent):
    from decimal import Decimal

    invitations = listed(4, invite_channel="email", holdout_share=Decimal("0.5"))

    held = [i.pk for i in invitations if i.holdout]
    assert len(held) == 2
    assert not Touch.objects.filter(invitation_id__in=held).exists()
    assert Touch.objects.filter(kind=Touch.Kind.INVITATION).count() == 2


def test_a_group_without_a_channel_plans_no_message(dealership, campaign, listed, agent):
    invitations = listed(2)

    assert not Touch.objects.filter(kind=Touch.Kind.INVITATION).exists()
    assert {i.agent_id for i in invitations} == {agent.pk}


def test_a_call_after_the_message_needs_the_channel(campaign, make_group):
    from dealercrm.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        make_group({}, call_after_message_days=3)
    assert refused.value.code == "invite_channel_missing"


# --- the link ---------------------------------------------------------------------------------------------------


@override_settings(SITE_URL="https://crm.example.cn/")
def test_the_link_is_absolute_and_names_the_invitation(listed):
    (invitation, *_) = listed(1, invite_channel="sms")

    link = invites.invite_link_for_touch(touch_of(invitation), now=NOW)

    assert link.startswith("https://crm.example.cn/i/")
    token = link.removeprefix("https://crm.example.cn/i/").rstrip("/")
    assert invites.invitation_from_token(token, now=NOW).pk == invitation.pk


def test_the_page_shows_the_campaign_its_highlights_and_the_groups_offer_in_chinese(campaign, listed):
    services.campaign_update(campaign=campaign, changes={"description": "冬季保养套餐，工时八折。"})
    (invitation, *_) = listed(1, invite_channel="sms")

    response = Client().get(link_path(invitation))

    html = text(response)
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "冬季保养邀约" in html and "冬季保养套餐，工时八折。" in html
    assert "¥100 工时券" in html and "免费洗车" in html
    assert invitation.vehicle.plate in html
    assert 'min="2026-12-01"' in html and 'max="2026-12-31"' in html
    assert "<script" not in html and "style=" not in html


def test_booking_by_link_gives_the_same_appointment_and_coupons_as_an_accepted_call(listed, agent, frozen):
    # Given two invitees of a group whose message is followed by a call the same day
    by_call, by_link = listed(2, invite_channel="sms", call_after_message_days=0)
    day = date(2026, 12, 8)

    # When one accepts on the phone and the other books through the link
    services.call_record(
        invitation=by_call, agent=agent, outcome="accepted", appointment_date=day, time_slot="09:00-10:00"
    )
    response = Client().post(link_path(by_link), {"date": day.isoformat(), "time_slot": "09:00-10:00"})

    # Then both are accepted with an appointment of the same kind and the same coupons
    assert response.status_code == 200
    html = text(response)
    by_call.refresh_from_db()
    by_link.refresh_from_db()

    def booked(invitation):
        a = invitation.appointment
        coupons = Coupon.objects.filter(invitation=invitation).order_by("template__name")
        return (
            invitation.status,
            (a.date, a.time_slot, a.source, a.status, a.note, a.vehicle_id == invitation.vehicle_id),
            [(c.template.name, c.campaign_id, c.customer_id == invitation.customer_id, c.expires_on) for c in coupons],
        )

    assert booked(by_link) == booked(by_call)
    assert booked(by_link)[0] == Invitation.Status.ACCEPTED
    assert len(booked(by_link)[2]) == 2
    for coupon in Coupon.objects.filter(invitation=by_link):
        assert coupon.code in html
    # and the invitation's pending message is stopped: the customer has booked
    assert touch_of(by_call).status == Touch.Status.CANCELLED and touch_of(by_call).reason == "booked"
    assert touch_of(by_link).status == Touch.Status.CANCELLED


def test_a_second_booking_through_the_same_link_is_refused_with_the_page(listed):
    (invitation, *_) = listed(1, invite_channel="sms")
    client = Client()
    assert client.post(link_path(invitation), {"date": "2026-12-03"}).status_code == 200

    again = client.post(link_path(invitation), {"date": "2026-12-04"})
    opened = client.get(link_path(invitation))

    assert again.status_code == 410 and 'data-kind="used"' in text(again)
    assert opened.status_code == 410 and "2026-12-03" in text(opened)
    assert Appointment.objects.filter(customer=invitation.customer).count() == 1
    assert Coupon.objects.filter(customer=invitation.customer).count() == 2


def test_a_tampered_link_answers_a_friendly_400_page(listed):
    (invitation, *_) = listed(1, invite_channel="sms")
    token = invites.invite_token(invitation)
    forged = signing.dumps({"i": invitation.pk + 1}, salt="another.salt")

    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "nonsense"):
        response = Client().get(reverse("invites:page", args=[bad]))
        assert response.status_code == 400
        assert 'data-kind="invalid"' in text(response) and '<html lang="zh-hans">' in text(response)
    posted = Client().post(reverse("invites:page", args=["nonsense"]), {"date": "2026-12-03"})
    assert posted.status_code == 400
    assert not Appointment.objects.exists()


def test_after_the_campaigns_last_day_the_link_has_expired(listed, frozen):
    (invitation, *_) = listed(1, invite_channel="sms")
    path = link_path(invitation)
    assert Client().get(path).status_code == 200

    frozen.move_to(datetime(2027, 1, 1, 0, 0, 1, tzinfo=SHANGHAI))
    response = Client().get(path)
    posted = Client().post(path, {"date": "2027-01-02"})

    assert response.status_code == 410 and 'data-kind="expired"' in text(response)
    assert posted.status_code == 410
    assert not Appointment.objects.exists()


def test_on_the_last_day_the_link_still_books(listed, frozen):
    (invitation, *_) = listed(1, invite_channel="sms")
    frozen.move_to(datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI))

    response = Client().post(link_path(invitation), {"date": "2026-12-31"})

    assert response.status_code == 200
    assert Appointment.objects.get().date == END


@pytest.mark.parametrize("day", ["2026-11-30", "2027-01-01", "2026-13-01", ""])
def test_a_day_outside_the_period_or_in_the_past_is_refused_with_a_message(listed, day):
    (invitation, *_) = listed(1, invite_channel="sms")

    response = Client().post(link_path(invitation), {"date": day})

    assert response.status_code == 400
    assert 'data-testid="invite-error"' in text(response)
    assert not Appointment.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_the_message_for_a_day_outside_names_the_period(listed):
    (invitation, *_) = listed(1, invite_channel="sms")

    html = text(Client(headers={"Accept-Language": "en"}).post(link_path(invitation), {"date": "2027-01-05"}))

    assert "2026-12-31" in html


def test_an_unknown_time_slot_or_another_customers_vehicle_is_refused(listed):
    first, second = listed(2, invite_channel="sms")

    slot = Client().post(link_path(first), {"date": "2026-12-03", "time_slot": "23:00"})
    vehicle = Client().post(link_path(first), {"date": "2026-12-03", "vehicle": str(second.vehicle_id)})

    assert slot.status_code == 400 and vehicle.status_code == 400
    assert not Appointment.objects.exists()


def test_a_customer_who_declined_on_the_phone_may_still_book_but_not_a_wrong_number(listed, agent):
    declined, unreached, wrong = listed(3, invite_channel="sms", call_after_message_days=0)
    Invitation.objects.filter(pk=declined.pk).update(status=Invitation.Status.DECLINED)
    Invitation.objects.filter(pk=unreached.pk).update(status=Invitation.Status.UNREACHED)
    Invitation.objects.filter(pk=wrong.pk).update(status=Invitation.Status.WRONG_NUMBER)

    assert Client().post(link_path(declined), {"date": "2026-12-03"}).status_code == 200
    assert Client().post(link_path(unreached), {"date": "2026-12-03"}).status_code == 200
    refused = Client().post(link_path(wrong), {"date": "2026-12-03"})

    assert refused.status_code == 410 and 'data-kind="closed"' in text(refused)
    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses == {declined.pk: "accepted", unreached.pk: "accepted", wrong.pk: "wrong_number"}


def test_a_finished_campaigns_link_has_expired(listed):
    (invitation, *_) = listed(1, invite_channel="sms")
    Campaign.objects.filter(pk=invitation.campaign_id).update(status=Campaign.Status.FINISHED)

    response = Client().get(link_path(invitation))

    assert response.status_code == 410 and 'data-kind="expired"' in text(response)


def test_the_link_page_is_in_english_for_a_visitor_who_chose_it(listed):
    from django.conf import settings

    (invitation, *_) = listed(1, invite_channel="sms")
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    html = text(client.get(link_path(invitation)))

    assert '<html lang="en">' in html and "Book your visit" in html


def test_the_booking_is_in_the_appointments_history_as_made_through_the_link(listed):
    (invitation, *_) = listed(1, invite_channel="sms")

    Client().post(link_path(invitation), {"date": "2026-12-03"})

    appointment = Appointment.objects.get()
    record = appointment.history.first()
    assert record.history_user is None
    assert "invitation link" in (record.history_change_reason or "")


def test_start_is_before_today_so_the_first_bookable_day_is_today(listed):
    (invitation, *_) = listed(1, invite_channel="sms")
    assert NOW.date() > START

    assert invites.booking_days(invitation, now=NOW) == (NOW.date(), END)


# --- the group's form and API -------------------------------------------------------------------------------------


def test_the_group_form_sets_the_message_channel_and_the_call_after_it(client_for, as_manager, campaign):
    from campaigns.models import TargetGroup

    client = client_for(as_manager)
    create = reverse("campaigns:group-create", args=[campaign.pk])
    assert 'name="invite_channel"' in text(client.get(create))

    response = client.post(create, {"name": "短信邀约", "invite_channel": "sms", "call_after_message_days": "3"})

    assert response.status_code == 302, text(response)
    group = TargetGroup.objects.get(campaign=campaign)
    assert (group.invite_channel, group.call_after_message_days) == ("sms", 3)
    assert "SMS first, call after 3 days" in text(client.get(reverse("campaigns:detail", args=[campaign.pk])))
    edit = text(client.get(reverse("campaigns:group-edit", args=[group.pk])))
    assert '<option value="sms" selected>' in edit and 'value="3"' in edit


def test_the_group_form_refuses_a_call_after_no_message(client_for, as_manager, campaign):
    client = client_for(as_manager)

    response = client.post(
        reverse("campaigns:group-create", args=[campaign.pk]), {"name": "组", "call_after_message_days": "3"}
    )

    assert response.status_code == 200
    assert "Choose the channel of the message that the call follows" in text(response)


def test_the_api_reads_and_writes_the_message_channel(api_client_for, as_manager, campaign):
    api = api_client_for(as_manager)

    created = api.post(
        reverse("api-campaign-target-group-list"),
        {"campaign": campaign.pk, "name": "微信邀约", "filters": {}, "invite_channel": "wechat"},
        format="json",
    )
    refused = api.post(
        reverse("api-campaign-target-group-list"),
        {"campaign": campaign.pk, "name": "组", "filters": {}, "call_after_message_days": 2},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert (created.json()["invite_channel"], created.json()["call_after_message_days"]) == ("wechat", None)
    assert refused.status_code == 400 and refused.json()["code"] == "invite_channel_missing"


# --- end to end: the dispatcher sends the message, its link books ---------------------------------------------------


@override_settings(SITE_URL="https://crm.example.cn")
def test_the_dispatcher_sends_the_invitation_and_its_link_books(listed, frozen):
    from followups import dispatcher
    from followups.models import Message

    (invitation, *_) = listed(1, invite_channel="sms")

    # When the dispatcher runs within the sending window (the database back end records the text)
    dispatcher.dispatch_due(now=NOW)

    # Then one text went out, carrying the personal link, and the touch is sent
    message = Message.objects.get(touch__invitation=invitation)
    assert message.channel == "sms"
    link = next(word for word in message.body.split() if word.startswith("https://crm.example.cn/i/"))
    link = link.rstrip("。，,.")
    touch = touch_of(invitation)
    assert touch.status in (Touch.Status.SENT, Touch.Status.DELIVERED)

    # And the link opens the page and books
    path = link.removeprefix("https://crm.example.cn")
    assert Client().get(path).status_code == 200
    assert Client().post(path, {"date": "2026-12-04"}).status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED


def test_planning_takes_the_same_queries_for_two_or_twenty_invitees(campaign, person, make_group, agent, frozen):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_group({}, invite_channel="sms", call_after_message_days=2)

    def plan_after(n):
        for _ in range(n):
            person()
        generate(campaign, [agent])
        Touch.objects.filter(kind=Touch.Kind.INVITATION).delete()
        Invitation.objects.update(next_call_at=None)
        with CaptureQueriesContext(connection) as queries:
            planned = invites.invitation_touches_plan(campaign=campaign)
        return len(queries), sum(planned.values())

    two = plan_after(2)
    twenty = plan_after(18)

    assert (two[1], twenty[1]) == (2, 20)
    assert twenty[0] == two[0]


def test_the_campaign_page_says_how_many_messages_generating_planned(
    client_for, cc_manager, campaign, person, make_group, agent, frozen
):
    for _ in range(3):
        person()
    make_group({}, invite_channel="sms")
    services.campaign_schedule(campaign=campaign)
    services.campaign_start(campaign=campaign, today=START)
    client = client_for(cc_manager)

    response = client.post(
        reverse("campaigns:generate", args=[campaign.pk]), {f"gen-agent_{agent.pk}": "on"}, follow=True
    )

    assert "3 invitations by message planned" in text(response)
    assert Touch.objects.filter(kind=Touch.Kind.INVITATION).count() == 3
