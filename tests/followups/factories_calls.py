"""Follow-up call tasks for the queue and call tests: a touch on the channel "call" assigned to an agent, with
the subject its kind needs (a visit, a vehicle and its due date, an invitation, the customer)."""

from datetime import timedelta

from followups.models import Priority, Touch
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

#: the class and priority of each kind, as the planner gives them
KINDS = {
    Touch.Kind.DAY_7: ("service", Priority.SATISFACTION),
    Touch.Kind.DAY_15: ("service", Priority.SATISFACTION),
    Touch.Kind.DAY_30: ("service", Priority.SATISFACTION),
    Touch.Kind.SATISFACTION: ("service", Priority.SATISFACTION),
    Touch.Kind.DUE_CALL: ("service", Priority.MAINTENANCE),
    Touch.Kind.WAKE_UP: ("marketing", Priority.MARKETING),
}


def call_task(dealership, agent, *, due_at, kind=Touch.Kind.DAY_7, customer=None, **fields) -> Touch:
    """A planned follow-up call of ``kind`` for ``agent``, due at ``due_at`` (3 attempts, no expiry unless
    given); ``customer`` fields may be set with ``customer=CustomerFactory(...)``."""
    customer = customer or CustomerFactory(dealership=dealership)
    touch_class, priority = KINDS[kind]
    subject = {}
    if kind in Touch.BY_VISIT:
        vehicle = customer.vehicles.first() or VehicleFactory(owner=customer)
        day = (due_at - timedelta(days=7)).date()
        subject["visit"] = ServiceVisitFactory(vehicle=vehicle, opened_on=day, closed_on=day)
    elif kind in Touch.BY_VEHICLE:
        subject["vehicle"] = customer.vehicles.first() or VehicleFactory(owner=customer)
        subject["occasion"] = (due_at + timedelta(days=7)).date().isoformat()
    elif kind in Touch.BY_CUSTOMER:
        subject["occasion"] = f"{due_at.year}H{1 if due_at.month <= 6 else 2}"
    values = {
        "dealership": dealership,
        "kind": kind,
        "customer": customer,
        "due_at": due_at,
        "touch_class": touch_class,
        "channel": "call",
        "assignee": agent,
        "priority": priority,
        "max_attempts": 3,
        **subject,
        **fields,
    }
    return Touch.objects.create(**values)
