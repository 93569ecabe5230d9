"""Helpers of the planner's tests: a store's clock, visits, forecasts and segments built by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from customers.models import VisitType
from followups.models import Complaint
from segmentation.models import CustomerSegment, SegmentationRun, VehicleForecast
from segmentation.services import ruleset_current
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory


def local(dealership, day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware moment, ``hour:minute`` on ``day`` in the store's time zone."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dealership.zone)


def customer_of(dealership, **fields):
    customer = CustomerFactory(dealership=dealership, **fields)
    VehicleFactory(owner=customer)
    return customer


def visit_of(customer, day: dt.date, visit_type=VisitType.MAINTENANCE, **fields):
    vehicle = customer.vehicles.first() or VehicleFactory(owner=customer)
    return ServiceVisitFactory(vehicle=vehicle, opened_on=day, closed_on=day, visit_type=visit_type, **fields)


def run_of(dealership, day: dt.date) -> SegmentationRun:
    return SegmentationRun.objects.create(
        dealership=dealership,
        rule_set=ruleset_current(dealership=dealership),
        reference_date=day,
        trigger="manual",
        status=SegmentationRun.Status.SUCCEEDED,
    )


def forecast_of(vehicle, run, next_due_on: dt.date, *, valid_to=None) -> VehicleForecast:
    return VehicleForecast.objects.create(
        dealership_id=vehicle.dealership_id,
        vehicle=vehicle,
        valid_from=run,
        valid_to=valid_to,
        age_band="1-2",
        last_maintenance_on=next_due_on - dt.timedelta(days=180),
        interval_days=180,
        due_basis="own",
        next_due_on=next_due_on,
    )


def segment_of(customer, run, *, lapsed=True, last_visit_on=dt.date(2025, 1, 10)) -> CustomerSegment:
    return CustomerSegment.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        valid_from=run,
        c3_group="",
        tier="C",
        value_layer="low",
        lapsed=lapsed,
        window_visits=1,
        maintenance_visits=1,
        window_spend=Decimal("500.00"),
        maintenance_spend=Decimal("500.00"),
        observed_from=dt.date(2023, 6, 1),
        visits_12m=0,
        lifetime_value=Decimal("3000.00"),
        last_visit_on=last_visit_on,
    )


def complaint_of(customer, status=Complaint.Status.OPEN) -> Complaint:
    now = timezone.now()
    return Complaint.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        source=Complaint.Source.COUNTER,
        status=status,
        summary="保养后异响",
        opened_at=now,
        response_due_at=now + dt.timedelta(hours=24),
        resolution_due_at=now + dt.timedelta(days=7),
    )
