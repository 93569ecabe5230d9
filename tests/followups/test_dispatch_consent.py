"""Consent changes stop pending touches at once (customers.signals.contact_rules_changed → followups.receivers):
do-not-contact everything, a withdrawal marketing, a wrong number calls and texts; and what is cancelled is not
sent afterwards."""

import datetime as dt

import pytest
import time_machine

from customers import services as customers
from followups import dispatcher
from followups.models import Touch
from tests.followups.factories_dispatch import customer_of, local, make_touch, marketing_touch

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def pending(dealership):
    """A consenting customer with one pending touch of each sort, due tomorrow."""
    customer = customer_of(dealership, marketing_consent=True, email="k@example.com", wechat_openid="oK")
    due = local(dealership, DAY + dt.timedelta(days=1), 10)
    touches = {
        "service_sms": make_touch(customer, kind="day7", channel="sms", due_at=due),
        "service_email": make_touch(customer, kind="day15", channel="email", due_at=due),
        "service_call": make_touch(customer, kind="csi_call", channel="call", due_at=due),
        "service_wechat": make_touch(customer, kind="day30", channel="wechat", due_at=due),
        "marketing_sms": marketing_touch(customer, due_at=due),
        "marketing_email": marketing_touch(customer, due_at=due, channel="email"),
    }
    return customer, touches


def states(touches):
    fresh = {t.pk: t for t in Touch.objects.filter(pk__in=[t.pk for t in touches.values()])}
    return {name: (fresh[t.pk].status, fresh[t.pk].reason) for name, t in touches.items()}


def test_withdrawing_consent_cancels_pending_marketing_at_once(pending, advisor):
    customer, touches = pending
    with time_machine.travel(local(customer.dealership, DAY, 15), tick=False):
        customers.consent_record(customer=customer, granted=False, channel="counter", acting_user=advisor)
    got = states(touches)
    assert got["marketing_sms"] == got["marketing_email"] == ("cancelled", "no_marketing_consent")
    assert {got[k] for k in ("service_sms", "service_email", "service_call", "service_wechat")} == {("planned", "")}


def test_do_not_contact_cancels_everything_at_once(pending, advisor):
    customer, touches = pending
    customers.customer_update(customer=customer, do_not_contact=True, acting_user=advisor)
    assert set(states(touches).values()) == {("cancelled", "do_not_contact")}


def test_a_wrong_number_cancels_calls_and_texts(pending, advisor):
    customer, touches = pending
    customers.customer_update(customer=customer, flag_wrong_number=True, acting_user=advisor)
    got = states(touches)
    assert got["service_sms"] == got["service_call"] == got["marketing_sms"] == ("cancelled", "wrong_number")
    assert got["service_email"] == got["service_wechat"] == got["marketing_email"] == ("planned", "")


def test_an_unrelated_change_cancels_nothing(pending, advisor):
    customer, touches = pending
    customers.customer_update(customer=customer, city="广州", acting_user=advisor)
    customers.consent_record(customer=customer, granted=True, channel="counter", acting_user=advisor)
    assert set(states(touches).values()) == {("planned", "")}


def test_a_change_rolled_back_cancels_nothing(pending, advisor):
    from django.db import transaction

    customer, touches = pending
    with pytest.raises(RuntimeError), transaction.atomic():
        customers.customer_update(customer=customer, do_not_contact=True, acting_user=advisor)
        raise RuntimeError("the caller's transaction fails")
    assert set(states(touches).values()) == {("planned", "")}


def test_a_cancelled_touch_is_not_sent_when_it_falls_due(pending, advisor):
    customer, touches = pending
    customers.consent_record(customer=customer, granted=False, channel="phone", acting_user=advisor)
    dispatcher.dispatch_due(now=local(customer.dealership, DAY + dt.timedelta(days=1), 11))
    got = states(touches)
    assert got["marketing_sms"] == ("cancelled", "no_marketing_consent")
    assert got["service_sms"] == ("sent", "")
