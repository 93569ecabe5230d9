# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""The workbench's call card: the agent's next customer with what the card shows, read in one statement.

The workbench answers every recorded call with the next customer, so this read is the hot path of a call
centre (the issue's benchmark: ten agents, 50 round trips a second, on two cores). Read the ORM's way, it is
seven queries: the queue's head, the invitation with its campaign, target group, customer and vehicle, the
customer's current segment, the last visit with its vehicle, the customer's open coupons and the offer of
their variant. Most of their cost was Python building and compiling SQL and PostgreSQL planning it, not the
reading itself. Here it is one ``SELECT`` for the card and, when there is a card, one each for the coupons
and the offer:

* its columns come from the models' own concrete fields, and the instances are built from the row as the
  ORM builds them (``Model.from_db``), so templates, serializers and services get ordinary model instances
  with their related objects cached;
* the queue's rules are written again in SQL: the same as ``selectors.agent_queue``'s, as the coupons are
  ``selectors.coupons_open`` and the offer ``Invitation.offer_templates`` (active ones).
  ``tests/campaigns/test_call_card.py`` holds each to the ORM's answers case by case;
* the statement's joins are written in the order they run: each is from one row to the row it points at. On
  PostgreSQL the planner is told to keep that order (``join_collapse_limit`` for this statement's
  transaction only), which saves it a search over nine relations that costs more than the query runs.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _t

from customers.models import Customer, ServiceVisit, Vehicle
from dealercrm.core import sqlread
from dealercrm.core.models import Dealership
from followups.models import Complaint, Priority, Touch, TouchAttempt, TouchChannel, TouchClass
from segmentation.models import CustomerSegment

from .models import CallAttempt, Campaign, Coupon, CouponTemplate, Invitation, TargetGroup

#: (model, alias) in the order of the card's columns: the invitation, what it points at, the customer's
#: current segment, the last visit and the vehicle of that visit
CARD = (
    (Invitation, "i"),
    (Campaign, "c"),
    (TargetGroup, "g"),
    (Customer, "cu"),
    (Vehicle, "v"),
    (CustomerSegment, "s"),
    (ServiceVisit, "lv"),
    (Vehicle, "lvv"),
)
COUPONS = ((Coupon, "k"), (CouponTemplate, "t"), (Campaign, "c"))
OFFERS = ((CouponTemplate, "t"),)

#: the agent's invitations to call now (``selectors.agent_queue``): open invitations of running campaigns on a
#: day of their period, attempts left, never the holdout, a customer who may get a campaign call (the contact
#: rule's SQL), due now; due call-backs and retries first (by time), then the ones not called yet
INVITATIONS_DUE = """
    SELECT 'invitation' AS source, q.id AS id, %(marketing)s AS priority, COALESCE(q.next_call_at, %(now)s) AS due,
           CASE WHEN q.next_call_at IS NULL THEN 1 ELSE 0 END AS fresh
    FROM campaigns_invitation q
    JOIN campaigns_campaign qc ON qc.id = q.campaign_id
    JOIN customers_customer qcu ON qcu.id = q.customer_id
    WHERE q.agent_id = %(agent)s AND qc.dealership_id = %(dealership)s AND qc.status = %(running)s
      AND qc.starts_on <= %(today)s AND qc.ends_on >= %(today)s
      AND NOT q.holdout AND q.status IN (%(pending)s, %(call_back)s) AND q.attempts < qc.max_attempts
      AND {marketing_call}
      AND (q.next_call_at IS NULL OR q.next_call_at <= %(now)s)
    ORDER BY q.next_call_at ASC NULLS LAST, q.id ASC
    LIMIT 1
"""
#: the agent's follow-up calls due now (``followups.calls.followup_queue``): planned call tasks of the store
#: assigned to them, due, not expired, a customer who may be called for the touch's class; by priority, then
#: due time
FOLLOWUPS_DUE = """
    SELECT 'touch' AS source, t.id AS id, t.priority AS priority, t.due_at AS due, 0 AS fresh
    FROM followups_touch t
    JOIN customers_customer tcu ON tcu.id = t.customer_id
    WHERE t.assignee_id = %(agent)s AND t.channel = %(call)s AND t.status = %(planned)s
      AND t.dealership_id = %(dealership)s AND t.due_at <= %(now)s
      AND (t.expires_at IS NULL OR t.expires_at > %(now)s)
      AND ((t.touch_class = %(service)s AND {service_call})
           OR (t.touch_class = %(marketing_class)s AND {marketing_tcall}))
    ORDER BY t.priority, t.due_at, t.id
    LIMIT 1
"""


@functools.cache
def _queue_head(vendor: str, followups: bool) -> str:
    """The head of the agent's one queue, as ``(source, id)``: each source's head, then the first of them by
    priority (an invitation is marketing), due time (an invitation never called is due now), an invitation
    called before one never called, a follow-up before an invitation, id."""
    from customers.contact import MARKETING, SERVICE, contactable_sql

    heads = [INVITATIONS_DUE.format(marketing_call=contactable_sql(MARKETING, "call", alias="qcu"))]
    if followups:
        heads.append(
            FOLLOWUPS_DUE.format(
                service_call=contactable_sql(SERVICE, "call", alias="tcu"),
                marketing_tcall=contactable_sql(MARKETING, "call", alias="tcu"),
            )
        )
    union = " UNION ALL ".join(f"SELECT * FROM ({head}) AS h{n}" for n, head in enumerate(heads))
    return f"SELECT source, id FROM ({union}) AS heads ORDER BY priority, due, fresh, source DESC, id LIMIT 1"


@functools.cache
def _card_statement(vendor: str, where: str) -> str:
    return f"""
        SELECT {sqlread.columns(CARD)}
        FROM campaigns_invitation i
        JOIN campaigns_campaign c ON c.id = i.campaign_id
        JOIN campaigns_targetgroup g ON g.id = i.target_group_id
        JOIN customers_customer cu ON cu.id = i.customer_id
        LEFT JOIN customers_vehicle v ON v.id = i.vehicle_id
        LEFT JOIN segmentation_customersegment s ON s.id = (
            SELECT cs.id FROM segmentation_customersegment cs
            WHERE cs.dealership_id = %(dealership)s AND cs.customer_id = i.customer_id AND cs.valid_to_id IS NULL
            LIMIT 1)
        LEFT JOIN customers_servicevisit lv ON lv.id = (
            SELECT sv.id FROM customers_servicevisit sv
            WHERE sv.dealership_id = %(dealership)s AND sv.customer_id = i.customer_id
            ORDER BY sv.opened_on DESC, sv.id DESC
            LIMIT 1)
        LEFT JOIN customers_vehicle lvv ON lvv.id = lv.vehicle_id
        WHERE c.dealership_id = %(dealership)s AND {where}
    """


@functools.cache
def _coupons_statement(vendor: str) -> str:
    """The customer's coupons that can still be used, soonest first, with their template and campaign
    (``selectors.coupons_open``)."""
    return f"""
        SELECT {sqlread.columns(COUPONS)}
        FROM campaigns_coupon k JOIN campaigns_coupontemplate t ON t.id = k.template_id
        LEFT JOIN campaigns_campaign c ON c.id = k.campaign_id
        WHERE k.dealership_id = %(dealership)s AND k.customer_id = %(customer)s AND k.status = %(issued)s
          AND k.expires_on >= %(today)s
        ORDER BY k.expires_on, k.id
    """


@functools.cache
def _offers_statement(vendor: str, variant_b: bool) -> str:
    """The active templates the group offers to the variant, in the templates' order (name, id)."""
    field = TargetGroup._meta.get_field("offers_b" if variant_b else "offers")
    through = field.remote_field.through._meta
    group_column = through.get_field(field.m2m_field_name()).column
    template_column = through.get_field(field.m2m_reverse_field_name()).column
    return f"""
        SELECT {sqlread.columns(OFFERS)}
        FROM {through.db_table} o JOIN campaigns_coupontemplate t ON t.id = o.{template_column}
        WHERE o.{group_column} = %(group)s AND t.active
        ORDER BY t.name, t.id
    """


@dataclass
class HistoryEntry:
    """One line of the customer's contact history: a call (a campaign's or a follow-up's), a touch, a survey or
    a complaint, with what came of it."""

    source: str  # "call", "followup_call", "touch", "survey", "complaint"
    at: datetime
    kind: str  # the campaign's name, or the touch's kind
    state: str  # the outcome, status
    reason: str = ""
    note: str = ""
    satisfaction: int | None = None
    nps: int | None = None

    @property
    def kind_display(self) -> str:
        if self.source in ("followup_call", "touch"):
            return _label(Touch.Kind, self.kind)
        if self.source == "survey":
            return str(_t("Survey"))
        if self.source == "complaint":
            return str(_t("Complaint"))
        return self.kind  # the campaign's name

    @property
    def state_display(self) -> str:
        if self.source == "call":
            return _label(CallAttempt.Outcome, self.state)
        if self.source == "followup_call":
            return _label(TouchAttempt.Outcome, self.state)
        if self.source == "touch":
            return _label(Touch.Status, self.state)
        if self.source == "complaint":
            return _label(Complaint.Status, self.state)
        return str(_t("Answered")) if self.state == "answered" else str(_t("Not answered"))

    @property
    def reason_display(self) -> str:
        return _label(CallAttempt.DeclineReason, self.reason) if self.reason else ""


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@dataclass
class CallCard:
    """The card of the head of the agent's queue: a campaign invitation or a follow-up call.

    For an invitation: ``invitation`` (its campaign, target group, customer and vehicle cached on it) and the
    active coupon templates offered to the customer's variant (``offers``). For a follow-up call: ``touch``
    (its customer, visit, vehicle, invitation with its campaign and complaint cached; the vehicle is the
    touch's own or its visit's). Both: the customer's current segment and last visit (its vehicle cached; each
    None when there is none), the customer's open coupons (their templates cached), and their contact history
    (``history``, newest first, at most ``HISTORY_SHOWN``)."""

    invitation: Invitation | None
    segment: CustomerSegment | None
    last_visit: ServiceVisit | None
    coupons: list[Coupon]
    offers: list[CouponTemplate]
    touch: Touch | None = None
    history: list[HistoryEntry] = dataclass_field(default_factory=list)
    #: the vehicle a follow-up call is about (the touch's own, else its visit's), or None
    vehicle: Vehicle | None = None

    @property
    def customer(self) -> Customer:
        return self.touch.customer if self.touch is not None else self.invitation.customer


def _coupons(cursor, params: dict, customer_id: int) -> list[Coupon]:
    cursor.execute(
        _coupons_statement(connection.vendor),
        {**params, "customer": customer_id, "issued": Coupon.Status.ISSUED.value},
    )
    coupons = []
    for coupon, template, campaign in (sqlread.instances(COUPONS, row) for row in cursor.fetchall()):
        coupon.template, coupon.campaign = template, campaign
        coupons.append(coupon)
    return coupons


def coupons_open(*, dealership: Dealership, customer_id: int, today) -> list[Coupon]:
    """``selectors.coupons_open`` in one hand-written statement (the customer 360 page's coupons card)."""
    params = {"dealership": dealership.pk, "today": connection.ops.adapt_datefield_value(today)}
    with connection.cursor() as cursor:
        return _coupons(cursor, params, customer_id)


def _read(where: str, params: dict) -> CallCard | None:
    with connection.cursor() as cursor, _planned_in_written_order(cursor):
        return _read_invitation(cursor, where, params)


def _read_invitation(cursor, where: str, params: dict) -> CallCard | None:
    cursor.execute(_card_statement(connection.vendor, where), params)
    row = cursor.fetchone()
    if row is None:
        return None
    invitation, campaign, group, customer, vehicle, segment, last_visit, visit_vehicle = sqlread.instances(CARD, row)
    invitation.campaign, invitation.target_group, invitation.customer = campaign, group, customer
    invitation.vehicle = vehicle
    if last_visit is not None:
        last_visit.vehicle = visit_vehicle
    coupons = _coupons(cursor, params, customer.pk)
    cursor.execute(_offers_statement(connection.vendor, invitation.calls_variant_b), {"group": group.pk})
    offers = [sqlread.instances(OFFERS, row)[0] for row in cursor.fetchall()]
    history = _history(cursor, params, customer.pk)
    return CallCard(
        invitation=invitation, segment=segment, last_visit=last_visit, coupons=coupons, offers=offers, history=history
    )


def _read_touch(cursor, params: dict) -> CallCard | None:
    cursor.execute(_touch_card_statement(connection.vendor), params)
    row = cursor.fetchone()
    if row is None:
        return None
    touch, customer, visit, vehicle, invitation, campaign, complaint, segment, last_visit, visit_vehicle = (
        sqlread.instances(TOUCH_CARD, row)
    )
    touch.customer, touch.visit, touch.invitation, touch.complaint = customer, visit, invitation, complaint
    touch.vehicle = vehicle if touch.vehicle_id is not None else None
    if visit is not None and vehicle is not None and visit.vehicle_id == vehicle.pk:
        visit.vehicle = vehicle
    if invitation is not None:
        invitation.campaign = campaign
    if last_visit is not None:
        last_visit.vehicle = visit_vehicle
    coupons = _coupons(cursor, params, customer.pk)
    history = _history(cursor, {**params, "touch": touch.pk}, customer.pk)
    return CallCard(
        invitation=None,
        touch=touch,
        vehicle=vehicle,
        segment=segment,
        last_visit=last_visit,
        coupons=coupons,
        offers=[],
        history=history,
    )


#: the touch card: the touch, its customer, what it is about (the visit, the vehicle: the touch's own or the
#: visit's, the invitation with its campaign, the complaint), the customer's current segment and last visit
TOUCH_CARD = (
    (Touch, "t"),
    (Customer, "cu"),
    (ServiceVisit, "sv"),
    (Vehicle, "v"),
    (Invitation, "i"),
    (Campaign, "c"),
    (Complaint, "k"),
    (CustomerSegment, "s"),
    (ServiceVisit, "lv"),
    (Vehicle, "lvv"),
)


@functools.cache
def _touch_card_statement(vendor: str) -> str:
    return f"""
        SELECT {sqlread.columns(TOUCH_CARD)}
        FROM followups_touch t
        JOIN customers_customer cu ON cu.id = t.customer_id
        LEFT JOIN customers_servicevisit sv ON sv.id = t.visit_id
        LEFT JOIN customers_vehicle v ON v.id = COALESCE(t.vehicle_id, sv.vehicle_id)
        LEFT JOIN campaigns_invitation i ON i.id = t.invitation_id
        LEFT JOIN campaigns_campaign c ON c.id = i.campaign_id
        LEFT JOIN followups_complaint k ON k.id = t.complaint_id
        LEFT JOIN segmentation_customersegment s ON s.id = (
            SELECT cs.id FROM segmentation_customersegment cs
            WHERE cs.dealership_id = %(dealership)s AND cs.customer_id = t.customer_id AND cs.valid_to_id IS NULL
            LIMIT 1)
        LEFT JOIN customers_servicevisit lv ON lv.id = (
            SELECT lsv.id FROM customers_servicevisit lsv
            WHERE lsv.dealership_id = %(dealership)s AND lsv.customer_id = t.customer_id
            ORDER BY lsv.opened_on DESC, lsv.id DESC
            LIMIT 1)
        LEFT JOIN customers_vehicle lvv ON lvv.id = lv.vehicle_id
        WHERE t.dealership_id = %(dealership)s AND t.channel = %(call)s AND t.id = %(pk)s
    """


#: how many lines of contact history the card shows
HISTORY_SHOWN = 10


@functools.cache
def _history_statement(vendor: str) -> str:
    """The customer's contact history, newest first: campaign calls, follow-up calls, touches (but the one on
    the card), surveys and complaints; each source's newest ``HISTORY_SHOWN``, then the newest of them all."""
    text = "VARCHAR(300)"
    branches = [
        f"""SELECT 'call' AS source, a.called_at AS at, CAST(ac.name AS {text}) AS kind, a.outcome AS state,
                   a.reason AS reason, CAST(a.note AS {text}) AS note, CAST(NULL AS INTEGER) AS satisfaction,
                   CAST(NULL AS INTEGER) AS nps
            FROM campaigns_callattempt a
            JOIN campaigns_invitation ai ON ai.id = a.invitation_id
            JOIN campaigns_campaign ac ON ac.id = ai.campaign_id
            WHERE ai.customer_id = %(customer)s AND ac.dealership_id = %(dealership)s
            ORDER BY a.called_at DESC, a.id DESC LIMIT {HISTORY_SHOWN}""",
        f"""SELECT 'followup_call', ta.called_at, CAST(tt.kind AS {text}), ta.outcome, ta.reason,
                   CAST(ta.note AS {text}), ta.satisfaction, CAST(NULL AS INTEGER)
            FROM followups_touchattempt ta
            JOIN followups_touch tt ON tt.id = ta.touch_id
            WHERE tt.customer_id = %(customer)s AND tt.dealership_id = %(dealership)s
            ORDER BY ta.called_at DESC, ta.id DESC LIMIT {HISTORY_SHOWN}""",
        f"""SELECT 'touch', COALESCE(ht.completed_at, ht.delivered_at, ht.sent_at, ht.due_at),
                   CAST(ht.kind AS {text}), ht.status, ht.reason, CAST(ht.reason_detail AS {text}),
                   CAST(NULL AS INTEGER), CAST(NULL AS INTEGER)
            FROM followups_touch ht
            WHERE ht.customer_id = %(customer)s AND ht.dealership_id = %(dealership)s AND ht.id <> %(touch)s
              AND ht.status <> %(planned)s
            ORDER BY ht.due_at DESC, ht.id DESC LIMIT {HISTORY_SHOWN}""",
        f"""SELECT 'survey', COALESCE(hs.answered_at, hs.sent_at), CAST('' AS {text}),
                   CASE WHEN hs.answered_at IS NULL THEN 'sent' ELSE 'answered' END, '',
                   CAST(hs.comment AS {text}), hs.satisfaction, hs.nps
            FROM followups_survey hs
            WHERE hs.customer_id = %(customer)s AND hs.dealership_id = %(dealership)s
            ORDER BY hs.sent_at DESC, hs.id DESC LIMIT {HISTORY_SHOWN}""",
        f"""SELECT 'complaint', hk.opened_at, CAST('' AS {text}), hk.status, '', CAST(hk.summary AS {text}),
                   CAST(NULL AS INTEGER), CAST(NULL AS INTEGER)
            FROM followups_complaint hk
            WHERE hk.customer_id = %(customer)s AND hk.dealership_id = %(dealership)s
            ORDER BY hk.opened_at DESC, hk.id DESC LIMIT {HISTORY_SHOWN}""",
    ]
    union = " UNION ALL ".join(f"SELECT * FROM ({branch}) AS b{n}" for n, branch in enumerate(branches))
    return f"SELECT * FROM ({union}) AS history ORDER BY at DESC LIMIT {HISTORY_SHOWN}"


def _moment(value) -> datetime:
    """A timestamp of the history's row as an aware datetime (SQLite gives it as text, or naive in UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _history(cursor, params: dict, customer_id: int) -> list[HistoryEntry]:
    cursor.execute(
        _history_statement(connection.vendor),
        {
            "dealership": params["dealership"],
            "customer": customer_id,
            "touch": params.get("touch", 0),
            "planned": Touch.Status.PLANNED.value,
        },
    )
    return [
        HistoryEntry(
            source=source,
            at=_moment(at),
            kind=kind or "",
            state=state or "",
            reason=reason or "",
            note=(note or "")[:200],
            satisfaction=satisfaction,
            nps=nps,
        )
        for source, at, kind, state, reason, note, satisfaction, nps in cursor.fetchall()
    ]


@contextlib.contextmanager
def _planned_in_written_order(cursor):
    """On PostgreSQL, in one transaction with ``join_collapse_limit`` 1 (the joins run in the order written)."""
    if connection.vendor != "postgresql":
        yield
        return
    nested = connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        cursor.execute("SET LOCAL join_collapse_limit = 1")
        yield
        if nested:  # the enclosing transaction goes on: give it back the usual planning
            cursor.execute("SET LOCAL join_collapse_limit TO DEFAULT")


def _params(dealership: Dealership, now: datetime) -> dict:
    operations = connection.ops
    return {
        "dealership": dealership.pk,
        "today": operations.adapt_datefield_value(dealership.local_date(now)),
        "now": operations.adapt_datetimefield_value(now),
    }


def next_call_card(
    *, agent, dealership: Dealership, now: datetime | None = None, followups: bool = True
) -> CallCard | None:
    """The card of the head of the agent's one queue (``selectors.agent_queue`` and, with ``followups``,
    ``followups.calls.followup_queue``), or None: the head in one statement, then its card."""
    params = {
        **_params(dealership, now or timezone.now()),
        "agent": agent.pk,
        "running": Campaign.Status.RUNNING.value,
        "pending": Invitation.Status.PENDING.value,
        "call_back": Invitation.Status.CALL_BACK.value,
        "marketing": Priority.MARKETING.value,
        "call": TouchChannel.CALL.value,
        "planned": Touch.Status.PLANNED.value,
        "service": TouchClass.SERVICE.value,
        "marketing_class": TouchClass.MARKETING.value,
    }
    with connection.cursor() as cursor, _planned_in_written_order(cursor):
        cursor.execute(_queue_head(connection.vendor, followups), params)
        head = cursor.fetchone()
        if head is None:
            return None
        source, pk = head
        if source == "touch":
            return _read_touch(cursor, {**params, "pk": pk})
        return _read_invitation(cursor, "i.id = %(pk)s", {**params, "pk": pk})


def call_card(*, dealership: Dealership, pk: int, now: datetime | None = None) -> CallCard | None:
    """The card of one of the dealership's invitations (any status, whoever calls it), or None."""
    return _read("i.id = %(pk)s", {**_params(dealership, now or timezone.now()), "pk": pk})


def touch_card(*, dealership: Dealership, pk: int, now: datetime | None = None) -> CallCard | None:
    """The card of one of the dealership's follow-up call tasks (any status, whoever calls it), or None."""
    params = {**_params(dealership, now or timezone.now()), "pk": pk, "call": TouchChannel.CALL.value}
    with connection.cursor() as cursor, _planned_in_written_order(cursor):
        return _read_touch(cursor, params)
