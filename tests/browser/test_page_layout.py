"""Layout of the pages that broke at common sizes (issue 10), in a real browser at 1366 × 768 (a counter's
laptop) and 390 × 844 (a phone), in English and in Chinese.

- the explorer's value-layer donut shows its shares whole (52.75 % was cut to "2.75%");
- the 360 page's coupon card keeps its visit selector inside the card;
- the 360 page's consent history is read whole, in English too;
- on a phone, the 360 page's visit table shows the amounts without scrolling sideways.

Screenshots of each page go to test-artifacts/browser/<test>/ for a person to look at.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services as campaign_services
from customers import services as customer_services
from segmentation.models import SegmentationRun
from segmentation.services import ruleset_current
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(LAPTOP, id="laptop"), pytest.param(PHONE, id="phone")]
LANGUAGES = [pytest.param("en-US", id="en"), pytest.param("zh-CN", id="zh")]

#: an element that holds its content: nothing wider than the box (1 px of rounding allowed)
FITS = "el => el.scrollWidth <= el.clientWidth + 1"


@pytest.fixture
def customer(dealership, advisor, as_manager):
    """A customer with a car, six visits, a consent history with notes, and two open coupons."""
    customer = CustomerFactory(dealership=dealership, name="欧阳明远", marketing_consent=False)
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", brand="别克", model="昂科威 Plus")
    today = timezone.localdate()
    for i in range(6):
        ServiceVisitFactory(
            vehicle=vehicle,
            ro_number=f"RO2026-0{i}-0004567{i}",
            opened_on=today - timedelta(days=30 * i + 1),
            closed_on=today - timedelta(days=30 * i + 1),
            labor_amount=Decimal("1280.00"),
            parts_amount=Decimal("10350.50"),
            total_amount=Decimal("11630.50"),
            advisor_name="司马顾问",
            campaign_code="WINTER2026" if i == 1 else "",
        )
    now = timezone.now()
    for days, granted, channel, note in [
        (400, False, "dms", ""),
        (200, True, "counter", "客户在前台签字同意接收保养提醒和活动信息"),
        (20, False, "phone", "客户来电要求不再接收营销短信"),
    ]:
        customer_services.consent_record(
            customer=customer,
            granted=granted,
            channel=channel,
            occurred_at=now - timedelta(days=days),
            note=note,
            acting_user=advisor,
        )
    for name, kind, value in [("¥100 工时券", "labor_amount", "100"), ("机油滤芯 8 折券", "parts_percent", "20")]:
        template = campaign_services.coupon_template_create(
            dealership=dealership, name=name, kind=kind, value=Decimal(value)
        )
        campaign_services.coupon_issue(template=template, customer=customer, acting_user=as_manager)
    return customer


@pytest.fixture
def run(dealership):
    """A finished run whose value layers are 52.75 %, 39.75 % and 7.5 % of 400 customers."""
    return SegmentationRun.objects.create(
        dealership=dealership,
        rule_set=ruleset_current(dealership=dealership),
        reference_date=timezone.localdate(),
        status=SegmentationRun.Status.SUCCEEDED,
        customers=400,
        counts={
            "c3": {"profitable_loyal": 120, "high_risk": 80, "mysterious_opportunity": 100, "": 100},
            "tier": {"A": 100, "B": 100, "C": 100, "D": 100},
            "layer": {"potential": 211, "mid": 159, "high": 30},
        },
    )


@pytest.mark.parametrize("browser_locale", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_the_360_page_fits_the_screen(page, log_in, screenshot, customer, size, browser_locale):
    page.set_viewport_size(size)
    log_in("advisor")
    page.goto(f"/customers/{customer.pk}/")
    folder = screenshot("customer-360").parent

    # The coupon card: each visit selector and its button inside the card
    coupons = page.locator("#card-coupons")
    expect(coupons.locator("[data-testid=coupon]")).to_have_count(2)
    for select in coupons.locator("select[name=visit]").all():
        assert select.evaluate(FITS), "the visit selector overflows"
        card = coupons.bounding_box()
        box = select.bounding_box()
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 1
    assert coupons.evaluate(FITS)
    coupons.screenshot(path=folder / f"coupons-{size['width']}.png")

    # The consent history: every column in view, nothing to scroll sideways
    history = page.locator("#consent-history")
    expect(history.locator("[data-testid=consent-event]")).to_have_count(3)
    assert history.locator("xpath=..").evaluate(FITS), "the consent history is cut off"
    page.locator("#card-consent").screenshot(path=folder / f"consent-{size['width']}.png")

    # The visit table: the amounts in view without scrolling sideways
    total = page.get_by_test_id("total-amount")
    expect(total).to_be_visible()
    table_box = page.locator("#card-visits").bounding_box()
    for cell in [total, page.locator("#visit-history [data-testid=visit] td.fw-semibold").first]:
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= table_box["x"] + table_box["width"] + 1, "an amount is off screen"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways"
    page.locator("#card-visits").screenshot(path=folder / f"visits-{size['width']}.png")


@pytest.mark.parametrize("browser_locale", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_the_value_layer_donut_shows_each_share_whole(page, log_in, screenshot, advisor, run, size, browser_locale):
    page.set_viewport_size(size)
    log_in("advisor")
    page.goto("/segments/")
    chart = page.locator("[data-chart=layer]")
    expect(chart.locator("svg")).to_be_visible()
    page.wait_for_timeout(800)  # the chart's animation
    folder = screenshot("explorer").parent
    chart.screenshot(path=folder / f"donut-{size['width']}.png")

    # Each share reads as in the table beside the chart, whole: in the page's ink (not white, which vanished
    # where a label was wider than the ring) and inside the chart's box
    shares = [text for text in chart.locator("svg text").all() if text.text_content().endswith("%")]
    assert sorted(text.text_content() for text in shares) == ["39.8 %", "52.8 %", "7.5 %"]
    svg = chart.locator("svg").bounding_box()
    for text in shares:
        fill = text.evaluate("el => getComputedStyle(el).fill")
        assert fill not in ("rgb(255, 255, 255)", "#fff", "#ffffff"), (text.text_content(), fill)
        box = text.bounding_box()
        assert box["x"] >= svg["x"] - 1 and box["x"] + box["width"] <= svg["x"] + svg["width"] + 1, text
        assert box["y"] >= svg["y"] - 1 and box["y"] + box["height"] <= svg["y"] + svg["height"] + 1, text
    for text in page.locator("[data-chart=tier] svg text").all():  # the columns' figures, not cut at the top
        assert text.bounding_box()["y"] >= page.locator("[data-chart=tier] svg").bounding_box()["y"] - 1
