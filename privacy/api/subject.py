"""API of the data-subject requests and the retention review (under /api/v1/privacy/)."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import pagination, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer
from customers.selectors import customer_get
from dealercrm.core.api import DealershipScopedMixin, error_response
from dealercrm.core.privacy import mask_phone

from .. import retention, subject


class XLSXRenderer(BaseRenderer):
    """Lets ``?format=xlsx`` choose the workbook (DRF reads ``format`` as the renderer's name); the view answers
    the file itself, and an error in the contract's JSON."""

    media_type = subject.XLSX_TYPE
    format = "xlsx"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        if renderer_context and renderer_context.get("response") is not None:
            renderer_context["response"]["Content-Type"] = "application/json"
        return JSONRenderer().render(data)


class PrivacyAPIView(DealershipScopedMixin, APIView):
    required_action = "privacy.manage"


class CustomerExportView(PrivacyAPIView):
    """One customer's data (JSON; ``?format=xlsx``: a workbook, one sheet per section), logged."""

    renderer_classes = [JSONRenderer, XLSXRenderer]

    error_codes = {"get": {400: ["invalid_format"]}}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format", str, enum=list(subject.FORMATS), required=False, description=_("json (default) or xlsx")
            )
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description=_("Every section of the customer's data, by its name.")
            ),
            (200, subject.XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description=_("One sheet per section.")),
        },
    )
    def get(self, request, id):
        customer = customer_get(dealership=self.dealership, pk=id)
        fmt = request.query_params.get("format") or "json"
        export = subject.customer_export(customer=customer, fmt=fmt, user=request.user, request=request._request)
        response = HttpResponse(export.content, content_type=export.content_type)
        if fmt == "xlsx":
            response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class EraseSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(required=False, default=False)


class OpenGroupSerializer(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    count = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())
    items = serializers.ListField(child=serializers.CharField())
    what_happens = serializers.CharField()


class ErasureSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    erased_at = serializers.DateTimeField(allow_null=True)
    open = OpenGroupSerializer(many=True)
    closed = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        required=False,
        help_text=_("After the erasure: the ids closed, by kind."),
    )


class CustomerEraseView(PrivacyAPIView):
    """GET: what is open and what erasing will do; POST ``{"confirm": true}``: the erasure (409 the second
    time)."""

    def body(self, customer, **extra):
        return {
            "customer": customer.pk,
            "erased_at": customer.erased_at,
            "open": subject.erasure_preview(customer),
            **extra,
        }

    error_codes = {"post": {400: ["confirmation_required"], 409: ["already_erased"]}}

    @extend_schema(responses={200: ErasureSerializer})
    def get(self, request, id):
        return Response(self.body(customer_get(dealership=self.dealership, pk=id)))

    @extend_schema(request=EraseSerializer, responses={200: ErasureSerializer})
    def post(self, request, id):
        customer = customer_get(dealership=self.dealership, pk=id)
        if customer.erased_at is not None:
            raise subject.already_erased(customer)
        data = EraseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            return error_response(
                "confirmation_required",
                _("Erasing cannot be undone: send confirm: true to erase, after reading what is open."),
                status=400,
                open=subject.erasure_preview(customer),
            )
        closed = subject.customer_erase(customer=customer, acting_user=request.user, request=request._request)
        return Response(self.body(customer, closed=closed))


class RetentionCustomerSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    last_visit_on = serializers.DateField(read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "customer_no", "name", "phone", "last_visit_on", "created_at"]
        read_only_fields = fields

    def get_phone(self, customer) -> str:
        return mask_phone(customer.phone)


class RetentionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RetentionCustomerSerializer(many=True)
    cutoff = serializers.DateField(help_text=_("Nothing on or after this day: due for review."))
    years = serializers.IntegerField()


class RetentionPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class RetentionListView(PrivacyAPIView):
    """The customers due for review, a page at a time, with their number (``count``) and the cut-off day."""

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: RetentionPageSerializer},
    )
    def get(self, request):
        paginator = RetentionPagination()
        page = paginator.paginate_queryset(
            retention.retention_candidates(dealership=self.dealership), request, view=self
        )
        response = paginator.get_paginated_response(RetentionCustomerSerializer(page, many=True).data)
        day, _moment = retention.cutoff(self.dealership)
        response.data["cutoff"] = day
        response.data["years"] = retention.retention_years()
        return response


class AnonymiseSerializer(serializers.Serializer):
    all = serializers.BooleanField(required=False, default=False)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    confirm = serializers.BooleanField(required=False, default=False)

    def validate(self, data):
        if not data["all"] and not data["ids"]:
            raise serializers.ValidationError(
                _("Name the customers to anonymise (ids), or all of them (all: true)."), code="none_chosen"
            )
        return data


class AnonymisedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())


class RetentionAnonymiseView(PrivacyAPIView):
    """``{"ids": [...]}`` or ``{"all": true}``, with ``"confirm": true``: anonymise those still due for review.
    Without ``confirm``: 400 ``confirmation_required`` saying how many it would be."""

    error_codes = {"post": {400: ["confirmation_required", "none_chosen"]}}

    @extend_schema(request=AnonymiseSerializer, responses={200: AnonymisedSerializer})
    def post(self, request):
        data = AnonymiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = None if data.validated_data["all"] else data.validated_data["ids"]
        if not data.validated_data["confirm"]:
            due = retention.due_for_review(dealership=self.dealership)
            count = (due if ids is None else due.filter(pk__in=ids)).count()
            return error_response(
                "confirmation_required",
                _("Anonymising cannot be undone: send confirm: true to anonymise these %(count)d customers.")
                % {"count": count},
                status=400,
                count=count,
            )
        done = retention.retention_anonymise(
            dealership=self.dealership, ids=ids, acting_user=request.user, request=request._request
        )
        return Response({"count": len(done), "ids": done})
