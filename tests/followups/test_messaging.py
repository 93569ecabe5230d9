"""Message templates: variables from the kind's list only, the Advertising Law check, the store's text or the
built-in one in the customer's language, links made absolute."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from followups import messaging
from followups.models import MessageTemplate
from tests.followups.factories_dispatch import customer_of, local, make_touch

pytestmark = pytest.mark.django_db


def test_a_template_with_an_unknown_variable_is_refused_by_the_check(dealership):
    with pytest.raises(ValidationError) as refused:
        messaging.template_check(
            dealership=dealership, kind="day7", channel="sms", body="{customer_name}您好，{coupon_code}", subject="{x}"
        )
    errors = refused.value.error_dict
    assert [e.code for e in errors["body"]] == ["unknown_variable"]
    assert "{coupon_code}" in errors["body"][0].messages[0]
    assert [e.code for e in errors["subject"]] == ["unknown_variable"]


def test_a_template_with_an_unknown_variable_is_never_saved(dealership):
    with pytest.raises(ValidationError):
        MessageTemplate.objects.create(dealership=dealership, kind="birthday", channel="sms", body="{plate}生日快乐")
    assert not MessageTemplate.objects.exists()


def test_a_variable_of_another_kind_is_unknown_here(dealership):
    messaging.template_check(dealership=dealership, kind="survey", channel="sms", body="请评价：{link}")
    with pytest.raises(ValidationError):
        messaging.template_check(dealership=dealership, kind="day7", channel="sms", body="请评价：{link}")


def test_a_banned_absolute_expression_is_refused(dealership):
    with pytest.raises(ValidationError) as refused:
        messaging.template_check(dealership=dealership, kind="wake_up", channel="sms", body="本市最好的保养服务")
    assert refused.value.error_dict["body"][0].code == "banned_expressions"
    # an allowed phrase around it is fine
    messaging.template_check(dealership=dealership, kind="wake_up", channel="sms", body="我们将第一时间为您服务")


def test_the_store_template_is_rendered_with_the_touchs_values(dealership):
    MessageTemplate.objects.create(
        dealership=dealership,
        kind="day7",
        channel="sms",
        language="zh-hans",
        body="{customer_name}您好，{plate}于{visit_date}保养，{dealership_name}回访",
        provider_template_code="SMS_7",
    )
    customer = customer_of(dealership, name="王芳")
    touch = make_touch(customer, due_at=local(dealership, dt.date(2026, 3, 10), 9))
    plate = customer.vehicles.first().plate

    rendered = messaging.render(touch, channel="sms", now=local(dealership, dt.date(2026, 3, 10), 10))

    assert rendered.body == f"王芳您好，{plate}于2026年3月1日保养，深圳别克4S店回访"
    assert rendered.template_code == "SMS_7"
    assert rendered.params["customer_name"] == "王芳"


def test_without_a_store_template_the_built_in_text_is_used_in_the_language_asked(dealership):
    customer = customer_of(dealership, name="Li Lei")
    touch = make_touch(customer, kind="due_message", due_at=local(dealership, dt.date(2026, 3, 10), 9))
    rendered = messaging.render(touch, channel="sms", now=local(dealership, dt.date(2026, 3, 10), 10), language="en")
    assert rendered.body.startswith("Dear Li Lei,")
    assert touch.occasion in rendered.body  # the due date, in English as an ISO date
    assert "{" not in rendered.body and rendered.subject


def test_every_built_in_text_uses_only_its_kinds_variables(dealership):
    for kind, (subject, body) in messaging.DEFAULTS.items():
        messaging.template_check(dealership=dealership, kind=kind, channel="sms", body=str(body), subject=str(subject))


def test_a_survey_link_is_absolute(dealership, settings):
    settings.SITE_URL = "https://crm.example.cn"
    customer = customer_of(dealership)
    touch = make_touch(customer, kind="survey", due_at=local(dealership, dt.date(2026, 3, 10), 9))
    rendered = messaging.render(touch, channel="sms", now=local(dealership, dt.date(2026, 3, 10), 10))
    assert rendered.link.startswith("https://crm.example.cn/")
    assert rendered.link in rendered.body


def test_the_text_fills_only_plain_variables():
    assert messaging.fill("{a} {a.__class__} {b}", {"a": "1"}) == "1 {a.__class__} {b}"


def test_a_birthday_with_the_stores_offer_issues_its_coupon_once_and_names_it(dealership):
    from campaigns.models import Coupon
    from campaigns.services import coupon_template_create
    from followups import dispatcher
    from followups.models import FollowupPolicy, Message, Touch

    # Given a store whose birthday care carries an offer, and a customer's birthday text due (marketing class)
    offer = coupon_template_create(dealership=dealership, name="生日工时券", kind="labor_amount", value=100)
    FollowupPolicy.objects.create(dealership=dealership, birthday_offer=offer)
    customer = customer_of(dealership, name="王芳", marketing_consent=True)
    due = local(dealership, dt.date(2026, 3, 10), 10)
    touch = make_touch(customer, kind="birthday", touch_class="marketing", due_at=due)

    # When the text is rendered twice (a retry) and then sent by the dispatcher
    first = messaging.render(touch, channel="sms", now=due, language="en")
    again = messaging.render(Touch.objects.get(pk=touch.pk), channel="sms", now=due, language="en")
    dispatcher.dispatch_due(now=due)

    # Then one coupon of the offer was issued to the customer, and the text names it with its code
    coupon = Coupon.objects.get(customer=customer)
    assert coupon.template == offer and coupon.campaign is None
    assert "生日工时券" in first.body and coupon.code in first.body and first.body == again.body
    assert coupon.code in Message.objects.get(touch=touch).body


def test_a_birthday_without_an_offer_issues_nothing(dealership):
    from campaigns.models import Coupon

    customer = customer_of(dealership, name="Li Lei")
    due = local(dealership, dt.date(2026, 3, 10), 10)
    touch = make_touch(customer, kind="birthday", due_at=due)

    rendered = messaging.render(touch, channel="sms", now=due, language="en")

    assert rendered.body == "Dear Li Lei, everyone at " + dealership.name + " wishes you a happy birthday!"
    assert not Coupon.objects.filter(customer=customer).exists()
