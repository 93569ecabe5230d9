"""An agent works three customers in the call workbench from the keyboard, in a real browser.

Given a running campaign with three customers on the agent's list, the agent opens the workbench, tries an
appointment date outside the campaign (refused inline, the customer stays on screen), books the first
customer for today with the keyboard, leaves a note and records "no answer" for the second, and "declined"
for the third, after which nobody is left to call. The page never reloads (a marker set in the window at the
start survives), today's counts follow each call, and the advisor then sees the booked customer on the
counter's list of expected arrivals with the VIP "green channel" mark, and marks them arrived.

It runs in English and in Chinese (the browser's Accept-Language); the texts of the project's catalogue may
not be translated yet, so the checks rest on names, dates, figures and the page's structure.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import CallAttempt, Coupon, Invitation
from customers.models import Appointment
from dealercrm.core.models import AccessEvent
from tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.browser

SCRIPT = "您好，我是别克4S店客服。冬季保养季，我们为您准备了¥100工时券，我会第一时间为您安排。"
MARKER = "window.__workbenchMarker"
#: where the first customer's screenshot goes, for a person to look at what the agent sees
SHOTS = Path("/tmp")  # noqa: S108


@pytest.fixture
def campaign(dealership, as_manager, agent):
    """A campaign running today with three customers on the agent's list."""
    today = timezone.localdate()
    for i, name in enumerate(["王建国", "李秀英", "张伟"]):
        customer = CustomerFactory(dealership=dealership, name=name, phone=f"+861390013{i:04d}")
        VehicleFactory(owner=customer, plate=f"粤BD{i}88{i}", model="新君越")
    offer = services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100")
    )
    campaign = services.campaign_create(
        dealership=dealership,
        acting_user=as_manager,
        code="WINTER26",
        name="冬季保养邀约",
        kind="maintenance",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=30),
    )
    services.target_group_create(
        campaign=campaign, name="新君越车主", filters={"models": ["新君越"]}, script=SCRIPT, offers=[offer]
    )
    services.campaign_schedule(campaign=campaign)
    services.campaign_start(campaign=campaign, today=today)
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    return campaign


def card(page):
    return page.locator("#call-card")


def expect_customer(page, invitation):
    expect(card(page)).to_have_attribute("data-invitation-id", str(invitation.pk))
    expect(page.get_by_test_id("customer-name")).to_contain_text(invitation.customer.name)


def expect_counts(page, calls, waiting, accepted):
    expect(page.get_by_test_id("count-calls")).to_have_text(str(calls))
    expect(page.get_by_test_id("count-waiting")).to_have_text(str(waiting))
    expect(page.get_by_test_id("count-accepted")).to_have_text(str(accepted))


@pytest.mark.parametrize(
    ("browser_locale", "lang", "shot"),
    [
        pytest.param("en-US", "en", SHOTS / "workbench.png", id="english"),
        pytest.param("zh-CN", "zh-hans", SHOTS / "workbench-zh.png", id="chinese"),
    ],
)
def test_an_agent_works_three_customers_from_the_keyboard(
    page, log_in, screenshot, context, agent, advisor, campaign, lang, shot
):
    first, second, third = Invitation.objects.filter(campaign=campaign).select_related("customer").order_by("id")
    today = timezone.localdate()

    # Given the agent on the workbench (from the header's link), with a marker in the window
    log_in("agent")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.get_by_test_id("nav-calls").click()
    expect(page).to_have_url(re.compile(r"/calls/$"))
    page.wait_for_load_state()
    page.evaluate(f"{MARKER} = 'still here'")

    # Then htmx loads the first customer: phone masked (P shows it in full), vehicle, script and offer, the outcomes
    expect_customer(page, first)
    expect(page.get_by_test_id("customer-phone")).not_to_contain_text(first.customer.phone.as_national)
    page.keyboard.press("p")
    expect(page.get_by_test_id("phone-full")).to_have_text(first.customer.phone.as_national.replace(" ", ""))
    assert AccessEvent.objects.filter(kind="reveal", customer_id=first.customer_id).count() == 1  # a logged look
    expect(page.get_by_test_id("vehicle")).to_contain_text(first.vehicle.plate)
    expect(page.get_by_test_id("script")).to_have_text(SCRIPT)
    expect(page.get_by_test_id("offer")).to_contain_text("¥100 工时券")
    expect(page.locator("#outcome-form button[data-key]")).to_have_count(6)
    expect_counts(page, calls=0, waiting=3, accepted=0)
    page.screenshot(path=shot, full_page=True)
    screenshot("first-customer")

    # When the agent types a day after the campaign and presses Enter in the date field
    page.keyboard.press("d")  # focuses the appointment date
    expect(page.locator("#appointment_date")).to_be_focused()
    page.locator("#appointment_date").fill((campaign.ends_on + timedelta(days=1)).isoformat())
    page.locator("#appointment_date").press("Enter")

    # Then the refusal is shown with the same customer on screen, and nothing is recorded
    expect(page.get_by_test_id("outcome-error")).to_contain_text(f"{campaign.ends_on:%Y-%m-%d}")
    expect_customer(page, first)
    expect(page.locator("#appointment_date")).to_be_focused()
    screenshot("refused-date")
    assert not CallAttempt.objects.exists()

    # When they choose today instead, leave the field and press 6 (accepted)
    page.locator("#appointment_date").fill(today.isoformat())
    page.keyboard.press("Escape")
    page.keyboard.press("6")

    # Then the call is recorded, the second customer follows and the counts move on
    feedback = page.get_by_test_id("workbench-feedback")
    expect(feedback).to_contain_text(first.customer.name)
    expect(feedback).to_contain_text(f"{today:%Y-%m-%d}")
    expect_customer(page, second)
    expect_counts(page, calls=1, waiting=2, accepted=1)
    screenshot("second-customer")
    expect(page.locator("#appointment_date")).not_to_have_class(re.compile(r"\bis-invalid\b"))

    # When they write a note (digits typed there are text, not outcomes), leave it and press 1 (no answer)
    page.keyboard.press("n")
    expect(page.locator("#call_note")).to_be_focused()
    page.keyboard.type("响铃6次无人接")
    page.keyboard.press("Escape")
    expect_customer(page, second)  # typing "6" recorded nothing
    page.keyboard.press("1")

    expect(feedback).to_contain_text(second.customer.name)
    expect_customer(page, third)
    expect_counts(page, calls=2, waiting=1, accepted=1)

    # When they press 4 (declined) for the third, and 2 (price) in the picker of reasons it opens
    page.keyboard.press("4")
    expect(page.get_by_test_id("decline-reasons")).to_be_visible()
    screenshot("decline-reasons")
    page.keyboard.press("2")

    # Then nobody is left to call now (the second comes back later), and the page never reloaded
    expect(page.get_by_test_id("workbench-empty")).to_be_visible()
    expect(page.get_by_test_id("next-due")).to_be_visible()
    expect(feedback).to_contain_text(third.customer.name)
    expect_counts(page, calls=3, waiting=0, accepted=1)
    assert page.evaluate(MARKER) == "still here"
    screenshot("nobody-left")

    outcomes = dict(CallAttempt.objects.values_list("invitation_id", "outcome"))
    assert outcomes == {first.pk: "accepted", second.pk: "no_answer", third.pk: "declined"}
    assert CallAttempt.objects.get(invitation=third).reason == "price"
    assert CallAttempt.objects.get(invitation=second).note == "响铃6次无人接"
    appointment = Appointment.objects.get()
    assert (appointment.customer_id, appointment.date, appointment.source) == (first.customer_id, today, "campaign")
    assert Coupon.objects.filter(customer=first.customer).count() == 1

    # When the advisor opens the counter
    context.clear_cookies()
    log_in("advisor")

    # Then the booked customer is expected today with the VIP mark, the campaign and the coupon
    arrival = page.locator(f"[data-testid=arrival][data-appointment-id='{appointment.pk}']")
    expect(arrival).to_contain_text(first.customer.name)
    expect(arrival.get_by_test_id("vip")).to_contain_text(campaign.name)
    expect(arrival.get_by_test_id("arrival-coupons")).to_contain_text("¥100 工时券")
    screenshot("counter-vip")

    # And the customer's 360 page carries the mark and the open coupon
    with page.expect_navigation():
        arrival.get_by_role("link", name=first.customer.name).click()
    expect(page.locator("#customer-flags").get_by_test_id("vip")).to_contain_text(campaign.name)
    expect(page.locator("#card-coupons [data-testid=coupon]")).to_have_count(1)
    screenshot("customer-360-vip")
    page.go_back()

    # And marking them arrived still works in place
    arrival.get_by_test_id("mark-arrived").click()
    expect(page.locator("#arrivals-feedback")).to_contain_text(first.customer.name)
    expect(page.locator("[data-testid=arrival]")).to_have_count(0)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED


@pytest.fixture
def six_customers(dealership, as_manager, agent):
    """A running campaign with six customers on the agent's list, called in this order."""
    today = timezone.localdate()
    names = ["赵一", "钱二", "孙三", "李四", "周五", "吴六"]
    for i, name in enumerate(names):
        customer = CustomerFactory(dealership=dealership, name=name, phone=f"+861390024{i:04d}")
        VehicleFactory(owner=customer, plate=f"粤BF{i}66{i}", model="新君越")
    campaign = services.campaign_create(
        dealership=dealership,
        acting_user=as_manager,
        code="SPRING27",
        name="春季回访",
        kind="maintenance",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=20),
    )
    services.target_group_create(campaign=campaign, name="新君越车主", filters={"models": ["新君越"]})
    services.campaign_schedule(campaign=campaign)
    services.campaign_start(campaign=campaign, today=today)
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    return list(Invitation.objects.filter(campaign=campaign).select_related("customer").order_by("id"))


def test_after_every_outcome_the_keys_work_at_once(page, log_in, screenshot, agent, six_customers):
    """The focus trap: after D + date + Enter (accepted) or T + Enter (call back), the next customer's key
        records an outcome instead of typing into the date or time field that had the focus; 4 and a reason's number
    record a decline."""
    today = timezone.localdate()
    invitations = six_customers
    log_in("agent")
    page.goto("/calls/")
    expect_customer(page, invitations[0])

    def accept_with_the_date_field():
        page.keyboard.press("d")
        expect(page.locator("#appointment_date")).to_be_focused()
        page.locator("#appointment_date").fill(today.isoformat())
        page.keyboard.press("Enter")

    def call_back_with_the_time_field():
        page.keyboard.press("t")
        expect(page.locator("#call_back_at")).to_be_focused()
        page.keyboard.press("Enter")

    # Each step: what the agent does for the customer on screen; the next step starts the moment the next
    # customer is shown, with a key press.
    steps = [
        (accept_with_the_date_field, "accepted"),
        (lambda: page.keyboard.press("1"), "no_answer"),
        (call_back_with_the_time_field, "call_back"),
        (lambda: page.keyboard.press("2"), "busy"),
        (accept_with_the_date_field, "accepted"),
        (lambda: (page.keyboard.press("4"), page.keyboard.press("1")), "declined"),  # 1: no need
    ]
    for i, (act, _outcome) in enumerate(steps):
        act()
        if i + 1 < len(invitations):
            expect_customer(page, invitations[i + 1])
    expect(page.get_by_test_id("workbench-empty")).to_be_visible()
    screenshot("all-six-called")

    outcomes = dict(CallAttempt.objects.values_list("invitation_id", "outcome"))
    assert outcomes == {invitation.pk: outcome for invitation, (_act, outcome) in zip(invitations, steps, strict=True)}
    assert Appointment.objects.filter(date=today).count() == 2


def test_one_queue_an_invitation_and_a_follow_up_call_from_the_keyboard(page, log_in, screenshot, dealership, agent):
    """Issue 11: a satisfaction call (priority 2) comes before a campaign invitation (marketing) in the same
    queue; the agent scores the first with 6 and a number, declines the second with 4 and a number, and the
    page never reloads."""
    from followups.models import Touch, TouchAttempt
    from tests.followups.factories_calls import call_task

    today = timezone.localdate()
    customer = CustomerFactory(dealership=dealership, name="陈满意", phone="+8613900330001")
    VehicleFactory(owner=customer, plate="粤BS7777", model="GL8")
    satisfaction = call_task(
        dealership, agent, due_at=timezone.now() - timedelta(hours=1), kind=Touch.Kind.SATISFACTION, customer=customer
    )
    invitee = CustomerFactory(dealership=dealership, name="林邀约", phone="+8613900330002")
    VehicleFactory(owner=invitee, plate="粤BI8888", model="新君越")
    campaign = services.campaign_create(
        dealership=dealership,
        code="ONEQ27",
        name="一个队列",
        kind="maintenance",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=20),
    )
    services.target_group_create(campaign=campaign, name="新君越车主", filters={"models": ["新君越"]})
    services.campaign_schedule(campaign=campaign)
    services.campaign_start(campaign=campaign, today=today)
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    invitation = Invitation.objects.get(campaign=campaign)

    # Given the agent on the workbench: the satisfaction call comes first, with its kind, visit and script
    log_in("agent")
    page.goto("/calls/")
    page.evaluate(f"{MARKER} = 'still here'")
    call_card = card(page)
    expect(call_card).to_have_attribute("data-touch-id", str(satisfaction.pk))
    expect(page.get_by_test_id("customer-name")).to_contain_text("陈满意")
    expect(page.get_by_test_id("followup-visit")).to_contain_text(satisfaction.visit.ro_number)
    expect(page.get_by_test_id("script")).to_contain_text(dealership.name)
    expect_counts(page, calls=0, waiting=2, accepted=0)
    screenshot("follow-up-call")

    # When they press 6 (reached): the picker of scores opens; 4 records the score
    page.keyboard.press("6")
    expect(page.get_by_test_id("satisfaction-scores")).to_be_visible()
    screenshot("satisfaction-scores")
    page.keyboard.press("4")

    # Then the invitation follows at once, with the counts moved on
    expect(call_card).to_have_attribute("data-invitation-id", str(invitation.pk))
    expect(page.get_by_test_id("workbench-feedback")).to_contain_text("陈满意")
    expect(page.get_by_test_id("contact-history-empty")).to_be_visible()
    expect_counts(page, calls=1, waiting=1, accepted=0)

    # When they press 4 (declined), Esc (changed their mind), then 4 and 5 (sold the car)
    page.keyboard.press("4")
    expect(page.get_by_test_id("decline-reasons")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("decline-reasons")).to_be_hidden()
    expect(call_card).to_have_attribute("data-invitation-id", str(invitation.pk))
    page.keyboard.press("4")
    page.keyboard.press("5")

    # Then nobody is left, nothing reloaded, and both calls are recorded as chosen
    expect(page.get_by_test_id("workbench-empty")).to_be_visible()
    expect_counts(page, calls=2, waiting=0, accepted=0)
    assert page.evaluate(MARKER) == "still here"
    screenshot("one-queue-done")
    attempt = TouchAttempt.objects.get()
    assert (attempt.touch_id, attempt.outcome, attempt.satisfaction) == (satisfaction.pk, "done", 4)
    call = CallAttempt.objects.get()
    assert (call.invitation_id, call.outcome, call.reason) == (invitation.pk, "declined", "sold")
