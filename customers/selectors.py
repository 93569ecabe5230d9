"""Every read of customers, vehicles, visits and appointments: each takes the dealership."""

import re
from dataclasses import dataclass

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Sum, Window
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from dealercrm.core.models import Dealership

from . import phones
from .models import Appointment, ConsentEvent, Customer, ServiceVisit, Vehicle, VehicleOwnership
from .validators import PROVINCES


def customer_list(*, dealership: Dealership) -> QuerySet[Customer]:
    return Customer.objects.filter(dealership=dealership)


def vehicle_list(*, dealership: Dealership) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(dealership=dealership).select_related("owner")


def visit_list(*, dealership: Dealership) -> QuerySet[ServiceVisit]:
    return ServiceVisit.objects.filter(dealership=dealership).select_related("vehicle", "customer")


def appointment_list(*, dealership: Dealership) -> QuerySet[Appointment]:
    return Appointment.objects.filter(dealership=dealership).select_related("customer", "vehicle")


def appointments_expected(*, dealership: Dealership, day) -> QuerySet[Appointment]:
    """Booked appointments of ``day``: the counter's list of expected arrivals."""
    return (
        appointment_list(dealership=dealership)
        .filter(date=day, status=Appointment.Status.BOOKED)
        .order_by("time_slot", "customer__name", "pk")
    )


def appointment_get(*, dealership: Dealership, pk) -> Appointment:
    """The appointment, or 404 when it is not this dealership's."""
    return get_object_or_404(appointment_list(dealership=dealership), pk=pk)


def vehicle_get(*, dealership: Dealership, pk) -> Vehicle:
    """The vehicle, or 404 when it is not this dealership's."""
    return get_object_or_404(vehicle_list(dealership=dealership), pk=pk)


def customer_number_suggest(*, dealership: Dealership, prefix: str = "CRM") -> str:
    """The next free customer number for a customer created here rather than in the DMS: CRM000001, …"""
    numbers = customer_list(dealership=dealership).filter(customer_no__regex=rf"^{prefix}[0-9]{{6}}$")
    last = numbers.order_by("-customer_no").values_list("customer_no", flat=True).first()
    return f"{prefix}{int(last[len(prefix) :]) + 1 if last else 1:06d}"


def customer_get(*, dealership: Dealership, pk) -> Customer:
    """The customer, or 404 when it is not this dealership's."""
    return get_object_or_404(customer_list(dealership=dealership), pk=pk)


#: the 360 page's appointments: the latest ten
APPOINTMENTS_SHOWN = 10


def customer_360(*, dealership: Dealership, pk, visits_limit: int | None = None) -> dict:
    """Everything the 360 page shows about the customer itself: the customer; their vehicles (by plate, then
    VIN), each with its owners newest first as ``owner_history`` (each ownership with its customer); their
    consent history, newest first, with who recorded each event; the newest ``visits_limit`` visits (all when
    None) with their vehicles and the totals of all of them; the latest appointments with their vehicles.

    This is the definition. The page reads the same through ``customers.page360`` (hand-written statements,
    for its benchmark), which the tests hold to this function's answers."""
    customer = get_object_or_404(customer_list(dealership=dealership), pk=pk)
    vehicles = list(
        Vehicle.objects.filter(owner=customer)
        .order_by("plate", "vin")
        .prefetch_related(Prefetch("ownerships", queryset=VehicleOwnership.objects.select_related("customer")))
    )
    for vehicle in vehicles:
        vehicle.owner_history = list(vehicle.ownerships.all())
    consent_events = list(ConsentEvent.objects.filter(customer=customer).select_related("recorded_by"))
    # The totals of every visit ride along the newest ones (window aggregates over the whole set, computed
    # before the LIMIT): one query where the list and the totals took two.
    visits = (
        ServiceVisit.objects.filter(customer=customer)
        .select_related("vehicle")
        .annotate(
            all_total=Window(Sum("total_amount")),
            all_labor=Window(Sum("labor_amount")),
            all_parts=Window(Sum("parts_amount")),
            all_count=Window(Count("id")),
            all_last=Window(Max("opened_on")),
        )
        .order_by("-opened_on", "-id")
    )
    visits = list(visits[:visits_limit] if visits_limit else visits)
    first = visits[0] if visits else None
    totals = {
        "total": first.all_total if first else None,
        "labor": first.all_labor if first else None,
        "parts": first.all_parts if first else None,
        "count": first.all_count if first else 0,
        "last": first.all_last if first else None,
    }
    appointments = list(
        Appointment.objects.filter(customer=customer)
        .select_related("vehicle")
        .order_by("-date", "-time_slot", "-id")[:APPOINTMENTS_SHOWN]
    )
    return {
        "customer": customer,
        "vehicles": vehicles,
        "consent_events": consent_events,
        "visits": visits,
        "totals": totals,
        "appointments": appointments,
    }


@dataclass(frozen=True)
class SearchQuery:
    """What the counter search box recognised.

    ``kind`` is one of ``empty``, ``vin`` (all 17 characters), ``vin_part``
    (8–16 characters of a VIN), ``plate`` (whole or part), ``phone`` (7 or more
    digits: a number or its end), ``digits`` (3–6 digits: the end of a phone
    number or part of a plate), ``too_short`` (1–2 digits), ``name`` (a name
    or a customer number). ``text`` is the normalised text that is searched for.
    """

    kind: str
    text: str

    @property
    def label(self) -> str:
        return str(SEARCH_KIND_LABELS.get(self.kind, self.kind))


SEARCH_KIND_LABELS = {
    "empty": _("Nothing typed yet"),
    "too_short": _("Too short to search yet"),
    "vin": _("VIN"),
    "vin_part": _("Part of a VIN, or a customer number"),
    "plate": _("Plate"),
    "phone": _("Phone number"),
    "digits": _("End of a phone number, or part of a plate"),
    "name": _("Name or customer number"),
}

_SEPARATORS_RE = re.compile(r"[\s·•\-()（）]+")
_VIN_CHARS_RE = re.compile(r"[A-HJ-NPR-Z0-9]+")
_PLATE_BODY_RE = re.compile(r"[A-Z0-9]+")


def _phone_digits(text: str) -> str:
    """Digits to match the end of a stored E.164 number: no +86 country code, no trunk 0."""
    digits = text.lstrip("+")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) >= 12:
        digits = digits[2:]
    if digits.startswith("0") and len(digits) >= 10:  # landline with its trunk prefix: 0755-12345678
        digits = digits[1:]
    return digits


def classify_search(raw: str) -> SearchQuery:
    """Recognise what the advisor typed by its shape: a VIN, a phone, a plate (or its end), or a name.

    Spaces, dashes, dots and brackets are ignored ("138 0013 8000", "粤B·A1234",
    "0755-8888 6666"). Letters are compared in capitals.
    """
    original = (raw or "").strip()
    text = _SEPARATORS_RE.sub("", original).upper()
    if not text:
        return SearchQuery("empty", "")
    if len(text) > 1 and text[0] in PROVINCES and _PLATE_BODY_RE.fullmatch(text[1:]):
        return SearchQuery("plate", text)
    if re.fullmatch(r"\+?\d+", text):
        digits = _phone_digits(text)
        if len(digits) >= 7:
            return SearchQuery("phone", digits[-11:])
        return SearchQuery("digits" if len(digits) >= 3 else "too_short", digits)
    if text.isascii() and text.isalnum() and any(c.isdigit() for c in text):
        if len(text) == 17 and _VIN_CHARS_RE.fullmatch(text):
            return SearchQuery("vin", text)
        if len(text) >= 8 and _VIN_CHARS_RE.fullmatch(text):
            return SearchQuery("vin_part", text)
        if len(text) <= 7:
            return SearchQuery("plate", text)
    return SearchQuery("name", original)


def _search_match(query: SearchQuery, customers, vehicles):
    """The ids of the ``customers`` that ``query`` matches (``vehicles``: those of the same store), as one
    ``UNION`` of what each reading of the text finds: a plate, a VIN, a phone (its keyed hash or last four
    digits), a name, a customer number. Each part uses its own index; an ``OR`` across the join to the vehicles
    would scan both tables whole."""
    text = query.text
    by_vehicle: list[Q] = []  # current owners of the vehicles matching these
    by_customer: list[Q] = [Q(customer_no__in={text, text.upper()})]  # a customer number, whatever its shape
    if query.kind == "vin":
        by_vehicle.append(Q(vin=text))
    elif query.kind == "vin_part":
        by_vehicle.append(Q(vin__contains=text))
    elif query.kind == "plate":
        by_vehicle.append(Q(plate__contains=text))
        if len(text) >= 6:  # the last six of a VIN look like a plate's end
            by_vehicle.append(Q(vin__endswith=text))
    elif query.kind == "phone":
        by_customer.append(phones.matching(customers, text))
    elif query.kind == "digits":
        by_vehicle.append(Q(plate__contains=text))
        if len(text) >= phones.PARTIAL_MIN_DIGITS:
            by_customer.append(phones.matching(customers, text))
        if len(text) == 6:
            by_vehicle.append(Q(vin__endswith=text))
    else:
        by_customer.append(Q(name__icontains=text))
    parts = [customers.filter(match).order_by().values("pk") for match in by_customer]
    parts += [vehicles.filter(match).order_by().values("owner_id") for match in by_vehicle]
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _vehicle_matches(query: SearchQuery, vehicle: Vehicle) -> bool:
    text = query.text
    if query.kind == "vin":
        return vehicle.vin == text
    if query.kind == "vin_part":
        return text in vehicle.vin
    if query.kind in ("plate", "digits"):
        return text in (vehicle.plate or "") or (len(text) >= 6 and vehicle.vin.endswith(text))
    return False


def counter_search(*, dealership: Dealership, q: str, limit: int = 20) -> tuple[SearchQuery, list[Customer]]:
    """Customers matching the counter search box, in two queries (plus one for their vehicles).

    A plate may be partial (e.g. its last five characters); a phone may be its
    last digits (four or more); a VIN may be the full 17 characters, 8 or more
    of them, or its last six. Each customer comes with ``last_visit`` (date or
    None) and ``matched_vehicles`` (the vehicles the search hit, for
    highlighting). The most recent visitors come first.
    """
    query = classify_search(q)
    if query.kind in ("empty", "too_short"):
        return query, []
    customers = customer_list(dealership=dealership)
    ids = _search_match(query, customers, Vehicle.objects.filter(dealership=dealership))
    results = list(
        customer_list(dealership=dealership)
        .filter(pk__in=ids)
        .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.order_by("plate", "vin")))
        .annotate(last_visit=Max("visits__opened_on"))
        .order_by(F("last_visit").desc(nulls_last=True), "name", "pk")[:limit]
    )
    for customer in results:
        customer.matched_vehicles = [v for v in customer.vehicles.all() if _vehicle_matches(query, v)]
    return query, results


def customer_change_history(*, dealership: Dealership, customer: Customer, limit: int = 50):
    """The audit trail of one customer of ``dealership``: who changed what, when, old → new, newest first —
    the customer, the vehicles they own or owned, their visits and appointments (simple-history's rows, each
    against the record's previous row), and the consent events recorded for them."""
    from dealercrm.core.audit import FieldChange, HistoryEntry, history_entries, merged_entries

    from .models import ConsentEvent

    vehicle_ids = VehicleOwnership.objects.filter(customer=customer, vehicle__dealership=dealership).values(
        "vehicle_id"
    )
    # the store, a flag the nightly job keeps, and the phone's lookup columns (they follow the number)
    hidden = ("dealership", "flag_possible_duplicate", "phone_hash", "phone_last4")
    events = ConsentEvent.objects.filter(customer=customer, customer__dealership=dealership).select_related(
        "recorded_by"
    )
    consent = [
        HistoryEntry(
            when=event.created_at,
            user=event.recorded_by,
            reason=event.note,
            record=str(ConsentEvent._meta.verbose_name),
            record_label=event.get_channel_display(),
            kind="+",
            changes=(
                FieldChange(
                    "granted",
                    str(ConsentEvent._meta.get_field("granted").verbose_name),
                    "—",
                    str(_("Granted") if event.granted else _("Withdrawn")),
                ),
                FieldChange(
                    "occurred_at",
                    str(ConsentEvent._meta.get_field("occurred_at").verbose_name),
                    "—",
                    f"{event.occurred_at.astimezone(dealership.zone):%Y-%m-%d %H:%M}",
                ),
            ),
        )
        for event in events.order_by("-created_at", "-id")[:limit]
    ]
    return merged_entries(
        history_entries(Customer.history.filter(id=customer.pk, dealership=dealership), limit=limit, hidden=hidden),
        history_entries(Vehicle.history.filter(id__in=vehicle_ids, dealership=dealership), limit=limit, hidden=hidden),
        history_entries(
            ServiceVisit.history.filter(customer_id=customer.pk, dealership=dealership),
            limit=limit,
            hidden=(*hidden, "customer"),
        ),
        history_entries(
            Appointment.history.filter(customer_id=customer.pk, dealership=dealership),
            limit=limit,
            hidden=(*hidden, "customer"),
            label=lambda row: f"{row.date:%Y-%m-%d} {row.time_slot}".strip(),
        ),
        consent,
        limit=limit,
    )


def ro_number_suggest(*, dealership: Dealership, day) -> str:
    """The next free repair-order number of ``day`` for a visit opened at the counter: RO20261201-001, …
    (an RO number the DMS gave is typed instead)."""
    prefix = f"RO{day:%Y%m%d}-"
    # the day's visits (the date index), not every RO number of the store
    numbers = ServiceVisit.objects.filter(dealership=dealership, opened_on=day, ro_number__startswith=prefix)
    taken = [
        int(ro[len(prefix) :]) for ro in numbers.values_list("ro_number", flat=True) if ro[len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(taken, default=0) + 1:03d}"
