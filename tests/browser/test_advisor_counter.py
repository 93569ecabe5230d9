"""An advisor at the counter, in a real browser, in English and in Chinese.

Given a customer whose car has two visits on file, the advisor logs in, types the end of the plate into the
counter search, opens the customer's 360 page, checks the visit history and its totals, records a new visit
(after a negative amount is refused) and sees it in the history with the right total.

Each run starts in one language (the browser's Accept-Language) and switches to the other with the header's
language menu, so both the negotiation and the switcher are exercised.

Texts of Django's own catalogues (login labels, form errors, number formats, language names) are asserted in
Chinese always. Texts of the project's catalogue are asserted in Chinese once locale/zh_Hans is compiled; until
then the page shows them in English and the test expects exactly that.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from customers.models import ServiceVisit, Vehicle
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory, make_vin

pytestmark = pytest.mark.browser

ZH_CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
PLATE = "粤BK7J29"
PLATE_END = PLATE[-5:]  # "K7J29": what the advisor reads off the car's tail


@dataclass(frozen=True)
class Words:
    """What the page says in ``lang``: ``says(english, chinese)``.

    ``ours=False`` for a text that Django itself translates (its catalogues ship with it).
    """

    lang: str

    def says(self, en: str, zh: str, *, ours: bool = True) -> str:
        if self.lang == "en":
            return en
        return zh if ZH_CATALOGUE.exists() or not ours else en

    def amount(self, value: str) -> str:
        """``value`` like "2,551.00" as the page prints it: zh-hans groups no digits."""
        return value if self.lang == "en" else value.replace(",", "")


ENGLISH, CHINESE = Words("en"), Words("zh-hans")
LANGUAGE_NAME = {"en": "English", "zh-hans": "简体中文"}


@pytest.fixture
def customer(dealership, other_dealership):
    """李娜 with a Buick and two visits; a neighbour whose plate shares a prefix; a namesake plate elsewhere."""
    customer = CustomerFactory(dealership=dealership, customer_no="C0042", name="李娜", phone="+8613912345678")
    vehicle = VehicleFactory(owner=customer, plate=PLATE, vin=make_vin(4201), model="昂科威")
    ServiceVisitFactory(
        vehicle=vehicle,
        ro_number="RO24050001",
        opened_on=date(2024, 5, 10),
        closed_on=date(2024, 5, 10),
        labor_amount=Decimal("200.00"),
        parts_amount=Decimal("350.00"),
        total_amount=Decimal("550.00"),
    )
    ServiceVisitFactory(
        vehicle=vehicle,
        ro_number="RO24110002",
        opened_on=date(2024, 11, 2),
        closed_on=date(2024, 11, 3),
        labor_amount=Decimal("480.00"),
        parts_amount=Decimal("800.50"),
        total_amount=Decimal("1280.50"),
    )
    VehicleFactory(owner=CustomerFactory(dealership=dealership, name="王强"), plate="粤BK7J30")
    VehicleFactory(owner=CustomerFactory(dealership=other_dealership, name="赵敏"), plate="粤AK7J29")
    return customer


def switch_language(page: Page, lang: str) -> None:
    """Pick ``lang`` in the header's language menu (Django's set_language, then back to the same page)."""
    page.get_by_test_id("language-menu").click()
    page.get_by_test_id(f"language-{lang}").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_test_id("language-menu")).to_contain_text(LANGUAGE_NAME[lang])
    page.wait_for_load_state()  # htmx and Bootstrap's scripts (deferred) have run on the new page


def expect_login_page_in(page: Page, words: Words) -> None:
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("label[for=id_username]")).to_contain_text(words.says("Username", "用户名", ours=False))
    expect(page.locator("label[for=id_password]")).to_contain_text(words.says("Password", "密码", ours=False))
    # "Log in" is in django.contrib.admin's catalogue too
    expect(page.locator("#login-submit")).to_have_text(words.says("Log in", "登录", ours=False))


@pytest.mark.parametrize(
    ("browser_locale", "first", "then"),
    [
        pytest.param("zh-CN", CHINESE, ENGLISH, id="english"),
        pytest.param("en-US", ENGLISH, CHINESE, id="chinese"),
    ],
)
def test_advisor_finds_customer_by_plate_end_and_records_a_visit(
    page, log_in, screenshot, advisor, customer, first, then
):
    # Given a browser that asks for the first language (Accept-Language)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", first.lang)
    expect(page.get_by_test_id("language-menu")).to_contain_text(LANGUAGE_NAME[first.lang])

    expect_login_page_in(page, first)
    screenshot(f"login-{first.lang}")
    if then is ENGLISH:
        # The English run switches on the login page, before logging in.
        switch_language(page, "en")
        expect_login_page_in(page, ENGLISH)
        log_in("advisor")
    else:
        # The Chinese run logs in in English and switches from the counter's header.
        log_in("advisor")
        switch_language(page, "zh-hans")
    words = then
    expect(page.get_by_role("heading", level=1)).to_have_text(words.says("Find a customer", "查找客户"))
    screenshot("counter")

    # When the advisor types the last five characters of the plate, the results follow the typing
    search = page.locator("#counter-search")
    search.press_sequentially(PLATE_END)
    kind = page.locator("#search-kind")
    expect(kind).to_contain_text(PLATE_END)
    expect(kind).to_have_attribute("data-kind", "plate")
    expect(kind).to_contain_text(words.says("Searching by: Plate", "按车牌号查找"))
    results = page.locator("#search-results [data-testid=search-result]")
    expect(results).to_have_count(1)  # not the neighbour's K7J30, not the other store's 粤AK7J29
    expect(results).to_have_attribute("data-customer-id", str(customer.pk))
    expect(results).to_contain_text("李娜")
    expect(results).to_contain_text(PLATE)
    screenshot("search-results")

    # And opens the customer's 360 page
    results.click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.locator("#customer-name")).to_contain_text("李娜")
    expect(page.locator("#card-visits-title")).to_have_text(words.says("Visit history", "进厂记录"))

    # Then the history shows both visits, newest first, and their totals
    rows = page.locator("#visit-history [data-testid=visit]")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-ro") for i in range(2)] == ["RO24110002", "RO24050001"]
    expect(rows.first).to_contain_text("2024-11-02")
    expect(rows.first).to_contain_text(words.amount("1,280.50"))
    totals = page.locator("#visit-totals")
    expect(totals).to_contain_text(words.says("Total, 2 visits", "合计 2 次"))
    expect(totals.get_by_test_id("total-labour")).to_have_text(words.amount("680.00"))
    expect(totals.get_by_test_id("total-parts")).to_have_text(words.amount("1,150.50"))
    expect(totals.get_by_test_id("total-amount")).to_have_text(words.amount("1,830.50"))
    screenshot("customer-360")

    # When the advisor records a visit with a negative labour amount
    page.locator("#action-record-visit").click()
    form = page.locator("#visit-form")
    expect(form).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(words.says("Record a visit", "登记进厂"))
    page.locator("#id_ro_number").fill("RO25060003")
    page.locator("#id_mileage_km").fill("45800")
    page.locator("#id_labor_amount").fill("-50")
    page.locator("#id_parts_amount").fill("420.50")
    page.locator("#visit-form-submit").click()

    # Then the field says why and nothing is saved
    expect(page.locator("#id_labor_amount")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#div_id_labor_amount")).to_contain_text(
        words.says("Ensure this value is greater than or equal to 0", "确保该值大于或等于0", ours=False)
    )
    expect(page.locator("#form-errors")).to_have_text(
        words.says(
            "Nothing was saved. Please correct the fields marked below.", "未保存任何内容。请修改下方标出的字段。"
        )
    )
    expect(page.locator("#id_ro_number")).to_have_value("RO25060003")  # what was typed is kept
    screenshot("visit-form-negative-amount")
    assert not ServiceVisit.objects.filter(ro_number="RO25060003").exists()

    # When the amount is corrected (total left blank: labour + parts)
    page.locator("#id_labor_amount").fill("300")
    page.locator("#visit-form-submit").click()

    # Then the 360 page shows the new visit on top and the totals include it
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.locator("#messages")).to_contain_text(
        words.says("Visit RO25060003 recorded.", "工单 RO25060003 已登记。")
    )
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-ro", "RO25060003")
    expect(rows.first).to_contain_text(PLATE)
    expect(rows.first).to_contain_text("720.50")
    expect(totals).to_contain_text(words.says("Total, 3 visits", "合计 3 次"))
    expect(totals.get_by_test_id("total-labour")).to_have_text(words.amount("980.00"))
    expect(totals.get_by_test_id("total-parts")).to_have_text(words.amount("1,571.00"))
    expect(totals.get_by_test_id("total-amount")).to_have_text(words.amount("2,551.00"))
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    screenshot("customer-360-after-visit")

    visit = ServiceVisit.objects.get(ro_number="RO25060003")
    assert (visit.customer_id, visit.vehicle.plate) == (customer.pk, PLATE)
    assert (visit.labor_amount, visit.parts_amount, visit.total_amount) == (
        Decimal("300.00"),
        Decimal("420.50"),
        Decimal("720.50"),
    )
    assert visit.advisor_id == advisor.pk


def test_wrong_vin_check_digit_shows_the_field_error_and_saves_nothing(page, log_in, screenshot, advisor, customer):
    # Given the advisor on the customer's 360 page
    log_in("advisor")
    page.goto(f"/customers/{customer.pk}/")
    vehicles_before = Vehicle.objects.count()

    # When they add a vehicle whose VIN has a wrong 9th character
    good = make_vin(4202)
    bad = good[:8] + ("0" if good[8] != "0" else "1") + good[9:]
    page.locator("#action-add-vehicle").click()
    expect(page.locator("#vehicle-form")).to_be_visible()
    page.locator("#id_plate").fill("粤BL8M31")
    page.locator("#id_vin").fill(bad)
    page.locator("#id_brand").fill("别克")
    page.locator("#id_model").fill("GL8")
    page.locator("#vehicle-form-submit").click()

    # Then the VIN field names the check digit it expected, the form keeps the input, and nothing is saved
    expect(page.locator("#id_vin")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#div_id_vin")).to_contain_text(
        f"The VIN's check digit (9th character) should be {good[8]}, not {bad[8]}."
    )
    expect(page.locator("#id_vin")).to_have_value(bad)
    expect(page.locator("#form-errors")).to_be_visible()
    screenshot("vehicle-form-bad-vin")
    assert Vehicle.objects.count() == vehicles_before
    assert not Vehicle.objects.filter(vin=bad).exists()


def test_an_arrival_a_colleague_handled_meanwhile_shows_the_reason_in_place(page, log_in, advisor, customer):
    # Given the advisor's counter lists today's appointment
    from customers.models import Appointment

    booked = Appointment.objects.create(
        dealership=customer.dealership, customer=customer, date=customer.dealership.local_date()
    )
    log_in("advisor")
    expect(page.get_by_test_id("arrival")).to_have_count(1)

    # When a colleague cancels it before the advisor marks it arrived
    Appointment.objects.filter(pk=booked.pk).update(status=Appointment.Status.CANCELLED)
    page.get_by_test_id("mark-arrived").click()

    # Then the server's 409 still brings the list back in place, with the reason on top, and nothing changes
    expect(page.locator("#arrivals-feedback")).to_contain_text("cannot become")
    expect(page.get_by_test_id("arrival")).to_have_count(0)
    assert page.url.endswith("/customers/")
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED
