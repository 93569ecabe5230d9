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
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from customers.models import Customer, ServiceVisit, Vehicle
from dealercrm.core.models import Dealership
from segmentation.models import CustomerSegment

from .models import Campaign, Coupon, CouponTemplate, Invitation, TargetGroup

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
COUPONS = ((Coupon, "k"), (CouponTemplate, "t"))
OFFERS = ((CouponTemplate, "t"),)

#: the head of the agent's queue (``selectors.agent_queue``): open invitations of running campaigns on a day
#: of their period, attempts left, never the holdout, a customer who may still be called, due now; due
#: call-backs and retries first (by time), then the ones not called yet
QUEUE_HEAD = """
    SELECT q.id FROM campaigns_invitation q
    JOIN campaigns_campaign qc ON qc.id = q.campaign_id
    JOIN customers_customer qcu ON qcu.id = q.customer_id
    WHERE q.agent_id = %(agent)s AND qc.dealership_id = %(dealership)s AND qc.status = %(running)s
      AND qc.starts_on <= %(today)s AND qc.ends_on >= %(today)s
      AND NOT q.holdout AND q.status IN (%(pending)s, %(call_back)s) AND q.attempts < qc.max_attempts
      AND qcu.marketing_consent AND NOT qcu.do_not_contact AND NOT qcu.flag_wrong_number
      AND (q.next_call_at IS NULL OR q.next_call_at <= %(now)s)
    ORDER BY q.next_call_at ASC NULLS LAST, q.id ASC
    LIMIT 1
"""


def _columns(parts) -> str:
    quote = connection.ops.quote_name
    fields = ((alias, field) for model, alias in parts for field in model._meta.concrete_fields)
    return ", ".join(f"{alias}.{quote(field.column)}" for alias, field in fields)


@functools.cache
def _card_statement(vendor: str, where: str) -> str:
    return f"""
        SELECT {_columns(CARD)}
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
    """The customer's coupons that can still be used, soonest first (``selectors.coupons_open``)."""
    return f"""
        SELECT {_columns(COUPONS)}
        FROM campaigns_coupon k JOIN campaigns_coupontemplate t ON t.id = k.template_id
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
        SELECT {_columns(OFFERS)}
        FROM {through.db_table} o JOIN campaigns_coupontemplate t ON t.id = o.{template_column}
        WHERE o.{group_column} = %(group)s AND t.active
        ORDER BY t.name, t.id
    """


@functools.cache
def _readers(vendor: str, parts) -> list[tuple[type[Model], list[str], list[tuple]]]:
    """Per part: the model, its fields' attribute names and, per field, the converters the ORM would apply to
    the database's value (the backend's, then the field's: dates on SQLite, JSON, phone numbers, …)."""
    readers = []
    for model, _alias in parts:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(model._meta.db_table)
            converters.append((connection.ops.get_db_converters(column) + column.get_db_converters(connection), column))
        readers.append((model, [f.attname for f in fields], converters))
    return readers


def _instances(parts, row) -> list[Model | None]:
    """One instance per part from the row (None for a LEFT JOIN that found nothing)."""
    found, position = [], 0
    for model, names, converters in _readers(connection.vendor, parts):
        values = list(row[position : position + len(names)])
        position += len(names)
        if values[0] is None:
            found.append(None)
            continue
        for index, (functions, column) in enumerate(converters):
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        found.append(model.from_db(connection.alias, names, values))
    return found


@dataclass
class CallCard:
    """An invitation (its campaign, target group, customer and vehicle cached on it), the customer's current
    segment and last visit (its vehicle cached; each None when there is none), the customer's open coupons
    (their templates cached) and the active coupon templates offered to the customer's variant."""

    invitation: Invitation
    segment: CustomerSegment | None
    last_visit: ServiceVisit | None
    coupons: list[Coupon]
    offers: list[CouponTemplate]


def _read(where: str, params: dict) -> CallCard | None:
    with connection.cursor() as cursor, _planned_in_written_order(cursor):
        cursor.execute(_card_statement(connection.vendor, where), params)
        row = cursor.fetchone()
        if row is None:
            return None
        invitation, campaign, group, customer, vehicle, segment, last_visit, visit_vehicle = _instances(CARD, row)
        invitation.campaign, invitation.target_group, invitation.customer = campaign, group, customer
        invitation.vehicle = vehicle
        if last_visit is not None:
            last_visit.vehicle = visit_vehicle
        cursor.execute(
            _coupons_statement(connection.vendor),
            {**params, "customer": customer.pk, "issued": Coupon.Status.ISSUED.value},
        )
        coupons = []
        for coupon, template in (_instances(COUPONS, row) for row in cursor.fetchall()):
            coupon.template = template
            coupons.append(coupon)
        cursor.execute(_offers_statement(connection.vendor, invitation.calls_variant_b), {"group": group.pk})
        offers = [_instances(OFFERS, row)[0] for row in cursor.fetchall()]
    return CallCard(invitation=invitation, segment=segment, last_visit=last_visit, coupons=coupons, offers=offers)


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


def next_call_card(*, agent, dealership: Dealership, now: datetime | None = None) -> CallCard | None:
    """The card of the agent's next customer to call (the head of ``selectors.agent_queue``), or None."""
    params = {
        **_params(dealership, now or timezone.now()),
        "agent": agent.pk,
        "running": Campaign.Status.RUNNING.value,
        "pending": Invitation.Status.PENDING.value,
        "call_back": Invitation.Status.CALL_BACK.value,
    }
    return _read(f"i.id = ({QUEUE_HEAD})", params)


def call_card(*, dealership: Dealership, pk: int, now: datetime | None = None) -> CallCard | None:
    """The card of one of the dealership's invitations (any status, whoever calls it), or None."""
    return _read("i.id = %(pk)s", {**_params(dealership, now or timezone.now()), "pk": pk})
