"""Helpers of the follow-up pages' and API's tests: touches, surveys and complaints built by hand."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets

from followups.models import Complaint, MessageTemplate, Priority, Survey, Touch, TouchClass
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

_days = itertools.count(1)


def local(dealership, day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dealership.zone)


def visit_for(customer, day: dt.date | None = None):
    vehicle = customer.vehicles.first() or VehicleFactory(owner=customer)
    day = day or dt.date(2026, 1, 1) + dt.timedelta(days=next(_days) % 300)
    return ServiceVisitFactory(vehicle=vehicle, opened_on=day, closed_on=None)


def touch_of(
    customer, *, kind="day7", status=Touch.Status.PLANNED, due_at, channel="call", assignee=None, visit=None, **fields
) -> Touch:
    """A touch of a visit-kind (a new visit of the customer unless ``visit``)."""
    assert kind in Touch.BY_VISIT
    return Touch.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        kind=kind,
        visit=visit or visit_for(customer),
        due_at=due_at,
        touch_class=TouchClass.SERVICE,
        channel=channel,
        assignee=assignee,
        priority=Priority.SATISFACTION if kind == "csi_call" else Priority.MAINTENANCE,
        status=status,
        max_attempts=3,
        **fields,
    )


def survey_for(customer, *, sent_at, satisfaction=None, nps=None, answered=True) -> Survey:
    return Survey.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        visit=visit_for(customer),
        nonce=secrets.token_hex(8),
        sent_at=sent_at,
        expires_at=sent_at + dt.timedelta(days=14),
        answered_at=sent_at + dt.timedelta(hours=2) if answered else None,
        satisfaction=satisfaction,
        nps=nps,
    )


def complaint_for(customer, *, opened_at, status=Complaint.Status.OPEN, summary="等了三个小时") -> Complaint:
    return Complaint.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        source=Complaint.Source.COUNTER,
        status=status,
        summary=summary,
        opened_at=opened_at,
        response_due_at=opened_at + dt.timedelta(hours=24),
        resolution_due_at=opened_at + dt.timedelta(days=9),
    )


def template_of(
    dealership, *, kind="day7", channel="sms", language="zh-hans", body="{customer_name}您好"
) -> MessageTemplate:
    return MessageTemplate.objects.create(
        dealership=dealership, kind=kind, channel=channel, language=language, body=body
    )


def customer_in(dealership, **fields):
    return CustomerFactory(dealership=dealership, **fields)
