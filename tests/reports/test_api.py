"""The reports in the API: the list a user may read, a report's tables as JSON (money and rates as strings of
Decimals), the KPIs with their comparisons, and the error contract for bad periods, unknown reports and scopes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import ServiceVisit
from reports import registry
from tests.factories import ServiceVisitFactory, UserFactory, VehicleFactory
from tests.reports.test_exports import SLUG, visits, visits_report  # noqa: F401 - the fixtures

pytestmark = pytest.mark.django_db

MAY = {"start": "2024-05-01", "end": "2024-05-31"}
CODE = "test.ticket"


def ticket_many(scope, periods):
    """Average ticket of the visits closed in each period (one query for all periods)."""
    rows = ServiceVisit.objects.filter(dealership_id__in=scope.dealership_ids)
    aggregates = {}
    for index, period in enumerate(periods):
        within = {"closed_on__range": (period.start, period.end)}
        aggregates[f"n{index}"] = Count("pk", filter=models_q(**within))
        aggregates[f"t{index}"] = Sum("total_amount", filter=models_q(**within))
    found = rows.aggregate(**aggregates)
    return [registry.average(found[f"t{i}"], found[f"n{i}"]) for i in range(len(periods))]


def models_q(**kwargs):
    from django.db.models import Q

    return Q(**kwargs)


@pytest.fixture
def ticket_kpi():
    kpi = registry.register_kpi(
        registry.KPI(
            code=CODE,
            label="Average ticket (test)",
            definition="Revenue of the visits closed in the period ÷ their number.",
            unit="money",
            compute=lambda scope, period: ticket_many(scope, [period])[0],
            compute_many=ticket_many,
        )
    )
    yield kpi
    registry._KPIS.pop(CODE, None)


def detail(slug=SLUG):
    return reverse("api-reports-detail", kwargs={"slug": slug})


def test_the_list_holds_the_reports_the_role_may_read(api_client_for, agent, as_manager, visits_report):  # noqa: F811
    mine = api_client_for(as_manager).get(reverse("api-reports-list"))
    assert mine.status_code == 200
    entry = next(item for item in mine.json() if item["slug"] == SLUG)
    assert entry["url"] == detail() and entry["params"] == []
    # the test report needs reports.all: an agent's list leaves it out
    theirs = api_client_for(agent).get(reverse("api-reports-list"))
    assert theirs.status_code == 200 and SLUG not in {item["slug"] for item in theirs.json()}
    readable = {report.slug for report in registry.reports() if report.action == "reports.view"}
    assert {item["slug"] for item in theirs.json()} == readable


def test_a_reports_tables_as_json(api_client_for, as_manager, visits, visits_report):  # noqa: F811
    response = api_client_for(as_manager).get(detail(), MAY, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert body["report"] == SLUG and body["period"] == MAY
    assert body["scope"] == {"dealerships": ["SZ01"], "agent": None}
    table = body["tables"][0]
    assert table["key"] == "per_type"
    assert [c["kind"] for c in table["columns"]] == ["text", "int", "money", "rate", "date", "text"]
    # maintenance: 550 + 250 = ¥800 of ¥2,000 (40 %); money and rates as strings of Decimals, none as null
    assert table["rows"][0] == {
        "type": "Maintenance",
        "entries": 2,
        "revenue": "800.00",
        "share": "0.4000",
        "first": "2024-05-03",
        "note": None,
    }
    assert table["totals"] == {
        "type": None,
        "entries": 3,
        "revenue": "2000.00",
        "share": "1.0000",
        "first": None,
        "note": None,
    }
    assert body["tables"][1]["rows"] == [] and body["tables"][1]["totals"] is None


def test_a_group_manager_reads_all_stores_together(api_client_for, dealership, other_dealership, visits, visits_report):  # noqa: F811
    boss = UserFactory(username="boss", role="as_manager", dealerships=[dealership, other_dealership])
    body = api_client_for(boss).get(detail(), {**MAY, "stores": "all"}).json()
    assert body["scope"]["dealerships"] == ["GZ02", "SZ01"]
    # the other store's maintenance visit (¥550) counts too: 800 + 550 + 1,200 = ¥2,550 in 4 visits
    assert body["tables"][0]["totals"]["revenue"] == "2550.00" and body["tables"][0]["totals"]["entries"] == 4


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"start": "2024-05-31", "end": "2024-05-01"}, "period_reversed"),
        ({"start": "2022-01-01", "end": "2024-05-01"}, "period_too_long"),
        ({"start": "2024-13-01"}, "period_invalid"),
        ({"period": "fortnight"}, "period_unknown"),
    ],
)
def test_a_bad_period_is_400_in_the_error_contract(query, code, api_client_for, as_manager, visits_report):  # noqa: F811
    response = api_client_for(as_manager).get(detail(), query)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]


def test_refusals_of_the_report_and_the_scope(api_client_for, agent, as_manager, outsider, visits_report):  # noqa: F811
    assert api_client_for(as_manager).get(detail("no-such-report"), MAY).json()["code"] == "not_found"
    refused = api_client_for(agent).get(detail(), MAY)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    foreign = api_client_for(outsider).get(detail(), {**MAY, "dealership": "SZ01"})
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    # "all stores" from a manager of one store is refused, never quietly narrowed
    alone = api_client_for(as_manager).get(detail(), {**MAY, "stores": "all"})
    assert alone.status_code == 403


def test_the_reports_queries_do_not_grow_with_its_rows(api_client_for, as_manager, dealership, visits_report):  # noqa: F811
    client = api_client_for(as_manager)
    client.get(detail(), MAY)
    with CaptureQueriesContext(connection) as few:
        client.get(detail(), MAY)
    car = VehicleFactory(owner__dealership=dealership, dealership=dealership)
    for day in range(1, 20):
        ServiceVisitFactory(vehicle=car, opened_on=dt.date(2024, 5, day), closed_on=dt.date(2024, 5, day))
    with CaptureQueriesContext(connection) as many:
        body = client.get(detail(), MAY).json()
    assert body["tables"][0]["totals"]["entries"] == 19
    assert len(many) == len(few)


def test_the_kpis_with_their_comparisons(api_client_for, as_manager, dealership, visits, ticket_kpi):  # noqa: F811
    # April (in the previous 31 days: 31 March – 30 April): one visit of ¥1,000
    car = VehicleFactory(owner__dealership=dealership, dealership=dealership)
    ServiceVisitFactory(
        vehicle=car, opened_on=dt.date(2024, 4, 15), closed_on=dt.date(2024, 4, 15), total_amount=Decimal("1000")
    )
    response = api_client_for(as_manager).get(reverse("api-reports-kpis"), MAY)
    assert response.status_code == 200
    body = response.json()
    assert body["previous"] == {"start": "2024-03-31", "end": "2024-04-30"}
    assert body["last_year"] == {"start": "2023-05-01", "end": "2023-05-31"}
    kpi = next(item for item in body["kpis"] if item["code"] == CODE)
    # May: ¥2,000 ÷ 3 visits = ¥666.67; April ¥1,000 ÷ 1; May 2023 none: empty, never 0
    assert kpi["current"]["value"] == "666.67" and Decimal(kpi["current"]["numerator"]) == 2000
    assert kpi["current"]["denominator"] == "3" and kpi["current"]["display"] == "¥666.67"
    assert kpi["previous"]["value"] == "1000.00"
    assert kpi["last_year"] == {"value": None, "numerator": "0", "denominator": "0", "flag": "", "display": "—"}
    # (666.67 − 1,000) ÷ 1,000 = −33.3 %; against an empty year: none
    assert Decimal(kpi["change_previous"]).quantize(Decimal("0.001")) == Decimal("-0.333")
    assert kpi["change_last_year"] is None
    assert kpi["unit"] == "money" and kpi["definition"].startswith("Revenue")


def test_the_kpis_refuse_a_bad_period(api_client_for, as_manager):
    response = api_client_for(as_manager).get(reverse("api-reports-kpis"), {"end": "2020-01-01", "start": "2021-01-01"})
    assert response.status_code == 400 and response.json()["code"] == "period_reversed"
