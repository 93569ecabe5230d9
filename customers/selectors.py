"""Every read of customers, vehicles, visits and appointments: each takes the dealership."""

import re
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from dealercrm.core.models import Dealership

from .models import Appointment, Customer, ServiceVisit, Vehicle
from .validators import PROVINCES


def customer_list(*, dealership: Dealership) -> QuerySet[Customer]:
    return Customer.objects.filter(dealership=dealership)


def vehicle_list(*, dealership: Dealership) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(dealership=dealership).select_related("owner")


def visit_list(*, dealership: Dealership) -> QuerySet[ServiceVisit]:
    return ServiceVisit.objects.filter(dealership=dealership).select_related("vehicle", "customer")


def appointment_list(*, dealership: Dealership) -> QuerySet[Appointment]:
    return Appointment.objects.filter(dealership=dealership).select_related("customer", "vehicle")


def customer_get(*, dealership: Dealership, pk) -> Customer:
    """The customer, or 404 when it is not this dealership's."""
    return get_object_or_404(customer_list(dealership=dealership), pk=pk)


def customer_360(*, dealership: Dealership, pk) -> dict:
    """Everything the 360 page shows, in a fixed number of queries."""
    customer = get_object_or_404(
        customer_list(dealership=dealership).prefetch_related(
            Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate")),
            "consent_events__recorded_by",
        ),
        pk=pk,
    )
    visits = list(
        ServiceVisit.objects.filter(customer=customer).select_related("vehicle").order_by("-opened_on", "-id")
    )
    totals = ServiceVisit.objects.filter(customer=customer).aggregate(
        total=Sum("total_amount"),
        labor=Sum("labor_amount"),
        parts=Sum("parts_amount"),
        count=Count("id"),
        last=Max("opened_on"),
    )
    appointments = list(Appointment.objects.filter(customer=customer).select_related("vehicle").order_by("-date")[:10])
    return {"customer": customer, "visits": visits, "totals": totals, "appointments": appointments}


@dataclass(frozen=True)
class SearchQuery:
    kind: str  # vin / plate / phone / name
    text: str


_PHONE_RE = re.compile(r"^\+?[\d\s\-]{3,16}$")
_PLATE_PART_RE = re.compile(rf"^[{PROVINCES}]?[A-Z0-9]{{2,8}}$")


def classify_search(raw: str) -> SearchQuery:
    """Recognise what the advisor typed by its shape: a VIN, a phone, a plate (or its end), or a name."""
    text = re.sub(r"\s+", "", raw or "").upper()
    if not text:
        return SearchQuery("name", "")
    if len(text) == 17 and re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", text):
        return SearchQuery("vin", text)
    if _PHONE_RE.match(raw.strip()) and sum(c.isdigit() for c in text) >= 4 and text.lstrip("+").isdigit():
        digits = text.lstrip("+")
        if digits.startswith("86") and len(digits) > 11:
            digits = digits[2:]
        return SearchQuery("phone", digits)
    if text[0] in PROVINCES or (_PLATE_PART_RE.match(text) and any(c.isdigit() for c in text)):
        return SearchQuery("plate", text)
    return SearchQuery("name", raw.strip())


def counter_search(*, dealership: Dealership, q: str, limit: int = 20) -> tuple[SearchQuery, list[Customer]]:
    """Customers matching the counter search box, with the vehicles that matched.

    A plate may be partial (e.g. its last five characters); a phone may be its
    last digits; a VIN may be the full 17 characters or its last six or more.
    """
    query = classify_search(q)
    customers = customer_list(dealership=dealership)
    if not query.text:
        return query, []
    if query.kind == "vin":
        match = Q(vehicles__vin=query.text)
    elif query.kind == "phone":
        match = Q(phone__endswith=query.text) if len(query.text) < 11 else Q(phone__endswith=query.text[-11:])
    elif query.kind == "plate":
        match = Q(vehicles__plate__icontains=query.text)
        if len(query.text) >= 6 and query.text.isalnum() and query.text.isascii():
            match |= Q(vehicles__vin__endswith=query.text)
    else:
        match = Q(name__icontains=query.text) | Q(customer_no__iexact=query.text)
    ids = customers.filter(match).values("pk").distinct()[:limit]
    results = list(
        customer_list(dealership=dealership)
        .filter(pk__in=ids)
        .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate")))
        .annotate(last_visit=Max("visits__opened_on"))
        .order_by("name", "pk")
    )
    return query, results
