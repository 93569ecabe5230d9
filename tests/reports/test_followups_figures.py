"""The follow-up and satisfaction figures on hand-built data, with the answers worked out by hand.

The period is November 2026 in Shenzhen (Asia/Shanghai); "now" is 5 December 2026. Every figure is one query
whatever the rows, its drill-down lists exactly the rows its numerator counts, another store's rows never count
(unless the scope is a group of both), and a period with nothing in it shows "—".
"""

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from followups.kinds import rule
from followups.models import Complaint, Survey, Touch
from reports.periods import Period
from reports.registry import display, kpi, report
from reports.scope import Scope
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.django_db

SZ = ZoneInfo("Asia/Shanghai")
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
EMPTY = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SZ)
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SZ)


def visit(store):
    customer = CustomerFactory(dealership=store)
    return ServiceVisitFactory(
        vehicle=VehicleFactory(owner=customer, dealership=store),
        opened_on=dt.date(2026, 10, 1),
        closed_on=dt.date(2026, 10, 1),
    )


def touch(store, kind, status, due_at, *, assignee=None):
    spec = rule(kind)
    v = visit(store)
    return Touch.objects.create(
        dealership=store,
        kind=kind,
        customer=v.customer,
        visit=v,
        due_at=due_at,
        touch_class=spec.touch_class,
        channel=spec.channel,
        priority=spec.priority,
        status=status,
        assignee=assignee,
        max_attempts=spec.max_attempts,
    )


def survey(store, sent_at, *, answered_at=None, satisfaction=None, nps=None):
    v = visit(store)
    return Survey.objects.create(
        dealership=store,
        customer=v.customer,
        visit=v,
        nonce=f"n{next(_serial):08d}",
        sent_at=sent_at,
        expires_at=sent_at + dt.timedelta(days=14),
        answered_at=answered_at,
        satisfaction=satisfaction,
        nps=nps,
    )


def complaint(store, opened_at, response_due_at, **times):
    v = visit(store)
    return Complaint.objects.create(
        dealership=store,
        customer=v.customer,
        visit=v,
        source=Complaint.Source.COUNTER,
        summary="等太久",
        opened_at=opened_at,
        response_due_at=response_due_at,
        resolution_due_at=response_due_at + dt.timedelta(days=7),
        **times,
    )


@pytest.fixture
def touches(dealership, other_dealership, agent):
    S, K = Touch.Status, Touch.Kind
    # day 7 (calls), due in November: 2 done (one at 23:30 on the 30th, the period's last minutes), failed,
    # still planned (overdue), expired -> due 5; cancelled (booked) and skipped (do-not-contact) not needed.
    # Completion: 2 / 5 = 40 %.
    made = {
        "done": touch(dealership, K.DAY_7, S.DONE, at(10), assignee=agent),
        "done_last_minutes": touch(dealership, K.DAY_7, S.DONE, at(30, 23, 30)),
        "failed": touch(dealership, K.DAY_7, S.FAILED, at(11), assignee=agent),
        "planned": touch(dealership, K.DAY_7, S.PLANNED, at(12)),
        "expired": touch(dealership, K.DAY_7, S.EXPIRED, at(13)),
        "cancelled": touch(dealership, K.DAY_7, S.CANCELLED, at(14)),
        "skipped": touch(dealership, K.DAY_7, S.SKIPPED, at(15)),
        # outside November by a minute each side (local time): never counted
        "october": touch(dealership, K.DAY_7, S.DONE, at(31, 23, 59, month=10)),
        "december": touch(dealership, K.DAY_7, S.DONE, at(1, 0, 0, month=12)),
        # another store's, done in November
        "other_store": touch(other_dealership, K.DAY_7, S.DONE, at(10)),
    }
    # day 15 (texts): sent, delivered | result unknown, being sent -> 2 / 4 = 50 %
    for status, day in ((S.SENT, 5), (S.DELIVERED, 6), (S.AMBIGUOUS, 7), (S.CLAIMED, 8)):
        touch(dealership, K.DAY_15, status, at(day))
    # satisfaction calls: done, expired -> 1 / 2 = 50 %
    touch(dealership, K.SATISFACTION, S.DONE, at(3))
    touch(dealership, K.SATISFACTION, S.EXPIRED, at(4))
    # day 30: none at all -> "—"
    return made


def figure(code, scope, period=NOVEMBER):
    return kpi(code).compute(scope, period)


def test_day7_completion_counts_done_of_the_needed_ones(dealership, touches):
    scope = Scope.of(dealership)
    result = figure("followups.day7_completion", scope)
    assert (result.numerator, result.denominator) == (2, 5)
    assert result.value == Decimal("0.4")
    with translation.override("en"):
        assert display(result.value, "rate") == "40.0%"


def test_day15_csi_and_day30(dealership, touches):
    scope = Scope.of(dealership)
    day15 = figure("followups.day15_completion", scope)
    assert (day15.numerator, day15.denominator, day15.value) == (2, 4, Decimal("0.5"))
    csi = figure("followups.csi_completion", scope)
    assert (csi.numerator, csi.denominator, csi.value) == (1, 2, Decimal("0.5"))
    day30 = figure("followups.day30_completion", scope)
    assert day30.empty and display(day30.value, "rate") == "—"


def test_an_empty_period_shows_a_dash_never_zero(dealership, touches):
    scope = Scope.of(dealership)
    for code in (
        "followups.day7_completion",
        "surveys.response_rate",
        "surveys.satisfaction",
        "surveys.nps",
        "complaints.on_time_share",
    ):
        assert figure(code, scope, EMPTY).empty, code
        assert display(figure(code, scope, EMPTY).value, "rate") == "—"
    # a count of complaints over an empty period is a real zero
    assert figure("complaints.count", scope, EMPTY).value == 0


def test_the_drill_down_lists_the_numerators_rows(dealership, touches):
    scope = Scope.of(dealership)
    rows = kpi("followups.day7_completion").rows(scope, NOVEMBER, {})
    assert set(rows) == {touches["done"], touches["done_last_minutes"]}


def test_a_group_of_stores_sums_and_another_store_alone_is_its_own(dealership, other_dealership, touches):
    # the group: 2 + 1 done of 5 + 1 due -> 3 / 6
    both = figure("followups.day7_completion", Scope.of(dealership, other_dealership))
    assert (both.numerator, both.denominator) == (3, 6)
    other = figure("followups.day7_completion", Scope.of(other_dealership))
    assert (other.numerator, other.denominator) == (1, 1)


def test_an_agent_reads_the_touches_assigned_to_them(dealership, agent, touches):
    # the agent's day-7 calls: done, failed -> 1 / 2; surveys are nobody's own: no figure
    scope = Scope.of(dealership, user=agent, agent_id=agent.pk)
    mine = figure("followups.day7_completion", scope)
    assert (mine.numerator, mine.denominator) == (1, 2)
    assert set(kpi("followups.day7_completion").rows(scope, NOVEMBER, {})) == {touches["done"]}
    assert figure("surveys.nps", scope).empty


def test_previous_period_and_last_year_in_one_query(dealership, touches):
    scope = Scope.of(dealership)
    periods = [NOVEMBER, NOVEMBER.previous(), NOVEMBER.last_year()]
    with CaptureQueriesContext(connection) as queries:
        current, previous, last_year = kpi("followups.day7_completion").figures(scope, periods)
    assert len(queries) == 1
    assert current.value == Decimal("0.4")
    # the previous 30 days (2 – 31 October) hold the 31 October touch: 1 / 1
    assert (previous.numerator, previous.denominator) == (1, 1)
    assert last_year.empty


# --- surveys ---------------------------------------------------------------------------------------------


@pytest.fixture
def surveys(dealership, other_dealership):
    # sent in November: five, four of them answered in November
    #   satisfaction 5 4 2 3, NPS 10 9 3 9; the fifth never answered
    survey(dealership, at(1), answered_at=at(2), satisfaction=5, nps=10)
    survey(dealership, at(3), answered_at=at(3, 18), satisfaction=4, nps=9)
    survey(dealership, at(5), answered_at=at(6), satisfaction=2, nps=3)
    survey(dealership, at(7), answered_at=at(8), satisfaction=3, nps=9)
    survey(dealership, at(9))
    # sent on 31 October, answered on 1 November: an answer of November (satisfaction 1, NPS 0), not a survey
    # sent in November
    survey(dealership, at(31, 12, month=10), answered_at=at(1, 9), satisfaction=1, nps=0)
    # another store's answer
    survey(other_dealership, at(2), answered_at=at(3), satisfaction=1, nps=0)


def test_survey_response_rate(dealership, surveys):
    # 4 answered of the 5 sent in November
    result = figure("surveys.response_rate", Scope.of(dealership))
    assert (result.numerator, result.denominator, result.value) == (4, 5, Decimal("0.8"))
    assert kpi("surveys.response_rate").rows(Scope.of(dealership), NOVEMBER, {}).count() == 4


def test_satisfaction_and_nps_flagged_below_30_answers(dealership, surveys):
    scope = Scope.of(dealership)
    # answers of November: 5 + 4 + 2 + 3 + 1 = 15 over 5 -> 3.00
    satisfaction = figure("surveys.satisfaction", scope)
    assert satisfaction.value == Decimal("3")
    assert satisfaction.flag
    # NPS of 10 9 3 9 0: promoters 3 (10, 9, 9), detractors 2 (3, 0) -> (3 − 2) / 5 × 100 = 20 points
    nps = figure("surveys.nps", scope)
    assert (nps.numerator, nps.denominator, nps.value) == (1, 5, Decimal("20"))
    assert nps.flag


def test_thirty_answers_are_not_flagged(dealership):
    # 30 answers: 15 promoters (10), 15 detractors (6 — the top of the detractors) -> 0 points, no flag
    for i in range(30):
        survey(dealership, at(1), answered_at=at(2), satisfaction=4, nps=10 if i < 15 else 6)
    nps = figure("surveys.nps", Scope.of(dealership))
    assert (nps.value, nps.flag) == (Decimal("0"), "")
    assert figure("surveys.satisfaction", Scope.of(dealership)).flag == ""


# --- complaints -----------------------------------------------------------------------------------------


@pytest.fixture
def complaints(dealership, other_dealership):
    return {
        # acknowledged an hour before the deadline: on time
        "early": complaint(dealership, at(2), at(3), acknowledged_at=at(3, 9)),
        # acknowledged exactly at the deadline: on time
        "exact": complaint(dealership, at(4), at(5), acknowledged_at=at(5)),
        # acknowledged after it: late
        "late": complaint(dealership, at(6), at(7), acknowledged_at=at(7, 11)),
        # never answered, deadline passed: late
        "ignored": complaint(dealership, at(10), at(11)),
        # resolved without an acknowledgement, before the deadline: on time
        "resolved": complaint(dealership, at(12), at(13), resolved_at=at(12, 15)),
        # opened on the 30th, unanswered, due on 8 December (after now): not decided yet
        "waiting": complaint(dealership, at(30, 20), at(8, month=12)),
        # another store's
        "other": complaint(other_dealership, at(2), at(3), acknowledged_at=at(2, 11)),
        # October's
        "october": complaint(dealership, at(20, month=10), at(21, month=10), acknowledged_at=at(20, 11, month=10)),
    }


def test_complaints_count_and_share_answered_on_time(dealership, complaints):
    scope = Scope.of(dealership)
    # opened in November at the store: early, exact, late, ignored, resolved, waiting = 6
    count = figure("complaints.count", scope)
    assert count.value == 6
    assert kpi("complaints.count").higher_is_better is False
    # decided: all but "waiting" = 5; on time: early, exact, resolved = 3 -> 60 %
    share = figure("complaints.on_time_share", scope)
    assert (share.numerator, share.denominator, share.value) == (3, 5, Decimal("0.6"))
    rows = set(kpi("complaints.on_time_share").rows(scope, NOVEMBER, {}).values_list("pk", flat=True))
    assert rows == {complaints["early"].pk, complaints["exact"].pk, complaints["resolved"].pk}


# --- the report -----------------------------------------------------------------------------------------


def test_the_followups_report(dealership, touches, surveys, complaints):
    scope = Scope.of(dealership)
    with CaptureQueriesContext(connection) as queries:
        tables = {table.key: table for table in report("followups").build(scope, NOVEMBER, {})}
    # completion (one query), surveys (two: by month sent, by month answered), complaints (one)
    assert len(queries) == 4
    completion = tables["completion"]
    day7, day15, day30, csi = completion.rows
    assert (day7["due"], day7["done"], day7["not_needed"], day7["rate"]) == (5, 2, 2, Decimal("0.4"))
    assert (day15["due"], day15["done"], day15["rate"]) == (4, 2, Decimal("0.5"))
    assert day30["rate"] is None
    assert (csi["due"], csi["done"]) == (2, 1)
    # all: 2 + 2 + 0 + 1 = 5 done of 5 + 4 + 0 + 2 = 11 due
    assert (completion.totals["done"], completion.totals["due"]) == (5, 11)
    assert completion.totals["rate"] == Decimal(5) / Decimal(11)
    assert "/reports/drill/followups.day7_completion/" in day7["_links"]["rate"]
    (month,) = tables["completion_by_month"].rows
    assert (month["month"], month["day7"], month["day30"]) == ("2026-11", Decimal("0.4"), None)

    surveys_table = tables["surveys"]
    assert surveys_table.totals["sent"] == 5 and surveys_table.totals["answered"] == 4
    assert surveys_table.totals["response_rate"] == Decimal("0.8")
    assert surveys_table.totals["satisfaction"] == Decimal("3")
    assert surveys_table.totals["nps"] == Decimal("20")
    assert surveys_table.notes  # fewer than 30 answers

    complaints_table = tables["complaints"]
    assert (complaints_table.totals["opened"], complaints_table.totals["on_time"]) == (6, 3)
    assert complaints_table.totals["on_time_share"] == Decimal("0.6")


def test_the_report_of_a_quarter_has_a_row_per_month(dealership, touches):
    quarter = Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    table = {t.key: t for t in report("followups").build(Scope.of(dealership), quarter, {})}["completion_by_month"]
    # October: the 31 October touch, done -> 100 %; November 40 %; December: the 1 December one -> 100 %
    assert [(r["month"], r["day7"]) for r in table.rows] == [
        ("2026-10", Decimal("1")),
        ("2026-11", Decimal("0.4")),
        ("2026-12", Decimal("1")),
    ]


def test_figures_are_a_fixed_number_of_queries(dealership, touches, surveys, complaints):
    scope = Scope.of(dealership)
    for code in (
        "followups.day7_completion",
        "followups.csi_completion",
        "surveys.response_rate",
        "surveys.satisfaction",
        "surveys.nps",
        "complaints.count",
        "complaints.on_time_share",
    ):
        with CaptureQueriesContext(connection) as queries:
            kpi(code).figures(scope, [NOVEMBER, NOVEMBER.previous(), NOVEMBER.last_year()])
        assert len(queries) == 1, code


@pytest.mark.postgres
def test_the_benchmark_statements_agree_with_the_reports(dealership, touches, surveys, complaints):
    """bench/_baselines_followups.py's hand-written SQL gives the same figures as the reports it is the yardstick
    of (otherwise the benchmark compares different work)."""
    from bench._baselines_followups import BASELINES

    params = {"dealership": dealership.pk, "start": NOVEMBER.start, "end": NOVEMBER.end}
    with connection.cursor() as cursor:
        cursor.execute(BASELINES["followups"], params)
        rows = cursor.fetchall()
    touches_ = {row[2]: row[3:5] for row in rows if row[0] == "touches"}
    assert touches_ == {"day7": (5, 2), "day15": (4, 2), "csi": (2, 1)}
    (sent,) = [row for row in rows if row[0] == "sent"]
    assert sent[3:5] == (5, 4)
    (answers,) = [row for row in rows if row[0] == "answers"]
    assert (answers[6], answers[7]) == (Decimal("3"), Decimal("20"))
    (opened,) = [row for row in rows if row[0] == "complaints"]
    assert opened[3:6] == (6, 5, 3)
