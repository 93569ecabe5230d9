"""django-filter FilterSets of the campaigns API. They narrow querysets already scoped to the dealership."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from customers.api.filters import IdFilter

from ..models import Campaign, CampaignKind, ComplianceTerm, Coupon, Invitation, TargetGroup


class CampaignFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Campaign.Status.choices, label=_("Campaign status"))
    kind = filters.ChoiceFilter(choices=CampaignKind.choices, label=_("Campaign type"))
    code = filters.CharFilter(method="filter_code", label=_("Campaign code"))
    period = filters.DateFromToRangeFilter(
        method="filter_period",
        label=_("Running on some day between (period_after, period_before); either end may be left out"),
    )
    active_on = filters.DateFilter(method="filter_active_on", label=_("Running on this day"))

    class Meta:
        model = Campaign
        fields = []

    def filter_code(self, queryset, name, value):
        return queryset.filter(code=value.strip().upper())

    def filter_period(self, queryset, name, value):
        if value.start:
            queryset = queryset.filter(ends_on__gte=value.start)
        if value.stop:
            queryset = queryset.filter(starts_on__lte=value.stop)
        return queryset

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)


class TargetGroupFilter(filters.FilterSet):
    campaign = IdFilter(field_name="campaign_id", label=_("Campaign id"))

    class Meta:
        model = TargetGroup
        fields = []


class InvitationFilter(filters.FilterSet):
    campaign = IdFilter(field_name="campaign_id", label=_("Campaign id"))
    target_group = IdFilter(field_name="target_group_id", label=_("Target group id"))
    agent = IdFilter(field_name="agent_id", label=_("User id of the agent"))
    unassigned = filters.BooleanFilter(field_name="agent", lookup_expr="isnull", label=_("Not given to an agent"))
    status = filters.ChoiceFilter(choices=Invitation.Status.choices, label=_("Invitation status"))
    holdout = filters.BooleanFilter(label=_("In the holdout (not called)"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = Invitation
        fields = []


class CouponFilter(filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))
    campaign = IdFilter(field_name="campaign_id", label=_("Campaign id"))
    template = IdFilter(field_name="template_id", label=_("Coupon template id"))
    status = filters.ChoiceFilter(choices=Coupon.Status.choices, label=_("Coupon status"))
    code = filters.CharFilter(method="filter_code", label=_("Coupon code, as printed or read out"))

    class Meta:
        model = Coupon
        fields = []

    def filter_code(self, queryset, name, value):
        return queryset.filter(code=value.replace(" ", "").replace("-", "").strip().upper())


class ComplianceTermFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ComplianceTerm.Kind.choices, label=_("Banned expression or allowed phrase"))

    class Meta:
        model = ComplianceTerm
        fields = []
