"""Two dispatchers at once (PostgreSQL, two connections): each due touch is claimed by one of them and reaches the
provider once. The negative control removes the guards — the lease in the claim (a claimed touch counts as
claimable again), the ownership check of every write, and the unique in-flight message — and the same keys reach
the provider twice: the test can see the race it guards against."""

import collections
import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.db.models import Q

from followups import dispatcher
from followups.models import FollowupPolicy, Message, Touch
from tests.factories import DealershipFactory
from tests.followups.factories_dispatch import Provider, customer_of, make_touch

TOUCHES = 24


def two_dispatchers_at_once(settings):
    store = DealershipFactory(code="RACE1")
    FollowupPolicy.objects.create(dealership=store, send_from=dt.time(0), send_until=dt.time(23, 59, 59, 999999))
    now = dt.datetime.now(dt.UTC)
    for i in range(TOUCHES):
        make_touch(customer_of(store), kind="day7", channel="sms", due_at=now - dt.timedelta(minutes=i), max_attempts=3)

    def answer(path, payload, headers):
        time.sleep(0.02)
        return 200, {"code": "OK", "message_id": headers.get("Idempotency-Key", "")}

    with Provider(answer) as gateway:
        settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "sms": "followups.channels.sms.SmsGatewayChannel"}
        settings.SMS_GATEWAY_URL = gateway.url
        start = threading.Barrier(2)
        errors, sent = [], {}

        def run(name, size):
            try:
                start.wait()
                sent[name] = dispatcher.dispatch_due(batch=size, worker_id=name).get("sent", 0)
            except Exception as exc:  # pragma: no cover - shown by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(f"w{i}", 3 + 2 * i)) for i in range(2)]  # out of step
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        return collections.Counter(r["headers"]["Idempotency-Key"] for r in gateway.posts("/send")), sent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_touch_once(settings):
    received, sent = two_dispatchers_at_once(settings)
    assert len(received) == TOUCHES and max(received.values()) == 1
    assert set(Touch.objects.values_list("status", flat=True)) == {"sent"}
    assert sent["w0"] > 0 and sent["w1"] > 0, "both dispatchers took part"
    assert sent["w0"] + sent["w1"] == TOUCHES


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_negative_control_a_claimed_touch_taken_again_is_sent_twice(settings, monkeypatch):
    # a claim that ignores the other worker's lease (claimed touches count as claimable), and writes that do not
    # check the touch is still this batch's
    monkeypatch.setattr(dispatcher, "_claimable", lambda now: Q(status__in=["planned", "claimed"]))
    unchecked = dispatcher.Batch.finish

    def finish(self, touch, **fields):
        token, self.token = self.token, None
        try:
            fields.setdefault("updated_at", self.clock())
            return Touch.objects.filter(pk=touch.pk).update(**fields) == 1
        finally:
            self.token = token

    monkeypatch.setattr(dispatcher.Batch, "finish", finish)
    assert unchecked is not finish

    # and an in-flight record that overwrites another's (the message's unique key would refuse the second send)
    def record(touch, backend, outgoing, now):
        fields = dispatcher._message_fields(touch, backend, outgoing, now)
        fields.update(status="unknown")
        Message.objects.update_or_create(idempotency_key=outgoing.idempotency_key, defaults=fields)

    monkeypatch.setattr(dispatcher, "_record_in_flight", record)
    received, _sent = two_dispatchers_at_once(settings)
    assert max(received.values()) > 1, "without the lease the race sends some touches twice"
