"""The data-quality figures and report on hand-built data, answers worked out by hand: the bounce rate (退信率)
against seed 001's 8 % goal, the share of wrong numbers and the possible duplicates (flags as of now)."""

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from followups.models import Message
from reports.periods import Period
from reports.registry import display, kpi, report
from reports.scope import Scope
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SZ = ZoneInfo("Asia/Shanghai")
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
#: the 30 days up to today (5 December 2026): the customer flags are shown for it
LAST_30 = Period(dt.date(2026, 11, 6), dt.date(2026, 12, 5))
NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SZ)
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day, hour=10, month=11):
    return dt.datetime(2026, month, day, hour, 0, tzinfo=SZ)


def message(store, status, created_at, channel="sms", customer=None):
    customer = customer or CustomerFactory(dealership=store)
    return Message.objects.create(
        dealership=store,
        customer=customer,
        channel=channel,
        backend="db",
        recipient="+8613800000000",
        body="您好",
        idempotency_key=f"k{next(_serial):010d}",
        status=status,
        created_at=created_at,
    )


@pytest.fixture
def messages(dealership, other_dealership):
    S = Message.Status
    customer = CustomerFactory(dealership=dealership)
    made = {
        "delivered": message(dealership, S.DELIVERED, at(2), customer=customer),
        "bounced": message(dealership, S.BOUNCED, at(3), customer=customer),
        "accepted": message(dealership, S.ACCEPTED, at(4), customer=customer),  # no receipt yet: sent
        "failed": message(dealership, S.FAILED, at(5), customer=customer),  # never left: not sent
        "bounced_wechat": message(dealership, S.BOUNCED, at(30, 23), channel="wechat", customer=customer),
        "unknown": message(dealership, S.UNKNOWN, at(6), channel="email", customer=customer),
        "october": message(dealership, S.BOUNCED, at(31, 12, month=10), customer=customer),
        "other_store": message(other_dealership, S.BOUNCED, at(2)),
    }
    return made


def test_bounce_rate_against_the_goal(dealership, messages):
    # sent in November: delivered, bounced, accepted, bounced (WeChat), unknown = 5 (failed never left);
    # bounced 2 -> 40 %, above the 8 % goal
    result = kpi("quality.bounce_rate").compute(Scope.of(dealership), NOVEMBER)
    assert (result.numerator, result.denominator, result.value) == (2, 5, Decimal("0.4"))
    assert kpi("quality.bounce_rate").target == Decimal("0.08")
    assert kpi("quality.bounce_rate").higher_is_better is False
    rows = set(kpi("quality.bounce_rate").rows(Scope.of(dealership), NOVEMBER, {}))
    assert rows == {messages["bounced"], messages["bounced_wechat"]}


def test_bounce_rate_of_a_group_and_of_an_empty_period(dealership, other_dealership, messages):
    both = kpi("quality.bounce_rate").compute(Scope.of(dealership, other_dealership), NOVEMBER)
    assert (both.numerator, both.denominator) == (3, 6)
    empty = kpi("quality.bounce_rate").compute(Scope.of(dealership), Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31)))
    assert empty.empty and display(empty.value, "rate") == "—"


@pytest.fixture
def customers(dealership, other_dealership):
    # the store: 5 customers, 1 wrong number, 2 possible duplicates; the other store: 1 wrong number
    CustomerFactory(dealership=dealership, flag_wrong_number=True)
    CustomerFactory(dealership=dealership, flag_possible_duplicate=True)
    CustomerFactory(dealership=dealership, flag_possible_duplicate=True)
    CustomerFactory(dealership=dealership)
    CustomerFactory(dealership=dealership)
    CustomerFactory(dealership=other_dealership, flag_wrong_number=True)


def test_wrong_numbers_and_duplicates_as_of_now(dealership, customers):
    scope = Scope.of(dealership)
    wrong = kpi("quality.wrong_number_share").compute(scope, LAST_30)
    assert (wrong.numerator, wrong.denominator, wrong.value) == (1, 5, Decimal("0.2"))
    assert kpi("quality.possible_duplicates").compute(scope, LAST_30).value == 2
    assert kpi("quality.wrong_number_share").rows(scope, LAST_30, {}).count() == 1
    assert kpi("quality.possible_duplicates").rows(scope, LAST_30, {}).count() == 2
    # a period that ended before today: the flags of then are unknown -> "—", and nothing to drill
    assert kpi("quality.wrong_number_share").compute(scope, NOVEMBER).empty
    assert kpi("quality.possible_duplicates").rows(scope, NOVEMBER, {}).count() == 0
    # a group: 2 wrong of 6
    both = kpi("quality.wrong_number_share").compute(Scope.of(*dealership.__class__.objects.order_by("pk")), LAST_30)
    assert (both.numerator, both.denominator) == (2, 6)


def test_one_query_for_all_periods(dealership, customers, messages):
    scope = Scope.of(dealership)
    periods = [LAST_30, LAST_30.previous(), LAST_30.last_year()]
    for code in ("quality.bounce_rate", "quality.wrong_number_share", "quality.possible_duplicates"):
        with CaptureQueriesContext(connection) as queries:
            figures = kpi(code).figures(scope, periods)
        assert len(queries) == 1, code
        if code != "quality.bounce_rate":
            assert not figures[0].empty and figures[1].empty and figures[2].empty


def test_an_agent_gets_no_whole_store_figure(dealership, agent, customers, messages):
    scope = Scope.of(dealership, user=agent, agent_id=agent.pk)
    assert kpi("quality.bounce_rate").compute(scope, NOVEMBER).empty
    assert kpi("quality.wrong_number_share").compute(scope, LAST_30).empty


def test_the_data_quality_report(dealership, customers, messages):
    with CaptureQueriesContext(connection) as queries, translation.override("en"):
        tables = {t.key: t for t in report("data-quality").build(Scope.of(dealership), NOVEMBER, {})}
    assert len(queries) == 1  # November ended before today: no flags read; the messages in one query
    (row,) = tables["customers"].rows
    assert row["wrong_number_share"] is None and len(tables["customers"].notes) == 2

    channels = tables["bounce_by_channel"]
    # SMS: delivered, bounced, accepted -> 1 / 3; WeChat: 1 / 1; e-mail: 0 / 1
    assert [(r["label"], r["sent"], r["bounced"]) for r in channels.rows] == [
        ("SMS", 3, 1),
        ("WeChat", 1, 1),
        ("Email", 1, 0),
    ]
    assert channels.totals["rate"] == Decimal("0.4") and channels.totals["goal"] == Decimal("0.08")
    assert len(channels.notes) == 2  # the goal, and "above the goal"
    with translation.override("en"):
        assert display(channels.totals["rate"], "rate") == "40.0%"

    current = {t.key: t for t in report("data-quality").build(Scope.of(dealership), LAST_30, {})}
    (row,) = current["customers"].rows
    assert (row["customers"], row["wrong_number"], row["possible_duplicate"]) == (6, 1, 2)  # + the messages' one
    assert row["wrong_number_share"] == Decimal(1) / Decimal(6)
