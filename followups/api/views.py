"""Thin viewsets of the follow-ups API: touches (list, retrieve, cancel), message templates (CRUD, checked
like the pages) and the store's follow-up settings. Reads through ``followups.selectors``, writes through
``followups.managing``; a refusal answers the error contract.

Who may: the managers who watch follow-ups read touches (``followups.overview``: call-centre and after-sales
managers, administrators); after-sales managers and administrators cancel touches, write message templates and
the settings (``followups.manage``). A record of another dealership answers 404."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.core.api import DealershipScopedMixin
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND, ScopedViewSet

from .. import managing, selectors
from ..models import MessageTemplate, Touch
from . import filters, serializers

OVERVIEW = "followups.overview"
MANAGE = "followups.manage"
REFUSED = OpenApiResponse(description=_("Refused: “fields” names the field, or “message” says why."))
CONFLICT = OpenApiResponse(description=_("The touch is no longer pending (code touch_not_pending)."))
SINGLE = {"filter_backends": [], "pagination_class": None}


@extend_schema_view(
    list=extend_schema(summary=_("Touches of the dealership (planned contacts), latest due first")),
    retrieve=extend_schema(
        summary=_("A touch, with its calls and messages"),
        responses={200: serializers.TouchDetailSerializer, 404: NOT_FOUND},
    ),
)
class TouchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = Touch
    selector = staticmethod(selectors.touches)
    serializer_class = serializers.TouchSerializer
    filterset_class = filters.TouchFilter
    ordering = ["-due_at", "-id"]
    ordering_fields = ["due_at", "id", "priority"]
    action_permissions = {"list": OVERVIEW, "retrieve": OVERVIEW, "cancel": MANAGE}
    error_codes = {"cancel": {409: ["touch_not_pending"]}}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("call_attempts__agent", "messages")
        return queryset

    def get_serializer_class(self):
        if self.action in ("retrieve", "cancel"):
            return serializers.TouchDetailSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary=_("Cancel a touch still to happen"),
        description=_(
            "Recorded as cancelled by a member of staff (reason cancelled_by_user). A touch sent, done or stopped "
            "meanwhile answers 409."
        ),
        request=None,
        responses={200: serializers.TouchDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def cancel(self, request, pk=None):
        touch = managing.touch_cancel(touch=self.get_object(), acting_user=request.user)
        return Response(self.get_serializer(touch).data)


@extend_schema_view(
    list=extend_schema(summary=_("The dealership's message templates")),
    retrieve=extend_schema(summary=_("A message template"), responses={200: serializers.MessageTemplateSerializer}),
    create=extend_schema(
        summary=_("Add a message template"),
        description=_(
            "Refused (400) with a variable the kind does not offer (unknown_variable), a banned absolute expression "
            "(banned_expressions), or a second template of the same kind, channel and language."
        ),
        responses={201: serializers.MessageTemplateSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
    partial_update=extend_schema(
        summary=_("Change a message template"),
        responses={200: serializers.MessageTemplateSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary=_("Delete a message template (the built-in text is used again)"),
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class MessageTemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    model = MessageTemplate
    selector = staticmethod(selectors.message_templates)
    serializer_class = serializers.MessageTemplateSerializer
    filterset_class = filters.MessageTemplateFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    action_permissions = {
        "list": MANAGE,
        "retrieve": MANAGE,
        "create": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
    }
    error_codes = {
        "create": {400: ["unknown_variable", "banned_expressions", "unique_together"]},
        "partial_update": {400: ["unknown_variable", "banned_expressions", "unique_together"]},
    }

    def perform_create(self, serializer):
        serializer.instance = managing.message_template_create(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )

    def partial_update(self, request, pk=None):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = managing.message_template_update(
            template=serializer.instance, acting_user=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(template).data)

    def perform_destroy(self, instance):
        managing.message_template_delete(template=instance, acting_user=self.request.user)


class FollowupSettingsView(DealershipScopedMixin, APIView):
    """The store's follow-up settings: sending hours (per channel), the marketing cap, reminders, complaint
    deadlines and business hours. A store that never changed them reads the defaults."""

    action_permissions = {"get": MANAGE, "put": MANAGE, "patch": MANAGE}
    serializer_class = serializers.FollowupPolicySerializer

    def get_serializer(self, *args, **kwargs):
        return serializers.FollowupPolicySerializer(*args, **kwargs)

    @extend_schema(
        summary=_("The store's follow-up settings"),
        responses={200: serializers.FollowupPolicySerializer, 403: FORBIDDEN},
    )
    def get(self, request):
        return Response(self.get_serializer(selectors.followup_policy(dealership=self.dealership)).data)

    def _update(self, request, partial: bool):
        serializer = self.get_serializer(
            selectors.followup_policy(dealership=self.dealership), data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        policy = managing.followup_policy_update(
            dealership=self.dealership, acting_user=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(policy).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary=_("Replace the store's follow-up settings"),
        responses={200: serializers.FollowupPolicySerializer, 400: REFUSED, 403: FORBIDDEN},
    )
    def put(self, request):
        return self._update(request, partial=False)

    @extend_schema(
        summary=_("Change some of the store's follow-up settings"),
        responses={200: serializers.FollowupPolicySerializer, 400: REFUSED, 403: FORBIDDEN},
    )
    def patch(self, request):
        return self._update(request, partial=True)
