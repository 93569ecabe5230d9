"""The HTTP back ends against real HTTP servers on loopback: the SMS gateway (signature, template code, the
idempotency key, the opt-out, timeouts, refusals and their retries) and WeChat (service only, the one-time
subscription quota, the fall back to SMS or a call)."""

import datetime as dt

import pytest

from followups import dispatcher
from followups.channels import wechat
from followups.models import Message, MessageTemplate, WeChatSubscription
from tests.followups.factories_dispatch import Provider, customer_of, local, make_touch, marketing_touch, slow

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)
SMS = "followups.channels.sms.SmsGatewayChannel"
WECHAT = "followups.channels.wechat.WeChatChannel"


@pytest.fixture
def gateway(settings):
    """Sends texts to a loopback SMS gateway; ``gateway.answer`` may be replaced by a test."""
    with Provider() as provider:
        settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "sms": SMS}
        settings.SMS_GATEWAY_URL = provider.url
        settings.SMS_GATEWAY_KEY = "gw-key"
        settings.SMS_SIGNATURE = "别克4S店"
        settings.FOLLOWUPS_HTTP_TIMEOUT = 0.5
        settings.FOLLOWUPS_RETRY_BASE_SECONDS = 60
        settings.FOLLOWUPS_RETRY_MAX_SECONDS = 3600
        yield provider


def test_a_text_carries_the_approved_signature_template_code_and_the_idempotency_key(dealership, gateway):
    # Given the store's approved template for day-7 texts
    MessageTemplate.objects.create(
        dealership=dealership,
        kind="day7",
        channel="sms",
        language="zh-hans",
        body="{customer_name}您好，{plate}保养后一周，车辆使用如何？",
        signature="深圳别克",
        provider_template_code="SMS_0007",
    )
    customer = customer_of(dealership, name="李娜")
    touch = make_touch(customer, due_at=local(dealership, DAY, 9))

    # When the dispatcher sends it
    counts = dispatcher.dispatch_due(now=local(dealership, DAY, 10))

    # Then the gateway got one request with the signature, template code, parameters and the touch's key
    assert counts["sent"] == 1
    [request] = gateway.posts("/send")
    assert request["headers"]["Idempotency-Key"] == f"touch-{touch.pk}"
    assert request["headers"]["Authorization"] == "Bearer gw-key"
    body = request["json"]
    assert (body["sign"], body["template_code"], body["phone"]) == ("深圳别克", "SMS_0007", str(customer.phone))
    assert body["params"]["customer_name"] == "李娜"
    assert body["content"].startswith("李娜您好") and not body["content"].endswith("回T退订")
    touch.refresh_from_db()
    assert (touch.status, touch.provider_ref) == ("sent", "m1")
    assert Message.objects.get(touch=touch).status == "accepted"


def test_a_marketing_text_ends_with_the_opt_out(dealership, gateway):
    marketing_touch(customer_of(dealership), due_at=local(dealership, DAY, 9))
    dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    [request] = gateway.posts("/send")
    assert request["json"]["content"].endswith("回T退订")
    assert request["json"]["marketing"] is True
    assert Message.objects.get().body.endswith("回T退订")


def test_a_gateway_that_times_out_leaves_the_touch_ambiguous_and_it_is_never_resent(dealership, gateway):
    # Given a gateway that answers only after the client gave up
    gateway.answer = slow(1.5)
    touch = make_touch(customer_of(dealership), due_at=local(dealership, DAY, 9), max_attempts=3)

    # When the dispatcher sends it, and runs again later, and the next day
    counts = dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    dispatcher.dispatch_due(now=local(dealership, DAY, 11))
    dispatcher.dispatch_due(now=local(dealership, DAY + dt.timedelta(days=1), 10))

    # Then it went to the gateway once; the touch is ambiguous (result unknown), its message unknown
    assert counts["ambiguous"] == 1
    assert len(gateway.posts("/send")) == 1
    touch.refresh_from_db()
    assert (touch.status, touch.reason, touch.attempts) == ("ambiguous", "timeout", 1)
    assert Message.objects.get(touch=touch).status == "unknown"


def test_a_refusal_is_recorded_and_retried_with_backoff_under_the_same_key_until_it_goes(dealership, gateway):
    # Given a gateway refusing twice (rate limit), then accepting
    answers = iter([(400, {"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发频率限制"})] * 2)
    gateway.answer = lambda path, payload, headers: next(answers, (200, {"code": "OK", "message_id": "m9"}))
    touch = make_touch(customer_of(dealership), due_at=local(dealership, DAY, 9), max_attempts=3)
    now = local(dealership, DAY, 10)

    # When the dispatcher runs: the first refusal
    dispatcher.dispatch_due(now=now)
    touch.refresh_from_db()
    # Then its code and text are on the touch, which waits 60 s
    assert (touch.status, touch.attempts) == ("planned", 1)
    assert (touch.error_code, touch.error_text) == ("isv.BUSINESS_LIMIT_CONTROL", "触发频率限制")
    assert touch.due_at == now + dt.timedelta(seconds=60)
    assert Message.objects.get(touch=touch).status == "failed"

    # and not before its time; then 120 s after the second refusal; then it goes
    dispatcher.dispatch_due(now=now + dt.timedelta(seconds=59))
    assert len(gateway.posts("/send")) == 1
    dispatcher.dispatch_due(now=now + dt.timedelta(seconds=60))
    touch.refresh_from_db()
    assert (touch.attempts, touch.due_at) == (2, now + dt.timedelta(seconds=180))
    dispatcher.dispatch_due(now=now + dt.timedelta(seconds=180))
    touch.refresh_from_db()
    assert (touch.status, touch.attempts, touch.error_code) == ("sent", 3, "")
    keys = {r["headers"]["Idempotency-Key"] for r in gateway.posts("/send")}
    assert keys == {f"touch-{touch.pk}"} and len(gateway.posts("/send")) == 3
    assert Message.objects.filter(touch=touch).count() == 1
    assert Message.objects.get(touch=touch).status == "accepted"


def test_retries_are_capped_then_the_touch_fails_with_the_providers_error(dealership, gateway, settings):
    settings.FOLLOWUPS_RETRY_MAX_SECONDS = 90
    gateway.answer = lambda path, payload, headers: (
        200,
        {"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "号码格式错误"},
    )
    touch = make_touch(customer_of(dealership), due_at=local(dealership, DAY, 9), max_attempts=3)
    now = local(dealership, DAY, 10)

    dispatcher.dispatch_due(now=now)
    dispatcher.dispatch_due(now=now + dt.timedelta(seconds=60))
    touch.refresh_from_db()
    assert touch.due_at == now + dt.timedelta(seconds=150)  # 60 + min(120, 90): the backoff is capped
    dispatcher.dispatch_due(now=now + dt.timedelta(seconds=150))
    dispatcher.dispatch_due(now=now + dt.timedelta(days=1))

    touch.refresh_from_db()
    assert (touch.status, touch.reason, touch.attempts) == ("failed", "provider_error", 3)
    assert touch.error_code == "isv.MOBILE_NUMBER_ILLEGAL" and "号码格式错误" in touch.reason_detail
    assert len(gateway.posts("/send")) == 3


def test_an_unreachable_gateway_is_a_definite_failure(dealership, settings):
    settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "sms": SMS}
    with Provider() as closed:
        url = closed.url
    settings.SMS_GATEWAY_URL = url  # nothing listens there any more
    touch = make_touch(customer_of(dealership), due_at=local(dealership, DAY, 9), max_attempts=2)
    dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    touch.refresh_from_db()
    assert (touch.status, touch.error_code) == ("planned", "unreachable")


# --- WeChat ----------------------------------------------------------------------------------------------------


def wechat_answer(path, payload, headers):
    if path.startswith("/cgi-bin/token"):
        return 200, {"access_token": "tok-1", "expires_in": 7200}
    return 200, {"errcode": 0, "errmsg": "ok", "msgid": 2002}


@pytest.fixture
def wechat_api(settings):
    wechat.forget_token()
    with Provider(wechat_answer) as provider:
        settings.FOLLOWUPS_CHANNELS = {**settings.FOLLOWUPS_CHANNELS, "wechat": WECHAT}
        settings.WECHAT_API_URL = provider.url
        settings.WECHAT_APP_ID = "wx123"
        settings.WECHAT_APP_SECRET = "s3cret"
        yield provider
    wechat.forget_token()


def test_a_service_touch_on_wechat_uses_one_subscription_then_falls_back_to_sms(dealership, wechat_api):
    # Given a follower who granted one one-time subscription, and two service touches for WeChat
    customer = customer_of(dealership, wechat_openid="oABC123")
    WeChatSubscription.objects.create(customer=customer)
    first = make_touch(customer, kind="day7", channel="wechat", due_at=local(dealership, DAY, 8))
    second = make_touch(customer, kind="day15", channel="wechat", due_at=local(dealership, DAY, 9))

    dispatcher.dispatch_due(now=local(dealership, DAY, 10))

    # Then the first went by WeChat with its key, using up the subscription
    [send] = wechat_api.posts("/message/template/send")
    assert "access_token=tok-1" in send["path"]
    assert send["json"]["touser"] == "oABC123" and send["json"]["client_msg_id"] == f"touch-{first.pk}"
    first.refresh_from_db()
    assert (first.status, first.channel, first.provider_ref) == ("sent", "wechat", "2002")
    subscription = WeChatSubscription.objects.get()
    assert subscription.used_at is not None and subscription.touch_id == first.pk
    # and the second, with no subscription left, went by SMS
    second.refresh_from_db()
    assert (second.status, second.channel) == ("sent", "sms")
    assert Message.objects.get(touch=second).channel == "sms"


def test_marketing_never_goes_by_wechat(dealership, wechat_api):
    customer = customer_of(dealership, wechat_openid="oM1")
    WeChatSubscription.objects.create(customer=customer)
    touch = marketing_touch(customer, channel="wechat", due_at=local(dealership, DAY, 9))
    dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    assert wechat_api.posts("/message/template/send") == []
    touch.refresh_from_db()
    assert (touch.status, touch.channel) == ("sent", "sms")
    assert Message.objects.get(touch=touch).body.endswith("回T退订")
    assert WeChatSubscription.objects.get().used_at is None


def test_without_wechat_and_with_a_wrong_number_the_touch_is_skipped_with_the_reason(dealership, wechat_api):
    # Given a customer without an OpenID whose number is known to be wrong: neither WeChat nor SMS
    customer = customer_of(dealership, flag_wrong_number=True)
    touch = make_touch(customer, kind="day7", channel="wechat", due_at=local(dealership, DAY, 9))
    email_only = customer_of(dealership, do_not_contact=True)
    refused = make_touch(email_only, kind="day7", channel="wechat", due_at=local(dealership, DAY, 9))

    dispatcher.dispatch_due(now=local(dealership, DAY, 10))

    touch.refresh_from_db()
    # a wrong number stops calls as well: skipped, with the reason
    assert (touch.status, touch.reason) == ("skipped", "wrong_number")
    refused.refresh_from_db()
    assert (refused.status, refused.reason) == ("skipped", "do_not_contact")


def test_a_service_touch_without_an_openid_goes_by_sms_even_after_a_t_reply(dealership, wechat_api):
    customer = customer_of(dealership, sms_opt_out=True)  # no OpenID; texts fine for service
    service = make_touch(customer, kind="day7", channel="wechat", due_at=local(dealership, DAY, 9))
    dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    service.refresh_from_db()
    assert (service.status, service.channel) == ("sent", "sms")


def test_a_wechat_error_is_recorded(dealership, wechat_api):
    wechat_api.answer = lambda path, payload, headers: (
        (200, {"access_token": "tok-1", "expires_in": 7200})
        if path.startswith("/cgi-bin/token")
        else (200, {"errcode": 43004, "errmsg": "require subscribe"})
    )
    customer = customer_of(dealership, wechat_openid="oX")
    WeChatSubscription.objects.create(customer=customer)
    touch = make_touch(customer, kind="day7", channel="wechat", due_at=local(dealership, DAY, 9))
    dispatcher.dispatch_due(now=local(dealership, DAY, 10))
    touch.refresh_from_db()
    assert (touch.status, touch.error_code, touch.error_text) == ("failed", "43004", "require subscribe")


def test_a_touch_that_neither_wechat_nor_sms_may_carry_becomes_a_call_task_for_an_agent(dealership, wechat_api, agent):
    # Given a consenting customer without an OpenID who replied "T" to a text: a marketing touch for WeChat may
    # go neither by WeChat (marketing) nor by SMS (opted out); a call is still allowed
    customer = customer_of(dealership, sms_opt_out=True, marketing_consent=True)
    touch = marketing_touch(customer, channel="wechat", due_at=local(dealership, DAY, 9))

    dispatcher.dispatch_due(now=local(dealership, DAY, 10))

    # Then it becomes a call task on the store's agent's list, saying why
    touch.refresh_from_db()
    assert (touch.status, touch.channel, touch.assignee) == ("planned", "call", agent)
    assert "WeChat" in touch.notes
    assert wechat_api.posts("/message/template/send") == [] and not Message.objects.exists()
