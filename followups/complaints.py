"""Complaints: opened from a survey, a call or the counter; answered within the store's business hours.

States: open → acknowledged → resolved → closed. A move from any other state is refused with ``StateConflict``
(409) and a code saying which state the complaint is in. Every step is audited (``Complaint`` has its history;
the services run as their ``acting_user``).

Deadlines, in the store's time zone and business hours (``FollowupPolicy``):

* the first response within ``complaint_response_hours`` **business** hours (``add_business_hours``);
* the customer told how it is handled within ``complaint_resolution_days`` working days
  (``add_working_days``: the end of the store's day on the last of them).

Opening a complaint plans its follow-up call (a touch of kind complaint for one of the store's agents, due at
once) and holds back the customer's pending surveys and marketing (the stop condition "complaint open").
``complaint_deadlines_check`` (the beat job ``followups.tasks.complaint_deadlines_task``) escalates, once, the
complaints still unanswered past their first-response deadline: the store's administrators get an email.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, Count, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers.models import Customer, ServiceVisit
from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import Dealership, User
from dealercrm.core.roles import Role

from .models import Complaint, FollowupPolicy, Priority, Survey, Touch, TouchChannel, TouchClass
from .policy import business_days, policy_for
from .stops import cancel_pending

logger = logging.getLogger(__name__)

#: how many times an agent tries to reach the customer about their complaint
COMPLAINT_CALL_ATTEMPTS = 3


# --- business hours ----------------------------------------------------------------------------------------


def add_business_hours(
    start: dt.datetime,
    hours: float,
    *,
    zone,
    opens: dt.time,
    closes: dt.time,
    workdays,
) -> dt.datetime:
    """The moment ``hours`` business hours after ``start`` (aware), counting only the time between ``opens``
    and ``closes`` on the ISO weekdays ``workdays``, in ``zone``. A start outside business hours counts from
    the next opening; a deadline that falls exactly at closing time stays on that day."""
    if opens >= closes:
        raise ValueError("business hours must open before they close")
    workdays = set(workdays)
    if not workdays:
        raise ValueError("a store needs at least one working day")
    remaining = dt.timedelta(hours=hours)
    local = start.astimezone(zone).replace(tzinfo=None)
    day = local.date()
    cursor = local
    while True:
        if day.isoweekday() in workdays:
            day_open = dt.datetime.combine(day, opens)
            day_close = dt.datetime.combine(day, closes)
            begin = max(cursor, day_open)
            if begin < day_close:
                available = day_close - begin
                if remaining <= available:
                    return (begin + remaining).replace(tzinfo=zone)
                remaining -= available
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time.min)


def add_working_days(start: dt.datetime, days: int, *, zone, closes: dt.time, workdays) -> dt.datetime:
    """The close of business on the ``days``-th working day after the day of ``start`` (aware, in ``zone``)."""
    workdays = set(workdays)
    if not workdays:
        raise ValueError("a store needs at least one working day")
    day = start.astimezone(zone).date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if day.isoweekday() in workdays:
            counted += 1
    return dt.datetime.combine(day, closes, tzinfo=zone)


def response_due(policy: FollowupPolicy, opened_at: dt.datetime) -> dt.datetime:
    """When the first response to a complaint opened at ``opened_at`` is due, by the store's business hours."""
    return add_business_hours(
        opened_at,
        policy.complaint_response_hours,
        zone=policy.dealership.zone,
        opens=policy.business_from,
        closes=policy.business_until,
        workdays=business_days(policy),
    )


def resolution_due(policy: FollowupPolicy, opened_at: dt.datetime) -> dt.datetime:
    """When the customer must have been told how their complaint is handled (working days)."""
    return add_working_days(
        opened_at,
        policy.complaint_resolution_days,
        zone=policy.dealership.zone,
        closes=policy.business_until,
        workdays=business_days(policy),
    )


# --- selectors ---------------------------------------------------------------------------------------------


def visible_only_on_visits_of(user) -> int | None:
    """The advisor whose visits' complaints are the only ones ``user`` may read (a service advisor: their own
    visits, SPEC "r (own visits)"), or None when ``user`` may read all of the store's."""
    if user is not None and getattr(user, "role", None) == Role.ADVISOR:
        return user.pk
    return None


def complaints_visible(*, dealership: Dealership, user=None) -> QuerySet[Complaint]:
    """The store's complaints ``user`` may read (``visible_only_on_visits_of``)."""
    qs = Complaint.objects.filter(dealership=dealership)
    advisor = visible_only_on_visits_of(user)
    if advisor is not None:
        qs = qs.filter(visit__advisor_id=advisor)
    return qs


def complaint_list(*, dealership: Dealership, user=None, status: str = "") -> QuerySet[Complaint]:
    """Open ones first (the earliest first-response deadline on top), then the acknowledged ones (the earliest
    resolution deadline on top), then the rest, newest first."""
    qs = complaints_visible(dealership=dealership, user=user).select_related("customer", "visit", "owner")
    if status:
        qs = qs.filter(status=status)
    rank = Case(
        When(status=Complaint.Status.OPEN, then=Value(0)),
        When(status=Complaint.Status.ACKNOWLEDGED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    # the deadline that matters now: the first response of an open one, the resolution of an acknowledged one
    deadline = Case(
        When(status=Complaint.Status.OPEN, then=F("response_due_at")),
        When(status=Complaint.Status.ACKNOWLEDGED, then=F("resolution_due_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )
    return qs.alias(state_rank=rank, deadline=deadline).order_by(
        "state_rank", F("deadline").asc(nulls_last=True), "-opened_at", "-id"
    )


def complaint_get(*, dealership: Dealership, pk, user=None) -> Complaint:
    qs = complaints_visible(dealership=dealership, user=user).select_related(
        "customer", "visit", "visit__vehicle", "survey", "owner", "opened_by"
    )
    return get_object_or_404(qs, pk=pk)


def complaints_for_customer(*, dealership: Dealership, customer: Customer) -> QuerySet[Complaint]:
    """The customer's complaints, newest first (the customer 360 page's card and the call card)."""
    return Complaint.objects.filter(dealership=dealership, customer=customer).order_by("-opened_at", "-id")


def is_overdue(complaint: Complaint, now: dt.datetime | None = None) -> bool:
    """Past its first-response deadline and not yet acknowledged."""
    now = now or timezone.now()
    return complaint.status == Complaint.Status.OPEN and complaint.response_due_at <= now


def resolution_overdue(complaint: Complaint, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return complaint.status in Complaint.OPEN_STATES and complaint.resolution_due_at <= now


# --- services ----------------------------------------------------------------------------------------------


def _real_user(user):
    return user if getattr(user, "pk", None) and getattr(user, "is_authenticated", True) else None


def complaint_agent(dealership: Dealership):
    """The store's agent with the fewest pending follow-up calls (None when the store has no active agent)."""
    return (
        User.objects.filter(is_active=True, role=Role.AGENT, memberships__dealership=dealership)
        .annotate(
            load=Count(
                "touches",
                filter=Q(touches__channel=TouchChannel.CALL, touches__status__in=Touch.PENDING),
            )
        )
        .order_by("load", "pk")
        .first()
    )


def _stop_surveys_and_marketing(customer: Customer, now: dt.datetime) -> int:
    """The stop condition of an open complaint: the customer's pending surveys and marketing, cancelled."""
    from .stops import stop_for_open_complaint

    return stop_for_open_complaint(customer=customer, now=now)


@audited
@transaction.atomic
def complaint_open(
    *,
    dealership: Dealership,
    customer: Customer,
    source: str,
    summary: str,
    visit: ServiceVisit | None = None,
    survey: Survey | None = None,
    acting_user=None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Open a complaint with its deadlines, plan its follow-up call and hold back surveys and marketing.

    A survey opens at most one complaint: asked again, the same complaint comes back."""
    now = now or timezone.now()
    if customer.dealership_id != dealership.pk:
        raise ApplicationError(_("This customer is not one of this dealership's."), code="customer_not_found")
    if visit is not None and (visit.dealership_id != dealership.pk or visit.customer_id != customer.pk):
        raise ApplicationError(
            _("The visit is not one of this customer's."), code="visit_not_customers", fields={"visit": []}
        )
    if source not in Complaint.Source.values:
        raise ApplicationError(_("Unknown source of a complaint."), code="complaint_source_unknown")
    summary = (summary or "").strip()
    if not summary:
        raise ApplicationError(
            _("Say what the customer complains about."),
            code="complaint_summary_required",
            fields={"summary": [_("Say what the customer complains about.")]},
        )
    if survey is not None:
        existing = Complaint.objects.filter(survey=survey).first()
        if existing is not None:
            return existing
    policy = policy_for(dealership)
    complaint = Complaint.objects.create(
        dealership=dealership,
        customer=customer,
        visit=visit,
        survey=survey,
        source=source,
        summary=summary,
        opened_by=_real_user(acting_user),
        opened_at=now,
        response_due_at=response_due(policy, now),
        resolution_due_at=resolution_due(policy, now),
    )
    Touch.objects.create(
        dealership=dealership,
        kind=Touch.Kind.COMPLAINT,
        customer=customer,
        visit=visit,
        complaint=complaint,
        due_at=now,
        touch_class=TouchClass.SERVICE,
        channel=TouchChannel.CALL,
        assignee=complaint_agent(dealership),
        priority=Priority.COMPLAINT,
        max_attempts=COMPLAINT_CALL_ATTEMPTS,
        created_at=now,
        updated_at=now,
    )
    _stop_surveys_and_marketing(customer, now)
    return complaint


def _lock(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


#: each step: the state it starts from, the code and the words of its refusal from any other state
MOVES = {
    "acknowledge": (
        Complaint.Status.OPEN,
        "complaint_not_open",
        gettext_lazy("Only an open complaint can be acknowledged; this one is %(status)s."),
    ),
    "resolve": (
        Complaint.Status.ACKNOWLEDGED,
        "complaint_not_acknowledged",
        gettext_lazy("Only an acknowledged complaint can be resolved; this one is %(status)s."),
    ),
    "close": (
        Complaint.Status.RESOLVED,
        "complaint_not_resolved",
        gettext_lazy("Only a resolved complaint can be closed; this one is %(status)s."),
    ),
}
#: the codes of the state conflicts (409) the steps answer with
CONFLICT_CODES = {move: [code] for move, (_state, code, _text) in MOVES.items()}


def move_refusal(complaint: Complaint, move: str) -> StateConflict | None:
    """Why ``move`` cannot be made from the complaint's state (a ``StateConflict`` to raise), or None."""
    start, code, text = MOVES[move]
    if complaint.status == start:
        return None
    return StateConflict(str(text) % {"status": complaint.get_status_display().lower()}, code=code)


def _check_move(complaint: Complaint, move: str) -> None:
    refusal = move_refusal(complaint, move)
    if refusal is not None:
        raise refusal


@audited
@transaction.atomic
def complaint_acknowledge(*, complaint: Complaint, acting_user=None, now: dt.datetime | None = None) -> Complaint:
    """The first response: someone has taken the complaint up (its owner, unless it has one)."""
    complaint = _lock(complaint)
    _check_move(complaint, "acknowledge")
    complaint.status = Complaint.Status.ACKNOWLEDGED
    complaint.acknowledged_at = now or timezone.now()
    if complaint.owner_id is None:
        complaint.owner = _real_user(acting_user)
    complaint._change_reason = "acknowledge"
    complaint.save(update_fields=["status", "acknowledged_at", "owner"])
    return complaint


@audited
@transaction.atomic
def complaint_resolve(
    *, complaint: Complaint, resolution: str, acting_user=None, now: dt.datetime | None = None
) -> Complaint:
    """How it was handled, as the customer was told it."""
    complaint = _lock(complaint)
    _check_move(complaint, "resolve")
    resolution = (resolution or "").strip()
    if not resolution:
        raise ApplicationError(
            _("Say how the complaint was handled."),
            code="complaint_resolution_required",
            fields={"resolution": [_("Say how the complaint was handled.")]},
        )
    complaint.status = Complaint.Status.RESOLVED
    complaint.resolution = resolution
    complaint.resolved_at = now or timezone.now()
    complaint._change_reason = "resolve"
    complaint.save(update_fields=["status", "resolution", "resolved_at"])
    return complaint


@audited
@transaction.atomic
def complaint_close(*, complaint: Complaint, acting_user=None, now: dt.datetime | None = None) -> Complaint:
    """Closed for good: the customer accepted how it was handled."""
    complaint = _lock(complaint)
    _check_move(complaint, "close")
    complaint.status = Complaint.Status.CLOSED
    complaint.closed_at = now or timezone.now()
    complaint._change_reason = "close"
    complaint.save(update_fields=["status", "closed_at"])
    # the customer has been told: a follow-up call still waiting for them has nothing left to say
    cancel_pending(complaint.touches.all(), reason="complaint_closed", now=complaint.closed_at)
    return complaint


# --- the deadline job --------------------------------------------------------------------------------------


def _claim_escalations(now: dt.datetime) -> list[int]:
    """Mark the complaints due for escalation as escalated (inside the caller's transaction): the due rows are
    locked (rows another run holds are skipped), then one conditional ``UPDATE … WHERE escalated_at IS NULL``
    marks them, so a complaint is escalated by exactly one run however many run at once."""
    due = Complaint.objects.filter(
        status=Complaint.Status.OPEN, escalated_at__isnull=True, response_due_at__lte=now
    ).order_by("pk")
    ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
    if not ids:
        return []
    Complaint.objects.filter(pk__in=ids, escalated_at__isnull=True, status=Complaint.Status.OPEN).update(
        escalated_at=now
    )
    return ids


def store_admins(dealership_ids) -> dict[int, list[User]]:
    """The active administrators of each store with an email address."""
    found: dict[int, list[User]] = {}
    admins = (
        User.objects.filter(is_active=True, role=Role.ADMIN, memberships__dealership_id__in=dealership_ids)
        .exclude(email="")
        .annotate(store=F("memberships__dealership_id"))
        .order_by("pk")
    )
    for user in admins:
        found.setdefault(user.store, []).append(user)
    return found


def _escalation_mail(dealership: Dealership, complaints: list[Complaint], now: dt.datetime) -> tuple[str, str]:
    base = getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")
    zone = dealership.zone
    subject = ngettext(
        "%(store)s: %(n)d complaint unanswered past its first-response deadline",
        "%(store)s: %(n)d complaints unanswered past their first-response deadline",
        len(complaints),
    ) % {"store": dealership.name, "n": len(complaints)}
    lines = [
        _("These complaints have had no first response within the store's deadline:"),
        "",
    ]
    for complaint in complaints:
        lines.append(
            _("- %(customer)s, opened %(opened)s, due %(due)s: %(summary)s")
            % {
                "customer": complaint.customer.name,
                "opened": complaint.opened_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "due": complaint.response_due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "summary": complaint.summary[:200],
            }
        )
        lines.append("  " + base + reverse("followups:complaint", args=[complaint.pk]))
    lines += ["", _("Acknowledge each one once somebody has taken it up.")]
    return subject, "\n".join(lines)


def complaint_deadlines_check(*, now: dt.datetime | None = None) -> dict:
    """Escalate, once, every complaint still open past its first-response deadline: ``escalated_at`` is set by
    a conditional ``UPDATE`` (so a second run, or two at once, escalate nothing twice), the change goes into the
    complaint's history, and the store's administrators get one email listing its escalated complaints.

    Returns ``{"escalated": n, "emails": m}``."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = _claim_escalations(now)
        if not ids:
            return {"escalated": 0, "emails": 0}
        claimed = list(Complaint.objects.filter(pk__in=ids).select_related("dealership", "customer"))
        Complaint.history.bulk_history_create(
            claimed, update=True, default_change_reason="escalated: first-response deadline passed"
        )
    by_store: dict[int, list[Complaint]] = {}
    for complaint in claimed:
        by_store.setdefault(complaint.dealership_id, []).append(complaint)
    admins = store_admins(by_store)
    emails = 0
    for store_id, complaints in by_store.items():
        recipients = [user.email for user in admins.get(store_id, [])]
        if not recipients:
            logger.warning("complaints escalated in store %s, which has no administrator with an email", store_id)
            continue
        dealership = complaints[0].dealership
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = _escalation_mail(dealership, sorted(complaints, key=lambda c: c.response_due_at), now)
        send_mail(subject, body, None, recipients)
        emails += 1
    return {"escalated": len(claimed), "emails": emails}
