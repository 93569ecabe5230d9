# ruff: noqa: F811  (the fixtures imported from test_pages are parameters of the tests)
"""The drill-down behind a figure: the rows the KPI counts for the scope and the period (and the KPI's own
filters), 50 a page, each linking to its record, with the figure and its definition on top; the query count
does not grow with the rows. Data: ``tests/reports/test_pages.py``."""

import datetime as dt

from django.urls import reverse

from tests.reports.test_pages import clock, data, figures, fresh_figures, url, visit  # noqa: F401 (fixtures)


def texts(response):
    return [[c["text"] for c in row] for row in response.context["cells"]]


def test_rows_behind_entries(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("drill", "workshop.entries"))
    assert response.status_code == 200
    # the 3 visits of this store in the period (not the other store's 5, not the previous period's)
    rows = texts(response)
    assert len(rows) == 3
    assert sorted(r[0] for r in rows) == ["2026-03-01", "2026-03-10", "2026-03-10"]
    assert sorted(r[-1] for r in rows) == ["¥1,000.00", "¥550.00", "¥550.00"]
    assert response.context["value"] == "3"
    html = response.content.decode()
    assert "Service visits opened in the period." in html
    # the customer cell opens the customer 360 page
    first = data["visits"][0]
    assert reverse("customers:detail", args=[first.customer_id]) in html


def test_filter_narrows_the_rows(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("drill", "workshop.entries", visit_type="repair"))
    assert [r[-1] for r in texts(response)] == ["¥1,000.00"]
    assert response.context["filters"] == {"visit_type": "repair"}


def test_rate_drill_shows_numerator_and_denominator(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("drill", "workshop.show_rate"))
    assert response.context["value"] == "75.0%" and response.context["fraction"] == "3 / 4"
    assert sorted(r[-1] for r in texts(response)) == ["Arrived", "Arrived", "Arrived", "No-show"]


def test_surveys_drill_with_flag(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("drill", "surveys.nps"))
    assert sorted(r[-1] for r in texts(response)) == ["10", "9"]
    assert b"fewer than 30 answers" in response.content


def test_pages_of_fifty_and_bounded_queries(
    as_manager, dealership, figures, data, client_for, django_assert_max_num_queries
):
    # 3 + 57 = 60 visits in the period: page 1 has 50, page 2 has 10
    for n in range(57):
        visit(dealership, dt.date(2026, 3, 1 + n % 15))
    client = client_for(as_manager)
    first = client.get(url("drill", "workshop.entries"))
    assert len(first.context["cells"]) == 50 and first.context["page_obj"].paginator.count == 60
    with django_assert_max_num_queries(8):
        second = client.get(url("drill", "workshop.entries", page=2))
    assert len(second.context["cells"]) == 10
    assert b"page-previous" in second.content


def test_agent_may_drill_with_own_scope(agent, figures, data, client_for):
    assert client_for(agent).get(url("drill", "workshop.entries")).status_code == 200
