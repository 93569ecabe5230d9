"""Serializers of the follow-ups API: they validate input and shape output; the views call the services
(``followups.managing``). No serializer saves."""

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import VisitType

from ..managing import POLICY_FIELDS
from ..models import FollowupPolicy, Message, MessageTemplate, Touch, TouchAttempt, TouchChannel
from ..reasons import reason_text


class TouchAttemptSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", read_only=True)
    outcome = serializers.CharField(
        read_only=True, help_text=_("no_answer, busy, wrong_number, declined, call_back, done or complaint")
    )

    class Meta:
        model = TouchAttempt
        fields = ["id", "agent", "outcome", "called_at", "call_back_at", "satisfaction", "reason", "note"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "channel",
            "backend",
            "recipient",
            "subject",
            "body",
            "status",
            "provider_ref",
            "error_code",
            "error_text",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TouchSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    reason_text = serializers.SerializerMethodField(help_text=_("The reason in words (empty without a reason)."))
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Touch
        fields = [
            "id",
            "kind",
            "kind_display",
            "customer",
            "visit",
            "invitation",
            "vehicle",
            "complaint",
            "occasion",
            "due_at",
            "expires_at",
            "touch_class",
            "channel",
            "assignee",
            "priority",
            "status",
            "status_display",
            "reason",
            "reason_text",
            "reason_detail",
            "attempts",
            "max_attempts",
            "outcome",
            "notes",
            "provider_ref",
            "error_code",
            "error_text",
            "sent_at",
            "delivered_at",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_reason_text(self, touch) -> str:
        return reason_text(touch.reason) if touch.reason else ""


class TouchDetailSerializer(TouchSerializer):
    call_attempts = TouchAttemptSerializer(many=True, read_only=True)
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(TouchSerializer.Meta):
        fields = [*TouchSerializer.Meta.fields, "call_attempts", "messages"]
        read_only_fields = fields


class MessageTemplateSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    channel_display = serializers.CharField(source="get_channel_display", read_only=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, default="zh-hans")

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "kind",
            "kind_display",
            "channel",
            "channel_display",
            "language",
            "subject",
            "body",
            "signature",
            "provider_template_code",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # the service checks uniqueness per kind, channel and language (a refusal names the fields)
        validators = []

    def validate(self, attrs):
        initial = getattr(self, "initial_data", None)
        if isinstance(initial, dict):
            unknown = sorted(set(initial) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return attrs


def _hhmm(value: str) -> str:
    try:
        return dt.time.fromisoformat(value).strftime("%H:%M")
    except (TypeError, ValueError):
        raise serializers.ValidationError(_("Give a time as HH:MM.")) from None


class WindowField(serializers.ListField):
    child = serializers.CharField()

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(values) != 2:
            raise serializers.ValidationError(_('Give the start and the end, as ["09:00", "20:00"].'))
        return [_hhmm(v) for v in values]


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "example": "09:00"})
class LocalTimeField(serializers.TimeField):
    """A time of day in the store's own zone, written "HH:MM" (OpenAPI's ``format: time`` is RFC 3339's, which
    needs an offset that a store's opening hours do not have)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


class FollowupPolicySerializer(serializers.ModelSerializer):
    send_from = LocalTimeField(required=False, help_text=_("Texts and e-mails go out from this time (local)."))
    send_until = LocalTimeField(required=False, help_text=_("… and stop before this time (local)."))
    business_from = LocalTimeField(required=False, help_text=_("The store opens (complaint deadlines count from it)."))
    business_until = LocalTimeField(required=False, help_text=_("The store closes."))
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("Null while the store uses the defaults.")
    )
    channel_windows = serializers.DictField(
        child=WindowField(),
        required=False,
        help_text=_('Sending hours per channel (sms, wechat, email, call): {"sms": ["09:00", "20:00"]}.'),
    )
    followup_visit_types = serializers.ListField(
        child=serializers.ChoiceField(choices=VisitType.choices), required=False
    )
    business_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        required=False,
        help_text=_("ISO weekdays the store works: 1 = Monday … 7 = Sunday."),
    )

    class Meta:
        model = FollowupPolicy
        fields = [*POLICY_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]

    def validate_channel_windows(self, value):
        unknown = sorted(set(value) - set(TouchChannel.values))
        if unknown:
            raise serializers.ValidationError(_("Unknown channel: %(names)s.") % {"names": ", ".join(unknown)})
        return value

    def validate(self, attrs):
        initial = getattr(self, "initial_data", None)
        if isinstance(initial, dict):
            unknown = sorted(set(initial) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return attrs
