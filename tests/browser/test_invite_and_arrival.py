"""Invitations by message and the counter's arrival, in a real browser.

1. On a 360-px phone, in Chinese: an invitee opens their personal link, sees the campaign's highlights and their
   group's offer, books a day and a time with their vehicle preselected, and gets the coupon codes; the page
   fits the phone and the strict CSP reports nothing.
2. At a 1366-px counter screen: the advisor marks a booked customer arrived (the visit opens with its RO
   number), follows the link to the customer's page, where the open coupon is offered on that visit, and
   redeems it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from campaigns import invites, services
from campaigns.models import Campaign, Coupon, Invitation
from customers.models import Appointment, ServiceVisit
from dealercrm.core.roles import Role
from tests.factories import CustomerFactory, UserFactory, VehicleFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
COUNTER_SCREEN = {"width": 1366, "height": 768}


@pytest.fixture
def browser_locale():
    return "zh-CN"


@pytest.fixture
def running_campaign(dealership):
    """A running campaign (started five days ago, a month left) whose one group invites by SMS, offering two
    coupons; the list holds one customer with one car."""
    today = dealership.local_date()
    customer = CustomerFactory(dealership=dealership, name="王芳", marketing_consent=True)
    VehicleFactory(owner=customer, plate="粤BW2468", model="昂科威")
    campaign = services.campaign_create(
        dealership=dealership,
        code="WIN26",
        name="冬季保养节",
        kind="maintenance",
        description="冬季保养套餐八五折，免费二十项安全检测。",
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=30),
        budget=Decimal("10000"),
    )
    labour = services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100")
    )
    gift = services.coupon_template_create(dealership=dealership, name="免费洗车", kind="gift", gift="精洗一次")
    services.target_group_create(
        campaign=campaign, name="全部车主", filters={}, offers=[labour, gift], invite_channel="sms"
    )
    services.campaign_schedule(campaign=campaign)
    campaign.refresh_from_db()
    services.campaign_start(campaign=campaign, today=today)
    campaign.refresh_from_db()
    agent = UserFactory(username="agent-b", role=Role.AGENT, dealerships=[dealership])
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    assert campaign.status == Campaign.Status.RUNNING
    return Invitation.objects.get(campaign=campaign)


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True)
def test_an_invitee_books_through_the_link_on_a_phone_in_chinese(page, dealership, running_campaign, screenshot):
    invitation = running_campaign
    day = dealership.local_date() + timedelta(days=3)
    csp_reports = []
    page.on("console", lambda message: "Content Security Policy" in message.text and csp_reports.append(message.text))

    # When the invitee opens their personal link
    page.goto(f"/i/{invites.invite_token(invitation)}/")

    # Then the page is in Chinese, with the campaign, its highlights, the group's offer and the form
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("invite-campaign")).to_have_text("冬季保养节")
    expect(page.get_by_test_id("invite-highlights")).to_contain_text("免费二十项安全检测")
    expect(page.get_by_test_id("invite-offer")).to_have_count(2)
    expect(page.locator("#invite-vehicle")).to_have_value(str(invitation.vehicle_id))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("invite-page")

    # When they choose a day and a time and book
    page.locator("#invite-date").fill(day.isoformat())
    page.locator("#invite-time").select_option("10:00-11:00")
    page.get_by_test_id("invite-submit").tap()

    # Then the confirmation shows the day and the coupon codes, as the database has them
    expect(page.get_by_test_id("invite-booked")).to_be_visible()
    expect(page.get_by_test_id("invite-booked-when")).to_contain_text(f"{day:%Y-%m-%d} · 10:00-11:00")
    codes = sorted(Coupon.objects.filter(invitation=invitation).values_list("code", flat=True))
    assert len(codes) == 2
    shown = sorted(page.get_by_test_id("invite-coupon-code").all_inner_texts())
    assert shown == codes
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("invite-booked")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.appointment.date == day

    # And opening the link again says it was used, with the appointment
    page.goto(f"/i/{invites.invite_token(invitation)}/")
    expect(page.get_by_test_id("invite-refused")).to_have_attribute("data-kind", "used")
    expect(page.get_by_test_id("invite-booked-when")).to_contain_text(f"{day:%Y-%m-%d}")
    screenshot("invite-used")
    assert csp_reports == []


@pytest.fixture
def arriving(dealership):
    """A customer booked for today, holding an open coupon issued before."""
    customer = CustomerFactory(dealership=dealership, name="陈明")
    vehicle = VehicleFactory(owner=customer, plate="粤BC1357", model="英朗")
    appointment = Appointment.objects.create(
        dealership=dealership, customer=customer, vehicle=vehicle, date=dealership.local_date(), time_slot="09:30"
    )
    template = services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100")
    )
    coupon = services.coupon_issue(template=template, customer=customer)
    return appointment, coupon


@pytest.mark.browser_context_args(viewport=COUNTER_SCREEN)
@pytest.mark.parametrize("browser_locale", ["en-US"])
def test_the_counter_marks_an_arrival_opens_the_visit_and_redeems_a_coupon(page, log_in, advisor, arriving, screenshot):
    appointment, coupon = arriving
    log_in("advisor")

    # Given today's arrival with its form: the RO number suggested, the vehicle chosen
    arrival = page.get_by_test_id("arrival")
    expect(arrival).to_have_count(1)
    expect(arrival.get_by_test_id("arrival-vehicle")).to_have_value(str(appointment.vehicle_id))
    screenshot("counter-arrival-form")

    # When the advisor types the DMS's RO number and marks the arrival
    arrival.get_by_test_id("arrival-ro").fill("RO-2026-0088")
    arrival.get_by_test_id("mark-arrived").click()

    # Then the list says the visit is open and offers the coupon on it
    expect(page.locator("#arrivals-feedback")).to_contain_text("RO-2026-0088")
    expect(page.get_by_test_id("arrival")).to_have_count(0)
    screenshot("counter-arrived")
    visit = ServiceVisit.objects.get(ro_number="RO-2026-0088")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED and visit.advisor_id == advisor.pk

    # When they follow it to the customer's page
    with page.expect_navigation():
        page.get_by_test_id("arrival-redeem").click()

    # Then the coupon is offered with the new visit chosen, and redeeming it takes one click
    card = page.locator(f'#card-coupons [data-code="{coupon.code}"]')
    expect(card.locator("select[name=visit]")).to_have_value(str(visit.pk))
    screenshot("customer-coupon-on-new-visit")
    with page.expect_navigation():
        card.get_by_test_id("redeem").click()
    expect(page.locator(".alert-success").first).to_contain_text(coupon.code)
    screenshot("coupon-redeemed")
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.REDEEMED and coupon.redeemed_visit_id == visit.pk
