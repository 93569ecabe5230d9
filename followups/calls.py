"""Follow-up calls: the call tasks among the touches, as the agent's workbench queues and records them.

A follow-up call is a touch on the channel "call" assigned to an agent (day-7/15/30 follow-ups, satisfaction
calls after a visit or a campaign, maintenance reminder calls, complaint follow-ups). It joins the agent's
campaign invitations in one queue (``campaigns.callcard`` reads its head across both), ordered by priority
(``Touch.priority``; an invitation counts as ``Priority.MARKETING``) and due time.

Whether the customer may be called is the contact rule of ``customers.contact`` for the touch's class: a
service call needs no marketing consent, do-not-contact stops everything, a known wrong number stops calls.

``followup_call_record`` records one call of the agent and moves the touch on in one transaction, under the
touch's row lock: a touch that is no longer planned (recorded a moment ago in another tab, cancelled, expired)
or not the agent's is refused with ``StateConflict`` (409).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.contact import MARKETING, SERVICE, contactable, refusal
from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import Dealership

from .models import Touch, TouchAttempt, TouchChannel
from .reasons import reason_text

#: a call not answered (or busy) comes back to the agent after this long (as a campaign call does)
RETRY_AFTER = timedelta(hours=2)
Kind = Touch.Kind
Outcome = TouchAttempt.Outcome
#: the kinds whose call asks the customer's satisfaction (1–5)
SATISFACTION_KINDS = frozenset({Kind.SATISFACTION, Kind.CAMPAIGN_SATISFACTION})
#: what the agent says, per kind of follow-up call (the card shows it; a kind not named has the general one)
SCRIPTS = {
    Kind.DAY_7: gettext_lazy(
        "Hello, this is the service desk of {store}. You were with us a week ago: is everything fine with the "
        "car since the service? Is there anything we should look at again?"
    ),
    Kind.DAY_15: gettext_lazy(
        "Hello, this is the service desk of {store}. Two weeks after your visit, we would like to know how the "
        "car is running and whether the work done meets your expectations."
    ),
    Kind.DAY_30: gettext_lazy(
        "Hello, this is the service desk of {store}. A month after your visit: how is the car? We are glad to "
        "answer any question and to book your next service when it is due."
    ),
    Kind.SATISFACTION: gettext_lazy(
        "Hello, this is the customer care team of {store}, calling about your recent visit. On a scale of 1 to "
        "5, how satisfied are you with our service? Is there anything we could have done better?"
    ),
    Kind.CAMPAIGN_SATISFACTION: gettext_lazy(
        "Hello, this is the customer care team of {store}. Thank you for coming to our recent event. On a scale "
        "of 1 to 5, how satisfied were you with it and with the service that day?"
    ),
    Kind.DUE_CALL: gettext_lazy(
        "Hello, this is the service desk of {store}. By our records your car's next maintenance is due soon. "
        "Shall I book a time that suits you?"
    ),
    Kind.COMPLAINT: gettext_lazy(
        "Hello, this is the customer care team of {store}, following up on the matter you raised with us. "
        "Has it been resolved to your satisfaction? Is there anything still open?"
    ),
}
GENERAL_SCRIPT = gettext_lazy(
    "Hello, this is {store}. Introduce yourself, say why you are calling, and listen for anything the customer "
    "needs from us."
)


def script_for(kind: str, store: str) -> str:
    """The script of a follow-up call of ``kind``, with the store's name."""
    return str(SCRIPTS.get(kind, GENERAL_SCRIPT)).format(store=store)


def reachable() -> Q:
    """Touches whose customer may be called for the touch's class (``customers.contact``), on ``Touch``."""
    return Q(touch_class=SERVICE) & contactable(SERVICE, "call", prefix="customer__") | Q(
        touch_class=MARKETING
    ) & contactable(MARKETING, "call", prefix="customer__")


def _agent_open(agent, dealership: Dealership, now: datetime) -> QuerySet[Touch]:
    """The agent's planned call tasks of ``dealership`` not expired at ``now``, whose customer may be called."""
    return Touch.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        reachable(),
        dealership=dealership,
        channel=TouchChannel.CALL,
        status=Touch.Status.PLANNED,
        assignee=agent,
    )


def followup_queue(*, agent, dealership: Dealership, now: datetime | None = None) -> QuerySet[Touch]:
    """The follow-up part of the agent's queue: their call tasks due now, by priority, then due time.

    ``campaigns.callcard`` reads the same rules in SQL (its tests hold it to this queryset)."""
    now = now or timezone.now()
    return _agent_open(agent, dealership, now).filter(due_at__lte=now).order_by("priority", "due_at", "id")


def followup_next_due_at(*, agent, dealership: Dealership, now: datetime | None = None) -> datetime | None:
    """When the agent's next follow-up call comes due (a retry, a call back, a task planned ahead), or None."""
    now = now or timezone.now()
    return (
        _agent_open(agent, dealership, now)
        .filter(due_at__gt=now)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


def touch_for_agent(*, agent, dealership: Dealership, pk: int) -> Touch | None:
    """One of the dealership's call tasks (any status), with its customer, or None; the service checks that it
    is the agent's and still planned."""
    return (
        Touch.objects.filter(dealership=dealership, channel=TouchChannel.CALL, pk=pk)
        .select_related("customer", "dealership")
        .first()
    )


def _check_satisfaction(touch: Touch, outcome: str, satisfaction) -> int | None:
    if satisfaction in (None, ""):
        return None
    if touch.kind not in SATISFACTION_KINDS or outcome not in (Outcome.DONE, Outcome.COMPLAINT):
        message = _("A satisfaction score is given only when a satisfaction call reached the customer.")
        raise ApplicationError(message, code="satisfaction_not_asked", fields={"satisfaction": [message]})
    try:
        score = int(satisfaction)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        message = _("The satisfaction score is a whole number from 1 to 5.")
        raise ApplicationError(message, code="satisfaction_out_of_range", fields={"satisfaction": [message]})
    return score


@audited(actor="agent")
@transaction.atomic
def followup_call_record(
    *,
    touch: Touch,
    agent,
    outcome: str,
    note: str = "",
    reason: str = "",
    call_back_at: datetime | None = None,
    satisfaction: int | None = None,
    now: datetime | None = None,
) -> TouchAttempt:
    """Record one call of ``agent`` for the follow-up call task ``touch`` and move the touch on.

    Reached (done), declined (with its ``reason``, one of ``CallAttempt.DeclineReason``) and complaint raised
    (``note`` says what the customer said; a complaint is opened from the call) end the task; no answer and busy
    use an attempt and bring it back after ``RETRY_AFTER``, until ``max_attempts`` (then it fails with the
    reason ``attempts_exhausted``); call back makes it due at ``call_back_at`` without using an attempt; wrong
    number ends it and flags the customer as a campaign call does. A satisfaction call may carry the
    customer's score (1–5). Refused with ``StateConflict`` (409) when the touch is no longer planned or is not
    the agent's."""
    from campaigns.services import customer_wrong_number_flag, decline_reason_check

    now = now or timezone.now()
    touch = Touch.objects.select_for_update(of=("self",)).select_related("customer", "dealership").get(pk=touch.pk)
    if outcome not in Outcome.values:
        raise ApplicationError(_("Unknown outcome: %(o)s.") % {"o": outcome}, code="unknown_outcome")
    if touch.channel != TouchChannel.CALL:
        raise ApplicationError(_("This touch is not a call task."), code="not_a_call")
    if touch.assignee_id != getattr(agent, "pk", None):
        raise StateConflict(_("This follow-up call is on another agent's list."), code="another_agents_touch")
    if touch.status != Touch.Status.PLANNED:
        raise StateConflict(
            _("This follow-up call is no longer to be made (%(s)s).") % {"s": touch.get_status_display().lower()},
            code="touch_not_planned",
        )
    if touch.expires_at is not None and touch.expires_at <= now:
        raise StateConflict(_("The time for this follow-up call has run out."), code="touch_expired")
    condition = refusal(touch.customer, touch.touch_class, "call")
    if condition is not None:
        raise ApplicationError(str(condition.message), code=condition.code)
    reason = decline_reason_check(outcome=outcome, reason=reason, declined=Outcome.DECLINED)
    score = _check_satisfaction(touch, outcome, satisfaction)
    note = (note or "").strip()[:500]
    if call_back_at is not None and timezone.is_naive(call_back_at):
        call_back_at = timezone.make_aware(call_back_at, touch.dealership.zone)

    attempt = TouchAttempt(
        touch=touch, agent=agent, outcome=outcome, called_at=now, note=note, reason=reason, satisfaction=score
    )
    touch.outcome = outcome
    touch.updated_at = now
    if note:
        stamp = timezone.localtime(now, touch.dealership.zone).strftime("%Y-%m-%d %H:%M")
        touch.notes = f"{touch.notes}\n{stamp} {note}".strip()
    if outcome == Outcome.CALL_BACK:  # agreed with the customer: no attempt used
        if call_back_at is None or call_back_at <= now:
            message = _("Give a call-back time later than now.")
            raise ApplicationError(message, code="call_back_not_later", fields={"call_back_at": [message]})
        if touch.expires_at is not None and call_back_at >= touch.expires_at:
            message = _("The call-back time is after this follow-up call expires (%(t)s).") % {
                "t": timezone.localtime(touch.expires_at, touch.dealership.zone).strftime("%Y-%m-%d %H:%M")
            }
            raise ApplicationError(message, code="call_back_after_expiry", fields={"call_back_at": [message]})
        attempt.call_back_at = touch.due_at = call_back_at
    else:
        touch.attempts = min(touch.attempts + 1, touch.max_attempts)
    if outcome in (Outcome.NO_ANSWER, Outcome.BUSY):
        if touch.attempts >= touch.max_attempts:
            _end(touch, Touch.Status.FAILED, now, reason="attempts_exhausted")
        else:
            touch.due_at = now + RETRY_AFTER
    elif outcome == Outcome.WRONG_NUMBER:
        _end(touch, Touch.Status.FAILED, now, reason="wrong_number")
        customer_wrong_number_flag(customer_id=touch.customer_id)
    elif outcome == Outcome.COMPLAINT:
        if not note:
            message = _("Write down what the customer complained about in the note.")
            raise ApplicationError(message, code="complaint_summary_required", fields={"note": [message]})
        _end(touch, Touch.Status.DONE, now)
        _complaint_open(touch=touch, agent=agent, summary=note, now=now)
    elif outcome in (Outcome.DONE, Outcome.DECLINED):
        _end(touch, Touch.Status.DONE, now)
    attempt.save()
    touch.save()
    return attempt


def _end(touch: Touch, status: str, now: datetime, *, reason: str = "") -> None:
    touch.status = status
    touch.completed_at = now
    touch.lease_until = None
    if reason:
        touch.reason, touch.reason_detail = reason, reason_text(reason)[:300]


def _complaint_open(*, touch: Touch, agent, summary: str, now: datetime):
    """A complaint raised on the call: opened as every complaint is (``followups.complaints``)."""
    from .complaints import complaint_open

    return complaint_open(
        dealership=touch.dealership,
        customer=touch.customer,
        source="call",
        summary=summary,
        visit=touch.visit,
        acting_user=agent,
        now=now,
    )
