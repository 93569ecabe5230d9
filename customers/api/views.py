"""Thin viewsets: querysets from the selectors (scoped to ``self.dealership``), writes through the services.

Records are not deleted through the API: no viewset has a destroy action, so
DELETE answers 405.
"""

from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dealercrm.core.api import HasAction
from dealercrm.core.roles import can
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND, ScopedViewSet

from .. import selectors, services
from ..consent import consent_text_for
from ..models import Appointment, ConsentChannel, ConsentEvent, Customer, ServiceVisit, Vehicle, VisitType
from ..reveal import may_reveal, phone_reveal
from . import fast, filters, serializers


class HasAnyAction(HasAction):
    """Like ``HasAction``, but an entry of ``action_permissions`` may list several role-table actions."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        key = getattr(view, "action", None) or request.method.lower()
        actions = view.action_permissions.get(key, ())
        if isinstance(actions, str):
            actions = (actions,)
        return any(can(request.user, name) for name in actions)


@extend_schema_view(
    list=extend_schema(summary=_("Customers of the dealership")),
    retrieve=extend_schema(summary=_("A customer"), responses={200: serializers.CustomerSerializer, 404: NOT_FOUND}),
    create=extend_schema(summary=_("Add a customer"), responses={201: serializers.CustomerSerializer, 403: FORBIDDEN}),
    update=extend_schema(summary=_("Replace a customer's details")),
    partial_update=extend_schema(summary=_("Change some of a customer's details")),
)
class CustomerViewSet(
    fast.FastListMixin,  # the list's rows read with values(), written as the serializer would
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = Customer
    selector = staticmethod(selectors.customer_list)
    serializer_class = serializers.CustomerSerializer
    filterset_class = filters.CustomerFilter
    filter_backends = [DjangoFilterBackend, filters.CustomerSearchFilter, OrderingFilter]
    search_fields = ["name", "customer_no", "vehicles__plate", "vehicles__vin"]  # and a phone, by its hash
    ordering_fields = ["id", "updated_at", "customer_no"]
    action_permissions = {
        "list": "customer.view",
        "retrieve": "customer.view",
        "create": "customer.edit",
        "update": "customer.edit",
        "partial_update": "customer.edit",
        "consent": "customer.view",
        "consent_create": "customer.consent",
        "reveal_phone_action": "phone.reveal",
    }
    #: set by ``retrieve`` when the caller asked for the full number and may see it (the reveal is logged)
    reveal_phone = False

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "reveal_phone": self.reveal_phone}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "reveal",
                str,
                enum=["phone"],
                description=_(
                    "phone: the number in full instead of masked, for the roles that may see it (otherwise 403). "
                    "Each such read is logged."
                ),
            )
        ],
        responses={200: serializers.CustomerSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def retrieve(self, request, *args, **kwargs):
        reveal = request.query_params.get("reveal")
        if reveal is None:
            return super().retrieve(request, *args, **kwargs)
        if reveal != "phone":
            raise ValidationError({"reveal": [_("Only “phone” can be revealed.")]}, code="invalid")
        customer = self.get_object()
        if not may_reveal(request.user):
            raise PermissionDenied(_("Your role sees phone numbers masked."), code="phone_masked")
        phone_reveal(customer=customer, user=request.user, via="API: customer ?reveal=phone", request=request)
        self.reveal_phone = True
        return Response(self.get_serializer(customer).data)

    @extend_schema(
        summary=_("The customer's full phone number (logged)"),
        request=None,
        responses={200: serializers.RevealedPhoneSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="reveal-phone",
        url_name="reveal-phone",
        filter_backends=[],
        pagination_class=None,
    )
    def reveal_phone_action(self, request, pk=None):
        customer = self.get_object()
        national = phone_reveal(customer=customer, user=request.user, via="API: reveal-phone", request=request)
        return Response({"phone": str(customer.phone), "national": national})

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        consent = data.pop("marketing_consent", None)
        serializer.instance = services.customer_create(
            dealership=self.dealership,
            acting_user=self.request.user,
            consent=consent,
            consent_channel=ConsentChannel.API,
            **data,
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("marketing_consent", None)  # unchanged (the serializer refuses a change)
        serializer.instance = services.customer_update(
            customer=serializer.instance, acting_user=self.request.user, **data
        )

    @extend_schema(
        summary=_("History of the customer's marketing consent"),
        responses={200: serializers.ConsentEventSerializer(many=True), 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        serializer_class=serializers.ConsentEventSerializer,
        filter_backends=[],
        pagination_class=None,
    )
    def consent(self, request, pk=None):
        customer = self.get_object()
        events = ConsentEvent.objects.filter(customer=customer).select_related("recorded_by")
        return Response(self.get_serializer(events, many=True).data)

    @extend_schema(
        summary=_("Record that the customer granted or withdrew marketing consent"),
        request=serializers.ConsentEventSerializer,
        responses={201: serializers.ConsentEventSerializer, 404: NOT_FOUND},
    )
    @consent.mapping.post
    def consent_create(self, request, pk=None):
        customer = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("text_shown", consent_text_for(self.dealership))  # the client showed the store's text
        event = services.consent_record(customer=customer, acting_user=request.user, **data)
        return Response(self.get_serializer(event).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary=_("Vehicles of the dealership")),
    retrieve=extend_schema(summary=_("A vehicle"), responses={200: serializers.VehicleSerializer, 404: NOT_FOUND}),
    create=extend_schema(summary=_("Add a vehicle"), responses={201: serializers.VehicleSerializer, 403: FORBIDDEN}),
    update=extend_schema(summary=_("Replace a vehicle's details (a new owner is a transfer)")),
    partial_update=extend_schema(summary=_("Change some of a vehicle's details (a new owner is a transfer)")),
)
class VehicleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = Vehicle
    selector = staticmethod(selectors.vehicle_list)
    serializer_class = serializers.VehicleSerializer
    filterset_class = filters.VehicleFilter
    search_fields = ["plate", "vin", "model", "owner__name", "owner__customer_no"]
    ordering_fields = ["id", "updated_at", "plate"]
    action_permissions = {
        "list": "customer.view",
        "retrieve": "customer.view",
        "create": "customer.edit",
        "update": "customer.edit",
        "partial_update": "customer.edit",
    }

    def perform_create(self, serializer):
        serializer.instance = services.vehicle_create(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        vehicle = services.vehicle_update(
            vehicle=serializer.instance, acting_user=self.request.user, **serializer.validated_data
        )
        serializer.instance = selectors.vehicle_list(dealership=self.dealership).get(pk=vehicle.pk)


@extend_schema_view(
    list=extend_schema(summary=_("Service visits (repair orders) of the dealership")),
    retrieve=extend_schema(summary=_("A service visit"), responses={200: serializers.VisitSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary=_("Record a service visit"), responses={201: serializers.VisitSerializer, 403: FORBIDDEN}
    ),
    update=extend_schema(summary=_("Replace a service visit's details")),
    partial_update=extend_schema(summary=_("Change some of a service visit's details")),
)
class VisitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = ServiceVisit
    selector = staticmethod(selectors.visit_list)
    serializer_class = serializers.VisitSerializer
    filterset_class = filters.VisitFilter
    search_fields = ["ro_number", "vehicle__plate", "vehicle__vin", "customer__name", "campaign_code"]
    ordering_fields = ["id", "opened_on", "updated_at"]
    action_permissions = {
        "list": "customer.view",
        "retrieve": "customer.view",
        "create": "customer.edit",
        "update": "customer.edit",
        "partial_update": "customer.edit",
    }

    def perform_create(self, serializer):
        visit = services.visit_create(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )
        serializer.instance = selectors.visit_list(dealership=self.dealership).get(pk=visit.pk)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("vehicle", None)  # unchanged (the serializer refuses a change)
        data.pop("customer", None)
        visit = services.visit_update(visit=serializer.instance, acting_user=self.request.user, **data)
        serializer.instance = selectors.visit_list(dealership=self.dealership).get(pk=visit.pk)


@extend_schema_view(
    list=extend_schema(summary=_("Appointments of the dealership")),
    retrieve=extend_schema(
        summary=_("An appointment"), responses={200: serializers.AppointmentSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary=_("Book an appointment"), responses={201: serializers.AppointmentSerializer, 403: FORBIDDEN}
    ),
)
class AppointmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ScopedViewSet,
):
    model = Appointment
    selector = staticmethod(selectors.appointment_list)
    serializer_class = serializers.AppointmentSerializer
    filterset_class = filters.AppointmentFilter
    search_fields = ["customer__name", "customer__customer_no", "vehicle__plate"]
    ordering_fields = ["id", "date"]
    permission_classes = [permissions.IsAuthenticated, HasAnyAction]
    action_permissions = {
        "list": "customer.view",
        "retrieve": "customer.view",
        "create": ("customer.edit", "calls.work"),
        "set_status": "appointment.arrival",
    }

    def perform_create(self, serializer):
        serializer.instance = services.appointment_create(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )

    @extend_schema(
        summary=_("Mark an appointment arrived (opening its visit), no-show or cancelled"),
        description=_(
            "Arrived opens the customer's visit in the same step, all or nothing: an RO number already on file is "
            "refused (400, ro_number_taken) and the appointment stays booked."
        ),
        request=serializers.AppointmentStatusSerializer,
        responses={200: serializers.AppointmentStatusResultSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="status", filter_backends=[])
    def set_status(self, request, pk=None):
        appointment = self.get_object()
        form = serializers.AppointmentStatusSerializer(data=request.data, context={"dealership": self.dealership})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        visit = None
        if data["status"] == Appointment.Status.ARRIVED:
            appointment, visit = services.appointment_arrive(
                appointment=appointment,
                acting_user=request.user,
                ro_number=data.get("ro_number", ""),
                vehicle=data.get("vehicle"),
                visit_type=data.get("visit_type") or VisitType.MAINTENANCE,
                campaign_code=data.get("campaign_code", ""),
            )
        else:
            appointment = services.appointment_set_status(
                appointment=appointment, status=data["status"], acting_user=request.user
            )
        appointment = self.get_queryset().get(pk=appointment.pk)
        appointment.visit = visit
        return Response(
            serializers.AppointmentStatusResultSerializer(appointment, context=self.get_serializer_context()).data
        )
