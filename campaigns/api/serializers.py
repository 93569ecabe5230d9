"""Serializers of the campaigns API: they validate input and shape output; the views call the services.

No serializer saves. Related records given by id are looked up among the current dealership's records only
(``context["dealership"]``), so that another store's id reads "not found in this dealership", exactly like an
id that does not exist. Money is a decimal string; rates and p-values are numbers from 0 to 1 (null when
there is nothing to divide by).
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers import selectors as customer_selectors
from customers.models import Customer, ServiceVisit, VisitType
from dealercrm.core.privacy import mask_phone
from segmentation.filters import NO_GROUP
from segmentation.models import AgeBand, C3Group, Tier, ValueLayer

from .. import selectors
from ..models import (
    CallAttempt,
    Campaign,
    ComplianceTerm,
    Coupon,
    CouponTemplate,
    Invitation,
    TargetGroup,
)
from ..targeting import filter_errors

NOT_HERE = {
    Campaign: _("No campaign with id {pk_value} in this dealership."),
    TargetGroup: _("No target group with id {pk_value} in this dealership."),
    CouponTemplate: _("No coupon template with id {pk_value} in this dealership."),
    Customer: _("No customer with id {pk_value} in this dealership."),
    ServiceVisit: _("No service visit with id {pk_value} in this dealership."),
}
MONEY = {"max_digits": 14, "decimal_places": 2}


def scoped_id(model, **kwargs):
    """A primary-key field whose queryset ``ScopedSerializerMixin`` sets to the current dealership's records."""
    kwargs.setdefault("label", model._meta.verbose_name)
    return serializers.PrimaryKeyRelatedField(
        queryset=model.objects.none(),
        error_messages={"does_not_exist": NOT_HERE[model], "incorrect_type": _("Give the id as a number.")},
        **kwargs,
    )


class ScopedSerializerMixin:
    # Scopes the querysets of related-id fields to ``context["dealership"]`` and refuses unknown fields (a
    # misspelt field would otherwise be dropped without a word, and the rest saved). No docstring: the schema
    # would show it as the description of every serializer built on it.

    #: field name → selector taking the dealership
    scoped_fields: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dealership = self.context.get("dealership")
        for name, selector in self.scoped_fields.items():
            field = self.fields.get(name)
            if field is None or field.read_only:
                continue
            target = getattr(field, "child_relation", field)
            target.queryset = selector(dealership=dealership) if dealership else target.queryset.model.objects.none()

    def validate(self, attrs):
        initial = getattr(self, "initial_data", None)
        if isinstance(initial, dict):
            unknown = sorted(set(initial) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().validate(attrs)


# --- campaigns --------------------------------------------------------------------------------------------


class TargetGroupRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = TargetGroup
        fields = ["id", "position", "name"]
        read_only_fields = fields


class CampaignSerializer(ScopedSerializerMixin, serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    target_groups = TargetGroupRefSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_display",
            "description",
            "starts_on",
            "ends_on",
            "budget",
            "cost",
            "status",
            "status_display",
            "max_attempts",
            "reinvite_after_days",
            "target_groups",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "created_at", "updated_at"]
        extra_kwargs = {
            "status": {"help_text": _("Changes through the schedule, start and finish actions only.")},
            "code": {"help_text": _("The campaign code the DMS writes on the campaign's visits; stored in capitals.")},
        }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        status = getattr(self, "initial_data", {}).get("status")
        if status is not None and status != getattr(self.instance, "status", Campaign.Status.DRAFT):
            raise serializers.ValidationError(
                {"status": [_("Change the status with the schedule, start and finish actions.")]}
            )
        starts = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts and ends and ends < starts:
            raise serializers.ValidationError({"ends_on": [_("The last day comes before the first day.")]})
        return attrs


# --- target groups ----------------------------------------------------------------------------------------

FILTERS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": _(
        "Codes of the conditions a customer must all meet; an absent code sets no condition. The vehicle "
        "conditions (models, age_band, plate_prefix) hold through one of the customer's current vehicles; "
        "the age band is taken on the campaign's first day."
    ),
    "properties": {
        "c3_group": {"type": "array", "items": {"type": "string", "enum": [*C3Group.values, NO_GROUP]}},
        "tier": {"type": "array", "items": {"type": "string", "enum": Tier.values}},
        "value_layer": {"type": "array", "items": {"type": "string", "enum": ValueLayer.values}},
        "lapsed": {"type": "boolean"},
        "models": {"type": "array", "items": {"type": "string"}, "example": ["新君威", "新君越", "GL8", "陆尊"]},
        "age_band": {"type": "array", "items": {"type": "string", "enum": AgeBand.values}},
        "plate_prefix": {"type": "string", "example": "粤B"},
        "last_visit_after": {"type": "string", "format": "date"},
        "last_visit_before": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


@extend_schema_field(FILTERS_SCHEMA)
class TargetFiltersField(serializers.JSONField):
    """A target group's filters, checked by ``campaigns.targeting.filter_errors`` (one message per problem)."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        errors = filter_errors(data)
        if errors:
            raise serializers.ValidationError(errors)
        return data


class TemplateRefSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = CouponTemplate
        fields = ["id", "name", "kind", "kind_display", "value", "gift"]
        read_only_fields = fields


class TargetGroupSerializer(ScopedSerializerMixin, serializers.ModelSerializer):
    scoped_fields = {
        "campaign": selectors.campaigns,
        "offers": selectors.coupon_templates,
        "offers_b": selectors.coupon_templates,
    }

    campaign = scoped_id(Campaign, help_text=_("Id of the campaign, a draft of this dealership; fixed once created."))
    campaign_code = serializers.CharField(source="campaign.code", read_only=True)
    filters = TargetFiltersField(required=False, help_text=FILTERS_SCHEMA["description"])
    offers = scoped_id(
        CouponTemplate, many=True, required=False, help_text=_("Ids of the coupon templates the group is offered.")
    )
    offers_b = scoped_id(
        CouponTemplate,
        many=True,
        required=False,
        help_text=_("Ids of the coupon templates offered to variant B of an A/B test."),
    )

    class Meta:
        model = TargetGroup
        fields = [
            "id",
            "campaign",
            "campaign_code",
            "position",
            "name",
            "filters",
            "goal_rate",
            "script",
            "offers",
            "ab_test",
            "script_b",
            "offers_b",
            "holdout_share",
            "invite_channel",
            "call_after_message_days",
        ]
        extra_kwargs = {
            "position": {
                "required": False,
                "help_text": _("A customer is invited in the first group (by order) that matches; defaults to last."),
            },
            "goal_rate": {"help_text": _("The success rate aimed at, 0 … 1 (0.18 for 18 %).")},
            "ab_test": {"help_text": _("Split the called customers at random between variant A and variant B.")},
        }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None and "campaign" in attrs and attrs["campaign"].pk != self.instance.campaign_id:
            raise serializers.ValidationError({"campaign": [_("A target group cannot move to another campaign.")]})
        return attrs


# --- invitations and calls --------------------------------------------------------------------------------


class InvitationSerializer(serializers.ModelSerializer):
    # The customer's phone is masked for everyone; the agent the invitation is assigned to asks for it in full
    # with ?reveal=phone on the detail (a logged look: customers.reveal). (Comments, not docstrings, on
    # serializers: the schema would publish a docstring, which cannot be translated.)

    campaign_code = serializers.CharField(source="campaign.code", read_only=True)
    target_group_name = serializers.CharField(source="target_group.name", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    customer_phone = serializers.SerializerMethodField(
        help_text=_(
            "Masked (138****5678). The agent the invitation is assigned to gets it in full on the detail with "
            "?reveal=phone, and each such look is recorded in the access log."
        )
    )
    vehicle_plate = serializers.CharField(source="vehicle.plate", read_only=True, default=None)
    vehicle_model = serializers.CharField(source="vehicle.model", read_only=True, default=None)
    agent_name = serializers.SerializerMethodField()
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    appointment_date = serializers.DateField(source="appointment.date", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "campaign",
            "campaign_code",
            "target_group",
            "target_group_name",
            "customer",
            "customer_name",
            "customer_phone",
            "vehicle",
            "vehicle_plate",
            "vehicle_model",
            "agent",
            "agent_name",
            "variant",
            "holdout",
            "round",
            "status",
            "status_display",
            "attempts",
            "next_call_at",
            "last_called_at",
            "appointment",
            "appointment_date",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"round": {"help_text": _("1, or 2 for the second invitation of a customer who did not come.")}}

    def get_customer_phone(self, invitation) -> str:
        return mask_phone(invitation.customer.phone)

    def get_agent_name(self, invitation) -> str | None:
        return str(invitation.agent) if invitation.agent_id else None


class CallAttemptSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = CallAttempt
        fields = [
            "id",
            "invitation",
            "agent",
            "outcome",
            "outcome_display",
            "called_at",
            "call_back_at",
            "appointment_date",
            "reason",
            "note",
        ]
        read_only_fields = fields


class InvitationDetailSerializer(InvitationSerializer):
    # An invitation with what the agent needs on the call: the script and offer of its group and variant,
    # and the calls made so far.

    script = serializers.SerializerMethodField(help_text=_("The call script of the group, for the variant."))
    offers = serializers.SerializerMethodField()
    calls = CallAttemptSerializer(source="attempts_made", many=True, read_only=True)

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "script", "offers", "calls"]
        read_only_fields = fields

    def get_script(self, invitation) -> str:
        return invitation.script

    @extend_schema_field(TemplateRefSerializer(many=True))
    def get_offers(self, invitation):
        return TemplateRefSerializer([t for t in invitation.offer_templates() if t.active], many=True).data


class OutcomeSerializer(ScopedSerializerMixin, serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CallAttempt.Outcome.choices)
    call_back_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=_("For a call back: when (within the campaign's period).")
    )
    appointment_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("For an acceptance: the day booked, from today to the campaign's last day."),
    )
    time_slot = serializers.CharField(
        required=False, allow_blank=True, max_length=20, default="", help_text=_("For an acceptance, e.g. 09:00-10:00.")
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    reason = serializers.ChoiceField(
        choices=CallAttempt.DeclineReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("For a decline: why the customer declined (required then, and only then)."),
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        outcome = attrs["outcome"]
        if outcome == CallAttempt.Outcome.CALL_BACK and not attrs.get("call_back_at"):
            raise serializers.ValidationError({"call_back_at": [_("Give the time to call back.")]})
        if outcome == CallAttempt.Outcome.ACCEPTED and not attrs.get("appointment_date"):
            raise serializers.ValidationError({"appointment_date": [_("Give the day the customer booked.")]})
        return attrs


class CouponBriefSerializer(serializers.ModelSerializer):
    template_name = serializers.CharField(source="template.name", read_only=True)

    class Meta:
        model = Coupon
        fields = ["id", "code", "template", "template_name", "expires_on"]
        read_only_fields = fields


class OutcomeResultSerializer(serializers.Serializer):
    attempt = CallAttemptSerializer(help_text=_("The call just recorded."))
    invitation = InvitationSerializer(help_text=_("The invitation as the call left it."))
    coupons = CouponBriefSerializer(many=True, help_text=_("Coupons of the group's offer issued with an acceptance."))


# --- the invitation list ----------------------------------------------------------------------------------

AGENTS_SCHEMA = {
    "oneOf": [
        {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}, "example": {"12": 2, "13": 1}},
        {"type": "array", "items": {"type": "integer"}, "example": [12, 13]},
    ],
    "description": _(
        "The agents to share the invitations among: {user id: weight} for shares by weight, or a list of "
        "user ids for even shares. Agents are staff of this dealership who work calls."
    ),
}


@extend_schema_field(AGENTS_SCHEMA)
class AgentWeightsField(serializers.Field):
    default_error_messages = {
        "invalid": _("Give an object of user id → weight, or a list of user ids."),
        "weight": _("A weight is a whole number of at least 1."),
    }

    def to_internal_value(self, data):
        def whole(value):
            return isinstance(value, int) and not isinstance(value, bool)

        if isinstance(data, list):
            if not all(whole(v) for v in data):
                self.fail("invalid")
            return list(dict.fromkeys(data))
        if isinstance(data, dict):
            weights = {}
            for key, weight in data.items():
                if not (whole(key) or (isinstance(key, str) and key.strip().isdigit())):
                    self.fail("invalid")
                if not whole(weight) or weight < 1:
                    self.fail("weight")
                weights[int(key)] = weight
            return weights
        self.fail("invalid")

    def to_representation(self, value):
        return value


class GenerateSerializer(ScopedSerializerMixin, serializers.Serializer):
    agents = AgentWeightsField(
        required=False,
        help_text=format_lazy(
            "{} {}", AGENTS_SCHEMA["description"], _("Default: every agent of the dealership, evenly.")
        ),
    )


class GroupCountSerializer(serializers.Serializer):
    target_group = serializers.IntegerField(help_text=_("Id of the target group."))
    added = serializers.IntegerField()


class GenerateResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text=_("Customers added to the list (0 when nobody new matches)."))
    assigned = serializers.IntegerField(help_text=_("New invitations given to agents (the holdout is not)."))
    per_group = GroupCountSerializer(many=True)


class AssignSerializer(ScopedSerializerMixin, serializers.Serializer):
    agents = AgentWeightsField(help_text=AGENTS_SCHEMA["description"])


class ReassignSerializer(ScopedSerializerMixin, serializers.Serializer):
    from_agent = serializers.IntegerField(help_text=_("User id of the agent whose open invitations move."))
    agents = AgentWeightsField(help_text=AGENTS_SCHEMA["description"])


class AssignResultSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text=_("Open invitations given to the agents."))


# --- preview, compliance, progress and results ------------------------------------------------------------


class PreviewGroupSerializer(serializers.Serializer):
    target_group = serializers.IntegerField(source="group.pk")
    name = serializers.CharField(source="group.name")
    position = serializers.IntegerField(source="group.position")
    matches = serializers.IntegerField(help_text=_("Eligible customers the group's filters match."))
    would_add = serializers.IntegerField(
        help_text=_("Of those, how many generation would add: not on the list yet, not matched by an earlier group.")
    )
    invited = serializers.IntegerField(help_text=_("Already on the list in this group."))


class IneligibleSerializer(serializers.Serializer):
    eligible = serializers.IntegerField(help_text=_("Customers who may be invited."))
    no_consent = serializers.IntegerField(help_text=_("Customers without marketing consent."))
    do_not_contact = serializers.IntegerField()
    wrong_number = serializers.IntegerField(help_text=_("Customers with a known wrong number."))


class PreviewSerializer(serializers.Serializer):
    groups = PreviewGroupSerializer(many=True)
    customers = IneligibleSerializer(help_text=_("The dealership's customers no list may hold, by reason."))


class FindingSerializer(serializers.Serializer):
    phrase = serializers.CharField(help_text=_("The banned expression."))
    where = serializers.CharField(help_text=_("Which text holds it."))
    excerpt = serializers.CharField(help_text=_("The words around it."))
    message = serializers.CharField()


class ComplianceSerializer(serializers.Serializer):
    compliant = serializers.BooleanField(help_text=_("True when no text uses a banned absolute expression."))
    findings = FindingSerializer(many=True)


class GroupSummarySerializer(serializers.Serializer):
    target_group = serializers.IntegerField(source="group.pk")
    name = serializers.CharField(source="group.name")
    invited = serializers.IntegerField(help_text=_("The list after exclusions, not the holdout."))
    called = serializers.IntegerField()
    reached = serializers.IntegerField()
    booked = serializers.IntegerField(help_text=_("Accepted with an appointment (签单)."))
    success_rate = serializers.FloatField(allow_null=True, help_text=_("Booked ÷ invited."))
    goal_rate = serializers.FloatField(allow_null=True)
    attended = serializers.IntegerField(help_text=_("Invitees with a visit in the campaign's period."))
    attendance_rate = serializers.FloatField(allow_null=True)
    revenue = serializers.DecimalField(**MONEY, help_text=_("The total of their visits in the period."))
    average_ticket = serializers.DecimalField(**MONEY, allow_null=True, help_text=_("Revenue ÷ attended."))
    holdout = serializers.IntegerField(help_text=_("Customers kept aside and not called."))
    holdout_attended = serializers.IntegerField()


class AgentProgressSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    agent = serializers.CharField()
    invitations = serializers.IntegerField()
    open = serializers.IntegerField(help_text=_("Still to call or to call back."))
    calls = serializers.IntegerField()
    reached = serializers.IntegerField()
    accepted = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)


class ProgressSerializer(serializers.Serializer):
    agent_progress = AgentProgressSerializer(many=True)
    group_summary = GroupSummarySerializer(many=True)


class NonTargetSerializer(serializers.Serializer):
    customers = serializers.IntegerField(
        help_text=_("Customers not on the list whose visit in the period carries the campaign's code.")
    )
    revenue = serializers.DecimalField(**MONEY)


class VariantFiguresSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    accepted = serializers.IntegerField()


class VariantResultSerializer(serializers.Serializer):
    target_group = serializers.IntegerField(source="group.pk")
    name = serializers.CharField(source="group.name")
    a = VariantFiguresSerializer()
    b = VariantFiguresSerializer()
    rate_a = serializers.FloatField(source="comparison.rate_a", allow_null=True)
    rate_b = serializers.FloatField(source="comparison.rate_b", allow_null=True)
    difference = serializers.FloatField(source="comparison.difference", allow_null=True, help_text=_("B − A."))
    test = serializers.CharField(
        source="comparison.test",
        help_text=_('"fisher" (exact, for small counts), "z" (two proportions), or "" with nothing to compare.'),
    )
    p_value = serializers.FloatField(source="comparison.p_value", allow_null=True, help_text=_("Two-sided."))
    significant = serializers.BooleanField(source="comparison.significant", help_text=_("p < 0.05."))


class HoldoutResultSerializer(serializers.Serializer):
    target_group = serializers.IntegerField(source="group.pk")
    name = serializers.CharField(source="group.name")
    called_rate = serializers.FloatField(source="uplift.called_rate", allow_null=True)
    holdout_rate = serializers.FloatField(source="uplift.holdout_rate", allow_null=True)
    uplift = serializers.FloatField(
        source="uplift.uplift", allow_null=True, help_text=_("Attendance of the called minus that of the holdout.")
    )
    # xgettext:no-python-format
    low = serializers.FloatField(source="uplift.low", allow_null=True, help_text=_("95 % confidence interval, low."))
    # xgettext:no-python-format
    high = serializers.FloatField(source="uplift.high", allow_null=True, help_text=_("95 % confidence interval, high."))


class ResultsSerializer(serializers.Serializer):
    group_summary = GroupSummarySerializer(many=True)
    non_target_participants = NonTargetSerializer(
        allow_null=True, help_text=_("The whole store's figure: null for an agent, who sees their own figures only.")
    )
    variant_results = VariantResultSerializer(many=True, help_text=_("One row per A/B target group."))
    holdouts = HoldoutResultSerializer(many=True, help_text=_("One row per target group with a holdout."))


# --- coupon templates and coupons -------------------------------------------------------------------------


class CouponTemplateSerializer(ScopedSerializerMixin, serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    visit_types = serializers.ListField(
        child=serializers.ChoiceField(choices=VisitType.choices),
        required=False,
        help_text=_("Visit types it may be used on; empty: any."),
    )

    class Meta:
        model = CouponTemplate
        fields = [
            "id",
            "name",
            "kind",
            "kind_display",
            "value",
            "gift",
            "min_spend",
            "visit_types",
            "next_visit_only",
            "valid_days",
            "valid_until",
            "active",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class CouponSerializer(serializers.ModelSerializer):
    template_name = serializers.CharField(source="template.name", read_only=True)
    kind = serializers.CharField(source="template.kind", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    campaign_code = serializers.CharField(source="campaign.code", read_only=True, default=None)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    redeemed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    redeemed_ro_number = serializers.CharField(source="redeemed_visit.ro_number", read_only=True, default=None)

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "template",
            "template_name",
            "kind",
            "customer",
            "customer_name",
            "campaign",
            "campaign_code",
            "invitation",
            "status",
            "status_display",
            "issued_at",
            "issued_visit",
            "expires_on",
            "redeemed_at",
            "redeemed_visit",
            "redeemed_ro_number",
            "redeemed_by",
            "voided_at",
            "void_reason",
        ]
        read_only_fields = fields


class CouponIssueSerializer(ScopedSerializerMixin, serializers.Serializer):
    scoped_fields = {
        "template": selectors.coupon_templates,
        "customer": customer_selectors.customer_list,
        "target_group": selectors.target_groups,
        "campaign": selectors.campaigns,
    }

    template = scoped_id(CouponTemplate, help_text=_("Id of the coupon template."))
    customer = scoped_id(Customer, required=False, help_text=_("Issue one coupon to this customer…"))
    target_group = scoped_id(
        TargetGroup,
        required=False,
        help_text=_("…or one to every invitee of this target group (not the holdout) who has none of it yet."),
    )
    campaign = scoped_id(
        Campaign, required=False, help_text=_("With a customer: the campaign the coupon belongs to, if any.")
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if ("customer" in attrs) == ("target_group" in attrs):
            raise serializers.ValidationError(_("Give either a customer or a target group."))
        if "campaign" in attrs and "target_group" in attrs:
            raise serializers.ValidationError(
                {"campaign": [_("Coupons issued to a target group belong to its campaign.")]}
            )
        return attrs


class CouponIssuedSerializer(serializers.Serializer):
    issued = serializers.IntegerField(help_text=_("How many coupons were issued."))
    coupon = CouponSerializer(allow_null=True, help_text=_("The coupon, when issued to one customer."))


class RedeemSerializer(ScopedSerializerMixin, serializers.Serializer):
    scoped_fields = {"visit": customer_selectors.visit_list}

    visit = scoped_id(ServiceVisit, help_text=_("Id of the customer's service visit the coupon is used on."))


class VoidSerializer(ScopedSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text=_("Why the coupon is voided (kept with it)."))


# --- compliance terms -------------------------------------------------------------------------------------


class ComplianceTermSerializer(ScopedSerializerMixin, serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = ComplianceTerm
        fields = ["id", "kind", "kind_display", "phrase"]
        extra_kwargs = {
            "kind": {"help_text": _("banned: an expression to refuse; allowed: a phrase that may contain one.")}
        }
