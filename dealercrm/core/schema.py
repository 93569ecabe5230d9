"""OpenAPI schema: every operation documents how to name the dealership and the errors it can answer.

The errors are documented generically from what the view is (``AutoSchema.error_statuses``): its
authentication, permissions, throttles, whether it is scoped to a dealership, whether it takes a body or
a record's id (a change to a dealership's records may meet a state that forbids it: 409); each as the one ``Error``
component of the contract (``dealercrm.core.api.error_body``), with its codes in the description.
A view adds what only it knows with ``error_codes``, e.g.
``error_codes = {"redeem": {409: ["coupon_redeemed"]}}`` (keyed by action, or by method on an APIView;
``"*"`` for all), or with its own ``responses={409: ...}`` in ``extend_schema``.
"""

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

from .api import ERROR_CODES, DealershipScopedMixin

DEALERSHIP_PARAMETERS = [
    OpenApiParameter(
        name="X-Dealership",
        type=str,
        location=OpenApiParameter.HEADER,
        required=False,
        description=_(
            "Code of the dealership to work in (e.g. SZ01). Required when the token's user belongs to "
            "several dealerships; a code that is not one of theirs answers 404."
        ),
    ),
    OpenApiParameter(
        name="dealership",
        type=str,
        location=OpenApiParameter.QUERY,
        required=False,
        description=_("The same as the X-Dealership header, as a query parameter; it wins over the header."),
    ),
]

ERROR_HEADERS = [
    OpenApiParameter(
        name="WWW-Authenticate",
        type=str,
        location=OpenApiParameter.HEADER,
        response=[401],
        description=_("How to authenticate (e.g. Token)."),
    ),
    OpenApiParameter(
        name="Retry-After",
        type=OpenApiTypes.INT,
        location=OpenApiParameter.HEADER,
        response=[429],
        description=_("Seconds to wait before asking again."),
    ),
]


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer: match on ``code``, show ``message``, and ``fields`` beside the fields."""

    code = serializers.CharField(
        help_text=_("Stable code of the refusal (e.g. invalid, not_found, state_conflict): match on this.")
    )
    message = serializers.CharField(help_text=_("What went wrong, in the request's language (Accept-Language)."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_('Messages per field; nested fields are dotted ("vehicles.0.plate"). Empty when none.'),
    )


#: what each documented status means, before its codes
STATUS_DESCRIPTIONS = {
    400: _("Refused: the request is not valid (the fields say which)."),
    401: _("Not authenticated, or the credentials are not valid."),
    403: _("Your role may not do this."),
    404: _("Not a record of this dealership (or no such dealership among yours)."),
    405: _("This method is not allowed here."),
    406: _("No answer in the requested format."),
    409: _("The record's state does not allow this: reload it and look before trying again."),
    415: _("The body's media type is not accepted."),
    429: _("Too many requests: wait for Retry-After seconds."),
}

WRITE_METHODS = ("POST", "PUT", "PATCH")


def _model_field_of(field):
    """The model field a read-only serializer field shows, and whether a relation on its way may be empty."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or field.source == "*" or not getattr(field, "source_attrs", None):
        return None, False
    through_empty = False
    model_field = None
    for attr in field.source_attrs:
        if model is None:
            return None, False
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return None, False
        if model_field.is_relation and attr != field.source_attrs[-1]:
            through_empty = through_empty or model_field.null or not model_field.concrete
            model = model_field.related_model
    return model_field, through_empty


class AutoSchema(SpectacularAutoSchema):
    """Adds the X-Dealership header (and ``?dealership=``) to dealership-scoped views, and the error answers."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A read-only field of a model serializer answers what the model holds: DRF builds read-only model
        fields without ``allow_null``/``allow_blank``, so the schema learns from the model field itself that
        it may be null (a nullable column, or an empty relation on the way) or "" (a blank choice)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "response" or not getattr(field, "read_only", False):
            return schema
        model_field, through_empty = _model_field_of(field)
        if model_field is None or not model_field.concrete:  # a reverse relation: not one value
            return schema
        if (model_field.null or through_empty) and not schema.get("nullable"):
            schema["nullable"] = True
            if "enum" in schema and None not in schema["enum"]:
                schema["enum"] = [*schema["enum"], None]
        if model_field.blank and model_field.choices and "enum" in schema and "" not in schema["enum"]:
            schema["enum"] = [*schema["enum"], ""]
        return schema

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if isinstance(self.view, DealershipScopedMixin):
            parameters = [*DEALERSHIP_PARAMETERS, *parameters]
        return [*parameters, *ERROR_HEADERS]

    def error_statuses(self) -> dict[int, list[str]]:
        """The 4xx statuses this operation can answer, with their codes (by what the view is)."""
        view, method = self.view, self.method
        scoped = isinstance(view, DealershipScopedMixin)
        write = method in WRITE_METHODS
        statuses: dict[int, list[str]] = {}

        def add(status, *codes):
            known = statuses.setdefault(status, [])
            known.extend(code for code in codes if code not in known)

        if write:
            add(400, "invalid", "parse_error")
            add(415, "unsupported_media_type")
        elif self._get_filter_parameters() or self._get_pagination_parameters() or self._has_query_parameters():
            add(400, "invalid")
        if scoped:
            add(400, "dealership_required")
            add(404, "not_found")
        if view.authentication_classes:
            add(401, "not_authenticated", "authentication_failed")
        checks = [cls for cls in view.permission_classes if cls is not permissions.AllowAny]
        if checks or scoped or (write and SessionAuthentication in view.authentication_classes):
            add(403, "permission_denied")
        if "{" in self.path or self._get_pagination_parameters():
            add(404, "not_found")  # a record's id, or a stale cursor
        if (write or method == "DELETE") and scoped:
            add(409, "state_conflict")  # the records' current state does not allow the change (StateConflict)
        if view.throttle_classes:
            add(429, "throttled")
        declared = getattr(view, "error_codes", {})
        key = getattr(view, "action", None) or method.lower()
        for name in ("*", key):
            for status, codes in declared.get(name, {}).items():
                add(status, *codes)
        return statuses

    def _has_query_parameters(self) -> bool:
        return any(
            getattr(parameter, "location", OpenApiParameter.QUERY) == OpenApiParameter.QUERY
            and not getattr(parameter, "response", False)
            for parameter in super().get_override_parameters()
        )

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        statuses = self.error_statuses()
        for status in {int(code) for code in responses if code.isdigit() and 400 <= int(code) < 500}:
            statuses.setdefault(status, list(ERROR_CODES.get(status, ())))  # a status the view declares itself
        for status, codes in sorted(statuses.items()):
            key = str(status)
            declared = responses.get(key, {})
            if declared.get("content"):
                continue  # the view answers this status with its own body
            description = declared.get("description") or STATUS_DESCRIPTIONS.get(status, "")
            if codes:
                codes_text = _("Codes: %(codes)s.") % {"codes": ", ".join(f"`{code}`" for code in codes)}
                description = f"{description} {codes_text}"
            responses[key] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=description), key, direction=direction
            )
        return dict(sorted(responses.items()))
