"""Thin views of the segmentation API: reads through ``segmentation.selectors`` (scoped to ``self.dealership``),
writes through ``segmentation.services`` and the run task.

Every role reads (``segmentation.view``); after-sales managers and administrators write rule versions and
start runs (``segmentation.manage``). Rule versions and runs are history: none is changed or deleted, so
PUT, PATCH and DELETE answer 405.
"""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from dealercrm.core.api import CursorPagination, DealershipScopedMixin
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.exports import query_filters, record_export
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND, ScopedViewSet

from .. import selectors, services
from ..filters import SegmentFilter
from ..models import CustomerSegment, RuleSet, SegmentationRun
from ..tasks import segment_dealership_task
from . import serializers

VIEW = "segmentation.view"
MANAGE = "segmentation.manage"

REFUSED = OpenApiResponse(description=gettext_lazy("Refused: the answer names the field or says why."))


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Versions of the segmentation rules, newest first")),
    retrieve=extend_schema(
        summary=gettext_lazy("One version of the rules"),
        responses={200: serializers.RuleSetSerializer, 404: NOT_FOUND},
    ),
)
class RuleSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = RuleSet
    selector = staticmethod(selectors.rule_sets)
    serializer_class = serializers.RuleSetSerializer
    action_permissions = {"list": VIEW, "retrieve": VIEW, "current": VIEW, "create": MANAGE}

    def list(self, request, *args, **kwargs):
        services.ruleset_current(dealership=self.dealership)  # the version in force is always listed
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=gettext_lazy("The rules in force"), responses={200: serializers.RuleSetSerializer})
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def current(self, request):
        return Response(self.get_serializer(services.ruleset_current(dealership=self.dealership)).data)

    @extend_schema(
        summary=gettext_lazy("Change the rules: save them as the next version"),
        description=gettext_lazy(
            "Give only the rules that change (and a note); the others are kept from the version in force. "
            "Earlier runs keep the version they applied. Rules equal to the version in force are refused."
        ),
        request=serializers.RuleSetSerializer,
        responses={201: serializers.RuleSetSerializer, 400: REFUSED, 403: FORBIDDEN},
    )
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        note = changes.pop("note", "")
        rule_set = services.ruleset_update(
            dealership=self.dealership, changes=changes, acting_user=request.user, note=note
        )
        return Response(self.get_serializer(rule_set).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Segmentation runs, newest first")),
    retrieve=extend_schema(
        summary=gettext_lazy("A segmentation run"), responses={200: serializers.RunSerializer, 404: NOT_FOUND}
    ),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = SegmentationRun
    selector = staticmethod(selectors.runs)
    serializer_class = serializers.RunSerializer
    action_permissions = {"list": VIEW, "retrieve": VIEW, "movement": VIEW, "create": MANAGE}
    #: a run that did not finish has no results to compare (a read that meets a state: 409)
    error_codes = {"movement": {409: ["run_not_finished"]}}

    @extend_schema(
        summary=gettext_lazy("Start a segmentation run"),
        description=gettext_lazy(
            "Runs in the background. The answer carries the job's id and, when the run has already finished "
            "(small dealerships, the demo), the run itself; otherwise follow the runs list."
        ),
        request=serializers.RunStartSerializer,
        responses={202: serializers.RunStartedSerializer, 400: REFUSED, 403: FORBIDDEN},
    )
    def create(self, request):
        today = self.dealership.local_date()
        form = serializers.RunStartSerializer(data=request.data, context={"today": today})
        form.is_valid(raise_exception=True)
        options = {}
        if form.validated_data.get("reference_date"):
            options["reference_date"] = form.validated_data["reference_date"].isoformat()
        if form.validated_data["force"]:
            options["force"] = True
        result = segment_dealership_task.delay(
            self.dealership.pk, SegmentationRun.Trigger.API, request.user.pk, **options
        )
        run = selectors.run_get(dealership=self.dealership, pk=result.result) if result.successful() else None
        headers = {"Location": reverse("api-segmentation-run-detail", args=[run.pk])} if run else {}
        body = serializers.RunStartedSerializer({"task_id": result.id, "run": run}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        summary=gettext_lazy("How many customers moved between the values of a dimension since an earlier run"),
        parameters=[serializers.MovementQuerySerializer],
        responses={200: serializers.MovementSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        serializer_class=serializers.MovementSerializer,
    )
    def movement(self, request, pk=None):
        after = self.get_object()
        query = serializers.MovementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        before = selectors.run_get(dealership=self.dealership, pk=query.validated_data["from"])
        matrix = selectors.movement_matrix(before=before, after=after, dimension=query.validated_data["dimension"])
        return Response(self.get_serializer({**matrix, "before": before, "after": after}).data)


class RunCursorPagination(CursorPagination):
    """By customer id, with the run in the envelope and in the links: every page comes from the same run,
    even when a newer one finishes while a client pages through."""

    ordering = "customer_id"

    def paginate_queryset(self, queryset, request, view=None):
        self.run = view.run
        return super().paginate_queryset(queryset, request, view)

    def encode_cursor(self, cursor):
        return replace_query_param(super().encode_cursor(cursor), "run", self.run.pk)

    def get_paginated_response(self, data):
        return Response(
            {
                "run": serializers.RunRefSerializer(self.run).data,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        run = {
            "type": "object",
            "description": gettext_lazy("The run the rows are from."),
            "properties": {"id": {"type": "integer"}, "reference_date": {"type": "string", "format": "date"}},
            "required": ["id", "reference_date"],
        }
        response["properties"] = {"run": run, **response["properties"]}
        response["required"] = ["run", *response.get("required", [])]
        return response


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Each customer's segment as a run left them"),
        parameters=[
            OpenApiParameter(
                "run",
                OpenApiTypes.INT,
                description=gettext_lazy("Id of the run; defaults to the latest finished run."),
            )
        ],
        responses={
            200: serializers.CustomerSegmentSerializer(many=True),
            400: OpenApiResponse(description=gettext_lazy("No run yet, or a filter value is not valid.")),
            404: OpenApiResponse(description=gettext_lazy("No such run in this dealership.")),
        },
    )
)
class SegmentCustomerViewSet(mixins.ListModelMixin, ScopedViewSet):
    model = CustomerSegment
    serializer_class = serializers.CustomerSegmentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SegmentFilter
    pagination_class = RunCursorPagination
    # the store's customers page after page: an export of personal data, like the page's CSV and XLSX
    action_permissions = {"list": "exports.personal"}
    error_codes = {"list": {409: ["run_not_finished"]}}

    @property
    def run(self) -> SegmentationRun:
        if not hasattr(self, "_run"):
            given = self.request.query_params.get("run", "").strip()
            if given:
                if not given.isdigit():
                    raise exceptions.ValidationError({"run": [_("Give the run's id as a number.")]})
                self._run = selectors.run_get(dealership=self.dealership, pk=int(given))
            else:
                self._run = selectors.run_latest(dealership=self.dealership)
                if self._run is None:
                    raise ApplicationError(_("No segmentation run yet: start one, then ask again."))
        return self._run

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no dealership
            return CustomerSegment.objects.none()
        return selectors.customer_segments_at(run=self.run).select_related("customer")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["run"] = self.run
        return context

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        # a page of the store's customers leaving the app: one access event (dealercrm.core.exports.PERSONAL)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        record_export(
            request,
            dealership=self.dealership,
            what="API segment customers",
            fmt="json",
            customers=len(rows),
            details={"run": self.run.pk, **query_filters(request.query_params)},
        )
        return response


class QuarterlyReviewView(DealershipScopedMixin, APIView):
    """The value layers at two quarter ends, and each customer who moved up or down between them.

    A report naming the store's customers (SPEC "reports, dashboards, exports of personal data"): not for the
    advisor, and the agent's "own figures" are no list of the store's customers."""

    required_action = "exports.personal"
    error_codes = {"get": {409: ["run_not_finished"]}}

    @extend_schema(
        operation_id="segmentation_quarterly_review",
        summary=gettext_lazy("Quarterly review of value layers: upgrades and downgrades"),
        parameters=[serializers.QuarterlyQuerySerializer],
        responses={
            200: serializers.QuarterlyReviewSerializer,
            400: OpenApiResponse(description=gettext_lazy("Bad dates, or no run on or before one of them.")),
        },
        tags=["segmentation"],
    )
    def get(self, request):
        query = serializers.QuarterlyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, second = query.validated_data["first"], query.validated_data["second"]
        review = selectors.quarterly_review(
            dealership=self.dealership, first_quarter_end=first, second_quarter_end=second
        )
        changes = review["changes"]
        upgrades = sum(1 for change in changes if change["direction"] == "upgrade")
        body = {
            "first": first,
            "second": second,
            "before": review["before"],
            "after": review["after"],
            "upgrades": upgrades,
            "downgrades": len(changes) - upgrades,
            "changes": changes,
        }
        record_export(
            request,
            dealership=self.dealership,
            what="API quarterly review of value layers",
            fmt="json",
            customers=len(changes),
            details={"first": first.isoformat(), "second": second.isoformat()},
        )
        return Response(serializers.QuarterlyReviewSerializer(body).data)
