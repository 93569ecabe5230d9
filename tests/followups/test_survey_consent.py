"""The survey page's consent box: optional and unticked, beside the store's consent text; ticked, the answer
records a grant through the survey with its proof (the survey's id, the text shown, nobody recording it); not
ticked, nothing. A "T" reply to a text keeps its proof too: the reply's event id and the marketing text it
answered."""

import itertools
import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from customers.models import ConsentEvent
from followups.models import Message, Survey
from followups.surveys import survey_token
from followups.webhooks import signature
from tests.followups.factories_complaints import survey_of
from tests.followups.factories_dispatch import customer_of, make_touch, marketing_touch

pytestmark = pytest.mark.django_db

STORE_TEXT = "本人同意深圳别克4S店向本人发送保养提醒和优惠信息，可随时退订。"


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


@pytest.fixture
def survey(dealership):
    return survey_of(dealership, now=timezone.now())


def url(survey):
    return reverse("surveys:answer", args=[survey_token(survey)])


def test_the_page_offers_an_unticked_optional_box_with_the_stores_text(client, survey, dealership):
    dealership.consent_text = STORE_TEXT
    dealership.save(update_fields=["consent_text"])

    html = client.get(url(survey)).content.decode()

    box = html[html.index('data-testid="survey-consent"') - 200 : html.index('data-testid="survey-consent"')]
    assert 'type="checkbox"' in box and "checked" not in box
    assert STORE_TEXT in html and zh("Send me offers and invitations") in html and zh("(optional)") in html
    assert "<script" not in html and " style=" not in html


def test_the_standard_text_is_shown_in_the_customers_language(client, survey, dealership, settings):
    settings.FOLLOWUPS_MESSAGE_LANGUAGE = "zh-hans"

    html = Client(HTTP_ACCEPT_LANGUAGE="en").get(url(survey)).content.decode()

    from customers.consent import STANDARD_TEXT

    with translation.override("zh-hans"):
        expected = str(STANDARD_TEXT) % {"store": dealership.name}
    assert expected[:20] in html and dealership.name in expected


def test_ticking_the_box_records_a_grant_through_the_survey_with_its_proof(client, survey, dealership):
    dealership.consent_text = STORE_TEXT
    dealership.save(update_fields=["consent_text"])

    response = client.post(url(survey), {"satisfaction": "5", "nps": "10", "consent": "on"})

    assert response.status_code == 302
    event = ConsentEvent.objects.get()
    assert (event.customer_id, event.granted, event.channel) == (survey.customer_id, True, "survey")
    assert (event.reference, event.text_shown, event.recorded_by) == (str(survey.pk), STORE_TEXT, None)
    survey.customer.refresh_from_db()
    assert survey.customer.marketing_consent is True
    assert survey.customer.history.first().history_change_reason == "customer: survey answer"


def test_not_ticking_records_nothing(client, survey):
    response = client.post(url(survey), {"satisfaction": "5", "nps": "10"})

    assert response.status_code == 302
    assert not ConsentEvent.objects.exists()
    survey.refresh_from_db()
    assert survey.answered_at is not None


def test_an_answer_refused_records_no_consent(client, survey):
    Survey.objects.filter(pk=survey.pk).update(answered_at=timezone.now(), satisfaction=4, nps=8)

    response = client.post(url(survey), {"satisfaction": "5", "nps": "10", "consent": "on"})

    assert response.status_code == 410
    assert not ConsentEvent.objects.exists()


def test_an_incomplete_answer_keeps_the_box_as_ticked(client, survey):
    response = client.post(url(survey), {"satisfaction": "5", "consent": "on"})

    assert response.status_code == 400
    html = response.content.decode()
    start = html.index('type="checkbox"')
    assert "checked" in html[start : html.index(">", start)]
    assert not ConsentEvent.objects.exists()


# --- the SMS "T" reply ----------------------------------------------------------------------------------------

SECRET = "whsec-consent-1"


def reply(client, payload):
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    return client.post(
        reverse("api-followups-webhook-sms-reply"),
        data=body,
        content_type="application/json",
        HTTP_X_SIGNATURE_TIMESTAMP=stamp,
        HTTP_X_SIGNATURE=signature(SECRET, stamp, body),
    )


KEYS = itertools.count(1)


def message(touch, body, *, minutes_ago, status="delivered"):
    return Message.objects.create(
        dealership=touch.dealership,
        touch=touch,
        customer=touch.customer,
        channel=touch.channel,
        backend="test",
        recipient=str(touch.customer.phone),
        body=body,
        idempotency_key=f"consent-test-{next(KEYS)}",
        status=status,
        created_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
    )


def test_a_t_reply_keeps_its_event_id_and_the_newest_marketing_text(client, dealership, settings):
    settings.SMS_WEBHOOK_SECRET = SECRET
    customer = customer_of(dealership, phone="+8613912340001", marketing_consent=True)
    due = timezone.now()
    older = marketing_touch(customer, due_at=due)
    newer = marketing_touch(customer, due_at=due + timezone.timedelta(days=1))
    service = make_touch(customer, due_at=due)
    message(older, "【别克】老客户回厂礼，回T退订", minutes_ago=600)
    message(newer, "【别克】冬季保养8折，回T退订", minutes_ago=60)
    message(newer, "【别克】未送达的营销短信", minutes_ago=5, status="failed")
    message(service, "【别克】您的爱车保养提醒", minutes_ago=1)  # a service text is not what "T" answers

    response = reply(client, {"event_id": "in-778", "phone": "13912340001", "text": "T"})

    assert response.status_code == 200 and response.json() == {"result": "opted_out"}
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.granted, event.channel, event.reference) == (False, "sms", "in-778")
    assert event.text_shown == "【别克】冬季保养8折，回T退订" and event.recorded_by is None


def test_a_t_reply_without_a_marketing_text_keeps_the_event_id_only(client, dealership, settings):
    settings.SMS_WEBHOOK_SECRET = SECRET
    customer = customer_of(dealership, phone="+8613912340002")

    reply(client, {"event_id": "in-779", "phone": "+8613912340002", "text": "退订"})

    event = ConsentEvent.objects.get(customer=customer)
    assert (event.reference, event.text_shown) == ("in-779", "")
