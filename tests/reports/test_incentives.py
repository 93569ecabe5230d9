"""Staff incentives: the tier tables (defaults, editing through the API and the page, validation, all or
nothing, audited), the tier reached at each boundary worked out by hand, the arrival-rate figure and the report
(an agent sees only their own row)."""

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign, Invitation, TargetGroup
from dealercrm.core.roles import Role
from reports import incentives
from reports.incentives import DEFAULT_TIERS, Tier, tier_reached
from reports.models import IncentiveTier
from reports.periods import Period
from reports.registry import display, kpi, report
from reports.scope import Scope
from segmentation.models import C3Group
from tests.factories import CustomerFactory, ServiceVisitFactory, UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db

SZ = ZoneInfo("Asia/Shanghai")
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SZ)
PL, LC = C3Group.PROFITABLE_LOYAL, C3Group.LOW_COST
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- the tier reached, at each boundary ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "invited", "arrived", "bar", "total"),
    [
        # profitable-loyal: below 11 % → −¥200 once; from 11 % → ¥6 per arrived; from 18 % → ¥10 per arrived
        (PL, 100, 0, "0", Decimal("-200")),  # 0 % : the fine, once
        (PL, 100, 10, "0", Decimal("-200")),  # 10 % : still below 11 %: −200 (not −200 × 10)
        (PL, 100, 11, "0.11", Decimal("66")),  # exactly 11 %: 11 × 6
        (PL, 9, 1, "0.11", Decimal("6")),  # 11.11 %: 1 × 6
        (PL, 100, 17, "0.11", Decimal("102")),  # 17 %: 17 × 6
        (PL, 50, 9, "0.18", Decimal("90")),  # exactly 18 %: 9 × 10
        (PL, 100, 100, "0.18", Decimal("1000")),  # 100 %: 100 × 10
        # low-cost: below 7 % → −¥200 once; from 7 % → ¥10; from 12 % → ¥15
        (LC, 100, 6, "0", Decimal("-200")),
        (LC, 100, 7, "0.07", Decimal("70")),  # exactly 7 %: 7 × 10
        (LC, 25, 2, "0.07", Decimal("20")),  # 8 %: 2 × 10
        (LC, 100, 11, "0.07", Decimal("110")),
        (LC, 25, 3, "0.12", Decimal("45")),  # exactly 12 %: 3 × 15
    ],
)
def test_the_default_tiers_at_their_boundaries(group, invited, arrived, bar, total):
    tier = tier_reached(DEFAULT_TIERS[group], arrived, invited)
    assert tier.min_rate == Decimal(bar)
    assert tier.pays(arrived) == total


def test_no_invitation_reaches_no_tier():
    assert tier_reached(DEFAULT_TIERS[PL], 0, 0) is None
    assert tier_reached([], 3, 10) is None


def test_rates_are_compared_exactly_not_rounded():
    # 0.1099999 would round to 11 %: 10999999 of 100000000 is below the bar
    assert tier_reached(DEFAULT_TIERS[PL], 10_999_999, 100_000_000).min_rate == 0
    assert tier_reached(DEFAULT_TIERS[PL], 11_000_000, 100_000_000).min_rate == Decimal("0.11")


# --- validation ---------------------------------------------------------------------------------------------


def test_a_table_is_replaced_all_or_nothing_and_audited(dealership, as_manager):
    incentives.incentive_tiers_replace(
        dealership=dealership,
        c3_group=PL,
        tiers=[
            {"min_rate": "0", "amount": "-100", "per_customer": False},
            {"min_rate": "0.10", "amount": "5"},
        ],
        acting_user=as_manager,
    )
    tables = incentives.tier_tables(dealership=dealership)
    assert tables[PL]["custom"] is True
    assert tables[PL]["tiers"] == [Tier(Decimal("0"), Decimal("-100"), False), Tier(Decimal("0.1"), Decimal("5"))]
    assert tables[LC]["custom"] is False  # the other group keeps the defaults
    # the 10 % tier's amount changes (5 -> 8), the 0 % one becomes ¥0 per customer, a 20 % one comes
    incentives.incentive_tiers_replace(
        dealership=dealership,
        c3_group=PL,
        tiers=[
            {"min_rate": "0.10", "amount": "8"},
            {"min_rate": "0", "amount": "0"},
            {"min_rate": "0.2", "amount": "9"},
        ],
        acting_user=as_manager,
    )
    history = IncentiveTier.history.filter(dealership=dealership).order_by("history_id")
    assert {row.history_user_id for row in history} == {as_manager.pk}
    assert [row.history_type for row in history] == ["+", "+", "~", "~", "+"]
    changed = history.filter(history_type="~", min_rate=Decimal("0.1")).get()
    assert changed.amount == Decimal("8")
    created = history.filter(history_type="+", id=changed.id).get()  # old -> new: 5 -> 8
    assert created.amount == Decimal("5")


@pytest.mark.parametrize(
    ("tiers", "field", "words"),
    [
        ([{"min_rate": "0", "amount": "1"}, {"min_rate": "1.2", "amount": "1"}], "tiers.1.min_rate", "between 0 %"),
        ([{"min_rate": "-0.01", "amount": "1"}], "tiers.0.min_rate", "between 0 %"),
        ([{"min_rate": "0", "amount": "1"}, {"min_rate": "0", "amount": "2"}], "tiers.1.min_rate", "same rate"),
        ([{"min_rate": "0.05", "amount": "1"}], "tiers", "0 %"),
        ([{"min_rate": "0", "amount": "abc"}], "tiers.0.amount", "not a number"),
        ([{"min_rate": "0", "amount": "1.234"}], "tiers.0.amount", "two decimals"),
        ([{"min_rate": "x", "amount": "1"}], "tiers.0.min_rate", "not a number"),
        ([], "tiers", "at least one"),
    ],
)
def test_bad_tiers_are_refused_naming_what_is_wrong(dealership, as_manager, tiers, field, words):
    from dealercrm.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        incentives.incentive_tiers_replace(dealership=dealership, c3_group=PL, tiers=tiers, acting_user=as_manager)
    assert field in refused.value.fields
    assert any(words in str(text) for text in refused.value.fields[field])
    assert not IncentiveTier.objects.exists()


# --- the API ------------------------------------------------------------------------------------------------

GOOD = {
    "tiers": [
        {"min_rate": "0", "amount": "-150.00", "per_customer": False},
        {"min_rate": 0.1, "amount": 7, "per_customer": True},
    ]
}


def tiers_url(group=None):
    if group is None:
        return reverse("api-reports-incentive-tiers")
    return reverse("api-reports-incentive-tier", kwargs={"group": group})


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (Role.ADVISOR, 403, 403),
        (Role.AGENT, 403, 403),
        (Role.CC_MANAGER, 200, 403),
        (Role.AS_MANAGER, 200, 200),
        (Role.ADMIN, 200, 200),
    ],
)
def test_the_api_by_role(api_client_for, users, role, read, write):
    api = api_client_for(users[role])
    assert api.get(tiers_url()).status_code == read
    assert api.get(tiers_url(PL)).status_code == read
    assert api.put(tiers_url(PL), GOOD, format="json").status_code == write
    assert api.delete(tiers_url(PL)).status_code == write


def test_the_api_lists_and_replaces(api_client_for, as_manager):
    api = api_client_for(as_manager)
    listed = {row["c3_group"]: row for row in api.get(tiers_url()).json()}
    assert set(listed) == set(C3Group.values)
    assert listed[PL]["custom"] is False
    assert [(t["min_rate"], t["amount"], t["per_customer"]) for t in listed[PL]["tiers"]] == [
        ("0.0000", "-200.00", False),
        ("0.1100", "6.00", True),
        ("0.1800", "10.00", True),
    ]
    assert listed[C3Group.MINING]["tiers"] == []
    answer = api.put(tiers_url(PL), GOOD, format="json")
    assert answer.status_code == 200
    assert answer.json()["custom"] is True
    assert [(t["min_rate"], t["amount"]) for t in answer.json()["tiers"]] == [
        ("0.0000", "-150.00"),
        ("0.1000", "7.00"),
    ]
    back = api.delete(tiers_url(PL)).json()
    assert back["custom"] is False and len(back["tiers"]) == 3


def test_bad_tiers_answer_400_in_the_error_contract(api_client_for, as_manager):
    api = api_client_for(as_manager)
    answer = api.put(
        tiers_url(LC),
        {"tiers": [{"min_rate": "0", "amount": "1"}, {"min_rate": "1.5", "amount": "x"}]},
        format="json",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "tiers_invalid"
    assert set(body["fields"]) == {"tiers.1.min_rate", "tiers.1.amount"}
    assert not IncentiveTier.objects.exists()  # nothing saved
    assert api.put(tiers_url(LC), {"tiers": "no"}, format="json").status_code == 400


def test_another_dealership_or_an_unknown_group_is_404(api_client_for, outsider, as_manager, dealership):
    # the outsider asks for the store they do not belong to
    answer = api_client_for(outsider).get(tiers_url(PL), {"dealership": dealership.code})
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert api_client_for(as_manager).get(tiers_url("gold_plated")).status_code == 404
    assert api_client_for(as_manager).put(tiers_url("gold_plated"), GOOD, format="json").status_code == 404


def test_each_store_edits_its_own_table(api_client_for, as_manager, outsider, dealership, other_dealership):
    api_client_for(outsider).put(tiers_url(PL), GOOD, format="json")
    assert IncentiveTier.objects.filter(dealership=other_dealership).count() == 2
    assert incentives.tier_tables(dealership=dealership)[PL]["custom"] is False


# --- the pages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "listing", "editing"),
    [
        (Role.ADVISOR, 403, 403),
        (Role.AGENT, 403, 403),
        (Role.CC_MANAGER, 200, 403),
        (Role.AS_MANAGER, 200, 200),
        (Role.ADMIN, 200, 200),
    ],
)
def test_the_pages_by_role(client_for, users, role, listing, editing):
    client = client_for(users[role])
    assert client.get(reverse("reports:incentive-tiers")).status_code == listing
    assert client.get(reverse("reports:incentive-tier-edit", args=[PL])).status_code == editing


def test_the_pages_of_another_dealership_are_404(client_for, outsider, dealership):
    client = client_for(outsider)
    assert client.get(reverse("reports:incentive-tiers"), {"dealership": dealership.code}).status_code == 404
    assert client_for(outsider).get(reverse("reports:incentive-tier-edit", args=["nonsense"])).status_code == 404


def formset(rows):
    data = {"tiers-TOTAL_FORMS": str(len(rows)), "tiers-INITIAL_FORMS": "0"}
    for i, (rate, amount, per_customer) in enumerate(rows):
        data[f"tiers-{i}-min_rate"] = rate
        data[f"tiers-{i}-amount"] = amount
        if per_customer:
            data[f"tiers-{i}-per_customer"] = "on"
    return data


def test_the_formset_saves_percent_as_fractions(client_for, as_manager, dealership):
    client = client_for(as_manager)
    page = client.get(reverse("reports:incentive-tier-edit", args=[LC]))
    assert page.context["formset"].initial[1]["min_rate"] == Decimal("7.00")  # the defaults, in percent
    answer = client.post(
        reverse("reports:incentive-tier-edit", args=[LC]),
        formset([("0", "-200", False), ("7.5", "10", True), ("12", "15", True), ("", "", True)]),
    )
    assert answer.status_code == 302
    saved = incentives.tier_tables(dealership=dealership)[LC]["tiers"]
    assert [(t.min_rate, t.amount, t.per_customer) for t in saved] == [
        (Decimal("0"), Decimal("-200"), False),
        (Decimal("0.075"), Decimal("10"), True),
        (Decimal("0.12"), Decimal("15"), True),
    ]
    listing = client.get(reverse("reports:incentive-tiers")).content.decode()
    assert "7.5%" in listing


def test_the_formset_refuses_a_table_without_a_zero_tier(client_for, as_manager):
    client = client_for(as_manager)
    answer = client.post(
        reverse("reports:incentive-tier-edit", args=[PL]), formset([("5", "1", True), ("5", "2", True)])
    )
    assert answer.status_code == 200
    assert answer.context["formset"].forms[1].errors["min_rate"]  # the same rate as tier 1
    assert not IncentiveTier.objects.exists()
    answer = client.post(reverse("reports:incentive-tier-edit", args=[PL]), formset([("120", "1", True)]))
    assert answer.status_code == 200 and answer.context["formset"].forms[0].errors["min_rate"]


def test_reset_to_the_defaults(client_for, as_manager, dealership):
    incentives.incentive_tiers_replace(
        dealership=dealership, c3_group=PL, tiers=[{"min_rate": "0", "amount": "1"}], acting_user=as_manager
    )
    answer = client_for(as_manager).post(reverse("reports:incentive-tier-reset", args=[PL]))
    assert answer.status_code == 302
    assert not IncentiveTier.objects.exists()


# --- the figure and the report ------------------------------------------------------------------------------


def customer_with_visit(store, day):
    customer = CustomerFactory(dealership=store)
    if day is not None:
        vehicle = VehicleFactory(owner=customer, dealership=store)
        ServiceVisitFactory(vehicle=vehicle, opened_on=day, closed_on=day)
    return customer


def campaign(store, starts, ends, status=Campaign.Status.FINISHED):
    return Campaign.objects.create(
        dealership=store,
        code=f"C{next(_serial):04d}",
        name=f"活动{next(_serial)}",
        kind="maintenance",
        starts_on=starts,
        ends_on=ends,
        status=status,
    )


def group_of(camp, name, c3):
    return TargetGroup.objects.create(campaign=camp, name=name, filters={"c3_group": c3})


def invite(camp, group, agent, visit_day=None, *, holdout=False):
    return Invitation.objects.create(
        campaign=camp,
        target_group=group,
        customer=customer_with_visit(camp.dealership, visit_day),
        agent=agent,
        holdout=holdout,
        created_at=NOW,
    )


@pytest.fixture
def agent2(dealership):
    return UserFactory(username="agent2", display_name="李四", role=Role.AGENT, dealerships=[dealership])


@pytest.fixture
def lists(dealership, other_dealership, agent, agent2):
    """The campaign of 1–20 November (last day in November) and others that must not count.

    agent:  profitable-loyal 9 invited, 1 came (on the last day, 20 Nov) -> 11.1 % -> ¥6 × 1 = ¥6
            low-cost 10 invited, none came (one came on 21 Nov, after the campaign) -> 0 % -> −¥200 once
    agent2: profitable-loyal 5 invited, 1 came -> 20 % -> ¥10 × 1 = ¥10 (a holdout who came is nobody's)
            the mixed group 2 invited, 1 came -> no table, no amount
    """
    camp = campaign(dealership, dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    pl, lc = group_of(camp, "盈利忠诚", [PL]), group_of(camp, "低成本", [LC])
    mixed = group_of(camp, "混合", [PL, LC])
    arrived = {"pl": invite(camp, pl, agent, dt.date(2026, 11, 20))}
    for _ in range(8):
        invite(camp, pl, agent)
    invite(camp, lc, agent, dt.date(2026, 11, 21))
    for i in range(9):  # the first came on 31 October, before the campaign
        invite(camp, lc, agent, dt.date(2026, 10, 31) if i == 0 else None)
    arrived["agent2_pl"] = invite(camp, pl, agent2, dt.date(2026, 11, 5))
    for _ in range(4):
        invite(camp, pl, agent2)
    invite(camp, pl, agent2, dt.date(2026, 11, 6), holdout=True)
    arrived["mixed"] = invite(camp, mixed, agent2, dt.date(2026, 11, 7))
    invite(camp, mixed, agent2)
    # a campaign ending on 3 December (paid in December), a draft, another store's: never counted in November
    later = campaign(dealership, dt.date(2026, 11, 15), dt.date(2026, 12, 3))
    invite(later, group_of(later, "盈利忠诚", [PL]), agent, dt.date(2026, 11, 16))
    draft = campaign(dealership, dt.date(2026, 11, 1), dt.date(2026, 11, 10), status=Campaign.Status.DRAFT)
    invite(draft, group_of(draft, "盈利忠诚", [PL]), agent, dt.date(2026, 11, 2))
    theirs = campaign(other_dealership, dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    stranger = UserFactory(username="their_agent", role=Role.AGENT, dealerships=[other_dealership])
    invite(theirs, group_of(theirs, "盈利忠诚", [PL]), stranger, dt.date(2026, 11, 3))
    return arrived


def test_the_arrival_rate(dealership, agent, lists):
    # the store: invited 9 + 10 + 5 + 2 = 26, came 1 + 0 + 1 + 1 = 3
    result = kpi("incentives.arrival_rate").compute(Scope.of(dealership), NOVEMBER)
    assert (result.numerator, result.denominator) == (3, 26)
    rows = kpi("incentives.arrival_rate").rows(Scope.of(dealership), NOVEMBER, {})
    assert set(rows) == set(lists.values())
    # the agent's own: 1 of 19
    mine = kpi("incentives.arrival_rate").compute(Scope.of(dealership, user=agent, agent_id=agent.pk), NOVEMBER)
    assert (mine.numerator, mine.denominator) == (1, 19)
    # an empty period: "—"
    empty = kpi("incentives.arrival_rate").compute(
        Scope.of(dealership), Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    )
    assert display(empty.value, "rate") == "—"
    with CaptureQueriesContext(connection) as queries:
        kpi("incentives.arrival_rate").figures(Scope.of(dealership), [NOVEMBER, NOVEMBER.previous()])
    assert len(queries) == 1


def test_the_drill_down_narrows_to_an_agent_and_a_group(dealership, agent2, lists):
    rows = kpi("incentives.arrival_rate").rows(Scope.of(dealership), NOVEMBER, {"agent": str(agent2.pk), "group": PL})
    assert list(rows) == [lists["agent2_pl"]]


def test_the_incentives_report(dealership, agent, agent2, lists):
    with CaptureQueriesContext(connection) as queries:
        (table,) = report("incentives").build(Scope.of(dealership), NOVEMBER, {})
    assert len(queries) == 4  # the counts, their target groups' filters, their agents' names, the store's tables
    assert len(table.rows) == 4
    rows = {(r["agent"] == agent2.display_name, r["invited"]): r for r in table.rows}
    pl_a = rows[(False, 9)]
    assert (pl_a["arrived"], pl_a["amount"], pl_a["total"]) == (1, Decimal("6"), Decimal("6"))
    assert pl_a["rate"] == Decimal(1) / Decimal(9)
    lc_a = rows[(False, 10)]
    assert (lc_a["arrived"], lc_a["amount"], lc_a["total"]) == (0, Decimal("-200"), Decimal("-200"))
    pl_b = rows[(True, 5)]
    assert (pl_b["arrived"], pl_b["total"]) == (1, Decimal("10"))
    mixed = rows[(True, 2)]
    assert (mixed["arrived"], mixed["tier"], mixed["total"]) == (1, "", None)
    # 6 − 200 + 10 = −184
    assert table.totals["total"] == Decimal("-184")
    assert (table.totals["invited"], table.totals["arrived"]) == (26, 3)


def test_the_store_own_table_pays(dealership, agent, as_manager, lists):
    # the store's profitable-loyal table: below 10 % −¥100 once, from 10 % ¥5 per customer: the agent's 11.1 %
    # now reaches 10 % -> ¥5
    incentives.incentive_tiers_replace(
        dealership=dealership,
        c3_group=PL,
        tiers=[{"min_rate": "0", "amount": "-100", "per_customer": False}, {"min_rate": "0.1", "amount": "5"}],
        acting_user=as_manager,
    )
    (table,) = report("incentives").build(Scope.of(dealership, user=agent, agent_id=agent.pk), NOVEMBER, {})
    rows = {r["invited"]: r for r in table.rows}
    assert rows[9]["total"] == Decimal("5")


def test_an_agent_sees_only_their_own_rows(dealership, agent, agent2, lists):
    (table,) = report("incentives").build(Scope.of(dealership, user=agent, agent_id=agent.pk), NOVEMBER, {})
    assert {row["agent"] for row in table.rows} == {agent.display_name}
    assert (table.totals["invited"], table.totals["arrived"]) == (19, 1)


def test_an_agent_reads_only_their_own_row_on_the_page(client_for, agent, agent2, lists):
    page = client_for(agent).get(reverse("reports:report", args=["incentives"]), NOVEMBER.as_params())
    assert page.status_code == 200
    text = page.content.decode()
    assert agent.display_name in text
    assert agent2.display_name not in text


def test_another_stores_campaign_is_404(dealership, other_dealership, lists):
    from django.http import Http404

    theirs = Campaign.objects.filter(dealership=other_dealership).get()
    with pytest.raises(Http404):
        report("incentives").build(Scope.of(dealership), NOVEMBER, {"campaign": str(theirs.pk)})


@pytest.mark.postgres
def test_the_benchmark_statement_agrees_with_the_report(dealership, lists):
    """bench/_baselines_followups.py's incentives SQL: the same invited, arrived and totals as the report."""
    from bench._baselines_followups import BASELINES

    with connection.cursor() as cursor:
        cursor.execute(
            BASELINES["incentives"], {"dealership": dealership.pk, "start": NOVEMBER.start, "end": NOVEMBER.end}
        )
        rows = cursor.fetchall()
    got = sorted((invited, arrived, total) for _agent, _name, _group, invited, arrived, _rate, total in rows)
    assert got == sorted([(9, 1, Decimal("6")), (10, 0, Decimal("-200")), (5, 1, Decimal("10")), (2, 1, None)])


def test_the_tier_pages_and_api_read_a_fixed_number_of_queries(client_for, api_client_for, as_manager, dealership):
    client, api = client_for(as_manager), api_client_for(as_manager)

    def counts():
        with CaptureQueriesContext(connection) as page:
            assert client.get(reverse("reports:incentive-tiers")).status_code == 200
        with CaptureQueriesContext(connection) as listing:
            assert api.get(tiers_url()).status_code == 200
        return len(page), len(listing)

    before = counts()
    for group in (PL, LC, C3Group.MINING):
        incentives.incentive_tiers_replace(
            dealership=dealership,
            c3_group=group,
            tiers=[
                {"min_rate": "0", "amount": "1"},
                {"min_rate": "0.05", "amount": "2"},
                {"min_rate": "0.5", "amount": "3"},
            ],
            acting_user=as_manager,
        )
    assert counts() == before  # the tiers are one query, however many


def test_a_rows_link_opens_that_agents_arrived_customers(client_for, as_manager, dealership, agent2, lists):
    for key, name in (("agent2_pl", "甲到店客户"), ("mixed", "乙混合客户"), ("pl", "丙他人客户")):
        customer = lists[key].customer
        customer.name = name
        customer.save(update_fields=["name"])
    (table,) = report("incentives").build(Scope.of(dealership), NOVEMBER, {})
    (row,) = [r for r in table.rows if r["agent"] == agent2.display_name and r["invited"] == 5]
    page = client_for(as_manager).get(row["_links"]["arrived"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "甲到店客户" in text
    assert "乙混合客户" not in text  # agent2's other group
    assert "丙他人客户" not in text  # the other agent's
