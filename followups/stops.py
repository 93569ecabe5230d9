"""Stopping touches that should no longer happen: the one way a pending touch is cancelled.

Every stop condition (a booking, a visit, an open complaint, consent withdrawn, do-not-contact, a wrong
number, a customer erased or merged, a member of staff) ends here, so that each cancelled touch carries its
reason and nothing else writes ``status = cancelled``. The dispatcher only finishes a touch it still holds
(its final write is conditional on ``status = claimed`` and its lease), so a touch cancelled while being sent
is not marked sent afterwards unless the provider already took it."""

from __future__ import annotations

from django.db.models import CharField, DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from customers.models import Appointment, ServiceVisit
from segmentation.models import VehicleForecast

from .models import Complaint, Touch, TouchClass
from .reasons import REASONS, reason_text


def cancel_pending(touches: QuerySet[Touch], *, reason: str, detail: str = "", now=None) -> int:
    """Cancel the pending touches of ``touches`` with ``reason`` (a code of ``followups.reasons``); returns
    how many were cancelled. One ``UPDATE``."""
    if reason not in REASONS:
        raise ValueError(f"Unknown reason {reason!r}: add it to followups.reasons.REASONS")
    return touches.filter(status__in=Touch.PENDING).update(
        status=Touch.Status.CANCELLED,
        reason=reason,
        reason_detail=(detail or reason_text(reason))[:300],
        lease_until=None,
        updated_at=now or timezone.now(),
    )


# --- the stop conditions: each one set-based UPDATE through cancel_pending --------------------------------


def _created_day(zone):
    """The touch's creation day in the store's time zone (an outer reference, for a subquery)."""
    created_at = ExpressionWrapper(OuterRef("created_at"), output_field=DateTimeField())
    return TruncDate(created_at, tzinfo=zone)


def stop_reminders_booked(*, dealership, now=None) -> int:
    """A maintenance reminder stops when the customer books: an appointment for today or later, made after the
    touch was planned."""
    now = now or timezone.now()
    booked = Appointment.objects.filter(
        customer_id=OuterRef("customer_id"),
        date__gte=dealership.local_date(now),
        status__in=(Appointment.Status.BOOKED, Appointment.Status.ARRIVED),
        created_at__gt=OuterRef("created_at"),
    )
    touches = Touch.objects.filter(dealership=dealership, kind__in=Touch.BY_VEHICLE).filter(Exists(booked))
    return cancel_pending(touches, reason="booked", now=now)


def _came(dealership):
    """A visit of the touch's customer on or after the day the touch was planned."""
    return Exists(
        ServiceVisit.objects.filter(customer_id=OuterRef("customer_id"), opened_on__gte=_created_day(dealership.zone))
    )


def stop_reminders_visited(*, dealership, now=None) -> int:
    """A maintenance reminder stops when the customer comes (a visit on or after the day it was planned)."""
    touches = Touch.objects.filter(dealership=dealership, kind__in=Touch.BY_VEHICLE).filter(_came(dealership))
    return cancel_pending(touches, reason="visited", now=now)


def stop_wake_ups_visited(*, dealership, now=None) -> int:
    """A wake-up stops when the lapsed customer comes."""
    touches = Touch.objects.filter(dealership=dealership, kind=Touch.Kind.WAKE_UP).filter(_came(dealership))
    return cancel_pending(touches, reason="visited", now=now)


def stop_moved_due_dates(*, dealership, now=None) -> int:
    """A maintenance reminder stops when its due date (the occasion) is no longer the vehicle's current
    forecast: the forecast moved, and the planner plans the reminder of the new date."""
    current = VehicleForecast.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), valid_to__isnull=True, next_due_on__isnull=False
    ).annotate(due=Cast("next_due_on", output_field=CharField(max_length=16)))
    touches = Touch.objects.filter(dealership=dealership, kind__in=Touch.BY_VEHICLE).exclude(
        Exists(current.filter(due=OuterRef("occasion")))
    )
    return cancel_pending(touches, reason="due_date_moved", now=now)


def _held_back_by_complaint() -> Q:
    """The touches an open complaint holds back: surveys and every marketing touch."""
    return Q(kind=Touch.Kind.SURVEY) | Q(touch_class=TouchClass.MARKETING)


def stop_for_open_complaints(*, dealership, now=None) -> int:
    """Surveys and marketing touches stop while a complaint of the customer's is open."""
    open_complaint = Complaint.objects.filter(customer_id=OuterRef("customer_id"), status__in=Complaint.OPEN_STATES)
    touches = Touch.objects.filter(_held_back_by_complaint(), dealership=dealership).filter(Exists(open_complaint))
    return cancel_pending(touches, reason="complaint_open", now=now)


def stop_for_open_complaint(*, customer, now=None) -> int:
    """Call when a complaint of ``customer``'s opens: their pending surveys and marketing touches stop at once."""
    touches = Touch.objects.filter(_held_back_by_complaint(), customer=customer)
    return cancel_pending(touches, reason="complaint_open", now=now)


def apply_stops(*, dealership, now=None) -> dict[str, int]:
    """Every stop condition for one store (the planner runs them after planning): cancelled, by reason."""
    now = now or timezone.now()
    figures = {
        "booked": stop_reminders_booked(dealership=dealership, now=now),
        "visited": stop_reminders_visited(dealership=dealership, now=now)
        + stop_wake_ups_visited(dealership=dealership, now=now),
        "due_date_moved": stop_moved_due_dates(dealership=dealership, now=now),
        "complaint_open": stop_for_open_complaints(dealership=dealership, now=now),
    }
    return figures
