"""API of possible duplicates and their merge: the same services as the pages (``privacy.duplicates``,
``privacy.merge``)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import pagination, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.serializers import CustomerSerializer, MaskedPhoneField
from customers.models import Customer, Vehicle
from dealercrm.core.api import DealershipScopedMixin
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND

from .. import merge as merging
from ..duplicates import duplicate_groups, groups_load

REFUSED = OpenApiResponse(description=_("Refused: “code” says why (the same customer, another dealership, …)."))
CONFLICT = OpenApiResponse(description=_("The customers' state does not allow it (erased, a clash to settle first)."))


class DuplicateVehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = ["id", "vin", "plate", "model"]
        read_only_fields = fields


class DuplicateCustomerSerializer(serializers.ModelSerializer):
    phone = MaskedPhoneField(read_only=True, help_text=_("Masked: 138****5678."))
    visit_count = serializers.IntegerField(read_only=True)
    last_visit_on = serializers.DateField(read_only=True, allow_null=True)
    vehicles = DuplicateVehicleSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "customer_no", "name", "phone", "visit_count", "last_visit_on", "vehicles"]
        read_only_fields = fields


class DuplicateGroupSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["phone", "name_vehicle"],
        help_text=_("phone: the same phone number; name_vehicle: the same name and a shared vehicle."),
    )
    customers = DuplicateCustomerSerializer(many=True)


class GroupPagination(pagination.PageNumberPagination):
    page_size = 20


class DuplicatePageSerializer(serializers.Serializer):
    """One page of groups, as ``GroupPagination`` answers it."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DuplicateGroupSerializer(many=True)


class DuplicateListView(DealershipScopedMixin, APIView):
    """The possible duplicates of the dealership, a page of groups at a time (?page=)."""

    required_action = "privacy.manage"

    @extend_schema(
        summary=_("Possible duplicates"),
        parameters=[OpenApiParameter("page", int, description=_("The page of groups (20 a page), from 1."))],
        responses={200: DuplicatePageSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request):
        paginator = GroupPagination()
        page = paginator.paginate_queryset(duplicate_groups(dealership=self.dealership), request, view=self)
        groups = groups_load(dealership=self.dealership, groups=page)
        return paginator.get_paginated_response(DuplicateGroupSerializer(groups, many=True).data)


class MergeRequestSerializer(serializers.Serializer):
    survivor = serializers.IntegerField(help_text=_("The customer kept."))
    merged = serializers.IntegerField(help_text=_("The customer merged into the survivor, then deleted."))


class MergeView(DealershipScopedMixin, APIView):
    """Merge one customer into another of the dealership; answers the survivor. Cannot be undone."""

    required_action = "privacy.manage"

    @extend_schema(
        summary=_("Merge two customers"),
        request=MergeRequestSerializer,
        responses={200: CustomerSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request):
        body = MergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The survivor is of the current dealership (else 404); the merged one may be of another of the
        # user's dealerships, which the merge refuses by name (400 merge_across_dealerships).
        survivor = get_object_or_404(
            Customer.objects.filter(dealership=self.dealership), pk=body.validated_data["survivor"]
        )
        mine = Customer.objects.filter(dealership__memberships__user=request.user)
        merged = get_object_or_404(mine.distinct(), pk=body.validated_data["merged"])
        survivor = merging.customers_merge(
            survivor=survivor, merged=merged, acting_user=request.user, request=request._request
        )
        context = {"request": request, "dealership": self.dealership}
        return Response(CustomerSerializer(survivor, context=context).data)
