"""django-filter FilterSets of the follow-ups API; they narrow querysets already scoped to the dealership."""

import datetime as dt

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from customers.api.filters import IdFilter

from ..models import MessageTemplate, Touch, TouchChannel


class TouchFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Touch.Kind.choices, label=_("Kind of touch"))
    status = filters.ChoiceFilter(choices=Touch.Status.choices, label=_("Touch status"))
    channel = filters.ChoiceFilter(choices=TouchChannel.choices, label=_("Channel"))
    touch_class = filters.ChoiceFilter(
        field_name="touch_class", choices=[("service", _("Service")), ("marketing", _("Marketing"))], label=_("Class")
    )
    agent = IdFilter(field_name="assignee_id", label=_("User id of the agent"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    visit = IdFilter(field_name="visit_id", label=_("Visit id"))
    pending = filters.BooleanFilter(method="filter_pending", label=_("Still to happen (planned or being sent)"))
    due = filters.DateFromToRangeFilter(
        method="filter_due", label=_("Due on a day between (due_after, due_before), the store's days; either end")
    )

    class Meta:
        model = Touch
        fields = []

    def filter_pending(self, queryset, name, value):
        return queryset.filter(status__in=Touch.PENDING) if value else queryset.exclude(status__in=Touch.PENDING)

    def filter_due(self, queryset, name, value):
        zone = self.request.dealership.zone if self.request is not None else None
        if value.start:
            queryset = queryset.filter(due_at__gte=dt.datetime.combine(value.start, dt.time.min, tzinfo=zone))
        if value.stop:
            stop = value.stop + dt.timedelta(days=1)
            queryset = queryset.filter(due_at__lt=dt.datetime.combine(stop, dt.time.min, tzinfo=zone))
        return queryset


class MessageTemplateFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Touch.Kind.choices, label=_("Kind of touch"))
    channel = filters.ChoiceFilter(choices=TouchChannel.choices, label=_("Channel"))
    language = filters.CharFilter(label=_("Language (zh-hans, en)"))
    active = filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = MessageTemplate
        fields = []
