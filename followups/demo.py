"""The demo's follow-ups: the store's settings and message templates, and the last few days of follow-up work
replayed through the real planner, dispatcher, call, survey and complaint services.

``followups_demo_seed(dealership=…)`` runs on a store that has been seeded, segmented and given its campaign
(``make demo`` does all four). It writes the store's follow-up settings (the defaults: texts 09:00–20:00, at most
4 marketing touches in 30 days, a capped touch waits) and a message template per kind of text, in Chinese and
English. Then it replays the last ``days`` days as the beat would have run them, with the clock of each step
(``now=``): at 06:00 the planner; at 06:30 the dispatcher, in quiet hours, so that whatever is already due waits
for the window; at 09:05 the dispatcher again, which sends the texts (database back end); from 10:00 the agent
works through the follow-up calls (reached with a score, no answer, call back, declined with its reason, a
complaint raised); from 12:00 customers answer their surveys (one in five low, which opens a complaint); the
after-sales manager acknowledges, resolves and closes complaints, one stays untouched until its deadline passes and
is escalated; at 19:00 a last dispatch. Yesterday at 20:15 the DMS delivers three visits late: their touches are
planned, and, past 20:00, wait for this morning's window. This morning's plan runs too, and a customer who books
has their maintenance reminders cancelled, a lapsed customer who comes in has their wake-up cancelled, and a
customer who has had four marketing contacts this month has their wake-up held back by the cap.

What is left due now (this morning's texts, the agent's calls) is sent and worked by ``run_followups`` (or a
worker and beat) as the demo runs. Same seed and clock, same result. The replay is small whatever the store's
size (a few days of visits); it is not part of ``seed_demo`` and so not of its benchmark.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation

from customers.contact import contactable
from customers.demo import DEMO_USERS
from customers.models import ServiceVisit, Vehicle
from customers.services import appointment_create, sms_opt_out_record, visit_create
from dealercrm.core.audit import acting_as
from dealercrm.core.models import Dealership, User

from . import complaints, messaging, planner, stops
from .calls import followup_call_record
from .dispatcher import dispatch_due
from .models import (
    Complaint,
    FollowupPolicy,
    MessageTemplate,
    Survey,
    Touch,
    TouchAttempt,
    TouchChannel,
)
from .surveys import survey_answer
from .webhooks import last_marketing_text

#: five days: a complaint of the first day has passed its first-response deadline (24 business hours) by the last
DEFAULT_DAYS = 5
LANGUAGES = ("zh-hans", "en")
#: the kinds that go out as texts (their templates: SMS for each, e-mail too for the service texts)
TEXT_KINDS = (
    Touch.Kind.DAY_15,
    Touch.Kind.DAY_30,
    Touch.Kind.SURVEY,
    Touch.Kind.DUE_MESSAGE,
    Touch.Kind.BIRTHDAY,
    Touch.Kind.WAKE_UP,
    Touch.Kind.INVITATION,
)
SIGNATURE = "别克4S店"

#: the store's texts in Chinese (seed 003's care texts); the English ones are ``followups.messaging.DEFAULTS``
ZH_TEXTS = {
    Touch.Kind.DAY_15: (
        "保养后回访",
        "{customer_name}您好，{plate}于{visit_date}在{dealership_name}保养已半个月，车辆使用是否正常？如有任何问题欢迎随时联系我们。",
    ),
    Touch.Kind.DAY_30: (
        "保养后关怀",
        "{customer_name}您好，{plate}保养已满一个月，感谢您对{dealership_name}的信任，期待您再次光临。",
    ),
    Touch.Kind.SURVEY: (
        "服务满意度调查",
        "{customer_name}您好，感谢您{visit_date}光临{dealership_name}。请花一分钟为本次服务打分：{link}",
    ),
    Touch.Kind.DUE_MESSAGE: (
        "保养提醒",
        "{customer_name}您好，您的爱车{plate}预计在{due_date}前后需要保养，欢迎致电{dealership_name}预约。",
    ),
    Touch.Kind.BIRTHDAY: ("生日祝福", "{customer_name}您好，{dealership_name}全体员工祝您生日快乐，行车平安！"),
    Touch.Kind.WAKE_UP: (
        "好久不见",
        "{customer_name}您好，{plate}已有一段时间没有回{dealership_name}了，欢迎回店免费检测。",
    ),
    Touch.Kind.INVITATION: (
        "活动邀请",
        "{customer_name}您好，{dealership_name}诚邀您参加{campaign_name}，详情及预约：{link}",
    ),
}

#: the agent's calls of a day, in turn: (outcome, note, decline reason)
CALL_PATTERN = (
    (TouchAttempt.Outcome.DONE, "客户表示车辆使用正常，对服务满意", ""),
    (TouchAttempt.Outcome.NO_ANSWER, "", ""),
    (TouchAttempt.Outcome.DONE, "客户反馈一切正常，提醒下次保养时间", ""),
    (TouchAttempt.Outcome.CALL_BACK, "客户在开会，约明天上午再打", ""),
    (TouchAttempt.Outcome.BUSY, "", ""),
    (TouchAttempt.Outcome.DECLINED, "客户不方便接受回访", "time"),
    (TouchAttempt.Outcome.DONE, "客户满意，顺便询问了轮胎价格", ""),
    (TouchAttempt.Outcome.COMPLAINT, "客户反映保养后空调异响，要求回店检查", ""),
)
CALLS_PER_DAY = 16
#: survey answers in turn: (satisfaction, nps, comment); one in five is low and opens a complaint
SURVEY_PATTERN = (
    (5, 10, "服务很周到"),
    (4, 9, ""),
    (5, 9, "休息区很舒适"),
    (2, 4, "等了三个小时才交车，也没有人解释原因"),
    (4, 8, ""),
)
#: surveys answered per day (of those sent): about two in three
ANSWER_SHARE = 0.67
RESOLUTION = "已安排技师复检并免费处理，客户表示认可"
#: what the manager does with each complaint in turn
COMPLAINT_TURNS = ("leave", "acknowledge", "close", "resolve")
LATE_VISITS = 3


@dataclass
class FollowupDemoResult:
    created: bool
    templates: int = 0
    planned: dict[str, int] = field(default_factory=dict)
    dispatched: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    surveys_answered: int = 0
    complaints: int = 0
    cancelled: dict[str, int] = field(default_factory=dict)


def _add(into: dict, figures: dict) -> None:
    for key, value in figures.items():
        if isinstance(value, int):
            into[key] = into.get(key, 0) + value


def _at(day: dt.date, hour: int, minute: int, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def _users(dealership: Dealership) -> dict[str, User]:
    names = [username for username, _role, _name in DEMO_USERS]
    users = {u.username: u for u in User.objects.filter(username__in=names, memberships__dealership=dealership)}
    return users


def policy_and_templates(*, dealership: Dealership) -> int:
    """The store's follow-up settings (the defaults, written down) and a template per text kind, channel and
    language, each checked as a template saved on the page is. Returns how many templates were written."""
    FollowupPolicy.objects.update_or_create(
        dealership=dealership,
        defaults={
            "send_from": dt.time(9, 0),
            "send_until": dt.time(20, 0),
            "marketing_cap": 4,
            "cap_days": 30,
            "when_capped": FollowupPolicy.WhenCapped.WAIT,
            "followup_visit_types": ["maintenance"],
            "business_days": [1, 2, 3, 4, 5, 6],
        },
    )
    written = 0
    for kind in TEXT_KINDS:
        channels = [TouchChannel.SMS]
        if kind not in (Touch.Kind.WAKE_UP, Touch.Kind.INVITATION):
            channels.append(TouchChannel.EMAIL)
        for language in LANGUAGES:
            if language == "zh-hans":
                subject, body = ZH_TEXTS[kind]
            else:
                with translation.override("en"):
                    subject, body = (str(text) for text in messaging.DEFAULTS[kind])
            for channel in channels:
                messaging.template_check(dealership=dealership, kind=kind, channel=channel, body=body, subject=subject)
                MessageTemplate.objects.update_or_create(
                    dealership=dealership,
                    kind=kind,
                    channel=channel,
                    language=language,
                    defaults={
                        "subject": subject if channel == TouchChannel.EMAIL else "",
                        "body": body,
                        "signature": SIGNATURE if channel == TouchChannel.SMS else "",
                        "provider_template_code": f"SMS_{kind.upper()}" if channel == TouchChannel.SMS else "",
                    },
                )
                written += 1
    return written


class _Replay:
    def __init__(self, dealership: Dealership, *, seed: int, now: dt.datetime):
        self.store = dealership
        self.zone = dealership.zone
        self.now = now
        self.rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by its seed
        self.users = _users(dealership)
        self.manager = self.users.get("asmanager")
        self.result = FollowupDemoResult(created=True)
        self.call_turn = 0
        self.survey_turn = 0
        self.complaints_seen: set[int] = set()

    # --- the jobs, with their clock ---------------------------------------------------------------------

    def plan(self, when: dt.datetime) -> None:
        figures = planner.plan_all(now=when, dealerships=[self.store])
        _add(self.result.planned, figures.get("planned", {}))
        _add(self.result.cancelled, figures.get("cancelled", {}))

    def dispatch(self, when: dt.datetime) -> None:
        _add(self.result.dispatched, dispatch_due(now=when, max_seconds=60))

    def calls(self, day: dt.date) -> None:
        """The agents work their due follow-up calls from 10:00, a few minutes apart."""
        start = _at(day, 10, 0, self.zone)
        due = list(
            Touch.objects.filter(
                dealership=self.store,
                channel=TouchChannel.CALL,
                status=Touch.Status.PLANNED,
                assignee__isnull=False,
                due_at__lte=start,
            )
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=start + dt.timedelta(hours=8)))
            .select_related("assignee")
            .order_by("priority", "due_at", "id")[:CALLS_PER_DAY]
        )
        for i, touch in enumerate(due):
            when = start + dt.timedelta(minutes=9 * i)
            outcome, note, reason = CALL_PATTERN[self.call_turn % len(CALL_PATTERN)]
            self.call_turn += 1
            if touch.kind == Touch.Kind.COMPLAINT and outcome == TouchAttempt.Outcome.COMPLAINT:
                outcome, note = TouchAttempt.Outcome.DONE, "已向客户说明处理方案，客户同意回店复检"
            satisfaction = None
            satisfaction_call = touch.kind in (Touch.Kind.SATISFACTION, Touch.Kind.CAMPAIGN_SATISFACTION)
            if satisfaction_call and outcome == TouchAttempt.Outcome.DONE:
                satisfaction = self.rng.choice((4, 5, 5))
            call_back_at = None
            if outcome == TouchAttempt.Outcome.CALL_BACK:
                call_back_at = when + dt.timedelta(days=1)
                if touch.expires_at is not None and call_back_at >= touch.expires_at:
                    outcome, note = TouchAttempt.Outcome.NO_ANSWER, ""
                    call_back_at = None
            followup_call_record(
                touch=touch,
                agent=touch.assignee,
                outcome=outcome,
                note=note,
                reason=reason,
                call_back_at=call_back_at,
                satisfaction=satisfaction,
                now=when,
            )
            self.result.calls += 1

    def surveys(self, day: dt.date) -> None:
        """About two in three customers answer the survey they were sent today, from noon."""
        start = _at(day, 12, 0, self.zone)
        sent = list(
            Survey.objects.filter(
                dealership=self.store,
                answered_at__isnull=True,
                sent_at__lt=start,
                sent_at__gte=start - dt.timedelta(days=1),
            ).order_by("id")
        )
        chosen = [survey for survey in sent if self.rng.random() < ANSWER_SHARE]
        for i, survey in enumerate(chosen):
            satisfaction, nps, comment = SURVEY_PATTERN[self.survey_turn % len(SURVEY_PATTERN)]
            self.survey_turn += 1
            survey_answer(
                survey=survey,
                satisfaction=satisfaction,
                nps=nps,
                comment=comment,
                now=start + dt.timedelta(minutes=17 * i),
            )
            self.result.surveys_answered += 1

    def complaints(self, day: dt.date) -> None:
        """The after-sales manager takes up the complaints opened before today, each once, in turn: the first is
        left alone (its deadline passes and it is escalated), the next acknowledged, the next resolved and closed,
        the next resolved; and so on."""
        when = _at(day, 16, 0, self.zone)
        waiting = [
            complaint
            for complaint in Complaint.objects.filter(
                dealership=self.store, status=Complaint.Status.OPEN, opened_at__lt=_at(day, 0, 0, self.zone)
            ).order_by("opened_at", "id")
            if complaint.pk not in self.complaints_seen
        ]
        if self.manager is not None:
            with acting_as(self.manager):
                for complaint in waiting:
                    self.complaints_seen.add(complaint.pk)
                    turn = COMPLAINT_TURNS[(len(self.complaints_seen) - 1) % len(COMPLAINT_TURNS)]
                    if turn == "leave":
                        continue
                    complaint = complaints.complaint_acknowledge(
                        complaint=complaint, acting_user=self.manager, now=when
                    )
                    if turn in ("close", "resolve"):
                        complaint = complaints.complaint_resolve(
                            complaint=complaint, resolution=RESOLUTION, acting_user=self.manager, now=when
                        )
                    if turn == "close":
                        complaints.complaint_close(complaint=complaint, acting_user=self.manager, now=when)
        complaints.complaint_deadlines_check(now=_at(day, 18, 0, self.zone))

    # --- a day, and the special cases ---------------------------------------------------------------------

    def day(self, day: dt.date, *, first: bool = False) -> None:
        self.plan(_at(day, 6, 0, self.zone))
        self.dispatch(_at(day, 6, 30, self.zone))  # quiet hours: what is due waits for 09:00
        if first:  # a lapsed customer comes in at 08:00, before their wake-up text goes out; another replies "T"
            self.came_back(day)
            self.opted_out(day)
            _add(self.result.cancelled, stops.apply_stops(dealership=self.store, now=_at(day, 8, 30, self.zone)))
        self.dispatch(_at(day, 9, 5, self.zone))
        self.calls(day)
        self.surveys(day)
        self.complaints(day)
        self.dispatch(_at(day, 19, 0, self.zone))

    def late_visits(self, yesterday: dt.date) -> None:
        """The DMS delivers three maintenance visits of the day before late, at 20:15: their touches are planned
        at once and, past 20:00, wait for this morning's window."""
        when = _at(yesterday, 20, 15, self.zone)
        visited_on = yesterday - dt.timedelta(days=1)
        recent = ServiceVisit.objects.filter(
            vehicle_id=OuterRef("pk"), opened_on__gte=visited_on - dt.timedelta(days=60)
        )
        vehicles = list(
            Vehicle.objects.filter(dealership=self.store, owner__isnull=False)
            .filter(contactable("service", "sms", prefix="owner__"))
            .exclude(Exists(recent))
            .order_by("id")
            .values_list("id", flat=True)[: LATE_VISITS * 5]
        )
        for i, vehicle in enumerate(Vehicle.objects.filter(pk__in=vehicles[::5]).select_related("owner")):
            visit_create(
                dealership=self.store,
                vehicle=vehicle,
                ro_number=f"DEMO-LATE-{visited_on:%Y%m%d}-{i + 1}",
                visit_type="maintenance",
                opened_on=visited_on,
                closed_on=visited_on,
                advisor_name="李伟",
            )
        self.plan(when)
        self.dispatch(_at(yesterday, 20, 30, self.zone))

    def booked(self, today: dt.date) -> None:
        """A customer with a maintenance reminder pending books: the reminders stop (reason ``booked``)."""
        touch = (
            Touch.objects.filter(dealership=self.store, kind__in=Touch.BY_VEHICLE, status=Touch.Status.PLANNED)
            .select_related("customer", "vehicle")
            .order_by("due_at", "id")
            .first()
        )
        if touch is None:
            return
        appointment_create(
            dealership=self.store,
            customer=touch.customer,
            vehicle=touch.vehicle,
            date=today + dt.timedelta(days=2),
            time_slot="09:30",
            note="客户收到保养提醒后来电预约",
            acting_user=self.users.get("advisor"),
        )

    def came_back(self, today: dt.date) -> None:
        """A lapsed customer with a wake-up pending comes in: the wake-up stops (reason ``visited``)."""
        touch = (
            Touch.objects.filter(dealership=self.store, kind=Touch.Kind.WAKE_UP, status=Touch.Status.PLANNED)
            .order_by("id")
            .select_related("customer")
            .first()
        )
        if touch is None:
            return
        vehicle = touch.customer.vehicles.order_by("id").first()
        if vehicle is None:
            return
        visit_create(
            dealership=self.store,
            vehicle=vehicle,
            ro_number=f"DEMO-BACK-{today:%Y%m%d}",
            visit_type="maintenance",
            opened_on=today,
            advisor_name="陈晓东",
        )

    def capped(self, first_day: dt.date) -> None:
        """A lapsed customer on the campaign's call list was reached four times in the days before (three
        "call back", then "declined"): the cap (4 marketing contacts in 30 days) holds their wake-up text back."""
        from campaigns.models import CallAttempt, Invitation
        from campaigns.services import call_record
        from segmentation.models import CustomerSegment

        lapsed = CustomerSegment.objects.filter(dealership=self.store, valid_to__isnull=True, lapsed=True).values(
            "customer_id"
        )
        invitation = (
            Invitation.objects.filter(
                campaign__dealership=self.store,
                customer_id__in=lapsed,
                holdout=False,
                agent__isnull=False,
                status=Invitation.Status.PENDING,
            )
            .filter(contactable("marketing", "sms", prefix="customer__"))
            .select_related("agent")
            .order_by("id")
            .first()
        )
        if invitation is None:
            return
        calls = [
            (CallAttempt.Outcome.CALL_BACK, "客户在外地，约过两天再联系", ""),
            (CallAttempt.Outcome.CALL_BACK, "客户说还没看好时间，再约", ""),
            (CallAttempt.Outcome.CALL_BACK, "客户开车中，约明天", ""),
            (CallAttempt.Outcome.DECLINED, "客户表示近期不需要", CallAttempt.DeclineReason.NOT_NEEDED),
        ]
        for i, (outcome, note, reason) in enumerate(calls):
            when = _at(first_day - dt.timedelta(days=len(calls) - i), 11, 0, self.zone)
            call_record(
                invitation=invitation,
                agent=invitation.agent,
                outcome=outcome,
                note=note,
                reason=reason,
                call_back_at=when + dt.timedelta(days=1) if outcome == CallAttempt.Outcome.CALL_BACK else None,
                now=when,
            )

    def opted_out(self, day: dt.date) -> None:
        """A lapsed customer replies "T" to an earlier text at 08:10 (what the SMS gateway's reply webhook records,
        ``customers.services.sms_opt_out_record``): their pending marketing texts stop at once (``sms_opt_out``)."""
        touch = (
            Touch.objects.filter(dealership=self.store, kind=Touch.Kind.WAKE_UP, status=Touch.Status.PLANNED)
            .order_by("-id")
            .select_related("customer")
            .first()
        )
        if touch is not None:
            sms_opt_out_record(  # with its proof, as the reply webhook keeps it
                customer=touch.customer,
                occurred_at=_at(day, 8, 10, self.zone),
                reference=f"demo-reply-{touch.pk}",
                text_shown=last_marketing_text(touch.customer),
            )

    def stops(self) -> None:
        _add(self.result.cancelled, stops.apply_stops(dealership=self.store, now=self.now))


def followups_demo_seed(
    *, dealership: Dealership, seed: int = 0, now: dt.datetime | None = None, days: int = DEFAULT_DAYS
) -> FollowupDemoResult:
    """Write the store's follow-up settings and templates and replay its last ``days`` days of follow-up work.
    A store that has touches or templates already is left as it is (``created`` is False)."""
    if (
        Touch.objects.filter(dealership=dealership).exists()
        or MessageTemplate.objects.filter(dealership=dealership).exists()
    ):
        return FollowupDemoResult(created=False)
    now = now or timezone.now()
    today = dealership.local_date(now)
    replay = _Replay(dealership, seed=seed, now=now)
    with transaction.atomic():
        replay.result.templates = policy_and_templates(dealership=dealership)
    with transaction.atomic():
        replay.capped(today - dt.timedelta(days=days))
    for offset in range(days, 0, -1):
        with transaction.atomic():
            replay.day(today - dt.timedelta(days=offset), first=offset == days)
    with transaction.atomic():
        replay.late_visits(today - dt.timedelta(days=1))
        morning = _at(today, 6, 0, replay.zone)
        replay.plan(min(morning, now))
        replay.booked(today)
        replay.stops()
        complaints.complaint_deadlines_check(now=now)
    replay.result.complaints = Complaint.objects.filter(dealership=dealership).count()
    return replay.result


def demo_summary(*, dealership: Dealership) -> dict[str, dict[str, int]]:
    """Touches of the store by kind and status (what the demo shows), for the command's output and the tests."""
    summary: dict[str, dict[str, int]] = {}
    for kind, status in Touch.objects.filter(dealership=dealership).values_list("kind", "status"):
        summary.setdefault(kind, {}).setdefault(status, 0)
        summary[kind][status] += 1
    return summary
