"""Entering a past campaign through the API (``campaigns.past``): POST /api/v1/campaigns/campaigns/past/ as a
multipart form with the campaign's fields, the invitation-list ``file`` and optional ``groups`` (JSON) and
``skip_unknown``. After-sales managers and administrators (``campaign.manage``)."""

from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.core.api import DealershipScopedMixin
from dealercrm.core.viewsets import FORBIDDEN

from .. import past
from ..models import Campaign
from ..past_views import PAST_FIELDS
from .serializers import CampaignSerializer


class PastCampaignRequestSerializer(serializers.ModelSerializer):
    file = serializers.FileField(
        help_text=_(
            "CSV or .xlsx with a header row: 客户编号 (customer_no), required; 目标群组 (target_group) and "
            "坐席 (agent, a username), optional."
        )
    )
    skip_unknown = serializers.BooleanField(
        default=False, help_text=_("Leave out unknown customer numbers instead of refusing the file.")
    )
    groups = serializers.CharField(
        required=False,
        help_text=_(
            'The target groups, in order, as JSON: [{"name": "盈利忠诚", "filters": {"models": ["GL8"], '
            '"age_band": ["1-2"]}}]. Their vehicle filters choose each invitee\'s vehicle. A group the file '
            "names that is not here is added without filters."
        ),
    )

    class Meta:
        model = Campaign
        fields = [*PAST_FIELDS, "file", "skip_unknown", "groups"]
        extra_kwargs = {"code": {"validators": []}}

    def validate_groups(self, value):
        try:
            groups = json.loads(value) if value else []
        except ValueError:
            raise serializers.ValidationError(_("Not JSON.")) from None
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("name"), str) and g["name"].strip() for g in groups
        ):
            raise serializers.ValidationError(_("A list of objects, each with a name."))
        return groups


class PastCampaignResultSerializer(serializers.Serializer):
    campaign = CampaignSerializer()
    invited = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text=_("Unknown customer numbers left out (skip_unknown)."))
    per_group = serializers.DictField(child=serializers.IntegerField())


class PastCampaignApiView(DealershipScopedMixin, APIView):
    required_action = "campaign.manage"
    parser_classes = [MultiPartParser, FormParser]
    error_codes = {
        "post": {
            400: [
                "list_unknown_customers",
                "list_invalid",
                "list_unreadable",
                "list_empty",
                "list_no_customer_column",
                "list_too_long",
                "past_campaign_not_over",
                "campaign_code_taken",
            ]
        }
    }

    @extend_schema(
        operation_id="campaign_past_enter",
        summary=_("Enter a past campaign with its invitation list"),
        description=_(
            "A campaign that ran before the CRM, created finished on its real dates (its last day before today). "
            "Each invitee's vehicle is found as for a generated list. A file with unknown customer numbers is "
            "refused (list_unknown_customers, with unknown_customers and lines by line number) and nothing is "
            "imported, unless skip_unknown. All or nothing."
        ),
        request={"multipart/form-data": PastCampaignRequestSerializer},
        responses={
            201: PastCampaignResultSerializer,
            400: OpenApiResponse(description=_("Refused: “fields” names the field, or the lines of the file.")),
            403: FORBIDDEN,
        },
        tags=["campaigns"],
    )
    def post(self, request):
        serializer = PastCampaignRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        upload, skip, groups = data.pop("file"), data.pop("skip_unknown"), data.pop("groups", [])
        result = past.past_campaign_enter(
            dealership=self.dealership,
            rows=past.read_list(upload),
            groups=groups,
            skip_unknown=skip,
            acting_user=request.user,
            **data,
        )
        body = PastCampaignResultSerializer(result, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def get_serializer_context(self):
        return {"request": self.request, "view": self, "dealership": self.dealership}
