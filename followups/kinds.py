"""What each kind of touch is: its class, channel, priority, when it is due, when it expires, how many attempts
it gets and whether an agent is assigned. One table, read by the planner (and by anyone who needs to know).

Days are counted from the kind's anchor date: the visit's date (day 7/15/30, satisfaction call, survey), the
campaign's last day (satisfaction call after a campaign), the vehicle's predicted due date (maintenance
reminders: negative offsets, from the store's settings), the birthday, the day a lapsed customer is seen.
A touch is due at the start of the store's sending window for its channel on its due day, in the store's time
zone (visits carry dates only), and expires at the start (00:00 local) of its expiry day.

Choices worth knowing:

* The day-7 touch is a **call** with satisfaction priority: a week after the service the customer can tell
  whether the car is right, and what they say is a satisfaction finding (a complaint, a repeat repair), so it
  goes ahead of maintenance reminders in an agent's queue. It gets three attempts and expires when the day-15
  care message takes over (the start of day 15).
* Day 15 and day 30 are care/reminder **texts** (service class: no marketing consent needed), maintenance
  priority; a text that could not go out within three days of its day is no longer worth sending.
* The satisfaction (CSI) call is due on day 2 and expires at the start of day 15 after at most three attempts;
  the campaign's satisfaction call is due the day after the campaign's last day and expires at the start of the
  fourth day after it ("within 3 days after a campaign ends").
* The survey is a text the day after the visit (24 hours after a visit that has only a date: the next day's
  sending window), valid to send for three days.
* Birthday care is service class and a text; marketing class when the store's settings attach an offer.
* The wake-up of a lapsed customer is a marketing text, once per half-year, expiring at the end of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Priority, Touch, TouchChannel, TouchClass

Kind = Touch.Kind


@dataclass(frozen=True)
class KindRule:
    kind: str
    touch_class: str
    channel: str
    priority: int
    #: days from the anchor date to the due day (None: set by the store's settings or the day it is planned)
    due_days: int | None
    #: days from the anchor date to the expiry day (the touch expires at its start); None: never / by rule
    expires_days: int | None
    max_attempts: int
    #: a call task given to one of the store's agents (in turn, never the visit's own advisor)
    assigned: bool


#: a text or e-mail is retried after a definite failure, capped (the dispatcher backs off between tries)
MESSAGE_ATTEMPTS = 3
#: a follow-up call: at most three attempts
CALL_ATTEMPTS = 3

RULES: dict[str, KindRule] = {
    rule.kind: rule
    for rule in (
        KindRule(Kind.DAY_7, TouchClass.SERVICE, TouchChannel.CALL, Priority.SATISFACTION, 7, 15, CALL_ATTEMPTS, True),
        KindRule(
            Kind.DAY_15, TouchClass.SERVICE, TouchChannel.SMS, Priority.MAINTENANCE, 15, 18, MESSAGE_ATTEMPTS, False
        ),
        KindRule(
            Kind.DAY_30, TouchClass.SERVICE, TouchChannel.SMS, Priority.MAINTENANCE, 30, 33, MESSAGE_ATTEMPTS, False
        ),
        KindRule(
            Kind.SATISFACTION, TouchClass.SERVICE, TouchChannel.CALL, Priority.SATISFACTION, 2, 15, CALL_ATTEMPTS, True
        ),
        KindRule(
            Kind.CAMPAIGN_SATISFACTION,
            TouchClass.SERVICE,
            TouchChannel.CALL,
            Priority.SATISFACTION,
            1,
            4,
            CALL_ATTEMPTS,
            True,
        ),
        KindRule(
            Kind.SURVEY, TouchClass.SERVICE, TouchChannel.SMS, Priority.SATISFACTION, 1, 4, MESSAGE_ATTEMPTS, False
        ),
        # due_days of the reminders: minus the store's reminder_message_days / reminder_call_days
        KindRule(
            Kind.DUE_MESSAGE,
            TouchClass.SERVICE,
            TouchChannel.SMS,
            Priority.MAINTENANCE,
            None,
            0,
            MESSAGE_ATTEMPTS,
            False,
        ),
        KindRule(
            Kind.DUE_CALL, TouchClass.SERVICE, TouchChannel.CALL, Priority.MAINTENANCE, None, 0, CALL_ATTEMPTS, True
        ),
        # on the birthday; marketing class when the store attaches an offer (see planner.plan_birthdays)
        KindRule(
            Kind.BIRTHDAY, TouchClass.SERVICE, TouchChannel.SMS, Priority.MARKETING, 0, 2, MESSAGE_ATTEMPTS, False
        ),
        # on the day it is planned; expires at the end of the half-year
        KindRule(
            Kind.WAKE_UP, TouchClass.MARKETING, TouchChannel.SMS, Priority.MARKETING, 0, None, MESSAGE_ATTEMPTS, False
        ),
    )
}

#: the day-7/15/30 follow-ups of the store's follow-up visit types
VISIT_FOLLOWUPS = (Kind.DAY_7, Kind.DAY_15, Kind.DAY_30)
#: the maintenance reminders: stopped when the customer books or comes
REMINDERS = (Kind.DUE_MESSAGE, Kind.DUE_CALL)


def rule(kind: str) -> KindRule:
    return RULES[kind]
