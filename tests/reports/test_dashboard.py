# ruff: noqa: F811  (the fixtures imported from test_pages are parameters of the tests)
"""The manager's dashboard: its tiles (value, change against the previous period and last year, coloured by
which way is better, target, flag, link to the rows), its charts over months and its query count.

Data and figures: ``tests/reports/test_pages.py`` (``figures``, ``data``); the period is the default, the
last 30 days to Monday 16 March 2026 (15 Feb – 16 Mar); previous 16 Jan – 14 Feb; last year 15 Feb – 16 Mar
2025.
"""

from urllib.parse import parse_qs, urlsplit

from reports.views import DASHBOARD_TILES
from tests.reports.test_pages import clock, data, figures, fresh_figures, url  # noqa: F401 (fixtures)


def tiles(response):
    return {t["code"]: t for t in response.context["tiles"]}


def test_tiles_in_the_order_of_the_constant_only_those_registered(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("dashboard"))
    assert response.status_code == 200
    codes = [t["code"] for t in response.context["tiles"]]
    # the five test KPIs, in DASHBOARD_TILES' order; the five not registered are left out
    assert codes == [c for c in DASHBOARD_TILES if c in codes]
    assert codes == ["workshop.entries", "workshop.revenue", "workshop.show_rate", "surveys.nps", "quality.bounce_rate"]


def test_tile_values_and_changes(as_manager, figures, data, client_for):
    t = tiles(client_for(as_manager).get(url("dashboard")))
    entries = t["workshop.entries"]
    # 3 visits; previous 2 → +50.0%; last year 1 → +200.0%; both better (green)
    assert entries["value"] == "3"
    assert [(c["text"], c["css"]) for c in entries["changes"]] == [("+50.0%", "trend-good"), ("+200.0%", "trend-good")]
    revenue = t["workshop.revenue"]
    # ¥2,100 against ¥1,100 (+90.9%) and ¥550 (+281.8%)
    assert revenue["value"] == "¥2,100.00"
    assert [c["text"] for c in revenue["changes"]] == ["+90.9%", "+281.8%"]
    show = t["workshop.show_rate"]
    # 3 of 4 arrived = 75.0%, previous 1 of 1 = 100% → -25.0 pts, worse (red); last year none → —
    assert show["value"] == "75.0%" and show["fraction"] == "3 / 4"
    assert [(c["text"], c["css"]) for c in show["changes"]] == [("-25.0 pts", "trend-bad"), ("—", "trend-flat")]
    # target ≥ 80.0%, missed
    assert show["target"] == {"text": "80.0%", "at_least": True, "met": False}


def test_flag_empty_figure_and_lower_is_better_target(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("dashboard"))
    t = tiles(response)
    # NPS (9 + 10) / 2 = 9.50 from 2 answers: flagged
    assert t["surveys.nps"]["value"] == "9.50"
    assert t["surveys.nps"]["flag"] == "fewer than 30 answers"
    bounce = t["quality.bounce_rate"]
    assert bounce["value"] == "—" and bounce["empty"]
    assert bounce["target"] == {"text": "8.0%", "at_least": False, "met": None}
    assert bounce["url"] == ""  # no rows behind it: no link
    html = response.content.decode()
    assert "No data in this period." in html
    assert "Target ≤ 8.0%" in html and "Target ≥ 80.0%" in html
    assert 'data-testid="tile-flag-surveys.nps"' in html


def test_each_tile_links_to_its_drill_down(as_manager, figures, data, client_for):
    link = tiles(client_for(as_manager).get(url("dashboard")))["workshop.entries"]["url"]
    parts = urlsplit(link)
    assert parts.path == "/reports/drill/workshop.entries/"
    assert parse_qs(parts.query) == {"dealership": ["SZ01"], "start": ["2026-02-15"], "end": ["2026-03-16"]}


def test_month_chart_counts_each_month_and_links_it(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("dashboard"))
    chart = response.context["chart_data"]["workshop"]
    # 12 months, April 2025 … March 2026 (cut at 16 March)
    assert chart["x"][0] == "2025-04" and chart["x"][-1] == "2026-03" and len(chart["x"]) == 12
    entries, revenue = chart["series"]
    # January 1 visit, February 1, March 3 (the visit of March 2025 is before the chart)
    assert entries["data"][-3:] == [1.0, 1.0, 3.0] and sum(entries["data"]) == 5
    assert revenue["labels"][-1] == "¥2,100.00" and revenue["axis"] == 1
    assert "start=2026-03-01" in entries["links"][-1] and "end=2026-03-16" in entries["links"][-1]
    # no follow-up KPI registered: no follow-up chart; no segmentation run: the C3 chart says so
    assert "followups" not in response.context["chart_data"]
    assert response.context["chart_data"]["c3"]["empty"] is True


def test_a_period_without_data_shows_dashes(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("dashboard", start="2020-01-01", end="2020-01-31"))
    t = tiles(response)
    assert t["workshop.entries"]["value"] == "0"  # a count of nothing is 0
    assert t["workshop.revenue"]["value"] == "—"  # a sum of nothing is no figure
    assert t["workshop.show_rate"]["value"] == "—"
    # the twelve months to January 2020 have no visit: the chart says so instead of drawing zeros
    assert response.context["chart_data"]["workshop"]["empty"] is True
    assert b"chart-empty-workshop" in response.content


def test_dashboard_queries_do_not_grow_with_rows(
    as_manager, dealership, figures, data, client_for, django_assert_max_num_queries
):
    """Five tiles (four with compute_many: one query each; NPS three periods: three), two monthly charts
    (one query per KPI), the C3 run: the page is a fixed number of queries however many visits there are."""
    from tests.reports.test_pages import visit

    client = client_for(as_manager)
    client.get(url("dashboard"))
    with django_assert_max_num_queries(16) as few:
        client.get(url("dashboard"))
    import datetime as dt

    for day in range(1, 20):
        visit(dealership, dt.date(2026, 3, day))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url("dashboard"))


def test_dashboard_in_chinese(as_manager, figures, data, client_for):
    client = client_for(as_manager)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(url("dashboard"))
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_dashboard_keeps_its_figures_for_a_while(as_manager, dealership, figures, data, client_for, settings):
    """With the cache on, a visit added after the first look shows on the dashboard only once the cache is
    emptied (at most ``REPORTS_DASHBOARD_CACHE_SECONDS`` later), while the drill-down lists it at once; the
    second look makes no query for the figures."""
    import datetime as dt

    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.reports.test_pages import visit

    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 300
    cache.clear()
    client = client_for(as_manager)
    with CaptureQueriesContext(connection) as first:
        assert tiles(client.get(url("dashboard")))["workshop.entries"]["value"] == "3"
    visit(dealership, dt.date(2026, 3, 12))
    with CaptureQueriesContext(connection) as second:
        response = client.get(url("dashboard"))
    assert tiles(response)["workshop.entries"]["value"] == "3"
    assert b"cache-note" in response.content
    # five tiles and the two charts' KPIs no longer ask the database
    assert len(second.captured_queries) <= len(first.captured_queries) - 7
    assert client.get(url("drill", "workshop.entries")).context["value"] == "4"
    cache.clear()
    assert tiles(client.get(url("dashboard")))["workshop.entries"]["value"] == "4"
