# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""The customer 360 page's own reads, in hand-written statements: ``selectors.customer_360``'s answers.

The 360 page is what an advisor opens for every customer at the counter; its benchmark (issue 11: p95 ≤ 100 ms
with 8 connections on two cores) showed that building and compiling its querysets, not the database, was a
third of the page's time: about 1.1 ms of Python a query where the statement itself takes 0.25 ms. So the
page reads the customer, their vehicles with their owners, the consent history, the visits with their totals
and the appointments in five statements written here (``dealercrm.core.sqlread`` builds the ORM's instances
from the rows), and ``selectors.customer_360`` stays the definition: ``tests/customers/test_page360.py`` holds
this module to its answers case by case, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.http import Http404

from dealercrm.core import sqlread
from dealercrm.core.models import Dealership, User

from .models import Appointment, ConsentEvent, Customer, ServiceVisit, Vehicle, VehicleOwnership
from .selectors import APPOINTMENTS_SHOWN

CUSTOMER = ((Customer, "cu"),)
#: a vehicle, one of its ownerships (newest first) and that ownership's customer (the page shows the name)
VEHICLES = ((Vehicle, "v"), (VehicleOwnership, "o"), (Customer, "oc", ("id", "name")))
#: who recorded a consent event: what the page shows of them (``User.__str__``)
CONSENT = ((ConsentEvent, "e"), (User, "u", ("id", "username", "first_name", "last_name", "display_name")))
VISITS = ((ServiceVisit, "sv"), (Vehicle, "v"))
APPOINTMENTS = ((Appointment, "a"), (Vehicle, "v"))


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    return {
        "customer": f"""
            SELECT {sqlread.columns(CUSTOMER)} FROM customers_customer cu
            WHERE cu.dealership_id = %(dealership)s AND cu.id = %(customer)s
        """,
        "vehicles": f"""
            SELECT {sqlread.columns(VEHICLES)}
            FROM customers_vehicle v
            LEFT JOIN customers_vehicleownership o ON o.vehicle_id = v.id
            LEFT JOIN customers_customer oc ON oc.id = o.customer_id
            WHERE v.owner_id = %(customer)s
            ORDER BY v.plate, v.vin, v.id, o.started_on DESC, o.id DESC
        """,
        "consent": f"""
            SELECT {sqlread.columns(CONSENT)}
            FROM customers_consentevent e LEFT JOIN core_user u ON u.id = e.recorded_by_id
            WHERE e.customer_id = %(customer)s
            ORDER BY e.occurred_at DESC, e.id DESC
        """,
        # The totals of every visit ride along the newest ones: window aggregates over the whole set, computed
        # before the LIMIT.
        "visits": f"""
            SELECT {sqlread.columns(VISITS)},
                SUM(sv.total_amount) OVER (), SUM(sv.labor_amount) OVER (), SUM(sv.parts_amount) OVER (),
                COUNT(sv.id) OVER (), MAX(sv.opened_on) OVER ()
            FROM customers_servicevisit sv JOIN customers_vehicle v ON v.id = sv.vehicle_id
            WHERE sv.customer_id = %(customer)s
            ORDER BY sv.opened_on DESC, sv.id DESC
            LIMIT %(visits_limit)s
        """,
        "appointments": f"""
            SELECT {sqlread.columns(APPOINTMENTS)}
            FROM customers_appointment a LEFT JOIN customers_vehicle v ON v.id = a.vehicle_id
            WHERE a.customer_id = %(customer)s
            ORDER BY a.date DESC, a.time_slot DESC, a.id DESC
            LIMIT {APPOINTMENTS_SHOWN:d}
        """,
    }


def read(*, dealership: Dealership, pk, visits_limit: int | None = None) -> dict:
    """``selectors.customer_360(dealership=…, pk=…, visits_limit=…)``, in five statements; 404 when the customer
    is not the dealership's."""
    try:
        customer_id = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    statements = _statements(connection.vendor)
    # SQLite takes LIMIT -1 for "no limit"; PostgreSQL takes NULL (LIMIT ALL).
    unlimited = -1 if connection.vendor == "sqlite" else None
    params = {"dealership": dealership.pk, "customer": customer_id, "visits_limit": visits_limit or unlimited}
    with connection.cursor() as cursor:
        found = sqlread.fetch(cursor, statements["customer"], params, CUSTOMER)
        if not found:
            raise Http404
        customer = found[0][0][0]
        vehicles = _vehicles(sqlread.fetch(cursor, statements["vehicles"], params, VEHICLES))
        consent_events = []
        for (event, user), _extra in sqlread.fetch(cursor, statements["consent"], params, CONSENT):
            event.recorded_by = user
            consent_events.append(event)
        visits, totals = _visits(sqlread.fetch(cursor, statements["visits"], params, VISITS))
        appointments = []
        for (appointment, vehicle), _extra in sqlread.fetch(cursor, statements["appointments"], params, APPOINTMENTS):
            appointment.vehicle = vehicle
            appointments.append(appointment)
    for vehicle in vehicles:
        vehicle.owner = customer
    for event in consent_events:
        event.customer = customer
    for row in (*visits, *appointments):
        row.customer = customer
    return {
        "customer": customer,
        "vehicles": vehicles,
        "consent_events": consent_events,
        "visits": visits,
        "totals": totals,
        "appointments": appointments,
    }


def _vehicles(rows) -> list[Vehicle]:
    """One vehicle per run of rows (they come vehicle by vehicle), with its ``owner_history``."""
    vehicles: list[Vehicle] = []
    for (vehicle, ownership, owner), _extra in rows:
        if not vehicles or vehicles[-1].pk != vehicle.pk:
            vehicle.owner_history = []
            vehicles.append(vehicle)
        if ownership is not None:
            ownership.customer, ownership.vehicle = owner, vehicles[-1]
            vehicles[-1].owner_history.append(ownership)
    return vehicles


def _visits(rows) -> tuple[list[ServiceVisit], dict]:
    visits = []
    for (visit, vehicle), _extra in rows:
        visit.vehicle = vehicle
        visits.append(visit)
    if not rows:
        return visits, {"total": None, "labor": None, "parts": None, "count": 0, "last": None}
    total, labor, parts, count, last = rows[0][1]
    field = ServiceVisit._meta.get_field
    return visits, {
        "total": sqlread.convert(total, field("total_amount")),
        "labor": sqlread.convert(labor, field("labor_amount")),
        "parts": sqlread.convert(parts, field("parts_amount")),
        "count": int(count),
        "last": sqlread.convert(last, field("opened_on")),
    }
