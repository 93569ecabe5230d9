"""REST endpoints of the dealership's administration (role-table action ``staff.manage``) and the token endpoint.

Users and tokens are those of the current dealership (``X-Dealership``); a user or token of another
dealership is 404. A token's key is in the answer to its creation only: afterwards a token is known by
its public prefix (``token_key``), never by its key or digest.
"""

from django.contrib.auth import authenticate, user_logged_in
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api import CursorPagination
from ..exceptions import ApplicationError
from ..lockout import LOCKED_OUT, lockout_message
from ..models import AccessEvent, ApiToken, Dealership, Membership, User
from ..roles import Role
from ..tenancy import user_dealerships
from ..viewsets import FORBIDDEN, NOT_FOUND, ScopedViewSet
from . import forms, selectors, services

# --- The token endpoint ---------------------------------------------------------------------------------


class LockedOut(exceptions.APIException):
    status_code = 429
    default_code = LOCKED_OUT
    default_detail = gettext_lazy("Too many failed logins for this username from your address. Try again later.")


class AuthTokenSerializer(serializers.Serializer):
    username = serializers.CharField(label=gettext_lazy("username"))
    password = serializers.CharField(
        label=gettext_lazy("password"), style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )
    name = serializers.CharField(
        label=pgettext_lazy("API token", "name"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("What the token is for (e.g. the system using it); shown to administrators."),
    )
    token = serializers.CharField(read_only=True, help_text=gettext_lazy("The key: shown this once, never again."))
    expiry = serializers.DateTimeField(read_only=True)


class ObtainTokenView(APIView):
    """Username and password for a new token (with the default expiry); its key is shown once."""

    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = AuthTokenSerializer
    error_codes = {"*": {400: ["invalid_credentials"], 429: [LOCKED_OUT]}}

    @extend_schema(
        summary=gettext_lazy("Obtain a token with a username and password"),
        request=AuthTokenSerializer,
        responses={200: AuthTokenSerializer},
        auth=[],
    )
    def post(self, request, format=None):
        serializer = AuthTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The Django request: django-axes counts the failure (and refuses a locked-out login) on it.
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if getattr(request._request, "axes_locked_out", False):
            raise LockedOut(lockout_message())
        if user is None:
            raise ApplicationError(
                _("Unable to log in with the username and password given."), code="invalid_credentials"
            )
        token, key = services.token_sign_in(user=user, name=data.get("name", ""), request=request._request)
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": key, "expiry": token.expiry, "name": token.name})


PASSWORD_CODES = [
    "password_too_short",
    "password_too_common",
    "password_entirely_numeric",
    "password_too_similar",
]

# --- Users ------------------------------------------------------------------------------------------------


class MembershipField(serializers.SlugRelatedField):
    """Dealership codes, among the requesting administrator's dealerships (another code is "not found")."""

    def get_queryset(self):
        request = self.context.get("request")
        return user_dealerships(request.user) if request else Dealership.objects.none()


class StaffSerializer(serializers.ModelSerializer):
    dealerships = MembershipField(
        many=True,
        slug_field="code",
        required=False,
        help_text=gettext_lazy("Codes of the user's dealerships among yours (their others are not shown)."),
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "role", "is_active", "dealerships", "last_login", "date_joined"]
        read_only_fields = ["id", "username", "is_active", "last_login", "date_joined"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        memberships = getattr(instance, "my_memberships", None)
        if memberships is not None:
            data["dealerships"] = [m.dealership.code for m in memberships]
        return data


class StaffCreateSerializer(StaffSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, trim_whitespace=False)

    class Meta(StaffSerializer.Meta):
        fields = [*StaffSerializer.Meta.fields, "password"]
        read_only_fields = ["id", "is_active", "last_login", "date_joined"]
        extra_kwargs = {"username": {"validators": []}}


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, trim_whitespace=False)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Users of the dealership")),
    retrieve=extend_schema(summary=gettext_lazy("A user"), responses={200: StaffSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary=gettext_lazy("Create a user"),
        request=StaffCreateSerializer,
        responses={201: StaffSerializer, 403: FORBIDDEN},
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("Change a user's role, name or dealerships"),
        responses={200: StaffSerializer, 404: NOT_FOUND},
    ),
)
class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = User
    serializer_class = StaffSerializer
    ordering = ["username"]
    ordering_fields = ["username", "id"]
    search_fields = ["username", "display_name"]
    filterset_fields = ["role", "is_active"]
    required_action = "staff.manage"
    http_method_names = ["get", "post", "patch", "head", "options"]
    # The codes of the services' refusals, for the schema (dealercrm.core.schema.AutoSchema.error_statuses).
    error_codes = {
        "create": {400: ["foreign_dealership", "invalid_role", "no_dealership", "username_taken", *PASSWORD_CODES]},
        "partial_update": {
            400: ["foreign_dealership", "invalid_role", "no_dealership", "self_change"],
            403: ["shared_user"],
        },
        "deactivate": {400: ["self_deactivation"], 403: ["shared_user"], 409: ["already_inactive"]},
        "reactivate": {400: ["self_deactivation"], 403: ["shared_user"], 409: ["already_active"]},
        "set_password": {400: PASSWORD_CODES, 403: ["shared_user"]},
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        return selectors.staff_list(admin=self.request.user, dealership=self.dealership)

    def get_object(self):
        return selectors.staff_get(admin=self.request.user, dealership=self.dealership, pk=self.kwargs["pk"])

    def create(self, request, *args, **kwargs):
        serializer = StaffCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.staff_create(
            acting_user=request.user,
            username=data["username"],
            display_name=data.get("display_name", ""),
            role=data["role"],
            dealerships=data.get("dealerships") or [self.dealership],
            password=data["password"],
        )
        return Response(self._present(user), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        user = self.get_object()
        serializer = self.get_serializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dealerships = data.get("dealerships")
        if dealerships is None:
            dealerships = [m.dealership for m in user.my_memberships]
        user = services.staff_update(
            acting_user=request.user,
            user=user,
            role=data.get("role", user.role),
            display_name=data.get("display_name", user.display_name),
            dealerships=dealerships,
        )
        return Response(self._present(user))

    def _present(self, user):
        found = selectors.staff_list(admin=self.request.user, dealership=self.dealership).filter(pk=user.pk).first()
        if found is None:  # no longer a member of this dealership: answer with what was saved all the same
            found = user
            found.my_memberships = list(
                Membership.objects.filter(user=user, dealership__in=user_dealerships(self.request.user))
                .select_related("dealership")
                .order_by("dealership__code")
            )
        return StaffSerializer(found, context=self.get_serializer_context()).data

    @extend_schema(summary=gettext_lazy("Deactivate a user"), request=None, responses={200: StaffSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None, format=None):
        services.staff_set_active(acting_user=request.user, user=self.get_object(), active=False)
        return Response(self._present(self.get_object()))

    @extend_schema(summary=gettext_lazy("Reactivate a user"), request=None, responses={200: StaffSerializer})
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None, format=None):
        services.staff_set_active(acting_user=request.user, user=self.get_object(), active=True)
        return Response(self._present(self.get_object()))

    @extend_schema(
        summary=gettext_lazy("Set a new password for a user"),
        request=PasswordSerializer,
        responses={204: OpenApiResponse(description=gettext_lazy("The password is set."))},
    )
    @action(detail=True, methods=["post"], url_path="password")
    def set_password(self, request, pk=None, format=None):
        user = self.get_object()  # another dealership's user is 404 whatever the body
        serializer = PasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.staff_set_password(acting_user=request.user, user=user, password=serializer.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- API tokens -------------------------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["token_key", "name", "user", "created", "expiry", "is_expired", "last_used_at", "created_by"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField(help_text=gettext_lazy("Id of the user (of this dealership) the token acts as."))
    name = serializers.CharField(max_length=100)
    days = serializers.ChoiceField(
        choices=sorted(services.TOKEN_EXPIRY_DAYS),
        default=services.TOKEN_EXPIRY_DAYS[0],
        help_text=gettext_lazy("Days until the token expires."),
    )


class IssuedTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text=gettext_lazy("The key: shown this once, never again."))

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("API tokens of the dealership's users")),
    retrieve=extend_schema(summary=gettext_lazy("An API token"), responses={200: TokenSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary=gettext_lazy("Issue an API token (its key is shown once)"),
        request=TokenCreateSerializer,
        responses={201: IssuedTokenSerializer, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary=gettext_lazy("Revoke an API token"),
        responses={204: OpenApiResponse(description=gettext_lazy("Revoked.")), 404: NOT_FOUND},
    ),
)
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    model = ApiToken
    serializer_class = TokenSerializer
    lookup_field = "token_key"
    error_codes = {"create": {400: ["required", "invalid_expiry"], 403: ["shared_user"], 409: ["user_inactive"]}}
    ordering = ["-created"]
    ordering_fields = ["created"]
    required_action = "staff.manage"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.token_list(dealership=self.dealership)

    def get_object(self):
        return selectors.token_get(dealership=self.dealership, token_key=self.kwargs["token_key"])

    def create(self, request, *args, **kwargs):
        serializer = TokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = selectors.staff_get(admin=request.user, dealership=self.dealership, pk=data["user"])
        token, key = services.token_issue(
            acting_user=request.user,
            user=user,
            name=data["name"],
            days=data["days"],
            dealership=self.dealership,
            request=request._request,
        )
        token.token = key
        return Response(IssuedTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.token_revoke(
            acting_user=self.request.user, token=instance, dealership=self.dealership, request=self.request._request
        )


# --- The access log ---------------------------------------------------------------------------------------


class AccessEventSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    customer_no = serializers.SerializerMethodField(
        help_text=gettext_lazy("The customer's number if they are still a customer (not erased); else empty.")
    )
    customer_name = serializers.SerializerMethodField(
        help_text=gettext_lazy("The customer's current name if they are still a customer (not erased); else empty.")
    )

    class Meta:
        model = AccessEvent
        fields = [
            "id",
            "occurred_at",
            "kind",
            "kind_label",
            "user",
            "username",
            "customer",
            "customer_no",
            "customer_name",
            "what",
            "customers",
            "ip",
            "details",
        ]
        read_only_fields = fields

    def _shown(self, event):
        return (self.context.get("customers_shown") or {}).get(event.customer_id)

    def get_customer_no(self, event) -> str:
        shown = self._shown(event)
        return shown.customer_no if shown else ""

    def get_customer_name(self, event) -> str:
        shown = self._shown(event)
        return shown.name if shown else ""


class AccessLogPagination(CursorPagination):
    ordering = ("-occurred_at", "-id")


FILTER_PARAMETERS = [
    OpenApiParameter("user", int, description=gettext_lazy("Id of a user of the dealership.")),
    OpenApiParameter("customer", str, description=gettext_lazy("Customer number or id.")),
    OpenApiParameter("kind", str, enum=AccessEvent.Kind.values),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description=gettext_lazy("First day (at the store).")),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description=gettext_lazy("Last day (at the store), included.")),
]


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("The dealership's access log (read only)"), parameters=FILTER_PARAMETERS),
)
class AccessLogViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Reveals, exports, data-subject actions, failed sign-ins and token changes of the dealership, newest
    first. The log cannot be changed: there is no write here."""

    model = AccessEvent
    serializer_class = AccessEventSerializer
    pagination_class = AccessLogPagination
    filter_backends = []
    required_action = "audit.view"
    http_method_names = ["get", "head", "options"]
    error_codes = {"list": {400: ["invalid_filter"]}}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccessEvent.objects.none()
        form = forms.AccessLogFilterForm(
            self.request.query_params, users=selectors.access_log_users(dealership=self.dealership)
        )
        if not form.is_valid():
            fields = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
            message = " ".join(text for texts in fields.values() for text in texts)
            raise ApplicationError(message, code="invalid_filter", fields=fields)
        return selectors.access_log_filtered(dealership=self.dealership, **form.filters())

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        shown = selectors.customers_shown(dealership=self.dealership, ids={event.customer_id for event in page})
        context = {**self.get_serializer_context(), "customers_shown": shown}
        return self.get_paginated_response(AccessEventSerializer(page, many=True, context=context).data)
