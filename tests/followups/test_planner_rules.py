"""The planner's rules (followups.planner): which touches each rule plans, due when in the store's time zone,
of which class, channel and priority, given to whom; exactly once; a constant number of queries; nothing long
past. The clock is frozen (time-machine) on a working morning in Shenzhen."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.services import coupon_template_create
from customers.models import VisitType
from dealercrm.core.roles import Role
from followups import planner
from followups.models import FollowupPolicy, Priority, Touch
from tests.factories import DealershipFactory, UserFactory
from tests.followups.factories_planner import (
    complaint_of,
    customer_of,
    forecast_of,
    local,
    run_of,
    segment_of,
    visit_of,
)

TODAY = dt.date(2026, 12, 1)
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def frozen(dealership):
    with time_machine.travel(local(dealership, TODAY, 10), tick=False):
        yield


@pytest.fixture
def agents(dealership):
    return [UserFactory(username=f"agent{i}", role=Role.AGENT, dealerships=[dealership]) for i in range(3)]


def touches(**filters):
    return {(t.kind, t.visit_id): t for t in Touch.objects.filter(**filters)}


def test_a_maintenance_visit_gets_day_7_15_30_a_satisfaction_call_and_a_survey(dealership, agents, frozen):
    # Given yesterday's maintenance visit
    visit = visit_of(customer_of(dealership), YESTERDAY)

    # When the planner runs
    figures = planner.plan_all()

    # Then five touches, due at the start of the sending window (09:00 Shanghai) on their days
    planned = touches(visit=visit)
    assert set(planned) == {(k, visit.pk) for k in ("day7", "day15", "day30", "csi_call", "survey")}
    assert figures["planned"]["day7"] == 1 and figures["stores"] >= 1
    day7, day15, day30 = (planned[(k, visit.pk)] for k in ("day7", "day15", "day30"))
    csi, survey = planned[("csi_call", visit.pk)], planned[("survey", visit.pk)]
    assert day7.due_at == local(dealership, YESTERDAY + dt.timedelta(days=7), 9)
    assert day7.expires_at == local(dealership, YESTERDAY + dt.timedelta(days=15))
    assert (day7.channel, day7.touch_class, day7.priority, day7.max_attempts) == ("call", "service", 2, 3)
    assert day15.due_at == local(dealership, YESTERDAY + dt.timedelta(days=15), 9)
    assert day30.due_at == local(dealership, YESTERDAY + dt.timedelta(days=30), 9)
    assert (day15.channel, day15.touch_class, day15.priority) == ("sms", "service", Priority.MAINTENANCE)
    assert day15.assignee_id is None and day30.assignee_id is None
    assert csi.due_at == local(dealership, YESTERDAY + dt.timedelta(days=2), 9)
    assert csi.expires_at == local(dealership, YESTERDAY + dt.timedelta(days=15))
    assert (csi.channel, csi.priority, csi.max_attempts) == ("call", Priority.SATISFACTION, 3)
    assert csi.assignee_id in {a.pk for a in agents} and day7.assignee_id in {a.pk for a in agents}
    # the survey: 24 hours after a visit that has only a date, the next day's window
    assert survey.due_at == local(dealership, TODAY, 9) and survey.channel == "sms"
    assert all(t.status == "planned" and t.customer_id == visit.customer_id for t in planned.values())


def test_due_times_follow_the_channel_window_and_the_store_zone_across_daylight_saving(db):
    # Given a store in Los Angeles whose texts go out from 10:00, and a visit of 29 October 2026
    # (daylight saving ends on 1 November)
    store = DealershipFactory(code="LA01", time_zone="America/Los_Angeles")
    FollowupPolicy.objects.create(dealership=store, channel_windows={"sms": ["10:00", "19:00"]})
    UserFactory(username="la-agent", role=Role.AGENT, dealerships=[store])
    visit = visit_of(customer_of(store), dt.date(2026, 10, 29))

    # When the planner runs on 31 October
    with time_machine.travel(local(store, dt.date(2026, 10, 31), 8), tick=False):
        planner.plan_all(dealerships=[store])

    # Then each is due at its window's start, local time, before and after the change of offset
    planned = touches(visit=visit)
    csi, day7, survey = planned[("csi_call", visit.pk)], planned[("day7", visit.pk)], planned[("survey", visit.pk)]
    assert csi.due_at == local(store, dt.date(2026, 10, 31), 9)
    assert csi.due_at.astimezone(dt.UTC).hour == 16  # PDT, UTC−7
    assert day7.due_at == local(store, dt.date(2026, 11, 5), 9)
    assert day7.due_at.astimezone(dt.UTC).hour == 17  # PST, UTC−8
    assert survey.due_at == local(store, dt.date(2026, 10, 30), 10)
    assert planned[("day15", visit.pk)].due_at == local(store, dt.date(2026, 11, 13), 10)


def test_running_twice_creates_nothing_new(dealership, agents, frozen):
    # Given visits, planned once
    for i in range(3):
        visit_of(customer_of(dealership), YESTERDAY - dt.timedelta(days=i))
    first = planner.plan_all()
    count = Touch.objects.count()

    # When the planner runs again
    second = planner.plan_all()

    # Then nothing new
    assert sum(first["planned"].values()) == count == 15
    assert sum(second["planned"].values()) == 0
    assert Touch.objects.count() == count


def _queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        planner.plan_all(**kwargs)
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_visits(dealership, agents, frozen):
    # Given one visit, planned (the count of a run that inserts)
    visit_of(customer_of(dealership), YESTERDAY)
    few = _queries()

    # When there are twenty more visits of several customers and types
    for i in range(20):
        visit_of(customer_of(dealership), YESTERDAY - dt.timedelta(days=i % 3), visit_type=VisitType.REPAIR)
    many = _queries()

    # Then the run takes as many queries
    assert Touch.objects.count() == 5 + 20 * 2
    assert many == few


def test_visits_beyond_the_lookback_are_not_planned(dealership, agents, frozen, settings):
    # Given a lookback of 3 days, a visit 10 days ago, one 11 days ago and one 40 days ago
    settings.FOLLOWUPS_PLAN_LOOKBACK_DAYS = 3
    ten, eleven, forty = (visit_of(customer_of(dealership), TODAY - dt.timedelta(days=n)) for n in (10, 11, 40))

    planner.plan_all()

    # Then a touch is planned only when its due day is at most 3 days past (and it has not expired)
    assert {k for k, _v in touches(visit=ten)} == {"day7", "day15", "day30"}  # day 7 was 3 days ago
    assert {k for k, _v in touches(visit=eleven)} == {"day15", "day30"}  # day 7 was 4 days ago
    assert {k for k, _v in touches(visit=forty)} == set()  # day 30 was 10 days ago
    # the satisfaction call (day 2) and the survey (day 1) of those visits were long past
    assert not Touch.objects.filter(kind__in=["csi_call", "survey"]).exists()


def test_only_the_stores_follow_up_types_get_day_7_15_30(dealership, agents, frozen):
    # Given a repair visit and a maintenance visit, in a store that follows up repairs only
    FollowupPolicy.objects.create(dealership=dealership, followup_visit_types=[VisitType.REPAIR])
    repair = visit_of(customer_of(dealership), YESTERDAY, visit_type=VisitType.REPAIR)
    maintenance = visit_of(customer_of(dealership), YESTERDAY)

    planner.plan_all()

    # Then day 7/15/30 for the repair only; every visit gets its satisfaction call and survey
    assert {k for k, _v in touches(visit=repair)} == {"day7", "day15", "day30", "csi_call", "survey"}
    assert {k for k, _v in touches(visit=maintenance)} == {"csi_call", "survey"}


def test_nothing_is_planned_that_could_not_be_sent(dealership, agents, frozen):
    # Given a customer on do-not-contact, one with a wrong number and one without marketing consent
    barred = visit_of(customer_of(dealership, do_not_contact=True), YESTERDAY)
    wrong = visit_of(customer_of(dealership, flag_wrong_number=True), YESTERDAY)
    no_consent = visit_of(customer_of(dealership, marketing_consent=False), YESTERDAY)

    planner.plan_all()

    # Then nothing for the first, no call or text for the second (phone channels), every service touch for the
    # third (service touches need no marketing consent)
    assert touches(visit=barred) == {}
    assert touches(visit=wrong) == {}
    assert len(touches(visit=no_consent)) == 5


def test_call_tasks_go_to_agents_in_turn_never_to_the_visits_own_advisor(dealership, frozen):
    # Given two agents of the store (the first also advises at the counter), an inactive agent, an agent of
    # another store, and visits advised by the first
    first = UserFactory(username="agent-a", role=Role.AGENT, dealerships=[dealership])
    second = UserFactory(username="agent-b", role=Role.AGENT, dealerships=[dealership])
    UserFactory(username="gone", role=Role.AGENT, dealerships=[dealership], is_active=False)
    UserFactory(username="elsewhere", role=Role.AGENT, dealerships=[DealershipFactory(code="ELSE")])
    advised = [visit_of(customer_of(dealership), YESTERDAY, advisor=first) for _ in range(4)]
    others = [visit_of(customer_of(dealership), YESTERDAY) for _ in range(4)]

    planner.plan_all()

    # Then the advisor's own visits go to the other agent; the rest are shared in turn between both
    calls = Touch.objects.filter(channel="call")
    assert set(calls.filter(visit__in=advised).values_list("assignee_id", flat=True)) == {second.pk}
    shared = list(calls.filter(visit__in=others, kind="csi_call").values_list("assignee_id", flat=True))
    assert sorted(shared) == sorted([first.pk, second.pk] * 2)


def test_a_single_agent_who_is_the_advisor_leaves_the_call_unassigned(dealership, frozen):
    only = UserFactory(username="only", role=Role.AGENT, dealerships=[dealership])
    visit = visit_of(customer_of(dealership), YESTERDAY, advisor=only)

    planner.plan_all()

    assert touches(visit=visit)[("csi_call", visit.pk)].assignee_id is None


def test_maintenance_reminders_a_message_14_and_a_call_7_days_before_the_due_date(dealership, agents, frozen):
    # Given vehicles whose current forecast is due in 14 and in 7 days, and an outdated forecast
    run = run_of(dealership, YESTERDAY)
    soon, sooner = customer_of(dealership), customer_of(dealership)
    in_14, in_7 = TODAY + dt.timedelta(days=14), TODAY + dt.timedelta(days=7)
    forecast_of(soon.vehicles.first(), run, in_14)
    forecast_of(sooner.vehicles.first(), run, in_7)
    forecast_of(sooner.vehicles.first(), run, TODAY + dt.timedelta(days=3), valid_to=run)  # no longer current

    planner.plan_all()

    # Then the message of the first is due today, its call in 7 days; the second's call today (its message
    # was due 7 days ago, beyond the lookback)
    reminders = {(t.customer_id, t.kind): t for t in Touch.objects.filter(kind__in=["due_message", "due_call"])}
    assert set(reminders) == {(soon.pk, "due_message"), (soon.pk, "due_call"), (sooner.pk, "due_call")}
    message, call = reminders[(soon.pk, "due_message")], reminders[(soon.pk, "due_call")]
    assert message.occasion == in_14.isoformat() and message.vehicle_id == soon.vehicles.first().pk
    assert message.due_at == local(dealership, TODAY, 9) and message.channel == "sms"
    assert message.expires_at == local(dealership, in_14)
    assert call.due_at == local(dealership, in_14 - dt.timedelta(days=7), 9)
    assert (call.channel, call.priority, call.touch_class) == ("call", Priority.MAINTENANCE, "service")
    assert call.assignee_id in {a.pk for a in agents}
    assert reminders[(sooner.pk, "due_call")].occasion == in_7.isoformat()


def test_the_reminder_days_come_from_the_stores_settings(dealership, agents, frozen):
    FollowupPolicy.objects.create(dealership=dealership, reminder_message_days=10, reminder_call_days=3)
    customer = customer_of(dealership)
    forecast_of(customer.vehicles.first(), run_of(dealership, YESTERDAY), TODAY + dt.timedelta(days=10))

    planner.plan_all()

    message = Touch.objects.get(kind="due_message")
    call = Touch.objects.get(kind="due_call")
    assert message.due_at == local(dealership, TODAY, 9)
    assert call.due_at == local(dealership, TODAY + dt.timedelta(days=7), 9)


def test_birthday_care_on_the_birthday_once_a_year(dealership, agents, frozen):
    # Given a customer whose birthday is in three days, one whose birthday was in June, one without
    coming = customer_of(dealership, birthday=dt.date(1980, 12, 4))
    customer_of(dealership, birthday=dt.date(1980, 6, 4))
    customer_of(dealership, birthday=None, marketing_consent=False)

    planner.plan_all()
    planner.plan_all()

    # Then one service text, due at the window's start on the birthday, for this year
    (touch,) = Touch.objects.filter(kind="birthday")
    assert touch.customer_id == coming.pk and touch.occasion == "2026"
    assert touch.due_at == local(dealership, dt.date(2026, 12, 4), 9)
    assert (touch.touch_class, touch.channel) == ("service", "sms")


def test_a_29_february_birthday_is_celebrated_on_the_28th_in_other_years(dealership, agents):
    leap = customer_of(dealership, birthday=dt.date(1992, 2, 29))
    with time_machine.travel(local(dealership, dt.date(2027, 2, 27), 10), tick=False):
        planner.plan_all()

    touch = Touch.objects.get(kind="birthday", customer=leap)
    assert touch.due_at == local(dealership, dt.date(2027, 2, 28), 9) and touch.occasion == "2027"


def test_a_lapsed_customer_gets_one_wake_up_per_half_year(dealership, agents, frozen):
    # Given lapsed customers (current segmentation), one without marketing consent, one who came back since,
    # one with an open complaint, and a customer who is not lapsed
    run = run_of(dealership, YESTERDAY)
    lapsed = customer_of(dealership)
    segment_of(lapsed, run)
    no_consent = customer_of(dealership, marketing_consent=False)
    segment_of(no_consent, run)
    back = customer_of(dealership)
    segment_of(back, run, last_visit_on=dt.date(2025, 1, 10))
    visit_of(back, dt.date(2026, 11, 28))
    unhappy = customer_of(dealership)
    segment_of(unhappy, run)
    complaint_of(unhappy)
    segment_of(customer_of(dealership), run, lapsed=False)

    planner.plan_all()
    planner.plan_all()

    # Then one marketing text to the lapsed customer who may receive it, for this half-year
    (touch,) = Touch.objects.filter(kind="wake_up")
    assert touch.customer_id == lapsed.pk and touch.occasion == "2026H2"
    assert (touch.touch_class, touch.channel, touch.priority) == ("marketing", "sms", Priority.MARKETING)
    assert touch.due_at == local(dealership, TODAY, 9)
    assert touch.expires_at == local(dealership, dt.date(2027, 1, 1))


def test_no_survey_while_a_complaint_is_open(dealership, agents, frozen):
    customer = customer_of(dealership)
    visit = visit_of(customer, YESTERDAY)
    complaint_of(customer)

    planner.plan_all()

    assert ("survey", visit.pk) not in touches(visit=visit)
    assert ("csi_call", visit.pk) in touches(visit=visit)


def test_another_store_is_planned_for_its_own(dealership, other_dealership, agents, frozen):
    UserFactory(username="gz-agent", role=Role.AGENT, dealerships=[other_dealership])
    here = visit_of(customer_of(dealership), YESTERDAY)
    there = visit_of(customer_of(other_dealership), YESTERDAY)

    planner.plan_all()

    assert set(Touch.objects.filter(visit=here).values_list("dealership_id", flat=True)) == {dealership.pk}
    there_calls = Touch.objects.filter(visit=there, channel="call")
    assert set(there_calls.values_list("assignee__username", flat=True)) == {"gz-agent"}


def test_birthday_care_with_an_offer_is_marketing_and_needs_consent(dealership, agents, frozen):
    # Given a store whose birthday care carries a coupon, a customer with marketing consent and one without
    offer = coupon_template_create(dealership=dealership, name="生日工时券", kind="labor_amount", value=Decimal("100"))
    FollowupPolicy.objects.create(dealership=dealership, birthday_offer=offer)
    consenting = customer_of(dealership, birthday=dt.date(1985, 12, 2))
    customer_of(dealership, birthday=dt.date(1985, 12, 2), marketing_consent=False)

    planner.plan_all()

    # Then one marketing text, to the customer who consented
    (touch,) = Touch.objects.filter(kind="birthday")
    assert (touch.customer_id, touch.touch_class) == (consenting.pk, "marketing")
