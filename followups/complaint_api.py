"""The complaints and surveys API (under /api/v1/followups/): thin viewsets over ``followups.complaints`` and
``followups.surveys``.

Every role reads complaints (``complaint.view``), a service advisor only those on their own visits; whoever hears
one opens it (``complaint.open``); after-sales managers and administrators acknowledge, resolve and close them
(``complaint.manage``): a step the complaint's state does not allow answers 409 with its code. Surveys are read
by the managers who watch the follow-ups (``followups.overview``). A record of another dealership answers 404.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns.api.serializers import ScopedSerializerMixin
from customers import selectors as customer_selectors
from customers.models import Customer, ServiceVisit
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND, ScopedViewSet

from . import complaints, surveys
from .models import Complaint, Survey

VIEW = "complaint.view"
OPEN = "complaint.open"
MANAGE = "complaint.manage"
SURVEYS = "followups.overview"

REFUSED = OpenApiResponse(description=_("Refused: “fields” names the field, or “message” says why."))
CONFLICT = OpenApiResponse(description=_("The complaint's state does not allow this step (reload it)."))
SINGLE = {"filter_backends": [], "pagination_class": None}


class SurveyAnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Survey
        fields = ["id", "sent_at", "expires_at", "answered_at", "satisfaction", "nps", "comment"]
        read_only_fields = fields


class ComplaintSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    opened_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    overdue = serializers.SerializerMethodField(help_text=_("Open past its first-response deadline."))
    survey = SurveyAnswerSerializer(read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "customer",
            "customer_name",
            "visit",
            "survey",
            "source",
            "source_display",
            "status",
            "status_display",
            "summary",
            "resolution",
            "opened_by",
            "owner",
            "opened_at",
            "response_due_at",
            "resolution_due_at",
            "acknowledged_at",
            "escalated_at",
            "resolved_at",
            "closed_at",
            "overdue",
        ]
        read_only_fields = fields

    def get_overdue(self, complaint) -> bool:
        return complaints.is_overdue(complaint)


def _visits(*, dealership):
    return customer_selectors.visit_list(dealership=dealership)


class ComplaintCreateSerializer(ScopedSerializerMixin, serializers.Serializer):
    scoped_fields = {"customer": customer_selectors.customer_list, "visit": _visits}

    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.none(), error_messages={"does_not_exist": _("No such customer in this dealership.")}
    )
    visit = serializers.PrimaryKeyRelatedField(
        queryset=ServiceVisit.objects.none(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": _("No such visit in this dealership.")},
    )
    source = serializers.ChoiceField(
        choices=[c for c in Complaint.Source.choices if c[0] != Complaint.Source.SURVEY],
        default=Complaint.Source.API,
    )
    summary = serializers.CharField(max_length=4000)


class ComplaintResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=4000)


class ComplaintFilterMixin:
    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            status = self.request.query_params.get("status")
            if status in Complaint.Status.values:
                queryset = queryset.filter(status=status)
            customer = self.request.query_params.get("customer")
            if customer and customer.isdigit():
                queryset = queryset.filter(customer_id=int(customer))
        return queryset


def _step(summary, description):
    return extend_schema(
        summary=summary,
        description=description,
        responses={200: ComplaintSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("Complaints of the dealership, newest first"),
        description=_(
            "A service advisor gets the complaints about their own visits. Filter with ?status= and ?customer=."
        ),
    ),
    retrieve=extend_schema(summary=_("A complaint"), responses={200: ComplaintSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary=_("Open a complaint"),
        description=_(
            "Sets the first-response deadline (business hours of the store) and the resolution deadline (working "
            "days), plans the follow-up call for an agent and stops the customer's pending surveys and marketing."
        ),
        request=ComplaintCreateSerializer,
        responses={201: ComplaintSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
)
class ComplaintViewSet(
    ComplaintFilterMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    model = Complaint
    serializer_class = ComplaintSerializer
    ordering_fields = ["id", "opened_at", "response_due_at"]
    action_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "create": OPEN,
        "acknowledge": MANAGE,
        "resolve": MANAGE,
        "close": MANAGE,
    }
    error_codes = {
        "create": {400: ["complaint_summary_required", "visit_not_customers"]},
        "acknowledge": {409: complaints.CONFLICT_CODES["acknowledge"]},
        "resolve": {400: ["complaint_resolution_required"], 409: complaints.CONFLICT_CODES["resolve"]},
        "close": {409: complaints.CONFLICT_CODES["close"]},
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Complaint.objects.none()
        return complaints.complaints_visible(dealership=self.dealership, user=self.request.user).select_related(
            "customer", "survey", "opened_by", "owner"
        )

    def create(self, request, *args, **kwargs):
        form = ComplaintCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        complaint = complaints.complaint_open(
            dealership=self.dealership,
            customer=data["customer"],
            source=data["source"],
            summary=data["summary"],
            visit=data.get("visit"),
            acting_user=request.user,
        )
        return Response(self.get_serializer(complaint).data, status=201)

    @_step(_("Acknowledge a complaint (the first response)"), _("Only an open complaint."))
    @action(detail=True, methods=["post"], **SINGLE)
    def acknowledge(self, request, pk=None):
        complaint = complaints.complaint_acknowledge(complaint=self.get_object(), acting_user=request.user)
        return Response(self.get_serializer(complaint).data)

    @extend_schema(
        summary=_("Resolve a complaint: how it was handled"),
        description=_("Only an acknowledged complaint."),
        request=ComplaintResolveSerializer,
        responses={200: ComplaintSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def resolve(self, request, pk=None):
        complaint = self.get_object()
        form = ComplaintResolveSerializer(data=request.data)
        if complaints.move_refusal(complaint, "resolve") is None:
            form.is_valid(raise_exception=True)
            resolution = form.validated_data["resolution"]
        else:
            resolution = ""  # the service answers the state conflict first
        complaint = complaints.complaint_resolve(complaint=complaint, resolution=resolution, acting_user=request.user)
        return Response(self.get_serializer(complaint).data)

    @_step(_("Close a resolved complaint"), _("Only a resolved complaint; a closed one stays closed."))
    @action(detail=True, methods=["post"], **SINGLE)
    def close(self, request, pk=None):
        complaint = complaints.complaint_close(complaint=self.get_object(), acting_user=request.user)
        return Response(self.get_serializer(complaint).data)


class SurveySerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    complaint = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "customer",
            "customer_name",
            "visit",
            "campaign",
            "sent_at",
            "expires_at",
            "answered_at",
            "satisfaction",
            "nps",
            "comment",
            "complaint",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary=_("Surveys of the dealership, newest first"),
        description=_("Filter with ?answered=true|false and ?customer=."),
    ),
    retrieve=extend_schema(summary=_("A survey and its answer"), responses={200: SurveySerializer, 404: NOT_FOUND}),
)
class SurveyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = Survey
    selector = staticmethod(surveys.survey_list)
    serializer_class = SurveySerializer
    ordering_fields = ["id", "sent_at", "answered_at"]
    action_permissions = {"list": SURVEYS, "retrieve": SURVEYS}

    def get_queryset(self):
        return super().get_queryset().select_related("complaint")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            answered = self.request.query_params.get("answered")
            if answered in ("true", "false"):
                queryset = queryset.filter(answered_at__isnull=answered == "false")
            customer = self.request.query_params.get("customer")
            if customer and customer.isdigit():
                queryset = queryset.filter(customer_id=int(customer))
        return queryset
