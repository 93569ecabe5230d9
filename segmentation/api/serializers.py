"""Serializers of the segmentation API. They validate input and shape output; the views call the services.

Money and rates are decimal strings (two decimals for money, four for visits per year and the repair ratio);
codes are the stable codes of ``segmentation.models`` (``profitable_loyal``, ``A``, ``high``; "" for a customer
in no C3 group), each with its ``*_display`` label in the user's language.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import CustomerSegment, RuleSet, SegmentationRun
from ..selectors import DIMENSIONS


class RuleSetSerializer(serializers.ModelSerializer):
    """One version of the rules. As input (a new version), every rule is optional: what is not given is kept."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    c3_mapping = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text=_(
            "Cell → C3 group code. A cell is maintenance frequency, value and repair ratio, each H (high) or "
            "L (low): all eight of HHH, HHL, LHH, LHL, HLH, HLL, LLH, LLL, each group once."
        ),
    )
    brand_schedules = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        required=False,
        help_text=_('Brand → {"interval_days": n, "distance_km": n}; brands not named use the general schedule.'),
    )

    class Meta:
        model = RuleSet
        fields = ["id", "version", "note", "created_by", "created_at", *RuleSet.RULE_FIELDS]
        read_only_fields = ["id", "version", "created_by", "created_at"]
        extra_kwargs = {"note": {"help_text": _("What changed, in a few words (kept with the version).")}}

    def validate(self, attrs):
        # A misspelt rule would otherwise be dropped without a word, and the rest saved.
        unknown = sorted(set(getattr(self, "initial_data", {})) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [_("Unknown rule; the rules are: %(names)s.") % {"names": ", ".join(RuleSet.RULE_FIELDS)}]
                    for name in unknown
                }
            )
        return attrs


class RunCountsSerializer(serializers.Serializer):
    c3 = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text=_('Customers per C3 group ("" for none).')
    )
    tier = serializers.DictField(child=serializers.IntegerField(), required=False, help_text=_("Customers per tier."))
    layer = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text=_("Customers per value layer.")
    )
    lapsed = serializers.IntegerField(required=False, help_text=_("Lapsed customers."))
    age_band = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text=_('Vehicles per age band ("" when unknown).')
    )


class RunSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    trigger_display = serializers.CharField(source="get_trigger_display", read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    rule_version = serializers.IntegerField(source="rule_set.version", read_only=True)
    counts = RunCountsSerializer(read_only=True)

    class Meta:
        model = SegmentationRun
        fields = [
            "id",
            "status",
            "status_display",
            "reference_date",
            "trigger",
            "trigger_display",
            "started_by",
            "started_at",
            "finished_at",
            "duration_ms",
            "rule_set",
            "rule_version",
            "value_threshold",
            "customers",
            "active_customers",
            "changed_customers",
            "changed_vehicles",
            "counts",
            "reused_from",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "rule_set": {"help_text": _("Id of the rule version the run applied.")},
            "reused_from": {"help_text": _("The earlier run whose result held unchanged (nothing it reads changed).")},
        }


class RunStartSerializer(serializers.Serializer):
    reference_date = serializers.DateField(
        required=False, allow_null=True, help_text=_("The day to segment as of; defaults to the dealership's today.")
    )
    force = serializers.BooleanField(
        required=False, default=False, help_text=_("Compute again even when nothing changed since the latest run.")
    )

    def validate_reference_date(self, value):
        today = self.context.get("today")
        if value and today and value > today:
            raise serializers.ValidationError(_("A reference date cannot be in the future."))
        return value


class RunStartedSerializer(serializers.Serializer):
    task_id = serializers.CharField(help_text=_("Id of the background job."))
    run = RunSerializer(allow_null=True, help_text=_("The run, once it finished; null while it is still queued."))


class MovementQuerySerializer(serializers.Serializer):
    """``?from=<run id>&dimension=c3|tier|layer`` (``from`` is a Python keyword, hence ``get_fields``)."""

    def get_fields(self):
        return {
            "from": serializers.IntegerField(min_value=1, help_text=_("Id of the earlier run.")),
            "dimension": serializers.ChoiceField(choices=list(DIMENSIONS), default="c3"),
        }


class RunRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentationRun
        fields = ["id", "reference_date"]
        read_only_fields = fields


class MovementSerializer(serializers.Serializer):
    dimension = serializers.CharField(help_text=_("c3, tier or layer"))
    before = RunRefSerializer()
    after = RunRefSerializer()
    values = serializers.ListField(
        child=serializers.CharField(),
        help_text=_('The values in order; "" stands for no C3 group, or for a customer new since the earlier run.'),
    )
    rows = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text=_("From value → to value → number of customers (pairs with no customer are left out)."),
    )
    total = serializers.IntegerField(help_text=_("Customers in the later run."))


class RateField(serializers.DecimalField):
    """One of the rates computed for the row (``CustomerSegmentSerializer.to_representation``)."""

    def __init__(self, decimal_places, **kwargs):
        super().__init__(max_digits=20, decimal_places=decimal_places, read_only=True, **kwargs)


class CustomerSegmentSerializer(serializers.ModelSerializer):
    """A customer's result as a run left it; ``context["run"]`` is that run."""

    customer_id = serializers.IntegerField(read_only=True, help_text=_("The customer's id."))
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    name = serializers.CharField(source="customer.name", read_only=True)
    c3_group_display = serializers.CharField(source="get_c3_group_display", read_only=True)
    tier_display = serializers.CharField(source="get_tier_display", read_only=True)
    value_layer_display = serializers.CharField(source="get_value_layer_display", read_only=True)
    maintenance_per_year = RateField(
        4, source="computed_rates.maintenance_per_year", help_text=_("Maintenance visits a year.")
    )
    spend_per_year = RateField(
        2, source="computed_rates.spend_per_year", help_text=_("Spend a year, all visits and payers.")
    )
    repair_ratio = RateField(
        4, source="computed_rates.repair_ratio", help_text=_("Share of spend that is not maintenance.")
    )

    class Meta:
        model = CustomerSegment
        fields = [
            "customer_id",
            "customer_no",
            "name",
            "c3_group",
            "c3_group_display",
            "tier",
            "tier_display",
            "value_layer",
            "value_layer_display",
            "lapsed",
            "visits_12m",
            "lifetime_value",
            "last_visit_on",
            "maintenance_per_year",
            "spend_per_year",
            "repair_ratio",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        run = self.context["run"]
        instance.computed_rates = instance.rates(
            reference_date=run.reference_date, window_days=run.rule_set.window_days
        )
        return super().to_representation(instance)


class LayerChangeSerializer(serializers.Serializer):
    def get_fields(self):
        layer = {"help_text": _("high, mid or potential")}
        return {
            "customer_id": serializers.IntegerField(),
            "customer_no": serializers.CharField(),
            "name": serializers.CharField(),
            "from": serializers.CharField(**layer),
            "to": serializers.CharField(**layer),
            "direction": serializers.CharField(help_text=_("upgrade or downgrade")),
        }


class QuarterlyQuerySerializer(serializers.Serializer):
    first = serializers.DateField(help_text=_("The earlier quarter's end, e.g. 2025-03-31."))
    second = serializers.DateField(help_text=_("The later quarter's end, e.g. 2025-06-30."))

    def validate(self, attrs):
        if attrs["second"] <= attrs["first"]:
            raise serializers.ValidationError({"second": [_("The second quarter end must come after the first.")]})
        return attrs


class QuarterlyReviewSerializer(serializers.Serializer):
    first = serializers.DateField()
    second = serializers.DateField()
    before = RunRefSerializer(help_text=_("The last finished run on or before the first date."))
    after = RunRefSerializer(help_text=_("The last finished run on or before the second date."))
    upgrades = serializers.IntegerField()
    downgrades = serializers.IntegerField()
    changes = LayerChangeSerializer(many=True, help_text=_("Each customer whose value layer changed, upgrades first."))
