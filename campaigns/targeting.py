"""Which customers a target group matches, and through which vehicle.

A target group's ``filters`` is a small dict of codes (``FILTER_KEYS``). The customer conditions
(C3 group, tier, value layer, lapsed, last-visit range, tags) are read from the customer's current
segmentation result; the vehicle conditions (models, age band on the campaign's first day, plate
prefix) hold when one of the customer's current vehicles matches all of them. The invitation names
that vehicle (the lowest id when several match). Customers without marketing consent, on
do-not-contact or with a known wrong number never match.

Everything is one queryset of ``(customer_id, vehicle_id)`` rows, so that a preview counts it and the
list generation inserts it with one ``INSERT … SELECT``.
"""

from __future__ import annotations

import calendar
from datetime import date

from django.db.models import Case, CharField, Exists, F, Min, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from customers.contact import MARKETING, contactable
from customers.models import Customer, Vehicle
from segmentation.filters import NO_GROUP
from segmentation.models import AgeBand, C3Group, CustomerSegment, CustomerTag, Tier, ValueLayer
from segmentation.tagging import TAG_BITS

LIST_KEYS = {
    "c3_group": [*C3Group.values, NO_GROUP],
    "tier": Tier.values,
    "value_layer": ValueLayer.values,
    "age_band": AgeBand.values,
}
FILTER_KEYS = (
    "c3_group",
    "tier",
    "value_layer",
    "lapsed",
    "models",
    "age_band",
    "plate_prefix",
    "last_visit_after",
    "last_visit_before",
    "tags",
)
SEGMENT_KEYS = {"c3_group", "tier", "value_layer", "lapsed", "last_visit_after", "last_visit_before", "tags"}
VEHICLE_KEYS = {"models", "age_band", "plate_prefix"}


def filter_errors(filters: dict) -> list[str]:
    """What is wrong with ``filters``, one message per problem (empty when they are usable)."""
    errors = []
    if not isinstance(filters, dict):
        return [_("The filters must be an object of codes.")]
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        errors.append(_("Unknown filter: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    for key, allowed in LIST_KEYS.items():
        values = filters.get(key) or []
        if not isinstance(values, list):
            errors.append(_("“%(key)s” must be a list of codes.") % {"key": key})
            continue
        wrong = [str(v) for v in values if v not in allowed]
        if wrong:
            errors.append(
                _("Unknown code in “%(key)s”: %(codes)s (known: %(known)s).")
                % {"key": key, "codes": ", ".join(wrong), "known": ", ".join(allowed)}
            )
    for key in ("models", "tags"):
        values = filters.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            errors.append(_("“%(key)s” must be a list of names.") % {"key": key})
    if filters.get("lapsed") not in (None, True, False):
        errors.append(_("“lapsed” is true, false or absent."))
    if not isinstance(filters.get("plate_prefix", ""), str):
        errors.append(_("“plate_prefix” must be text, such as 粤B."))
    days = {}
    for key in ("last_visit_after", "last_visit_before"):
        value = filters.get(key)
        if value in (None, ""):
            continue
        try:
            parsed = parse_date(value) if isinstance(value, str) else None
        except ValueError:  # well formed but no such day, like 2026-02-30
            parsed = None
        if parsed is None:
            errors.append(_("“%(key)s” is not a date (YYYY-MM-DD): %(value)s.") % {"key": key, "value": value})
        days[key] = parsed
    after, before = days.get("last_visit_after"), days.get("last_visit_before")
    if after and before and after > before:
        errors.append(_("The last-visit range ends before it starts."))
    return errors


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (29 February becomes 28 February in a common year)."""
    year = day.year - years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


# Age band -> (full years at least, below) on the reference day; see segmentation.engine.age_bands.
BAND_YEARS = {
    AgeBand.UNDER_1: (0, 1),
    AgeBand.Y1_2: (1, 2),
    AgeBand.Y2_3: (2, 3),
    AgeBand.Y3_5: (3, 5),
    AgeBand.OVER_5: (5, None),
}


def age_band_condition(bands: list[str], on: date, field: str = "purchase_date") -> Q:
    """Vehicles whose age band on ``on`` is one of ``bands``, as ranges of purchase dates (``field``: the
    purchase date's path, e.g. ``vehicle__purchase_date`` from an invitation)."""
    condition = Q(pk__in=[])
    for band in bands:
        low, high = BAND_YEARS[AgeBand(band)]
        part = Q(**{f"{field}__lte": years_before(on, low)})
        if high is not None:
            part &= Q(**{f"{field}__gt": years_before(on, high)})
        condition |= part
    return condition


def age_band_case(on: date, field: str = "purchase_date") -> Case:
    """The age band (an ``AgeBand`` code) on ``on`` of the vehicle whose purchase date is ``field``, as a SQL
    expression of the ranges ``age_band_condition`` tests; "" when the date (or the vehicle) is unknown."""
    whens = [When(age_band_condition([band], on, field), then=Value(band.value)) for band in AgeBand]
    return Case(*whens, default=Value(""), output_field=CharField())


def _segment_condition(filters: dict, dealership) -> tuple[Q, int] | None:
    """Conditions on the customer's current segmentation result and the tag bits they test, or None when
    the group sets none. A staff tag the dealership does not have matches nobody."""
    q, mask = Q(), 0
    if filters.get("c3_group"):
        q &= Q(c3_group__in=["" if c == NO_GROUP else c for c in filters["c3_group"]])
    if filters.get("tier"):
        q &= Q(tier__in=filters["tier"])
    if filters.get("value_layer"):
        q &= Q(value_layer__in=filters["value_layer"])
    if filters.get("lapsed") is not None:
        q &= Q(lapsed=filters["lapsed"])
    if filters.get("last_visit_after"):
        q &= Q(last_visit_on__gte=parse_date(filters["last_visit_after"]))
    if filters.get("last_visit_before"):
        q &= Q(last_visit_on__lte=parse_date(filters["last_visit_before"]))
    tags = set(filters.get("tags") or [])
    if tags:
        mask = sum(TAG_BITS[t] for t in tags & set(TAG_BITS))
        own = tags - set(TAG_BITS)
        either = Q(tag_bits__gt=0) if mask else Q(pk__in=[])
        if own:
            either |= Q(
                Exists(
                    CustomerTag.objects.filter(
                        customer_id=OuterRef("customer_id"), tag__dealership=dealership, tag__code__in=own
                    )
                )
            )
        q &= either
    return (q, mask) if q else None


def eligible_customers(dealership) -> QuerySet[Customer]:
    """The dealership's customers who may be invited: a campaign call is marketing by phone
    (``customers.contact``: marketing consent, not do-not-contact, no known wrong number)."""
    return Customer.objects.filter(contactable(MARKETING, "call"), dealership=dealership)


def matching(group, *, exclude_invited: bool = True, before: list | None = None) -> QuerySet:
    """``(customer_id, vehicle_id)`` rows (``values``) of the customers ``group`` matches.

    ``exclude_invited`` leaves out customers already on the campaign's list; ``before`` (target groups)
    leaves out customers an earlier group matches, for a preview of what generation would add.
    """
    campaign = group.campaign
    dealership = campaign.dealership
    filters = group.filters or {}
    customers = eligible_customers(dealership)
    segment = _segment_condition(filters, dealership)
    if segment is not None:
        condition, mask = segment
        segments = CustomerSegment.objects.filter(
            dealership=dealership, valid_to__isnull=True, customer_id=OuterRef("pk")
        )
        if mask:
            segments = segments.alias(tag_bits=F("tags").bitand(mask))
        customers = customers.filter(Exists(segments.filter(condition)))
    if exclude_invited:
        customers = customers.exclude(invitations__campaign=campaign)
    for earlier in before or []:
        customers = customers.exclude(pk__in=matching(earlier, exclude_invited=False).values("customer_id"))

    return invitation_vehicles(group, customers)


def invitation_vehicles(group, customers: QuerySet[Customer]) -> QuerySet:
    """``(customer_id, vehicle_id)`` rows (``values``) of ``customers`` with the vehicle each is invited through
    in ``group``: with vehicle conditions (models, plate prefix, age band on the campaign's first day), the
    lowest id of their current vehicles that meet them all (a customer with none is left out); without, their
    first current vehicle (or none). The list generation (``matching``) and a past campaign's list
    (``campaigns.past``) both take it from here."""
    campaign = group.campaign
    filters = group.filters or {}
    vehicles = Vehicle.objects.filter(dealership_id=campaign.dealership_id)
    if filters.get("models"):
        vehicles = vehicles.filter(model__in=[m.strip() for m in filters["models"]])
    if filters.get("plate_prefix", "").strip():
        vehicles = vehicles.filter(plate__startswith=filters["plate_prefix"].strip().upper())
    if filters.get("age_band"):
        vehicles = vehicles.filter(age_band_condition(filters["age_band"], campaign.starts_on))
    if any(filters.get(key) for key in VEHICLE_KEYS):
        return (
            vehicles.filter(owner__in=customers)
            .values(customer_id=F("owner_id"))
            .annotate(vehicle_id=Min("id"))
            .order_by()
        )
    first_vehicle = vehicles.filter(owner=OuterRef("pk")).order_by("id").values("id")[:1]
    return customers.values(customer_id=F("pk")).annotate(vehicle_id=Subquery(first_vehicle)).order_by()
