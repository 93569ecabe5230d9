"""Stop conditions (followups.stops): pending touches cancelled, with their reason, when the customer books,
comes, has a complaint open or their due date moves; the clock frozen (time-machine)."""

import datetime as dt

import pytest
import time_machine

from customers.models import Appointment
from dealercrm.core.roles import Role
from followups import planner, stops
from followups.models import Complaint, Touch
from followups.reasons import reason_text
from tests.factories import UserFactory
from tests.followups.factories_planner import (
    complaint_of,
    customer_of,
    forecast_of,
    local,
    run_of,
    segment_of,
    visit_of,
)

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def clock(dealership):
    """A clock frozen at 10:00 on TODAY in the store, moved on with ``clock.move_to(day, hour)``."""
    UserFactory(username="agent-s", role=Role.AGENT, dealerships=[dealership])
    with time_machine.travel(local(dealership, TODAY, 10), tick=False) as traveller:

        class Clock:
            @staticmethod
            def move_to(day, hour=10):
                traveller.move_to(local(dealership, day, hour))

        yield Clock


@pytest.fixture
def reminded(dealership, clock):
    """A customer whose vehicle is due in 14 days: a reminder message (due today) and call, planned today."""
    customer = customer_of(dealership)
    run = run_of(dealership, TODAY - dt.timedelta(days=1))
    forecast_of(customer.vehicles.first(), run, TODAY + dt.timedelta(days=14))
    planner.plan_all()
    assert Touch.objects.filter(customer=customer, kind__in=["due_message", "due_call"]).count() == 2
    return customer


def states(customer, kinds):
    return {t.kind: (t.status, t.reason) for t in Touch.objects.filter(customer=customer, kind__in=kinds)}


def book(customer, day, **fields):
    return Appointment.objects.create(
        dealership_id=customer.dealership_id, customer=customer, date=day, status="booked", **fields
    )


def test_a_reminder_stops_when_the_customer_books_after_it_was_planned(dealership, reminded, clock):
    # Given, the next day, an appointment for next week made after the reminders were planned
    clock.move_to(TODAY + dt.timedelta(days=1))
    book(reminded, TODAY + dt.timedelta(days=8))

    # When the planner runs
    figures = planner.plan_all()

    # Then both reminders are cancelled with the reason "booked", in words too
    assert states(reminded, ["due_message", "due_call"]) == {
        "due_message": ("cancelled", "booked"),
        "due_call": ("cancelled", "booked"),
    }
    assert figures["cancelled"]["booked"] == 2
    assert Touch.objects.filter(reason="booked").first().reason_detail == str(reason_text("booked"))


def test_an_older_or_past_appointment_does_not_stop_a_reminder(dealership, clock):
    # Given an appointment made before the reminders were planned, and one for a day already past
    customer = customer_of(dealership)
    book(customer, TODAY + dt.timedelta(days=3))
    clock.move_to(TODAY, 11)
    forecast_of(customer.vehicles.first(), run_of(dealership, TODAY), TODAY + dt.timedelta(days=14))
    planner.plan_all()
    clock.move_to(TODAY + dt.timedelta(days=2))
    book(customer, TODAY + dt.timedelta(days=1))  # entered late, for yesterday

    planner.plan_all()

    assert {s for s, _r in states(customer, ["due_message", "due_call"]).values()} == {"planned"}


def test_a_reminder_stops_when_the_customer_comes(dealership, reminded, clock):
    # Given a visit of the customer on the day the reminders were planned (recorded later)
    visit_of(reminded, TODAY)

    # When the stop conditions run
    cancelled = stops.apply_stops(dealership=dealership)

    # Then the pending reminders are cancelled as "visited"
    assert cancelled["visited"] == 2
    assert {r for _s, r in states(reminded, ["due_message", "due_call"]).values()} == {"visited"}


def test_a_visit_before_the_day_the_reminder_was_planned_does_not_stop_it(dealership, reminded, clock):
    visit_of(reminded, TODAY - dt.timedelta(days=1))

    stops.apply_stops(dealership=dealership)

    assert {s for s, _r in states(reminded, ["due_message", "due_call"]).values()} == {"planned"}


def test_a_reminder_already_sent_is_not_cancelled(dealership, reminded, clock):
    Touch.objects.filter(customer=reminded, kind="due_message").update(status="sent")
    book(reminded, TODAY + dt.timedelta(days=2))

    stops.apply_stops(dealership=dealership)

    assert states(reminded, ["due_message"]) == {"due_message": ("sent", "")}


def test_a_reminder_stops_when_the_due_date_moves(dealership, reminded, clock):
    # Given a new segmentation run that moved the vehicle's due date by a month
    vehicle = reminded.vehicles.first()
    later = run_of(dealership, TODAY)
    from segmentation.models import VehicleForecast

    VehicleForecast.objects.filter(vehicle=vehicle, valid_to__isnull=True).update(valid_to=later)
    forecast_of(vehicle, later, TODAY + dt.timedelta(days=44))

    planner.plan_all()

    assert states(reminded, ["due_message", "due_call"]) == {
        "due_message": ("cancelled", "due_date_moved"),
        "due_call": ("cancelled", "due_date_moved"),
    }


def test_a_wake_up_stops_when_the_customer_comes(dealership, clock):
    customer = customer_of(dealership)
    segment_of(customer, run_of(dealership, TODAY))
    planner.plan_all()
    clock.move_to(TODAY + dt.timedelta(days=2))
    visit_of(customer, TODAY + dt.timedelta(days=2))

    planner.plan_all()

    assert states(customer, ["wake_up"]) == {"wake_up": ("cancelled", "visited")}


def test_surveys_and_marketing_stop_while_a_complaint_is_open_but_service_calls_go_on(dealership, clock):
    # Given a lapsed customer who came yesterday: a survey, a wake-up and follow-up calls are planned
    customer = customer_of(dealership)
    segment_of(customer, run_of(dealership, TODAY), last_visit_on=TODAY - dt.timedelta(days=1))
    visit_of(customer, TODAY - dt.timedelta(days=1))
    planner.plan_all()
    assert {"survey", "wake_up", "csi_call"} <= set(states(customer, Touch.Kind.values))

    # When a complaint of theirs opens and the complaints engineer's code calls the stop at once
    complaint_of(customer)
    cancelled = stops.stop_for_open_complaint(customer=customer)

    # Then the survey and the wake-up stop, the satisfaction call and day-7 call do not
    assert cancelled == 2
    now = states(customer, Touch.Kind.values)
    assert now["survey"] == ("cancelled", "complaint_open") and now["wake_up"] == ("cancelled", "complaint_open")
    assert now["csi_call"] == ("planned", "") and now["day7"] == ("planned", "")


def test_the_planner_applies_the_open_complaint_stop_too(dealership, clock):
    customer = customer_of(dealership)
    visit_of(customer, TODAY - dt.timedelta(days=1))
    planner.plan_all()
    complaint_of(customer, status=Complaint.Status.ACKNOWLEDGED)
    other = customer_of(dealership)
    visit_of(other, TODAY - dt.timedelta(days=1))
    complaint_of(other, status=Complaint.Status.RESOLVED)  # no longer open

    figures = planner.plan_all()

    assert figures["cancelled"]["complaint_open"] == 1
    assert states(customer, ["survey"]) == {"survey": ("cancelled", "complaint_open")}
    assert states(other, ["survey"]) == {"survey": ("planned", "")}


def test_a_stop_touches_only_its_own_store(dealership, other_dealership, clock):
    here, there = customer_of(dealership), customer_of(other_dealership)
    for customer in (here, there):
        visit_of(customer, TODAY - dt.timedelta(days=1))
    planner.plan_all()
    complaint_of(here)
    complaint_of(there)

    stops.stop_for_open_complaints(dealership=dealership)

    assert states(here, ["survey"]) == {"survey": ("cancelled", "complaint_open")}
    assert states(there, ["survey"]) == {"survey": ("planned", "")}
