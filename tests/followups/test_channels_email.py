"""The email back end through Django's mail: to the customer's address, the idempotency key as Message-ID."""

import datetime as dt

import pytest
from django.core import mail

from followups import dispatcher
from followups.channels import wechat
from followups.models import Message, WeChatSubscription
from tests.followups.factories_dispatch import customer_of, local, make_touch

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def email_backend(settings):
    settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "email": "followups.channels.email.EmailChannel"}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_an_email_touch_is_mailed_to_the_customer_with_its_key(dealership, email_backend):
    customer = customer_of(dealership, name="赵敏", email="zhao@example.com")
    touch = make_touch(customer, kind="day15", channel="email", due_at=local(dealership, DAY, 9))

    dispatcher.dispatch_due(now=local(dealership, DAY, 10))

    [sent] = mail.outbox
    assert sent.to == ["zhao@example.com"]
    assert sent.extra_headers["X-Idempotency-Key"] == f"touch-{touch.pk}"
    assert "赵敏" in sent.body and sent.subject
    touch.refresh_from_db()
    assert touch.status == "sent"
    assert Message.objects.get(touch=touch).backend == "email"


def test_a_customer_without_an_address_is_skipped(dealership, email_backend):
    touch = make_touch(
        customer_of(dealership, email=""), kind="day15", channel="email", due_at=local(dealership, DAY, 9)
    )
    dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    touch.refresh_from_db()
    assert (touch.status, touch.reason) == ("skipped", "no_address")
    assert mail.outbox == []


def test_the_wechat_quota_counts_grants_and_uses(dealership):
    customer = customer_of(dealership)
    wechat.wechat_subscription_grant(customer=customer)
    wechat.wechat_subscription_grant(customer=customer)
    assert wechat.wechat_quota(customer) == 2
    WeChatSubscription.objects.filter(pk=WeChatSubscription.objects.first().pk).update(used_at=local(dealership, DAY))
    assert wechat.wechat_quota(customer) == 1
