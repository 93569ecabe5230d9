"""django-filter FilterSets of the customers API. They narrow querysets already scoped to the dealership."""

import re

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.filters import SearchFilter

from .. import phones
from ..models import Appointment, Customer, FuelType, Payer, ServiceVisit, Vehicle, VisitType
from ..validators import normalize_plate, normalize_vin

#: a search term that may be a phone number: digits, with a leading + and the usual separators
PHONE_TERM = re.compile(r"\+?[\d\- ()]+")


def phone_digits(value: str) -> str:
    """The national digits typed: ``+86 138-0013-8000`` → ``13800138000``, ``0755-1234 5678`` → ``75512345678``."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    if digits.startswith("0") and len(digits) >= 10:  # a landline with its trunk 0: stored as +86 755…
        digits = digits[1:]
    return digits


class CustomerSearchFilter(SearchFilter):
    """``?search=`` over the ``search_fields`` and, for a term that is a phone number or its end (4 digits or
    more, spaces and +86 ignored), the customers with that number (``customers.phones``: the column is
    encrypted, so the number is found by its hash or its last four digits, never by ``LIKE``)."""

    def filter_queryset(self, request, queryset, view):
        found = super().filter_queryset(request, queryset, view)
        terms = self.get_search_terms(request)
        digits = phone_digits(terms[0]) if len(terms) == 1 and PHONE_TERM.fullmatch(terms[0]) else ""
        if len(digits) < phones.PARTIAL_MIN_DIGITS:
            return found
        return queryset.filter(Q(pk__in=found.values("pk")) | phones.matching(queryset, digits))


class _IdField(forms.IntegerField):
    """A record's id: a positive 64-bit integer. Anything larger is refused (400) rather than handed to the
    database, where SQLite cannot even compare it (``OverflowError``, a 500 before this)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """The id of a related record; an id of another dealership simply matches nothing."""

    field_class = _IdField


class CustomerFilter(filters.FilterSet):
    phone = filters.CharFilter(
        method="filter_phone", label=_("Phone, or its last digits (spaces, dashes and +86 are ignored)")
    )
    name = filters.CharFilter(lookup_expr="icontains", label=_("Name contains"))
    customer_no = filters.CharFilter(label=_("Customer number"))
    marketing_consent = filters.BooleanFilter(label=_("Marketing consent granted"))
    do_not_contact = filters.BooleanFilter(label=_("Do not contact"))
    possible_duplicate = filters.BooleanFilter(field_name="flag_possible_duplicate", label=_("Possible duplicate"))
    city = filters.CharFilter(lookup_expr="iexact", label=_("City"))
    updated_after = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_("Changed at or after (ISO 8601)")
    )

    class Meta:
        model = Customer
        fields = []

    def filter_phone(self, queryset, name, value):
        digits = phone_digits(value)
        if not digits:
            return queryset.none()
        return queryset.filter(phones.matching(queryset, digits))


class VehicleFilter(filters.FilterSet):
    plate = filters.CharFilter(method="filter_plate", label=_("Plate"))
    plate_prefix = filters.CharFilter(method="filter_plate_prefix", label=_("Plate starts with (e.g. 粤B)"))
    vin = filters.CharFilter(method="filter_vin", label=_("VIN"))
    model = filters.CharFilter(lookup_expr="icontains", label=_("Model contains"))
    brand = filters.CharFilter(lookup_expr="icontains", label=_("Brand contains"))
    fuel_type = filters.ChoiceFilter(choices=FuelType.choices, label=_("Fuel type"))
    owner = IdFilter(field_name="owner_id", label=_("Id of the current owner"))

    class Meta:
        model = Vehicle
        fields = []

    def filter_plate(self, queryset, name, value):
        return queryset.filter(plate=normalize_plate(value))

    def filter_plate_prefix(self, queryset, name, value):
        return queryset.filter(plate__startswith=normalize_plate(value))

    def filter_vin(self, queryset, name, value):
        return queryset.filter(vin=normalize_vin(value))


class VisitFilter(filters.FilterSet):
    vehicle = IdFilter(field_name="vehicle_id", label=_("Vehicle id"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    visit_type = filters.ChoiceFilter(choices=VisitType.choices, label=_("Visit type"))
    payer = filters.ChoiceFilter(choices=Payer.choices, label=_("Payer"))
    opened_on = filters.DateFromToRangeFilter(label=_("Opened between (opened_on_after, opened_on_before)"))
    campaign_code = filters.CharFilter(label=_("Campaign code"))
    ro_number = filters.CharFilter(label=_("RO number"))

    class Meta:
        model = ServiceVisit
        fields = []


class AppointmentFilter(filters.FilterSet):
    date = filters.DateFilter(label=_("Day"))
    date_after = filters.DateFilter(field_name="date", lookup_expr="gte", label=_("On or after"))
    date_before = filters.DateFilter(field_name="date", lookup_expr="lte", label=_("On or before"))
    status = filters.ChoiceFilter(choices=Appointment.Status.choices, label=_("Status"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    vehicle = IdFilter(field_name="vehicle_id", label=_("Vehicle id"))

    class Meta:
        model = Appointment
        fields = []
