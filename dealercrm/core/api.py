"""API plumbing shared by every app: pagination, permissions, tenancy, errors."""

from itertools import chain

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions, pagination, permissions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from .exceptions import ApplicationError
from .roles import can
from .tenancy import request_dealerships, requested_code


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"


class DealershipRequired(exceptions.APIException):
    status_code = 400
    default_detail = _("You belong to several dealerships: name one with the X-Dealership header or ?dealership=.")
    default_code = "dealership_required"


class HasAction(permissions.BasePermission):
    """Checks the role table: the view maps DRF actions (or methods) to role-table actions.

    ``action_permissions = {"list": "customer.view", "create": "customer.edit", ...}``;
    a view with a single action sets ``required_action``.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        action = getattr(view, "required_action", None)
        mapping = getattr(view, "action_permissions", None)
        if mapping is not None:
            key = getattr(view, "action", None) or request.method.lower()
            action = mapping.get(key, mapping.get("*"))
        if action is None:
            return False
        return can(request.user, action)


class DealershipScopedMixin:
    """Gives API views ``self.dealership``; querysets filter by it so that foreign rows are 404."""

    permission_classes = [permissions.IsAuthenticated, HasAction]

    @property
    def dealership(self):
        if not hasattr(self, "_dealership"):
            request = self.request
            # the user's stores as the middleware reads them (once per request): no query of their own
            if not requested_code(request) and len(request_dealerships(request._request)) > 1:
                raise DealershipRequired()
            dealership = request._request.dealership
            if not dealership:
                raise exceptions.PermissionDenied(_("Your account belongs to no dealership."))
            self._dealership = dealership
        return self._dealership

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A format suffix (/customers/1/consent.json) has chosen the renderer (``self.format_kwarg``); the
        # handlers do not take it. ``self.kwargs`` is the dict dispatch() hands to the handler.
        self.kwargs.pop(api_settings.FORMAT_SUFFIX_KWARG, None)
        # Resolve early so that an unknown dealership answers 404 before anything else.
        self.dealership  # noqa: B018

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["dealership"] = self.dealership
        return context


# --- The error contract -----------------------------------------------------------------------------
#
# Every 4xx answer of the API is ``{"code": "<stable code>", "message": "<translated text>", "fields": {...}}``
# (plus the ``extra`` keys of an ApplicationError, e.g. a compliance check's findings). Clients match on
# ``code``; ``message`` is for people (in the request's language); ``fields`` maps a field's name (dotted for
# nested data: ``vehicles.0.plate``) to its messages. 5xx answers say nothing more than Django's.

#: the codes the plumbing itself answers with, by HTTP status (services add their own, e.g. ``state_conflict``)
ERROR_CODES = {
    400: ("invalid", "parse_error", "dealership_required"),
    401: ("not_authenticated", "authentication_failed"),
    403: ("permission_denied",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    406: ("not_acceptable",),
    409: ("state_conflict",),
    415: ("unsupported_media_type",),
    429: ("throttled",),
}


def error_body(code: str, message, fields: dict | None = None, **extra) -> dict:
    """The contract's body: ``fields`` maps a field to a message or a list of messages (all made text)."""
    body = {
        "code": str(code),
        "message": str(message),
        "fields": {
            str(name): [str(text) for text in (texts if isinstance(texts, list | tuple) else [texts])]
            for name, texts in (fields or {}).items()
        },
    }
    for key, value in extra.items():
        body.setdefault(key, value)
    return body


def error_response(code: str, message, fields: dict | None = None, *, status: int = 400, headers=None, **extra):
    """A DRF Response carrying the contract (for a view that answers an error without raising)."""
    return Response(error_body(code, message, fields, **extra), status=status, headers=headers)


def _flatten(detail, prefix: str, into: dict) -> None:
    """DRF's nested error detail (dicts and lists of messages) as ``{"a.0.b": [ErrorDetail, ...]}``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), into)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            if detail:
                into.setdefault(prefix, []).extend(detail)
            return
        for index, item in enumerate(detail):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), into)
    else:
        into.setdefault(prefix, []).append(detail)


def _first_stable_code(codes) -> str:
    """The first error's own code (``required``, ``future_date``, a raise site's ``code=``), else ``invalid``.

    Non-field errors come first; a bare ``invalid``/``error`` says nothing more than ``invalid``."""
    return next((code for code in codes if code and code not in ("invalid", "error")), "invalid")


def _validation_body(detail) -> dict:
    """A DRF ValidationError's detail in the contract: non-field errors make the message."""
    flat: dict = {}
    _flatten(detail, "", flat)
    general = flat.pop("", []) + flat.pop(api_settings.NON_FIELD_ERRORS_KEY, [])
    code = _first_stable_code(getattr(item, "code", None) for item in [*general, *chain(*flat.values())])
    if general:
        message = " ".join(str(item) for item in general)
    elif flat:
        message = _("Check these fields: %(fields)s.") % {"fields": ", ".join(flat)}
    else:
        message = _("The request is not valid.")
    return error_body(code, message, flat)


def _django_validation_body(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        fields = dict(exc.message_dict)
        general = fields.pop(NON_FIELD_ERRORS, [])
        errors = sorted(exc.error_dict.items(), key=lambda item: item[0] != NON_FIELD_ERRORS)
        codes = [error.code for _name, errors_of in errors for error in errors_of]
    else:
        fields, general = {}, exc.messages
        codes = [error.code for error in exc.error_list]
    code = _first_stable_code(codes)
    if general:
        message = " ".join(str(text) for text in general)
    else:
        message = _("Check these fields: %(fields)s.") % {"fields": ", ".join(fields)}
    return error_body(code, message, fields)


def _api_exception_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_body(exc.detail)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    detail = exc.detail
    if isinstance(detail, dict | list):  # an APIException raised with structured detail
        body = _validation_body(detail)
        body["code"] = code
        return body
    return error_body(code, detail)


def exception_handler(exc, context):
    """Every refusal in the one contract (``error_body``); anything else (a bug) is left to Django's 500."""
    if isinstance(exc, Http404):
        # get_object_or_404's "No Customer matches the given query." is neither translated nor of any use
        message = str(exc)
        exc = exceptions.NotFound(None if not message or message.endswith(" matches the given query.") else message)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    headers = {}
    if isinstance(exc, ApplicationError):
        status = exc.status
        body = error_body(exc.code, exc.message, exc.fields, **exc.extra)
    elif isinstance(exc, DjangoValidationError):
        status = 400
        body = _django_validation_body(exc)
    elif isinstance(exc, exceptions.APIException):
        status = exc.status_code
        body = _api_exception_body(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        return None
    set_rollback()
    return Response(body, status=status, headers=headers)


# --- Django's own error answers under /api/ (a path no view matched, a request refused before DRF) ------


def _django_error(status: int, code: str, message, non_api_handler):
    def handler(request, exception=None):
        if request.path.startswith("/api/"):
            return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})
        if exception is None:
            return non_api_handler(request)
        return non_api_handler(request, exception)

    return handler


#: ``handler400``/``handler403``/``handler404`` of the root URLconf: the contract under /api/, pages elsewhere
bad_request = _django_error(400, "invalid", exceptions.ParseError.default_detail, defaults.bad_request)
permission_denied = _django_error(
    403, "permission_denied", exceptions.PermissionDenied.default_detail, defaults.permission_denied
)
page_not_found = _django_error(404, "not_found", exceptions.NotFound.default_detail, defaults.page_not_found)
