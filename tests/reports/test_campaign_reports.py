"""The campaign KPIs and reports on hand-built records with answers worked out by hand: which campaigns count,
the holdout left out, an empty period shown "—", the campaign looked up in the scope, an agent's own figures, the
progress report's split of attendance by the call, and the campaign list's outcome columns in a fixed number of
queries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import CallAttempt, Campaign, Invitation, TargetGroup
from customers.models import Appointment
from dealercrm.core.exceptions import ApplicationError
from reports.periods import Period
from reports.registry import DASH, display, kpi, report
from reports.scope import Scope
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 11, 1), date(2026, 11, 30)
NOVEMBER = Period(START, END)


def make_campaign(dealership, code, *, start=START, end=END, status=Campaign.Status.RUNNING, cost="0"):
    campaign = Campaign.objects.create(
        dealership=dealership,
        code=code,
        name=code,
        kind="maintenance",
        starts_on=start,
        ends_on=end,
        status=status,
        cost=Decimal(cost),
    )
    return campaign, TargetGroup.objects.create(campaign=campaign, name=f"{code} 组")


def invite(group, *, agent=None, came_on=None, booked=False, holdout=False, calls=()):
    """An invitee of ``group`` with a car; ``came_on``: a visit that day; ``booked``: an appointment from the call;
    ``calls``: (local datetime, outcome) of each call attempt."""
    customer = CustomerFactory(dealership=group.campaign.dealership)
    vehicle = VehicleFactory(owner=customer, model="GL8", purchase_date=date(2024, 6, 1))
    appointment = (
        Appointment.objects.create(dealership=customer.dealership, customer=customer, date=END, source="campaign")
        if booked
        else None
    )
    invitation = Invitation.objects.create(
        campaign=group.campaign,
        target_group=group,
        customer=customer,
        vehicle=vehicle,
        agent=agent,
        holdout=holdout,
        appointment=appointment,
        created_at=datetime(2026, 11, 1, 9, tzinfo=SHANGHAI),
    )
    for called_at, outcome in calls:
        CallAttempt.objects.create(invitation=invitation, agent=agent, outcome=outcome, called_at=called_at)
    if came_on:
        ServiceVisitFactory(vehicle=vehicle, opened_on=came_on, closed_on=came_on, total_amount=Decimal("800.00"))
    return invitation


# --- the KPIs -----------------------------------------------------------------------------------------------


@pytest.fixture
def november(dealership, agent, other_dealership):
    """NOV (running, cost ¥600): 4 invitees (3 the agent's) — 2 came, 3 booked — and a holdout who came.
    OCT (finished 10-01 … 11-02, cost ¥400): 2 invitees, 1 came (on 11-02), 1 booked.
    Not counted: a draft in November, a campaign of December, another dealership's November campaign."""
    _nov, group = make_campaign(dealership, "NOV", cost="600")
    invite(group, agent=agent, came_on=date(2026, 11, 5), booked=True)
    invite(group, agent=agent, came_on=date(2026, 11, 20), booked=True)
    invite(group, agent=agent, booked=True)
    invite(group)
    invite(group, holdout=True, came_on=date(2026, 11, 6))
    _oct, group = make_campaign(
        dealership, "OCT", start=date(2026, 10, 1), end=date(2026, 11, 2), status="finished", cost="400"
    )
    invite(group, came_on=date(2026, 11, 2), booked=True)
    invite(group, came_on=date(2026, 11, 3))  # after its campaign's last day: not attended
    for code, kwargs in (
        ("DRAFT", {"status": "draft"}),
        ("DEC", {"start": date(2026, 12, 1), "end": date(2026, 12, 31)}),
    ):
        _c, group = make_campaign(dealership, code, **kwargs)
        invite(group, came_on=date(2026, 11, 10), booked=True)
    _c, group = make_campaign(other_dealership, "NOV", cost="999")
    invite(group, came_on=date(2026, 11, 10), booked=True)


def test_the_kpis_pool_the_campaigns_that_ran_in_the_period(dealership, as_manager, november):
    scope = Scope.of(dealership, user=as_manager)
    # NOV: 4 invited, 2 came, 3 booked; OCT: 2 invited, 1 came, 1 booked → 3 ÷ 6 = 50 %, 4 ÷ 6 = 66.7 %
    with CaptureQueriesContext(connection) as queries:
        attendance = kpi("campaigns.attendance_rate").compute(scope, NOVEMBER)
    assert len(queries) == 1
    assert (attendance.numerator, attendance.denominator, display(attendance.value, "rate")) == (3, 6, "50.0%")
    signing = kpi("campaigns.sign_rate").compute(scope, NOVEMBER)
    assert (signing.numerator, signing.denominator, display(signing.value, "rate")) == (4, 6, "66.7%")
    # (600 + 400) ÷ 4 = 250
    cost = kpi("campaigns.cost_per_signing").compute(scope, NOVEMBER)
    assert (cost.value, cost.numerator, cost.denominator) == (Decimal("250.00"), Decimal("1000.00"), 4)
    # the drill-down lists the 6 invitations the rates divide by, with whether each came
    rows = kpi("campaigns.attendance_rate").rows(scope, NOVEMBER, {})
    assert sorted((row.campaign.code, row.attended) for row in rows) == [
        ("NOV", False), ("NOV", False), ("NOV", True), ("NOV", True), ("OCT", False), ("OCT", True),
    ]  # fmt: skip


def test_an_empty_period_is_no_figure_not_zero(dealership, as_manager, november):
    scope, june = Scope.of(dealership, user=as_manager), Period(date(2026, 6, 1), date(2026, 6, 30))
    for code in ("campaigns.attendance_rate", "campaigns.sign_rate", "campaigns.cost_per_signing"):
        figure = kpi(code).compute(scope, june)
        assert figure.value is None and display(figure.value, "rate") == DASH
    (table,) = report("campaign-analysis").build(scope, june, {})
    assert (table.rows, table.totals, table.empty_text) == ([], None, "No campaign ran in this period.")


def test_an_agent_reads_their_own_invitations_and_no_cost(dealership, agent, november):
    scope = Scope.of(dealership, user=agent, agent_id=agent.pk)
    # the agent's 3 NOV invitees: 2 came, 3 booked
    attendance = kpi("campaigns.attendance_rate").compute(scope, NOVEMBER)
    assert (attendance.numerator, attendance.denominator) == (2, 3)
    assert kpi("campaigns.cost_per_signing").compute(scope, NOVEMBER).value is None
    (table,) = report("campaign-analysis").build(scope, NOVEMBER, {})
    assert [(r["code"], r["invited"], r["attended"], r["booked"], r["cost"]) for r in table.rows] == [
        ("OCT", 0, 0, 0, None),
        ("NOV", 3, 2, 3, None),
    ]


# --- one campaign's reports ---------------------------------------------------------------------------------


def test_the_campaign_is_looked_up_in_the_scope(dealership, other_dealership, as_manager):
    theirs, _group = make_campaign(other_dealership, "THEIRS")
    scope = Scope.of(dealership, user=as_manager)
    for slug in ("campaign-groups", "campaign-progress"):
        with pytest.raises(Http404):
            report(slug).build(scope, NOVEMBER, {"campaign": str(theirs.pk)})
        with pytest.raises(Http404):
            report(slug).build(scope, NOVEMBER, {"campaign": "x1"})
        with pytest.raises(ApplicationError) as missing:
            report(slug).build(scope, NOVEMBER, {})
        assert missing.value.code == "campaign_required"
    # a group manager of both stores reads it
    group_scope = Scope.of(dealership, other_dealership, user=as_manager)
    assert report("campaign-groups").build(group_scope, NOVEMBER, {"campaign": str(theirs.pk)})


def _at(day, hour=10):
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def running(dealership, agent, cc_manager):
    """A running campaign, called by ``agent`` (4 invitees) and the call-centre manager (1):
    A: called 11-10 23:30 local (its day is the 10th), came 11-12 → after the call, booked;
    B: came 11-05, called 11-10 (reached, declined) → before the call;
    C: came 11-07, never called → came, not called;
    D: called twice 11-10 and 11-11 (no answer), not reached, did not come;
    E (the manager's): called 11-10 08:00, came the same day → after the call (the same day counts as after);
    a holdout who came is not in any figure."""
    campaign, group = make_campaign(dealership, "RUN")
    accepted, declined, no_answer = CallAttempt.Outcome.ACCEPTED, CallAttempt.Outcome.DECLINED, "no_answer"
    invite(group, agent=agent, came_on=date(2026, 11, 12), booked=True, calls=[(_at(10, 23), accepted)])
    invite(group, agent=agent, came_on=date(2026, 11, 5), calls=[(_at(10), declined)])
    invite(group, agent=agent, came_on=date(2026, 11, 7))
    invite(group, agent=agent, calls=[(_at(10), no_answer), (_at(11), no_answer)])
    invite(group, agent=cc_manager, came_on=date(2026, 11, 10), calls=[(_at(10, 8), declined)])
    invite(group, holdout=True, came_on=date(2026, 11, 8))
    return campaign


def test_progress_counts_success_against_the_called_and_reached_and_splits_attendance_by_the_call(
    dealership, as_manager, running
):
    scope = Scope.of(dealership, user=as_manager)
    with time_machine.travel(_at(15), tick=False):
        (table,) = report("campaign-progress").build(scope, NOVEMBER, {"campaign": str(running.pk)})
    (row,) = table.rows
    # invited 5, called 4 (A, B, D, E), reached 3 (A, B, E), booked 1: 1/5 = 20 %, 1/4 = 25 %, 1/3 = 33.3 %
    assert [row[k] for k in ("invited", "called", "reached", "booked")] == [5, 4, 3, 1]
    assert [display(row[k], "rate") for k in ("rate_invited", "rate_called", "rate_reached")] == [
        "20.0%",
        "25.0%",
        "33.3%",
    ]
    # came: A and E after the call, B before it, C without one
    assert [row[k] for k in ("attended", "before_call", "after_call", "not_called")] == [4, 1, 2, 1]
    assert table.totals["attended"] == 4
    assert any("In progress" in note for note in table.notes)

    # once it has ended and is finished, it is no longer "in progress"
    Campaign.objects.filter(pk=running.pk).update(status="finished")
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=SHANGHAI), tick=False):
        (table,) = report("campaign-progress").build(scope, NOVEMBER, {"campaign": str(running.pk)})
    assert not any("In progress" in note for note in table.notes)


def test_an_agent_reads_only_their_own_invitations_of_a_campaign(dealership, agent, running):
    scope = Scope.of(dealership, user=agent, agent_id=agent.pk)
    with time_machine.travel(_at(15), tick=False):
        (progress,) = report("campaign-progress").build(scope, NOVEMBER, {"campaign": str(running.pk)})
        tables = {t.key: t for t in report("campaign-groups").build(scope, NOVEMBER, {"campaign": str(running.pk)})}
    # without E (the manager's): invited 4, called 3, reached 2, came 3 (A after, B before, C not called)
    (row,) = progress.rows
    keys = ("invited", "called", "reached", "attended", "before_call", "after_call", "not_called")
    assert [row[k] for k in keys] == [4, 3, 2, 3, 1, 1, 1]
    (group,) = tables["groups"].rows
    assert (group["invited"], group["attended"], display(group["success_rate"], "rate")) == (4, 3, "75.0%")
    assert [r["agent"] for r in tables["agents"].rows] == [agent.display_name or agent.username]
    assert "non_target" not in tables  # the campaign's non-target participants are nobody's list


def test_the_groups_report_for_a_manager(dealership, as_manager, agent, cc_manager, running):
    ServiceVisitFactory(  # a non-target participant: not invited, the campaign's code on a visit of the period
        vehicle=VehicleFactory(owner=CustomerFactory(dealership=dealership)),
        opened_on=date(2026, 11, 9),
        closed_on=date(2026, 11, 9),
        campaign_code="RUN",
        total_amount=Decimal("1200.00"),
    )
    scope = Scope.of(dealership, user=as_manager)
    tables = {t.key: t for t in report("campaign-groups").build(scope, NOVEMBER, {"campaign": str(running.pk)})}
    (group,) = tables["groups"].rows
    # 5 invited, 4 came (each visit ¥800): ¥3,200, average ticket ¥800; 1 booked
    assert (group["invited"], group["attended"], group["revenue"], group["average_ticket"], group["booked"]) == (
        5,
        4,
        Decimal("3200.00"),
        Decimal("800.00"),
        1,
    )
    assert tables["non_target"].rows == [
        {"customers": 1, "revenue": Decimal("1200.00"), "average_ticket": Decimal("1200.00")}
    ]
    # every invitee drives a GL8 bought 2024-06-01: 2–3 years old on 2026-11-01
    (cell,) = tables["model_age"].rows
    assert (cell["model"], cell["invited_2-3"], display(cell["rate_2-3"], "rate")) == ("GL8", 5, "80.0%")
    agents = {r["agent"]: (r["invitations"], r["attended"], r["booked"]) for r in tables["agents"].rows}
    assert agents == {
        agent.display_name or agent.username: (4, 3, 1),
        cc_manager.display_name or cc_manager.username: (1, 1, 0),
    }
    assert tables["coupons"].rows == [] and tables["variants"].rows == []
    # the holdout (1, who came) against the called: 4 ÷ 5 = 80 % − 100 % = −20 points
    (holdout,) = tables["holdouts"].rows
    assert [holdout[k] for k in ("called_rate", "holdout_rate", "uplift")] == [
        Decimal("0.8000"),
        Decimal("1.0000"),
        Decimal("-0.2000"),
    ]


# --- the campaign list --------------------------------------------------------------------------------------


def test_the_campaign_list_shows_each_campaigns_outcome_in_a_fixed_number_of_queries(
    dealership, as_manager, client_for, november
):
    client = client_for(as_manager)
    url = reverse("campaigns:list")
    with CaptureQueriesContext(connection) as first:
        html = client.get(url).content.decode()
    # NOV: 4 invited, 2 came (50.0 %), 3 booked (75.0 %)
    nov = html[html.index('data-campaign="' + str(Campaign.objects.get(dealership=dealership, code="NOV").pk)) :]
    nov = nov[: nov.index("</tr>")]
    for col, value in (
        ("invited", "4"),
        ("attended", "2"),
        ("attendance-rate", "50.0%"),
        ("booked", "3"),
        ("sign-rate", "75.0%"),
    ):
        assert f'data-col="{col}">{value}<' in nov
    # a campaign nobody is invited to shows no rate, not 0 %
    empty, _group = make_campaign(dealership, "EMPTY")
    for i in range(3):
        _c, group = make_campaign(dealership, f"MORE{i}")
        invite(group, came_on=date(2026, 11, 3), booked=True)
    with CaptureQueriesContext(connection) as more:
        html = client.get(url).content.decode()
    row = html[html.index(f'data-campaign="{empty.pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-col="attendance-rate">—<' in row and 'data-col="sign-rate">—<' in row
    assert len(more) == len(first)
