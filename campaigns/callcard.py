# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""The workbench's call card: the agent's next customer with what the card shows, read in one statement.

The workbench answers every recorded call with the next customer, so this read is the hot path of a call
centre (the issue's benchmark: ten agents, 50 round trips a second, on two cores). Read the ORM's way, it is
five queries: the queue's head, the invitation with its campaign, target group, customer and vehicle, the
customer's current segment, and the last visit with its vehicle. Most of their cost was Python building and
compiling SQL and PostgreSQL planning it, not the reading itself. Here it is one ``SELECT``:

* its columns come from the models' own concrete fields, and the instances are built from the row as the
  ORM builds them (``Model.from_db``), so templates, serializers and services get ordinary model instances
  with their related objects cached;
* the queue's rules are written again in SQL: the same as ``selectors.agent_queue``'s.
  ``tests/campaigns/test_call_card.py`` holds the two to the same answers case by case;
* the statement's joins are written in the order they run: each is from one row to the row it points at. On
  PostgreSQL the planner is told to keep that order (``join_collapse_limit`` for this statement's
  transaction only), which saves it a search over nine relations that costs more than the query runs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from customers.models import Customer, ServiceVisit, Vehicle
from dealercrm.core.models import Dealership
from segmentation.models import CustomerSegment

from .models import Campaign, Invitation, TargetGroup

#: (model, alias) in the order of the statement's columns: the invitation, what it points at, the customer's
#: current segment, the last visit and the vehicle of that visit
PARTS: tuple[tuple[type[Model], str], ...] = (
    (Invitation, "i"),
    (Campaign, "c"),
    (TargetGroup, "g"),
    (Customer, "cu"),
    (Vehicle, "v"),
    (CustomerSegment, "s"),
    (ServiceVisit, "lv"),
    (Vehicle, "lvv"),
)

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


@functools.cache
def _statement(vendor: str, where: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"{alias}.{quote(field.column)}" for model, alias in PARTS for field in model._meta.concrete_fields
    )
    return f"""
        SELECT {columns}
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
def _readers(vendor: str) -> list[tuple[type[Model], list[str], list[tuple]]]:
    """Per part: the model, its fields' attribute names and, per field, the converters the ORM would apply to
    the database's value (the backend's, then the field's: dates on SQLite, JSON, phone numbers, …)."""
    readers = []
    for model, _alias in PARTS:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(model._meta.db_table)
            converters.append((connection.ops.get_db_converters(column) + column.get_db_converters(connection), column))
        readers.append((model, [f.attname for f in fields], converters))
    return readers


@dataclass
class CallCard:
    """An invitation (its campaign, target group, customer and vehicle cached on it), the customer's current
    segment and their last visit (its vehicle cached), each None when there is none."""

    invitation: Invitation
    segment: CustomerSegment | None
    last_visit: ServiceVisit | None


def _instances(row) -> list[Model | None]:
    """One instance per part of ``PARTS`` from the row (None for a LEFT JOIN that found nothing)."""
    found, position = [], 0
    for model, names, converters in _readers(connection.vendor):
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


def _read(where: str, params: dict) -> CallCard | None:
    statement = _statement(connection.vendor, where)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            nested = connection.in_atomic_block
            with transaction.atomic(savepoint=False):
                cursor.execute("SET LOCAL join_collapse_limit = 1")
                cursor.execute(statement, params)
                row = cursor.fetchone()
                if nested:  # the enclosing transaction goes on: give it back the usual planning
                    cursor.execute("SET LOCAL join_collapse_limit TO DEFAULT")
        else:
            cursor.execute(statement, params)
            row = cursor.fetchone()
    if row is None:
        return None
    invitation, campaign, group, customer, vehicle, segment, last_visit, visit_vehicle = _instances(row)
    invitation.campaign, invitation.target_group, invitation.customer = campaign, group, customer
    invitation.vehicle = vehicle
    if last_visit is not None:
        last_visit.vehicle = visit_vehicle
    return CallCard(invitation=invitation, segment=segment, last_visit=last_visit)


def next_call_card(*, agent, dealership: Dealership, now: datetime | None = None) -> CallCard | None:
    """The card of the agent's next customer to call (the head of ``selectors.agent_queue``), or None."""
    now = now or timezone.now()
    operations = connection.ops
    params = {
        "agent": agent.pk,
        "dealership": dealership.pk,
        "running": Campaign.Status.RUNNING.value,
        "pending": Invitation.Status.PENDING.value,
        "call_back": Invitation.Status.CALL_BACK.value,
        "today": operations.adapt_datefield_value(dealership.local_date(now)),
        "now": operations.adapt_datetimefield_value(now),
    }
    return _read(f"i.id = ({QUEUE_HEAD})", params)


def call_card(*, dealership: Dealership, pk: int) -> CallCard | None:
    """The card of one of the dealership's invitations (any status, whoever calls it), or None."""
    return _read("i.id = %(pk)s", {"pk": pk, "dealership": dealership.pk})
