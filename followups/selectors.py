"""Reads of the follow-up pages, the API and the 360 page's cards; each takes the dealership (and the user where
it matters) so that scoping cannot be forgotten. Counts are aggregates in SQL, never a loop of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from dealercrm.core.models import Dealership

from .models import Complaint, FollowupPolicy, Message, MessageTemplate, Survey, Touch, TouchAttempt
from .reasons import reason_text

#: how many rows each card of the 360 page shows
CARD_ROWS = 5
#: what the touches card shows (the assignee by name): fewer columns to read and build
CARD_TOUCH_FIELDS = (
    "id",
    "dealership_id",
    "customer_id",
    "kind",
    "due_at",
    "channel",
    "status",
    "reason",
    "outcome",
    "assignee__id",
    "assignee__username",
    "assignee__display_name",
    "assignee__first_name",
    "assignee__last_name",
)

DONE = (Touch.Status.SENT, Touch.Status.DELIVERED, Touch.Status.DONE)
FAILED = (Touch.Status.FAILED, Touch.Status.AMBIGUOUS, Touch.Status.EXPIRED)
#: statuses whose reasons the overview lists
WITH_REASON = (Touch.Status.SKIPPED, Touch.Status.CANCELLED, Touch.Status.EXPIRED, Touch.Status.FAILED)


def touches(*, dealership: Dealership) -> QuerySet[Touch]:
    return Touch.objects.filter(dealership=dealership).select_related("customer", "assignee")


def touch_get(*, dealership: Dealership, pk) -> Touch:
    return get_object_or_404(touches(dealership=dealership).select_related("visit", "vehicle"), pk=pk)


def touch_history(*, touch: Touch) -> dict:
    """A touch's calls (attempts) and messages, newest first: two queries."""
    return {
        "attempts": list(TouchAttempt.objects.filter(touch=touch).select_related("agent")),
        "sent_messages": list(Message.objects.filter(touch=touch)),
    }


def message_templates(*, dealership: Dealership) -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.filter(dealership=dealership)


def message_template_get(*, dealership: Dealership, pk) -> MessageTemplate:
    return get_object_or_404(message_templates(dealership=dealership), pk=pk)


def followup_policy(*, dealership: Dealership) -> FollowupPolicy:
    """The store's settings row (unsaved, with the defaults, when it has none)."""
    return FollowupPolicy.objects.filter(dealership=dealership).first() or FollowupPolicy(dealership=dealership)


def surveys(*, dealership: Dealership) -> QuerySet[Survey]:
    return Survey.objects.filter(dealership=dealership).select_related("customer")


def complaints_open(*, dealership: Dealership, limit: int = 20) -> list[Complaint]:
    """Open and acknowledged complaints, the nearest deadline first (the overview's list)."""
    return list(
        Complaint.objects.filter(dealership=dealership, status__in=Complaint.OPEN_STATES)
        .select_related("customer", "owner")
        .order_by("response_due_at", "id")[:limit]
    )


# --- the 360 page's cards ---------------------------------------------------------------------------------


def with_reason_words(rows):
    for row in rows:
        row.reason_words = reason_text(row.reason) if row.reason else ""
    return rows


def customer_touches(*, dealership: Dealership, customer, limit: int = CARD_ROWS) -> dict:
    """The customer's touches still to happen (soonest first) and the latest that happened or stopped, each
    with its reason in words: two small queries on the customer's index (one query with a row number per group
    costs more to compile than it saves)."""
    theirs = (
        Touch.objects.filter(dealership=dealership, customer=customer)
        .select_related("assignee")
        .only(*CARD_TOUCH_FIELDS)
    )
    due = list(theirs.filter(status__in=Touch.PENDING).order_by("due_at", "id")[:limit])
    recent = list(theirs.exclude(status__in=Touch.PENDING).order_by("-due_at", "-id")[:limit])
    return {"due": with_reason_words(due), "recent": with_reason_words(recent)}


def customer_surveys(*, dealership: Dealership, customer, limit: int = CARD_ROWS) -> list[Survey]:
    """The customer's latest surveys with their scores: one query."""
    from .surveys import surveys_for_customer

    return list(surveys_for_customer(dealership=dealership, customer=customer)[:limit])


def customer_complaints(*, dealership: Dealership, customer, user=None, limit: int = CARD_ROWS) -> list[Complaint]:
    """The customer's complaints ``user`` may read (an advisor: those on their own visits), open ones first,
    then the latest: one query."""
    from .complaints import complaints_visible

    open_first = Case(When(status__in=Complaint.OPEN_STATES, then=Value(0)), default=Value(1))
    return list(
        complaints_visible(dealership=dealership, user=user)
        .filter(customer=customer)
        .alias(open_first=open_first)
        .order_by("open_first", "-opened_at", "-id")[:limit]
    )


# --- the agent's follow-ups ---------------------------------------------------------------------------------


def day_bounds(dealership: Dealership, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dealership.zone)
    return start, start + dt.timedelta(days=1)


def my_followups(*, dealership: Dealership, user, now: dt.datetime | None = None) -> dict:
    """The agent's follow-up calls: overdue (due before now), due later today, done today. Two queries."""
    now = now or timezone.now()
    start, end = day_bounds(dealership, dealership.local_date(now))
    mine = touches(dealership=dealership).filter(assignee=user, channel="call")
    pending = list(mine.filter(status__in=Touch.PENDING, due_at__lt=end).order_by("priority", "due_at", "id"))
    done = list(
        mine.filter(completed_at__gte=start, completed_at__lt=end)
        .exclude(status__in=Touch.PENDING)
        .order_by("-completed_at")
    )
    return {
        "overdue": [t for t in pending if t.due_at < now],
        "due": [t for t in pending if t.due_at >= now],
        "done": with_reason_words(done),
    }


# --- the manager's overview ---------------------------------------------------------------------------------


@dataclass
class Counts:
    due: int = 0
    overdue: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.due + self.overdue + self.done + self.failed + self.skipped + self.cancelled

    def add(self, other: Counts) -> None:
        for name in ("due", "overdue", "done", "failed", "skipped", "cancelled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Overview:
    start: dt.date
    end: dt.date
    by_kind: list = field(default_factory=list)  # [(label, kind, Counts)]
    by_agent: list = field(default_factory=list)  # [(user or None, Counts)]
    totals: Counts = field(default_factory=Counts)
    reasons: list = field(default_factory=list)  # [(status label, reason code, words, n)]


def overview(*, dealership: Dealership, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> Overview:
    """The touches due from ``start`` to ``end`` (local days, both included), counted per kind and per agent
    (one aggregate query grouped by both), and the reasons of those skipped, cancelled, expired or failed (a
    second one)."""
    from dealercrm.core.models import User

    now = now or timezone.now()
    since, _ = day_bounds(dealership, start)
    _, until = day_bounds(dealership, end)
    rows = Touch.objects.filter(dealership=dealership, due_at__gte=since, due_at__lt=until)
    pending = Q(status__in=Touch.PENDING)
    grouped = (
        rows.order_by()
        .values("kind", "assignee")
        .annotate(
            due=Count("pk", filter=pending & Q(due_at__gte=now)),
            overdue=Count("pk", filter=pending & Q(due_at__lt=now)),
            done=Count("pk", filter=Q(status__in=DONE)),
            failed=Count("pk", filter=Q(status__in=FAILED)),
            skipped=Count("pk", filter=Q(status=Touch.Status.SKIPPED)),
            cancelled=Count("pk", filter=Q(status=Touch.Status.CANCELLED)),
        )
    )
    by_kind: dict[str, Counts] = {}
    by_agent: dict[int | None, Counts] = {}
    result = Overview(start=start, end=end)
    for row in grouped:
        counts = Counts(**{name: row[name] for name in ("due", "overdue", "done", "failed", "skipped", "cancelled")})
        by_kind.setdefault(row["kind"], Counts()).add(counts)
        by_agent.setdefault(row["assignee"], Counts()).add(counts)
        result.totals.add(counts)
    labels = dict(Touch.Kind.choices)
    result.by_kind = [(labels.get(kind, kind), kind, counts) for kind, counts in sorted(by_kind.items())]
    agents = User.objects.in_bulk([pk for pk in by_agent if pk]) if any(by_agent) else {}
    result.by_agent = sorted(
        ((agents.get(pk), counts) for pk, counts in by_agent.items()),
        key=lambda item: (item[0] is None, str(item[0] or "")),
    )
    statuses = dict(Touch.Status.choices)
    reasons = (
        rows.filter(status__in=WITH_REASON)
        .order_by()
        .values("status", "reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "status", "reason")
    )
    result.reasons = [
        (statuses[row["status"]], row["reason"], reason_text(row["reason"]) if row["reason"] else "", row["n"])
        for row in reasons
    ]
    return result
