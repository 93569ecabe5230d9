"""The planner: touches inserted from the current state of the records, set-based, exactly once.

``plan_all`` (the beat job's work, ``followups.tasks.plan_touches_task``) runs, for every active store, one
function per rule, each ONE ``INSERT INTO followups_touch (…) SELECT … ON CONFLICT DO NOTHING``. The ``SELECT``
is built with the ORM (the rule's queryset, annotated with the touch's columns) and compiled by
``insert_touches``; the unique constraints of ``Touch`` (one touch per natural key) make a rule run twice, or two
planners at once, insert nothing twice. Then the stop conditions (``followups.stops``) cancel what should no
longer happen.

What a kind of touch is (class, channel, priority, due and expiry days, attempts, whether an agent is assigned)
is the table of ``followups.kinds``. Only customers the contact rule allows for the touch's class and channel
are planned (``customers.contact.contactable``; the dispatcher checks again when sending). A touch is due at the
start of the store's sending window for its channel on its due day, in the store's time zone; one whose due day
is more than ``FOLLOWUPS_PLAN_LOOKBACK_DAYS`` past, or that would already have expired, is not created, so
importing old visits never floods customers. Reminders and birthdays are planned up to
``FOLLOWUPS_PLAN_AHEAD_DAYS`` before their day.
"""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateTimeField,
    DurationField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Mod
from django.db.models.lookups import Exact, LessThan
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import invitations_with_attendance
from customers.contact import contactable
from customers.models import Customer, ServiceVisit
from dealercrm.core.models import Dealership, User
from dealercrm.core.roles import Role
from segmentation.models import CustomerSegment, VehicleForecast

from . import stops
from .kinds import REMINDERS, VISIT_FOLLOWUPS, Kind, rule
from .models import Complaint, FollowupPolicy, Touch, TouchClass
from .policy import followup_visit_types, policy_for, sending_window

MIDNIGHT = dt.time(0, 0)
#: the columns the planner writes (every column of the ledger but its id), in the table's order
COLUMNS = [f for f in Touch._meta.concrete_fields if not f.primary_key]


# --- the one INSERT … SELECT ------------------------------------------------------------------------------


def _null(field) -> Expression:
    """A typed NULL (PostgreSQL types an untyped NULL in a sub-select as text, which no integer column takes)."""
    return Cast(Value(None), output_field=BigIntegerField() if field.is_relation else field.__class__())


def touch_rows(queryset: QuerySet, *, now: dt.datetime, **values) -> QuerySet:
    """``queryset`` annotated with one column per column of the ledger (``values`` by field name, e.g.
    ``customer_id=F("customer_id")``, ``kind=Kind.DAY_7``; the rest their model defaults) and reduced to them."""
    given = {name.removesuffix("_id"): value for name, value in values.items()}
    unknown = set(given) - {f.name for f in COLUMNS}
    if unknown:
        raise ValueError(f"Not a column of the ledger: {', '.join(sorted(unknown))}")
    annotations = {}
    for field in COLUMNS:
        value = given.get(field.name, now if field.name in ("created_at", "updated_at") else field.get_default())
        if value is None:
            value = _null(field)
        elif not hasattr(value, "resolve_expression"):
            value = Value(value, output_field=BigIntegerField() if field.is_relation else field)
        annotations[f"t_{field.column}"] = value
    return queryset.order_by().annotate(**annotations).values(*annotations)


def insert_touches(rows: QuerySet) -> int:
    """``INSERT INTO followups_touch (…) SELECT … FROM (rows) ON CONFLICT DO NOTHING``: how many were inserted.

    ``rows`` comes from ``touch_rows`` (or a union of them). Without a conflict target, every unique constraint
    of the ledger counts (PostgreSQL and SQLite alike); the ``WHERE true`` spares SQLite's parser the ambiguity
    of an upsert after a ``SELECT``. A deadlock between two planners inserting the same keys in a different
    order is retried (the loser's statement is rolled back whole)."""
    sql, params = rows.query.sql_with_params()
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in COLUMNS)
    selected = ", ".join(f"p.{qn('t_' + f.column)}" for f in COLUMNS)
    # quoted names and the ORM's compiled SELECT; every value is a parameter
    statement = f"INSERT INTO {qn(Touch._meta.db_table)} ({columns}) SELECT {selected} FROM ({sql}) AS p"  # noqa: S608
    statement += " WHERE true ON CONFLICT DO NOTHING"
    for attempt in range(3):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, params)
                return max(cursor.rowcount, 0)
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) != "40P01" or attempt == 2:  # 40P01: deadlock detected
                raise
            time.sleep(0.05 * (attempt + 1))
    return 0  # pragma: no cover


# --- moments and agents, as SQL ---------------------------------------------------------------------------


def _offset_runs(first: dt.date, last: dt.date, at: dt.time, zone) -> list[tuple[dt.date | None, dt.timedelta]]:
    """The zone's UTC offset at ``at`` o'clock on each day of ``[first, last]``, as runs ``(until, offset)``:
    ``offset`` holds for the days before ``until`` (None: to the end)."""
    first, last = max(first, dt.date(1900, 1, 1)), min(max(last, first), dt.date(9998, 12, 31))
    runs, day = [], first
    current = dt.datetime.combine(day, at, tzinfo=zone).utcoffset()
    while day <= last:
        offset = dt.datetime.combine(day, at, tzinfo=zone).utcoffset()
        if offset != current:
            runs.append((day, current))
            current = offset
        day += dt.timedelta(days=1)
    runs.append((None, current))
    return runs


def at_local(day: Expression | str, *, plus_days: int, at: dt.time, zone, first: dt.date, last: dt.date):
    """The aware moment ``at`` o'clock in ``zone`` on the day ``day + plus_days`` (``day``: a date column or
    expression), as a portable SQL expression: the date as midnight UTC plus a constant interval per run of the
    zone's UTC offset over the result's days (``day`` lies in ``[first, last]``; one run without daylight saving)."""
    day = F(day) if isinstance(day, str) else day
    midnight = Cast(day, output_field=DateTimeField())
    after = dt.timedelta(days=plus_days, hours=at.hour, minutes=at.minute, seconds=at.second)

    def moment(offset: dt.timedelta):
        shift = Value(after - offset, output_field=DurationField())
        return ExpressionWrapper(midnight + shift, output_field=DateTimeField())

    shift = dt.timedelta(days=plus_days)
    runs = _offset_runs(first + shift, last + shift, at, zone)
    if len(runs) == 1:
        return moment(runs[0][1])
    whens = [When(LessThan(day, Value(until - shift)), then=moment(offset)) for until, offset in runs[:-1]]
    return Case(*whens, default=moment(runs[-1][1]), output_field=DateTimeField())


def moment_on(day: dt.date, at: dt.time, zone) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=zone)


def in_turn(agents: list[int], *, key: str = "id", avoid: str | None = None) -> Expression | None:
    """One of ``agents`` per row, in turn by the row's ``key`` (its id), never the user in column ``avoid``
    (the visit's own advisor): that row takes the next agent; with one agent who is that advisor, nobody."""
    if not agents:
        return None
    n = len(agents)
    user = BigIntegerField()

    def pick(shift: int):
        if n == 1:
            return Value(agents[0], output_field=user)
        turn = Mod(F(key) + Value(shift), Value(n))
        return Case(
            *[When(Exact(turn, Value(i)), then=Value(agent, output_field=user)) for i, agent in enumerate(agents)],
            output_field=user,
        )

    if avoid is None:
        return pick(0)
    other = pick(1) if n > 1 else _null(Touch._meta.get_field("assignee"))
    return Case(When(Exact(F(avoid), pick(0)), then=other), default=pick(0), output_field=user)


def _open_complaint(customer_ref: str = "customer_id") -> Exists:
    return Exists(Complaint.objects.filter(customer_id=OuterRef(customer_ref), status__in=Complaint.OPEN_STATES))


# --- the rules ----------------------------------------------------------------------------------------------


class Store:
    """What every rule of one store needs, read once per run: the store, its settings, the clock, its agents."""

    def __init__(self, dealership: Dealership, *, now: dt.datetime, lookback_days: int, ahead_days: int):
        self.dealership = dealership
        self.policy: FollowupPolicy = policy_for(dealership)
        self.now = now
        self.zone = dealership.zone
        self.today = dealership.local_date(now)
        self.earliest = self.today - dt.timedelta(days=lookback_days)  # the earliest due day still planned
        self.latest = self.today + dt.timedelta(days=ahead_days)  # the latest due day planned ahead
        self._agents = None

    @property
    def agents(self) -> list[int]:
        """The store's active agents (role agent, members of the store), by id: call tasks go to them in turn."""
        if self._agents is None:
            self._agents = list(
                User.objects.filter(memberships__dealership=self.dealership, is_active=True, role=Role.AGENT)
                .order_by("id")
                .values_list("id", flat=True)
            )
        return self._agents

    def start(self, channel: str) -> dt.time:
        return sending_window(self.policy, channel)[0]

    def common(self, kind: str, **values) -> dict:
        """The columns every touch of ``kind`` in this store shares (from ``followups.kinds``)."""
        r = rule(kind)
        return {
            "dealership_id": self.dealership.pk,
            "kind": str(kind),
            "touch_class": str(r.touch_class),
            "channel": str(r.channel),
            "priority": int(r.priority),
            "max_attempts": r.max_attempts,
            **values,
        }


def _visit_rows(store: Store, kind: str, visits: QuerySet) -> QuerySet:
    """The touches of one visit-anchored rule, as rows: due on day ``due_days`` after the visit, expiring at the
    start of day ``expires_days``; none when the due day is before the lookback or the expiry already passed."""
    r = rule(kind)
    oldest = max(store.earliest - dt.timedelta(days=r.due_days), store.today - dt.timedelta(days=r.expires_days - 1))
    visits = visits.filter(dealership_id=store.dealership.pk, opened_on__gte=oldest).filter(
        contactable(r.touch_class, r.channel, prefix="customer__")
    )
    first, last = oldest, store.today
    values = store.common(
        kind,
        customer_id=F("customer_id"),
        visit_id=F("id"),
        due_at=at_local(
            "opened_on", plus_days=r.due_days, at=store.start(r.channel), zone=store.zone, first=first, last=last
        ),
        expires_at=at_local(
            "opened_on", plus_days=r.expires_days, at=MIDNIGHT, zone=store.zone, first=first, last=last
        ),
    )
    if r.assigned:
        values["assignee_id"] = in_turn(store.agents, avoid="advisor_id")
    return touch_rows(visits, now=store.now, **values)


def _visit_rule(store: Store, kind: str, visits: QuerySet) -> int:
    return insert_touches(_visit_rows(store, kind, visits))


def visit_followup_rows(store: Store, kind: str) -> QuerySet:
    """The rows ``plan_visit_followups`` inserts (for the benchmark's EXPLAIN)."""
    if kind not in VISIT_FOLLOWUPS:
        raise ValueError(f"Not a visit follow-up: {kind!r}")
    types = followup_visit_types(store.policy)
    return _visit_rows(store, kind, ServiceVisit.objects.filter(visit_type__in=types))


def plan_visit_followups(store: Store, kind: str) -> int:
    """Day 7, 15 or 30 after each visit of the store's follow-up types (seed 003: 保养后7天、15天、30天)."""
    return insert_touches(visit_followup_rows(store, kind))


def plan_satisfaction_calls(store: Store) -> int:
    """A satisfaction call on day 2 after every visit, by an agent who is not the visit's advisor."""
    return _visit_rule(store, Kind.SATISFACTION, ServiceVisit.objects.all())


def plan_surveys(store: Store) -> int:
    """A survey text the day after every visit (one per visit); none while a complaint of theirs is open."""
    return _visit_rule(store, Kind.SURVEY, ServiceVisit.objects.exclude(_open_complaint()))


def plan_campaign_satisfaction_calls(store: Store) -> int:
    """A satisfaction call within 3 days after a campaign ends, to every invitee (not the holdout) who attended
    (the campaigns app's attendance: ``invitations_with_attendance``). One INSERT for the store's campaigns
    that ended within the window (a union of one SELECT per campaign)."""
    r = rule(Kind.CAMPAIGN_SATISFACTION)
    # due the day after the last day, expiring at the start of the fourth: ended before today, not too long ago
    oldest = max(store.earliest - dt.timedelta(days=r.due_days), store.today - dt.timedelta(days=r.expires_days - 1))
    campaigns = list(
        Campaign.objects.filter(dealership=store.dealership, ends_on__gte=oldest, ends_on__lt=store.today)
        .exclude(status=Campaign.Status.DRAFT)
        .order_by("id")
    )
    if not campaigns:
        return 0
    parts = []
    for campaign in campaigns:
        invitees = invitations_with_attendance(campaign=campaign).filter(
            contactable(r.touch_class, r.channel, prefix="customer__"), attended=True, holdout=False
        )
        values = store.common(
            Kind.CAMPAIGN_SATISFACTION,
            customer_id=F("customer_id"),
            invitation_id=F("id"),
            due_at=moment_on(campaign.ends_on + dt.timedelta(days=r.due_days), store.start(r.channel), store.zone),
            expires_at=moment_on(campaign.ends_on + dt.timedelta(days=r.expires_days), MIDNIGHT, store.zone),
            assignee_id=in_turn(store.agents),
        )
        parts.append(touch_rows(invitees, now=store.now, **values))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return insert_touches(rows)


def plan_due_reminders(store: Store, kind: str) -> int:
    """A maintenance reminder before each vehicle's predicted due date (its current forecast): the message
    ``reminder_message_days`` before, the call ``reminder_call_days`` before; occasion = the due date (ISO).
    Expires at the start of the due date."""
    if kind not in REMINDERS:
        raise ValueError(f"Not a maintenance reminder: {kind!r}")
    r = rule(kind)
    days = store.policy.reminder_message_days if kind == Kind.DUE_MESSAGE else store.policy.reminder_call_days
    before = dt.timedelta(days=days)
    first = max(store.earliest + before, store.today + dt.timedelta(days=1))  # the due date still ahead
    last = store.latest + before
    forecasts = VehicleForecast.objects.filter(
        dealership_id=store.dealership.pk, valid_to__isnull=True, next_due_on__gte=first, next_due_on__lte=last
    ).filter(contactable(r.touch_class, r.channel, prefix="vehicle__owner__"))
    values = store.common(
        kind,
        customer_id=F("vehicle__owner_id"),
        vehicle_id=F("vehicle_id"),
        occasion=Cast("next_due_on", output_field=CharField(max_length=16)),
        due_at=at_local(
            "next_due_on", plus_days=-days, at=store.start(r.channel), zone=store.zone, first=first, last=last
        ),
        expires_at=at_local("next_due_on", plus_days=0, at=MIDNIGHT, zone=store.zone, first=first, last=last),
    )
    if r.assigned:
        values["assignee_id"] = in_turn(store.agents, key="vehicle_id")
    return insert_touches(touch_rows(forecasts, now=store.now, **values))


def _birthdays(store: Store, expires_days: int) -> dict[dt.date, list[tuple[int, int]]]:
    """The days from the lookback to the planning horizon whose birthday touch has not expired yet, with the
    (month, day) birthdays falling on each (29 February on the 28th in other years)."""
    days = {}
    day = max(store.earliest, store.today - dt.timedelta(days=expires_days - 1))
    while day <= store.latest:
        days[day] = [(day.month, day.day)]
        if (day.month, day.day) == (2, 28) and not _leap(day.year):
            days[day].append((2, 29))
        day += dt.timedelta(days=1)
    return days


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def plan_birthdays(store: Store) -> int:
    """Birthday care on the birthday (occasion = the year): a service text, which needs no marketing consent;
    a marketing text when the store's settings attach an offer (``FollowupPolicy.birthday_offer``), which then
    needs consent and waits for no open complaint. (The offer's coupon is the sending side's to issue.)"""
    r = rule(Kind.BIRTHDAY)
    touch_class = TouchClass.MARKETING if store.policy.birthday_offer_id else r.touch_class
    start = store.start(r.channel)
    days = _birthdays(store, r.expires_days)
    due, expires, occasion, falls = [], [], [], Q()
    for day, birthdays in days.items():
        for month, mday in birthdays:
            on = Q(birthday__month=month, birthday__day=mday)
            falls |= on
            due.append(When(on, then=Value(moment_on(day, start, store.zone))))
            expires.append(
                When(on, then=Value(moment_on(day + dt.timedelta(days=r.expires_days), MIDNIGHT, store.zone)))
            )
            occasion.append(When(on, then=Value(str(day.year))))
    if not due:
        return 0
    customers = Customer.objects.filter(falls, dealership_id=store.dealership.pk, birthday__isnull=False).filter(
        contactable(touch_class, r.channel)
    )
    if touch_class == TouchClass.MARKETING:
        customers = customers.exclude(_open_complaint("id"))
    values = store.common(
        Kind.BIRTHDAY,
        touch_class=str(touch_class),
        customer_id=F("id"),
        occasion=Case(*occasion, output_field=CharField()),
        due_at=Case(*due, output_field=DateTimeField()),
        expires_at=Case(*expires, output_field=DateTimeField()),
    )
    return insert_touches(touch_rows(customers, now=store.now, **values))


def half_year(day: dt.date) -> tuple[str, dt.date]:
    """The half-year of ``day`` ("2026H2") and the first day of the next one."""
    if day.month <= 6:
        return f"{day.year}H1", dt.date(day.year, 7, 1)
    return f"{day.year}H2", dt.date(day.year + 1, 1, 1)


def plan_wake_ups(store: Store) -> int:
    """Once per half-year, a marketing text to each lapsed customer (current segmentation) who has not come
    since and has no open complaint; due today, expiring at the end of the half-year (seed 001)."""
    r = rule(Kind.WAKE_UP)
    occasion, next_half = half_year(store.today)
    came_since = ServiceVisit.objects.filter(customer_id=OuterRef("customer_id")).filter(
        Q(opened_on__gt=OuterRef("last_visit_on")) | Q(opened_on__gte=store.today)
    )
    lapsed = (
        CustomerSegment.objects.filter(dealership_id=store.dealership.pk, valid_to__isnull=True, lapsed=True)
        .filter(contactable(r.touch_class, r.channel, prefix="customer__"))
        .exclude(Exists(came_since))
        .exclude(_open_complaint())
    )
    values = store.common(
        Kind.WAKE_UP,
        customer_id=F("customer_id"),
        occasion=occasion,
        due_at=moment_on(store.today, store.start(r.channel), store.zone),
        expires_at=moment_on(next_half, MIDNIGHT, store.zone),
    )
    return insert_touches(touch_rows(lapsed, now=store.now, **values))


def plan_store(store: Store) -> dict[str, int]:
    """Every rule for one store: how many touches of each kind were inserted."""
    planned = {kind: plan_visit_followups(store, kind) for kind in VISIT_FOLLOWUPS}
    planned[Kind.SATISFACTION] = plan_satisfaction_calls(store)
    planned[Kind.SURVEY] = plan_surveys(store)
    planned[Kind.CAMPAIGN_SATISFACTION] = plan_campaign_satisfaction_calls(store)
    for kind in REMINDERS:
        planned[kind] = plan_due_reminders(store, kind)
    planned[Kind.BIRTHDAY] = plan_birthdays(store)
    planned[Kind.WAKE_UP] = plan_wake_ups(store)
    return {str(kind): n for kind, n in planned.items()}


def plan_all(
    *, now: dt.datetime | None = None, dealerships=None, lookback_days: int | None = None, ahead_days: int | None = None
) -> dict:
    """Plan every rule for every active store (or ``dealerships``), then apply the stop conditions.

    Returns the figures: {"stores": n, "planned": {kind: n}, "cancelled": {reason: n}, "seconds": s}.
    A constant number of queries per store, whatever the number of visits or customers."""
    started = time.monotonic()
    now = now or timezone.now()
    lookback = settings.FOLLOWUPS_PLAN_LOOKBACK_DAYS if lookback_days is None else lookback_days
    ahead = settings.FOLLOWUPS_PLAN_AHEAD_DAYS if ahead_days is None else ahead_days
    if dealerships is None:
        dealerships = Dealership.objects.filter(is_active=True).select_related("followup_policy").order_by("id")
    figures = {"stores": 0, "planned": {}, "cancelled": {}}
    for dealership in dealerships:
        store = Store(dealership, now=now, lookback_days=lookback, ahead_days=ahead)
        for kind, n in plan_store(store).items():
            figures["planned"][kind] = figures["planned"].get(kind, 0) + n
        for reason, n in stops.apply_stops(dealership=dealership, now=now).items():
            figures["cancelled"][reason] = figures["cancelled"].get(reason, 0) + n
        figures["stores"] += 1
    figures["seconds"] = round(time.monotonic() - started, 3)
    return figures
