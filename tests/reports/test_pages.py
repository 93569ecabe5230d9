"""The reports' pages for each role: the list of reports, a report (tables, totals, links, charts, the campaign
parameter) and the refusals (another store 404, a bad period 400 with its reason, the group view only for a
manager of several stores).

The figures come from small KPIs and reports this module registers (``figures`` fixture) over hand-built
visits, appointments, surveys and invitations, so the pages are tested whatever the sections register; the
registry is put back as it was afterwards. The clock is 16 March 2026 (a Monday) 10:00 in Shanghai: the
default period, "last 30 days", is 15 February – 16 March 2026.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Avg, Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Invitation, TargetGroup
from customers.models import Appointment, ServiceVisit
from followups.models import Survey
from reports import registry
from reports.registry import KPI, Chart, Column, Param, Report, Table, average, ratio
from tests.factories import CustomerFactory, ServiceVisitFactory, UserFactory, VehicleFactory

NOW = dt.datetime(2026, 3, 16, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


# --- figures registered for the tests ------------------------------------------------------------------------


def _visits(scope, filters=None):
    rows = ServiceVisit.objects.filter(dealership_id__in=scope.dealership_ids)
    if filters and filters.get("visit_type"):
        rows = rows.filter(visit_type=filters["visit_type"])
    return rows


def _in(period, field="opened_on"):
    return Q(**{f"{field}__gte": period.start, f"{field}__lte": period.end})


def entries_many(scope, periods):
    totals = _visits(scope).aggregate(**{f"p{i}": Count("id", filter=_in(p)) for i, p in enumerate(periods)})
    return [registry.Figure(totals[f"p{i}"]) for i in range(len(periods))]


def revenue_many(scope, periods):
    totals = _visits(scope).aggregate(**{f"p{i}": Sum("total_amount", filter=_in(p)) for i, p in enumerate(periods)})
    return [registry.Figure(totals[f"p{i}"]) for i in range(len(periods))]


def show_rate_many(scope, periods):
    rows = Appointment.objects.filter(dealership_id__in=scope.dealership_ids, status__in=["arrived", "no_show"])
    aggregates = {}
    for i, p in enumerate(periods):
        aggregates[f"b{i}"] = Count("id", filter=_in(p, "date"))
        aggregates[f"a{i}"] = Count("id", filter=_in(p, "date") & Q(status="arrived"))
    totals = rows.aggregate(**aggregates)
    return [ratio(totals[f"a{i}"], totals[f"b{i}"]) for i in range(len(periods))]


def nps_compute(scope, period):
    since, until = period.bounds(scope.zone)
    totals = Survey.objects.filter(
        dealership_id__in=scope.dealership_ids, answered_at__gte=since, answered_at__lt=until, nps__isnull=False
    ).aggregate(n=Count("id"), avg=Avg("nps"))
    flag = "fewer than 30 answers" if totals["n"] < 30 else ""
    return average(Decimal(totals["avg"] or 0) * totals["n"], totals["n"], flag=flag)


def nps_rows(scope, period, filters):
    since, until = period.bounds(scope.zone)
    return Survey.objects.filter(dealership_id__in=scope.dealership_ids, answered_at__gte=since, answered_at__lt=until)


TEST_KPIS = [
    KPI(
        code="workshop.entries",
        label="Workshop entries",
        definition="Service visits opened in the period.",
        unit="count",
        compute=lambda scope, period: entries_many(scope, [period])[0],
        compute_many=entries_many,
        rows=lambda scope, period, filters: _visits(scope, filters).filter(_in(period)),
        drill="visits",
        filters=("visit_type",),
        section="workshop",
    ),
    KPI(
        code="workshop.revenue",
        label="Workshop revenue",
        definition="Total of the visits opened in the period.",
        unit="money",
        compute=lambda scope, period: revenue_many(scope, [period])[0],
        compute_many=revenue_many,
        rows=lambda scope, period, filters: _visits(scope, filters).filter(_in(period)),
        drill="visits",
        section="workshop",
    ),
    KPI(
        code="workshop.show_rate",
        label="Appointment show rate",
        definition="Arrived ÷ booked appointments whose day has passed.",
        unit="rate",
        compute=lambda scope, period: show_rate_many(scope, [period])[0],
        compute_many=show_rate_many,
        rows=lambda scope, period, filters: Appointment.objects.filter(
            dealership_id__in=scope.dealership_ids, status__in=["arrived", "no_show"]
        ).filter(_in(period, "date")),
        drill="appointments",
        target=Decimal("0.8"),
        section="workshop",
    ),
    KPI(
        code="surveys.nps",
        label="NPS",
        definition="Average recommendation score of the surveys answered in the period.",
        unit="score",
        compute=nps_compute,
        rows=nps_rows,
        drill="surveys",
        section="followups",
    ),
    KPI(
        code="quality.bounce_rate",
        label="Bounce rate",
        definition="Messages that bounced ÷ messages sent.",
        unit="rate",
        compute=lambda scope, period: ratio(0, 0),
        higher_is_better=False,
        target=Decimal("0.08"),
        section="quality",
    ),
]


def build_visits_by_type(scope, period, params):
    rows = (
        _visits(scope)
        .filter(_in(period))
        .values("visit_type")
        .annotate(entries=Count("id"), revenue=Sum("total_amount"))
        .order_by("visit_type")
    )
    table = Table(
        key="by_type",
        title="Visits by type",
        columns=[
            Column("visit_type", "Visit type", "text"),
            Column("entries", "Entries"),
            Column("revenue", "Revenue", "money"),
        ],
        chart=Chart("bar", "visit_type", ("entries",)),
        notes=["Test note: visits opened in the period."],
    )
    for row in rows:
        link = registry.drill_url("workshop.entries", scope, period, visit_type=row["visit_type"])
        table.rows.append({**row, "_links": {"entries": link}})
    table.totals = {
        "entries": sum(r["entries"] for r in table.rows),
        "revenue": sum((r["revenue"] for r in table.rows), Decimal(0)),
    }
    return [table]


def build_own_invitations(scope, period, params):
    rows = Invitation.objects.filter(campaign__dealership_id__in=scope.dealership_ids)
    if scope.agent_id is not None:
        rows = rows.filter(agent_id=scope.agent_id)
    table = Table(key="own", title="Invitations", columns=[Column("invited", "Invited")])
    table.rows.append({"invited": rows.count()})
    return [table]


def build_campaign(scope, period, params):
    campaign = Campaign.objects.get(dealership_id__in=scope.dealership_ids, pk=int(params["campaign"]))
    table = Table(
        key="campaign", title="Campaign", columns=[Column("code", "Code", "text"), Column("invited", "Invited")]
    )
    table.rows.append({"code": campaign.code, "invited": campaign.invitations.count()})
    return [table]


TEST_REPORTS = [
    Report(slug="test-visits", title="Visits by type", description="", build=build_visits_by_type, section="workshop"),
    Report(
        slug="test-own",
        title="My invitations",
        description="",
        build=build_own_invitations,
        section="campaigns",
        action="reports.view",
    ),
    Report(
        slug="test-campaign",
        title="One campaign",
        description="",
        build=build_campaign,
        section="campaigns",
        params=(Param("campaign", "Campaign", required=True),),
    ),
]


@pytest.fixture
def figures():
    """Only the test KPIs and reports are registered while the test runs; the registry is restored after."""
    saved_kpis, saved_reports = dict(registry._KPIS), dict(registry._REPORTS)
    registry._KPIS.clear()
    registry._REPORTS.clear()
    for kpi in TEST_KPIS:
        registry.register_kpi(kpi)
    for report in TEST_REPORTS:
        registry.register_report(report)
    yield
    registry._KPIS.clear()
    registry._KPIS.update(saved_kpis)
    registry._REPORTS.clear()
    registry._REPORTS.update(saved_reports)


@pytest.fixture(autouse=True)
def fresh_figures(settings):
    """The dashboard computes every figure afresh (its cache is tested on its own in test_dashboard.py)."""
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def visit(dealership, day, amount="550.00", visit_type="maintenance", vehicle=None):
    vehicle = vehicle or VehicleFactory(owner=CustomerFactory(dealership=dealership))
    return ServiceVisitFactory(
        vehicle=vehicle, opened_on=day, closed_on=day, total_amount=Decimal(amount), visit_type=visit_type
    )


def appointment(dealership, day, status):
    customer = CustomerFactory(dealership=dealership)
    return Appointment.objects.create(dealership=dealership, customer=customer, date=day, status=status)


@pytest.fixture
def data(dealership, other_dealership, clock):
    """This period (15 Feb – 16 Mar 2026): 3 visits (¥550 maintenance on 1 Mar, ¥1,000 repair and ¥550
    maintenance on 10 Mar); 4 appointments, 3 arrived, 1 no-show; 2 surveys answered (NPS 9 and 10).
    Previous period (16 Jan – 14 Feb): 2 visits of ¥550; 1 appointment, arrived. Last year (15 Feb – 16 Mar
    2025): 1 visit of ¥550. The other store: 5 visits of ¥9,999 in this period (never counted here)."""
    d = dt.date
    visits = [
        visit(dealership, d(2026, 3, 1)),
        visit(dealership, d(2026, 3, 10), "1000.00", "repair"),
        visit(dealership, d(2026, 3, 10)),
        visit(dealership, d(2026, 1, 20)),
        visit(dealership, d(2026, 2, 14)),
        visit(dealership, d(2025, 3, 1)),
    ]
    for _n in range(5):
        visit(other_dealership, d(2026, 3, 5), "9999.00")
    for status in ("arrived", "arrived", "arrived", "no_show"):
        appointment(dealership, d(2026, 3, 2), status)
    appointment(dealership, d(2026, 2, 1), "arrived")
    for score in (9, 10):
        customer = CustomerFactory(dealership=dealership)
        Survey.objects.create(
            dealership=dealership,
            customer=customer,
            nonce=f"n{score}",
            sent_at=timezone.now() - dt.timedelta(days=3),
            expires_at=timezone.now() + dt.timedelta(days=10),
            answered_at=timezone.now() - dt.timedelta(days=2),
            satisfaction=5,
            nps=score,
        )
    return {"visits": visits}


def url(name, *args, **query):
    from django.utils.http import urlencode

    base = reverse(f"reports:{name}", args=args)
    return f"{base}?{urlencode(query)}" if query else base


# --- the list of reports ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["as_manager", "cc_manager", "admin_user"])
def test_managers_open_every_page(role, request, figures, data, client_for):
    user = request.getfixturevalue(role)
    client = client_for(user)
    for address in (url("index"), url("dashboard"), url("report", "test-visits"), url("report", "test-own")):
        assert client.get(address).status_code == 200, address
    response = client.get(url("drill", "workshop.entries"))
    assert response.status_code == 200


def test_advisor_is_refused_every_page(advisor, figures, data, client_for):
    client = client_for(advisor)
    for address in (url("index"), url("dashboard"), url("report", "test-visits"), url("drill", "workshop.entries")):
        assert client.get(address).status_code == 403, address


def test_agent_reads_own_reports_only(agent, cc_manager, dealership, figures, data, client_for):
    """The agent has 2 invitations of the campaign's 3 (the third is another agent's): the report shows 2;
    the manager sees 3. The dashboard and a whole-store report are refused to the agent."""
    campaign = Campaign.objects.create(
        dealership=dealership,
        code="C1",
        name="保养",
        kind="maintenance",
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
    )
    group = TargetGroup.objects.create(campaign=campaign, name="盈利忠诚")
    for agent_ in (agent, agent, cc_manager):
        Invitation.objects.create(
            campaign=campaign,
            target_group=group,
            customer=CustomerFactory(dealership=dealership),
            agent=agent_,
            created_at=timezone.now(),
        )
    client = client_for(agent)
    assert client.get(url("dashboard")).status_code == 403
    assert client.get(url("report", "test-visits")).status_code == 403
    response = client.get(url("report", "test-own"))
    assert response.status_code == 200
    assert response.context["tables"][0]["rows"][0][0]["text"] == "2"
    assert b"own-figures" in response.content
    # the index lists only what the agent may open
    index = client.get(url("index"))
    assert [r["report"].slug for s in index.context["sections"] for r in s["reports"]] == ["test-own"]
    manager = client_for(cc_manager).get(url("report", "test-own"))
    assert manager.context["tables"][0]["rows"][0][0]["text"] == "3"


def test_another_dealership_is_404(outsider, as_manager, figures, data, client_for, dealership):
    client = client_for(as_manager)
    for name, args in (
        ("index", ()),
        ("dashboard", ()),
        ("report", ("test-visits",)),
        ("drill", ("workshop.entries",)),
    ):
        assert client.get(url(name, *args, dealership="GZ02")).status_code == 404, name
    # and the outsider does not see this store's figures either
    assert client_for(outsider).get(url("dashboard", dealership="SZ01")).status_code == 404


def test_unknown_report_and_figure_are_404(as_manager, figures, client_for, clock):
    client = client_for(as_manager)
    assert client.get(url("report", "no-such-report")).status_code == 404
    assert client.get(url("drill", "no.such")).status_code == 404
    # a KPI without rows has no drill-down
    assert client.get(url("drill", "quality.bounce_rate")).status_code == 404


@pytest.mark.parametrize(
    "query, words",
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "before it starts"),
        ({"start": "2024-01-01", "end": "2026-03-01"}, "at most 457 days"),
        ({"start": "1 March"}, "is not a date"),
        ({"period": "fortnight"}, "Unknown period"),
    ],
)
def test_bad_period_is_400_with_its_reason(query, words, as_manager, figures, client_for, clock):
    client = client_for(as_manager)
    for name, args in (
        ("index", ()),
        ("dashboard", ()),
        ("report", ("test-visits",)),
        ("drill", ("workshop.entries",)),
    ):
        response = client.get(url(name, *args, **query))
        assert response.status_code == 400, name
        assert words in response.content.decode(), name


def test_group_view_only_for_a_manager_of_several_stores(
    as_manager, dealership, other_dealership, figures, data, client_for
):
    # one store: refused, never quietly narrowed
    assert client_for(as_manager).get(url("dashboard", stores="all")).status_code == 403
    group = UserFactory(username="groupmgr", role="as_manager", dealerships=[dealership, other_dealership])
    response = client_for(group).get(url("dashboard", stores="all"))
    assert response.status_code == 200
    table = response.context["stores_table"]
    assert [s.code for s in table["stores"]] == ["GZ02", "SZ01"]
    entries = next(r for r in table["rows"] if r["label"] == "Workshop entries")
    # the group: 3 + 5 = 8 visits; GZ02 5, SZ01 3
    assert entries["group"] == "8"
    assert [c["text"] for c in entries["cells"]] == ["5", "3"]
    assert "dealership=SZ01" in entries["cells"][1]["url"]


# --- a report --------------------------------------------------------------------------------------------


def test_report_shows_tables_totals_notes_links_and_chart(as_manager, figures, data, client_for):
    response = client_for(as_manager).get(url("report", "test-visits"))
    table = response.context["tables"][0]
    # maintenance 2 visits ¥1,100; repair 1 visit ¥1,000; totals 3 and ¥2,100
    assert [[c["text"] for c in row] for row in table["rows"]] == [
        ["maintenance", "2", "¥1,100.00"],
        ["repair", "1", "¥1,000.00"],
    ]
    assert [c["text"] for c in table["totals"]] == ["", "3", "¥2,100.00"]
    assert table["rows"][0][1]["num"] and not table["rows"][0][0]["num"]
    assert "visit_type=maintenance" in table["rows"][0][1]["url"]
    html = response.content.decode()
    assert "Test note: visits opened in the period." in html
    assert 'data-report-chart="by_type"' in html
    chart = response.context["chart_data"]["by_type"]
    assert chart["x"] == ["maintenance", "repair"] and chart["series"][0]["data"] == [2.0, 1.0]
    assert 'id="report-chart-data"' in html and "<script>" not in html.replace("<script src", "")


def test_campaign_parameter_is_looked_up_in_the_scope(
    as_manager, dealership, other_dealership, figures, client_for, clock
):
    mine = Campaign.objects.create(
        dealership=dealership,
        code="MINE",
        name="本店",
        kind="maintenance",
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
    )
    theirs = Campaign.objects.create(
        dealership=other_dealership,
        code="THEIRS",
        name="他店",
        kind="maintenance",
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
    )
    client = client_for(as_manager)
    # none named: the latest of the store
    response = client.get(url("report", "test-campaign"))
    assert response.context["tables"][0]["rows"][0][0]["text"] == "MINE"
    assert [c["id"] for c in response.context["param_choices"]["campaign"]] == [mine.pk]
    assert client.get(url("report", "test-campaign", campaign=mine.pk)).status_code == 200
    assert client.get(url("report", "test-campaign", campaign=theirs.pk)).status_code == 404
    assert client.get(url("report", "test-campaign", campaign="x")).status_code == 404


def test_report_page_queries_are_bounded(as_manager, figures, data, client_for, django_assert_max_num_queries):
    client = client_for(as_manager)
    client.get(url("report", "test-visits"))
    with django_assert_max_num_queries(8):
        assert client.get(url("report", "test-visits")).status_code == 200
