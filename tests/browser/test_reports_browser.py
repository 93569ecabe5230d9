"""The manager's dashboard in a real browser, in English and in Chinese: the charts are drawn with the data
(ECharts' SVG in each chart), no console error, and a click on a tile lands on the rows behind it.

The figures are the small KPIs of ``tests/reports/test_pages.py`` (registered for the test, the registry put
back after), over visits, appointments and surveys built around today (the live server runs on the real
clock). Screenshots at 1366 px and 390 px wide go to /tmp/shots/ for a person to look at.
"""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Appointment
from followups.models import Survey
from tests.factories import CustomerFactory
from tests.reports.test_pages import figures, fresh_figures, visit  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")  # noqa: S108 - where a person looks at the pages


@pytest.fixture
def recent(dealership):
    """In the last 30 days: 3 visits (¥550, ¥1,000 repair, ¥550), 4 appointments (3 arrived), 2 surveys; two
    months earlier 2 visits, so the monthly chart has several bars."""
    today = timezone.localdate()
    for days, amount, kind in ((3, "550.00", "maintenance"), (5, "1000.00", "repair"), (8, "550.00", "maintenance")):
        visit(dealership, today - dt.timedelta(days=days), amount, kind)
    for days in (65, 70):
        visit(dealership, today - dt.timedelta(days=days))
    for status in ("arrived", "arrived", "arrived", "no_show"):
        Appointment.objects.create(
            dealership=dealership,
            customer=CustomerFactory(dealership=dealership),
            date=today - dt.timedelta(days=4),
            status=status,
        )
    for score in (9, 10):
        Survey.objects.create(
            dealership=dealership,
            customer=CustomerFactory(dealership=dealership),
            nonce=f"b{score}",
            sent_at=timezone.now() - dt.timedelta(days=3),
            expires_at=timezone.now() + dt.timedelta(days=10),
            answered_at=timezone.now() - dt.timedelta(days=2),
            satisfaction=5,
            nps=score,
        )
    return Decimal("2100.00")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_dashboard_charts_and_drill_down(language, page, context, live_server, log_in, as_manager, figures, recent):  # noqa: F811
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(as_manager.username)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    SHOTS.mkdir(exist_ok=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/reports/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    chart = page.locator('[data-report-chart="workshop"]')
    expect(chart).to_have_attribute("data-rendered", "true")
    # the bars and the line are drawn: ECharts' SVG has paths for the 12 months' series
    assert chart.locator("svg path").count() > 5
    expect(page.get_by_test_id("tile-value-workshop.entries")).to_have_text("3")
    expect(page.get_by_test_id("tile-value-workshop.revenue")).to_have_text(re.compile(r"¥2,?100\.00"))
    expect(page.get_by_test_id("tile-flag-surveys.nps")).to_be_visible()
    page.screenshot(path=SHOTS / f"dashboard-{language}-1366.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(chart).to_have_attribute("data-rendered", "true")
    page.screenshot(path=SHOTS / f"dashboard-{language}-390.png", full_page=True)
    # nothing wider than the phone's screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_test_id("tile-link-workshop.entries").click()
    expect(page).to_have_url(re.compile(r"/reports/drill/workshop\.entries/\?"))
    rows = page.get_by_test_id("drill-rows").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("drill-value")).to_have_text("3")
    page.screenshot(path=SHOTS / f"drill-{language}-1366.png", full_page=True)
    assert errors == []


def test_report_chart_click_opens_the_rows_behind_a_bar(page, live_server, log_in, as_manager, figures, recent):  # noqa: F811
    """The test report's chart has a bar per visit type (maintenance 2, repair 1); a click on the repair bar
    opens the one repair visit."""
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(as_manager.username)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/reports/test-visits/")
    chart = page.locator('[data-report-chart="by_type"]')
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(page.get_by_test_id("totals-by_type")).to_contain_text("3")
    page.screenshot(path=SHOTS / "report-en-1366.png", full_page=True)
    # the middle of the repair bar (the second category, value 1), in the page's pixels
    x, y = page.evaluate(
        """() => {
            const element = document.querySelector('[data-report-chart="by_type"]');
            const chart = window.echarts.getInstanceByDom(element);
            const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [1, 0.5]);
            const box = element.getBoundingClientRect();
            return [box.left + x, box.top + y];
        }"""
    )
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(r"/reports/drill/workshop\.entries/\?.*visit_type=repair"))
    rows = page.get_by_test_id("drill-rows").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1,000.00")
    assert errors == []
