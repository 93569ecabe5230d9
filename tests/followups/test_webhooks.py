"""The SMS gateway's webhooks: signed calls change the ledger; forged, stale, replayed or malformed calls are
refused with the error contract, logged, and change nothing; a "T" reply opts the customer out of texts."""

import json
import time

import pytest
from django.urls import reverse

from customers.models import ConsentEvent, Customer
from followups import dispatcher
from followups.models import Message, Touch, WebhookReceipt
from followups.webhooks import signature
from tests.followups.factories_dispatch import customer_of, local, make_touch, marketing_touch

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-1"
RECEIPTS = "api-followups-webhook-sms-receipt"
REPLIES = "api-followups-webhook-sms-reply"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.SMS_WEBHOOK_SECRET = SECRET


def call(client, name, payload, *, secret=SECRET, stamp=None, raw=None, sign=True):
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = str(int(time.time()) if stamp is None else stamp)
    headers = {"HTTP_X_SIGNATURE_TIMESTAMP": stamp}
    if sign:
        headers["HTTP_X_SIGNATURE"] = signature(secret, stamp, body)
    return client.post(reverse(name), data=body, content_type="application/json", **headers)


@pytest.fixture
def sent_text(dealership):
    import datetime as dt

    customer = customer_of(dealership)
    touch = make_touch(customer, due_at=local(dealership, dt.date(2026, 3, 10), 9))
    dispatcher.dispatch_due(now=local(dealership, dt.date(2026, 3, 10), 10))
    touch.refresh_from_db()
    assert touch.status == "sent"
    return touch


def test_a_delivery_receipt_marks_the_message_and_touch_delivered(client, sent_text):
    message = Message.objects.get(touch=sent_text)
    response = call(client, RECEIPTS, {"event_id": "ev-1", "message_id": message.provider_ref, "status": "delivered"})
    assert response.status_code == 200 and response.json() == {"result": "delivered"}
    sent_text.refresh_from_db()
    message.refresh_from_db()
    assert (sent_text.status, message.status) == ("delivered", "delivered")
    assert sent_text.delivered_at is not None


def test_a_receipt_found_by_idempotency_key_settles_an_ambiguous_touch(client, sent_text):
    Touch.objects.filter(pk=sent_text.pk).update(status="ambiguous", reason="timeout")
    response = call(
        client, RECEIPTS, {"event_id": "ev-2", "idempotency_key": f"touch-{sent_text.pk}", "status": "delivered"}
    )
    assert response.status_code == 200
    sent_text.refresh_from_db()
    assert (sent_text.status, sent_text.reason) == ("delivered", "")


def test_a_bounce_flags_the_customer_and_fails_the_touch_with_the_code(client, sent_text):
    message = Message.objects.get(touch=sent_text)
    response = call(
        client,
        RECEIPTS,
        {"event_id": "ev-3", "message_id": message.provider_ref, "status": "bounced", "error_code": "MK:0001"},
    )
    assert response.status_code == 200
    sent_text.refresh_from_db()
    assert (sent_text.status, sent_text.error_code) == ("failed", "MK:0001")
    assert Message.objects.get(pk=message.pk).status == "bounced"
    customer = Customer.objects.get(pk=sent_text.customer_id)
    assert customer.flag_bounced is True
    assert customer.history.first().flag_bounced is True  # through the row: the history shows it


def refused_and_unchanged(response, status, code, caplog, sent_text):
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["message"] and body["fields"] == {}
    assert any(code in record.getMessage() for record in caplog.records)
    sent_text.refresh_from_db()
    assert sent_text.status == "sent"
    assert Message.objects.get(touch=sent_text).status == "accepted"


def test_a_forged_call_is_refused_and_changes_nothing(client, sent_text, caplog):
    ref = Message.objects.get(touch=sent_text).provider_ref
    payload = {"event_id": "ev-4", "message_id": ref, "status": "delivered"}
    response = call(client, RECEIPTS, payload, secret="not-the-secret")
    refused_and_unchanged(response, 401, "bad_signature", caplog, sent_text)
    response = call(client, RECEIPTS, payload, sign=False)
    refused_and_unchanged(response, 401, "bad_signature", caplog, sent_text)
    # a body changed after signing
    stamp = str(int(time.time()))
    good = json.dumps(payload).encode()
    forged = json.dumps({**payload, "status": "bounced"}).encode()
    response = client.post(
        reverse(RECEIPTS),
        data=forged,
        content_type="application/json",
        HTTP_X_SIGNATURE_TIMESTAMP=stamp,
        HTTP_X_SIGNATURE=signature(SECRET, stamp, good),
    )
    refused_and_unchanged(response, 401, "bad_signature", caplog, sent_text)
    assert not WebhookReceipt.objects.exists()


def test_a_stale_call_is_refused(client, sent_text, caplog):
    ref = Message.objects.get(touch=sent_text).provider_ref
    response = call(
        client, RECEIPTS, {"event_id": "ev-5", "message_id": ref, "status": "bounced"}, stamp=int(time.time()) - 301
    )
    refused_and_unchanged(response, 401, "stale_timestamp", caplog, sent_text)
    assert Customer.objects.get(pk=sent_text.customer_id).flag_bounced is False


def test_a_replayed_call_is_refused_the_second_time(client, sent_text, caplog):
    ref = Message.objects.get(touch=sent_text).provider_ref
    first = call(client, RECEIPTS, {"event_id": "ev-6", "message_id": ref, "status": "delivered"})
    assert first.status_code == 200
    Touch.objects.filter(pk=sent_text.pk).update(status="sent")
    Message.objects.filter(touch=sent_text).update(status="accepted")
    again = call(client, RECEIPTS, {"event_id": "ev-6", "message_id": ref, "status": "delivered"})
    refused_and_unchanged(again, 409, "replayed", caplog, sent_text)
    assert WebhookReceipt.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        json.dumps({"message_id": "x", "status": "delivered"}).encode(),  # no event id
        json.dumps({"event_id": "e", "message_id": "x", "status": "read"}).encode(),  # unknown status
        json.dumps({"event_id": "e", "status": "delivered"}).encode(),  # no message named
        json.dumps(["a list"]).encode(),
    ],
)
def test_a_malformed_call_is_refused(client, sent_text, caplog, raw):
    response = call(client, RECEIPTS, None, raw=raw)
    refused_and_unchanged(response, 400, "malformed", caplog, sent_text)
    assert not WebhookReceipt.objects.exists()


def test_a_t_reply_opts_the_customer_out_of_marketing_texts_at_once(client, dealership):
    import datetime as dt

    # Given a consenting customer with a pending marketing text, a marketing email and a service text
    customer = customer_of(dealership, phone="+8613912345678", marketing_consent=True, email="c@example.com")
    due = local(dealership, dt.date(2026, 3, 20), 10)
    marketing_text = marketing_touch(customer, due_at=due)
    marketing_email = marketing_touch(customer, due_at=due, channel="email")
    service_text = make_touch(customer, due_at=due)

    # When they reply "T" to a text
    response = call(client, REPLIES, {"event_id": "in-1", "phone": "13912345678", "text": " t "})

    # Then texts of marketing stop at once; their other consent stands; the withdrawal is in their history
    assert response.status_code == 200 and response.json() == {"result": "opted_out"}
    customer.refresh_from_db()
    assert customer.sms_opt_out is True and customer.marketing_consent is True
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.granted, event.channel) == (False, "sms")
    assert customer.history.first().sms_opt_out is True
    assert customer.history.first().history_change_reason == "system: sms webhook reply"
    statuses = {t.pk: (t.status, t.reason) for t in Touch.objects.all()}
    assert statuses[marketing_text.pk] == ("cancelled", "sms_opt_out")
    assert statuses[marketing_email.pk] == ("planned", "")
    assert statuses[service_text.pk] == ("planned", "")


@pytest.mark.parametrize("text", ["TD", "退订", "回复退订。"])
def test_other_opt_out_words_count(client, dealership, text):
    customer = customer_of(dealership, phone="+8613912345670")
    assert call(client, REPLIES, {"event_id": f"in-{text}", "phone": "+8613912345670", "text": text}).status_code == 200
    customer.refresh_from_db()
    assert customer.sms_opt_out is True


def test_another_reply_is_only_recorded(client, dealership):
    customer = customer_of(dealership, phone="+8613912345671")
    response = call(client, REPLIES, {"event_id": "in-x", "phone": "13912345671", "text": "谢谢，车很好"})
    assert response.json() == {"result": "recorded"}
    customer.refresh_from_db()
    assert customer.sms_opt_out is False and not ConsentEvent.objects.exists()
    assert WebhookReceipt.objects.filter(event_id="in-x").exists()


def test_a_reply_with_a_malformed_phone_is_refused(client, dealership, caplog):
    response = call(client, REPLIES, {"event_id": "in-y", "phone": "abc", "text": "T"})
    assert response.status_code == 400 and response.json()["code"] == "malformed"
    assert not WebhookReceipt.objects.exists()
