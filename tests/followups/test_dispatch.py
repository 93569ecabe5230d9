"""The dispatcher through the database back end: due touches sent once, checked again at the moment of sending
(expiry, consent, quiet hours, the marketing cap), a touch cancelled meanwhile left cancelled."""

import datetime as dt

import pytest
import time_machine

from campaigns.models import CallAttempt
from followups import dispatcher
from followups.channels.database import DatabaseChannel
from followups.models import FollowupPolicy, Message, Touch
from followups.stops import cancel_pending
from tests.factories import DealershipFactory
from tests.followups.factories_dispatch import customer_of, local, make_touch, marketing_touch

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)  # a Tuesday


def status_of(touch):
    touch.refresh_from_db()
    return touch.status


def test_a_due_service_text_is_sent_once_with_its_message_recorded(dealership):
    # Given a day-7 text due this morning
    customer = customer_of(dealership, name="张伟")
    touch = make_touch(customer, kind="day7", channel="sms", due_at=local(dealership, DAY, 9))

    # When the dispatcher runs at 10:00, and again
    now = local(dealership, DAY, 10)
    first = dispatcher.dispatch_due(now=now)
    second = dispatcher.dispatch_due(now=now)

    # Then it was sent once, with its message and idempotency key recorded
    touch.refresh_from_db()
    assert touch.status == Touch.Status.SENT and touch.attempts == 1 and touch.sent_at == now
    assert touch.lease_until is None
    message = Message.objects.get(touch=touch)
    assert message.idempotency_key == f"touch-{touch.pk}"
    assert message.status == Message.Status.ACCEPTED and message.backend == "database"
    assert message.recipient == str(customer.phone)
    assert "张伟" in message.body
    assert first["sent"] == 1 and second == {"claimed": 0}


def test_a_touch_not_yet_due_waits(dealership):
    touch = make_touch(customer_of(dealership), due_at=local(dealership, DAY, 11))
    assert dispatcher.dispatch_due(now=local(dealership, DAY, 10)) == {"claimed": 0}
    assert status_of(touch) == Touch.Status.PLANNED


def test_a_text_due_at_nine_pm_waits_for_nine_next_morning_then_goes(dealership):
    # Given a text falling due at 21:00 in the store's zone
    touch = make_touch(customer_of(dealership), due_at=local(dealership, DAY, 21))

    # When the dispatcher runs at 21:00
    with time_machine.travel(local(dealership, DAY, 21), tick=False):
        counts = dispatcher.dispatch_due()

    # Then nothing is sent: it waits for the window's opening at 09:00 the next day
    touch.refresh_from_db()
    assert counts["waiting"] == 1
    assert touch.status == Touch.Status.PLANNED
    assert touch.due_at == local(dealership, DAY + dt.timedelta(days=1), 9)
    assert not Message.objects.exists()

    # and at 08:59 it still waits; at 09:00 it goes
    with time_machine.travel(local(dealership, DAY + dt.timedelta(days=1), 8, 59), tick=False):
        assert dispatcher.dispatch_due() == {"claimed": 0}
    with time_machine.travel(local(dealership, DAY + dt.timedelta(days=1), 9), tick=False):
        dispatcher.dispatch_due()
    assert status_of(touch) == Touch.Status.SENT


def test_quiet_hours_are_those_of_the_stores_zone_and_channel(db):
    # Given a store in Urumqi time (UTC+6) whose texts go 10:00–18:00 and emails 08:00–22:00
    store = DealershipFactory(code="URC1", time_zone="Asia/Urumqi")
    FollowupPolicy.objects.create(
        dealership=store, channel_windows={"sms": ["10:00", "18:00"]}, send_from=dt.time(8), send_until=dt.time(22)
    )
    customer = customer_of(store, email="a@example.com")
    text = make_touch(customer, kind="day7", channel="sms", due_at=local(store, DAY, 8))
    email = make_touch(customer, kind="day15", channel="email", due_at=local(store, DAY, 8))

    # When the dispatcher runs at 09:00 in Urumqi (11:00 in Beijing)
    dispatcher.dispatch_due(now=local(store, DAY, 9))

    # Then the email went (its window is open), the text waits for 10:00 Urumqi time
    assert status_of(email) == Touch.Status.SENT
    text.refresh_from_db()
    assert text.status == Touch.Status.PLANNED and text.due_at == local(store, DAY, 10)


def test_service_touches_need_no_marketing_consent_marketing_ones_do(dealership):
    now = local(dealership, DAY, 10)
    no_consent = customer_of(dealership, marketing_consent=False)
    service = make_touch(no_consent, kind="day7", due_at=now)
    marketing = marketing_touch(no_consent, due_at=now)
    consenting = marketing_touch(customer_of(dealership, marketing_consent=True), due_at=now)

    dispatcher.dispatch_due(now=now)

    assert status_of(service) == Touch.Status.SENT
    assert status_of(consenting) == Touch.Status.SENT
    marketing.refresh_from_db()
    assert (marketing.status, marketing.reason) == (Touch.Status.SKIPPED, "no_marketing_consent")
    assert not Message.objects.filter(touch=marketing).exists()


def test_a_t_reply_stops_marketing_texts_only_and_a_wrong_number_stops_texts(dealership):
    now = local(dealership, DAY, 10)
    opted_out = customer_of(dealership, sms_opt_out=True, email="x@example.com")
    marketing_text = marketing_touch(opted_out, due_at=now)
    marketing_email = marketing_touch(opted_out, due_at=now, channel="email")
    service_text = make_touch(opted_out, kind="day7", due_at=now)
    wrong = customer_of(dealership, flag_wrong_number=True, email="y@example.com")
    wrong_text = make_touch(wrong, kind="day7", due_at=now)
    wrong_email = make_touch(wrong, kind="day15", channel="email", due_at=now)
    dnc = customer_of(dealership, do_not_contact=True, email="z@example.com")
    dnc_email = make_touch(dnc, kind="day7", channel="email", due_at=now)

    dispatcher.dispatch_due(now=now)

    def state(touch):
        touch.refresh_from_db()
        return touch.status, touch.reason

    assert state(marketing_text) == ("skipped", "sms_opt_out")
    assert state(marketing_email) == ("sent", "")
    assert state(service_text) == ("sent", "")
    assert state(wrong_text) == ("skipped", "wrong_number")
    assert state(wrong_email) == ("sent", "")
    assert state(dnc_email) == ("skipped", "do_not_contact")


def test_an_expired_touch_and_an_expired_call_task_expire(dealership, agent):
    now = local(dealership, DAY, 10)
    customer = customer_of(dealership)
    text = make_touch(customer, kind="day7", due_at=now - dt.timedelta(days=3), expires_at=now - dt.timedelta(hours=1))
    call = make_touch(customer, kind="csi_call", channel="call", due_at=now - dt.timedelta(days=3), expires_at=now)
    live_call = make_touch(customer, kind="day15", channel="call", due_at=now, expires_at=now + dt.timedelta(days=1))

    counts = dispatcher.dispatch_due(now=now)

    assert counts["expired"] == 2
    assert [status_of(t) for t in (text, call, live_call)] == ["expired", "expired", "planned"]
    assert Touch.objects.get(pk=call.pk).reason == "expired"


# --- the marketing cap ----------------------------------------------------------------------------------------


def reached_marketing(customer, at, n):
    """``n`` marketing touches that reached the customer at ``at`` (and later, a day apart)."""
    touches = []
    for i in range(n):
        touch = marketing_touch(customer, due_at=at + dt.timedelta(days=i))
        Touch.objects.filter(pk=touch.pk).update(status="sent", sent_at=at + dt.timedelta(days=i))
        touches.append(touch)
    return touches


def campaign_call_reached(customer, at, agent):
    from campaigns import services as campaigns

    campaign = campaigns.campaign_create(
        dealership=customer.dealership,
        code=f"C{customer.pk}",
        name="春季保养",
        kind="maintenance",
        starts_on=at.date(),
        ends_on=at.date() + dt.timedelta(days=30),
    )
    from campaigns.models import Invitation, TargetGroup

    group = TargetGroup.objects.create(campaign=campaign, name="全部", filters={})
    invitation = Invitation.objects.create(
        campaign=campaign, target_group=group, customer=customer, agent=agent, created_at=at
    )
    return CallAttempt.objects.create(invitation=invitation, agent=agent, outcome="declined", called_at=at)


def test_the_fifth_marketing_touch_in_thirty_days_waits_until_the_oldest_leaves_the_window(dealership, agent):
    # Given a customer reached by three marketing texts and one campaign call in the last 30 days
    now = local(dealership, DAY, 10)
    customer = customer_of(dealership)
    oldest = now - dt.timedelta(days=20)
    reached_marketing(customer, oldest + dt.timedelta(days=1), 3)
    campaign_call_reached(customer, oldest, agent)
    # and a fifth marketing text due now, and a service text
    fifth = marketing_touch(customer, due_at=now)
    service = make_touch(customer, kind="day7", due_at=now)

    dispatcher.dispatch_due(now=now)

    # Then the service text goes; the marketing one waits until the oldest contact (the call) leaves the window
    assert status_of(service) == "sent"
    fifth.refresh_from_db()
    assert fifth.status == "planned"
    assert fifth.due_at == oldest + dt.timedelta(days=30, seconds=1)


def test_a_capped_touch_is_skipped_when_the_store_says_so(dealership):
    FollowupPolicy.objects.create(dealership=dealership, when_capped="skip", marketing_cap=2)
    now = local(dealership, DAY, 10)
    customer = customer_of(dealership)
    reached_marketing(customer, now - dt.timedelta(days=10), 2)
    capped = marketing_touch(customer, due_at=now)

    dispatcher.dispatch_due(now=now)

    capped.refresh_from_db()
    assert (capped.status, capped.reason) == ("skipped", "cap_reached")


def test_a_contact_older_than_the_window_no_longer_counts(dealership):
    now = local(dealership, DAY, 10)
    customer = customer_of(dealership)
    reached_marketing(customer, now - dt.timedelta(days=31), 1)
    reached_marketing(customer, now - dt.timedelta(days=5), 3)
    touch = marketing_touch(customer, due_at=now)
    dispatcher.dispatch_due(now=now)
    assert status_of(touch) == "sent"


def test_when_touches_compete_for_the_cap_the_earlier_due_goes_and_service_is_never_held(dealership):
    # Given a customer with room for one more marketing touch, and two due, and higher-priority service touches
    now = local(dealership, DAY, 10)
    customer = customer_of(dealership)
    reached_marketing(customer, now - dt.timedelta(days=5), 3)
    first = marketing_touch(customer, due_at=now - dt.timedelta(hours=2))
    second = marketing_touch(customer, due_at=now - dt.timedelta(hours=1))
    survey = make_touch(customer, kind="day15", due_at=now, priority=2)

    counts = dispatcher.dispatch_due(now=now)

    # Then one marketing touch went (the earlier), the other waits; the service touch went
    assert [status_of(t) for t in (first, second, survey)] == ["sent", "planned", "sent"]
    assert counts["capped"] == 1


def test_claims_go_in_priority_order_then_due_time(dealership):
    now = local(dealership, DAY, 10)
    customer = customer_of(dealership)
    marketing = marketing_touch(customer, due_at=now - dt.timedelta(hours=5))
    maintenance = make_touch(customer, kind="day7", due_at=now - dt.timedelta(hours=3), priority=3)
    complaint_like = make_touch(customer, kind="day15", due_at=now - dt.timedelta(hours=1), priority=1)

    dispatcher.dispatch_due(now=now, batch=1, max_seconds=0)

    assert [status_of(t) for t in (complaint_like, maintenance, marketing)] == ["sent", "planned", "planned"]


# --- a touch cancelled while it is being sent -------------------------------------------------------------------


class CancellingChannel(DatabaseChannel):
    """A back end during whose send the customer asks not to be contacted (the stop condition runs)."""

    name = "cancelling"

    def send(self, message):
        cancel_pending(Touch.objects.all(), reason="do_not_contact")
        return super().send(message)


def test_a_touch_cancelled_while_it_is_sent_stays_cancelled(dealership, settings):
    settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "sms": f"{__name__}.CancellingChannel"}
    now = local(dealership, DAY, 10)
    touch = make_touch(customer_of(dealership), due_at=now)

    counts = dispatcher.dispatch_due(now=now)

    touch.refresh_from_db()
    assert (touch.status, touch.reason) == ("cancelled", "do_not_contact")
    assert counts.get("lost") == 1 and "sent" not in counts
    assert not Message.objects.exists()


# --- queries -------------------------------------------------------------------------------------------------


def test_queries_per_message_are_constant(dealership):
    now = local(dealership, DAY, 10)
    for _i in range(5):
        make_touch(customer_of(dealership), due_at=now)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as five:
        dispatcher.dispatch_due(now=now)
    for _i in range(15):
        make_touch(customer_of(dealership), due_at=now)
    with CaptureQueriesContext(connection) as fifteen:
        dispatcher.dispatch_due(now=now)
    per_message = (len(fifteen) - len(five)) / 10
    assert per_message <= 4  # an UPDATE and an INSERT (and the savepoint pair of the test's transaction)
    assert Message.objects.count() == 20
