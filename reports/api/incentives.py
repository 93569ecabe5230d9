"""The staff incentives' tier tables in the API: list every C3 group's table of the dealership, read one,
replace one (all or nothing) or put it back to the defaults.

Who may: reading, the roles that read whole-store reports (``reports.all``: call-centre and after-sales
managers, administrators); writing, the roles that set up campaigns and their offers (``campaign.manage``:
after-sales managers and administrators) — incentives are part of a campaign's plan (seed 002's 提成方案), and
the call-centre manager whose team they pay reads them but does not set them. A refusal answers the error
contract: bad tiers 400 (``tiers_invalid``, ``fields`` naming ``tiers.<i>.min_rate`` / ``tiers.<i>.amount``),
an unknown group or another dealership 404.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.core.api import DealershipScopedMixin
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND
from segmentation.models import C3Group

from .. import incentives

READ = "reports.all"
MANAGE = "campaign.manage"
REFUSED = OpenApiResponse(description=_("Refused: “fields” names the tier and the field that is wrong."))


class TierSerializer(serializers.Serializer):
    min_rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, help_text=_("From this arrival rate, as a fraction: 0.11 is 11 %.")
    )
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, help_text=_("Yuan; negative for a fine."))
    per_customer = serializers.BooleanField(help_text=_("Per arrived customer (true) or once (false)."))


class TableSerializer(serializers.Serializer):
    c3_group = serializers.ChoiceField(choices=C3Group.choices, read_only=True)
    label = serializers.CharField(read_only=True)
    custom = serializers.BooleanField(read_only=True, help_text=_("False while the store uses the defaults."))
    tiers = TierSerializer(many=True)


class ReplaceSerializer(serializers.Serializer):
    tiers = serializers.ListField(child=serializers.DictField(), help_text=_("Every tier of the table."))


def table_data(group: str, table: dict) -> dict:
    return {
        "c3_group": group,
        "label": str(C3Group(group).label),
        "custom": table["custom"],
        "tiers": [
            {"min_rate": tier.min_rate, "amount": tier.amount, "per_customer": tier.per_customer}
            for tier in table["tiers"]
        ],
    }


class IncentiveTablesView(DealershipScopedMixin, APIView):
    """Every C3 group's incentive table of the dealership (a group without one: no tiers)."""

    action_permissions = {"get": READ}

    @extend_schema(summary=_("The incentive tier tables"), responses={200: TableSerializer(many=True), 403: FORBIDDEN})
    def get(self, request):
        tables = incentives.tier_tables(dealership=self.dealership)
        return Response(TableSerializer([table_data(g, t) for g, t in tables.items()], many=True).data)


class IncentiveTableView(DealershipScopedMixin, APIView):
    """One C3 group's incentive table: read, replace (every tier at once), or back to the defaults."""

    action_permissions = {"get": READ, "put": MANAGE, "delete": MANAGE}

    def _table(self, group: str) -> dict:
        return table_data(group, incentives.tier_tables(dealership=self.dealership)[group])

    @extend_schema(
        summary=_("One group's incentive tiers"), responses={200: TableSerializer, 403: FORBIDDEN, 404: NOT_FOUND}
    )
    def get(self, request, group: str):
        group = incentives.c3_group_or_404(group)
        return Response(TableSerializer(self._table(group)).data)

    @extend_schema(
        summary=_("Replace one group's incentive tiers"),
        request=ReplaceSerializer,
        responses={200: TableSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def put(self, request, group: str):
        group = incentives.c3_group_or_404(group)
        body = ReplaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incentives.incentive_tiers_replace(
            dealership=self.dealership, c3_group=group, tiers=body.validated_data["tiers"], acting_user=request.user
        )
        return Response(TableSerializer(self._table(group)).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary=_("Put one group's incentive tiers back to the defaults"),
        request=None,
        responses={200: TableSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def delete(self, request, group: str):
        group = incentives.c3_group_or_404(group)
        incentives.incentive_tiers_reset(dealership=self.dealership, c3_group=group, acting_user=request.user)
        return Response(TableSerializer(self._table(group)).data, status=status.HTTP_200_OK)
