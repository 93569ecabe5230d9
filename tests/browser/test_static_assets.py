"""The pages load their own CSS, JavaScript and fonts, and nothing leaves the machine.

The app must work offline (a dealership's network may not reach any CDN): every request a page makes goes to
the server that served it, every asset answers 200, and Bootstrap's styles and scripts are really applied.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.browser

BOOTSTRAP_PRIMARY = "rgb(13, 110, 253)"  # $blue of Bootstrap 5.3: .btn-primary's background


@pytest.fixture
def traffic(page):
    """Every request the page makes, the answers of 400 and up, failed requests and console errors."""
    seen = {"requests": [], "bad": [], "failed": [], "console": []}
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("response", lambda response: response.status >= 400 and seen["bad"].append((response.status, response.url)))
    page.on("requestfailed", lambda request: seen["failed"].append((request.url, request.failure)))
    page.on("console", lambda message: message.type == "error" and seen["console"].append(message.text))
    page.on("pageerror", lambda error: seen["console"].append(str(error)))
    return seen


def test_pages_load_their_assets_from_the_server_and_nothing_else(
    page, live_server, log_in, traffic, screenshot, advisor, dealership
):
    # Given a customer with a visit, and an advisor who logs in
    customer = CustomerFactory(dealership=dealership, name="陈静")
    ServiceVisitFactory(vehicle=VehicleFactory(owner=customer, plate="粤BQ3F88"))
    page.goto("/accounts/login/")
    login_button = page.locator("#login-submit")

    # Then the login page is styled by Bootstrap (a default button is grey, with a border, no rounded corners)
    expect(login_button).to_have_css("background-color", BOOTSTRAP_PRIMARY)
    expect(login_button).to_have_css("color", "rgb(255, 255, 255)")
    expect(page.locator(".navbar")).to_have_css("background-color", BOOTSTRAP_PRIMARY)
    screenshot("login")

    # When they use the counter (htmx search, the page's own script) and open the 360 page
    log_in("advisor")
    page.locator("#counter-search").fill("Q3F88")
    expect(page.locator("#search-results [data-testid=search-result]")).to_have_count(1)
    page.locator("#counter-search").press("ArrowDown")  # static/js/counter.js moves the focus to the result
    expect(page.locator("#search-results [data-testid=search-result]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.locator("#visit-history [data-testid=visit]")).to_have_count(1)

    # Then Bootstrap's JavaScript runs (the user menu drops down) and its icon font is in use
    page.get_by_test_id("user-menu").click()
    expect(page.locator("#user-menu .dropdown-menu")).to_be_visible()
    icon_font = page.locator("#brand .bi").evaluate("icon => getComputedStyle(icon, '::before').fontFamily")
    assert "bootstrap-icons" in icon_font
    loaded_fonts = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert "bootstrap-icons" in [family.strip("\"'") for family in loaded_fonts]
    assert page.evaluate("() => typeof window.htmx === 'object' && typeof window.bootstrap === 'object'")
    screenshot("customer-360-user-menu")

    # And every asset answered, and every request went to the live server
    page.wait_for_load_state("networkidle")
    assert traffic["bad"] == []
    assert traffic["failed"] == []
    assert traffic["console"] == []
    server = urlsplit(live_server.url).netloc
    elsewhere = [url for url in traffic["requests"] if urlsplit(url).scheme not in {"data", "blob"}]
    elsewhere = [url for url in elsewhere if urlsplit(url).netloc != server]
    assert elsewhere == []
    static = {urlsplit(url).path for url in traffic["requests"] if "/static/" in url}
    for asset in (
        "/static/vendor/bootstrap/bootstrap.min.css",
        "/static/vendor/bootstrap/bootstrap.bundle.min.js",
        "/static/vendor/bootstrap-icons/bootstrap-icons.min.css",
        "/static/css/app.css",
        "/static/js/counter.js",
    ):
        assert asset in static
    assert any(path.startswith("/static/vendor/bootstrap-icons/fonts/") for path in static)
    assert any("htmx" in path for path in static)
