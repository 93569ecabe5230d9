"""Filtering customers' segments: by the stable codes, their tags, and what their vehicles are.

One FilterSet serves the segment explorer's customer list, its exports and the API. A vehicle
condition (model, age band, plate prefix) holds when one of the customer's current vehicles
matches all of them together; it is an ``EXISTS`` subquery, so a customer appears once.
"""

import django_filters
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Vehicle

from .models import AgeBand, C3Group, CustomerSegment, CustomerTag, Tier, ValueLayer, VehicleForecast
from .tagging import TAG_BITS

NO_GROUP = "none"


class SegmentFilter(django_filters.FilterSet):
    c3_group = django_filters.MultipleChoiceFilter(
        label=_("C3 group"),
        choices=[*C3Group.choices, (NO_GROUP, _("No group"))],
        method="filter_c3_group",
    )
    tier = django_filters.MultipleChoiceFilter(label=_("tier"), choices=Tier.choices)
    value_layer = django_filters.MultipleChoiceFilter(label=_("value layer"), choices=ValueLayer.choices)
    lapsed = django_filters.BooleanFilter(label=_("lapsed"))
    model = django_filters.CharFilter(label=_("vehicle model"), method="filter_vehicle")
    age_band = django_filters.MultipleChoiceFilter(
        label=_("vehicle age band"), choices=AgeBand.choices, method="filter_vehicle"
    )
    plate_prefix = django_filters.CharFilter(label=_("plate prefix"), method="filter_vehicle")
    last_visit_after = django_filters.DateFilter(
        label=_("last visit on or after"), field_name="last_visit_on", lookup_expr="gte"
    )
    last_visit_before = django_filters.DateFilter(
        label=_("last visit on or before"), field_name="last_visit_on", lookup_expr="lte"
    )
    tag = django_filters.CharFilter(
        label=_("tags"), method="filter_tag", help_text=_("Tag codes, separated by commas: any of them.")
    )

    class Meta:
        model = CustomerSegment
        fields = ["c3_group", "tier", "value_layer", "lapsed"]

    def filter_c3_group(self, queryset, name, values):
        if not values:
            return queryset
        codes = ["" if value == NO_GROUP else value for value in values]
        return queryset.filter(c3_group__in=codes)

    def filter_tag(self, queryset, name, value):
        """Any of the tags: automatic ones by their bit in ``tags``, staff's own by their link."""
        codes = {code.strip() for code in value.split(",") if code.strip()}
        if not codes:
            return queryset
        mask = sum(TAG_BITS[code] for code in codes & set(TAG_BITS))
        own = codes - set(TAG_BITS)
        condition = Q(tag_bits__gt=0) if mask else Q(pk__in=[])
        if own:
            condition |= Q(Exists(CustomerTag.objects.filter(customer_id=OuterRef("customer_id"), tag__code__in=own)))
        return queryset.alias(tag_bits=F("tags").bitand(mask)).filter(condition)

    def filter_vehicle(self, queryset, name, value):
        return queryset  # applied together in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        model, bands, prefix = data.get("model"), data.get("age_band"), data.get("plate_prefix")
        if not (model or bands or prefix):
            return queryset
        vehicles = Vehicle.objects.filter(owner=OuterRef("customer_id"))
        if model:
            vehicles = vehicles.filter(model=model.strip())
        if prefix:
            vehicles = vehicles.filter(plate__startswith=prefix.strip().upper())
        if bands:
            vehicles = vehicles.filter(
                Exists(
                    VehicleForecast.objects.filter(vehicle=OuterRef("pk"), valid_to__isnull=True, age_band__in=bands)
                )
            )
        return queryset.filter(Exists(vehicles))
